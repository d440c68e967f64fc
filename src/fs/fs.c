/*
 * fs.c — owns filesystem semantics: turning nodes into attributes, the
 * materialize-on-name rule, the kernel inodes of files and their result
 * generations (which number a lookup hands out, keep_cache, what fstat
 * sees), open file handles, directory snapshots, touch, extended
 * attributes and the generated .mbfs/ files. See fs.h.
 *
 * Generations and kernel inodes (DESIGN.md §2 rule 3). The kernel caches
 * pages and the size per node id. A node id whose handles read one
 * generation must never be handed another generation's bytes while any
 * of those handles is open: shared page cache would mix them. So every
 * regular file has "kinos" — kernel inodes — each bound, while it has open
 * handles, to exactly one generation (cache_gen): the base one numbered
 * like the node, and aliases (MBFS_INO_ALIAS_BASE | n) made when a newer
 * generation must be shown while an older one is still open. Lookups and
 * listings hand out the node's current kino; when that one is open on an
 * older generation, a fresh alias becomes current and the node's names
 * are invalidated in the kernel (through the inval_entry hook), so the
 * next path walk meets the new file while old handles keep the old one —
 * the semantics of rename(2). An open that reaches a kino open on another
 * generation (a path resolved before the switch) answers ESTALE, which
 * makes the kernel re-walk the path with revalidation and open the
 * current kino. keep_cache is granted only when the kino's cache_gen is
 * the generation being opened; generations never repeat (spool.h), so
 * equal numbers mean equal bytes.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queries.h"
#include "mb_json.h"
#include "util.h"

#define CONTROL_MAX (256 * 1024)
#define XATTR_VALUE_MAX (64 * 1024)

enum control_id {
	CTL_STATUS = 1,   /* server, user, auth, options (key value lines) */
	CTL_STATS = 2,    /* counters and running exports, for people */
	CTL_ERRORS = 3,   /* recent failures */
	CTL_METRICS = 4,  /* Prometheus text exposition format */
	CTL_EXPORTS = 5,  /* running and queued exports, one tab-separated
			     line each (export.h), for `mbfs status` */
};

/* A kernel inode of a regular file (fs->lock). */
struct kino {
	uint64_t nodeid;
	struct mbfs_node *node;
	bool alias;                /* not the node's own number */
	uint64_t nlookup;          /* aliases: the kernel's lookup count */
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
	uint64_t next_alias;
	uint64_t n_aliases, n_stale;     /* counters for .mbfs/stats */
	/* Metrics of the layers fs does not know (FUSE requests, threads). */
	int (*metrics_fn)(void *arg, char *out, size_t outsz);
	void *metrics_arg;
	/* Handles given to the kernel and not released yet: freed at
	 * teardown when their RELEASE never came (a lazy unmount). */
	struct mbfs_file *files;
	struct mbfs_dir *dirs;
};

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

struct mbfs_dir {
	struct mbfs_dir *prev, *next;  /* fs->dirs (fs->lock) */
	uint64_t ino;
	struct mbfs_dirent *ents;
	size_t n;
};

/* The tree's error hook: a failed listing goes to .mbfs/errors too. */
static void listing_error(void *arg, const char *what,
			  const struct mbfs_err *err)
{
	struct mbfs_fs *fs = arg;
	mbfs_export_note_error(fs->env.export, what, err);
}

struct mbfs_fs *mbfs_fs_new(const struct mbfs_fs_env *env)
{
	struct mbfs_fs *fs = calloc(1, sizeof *fs);
	if (!fs)
		return NULL;
	fs->env = *env;
	fs->scope = strdup(env->result_scope ? env->result_scope : "");
	if (!fs->scope) {
		free(fs);
		return NULL;
	}
	fs->mounted_at = time(NULL);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->inval_cond, NULL);
	mbfs_inode_table_init(&fs->kinos);
	mbfs_inode_table_init(&fs->current);
	if (env->tree && env->export)
		mbfs_tree_set_error_hook(env->tree, listing_error, fs);
	return fs;
}

void mbfs_fs_set_inval_hook(struct mbfs_fs *fs,
			    void (*fn)(void *arg, uint64_t parent,
				       const char *name),
			    void *arg)
{
	pthread_mutex_lock(&fs->lock);
	fs->env.inval_entry = fn;
	fs->env.inval_arg = arg;
	pthread_mutex_unlock(&fs->lock);
}

void mbfs_fs_set_metrics_hook(struct mbfs_fs *fs,
			      int (*fn)(void *arg, char *out, size_t outsz),
			      void *arg)
{
	pthread_mutex_lock(&fs->lock);
	fs->metrics_fn = fn;
	fs->metrics_arg = arg;
	pthread_mutex_unlock(&fs->lock);
}

void mbfs_fs_set_inval_inode_hook(struct mbfs_fs *fs,
				  void (*fn)(void *arg, uint64_t ino),
				  void *arg)
{
	pthread_mutex_lock(&fs->lock);
	fs->env.inval_inode = fn;
	fs->env.inval_inode_arg = arg;
	pthread_mutex_unlock(&fs->lock);
}

static void kino_free(void *val, void *arg)
{
	(void)arg;
	free(val);
}

static void file_free(struct mbfs_fs *fs, struct mbfs_file *f);
static void file_register(struct mbfs_fs *fs, struct mbfs_file *f);
static void dir_free(struct mbfs_dir *d);

void mbfs_fs_free(struct mbfs_fs *fs)
{
	if (!fs)
		return;
	while (fs->files) {
		struct mbfs_file *f = fs->files;
		fs->files = f->next;
		f->nodeid = 0; /* its kino goes below */
		file_free(fs, f);
	}
	while (fs->dirs) {
		struct mbfs_dir *d = fs->dirs;
		fs->dirs = d->next;
		dir_free(d);
	}
	if (fs->env.tree && fs->env.export)
		mbfs_tree_set_error_hook(fs->env.tree, NULL, NULL);
	mbfs_inode_table_each(&fs->kinos, kino_free, NULL);
	mbfs_inode_table_destroy(&fs->kinos);
	mbfs_inode_table_destroy(&fs->current);
	pthread_cond_destroy(&fs->inval_cond);
	pthread_mutex_destroy(&fs->lock);
	free(fs->scope);
	free(fs);
}

/* ---- helpers ------------------------------------------------------------ */

static bool is_data(const struct mbfs_node *n)
{
	return mbfs_kind_is_data(n->kind);
}

/* Files whose bytes come in generations through the page cache. */
static bool has_gens(const struct mbfs_node *n)
{
	return is_data(n) || n->kind == MBFS_K_METADATA_FILE ||
	       n->kind == MBFS_K_SQL_FILE;
}

/* NAME.sql and editors' temp files in queries/<db>/: read and written
 * directly (direct_io), no generations. */
static bool is_qfile(const struct mbfs_node *n)
{
	return n->kind == MBFS_K_QUERY_SQL || n->kind == MBFS_K_QUERY_TEMP;
}

static bool query_data_gone(struct mbfs_fs *fs, const struct mbfs_node *n);
static enum mbfs_status stale_name(struct mbfs_err *err);

/* The result object of a query data file: the store's epoch and the SQL
 * file's revision name its text for good (queries.h). */
static void query_obj(const struct mbfs_fs *fs, const struct mbfs_qstat *qs,
		      enum mbfs_fmt fmt, char *obj, size_t objsz)
{
	snprintf(obj, objsz,
		 "query:%s:%" PRId64 ":%" PRIu64 ":r%" PRIu64 ":%s",
		 mbfs_queries_epoch(fs->env.queries), qs->db, qs->id, qs->rev,
		 mbfs_fmt_name(fmt));
}

/* The node behind a node id (an alias resolves to its file). */
static struct mbfs_node *node_of(struct mbfs_fs *fs, uint64_t ino)
{
	if (ino >= MBFS_INO_ALIAS_BASE) {
		pthread_mutex_lock(&fs->lock);
		struct kino *k = mbfs_inode_table_get(&fs->kinos, ino);
		struct mbfs_node *n = k ? k->node : NULL;
		pthread_mutex_unlock(&fs->lock);
		return n;
	}
	mbfs_tree_lock(fs->env.tree);
	struct mbfs_node *n = mbfs_tree_node(fs->env.tree, ino);
	mbfs_tree_unlock(fs->env.tree);
	return n;
}

