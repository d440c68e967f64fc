# fakemode.py — start/stop the fake Mode server (tests/fake_mode) from tests
# and talk to it.
#
#   with FakeMode(run_polls=0) as fm:                 # flags become --run-polls 0
#       r = fm.get("/api/acme/spaces", auth=(TOKEN, SECRET))
#       weekly = fm.report("weekly")                   # catalog entry by key
#       body = fm.content(weekly["token"], weekly["queries"][0]["token"], "csv").body
#       assert fm.stats()["downloads"]["content:%s:%s:csv" % (…)] == 1
#
# Keyword flags become command-line options: per_page=5 -> --per-page 5,
# no_gzip=True -> --no-gzip.  The server is started on port 0 and stopped by
# its PID (SIGTERM).  Standard library only.

import gzip
import http.client
import json
import os
import urllib.parse

from fakeproc import FakeHTTPError, FakeProcess, HTTPResult

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "fake_mode", "fake_mode.py")

TOKEN, SECRET = "mode_demo_token", "mode_demo_secret"
MEMBER_TOKEN, MEMBER_SECRET = "mode_member_token", "mode_member_secret"
WORKSPACE = "acme"
ADMIN_AUTH = (TOKEN, SECRET)
MEMBER_AUTH = (MEMBER_TOKEN, MEMBER_SECRET)


class FakeModeError(FakeHTTPError):
    pass


def basic(auth):
    import base64
    return "Basic " + base64.b64encode(("%s:%s" % auth).encode("utf-8")).decode("ascii")


