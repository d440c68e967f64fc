/*
 * export_stream.c — owns stream handles (-o stream): opening one joins
 * or starts a job's run (or pins a fresh cached result), a READ waits
 * until its bytes are received (a queued request in a try scope, a thread
 * otherwise) and copies them — what the sink has written from the temp
 * file, what it still holds from its buffer under the run's hold_lock —
 * and closing the last handle of a run nobody else wants aborts it. The
 * runs themselves, the sink and the job table are export.c's. See
 * export.h, export_int.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "export_int.h"
#include "waitq.h"

struct mbfs_stream {
	struct run *run;           /* NULL when streaming a cached result */
	int fd;
	char *key;
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
	s->key = strdup(key);
	if (!s->key) {
		free(s);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	pthread_mutex_lock(&ex->lock);
	struct job *j = export_job_get(ex, key);
	enum mbfs_status st = MBFS_OK;
	if (!j) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (!j->run) {
		struct mbfs_result_info info;
		export_fill_info(ex, j, key, &info);
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
		st = export_start_run(ex, j, req, false, err);
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
		free(s->key);
		free(s);
		return st;
	}
	*out = s;
	return MBFS_OK;
}

enum mbfs_status mbfs_export_stream_wait(struct mbfs_export *ex,
					 struct mbfs_stream *s, uint64_t off,
					 size_t size, size_t *avail,
					 struct mbfs_err *err)
{
	*avail = 0;
	struct run *r = s->run;
	uint64_t end;
	if (r && !mbfs_may_wait()) {
		/* announce, then look (sink_write adds, then looks): either
		 * the sink sees the waiter or the waiter sees the bytes */
		pthread_mutex_lock(&ex->wq_lock);
		atomic_fetch_add(&r->nq, 1);
		bool ready = atomic_load(&r->done) ||
			     atomic_load(&r->visible) >= off + size;
		enum mbfs_status st = MBFS_OK;
		if (!ready)
			st = mbfs_wait_on(&r->q, off + size, err);
		atomic_store(&r->nq, mbfs_waitq_len(&r->q));
		pthread_mutex_unlock(&ex->wq_lock);
		if (!ready)
			return st;
	}
	if (r) {
		struct mbfs_cancel *cx = mbfs_cancel_current();
		pthread_mutex_lock(&r->plock);
		atomic_fetch_add(&r->pwaiters, 1);
		while (!atomic_load(&r->done) &&
		       atomic_load(&r->visible) < off + size &&
		       !mbfs_cancel_fired(cx)) {
			if (!cx) {
				/* woken by the sink (it adds, then looks at
				 * pwaiters) and by the run's end */
				pthread_cond_wait(&r->pcond, &r->plock);
				continue;
			}
			/* a cancel token's wake is its owner's (a fetch
			 * job's): notice it firing within 200 ms */
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
		end = atomic_load(&r->visible);
		if (done && r->status != MBFS_OK) {
			*err = r->err;
			/* an export that did not complete is never an EOF */
			if (mbfs_status_abandoned(r->status))
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

/* pread all of [off, off + len) from fd. */
static enum mbfs_status pread_all(int fd, char *buf, size_t len, uint64_t off,
				  struct mbfs_err *err)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mbfs_err_set(err, MBFS_ERR_IO, 0,
					    "cannot read the spool file: %s",
					    n < 0 ? strerror(errno) : "short");
		got += (size_t)n;
	}
	return MBFS_OK;
}

enum mbfs_status mbfs_export_stream_read(struct mbfs_stream *s, uint64_t off,
					 char *buf, size_t len,
					 struct mbfs_err *err)
{
	struct run *r = s->run;
	if (!r)
		return pread_all(s->fd, buf, len, off, err);
	size_t got = 0;
	for (;;) {
		/* what is written never changes: read it without the lock */
		uint64_t w = atomic_load(&r->bytes);
		if (off + got < w) {
			size_t n = w - (off + got) < len - got
					   ? (size_t)(w - (off + got))
					   : len - got;
			enum mbfs_status st =
				pread_all(s->fd, buf + got, n, off + got, err);
			if (st != MBFS_OK)
				return st;
			got += n;
			if (got == len)
				return MBFS_OK;
			continue;
		}
		/* the rest is held: copy it unless a flush wrote it first */
		pthread_mutex_lock(&r->hold_lock);
		uint64_t b = atomic_load(&r->bytes);
		if (off + got < b) {
			pthread_mutex_unlock(&r->hold_lock);
			continue;
		}
		bool have = off + len <= b + r->sink.held;
		if (have)
			memcpy(buf + got, r->sink.hold + (off + got - b),
			       len - got);
		pthread_mutex_unlock(&r->hold_lock);
		if (!have) /* the sink refused them: the run fails */
			return mbfs_err_set(err, MBFS_ERR_EXPORT, 0,
					    "the export ended before these bytes were kept");
		return MBFS_OK;
	}
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
		    r->job->waiters == 0 && mbfs_waitq_live(&r->job->q) == 0 &&
		    !r->for_stat) {
			/* head -c1 and friends: nobody wants the rest */
			atomic_store(&r->abort, true);
			if (r->job->run == r)
				r->job->run = NULL;
		}
		export_run_unref(r);
	}
	pthread_mutex_unlock(&ex->lock);
	if (!s->run)
		mbfs_spool_unpin(ex->spool, s->key, s->gen);
	free(s->key);
	free(s);
}
