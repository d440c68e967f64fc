# hal.py — the HAL+JSON shapes of the fake Mode's objects.
#
# Owns: turning state.py objects into the dicts Mode sends (mode-api.md
# §3-§9): `_links` (server-relative paths, {"href", "templated"}), empty
# `_embedded` on single objects, the abbreviated data-source list item, and
# the compact JSON encoding of every API answer.  No routing, no access rules.

import json

import sample


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(href, templated=False):
    return {"href": href, "templated": templated}


class Shapes:
    def __init__(self, model):
        self.m = model
        self.ws = model.workspace
        self.api = "/api/" + model.workspace

    # -- data sources ---------------------------------------------------------
    def data_source_links(self, d):
        return {
            "self": link("%s/data_sources/%s" % (self.api, d.token)),
            "creator": link("/api/ada"),
            "account": link(self.api),
            "web": link("/organizations/%s/data_sources/%s" % (self.ws, d.token)),
            "web_home": link("/organizations/%s/data_sources/%s/home" % (self.ws, d.token)),
            "permissions": link("%s/data_sources/%s/permissions" % (self.api, d.token)),
            "reports": link("%s/data_sources/%s/reports" % (self.api, d.token)),
        }

    def data_source(self, d):
        return {
            "id": d.id, "token": d.token, "name": d.name, "description": "%s (%s)" % (d.name, d.vendor),
            "display_name": d.name, "adapter": d.adapter, "created_at": d.created_at, "updated_at": d.updated_at,
            "has_expensive_schema_updates": d.adapter in ("jdbc:snowflake", "jdbc:redshift"),
            "public": False, "asleep": d.asleep, "queryable": d.queryable, "soft_deleted": False,
            "database": d.database, "host": d.host, "port": d.port, "ssl": True, "username": d.username,
            "provider": None, "vendor": d.vendor, "ldap": False, "warehouse": None, "bridged": False,
            "adapter_version": "v2", "custom_attributes": dict(d.custom_attributes),
            "account_id": 1, "account_username": self.ws, "organization_token": sample.token("org:" + self.ws),
            "organization_plan_code": "enterprise", "ssl_trusted_cert": None, "default_access_level": "query",
            "default": d.key == "warehouse", "default_for_organization_id": 1 if d.key == "warehouse" else None,
            "_links": self.data_source_links(d), "_embedded": {},
        }

    def data_source_item(self, d):
        """The list item: deliberately shorter than the object `get` returns."""
        full = self.data_source(d)
        keep = ("id", "token", "name", "description", "display_name", "adapter", "created_at", "updated_at",
                "public", "asleep", "queryable", "soft_deleted", "database", "host", "port", "vendor")
        item = {k: full[k] for k in keep}
        item["_links"] = {"self": full["_links"]["self"], "web": full["_links"]["web"]}
        return item

    # -- spaces -----------------------------------------------------------------------
    def space(self, s):
        base = "%s/spaces/%s" % (self.api, s.token)
        return {
            "token": s.token, "id": s.id, "space_type": s.space_type, "name": s.name,
            "description": s.description, "state": "active", "restricted": s.restricted,
            "free_default": False, "viewable?": True, "viewed?": False,
            "default_access_level": "view" if s.space_type == "custom" else "restricted",
            "_links": {
                "self": link(base), "detail": link(base),
                "reports": link(base + "/reports"),
                "search_space_permissions": link(base + "/memberships{?query}", True),
                "web": link("/%s/spaces/%s" % (self.ws, s.token)),
                "creator": link("/api/ada"),
            },
            "_embedded": {},
        }

    # -- reports ---------------------------------------------------------------------------
    def run_path(self, run):
        return "%s/reports/%s/runs/%s" % (self.api, run.report.token, run.token)

    def report(self, r):
        base = "%s/reports/%s" % (self.api, r.token)
        last, ok = r.last_run, r.last_successful_run
        links = {
            "self": link(base),
            "web": link("/%s/reports/%s" % (self.ws, r.token)),
            "space": link("%s/spaces/%s" % (self.api, r.space.token)),
            "queries": link(base + "/queries"),
            "report_runs": link(base + "/runs"),
            "report_run": link(base + "/runs/{id}", True),
            "account": link(self.api),
        }
        if last is not None:
            links["last_run"] = link(self.run_path(last))
        if ok is not None:
            links["last_successful_run"] = link(self.run_path(ok))
        first_sql = r.queries[0].raw_query if r.queries else ""
        return {
            "token": r.token, "id": r.id, "name": r.name, "description": r.description,
            "created_at": r.created_at, "updated_at": r.updated_at, "published_at": None,
            "edited_at": r.edited_at, "type": "QueryReport", "last_saved_at": r.edited_at,
            "archived": False, "space_token": r.space.token, "account_id": 1, "account_username": self.ws,
            "public": False, "manual_run_disabled": False, "run_privately": False, "drilldowns_enabled": False,
            "expected_runtime": 2.5, "last_successfully_run_at": ok.completed_at if ok else None,
            "last_run_at": last.created_at if last else None,
            "last_successful_run_token": ok.token if ok else None,
            "query_count": len(r.queries), "max_query_count": 160, "runs_count": len(r.runs),
            "schedules_count": 0, "query_preview": first_sql[:160], "view_count": 0, "chart_count": 0,
            "_links": links, "_embedded": {},
        }

    # -- queries ------------------------------------------------------------------------------
    def query(self, q):
        base = "%s/reports/%s/queries/%s" % (self.api, q.report.token, q.token)
        rbase = "%s/reports/%s" % (self.api, q.report.token)
        last_run = None
        for run in reversed(q.report.runs):
            for qr in run.query_runs:
                if qr.query is q:
                    last_run = qr.id
                    break
            if last_run is not None:
                break
        return {
            "id": q.id, "token": q.token, "name": q.name, "raw_query": q.raw_query,
            "data_source_id": q.ds.id, "created_at": q.created_at, "updated_at": q.updated_at,
            "last_run_id": last_run, "explorations_count": 0, "report_imports_count": 0,
            "dbt_metric_id": None, "mapping_id": None,
            "_links": {
                "self": link(base), "report": link(rbase), "report_runs": link(rbase + "/runs"),
                "query_runs": link(base + "/runs"), "creator": link("/api/ada"),
            },
            "_embedded": {},
        }

    # -- runs -----------------------------------------------------------------------------------
    def run(self, run):
        r = run.report
        base = self.run_path(run)
        ok = r.last_successful_run
        since = r.runs[r.runs.index(ok) + 1:] if ok else r.runs
        return {
            "token": run.token, "id": run.id, "state": run.state, "parameters": dict(run.parameters),
            "created_at": run.created_at, "updated_at": run.updated_at, "completed_at": run.completed_at,
            "purge_started_at": None, "purge_completed_at": None, "python_state": "none", "form_fields": [],
            "is_latest_report_run": r.last_run is run, "is_latest_successful_report_run": ok is run,
            "report_has_failures_since_last_success": any(x.state == "failed" for x in since),
            "_links": {
                "self": link(base), "account": link(self.api), "report": link("%s/reports/%s" % (self.api, r.token)),
                "query_runs": link(base + "/query_runs"), "content": link(base + "/results/content.csv"),
                "web": link("/%s/reports/%s/runs/%s" % (self.ws, r.token, run.token)),
                "executed_by": link("/api/ada"),
            },
            "_embedded": {},
        }

    def query_run(self, qr):
        run, q = qr.run, qr.query
        base = "%s/query_runs/%s" % (self.run_path(run), qr.token)
        web_run = "/%s/reports/%s/runs/%s" % (self.ws, run.report.token, run.token)
        d = {
            "id": qr.id, "token": qr.token, "state": qr.state, "raw_source": qr.raw_source,
            "rendered_source": qr.raw_source, "query_token": q.token, "query_name": qr.query_name,
            "query_created_at": q.created_at, "data_source_id": q.ds.id, "data_source_token": q.ds.token,
            "created_at": qr.created_at, "completed_at": qr.completed_at, "limit": False,
            "max_result_bytes": 1073741824, "parameters": dict(run.parameters),
        }
        if qr.state == "failed":
            missing = "does not exist" in (qr.error_message or "")
            d.update({"error_message": qr.error_message, "error_type": "query_error",
                      "error_code": "42P01" if missing else None, "help_url": None})
        d["_links"] = {
            "self": link(base),
            "query": link("%s/reports/%s/queries/%s" % (self.api, run.report.token, q.token)),
            "result": link(base + "/results"),
            "result_web": link(web_run + "/query_runs/%s/results" % qr.token),
            "query_web": link("/%s/reports/%s/queries/%s" % (self.ws, run.report.token, q.token)),
            "report_run": link(self.run_path(run)),
            "report_run_web": link(web_run),
        }
        d["_embedded"] = {}
        return d

    def result(self, qr):
        base = "%s/query_runs/%s/results" % (self.run_path(qr.run), qr.token)
        return {"_links": {"self": link(base), "content_csv": link(base + "/content.csv"),
                           "content_json": link(base + "/content.json")},
                "_embedded": {}}

    # -- lists ------------------------------------------------------------------------------------
    @staticmethod
    def listing(self_href, key, items, extra_links=None, pagination=None):
        links = {"self": link(self_href)}
        links.update(extra_links or {})
        d = {"_links": links, "_embedded": {key: items}}
        if pagination is not None:
            d["pagination"] = pagination
        return d
