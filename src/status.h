/*
 * status.h — the one error vocabulary of mbfs.
 *
 * Every fallible function returns an enum mbfs_status and, when given one,
 * fills a struct mbfs_err with a bounded, secret-free message (usually the
 * server's own words). Only fuse_ops.c turns a status into an errno, through
 * mbfs_status_errno(), and logs the failure once there.
 *
 * Thread safety: all functions here are pure or write only to the caller's
 * struct; none blocks.
 */
#ifndef MBFS_STATUS_H
#define MBFS_STATUS_H

#include <stddef.h>

enum mbfs_status {
	MBFS_OK = 0,
	MBFS_ERR_NOT_FOUND,     /* no such object (HTTP 404, unknown name)        */
	MBFS_ERR_DENIED,        /* HTTP 403, or 401 after a re-login              */
	MBFS_ERR_AUTH,          /* credentials refused / missing                  */
	MBFS_ERR_THROTTLED,     /* login throttled ("Too many attempts!")         */
	MBFS_ERR_NETWORK,       /* DNS, refused, reset, timeout                   */
	MBFS_ERR_TLS,           /* certificate or handshake failure               */
	MBFS_ERR_HTTP,          /* unexpected HTTP status (5xx, 400, ...)         */
	MBFS_ERR_PROTOCOL,      /* body is not what was asked for (HTML, bad JSON)*/
	MBFS_ERR_EXPORT,        /* query failed: in-band error, cut stream        */
	MBFS_ERR_TOO_BIG,       /* a capped buffer overflowed                     */
	MBFS_ERR_NOMEM,
	MBFS_ERR_IO,            /* local I/O (spool, cache dir)                   */
	MBFS_ERR_READONLY,      /* write attempt on a read-only object            */
	MBFS_ERR_INVALID,       /* bad argument, bad option                       */
	MBFS_ERR_INTERRUPTED,   /* the waiting request was interrupted            */
	MBFS_ERR_NOT_DIR,
	MBFS_ERR_IS_DIR,
	MBFS_ERR_NO_ATTR,       /* extended attribute absent                      */
	MBFS_ERR_RANGE,         /* caller's buffer too small                      */
	MBFS_ERR_STALE,         /* the kernel inode shows another generation:
				   re-resolve the path (ESTALE)                 */
	MBFS_ERR_WOULD_BLOCK,   /* a try (cancel.h) would wait on the network:
				   park the request; never reaches the kernel   */
	MBFS_STATUS_COUNT
};

#define MBFS_ERR_MSG_MAX 512

/* A failure's detail. msg is always NUL-terminated and never holds secrets. */
struct mbfs_err {
	enum mbfs_status status;
	int http_status;                /* 0 when no HTTP answer was involved */
	char msg[MBFS_ERR_MSG_MAX];
};

/* errno for a status (MBFS_OK → 0). The one table of the project. */
int mbfs_status_errno(enum mbfs_status st);

/* Short stable name, e.g. "not-found". Never NULL. */
const char *mbfs_status_name(enum mbfs_status st);

/* Fill err (may be NULL) and return st. printf-style, truncated to fit.
 * Control characters in the formatted text are replaced by spaces. */
enum mbfs_status mbfs_err_set(struct mbfs_err *err, enum mbfs_status st,
			      int http_status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reset err to MBFS_OK with an empty message. */
void mbfs_err_clear(struct mbfs_err *err);

#endif
