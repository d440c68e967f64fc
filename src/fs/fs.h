/*
 * fs.h — filesystem semantics: lookup, attributes, directory snapshots,
 * open/read/release, touch, extended attributes and the .mbfs/ files.
 * Knows nothing of libfuse: fuse_ops.c decodes requests into these calls
 * and encodes the results.
 *
 * Size rules (DESIGN.md §2): listings never export; a lookup or getattr of
 * one data file without a fresh result materializes it (unless
 * -o stat=cached) and succeeds even when the export failed (size 0, the
 * message in user.mb.error); open materializes and fails with the error.
 *
 * Thread safety: every call may come from any FUSE worker thread.
 * Blocking: lookup, getattr, opendir, open and stream waits may block on
 * the network (listing fetches, exports) — in a try scope (cancel.h) they
 * queue the request where it would wait and return MBFS_ERR_WOULD_BLOCK
 * instead (nothing to reply yet: its wake serves it again); read, release, forget, xattr calls never block.
 * Memory: mbfs_fs_open/opendir return handles owned by the caller until
 * mbfs_fs_release/mbfs_fs_releasedir.
 */
#ifndef MBFS_FS_H
#define MBFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "export.h"
#include "mb_client.h"
#include "options.h"
#include "status.h"
#include "tree.h"

struct mbfs_fs;

struct mbfs_attr {
	uint64_t ino;
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	int64_t mtime;             /* seconds since the epoch */
	double timeout;            /* attribute/entry validity, seconds */
};

/* What a mount knows about itself, for .mbfs/status. Borrowed pointers. */
struct mbfs_fs_env {
	const struct mbfs_options *opts;
	struct mb_client *client;
	struct mbfs_tree *tree;
	struct mbfs_export *export;
	const char *version_tag;   /* the server's version.tag */
	const char *user_email;    /* who we are on the server */
	const char *caps_text;     /* the capability table, rendered */
	/* Result keys start with this (the Metabase user and the options
	 * that change the bytes, ending in a separator such as "u1|fr0|"),
	 * so mounts that share a cache directory never serve each other's
	 * results; SIGHUP drops the keys with this prefix. */
	const char *result_scope;
	/* Ask the kernel to forget (parent, name); must only queue (it is
	 * called with locks held). NULL: nothing to tell. */
	void (*inval_entry)(void *arg, uint64_t parent, const char *name);
	void *inval_arg;
	/* queries/<database>/'s files (queries.h); NULL: none writable */
	struct mbfs_queries *queries;
	/* Make the kernel drop the cached attributes of node id ino, now
	 * (no directory lock is involved, so it may be called while serving
	 * a request; never with a lock held). NULL: nothing to tell. */
	void (*inval_inode)(void *arg, uint64_t ino);
	void *inval_inode_arg;
};

struct mbfs_fs *mbfs_fs_new(const struct mbfs_fs_env *env);
/* What the layers below the shim add to the .mbfs/ reports: status
 * (how reads are served: kernel passthrough or not, and why), stats
 * (threads and their bound, requests waiting, passthrough opens) and
 * metrics (FUSE requests by op, threads). fn writes at most outsz bytes
 * and returns how many; set before requests are served, cleared with
 * NULL after the loop ended. */
enum mbfs_fs_report {
	MBFS_REPORT_STATUS,
	MBFS_REPORT_STATS,
	MBFS_REPORT_METRICS,
	MBFS_REPORT_COUNT
};
void mbfs_fs_set_report_hook(struct mbfs_fs *fs, enum mbfs_fs_report which,
			     int (*fn)(void *arg, char *out, size_t outsz),
			     void *arg);

/* Set the inval_entry hook once the session exists (before requests are
 * served; cleared, with NULL, after the loop ended). */
void mbfs_fs_set_inval_hook(struct mbfs_fs *fs,
			    void (*fn)(void *arg, uint64_t parent,
				       const char *name),
			    void *arg);
void mbfs_fs_free(struct mbfs_fs *fs);
/* Set (or clear, with NULL) the inval_inode hook, like the entry hook. */
void mbfs_fs_set_inval_inode_hook(struct mbfs_fs *fs,
				  void (*fn)(void *arg, uint64_t ino),
				  void *arg);

/* On success out->ino is the node id to give the kernel (a file's
 * current kernel inode, see fs.c on generations); its lookup count is
 * incremented by one. */
enum mbfs_status mbfs_fs_lookup(struct mbfs_fs *fs, uint64_t parent,
				const char *name, struct mbfs_attr *out,
				struct mbfs_err *err);
