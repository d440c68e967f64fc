/*
 * tree.c — owns the node table and the directory listings: fetching them
 * (single flight per directory, freshness, the last good listing kept on
 * failure), applying what a builder returns (names, sticky names, nodes,
 * readdir order), paths, and telling the gone hook about names a
 * re-listing dropped. The per-kind builders are tree_build.c (Metabase)
 * and tree_objects.c (a backend described by objects); queries/<db>/ is
 * tree_local.c; names no listing shows tree_unlisted.c (tree_int.h).
 * See tree.h.
 */
#include "tree.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "log.h"
#include "name.h"
#include "pool.h"
#include "tree_int.h"
#include "util.h"
#include "waitq.h"

/* A directory's waiting requests (allocated on its first wait) and the
 * fetch job they wait for. */
struct mbfs_listing_wait {
	struct mbfs_waitq q;
	struct fetch_job *job;            /* in flight, or NULL (tree lock) */
};

/* A listing fetch that requests wait for without a thread, on the worker
 * pool. */
struct fetch_job {
	struct mbfs_pool_item item;
	struct mbfs_tree *t;
	struct mbfs_node *dir;
	struct mbfs_cancel cancel;        /* fired when every waiter left */
};

struct proto *tree_protos_add(struct protos *p)
{
	struct proto *nv = mbfs_grow(p->v, &p->cap, p->n, sizeof *nv, 32);
	if (!nv)
		return NULL;
	p->v = nv;
	struct proto *r = &p->v[p->n++];
	memset(r, 0, sizeof *r);
	return r;
}

static void protos_free(struct protos *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].schema);
		free(p->v[i].raw_name);
		free(p->v[i].description);
		free(p->v[i].updated_at);
		free(p->v[i].sql);
		free(p->v[i].params);
		free(p->v[i].param_defs);
		free(p->v[i].uuid);
		free(p->v[i].key);
		free(p->v[i].xattrs);
	}
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* ---- nodes -------------------------------------------------------------- */

/* The node of an identity, if one exists. Lock held. */
static struct mbfs_node *node_find(struct mbfs_tree *t, enum mbfs_kind kind,
				   enum mbfs_fmt fmt, int64_t id)
{
	return mbfs_ident_table_get(&t->idents, mbfs_ident_kind(kind, fmt),
				    (uint64_t)id);
}

/* The node of an identity, created on first sight with its number: the
 * packed one, or one allocated when the id does not fit. Lock held. */
struct mbfs_node *tree_node_get(struct mbfs_tree *t, enum mbfs_kind kind,
				enum mbfs_fmt fmt, int64_t id)
{
	struct mbfs_node *n = node_find(t, kind, fmt, id);
	if (n)
		return n;
	uint64_t ino = mbfs_inode_number(kind, fmt, id);
	if (!ino)
		ino = MBFS_INO_BIG_BASE | ++t->next_big;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->ino = ino;
	n->kind = kind;
	n->fmt = fmt;
	n->id = id;
	if (!mbfs_inode_table_put(&t->nodes, ino, n)) {
		free(n);
		return NULL;
	}
	if (!mbfs_ident_table_put(&t->idents, mbfs_ident_kind(kind, fmt),
				  (uint64_t)id, n)) {
		mbfs_inode_table_del(&t->nodes, ino);
		free(n);
		return NULL;
	}
	return n;
}

/* Remember that dir lists n (for mbfs_tree_names_of). Lock held. */
void tree_node_add_parent(struct mbfs_node *n, struct mbfs_node *dir)
{
	for (size_t i = 0; i < n->n_parents; i++)
		if (n->parents[i] == dir)
			return;
	struct mbfs_node **v = realloc(n->parents,
				       (n->n_parents + 1) * sizeof *v);
	if (!v)
		return; /* only costs a late invalidation */
	v[n->n_parents++] = dir;
	n->parents = v;
}

void tree_set_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = mbfs_dup0(src);
}

