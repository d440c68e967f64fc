/*
 * export.c — owns export jobs: the key → job table, single flight, the
 * runner threads that execute exports in FIFO order (at most max_exports
 * at once), the streaming validation of export bodies (the in-band failure
 * forms of metabase-api.md §6.3), commit to the spool, failure memory,
 * cancellation of waiters, stream handles and the recent-errors ring.
 * See export.h.
 *
 * A job is one result key. A run is one attempt at producing it: it owns
 * the temp spool file being written and the scanner state, and is shared
 * (refcounted) by the job while running and by stream handles reading it.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "inode.h"
#include "log.h"
#include "mb_json.h"

#define TAIL_MAX ((size_t)256 * 1024)
#define ERR_RING 64
#define UNCONSUMED_GRACE 30.0   /* seconds a stat-materialized result waits for its open */
#define MAX_RUNNERS 256

struct run;

struct job {
	char *key;
	struct job *next;          /* hash chain */
	struct run *run;           /* the run in progress (queued or running) */
	unsigned waiters;          /* threads in mbfs_export_get on this job */
	uint64_t done_seq;         /* bumped when a run ends */
	bool failed;
	struct mbfs_err error;
	double failed_at;          /* monotonic seconds */
	/* A result materialized by a lookup/stat that no open has used yet:
	 * the open that follows takes it even when result_ttl has passed, so
	 * one access (lookup + open) costs one export. */
	bool unconsumed;
	double done_at;            /* monotonic seconds of the last success */
};

struct err_rec {
	double when;               /* wall clock */
	char key[96];
	int http;
	char msg[MBFS_ERR_MSG_MAX];
};

struct mbfs_export {
	struct mb_client *client;
	struct mbfs_spool *spool;
	struct mbfs_export_config cfg;
	pthread_mutex_t lock;      /* protects everything below and run state */
	pthread_cond_t cond;       /* a run ended, or a waiter was cancelled */
	pthread_cond_t runner_cond;/* the queue got work, or stopping */
	struct job **buckets;
	size_t n_buckets, n_jobs;
	struct run *queue_head, *queue_tail; /* runs waiting for a runner */
	pthread_t runners[MAX_RUNNERS];
	int n_runners;
	bool stopping;
	int running;               /* runs being executed */
	uint64_t n_exports, n_failed, n_hits, n_joined, n_interrupted;
	struct err_rec errors[ERR_RING];
	unsigned err_next, err_count;
};

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}


/* ---- job table ----------------------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void rehash(struct mbfs_export *ex)
{
	size_t nb = ex->n_buckets * 2;
	struct job **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < ex->n_buckets; i++) {
		struct job *j = ex->buckets[i];
		while (j) {
			struct job *next = j->next;
			size_t k = hash_key(j->key) & (nb - 1);
			j->next = b[k];
			b[k] = j;
			j = next;
		}
	}
	free(ex->buckets);
	ex->buckets = b;
	ex->n_buckets = nb;
}

static struct job *job_find(struct mbfs_export *ex, const char *key)
{
	for (struct job *j = ex->buckets[hash_key(key) & (ex->n_buckets - 1)]; j;
	     j = j->next)
		if (strcmp(j->key, key) == 0)
			return j;
	return NULL;
}

static struct job *job_get(struct mbfs_export *ex, const char *key)
{
	struct job *j = job_find(ex, key);
	if (j)
		return j;
	j = calloc(1, sizeof *j);
	if (!j || !(j->key = strdup(key))) {
		free(j);
		return NULL;
	}
	if (ex->n_jobs + 1 > ex->n_buckets)
		rehash(ex);
	size_t k = hash_key(key) & (ex->n_buckets - 1);
	j->next = ex->buckets[k];
	ex->buckets[k] = j;
	ex->n_jobs++;
	return j;
}


/* ---- streaming validation ------------------------------------------------ */

enum csv_state { CSV_FIELD_START, CSV_QUOTED };

