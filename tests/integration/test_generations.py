# test_generations.py — results you can trust (DESIGN.md §2 rule 3
# "Generations" and "The cache directory"), through a real mount, both
# server behaviours:
#
#   1 a refresh that changes the content but keeps the size is seen by
#     the next reader after touch, SIGHUP, result_ttl expiry and eviction
#     (the server's answer is scripted per export, so every expected byte
#     is known);
#   2 a reader that has read half a file keeps reading its generation
#     (read and shared mmap) while another process forces and reads a new
#     one; each fstat gives its own generation's size; later readers never
#     see a mixture;
#   3 two mounts on one cache directory at once: with and without
#     format_rows, reading the same cards — every byte right;
#   4 kill -9 of the daemon during exports, many times, with a small
#     cache_max: remounting on the same cache finds bytes right, the
#     cache within its cap and no file the index does not name;
#   5 a body ended only by the connection's close (an HTTP/1.0 proxy):
#     cut mid-row → EIO and nothing cached; complete → served.

import errno
import http.client
import http.server
import mmap
import os
import random
import signal
import socketserver
import subprocess
import threading
import time
import urllib.parse

import pytest
from conftest import card, read, settle_spool, spool_state

CSV_CT = "text/csv"


def body_of(letter, size):
    """A CSV of exactly `size` bytes whose rows are all `letter`."""
    head = b"id,v\n"
    row = b"1," + letter * 60 + b"\n"
    out = bytearray(head)
    while len(out) + len(row) == size or len(out) + len(row) + 4 <= size:
        out += row
    pad = size - len(out)
    assert pad == 0 or pad >= 4
    if pad:
        out += b"2," + letter * (pad - 3) + b"\n"
    assert len(out) == size
    return bytes(out)


def serve(fake, cid, body):
    """From now on the server answers card cid's CSV export with body."""
    fake.clear_faults()
    fake.add_fault(card_id=cid, format="csv", status=200, body=body.decode(),
                   content_type=CSV_CT)


def exports(fake, cid):
    return fake.stats()["exports"].get("card:%d:csv" % cid, 0)


# ---- 1: same size, new content -------------------------------------------------

