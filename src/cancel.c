/*
 * cancel.c — owns the per-thread cancel scope. See cancel.h.
 */
#include "cancel.h"

#include <stddef.h>

static _Thread_local struct mbfs_cancel *current;

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