void tree_entries_free(struct mbfs_dirent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void node_free(void *val, void *arg)
{
	(void)arg;
	struct mbfs_node *n = val;
	tree_entries_free(n->entries, n->n_entries);
	free(n->schema);
	free(n->raw_name);
	free(n->description);
	free(n->updated_at);
	free(n->sql);
	free(n->params);
	free(n->param_defs);
	free(n->uuid);
	free(n->key);
	free(n->xattrs);
	free(n->lookup_name);
	free(n->order);
	free(n->parents);
	if (n->wait) {
		mbfs_waitq_destroy(&n->wait->q);
		free(n->wait);
	}
	free(n);
}

struct mbfs_tree *mbfs_tree_new(struct mb_client *client,
				const struct mbfs_options *opts)
{
	struct mbfs_tree *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->client = client;
	t->opts = opts;
	mbfs_inode_table_init(&t->nodes);
	mbfs_ident_table_init(&t->idents);
	pthread_mutex_init(&t->schema_lock, NULL);
	t->meta = mbfs_meta_new(client, opts->meta_ttl, opts->error_ttl);
	if (!t->meta) {
		mbfs_tree_free(t);
		return NULL;
	}
	for (int i = 0; i < opts->n_formats && i < MBFS_MAX_FORMATS; i++)
		t->formats[t->n_formats++] = mbfs_fmt_parse(opts->formats[i]);
	struct mbfs_node *root = tree_node_get(t, MBFS_K_ROOT, MBFS_FMT_NONE, 0);
	if (!root) {
		mbfs_tree_free(t);
		return NULL;
	}
	return t;
}

void mbfs_tree_free(struct mbfs_tree *t)
{
	if (!t)
		return;
	mbfs_inode_table_each(&t->nodes, node_free, NULL);
	mbfs_inode_table_destroy(&t->nodes);
	mbfs_ident_table_destroy(&t->idents);
	tree_strid_free_all(t);
	for (size_t i = 0; i < t->n_schema_ids; i++)
		free(t->schema_ids[i].name);
	free(t->schema_ids);
	pthread_mutex_destroy(&t->schema_lock);
	mbfs_meta_free(t->meta);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void mbfs_tree_lock(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
}

void mbfs_tree_unlock(struct mbfs_tree *t)
{
	pthread_mutex_unlock(&t->lock);
}

struct mbfs_node *mbfs_tree_node(struct mbfs_tree *t, uint64_t ino)
{
	return mbfs_inode_table_get(&t->nodes, ino);
}

struct mbfs_meta *mbfs_tree_meta(struct mbfs_tree *t)
{
	return t->meta;
}

void mbfs_tree_set_gone_hook(struct mbfs_tree *t, mbfs_tree_gone_fn fn,
			     void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->gone = fn;
	t->gone_arg = arg;
	pthread_mutex_unlock(&t->lock);
}

/* ---- listing builders (no lock held; may block on the network) ----------- */

enum mbfs_status tree_oom(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
}

/* Fetch what dir should contain. Runs without the lock, on a snapshot of
 * dir (fetch_listing): a re-listing of dir's parent may rewrite dir's
 * fields meanwhile (update_node: db_id, schema, uuid ...). */
static enum mbfs_status build(struct mbfs_tree *t, const struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	if (tree_by_objects(t) && dir->kind != MBFS_K_CONTROL_DIR)
		return dir->kind == MBFS_K_ROOT || dir->kind == MBFS_K_OBJ_DIR
			       ? tree_build_objects(t, dir->key, p, err)
			       : mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0,
					      "not a directory");
	switch (dir->kind) {
	case MBFS_K_ROOT: return tree_build_root(t, p, err);
	case MBFS_K_CONTROL_DIR: return tree_build_control(t, p, err);
	case MBFS_K_COLLECTION: return tree_build_collection(t, dir->id, p, err);
	case MBFS_K_PERSONAL_DIR: return tree_build_personal(t, p, err);
	case MBFS_K_CARDS_DIR: return tree_build_cards(t, p, err);
	case MBFS_K_DASHBOARDS_DIR: return tree_build_dashboards(t, p, err);
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID: return tree_build_dashboard(t, dir, p, err);
	case MBFS_K_DATABASES_DIR: return tree_build_databases(t, p, err);
	case MBFS_K_DATABASE: return tree_build_database(t, dir->id, p, err);
	case MBFS_K_SCHEMA: return tree_build_schema(t, dir, p, err);
	case MBFS_K_METADATA_DIR: return tree_build_metadata(t, p, err);
	case MBFS_K_QUERIES_DIR: return tree_build_queries(t, p, err);
	case MBFS_K_PUBLIC_DIR: return tree_build_public(t, p, err);
	case MBFS_K_PUBLIC_CARDS_DIR:
	case MBFS_K_PUBLIC_DASHBOARDS_DIR: return tree_build_public_list(t, dir, p, err);
	case MBFS_K_PUBLIC_DASHBOARD: return tree_build_public_dashboard(t, dir, p, err);
	default:
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	}
}

static bool is_fixed_dir(enum mbfs_kind k)
{
	return k == MBFS_K_ROOT || k == MBFS_K_CONTROL_DIR ||
	       k == MBFS_K_PUBLIC_DIR;
}

/* ---- applying a listing (lock held) ------------------------------------- */

int tree_dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mbfs_dirent *)a)->name,
		      ((const struct mbfs_dirent *)b)->name);
}