struct scan {
	enum mbfs_fmt fmt;
	uint64_t off;              /* bytes seen */
	bool seen_nonws;
	char first;                /* first non-whitespace byte */
	/* csv */
	enum csv_state cs;
	uint64_t records;          /* '\n' outside quotes */
	uint64_t line_start;       /* offset after the last record end */
	uint64_t prev_line_start;
	/* json */
	int depth;
	bool in_str, esc;
	bool closed;               /* the top-level value ended */
	uint64_t closed_off;
	bool trailing;             /* non-whitespace after the top value */
	uint64_t objects;          /* '{' at depth 1 of a top-level array */
};

/*
 * CSV records: a newline ends a record unless it is inside a quoted field.
 * Metabase quotes every field that holds a quote and doubles embedded
 * quotes, so the quote count's parity tells whether we are inside a
 * quoted field. memchr does the scanning (this runs over every byte of
 * every export). cs is CSV_QUOTED while the parity is odd.
 */
static void scan_csv(struct scan *s, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		if (s->cs == CSV_QUOTED) {
			const char *q = memchr(p, '"', (size_t)(end - p));
			if (!q)
				return;
			s->cs = CSV_FIELD_START;
			p = q + 1;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = memchr(p, '"', (size_t)((nl ? nl : end) - p));
		if (q) {
			s->cs = CSV_QUOTED;
			p = q + 1;
			continue;
		}
		if (!nl)
			return;
		s->records++;
		s->prev_line_start = s->line_start;
		s->line_start = s->off + (uint64_t)(nl - buf) + 1;
		p = nl + 1;
	}
}

static void scan_json(struct scan *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (s->closed) {
			if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
				s->trailing = true;
			continue;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"')
				s->in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			s->in_str = true;
			break;
		case '[':
		case '{':
			if (c == '{' && s->depth == 1 && s->first == '[')
				s->objects++;
			s->depth++;
			break;
		case ']':
		case '}':
			s->depth--;
			if (s->depth <= 0) {
				s->closed = true;
				s->closed_off = s->off + i + 1;
			}
			break;
		default:
			break;
		}
	}
}

static void scan_feed(struct scan *s, const char *buf, size_t len)
{
	if (!s->seen_nonws) {
		for (size_t i = 0; i < len; i++) {
			char c = buf[i];
			if (c != ' ' && c != '\n' && c != '\r' && c != '\t' &&
			    c != '\xef' && c != '\xbb' && c != '\xbf') {
				s->seen_nonws = true;
				s->first = c;
				break;
			}
		}
	}
	if (s->fmt == MBFS_FMT_CSV)
		scan_csv(s, buf, len);
	else if (s->fmt == MBFS_FMT_JSON)
		scan_json(s, buf, len);
	s->off += len;
}


/* ---- runs ----------------------------------------------------------------- */

struct sink {
	int fd;
	int write_errno;
	struct scan scan;
};

struct run {
	struct job *job;
	struct mb_export_req req;  /* deep copy; strings below */
	char *format, *parameters, *sql;
	char *tmp;                 /* temp spool file */
	struct sink sink;
	atomic_uint_fast64_t bytes;
	atomic_bool abort;
	atomic_bool done;
	bool for_stat;             /* started by a lookup/stat (no open yet) */
	bool started;              /* a runner picked it up (ex->lock) */
	double started_at;
	enum mbfs_status status;   /* valid once done */
	struct mbfs_err err;
	unsigned refs;             /* ex->lock */
	unsigned streamers;        /* open stream handles (ex->lock) */
	struct run *qnext;
	/* stream readers wait here for bytes */
	pthread_mutex_t plock;
	pthread_cond_t pcond;
	atomic_uint pwaiters;
};

