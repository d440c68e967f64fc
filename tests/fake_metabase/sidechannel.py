# sidechannel.py — the unauthenticated /__fake/* endpoints tests use to
# observe and steer the fake server.  Never counted in the stats.
#
#   GET  /__fake/stats            counters (see stats.py) + sessions_active
#   POST /__fake/reset            zero all counters
#   POST /__fake/expire_sessions  every existing session becomes invalid
#   POST /__fake/reset_throttle   forget recorded login failures
#   GET  /__fake/catalog          ids/names of cards, collections, dashboards,
#                                 databases, tables, users
#   POST /__fake/edit             {"kind":"card|collection|dashboard","id":N,
#                                  "op":"rename|move|archive|delete|unarchive",
#                                  "name":..., "collection_id":N|"root"|null}
#                                 or {"kind":"dashcard","id":N,"op":"retitle",
#                                  "name":"title"|null} (card.title override)
#   GET  /__fake/faults           the active faults
#   POST /__fake/faults           add a fault (see faults.py for the fields)
#   POST /__fake/faults/clear     remove every fault
#   POST /__fake/api_keys         {"key":"...","user_id":1} adds a key,
#                                 {"key":"...","revoke":true} revokes it
#   POST /__fake/users            {"email":"...","password":"..."} changes a
#                                 user's password (existing sessions stay)
#   GET  /__fake/settings         instance settings the fake models
#   POST /__fake/settings         {"enable-public-sharing": true|false} changes them
#   POST /__fake/native_permissions {"user_id":2,"database_id":3,"native":true|false}
#                                 grants or revokes native SQL on a database
#                                 (what GET /api/database shows as
#                                 native_permissions, and what /api/dataset checks)

import json

from common import jresp, text


class SideChannel:
    def __init__(self, behaviour, auth, catalog, stats, faults):
        self.b = behaviour
        self.auth = auth
        self.cat = catalog
        self.stats = stats
        self.faults = faults

    def handle(self, req):
        key = (req.method, req.path.rstrip("/"))
        routes = {
            ("GET", "/__fake/stats"): self.get_stats,
            ("POST", "/__fake/reset"): self.reset,
            ("POST", "/__fake/expire_sessions"): self.expire_sessions,
            ("POST", "/__fake/reset_throttle"): self.reset_throttle,
            ("GET", "/__fake/catalog"): self.catalog,
            ("POST", "/__fake/edit"): self.edit,
            ("GET", "/__fake/faults"): self.list_faults,
            ("POST", "/__fake/faults"): self.add_fault,
            ("POST", "/__fake/faults/clear"): self.clear_faults,
            ("POST", "/__fake/api_keys"): self.api_keys,
            ("POST", "/__fake/users"): self.users,
            ("GET", "/__fake/settings"): self.get_settings,
            ("POST", "/__fake/settings"): self.set_settings,
            ("POST", "/__fake/native_permissions"): self.native_permissions,
        }
        fn = routes.get(key)
        if fn is None:
            return text(404, "No such side-channel endpoint.")
        try:
            return fn(req)
        except ValueError as e:
            return jresp({"error": str(e)}, 400)

    @staticmethod
    def _body(req):
        if not req.body or not req.body.strip():
            return {}
        try:
            return json.loads(req.body.decode("utf-8"))
        except ValueError:
            raise ValueError("body must be JSON")

    def get_stats(self, req):
        return jresp(self.stats.snapshot(self.auth.active_sessions()))

    def reset(self, req):
        self.stats.reset()
        return jresp({"ok": True})

    def expire_sessions(self, req):
        return jresp({"ok": True, "expired": self.auth.expire_all()})

    def reset_throttle(self, req):
        self.auth.reset_throttle()
        return jresp({"ok": True})

    def catalog(self, req):
        d = self.cat.describe()
        d["behaviour"] = self.b.name
        d["version"] = self.b.version
        d["settings"] = dict(self.cat.settings)
        return jresp(d)

    def get_settings(self, req):
        return jresp(dict(self.cat.settings))

    def set_settings(self, req):
        body = self._body(req)
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        unknown = set(body) - set(self.cat.settings)
        if unknown:
            raise ValueError("unknown settings: %s" % ", ".join(sorted(unknown)))
        for k, v in body.items():
            if not isinstance(v, bool):
                raise ValueError("%s must be true or false" % k)
        with self.cat.lock:
            self.cat.settings.update(body)
            return jresp(dict(self.cat.settings))

    def edit(self, req):
        body = self._body(req)
        ops = body if isinstance(body, list) else [body]
        out = [self.cat.edit(op) for op in ops]
        return jresp({"ok": True, "edited": [{"id": o["id"], "name": o.get("name")} for o in out]})

    def list_faults(self, req):
        return jresp(self.faults.list())

    def add_fault(self, req):
        body = self._body(req)
        specs = body if isinstance(body, list) else [body]
        added = [self.faults.add(s) for s in specs]
        return jresp(added[0] if not isinstance(body, list) else added)

    def clear_faults(self, req):
        return jresp({"ok": True, "cleared": self.faults.clear()})

    def api_keys(self, req):
        body = self._body(req)
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        if body.get("revoke"):
            return jresp({"ok": True, "revoked": self.auth.revoke_api_key(key)})
        uid = body.get("user_id", 1)
        if uid not in self.auth.users:
            raise ValueError("no such user: %r" % (uid,))
        self.auth.add_api_key(key, uid)
        return jresp({"ok": True, "key": key, "user_id": uid, "honoured": self.b.api_keys})

    def users(self, req):
        body = self._body(req)
        email = body.get("email") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(email, str) or not isinstance(password, str) or not password:
            raise ValueError("email and a non-empty password are required")
        if not self.auth.set_password(email, password):
            raise ValueError("no such user: %r" % (email,))
        return jresp({"ok": True, "email": email})

    def native_permissions(self, req):
        body = self._body(req)
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        uid, db_id, native = body.get("user_id"), body.get("database_id"), body.get("native")
        if uid not in self.auth.users:
            raise ValueError("no such user: %r" % (uid,))
        if not isinstance(db_id, int) or not isinstance(native, bool):
            raise ValueError("database_id (a number) and native (true|false) are required")
        with self.cat.lock:
            denied = self.cat.perms.no_native_dbs.setdefault(uid, set())
            if native:
                denied.discard(db_id)
            else:
                denied.add(db_id)
            return jresp({"ok": True, "user_id": uid, "native_denied": sorted(denied)})
