# api.py — the /api routes of the fake Metabase and their JSON answers.
#
# Owns: the route table, authentication order (credentials are checked
# before route matching inside an authenticated module, so
# /api/card/whatever without a session is 401), request counting, and the
# browsing endpoints: session, user, collections, cards, databases,
# tables, dashboards and search.  Query/export endpoints live in
# exports.py, the /__fake side channel in sidechannel.py.

import re
import urllib.parse

import catalog
import common
import faults as faults_mod
import public as public_mod
import snippets
from common import Halt, jresp, text, not_found, forbidden, bad_request, parse_id, parse_bool
from server import BadJSON, Response

# Modules wrapped in +auth (metabase-api.md §1.4): everything under them needs credentials.
AUTH_MODULES = {
    "action", "activity", "alert", "api-key", "automagic-dashboards", "bookmark", "card", "cards",
    "collection", "dashboard", "database", "dataset", "document", "ee", "field", "google", "ldap",
    "login-history", "metabot", "model-index", "native-query-snippet", "notification", "permissions",
    "persist", "premium-features", "preview_embed", "pulse", "revision", "search", "segment", "setting",
    "slack", "table", "task", "tiles", "timeline", "transform", "user", "legacy-metric", "metric", "cache",
    "channel", "cloud-migration", "dashboard-question", "eid-translation", "embed-theme", "logger",
}

ALL_COLLECTION_MODELS_OLD = ["card", "collection", "dashboard", "dataset", "pulse", "timeline"]
ALL_COLLECTION_MODELS_NEW = ["card", "collection", "dashboard", "dataset", "metric", "pulse", "timeline"]
VALID_MODELS_OLD = {"card", "dataset", "collection", "dashboard", "pulse", "snippet", "timeline", "no_models"}
VALID_MODELS_NEW = VALID_MODELS_OLD | {"metric", "document", "table", "transform", "measure", "exploration"}
MODEL_RANKING = {"dashboard": 1, "pulse": 2, "dataset": 3, "metric": 3, "card": 4, "snippet": 5,
                 "collection": 6, "timeline": 7}

INDEX_HTML = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Metabase</title></head>"
              "<body><div id=\"root\"></div><!-- fake Metabase --></body></html>")

JETTY_AMBIGUOUS = "<h1>Bad Message 400</h1><pre>reason: Ambiguous URI empty segment</pre>"

# headers that would carry a credential; public routes must never receive them from mbfs
PUBLIC_CREDENTIAL_HEADERS = ("X-Metabase-Session", "X-Api-Key", "Cookie", "Authorization")

DB_CREATED = "2025-01-06T09:00:01.234567"
DB_UPDATED = "2025-01-06T09:02:11.5"

_DB_TYPES = {
    "h2": {"INTEGER": "INTEGER", "REAL": "DOUBLE PRECISION", "TEXT": "CHARACTER VARYING",
           "TIMESTAMP": "TIMESTAMP", "DATE": "DATE", "BOOLEAN": "BOOLEAN"},
    "postgres": {"INTEGER": "int4", "REAL": "float8", "TEXT": "text", "TIMESTAMP": "timestamptz",
                 "DATE": "date", "BOOLEAN": "bool"},
}


class Route:
    def __init__(self, method, pattern, fn, auth=True):
        self.method = method
        self.pattern = pattern
        self.fn = fn
        self.auth = auth
        rx = ""
        for seg in pattern.strip("/").split("/"):
            if seg.startswith(":"):
                allow_empty = seg == ":schema"
                rx += "/(?P<%s>[^/]%s)" % (seg[1:].replace("-", "_"), "*" if allow_empty else "+")
            else:
                rx += "/" + re.escape(seg)
        if not pattern.endswith(":schema"):
            rx += "/?"
        self.regex = re.compile("^" + rx + "$")

    def match(self, method, path):
        if method != self.method and not (method == "HEAD" and self.method == "GET"):
            return None
        m = self.regex.match(path)
        if not m:
            return None
        return {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}


