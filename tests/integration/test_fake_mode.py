# test_fake_mode.py — the contract of tests/fake_mode (the fake Mode API
# server the Mode backend's tests use): auth, HAL shapes, pagination, access
# rules, runs, results, gzip, redirects, edits, big results and faults.
#
#   /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_fake_mode.py
#
# Standard library + pytest only; no mbfs binary needed.

import csv
import gzip
import io
import json
import socket
import time

import pytest

from fakemode import (ADMIN_AUTH, MEMBER_AUTH, MEMBER_TOKEN, SECRET, TOKEN, WORKSPACE, FakeMode,
                      basic)

API = "/api/" + WORKSPACE


@pytest.fixture(scope="module")
def fm():
    server = FakeMode()
    yield server
    assert server.stop() == 0


@pytest.fixture
def clean(fm):
    fm.clear_faults()
    fm.reset()
    yield fm
    fm.clear_faults()


def latest_ok(fm, rkey, qkey, fmt="csv", **kw):
    rep = fm.report(rkey)
    return fm.content(rep["token"], fm.query(rkey, qkey)["token"], fmt, **kw)


# ---------------------------------------------------------------------------
# auth, errors, envelope
# ---------------------------------------------------------------------------

def test_listening_line_and_clean_exit():
    s = FakeMode()
    assert s.url.startswith("http://127.0.0.1:")
    assert s.get(API + "/data_sources").status == 200
    assert s.stop() == 0


@pytest.mark.parametrize("auth", [None, (TOKEN, "wrong"), ("nobody", SECRET), (MEMBER_TOKEN, SECRET)])
def test_401_body(clean, auth):
    r = clean.get(API + "/data_sources", auth=auth)
    assert r.status == 401
    assert r.headers["content-type"].startswith("application/hal+json")
    assert r.json() == {"id": "unauthorized", "message": "Unauthorized"}
    assert clean.stats()["unauthorized"] == 1


def test_malformed_authorization(clean):
    for h in ("Bearer x", "Basic !!!", "Basic " + "bm9jb2xvbg=="):
        r = clean.get(API + "/spaces", auth=None, headers={"Authorization": h})
        assert r.status == 401, h


def test_unknown_workspace_and_objects(clean):
    r = clean.get("/api/other/spaces")
    assert r.status == 404 and r.json() == {"id": "not_found", "message": "`Workspace` not found"}
    cases = {"/reports/000000000000": "`Report` not found", "/spaces/000000000000": "`Space` not found",
             "/data_sources/000000000000": "`DataSource` not found"}
    for p, msg in cases.items():
        r = clean.get(API + p)
        assert r.status == 404 and r.json() == {"id": "not_found", "message": msg}
    rep = clean.report("weekly")
    r = clean.get(API + "/reports/%s/runs/000000000000" % rep["token"])
    assert r.json()["message"] == "`ReportRun` not found"
    run = rep["last_successful_run_token"]
    r = clean.get(API + "/reports/%s/runs/%s/query_runs/000000000000" % (rep["token"], run))
    assert r.status == 404 and r.json()["message"] == "`QueryRun` not found"
    r = clean.get(API + "/spaces?page=0")
    assert r.status == 400 and r.json()["id"] == "bad_request"


def test_keep_alive_and_content_length(fm):
    s = socket.create_connection((fm.host, fm.port), timeout=10)
    try:
        f = s.makefile("rb")
        for _ in range(3):
            s.sendall(("GET %s/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n"
                       % (API, basic(ADMIN_AUTH))).encode())
            assert f.readline().startswith(b"HTTP/1.1 200")
            n = None
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                k, v = line.decode().split(":", 1)
                if k.lower() == "content-length":
                    n = int(v)
            assert n is not None
            json.loads(f.read(n))
    finally:
        s.close()


# ---------------------------------------------------------------------------
# data sources
# ---------------------------------------------------------------------------

