# test_queries.py — your own questions: queries/<database>/ (DESIGN.md §1),
# through a real mount, both server behaviours.
#
#   - queries/ shows one directory per database the user may query
#     natively, named as under databases/; listing runs no export;
#   - NAME.sql written with echo, cat, cp, mv, touch, truncate, vim (swap
#     files, backup files, its 4913 write test, backupcopy=no/yes/auto) and
#     nano; after every change NAME.csv/.json hold exactly the bytes of the
#     server's export of the new SQL (same-size changes included);
#   - rename and unlink; names that are not allowed (EPERM), mkdir (EPERM),
#     cross-directory rename (EXDEV), the 1 MiB cap (EFBIG);
#   - persistence across a remount on the same cache directory, and
#     isolation between two Metabase users;
#   - a SQL error (EIO, size 0, user.mb.error, .mbfs/errors) and a
#     missing native permission (EACCES with the server's text);
#   - a reader of an old result keeps its bytes while the SQL changes.

import errno
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from fakeserver import ADMIN, ANALYST
from conftest import read

ANALYST_ENV = {"MBFS_USERNAME": ANALYST[0], "MBFS_PASSWORD": ANALYST[1]}
SAMPLE = "Sample Database"
MiB = 1 << 20

SQL_A = "SELECT ID, TITLE, PRICE FROM PUBLIC.PRODUCTS ORDER BY ID LIMIT 5"
SQL_B = "SELECT ID, EMAIL FROM PUBLIC.PEOPLE WHERE ID < 4 ORDER BY ID"


def gone(path, timeout=2.0):
    """stat(path) fails with ENOENT, at once or once the notifier's
    invalidation of the kernel's cached name lands (it cannot be sent while
    the rename that dropped it still holds the directory's lock, so it is
    asynchronous: milliseconds, longer on a loaded machine)."""
    end = time.monotonic() + timeout
    while True:
        try:
            os.stat(path)
        except FileNotFoundError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.01)


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def qdir(m, db=SAMPLE):
    return m.p("queries", db)


def xattr(path, name):
    try:
        return os.getxattr(path, name).decode()
    except OSError:
        return None


def native_exports(fake):
    ex = fake.stats()["exports"]
    return sum(v for k, v in ex.items() if k.startswith("dataset:native:"))


def mbfs_exports(m):
    """Exports this mount ran (its own counter, not the server's)."""
    for line in read(m.p(".mbfs", "stats")).decode().splitlines():
        if line.startswith("exports_started "):
            return int(line.split()[1])
    raise AssertionError("no exports_started in .mbfs/stats")


@pytest.fixture(scope="module")
def token(fake):
    return fake.login(*ADMIN)


def expected(fake, token, sql, fmt, db=1):
    return fake.export("dataset", (db, sql), fmt, token)


