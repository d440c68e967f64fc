/*
 * export.c — owns export jobs: the key → job table, single flight, the
 * runner threads that execute exports in FIFO order (at most max_exports
 * at once), the streaming validation of export bodies (verify.c), commit
 * to the spool, failure memory, cancellation of waiters, and the sink
 * that receives a run's bytes (held, written 512 KiB at a time). What the
 * engine reports (.mbfs/ text, metrics, the error ring) is
 * export_report.c; stream handles are export_stream.c. See export.h,
 * export_int.h.
 *
 * A job is one result key. A run is one attempt at producing it: it owns
 * the temp spool file being written and the scanner state, and is shared
 * (refcounted) by the job while running and by stream handles reading it.
 */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cancel.h"
#include "export_int.h"
#include "inode.h"
#include "log.h"
#include "util.h"
#include "verify.h"
#include "waitq.h"

#define UNCONSUMED_GRACE 30.0   /* seconds a stat-materialized result waits for its open */
#define PROGRESS_EVERY 5.0      /* seconds between progress log lines of a long export */

/* ---- job table ----------------------------------------------------------- */

static struct job *job_of(struct mbfs_map_item *it)
{
	return it ? MBFS_MAP_ENTRY(it, struct job, item) : NULL;
}

static struct job *job_find(struct mbfs_export *ex, const char *key)
{
	return job_of(mbfs_map_get(&ex->jobs, key));
}

/* The last request waiting (without a thread) for j's run was
 * interrupted: when nobody else wants the run, stop the transfer (the
 * next access starts a new one). ex->lock held. */
static void job_all_left(void *owner)
{
	struct job *j = owner;
	struct run *r = j->run;
	if (r && j->waiters == 0 && r->streamers == 0) {
		atomic_store(&r->abort, true);
		j->run = NULL;
		mbfs_debug("export %s: last waiter interrupted, aborting",
			   j->key);
	}
}

struct job *export_job_get(struct mbfs_export *ex, const char *key)
{
	struct job *j = job_find(ex, key);
	if (j)
		return j;
	j = calloc(1, sizeof *j);
	if (!j || !(j->key = strdup(key))) {
		free(j);
		return NULL;
	}
	mbfs_waitq_init(&j->q, &ex->lock, j, job_all_left, j);
	if (!mbfs_map_put(&ex->jobs, &j->item, j->key)) {
		mbfs_waitq_destroy(&j->q);
		free(j->key);
		free(j);
		return NULL;
	}
	return j;
}

/* Every job: for (j = export_job_first(ex, &i); j; j = export_job_next(&i)). */
struct job *export_job_first(struct mbfs_export *ex, struct mbfs_map_iter *i)
{
	return job_of(mbfs_map_first(&ex->jobs, i));
}

struct job *export_job_next(struct mbfs_map_iter *i)
{
	return job_of(mbfs_map_next(i));
}

/* A long export tells the log how it goes, every PROGRESS_EVERY seconds
 * (DESIGN.md §8: journalctl shows it). I/O thread. */
static void progress(struct run *r)
{
	if (r->next_progress == 0)
		return; /* not started by a runner (cannot happen) */
	double now = mbfs_mono_now();
	if (now < r->next_progress)
		return;
	r->next_progress = now + PROGRESS_EVERY;
	double el = now - r->started_at;
	uint64_t b = atomic_load(&r->visible);
	double rate = el > 0 ? (double)b / el : 0;
	if (r->expected)
		mbfs_info("export %s: %" PRIu64 " bytes so far (%.0f%% of the last result), %.1f s, %.2f MB/s",
			  r->label, b, 100.0 * (double)b / (double)r->expected,
			  el, rate / 1e6);
	else
		mbfs_info("export %s: %" PRIu64 " bytes so far, %.1f s, %.2f MB/s",
			  r->label, b, el, rate / 1e6);
}

/* Write one piece of body bytes at the end of what is written
 * (hold_lock held: the only writer). */
static bool sink_piece(struct run *r, const char *buf, size_t len)
{
	struct sink *k = &r->sink;
	if (atomic_load(&r->abort))
		return false;
	uint64_t at = atomic_load(&r->bytes);
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(k->fd, buf + done, len - done,
				   (off_t)(at + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			k->write_errno = n < 0 ? errno : EIO;
			return false;
		}
		done += (size_t)n;
		atomic_fetch_add(&r->ex->n_spool_writes, 1);
	}
	atomic_fetch_add(&r->bytes, (uint64_t)len);
	return true;
}

