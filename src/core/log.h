/*
 * log.h — mbfs's logger: levels, stderr or syslog, redaction of secrets.
 *
 * Secrets (API key, session token, password) are registered with
 * mbfs_log_add_secret(); every formatted line is scrubbed of every
 * registered secret before it is written, so a secret that slips into a
 * message comes out as "[redacted]". Control characters are escaped as
 * status.h describes (\n, \x1b ...: server text is hostile). A line is
 * formatted whole, then redacted, then escaped, and only then cut to
 * LOG_LINE_MAX (2048) bytes: a secret at the cut is never half shown.
 *
 * Thread safety: all functions may be called from any thread; a mutex
 * serializes output and the secret list. Logging never blocks on the
 * network (syslog(3) writes to a local socket).
 */
#ifndef MBFS_LOG_H
#define MBFS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum mbfs_log_level {
	MBFS_LOG_ERROR = 0,
	MBFS_LOG_WARN,
	MBFS_LOG_INFO,
	MBFS_LOG_DEBUG,
};

/* Parse "error|warn|info|debug"; returns false for anything else. */
bool mbfs_log_parse_level(const char *s, enum mbfs_log_level *out);

void mbfs_log_set_level(enum mbfs_log_level lvl);
enum mbfs_log_level mbfs_log_get_level(void);

/* Send further lines to syslog (after daemonizing) instead of stderr. */
void mbfs_log_use_syslog(bool on);

/* Register a secret to redact (copied; empty/NULL ignored; at most 32). */
void mbfs_log_add_secret(const char *secret);
/* Forget a registered secret (e.g. an expired session). */
void mbfs_log_remove_secret(const char *secret);

void mbfs_log(enum mbfs_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy s into out (outsz, NUL-terminated) with every registered secret
 * replaced by "[redacted]" and control characters escaped; redaction
 * runs over all of s before anything is cut, and a cut never splits a
 * marker, an escape or a UTF-8 character. */
void mbfs_log_redact(const char *s, char *out, size_t outsz);

#define mbfs_error(...) mbfs_log(MBFS_LOG_ERROR, __VA_ARGS__)
#define mbfs_warn(...) mbfs_log(MBFS_LOG_WARN, __VA_ARGS__)
#define mbfs_info(...) mbfs_log(MBFS_LOG_INFO, __VA_ARGS__)
#define mbfs_debug(...) mbfs_log(MBFS_LOG_DEBUG, __VA_ARGS__)

#endif
