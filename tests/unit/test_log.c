/*
 * test_log.c — unit tests of log.c: redaction of registered secrets (also
 * overlapping ones, at the start and end of a line, repeated), forgetting
 * a secret, control characters, the level filter, and that a secret never
 * reaches the output stream.
 */
#include "check.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	/* control characters become spaces (server text is hostile) */
	redact("line\nbreak\ttab\x7f", out, sizeof out);
	CHECK_STR(out, "line break tab ");
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
	test_levels();
	return check_done();
}
