/*
 * run.h — one mount from start to end, once the options are parsed and
 * the credentials gathered: transport → server probe, capability table
 * and login → spool, exports, tree, query store, fs → the FUSE session
 * (fuse/session.c) → the unwind, in the order that keeps late replies and
 * transfers from outliving what they use.
 *
 * Memory: mbfs_run borrows the options (they must outlive it) and consumes
 * the credentials (wiped as soon as the authenticator holds its copies).
 * Threads: main's thread; every other thread is started and joined inside.
 * Blocks until the mount ends.
 */
#ifndef MBFS_RUN_H
#define MBFS_RUN_H

#include <stdio.h>

struct mbfs_creds;
struct mbfs_options;

/*
 * Connect, build, mount and serve until unmounted. mounted(arg) is called
 * once, when the mount exists (main finishes daemonizing there; may be
 * NULL). A failure before the mount prints one line on stderr. Returns
 * the exit status: 0 after a clean unmount, else 1.
 */
int mbfs_run(const struct mbfs_options *o, struct mbfs_creds *c,
	     void (*mounted)(void *arg), void *arg);

/* The versions of mbfs and the libraries it runs on, one per line, for
 * --version: mbfs, libfuse, libcurl, json-c. */
void mbfs_run_print_versions(FILE *f);

#endif
