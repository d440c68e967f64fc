/*
 * tree_build.c — owns how each kind of directory is built: one builder per
 * kind (root, collections, collections/Personal/, cards/, dashboards/, a
 * dashboard and its tabs, databases/, a database's schemas, a schema's
 * tables, metadata/, queries/, .mbfs/, public/ and the public links) turns
 * what the client and the shared meta cache say into protos (tree_int.h),
 * the schema id registry, and the parsing of the server's timestamps. Builders run without the tree lock and may
 * BLOCK on the network; tree.c applies what they return.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tree_int.h"
#include "util.h"

struct proto *tree_build_fixed_dir(struct protos *p, enum mbfs_kind kind,
				   const char *name)
{
	struct proto *r = tree_protos_add(p);
	if (r) {
		r->kind = kind;
		r->fixed_name = name;
	}
	return r;
}

static struct proto *add_fixed_dir(struct protos *p, enum mbfs_kind kind,
				   int64_t id, const char *name)
{
	struct proto *r = tree_build_fixed_dir(p, kind, name);
	if (r)
		r->id = id;
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

enum mbfs_status tree_build_root(struct mbfs_tree *t, struct protos *p,
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
		return tree_oom(err);
	if (!t->opts->public_only &&
	    !add_fixed_dir(p, MBFS_K_QUERIES_DIR, 0, "queries"))
		return tree_oom(err);
	if (!add_fixed_dir(p, MBFS_K_PUBLIC_DIR, 0, "public") ||
	    !add_fixed_dir(p, MBFS_K_CONTROL_DIR, 0, ".mbfs"))
		return tree_oom(err);
	return MBFS_OK;
}

enum mbfs_status tree_build_control(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err)
{
	(void)t;
	static const char *const names[] = {"status", "stats", "errors",
					    "metrics", "exports"};
	for (int i = 0; i < 5; i++) {
		struct proto *r = tree_protos_add(p);
		if (!r)
			return tree_oom(err);
		r->kind = MBFS_K_CONTROL_FILE;
		r->id = i + 1;
		r->fixed_name = names[i];
		r->fmts[0] = MBFS_FMT_NONE;
		r->n_fmts = 1;
	}
	return MBFS_OK;
}

/* ---- a collection from the three bulk lists ------------------------------
 * GET /api/collection, /api/card?f=all and /api/dashboard?f=all hold every
 * object a collection listing shows, for every collection at once (each
 * already filtered by the user's permissions and without archived
 * objects), and the meta cache fetches each once per meta_ttl: a cold
 * `find` of any number of collections costs three requests, not one per
 * directory (GET /api/collection/:id/items). What the items endpoint shows
 * is rebuilt here: child collections by their effective parent (the
 * nearest ancestor the user can read, else the root), never personal
 * collections (they are under Personal/) nor other namespaces or the
 * Trash; dashboards and cards by collection_id, not archived, cards saved
 * in a dashboard left to it. */

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The ids of the collections a listing may show (sorted), for the
 * effective parents. NULL when out of memory. */
static int64_t *readable_ids(const struct mb_collection_list *cl, size_t *n)
{
	int64_t *v = malloc((cl->n ? cl->n : 1) * sizeof *v);
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < cl->n; i++)
		if (cl->v[i].id > 0 && !cl->v[i].archived)
			v[k++] = cl->v[i].id;
	qsort(v, k, sizeof *v, i64_cmp);
	*n = k;
	return v;
}

/* The nearest readable ancestor in location ("/9/10/"), else 0 (root). */
static int64_t effective_parent(const char *location, const int64_t *ids,
				size_t n)
{
	int64_t best = 0;
	for (const char *s = location; s && *s;) {
		while (*s == '/')
			s++;
		char *end;
		long long v = strtoll(s, &end, 10);
		if (end == s)
			break;
		int64_t id = (int64_t)v;
		if (bsearch(&id, ids, n, sizeof *ids, i64_cmp))
			best = id;
		s = end;
	}
	return best;
}

static bool listed_collection(const struct mb_collection *c)
{
	return c->id > 0 && !c->archived && !c->personal_owner_id &&
	       !c->namespace_ && !(c->type && strcmp(c->type, "trash") == 0);
}

