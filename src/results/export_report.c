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

/* Text in a caller's buffer, and when it is written. */
struct text {
	char *out;
	size_t outsz, o;
	double now;
};

/* line() for every export running or queued. ex->lock held. */
static void each_run(struct mbfs_export *ex, struct text *t,
		     void (*line)(struct text *t, const struct job *j,
				  const struct run *r))
{
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j && t->o < t->outsz;
	     j = export_job_next(&i))
		if (j->run)
			line(t, j, j->run);
}

static const char *label_of(const struct job *j, const struct run *r)
{
	return r->label ? r->label : j->key;
}

static void stats_line(struct text *t, const struct job *j, const struct run *r)
{
	mbfs_putf(t->out, t->outsz, &t->o, "%s %s %" PRIu64 " bytes %.1f s\n",
		  r->started ? "running" : "queued", label_of(j, r),
		  (uint64_t)atomic_load(&r->visible),
		  r->started ? t->now - r->started_at : 0.0);
}

int mbfs_export_describe_stats(struct mbfs_export *ex, char *out, size_t outsz)
{
	struct text t = {.out = out, .outsz = outsz};
	out[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	int queued = 0;
	for (struct run *r = ex->queue_head; r; r = r->qnext)
		queued++;
	mbfs_putf(out, outsz, &t.o,
		  "exports_started %" PRIu64 "\nexports_failed %" PRIu64
		  "\nexports_interrupted %" PRIu64
		  "\nexports_joined %" PRIu64 "\ncache_hits %" PRIu64
		  "\nexports_running %d\nexports_queued %d\nspool_writes %" PRIu64
		  "\n",
		  ex->n_exports, ex->n_failed, ex->n_interrupted, ex->n_joined,
		  ex->n_hits, ex->running, queued,
		  (uint64_t)atomic_load(&ex->n_spool_writes));
	t.now = mbfs_mono_now();
	each_run(ex, &t, stats_line);
	pthread_mutex_unlock(&ex->lock);
	if (t.o < outsz) {
		int n = mbfs_spool_describe(ex->spool, out + t.o, outsz - t.o);
		if (n > 0)
			t.o += (size_t)n;
	}
	return (int)(t.o < outsz ? t.o : outsz - 1);
}

static void exports_line(struct text *t, const struct job *j,
			 const struct run *r)
{
	if (r->started)
		mbfs_putf(t->out, t->outsz, &t->o,
			  "running\t%" PRIu64 "\t%" PRIu64 "\t%.3f\t%" PRIu64 "\t%s\n",
			  (uint64_t)atomic_load(&r->visible),
			  (uint64_t)atomic_load(&r->rows), t->now - r->started_at,
			  r->expected, label_of(j, r));
	else
		mbfs_putf(t->out, t->outsz, &t->o, "queued\t0\t0\t0\t0\t%s\n",
			  label_of(j, r));
}

int mbfs_export_describe_exports(struct mbfs_export *ex, char *out,
				 size_t outsz)
{
	struct text t = {.out = out, .outsz = outsz};
	out[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	t.now = mbfs_mono_now();
	each_run(ex, &t, exports_line);
	pthread_mutex_unlock(&ex->lock);
	return (int)(t.o < outsz ? t.o : outsz - 1);
}

/* One Prometheus sample with its HELP and TYPE lines. */
static void metric(char *out, size_t outsz, size_t *o, const char *name,
		   const char *type, const char *help, uint64_t value)
{
	mbfs_putf(out, outsz, o,
		  "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help,
		  name, type, name, value);
}

int mbfs_export_describe_metrics(struct mbfs_export *ex, char *out,
				 size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	int queued = 0;
	for (struct run *r = ex->queue_head; r; r = r->qnext)
		queued++;
	metric(out, outsz, &o, "mbfs_exports_started_total", "counter",
	       "Exports sent to the server.", ex->n_exports);
	metric(out, outsz, &o, "mbfs_exports_succeeded_total", "counter",
	       "Exports verified and cached.", ex->n_succeeded);
	mbfs_putf(out, outsz, &o,
		  "# HELP mbfs_exports_failed_total Exports that failed, by reason.\n"
		  "# TYPE mbfs_exports_failed_total counter\n");
	for (int st = 1; st < MBFS_STATUS_COUNT; st++)
		if (ex->failed_by[st])
			mbfs_putf(out, outsz, &o,
				  "mbfs_exports_failed_total{reason=\"%s\"} %" PRIu64 "\n",
				  mbfs_status_name((enum mbfs_status)st),
				  ex->failed_by[st]);
	mbfs_putf(out, outsz, &o,
		  "mbfs_exports_failed_total{reason=\"interrupted\"} %" PRIu64 "\n",
		  ex->n_interrupted);
	metric(out, outsz, &o, "mbfs_cache_hits_total", "counter",
	       "Reads answered from a cached result.", ex->n_hits);
	metric(out, outsz, &o, "mbfs_cache_misses_total", "counter",
	       "Reads that needed an export.", ex->n_misses);
	metric(out, outsz, &o, "mbfs_exports_joined_total", "counter",
	       "Readers that joined an export already running.", ex->n_joined);
	metric(out, outsz, &o, "mbfs_spool_writes_total", "counter",
	       "Write calls that put received bytes into spool files.",
	       (uint64_t)atomic_load(&ex->n_spool_writes));
	metric(out, outsz, &o, "mbfs_exports_running", "gauge",
	       "Exports transferring now.", (uint64_t)ex->running);
	metric(out, outsz, &o, "mbfs_exports_queued", "gauge",
	       "Exports waiting for a runner (max_exports).", (uint64_t)queued);
	pthread_mutex_unlock(&ex->lock);
	if (o < outsz) {
		int n = mbfs_spool_describe_metrics(ex->spool, out + o, outsz - o);
		if (n > 0)
			o += (size_t)n;
	}
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
