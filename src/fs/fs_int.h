/*
 * fs_int.h — what the files of the filesystem layer share and nobody else
 * sees: struct mbfs_fs, the kernel inodes of files (struct kino), open
 * handles, and the helpers one file of fs/ offers the others:
 *   fs.c           semantics, kernel inodes and generations, open handles
 *   dirs.c         directory handles and the kernel's readdir cache rule
 *   content.c      what a file's bytes come from: export request and key,
 *                  materialize, metadata/ lists, peek
 *   xattr.c        user.mb.* attributes
 *   control.c      the .mbfs/ files
 *   query_files.c  the writable files of queries/<database>/
 *
 * Locks: fs->lock protects the kinos, the node → current kino map, the
 * counters, the hooks and the lists of handles; it is taken before the
 * tree lock, never held while waiting on the network. Functions say
 * which locks they expect ("fs->lock held", "tree lock held"); the others
 * take what they need. Memory: a function returning char * returns a
 * heap string the caller frees.
 */
#ifndef MBFS_FS_INT_H
#define MBFS_FS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "inode.h"

struct mbfs_qstat;

/* A kernel inode of a regular file (fs->lock). */
struct kino {
	uint64_t nodeid;
	struct mbfs_node *node;
	bool alias;                /* not the node's own number */
	uint64_t nlookup;          /* aliases: the kernel's lookup count (an
				      alias is freed when it drops to 0) */
	uint64_t cache_gen;        /* generation the kernel may hold pages of */
	unsigned open_count;       /* open page-cache handles */
	bool inval_pending;        /* its first opener has not yet made the
				      kernel drop the attributes */
	uint64_t open_size;        /* size and mtime of cache_gen while open: */
	int64_t open_mtime;        /* what fstat (a GETATTR without fh) sees */
};

struct mbfs_fs {
	struct mbfs_fs_env env;
	time_t mounted_at;
	char *scope;               /* result key prefix: user and options */
	/* Lock order: fs->lock, then the tree lock. Never held while
	 * waiting on the network. */
	pthread_mutex_t lock;
	pthread_cond_t inval_cond;       /* a kino's inval_pending cleared */
	struct mbfs_inode_table kinos;   /* node id → struct kino */
	struct mbfs_inode_table current; /* node ino → kino handed out, when
					    it is not the base */
	struct mbfs_inode_table kdirs;   /* dir ino → struct kdir (fs.c) */
	uint64_t next_alias;
	uint64_t n_aliases, n_stale;     /* counters for .mbfs/stats */
	/* READ requests of result files answered in userspace (a spooled
	 * generation or a stream; not .mbfs/ or queries/ text): a re-read
	 * the kernel serves from its page cache adds none. No lock. */
	_Atomic uint64_t n_result_reads;
	/* Metrics of the layers fs does not know (FUSE requests, threads). */
	struct {                   /* mbfs_fs_set_report_hook */
		int (*fn)(void *arg, char *out, size_t outsz);
		void *arg;
	} report[MBFS_REPORT_COUNT];
	/* Handles given to the kernel and not released yet: freed at
	 * teardown when their RELEASE never came (a lazy unmount). */
	struct mbfs_file *files;
	struct mbfs_dir *dirs;
};

/* An open handle: owned by fs from open until release (fs->files). */
struct mbfs_file {
	struct mbfs_file *prev, *next; /* fs->files (fs->lock) */
	struct mbfs_node *node;
	uint64_t nodeid;           /* the kino it was opened on (0: none) */
	struct mbfs_stream *stream; /* -o stream, or NULL */
	int fd;                    /* spool file, or -1 */
	char *mem;                 /* generated content, or NULL */
	size_t mem_len;
	char *key;                 /* data files: the result key */
	uint64_t gen;
	uint64_t size;
	int64_t mtime;
	uint64_t qid;              /* a queries/ file: its store id (else 0) */
	bool qwrite;               /* ... opened for writing */
};

/* ---- kinds of nodes ------------------------------------------------------ */

static inline bool fs_is_data(const struct mbfs_node *n)
{
	return mbfs_kind_is_data(n->kind);
}

/* Files whose bytes come in generations through the page cache. */
static inline bool fs_has_gens(const struct mbfs_node *n)
{
	return fs_is_data(n) || n->kind == MBFS_K_METADATA_FILE ||
	       n->kind == MBFS_K_SQL_FILE;
}

/* NAME.sql and editors' temp files in queries/<db>/: read and written
 * directly (direct_io), no generations. */
static inline bool fs_is_qfile(const struct mbfs_node *n)
{
	return n->kind == MBFS_K_QUERY_SQL || n->kind == MBFS_K_QUERY_TEMP;
}

/* ---- query_files.c ------------------------------------------------------- */

