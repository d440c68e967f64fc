# state.py — the fake Mode workspace's mutable model.
#
# Owns: the objects built from sample.py (data sources, spaces, reports,
# queries, report runs, query runs), who may see what (the workspace token
# sees everything; the member token not the Finance space, not other users'
# personal spaces, not the Finance DB data source), the report run state
# machine (enqueued -> running_notebook for --run-polls GETs -> succeeded,
# or failed/cancelled when a fault says so), data edits and renames made
# through /__fake/edit, the result bytes of a query run, and the catalogue
# the side channel shows.  One lock guards every change.

import threading

import bigresult
import sample

TERMINAL = ("succeeded", "completed", "failed", "cancelled")
SUCCESS = ("succeeded", "completed")
ADMIN, MEMBER = "admin", "member"

FAILED_MESSAGE = "ERROR: the report run failed (fake fault)"


class DataSource:
    def __init__(self, d):
        self.__dict__.update(d)
        self.token = sample.token("ds:" + d["key"])
        self.created_at = sample.ts(-5000 + d["id"])
        self.updated_at = sample.ts(-4000 + d["id"])


class Space:
    def __init__(self, d):
        self.key = d["key"]
        self.id = d["id"]
        self.name = d["name"]
        self.space_type = d["space_type"]
        self.restricted = d["restricted"]
        self.description = d["description"]
        self.personal = d.get("personal", False)
        self.token = sample.token("space:" + d["key"])


class Query:
    def __init__(self, d, report, ds):
        self.key = d["key"]
        self.id = d["id"]
        self.name = d["name"]
        self.report = report
        self.ds = ds
        self.columns = list(d.get("columns") or sample.DEFAULT_COLUMNS)
        self.raw_query = d.get("sql") or sample._sql("public." + d["key"], self.columns)
        self.token = sample.token("query:%s:%s" % (report.key, d["key"]))
        self.created_at = sample.ts(d["at"])
        self.updated_at = sample.ts(d["at"])
        self.big = d.get("big", False)
        self.version = (0, 0)          # (grow, shift), see sample.rows
        self.content = {}              # fmt -> bytes every run serves (an edit's "content")


class QueryRun:
    def __init__(self, run, query, idx, state):
        self.run = run
        self.query = query
        self.id = run.id * 100 + idx
        self.token = sample.token("qr:%s:%s" % (run.token, query.key))
        self.state = state
        self.raw_source = query.raw_query
        self.query_name = query.name
        self.version = query.version
        self.error_message = None
        self.created_at = run.created_at
        self.completed_at = None


class Run:
    def __init__(self, report, seq, at, state, parameters=None):
        self.report = report
        self.seq = seq
        self.id = report.id * 1000 + seq
        self.token = sample.token("run:%s:%d" % (report.key, seq))
        self.state = state
        self.parameters = dict(parameters or {})
        self.created_at = sample.ts(at)
        self.updated_at = self.created_at
        self.completed_at = None
        self.polls = 0
        self.outcome = "succeeded"
        self.query_runs = []

    def query_run(self, token):
        for qr in self.query_runs:
            if qr.token == token:
                return qr
        return None


class Report:
    def __init__(self, d, space):
        self.key = d["key"]
        self.id = d["id"]
        self.name = d["name"]
        self.description = d["description"]
        self.space = space
        self.token = sample.token("report:" + d["key"])
        self.created_at = sample.ts(d["at"])
        self.updated_at = self.created_at
        self.edited_at = self.created_at
        self.queries = []
        self.runs = []                 # oldest first

    @property
    def last_run(self):
        return self.runs[-1] if self.runs else None

    @property
    def last_successful_run(self):
        for r in reversed(self.runs):
            if r.state in SUCCESS:
                return r
        return None

    def run(self, token):
        for r in self.runs:
            if r.token == token:
                return r
        return None

    def query(self, token):
        for q in self.queries:
            if q.token == token:
                return q
        return None