/* buf was received and kept: scan it, make it visible to stream readers
 * and wake those it covers (I/O thread, hold_lock held). */
static void sink_publish(struct run *r, const char *buf, size_t len)
{
	struct sink *k = &r->sink;
	mbfs_verify_feed(&k->scan, buf, len);
	atomic_store(&r->rows, mbfs_verify_rows(&k->scan));
	uint64_t have = atomic_fetch_add(&r->visible, (uint64_t)len) + len;
	progress(r);
	if (atomic_load(&r->nq)) {
		/* requests waiting for these bytes: their retries answer */
		pthread_mutex_lock(&r->ex->wq_lock);
		mbfs_waitq_wake(&r->q, have, MBFS_OK, NULL);
		atomic_store(&r->nq, mbfs_waitq_len(&r->q));
		pthread_mutex_unlock(&r->ex->wq_lock);
	}
	if (atomic_load(&r->pwaiters)) {
		pthread_mutex_lock(&r->plock);
		pthread_cond_broadcast(&r->pcond);
		pthread_mutex_unlock(&r->plock);
	}
}

/*
 * The spool is written in pieces of up to SINK_HOLD bytes: large writes
 * keep it in large page-cache folios, which makes writing it and reading
 * it back several times cheaper than 16 KiB writes (docs/benchmarks.md).
 * The transport hands over up to 512 KiB at once, but only what the
 * socket had: a new connection (a small TCP window) or a decoded body
 * (curl inflates in 16 KiB pieces) arrives in 16 KiB pieces. So bytes
 * are held and written SINK_HOLD at a time, or when the oldest held byte
 * has waited SINK_HOLD_S; the runner writes what is left when the
 * transfer ends, before the body is checked.
 *
 * Held bytes are not hidden: a byte is visible to stream readers as soon
 * as it is received (run->visible), and a reader copies what it needs
 * from the spool file and, past its end, from the hold buffer
 * (mbfs_export_stream_read). So a stream handle neither waits for a
 * buffer to fill nor makes the sink write in small pieces, and a server
 * that stalls cannot keep received bytes from a reader.
 */
#define SINK_HOLD ((size_t)512 << 10)
#define SINK_HOLD_S 0.05

/* Write what is held (hold_lock held). */
static bool sink_flush(struct run *r)
{
	struct sink *k = &r->sink;
	size_t n = k->held;
	k->held = 0;
	return n == 0 || sink_piece(r, k->hold, n);
}

/* Hold buf; false when it must be written now (the caller writes it
 * after flushing what is held). hold_lock held. */
static bool sink_hold(struct run *r, const char *buf, size_t len, bool *ok)
{
	struct sink *k = &r->sink;
	if (k->held == 0 && len >= SINK_HOLD)
		return false;
	if (!k->hold && !(k->hold = malloc(SINK_HOLD)))
		return false;
	double now = mbfs_mono_now();
	if (k->held == 0)
		k->held_since = now;
	*ok = true;
	while (*ok && len > 0) {
		size_t n = SINK_HOLD - k->held < len ? SINK_HOLD - k->held : len;
		memcpy(k->hold + k->held, buf, n);
		k->held += n;
		buf += n;
		len -= n;
		if (k->held == SINK_HOLD)
			*ok = sink_flush(r);
		if (k->held == 0)
			k->held_since = now;
	}
	if (*ok && k->held && now - k->held_since >= SINK_HOLD_S)
		*ok = sink_flush(r);
	return true;
}

static bool sink_write_locked(struct run *r, const char *buf, size_t len)
{
	bool ok;
	if (!sink_hold(r, buf, len, &ok))
		ok = sink_flush(r) && sink_piece(r, buf, len);
	if (ok)
		sink_publish(r, buf, len);
	return ok;
}

static bool sink_write(void *arg, const char *buf, size_t len)
{
	struct run *r = arg;
	if (atomic_load(&r->abort))
		return false;
	pthread_mutex_lock(&r->hold_lock);
	bool ok = sink_write_locked(r, buf, len);
	pthread_mutex_unlock(&r->hold_lock);
	return ok;
}