/* The kino of nodeid for n, created on first use. fs->lock held. */
static struct kino *kino_get(struct mbfs_fs *fs, struct mbfs_node *n,
			     uint64_t nodeid)
{
	struct kino *k = mbfs_inode_table_get(&fs->kinos, nodeid);
	if (k)
		return k;
	k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->nodeid = nodeid;
	k->node = n;
	k->alias = nodeid != n->ino;
	if (!mbfs_inode_table_put(&fs->kinos, nodeid, k)) {
		free(k);
		return NULL;
	}
	return k;
}

/* The node id lookups hand out for n now. fs->lock held. */
static uint64_t current_id(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	struct kino *k = mbfs_inode_table_get(&fs->current, n->ino);
	return k ? k->nodeid : n->ino;
}

/* Free an alias nobody refers to any more. fs->lock held. */
static void kino_maybe_free(struct mbfs_fs *fs, struct kino *k)
{
	if (!k->alias || k->nlookup || k->open_count ||
	    current_id(fs, k->node) == k->nodeid)
		return;
	mbfs_inode_table_del(&fs->kinos, k->nodeid);
	free(k);
}

static void queue_inval(void *arg, uint64_t parent, const char *name)
{
	struct mbfs_fs *fs = arg;
	if (fs->env.inval_entry)
		fs->env.inval_entry(fs->env.inval_arg, parent, name);
}

/*
 * The kino to hand out for n when a reader would now see generation gen
 * (0: not known — keep what is there). When the current kino is open on
 * another generation, a new alias becomes current and the kernel is told
 * to forget n's names. fs->lock held.
 */
static struct kino *current_for(struct mbfs_fs *fs, struct mbfs_node *n,
				uint64_t gen)
{
	struct kino *cur = kino_get(fs, n, current_id(fs, n));
	if (!cur || gen == 0 || cur->open_count == 0 || cur->cache_gen == gen)
		return cur;
	struct kino *k = calloc(1, sizeof *k);
	if (!k)
		return cur;
	k->nodeid = MBFS_INO_ALIAS_BASE | ++fs->next_alias;
	k->node = n;
	k->alias = true;
	if (!mbfs_inode_table_put(&fs->kinos, k->nodeid, k)) {
		free(k);
		return cur;
	}
	if (!mbfs_inode_table_put(&fs->current, n->ino, k)) {
		mbfs_inode_table_del(&fs->kinos, k->nodeid);
		free(k);
		return cur;
	}
	fs->n_aliases++;
	mbfs_debug("generation %" PRIu64 " of inode %" PRIu64
		   " is shown as inode %" PRIu64 " (generation %" PRIu64
		   " is still open)",
		   gen, n->ino, k->nodeid, cur->cache_gen);
	kino_maybe_free(fs, cur);
	mbfs_tree_lock(fs->env.tree);
	mbfs_tree_names_of(fs->env.tree, n, queue_inval, fs);
	mbfs_tree_unlock(fs->env.tree);
	return k;
}

/* The file a PARAM_FILE reads with parameters (its base), else n. */
static const struct mbfs_node *base_of(const struct mbfs_node *n)
{
	return n->kind == MBFS_K_PARAM_FILE && n->base ? n->base : n;
}

/*
 * A result key: the mount's scope (Metabase user and every option that
 * changes the bytes), the object with its 64-bit ids and format, and the
 * parameters the export sends ("|p=<JSON>"). Heap; NULL when out of
 * memory.
 */
static char *key_compose(const struct mbfs_fs *fs, const char *obj,
			 const char *params)
{
	size_t ls = strlen(fs->scope), lo = strlen(obj);
	size_t lp = params ? strlen(params) : 0;
	char *k = malloc(ls + lo + (params ? 3 + lp : 0) + 1);
	if (!k)
		return NULL;
	memcpy(k, fs->scope, ls);
	memcpy(k + ls, obj, lo);
	if (params) {
		memcpy(k + ls + lo, "|p=", 3);
		memcpy(k + ls + lo + 3, params, lp);
	}
	k[ls + lo + (params ? 3 + lp : 0)] = '\0';
	return k;
}

/*
 * What a data node exports: the object its results are keyed by (obj)
 * and the export request (*r, its strings borrowed from the node: valid
 * while the tree lock is held). A query data file's request is made from
 * the SQL file's text (query_req_key): here only its object. False when
 * n has no result (not a data file, or a query whose SQL file is gone).
 * Tree lock held.
 */
static bool data_object(const struct mbfs_fs *fs, const struct mbfs_node *n,
			char *obj, size_t objsz, struct mb_export_req *r)
{
	const char *fmt = mbfs_fmt_name(n->fmt);
	/* a file read with parameters: its base's object and request, with
	 * the parameters it sends */
	const struct mbfs_node *b = base_of(n);
	memset(r, 0, sizeof *r);
	r->kind = MB_EXPORT_CARD;
	r->id = b->id;
	r->db_id = b->db_id;
	r->format = fmt;
	r->format_rows = fs->env.opts->format_rows;
	switch (b->kind) {
	case MBFS_K_PUBLIC_CARD_FILE:
		/* public links: no credential is sent (mb_api.c) */
		snprintf(obj, objsz, "public-card:%s:%s", b->uuid ? b->uuid : "",
			 fmt);
		r->kind = MB_EXPORT_PUBLIC_CARD;
		break;
	case MBFS_K_PUBLIC_DASHCARD_FILE:
		snprintf(obj, objsz,
			 "public-dashcard:%s:%" PRId64 ":%" PRId64 ":%s",
			 b->uuid ? b->uuid : "", b->id, b->card_id, fmt);
		r->kind = MB_EXPORT_PUBLIC_DASHCARD;
		r->parameters = n->params;
		break;
	case MBFS_K_CARD_FILE:
		snprintf(obj, objsz, "card:%" PRId64 ":%s", b->id, fmt);
		if (n->kind == MBFS_K_PARAM_FILE)
			r->parameters = n->params;
		break;
	case MBFS_K_TABLE_FILE:
		snprintf(obj, objsz, "table:%" PRId64 ":%s", b->id, fmt);
		r->kind = MB_EXPORT_TABLE;
		break;
	case MBFS_K_DASHCARD_FILE:
		/* POST /api/dashboard/:d/dashcard/:dc/card/:c/query/:fmt with
		 * the dashboard's filter defaults */
		snprintf(obj, objsz,
			 "dashcard:%" PRId64 ":%" PRId64 ":%" PRId64 ":%s",
			 b->dashboard_id, b->id, b->card_id, fmt);
		r->kind = MB_EXPORT_DASHCARD;
		r->parameters = n->params;
		break;
	case MBFS_K_QUERY_FILE: {
		struct mbfs_qstat qs;
		if (!fs->env.queries ||
		    !mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) ||
		    qs.temp || !qs.linked)
			return false;
		query_obj(fs, &qs, n->fmt, obj, objsz);
		r->kind = MB_EXPORT_NATIVE;
		r->db_id = qs.db;
		return true;
	}
	default:
		return false;
	}
	if (r->kind == MB_EXPORT_PUBLIC_CARD ||
	    r->kind == MB_EXPORT_PUBLIC_DASHCARD ||
	    r->kind == MB_EXPORT_DASHCARD) {
		r->id = b->card_id;
		r->dashboard_id = b->dashboard_id;
		r->dashcard_id = b->id;
	}
	if (r->kind == MB_EXPORT_PUBLIC_CARD ||
	    r->kind == MB_EXPORT_PUBLIC_DASHCARD)
		r->uuid = b->uuid;
	return true;
}

/* n's result key, built under the lock (dashcards can change). Heap;
 * NULL when n has none. */
static char *key_of(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	char obj[160];
	struct mb_export_req r;
	mbfs_tree_lock(fs->env.tree);
	char *key = data_object(fs, n, obj, sizeof obj, &r)
			    ? key_compose(fs, obj, r.parameters)
			    : NULL;
	mbfs_tree_unlock(fs->env.tree);
	return key;
}

/* The request and key of a data node, consistent with each other. */
struct req_key {
	struct mb_export_req req;
	char *params;              /* the strings req points to */
	char *uuid;
	char *sql;
	char *key;
	char label[1024];          /* "<path> (<object>)" */
};

static void req_key_free(struct req_key *rk)
{
	free(rk->params);
	free(rk->uuid);
	free(rk->sql);
	free(rk->key);
}

/* The export request of a data node and the key of its result, consistent
 * with each other (taken under one hold of the tree lock; for a query
 * data file, the SQL text and the revision it is keyed by are taken
 * together from the store). Free with req_key_free, also on failure. */
