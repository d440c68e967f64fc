/*
 * fuse_ops.c — owns the translation between libfuse low-level requests and
 * fs calls for everything but the writes of queries/ (fuse_write.c):
 * argument decoding, entry/attr encoding, errno mapping (via status.c's
 * table), the one log line per failed request, the requests that wait (as
 * waiters, retried on the pool), the ops table and the shim's metrics.
 * Every handler replies exactly once. See fuse_ops.h and fuse_int.h.
 */
#include "fuse_ops.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cancel.h"
#include "log.h"
#include "util.h"
#include "fuse_int.h"
#include "passthrough.h"
#include "waitq.h"

/* FUSE requests received, by operation (.mbfs/metrics). */
atomic_uint_fast64_t mbfs_fuse_op_count[MBFS_OP_COUNT];

static const char *const op_names[MBFS_OP_COUNT] = {
	[MBFS_OP_LOOKUP] = "lookup",
	[MBFS_OP_FORGET] = "forget",
	[MBFS_OP_FORGET_MULTI] = "forget_multi",
	[MBFS_OP_GETATTR] = "getattr",
	[MBFS_OP_SETATTR] = "setattr",
	[MBFS_OP_OPENDIR] = "opendir",
	[MBFS_OP_READDIR] = "readdir",
	[MBFS_OP_READDIRPLUS] = "readdirplus",
	[MBFS_OP_RELEASEDIR] = "releasedir",
	[MBFS_OP_OPEN] = "open",
	[MBFS_OP_READ] = "read",
	[MBFS_OP_RELEASE] = "release",
	[MBFS_OP_GETXATTR] = "getxattr",
	[MBFS_OP_LISTXATTR] = "listxattr",
	[MBFS_OP_STATFS] = "statfs",
	[MBFS_OP_CREATE] = "create",
	[MBFS_OP_MKNOD] = "mknod",
	[MBFS_OP_WRITE] = "write",
	[MBFS_OP_FLUSH] = "flush",
	[MBFS_OP_FSYNC] = "fsync",
	[MBFS_OP_UNLINK] = "unlink",
	[MBFS_OP_RENAME] = "rename",
	[MBFS_OP_MKDIR] = "mkdir",
	[MBFS_OP_RMDIR] = "rmdir",
	[MBFS_OP_SYMLINK] = "symlink",
	[MBFS_OP_LINK] = "link",
	[MBFS_OP_SETXATTR] = "setxattr",
	[MBFS_OP_REMOVEXATTR] = "removexattr",
};

struct mbfs_fs_ctx *mbfs_fuse_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Reply with the errno of a failure; log it once. Expected misses (ENOENT
 * on lookup, ENODATA on getxattr) and failures already logged where they
 * happened (err->logged: a failed export) are logged at debug level
 * only. */
void mbfs_fuse_reply_status(fuse_req_t req, const char *op,
			    const struct mbfs_err *err, enum mbfs_status st)
{
	int e = mbfs_status_errno(st);
	if (st == MBFS_ERR_NOT_FOUND || st == MBFS_ERR_NO_ATTR ||
	    st == MBFS_ERR_RANGE || st == MBFS_ERR_READONLY ||
	    st == MBFS_ERR_STALE || st == MBFS_ERR_PERM ||
	    st == MBFS_ERR_EXISTS || st == MBFS_ERR_NOT_SUPPORTED ||
	    err->logged)
		mbfs_debug("%s: %s (%s)", op, strerror(e), err->msg);
	else
		mbfs_warn("%s: %s: %s", op, strerror(e), err->msg);
	fuse_reply_err(req, e);
}

void mbfs_fuse_to_stat(const struct mbfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 65536;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime;
	st->st_ctim.tv_sec = a->mtime;
	st->st_atim.tv_sec = a->mtime;
}

