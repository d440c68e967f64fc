/*
 * test_status.c — unit tests of status.c: the status → errno table, the
 * status names, and the error detail of mbfs_err_set(): bounded, control
 * characters escaped (\n, \x1b, \u009b), registered secrets redacted
 * before the cut, and a cut that never splits an escape or a character.
 */
#include "check.h"
#include "log.h"
#include "status.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static void test_errno_table(void)
{
	static const struct {
		enum mbfs_status st;
		int err;
	} want[] = {
		{MBFS_OK, 0},
		{MBFS_ERR_NOT_FOUND, ENOENT},
		{MBFS_ERR_DENIED, EACCES},
		{MBFS_ERR_AUTH, EACCES},
		{MBFS_ERR_THROTTLED, EACCES},
		{MBFS_ERR_NETWORK, EIO},
		{MBFS_ERR_TLS, EIO},
		{MBFS_ERR_HTTP, EIO},
		{MBFS_ERR_PROTOCOL, EIO},
		{MBFS_ERR_EXPORT, EIO},
		{MBFS_ERR_TOO_BIG, EFBIG},
		{MBFS_ERR_NOMEM, ENOMEM},
		{MBFS_ERR_IO, EIO},
		{MBFS_ERR_READONLY, EROFS},
		{MBFS_ERR_INVALID, EINVAL},
		{MBFS_ERR_INTERRUPTED, EINTR},
		{MBFS_ERR_UNMOUNTING, ENOTCONN},
		{MBFS_ERR_NOT_DIR, ENOTDIR},
		{MBFS_ERR_IS_DIR, EISDIR},
		{MBFS_ERR_NO_ATTR, ENODATA},
		{MBFS_ERR_RANGE, ERANGE},
		{MBFS_ERR_STALE, ESTALE},
		{MBFS_ERR_WOULD_BLOCK, EAGAIN},
		{MBFS_ERR_PERM, EPERM},
		{MBFS_ERR_EXISTS, EEXIST},
		{MBFS_ERR_NAME_TOO_LONG, ENAMETOOLONG},
		{MBFS_ERR_XDEV, EXDEV},
		{MBFS_ERR_NO_SPACE, ENOSPC},
		{MBFS_ERR_NOT_SUPPORTED, ENOTSUP},
	};
	size_t n = sizeof want / sizeof want[0];
	CHECK_INT(n, MBFS_STATUS_COUNT); /* every value is listed above */
	for (size_t i = 0; i < n; i++) {
		if (mbfs_status_errno(want[i].st) != want[i].err)
			fprintf(stderr, "status %s\n", mbfs_status_name(want[i].st));
		CHECK_INT(mbfs_status_errno(want[i].st), want[i].err);
	}
	/* every failure is an errno, never 0 */
	for (int s = 1; s < MBFS_STATUS_COUNT; s++)
		CHECK(mbfs_status_errno((enum mbfs_status)s) > 0);
	/* out-of-range values are an I/O error, not a crash */
	CHECK_INT(mbfs_status_errno(MBFS_STATUS_COUNT), EIO);
	CHECK_INT(mbfs_status_errno((enum mbfs_status)1000), EIO);
	CHECK_INT(mbfs_status_errno((enum mbfs_status)-1), EIO);
}

static void test_names(void)
{
	for (int a = 0; a < MBFS_STATUS_COUNT; a++) {
		const char *na = mbfs_status_name((enum mbfs_status)a);
		CHECK(na != NULL);
		if (!na)
			continue;
		CHECK(na[0] != '\0');
		CHECK(strcmp(na, "unknown") != 0);
		for (const char *p = na; *p; p++)
			CHECK((*p >= 'a' && *p <= 'z') || *p == '-');
		for (int b = a + 1; b < MBFS_STATUS_COUNT; b++) {
			const char *nb = mbfs_status_name((enum mbfs_status)b);
			if (nb && strcmp(na, nb) == 0)
				fprintf(stderr, "duplicate name %s (%d, %d)\n", na, a, b);
			CHECK(nb && strcmp(na, nb) != 0);
		}
	}
	CHECK_STR(mbfs_status_name(MBFS_OK), "ok");
	CHECK_STR(mbfs_status_name(MBFS_ERR_NOT_FOUND), "not-found");
	CHECK_STR(mbfs_status_name(MBFS_ERR_READONLY), "read-only");
	CHECK_STR(mbfs_status_name(MBFS_STATUS_COUNT), "unknown");
	CHECK_STR(mbfs_status_name((enum mbfs_status)-5), "unknown");
}