static enum mbfs_status req_key_of(struct mbfs_fs *fs, const struct mbfs_node *n,
				   struct req_key *rk, struct mbfs_err *err)
{
	char obj[160], path[880];
	bool ok = true;
	memset(rk, 0, sizeof *rk);
	if (n->kind == MBFS_K_QUERY_FILE) {
		/* POST /api/dataset/:fmt with the SQL file's text */
		struct mbfs_qstat qs;
		if (!fs->env.queries)
			return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					    "no query store");
		enum mbfs_status st = mbfs_queries_text(
			fs->env.queries, (uint64_t)n->id, &rk->sql, &qs, err);
		if (st != MBFS_OK)
			return st;
		query_obj(fs, &qs, n->fmt, obj, sizeof obj);
		rk->req.kind = MB_EXPORT_NATIVE;
		rk->req.db_id = qs.db;
		rk->req.sql = rk->sql;
		rk->req.format = mbfs_fmt_name(n->fmt);
		rk->req.format_rows = fs->env.opts->format_rows;
		rk->key = key_compose(fs, obj, NULL);
		mbfs_tree_lock(fs->env.tree);
	} else {
		mbfs_tree_lock(fs->env.tree);
		ok = data_object(fs, n, obj, sizeof obj, &rk->req);
		if (ok) {
			/* the node's strings may change once the lock is
			 * dropped: the request keeps copies */
			rk->params = mbfs_dup0(rk->req.parameters);
			rk->uuid = mbfs_dup0(rk->req.uuid);
			rk->req.parameters = rk->params;
			rk->req.uuid = rk->uuid;
			rk->key = key_compose(fs, obj, rk->params);
			ok = (!rk->req.parameters || rk->params) &&
			     (!rk->req.uuid || rk->uuid);
		}
	}
	mbfs_tree_path(fs->env.tree, n, path, sizeof path);
	mbfs_tree_unlock(fs->env.tree);
	/* logs and .mbfs/ name the file and the object, not the mount's
	 * scope (nor the parameters: the path shows those) */
	snprintf(rk->label, sizeof rk->label, "%.800s (%.150s)", path,
		 ok ? obj : "");
	rk->req.label = rk->label;
	if (!ok || !rk->key) {
		req_key_free(rk);
		memset(rk, 0, sizeof *rk);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	return MBFS_OK;
}

/* Run (or join) the export of a data node. Blocks. With fd, *key_out
 * receives the key (heap) the result was opened under. */
static enum mbfs_status materialize(struct mbfs_fs *fs, struct mbfs_node *n,
				    int *fd, struct mbfs_result_info *info,
				    char **key_out, struct mbfs_err *err)
{
	struct req_key rk;
	enum mbfs_status st = req_key_of(fs, n, &rk, err);
	if (st != MBFS_OK)
		return st;
	st = mbfs_export_get(fs->env.export, rk.key, &rk.req, fd, info, err);
	if (key_out && st == MBFS_OK) {
		*key_out = rk.key;
		rk.key = NULL;
	}
	req_key_free(&rk);
	return st;
}

/* metadata/ files: a snapshot's state as result info. */
static void meta_info(const struct mbfs_meta_snap *s,
		      struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	if (!s || !s->array)
		return;
	info->have = info->fresh = true;
	info->spool.size = s->array_len;
	info->spool.rows = (int64_t)s->count;
	info->spool.fetched_at = s->fetched_at;
	info->spool.gen = s->gen;
}

/* Fetch a metadata/ file's list (fresh for meta_ttl); with buf, also a
 * heap copy of its bytes. Blocks. */
