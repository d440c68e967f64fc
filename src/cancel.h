/*
 * cancel.h — interrupting a thread that waits on the network's behalf.
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

#endif
