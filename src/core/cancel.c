/*
 * cancel.c — owns the per-thread cancel scope and try scope (with the waiter a wait
 * inside it queues). See cancel.h.
 */
#include "cancel.h"

#include <stddef.h>

#include "waitq.h"

static _Thread_local struct mbfs_cancel *current;
static _Thread_local bool nowait;
static _Thread_local struct mbfs_waiter *try_waiter;
static _Thread_local bool try_queued;

struct mbfs_cancel *mbfs_cancel_current(void)
{
	return current;
}

void mbfs_cancel_enter(struct mbfs_cancel *c)
{
	current = c;
}

void mbfs_cancel_leave(void)
{
	current = NULL;
}

bool mbfs_cancel_fired(const struct mbfs_cancel *c)
{
	return c && atomic_load(&c->fired);
}

void mbfs_cancel_fire(struct mbfs_cancel *c)
{
	if (!c)
		return;
	atomic_store(&c->fired, true);
	if (c->wake)
		c->wake(c->wake_arg);
}

void mbfs_try_enter(struct mbfs_waiter *w)
{
	nowait = true;
	try_waiter = w;
	try_queued = false;
}

bool mbfs_try_leave(void)
{
	nowait = false;
	try_waiter = NULL;
	return try_queued;
}

bool mbfs_may_wait(void)
{
	return !nowait;
}

enum mbfs_status mbfs_wait_on(struct mbfs_waitq *q, uint64_t threshold,
			      struct mbfs_err *err)
{
	if (try_waiter && !try_queued) {
		if (!mbfs_waitq_add(q, try_waiter, threshold))
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
					    "out of memory");
		try_queued = true;
	}
	return mbfs_err_set(err, MBFS_ERR_WOULD_BLOCK, 0,
			    "would wait on the network");
}

bool mbfs_waited_for(const void *obj, enum mbfs_status *st,
		     struct mbfs_err *err)
{
	return mbfs_waiter_take_outcome(try_waiter, obj, st, err);
}
