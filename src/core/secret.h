/*
 * secret.h — secret files (-o password_file=, api_key_file=,
 * session_file=, Mode's token files) checked as ssh checks a private key:
 * a regular file owned by the user (effective uid), no permission for
 * group or others. Used by creds.c before the daemon starts and by a
 * backend that re-reads a file later (mb_auth.c: the password file).
 *
 * `what` names the file in messages ("password", "API key"). On refusal
 * err holds one line naming the file (control characters escaped) and the
 * chmod/chown that fixes it (MBFS_ERR_AUTH). Secrets never reach a
 * message. Blocks on local I/O only; no shared state.
 */
#ifndef MBFS_SECRET_H
#define MBFS_SECRET_H

#include <sys/stat.h>

#include "status.h"

/* Longest secret accepted (API key, token, password), in bytes. */
#define MBFS_SECRET_MAX 1024

enum mbfs_status mbfs_secret_check(const char *path, const char *what,
				   struct mbfs_err *err);

/* Check, then read the first line (CR/LF removed) into *out (a new
 * string: the caller wipes and frees it). st (may be NULL) receives the
 * file's stat as it was read, so a caller can notice a later change. */
enum mbfs_status mbfs_secret_read(const char *path, const char *what,
				  struct stat *st, char **out,
				  struct mbfs_err *err);

#endif
