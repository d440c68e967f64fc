/*
 * park.h — where FUSE requests wait so that FUSE workers never do.
 *
 * A request that needs the network (a listing fetch, an export, stream
 * bytes not yet arrived) is handed to a park pool and the FUSE worker goes
 * back to the kernel at once. A pool thread serves the parked request and
 * replies when its data is ready; the transfer itself runs on the
 * transport's I/O thread. Pools grow on demand up to max_threads; beyond
 * that tasks queue in FIFO order; a thread idle for 10 s leaves, so an
 * idle mount keeps none. Separate pools keep listings from ever queueing
 * behind stalled exports.
 *
 * Thread safety: submit may be called from any thread and never blocks.
 */
#ifndef MBFS_PARK_H
#define MBFS_PARK_H

struct mbfs_park;

struct mbfs_park *mbfs_park_new(const char *name, unsigned max_threads);
/* Queue fn(arg) to run on a pool thread. */
void mbfs_park_submit(struct mbfs_park *p, void (*fn)(void *), void *arg);
/* Threads now, idle ones among them, and the most there ever were. */
void mbfs_park_counts(struct mbfs_park *p, unsigned *threads, unsigned *idle,
		      unsigned *peak);
/* Run what is queued, then stop and wait for every thread to leave. */
void mbfs_park_free(struct mbfs_park *p);

#endif
