/*
 * tree.c — owns the node table, the directory listings and how each kind of
 * directory is built from the Metabase client (collections, cards/,
 * databases/, schemas, .mbfs/). See tree.h.
 */
#include "tree.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "name.h"

struct mbfs_tree {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* a listing fetch finished */
	struct mb_client *client;
	const struct mbfs_options *opts;
	struct mbfs_inode_table nodes;
	enum mbfs_fmt formats[MBFS_MAX_FORMATS];
	int n_formats;
};

/* One object a listing wants to show: a directory, or a file in n_fmts
 * formats (one node per format). */
struct proto {
	enum mbfs_kind kind;
	int64_t id;
	int64_t db_id;
	char *schema;
	char *raw_name;
	enum mb_model model;
	char *description;
	char *updated_at;
	char *sql;
	enum mbfs_fmt fmts[MBFS_NAME_MAX_EXTS];
	int n_fmts;                   /* 0: a directory */
	const char *fixed_name;       /* names that need no escaping/collisions */
	int rank;                     /* collection 0, dashboard 1, card 2, table 3 */
};

struct protos {
	struct proto *v;
	size_t n, cap;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct proto *protos_add(struct protos *p)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 32;
		struct proto *nv = realloc(p->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		p->v = nv;
		p->cap = nc;
	}
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
	}
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* ---- time parsing ------------------------------------------------------- */

time_t mbfs_tree_parse_time(const char *s)
{
	if (!s)
		return 0;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int consumed = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3)
		return 0;
	const char *p = s + consumed;
	if (*p == 'T' || *p == ' ') {
		int c2 = 0;
		if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &c2) != 3)
			return 0;
		p += 1 + c2;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	long off = 0;
	if (*p == '+' || *p == '-') {
		int oh = 0, om = 0;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) >= 1)
			off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
	}
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : t - off;
}

/* ---- nodes -------------------------------------------------------------- */

static struct mbfs_node *node_get(struct mbfs_tree *t, enum mbfs_kind kind,
				  enum mbfs_fmt fmt, int64_t id)
{
	uint64_t ino = mbfs_inode_number(kind, fmt, id);
	struct mbfs_node *n = mbfs_inode_table_get(&t->nodes, ino);
	if (n)
		return n;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->ino = ino;
	n->kind = kind;
	n->fmt = fmt;
	n->id = id;
	if (kind == MBFS_K_CARD_FILE)
		snprintf(n->key, sizeof n->key, "card:%" PRId64 ":%s", id,
			 mbfs_fmt_name(fmt));
	else if (kind == MBFS_K_TABLE_FILE)
		snprintf(n->key, sizeof n->key, "table:%" PRId64 ":%s", id,
			 mbfs_fmt_name(fmt));
	if (!mbfs_inode_table_put(&t->nodes, ino, n)) {
		free(n);
		return NULL;
	}
	return n;
}

static void set_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = dup0(src);
}