/* The entry called name in dir's listing (sorted by name), or NULL.
 * Lock held. */
struct mbfs_dirent *tree_entry_find(const struct mbfs_node *dir,
				    const char *name)
{
	struct mbfs_dirent keyd = {.name = (char *)name};
	return bsearch(&keyd, dir->entries, dir->n_entries, sizeof keyd,
		       tree_dirent_cmp);
}

static void update_node(struct mbfs_tree *t, struct mbfs_node *n,
			const struct proto *r)
{
	bool text = mbfs_kind_is_text(n->kind);
	const char *sql = text ? r->sql : NULL;
	if (text &&
	    (!n->content_gen || !n->sql != !sql ||
	     (sql && n->sql && strcmp(sql, n->sql) != 0)))
		n->content_gen = ++t->content_seq;
	n->db_id = r->db_id;
	n->model = r->model;
	n->dashboard_id = r->dashboard_id;
	n->card_id = r->card_id;
	tree_set_str(&n->schema, r->schema);
	tree_set_str(&n->raw_name, r->raw_name ? r->raw_name : r->fixed_name);
	tree_set_str(&n->description, r->description);
	tree_set_str(&n->updated_at, r->updated_at);
	tree_set_str(&n->sql, sql);
	tree_set_str(&n->params, r->params);
	tree_set_str(&n->param_defs, r->param_defs);
	if (r->uuid)
		tree_set_str(&n->uuid, r->uuid);
	if (r->key)
		tree_set_str(&n->key, r->key);
	tree_set_str(&n->xattrs, r->xattrs);
	n->mtime = mbfs_tree_parse_time(r->updated_at);
}

/* The node kind of one of a proto's files. */
static enum mbfs_kind file_kind(const struct proto *r, enum mbfs_fmt f)
{
	if (f == MBFS_FMT_SQL)
		return r->kind == MBFS_K_OBJ_FILE ? MBFS_K_OBJ_TEXT
						  : MBFS_K_SQL_FILE;
	return r->kind;
}

/* Tell the gone hook about every (name → node) of the old listing that the
 * new one does not have. Both sorted by name. */
static void report_gone(struct mbfs_tree *t, const struct mbfs_node *dir,
			const struct mbfs_dirent *old, size_t n_old,
			const struct mbfs_dirent *cur, size_t n_cur)
{
	if (!t->gone)
		return;
	size_t j = 0;
	for (size_t i = 0; i < n_old; i++) {
		int c = 1;
		while (j < n_cur && (c = strcmp(cur[j].name, old[i].name)) < 0)
			j++;
		if (j < n_cur && c == 0 && cur[j].node == old[i].node)
			continue;
		t->gone(t->gone_arg, dir->ino, old[i].name);
	}
}

