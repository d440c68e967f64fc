# clientlib.py — what the real-client tests share: the files they read, the
# ground truth (the server's own bytes, fetched over HTTP and parsed by
# Python), the content checks, and one runner per client program.
#
# A client's result is normalized to a Table: column names and rows of
# values (str, int, float or None). The checks then look at the row count
# and exact values: a text cell with a comma, one with a quote, one with a
# newline, non-ASCII text, and NULLs. Exit codes prove nothing here: with a
# wrong size several of these programs exit 0 with an empty result.
#
# Standard library only.

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The card "Edge cases" (id 27, native SQL): six rows that stress the CSV
# dialect. Its CSV, JSON and XLSX exports.
EDGE_CARD = 27
EDGE = ("collections", "Ops ／ Finance", "Edge cases")
# The table REVIEWS (1,000 rows, 134 kB): bodies with commas, quotes,
# newlines (LF and CRLF) and non-ASCII text.
REVIEWS = ("databases", "Sample Database", "PUBLIC", "REVIEWS")
EDGE_COLS = ["ID", "TEXT", "AMOUNT", "QTY", "NOTE"]


def path(mnt, parts, ext):
    return mnt.p(*parts[:-1], parts[-1] + "." + ext)


def need(*programs):
    """Skip when a program is missing, unless MBFS_CLIENTS_REQUIRED=1 (CI)."""
    for p in programs:
        if shutil.which(p) is None:
            msg = "%s is not installed (scripts/deps-clients.sh installs it)" % p
            if os.environ.get("MBFS_CLIENTS_REQUIRED") == "1":
                pytest.fail(msg)
            pytest.skip(msg)


