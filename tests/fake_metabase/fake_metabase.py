#!/usr/bin/python3
# fake_metabase.py — command line entry point of the fake Metabase server.
#
# Owns: argument parsing, wiring the parts together (data -> catalog ->
# auth/stats/faults -> exports/API -> HTTP server), the one
# "LISTENING http://127.0.0.1:<port>" line on stdout, and a clean exit
# (status 0, temporary SQLite files removed) on SIGTERM / SIGINT.
#
#   /usr/bin/python3 tests/fake_metabase/fake_metabase.py [--host 127.0.0.1] [--port 0]
#       [--behaviour new|old] [--session-max-age SECONDS] [--row-cap N] [--seed N]
#       [--no-throttle] [--no-restrictions] [--no-gzip] [--no-public-sharing] [--verbose]
#       [--bulk-collections N] [--bulk-cards N] [--bulk-dashboards N] [--big-export-mb MB]
#
# Standard library only (Python 3.11, Debian 12).

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# what the fakes share (tests/fakelib/)
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fakelib"))

import api  # noqa: E402
import auth  # noqa: E402
import behaviour as behaviour_mod  # noqa: E402
import bulk  # noqa: E402
import catalog  # noqa: E402
import dashboards  # noqa: E402
import data  # noqa: E402
import exports  # noqa: E402
import faults  # noqa: E402
import server  # noqa: E402
import sidechannel  # noqa: E402
import stats  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="A Metabase-compatible HTTP server for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    p.add_argument("--behaviour", "--behavior", choices=sorted(behaviour_mod.BY_NAME), default="new",
                   help="old ≈ v0.46.6, new ≈ v0.63.1")
    p.add_argument("--session-max-age", type=float, default=14 * 86400,
                   help="seconds a session stays valid after login (default 14 days)")
    p.add_argument("--row-cap", type=int, default=1048575, help="download row cap")
    p.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    p.add_argument("--no-throttle", action="store_true", help="disable login throttling")
    p.add_argument("--no-restrictions", action="store_true",
                   help="analyst@example.com sees everything an admin sees (except personal collections)")
    p.add_argument("--no-gzip", action="store_true", help="never gzip, even when the client accepts it")
    p.add_argument("--no-public-sharing", action="store_true",
                   help="start with the enable-public-sharing setting off (public links answer 400)")
    p.add_argument("--bulk-collections", type=int, default=0, metavar="N",
                   help="benchmarks: add N collections below a 'Bulk' collection (id 1000)")
    p.add_argument("--bulk-cards", type=int, default=0, metavar="N",
                   help="benchmarks: add N cheap cards (ids from 10001) to the bulk collections")
    p.add_argument("--bulk-dashboards", type=int, default=0, metavar="N",
                   help="benchmarks: add N dashboards (ids from 1001) to the bulk collections")
    p.add_argument("--big-export-mb", type=int, default=0, metavar="MB",
                   help="benchmarks: add card 1000 'Big export' whose csv/json download is about MB megabytes")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p.parse_args(argv)


def build(args, workdir):
    """Create the application object graph; returns the API App."""
    b = behaviour_mod.BY_NAME[args.behaviour]
    wh = data.Warehouse(workdir, seed=args.seed)
    users = auth.default_users()
    au = auth.Auth(users, args.session_max_age, b.api_keys, throttle_enabled=not args.no_throttle)
    cat = catalog.Catalog(wh, {u.id: u for u in users}, b, catalog.Permissions(not args.no_restrictions),
                          public_sharing=not args.no_public_sharing)
    dashboards.install(cat)
    bulk.install(cat, args.bulk_collections, args.bulk_cards, args.bulk_dashboards, args.big_export_mb)
    st = stats.Stats()
    fl = faults.Faults(st)
    ex = exports.Exports(b, wh, cat, st, fl, args.row_cap)
    side = sidechannel.SideChannel(b, au, cat, st, fl)
    return api.App(b, wh, cat, au, st, ex, side, fl)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = tempfile.mkdtemp(prefix="fake-metabase-")
    stop = threading.Event()
    try:
        app = build(args, workdir)
        httpd = server.Server((args.host, args.port), app, verbose=args.verbose, gzip_enabled=not args.no_gzip)

        def on_signal(signum, frame):
            stop.set()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        host, port = httpd.server_address[:2]
        sys.stdout.write("LISTENING http://%s:%d\n" % (host, port))
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        httpd.shutdown()
        httpd.server_close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