void mbfs_fuse_to_entry(const struct mbfs_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->ino = a->ino;
	e->generation = 1;
	mbfs_fuse_to_stat(a, &e->attr);
	e->attr_timeout = a->timeout;
	e->entry_timeout = a->timeout;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Listings come with attributes, always (DESIGN.md §2 rule 2). */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	/* We decide cache invalidation ourselves (keep_cache per generation). */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	/* Lookups and readdirs of one directory may run at once (fs.c is
	 * thread-safe). libfuse before 3.17.1 never passes this to the
	 * kernel (libfuse #861), so on Debian 12 the kernel still lets one
	 * lookup per directory through at a time; from 3.17.1 on it does. */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Spooled results read by the kernel itself where it may
	 * (passthrough.h); else every READ comes here. */
	mbfs_pt_init(conn);
}

/* ---- requests that wait ---------------------------------------------------
 * Every request that may need the network is a task, served inside a try
 * scope (cancel.h) on the FUSE worker that received it. Whatever would
 * wait below starts what it waits for (an export run, a listing fetch job)
 * and queues the task on that object's wait queue (waitq.h); nothing is
 * replied and the worker goes back to the kernel. No thread holds the
 * task while it waits. The object's end wakes it: its retry runs on the
 * worker pool (pool.h), served again in a try scope, and answers — or
 * waits for something else.
 *
 * The decision is taken once, where the wait would happen; no probe
 * re-derives it, so no FUSE worker ever waits on the network, and the
 * thread count does not grow with the requests waiting.
 *
 * Interrupts (Ctrl-C on the waiting process): libfuse's interrupt callback
 * is installed before the task is first served and removed (unarm) before
 * any reply but the callback's own. When the task waits in a queue the
 * callback cancels it (WAITING → CANCELLED, exactly one of it and the
 * waker wins) and answers EINTR; otherwise it leaves a flag that the
 * serving thread checks once the task is queued.
 *
 * References on a task: the thread serving it; the armed interrupt
 * callback; a queue while the task is in it (handed to the retry on a
 * wake). */

enum task_op { T_LOOKUP, T_GETATTR, T_OPEN, T_OPENDIR, T_READ };

struct task {
	struct mbfs_waiter w;      /* first: the waiter is the task */
	atomic_uint refs;
	atomic_bool interrupted;
	bool armed;                /* the interrupt callback is installed */
	struct mbfs_pool_item retry;
	fuse_req_t req;
	struct mbfs_fs_ctx *ctx;
	enum task_op op;
	fuse_ino_t ino;
	char *name;
	struct fuse_file_info fi;
	bool has_fi;
	size_t size;
	off_t off;
};

/* Requests waiting in a queue now (.mbfs/stats; a retry may count down
 * before its first serve counted up, hence signed). */
static atomic_int tasks_waiting;

static bool serve(struct task *t);

static void task_get(struct mbfs_waiter *w)
{
	atomic_fetch_add(&((struct task *)w)->refs, 1);
}

static void task_put(struct mbfs_waiter *w)
{
	struct task *t = (struct task *)w;
	if (atomic_fetch_sub(&t->refs, 1) == 1) {
		free(t->name);
		free(t);
	}
}

/* Called before any reply but on_interrupt's: after this libfuse will not
 * call on_interrupt any more (it takes the request's lock, so a callback
 * in progress has returned). */
static void unarm(struct task *t)
{
	if (!t->armed)
		return;
	t->armed = false;
	fuse_req_interrupt_func(t->req, NULL, NULL);
	task_put(&t->w); /* the callback's reference */
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct task *t = data;
	atomic_store(&t->interrupted, true);
	if (mbfs_waiter_cancel(&t->w)) {
		/* it waited in a queue: nobody else will answer it */
		atomic_fetch_sub(&tasks_waiting, 1);
		mbfs_debug("request interrupted while waiting");
		fuse_reply_err(req, EINTR);
		task_put(&t->w); /* the callback's reference */
	}
}

static void retry_run(void *arg);

/* The task's wait ended (the waker won; its queue's lock may be held):
 * serve it again on the worker pool. */
static void task_wake(struct mbfs_waiter *w)
{
	struct task *t = (struct task *)w;
	t->retry.fn = retry_run;
	t->retry.arg = t;
	mbfs_pool_submit_item(t->ctx->pool, &t->retry);
}

/* Serve t in a try scope; the caller holds a reference. A retry of a
 * task interrupted since it was woken answers EINTR at once. */