static bool sink_write(void *arg, const char *buf, size_t len)
{
	struct run *r = arg;
	struct sink *k = &r->sink;
	if (atomic_load(&r->abort))
		return false;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(k->fd, buf + done, len - done,
				   (off_t)(k->scan.off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			k->write_errno = n < 0 ? errno : EIO;
			return false;
		}
		done += (size_t)n;
	}
	scan_feed(&k->scan, buf, len);
	atomic_fetch_add(&r->bytes, (uint64_t)len);
	if (atomic_load(&r->pwaiters)) {
		pthread_mutex_lock(&r->plock);
		pthread_cond_broadcast(&r->pcond);
		pthread_mutex_unlock(&r->plock);
	}
	return true;
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
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
	r->req = *req;
	r->format = dup0(req->format);
	r->parameters = dup0(req->parameters);
	r->sql = dup0(req->sql);
	r->req.format = r->format;
	r->req.parameters = r->parameters;
	r->req.sql = r->sql;
	r->req.abort = &r->abort;
	r->for_stat = for_stat;
	r->refs = 1; /* the job's, until the run ends */
	r->sink.fd = -1;
	r->sink.scan.fmt = mbfs_fmt_parse(req->format);
	pthread_mutex_init(&r->plock, NULL);
	pthread_cond_init(&r->pcond, NULL);
	if (mbfs_spool_create(ex->spool, &r->sink.fd, &r->tmp, err) != MBFS_OK) {
		free(r->format);
		free(r->parameters);
		free(r->sql);
		pthread_mutex_destroy(&r->plock);
		pthread_cond_destroy(&r->pcond);
		free(r);
		return NULL;
	}
	return r;
}

/* Drop one reference (lock held). */
static void run_unref(struct run *r)
{
	if (--r->refs)
		return;
	if (r->sink.fd >= 0)
		close(r->sink.fd);
	free(r->tmp);
	free(r->format);
	free(r->parameters);
	free(r->sql);
	pthread_mutex_destroy(&r->plock);
	pthread_cond_destroy(&r->pcond);
	free(r);
}

static void wake_streamers(struct run *r)
{
	pthread_mutex_lock(&r->plock);
	pthread_cond_broadcast(&r->pcond);
	pthread_mutex_unlock(&r->plock);
}


/* Read [from, to) of the spool file (capped) as a NUL-terminated string. */
static char *read_range(int fd, uint64_t from, uint64_t to, size_t *len)
{
	if (to < from)
		to = from;
	if (to - from > TAIL_MAX)
		from = to - TAIL_MAX;
	size_t n = (size_t)(to - from);
	char *b = malloc(n + 1);
	if (!b)
		return NULL;
	ssize_t r = pread(fd, b, n, (off_t)from);
	if (r < 0)
		r = 0;
	b[r] = '\0';
	*len = (size_t)r;
	return b;
}

/* Is [from,to) a Metabase error object? Fills err with its message. */
static bool inband_error(int fd, uint64_t from, uint64_t to, const char *what,
			 struct mbfs_err *err)
{
	size_t len;
	char *b = read_range(fd, from, to, &len);
	if (!b)
		return false;
	char msg[400];
	bool is_err = mb_json_error_message(b, len, msg, sizeof msg);
	free(b);
	if (is_err)
		mbfs_err_set(err, MBFS_ERR_EXPORT, 200, "%s: %s", what, msg);
	return is_err;
}

static bool has_zip_end(int fd, uint64_t size)
{
	if (size < 22)
		return false;
	size_t len;
	uint64_t from = size > 65557 ? size - 65557 : 0;
	char *b = read_range(fd, from, size, &len);
	if (!b)
		return false;
	bool ok = false;
	for (size_t i = len >= 22 ? len - 22 + 1 : 0; i-- > 0;) {
		if (memcmp(b + i, "PK\x05\x06", 4) == 0) {
			size_t comment = (size_t)(unsigned char)b[i + 20] |
					 ((size_t)(unsigned char)b[i + 21] << 8);
			ok = i + 22 + comment == len;
			break;
		}
	}
	free(b);
	return ok;
}

/*
 * Decide whether a 2xx export body is a complete result of the asked
 * format. Returns MBFS_OK and *rows, or an error in err.
 */
