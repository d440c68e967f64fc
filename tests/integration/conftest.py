# conftest.py — fixtures of the mount-level integration tests.
#
# `fake` starts the fake Metabase (once per test module and behaviour:
# every test runs against both the old ≈v0.46 and the new ≈v0.63 server);
# `mount_factory` mounts the real mbfs binary on a temporary directory in
# the foreground (-f), waits until the mount answers, and always unmounts
# with fusermount3 -u and reaps the process. The binary comes from
# $MBFS_BIN (ctest sets it) or build/mbfs. `clean` is the fake server
# with no fault injected; read() and card() are the helpers most test
# files use (from conftest import card, read).
#
# Standard library + Debian's pytest only.

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fakeserver import ADMIN, FakeServer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))


def mbfs_binary():
    b = os.environ.get("MBFS_BIN") or os.path.join(ROOT, "build", "mbfs")
    if not os.path.exists(b):
        pytest.skip("mbfs binary not built (%s)" % b)
    return b


def testhooks_binary():
    """mbfs-testhooks, built next to mbfs: the same daemon plus the
    test-only switches (-o test_zero_size); never installed."""
    b = os.path.join(os.path.dirname(mbfs_binary()), "mbfs-testhooks")
    if not os.path.exists(b):
        pytest.fail("mbfs-testhooks not built next to mbfs (%s)" % b)
    return b


@pytest.fixture(scope="module", params=["old", "new"])
def fake(request):
    server = FakeServer(behaviour=request.param)
    yield server
    server.stop()


class Mount:
    """A running `mbfs -f` on a temporary mount point."""

    def __init__(self, url, options=(), env=None, cache_dir=None, args=None, wait=True,
                 binary=None):
        self.tmp = tempfile.mkdtemp(prefix="mbfs-it-")
        self.path = os.path.join(self.tmp, "mnt")
        os.mkdir(self.path)
        self.cache_home = cache_dir or os.path.join(self.tmp, "cache")
        self.log_path = os.path.join(self.tmp, "mbfs.log")
        e = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
        e["XDG_CACHE_HOME"] = self.cache_home
        e["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "config")
        e.update(env if env is not None else
                 {"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]})
        opts = ["log_level=debug"] + list(options)
        cmd = [binary or mbfs_binary()] + ([url] if url else []) + [self.path, "-f", "-o", ",".join(opts)]
        if args:
            cmd += list(args)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=e, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_mounted()

    def wait_mounted(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.ismount(self.path):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("mbfs exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            time.sleep(0.05)
        raise RuntimeError("mbfs did not mount in %s s:\n%s" % (timeout, self.log_text()))

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def fuse_requests(self):
        """{op: FUSE requests this mount received so far}, from one read
        of .mbfs/metrics (which makes a few requests of its own)."""
        with open(self.p(".mbfs", "metrics")) as f:
            text = f.read()
        return {op: int(n) for op, n in re.findall(
            r'^mbfs_fuse_requests_total\{op="(\w+)"\} (\d+)$', text, re.M)}

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def remove(self):
        """Delete the temporary directory (mount point, cache, log) once
        unmounted; MBFS_KEEP_TMP=1 keeps it for a post-mortem."""
        if os.environ.get("MBFS_KEEP_TMP") != "1" and not os.path.ismount(self.path):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def unmount(self):
        if os.path.ismount(self.path):
            subprocess.run(["fusermount3", "-u", self.path], check=False)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-uz", self.path], check=False)
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


@pytest.fixture
def mount_factory():
    mounts = []

    def make(url, *options, **kw):
        m = Mount(url, options, **kw)
        mounts.append(m)
        return m

    yield make
    problems = []
    for m in mounts:
        rc = m.unmount()
        log = m.log_text()
        if rc != 0 and not getattr(m, "expect_failure", False):
            problems.append("mbfs exited with %s:\n%s" % (rc, log[-4000:]))
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in log:
                problems.append("sanitizer report in the mbfs log:\n%s" % log[-8000:])
                break
        m.remove()
    assert not problems, "\n".join(problems)


def read(path):
    """The whole file at path, as bytes."""
    with open(path, "rb") as f:
        return f.read()


def stats_value(m, name):
    """The integer of line `name N` in .mbfs/stats."""
    for line in read(m.p(".mbfs", "stats")).decode().splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return int(value)
    raise KeyError(name)


def settle_spool(m, timeout=10.0):
    """Wait until the files of dropped results are gone (they are removed
    in the background: .mbfs/stats spool_removals_pending)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = read(m.p(".mbfs", "stats")).decode()
        if "\nspool_removals_pending 0\n" in stats:
            return
        assert time.monotonic() < deadline, stats
        time.sleep(0.02)


def spool_state(cache):
    """(files in every spool dir, {spool dir: index record count})."""
    files, records = 0, 0
    base = os.path.join(cache, "mbfs")
    for d in os.listdir(base):
        sp = os.path.join(base, d, "spool")
        if not os.path.isdir(sp):
            continue
        files += len(os.listdir(sp))
        with open(os.path.join(base, d, "index")) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith("mbfs-spool 2 ")
        records += len(lines) - 1
    return files, records


def card(m, cid, fmt="csv"):
    """The path of card cid's file under cards/ of the mount m."""
    return m.p("cards", "%d.%s" % (cid, fmt))


@pytest.fixture
def mnt(fake, mount_factory):
    """A default mount of the module's fake server, with fresh caches."""
    return mount_factory(fake.url)


@pytest.fixture
def clean(fake):
    """The module's fake server with no faults armed, before and after."""
    fake.clear_faults()
    yield fake
    fake.clear_faults()


@pytest.fixture
def fresh(clean):
    """`clean`, and the fake's data and counters back to the start."""
    clean.reset()
    return clean


def collection_dirs(m):
    """The directories of mount `m` listed through the collection-items
    endpoint: collections/ and every collection below it (not Personal/,
    which has no object, nor dashboards)."""
    out = [m.p("collections")]
    for dp, dn, _ in os.walk(m.p("collections")):
        for d in dn:
            p = os.path.join(dp, d)
            try:
                if os.getxattr(p, "user.mb.model") == b"collection":
                    out.append(p)
            except OSError:
                pass
    return out


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
