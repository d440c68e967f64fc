/*
 * waitq.h — requests that wait without a thread (DESIGN.md §5: no thread
 * is parked per waiting request; whoever completes what they wait for —
 * an export's runner, the I/O thread's byte sink, a fetch job — completes
 * them by callback).
 *
 * A waiter is a request (fuse_ops.c's task) that the try scope (cancel.h)
 * found would have to wait: at the very place of the wait it is added to
 * the wait queue of the object it waits for (an export job, a stream run,
 * a directory, a list), and its thread moves on. When the object
 * completes, its owner wakes the queue: each waiter gets the outcome
 * (status and error) and its wake callback schedules a retry on the
 * worker pool, which serves the request again in a try scope — now it
 * answers, or waits on something else. The outcome is how a retry takes
 * the result of the fetch it waited for, even one that failed or that a
 * zero TTL makes stale at once, instead of starting another.
 *
 * States, changed by compare-and-swap so that exactly one party acts:
 *   RUNNING   a thread serves it
 *   WAITING   in a queue, no thread
 *   WOKEN     its retry is scheduled (the waker won)
 *   CANCELLED interrupted while WAITING (the interrupter won and answers)
 *
 * References: the waiter's owner counts them through get/put; a queue
 * holds one per entry; waking hands that reference to the retry.
 *
 * Locking: a queue is protected by its owner's mutex (given at init),
 * which must live as long as any waiter may be in the queue (the owner's
 * lifetime, e.g. the export module's lock). Every mbfs_waitq_* call
 * expects that mutex held. mbfs_waiter_cancel (any thread, e.g. libfuse's
 * interrupt callback) takes it itself. The wake, get and put callbacks and
 * on_empty run with the owner's mutex held: they must not block or take
 * it.
 */
#ifndef MBFS_WAITQ_H
#define MBFS_WAITQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

enum mbfs_waiter_state {
	MBFS_W_RUNNING = 0,
	MBFS_W_WAITING,
	MBFS_W_WOKEN,
	MBFS_W_CANCELLED,
};

struct mbfs_waitq;

struct mbfs_waiter {
	atomic_int state;
	void (*wake)(struct mbfs_waiter *w);  /* schedule the retry (owns a ref) */
	void (*get)(struct mbfs_waiter *w);   /* take one reference */
	void (*put)(struct mbfs_waiter *w);   /* drop one reference */
	/* set while in a queue (under the queue's lock) */
	struct mbfs_waitq *on;
	_Atomic(pthread_mutex_t *) lock;      /* on's lock */
	/* set by the waker, read by the retry */
	const void *outcome_of;               /* the object waited for */
	enum mbfs_status outcome;
	struct mbfs_err outcome_err;
};

struct mbfs_waitq_ent {
	struct mbfs_waiter *w;
	uint64_t threshold;        /* stream waits: the bytes needed */
};

struct mbfs_waitq {
	pthread_mutex_t *lock;     /* the owner's mutex */
	const void *obj;           /* what the outcome is of */
	struct mbfs_waitq_ent *v;
	size_t n, cap;
	unsigned live;             /* entries not cancelled */
	/* The last waiter left (cancelled): e.g. abort the transfer nobody
	 * wants any more. Owner's mutex held. May be NULL. */
	void (*on_empty)(void *owner);
	void *owner;
};

void mbfs_waitq_init(struct mbfs_waitq *q, pthread_mutex_t *lock,
		     const void *obj, void (*on_empty)(void *owner),
		     void *owner);
/* Wake everything still queued (with an INTERRUPTED outcome), then free
 * the queue's memory. */
void mbfs_waitq_destroy(struct mbfs_waitq *q);

/* Queue w (its state goes RUNNING → WAITING). False when out of memory
 * (w is then not queued). */
bool mbfs_waitq_add(struct mbfs_waitq *q, struct mbfs_waiter *w,
		    uint64_t threshold);
/* Wake the waiters whose threshold is <= upto (UINT64_MAX: all), giving
 * each the outcome st/err (err may be NULL). */
void mbfs_waitq_wake(struct mbfs_waitq *q, uint64_t upto, enum mbfs_status st,
		     const struct mbfs_err *err);
/* Entries not cancelled. */
unsigned mbfs_waitq_live(const struct mbfs_waitq *q);
/* Entries, cancelled ones included (they go at the next wake). */
size_t mbfs_waitq_len(const struct mbfs_waitq *q);

/* An interrupt: WAITING → CANCELLED. True when this call won (the caller
 * then answers the request); the queue's on_empty runs when it was the
 * last live waiter. Takes the queue's lock. */
bool mbfs_waiter_cancel(struct mbfs_waiter *w);

/* The retry's side: if w was woken by obj's queue, take the outcome
 * (once) and return true. */
bool mbfs_waiter_take_outcome(struct mbfs_waiter *w, const void *obj,
			      enum mbfs_status *st, struct mbfs_err *err);

#endif
