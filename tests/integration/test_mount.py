# test_mount.py — mounting as a system administrator does: the fstab line
# `URL MNT fuse.mbfs OPTS 0 0` through mount.fuse3 (what mount(8) runs for
# it) and through mount(8) itself (a temporary fstab file, mount -T), and
# umount; the options mount adds (rw, nosuid, nodev, relatime ...) and the
# fstab-only ones (_netdev, noauto, nofail, user, x-*) must not break mbfs;
# credentials from files; uid=, gid=, umask=, allow_other and
# default_permissions behave as in sshfs.

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import mbfs_binary
from fakeserver import ADMIN, FakeServer

NOBODY = 65534


@pytest.fixture(scope="module")
def fake():
    server = FakeServer(behaviour="new")
    yield server
    server.stop()


@pytest.fixture
def setup():
    """A world-traversable temporary directory with mnt/, a password file,
    and a bin/ that puts this build's mbfs first on PATH (mount.fuse3 runs
    `mbfs URL MOUNTPOINT -o OPTIONS` through /bin/sh)."""
    if shutil.which("mount.fuse3") is None and not os.path.exists("/sbin/mount.fuse3"):
        pytest.skip("mount.fuse3 (package fuse3) is not installed")
    d = tempfile.mkdtemp(prefix="mbfs-mount-")
    os.chmod(d, 0o755)
    s = type("S", (), {})()
    s.dir = d
    s.mnt = os.path.join(d, "mnt")
    os.mkdir(s.mnt)
    s.bin = os.path.join(d, "bin")
    os.mkdir(s.bin)
    os.symlink(os.path.abspath(mbfs_binary()), os.path.join(s.bin, "mbfs"))
    s.pw = os.path.join(d, "password")
    with open(s.pw, "w") as f:
        f.write(ADMIN[1] + "\n")
    os.chmod(s.pw, 0o600)
    s.cache = os.path.join(d, "cache")
    s.env = {k: v for k, v in os.environ.items() if not k.startswith(("MBFS_", "XDG_"))}
    s.env["PATH"] = s.bin + ":" + s.env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    s.env["HOME"] = d
    yield s
    if os.path.ismount(s.mnt):
        subprocess.run(["fusermount3", "-u", s.mnt], check=False)
    wait_daemon_gone(s.mnt, 10)
    shutil.rmtree(d, ignore_errors=True)


def daemons(mnt):
    """PIDs of mbfs processes serving mnt (found by their command line)."""
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


def wait_daemon_gone(mnt, timeout):
    deadline = time.monotonic() + timeout
    while daemons(mnt) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not daemons(mnt)


def sh(cmd, env, check=True):
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    if check:
        assert p.returncode == 0, "%r: %s\n%s" % (cmd, p.out, p.err)
    return p


def fstab_opts(s, *extra):
    return ",".join(["_netdev", "noauto", "nofail", "username=" + ADMIN[0],
                     "password_file=" + s.pw, "cache_dir=" + s.cache] + list(extra))


def check_mounted_and_unmount(fake, s, umount_cmd):
    # the command returned: mbfs has daemonized, so the mount already answers
    assert os.path.ismount(s.mnt)
    assert len(daemons(s.mnt)) == 1
    with open("/proc/self/mountinfo") as f:
        line = next(l for l in f if " %s " % s.mnt in l)
    assert "fuse.mbfs" in line and fake.url in line
    sales = os.listdir(os.path.join(s.mnt, "collections", "Sales"))
    assert "Revenue.csv" in sales and "Revenue.xlsx" in sales and "Revenue.json" not in sales
    with open(os.path.join(s.mnt, "collections", "Ops ／ Finance", "Edge cases.csv"), "rb") as f:
        assert f.read().startswith(b"ID,TEXT,AMOUNT,QTY,NOTE\n")
    sh(umount_cmd, s.env)
    assert not os.path.ismount(s.mnt)
    assert wait_daemon_gone(s.mnt, 10), "mbfs did not exit after unmounting"


def test_fstab_through_mount_fuse3(fake, setup):
    """What mount(8) runs for the fstab line `URL MNT fuse.mbfs OPTS 0 0`:
    mount.fuse3 URL MNT -o OPTS -t fuse.mbfs, which runs `mbfs URL MNT -o
    OPTS` through /bin/sh (this build's mbfs, first on PATH)."""
    s = setup
    helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    sh([helper, fake.url, s.mnt, "-o", fstab_opts(s, "formats=csv:xlsx"), "-t", "fuse.mbfs"], s.env)
    check_mounted_and_unmount(fake, s, ["umount", s.mnt])


SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_fstab_line_through_mount8(fake, setup):
    """A real fstab line (a temporary fstab file, mount -T FILE MNT) and
    umount. mount(8) runs its helpers with a standard PATH, so this uses
    the `mbfs` installed there (.ci/run installs the .deb, then runs this
    test again with MBFS_SYSTEM_MOUNT_REQUIRED=1)."""
    s = setup
    installed = shutil.which("mbfs", path=SYSTEM_PATH)
    if not installed:
        if os.environ.get("MBFS_SYSTEM_MOUNT_REQUIRED") == "1":
            pytest.fail("no mbfs in %s" % SYSTEM_PATH)
        pytest.skip("mount(8) finds mbfs only in %s: install it (the .deb) first" % SYSTEM_PATH)
    fstab = os.path.join(s.dir, "fstab")
    with open(fstab, "w") as f:
        f.write("# a temporary fstab for this test\n")
        f.write("%s  %s  fuse.mbfs  %s  0  0\n" % (fake.url, s.mnt, fstab_opts(s, "formats=csv:xlsx")))
    sh(["mount", "-T", fstab, s.mnt], s.env)
    check_mounted_and_unmount(fake, s, ["umount", s.mnt])


def test_mount_options_added_by_mount_are_accepted(fake, setup):
    """The options mount(8) and mount.fuse3 add (rw, dev, suid, nodev,
    nosuid, noatime, relatime ...) do not break mbfs."""
    s = setup
    opts = fstab_opts(s, "rw", "nosuid", "nodev", "noexec", "noatime", "relatime", "user",
                      "x-systemd.automount", "comment=mbfs")
    helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    sh([helper, fake.url, s.mnt, "-o", opts, "-t", "fuse.mbfs"], s.env)
    assert os.path.ismount(s.mnt)
    assert "collections" in os.listdir(s.mnt)
    with open("/proc/self/mountinfo") as f:
        line = next(l for l in f if " %s " % s.mnt in l)
    assert "nosuid" in line and "nodev" in line and "noexec" in line
    sh(["umount", s.mnt], s.env)
    assert wait_daemon_gone(s.mnt, 10)


def test_fstab_mount_failure_is_reported(fake, setup):
    s = setup
    with open(s.pw, "w") as f:
        f.write("wrong-password\n")
    helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    p = sh([helper, fake.url, s.mnt, "-o", fstab_opts(s), "-t", "fuse.mbfs"], s.env, check=False)
    assert p.returncode != 0
    assert p.err.startswith("mbfs: login as admin@example.com refused")
    assert "wrong-password" not in p.err
    assert not os.path.ismount(s.mnt)
    assert not daemons(s.mnt)


# ---- ownership and permissions, as in sshfs ----------------------------------------

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="runs a command as another user (needs root)")


def as_nobody(*cmd):
    return subprocess.run(list(cmd), user=NOBODY, group=NOBODY, extra_groups=[],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, cwd="/")


@pytest.fixture
def open_mount(fake, mount_factory):
    """mount_factory, with the mount's parent directory traversable by
    everyone (so that only FUSE's own rules decide who gets in)."""
    def make(*options):
        m = mount_factory(fake.url, *options)
        os.chmod(m.tmp, 0o755)
        return m
    return make


def test_uid_gid_umask(open_mount):
    m = open_mount("uid=12345", "gid=23456", "umask=027")
    for p, mode in ((m.path, 0o40550), (m.p("collections"), 0o40550),
                    (m.p("collections", "Sales", "Revenue.csv"), 0o100440)):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, st.st_mode) == (12345, 23456, mode), (p, oct(st.st_mode))


def test_default_umask_and_owner(open_mount):
    m = open_mount()
    st = os.stat(m.p("collections", "Sales", "Revenue.csv"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (os.getuid(), os.getgid(), 0o444)
    assert os.stat(m.path).st_mode & 0o7777 == 0o555


@needs_root
def test_other_users_are_kept_out_without_allow_other(open_mount):
    m = open_mount()
    p = as_nobody("ls", m.p("collections"))
    assert p.returncode != 0 and b"Permission denied" in p.stderr


@needs_root
def test_allow_other_lets_other_users_read(open_mount):
    m = open_mount("allow_other")
    p = as_nobody("cat", m.p("collections", "Ops ／ Finance", "Edge cases.csv"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(b"ID,TEXT,AMOUNT,QTY,NOTE\n")


@needs_root
def test_default_permissions_applies_umask_to_other_users(open_mount):
    """With default_permissions the kernel checks the mode: umask=077 keeps
    other users out even with allow_other (sshfs's behaviour)."""
    m = open_mount("allow_other", "default_permissions", "umask=077")
    p = as_nobody("ls", m.p("collections"))
    assert p.returncode != 0 and b"Permission denied" in p.stderr
    # the owner (here root, uid of the mount) still reads
    assert "Sales" in os.listdir(m.p("collections"))


@needs_root
def test_default_permissions_with_uid_gives_that_user_access(open_mount):
    m = open_mount("allow_other", "default_permissions", "uid=%d" % NOBODY, "umask=077")
    p = as_nobody("cat", m.p("collections", "Ops ／ Finance", "Edge cases.csv"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(b"ID,TEXT")