struct sortent {
	struct mbfs_dirent d;
	size_t pos;                /* position in the builder's order */
};

static int sortent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sortent *)a)->d.name,
		      ((const struct sortent *)b)->d.name);
}

/* The same listing: names, nodes and readdir order. */
static bool same_listing(const struct mbfs_node *dir,
			 const struct mbfs_dirent *ents, size_t k,
			 const size_t *order)
{
	if (dir->n_entries != k || (dir->order == NULL) != (order == NULL))
		return false;
	for (size_t i = 0; i < k; i++)
		if (dir->entries[i].node != ents[i].node ||
		    strcmp(dir->entries[i].name, ents[i].name) != 0 ||
		    (order && dir->order[i] != order[i]))
			return false;
	return true;
}

/* dir's listing becomes ents (k entries, order or NULL; all taken over):
 * names it no longer shows go to the gone hook, and list_gen changes
 * unless the listing is the same as before. Lock held. */
void tree_set_entries(struct mbfs_tree *t, struct mbfs_node *dir,
			struct mbfs_dirent *ents, size_t k, size_t *order)
{
	if (!dir->list_gen || !same_listing(dir, ents, k, order))
		dir->list_gen = ++t->list_seq;
	report_gone(t, dir, dir->entries, dir->n_entries, ents, k);
	tree_entries_free(dir->entries, dir->n_entries);
	free(dir->order);
	dir->entries = ents;
	dir->n_entries = k;
	dir->order = order;
}

static enum mbfs_status apply(struct mbfs_tree *t, struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	size_t n = p->n;
	struct mbfs_name_obj *objs = calloc(n ? n : 1, sizeof *objs);
	if (!objs)
		return tree_oom(err);
	/* ino → the name the previous listing gave it, for stickiness */
	struct mbfs_inode_table old;
	mbfs_inode_table_init(&old);
	for (size_t i = 0; i < dir->n_entries; i++)
		mbfs_inode_table_put(&old, dir->entries[i].node->ino,
				     dir->entries[i].name);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		struct proto *r = &p->v[i];
		struct mbfs_name_obj *o = &objs[i];
		o->raw = r->fixed_name ? r->fixed_name : r->raw_name;
		o->id = r->name_id ? r->name_id : r->id;
		o->kind_rank = r->rank;
		if (r->n_fmts == 0) {
			o->exts[0] = "";
			o->n_exts = 1;
		} else {
			for (int f = 0; f < r->n_fmts; f++)
				o->exts[f] = mbfs_fmt_ext(r->fmts[f]);
			o->n_exts = (size_t)r->n_fmts;
		}
		/* sticky: it showed its plain name in the previous listing */
		enum mbfs_fmt f0 = r->n_fmts ? r->fmts[0] : MBFS_FMT_NONE;
		const struct mbfs_node *was = node_find(t, file_kind(r, f0), f0,
							r->id);
		const char *prev = was ? mbfs_inode_table_get(&old, was->ino)
				       : NULL;
		if (prev) {
			char esc[MBFS_NAME_MAX + 1], plain[MBFS_NAME_MAX + 1];
			mbfs_name_escape(o->raw, esc, sizeof esc);
			mbfs_name_build(esc, "", o->exts[0], plain);
			o->sticky = strcmp(prev, plain) == 0;
		}
		total += o->n_exts;
	}
	mbfs_inode_table_destroy(&old);
	mbfs_name_assign(objs, n);

	struct sortent *se = calloc(total ? total : 1, sizeof *se);
	if (!se) {
		free(objs);
		return tree_oom(err);
	}
	size_t k = 0;
	enum mbfs_status st = MBFS_OK;
	for (size_t i = 0; i < n && st == MBFS_OK; i++) {
		struct proto *r = &p->v[i];
		if (objs[i].dropped) {
			mbfs_warn("cannot name %s %" PRId64 " in a directory: skipped",
				  mb_model_name(r->model), r->id);
			continue;
		}
		if (r->name_only)
			continue;
		for (size_t e = 0; e < objs[i].n_exts; e++) {
			enum mbfs_fmt f = r->n_fmts ? r->fmts[e] : MBFS_FMT_NONE;
			struct mbfs_node *node = tree_node_get(t, file_kind(r, f), f,
							       r->id);
			char *nm = strdup(objs[i].names[e]);
			if (!node || !nm) {
				free(nm);
				st = tree_oom(err);
				break;
			}
			update_node(t, node, r);
			tree_node_add_parent(node, dir);
			se[k].d.name = nm;
			se[k].d.node = node;
			se[k].pos = k;
			k++;
		}
	}
	free(objs);
	struct mbfs_dirent *ents = calloc(k ? k : 1, sizeof *ents);
	size_t *order = p->keep_order && k ? malloc(k * sizeof *order) : NULL;
	if (st == MBFS_OK && (!ents || (p->keep_order && k && !order)))
		st = tree_oom(err);
	if (st != MBFS_OK) {
		for (size_t i = 0; i < k; i++)
			free(se[i].d.name);
		free(se);
		free(ents);
		free(order);
		return st;
	}
	qsort(se, k, sizeof *se, sortent_cmp);
	for (size_t j = 0; j < k; j++) {
		ents[j] = se[j].d;
		if (order)
			order[se[j].pos] = j;
	}
	free(se);
	tree_set_entries(t, dir, ents, k, order);
	return MBFS_OK;
}