def test_data_sources_list_then_get(clean):
    doc = clean.get_json(API + "/data_sources")
    assert "next_page" not in doc["_links"]
    items = doc["_embedded"]["data_sources"]
    names = [d["name"] for d in items]
    assert {"Warehouse", "Events/Raw", "Sleepy", "Finance DB"} <= set(names)
    for item in items:
        r = clean.get(item["_links"]["self"]["href"])
        assert r.status == 200 and r.headers["content-type"].startswith("application/hal+json")
        full = r.json()
        assert r.body != json.dumps(item, separators=(",", ":")).encode()
        assert "custom_attributes" not in item and isinstance(full["custom_attributes"], dict)
        assert isinstance(full["port"], str) and isinstance(full["id"], int)
        for k in ("self", "creator", "account", "web", "web_home"):
            assert full["_links"][k]["templated"] is False
        assert {k: full[k] for k in item if k != "_links"} == {k: v for k, v in item.items() if k != "_links"}
    by = {d["name"]: d for d in items}
    assert by["Warehouse"]["adapter"] == "jdbc:postgresql" and by["Warehouse"]["queryable"] is True
    assert by["Warehouse"]["asleep"] is False and by["Sleepy"]["asleep"] is True
    assert clean.stats()["routes"] == {"data_sources": 1, "data_source": len(items)}


# ---------------------------------------------------------------------------
# spaces, pagination, member restrictions
# ---------------------------------------------------------------------------

def test_spaces_pagination(clean):
    spaces, pages = clean.follow_pages(API + "/spaces", "spaces")
    names = [s["name"] for s in spaces]
    assert sorted(names) == sorted(["Growth", "Finance", "Growth", "Ops/Infra"])
    assert len({s["token"] for s in spaces}) == len(spaces) == 4
    assert pages == 2
    first = clean.get_json(API + "/spaces")
    assert first["pagination"]["total_count"] == 4 and "prev_page" not in first["_links"]
    all_, _ = clean.follow_pages(API + "/spaces?filter=all", "spaces")
    assert sorted(s["name"] for s in all_) == sorted(names + ["Personal (ada)"])
    assert [s for s in all_ if s["name"] == "Personal (ada)"][0]["space_type"] == "private"
    big, pages = clean.follow_pages(API + "/spaces?per_page=10", "spaces")
    assert pages == 1 and len(big) == 4
    growth = [s for s in spaces if s["name"] == "Growth"]
    assert growth[0]["id"] != growth[1]["id"]
    s = clean.get_json(spaces[0]["_links"]["self"]["href"])
    assert s["token"] == spaces[0]["token"] and s["state"] == "active"


def test_space_reports_paginated(clean):
    sp = clean.space("growth")
    reps, pages = clean.follow_pages(API + "/spaces/%s/reports" % sp["token"], "reports")
    assert [r["name"] for r in reps] == ["Weekly signups", "Never run", "Partly failed", "Added later"]
    assert pages == 2


def test_member_restrictions(clean):
    spaces, _ = clean.follow_pages(API + "/spaces?filter=all", "spaces", auth=MEMBER_AUTH)
    assert "Finance" not in [s["name"] for s in spaces] and "Personal (ada)" not in [s["name"] for s in spaces]
    ds = clean.get_json(API + "/data_sources", MEMBER_AUTH)["_embedded"]["data_sources"]
    assert "Finance DB" not in [d["name"] for d in ds]
    fin = clean.space("finance")
    rev = clean.report("revenue")
    run = rev["last_successful_run_token"]
    qr = rev["runs"][0]["query_runs"][0]["token"]
    for p in ["/spaces/%s" % fin["token"], "/spaces/%s/reports" % fin["token"], "/reports/%s" % rev["token"],
              "/reports/%s/queries" % rev["token"], "/reports/%s/runs" % rev["token"],
              "/reports/%s/runs/%s/query_runs" % (rev["token"], run),
              "/reports/%s/runs/%s/query_runs/%s/results/content.csv" % (rev["token"], run, qr),
              "/data_sources/%s" % clean.data_source("finance")["token"]]:
        r = clean.get(API + p, MEMBER_AUTH)
        assert r.status == 403 and r.json()["id"] == "forbidden", p
        assert clean.get(API + p).status == 200, p
    r = clean.post(API + "/reports/%s/runs" % rev["token"], {"parameters": {}}, MEMBER_AUTH)
    assert r.status == 403
    assert clean.stats()["runs_created"] == {}
    # the member sees the rest
    assert clean.get(API + "/reports/%s" % clean.report("weekly")["token"], MEMBER_AUTH).status == 200


