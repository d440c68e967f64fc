# test_python.py — Debian's Python reads mbfs files: pandas.read_csv,
# read_json, read_excel (openpyxl), the csv module, and mmap (shared
# mapping of the file, which needs the page cache: no direct_io).

import csv
import json
import mmap

from clientlib import (EDGE, REVIEWS, check_edge, check_reviews,
                       need_python_module, ok, path, run, table_from_csv,
                       table_from_json, table_from_records)

PY = "/usr/bin/python3"

# pandas runs in a child /usr/bin/python3 (Debian's pandas), printing a Table.
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
df = df.astype(object).where(df.notna(), None)
print(json.dumps({"cols": list(map(str, df.columns)),
                  "rows": [[None if v is None else (v if isinstance(v, (int, float, str)) else str(v))
                            for v in r] for r in df.itertuples(index=False)]}))
"""


def pandas(fn, src):
    need_python_module("pandas", "python3-pandas")
    return table_from_json(ok(run([PY, "-c", PANDAS, fn, src])).out)


def test_pandas_read_csv(mnt, truth):
    check_edge(pandas("read_csv", path(mnt, EDGE, "csv")), csv_mode=False)
    check_reviews(pandas("read_csv", path(mnt, REVIEWS, "csv")), truth)


def test_pandas_read_json(mnt, truth):
    check_edge(pandas("read_json", path(mnt, EDGE, "json")), csv_mode=False)
    check_reviews(pandas("read_json", path(mnt, REVIEWS, "json")), truth)


def test_pandas_read_excel(mnt, truth):
    check_edge(pandas("read_excel", path(mnt, EDGE, "xlsx")), csv_mode=False)


def test_csv_module(mnt, truth):
    for parts in (EDGE, REVIEWS):
        with open(path(mnt, parts, "csv"), encoding="utf-8", newline="") as f:
            t = table_from_csv(f.read(), empty_is_null=parts is EDGE)
        if parts is EDGE:
            check_edge(t, csv_mode=True)
        else:
            check_reviews(t, truth)
    with open(path(mnt, EDGE, "json"), encoding="utf-8") as f:
        recs = json.load(f)
    check_edge(table_from_records(recs), csv_mode=False)


def test_mmap(mnt, truth):
    for parts in (REVIEWS, EDGE):
        with open(path(mnt, parts, "csv"), "rb") as f:
            with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                data = bytes(m[:])
        text = data.decode("utf-8")
        if parts is EDGE:
            check_edge(table_from_csv(text), csv_mode=True)
            assert data == truth.edge_csv
        else:
            check_reviews(table_from_csv(text, empty_is_null=False), truth)
            assert data == truth.reviews_csv
