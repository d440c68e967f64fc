# public.py — public links: /api/public/* (no credentials) and the admin lists of shared objects.
#
# Owns (metabase-api.md §8, metabase-openapi/api.json, Metabase's api/public.clj):
#   GET  /api/public/card/:uuid                         the card as the public sees it
#   GET  /api/public/card/:uuid/query                   202 JSON results (parameters: JSON string in the query)
#   GET  /api/public/card/:uuid/query/:export-format    csv/json/xlsx/api download (parameters, and in
#                                                       the new behaviour format_rows, in the query string)
#   GET  /api/public/dashboard/:uuid                    the dashboard as the public sees it
#   GET  /api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id             202 JSON results
#   POST /api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id/:export-format
#                                                       download (new behaviour only: v0.46 has no such
#                                                       route; form or JSON body: parameters, format_rows)
#   GET  /api/card/public, GET /api/dashboard/public    [{id, name, public_uuid}], admins only (403 for
#                                                       others), 400 while public sharing is disabled
# Public routes never look at credentials.  Like Metabase's public-exceptions middleware, any failure
# other than a 404 ("Not found.") answers 400 "An error occurred." as plain text; a disabled
# enable-public-sharing setting is such a failure.  Queries run with admin permissions; a failed
# query keeps its era's status rules (exports.py) but shows only {status, error, error_type}, with a
# generic error message unless the error type is a parameter error.

import json
import re

import common
from common import Halt, jresp, text, forbidden
from dashboards import public_card_json, public_detail
from exports import EXPORT_FORMATS, PUBLIC_CONTEXTS

_UUID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")


def _generic():
    raise Halt(text(400, common.PUBLIC_ERROR))


def public_endpoint(fn):
    """public-exceptions: 404 stays "Not found.", every other early failure becomes 400 "An error occurred."."""
    def wrapper(self, req, user, **kw):
        try:
            return fn(self, req, user, **kw)
        except Halt as h:
            if h.response.status == 404:
                return text(404, common.NOT_FOUND)
            if h.response.status >= 400:
                return text(400, common.PUBLIC_ERROR)
            raise
    wrapper.__name__ = fn.__name__
    return wrapper


