# http_io.py — HTTP plumbing of the fake Mode server.
#
# Owns: the threaded HTTP/1.1 server (keep-alive, Content-Length on every
# answer), parsing a request into a Request, the Response type, gzip
# encoding (when the client accepts it and the response allows it), and the
# byte-level fault effects on the wire: `delay` before the status line,
# `stall` after the first half of the body, `cut` (close after the first
# half).  Knows nothing about Mode; api.py decides what to answer.

import gzip
import http.server
import socket
import sys
import time
import urllib.parse

from httpbody import read_body

MAX_BODY = 16 * 1024 * 1024


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        path, _, query = target.partition("?")
        self.path = path
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def arg(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def header(self, name):
        return self.headers.get(name)


class Response:
    """status + body; body is bytes or an object with `length` and `chunks()`.

    compressible: gzip the body when the client accepts gzip (bytes bodies only);
    encoded:      the body is already gzip (Content-Encoding: gzip is sent);
    fault:        a fault dict whose delay/stall/cut apply to this answer.
    """

    def __init__(self, status, body=b"", content_type=None, headers=None, compressible=True):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers or [])
        self.compressible = compressible
        self.encoded = False
        self.fault = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def version_string(self):
        return "fake-mode"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_mode: %s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_body(self):
        return read_body(self.rfile, self.headers, MAX_BODY)

    def _dispatch(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(Response(400, b'{"id":"bad_request","message":"Invalid request body"}',
                                 "application/json; charset=utf-8"))
            return
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path
        req = Request(self.command, target, self.headers, body)
        try:
            resp = self.server.app.handle(req)
        except Exception as e:  # a bug in the fake: say so, like a 500 from Mode
            import traceback
            traceback.print_exc(file=sys.stderr)
            resp = Response(500, ('{"id":"internal_server_error","message":"fake_mode bug: %s"}'
                                  % type(e).__name__), "application/json; charset=utf-8")
        try:
            self._write(resp)
        except (BrokenPipeError, ConnectionResetError, _Cut):
            self.close_connection = True

    def _gzip_accepted(self):
        if not self.server.gzip:
            return False
        ae = (self.headers.get("Accept-Encoding") or "").lower()
        return "gzip" in ae

    def _write(self, resp):
        fault = resp.fault or {}
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        body = resp.body
        headers = list(resp.headers)
        if resp.encoded:
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        elif (resp.compressible and isinstance(body, bytes) and body and resp.status not in (204, 304)
              and self._gzip_accepted()):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        length = len(body) if isinstance(body, bytes) else body.length
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        if fault.get("cut"):
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            if fault.get("cut"):
                self._cut()
            return
        chunks = [body] if isinstance(body, bytes) else body.chunks()
        half = length // 2 if (fault.get("stall") or fault.get("cut")) else None
        sent = 0
        for piece in chunks:
            if half is not None and sent <= half < sent + len(piece):
                k = half - sent
                self._send(piece[:k])
                self.wfile.flush()
                if fault.get("cut"):
                    self._cut()
                time.sleep(float(fault["stall"]))
                self._send(piece[k:])
                half = None
            else:
                self._send(piece)
            sent += len(piece)
        self.wfile.flush()

    def _send(self, data):
        if data:
            self.wfile.write(data)

    def _cut(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True
        raise _Cut()


class _Cut(Exception):
    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app, verbose=False, gzip_enabled=True):
        self.app = app
        self.verbose = verbose
        self.gzip = gzip_enabled
        super().__init__(address, Handler)
