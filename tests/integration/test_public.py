# test_public.py — issue 11 point 3, DESIGN.md §1 "Public links", through a
# real mount, both server behaviours:
#   1 public/card/<uuid>.csv|json is GET /api/public/card/:uuid/query/:fmt,
#     byte for byte, sent with no credential at all (the fake counts
#     credential headers on /api/public/ routes) and no login;
#   2 ls public/card and public/dashboard list what an admin sees (GET
#     /api/card/public, /api/dashboard/public), nothing for other users,
#     who still read any link by its uuid;
#   3 public/dashboard/<uuid>/ lists the dashcards; a file is the public
#     dashcard download (new servers; old ones have no such route: EIO with
#     a message that says so), parameters in names work there too;
#   4 unknown or malformed uuids: ENOENT;
#   5 `mbfs URL MNT -o public`: no credential read, zero logins, only
#     public/ and .mbfs/, .mbfs/status says so.

import errno
import os

import pytest

from fakeserver import ANALYST
from conftest import read

ANALYST_ENV = {"MBFS_USERNAME": ANALYST[0], "MBFS_PASSWORD": ANALYST[1]}
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def uuids(fake):
    cat = fake.catalog()
    out = {("card", c["id"]): c["public_uuid"] for c in cat["cards"] if c["public_uuid"]}
    out.update({("dashboard", d["id"]): d["public_uuid"] for d in cat["dashboards"] if d["public_uuid"]})
    assert set(out) == {("card", 38), ("card", 39), ("card", 40), ("dashboard", 6)}
    return out


def public_export(fake, kind, uuid, fmt, dashcard=None, params=None):
    """The server's bytes for the request a browser on the public page makes
    (fakeserver.public_export_request sends no credential)."""
    r = fake.public_export_request(kind, uuid, fmt, params=params, dashcard=dashcard,
                                   format_rows=False)
    assert r.status == 200, r.body[:300]
    return r.body


def no_credentials_sent(fake, stats_before):
    s = fake.stats()
    assert s["public_requests"] > stats_before["public_requests"]
    assert s["public_credentials"] == stats_before["public_credentials"] == 0, s
    assert s["public_credential_headers"] == {}, s
    return s


# ---- 1. public cards -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_public_card_is_its_public_export_without_credentials(fake, mnt, uuids, fmt):
    os.listdir(mnt.path)                         # the mount's own login is done
    before = fake.stats()
    for cid in (38, 39, 40):
        path = mnt.p("public", "card", "%s.%s" % (uuids["card", cid], fmt))
        got = read(path)
        assert got == public_export(fake, "card", uuids["card", cid], fmt), cid
        # the same rows as the card's authenticated export
        assert got == fake.export("card", cid, fmt, fake.login())
        assert os.stat(path).st_size == len(got)
    after = no_credentials_sent(fake, before)
    # the logins are the test's own (fake.login above), none of mbfs's
    assert after["logins"] - before["logins"] == 3
    assert after["exports"].get("public:card:38:%s" % fmt, 0) > before["exports"].get(
        "public:card:38:%s" % fmt, 0)


def test_a_public_card_file_says_what_it_is(fake, mnt, uuids):
    path = mnt.p("public", "card", uuids["card", 39] + ".csv")
    read(path)
    assert os.getxattr(path, "user.mb.url").decode() == "%s/public/question/%s" % (
        fake.url, uuids["card", 39])
    assert os.getxattr(path, "user.mb.public_uuid").decode() == uuids["card", 39]
    assert os.getxattr(path, "user.mb.id") == b"39"           # listed for the admin
    assert int(os.getxattr(path, "user.mb.rows")) > 0


# ---- 2. listings -----------------------------------------------------------------------------

def test_an_admin_lists_the_shared_objects(fake, mnt, uuids):
    assert sorted(os.listdir(mnt.p("public"))) == ["card", "dashboard"]
    want = {"%s.%s" % (uuids["card", c], f) for c in (38, 39, 40) for f in ("csv", "json")}
    assert set(os.listdir(mnt.p("public", "card"))) == want
    assert os.listdir(mnt.p("public", "dashboard")) == [uuids["dashboard", 6]]


def test_a_user_lists_nothing_but_reads_by_uuid(fake, mount_factory, uuids):
    m = mount_factory(fake.url, env=ANALYST_ENV)
    assert os.listdir(m.p("public", "card")) == []
    assert os.listdir(m.p("public", "dashboard")) == []
    before = fake.stats()
    got = read(m.p("public", "card", uuids["card", 38] + ".csv"))
    assert got == public_export(fake, "card", uuids["card", 38], "csv")
    no_credentials_sent(fake, before)


def test_listings_after_sharing_is_turned_off(fake, mount_factory, uuids):
    fake.set_settings(**{"enable-public-sharing": False})
    try:
        m = mount_factory(fake.url)
        assert os.listdir(m.p("public", "card")) == []          # 400: nothing is shared
        path = m.p("public", "card", uuids["card", 38] + ".csv")
        assert os.stat(path).st_size == 0                          # 400 "An error occurred."
        with pytest.raises(OSError) as e:
            read(path)
        assert e.value.errno == errno.EIO
        assert b"An error occurred." in os.getxattr(path, "user.mb.error")
    finally:
        fake.set_settings(**{"enable-public-sharing": True})