# ---------------------------------------------------------------------------
# reports, queries, query runs, content
# ---------------------------------------------------------------------------

def test_report_shapes(clean):
    w = clean.get_json(API + "/reports/%s" % clean.report("weekly")["token"])
    for k in ("token", "id", "name", "description", "created_at", "updated_at", "edited_at", "last_saved_at",
              "archived", "space_token", "account_username", "last_run_at", "last_successfully_run_at",
              "last_successful_run_token", "query_count", "runs_count", "type"):
        assert k in w, k
    assert w["query_count"] == 2 and w["runs_count"] == 3
    links = w["_links"]
    assert links["report_run"]["templated"] is True
    assert links["last_successful_run"]["href"].endswith("/runs/" + w["last_successful_run_token"])
    assert links["last_run"]["href"] != links["last_successful_run"]["href"]   # the last run failed
    last = clean.get_json(links["last_run"]["href"])
    assert last["state"] == "failed" and last["is_latest_report_run"] is True
    never = clean.get_json(API + "/reports/%s" % clean.report("never")["token"])
    assert never["last_successful_run_token"] is None and never["last_successfully_run_at"] is None
    assert "last_successful_run" not in never["_links"] and "last_run" not in never["_links"]
    assert never["runs_count"] == 0
    runs = clean.get_json(API + "/reports/%s/runs" % never["token"])
    assert runs["_embedded"]["report_runs"] == [] and "next_page" not in runs["_links"]


def test_queries_and_collisions(clean):
    up = clean.report("uptime")
    assert "/" in up["name"]
    qs = clean.get_json(API + "/reports/%s/queries" % up["token"])["_embedded"]["queries"]
    assert [q["name"] for q in qs] == ["Latency", "Latency", "Uptime"]
    assert len({q["id"] for q in qs}) == 3 and all(isinstance(q["id"], int) for q in qs)
    q = clean.get_json(qs[0]["_links"]["self"]["href"])
    assert q["raw_query"].count("\n") >= 2 and isinstance(q["data_source_id"], int)


def test_runs_list_newest_first(clean):
    w = clean.report("weekly")
    runs, pages = clean.follow_pages(API + "/reports/%s/runs" % w["token"], "report_runs")
    assert pages == 2 and [r["token"] for r in runs] == [r["token"] for r in w["runs"]]
    assert [r["state"] for r in runs] == ["failed", "succeeded", "succeeded"]
    assert runs[1]["token"] == w["last_successful_run_token"]
    assert runs[0]["created_at"] > runs[1]["created_at"] > runs[2]["created_at"]


def test_query_runs_matched_by_token(clean):
    p = clean.report("partly")
    qrs = clean.get_json(API + "/reports/%s/runs/%s/query_runs" % (p["token"], p["last_successful_run_token"]))
    by = {qr["query_token"]: qr for qr in qrs["_embedded"]["query_runs"]}
    good, broken = by[clean.query("partly", "good")["token"]], by[clean.query("partly", "broken")["token"]]
    assert good["state"] == "succeeded" and "error_message" not in good
    assert broken["state"] == "failed"
    assert broken["error_message"] == 'ERROR: relation "signups_v2" does not exist'
    assert broken["_links"]["query"]["href"].endswith("/" + broken["query_token"])
    assert "signups_v2" in broken["raw_source"]
    r = clean.get(API + "/reports/%s/runs/%s/query_runs/%s/results/content.csv"
                  % (p["token"], p["last_successful_run_token"], broken["token"]))
    assert r.status == 404 and r.json()["id"] == "not_found"
    added = clean.report("added")
    assert clean.query_run_for(added["token"], added["last_successful_run_token"],
                               clean.query("added", "second")["token"]) is None
    assert clean.query_run_for(added["token"], added["last_successful_run_token"],
                               clean.query("added", "first")["token"])["state"] == "succeeded"