/* Free a run that nobody references (lock held; takes wq_lock). */
static void run_free(struct run *r)
{
	pthread_mutex_lock(&r->ex->wq_lock);
	mbfs_waitq_destroy(&r->q); /* empty: complete() woke everyone */
	pthread_mutex_unlock(&r->ex->wq_lock);
	if (r->sink.fd >= 0)
		close(r->sink.fd);
	free(r->sink.hold);
	free(r->tmp);
	free(r->format);
	free(r->parameters);
	free(r->sql);
	free(r->label);
	free(r->uuid);
	free(r->object);
	pthread_mutex_destroy(&r->plock);
	pthread_mutex_destroy(&r->hold_lock);
	pthread_cond_destroy(&r->pcond);
	free(r);
}

/* Create a run for job j (lock held). */
static struct run *run_new(struct mbfs_export *ex, struct job *j,
			   const struct mb_export_req *req, bool for_stat,
			   struct mbfs_err *err)
{
	struct run *r = calloc(1, sizeof *r);
	if (!r) {
		mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->job = j;
	r->ex = ex;
	mbfs_waitq_init(&r->q, &ex->wq_lock, r, NULL, NULL);
	r->req = *req;
	r->format = mbfs_dup0(req->format);
	r->parameters = mbfs_dup0(req->parameters);
	r->sql = mbfs_dup0(req->sql);
	r->label = mbfs_dup0(req->label ? req->label : j->key);
	r->uuid = mbfs_dup0(req->uuid);
	r->req.uuid = r->uuid;
	r->object = mbfs_dup0(req->object);
	r->req.object = r->object;
	r->req.format = r->format;
	r->req.parameters = r->parameters;
	r->req.sql = r->sql;
	r->req.label = r->label;
	r->req.abort = &r->abort;
	r->for_stat = for_stat;
	r->refs = 1; /* the job's, until the run ends */
	r->sink.fd = -1;
	mbfs_verify_init(&r->sink.scan, mbfs_fmt_parse(req->format),
			 ex->client->ops->inband_error);
	pthread_mutex_init(&r->plock, NULL);
	pthread_mutex_init(&r->hold_lock, NULL);
	pthread_cond_init(&r->pcond, NULL);
	if (mbfs_spool_create(ex->spool, &r->sink.fd, &r->tmp, err) != MBFS_OK) {
		run_free(r);
		return NULL;
	}
	return r;
}

/* Drop one reference (lock held). */
void export_run_unref(struct run *r)
{
	if (--r->refs)
		return;
	run_free(r);
}

/* The run ended (done is set): wake every stream reader. */
static void wake_streamers(struct run *r)
{
	pthread_mutex_lock(&r->plock);
	pthread_cond_broadcast(&r->pcond);
	pthread_mutex_unlock(&r->plock);
	pthread_mutex_lock(&r->ex->wq_lock);
	mbfs_waitq_wake(&r->q, UINT64_MAX, MBFS_OK, NULL);
	atomic_store(&r->nq, 0);
	pthread_mutex_unlock(&r->ex->wq_lock);
}

/* ---- executing a run (runner thread, no lock held) ----------------------- */

static enum mbfs_status execute(struct mbfs_export *ex, struct run *r,
				struct mbfs_spool_info *meta, struct mbfs_err *err)
{
	const char *key = r->job->key; /* immutable */
	const char *label = r->label ? r->label : key;
	if (atomic_load(&r->abort))
		return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				    "cancelled before it started");
	struct mb_export_result res;
	double t0 = mbfs_mono_now();
	enum mbfs_status st = ex->client->ops->export_run(
		ex->client, &r->req, sink_write, r, &res, err);
	/* the transport is done with the sink: write what it held */
	pthread_mutex_lock(&r->hold_lock);
	bool flushed = sink_flush(r);
	pthread_mutex_unlock(&r->hold_lock);
	if (!flushed && st == MBFS_OK && !r->sink.write_errno)
		st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				  "sink refused the bytes");
	double dur = mbfs_mono_now() - t0;
	if (r->sink.write_errno)
		st = mbfs_err_set(err, MBFS_ERR_IO, 0,
				  "cannot write the spool file: %s",
				  strerror(r->sink.write_errno));
	else if (atomic_load(&r->abort))
		st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				  "cancelled: no reader is waiting any more");
	int64_t rows = -1;
	if (st == MBFS_OK)
		st = mbfs_verify_finish(&r->sink.scan, res.content_type,
					!res.close_delimited, mbfs_verify_read_fd,
					&r->sink.fd, &rows, err);
	if (st == MBFS_OK) {
		memset(meta, 0, sizeof *meta);
		meta->size = r->sink.scan.off;
		meta->rows = rows;
		meta->fetched_at = mbfs_wall_now();
		meta->duration = dur;
		meta->truncated = ex->cfg.row_cap > 0 && rows == ex->cfg.row_cap;
		st = mbfs_spool_commit(ex->spool, key, r->tmp, meta, meta, err);
		if (st == MBFS_OK) {
			mbfs_info("export %s: HTTP %ld, %" PRIu64 " bytes, %" PRId64
				  " rows, %.3f s",
				  label, res.http_status, meta->size, rows, dur);
			if (meta->truncated)
				mbfs_warn("export %s: %" PRId64
					  " rows is Metabase's download row cap: the result is probably truncated",
					  label, rows);
		}
	}
	if (st != MBFS_OK) {
		mbfs_spool_discard(ex->spool, r->tmp);
		if (mbfs_status_abandoned(st)) {
			mbfs_info("export %s cancelled after %.3f s", label, dur);
		} else {
			mbfs_warn("export %s failed after %.3f s: %s", label,
				  dur, err->msg);
			err->logged = true; /* its readers' replies: debug */
		}
	}
	return st;
}

