# test_status_cmd.py — visible work (issue "Visible work"): `mbfs status`,
# .mbfs/metrics in the Prometheus text format, .mbfs/exports and progress
# lines in the log, through a real mount, both server behaviours:
#
#   - `mbfs status MNT` while a slow export runs: its line grows between two
#     snapshots (bytes, rows, rate); a re-export of a known result shows a
#     progress bar; a failure shows up in the error list with its file;
#   - `--watch` redraws (a terminal: in place; a pipe: one block per
#     update) and exits on SIGINT;
#   - .mbfs/metrics parses as Prometheus exposition (a small parser here:
#     every sample's family has HELP and TYPE, names and labels are well
#     formed, values are numbers) and its counters move as requests happen;
#   - a long export logs its progress every 5 s at log_level=info.

import os
import pty
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import card, mbfs_binary, read


def status(m, *args):
    r = subprocess.run([mbfs_binary(), "status", m.path] + list(args),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def export_line(text, label):
    lines = [l for l in text.splitlines() if label in l and " s " in l]
    assert lines, text
    return lines[0]


def test_status_shows_a_running_export_growing(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    os.listdir(m.p("cards"))
    fake.add_fault(card_id=1, format="csv", rate_bps=150000)
    t = threading.Thread(target=read, args=(card(m, 1),))
    t.start()
    try:
        time.sleep(1.5)
        first = status(m)
        time.sleep(1.5)
        second = status(m)
    finally:
        t.join()
    assert "mbfs on %s: %s (Metabase v0." % (m.path, fake.url) in first
    assert "user: admin@example.com, auth password" in first
    assert "exports: 1 running, 0 queued" in first
    l1, l2 = export_line(first, "card:1:csv"), export_line(second, "card:1:csv")
    assert "cards/1.csv" in l1                           # the file, by its path

    def size(line):
        m = re.search(r"\s([\d.]+) (B|KB|MB|GB)\s", line)
        return float(m.group(1)) * {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]
    assert size(l2) > size(l1)                           # bytes grow
    assert "rows" in l2 and "/s" in l2
    assert "[" not in l1                                 # no size known yet
    assert "cache:" in first
    # the same card again, its size now known: a progress bar
    os.utime(card(m, 1))
    t = threading.Thread(target=read, args=(card(m, 1),))
    t.start()
    try:
        time.sleep(1.5)
        third = status(m)
    finally:
        t.join()
    l3 = export_line(third, "card:1:csv")
    assert re.search(r"\[#*-*\]\s+\d+%", l3), l3


def test_exports_shows_received_bytes_during_a_stall(clean, mount_factory):
    """The sink writes the spool 512 KiB at a time; what .mbfs/exports (and
    so `mbfs status`) shows is what was received, not what was written:
    a server that sent 300,000 bytes and stalls shows 300,000 bytes, and
    the rows among them (scanned as they arrive)."""
    fake = clean
    m = mount_factory(fake.url, "retries=0")
    os.listdir(m.p("cards"))
    fake.add_fault(card_id=1, format="csv", stall_after=300000, stall_ms=3000, count=1)
    t = threading.Thread(target=lambda: subprocess.run(
        ["cat", card(m, 1)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    t.start()
    try:
        deadline = time.monotonic() + 2.5
        got = None
        while time.monotonic() < deadline:
            lines = [ln.split("\t") for ln in read(m.p(".mbfs", "exports")).decode().splitlines()
                     if ln.startswith("running\t") and "card:1:csv" in ln]
            got = (int(lines[0][1]), int(lines[0][2])) if lines else None
            if got and got[0] == 300000:
                break
            time.sleep(0.1)
        assert got and got[0] == 300000, got
        # rows so far: CSV records ended, less the header, as the final
        # count (card 1 quotes no newline)
        want = fake.export("card", 1, "csv", fake.login())[:300000]
        assert b'"' not in want
        assert got[1] == want.count(b"\n") - 1, got
    finally:
        t.join()


def test_status_lists_errors_with_the_file(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url, "retries=0")
    fake.add_fault(card_id=24, format="csv", status=500)
    with pytest.raises(OSError):
        read(card(m, 24))
    out = status(m)
    assert "errors (the last 1 of 1):" in out
    line = [l for l in out.splitlines() if "card:24:csv" in l or "cards/24.csv" in l]
    assert line and "http=500" in line[0], out


def test_status_refuses_what_is_not_a_mount(tmp_path):
    r = subprocess.run([mbfs_binary(), "status", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "is not an mbfs mount" in r.stderr
    r = subprocess.run([mbfs_binary(), "status"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage: mbfs status" in r.stderr


def test_watch_in_a_pipe_prints_blocks_and_stops_on_sigint(clean, mount_factory):
    m = mount_factory(clean.url)
    p = subprocess.Popen([mbfs_binary(), "status", m.path, "--watch", "--interval", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=5)
    assert p.returncode == 0, err
    blocks = out.count("--- ")
    assert blocks >= 3, out
    assert out.count("mbfs on %s" % m.path) == blocks
    assert "\033[H" not in out                            # no screen codes in a pipe


def test_watch_on_a_terminal_redraws_in_place(clean, mount_factory):
    m = mount_factory(clean.url)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(mbfs_binary(), [mbfs_binary(), "status", m.path, "--watch", "--interval", "0.2"])
    out = b""
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    os.kill(pid, signal.SIGINT)
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0
    text = out.decode("utf-8", "replace")
    assert text.count("\033[H\033[J") >= 3, text[:500]   # cursor home + clear, each frame
    assert "Ctrl-C to stop" in text


# ---- metrics ---------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$')


def parse_metrics(text):
    """{(name, labels): value}; asserts the exposition format."""
    helps, types, samples = {}, {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert doc and name not in helps, line
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types and name not in {n for n, _ in samples}, line
            types[name] = typ
        else:
            m = SAMPLE.match(line)
            assert m, "not a sample line: %r" % line
            name, labels, value = m.group(1), m.group(3) or "", m.group(4)
            assert name in helps and name in types, "no HELP/TYPE before %s" % name
            assert (name, labels) not in samples, "duplicate sample %s{%s}" % (name, labels)
            float(value)
            if types[name] == "counter":
                assert float(value) >= 0 and name.endswith("_total"), line
            samples[(name, labels)] = float(value)
    return samples


def metric(samples, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for (n, l), v in samples.items():
        got = ",".join(sorted(l.split(","))) if l else ""
        if n == name and got == want:
            return v
    return 0.0


def test_metrics_parse_and_move(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    before = parse_metrics(read(m.p(".mbfs", "metrics")).decode())
    for name in ("mbfs_exports_started_total", "mbfs_cache_hits_total", "mbfs_logins_total",
                 "mbfs_spool_bytes", "mbfs_exports_running", "mbfs_exports_queued", "mbfs_threads",
                 "mbfs_relogins_total", "mbfs_cache_evictions_total"):
        assert any(n == name for n, _ in before), name
    assert metric(before, "mbfs_logins_total") == 1
    body = read(card(m, 2))
    assert read(card(m, 2)) == body                     # a cache hit
    after = parse_metrics(read(m.p(".mbfs", "metrics")).decode())
    assert metric(after, "mbfs_exports_started_total") == metric(before, "mbfs_exports_started_total") + 1
    assert metric(after, "mbfs_exports_succeeded_total") == metric(before, "mbfs_exports_succeeded_total") + 1
    assert metric(after, "mbfs_cache_hits_total") > metric(before, "mbfs_cache_hits_total")
    ep = "POST /api/card/:id/query/:fmt"
    assert metric(after, "mbfs_http_requests_total", endpoint=ep, status="200") == \
        metric(before, "mbfs_http_requests_total", endpoint=ep, status="200") + 1
    assert metric(after, "mbfs_http_received_bytes_total", endpoint=ep) >= len(body)
    assert metric(after, "mbfs_fuse_requests_total", op="open") > metric(before, "mbfs_fuse_requests_total", op="open")
    assert metric(after, "mbfs_spool_bytes") >= len(body)
    assert metric(after, "mbfs_threads") > 2
    # a failure is counted by its reason
    fake.add_fault(card_id=24, format="csv", status=500)
    with pytest.raises(OSError):
        read(card(m, 24))
    failed = parse_metrics(read(m.p(".mbfs", "metrics")).decode())
    assert sum(v for (n, l), v in failed.items() if n == "mbfs_exports_failed_total"
               and "interrupted" not in l) == 1
    assert metric(failed, "mbfs_http_requests_total", endpoint=ep, status="500") >= 1


def test_long_export_logs_its_progress(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url, "log_level=info")
    os.listdir(m.p("cards"))
    fake.add_fault(card_id=1, format="csv", rate_bps=100000)   # ~12 s
    read(card(m, 1))
    lines = [l for l in m.log_text().splitlines() if "bytes so far" in l]
    assert len(lines) >= 2, m.log_text()
    assert "export cards/1.csv (card:1:csv)" in lines[0] and "MB/s" in lines[0]


def test_status_of_another_users_mount(clean, mount_factory):
    """`mbfs status` needs only read access to MOUNTPOINT/.mbfs/: a user
    who may read a mount (allow_other) sees it, without any daemon state."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a command as another user")
    m = mount_factory(clean.url, "allow_other")
    os.chmod(m.tmp, 0o755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        mbfs_binary(), "status", m.path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "mbfs on %s: %s" % (m.path, clean.url) in r.stdout
    assert "user: admin@example.com" in r.stdout
