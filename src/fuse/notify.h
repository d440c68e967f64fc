/*
 * notify.h — the notifier thread: kernel cache invalidations that the
 * filesystem asks for (today: directory entries whose name a re-listing
 * dropped, so that a card renamed, moved or deleted on the server loses its
 * old name at once instead of after the entry timeout).
 *
 * They are sent from a thread of their own, never from a FUSE request
 * handler: the kernel takes the parent directory's lock to invalidate an
 * entry, and the request being handled may hold it (deadlock).
 *
 * Thread safety: mbfs_notify_entry may be called from any thread, with any
 * lock held: it only queues (bounded; beyond the bound requests are dropped
 * and the entry timeout does the work). Memory: the queue copies names.
 */
#ifndef MBFS_NOTIFY_H
#define MBFS_NOTIFY_H

#include <fuse_lowlevel.h>
#include <stdint.h>

struct mbfs_notify;

/* Start the thread for session se (borrowed; must outlive the notifier).
 * NULL when the thread cannot be started. */
struct mbfs_notify *mbfs_notify_new(struct fuse_session *se);

/* Stop the thread (pending invalidations are dropped) and free. */
void mbfs_notify_free(struct mbfs_notify *nt);

/* Queue "forget name in directory parent". Never blocks. */
void mbfs_notify_entry(struct mbfs_notify *nt, uint64_t parent,
		       const char *name);

/* The same, shaped as tree.h's gone hook (arg is the notifier). */
void mbfs_notify_gone(void *arg, uint64_t parent, const char *name);

#endif
