/*
 * export_report.c — owns what the export engine tells people: the text of
 * .mbfs/stats and .mbfs/exports, the Prometheus metrics of exports and
 * the cache, and the ring of recent failures behind .mbfs/errors (export
 * failures and, through mbfs_export_note_error, failed listings). Takes
 * the engine's mutex; never blocks on the network. See export.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "export_int.h"
#include "util.h"

int mbfs_export_describe_stats(struct mbfs_export *ex, char *out, size_t outsz)
{
	size_t o = 0;
	pthread_mutex_lock(&ex->lock);
	int queued = 0;
	for (struct run *r = ex->queue_head; r; r = r->qnext)
		queued++;
	int n = snprintf(out, outsz,
			 "exports_started %" PRIu64 "\nexports_failed %" PRIu64
			 "\nexports_interrupted %" PRIu64
			 "\nexports_joined %" PRIu64 "\ncache_hits %" PRIu64
			 "\nexports_running %d\nexports_queued %d\n",
			 ex->n_exports, ex->n_failed, ex->n_interrupted,
			 ex->n_joined, ex->n_hits, ex->running, queued);
	o = n > 0 ? (size_t)n : 0;
	double now = mbfs_mono_now();
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j && o < outsz; j = export_job_next(&i)) {
		struct run *r = j->run;
		if (!r)
			continue;
		n = snprintf(out + o, outsz - o,
			     "%s %s %" PRIu64 " bytes %.1f s\n",
			     r->started ? "running" : "queued",
			     r->label ? r->label : j->key,
			     (uint64_t)atomic_load(&r->bytes),
			     r->started ? now - r->started_at : 0.0);
		if (n > 0)
			o += (size_t)n;
	}
	pthread_mutex_unlock(&ex->lock);
	if (o < outsz) {
		n = mbfs_spool_describe(ex->spool, out + o, outsz - o);
		if (n > 0)
			o += (size_t)n;
	}
	return (int)(o < outsz ? o : outsz - 1);
}

int mbfs_export_describe_exports(struct mbfs_export *ex, char *out,
				 size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	double now = mbfs_mono_now();
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j && o < outsz; j = export_job_next(&i)) {
		struct run *r = j->run;
		if (!r)
			continue;
		int n;
		if (r->started)
			n = snprintf(out + o, outsz - o,
				     "running\t%" PRIu64 "\t%" PRIu64 "\t%.3f\t%" PRIu64 "\t%s\n",
				     (uint64_t)atomic_load(&r->bytes),
				     (uint64_t)atomic_load(&r->rows),
				     now - r->started_at, r->expected,
				     r->label ? r->label : j->key);
		else
			n = snprintf(out + o, outsz - o,
				     "queued\t0\t0\t0\t0\t%s\n",
				     r->label ? r->label : j->key);
		if (n > 0)
			o += (size_t)n;
	}
	pthread_mutex_unlock(&ex->lock);
	return (int)(o < outsz ? o : outsz - 1);
}

int mbfs_export_describe_metrics(struct mbfs_export *ex, char *out,
				 size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
#define PUT(...)                                                             \
	do {                                                                 \
		if (o < outsz) {                                             \
			int n_ = snprintf(out + o, outsz - o, __VA_ARGS__);  \
			if (n_ > 0)                                          \
				o += (size_t)n_;                             \
		}                                                            \
	} while (0)
	pthread_mutex_lock(&ex->lock);
	int queued = 0;
	for (struct run *r = ex->queue_head; r; r = r->qnext)
		queued++;
	PUT("# HELP mbfs_exports_started_total Exports sent to the server.\n"
	    "# TYPE mbfs_exports_started_total counter\n"
	    "mbfs_exports_started_total %" PRIu64 "\n", ex->n_exports);
	PUT("# HELP mbfs_exports_succeeded_total Exports verified and cached.\n"
	    "# TYPE mbfs_exports_succeeded_total counter\n"
	    "mbfs_exports_succeeded_total %" PRIu64 "\n", ex->n_succeeded);
	PUT("# HELP mbfs_exports_failed_total Exports that failed, by reason.\n"
	    "# TYPE mbfs_exports_failed_total counter\n");
	for (int st = 1; st < MBFS_STATUS_COUNT; st++)
		if (ex->failed_by[st])
			PUT("mbfs_exports_failed_total{reason=\"%s\"} %" PRIu64 "\n",
			    mbfs_status_name((enum mbfs_status)st), ex->failed_by[st]);
	PUT("mbfs_exports_failed_total{reason=\"interrupted\"} %" PRIu64 "\n",
	    ex->n_interrupted);
	PUT("# HELP mbfs_cache_hits_total Reads answered from a cached result.\n"
	    "# TYPE mbfs_cache_hits_total counter\n"
	    "mbfs_cache_hits_total %" PRIu64 "\n", ex->n_hits);
	PUT("# HELP mbfs_cache_misses_total Reads that needed an export.\n"
	    "# TYPE mbfs_cache_misses_total counter\n"
	    "mbfs_cache_misses_total %" PRIu64 "\n", ex->n_misses);
	PUT("# HELP mbfs_exports_joined_total Readers that joined an export already running.\n"
	    "# TYPE mbfs_exports_joined_total counter\n"
	    "mbfs_exports_joined_total %" PRIu64 "\n", ex->n_joined);
	PUT("# HELP mbfs_exports_running Exports transferring now.\n"
	    "# TYPE mbfs_exports_running gauge\n"
	    "mbfs_exports_running %d\n", ex->running);
	PUT("# HELP mbfs_exports_queued Exports waiting for a runner (max_exports).\n"
	    "# TYPE mbfs_exports_queued gauge\n"
	    "mbfs_exports_queued %d\n", queued);
	pthread_mutex_unlock(&ex->lock);
	if (o < outsz) {
		int n = mbfs_spool_describe_metrics(ex->spool, out + o, outsz - o);
		if (n > 0)
			o += (size_t)n;
	}
#undef PUT
	return (int)(o < outsz ? o : outsz - 1);
}

void export_record_error(struct mbfs_export *ex, const char *key,
			 const struct mbfs_err *err)
{
	struct err_rec *r = &ex->errors[ex->err_next];
	ex->err_next = (ex->err_next + 1) % ERR_RING;
	if (ex->err_count < ERR_RING)
		ex->err_count++;
	r->when = mbfs_wall_now();
	snprintf(r->key, sizeof r->key, "%s", key);
	r->http = err->http_status;
	snprintf(r->msg, sizeof r->msg, "%s", err->msg);
}

void mbfs_export_note_error(struct mbfs_export *ex, const char *what,
			    const struct mbfs_err *err)
{
	pthread_mutex_lock(&ex->lock);
	export_record_error(ex, what, err);
	pthread_mutex_unlock(&ex->lock);
}

int mbfs_export_describe_errors(struct mbfs_export *ex, char *out, size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	unsigned start = (ex->err_next + ERR_RING - ex->err_count) % ERR_RING;
	for (unsigned i = 0; i < ex->err_count && o < outsz; i++) {
		const struct err_rec *r = &ex->errors[(start + i) % ERR_RING];
		time_t t = (time_t)r->when;
		struct tm tm;
		gmtime_r(&t, &tm);
		int n = snprintf(out + o, outsz - o,
				 "%04d-%02d-%02dT%02d:%02d:%02dZ %s http=%d %s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec, r->key,
				 r->http, r->msg);
		if (n > 0)
			o += (size_t)n;
	}
	pthread_mutex_unlock(&ex->lock);
	return (int)(o < outsz ? o : outsz - 1);
}