static void listing_failed(struct mbfs_tree *t, const struct mbfs_node *dir,
			   enum mbfs_status st, const struct mbfs_err *err);

/* One fetch of dir's listing (listing_busy already set by the caller):
 * built without the lock, applied with it; every request waiting for dir
 * gets the outcome. Lock held on entry and exit. OK when dir has a
 * listing to serve. */
static enum mbfs_status fetch_listing(struct mbfs_tree *t,
				      struct mbfs_node *dir,
				      struct mbfs_err *err)
{
	/* a touch while we fetch sets it again: re-list next time */
	dir->stale = false;
	/* what build() reads of dir, copied under the lock (the strings too:
	 * update_node frees and replaces them) */
	struct mbfs_node snap = {.ino = dir->ino, .kind = dir->kind,
				 .fmt = dir->fmt, .id = dir->id,
				 .db_id = dir->db_id,
				 .dashboard_id = dir->dashboard_id,
				 .card_id = dir->card_id,
				 .schema = mbfs_dup0(dir->schema),
				 .uuid = mbfs_dup0(dir->uuid),
				 .key = mbfs_dup0(dir->key)};
	bool oom = (dir->schema && !snap.schema) || (dir->uuid && !snap.uuid) ||
		   (dir->key && !snap.key);
	pthread_mutex_unlock(&t->lock);
	struct protos p = {0};
	enum mbfs_status st = oom ? tree_oom(err) : build(t, &snap, &p, err);
	free(snap.schema);
	free(snap.uuid);
	free(snap.key);
	pthread_mutex_lock(&t->lock);
	if (st == MBFS_OK)
		st = apply(t, dir, &p, err);
	protos_free(&p);
	dir->listing_busy = false;
	pthread_cond_broadcast(&t->cond);
	if (st == MBFS_OK) {
		dir->listing_ok = true;
		dir->fetched_at = mbfs_mono_now();
	} else if (mbfs_status_abandoned(st)) {
		/* our reader gave up, not the server: others waiting for this
		 * directory fetch it themselves */
		dir->stale = true;
	} else {
		listing_failed(t, dir, st, err);
		if (dir->listing_ok) {
			/* keep serving the last good listing; retry after
			 * error_ttl */
			mbfs_warn("listing %s failed, serving the previous one: %s",
				  dir->raw_name ? dir->raw_name : "directory",
				  err->msg);
			dir->fetched_at = mbfs_mono_now() - t->opts->meta_ttl +
					  t->opts->error_ttl;
			mbfs_err_clear(err);
			st = MBFS_OK;
		}
	}
	if (dir->wait)
		mbfs_waitq_wake(&dir->wait->q, UINT64_MAX, st,
				st == MBFS_OK ? NULL : err);
	return st;
}

