# stats.py — request, login and export counters exposed at GET /__fake/stats.
#
# Owns: thread-safe counting.  Keys:
#   requests  "<METHOD> <route pattern>", e.g. "GET /api/card/:id"; requests
#             under /api that match no route count as "<METHOD> (unmatched)".
#             /__fake/* requests are never counted.
#   logins / failed_logins / throttled_logins   POST /api/session outcomes
#             (failed_logins counts every 401, throttled ones included).
#   exports   "card:<id>:<fmt>", "dataset:table:<table_id>:<fmt>",
#             "dataset:native:<fmt>", "dataset:card:<id>:<fmt>",
#             "dashcard:<dashboard>:<dashcard>:<card>:<fmt>"  (fmt includes "api"
#             for the 202 JSON query endpoints).
#             "public:card:<card id>:<fmt>", "public:dashcard:<dashboard>:<dashcard>:<card>:<fmt>"
#             for the public routes.
#   faults    "<fault id>": times fired.
#   public_requests      requests under /api/public/ (matched or not)
#   public_credentials   how many of those carried a credential header (X-Metabase-Session,
#                        X-Api-Key, Cookie or Authorization); public_credential_headers
#                        counts each header name.

import collections
import threading


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.requests = collections.Counter()
            self.exports = collections.Counter()
            self.faults = collections.Counter()
            self.logins = 0
            self.failed_logins = 0
            self.throttled_logins = 0
            self.public_requests = 0
            self.public_credentials = 0
            self.public_credential_headers = collections.Counter()

    def request(self, key):
        with self.lock:
            self.requests[key] += 1

    def public_request(self, credential_headers):
        """One request under /api/public/; `credential_headers`: the credential header names it carried."""
        with self.lock:
            self.public_requests += 1
            if credential_headers:
                self.public_credentials += 1
                for h in credential_headers:
                    self.public_credential_headers[h] += 1

    def export(self, key):
        with self.lock:
            self.exports[key] += 1

    def fault(self, key):
        with self.lock:
            self.faults[key] += 1

    def login(self, outcome):
        with self.lock:
            if outcome == "ok":
                self.logins += 1
            elif outcome in ("failed", "throttled"):
                self.failed_logins += 1
                if outcome == "throttled":
                    self.throttled_logins += 1

    def snapshot(self, sessions_active):
        with self.lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "logins": self.logins,
                "failed_logins": self.failed_logins,
                "throttled_logins": self.throttled_logins,
                "exports": dict(sorted(self.exports.items())),
                "faults": dict(sorted(self.faults.items())),
                "sessions_active": sessions_active,
                "public_requests": self.public_requests,
                "public_credentials": self.public_credentials,
                "public_credential_headers": dict(sorted(self.public_credential_headers.items())),
            }
