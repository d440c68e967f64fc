# sidechannel.py — the unauthenticated /__fake/* endpoints tests use to
# observe and steer the fake Mode.  Never counted in the stats, never faulted.
#
#   GET  /__fake/stats          counters (stats.py)
#   POST /__fake/reset          zero the counters
#   GET  /__fake/catalog        the sample data with tokens (state.Model.catalog)
#   GET  /__fake/faults         active faults;  POST /__fake/faults adds one (or a
#                               list; faults.py has the fields);  POST /__fake/faults/clear
#   POST /__fake/edit           {"report","query","same_size"} data edit (next run
#                               differs), {"report","query","sql"|"name"},
#                               {"report","name"}, {"space","name"},
#                               {"data_source","name"}, {"report","new_run":true
#                               [,"outcome":"failed"|"cancelled"]} (or a list of them)
#   POST /__fake/revoke         {"token": "..."} -> 401 from now on;
#                               {"token": "...", "restore": true} undoes it
#   GET  /__fake/config         {"per_page","run_polls","redirect_content","gzip","workspace"}
#   POST /__fake/config         change per_page, run_polls, redirect_content or
#                               redirect_host (the redirect target's host name) at run time

import json

from http_io import Response

JSON = "application/json; charset=utf-8"


def jresp(obj, status=200):
    return Response(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), JSON, compressible=False)


class SideChannel:
    def __init__(self, model, stats, faults):
        self.m = model
        self.stats = stats
        self.faults = faults
        self.app = None                # api.App, set by fake_mode.py

    def handle(self, req):
        routes = {
            ("GET", "/__fake/stats"): lambda b: jresp(self.stats.snapshot()),
            ("POST", "/__fake/reset"): self.reset,
            ("GET", "/__fake/catalog"): lambda b: jresp(self.m.catalog()),
            ("GET", "/__fake/faults"): lambda b: jresp(self.faults.list()),
            ("POST", "/__fake/faults"): self.add_fault,
            ("POST", "/__fake/faults/clear"): lambda b: jresp({"ok": True, "cleared": self.faults.clear()}),
            ("POST", "/__fake/edit"): self.edit,
            ("POST", "/__fake/revoke"): self.revoke,
            ("GET", "/__fake/config"): lambda b: jresp(self.config()),
            ("POST", "/__fake/config"): self.set_config,
        }
        fn = routes.get((req.method, req.path.rstrip("/")))
        if fn is None:
            return jresp({"error": "no such side-channel endpoint"}, 404)
        try:
            body = json.loads(req.body.decode("utf-8")) if req.body and req.body.strip() else {}
        except ValueError:
            return jresp({"error": "body must be JSON"}, 400)
        try:
            return fn(body)
        except ValueError as e:
            return jresp({"error": str(e)}, 400)

    def reset(self, body):
        self.stats.reset()
        return jresp({"ok": True})

    def add_fault(self, body):
        if isinstance(body, list):
            return jresp([self.faults.add(s) for s in body])
        return jresp(self.faults.add(body))

    def edit(self, body):
        if isinstance(body, list):
            return jresp([self.m.edit(op) for op in body])
        return jresp(self.m.edit(body))

    def revoke(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise ValueError('give {"token": "..."}')
        return jresp({"ok": True, "revoked": self.app.revoke(body["token"], bool(body.get("restore")))})

    def config(self):
        return {"workspace": self.m.workspace, "per_page": self.app.per_page, "run_polls": self.m.run_polls,
                "redirect_content": self.app.redirect_content, "gzip": self.app.gzip_enabled,
                "base_url": self.app.base_url}

    def set_config(self, body):
        if not isinstance(body, dict):
            raise ValueError("config is a JSON object")
        for k in ("per_page", "run_polls"):
            if k in body and (not isinstance(body[k], int) or body[k] < (1 if k == "per_page" else 0)):
                raise ValueError("%s must be an integer (per_page >= 1, run_polls >= 0)" % k)
        unknown = set(body) - {"per_page", "run_polls", "redirect_content", "redirect_host"}
        if unknown:
            raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
        if "per_page" in body:
            self.app.per_page = body["per_page"]
        if "run_polls" in body:
            self.m.run_polls = body["run_polls"]
        if "redirect_content" in body:
            self.app.redirect_content = bool(body["redirect_content"])
        if "redirect_host" in body:
            self.app.redirect_host = body["redirect_host"] or None
        return jresp(self.config())