def test_content_csv_json_gzip(clean):
    plain = latest_ok(clean, "weekly", "signups")
    assert plain.status == 200 and "content-encoding" not in plain.headers
    assert plain.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(plain.text)))
    assert rows[0] == ["week", "country", "signups", "note"]
    cells = [c for r in rows[1:] for c in r]
    assert any("," in c for c in cells) and any('"' in c for c in cells) and any("\n" in c for c in cells)
    assert any(ord(ch) > 127 for c in cells for ch in c) and "" in cells
    gz = latest_ok(clean, "weekly", "signups", gzip_ok=True)
    assert gz.headers["content-encoding"] == "gzip" and gz.raw_body[:2] == b"\x1f\x8b"
    assert gz.body == plain.body
    js = latest_ok(clean, "weekly", "signups", "json")
    objs = js.json()
    assert [list(o.values()) for o in objs] == [[int(v) if k == "signups" else (v or None)
                                                for k, v in zip(rows[0], r)] for r in rows[1:]]
    assert latest_ok(clean, "weekly", "signups", "json", gzip_ok=True).body == js.body
    w = clean.report("weekly")
    st = clean.stats()
    key = "content:%s:%s:" % (w["token"], clean.query("weekly", "signups")["token"])
    assert st["downloads"] == {key + "csv": 2, key + "json": 2}
    assert st["routes"]["content"] == 4
    # results are deterministic: another run of the same data gives the same bytes
    older = w["runs"][2]["token"]
    again = clean.content(w["token"], clean.query("weekly", "signups")["token"], run_token=older)
    assert again.body == plain.body


def test_no_gzip_flag():
    with FakeMode(no_gzip=True) as s:
        r = s.content(s.report("weekly")["token"], s.query("weekly", "signups")["token"], gzip_ok=True)
        assert r.status == 200 and "content-encoding" not in r.headers


# ---------------------------------------------------------------------------
# runs: creation, polling, outcomes, edits
# ---------------------------------------------------------------------------

def test_run_created_polled_to_success(clean):
    r = clean.report("retention")
    before = clean.get_json(API + "/reports/%s" % r["token"])
    resp = clean.post(API + "/reports/%s/runs" % r["token"], {"parameters": {}})
    assert resp.status == 202
    run = resp.json()
    assert run["state"] == "enqueued" and run["parameters"] == {} and run["completed_at"] is None
    assert run["_links"]["self"]["href"].endswith("/runs/" + run["token"])
    mid = clean.get_json(API + "/reports/%s" % r["token"])
    assert mid["last_successful_run_token"] == before["last_successful_run_token"]
    assert mid["_links"]["last_run"]["href"].endswith(run["token"])
    done, seen = clean.wait_run(r["token"], run["token"])
    assert seen == ["running_notebook", "running_notebook", "succeeded"]
    assert done["completed_at"] and done["is_latest_successful_report_run"] is True
    after = clean.get_json(API + "/reports/%s" % r["token"])
    assert after["last_successful_run_token"] == run["token"] and after["runs_count"] == before["runs_count"] + 1
    qrs = clean.get_json(done["_links"]["query_runs"]["href"])["_embedded"]["query_runs"]
    assert [q["state"] for q in qrs] == ["succeeded"]
    assert clean.stats()["runs_created"] == {r["token"]: 1}
    assert clean.stats()["routes"]["run_create"] == 1 and clean.stats()["routes"]["run_get"] == 3
    bad = clean.post(API + "/reports/%s/runs" % r["token"], {"parameters": []})
    assert bad.status == 400 and bad.json()["id"] == "bad_request"


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_run_outcome_fault(clean, outcome):
    r = clean.report("retention")
    f = clean.add_fault(match=r["token"] + "/runs", run_outcome=outcome)
    assert f["times"] == 1
    run = clean.create_run(r["token"])
    done, seen = clean.wait_run(r["token"], run["token"])
    assert seen[-1] == outcome
    qrs = clean.get_json(done["_links"]["query_runs"]["href"])["_embedded"]["query_runs"]
    assert all(q["state"] == outcome for q in qrs)
    if outcome == "failed":
        assert qrs[0]["error_message"]
    rep = clean.get_json(API + "/reports/%s" % r["token"])
    assert rep["last_successful_run_token"] != run["token"]
    assert clean.faults() == []                       # used up by that one run
    nxt = clean.create_run(r["token"])
    assert clean.wait_run(r["token"], nxt["token"])[0]["state"] == "succeeded"


