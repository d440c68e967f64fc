# test_security.py — issue #10 through a real mount: what a hostile local
# user, a hostile or stalled server and bad input can and cannot do.
#
#   config file            refused whole (one exact line, nothing mounted, no
#                          request) when owned by someone else, writable by
#                          group/others, or readable by them while it holds a
#                          secret; used once fixed
#   secret files           password_file, api_key_file, session_file refused
#                          when group/world accessible or not owned by the
#                          user (also when the environment makes them moot)
#   environment            the daemon's /proc/PID/environ holds no secret,
#                          daemonized or not; fusermount3 (its child with
#                          -o auto_unmount) inherited none
#   not dumpable           mbfs as nobody: its /proc/PID files belong to root
#                          (PR_SET_DUMPABLE 0), a control process's to nobody
#   server text            control characters in a server's error message are
#                          escaped in user.mb.error, .mbfs/errors and the log
#   stalls                 -o stall_timeout=2: a server that stops sending mid
#                          export, or never starts, gives EIO with exactly
#                          "no data from the server for 2 s"
#   bad option values      one exact line each, before any request: URL with
#                          ',' (would inject allow_other into fsname=), '?',
#                          '#', over 1024 bytes; cache_max below 1 MiB;
#                          numbers out of range; a relative cache_dir is
#                          made absolute before daemonizing
#
# Runs as root (the owner and nobody cases need it; they skip otherwise).
# Standard library + Debian's pytest only.

import errno
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import mbfs_binary, read
from fakeserver import ADMIN, FakeServer

NOBODY = 65534
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, another user)")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z mbfs (error|warn|info|debug): ")


@pytest.fixture(scope="module")
def fake():
    server = FakeServer(behaviour="new")
    yield server
    server.stop()


def total_requests(server):
    return sum(server.stats()["requests"].values())