def need_python_module(module, package):
    """Skip (fail in CI) when Debian's python3 lacks a module."""
    p = subprocess.run(["/usr/bin/python3", "-c", "import " + module],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        msg = "%s is not installed (scripts/deps-clients.sh installs it)" % package
        if os.environ.get("MBFS_CLIENTS_REQUIRED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def run(cmd, timeout=300, env=None, **kw):
    """Run a client; return CompletedProcess (text). Never raises on status."""
    e = dict(os.environ)
    e.setdefault("LANG", "C.UTF-8")
    e["LC_ALL"] = "C.UTF-8"
    if env:
        e.update(env)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=e, **kw)
    p.elapsed = time.monotonic() - t0
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def ok(p):
    assert p.returncode == 0, "%r exited %s:\n%s\n%s" % (p.args, p.returncode, p.out[-2000:], p.err[-2000:])
    return p


class Table:
    def __init__(self, cols, rows):
        self.cols = [str(c) for c in cols]
        self.rows = [list(r) for r in rows]

    def __len__(self):
        return len(self.rows)

    def col(self, name):
        i = self.cols.index(name)
        return [r[i] for r in self.rows]

    def by_id(self, id_col="ID"):
        i = self.cols.index(id_col)
        return {int(float(r[i])): dict(zip(self.cols, r)) for r in self.rows}

    def __repr__(self):
        return "Table(%d rows, cols=%r, first=%r)" % (len(self.rows), self.cols, self.rows[:2])


def table_from_csv(text, empty_is_null=True):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return Table([], [])
    conv = (lambda v: None if v == "" else v) if empty_is_null else (lambda v: v)
    return Table(rows[0], [[conv(v) for v in r] for r in rows[1:]])


def table_from_csv_file(p, **kw):
    with open(p, encoding="utf-8", newline="") as f:
        return table_from_csv(f.read(), **kw)


def table_from_records(records, cols=None):
    if cols is None:
        cols = list(records[0].keys()) if records else []
    return Table(cols, [[r.get(c) for c in cols] for r in records])


def table_from_json(text):
    """{"cols": [...], "rows": [[...], ...]} as the helper scripts print it."""
    d = json.loads(text)
    return Table(d["cols"], d["rows"])


# ---- ground truth -------------------------------------------------------------

class Truth:
    def __init__(self, fake):
        token = fake.login()
        self.edge_csv = fake.export("card", EDGE_CARD, "csv", token)
        self.edge_json = fake.export("card", EDGE_CARD, "json", token)
        self.edge_xlsx = fake.export("card", EDGE_CARD, "xlsx", token)
        tid = next(t["id"] for t in fake.catalog()["tables"] if t["name"] == "REVIEWS")
        self.reviews_csv = fake.export("dataset", tid, "csv", token)
        self.reviews_json = fake.export("dataset", tid, "json", token)
        self.reviews = table_from_csv(self.reviews_csv.decode("utf-8"), empty_is_null=False)
        assert len(self.reviews) == 1000
        # a body holding a comma, a quote, a newline and non-ASCII text
        self.review_hard = next(
            r for r in self.reviews.by_id().values()
            if all(c in r["Body"] for c in ',"\n') and any(ord(c) > 127 for c in r["Body"]))


def _text(v):
    return None if v is None else str(v).replace("\r\n", "\n")


def _num(v):
    return float(v)


def _is_null(v, csv_mode):
    if v is None:
        return True
    if isinstance(v, float) and v != v:  # NaN (pandas)
        return True
    return csv_mode and v == ""


def check_edge(t, csv_mode, crlf=True):
    """The "Edge cases" card. csv_mode: the format cannot tell NULL from ''
    (CSV), so an empty string also counts as NULL; JSON and XLSX must give
    a real NULL. crlf=False skips the cell holding a CRLF, for a client that
    mangles it on a local file too (the caller then compares with that)."""
    assert t.cols == EDGE_COLS, t
    assert len(t) == 6, t
    r = t.by_id()
    assert sorted(r) == [1, 2, 3, 4, 5, 6]
    assert _text(r[1]["TEXT"]) == "plain"
    assert _text(r[2]["TEXT"]) == "comma, inside"
    assert _text(r[3]["TEXT"]) == 'quote "inside"'
    assert _text(r[4]["TEXT"]) == "line\nbreak"
    if crlf:
        assert _text(r[5]["TEXT"]) == "crlf\nend"
    assert _text(r[5]["NOTE"]) == "é ü 東京 🎉"
    assert _text(r[6]["NOTE"]) == '{"json": true}'
    assert _num(r[1]["AMOUNT"]) == 29.46
    assert _num(r[4]["AMOUNT"]) == 1e-05
    assert _num(r[6]["AMOUNT"]) == 1e21
    assert int(_num(r[2]["QTY"])) == -4
    assert _is_null(r[6]["TEXT"], csv_mode), r[6]
    assert _is_null(r[6]["QTY"], csv_mode), r[6]
    assert _is_null(r[1]["NOTE"], csv_mode), r[1]


def check_reviews(t, truth, text_cols=("Reviewer", "Body")):
    """The REVIEWS table: every row, and its text columns exactly."""
    assert t.cols == truth.reviews.cols, t
    assert len(t) == len(truth.reviews) == 1000, t
    got = t.by_id()
    want = truth.reviews.by_id()
    assert sorted(got) == sorted(want)
    hard = truth.review_hard
    assert _text(got[int(hard["ID"])]["Body"]) == _text(hard["Body"])
    for c in text_cols:
        bad = [i for i in want if _text(got[i][c]) != _text(want[i][c])]
        assert not bad, "column %s differs in rows %s: %r != %r" % (
            c, bad[:5], got[bad[0]][c], want[bad[0]][c])
    assert [int(_num(got[i]["Rating"])) for i in sorted(want)] == \
        [int(want[i]["Rating"]) for i in sorted(want)]


# ---- runners --------------------------------------------------------------------

LO_CSV = "44,34,76,1"  # comma, double quote, UTF-8, from line 1 (DESIGN.md §9)
# export: same, then token 9 = false: full precision, not "as shown"
LO_OUT = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false'


def soffice_convert(files, outdir, csv_input):
    """LibreOffice headless: convert files to CSV in outdir; return the
    CompletedProcess and {input: output path}."""
    need("soffice")
    profile = tempfile.mkdtemp(prefix="mbfs-lo-")
    cmd = ["soffice", "--headless", "--norestore", "--nologo",
           "-env:UserInstallation=file://" + profile]
    if csv_input:
        cmd.append("--infilter=CSV:" + LO_CSV)
    cmd += ["--convert-to", LO_OUT, "--outdir", outdir] + list(files)
    try:
        p = run(cmd, timeout=300)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    outs = {f: os.path.join(outdir, os.path.splitext(os.path.basename(f))[0] + ".csv") for f in files}
    return p, outs


def ssconvert(src, dst):
    need("ssconvert")
    return run(["ssconvert", "--export-type=Gnumeric_stf:stf_csv", src, dst], timeout=120)


R_SCRIPT = os.path.join(HERE, "read.R")


def r_read(reader, src):
    """Rscript tests/clients/read.R READER FILE → Table (stdout JSON)."""
    need("Rscript")
    p = ok(run(["Rscript", "--vanilla", R_SCRIPT, reader, src], env={"LANG": "C.UTF-8"}))
    return table_from_json(p.out), p


def tar_roundtrip(mnt, rels, tmp):
    """tar c of files in the mount (never read before), extracted into tmp;
    returns {rel: bytes}."""
    need("tar")
    archive = os.path.join(tmp, "t.tar")
    ok(run(["tar", "-C", mnt.path, "-cf", archive] + list(rels)))
    out = os.path.join(tmp, "x")
    os.mkdir(out)
    ok(run(["tar", "-C", out, "-xf", archive]))
    res = {}
    for r in rels:
        with open(os.path.join(out, r), "rb") as f:
            res[r] = f.read()
    return res


def node_dir():
    return os.path.abspath(os.environ.get("MBFS_NODE_DIR") or os.path.join(ROOT, "build", "clients-node"))


def duckdb_read(fn, src):
    """DuckDB (@duckdb/node-api): SELECT * FROM fn('src') → Table."""
    need("node")
    mod = os.path.join(node_dir(), "node_modules", "@duckdb", "node-api")
    if not os.path.isdir(mod):
        msg = "@duckdb/node-api is not installed in %s (scripts/deps-clients.sh)" % node_dir()
        if os.environ.get("MBFS_CLIENTS_REQUIRED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    p = ok(run(["node", os.path.join(HERE, "duckdb_read.cjs"), fn, src],
               env={"MBFS_DUCKDB_MODULE": mod}))
    return table_from_json(p.out)


def undouble(t):
    """data.table 1.14's fread leaves doubled quotes ("") doubled in files
    whose quoted fields span lines (it picks another quote rule for them),
    on a local file as much as on mbfs. Its tests compare with fread of a
    local copy of the server's bytes, then check the cells through this."""
    return Table(t.cols, [[v.replace('""', '"') if isinstance(v, str) else v for v in r]
                          for r in t.rows])


def local_copy(data, tmp, name):
    """The server's bytes in a local file, for a client's reference run."""
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    return p