/* A run ended: publish its outcome (lock held). */
static void complete(struct mbfs_export *ex, struct run *r,
		     enum mbfs_status st, const struct mbfs_err *err)
{
	struct job *j = r->job;
	r->status = st;
	r->err = *err;
	r->err.status = st;
	atomic_store(&r->done, true);
	bool current = j->run == r; /* not detached by an abort */
	if (current)
		j->run = NULL;
	j->done_seq++;
	if (st == MBFS_OK) {
		j->failed = false;
		j->unconsumed = r->for_stat;
		j->done_at = mbfs_mono_now();
		j->last_size = atomic_load(&r->bytes);
		ex->n_succeeded++;
	} else if (mbfs_status_abandoned(st)) {
		ex->n_interrupted++; /* not a failure of the result: not remembered */
	} else {
		j->failed = true;
		j->error = r->err;
		j->failed_at = mbfs_mono_now();
		ex->n_failed++;
		if (st > MBFS_OK && st < MBFS_STATUS_COUNT)
			ex->failed_by[st]++;
		export_record_error(ex, r->label ? r->label : j->key, err);
	}
	/* the requests waiting without a thread: their retries take it */
	if (current)
		mbfs_waitq_wake(&j->q, UINT64_MAX, st, err);
	pthread_cond_broadcast(&ex->cond);
	wake_streamers(r);
	export_run_unref(r);
}

static void *runner_main(void *arg)
{
	struct mbfs_export *ex = arg;
	pthread_mutex_lock(&ex->lock);
	for (;;) {
		while (!ex->queue_head && !ex->stopping)
			pthread_cond_wait(&ex->runner_cond, &ex->lock);
		struct run *r = ex->queue_head;
		if (!r)
			break; /* stopping with an empty queue */
		ex->queue_head = r->qnext;
		if (!ex->queue_head)
			ex->queue_tail = NULL;
		r->started = true;
		r->started_at = mbfs_mono_now();
		r->last_size = r->job->last_size;
		r->next_progress = r->started_at + PROGRESS_EVERY;
		ex->running++;
		ex->n_exports++;
		/* a re-export: the size to expect (also after a touch dropped
		 * the result from the cache); lock order export → spool */
		struct mbfs_spool_info prev;
		if (mbfs_spool_get(ex->spool, r->job->key, &prev))
			r->expected = prev.size;
		else
			r->expected = r->last_size;
		pthread_mutex_unlock(&ex->lock);

		struct mbfs_err err;
		struct mbfs_spool_info meta;
		mbfs_err_clear(&err);
		enum mbfs_status st = execute(ex, r, &meta, &err);

		pthread_mutex_lock(&ex->lock);
		ex->running--;
		complete(ex, r, st, &err);
	}
	pthread_mutex_unlock(&ex->lock);
	return NULL;
}

/* Start a run for j and queue it (lock held). */
enum mbfs_status export_start_run(struct mbfs_export *ex, struct job *j,
				  const struct mb_export_req *req, bool for_stat,
				  struct mbfs_err *err)
{
	if (ex->stopping)
		return mbfs_err_set(err, MBFS_ERR_UNMOUNTING, 0, "unmounting");
	struct run *r = run_new(ex, j, req, for_stat, err);
	if (!r)
		return err->status ? err->status : MBFS_ERR_IO;
	j->run = r;
	ex->n_misses++;
	if (ex->queue_tail)
		ex->queue_tail->qnext = r;
	else
		ex->queue_head = r;
	ex->queue_tail = r;
	pthread_cond_signal(&ex->runner_cond);
	return MBFS_OK;
}

