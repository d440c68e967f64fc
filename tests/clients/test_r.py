# test_r.py — R reads mbfs files with its usual readers (LANG=C.UTF-8):
# read.csv, readr::read_csv, data.table::fread, jsonlite::fromJSON,
# readxl::read_excel. tests/clients/read.R prints what R parsed as JSON.
# fread sizes its work from the file size: it reads a table that nothing
# has read before, so the size before open must already be exact.

from clientlib import (EDGE, REVIEWS, check_edge, check_reviews, local_copy,
                       path, r_read, table_from_csv, undouble)


def csv_exports(fake):
    return sum(v for k, v in fake.stats()["exports"].items()
               if k.startswith("dataset:") and k.endswith(":csv"))


def test_read_csv(mnt, truth):
    check_edge(r_read("read.csv", path(mnt, EDGE, "csv"))[0], csv_mode=True)
    check_reviews(r_read("read.csv", path(mnt, REVIEWS, "csv"))[0], truth)


def test_readr_read_csv(mnt, truth):
    check_edge(r_read("read_csv", path(mnt, EDGE, "csv"))[0], csv_mode=True)
    check_reviews(r_read("read_csv", path(mnt, REVIEWS, "csv"))[0], truth)


def test_data_table_fread_first_read(fake, mnt, truth, tmp):
    before = csv_exports(fake)
    t, _ = r_read("fread", path(mnt, REVIEWS, "csv"))   # first access of this file
    assert csv_exports(fake) == before + 1               # one export, run for fread
    # fread of the server's bytes in a local file: the very same table
    ref, _ = r_read("fread", local_copy(truth.reviews_csv, tmp, "reviews.csv"))
    assert t.cols == ref.cols and t.rows == ref.rows
    check_reviews(undouble(t), truth)
    t, _ = r_read("fread", path(mnt, EDGE, "csv"))
    ref, _ = r_read("fread", local_copy(truth.edge_csv, tmp, "edge.csv"))
    assert t.cols == ref.cols and t.rows == ref.rows
    check_edge(undouble(t), csv_mode=True)


def test_jsonlite_fromjson(mnt, truth):
    check_edge(r_read("fromJSON", path(mnt, EDGE, "json"))[0], csv_mode=False)
    check_reviews(r_read("fromJSON", path(mnt, REVIEWS, "json"))[0], truth)


def test_readxl_read_excel(mnt, truth):
    check_edge(r_read("read_excel", path(mnt, EDGE, "xlsx"))[0], csv_mode=False)


# issue 11: a card read with parameter values in its name (DESIGN.md §1
# "Card parameters"): R opens the path as it is, '?', '&' and '~' included.
FILTERED = "38.csv?category=Gizmo&created_at=2024-01-01~2024-03-31"


def test_r_reads_a_filtered_card(fake, mnt):
    want = fake.export("card", 38, "csv", fake.login(), params=[
        {"type": "category", "value": ["Gizmo"], "target": ["variable", ["template-tag", "category"]]},
        {"type": "date/range", "value": "2024-01-01~2024-03-31",
         "target": ["dimension", ["template-tag", "created_at"]]}])
    ref = table_from_csv(want.decode("utf-8"))
    assert len(ref) > 0 and set(ref.col("CATEGORY")) == {"Gizmo"}
    for reader in ("read.csv", "fread", "read_csv"):    # fread: the file's first access
        t, _ = r_read(reader, mnt.p("cards", FILTERED))
        assert t.cols == ref.cols, reader
        assert sorted(int(float(i)) for i in t.col("ID")) == sorted(int(i) for i in ref.col("ID")), reader
        assert set(t.col("CATEGORY")) == {"Gizmo"}, reader
        assert [round(float(x), 6) for x in t.col("TOTAL")] == \
            [round(float(x), 6) for x in ref.col("TOTAL")], reader
    # the unfiltered card is another file, with other rows
    t, _ = r_read("read.csv", mnt.p("cards", "38.csv"))
    assert set(t.col("CATEGORY")) != {"Gizmo"}