static void serve_try(struct task *t, bool retry)
{
	if (retry && atomic_load(&t->interrupted)) {
		unarm(t);
		fuse_reply_err(t->req, EINTR);
		return;
	}
	mbfs_try_enter(&t->w);
	bool done = serve(t);
	bool queued = mbfs_try_leave();
	if (done) {
		if (queued) /* a wait site that did not return WOULD_BLOCK */
			mbfs_error("bug: a request answered while queued");
		return;
	}
	if (!queued) {
		/* WOULD_BLOCK without a queue: a wait site outside the
		 * protocol; answer rather than lose the request */
		mbfs_error("bug: a request would wait without a queue");
		unarm(t);
		fuse_reply_err(t->req, EIO);
		return;
	}
	atomic_fetch_add(&tasks_waiting, 1);
	/* interrupted while it was being served: the callback could not
	 * cancel it then; whoever wins the cancel now answers */
	if (atomic_load(&t->interrupted) && mbfs_waiter_cancel(&t->w)) {
		atomic_fetch_sub(&tasks_waiting, 1);
		unarm(t);
		fuse_reply_err(t->req, EINTR);
	}
}

static void retry_run(void *arg)
{
	struct task *t = arg;
	atomic_fetch_sub(&tasks_waiting, 1);
	atomic_store(&t->w.state, MBFS_W_RUNNING);
	serve_try(t, true);
	task_put(&t->w); /* the queue's reference, handed over by the wake */
}

/* Serve t on this FUSE worker. Takes ownership of t. */
static void dispatch(struct task *t)
{
	/* armed before the first serve: once the task is queued, a retry
	 * may answer (and libfuse free the request) at any moment */
	task_get(&t->w);
	t->armed = true;
	fuse_req_interrupt_func(t->req, on_interrupt, t);
	serve_try(t, false);
	task_put(&t->w);
}

/* A request that may wait becomes a task and is served (now, or when
 * what it waits for is there). name: LOOKUP's name (copied); size and
 * off: READ's. Replies ENOMEM when out of memory. */
