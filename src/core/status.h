/*
 * status.h — the one error vocabulary of mbfs.
 *
 * Every fallible function returns an enum mbfs_status and, when given one,
 * fills a struct mbfs_err with a bounded, secret-free message (usually the
 * server's own words). Only fuse_ops.c turns a status into an errno, through
 * mbfs_status_errno(), and logs the failure once there.
 *
 * Thread safety: all functions here are pure or write only to the caller's
 * struct (mbfs_err_set also reads the logger's secret list under its
 * mutex); none blocks.
 */
#ifndef MBFS_STATUS_H
#define MBFS_STATUS_H

#include <stdarg.h>
#include <stdbool.h>
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
	MBFS_ERR_UNMOUNTING,    /* the mount is ending: what the request waited
				   for will not come (ENOTCONN, what the kernel
				   answers once the connection is gone — never
				   EINTR, which claims a signal nobody sent) */
	MBFS_ERR_NOT_DIR,
	MBFS_ERR_IS_DIR,
	MBFS_ERR_NO_ATTR,       /* extended attribute absent                      */
	MBFS_ERR_RANGE,         /* caller's buffer too small                      */
	MBFS_ERR_STALE,         /* the kernel inode shows another generation:
				   re-resolve the path (ESTALE)                 */
	MBFS_ERR_WOULD_BLOCK,   /* a try (cancel.h) would wait on the network:
				   the request is queued; never reaches the kernel */
	/* queries/<database>/ (the one writable place) */
	MBFS_ERR_PERM,          /* not allowed here: a name that is neither
				   *.sql nor an editor's temp file, mkdir   */
	MBFS_ERR_EXISTS,        /* O_EXCL create or RENAME_NOREPLACE hit a name */
	MBFS_ERR_NAME_TOO_LONG, /* NAME.sql whose NAME.xlsx would not fit     */
	MBFS_ERR_XDEV,          /* rename between two directories            */
	MBFS_ERR_NO_SPACE,      /* too many editor temp files in a directory */
	MBFS_ERR_NOT_SUPPORTED, /* setxattr on a query file, RENAME_EXCHANGE   */
	MBFS_STATUS_COUNT
};

#define MBFS_ERR_MSG_MAX 512

/* A failure's detail. msg is always NUL-terminated and never holds secrets. */
struct mbfs_err {
	enum mbfs_status status;
	int http_status;                /* 0 when no HTTP answer was involved */
	bool logged;                    /* already logged where it happened (the
					   export engine logs each failed export
					   once, with its label and duration): the
					   errno reply then logs it at debug level
					   only. mbfs_err_set clears it. */
	char msg[MBFS_ERR_MSG_MAX];
};

/* errno for a status (MBFS_OK → 0). The one table of the project. */
int mbfs_status_errno(enum mbfs_status st);

/* The request gave up (interrupted) or the mount is ending: nothing was
 * learned about the server, so an outcome with this status is never
 * remembered as the object's failure. */
static inline bool mbfs_status_abandoned(enum mbfs_status st)
{
	return st == MBFS_ERR_INTERRUPTED || st == MBFS_ERR_UNMOUNTING;
}

/* Short stable name, e.g. "not-found". Never NULL. */
const char *mbfs_status_name(enum mbfs_status st);

/* Fill err (may be NULL) and return st. printf-style. The whole formatted
 * text is first scrubbed of every secret registered with the logger
 * (mbfs_log_add_secret), then its control characters are escaped
 * (mbfs_escape_unit), and only then is it cut to fit — so a secret is
 * never half shown and an escape or a UTF-8 character is never split.
 * Takes the logger's mutex briefly (a leaf lock). */
enum mbfs_status mbfs_err_set(struct mbfs_err *err, enum mbfs_status st,
			      int http_status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Escaping of text for display (error details, xattrs, .mbfs/errors, log
 * lines). Server text is hostile: a terminal that shows it must not
 * receive control sequences. The rules, one "unit" at a time:
 *   LF, CR, TAB           → \n, \r, \t
 *   other bytes 0x00-0x1f → \xHH (lower-case hex: ESC is \x1b); DEL → \x7f
 *   C1 controls U+0080-U+009F (UTF-8 C2 80..C2 9F) → \u0080..\u009f
 *   a complete UTF-8 sequence, any other byte → copied
 * A backslash is copied as it is, so escaping is idempotent: text escaped
 * once comes back unchanged (a message quoted in another one is not
 * escaped twice).
 */
#define MBFS_ESCAPE_UNIT_MAX 6 /* longest output of one unit ("\u009b") */

/* Escape the unit at s (s[0] != '\0'): writes at most MBFS_ESCAPE_UNIT_MAX
 * bytes (not NUL-terminated) to out, their number to *outlen, and returns
 * how many bytes of s it used (>= 1). Pure. */
size_t mbfs_escape_unit(const char *s, char *out, size_t *outlen);

/* Copy s escaped into out (outsz > 0, always NUL-terminated), stopping
 * before the first unit that does not fit whole. Returns true when all
 * of s fit. Pure. */
bool mbfs_escape_text(const char *s, char *out, size_t outsz);

/* vsnprintf into buf (bufsz) when it fits, else into a new heap string
 * of the full length (never truncated). Returns buf, the heap string
 * (the caller frees it when != buf) or NULL when out of memory. */
char *mbfs_vformat(char *buf, size_t bufsz, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Reset err to MBFS_OK with an empty message. */
void mbfs_err_clear(struct mbfs_err *err);

#endif
