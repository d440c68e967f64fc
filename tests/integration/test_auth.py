# test_auth.py — issue #4, "Authentication that never locks an account",
# through a real mount, against both fake-server behaviours (old ≈ v0.46,
# new ≈ v0.63). Every test starts its own fake server (about 0.4 s), because
# most of them change server state that must not leak into other tests:
# passwords, sessions, API keys, login throttling.
#
#   credential kinds and sources   api key / session token / password, env,
#                                  files, config file, terminal prompt
#   session cache                  remount = 0 logins; 0600 file in 0700 dir;
#                                  keyed by URL + user; a rejected cached
#                                  session means one login
#   single flight                  16 concurrent readers of an expired
#                                  session = 1 login, 0 errors
#   no lockouts                    a refused or throttled login is never
#                                  repeated; EACCES and one clear log line;
#                                  a fixed password file lets it through
#   secrets hygiene                grep of everything mbfs wrote
#   TLS                            self-signed HTTPS: refused by default,
#                                  -o cafile= and -o insecure work
#   versions                       .mbfs/status shows version and choices
#
# Standard library + Debian's pytest only.

import errno
import os
import pty
import select
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time
import uuid

import pytest

from conftest import mbfs_binary, read
from fakeserver import ADMIN, ANALYST, FakeServer

WRONG = "not-the-password"


@pytest.fixture(params=["old", "new"])
def server(request):
    s = FakeServer(behaviour=request.param)
    yield s
    s.stop()


def logins(server):
    return server.stats()["logins"]


def login_posts(server):
    return server.stats()["requests"].get("POST /api/session", 0)


def failing_mount(mount_factory, url, *options, **kw):
    """Start mbfs -f expecting it to refuse to mount; returns (rc, output, mount)."""
    m = mount_factory(url, *options, wait=False, **kw)
    m.expect_failure = True
    rc = m.proc.wait(60)
    return rc, m.log_text(), m


def message_lines(output):
    """The plain `mbfs: ...` lines (mount-time messages, not timestamped log lines)."""
    return [ln for ln in output.splitlines() if ln.startswith("mbfs: ")]


def log_lines(output, level):
    return [ln for ln in output.splitlines() if (" mbfs %s: " % level) in ln]


def assert_untouched(m):
    assert not os.path.ismount(m.path)
    assert os.listdir(m.path) == []


def good_card_ids(server, n):
    """n card ids whose CSV export works (so reads can be compared)."""
    token = server.login()
    out = []
    for c in server.catalog()["cards"]:
        if c["archived"]:
            continue
        if server.export_request("card", c["id"], "csv", token).status == 200:
            out.append(c["id"])
        if len(out) == n:
            break
    server.request("DELETE", "/api/session", token=token)
    return out


def session_files(cache_home):
    d = os.path.join(cache_home, "mbfs", "sessions")
    return d, (sorted(os.listdir(d)) if os.path.isdir(d) else [])


def cached_token(cache_home):
    d, names = session_files(cache_home)
    assert len(names) == 1, names
    with open(os.path.join(d, names[0])) as f:
        return f.readline().strip()


# ---- session cache --------------------------------------------------------------

