# test_fake_server.py — the contract of tests/fake_metabase (the fake Metabase
# used by the integration tests), checked against both emulated versions.
#
#   /usr/bin/python3 -m pytest tests/integration/test_fake_server.py
#
# Standard library + pytest only.

import csv
import io
import json
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile

import pytest

from fakeserver import ADMIN, ANALYST, API_KEY, FakeServer

BEHAVIOURS = ["new", "old"]


@pytest.fixture(scope="module", params=BEHAVIOURS)
def fs(request):
    server = FakeServer(request.param)
    yield server
    assert server.stop() == 0


@pytest.fixture
def token(fs):
    return fs.login(*ADMIN)


def card_by_name(fs, name):
    return [c for c in fs.catalog()["cards"] if c["name"] == name]


# ---------------------------------------------------------------------------
# raw HTTP helpers (to see the wire: chunking, Connection headers)
# ---------------------------------------------------------------------------

def raw_exchange(fs, method, path, token, body=b"", content_type="application/x-www-form-urlencoded"):
    """Send one request on a raw socket; returns (status line, headers dict, [chunk sizes], body)."""
    s = socket.create_connection((fs.host, fs.port), timeout=30)
    try:
        req = ("%s %s HTTP/1.1\r\nHost: %s:%d\r\nX-Metabase-Session: %s\r\nContent-Type: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (method, path, fs.host, fs.port, token, content_type, len(body)))
        s.sendall(req.encode() + body)
        f = s.makefile("rb")
        status = f.readline().decode().strip()
        headers = {}
        while True:
            line = f.readline().decode()
            if line in ("\r\n", "\n", ""):
                break
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        sizes, parts = [], []
        if headers.get("transfer-encoding") == "chunked":
            while True:
                size = int(f.readline().split(b";")[0], 16)
                if size == 0:
                    f.readline()
                    break
                sizes.append(size)
                parts.append(f.read(size))
                assert f.read(2) == b"\r\n"
        else:
            parts.append(f.read(int(headers.get("content-length", "0"))))
        return status, headers, sizes, b"".join(parts)
    finally:
        s.close()


def parse_csv(body):
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


# ---------------------------------------------------------------------------
# startup, properties, health
# ---------------------------------------------------------------------------

def test_properties_and_health(fs):
    props = fs.get_json("/api/session/properties")
    assert props["version"]["tag"] == {"new": "v0.63.1", "old": "v0.46.6"}[fs.behaviour]
    assert set(props["version"]) >= {"tag", "hash", "date", "branch"}
    assert props["has-user-setup"] is True and props["enable-password-login"] is True
    assert "site-name" in props and "site-url" in props and "token-features" in props
    assert fs.get_json("/api/health") == {"status": "ok"}


# ---------------------------------------------------------------------------
# authentication
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/api/card"), ("GET", "/api/card/1"), ("GET", "/api/card/whatever/zzz"),
    ("GET", "/api/collection/root/items"), ("GET", "/api/database"), ("GET", "/api/table/1"),
    ("POST", "/api/dataset/csv"), ("POST", "/api/card/1/query/csv"), ("GET", "/api/user/current"),
    ("GET", "/api/search?q=x"), ("GET", "/api/dashboard"),
])
def test_unauthenticated_is_plain_401(fs, method, path):
    r = fs.request(method, path)
    assert r.status == 401
    assert r.headers["content-type"].startswith("text/plain")
    assert r.body == b"Unauthenticated"


def test_bad_session_and_bad_key_are_401(fs):
    r = fs.get("/api/card", token="6b0f6b52-5a87-4b55-9d1a-0b3c8b0d9a11")
    assert (r.status, r.body) == (401, b"Unauthenticated")
    r = fs.get("/api/card", api_key="mb_wrong")
    assert (r.status, r.body) == (401, b"Unauthenticated")


def test_unknown_routes(fs, token):
    r = fs.get("/api/nope")
    assert (r.status, r.body) == (404, b"API endpoint does not exist.")
    r = fs.get("/api/card/1/zzz", token=token)
    assert (r.status, r.body) == (404, b"API endpoint does not exist.")
    assert r.headers["content-type"].startswith("text/plain")


