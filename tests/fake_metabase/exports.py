# exports.py — running queries over HTTP: downloads and 202 JSON results.
#
# Owns: POST /api/card/:id/query[/:fmt], POST /api/dataset[/:fmt] and the
# dashcard variants: where each version reads its options (form fields,
# JSON body, query string), the checks made before streaming (404/403 as
# plain text), the download row cap, the Content-Disposition filename,
# and how a failing query shows up per era (metabase-api.md §6.3):
#   era A (old):  200 (202 for api) with the JSON error object as the body;
#   era C (new):  the real status (500 by default) + application/json.
# Fault injection (faults.py) may replace or distort any of this.

import datetime
import json

import bulk
import common
import formats
import mbql
from common import Halt, text, not_found, forbidden, bad_request, parse_id, parse_bool, parse_json_param
from server import StreamPlan, StreamResponse

EXPORT_FORMATS = ("csv", "json", "xlsx", "api")
XLSX_MAX_ROWS = 1048575
UNAGGREGATED_LIMIT = 2000
AGGREGATED_LIMIT = 10000

CONTEXTS = {"csv": "csv-download", "json": "json-download", "xlsx": "xlsx-download"}
PUBLIC_CONTEXTS = {"csv": "public-csv-download", "json": "public-json-download", "xlsx": "public-xlsx-download"}
# qp.error-type errors with :show-in-embeds? true: public answers keep their message
PUBLIC_SHOWN_ERRORS = ("invalid-parameter", "missing-required-parameter")


def _now():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def _aggregated(dq):
    try:
        dq = mbql.normalize(dq)
    except mbql.QueryError:
        return False
    q = dq.get("query") or {}
    return bool(q.get("aggregation") or q.get("breakout"))


