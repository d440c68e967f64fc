# faults.py — scripted misbehaviour, set through POST /__fake/faults.
#
# Owns: the registry of injected faults, how a request is matched to one
# (by card id, table id, dashboard id, export format and/or endpoint
# pattern "METHOD /api/..."), the optional `count` budget, and what each
# fault turns into: an early answer (5xx, 429 + Retry-After, an HTML login
# page, a query error before the first byte) or a StreamPlan for
# server.py (latency, byte rate, reset / cut after N bytes, no final
# chunk, an in-band JSON error appended after rows).
#
# Fault spec fields (all optional; selectors left out match everything):
#   selectors: card_id, table_id, dashboard_id, format, endpoint, user_id
#              (user_id: card exports only — who asked)
#   effects:   latency_ms, rate_bps, status (+ body, content_type),
#              retry_after (status defaults to 429), reset_after (bytes),
#              cut_after (bytes; close without the final chunk),
#              stall_after (bytes; then send nothing for stall_ms,
#              default 600000, or until the client hangs up, then close),
#              truncate (whole body, no final chunk), inband_error
#              (+ after_bytes; old-style JSON appended after rows),
#              early_error (query error before the first byte, per era),
#              mid_stream_error (+ after_bytes; era A appends JSON,
#              era C aborts the connection), html_login, malformed_json;
#              `era` ("A"/"C") overrides the behaviour's era for
#              early_error / mid_stream_error
#   count:     how many times it fires (default: until cleared)

import itertools
import json
import threading

import common
import formats
from server import Response, StreamPlan, StreamResponse

EFFECTS = ("latency_ms", "rate_bps", "status", "retry_after", "reset_after", "cut_after", "stall_after", "truncate",
           "inband_error", "early_error", "mid_stream_error", "html_login", "malformed_json")
SELECTORS = ("card_id", "table_id", "dashboard_id", "format", "endpoint", "user_id")

LOGIN_PAGE = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n"
              "<body><h1>Please sign in</h1><form method=\"post\" action=\"/login\">"
              "<input name=\"username\"><input name=\"password\" type=\"password\">"
              "<button>Sign in</button></form></body></html>\n")

STREAMING_ROUTE_MARKERS = ("/query", "/api/dataset", "/card/:card-id/:export-format", "/card/:card-id")