def test_login_success_sets_cookie(fs):
    r = fs.request("POST", "/api/session", json_body={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status == 200
    sid = r.json()["id"]
    assert len(sid) == 36 and sid.count("-") == 4
    cookies = [v for k, v in r.header_list if k.lower() == "set-cookie"]
    assert any(c.startswith("metabase.SESSION=%s;" % sid) and "HttpOnly" in c for c in cookies)
    # the cookie works as a credential
    r = fs.get("/api/user/current", headers={"Cookie": "metabase.SESSION=%s" % sid})
    assert r.status == 200 and r.json()["email"] == ADMIN[0]


def test_login_username_case_insensitive(fs):
    assert fs.login("Admin@Example.com", ADMIN[1])


@pytest.mark.parametrize("body,field", [
    ({"password": "x"}, "username"), ({"username": "", "password": "x"}, "username"),
    ({"username": "  ", "password": "x"}, "username"), ({"username": ADMIN[0]}, "password"),
])
def test_login_validation_400(fs, body, field):
    r = fs.request("POST", "/api/session", json_body=body)
    assert r.status == 400
    assert r.json()["errors"] == {field: "value must be a non-blank string."}


@pytest.mark.parametrize("user,pw", [(ADMIN[0], "wrong"), ("nobody@example.com", "x")])
def test_login_bad_credentials_401(fs, user, pw):
    r = fs.request("POST", "/api/session", json_body={"username": user, "password": pw})
    assert r.status == 401
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"errors": {"password": "did not match stored password"}}


def test_malformed_json_body(fs):
    r = fs.request("POST", "/api/session", body=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert r.body == b"Malformed JSON in request body."


def test_api_key_only_in_new(fs):
    r = fs.get("/api/user/current", api_key=API_KEY)
    if fs.behaviour == "new":
        assert r.status == 200 and r.json()["id"] == 1
    else:
        assert (r.status, r.body) == (401, b"Unauthenticated")


def test_logout(fs):
    tok = fs.login(*ADMIN)
    r = fs.request("DELETE", "/api/session", token=tok)
    assert r.status == 204 and r.body == b""
    assert fs.get("/api/card", token=tok).status == 401
    r = fs.request("DELETE", "/api/session", token=tok)
    assert (r.status, r.body) == (404, b"Not found.")
    r = fs.request("DELETE", "/api/session")
    assert (r.status, r.body) == (404, b"Not found.")


def test_user_current(fs, token):
    u = fs.get_json("/api/user/current", token)
    assert u["id"] == 1 and u["first_name"] == "Bobby" and u["last_name"] == "Tables"
    assert u["is_superuser"] is True and u["common_name"] == "Bobby Tables"
    assert u["personal_collection_id"] == 1
    a = fs.get_json("/api/user/current", fs.login(*ANALYST))
    assert a["id"] == 2 and a["is_superuser"] is False and a["personal_collection_id"] == 2


def test_expire_sessions_side_channel(fs):
    tok = fs.login(*ADMIN)
    assert fs.get("/api/card/1", token=tok).status == 200
    assert fs.stats()["sessions_active"] >= 1
    fs.expire_sessions()
    assert fs.stats()["sessions_active"] == 0
    r = fs.get("/api/card/1", token=tok)
    assert (r.status, r.body) == (401, b"Unauthenticated")
    assert fs.get("/api/card/1", token=fs.login(*ADMIN)).status == 200


def test_session_max_age():
    with FakeServer("new", session_max_age=1) as short:
        tok = short.login(*ADMIN)
        assert short.get("/api/card/1", token=tok).status == 200
        time.sleep(1.3)
        r = short.get("/api/card/1", token=tok)
        assert (r.status, r.body) == (401, b"Unauthenticated")
        assert short.stats()["sessions_active"] == 0


# ---------------------------------------------------------------------------
# collections
# ---------------------------------------------------------------------------

def test_collection_list(fs, token):
    colls = fs.get_json("/api/collection", token)
    assert colls[0]["id"] == "root" and colls[0]["name"] == "Our analytics"
    names = {c["name"]: c for c in colls}
    assert "Bobby Tables's Personal Collection" in names
    assert names["Bobby Tables's Personal Collection"]["personal_owner_id"] == 1
    assert "Ada Analyst's Personal Collection" in names          # admins see every personal collection
    assert "Old Reports" not in names                            # archived
    assert {"Sales", "Regional", "EMEA", "Deep Dive", "Marketing", "Ops / Finance"} <= set(names)
    archived = fs.get_json("/api/collection?archived=true", token)
    assert [c["name"] for c in archived] == ["Old Reports"]
    mine = fs.get_json("/api/collection?exclude-other-user-collections=true", token)
    assert "Ada Analyst's Personal Collection" not in {c["name"] for c in mine}
    personal = fs.get_json("/api/collection?personal-only=true", token)
    assert {c["personal_owner_id"] for c in personal} == {1, 2}


def test_non_admin_sees_only_own_personal_collection(fs):
    tok = fs.login(*ANALYST)
    names = {c["name"] for c in fs.get_json("/api/collection", tok)}
    assert "Ada Analyst's Personal Collection" in names
    assert "Bobby Tables's Personal Collection" not in names
    assert fs.get("/api/collection/1", token=tok).status == 403


def test_collection_detail(fs, token):
    deep = fs.get_json("/api/collection/6", token)
    assert deep["name"] == "Deep Dive" and deep["location"] == "/3/4/5/"
    assert deep["parent_id"] == 5 and deep["can_write"] is True
    assert [a["id"] for a in deep["effective_ancestors"]] == ["root", 3, 4, 5]
    root = fs.get_json("/api/collection/root", token)
    assert root["id"] == "root" and root["name"] == "Our analytics"
    r = fs.get("/api/collection/9999", token=token)
    assert (r.status, r.body) == (404, b"Not found.")
    assert fs.get_json("/api/collection/9", token)["archived"] is True


def test_root_items_envelope(fs, token):
    env = fs.get_json("/api/collection/root/items", token)
    assert set(env) == {"total", "data", "models", "limit", "offset"}
    assert env["limit"] is None and env["offset"] is None
    assert env["total"] == len(env["data"])
    assert env["models"] == sorted(env["models"]) and "card" in env["models"]
    names = [(i["model"], i["name"]) for i in env["data"]]
    assert ("collection", "Sales") in names and ("card", "Orders") in names
    assert not any("Personal Collection" in n for _, n in names)
    assert ("collection", "Old Reports") not in names
    assert [n.lower() for _, n in names] == sorted(n.lower() for _, n in names)
    for item in env["data"]:
        assert item["model"] in ("card", "dataset", "metric", "dashboard", "collection")
        if item["model"] == "card":
            assert {"id", "name", "description", "entity_id", "collection_position", "display",
                    "collection_preview", "database_id", "moderated_status", "last-edit-info"} <= set(item)
            assert len(item["entity_id"]) == 21
        if item["model"] == "collection":
            assert {"id", "name", "description", "entity_id", "authority_level", "can_write"} <= set(item)
            assert "display" not in item


def test_items_sales(fs, token):
    env = fs.get_json("/api/collection/3/items", token)
    items = env["data"]
    revenue = [i for i in items if i["name"] == "Revenue"]
    assert len(revenue) == 2 and revenue[0]["id"] != revenue[1]["id"]
    models = {i["name"]: i["model"] for i in items}
    assert models["Product catalogue"] == "dataset"
    assert models["Revenue / Cost"] == "card"
    assert models["Regional"] == "collection"
    assert "Old revenue" not in models                      # archived card
    if fs.behaviour == "new":
        assert models["Total revenue"] == "metric"
    else:
        assert "Total revenue" not in models
    archived = fs.get_json("/api/collection/3/items?archived=true", token)
    assert [(i["model"], i["name"]) for i in archived["data"]] == [("card", "Old revenue"),
                                                                   ("dashboard", "Retired board")]


def test_items_models_filter_and_paging(fs, token):
    env = fs.get_json("/api/collection/3/items?models=card&models=dataset", token)
    assert env["models"] == ["card", "dataset"]
    assert {i["model"] for i in env["data"]} == {"card", "dataset"}
    full = fs.get_json("/api/collection/3/items", token)
    page = fs.get_json("/api/collection/3/items?limit=2&offset=1", token)
    assert page["limit"] == 2 and page["offset"] == 1
    assert page["total"] == full["total"]
    assert page["data"] == full["data"][1:3]
    only_limit = fs.get_json("/api/collection/3/items?limit=3", token)
    assert only_limit["offset"] == 0 and only_limit["data"] == full["data"][:3]
    only_offset = fs.get_json("/api/collection/3/items?offset=2", token)
    assert only_offset["limit"] == 50 and only_offset["data"] == full["data"][2:52]


def test_items_deep_and_hostile_names(fs, token):
    names = {i["name"] for i in fs.get_json("/api/collection/6/items", token)["data"]}
    assert ".." in names and "Quarterly\tsummary" in names
    long = [n for n in names if len(n.encode()) > 300]
    assert len(long) == 1
    ops = fs.get_json("/api/collection/8/items", token)["data"]
    assert "Ops / Finance" == fs.get_json("/api/collection/8", token)["name"]
    assert "Revenue / Cost" in {c["name"] for c in fs.catalog()["cards"]}
    assert ops


def test_items_unknown_collection(fs, token):
    assert fs.get("/api/collection/9999/items", token=token).status == 404


def test_items_kebab_params(fs, token):
    asc = fs.get_json("/api/collection/3/items?sort_column=name&sort_direction=desc", token)
    names = [i["name"].lower() for i in asc["data"]]
    assert names == sorted(names, reverse=True)
    kebab = fs.get_json("/api/collection/3/items?sort-column=name&sort-direction=desc", token)
    knames = [i["name"].lower() for i in kebab["data"]]
    if fs.behaviour == "new":
        assert knames == names
    else:                                  # old versions ignore unknown (kebab) parameters
        assert knames == sorted(knames)


# ---------------------------------------------------------------------------
# cards
# ---------------------------------------------------------------------------

def test_card_list(fs, token):
    cards = fs.get_json("/api/card", token)
    assert isinstance(cards, list) and len(cards) >= 25
    names = [c["name"] for c in cards]
    assert [n.lower() for n in names] == sorted(n.lower() for n in names)
    assert "Old revenue" not in names and "Legacy KPI" not in names
    assert all(c["archived"] is False for c in cards)
    orders = next(c for c in cards if c["name"] == "Orders")
    assert orders["collection"] is None and orders["collection_id"] is None
    sales = next(c for c in cards if c["name"] == "Revenue / Cost")
    assert sales["collection"]["name"] == "Sales"
    archived = fs.get_json("/api/card?f=archived", token)
    assert {c["name"] for c in archived} == {"Old revenue", "Legacy KPI"}


def test_card_fields_by_behaviour(fs, token):
    model = fs.get_json("/api/card/7", token)
    question = fs.get_json("/api/card/3", token)
    if fs.behaviour == "new":
        assert model["type"] == "model" and "dataset" not in model
        assert question["type"] == "question"
        assert fs.get_json("/api/card/22", token)["type"] == "metric"
        dq = question["dataset_query"]
        assert dq["lib/type"] == "mbql/query" and dq["stages"][0]["lib/type"] == "mbql.stage/native"
        assert "SELECT" in dq["stages"][0]["native"]
        legacy = fs.get_json("/api/card/3?legacy-mbql=true", token)["dataset_query"]
        assert legacy["type"] == "native" and "SELECT" in legacy["native"]["query"]
        mb = fs.get_json("/api/card/7", token)["dataset_query"]
        assert mb["stages"][0] == {"lib/type": "mbql.stage/mbql", "source-table": 1}
    else:
        assert model["dataset"] is True and "type" not in model
        assert question["dataset"] is False
        assert fs.get("/api/card/22", token=token).status == 404
        assert question["dataset_query"]["type"] == "native"
        assert fs.get_json("/api/card/7", token)["dataset_query"] == {
            "database": 1, "type": "query", "query": {"source-table": 1}}
    for c in (model, question):
        for key in ("id", "name", "description", "display", "collection_id", "collection", "archived",
                    "database_id", "table_id", "query_type", "dataset_query", "result_metadata", "parameters",
                    "created_at", "updated_at", "creator", "last-edit-info", "entity_id"):
            assert key in c, key
        assert len(c["entity_id"]) == 21
    assert question["query_type"] == "native" and question["table_id"] is None
    assert model["query_type"] == "query" and model["table_id"] == 1


def test_card_get_errors_and_archived(fs, token):
    r = fs.get("/api/card/99999", token=token)
    assert (r.status, r.body) == (404, b"Not found.")
    assert fs.get_json("/api/card/31", token)["archived"] is True
    r = fs.get("/api/card/abc", token=token)
    assert r.status == 400


def test_card_timestamps_mixed_offsets(fs, token):
    stamps = [c["updated_at"] for c in fs.get_json("/api/card", token)]
    with_offset = [s for s in stamps if s.endswith("Z") or s[-6] in "+-"]
    without = [s for s in stamps if s not in with_offset]
    assert with_offset and without


def test_result_metadata(fs, token):
    orders = fs.get_json("/api/card/1", token)
    cols = orders["result_metadata"]
    assert [c["display_name"] for c in cols][:3] == ["ID", "User ID", "Product ID"]
    assert cols[0]["field_ref"][0] == "field" and cols[0]["base_type"] == "type/BigInteger"
    assert fs.get_json("/api/card/24", token)["result_metadata"] is None   # never ran successfully


# ---------------------------------------------------------------------------
# exports: the CSV / JSON dialect
# ---------------------------------------------------------------------------

EDGE_CSV = (
    'ID,TEXT,AMOUNT,QTY,NOTE\n'
    '1,plain,29.46,3,\n'
    '2,"comma, inside",37.0,-4,x\n'
    '3,"quote ""inside""",1.2345678E7,9007199254740993,\n'
    '4,"line\nbreak",1.0E-5,0,  padded  \n'
    '5,"crlf\r\nend",-0.5,1,é ü 東京 🎉\n'
    '6,,1.0E21,,"{""json"": true}"\n'
).encode("utf-8")


def edge_id(fs):
    return card_by_name(fs, "Edge cases")[0]["id"]


def test_csv_dialect_exact(fs, token):
    assert fs.export("card", edge_id(fs), "csv", token) == EDGE_CSV


def test_json_export_exact(fs, token):
    body = fs.export("card", edge_id(fs), "json", token)
    assert body.startswith(b"[\n{") and body.endswith(b"}\n]")
    assert b'"AMOUNT":1.2345678E7' in body and b'"AMOUNT":37.0' in body
    rows = json.loads(body)
    assert rows[0] == {"ID": 1, "TEXT": "plain", "AMOUNT": 29.46, "QTY": 3, "NOTE": None}
    assert rows[3]["TEXT"] == "line\nbreak"
    assert list(rows[0]) == ["ID", "TEXT", "AMOUNT", "QTY", "NOTE"]
    assert body.count(b",\n{") == len(rows) - 1


def test_empty_result(fs, token):
    cid = card_by_name(fs, "Empty result")[0]["id"]
    assert fs.export("card", cid, "csv", token) == b"ID,TITLE,PRICE\n"
    assert fs.export("card", cid, "json", token) == b"[\n\n]"


def test_orders_csv_is_the_table(fs, token):
    body = fs.export("card", 1, "csv", token)
    rows = parse_csv(body)
    assert rows[0] == ["ID", "User ID", "Product ID", "Subtotal", "Tax", "Total", "Discount", "Created At",
                       "Quantity"]
    assert len(rows) == 18001
    assert not body.startswith(b"\xef\xbb\xbf") and b"\r\n" not in body
    assert sum(1 for r in rows[1:] if r[6] == "") > 10000          # DISCOUNT mostly NULL
    assert rows[1][7].endswith("Z") and "T" in rows[1][7]


def test_reviews_have_hostile_text(fs, token):
    rows = parse_csv(fs.export("card", 15, "csv", token))
    bodies = [r[4] for r in rows[1:]]
    assert any("\n" in b for b in bodies) and any('"' in b for b in bodies)
    assert any("," in b for b in bodies) and any("🚀" in b for b in bodies)


def test_people_dates_and_unicode(fs, token):
    rows = parse_csv(fs.export("dataset", 3, "csv", token))
    header = rows[0]
    assert header[:4] == ["ID", "Address", "Email", "Name"] and "Birth Date" in header
    bd = header.index("Birth Date")
    assert all(len(r[bd]) == 10 for r in rows[1:])
    assert len(rows) == 2501
    assert any("東京" in r[header.index("City")] for r in rows[1:])


def test_template_tag_parameters(fs, token):
    cid = card_by_name(fs, "Products by category")[0]["id"]
    default = parse_csv(fs.export("card", cid, "csv", token))
    assert {r[2] for r in default[1:]} == {"Widget"}
    gizmo = parse_csv(fs.export("card", cid, "csv", token, params=[
        {"type": "category", "value": "Gizmo", "target": ["variable", ["template-tag", "category"]]}]))
    assert {r[2] for r in gizmo[1:]} == {"Gizmo"} and len(gizmo) > 10


def test_parameters_encoding_by_version(fs, token):
    cid = card_by_name(fs, "Products by category")[0]["id"]
    params = json.dumps([{"type": "category", "value": "Gizmo",
                          "target": ["variable", ["template-tag", "category"]]}])
    qs = fs.request("POST", "/api/card/%d/query/csv?parameters=%s" % (cid, urllib.parse.quote(params)),
                    token=token)
    jb = fs.request("POST", "/api/card/%d/query/csv" % cid, token=token,
                    json_body={"parameters": json.loads(params), "format_rows": False})
    qs_cats = {r[2] for r in parse_csv(qs.body)[1:]}
    jb_cats = {r[2] for r in parse_csv(jb.body)[1:]}
    if fs.behaviour == "old":      # the query string is read, a JSON body is ignored
        assert qs_cats == {"Gizmo"} and jb_cats == {"Widget"}
    else:                          # the query string is ignored, a JSON body is read
        assert qs_cats == {"Widget"} and jb_cats == {"Gizmo"}


def test_format_rows(fs, token):
    raw = fs.export("card", edge_id(fs), "csv", token, format_rows=False)
    fmt = fs.export("card", edge_id(fs), "csv", token, format_rows=True)
    assert raw == EDGE_CSV
    if fs.behaviour == "new":
        assert fmt != raw and b"12,345,678" in fmt
    else:                          # v0.46 has no format_rows
        assert fmt == raw


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_exports_are_deterministic(fs, token, fmt):
    a = fs.export("card", 1, fmt, token)
    b = fs.export("card", 1, fmt, token)
    assert a == b and len(a) > 100000


def test_export_headers(fs, token):
    r = fs.export_request("card", 5, "csv", token)
    assert r.status == 200 and r.headers["content-type"] == "text/csv"
    cd = r.headers["content-disposition"]
    assert cd.startswith('attachment; filename="revenue_cost_') and cd.endswith('.csv"')
    j = fs.export_request("card", 5, "json", token)
    assert j.headers["content-type"] == "application/json; charset=utf-8"
    x = fs.export_request("card", 5, "xlsx", token)
    assert x.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    d = fs.export_request("dataset", 1, "csv", token)
    assert 'filename="query_result_' in d.headers["content-disposition"]


def _xlsx_rows(body):
    z = zipfile.ZipFile(io.BytesIO(body))
    assert z.testzip() is None
    names = set(z.namelist())
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml",
            "xl/_rels/workbook.xml.rels", "xl/styles.xml"} <= names
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    out = []
    for row in root.find("m:sheetData", ns):
        cells = []
        for c in row:
            if c.get("t") == "inlineStr":
                cells.append(("s", "".join(t.text or "" for t in c.iter("{%s}t" % ns["m"]))))
            else:
                v = c.find("m:v", ns)
                cells.append((c.get("t") or "n", v.text if v is not None else None))
        out.append(cells)
    return out


def test_xlsx_is_valid(fs, token):
    rows = _xlsx_rows(fs.export("card", edge_id(fs), "xlsx", token))
    assert [v for _, v in rows[0]] == ["ID", "TEXT", "AMOUNT", "QTY", "NOTE"]
    assert rows[1][0] == ("n", "1") and rows[1][2] == ("n", "29.46")
    assert rows[4][1] == ("s", "line\nbreak")
    assert len(rows) == 7
    orders = _xlsx_rows(fs.export("card", 1, "xlsx", token))
    assert len(orders) == 18001


def test_chunked_and_connection_close(fs, token):
    status, headers, sizes, body = raw_exchange(fs, "POST", "/api/card/1/query/csv", token,
                                                b"parameters=%5B%5D&format_rows=false")
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert len(sizes) >= 5 and max(sizes) <= 64 * 1024
    assert body == fs.export("card", 1, "csv", token)
    if fs.behaviour == "new":
        assert headers.get("connection") == "close"
    else:
        assert "connection" not in headers


def test_old_export_keeps_connection_alive(fs, token):
    import http.client
    conn = http.client.HTTPConnection(fs.host, fs.port, timeout=10)
    try:
        hdrs = {"X-Metabase-Session": token, "Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/api/card/%d/query/csv" % edge_id(fs), body="parameters=%5B%5D", headers=hdrs)
        r = conn.getresponse()
        assert r.read() == EDGE_CSV
        if fs.behaviour == "new":
            assert r.getheader("Connection") == "close" and r.will_close
        else:
            assert not r.will_close
            conn.request("GET", "/api/user/current", headers=hdrs)   # same connection
            r2 = conn.getresponse()
            assert r2.status == 200 and json.loads(r2.read())["id"] == 1
    finally:
        conn.close()


def test_json_endpoints_keep_alive(fs, token):
    import http.client
    conn = http.client.HTTPConnection(fs.host, fs.port, timeout=10)
    try:
        for path in ("/api/card/1", "/api/collection/root/items", "/api/user/current"):
            conn.request("GET", path, headers={"X-Metabase-Session": token})
            r = conn.getresponse()
            r.read()
            assert r.status == 200 and r.getheader("Content-Length")
            assert r.getheader("Connection") is None
    finally:
        conn.close()


def test_export_missing_card_and_errors(fs, token):
    r = fs.export_request("card", 99999, "csv", token)
    assert (r.status, r.body) == (404, b"Not found.")
    r = fs.request("POST", "/api/card/1/query/pdf", token=token)
    assert r.status == 404


def test_failing_query_by_era(fs, token):
    cid = card_by_name(fs, "Broken SQL")[0]["id"]
    r = fs.export_request("card", cid, "csv", token)
    if fs.behaviour == "old":          # era A: 200, the error is the whole body
        assert r.status == 200 and r.headers["content-type"] == "text/csv"
        assert r.body.startswith(b"{")
    else:                              # era B/C: a real status before the first byte
        assert r.status == 500 and r.headers["content-type"].startswith("application/json")
    err = r.json()
    assert err["status"] == "failed" and "NO_SUCH_COLUMN" in err["error"]
    assert err["error_type"] == "invalid-query"


# ---------------------------------------------------------------------------
# /api/dataset
# ---------------------------------------------------------------------------

def test_dataset_table_and_native(fs, token):
    rows = parse_csv(fs.export("dataset", 1, "csv", token))
    assert rows[0] == ["ID", "Ean", "Title", "Category", "Vendor", "Price", "Rating", "Created At"]
    assert len(rows) == 201
    native = fs.export("dataset", "SELECT CATEGORY, COUNT(*) AS N FROM PRODUCTS GROUP BY 1 ORDER BY 1",
                       "csv", token)
    rows = parse_csv(native)
    assert rows[0] == ["CATEGORY", "N"]
    assert [r[0] for r in rows[1:]] == ["Doohickey", "Gadget", "Gizmo", "Widget"]
    assert sum(int(r[1]) for r in rows[1:]) == 200
    wh = parse_csv(fs.export("dataset", (2, "SELECT id, is_mobile FROM analytics.events ORDER BY id LIMIT 3"),
                             "csv", token))
    assert wh[0] == ["id", "is_mobile"] and {r[1] for r in wh[1:]} <= {"true", "false"}


def test_dataset_mbql_filter_order_limit(fs, token):
    cat = fs.catalog()
    people = next(t for t in cat["tables"] if t["name"] == "PEOPLE")
    meta = fs.get_json("/api/table/%d/query_metadata" % people["id"], token)
    fid = {f["name"]: f["id"] for f in meta["fields"]}
    q = {"database": 1, "type": "query", "query": {
        "source-table": people["id"], "filter": ["=", ["field", fid["SOURCE"], None], "Twitter"],
        "order-by": [["desc", ["field", fid["ID"], None]]], "limit": 5}}
    rows = parse_csv(fs.export("dataset", q, "csv", token))
    assert len(rows) == 6
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids, reverse=True)
    src = rows[0].index("Source")
    assert {r[src] for r in rows[1:]} == {"Twitter"}
    agg = {"database": 1, "type": "query", "query": {
        "source-table": people["id"], "aggregation": [["count"]], "breakout": [["field", fid["SOURCE"], None]]}}
    rows = parse_csv(fs.export("dataset", agg, "csv", token))
    assert rows[0] == ["Source", "Count"] and sum(int(r[1]) for r in rows[1:]) == 2500