static void fetch_job_run(void *arg)
{
	struct fetch_job *fj = arg;
	struct mbfs_tree *t = fj->t;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	mbfs_cancel_enter(&fj->cancel);
	pthread_mutex_lock(&t->lock);
	fetch_listing(t, fj->dir, &err);
	fj->dir->wait->job = NULL;
	pthread_mutex_unlock(&t->lock);
	mbfs_cancel_leave();
	free(fj);
}

/* The last request waiting for a directory's fetch job was interrupted:
 * stop the transfer. Tree lock held. */
static void listing_all_left(void *owner)
{
	struct mbfs_node *dir = owner;
	if (dir->wait->job)
		mbfs_cancel_fire(&dir->wait->job->cancel);
}

/* The job's wait below (a list another fetch is getting) ends early on an
 * interrupt. Tree lock held: meta's lock comes after it. */
static void fetch_job_wake(void *arg)
{
	mbfs_meta_wake(arg);
}

/* In a try scope: start dir's fetch as a job on the worker pool unless
 * one is in flight, and queue the request on the directory. Lock held. */
static enum mbfs_status wait_listing(struct mbfs_tree *t, struct mbfs_node *dir,
				     struct mbfs_err *err)
{
	if (!dir->wait) {
		dir->wait = calloc(1, sizeof *dir->wait);
		if (!dir->wait)
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
					    "out of memory");
		mbfs_waitq_init(&dir->wait->q, &t->lock, dir, listing_all_left,
				dir);
	}
	if (!dir->listing_busy) {
		if (t->stopping || !t->pool)
			return mbfs_err_set(err, MBFS_ERR_UNMOUNTING, 0,
					    "unmounting");
		struct fetch_job *fj = calloc(1, sizeof *fj);
		if (!fj)
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
					    "out of memory");
		fj->t = t;
		fj->dir = dir;
		atomic_init(&fj->cancel.fired, false);
		fj->cancel.wake = fetch_job_wake;
		fj->cancel.wake_arg = t->meta;
		fj->item.fn = fetch_job_run;
		fj->item.arg = fj;
		dir->listing_busy = true;
		dir->wait->job = fj;
		mbfs_pool_submit_item(t->pool, &fj->item);
	}
	return mbfs_wait_on(&dir->wait->q, 0, err);
}

/* Make dir's listing fresh. Lock held on entry and exit; dropped while
 * fetching. In a try scope the fetch is a job and the request waits for
 * it without a thread (cancel.h). */
static enum mbfs_status ensure_listing(struct mbfs_tree *t, struct mbfs_node *dir,
				       struct mbfs_err *err)
{
	if (!mbfs_kind_is_dir(dir->kind))
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	if (dir->kind == MBFS_K_QUERY_DB)
		return tree_local_listing(t, dir, err);
	/* the retry of a request that waited for this directory's fetch */
	struct mbfs_err werr;
	enum mbfs_status wst;
	bool waited = mbfs_waited_for(dir, &wst, &werr);
	for (;;) {
		/* a fetch in flight (a touch or an expiry started it): wait
		 * for its listing rather than answer with the older one */
		bool busy = dir->listing_busy;
		double now = mbfs_mono_now();
		bool fresh = !busy && dir->listing_ok && !dir->stale &&
			     (is_fixed_dir(dir->kind) ||
			      now - dir->fetched_at < t->opts->meta_ttl);
		if (fresh)
			return MBFS_OK;
		if (waited) {
			/* the listing fetched for us, even when a zero TTL
			 * made it stale at once; or its failure */
			waited = false;
			if (wst == MBFS_OK && dir->listing_ok)
				return MBFS_OK;
			if (wst != MBFS_OK && wst != MBFS_ERR_INTERRUPTED) {
				*err = werr;
				return wst;
			}
		}
		if (!mbfs_may_wait())
			return wait_listing(t, dir, err);
		if (mbfs_cancel_fired(mbfs_cancel_current()))
			return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					    "interrupted while waiting for a listing");
		if (busy) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		dir->listing_busy = true;
		return fetch_listing(t, dir, err);
	}
}

