/*
 * fs.c — owns filesystem semantics: turning nodes into attributes, the
 * materialize-on-name rule, the kernel inodes of files and their result
 * generations (which number a lookup hands out, keep_cache, what fstat
 * sees), open file handles and touch. Directory handles are dirs.c; bytes
 * come from content.c; extended attributes xattr.c; .mbfs/ control.c;
 * the writable files of queries/ query_files.c (fs_int.h). See fs.h.
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

#include "fs_int.h"
#include "log.h"
#include "queries.h"
#include "util.h"

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
	mbfs_inode_table_init(&fs->kdirs);
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

void mbfs_fs_set_report_hook(struct mbfs_fs *fs, enum mbfs_fs_report which,
			     int (*fn)(void *arg, char *out, size_t outsz),
			     void *arg)
{
	pthread_mutex_lock(&fs->lock);
	fs->report[which].fn = fn;
	fs->report[which].arg = arg;
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
	fs_dirs_teardown(fs);
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

/* The node behind a node id (an alias resolves to its file). */
struct mbfs_node *fs_node_of(struct mbfs_fs *fs, uint64_t ino)
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
uint64_t fs_current_id(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	struct kino *k = mbfs_inode_table_get(&fs->current, n->ino);
	return k ? k->nodeid : n->ino;
}

/* Free an alias nobody refers to any more. fs->lock held. */
static void kino_maybe_free(struct mbfs_fs *fs, struct kino *k)
{
	if (!k->alias || k->nlookup || k->open_count ||
	    fs_current_id(fs, k->node) == k->nodeid)
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
struct kino *fs_current_for(struct mbfs_fs *fs, struct mbfs_node *n,
			    uint64_t gen)
{
	struct kino *cur = kino_get(fs, n, fs_current_id(fs, n));
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

/* The generation a reader of n would see now, from its result info
 * (0: none known). */
static uint64_t gen_now(struct mbfs_fs *fs, const struct mbfs_node *n,
			const struct mbfs_result_info *info)
{
	if (mbfs_kind_is_text(n->kind)) {
		mbfs_tree_lock(fs->env.tree);
		uint64_t g = n->content_gen;
		mbfs_tree_unlock(fs->env.tree);
		return g;
	}
	return info && info->have ? info->spool.gen : 0;
}

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
	if (fs_is_qfile(n) || n->kind == MBFS_K_QUERY_FILE) {
		/* the SQL file: local state that any write changes, never
		 * cached (stat is cheap); its data files are cached like any
		 * (a listing must not make ls -l export), and a change of the
		 * SQL drops their attributes (drop_revision) */
		struct mbfs_qstat qs;
		if (fs_is_qfile(n))
			a->timeout = 0;
		if (fs->env.queries &&
		    mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs)) {
			a->mtime = (int64_t)qs.mtime.tv_sec;
			if (fs_is_qfile(n)) {
				a->mode = S_IFREG | (qs.mode & 07777);
				a->size = qs.size;
			}
		}
		if (fs_is_qfile(n))
			return;
	}
	if (mbfs_kind_is_text(n->kind) && n->sql)
		a->size = strlen(n->sql);
	if (info && info->have) {
		a->size = info->spool.size;
		a->mtime = (int64_t)info->spool.fetched_at;
	}
}

#ifdef MBFS_TEST_HOOKS
/*
 * The test-only switches -o test_zero_size[=always], compiled into the
 * mbfs-testhooks binary alone (CMakeLists.txt; tests/clients/
 * test_wrong_size.py proves with them that the client tests can fail):
 * a data file reports size 0 before it is open, and with =always once
 * open too (every file with generations). The one place they act:
 * every attribute of a file with generations leaves fs through attr_for.
 */
static void test_zero_size(const struct mbfs_fs *fs, const struct mbfs_node *n,
			   bool open, struct mbfs_attr *a)
{
	const struct mbfs_options *o = fs->env.opts;
	if (open ? o->test_zero_size_always : (o->test_zero_size && fs_is_data(n)))
		a->size = 0;
}
#endif

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
#ifdef MBFS_TEST_HOOKS
	test_zero_size(fs, n, open, a);
