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
#include "mb_json.h"

#define CONTROL_MAX (256 * 1024)
#define XATTR_VALUE_MAX (64 * 1024)

enum control_id { CTL_STATUS = 1, CTL_STATS = 2, CTL_ERRORS = 3 };

/* A kernel inode of a regular file (fs->lock). */
struct kino {
	uint64_t nodeid;
	struct mbfs_node *node;
	bool alias;                /* not the node's own number */
	uint64_t nlookup;          /* aliases: the kernel's lookup count */
	uint64_t cache_gen;        /* generation the kernel may hold pages of */
	unsigned open_count;       /* open page-cache handles */
	uint64_t open_size;        /* size and mtime of cache_gen while open: */
	int64_t open_mtime;        /* what fstat (a GETATTR without fh) sees */
};

struct mbfs_fs {
	struct mbfs_fs_env env;
	time_t mounted_at;
	struct timespec mono_start;
	char *scope;               /* result key prefix: user and options */
	/* Lock order: fs->lock, then the tree lock. Never held while
	 * waiting on the network. */
	pthread_mutex_t lock;
	struct mbfs_inode_table kinos;   /* node id → struct kino */
	struct mbfs_inode_table current; /* node ino → kino handed out, when
					    it is not the base */
	uint64_t next_alias;
	uint64_t n_aliases, n_stale;     /* counters for .mbfs/stats */
};

struct mbfs_file {
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
};