static enum mbfs_status verify(const struct sink *k, const char *ctype,
			       enum mbfs_fmt fmt, int64_t *rows,
			       struct mbfs_err *err)
{
	const struct scan *s = &k->scan;
	uint64_t size = s->off;
	const char *what = "the export failed on the server";
	*rows = -1;

	if (strncasecmp(ctype, "text/html", 9) == 0 || s->first == '<')
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
				    "the server answered with an HTML page instead of %s (a proxy or login page?)",
				    mbfs_fmt_name(fmt));
	bool json_ctype = strncasecmp(ctype, "application/json", 16) == 0;
	if (fmt != MBFS_FMT_JSON && (json_ctype || s->first == '{')) {
		if (inband_error(k->fd, 0, size, what, err))
			return MBFS_ERR_EXPORT;
		if (json_ctype)
			return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
					    "asked for %s, the server sent JSON",
					    mbfs_fmt_name(fmt));
	}
	switch (fmt) {
	case MBFS_FMT_CSV: {
		if (size == 0)
			return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
					    "the server sent an empty CSV (no header row)");
		/* era A: an error object appended after the rows */
		uint64_t last = s->line_start < size ? s->line_start
						     : s->prev_line_start;
		char c = 0;
		if (last < size && pread(k->fd, &c, 1, (off_t)last) == 1 &&
		    c == '{' && inband_error(k->fd, last, size, what, err))
			return MBFS_ERR_EXPORT;
		if (s->cs == CSV_QUOTED)
			return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
					    "the CSV ends inside a quoted field (cut short)");
		uint64_t recs = s->records + (s->line_start < size ? 1 : 0);
		*rows = recs ? (int64_t)recs - 1 : 0;
		return MBFS_OK;
	}
	case MBFS_FMT_JSON:
		if (s->first == '{') {
			if (inband_error(k->fd, 0, size, what, err))
				return MBFS_ERR_EXPORT;
			return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
					    "the JSON export is an object, not an array of rows");
		}
		if (s->first != '[' || !s->closed)
			return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
					    "the JSON export is incomplete (cut short)");
		if (s->trailing) {
			if (inband_error(k->fd, s->closed_off, size, what, err))
				return MBFS_ERR_EXPORT;
			return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
					    "the JSON export has trailing garbage");
		}
		*rows = (int64_t)s->objects;
		return MBFS_OK;
	case MBFS_FMT_XLSX: {
		char head[4] = {0};
		if (pread(k->fd, head, 4, 0) != 4 ||
		    memcmp(head, "PK\x03\x04", 4) != 0)
			return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
					    "the XLSX export is not a zip file");
		if (!has_zip_end(k->fd, size))
			return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
					    "the XLSX export is incomplete or corrupt (no zip end record)");
		return MBFS_OK;
	}
	default:
		return MBFS_OK;
	}
}


/* ---- executing a run (runner thread, no lock held) ----------------------- */

static enum mbfs_status execute(struct mbfs_export *ex, struct run *r,
				struct mbfs_spool_info *meta, struct mbfs_err *err)
{
	const char *key = r->job->key; /* immutable */
	if (atomic_load(&r->abort))
		return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				    "cancelled before it started");
	struct mb_export_result res;
	double t0 = mono_now();
	enum mbfs_status st = ex->client->ops->export_run(
		ex->client, &r->req, sink_write, r, &res, err);
	double dur = mono_now() - t0;
	if (r->sink.write_errno)
		st = mbfs_err_set(err, MBFS_ERR_IO, 0,
				  "cannot write the spool file: %s",
				  strerror(r->sink.write_errno));
	else if (atomic_load(&r->abort))
		st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				  "cancelled: no reader is waiting any more");
	int64_t rows = -1;
	if (st == MBFS_OK)
		st = verify(&r->sink, res.content_type, r->sink.scan.fmt, &rows,
			    err);
	if (st == MBFS_OK) {
		memset(meta, 0, sizeof *meta);
		meta->size = r->sink.scan.off;
		meta->rows = rows;
		meta->fetched_at = wall_now();
		meta->duration = dur;
		meta->truncated = ex->cfg.row_cap > 0 && rows == ex->cfg.row_cap;
		st = mbfs_spool_commit(ex->spool, key, r->tmp, meta, meta, err);
		if (st == MBFS_OK) {
			mbfs_info("export %s: HTTP %ld, %" PRIu64 " bytes, %" PRId64
				  " rows, %.3f s",
				  key, res.http_status, meta->size, rows, dur);
			if (meta->truncated)
				mbfs_warn("export %s: %" PRId64
					  " rows is Metabase's download row cap: the result is probably truncated",
					  key, rows);
		}
	}
	if (st != MBFS_OK) {
		mbfs_spool_discard(ex->spool, r->tmp);
		if (st == MBFS_ERR_INTERRUPTED)
			mbfs_info("export %s cancelled after %.3f s", key, dur);
		else
			mbfs_warn("export %s failed after %.3f s: %s", key, dur,
				  err->msg);
	}
	return st;
}

