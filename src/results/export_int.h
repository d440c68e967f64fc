/*
 * export_int.h — what the export engine's files share:
 *   export.c         jobs, runs, runner threads, single flight, waiters,
 *                    streams, failure memory
 *   export_report.c  .mbfs/stats, .mbfs/exports, metrics, the error ring
 * Locks: ex->lock protects the job table, the queue, the counters, the
 * error ring, the jobs' wait queues and the run fields marked (ex->lock);
 * ex->wq_lock the runs' byte wait queues (taken after ex->lock, also by
 * the I/O thread's sink); a run's plock only its stream readers' wait.
 * Lock order: export, then spool (mbfs_spool_*), then the spool's flock.
 * Memory: jobs live until mbfs_export_free; a run is reference counted
 * (the job while it runs, each stream handle).
 */
#ifndef MBFS_EXPORT_INT_H
#define MBFS_EXPORT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "export.h"
#include "util.h"
#include "verify.h"
#include "waitq.h"

#define MAX_RUNNERS 256

#define ERR_RING 64

struct run;

struct job {
	char *key;
	struct mbfs_map_item item; /* in ex->jobs, by key */
	struct run *run;           /* the run in progress (queued or running) */
	unsigned waiters;          /* threads in mbfs_export_get on this job */
	struct mbfs_waitq q;       /* requests waiting for its run (ex->lock) */
	uint64_t done_seq;         /* bumped when a run ends */
	bool failed;
	struct mbfs_err error;
	double failed_at;          /* monotonic seconds */
	/* A result materialized by a lookup/stat that no open has used yet:
	 * the open that follows takes it even when result_ttl has passed, so
	 * one access (lookup + open) costs one export. */
	bool unconsumed;
	double done_at;            /* monotonic seconds of the last success */
	uint64_t last_size;        /* the size of its last result (progress) */
};

struct err_rec {
	double when;               /* wall clock */
	char key[1024];            /* what failed: "<path> (<object>)" */
	int http;
	char msg[MBFS_ERR_MSG_MAX];
};

struct mbfs_export {
	struct mb_client *client;
	struct mbfs_spool *spool;
	struct mbfs_export_config cfg;
	atomic_uint_fast64_t n_spool_writes; /* write calls into spool files */
	pthread_mutex_t lock;      /* protects everything below and run state */
	pthread_mutex_t wq_lock;   /* the runs' byte wait queues (after lock) */
	pthread_cond_t cond;       /* a run ended, or a waiter was cancelled */
	pthread_cond_t runner_cond;/* the queue got work, or stopping */
	struct mbfs_map jobs;      /* key → struct job */
	struct run *queue_head, *queue_tail; /* runs waiting for a runner */
	pthread_t runners[MAX_RUNNERS];
	int n_runners;
	bool stopping;
	int running;               /* runs being executed */
	uint64_t n_exports, n_failed, n_hits, n_joined, n_interrupted;
	uint64_t n_succeeded, n_misses;
	uint64_t failed_by[MBFS_STATUS_COUNT]; /* failures by status */
	struct err_rec errors[ERR_RING];
	unsigned err_next, err_count;
};


/* ---- runs ----------------------------------------------------------------- */

struct sink {
	int fd;
	int write_errno;
	struct mbfs_verify scan;
	/* bytes received but not yet written (export.c sink_write), the
	 * bytes right after the run's `bytes`; run->hold_lock */
	char *hold;                /* NULL until first needed; SINK_HOLD bytes */
	size_t held;
	double held_since;         /* monotonic time of the oldest held byte */
};

struct run {
	struct job *job;
	struct mb_export_req req;  /* deep copy; strings below */
	char *format, *parameters, *sql, *label, *uuid, *object;
	char *tmp;                 /* temp spool file */
	struct sink sink;
	/* Every write of the sink (the I/O thread's, the runner's last
	 * flush) and every copy out of its hold buffer (a stream reader)
	 * runs under hold_lock. Order: hold_lock, then ex->wq_lock or
	 * plock; nothing is held when it is taken. */
	pthread_mutex_t hold_lock;
	atomic_uint_fast64_t bytes;  /* written to the spool file (scanned) */
	atomic_uint_fast64_t visible; /* received: bytes + held; stream
					 readers may read up to here */
	atomic_uint_fast64_t rows;   /* records (CSV) / objects (JSON) so far */
	uint64_t expected;           /* the previous result's size (0: unknown) */
	uint64_t last_size;          /* the job's last_size when it started */
	double next_progress;        /* monotonic time of the next progress line
					(I/O thread only) */
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
	/* stream readers wait here for `visible` bytes: threads (outside a
	 * try scope) on pcond, requests without a thread in q (ex->wq_lock;
	 * nq mirrors its length for the I/O thread's lock-free check) */
	pthread_mutex_t plock;
	pthread_cond_t pcond;
	atomic_uint pwaiters;
	struct mbfs_export *ex;
	struct mbfs_waitq q;
	atomic_size_t nq;
};

/* The job of key, created when there is none (NULL: out of memory).
 * ex->lock held. */
struct job *export_job_get(struct mbfs_export *ex, const char *key);
/* What the spool and the job know about key (j may be NULL). ex->lock
 * held. */
void export_fill_info(struct mbfs_export *ex, struct job *j, const char *key,
		      struct mbfs_result_info *info);
/* Start a run for j and queue it for a runner; UNMOUNTING once the engine
 * is shutting down. ex->lock held. */
enum mbfs_status export_start_run(struct mbfs_export *ex, struct job *j,
				  const struct mb_export_req *req, bool for_stat,
				  struct mbfs_err *err);
/* Drop one reference of r, freeing it with the last. ex->lock held. */
void export_run_unref(struct run *r);

/* Every job: for (j = export_job_first(ex, &i); j; j = export_job_next(&i)).
 * ex->lock held. */
struct job *export_job_first(struct mbfs_export *ex, struct mbfs_map_iter *i);
struct job *export_job_next(struct mbfs_map_iter *i);
/* Add a failure to the ring of .mbfs/errors. ex->lock held. */
void export_record_error(struct mbfs_export *ex, const char *key,
			 const struct mbfs_err *err);

#endif