def test_same_size_change_seen_after_touch_and_sighup(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    size = 4096
    path = card(m, 1)
    bodies = [body_of(c, size) for c in (b"A", b"B", b"C", b"D")]
    serve(fake, 1, bodies[0])
    assert read(path) == bodies[0]
    with open(path, "rb") as f:               # mmap reader too
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            assert mm[:] == bodies[0]
    assert read(path) == bodies[0]             # cached: no new export
    n = exports(fake, 1)

    serve(fake, 1, bodies[1])
    os.utime(path)                             # touch: drop the result
    assert os.stat(path).st_size == size
    assert read(path) == bodies[1]
    assert exports(fake, 1) == n + 1
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            assert mm[:] == bodies[1]

    serve(fake, 1, bodies[2])
    m.proc.send_signal(signal.SIGHUP)          # drop every cache
    deadline = time.monotonic() + 5
    while "SIGHUP" not in m.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read(path) == bodies[2]
    assert read(m.p("collections", "Orders.csv")) == bodies[2]   # card 1 by name

    # once more through touch after SIGHUP: generations keep increasing
    serve(fake, 1, bodies[3])
    os.utime(path)
    assert read(path) == bodies[3]


def result_reads(m):
    stats = read(m.p(".mbfs", "stats")).decode()
    return int(stats.split("\nresult_reads ")[1].split()[0])


@pytest.mark.parametrize("how", ["touch", "result_ttl"])
def test_page_cache_kept_for_a_generation_and_dropped_for_the_next(clean, mount_factory, how):
    """keep_cache, seen from the kernel's side: re-reading one generation
    makes no READ reach mbfs (the page cache answers; .mbfs/stats
    result_reads stays put); a new generation of the same size must be
    read from mbfs again. After result_ttl nothing else tells the kernel
    (the size is the same): keep_cache granted to the new generation
    would leave the old pages in place, and this test fails."""
    fake = clean
    m = mount_factory(fake.url, "result_ttl=2")
    if "\npassthrough on " in read(m.p(".mbfs", "status")).decode():
        pytest.skip("kernel passthrough: the kernel reads spooled results "
                    "from their spool files, never through mbfs's page "
                    "cache (test_passthrough.py)")
    size = 256 * 1024
    path = card(m, 1)
    a, b = body_of(b"A", size), body_of(b"B", size)
    serve(fake, 1, a)
    n0 = result_reads(m)
    assert read(path) == a
    n1 = result_reads(m)
    assert n1 > n0                             # the first read came to mbfs
    for _ in range(2):
        assert read(path) == a                 # the kernel's pages, no READ
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            assert mm[:] == a
    assert result_reads(m) == n1

    serve(fake, 1, b)
    if how == "touch":
        os.utime(path)                         # drop the result
    else:
        time.sleep(2.5)                        # the result expires
    assert os.stat(path).st_size == size
    assert read(path) == b
    n2 = result_reads(m)
    assert n2 > n1                             # its pages came from mbfs
    assert read(path) == b
    assert result_reads(m) == n2


def test_same_size_change_seen_after_result_ttl(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url, "result_ttl=1")
    path = card(m, 1)
    a, b = body_of(b"a", 8192), body_of(b"b", 8192)
    serve(fake, 1, a)
    assert read(path) == a
    serve(fake, 1, b)
    time.sleep(1.5)
    assert os.stat(path).st_size == len(b)
    assert read(path) == b
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            assert mm[:] == b


def test_same_size_change_seen_after_eviction(clean, mount_factory):
    fake = clean
    # a cap that holds card 1's result but not card 2's big one as well
    m = mount_factory(fake.url, "cache_max=1M")
    path = card(m, 1)
    a, b = body_of(b"x", 300000), body_of(b"y", 300000)
    serve(fake, 1, a)
    assert read(path) == a
    big = body_of(b"z", 900000)
    fake.add_fault(card_id=2, format="csv", status=200, body=big.decode(), content_type=CSV_CT)
    assert read(card(m, 2)) == big             # evicts card 1's result
    stats = read(m.p(".mbfs", "stats")).decode()
    assert "spool_results 1\n" in stats, stats
    serve(fake, 1, b)
    n = exports(fake, 1)
    assert read(path) == b
    assert exports(fake, 1) == n + 1


# ---- 2: open handles keep their generation ----------------------------------------

def test_open_reader_keeps_its_generation(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    path = card(m, 1)
    size = 2 * 1024 * 1024
    a, b = body_of(b"A", size), body_of(b"B", size)
    serve(fake, 1, a)
    f1 = open(path, "rb")
    half = f1.read(size // 2)
    assert half == a[:size // 2]
    # another process forces and reads a new generation (same size)
    serve(fake, 1, b)
    os.utime(path)
    f2 = open(path, "rb")
    # the old reader goes on first: its pages must not land in f2's file
    rest = f1.read()
    assert half + rest == a
    assert f2.read() == b
    assert os.fstat(f1.fileno()).st_size == size
    assert os.fstat(f2.fileno()).st_size == size
    # a third reader, while both are open: the new bytes, whole
    assert read(path) == b
    f1.seek(0)
    assert f1.read() == a                      # re-read: still generation A
    f1.close()
    f2.close()
    assert read(path) == b


def test_open_reader_keeps_its_size_and_mmap(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    path = card(m, 1)
    a, b = body_of(b"A", 1024 * 1024), body_of(b"B", 1536 * 1024)
    serve(fake, 1, a)
    f1 = open(path, "rb")
    mm1 = mmap.mmap(f1.fileno(), 0, prot=mmap.PROT_READ)   # shared mapping
    assert mm1[:4096] == a[:4096]
    serve(fake, 1, b)
    os.utime(path)
    # a new stat of the path sees the new size once the kernel has dropped
    # the old name (the notifier thread does that right after the touch)
    deadline = time.monotonic() + 2
    while os.stat(path).st_size != len(b) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.stat(path).st_size == len(b)
    f2 = open(path, "rb")
    mm2 = mmap.mmap(f2.fileno(), 0, prot=mmap.PROT_READ)
    assert os.fstat(f1.fileno()).st_size == len(a)   # each fstat its own
    assert os.fstat(f2.fileno()).st_size == len(b)
    assert mm1[:] == a
    assert mm2[:] == b
    # ls -l while both are open: a listing must not change the old handle's size
    subprocess.run(["ls", "-l", m.p("cards")], check=True, stdout=subprocess.DEVNULL)
    assert os.fstat(f1.fileno()).st_size == len(a)
    assert mm1[:] == a
    mm1.close()
    mm2.close()
    f1.close()
    f2.close()


def test_reader_across_refreshes_and_stats(clean, mount_factory):
    """Three generations open at once; every reader reads only its own."""
    fake = clean
    m = mount_factory(fake.url)
    path = card(m, 1)
    gens = [body_of(c, 256 * 1024) for c in (b"1", b"2", b"3")]
    handles = []
    for g in gens:
        serve(fake, 1, g)
        os.utime(path)
        f = open(path, "rb")
        f.read(1000)
        handles.append(f)
    for g, f in zip(gens, handles):
        f.seek(0)
        assert f.read() == g
        f.close()
    stats = read(m.p(".mbfs", "stats")).decode()
    assert "generation_aliases " in stats


# ---- 3: two mounts, one cache directory ---------------------------------------------

def test_two_mounts_share_a_cache_with_different_options(clean, mount_factory, tmp_path):
    fake = clean
    cache = str(tmp_path / "shared-cache")
    token = fake.login()
    cards = [1, 2, 3, 5, 6]
    want_plain = {c: fake.export("card", c, "csv", token) for c in cards}
    want_fmt = {c: fake.export("card", c, "csv", token, format_rows=True) for c in cards}
    plain = mount_factory(fake.url, cache_dir=cache)
    for c in cards:                            # the plain results are in the index ...
        assert read(card(plain, c)) == want_plain[c]
    formatted = mount_factory(fake.url, "format_rows", cache_dir=cache)
    for c in cards:                            # ... and never served as formatted ones
        assert read(card(formatted, c)) == want_fmt[c]
    got = {}

    def reader(tag, m, c):
        for _ in range(3):
            got[(tag, c)] = read(card(m, c))

    threads = [threading.Thread(target=reader, args=(t, mm, c))
               for c in cards for t, mm in (("p", plain), ("f", formatted))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in cards:
        assert got[("p", c)] == want_plain[c]
        assert got[("f", c)] == want_fmt[c]
    # refreshes in one mount never hand the other a foreign or half file
    for c in cards:
        os.utime(card(plain, c))
        assert read(card(formatted, c)) == want_fmt[c]
        assert read(card(plain, c)) == want_plain[c]


def test_two_mounts_same_options_share_finished_results(clean, mount_factory, tmp_path):
    fake = clean
    cache = str(tmp_path / "shared-cache")
    a = mount_factory(fake.url, cache_dir=cache)
    b = mount_factory(fake.url, cache_dir=cache)
    body = body_of(b"S", 50000)
    serve(fake, 3, body)
    assert read(card(a, 3)) == body
    n = exports(fake, 3)
    time.sleep(0.2)
    assert read(card(b, 3)) == body            # shared: no second export
    assert exports(fake, 3) == n
    # b replaces it (same size, new bytes); a never serves the old file as current
    new = body_of(b"T", 50000)
    serve(fake, 3, new)
    os.utime(card(b, 3))
    assert read(card(b, 3)) == new
    os.utime(card(a, 3))                       # a's touch drops b's result too
    assert read(card(a, 3)) == new


def test_two_users_on_one_cache_never_see_each_others_results(clean, mount_factory, tmp_path):
    from fakeserver import ANALYST
    fake = clean
    cache = str(tmp_path / "shared-cache")
    # card 3 answers with the name of whoever asks (same size for both)
    who = {1: body_of(b"1", 4096), 2: body_of(b"2", 4096)}
    for uid, body in who.items():
        fake.add_fault(card_id=3, format="csv", user_id=uid, status=200, body=body.decode(),
                       content_type=CSV_CT)
    admin = mount_factory(fake.url, cache_dir=cache)
    assert read(card(admin, 3)) == who[1]
    analyst = mount_factory(fake.url, cache_dir=cache,
                            env={"MBFS_USERNAME": ANALYST[0], "MBFS_PASSWORD": ANALYST[1]})
    got = {}

    def reader(tag, m):
        for _ in range(5):
            got.setdefault(tag, set()).add(read(card(m, 3)))
            os.utime(card(m, 3))

    threads = [threading.Thread(target=reader, args=(t, mm)) for t, mm in (("a", admin), ("b", analyst))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["a"] == {who[1]}
    assert got["b"] == {who[2]}


# ---- 4: kill -9 ------------------------------------------------------------------------

def spool_names(cache):
    base = os.path.join(cache, "mbfs")
    return sorted(f for d in os.listdir(base) if os.path.isdir(os.path.join(base, d, "spool"))
                  for f in os.listdir(os.path.join(base, d, "spool")))


def test_dropped_result_file_is_removed_in_the_background(clean, mount_factory, tmp_path):
    """A dropped generation's file is removed off the touch's path (on the
    worker pool): soon after, no orphan is left, and a reader that had it
    open still reads it whole."""
    fake = clean
    cache = str(tmp_path / "cache")
    m = mount_factory(fake.url, cache_dir=cache)
    size = 512 * 1024
    a, b = body_of(b"A", size), body_of(b"B", size)
    path = card(m, 1)
    serve(fake, 1, a)
    assert read(path) == a
    before = spool_names(cache)
    assert len(before) == 1
    with open(path, "rb") as old:
        serve(fake, 1, b)
        os.utime(path)                         # drop A: its file is doomed
        assert read(path) == b
        settle_spool(m)
        after = spool_names(cache)
        assert before[0] not in after          # A's file is gone ...
        assert old.read() == a                 # ... and its reader reads it whole
    files, records = spool_state(cache)
    assert files == records == 1, (files, records)


def test_kill9_during_exports_leaves_a_consistent_cache(clean, mount_factory, tmp_path):
    fake = clean
    cache = str(tmp_path / "cache")
    token = fake.login()
    cards = list(range(1, 13))
    want = {c: fake.export("card", c, "csv", token) for c in cards}
    cap = 1024 * 1024
    fake.add_fault(endpoint="POST /api/card/:id/query/:export-format", rate_bps=400000)
    rnd = random.Random(9)
    for round_ in range(6):
        m = mount_factory(fake.url, "cache_max=1M", cache_dir=cache)
        readers = [subprocess.Popen(["cat", card(m, c)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for c in cards]
        time.sleep(0.2 + rnd.random() * 1.5)
        m.proc.send_signal(signal.SIGKILL)
        m.proc.wait()
        for p in readers:
            p.wait(30)
        subprocess.run(["fusermount3", "-uz", m.path], check=False)
        m.expect_failure = True
    fake.clear_faults()
    m = mount_factory(fake.url, "cache_max=1M", cache_dir=cache)
    for c in cards:
        assert read(card(m, c)) == want[c], c
    settle_spool(m)                            # evicted files are gone
    stats = read(m.p(".mbfs", "stats")).decode()
    spool_bytes = int(stats.split("spool_bytes ")[1].split()[0])
    assert spool_bytes <= cap
    files, records = spool_state(cache)
    assert files == records, (files, records)   # no orphan, nothing missing


# ---- 5: close-delimited bodies ---------------------------------------------------------

class Http10Proxy:
    """Forwards to the fake server and answers like an HTTP/1.0 proxy: no
    Content-Length, no chunking, the body ends when the connection closes.
    With cut set, export bodies are cut after that many bytes."""

    def __init__(self, upstream):
        self.up = urllib.parse.urlsplit(upstream)
        self.cut = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                c = http.client.HTTPConnection(proxy.up.hostname, proxy.up.port, timeout=30)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "accept-encoding")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                c.close()
                if proxy.cut is not None and "/query/" in self.path and r.status == 200:
                    data = data[:proxy.cut]
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True

            do_GET = do_POST = do_DELETE = relay

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_close_delimited_body_cut_mid_row_is_eio(clean, mount_factory):
    fake = clean
    proxy = Http10Proxy(fake.url)
    try:
        m = mount_factory(proxy.url)
        want = fake.export("card", 1, "csv", fake.login())
        cut = want.rfind(b"\n", 0, len(want) // 2) + 5     # mid-row
        assert want[cut - 1:cut] != b"\n"
        proxy.cut = cut
        path = card(m, 1)
        with pytest.raises(OSError) as e:
            read(path)
        assert e.value.errno == errno.EIO
        err = os.getxattr(path, "user.mb.error").decode()
        assert "middle of a row" in err
        assert os.stat(path).st_size == 0
        # nothing was cached: once the proxy passes the whole body, it is served
        proxy.cut = None
        os.utime(path)                         # skip the error_ttl wait
        assert read(path) == want
        # a complete close-delimited JSON body is served too
        assert read(card(m, 1, "json")) == fake.export("card", 1, "json", fake.login())
    finally:
        proxy.stop()
