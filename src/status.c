/*
 * status.c — owns the status→errno table and the bounded error detail.
 * See status.h.
 */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int err;
} status_table[MBFS_STATUS_COUNT] = {
	[MBFS_OK] = {"ok", 0},
	[MBFS_ERR_NOT_FOUND] = {"not-found", ENOENT},
	[MBFS_ERR_DENIED] = {"denied", EACCES},
	[MBFS_ERR_AUTH] = {"auth", EACCES},
	[MBFS_ERR_THROTTLED] = {"throttled", EACCES},
	[MBFS_ERR_NETWORK] = {"network", EIO},
	[MBFS_ERR_TLS] = {"tls", EIO},
	[MBFS_ERR_HTTP] = {"http", EIO},
	[MBFS_ERR_PROTOCOL] = {"protocol", EIO},
	[MBFS_ERR_EXPORT] = {"export", EIO},
	[MBFS_ERR_TOO_BIG] = {"too-big", EFBIG},
	[MBFS_ERR_NOMEM] = {"nomem", ENOMEM},
	[MBFS_ERR_IO] = {"io", EIO},
	[MBFS_ERR_READONLY] = {"read-only", EROFS},
	[MBFS_ERR_INVALID] = {"invalid", EINVAL},
	[MBFS_ERR_INTERRUPTED] = {"interrupted", EINTR},
	[MBFS_ERR_NOT_DIR] = {"not-dir", ENOTDIR},
	[MBFS_ERR_IS_DIR] = {"is-dir", EISDIR},
	[MBFS_ERR_NO_ATTR] = {"no-attr", ENODATA},
	[MBFS_ERR_RANGE] = {"range", ERANGE},
	[MBFS_ERR_STALE] = {"stale", ESTALE},
	[MBFS_ERR_WOULD_BLOCK] = {"would-block", EAGAIN},
};

int mbfs_status_errno(enum mbfs_status st)
{
	if ((unsigned)st >= MBFS_STATUS_COUNT)
		return EIO;
	return status_table[st].err;
}

const char *mbfs_status_name(enum mbfs_status st)
{
	if ((unsigned)st >= MBFS_STATUS_COUNT)
		return "unknown";
	return status_table[st].name;
}

enum mbfs_status mbfs_err_set(struct mbfs_err *err, enum mbfs_status st,
			      int http_status, const char *fmt, ...)
{
	if (!err)
		return st;
	err->status = st;
	err->http_status = http_status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return st;
}

void mbfs_err_clear(struct mbfs_err *err)
{
	if (!err)
		return;
	err->status = MBFS_OK;
	err->http_status = 0;
	err->msg[0] = '\0';
}
