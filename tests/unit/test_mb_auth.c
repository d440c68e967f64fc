/*
 * test_mb_auth.c — unit tests of mb_auth.c that need no server: which
 * credential is chosen, the messages when there is none, the password
 * file, the session cache (format, permissions, keying by URL + user),
 * rejection of a key or token without a password (no login attempted),
 * and registration of every secret for log redaction.
 *
 * Nothing here talks to the network: mb_auth only uses its transport for a
 * login, and no test reaches one (the transport pointer is NULL).
 */
#include "check.h"
#include "log.h"
#include "mb_auth.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char g_tmp[256];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* The documented cache file name: FNV-1a 64 of "<url>\n<user>". */
static void cache_file(const char *dir, const char *url, const char *user,
		       char *out, size_t outsz)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = {url, "\n", user};
	for (int i = 0; i < 3; i++)
		for (const char *s = parts[i]; *s; s++) {
			h ^= (unsigned char)*s;
			h *= 0x100000001b3ULL;
		}
	snprintf(out, outsz, "%s/sessions/%016llx", dir, (unsigned long long)h);
}

static struct mb_auth *make(const struct mb_auth_config *c,
			    enum mbfs_status want, struct mbfs_err *err)
{
	struct mb_auth *a = NULL;
	mbfs_err_clear(err);
	enum mbfs_status st = mb_auth_new(c, NULL, &a, err);
	CHECK_INT(st, want);
	CHECK((st == MBFS_OK) == (a != NULL));
	return a;
}

static bool redacted(const char *secret)
{
	char line[256], out[512];
	snprintf(line, sizeof line, "x %s y", secret);
	mbfs_log_redact(line, out, sizeof out);
	return strstr(out, secret) == NULL &&
	       strstr(out, "[redacted]") != NULL;
}

static void test_no_credentials(void)
{
	struct mbfs_err err;
	struct mb_auth_config c = {.url = "http://mb"};
	make(&c, MBFS_ERR_AUTH, &err);
	CHECK(strstr(err.msg, "MBFS_API_KEY") != NULL);
	CHECK(strstr(err.msg, "MBFS_PASSWORD") != NULL);

	c.username = "ann@example.com";
	make(&c, MBFS_ERR_AUTH, &err);
	CHECK(strstr(err.msg, "no password for ann@example.com") != NULL);

	/* a password without a username is no credential either */
	c.username = NULL;
	c.password = "pw-no-user";
	make(&c, MBFS_ERR_AUTH, &err);

	char big[MB_AUTH_SECRET_MAX + 10];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct mb_auth_config l = {.url = "http://mb", .api_key = big};
	make(&l, MBFS_ERR_AUTH, &err);
	CHECK(strstr(err.msg, "longer than") != NULL);
}

static void test_preference_and_headers(void)
{
	struct mbfs_err err;
	char hdr[2048];
	uint64_t gen = 0;
	struct mb_auth_config c = {.url = "http://mb",
				   .api_key = "key-pref-1",
				   .session = "tok-pref-1",
				   .username = "ann@example.com",
				   .password = "pw-pref-1"};
	struct mb_auth *a = make(&c, MBFS_OK, &err);
	CHECK_INT(mb_auth_kind(a), MB_AUTH_API_KEY);
	CHECK(mb_auth_has_password(a));
	CHECK_INT(mb_auth_login(a, &err), MBFS_OK); /* nothing to do */
	CHECK_INT(mb_auth_header(a, hdr, sizeof hdr, &gen, &err), MBFS_OK);
	CHECK_STR(hdr, "X-Api-Key: key-pref-1");
	CHECK(gen > 0);
	CHECK(redacted("key-pref-1") && redacted("tok-pref-1") &&
	      redacted("pw-pref-1"));
	char d[2048];
	mb_auth_describe(a, d, sizeof d);
	CHECK(strstr(d, "auth api-key\n") != NULL);
	CHECK(strstr(d, "auth_state ok\n") != NULL);
	CHECK(strstr(d, "key-pref-1") == NULL && strstr(d, "pw-pref-1") == NULL);
	/* a refresh for an older generation is "somebody refreshed" */
	CHECK_INT(mb_auth_refresh(a, gen - 1, &err), MBFS_OK);
	mb_auth_free(a);

	struct mb_auth_config s = {.url = "http://mb", .session = "tok-pref-2"};
	a = make(&s, MBFS_OK, &err);
	CHECK_INT(mb_auth_kind(a), MB_AUTH_SESSION);
	CHECK_INT(mb_auth_header(a, hdr, sizeof hdr, &gen, &err), MBFS_OK);
	CHECK_STR(hdr, "X-Metabase-Session: tok-pref-2");
	CHECK(!mb_auth_has_password(a));
	mb_auth_free(a);
}