class Setup:
    """A private temporary directory: mnt/ (with a marker file), config/,
    cache/, and a base environment without MBFS_* variables."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mbfs-sec-")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        with open(os.path.join(self.mnt, "marker"), "w") as f:
            f.write("untouched\n")
        self.config_home = os.path.join(self.dir, "config")
        self.cache_home = os.path.join(self.dir, "cache")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
        self.env.update(XDG_CONFIG_HOME=self.config_home, XDG_CACHE_HOME=self.cache_home)

    def config(self, text, mode=0o600):
        d = os.path.join(self.config_home, "mbfs")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "config")
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def secret(self, name, text, mode=0o600):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text + "\n")
        os.chmod(p, mode)
        return p

    def run(self, args, env=None, cwd=None, timeout=60):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([os.path.abspath(mbfs_binary())] + list(args), env=e, cwd=cwd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        return p

    def cleanup(self):
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def s():
    st = Setup()
    yield st
    st.cleanup()


def assert_refused(p, s, line, foreground=False):
    """Non-zero exit, exactly `line` on stderr (log lines aside in the
    foreground), nothing on stdout, nothing mounted."""
    assert p.returncode != 0, (p.out, p.err)
    assert p.out == ""
    lines = p.err.splitlines()
    if foreground:
        lines = [ln for ln in lines if not LOG_LINE.match(ln)]
    assert lines == [line], "expected exactly\n  %s\ngot\n%s" % (line, p.err)
    assert not os.path.ismount(s.mnt)
    assert os.listdir(s.mnt) == ["marker"]


CREDS = {"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]}


# ---- the config file ---------------------------------------------------------------------

CONFIG_CASES = {
    # name: (mode, owner, holds a secret, the end of the line after the path)
    "group-writable": (0o664, None, False,
                       " is writable by group or others (mode 0664): refused whole; run chmod go-w {p}"),
    "world-writable": (0o646, None, False,
                       " is writable by group or others (mode 0646): refused whole; run chmod go-w {p}"),
    "readable-with-password": (0o644, None, "password",
                               " holds a password but is readable by group or others (mode 0644): "
                               "refused whole; run chmod 600 {p}"),
    "group-readable-with-api-key": (0o640, None, "api_key",
                                    " holds an API key but is readable by group or others (mode 0640): "
                                    "refused whole; run chmod 600 {p}"),
    "other-readable-with-session": (0o604, None, "session",
                                    " holds a session token but is readable by group or others "
                                    "(mode 0604): refused whole; run chmod 600 {p}"),
    "owned-by-nobody": (0o600, NOBODY, False,
                        " is owned by uid 65534, not by you (uid {me}): refused whole; run chown {me} {p}"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
@pytest.mark.parametrize("foreground", [False, True], ids=["daemon", "foreground"])
def test_unsafe_config_file_is_refused_whole(fake, s, case, foreground):
    mode, owner, secret, tail = CONFIG_CASES[case]
    if owner is not None and os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    # a config that would send the credentials elsewhere with TLS checks off
    text = "url = %s\ninsecure\ncafile = /dev/null\nusername = %s\n" % (fake.url, ADMIN[0])
    if secret:
        text += "%s = %s\n" % (secret, "cfg-secret-" + uuid.uuid4().hex)
    p = s.config(text, mode)
    if owner is not None:
        os.chown(p, owner, owner)
    before = total_requests(fake)
    # even with the URL and the credentials given otherwise: the file is wrong
    p_ = s.run([fake.url, s.mnt] + (["-f"] if foreground else []), env=CREDS)
    want = "mbfs: the config file " + p + tail.format(p=p, me=os.geteuid())
    assert_refused(p_, s, want, foreground)
    assert "cfg-secret-" not in p_.err
    assert total_requests(fake) == before               # nothing reached the server
    # fixed as the line says: it mounts
    if owner is not None:
        os.chown(p, os.geteuid(), os.getegid())
    os.chmod(p, 0o600)
    ok = s.run([s.mnt], env=CREDS)
    try:
        assert ok.returncode == 0, ok.err
        assert "collections" in os.listdir(s.mnt)
    finally:
        subprocess.run(["fusermount3", "-u", s.mnt], check=False)


def test_config_file_that_is_not_a_file_is_refused(fake, s):
    os.makedirs(os.path.join(s.config_home, "mbfs", "config"))
    p = s.run([fake.url, s.mnt], env=CREDS)
    assert_refused(p, s, "mbfs: the config file %s/mbfs/config is not a regular file: refused"
                   % s.config_home)


# ---- secret files ----------------------------------------------------------------------------

SECRET_FILES = {
    # option: (what the line calls it, environment variable naming the file)
    "password_file": ("password", "MBFS_PASSWORD_FILE"),
    "api_key_file": ("API key", "MBFS_API_KEY_FILE"),
    "session_file": ("session token", "MBFS_SESSION_FILE"),
}

SECRET_CASES = {
    "0644": (0o644, None, "is readable by group or others (mode 0644): refused; run chmod 600 {p}"),
    "0640": (0o640, None, "is readable by group or others (mode 0640): refused; run chmod 600 {p}"),
    "0604": (0o604, None, "is readable by group or others (mode 0604): refused; run chmod 600 {p}"),
    "0620": (0o620, None, "is writable by group or others (mode 0620): refused; run chmod 600 {p}"),
    "nobody": (0o600, NOBODY, "is owned by uid 65534, not by you (uid {me}): refused; run chown {me} {p}"),
}


@pytest.mark.parametrize("case", sorted(SECRET_CASES))
@pytest.mark.parametrize("option", sorted(SECRET_FILES))
def test_unsafe_secret_file_is_refused(fake, s, option, case):
    what, _ = SECRET_FILES[option]
    mode, owner, tail = SECRET_CASES[case]
    if owner is not None and os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    value = "file-secret-" + uuid.uuid4().hex
    path = s.secret("secret", value, mode)
    if owner is not None:
        os.chown(path, owner, owner)
    before = total_requests(fake)
    p = s.run([fake.url, s.mnt, "-o", "%s=%s,username=%s" % (option, path, ADMIN[0])])
    want = "mbfs: the %s file %s %s" % (what, path, tail.format(p=path, me=os.geteuid()))
    assert_refused(p, s, want)
    assert value not in p.err
    assert total_requests(fake) == before


@pytest.mark.parametrize("option", sorted(SECRET_FILES))
def test_secret_file_from_the_environment_is_checked_too(fake, s, option):
    """Named by MBFS_*_FILE, and refused even when MBFS_PASSWORD (which
    wins over every file) makes it unnecessary: its mode is wrong all the same."""
    what, var = SECRET_FILES[option]
    path = s.secret("secret", "whatever", 0o644)
    p = s.run([fake.url, s.mnt], env=dict(CREDS, **{var: path}))
    assert_refused(p, s, "mbfs: the %s file %s is readable by group or others (mode 0644): "
                         "refused; run chmod 600 %s" % (what, path, path))


def test_private_secret_files_mount(fake, s):
    """The control: 0600 files of the user mount, relative paths too (the
    daemon runs in /, so they are made absolute first)."""
    s.secret("pw", ADMIN[1], 0o600)
    p = s.run(["-o", "password_file=pw,username=" + ADMIN[0], fake.url, "mnt"], cwd=s.dir)
    try:
        assert p.returncode == 0, p.err
        status = read(os.path.join(s.mnt, ".mbfs", "status")).decode()
        assert "auth password" in status
        assert "mountpoint %s\n" % s.mnt in status
    finally:
        subprocess.run(["fusermount3", "-u", s.mnt], check=False)


# ---- the environment and core dumps ------------------------------------------------------------

def daemon_pids(mnt):
    """mbfs processes serving mnt, found by their command line."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"mbfs" and mnt.encode() in argv:
            pids.append(int(p))
    return pids


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return f.read()


