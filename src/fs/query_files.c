/*
 * query_files.c — owns the file operations of queries/<database>/, the one
 * writable place: create, open, write, flush, truncate and chmod, rename
 * and unlink of NAME.sql and editors' temp files through the query store
 * (queries.h), the refusals everywhere else, and what a new revision of a
 * SQL file does to the results of the old one. Local file I/O only.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs_int.h"
#include "log.h"
#include "queries.h"

/* ---- queries/<database>/: the writable files --------------------------------
 * NAME.sql and editors' temp files live in the query store (queries.h);
 * the tree lists them (local listings); NAME.<fmt> are data files keyed by
 * the SQL file's revision. Every change that gives a SQL file a new
 * revision drops the results of the old one, and makes the data files'
 * names meet new kernel inodes where an old result is still open (as a
 * touch does), so that the next open runs the new SQL while open handles
 * keep their bytes. */

bool mbfs_file_is_query(const struct mbfs_file *f)
{
	return f && f->qid != 0;
}

bool mbfs_fs_is_query_file(struct mbfs_fs *fs, uint64_t ino)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	return n && fs_is_qfile(n);
}

/* The revision `old` of a SQL file is over (its text changed, it was
 * renamed or unlinked): drop its results in every format. */
static void drop_revision(struct mbfs_fs *fs, const struct mbfs_qstat *old)
{
	if (!old || !old->id || old->temp || !fs->env.queries)
		return;
	struct mbfs_qstat now;
	if (mbfs_queries_stat(fs->env.queries, old->id, &now) && now.linked &&
	    !now.temp && now.rev == old->rev && now.db == old->db)
		return; /* nothing changed */
	const struct mbfs_options *o = fs->env.opts;
	for (int i = 0; i < o->n_formats; i++) {
		enum mbfs_fmt fmt = mbfs_fmt_parse(o->formats[i]);
		char obj[160];
		fs_query_obj(fs, old, fmt, obj, sizeof obj);
		char *key = fs_key_compose(fs, obj, NULL);
		if (key) {
			struct mbfs_result_info info;
			mbfs_export_peek(fs->env.export, key, &info);
			if (info.have || info.failed) {
				mbfs_export_invalidate(fs->env.export, key);
				mbfs_debug("queries: dropped the result of %s", obj);
			}
		}
		free(key);
		/* a result of the old text is still open: the data file's
		 * name must lead to a new kernel inode */
		uint64_t ino = mbfs_inode_number(MBFS_K_QUERY_FILE, fmt,
						 (int64_t)old->id);
		mbfs_tree_lock(fs->env.tree);
		struct mbfs_node *n = ino ? mbfs_tree_node(fs->env.tree, ino) : NULL;
		mbfs_tree_unlock(fs->env.tree);
		if (!n)
			continue;
		pthread_mutex_lock(&fs->lock);
		uint64_t was = fs_current_id(fs, n);
		fs_current_for(fs, n, UINT64_MAX);
		void (*inval)(void *, uint64_t) = fs->env.inval_inode;
		void *arg = fs->env.inval_inode_arg;
		pthread_mutex_unlock(&fs->lock);
		/* the size a stat of the name shows is no longer right */
		if (inval)
			inval(arg, was);
	}
}

/* A data file of queries/ whose SQL file is gone (unlinked, or renamed
 * onto another name): the kernel reached it through an old name, so it
 * must look the name up again (ESTALE makes it re-walk the path). */
bool fs_query_data_gone(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	struct mbfs_qstat qs;
	return n->kind == MBFS_K_QUERY_FILE &&
	       (!fs->env.queries ||
		!mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) ||
		!qs.linked || qs.temp);
}

enum mbfs_status fs_stale_name(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_STALE, 0,
			    "its SQL file was renamed or removed: re-resolve the path");
}

enum mbfs_status mbfs_fs_setattr_denied(struct mbfs_fs *fs, uint64_t ino,
					struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (n && n->kind == MBFS_K_QUERY_FILE)
		return mbfs_err_set(err, MBFS_ERR_DENIED, 0,
				    "a query's result cannot be written: edit its .sql file");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0,
			    "only times can be set (touch drops the cache)");
}

/* The database of a directory where files may be created: PERM in
 * queries/ itself, READONLY anywhere else. */
static enum mbfs_status query_dir(struct mbfs_fs *fs, uint64_t ino,
				  struct mbfs_node **dir, int64_t *db,
				  struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale directory");
	if (n->kind == MBFS_K_QUERY_DB && fs->env.queries) {
		*dir = n;
		*db = n->id;
		return MBFS_OK;
	}
	if (n->kind == MBFS_K_QUERIES_DIR || n->kind == MBFS_K_QUERY_DB)
		return mbfs_err_set(err, MBFS_ERR_PERM, 0,
				    "queries/ holds one directory per database; write NAME.sql files inside one");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0,
			    "read-only: only NAME.sql files in queries/<database>/ can be written");
}

