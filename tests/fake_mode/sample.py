# sample.py — the fake Mode workspace's fixed sample data and its result rows.
#
# Owns: the static definitions (data sources, spaces, reports, queries and
# their historical runs), the stable ids and 12-hex tokens derived from them
# (sha1 of a label, so they survive restarts), the logical clock used for
# timestamps, and the rendering of a query's result (CSV / JSON bytes) for a
# given data version.  Nothing here changes at run time; state.py holds the
# mutable model built from these definitions.

import csv
import datetime
import hashlib
import io
import json

BASE_TIME = datetime.datetime(2026, 4, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)


def token(label):
    """A stable 12-hex-digit token for `label`."""
    return hashlib.sha1(("fake-mode:" + label).encode("utf-8")).hexdigest()[:12]


def ts(minutes):
    """ISO-8601 UTC with milliseconds and Z, `minutes` after BASE_TIME (the logical clock)."""
    t = BASE_TIME + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# ---------------------------------------------------------------------------
# data sources
# ---------------------------------------------------------------------------

DATA_SOURCES = [
    {"key": "warehouse", "id": 101, "name": "Warehouse", "adapter": "jdbc:postgresql", "vendor": "postgres",
     "host": "warehouse.internal.example", "port": "5432", "database": "analytics", "username": "mode_reader",
     "asleep": False, "queryable": True, "custom_attributes": {"standard_sql": False}, "restricted": False},
    {"key": "events", "id": 102, "name": "Events/Raw", "adapter": "jdbc:snowflake", "vendor": "snowflake",
     "host": "acme.snowflakecomputing.com", "port": "443", "database": "RAW", "username": "MODE",
     "asleep": False, "queryable": True, "custom_attributes": {"warehouse": "COMPUTE_WH"}, "restricted": False},
    {"key": "sleepy", "id": 103, "name": "Sleepy", "adapter": "jdbc:redshift", "vendor": "redshift",
     "host": "sleepy.redshift.example", "port": "5439", "database": "archive", "username": "mode",
     "asleep": True, "queryable": True, "custom_attributes": {}, "restricted": False},
    {"key": "finance", "id": 104, "name": "Finance DB", "adapter": "jdbc:mysql", "vendor": "mysql",
     "host": "finance-db.internal.example", "port": "3306", "database": "ledger", "username": "mode_fin",
     "asleep": False, "queryable": True, "custom_attributes": {"ssl_mode": "required"}, "restricted": True},
]

# ---------------------------------------------------------------------------
# spaces (collections)
# ---------------------------------------------------------------------------

SPACES = [
    {"key": "growth", "id": 201, "name": "Growth", "space_type": "custom", "restricted": False,
     "description": "Acquisition and retention."},
    {"key": "finance", "id": 202, "name": "Finance", "space_type": "custom", "restricted": True,
     "description": "Finance team only."},
    {"key": "growth2", "id": 203, "name": "Growth", "space_type": "custom", "restricted": False,
     "description": "A second collection that is also named Growth."},
    {"key": "ops", "id": 204, "name": "Ops/Infra", "space_type": "custom", "restricted": False,
     "description": "Operations; a slash in the name."},
    {"key": "personal_ada", "id": 205, "name": "Personal (ada)", "space_type": "private", "restricted": True,
     "description": "", "personal": True},
]

BENCH_SPACE = {"key": "bench", "id": 206, "name": "Bench", "space_type": "custom", "restricted": False,
               "description": "Benchmarks: one report with a big result."}

# ---------------------------------------------------------------------------
# reports, queries, runs
#
# runs: oldest first; each {"at": minutes, "state": ..., "queries": {query key:
# "succeeded" | ["failed", error message]}} — a query missing from "queries"
# has no query run in that run.
# ---------------------------------------------------------------------------

SQL_SIGNUPS = ("SELECT date_trunc('week', created_at) AS week,\n"
               "       country,\n"
               "       count(*) AS signups,\n"
               "       max(note) AS note\n"
               "FROM signups\n"
               "GROUP BY 1, 2\n"
               "ORDER BY 1, 2\n")


def _sql(table, cols):
    return "SELECT %s\nFROM %s\nWHERE created_at >= '2026-01-01'\nORDER BY 1\n" % (",\n       ".join(cols), table)


DEFAULT_COLUMNS = ["day", "label", "value", "note"]