def secret_env(fake):
    """All three secret variables, each with a unique value; the API key works."""
    key = "mb_test_" + uuid.uuid4().hex
    fake.add_api_key(key)
    return {"MBFS_API_KEY": key, "MBFS_SESSION": "sess-" + uuid.uuid4().hex,
            "MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": "pw-" + uuid.uuid4().hex}


def children(pid, name):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid == pid and comm == name:
            out.append(int(p))
    return out


def assert_no_secret(block, env):
    for name in ("MBFS_API_KEY", "MBFS_SESSION", "MBFS_PASSWORD"):
        assert env[name].encode() not in block, name
        assert name.encode() + b"=" not in block, name


@ROOT_ONLY
@pytest.mark.parametrize("foreground", [False, True], ids=["daemon", "foreground"])
def test_no_secret_in_the_daemons_environment_nor_fusermount3s(fake, s, foreground):
    """With -o auto_unmount libfuse mounts through fusermount3 (also as
    root), which stays as the daemon's child for the life of the mount: its
    environment is what children inherit."""
    env = secret_env(fake)
    args = [fake.url, s.mnt, "-o", "auto_unmount"]
    if foreground:
        log = open(os.path.join(s.dir, "log"), "wb")
        proc = subprocess.Popen([mbfs_binary()] + args + ["-f"], env=dict(s.env, **env),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.ismount(s.mnt) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        p = s.run(args, env=env)
        assert p.returncode == 0, p.err
    try:
        assert os.path.ismount(s.mnt)
        read(os.path.join(s.mnt, "cards", "1.csv"))          # the key is in use
        pids = daemon_pids(s.mnt)
        assert len(pids) == 1
        block = environ_of(pids[0])
        assert b"XDG_CACHE_HOME=" + s.cache_home.encode() in block   # it is the environment
        assert b"MBFS_USERNAME=" + ADMIN[0].encode() in block        # not a secret: kept
        assert_no_secret(block, env)
        helpers = children(pids[0], "fusermount3")
        assert len(helpers) == 1, helpers
        block = environ_of(helpers[0])
        assert b"XDG_CACHE_HOME=" + s.cache_home.encode() in block
        assert_no_secret(block, env)
    finally:
        subprocess.run(["fusermount3", "-u", s.mnt], check=False)
        if foreground:
            proc.wait(20)
            log.close()


@ROOT_ONLY
def test_the_daemon_is_not_dumpable(fake):
    """mbfs as nobody, held at its first request (the server waits 4 s to
    answer /api/session/properties): its /proc/PID files belong to root, as
    the kernel arranges for a process that is not dumpable, while those of
    an ordinary process of nobody (the control) belong to nobody. No core
    file, no ptrace, no /proc/PID/mem or environ for nobody's other
    processes. (This machine's /dev/fuse is root's only, so nobody cannot
    mount here; the process is looked at before it tries.)"""
    d = tempfile.mkdtemp(prefix="mbfs-sec-nobody-")
    os.chmod(d, 0o755)
    mnt, cache, cfg = (os.path.join(d, n) for n in ("mnt", "cache", "config"))
    for p in (mnt, cache, cfg):
        os.mkdir(p)
        os.chown(p, NOBODY, NOBODY)
    env = secret_env(fake)
    e = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": cache, "XDG_CONFIG_HOME": cfg,
         "HOME": "/nonexistent", **env}
    fake.add_fault(endpoint="GET /api/session/properties", latency_ms=4000, count=1)
    probes = fake.stats()["requests"].get("GET /api/session/properties", 0)
    log = open(os.path.join(d, "log"), "wb")
    proc = subprocess.Popen([os.path.abspath(mbfs_binary()), fake.url, mnt, "-f"], env=e, cwd="/",
                            user=NOBODY, group=NOBODY, extra_groups=[], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    control = subprocess.Popen(["sleep", "60"], user=NOBODY, group=NOBODY, extra_groups=[])
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and fake.stats()["requests"].get(
                "GET /api/session/properties", 0) == probes:
            time.sleep(0.05)
        assert time.monotonic() < deadline, "mbfs never asked the server"
        assert proc.poll() is None, read(os.path.join(d, "log")).decode()
        with open("/proc/%d/status" % proc.pid) as f:
            uid_line = next(ln for ln in f if ln.startswith("Uid:"))
        assert uid_line.split()[1:] == [str(NOBODY)] * 4
        assert os.stat("/proc/%d/environ" % proc.pid).st_uid == 0
        assert os.stat("/proc/%d/environ" % control.pid).st_uid == NOBODY
        block = environ_of(proc.pid)                       # root may read it
        assert b"XDG_CACHE_HOME=" + cache.encode() in block
        assert_no_secret(block, env)
    finally:
        control.kill()
        control.wait()
        fake.clear_faults()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", mnt], check=False)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


# ---- hostile server text -------------------------------------------------------------------------

# A query error whose text holds an escape sequence (red, clear screen via
# CSI U+009B), a newline that would forge a line of .mbfs/errors, a tab and BEL.
EVIL = "bad\x1b[31mred\n2026-01-01T00:00:00Z card:9:csv http=200 forged\tline\x07 \u009b2J end"
EVIL_SHOWN = ("bad\\x1b[31mred\\n2026-01-01T00:00:00Z card:9:csv http=200 forged\\tline\\x07 "
              "\\u009b2J end")


def test_control_characters_from_the_server_are_escaped(fake, mount_factory):
    import json
    fake.clear_faults()
    fake.add_fault(card_id=3, format="csv", status=500, content_type="application/json",
                   body=json.dumps({"status": "failed", "error": EVIL}))
    try:
        m = mount_factory(fake.url)
        path = m.p("cards", "3.csv")
        with pytest.raises(OSError) as ei:
            read(path)
        assert ei.value.errno == errno.EIO
        want = "/api/card/3/query/csv: HTTP 500: " + EVIL_SHOWN
        assert os.getxattr(path, "user.mb.error").decode() == want
        errors = read(m.p(".mbfs", "errors")).decode()
        lines = [ln for ln in errors.splitlines() if "card:3:csv" in ln]
        assert len(lines) == 1 and lines[0].endswith(" cards/3.csv (card:3:csv) http=500 " + want), errors
        assert "forged" not in errors.replace(lines[0], "")   # no line of its own
        m.unmount()
        log = m.log_text()
        assert EVIL_SHOWN in log
        for c in "\x1b\x07\u009b":
            assert c not in errors and c not in log
    finally:
        fake.clear_faults()


# ---- a stalled server --------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["mid-export", "before-the-first-byte"])
def test_stalled_export_is_eio_with_the_stall_message(fake, mount_factory, where):
    fake.clear_faults()
    if where == "mid-export":   # 1000 bytes of rows, then silence
        fake.add_fault(card_id=1, format="csv", stall_after=1000, stall_ms=60000)
    else:                       # the server accepts and never answers
        fake.add_fault(card_id=1, format="csv", latency_ms=60000)
    try:
        m = mount_factory(fake.url, "stall_timeout=2")
        path = m.p("cards", "1.csv")
        exports_before = fake.stats()["exports"].get("card:1:csv", 0)
        t0 = time.monotonic()
        with pytest.raises(OSError) as ei:
            read(path)
        took = time.monotonic() - t0
        assert ei.value.errno == errno.EIO
        assert 1.9 <= took < 10, took
        assert os.getxattr(path, "user.mb.error") == b"no data from the server for 2 s"
        errors = read(m.p(".mbfs", "errors")).decode()
        assert re.search(r" cards/1\.csv \(card:1:csv\) http=%s no data from the server for 2 s$"
                         % ("200" if where == "mid-export" else "0"), errors, re.M), errors
        assert os.stat(path).st_size == 0                   # nothing half-written is served
        # not retried: one export request, however many retries are allowed
        assert fake.stats()["exports"].get("card:1:csv", 0) == exports_before + 1
        # once the server answers again (after error_ttl), the file reads
        fake.clear_faults()
        os.utime(path)                                      # touch: retry now
        assert read(path).startswith(b"ID,")
    finally:
        fake.clear_faults()


def test_stall_timeout_is_shown_in_status(fake, mount_factory):
    m = mount_factory(fake.url, "stall_timeout=7")
    assert " stall_timeout=7" in read(m.p(".mbfs", "status")).decode()


# ---- bad option values -------------------------------------------------------------------------------------

def bad_option_cases(url):
    long_url = url + "/" + "a" * (2000 - len(url) - 1)
    return [
        # a ',' would be pasted into -ofsname=URL,subtype=mbfs: allow_other injected
        ([url + "/x,allow_other", "{mnt}"],
         "mbfs: '%s/x,allow_other' is not a server URL: ',' is not accepted in it (mbfs passes the URL "
         "to FUSE as fsname=, where ',' separates mount options); write it as %%2C" % url),
        ([url + "/?x=1", "{mnt}"],
         "mbfs: '%s/?x=1' is not a server URL: a base URL has no query ('?') or fragment ('#')" % url),
        ([url + "/#x", "{mnt}"],
         "mbfs: '%s/#x' is not a server URL: a base URL has no query ('?') or fragment ('#')" % url),
        ([url + "/a\\b", "{mnt}"],
         "mbfs: '%s/a\\b' is not a server URL: '\\' is not accepted in it (percent-encode it as %%5C)" % url),
        ([url + "/a\x1b[2Jb", "{mnt}"],
         "mbfs: '%s/a\\x1b[2Jb' is not a server URL: spaces, control characters and non-ASCII bytes are "
         "not accepted in it (percent-encode them)" % url),
        ([long_url, "{mnt}"],
         "mbfs: the server URL is 2000 bytes long; at most 1024 are accepted"),
        ([url, "{mnt}", "-o", "cache_max=0"],
         "mbfs: -o cache_max=0: at least 1M (1 MiB) is needed to hold a result"),
        ([url, "{mnt}", "-o", "cache_max=512K"],
         "mbfs: -o cache_max=512K: at least 1M (1 MiB) is needed to hold a result"),
        ([url, "{mnt}", "-o", "cache_dir="], "mbfs: -o cache_dir= needs a path"),
        ([url, "{mnt}", "-o", "max_exports=0"],
         "mbfs: -o max_exports=0: expected a whole number from 1 to 256"),
        ([url, "{mnt}", "-o", "max_exports=257"],
         "mbfs: -o max_exports=257: expected a whole number from 1 to 256"),
        ([url, "{mnt}", "-o", "retries=21"], "mbfs: -o retries=21: expected a whole number from 0 to 20"),
        ([url, "{mnt}", "-o", "stall_timeout=0"],
         "mbfs: -o stall_timeout=0: expected a whole number from 1 to 86400"),
        ([url, "{mnt}", "-o", "stall_timeout=86401"],
         "mbfs: -o stall_timeout=86401: expected a whole number from 1 to 86400"),
        ([url, "{mnt}", "-o", "stall_timeout=2.5"],
         "mbfs: -o stall_timeout=2.5: expected a whole number from 1 to 86400"),
        ([url, "{mnt}", "-o", "connect_timeout=0"],
         "mbfs: -o connect_timeout=0: expected a number of seconds from 0.1 to 3600"),
        ([url, "{mnt}", "-o", "meta_ttl=-1"],
         "mbfs: -o meta_ttl=-1: expected a number of seconds from 0 to 1e+09"),
        ([url, "{mnt}", "-o", "result_ttl=nan"],
         "mbfs: -o result_ttl=nan: expected a number of seconds from 0 to 1e+09"),
        ([url, "{mnt}", "-o", "uid=-1"], "mbfs: -o uid=-1: expected a whole number from 0 to 4294967294"),
        ([url, "{mnt}", "-o", "umask=1000"], "mbfs: -o umask=1000: expected an octal number from 0 to 777"),
        ([url, "{mnt}", "-o", "row_cap=-5"],
         "mbfs: -o row_cap=-5: expected a whole number from 0 to 1099511627776"),
    ]


def test_bad_option_values_are_one_line_before_anything(fake, s):
    cases = bad_option_cases(fake.url)
    before = total_requests(fake)
    for args, line in cases:
        args = [a.replace("{mnt}", s.mnt) for a in args]
        for foreground in (False, True):
            p = s.run(args + (["-f"] if foreground else []), env=CREDS)
            assert_refused(p, s, line, foreground)
    assert total_requests(fake) == before
    assert not os.path.exists(s.cache_home)             # nothing was created either


def test_comma_in_the_url_cannot_inject_allow_other(fake, s):
    """The attack itself: were the URL accepted, /proc/mounts would show
    allow_other. Refused, and the same URL percent-encoded is a plain path."""
    p = s.run([fake.url + "/x,allow_other", s.mnt], env=CREDS)
    assert p.returncode != 0 and not os.path.ismount(s.mnt)
    with open("/proc/mounts") as f:
        assert not any(s.mnt in ln for ln in f)


def test_relative_cache_dir_is_made_absolute_before_daemonizing(fake, s):
    work = os.path.join(s.dir, "work")
    os.mkdir(work)
    p = s.run([fake.url, s.mnt, "-o", "cache_dir=relcache"], env=CREDS, cwd=work)
    try:
        assert p.returncode == 0, p.err
        data = read(os.path.join(s.mnt, "cards", "1.csv"))
        assert data.startswith(b"ID,")
        status = read(os.path.join(s.mnt, ".mbfs", "status")).decode()
        assert "cache_dir=%s/relcache " % work in status
        assert os.path.isdir(os.path.join(work, "relcache"))
        assert not os.path.exists("/relcache")             # the daemon runs in /
        size = sum(os.path.getsize(os.path.join(dp, f))
                   for dp, _, fs in os.walk(os.path.join(work, "relcache")) for f in fs)
        assert size >= len(data)                             # the result was spooled there
    finally:
        subprocess.run(["fusermount3", "-u", s.mnt], check=False)
