# test_mode.py — a Mode workspace mounted by the real binary (DESIGN.md §10):
# the tree, byte equality with the API's own answers (what `curl` of the same
# endpoints gives), exact sizes, failures with Mode's words, -o mode_run=new,
# single flight, same-size changes, credentials and secret files, a member's
# restricted view, redirects, stalls.  The fake is tests/fake_mode/.

import errno
import json
import os
import signal
import stat
import subprocess
import threading
import time

import pytest

from conftest import read, spool_state, stats_value
from fakemode import MEMBER_AUTH, SECRET, TOKEN, WORKSPACE, FakeMode


@pytest.fixture(scope="module")
def mode():
    server = FakeMode()
    yield server
    server.stop()


@pytest.fixture
def fresh_mode(mode):
    mode.clear_faults()
    mode.reset()
    yield mode
    mode.clear_faults()


def mode_env(token=TOKEN, secret=SECRET):
    return {"MBFS_MODE_TOKEN": token, "MBFS_MODE_SECRET": secret}


def mount_mode(mount_factory, server, *options, env=None, **kw):
    return mount_factory(server.url, "backend=mode", "workspace=" + WORKSPACE,
                         *options, env=env if env is not None else mode_env(), **kw)


def report_dir(m, server, key):
    """The directory of a report under collections/, found by its token."""
    rep = server.report(key)
    return m.p("reports", rep["token"])


def file_by_token(d, query_token, ext):
    """The file of d whose user.mode.token is query_token (names may
    collide and get suffixes)."""
    for name in os.listdir(d):
        if name.endswith(ext) and os.getxattr(os.path.join(d, name), "user.mode.token") == query_token.encode():
            return os.path.join(d, name)
    raise KeyError(query_token)


def expect_eio(path):
    with pytest.raises(OSError) as e:
        read(path)
    assert e.value.errno == errno.EIO
    return os.getxattr(path, "user.mb.error").decode()


