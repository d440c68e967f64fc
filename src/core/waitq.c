/*
 * waitq.c — owns wait queues of requests that wait without a thread:
 * membership, waking by threshold with an outcome, and the race between
 * a wake and an interrupt. See waitq.h.
 */
#include "waitq.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

void mbfs_waitq_init(struct mbfs_waitq *q, pthread_mutex_t *lock,
		     const void *obj, void (*on_empty)(void *owner),
		     void *owner)
{
	memset(q, 0, sizeof *q);
	q->lock = lock;
	q->obj = obj;
	q->on_empty = on_empty;
	q->owner = owner;
}

void mbfs_waitq_destroy(struct mbfs_waitq *q)
{
	struct mbfs_err e;
	mbfs_err_set(&e, MBFS_ERR_INTERRUPTED, 0, "unmounting");
	mbfs_waitq_wake(q, UINT64_MAX, MBFS_ERR_INTERRUPTED, &e);
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

bool mbfs_waitq_add(struct mbfs_waitq *q, struct mbfs_waiter *w,
		    uint64_t threshold)
{
	struct mbfs_waitq_ent *v = mbfs_grow(q->v, &q->cap, q->n, sizeof *v, 4);
	if (!v)
		return false;
	q->v = v;
	w->get(w);
	w->on = q;
	atomic_store(&w->lock, q->lock);
	q->v[q->n++] = (struct mbfs_waitq_ent){w, threshold};
	q->live++;
	/* seq_cst: on and lock are written before anybody sees WAITING */
	atomic_store(&w->state, MBFS_W_WAITING);
	return true;
}

void mbfs_waitq_wake(struct mbfs_waitq *q, uint64_t upto, enum mbfs_status st,
		     const struct mbfs_err *err)
{
	size_t k = 0;
	for (size_t i = 0; i < q->n; i++) {
		struct mbfs_waitq_ent e = q->v[i];
		if (e.threshold > upto &&
		    atomic_load(&e.w->state) == MBFS_W_WAITING) {
			q->v[k++] = e;
			continue;
		}
		int expect = MBFS_W_WAITING;
		if (atomic_compare_exchange_strong(&e.w->state, &expect,
						   MBFS_W_WOKEN)) {
			q->live--;
			e.w->on = NULL;
			e.w->outcome_of = q->obj;
			e.w->outcome = st;
			if (err)
				e.w->outcome_err = *err;
			else
				mbfs_err_clear(&e.w->outcome_err);
			e.w->outcome_err.status = st;
			e.w->wake(e.w); /* the queue's reference goes with it */
		} else {
			e.w->put(e.w); /* cancelled: its interrupter answered */
		}
	}
	q->n = k;
}

unsigned mbfs_waitq_live(const struct mbfs_waitq *q)
{
	return q->live;
}

size_t mbfs_waitq_len(const struct mbfs_waitq *q)
{
	return q->n;
}

bool mbfs_waiter_cancel(struct mbfs_waiter *w)
{
	for (;;) {
		if (atomic_load(&w->state) != MBFS_W_WAITING)
			return false;
		pthread_mutex_t *lk = atomic_load(&w->lock);
		pthread_mutex_lock(lk);
		/* woken and queued elsewhere in between: try that queue */
		if (atomic_load(&w->lock) != lk) {
			pthread_mutex_unlock(lk);
			continue;
		}
		int expect = MBFS_W_WAITING;
		bool won = atomic_compare_exchange_strong(&w->state, &expect,
							  MBFS_W_CANCELLED);
		if (won) {
			/* WAITING under this lock: w->on is a queue it owns */
			struct mbfs_waitq *q = w->on;
			if (q->live)
				q->live--;
			if (q->live == 0 && q->on_empty)
				q->on_empty(q->owner);
		}
		pthread_mutex_unlock(lk);
		return won;
	}
}

bool mbfs_waiter_take_outcome(struct mbfs_waiter *w, const void *obj,
			      enum mbfs_status *st, struct mbfs_err *err)
{
	if (!w || !obj || w->outcome_of != obj)
		return false;
	w->outcome_of = NULL;
	*st = w->outcome;
	if (err)
		*err = w->outcome_err;
	return true;
}
