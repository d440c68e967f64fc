# test_passthrough.py — kernel FUSE passthrough (issue 14 point 1):
# built against libfuse >= 3.17, with a root daemon and a kernel that
# grants FUSE_CAP_PASSTHROUGH (Debian 13, Linux >= 6.9), a spooled result
# is read by the kernel from its spool file — reading a 10 MB file makes
# zero READ requests reach mbfs (.mbfs/stats result_reads) — and the
# generation rules hold unchanged: a handle opened before a same-size
# refresh keeps reading its own generation's file, a new open reads the
# new one. Built against libfuse 3.14 (Debian 12), or without
# CAP_SYS_ADMIN, these tests skip, saying why (.mbfs/status's
# "passthrough off (...)" line), and the status line itself is checked.

import os
import re
import subprocess

import pytest
from conftest import card, read

CSV_CT = "text/csv"
SIZE = 10 * 1024 * 1024


def body_of(letter, size):
    """A CSV of exactly `size` bytes whose rows are all `letter`."""
    head = b"id,v\n"
    row = b"1," + letter * 60 + b"\n"
    n = (size - len(head)) // len(row)
    out = head + row * n
    pad = size - len(out)
    if pad:
        assert pad >= 3
        out += b"2," + letter * (pad - 3) + b"\n"
    assert len(out) == size
    return out


def serve(fake, cid, body):
    fake.clear_faults()
    fake.add_fault(card_id=cid, format="csv", status=200, body=body.decode(),
                   content_type=CSV_CT)


def status_line(m):
    status = read(m.p(".mbfs", "status")).decode()
    found = re.search(r"^passthrough (on|off) \((.*)\)$", status, re.M)
    assert found, status
    return found.group(1), found.group(2)


def stat_of(m, name):
    stats = read(m.p(".mbfs", "stats")).decode()
    return int(stats.split("\n%s " % name)[1].split()[0])


def libfuse_version():
    try:
        out = subprocess.run(["pkg-config", "--modversion", "fuse3"],
                             capture_output=True, text=True, check=True).stdout
        return tuple(int(x) for x in out.strip().split(".")[:2])
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def need_passthrough(m):
    """Skip, naming the reason, where the platform forbids passthrough;
    fail where it allows it and the mount still said off."""
    on, why = status_line(m)
    if on == "on":
        return
    if "built with libfuse" in why:
        pytest.skip("no kernel passthrough here: %s" % why)
    if os.geteuid() != 0 or "CAP_SYS_ADMIN" in why:
        pytest.skip("kernel passthrough needs a root daemon: %s" % why)
    if "kernel does not offer" in why:
        pytest.skip("this kernel does not offer FUSE passthrough: %s" % why)
    pytest.fail("passthrough off where it should be on: %s" % why)


def test_status_says_whether_reads_pass_through(mnt):
    on, why = status_line(mnt)
    v = libfuse_version()
    if v is not None and v < (3, 17):
        assert on == "off"
        assert "built with libfuse %d.%d" % v in why
    elif os.geteuid() != 0:
        assert on == "off" and "CAP_SYS_ADMIN" in why
    assert "passthrough_opens " in read(mnt.p(".mbfs", "stats")).decode()


def test_reading_a_spooled_file_makes_no_userspace_read(clean, mount_factory):
    fake = clean
    m = mount_factory(fake.url)
    need_passthrough(m)
    path = card(m, 1)
    data = body_of(b"A", SIZE)
    serve(fake, 1, data)
    assert os.stat(path).st_size == SIZE        # materialized: spooled
    n0, p0 = stat_of(m, "result_reads"), stat_of(m, "passthrough_opens")
    subprocess.run(["sh", "-c", 'cat "$1" > /dev/null', "sh", path], check=True)
    assert read(path) == data
    with open(path, "rb") as f:                  # reads at odd offsets too
        f.seek(SIZE - 4097)
        assert f.read() == data[SIZE - 4097:]
    assert stat_of(m, "result_reads") == n0      # not one READ reached mbfs
    assert stat_of(m, "passthrough_opens") >= p0 + 3
    # the backing file goes with the last handle
    assert stat_of(m, "backing_inodes") == 0


def test_an_open_handle_keeps_its_generation_with_passthrough(clean, mount_factory):
    """A same-size refresh while a handle is open: the old handle keeps
    reading the old generation's spool file (read and mmap), a new open
    reads the new one, and still no READ reaches mbfs."""
    import mmap
    fake = clean
    m = mount_factory(fake.url)
    need_passthrough(m)
    path = card(m, 1)
    size = 1024 * 1024
    a, b = body_of(b"A", size), body_of(b"B", size)
    serve(fake, 1, a)
    n0 = stat_of(m, "result_reads")
    with open(path, "rb") as old:
        assert old.read(size // 2) == a[:size // 2]
        serve(fake, 1, b)
        os.utime(path)                           # touch: a new generation
        assert read(path) == b
        assert old.read() == a[size // 2:]
        with mmap.mmap(old.fileno(), 0, prot=mmap.PROT_READ) as mm:
            assert mm[:] == a
        with open(path, "rb") as new:
            with mmap.mmap(new.fileno(), 0, prot=mmap.PROT_READ) as mm:
                assert mm[:] == b
        assert os.fstat(old.fileno()).st_size == size
    assert read(path) == b
    assert stat_of(m, "result_reads") == n0
