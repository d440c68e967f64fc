# conftest.py — fixtures of the real-client tests (ctest label `clients`).
#
# Each test gets a fresh mount (fresh spool) of one fake Metabase per test
# module (new behaviour), with formats csv:json:xlsx, so every file a client
# opens has never been read before: the size it sees before open is the one
# mbfs materialized on lookup (DESIGN.md §2 rule 2).
#
# The mount machinery (Mount, mount_factory) is the integration suite's,
# loaded from tests/integration/conftest.py under another module name.
# Standard library + Debian's pytest only.

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, HERE)
sys.path.insert(0, IT)

_spec = importlib.util.spec_from_file_location("mbfs_it_conftest", os.path.join(IT, "conftest.py"))
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

from fakeserver import FakeServer  # noqa: E402

import clientlib  # noqa: E402

mount_factory = _it.mount_factory


@pytest.fixture(scope="module")
def fake():
    server = FakeServer(behaviour="new")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def truth(fake):
    """What the server itself sends (fetched over HTTP, parsed by Python)."""
    return clientlib.Truth(fake)


@pytest.fixture
def mnt(fake, mount_factory):
    return mount_factory(fake.url, "formats=csv:json:xlsx")


@pytest.fixture
def zero_mnt(fake, mount_factory):
    """TEST-ONLY wrong sizes: data files report size 0 before open."""
    return mount_factory(fake.url, "formats=csv:json:xlsx", "test_zero_size",
                         binary=_it.testhooks_binary())


@pytest.fixture
def zero_always_mnt(fake, mount_factory):
    """TEST-ONLY wrong sizes: size 0 before and after open."""
    return mount_factory(fake.url, "formats=csv:json:xlsx", "test_zero_size=always",
                         binary=_it.testhooks_binary())


@pytest.fixture
def tmp(tmp_path):
    return str(tmp_path)