static void task_start(fuse_req_t req, enum task_op op, fuse_ino_t ino,
		       struct fuse_file_info *fi, const char *name,
		       size_t size, off_t off)
{
	struct task *t = calloc(1, sizeof *t);
	if (!t || (name && !(t->name = strdup(name)))) {
		free(t);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	atomic_init(&t->w.state, MBFS_W_RUNNING);
	t->w.wake = task_wake;
	t->w.get = task_get;
	t->w.put = task_put;
	atomic_init(&t->refs, 1);
	atomic_init(&t->interrupted, false);
	t->req = req;
	t->ctx = mbfs_fuse_ctx(req);
	t->op = op;
	t->ino = ino;
	if (fi) {
		t->fi = *fi;
		t->has_fi = true;
	}
	t->size = size;
	t->off = off;
	dispatch(t);
}

struct mbfs_file *mbfs_fuse_file(struct fuse_file_info *fi)
{
	return fi ? (struct mbfs_file *)(uintptr_t)fi->fh : NULL;
}

/* What a serve_* does with fs's answer st: MBFS_ERR_WOULD_BLOCK → WAITS
 * (nothing replied; a wake retries the task); otherwise t is disarmed,
 * and a failure is replied here (REPLIED); REPLY: the caller replies
 * with its result. */
enum settled { WAITS, REPLIED, REPLY };

static enum settled settle(struct task *t, const char *op,
			   enum mbfs_status st, struct mbfs_err *err)
{
	if (st == MBFS_ERR_WOULD_BLOCK)
		return WAITS;
	unarm(t);
	if (st == MBFS_OK)
		return REPLY;
	mbfs_fuse_reply_status(t->req, op, err, st);
	return REPLIED;
}

static bool serve_lookup(struct task *t)
{
	struct mbfs_attr a;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_lookup(t->ctx->fs, t->ino, t->name, &a,
					     &err);
	enum settled how = settle(t, "lookup", st, &err);
	if (how != REPLY)
		return how == REPLIED;
	struct fuse_entry_param e;
	mbfs_fuse_to_entry(&a, &e);
	if (fuse_reply_entry(t->req, &e) != 0)
		mbfs_fs_forget(t->ctx->fs, a.ino, 1);
	return true;
}

static bool serve_getattr(struct task *t)
{
	struct mbfs_attr a;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_getattr(
		t->ctx->fs, t->ino, t->has_fi ? mbfs_fuse_file(&t->fi) : NULL, &a, &err);
	enum settled how = settle(t, "getattr", st, &err);
	if (how != REPLY)
		return how == REPLIED;
	struct stat s;
	mbfs_fuse_to_stat(&a, &s);
	fuse_reply_attr(t->req, &s, a.timeout);
	return true;
}

static bool serve_opendir(struct task *t)
{
	struct mbfs_dir *d = NULL;
	struct mbfs_open_info oi;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_opendir(t->ctx->fs, t->ino, &d, &oi, &err);
	enum settled how = settle(t, "opendir", st, &err);
	if (how != REPLY)
		return how == REPLIED;
	t->fi.fh = (uint64_t)(uintptr_t)d;
	t->fi.cache_readdir = oi.cache_dir;
	t->fi.keep_cache = oi.keep_cache;
	if (fuse_reply_open(t->req, &t->fi) != 0)
		mbfs_fs_releasedir(t->ctx->fs, d);
	return true;
}

static bool serve_open(struct task *t)
{
	struct mbfs_fs_ctx *c = t->ctx;
	struct mbfs_file *f = NULL;
	struct mbfs_open_info oi;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_open(c->fs, t->ino, t->fi.flags, &f, &oi,
					   &err);
	enum settled how = settle(t, "open", st, &err);
	if (how != REPLY)
		return how == REPLIED;
	t->fi.fh = (uint64_t)(uintptr_t)f;
	t->fi.keep_cache = oi.keep_cache;
	t->fi.direct_io = oi.direct_io;
	/* A spooled generation: its own spool file may back the handle
	 * (kernel passthrough; never with direct_io). */
	int backing = oi.direct_io ? -1 : mbfs_file_backing_fd(f);
	if (backing >= 0)
		mbfs_pt_open(t->req, t->ino, backing, &t->fi);
	/* Rule 3: the kernel must drop attributes it got from an older
	 * listing BEFORE the opener can fstat or read; a notification after
	 * the reply would race. Once per first handle of an inode (fs.h
	 * inval_attrs): other openers wait for it in fs, and no further
	 * notification makes the kernel discard a reader's size refresh.
	 * Attributes only (offset < 0): no page locks. */
	if (oi.inval_attrs) {
		if (c->se)
			fuse_lowlevel_notify_inval_inode(c->se, t->ino, -1, 0);
		mbfs_fs_open_done(c->fs, f);
	}
	if (fuse_reply_open(t->req, &t->fi) != 0) {
		if (backing >= 0)
			mbfs_pt_release(NULL, t->ino);
		mbfs_fs_release(c->fs, f);
	}
	return true;
}

/* Reply to a read from a file descriptor (spliced when the kernel can). */
static void reply_from_fd(fuse_req_t req, int fd, size_t size, off_t off)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static bool serve_read(struct task *t)
{
	struct mbfs_read r;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_read(t->ctx->fs, mbfs_fuse_file(&t->fi),
					   (uint64_t)t->off, t->size, &r, &err);
	enum settled how = settle(t, "read", st, &err);
	if (how != REPLY)
		return how == REPLIED;
	if (r.fd >= 0)
		reply_from_fd(t->req, r.fd, r.len, (off_t)r.off);
	else
		fuse_reply_buf(t->req, r.buf, r.len);
	free(r.buf);
	return true;
}

/* Serve t; false (nothing replied) when it would wait (try scope). */
static bool serve(struct task *t)
{
	switch (t->op) {
	case T_LOOKUP: return serve_lookup(t);
	case T_GETATTR: return serve_getattr(t);
	case T_OPEN: return serve_open(t);
	case T_OPENDIR: return serve_opendir(t);
	case T_READ: return serve_read(t);
	}
	return true;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mbfs_fuse_count(MBFS_OP_LOOKUP);
	task_start(req, T_LOOKUP, parent, NULL, name, 0, 0);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mbfs_fuse_count(MBFS_OP_FORGET);
	mbfs_fs_forget(mbfs_fuse_ctx(req)->fs, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	mbfs_fuse_count(MBFS_OP_FORGET_MULTI);
	for (size_t i = 0; i < count; i++)
		mbfs_fs_forget(mbfs_fuse_ctx(req)->fs, forgets[i].ino,
			       forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_GETATTR);
	task_start(req, T_GETATTR, ino, fi, NULL, 0, 0);
}


static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_SETATTR);
	(void)fi;
	if (mbfs_fs_is_query_file(mbfs_fuse_ctx(req)->fs, ino)) {
		mbfs_fuse_setattr_query(req, ino, attr, to_set);
		return;
	}
	const int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			  FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
			  FUSE_SET_ATTR_CTIME;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (to_set & ~times) {
		enum mbfs_status dst = mbfs_fs_setattr_denied(mbfs_fuse_ctx(req)->fs,
							      ino, &err);
		mbfs_fuse_reply_status(req, "setattr", &err, dst);
		return;
	}
	struct mbfs_attr a;
	enum mbfs_status st = mbfs_fs_touch(mbfs_fuse_ctx(req)->fs, ino, &a, &err);
	if (st != MBFS_OK) {
		mbfs_fuse_reply_status(req, "setattr", &err, st);
		return;
	}
	struct stat s;
	mbfs_fuse_to_stat(&a, &s);
	/* Attributes valid for 0 s: the next stat sees the new state. */
	fuse_reply_attr(req, &s, 0);
	/* Directories: the kernel must forget cached dentries so that `ls`
	 * re-lists; done from the notifier-free path after replying. */
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_OPENDIR);
	task_start(req, T_OPENDIR, ino, fi, NULL, 0, 0);
}

