# bigresult.py — the --big-result-mb body: megabytes of deterministic CSV/JSON
# served without ever holding them in memory.
#
# Owns: RepeatedBody (prefix + block * n + suffix, with its exact length and an
# iterator of large wire chunks), and its gzip form, built by compressing the
# block once as a raw-deflate segment ended by a full flush (which resets the
# compressor, so every repetition compresses to the same bytes) and framing
# the repetitions with a gzip header and trailer (CRC-32 computed while
# streaming).  http_io.py writes any object with `length` and `chunks()`.

import struct
import zlib

import sample

WIRE = 1024 * 1024          # bytes per write
BLOCK_ROWS = 64             # rows per repeated block (~3 KB, fine-grained size)


class RepeatedBody:
    """prefix + block * n + suffix (bytes)."""

    def __init__(self, prefix, block, n, suffix):
        self.prefix, self.block, self.n, self.suffix = prefix, block, n, suffix
        self.length = len(prefix) + len(block) * n + len(suffix)
        k = max(1, WIRE // len(block))
        self.group_reps = k
        self.group = block * k

    def chunks(self):
        yield self.prefix
        full, rest = divmod(self.n, self.group_reps)
        for _ in range(full):
            yield self.group
        if rest:
            yield self.block * rest
        yield self.suffix

    def materialize(self):
        return b"".join(self.chunks())


class GzipRepeatedBody:
    """The gzip encoding of a RepeatedBody, streamed from pre-compressed segments."""

    HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

    def __init__(self, plain):
        self.plain = plain
        co = zlib.compressobj(1, zlib.DEFLATED, -15)
        self.c_prefix = co.compress(plain.prefix) + co.flush(zlib.Z_FULL_FLUSH)
        self.c_group = co.compress(plain.group) + co.flush(zlib.Z_FULL_FLUSH)
        again = co.compress(plain.group) + co.flush(zlib.Z_FULL_FLUSH)
        if again != self.c_group:
            raise RuntimeError("deflate segments are not reproducible")
        self.c_block = co.compress(plain.block) + co.flush(zlib.Z_FULL_FLUSH)
        self.c_suffix = co.compress(plain.suffix) + co.flush(zlib.Z_FULL_FLUSH)
        self.c_end = co.flush(zlib.Z_FINISH)
        full, rest = divmod(plain.n, plain.group_reps)
        self.full, self.rest = full, rest
        self.length = (len(self.HEADER) + len(self.c_prefix) + full * len(self.c_group) + rest * len(self.c_block)
                       + len(self.c_suffix) + len(self.c_end) + 8)
        # the CRC of the whole plain body, computed once (cheap next to a single download)
        crc = zlib.crc32(plain.prefix)
        for _ in range(full):
            crc = zlib.crc32(plain.group, crc)
        for _ in range(rest):
            crc = zlib.crc32(plain.block, crc)
        crc = zlib.crc32(plain.suffix, crc)
        self.trailer = struct.pack("<II", crc & 0xffffffff, plain.length & 0xffffffff)

    def chunks(self):
        yield self.HEADER + self.c_prefix
        for _ in range(self.full):
            yield self.c_group
        if self.rest:
            yield self.c_block * self.rest
        yield self.c_suffix + self.c_end + self.trailer


def make(megabytes, columns, qtoken):
    """{"csv": RepeatedBody, "json": RepeatedBody} of about `megabytes` MiB each."""
    target = int(megabytes * 1024 * 1024)
    rows_ = []
    base = sample.rows(qtoken, (0, 0))
    for i in range(BLOCK_ROWS):
        r = list(base[i % len(base)])
        r[0] = "2026-03-%02d" % (1 + i % 28)
        rows_.append(r)
    csv_all = sample.render_csv(columns, rows_)
    header, _, csv_block = csv_all.partition(b"\n")
    header += b"\n"
    n = max(1, int(round((target - len(header)) / float(len(csv_block)))))
    bodies = {"csv": RepeatedBody(header, csv_block, n, b"")}
    js = sample.render_json(columns, rows_)           # [{...},{...}]
    json_block = js[1:-1] + b",\n"
    last = sample.render_json(columns, rows_[:1])[1:-1]
    n = max(1, int(round((target - 2 - len(last)) / float(len(json_block)))))
    bodies["json"] = RepeatedBody(b"[", json_block, n, last + b"]")
    return bodies