#endif
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
	if (fs_is_data(n)) {
		fs_peek_node(fs, n, info);
		/* Stream mode never materializes on stat: size 0 until done. */
		bool may_export = !fs->env.opts->stat_cached &&
				  !fs->env.opts->stream;
		if (!info->fresh && may_export)
			st = fs_materialize(fs, n, NULL, info, NULL, &e);
		if (st != MBFS_OK && st != MBFS_ERR_WOULD_BLOCK)
			mbfs_debug("stat of inode %" PRIu64 ": export failed: %s",
				   n->ino, e.msg);
	} else if (n->kind == MBFS_K_METADATA_FILE) {
		/* rule 2 for metadata/ files too: naming one fetches its list
		 * (a failure still answers, with size 0; open reports it) */
		if (fs->env.opts->stat_cached)
			fs_peek_node(fs, n, info);
		else
			st = fs_meta_file(fs, n, NULL, info, &e);
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
void fs_entry_attr(struct mbfs_fs *fs, struct mbfs_node *n,
		   const struct mbfs_result_info *info, bool ref,
		   struct mbfs_attr *a)
{
	if (!fs_has_gens(n)) {
		mbfs_tree_lock(fs->env.tree);
		attr_of(fs, n, info, a);
		mbfs_tree_unlock(fs->env.tree);
		if (n->kind == MBFS_K_CONTROL_FILE) {
			char *buf;
			size_t len;
			fs_render_control(fs, n->id, &buf, &len);
			a->size = len;
			a->timeout = 0;
			free(buf);
		}
		return;
	}
	uint64_t g = gen_now(fs, n, info);
	pthread_mutex_lock(&fs->lock);
	struct kino *k = fs_current_for(fs, n, g);
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
	struct mbfs_node *dir = fs_node_of(fs, parent);
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
	if (fs_has_gens(n)) {
		st = stat_info(fs, n, &info, err);
		if (st != MBFS_OK)
			return st;
	}
	if (public_link_missing(fs, n, &info))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "%s",
				    info.error.msg);
	fs_entry_attr(fs, n, &info, true, out);
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
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (fs_is_qfile(n) && (!fs->env.queries ||
			    !mbfs_queries_stat(fs->env.queries, (uint64_t)n->id,
					       NULL)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "the file is gone");
	if (!fh && fs_query_data_gone(fs, n))
		return fs_stale_name(err);
	if (fh && (fh->fd >= 0 || (fh->mem && n->kind != MBFS_K_CONTROL_FILE))) {
		/* an open handle: what it reads (spool file or memory copy) */
		attr_for(fs, n, NULL, fh, NULL, out);
		out->ino = ino;
		return MBFS_OK;
	}
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	if (!fs_has_gens(n)) {
		fs_entry_attr(fs, n, &info, false, out);
		out->ino = ino;
		return MBFS_OK;
	}
	/* While this kino has open handles its attributes are theirs (the
	 * fstat rule) — decided and answered under one hold of the lock: if
	 * the handles closed between a check and the answer, the answer
	 * would carry no result (size 0) to a kernel inode whose pages may
	 * be kept. Otherwise materialize (fs_materialize, rule 2), then answer from that
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
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (fs_is_data(n)) {
		char *key = fs_key_of(fs, n);
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
	if (fs_has_gens(n)) {
		pthread_mutex_lock(&fs->lock);
		/* Handles are open on the current kino: the next path walk
		 * must meet a new one (stat sees the next generation at once,
		 * fstat of the open handles keeps theirs). */
		fs_current_for(fs, n, UINT64_MAX);
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

/* ---- files --------------------------------------------------------------- */

/*
 * A handle of generation f->gen is opening on kino nodeid: bind it. Grants
 * keep_cache only when the kernel's pages for this kino are of this very
 * generation. A kino still open on another generation cannot take it:
 * STALE (the kernel re-walks the path and meets the current kino, which
 * fs_current_for() makes sure is a different one).
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
		fs_current_for(fs, n, f->gen ? f->gen : UINT64_MAX);
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
		st = fs_meta_file(fs, n, &f->mem, &info, err);
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
	fs_file_register(fs, f);
	*out = f;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_open(struct mbfs_fs *fs, uint64_t ino, int flags,
			      struct mbfs_file **out, struct mbfs_open_info *oi,
			      struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (mbfs_kind_is_dir(n->kind))
		return mbfs_err_set(err, MBFS_ERR_IS_DIR, 0, "is a directory");
	if (fs_is_qfile(n))
		return fs_open_query(fs, n, flags, out, oi, err);
	if (fs_query_data_gone(fs, n))
		return fs_stale_name(err);
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
		fs_render_control(fs, n->id, &f->mem, &f->mem_len);
		oi->direct_io = true;
		oi->size = f->mem_len;
		fs_file_register(fs, f);
		*out = f;
		return MBFS_OK;
	}
	if (mbfs_kind_is_text(n->kind) || n->kind == MBFS_K_METADATA_FILE)
		return open_mem(fs, n, ino, f, out, oi, err);
	if (!fs_is_data(n)) {
		free(f);
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "not a data file");
	}
	if (fs->env.opts->stream) {
		/* Rule 6: open at once, reads wait only for their own bytes. */
		struct fs_req_key rk;
		enum mbfs_status sst = fs_req_key_of(fs, n, &rk, err);
		if (sst == MBFS_OK)
			sst = mbfs_export_stream_open(fs->env.export, rk.key,
						      &rk.req, &f->stream, err);
		fs_req_key_free(&rk);
		if (sst != MBFS_OK) {
			free(f);
			return sst;
		}
		oi->direct_io = true;
		fs_file_register(fs, f);
		*out = f;
		return MBFS_OK;
	}
	struct mbfs_result_info info;
	enum mbfs_status st = fs_materialize(fs, n, &f->fd, &info, &f->key, err);
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
	fs_file_register(fs, f);
	*out = f;
	return MBFS_OK;
}

