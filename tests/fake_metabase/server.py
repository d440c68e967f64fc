# server.py — HTTP plumbing of the fake Metabase.
#
# Owns: parsing requests (query string, body, cookies), the Response and
# StreamResponse types the API returns, and writing them on the wire:
# Content-Length + keep-alive for ordinary responses; chunked transfer
# encoding (optionally "Connection: close") for streaming query results.
# Byte-level fault injection happens here too (latency before the first
# byte, slow byte rate, connection reset after N bytes, a chunked body cut
# without its terminating chunk), driven by a StreamPlan.  Knows nothing
# about Metabase objects; api.py decides what to answer.

import gzip
import http.cookies
import http.server
import json
import select
import socket
import struct
import sys
import time
import urllib.parse

from httpbody import read_body
import zlib

MAX_BODY = 64 * 1024 * 1024
WIRE_CHUNK = 64 * 1024


class BadJSON(Exception):
    pass


class Request:
    def __init__(self, method, raw_path, headers, body, client_ip):
        # The request target as sent: urlsplit would read "//api/card" as a host named "api".
        target = raw_path.split("#", 1)[0]
        path, _, query = target.partition("?")
        self.method = method
        self.raw_path = raw_path
        self.path = path                  # still percent-encoded; route params are decoded
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.client_ip = client_ip
        self._form = None
        self._json = None
        self._json_parsed = False

    # -- query string -------------------------------------------------------
    def arg(self, *names):
        """First value of the first of `names` present in the query string, else None."""
        for n in names:
            if n in self.query:
                return self.query[n][0]
        return None

    def args(self, name):
        return list(self.query.get(name, []))

    def has_arg(self, *names):
        return any(n in self.query for n in names)

    # -- headers / cookies ----------------------------------------------------
    def header(self, name):
        return self.headers.get(name)

    def cookie(self, name):
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        c = http.cookies.SimpleCookie()
        try:
            c.load(raw)
        except http.cookies.CookieError:
            return None
        m = c.get(name)
        return m.value if m else None

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def is_json(self):
        ct = self.content_type
        return ct == "application/json" or (ct.startswith("application/") and ct.endswith("+json"))

    # -- body --------------------------------------------------------------------
    def form(self):
        """Fields of an application/x-www-form-urlencoded body (name -> [values])."""
        if self._form is None:
            self._form = {}
            if self.content_type == "application/x-www-form-urlencoded" and self.body:
                self._form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return self._form

    def json(self):
        """The parsed JSON body (None when empty or not JSON); raises BadJSON when malformed."""
        if not self._json_parsed:
            self._json_parsed = True
            if self.is_json() and self.body and self.body.strip():
                try:
                    self._json = json.loads(self.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    raise BadJSON()
        return self._json


class StreamPlan:
    """Byte-level misbehaviour of one response (every field optional).

    latency_ms  sleep before the status line
    rate_bps    pace the body at this many bytes per second
    limit       after this many body bytes, do `action` (if the body is shorter,
                the action happens at its end)
    action      "reset": RST the connection; "cut": close without the final
                0-length chunk; "stall": send nothing more for `stall_ms` (or
                until the client hangs up), then close like "cut";
                "tail": write `tail`, then end the body normally
    tail        bytes appended after the body (an in-band error object)
    truncate    send the whole body but never the terminating chunk
    """

    def __init__(self, latency_ms=0, rate_bps=None, limit=None, action=None, tail=None, truncate=False,
                 stall_ms=600000):
        self.latency_ms = latency_ms
        self.stall_ms = stall_ms
        self.rate_bps = rate_bps
        self.limit = limit
        self.action = action
        self.tail = tail
        self.truncate = truncate


class Response:
    def __init__(self, status, body=b"", content_type=None, headers=None, plan=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.content_type = content_type
        self.headers = list(headers or [])
        self.plan = plan


class StreamResponse:
    def __init__(self, status, content_type, chunks, headers=None, close=False, plan=None, wire_chunk=None):
        self.wire_chunk = wire_chunk or WIRE_CHUNK   # largest HTTP chunk written
        self.status = status
        self.content_type = content_type
        self.chunks = chunks
        self.headers = list(headers or [])
        self.close = close
        self.plan = plan or StreamPlan()


class _Abort(Exception):
    """The connection was deliberately broken (or the peer went away): stop writing."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY a
    # reused keep-alive connection stalls 40 ms per answer on Nagle vs the
    # client's delayed ACK (Jetty, in front of a real Metabase, does not).
    disable_nagle_algorithm = True

    # the API object is attached to the server instance: self.server.app

    def send_response(self, code, message=None):
        # like BaseHTTPRequestHandler.send_response, without a Server header (Metabase sends none)
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, fmt, *args):
        if getattr(self.server, "verbose", False):
            sys.stderr.write("fake_metabase: %s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def _read_body(self):
        return read_body(self.rfile, self.headers, MAX_BODY)

    def _dispatch(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(Response(400, "Invalid request body.", "text/plain"))
            return
        # http.server collapses a leading "//" in self.path; Metabase's Jetty sees the target as sent.
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path
        req = Request(self.command, target, self.headers, body, self.client_address[0])
        try:
            resp = self.server.app.handle(req)
        except Exception as e:  # a bug in the fake: answer like Metabase's 500 dump
            import traceback
            traceback.print_exc(file=sys.stderr)
            resp = Response(500, json.dumps({"message": str(e), "via": [{"type": type(e).__name__}],
                                             "trace": [], "cause": str(e)}),
                            "application/json; charset=utf-8")
        try:
            self._write(resp, head=self.command == "HEAD")
        except _Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- writing ----------------------------------------------------------------------
    def _gzip_ok(self):
        if not getattr(self.server, "gzip", True):
            return False
        ae = (self.headers.get("Accept-Encoding") or "").lower()
        return "gzip" in ae or "*" in ae

    def _write(self, resp, head=False):
        if isinstance(resp, StreamResponse):
            self._write_stream(resp)
            return
        plan = resp.plan
        if plan is not None and plan.latency_ms:
            time.sleep(plan.latency_ms / 1000.0)
        body = resp.body
        headers = list(resp.headers)
        if body and len(body) > 859 and self._gzip_ok():
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
        self.send_response(resp.status)
        if resp.content_type and resp.status != 204:
            self.send_header("Content-Type", resp.content_type)
        for k, v in headers:
            self.send_header(k, v)
        if resp.status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not body or head or resp.status == 204:
            return
        if plan is None:
            self._raw(body)
            return
        limit = plan.limit if plan.limit is not None else len(body)
        self._paced(body[:limit], plan.rate_bps, chunked=False)
        if plan.action == "stall":
            self._stall(plan.stall_ms)
        if plan.action in ("reset", "cut", "stall") or plan.limit is not None:
            self._break(reset=plan.action == "reset")
        self._paced(body[limit:], plan.rate_bps, chunked=False)

    def _raw(self, data):
        try:
            self.wfile.write(data)
        except OSError:
            raise _Abort()

    def _paced(self, data, rate_bps, chunked=True, gz=None):
        """Write payload bytes, as HTTP chunks when `chunked`, at most `rate_bps` bytes/s."""
        step = max(1, int(rate_bps) // 20) if rate_bps else max(1, len(data))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            wire = piece
            if gz is not None:
                wire = gz.compress(piece) + gz.flush(zlib.Z_SYNC_FLUSH)
            if wire:
                self._raw((b"%x\r\n" % len(wire) + wire + b"\r\n") if chunked else wire)
            if rate_bps:
                time.sleep(len(piece) / float(rate_bps))

    def _stall(self, ms):
        """Send nothing for ms milliseconds; return early once the client hung up."""
        try:
            self.wfile.flush()
        except OSError:
            raise _Abort()
        sock = self.connection
        deadline = time.monotonic() + ms / 1000.0
        while time.monotonic() < deadline:
            r, _, _ = select.select([sock], [], [], min(0.1, max(0.0, deadline - time.monotonic())))
            if r:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        raise _Abort()        # the client closed: stop at once
                except OSError:
                    raise _Abort()
                time.sleep(0.05)              # readable but open (a pipelined request): keep stalling

    def _break(self, reset):
        try:
            self.wfile.flush()
        except OSError:
            pass
        sock = self.connection
        try:
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
        raise _Abort()

    def _write_stream(self, resp):
        plan = resp.plan
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000.0)
        gz = zlib.compressobj(6, zlib.DEFLATED, 31) if self._gzip_ok() else None
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers:
            self.send_header(k, v)
        if gz is not None:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Transfer-Encoding", "chunked")
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        limit_hit = False
        for piece in resp.chunks:
            if plan.limit is not None and sent + len(piece) >= plan.limit:
                piece = piece[:plan.limit - sent]
                limit_hit = True
            step = resp.wire_chunk
            for i in range(0, len(piece), step):
                self._paced(piece[i:i + step] if len(piece) > step else piece, plan.rate_bps, gz=gz)
            sent += len(piece)
            if limit_hit:
                break
        if plan.action == "stall":
            self._stall(plan.stall_ms)
        if plan.action in ("reset", "cut", "stall"):
            self._break(reset=plan.action == "reset")
        if plan.tail:
            self._paced(plan.tail, plan.rate_bps, gz=gz)
        if gz is not None:
            rest = gz.flush(zlib.Z_FINISH)
            if rest:
                self._raw(b"%x\r\n" % len(rest) + rest + b"\r\n")
        if plan.truncate:
            self._break(reset=False)
        self._raw(b"0\r\n\r\n")
        try:
            self.wfile.flush()
        except OSError:
            raise _Abort()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app, verbose=False, gzip_enabled=True):
        self.app = app
        self.verbose = verbose
        self.gzip = gzip_enabled
        super().__init__(address, Handler)
