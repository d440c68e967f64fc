# stats.py — the counters the fake Mode exposes at GET /__fake/stats.
#
# Owns: thread-safe counting and the snapshot's shape:
#   requests        every request outside /__fake/ (API, /__content/, unmatched)
#   routes          route kind -> requests (see api.ROUTES for the kinds;
#                   "redirected_content" for /__content/…, "unmatched" for the rest)
#   downloads       "content:<report token>:<query token>:<fmt>" -> requests of a
#                   query run's content.csv / content.json (counted when the path
#                   names a known query run, before auth, faults and permissions)
#   runs_created    report token -> runs created by POST …/runs (not /__fake/edit)
#   unauthorized    401 answers;  forbidden  403 answers
#   redirect_auth   /__content/ requests that carried an Authorization header
#   faults          fault id -> times it fired
# POST /__fake/reset zeroes all of them.

import collections
import threading


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.routes = collections.Counter()
            self.downloads = collections.Counter()
            self.runs_created = collections.Counter()
            self.unauthorized = 0
            self.forbidden = 0
            self.redirect_auth = 0
            self.faults = collections.Counter()

    def request(self, kind):
        with self.lock:
            self.requests += 1
            self.routes[kind] += 1

    def download(self, key):
        with self.lock:
            self.downloads[key] += 1

    def run_created(self, report_token):
        with self.lock:
            self.runs_created[report_token] += 1

    def status(self, code):
        with self.lock:
            if code == 401:
                self.unauthorized += 1
            elif code == 403:
                self.forbidden += 1

    def redirect_with_auth(self):
        with self.lock:
            self.redirect_auth += 1

    def fault(self, fid):
        with self.lock:
            self.faults[fid] += 1

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "routes": dict(sorted(self.routes.items())),
                "downloads": dict(sorted(self.downloads.items())),
                "runs_created": dict(sorted(self.runs_created.items())),
                "unauthorized": self.unauthorized,
                "forbidden": self.forbidden,
                "redirect_auth": self.redirect_auth,
                "faults": dict(sorted(self.faults.items())),
            }