static void entries_free(struct mbfs_dirent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void node_free(void *val, void *arg)
{
	(void)arg;
	struct mbfs_node *n = val;
	entries_free(n->entries, n->n_entries);
	free(n->schema);
	free(n->raw_name);
	free(n->description);
	free(n->updated_at);
	free(n->sql);
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
	for (int i = 0; i < opts->n_formats && i < MBFS_MAX_FORMATS; i++)
		t->formats[t->n_formats++] = mbfs_fmt_parse(opts->formats[i]);
	struct mbfs_node *root = node_get(t, MBFS_K_ROOT, MBFS_FMT_NONE, 0);
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

/* ---- listing builders (no lock held; may block on the network) ----------- */

static void add_fixed_dir(struct protos *p, enum mbfs_kind kind, int64_t id,
			  const char *name)
{
	struct proto *r = protos_add(p);
	if (!r)
		return;
	r->kind = kind;
	r->id = id;
	r->fixed_name = name;
}

static void add_file_formats(struct mbfs_tree *t, struct proto *r)
{
	for (int i = 0; i < t->n_formats; i++)
		r->fmts[r->n_fmts++] = t->formats[i];
}

static enum mbfs_status build_root(struct mbfs_tree *t, struct protos *p,
				   struct mbfs_err *err)
{
	(void)t;
	(void)err;
	add_fixed_dir(p, MBFS_K_COLLECTION, 0, "collections");
	add_fixed_dir(p, MBFS_K_CARDS_DIR, 0, "cards");
	add_fixed_dir(p, MBFS_K_DATABASES_DIR, 0, "databases");
	add_fixed_dir(p, MBFS_K_CONTROL_DIR, 0, ".mbfs");
	return MBFS_OK;
}

static enum mbfs_status build_control(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err)
{
	(void)t;
	(void)err;
	static const char *const names[] = {"status", "stats", "errors"};
	for (int i = 0; i < 3; i++) {
		struct proto *r = protos_add(p);
		if (!r)
			return MBFS_ERR_NOMEM;
		r->kind = MBFS_K_CONTROL_FILE;
		r->id = i + 1;
		r->fixed_name = names[i];
		r->fmts[0] = MBFS_FMT_NONE;
		r->n_fmts = 1;
	}
	return MBFS_OK;
}

static enum mbfs_status build_collection(struct mbfs_tree *t, int64_t id,
					 struct protos *p, struct mbfs_err *err)
{
	struct mb_item_list items = {0};
	enum mbfs_status st = t->client->ops->collection_items(t->client, id,
							       &items, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < items.n; i++) {
		const struct mb_item *it = &items.v[i];
		if (it->archived)
			continue;
		struct proto *r;
		switch (it->model) {
		case MB_MODEL_COLLECTION:
			r = protos_add(p);
			if (!r)
				break;
			r->kind = MBFS_K_COLLECTION;
			r->rank = 0;
			break;
		case MB_MODEL_CARD:
		case MB_MODEL_DATASET:
		case MB_MODEL_METRIC:
			if (it->dashboard_id)
				continue; /* lives in its dashboard (v0.53+) */
			r = protos_add(p);
			if (!r)
				break;
			r->kind = MBFS_K_CARD_FILE;
			r->rank = 2;
			add_file_formats(t, r);
			break;
		default:
			continue;
		}
		if (!r) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		r->id = it->id;
		r->model = it->model;
		r->raw_name = dup0(it->name);
		r->description = dup0(it->description);
		r->updated_at = dup0(it->updated_at);
	}
	mb_item_list_free(&items);
	return st;
}

static enum mbfs_status build_cards(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err)
{
	struct mb_card_list cards = {0};
	enum mbfs_status st = t->client->ops->cards(t->client, &cards, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < cards.n; i++) {
		const struct mb_card *c = &cards.v[i];
		if (c->archived)
			continue;
		struct proto *r = protos_add(p);
		if (!r) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		char idname[32];
		snprintf(idname, sizeof idname, "%" PRId64, c->id);
		r->kind = MBFS_K_CARD_FILE;
		r->id = c->id;
		r->rank = 2;
		r->model = c->model;
		r->raw_name = strdup(idname); /* cards/ names files by id */
		r->description = dup0(c->description);
		r->updated_at = dup0(c->updated_at);
		add_file_formats(t, r);
	}
	mb_card_list_free(&cards);
	return st;
}

static enum mbfs_status build_databases(struct mbfs_tree *t, struct protos *p,
					struct mbfs_err *err)
{
	struct mb_database_list dbs = {0};
	enum mbfs_status st = t->client->ops->databases(t->client, &dbs, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < dbs.n; i++) {
		struct proto *r = protos_add(p);
		if (!r) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		r->kind = MBFS_K_DATABASE;
		r->id = dbs.v[i].id;
		r->rank = 0;
		r->model = MB_MODEL_DATABASE;
		r->raw_name = dup0(dbs.v[i].name);
		r->description = dup0(dbs.v[i].description);
		r->updated_at = dup0(dbs.v[i].updated_at);
	}
	mb_database_list_free(&dbs);
	return st;
}

static enum mbfs_status build_database(struct mbfs_tree *t, int64_t db_id,
				       struct protos *p, struct mbfs_err *err)
{
	struct mb_string_list schemas = {0};
	enum mbfs_status st = t->client->ops->schemas(t->client, db_id,
						      &schemas, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < schemas.n; i++) {
		struct proto *r = protos_add(p);
		if (!r) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		r->kind = MBFS_K_SCHEMA;
		r->id = mbfs_inode_hash_id(db_id, schemas.v[i]);
		r->db_id = db_id;
		r->schema = strdup(schemas.v[i]);
		r->raw_name = strdup(schemas.v[i]);
	}
	mb_string_list_free(&schemas);
	return st;
}

static enum mbfs_status build_schema(struct mbfs_tree *t,
				     const struct mbfs_node *dir,
				     struct protos *p, struct mbfs_err *err)
{
	struct mb_table_list tables = {0};
	enum mbfs_status st = t->client->ops->tables(t->client, dir->db_id,
						     dir->schema, &tables, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < tables.n; i++) {
		const struct mb_table *tb = &tables.v[i];
		if (!tb->active || tb->hidden)
			continue;
		struct proto *r = protos_add(p);
		if (!r) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		r->kind = MBFS_K_TABLE_FILE;
		r->id = tb->id;
		r->db_id = tb->db_id ? tb->db_id : dir->db_id;
		r->rank = 3;
		r->model = MB_MODEL_TABLE;
		r->raw_name = dup0(tb->name);
		r->description = dup0(tb->description);
		r->updated_at = dup0(tb->updated_at);
		add_file_formats(t, r);
	}
	mb_table_list_free(&tables);
	return st;
}

/* Fetch what dir should contain. dir's identity fields are immutable, so
 * reading them without the lock is safe. */
static enum mbfs_status build(struct mbfs_tree *t, const struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	switch (dir->kind) {
	case MBFS_K_ROOT: return build_root(t, p, err);
	case MBFS_K_CONTROL_DIR: return build_control(t, p, err);
	case MBFS_K_COLLECTION: return build_collection(t, dir->id, p, err);
	case MBFS_K_CARDS_DIR: return build_cards(t, p, err);
	case MBFS_K_DATABASES_DIR: return build_databases(t, p, err);
	case MBFS_K_DATABASE: return build_database(t, dir->id, p, err);
	case MBFS_K_SCHEMA: return build_schema(t, dir, p, err);
	default:
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	}
}

static bool is_fixed_dir(enum mbfs_kind k)
{
	return k == MBFS_K_ROOT || k == MBFS_K_CONTROL_DIR;
}

/* ---- applying a listing (lock held) ------------------------------------- */

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mbfs_dirent *)a)->name,
		      ((const struct mbfs_dirent *)b)->name);
}