class Model:
    def __init__(self, workspace="acme", run_polls=2, big_result_mb=0):
        self.lock = threading.RLock()
        self.workspace = workspace
        self.run_polls = run_polls
        self.clock = sample.CLOCK_START
        self.data_sources = [DataSource(d) for d in sample.DATA_SOURCES]
        ds_by_key = {d.key: d for d in self.data_sources}
        space_defs = list(sample.SPACES) + ([sample.BENCH_SPACE] if big_result_mb else [])
        self.spaces = [Space(d) for d in space_defs]
        space_by_key = {s.key: s for s in self.spaces}
        report_defs = list(sample.REPORTS) + ([sample.BIG_REPORT] if big_result_mb else [])
        self.reports = []
        self.big = {}
        self._big_gzip = {}
        for rd in report_defs:
            rep = Report(rd, space_by_key[rd["space"]])
            rep.queries = [Query(qd, rep, ds_by_key[qd["ds"]]) for qd in rd["queries"]]
            qby = {q.key: q for q in rep.queries}
            for seq, run_def in enumerate(rd["runs"], 1):
                run = Run(rep, seq, run_def["at"], run_def["state"])
                run.completed_at = sample.ts(run_def["at"] + 3)
                run.updated_at = run.completed_at
                for idx, (qkey, qstate) in enumerate(run_def["queries"].items(), 1):
                    st = qstate if isinstance(qstate, str) else qstate[0]
                    qr = QueryRun(run, qby[qkey], idx, st)
                    qr.completed_at = run.completed_at
                    if not isinstance(qstate, str):
                        qr.error_message = qstate[1]
                    run.query_runs.append(qr)
                rep.runs.append(run)
            for q in rep.queries:
                if q.big:
                    self.big = bigresult.make(big_result_mb, q.columns, q.token)
            self.reports.append(rep)

    # -- lookups (callers hold no lock: the lists only grow) --------------------
    def data_source(self, token):
        return next((d for d in self.data_sources if d.token == token), None)

    def space(self, token):
        return next((s for s in self.spaces if s.token == token), None)

    def report(self, token):
        return next((r for r in self.reports if r.token == token), None)

    # -- permissions ----------------------------------------------------------------
    @staticmethod
    def can_see_space(who, space):
        if who == ADMIN:
            return True
        return not space.restricted

    def can_see_report(self, who, report):
        return self.can_see_space(who, report.space)

    @staticmethod
    def can_see_data_source(who, ds):
        return who == ADMIN or not ds.restricted

    def visible_spaces(self, who, include_personal):
        return [s for s in self.spaces
                if self.can_see_space(who, s) and (include_personal or not s.personal)]

    # -- clock ------------------------------------------------------------------------------
    def tick(self):
        with self.lock:
            self.clock += 1
            return self.clock

    # -- runs -------------------------------------------------------------------------------
    def create_run(self, report, parameters=None, outcome=None):
        with self.lock:
            run = Run(report, len(report.runs) + 1, self.tick(), "enqueued", parameters)
            run.outcome = outcome or "succeeded"
            for idx, q in enumerate(report.queries, 1):
                run.query_runs.append(QueryRun(run, q, idx, "enqueued"))
            report.runs.append(run)
            return run

    def finish_run(self, run):
        with self.lock:
            now = sample.ts(self.tick())
            run.state = run.outcome
            run.completed_at = run.updated_at = now
            for qr in run.query_runs:
                qr.completed_at = now
                if run.outcome == "succeeded":
                    qr.state = "succeeded"
                elif run.outcome == "failed":
                    qr.state = "failed"
                    qr.error_message = FAILED_MESSAGE
                else:
                    qr.state = "cancelled"

    def poll_run(self, run):
        """One GET of a run: advance a non-terminal run by one step."""
        with self.lock:
            if run.state in TERMINAL:
                return
            run.polls += 1
            if run.polls > self.run_polls:
                self.finish_run(run)
            else:
                run.state = "running_notebook"
                run.updated_at = sample.ts(self.tick())
                for qr in run.query_runs:
                    qr.state = "running"

    # -- results ----------------------------------------------------------------------------
    def content(self, qr, fmt, gzip_wanted):
        """(body, already_gzipped): body is bytes or a bigresult body object."""
        q = qr.query
        if q.big and self.big:
            plain = self.big[fmt]
            if not gzip_wanted:
                return plain, False
            with self.lock:
                if fmt not in self._big_gzip:
                    self._big_gzip[fmt] = bigresult.GzipRepeatedBody(plain)
                return self._big_gzip[fmt], True
        if fmt in q.content:
            return q.content[fmt], False
        return sample.render(q.columns, q.token, qr.version, fmt), False

    # -- /__fake/edit -------------------------------------------------------------------------
    def edit(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("an edit is a JSON object")
        with self.lock:
            out = {"ok": True}
            if "space" in spec:
                s = self.space(spec["space"])
                if s is None:
                    raise ValueError("no such space: %r" % (spec["space"],))
                if "name" in spec:
                    s.name = str(spec["name"])
                out["space"] = s.token
                return out
            if "data_source" in spec:
                d = self.data_source(spec["data_source"])
                if d is None:
                    raise ValueError("no such data source: %r" % (spec["data_source"],))
                if "name" in spec:
                    d.name = str(spec["name"])
                    d.updated_at = sample.ts(self.tick())
                out["data_source"] = d.token
                return out
            rep = self.report(spec.get("report"))
            if rep is None:
                raise ValueError("no such report: %r (give space, data_source or report)" % (spec.get("report"),))
            out["report"] = rep.token
            now = sample.ts(self.tick())
            if "query" in spec:
                q = rep.query(spec["query"])
                if q is None:
                    raise ValueError("report %s has no query %r" % (rep.token, spec["query"]))
                if "name" in spec:
                    q.name = str(spec["name"])
                if "sql" in spec:
                    q.raw_query = str(spec["sql"])
                if "content" in spec:
                    c = spec["content"] or {}
                    if not isinstance(c, dict) or not all(isinstance(v, str) for v in c.values()):
                        raise ValueError('content is {"csv": "...", ...} or null')
                    q.content = {k: v.encode("utf-8") for k, v in c.items()}
                if "same_size" in spec or not ({"name", "sql", "content"} & set(spec)):
                    grow, shift = q.version
                    q.version = (grow, shift + 1) if spec.get("same_size") else (grow + 1, shift)
                q.updated_at = rep.updated_at = rep.edited_at = now
                out["query"] = q.token
                out["version"] = list(q.version)
            elif "name" in spec:
                rep.name = str(spec["name"])
                rep.updated_at = rep.edited_at = now
            if spec.get("new_run"):
                run = self.create_run(rep, outcome=spec.get("outcome"))
                self.finish_run(run)
                out["run"] = run.token
            return out

    # -- /__fake/catalog -------------------------------------------------------------------
    def catalog(self):
        with self.lock:
            def run_tok(r):
                return r.token if r else None
            return {
                "workspace": self.workspace,
                "data_sources": [{"key": d.key, "token": d.token, "id": d.id, "name": d.name,
                                  "adapter": d.adapter, "asleep": d.asleep, "queryable": d.queryable,
                                  "member_visible": self.can_see_data_source(MEMBER, d)}
                                 for d in self.data_sources],
                "spaces": [{"key": s.key, "token": s.token, "id": s.id, "name": s.name,
                            "space_type": s.space_type, "personal": s.personal,
                            "member_visible": self.can_see_space(MEMBER, s),
                            "reports": [r.token for r in self.reports if r.space is s]}
                           for s in self.spaces],
                "reports": [{"key": r.key, "token": r.token, "id": r.id, "name": r.name,
                             "space_token": r.space.token, "member_visible": self.can_see_report(MEMBER, r),
                             "queries": [{"key": q.key, "token": q.token, "id": q.id, "name": q.name,
                                          "data_source_id": q.ds.id, "version": list(q.version)}
                                         for q in r.queries],
                             "last_run_token": run_tok(r.last_run),
                             "last_successful_run_token": run_tok(r.last_successful_run),
                             "runs": [{"token": x.token, "state": x.state,
                                       "query_runs": [{"token": qr.token, "query_token": qr.query.token,
                                                       "state": qr.state} for qr in x.query_runs]}
                                      for x in reversed(r.runs)]}
                            for r in self.reports],
            }