def test_dataset_errors(fs, token):
    r = fs.request("POST", "/api/dataset/csv", token=token, form={"query": "not json"})
    assert r.status == 400 and r.json()["errors"]["query"] == "value must be a valid JSON string."
    r = fs.export_request("dataset", {"database": 999, "type": "native", "native": {"query": "SELECT 1"}},
                          "csv", token)
    assert (r.status, r.body) == (404, b"Not found.")


def test_query_api_202(fs, token):
    r = fs.request("POST", "/api/card/1/query", token=token, json_body={})
    assert r.status == 202
    res = r.json()
    assert res["status"] == "completed" and res["row_count"] == 2000
    assert res["data"]["rows_truncated"] == 2000
    assert [c["display_name"] for c in res["data"]["cols"]][:2] == ["ID", "User ID"]
    r = fs.request("POST", "/api/dataset", token=token, json_body={
        "database": 1, "type": "native", "native": {"query": "SELECT 1 AS one"}})
    assert r.status == 202 and r.json()["data"]["rows"] == [[1]]


# ---------------------------------------------------------------------------
# row cap
# ---------------------------------------------------------------------------

def test_row_cap():
    with FakeServer("old", row_cap=100) as small:
        tok = small.login(*ADMIN)
        assert len(parse_csv(small.export("card", 1, "csv", tok))) == 101
        assert len(json.loads(small.export("dataset", 2, "json", tok))) == 100
        assert len(parse_csv(small.export("card", 26, "csv", tok))) == 1


# ---------------------------------------------------------------------------
# databases and tables
# ---------------------------------------------------------------------------

def test_databases(fs, token):
    env = fs.get_json("/api/database", token)
    assert set(env) == {"data", "total"} and env["total"] == 3
    assert [d["name"] for d in env["data"]] == ["Sample Database", "Warehouse", "Empty Lake"]
    assert env["data"][0]["engine"] == "h2"
    assert fs.get_json("/api/database/1/schemas", token) == ["PUBLIC"]
    assert fs.get_json("/api/database/2/schemas", token) == ["analytics", "raw"]
    assert fs.get_json("/api/database/3/schemas", token) == []
    tables = fs.get_json("/api/database/1/schema/PUBLIC", token)
    assert [t["display_name"] for t in tables] == ["Orders", "People", "Products", "Reviews"]
    assert fs.get("/api/database/1/schema/nope", token=token).status == 404
    assert fs.get("/api/database/42", token=token).status == 404
    meta = fs.get_json("/api/database/2/metadata", token)
    assert {t["name"] for t in meta["tables"]} == {"events", "daily_active_users", "raw_events", "import_log"}
    assert all(t["fields"] for t in meta["tables"])


