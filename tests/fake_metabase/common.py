# common.py — Metabase's canned answers and small request helpers.
#
# Owns: the exact error bodies of metabase-api.md §0.1 (plain-text 401 /
# 403 / 404 strings, {"errors": ...} 400 bodies), the Halt exception that
# endpoint code raises to answer early, and parsing of ids, booleans and
# JSON-string parameters the way Metabase validates them.

import json
import re

from server import Response

TEXT = "text/plain"
JSON_CT = "application/json; charset=utf-8"

UNAUTHENTICATED = "Unauthenticated"
NOT_FOUND = "Not found."
FORBIDDEN = "You don't have permissions to do that."
NO_ENDPOINT = "API endpoint does not exist."
MALFORMED_JSON = "Malformed JSON in request body."
PUBLIC_ERROR = "An error occurred."                   # public-exceptions: anything but a 404
PUBLIC_SHARING_DISABLED = "Public sharing is not enabled."


class Halt(Exception):
    """Raised by endpoint code to answer immediately with `response`."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def text(status, message, headers=None):
    return Response(status, message, TEXT, headers)


def jresp(obj, status=200, headers=None):
    return Response(status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")), JSON_CT, headers)


def not_found():
    raise Halt(text(404, NOT_FOUND))


def forbidden():
    raise Halt(text(403, FORBIDDEN))


def clj_str(value):
    """Clojure's pr-str of a value in an error message: strings quoted, others as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(" ", " ")) if value is not None else "nil"


def exception_response(status, message, data=None, behaviour=None):
    """An ex-info thrown before streaming (api-exception-response, metabase-api.md §0.1): JSON with
    the message; old versions add the Throwable->map dump and the ex-data, newer ones keep only
    allow-listed keys."""
    if behaviour is not None and behaviour.name == "new":
        body = {"message": message}
    else:
        body = {"via": [{"type": "clojure.lang.ExceptionInfo", "message": message, "data": data or {}}],
                "trace": [], "cause": message, "data": data or {}, "message": message}
        body.update(data or {})
    return jresp(body, status)


def bad_request(errors, specific=None, behaviour=None):
    """400 {"errors": {...}} (+ "specific-errors" in Malli-era versions)."""
    body = {"errors": errors}
    if behaviour is not None and behaviour.specific_errors:
        body["specific-errors"] = specific or {k: [v] for k, v in errors.items()}
    raise Halt(jresp(body, 400))


_ENTITY_ID = re.compile(r"^[A-Za-z0-9_-]{21}$")


def parse_id(value, behaviour, allow_entity=False, name="id"):
    if value.isdigit() and int(value) > 0:
        return int(value)
    if allow_entity and behaviour.entity_id_lookup and _ENTITY_ID.match(value):
        return value
    bad_request({name: "value must be an integer greater than zero."},
                {name: ["should be a positive int, received: %s" % json.dumps(value)]}, behaviour)


def parse_bool(value, name, behaviour, default=False):
    """Metabase BooleanString: "true"/"false" (case-insensitive); absent -> default."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    bad_request({name: "nullable value must be a valid boolean string ('true' or 'false')."},
                None, behaviour)


def parse_json_param(value, name, behaviour, expect=list):
    """A parameter sent as a JSON string (form field) or as a JSON value (JSON body)."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, dict)):
        parsed = value
    else:
        try:
            parsed = json.loads(value)
        except ValueError:
            bad_request({name: "value may be nil, or if non-nil, value must be a valid JSON string."},
                        None, behaviour)
    if expect is not None and parsed is not None and not isinstance(parsed, expect):
        bad_request({name: "value may be nil, or if non-nil, value must be a valid JSON string."},
                    None, behaviour)
    return parsed
