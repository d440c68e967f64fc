# api.py — request handling of the fake Mode: routing, auth, access, answers.
#
# Owns: the order in which a request is treated (side channel; /__content/
# redirect targets; route classification and counting; HTTP faults; HTTP
# Basic auth; workspace check; the endpoint), the route table of
# /api/{workspace}/…, pagination (`page`, `per_page`, `_links.next_page`,
# `pagination`), the Mode error bodies, and the endpoints themselves
# (data sources, spaces, reports, queries, runs, query runs, result content).
# Object shapes come from hal.py, state from state.py.

import base64
import binascii
import hashlib
import json
import math
import urllib.parse

import hal
from http_io import Response
from state import ADMIN, MEMBER, SUCCESS

HAL = "application/hal+json; charset=utf-8"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}

TOKEN, SECRET = "mode_demo_token", "mode_demo_secret"
MEMBER_TOKEN, MEMBER_SECRET = "mode_member_token", "mode_member_secret"

ERROR_IDS = {400: ("bad_request", "Bad request"), 401: ("unauthorized", "Unauthorized"),
             403: ("forbidden", "Forbidden"), 404: ("not_found", "Not found"),
             413: ("payload_too_large", "Payload too large"), 429: ("rate_limited", "Rate limit exceeded"),
             500: ("internal_server_error", "Internal server error"),
             503: ("service_unavailable", "Service unavailable")}

# (method, path pattern below /api/{workspace}, route kind); "*" captures one segment
ROUTES = [
    ("GET", (), "account"),
    ("GET", ("data_sources",), "data_sources"),
    ("GET", ("data_sources", "*"), "data_source"),
    ("GET", ("data_sources", "*", "reports"), "data_source_reports"),
    ("GET", ("spaces",), "spaces"),
    ("GET", ("spaces", "*"), "space"),
    ("GET", ("spaces", "*", "reports"), "space_reports"),
    ("GET", ("reports", "*"), "report"),
    ("GET", ("reports", "*", "queries"), "queries"),
    ("GET", ("reports", "*", "queries", "*"), "query"),
    ("GET", ("reports", "*", "runs"), "runs"),
    ("POST", ("reports", "*", "runs"), "run_create"),
    ("GET", ("reports", "*", "runs", "*"), "run_get"),
    ("GET", ("reports", "*", "runs", "*", "query_runs"), "query_runs"),
    ("GET", ("reports", "*", "runs", "*", "query_runs", "*"), "query_run"),
    ("GET", ("reports", "*", "runs", "*", "query_runs", "*", "results"), "result"),
    ("GET", ("reports", "*", "runs", "*", "query_runs", "*", "results", "content.csv"), "content"),
    ("GET", ("reports", "*", "runs", "*", "query_runs", "*", "results", "content.json"), "content"),
]


def error(status, message=None, headers=None):
    eid, default = ERROR_IDS.get(status, ("error", "Error"))
    body = hal.dumps({"id": eid, "message": message or default})
    return Response(status, body, HAL, headers)


def not_found(what):
    return error(404, "`%s` not found" % what)


def ok(obj, status=200):
    return Response(status, hal.dumps(obj), HAL)


class HTTPError(Exception):
    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def classify(method, path):
    """(route kind, workspace, captured segments) or (None, workspace, None)."""
    if not path.startswith("/api/"):
        return None, None, None
    segs = [urllib.parse.unquote(s) for s in path[len("/api/"):].rstrip("/").split("/")]
    ws, rest = segs[0], segs[1:]
    for m, pat, kind in ROUTES:
        if m != method or len(pat) != len(rest):
            continue
        caps = []
        for p, s in zip(pat, rest):
            if p == "*":
                caps.append(s)
            elif p != s:
                break
        else:
            if kind == "content":
                caps.append(rest[-1].rsplit(".", 1)[1])
            return kind, ws, caps
    return None, ws, None