int mbfs_file_backing_fd(const struct mbfs_file *f)
{
	return f && !f->stream && !f->qid && f->key ? f->fd : -1;
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

/* Add f to the handles given out (fs->lock not held). */
void fs_file_register(struct mbfs_fs *fs, struct mbfs_file *f)
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

void mbfs_fs_invalidate_all(struct mbfs_fs *fs)
{
	mbfs_tree_invalidate_all(fs->env.tree);
	mbfs_export_invalidate_all(fs->env.export, fs->scope);
	mbfs_info("SIGHUP: dropped every listing and cached result");
}

/* ---- reads ---------------------------------------------------------------- */

/* A heap copy of up to size bytes of buf (len bytes) at off: the answer
 * must not point into a handle that a RELEASE on another worker may free
 * once the kernel has the reply. */
static enum mbfs_status read_copy(const char *buf, size_t len, uint64_t off,
				  size_t size, struct mbfs_read *out,
				  struct mbfs_err *err)
{
	if (!buf || off >= len)
		return MBFS_OK;
	size_t n = len - (size_t)off < size ? len - (size_t)off : size;
	out->buf = malloc(n);
	if (!out->buf)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	memcpy(out->buf, buf + off, n);
	out->len = n;
	return MBFS_OK;
}

enum mbfs_status mbfs_fs_read(struct mbfs_fs *fs, struct mbfs_file *f,
			      uint64_t off, size_t size, struct mbfs_read *out,
			      struct mbfs_err *err)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	out->off = off;
	if (f->stream) {
		/* -o stream: the bytes at off, once the export has them
		 * (WOULD_BLOCK inside a try scope) */
		size_t avail = 0;
		enum mbfs_status st = mbfs_export_stream_wait(
			fs->env.export, f->stream, off, size, &avail, err);
		if (st == MBFS_OK && avail) {
			/* received bytes, some perhaps still in the sink's
			 * buffer: a copy, not the spool fd */
			out->buf = malloc(avail);
			st = out->buf ? mbfs_export_stream_read(f->stream, off,
								 out->buf, avail,
								 err)
				      : mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
						     "out of memory");
			if (st == MBFS_OK) {
				out->len = avail;
			} else {
				free(out->buf);
				out->buf = NULL;
			}
		}
		if (st != MBFS_ERR_WOULD_BLOCK)
			atomic_fetch_add(&fs->n_result_reads, 1);
		return st;
	}
	if (f->fd >= 0) {
		/* a spooled generation: the kernel reads it (short at EOF) */
		atomic_fetch_add(&fs->n_result_reads, 1);
		out->fd = f->fd;
		out->len = size;
		return MBFS_OK;
	}
	if (f->qid) {
		/* a queries/ SQL file or temp file: its text in the store */
		out->buf = malloc(size ? size : 1);
		if (!out->buf)
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
					    "out of memory");
		enum mbfs_status st = mbfs_fs_read_query(fs, f, out->buf, size,
							 off, &out->len, err);
		if (st != MBFS_OK) {
			free(out->buf);
			out->buf = NULL;
			out->len = 0;
		}
		return st;
	}
	/* generated in memory (.mbfs/ files) */
	return read_copy(f->mem, f->mem_len, off, size, out, err);
}