static void update_node(struct mbfs_node *n, const struct proto *r)
{
	n->db_id = r->db_id;
	n->model = r->model;
	set_str(&n->schema, r->schema);
	set_str(&n->raw_name, r->raw_name ? r->raw_name : r->fixed_name);
	set_str(&n->description, r->description);
	set_str(&n->updated_at, r->updated_at);
	set_str(&n->sql, r->sql);
	n->mtime = mbfs_tree_parse_time(r->updated_at);
}

static enum mbfs_status apply(struct mbfs_tree *t, struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	size_t n = p->n;
	struct mbfs_name_obj *objs = calloc(n ? n : 1, sizeof *objs);
	if (!objs)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
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
		o->id = r->id;
		o->kind_rank = r->rank;
		if (r->n_fmts == 0) {
			o->exts[0] = "";
			o->n_exts = 1;
		} else {
			for (int f = 0; f < r->n_fmts; f++)
				o->exts[f] = r->kind == MBFS_K_CONTROL_FILE
						     ? ""
						     : mbfs_fmt_ext(r->fmts[f]);
			o->n_exts = (size_t)r->n_fmts;
		}
		/* sticky: it showed its plain name in the previous listing */
		enum mbfs_fmt f0 = r->n_fmts ? r->fmts[0] : MBFS_FMT_NONE;
		const char *prev = mbfs_inode_table_get(
			&old, mbfs_inode_number(r->kind, f0, r->id));
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

	struct mbfs_dirent *ents = calloc(total ? total : 1, sizeof *ents);
	if (!ents) {
		free(objs);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
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
		for (size_t e = 0; e < objs[i].n_exts; e++) {
			enum mbfs_fmt f = r->n_fmts ? r->fmts[e] : MBFS_FMT_NONE;
			struct mbfs_node *node = node_get(t, r->kind, f, r->id);
			char *nm = strdup(objs[i].names[e]);
			if (!node || !nm) {
				free(nm);
				st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
				break;
			}
			update_node(node, r);
			ents[k].name = nm;
			ents[k].node = node;
			k++;
		}
	}
	free(objs);
	if (st != MBFS_OK) {
		entries_free(ents, k);
		return st;
	}
	qsort(ents, k, sizeof *ents, dirent_cmp);
	entries_free(dir->entries, dir->n_entries);
	dir->entries = ents;
	dir->n_entries = k;
	return MBFS_OK;
}