static struct proto *add_object(struct protos *p, enum mbfs_kind kind,
				int rank, int64_t id, enum mb_model model,
				const char *name, const char *description,
				const char *updated_at)
{
	struct proto *r = tree_protos_add(p);
	if (!r)
		return NULL;
	r->kind = kind;
	r->rank = rank;
	r->id = id;
	r->model = model;
	r->raw_name = mbfs_dup0(name);
	r->description = mbfs_dup0(description);
	r->updated_at = mbfs_dup0(updated_at);
	return r;
}

static enum mbfs_status collection_bulk(struct mbfs_tree *t, int64_t id,
					const struct mbfs_meta_snap *colls,
					const struct mbfs_meta_snap *dashes,
					const struct mbfs_meta_snap *cards,
					struct protos *p, struct mbfs_err *err)
{
	const struct mb_collection_list *cl = &colls->u.collections;
	size_t n_ids = 0;
	int64_t *ids = readable_ids(cl, &n_ids);
	if (!ids)
		return tree_oom(err);
	bool ok = id != 0 || add_fixed_dir(p, MBFS_K_PERSONAL_DIR, 0, "Personal");
	for (size_t i = 0; ok && i < cl->n; i++) {
		const struct mb_collection *c = &cl->v[i];
		if (listed_collection(c) &&
		    effective_parent(c->location, ids, n_ids) == id)
			ok = add_object(p, MBFS_K_COLLECTION, 0, c->id,
					MB_MODEL_COLLECTION, c->name,
					c->description, c->updated_at) != NULL;
	}
	free(ids);
	const struct mb_dashboard_list *dl = &dashes->u.dashboards;
	for (size_t i = 0; ok && i < dl->n; i++) {
		const struct mb_dashboard *d = &dl->v[i];
		if (!d->archived && d->collection_id == id)
			ok = add_object(p, MBFS_K_DASHBOARD, 1, d->id,
					MB_MODEL_DASHBOARD, d->name,
					d->description, d->updated_at) != NULL;
	}
	const struct mb_card_list *kl = &cards->u.cards;
	for (size_t i = 0; ok && i < kl->n; i++) {
		const struct mb_card *c = &kl->v[i];
		if (c->archived || c->collection_id != id || c->dashboard_id)
			continue;
		struct proto *r = add_object(p, MBFS_K_CARD_FILE, 2, c->id,
					     c->model, c->name, c->description,
					     c->updated_at);
		ok = r && add_card_files(t, r, c);
	}
	return ok ? MBFS_OK : tree_oom(err);
}

enum mbfs_status tree_build_collection(struct mbfs_tree *t, int64_t id,
				       struct protos *p, struct mbfs_err *err)
{
	const struct mbfs_meta_snap *colls = NULL, *dashes = NULL, *cards = NULL;
	/* the three lists travel side by side, not one after another */
	mbfs_meta_prefetch(t->meta, MBFS_META_DASHBOARDS, 0);
	mbfs_meta_prefetch(t->meta, MBFS_META_CARDS, 0);
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_COLLECTIONS, 0,
					    0, &colls, err);
	if (st == MBFS_OK)
		st = mbfs_meta_get(t->meta, MBFS_META_DASHBOARDS, 0, 0, &dashes,
				   err);
	if (st == MBFS_OK)
		st = mbfs_meta_get(t->meta, MBFS_META_CARDS, 0, 0, &cards, err);
	if (st == MBFS_OK)
		st = collection_bulk(t, id, colls, dashes, cards, p, err);
	mbfs_meta_put(t->meta, cards);
	mbfs_meta_put(t->meta, dashes);
	mbfs_meta_put(t->meta, colls);
	return st;
}

/* collections/Personal/: one directory per readable personal collection,
 * named after its owner (GET /api/user for admins, the current user
 * otherwise; the collection's own name when the owner is unknown). */