def test_tree_names_and_collisions(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    assert sorted(os.listdir(m.path)) == [".mbfs", "collections", "data_sources", "metadata", "reports"]
    cat = fresh_mode.catalog()
    # every shared collection, through every page of the list (per_page 2)
    cols = sorted(os.listdir(m.p("collections")))
    assert cols == sorted(["Finance", "Growth", "Growth [203]", "Ops\uff0fInfra"])
    assert os.getxattr(m.p("collections", "Growth [203]"), "user.mode.token") == \
        fresh_mode.space("growth2")["token"].encode()
    # a report: one directory, a query: .csv .json .sql
    weekly = m.p("collections", "Growth", "Weekly signups")
    assert sorted(os.listdir(weekly)) == sorted(
        ["Signups.csv", "Signups.json", "Signups.sql", "By country.csv", "By country.json", "By country.sql"])
    # two queries called "Latency" in one report: both shown, by id
    uptime = m.p("collections", "Ops\uff0fInfra", "Uptime \uff0f Latency")
    names = os.listdir(uptime)
    lat = [n for n in names if n.startswith("Latency") and n.endswith(".csv")]
    assert len(lat) == 2 and "Latency.csv" in lat, names
    # reports/ by token: every report of the listed collections
    listed = {r["token"] for r in cat["reports"]
              if any(r["token"] in s["reports"] for s in cat["spaces"] if not s["personal"])}
    assert set(os.listdir(m.p("reports"))) == listed
    # the same query file in both places is one file (one inode)
    rep = fresh_mode.report("weekly")
    a = os.stat(os.path.join(weekly, "Signups.csv"), follow_symlinks=False)
    b = os.stat(m.p("reports", rep["token"], "Signups.csv"))
    assert a.st_ino == b.st_ino
    # nothing was exported by listing it all
    os.system("ls -lR %s > /dev/null" % m.path)
    assert fresh_mode.stats()["routes"].get("content", 0) <= 1  # the stat above


def test_results_are_the_api_bytes_with_exact_sizes(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    # naming one file (no listing of its directory first) materializes it:
    # stat has the exact size (DESIGN.md §2 rule 2)
    rep = fresh_mode.report("weekly")
    q = fresh_mode.query("weekly", "signups")
    want = fresh_mode.content(rep["token"], q["token"], "json", gzip_ok=True).body
    assert os.stat(m.p("collections", "Growth", "Weekly signups", "Signups.json")).st_size == len(want)
    # and byte for byte what curl gets from the same endpoint
    qr = fresh_mode.query_run_for(rep["token"], rep["last_successful_run_token"], q["token"])
    url = fresh_mode.url + fresh_mode.content_path(rep["token"], rep["last_successful_run_token"],
                                                    qr["token"], "json")
    curl = subprocess.run(["curl", "-sSf", "--compressed", "-u", "%s:%s" % (TOKEN, SECRET), url],
                          capture_output=True, check=True).stdout
    assert read(m.p("collections", "Growth", "Weekly signups", "Signups.json")) == curl == want
    for key in ("weekly", "partly", "retention", "uptime", "revenue"):
        rep = fresh_mode.report(key)
        d = m.p("reports", rep["token"])
        for q in rep["queries"]:
            run = next(r for r in rep["runs"] if r["token"] == rep["last_successful_run_token"])
            qr = next((x for x in run["query_runs"] if x["query_token"] == q["token"]), None)
            if qr is None or qr["state"] != "succeeded":
                continue
            for fmt in ("csv", "json"):
                want = fresh_mode.content(rep["token"], q["token"], fmt, gzip_ok=True).body
                path = file_by_token(d, q["token"], "." + fmt)
                with open(path, "rb") as f:  # listed first: fstat is exact
                    assert os.fstat(f.fileno()).st_size == len(want), path
                    assert f.read() == want, path
            api_q = fresh_mode.get_json(fresh_mode.path("reports", rep["token"], "queries", q["token"]))
            assert read(file_by_token(d, q["token"], ".sql")) == api_q["raw_query"].encode()
    # JSON results parse as an array of row objects
    rows = json.loads(read(m.p("collections", "Growth", "Weekly signups", "Signups.json")))
    assert isinstance(rows, list) and rows and isinstance(rows[0], dict)


def test_the_files_of_one_run_share_its_query_runs(fresh_mode, mount_factory):
    # a successful run's query runs are final: the four files of a report
    # (two queries, csv and json) ask GET …/query_runs once, not four
    # times; a new run is a new list, and its files get the new bytes
    m = mount_mode(mount_factory, fresh_mode, "result_ttl=3600")
    rep = fresh_mode.report("weekly")
    d = m.p("reports", rep["token"])
    want = {(q["token"], fmt): fresh_mode.content(rep["token"], q["token"], fmt, gzip_ok=True).body
            for q in rep["queries"] for fmt in ("csv", "json")}
    # by name, not by listing: naming a file materializes it (rule 2)
    paths = {(q["token"], fmt): os.path.join(d, q["name"] + "." + fmt)
             for q in rep["queries"] for fmt in ("csv", "json")}
    fresh_mode.reset()
    for k, path in paths.items():
        assert read(path) == want[k], path
    routes = fresh_mode.stats()["routes"]
    assert routes.get("query_runs") == 1, routes
    assert routes.get("report") == 4, routes       # the latest run, each time
    assert stats_value(m, "mode_query_runs_remembered") == 3
    q = fresh_mode.query("weekly", "signups")
    path = paths[(q["token"], "csv")]
    fresh_mode.edit(report=rep["token"], query=q["token"], same_size=True)
    fresh_mode.edit(report=rep["token"], new_run=True)
    fresh_mode.reset()
    os.utime(path)
    after = read(path)
    assert fresh_mode.stats()["routes"].get("query_runs") == 1    # the new run's
    assert after == fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body
    assert len(after) == len(want[(q["token"], "csv")]) and after != want[(q["token"], "csv")]


def test_data_sources_are_their_get_bytes(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    names = sorted(os.listdir(m.p("data_sources")))
    assert names == sorted(["Warehouse.json", "Events\uff0fRaw.json", "Sleepy.json", "Finance DB.json"])
    listed, _ = fresh_mode.follow_pages(fresh_mode.path("data_sources"), "data_sources")
    for ds in fresh_mode.catalog()["data_sources"]:
        path = file_by_token(m.p("data_sources"), ds["token"], ".json")
        want = fresh_mode.get(fresh_mode.path("data_sources", ds["token"])).body
        assert os.stat(path).st_size == len(want)
        assert read(path) == want
        item = next(x for x in listed if x["token"] == ds["token"])
        assert json.dumps(item, separators=(",", ":")).encode() != want  # the get, not the list item
        assert os.getxattr(path, "user.mode.adapter") == ds["adapter"].encode()
        assert os.getxattr(path, "user.mode.asleep") == (b"true" if ds["asleep"] else b"false")
        assert os.getxattr(path, "user.mode.queryable") == (b"true" if ds["queryable"] else b"false")
        url = os.getxattr(path, "user.mode.url").decode()
        assert url.startswith(fresh_mode.url + "/") and ds["token"] in url
        for a in ("user.mode.host", "user.mode.database", "user.mode.token"):
            assert a in os.listxattr(path)
    # one that vanished between the list and its GET is left out; the
    # others stay
    gone = fresh_mode.data_source("sleepy")["token"]
    fresh_mode.add_fault(match="/data_sources/" + gone, status=404,
                         body='{"id":"not_found","message":"`DataSource` not found"}')
    os.utime(m.p("data_sources"))
    names = sorted(os.listdir(m.p("data_sources")))
    assert names == sorted(["Warehouse.json", "Events\uff0fRaw.json", "Finance DB.json"])


def test_metadata_files(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    cat = fresh_mode.catalog()
    ds = json.loads(read(m.p("metadata", "data_sources.json")))
    assert sorted(x["token"] for x in ds) == sorted(d["token"] for d in cat["data_sources"])
    cols = json.loads(read(m.p("metadata", "collections.json")))
    assert sorted(x["token"] for x in cols) == sorted(s["token"] for s in cat["spaces"] if not s["personal"])
    reps = json.loads(read(m.p("metadata", "reports.json")))
    assert sorted(x["token"] for x in reps) == sorted(os.listdir(m.p("reports")))
    for f in ("data_sources.json", "collections.json", "reports.json"):
        assert os.stat(m.p("metadata", f)).st_size == len(read(m.p("metadata", f)))


def test_failures_are_eio_with_modes_words(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    never = m.p("collections", "Growth", "Never run", "Draft.csv")
    assert os.stat(never).st_size == 0
    assert "no successful run" in expect_eio(never)
    broken = m.p("collections", "Growth", "Partly failed", "Broken.json")
    assert os.stat(broken).st_size == 0
    assert 'relation "signups_v2" does not exist' in expect_eio(broken)
    # its neighbour in the same run is fine
    assert read(m.p("collections", "Growth", "Partly failed", "Good.csv")).startswith(b"day,")
    added = m.p("collections", "Growth", "Added later", "Second.csv")
    assert "no result in run" in expect_eio(added)
    # an HTTP failure of the download: EIO with the status, remembered
    rep = fresh_mode.report("retention")
    fresh_mode.add_fault(match="/results/content", status=500, body='{"id":"internal_server_error","message":"boom"}')
    cohorts = m.p("reports", rep["token"], "Cohorts.csv")
    msg = expect_eio(cohorts)
    assert "500" in msg and "boom" in msg


def test_single_flight(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    fresh_mode.add_fault(match="/results/content", delay=1.0)
    rep = fresh_mode.report("weekly")
    path = m.p("reports", rep["token"], "By country.csv")
    outs, errs = [], []

    def reader():
        try:
            outs.append(read(path))
        except OSError as e:
            errs.append(e)

    ts = [threading.Thread(target=reader) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs and len(set(outs)) == 1
    q = fresh_mode.query("weekly", "by_country")
    downloads = fresh_mode.stats()["downloads"]
    assert downloads == {"content:%s:%s:csv" % (rep["token"], q["token"]): 1}, downloads


def test_mode_run_new_starts_one_run_per_result(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, "mode_run=new", "result_ttl=3600")
    rep = fresh_mode.report("weekly")
    q = fresh_mode.query("weekly", "signups")
    fresh_mode.edit(report=rep["token"], query=q["token"], same_size=False)
    path = m.p("reports", rep["token"], "Signups.csv")
    got = read(path)
    st = fresh_mode.stats()
    assert st["runs_created"] == {rep["token"]: 1}, st
    new_run = fresh_mode.report("weekly")["last_successful_run_token"]
    assert new_run != rep["last_successful_run_token"]
    assert got == fresh_mode.content(rep["token"], q["token"], "csv", run_token=new_run, gzip_ok=True).body
    # the edit reached only the new run: the latest result before it differs
    old = fresh_mode.content(rep["token"], q["token"], "csv", run_token=rep["last_successful_run_token"]).body
    assert got != old
    # fresh: no second run; touch: one more
    assert read(path) == got
    assert fresh_mode.stats()["runs_created"] == {rep["token"]: 1}
    os.utime(path)
    read(path)
    assert fresh_mode.stats()["runs_created"] == {rep["token"]: 2}


def test_mode_run_new_failed_run_is_eio(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, "mode_run=new")
    rep = fresh_mode.report("retention")
    fresh_mode.add_fault(match="/reports/%s/runs" % rep["token"], method="POST", run_outcome="failed")
    msg = expect_eio(m.p("reports", rep["token"], "Cohorts.csv"))
    assert "failed" in msg, msg
    assert fresh_mode.stats()["runs_created"] == {rep["token"]: 1}


def test_same_size_change_seen_after_touch_and_old_reader_keeps_its_bytes(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, "result_ttl=3600")
    rep = fresh_mode.report("retention")
    q = fresh_mode.query("retention", "cohorts")
    path = m.p("reports", rep["token"], "Cohorts.csv")
    before = read(path)
    f = open(path, "rb")
    fresh_mode.edit(report=rep["token"], query=q["token"], same_size=True)
    fresh_mode.edit(report=rep["token"], new_run=True)
    assert read(path) == before  # still fresh
    os.utime(path)
    after = read(path)
    assert len(after) == len(before) and after != before
    assert after == fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body
    assert f.read() == before
    f.close()


def test_a_result_is_judged_by_its_format_not_by_metabases_error_forms(fresh_mode, mount_factory):
    # Mode has no in-band failure form: a CSV whose last line looks like
    # the JSON error object Metabase appends to a failed export is just a
    # row here, served byte for byte (that form from a Metabase server is
    # EIO: test_export_engine's mid_stream_error). A JSON result that is an error-looking
    # object is not rows either way: EIO, with the format's words.
    rep = fresh_mode.report("retention")
    q = fresh_mode.query("retention", "cohorts")
    csv = 'cohort,users\n2024-01,12\n{"error":"Query cancelled","status":"failed"}\n'
    fresh_mode.edit(report=rep["token"], query=q["token"],
                    content={"csv": csv, "json": '{"error": "boom", "status": "failed"}'})
    try:
        m = mount_mode(mount_factory, fresh_mode)
        d = m.p("reports", rep["token"])
        path = os.path.join(d, "Cohorts.csv")
        assert os.stat(path).st_size == len(csv.encode())
        assert read(path) == csv.encode()
        assert "JSON" in expect_eio(os.path.join(d, "Cohorts.json"))
    finally:
        fresh_mode.edit(report=rep["token"], query=q["token"], content=None)


def test_wrong_credentials_fail_the_mount_in_one_line(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, env=mode_env(secret="wrong"), wait=False)
    m.expect_failure = True
    rc = m.proc.wait(20)
    assert rc != 0 and not os.path.ismount(m.path)
    lines = [ln for ln in m.log_text().splitlines() if ln.strip()]
    assert len(lines) == 1 and "refused the API token and secret" in lines[0], lines
    assert "wrong" not in m.log_text()
    assert fresh_mode.stats()["unauthorized"] == 1


@pytest.mark.parametrize("missing", ["MBFS_MODE_TOKEN", "MBFS_MODE_SECRET"])
def test_missing_credential_is_one_line(fresh_mode, mount_factory, missing):
    env = mode_env()
    del env[missing]
    m = mount_mode(mount_factory, fresh_mode, env=env, wait=False)
    m.expect_failure = True
    assert m.proc.wait(20) != 0
    assert "needs an API token and secret" in m.log_text()
    assert fresh_mode.stats()["requests"] == 0


def test_revoked_token_is_eacces_without_a_loop(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    rep = fresh_mode.report("weekly")
    d = m.p("reports", rep["token"])
    os.listdir(d)
    fresh_mode.revoke(TOKEN)
    try:
        for _ in range(3):
            with pytest.raises(OSError) as e:
                read(os.path.join(d, "Signups.json"))
            assert e.value.errno == errno.EACCES
        # one request, never retried nor repeated while the refusal is
        # remembered (error_ttl): the server's 401 reaches the log once
        assert fresh_mode.stats()["unauthorized"] == 1
        log = m.log_text()
        assert sum("failed after" in ln and "HTTP 401" in ln for ln in log.splitlines()) == 1, log
    finally:
        fresh_mode.revoke(TOKEN, restore=True)


def test_secret_files_and_their_permissions(fresh_mode, mount_factory, tmp_path):
    tok, sec = tmp_path / "token", tmp_path / "secret"
    tok.write_text(TOKEN + "\n")
    sec.write_text(SECRET + "\n")
    os.chmod(tok, 0o600)
    os.chmod(sec, 0o644)
    files = ("mode_token_file=%s" % tok, "mode_secret_file=%s" % sec)
    m = mount_mode(mount_factory, fresh_mode, *files, env={}, wait=False)
    m.expect_failure = True
    assert m.proc.wait(20) != 0
    assert "chmod 600" in m.log_text() and str(sec) in m.log_text()
    os.chmod(sec, 0o600)
    m2 = mount_mode(mount_factory, fresh_mode, *files, env={})
    assert "Growth" in os.listdir(m2.p("collections"))


def test_secrets_leave_the_environment(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    with open("/proc/%d/environ" % m.proc.pid, "rb") as f:
        env = f.read()
    assert SECRET.encode() not in env and TOKEN.encode() not in env


def test_member_sees_only_what_mode_shows_it(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, env=mode_env(*MEMBER_AUTH))
    assert "Finance" not in os.listdir(m.p("collections"))
    assert "Finance DB.json" not in os.listdir(m.p("data_sources"))
    revenue = fresh_mode.report("revenue")["token"]
    assert revenue not in os.listdir(m.p("reports"))


def test_stalled_download_is_eio_in_stall_timeout(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode, "stall_timeout=2")
    rep = fresh_mode.report("partly")
    fresh_mode.add_fault(match="/results/content", stall=30, times=1)
    msg = expect_eio(m.p("reports", rep["token"], "Good.csv"))
    assert "no data from the server for 2 s" in msg


def test_cut_download_is_eio_never_a_short_file(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    rep = fresh_mode.report("partly")
    fresh_mode.add_fault(match="/results/content", cut=True, times=1)
    expect_eio(m.p("reports", rep["token"], "Good.json"))


@pytest.mark.parametrize("host", [None, "localhost"])
def test_redirected_content(fresh_mode, mount_factory, host):
    """A download answered with a redirect is followed; the credential
    goes along only to the same host (libcurl's rule), never to another
    name of it."""
    fresh_mode.config(redirect_content=True, redirect_host=host)
    try:
        m = mount_mode(mount_factory, fresh_mode)
        rep = fresh_mode.report("weekly")
        q = fresh_mode.query("weekly", "signups")
        got = read(m.p("reports", rep["token"], "Signups.csv"))
        fresh_mode.config(redirect_content=False, redirect_host=None)
        want = fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body
        assert got == want
        st = fresh_mode.stats()
        assert st["routes"].get("redirected_content") == 1, st
        if host:
            assert st["redirect_auth"] == 0, st
    finally:
        fresh_mode.config(redirect_content=False, redirect_host=None)


def test_option_errors():
    from conftest import mbfs_binary
    for opts, words in (("backend=mode", "workspace=NAME"),
                        ("workspace=acme", "backend=mode"),
                        ("mode_run=new", "backend=mode"),
                        ("backend=mode,workspace=a/b", "workspace username")):
        r = subprocess.run([mbfs_binary(), "http://127.0.0.1:9", "/nonexistent", "-o", opts],
                           capture_output=True, text=True, env=dict(os.environ, **mode_env()))
        assert r.returncode != 0 and words in r.stderr, (opts, r.stderr)


def test_mode_files_are_read_only(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    rep = fresh_mode.report("weekly")
    path = m.p("reports", rep["token"], "Signups.sql")
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o222 == 0
    with pytest.raises(OSError) as e:
        open(path, "wb")
    assert e.value.errno in (errno.EROFS, errno.EACCES)


def test_credentials_from_the_config_file(fresh_mode, mount_factory, tmp_path):
    """mode_token and mode_secret in the config file: used when the
    environment has none, refused (one line naming the chmod) when others
    can read the file."""
    cfg_home = tmp_path / "xdg"
    (cfg_home / "mbfs").mkdir(parents=True)
    cfg = cfg_home / "mbfs" / "config"
    cfg.write_text("# mbfs\nmode_token = %s\nmode_secret = %s\n" % (TOKEN, SECRET))
    os.chmod(cfg, 0o644)
    env = {"XDG_CONFIG_HOME": str(cfg_home)}
    m = mount_mode(mount_factory, fresh_mode, env=env, wait=False)
    m.expect_failure = True
    assert m.proc.wait(20) != 0 and not os.path.ismount(m.path)
    assert "chmod 600" in m.log_text() and SECRET not in m.log_text()
    assert fresh_mode.stats()["requests"] == 0
    os.chmod(cfg, 0o600)
    m2 = mount_mode(mount_factory, fresh_mode, env=env)
    rep = fresh_mode.report("retention")
    q = fresh_mode.query("retention", "cohorts")
    assert read(m2.p("reports", rep["token"], "Cohorts.csv")) == \
        fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body


def test_reports_dir_skips_a_collection_that_vanished(fresh_mode, mount_factory):
    m = mount_mode(mount_factory, fresh_mode)
    gone = fresh_mode.space("growth2")
    fresh_mode.add_fault(match="/spaces/%s/reports" % gone["token"], status=404,
                         body='{"id":"not_found","message":"`Space` not found"}')
    listed = set(os.listdir(m.p("reports")))
    assert listed, listed
    assert set(gone["reports"]).isdisjoint(listed)
    assert fresh_mode.report("weekly")["token"] in listed
    assert "collection %s" % gone["token"] in m.log_text()


def test_two_mounts_share_a_cache_and_keep_their_generations(fresh_mode, mount_factory, tmp_path):
    """Two mounts of one workspace on one cache directory: a finished result
    is shared (one download); a same-size change reached through one mount
    leaves a reader open on the other with its bytes; a member's mount on
    the same cache never serves the admin's result (its own download)."""
    cache = str(tmp_path / "cache")
    a = mount_mode(mount_factory, fresh_mode, "result_ttl=3600", cache_dir=cache)
    b = mount_mode(mount_factory, fresh_mode, "result_ttl=3600", cache_dir=cache)
    rep = fresh_mode.report("retention")
    q = fresh_mode.query("retention", "cohorts")
    key = "content:%s:%s:csv" % (rep["token"], q["token"])
    path_a = a.p("reports", rep["token"], "Cohorts.csv")
    path_b = b.p("reports", rep["token"], "Cohorts.csv")
    before = read(path_a)
    time.sleep(0.5)                                # as test_generations' sharing test
    assert read(path_b) == before
    assert fresh_mode.stats()["downloads"] == {key: 1}
    f = open(path_a, "rb")
    fresh_mode.edit(report=rep["token"], query=q["token"], same_size=True)
    fresh_mode.edit(report=rep["token"], new_run=True)
    os.utime(path_b)
    after = read(path_b)
    assert len(after) == len(before) and after != before
    assert after == fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body
    assert f.read() == before                      # its generation, not b's
    f.close()
    os.utime(path_a)
    assert read(path_a) == after
    member = mount_mode(mount_factory, fresh_mode, cache_dir=cache, env=mode_env(*MEMBER_AUTH))
    n = fresh_mode.stats()["downloads"][key]
    assert read(member.p("reports", rep["token"], "Cohorts.csv")) == after
    assert fresh_mode.stats()["downloads"][key] == n + 1


def test_kill9_during_a_stalled_download_leaves_a_consistent_cache(fresh_mode, mount_factory, tmp_path):
    cache = str(tmp_path / "cache")
    rep = fresh_mode.report("weekly")
    q = fresh_mode.query("weekly", "signups")
    want = fresh_mode.content(rep["token"], q["token"], "csv", gzip_ok=True).body
    fresh_mode.add_fault(match="/results/content", stall=30)
    m = mount_mode(mount_factory, fresh_mode, cache_dir=cache)
    reader = subprocess.Popen(["cat", m.p("reports", rep["token"], "Signups.csv")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not fresh_mode.stats()["downloads"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)                                 # half the body is in the spool's temp file
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait()
    reader.wait(30)
    subprocess.run(["fusermount3", "-uz", m.path], check=False)
    m.expect_failure = True
    fresh_mode.clear_faults()
    m2 = mount_mode(mount_factory, fresh_mode, cache_dir=cache)
    assert read(m2.p("reports", rep["token"], "Signups.csv")) == want
    files, records = spool_state(cache)
    assert files == records, (files, records)       # the cut temp file is gone


def test_a_decoded_result_is_written_to_the_spool_in_large_pieces(mount_factory):
    """curl inflates a gzip body in 16 KiB pieces: the export engine holds
    them and writes the spool 512 KiB at a time (or after 50 ms), so the
    page cache keeps the result in large folios. Content compared with the
    API's own answer; the write count comes from .mbfs/stats."""
    with FakeMode(big_result_mb=4) as fm:
        rep = fm.report("big")
        q = fm.query("big", "rows")
        want = fm.content(rep["token"], q["token"], gzip_ok=True).body
        m = mount_mode(mount_factory, fm)
        path = os.path.join(m.p("collections", "Bench", "Big"), "Rows.csv")
        before = stats_value(m, "spool_writes")
        t0 = time.monotonic()
        got = read(path)
        took = time.monotonic() - t0
        writes = stats_value(m, "spool_writes") - before
        assert got == want and len(got) > 4_000_000
        # 16 KiB pieces would be ~256 writes; held: one per 512 KiB, plus
        # one per 50 ms the transfer lasted, plus the rest at the end
        assert writes <= len(got) // (512 << 10) + int(took / 0.05) + 2, (writes, took)