class Faults:
    def __init__(self, stats):
        self.stats = stats
        self.lock = threading.Lock()
        self.faults = []
        self.ids = itertools.count(1)

    # -- registry ------------------------------------------------------------
    def add(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(spec) - set(EFFECTS) - set(SELECTORS) - {"count", "body", "content_type", "after_bytes", "id",
                                                               "era", "stall_ms"}
        if unknown:
            raise ValueError("unknown fault fields: %s" % ", ".join(sorted(unknown)))
        if not any(k in spec for k in EFFECTS):
            raise ValueError("a fault needs at least one effect: %s" % ", ".join(EFFECTS))
        if spec.get("era") not in (None, "A", "C"):
            raise ValueError('era must be "A" (in-band JSON) or "C" (status / cut connection)')
        if "retry_after" in spec and "status" not in spec:
            spec = dict(spec, status=429)
        with self.lock:
            f = dict(spec)
            f["id"] = str(spec.get("id") or "f%d" % next(self.ids))
            f["fired"] = 0
            self.faults.append(f)
            return dict(f)

    def clear(self):
        with self.lock:
            n = len(self.faults)
            self.faults = []
            return n

    def list(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def _take(self, pred):
        with self.lock:
            for f in self.faults:
                if pred(f):
                    f["fired"] += 1
                    if f.get("count") is not None:
                        f["count"] -= 1
                        if f["count"] <= 0:
                            self.faults.remove(f)
                    self.stats.fault(f["id"])
                    return dict(f)
        return None

    # -- matching ----------------------------------------------------------------
    @staticmethod
    def _endpoint_matches(f, route):
        ep = f.get("endpoint")
        if ep is None or ep == "*":
            return True
        if route is None:
            return False
        return ep == route or ep == route.split(" ", 1)[1]

    def export_fault(self, route=None, card_id=None, fmt=None, dashboard_id=None, table_id=None, user_id=None):
        def pred(f):
            if "user_id" in f and f["user_id"] != user_id:
                return False
            if "card_id" in f and f["card_id"] != card_id:
                return False
            if "table_id" in f and f["table_id"] != table_id:
                return False
            if "dashboard_id" in f and f["dashboard_id"] != dashboard_id:
                return False
            if "format" in f and f["format"] != fmt:
                return False
            if "endpoint" in f and not self._endpoint_matches(f, route):
                return False
            return True
        return self._take(pred)

    def endpoint_fault(self, pattern, method):
        """A fault for a non-streaming route (streaming ones are handled by exports.py)."""
        route = "%s %s" % (method, pattern)
        if any(m in pattern for m in STREAMING_ROUTE_MARKERS):
            return None

        def pred(f):
            if any(k in f for k in ("card_id", "table_id", "dashboard_id", "format", "user_id")):
                return False
            return "endpoint" in f and self._endpoint_matches(f, route)
        return self._take(pred)

    # -- effects --------------------------------------------------------------------
    @staticmethod
    def _status_response(f):
        status = int(f["status"])
        headers = []
        if f.get("retry_after") is not None:
            headers.append(("Retry-After", str(f["retry_after"])))
        if "body" in f:
            return Response(status, f["body"], f.get("content_type", common.TEXT), headers)
        if status == 429:
            return Response(status, "Too Many Requests", common.TEXT, headers)
        if status >= 500:
            body = json.dumps({"message": "Injected fault: HTTP %d" % status, "_status": status,
                               "via": [{"type": "clojure.lang.ExceptionInfo"}], "trace": []})
            return Response(status, body, common.JSON_CT, headers)
        return Response(status, "Injected fault", common.TEXT, headers)

    def _early(self, f):
        """Answers that replace the endpoint entirely, or None."""
        plan = StreamPlan(latency_ms=f.get("latency_ms", 0))
        if f.get("html_login"):
            return Response(200, LOGIN_PAGE, "text/html;charset=utf-8", [], plan)
        if "status" in f:
            r = self._status_response(f)
            r.plan = plan
            return r
        return None

    def endpoint_response(self, f, behaviour):
        early = self._early(f)
        if early is not None:
            return early
        plan = StreamPlan(latency_ms=f.get("latency_ms", 0), rate_bps=f.get("rate_bps"))
        if f.get("reset_after") is not None:
            plan.limit, plan.action = int(f["reset_after"]), "reset"
        elif f.get("cut_after") is not None:
            plan.limit, plan.action = int(f["cut_after"]), "cut"
        elif f.get("stall_after") is not None:
            plan.limit, plan.action = int(f["stall_after"]), "stall"
            plan.stall_ms = int(f.get("stall_ms", 600000))
        if f.get("malformed_json"):
            return MalformedMarker(plan)
        return PlanMarker(plan)

    def pre_stream_response(self, f, fmt, behaviour, prefix="query_result"):
        early = self._early(f)
        if early is not None:
            return early
        if f.get("early_error"):
            body = json.dumps({"data": {"rows": [], "cols": []}, "row_count": 0, "status": "failed",
                               "class": "class java.sql.SQLException",
                               "error": "Injected fault: the query failed before returning rows.",
                               "error_type": "db", "stacktrace": [], "via": [], "running_time": 0},
                              separators=(",", ":")).encode("utf-8")
            plan = StreamPlan(latency_ms=f.get("latency_ms", 0))
            if f.get("era", behaviour.export_error_era) == "A":
                headers = []
                if fmt != "api":
                    headers.append(("Content-Disposition", 'attachment; filename="%s"'
                                    % formats.export_filename(prefix, fmt)))
                return StreamResponse(202 if fmt == "api" else 200, formats.CONTENT_TYPES[fmt], [body], headers,
                                      close=behaviour.stream_connection_close, plan=plan)
            return StreamResponse(500, common.JSON_CT, [body], [], close=True, plan=plan)
        return None

    def shape(self, f, fmt, behaviour, chunks, error_tail):
        """(chunks, StreamPlan) for a successful query result under fault `f`."""
        plan = StreamPlan(latency_ms=f.get("latency_ms", 0), rate_bps=f.get("rate_bps"))
        after = f.get("after_bytes")
        if f.get("malformed_json") and fmt in ("json", "api"):
            chunks = self.malform(chunks)
        if f.get("reset_after") is not None:
            plan.limit, plan.action = int(f["reset_after"]), "reset"
        elif f.get("cut_after") is not None:
            plan.limit, plan.action = int(f["cut_after"]), "cut"
        elif f.get("stall_after") is not None:
            plan.limit, plan.action = int(f["stall_after"]), "stall"
            plan.stall_ms = int(f.get("stall_ms", 600000))
        elif f.get("inband_error") or (f.get("mid_stream_error") and
                                       f.get("era", behaviour.export_error_era) == "A"):
            chunks = [self._rows_then_error(b"".join(chunks), fmt, after, error_tail)]
        elif f.get("mid_stream_error"):
            plan.limit = int(after) if after is not None else None
            plan.action = "cut"
        if f.get("truncate"):
            plan.truncate = True
        return chunks, plan

    @staticmethod
    def _rows_then_error(body, fmt, after, error_tail):
        """Era A mid-stream failure: the rows written so far, then the JSON error object."""
        if after is None or after >= len(body):
            cut = len(body)
            if fmt == "json" and body.endswith(b"\n]"):
                cut -= 2  # the closing bracket is never written
        else:
            cut = int(after)
            if fmt == "csv":
                cut = body.rfind(b"\n", 0, cut) + 1
            elif fmt in ("json", "api"):
                cut = max(body.rfind(b"}", 0, cut) + 1, 2)
        return body[:cut] + error_tail

    @staticmethod
    def malform(chunks):
        body = b"".join(chunks)
        if body.endswith(b"\n]"):
            body = body[:-2] + b',\n{"broken": '
        else:
            body = body[:max(1, len(body) // 2)]
        return [body]


class PlanMarker:
    """Tells api.py to run the endpoint normally, then apply `plan` to its answer."""

    def __init__(self, plan):
        self.plan = plan


class MalformedMarker(PlanMarker):
    pass


def apply_marker(marker, response):
    """Attach an endpoint fault's plan (and malformation) to a normal Response."""
    response.plan = marker.plan
    if isinstance(marker, MalformedMarker) and response.body:
        response.body = response.body[:max(1, len(response.body) * 2 // 3)]
    return response
