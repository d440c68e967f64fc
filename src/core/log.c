/*
 * log.c — owns the log level, the output sink (stderr or syslog) and the
 * list of secrets to redact. See log.h.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "status.h"

#define LOG_LINE_MAX 2048
#define LOG_MAX_SECRETS 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum mbfs_log_level log_level = MBFS_LOG_INFO;
static bool log_syslog;
static char *log_secrets[LOG_MAX_SECRETS];

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool mbfs_log_parse_level(const char *s, enum mbfs_log_level *out)
{
	for (int i = 0; i <= MBFS_LOG_DEBUG; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (enum mbfs_log_level)i;
			return true;
		}
	}
	return false;
}

void mbfs_log_set_level(enum mbfs_log_level lvl)
{
	pthread_mutex_lock(&log_lock);
	log_level = lvl;
	pthread_mutex_unlock(&log_lock);
}

enum mbfs_log_level mbfs_log_get_level(void)
{
	pthread_mutex_lock(&log_lock);
	enum mbfs_log_level l = log_level;
	pthread_mutex_unlock(&log_lock);
	return l;
}

void mbfs_log_use_syslog(bool on)
{
	pthread_mutex_lock(&log_lock);
	if (on && !log_syslog)
		openlog("mbfs", LOG_PID, LOG_DAEMON);
	log_syslog = on;
	pthread_mutex_unlock(&log_lock);
}

void mbfs_log_add_secret(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_mutex_lock(&log_lock);
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		if (log_secrets[i] && strcmp(log_secrets[i], secret) == 0)
			break;
		if (!log_secrets[i]) {
			log_secrets[i] = strdup(secret);
			break;
		}
	}
	pthread_mutex_unlock(&log_lock);
}

void mbfs_log_remove_secret(const char *secret)
{
	if (!secret)
		return;
	pthread_mutex_lock(&log_lock);
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		if (log_secrets[i] && strcmp(log_secrets[i], secret) == 0) {
			free(log_secrets[i]);
			log_secrets[i] = NULL;
		}
	}
	pthread_mutex_unlock(&log_lock);
}

/* Copy s into out (outsz > 0) with every registered secret replaced by
 * "[redacted]" and control characters escaped (status.h), stopping before
 * the first unit that does not fit whole: the input is scanned in full
 * before anything is cut, so a secret at the cut is never half shown.
 * Caller holds log_lock. */
static void redact_locked(const char *s, char *out, size_t outsz)
{
	static const char marker[] = "[redacted]";
	size_t o = 0;
	while (*s) {
		/* the longest registered secret that starts here, so that
		 * a secret that extends another is not half shown */
		size_t skip = 0;
		for (int i = 0; i < LOG_MAX_SECRETS; i++) {
			const char *sec = log_secrets[i];
			size_t l = sec ? strlen(sec) : 0;
			if (l > skip && strncmp(s, sec, l) == 0)
				skip = l;
		}
		char unit[MBFS_ESCAPE_UNIT_MAX];
		const char *w = unit;
		size_t wl;
		if (skip) {
			w = marker;
			wl = sizeof marker - 1;
			s += skip;
		} else {
			s += mbfs_escape_unit(s, unit, &wl);
		}
		if (o + wl >= outsz)
			break;
		memcpy(out + o, w, wl);
		o += wl;
	}
	out[o] = '\0';
}

void mbfs_log_redact(const char *s, char *out, size_t outsz)
{
	if (!outsz)
		return;
	pthread_mutex_lock(&log_lock);
	redact_locked(s ? s : "", out, outsz);
	pthread_mutex_unlock(&log_lock);
}

void mbfs_log(enum mbfs_log_level lvl, const char *fmt, ...)
{
	char stack[LOG_LINE_MAX], line[LOG_LINE_MAX];
	va_list ap;

	if (lvl > mbfs_log_get_level())
		return;
	/* the whole line first: redaction happens before any truncation */
	va_start(ap, fmt);
	char *raw = mbfs_vformat(stack, sizeof stack, fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	redact_locked(raw ? raw : "(log line lost: out of memory)", line,
		      sizeof line);
	if (log_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
					   LOG_DEBUG};
		syslog(prio[lvl], "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ mbfs %s: %s\n",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			level_names[lvl], line);
	}
	pthread_mutex_unlock(&log_lock);
	if (raw != stack)
		free(raw);
}
