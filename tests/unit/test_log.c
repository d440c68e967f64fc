/*
 * test_log.c — unit tests of log.c: redaction of registered secrets (also
 * overlapping ones, at the start and end of a line, repeated), forgetting
 * a secret, escaped control characters, the level filter, that a secret
 * never reaches the output stream, and that redaction runs before a long
 * line is cut.
 */
#include "check.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void redact(const char *in, char *out, size_t outsz)
{
	mbfs_log_redact(in, out, outsz);
}

static void test_redaction(void)
{
	char out[512];
	mbfs_log_add_secret("s3cret");
	mbfs_log_add_secret("s3cret-longer");
	mbfs_log_add_secret(NULL);  /* ignored */
	mbfs_log_add_secret("");    /* ignored: would match everywhere */
	redact("a s3cret b", out, sizeof out);
	CHECK_STR(out, "a [redacted] b");
	redact("s3crets3cret", out, sizeof out);
	CHECK_STR(out, "[redacted][redacted]");
	redact("key=s3cret-longer;", out, sizeof out);
	CHECK_STR(out, "key=[redacted];"); /* the longest match wins */
	redact("no secret here", out, sizeof out);
	CHECK_STR(out, "no secret here");
	/* control characters are escaped (server text is hostile) */
	redact("line\nbreak\ttab\x7f\x1b[2J", out, sizeof out);
	CHECK_STR(out, "line\\nbreak\\ttab\\x7f\\x1b[2J");
	/* a secret next to an escape */
	redact("\ns3cret\n", out, sizeof out);
	CHECK_STR(out, "\\n[redacted]\\n");
	/* a marker that does not fit whole is left out, not cut */
	char eleven[12];
	redact("ab s3cret", eleven, sizeof eleven);
	CHECK_STR(eleven, "ab ");
	/* a tiny buffer is still NUL-terminated and leaks no prefix */
	char tiny[6];
	redact("s3cret", tiny, sizeof tiny);
	CHECK(strlen(tiny) < sizeof tiny);
	CHECK(strstr("s3cret", tiny) == NULL || tiny[0] == '\0');

	mbfs_log_remove_secret("s3cret");
	redact("a s3cret b", out, sizeof out);
	CHECK_STR(out, "a s3cret b");
	mbfs_log_remove_secret("s3cret-longer");
}

static void test_many_secrets(void)
{
	char name[32], out[128];
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof name, "tok-%02d-xyz", i);
		mbfs_log_add_secret(name);
	}
	for (int i = 0; i < 30; i++) {
		char line[64];
		snprintf(line, sizeof line, "t tok-%02d-xyz", i);
		redact(line, out, sizeof out);
		CHECK_STR(out, "t [redacted]");
	}
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof name, "tok-%02d-xyz", i);
		mbfs_log_remove_secret(name);
	}
}

/* Log lines written to stderr carry no secret, at any level. */
static void test_output(void)
{
	char path[] = "/tmp/mbfs-test-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	mbfs_log_add_secret("pw-out-1");
	mbfs_log_set_level(MBFS_LOG_DEBUG);
	mbfs_error("error with pw-out-1");
	mbfs_warn("warn with pw-out-1");
	mbfs_info("info with pw-out-1");
	mbfs_debug("debug with pw-out-1");
	mbfs_log_set_level(MBFS_LOG_WARN);
	mbfs_info("filtered out");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "pw-out-1") == NULL);
	CHECK(strstr(buf, "mbfs error: error with [redacted]") != NULL);
	CHECK(strstr(buf, "mbfs debug: debug with [redacted]") != NULL);
	CHECK(strstr(buf, "filtered out") == NULL);
}

/* A line longer than the log's line buffer is redacted before it is cut:
 * a secret that straddles the cut leaks no prefix (it used to be cut
 * first, then redacted, so "pw-straddle-" + ... showed "pw-strad"). */
static void test_redaction_before_truncation(void)
{
	char path[] = "/tmp/mbfs-test-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	mbfs_log_add_secret("pw-straddle-0123456789");
	mbfs_log_set_level(MBFS_LOG_INFO);
	/* the prefix "2026-...Z mbfs info: " is outside the formatted text:
	 * try every offset around the 2047-byte cut */
	char *pad = malloc(2100);
	for (int k = 2020; k < 2050; k++) {
		memset(pad, 'p', (size_t)k);
		pad[k] = '\0';
		mbfs_info("%s%s and more", pad, "pw-straddle-0123456789");
		mbfs_info("%s\x1b%s", pad, "pw-straddle-0123456789");
	}
	/* and a line of 100 kB: formatted whole, cut after redaction */
	char *big = malloc(100000);
	memset(big, 'q', 99999);
	big[99999] = '\0';
	mbfs_info("%s", big);
	free(big);
	free(pad);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	mbfs_log_remove_secret("pw-straddle-0123456789");
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	char *buf = calloc(1, (size_t)st.st_size + 1);
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	unlink(path);
	CHECK(n == st.st_size);
	CHECK(strstr(buf, "pw-s") == NULL);
	CHECK(strstr(buf, "[redacted] and more") != NULL);
	/* every line is bounded and whole (one '\n' each, no raw ESC) */
	int lines = 0;
	for (char *l = buf, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		CHECK(nl - l < 2048 + 64);
		lines++;
	}
	CHECK_INT(lines, 61);
	CHECK(strchr(buf, '\x1b') == NULL);
	free(buf);
}

static void test_levels(void)
{
	enum mbfs_log_level l;
	CHECK(mbfs_log_parse_level("debug", &l) && l == MBFS_LOG_DEBUG);
	CHECK(mbfs_log_parse_level("error", &l) && l == MBFS_LOG_ERROR);
	CHECK(!mbfs_log_parse_level("verbose", &l));
	CHECK(!mbfs_log_parse_level(NULL, &l));
}

int main(void)
{
	test_redaction();
	test_many_secrets();
	test_output();
	test_redaction_before_truncation();
	test_levels();
	return check_done();
}