class Public:
    def __init__(self, behaviour, catalog, exports, stats):
        self.b = behaviour
        self.cat = catalog
        self.ex = exports
        self.stats = stats

    # ------------------------------------------------------------------ helpers
    def _check_uuid(self, uuid_str, validated=True):
        """New versions validate the uuid (ms/UUIDString: 400); v0.46 looks anything up (404)."""
        if self.b.name == "new" and validated and not _UUID.match(uuid_str):
            _generic()

    def _check_enabled(self):
        if not self.cat.public_sharing():
            _generic()                      # "Public sharing is not enabled." behind public-exceptions

    def _card(self, uuid_str):
        c = self.cat.public_card(uuid_str)
        if c is None:
            common.not_found()
        return c

    def _dashboard(self, uuid_str):
        d = self.cat.public_dashboard(uuid_str)
        if d is None:
            common.not_found()
        return d

    def _query_parameters(self, req):
        raw = req.arg("parameters")
        if raw in (None, ""):
            return []
        try:
            params = json.loads(raw)
        except ValueError:
            _generic()
        if params is None:
            return []
        if not isinstance(params, list):
            _generic()
        return params

    def _bool(self, value):
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        v = str(value).strip().lower()
        if v in ("true", "false"):
            return v == "true"
        _generic()

    # ------------------------------------------------------------------ cards
    @public_endpoint
    def card_get(self, req, user, uuid):
        self._check_uuid(uuid)
        self._check_enabled()
        with self.cat.lock:
            return jresp(public_card_json(self.cat, self._card(uuid)))

    @public_endpoint
    def card_query(self, req, user, uuid):
        self._check_uuid(uuid)
        params = self._query_parameters(req)
        return self._card_export(uuid, "api", params, False)

    @public_endpoint
    def card_export(self, req, user, uuid, export_format):
        self._check_uuid(uuid)
        if export_format not in EXPORT_FORMATS:
            _generic()
        params = self._query_parameters(req)
        format_rows = self._bool(req.arg("format_rows")) if self.b.format_rows_param else False
        if self.b.name == "new":
            self._bool(req.arg("pivot_results"))
        return self._card_export(uuid, export_format, params, format_rows)

    def _card_export(self, uuid_str, fmt, params, format_rows):
        self._check_enabled()
        card = self._card(uuid_str)
        params = self.ex.resolve_card_parameters(card, params)
        self.stats.export("public:card:%d:%s" % (card["id"], fmt))
        route = ("GET /api/public/card/:uuid/query" if fmt == "api"
                 else "GET /api/public/card/:uuid/query/:export-format")
        fault = self.ex._fault(route, card["id"], fmt)
        return self.ex._card_run(None, card, fmt, params, format_rows, fault,
                                 context=PUBLIC_CONTEXTS.get(fmt, "public-question"), public=True)

    # ------------------------------------------------------------------ dashboards
    @public_endpoint
    def dashboard_get(self, req, user, uuid):
        self._check_uuid(uuid)
        self._check_enabled()
        with self.cat.lock:
            return jresp(public_detail(self.cat, self._dashboard(uuid)))

    def _dashcard(self, uuid_str, dashcard_id, card_id):
        if not (dashcard_id.isdigit() and int(dashcard_id) > 0 and card_id.isdigit() and int(card_id) > 0):
            _generic()
        self._check_enabled()
        d = self._dashboard(uuid_str)
        dc = self.cat.dashcards.get(int(dashcard_id))
        card = self.cat.cards.get(int(card_id))
        if dc is None or card is None or card["archived"] or dc["dashboard_id"] != d["id"] or \
                (dc["card_id"] != card["id"] and card["id"] not in dc.get("series", [])):
            common.not_found()
        return d, dc, card

    @public_endpoint
    def dashcard_query(self, req, user, uuid, dashcard_id, card_id):
        self._check_uuid(uuid)
        params = self._query_parameters(req)
        d, dc, card = self._dashcard(uuid, dashcard_id, card_id)
        return self._dashcard_run(d, dc, card, "api", params, False)

    @public_endpoint
    def dashcard_export(self, req, user, uuid, dashcard_id, card_id, export_format):
        self._check_uuid(uuid)
        fields = {}
        for k, v in req.form().items():
            fields[k] = v[0]
        if req.is_json():
            body = req.json()
            if isinstance(body, dict):
                fields.update(body)
        raw = fields.get("parameters")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else None
            except ValueError:
                _generic()
        if raw is not None and not isinstance(raw, list):
            _generic()
        format_rows = self._bool(fields.get("format_rows"))
        self._bool(fields.get("pivot_results"))
        d, dc, card = self._dashcard(uuid, dashcard_id, card_id)
        return self._dashcard_run(d, dc, card, export_format, raw or [], format_rows)

    def _dashcard_run(self, d, dc, card, fmt, params, format_rows):
        parameters = self.cat.dashcard_parameters(d, dc, card, params)
        self.stats.export("public:dashcard:%d:%d:%d:%s" % (d["id"], dc["id"], card["id"], fmt))
        route = ("GET /api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id" if fmt == "api" else
                 "POST /api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id/:export-format")
        fault = self.ex._fault(route, card["id"], fmt, d["id"])
        return self.ex._card_run(None, card, fmt, parameters, format_rows, fault,
                                 context=PUBLIC_CONTEXTS.get(fmt, "public-dashboard"), public=True)

    # ------------------------------------------------------------------ admin lists
    def card_list(self, req, user):
        if not user.is_superuser:
            forbidden()
        if not self.cat.public_sharing():
            raise Halt(text(400, common.PUBLIC_SHARING_DISABLED))
        with self.cat.lock:
            out = []
            for c in sorted(self.cat.cards.values(), key=lambda c: c["id"]):
                if c.get("public_uuid") and not c["archived"]:
                    row = {"name": c["name"], "id": c["id"], "public_uuid": c["public_uuid"]}
                    if self.b.name == "new":
                        row["card_schema"] = 23
                    out.append(row)
            return jresp(out)

    def dashboard_list(self, req, user):
        if not user.is_superuser:
            forbidden()
        if not self.cat.public_sharing():
            raise Halt(text(400, common.PUBLIC_SHARING_DISABLED))
        with self.cat.lock:
            return jresp([{"name": d["name"], "id": d["id"], "public_uuid": d["public_uuid"]}
                          for d in sorted(self.cat.dashboards.values(), key=lambda d: d["id"])
                          if d.get("public_uuid") and not d["archived"]])