static void record_error(struct mbfs_export *ex, const char *key,
			 const struct mbfs_err *err);

/* A run ended: publish its outcome (lock held). */
static void complete(struct mbfs_export *ex, struct run *r,
		     enum mbfs_status st, const struct mbfs_err *err)
{
	struct job *j = r->job;
	r->status = st;
	r->err = *err;
	r->err.status = st;
	atomic_store(&r->done, true);
	if (j->run == r)
		j->run = NULL;
	j->done_seq++;
	if (st == MBFS_OK) {
		j->failed = false;
		j->unconsumed = r->for_stat;
		j->done_at = mono_now();
	} else if (st == MBFS_ERR_INTERRUPTED) {
		ex->n_interrupted++; /* not a failure of the result: not remembered */
	} else {
		j->failed = true;
		j->error = r->err;
		j->failed_at = mono_now();
		ex->n_failed++;
		record_error(ex, j->key, err);
	}
	pthread_cond_broadcast(&ex->cond);
	wake_streamers(r);
	run_unref(r);
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
		r->started_at = mono_now();
		ex->running++;
		ex->n_exports++;
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
static enum mbfs_status start_run(struct mbfs_export *ex, struct job *j,
				  const struct mb_export_req *req, bool for_stat,
				  struct mbfs_err *err)
{
	if (ex->stopping)
		return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0, "unmounting");
	struct run *r = run_new(ex, j, req, for_stat, err);
	if (!r)
		return err->status ? err->status : MBFS_ERR_IO;
	j->run = r;
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
static void fill_info(struct mbfs_export *ex, struct job *j, const char *key,
		      struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	info->have = mbfs_spool_get(ex->spool, key, &info->spool);
	info->fresh = info->have &&
		      wall_now() - info->spool.fetched_at < ex->cfg.result_ttl;
	if (j && j->failed) {
		info->failed = true;
		/* Credential failures are remembered by mb_auth (which
		 * answers at once without a request while a refusal stands,
		 * and lets the next access through once the password file
		 * is fixed): they do not block a retry here. */
		info->retry_blocked =
			mono_now() - j->failed_at < ex->cfg.error_ttl &&
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

void mbfs_export_wake(void *arg)
{
	struct mbfs_export *ex = arg;
	pthread_mutex_lock(&ex->lock);
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
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
		if (j->waiters == 0 && r->streamers == 0) {
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
	struct job *j = job_get(ex, key);
	if (!j) {
		pthread_mutex_unlock(&ex->lock);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	enum mbfs_status st;
	bool joined = false;
	for (int attempts = 0;; attempts++) {
		if (mbfs_cancel_fired(cx)) {
			st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0, "interrupted");
			break;
		}
		if (j->run) {
			if (!wait_run(ex, j, cx)) {
				st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
						  "interrupted while waiting for the export");
				break;
			}
			joined = true;
		}
		fill_info(ex, j, key, info);
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
				       mono_now() - j->done_at < UNCONSUMED_GRACE;
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
		st = start_run(ex, j, req, fd == NULL, err);
		if (st != MBFS_OK)
			break;
	}
	pthread_mutex_unlock(&ex->lock);
	return st;
}

/* ---- stream mode ---------------------------------------------------------- */

struct mbfs_stream {
	struct run *run;           /* NULL when streaming a cached result */
	int fd;
	char key[128];
	uint64_t gen;              /* cached result: pinned generation */
};

enum mbfs_status mbfs_export_stream_open(struct mbfs_export *ex,
					 const char *key,
					 const struct mb_export_req *req,
					 struct mbfs_stream **out,
					 struct mbfs_err *err)
{
	struct mbfs_stream *s = calloc(1, sizeof *s);
	if (!s)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	s->fd = -1;
	snprintf(s->key, sizeof s->key, "%s", key);
	pthread_mutex_lock(&ex->lock);
	struct job *j = job_get(ex, key);
	enum mbfs_status st = MBFS_OK;
	if (!j) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (!j->run) {
		struct mbfs_result_info info;
		fill_info(ex, j, key, &info);
		if (info.fresh || (j->unconsumed && info.have)) {
			j->unconsumed = false;
			ex->n_hits++;
			st = mbfs_spool_open(ex->spool, key, &s->fd, &info.spool, err);
			s->gen = info.spool.gen;
			if (st == MBFS_OK)
				goto out;
		}
		if (info.retry_blocked) {
			*err = info.error;
			st = info.error.status;
			goto out;
		}
		st = start_run(ex, j, req, false, err);
		if (st != MBFS_OK)
			goto out;
	}
	s->run = j->run;
	s->fd = dup(s->run->sink.fd);
	if (s->fd < 0) {
		st = mbfs_err_set(err, MBFS_ERR_IO, 0, "dup: %s", strerror(errno));
		s->run = NULL;
		goto out;
	}
	s->run->refs++;
	s->run->streamers++;
	ex->n_joined++;
out:
	pthread_mutex_unlock(&ex->lock);
	if (st != MBFS_OK) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return st;
	}
	*out = s;
	return MBFS_OK;
}

bool mbfs_export_stream_would_block(struct mbfs_export *ex,
				    struct mbfs_stream *s, uint64_t off,
				    size_t size)
{
	(void)ex;
	if (!s->run)
		return false;
	return !atomic_load(&s->run->done) &&
	       atomic_load(&s->run->bytes) < off + size;
}

enum mbfs_status mbfs_export_stream_wait(struct mbfs_export *ex,
					 struct mbfs_stream *s, uint64_t off,
					 size_t size, size_t *avail,
					 struct mbfs_err *err)
{
	(void)ex;
	*avail = 0;
	struct run *r = s->run;
	uint64_t end;
	if (r) {
		struct mbfs_cancel *cx = mbfs_cancel_current();
		pthread_mutex_lock(&r->plock);
		atomic_fetch_add(&r->pwaiters, 1);
		while (!atomic_load(&r->done) &&
		       atomic_load(&r->bytes) < off + size &&
		       !mbfs_cancel_fired(cx)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->pcond, &r->plock, &ts);
		}
		atomic_fetch_sub(&r->pwaiters, 1);
		pthread_mutex_unlock(&r->plock);
		bool done = atomic_load(&r->done);
		end = atomic_load(&r->bytes);
		if (done && r->status != MBFS_OK) {
			*err = r->err;
			/* an export that did not complete is never an EOF */
			if (r->status == MBFS_ERR_INTERRUPTED)
				err->status = MBFS_ERR_EXPORT;
			return err->status;
		}
		if (!done && end < off + size && mbfs_cancel_fired(cx))
			return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					    "interrupted");
	} else {
		struct stat st;
		if (fstat(s->fd, &st) != 0)
			return mbfs_err_set(err, MBFS_ERR_IO, 0, "fstat: %s",
					    strerror(errno));
		end = (uint64_t)st.st_size;
	}
	if (off < end)
		*avail = end - off < size ? (size_t)(end - off) : size;
	return MBFS_OK;
}