/* The node of name in a query directory (its local listing). */
static enum mbfs_status query_node(struct mbfs_fs *fs, struct mbfs_node *dir,
				   const char *name, struct mbfs_node **out,
				   struct mbfs_err *err)
{
	return mbfs_tree_find(fs->env.tree, dir, name, out, err);
}

static enum mbfs_status data_file_denied(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_PERM, 0,
			    "NAME.csv, NAME.json and NAME.xlsx are the results of NAME.sql: change or remove NAME.sql instead");
}

/* Is name in the query directory dir a file that can be unlinked or
 * renamed (a SQL or temp file, not one of the data files)? */
static enum mbfs_status writable_file(struct mbfs_fs *fs, struct mbfs_node *dir,
				      const char *name, struct mbfs_err *err)
{
	struct mbfs_node *n;
	enum mbfs_status st = query_node(fs, dir, name, &n, err);
	if (st == MBFS_ERR_NOT_FOUND)
		return mbfs_err_set(err, st, 0, "no such file");
	if (st != MBFS_OK)
		return st;
	return fs_is_qfile(n) ? MBFS_OK : data_file_denied(err);
}

/* Open a query file: read and written through the store, direct_io.
 * Takes no ownership on failure. */
enum mbfs_status fs_open_query(struct mbfs_fs *fs, struct mbfs_node *n,
			       int flags, struct mbfs_file **out,
			       struct mbfs_open_info *oi,
			       struct mbfs_err *err)
{
	struct mbfs_queries *q = fs->env.queries;
	struct mbfs_qstat qs;
	if (!q || !mbfs_queries_stat(q, (uint64_t)n->id, &qs))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "the file is gone");
	bool write = (flags & O_ACCMODE) != O_RDONLY;
	if (write && (flags & O_TRUNC)) {
		struct mbfs_qset set = {.set_size = true, .size = 0};
		struct mbfs_qstat old;
		enum mbfs_status st = mbfs_queries_setattr(q, (uint64_t)n->id,
							   &set, &qs, &old, err);
		if (st != MBFS_OK)
			return st;
		drop_revision(fs, &old);
	}
	struct mbfs_file *f = calloc(1, sizeof *f);
	if (!f)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	f->fd = -1;
	f->node = n;
	f->qid = (uint64_t)n->id;
	f->qwrite = write;
	f->size = qs.size;
	mbfs_queries_ref(q, f->qid);
	memset(oi, 0, sizeof *oi);
	oi->direct_io = true;
	oi->size = qs.size;
	fs_file_register(fs, f);
	*out = f;
	return MBFS_OK;
}

/* Create name in parent; the entry's attributes in *out (counted as a
 * lookup), the node in *node. */
