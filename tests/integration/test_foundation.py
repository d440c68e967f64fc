# test_foundation.py — the foundation contract through a real mount, against
# both fake-server behaviours: the tree and its naming rules, listings that
# run no export, byte equality with curl-style exports, exact sizes before
# and after open, ordinary tools (cp, tail, wc, tar, mmap), one export per
# open, and a session that expires on the server mid-run.

import errno
import mmap
import os
import subprocess
import tarfile
import threading

import pytest
from conftest import read

CSV_JSON = ("csv", "json")


def exports_total(fake):
    return sum(fake.stats()["exports"].values())


def visible_cards(fake):
    return [c for c in fake.catalog()["cards"] if not c["archived"]]


def table_path(mnt, fake, t):
    db = next(d for d in fake.catalog()["databases"] if d["id"] == t["db_id"])
    return [db["name"], t["schema"]]


def is_failed_export(res, fmt):
    """Does this server answer describe a failed export (any era)?"""
    if res.status != 200:
        return True
    body = res.body.lstrip()
    if fmt == "csv":
        return body.startswith(b"{")
    if fmt == "json":
        return not body.startswith(b"[")
    return False


# ---- the tree ---------------------------------------------------------------

def test_root_layout(mnt):
    assert sorted(os.listdir(mnt.path)) == [".mbfs", "cards", "collections", "dashboards", "databases",
                                            "metadata", "public", "queries"]
    assert os.path.isdir(mnt.p(".mbfs"))


def test_nested_collections_and_naming_rules(fake, mnt):
    top = os.listdir(mnt.p("collections"))
    assert {"Sales", "Marketing", "Ops ／ Finance", "Orders.csv", "Orders.json"} <= set(top)
    assert "Old Reports" not in top                      # archived collection
    deep = mnt.p("collections", "Sales", "Regional", "EMEA", "Deep Dive")
    assert os.path.isdir(deep)                          # four levels of nesting
    sales = set(os.listdir(mnt.p("collections", "Sales")))
    # two cards named "Revenue": the lower id keeps the name, the other gets [id]
    assert {"Revenue.csv", "Revenue.json", "Revenue [4].csv", "Revenue [4].json"} <= sales
    assert "Revenue ／ Cost.csv" in sales                # '/' → U+FF0F
    assert "Old revenue.csv" not in sales               # archived card
    assert "Product catalogue.csv" in sales             # a model
    emea = os.listdir(mnt.p("collections", "Sales", "Regional", "EMEA"))
    assert ".Leading dot report.csv" in emea
    dive = os.listdir(deep)
    assert "Quarterly_summary.csv" in dive              # control character → _
    assert "...csv" in dive                              # a card named ".."
    long = [n for n in dive if n.startswith("Quartalsübersicht")]
    assert len(long) == 3 and all(len(n.encode()) <= 255 for n in long)   # csv, json, sql
    for n in long:
        n.encode("utf-8")  # cut at a character boundary: still valid UTF-8


def test_cards_by_id(fake, mnt):
    names = set(os.listdir(mnt.p("cards")))
    expected = {"%d.%s" % (c["id"], f) for c in visible_cards(fake) for f in CSV_JSON}
    expected |= {"%d.sql" % c["id"] for c in visible_cards(fake) if c["query_type"] == "native"}
    assert names == expected
    archived = [c["id"] for c in fake.catalog()["cards"] if c["archived"]]
    assert archived and not any("%d.csv" % i in names for i in archived)


def test_databases_schemas_tables(fake, mnt):
    assert sorted(os.listdir(mnt.p("databases"))) == ["Empty Lake", "Sample Database", "Warehouse"]
    assert os.listdir(mnt.p("databases", "Empty Lake")) == []
    assert sorted(os.listdir(mnt.p("databases", "Warehouse"))) == ["analytics", "raw"]
    public = sorted(os.listdir(mnt.p("databases", "Sample Database", "PUBLIC")))
    assert public == sorted("%s.%s" % (t, f) for t in ("ORDERS", "PEOPLE", "PRODUCTS", "REVIEWS")
                            for f in CSV_JSON)


def test_inode_numbers_are_stable_and_shared(fake, mnt, mount_factory):
    a = os.stat(mnt.p("cards", "3.csv"), follow_symlinks=False).st_ino
    b = os.stat(mnt.p("collections", "Sales", "Revenue.csv")).st_ino
    assert a == b                                       # same card, same inode
    assert os.stat(mnt.p("cards", "3.json")).st_ino != a
    other = mount_factory(fake.url)
    assert os.stat(other.p("collections", "Sales", "Revenue.csv")).st_ino == a