REPORTS = [
    {"key": "weekly", "id": 301, "space": "growth", "name": "Weekly signups", "at": 0,
     "description": "Signups per week and country.",
     "queries": [
         {"key": "signups", "id": 401, "name": "Signups", "ds": "warehouse", "at": 0, "sql": SQL_SIGNUPS,
          "columns": ["week", "country", "signups", "note"]},
         {"key": "by_country", "id": 402, "name": "By country", "ds": "events", "at": 1,
          "columns": ["country_code", "country", "users", "comment"]},
     ],
     "runs": [
         {"at": 100, "state": "succeeded", "queries": {"signups": "succeeded", "by_country": "succeeded"}},
         {"at": 200, "state": "succeeded", "queries": {"signups": "succeeded", "by_country": "succeeded"}},
         {"at": 300, "state": "failed",
          "queries": {"signups": ["failed", "ERROR: canceling statement due to statement timeout"],
                      "by_country": "succeeded"}},
     ]},
    {"key": "never", "id": 302, "space": "growth", "name": "Never run", "at": 10,
     "description": "A report nobody ran yet.",
     "queries": [{"key": "draft", "id": 403, "name": "Draft", "ds": "warehouse", "at": 10}],
     "runs": []},
    {"key": "partly", "id": 303, "space": "growth", "name": "Partly failed", "at": 20,
     "description": "Its latest successful run has a failed query.",
     "queries": [
         {"key": "good", "id": 404, "name": "Good", "ds": "warehouse", "at": 20},
         {"key": "broken", "id": 405, "name": "Broken", "ds": "warehouse", "at": 20,
          "sql": "SELECT week, count(*) AS n\nFROM signups_v2\nGROUP BY 1\n"},
     ],
     "runs": [
         {"at": 120, "state": "succeeded",
          "queries": {"good": "succeeded", "broken": ["failed", 'ERROR: relation "signups_v2" does not exist']}},
     ]},
    {"key": "added", "id": 304, "space": "growth", "name": "Added later", "at": 30,
     "description": "The second query was added after the last run.",
     "queries": [
         {"key": "first", "id": 406, "name": "First", "ds": "warehouse", "at": 30},
         {"key": "second", "id": 407, "name": "Second", "ds": "events", "at": 500},
     ],
     "runs": [{"at": 130, "state": "succeeded", "queries": {"first": "succeeded"}}]},
    {"key": "retention", "id": 305, "space": "growth2", "name": "Retention", "at": 40,
     "description": "In the other Growth collection.",
     "queries": [{"key": "cohorts", "id": 408, "name": "Cohorts", "ds": "warehouse", "at": 40,
                  "columns": ["cohort", "segment", "retained", "note"]}],
     "runs": [{"at": 140, "state": "succeeded", "queries": {"cohorts": "succeeded"}}]},
    {"key": "revenue", "id": 306, "space": "finance", "name": "Revenue", "at": 50,
     "description": "Monthly revenue.",
     "queries": [{"key": "rev_month", "id": 409, "name": "Revenue by month", "ds": "finance", "at": 50,
                  "columns": ["month", "region", "revenue_eur", "note"]}],
     "runs": [{"at": 150, "state": "succeeded", "queries": {"rev_month": "succeeded"}}]},
    {"key": "uptime", "id": 307, "space": "ops", "name": "Uptime / Latency", "at": 60,
     "description": "A slash in the report name; two queries share a name.",
     "queries": [
         {"key": "latency_a", "id": 410, "name": "Latency", "ds": "events", "at": 60},
         {"key": "latency_b", "id": 411, "name": "Latency", "ds": "sleepy", "at": 61},
         {"key": "uptime_q", "id": 412, "name": "Uptime", "ds": "events", "at": 62},
     ],
     "runs": [{"at": 160, "state": "succeeded",
               "queries": {"latency_a": "succeeded", "latency_b": "succeeded", "uptime_q": "succeeded"}}]},
    {"key": "scratch", "id": 308, "space": "personal_ada", "name": "Scratch", "at": 70,
     "description": "In a personal collection (only with filter=all).",
     "queries": [{"key": "scratch_q", "id": 413, "name": "Scratch query", "ds": "warehouse", "at": 70}],
     "runs": [{"at": 170, "state": "succeeded", "queries": {"scratch_q": "succeeded"}}]},
]

BIG_REPORT = {"key": "big", "id": 309, "space": "bench", "name": "Big", "at": 80,
              "description": "A big result for benchmarks.",
              "queries": [{"key": "rows", "id": 414, "name": "Rows", "ds": "warehouse", "at": 80,
                           "columns": ["id", "label", "value", "note"], "big": True}],
              "runs": [{"at": 180, "state": "succeeded", "queries": {"rows": "succeeded"}}]}

# where the logical clock starts for objects created at run time
CLOCK_START = 1000

# ---------------------------------------------------------------------------
# result rows
# ---------------------------------------------------------------------------

LABELS = ["France", "Deutschland", "España", "United Kingdom", "日本", "Brasil", "Österreich", "Canada"]
# every result has a comma, a quote, a newline inside a quoted field, non-ASCII text and a NULL
NOTES = ["plain", "comma, inside", 'a "quoted" word', "line one\nline two", "Zürich — 東京 ✓", None]
BASE_ROWS = 6


def _seed(qtoken):
    return int(hashlib.sha1(qtoken.encode("ascii")).hexdigest()[:8], 16)


def rows(qtoken, version):
    """The result rows of query `qtoken` at data version `version` = (grow, shift).

    grow:  edits that change the size — each adds one row.
    shift: same-size edits — the last digit of every integer in the third
           column moves by `shift` (mod 10), so the byte length is unchanged.
    """
    grow, shift = version
    seed = _seed(qtoken)
    out = []
    for i in range(BASE_ROWS + grow):
        day = "2026-03-%02d" % (1 + (i % 28))
        label = LABELS[(seed + i) % len(LABELS)]
        value = 10 + (seed // (i + 3)) % 990
        value = value - value % 10 + (value % 10 + shift) % 10
        note = NOTES[i % len(NOTES)]
        out.append([day, label, value, note])
    return out


def render_csv(columns, rows_):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows_:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode("utf-8")


def render_json(columns, rows_):
    objs = [dict(zip(columns, r)) for r in rows_]
    return json.dumps(objs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(columns, qtoken, version, fmt):
    r = rows(qtoken, version)
    return render_csv(columns, r) if fmt == "csv" else render_json(columns, r)
