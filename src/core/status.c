/*
 * status.c — owns the status→errno table, the bounded error detail and
 * the escaping of text for display. See status.h.
 */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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
	[MBFS_ERR_UNMOUNTING] = {"unmounting", ENOTCONN},
	[MBFS_ERR_NOT_DIR] = {"not-dir", ENOTDIR},
	[MBFS_ERR_IS_DIR] = {"is-dir", EISDIR},
	[MBFS_ERR_NO_ATTR] = {"no-attr", ENODATA},
	[MBFS_ERR_RANGE] = {"range", ERANGE},
	[MBFS_ERR_STALE] = {"stale", ESTALE},
	[MBFS_ERR_WOULD_BLOCK] = {"would-block", EAGAIN},
	[MBFS_ERR_PERM] = {"not-permitted", EPERM},
	[MBFS_ERR_EXISTS] = {"exists", EEXIST},
	[MBFS_ERR_NAME_TOO_LONG] = {"name-too-long", ENAMETOOLONG},
	[MBFS_ERR_XDEV] = {"cross-directory", EXDEV},
	[MBFS_ERR_NO_SPACE] = {"no-space", ENOSPC},
	[MBFS_ERR_NOT_SUPPORTED] = {"not-supported", ENOTSUP},
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

size_t mbfs_escape_unit(const char *s, char *out, size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = (unsigned char)s[0];
	if (c < 0x20 || c == 0x7f) {
		out[0] = '\\';
		if (c == '\n' || c == '\r' || c == '\t') {
			out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			*outlen = 2;
		} else {
			out[1] = 'x';
			out[2] = hex[c >> 4];
			out[3] = hex[c & 15];
			*outlen = 4;
		}
		return 1;
	}
	if (c < 0x80) {
		out[0] = (char)c;
		*outlen = 1;
		return 1;
	}
	/* a UTF-8 sequence, copied whole (so a cut never splits it) */
	size_t n = c >= 0xf0 && c <= 0xf7 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n > 1 && c >= 0xf8)
		n = 1;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n = 1; /* not a complete sequence: one byte */
	if (n == 2 && c == 0xc2 && (unsigned char)s[1] < 0xa0) {
		/* C1 control (CSI is U+009B): \u00HH */
		unsigned char d = (unsigned char)s[1];
		memcpy(out, "\\u00", 4);
		out[4] = hex[d >> 4];
		out[5] = hex[d & 15];
		*outlen = 6;
		return 2;
	}
	memcpy(out, s, n);
	*outlen = n;
	return n;
}

bool mbfs_escape_text(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	if (!outsz)
		return !s || !*s;
	while (s && *s) {
		char unit[MBFS_ESCAPE_UNIT_MAX];
		size_t ul;
		size_t used = mbfs_escape_unit(s, unit, &ul);
		if (o + ul >= outsz) {
			out[o] = '\0';
			return false;
		}
		memcpy(out + o, unit, ul);
		o += ul;
		s += used;
	}
	out[o] = '\0';
	return true;
}

char *mbfs_vformat(char *buf, size_t bufsz, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(buf, bufsz, fmt, aq);
	va_end(aq);
	if (n < 0)
		return NULL;
	if ((size_t)n < bufsz)
		return buf;
	char *big = malloc((size_t)n + 1);
	if (!big)
		return NULL;
	va_copy(aq, ap);
	vsnprintf(big, (size_t)n + 1, fmt, aq);
	va_end(aq);
	return big;
}

enum mbfs_status mbfs_err_set(struct mbfs_err *err, enum mbfs_status st,
			      int http_status, const char *fmt, ...)
{
	if (!err)
		return st;
	err->status = st;
	err->http_status = http_status;
	err->logged = false;
	/* the whole text first: redaction and escaping before any cut */
	char stack[2 * MBFS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	char *full = mbfs_vformat(stack, sizeof stack, fmt, ap);
	va_end(ap);
	mbfs_log_redact(full ? full : "(message lost: out of memory)",
			err->msg, sizeof err->msg);
	if (full != stack)
		free(full);
	return st;
}

void mbfs_err_clear(struct mbfs_err *err)
{
	if (!err)
		return;
	err->status = MBFS_OK;
	err->http_status = 0;
	err->logged = false;
	err->msg[0] = '\0';
}