class App:
    def __init__(self, behaviour, warehouse, catalog, auth, stats, exports, sidechannel, faults):
        self.b = behaviour
        self.wh = warehouse
        self.cat = catalog
        self.auth = auth
        self.stats = stats
        self.exports = exports
        self.side = sidechannel
        self.faults = faults
        ex = exports
        pub = public_mod.Public(behaviour, catalog, exports, stats)
        self.public = pub
        R = Route
        public_routes = [
            R("GET", "/api/public/card/:uuid", pub.card_get, auth=False),
            R("GET", "/api/public/card/:uuid/query", pub.card_query, auth=False),
            R("GET", "/api/public/card/:uuid/query/:export-format", pub.card_export, auth=False),
            R("GET", "/api/public/dashboard/:uuid", pub.dashboard_get, auth=False),
            R("GET", "/api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id", pub.dashcard_query,
              auth=False),
        ]
        if behaviour.name == "new":   # public dashcard downloads do not exist in v0.46
            public_routes.append(
                R("POST", "/api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id/:export-format",
                  pub.dashcard_export, auth=False))
        self.routes = public_routes + [
            R("POST", "/api/session", self.login, auth=False),
            R("DELETE", "/api/session", self.logout, auth=False),
            R("GET", "/api/session/properties", self.properties, auth=False),
            R("GET", "/api/health", self.health, auth=False),
            R("GET", "/api/user/current", self.user_current),
            R("GET", "/api/user", self.user_list),
            R("GET", "/api/user/:id", self.user_get),
            R("GET", "/api/collection", self.collection_list),
            R("GET", "/api/collection/tree", self.collection_tree),
            R("GET", "/api/collection/root", self.collection_root),
            R("GET", "/api/collection/root/items", self.collection_root_items),
            R("GET", "/api/collection/:id", self.collection_get),
            R("GET", "/api/collection/:id/items", self.collection_items),
            R("GET", "/api/card", self.card_list),
            R("GET", "/api/card/public", pub.card_list),
            R("GET", "/api/card/:id", self.card_get),
            R("POST", "/api/card/:id/query", ex.card_query),
            R("POST", "/api/card/:id/query/:export-format", ex.card_export),
            R("POST", "/api/dataset", ex.dataset_query),
            R("POST", "/api/dataset/:export-format", ex.dataset_export),
            R("GET", "/api/dashboard", self.dashboard_list),
            R("GET", "/api/dashboard/public", pub.dashboard_list),
            R("GET", "/api/dashboard/:id", self.dashboard_get),
            R("POST", "/api/dashboard/:id/dashcard/:dashcard-id/card/:card-id/query", ex.dashcard_query),
            R("POST", "/api/dashboard/:id/dashcard/:dashcard-id/card/:card-id/query/:export-format",
              ex.dashcard_export),
            R("GET", "/api/database", self.database_list),
            R("GET", "/api/database/:id", self.database_get),
            R("GET", "/api/database/:id/metadata", self.database_metadata),
            R("GET", "/api/database/:id/schemas", self.database_schemas),
            R("GET", "/api/database/:id/schema/:schema", self.database_schema),
            R("GET", "/api/table", self.table_list),
            R("GET", "/api/table/:id", self.table_get),
            R("GET", "/api/table/:id/query_metadata", self.table_query_metadata),
            R("GET", "/api/search", self.search),
            R("GET", "/api/native-query-snippet", self.snippet_list),
            R("GET", "/api/native-query-snippet/:id", self.snippet_get),
        ]

    # ------------------------------------------------------------------ dispatch
    def handle(self, req):
        if req.path.startswith("/__fake/") or req.path == "/__fake":
            return self.side.handle(req)
        if "//" in req.path:
            # An empty path segment ("//api/card" from a client that joined base URL and path
            # badly).  Jetty 10+ (new) refuses ambiguous URIs by default; v0.46's Jetty 9 passes
            # the path on, where it matches no /api route (below: the SPA page or 404).
            self.stats.request("%s (unmatched)" % req.method)
            if self.b.name == "new":
                return Response(400, JETTY_AMBIGUOUS, "text/html;charset=iso-8859-1")
        if not (req.path == "/api" or req.path.startswith("/api/")):
            if req.method in ("GET", "HEAD"):
                return Response(200, INDEX_HTML, "text/html;charset=utf-8")
            return text(404, common.NOT_FOUND)
        route, params = None, None
        for r in self.routes:
            params = r.match(req.method, req.path)
            if params is not None:
                route = r
                break
        self.stats.request("%s %s" % (req.method, route.pattern if route else "(unmatched)"))
        if req.path.startswith("/api/public/"):
            self.stats.public_request([h for h in PUBLIC_CREDENTIAL_HEADERS if req.header(h) is not None])
        try:
            resp = self._handle_api(req, route, params)
        except Halt as h:
            resp = h.response
        resp.headers.extend([("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                             ("Cache-Control", "max-age=0, no-cache, must-revalidate, proxy-revalidate")])
        return resp

    def _handle_api(self, req, route, params):
        if req.is_json() and req.body and req.body.strip():
            try:
                req.json()
            except BadJSON:
                return text(400, common.MALFORMED_JSON)
        segs = req.path.split("/")
        module = segs[2] if len(segs) > 2 else ""
        needs_auth = module in AUTH_MODULES if route is None else route.auth
        user = None
        if needs_auth:
            user, how = self.authenticate(req)
            if user is None:
                return text(401, common.UNAUTHENTICATED)
            req.auth_kind = how
        if route is None:
            return text(404, common.NO_ENDPOINT)
        fault = self.faults.endpoint_fault(route.pattern, req.method) if self.faults else None
        marker = None
        if fault is not None:
            early = self.faults.endpoint_response(fault, self.b)
            if not isinstance(early, faults_mod.PlanMarker):
                return early
            marker = early
        resp = route.fn(req, user, **params)
        if marker is not None and isinstance(resp, Response):
            faults_mod.apply_marker(marker, resp)
        return resp

    def authenticate(self, req):
        token = req.cookie("metabase.SESSION") or req.header("X-Metabase-Session")
        key = req.header("X-Api-Key")
        return self.auth.authenticate(token, key)

    def client_ip(self, req):
        xff = req.header("X-Forwarded-For")
        if xff:
            return xff.split(",")[0].strip()
        return req.client_ip

    # ------------------------------------------------------------------ session
    def login(self, req, user):
        body = req.json() if req.is_json() else None
        status, obj, token, outcome = self.auth.login(body if isinstance(body, dict) else {},
                                                      self.client_ip(req))
        self.stats.login(outcome)
        if status == 400 and self.b.specific_errors:
            field = next(iter(obj["errors"]))
            obj["specific-errors"] = {field: ["should be a string, received: nil",
                                              "non-blank string, received: nil"]}
        headers = []
        if token:
            max_age = int(self.auth.session_max_age)
            headers = [("Set-Cookie", "metabase.SESSION=%s; HttpOnly; Path=/; SameSite=Lax" % token),
                       ("Set-Cookie", "metabase.TIMEOUT=alive; Path=/; Max-Age=%d; SameSite=Lax" % max_age)]
        return Response(status, common.jresp(obj).body, "application/json" if status == 401 else common.JSON_CT,
                        headers)

    def logout(self, req, user):
        token = req.cookie("metabase.SESSION") or req.header("X-Metabase-Session")
        if not token or not self.auth.logout(token):
            return text(404, common.NOT_FOUND)
        expired = "Expires=Thu, 1 Jan 1970 00:00:00 GMT"
        return Response(204, b"", None, [
            ("Set-Cookie", "metabase.SESSION=; HttpOnly; Path=/; SameSite=Lax; %s" % expired),
            ("Set-Cookie", "metabase.EMBEDDED_SESSION=; HttpOnly; Path=/; SameSite=Lax; %s" % expired),
            ("Set-Cookie", "metabase.TIMEOUT=; Path=/; SameSite=Lax; %s" % expired)])

    def properties(self, req, user):
        host = req.header("Host") or "127.0.0.1"
        features = ["advanced_permissions", "audit_app", "content_verification", "dashboard_subscription_filters",
                    "email_allow_list", "embedding", "hosting", "official_collections", "sandboxes", "sso_google",
                    "sso_jwt", "sso_ldap", "sso_saml", "whitelabel"]
        return jresp({
            "version": dict(self.b.version),
            "site-name": "Fake Metabase",
            "site-url": "http://%s" % host,
            "site-locale": "en",
            "has-user-setup": True,
            "setup-token": None,
            "enable-password-login": True,
            "ldap-enabled": False,
            "google-auth-client-id": None,
            "token-features": {f: False for f in features},
            "available-locales": [["en", "English"], ["de", "German"], ["fr", "French"]],
            "anon-tracking-enabled": False,
            "application-name": "Metabase",
            "report-timezone-short": "UTC",
            "report-timezone-long": "UTC",
            "password-complexity": {"total": 6, "digit": 1},
            "session-cookies": None,
            "engines": {"h2": {"driver-name": "H2"}, "postgres": {"driver-name": "PostgreSQL"}},
            "enable-query-caching": False,
            "custom-homepage": False,
            "enable-public-sharing": self.cat.public_sharing(),
            "enable-embedding": False,
        })

    def health(self, req, user):
        return jresp({"status": "ok"})

    # ------------------------------------------------------------------ users
    def user_current(self, req, user):
        return jresp(user.full())

    def user_list(self, req, user):
        if not user.is_superuser:
            forbidden()
        users = [u.full() for u in sorted(self.cat.users.values(), key=lambda u: u.id)]
        return jresp({"data": users, "total": len(users), "limit": None, "offset": None})

    def user_get(self, req, user, id):
        uid = parse_id(id, self.b)
        target = self.cat.users.get(uid)
        if target is None:
            not_found()
        if not user.is_superuser and uid != user.id:
            forbidden()
        return jresp(target.full())

    # ------------------------------------------------------------------ collections
    def _bool(self, req, *names, default=False):
        for n in names:
            if n in req.query:
                return parse_bool(req.query[n][0], n, self.b, default)
        return default

    def collection_list(self, req, user):
        archived = self._bool(req, "archived")
        exclude_others = self._bool(req, "exclude-other-user-collections", "exclude_other_user_collections")
        personal_only = self._bool(req, "personal-only", "personal_only")
        namespace = req.arg("namespace")
        out = []
        if namespace not in (None, ""):
            return jresp([])  # no snippet folders in the fake
        with self.cat.lock:
            colls = sorted(self.cat.collections.values(), key=lambda c: (c["name"].lower(), c["id"]))
            for c in colls:
                if bool(c["archived"]) != archived:
                    continue
                if not self.cat.can_read_collection(user, c["id"]):
                    continue
                owner = self._personal_owner(c)
                if exclude_others and owner is not None and owner != user.id:
                    continue
                if personal_only and c["personal_owner_id"] is None:
                    continue
                out.append(self.cat.collection_list_element(c, user))
            if not archived and not personal_only:
                out.insert(0, self.cat.root_collection(user))
        return jresp(out)

    def _personal_owner(self, c):
        for x in self.cat.ancestors(c) + [c]:
            if x["personal_owner_id"] is not None:
                return x["personal_owner_id"]
        return None

    def collection_tree(self, req, user):
        exclude_archived = self._bool(req, "exclude-archived", "exclude_archived")
        exclude_others = self._bool(req, "exclude-other-user-collections", "exclude_other_user_collections")
        with self.cat.lock:
            visible = [c for c in self.cat.collections.values()
                       if self.cat.can_read_collection(user, c["id"])
                       and not (exclude_archived and c["archived"])
                       and not (exclude_others and self._personal_owner(c) not in (None, user.id))]

            def node(c):
                row = self.cat.collection_list_element(c, user)
                here, below = self.cat._here_below(c)
                row["here"], row["below"] = here, below
                prefix = c["location"] + "%d/" % c["id"]
                kids = [k for k in visible if k["location"] == prefix]
                row["children"] = [node(k) for k in sorted(kids, key=lambda k: (k["name"].lower(), k["id"]))]
                return row
            top = [c for c in visible if c["location"] == "/"]
            return jresp([node(c) for c in sorted(top, key=lambda k: (k["name"].lower(), k["id"]))])

    def collection_root(self, req, user):
        return jresp(self.cat.root_collection(user))

    def collection_get(self, req, user, id):
        cid = parse_id(id, self.b, allow_entity=True)
        with self.cat.lock:
            c = self._find_collection(cid)
            if not self.cat.can_read_collection(user, c["id"]):
                forbidden()
            return jresp(self.cat.collection_detail(c, user))

    def _find_collection(self, cid):
        if isinstance(cid, str):
            for c in self.cat.collections.values():
                if c["entity_id"] == cid:
                    return c
            not_found()
        c = self.cat.collections.get(cid)
        if c is None:
            not_found()
        return c

    def collection_root_items(self, req, user):
        return self._items(req, user, "root")

    def collection_items(self, req, user, id):
        cid = parse_id(id, self.b, allow_entity=True)
        with self.cat.lock:
            c = self._find_collection(cid)
            if not self.cat.can_read_collection(user, c["id"]):
                forbidden()
            return self._items(req, user, c["id"])

    def _param(self, req, snake):
        """A collection-items parameter: snake_case always, kebab-case in the new behaviour."""
        names = [snake]
        if self.b.kebab_params:
            names.insert(0, snake.replace("_", "-"))
        return req.arg(*names)

    def _paging(self, req):
        if not req.has_arg("limit", "offset", "page"):
            return None, None
        try:
            limit = int(req.arg("limit")) if req.arg("limit") not in (None, "") else 50
            offset = int(req.arg("offset")) if req.arg("offset") not in (None, "") else 0
            if req.arg("page") not in (None, "") and req.arg("offset") in (None, ""):
                offset = max(0, int(req.arg("page")) - 1) * limit
        except ValueError as e:
            raise Halt(jresp({"message": "Error parsing paging parameters: %s" % e,
                              "via": [{"type": "java.lang.NumberFormatException"}], "trace": []}, 400))
        if limit < 0 or offset < 0:
            raise Halt(jresp({"message": "Error parsing paging parameters: negative value"}, 400))
        return limit, offset

    def _items(self, req, user, coll_id):
        valid = VALID_MODELS_NEW if self.b.name == "new" else VALID_MODELS_OLD
        requested = req.args("models")
        for m in requested:
            if m not in valid:
                bad_request({"models": "nullable value must be a valid model name, or sequence of valid "
                                       "model names."}, None, self.b)
        everything = ALL_COLLECTION_MODELS_NEW if self.b.name == "new" else ALL_COLLECTION_MODELS_OLD
        models = sorted(set(requested) & set(everything)) if requested else list(everything)
        archived = parse_bool(req.arg("archived"), "archived", self.b)
        pinned = self._param(req, "pinned_state")
        sort_col = (self._param(req, "sort_column") or "name").replace("-", "_")
        sort_dir = (self._param(req, "sort_direction") or "asc").lower()
        show_dq = False
        if self.b.dashboard_questions:
            show_dq = parse_bool(self._param(req, "show_dashboard_questions"), "show_dashboard_questions", self.b)
        if sort_col not in ("name", "last_edited_at", "last_edited_by", "model", "description"):
            bad_request({"sort_column": "nullable enum of name, last_edited_at, last_edited_by, model"}, None, self.b)
        if sort_dir not in ("asc", "desc"):
            bad_request({"sort_direction": "nullable enum of asc, desc"}, None, self.b)
        limit, offset = self._paging(req)
        rows = self.cat.items(coll_id, user, models, archived, show_dq, pinned)

        def name_key(r):
            return (r["name"].lower(), MODEL_RANKING.get(r["model"], 100), r["id"])

        if sort_col == "name":
            rows.sort(key=name_key, reverse=(sort_dir == "desc"))
        else:
            def primary(r):
                if sort_col == "model":
                    return MODEL_RANKING.get(r["model"], 100)
                lei = r.get("last-edit-info")
                if sort_col == "last_edited_at":
                    return lei["timestamp"] if lei else ""
                if sort_col == "last_edited_by":
                    return (lei["last_name"], lei["first_name"]) if lei else ("", "")
                return (r.get("description") or "").lower()
            rows.sort(key=name_key)
            rows.sort(key=primary, reverse=(sort_dir == "desc"))
        total = len(rows)
        if limit is not None:
            rows = rows[offset:offset + limit]
        return jresp({"total": total, "data": rows, "models": models, "limit": limit, "offset": offset})

    # ------------------------------------------------------------------ cards
    def card_list(self, req, user):
        f = req.arg("f") or "all"
        model_id = req.arg("model_id")
        legacy = self._bool(req, "legacy-mbql") if self.b.mbql5 else True
        if f not in ("all", "mine", "bookmarked", "database", "table", "archived", "using_model", "recent",
                     "popular", "using_segment"):
            bad_request({"f": "nullable enum of archived, table, using_model, bookmarked, using_segment, all, "
                              "mine, database"}, None, self.b)
        if f in ("database", "table", "using_model", "using_segment") and model_id is None:
            bad_request({"model_id": "model_id is a required parameter when filter mode is '%s'" % f})
        mid = int(model_id) if model_id and model_id.isdigit() else None
        out = []
        with self.cat.lock:
            for c in self.cat.cards.values():
                if bool(c["archived"]) != (f == "archived"):
                    continue
                if not self.cat.can_read_card(user, c):
                    continue
                if f == "mine" and c["creator_id"] != user.id:
                    continue
                if f == "database" and c["database_id"] != mid:
                    continue
                if f == "table" and c["table_id"] != mid:
                    continue
                if f in ("bookmarked", "using_model", "using_segment", "recent", "popular"):
                    continue
                out.append(c)
            out.sort(key=lambda c: (c["name"].lower(), c["id"]))
            return jresp([self.cat.card_json(c, user, legacy) for c in out])

    def card_get(self, req, user, id):
        ident = parse_id(id, self.b, allow_entity=True)
        legacy = self._bool(req, "legacy-mbql") if self.b.mbql5 else True
        with self.cat.lock:
            c = self.cat.card(ident)
            if c is None:
                not_found()
            if not self.cat.can_read_card(user, c):
                forbidden()
            return jresp(self.cat.card_json(c, user, legacy, detail=True))

    # ------------------------------------------------------------------ dashboards
    def dashboard_list(self, req, user):
        f = req.arg("f") or "all"
        out = []
        with self.cat.lock:
            for d in sorted(self.cat.dashboards.values(), key=lambda d: (d["name"].lower(), d["id"])):
                if bool(d["archived"]) != (f == "archived"):
                    continue
                if f == "mine" and d["creator_id"] != user.id:
                    continue
                if not self.cat.can_read_collection(user, d["collection_id"]):
                    continue
                out.append(self.cat.dashboard_summary(d))
        return jresp(out)

    def dashboard_get(self, req, user, id):
        ident = parse_id(id, self.b, allow_entity=True)
        legacy = self._bool(req, "legacy-mbql") if self.b.mbql5 else True
        with self.cat.lock:
            d = self.cat.dashboard(ident)
            if d is None:
                not_found()
            if not self.cat.can_read_collection(user, d["collection_id"]):
                forbidden()
            if d["archived"] and self.b.name == "old":
                raise Halt(jresp({"message": "The object has been archived.", "error_code": "archived"}, 404))
            return jresp(self.cat.dashboard_json(d, user, legacy))

    # ------------------------------------------------------------------ databases & tables
    def _db(self, id, user):
        db = self.wh.db_by_id.get(parse_id(id, self.b))
        if db is None:
            not_found()
        if not self.cat.perms.can_read_db(user, db.id):
            forbidden()
        return db

    def db_json(self, db, user):
        d = {
            "description": db.description, "features": list(db.features),
            "cache_field_values_schedule": "0 0 3 * * ? *", "timezone": db.timezone, "auto_run_queries": True,
            "metadata_sync_schedule": "0 10 * * * ? *", "name": db.name, "settings": None, "caveats": None,
            "creator_id": None, "is_full_sync": True, "updated_at": DB_UPDATED,
            "native_permissions": "write" if self.cat.perms.can_query_native(user, db.id) else "none",
            "cache_ttl": None, "is_sample": db.is_sample, "id": db.id, "is_on_demand": False, "options": None,
            "engine": db.engine, "initial_sync_status": "complete", "is_audit": False,
            "dbms_version": db.dbms_version, "refingerprint": None, "created_at": DB_CREATED,
            "points_of_interest": None,
        }
        if user.is_superuser:
            d["details"] = ({"db": "zip:/app/metabase.jar!/sample-database.db;USER=GUEST;PASSWORD=guest"}
                            if db.engine == "h2" else
                            {"host": "warehouse.internal", "port": 5432, "dbname": db.name.lower().replace(" ", "_"),
                             "user": "metabase", "password": "**MetabasePass**", "ssl": True})
        if self.b.name == "new":
            d.update({"can_upload": False, "uploads_enabled": False, "uploads_schema_name": None,
                      "uploads_table_prefix": None, "is_attached_dwh": False, "router_user_attribute": None,
                      "router_database_id": None, "entity_id": _eid("database", db.id),
                      "provider_name": None, "can-manage": user.is_superuser})
        return d

    def table_json(self, t, with_db=None, user=None):
        d = {
            "description": t.description, "entity_type": t.entity_type, "schema": t.schema,
            "show_in_getting_started": False, "name": t.name, "caveats": None, "updated_at": DB_UPDATED,
            "active": True, "id": t.id, "db_id": t.db.id, "visibility_type": None, "field_order": "database",
            "initial_sync_status": "complete", "display_name": t.display_name, "created_at": DB_CREATED,
            "points_of_interest": None,
        }
        if self.b.name == "new":
            d.update({"entity_id": _eid("table", t.id), "view_count": 0, "is_upload": False,
                      "estimated_row_count": None, "database_require_filter": None, "data_authority": "unconfigured",
                      "is_published": False, "collection_id": None, "archived_at": None})
        if with_db is not None:
            db = self.db_json(t.db, with_db)
            db.pop("details", None)
            d["db"] = db
        return d

    def field_json(self, f, hydrate_target=True):
        types = _DB_TYPES.get(f.table.db.engine, _DB_TYPES["postgres"])
        dbtype = types[f.sql_type]
        if f.semantic_type == "type/PK":
            dbtype = "BIGINT" if f.table.db.engine == "h2" else "int8"
        d = {
            "description": f.description, "database_type": dbtype, "semantic_type": f.semantic_type,
            "table_id": f.table.id, "coercion_strategy": None, "name": f.name, "fingerprint_version": 5,
            "has_field_values": "list" if f.semantic_type in ("type/Category", "type/State", "type/Source")
            else "none",
            "settings": None, "caveats": None, "fk_target_field_id": f.fk_target_field_id,
            "custom_position": 0, "effective_type": f.base_type, "active": True, "nfc_path": None,
            "parent_id": None, "id": f.id, "last_analyzed": DB_UPDATED, "position": f.position,
            "visibility_type": f.visibility_type, "preview_display": True, "display_name": f.display_name,
            "database_position": f.position, "database_is_auto_increment": f.semantic_type == "type/PK",
            "database_required": False, "fingerprint": None, "created_at": DB_CREATED, "base_type": f.base_type,
            "points_of_interest": None, "json_unfolding": False, "updated_at": DB_UPDATED,
            "dimensions": [], "dimension_options": [], "default_dimension_option": None,
        }
        if hydrate_target:
            tgt = self.wh.field_by_id.get(f.fk_target_field_id) if f.fk_target_field_id else None
            d["target"] = self.field_json(tgt, hydrate_target=False) if tgt else None
        return d

    def _visible_tables(self, db):
        return sorted(db.tables, key=lambda t: (t.schema, t.display_name.lower(), t.id))

    def database_list(self, req, user):
        include = req.arg("include") or ""
        include_tables = include == "tables" or self._bool(req, "include_tables")
        out = []
        for db in self.wh.databases:
            if not self.cat.perms.can_read_db(user, db.id):
                continue
            d = self.db_json(db, user)
            if include_tables:
                d["tables"] = [self.table_json(t) for t in self._visible_tables(db)]
            out.append(d)
        if self._bool(req, "saved"):
            out.append({"name": "Saved Questions", "id": -1337, "features": ["basic-aggregations"],
                        "is_saved_questions": True})
        return jresp({"data": out, "total": len(out)})

    def database_get(self, req, user, id):
        db = self._db(id, user)
        d = self.db_json(db, user)
        d["schedules"] = {"metadata_sync": {"schedule_minute": 10, "schedule_day": None, "schedule_frame": None,
                                            "schedule_hour": None, "schedule_type": "hourly"},
                          "cache_field_values": {"schedule_minute": 0, "schedule_day": None,
                                                 "schedule_frame": None, "schedule_hour": 3,
                                                 "schedule_type": "daily"}}
        include = req.arg("include")
        if include in ("tables", "tables.fields"):
            d["tables"] = []
            for t in self._visible_tables(db):
                tj = self.table_json(t)
                if include == "tables.fields":
                    tj["fields"] = [self.field_json(f) for f in t.fields]
                d["tables"].append(tj)
        return jresp(d)

    def database_metadata(self, req, user, id):
        db = self._db(id, user)
        d = self.db_json(db, user)
        tables = []
        for t in self._visible_tables(db):
            tj = self.table_json(t)
            tj["fields"] = [self.field_json(f) for f in t.fields]
            tj["segments"] = []
            tj["metrics"] = []
            tables.append(tj)
        d["tables"] = tables
        return jresp(d)

    def database_schemas(self, req, user, id):
        db = self._db(id, user)
        return jresp(db.schemas())

    def database_schema(self, req, user, id, schema):
        db = self._db(id, user)
        tables = [t for t in db.tables if t.schema == schema]
        if not tables:
            not_found()
        tables.sort(key=lambda t: (t.display_name, t.id))
        return jresp([self.table_json(t) for t in tables])

    def _table(self, id, user):
        t = self.wh.table_by_id.get(parse_id(id, self.b))
        if t is None:
            not_found()
        if not self.cat.perms.can_read_db(user, t.db.id):
            forbidden()
        return t

    def table_list(self, req, user):
        out = []
        for db in self.wh.databases:
            if not self.cat.perms.can_read_db(user, db.id):
                continue
            for t in self._visible_tables(db):
                out.append(self.table_json(t, with_db=user))
        return jresp(out)

    def table_get(self, req, user, id):
        t = self._table(id, user)
        d = self.table_json(t, with_db=user)
        pk = next((f for f in t.fields if f.semantic_type == "type/PK"), None)
        d["pk_field"] = pk.id if pk else None
        return jresp(d)

    def table_query_metadata(self, req, user, id):
        t = self._table(id, user)
        d = self.table_json(t, with_db=user)
        d["fields"] = [self.field_json(f) for f in t.fields]
        d["segments"] = []
        d["metrics"] = []
        d["dimension_options"] = {}
        return jresp(d)

    # ------------------------------------------------------------------ snippets
    def snippet_list(self, req, user):
        archived = parse_bool(req.arg("archived"), "archived", self.b)
        return jresp(snippets.listing(self.cat, archived))

    def snippet_get(self, req, user, id):
        sn = snippets.get(self.cat, parse_id(id, self.b))
        if sn is None:
            not_found()
        return jresp(sn)

    # ------------------------------------------------------------------ search
    def search(self, req, user):
        q = (req.arg("q") or "").strip().lower()
        archived = self._bool(req, "archived")
        requested = req.args("models")
        limit, offset = self._paging(req)
        if req.has_arg("limit") != req.has_arg("offset") and self.b.name == "old":
            raise Halt(text(400, "When including a limit, an offset must also be included."))
        table_db_id = req.arg("table_db_id")
        rows = []
        with self.cat.lock:
            for c in self.cat.cards.values():
                if bool(c["archived"]) != archived or not self.cat.can_read_card(user, c):
                    continue
                if c["dashboard_id"] is not None and self.b.dashboard_questions and not self._bool(
                        req, "include_dashboard_questions"):
                    continue
                rows.append(self._search_row(c["id"], c["name"], self.cat._card_model(c), c["description"],
                                             c["collection_id"], c, user))
            for d in self.cat.dashboards.values():
                if bool(d["archived"]) != archived or not self.cat.can_read_collection(user, d["collection_id"]):
                    continue
                rows.append(self._search_row(d["id"], d["name"], "dashboard", d["description"],
                                             d["collection_id"], None, user))
            for c in self.cat.collections.values():
                if bool(c["archived"]) != archived or not self.cat.can_read_collection(user, c["id"]):
                    continue
                anc = self.cat.ancestors(c)
                rows.append(self._search_row(c["id"], c["name"], "collection", c["description"],
                                             anc[-1]["id"] if anc else None, None, user))
            if not archived:
                for db in self.wh.databases:
                    if not self.cat.perms.can_read_db(user, db.id):
                        continue
                    for t in db.tables:
                        row = self._search_row(t.id, t.display_name, "table", t.description, None, None, user)
                        row.update({"table_id": t.id, "table_name": t.name, "table_schema": t.schema,
                                    "database_id": db.id})
                        rows.append(row)
        if q:
            rows = [r for r in rows if q in r["name"].lower()]
        available = sorted({r["model"] for r in rows})
        if requested:
            rows = [r for r in rows if r["model"] in requested]
        if table_db_id and table_db_id.isdigit():
            rows = [r for r in rows if r.get("database_id") == int(table_db_id)]
        rows.sort(key=lambda r: (0 if r["name"].lower() == q else 1, r["name"].lower(), r["model"], r["id"]))
        total = len(rows)
        if limit is not None:
            rows = rows[offset:offset + limit]
        return jresp({"total": total, "data": rows, "available_models": available, "limit": limit,
                      "offset": offset, "table_db_id": int(table_db_id) if table_db_id and table_db_id.isdigit()
                      else None, "models": requested or None})

    def _search_row(self, ident, name, model, description, coll_id, card, user):
        coll = {"id": "root", "name": "Our analytics", "authority_level": None, "type": None,
                "effective_ancestors": []}
        if coll_id is not None:
            c = self.cat.collections.get(coll_id)
            if c is not None:
                coll = {"id": c["id"], "name": c["name"], "authority_level": None, "type": None,
                        "effective_ancestors": [{"id": a["id"], "name": a["name"]} for a in self.cat.ancestors(c)]}
        row = {"id": ident, "name": name, "model": model, "description": description, "archived": False,
               "collection": coll, "collection_position": None, "dashboardcard_count": None,
               "database_id": card["database_id"] if card else None,
               "table_id": card["table_id"] if card else None, "table_name": None, "table_schema": None,
               "display": card["display"] if card else None, "moderated_status": None,
               "created_at": card["created_at"] if card else None,
               "updated_at": card["updated_at"] if card else None, "bookmark": None,
               "dashboard": None, "context": None, "scores": []}
        if card is not None:
            row["archived"] = card["archived"]
            row["dashboard_id"] = card["dashboard_id"]
        return row


def _eid(kind, ident):
    return catalog.entity_id(kind, ident)