int mbfs_export_stream_fd(const struct mbfs_stream *s)
{
	return s->fd;
}

void mbfs_export_stream_close(struct mbfs_export *ex, struct mbfs_stream *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_lock(&ex->lock);
	if (s->run) {
		struct run *r = s->run;
		r->streamers--;
		if (!atomic_load(&r->done) && r->streamers == 0 &&
		    r->job->waiters == 0 && !r->for_stat) {
			/* head -c1 and friends: nobody wants the rest */
			atomic_store(&r->abort, true);
			if (r->job->run == r)
				r->job->run = NULL;
		}
		run_unref(r);
	}
	pthread_mutex_unlock(&ex->lock);
	if (!s->run)
		mbfs_spool_unpin(ex->spool, s->key, s->gen);
	free(s);
}

/* ---- the rest ------------------------------------------------------------- */

void mbfs_export_peek(struct mbfs_export *ex, const char *key,
		      struct mbfs_result_info *info)
{
	pthread_mutex_lock(&ex->lock);
	fill_info(ex, job_find(ex, key), key, info);
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

void mbfs_export_invalidate_all(struct mbfs_export *ex)
{
	pthread_mutex_lock(&ex->lock);
	for (size_t i = 0; i < ex->n_buckets; i++)
		for (struct job *j = ex->buckets[i]; j; j = j->next) {
			j->failed = false;
			j->unconsumed = false;
		}
	pthread_mutex_unlock(&ex->lock);
	mbfs_spool_drop_all(ex->spool);
}

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
	double now = mono_now();
	for (size_t i = 0; i < ex->n_buckets && o < outsz; i++) {
		for (struct job *j = ex->buckets[i]; j && o < outsz; j = j->next) {
			struct run *r = j->run;
			if (!r)
				continue;
			n = snprintf(out + o, outsz - o,
				     "%s %s %" PRIu64 " bytes %.1f s\n",
				     r->started ? "running" : "queued", j->key,
				     (uint64_t)atomic_load(&r->bytes),
				     r->started ? now - r->started_at : 0.0);
			if (n > 0)
				o += (size_t)n;
		}
	}
	pthread_mutex_unlock(&ex->lock);
	if (o < outsz) {
		n = mbfs_spool_describe(ex->spool, out + o, outsz - o);
		if (n > 0)
			o += (size_t)n;
	}
	return (int)(o < outsz ? o : outsz - 1);
}