enum mbfs_status tree_build_personal(struct mbfs_tree *t, struct protos *p,
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
		if (!add_object(p, MBFS_K_COLLECTION, 0, c->id,
				MB_MODEL_COLLECTION,
				owner && *owner ? owner : c->name,
				c->description, c->updated_at)) {
			st = tree_oom(err);
			break;
		}
	}
	mbfs_meta_put(t->meta, users);
	mbfs_meta_put(t->meta, me);
	mbfs_meta_put(t->meta, colls);
	return st;
}

enum mbfs_status tree_build_cards(struct mbfs_tree *t, struct protos *p,
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
		char idname[32]; /* cards/ names files by id */
		snprintf(idname, sizeof idname, "%" PRId64, c->id);
		struct proto *r = add_object(p, MBFS_K_CARD_FILE, 2, c->id,
					     c->model, idname, c->description,
					     c->updated_at);
		if (!r || !r->raw_name || !add_card_files(t, r, c)) {
			st = tree_oom(err);
			break;
		}
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

/* dashboards/: every readable dashboard, by id. */
enum mbfs_status tree_build_dashboards(struct mbfs_tree *t, struct protos *p,
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
		char idname[32];
		snprintf(idname, sizeof idname, "%" PRId64, d->id);
		struct proto *r = add_object(p, MBFS_K_DASHBOARD_BYID, 1, d->id,
					     MB_MODEL_DASHBOARD, idname,
					     d->description, d->updated_at);
		if (!r || !r->raw_name) {
			st = tree_oom(err);
			break;
		}
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
	struct proto *r = add_object(
		p, MBFS_K_DASHCARD_FILE, 2, dc->id, dc->card_model,
		dc->title ? dc->title : dc->card_name, dc->card_description,
		dc->updated_at ? dc->updated_at : d->updated_at);
	if (!r)
		return false;
	r->dashboard_id = d->id;
	r->card_id = dc->card_id;
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
enum mbfs_status tree_build_dashboard(struct mbfs_tree *t,
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
			struct proto *r = add_object(
				p, byid ? MBFS_K_DASHBOARD_TAB_BYID
					: MBFS_K_DASHBOARD_TAB,
				0, d->tabs[i].id, MB_MODEL_DASHBOARD,
				d->tabs[i].name, d->description, d->updated_at);
			if (!r) {
				st = tree_oom(err);
				break;
			}
			r->dashboard_id = d->id;
		}
	}
	for (size_t i = 0; i < d->n_dashcards && st == MBFS_OK; i++) {
		const struct mb_dashcard *dc = &d->dashcards[i];
		if (!dashcard_shown(dc))
			continue;
		bool here = is_tab ? (tabbed && dc->tab_id == dir->id)
				   : (!tabbed || !has_tab(d, dc->tab_id));
		if (here && !add_dashcard(t, p, d, dc))
			st = tree_oom(err);
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

/* One directory per database of the shared list: databases/ (kind
 * DATABASE), or queries/ (kind QUERY_DB), where every database goes
 * through naming (so that a name is the one databases/ gives it) and the
 * ones the user may not query natively are not listed. */
static enum mbfs_status add_databases(struct mbfs_tree *t, struct protos *p,
				      enum mbfs_kind kind,
				      struct mbfs_err *err)
{
	const struct mbfs_meta_snap *snap = NULL;
	enum mbfs_status st = mbfs_meta_get(t->meta, MBFS_META_DATABASES, 0, 0,
					    &snap, err);
	if (st != MBFS_OK)
		return st;
	const struct mb_database_list *dbs = &snap->u.databases;
	for (size_t i = 0; i < dbs->n; i++) {
		const struct mb_database *db = &dbs->v[i];
		struct proto *r = add_object(p, kind, 0, db->id,
					     MB_MODEL_DATABASE, db->name,
					     db->description, db->updated_at);
		if (!r) {
			st = tree_oom(err);
			break;
		}
		r->name_only = kind == MBFS_K_QUERY_DB && !db->native_write;
	}
	mbfs_meta_put(t->meta, snap);
	return st;
}

enum mbfs_status tree_build_databases(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err)
{
	return add_databases(t, p, MBFS_K_DATABASE, err);
}

/* A schema's id: a hash of (database, name), probed past any id another
 * schema already has, so two schemas never share a node. Takes the
 * registry's own lock (builders call it without the tree lock). */
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
	struct schema_id *v = mbfs_grow(t->schema_ids, &t->cap_schema_ids,
					 t->n_schema_ids, sizeof *v, 16);
	if (!v)
		return h;
	t->schema_ids = v;
	char *nm = strdup(name);
	if (nm)
		t->schema_ids[t->n_schema_ids++] =
			(struct schema_id){.db_id = db_id, .name = nm, .id = h};
	return h;
}

enum mbfs_status tree_build_database(struct mbfs_tree *t, int64_t db_id,
				     struct protos *p, struct mbfs_err *err)
{
	struct mb_string_list schemas = {0};
	enum mbfs_status st = t->client->ops->schemas(t->client, db_id,
						      &schemas, err);
	if (st != MBFS_OK)
		return st;
	for (size_t i = 0; i < schemas.n; i++) {
		struct proto *r = tree_protos_add(p);
		if (!r) {
			st = tree_oom(err);
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

enum mbfs_status tree_build_schema(struct mbfs_tree *t,
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
		struct proto *r = add_object(p, MBFS_K_TABLE_FILE, 3, tb->id,
					     MB_MODEL_TABLE, tb->name,
					     tb->description, tb->updated_at);
		if (!r) {
			st = tree_oom(err);
			break;
		}
		r->db_id = tb->db_id ? tb->db_id : dir->db_id;
		add_file_formats(t, r);
	}
	mb_table_list_free(&tables);
	return st;
}

/* metadata/: one JSON array per list; users.json for admins only. The
 * listing itself never fetches the lists (sizes come from the cache). */
enum mbfs_status tree_build_metadata(struct mbfs_tree *t, struct protos *p,
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
		struct proto *r = tree_protos_add(p);
		if (!r)
			return tree_oom(err);
		r->kind = MBFS_K_METADATA_FILE;
		r->id = files[i].kind;
		r->fixed_name = files[i].name;
		r->fmts[0] = MBFS_FMT_NONE;
		r->n_fmts = 1;
	}
	return MBFS_OK;
}

/* queries/: no network of its own, the shared database list. */
enum mbfs_status tree_build_queries(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err)
{
	return add_databases(t, p, MBFS_K_QUERY_DB, err);
}

/* public/: card/ and dashboard/. */
enum mbfs_status tree_build_public(struct mbfs_tree *t, struct protos *p,
				   struct mbfs_err *err)
{
	(void)t;
	if (!add_fixed_dir(p, MBFS_K_PUBLIC_CARDS_DIR, 0, "card") ||
	    !add_fixed_dir(p, MBFS_K_PUBLIC_DASHBOARDS_DIR, 0, "dashboard"))
		return tree_oom(err);
	return MBFS_OK;
}

/*
 * public/card/ and public/dashboard/: the objects shared by public link
 * that an admin can see (GET /api/card/public, /api/dashboard/public);
 * empty for other users and with -o public (no credentials). Any uuid
 * can still be looked up (mbfs_tree_find_unlisted).
 */
enum mbfs_status tree_build_public_list(struct mbfs_tree *t,
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
		struct proto *r = tree_protos_add(p);
		if (!r) {
			st = tree_oom(err);
			break;
		}
		r->kind = cards ? MBFS_K_PUBLIC_CARD_FILE : MBFS_K_PUBLIC_DASHBOARD;
		r->id = tree_strid_locked(t, cards ? SID_PUBLIC_CARD : SID_PUBLIC_DASHBOARD,
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
			st = tree_oom(err);
	}
	mb_public_list_free(&l);
	return st;
}

/* public/dashboard/<uuid>/: its dashcards (all tabs in one directory),
 * from GET /api/public/dashboard/:uuid, sent without credentials. */
enum mbfs_status tree_build_public_dashboard(struct mbfs_tree *t,
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
			st = tree_oom(err);
			break;
		}
		struct proto *r = &p->v[p->n - 1];
		r->kind = MBFS_K_PUBLIC_DASHCARD_FILE;
		r->uuid = strdup(dir->uuid);
		if (!r->uuid)
			st = tree_oom(err);
	}
	mb_dashboard_free(&d);
	return st;
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