/* Up to size bytes of a queries/ file's text at off (*n: how many). */
enum mbfs_status mbfs_fs_read_query(struct mbfs_fs *fs, struct mbfs_file *f,
				    char *buf, size_t size, uint64_t off,
				    size_t *n, struct mbfs_err *err);

/* ---- dirs.c -------------------------------------------------------------- */

/* Free the directory handles the kernel never released and what fs
 * remembers of the kernel's readdir caches (fs teardown, no lock). */
void fs_dirs_teardown(struct mbfs_fs *fs);

/* ---- fs.c ---------------------------------------------------------------- */

/* The node behind a node id (an alias resolves to its file). Takes the
 * locks it needs. */
struct mbfs_node *fs_node_of(struct mbfs_fs *fs, uint64_t ino);
/* The node id lookups hand out for n now. fs->lock held. */
uint64_t fs_current_id(struct mbfs_fs *fs, const struct mbfs_node *n);
/* The kino to hand out for n when a reader would now see generation gen
 * (0: not known; UINT64_MAX: a new one whenever the current one is open).
 * fs->lock held. */
struct kino *fs_current_for(struct mbfs_fs *fs, struct mbfs_node *n,
			    uint64_t gen);
/* Attributes of n for a lookup or a listing entry; with ref, one more
 * kernel reference on the kino handed out. Takes the locks. */
void fs_entry_attr(struct mbfs_fs *fs, struct mbfs_node *n,
		   const struct mbfs_result_info *info, bool ref,
		   struct mbfs_attr *a);
/* Add f to the handles given out (fs->lock not held). */
void fs_file_register(struct mbfs_fs *fs, struct mbfs_file *f);

/* ---- content.c ----------------------------------------------------------- */

/* The request and key of a data node, consistent with each other. */
struct fs_req_key {
	struct mb_export_req req;
	char *params;              /* the strings req points to */
	char *uuid;
	char *object;
	char *sql;
	char *key;
	char label[1024];          /* "<path> (<object>)" */
};

/* The file a PARAM_FILE reads with parameters (its base), else n. */
const struct mbfs_node *fs_base_of(const struct mbfs_node *n);
/* The object of a query data file's results: the store's epoch and the
 * SQL file's revision name its text for good (queries.h). */
void fs_query_obj(const struct mbfs_fs *fs, const struct mbfs_qstat *qs,
		  enum mbfs_fmt fmt, char *obj, size_t objsz);
/* A result key: scope, object, and the parameters sent (or NULL). */
char *fs_key_compose(const struct mbfs_fs *fs, const char *obj,
		     const char *params);
/* n's result key (NULL: none). Takes the tree lock. */
char *fs_key_of(struct mbfs_fs *fs, const struct mbfs_node *n);
/* n's export request and key (free with fs_req_key_free, also after a
 * failure). Takes the tree lock; reads the query store. */
enum mbfs_status fs_req_key_of(struct mbfs_fs *fs, const struct mbfs_node *n,
			       struct fs_req_key *rk, struct mbfs_err *err);
void fs_req_key_free(struct fs_req_key *rk);
/* Run (or join) the export of a data node. BLOCKS (WOULD_BLOCK in a try
 * scope). With fd, *key_out receives the key (heap) it was opened under. */
enum mbfs_status fs_materialize(struct mbfs_fs *fs, struct mbfs_node *n,
				int *fd, struct mbfs_result_info *info,
				char **key_out, struct mbfs_err *err);
/* A metadata/ file's list (fresh for meta_ttl); with buf, a heap copy of
 * its bytes. BLOCKS (WOULD_BLOCK in a try scope). */
enum mbfs_status fs_meta_file(struct mbfs_fs *fs, const struct mbfs_node *n,
			      char **buf, struct mbfs_result_info *info,
			      struct mbfs_err *err);
/* What is known about a file's content without fetching anything. */
void fs_peek_node(struct mbfs_fs *fs, const struct mbfs_node *n,
		  struct mbfs_result_info *info);

/* ---- xattr.c, control.c -------------------------------------------------- */

/* t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ". */
void fs_iso_time(double t, char *out, size_t outsz);
/* The text of .mbfs/ file `which` (heap in *out; NULL when out of
 * memory). Takes fs->lock briefly; never blocks. */
void fs_render_control(struct mbfs_fs *fs, int64_t which, char **out,
		       size_t *len);

/* ---- query_files.c ------------------------------------------------------- */

/* A data file of queries/ whose SQL file is gone: its name must be
 * looked up again (fs_stale_name). */
bool fs_query_data_gone(struct mbfs_fs *fs, const struct mbfs_node *n);
enum mbfs_status fs_stale_name(struct mbfs_err *err);
/* Open a query file (read and written through the store, direct_io). */
enum mbfs_status fs_open_query(struct mbfs_fs *fs, struct mbfs_node *n,
			       int flags, struct mbfs_file **out,
			       struct mbfs_open_info *oi, struct mbfs_err *err);

#endif
