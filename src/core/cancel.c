/*
 * cancel.c — owns the per-thread cancel scope and try scope. See cancel.h.
 */
#include "cancel.h"

#include <stddef.h>

static _Thread_local struct mbfs_cancel *current;
static _Thread_local bool nowait;
static _Thread_local enum mbfs_wait nowait_what;

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

void mbfs_nowait_enter(void)
{
	nowait = true;
	nowait_what = MBFS_WAIT_NONE;
}

enum mbfs_wait mbfs_nowait_leave(void)
{
	nowait = false;
	return nowait_what;
}

bool mbfs_may_wait(void)
{
	return !nowait;
}

enum mbfs_status mbfs_would_block(enum mbfs_wait what, struct mbfs_err *err)
{
	if (nowait_what == MBFS_WAIT_NONE)
		nowait_what = what;
	return mbfs_err_set(err, MBFS_ERR_WOULD_BLOCK, 0, "would wait on the network");
}