class App:
    def __init__(self, model, stats, faults, side, per_page=2, gzip_enabled=True, redirect_content=False):
        self.m = model
        self.shapes = hal.Shapes(model)
        self.stats = stats
        self.faults = faults
        self.side = side
        self.per_page = per_page
        self.gzip_enabled = gzip_enabled
        self.redirect_content = redirect_content
        self.redirect_host = None      # another host name for the redirect target
        self.base_url = None           # http://host:port, set once listening
        self.credentials = {TOKEN: (SECRET, ADMIN), MEMBER_TOKEN: (MEMBER_SECRET, MEMBER)}
        self.revoked = set()
        self.redirects = {}            # key -> (query run, fmt)

    # -- entry point ----------------------------------------------------------------
    def handle(self, req):
        if req.path.startswith("/__fake/") or req.path == "/__fake":
            return self.side.handle(req)
        if req.path.startswith("/__content/"):
            kind = "redirected_content"
        else:
            kind, ws, caps = classify(req.method, req.path)
            if kind == "content":
                self._count_download(caps)
        self.stats.request(kind or "unmatched")
        fault = self.faults.http_fault(req.method, req.target)
        if fault and "status" in fault:
            resp = self._fault_response(fault)
        elif kind == "redirected_content":
            resp = self._redirected(req)
        else:
            try:
                resp = self._api(req, kind, ws, caps)
            except HTTPError as e:
                resp = e.response
        resp.fault = fault
        self.stats.status(resp.status)
        return resp

    def _fault_response(self, f):
        status = int(f["status"])
        headers = []
        if status == 429:
            headers.append(("Retry-After", str(f.get("retry_after", 1))))
        if "body" in f:
            body = f["body"]
            ct = HAL if body.lstrip().startswith("{") else "text/plain; charset=utf-8"
            return Response(status, body, ct, headers)
        msg = "Injected fault: HTTP %d" % status
        return error(status, msg, headers)

    def _count_download(self, caps):
        rep = self.m.report(caps[0])
        run = rep.run(caps[1]) if rep else None
        qr = run.query_run(caps[2]) if run else None
        if qr is not None:
            self.stats.download("content:%s:%s:%s" % (rep.token, qr.query.token, caps[3]))

    # -- auth ------------------------------------------------------------------------
    def _who(self, req):
        h = req.header("Authorization") or ""
        scheme, _, value = h.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        token, sep, secret = raw.partition(":")
        cred = self.credentials.get(token)
        if not sep or cred is None or cred[0] != secret or token in self.revoked:
            return None
        return cred[1]

    def revoke(self, token, restore=False):
        if token not in self.credentials:
            raise ValueError("unknown token %r" % (token,))
        if restore:
            self.revoked.discard(token)
        else:
            self.revoked.add(token)
        return sorted(self.revoked)

    # -- /api --------------------------------------------------------------------------
    def _api(self, req, kind, ws, caps):
        if not req.path.startswith("/api/"):
            return not_found("Route")
        who = self._who(req)
        if who is None:
            return error(401, headers=[("WWW-Authenticate", 'Basic realm="Mode"')])
        if ws != self.m.workspace:
            return not_found("Workspace")
        if kind is None:
            return error(404, "Not found")
        return getattr(self, "r_" + kind)(req, who, *caps)

    # lookups that raise the right error
    def _report(self, who, token):
        r = self.m.report(token)
        if r is None:
            raise HTTPError(not_found("Report"))
        if not self.m.can_see_report(who, r):
            raise HTTPError(error(403, "You do not have access to this `Report`"))
        return r

    def _run(self, who, rtoken, run_token):
        r = self._report(who, rtoken)
        run = r.run(run_token)
        if run is None:
            raise HTTPError(not_found("ReportRun"))
        return run

    def _query_run(self, who, rtoken, run_token, qr_token):
        run = self._run(who, rtoken, run_token)
        qr = run.query_run(qr_token)
        if qr is None:
            raise HTTPError(not_found("QueryRun"))
        return qr

    def _int_arg(self, req, name, default):
        v = req.arg(name)
        if v is None:
            return default
        try:
            n = int(v)
        except ValueError:
            n = 0
        if n < 1:
            raise HTTPError(error(400, "`%s` must be a positive integer" % name))
        return n

    def _page(self, req, key, items):
        """One page of `items` as a HAL list with pagination links."""
        per_page = self._int_arg(req, "per_page", self.per_page)
        page = self._int_arg(req, "page", 1)
        total = len(items)
        total_pages = max(1, int(math.ceil(total / float(per_page))))
        chunk = items[(page - 1) * per_page:page * per_page]
        others = [(k, v) for k, vs in req.query.items() if k not in ("page", "per_page") for v in vs]

        def href(p):
            return req.path + "?" + urllib.parse.urlencode(others + [("page", p), ("per_page", per_page)])
        links = {}
        if page < total_pages:
            links["next_page"] = hal.link(href(page + 1))
        if page > 1:
            links["prev_page"] = hal.link(href(min(page - 1, total_pages)))
        self_href = req.target
        pagination = {"page": page, "per_page": per_page, "count": len(chunk), "total_pages": total_pages,
                      "total_count": total}
        return ok(self.shapes.listing(self_href, key, chunk, links, pagination))

    @staticmethod
    def _filter_order(req, objs, newest_first=False):
        """filter=created_at.gt.<ISO> (lt; updated_at), order=asc|desc, order_by=created_at|updated_at."""
        f = req.arg("filter")
        if f and f != "all" and f != "custom":
            parts = f.split(".", 2)
            if len(parts) != 3 or parts[0] not in ("created_at", "updated_at") or parts[1] not in ("gt", "lt"):
                raise HTTPError(error(400, "Invalid filter %r" % f))
            field, op, when = parts
            objs = [o for o in objs if (getattr(o, field) > when if op == "gt" else getattr(o, field) < when)]
        order_by = req.arg("order_by")
        order = req.arg("order")
        if order_by or order:
            field = order_by or "created_at"
            if field not in ("created_at", "updated_at") or (order or "asc") not in ("asc", "desc"):
                raise HTTPError(error(400, "Invalid order"))
            objs = sorted(objs, key=lambda o: (getattr(o, field), o.id), reverse=(order == "desc"))
        elif newest_first:
            objs = list(reversed(objs))
        return objs

    # -- endpoints ---------------------------------------------------------------------------
    def r_account(self, req, who):
        api = "/api/" + self.m.workspace
        return ok({"id": 1, "token": hashlib.sha1(self.m.workspace.encode()).hexdigest()[:12],
                   "username": self.m.workspace, "name": self.m.workspace.title(), "user": False,
                   "_links": {"self": hal.link(api), "spaces": hal.link(api + "/spaces"),
                              "data_sources": hal.link(api + "/data_sources")},
                   "_embedded": {}})

    def r_data_sources(self, req, who):
        items = [self.shapes.data_source_item(d) for d in self.m.data_sources
                 if self.m.can_see_data_source(who, d)]
        return ok(self.shapes.listing(req.target, "data_sources", items))

    def _data_source(self, who, token):
        d = self.m.data_source(token)
        if d is None:
            raise HTTPError(not_found("DataSource"))
        if not self.m.can_see_data_source(who, d):
            raise HTTPError(error(403, "You do not have access to this `DataSource`"))
        return d

    def r_data_source(self, req, who, token):
        return ok(self.shapes.data_source(self._data_source(who, token)))

    def r_data_source_reports(self, req, who, token):
        d = self._data_source(who, token)
        reps = [r for r in self.m.reports if self.m.can_see_report(who, r) and any(q.ds is d for q in r.queries)]
        reps = self._filter_order(req, reps)
        return self._page(req, "reports", [self.shapes.report(r) for r in reps])

    def r_spaces(self, req, who):
        f = req.arg("filter")
        spaces = self.m.visible_spaces(who, include_personal=(f == "all"))
        if f == "custom":
            spaces = [s for s in spaces if s.space_type == "custom"]
        return self._page(req, "spaces", [self.shapes.space(s) for s in spaces])

    def _space(self, who, token):
        s = self.m.space(token)
        if s is None:
            raise HTTPError(not_found("Space"))
        if not self.m.can_see_space(who, s):
            raise HTTPError(error(403, "You do not have access to this `Space`"))
        return s

    def r_space(self, req, who, token):
        return ok(self.shapes.space(self._space(who, token)))

    def r_space_reports(self, req, who, token):
        s = self._space(who, token)
        reps = self._filter_order(req, [r for r in self.m.reports if r.space is s])
        return self._page(req, "reports", [self.shapes.report(r) for r in reps])

    def r_report(self, req, who, token):
        with self.m.lock:
            return ok(self.shapes.report(self._report(who, token)))

    def r_queries(self, req, who, token):
        r = self._report(who, token)
        with self.m.lock:
            items = [self.shapes.query(q) for q in r.queries]
        return ok(self.shapes.listing(req.target, "queries", items))

    def r_query(self, req, who, token, qtoken):
        r = self._report(who, token)
        q = r.query(qtoken)
        if q is None:
            return not_found("Query")
        with self.m.lock:
            return ok(self.shapes.query(q))

    def r_runs(self, req, who, token):
        r = self._report(who, token)
        with self.m.lock:
            runs = self._filter_order(req, list(r.runs), newest_first=True)
            items = [self.shapes.run(x) for x in runs]
        return self._page(req, "report_runs", items)

    def r_run_create(self, req, who, token):
        r = self._report(who, token)
        body = {}
        if req.body and req.body.strip():
            try:
                body = json.loads(req.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return error(400, "Request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("parameters", {}), dict):
            return error(400, "`parameters` must be an object")
        outcome = self.faults.run_outcome(req.method, req.target)
        with self.m.lock:
            run = self.m.create_run(r, body.get("parameters"), outcome)
            self.stats.run_created(r.token)
            return ok(self.shapes.run(run), 202)

    def r_run_get(self, req, who, token, run_token):
        run = self._run(who, token, run_token)
        with self.m.lock:
            self.m.poll_run(run)
            return ok(self.shapes.run(run))

    def r_query_runs(self, req, who, token, run_token):
        run = self._run(who, token, run_token)
        with self.m.lock:
            items = [self.shapes.query_run(qr) for qr in run.query_runs]
        return ok(self.shapes.listing(req.target, "query_runs", items))

    def r_query_run(self, req, who, token, run_token, qr_token):
        qr = self._query_run(who, token, run_token, qr_token)
        with self.m.lock:
            return ok(self.shapes.query_run(qr))

    def r_result(self, req, who, token, run_token, qr_token):
        qr = self._query_run(who, token, run_token, qr_token)
        return ok(self.shapes.result(qr))

    def r_content(self, req, who, token, run_token, qr_token, fmt):
        qr = self._query_run(who, token, run_token, qr_token)
        if qr.state not in SUCCESS:
            return error(404, "`QueryRun` has no results (state: %s)" % qr.state)
        if self.redirect_content:
            key = hashlib.sha1(("%s:%s:%s" % (qr.run.token, qr.token, fmt)).encode()).hexdigest()[:24]
            self.redirects[key] = (qr, fmt)
            base = self.base_url or ""
            if self.redirect_host and base:
                # the same server under another name: a client must not
                # send the credential there
                base = "http://%s:%s" % (self.redirect_host, base.rsplit(":", 1)[1])
            loc = "%s/__content/%s/content.%s?signature=%s" % (base, key, fmt, key[:8])
            return Response(302, b"", None, [("Location", loc)])
        return self._content_response(req, qr, fmt)

    def _gzip_wanted(self, req):
        return self.gzip_enabled and "gzip" in (req.header("Accept-Encoding") or "").lower()

    def _content_response(self, req, qr, fmt):
        body, encoded = self.m.content(qr, fmt, self._gzip_wanted(req))
        resp = Response(200, body, CONTENT_TYPES[fmt], compressible=not encoded)
        resp.encoded = encoded
        return resp

    def _redirected(self, req):
        if req.header("Authorization"):
            self.stats.redirect_with_auth()
        parts = req.path.split("/")
        entry = self.redirects.get(parts[2]) if len(parts) == 4 and req.method in ("GET", "HEAD") else None
        if entry is None:
            return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        return self._content_response(req, entry[0], entry[1])