/* ---- results ---------------------------------------------------------------- */

/* Fill info from the spool and the job. Lock held. */
void export_fill_info(struct mbfs_export *ex, struct job *j, const char *key,
		      struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	info->have = mbfs_spool_get(ex->spool, key, &info->spool);
	info->fresh = info->have &&
		      mbfs_wall_now() - info->spool.fetched_at < ex->cfg.result_ttl;
	if (j && j->failed) {
		info->failed = true;
		/* Credential failures are remembered by mb_auth (which
		 * answers at once without a request while a refusal stands,
		 * and lets the next access through once the password file
		 * is fixed): they do not block a retry here. */
		info->retry_blocked =
			mbfs_mono_now() - j->failed_at < ex->cfg.error_ttl &&
			j->error.status != MBFS_ERR_AUTH &&
			j->error.status != MBFS_ERR_THROTTLED;
		info->error = j->error;
		info->failed_at = j->failed_at;
	}
}

static enum mbfs_status open_result(struct mbfs_export *ex, const char *key,
				    int *fd, struct mbfs_result_info *info,
				    struct mbfs_err *err)
{
	if (!fd)
		return MBFS_OK;
	return mbfs_spool_open(ex->spool, key, fd, &info->spool, err);
}

/* Wait (as a waiter) until j's current run ends or the caller is
 * interrupted. Lock held. Returns false when interrupted. */
static bool wait_run(struct mbfs_export *ex, struct job *j,
		     struct mbfs_cancel *cx)
{
	struct run *r = j->run;
	j->waiters++;
	ex->n_joined++;
	while (j->run == r && !mbfs_cancel_fired(cx) && !ex->stopping)
		pthread_cond_wait(&ex->cond, &ex->lock);
	j->waiters--;
	if (j->run == r && (mbfs_cancel_fired(cx) || ex->stopping)) {
		/* Nobody else wants it: stop the transfer. */
		if (j->waiters == 0 && r->streamers == 0 &&
		    mbfs_waitq_live(&j->q) == 0) {
			/* detached: the next access starts a new run */
			atomic_store(&r->abort, true);
			j->run = NULL;
			mbfs_debug("export %s: last waiter interrupted, aborting",
				   j->key);
		}
		return false;
	}
	return true;
}

enum mbfs_status mbfs_export_get(struct mbfs_export *ex, const char *key,
				 const struct mb_export_req *req, int *fd,
				 struct mbfs_result_info *info,
				 struct mbfs_err *err)
{
	struct mbfs_result_info scratch;
	struct mbfs_cancel *cx = mbfs_cancel_current();
	if (!info)
		info = &scratch;
	pthread_mutex_lock(&ex->lock);
	struct job *j = export_job_get(ex, key);
	if (!j) {
		pthread_mutex_unlock(&ex->lock);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	enum mbfs_status st;
	/* the retry of a request that waited for j's run: take its outcome */
	struct mbfs_err werr;
	bool joined = mbfs_waited_for(j, &st, &werr);
	for (int attempts = 0;; attempts++) {
		if (mbfs_cancel_fired(cx)) {
			st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0, "interrupted");
			break;
		}
		/* (a retry that waited takes the outcome of its run, not
		 * the next one's) */
		if (j->run && !joined) {
			if (!mbfs_may_wait()) {
				st = mbfs_wait_on(&j->q, 0, err);
				break;
			}
			if (!wait_run(ex, j, cx)) {
				st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
						  "interrupted while waiting for the export");
				break;
			}
			joined = true;
		}
		export_fill_info(ex, j, key, info);
		if (joined) {
			/* the run we waited for ended: take its outcome */
			joined = false;
			if (j->failed) {
				*err = j->error;
				st = j->error.status;
				break;
			}
			if (info->have) {
				if (fd)
					j->unconsumed = false;
				st = open_result(ex, key, fd, info, err);
				if (st == MBFS_ERR_NOT_FOUND && attempts < 3)
					continue; /* evicted in between */
				break;
			}
			continue; /* interrupted run: go again */
		}
		bool take_unconsumed = fd && j->unconsumed && info->have &&
				       mbfs_mono_now() - j->done_at < UNCONSUMED_GRACE;
		if (info->fresh || take_unconsumed) {
			ex->n_hits++;
			if (fd)
				j->unconsumed = false;
			st = open_result(ex, key, fd, info, err);
			if (st == MBFS_ERR_NOT_FOUND && attempts < 3)
				continue;
			break;
		}
		if (info->retry_blocked) {
			*err = info->error;
			st = info->error.status;
			break;
		}
		/* no result to give: run it (the loop then waits for it) */
		st = export_start_run(ex, j, req, fd == NULL, err);
		if (st != MBFS_OK)
			break;
	}
	pthread_mutex_unlock(&ex->lock);
	return st;
}