def test_edit_same_size_and_new_run(clean):
    w = clean.report("weekly")
    q = clean.query("weekly", "by_country")
    old = clean.content(w["token"], q["token"])
    clean.edit(report=w["token"], query=q["token"], same_size=True)
    # the latest successful run still serves the old bytes
    assert clean.content(w["token"], q["token"]).body == old.body
    run = clean.create_run(w["token"])
    clean.wait_run(w["token"], run["token"])
    new = clean.content(w["token"], q["token"])
    assert len(new.body) == len(old.body) and new.body != old.body
    # the old run keeps its bytes
    assert clean.content(w["token"], q["token"], run_token=w["last_successful_run_token"]).body == old.body
    # a size-changing edit, made visible by a run the fake creates itself
    clean.edit(report=w["token"], query=q["token"], same_size=False)
    out = clean.edit(report=w["token"], new_run=True)
    rep = clean.get_json(API + "/reports/%s" % w["token"])
    assert rep["last_successful_run_token"] == out["run"]
    grown = clean.content(w["token"], q["token"])
    assert len(grown.body) > len(new.body)
    assert clean.stats()["runs_created"] == {w["token"]: 1}


def test_renames(clean):
    sp = clean.space("ops")
    clean.edit(space=sp["token"], name="Ops & Infra")
    assert clean.get_json(API + "/spaces/%s" % sp["token"])["name"] == "Ops & Infra"
    r = clean.report("scratch")
    clean.edit(report=r["token"], name="Scratch v2")
    assert clean.get_json(API + "/reports/%s" % r["token"])["name"] == "Scratch v2"
    assert clean.report("scratch")["name"] == "Scratch v2"
    clean.edit(space=sp["token"], name="Ops/Infra")


def test_revoke():
    with FakeMode() as s:
        assert s.get(API + "/spaces", MEMBER_AUTH).status == 200
        s.revoke(MEMBER_TOKEN)
        assert s.get(API + "/spaces", MEMBER_AUTH).status == 401
        assert s.get(API + "/spaces").status == 200
        s.revoke(MEMBER_TOKEN, restore=True)
        assert s.get(API + "/spaces", MEMBER_AUTH).status == 200


def test_run_polls_zero_and_tokens_stable():
    with FakeMode(run_polls=0, per_page=100) as a, FakeMode() as b:
        assert a.catalog()["reports"] == b.catalog()["reports"]
        r = a.report("weekly")
        run = a.create_run(r["token"])
        assert a.wait_run(r["token"], run["token"])[1] == ["succeeded"]
        spaces = a.get_json(API + "/spaces")
        assert "next_page" not in spaces["_links"] and len(spaces["_embedded"]["spaces"]) == 4


# ---------------------------------------------------------------------------
# redirects, big results
# ---------------------------------------------------------------------------

def test_redirect_content():
    with FakeMode(redirect_content=True) as s:
        w = s.report("weekly")
        r = s.content(w["token"], s.query("weekly", "signups")["token"])
        assert r.status == 302
        loc = r.headers["location"]
        assert loc.startswith(s.url + "/__content/")
        body = s.get(loc, auth=None)
        assert body.status == 200 and body.body.startswith(b"week,country")
        gz = s.get(loc, auth=None, gzip_ok=True)
        assert gz.headers.get("content-encoding") == "gzip" and gz.body == body.body
        s.get(loc)                                    # a client that leaks the credentials
        st = s.stats()
        assert st["routes"]["redirected_content"] == 3 and st["redirect_auth"] == 1
        assert s.get(s.url + "/__content/nope/content.csv", auth=None).status == 404


