# test_namespace.py — issue #3, "the whole Metabase namespace", through a
# real mount, against both fake-server behaviours (old ≈ v0.46 with
# ordered_cards/ordered_tabs, new ≈ v0.63 with dashcards/tabs, dashboard
# questions and metrics):
#   1 dashboards (in their collection and under dashboards/<id>/), dashcard
#     files exported with the dashboard's filter defaults, tabs, skipped
#     text/unreadable cards, the collision rule keyed by dashcard id
#   2 collections/Personal/<owner>/
#   3 archived items never appear; dashboard questions where Metabase shows them
#   4 -o formats (xlsx end to end), -o format_rows, .sql files
#   5 metadata/*.json
#   6 extended attributes and timestamps
#   7 freshness: meta_ttl, touch DIR / FILE, SIGHUP, renames keep inode numbers
#   8 permissions of a non-admin user, EACCES with the server's text
# Tests that change the server start a server of their own.

import datetime
import errno
import http.client
import http.server
import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse
import zipfile

import pytest

from fakeserver import ANALYST, FakeServer
from conftest import read

CSV_JSON = ("csv", "json")
ANALYST_ENV = {"MBFS_USERNAME": ANALYST[0], "MBFS_PASSWORD": ANALYST[1]}

# dashboard 1 "Sales overview" (collection Sales): dashcards that have a card
SALES_OVERVIEW = {  # file base name -> (dashcard id, card id)
    "Revenue": (2, 3),
    "Revenue (again)": (3, 3),              # the same card again, with a title override
    "Orders per day": (4, 9),
    "Products by category": (5, 6),
    "Catalogue ／ filtered": (6, 7),         # title override with a '/'
    "Campaign leads": (8, 19),              # unreadable for the analyst
}


def names_of(bases, fmts=CSV_JSON):
    return {"%s.%s" % (b, f) for b in bases for f in fmts}


def dashboard_json(fake, did, token):
    return fake.get_json("/api/dashboard/%d" % did, token)


def default_parameters(dash):
    """What a client sends to apply a dashboard's filter defaults."""
    return [{"id": p["id"], "type": p["type"], "value": p["default"]}
            for p in dash["parameters"] if p.get("default") is not None]


def parse_ts(s):
    """A Metabase timestamp to UTC seconds (no offset means UTC)."""
    s = s.replace("Z", "+00:00")
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def xattrs(path):
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}


