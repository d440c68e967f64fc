# test_cli_tools.py — command-line data tools read mbfs files: sqlite3
# (.import --csv, and JSON through readfile() + json_each), csvkit
# (csvstat; in2csv for JSON and XLSX), miller (CSV and JSON), and tar
# (which archives exactly the size stat gave it before reading).

import csv
import io
import json
import os

from clientlib import (EDGE, EDGE_COLS, REVIEWS, check_edge, check_reviews,
                       local_copy, need, ok, path, run, table_from_csv, table_from_records,
                       tar_roundtrip)


def sqlite(db, *commands):
    need("sqlite3")
    return ok(run(["sqlite3", db] + list(commands)))


def test_sqlite3_import_csv(mnt, truth, tmp):
    db = os.path.join(tmp, "t.db")
    edge, reviews = path(mnt, EDGE, "csv"), path(mnt, REVIEWS, "csv")
    p = sqlite(db, ".import --csv '%s' edge" % edge, ".import --csv '%s' reviews" % reviews,
               ".mode json", "SELECT * FROM edge ORDER BY CAST(ID AS INTEGER);")
    # .import stores every CSV value as text; a NULL arrives as ''
    check_edge(table_from_records(json.loads(p.out)), csv_mode=True)
    p = sqlite(db, ".mode json", "SELECT * FROM reviews;")
    check_reviews(table_from_records(json.loads(p.out)), truth)


def test_sqlite3_json(mnt, truth, tmp):
    src = path(mnt, EDGE, "json").replace("'", "''")
    cols = ", ".join("value ->> '$.%s' AS %s" % (c, c) for c in EDGE_COLS)
    p = sqlite(os.path.join(tmp, "j.db"), ".mode json",
               "SELECT %s FROM json_each(readfile('%s'));" % (cols, src))
    check_edge(table_from_records(json.loads(p.out)), csv_mode=False)


def test_csvkit(mnt, truth, tmp):
    need("csvstat", "in2csv")
    edge, reviews = path(mnt, EDGE, "csv"), path(mnt, REVIEWS, "csv")
    assert ok(run(["csvstat", "--count", reviews])).out.strip() == "1000"
    assert ok(run(["csvstat", "--count", edge])).out.strip() == "6"
    out = ok(run(["csvstat", "--csv", edge])).out
    stats = {r["column_name"]: r for r in csv.DictReader(io.StringIO(out, newline=""))}
    assert stats["TEXT"]["nulls"] == "True" and stats["QTY"]["nulls"] == "True"
    assert stats["ID"]["nulls"] == "False" and stats["ID"]["sum"] == "21"
    assert "comma, inside" in stats["TEXT"]["freq"] and 'quote "inside"' in stats["TEXT"]["freq"]
    assert "line\nbreak" in stats["TEXT"]["freq"] and "東京" in stats["NOTE"]["freq"]
    # in2csv reads the JSON and XLSX exports
    # in2csv turns the CRLF inside a JSON string into two newlines, on a
    # local file too: compare with a local copy, and check the other cells
    got = ok(run(["in2csv", "-f", "json", path(mnt, EDGE, "json")])).out
    ref = ok(run(["in2csv", "-f", "json", local_copy(truth.edge_json, tmp, "e.json")])).out
    assert got == ref
    check_edge(table_from_csv(got), csv_mode=True, crlf=False)
    check_edge(table_from_csv(ok(run(["in2csv", "-f", "xlsx", path(mnt, EDGE, "xlsx")])).out), csv_mode=True)


def test_miller(mnt, truth):
    need("mlr")
    recs = json.loads(ok(run(["mlr", "--icsv", "--ojson", "cat", path(mnt, EDGE, "csv")])).out)
    check_edge(table_from_records(recs, EDGE_COLS), csv_mode=True)
    recs = json.loads(ok(run(["mlr", "--icsv", "--ojson", "cat", path(mnt, REVIEWS, "csv")])).out)
    check_reviews(table_from_records(recs, truth.reviews.cols), truth)
    recs = json.loads(ok(run(["mlr", "--ijson", "--ojson", "cat", path(mnt, EDGE, "json")])).out)
    check_edge(table_from_records(recs, EDGE_COLS), csv_mode=True)
    n = ok(run(["mlr", "--icsv", "--ojson", "count", path(mnt, REVIEWS, "csv")])).out
    assert json.loads(n)[0]["count"] == 1000


def tar_check(mnt, truth, tmp):
    rels = [os.path.join(*REVIEWS[:-1], REVIEWS[-1] + ".csv"),
            os.path.join(*EDGE[:-1], EDGE[-1] + ".csv"),
            os.path.join(*EDGE[:-1], EDGE[-1] + ".xlsx")]
    got = tar_roundtrip(mnt, rels, tmp)
    check_reviews(table_from_csv(got[rels[0]].decode("utf-8"), empty_is_null=False), truth)
    check_edge(table_from_csv(got[rels[1]].decode("utf-8")), csv_mode=True)
    assert got[rels[1]] == truth.edge_csv
    assert len(got[rels[2]]) == len(truth.edge_xlsx) and got[rels[2]][:2] == b"PK"


def test_tar(mnt, truth, tmp):
    tar_check(mnt, truth, tmp)
