# test_cli.py — the command line as a user meets it: --help lists every
# option with its default and the environment variables; --version; an
# unknown option is one line with a hint, before anything starts; each
# mount-time failure (bad URL, DNS, refused connection, TLS, not a
# Metabase, bad credentials) prints exactly one line and exits non-zero
# without daemonizing or mounting; log lines per export and per failure,
# -o log_level, and syslog once daemonized.

import http.server
import os
import shutil
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ROOT, mbfs_binary
from fakeserver import ADMIN, FakeServer


@pytest.fixture(scope="module")
def fake():
    server = FakeServer(behaviour="new")
    yield server
    server.stop()


def run_mbfs(args, env=None, timeout=60, daemon=False):
    """mbfs with fresh config and cache homes, removed when it has exited
    (daemon=True: a mount left running keeps them; they are p.homes)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
    homes = [tempfile.mkdtemp(prefix="mbfs-cli-cfg-"), tempfile.mkdtemp(prefix="mbfs-cli-cache-")]
    e["XDG_CONFIG_HOME"], e["XDG_CACHE_HOME"] = homes
    e.update(env or {})
    try:
        p = subprocess.run([mbfs_binary()] + list(args), env=e, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    finally:
        for h in ([] if daemon else homes):
            shutil.rmtree(h, ignore_errors=True)
    p.homes = homes
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


# ---- --help and --version ---------------------------------------------------------

def own_options():
    """Every -o name in options.c's option table (one row per option: the
    secrets, the URL, the switches such as -f and the test-only rows
    excepted)."""
    with open(os.path.join(ROOT, "src", "core", "options.c"), encoding="utf-8") as f:
        src = f.read()
    table = src[src.index("opt_table[] = {"):]
    table = table[:table.index("\n};")]
    names = set()
    for row in re.split(r"\n\t\{", table)[1:]:
        m = re.match(r'(?:\.name = "([^"]+)"|CRED\(([a-z_]+),)', row)
        assert m, "a row of the option table without a name: %r" % row[:80]
        name = m.group(1) or m.group(2)
        if re.search(r"\.kind = K_(SECRET|URL)\b", row) or name.startswith(("-", "test_")):
            continue
        names.add(name)
    return sorted(names)


def env_vars():
    names = set()
    for top, _, files in os.walk(os.path.join(ROOT, "src")):
        for fn in files:
            if fn.endswith(".c"):
                with open(os.path.join(top, fn), encoding="utf-8") as f:
                    names |= set(re.findall(r'"(MBFS_[A-Z_]+)"', f.read()))
    return sorted(names)


def test_help_lists_every_option_default_and_environment():
    p = run_mbfs(["--help"])
    assert p.returncode == 0 and p.err == ""
    h = p.out
    assert h.startswith("usage: ")
    opts = own_options()
    assert len(opts) >= 20
    for name in opts:
        m = re.search(r"^  -o %s\b(.*(?:\n {20,}.*)*)" % name, h, re.M)
        assert m, "-o %s is missing from --help" % name
        assert "[" in m.group(1), "-o %s has no [default] in --help: %r" % (name, m.group(0))
    for var in env_vars() + ["XDG_CONFIG_HOME", "XDG_CACHE_HOME"]:
        assert var in h, "%s is missing from --help" % var
    for fuse_opt in ("allow_other", "default_permissions", "fsname", "_netdev"):
        assert fuse_opt in h
    assert run_mbfs(["-h"]).out == h


def test_version():
    p = run_mbfs(["--version"])
    assert p.returncode == 0
    lines = p.out.splitlines()
    assert [l.split()[0] for l in lines] == ["mbfs", "libfuse", "libcurl", "json-c"]
    assert re.fullmatch(r"mbfs \d+\.\d+\.\d+", lines[0])
    assert re.fullmatch(r"libfuse 3\.\d+\.\d+", lines[1])
    assert re.fullmatch(r"libcurl \d+\.\d+\.\d+", lines[2])
    assert re.fullmatch(r"json-c \d+\.\d+(\.\d+)?", lines[3])
    assert run_mbfs(["-V"]).out == p.out


# ---- errors before anything starts ----------------------------------------------------

@pytest.fixture
def mountpoint():
    d = tempfile.mkdtemp(prefix="mbfs-cli-")
    mp = os.path.join(d, "mnt")
    os.mkdir(mp)
    with open(os.path.join(mp, "marker"), "w") as f:
        f.write("untouched\n")
    yield mp
    if os.path.ismount(mp):
        subprocess.run(["fusermount3", "-u", mp], check=False)
    if not os.path.ismount(mp):
        shutil.rmtree(d, ignore_errors=True)


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z mbfs (error|warn|info|debug): ")


def assert_one_line_failure(p, mp, *needles, foreground=False):
    """Exactly one line on stderr. In the foreground stderr is also the log:
    timestamped log lines may come before it."""
    assert p.returncode != 0, (p.out, p.err)
    assert p.out == ""
    lines = p.err.splitlines()
    if foreground:
        lines = [l for l in lines if not LOG_LINE.match(l)]
    assert len(lines) == 1, "expected exactly one line on stderr, got:\n" + p.err
    assert lines[0].startswith("mbfs: "), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert not os.path.ismount(mp)
    assert os.listdir(mp) == ["marker"]            # the mount point is untouched


@pytest.mark.parametrize("args,needles", [
    (["-o", "no_such_option"], ["unknown option '-o no_such_option'", "mbfs --help"]),
    (["-o", "formats=csv,json"], ["unknown option '-o json'", "':'"]),
    (["--frobnicate"], ["unknown option '--frobnicate'", "mbfs --help"]),
    (["-o", "meta_ttl=soon"], ["meta_ttl=soon", "seconds"]),
    (["-o", "log_level=loud"], ["log_level=loud", "error, warn, info or debug"]),
    (["-o", "password=hunter2xyz"], ["not accepted on the command line"]),
    # the test-only switch exists in mbfs-testhooks alone, never in mbfs
    (["-o", "test_zero_size"], ["unknown option '-o test_zero_size'"]),
])
def test_bad_option_is_one_line_before_anything(fake, mountpoint, args, needles):
    before = fake.stats()
    p = run_mbfs([fake.url, mountpoint] + args,
                 env={"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]})
    assert_one_line_failure(p, mountpoint, *needles)
    assert "hunter2xyz" not in p.err
    assert fake.stats()["logins"] == before["logins"]    # no request was made


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NotMetabase(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def not_metabase():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMetabase)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


FAILURES = ["bad_url", "bad_url_userinfo", "dns", "refused", "tls", "not_metabase",
            "bad_password", "bad_api_key"]


def failure_case(kind, fake, not_metabase, tmp):
    creds = {"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]}
    if kind == "bad_url":
        return "http://", creds, ["'http://' is not a server URL"]
    if kind == "bad_url_userinfo":
        return "http://me:pw@127.0.0.1:1", creds, ["credentials in the URL are not accepted"]
    if kind == "dns":
        return "http://mbfs-test.invalid", creds, ["cannot reach http://mbfs-test.invalid",
                                                   "resolve"]
    if kind == "refused":
        url = "http://127.0.0.1:%d" % free_port()
        return url, creds, ["cannot reach " + url, "onnect"]
    if kind == "tls":
        url = "https://127.0.0.1:%d" % fake.port          # plain HTTP behind it
        return url, creds, ["cannot reach " + url, "TLS"]
    if kind == "not_metabase":
        return not_metabase, creds, ["does not look like a Metabase server", "404"]
    if kind == "bad_password":
        pw = os.path.join(tmp, "pw")
        with open(pw, "w") as f:
            f.write("not-the-password\n")
        os.chmod(pw, 0o600)
        return fake.url, {"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD_FILE": pw}, \
            ["admin@example.com refused", "did not match stored password"]
    if kind == "bad_api_key":
        return fake.url, {"MBFS_API_KEY": "mb_wrong_key_0000"}, ["API key was rejected"]
    raise AssertionError(kind)


@pytest.mark.parametrize("foreground", [False, True], ids=["daemon", "foreground"])
@pytest.mark.parametrize("kind", FAILURES)
def test_mount_time_failure_is_one_line(fake, not_metabase, mountpoint, tmp_path, kind,
                                        foreground):
    url, env, needles = failure_case(kind, fake, not_metabase, str(tmp_path))
    args = [url, mountpoint, "-o", "connect_timeout=5,retries=0"] + (["-f"] if foreground else [])
    t0 = time.monotonic()
    p = run_mbfs(args, env=env)
    assert time.monotonic() - t0 < 30
    assert_one_line_failure(p, mountpoint, *needles, foreground=foreground)
    assert "not-the-password" not in p.err and "mb_wrong_key" not in p.err


def test_daemonizes_only_once_mounted(fake, mountpoint):
    """Without -f, mbfs returns 0 only when the mount answers, and prints
    nothing (its log goes to syslog)."""
    p = run_mbfs([fake.url, mountpoint],
                 env={"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]}, daemon=True)
    try:
        assert p.returncode == 0, p.err
        assert os.path.ismount(mountpoint)               # at the moment mbfs returned
        assert p.out == "" and p.err == ""
        assert "collections" in os.listdir(mountpoint)
    finally:
        subprocess.run(["fusermount3", "-u", mountpoint], check=False)
        for h in p.homes:
            shutil.rmtree(h, ignore_errors=True)


# ---- logs ----------------------------------------------------------------------------

def test_log_lines_per_export_and_failure(fake, mount_factory):
    m = mount_factory(fake.url, "log_level=info")
    with open(m.p("collections", "Ops ／ Finance", "Edge cases.csv"), "rb") as f:
        size = len(f.read())
    with open(m.p("databases", "Sample Database", "PUBLIC", "PEOPLE.json"), "rb") as f:
        f.read()
    with pytest.raises(OSError):
        open(m.p("collections", "Ops ／ Finance", "Broken SQL.csv"), "rb").read()
    m.unmount()
    log = m.log_text()
    # each line names the file (the path it was first listed under) and the object
    assert re.search(r" mbfs info: export collections/Ops ／ Finance/Edge cases\.csv \(card:27:csv\): "
                     r"HTTP 200, %d bytes, 6 rows, \d+\.\d+ s$" % size, log, re.M), log
    assert re.search(r" mbfs info: export databases/Sample Database/PUBLIC/PEOPLE\.json \(table:\d+:json\): "
                     r"HTTP 200, \d+ bytes, 2500 rows, \d+\.\d+ s$", log, re.M), log
    fails = [l for l in log.splitlines()
             if "export collections/Ops ／ Finance/Broken SQL.csv (card:24:csv) failed" in l]
    assert len(fails) == 1 and "no such column: NO_SUCH_COLUMN" in fails[0] and " warn: " in fails[0]
    assert " debug: " not in log


def test_log_level_error_is_quiet(fake, mount_factory):
    m = mount_factory(fake.url, "log_level=error")
    with open(m.p("collections", "Ops ／ Finance", "Edge cases.csv"), "rb") as f:
        f.read()
    m.unmount()
    log = m.log_text()
    assert " info: " not in log and " warn: " not in log and " debug: " not in log


def test_syslog_when_daemonized(fake, mountpoint):
    """Daemonized, the log goes to syslog(3): catch it on /dev/log."""
    if os.path.exists("/dev/log"):
        pytest.skip("a syslog daemon owns /dev/log here")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("/dev/log")
    except OSError as e:
        pytest.skip("cannot bind /dev/log: %s" % e)
    try:
        p = run_mbfs([fake.url, mountpoint, "-o", "log_level=info"],
                     env={"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]}, daemon=True)
        assert p.returncode == 0 and p.err == "", p.err
        with open(os.path.join(mountpoint, "collections", "Ops ／ Finance", "Edge cases.csv"), "rb") as f:
            f.read()
        subprocess.run(["fusermount3", "-u", mountpoint], check=True)
        sock.settimeout(5)
        msgs = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("unmounted" in m for m in msgs):
            try:
                msgs.append(sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                break
        text = "\n".join(msgs)
        assert re.search(r"mbfs\[\d+\]: connected to ", text), text
        assert re.search(r"mbfs\[\d+\]: export collections/Ops ／ Finance/Edge cases\.csv \(card:27:csv\): "
                         r"HTTP 200, \d+ bytes, 6 rows", text), text
        # facility daemon (3): priority = 3*8 + 6 (info)
        assert "<30>" in text
    finally:
        sock.close()
        os.unlink("/dev/log")
        if os.path.ismount(mountpoint):
            subprocess.run(["fusermount3", "-u", mountpoint], check=False)
        for h in getattr(locals().get("p"), "homes", []):
            shutil.rmtree(h, ignore_errors=True)