static enum mbfs_status meta_file(struct mbfs_fs *fs, const struct mbfs_node *n,
				  char **buf, struct mbfs_result_info *info,
				  struct mbfs_err *err)
{
	struct mbfs_meta *m = mbfs_tree_meta(fs->env.tree);
	const struct mbfs_meta_snap *s = NULL;
	memset(info, 0, sizeof *info);
	enum mbfs_status st = mbfs_meta_get(m, (enum mbfs_meta_kind)n->id, 0,
					    MBFS_META_WANT_ARRAY, &s, err);
	if (st != MBFS_OK)
		return st;
	meta_info(s, info);
	if (buf) {
		*buf = malloc(s->array_len + 1);
		if (*buf)
			memcpy(*buf, s->array, s->array_len + 1);
		else
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	mbfs_meta_put(m, s);
	return st;
}

/* What is known about a file's content without fetching anything. */
static void peek_node(struct mbfs_fs *fs, const struct mbfs_node *n,
		      struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	if (is_data(n)) {
		char *key = key_of(fs, n);
		if (key)
			mbfs_export_peek(fs->env.export, key, info);
		free(key);
	} else if (n->kind == MBFS_K_METADATA_FILE) {
		struct mbfs_meta *m = mbfs_tree_meta(fs->env.tree);
		const struct mbfs_meta_snap *s =
			mbfs_meta_peek(m, (enum mbfs_meta_kind)n->id, 0);
		meta_info(s, info);
		mbfs_meta_put(m, s);
	}
}

/* The generation a reader of n would see now, from its result info
 * (0: none known). */
static uint64_t gen_now(struct mbfs_fs *fs, const struct mbfs_node *n,
			const struct mbfs_result_info *info)
{
	if (n->kind == MBFS_K_SQL_FILE) {
		mbfs_tree_lock(fs->env.tree);
		uint64_t g = n->content_gen;
		mbfs_tree_unlock(fs->env.tree);
		return g;
	}
	return info && info->have ? info->spool.gen : 0;
}

static void render_control(struct mbfs_fs *fs, int64_t which, char **out,
			   size_t *len);

/* Attributes of a node; info is the result state of data nodes (or NULL). */
static void attr_of(struct mbfs_fs *fs, const struct mbfs_node *n,
		    const struct mbfs_result_info *info, struct mbfs_attr *a)
{
	const struct mbfs_options *o = fs->env.opts;
	memset(a, 0, sizeof *a);
	a->ino = n->ino;
	a->uid = o->uid;
	a->gid = o->gid;
	a->timeout = o->meta_ttl;
	a->mtime = n->mtime ? (int64_t)n->mtime : (int64_t)fs->mounted_at;
	if (mbfs_kind_is_dir(n->kind)) {
		/* queries/<db>/ is where NAME.sql files are written */
		mode_t perm = n->kind == MBFS_K_QUERY_DB ? 0755 : 0555;
		a->mode = S_IFDIR | (perm & ~o->umask);
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | (0444 & ~o->umask);
	a->nlink = 1;
	if (is_qfile(n) || n->kind == MBFS_K_QUERY_FILE) {
		/* the SQL file: local state that any write changes, never
		 * cached (stat is cheap); its data files are cached like any
		 * (a listing must not make ls -l export), and a change of the
		 * SQL drops their attributes (drop_revision) */
		struct mbfs_qstat qs;
		if (is_qfile(n))
			a->timeout = 0;
		if (fs->env.queries &&
		    mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs)) {
			a->mtime = (int64_t)qs.mtime.tv_sec;
			if (is_qfile(n)) {
				a->mode = S_IFREG | (qs.mode & 07777);
				a->size = qs.size;
			}
		}
		if (is_qfile(n))
			return;
	}
	if (n->kind == MBFS_K_SQL_FILE && n->sql)
		a->size = strlen(n->sql);
	if (info && info->have) {
		a->size = info->spool.size;
		a->mtime = (int64_t)info->spool.fetched_at;
	}
}

/*
 * The test-only switches -o test_zero_size[=always] (tests/clients/
 * test_wrong_size.py proves with them that the client tests can fail):
 * a data file reports size 0 before it is open, and with =always once
 * open too (every file with generations). The one place they act:
 * every attribute of a file with generations leaves fs through attr_for.
 */
static void test_zero_size(const struct mbfs_fs *fs, const struct mbfs_node *n,
			   bool open, struct mbfs_attr *a)
{
	const struct mbfs_options *o = fs->env.opts;
	if (open ? o->test_zero_size_always : (o->test_zero_size && is_data(n)))
		a->size = 0;
}

/* Attributes of n as an open handle fh reads it (its generation's size
 * and time), else as the kernel inode k shows them: while k has open
 * handles, theirs (fstat arrives as a GETATTR without a handle);
 * otherwise from info. Tree lock taken here. */
static void attr_for(struct mbfs_fs *fs, struct mbfs_node *n,
		     const struct kino *k, const struct mbfs_file *fh,
		     const struct mbfs_result_info *info, struct mbfs_attr *a)
{
	bool open = fh || (k && k->open_count);
	mbfs_tree_lock(fs->env.tree);
	attr_of(fs, n, open ? NULL : info, a);
	mbfs_tree_unlock(fs->env.tree);
	if (fh) {
		a->size = fh->size;
		a->mtime = fh->mtime;
	} else if (open) {
		a->size = k->open_size;
		a->mtime = k->open_mtime;
	}
	if (k)
		a->ino = k->nodeid;
	test_zero_size(fs, n, open, a);
}

/* The result state of n for lookup/getattr, materializing per rule 2.
 * Fails only with WOULD_BLOCK (in a try scope): a failed export still
 * answers, with size 0, so that getfattr can show user.mb.error (rule 4). */
static enum mbfs_status stat_info(struct mbfs_fs *fs, struct mbfs_node *n,
				  struct mbfs_result_info *info,
				  struct mbfs_err *err)
{
	memset(info, 0, sizeof *info);
	struct mbfs_err e;
	enum mbfs_status st = MBFS_OK;
	mbfs_err_clear(&e);
	if (is_data(n)) {
		peek_node(fs, n, info);
		/* Stream mode never materializes on stat: size 0 until done. */
		bool may_export = !fs->env.opts->stat_cached &&
				  !fs->env.opts->stream;
		if (!info->fresh && may_export)
			st = materialize(fs, n, NULL, info, NULL, &e);
		if (st != MBFS_OK && st != MBFS_ERR_WOULD_BLOCK)
			mbfs_debug("stat of inode %" PRIu64 ": export failed: %s",
				   n->ino, e.msg);
	} else if (n->kind == MBFS_K_METADATA_FILE) {
		/* rule 2 for metadata/ files too: naming one fetches its list
		 * (a failure still answers, with size 0; open reports it) */
		if (fs->env.opts->stat_cached)
			peek_node(fs, n, info);
		else
			st = meta_file(fs, n, NULL, info, &e);
		if (st != MBFS_OK && st != MBFS_ERR_WOULD_BLOCK)
			mbfs_debug("stat metadata %" PRId64 ": %s", n->id, e.msg);
	}
	if (st == MBFS_ERR_WOULD_BLOCK) {
		*err = e;
		return st;
	}
	return MBFS_OK;
}

/* Attributes of n for a lookup or a listing entry: the kino to hand out
 * for the generation info shows, and its attributes; with ref, one more
 * kernel reference on it. */
static void entry_attr(struct mbfs_fs *fs, struct mbfs_node *n,
		       const struct mbfs_result_info *info, bool ref,
		       struct mbfs_attr *a)
{
	if (!has_gens(n)) {
		mbfs_tree_lock(fs->env.tree);
		attr_of(fs, n, info, a);
		mbfs_tree_unlock(fs->env.tree);
		if (n->kind == MBFS_K_CONTROL_FILE) {
			char *buf;
			size_t len;
			render_control(fs, n->id, &buf, &len);
			a->size = len;
			a->timeout = 0;
			free(buf);
		}
		return;
	}
	uint64_t g = gen_now(fs, n, info);
	pthread_mutex_lock(&fs->lock);
	struct kino *k = current_for(fs, n, g);
	attr_for(fs, n, k, NULL, info, a);
	if (ref && k && k->alias)
		k->nlookup++;
	pthread_mutex_unlock(&fs->lock);
}

/* ---- lookup / getattr / forget ------------------------------------------ */

/* A public card looked up by a uuid the server does not know (its
 * export answered 404, and no listing shows it): the lookup is ENOENT. */
static bool public_link_missing(struct mbfs_fs *fs, struct mbfs_node *n,
				const struct mbfs_result_info *info)
{
	if (n->kind != MBFS_K_PUBLIC_CARD_FILE || info->have || !info->failed ||
	    info->error.status != MBFS_ERR_NOT_FOUND)
		return false;
	bool listed = false;
	mbfs_tree_lock(fs->env.tree);
	for (size_t p = 0; p < n->n_parents && !listed; p++)
		for (size_t i = 0; i < n->parents[p]->n_entries && !listed; i++)
			listed = n->parents[p]->entries[i].node == n;
	mbfs_tree_unlock(fs->env.tree);
	return !listed;
}

enum mbfs_status mbfs_fs_lookup(struct mbfs_fs *fs, uint64_t parent,
				const char *name, struct mbfs_attr *out,
				struct mbfs_err *err)
{
	struct mbfs_node *dir = node_of(fs, parent);
	if (!dir)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale directory");
	struct mbfs_node *n = NULL;
	enum mbfs_status st = mbfs_tree_find(fs->env.tree, dir, name, &n, err);
	/* a name no listing shows: parameters, a public link (DESIGN §1) */
	if (st == MBFS_ERR_NOT_FOUND)
		st = mbfs_tree_find_unlisted(fs->env.tree, dir, name, &n, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	if (has_gens(n)) {
		st = stat_info(fs, n, &info, err);
		if (st != MBFS_OK)
			return st;
	}
	if (public_link_missing(fs, n, &info))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "%s",
				    info.error.msg);
	entry_attr(fs, n, &info, true, out);
	return MBFS_OK;
}

void mbfs_fs_ref(struct mbfs_fs *fs, uint64_t ino)
{
	if (ino < MBFS_INO_ALIAS_BASE)
		return; /* nodes live for the whole mount */
	pthread_mutex_lock(&fs->lock);
	struct kino *k = mbfs_inode_table_get(&fs->kinos, ino);
	if (k)
		k->nlookup++;
	pthread_mutex_unlock(&fs->lock);
}

void mbfs_fs_forget(struct mbfs_fs *fs, uint64_t ino, uint64_t nlookup)
{
	if (ino < MBFS_INO_ALIAS_BASE)
		return;
	pthread_mutex_lock(&fs->lock);
	struct kino *k = mbfs_inode_table_get(&fs->kinos, ino);
	if (k) {
		k->nlookup = k->nlookup > nlookup ? k->nlookup - nlookup : 0;
		kino_maybe_free(fs, k);
	}
	pthread_mutex_unlock(&fs->lock);
}

enum mbfs_status mbfs_fs_getattr(struct mbfs_fs *fs, uint64_t ino,
				 struct mbfs_file *fh, struct mbfs_attr *out,
				 struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (is_qfile(n) && (!fs->env.queries ||
			    !mbfs_queries_stat(fs->env.queries, (uint64_t)n->id,
					       NULL)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "the file is gone");
	if (!fh && query_data_gone(fs, n))
		return stale_name(err);
	if (fh && (fh->fd >= 0 || (fh->mem && n->kind != MBFS_K_CONTROL_FILE))) {
		/* an open handle: what it reads (spool file or memory copy) */
		attr_for(fs, n, NULL, fh, NULL, out);
		out->ino = ino;
		return MBFS_OK;
	}
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	if (!has_gens(n)) {
		entry_attr(fs, n, &info, false, out);
		out->ino = ino;
		return MBFS_OK;
	}
	/* While this kino has open handles its attributes are theirs (the
	 * fstat rule) — decided and answered under one hold of the lock: if
	 * the handles closed between a check and the answer, the answer
	 * would carry no result (size 0) to a kernel inode whose pages may
	 * be kept. Otherwise name-materialize (rule 2), then answer from that
	 * result (or from handles opened meanwhile). */
	pthread_mutex_lock(&fs->lock);
	struct kino *k = kino_get(fs, n, ino);
	if (k && k->open_count) {
		attr_for(fs, n, k, NULL, NULL, out);
		pthread_mutex_unlock(&fs->lock);
		out->ino = ino;
		return MBFS_OK;
	}
	pthread_mutex_unlock(&fs->lock);
	enum mbfs_status st = stat_info(fs, n, &info, err);
	if (st != MBFS_OK)
		return st;
	pthread_mutex_lock(&fs->lock);
	k = kino_get(fs, n, ino);
	attr_for(fs, n, k, NULL, &info, out);
	pthread_mutex_unlock(&fs->lock);
	out->ino = ino;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_touch(struct mbfs_fs *fs, uint64_t ino,
			       struct mbfs_attr *out, struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (is_data(n)) {
		char *key = key_of(fs, n);
		if (key) {
			mbfs_export_invalidate(fs->env.export, key);
			mbfs_info("touch: dropped the cached result of %s", key);
		}
		free(key);
	} else if (mbfs_kind_is_dir(n->kind)) {
		mbfs_tree_lock(fs->env.tree);
		mbfs_tree_invalidate_dir(fs->env.tree, n);
		mbfs_tree_unlock(fs->env.tree);
	} else {
		mbfs_tree_lock(fs->env.tree);
		mbfs_tree_invalidate_file(fs->env.tree, n);
		mbfs_tree_unlock(fs->env.tree);
	}
	/* The reply's attributes reach the kernel inode ino: while it has
	 * open handles they must stay theirs (a size change would cut their
	 * page cache); otherwise nothing is cached any more. */
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	if (has_gens(n)) {
		pthread_mutex_lock(&fs->lock);
		/* Handles are open on the current kino: the next path walk
		 * must meet a new one (stat sees the next generation at once,
		 * fstat of the open handles keeps theirs). */
		current_for(fs, n, UINT64_MAX);
		struct kino *k = kino_get(fs, n, ino);
		attr_for(fs, n, k, NULL, &info, out);
		pthread_mutex_unlock(&fs->lock);
	} else {
		mbfs_tree_lock(fs->env.tree);
		attr_of(fs, n, &info, out);
		mbfs_tree_unlock(fs->env.tree);
	}
	out->ino = ino;
	return MBFS_OK;
}

/* ---- directories --------------------------------------------------------- */

enum mbfs_status mbfs_fs_opendir(struct mbfs_fs *fs, uint64_t ino,
				 struct mbfs_dir **out, struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (!mbfs_kind_is_dir(n->kind))
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	struct mbfs_dir *d = calloc(1, sizeof *d);
	if (!d)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	d->ino = ino;
	enum mbfs_status st = mbfs_tree_list(fs->env.tree, n, &d->ents, &d->n,
					     err);
	if (st != MBFS_OK) {
		free(d);
		return st;
	}
	pthread_mutex_lock(&fs->lock);
	d->next = fs->dirs;
	if (fs->dirs)
		fs->dirs->prev = d;
	fs->dirs = d;
	pthread_mutex_unlock(&fs->lock);
	*out = d;
	return MBFS_OK;
}

size_t mbfs_dir_count(const struct mbfs_dir *d)
{
	return d->n + 2;
}

bool mbfs_dir_entry(struct mbfs_fs *fs, struct mbfs_dir *d, size_t i,
		    const char **name, struct mbfs_attr *attr, bool *is_dot)
{
	if (i >= d->n + 2)
		return false;
	if (i < 2) {
		*name = i == 0 ? "." : "..";
		*is_dot = true;
		memset(attr, 0, sizeof *attr);
		attr->ino = i == 0 ? d->ino : 1;
		attr->mode = S_IFDIR;
		return true;
	}
	*is_dot = false;
	struct mbfs_node *n = d->ents[i - 2].node;
	*name = d->ents[i - 2].name;
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	peek_node(fs, n, &info);
	entry_attr(fs, n, &info, false, attr);
	return true;
}

static void dir_free(struct mbfs_dir *d)
{
	mbfs_tree_free_snapshot(d->ents, d->n);
	free(d);
}

void mbfs_fs_releasedir(struct mbfs_fs *fs, struct mbfs_dir *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&fs->lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		fs->dirs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&fs->lock);
	dir_free(d);
}

/* ---- files --------------------------------------------------------------- */

/*
 * A handle of generation f->gen is opening on kino nodeid: bind it. Grants
 * keep_cache only when the kernel's pages for this kino are of this very
 * generation. A kino still open on another generation cannot take it:
 * STALE (the kernel re-walks the path and meets the current kino, which
 * current_for() makes sure is a different one).
 */
static enum mbfs_status register_open(struct mbfs_fs *fs, struct mbfs_node *n,
				      uint64_t nodeid, struct mbfs_file *f,
				      struct mbfs_open_info *oi,
				      struct mbfs_err *err)
{
	enum mbfs_status st = MBFS_OK;
	pthread_mutex_lock(&fs->lock);
	struct kino *k = kino_get(fs, n, nodeid);
	/* The kernel may hold a listing's size for this inode ("no result
	 * yet": 0). The first opener makes it drop the attributes before
	 * its reply; a second opener replying before that notification
	 * would read up to the stale size (and the notification would later
	 * make the kernel discard its size refresh): it waits. */
	while (k && k->inval_pending)
		pthread_cond_wait(&fs->inval_cond, &fs->lock);
	if (!k) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	} else if (k->open_count == 0) {
		oi->keep_cache = f->gen && k->cache_gen == f->gen;
		oi->inval_attrs = true;
		k->inval_pending = true;
		k->cache_gen = f->gen;
		k->open_count = 1;
		k->open_size = f->size;
		k->open_mtime = f->mtime;
	} else if (f->gen && k->cache_gen == f->gen) {
		oi->keep_cache = true;
		k->open_count++;
	} else {
		current_for(fs, n, f->gen ? f->gen : UINT64_MAX);
		fs->n_stale++;
		st = mbfs_err_set(err, MBFS_ERR_STALE, 0,
				  "generation %" PRIu64 " is still open on this inode: re-resolve the path",
				  k->cache_gen);
	}
	pthread_mutex_unlock(&fs->lock);
	if (st == MBFS_OK) {
		f->node = n;
		f->nodeid = nodeid;
		oi->size = f->size;
	}
	return st;
}

/* Open a file served from memory: a .sql file (the card's SQL text) or a
 * metadata/ file (the list's JSON array). Through the page cache (mmap
 * works); the kernel keeps its cache while the content's generation is
 * unchanged. Takes ownership of f. */
static enum mbfs_status open_mem(struct mbfs_fs *fs, struct mbfs_node *n,
				 uint64_t nodeid, struct mbfs_file *f,
				 struct mbfs_file **out,
				 struct mbfs_open_info *oi, struct mbfs_err *err)
{
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	enum mbfs_status st = MBFS_OK;
	if (n->kind == MBFS_K_METADATA_FILE) {
		st = meta_file(fs, n, &f->mem, &info, err);
		f->gen = info.spool.gen;
	} else {
		mbfs_tree_lock(fs->env.tree);
		f->mem = strdup(n->sql ? n->sql : "");
		f->mtime = n->mtime;
		f->gen = n->content_gen;
		mbfs_tree_unlock(fs->env.tree);
		if (!f->mem)
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	if (st == MBFS_OK) {
		f->mem_len = strlen(f->mem);
		f->size = f->mem_len;
		if (info.have)
			f->mtime = (int64_t)info.spool.fetched_at;
		if (!f->mtime)
			f->mtime = (int64_t)fs->mounted_at;
		st = register_open(fs, n, nodeid, f, oi, err);
	}
	if (st != MBFS_OK) {
		free(f->mem);
		free(f);
		return st;
	}
	file_register(fs, f);
	*out = f;
	return MBFS_OK;
}

static enum mbfs_status open_query(struct mbfs_fs *fs, struct mbfs_node *n,
				   int flags, struct mbfs_file **out,
				   struct mbfs_open_info *oi,
				   struct mbfs_err *err);

enum mbfs_status mbfs_fs_open(struct mbfs_fs *fs, uint64_t ino, int flags,
			      struct mbfs_file **out, struct mbfs_open_info *oi,
			      struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (mbfs_kind_is_dir(n->kind))
		return mbfs_err_set(err, MBFS_ERR_IS_DIR, 0, "is a directory");
	if (is_qfile(n))
		return open_query(fs, n, flags, out, oi, err);
	if (query_data_gone(fs, n))
		return stale_name(err);
	if (n->kind == MBFS_K_QUERY_FILE &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return mbfs_err_set(err, MBFS_ERR_DENIED, 0,
				    "a query's result cannot be written: edit its .sql file");
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return mbfs_err_set(err, MBFS_ERR_READONLY, 0,
				    "this file is read-only");
	struct mbfs_file *f = calloc(1, sizeof *f);
	if (!f)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	f->fd = -1;
	memset(oi, 0, sizeof *oi);
	if (n->kind == MBFS_K_CONTROL_FILE) {
		render_control(fs, n->id, &f->mem, &f->mem_len);
		oi->direct_io = true;
		oi->size = f->mem_len;
		file_register(fs, f);
	*out = f;
		return MBFS_OK;
	}
	if (n->kind == MBFS_K_SQL_FILE || n->kind == MBFS_K_METADATA_FILE)
		return open_mem(fs, n, ino, f, out, oi, err);
	if (!is_data(n)) {
		free(f);
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "not a data file");
	}
	if (fs->env.opts->stream) {
		/* Rule 6: open at once, reads wait only for their own bytes. */
		struct req_key rk;
		enum mbfs_status sst = req_key_of(fs, n, &rk, err);
		if (sst == MBFS_OK)
			sst = mbfs_export_stream_open(fs->env.export, rk.key,
						      &rk.req, &f->stream, err);
		req_key_free(&rk);
		if (sst != MBFS_OK) {
			free(f);
			return sst;
		}
		oi->direct_io = true;
		file_register(fs, f);
	*out = f;
		return MBFS_OK;
	}
	struct mbfs_result_info info;
	enum mbfs_status st = materialize(fs, n, &f->fd, &info, &f->key, err);
	if (st != MBFS_OK) {
		free(f);
		return st;
	}
	f->gen = info.spool.gen;
	f->size = info.spool.size;
	f->mtime = (int64_t)info.spool.fetched_at;
	st = register_open(fs, n, ino, f, oi, err);
	if (st != MBFS_OK) {
		close(f->fd);
		mbfs_export_release(fs->env.export, f->key, f->gen);
		free(f->key);
		free(f);
		return st;
	}
	file_register(fs, f);
	*out = f;
	return MBFS_OK;
}

void mbfs_fs_open_done(struct mbfs_fs *fs, struct mbfs_file *f)
{
	if (!f || !f->nodeid)
		return;
	pthread_mutex_lock(&fs->lock);
	struct kino *k = mbfs_inode_table_get(&fs->kinos, f->nodeid);
	if (k && k->inval_pending) {
		k->inval_pending = false;
		pthread_cond_broadcast(&fs->inval_cond);
	}
	pthread_mutex_unlock(&fs->lock);
}

int mbfs_file_fd(const struct mbfs_file *f)
{
	return f->stream ? mbfs_export_stream_fd(f->stream) : f->fd;
}

const char *mbfs_file_mem(const struct mbfs_file *f, size_t *len)
{
	*len = f->mem_len;
	return f->mem;
}

/* Add f to the handles given out (fs->lock not held). */
static void file_register(struct mbfs_fs *fs, struct mbfs_file *f)
{
	pthread_mutex_lock(&fs->lock);
	f->prev = NULL;
	f->next = fs->files;
	if (fs->files)
		fs->files->prev = f;
	fs->files = f;
	pthread_mutex_unlock(&fs->lock);
}

void mbfs_fs_release(struct mbfs_fs *fs, struct mbfs_file *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&fs->lock);
	if (f->prev)
		f->prev->next = f->next;
	else if (fs->files == f)
		fs->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&fs->lock);
	file_free(fs, f);
}

