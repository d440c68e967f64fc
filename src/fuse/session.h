/*
 * session.h — the FUSE session: what libfuse is told (the pass-through
 * options, fsname, debug), the session's life (new, signal handlers,
 * mount, the request loop and its threads, unmount, destroy), the
 * notifier and the SIGHUP thread. The one place besides the shim and the
 * notifier that sees libfuse: nothing here exposes a libfuse type except
 * mbfs_session_fuse_args (struct fuse_args, declared, not included).
 *
 * Memory: nothing returned is owned by the caller except *fa of
 * mbfs_session_fuse_args. Threads: call from main's thread.
 */
#ifndef MBFS_SESSION_H
#define MBFS_SESSION_H

#include <stdbool.h>

struct fuse_args;
struct mbfs_fs;
struct mbfs_options;
struct mbfs_tree;

/*
 * Check, before anything is started, that libfuse accepts every
 * pass-through option (a trial session per option, libfuse's own message
 * silenced; the fstab/mount(8) options are skipped). Prints one line
 * naming the first unknown option, with a hint; false then. Does not block.
 */
bool mbfs_session_check_options(const struct mbfs_options *o);

/*
 * What libfuse is given from the command line: "mbfs", then "-o" and the
 * pass-through -o options ('\\' and ',' escaped), then the other
 * pass-through arguments; the fstab/mount(8) options (_netdev, noauto,
 * x-* ...) are dropped. 0, or -1 when out of memory. The caller frees *fa
 * with fuse_opt_free_args (also after -1).
 */
int mbfs_session_fuse_args(const struct mbfs_options *o, struct fuse_args *fa);

/* The libfuse version, for --version (static storage). */
const char *mbfs_session_fuse_version(void);

struct mbfs_pool;

/* What the caller does at moments of the session (arg is its own). */
struct mbfs_session_hooks {
	/* the mount exists, requests are about to be served */
	void (*mounted)(void *arg);
	/* the loop ended, listings are stopped: end every export and
	 * transfer and join their threads, before the worker pool drains */
	void (*stopping)(void *arg);
	/* the worker pool exists (pool), or is about to drain and go (NULL,
	 * after stopping): for background work of the caller's modules */
	void (*pool)(void *arg, struct mbfs_pool *pool);
	void *arg;
};

/*
 * Serve fs on o->mountpoint until it is unmounted: the worker pool, the
 * session (fsname=URL,subtype=mbfs; -odebug with -d), the notifier and
 * the hooks of fs and tree it feeds, signal handlers (SIGINT/SIGTERM end
 * the loop, SIGHUP drops every cache), mount, the loop (single-threaded
 * with -s, else up to 64 workers; threads_max in .mbfs/stats is
 * 4 + 64 + 256 pool threads + max_exports), then the unwind in an order that lets
 * no late reply reach a reused descriptor. A failure before the mount
 * prints one line (or none, out of memory). fs and tree are borrowed and
 * must outlive the call. Blocks until unmounted. Returns the exit status:
 * 0 after a clean unmount (also a lazy one), else 1.
 */
int mbfs_session_run(const struct mbfs_options *o, struct mbfs_fs *fs,
		     struct mbfs_tree *tree,
		     const struct mbfs_session_hooks *hooks);

#endif