class Exports:
    def __init__(self, behaviour, warehouse, catalog, stats, faults, row_cap):
        self.b = behaviour
        self.wh = warehouse
        self.cat = catalog
        self.stats = stats
        self.faults = faults
        self.row_cap = row_cap

    # ------------------------------------------------------------------ options
    def _fields(self, req):
        """Export options by version: query string (<= 0.52), form body (all), JSON body (>= 0.53)."""
        fields = {}
        if self.b.export_query_string:
            for k, v in req.query.items():
                fields[k] = v[0]
        for k, v in req.form().items():
            fields[k] = v[0]
        if self.b.export_json_body and req.is_json():
            body = req.json()
            if isinstance(body, dict):
                fields.update(body)
        return fields

    def _format_rows(self, fields):
        if not self.b.format_rows_param:
            return False
        return parse_bool(fields.get("format_rows"), "format_rows", self.b, default=False)

    def _parameters(self, fields):
        return parse_json_param(fields.get("parameters"), "parameters", self.b) or []

    def _fault(self, route, card_id=None, fmt=None, dashboard_id=None, user=None):
        if self.faults is None:
            return None
        return self.faults.export_fault(route=route, card_id=card_id, fmt=fmt, dashboard_id=dashboard_id,
                                        user_id=user.id if user is not None else None)

    # ------------------------------------------------------------------ cards
    def _readable_card(self, user, ident):
        card = self.cat.card(ident)
        if card is None:
            not_found()
        if not self.cat.can_read_card(user, card):
            forbidden()
        return card

    def card_export(self, req, user, id, export_format):
        fmt = export_format
        if fmt not in EXPORT_FORMATS:
            return text(404, common.NO_ENDPOINT)
        card = self._readable_card(user, parse_id(id, self.b, allow_entity=True))
        self.stats.export("card:%d:%s" % (card["id"], fmt))
        fields = self._fields(req)
        parameters = self.resolve_card_parameters(card, self._parameters(fields))
        format_rows = self._format_rows(fields)
        fault = self._fault("POST /api/card/:id/query/:export-format", card["id"], fmt, user=user)
        return self._card_run(user, card, fmt, parameters, format_rows, fault, context=CONTEXTS.get(fmt, "question"))

    def card_query(self, req, user, id):
        card = self._readable_card(user, parse_id(id, self.b, allow_entity=True))
        self.stats.export("card:%d:api" % card["id"])
        body = req.json() if req.is_json() else None
        parameters = parse_json_param((body or {}).get("parameters") if isinstance(body, dict) else None,
                                      "parameters", self.b) or []
        parameters = self.resolve_card_parameters(card, parameters)
        fault = self._fault("POST /api/card/:id/query", card["id"], "api")
        return self._card_run(user, card, "api", parameters, False, fault, context="question")

    def resolve_card_parameters(self, card, parameters):
        """The request's parameters for a card query, checked as qp.card/validate-card-parameters does:
        on a native card every parameter must name one of its template tags (by target, or by the
        id of one of the card's parameters); MBQL cards accept any parameter.  Raises Halt (500 JSON,
        before streaming) for an unknown one."""
        tags = mbql.native_tag_names(card["dataset_query"])
        if tags is None or not parameters:
            return parameters
        by_id = {p["id"]: p for p in card["parameters"]}
        out = []
        for p in parameters:
            if not isinstance(p, dict):
                raise Halt(common.exception_response(500, "Invalid parameter: %s" % common.clj_str(p),
                                                     {"type": "invalid-parameter"}, self.b))
            if p.get("target") is None and p.get("id") in by_id:
                p = dict(p, target=by_id[p["id"]]["target"])
            name = mbql.parameter_tag_name(p)
            if name not in tags:
                raise Halt(common.exception_response(
                    500, "Invalid parameter: Card %d does not have a template tag named %s."
                    % (card["id"], common.clj_str(name)),
                    {"type": "invalid-parameter", "invalid-parameter": p, "allowed-parameters": sorted(tags)},
                    self.b))
            out.append(p)
        return out

    def _card_run(self, user, card, fmt, parameters, format_rows, fault, context, extra_params=None,
                  public=False):
        early = self._pre_stream_fault(fault, fmt, formats.slugify(card["name"]))
        if early is not None:
            return early
        if not public and not self.cat.can_query_card(user, card):
            forbidden()
        if public:
            user = self.cat.users[1]          # public queries run with admin permissions (as-admin)
        dq = card["dataset_query"]
        chunker = None
        if card.get("big"):                      # --big-export-mb: pre-rendered blocks
            def runner(max_rows):
                return bulk.big_rows(card, max_rows)
            if fmt in ("csv", "json") and not format_rows:
                def chunker(cap):
                    return bulk.big_chunks(card, fmt, cap)
        else:
            def runner(max_rows):
                return mbql.run(self.wh, dq, parameters, card["parameters"], max_rows, self._card_lookup(user),
                                behaviour_name=self.b.name)
        return self._run_and_stream(fmt, runner, formats.slugify(card["name"]), context, fault, format_rows,
                                    dq, card["database_id"], aggregated=_aggregated(dq), chunker=chunker,
                                    public=public, parameters=parameters)

    def _card_lookup(self, user):
        def lookup(ident):
            c = self.cat.card(ident)
            if c is None or not self.cat.can_read_card(user, c):
                return None
            return c
        return lookup

    # ------------------------------------------------------------------ ad-hoc
    def _dataset_query_arg(self, raw):
        if isinstance(raw, dict):
            return raw
        if isinstance(raw, str) and raw.strip():
            try:
                q = json.loads(raw)
            except ValueError:
                q = None
            if isinstance(q, dict):
                return q
        bad_request({"query": "value must be a valid JSON string."},
                    {"query": ["value must be a valid JSON string."]}, self.b)

    def _dataset_prepare(self, user, query):
        if query.get("database") is None and query.get("type") != "internal":
            raise Halt(common.jresp({"message": "`database` is required for all queries whose type is not "
                                                "`internal`.", "query": query}, 400))
        db_id = query.get("database")
        if db_id != -1337:
            if not isinstance(db_id, int) or db_id not in self.wh.db_by_id:
                not_found()
            if not self.cat.perms.can_read_db(user, db_id):
                forbidden()
        try:
            norm = mbql.normalize(query)
        except mbql.QueryError:
            norm = None
        src = ((norm or {}).get("query") or {}).get("source-table") if norm else None
        if norm is None:
            kind = "query"
        elif norm["type"] == "native":
            kind = "native"
        elif isinstance(src, int):
            kind = "table:%d" % src
        elif isinstance(src, str) and src.startswith("card__"):
            kind = "card:%s" % src[6:]
        else:
            kind = "query"
        if db_id == -1337:
            if not (isinstance(src, str) and src.startswith("card__")):
                not_found()
            card = self.cat.card(src[6:])
            if card is None:
                not_found()
            if not self.cat.can_read_card(user, card):
                forbidden()
            if not self.cat.can_query_card(user, card):
                forbidden()
            query = dict(query, database=card["database_id"])
        return query, kind

    def dataset_export(self, req, user, export_format):
        fmt = export_format
        if fmt not in EXPORT_FORMATS:
            return text(404, common.NO_ENDPOINT)
        fields = self._fields(req)
        query = self._dataset_query_arg(fields.get("query"))
        query, kind = self._dataset_prepare(user, query)
        self.stats.export("dataset:%s:%s" % (kind, fmt))
        format_rows = self._format_rows(fields)
        parse_json_param(fields.get("visualization_settings"), "visualization_settings", self.b, expect=dict)
        table_id = int(kind[6:]) if kind.startswith("table:") else None
        fault = self._fault("POST /api/dataset/:export-format", None, fmt)
        if fault is None and table_id is not None and self.faults is not None:
            fault = self.faults.export_fault(route=None, table_id=table_id, fmt=fmt)
        return self._dataset_run(user, query, fmt, format_rows, fault, CONTEXTS.get(fmt, "ad-hoc"))

    def dataset_query(self, req, user):
        query = req.json() if req.is_json() else None
        if not isinstance(query, dict):
            bad_request({"query": "value must be a map."}, None, self.b)
        query, kind = self._dataset_prepare(user, query)
        self.stats.export("dataset:%s:api" % kind)
        fault = self._fault("POST /api/dataset", None, "api")
        return self._dataset_run(user, query, "api", False, fault, "ad-hoc", js_int_to_string=True)

    def _dataset_run(self, user, query, fmt, format_rows, fault, context, js_int_to_string=False):
        early = self._pre_stream_fault(fault, fmt, "query_result")
        if early is not None:
            return early
        native = isinstance(query, dict) and (query.get("type") == "native" or any(
            isinstance(st, dict) and st.get("lib/type") == "mbql.stage/native" for st in query.get("stages") or ()))

        def runner(max_rows):
            if native and not self.cat.perms.can_query_native(user, query.get("database")):
                # the QP's permission check (qp.perms): a query failure, not a pre-stream 403
                raise mbql.QueryError("You do not have permissions to run this query.",
                                      "missing-required-permissions", status=403)
            return mbql.run(self.wh, query, query.get("parameters") or (), (), max_rows, self._card_lookup(user),
                            behaviour_name=self.b.name)
        return self._run_and_stream(fmt, runner, "query_result", context, fault, format_rows, query,
                                    query.get("database"), aggregated=_aggregated(query),
                                    js_int_to_string=js_int_to_string)

    # ------------------------------------------------------------------ dashboards
    def _dashcard(self, user, id, dashcard_id, card_id):
        dash = self.cat.dashboard(parse_id(id, self.b, allow_entity=True))
        if dash is None:
            not_found()
        if not self.cat.can_read_collection(user, dash["collection_id"]):
            forbidden()
        dc = self.cat.dashcards.get(parse_id(dashcard_id, self.b, name="dashcard-id"))
        cid = parse_id(card_id, self.b, name="card-id")
        if dc is None or dc["dashboard_id"] != dash["id"]:
            not_found()
        if dc["card_id"] != cid and cid not in dc.get("series", []):
            not_found()
        card = self._readable_card(user, cid)
        return dash, dc, card

    def dashcard_export(self, req, user, id, dashcard_id, card_id, export_format):
        fmt = export_format
        if fmt not in EXPORT_FORMATS:
            return text(404, common.NO_ENDPOINT)
        dash, dc, card = self._dashcard(user, id, dashcard_id, card_id)
        self.stats.export("dashcard:%d:%d:%d:%s" % (dash["id"], dc["id"], card["id"], fmt))
        fields = self._fields(req)
        dparams = self._parameters(fields)
        format_rows = self._format_rows(fields)
        fault = self._fault("POST /api/dashboard/:id/dashcard/:dashcard-id/card/:card-id/query/:export-format",
                            card["id"], fmt, dash["id"])
        parameters = self.cat.dashcard_parameters(dash, dc, card, dparams)
        return self._card_run(user, card, fmt, parameters, format_rows, fault, context="dashboard")

    def dashcard_query(self, req, user, id, dashcard_id, card_id):
        dash, dc, card = self._dashcard(user, id, dashcard_id, card_id)
        self.stats.export("dashcard:%d:%d:%d:api" % (dash["id"], dc["id"], card["id"]))
        body = req.json() if req.is_json() else None
        dparams = parse_json_param((body or {}).get("parameters") if isinstance(body, dict) else None,
                                   "parameters", self.b) or []
        fault = self._fault("POST /api/dashboard/:id/dashcard/:dashcard-id/card/:card-id/query", card["id"], "api",
                            dash["id"])
        parameters = self.cat.dashcard_parameters(dash, dc, card, dparams)
        return self._card_run(user, card, "api", parameters, False, fault, context="dashboard")

    # ------------------------------------------------------------------ streaming
    def _pre_stream_fault(self, fault, fmt, prefix):
        """Faults that answer instead of running the query (status, 429, HTML page, early error)."""
        if fault is None:
            return None
        return self.faults.pre_stream_response(fault, fmt, self.b, prefix)

    def _run_and_stream(self, fmt, runner, prefix, context, fault, format_rows, dq, db_id,
                        aggregated=False, js_int_to_string=False, chunker=None, public=False, parameters=()):
        if fmt == "api":
            cap = AGGREGATED_LIMIT if aggregated else UNAGGREGATED_LIMIT
        elif fmt == "xlsx":
            cap = min(self.row_cap, XLSX_MAX_ROWS)
        else:
            cap = self.row_cap
        started = _now()
        try:
            result = runner(cap) if chunker is None else None
        except mbql.QueryError as e:
            return self._failure(fmt, e, context, prefix, fault, db_id, dq, public=public)
        headers = [("X-Accel-Buffering", "no")]
        if fmt == "api":
            status = 202
            cols = [c.metadata() for c in result.columns]
            data = {"rows": [list(r) for r in result.rows], "cols": cols,
                    "native_form": {"query": result.sql, "params": None},
                    "results_timezone": "UTC", "requested_timezone": "UTC", "format-rows?": True,
                    "results_metadata": {"columns": cols}, "insights": None}
            if len(result.rows) >= cap:
                data["rows_truncated"] = cap
            body = {"data": data, "database_id": result.database_id, "started_at": started,
                    "json_query": dq, "average_execution_time": None, "status": "completed",
                    "context": context, "row_count": len(result.rows), "running_time": 0}
            if public:   # transform-results :completed: only what the public may see
                pdata = {k: data[k] for k in ("cols", "rows", "rows_truncated", "insights", "requested_timezone",
                                              "results_timezone") if k in data}
                body = {"data": pdata, "json_query": {"parameters": list(parameters or [])},
                        "status": "completed"}
            chunks = [formats.dumps_java(body, big_ints_as_strings=js_int_to_string).encode("utf-8")]
        else:
            status = 200
            headers.insert(0, ("Content-Disposition",
                               'attachment; filename="%s"' % formats.export_filename(prefix, fmt)))
            chunks = (chunker(cap) if chunker is not None else
                      formats.export_chunks(fmt, result.columns, result.rows, format_rows))
        plan = StreamPlan()
        if fault is not None:
            chunks, plan = self.faults.shape(fault, fmt, self.b, chunks, self._error_tail(fmt, context, db_id, dq))
        return StreamResponse(status, formats.CONTENT_TYPES[fmt], chunks, headers,
                              close=self.b.stream_connection_close, plan=plan,
                              wire_chunk=1024 * 1024 if chunker is not None else None)

    # ------------------------------------------------------------------ failures
    def qp_error(self, err, context, db_id, dq, fmt):
        """The QP "failed" map (sanitized for downloads in newer versions)."""
        via = {"status": "failed", "class": err.klass, "error": err.message, "stacktrace": [],
               "error_type": err.error_type, "ex-data": {"type": err.error_type}}
        if err.state:
            via["state"] = err.state
        vias = [via]
        if err.via:   # the wrapping exceptions, innermost first (catch-exceptions' :via)
            vias = [{"status": "failed", "class": "class clojure.lang.ExceptionInfo", "error": w, "stacktrace": [],
                     "error_type": err.error_type, "ex-data": {"type": err.error_type}} for w in err.via]
        body = {"data": {"rows": [], "cols": []}, "row_count": 0, "status": "failed", "class": err.klass,
                "error": err.message, "error_type": err.error_type}
        if err.state:
            body["state"] = err.state
        body.update({"stacktrace": [], "via": vias, "ex-data": {"type": err.error_type}})
        if fmt == "api" or self.b.export_error_era == "A":
            body["json_query"] = dq
        body.update({"running_time": 0, "context": context, "database_id": db_id})
        return body

    def _failure(self, fmt, err, context, prefix, fault, db_id, dq, public=False):
        obj = self.qp_error(err, context, db_id, dq, fmt)
        if public:    # transform-results :failed: a generic message unless the error type is shown in embeds
            obj = {"status": "failed", "error": err.message if err.error_type in PUBLIC_SHOWN_ERRORS
                   else "An error occurred while running the query.", "error_type": err.error_type}
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        plan = StreamPlan(latency_ms=fault.get("latency_ms", 0), rate_bps=fault.get("rate_bps")) if fault \
            else StreamPlan()
        if self.b.export_error_era == "A":
            headers = [("X-Accel-Buffering", "no")]
            if fmt != "api":
                headers.insert(0, ("Content-Disposition",
                                   'attachment; filename="%s"' % formats.export_filename(prefix, fmt)))
            return StreamResponse(202 if fmt == "api" else 200, formats.CONTENT_TYPES[fmt], [body], headers,
                                  close=self.b.stream_connection_close, plan=plan)
        status = err.status if err.status >= 400 else 500
        return StreamResponse(status, common.JSON_CT, [body], [("X-Accel-Buffering", "no")], close=True,
                              plan=plan)

    def _error_tail(self, fmt, context, db_id, dq):
        """The JSON appended after rows by an era-A mid-stream failure."""
        err = mbql.QueryError("Connection reset by peer: the warehouse went away mid-query.", "db",
                              klass="class java.sql.SQLException", state="08006")
        return json.dumps(self.qp_error(err, context, db_id, dq, fmt), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