enum mbfs_status tree_listing(struct mbfs_tree *t, struct mbfs_node *dir,
			      struct mbfs_err *err)
{
	return ensure_listing(t, dir, err);
}

enum mbfs_status mbfs_tree_list(struct mbfs_tree *t, struct mbfs_node *dir,
				struct mbfs_dirent **out, size_t *n,
				uint64_t *gen, struct mbfs_err *err)
{
	pthread_mutex_lock(&t->lock);
	enum mbfs_status st = ensure_listing(t, dir, err);
	if (st == MBFS_OK) {
		struct mbfs_dirent *v = calloc(dir->n_entries ? dir->n_entries : 1,
					       sizeof *v);
		if (!v) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		} else {
			for (size_t i = 0; i < dir->n_entries; i++) {
				const struct mbfs_dirent *d =
					&dir->entries[dir->order ? dir->order[i] : i];
				v[i].name = strdup(d->name);
				v[i].node = d->node;
				if (!v[i].name) {
					mbfs_tree_free_snapshot(v, i);
					v = NULL;
					st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
							  "out of memory");
					break;
				}
			}
			*out = v;
			*n = v ? dir->n_entries : 0;
			if (gen)
				*gen = dir->list_gen;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}

void mbfs_tree_free_snapshot(struct mbfs_dirent *v, size_t n)
{
	tree_entries_free(v, n);
}

enum mbfs_status mbfs_tree_find(struct mbfs_tree *t, struct mbfs_node *dir,
				const char *name, struct mbfs_node **out,
				struct mbfs_err *err)
{
	pthread_mutex_lock(&t->lock);
	enum mbfs_status st = ensure_listing(t, dir, err);
	if (st == MBFS_OK) {
		struct mbfs_dirent *hit = tree_entry_find(dir, name);
		if (hit)
			*out = hit->node;
		else
			st = MBFS_ERR_NOT_FOUND;
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}

void mbfs_tree_names_of(struct mbfs_tree *t, const struct mbfs_node *n,
			void (*fn)(void *arg, uint64_t parent, const char *name),
			void *arg)
{
	(void)t;
	for (size_t p = 0; p < n->n_parents; p++) {
		const struct mbfs_node *dir = n->parents[p];
		for (size_t i = 0; i < dir->n_entries; i++)
			if (dir->entries[i].node == n)
				fn(arg, dir->ino, dir->entries[i].name);
	}
	/* a name no listing shows (parameters, a public uuid) */
	if (n->lookup_name && n->n_parents)
		fn(arg, n->parents[0]->ino, n->lookup_name);
}

void mbfs_tree_invalidate_dir(struct mbfs_tree *t, struct mbfs_node *dir)
{
	dir->stale = true;
	/* the shared objects this listing is built from */
	switch (dir->kind) {
	case MBFS_K_COLLECTION: /* built from the three bulk lists */
		mbfs_meta_invalidate(t->meta, MBFS_META_COLLECTIONS, 0);
		mbfs_meta_invalidate(t->meta, MBFS_META_DASHBOARDS, 0);
		mbfs_meta_invalidate(t->meta, MBFS_META_CARDS, 0);
		break;
	case MBFS_K_CARDS_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_CARDS, 0);
		break;
	case MBFS_K_PERSONAL_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_COLLECTIONS, 0);
		mbfs_meta_invalidate(t->meta, MBFS_META_USERS, 0);
		mbfs_meta_invalidate(t->meta, MBFS_META_CURRENT_USER, 0);
		break;
	case MBFS_K_DASHBOARDS_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_DASHBOARDS, 0);
		break;
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
		mbfs_meta_invalidate(t->meta, MBFS_META_DASHBOARD, dir->id);
		break;
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID:
		mbfs_meta_invalidate(t->meta, MBFS_META_DASHBOARD,
				     dir->dashboard_id);
		break;
	case MBFS_K_DATABASES_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_DATABASES, 0);
		break;
	case MBFS_K_METADATA_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_CURRENT_USER, 0);
		break;
	case MBFS_K_QUERIES_DIR:
		mbfs_meta_invalidate(t->meta, MBFS_META_DATABASES, 0);
		break;
	default:
		break;
	}
}

