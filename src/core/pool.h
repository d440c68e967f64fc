/*
 * pool.h — the worker pool: the one pool of threads that runs work that
 * may take a while off the FUSE workers (DESIGN.md §5).
 *
 * Three kinds of work run here: a fetch job (a directory listing or a list
 * that requests wait for — one job per thing fetched, however many
 * requests wait for it), the retry of a request whose wait ended (it is
 * served again in a try scope and answers at once, cancel.h), and the
 * removal of a dropped result's spool file (spool.h). No request
 * waits on a pool thread: a waiting request sits in a wait queue (waitq.h)
 * without a thread, so the pool's size follows the fetches in flight, never
 * the requests waiting.
 *
 * Threads start on demand up to max_threads; beyond that work queues in
 * FIFO order; a thread idle for 10 s leaves, so an idle mount keeps none.
 *
 * Memory: an item is the caller's (embedded in its task or job) and must
 * stay valid until its fn runs; fn may free it. mbfs_pool_submit allocates
 * an item itself.
 *
 * Thread safety: submit may be called from any thread, also with other
 * locks held (it takes only the pool's lock and never runs fn itself).
 * mbfs_pool_free must not race with a submit: stop what submits first.
 */
#ifndef MBFS_POOL_H
#define MBFS_POOL_H

#include <stdbool.h>

struct mbfs_pool;

struct mbfs_pool_item {
	void (*fn)(void *arg);
	void *arg;
	struct mbfs_pool_item *next;  /* the pool's */
	bool owned;                   /* the pool's (allocated by submit) */
};

struct mbfs_pool *mbfs_pool_new(const char *name, unsigned max_threads);
/* Queue fn(arg). False when out of memory (nothing queued). */
bool mbfs_pool_submit(struct mbfs_pool *p, void (*fn)(void *), void *arg);
/* Queue it->fn(it->arg); it->fn and it->arg set by the caller. Never fails. */
void mbfs_pool_submit_item(struct mbfs_pool *p, struct mbfs_pool_item *it);
/* Threads now, idle ones among them, and the most there ever were. */
void mbfs_pool_counts(struct mbfs_pool *p, unsigned *threads, unsigned *idle,
		      unsigned *peak);
/* The most threads it may have. */
unsigned mbfs_pool_max(const struct mbfs_pool *p);
/* Run what is queued (also what that work queues), then stop and wait for
 * every thread to leave. */
void mbfs_pool_free(struct mbfs_pool *p);

#endif
