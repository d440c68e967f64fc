# test_spreadsheets.py — LibreOffice (headless soffice --convert-to) and
# gnumeric's ssconvert open mbfs files like any other file: a card CSV, a
# table CSV and an XLSX export (spreadsheets do not read JSON). Each
# converts to CSV, and the test checks what the spreadsheet understood:
# row counts and exact cells (comma, quote, newline, non-ASCII, NULL).

import os

from clientlib import (EDGE, REVIEWS, check_edge, check_reviews, ok, path,
                       soffice_convert, ssconvert, table_from_csv_file)


def test_libreoffice_csv(mnt, truth, tmp):
    edge, reviews = path(mnt, EDGE, "csv"), path(mnt, REVIEWS, "csv")
    p, outs = soffice_convert([edge, reviews], tmp, csv_input=True)
    ok(p)
    check_edge(table_from_csv_file(outs[edge]), csv_mode=True)
    check_reviews(table_from_csv_file(outs[reviews], empty_is_null=False), truth)


def test_libreoffice_xlsx(mnt, truth, tmp):
    src = path(mnt, EDGE, "xlsx")
    p, outs = soffice_convert([src], tmp, csv_input=False)
    ok(p)
    # a NULL is an empty cell, which a CSV rendering shows as ""
    check_edge(table_from_csv_file(outs[src]), csv_mode=True)


def test_gnumeric_ssconvert(mnt, truth, tmp):
    for parts, ext in ((EDGE, "csv"), (EDGE, "xlsx"), (REVIEWS, "csv")):
        dst = os.path.join(tmp, "%s.%s.csv" % (parts[-1], ext))
        ok(ssconvert(path(mnt, parts, ext), dst))
        if parts is EDGE:
            check_edge(table_from_csv_file(dst), csv_mode=True)
        else:
            # ssconvert rewrites the dates; the text columns must be exact
            check_reviews(table_from_csv_file(dst, empty_is_null=False), truth)
