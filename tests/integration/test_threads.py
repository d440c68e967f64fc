# test_threads.py — requests wait without a thread (DESIGN.md §5), through
# a real mount, both server behaviours:
#
#   - .mbfs/stats prints the thread count and its bound; with 20 slow
#     exports waiting the count stays within the bound, and 60 more readers
#     waiting for the same exports add no thread at all (none is parked per
#     request);
#   - 40 readers waiting for stalled listings hold no thread either: one
#     fetch job per directory;
#   - every waiting reader still gets its bytes, identical to a later read;
#   - Ctrl-C on a reader waiting (without a thread) for an export ends it
#     at once, and a reader of the same export that was not interrupted
#     still gets the bytes.

import os
import signal
import subprocess
import time

from conftest import card, collection_dirs, read

EXPORT = "POST /api/card/:id/query/:export-format"
# collection listings are built from the bulk lists; this is the one every
# collection directory's listing waits for
ITEMS = "GET /api/collection"


def stats(m):
    out = {}
    for line in read(m.p(".mbfs", "stats")).decode().splitlines():
        k, _, v = line.partition(" ")
        out.setdefault(k, v)
    return out


def num(m, key):
    return int(stats(m)[key])


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_stats_print_threads_and_their_bound(fresh, mount_factory):
    m = mount_factory(fresh.url, "max_exports=4")
    s = stats(m)
    for key in ("threads", "threads_max", "pool_threads", "pool_threads_max",
                "requests_waiting"):
        assert key in s, (key, s)
    # main + I/O + notifier + SIGHUP, 64 FUSE workers, the pool, 4 runners
    assert int(s["threads_max"]) == 4 + 64 + int(s["pool_threads_max"]) + 4
    assert 0 < int(s["threads"]) <= int(s["threads_max"])
    assert int(s["requests_waiting"]) == 0
    metrics = read(m.p(".mbfs", "metrics")).decode()
    assert "mbfs_requests_waiting 0" in metrics
    assert "mbfs_threads_max %s" % s["threads_max"] in metrics


def test_waiting_readers_hold_no_thread(fresh, mount_factory):
    fake = fresh
    m = mount_factory(fake.url, "max_exports=4")
    os.listdir(m.p("cards"))
    idle = num(m, "threads")
    fake.add_fault(endpoint=EXPORT, latency_ms=6000)
    procs = []
    try:
        # 20 slow exports, each with one reader
        procs += [subprocess.Popen(["cat", card(m, cid)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for cid in range(1, 21)]
        assert wait_for(lambda: num(m, "requests_waiting") >= 20), stats(m)
        time.sleep(0.3)
        with20 = num(m, "threads")
        bound = num(m, "threads_max")
        assert with20 <= bound
        # the runners (4) and at most a few FUSE workers the burst started
        assert with20 <= idle + 4 + 8, (idle, with20)
        # 60 more readers of the same 20 exports: waiters, not threads
        procs += [subprocess.Popen(["cat", card(m, 1 + i % 20)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for i in range(60)]
        assert wait_for(lambda: num(m, "requests_waiting") >= 80), stats(m)
        time.sleep(0.3)
        with80 = num(m, "threads")
        # a burst of 60 requests may start a FUSE worker or two; a thread
        # per waiting request would be 60
        assert with80 <= with20 + 4, (with20, with80)
        assert num(m, "pool_threads") <= 4
    finally:
        fake.clear_faults()
        outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs if e]
    # every reader got the whole result: the same bytes as a read now
    want = {cid: read(card(m, cid)) for cid in range(1, 21)}
    for i, (out, _) in enumerate(outs):
        cid = 1 + i if i < 20 else 1 + (i - 20) % 20
        assert out == want[cid], cid
    assert num(m, "requests_waiting") == 0


def test_listings_waiting_for_stalled_fetches_hold_no_thread(fresh, mount_factory):
    fake = fresh
    m = mount_factory(fake.url)
    dirs = collection_dirs(m)
    assert len(dirs) >= 8
    for d in dirs:
        os.utime(d)                               # touch: re-list on next access
    idle = num(m, "threads")
    fake.add_fault(endpoint=ITEMS, latency_ms=5000)
    # 40 readers of the directories: one fetch job per directory, however
    # many readers wait for it (opens of one directory are not serialized
    # by the kernel; lookups are, with libfuse before 3.17.1)
    procs = [subprocess.Popen(["ls", "-1A", d], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL,
                              env=dict(os.environ, LC_ALL="C"))
             for d in (dirs * 5)[:40]]
    try:
        assert wait_for(lambda: num(m, "requests_waiting") >= 40), stats(m)
        time.sleep(0.3)
        s = stats(m)
        assert int(s["pool_threads"]) <= len(dirs) + 2, (len(dirs), s)
        assert int(s["threads"]) <= idle + len(dirs) + 2 + 8, (idle, s)
    finally:
        fake.clear_faults()
        outs = [p.communicate(timeout=30)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for d, out in zip((dirs * 5)[:40], outs):
        assert sorted(out.decode().splitlines()) == sorted(os.listdir(d)), d


def test_ctrl_c_on_a_reader_waiting_for_an_export(fresh, mount_factory):
    fake = fresh
    m = mount_factory(fake.url)
    os.listdir(m.p("cards"))
    fake.add_fault(endpoint=EXPORT, latency_ms=3000, count=1)
    a = subprocess.Popen(["cat", card(m, 3)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    b = subprocess.Popen(["cat", card(m, 3)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert wait_for(lambda: num(m, "requests_waiting") >= 2), stats(m)
    t0 = time.monotonic()
    a.send_signal(signal.SIGINT)
    a.wait(5)
    assert time.monotonic() - t0 < 2.0            # not the 3 s of the stall
    assert a.returncode != 0
    out, err = b.communicate(timeout=30)
    assert b.returncode == 0, err
    assert out and out == read(card(m, 3))
    # the export ran once: the interrupted reader did not abort the one
    # the other reader still waited for
    assert sum(fake.stats()["exports"].values()) == 1