def test_table_metadata(fs, token):
    t = fs.get_json("/api/table/2", token)
    assert t["name"] == "ORDERS" and t["schema"] == "PUBLIC" and t["db_id"] == 1 and t["db"]["id"] == 1
    qm = fs.get_json("/api/table/2/query_metadata", token)
    fields = {f["name"]: f for f in qm["fields"]}
    assert fields["USER_ID"]["display_name"] == "User ID"
    assert fields["CREATED_AT"]["display_name"] == "Created At"
    assert fields["ID"]["semantic_type"] == "type/PK" and fields["USER_ID"]["semantic_type"] == "type/FK"
    assert fields["USER_ID"]["target"]["table_id"] == 3
    assert fields["TOTAL"]["base_type"] == "type/Float"
    dau = fs.get_json("/api/table/6", token)
    assert dau["display_name"] == "Daily Active Users"


# ---------------------------------------------------------------------------
# stats side channel
# ---------------------------------------------------------------------------

def test_stats_counting(fs):
    fs.reset()
    s = fs.stats()
    assert s["requests"] == {} and s["exports"] == {} and s["logins"] == 0 and s["failed_logins"] == 0
    tok = fs.login(*ADMIN)
    fs.request("POST", "/api/session", json_body={"username": ADMIN[0], "password": "nope"})
    fs.get("/api/card/1", token=tok)
    fs.get("/api/card/2", token=tok)
    fs.get("/api/card")                                   # 401, still counted
    fs.export("card", 3, "csv", tok)
    fs.export("card", 3, "csv", tok)
    fs.export("card", 3, "json", tok)
    fs.export("dataset", 2, "csv", tok)
    fs.export("dataset", "SELECT 1", "json", tok)
    fs.get("/__fake/catalog")                             # never counted
    s = fs.stats()
    assert s["logins"] == 1 and s["failed_logins"] == 1
    assert s["requests"]["GET /api/card/:id"] == 2
    assert s["requests"]["GET /api/card"] == 1
    assert s["requests"]["POST /api/session"] == 2
    assert s["requests"]["POST /api/card/:id/query/:export-format"] == 3
    assert s["exports"] == {"card:3:csv": 2, "card:3:json": 1, "dataset:table:2:csv": 1,
                            "dataset:native:json": 1}
    assert not any(k.startswith("GET /__fake") for k in s["requests"])
    assert s["sessions_active"] >= 1


def test_catalog_side_channel(fs):
    cat = fs.catalog()
    assert {"cards", "collections", "databases", "tables"} <= set(cat)
    colls = {c["id"]: c for c in cat["collections"]}
    assert colls[6]["name"] == "Deep Dive" and colls[6]["parent"] == 5
    assert colls[9]["archived"] is True and colls[1]["personal_owner_id"] == 1
    kinds = {c["model"] for c in cat["cards"]}
    assert {"card", "dataset"} <= kinds
    assert {t["name"] for t in cat["tables"] if t["db_id"] == 1} == {"PRODUCTS", "ORDERS", "PEOPLE", "REVIEWS"}


def test_clean_exit_on_sigint():
    import signal
    s = FakeServer("old")
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(10) == 0
    s.stop()


# ===========================================================================
# phase 2: dashboards, dashboard questions, users, permissions, throttling,
# edits, faults, API keys, gzip, search
# ===========================================================================

def dashcards(fs, d):
    return d["dashcards"] if fs.behaviour == "new" else d["ordered_cards"]


def tabs(fs, d):
    return d["tabs"] if fs.behaviour == "new" else d["ordered_tabs"]


def test_dashboard_list(fs, token):
    ds = fs.get_json("/api/dashboard", token)
    names = [d["name"] for d in ds]
    assert {"Sales overview", "Weekly KPIs", "Ops board", "Campaign board"} <= set(names)
    assert "Retired board" not in names
    assert all("last-edit-info" in d and "dashcards" not in d and "ordered_cards" not in d for d in ds)
    assert [d["name"] for d in fs.get_json("/api/dashboard?f=archived", token)] == ["Retired board"]


def test_dashboard_shape_by_behaviour(fs, token):
    d = fs.get_json("/api/dashboard/1", token)
    if fs.behaviour == "new":
        assert "dashcards" in d and "tabs" in d and "ordered_cards" not in d
    else:
        assert "ordered_cards" in d and "ordered_tabs" in d and "dashcards" not in d
    cards = dashcards(fs, d)
    assert tabs(fs, d) == []
    virtual = [dc for dc in cards if dc["card_id"] is None]
    assert {dc["visualization_settings"]["virtual_card"]["display"] for dc in virtual} == {"text", "heading"}
    text_dc = next(dc for dc in virtual if dc["visualization_settings"]["virtual_card"]["display"] == "text")
    assert "Numbers" in text_dc["visualization_settings"]["text"]
    revenue = [dc for dc in cards if dc["card_id"] == 3]
    assert len(revenue) == 2                                    # the same card twice
    assert {dc["visualization_settings"].get("card.title") for dc in revenue} == {None, "Revenue (again)"}
    assert all(dc["card"]["name"] == "Revenue" for dc in revenue)
    params = {p["slug"]: p for p in d["parameters"]}
    assert params["from"]["default"] == "2025-01-01" and "category" in params
    mapped = next(dc for dc in cards if dc["card_id"] == 6)
    assert mapped["parameter_mappings"][0]["target"] == ["variable", ["template-tag", "category"]]


def test_dashboard_tabs(fs, token):
    d = fs.get_json("/api/dashboard/2", token)
    ts = tabs(fs, d)
    assert [t["name"] for t in ts] == ["Overview", "Details"]
    by_tab = {}
    for dc in dashcards(fs, d):
        by_tab.setdefault(dc["dashboard_tab_id"], []).append(dc["card_id"])
    assert set(by_tab) == {ts[0]["id"], ts[1]["id"]}
    assert 36 in by_tab[ts[1]["id"]]                            # the dashboard question


def test_dashboard_unreadable_card_stripped(fs):
    tok = fs.login(*ANALYST)
    d = fs.get_json("/api/dashboard/1", tok)
    stripped = [dc for dc in dashcards(fs, d) if dc["card_id"] == 19]
    assert len(stripped) == 1 and stripped[0]["card"] == {"id": 19}
    admin = fs.get_json("/api/dashboard/1", fs.login(*ADMIN))
    assert next(dc for dc in dashcards(fs, admin) if dc["card_id"] == 19)["card"]["name"] == "Campaign leads"


def test_dashboard_errors(fs, token):
    assert fs.get("/api/dashboard/999", token=token).status == 404
    r = fs.get("/api/dashboard/5", token=token)                 # archived
    if fs.behaviour == "old":
        assert r.status == 404 and r.json() == {"message": "The object has been archived.",
                                                "error_code": "archived"}
    else:
        assert r.status == 200 and r.json()["archived"] is True
    assert fs.get("/api/dashboard/4", token=fs.login(*ANALYST)).status == 403


def test_dashcard_export_applies_defaults(fs, token):
    cats = {r[2] for r in parse_csv(fs.export("dashcard", (1, 5, 6), "csv", token))[1:]}
    assert cats == {"Gizmo"}                                    # dashboard default, not the card's Widget
    widget = parse_csv(fs.export("dashcard", (1, 5, 6), "csv", token,
                                 params=[{"id": "p_category", "value": "Doohickey"}]))
    assert {r[2] for r in widget[1:]} == {"Doohickey"}
    days = parse_csv(fs.export("dashcard", (1, 4, 9), "csv", token))
    assert days[1][0] == "2025-01-01"                           # From default applied
    everything = parse_csv(fs.export("card", 9, "csv", token))
    assert everything[1][0] < "2025-01-01"
    model = parse_csv(fs.export("dashcard", (1, 6, 7), "csv", token))   # field (dimension) mapping
    assert {r[3] for r in model[1:]} == {"Gizmo"}
    assert fs.stats()["exports"].get("dashcard:1:5:6:csv", 0) >= 2


def test_dashcard_export_errors(fs, token):
    assert fs.export_request("dashcard", (1, 5, 3), "csv", token).status == 404     # wrong card
    assert fs.export_request("dashcard", (2, 5, 6), "csv", token).status == 404     # wrong dashboard
    assert fs.export_request("dashcard", (1, 8, 19), "csv", fs.login(*ANALYST)).status == 403


def test_dashboard_questions(fs, token):
    root = [i["name"] for i in fs.get_json("/api/collection/root/items", token)["data"]]
    shown = [i["name"] for i in
             fs.get_json("/api/collection/root/items?show_dashboard_questions=true", token)["data"]]
    kebab = [i["name"] for i in
             fs.get_json("/api/collection/root/items?show-dashboard-questions=true", token)["data"]]
    if fs.behaviour == "new":
        assert "KPI: orders last 30 days" not in root
        assert "KPI: orders last 30 days" in shown and "KPI: orders last 30 days" in kebab
        assert fs.get_json("/api/card/36", token)["dashboard_id"] == 2
    else:                                   # no dashboard questions before v0.53: a plain card
        assert "KPI: orders last 30 days" in root
    assert "KPI: orders last 30 days" in {c["name"] for c in fs.get_json("/api/card", token)}


def test_user_list_admin_only(fs, token):
    env = fs.get_json("/api/user", token)
    assert env["total"] == 2 and {u["email"] for u in env["data"]} == {ADMIN[0], ANALYST[0]}
    r = fs.get("/api/user", token=fs.login(*ANALYST))
    assert (r.status, r.body) == (403, b"You don't have permissions to do that.")


def test_analyst_permissions(fs):
    tok = fs.login(*ANALYST)
    root = {i["name"] for i in fs.get_json("/api/collection/root/items", tok)["data"]}
    assert "Marketing" not in root and "Sales" in root
    assert "Marketing" not in {c["name"] for c in fs.get_json("/api/collection", tok)}
    assert fs.get("/api/collection/7", token=tok).status == 403
    assert fs.get("/api/collection/10/items", token=tok).status == 403    # below Marketing
    r = fs.get("/api/card/19", token=tok)
    assert (r.status, r.body) == (403, b"You don't have permissions to do that.")
    assert "Campaign leads" not in {c["name"] for c in fs.get_json("/api/card", tok)}
    dbs = fs.get_json("/api/database", tok)
    assert [d["id"] for d in dbs["data"]] == [1, 3] and dbs["total"] == 2
    assert fs.get("/api/database/2", token=tok).status == 403
    assert fs.get("/api/database/2/schemas", token=tok).status == 403
    assert fs.get("/api/table/5", token=tok).status == 403
    assert fs.export_request("dataset", 5, "csv", tok).status == 403
    # a card the analyst can see, but whose export is refused
    assert fs.get("/api/card/33", token=tok).status == 200
    r = fs.export_request("card", 33, "csv", tok)
    assert (r.status, r.body) == (403, b"You don't have permissions to do that.")
    assert fs.export("card", 3, "csv", tok)                        # ordinary cards work