# ---- 3. public dashboards --------------------------------------------------------------------

DASHCARDS = {"Orders by category and date": (18, 38), "Products under a price": (19, 39),
             "Products (filtered)": (20, 40)}


def test_a_public_dashboard_lists_its_dashcards(fake, mnt, uuids):
    d = mnt.p("public", "dashboard", uuids["dashboard", 6])
    assert sorted(os.listdir(d)) == sorted("%s.%s" % (n, f) for n in DASHCARDS
                                           for f in ("csv", "json"))
    assert os.getxattr(d, "user.mb.url").decode() == "%s/public/dashboard/%s" % (
        fake.url, uuids["dashboard", 6])


def test_a_public_dashcard_file(fake, mnt, uuids):
    uuid = uuids["dashboard", 6]
    d = mnt.p("public", "dashboard", uuid)
    before = fake.stats()
    for name, (dcid, cid) in DASHCARDS.items():
        path = os.path.join(d, name + ".csv")
        if fake.behaviour == "old":
            # v0.46 has no public dashcard download: EIO, and why
            assert os.stat(path).st_size == 0
            with pytest.raises(OSError) as e:
                read(path)
            assert e.value.errno == errno.EIO
            assert b"no download route" in os.getxattr(path, "user.mb.error")
            continue
        got = read(path)
        # with the dashboard's defaults, as the public page sends them
        want = public_export(fake, "dashboard", uuid, "csv", dashcard=(dcid, cid))
        assert got == want, name
        assert got == fake.export("dashcard", (6, dcid, cid), "csv", fake.login())
    if fake.behaviour == "new":
        no_credentials_sent(fake, before)
    else:   # nothing but the dashboard itself was asked for
        s = fake.stats()
        assert s["public_credentials"] == 0 and s["public_credential_headers"] == {}
        assert not any(k.startswith("POST /api/public") for k in s["requests"])


def test_parameters_on_a_public_dashcard(fake, mnt, uuids):
    if fake.behaviour == "old":
        pytest.skip("v0.46 has no public dashcard download")
    uuid = uuids["dashboard", 6]
    path = mnt.p("public", "dashboard", uuid, "Products under a price.csv?max_price=15")
    got = read(path)
    assert got == public_export(fake, "dashboard", uuid, "csv", dashcard=(19, 39),
                                params=[{"id": "f_price", "type": "number/=", "value": ["15"]}])
    assert got != read(mnt.p("public", "dashboard", uuid, "Products under a price.csv"))
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("public", "dashboard", uuid, "Products under a price.csv?nope=1"))


# ---- 4. unknown uuids ------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    ("card", MISSING + ".csv"),                   # the server: 404
    ("card", "not-a-uuid.csv"),
    ("card", MISSING.upper() + ".csv"),           # Metabase writes uuids in lower case
    ("card", MISSING + ".xlsx"),                  # not a format of this mount
    ("card", MISSING),
    ("dashboard", MISSING),                       # the server: 404
    ("dashboard", "not-a-uuid"),
])
def test_unknown_links_are_enoent(fake, mnt, name):
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("public", *name))


# ---- 5. -o public ----------------------------------------------------------------------------

@pytest.mark.parametrize("env", [{}, None], ids=["no-credentials", "credentials-ignored"])
def test_public_mount_has_no_credentials_and_never_logs_in(fake, mount_factory, uuids, env):
    fake.reset()
    m = mount_factory(fake.url, "public", env=env)          # env None: admin credentials given
    assert sorted(os.listdir(m.path)) == [".mbfs", "public"]
    assert os.listdir(m.p("public", "card")) == []            # no credentials: no admin list
    for missing in ("cards", "collections", "metadata"):
        assert not os.path.exists(m.p(missing))
    got = read(m.p("public", "card", uuids["card", 39] + ".json"))
    assert got == public_export(fake, "card", uuids["card", 39], "json")
    d = m.p("public", "dashboard", uuids["dashboard", 6])
    assert "Products under a price.csv" in os.listdir(d)
    if fake.behaviour == "new":
        assert read(os.path.join(d, "Products under a price.csv")) == public_export(
            fake, "dashboard", uuids["dashboard", 6], "csv", dashcard=(19, 39))
    status = read(m.p(".mbfs", "status")).decode()
    assert "user none\n" in status and "auth none (-o public" in status
    assert " public\n" in status                                # the options line
    s = fake.stats()
    assert s["logins"] == 0 and s["failed_logins"] == 0
    assert s["public_credentials"] == 0 and s["public_credential_headers"] == {}
    # nothing but the version probe and public routes
    assert set(s["requests"]) <= {"GET /api/session/properties"} | {
        k for k in s["requests"] if " /api/public/" in k}, s["requests"]


def test_public_mount_on_the_api_url_form(fake, mount_factory, uuids):
    m = mount_factory(fake.url + "/api/", "public", env={})
    assert read(m.p(".mbfs", "status")).decode().startswith("server %s\n" % fake.url)
    got = read(m.p("public", "card", uuids["card", 40] + ".csv"))
    assert got == public_export(fake, "card", uuids["card", 40], "csv")