void mbfs_tree_invalidate_file(struct mbfs_tree *t, struct mbfs_node *n)
{
	if (n->kind == MBFS_K_SQL_FILE)
		mbfs_meta_invalidate(t->meta, MBFS_META_CARDS, 0);
	else if (n->kind == MBFS_K_OBJ_TEXT) /* its bytes come with a listing */
		for (size_t i = 0; i < n->n_parents; i++)
			n->parents[i]->stale = true;
	else if (n->kind == MBFS_K_METADATA_FILE)
		mbfs_meta_invalidate(t->meta, (enum mbfs_meta_kind)n->id, 0);
}

static void stale_one(void *val, void *arg)
{
	(void)arg;
	((struct mbfs_node *)val)->stale = true;
}

void mbfs_tree_set_pool(struct mbfs_tree *t, struct mbfs_pool *pool)
{
	pthread_mutex_lock(&t->lock);
	t->pool = pool;
	pthread_mutex_unlock(&t->lock);
	mbfs_meta_set_pool(t->meta, pool);
}

void mbfs_tree_stop(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_mutex_unlock(&t->lock);
	mbfs_meta_stop(t->meta);
}

void mbfs_tree_invalidate_all(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
	mbfs_inode_table_each(&t->nodes, stale_one, NULL);
	mbfs_meta_invalidate_all(t->meta);
	pthread_mutex_unlock(&t->lock);
}

static void listing_failed(struct mbfs_tree *t, const struct mbfs_node *dir,
			   enum mbfs_status st, const struct mbfs_err *err)
{
	/* a uuid that is no public dashboard: an ENOENT, not a failure */
	if (!t->on_error || (dir->kind == MBFS_K_PUBLIC_DASHBOARD &&
			     st == MBFS_ERR_NOT_FOUND && !dir->listing_ok))
		return;
	char path[1024], what[1100];
	mbfs_tree_path(t, dir, path, sizeof path);
	snprintf(what, sizeof what, "%s (listing)", path);
	t->on_error(t->error_arg, what, err);
}

void mbfs_tree_set_error_hook(struct mbfs_tree *t, mbfs_tree_error_fn fn,
			      void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->on_error = fn;
	t->error_arg = arg;
	pthread_mutex_unlock(&t->lock);
	/* the shared lists behind the listings: a refresh that failed while
	 * the previous copy is served is recorded the same way */
	mbfs_meta_set_error_hook(t->meta, fn, arg);
}

void mbfs_tree_path(struct mbfs_tree *t, const struct mbfs_node *n, char *out,
		    size_t outsz)
{
	(void)t;
	const char *parts[64];
	size_t np = 0;
	const struct mbfs_node *cur = n;
	while (cur && cur->kind != MBFS_K_ROOT && np < 64) {
		const struct mbfs_node *dir = cur->n_parents ? cur->parents[0] : NULL;
		const char *nm = NULL;
		for (size_t i = 0; dir && !nm && i < dir->n_entries; i++)
			if (dir->entries[i].node == cur)
				nm = dir->entries[i].name;
		if (!nm)
			nm = cur->lookup_name;
		if (!nm || !dir) {
			parts[np++] = "?";
			break;
		}
		parts[np++] = nm;
		cur = dir;
	}
	size_t o = 0;
	if (outsz)
		out[0] = '\0';
	for (size_t i = np; i-- > 0 && o + 1 < outsz;) {
		int k = snprintf(out + o, outsz - o, "%s%s", parts[i],
				 i > 0 || mbfs_kind_is_dir(n->kind) ? "/" : "");
		if (k < 0)
			break;
		o += (size_t)k;
	}
	if (o >= outsz && outsz)
		out[outsz - 1] = '\0';
}