static void file_free(struct mbfs_fs *fs, struct mbfs_file *f)
{
	if (f->qid) {
		/* the last chance to get a written SQL file to the disk */
		struct mbfs_err e;
		if (f->qwrite &&
		    mbfs_queries_sync(fs->env.queries, f->qid, &e) != MBFS_OK)
			mbfs_warn("cannot save a SQL file: %s", e.msg);
		mbfs_queries_unref(fs->env.queries, f->qid);
	}
	if (f->fd >= 0) {
		close(f->fd);
		mbfs_export_release(fs->env.export, f->key, f->gen);
	}
	if (f->stream)
		mbfs_export_stream_close(fs->env.export, f->stream);
	if (f->nodeid) {
		pthread_mutex_lock(&fs->lock);
		struct kino *k = mbfs_inode_table_get(&fs->kinos, f->nodeid);
		if (k && k->open_count) {
			k->open_count--;
			kino_maybe_free(fs, k);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free(f->key);
	free(f->mem);
	free(f);
}

/* ---- extended attributes ------------------------------------------------ */

#define XATTRS_MAX 24

struct xattrs {
	const char *names[XATTRS_MAX];
	char *values[XATTRS_MAX];
	int n;
};

static void xa_add(struct xattrs *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xa_add(struct xattrs *x, const char *name, const char *fmt, ...)
{
	if (x->n >= XATTRS_MAX)
		return;
	/* Values hold server text (names, descriptions, messages): the
	 * whole text, control characters escaped (status.h), never cut
	 * inside an escape or a UTF-8 character; at most XATTR_VALUE_MAX. */
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	char *text = mbfs_vformat(small, sizeof small, fmt, ap);
	va_end(ap);
	if (!text)
		return;
	size_t len = strlen(text);
	size_t cap = len * 6 + 1 < XATTR_VALUE_MAX ? len * 6 + 1 : XATTR_VALUE_MAX;
	char *val = malloc(cap);
	if (val) {
		mbfs_escape_text(text, val, cap);
		x->names[x->n] = name;
		x->values[x->n++] = val;
	}
	if (text != small)
		free(text);
}

static void xa_free(struct xattrs *x)
{
	for (int i = 0; i < x->n; i++)
		free(x->values[i]);
}

static void iso_time(double t, char *out, size_t outsz)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The page of a card in Metabase, by its kind. */
static const char *card_page(enum mb_model m)
{
	return m == MB_MODEL_DATASET  ? "model"
	       : m == MB_MODEL_METRIC ? "metric"
				      : "question";
}

static const char *card_model_name(enum mb_model m)
{
	return m == MB_MODEL_DATASET  ? "dataset"
	       : m == MB_MODEL_METRIC ? "metric"
				      : "card";
}

static const char *model_of(const struct mbfs_node *n)
{
	switch (n->kind) {
	case MBFS_K_CARD_FILE:
	case MBFS_K_DASHCARD_FILE:
	case MBFS_K_SQL_FILE: return card_model_name(n->model);
	case MBFS_K_COLLECTION: return "collection";
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID: return "dashboard";
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID: return "tab";
	case MBFS_K_DATABASE: return "database";
	case MBFS_K_SCHEMA: return "schema";
	case MBFS_K_TABLE_FILE: return "table";
	case MBFS_K_METADATA_FILE: return "metadata";
	case MBFS_K_QUERY_DB: return "database";
	case MBFS_K_QUERY_SQL:
	case MBFS_K_QUERY_FILE: return "query";
	case MBFS_K_PARAM_FILE:
	case MBFS_K_PUBLIC_CARD_FILE:
	case MBFS_K_PUBLIC_DASHCARD_FILE: return card_model_name(n->model);
	case MBFS_K_PUBLIC_DASHBOARD: return "dashboard";
	default: return NULL;
	}
}

/* Percent-encode s (RFC 3986 unreserved characters kept) into out. */
static void url_escape(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			    *p == '_' || *p == '~';
		if (o + (keep ? 1 : 3) >= outsz)
			break;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

static const char *metadata_endpoint(int64_t which)
{
	switch ((enum mbfs_meta_kind)which) {
	case MBFS_META_CARDS: return "api/card";
	case MBFS_META_COLLECTIONS: return "api/collection";
	case MBFS_META_DASHBOARDS: return "api/dashboard";
	case MBFS_META_DATABASES: return "api/database";
	case MBFS_META_USERS: return "api/user";
	case MBFS_META_SNIPPETS: return "api/native-query-snippet";
	default: return "";
	}
}

/* user.mb.url: the page of the object in Metabase (the API endpoint for
 * metadata/ files). Lock held. */
static void add_url(struct xattrs *x, const char *url, const struct mbfs_node *n)
{
	char esc[512];
	switch (n->kind) {
	case MBFS_K_ROOT:
		xa_add(x, "user.mb.url", "%s/", url);
		break;
	case MBFS_K_COLLECTION:
		if (n->id == 0)
			xa_add(x, "user.mb.url", "%s/collection/root", url);
		else
			xa_add(x, "user.mb.url", "%s/collection/%" PRId64, url, n->id);
		break;
	case MBFS_K_PERSONAL_DIR:
		xa_add(x, "user.mb.url", "%s/collection/users", url);
		break;
	case MBFS_K_CARDS_DIR:
		xa_add(x, "user.mb.url", "%s/search?type=card", url);
		break;
	case MBFS_K_DASHBOARDS_DIR:
		xa_add(x, "user.mb.url", "%s/search?type=dashboard", url);
		break;
	case MBFS_K_DATABASES_DIR:
		xa_add(x, "user.mb.url", "%s/browse/databases", url);
		break;
	case MBFS_K_CARD_FILE:
	case MBFS_K_SQL_FILE:
		xa_add(x, "user.mb.url", "%s/%s/%" PRId64, url,
		       card_page(n->model), n->id);
		break;
	case MBFS_K_DASHCARD_FILE:
		xa_add(x, "user.mb.url", "%s/%s/%" PRId64, url,
		       card_page(n->model), n->card_id);
		break;
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
		xa_add(x, "user.mb.url", "%s/dashboard/%" PRId64, url, n->id);
		break;
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID:
		xa_add(x, "user.mb.url", "%s/dashboard/%" PRId64 "?tab=%" PRId64,
		       url, n->dashboard_id, n->id);
		break;
	case MBFS_K_DATABASE:
	case MBFS_K_QUERY_DB:
		xa_add(x, "user.mb.url", "%s/browse/databases/%" PRId64, url, n->id);
		break;
	case MBFS_K_SCHEMA:
		url_escape(n->schema ? n->schema : "", esc, sizeof esc);
		xa_add(x, "user.mb.url", "%s/browse/databases/%" PRId64 "/schema/%s",
		       url, n->db_id, esc);
		break;
	case MBFS_K_TABLE_FILE:
		xa_add(x, "user.mb.url",
		       "%s/reference/databases/%" PRId64 "/tables/%" PRId64, url,
		       n->db_id, n->id);
		break;
	case MBFS_K_METADATA_FILE:
		xa_add(x, "user.mb.url", "%s/%s", url, metadata_endpoint(n->id));
		break;
	case MBFS_K_PUBLIC_CARD_FILE:
		xa_add(x, "user.mb.url", "%s/public/question/%s", url,
		       n->uuid ? n->uuid : "");
		break;
	case MBFS_K_PUBLIC_DASHBOARD:
	case MBFS_K_PUBLIC_DASHCARD_FILE:
		xa_add(x, "user.mb.url", "%s/public/dashboard/%s", url,
		       n->uuid ? n->uuid : "");
		break;
	default:
		break;
	}
}

/* Collect the xattrs of n. Takes the tree lock itself. */
static void collect_xattrs(struct mbfs_fs *fs, struct mbfs_node *n,
			   struct xattrs *x)
{
	memset(x, 0, sizeof *x);
	struct mbfs_result_info info;
	peek_node(fs, n, &info);
	const char *url = fs->env.opts->url;
	mbfs_tree_lock(fs->env.tree);
	const char *model = model_of(n);
	/* a file read with parameters says what its base file says */
	const struct mbfs_node *b = base_of(n);
	bool dashcard = b->kind == MBFS_K_DASHCARD_FILE ||
			b->kind == MBFS_K_PUBLIC_DASHCARD_FILE;
	if (n->kind == MBFS_K_COLLECTION && n->id == 0)
		xa_add(x, "user.mb.id", "root");
	else if (dashcard || b->kind == MBFS_K_PUBLIC_CARD_FILE) {
		if (b->card_id) /* public cards: known when listed */
			xa_add(x, "user.mb.id", "%" PRId64, b->card_id);
	} else if (b->kind == MBFS_K_PUBLIC_DASHBOARD) {
		if (b->dashboard_id)
			xa_add(x, "user.mb.id", "%" PRId64, b->dashboard_id);
	} else if (model && n->kind != MBFS_K_SCHEMA &&
		   n->kind != MBFS_K_METADATA_FILE &&
		   n->kind != MBFS_K_QUERY_SQL && n->kind != MBFS_K_QUERY_FILE)
		xa_add(x, "user.mb.id", "%" PRId64, b->id);
	if (model)
		xa_add(x, "user.mb.model", "%s", model);
	add_url(x, url, b);
	if (dashcard || n->kind == MBFS_K_DASHBOARD_TAB ||
	    n->kind == MBFS_K_DASHBOARD_TAB_BYID)
		xa_add(x, "user.mb.dashboard_id", "%" PRId64, b->dashboard_id);
	if (dashcard)
		xa_add(x, "user.mb.dashcard_id", "%" PRId64, b->id);
	if (n->uuid)
		xa_add(x, "user.mb.public_uuid", "%s", n->uuid);
	if (n->param_defs) {
		/* the names a file name may set (DESIGN §1) */
		char *pj = mb_json_params_xattr(n->param_defs);
		if (pj)
			xa_add(x, "user.mb.parameters", "%s", pj);
		free(pj);
	}
	if (n->kind == MBFS_K_PARAM_FILE && n->params)
		xa_add(x, "user.mb.parameter_values", "%s", n->params);
	if (n->kind == MBFS_K_SCHEMA || n->kind == MBFS_K_TABLE_FILE)
		xa_add(x, "user.mb.database_id", "%" PRId64, n->db_id);
	if (n->kind == MBFS_K_QUERY_SQL || n->kind == MBFS_K_QUERY_FILE) {
		/* which database runs it, and which text of the SQL file
		 * (a new revision on every change) */
		struct mbfs_qstat qs;
		if (fs->env.queries &&
		    mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) &&
		    !qs.temp) {
			xa_add(x, "user.mb.database_id", "%" PRId64, qs.db);
			xa_add(x, "user.mb.revision", "%" PRIu64, qs.rev);
		}
	}
	if (n->description && *n->description)
		xa_add(x, "user.mb.description", "%s", n->description);
	if (n->mtime) {
		char ts[32];
		iso_time((double)n->mtime, ts, sizeof ts);
		xa_add(x, "user.mb.updated_at", "%s", ts);
	}
	mbfs_tree_unlock(fs->env.tree);
	if (info.have) {
		char ts[32];
		if (info.spool.rows >= 0)
			xa_add(x, "user.mb.rows", "%" PRId64, info.spool.rows);
		iso_time(info.spool.fetched_at, ts, sizeof ts);
		xa_add(x, "user.mb.exported_at", "%s", ts);
		if (is_data(n)) {
			xa_add(x, "user.mb.duration_ms", "%.0f",
			       info.spool.duration * 1000.0);
			xa_add(x, "user.mb.truncated", "%d",
			       info.spool.truncated ? 1 : 0);
		}
	}
	if (info.failed)
		xa_add(x, "user.mb.error", "%s", info.error.msg);
}

enum mbfs_status mbfs_fs_getxattr(struct mbfs_fs *fs, uint64_t ino,
				  const char *name, char *buf, size_t size,
				  size_t *len, struct mbfs_err *err)
{
	/* ls -l asks every file for security.* and system.* attributes:
	 * answer those at once, without building the user.mb.* set. */
	if (strncmp(name, "user.mb.", 8) != 0)
		return mbfs_err_set(err, MBFS_ERR_NO_ATTR, 0, "no such attribute");
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	struct xattrs x;
	collect_xattrs(fs, n, &x);
	enum mbfs_status st = MBFS_ERR_NO_ATTR;
	for (int i = 0; i < x.n; i++) {
		if (strcmp(x.names[i], name) != 0)
			continue;
		size_t l = strlen(x.values[i]);
		*len = l;
		if (size == 0)
			st = MBFS_OK;
		else if (size < l)
			st = MBFS_ERR_RANGE;
		else {
			memcpy(buf, x.values[i], l);
			st = MBFS_OK;
		}
		break;
	}
	xa_free(&x);
	if (st == MBFS_ERR_NO_ATTR)
		mbfs_err_set(err, st, 0, "no such attribute");
	else if (st == MBFS_ERR_RANGE)
		mbfs_err_set(err, st, 0, "buffer too small");
	return st;
}

enum mbfs_status mbfs_fs_listxattr(struct mbfs_fs *fs, uint64_t ino,
				   char *buf, size_t size, size_t *len,
				   struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	struct xattrs x;
	collect_xattrs(fs, n, &x);
	size_t need = 0;
	for (int i = 0; i < x.n; i++)
		need += strlen(x.names[i]) + 1;
	*len = need;
	enum mbfs_status st = MBFS_OK;
	if (size && size < need) {
		st = mbfs_err_set(err, MBFS_ERR_RANGE, 0, "buffer too small");
	} else if (size) {
		size_t o = 0;
		for (int i = 0; i < x.n; i++) {
			size_t l = strlen(x.names[i]) + 1;
			memcpy(buf + o, x.names[i], l);
			o += l;
		}
	}
	xa_free(&x);
	return st;
}

/* ---- .mbfs/ ------------------------------------------------------------- */

static void render_control(struct mbfs_fs *fs, int64_t which, char **out,
			   size_t *len)
{
	char *b = malloc(CONTROL_MAX);
	size_t o = 0;
	if (!b) {
		*out = NULL;
		*len = 0;
		return;
	}
	b[0] = '\0';
#define PUT(...)                                                             \
	do {                                                                 \
		if (o < CONTROL_MAX) {                                       \
			int n_ = snprintf(b + o, CONTROL_MAX - o, __VA_ARGS__); \
			if (n_ > 0)                                          \
				o += (size_t)n_;                             \
		}                                                            \
	} while (0)
	const struct mbfs_fs_env *e = &fs->env;
	if (which == CTL_STATUS) {
		char opts[1024];
		mbfs_options_describe(e->opts, opts, sizeof opts);
		char ts[32];
		iso_time((double)fs->mounted_at, ts, sizeof ts);
		PUT("server %s\n", e->opts->url);
		PUT("version %s\n", e->version_tag ? e->version_tag : "unknown");
		if (e->opts->public_only) {
			/* -o public: no credentials, no login, ever */
			PUT("user none\n");
			PUT("auth none (-o public: public links only; no credentials are read or sent, no login)\n");
		} else {
			PUT("user %s\n", e->user_email ? e->user_email : "unknown");
		}
		if (e->auth) {
			char auth[1024];
			mb_auth_describe(e->auth, auth, sizeof auth);
			PUT("%s", auth);
		}
		PUT("mounted_at %s\n", ts);
		PUT("mountpoint %s\n", e->opts->mountpoint);
		PUT("options %s", opts);
		if (e->caps_text)
			PUT("%s", e->caps_text);
	} else if (which == CTL_STATS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_stats(e->export, b + o,
								CONTROL_MAX - o);
		pthread_mutex_lock(&fs->lock);
		uint64_t aliases = fs->n_aliases, stale = fs->n_stale;
		pthread_mutex_unlock(&fs->lock);
		PUT("generation_aliases %" PRIu64 "\nstale_opens %" PRIu64 "\n",
		    aliases, stale);
		if (o < CONTROL_MAX && e->client->ops->describe_stats)
			o += (size_t)e->client->ops->describe_stats(
				e->client, b + o, CONTROL_MAX - o);
	} else if (which == CTL_METRICS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_metrics(e->export, b + o,
								  CONTROL_MAX - o);
		if (o < CONTROL_MAX && e->client->ops->describe_metrics)
			o += (size_t)e->client->ops->describe_metrics(
				e->client, b + o, CONTROL_MAX - o);
		if (o < CONTROL_MAX && e->auth)
			o += (size_t)mb_auth_describe_metrics(e->auth, b + o,
							      CONTROL_MAX - o);
		pthread_mutex_lock(&fs->lock);
		uint64_t aliases = fs->n_aliases, stale = fs->n_stale;
		int (*fn)(void *, char *, size_t) = fs->metrics_fn;
		void *arg = fs->metrics_arg;
		pthread_mutex_unlock(&fs->lock);
		PUT("# HELP mbfs_generation_aliases_total Newer generations shown under a new inode while an older one was open.\n"
		    "# TYPE mbfs_generation_aliases_total counter\n"
		    "mbfs_generation_aliases_total %" PRIu64 "\n"
		    "# HELP mbfs_stale_opens_total Opens answered ESTALE (re-resolved by the kernel).\n"
		    "# TYPE mbfs_stale_opens_total counter\n"
		    "mbfs_stale_opens_total %" PRIu64 "\n",
		    aliases, stale);
		if (o < CONTROL_MAX && fn)
			o += (size_t)fn(arg, b + o, CONTROL_MAX - o);
	} else if (which == CTL_EXPORTS) {
		if (o < CONTROL_MAX)
			o += (size_t)mbfs_export_describe_exports(e->export, b + o,
								  CONTROL_MAX - o);
	} else if (which == CTL_ERRORS) {
		o += (size_t)mbfs_export_describe_errors(e->export, b + o,
							 CONTROL_MAX - o);
	}
#undef PUT
	if (o >= CONTROL_MAX)
		o = CONTROL_MAX - 1;
	*out = b;
	*len = strlen(b);
}

void mbfs_fs_invalidate_all(struct mbfs_fs *fs)
{
	mbfs_tree_invalidate_all(fs->env.tree);
	mbfs_export_invalidate_all(fs->env.export, fs->scope);
	mbfs_info("SIGHUP: dropped every listing and cached result");
}

/* ---- stream reads --------------------------------------------------------- */

bool mbfs_file_is_stream(const struct mbfs_file *f)
{
	return f->stream != NULL;
}

enum mbfs_status mbfs_fs_stream_wait(struct mbfs_fs *fs, struct mbfs_file *f,
				     uint64_t off, size_t size, size_t *avail,
				     struct mbfs_err *err)
{
	if (!f->stream)
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "not a stream");
	return mbfs_export_stream_wait(fs->env.export, f->stream, off, size,
				       avail, err);
}

void mbfs_fs_wake(void *arg)
{
	struct mbfs_fs *fs = arg;
	mbfs_export_wake(fs->env.export);
	mbfs_tree_wake(fs->env.tree);
}

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
	struct mbfs_node *n = node_of(fs, ino);
	return n && is_qfile(n);
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
		query_obj(fs, old, fmt, obj, sizeof obj);
		char *key = key_compose(fs, obj, NULL);
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
		uint64_t was = current_id(fs, n);
		current_for(fs, n, UINT64_MAX);
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
static bool query_data_gone(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	struct mbfs_qstat qs;
	return n->kind == MBFS_K_QUERY_FILE &&
	       (!fs->env.queries ||
		!mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) ||
		!qs.linked || qs.temp);
}

static enum mbfs_status stale_name(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_STALE, 0,
			    "its SQL file was renamed or removed: re-resolve the path");
}

