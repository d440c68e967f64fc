/*
 * session.h — the FUSE session: what libfuse is told (the pass-through
 * options). The one place besides the shim and the notifier that sees
 * libfuse: nothing here exposes a libfuse type except
 * mbfs_session_fuse_args (struct fuse_args, declared, not included).
 *
 * Memory: nothing returned is owned by the caller except *fa of
 * mbfs_session_fuse_args. Threads: call from main's thread.
 */
#ifndef MBFS_SESSION_H
#define MBFS_SESSION_H

#include <stdbool.h>

struct fuse_args;
struct mbfs_options;

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

#endif
