# fakeserver.py — start/stop the fake Metabase from tests and talk to it.
#
#   with FakeServer(behaviour="old", row_cap=100) as fs:
#       token = fs.login("admin@example.com", "mbfs-demo-pass")
#       body = fs.export("card", 1, "csv", token)
#       assert fs.stats()["exports"]["card:1:csv"] == 1
#
# Keyword flags become command-line options: row_cap=100 -> --row-cap 100,
# no_throttle=True -> --no-throttle.  Standard library only.

import http.client
import json
import os
import urllib.parse

from fakeproc import FakeHTTPError, FakeProcess, HTTPResult

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "fake_metabase", "fake_metabase.py")

ADMIN = ("admin@example.com", "mbfs-demo-pass")
ANALYST = ("analyst@example.com", "analyst-pass")
API_KEY = "mb_demo_api_key_0123456789abcdef"


class FakeServerError(FakeHTTPError):
    pass


class FakeServer(FakeProcess):
    what = "fake Metabase"

    def __init__(self, behaviour="new", start_timeout=30.0, **flags):
        self.behaviour = behaviour
        super().__init__(SERVER, ["--behaviour", behaviour], flags, start_timeout)
        self._catalog = None

    # -- HTTP ---------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, token=None, api_key=None, json_body=None,
                form=None, timeout=60.0):
        """One request on a fresh connection; returns an HTTPResult (never raises on HTTP status)."""
        hdrs = dict(headers or {})
        if token:
            hdrs["X-Metabase-Session"] = token
        if api_key:
            hdrs["X-Api-Key"] = api_key
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urllib.parse.urlencode(form).encode("ascii")
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            res = HTTPResult(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            res.header_list = resp.getheaders()
            return res
        finally:
            conn.close()

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def get_json(self, path, token=None, **kw):
        r = self.get(path, token, **kw)
        if r.status != 200:
            raise FakeServerError(r.status, r.body, r.headers)
        return r.json()

    # -- side channel -------------------------------------------------------------
    def stats(self):
        return self.get_json("/__fake/stats")

    def reset(self):
        return self.request("POST", "/__fake/reset").json()

    def expire_sessions(self):
        return self.request("POST", "/__fake/expire_sessions").json()

    def reset_throttle(self):
        return self.request("POST", "/__fake/reset_throttle").json()

    def catalog(self):
        if self._catalog is None:
            self._catalog = self.get_json("/__fake/catalog")
        return self._catalog

    def edit(self, **spec):
        self._catalog = None
        r = self.request("POST", "/__fake/edit", json_body=spec)
        if r.status != 200:
            raise FakeServerError(r.status, r.body)
        return r.json()

    def add_fault(self, **spec):
        r = self.request("POST", "/__fake/faults", json_body=spec)
        if r.status != 200:
            raise FakeServerError(r.status, r.body)
        return r.json()

    def clear_faults(self):
        return self.request("POST", "/__fake/faults/clear").json()

    def add_api_key(self, key, user_id=1):
        return self.request("POST", "/__fake/api_keys", json_body={"key": key, "user_id": user_id}).json()

    def revoke_api_key(self, key):
        return self.request("POST", "/__fake/api_keys", json_body={"key": key, "revoke": True}).json()

    def set_password(self, email, password):
        r = self.request("POST", "/__fake/users", json_body={"email": email, "password": password})
        if r.status != 200:
            raise FakeServerError(r.status, r.body)
        return r.json()

    def settings(self):
        return self.get_json("/__fake/settings")

    def set_settings(self, **settings):
        """e.g. set_settings(**{"enable-public-sharing": False})"""
        r = self.request("POST", "/__fake/settings", json_body=settings)
        if r.status != 200:
            raise FakeServerError(r.status, r.body)
        return r.json()

    def set_native(self, user_id, database_id, native):
        """Grant (native=True) or revoke native SQL on a database for a user."""
        r = self.request("POST", "/__fake/native_permissions",
                         json_body={"user_id": user_id, "database_id": database_id, "native": native})
        if r.status != 200:
            raise FakeServerError(r.status, r.body)
        return r.json()

    # -- public links (no credentials) --------------------------------------------------
    def public_path(self, kind, uuid, fmt=None, dashcard=None):
        """kind "card": /api/public/card/<uuid>[/query[/<fmt>]] (fmt "" = /query);
        kind "dashboard": /api/public/dashboard/<uuid>[/dashcard/<dc>/card/<c>[/<fmt>]]."""
        if kind == "card":
            base = "/api/public/card/%s" % uuid
            if fmt is None:
                return base
            return base + "/query" + ("/%s" % fmt if fmt else "")
        base = "/api/public/dashboard/%s" % uuid
        if dashcard is None:
            return base
        base += "/dashcard/%s/card/%s" % dashcard
        return base + ("/%s" % fmt if fmt else "")

    def public_export_request(self, kind, uuid, fmt, params=None, dashcard=None, format_rows=None,
                              headers=None):
        """What Metabase's public pages send: a GET with `parameters` in the query string for a
        card; a POST (form) for a dashcard download (new behaviour only)."""
        if kind == "card":
            q = {}
            if params is not None:
                q["parameters"] = json.dumps(params)
            if format_rows is not None:
                q["format_rows"] = "true" if format_rows else "false"
            path = self.public_path("card", uuid, fmt)
            if q:
                path += "?" + urllib.parse.urlencode(q)
            return self.request("GET", path, headers=headers)
        form = {"parameters": json.dumps(params or [])}
        if format_rows is not None:
            form["format_rows"] = "true" if format_rows else "false"
        return self.request("POST", self.public_path("dashboard", uuid, fmt, dashcard), form=form,
                            headers=headers)

    # -- Metabase operations ---------------------------------------------------------
    def login(self, user=ADMIN[0], password=ADMIN[1]):
        r = self.request("POST", "/api/session", json_body={"username": user, "password": password})
        if r.status != 200:
            raise FakeServerError(r.status, r.body, r.headers)
        return r.json()["id"]

    def export_path(self, kind, ident, fmt):
        if kind == "card":
            return "/api/card/%s/query/%s" % (ident, fmt)
        if kind == "dataset":
            return "/api/dataset/%s" % fmt
        if kind == "dashcard":
            d, dc, c = ident
            return "/api/dashboard/%s/dashcard/%s/card/%s/query/%s" % (d, dc, c, fmt)
        raise ValueError("kind must be card, dataset or dashcard")

    def export_request(self, kind, ident, fmt, token=None, params=None, format_rows=False, api_key=None,
                       headers=None):
        """The POST an HTTP client would send (form-urlencoded); returns the HTTPResult.

        kind "card": ident is a card id; "dataset": ident is a table id (int), a query
        dict, or a native SQL string for database 1 (or a (db_id, sql) tuple);
        "dashcard": ident is (dashboard_id, dashcard_id, card_id).
        """
        form = {"parameters": json.dumps(params or []), "format_rows": "true" if format_rows else "false"}
        if kind == "dataset":
            form = {"query": json.dumps(self.dataset_query(ident)), "visualization_settings": "{}",
                    "format_rows": form["format_rows"]}
        return self.request("POST", self.export_path(kind, ident, fmt), token=token, api_key=api_key,
                            form=form, headers=headers)

    def dataset_query(self, ident):
        if isinstance(ident, dict):
            return ident
        if isinstance(ident, str):
            return {"database": 1, "type": "native", "native": {"query": ident}}
        if isinstance(ident, tuple):
            return {"database": ident[0], "type": "native", "native": {"query": ident[1]}}
        table = next(t for t in self.catalog()["tables"] if t["id"] == ident)
        return {"database": table["db_id"], "type": "query", "query": {"source-table": ident}}

    def export(self, kind, ident, fmt, token=None, params=None, **kw):
        """Export bytes; raises FakeServerError unless the answer is 200."""
        r = self.export_request(kind, ident, fmt, token, params, **kw)
        if r.status != 200:
            raise FakeServerError(r.status, r.body, r.headers)
        return r.body
