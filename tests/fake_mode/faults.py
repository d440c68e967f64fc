# faults.py — fault injection registry of the fake Mode.
#
# Owns: adding, listing, clearing and matching faults.  A fault is a JSON
# object (every field optional except that it needs one effect):
#   match       substring of the request target (path + query string), or,
#               when it is not a substring, a regular expression searched in
#               it; omitted = every request outside /__fake/
#   method      "GET", "POST", …; omitted = any method
#   status      answer this status instead of the endpoint (the body is
#               `body` if given, else the Mode error object for that status;
#               429 gets Retry-After: `retry_after`, default 1)
#   body        the body of a status fault (a string, sent as is)
#   delay       seconds to sleep before the response
#   stall       seconds to sleep after the first half of the body
#   cut         true: send the headers and the first half of the body, then
#               close the connection
#   times       fire this many times, then disappear (default: until cleared;
#               1 for a fault whose only effect is run_outcome)
#   run_outcome "failed" | "cancelled": the next run created by a POST whose
#               target matches ends in that state (no HTTP effect)
#   id          optional name (default "f1", "f2", …)
# HTTP faults are consulted once per request, before auth and routing; the
# first matching one fires.  run_outcome faults only at run creation.

import itertools
import re
import threading

HTTP_EFFECTS = ("status", "delay", "stall", "cut")
FIELDS = set(HTTP_EFFECTS) | {"match", "method", "body", "times", "run_outcome", "id", "retry_after"}


class Faults:
    def __init__(self, stats):
        self.stats = stats
        self.lock = threading.Lock()
        self.items = []
        self.ids = itertools.count(1)

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(spec) - FIELDS
        if unknown:
            raise ValueError("unknown fault fields: %s" % ", ".join(sorted(unknown)))
        if not any(k in spec for k in HTTP_EFFECTS) and "run_outcome" not in spec:
            raise ValueError("a fault needs an effect: status, delay, stall, cut or run_outcome")
        if spec.get("run_outcome") not in (None, "failed", "cancelled"):
            raise ValueError('run_outcome must be "failed" or "cancelled"')
        if "run_outcome" in spec and any(k in spec for k in HTTP_EFFECTS):
            raise ValueError("run_outcome cannot be combined with HTTP effects (add two faults)")
        if "status" in spec and not (isinstance(spec["status"], int) and 100 <= spec["status"] <= 599):
            raise ValueError("status must be an HTTP status code")
        for k in ("delay", "stall"):
            if k in spec and not isinstance(spec[k], (int, float)):
                raise ValueError("%s must be a number of seconds" % k)
        f = dict(spec)
        if "match" in f and not isinstance(f["match"], str):
            raise ValueError("match must be a string")
        if "method" in f:
            f["method"] = str(f["method"]).upper()
        if "run_outcome" in f and "times" not in f:
            f["times"] = 1
        with self.lock:
            f["id"] = str(spec.get("id") or "f%d" % next(self.ids))
            f["fired"] = 0
            self.items.append(f)
            return dict(f)

    def clear(self):
        with self.lock:
            n = len(self.items)
            self.items = []
            return n

    def list(self):
        with self.lock:
            return [dict(f) for f in self.items]

    @staticmethod
    def _matches(f, method, target):
        if "method" in f and f["method"] != method:
            return False
        m = f.get("match")
        if m is None or m in target:
            return True
        try:
            return re.search(m, target) is not None
        except re.error:
            return False

    def _take(self, pred):
        with self.lock:
            for f in self.items:
                if pred(f):
                    f["fired"] += 1
                    if f.get("times") is not None:
                        f["times"] -= 1
                        if f["times"] <= 0:
                            self.items.remove(f)
                    self.stats.fault(f["id"])
                    return dict(f)
        return None

    def http_fault(self, method, target):
        """The HTTP fault that fires for this request, or None."""
        return self._take(lambda f: "run_outcome" not in f and self._matches(f, method, target))

    def run_outcome(self, method, target):
        """"failed"/"cancelled" when a run_outcome fault matches this run creation, else None."""
        f = self._take(lambda f: "run_outcome" in f and self._matches(f, method, target))
        return f["run_outcome"] if f else None