static void do_readdir(fuse_req_t req, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct mbfs_fs *fs = mbfs_fuse_ctx(req)->fs;
	struct mbfs_dir *d = (struct mbfs_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t i = (size_t)off;; i++) {
		const char *name;
		struct mbfs_attr a;
		bool dot;
		if (!mbfs_dir_entry(fs, d, i, &name, &a, &dot))
			break;
		size_t n;
		if (plus) {
			struct fuse_entry_param e;
			mbfs_fuse_to_entry(&a, &e);
			if (dot)
				e.ino = 0; /* no attributes, no lookup count */
			n = fuse_add_direntry_plus(req, buf + used, size - used,
						   name, &e, (off_t)(i + 1));
		} else {
			struct stat s;
			mbfs_fuse_to_stat(&a, &s);
			n = fuse_add_direntry(req, buf + used, size - used, name,
					      &s, (off_t)(i + 1));
		}
		if (n > size - used)
			break;
		if (plus && !dot)
			mbfs_fs_ref(fs, a.ino);
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_READDIR);
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_READDIRPLUS);
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_RELEASEDIR);
	(void)ino;
	mbfs_fs_releasedir(mbfs_fuse_ctx(req)->fs, (struct mbfs_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_OPEN);
	task_start(req, T_OPEN, ino, fi, NULL, 0, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_READ);
	task_start(req, T_READ, ino, fi, NULL, size, off);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_RELEASE);
	struct mbfs_file *f = mbfs_fuse_file(fi);
	if (mbfs_file_backing_fd(f) >= 0)
		mbfs_pt_release(req, ino);
	mbfs_fs_release(mbfs_fuse_ctx(req)->fs, f);
	fuse_reply_err(req, 0);
}

/* getxattr and listxattr answer alike: size 0 asks for the length. */
/* getxattr (name) or listxattr (name NULL): fs fills a buffer of size
 * bytes; size 0 asks for the length the answer needs. */
static void serve_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct mbfs_fs *fs = mbfs_fuse_ctx(req)->fs;
	size_t len = 0;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st =
		name ? mbfs_fs_getxattr(fs, ino, name, buf, size, &len, &err)
		     : mbfs_fs_listxattr(fs, ino, buf, size, &len, &err);
	if (st != MBFS_OK)
		mbfs_fuse_reply_status(req, name ? "getxattr" : "listxattr",
				       &err, st);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	mbfs_fuse_count(MBFS_OP_GETXATTR);
	serve_xattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	mbfs_fuse_count(MBFS_OP_LISTXATTR);
	serve_xattr(req, ino, NULL, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	mbfs_fuse_count(MBFS_OP_STATFS);
	(void)ino;
	struct statvfs s;
	memset(&s, 0, sizeof s);
	s.f_bsize = 65536;
	s.f_frsize = 65536;
	s.f_namemax = 255;
	fuse_reply_statfs(req, &s);
}

