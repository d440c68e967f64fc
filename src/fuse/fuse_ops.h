/*
 * fuse_ops.h — the FUSE low-level shim: decodes each request, calls fs.c,
 * and replies exactly once on every path. The only file (with main.c) that
 * sees libfuse types, and the only place a status becomes an errno (where
 * the failure is logged, once).
 */
#ifndef MBFS_FUSE_OPS_H
#define MBFS_FUSE_OPS_H

#include <fuse_lowlevel.h>

#include "fs.h"
#include "pool.h"

/* The operations table; userdata passed to fuse_session_new must be the
 * struct mbfs_fs_ctx below. */
extern const struct fuse_lowlevel_ops mbfs_fuse_ops;

struct mbfs_fs_ctx {
	struct mbfs_fs *fs;
	struct fuse_session *se;   /* set after fuse_session_new */
	struct mbfs_pool *pool;    /* the worker pool: fetch jobs and the
				      retries of requests whose wait ended */
	unsigned threads_max;      /* the bound on the process's threads */
};

/* Prometheus text: FUSE requests by operation, threads, the worker pool,
 * requests waiting. arg is the struct mbfs_fs_ctx (fs.h's metrics hook). */
int mbfs_fuse_describe_metrics(void *arg, char *out, size_t outsz);
/* .mbfs/stats lines: threads now and their bound, the worker pool,
 * requests waiting. arg as above (fs.h's stats hook). */
int mbfs_fuse_describe_stats(void *arg, char *out, size_t outsz);

#endif