struct mbfs_dir {
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
	clock_gettime(CLOCK_MONOTONIC, &fs->mono_start);
	pthread_mutex_init(&fs->lock, NULL);
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

static void kino_free(void *val, void *arg)
{
	(void)arg;
	free(val);
}

void mbfs_fs_free(struct mbfs_fs *fs)
{
	if (!fs)
		return;
	if (fs->env.tree && fs->env.export)
		mbfs_tree_set_error_hook(fs->env.tree, NULL, NULL);
	mbfs_inode_table_each(&fs->kinos, kino_free, NULL);
	mbfs_inode_table_destroy(&fs->kinos);
	mbfs_inode_table_destroy(&fs->current);
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

/* Append s to a growing key. */
static bool key_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t l = strlen(s);
	if (*len + l + 1 > *cap) {
		size_t nc = (*len + l + 1) * 2;
		char *b = realloc(*buf, nc);
		if (!b)
			return false;
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, s, l + 1);
	*len += l;
	return true;
}

/*
 * The result key of a data node: the mount's scope (Metabase user and
 * every option that changes the bytes), the object with its 64-bit ids,
 * the format, and the parameters a dashcard export sends. Heap string.
 * Tree lock held.
 */
static char *key_build(const struct mbfs_fs *fs, const struct mbfs_node *n)
{
	char obj[160];
	const char *fmt = mbfs_fmt_name(n->fmt);
	/* a file read with parameters: its base's object, and the
	 * parameters its export sends (below) */
	const struct mbfs_node *b = n->kind == MBFS_K_PARAM_FILE && n->base
					    ? n->base
					    : n;
	switch (b->kind) {
	case MBFS_K_PUBLIC_CARD_FILE:
		snprintf(obj, sizeof obj, "public-card:%s:%s",
			 b->uuid ? b->uuid : "", fmt);
		break;
	case MBFS_K_PUBLIC_DASHCARD_FILE:
		snprintf(obj, sizeof obj,
			 "public-dashcard:%s:%" PRId64 ":%" PRId64 ":%s",
			 b->uuid ? b->uuid : "", b->id, b->card_id, fmt);
		break;
	case MBFS_K_CARD_FILE:
		snprintf(obj, sizeof obj, "card:%" PRId64 ":%s", b->id, fmt);
		break;
	case MBFS_K_TABLE_FILE:
		snprintf(obj, sizeof obj, "table:%" PRId64 ":%s", b->id, fmt);
		break;
	case MBFS_K_DASHCARD_FILE:
		snprintf(obj, sizeof obj,
			 "dashcard:%" PRId64 ":%" PRId64 ":%" PRId64 ":%s",
			 b->dashboard_id, b->id, b->card_id, fmt);
		break;
	default:
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool ok = key_add(&buf, &len, &cap, fs->scope) &&
		  key_add(&buf, &len, &cap, obj);
	if (ok && (n->kind == MBFS_K_DASHCARD_FILE ||
		   n->kind == MBFS_K_PUBLIC_DASHCARD_FILE ||
		   n->kind == MBFS_K_PARAM_FILE) && n->params)
		ok = key_add(&buf, &len, &cap, "|p=") &&
		     key_add(&buf, &len, &cap, n->params);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Build the export request of a data node. Tree lock held. A dashcard's
 * parameters are copied into *params (caller frees). */
static void export_req_of(struct mbfs_fs *fs, const struct mbfs_node *n,
			  struct mb_export_req *r, char **params, char **uuid)
{
	memset(r, 0, sizeof *r);
	*params = NULL;
	*uuid = NULL;
	/* a file read with parameters: its base's request, with them */
	const struct mbfs_node *b = n->kind == MBFS_K_PARAM_FILE && n->base
					    ? n->base
					    : n;
	r->kind = b->kind == MBFS_K_TABLE_FILE ? MB_EXPORT_TABLE : MB_EXPORT_CARD;
	r->id = b->id;
	r->db_id = b->db_id;
	if (b->kind == MBFS_K_PUBLIC_CARD_FILE ||
	    b->kind == MBFS_K_PUBLIC_DASHCARD_FILE) {
		/* public links: no credential is sent (mb_api.c) */
		r->kind = b->kind == MBFS_K_PUBLIC_CARD_FILE
				  ? MB_EXPORT_PUBLIC_CARD
				  : MB_EXPORT_PUBLIC_DASHCARD;
		r->id = b->card_id;
		r->dashboard_id = b->dashboard_id;
		r->dashcard_id = b->id;
		*uuid = b->uuid ? strdup(b->uuid) : NULL;
		r->uuid = *uuid;
		if (b->kind == MBFS_K_PUBLIC_DASHCARD_FILE) {
			*params = n->params ? strdup(n->params) : NULL;
			r->parameters = *params;
		}
	} else if (b->kind == MBFS_K_CARD_FILE && n->kind == MBFS_K_PARAM_FILE) {
		*params = n->params ? strdup(n->params) : NULL;
		r->parameters = *params;
	} else if (b->kind == MBFS_K_DASHCARD_FILE) {
		/* POST /api/dashboard/:d/dashcard/:dc/card/:c/query/:fmt with
		 * the dashboard's filter defaults */
		r->kind = MB_EXPORT_DASHCARD;
		r->id = b->card_id;
		r->dashboard_id = b->dashboard_id;
		r->dashcard_id = b->id;
		*params = n->params ? strdup(n->params) : NULL;
		r->parameters = *params;
	}
	r->format = mbfs_fmt_name(n->fmt);
	r->format_rows = fs->env.opts->format_rows;
}

/* n's result key, built under the lock (dashcards can change). Heap. */
static char *key_of(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	mbfs_tree_lock(fs->env.tree);
	char *key = key_build(fs, n);
	mbfs_tree_unlock(fs->env.tree);
	return key;
}

/* The request and key of a data node, consistent with each other. */
struct req_key {
	struct mb_export_req req;
	char *params;
	char *uuid;
	char *key;
	char label[1024];          /* "<path> (<object>)" */
};

static enum mbfs_status req_key_of(struct mbfs_fs *fs, const struct mbfs_node *n,
				   struct req_key *rk, struct mbfs_err *err)
{
	char path[880];
	mbfs_tree_lock(fs->env.tree);
	export_req_of(fs, n, &rk->req, &rk->params, &rk->uuid);
	rk->key = key_build(fs, n);
	mbfs_tree_path(fs->env.tree, n, path, sizeof path);
	mbfs_tree_unlock(fs->env.tree);
	/* logs and .mbfs/ name the file and the object, not the mount's
	 * scope (nor the parameters: the path shows those) */
	const char *obj = rk->key ? rk->key + strlen(fs->scope) : "";
	snprintf(rk->label, sizeof rk->label, "%s (%.*s)", path,
		 (int)strcspn(obj, "|"), obj);
	rk->req.label = rk->label;
	if (!rk->key) {
		free(rk->params);
		free(rk->uuid);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	return MBFS_OK;
}

static void req_key_free(struct req_key *rk)
{
	free(rk->params);
	free(rk->uuid);
	free(rk->key);
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
		a->mode = S_IFDIR | (0555 & ~o->umask);
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | (0444 & ~o->umask);
	a->nlink = 1;
	if (n->kind == MBFS_K_SQL_FILE && n->sql)
		a->size = strlen(n->sql);
	if (info && info->have) {
		a->size = info->spool.size;
		a->mtime = (int64_t)info->spool.fetched_at;
	}
}

/* Attributes of n as the kernel inode k shows them: while k has open
 * handles, their generation's size and time (fstat arrives as a GETATTR
 * without a handle); otherwise from info. Tree lock taken here. */
static void attr_for(struct mbfs_fs *fs, struct mbfs_node *n,
		     const struct kino *k, const struct mbfs_result_info *info,
		     struct mbfs_attr *a)
{
	mbfs_tree_lock(fs->env.tree);
	attr_of(fs, n, k && k->open_count ? NULL : info, a);
	mbfs_tree_unlock(fs->env.tree);
	if (k && k->open_count) {
		a->size = fs->env.opts->test_zero_size_always ? 0 : k->open_size;
		a->mtime = k->open_mtime;
	}
	if (k)
		a->ino = k->nodeid;
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
				  !fs->env.opts->test_zero_size &&
				  !fs->env.opts->stream;
		if (!info->fresh && may_export)
			st = materialize(fs, n, NULL, info, NULL, &e);
		if (st != MBFS_OK && st != MBFS_ERR_WOULD_BLOCK)
			mbfs_debug("stat of inode %" PRIu64 ": export failed: %s",
				   n->ino, e.msg);
		if (fs->env.opts->test_zero_size)
			info->have = false;
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

/* Is kino nodeid open (so that its attributes are its handles')? */
static bool kino_is_open(struct mbfs_fs *fs, uint64_t nodeid)
{
	pthread_mutex_lock(&fs->lock);
	struct kino *k = mbfs_inode_table_get(&fs->kinos, nodeid);
	bool open = k && k->open_count > 0;
	pthread_mutex_unlock(&fs->lock);
	return open;
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
	attr_for(fs, n, k, info, a);
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
	if (fh && (fh->fd >= 0 || (fh->mem && n->kind != MBFS_K_CONTROL_FILE))) {
		/* an open handle: what it reads (spool file or memory copy) */
		mbfs_tree_lock(fs->env.tree);
		attr_of(fs, n, NULL, out);
		mbfs_tree_unlock(fs->env.tree);
		out->ino = ino;
		out->size = fs->env.opts->test_zero_size_always ? 0 : fh->size;
		out->mtime = fh->mtime;
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
	 * fstat rule); otherwise name-materialize (rule 2). */
	if (!kino_is_open(fs, ino)) {
		enum mbfs_status st = stat_info(fs, n, &info, err);
		if (st != MBFS_OK)
			return st;
	}
	pthread_mutex_lock(&fs->lock);
	struct kino *k = kino_get(fs, n, ino);
	attr_for(fs, n, k, &info, out);
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
		attr_for(fs, n, k, &info, out);
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
	if (!fs->env.opts->test_zero_size)
		peek_node(fs, n, &info);
	entry_attr(fs, n, &info, false, attr);
	return true;
}

void mbfs_fs_releasedir(struct mbfs_fs *fs, struct mbfs_dir *d)
{
	(void)fs;
	if (!d)
		return;
	mbfs_tree_free_snapshot(d->ents, d->n);
	free(d);
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
	if (!k) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	} else if (k->open_count == 0) {
		oi->keep_cache = f->gen && k->cache_gen == f->gen;
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
	*out = f;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_open(struct mbfs_fs *fs, uint64_t ino, int flags,
			      struct mbfs_file **out, struct mbfs_open_info *oi,
			      struct mbfs_err *err)
{
	struct mbfs_node *n = node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (mbfs_kind_is_dir(n->kind))
		return mbfs_err_set(err, MBFS_ERR_IS_DIR, 0, "is a directory");
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
	*out = f;
	return MBFS_OK;
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

void mbfs_fs_release(struct mbfs_fs *fs, struct mbfs_file *f)
{
	if (!f)
		return;
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
	const struct mbfs_node *b = n->kind == MBFS_K_PARAM_FILE && n->base
					    ? n->base
					    : n;
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
		   n->kind != MBFS_K_METADATA_FILE)
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