def check(fake, token, d, name, sql, db=1, fmts=("csv", "json")):
    """NAME.sql holds sql, and NAME.<fmt> exactly the server's export of it."""
    assert read(os.path.join(d, name + ".sql")).decode() == sql
    for fmt in fmts:
        path = os.path.join(d, "%s.%s" % (name, fmt))
        want = expected(fake, token, sql, fmt, db)
        with open(path, "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(want), (name, fmt)
            assert f.read() == want, (name, fmt, sql)
        assert os.stat(path).st_size == len(want), (name, fmt)


def sh(cmd, cwd, **kw):
    return subprocess.run(cmd, shell=True, cwd=cwd, check=True, capture_output=True, **kw)


# ---- layout ------------------------------------------------------------------------

def test_layout_and_listing_runs_nothing(fake, token, mount_factory):
    m = mount_factory(fake.url)
    assert sorted(os.listdir(m.p("queries"))) == sorted(os.listdir(m.p("databases")))
    assert set(os.listdir(m.p("queries"))) == {SAMPLE, "Warehouse", "Empty Lake"}
    d = qdir(m)
    assert os.listdir(d) == []
    st = os.stat(d)
    assert st.st_mode & 0o200, "queries/<db>/ is writable"
    assert xattr(d, "user.mb.id") == "1"
    write(os.path.join(d, "top.sql"), SQL_A)
    assert sorted(os.listdir(d)) == ["top.csv", "top.json", "top.sql"]
    before = native_exports(fake)
    for _ in range(2):
        subprocess.run(["ls", "-la", d], check=True, capture_output=True)
        os.listdir(d)
    assert native_exports(fake) == before, "a listing ran an export"
    want = {fmt: expected(fake, token, SQL_A, fmt) for fmt in ("csv", "json")}
    before = native_exports(fake)
    for fmt in ("csv", "json"):   # one export per file
        with open(os.path.join(d, "top." + fmt), "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(want[fmt])
            assert f.read() == want[fmt]
    assert native_exports(fake) == before + 2
    assert xattr(os.path.join(d, "top.csv"), "user.mb.database_id") == "1"
    rev = xattr(os.path.join(d, "top.csv"), "user.mb.revision")
    assert rev and rev == xattr(os.path.join(d, "top.sql"), "user.mb.revision")
    assert xattr(os.path.join(d, "top.csv"), "user.mb.rows") == "5"
    # the analyst: database 2 unreadable, database 3 without native SQL
    a = mount_factory(fake.url, env=ANALYST_ENV)
    assert os.listdir(a.p("queries")) == [SAMPLE]


def test_xlsx_with_formats_option(fake, token, mount_factory):
    m = mount_factory(fake.url, "formats=csv:json:xlsx")
    d = qdir(m, "Warehouse")
    sql = "SELECT * FROM analytics.events ORDER BY 1 LIMIT 7"
    write(os.path.join(d, "ev.sql"), sql)
    assert sorted(os.listdir(d)) == ["ev.csv", "ev.json", "ev.sql", "ev.xlsx"]
    check(fake, token, d, "ev", sql, db=2, fmts=("csv", "json", "xlsx"))


# ---- tools ---------------------------------------------------------------------------

def test_shell_tools(fake, token, mount_factory, tmp_path):
    m = mount_factory(fake.url)
    d = qdir(m)
    # echo >
    sh("echo 'SELECT 1 AS one' > top.sql", d)
    check(fake, token, d, "top", "SELECT 1 AS one\n")
    # a same-size change
    sh("echo 'SELECT 2 AS one' > top.sql", d)
    check(fake, token, d, "top", "SELECT 2 AS one\n")
    # cat > (from stdin)
    subprocess.run("cat > top.sql", shell=True, cwd=d, input=SQL_A.encode(), check=True)
    check(fake, token, d, "top", SQL_A)
    # cp from outside the mount, over an existing file
    src = tmp_path / "b.sql"
    src.write_text(SQL_B)
    sh("cp %s top.sql" % src, d)
    check(fake, token, d, "top", SQL_B)
    # cp inside the mount: a new file
    sh("cp top.sql copy.sql", d)
    check(fake, token, d, "copy", SQL_B)
    # touch creates an empty file; >> appends
    sh("touch new.sql", d)
    assert os.path.getsize(os.path.join(d, "new.sql")) == 0
    assert "new.csv" in os.listdir(d)
    sh("printf 'SELECT 3 ' >> new.sql && printf 'AS three' >> new.sql", d)
    check(fake, token, d, "new", "SELECT 3 AS three")
    # touch of an existing file keeps its text (and its results)
    sh("touch new.sql", d)
    check(fake, token, d, "new", "SELECT 3 AS three")
    # truncate(1), then a write at an offset
    sh("truncate -s 9 new.sql", d)
    assert read(os.path.join(d, "new.sql")) == b"SELECT 3 "
    with open(os.path.join(d, "new.sql"), "r+") as f:
        f.seek(7)
        f.write("4 AS four")
    check(fake, token, d, "new", "SELECT 4 AS four")
    # mv from outside the mount (a copy and an unlink for mv)
    src2 = tmp_path / "moved.sql"
    src2.write_text("SELECT 5 AS five")
    sh("mv %s moved.sql" % src2, d)
    check(fake, token, d, "moved", "SELECT 5 AS five")
    assert not src2.exists()
    # a write temp file, then a rename over the SQL file
    sh("printf 'SELECT 6 AS six' > top.sql~ && mv top.sql~ top.sql", d)
    check(fake, token, d, "top", "SELECT 6 AS six")
    assert "top.sql~" not in os.listdir(d)
    # rm
    sh("rm copy.sql moved.sql", d)
    assert sorted(os.listdir(d)) == ["new.csv", "new.json", "new.sql", "top.csv", "top.json", "top.sql"]


def test_rename_and_unlink(fake, token, mount_factory):
    m = mount_factory(fake.url)
    d = qdir(m)
    a, b = os.path.join(d, "a.sql"), os.path.join(d, "b.sql")
    write(a, SQL_A)
    write(b, SQL_B)
    check(fake, token, d, "a", SQL_A)
    check(fake, token, d, "b", SQL_B)
    with open(os.path.join(d, "b.csv"), "rb") as old_b:
        # rename onto b: b.* now run a's SQL; a.* are gone
        os.rename(a, b)
        assert sorted(os.listdir(d)) == ["b.csv", "b.json", "b.sql"]
        for ext in ("sql", "csv", "json"):
            assert gone(os.path.join(d, "a." + ext))
        check(fake, token, d, "b", SQL_A)
        # the old handle of b.csv still reads b's old result
        assert old_b.read() == expected(fake, token, SQL_B, "csv")
    # a rename to a new name
    os.rename(b, os.path.join(d, "c.sql"))
    check(fake, token, d, "c", SQL_A)
    assert sorted(os.listdir(d)) == ["c.csv", "c.json", "c.sql"]
    # not allowed: a name that is neither .sql nor a temp name; a data file;
    # another database's directory
    for bad in ("c.txt", "c.csv", "c"):
        with pytest.raises(PermissionError):
            os.rename(os.path.join(d, "c.sql"), os.path.join(d, bad))
    with pytest.raises(PermissionError):
        os.rename(os.path.join(d, "c.csv"), os.path.join(d, "d.sql"))
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(d, "c.sql"), os.path.join(qdir(m, "Warehouse"), "c.sql"))
    assert e.value.errno == errno.EXDEV
    # unlink
    os.unlink(os.path.join(d, "c.sql"))
    assert os.listdir(d) == []
    with pytest.raises(FileNotFoundError):
        read(os.path.join(d, "c.csv"))
    with pytest.raises(FileNotFoundError):
        os.unlink(os.path.join(d, "c.sql"))


def test_not_allowed(fake, mount_factory):
    m = mount_factory(fake.url)
    d = qdir(m)
    for name in ("notes.txt", "top.csv", "top.json", "top", "top.SQL", ".sql"):
        with pytest.raises(PermissionError):
            write(os.path.join(d, name), "x")
    with pytest.raises(PermissionError):
        os.mkdir(os.path.join(d, "sub"))
    with pytest.raises(PermissionError):
        os.mkdir(m.p("queries", "New database"))
    with pytest.raises(PermissionError):
        write(m.p("queries", "loose.sql"), "SELECT 1")
    with pytest.raises(OSError) as e:
        write(os.path.join(d, "x" * 251 + ".sql"), "SELECT 1")   # x.xlsx would not fit
    assert e.value.errno == errno.ENAMETOOLONG
    write(os.path.join(d, "x" * 250 + ".sql"), "SELECT 1")
    # outside queries/ everything stays read-only
    with pytest.raises(OSError) as e:
        os.mkdir(m.p("cards", "x"))
    assert e.value.errno == errno.EROFS
    with pytest.raises(OSError) as e:
        write(m.p("cards", "x.sql"), "SELECT 1")
    assert e.value.errno == errno.EROFS
    # data files cannot be written or removed
    write(os.path.join(d, "top.sql"), "SELECT 1 AS x")
    with pytest.raises(PermissionError):
        write(os.path.join(d, "top.csv"), "x")
    with pytest.raises(PermissionError):
        os.unlink(os.path.join(d, "top.csv"))
    with pytest.raises(PermissionError):
        os.truncate(os.path.join(d, "top.csv"), 0)


def test_size_cap(fake, token, mount_factory):
    m = mount_factory(fake.url)
    d = qdir(m)
    p = os.path.join(d, "big.sql")
    head = "SELECT 42 AS answer\n-- "
    sql = head + "x" * (MiB - len(head) - 1) + "\n"
    assert len(sql) == MiB
    write(p, sql)                                 # exactly 1 MiB: fine
    assert os.path.getsize(p) == MiB
    assert read(os.path.join(d, "big.csv")) == expected(fake, token, sql, "csv")
    with pytest.raises(OSError) as e:
        with open(p, "a") as f:
            f.write("y")
    assert e.value.errno == errno.EFBIG
    with pytest.raises(OSError) as e:
        os.truncate(p, MiB + 1)
    assert e.value.errno == errno.EFBIG
    with pytest.raises(OSError) as e:
        write(p, "z" * (MiB + 10))
    assert e.value.errno == errno.EFBIG
    assert os.path.getsize(p) <= MiB


def test_temp_files_are_kept_in_memory_and_never_run(fake, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    m = mount_factory(fake.url, cache_dir=cache)
    d = qdir(m)
    write(os.path.join(d, "real.sql"), "SELECT 1 AS x")
    temps = ["4913", "real.sql~", ".real.sql.swp", ".real.sql.swx", "#real.sql#"]
    for t in temps:
        write(os.path.join(d, t), "SELECT 99 AS never")
        assert read(os.path.join(d, t)) == b"SELECT 99 AS never"
    assert sorted(os.listdir(d)) == sorted(temps + ["real.csv", "real.json", "real.sql"])
    before = native_exports(fake)
    os.listdir(d)
    for t in temps:
        assert not os.path.exists(os.path.join(d, t + ".csv"))
    assert native_exports(fake) == before
    os.unlink(os.path.join(d, "4913"))
    # vim's write test, as vim does it: may it create a file here that
    # gets the original's owner and mode?
    orig = os.stat(os.path.join(d, "real.sql"))
    fd = os.open(os.path.join(d, "4913"), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 orig.st_mode & 0o7777)
    os.fchown(fd, orig.st_uid, orig.st_gid)
    st = os.stat(os.path.join(d, "4913"))
    os.close(fd)
    assert (st.st_uid, st.st_gid, st.st_mode) == (orig.st_uid, orig.st_gid, orig.st_mode)
    os.unlink(os.path.join(d, "4913"))
    with pytest.raises(PermissionError):
        os.chown(os.path.join(d, "real.sql"), orig.st_uid + 1, -1)
    os.chmod(os.path.join(d, "real.sql"), 0o600)
    assert os.stat(os.path.join(d, "real.sql")).st_mode & 0o7777 == 0o600
    m.unmount()
    m2 = mount_factory(fake.url, cache_dir=cache)
    assert sorted(os.listdir(qdir(m2))) == ["real.csv", "real.json", "real.sql"]
    assert os.stat(os.path.join(qdir(m2), "real.sql")).st_mode & 0o7777 == 0o600


# ---- editors ---------------------------------------------------------------------

def need(program):
    path = shutil.which(program)
    if not path:
        if "1" in (os.environ.get("MBFS_EDITORS_REQUIRED"), os.environ.get("MBFS_CLIENTS_REQUIRED")):
            pytest.fail("%s is not installed (scripts/deps.sh installs it)" % program)
        pytest.skip("%s is not installed (scripts/deps.sh installs it)" % program)
    return path


def vim_edit(d, name, text, backupcopy, listing=None, backup=False):
    """Replace the whole text of name with vim in Ex mode: its swap file in
    the same directory, a backup file beside it (kept with backup=True),
    backupcopy as given. With listing, the directory as vim sees it while
    editing is written there."""
    vim = need("vim")
    cmds = ["set backupcopy=%s writebackup %s backupskip= backupdir=. directory=. swapfile"
            % (backupcopy, "backup" if backup else "nobackup"),
            "%d _"]
    for i, line in enumerate(text.split("\n")):
        cmds.append("call append(%d, %s)" % (i, vim_str(line)))
    cmds.append("$d _")
    if listing:
        cmds.append("silent !ls -a > %s" % listing)
    cmds.append("wq")
    args = [vim, "-u", "NONE", "-i", "NONE", "-N", "-es"]
    for c in cmds:
        args += ["-c", c]
    args.append(name)
    r = subprocess.run(args, cwd=d, capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)


def vim_str(s):
    return "'" + s.replace("'", "''") + "'"


@pytest.mark.parametrize("backupcopy", ["no", "yes", "auto"])
def test_vim(fake, token, mount_factory, tmp_path, backupcopy):
    m = mount_factory(fake.url)
    d = qdir(m)
    write(os.path.join(d, "top.sql"), SQL_A)
    check(fake, token, d, "top", SQL_A)
    listing = tmp_path / "ls.txt"
    vim_edit(d, "top.sql", SQL_B, backupcopy, listing=str(listing))
    # while vim edited, its swap file was there (and is gone after)
    assert ".top.sql.swp" in listing.read_text().split()
    check(fake, token, d, "top", SQL_B + "\n")
    assert sorted(os.listdir(d)) == ["top.csv", "top.json", "top.sql"]
    # a same-size change
    same = SQL_B.replace("< 4", "< 5")
    vim_edit(d, "top.sql", same, backupcopy)
    check(fake, token, d, "top", same + "\n")
    # with 'backup' the backup stays: a temp file, never run
    vim_edit(d, "top.sql", SQL_A, backupcopy, backup=True)
    check(fake, token, d, "top", SQL_A + "\n")
    assert read(os.path.join(d, "top.sql~")) == (same + "\n").encode()
    assert sorted(os.listdir(d)) == ["top.csv", "top.json", "top.sql", "top.sql~"]
    # a new file written by vim
    vim_edit(d, "fresh.sql", "SELECT 10 AS ten", backupcopy)
    check(fake, token, d, "fresh", "SELECT 10 AS ten\n")


def nano_edit(d, name, text, locking=False):
    """Replace the whole text of name with nano on a pseudo-terminal:
    mark from the first line, cut to the end, type, ^O, Enter, ^X."""
    nano = need("nano")
    args = [nano, "--ignorercfiles", "--nohelp"] + (["--locking"] if locking else []) + [name]
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(d)
        os.environ["TERM"] = "xterm"
        try:
            os.execv(nano, args)
        finally:
            os._exit(127)
    screen = b""

    def drain(t):
        nonlocal screen
        end = time.monotonic() + t
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    return

    try:
        drain(1.0)
        for keys in (b"\x1b\\", b"\x1e", b"\x1b/", b"\x0b", text.encode(), b"\x0f"):
            os.write(fd, keys)
            drain(0.3)
        os.write(fd, b"\r")
        drain(0.8)
        os.write(fd, b"\x18")
        drain(0.5)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("nano did not exit; screen: %r" % screen[-2000:])
            drain(0.1)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, screen[-2000:]
    finally:
        os.close(fd)


@pytest.mark.parametrize("locking", [False, True])
def test_nano(fake, token, mount_factory, locking):
    m = mount_factory(fake.url)
    d = qdir(m)
    write(os.path.join(d, "top.sql"), SQL_A)
    check(fake, token, d, "top", SQL_A)
    nano_edit(d, "top.sql", SQL_B, locking)
    check(fake, token, d, "top", SQL_B + "\n")
    same = SQL_B.replace("< 4", "< 5")
    nano_edit(d, "top.sql", same, locking)
    check(fake, token, d, "top", same + "\n")
    assert sorted(os.listdir(d)) == ["top.csv", "top.json", "top.sql"]


# ---- persistence and users ------------------------------------------------------------

def test_persistence_and_users(fake, token, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    m = mount_factory(fake.url, cache_dir=cache)
    d = qdir(m)
    write(os.path.join(d, "keep.sql"), SQL_A)
    write(os.path.join(qdir(m, "Warehouse"), "wh.sql"), "SELECT COUNT(*) AS n FROM analytics.events")
    write(os.path.join(d, "gone.sql"), SQL_B)
    os.unlink(os.path.join(d, "gone.sql"))
    check(fake, token, d, "keep", SQL_A)
    rev = xattr(os.path.join(d, "keep.sql"), "user.mb.revision")
    m.unmount()
    # the same user on the same cache directory: the files, their
    # revisions, and the cached results (no new export)
    m2 = mount_factory(fake.url, cache_dir=cache)
    d2 = qdir(m2)
    assert sorted(os.listdir(d2)) == ["keep.csv", "keep.json", "keep.sql"]
    assert xattr(os.path.join(d2, "keep.sql"), "user.mb.revision") == rev
    before = mbfs_exports(m2)
    check(fake, token, d2, "keep", SQL_A)
    assert mbfs_exports(m2) == before
    check(fake, token, qdir(m2, "Warehouse"), "wh", "SELECT COUNT(*) AS n FROM analytics.events", db=2)
    # a change after the remount gets a revision never used before
    write(os.path.join(d2, "keep.sql"), SQL_B)
    assert int(xattr(os.path.join(d2, "keep.sql"), "user.mb.revision")) > int(rev)
    check(fake, token, d2, "keep", SQL_B)
    m2.unmount()
    # another Metabase user on the same cache directory sees none of it
    a = mount_factory(fake.url, cache_dir=cache, env=ANALYST_ENV)
    assert os.listdir(qdir(a)) == []
    write(os.path.join(qdir(a), "mine.sql"), "SELECT 7 AS seven")
    a.unmount()
    m3 = mount_factory(fake.url, cache_dir=cache)
    assert sorted(os.listdir(qdir(m3))) == ["keep.csv", "keep.json", "keep.sql"]
    check(fake, token, qdir(m3), "keep", SQL_B)
    m3.unmount()
    a2 = mount_factory(fake.url, cache_dir=cache, env=ANALYST_ENV)
    assert sorted(os.listdir(qdir(a2))) == ["mine.csv", "mine.json", "mine.sql"]
    analyst = fake.login(*ANALYST)
    assert read(os.path.join(qdir(a2), "mine.csv")) == expected(fake, analyst, "SELECT 7 AS seven", "csv")
    # on disk: 0700 directories, the index and the text; nothing else
    qroot = [os.path.join(r, x) for r, ds, fs in os.walk(cache) for x in ds if x == "queries"]
    assert len(qroot) == 1
    for r, ds, fs in os.walk(qroot[0]):
        assert os.stat(r).st_mode & 0o777 == 0o700, r
        for f in fs:
            assert os.stat(os.path.join(r, f)).st_mode & 0o077 == 0, f
            assert not f.startswith("tmp-"), f


# ---- failures ---------------------------------------------------------------------

def test_sql_error(fake, token, mount_factory):
    m = mount_factory(fake.url)
    d = qdir(m)
    write(os.path.join(d, "bad.sql"), "SELEC 1")
    p = os.path.join(d, "bad.csv")
    assert os.stat(p).st_size == 0
    with pytest.raises(OSError) as e:
        read(p)
    assert e.value.errno == errno.EIO
    msg = xattr(p, "user.mb.error")
    assert msg and 'near "SELEC": syntax error' in msg, msg
    assert 'near "SELEC": syntax error' in read(m.p(".mbfs", "errors")).decode()
    # fixing the SQL is a new revision: no waiting for error_ttl
    write(os.path.join(d, "bad.sql"), "SELECT 1 AS fixed")
    check(fake, token, d, "bad", "SELECT 1 AS fixed")
    assert xattr(p, "user.mb.error") is None


def test_no_native_permission(fake, mount_factory):
    # the analyst may read database 3 but not run SQL on it: absent
    a = mount_factory(fake.url, env=ANALYST_ENV)
    assert "Empty Lake" not in os.listdir(a.p("queries"))
    a.unmount()
    # granted at mount time, revoked while mounted: EACCES with the server's text
    fake.set_native(2, 3, True)
    try:
        a = mount_factory(fake.url, env=ANALYST_ENV)
        assert sorted(os.listdir(a.p("queries"))) == ["Empty Lake", SAMPLE]
        d = qdir(a, "Empty Lake")
        write(os.path.join(d, "q.sql"), "SELECT 1 AS x")
        analyst = fake.login(*ANALYST)
        assert read(os.path.join(d, "q.csv")) == expected(fake, analyst, "SELECT 1 AS x", "csv", 3)
        write(os.path.join(d, "q.sql"), "SELECT 2 AS x")
        fake.set_native(2, 3, False)
        p = os.path.join(d, "q.csv")
        assert os.stat(p).st_size == 0
        with pytest.raises(PermissionError):
            read(p)
        msg = xattr(p, "user.mb.error")
        assert msg and "You do not have permissions to run this query." in msg, msg
    finally:
        fake.set_native(2, 3, False)


def test_open_reader_keeps_old_result(fake, token, mount_factory):
    m = mount_factory(fake.url)
    d = qdir(m)
    big = "SELECT * FROM PUBLIC.ORDERS ORDER BY ID LIMIT 3000"
    write(os.path.join(d, "r.sql"), big)
    want_old = expected(fake, token, big, "csv")
    p = os.path.join(d, "r.csv")
    with open(p, "rb") as f:
        first = f.read(len(want_old) // 2)
        # the SQL changes (same size) while the file is open
        same = big.replace("3000", "2999")
        write(os.path.join(d, "r.sql"), same)
        want_new = expected(fake, token, same, "csv")
        assert read(p) == want_new
        assert os.stat(p).st_size == len(want_new)
        assert os.fstat(f.fileno()).st_size == len(want_old)
        rest = f.read()
        assert first + rest == want_old
    assert read(p) == want_new