def test_remount_reuses_the_cached_session(server, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    m1 = mount_factory(server.url, cache_dir=cache)
    read(m1.p("cards", "1.csv"))
    assert m1.unmount() == 0
    assert logins(server) == 1
    server.reset()
    m2 = mount_factory(server.url, cache_dir=cache)
    os.listdir(m2.p("collections"))
    read(m2.p("cards", "2.csv"))
    st = server.stats()
    assert st["logins"] == 0 and st["failed_logins"] == 0
    assert "POST /api/session" not in st["requests"]
    status = read(m2.p(".mbfs", "status")).decode()
    assert "auth password" in status and "session_source cache" in status


def test_session_cache_is_private_and_atomic(server, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    m = mount_factory(server.url, cache_dir=cache)
    read(m.p("cards", "1.csv"))
    d, names = session_files(cache)
    assert len(names) == 1                              # no temporary files left behind
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    f = os.path.join(d, names[0])
    st = os.stat(f)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    token = cached_token(cache)
    assert token and token not in names[0]               # the name is a hash, not the token
    # a cache file readable by others is not trusted: the next mount logs in
    m.unmount()
    os.chmod(f, 0o644)
    server.reset()
    m2 = mount_factory(server.url, cache_dir=cache)
    read(m2.p("cards", "1.csv"))
    assert logins(server) == 1
    assert stat.S_IMODE(os.stat(os.path.join(d, session_files(cache)[1][0])).st_mode) == 0o600


def test_session_cache_is_keyed_by_url_and_user(server, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    mount_factory(server.url, cache_dir=cache).unmount()
    assert logins(server) == 1
    # another user, same server and cache: a login of its own
    server.reset()
    a = mount_factory(server.url, cache_dir=cache,
                      env={"MBFS_USERNAME": ANALYST[0], "MBFS_PASSWORD": ANALYST[1]})
    assert "analyst@example.com" in read(a.p(".mbfs", "status")).decode()
    a.unmount()
    assert logins(server) == 1
    assert len(session_files(cache)[1]) == 2
    # another server (same user): its own session too
    with FakeServer(behaviour=server.behaviour) as other:
        mount_factory(other.url, cache_dir=cache).unmount()
        assert logins(other) == 1
    assert len(session_files(cache)[1]) == 3
    # and the first one still needs no login
    server.reset()
    m = mount_factory(server.url, cache_dir=cache)
    read(m.p("cards", "1.csv"))
    assert logins(server) == 0


def test_a_rejected_cached_session_means_exactly_one_login(server, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    mount_factory(server.url, cache_dir=cache).unmount()
    old = cached_token(cache)
    server.expire_sessions()
    server.reset()
    m = mount_factory(server.url, cache_dir=cache)
    read(m.p("cards", "1.csv"))
    st = server.stats()
    assert st["logins"] == 1 and st["failed_logins"] == 0
    assert "cached session was rejected" in m.log_text()
    assert cached_token(cache) != old


# ---- single flight ---------------------------------------------------------------

def concurrent_reads(m, ids, want):
    barrier = threading.Barrier(len(ids))
    errors, got = [], {}

    def reader(cid):
        try:
            barrier.wait(10)
            got[cid] = read(m.p("cards", "%d.csv" % cid))
        except Exception as e:  # noqa: BLE001 — collected and asserted below
            errors.append((cid, e))

    threads = [threading.Thread(target=reader, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for cid in ids:
        assert got[cid] == want[cid], cid


def test_forced_expiry_during_16_concurrent_reads_means_one_login(server, mount_factory):
    ids = good_card_ids(server, 16)
    assert len(ids) == 16
    token = server.login()
    want = {cid: server.export("card", cid, "csv", token) for cid in ids}
    m = mount_factory(server.url, "max_exports=16")
    os.listdir(m.p("cards"))
    read(m.p(".mbfs", "status"))
    server.expire_sessions()
    server.reset()
    concurrent_reads(m, ids, want)
    st = server.stats()
    assert st["logins"] == 1, st
    assert st["failed_logins"] == 0
    assert login_posts(server) == 1
    assert "logging in again" in m.log_text()


def test_session_max_age_expiry_means_one_login(mount_factory):
    for behaviour in ("old", "new"):
        with FakeServer(behaviour=behaviour, session_max_age=3) as s:
            ids = good_card_ids(s, 8)
            token = s.login()
            want = {cid: s.export("card", cid, "csv", token) for cid in ids}
            m = mount_factory(s.url, "max_exports=8")
            os.listdir(m.p("cards"))
            s.reset()
            time.sleep(3.2)                             # every session is now too old
            concurrent_reads(m, ids, want)
            assert logins(s) == 1
            m.unmount()


# ---- no lockouts -----------------------------------------------------------------

def test_wrong_password_after_mount_is_tried_once_then_fixed_by_the_file(server, mount_factory,
                                                                         tmp_path):
    pw = tmp_path / "password"
    pw.write_text(ADMIN[1] + "\n")
    pw.chmod(0o600)
    m = mount_factory(server.url, "password_file=" + str(pw), env={"MBFS_USERNAME": ADMIN[0]})
    names = sorted(n for n in os.listdir(m.p("cards")) if not n.endswith(".sql"))   # .sql: no request
    assert len(names) >= 51
    read(m.p("cards", "1.csv"))
    # the password changes on the server, and the session goes away
    server.set_password(ADMIN[0], "changed-on-the-server")
    server.expire_sessions()
    server.reset()
    targets = [n for n in names if n != "1.csv"][:50]
    for n in targets:
        with pytest.raises(OSError) as e:
            read(m.p("cards", n))
        assert e.value.errno == errno.EACCES, n
    st = server.stats()
    assert st["failed_logins"] == 1, st                 # one refused login for 50 files
    assert login_posts(server) == 1
    assert st["logins"] == 0
    log = m.log_text()
    reason = "did not match stored password"
    assert log.count(reason) == 1                       # the server's reason, logged once
    errs = [ln for ln in log_lines(log, "error") if reason in ln]
    assert len(errs) == 1 and ADMIN[0] in errs[0] and "EACCES" in errs[0]
    status = read(m.p(".mbfs", "status")).decode()
    assert "auth_state refused" in status
    # a listing does not log in either
    os.utime(m.p("cards"))
    os.listdir(m.p("cards"))
    assert login_posts(server) == 1
    # touching the file without changing the password does not retry it
    os.utime(str(pw), (time.time() + 5, time.time() + 5))
    with pytest.raises(OSError) as e:
        read(m.p("cards", targets[1]))
    assert e.value.errno == errno.EACCES
    assert login_posts(server) == 1
    # the password file is fixed: the next read logs in once and works
    pw.write_text("changed-on-the-server\n")
    token = server.login(password="changed-on-the-server")
    assert "2.csv" in targets                          # it failed above; now it works
    assert read(m.p("cards", "2.csv")) == server.export("card", 2, "csv", token)
    st = server.stats()
    assert st["failed_logins"] == 1
    assert st["logins"] == 1 + 1                        # ours + mbfs's
    assert "auth_state ok" in read(m.p(".mbfs", "status")).decode()


def test_wrong_password_at_mount_exits_with_one_clear_line(server, mount_factory):
    rc, out, m = failing_mount(mount_factory, server.url,
                               env={"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": WRONG})
    assert rc != 0
    lines = message_lines(out)
    assert len(lines) == 1, out
    assert ADMIN[0] in lines[0] and "did not match stored password" in lines[0]
    assert "did not retry" in lines[0]
    st = server.stats()
    assert st["failed_logins"] == 1 and login_posts(server) == 1
    assert_untouched(m)


def throttle(server, username, n=10):
    for _ in range(n):
        r = server.request("POST", "/api/session", json_body={"username": username, "password": WRONG})
        assert r.status == 401


def test_throttled_login_at_mount_exits_without_retrying(server, tmp_path):
    throttle(server, ADMIN[0])
    server.reset()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
    env.update(MBFS_USERNAME=ADMIN[0], MBFS_PASSWORD=ADMIN[1],
               XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    # daemon mode (no -f): the verdict still reaches the terminal and the exit status
    p = subprocess.run([mbfs_binary(), server.url, str(mnt)], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    assert p.returncode != 0
    err = p.stderr.decode()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Too many attempts!" in lines[0] and "did not retry" in lines[0]
    st = server.stats()
    assert st["throttled_logins"] == 1 and login_posts(server) == 1
    assert not os.path.ismount(str(mnt)) and os.listdir(str(mnt)) == []


def test_throttled_login_after_mount_is_not_retried(server, mount_factory):
    m = mount_factory(server.url)
    names = sorted(n for n in os.listdir(m.p("cards")) if not n.endswith(".sql"))   # .sql: no request
    read(m.p("cards", "1.csv"))
    throttle(server, ADMIN[0])
    server.expire_sessions()
    server.reset()
    for n in names[2:22]:
        with pytest.raises(OSError) as e:
            read(m.p("cards", n))
        assert e.value.errno == errno.EACCES
    st = server.stats()
    assert login_posts(server) == 1 and st["throttled_logins"] == 1
    log = m.log_text()
    errs = [ln for ln in log_lines(log, "error") if "Too many attempts!" in ln]
    assert len(errs) == 1 and "will not retry" in errs[0]
    assert log.count("Too many attempts!") == 1
    assert "auth_state throttled" in read(m.p(".mbfs", "status")).decode()


# ---- API keys and session tokens ----------------------------------------------------

def new_key():
    return "mb_test_" + uuid.uuid4().hex


def test_api_key_mount_and_revocation(server, mount_factory):
    key = new_key()
    server.add_api_key(key)
    if server.behaviour == "old":
        # v0.46 has no API keys: refused at mount, with the reason
        rc, out, m = failing_mount(mount_factory, server.url, env={"MBFS_API_KEY": key})
        assert rc != 0
        lines = message_lines(out)
        assert len(lines) == 1 and "no API keys" in lines[0] and "v0.49" in lines[0]
        assert key not in out
        assert_untouched(m)
        return
    m = mount_factory(server.url, env={"MBFS_API_KEY": key})
    token = server.login()
    assert read(m.p("cards", "1.csv")) == server.export("card", 1, "csv", token)
    status = read(m.p(".mbfs", "status")).decode()
    assert "auth api-key" in status
    server.reset()
    server.revoke_api_key(key)
    for n in ("2.csv", "3.csv", "4.json"):
        with pytest.raises(OSError) as e:
            read(m.p("cards", n))
        assert e.value.errno == errno.EACCES
    assert logins(server) == 0 and login_posts(server) == 0   # no silent fallback
    errs = [ln for ln in log_lines(m.log_text(), "error") if "API key was rejected" in ln]
    assert len(errs) == 1 and "wrong or has been revoked" in errs[0]
    assert "wrong or has been revoked" in os.getxattr(m.p("cards", "2.csv"), "user.mb.error").decode()


def test_unknown_api_key_at_mount_is_a_clear_error(server, mount_factory, tmp_path):
    kf = tmp_path / "key"
    kf.write_text(new_key() + "\n")
    kf.chmod(0o600)                                   # secret files: ssh's rules
    rc, out, m = failing_mount(mount_factory, server.url, "api_key_file=" + str(kf), env={})
    assert rc != 0
    lines = message_lines(out)
    assert len(lines) == 1, out
    if server.behaviour == "old":
        assert "no API keys" in lines[0]
    else:
        assert "API key was rejected" in lines[0] and "wrong or has been revoked" in lines[0]
    assert login_posts(server) == 0
    assert_untouched(m)


def test_rejected_api_key_falls_back_to_a_given_password(server, mount_factory):
    m = mount_factory(server.url, env={"MBFS_API_KEY": new_key(), "MBFS_USERNAME": ADMIN[0],
                                       "MBFS_PASSWORD": ADMIN[1]})
    read(m.p("cards", "1.csv"))
    assert logins(server) == 1
    assert "auth password" in read(m.p(".mbfs", "status")).decode()
    warn = [ln for ln in log_lines(m.log_text(), "warn") if "password login" in ln]
    assert len(warn) == 1
    if server.behaviour == "old":
        assert "no API keys" in warn[0]
    else:
        assert "API key was rejected" in warn[0]


def test_session_token_mount_and_expiry(server, mount_factory, tmp_path):
    token = server.login()
    server.reset()
    tf = tmp_path / "session"
    tf.write_text(token + "\n")
    tf.chmod(0o600)                                   # secret files: ssh's rules
    m = mount_factory(server.url, "session_file=" + str(tf), env={})
    assert read(m.p("cards", "1.csv")) == server.export("card", 1, "csv", token)
    assert "auth session" in read(m.p(".mbfs", "status")).decode()
    assert logins(server) == 0
    server.expire_sessions()
    with pytest.raises(OSError) as e:
        read(m.p("cards", "2.csv"))
    assert e.value.errno == errno.EACCES
    assert login_posts(server) == 0
    errs = [ln for ln in log_lines(m.log_text(), "error") if "session token was rejected" in ln]
    assert len(errs) == 1 and "expired" in errs[0]


def test_rejected_session_token_at_mount_is_a_clear_error(server, mount_factory):
    rc, out, m = failing_mount(mount_factory, server.url, env={"MBFS_SESSION": str(uuid.uuid4())})
    assert rc != 0
    lines = message_lines(out)
    assert len(lines) == 1 and "session token was rejected" in lines[0], out
    assert login_posts(server) == 0
    assert_untouched(m)


def test_env_session_token_and_password_fall_back(server, mount_factory):
    m = mount_factory(server.url, env={"MBFS_SESSION": str(uuid.uuid4()),
                                       "MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": ADMIN[1]})
    read(m.p("cards", "1.csv"))
    assert logins(server) == 1
    assert any("session token was rejected" in ln and "falling back" in ln
               for ln in log_lines(m.log_text(), "warn"))


# ---- credential sources ---------------------------------------------------------------

def test_secrets_on_the_command_line_are_refused(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
    for argv in ([mbfs_binary(), "http://127.0.0.1:9", str(mnt), "-o", "password=hunter2-secret"],
                 [mbfs_binary(), "http://127.0.0.1:9", str(mnt), "-o", "api_key=hunter2-secret"],
                 [mbfs_binary(), "http://127.0.0.1:9", str(mnt), "-o", "session=hunter2-secret"],
                 [mbfs_binary(), "http://admin:hunter2-secret@127.0.0.1:9/", str(mnt)]):
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        assert p.returncode != 0
        out = p.stdout.decode() + p.stderr.decode()
        assert "not accepted" in out
        assert "hunter2-secret" not in out


def test_config_file_is_refused_when_others_can_read_it(server, mount_factory, tmp_path):
    cfg_home = tmp_path / "xdg-config"
    (cfg_home / "mbfs").mkdir(parents=True)
    cfg = cfg_home / "mbfs" / "config"
    cfg.write_text("# mbfs config\nurl = %s\nusername = %s\npassword = %s\n"
                   % (server.url, ADMIN[0], ADMIN[1]))
    cfg.chmod(0o640)
    rc, out, m = failing_mount(mount_factory, None, env={"XDG_CONFIG_HOME": str(cfg_home)})
    assert rc != 0
    lines = message_lines(out)
    assert len(lines) == 1 and "readable by group or others" in lines[0] and str(cfg) in lines[0]
    assert ADMIN[1] not in out
    assert login_posts(server) == 0
    cfg.chmod(0o600)
    m = mount_factory(None, env={"XDG_CONFIG_HOME": str(cfg_home)})
    read(m.p("cards", "1.csv"))
    assert logins(server) == 1


def test_password_file_and_environment_sources(server, mount_factory, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(ADMIN[1] + "\n")
    pw.chmod(0o600)                                   # secret files: ssh's rules
    m = mount_factory(server.url, "password_file=" + str(pw), "username=" + ADMIN[0], env={})
    assert ADMIN[0] in read(m.p(".mbfs", "status")).decode()
    # a password without a username is a clear error
    rc, out, _ = failing_mount(mount_factory, server.url, "password_file=" + str(pw), env={})
    assert rc != 0 and "no username" in message_lines(out)[0]
    # nothing at all, stdin not a terminal: says how to give credentials
    rc, out, _ = failing_mount(mount_factory, server.url, env={})
    assert rc != 0
    assert "MBFS_API_KEY" in message_lines(out)[0] and "MBFS_PASSWORD" in message_lines(out)[0]


def _read_until(fd_or_path, needle, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(fd_or_path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        if needle in data:
            return data
        time.sleep(0.05)
    raise AssertionError("%r never appeared in:\n%s" % (needle, data))


def _drain(fd):
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode("utf-8", "replace")


def test_prompt_on_a_terminal_without_echo(server, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    log_path = tmp_path / "mbfs.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBFS_")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    master, slave = pty.openpty()
    log = open(log_path, "wb")
    # stdin is the terminal; the prompts go to stderr (here: the log file)
    proc = subprocess.Popen([mbfs_binary(), server.url, str(mnt), "-f", "-o", "log_level=debug"],
                            env=env, stdin=slave, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    os.close(slave)
    try:
        _read_until(log_path, "Metabase username (e-mail) for %s: " % server.url)
        os.write(master, (ADMIN[0] + "\n").encode())
        _read_until(log_path, "Password for %s at %s: " % (ADMIN[0], server.url))
        os.write(master, (ADMIN[1] + "\n").encode())
        deadline = time.monotonic() + 20
        while not os.path.ismount(str(mnt)):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "auth password" in read(os.path.join(str(mnt), ".mbfs", "status")).decode()
        echoed = _drain(master)
        assert ADMIN[0] in echoed                       # the username is echoed (control)
        assert ADMIN[1] not in echoed                   # the password is not
        assert ADMIN[1] not in log_path.read_text()
        assert logins(server) == 1
    finally:
        if os.path.ismount(str(mnt)):
            subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.close(master)
    assert proc.returncode == 0


# ---- secrets hygiene ---------------------------------------------------------------------

def everything_mbfs_shows(m, sample):
    """Log, every .mbfs/ file, every xattr of the sample, cmdline: one string."""
    parts = [m.log_text()]
    if os.path.ismount(m.path):
        for n in os.listdir(m.p(".mbfs")):
            parts.append(read(m.p(".mbfs", n)).decode("utf-8", "replace"))
        for rel in sample:
            p = m.p(*rel)
            try:
                names = os.listxattr(p)
            except PermissionError:
                continue        # not listed before the credentials went bad
            for name in names:
                parts.append(name)
                parts.append(os.getxattr(p, name).decode("utf-8", "replace"))
        with open("/proc/%d/cmdline" % m.proc.pid, "rb") as f:
            parts.append(f.read().decode("utf-8", "replace"))
        with open("/proc/mounts") as f:
            parts.append("".join(ln for ln in f if m.path in ln))
    return "\n".join(parts)


def test_no_secret_in_logs_status_xattrs_or_cache_names(server, mount_factory, tmp_path):
    password = "pw-" + uuid.uuid4().hex
    server.set_password(ADMIN[0], password)
    key = new_key()
    server.add_api_key(key)
    cache = str(tmp_path / "cache")
    secrets = {password, key}
    seen = []
    sample = [("cards", "1.csv"), ("cards", "2.json"), ("collections", "Sales", "Revenue.csv"),
              ("collections", "Ops ／ Finance", "Broken SQL.csv"), ("cards",), (".mbfs", "status")]

    def exercise(m):
        for rel in sample[:3]:
            read(m.p(*rel))
        with pytest.raises(OSError):
            read(m.p(*sample[3]))                        # a failed export: user.mb.error
        subprocess.run(["ls", "-lR", m.path], stdout=subprocess.DEVNULL, check=False)

    # password login at debug level with FUSE debug output (-d), a forced re-login
    env = {"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": password}
    m = mount_factory(server.url, cache_dir=cache, env=env, args=["-d"])
    exercise(m)
    secrets.add(cached_token(cache))
    server.expire_sessions()
    read(m.p("cards", "3.csv"))
    secrets.add(cached_token(cache))
    seen.append(everything_mbfs_shows(m, sample))
    m.unmount()
    seen.append(m.log_text())

    # a remount that reuses the cached session
    m = mount_factory(server.url, cache_dir=cache, env=env, args=["-d"])
    exercise(m)
    seen.append(everything_mbfs_shows(m, sample))

    # a given session token, then rejected
    token = server.login(password=password)
    secrets.add(token)
    m = mount_factory(server.url, env={"MBFS_SESSION": token}, args=["-d"])
    exercise(m)
    server.expire_sessions()
    with pytest.raises(OSError):
        read(m.p("cards", "4.csv"))
    seen.append(everything_mbfs_shows(m, sample + [("cards", "4.csv")]))

    # an API key (refused at mount by old servers), then revoked
    if server.behaviour == "new":
        m = mount_factory(server.url, env={"MBFS_API_KEY": key}, args=["-d"])
        exercise(m)
        server.revoke_api_key(key)
        with pytest.raises(OSError):
            read(m.p("cards", "5.csv"))
        seen.append(everything_mbfs_shows(m, sample + [("cards", "5.csv")]))
    else:
        rc, out, _ = failing_mount(mount_factory, server.url, env={"MBFS_API_KEY": key}, args=["-d"])
        assert rc != 0
        seen.append(out)

    # refused logins: at mount, and after mount (the password changes on the server)
    rc, out, _ = failing_mount(mount_factory, server.url, args=["-d"],
                               env={"MBFS_USERNAME": ADMIN[0], "MBFS_PASSWORD": password + "x"})
    assert rc != 0
    seen.append(out)
    secrets.add(password + "x")
    pw = tmp_path / "pw"
    pw.write_text(password + "\n")
    pw.chmod(0o600)                                   # secret files: ssh's rules
    m = mount_factory(server.url, "password_file=" + str(pw), env={"MBFS_USERNAME": ADMIN[0]},
                      cache_dir=str(tmp_path / "cache2"), args=["-d"])
    read(m.p("cards", "1.csv"))
    secrets.add(cached_token(str(tmp_path / "cache2")))
    server.set_password(ADMIN[0], "other-" + password)
    secrets.add("other-" + password)
    server.expire_sessions()
    with pytest.raises(OSError):
        read(m.p("cards", "6.csv"))
    seen.append(everything_mbfs_shows(m, sample + [("cards", "6.csv")]))

    # names in the cache directory (the session file's content is the token itself)
    for root in (cache, str(tmp_path / "cache2")):
        for dirpath, dirs, files in os.walk(root):
            seen.append("\n".join([dirpath] + dirs + files))

    corpus = "\n".join(seen)
    assert "unique:" in corpus                          # FUSE's -d output is in there
    for s in secrets:
        assert s and s not in corpus, "a secret leaked"


# ---- TLS -------------------------------------------------------------------------------------

class TLSProxy:
    """HTTPS in front of the fake server: TLS terminated here, bytes piped through."""

    def __init__(self, target, cert, key):
        self.target = target
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.handshake_failures = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(30)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            conn.close()
            return
        up = socket.create_connection(self.target, timeout=30)
        try:
            while not self.stopping:
                ready = [tls] if tls.pending() else select.select([tls, up], [], [], 1.0)[0]
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is tls else tls).sendall(data)
        except OSError:
            return
        finally:
            for s in (tls, up):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)


def test_tls_verification_cafile_and_insecure(server, mount_factory, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl command not installed")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    proxy = TLSProxy((server.host, server.port), cert, key)
    try:
        url = "https://127.0.0.1:%d" % proxy.port
        rc, out, m = failing_mount(mount_factory, url)
        assert rc != 0
        lines = message_lines(out)
        assert len(lines) == 1, out
        assert "certificate" in lines[0] and "-o cafile=" in lines[0] and "-o insecure" in lines[0]
        assert proxy.handshake_failures >= 1
        assert login_posts(server) == 0                 # no password went over the untrusted link
        assert_untouched(m)

        token = server.login()
        want = server.export("card", 1, "csv", token)
        m = mount_factory(url, "cafile=" + cert)
        assert read(m.p("cards", "1.csv")) == want
        assert "cafile" in read(m.p(".mbfs", "status")).decode()
        m.unmount()

        m = mount_factory(url, "insecure")
        assert read(m.p("cards", "1.csv")) == want
        assert any("verification is off" in ln for ln in log_lines(m.log_text(), "warn"))
        m.unmount()
    finally:
        proxy.stop()


# ---- versions ----------------------------------------------------------------------------------

def test_status_shows_the_version_and_the_choices_made(server, mount_factory):
    m = mount_factory(server.url)
    status = read(m.p(".mbfs", "status")).decode()
    tag = server.catalog()["version"]["tag"]
    assert "version %s\n" % tag in status
    old = server.behaviour == "old"
    expect = {
        "api_keys": "no" if old else "yes",
        "dashboard_cards_key": "ordered_cards" if old else "dashcards",
        "card_kind_field": "dataset" if old else "type",
        "dashboard_questions": "no" if old else "yes",
        "dataset_query": "mbql4" if old else "mbql5",
        "card_query": "as-is" if old else "legacy-mbql",
        "export_failure": "in-band-json" if old else "status-then-abort",
    }
    caps = [ln for ln in status.splitlines() if ln.startswith("caps ")]
    assert len(caps) == 1
    got = dict(kv.split("=", 1) for kv in caps[0].split()[1:])
    for k, v in expect.items():
        assert got.get(k) == v, (k, status)
    assert "items_params" not in got  # no request sends collection-items parameters
    # the version-dependent request spellings are accepted by the server:
    # collection listings and card metadata worked, nothing was a 400
    os.listdir(m.p("collections", "Sales"))
    assert m.log_text().count("HTTP 400") == 0