void mbfs_fs_forget(struct mbfs_fs *fs, uint64_t ino, uint64_t nlookup);

struct mbfs_file;

/* fh may be NULL; with a handle, the size is the handle's generation's. */
enum mbfs_status mbfs_fs_getattr(struct mbfs_fs *fs, uint64_t ino,
				 struct mbfs_file *fh, struct mbfs_attr *out,
				 struct mbfs_err *err);

/* A setattr that only changes times (touch): drop the file's cached
 * result, or make the directory re-list. Other changes: READONLY. */
enum mbfs_status mbfs_fs_touch(struct mbfs_fs *fs, uint64_t ino,
			       struct mbfs_attr *out, struct mbfs_err *err);

struct mbfs_open_info;
/* Directory snapshot for readdir. oi: cache_dir (the kernel may cache
 * the entries it reads through this handle, FOPEN_CACHE_DIR) and
 * keep_cache (what it cached before is this listing's: keep it). */
struct mbfs_dir;
enum mbfs_status mbfs_fs_opendir(struct mbfs_fs *fs, uint64_t ino,
				 struct mbfs_dir **out,
				 struct mbfs_open_info *oi,
				 struct mbfs_err *err);
/* Number of entries including "." and "..". */
size_t mbfs_dir_count(const struct mbfs_dir *d);
/* Entry i: name and attributes (no export is run). Returns false past the
 * end. "." and ".." come first, with is_dot set. */
bool mbfs_dir_entry(struct mbfs_fs *fs, struct mbfs_dir *d, size_t i,
		    const char **name, struct mbfs_attr *attr, bool *is_dot);
/* readdirplus handed an entry to the kernel: count one more lookup. */
void mbfs_fs_ref(struct mbfs_fs *fs, uint64_t ino);
void mbfs_fs_releasedir(struct mbfs_fs *fs, struct mbfs_dir *d);

struct mbfs_open_info {
	bool keep_cache;           /* the kernel may keep its page cache */
	bool direct_io;            /* generated files: bypass the page cache */
	bool cache_dir;            /* directories: the kernel may cache the
				      entries read through this handle */
	/* The first handle of its kernel inode: the shim must make the
	 * kernel drop the inode's attributes (they may be a listing's "no
	 * result yet") and then call mbfs_fs_open_done(), both before the
	 * reply. Other openers of that inode wait in mbfs_fs_open until
	 * then (a local wait of microseconds, never the network). */
	bool inval_attrs;
	uint64_t size;
};

/* flags: open(2) flags. Write access → READONLY. */
enum mbfs_status mbfs_fs_open(struct mbfs_fs *fs, uint64_t ino, int flags,
			      struct mbfs_file **out, struct mbfs_open_info *oi,
			      struct mbfs_err *err);
/* The descriptor of the file whose bytes f reads, when the kernel could
 * read them itself (kernel passthrough): a spooled generation's spool
 * file, for as long as f is open; -1 for everything else (a stream, a
 * generated file, queries/ text, .sql and metadata/ files). */
int mbfs_file_backing_fd(const struct mbfs_file *f);
/* The shim has invalidated the attributes of f's inode (inval_attrs). */
void mbfs_fs_open_done(struct mbfs_fs *fs, struct mbfs_file *f);
void mbfs_fs_release(struct mbfs_fs *fs, struct mbfs_file *f);

/* What a READ answers: len bytes of fd at off (fd >= 0: the shim splices
 * them; for a spooled result len is the size asked, the kernel stops at
 * the end of the file), or buf (heap, the caller frees it), or nothing
 * (len 0: end of file). */
struct mbfs_read {
	int fd;
	uint64_t off;
	size_t len;
	char *buf;
};

/*
 * READ of size bytes at off through handle f: the one place that says
 * where a file's bytes come from (a spooled generation, a stream still
 * being received, a SQL file of queries/, a generated .mbfs/ file).
 * A stream's bytes may not be there yet: blocks until they are or the
 * export ended (WOULD_BLOCK inside a try scope; an export that failed
 * after delivering bytes: IO). Other files never block.
 * out->buf (heap, the caller frees) is NULL unless MBFS_OK.
 */
enum mbfs_status mbfs_fs_read(struct mbfs_fs *fs, struct mbfs_file *f,
			      uint64_t off, size_t size, struct mbfs_read *out,
			      struct mbfs_err *err);

