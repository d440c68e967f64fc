# test_mode_clients.py — real clients read a Mode mount (-o backend=mode):
# pandas (read_csv, read_json; Debian's python3-pandas in a child
# /usr/bin/python3) and DuckDB (read_csv, read_json; @duckdb/node-api via
# duckdb_read.cjs) read one query result of the fake Mode
# (tests/fake_mode/), collections/Growth/Weekly signups/Signups.csv|.json,
# and must find what the API itself returns for it (the content endpoint of
# the latest successful run, fetched gzip-encoded and decoded, parsed by
# the csv / json modules): the same row count, column names and values.
# The result's note column holds a quoted field with a newline, one with a
# comma, one with doubled quotes, non-ASCII text and a NULL.
# Missing clients skip, as in the other files here (fail with
# MBFS_CLIENTS_REQUIRED=1).

import csv
import io
import json
import os

import pytest

from clientlib import duckdb_read, need_python_module, ok, run, table_from_json
from fakemode import SECRET, TOKEN, WORKSPACE, FakeMode

PY = "/usr/bin/python3"
SIGNUPS = ("collections", "Growth", "Weekly signups", "Signups")
COLS = ["week", "country", "signups", "note"]
NUMERIC = {"signups"}

# pandas runs in a child /usr/bin/python3 (Debian's pandas), printing a Table.
PANDAS = r"""
import json, sys
import pandas as pd
fn, src = sys.argv[1], sys.argv[2]
if fn == "read_csv":
    df = pd.read_csv(src)
else:
    df = pd.read_json(src, orient="records", dtype=False)
df = df.astype(object).where(df.notna(), None)
print(json.dumps({"cols": list(map(str, df.columns)),
                  "rows": [[None if v is None else (v if isinstance(v, (int, float, str)) else str(v))
                            for v in r] for r in df.itertuples(index=False)]}))
"""


@pytest.fixture(scope="module")
def mode():
    server = FakeMode()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(mode):
    """What the Mode API itself returns for Signups (latest successful
    run), as {"csv": bytes, "json": bytes, "rows": [[...]] per format}."""
    rep = mode.report("weekly")
    q = mode.query("weekly", "signups")
    out = {}
    for fmt in ("csv", "json"):
        r = mode.content(rep["token"], q["token"], fmt, gzip_ok=True)
        assert r.status == 200, r.body
        out[fmt] = r.body
    text = out["csv"].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out["csv_cols"] = rows[0]
    out["csv_rows"] = [[None if v == "" else v for v in r] for r in rows[1:]]  # CSV: '' is NULL
    recs = json.loads(out["json"].decode("utf-8"))
    out["json_cols"] = list(recs[0].keys())
    out["json_rows"] = [[rec[c] for c in out["json_cols"]] for rec in recs]
    # the hard cells are there (else the comparison proves little)
    notes = [r[3] for r in out["csv_rows"]]
    assert "line one\nline two" in notes and "comma, inside" in notes
    assert 'a "quoted" word' in notes and any(n and any(ord(c) > 127 for c in n) for n in notes)
    assert notes[-1] is None and out["json_rows"][-1][3] is None
    return out


@pytest.fixture
def mnt(mode, mount_factory):
    return mount_factory(mode.url, "backend=mode", "workspace=" + WORKSPACE,
                         env={"MBFS_MODE_TOKEN": TOKEN, "MBFS_MODE_SECRET": SECRET})


def signups(mnt, ext):
    return mnt.p(*SIGNUPS[:-1], SIGNUPS[-1] + "." + ext)


def pandas(fn, src):
    need_python_module("pandas", "python3-pandas")
    return table_from_json(ok(run([PY, "-c", PANDAS, fn, src])).out)


def norm(col, v):
    """A cell as comparable text: None for NULL, the integer of a numeric
    column (a client may give 456, 456.0 or "456"), else the text (a DATE
    column comes back as its ISO text)."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if col in NUMERIC:
        f = float(v)
        assert f == int(f), (col, v)
        return int(f)
    return str(v)


def same(t, cols, rows):
    assert t.cols == cols == COLS, t
    assert len(t.rows) == len(rows) == 6, t
    for i, (got, want) in enumerate(zip(t.rows, rows)):
        g = [norm(c, v) for c, v in zip(cols, got)]
        w = [norm(c, v) for c, v in zip(cols, want)]
        assert g == w, "row %d: %r != %r" % (i, got, want)


def test_files_are_the_api_bytes(mnt, api):
    for ext in ("csv", "json"):
        with open(signups(mnt, ext), "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(api[ext])
            assert f.read() == api[ext]


def test_pandas_read_csv(mnt, api):
    same(pandas("read_csv", signups(mnt, "csv")), api["csv_cols"], api["csv_rows"])


def test_pandas_read_json(mnt, api):
    same(pandas("read_json", signups(mnt, "json")), api["json_cols"], api["json_rows"])


def test_duckdb_read_csv(mnt, api):
    same(duckdb_read("read_csv", signups(mnt, "csv")), api["csv_cols"], api["csv_rows"])


def test_duckdb_read_json(mnt, api):
    same(duckdb_read("read_json", signups(mnt, "json")), api["json_cols"], api["json_rows"])
