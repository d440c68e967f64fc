#!/usr/bin/python3
# make_corpus.py — (re)build the seed corpora of the fuzz targets,
# tests/fuzz/corpus/<target>/, from the project's JSON fixtures
# (tests/data/json), the recorded Metabase responses
# ($MBFS_SAMPLES, default tests/data/metabase-samples, vendored),
# a few exports of the fake Metabase (tests/fake_metabase) and hand-written
# failure forms. The seeds are committed: a clean clone fuzzes without
# running this. Standard library only. Keeps the whole corpus under 2 MB.
#
#   /usr/bin/python3 tests/fuzz/make_corpus.py

import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data", "json")
SAMPLES = os.environ.get("MBFS_SAMPLES") or os.path.join(ROOT, "tests", "data", "metabase-samples")
OUT = os.path.join(HERE, "corpus")
MAX_SEED = 64 * 1024

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_SEED:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def json_files():
    out = []
    for d in (DATA, SAMPLES):
        if not os.path.isdir(d):
            print("note: %s missing, skipped" % d)
            continue
        for n in sorted(os.listdir(d)):
            if n.endswith(".json"):
                with open(os.path.join(d, n), "rb") as f:
                    out.append((n, f.read()))
    return out


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    files = json_files()

    # -- every decoder sees every fixture; lists also go to the stream decoder
    for n, b in files:
        put("mb_json", b, n)
        if b.lstrip()[:1] == b"[" or b'"data"' in b:
            put("mb_json_stream", b, n)
    for n, b in files:
        if n.startswith("e2e-cypress"):
            doc = json.loads(b)
            for key in ("questions", "dashboards", "users", "databases", "collections"):
                arr = doc.get(key)
                if isinstance(arr, list):
                    small = json.dumps(arr[:3], indent=1).encode()
                    put("mb_json_stream", small, "e2e-%s.json" % key)
                    put("mb_json_stream", json.dumps({"data": arr[:2], "total": len(arr)}).encode(),
                        "e2e-%s-envelope.json" % key)
                    put("mb_json", small, "e2e-%s.json" % key)
    put("mb_json_stream", ' [ {"id": 1, "name": "a [b], {c}"}, {"name": "no id"}, 3 ]\n', "cuts.json")
    put("mb_json", '"v0.50.26"', "version.json")
    # regressions: inputs that once broke an invariant
    put("mb_json", '["", "PUBLIC", ]\n', "regress-trailing-comma.json")

    # -- export bodies: the fake server's exports and every failure form
    try:
        from fakeserver import FakeServer
        with FakeServer(behaviour="new") as fs:
            tok = fs.login()
            for cid in (2, 3, 5):
                for fmt in ("csv", "json", "xlsx"):
                    put("verify", fs.export("card", cid, fmt, tok), "card%d.%s" % (cid, fmt))
    except Exception as e:  # noqa: BLE001 - a seed source, not a test
        print("note: fake server exports skipped: %s" % e)
    err = b'{"status":"failed","error":"Column \\"X\\" not found","class":"class org.h2.jdbc.JdbcSQLException"}'
    forms = {
        "csv-quoted.csv": b'A,B\n1,"x\ny"\n2,"say ""hi"""\n',
        "csv-cut-quote.csv": b'A,B\n1,"unterminated\n',
        "csv-no-eol.csv": b"A,B\n1,2",
        "csv-tail-error.csv": b"A,B\n1,2\n" + err + b"\n\n",
        "csv-bom.csv": b"\xef\xbb\xbfA,B\r\n1,2\r\n",
        "json-error.json": err,
        "json-rows-then-error.json": b'[\n{"A":1},\n{"A":2}' + err,
        "json-trailing.json": b'[{"A":1}]  x',
        "json-unclosed.json": b'[{"A":"]"},{"B":[1,{"c":"\\"}"}]',
        "html.html": b"<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n",
        "xlsx-empty-zip.xlsx": b"PK\x05\x06" + b"\0" * 18,
        "xlsx-head-only.xlsx": b"PK\x03\x04" + b"\0" * 26,
        "xlsx-comment.xlsx": b"PK\x03\x04" + b"\0" * 26 + b"PK\x05\x06" + b"\0" * 16 + b"\x03\x00abc",
    }
    for n, b in forms.items():
        put("verify", b, n)

    # -- names: records "<flags><id><name>" separated by NUL (see fuzz_name.c)
    def rec(flags, ident, name):
        return bytes([flags, ident & 0xFF]) + name.encode("utf-8")
    names = {
        "plain": [rec(0x10, 1, "Orders"), rec(0x10, 2, "Orders"), rec(0x00, 3, "Orders")],
        "slash-controls": [rec(0x08, 4, "a/b"), rec(0x08, 5, "a\x01b\x7f"), rec(0x08, 6, "a\uff0fb")],
        "dots": [rec(0x00, 7, "."), rec(0x00, 8, ".."), rec(0x40, 9, "")],
        "literal-suffix": [rec(0x11, 7, "x [8]"), rec(0x10, 8, "x"), rec(0x10, 9, "x"), rec(0x12, 8, "x")],
        "long-utf8": [rec(0x18, 10, "é" * 200), rec(0x18, 11, "é" * 200), rec(0x28, 12, "\U0001f600" * 70)],
        "sticky": [rec(0x01, 20, "Sales"), rec(0x00, 3, "Sales"), rec(0x2a, 1, "Sales.csv")],
        "invalid-utf8": [bytes([0x10, 30]) + b"\xc3\x28\xe2\x82", bytes([0x10, 31]) + b"\xed\xa0\x80" * 90],
    }
    for n, recs in names.items():
        put("name", b"\0".join(recs), n)

    # -- options: "<mode byte><config text>\0<arg>\0<arg>..." (see fuzz_options.c)
    def opt(mode, cfg, *args):
        return bytes([mode]) + cfg.encode() + b"\0" + b"\0".join(a.encode() for a in args)
    cfg = ("# mbfs config\nurl = https://metabase.example.com/\nusername = a@example.com\n"
           "password = 'secret'\nformats = csv:json:xlsx\nmeta_ttl = 30\ncache_max = 2G\ninsecure = yes\n")
    options = {
        "minimal": opt(0, "", "http://127.0.0.1:3000", "/mnt"),
        "all-o": opt(0, "", "https://mb.example.com:8443/base/", "/mnt", "-o",
                     "formats=csv:xlsx,format_rows,meta_ttl=1.5,result_ttl=0,error_ttl=10,stat=cached,"
                     "cache_dir=/tmp/c,cache_max=500MiB,max_exports=8,retries=0,connect_timeout=2.5,"
                     "uid=1000,gid=1000,umask=027,log_level=debug,stream,row_cap=1000,insecure"),
        "fuse": opt(0, "", "http://h", "/mnt", "-o", "allow_other,default_permissions,fsname=x,_netdev,x-systemd.a,comment=z",
                    "-f", "-s", "-d"),
        "config": opt(1, cfg, "/mnt"),
        "config-readable": opt(3, cfg, "/mnt", "-o", "api_key_file=/k,password_file=/p,session_file=/s"),
        "secret-argv": opt(0, "", "http://h", "/mnt", "-o", "password=x"),
        "help": opt(0, "", "--help"),
        "version": opt(0, "", "-V"),
        # regression: an -o without its argument leaked the pass-through strings
        "regress-o-missing-arg": opt(0, "", "http://h", "/mnt", "-o", "allow_other", "-o"),
        "bad": opt(2, "cache_max = 1e400\nuid=-1\n= \n'\n", "http://h", "/mnt", "-o", "umask=999,max_exports=0x10"),
    }
    for n, b in options.items():
        put("options", b, n)

    # -- URLs
    urls = ["http://localhost:3000", "https://metabase.example.com/", "https://[::1]:8443/mb/",
            "http://user:pw@host/", "http://h:0", "http://h:65536", "https://h/a b", "http://h,allow_other",
            "https://h?x#y", "ftp://h", "http://" + "a" * 300 + "/" + "b" * 1800, "http://[zz]/"]
    for u in urls:
        put("url", u)

    # -- the spool index (one record per line; spool.c format 2)
    put("spool_index", "mbfs-spool 2 7\n3 12 2 1700000000.250 0.500 0 1700000001.000 u1|fr0|card:1:csv\n"
        "4 25 3 1700000000.250 0.500 1 1700000001.000 u1|fr0|dashcard:1:12:3:csv|p=%5B%5D\n",
        "index-two-records")
    put("spool_index", "6 5 -1 1700000000.000 0.100 0 1700000000.000 with%20space%0Anewline\n", "escaped-key")

    # -- response header lines as curl hands them over
    put("http_header", "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", "chunked-csv")
    put("http_header", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\n"
        "Retry-After: 7\r\nContent-Length: 17\r\n\r\n", "continue-then-429")
    put("http_header", "HTTP/2 200\r\ncontent-type: application/json\r\n\r\n", "http2")

    # -- session cache files (mb_auth.c): token, time, server, user
    put("session_cache", "f3c1a8e0-2f5e-4b4a-9d1e-0c8b7a6d5e4f\n1796600000\nhttps://mb.example.com\n"
        "ada@example.com\n", "match")
    put("session_cache", "f3c1a8e0\n1796600000\nhttps://other.example.com\nada@example.com\n", "other-server")

    total = 0
    for dp, _, fs_ in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs_)
    print("corpus: %d bytes" % total)
    if total > 2 * 1024 * 1024:
        sys.exit("corpus over 2 MB")


if __name__ == "__main__":
    main()
