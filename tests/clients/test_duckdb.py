# test_duckdb.py — DuckDB (@duckdb/node-api, from npm, driven by
# tests/clients/duckdb_read.cjs) reads mbfs files with read_csv and
# read_json. (DuckDB reads XLSX only through an extension it downloads at
# run time, which CI cannot do.)

from clientlib import EDGE, REVIEWS, check_edge, check_reviews, duckdb_read, path


def test_duckdb_read_csv(mnt, truth):
    check_edge(duckdb_read("read_csv", path(mnt, EDGE, "csv")), csv_mode=True)
    check_reviews(duckdb_read("read_csv", path(mnt, REVIEWS, "csv")), truth)


def test_duckdb_read_json(mnt, truth):
    check_edge(duckdb_read("read_json", path(mnt, EDGE, "json")), csv_mode=False)
    check_reviews(duckdb_read("read_json", path(mnt, REVIEWS, "json")), truth)
