/*
 * fuse_write.c — owns the shim of the operations that change the mount:
 * creating, writing, flushing, renaming and removing the SQL files of
 * queries/<database>/ (reads go through mbfs_fs_read). Everything else is
 * read-only (EROFS); in queries/ fs decides (EPERM for names that are not
 * allowed, mkdir, the data files). These never touch the network: served
 * at once on the FUSE worker, each replying exactly once. See fuse_int.h.
 */
#include "fuse_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


/* Reply with a status (0 for OK). */
static void reply_done(fuse_req_t req, const char *op, enum mbfs_status st,
		       const struct mbfs_err *err)
{
	if (st != MBFS_OK)
		mbfs_fuse_reply_status(req, op, err, st);
	else
		fuse_reply_err(req, 0);
}

void mbfs_fuse_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_CREATE);
	struct mbfs_fs *fs = mbfs_fuse_ctx(req)->fs;
	struct mbfs_attr a;
	struct mbfs_file *f = NULL;
	struct mbfs_open_info oi;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_create(fs, parent, name, mode, fi->flags,
					     &a, &f, &oi, &err);
	if (st != MBFS_OK) {
		mbfs_fuse_reply_status(req, "create", &err, st);
		return;
	}
	struct fuse_entry_param e;
	mbfs_fuse_to_entry(&a, &e);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = oi.direct_io;
	fi->keep_cache = oi.keep_cache;
	if (fuse_reply_create(req, &e, fi) != 0) {
		mbfs_fs_release(fs, f);
		mbfs_fs_forget(fs, a.ino, 1);
	}
}

void mbfs_fuse_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	mbfs_fuse_count(MBFS_OP_MKNOD);
	(void)rdev;
	struct mbfs_fs *fs = mbfs_fuse_ctx(req)->fs;
	struct mbfs_attr a;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_mknod(fs, parent, name, mode, &a, &err);
	if (st != MBFS_OK) {
		mbfs_fuse_reply_status(req, "mknod", &err, st);
		return;
	}
	struct fuse_entry_param e;
	mbfs_fuse_to_entry(&a, &e);
	if (fuse_reply_entry(req, &e) != 0)
		mbfs_fs_forget(fs, a.ino, 1);
}

void mbfs_fuse_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_WRITE);
	(void)ino;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_write(mbfs_fuse_ctx(req)->fs, mbfs_fuse_file(fi), buf,
					    size, (uint64_t)off, &err);
	if (st != MBFS_OK)
		mbfs_fuse_reply_status(req, "write", &err, st);
	else
		fuse_reply_write(req, size);
}

void mbfs_fuse_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_FLUSH);
	(void)ino;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_flush(mbfs_fuse_ctx(req)->fs, mbfs_fuse_file(fi), &err);
	reply_done(req, "flush", st, &err);
}

void mbfs_fuse_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	mbfs_fuse_count(MBFS_OP_FSYNC);
	(void)ino;
	(void)datasync;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_flush(mbfs_fuse_ctx(req)->fs, mbfs_fuse_file(fi), &err);
	reply_done(req, "fsync", st, &err);
}

void mbfs_fuse_setattr_query(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set)
{
	struct mbfs_setattr sa;
	memset(&sa, 0, sizeof sa);
	sa.set_size = to_set & FUSE_SET_ATTR_SIZE;
	sa.size = (uint64_t)(attr->st_size < 0 ? 0 : attr->st_size);
	sa.set_mode = to_set & FUSE_SET_ATTR_MODE;
	sa.mode = attr->st_mode & 07777;
	sa.set_uid = to_set & FUSE_SET_ATTR_UID;
	sa.uid = attr->st_uid;
	sa.set_gid = to_set & FUSE_SET_ATTR_GID;
	sa.gid = attr->st_gid;
	sa.set_mtime = to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW);
	sa.mtime_now = to_set & FUSE_SET_ATTR_MTIME_NOW;
	sa.mtime = attr->st_mtim;
	struct mbfs_attr a;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_setattr_query(mbfs_fuse_ctx(req)->fs, ino, &sa,
						    &a, &err);
	if (st != MBFS_OK) {
		mbfs_fuse_reply_status(req, "setattr", &err, st);
		return;
	}
	struct stat s;
	mbfs_fuse_to_stat(&a, &s);
	fuse_reply_attr(req, &s, a.timeout);
}

void mbfs_fuse_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mbfs_fuse_count(MBFS_OP_UNLINK);
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_unlink(mbfs_fuse_ctx(req)->fs, parent, name, &err);
	reply_done(req, "unlink", st, &err);
}

void mbfs_fuse_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	mbfs_fuse_count(MBFS_OP_RENAME);
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_rename(mbfs_fuse_ctx(req)->fs, parent, name,
					     newparent, newname, flags, &err);
	reply_done(req, "rename", st, &err);
}

/* mkdir, rmdir, symlink and link: EPERM in queries/, EROFS elsewhere. */
static void reply_no_dirs(fuse_req_t req, const char *op, fuse_ino_t parent)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_mkdir(mbfs_fuse_ctx(req)->fs, parent, &err);
	mbfs_fuse_reply_status(req, op, &err, st);
}

void mbfs_fuse_op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
	mbfs_fuse_count(MBFS_OP_MKDIR);
	(void)n; (void)m;
	reply_no_dirs(req, "mkdir", p);
}

void mbfs_fuse_op_rmdir(fuse_req_t req, fuse_ino_t p, const char *n)
{
	mbfs_fuse_count(MBFS_OP_RMDIR);
	(void)n;
	reply_no_dirs(req, "rmdir", p);
}

void mbfs_fuse_op_symlink(fuse_req_t req, const char *l, fuse_ino_t p,
		       const char *n)
{
	mbfs_fuse_count(MBFS_OP_SYMLINK);
	(void)l; (void)n;
	reply_no_dirs(req, "symlink", p);
}

void mbfs_fuse_op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p, const char *n)
{
	mbfs_fuse_count(MBFS_OP_LINK);
	(void)i; (void)n;
	reply_no_dirs(req, "link", p);
}

void mbfs_fuse_op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n,
			const char *v, size_t s, int f)
{
	mbfs_fuse_count(MBFS_OP_SETXATTR);
	(void)n; (void)v; (void)s; (void)f;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_setxattr(mbfs_fuse_ctx(req)->fs, i, &err);
	mbfs_fuse_reply_status(req, "setxattr", &err, st);
}

void mbfs_fuse_op_removexattr(fuse_req_t req, fuse_ino_t i, const char *n)
{
	mbfs_fuse_count(MBFS_OP_REMOVEXATTR);
	(void)n;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_fs_setxattr(mbfs_fuse_ctx(req)->fs, i, &err);
	mbfs_fuse_reply_status(req, "removexattr", &err, st);
}
