// duckdb_read.cjs — read one file with DuckDB (@duckdb/node-api) and print
// it as JSON {"cols": [...], "rows": [[...], ...]} for the clients tests.
//   MBFS_DUCKDB_MODULE=.../node_modules/@duckdb/node-api \
//     node duckdb_read.cjs read_csv|read_json FILE
// The module path comes from the environment: npm installs it under the
// build tree (scripts/deps-clients.sh), never into the source tree.
'use strict';
const { DuckDBInstance } = require(process.env.MBFS_DUCKDB_MODULE || '@duckdb/node-api');

async function main() {
  const [fn, file] = process.argv.slice(2);
  if (fn !== 'read_csv' && fn !== 'read_json') throw new Error('usage: read_csv|read_json FILE');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const lit = "'" + file.replace(/'/g, "''") + "'";
  const reader = await con.runAndReadAll(`SELECT * FROM ${fn}(${lit})`);
  const rows = reader.getRowsJson();
  process.stdout.write(JSON.stringify({ cols: reader.columnNames(), rows }));
}
main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
