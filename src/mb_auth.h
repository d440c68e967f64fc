/*
 * mb_auth.h — credentials and the session: API key, given session token,
 * or username + password login; single-flight re-login after a 401.
 *
 * Preference: API key, then a given session token, then password login.
 * A login refused for bad credentials is never repeated with the same
 * credentials (Metabase locks an account after 10 failures): the failure is
 * remembered and returned at once until the password file changes.
 *
 * Thread safety: every function may be called from any FUSE worker thread.
 * An internal mutex + condition variable make re-login single-flight: when
 * several requests see a 401 for the same credential generation, exactly
 * one logs in while the others wait for its outcome.
 * mb_auth_header() never blocks on the network once a credential exists;
 * mb_auth_login() and mb_auth_refresh() may block (they perform the login
 * on the calling thread through mb_http_perform()).
 *
 * Secrets are registered with the logger for redaction and are never put
 * into error messages.
 */
#ifndef MBFS_MB_AUTH_H
#define MBFS_MB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_http.h"
#include "status.h"

enum mb_auth_kind {
	MB_AUTH_NONE = 0,
	MB_AUTH_API_KEY,
	MB_AUTH_SESSION,       /* a session token given by the user */
	MB_AUTH_PASSWORD,      /* sessions obtained by logging in */
};

const char *mb_auth_kind_name(enum mb_auth_kind k);

struct mb_auth_config {
	const char *url;             /* server base URL */
	const char *api_key;         /* secrets: copied, may be NULL */
	const char *session;
	const char *username;
	const char *password;
	const char *password_file;   /* re-read when its mtime changes */
	const char *cache_dir;       /* for the session cache, or NULL */
};

struct mb_auth;

/* Build the credential set (no network). MBFS_ERR_AUTH if there is none. */
enum mbfs_status mb_auth_new(const struct mb_auth_config *cfg,
			     struct mb_http *http, struct mb_auth **out,
			     struct mbfs_err *err);
void mb_auth_free(struct mb_auth *a);

enum mb_auth_kind mb_auth_kind(const struct mb_auth *a);
const char *mb_auth_username(const struct mb_auth *a); /* may be NULL */

/* Make sure a credential exists: for password auth without a session,
 * log in now. Blocks. */
enum mbfs_status mb_auth_login(struct mb_auth *a, struct mbfs_err *err);

/* Write the auth header line ("X-Api-Key: ..." / "X-Metabase-Session: ...")
 * into buf and the credential generation into *gen. Non-blocking; fails
 * with the remembered error if the last login failed. */
enum mbfs_status mb_auth_header(struct mb_auth *a, char *buf, size_t bufsz,
				uint64_t *gen, struct mbfs_err *err);

/* A request sent with generation gen got 401 Unauthenticated. Single
 * flight: if nobody refreshed since gen, log in again (password auth only);
 * otherwise wait for / reuse the newer credential. MBFS_OK means: retry
 * once with a fresh mb_auth_header(). Blocks. */
enum mbfs_status mb_auth_refresh(struct mb_auth *a, uint64_t gen,
				 struct mbfs_err *err);

/* Counters for .mbfs/status: logins done by this mount, and the age of the
 * current session in seconds (-1 when not session based). */
unsigned mb_auth_logins(const struct mb_auth *a);
double mb_auth_session_age(const struct mb_auth *a);

#endif