static void test_err_set(void)
{
	struct mbfs_err e;
	memset(&e, 'x', sizeof e);

	/* plain message */
	CHECK_INT(mbfs_err_set(&e, MBFS_ERR_HTTP, 502, "bad gateway %d", 7),
		  MBFS_ERR_HTTP);
	CHECK_INT(e.status, MBFS_ERR_HTTP);
	CHECK_INT(e.http_status, 502);
	CHECK_STR(e.msg, "bad gateway 7");

	/* NULL err: only the status comes back */
	CHECK_INT(mbfs_err_set(NULL, MBFS_ERR_DENIED, 403, "x"), MBFS_ERR_DENIED);

	/* truncation: a message longer than the buffer is cut and terminated */
	char big[3 * MBFS_ERR_MSG_MAX];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memset(&e, 'x', sizeof e);
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 200, "%s", big);
	CHECK_INT(strnlen(e.msg, sizeof e.msg), MBFS_ERR_MSG_MAX - 1);
	CHECK(e.msg[MBFS_ERR_MSG_MAX - 1] == '\0');
	CHECK(e.msg[0] == 'a' && e.msg[MBFS_ERR_MSG_MAX - 2] == 'a');

	/* exactly fitting message */
	big[MBFS_ERR_MSG_MAX - 1] = '\0';
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", big);
	CHECK_INT(strlen(e.msg), MBFS_ERR_MSG_MAX - 1);

	/* control characters are escaped, never dropped or passed through */
	mbfs_err_set(&e, MBFS_ERR_PROTOCOL, 0, "a\nb\tc\rd\x1b[31me\x7f" "f%s",
		     "\x01g");
	CHECK_STR(e.msg, "a\\nb\\tc\\rd\\x1b[31me\\x7ff\\x01g");
	for (const char *p = e.msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	CHECK_INT(e.status, MBFS_ERR_PROTOCOL);
	CHECK_INT(e.http_status, 0);

	/* UTF-8 bytes (>= 0x80) are kept, C1 controls (CSI U+009B) escaped */
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", "Ümlaut ／ ok");
	CHECK_STR(e.msg, "Ümlaut ／ ok");
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", "x\xc2\x9b" "31my\xc2\x85z\xc2\xa0!");
	CHECK_STR(e.msg, "x\\u009b31my\\u0085z\xc2\xa0!");
	/* invalid and cut UTF-8 is copied byte by byte, never read past */
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", "a\xe2\x82" "b\xc2");
	CHECK_STR(e.msg, "a\xe2\x82" "b\xc2");

	/* escaping is idempotent: a quoted message is not escaped twice */
	struct mbfs_err inner;
	mbfs_err_set(&inner, MBFS_ERR_HTTP, 500, "bad\nthing \\x41");
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 500, "export: %s", inner.msg);
	CHECK_STR(e.msg, "export: bad\\nthing \\x41");

	/* the cut never splits an escape ... */
	char esc[MBFS_ERR_MSG_MAX + 16];
	memset(esc, 'a', sizeof esc);
	esc[MBFS_ERR_MSG_MAX - 3] = '\x1b'; /* "\x1b" would end past the cut */
	esc[sizeof esc - 1] = '\0';
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", esc);
	CHECK_INT(strlen(e.msg), MBFS_ERR_MSG_MAX - 3);
	CHECK(strchr(e.msg, '\\') == NULL);
	/* ... nor a UTF-8 character */
	char utf[3 * MBFS_ERR_MSG_MAX];
	memset(utf, 'y', sizeof utf);
	for (size_t i = 0; i + 2 < sizeof utf; i += 2)
		memcpy(utf + i, "\xc3\xa9", 2); /* é */
	utf[sizeof utf - 1] = '\0';
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", utf);
	CHECK_INT(strlen(e.msg), MBFS_ERR_MSG_MAX - 2); /* 255 × é, not 255½ */
	CHECK((unsigned char)e.msg[strlen(e.msg) - 1] == 0xa9);

	/* registered secrets are redacted before the cut: no prefix shows */
	mbfs_log_add_secret("topsecret-0123456789");
	char sec[MBFS_ERR_MSG_MAX + 64];
	memset(sec, 'a', MBFS_ERR_MSG_MAX - 6);
	strcpy(sec + MBFS_ERR_MSG_MAX - 6, "topsecret-0123456789 tail");
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s", sec);
	CHECK(strstr(e.msg, "top") == NULL);
	CHECK_INT(strlen(e.msg), MBFS_ERR_MSG_MAX - 6);
	mbfs_err_set(&e, MBFS_ERR_AUTH, 0, "the server said: %s!",
		     "topsecret-0123456789");
	CHECK_STR(e.msg, "the server said: [redacted]!");
	/* ... also past the formatting buffer (the text is formatted whole) */
	char longer[4 * MBFS_ERR_MSG_MAX];
	memset(longer, 'b', sizeof longer);
	longer[sizeof longer - 1] = '\0';
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 0, "%s%s", longer,
		     "topsecret-0123456789");
	CHECK_INT(strlen(e.msg), MBFS_ERR_MSG_MAX - 1);
	mbfs_log_remove_secret("topsecret-0123456789");

	/* mbfs_escape_text: bounded, reports whether all of it fit */
	char small[8];
	CHECK(mbfs_escape_text("ab\ncd", small, sizeof small));
	CHECK_STR(small, "ab\\ncd");
	CHECK(!mbfs_escape_text("abcd\x1b", small, sizeof small));
	CHECK_STR(small, "abcd");
	CHECK(mbfs_escape_text("", small, sizeof small));
	CHECK_STR(small, "");

	/* empty message */
	mbfs_err_set(&e, MBFS_ERR_IO, 0, "%s", "");
	CHECK_STR(e.msg, "");

	/* clear */
	mbfs_err_set(&e, MBFS_ERR_IO, 500, "boom");
	mbfs_err_clear(&e);
	CHECK_INT(e.status, MBFS_OK);
	CHECK_INT(e.http_status, 0);
	CHECK_STR(e.msg, "");
	mbfs_err_clear(NULL); /* must not crash */
}

int main(void)
{
	test_errno_table();
	test_names();
	test_err_set();
	return check_done();
}
