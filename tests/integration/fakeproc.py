# fakeproc.py — the process side of the test fakes (fakeserver.py for the
# fake Metabase, fakemode.py for the fake Mode): start a fake server script
# on port 0 with keyword flags turned into options (row_cap=100 ->
# --row-cap 100, no_gzip=True -> --no-gzip), wait for its one
# "LISTENING <url>" line, and stop it by its PID (SIGTERM, then SIGKILL).
# Standard library only.

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.parse

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class FakeHTTPError(Exception):
    """An answer a helper did not expect: status, body, headers."""

    def __init__(self, status, body, headers=None):
        super().__init__("HTTP %s: %r" % (status, body[:300]))
        self.status = status
        self.body = body
        self.headers = headers or {}


class HTTPResult:
    """One answer: status, headers (lower-cased name -> value, the last one
    wins), body (decoded when the helper decodes), raw_body (as received),
    header_list ([(name, value)] as sent, when the helper keeps it)."""

    def __init__(self, status, headers, body, raw_body=None):
        self.status = status
        self.headers = headers
        self.header_list = []
        self.body = body
        self.raw_body = body if raw_body is None else raw_body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8")


def flag_args(flags):
    """Keyword flags as command-line options (False and None: left out)."""
    args = []
    for k, v in flags.items():
        opt = "--" + k.replace("_", "-")
        if v is True:
            args.append(opt)
        elif v is not False and v is not None:
            args += [opt, str(v)]
    return args


class FakeProcess:
    """A running fake server: .proc, .url, .host, .port; a context manager."""

    what = "fake server"

    def __init__(self, script, args, flags, start_timeout=30.0):
        cmd = [PYTHON, script, "--port", "0"] + list(args) + flag_args(flags)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.url = self._wait_listening(start_timeout)
        parts = urllib.parse.urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    line = buf.split(b"\n", 1)[0].decode()
                    if line.startswith("LISTENING "):
                        return line.split(" ", 1)[1].strip()
                    self.stop()
                    raise RuntimeError("unexpected first line from the %s: %r" % (self.what, line))
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the %s did not start (output so far: %r)" % (self.what, buf))

    def stop(self, timeout=10.0):
        """SIGTERM by PID, then wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