static enum mbfs_status create_entry(struct mbfs_fs *fs, uint64_t parent,
				     const char *name, mode_t mode, bool excl,
				     bool trunc, struct mbfs_node **node,
				     struct mbfs_attr *out,
				     struct mbfs_err *err)
{
	struct mbfs_node *dir;
	int64_t db;
	enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_qstat qs, old;
	bool created = false;
	memset(&old, 0, sizeof old);
	st = mbfs_queries_create(fs->env.queries, db, name, mode & 07777, excl,
				 trunc, &qs, &old, &created, err);
	if (st != MBFS_OK)
		return st;
	if (!created)
		drop_revision(fs, &old);
	st = query_node(fs, dir, name, node, err);
	if (st != MBFS_OK)
		return st;
	fs_entry_attr(fs, *node, NULL, true, out);
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_create(struct mbfs_fs *fs, uint64_t parent,
				const char *name, mode_t mode, int flags,
				struct mbfs_attr *out, struct mbfs_file **fh,
				struct mbfs_open_info *oi, struct mbfs_err *err)
{
	struct mbfs_node *n;
	bool write = (flags & O_ACCMODE) != O_RDONLY;
	enum mbfs_status st = create_entry(fs, parent, name, mode,
					   (flags & O_EXCL) != 0,
					   write && (flags & O_TRUNC), &n, out,
					   err);
	if (st != MBFS_OK)
		return st;
	if (!fs_is_qfile(n))
		return data_file_denied(err);
	return fs_open_query(fs, n, flags & ~O_TRUNC, fh, oi, err);
}

enum mbfs_status mbfs_fs_mknod(struct mbfs_fs *fs, uint64_t parent,
			       const char *name, mode_t mode,
			       struct mbfs_attr *out, struct mbfs_err *err)
{
	struct mbfs_node *n;
	if (!S_ISREG(mode)) {
		struct mbfs_node *dir;
		int64_t db;
		enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
		if (st != MBFS_OK)
			return st;
		return mbfs_err_set(err, MBFS_ERR_PERM, 0,
				    "only regular files can be created here");
	}
	return create_entry(fs, parent, name, mode, true, false, &n, out, err);
}

enum mbfs_status mbfs_fs_write(struct mbfs_fs *fs, struct mbfs_file *f,
			       const char *buf, size_t size, uint64_t off,
			       struct mbfs_err *err)
{
	if (!f || !f->qid || !f->qwrite)
		return mbfs_err_set(err, MBFS_ERR_READONLY, 0,
				    "not open for writing");
	struct mbfs_qstat old;
	enum mbfs_status st = mbfs_queries_write(fs->env.queries, f->qid, buf,
						 size, off, &old, err);
	if (st == MBFS_OK)
		drop_revision(fs, &old);
	return st;
}

enum mbfs_status mbfs_fs_flush(struct mbfs_fs *fs, struct mbfs_file *f,
			       struct mbfs_err *err)
{
	if (!f || !f->qid || !f->qwrite)
		return MBFS_OK;
	return mbfs_queries_sync(fs->env.queries, f->qid, err);
}

enum mbfs_status mbfs_fs_read_query(struct mbfs_fs *fs, struct mbfs_file *f,
				    char *buf, size_t size, uint64_t off,
				    size_t *n, struct mbfs_err *err)
{
	return mbfs_queries_read(fs->env.queries, f->qid, buf, size, off, n,
				 err);
}

enum mbfs_status mbfs_fs_setattr_query(struct mbfs_fs *fs, uint64_t ino,
				       const struct mbfs_setattr *sa,
				       struct mbfs_attr *out,
				       struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n || !fs_is_qfile(n) || !fs->env.queries)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	const struct mbfs_options *o = fs->env.opts;
	if ((sa->set_uid && sa->uid != o->uid) ||
	    (sa->set_gid && sa->gid != o->gid))
		return mbfs_err_set(err, MBFS_ERR_PERM, 0,
				    "files here belong to the mounting user");
	struct mbfs_qset set = {.set_size = sa->set_size, .size = sa->size,
				.set_mode = sa->set_mode, .mode = sa->mode,
				.set_mtime = sa->set_mtime, .mtime = sa->mtime};
	if (sa->set_mtime && sa->mtime_now)
		clock_gettime(CLOCK_REALTIME, &set.mtime);
	if (set.set_size || set.set_mode || set.set_mtime) {
		struct mbfs_qstat after, old;
		enum mbfs_status st = mbfs_queries_setattr(
			fs->env.queries, (uint64_t)n->id, &set, &after, &old, err);
		if (st != MBFS_OK)
			return st;
		drop_revision(fs, &old);
	} else if (!mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, NULL)) {
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "the file is gone");
	}
	fs_entry_attr(fs, n, NULL, false, out);
	out->ino = ino;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_unlink(struct mbfs_fs *fs, uint64_t parent,
				const char *name, struct mbfs_err *err)
{
	struct mbfs_node *dir;
	int64_t db;
	enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
	if (st != MBFS_OK)
		return st;
	st = writable_file(fs, dir, name, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_qstat old;
	st = mbfs_queries_unlink(fs->env.queries, db, name, &old, err);
	if (st == MBFS_OK)
		drop_revision(fs, &old);
	return st;
}

enum mbfs_status mbfs_fs_rename(struct mbfs_fs *fs, uint64_t parent,
				const char *name, uint64_t newparent,
				const char *newname, unsigned flags,
				struct mbfs_err *err)
{
	struct mbfs_node *dir, *dir2;
	int64_t db, db2;
	enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
	if (st == MBFS_OK)
		st = query_dir(fs, newparent, &dir2, &db2, err);
	if (st != MBFS_OK)
		return st;
	if (dir != dir2)
		return mbfs_err_set(err, MBFS_ERR_XDEV, 0,
				    "a SQL file stays in its database's directory (copy it instead)");
	st = writable_file(fs, dir, name, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_node *t = NULL;
	struct mbfs_err e;
	if (query_node(fs, dir, newname, &t, &e) == MBFS_OK && !fs_is_qfile(t))
		return data_file_denied(err);
	struct mbfs_qstat moved, replaced;
	bool had = false;
	st = mbfs_queries_rename(fs->env.queries, db, name, newname, flags,
				 &moved, &replaced, &had, err);
	if (st != MBFS_OK)
		return st;
	drop_revision(fs, &moved);
	if (had)
		drop_revision(fs, &replaced);
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_mkdir(struct mbfs_fs *fs, uint64_t parent,
			       struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, parent);
	if (n && (n->kind == MBFS_K_QUERIES_DIR || n->kind == MBFS_K_QUERY_DB))
		return mbfs_err_set(err, MBFS_ERR_PERM, 0,
				    "no directories here: queries/<database>/ holds NAME.sql files");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0, "read-only");
}

enum mbfs_status mbfs_fs_setxattr(struct mbfs_fs *fs, uint64_t ino,
				  struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (n && (fs_is_qfile(n) || n->kind == MBFS_K_QUERY_FILE ||
		  n->kind == MBFS_K_QUERY_DB || n->kind == MBFS_K_QUERIES_DIR))
		return mbfs_err_set(err, MBFS_ERR_NOT_SUPPORTED, 0,
				    "extended attributes cannot be set here");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0, "read-only");
}