def test_search(fs, token):
    res = fs.get_json("/api/search?q=revenue&models=card", token)
    assert set(res) >= {"total", "data", "available_models", "limit", "offset", "table_db_id", "models"}
    assert {r["name"] for r in res["data"]} == {"Revenue", "Revenue / Cost"}
    assert all(r["model"] == "card" for r in res["data"])


def test_gzip_when_asked(fs, token):
    plain = fs.export("card", 1, "csv", token)
    r = fs.export_request("card", 1, "csv", token, headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    import gzip
    assert gzip.decompress(r.body) == plain


# --- API keys --------------------------------------------------------------

def test_api_key_side_channel(fs):
    fs.add_api_key("mb_test_key_analyst", user_id=2)
    r = fs.get("/api/user/current", api_key="mb_test_key_analyst")
    if fs.behaviour == "new":
        assert r.status == 200 and r.json()["id"] == 2
    else:
        assert r.status == 401
    fs.revoke_api_key("mb_test_key_analyst")
    assert fs.get("/api/user/current", api_key="mb_test_key_analyst").status == 401
    # a session wins over a key; DELETE /api/session with only a key is 404
    if fs.behaviour == "new":
        assert fs.request("DELETE", "/api/session", api_key=API_KEY).status == 404


# --- edits -----------------------------------------------------------------

def test_edit_side_channel():
    with FakeServer("new") as s:
        tok = s.login(*ADMIN)
        s.edit(kind="card", id=5, op="rename", name="Revenue minus cost")
        assert s.get_json("/api/card/5", tok)["name"] == "Revenue minus cost"
        s.edit(kind="card", id=5, op="move", collection_id=8)
        assert "Revenue minus cost" in {i["name"] for i in s.get_json("/api/collection/8/items", tok)["data"]}
        assert "Revenue minus cost" not in {i["name"] for i in s.get_json("/api/collection/3/items", tok)["data"]}
        s.edit(kind="card", id=5, op="delete")
        assert s.get_json("/api/card/5", tok)["archived"] is True
        assert "Revenue minus cost" not in {i["name"] for i in s.get_json("/api/collection/8/items", tok)["data"]}
        s.edit(kind="collection", id=4, op="move", collection_id="root")
        assert s.get_json("/api/collection/6", tok)["location"] == "/4/5/"
        s.edit(kind="collection", id=4, op="rename", name="Regions")
        assert "Regions" in {i["name"] for i in s.get_json("/api/collection/root/items", tok)["data"]}
        s.edit(kind="collection", id=8, op="archive")
        assert "Ops / Finance" not in {c["name"] for c in s.get_json("/api/collection", tok)}
        r = s.request("POST", "/__fake/edit", json_body={"kind": "card", "id": 999, "op": "rename", "name": "x"})
        assert r.status == 400


# --- login throttling ------------------------------------------------------

def test_login_throttling_per_username():
    with FakeServer("new") as s:
        user = ANALYST[0]
        for _ in range(10):
            r = s.request("POST", "/api/session", json_body={"username": user, "password": "bad"})
            assert r.json() == {"errors": {"password": "did not match stored password"}}
        r = s.request("POST", "/api/session", json_body={"username": user, "password": ANALYST[1]})
        assert r.status == 401
        assert r.json() == {"errors": {"username":
                                       "Too many attempts! You must wait 15 seconds before trying again."}}
        r = s.request("POST", "/api/session", json_body={"username": user, "password": ANALYST[1]})
        assert r.json()["errors"]["username"] == "Too many attempts! You must wait 42 seconds before trying again."
        # the key is the username exactly as sent: another spelling is a different key
        assert s.login(user.upper(), ANALYST[1])
        st = s.stats()
        assert st["failed_logins"] == 12 and st["throttled_logins"] == 2 and st["logins"] == 1
        s.reset_throttle()
        assert s.login(user, ANALYST[1])


def test_login_success_does_not_reset_throttle():
    with FakeServer("old") as s:
        user = ANALYST[0]
        for _ in range(9):
            s.request("POST", "/api/session", json_body={"username": user, "password": "bad"})
        assert s.login(user, ANALYST[1])                      # 9 failures: still allowed
        s.request("POST", "/api/session", json_body={"username": user, "password": "bad"})
        r = s.request("POST", "/api/session", json_body={"username": user, "password": ANALYST[1]})
        assert r.status == 401 and "Too many attempts" in r.json()["errors"]["username"]


def test_login_throttling_per_ip():
    with FakeServer("new") as s:
        ip = {"X-Forwarded-For": "203.0.113.7"}
        for i in range(50):
            s.request("POST", "/api/session", headers=ip,
                      json_body={"username": "user%d@example.com" % i, "password": "bad"})
        r = s.request("POST", "/api/session", headers=ip, json_body={"username": ADMIN[0], "password": ADMIN[1]})
        assert r.status == 401 and r.json()["errors"]["username"].startswith("Too many attempts!")
        assert s.login(*ADMIN)                                 # another IP is fine


def test_no_throttle_flag():
    with FakeServer("new", no_throttle=True) as s:
        for _ in range(12):
            s.request("POST", "/api/session", json_body={"username": ADMIN[0], "password": "bad"})
        assert s.login(*ADMIN)


# --- faults ----------------------------------------------------------------

@pytest.fixture
def faulty(fs):
    fs.clear_faults()
    yield fs
    fs.clear_faults()


def test_fault_latency_and_rate(faulty, token):
    fs = faulty
    cid = edge_id(fs)
    fs.add_fault(card_id=cid, latency_ms=400, count=1)
    t0 = time.monotonic()
    assert fs.export("card", cid, "csv", token) == EDGE_CSV
    assert time.monotonic() - t0 >= 0.4
    fs.add_fault(card_id=cid, rate_bps=1000, count=1)
    t0 = time.monotonic()
    assert fs.export("card", cid, "csv", token) == EDGE_CSV
    assert time.monotonic() - t0 >= 0.15


def test_fault_status_and_count(faulty, token):
    fs = faulty
    f = fs.add_fault(card_id=3, status=503, count=2)
    assert fs.export_request("card", 3, "csv", token).status == 503
    assert fs.export_request("card", 3, "csv", token).status == 503
    assert fs.export_request("card", 3, "csv", token).status == 200
    assert fs.stats()["faults"][f["id"]] == 2
    fs.add_fault(card_id=3, retry_after=7, count=1)
    r = fs.export_request("card", 3, "csv", token)
    assert r.status == 429 and r.headers["retry-after"] == "7"


def test_fault_connection_breaks(faulty, token):
    import http.client
    fs = faulty
    cid = edge_id(fs)
    fs.add_fault(card_id=cid, reset_after=40, count=1)
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        fs.export_request("card", cid, "csv", token)
    fs.add_fault(card_id=cid, truncate=True, count=1)
    with pytest.raises(http.client.IncompleteRead) as e:
        fs.export_request("card", cid, "csv", token)
    assert e.value.partial == EDGE_CSV
    fs.add_fault(card_id=cid, cut_after=30, count=1)
    with pytest.raises(http.client.IncompleteRead) as e:
        fs.export_request("card", cid, "csv", token)
    assert e.value.partial == EDGE_CSV[:30]
    assert fs.export("card", cid, "csv", token) == EDGE_CSV


def test_fault_inband_error(faulty, token):
    fs = faulty
    cid = edge_id(fs)
    fs.add_fault(card_id=cid, inband_error=True, after_bytes=60, count=1)
    r = fs.export_request("card", cid, "csv", token)
    assert r.status == 200 and r.headers["content-type"] == "text/csv"
    head, _, tail = r.body.partition(b"{")
    assert EDGE_CSV.startswith(head) and head.endswith(b"\n")
    assert json.loads(b"{" + tail)["status"] == "failed"


def test_fault_early_and_mid_stream_error_by_era(faulty, token):
    import http.client
    fs = faulty
    cid = edge_id(fs)
    fs.add_fault(card_id=cid, early_error=True, count=1)
    r = fs.export_request("card", cid, "csv", token)
    if fs.behaviour == "old":
        assert r.status == 200 and r.body.startswith(b'{') and r.json()["status"] == "failed"
    else:
        assert r.status == 500 and r.headers["content-type"].startswith("application/json")
    fs.add_fault(card_id=cid, mid_stream_error=True, after_bytes=60, count=1)
    if fs.behaviour == "old":
        r = fs.export_request("card", cid, "csv", token)
        assert r.status == 200 and b'"status":"failed"' in r.body and r.body.startswith(b"ID,")
    else:
        with pytest.raises(http.client.IncompleteRead):
            fs.export_request("card", cid, "csv", token)
    fs.add_fault(card_id=cid, early_error=True, era="C", count=1)      # forced era, any behaviour
    assert fs.export_request("card", cid, "csv", token).status == 500
    fs.add_fault(card_id=cid, mid_stream_error=True, era="A", count=1)
    assert b'"status":"failed"' in fs.export_request("card", cid, "csv", token).body


def test_fault_html_and_malformed_json(faulty, token):
    fs = faulty
    cid = edge_id(fs)
    fs.add_fault(card_id=cid, html_login=True, count=1)
    r = fs.export_request("card", cid, "csv", token)
    assert r.status == 200 and r.headers["content-type"].startswith("text/html") and b"<html>" in r.body
    fs.add_fault(card_id=cid, format="json", malformed_json=True, count=1)
    assert fs.export("card", cid, "csv", token) == EDGE_CSV       # format selector: csv unaffected
    body = fs.export("card", cid, "json", token)
    with pytest.raises(ValueError):
        json.loads(body)


def test_fault_by_endpoint(faulty, token):
    fs = faulty
    fs.add_fault(endpoint="GET /api/collection/:id/items", status=500, count=1)
    assert fs.get("/api/collection/3/items", token=token).status == 500
    assert fs.get("/api/collection/3/items", token=token).status == 200
    fs.add_fault(endpoint="GET /api/card/:id", malformed_json=True, count=1)
    with pytest.raises(ValueError):
        fs.get("/api/card/3", token=token).json()
    fs.add_fault(endpoint="POST /api/dataset/:export-format", status=502, count=1)
    assert fs.export_request("dataset", 1, "csv", token).status == 502
    fs.add_fault(table_id=1, latency_ms=300, count=1)
    t0 = time.monotonic()
    fs.export("dataset", 1, "csv", token)
    assert time.monotonic() - t0 >= 0.3
    fs.add_fault(endpoint="GET /api/session/properties", html_login=True, count=1)
    assert fs.get("/api/session/properties").headers["content-type"].startswith("text/html")
    assert fs.get("/api/session/properties").json()["version"]


def test_fault_validation(faulty):
    r = faulty.request("POST", "/__fake/faults", json_body={"card_id": 1})
    assert r.status == 400
    r = faulty.request("POST", "/__fake/faults", json_body={"card_id": 1, "explode": True})
    assert r.status == 400
    faulty.add_fault(card_id=1, status=500)
    assert len(faulty.get_json("/__fake/faults")) == 1
    assert faulty.clear_faults()["cleared"] == 1


# --- benchmark helpers -----------------------------------------------------

def test_bulk_catalogue_and_big_export():
    with FakeServer("new", bulk_collections=25, bulk_cards=100, bulk_dashboards=5, big_export_mb=2) as s:
        tok = s.login(*ADMIN)
        cat = s.catalog()
        bulk_colls = [c for c in cat["collections"] if c["id"] >= 1000]
        assert len(bulk_colls) == 26 and {c["parent"] for c in bulk_colls} >= {None, 1000, 1001}
        assert len([c for c in cat["cards"] if c["id"] >= 10001]) == 100
        assert len([d for d in cat["dashboards"] if d["id"] >= 1001]) == 5
        total = 0
        for c in bulk_colls:
            total += sum(1 for i in s.get_json("/api/collection/%d/items" % c["id"], tok)["data"]
                         if i["model"] == "card")
        assert total == 100
        assert "Bulk" in {i["name"] for i in s.get_json("/api/collection/root/items", tok)["data"]}
        big = s.export("card", 1000, "csv", tok)
        assert len(big) > 2 * 1024 * 1024
        rows = parse_csv(big)
        assert rows[0][:2] == ["ID", "EAN"] and len(rows) > 1000
        assert big == s.export("card", 1000, "csv", tok)
        assert len(json.loads(s.export("card", 1000, "json", tok))) == len(rows) - 1
    with FakeServer("old") as plain:                      # nothing of this by default
        assert max(c["id"] for c in plain.catalog()["cards"]) < 1000


# ---------------------------------------------------------------------------
# issue 11: card parameters, public links, ad-hoc SQL permissions, snippets
# ---------------------------------------------------------------------------

FILTERED_SQL = ("SELECT ORDERS.ID, ORDERS.CREATED_AT, PRODUCTS.CATEGORY, ORDERS.TOTAL\n"
                "FROM PUBLIC.ORDERS JOIN PUBLIC.PRODUCTS ON PRODUCTS.ID = ORDERS.PRODUCT_ID\n"
                "WHERE %s\nORDER BY ORDERS.ID")


def tag_param(ptype, value, tag, dimension=False):
    """A parameter as Metabase's UI sends it for a template tag."""
    return {"type": ptype, "value": value,
            "target": ["dimension" if dimension else "variable", ["template-tag", tag]]}


def sql_csv(fs, token, where):
    """The CSV of card 38's query with an explicit WHERE, run as ad-hoc SQL (the reference)."""
    return fs.export("dataset", FILTERED_SQL % where, "csv", token)


def query_failure(fs, r):
    """The QP failure object of an export, by era: in-band 200 (old) or a real status (new)."""
    if fs.behaviour == "old":                 # the format's own content type, status 200
        assert r.status == 200 and "content-disposition" in r.headers
    else:
        assert r.status >= 400 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "failed"
    return body


def test_card_parameters_as_metabase_returns_them(fs, token):
    c38 = fs.get_json("/api/card/38?legacy-mbql=true", token)
    tags = c38["dataset_query"]["native"]["template-tags"]
    assert set(tags) == {"category", "created_at"}
    assert tags["category"]["type"] == "text"
    assert tags["created_at"]["type"] == "dimension" and tags["created_at"]["widget-type"] == "date/range"
    orders_created = next(t for t in fs.catalog()["tables"] if t["name"] == "ORDERS")
    assert tags["created_at"]["dimension"][0] == "field"
    params = {p["slug"]: p for p in c38["parameters"]}
    assert set(params) == {"category", "created_at"}
    for p in params.values():
        assert set(p) >= {"id", "slug", "name", "type", "target"}
        assert p["id"] == tags[p["slug"]]["id"]                     # the UI's parameter id is the tag id
    assert params["category"] == {"id": tags["category"]["id"], "type": "category", "slug": "category",
                                  "name": "Category", "target": ["variable", ["template-tag", "category"]]}
    assert params["created_at"]["type"] == "date/range"
    assert params["created_at"]["target"] == ["dimension", ["template-tag", "created_at"]]
    assert params["created_at"]["default"] == "2025-01-01~2025-03-31"
    c39 = fs.get_json("/api/card/39", token)
    (price,) = c39["parameters"]
    assert (price["slug"], price["type"], price["name"]) == ("max_price", "number/=", "Max price")
    assert price["default"] == ([30] if fs.behaviour == "new" else "30")
    assert fs.get_json("/api/card/40", token)["parameters"] == []     # a GUI question has none of its own
    assert orders_created["db_id"] == 1
    cat = {c["id"]: c for c in fs.catalog()["cards"]}
    assert cat[38]["parameters"] == ["category", "created_at"] and cat[39]["parameters"] == ["max_price"]


def test_native_card_filters_like_the_sql(fs, token):
    default = fs.export("card", 38, "csv", token)              # created_at default, every category
    assert default == sql_csv(fs, token, "ORDERS.CREATED_AT >= '2025-01-01' AND ORDERS.CREATED_AT < '2025-04-01'")
    both = fs.export("card", 38, "csv", token, params=[
        tag_param("category", ["Gizmo"], "category"),
        tag_param("date/range", "2024-01-01~2024-03-31", "created_at", dimension=True)])
    want = sql_csv(fs, token, "ORDERS.CREATED_AT >= '2024-01-01' AND ORDERS.CREATED_AT < '2024-04-01' "
                              "AND PRODUCTS.CATEGORY = 'Gizmo'")
    assert both == want and both != default
    rows = parse_csv(both)
    assert len(rows) > 50 and {r[2] for r in rows[1:]} == {"Gizmo"}
    assert all("2024-01-01" <= r[1] < "2024-04-01" for r in rows[1:])
    # only the category: the created_at default still applies; a plain string value works too
    cat_only = fs.export("card", 38, "csv", token, params=[tag_param("category", "Gadget", "category")])
    assert cat_only == sql_csv(fs, token, "ORDERS.CREATED_AT >= '2025-01-01' AND ORDERS.CREATED_AT < '2025-04-01' "
                                          "AND PRODUCTS.CATEGORY = 'Gadget'")
    # a value of null leaves the default in place, as Metabase does
    assert fs.export("card", 38, "csv", token, params=[
        tag_param("date/range", None, "created_at", dimension=True)]) == default
    # by the card parameter's id alone (no target): resolved through card.parameters
    pid = next(p["id"] for p in fs.get_json("/api/card/38", token)["parameters"] if p["slug"] == "category")
    assert fs.export("card", 38, "csv", token, params=[{"id": pid, "type": "category", "value": ["Gadget"]}]) \
        == cat_only


@pytest.mark.parametrize("value,where", [
    ("2024-03", "ORDERS.CREATED_AT >= '2024-03-01' AND ORDERS.CREATED_AT < '2024-04-01'"),
    ("Q2-2023", "ORDERS.CREATED_AT >= '2023-04-01' AND ORDERS.CREATED_AT < '2023-07-01'"),
    ("2024-02-29", "ORDERS.CREATED_AT >= '2024-02-29' AND ORDERS.CREATED_AT < '2024-03-01'"),
    ("~2022-06-01", "ORDERS.CREATED_AT < '2022-06-02'"),
    ("2026-01-01~", "ORDERS.CREATED_AT >= '2026-01-01'"),
])
def test_date_parameter_forms(fs, token, value, where):
    got = fs.export("card", 38, "csv", token, params=[
        tag_param("date/all-options", value, "created_at", dimension=True)])
    assert got == sql_csv(fs, token, where) and len(parse_csv(got)) > 1


def test_number_parameter_and_its_default(fs, token):
    def prices(body):
        return [float(r[3]) for r in parse_csv(body)[1:]]
    default = fs.export("card", 39, "csv", token)
    assert default == fs.export("dataset", "SELECT ID, TITLE, CATEGORY, PRICE\nFROM PRODUCTS\nWHERE PRICE <= 30\n"
                                           "ORDER BY ID", "csv", token)
    assert prices(default) and max(prices(default)) <= 30
    for value in ([50], ["50"], "50", 50):
        got = fs.export("card", 39, "csv", token, params=[tag_param("number/=", value, "max_price")])
        assert len(prices(got)) > len(prices(default)) and max(prices(got)) <= 50, value


def test_bad_parameter_values_fail_like_metabase(fs, token):
    r = fs.export_request("card", 39, "csv", token, params=[tag_param("number/=", ["abc"], "max_price")])
    body = query_failure(fs, r)
    assert body["error_type"] == "invalid-parameter"
    assert body["error"] == ('For input string: "abc"' if fs.behaviour == "old" else 'Unparseable number: "abc"')
    assert any(v["error"].startswith('Error determining value for parameter "max_price": ') for v in body["via"])
    r = fs.export_request("card", 38, "csv", token, params=[
        tag_param("date/range", "someday", "created_at", dimension=True)])
    body = query_failure(fs, r)
    assert body["error"] == "Don't know how to parse date param 'someday' — invalid format"
    assert body["error_type"] == "invalid-parameter"
    # a parameter naming no template tag is refused before the query runs (500, JSON, any era)
    r = fs.export_request("card", 38, "csv", token, params=[tag_param("category", "x", "nope")])
    assert r.status == 500 and r.headers["content-type"].startswith("application/json")
    assert r.json()["message"] == 'Invalid parameter: Card 38 does not have a template tag named "nope".'
    # a tag outside [[ ]] without a value and without a default
    q = {"database": 1, "type": "native",
         "native": {"query": "SELECT * FROM PRODUCTS WHERE CATEGORY = {{cat}}",
                    "template-tags": {"cat": {"id": "t1", "name": "cat", "display-name": "Cat", "type": "text"}}}}
    body = query_failure(fs, fs.export_request("dataset", q, "csv", token))
    assert body["error"] == 'Cannot run the query: missing required parameters: #{"cat"}'
    assert body["error_type"] == "missing-required-parameter"
    q["native"]["template-tags"]["cat"]["required"] = True
    body = query_failure(fs, fs.export_request("dataset", q, "csv", token))
    assert body["error"] == "You'll need to pick a value for 'Cat' before this query can run."
    # ...and with a value it runs
    q["parameters"] = [tag_param("category", "Gizmo", "cat")]
    rows = parse_csv(fs.export("dataset", q, "csv", token))
    assert len(rows) > 10 and {r[3] for r in rows[1:]} == {"Gizmo"}


def test_gui_card_accepts_field_parameters(fs, token):
    fid = {(t["name"], f): None for t in fs.catalog()["tables"] for f in t["fields"]}
    assert ("PRODUCTS", "CATEGORY") in fid
    meta = fs.get_json("/api/table/1/query_metadata", token)
    fields = {f["name"]: f["id"] for f in meta["fields"]}
    unfiltered = parse_csv(fs.export("card", 40, "csv", token))
    assert len(unfiltered) == 201
    got = parse_csv(fs.export("card", 40, "csv", token, params=[
        {"type": "string/=", "value": ["Gizmo", "Gadget"], "target": ["dimension", ["field", fields["CATEGORY"], None]]},
        {"type": "number/between", "value": [20, 40], "target": ["dimension", ["field", fields["PRICE"], None]]}]))
    want = [r for r in unfiltered[1:] if r[2] in ("Gizmo", "Gadget") and 20 <= float(r[3]) <= 40]
    assert got[0] == unfiltered[0] and got[1:] == want and 0 < len(want) < 200


def test_dashboard_filters_map_to_dashcards(fs, token):
    d = fs.get_json("/api/dashboard/6", token)
    assert [(p["slug"], p["type"], p.get("default")) for p in d["parameters"]] == [
        ("category", "string/=", ["Widget"]), ("created_at", "date/all-options", "2024-01-01~2024-12-31"),
        ("max_price", "number/=", None)]
    cards = {dc["id"]: dc for dc in dashcards(fs, d)}
    assert {dc["card_id"] for dc in cards.values()} == {38, 39, 40, None}
    assert {m["parameter_id"] for m in cards[18]["parameter_mappings"]} == {"f_category", "f_created"}
    # defaults: Widget and 2024 for card 38; the card's own default (30) for the unset Max price
    assert fs.export("dashcard", (6, 18, 38), "csv", token) == sql_csv(
        fs, token, "ORDERS.CREATED_AT >= '2024-01-01' AND ORDERS.CREATED_AT < '2025-01-01' "
                   "AND PRODUCTS.CATEGORY = 'Widget'")
    assert fs.export("dashcard", (6, 19, 39), "csv", token) == fs.export("card", 39, "csv", token)
    got = fs.export("dashcard", (6, 18, 38), "csv", token, params=[
        {"id": "f_category", "type": "string/=", "value": ["Gizmo"]}, {"id": "f_created", "value": "2024-03"}])
    assert got == sql_csv(fs, token, "ORDERS.CREATED_AT >= '2024-03-01' AND ORDERS.CREATED_AT < '2024-04-01' "
                                     "AND PRODUCTS.CATEGORY = 'Gizmo'")
    # a filter sent without a value is unset: no category condition, the other default stays
    assert fs.export("dashcard", (6, 18, 38), "csv", token, params=[{"id": "f_category", "value": None}]) == \
        sql_csv(fs, token, "ORDERS.CREATED_AT >= '2024-01-01' AND ORDERS.CREATED_AT < '2025-01-01'")
    cheap = parse_csv(fs.export("dashcard", (6, 19, 39), "csv", token, params=[{"id": "f_price", "value": [20]}]))
    assert 1 < len(cheap) < len(parse_csv(fs.export("card", 39, "csv", token)))
    assert all(float(r[3]) <= 20 for r in cheap[1:])
    # the GUI card through field mappings (Widget, created in 2024)
    products = parse_csv(fs.export("dashcard", (6, 20, 40), "csv", token))
    assert len(products) > 1
    assert all(r[2] == "Widget" and r[4].startswith("2024-") for r in products[1:])
    every = parse_csv(fs.export("card", 40, "csv", token))
    assert products[1:] == [r for r in every[1:] if r[2] == "Widget" and r[4].startswith("2024-")]
    # an id the dashboard does not have: 400 before streaming
    r = fs.export_request("dashcard", (6, 18, 38), "csv", token, params=[{"id": "nope", "value": 1}])
    assert r.status == 400 and r.json()["message"] == 'Dashboard does not have a parameter with ID "nope".'


# --- public links ------------------------------------------------------------------

def public_uuids(fs, token):
    return {c["id"]: c["public_uuid"] for c in fs.get_json("/api/card/public", token)}


def test_public_card_list_is_for_admins(fs, token):
    r = fs.get("/api/card/public", token=token)
    assert r.status == 200
    rows = r.json()
    assert [c["id"] for c in rows] == [38, 39, 40]
    for c in rows:
        assert {"id", "name", "public_uuid"} <= set(c)
        assert fs.get_json("/api/card/%d" % c["id"], token)["public_uuid"] == c["public_uuid"]
    assert fs.get_json("/api/card/1", token)["public_uuid"] is None
    r = fs.get("/api/card/public", token=fs.login(*ANALYST))
    assert (r.status, r.body) == (403, b"You don't have permissions to do that.")
    dash = fs.get_json("/api/dashboard/public", token)
    assert [(x["id"], x["public_uuid"]) for x in dash] == [(6, fs.get_json("/api/dashboard/6", token)["public_uuid"])]
    cat = fs.catalog()
    assert {c["id"] for c in cat["cards"] if c["public_uuid"]} == {38, 39, 40}
    assert [d["id"] for d in cat["dashboards"] if d["public_uuid"]] == [6]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_public_card_export_needs_no_credentials(fs, token, fmt):
    uuid = public_uuids(fs, token)[38]
    fs.reset()
    r = fs.public_export_request("card", uuid, fmt)
    assert r.status == 200
    assert r.body == fs.export("card", 38, fmt, token)
    params = [tag_param("category", ["Gizmo"], "category"),
              tag_param("date/range", "2024-01-01~2024-03-31", "created_at", dimension=True)]
    r = fs.public_export_request("card", uuid, fmt, params=params)
    assert r.status == 200 and r.body == fs.export("card", 38, fmt, token, params=params)
    assert r.body != fs.export("card", 38, fmt, token)                 # the parameters did filter
    s = fs.stats()
    assert s["public_requests"] == 2 and s["public_credentials"] == 0 and s["public_credential_headers"] == {}
    assert s["exports"]["public:card:38:%s" % fmt] == 2 and s["logins"] == 0


def test_public_requests_with_credentials_are_counted(fs, token):
    uuid = public_uuids(fs, token)[39]
    fs.reset()
    assert fs.public_export_request("card", uuid, "csv", headers={"X-Metabase-Session": token}).status == 200
    assert fs.public_export_request("card", uuid, "csv", headers={"Cookie": "metabase.SESSION=%s" % token}).status == 200
    assert fs.public_export_request("card", uuid, "csv", headers={"X-Api-Key": API_KEY}).status == 200
    assert fs.public_export_request("card", uuid, "csv").status == 200
    s = fs.stats()
    assert s["public_requests"] == 4 and s["public_credentials"] == 3
    assert s["public_credential_headers"] == {"Cookie": 1, "X-Api-Key": 1, "X-Metabase-Session": 1}
    assert fs.get("/api/card/public", token=token).status == 200       # not a public route
    assert fs.stats()["public_requests"] == 4


def test_public_card_json_and_api(fs, token):
    uuid = public_uuids(fs, token)[38]
    card = fs.get_json(fs.public_path("card", uuid))
    assert card["id"] == 38 and card["name"] == "Orders by category and date"
    assert "SELECT" not in json.dumps(card)                            # the SQL is never shown
    if fs.behaviour == "new":
        assert [p["slug"] for p in card["parameters"]] == ["category", "created_at"]
    else:
        assert set(card["dataset_query"]["native"]["template-tags"]) == {"category", "created_at"}
    r = fs.get(fs.public_path("card", uuid, ""))
    assert r.status == 202
    res = r.json()
    assert res["status"] == "completed" and set(res) == {"data", "json_query", "status"}
    assert len(res["data"]["rows"]) == len(parse_csv(fs.export("card", 38, "csv", token))) - 1


def test_public_errors(fs, token):
    uuid = public_uuids(fs, token)[39]
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (fs.public_path("card", missing), fs.public_path("card", missing, "csv"),
                 fs.public_path("dashboard", missing)):
        r = fs.get(path)
        assert (r.status, r.body) == (404, b"Not found."), path
        assert r.headers["content-type"].startswith("text/plain")
    r = fs.get(fs.public_path("card", "not-a-uuid", "csv"))
    if fs.behaviour == "new":                   # ms/UUIDString, behind public-exceptions
        assert (r.status, r.body) == (400, b"An error occurred.")
    else:
        assert (r.status, r.body) == (404, b"Not found.")
    r = fs.get(fs.public_path("card", uuid, "csv") + "?parameters=not-json")
    assert (r.status, r.body) == (400, b"An error occurred.")
    r = fs.public_export_request("card", uuid, "csv", params=[tag_param("category", "x", "nope")])
    assert (r.status, r.body) == (400, b"An error occurred.")           # not the authenticated 500
    r = fs.public_export_request("card", uuid, "csv", params=[tag_param("number/=", ["abc"], "max_price")])
    body = query_failure(fs, r)
    assert set(body) == {"status", "error", "error_type"} and body["error_type"] == "invalid-parameter"
    assert fs.get("/api/public/nope").status == 404
    assert fs.get("/api/public/nope").body == b"API endpoint does not exist."


def test_public_query_failure_is_generic(fs, token):
    uuid = public_uuids(fs, token)[40]
    orders_total = next(f["id"] for f in fs.get_json("/api/table/2/query_metadata", token)["fields"]
                        if f["name"] == "TOTAL")
    bad = [{"type": "number/=", "value": [1], "target": ["dimension", ["field", orders_total, None]]}]
    authed = query_failure(fs, fs.export_request("card", 40, "csv", token, params=bad))
    assert "does not exist" in authed["error"] and authed["error_type"] == "invalid-query"
    body = query_failure(fs, fs.public_export_request("card", uuid, "csv", params=bad))
    assert body == {"status": "failed", "error": "An error occurred while running the query.",
                    "error_type": "invalid-query"}


def test_public_dashboard(fs, token):
    duuid = fs.get_json("/api/dashboard/6", token)["public_uuid"]
    d = fs.get_json(fs.public_path("dashboard", duuid))
    key = "dashcards" if fs.behaviour == "new" else "ordered_cards"
    assert d["id"] == 6 and [p["slug"] for p in d["parameters"]] == ["category", "created_at", "max_price"]
    assert sorted(dc["id"] for dc in d[key]) == [18, 19, 20, 21]
    assert "SELECT" not in json.dumps(d) and "creator" not in json.dumps(d)
    r = fs.get(fs.public_path("dashboard", duuid, dashcard=(18, 38)))
    assert r.status == 202 and r.json()["status"] == "completed"
    want_rows = len(parse_csv(fs.export("dashcard", (6, 18, 38), "csv", token))) - 1
    assert len(r.json()["data"]["rows"]) == want_rows
    q = urllib.parse.urlencode({"parameters": json.dumps([{"id": "f_category", "value": ["Gizmo"]}])})
    r = fs.get(fs.public_path("dashboard", duuid, dashcard=(18, 38)) + "?" + q)
    assert {row[2] for row in r.json()["data"]["rows"]} == {"Gizmo"}
    assert fs.get(fs.public_path("dashboard", duuid, dashcard=(19, 38))).status == 404    # card not on it
    assert fs.get(fs.public_path("dashboard", duuid, dashcard=(5, 6))).status == 404      # another dashboard's
    fs.reset()
    r = fs.public_export_request("dashboard", duuid, "csv", dashcard=(18, 38))
    if fs.behaviour == "old":                   # public dashcard downloads came after v0.46
        assert (r.status, r.body) == (404, b"API endpoint does not exist.")
        return
    assert r.status == 200 and r.body == fs.export("dashcard", (6, 18, 38), "csv", token)
    params = [{"id": "f_category", "value": ["Gizmo"]}, {"id": "f_created", "value": "2024-01-01~2024-03-31"}]
    r = fs.public_export_request("dashboard", duuid, "csv", dashcard=(18, 38), params=params)
    assert r.body == fs.export("dashcard", (6, 18, 38), "csv", token, params=params)
    jb = fs.request("POST", fs.public_path("dashboard", duuid, "csv", (18, 38)),
                    json_body={"parameters": params, "format_rows": False, "pivot_results": False})
    assert jb.body == r.body
    for fmt in ("json", "xlsx"):
        r = fs.public_export_request("dashboard", duuid, fmt, dashcard=(20, 40))
        assert r.status == 200 and r.body == fs.export("dashcard", (6, 20, 40), fmt, token)
    r = fs.public_export_request("dashboard", duuid, "csv", dashcard=(18, 38), params=[{"id": "nope", "value": 1}])
    assert (r.status, r.body) == (400, b"An error occurred.")
    s = fs.stats()
    assert s["public_credentials"] == 0 and s["exports"]["public:dashcard:6:18:38:csv"] >= 2


def test_public_sharing_disabled(fs, token):
    uuid = public_uuids(fs, token)[38]
    duuid = fs.get_json("/api/dashboard/6", token)["public_uuid"]
    fs.set_settings(**{"enable-public-sharing": False})
    try:
        assert fs.get_json("/api/session/properties")["enable-public-sharing"] is False
        assert fs.get_json("/api/card/38", token)["public_uuid"] is None
        assert fs.get_json("/api/dashboard/6", token)["public_uuid"] is None
        r = fs.get("/api/card/public", token=token)
        assert (r.status, r.body) == (400, b"Public sharing is not enabled.")
        for path in (fs.public_path("card", uuid, "csv"), fs.public_path("card", uuid),
                     fs.public_path("dashboard", duuid)):
            assert (fs.get(path).status, fs.get(path).body) == (400, b"An error occurred."), path
    finally:
        fs.set_settings(**{"enable-public-sharing": True})
    assert fs.get_json("/api/session/properties")["enable-public-sharing"] is True
    assert fs.public_export_request("card", uuid, "csv").status == 200


def test_archived_public_card_is_gone(fs, token):
    uuid = public_uuids(fs, token)[39]
    fs.edit(kind="card", id=39, op="archive")
    try:
        assert fs.public_export_request("card", uuid, "csv").status == 404
        assert 39 not in public_uuids(fs, token)
    finally:
        fs.edit(kind="card", id=39, op="unarchive")
    assert fs.public_export_request("card", uuid, "csv").status == 200


# --- ad-hoc SQL ----------------------------------------------------------------------

def test_native_permissions_in_database_list(fs, token):
    admin = {d["id"]: d["native_permissions"] for d in fs.get_json("/api/database", token)["data"]}
    assert admin == {1: "write", 2: "write", 3: "write"}
    analyst = fs.login(*ANALYST)
    assert {d["id"]: d["native_permissions"] for d in fs.get_json("/api/database", analyst)["data"]} == \
        {1: "write", 3: "none"}
    assert fs.get_json("/api/database/3", analyst)["native_permissions"] == "none"
    assert [c["native_denied_users"] for c in fs.catalog()["databases"]] == [[], [], [2]]


def test_adhoc_sql_runs_on_the_fake_data(fs, token):
    sql = "SELECT CATEGORY, COUNT(*) AS N FROM PRODUCTS GROUP BY CATEGORY ORDER BY CATEGORY"
    body = fs.export("dataset", sql, "csv", token)
    rows = parse_csv(body)
    assert rows[0] == ["CATEGORY", "N"] and sum(int(r[1]) for r in rows[1:]) == 200
    js = json.loads(fs.export("dataset", sql, "json", token))
    assert [[o["CATEGORY"], o["N"]] for o in js] == [[r[0], int(r[1])] for r in rows[1:]]
    r = fs.request("POST", "/api/dataset", token=token,
                   json_body={"database": 1, "type": "native", "native": {"query": sql}})
    assert r.status == 202 and r.json()["data"]["rows"] == [[r_[0], int(r_[1])] for r_ in rows[1:]]
    # the analyst may run SQL on database 1 too
    assert fs.export("dataset", sql, "csv", fs.login(*ANALYST)) == body


def test_adhoc_sql_error_carries_the_database_message(fs, token):
    r = fs.export_request("dataset", "SELECT NO_SUCH_COLUMN FROM ORDERS", "csv", token)
    body = query_failure(fs, r)
    assert body["error"] == "no such column: NO_SUCH_COLUMN" and body["error_type"] == "invalid-query"
    if fs.behaviour == "new":
        assert r.status == 500
    r = fs.export_request("dataset", "SELEC 1", "json", token)
    assert 'near "SELEC": syntax error' in query_failure(fs, r)["error"]


def test_adhoc_sql_without_native_permission(fs, token):
    analyst = fs.login(*ANALYST)
    r = fs.export_request("dataset", (3, "SELECT 1 AS X"), "csv", analyst)
    body = query_failure(fs, r)
    assert body["error"] == "You do not have permissions to run this query."
    assert body["error_type"] == "missing-required-permissions"
    if fs.behaviour == "new":
        assert r.status == 403
    r = fs.request("POST", "/api/dataset", token=analyst,
                   json_body={"database": 3, "type": "native", "native": {"query": "SELECT 1"}})
    assert r.json()["error_type"] == "missing-required-permissions"
    assert r.status == (202 if fs.behaviour == "old" else 403)
    assert parse_csv(fs.export("dataset", (3, "SELECT 1 AS X"), "csv", token)) == [["X"], ["1"]]
    r = fs.export_request("dataset", (2, "SELECT 1"), "csv", analyst)      # no access at all: plain 403
    assert (r.status, r.body) == (403, b"You don't have permissions to do that.")


# --- snippets, server URL --------------------------------------------------------------

def test_native_query_snippets(fs, token):
    snippets = fs.get_json("/api/native-query-snippet", token)
    assert [s["name"] for s in snippets] == ["Big orders", "Gizmo products"]
    big = snippets[0]
    assert big["content"] == "TOTAL > 100" and big["archived"] is False and big["creator"]["id"] == 1
    assert {"id", "name", "description", "content", "collection_id", "creator_id", "created_at", "updated_at",
            "entity_id"} <= set(big)
    assert ("is_remote_synced" in big) == (fs.behaviour == "new")
    assert [s["name"] for s in fs.get_json("/api/native-query-snippet?archived=true", token)] == ["Old filter"]
    assert fs.get_json("/api/native-query-snippet/2", token)["content"] == "CATEGORY = 'Gizmo'"
    assert fs.get("/api/native-query-snippet/99", token=token).status == 404
    assert fs.get("/api/native-query-snippet").status == 401
    assert fs.get_json("/api/native-query-snippet", fs.login(*ANALYST)) == snippets


@pytest.mark.parametrize("method,path", [("GET", "//api/card/1"), ("POST", "//api/card/1/query/csv"),
                                         ("GET", "/api//card/1"), ("GET", "//api/session/properties")])
def test_badly_joined_paths_are_not_api_calls(fs, token, method, path):
    r = fs.request(method, path, token=token)
    if fs.behaviour == "new":                   # Jetty refuses an empty path segment
        assert r.status == 400 and b"Ambiguous URI empty segment" in r.body
    elif path.startswith("/api/"):
        assert (r.status, r.body) == (404, b"API endpoint does not exist.")
    elif method == "GET":                       # v0.46: not /api, so the single-page app
        assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    else:
        assert (r.status, r.body) == (404, b"Not found.")
    assert not r.headers.get("content-type", "").startswith("application/json")


def test_api_prefix_twice_is_an_unknown_endpoint(fs, token):
    r = fs.get("/api/api/card/1", token=token)
    assert (r.status, r.body) == (404, b"API endpoint does not exist.")
    assert fs.get("/api/card/1/", token=token).status == 200            # a trailing slash is fine


def test_native_permissions_side_channel(fs, token):
    """POST /__fake/native_permissions grants and revokes native SQL: what
    GET /api/database shows and what /api/dataset checks."""
    analyst = fs.login(*ANALYST)
    try:
        fs.set_native(2, 3, True)
        assert fs.get_json("/api/database/3", analyst)["native_permissions"] == "write"
        assert parse_csv(fs.export("dataset", (3, "SELECT 1 AS X"), "csv", analyst)) == [["X"], ["1"]]
        fs.set_native(2, 1, False)
        assert {d["id"]: d["native_permissions"] for d in fs.get_json("/api/database", analyst)["data"]} == \
            {1: "none", 3: "write"}
        r = fs.export_request("dataset", (1, "SELECT 1 AS X"), "csv", analyst)
        assert query_failure(fs, r)["error_type"] == "missing-required-permissions"
    finally:
        fs.set_native(2, 1, True)
        fs.set_native(2, 3, False)
    assert {d["id"]: d["native_permissions"] for d in fs.get_json("/api/database", analyst)["data"]} == \
        {1: "write", 3: "none"}
    r = fs.request("POST", "/__fake/native_permissions", json_body={"user_id": 99, "database_id": 1,
                                                                     "native": True})
    assert r.status == 400
