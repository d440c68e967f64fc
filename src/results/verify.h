/*
 * verify.h — is an export body complete, and of the format that was asked
 * for? (DESIGN.md §2 rule 4 and "The cache directory": a body whose end the
 * transport cannot prove is complete only if its format proves its end.)
 *
 * Pure functions of the bytes: a streaming scanner fed every byte as it
 * arrives (it keeps a few counters, never the body), and a final verdict
 * that may read back ranges of the body (the tail, to find an in-band
 * error appended after the rows; the zip end record of an XLSX) through a
 * caller-supplied read function. Nothing here touches the network or a
 * global; every call is thread-safe on distinct scanners.
 *
 * The failure forms recognised are those of metabase-api.md §6.3 (all
 * eras): an HTML page, a JSON error object instead of rows, a JSON error
 * appended after the rows (followed by any whitespace) — what an error
 * object looks like is the backend's (mbfs_verify_inband_fn) —, a CSV cut inside a
 * quoted field, a JSON array that never closes or has trailing garbage, a
 * zip without its end record; and, when end_proven is false, a CSV whose
 * last record has no terminator.
 */
#ifndef MBFS_VERIFY_H
#define MBFS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inode.h"
#include "status.h"
#include "util.h"

/* A backend's in-band failure form: is buf[0,len) an error object its
 * server sent instead of rows, or after them? When true, the server's
 * message in msg (NUL-terminated, truncated to msgsz) and *denied when it
 * says the user may not run the query. Pure and thread-safe. */
typedef bool (*mbfs_verify_inband_fn)(const char *buf, size_t len,
				      char *msg, size_t msgsz, bool *denied);

struct mbfs_verify {
	enum mbfs_fmt fmt;
	mbfs_verify_inband_fn inband; /* NULL: the backend has none */
	uint64_t off;              /* bytes seen */
	bool seen_nonws;
	char first;                /* first non-whitespace byte */
	/* csv */
	bool quoted;               /* inside a quoted field (odd quote parity) */
	uint64_t records;          /* '\n' outside quotes */
	uint64_t line_start;       /* offset after the last record end */
	/* json */
	struct mbfs_jscan js;      /* strings and nesting */
	bool closed;               /* the top-level value ended */
	uint64_t closed_off;
	bool trailing;             /* non-whitespace after the top value */
	uint64_t objects;          /* '{' at depth 1 of a top-level array */
};

/* Reads up to len bytes of the body at off into buf; returns the count
 * (short at the end of the body) or -1. */
typedef ssize_t (*mbfs_verify_read_fn)(void *arg, char *buf, size_t len,
				       uint64_t off);

/* inband: the backend's in-band failure form (NULL if it has none). */
void mbfs_verify_init(struct mbfs_verify *v, enum mbfs_fmt fmt,
		      mbfs_verify_inband_fn inband);
void mbfs_verify_feed(struct mbfs_verify *v, const char *buf, size_t len);
/* Rows in what was fed so far, counted as mbfs_verify_finish counts them
 * (CSV: records ended, less the header; otherwise JSON objects). */
uint64_t mbfs_verify_rows(const struct mbfs_verify *v);

/*
 * The verdict on a body of v->off bytes that arrived with a 2xx status and
 * content_type (may be ""). end_proven: the transport proved the end
 * (Content-Length reached, final chunk, HTTP/2 end of stream) rather than
 * a connection close. MBFS_OK with *rows (-1 when the format does not say,
 * e.g. XLSX), or the failure in err.
 */
enum mbfs_status mbfs_verify_finish(const struct mbfs_verify *v,
				    const char *content_type, bool end_proven,
				    mbfs_verify_read_fn rd, void *rd_arg,
				    int64_t *rows, struct mbfs_err *err);

/* A read function over a memory buffer (arg: struct mbfs_verify_mem). */
struct mbfs_verify_mem {
	const char *buf;
	size_t len;
};
ssize_t mbfs_verify_read_mem(void *arg, char *buf, size_t len, uint64_t off);

/* A read function over a file descriptor (arg: int * ), by pread. */
ssize_t mbfs_verify_read_fd(void *arg, char *buf, size_t len, uint64_t off);

#endif
