# test_stress.py — everything at once against one mount of the fake
# Metabase: many readers comparing cards and tables with the server's own
# export (read whole, read at random offsets, and `cmp` in a child
# process), `touch FILE` and `touch DIR` refreshes, SIGHUPs to the daemon,
# `ls -lR` over the whole tree, short TTLs so results and listings are
# refetched all the time; then the mount ends while readers are still
# reading: by a lazy unmount (fusermount3 -uz) and, on a second mount, by
# SIGTERM to the daemon; a third mount runs the same load in stream mode
# (-o stream) and ends by a lazy unmount.
#
# What must hold: every read that succeeds returns exactly the server's
# bytes (at every offset); ls -lR never fails while mounted; the daemon
# exits 0 by itself; and no sanitizer said anything. Under a
# ThreadSanitizer build (-DMBFS_TSAN=ON) the daemon's reports go to
# TSAN_OPTIONS=log_path files that must not exist; tests/tsan.supp holds
# the suppressions for code that is not ours. Under ASan/UBSan the daemon's
# stderr must hold no report.
#
# ctest label `stress` (not part of `integration`). MBFS_STRESS_SECONDS
# sets how long the stress phase runs (default 20).
#
# Standard library + Debian's pytest only.

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from fakeserver import ADMIN, FakeServer  # noqa: E402

SECONDS = float(os.environ.get("MBFS_STRESS_SECONDS", "20"))
READERS = 8
MAX_BODY = 256 * 1024          # files compared: the small and middle-sized ones
SANITIZER_MARKERS = ("ThreadSanitizer", "AddressSanitizer", "LeakSanitizer",
                     "runtime error:")
# errors a reader may see once the mount is going away
GONE = (errno.ENOENT, errno.ENOTCONN, errno.ECONNABORTED, errno.EIO, errno.ENODEV,
        errno.EBADF)


def mbfs_binary():
    b = os.environ.get("MBFS_BIN") or os.path.join(ROOT, "build", "mbfs")
    if not os.path.exists(b):
        pytest.skip("mbfs binary not built (%s)" % b)
    return b


