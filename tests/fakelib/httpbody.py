# httpbody.py — what the fake servers (tests/fake_metabase, tests/fake_mode)
# share of HTTP: reading a request body, chunked or by Content-Length,
# under a cap. Standard library only.


def read_body(rfile, headers, max_body):
    """The request body; ValueError when it is larger than max_body or its
    framing is malformed."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts, total = [], 0
        while True:
            size = int(rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > max_body:
                raise ValueError("body too large")
            parts.append(rfile.read(size))
            rfile.readline(65537)
    n = int(headers.get("Content-Length") or 0)
    if n > max_body:
        raise ValueError("body too large")
    return rfile.read(n) if n > 0 else b""
