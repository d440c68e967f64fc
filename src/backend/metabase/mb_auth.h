/*
 * mb_auth.h — credentials and the session: API key, given session token,
 * or username + password login; the on-disk session cache; single-flight
 * re-login after a 401; the memory of refused logins.
 *
 * Preference: API key, then a given session token, then password login.
 * When a key or a given token is rejected (401) and a username + password
 * were given too, mbfs falls back to password login and says so in the log;
 * without a password it answers with a clear "wrong or revoked" error and
 * never guesses.
 *
 * Lockout safety (Metabase locks an account after 10 failed logins in an
 * hour): a login refused for bad credentials is never repeated with the
 * same credentials. The refusal is remembered and every request gets it at
 * once (EACCES) until the password file changes (mtime, size or inode) or
 * mbfs is remounted. A throttled login ("Too many attempts!") is remembered
 * the same way, and tried again at most once an hour.
 *
 * Logging: before mb_auth_started() (i.e. at mount time) a refused login is
 * not logged here: the caller prints the returned message (which holds the
 * server's reason) as the one mount-time error line. After it, the refusal
 * is logged once at error level with the server's reason, and requests get
 * a short message that points to the log.
 *
 * Session cache: a session obtained by login is written atomically to
 * <cache_dir>/sessions/<hash of URL and username> (directory 0700, file
 * 0600, owned by the caller; anything else is ignored) and reused by the
 * next mount, so a remount makes no login. A cached session that the
 * server rejects is deleted and replaced by one new login.
 *
 * Thread safety: every function may be called from any thread except the
 * mb_http I/O thread. An internal mutex + condition variable make login
 * single-flight: when several requests need a login, or see a 401 for the
 * same credential generation, exactly one logs in while the others wait
 * for its outcome.
 * Blocking: mb_auth_header() never blocks on the network; mb_auth_login()
 * and mb_auth_refresh() may (they perform the login on the calling thread
 * through mb_http_perform()).
 *
 * Secrets are copied (the caller may wipe its copies after mb_auth_new),
 * registered with the logger for redaction, wiped from memory when
 * replaced or freed, and never put into error messages.
 */
#ifndef MBFS_MB_AUTH_H
#define MBFS_MB_AUTH_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_http.h"
#include "secret.h"
#include "status.h"

enum mb_auth_kind {
	MB_AUTH_NONE = 0,
	MB_AUTH_API_KEY,
	MB_AUTH_SESSION,       /* a session token given by the user */
	MB_AUTH_PASSWORD,      /* sessions obtained by logging in */
};

const char *mb_auth_kind_name(enum mb_auth_kind k);

/* Longest secret accepted (API key, token, password), in bytes. */
#define MB_AUTH_SECRET_MAX MBFS_SECRET_MAX

struct mb_auth_config {
	const char *url;             /* server base URL */
	const char *api_key;         /* secrets: copied, may be NULL */
	const char *session;
	const char *username;
	const char *password;        /* NULL: read password_file */
	const char *password_file;   /* re-read when it changes */
	const char *cache_dir;       /* for the session cache, or NULL */
};

struct mb_auth;

/* Build the credential set (no network). MBFS_ERR_AUTH with a message
 * naming the ways to give credentials if there is none. */
enum mbfs_status mb_auth_new(const struct mb_auth_config *cfg,
			     struct mb_http *http, struct mb_auth **out,
			     struct mbfs_err *err);
/* Wipes and frees. No other call may be running. */
void mb_auth_free(struct mb_auth *a);

/* The credential in use now (it changes on a fallback to password). */
enum mb_auth_kind mb_auth_kind(const struct mb_auth *a);
const char *mb_auth_username(const struct mb_auth *a); /* may be NULL */

/* Were a username and password given (a fallback exists)? */
bool mb_auth_has_password(const struct mb_auth *a);

/* The server has no API keys (older than v0.49): forget the key and use
 * the password. Only when mb_auth_has_password(); logs a warning. */
void mb_auth_drop_api_key(struct mb_auth *a);

/* The mount exists: from now on refusals are logged here, once. */
void mb_auth_started(struct mb_auth *a);

/* Make sure a credential exists: for password auth without a session, log
 * in now (single flight). Returns the remembered refusal at once when the
 * last login was refused and nothing changed since. Cheap when a
 * credential exists. Blocks. */
enum mbfs_status mb_auth_login(struct mb_auth *a, struct mbfs_err *err);

/* Write the auth header line ("X-Api-Key: ..." / "X-Metabase-Session: ...")
 * into buf and the credential generation into *gen; buf is "" when there is
 * no credential yet. Fails with the remembered refusal. Non-blocking. */
enum mbfs_status mb_auth_header(struct mb_auth *a, char *buf, size_t bufsz,
				uint64_t *gen, struct mbfs_err *err);

/* A request sent with generation gen got 401 Unauthenticated. Single
 * flight: if nobody refreshed since gen, log in again (or fall back to
 * password login); otherwise wait for / reuse the newer credential.
 * MBFS_OK means: retry once with a fresh mb_auth_header(). Blocks. */
enum mbfs_status mb_auth_refresh(struct mb_auth *a, uint64_t gen,
				 struct mbfs_err *err);

/* Counters for .mbfs/status: logins done by this mount, and the age of the
 * current session in seconds (-1 when not session based or unknown). */
unsigned mb_auth_logins(const struct mb_auth *a);
double mb_auth_session_age(const struct mb_auth *a);

/* "auth ...\n" lines for .mbfs/status (no secrets). Returns the length. */
/* Prometheus text: logins, re-logins, refusals, auth state, session age. */
int mb_auth_describe_metrics(const struct mb_auth *a, char *out, size_t outsz);
int mb_auth_describe(const struct mb_auth *a, char *out, size_t outsz);

/* Parse the text of a session cache file (outside input: a file on disk):
 * line 1 the token, 2 the time it was obtained, 3 the server URL, 4 the
 * user; the token only when URL and user match. buf holds len bytes and
 * has room for one more (it is cut into lines in place); len must be below
 * 8192. Returns a heap copy of the token or NULL. Exposed for the fuzzer. */
char *mb_auth_parse_cache(char *buf, size_t len, const char *url,
			  const char *user, time_t *since);

#endif
