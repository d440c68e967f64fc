#!/usr/bin/python3
# check_layout.py — the layering rules of docs/architecture.md, checked on
# the source tree (ctest: unit.layout). Each rule is a grep a reviewer
# would otherwise run by hand:
#   - only src/fuse/ includes libfuse headers;
#   - only src/backend/<name>/json*.c include json-c;
#   - only src/net/ includes curl;
#   - a backend's own headers (everything under src/backend/ but the
#     seam: mb_client.h, mb_types.h, objects.h) are included only in
#     src/backend/ and by the wiring (core/run.c; core/options.c for the
#     backends' option checks): the core never decodes a server's body,
#     logs in or reads a backend's internals;
#   - no .c file under src/ has more than 1,000 lines;
#   - every .c and .h file under src/ opens with a comment saying what it
#     owns (its first line is "/*", the next names the file).
# Prints every violation and exits 1 if there is one. Standard library only.

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")
MAX_LINES = 1000
SEAM = ("mb_client.h", "mb_types.h", "objects.h")
WIRING = (os.path.join("src", "core", "run.c"), os.path.join("src", "core", "options.c"))
_BACKEND_HEADERS = None


def backend_headers():
    global _BACKEND_HEADERS
    if _BACKEND_HEADERS is None:
        _BACKEND_HEADERS = set()
        for dp, _, files in os.walk(os.path.join(SRC, "backend")):
            _BACKEND_HEADERS.update(f for f in files if f.endswith(".h"))
    return _BACKEND_HEADERS

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def sources():
    for dp, _, files in os.walk(SRC):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                p = os.path.join(dp, f)
                yield os.path.relpath(p, ROOT), p


def allowed(rel, header):
    """Whether file rel (e.g. src/fuse/session.c) may include header."""
    parts = rel.split(os.sep)
    base = os.path.basename(rel)
    if header.startswith("fuse") and (header.startswith("fuse_") or
                                      header.startswith("fuse/") or
                                      header == "fuse.h"):
        # our own headers of src/fuse/ (fuse_ops.h, fuse_int.h) are
        # libfuse-free in name only: they include <fuse_lowlevel.h>
        return parts[1] == "fuse"
    if header.startswith("json-c/") or header == "json.h":
        return parts[1] == "backend" and base.startswith("json")
    if header.startswith("curl/"):
        return parts[1] == "net"
    if header in backend_headers() and header not in SEAM:
        return parts[1] == "backend" or rel in WIRING
    return True


def main():
    problems = []
    for rel, path in sources():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            h = m.group(1)
            if not allowed(rel, h):
                line = text.count("\n", 0, m.start()) + 1
                problems.append("%s:%d: includes <%s>, which only its layer may" % (rel, line, h))
        n = text.count("\n")
        if rel.endswith(".c") and n > MAX_LINES:
            problems.append("%s: %d lines (at most %d)" % (rel, n, MAX_LINES))
        lines = text.split("\n", 2)
        name = os.path.basename(rel)
        if len(lines) < 2 or lines[0].strip() != "/*" or name not in lines[1]:
            problems.append("%s:1: does not open with a comment naming the file and what it owns" % rel)
    for p in problems:
        print(p)
    print("%d files checked, %d problems" % (sum(1 for _ in sources()), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