def test_read_only(mnt):
    with pytest.raises(OSError) as e:
        open(mnt.p("cards", "1.csv"), "wb")
    assert e.value.errno == errno.EROFS
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.p("collections", "new"))
    assert e.value.errno == errno.EROFS


# ---- listing never exports (rule 1) ------------------------------------------

def test_listing_runs_no_export(fake, mnt):
    fake.reset()
    subprocess.run(["ls", "-lR", mnt.path], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["find", mnt.path, "-type", "f", "-size", "+0"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["du", "-s", mnt.path], check=True, stdout=subprocess.DEVNULL)
    assert exports_total(fake) == 0
    reqs = fake.stats()["requests"]
    # cold listing: at most one request per directory
    n_dirs = sum(len(d) for _, d, _ in os.walk(mnt.path)) + 1
    listing = sum(v for k, v in reqs.items() if k.startswith("GET "))
    assert listing <= n_dirs + 2, reqs
    assert exports_total(fake) == 0


# ---- bytes -----------------------------------------------------------------

def test_every_card_and_table_is_byte_identical(fake, mnt):
    token = fake.login()
    checked = failed = 0
    for c in visible_cards(fake):
        for fmt in CSV_JSON:
            want = fake.export_request("card", c["id"], fmt, token)
            path = mnt.p("cards", "%d.%s" % (c["id"], fmt))
            if is_failed_export(want, fmt):
                with pytest.raises(OSError) as e:
                    read(path)
                assert e.value.errno == errno.EIO
                failed += 1
            else:
                assert read(path) == want.body, path
                checked += 1
    for t in fake.catalog()["tables"]:
        for fmt in CSV_JSON:
            want = fake.export("dataset", t["id"], fmt, token)
            got = read(mnt.p("databases", *table_path(mnt, fake, t), "%s.%s" % (t["name"], fmt)))
            assert got == want, (t["name"], fmt)
            checked += 1
    assert checked > 60 and failed >= 2


def test_cp_copies_exact_bytes(fake, mnt, tmp_path):
    want = fake.export("card", 15, "csv", fake.login())
    dst = tmp_path / "copy.csv"
    subprocess.run(["cp", mnt.p("collections", "Sales", "Regional", "EMEA", "Deep Dive",
                                "Deep dive: reviews.csv"), str(dst)], check=True)
    assert dst.read_bytes() == want


# ---- sizes (rules 2 and 3) --------------------------------------------------

def test_stat_before_open_is_exact(fake, mnt):
    want = fake.export("card", 3, "csv", fake.login())
    st = os.stat(mnt.p("collections", "Sales", "Revenue.csv"))   # first access
    assert st.st_size == len(want) > 0


def test_fstat_after_open_is_exact_even_after_a_listing(fake, mnt):
    want = fake.export("dataset", 4, "json", fake.login())
    d = mnt.p("databases", "Sample Database", "PUBLIC")
    listed = {e.name: e.stat().st_size for e in os.scandir(d)}
    assert listed["REVIEWS.json"] == 0          # listings never export
    with open(os.path.join(d, "REVIEWS.json"), "rb") as f:
        assert os.fstat(f.fileno()).st_size == len(want)
        assert f.read() == want
    assert os.stat(os.path.join(d, "REVIEWS.json")).st_size == len(want)


def test_tar_of_a_never_read_file_is_complete(fake, mnt, tmp_path):
    want = fake.export("dataset", 2, "csv", fake.login())
    out = tmp_path / "x.tar"
    subprocess.run(["tar", "cf", str(out), "-C", mnt.p("databases", "Sample Database", "PUBLIC"),
                    "ORDERS.csv"], check=True)
    with tarfile.open(out) as tf:
        member = tf.getmember("ORDERS.csv")
        assert member.size == len(want)
        assert tf.extractfile(member).read() == want


def test_tail_wc_and_mmap(fake, mnt):
    token = fake.login()
    people = fake.export("dataset", 3, "csv", token)
    path = mnt.p("databases", "Sample Database", "PUBLIC", "PEOPLE.csv")
    tail = subprocess.run(["tail", "-n1", path], check=True, capture_output=True).stdout
    assert tail == people.rstrip(b"\n").rsplit(b"\n", 1)[1] + b"\n"
    wc = subprocess.run(["wc", "-c", mnt.p("databases", "Sample Database", "PUBLIC", "PRODUCTS.csv")],
                        check=True, capture_output=True).stdout
    assert int(wc.split()[0]) == len(fake.export("dataset", 1, "csv", token))
    want = fake.export("card", 20, "json", token)
    with open(mnt.p("cards", "20.json"), "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:   # shared mapping
            assert m[:] == want


# ---- exports: once per open, single flight, freshness -------------------------

def test_one_export_per_open(fake, mnt):
    fake.reset()
    path = mnt.p("databases", "Sample Database", "PUBLIC", "ORDERS.json")
    with open(path, "rb") as f:
        while f.read(4096):
            pass
    assert fake.stats()["exports"] == {"dataset:table:2:json": 1}
    read(path)                               # fresh for result_ttl: no new export
    assert fake.stats()["exports"] == {"dataset:table:2:json": 1}


def test_result_ttl_zero_reexports_each_open(fake, mount_factory):
    m = mount_factory(fake.url, "result_ttl=0")
    fake.reset()
    read(m.p("cards", "1.csv"))
    read(m.p("cards", "1.csv"))
    assert fake.stats()["exports"]["card:1:csv"] == 2


def test_concurrent_readers_share_one_export(fake, mnt):
    fake.reset()
    want = fake.export("card", 8, "csv", fake.login())
    fake.reset()
    results = []

    def reader():
        results.append(read(mnt.p("cards", "8.csv")))

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [want] * 16
    assert fake.stats()["exports"] == {"card:8:csv": 1}


def test_touch_drops_the_cached_result(fake, mnt):
    path = mnt.p("cards", "2.csv")
    read(path)
    fake.reset()
    read(path)
    assert fake.stats()["exports"] == {}
    os.utime(path)
    read(path)
    assert fake.stats()["exports"] == {"card:2:csv": 1}


def test_failed_export_is_eio_with_the_message_in_an_xattr(fake, mnt):
    path = mnt.p("collections", "Ops ／ Finance", "Broken SQL.csv")
    st = os.stat(path)                 # lookup/stat succeeds, size 0 (rule 4)
    assert st.st_size == 0
    with pytest.raises(OSError) as e:
        read(path)
    assert e.value.errno == errno.EIO
    msg = os.getxattr(path, "user.mb.error").decode()
    assert "no such column" in msg.lower()              # the server's own words
    errors = read(mnt.p(".mbfs", "errors")).decode()
    assert "card:24:csv" in errors


# ---- auth ------------------------------------------------------------------

def test_expired_session_means_one_relogin_and_no_error(fake, mnt):
    token = fake.login()
    read(mnt.p("cards", "1.csv"))
    fake.expire_sessions()
    fake.reset()
    for cid in (2, 3, 4):
        assert read(mnt.p("cards", "%d.csv" % cid)) == fake.export("card", cid, "csv", fake.login())
    stats = fake.stats()
    # the three fake.login() calls above are ours; mbfs logged in once
    assert stats["logins"] == 3 + 1
    assert "logging in again" in mnt.log_text()
    del token


def test_status_file_shows_version_and_user(fake, mnt):
    status = read(mnt.p(".mbfs", "status")).decode()
    assert fake.catalog()["version"]["tag"] in status
    assert "admin@example.com" in status
    assert "auth password" in status
    assert "mbfs-demo-pass" not in status


def test_xattrs_of_a_card(fake, mnt):
    path = mnt.p("collections", "Sales", "Revenue.csv")
    names = os.listxattr(path)
    assert {"user.mb.id", "user.mb.model", "user.mb.url"} <= set(names)
    assert os.getxattr(path, "user.mb.id") == b"3"
    assert os.getxattr(path, "user.mb.model") == b"card"
    assert os.getxattr(path, "user.mb.url") == (fake.url + "/question/3").encode()
    read(path)
    assert "user.mb.rows" in os.listxattr(path)
    assert os.getxattr(path, "user.mb.truncated") == b"0"


# ---- issue 11 point 4: the server URL in its API form ----------------------------------------

@pytest.mark.parametrize("suffix", ["/api", "/api/", "/api//"])
def test_a_server_url_ending_in_api_is_the_same_server(fake, mount_factory, suffix):
    # Airbyte's instance_api_url form: mbfs talks to the server, not to
    # <url>/api/api/..., and shows the server's URL
    first = mount_factory(fake.url)
    read(first.p("cards", "2.csv"))                 # a session is cached for this server
    fake.reset()
    m = mount_factory(fake.url + suffix, cache_dir=first.cache_home)
    status = read(m.p(".mbfs", "status")).decode()
    assert status.startswith("server %s\n" % fake.url)
    assert read(m.p("cards", "2.csv")) == fake.export("card", 2, "csv", fake.login())
    assert os.getxattr(m.p("cards", "2.csv"), "user.mb.url") == (fake.url + "/question/2").encode()
    s = fake.stats()
    assert "GET (unmatched)" not in s["requests"] and "POST (unmatched)" not in s["requests"]
    # the same server, the same user: the cached session is reused
    assert s["logins"] == 1                         # the test's own fake.login()
    with open("/proc/self/mounts") as f:
        assert any(ln.split()[1] == m.path and ln.split()[0] == fake.url for ln in f)