/* Make dir's listing fresh. Lock held on entry and exit; dropped while
 * fetching. */
static enum mbfs_status ensure_listing(struct mbfs_tree *t, struct mbfs_node *dir,
				       struct mbfs_err *err)
{
	if (!mbfs_kind_is_dir(dir->kind))
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	for (;;) {
		while (dir->listing_busy)
			pthread_cond_wait(&t->cond, &t->lock);
		double now = mono_now();
		bool fresh = dir->listing_ok && !dir->stale &&
			     (is_fixed_dir(dir->kind) ||
			      now - dir->fetched_at < t->opts->meta_ttl);
		if (fresh)
			return MBFS_OK;
		dir->listing_busy = true;
		pthread_mutex_unlock(&t->lock);
		struct protos p = {0};
		enum mbfs_status st = build(t, dir, &p, err);
		pthread_mutex_lock(&t->lock);
		if (st == MBFS_OK)
			st = apply(t, dir, &p, err);
		protos_free(&p);
		dir->listing_busy = false;
		pthread_cond_broadcast(&t->cond);
		if (st == MBFS_OK) {
			dir->listing_ok = true;
			dir->stale = false;
			dir->fetched_at = mono_now();
			return MBFS_OK;
		}
		if (dir->listing_ok) {
			/* keep serving the last good listing; retry after error_ttl */
			mbfs_warn("listing %s failed, serving the previous one: %s",
				  dir->raw_name ? dir->raw_name : "directory",
				  err->msg);
			dir->stale = false;
			dir->fetched_at = mono_now() - t->opts->meta_ttl +
					  t->opts->error_ttl;
			mbfs_err_clear(err);
			return MBFS_OK;
		}
		return st;
	}
}

enum mbfs_status mbfs_tree_list(struct mbfs_tree *t, struct mbfs_node *dir,
				struct mbfs_dirent **out, size_t *n,
				struct mbfs_err *err)
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
				v[i].name = strdup(dir->entries[i].name);
				v[i].node = dir->entries[i].node;
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
		}
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}

void mbfs_tree_free_snapshot(struct mbfs_dirent *v, size_t n)
{
	entries_free(v, n);
}

enum mbfs_status mbfs_tree_find(struct mbfs_tree *t, struct mbfs_node *dir,
				const char *name, struct mbfs_node **out,
				struct mbfs_err *err)
{
	pthread_mutex_lock(&t->lock);
	enum mbfs_status st = ensure_listing(t, dir, err);
	if (st == MBFS_OK) {
		struct mbfs_dirent keyd = {.name = (char *)name};
		struct mbfs_dirent *hit = bsearch(&keyd, dir->entries,
						  dir->n_entries, sizeof keyd,
						  dirent_cmp);
		if (hit)
			*out = hit->node;
		else
			st = MBFS_ERR_NOT_FOUND;
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}

bool mbfs_tree_peek(struct mbfs_tree *t, struct mbfs_node *dir,
		    const char *name, struct mbfs_node **out)
{
	pthread_mutex_lock(&t->lock);
	bool fresh = mbfs_kind_is_dir(dir->kind) && !dir->listing_busy &&
		     dir->listing_ok && !dir->stale &&
		     (is_fixed_dir(dir->kind) ||
		      mono_now() - dir->fetched_at < t->opts->meta_ttl);
	if (out) {
		*out = NULL;
		if (fresh && name) {
			struct mbfs_dirent keyd = {.name = (char *)name};
			struct mbfs_dirent *hit = bsearch(&keyd, dir->entries,
							  dir->n_entries,
							  sizeof keyd, dirent_cmp);
			if (hit)
				*out = hit->node;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return fresh;
}

void mbfs_tree_invalidate_dir(struct mbfs_tree *t, struct mbfs_node *dir)
{
	(void)t;
	dir->stale = true;
}

static void stale_one(void *val, void *arg)
{
	(void)arg;
	((struct mbfs_node *)val)->stale = true;
}

void mbfs_tree_invalidate_all(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
	mbfs_inode_table_each(&t->nodes, stale_one, NULL);
	pthread_mutex_unlock(&t->lock);
}
