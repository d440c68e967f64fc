/*
 * tree.c — owns the node table, the directory listings and how each kind of
 * directory is built from the Metabase client and the shared meta cache
 * (root, collections, collections/Personal/, cards/, dashboards/, a
 * dashboard and its tabs, databases/, schemas, metadata/, .mbfs/), plus
 * telling the gone hook about names a re-listing dropped. See tree.h.
 */
#include "tree.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "log.h"
#include "mb_json.h"
#include "name.h"
#include "queries.h"
#include "params.h"
#include "util.h"

struct mbfs_tree {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* a listing fetch finished */
	struct mb_client *client;
	const struct mbfs_options *opts;
	struct mbfs_meta *meta;
	struct mbfs_inode_table nodes;    /* ino → node */
	struct mbfs_ident_table idents;   /* (kind, fmt, id) → node */
	uint64_t next_big;                /* numbers for ids beyond 48 bits */
	uint64_t content_seq;             /* SQL text generations */
	/* (database, schema) → id; builders run without the tree lock, so
	 * the registry has a lock of its own (taken alone, never nested) */
	pthread_mutex_t schema_lock;
	struct schema_id *schema_ids;
	size_t n_schema_ids, cap_schema_ids;
	enum mbfs_fmt formats[MBFS_MAX_FORMATS];
	int n_formats;
	mbfs_tree_gone_fn gone;
	void *gone_arg;
	struct mbfs_queries *queries;     /* queries/<db>/ contents, or NULL */
	/* identities that are not Metabase integers (strid_get) */
	struct mbfs_map sids[4];          /* per enum strid_space: string → id */
	size_t sid_n;
	int64_t sid_next;
	mbfs_tree_error_fn on_error;
	void *error_arg;
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
	char *sql;                    /* native cards: goes to the .sql node */
	int64_t dashboard_id;
	int64_t card_id;
	char *params;
	char *param_defs;
	char *uuid;
	enum mbfs_fmt fmts[MBFS_NAME_MAX_EXTS];
	int n_fmts;                   /* 0: a directory */
	const char *fixed_name;       /* names that need no escaping/collisions */
	int rank;                     /* collection 0, dashboard 1, card 2, table 3 */
	bool name_only;               /* takes part in naming, is not listed
					 (queries/: so that names are those
					 of databases/) */
};

static void strid_free_all(struct mbfs_tree *t);

struct protos {
	struct proto *v;
	size_t n, cap;
	bool keep_order;              /* readdir in this order, not by name */
};

/* ensure_listing (the wait site the thread-model change rewrites) keeps
 * calling the clock by this name until then. */
#define mono_now mbfs_mono_now

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
		free(p->v[i].params);
		free(p->v[i].param_defs);
		free(p->v[i].uuid);
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

/* The node of an identity, if one exists. Lock held. */
static struct mbfs_node *node_find(struct mbfs_tree *t, enum mbfs_kind kind,
				   enum mbfs_fmt fmt, int64_t id)
{
	return mbfs_ident_table_get(&t->idents, mbfs_ident_kind(kind, fmt),
				    (uint64_t)id);
}

/* The node of an identity, created on first sight with its number: the
 * packed one, or one allocated when the id does not fit. Lock held. */