class Daemon:
    """mbfs -f on a fresh mount point, stderr to a file, TSan logs aside."""

    def __init__(self, url, options):
        self.tmp = tempfile.mkdtemp(prefix="mbfs-stress-")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        self.log_path = os.path.join(self.tmp, "mbfs.log")
        self.tsan_prefix = os.path.join(self.tmp, "tsan")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
        env["XDG_CACHE_HOME"] = os.path.join(self.tmp, "cache")
        env["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "config")
        env["MBFS_USERNAME"], env["MBFS_PASSWORD"] = ADMIN
        env["TSAN_OPTIONS"] = " ".join(filter(None, [
            env.get("TSAN_OPTIONS", ""),
            "log_path=%s" % self.tsan_prefix,
            "suppressions=%s" % os.path.join(ROOT, "tests", "tsan.supp"),
            "second_deadlock_stack=1", "history_size=4"]))
        cmd = [mbfs_binary(), url, self.mnt, "-f", "-o", ",".join(options)]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None:
                raise RuntimeError("mbfs exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("mbfs did not mount:\n%s" % self.log_text())
            time.sleep(0.05)

    def p(self, *parts):
        return os.path.join(self.mnt, *parts)

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tsan_reports(self):
        out = []
        for n in sorted(os.listdir(self.tmp)):
            if n.startswith("tsan"):
                with open(os.path.join(self.tmp, n), "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
        return out

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """Last resort, so that a failing test leaves no mount behind."""
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], check=False)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log.closed:
            self.log.close()


@pytest.fixture(scope="module")
def server():
    s = FakeServer(behaviour="new")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def expected(server, tmp_path_factory):
    """path parts under the mount -> (the server's bytes, a copy on disk)."""
    token = server.login()
    cat = server.catalog()
    out = {}
    store = tmp_path_factory.mktemp("expected")

    def keep(parts, body):
        if len(body) > MAX_BODY:
            return
        f = store / ("%d" % len(out))
        f.write_bytes(body)
        out[parts] = (body, str(f))

    for c in cat["cards"]:
        if c.get("archived"):
            continue
        for fmt in ("csv", "json"):
            r = server.export_request("card", c["id"], fmt, token)
            if r.status == 200:
                keep(("cards", "%d.%s" % (c["id"], fmt)), r.body)
    dbs = {d["id"]: d["name"] for d in cat["databases"]}
    for t in cat["tables"]:
        r = server.export_request("dataset", t["id"], "csv", token)
        if r.status == 200:
            keep(("databases", dbs[t["db_id"]], t["schema"], t["name"] + ".csv"), r.body)
    assert len(out) >= 20, sorted(out)
    return out


def sanitizer_reports(d):
    out = []
    log = d.log_text()
    if any(m in log for m in SANITIZER_MARKERS):
        out.append("sanitizer report in the mbfs log:\n%s" % log[-12000:])
    for r in d.tsan_reports():
        out.append("ThreadSanitizer report:\n%s" % r[-12000:])
    return out


class Stress:
    """The load: readers, refreshers, SIGHUPs and ls -lR, until stop."""

    def __init__(self, d, expected, seed):
        self.d = d
        self.expected = expected
        self.files = sorted(expected)
        self.dirs = sorted({parts[:i] for parts in self.files for i in range(1, len(parts))})
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.unmounting = threading.Event()
        self.lock = threading.Lock()
        self.failures = []
        self.counts = {"read": 0, "pread": 0, "cmp": 0, "touch": 0, "hup": 0, "ls": 0, "gone": 0}
        self.threads = []
        self.t0 = time.monotonic()

    def fail(self, what):
        when = "after the unmount" if self.unmounting.is_set() else "while mounted"
        with self.lock:
            if len(self.failures) < 20:
                self.failures.append("[%.2f s, %s] %s" % (time.monotonic() - self.t0, when, what))

    def count(self, k):
        with self.lock:
            self.counts[k] += 1

    def start(self):
        # MBFS_STRESS_WITHOUT=touch,hup,ls leaves parts of the load out
        # (to find which one a failure needs)
        without = set(os.environ.get("MBFS_STRESS_WITHOUT", "").split(","))
        for i in range(READERS):
            self.spawn(self.reader, random.Random(self.rng.random()), i)
        if "touch" not in without:
            self.spawn(self.refresher, random.Random(self.rng.random()))
        if "hup" not in without:
            self.spawn(self.hupper)
        if "ls" not in without:
            self.spawn(self.lister)

    def spawn(self, fn, *args):
        t = threading.Thread(target=self.guard, args=(fn,) + args, daemon=True)
        t.start()
        self.threads.append(t)

    def guard(self, fn, *args):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            self.fail("%s: %r" % (fn.__name__, e))

    def join(self, timeout=120):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        stuck = [t for t in self.threads if t.is_alive()]
        assert not stuck, "%d load threads still blocked after %s s" % (len(stuck), timeout)

    def gone(self, e):
        """An error is only acceptable once the mount is going away."""
        if self.unmounting.is_set() and isinstance(e, OSError) and e.errno in GONE:
            self.count("gone")
            return True
        return False

    def reader(self, rng, idx):
        while not self.stop.is_set():
            parts = rng.choice(self.files)
            want, copy = self.expected[parts]
            path = self.d.p(*parts)
            mode = rng.randrange(3) if idx % 2 else rng.randrange(2)
            try:
                if mode == 0:
                    with open(path, "rb") as f:
                        got = f.read()
                    if got != want:
                        self.fail("read %s: %d bytes, want %d (first difference at %s)" % (
                            "/".join(parts), len(got), len(want), first_diff(got, want)))
                    self.count("read")
                elif mode == 1:
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        for _ in range(4):
                            off = rng.randrange(len(want) + 1)
                            n = rng.randrange(1, 70000)
                            got = os.pread(fd, n, off)
                            if got != want[off:off + n]:
                                self.fail("pread %s @%d+%d: %d bytes differ" % (
                                    "/".join(parts), off, n, len(got)))
                    finally:
                        os.close(fd)
                    self.count("pread")
                else:
                    r = subprocess.run(["cmp", path, copy], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT)
                    if r.returncode != 0 and not self.unmounting.is_set():
                        self.fail("cmp %s: %s" % ("/".join(parts), r.stdout.decode(errors="replace")))
                    self.count("cmp")
            except OSError as e:
                if not self.gone(e):
                    self.fail("%s: %r" % ("/".join(parts), e))
                if self.unmounting.is_set():
                    return

    def refresher(self, rng):
        while not self.stop.is_set():
            if rng.random() < 0.5:
                parts = rng.choice(self.files)
            else:
                parts = rng.choice(self.dirs)
            try:
                os.utime(self.d.p(*parts))          # touch FILE / touch DIR
                self.count("touch")
            except OSError as e:
                if not self.gone(e):
                    self.fail("touch %s: %r" % ("/".join(parts), e))
            self.stop.wait(rng.uniform(0.01, 0.1))

    def hupper(self):
        while not self.stop.is_set():
            if self.d.proc.poll() is None:
                self.d.proc.send_signal(signal.SIGHUP)
                self.count("hup")
            self.stop.wait(0.3)

    def lister(self):
        while not self.stop.is_set():
            r = subprocess.run(["ls", "-lR", self.d.mnt], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if r.returncode != 0 and not self.unmounting.is_set():
                self.fail("ls -lR: rc %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[-2000:]))
            self.count("ls")


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


OPTIONS = ["log_level=info", "meta_ttl=1", "result_ttl=1", "error_ttl=1", "max_exports=4"]


def run_and_end(server, expected, how, seconds, options=OPTIONS):
    d = Daemon(server.url, options)
    seed = int(os.environ.get("MBFS_STRESS_SEED", "0")) or random.randrange(1, 1 << 30)
    print("stress seed %d (MBFS_STRESS_SEED to repeat)" % seed)
    s = Stress(d, expected, seed)
    try:
        s.start()
        time.sleep(seconds)
        # end the mount while readers are still reading
        s.unmounting.set()
        if how == "lazy-unmount":
            r = subprocess.run(["fusermount3", "-uz", d.mnt], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            assert r.returncode == 0, r.stdout
        else:
            d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)          # readers run into the end of the mount
        s.stop.set()
        s.join()
        rc = d.wait(60)
        assert rc is not None, "mbfs did not exit after the end of its mount:\n%s" % d.log_text()[-4000:]
        assert not os.path.ismount(d.mnt)
    finally:
        s.stop.set()
        d.kill()
    problems = list(s.failures)
    # SIGTERM: libfuse 3.14's loop returns the signal number, which main.c
    # turns into exit status 1; what matters is that it exits by itself,
    # not killed by a signal, and unmounted
    ok = (0,) if how == "lazy-unmount" else (0, 1)
    if rc not in ok:
        problems.append("mbfs exited with %s" % rc)
    problems += sanitizer_reports(d)
    assert not problems, "\n".join(problems) + "\ncounts %s\nlog:\n%s" % (
        s.counts, d.log_text()[-4000:])
    c = s.counts
    print("stress (%s, %.0f s): %s" % (how, seconds, c))
    if os.environ.get("MBFS_KEEP_TMP") != "1":
        shutil.rmtree(d.tmp, ignore_errors=True)
    # the load really ran
    assert c["read"] + c["pread"] + c["cmp"] >= 20, c
    return c


def test_stress_then_lazy_unmount(server, expected):
    run_and_end(server, expected, "lazy-unmount", SECONDS)


def test_stress_then_sigterm(server, expected):
    run_and_end(server, expected, "sigterm", max(3.0, SECONDS / 4))


def test_stream_mode_stress_then_lazy_unmount(server, expected):
    """The same load with -o stream: every read is a round trip that may
    wait for its bytes, which come from the spool file and from the bytes
    the sink still holds (every compared file is smaller than the hold
    buffer); reads at random offsets, touches and SIGHUPs meet running
    exports and cached results."""
    run_and_end(server, expected, "lazy-unmount", max(3.0, SECONDS / 4),
                OPTIONS + ["stream"])
