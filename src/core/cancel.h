/*
 * cancel.h — interrupting a thread that waits on the network's behalf, and
 * the "try" scope in which a thread must not wait at all.
 *
 * A parked FUSE request carries a struct mbfs_cancel; the thread serving it
 * enters a cancel scope (thread-local) before calling into fs.c, so the
 * waits deep below (export.c) can notice an interrupt without every
 * signature carrying a token. mbfs_cancel_fire() is called from libfuse's
 * interrupt callback (any thread); waiters are woken through the wake
 * function registered by the subsystem they wait in.
 *
 * Thread safety: the flag is atomic; the scope is per thread.
 */
#ifndef MBFS_CANCEL_H
#define MBFS_CANCEL_H

#include <stdatomic.h>
#include <stdbool.h>

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
 * network). fuse_ops.c serves every request first inside a try scope on
 * the FUSE worker; the one place below that would have to wait — a
 * listing or list fetch (tree.c, meta_cache.c), an export to run or to
 * finish, stream bytes not yet there (export.c) — returns
 * MBFS_ERR_WOULD_BLOCK instead, saying what it would wait for, and the
 * request is parked and served again where waiting is allowed. There is
 * no separate probe that re-derives the decision.
 */
enum mbfs_wait {
	MBFS_WAIT_NONE = 0,
	MBFS_WAIT_LISTING,         /* a directory listing or list must be fetched */
	MBFS_WAIT_EXPORT,          /* an export must run or finish */
};
void mbfs_nowait_enter(void);
/* Leave the scope; what a call inside it would have waited for. */
enum mbfs_wait mbfs_nowait_leave(void);
/* May the current thread wait on the network? */
bool mbfs_may_wait(void);

/* In a try scope: record what for, fill err, return MBFS_ERR_WOULD_BLOCK. */
enum mbfs_status mbfs_would_block(enum mbfs_wait what, struct mbfs_err *err);

#endif