static struct mbfs_node *node_get(struct mbfs_tree *t, enum mbfs_kind kind,
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
static void node_add_parent(struct mbfs_node *n, struct mbfs_node *dir)
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

/* A schema's id: a hash of (database, name), probed past any id another
 * schema already has, so two schemas never share a node. Takes the
 * registry's own lock (builders call it without the tree lock). */
struct schema_id {
	int64_t db_id;
	char *name;
	int64_t id;
};

static int64_t schema_id_locked(struct mbfs_tree *t, int64_t db_id,
				const char *name);

static int64_t schema_id(struct mbfs_tree *t, int64_t db_id, const char *name)
{
	pthread_mutex_lock(&t->schema_lock);
	int64_t id = schema_id_locked(t, db_id, name);
	pthread_mutex_unlock(&t->schema_lock);
	return id;
}

static int64_t schema_id_locked(struct mbfs_tree *t, int64_t db_id,
				const char *name)
{
	int64_t h = mbfs_inode_hash_id(db_id, name);
	for (;;) {
		bool taken = false;
		for (size_t i = 0; i < t->n_schema_ids; i++) {
			struct schema_id *s = &t->schema_ids[i];
			if (s->db_id == db_id && strcmp(s->name, name) == 0)
				return s->id;
			if (s->id == h)
				taken = true;
		}
		if (!taken)
			break;
		h = (h + 1) & ((INT64_C(1) << 47) - 1);
	}
	if (t->n_schema_ids == t->cap_schema_ids) {
		size_t nc = t->cap_schema_ids ? t->cap_schema_ids * 2 : 16;
		struct schema_id *v = realloc(t->schema_ids, nc * sizeof *v);
		if (!v)
			return h;
		t->schema_ids = v;
		t->cap_schema_ids = nc;
	}
	char *nm = strdup(name);
	if (nm)
		t->schema_ids[t->n_schema_ids++] =
			(struct schema_id){.db_id = db_id, .name = nm, .id = h};
	return h;
}

static void set_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = mbfs_dup0(src);
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
	free(n->params);
	free(n->param_defs);
	free(n->uuid);
	free(n->lookup_name);
	free(n->order);
	free(n->parents);
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
	mbfs_ident_table_destroy(&t->idents);
	strid_free_all(t);
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

static enum mbfs_status oom(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
}

static struct proto *add_fixed_dir(struct protos *p, enum mbfs_kind kind,
				   int64_t id, const char *name)
{
	struct proto *r = protos_add(p);
	if (!r)
		return NULL;
	r->kind = kind;
	r->id = id;
	r->fixed_name = name;
	return r;
}

static void add_file_formats(struct mbfs_tree *t, struct proto *r)
{
	for (int i = 0; i < t->n_formats; i++)
		r->fmts[r->n_fmts++] = t->formats[i];
}

/* A card's files: one per format, plus .sql for native cards whose SQL
 * text is known. */
static bool add_card_files(struct mbfs_tree *t, struct proto *r,
			   const struct mb_card *c)
{
	add_file_formats(t, r);
	if (c && c->param_defs && !(r->param_defs = strdup(c->param_defs)))
		return false;
	if (c && c->native && c->native_sql) {
		r->sql = strdup(c->native_sql);
		if (!r->sql)
			return false;
		r->fmts[r->n_fmts++] = MBFS_FMT_SQL;
	}
	return true;
}

static enum mbfs_status build_root(struct mbfs_tree *t, struct protos *p,
				   struct mbfs_err *err)
{
	/* -o public: public links only (no credentials: nothing else
	 * could be listed) */
	if (!t->opts->public_only &&
	    (!add_fixed_dir(p, MBFS_K_COLLECTION, 0, "collections") ||
	     !add_fixed_dir(p, MBFS_K_CARDS_DIR, 0, "cards") ||
	     !add_fixed_dir(p, MBFS_K_DASHBOARDS_DIR, 0, "dashboards") ||
	     !add_fixed_dir(p, MBFS_K_DATABASES_DIR, 0, "databases") ||
	     !add_fixed_dir(p, MBFS_K_METADATA_DIR, 0, "metadata")))
		return oom(err);
	if (!t->opts->public_only &&
	    !add_fixed_dir(p, MBFS_K_QUERIES_DIR, 0, "queries"))
		return oom(err);
	if (!add_fixed_dir(p, MBFS_K_PUBLIC_DIR, 0, "public") ||
	    !add_fixed_dir(p, MBFS_K_CONTROL_DIR, 0, ".mbfs"))
		return oom(err);
	return MBFS_OK;
}

static enum mbfs_status build_control(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err)
{
	(void)t;
	static const char *const names[] = {"status", "stats", "errors",
					    "metrics", "exports"};
	for (int i = 0; i < 5; i++) {
		struct proto *r = protos_add(p);
		if (!r)
			return oom(err);
		r->kind = MBFS_K_CONTROL_FILE;
		r->id = i + 1;
		r->fixed_name = names[i];
		r->fmts[0] = MBFS_FMT_NONE;
		r->n_fmts = 1;
	}
	return MBFS_OK;
}

static int card_id_cmp(const void *key, const void *el)
{
	int64_t a = *(const int64_t *)key, b = ((const struct mb_card *)el)->id;
	return a < b ? -1 : a > b;
}

/* The card with this id in a card list sorted by id, or NULL. */
static const struct mb_card *find_card(const struct mbfs_meta_snap *cards,
				       int64_t id)
{
	if (!cards || !cards->u.cards.n)
		return NULL;
	return bsearch(&id, cards->u.cards.v, cards->u.cards.n,
		       sizeof *cards->u.cards.v, card_id_cmp);
}

static enum mbfs_status build_collection(struct mbfs_tree *t, int64_t id,
					 struct protos *p, struct mbfs_err *err)
{
	struct mb_item_list items = {0};
	enum mbfs_status st = t->client->ops->collection_items(t->client, id,
							       &items, err);
	if (st != MBFS_OK)
		return st;
	/* Which cards are native (and their SQL): the shared card list,
	 * fetched once per meta_ttl for every directory that needs it. */
	const struct mbfs_meta_snap *cards = NULL;
	for (size_t i = 0; i < items.n; i++) {
		enum mb_model m = items.v[i].model;
		if (m != MB_MODEL_CARD && m != MB_MODEL_DATASET &&
		    m != MB_MODEL_METRIC)
			continue;
		struct mbfs_err e;
		if (mbfs_meta_get(t->meta, MBFS_META_CARDS, 0, 0, &cards, &e) !=
		    MBFS_OK)
			mbfs_warn("card list unavailable, no .sql files: %s", e.msg);
		break;
	}
	if (id == 0 && !add_fixed_dir(p, MBFS_K_PERSONAL_DIR, 0, "Personal"))
		st = oom(err);
	for (size_t i = 0; i < items.n && st == MBFS_OK; i++) {
		const struct mb_item *it = &items.v[i];
		if (it->archived)
			continue;
		struct proto *r;
		const struct mb_card *card = NULL;
		switch (it->model) {
		case MB_MODEL_COLLECTION:
			r = protos_add(p);
			if (!r)
				break;
			r->kind = MBFS_K_COLLECTION;
			r->rank = 0;
			break;
		case MB_MODEL_DASHBOARD:
			r = protos_add(p);
			if (!r)
				break;
			r->kind = MBFS_K_DASHBOARD;
			r->rank = 1;
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
			card = find_card(cards, it->id);
			if (!add_card_files(t, r, card))
				r = NULL;
			break;
		default:
			continue;
		}
		if (!r) {
			st = oom(err);
			break;
		}
		r->id = it->id;
		r->model = it->model;
		r->raw_name = mbfs_dup0(it->name);
		r->description = mbfs_dup0(it->description);
		/* the card's own updated_at when known, as under cards/ (items
		 * carry the last edit's time), so one inode has one mtime */
		r->updated_at = mbfs_dup0(card && card->updated_at ? card->updated_at
							      : it->updated_at);
	}
	mbfs_meta_put(t->meta, cards);
	mb_item_list_free(&items);
	return st;
}

/* collections/Personal/: one directory per readable personal collection,
 * named after its owner (GET /api/user for admins, the current user
 * otherwise; the collection's own name when the owner is unknown). */
static enum mbfs_status build_personal(struct mbfs_tree *t, struct protos *p,
				       struct mbfs_err *err)
{
	const struct mbfs_meta_snap *colls = NULL, *me = NULL, *users = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_COLLECTIONS, 0,
					    0, &colls, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_err e;
	if (mbfs_meta_get(t->meta, MBFS_META_CURRENT_USER, 0, 0, &me, &e) != MBFS_OK)
		mbfs_warn("current user unavailable: %s", e.msg);
	if (me && me->u.user.is_superuser &&
	    mbfs_meta_get(t->meta, MBFS_META_USERS, 0, 0, &users, &e) != MBFS_OK)
		mbfs_warn("user list unavailable, personal collections keep their own names: %s",
			  e.msg);
	const struct mb_collection_list *cl = &colls->u.collections;
	for (size_t i = 0; i < cl->n; i++) {
		const struct mb_collection *c = &cl->v[i];
		if (!c->personal_owner_id || c->archived || c->id == 0)
			continue;
		const char *owner = NULL;
		if (me && me->u.user.id == c->personal_owner_id)
			owner = me->u.user.common_name;
		for (size_t u = 0; !owner && users && u < users->u.users.n; u++)
			if (users->u.users.v[u].id == c->personal_owner_id)
				owner = users->u.users.v[u].common_name;
		struct proto *r = protos_add(p);
		if (!r) {
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_COLLECTION;
		r->id = c->id;
		r->rank = 0;
		r->model = MB_MODEL_COLLECTION;
		r->raw_name = mbfs_dup0(owner && *owner ? owner : c->name);
		r->description = mbfs_dup0(c->description);
		r->updated_at = mbfs_dup0(c->updated_at);
	}
	mbfs_meta_put(t->meta, users);
	mbfs_meta_put(t->meta, me);
	mbfs_meta_put(t->meta, colls);
	return st;
}

static enum mbfs_status build_cards(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err)
{
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_CARDS, 0, 0,
					    &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_card_list *cards = &snap->u.cards;
	for (size_t i = 0; i < cards->n; i++) {
		const struct mb_card *c = &cards->v[i];
		if (c->archived)
			continue;
		struct proto *r = protos_add(p);
		if (!r) {
			st = oom(err);
			break;
		}
		char idname[32];
		snprintf(idname, sizeof idname, "%" PRId64, c->id);
		r->kind = MBFS_K_CARD_FILE;
		r->id = c->id;
		r->rank = 2;
		r->model = c->model;
		r->raw_name = strdup(idname); /* cards/ names files by id */
		r->description = mbfs_dup0(c->description);
		r->updated_at = mbfs_dup0(c->updated_at);
		if (!r->raw_name || !add_card_files(t, r, c)) {
			st = oom(err);
			break;
		}
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

/* dashboards/: every readable dashboard, by id. */
static enum mbfs_status build_dashboards(struct mbfs_tree *t, struct protos *p,
					 struct mbfs_err *err)
{
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_DASHBOARDS, 0,
					    0, &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_dashboard_list *dl = &snap->u.dashboards;
	for (size_t i = 0; i < dl->n; i++) {
		const struct mb_dashboard *d = &dl->v[i];
		if (d->archived)
			continue;
		struct proto *r = protos_add(p);
		char idname[32];
		snprintf(idname, sizeof idname, "%" PRId64, d->id);
		if (r)
			r->raw_name = strdup(idname);
		if (!r || !r->raw_name) {
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_DASHBOARD_BYID;
		r->id = d->id;
		r->rank = 1;
		r->model = MB_MODEL_DASHBOARD;
		r->description = mbfs_dup0(d->description);
		r->updated_at = mbfs_dup0(d->updated_at);
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

/* Is this dashcard a file? Text, heading, link and action cards have no
 * card; cards the user cannot read come as a bare {"id": N}; archived
 * cards are not shown. */
static bool dashcard_shown(const struct mb_dashcard *dc)
{
	return dc->card_id != 0 && dc->card_name && !dc->card_archived;
}

static bool add_dashcard(struct mbfs_tree *t, struct protos *p,
			 const struct mb_dashboard *d,
			 const struct mb_dashcard *dc)
{
	struct proto *r = protos_add(p);
	if (!r)
		return false;
	r->kind = MBFS_K_DASHCARD_FILE;
	r->id = dc->id;
	r->dashboard_id = d->id;
	r->card_id = dc->card_id;
	r->rank = 2;
	r->model = dc->card_model;
	r->raw_name = mbfs_dup0(dc->title ? dc->title : dc->card_name);
	r->description = mbfs_dup0(dc->card_description);
	r->updated_at = mbfs_dup0(dc->updated_at ? dc->updated_at : d->updated_at);
	r->params = mbfs_dup0(d->default_parameters ? d->default_parameters : "[]");
	r->param_defs = mbfs_dup0(dc->param_defs);
	add_file_formats(t, r);
	return r->raw_name && r->params && (!dc->param_defs || r->param_defs);
}

static bool has_tab(const struct mb_dashboard *d, int64_t tab_id)
{
	for (size_t i = 0; i < d->n_tabs; i++)
		if (d->tabs[i].id == tab_id)
			return true;
	return false;
}

/*
 * A dashboard directory (kind DASHBOARD or DASHBOARD_BYID, id = dashboard)
 * or one of its tabs (kind *_TAB*, id = tab, dashboard_id). With more than
 * one tab the dashboard shows one directory per tab, in tab order, and the
 * dashcards go into them; dashcards come in layout order (tab, row, col).
 */
static enum mbfs_status build_dashboard(struct mbfs_tree *t,
					const struct mbfs_node *dir,
					struct protos *p, struct mbfs_err *err)
{
	bool is_tab = dir->kind == MBFS_K_DASHBOARD_TAB ||
		      dir->kind == MBFS_K_DASHBOARD_TAB_BYID;
	bool byid = dir->kind == MBFS_K_DASHBOARD_BYID ||
		    dir->kind == MBFS_K_DASHBOARD_TAB_BYID;
	int64_t dash_id = is_tab ? dir->dashboard_id : dir->id;
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_DASHBOARD,
					    dash_id, 0, &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_dashboard *d = &snap->u.dashboard;
	bool tabbed = d->n_tabs > 1;
	p->keep_order = true;
	if (tabbed && !is_tab) {
		for (size_t i = 0; i < d->n_tabs && st == MBFS_OK; i++) {
			struct proto *r = protos_add(p);
			if (!r) {
				st = oom(err);
				break;
			}
			r->kind = byid ? MBFS_K_DASHBOARD_TAB_BYID
				       : MBFS_K_DASHBOARD_TAB;
			r->id = d->tabs[i].id;
			r->dashboard_id = d->id;
			r->rank = 0;
			r->model = MB_MODEL_DASHBOARD;
			r->raw_name = mbfs_dup0(d->tabs[i].name);
			r->description = mbfs_dup0(d->description);
			r->updated_at = mbfs_dup0(d->updated_at);
		}
	}
	for (size_t i = 0; i < d->n_dashcards && st == MBFS_OK; i++) {
		const struct mb_dashcard *dc = &d->dashcards[i];
		if (!dashcard_shown(dc))
			continue;
		bool here = is_tab ? (tabbed && dc->tab_id == dir->id)
				   : (!tabbed || !has_tab(d, dc->tab_id));
		if (here && !add_dashcard(t, p, d, dc))
			st = oom(err);
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

static enum mbfs_status build_databases(struct mbfs_tree *t, struct protos *p,
					struct mbfs_err *err)
{
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_DATABASES, 0, 0,
					    &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_database_list *dbs = &snap->u.databases;
	for (size_t i = 0; i < dbs->n; i++) {
		struct proto *r = protos_add(p);
		if (!r) {
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_DATABASE;
		r->id = dbs->v[i].id;
		r->rank = 0;
		r->model = MB_MODEL_DATABASE;
		r->raw_name = mbfs_dup0(dbs->v[i].name);
		r->description = mbfs_dup0(dbs->v[i].description);
		r->updated_at = mbfs_dup0(dbs->v[i].updated_at);
	}
	mbfs_meta_put(t->meta, snap);
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
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_SCHEMA;
		r->id = schema_id(t, db_id, schemas.v[i]);
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
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_TABLE_FILE;
		r->id = tb->id;
		r->db_id = tb->db_id ? tb->db_id : dir->db_id;
		r->rank = 3;
		r->model = MB_MODEL_TABLE;
		r->raw_name = mbfs_dup0(tb->name);
		r->description = mbfs_dup0(tb->description);
		r->updated_at = mbfs_dup0(tb->updated_at);
		add_file_formats(t, r);
	}
	mb_table_list_free(&tables);
	return st;
}

/* metadata/: one JSON array per list; users.json for admins only. The
 * listing itself never fetches the lists (sizes come from the cache). */
static enum mbfs_status build_metadata(struct mbfs_tree *t, struct protos *p,
				       struct mbfs_err *err)
{
	static const struct {
		enum mbfs_meta_kind kind;
		const char *name;
	} files[] = {
		{MBFS_META_CARDS, "cards.json"},
		{MBFS_META_COLLECTIONS, "collections.json"},
		{MBFS_META_DASHBOARDS, "dashboards.json"},
		{MBFS_META_DATABASES, "databases.json"},
		{MBFS_META_USERS, "users.json"},
		{MBFS_META_SNIPPETS, "snippets.json"},
	};
	const struct mbfs_meta_snap *me = NULL;
	struct mbfs_err e;
	bool admin = false;
	if (mbfs_meta_get(t->meta, MBFS_META_CURRENT_USER, 0, 0, &me, &e) == MBFS_OK)
		admin = me->u.user.is_superuser;
	else
		mbfs_warn("current user unavailable, no users.json: %s", e.msg);
	mbfs_meta_put(t->meta, me);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (files[i].kind == MBFS_META_USERS && !admin)
			continue;
		struct proto *r = protos_add(p);
		if (!r)
			return oom(err);
		r->kind = MBFS_K_METADATA_FILE;
		r->id = files[i].kind;
		r->fixed_name = files[i].name;
		r->fmts[0] = MBFS_FMT_NONE;
		r->n_fmts = 1;
	}
	return MBFS_OK;
}

static enum mbfs_status build_queries(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err);
static enum mbfs_status local_listing(struct mbfs_tree *t,
				      struct mbfs_node *dir,
				      struct mbfs_err *err);
static enum mbfs_status build_public(struct mbfs_tree *t, struct protos *p,
				     struct mbfs_err *err);
static enum mbfs_status build_public_list(struct mbfs_tree *t,
					  const struct mbfs_node *dir,
					  struct protos *p,
					  struct mbfs_err *err);
static enum mbfs_status build_public_dashboard(struct mbfs_tree *t,
					       const struct mbfs_node *dir,
					       struct protos *p,
					       struct mbfs_err *err);

/* Fetch what dir should contain. dir's identity fields are immutable, so
 * reading them without the lock is safe. */
static enum mbfs_status build(struct mbfs_tree *t, const struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	switch (dir->kind) {
	case MBFS_K_ROOT: return build_root(t, p, err);
	case MBFS_K_CONTROL_DIR: return build_control(t, p, err);
	case MBFS_K_COLLECTION: return build_collection(t, dir->id, p, err);
	case MBFS_K_PERSONAL_DIR: return build_personal(t, p, err);
	case MBFS_K_CARDS_DIR: return build_cards(t, p, err);
	case MBFS_K_DASHBOARDS_DIR: return build_dashboards(t, p, err);
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID: return build_dashboard(t, dir, p, err);
	case MBFS_K_DATABASES_DIR: return build_databases(t, p, err);
	case MBFS_K_DATABASE: return build_database(t, dir->id, p, err);
	case MBFS_K_SCHEMA: return build_schema(t, dir, p, err);
	case MBFS_K_METADATA_DIR: return build_metadata(t, p, err);
	case MBFS_K_QUERIES_DIR: return build_queries(t, p, err);
	case MBFS_K_PUBLIC_DIR: return build_public(t, p, err);
	case MBFS_K_PUBLIC_CARDS_DIR:
	case MBFS_K_PUBLIC_DASHBOARDS_DIR: return build_public_list(t, dir, p, err);
	case MBFS_K_PUBLIC_DASHBOARD: return build_public_dashboard(t, dir, p, err);
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

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mbfs_dirent *)a)->name,
		      ((const struct mbfs_dirent *)b)->name);
}

/* The entry called name in dir's listing (sorted by name), or NULL.
 * Lock held. */
static struct mbfs_dirent *entry_find(const struct mbfs_node *dir,
				      const char *name)
{
	struct mbfs_dirent keyd = {.name = (char *)name};
	return bsearch(&keyd, dir->entries, dir->n_entries, sizeof keyd,
		       dirent_cmp);
}

static void update_node(struct mbfs_tree *t, struct mbfs_node *n,
			const struct proto *r)
{
	const char *sql = n->kind == MBFS_K_SQL_FILE ? r->sql : NULL;
	if (n->kind == MBFS_K_SQL_FILE &&
	    (!n->content_gen || !n->sql != !sql ||
	     (sql && n->sql && strcmp(sql, n->sql) != 0)))
		n->content_gen = ++t->content_seq;
	n->db_id = r->db_id;
	n->model = r->model;
	n->dashboard_id = r->dashboard_id;
	n->card_id = r->card_id;
	set_str(&n->schema, r->schema);
	set_str(&n->raw_name, r->raw_name ? r->raw_name : r->fixed_name);
	set_str(&n->description, r->description);
	set_str(&n->updated_at, r->updated_at);
	set_str(&n->sql, sql);
	set_str(&n->params, r->params);
	set_str(&n->param_defs, r->param_defs);
	if (r->uuid)
		set_str(&n->uuid, r->uuid);
	n->mtime = mbfs_tree_parse_time(r->updated_at);
}

/* The node kind of one of a proto's files. */
static enum mbfs_kind file_kind(const struct proto *r, enum mbfs_fmt f)
{
	return f == MBFS_FMT_SQL ? MBFS_K_SQL_FILE : r->kind;
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

static enum mbfs_status apply(struct mbfs_tree *t, struct mbfs_node *dir,
			      struct protos *p, struct mbfs_err *err)
{
	size_t n = p->n;
	struct mbfs_name_obj *objs = calloc(n ? n : 1, sizeof *objs);
	if (!objs)
		return oom(err);
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
		return oom(err);
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
			struct mbfs_node *node = node_get(t, file_kind(r, f), f,
							  r->id);
			char *nm = strdup(objs[i].names[e]);
			if (!node || !nm) {
				free(nm);
				st = oom(err);
				break;
			}
			update_node(t, node, r);
			node_add_parent(node, dir);
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
		st = oom(err);
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
	report_gone(t, dir, dir->entries, dir->n_entries, ents, k);
	entries_free(dir->entries, dir->n_entries);
	free(dir->order);
	dir->entries = ents;
	dir->n_entries = k;
	dir->order = order;
	return MBFS_OK;
}

static void listing_failed(struct mbfs_tree *t, const struct mbfs_node *dir,
			   enum mbfs_status st, const struct mbfs_err *err);

/* Make dir's listing fresh. Lock held on entry and exit; dropped while
 * fetching. */
static enum mbfs_status ensure_listing(struct mbfs_tree *t, struct mbfs_node *dir,
				       struct mbfs_err *err)
{
	if (!mbfs_kind_is_dir(dir->kind))
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	if (dir->kind == MBFS_K_QUERY_DB)
		return local_listing(t, dir, err);
	for (;;) {
		/* a fetch in flight (a touch or an expiry started it): wait
		 * for its listing rather than answer with the older one */
		bool busy = dir->listing_busy;
		double now = mono_now();
		bool fresh = !busy && dir->listing_ok && !dir->stale &&
			     (is_fixed_dir(dir->kind) ||
			      now - dir->fetched_at < t->opts->meta_ttl);
		if (fresh)
			return MBFS_OK;
		if (!mbfs_may_wait())
			return mbfs_would_block(MBFS_WAIT_LISTING, err);
		if (mbfs_cancel_fired(mbfs_cancel_current()))
			return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					    "interrupted while waiting for a listing");
		if (busy) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		dir->listing_busy = true;
		/* a touch while we fetch sets it again: re-list next time */
		dir->stale = false;
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
			dir->fetched_at = mono_now();
			return MBFS_OK;
		}
		if (st == MBFS_ERR_INTERRUPTED) {
			/* our reader gave up, not the server: others waiting
			 * for this directory fetch it themselves */
			dir->stale = true;
			return st;
		}
		listing_failed(t, dir, st, err);
		if (dir->listing_ok) {
			/* keep serving the last good listing; retry after error_ttl */
			mbfs_warn("listing %s failed, serving the previous one: %s",
				  dir->raw_name ? dir->raw_name : "directory",
				  err->msg);
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
		struct mbfs_dirent *hit = entry_find(dir, name);
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
	case MBFS_K_COLLECTION:
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
	else if (n->kind == MBFS_K_METADATA_FILE)
		mbfs_meta_invalidate(t->meta, (enum mbfs_meta_kind)n->id, 0);
}

static void stale_one(void *val, void *arg)
{
	(void)arg;
	((struct mbfs_node *)val)->stale = true;
}

void mbfs_tree_wake(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	mbfs_meta_wake(t->meta);
}

void mbfs_tree_invalidate_all(struct mbfs_tree *t)
{
	pthread_mutex_lock(&t->lock);
	mbfs_inode_table_each(&t->nodes, stale_one, NULL);
	mbfs_meta_invalidate_all(t->meta);
	pthread_mutex_unlock(&t->lock);
}

/* ---- queries/ ------------------------------------------------------------ */

void mbfs_tree_set_queries(struct mbfs_tree *t, struct mbfs_queries *q)
{
	pthread_mutex_lock(&t->lock);
	t->queries = q;
	pthread_mutex_unlock(&t->lock);
}

char *mbfs_tree_query_base(const char *sql_name)
{
	if (mbfs_queries_classify(sql_name) != MBFS_QNAME_SQL)
		return NULL;
	return strndup(sql_name, strlen(sql_name) - 4);
}

/* queries/: every database goes through naming (so that a name is the
 * one databases/ gives it), the ones the user may not query natively
 * are not listed. No network of its own: the shared database list. */
static enum mbfs_status build_queries(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err)
{
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_DATABASES, 0, 0,
					    &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_database_list *dbs = &snap->u.databases;
	for (size_t i = 0; i < dbs->n; i++) {
		struct proto *r = protos_add(p);
		if (!r) {
			st = oom(err);
			break;
		}
		r->kind = MBFS_K_QUERY_DB;
		r->id = dbs->v[i].id;
		r->rank = 0;
		r->model = MB_MODEL_DATABASE;
		r->raw_name = mbfs_dup0(dbs->v[i].name);
		r->description = mbfs_dup0(dbs->v[i].description);
		r->updated_at = mbfs_dup0(dbs->v[i].updated_at);
		r->name_only = !dbs->v[i].native_write;
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

/* One name of a local listing. Lock held. */
static bool local_add(struct mbfs_tree *t, struct mbfs_node *dir,
		      struct mbfs_dirent *ents, size_t *k, enum mbfs_kind kind,
		      enum mbfs_fmt fmt, uint64_t id, char *name)
{
	struct mbfs_node *n = name ? node_get(t, kind, fmt, (int64_t)id) : NULL;
	if (!n) {
		free(name);
		return false;
	}
	n->db_id = dir->id;
	node_add_parent(n, dir);
	ents[*k].name = name;
	ents[*k].node = n;
	(*k)++;
	return true;
}

static char *cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* queries/<db>/: the store's names, rebuilt when its version changed.
 * Local: never waits. Lock held. */
static enum mbfs_status local_listing(struct mbfs_tree *t,
				      struct mbfs_node *dir,
				      struct mbfs_err *err)
{
	uint64_t ver = t->queries ? mbfs_queries_version(t->queries) : 0;
	if (dir->listing_ok && dir->local_version == ver)
		return MBFS_OK;
	struct mbfs_qent *v = NULL;
	size_t n = 0;
	if (t->queries) {
		enum mbfs_status st = mbfs_queries_list(t->queries, dir->id, &v,
							&n, err);
		if (st != MBFS_OK)
			return st;
	}
	size_t per = 1 + (size_t)t->n_formats;
	struct mbfs_dirent *ents = calloc(n * per + 1, sizeof *ents);
	size_t k = 0;
	bool ok = ents != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		const struct mbfs_qstat *q = &v[i].st;
		if (q->temp) {
			ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_TEMP,
				       MBFS_FMT_NONE, q->id, strdup(v[i].name));
			continue;
		}
		ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_SQL, MBFS_FMT_SQL,
			       q->id, strdup(v[i].name));
		char *base = ok ? mbfs_tree_query_base(v[i].name) : NULL;
		ok = ok && base;
		for (int f = 0; ok && f < t->n_formats; f++)
			ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_FILE,
				       t->formats[f], q->id,
				       cat2(base, mbfs_fmt_ext(t->formats[f])));
		free(base);
	}
	mbfs_queries_free_list(v, n);
	if (!ok) {
		entries_free(ents, k);
		return oom(err);
	}
	qsort(ents, k, sizeof *ents, dirent_cmp);
	report_gone(t, dir, dir->entries, dir->n_entries, ents, k);
	entries_free(dir->entries, dir->n_entries);
	free(dir->order);
	dir->order = NULL;
	dir->entries = ents;
	dir->n_entries = k;
	dir->listing_ok = true;
	dir->local_version = ver;
	dir->fetched_at = mbfs_mono_now();
	return MBFS_OK;
}

/* ---- parameters in names and public links (DESIGN.md §1) ----------------- */

/*
 * Identities that are not Metabase integers — a public link's uuid, a
 * parameter set — get ids from this registry: one sequential id per
 * distinct (space, string), never reused during the mount. Collision-free
 * by construction: the hash only picks a chain, strings are compared
 * whole. Lock held.
 */
enum strid_space { SID_PUBLIC_CARD = 1, SID_PUBLIC_DASHBOARD, SID_PARAMS };

#define STRID_MAX (1 << 18)    /* distinct strings per mount */

struct strid {
	struct mbfs_map_item item;  /* in t->sids[space], keyed by s */
	int64_t id;
	char s[];
};

static void strid_free_all(struct mbfs_tree *t)
{
	for (size_t k = 0; k < sizeof t->sids / sizeof t->sids[0]; k++) {
		struct mbfs_map_iter i;
		for (struct mbfs_map_item *it = mbfs_map_first(&t->sids[k], &i);
		     it; it = mbfs_map_next(&i))
			free(MBFS_MAP_ENTRY(it, struct strid, item));
		mbfs_map_destroy(&t->sids[k]);
	}
	t->sid_n = 0;
}

/* The id of (space, s), assigned on first sight; 0 when out of memory or
 * past STRID_MAX. */
static int64_t strid_get(struct mbfs_tree *t, enum strid_space space,
			 const char *s)
{
	struct mbfs_map *m = &t->sids[space];
	struct mbfs_map_item *it = mbfs_map_get(m, s);
	if (it)
		return MBFS_MAP_ENTRY(it, struct strid, item)->id;
	if (t->sid_n >= STRID_MAX)
		return 0;
	size_t l = strlen(s);
	struct strid *e = malloc(sizeof *e + l + 1);
	if (!e)
		return 0;
	memcpy(e->s, s, l + 1);
	if (!mbfs_map_put(m, &e->item, e->s)) {
		free(e);
		return 0;
	}
	e->id = ++t->sid_next;
	t->sid_n++;
	return e->id;
}

/* strid_get from a builder (no lock held). */
static int64_t strid_locked(struct mbfs_tree *t, enum strid_space space,
			    const char *s)
{
	pthread_mutex_lock(&t->lock);
	int64_t id = strid_get(t, space, s);
	pthread_mutex_unlock(&t->lock);
	return id;
}

/* A public link's uuid as Metabase writes it: 8-4-4-4-12 lower-case hex
 * digits (the only form the newer servers accept; it is also safe in a
 * URL path). */
static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* public/: card/ and dashboard/. */
static enum mbfs_status build_public(struct mbfs_tree *t, struct protos *p,
				     struct mbfs_err *err)
{
	(void)t;
	if (!add_fixed_dir(p, MBFS_K_PUBLIC_CARDS_DIR, 0, "card") ||
	    !add_fixed_dir(p, MBFS_K_PUBLIC_DASHBOARDS_DIR, 0, "dashboard"))
		return oom(err);
	return MBFS_OK;
}

/*
 * public/card/ and public/dashboard/: the objects shared by public link
 * that an admin can see (GET /api/card/public, /api/dashboard/public);
 * empty for other users and with -o public (no credentials). Any uuid
 * can still be looked up (mbfs_tree_find_unlisted).
 */
static enum mbfs_status build_public_list(struct mbfs_tree *t,
					  const struct mbfs_node *dir,
					  struct protos *p,
					  struct mbfs_err *err)
{
	bool cards = dir->kind == MBFS_K_PUBLIC_CARDS_DIR;
	if (t->opts->public_only || !t->client->ops->public_list)
		return MBFS_OK;
	const struct mbfs_meta_snap *me = NULL;
	struct mbfs_err e;
	bool admin = false;
	if (mbfs_meta_get(t->meta, MBFS_META_CURRENT_USER, 0, 0, &me, &e) == MBFS_OK)
		admin = me->u.user.is_superuser;
	else
		mbfs_warn("current user unavailable, public/ lists nothing: %s", e.msg);
	mbfs_meta_put(t->meta, me);
	if (!admin)
		return MBFS_OK;
	struct mb_public_list l = {0};
	enum mbfs_status st = t->client->ops->public_list(
		t->client, cards ? MB_PUBLIC_CARDS : MB_PUBLIC_DASHBOARDS, &l, err);
	if (st == MBFS_ERR_DENIED ||
	    (st == MBFS_ERR_HTTP && err->http_status == 400)) {
		/* not an admin after all, or public sharing is off: nothing
		 * is shared */
		mbfs_debug("no public links listed: %s", err->msg);
		mbfs_err_clear(err);
		return MBFS_OK;
	}
	for (size_t i = 0; i < l.n && st == MBFS_OK; i++) {
		const struct mb_public_item *it = &l.v[i];
		struct proto *r = protos_add(p);
		if (!r) {
			st = oom(err);
			break;
		}
		r->kind = cards ? MBFS_K_PUBLIC_CARD_FILE : MBFS_K_PUBLIC_DASHBOARD;
		r->id = strid_locked(t, cards ? SID_PUBLIC_CARD : SID_PUBLIC_DASHBOARD,
				     it->uuid);
		r->rank = cards ? 2 : 1;
		r->model = cards ? MB_MODEL_CARD : MB_MODEL_DASHBOARD;
		r->uuid = strdup(it->uuid);
		r->raw_name = strdup(it->uuid); /* named by the link */
		if (cards)
			r->card_id = it->id;
		else
			r->dashboard_id = it->id;
		if (cards)
			add_file_formats(t, r);
		if (!r->id || !r->uuid || !r->raw_name)
			st = oom(err);
	}
	mb_public_list_free(&l);
	return st;
}

/* public/dashboard/<uuid>/: its dashcards (all tabs in one directory),
 * from GET /api/public/dashboard/:uuid, sent without credentials. */
static enum mbfs_status build_public_dashboard(struct mbfs_tree *t,
					       const struct mbfs_node *dir,
					       struct protos *p,
					       struct mbfs_err *err)
{
	if (!t->client->ops->public_dashboard)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "no public links in this client");
	struct mb_dashboard d;
	memset(&d, 0, sizeof d);
	enum mbfs_status st = t->client->ops->public_dashboard(t->client,
							       dir->uuid, &d, err);
	if (st != MBFS_OK)
		return st;
	p->keep_order = true;
	for (size_t i = 0; i < d.n_dashcards && st == MBFS_OK; i++) {
		const struct mb_dashcard *dc = &d.dashcards[i];
		if (!dashcard_shown(dc))
			continue;
		if (!add_dashcard(t, p, &d, dc)) {
			st = oom(err);
			break;
		}
		struct proto *r = &p->v[p->n - 1];
		r->kind = MBFS_K_PUBLIC_DASHCARD_FILE;
		r->uuid = strdup(dir->uuid);
		if (!r->uuid)
			st = oom(err);
	}
	mb_dashboard_free(&d);
	return st;
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

/* Parameters on a file of dir: "<listed file>?<query>" (lock held). The
 * listed name may itself hold a '?': the first split whose left part is a
 * card or dashcard file of dir wins. */
static enum mbfs_status find_param_file(struct mbfs_tree *t,
					struct mbfs_node *dir, const char *name,
					struct mbfs_node **out,
					struct mbfs_err *err)
{
	enum mbfs_status st = ensure_listing(t, dir, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_node *base = NULL;
	const char *q = NULL;
	for (const char *m = strchr(name, '?'); m && !base; m = strchr(m + 1, '?')) {
		size_t blen = (size_t)(m - name);
		char base_name[MBFS_NAME_MAX + 1];
		if (blen == 0 || blen > MBFS_NAME_MAX)
			continue;
		memcpy(base_name, name, blen);
		base_name[blen] = '\0';
		struct mbfs_dirent *hit = entry_find(dir, base_name);
		if (hit && (hit->node->kind == MBFS_K_CARD_FILE ||
			    hit->node->kind == MBFS_K_DASHCARD_FILE ||
			    hit->node->kind == MBFS_K_PUBLIC_DASHCARD_FILE)) {
			base = hit->node;
			q = m + 1;
		}
	}
	if (!base)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "no card or dashcard file named like that");
	if (!base->param_defs)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "this file has no parameters");
	struct mb_param_args args;
	st = mbfs_params_parse(q, &args, err);
	if (st != MBFS_OK)
		return st == MBFS_ERR_INVALID ? MBFS_ERR_NOT_FOUND : st;
	char *req = NULL;
	st = mb_json_param_request(base->param_defs, base->params, &args,
				   base->kind != MBFS_K_CARD_FILE, &req, err);
	mb_param_args_free(&args);
	if (st != MBFS_OK)
		return st;
	/* one node per (file, parameters sent): names that differ only in
	 * order or escaping are the same file */
	size_t kl = strlen(req) + 32;
	char *key = malloc(kl);
	if (!key) {
		free(req);
		return oom(err);
	}
	snprintf(key, kl, "%" PRIu64 "|%s", base->ino, req);
	int64_t id = strid_get(t, SID_PARAMS, key);
	free(key);
	struct mbfs_node *n = id ? node_get(t, MBFS_K_PARAM_FILE, base->fmt, id)
				 : NULL;
	if (!n) {
		free(req);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
				    "out of memory (or more than %d parameter sets in this mount)",
				    STRID_MAX);
	}
	if (!n->base) {
		n->base = base;
		n->params = req;
		req = NULL;
		n->lookup_name = strdup(name);
		node_add_parent(n, dir);
	}
	free(req);
	/* what the base file says of itself now */
	n->model = base->model;
	n->db_id = base->db_id;
	n->dashboard_id = base->dashboard_id;
	n->card_id = base->card_id;
	n->mtime = base->mtime;
	set_str(&n->raw_name, base->raw_name);
	set_str(&n->description, base->description);
	set_str(&n->updated_at, base->updated_at);
	set_str(&n->param_defs, base->param_defs);
	if (base->uuid)
		set_str(&n->uuid, base->uuid);
	*out = n;
	return MBFS_OK;
}

/* public/card/<uuid>.<fmt> (lock held). Whether the link exists shows
 * when the file is materialized (fs.c: ENOENT for a 404). */
static enum mbfs_status find_public_card(struct mbfs_tree *t,
					 struct mbfs_node *dir, const char *name,
					 struct mbfs_node **out,
					 struct mbfs_err *err)
{
	const char *dot = strrchr(name, '.');
	enum mbfs_fmt fmt = dot ? mbfs_fmt_parse(dot + 1) : MBFS_FMT_NONE;
	bool mounted = false;
	for (int i = 0; i < t->n_formats; i++)
		mounted = mounted || t->formats[i] == fmt;
	if (!dot || !mounted || !is_uuid(name, (size_t)(dot - name)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "not <uuid>.<format>");
	char uuid[37];
	memcpy(uuid, name, 36);
	uuid[36] = '\0';
	int64_t id = strid_get(t, SID_PUBLIC_CARD, uuid);
	struct mbfs_node *n = id ? node_get(t, MBFS_K_PUBLIC_CARD_FILE, fmt, id)
				 : NULL;
	if (!n || (!n->uuid && !(n->uuid = strdup(uuid))))
		return oom(err);
	if (!n->raw_name)
		n->raw_name = strdup(uuid);
	n->model = MB_MODEL_CARD;
	if (!n->lookup_name)
		n->lookup_name = strdup(name);
	node_add_parent(n, dir);
	*out = n;
	return MBFS_OK;
}

/* public/dashboard/<uuid> (lock held): exists when its listing does. */
static enum mbfs_status find_public_dashboard(struct mbfs_tree *t,
					      struct mbfs_node *dir,
					      const char *name,
					      struct mbfs_node **out,
					      struct mbfs_err *err)
{
	if (!is_uuid(name, strlen(name)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "not a uuid");
	int64_t id = strid_get(t, SID_PUBLIC_DASHBOARD, name);
	struct mbfs_node *n = id ? node_get(t, MBFS_K_PUBLIC_DASHBOARD,
					    MBFS_FMT_NONE, id)
				 : NULL;
	if (!n || (!n->uuid && !(n->uuid = strdup(name))))
		return oom(err);
	if (!n->raw_name)
		n->raw_name = strdup(name);
	n->model = MB_MODEL_DASHBOARD;
	if (!n->lookup_name)
		n->lookup_name = strdup(name);
	node_add_parent(n, dir);
	enum mbfs_status st = ensure_listing(t, n, err);
	if (st != MBFS_OK)
		return st;
	*out = n;
	return MBFS_OK;
}

enum mbfs_status mbfs_tree_find_unlisted(struct mbfs_tree *t,
					 struct mbfs_node *dir,
					 const char *name,
					 struct mbfs_node **out,
					 struct mbfs_err *err)
{
	enum mbfs_status st;
	pthread_mutex_lock(&t->lock);
	switch (dir->kind) {
	case MBFS_K_PUBLIC_CARDS_DIR:
		st = find_public_card(t, dir, name, out, err);
		break;
	case MBFS_K_PUBLIC_DASHBOARDS_DIR:
		st = find_public_dashboard(t, dir, name, out, err);
		break;
	case MBFS_K_CARDS_DIR:
	case MBFS_K_COLLECTION:
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID:
	case MBFS_K_PUBLIC_DASHBOARD:
		if (mbfs_params_query(name)) {
			st = find_param_file(t, dir, name, out, err);
			break;
		}
		/* fall through */
	default:
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no such file");
		break;
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}