static void record_error(struct mbfs_export *ex, const char *key,
			 const struct mbfs_err *err)
{
	struct err_rec *r = &ex->errors[ex->err_next];
	ex->err_next = (ex->err_next + 1) % ERR_RING;
	if (ex->err_count < ERR_RING)
		ex->err_count++;
	r->when = wall_now();
	snprintf(r->key, sizeof r->key, "%.95s", key);
	r->http = err->http_status;
	snprintf(r->msg, sizeof r->msg, "%s", err->msg);
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
	ex->n_buckets = 64;
	ex->buckets = calloc(ex->n_buckets, sizeof *ex->buckets);
	if (!ex->buckets) {
		free(ex);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	pthread_mutex_init(&ex->lock, NULL);
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
	for (size_t i = 0; i < ex->n_buckets; i++)
		for (struct job *j = ex->buckets[i]; j; j = j->next)
			if (j->run)
				atomic_store(&j->run->abort, true);
	pthread_cond_broadcast(&ex->runner_cond);
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
}

void mbfs_export_free(struct mbfs_export *ex)
{
	if (!ex)
		return;
	mbfs_export_shutdown(ex);
	for (int i = 0; i < ex->n_runners; i++)
		pthread_join(ex->runners[i], NULL);
	for (size_t i = 0; i < ex->n_buckets; i++) {
		struct job *j = ex->buckets[i];
		while (j) {
			struct job *next = j->next;
			free(j->key);
			free(j);
			j = next;
		}
	}
	free(ex->buckets);
	pthread_cond_destroy(&ex->runner_cond);
	pthread_cond_destroy(&ex->cond);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
}