def test_big_result():
    with FakeMode(big_result_mb=8) as s:
        assert "Bench" in [x["name"] for x in s.catalog()["spaces"]]
        big = s.report("big")
        t = time.monotonic()
        r = s.content(big["token"], s.query("big", "rows")["token"])
        assert time.monotonic() - t < 5
        want = 8 * 1024 * 1024
        assert r.status == 200 and abs(len(r.body) - want) <= want / 100
        assert int(r.headers["content-length"]) == len(r.body)
        assert r.body.startswith(b"id,label,value,note\n") and r.body.endswith(b"\n")
        gz = s.content(big["token"], s.query("big", "rows")["token"], gzip_ok=True)
        assert gz.headers["content-encoding"] == "gzip" and len(gz.raw_body) < len(r.body) // 10
        assert gz.body == r.body
        js = s.content(big["token"], s.query("big", "rows")["token"], "json")
        assert abs(len(js.body) - want) <= want / 100
        assert len(json.loads(js.body)) > 10000


# ---------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------

def test_fault_status_and_times(clean):
    f = clean.add_fault(match="/spaces", method="GET", status=503, times=2)
    assert clean.faults()[0]["id"] == f["id"]
    for _ in range(2):
        r = clean.get(API + "/spaces")
        assert r.status == 503 and r.json() == {"id": "service_unavailable",
                                                "message": "Injected fault: HTTP 503"}
    assert clean.get(API + "/spaces").status == 200
    assert clean.faults() == [] and clean.stats()["faults"] == {f["id"]: 2}
    clean.add_fault(match=r"/reports/[0-9a-f]{12}$", status=429, retry_after=7, times=1)
    r = clean.get(API + "/reports/%s" % clean.report("weekly")["token"])
    assert r.status == 429 and r.headers["retry-after"] == "7" and r.json()["id"] == "rate_limited"
    clean.add_fault(match="data_sources", status=500, body='{"id":"internal_server_error","message":"boom"}',
                    times=1)
    r = clean.get(API + "/data_sources")
    assert r.status == 500 and r.json()["message"] == "boom"
    clean.add_fault(match="data_sources", method="POST", status=500)
    assert clean.get(API + "/data_sources").status == 200       # method does not match


def test_fault_delay_stall_cut(clean):
    w = clean.report("weekly")
    sq = clean.query("weekly", "signups")["token"]
    want = clean.content(w["token"], sq).body
    clean.add_fault(match="content.csv", delay=0.4, times=1)
    t = time.monotonic()
    assert clean.content(w["token"], sq).body == want
    assert time.monotonic() - t >= 0.4
    clean.add_fault(match="content.csv", stall=0.5, times=1)
    t = time.monotonic()
    assert clean.content(w["token"], sq).body == want
    assert time.monotonic() - t >= 0.5
    clean.add_fault(match="content.csv", cut=True, times=1)
    with pytest.raises(Exception):
        clean.content(w["token"], sq)
    assert clean.content(w["token"], sq).body == want
    # a cut on the wire: headers with the full length, then half the body, then EOF
    clean.add_fault(match="content.csv", cut=True, times=1)
    qr = clean.query_run_for(w["token"], w["last_successful_run_token"], sq)
    s = socket.create_connection((clean.host, clean.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n"
               % (clean.content_path(w["token"], w["last_successful_run_token"], qr["token"]),
                  basic(ADMIN_AUTH))).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % len(want) in head and body == want[:len(want) // 2]


def test_fault_on_gzip_stream(clean):
    w = clean.report("weekly")
    sq = clean.query("weekly", "signups")["token"]
    clean.add_fault(match="content.csv", stall=0.2, times=1)
    r = clean.content(w["token"], sq, gzip_ok=True)
    assert gzip.decompress(r.raw_body) == r.body and r.body.startswith(b"week,")


def test_side_channel_validation(clean):
    for spec in ({}, {"match": "x"}, {"status": 500, "bogus": 1}, {"run_outcome": "exploded"}):
        r = clean.request("POST", "/__fake/faults", auth=None, json_body=spec)
        assert r.status == 400, spec
    r = clean.request("POST", "/__fake/edit", auth=None, json_body={"report": "nope"})
    assert r.status == 400
    assert clean.stats()["requests"] == 0            # the side channel is never counted