const struct fuse_lowlevel_ops mbfs_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.mknod = mbfs_fuse_op_mknod,
	.mkdir = mbfs_fuse_op_mkdir,
	.unlink = mbfs_fuse_op_unlink,
	.rmdir = mbfs_fuse_op_rmdir,
	.symlink = mbfs_fuse_op_symlink,
	.rename = mbfs_fuse_op_rename,
	.link = mbfs_fuse_op_link,
	.create = mbfs_fuse_op_create,
	.write = mbfs_fuse_op_write,
	.flush = mbfs_fuse_op_flush,
	.fsync = mbfs_fuse_op_fsync,
	.setxattr = mbfs_fuse_op_setxattr,
	.removexattr = mbfs_fuse_op_removexattr,
};

/* Threads of this process now (every kind: FUSE workers, the worker pool,
 * runners, I/O, notifier...). */
static unsigned thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned n = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int mbfs_fuse_describe_metrics(void *arg, char *out, size_t outsz)
{
	struct mbfs_fs_ctx *c = arg;
	size_t o = 0;
	out[0] = '\0';
	mbfs_putf(out, outsz, &o, "# HELP mbfs_fuse_requests_total FUSE requests received, by operation.\n"
		  "# TYPE mbfs_fuse_requests_total counter\n");
	for (int i = 0; i < MBFS_OP_COUNT; i++)
		mbfs_putf(out, outsz, &o, "mbfs_fuse_requests_total{op=\"%s\"} %llu\n", op_names[i],
			  (unsigned long long)atomic_load(&mbfs_fuse_op_count[i]));
	mbfs_putf(out, outsz, &o, "# HELP mbfs_threads Threads of the mbfs process.\n"
		  "# TYPE mbfs_threads gauge\n"
		  "mbfs_threads %u\n", thread_count());
	unsigned threads, idle, peak;
	mbfs_pool_counts(c->pool, &threads, &idle, &peak);
	int waiting = atomic_load(&tasks_waiting);
	mbfs_putf(out, outsz, &o, "# HELP mbfs_threads_max The most threads the mbfs process can have (FUSE workers, worker pool, runners, I/O, notifier, signals, main).\n"
		  "# TYPE mbfs_threads_max gauge\n"
		  "mbfs_threads_max %u\n"
		  "# HELP mbfs_pool_threads Threads of the worker pool (fetch jobs and retries), by state.\n"
		  "# TYPE mbfs_pool_threads gauge\n"
		  "mbfs_pool_threads{state=\"busy\"} %u\n"
		  "mbfs_pool_threads{state=\"idle\"} %u\n"
		  "# HELP mbfs_requests_waiting FUSE requests waiting (without a thread) for a listing, an export or stream bytes.\n"
		  "# TYPE mbfs_requests_waiting gauge\n"
		  "mbfs_requests_waiting %d\n",
		  c->threads_max, threads - idle, idle, waiting > 0 ? waiting : 0);
	return (int)(o < outsz ? o : outsz - 1);
}

int mbfs_fuse_describe_stats(void *arg, char *out, size_t outsz)
{
	struct mbfs_fs_ctx *c = arg;
	unsigned threads, idle, peak;
	mbfs_pool_counts(c->pool, &threads, &idle, &peak);
	int waiting = atomic_load(&tasks_waiting);
	int n = snprintf(out, outsz,
			 "threads %u\n"
			 "threads_max %u\n"
			 "pool_threads %u\n"
			 "pool_threads_peak %u\n"
			 "pool_threads_max %u\n"
			 "requests_waiting %d\n",
			 thread_count(), c->threads_max, threads, peak,
			 mbfs_pool_max(c->pool), waiting > 0 ? waiting : 0);
	if (n < 0)
		return 0;
	if ((size_t)n >= outsz)
		return (int)outsz - 1;
	return n + mbfs_pt_describe_stats(out + n, outsz - (size_t)n);
}