enum mbfs_status mbfs_fs_setattr_denied(struct mbfs_fs *fs, uint64_t ino,
					struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
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
	struct mbfs_node *n = node_of(fs, ino);
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

/* Open a query file: read and written through the store, direct_io.
 * Takes no ownership on failure. */
static enum mbfs_status open_query(struct mbfs_fs *fs, struct mbfs_node *n,
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
	file_register(fs, f);
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
	entry_attr(fs, *node, NULL, true, out);
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
	if (!is_qfile(n))
		return data_file_denied(err);
	return open_query(fs, n, flags & ~O_TRUNC, fh, oi, err);
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
	struct mbfs_node *n = node_of(fs, ino);
	if (!n || !is_qfile(n) || !fs->env.queries)
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
	entry_attr(fs, n, NULL, false, out);
	out->ino = ino;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_unlink(struct mbfs_fs *fs, uint64_t parent,
				const char *name, struct mbfs_err *err)
{
	struct mbfs_node *dir, *n;
	int64_t db;
	enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
	if (st != MBFS_OK)
		return st;
	st = query_node(fs, dir, name, &n, err);
	if (st == MBFS_ERR_NOT_FOUND)
		return mbfs_err_set(err, st, 0, "no such file");
	if (st != MBFS_OK)
		return st;
	if (!is_qfile(n))
		return data_file_denied(err);
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
	struct mbfs_node *dir, *dir2, *n;
	int64_t db, db2;
	enum mbfs_status st = query_dir(fs, parent, &dir, &db, err);
	if (st == MBFS_OK)
		st = query_dir(fs, newparent, &dir2, &db2, err);
	if (st != MBFS_OK)
		return st;
	if (dir != dir2)
		return mbfs_err_set(err, MBFS_ERR_XDEV, 0,
				    "a SQL file stays in its database's directory (copy it instead)");
	st = query_node(fs, dir, name, &n, err);
	if (st == MBFS_ERR_NOT_FOUND)
		return mbfs_err_set(err, st, 0, "no such file");
	if (st != MBFS_OK)
		return st;
	if (!is_qfile(n))
		return data_file_denied(err);
	struct mbfs_node *t = NULL;
	struct mbfs_err e;
	if (query_node(fs, dir, newname, &t, &e) == MBFS_OK && !is_qfile(t))
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
	struct mbfs_node *n = node_of(fs, parent);
	if (n && (n->kind == MBFS_K_QUERIES_DIR || n->kind == MBFS_K_QUERY_DB))
		return mbfs_err_set(err, MBFS_ERR_PERM, 0,
				    "no directories here: queries/<database>/ holds NAME.sql files");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0, "read-only");
}

enum mbfs_status mbfs_fs_setxattr(struct mbfs_fs *fs, uint64_t ino,
				  struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (n && (is_qfile(n) || n->kind == MBFS_K_QUERY_FILE ||
		  n->kind == MBFS_K_QUERY_DB || n->kind == MBFS_K_QUERIES_DIR))
		return mbfs_err_set(err, MBFS_ERR_NOT_SUPPORTED, 0,
				    "extended attributes cannot be set here");
	return mbfs_err_set(err, MBFS_ERR_READONLY, 0, "read-only");
}
