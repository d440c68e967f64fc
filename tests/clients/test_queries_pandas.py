# test_queries_pandas.py — the README's worked example of queries/: a query
# written with `cat > queries/Sample Database/top.sql`, read by pandas
# (read_csv, read_json, read_excel) straight from the mount; then the SQL
# changes and pandas reads the new result.

import json
import os
import subprocess

from clientlib import need_python_module, ok, run, table_from_json

PY = "/usr/bin/python3"

TOP = """SELECT P.CATEGORY, COUNT(*) AS ORDERS, ROUND(SUM(O.TOTAL), 2) AS REVENUE
FROM PUBLIC.ORDERS O JOIN PUBLIC.PRODUCTS P ON O.PRODUCT_ID = P.ID
GROUP BY P.CATEGORY ORDER BY REVENUE DESC
"""

PANDAS = r"""
import json, sys
import pandas as pd
fn, src = sys.argv[1], sys.argv[2]
if fn == "read_csv":
    df = pd.read_csv(src)
elif fn == "read_json":
    df = pd.read_json(src, orient="records", dtype=False)
else:
    df = pd.read_excel(src)
print(json.dumps({"cols": list(map(str, df.columns)),
                  "rows": [[v if isinstance(v, (int, float, str)) else str(v) for v in r]
                           for r in df.itertuples(index=False)]}))
"""


def pandas(fn, src):
    need_python_module("pandas", "python3-pandas")
    return table_from_json(ok(run([PY, "-c", PANDAS, fn, src])).out)


def server_rows(fake, sql):
    """The rows of the server's own JSON export of sql, as lists."""
    token = fake.login()
    recs = json.loads(fake.export("dataset", (1, sql), "json", token))
    cols = list(recs[0].keys())
    return cols, [[r[c] for c in cols] for r in recs]


def same(t, cols, rows):
    assert t.cols == cols
    assert len(t.rows) == len(rows)
    for got, want in zip(t.rows, rows):
        for g, w in zip(got, want):
            if isinstance(w, float) or isinstance(g, float):
                assert abs(float(g) - float(w)) < 1e-9, (got, want)
            else:
                assert g == w, (got, want)


def test_pandas_reads_a_query(fake, mnt):
    d = os.path.join(mnt.path, "queries", "Sample Database")
    subprocess.run("cat > top.sql", shell=True, cwd=d, input=TOP.encode(), check=True)
    assert sorted(os.listdir(d)) == ["top.csv", "top.json", "top.sql", "top.xlsx"]
    cols, rows = server_rows(fake, TOP)
    assert cols == ["CATEGORY", "ORDERS", "REVENUE"] and len(rows) == 4
    for fn, ext in (("read_csv", "csv"), ("read_json", "json"), ("read_excel", "xlsx")):
        same(pandas(fn, os.path.join(d, "top." + ext)), cols, rows)
    # a new question in the same file: pandas reads the new answer
    new = "SELECT CATEGORY, COUNT(*) AS N FROM PUBLIC.PRODUCTS GROUP BY CATEGORY ORDER BY CATEGORY\n"
    subprocess.run("cat > top.sql", shell=True, cwd=d, input=new.encode(), check=True)
    cols, rows = server_rows(fake, new)
    same(pandas("read_csv", os.path.join(d, "top.csv")), cols, rows)
    same(pandas("read_excel", os.path.join(d, "top.xlsx")), cols, rows)