def wait_for(cond, timeout=10.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


@pytest.fixture
def analyst(fake, mount_factory):
    return mount_factory(fake.url, env=ANALYST_ENV)


@pytest.fixture
def own(fake):
    """A server of this test's own (same behaviour), for tests that edit it."""
    s = FakeServer(behaviour=fake.behaviour)
    yield s
    s.stop()


class RecordingProxy:
    """A loopback HTTP proxy in front of the fake that records what mbfs sends."""

    def __init__(self, fake):
        self.posts = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if self.command == "POST":
                    proxy.posts.append((self.path, (body or b"").decode()))
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "accept-encoding")}
                conn = http.client.HTTPConnection(fake.host, fake.port, timeout=60)
                conn.request(self.command, self.path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def forms(self, path_part):
        return [urllib.parse.parse_qs(b, keep_blank_values=True) for p, b in self.posts if path_part in p]


@pytest.fixture
def proxy(fake):
    p = RecordingProxy(fake)
    yield p
    p.stop()


# ---- 1. dashboards --------------------------------------------------------------

def test_dashboard_is_a_directory_in_its_collection_and_by_id(fake, mnt):
    in_coll = mnt.p("collections", "Sales", "Sales overview")
    by_id = mnt.p("dashboards", "1")
    want = names_of(SALES_OVERVIEW)
    assert set(os.listdir(in_coll)) == want       # no text/heading cards
    assert set(os.listdir(by_id)) == want
    assert sorted(os.listdir(mnt.p("dashboards"))) == ["1", "2", "3", "4", "6"]   # 5 is archived
    assert "Weekly KPIs" in os.listdir(mnt.p("collections"))                 # root collection
    # two directories, two inode numbers; the files inside are shared
    assert os.stat(in_coll).st_ino != os.stat(by_id).st_ino
    for n in want:
        a, b = os.stat(os.path.join(in_coll, n)), os.stat(os.path.join(by_id, n))
        assert a.st_ino == b.st_ino and a.st_nlink == 1
    # no directory aliases: find and du see a tree without loops
    r = subprocess.run(["find", mnt.path, "-name", "*.zzz"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_dashcard_file_is_the_dashcard_export_with_the_defaults(fake, mnt):
    token = fake.login()
    dash = dashboard_json(fake, 1, token)
    params = default_parameters(dash)
    assert params                                   # From and Category have defaults
    for base, (dcid, cid) in SALES_OVERVIEW.items():
        for fmt in CSV_JSON:
            want = fake.export("dashcard", (1, dcid, cid), fmt, token, params=params)
            got = read(mnt.p("dashboards", "1", "%s.%s" % (base, fmt)))
            assert got == want, (base, fmt)
    # a default filter applies: not the plain card export
    for base, (dcid, cid) in (("Products by category", (5, 6)), ("Orders per day", (4, 9))):
        dashcard = read(mnt.p("collections", "Sales", "Sales overview", base + ".csv"))
        assert dashcard != fake.export("card", cid, "csv", token)
    cats = {line.split(b",")[2] for line in read(mnt.p("dashboards", "1", "Products by category.csv"))
            .splitlines()[1:]}
    assert cats == {b"Gizmo"}                       # the dashboard's default, not the card's Widget
    os.utime(mnt.p("dashboards", "1", "Products by category.json"))       # drop the cached result
    fake.reset()
    read(mnt.p("collections", "Sales", "Sales overview", "Products by category.json"))
    assert fake.stats()["exports"] == {"dashcard:1:5:6:json": 1}


def test_tabs_are_subdirectories_in_tab_order(fake, mnt):
    for d in (mnt.p("dashboards", "2"), mnt.p("collections", "Weekly KPIs")):
        assert os.listdir(d) == ["Overview", "Details"]          # readdir order = tab order
        assert set(os.listdir(os.path.join(d, "Overview"))) == names_of(["Orders, Count", "People by source"])
        # the link card is skipped; the dashboard question is here
        assert set(os.listdir(os.path.join(d, "Details"))) == names_of(["Orders", "KPI: orders last 30 days"])
    token = fake.login()
    want = fake.export("dashcard", (2, 12, 36), "csv", token)
    assert read(mnt.p("dashboards", "2", "Details", "KPI: orders last 30 days.csv")) == want
    a = mnt.p("dashboards", "2", "Details")
    b = mnt.p("collections", "Weekly KPIs", "Details")
    assert os.stat(a).st_ino != os.stat(b).st_ino
    assert os.stat(os.path.join(a, "Orders.csv")).st_ino == os.stat(os.path.join(b, "Orders.csv")).st_ino


def test_same_card_twice_gets_the_collision_rule_by_dashcard_id(own, mount_factory):
    m = mount_factory(own.url)
    d = m.p("dashboards", "1")
    assert {"Revenue.csv", "Revenue (again).csv"} <= set(os.listdir(d))
    own.edit(kind="dashcard", id=3, op="retitle", name=None)     # both dashcards show "Revenue"
    os.utime(d)
    names = set(os.listdir(d))
    assert {"Revenue.csv", "Revenue.json", "Revenue [3].csv", "Revenue [3].json"} <= names
    assert "Revenue (again).csv" not in names
    a, b = xattrs(os.path.join(d, "Revenue.csv")), xattrs(os.path.join(d, "Revenue [3].csv"))
    assert (a["user.mb.dashcard_id"], b["user.mb.dashcard_id"]) == ("2", "3")
    assert a["user.mb.id"] == b["user.mb.id"] == "3"


def test_unreadable_dashcards_are_skipped(fake, analyst):
    names = set(os.listdir(analyst.p("collections", "Sales", "Sales overview")))
    assert names == names_of(set(SALES_OVERVIEW) - {"Campaign leads"})


# ---- 2. personal collections ----------------------------------------------------------

def test_personal_collections_of_an_admin(fake, mnt):
    personal = mnt.p("collections", "Personal")
    assert sorted(os.listdir(personal)) == ["Ada Analyst", "Bobby Tables"]
    bobby = set(os.listdir(os.path.join(personal, "Bobby Tables")))
    assert {"Scratch", "My scratch query.csv", "My scratch query.sql"} <= bobby
    assert "Ada's notes.csv" in os.listdir(os.path.join(personal, "Ada Analyst"))
    assert "Scratch: people sample.csv" in os.listdir(os.path.join(personal, "Bobby Tables", "Scratch"))
    # personal collections are not in the root listing under their own names
    assert not any("Personal Collection" in n for n in os.listdir(mnt.p("collections")))
    x = xattrs(os.path.join(personal, "Ada Analyst"))
    assert x["user.mb.id"] == "2" and x["user.mb.model"] == "collection"
    assert x["user.mb.url"] == fake.url + "/collection/2"
    token = fake.login()
    assert read(os.path.join(personal, "Ada Analyst", "Ada's notes.csv")) == fake.export("card", 29, "csv", token)


def test_personal_collections_of_a_user(fake, analyst):
    assert os.listdir(analyst.p("collections", "Personal")) == ["Ada Analyst"]


def test_a_real_collection_named_personal(own, mount_factory):
    own.edit(kind="collection", id=7, op="rename", name="Personal")
    m = mount_factory(own.url)
    top = set(os.listdir(m.p("collections")))
    assert {"Personal", "Personal [7]"} <= top          # the fixed entry keeps the plain name
    assert sorted(os.listdir(m.p("collections", "Personal"))) == ["Ada Analyst", "Bobby Tables"]
    assert "Campaigns" in os.listdir(m.p("collections", "Personal [7]"))


# ---- 3. archived items, dashboard questions -------------------------------------------

def test_archived_items_never_appear(fake, mnt):
    assert "Old Reports" not in os.listdir(mnt.p("collections"))
    sales = os.listdir(mnt.p("collections", "Sales"))
    assert "Retired board" not in sales and "Old revenue.csv" not in sales
    assert "5" not in os.listdir(mnt.p("dashboards"))
    cards = os.listdir(mnt.p("cards"))
    assert "31.csv" not in cards and "32.csv" not in cards
    everything = [n for _, ds, fs in os.walk(mnt.p("collections")) for n in ds + fs]
    assert not any(n.startswith(("Old revenue", "Legacy KPI", "Retired board")) for n in everything)


def test_dashboard_questions_are_where_metabase_shows_them(fake, mnt):
    root = set(os.listdir(mnt.p("collections")))
    kpi = "KPI: orders last 30 days.csv"
    if fake.behaviour == "new":       # saved inside dashboard 2 (v0.53+)
        assert kpi not in root
    else:                             # no dashboard questions before v0.53: a plain root card
        assert kpi in root
    assert kpi in os.listdir(mnt.p("collections", "Weekly KPIs", "Details"))
    assert {"36.csv", "36.json", "36.sql"} <= set(os.listdir(mnt.p("cards")))
    ops = set(os.listdir(mnt.p("collections", "Ops ／ Finance")))
    assert ("Ops: failed imports.csv" in ops) == (fake.behaviour == "old")
    assert "Ops: failed imports.csv" in os.listdir(mnt.p("collections", "Ops ／ Finance", "Ops board"))


# ---- 4. formats and .sql files -----------------------------------------------------------

def test_formats_xlsx_end_to_end(fake, mount_factory):
    m = mount_factory(fake.url, "formats=csv:json:xlsx")
    token = fake.login()
    sales = set(os.listdir(m.p("collections", "Sales")))
    assert {"Revenue.csv", "Revenue.json", "Revenue.xlsx", "Revenue.sql"} <= sales
    assert "Products by category.xlsx" in os.listdir(m.p("dashboards", "1"))
    assert "ORDERS.xlsx" in os.listdir(m.p("databases", "Sample Database", "PUBLIC"))
    cases = [
        (m.p("cards", "3.xlsx"), fake.export("card", 3, "xlsx", token)),
        (m.p("dashboards", "1", "Products by category.xlsx"),
         fake.export("dashcard", (1, 5, 6), "xlsx", token,
                     params=default_parameters(dashboard_json(fake, 1, token)))),
        (m.p("databases", "Sample Database", "PUBLIC", "PRODUCTS.xlsx"), fake.export("dataset", 1, "xlsx", token)),
    ]
    for path, want in cases:
        with open(path, "rb") as f:                 # fstat after open is exact (rule 3)
            assert os.fstat(f.fileno()).st_size == len(want) > 0
            got = f.read()
        assert got == want, path
        with zipfile.ZipFile(io.BytesIO(got)) as z:
            assert z.testzip() is None
            assert any(n.startswith("xl/worksheets/") for n in z.namelist())


def test_formats_choose_the_files(fake, mount_factory):
    m = mount_factory(fake.url, "formats=json")
    sales = set(os.listdir(m.p("collections", "Sales")))
    assert "Revenue.json" in sales and "Revenue.sql" in sales
    assert not any(n.endswith((".csv", ".xlsx")) for n in sales if os.path.isfile(m.p("collections", "Sales", n)))
    assert set(os.listdir(m.p("dashboards", "3"))) == {"Ops: failed imports.json", "Warehouse events.json"}
    assert {n.rsplit(".", 1)[1] for n in os.listdir(m.p("databases", "Warehouse", "raw"))} == {"json"}


def test_format_rows(fake, mount_factory):
    token = fake.login()
    raw_mount = mount_factory(fake.url)
    ui_mount = mount_factory(fake.url, "format_rows")
    for cid in (3, 25):
        raw = fake.export("card", cid, "csv", token, format_rows=False)
        ui = fake.export("card", cid, "csv", token, format_rows=True)
        assert read(raw_mount.p("cards", "%d.csv" % cid)) == raw
        assert read(ui_mount.p("cards", "%d.csv" % cid)) == ui
        if fake.behaviour == "new":           # format_rows is honoured from v0.49.3 on
            assert raw != ui
    dash = default_parameters(dashboard_json(fake, 1, token))
    assert read(ui_mount.p("dashboards", "1", "Orders per day.csv")) == \
        fake.export("dashcard", (1, 4, 9), "csv", token, params=dash, format_rows=True)


def test_what_mbfs_sends(fake, proxy, mount_factory):
    """format_rows is always sent (false unless -o format_rows); a dashcard
    export carries the dashboard's defaults as `parameters`."""
    token = fake.login()
    want = default_parameters(dashboard_json(fake, 1, token))
    m = mount_factory(proxy.url)
    read(m.p("cards", "1.csv"))
    read(m.p("dashboards", "1", "Products by category.csv"))
    ui = mount_factory(proxy.url, "format_rows")
    read(ui.p("cards", "2.json"))
    card1 = proxy.forms("/api/card/1/query/csv")
    assert card1 and card1[0]["format_rows"] == ["false"] and json.loads(card1[0]["parameters"][0]) == []
    dash = proxy.forms("/api/dashboard/1/dashcard/5/card/6/query/csv")
    assert dash and dash[0]["format_rows"] == ["false"]
    sent = json.loads(dash[0]["parameters"][0])
    assert [{k: p[k] for k in ("id", "type", "value")} for p in sent] == want
    card2 = proxy.forms("/api/card/2/query/json")
    assert card2 and card2[0]["format_rows"] == ["true"]


def test_sql_files_of_native_cards(fake, mnt):
    token = fake.login()
    cards = {c["id"]: c for c in fake.catalog()["cards"]}
    for cid in (3, 5, 6, 15):
        legacy = fake.get_json("/api/card/%d?legacy-mbql=true" % cid, token)["dataset_query"]
        sql = legacy["native"]["query"].encode()
        by_id = mnt.p("cards", "%d.sql" % cid)
        assert read(by_id) == sql
        assert cards[cid]["query_type"] == "native"
    d = mnt.p("collections", "Sales")
    listed = {e.name: e.stat().st_size for e in os.scandir(d)}    # size known from the listing
    assert listed["Revenue.sql"] == len(read(os.path.join(d, "Revenue.sql"))) > 0
    assert "Revenue [4].sql" not in listed                           # an MBQL card: no .sql
    assert "Product catalogue.sql" not in listed
    fake.reset()
    read(os.path.join(d, "Revenue ／ Cost.sql"))
    assert fake.stats()["exports"] == {}                             # no export for SQL text
    r = subprocess.run(["grep", "-rl", "JOIN PRODUCTS", mnt.p("collections", "Sales")],
                       capture_output=True, text=True)
    assert r.stdout.strip().endswith("Revenue ／ Cost.sql")


# ---- 5. metadata/ --------------------------------------------------------------------

METADATA = {"cards.json": "/api/card", "collections.json": "/api/collection",
            "dashboards.json": "/api/dashboard", "databases.json": "/api/database", "users.json": "/api/user",
            "snippets.json": "/api/native-query-snippet"}   # DESIGN §1 "metadata extras"


def test_metadata_files(fake, mnt):
    token = fake.login()
    d = mnt.p("metadata")
    # named first (no listing yet): the size is exact at once
    size = os.stat(os.path.join(d, "cards.json")).st_size
    body = read(os.path.join(d, "cards.json"))
    assert size == len(body) > 0
    assert body == fake.get("/api/card?f=all", token=token).body.strip()      # the server's bytes
    assert sorted(os.listdir(d)) == sorted(METADATA)
    for name, path in METADATA.items():
        got = json.loads(read(os.path.join(d, name)))
        want = fake.get_json(path, token)
        if isinstance(want, dict):
            want = want["data"]                      # envelopes: their data array
        assert isinstance(got, list) and got == want, name
        x = xattrs(os.path.join(d, name))
        assert x["user.mb.rows"] == str(len(want))
        assert x["user.mb.url"] == fake.url + path


def test_metadata_listing_fetches_nothing(fake, mount_factory):
    m = mount_factory(fake.url)
    os.listdir(m.path)
    fake.reset()
    sizes = {e.name: e.stat().st_size for e in os.scandir(m.p("metadata"))}
    assert set(sizes) == set(METADATA) and set(sizes.values()) == {0}
    reqs = fake.stats()["requests"]
    assert not any(k in reqs for k in ("GET /api/card", "GET /api/collection", "GET /api/dashboard",
                                       "GET /api/database", "GET /api/user")), reqs


def test_metadata_of_a_user(fake, analyst):
    assert sorted(os.listdir(analyst.p("metadata"))) == sorted(set(METADATA) - {"users.json"})
    cards = json.loads(read(analyst.p("metadata", "cards.json")))
    assert 19 not in {c["id"] for c in cards}        # Marketing is hidden from the analyst


# ---- 6. extended attributes and timestamps ---------------------------------------------------

def test_getfattr_of_a_card_file(fake, mnt):
    path = mnt.p("collections", "Sales", "Revenue.csv")
    out = subprocess.run(["getfattr", "-d", "--absolute-names", path], capture_output=True,
                         text=True, check=True).stdout
    assert 'user.mb.id="3"' in out
    assert 'user.mb.model="card"' in out
    assert 'user.mb.url="%s/question/3"' % fake.url in out


def test_xattrs_of_every_kind(fake, mnt):
    u = fake.url
    cases = {
        mnt.p("collections"): {"user.mb.id": "root", "user.mb.model": "collection",
                               "user.mb.url": u + "/collection/root"},
        mnt.p("collections", "Sales"): {"user.mb.id": "3", "user.mb.model": "collection",
                                        "user.mb.url": u + "/collection/3",
                                        "user.mb.description": "Everything the sales team looks at."},
        mnt.p("collections", "Sales", "Product catalogue.csv"): {"user.mb.id": "7", "user.mb.model": "dataset",
                                                                 "user.mb.url": u + "/model/7"},
        mnt.p("collections", "Sales", "Revenue.sql"): {"user.mb.id": "3", "user.mb.model": "card",
                                                       "user.mb.url": u + "/question/3"},
        mnt.p("collections", "Sales", "Sales overview"): {"user.mb.id": "1", "user.mb.model": "dashboard",
                                                          "user.mb.url": u + "/dashboard/1"},
        mnt.p("dashboards", "1"): {"user.mb.id": "1", "user.mb.model": "dashboard",
                                   "user.mb.url": u + "/dashboard/1"},
        mnt.p("dashboards", "2", "Details"): {"user.mb.id": "2", "user.mb.model": "tab",
                                              "user.mb.dashboard_id": "2",
                                              "user.mb.url": u + "/dashboard/2?tab=2"},
        mnt.p("dashboards", "1", "Catalogue ／ filtered.json"): {
            "user.mb.id": "7", "user.mb.model": "dataset", "user.mb.dashboard_id": "1",
            "user.mb.dashcard_id": "6", "user.mb.url": u + "/model/7"},
        mnt.p("databases", "Sample Database"): {"user.mb.id": "1", "user.mb.model": "database",
                                                "user.mb.url": u + "/browse/databases/1"},
        mnt.p("databases", "Sample Database", "PUBLIC"): {"user.mb.model": "schema", "user.mb.database_id": "1",
                                                          "user.mb.url": u + "/browse/databases/1/schema/PUBLIC"},
        mnt.p("databases", "Sample Database", "PUBLIC", "ORDERS.csv"): {
            "user.mb.id": "2", "user.mb.model": "table", "user.mb.database_id": "1",
            "user.mb.url": u + "/reference/databases/1/tables/2"},
        mnt.p("metadata", "users.json"): {"user.mb.model": "metadata", "user.mb.url": u + "/api/user"},
        mnt.p("collections", "Personal"): {"user.mb.url": u + "/collection/users"},
    }
    if fake.behaviour == "new":
        cases[mnt.p("cards", "22.csv")] = {"user.mb.id": "22", "user.mb.model": "metric",
                                          "user.mb.url": u + "/metric/22"}
    for path, want in cases.items():
        got = xattrs(path)
        for k, v in want.items():
            assert got.get(k) == v, (path, k, got)
        # listxattr lists exactly what getxattr answers
        for name in got:
            assert os.getxattr(path, name)
        with pytest.raises(OSError) as e:
            os.getxattr(path, "user.mb.nonexistent")
        assert e.value.errno == errno.ENODATA


def test_xattrs_after_export_and_failure(fake, mnt):
    path = mnt.p("dashboards", "1", "Revenue.csv")
    names = set(os.listxattr(path))        # lookup materialized it (rule 2)
    assert {"user.mb.rows", "user.mb.exported_at", "user.mb.duration_ms", "user.mb.truncated"} <= names
    assert "user.mb.error" not in names
    rows = len(read(path).splitlines()) - 1
    assert os.getxattr(path, "user.mb.rows") == str(rows).encode()
    broken = mnt.p("collections", "Ops ／ Finance", "Broken SQL.csv")
    os.stat(broken)
    names = set(os.listxattr(broken))
    assert "user.mb.error" in names and "user.mb.rows" not in names


def test_timestamps(fake, mount_factory):
    m = mount_factory(fake.url, "stat=cached")
    token = fake.login()
    for cid in (1, 2, 3, 4, 5, 6):                  # updated_at with -07:00, Z, +02:00 and no offset
        card = fake.get_json("/api/card/%d" % cid, token)
        want = parse_ts(card["updated_at"])
        assert int(os.stat(m.p("cards", "%d.csv" % cid)).st_mtime) == want, card["updated_at"]
        assert os.getxattr(m.p("cards", "%d.json" % cid), "user.mb.updated_at").decode() == \
            datetime.datetime.fromtimestamp(want, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the same card in its collection: the same mtime
    assert int(os.stat(m.p("collections", "Sales", "Revenue.csv")).st_mtime) == \
        parse_ts(fake.get_json("/api/card/3", token)["updated_at"])
    # once a result is cached: the time it was fetched
    before = time.time()
    path = m.p("cards", "1.csv")
    with open(path, "rb") as f:
        mtime = os.fstat(f.fileno()).st_mtime
    assert before - 2 <= mtime <= time.time() + 1
    exported = os.getxattr(path, "user.mb.exported_at").decode()
    assert abs(parse_ts(exported) - mtime) <= 1


# ---- 7. freshness -------------------------------------------------------------------------

def test_rename_then_touch_dir_keeps_the_inode(own, mount_factory):
    m = mount_factory(own.url)
    sales = m.p("collections", "Sales")
    old = os.path.join(sales, "Revenue ／ Cost.csv")
    ino = os.stat(old).st_ino
    own.edit(kind="card", id=5, op="rename", name="Margin")
    assert "Revenue ／ Cost.csv" in os.listdir(sales)         # cached for meta_ttl (60 s)
    os.utime(sales)                                            # touch DIR: re-list now
    names = os.listdir(sales)
    assert "Margin.csv" in names and "Margin.sql" in names and "Revenue ／ Cost.csv" not in names
    assert os.stat(os.path.join(sales, "Margin.csv")).st_ino == ino
    # the kernel forgot the old name too (not only readdir)
    assert wait_for(lambda: not os.path.exists(old), timeout=3)
    subprocess.run(["touch", m.p("cards")], check=True)
    assert os.stat(m.p("cards", "5.csv")).st_ino == ino


def test_move_and_delete_show_after_the_ttl(own, mount_factory):
    m = mount_factory(own.url, "meta_ttl=1")
    sales, ops = m.p("collections", "Sales"), m.p("collections", "Ops ／ Finance")
    ino = os.stat(os.path.join(sales, "Top customers.csv")).st_ino
    assert "Tax summary.csv" in os.listdir(ops)
    own.edit(kind="card", id=8, op="move", collection_id=8)      # Top customers → Ops / Finance
    own.edit(kind="card", id=23, op="delete")                    # Tax summary → archived
    assert wait_for(lambda: "Top customers.csv" in os.listdir(ops), timeout=5)
    assert "Top customers.csv" not in os.listdir(sales)
    assert "Tax summary.csv" not in os.listdir(ops)
    assert os.stat(os.path.join(ops, "Top customers.csv")).st_ino == ino
    assert wait_for(lambda: "23.csv" not in os.listdir(m.p("cards")), timeout=5)
    assert not os.path.exists(os.path.join(sales, "Top customers.csv"))


def test_archived_card_leaves_its_dashboard(own, mount_factory):
    m = mount_factory(own.url)
    d = m.p("collections", "Sales", "Sales overview")
    assert "Orders per day.csv" in os.listdir(d)
    own.edit(kind="card", id=9, op="archive")
    os.utime(d)
    assert "Orders per day.csv" not in os.listdir(d)
    os.utime(m.p("dashboards", "1"))
    assert "Orders per day.csv" not in os.listdir(m.p("dashboards", "1"))


def test_touch_file_drops_a_dashcard_result(fake, mnt):
    path = mnt.p("dashboards", "1", "Orders per day.csv")
    read(path)
    fake.reset()
    read(path)
    assert fake.stats()["exports"] == {}
    os.utime(path)
    read(path)
    assert fake.stats()["exports"] == {"dashcard:1:4:9:csv": 1}


def test_touch_of_a_metadata_file_and_sighup(own, mount_factory):
    m = mount_factory(own.url)
    cards = m.p("metadata", "cards.json")
    assert "Pipeline" not in {c["name"] for c in json.loads(read(cards))}
    own.edit(kind="card", id=2, op="rename", name="Pipeline")
    assert "Pipeline" not in {c["name"] for c in json.loads(read(cards))}     # cached for meta_ttl
    os.utime(cards)
    assert "Pipeline" in {c["name"] for c in json.loads(read(cards))}
    # SIGHUP drops every listing and object
    ino = os.stat(m.p("collections", "Pipeline.csv")).st_ino
    own.edit(kind="card", id=2, op="rename", name="Pipeline 2")
    own.edit(kind="dashboard", id=2, op="rename", name="KPIs")
    assert "Pipeline.csv" in os.listdir(m.p("collections"))
    m.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Pipeline 2.csv" in os.listdir(m.p("collections")), timeout=5)
    top = os.listdir(m.p("collections"))
    assert "KPIs" in top and "Weekly KPIs" not in top
    assert os.stat(m.p("collections", "Pipeline 2.csv")).st_ino == ino
    assert "Pipeline 2" in {c["name"] for c in json.loads(read(cards))}


def test_kernel_timeouts_follow_meta_ttl(own, mount_factory):
    m = mount_factory(own.url, "meta_ttl=1", "stat=cached")
    path = m.p("cards", "4.csv")
    os.stat(path)
    own.edit(kind="card", id=4, op="delete")
    # after the TTL the kernel asks again, the listing is fetched again, the entry is gone
    assert wait_for(lambda: not os.path.exists(path), timeout=5)


# ---- 8. permissions -------------------------------------------------------------------------

def test_a_user_sees_only_what_they_may_read(fake, analyst):
    top = set(os.listdir(analyst.p("collections")))
    assert "Marketing" not in top and "Sales" in top
    cards = set(os.listdir(analyst.p("cards")))
    assert not {"19.csv", "20.csv", "21.csv"} & cards and "3.csv" in cards
    assert sorted(os.listdir(analyst.p("databases"))) == ["Empty Lake", "Sample Database"]
    assert sorted(os.listdir(analyst.p("dashboards"))) == ["1", "2", "3", "6"]   # not Campaign board
    assert "Bobby Tables" not in os.listdir(analyst.p("collections", "Personal"))
    token = fake.login(*ANALYST)
    assert read(analyst.p("cards", "3.csv")) == fake.export("card", 3, "csv", token)


def test_403_on_export_is_eacces_with_the_servers_text(fake, analyst):
    for path in (analyst.p("collections", "Ops ／ Finance", "Warehouse events.csv"),
                 analyst.p("dashboards", "3", "Warehouse events.json")):
        assert os.stat(path).st_size == 0                # the failed export still has a name
        with pytest.raises(OSError) as e:
            read(path)
        assert e.value.errno == errno.EACCES, path
        msg = os.getxattr(path, "user.mb.error").decode()
        assert "You don't have permissions to do that." in msg
