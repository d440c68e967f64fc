/*
 * fuse_int.h — what the shim's files (fuse_ops.c: the ops table, reads,
 * lookups and requests that wait; fuse_write.c: the write operations of
 * queries/) share: the request counters, the reply of a failure, the
 * attribute encoding. Nothing outside src/fuse/ includes it.
 *
 * Threads: every function may be called from any FUSE worker; none blocks.
 */
#ifndef MBFS_FUSE_INT_H
#define MBFS_FUSE_INT_H

#include <stdatomic.h>
#include <sys/stat.h>

#include "fuse_ops.h"

enum mbfs_fuse_op {
	MBFS_OP_LOOKUP,
	MBFS_OP_FORGET,
	MBFS_OP_FORGET_MULTI,
	MBFS_OP_GETATTR,
	MBFS_OP_SETATTR,
	MBFS_OP_OPENDIR,
	MBFS_OP_READDIR,
	MBFS_OP_READDIRPLUS,
	MBFS_OP_RELEASEDIR,
	MBFS_OP_OPEN,
	MBFS_OP_READ,
	MBFS_OP_RELEASE,
	MBFS_OP_GETXATTR,
	MBFS_OP_LISTXATTR,
	MBFS_OP_STATFS,
	MBFS_OP_CREATE,
	MBFS_OP_MKNOD,
	MBFS_OP_WRITE,
	MBFS_OP_FLUSH,
	MBFS_OP_FSYNC,
	MBFS_OP_UNLINK,
	MBFS_OP_RENAME,
	MBFS_OP_MKDIR,
	MBFS_OP_RMDIR,
	MBFS_OP_SYMLINK,
	MBFS_OP_LINK,
	MBFS_OP_SETXATTR,
	MBFS_OP_REMOVEXATTR,
	MBFS_OP_COUNT
};

/* FUSE requests received, by operation (.mbfs/metrics); relaxed counters. */
extern atomic_uint_fast64_t mbfs_fuse_op_count[MBFS_OP_COUNT];

static inline void mbfs_fuse_count(enum mbfs_fuse_op op)
{
	atomic_fetch_add_explicit(&mbfs_fuse_op_count[op], 1,
				  memory_order_relaxed);
}

/* The mount's context (the session's userdata). */
struct mbfs_fs_ctx *mbfs_fuse_ctx(fuse_req_t req);
/* The open file of a handle (fi->fh). */
struct mbfs_file *mbfs_fuse_file(struct fuse_file_info *fi);
/* Reply with the errno of st (status.c's table) and log the failure once:
 * expected misses at debug level, the rest as warnings. Replies. */
void mbfs_fuse_reply_status(fuse_req_t req, const char *op,
			    const struct mbfs_err *err, enum mbfs_status st);
/* fs attributes as the kernel's stat / entry (timeouts from a->timeout). */
void mbfs_fuse_to_stat(const struct mbfs_attr *a, struct stat *st);
void mbfs_fuse_to_entry(const struct mbfs_attr *a, struct fuse_entry_param *e);

/* fuse_write.c: the handlers of the operations that change queries/ (EROFS
 * elsewhere) and a setattr there. Each replies exactly once; none touches the network. */
void mbfs_fuse_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi);
void mbfs_fuse_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev);
void mbfs_fuse_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi);
void mbfs_fuse_op_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi);
void mbfs_fuse_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi);
void mbfs_fuse_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mbfs_fuse_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags);
void mbfs_fuse_op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m);
void mbfs_fuse_op_rmdir(fuse_req_t req, fuse_ino_t p, const char *n);
void mbfs_fuse_op_symlink(fuse_req_t req, const char *l, fuse_ino_t p,
			  const char *n);
void mbfs_fuse_op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p,
		       const char *n);
void mbfs_fuse_op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n,
			   const char *v, size_t s, int f);
void mbfs_fuse_op_removexattr(fuse_req_t req, fuse_ino_t i, const char *n);
void mbfs_fuse_setattr_query(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			     int to_set);

#endif
