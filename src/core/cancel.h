/*
 * cancel.h — interrupting a thread that waits on the network's behalf, and
 * the "try" scope in which a thread must not wait at all.
 *
 * A fetch job (tree.c, meta_cache.c) carries a struct mbfs_cancel; the
 * pool thread running it enters a cancel scope (thread-local), so the
 * transfer and the waits deep below can notice that every request waiting
 * for the job was interrupted, without every signature carrying a token.
 * mbfs_cancel_fire() may be called from any thread; a thread waiting on a
 * condition is woken through the wake function set by the job's owner.
 *
 * Thread safety: the flag is atomic; the scope is per thread.
 */
#ifndef MBFS_CANCEL_H
#define MBFS_CANCEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"

struct mbfs_cancel {
	atomic_bool fired;
	void (*wake)(void *arg);   /* set by the subsystem being waited on */
	void *wake_arg;
};

/* The token of the request this thread serves, or NULL. */
struct mbfs_cancel *mbfs_cancel_current(void);
void mbfs_cancel_enter(struct mbfs_cancel *c);
void mbfs_cancel_leave(void);

/* Has the current thread's request been interrupted? */
bool mbfs_cancel_fired(const struct mbfs_cancel *c);

/* Interrupt: set the flag and wake the waiter (any thread). */
void mbfs_cancel_fire(struct mbfs_cancel *c);

/*
 * The try scope (DESIGN.md §2 rule 5: no FUSE worker waits on the
 * network; §5: no thread waits per request). fuse_ops.c serves every
 * request inside a try scope with its waiter (waitq.h); the one place
 * below that would have to wait — a listing or list fetch (tree.c,
 * meta_cache.c), an export to run or to finish, stream bytes not yet there
 * (export.c) — starts what it waits for (a fetch job, a run) if nobody
 * has, queues the waiter on that object's wait queue with mbfs_wait_on
 * and returns MBFS_ERR_WOULD_BLOCK; nothing is replied and the thread
 * moves on. The object's completion wakes the waiter, whose retry is
 * served again in a try scope and takes the outcome with mbfs_waited_for.
 * There is no separate probe that re-derives the decision.
 *
 * Outside a try scope (a fetch job, a runner, unit tests) the same calls
 * wait in place, interruptible through the cancel token above.
 */
struct mbfs_waiter;
struct mbfs_waitq;

/* Enter a try scope for waiter w (NULL: a try without a waiter, whose
 * waits only return WOULD_BLOCK). */
void mbfs_try_enter(struct mbfs_waiter *w);
/* Leave it; true when a call inside queued the waiter. */
bool mbfs_try_leave(void);
/* May the current thread wait on the network? */
bool mbfs_may_wait(void);

/* In a try scope: queue the current waiter on q (whose lock the caller
 * holds), at most once per scope, and return MBFS_ERR_WOULD_BLOCK
 * (MBFS_ERR_NOMEM when it cannot be queued). threshold: see waitq.h. */
enum mbfs_status mbfs_wait_on(struct mbfs_waitq *q, uint64_t threshold,
			      struct mbfs_err *err);
/* In the retry of a request that waited for obj: its outcome (once). */
bool mbfs_waited_for(const void *obj, enum mbfs_status *st,
		     struct mbfs_err *err);

#endif
