/*
 * export.h — export jobs: how a read becomes a Metabase export and a file.
 *
 * A result is named by a key ("card:12:csv", "table:5:json", ...). The
 * engine guarantees:
 *  - single flight: concurrent callers for one key share one export;
 *  - at most max_exports exports run at once, later ones queue in order;
 *  - a result is complete or it is an error (DESIGN.md §2 rule 4): the
 *    bytes are validated for the in-band failure forms of every Metabase
 *    era before being committed to the spool; failures are never cached as
 *    results, but remembered for error_ttl seconds;
 *  - a fresh result (younger than result_ttl) is reused.
 *
 * Thread safety: every call may come from any thread. Locks: the engine's
 * mutex (jobs, runs), then the wait-queue mutex (the runs' byte wait
 * queues, also taken by the I/O thread's sink). mbfs_export_get() and
 * mbfs_export_stream_wait() BLOCK until the result (or the bytes) are
 * there — except in a try scope (cancel.h), where they queue the request
 * (waitq.h) and return MBFS_ERR_WOULD_BLOCK; the run's end, or the sink
 * when the bytes arrive, wakes it. The transfer itself runs on the
 * transport's I/O thread. Everything else never blocks on the network.
 */
#ifndef MBFS_EXPORT_H
#define MBFS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_client.h"
#include "spool.h"
#include "status.h"

struct mbfs_export;

struct mbfs_export_config {
	double result_ttl;
	double error_ttl;
	int max_exports;
	int64_t row_cap;           /* Metabase's download row cap (1,048,575) */
};

/* What is known about a key's result. */
struct mbfs_result_info {
	bool have;                 /* a committed result exists (maybe stale) */
	bool fresh;                /* ... and younger than result_ttl */
	struct mbfs_spool_info spool;
	bool failed;               /* the last attempt failed (until a success,
				      touch or SIGHUP) */
	bool retry_blocked;        /* ... less than error_ttl ago: fail fast */
	struct mbfs_err error;     /* that failure */
	double failed_at;          /* monotonic seconds */
};

enum mbfs_status mbfs_export_new(struct mb_client *client,
				 struct mbfs_spool *spool,
				 const struct mbfs_export_config *cfg,
				 struct mbfs_export **out, struct mbfs_err *err);
/* Unmounting: abort every run and make every waiter return
 * (MBFS_ERR_UNMOUNTING) without freeing anything. Non-blocking. */
void mbfs_export_shutdown(struct mbfs_export *ex);
/* Shut down and wait for the runners to end (each run ends, its waiters
 * woken): after this nothing in the engine wakes a waiter. Blocks until the
 * transfers have stopped (mb_http_stop ends them). */
void mbfs_export_join(struct mbfs_export *ex);
void mbfs_export_free(struct mbfs_export *ex);

/*
 * Make sure key has a fresh result, running req if needed (or joining the
 * export already running). With fd != NULL, also open the result for
 * reading and pin it (release with mbfs_export_release). The export itself
 * runs on the engine's runner threads (at most max_exports, in FIFO
 * order). Outside a try scope it blocks, as a waiter: if the thread's
 * cancel scope (cancel.h) fires, it returns MBFS_ERR_INTERRUPTED at once.
 * In a try scope it starts the run if needed and queues the request on
 * the job (MBFS_ERR_WOULD_BLOCK); the run's end wakes it with its outcome.
 * Either way the transfer is aborted when no other waiter remains.
 */
enum mbfs_status mbfs_export_get(struct mbfs_export *ex, const char *key,
				 const struct mb_export_req *req, int *fd,
				 struct mbfs_result_info *info,
				 struct mbfs_err *err);

/*
 * Stream mode (-o stream): start or join key's export and return at once
 * with a handle that reads the bytes as they arrive. A fresh cached result
 * is streamed from the spool. Free with mbfs_export_stream_close.
 */
struct mbfs_stream;
enum mbfs_status mbfs_export_stream_open(struct mbfs_export *ex,
					 const char *key,
					 const struct mb_export_req *req,
					 struct mbfs_stream **out,
					 struct mbfs_err *err);
/* Wait until [off, off+size) has arrived or the export ended; *avail is
 * how many bytes at off mbfs_export_stream_read() can give now (0 = end
 * of file). Received bytes count, written to the spool or not yet. An export that failed after bytes were delivered
 * gives its error (EIO), never a silent EOF. Blocks and honours the cancel
 * scope; in a try scope queues the request until off+size bytes are there
 * or the run ends. */
enum mbfs_status mbfs_export_stream_wait(struct mbfs_export *ex,
					 struct mbfs_stream *s, uint64_t off,
					 size_t size, size_t *avail,
					 struct mbfs_err *err);
/* Copy [off, off+len) — bytes mbfs_export_stream_wait() said are there —
 * into buf (the caller's, len bytes): from the spool file, and what the
 * sink still holds from its buffer (under the run's hold_lock, briefly;
 * the I/O thread takes it for each piece it receives). EXPORT when the
 * run failed before keeping them, IO on a spool read error. Does not
 * block on the network. */
enum mbfs_status mbfs_export_stream_read(struct mbfs_stream *s, uint64_t off,
					 char *buf, size_t len,
					 struct mbfs_err *err);
void mbfs_export_stream_close(struct mbfs_export *ex, struct mbfs_stream *s);

/* What is known about key, without running anything. */
void mbfs_export_peek(struct mbfs_export *ex, const char *key,
		      struct mbfs_result_info *info);

/* Undo the pin of a successful mbfs_export_get(fd != NULL). */
void mbfs_export_release(struct mbfs_export *ex, const char *key, uint64_t gen);

/* Forget key's result and failure (touch FILE); every key that starts
 * with prefix (SIGHUP: the mount's scope; results of other mounts sharing
 * the cache directory stay). */
void mbfs_export_invalidate(struct mbfs_export *ex, const char *key);
void mbfs_export_invalidate_all(struct mbfs_export *ex, const char *prefix);

/* .mbfs/exports: one line per export running or queued, tab-separated:
 * state (running|queued), bytes so far, rows so far, seconds running, the
 * expected size (the previous result's, 0 if unknown), label. */
int mbfs_export_describe_exports(struct mbfs_export *ex, char *out,
				 size_t outsz);
/* Prometheus text exposition of the export and cache counters. */
int mbfs_export_describe_metrics(struct mbfs_export *ex, char *out,
				 size_t outsz);
/* Add a failure that is not an export's (a listing's) to the ring that
 * .mbfs/errors shows; what names it ("collections/Sales/ (listing)").
 * Takes the engine's mutex (a leaf lock): callable with the tree lock
 * held. Never blocks on the network. */
void mbfs_export_note_error(struct mbfs_export *ex, const char *what,
			    const struct mbfs_err *err);

/* Text for .mbfs/stats (running exports, counters) and .mbfs/errors. */
int mbfs_export_describe_stats(struct mbfs_export *ex, char *out, size_t outsz);
int mbfs_export_describe_errors(struct mbfs_export *ex, char *out, size_t outsz);

#endif