/* ---- the rest ------------------------------------------------------------- */

void mbfs_export_peek(struct mbfs_export *ex, const char *key,
		      struct mbfs_result_info *info)
{
	pthread_mutex_lock(&ex->lock);
	export_fill_info(ex, job_find(ex, key), key, info);
	pthread_mutex_unlock(&ex->lock);
}

void mbfs_export_release(struct mbfs_export *ex, const char *key, uint64_t gen)
{
	mbfs_spool_unpin(ex->spool, key, gen);
}

void mbfs_export_invalidate(struct mbfs_export *ex, const char *key)
{
	pthread_mutex_lock(&ex->lock);
	struct job *j = job_find(ex, key);
	if (j) {
		j->failed = false;
		j->unconsumed = false;
	}
	pthread_mutex_unlock(&ex->lock);
	mbfs_spool_drop(ex->spool, key);
}

void mbfs_export_invalidate_all(struct mbfs_export *ex, const char *prefix)
{
	pthread_mutex_lock(&ex->lock);
	size_t pl = strlen(prefix);
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j; j = export_job_next(&i)) {
		if (strncmp(j->key, prefix, pl) != 0)
			continue;
		j->failed = false;
		j->unconsumed = false;
	}
	pthread_mutex_unlock(&ex->lock);
	mbfs_spool_drop_prefix(ex->spool, prefix);
}

enum mbfs_status mbfs_export_new(struct mb_client *client,
				 struct mbfs_spool *spool,
				 const struct mbfs_export_config *cfg,
				 struct mbfs_export **out, struct mbfs_err *err)
{
	struct mbfs_export *ex = calloc(1, sizeof *ex);
	if (!ex)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	ex->client = client;
	ex->spool = spool;
	ex->cfg = *cfg;
	if (ex->cfg.max_exports < 1)
		ex->cfg.max_exports = 1;
	if (ex->cfg.max_exports > MAX_RUNNERS)
		ex->cfg.max_exports = MAX_RUNNERS;
	mbfs_map_init(&ex->jobs);
	if (!mbfs_map_reserve(&ex->jobs, 64)) {
		free(ex);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	pthread_mutex_init(&ex->lock, NULL);
	pthread_mutex_init(&ex->wq_lock, NULL);
	pthread_cond_init(&ex->cond, NULL);
	pthread_cond_init(&ex->runner_cond, NULL);
	for (int i = 0; i < ex->cfg.max_exports; i++) {
		if (pthread_create(&ex->runners[i], NULL, runner_main, ex) != 0)
			break;
		ex->n_runners++;
	}
	if (ex->n_runners == 0) {
		mbfs_export_free(ex);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
				    "cannot start export threads");
	}
	*out = ex;
	return MBFS_OK;
}

void mbfs_export_shutdown(struct mbfs_export *ex)
{
	if (!ex)
		return;
	pthread_mutex_lock(&ex->lock);
	ex->stopping = true;
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j; j = export_job_next(&i))
		if (j->run)
			atomic_store(&j->run->abort, true);
	pthread_cond_broadcast(&ex->runner_cond);
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
}

void mbfs_export_join(struct mbfs_export *ex)
{
	if (!ex)
		return;
	mbfs_export_shutdown(ex);
	for (int i = 0; i < ex->n_runners; i++)
		pthread_join(ex->runners[i], NULL);
	ex->n_runners = 0;
}

void mbfs_export_free(struct mbfs_export *ex)
{
	if (!ex)
		return;
	mbfs_export_join(ex);
	struct mbfs_map_iter i;
	for (struct job *j = export_job_first(ex, &i); j; j = export_job_next(&i)) {
		mbfs_waitq_destroy(&j->q);
		free(j->key);
		free(j);
	}
	mbfs_map_destroy(&ex->jobs);
	pthread_cond_destroy(&ex->runner_cond);
	pthread_cond_destroy(&ex->cond);
	pthread_mutex_destroy(&ex->wq_lock);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
}