/* Extended attributes. getxattr with size 0 reports the needed length;
 * an absent user.* name is MBFS_ERR_NO_ATTR (ENODATA), a name outside
 * user.* MBFS_ERR_NOT_SUPPORTED (EOPNOTSUPP), answered without the tree. */
enum mbfs_status mbfs_fs_getxattr(struct mbfs_fs *fs, uint64_t ino,
				  const char *name, char *buf, size_t size,
				  size_t *len, struct mbfs_err *err);
enum mbfs_status mbfs_fs_listxattr(struct mbfs_fs *fs, uint64_t ino,
				   char *buf, size_t size, size_t *len,
				   struct mbfs_err *err);

/* SIGHUP: drop every listing and cached result. */
void mbfs_fs_invalidate_all(struct mbfs_fs *fs);

/*
 * queries/<database>/ — the one writable place (DESIGN.md §1 "Your own
 * questions"). NAME.sql and editors' temp files (queries.h) can be
 * created, written, truncated, renamed within their directory and
 * unlinked; NAME.csv/json/xlsx are data files that run NAME.sql. Every
 * change of a SQL file's text drops the results of its old revision.
 * Errors: PERM for a name that is not allowed, for mkdir and for the
 * data files (unlink, rename); TOO_BIG beyond the size caps; XDEV for a
 * rename between directories; READONLY everywhere outside queries/.
 * None of these touches the network; they do local file I/O (fsync) when
 * a SQL file changes on disk.
 */
/* Is ino a writable query file (NAME.sql or a temp file)? */
bool mbfs_fs_is_query_file(struct mbfs_fs *fs, uint64_t ino);
/* Create and open name in parent (flags: open(2) flags; mode: permission
 * bits). On success *out holds the new entry (one lookup counted, as a
 * lookup would) and *fh, *oi the open file. */
enum mbfs_status mbfs_fs_create(struct mbfs_fs *fs, uint64_t parent,
				const char *name, mode_t mode, int flags,
				struct mbfs_attr *out, struct mbfs_file **fh,
				struct mbfs_open_info *oi, struct mbfs_err *err);
/* mknod of a regular file: create without opening. */
enum mbfs_status mbfs_fs_mknod(struct mbfs_fs *fs, uint64_t parent,
			       const char *name, mode_t mode,
			       struct mbfs_attr *out, struct mbfs_err *err);
enum mbfs_status mbfs_fs_write(struct mbfs_fs *fs, struct mbfs_file *f,
			       const char *buf, size_t size, uint64_t off,
			       struct mbfs_err *err);
/* close(2) (flush) and fsync(2): a written SQL file reaches the disk. */
enum mbfs_status mbfs_fs_flush(struct mbfs_fs *fs, struct mbfs_file *f,
			       struct mbfs_err *err);
/* Is f a query file handle? */
bool mbfs_file_is_query(const struct mbfs_file *f);

/* What a setattr of a query file asks for (each part when its flag is
 * set). uid/gid may only be the owner's. */
struct mbfs_setattr {
	bool set_size, set_mode, set_uid, set_gid, set_mtime;
	uint64_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool mtime_now;
	struct timespec mtime;
};
enum mbfs_status mbfs_fs_setattr_query(struct mbfs_fs *fs, uint64_t ino,
				       const struct mbfs_setattr *sa,
				       struct mbfs_attr *out,
				       struct mbfs_err *err);
enum mbfs_status mbfs_fs_unlink(struct mbfs_fs *fs, uint64_t parent,
				const char *name, struct mbfs_err *err);
enum mbfs_status mbfs_fs_rename(struct mbfs_fs *fs, uint64_t parent,
				const char *name, uint64_t newparent,
				const char *newname, unsigned flags,
				struct mbfs_err *err);
/* A setattr other than times on a file that is not a query file:
 * DENIED for a query's data file, READONLY elsewhere. */
enum mbfs_status mbfs_fs_setattr_denied(struct mbfs_fs *fs, uint64_t ino,
					struct mbfs_err *err);
/* mkdir, rmdir, symlink, link: PERM in queries/, READONLY elsewhere. */
enum mbfs_status mbfs_fs_mkdir(struct mbfs_fs *fs, uint64_t parent,
			       struct mbfs_err *err);
/* setxattr/removexattr: NOT_SUPPORTED on query files and directories
 * (editors copy attributes and ignore that), READONLY elsewhere. */
enum mbfs_status mbfs_fs_setxattr(struct mbfs_fs *fs, uint64_t ino,
				  struct mbfs_err *err);

#endif
