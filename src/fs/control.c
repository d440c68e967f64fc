/*
 * control.c — owns the generated files of .mbfs/: status, stats, errors,
 * metrics and exports, rendered whole at open (and for a size at lookup)
 * from what the layers below report. Never blocks on the network.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "util.h"

#define CONTROL_MAX (256 * 1024)

enum control_id {
	CTL_STATUS = 1,   /* server, user, auth, options (key value lines) */
	CTL_STATS = 2,    /* counters and running exports, for people */
	CTL_ERRORS = 3,   /* recent failures */
	CTL_METRICS = 4,  /* Prometheus text exposition format */
	CTL_EXPORTS = 5,  /* running and queued exports, one tab-separated
			     line each (export.h), for `mbfs status` */
};

/* Append what the shim's report hook `which` writes to b at *o; false
 * when no hook is set (no FUSE session). */
static bool report_hook(struct mbfs_fs *fs, enum mbfs_fs_report which,
			char *b, size_t *o)
{
	pthread_mutex_lock(&fs->lock);
	int (*fn)(void *, char *, size_t) = fs->report[which].fn;
	void *arg = fs->report[which].arg;
	pthread_mutex_unlock(&fs->lock);
	if (fn && *o < CONTROL_MAX)
		*o += (size_t)fn(arg, b + *o, CONTROL_MAX - *o);
	return fn != NULL;
}

void fs_render_control(struct mbfs_fs *fs, int64_t which, char **out,
		       size_t *len)
{
	char *b = malloc(CONTROL_MAX);
	size_t o = 0;
	if (!b) {
		*out = NULL;
		*len = 0;
		return;
	}
	b[0] = '\0';
#define PUT(...) mbfs_putf(b, CONTROL_MAX, &o, __VA_ARGS__)
	const struct mbfs_fs_env *e = &fs->env;
	if (which == CTL_STATUS) {
		char opts[1024];
		mbfs_options_describe(e->opts, opts, sizeof opts);
		char ts[32];
		fs_iso_time((double)fs->mounted_at, ts, sizeof ts);
		PUT("server %s\n", e->opts->url);
		PUT("version %s\n", e->version_tag ? e->version_tag : "unknown");
		if (e->opts->public_only) {
			/* -o public: no credentials, no login, ever */
			PUT("user none\n");
			PUT("auth none (-o public: public links only; no credentials are read or sent, no login)\n");
		} else {
			PUT("user %s\n", e->user_email ? e->user_email : "unknown");
		}
		if (e->client->ops->describe_auth) {
			char auth[1024];
			e->client->ops->describe_auth(e->client, auth,
						      sizeof auth);
			PUT("%s", auth);
		}
		PUT("mounted_at %s\n", ts);
		PUT("mountpoint %s\n", e->opts->mountpoint);
		PUT("options %s", opts);
		if (e->caps_text)
			PUT("%s", e->caps_text);
		if (!report_hook(fs, MBFS_REPORT_STATUS, b, &o))
			PUT("passthrough off (no FUSE session)\n");
	} else if (which == CTL_STATS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_stats(e->export, b + o,
								CONTROL_MAX - o);
		pthread_mutex_lock(&fs->lock);
		uint64_t aliases = fs->n_aliases, stale = fs->n_stale;
		pthread_mutex_unlock(&fs->lock);
		PUT("generation_aliases %" PRIu64 "\nstale_opens %" PRIu64
		    "\nresult_reads %" PRIu64 "\n",
		    aliases, stale, atomic_load(&fs->n_result_reads));
		if (o < CONTROL_MAX && e->client->ops->describe_stats)
			o += (size_t)e->client->ops->describe_stats(
				e->client, b + o, CONTROL_MAX - o);
		report_hook(fs, MBFS_REPORT_STATS, b, &o);
	} else if (which == CTL_METRICS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_metrics(e->export, b + o,
								  CONTROL_MAX - o);
		if (o < CONTROL_MAX && e->client->ops->describe_metrics)
			o += (size_t)e->client->ops->describe_metrics(
				e->client, b + o, CONTROL_MAX - o);
		pthread_mutex_lock(&fs->lock);
		uint64_t aliases = fs->n_aliases, stale = fs->n_stale;
		pthread_mutex_unlock(&fs->lock);
		PUT("# HELP mbfs_generation_aliases_total Newer generations shown under a new inode while an older one was open.\n"
		    "# TYPE mbfs_generation_aliases_total counter\n"
		    "mbfs_generation_aliases_total %" PRIu64 "\n"
		    "# HELP mbfs_stale_opens_total Opens answered ESTALE (re-resolved by the kernel).\n"
		    "# TYPE mbfs_stale_opens_total counter\n"
		    "mbfs_stale_opens_total %" PRIu64 "\n"
		    "# HELP mbfs_result_reads_total READ requests of result files answered in userspace (page-cache hits make none).\n"
		    "# TYPE mbfs_result_reads_total counter\n"
		    "mbfs_result_reads_total %" PRIu64 "\n",
		    aliases, stale, atomic_load(&fs->n_result_reads));
		report_hook(fs, MBFS_REPORT_METRICS, b, &o);
	} else if (which == CTL_EXPORTS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_exports(e->export, b + o,
								  CONTROL_MAX - o);
	} else if (which == CTL_ERRORS) {
		o += (size_t)mbfs_export_describe_errors(e->export, b + o,
							 CONTROL_MAX - o);
	}
#undef PUT
	if (o >= CONTROL_MAX)
		o = CONTROL_MAX - 1;
	*out = b;
	*len = strlen(b);
}