static void test_rejection_without_password(void)
{
	struct mbfs_err err;
	char hdr[2048];
	uint64_t gen;
	struct mb_auth_config c = {.url = "http://mb", .api_key = "key-rej-1"};
	struct mb_auth *a = make(&c, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_INT(mb_auth_refresh(a, gen, &err), MBFS_ERR_AUTH);
	CHECK(strstr(err.msg, "API key was rejected") != NULL);
	CHECK(strstr(err.msg, "wrong or has been revoked") != NULL);
	CHECK(strstr(err.msg, "key-rej-1") == NULL);
	CHECK_INT(mb_auth_kind(a), MB_AUTH_API_KEY); /* no silent switch */
	/* the key is still sent: it may be a transient server state */
	CHECK_INT(mb_auth_header(a, hdr, sizeof hdr, &gen, &err), MBFS_OK);
	CHECK_STR(hdr, "X-Api-Key: key-rej-1");
	mb_auth_free(a);

	struct mb_auth_config s = {.url = "http://mb", .session = "tok-rej-1"};
	a = make(&s, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_INT(mb_auth_refresh(a, gen, &err), MBFS_ERR_AUTH);
	CHECK(strstr(err.msg, "session token was rejected") != NULL);
	CHECK(strstr(err.msg, "tok-rej-1") == NULL);
	mb_auth_free(a);
}

static void test_password_file(void)
{
	struct mbfs_err err;
	char pf[512];
	snprintf(pf, sizeof pf, "%s/pw", g_tmp);
	write_file(pf, "pw-file-1\nsecond line ignored\n", 0600);
	struct mb_auth_config c = {.url = "http://mb",
				   .username = "ann@example.com",
				   .password_file = pf};
	struct mb_auth *a = make(&c, MBFS_OK, &err);
	CHECK_INT(mb_auth_kind(a), MB_AUTH_PASSWORD);
	CHECK(mb_auth_has_password(a));
	CHECK(redacted("pw-file-1"));
	CHECK(!redacted("second line ignored"));
	mb_auth_free(a);

	write_file(pf, "\n", 0600);
	make(&c, MBFS_ERR_AUTH, &err);
	CHECK(strstr(err.msg, "is empty") != NULL);

	char missing[600];
	snprintf(missing, sizeof missing, "%s/nope", g_tmp);
	c.password_file = missing;
	make(&c, MBFS_ERR_AUTH, &err);
	CHECK(strstr(err.msg, "cannot read the password file") != NULL);
}

static void test_session_cache(void)
{
	struct mbfs_err err;
	char dir[512], sub[600], path[700], hdr[2048], d[2048];
	uint64_t gen;
	snprintf(dir, sizeof dir, "%s/cache", g_tmp);
	snprintf(sub, sizeof sub, "%s/sessions", dir);
	mkdir(dir, 0700);
	mkdir(sub, 0700);
	const char *url = "https://mb.example.com", *user = "ann@example.com";
	cache_file(dir, url, user, path, sizeof path);
	char body[512];
	long long since = (long long)time(NULL) - 100;
	snprintf(body, sizeof body, "tok-cache-1\n%lld\n%s\n%s\n", since, url,
		 user);
	write_file(path, body, 0600);

	struct mb_auth_config c = {.url = url,
				   .username = user,
				   .password = "pw-cache-1",
				   .cache_dir = dir};
	struct mb_auth *a = make(&c, MBFS_OK, &err);
	CHECK_INT(mb_auth_kind(a), MB_AUTH_PASSWORD);
	CHECK_INT(mb_auth_login(a, &err), MBFS_OK); /* the cached session: no login */
	CHECK_INT(mb_auth_header(a, hdr, sizeof hdr, &gen, &err), MBFS_OK);
	CHECK_STR(hdr, "X-Metabase-Session: tok-cache-1");
	CHECK(redacted("tok-cache-1"));
	CHECK(mb_auth_session_age(a) >= 99 && mb_auth_session_age(a) < 200);
	CHECK_INT(mb_auth_logins(a), 0);
	mb_auth_describe(a, d, sizeof d);
	CHECK(strstr(d, "session_source cache\n") != NULL);
	CHECK(strstr(d, "auth_user ann@example.com\n") != NULL);
	CHECK(strstr(d, "tok-cache-1") == NULL);
	mb_auth_free(a);

	/* a file readable by others is not trusted */
	chmod(path, 0644);
	a = make(&c, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_STR(hdr, "");
	mb_auth_free(a);
	chmod(path, 0600);

	/* another user, or the same hash for another URL: not ours */
	struct mb_auth_config o = c;
	o.username = "bob@example.com";
	a = make(&o, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_STR(hdr, "");
	mb_auth_free(a);
	snprintf(body, sizeof body, "tok-cache-2\n%lld\nhttps://other\n%s\n",
		 since, user);
	write_file(path, body, 0600);
	a = make(&c, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_STR(hdr, "");
	mb_auth_free(a);

	/* an older cache file holding only the token is accepted */
	write_file(path, "tok-cache-3\n", 0600);
	a = make(&c, MBFS_OK, &err);
	mb_auth_header(a, hdr, sizeof hdr, &gen, &err);
	CHECK_STR(hdr, "X-Metabase-Session: tok-cache-3");
	CHECK(mb_auth_session_age(a) < 0); /* login time unknown */
	mb_auth_free(a);
}

int main(void)
{
	snprintf(g_tmp, sizeof g_tmp, "/tmp/mbfs-test-auth-XXXXXX");
	if (!mkdtemp(g_tmp)) {
		perror("mkdtemp");
		return 2;
	}
	mbfs_log_set_level(MBFS_LOG_ERROR);
	test_no_credentials();
	test_preference_and_headers();
	test_rejection_without_password();
	test_password_file();
	test_session_cache();
	nftw(g_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
