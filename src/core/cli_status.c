/*
 * cli_status.c — owns `mbfs status MOUNTPOINT [--watch]`: the mount at a
 * glance for a person, read from what the mount publishes under .mbfs/
 * (status, exports, errors, stats), so it needs nothing but read access to
 * the mount — any mount of this version, also another user's one they may
 * read. No daemon state, no network. See cli_status.h.
 */
#include "cli_status.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_MAX (1024 * 1024)
#define SHOW_ERRORS 5
#define BAR 20

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
	(void)sig;
	stop = 1;
}

/* The whole of mnt/.mbfs/name as a heap string, or NULL (errno set). */
static char *slurp(const char *mnt, const char *name)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/.mbfs/%s", mnt, name) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The value of "key value" in a status text (copied into out). */
static bool value_of(const char *text, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			const char *v = p + kl + 1;
			size_t vl = strcspn(v, "\n");
			snprintf(out, outsz, "%.*s", (int)vl, v);
			return true;
		}
	}
	if (outsz)
		out[0] = '\0';
	return false;
}

static void human_bytes(double b, char *out, size_t outsz)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
	int u = 0;
	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(out, outsz, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void human_age(double s, char *out, size_t outsz)
{
	long t = (long)s;
	if (t < 60)
		snprintf(out, outsz, "%lds", t);
	else if (t < 3600)
		snprintf(out, outsz, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, outsz, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

static void print_exports(FILE *o, const char *text)
{
	int running = 0, queued = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "running\t", 8) == 0)
			running++;
		else if (strncmp(p, "queued\t", 7) == 0)
			queued++;
	}
	fprintf(o, "exports: %d running, %d queued\n", running, queued);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char state[16], label[1024];
		unsigned long long bytes, rows, expected;
		double el;
		if (sscanf(p, "%15[a-z]\t%llu\t%llu\t%lf\t%llu\t%1023[^\n]", state,
			   &bytes, &rows, &el, &expected, label) != 6)
			continue;
		if (strcmp(state, "queued") == 0) {
			fprintf(o, "  %-40s queued\n", label);
			continue;
		}
		char b[32], r[32] = "";
		human_bytes((double)bytes, b, sizeof b);
		double rate = el > 0 ? (double)bytes / el : 0;
		char rs[32];
		human_bytes(rate, rs, sizeof rs);
		if (rows)
			snprintf(r, sizeof r, "%llu rows", rows);
		fprintf(o, "  %-40s %10s %14s %7.1f s %10s/s", label, b, r, el, rs);
		if (expected) {
			double frac = (double)bytes / (double)expected;
			if (frac > 1)
				frac = 1;
			int fill = (int)(frac * BAR + 0.5);
			fprintf(o, "  [");
			for (int i = 0; i < BAR; i++)
				fputc(i < fill ? '#' : '-', o);
			fprintf(o, "] %3.0f%%", frac * 100);
		}
		fputc('\n', o);
	}
}

static void print_errors(FILE *o, const char *text)
{
	int n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (*p != '\n')
			n++;
	if (!n) {
		fprintf(o, "errors: none\n");
		return;
	}
	fprintf(o, "errors (the last %d of %d):\n", n < SHOW_ERRORS ? n : SHOW_ERRORS, n);
	int i = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (*p == '\n')
			continue;
		if (i++ < n - SHOW_ERRORS)
			continue;
		fprintf(o, "  %.*s\n", (int)strcspn(p, "\n"), p);
	}
}

/* One snapshot of the mount. Returns false when it is not an mbfs mount. */
static bool show(FILE *o, const char *mnt)
{
	char *status = slurp(mnt, "status");
	if (!status)
		return false;
	char *exports = slurp(mnt, "exports");
	char *errors = slurp(mnt, "errors");
	char *stats = slurp(mnt, "stats");
	char server[1100], version[64], user[512], auth[64], age[32], state[700],
		logins[32];
	value_of(status, "server", server, sizeof server);
	value_of(status, "version", version, sizeof version);
	value_of(status, "user", user, sizeof user);
	value_of(status, "auth", auth, sizeof auth);
	value_of(status, "auth_state", state, sizeof state);
	value_of(status, "logins", logins, sizeof logins);
	char agebuf[32] = "";
	if (value_of(status, "session_age_s", age, sizeof age))
		human_age(atof(age), agebuf, sizeof agebuf);
	fprintf(o, "mbfs on %s: %s (Metabase %s)\n", mnt, server, version);
	fprintf(o, "user: %s, auth %s%s%s%s, %s logins, state %s\n", user, auth,
		agebuf[0] ? ", session " : "", agebuf, agebuf[0] ? " old" : "",
		logins[0] ? logins : "0", state[0] ? state : "unknown");
	if (exports)
		print_exports(o, exports);
	if (errors)
		print_errors(o, errors);
	if (stats) {
		char n[32], b[32], c[32], hb[32], hc[32];
		if (value_of(stats, "spool_results", n, sizeof n) &&
		    value_of(stats, "spool_bytes", b, sizeof b) &&
		    value_of(stats, "spool_cap", c, sizeof c)) {
			human_bytes(atof(b), hb, sizeof hb);
			human_bytes(atof(c), hc, sizeof hc);
			fprintf(o, "cache: %s of %s (%.0f%%), %s results\n", hb, hc,
				atof(c) > 0 ? 100 * atof(b) / atof(c) : 0.0, n);
		}
	}
	free(status);
	free(exports);
	free(errors);
	free(stats);
	return true;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: mbfs status MOUNTPOINT [--watch] [--interval SECONDS]\n");
}

int mbfs_cli_status(int argc, char **argv)
{
	const char *mnt = NULL;
	bool watch = false;
	double interval = 1.0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0) {
			watch = true;
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			interval = atof(argv[++i]);
			if (!(interval >= 0.1 && interval <= 3600)) {
				fprintf(stderr, "mbfs status: --interval must be 0.1 to 3600 seconds\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (!mnt && argv[i][0] != '-') {
			mnt = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!mnt) {
		usage(stderr);
		return 2;
	}
	if (!watch) {
		if (!show(stdout, mnt)) {
			fprintf(stderr, "mbfs status: %s is not an mbfs mount (no %s/.mbfs/status: %s)\n",
				mnt, mnt, strerror(errno));
			return 1;
		}
		return 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty = isatty(STDOUT_FILENO);
	int rc = 0;
	while (!stop) {
		/* Build the frame in memory, then write it at once: no flicker. */
		char *frame = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&frame, &len);
		if (!m)
			return 1;
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		bool ok = show(m, mnt);
		fclose(m);
		if (!ok) {
			fprintf(stderr, "mbfs status: %s is not an mbfs mount (any more)\n", mnt);
			free(frame);
			rc = 1;
			break;
		}
		if (tty)
			printf("\033[H\033[J%s(%s, every %.1f s; Ctrl-C to stop)\n",
			       frame, ts, interval);
		else
			printf("--- %s\n%s", ts, frame);
		fflush(stdout);
		free(frame);
		struct timespec d = {(time_t)interval,
				     (long)((interval - (double)(time_t)interval) * 1e9)};
		while (!stop && nanosleep(&d, &d) != 0 && errno == EINTR)
			;
	}
	return rc;
}
