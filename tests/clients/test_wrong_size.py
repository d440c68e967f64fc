# test_wrong_size.py — PROOF THAT THE CLIENT TESTS CAN FAIL.
#
# These tests mount with the TEST-ONLY switches that make mbfs report wrong
# sizes, run the same clients and the same content checks as the other
# tests here, and assert that the checks FAIL (while the programs mostly
# exit 0: exit codes would not have caught it).
#
#   -o test_zero_size         size 0 before open (lookup, stat, listings);
#                             exact after open, as a naive FUSE file system
#                             that only knows the size once it has the data.
#                             data.table::fread and tar size their work from
#                             stat: they get nothing.
#   -o test_zero_size=always  size 0 before and after open. LibreOffice and
#                             ssconvert then read nothing and still exit 0.
#                             (With size 0 only before open they read the
#                             whole file: they take the size after open.)

import pytest

from clientlib import (EDGE, REVIEWS, check_edge, check_reviews, path, r_read,
                       soffice_convert, ssconvert, table_from_csv_file)
from test_cli_tools import tar_check


def test_wrong_size_fread_fails(zero_mnt, truth):
    t, p = r_read("fread", path(zero_mnt, REVIEWS, "csv"))   # R exits 0
    assert p.returncode == 0 and "has size 0" in p.err
    with pytest.raises(AssertionError):
        check_reviews(t, truth)
    assert len(t) == 0


def test_wrong_size_tar_fails(zero_mnt, truth, tmp):
    with pytest.raises(AssertionError):
        tar_check(zero_mnt, truth, tmp)                      # tar exits 0


def test_wrong_size_libreoffice_fails(zero_always_mnt, truth, tmp):
    src = path(zero_always_mnt, EDGE, "csv")
    p, outs = soffice_convert([src], tmp, csv_input=True)
    assert p.returncode == 0                                 # "success"
    with pytest.raises(AssertionError):
        check_edge(table_from_csv_file(outs[src]), csv_mode=True)


def test_wrong_size_ssconvert_fails(zero_always_mnt, truth, tmp):
    dst = tmp + "/edge.csv"
    p = ssconvert(path(zero_always_mnt, EDGE, "csv"), dst)
    assert p.returncode == 0                                 # "success"
    with pytest.raises(AssertionError):
        check_edge(table_from_csv_file(dst), csv_mode=True)