class FakeMode(FakeProcess):
    what = "fake Mode"

    def __init__(self, start_timeout=30.0, workspace=WORKSPACE, **flags):
        self.workspace = workspace
        super().__init__(SERVER, ["--workspace", workspace], flags, start_timeout)
        self.api = "/api/" + workspace
        self._catalog = None

    # -- HTTP ----------------------------------------------------------------------------
    def request(self, method, path, auth=ADMIN_AUTH, headers=None, body=None, json_body=None, gzip_ok=False,
                decode=True, timeout=60.0):
        """One request on a fresh connection; never raises on an HTTP status.

        auth: (token, secret) or None; gzip_ok sends Accept-Encoding: gzip; a gzip
        answer is decoded into .body when decode (the wire bytes stay in .raw_body).
        A path may be a full URL of this server (e.g. a redirect Location)."""
        if path.startswith("http://"):
            p = urllib.parse.urlsplit(path)
            path = p.path + ("?" + p.query if p.query else "")
        hdrs = {"Accept": "application/hal+json"}
        if auth is not None:
            hdrs["Authorization"] = basic(auth)
        if gzip_ok:
            hdrs["Accept-Encoding"] = "gzip"
        hdrs.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            h = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        data = raw
        if decode and h.get("content-encoding") == "gzip":
            data = gzip.decompress(raw)
        return HTTPResult(resp.status, h, data, raw)

    def get(self, path, auth=ADMIN_AUTH, headers=None, **kw):
        return self.request("GET", path, auth=auth, headers=headers, **kw)

    def post(self, path, json_body=None, auth=ADMIN_AUTH, **kw):
        return self.request("POST", path, auth=auth, json_body=json_body, **kw)

    def get_json(self, path, auth=ADMIN_AUTH, **kw):
        r = self.get(path, auth, **kw)
        if r.status != 200:
            raise FakeModeError(r.status, r.body, r.headers)
        return r.json()

    def follow_pages(self, path, key, auth=ADMIN_AUTH):
        """Every item of a paginated list, following _links.next_page; returns (items, pages)."""
        items, pages = [], 0
        while path:
            doc = self.get_json(path, auth)
            pages += 1
            items += doc.get("_embedded", {}).get(key, [])
            path = doc["_links"].get("next_page", {}).get("href")
        return items, pages

    # -- side channel ------------------------------------------------------------------------
    def _side(self, method, path, body=None):
        r = self.request(method, path, auth=None, json_body=body)
        if r.status != 200:
            raise FakeModeError(r.status, r.body)
        return r.json()

    def stats(self):
        return self._side("GET", "/__fake/stats")

    def reset(self):
        return self._side("POST", "/__fake/reset")

    def catalog(self, fresh=True):
        if fresh or self._catalog is None:
            self._catalog = self._side("GET", "/__fake/catalog")
        return self._catalog

    def add_fault(self, **spec):
        return self._side("POST", "/__fake/faults", spec)

    def faults(self):
        return self._side("GET", "/__fake/faults")

    def clear_faults(self):
        return self._side("POST", "/__fake/faults/clear")

    def edit(self, **spec):
        return self._side("POST", "/__fake/edit", spec)

    def revoke(self, token, restore=False):
        return self._side("POST", "/__fake/revoke", {"token": token, "restore": restore})

    def config(self, **changes):
        if changes:
            return self._side("POST", "/__fake/config", changes)
        return self._side("GET", "/__fake/config")

    # -- catalogue shortcuts -----------------------------------------------------------------
    def report(self, key_or_name):
        """The catalog entry of a report by key ("weekly") or unique name."""
        reps = self.catalog()["reports"]
        for r in reps:
            if r["key"] == key_or_name:
                return r
        hits = [r for r in reps if r["name"] == key_or_name]
        if len(hits) != 1:
            raise KeyError(key_or_name)
        return hits[0]

    def space(self, key):
        return next(s for s in self.catalog()["spaces"] if s["key"] == key)

    def data_source(self, key):
        return next(d for d in self.catalog()["data_sources"] if d["key"] == key)

    def query(self, report_key, query_key):
        return next(q for q in self.report(report_key)["queries"] if q["key"] == query_key)

    # -- Mode paths ---------------------------------------------------------------------------
    def path(self, *parts):
        return "/".join([self.api] + [str(p) for p in parts])

    def content_path(self, report_token, run_token, query_run_token, fmt="csv"):
        return self.path("reports", report_token, "runs", run_token, "query_runs", query_run_token,
                         "results", "content." + fmt)

    def query_run_for(self, report_token, run_token, query_token, auth=ADMIN_AUTH):
        """The query run of `query_token` in a run (matched by query_token), or None."""
        doc = self.get_json(self.path("reports", report_token, "runs", run_token, "query_runs"), auth)
        for qr in doc["_embedded"]["query_runs"]:
            if qr["query_token"] == query_token:
                return qr
        return None

    def content(self, report_token, query_token, fmt="csv", run_token=None, auth=ADMIN_AUTH, **kw):
        """What an mbfs read does: report -> run (latest successful unless given) ->
        query run by query_token -> content; returns the HTTPResult of the download."""
        if run_token is None:
            run_token = self.get_json(self.path("reports", report_token), auth)["last_successful_run_token"]
        qr = self.query_run_for(report_token, run_token, query_token, auth)
        if qr is None:
            raise KeyError("no query run for %s in run %s" % (query_token, run_token))
        return self.get(self.content_path(report_token, run_token, qr["token"], fmt), auth, **kw)

    def create_run(self, report_token, parameters=None, auth=ADMIN_AUTH):
        r = self.post(self.path("reports", report_token, "runs"), {"parameters": parameters or {}}, auth)
        if r.status != 202:
            raise FakeModeError(r.status, r.body, r.headers)
        return r.json()

    def wait_run(self, report_token, run_token, auth=ADMIN_AUTH, max_polls=50):
        """Poll the run until a terminal state; returns (run JSON, states seen)."""
        seen = []
        for _ in range(max_polls):
            run = self.get_json(self.path("reports", report_token, "runs", run_token), auth)
            seen.append(run["state"])
            if run["state"] in ("succeeded", "completed", "failed", "cancelled"):
                return run, seen
        raise RuntimeError("run %s did not finish: %r" % (run_token, seen))
