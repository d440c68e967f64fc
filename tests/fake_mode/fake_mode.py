#!/usr/bin/python3
# fake_mode.py — command line entry point of the fake Mode (mode.com) API server.
#
# Owns: argument parsing, wiring the parts together (state -> stats/faults
# -> side channel -> API -> HTTP server), the one
# "LISTENING http://127.0.0.1:<port>" line on stdout, and exit status 0 on
# SIGTERM / SIGINT.  README.md beside this file documents the server.
#
#   /usr/bin/python3 tests/fake_mode/fake_mode.py [--host 127.0.0.1] [--port 0]
#       [--workspace acme] [--per-page N] [--run-polls N] [--no-gzip]
#       [--redirect-content] [--big-result-mb MB] [--verbose]
#
# Standard library only (Python 3.11, Debian 12).

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# what the fakes share (tests/fakelib/)
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fakelib"))

import api  # noqa: E402
import faults  # noqa: E402
import http_io  # noqa: E402
import sidechannel  # noqa: E402
import state  # noqa: E402
import stats  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="A fake Mode (mode.com) API server for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    p.add_argument("--workspace", default="acme", help="the workspace name in /api/{workspace}/…")
    p.add_argument("--per-page", type=int, default=2,
                   help="default page size of the spaces, reports and runs lists (default 2)")
    p.add_argument("--run-polls", type=int, default=2,
                   help="GETs a new run answers with a non-terminal state before it succeeds (default 2)")
    p.add_argument("--no-gzip", action="store_true", help="never gzip, even when the client accepts it")
    p.add_argument("--redirect-content", action="store_true",
                   help="content downloads answer 302 to an unauthenticated /__content/… URL")
    p.add_argument("--big-result-mb", type=float, default=0, metavar="MB",
                   help="add space Bench, report Big, query Rows whose result is about MB MiB")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    a = p.parse_args(argv)
    if a.per_page < 1 or a.run_polls < 0 or a.big_result_mb < 0:
        p.error("--per-page must be >= 1, --run-polls and --big-result-mb >= 0")
    return a


def build(args):
    model = state.Model(args.workspace, args.run_polls, args.big_result_mb)
    st = stats.Stats()
    fl = faults.Faults(st)
    side = sidechannel.SideChannel(model, st, fl)
    app = api.App(model, st, fl, side, per_page=args.per_page, gzip_enabled=not args.no_gzip,
                  redirect_content=args.redirect_content)
    side.app = app
    return app


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = build(args)
    httpd = http_io.Server((args.host, args.port), app, verbose=args.verbose, gzip_enabled=not args.no_gzip)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    host, port = httpd.server_address[:2]
    app.base_url = "http://%s:%d" % (host, port)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    sys.stdout.write("LISTENING %s\n" % app.base_url)
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    httpd.shutdown()
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
