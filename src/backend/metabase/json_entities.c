/*
 * json_entities.c — owns the decoding of Metabase objects into the plain
 * structs of mb_types.h: cards, collections, databases, tables,
 * users, dashboards (with tabs and dashcards), session properties and the
 * session id, and the descriptors the list stream decodes elements with.
 * See mb_json.h for the contract and json.c for the helpers.
 *
 * Elements of a list whose id is unusable are skipped; a single object
 * without a usable id is a protocol error. Dashcards are returned sorted
 * by (tab position, row, col), ties keeping the server's order; dashcards
 * whose tab is unknown come after every tab.
 */
#include "json_internal.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The element destructors as list decoders call them. */
#define CLEAR_FN(name, type, destructor)                                      \
	static void name(void *p)                                             \
	{                                                                     \
		destructor((type *)p);                                        \
	}
CLEAR_FN(card_clear, struct mb_card, mb_card_free)
CLEAR_FN(collection_clear, struct mb_collection, mb_collection_free)
CLEAR_FN(database_clear, struct mb_database, mb_database_free)
CLEAR_FN(table_clear, struct mb_table, mb_table_free)
CLEAR_FN(user_clear, struct mb_user, mb_user_free)
CLEAR_FN(dashboard_clear, struct mb_dashboard, mb_dashboard_free)
CLEAR_FN(properties_clear, struct mb_properties, mb_properties_free)

static const char *const ts_object[] = {"updated_at", "created_at", NULL};

/*
 * Native-ness and SQL text of a card object: query_type, then the legacy
 * dataset_query {type:"native", native:{query}}, then MBQL 5
 * dataset_query.stages[0] {"lib/type":"mbql.stage/native", native}.
 */
static bool card_native(struct json_object *card, struct json_object **sql)
{
	struct json_object *dq = mbj_get(card, "dataset_query");
	struct json_object *q = NULL;
	bool native = mbj_str_eq(mbj_get(card, "query_type"), "native");
	if (mbj_str_eq(mbj_get(dq, "type"), "native"))
		native = true;
	struct json_object *legacy = mbj_get(mbj_get(dq, "native"), "query");
	if (mbj_is(legacy, json_type_string))
		q = legacy;
	struct json_object *st0 = mbj_idx(mbj_get(dq, "stages"), 0);
	if (mbj_str_eq(mbj_get(st0, "lib/type"), "mbql.stage/native"))
		native = true;
	struct json_object *mbql5 = mbj_get(st0, "native");
	if (!q && mbj_is(mbql5, json_type_string))
		q = mbql5;
	if (q)
		native = true;
	if (sql)
		*sql = q;
	return native;
}

/* A card object's kind: `type` (v0.49+), else the boolean `dataset`. */
static enum mb_model card_model(struct json_object *o)
{
	struct json_object *type = mbj_get(o, "type");
	if (mbj_str_eq(type, "question"))
		return MB_MODEL_CARD;
	if (mbj_str_eq(type, "model"))
		return MB_MODEL_DATASET;
	if (mbj_str_eq(type, "metric"))
		return MB_MODEL_METRIC;
	return mbj_bool(mbj_get(o, "dataset"), false) ? MB_MODEL_DATASET
						  : MB_MODEL_CARD;
}

static bool dec_card(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_card *c = p;
	if (!mbj_object_id(o, &c->id))
		return false;
	c->name = mbj_str(d, mbj_get(o, "name"));
	c->description = mbj_str(d, mbj_get(o, "description"));
	c->model = card_model(o);
	c->collection_id = mbj_id0(mbj_get(o, "collection_id"));
	c->dashboard_id = mbj_id0(mbj_get(o, "dashboard_id"));
	c->database_id = mbj_id0(mbj_get(o, "database_id"));
	c->table_id = mbj_id0(mbj_get(o, "table_id"));
	c->archived = mbj_bool(mbj_get(o, "archived"), false);
	struct json_object *sql = NULL;
	c->native = card_native(o, &sql);
	c->native_sql = mbj_tstr(d, sql);
	c->updated_at = mbj_first_tstr(d, o, ts_object);
	c->entity_id = mbj_tstr(d, mbj_get(o, "entity_id"));
	c->param_defs = mbj_card_param_defs(d, o);
	c->public_uuid = mbj_tstr(d, mbj_get(o, "public_uuid"));
	return true;
}

static bool dec_collection(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_collection *c = p;
	if (!mbj_object_id(o, &c->id))
		return false;
	c->name = mbj_str(d, mbj_get(o, "name"));
	c->description = mbj_str(d, mbj_get(o, "description"));
	c->location = mbj_tstr(d, mbj_get(o, "location"));
	c->personal_owner_id = mbj_id0(mbj_get(o, "personal_owner_id"));
	c->archived = mbj_bool(mbj_get(o, "archived"), false);
	c->namespace_ = mbj_tstr(d, mbj_get(o, "namespace"));
	c->type = mbj_tstr(d, mbj_get(o, "type"));
	c->updated_at = mbj_first_tstr(d, o, ts_object);
	return true;
}

static bool dec_database(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_database *db = p;
	if (!mbj_object_id(o, &db->id))
		return false;
	db->name = mbj_str(d, mbj_get(o, "name"));
	db->description = mbj_str(d, mbj_get(o, "description"));
	db->engine = mbj_tstr(d, mbj_get(o, "engine"));
	db->updated_at = mbj_first_tstr(d, o, ts_object);
	db->native_write = mbj_str_eq(mbj_get(o, "native_permissions"), "write");
	return true;
}

static bool dec_table(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_table *t = p;
	if (!mbj_object_id(o, &t->id))
		return false;
	if (!mbj_id(mbj_get(o, "db_id"), &t->db_id))
		t->db_id = mbj_id0(mbj_get(mbj_get(o, "db"), "id"));
	t->name = mbj_str(d, mbj_get(o, "name"));
	t->display_name = mbj_str(d, mbj_get(o, "display_name"));
	t->schema = mbj_str(d, mbj_get(o, "schema"));
	if (!t->schema)
		t->schema = mbj_dup_cstr(d, "");
	t->description = mbj_str(d, mbj_get(o, "description"));
	t->updated_at = mbj_first_tstr(d, o, ts_object);
	t->active = mbj_bool(mbj_get(o, "active"), true);
	t->hidden = mbj_get(o, "visibility_type") != NULL;
	return true;
}

static bool nonempty_str(struct json_object *v)
{
	size_t n;
	const char *s = mbj_sval(v, &n);
	return s && n > 0 && s[0] != '\0';
}

static bool dec_user(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_user *u = p;
	if (!mbj_object_id(o, &u->id))
		return false;
	u->email = mbj_tstr(d, mbj_get(o, "email"));
	struct json_object *cn = mbj_get(o, "common_name");
	struct json_object *fn = mbj_get(o, "first_name");
	struct json_object *ln = mbj_get(o, "last_name");
	if (nonempty_str(cn)) {
		u->common_name = mbj_tstr(d, cn);
	} else if (nonempty_str(fn) && nonempty_str(ln)) {
		const char *f = json_object_get_string(fn);
		const char *l = json_object_get_string(ln);
		size_t fl = strlen(f), ll = strlen(l);
		char *s = malloc(fl + ll + 2);
		if (!s) {
			d->oom = true;
		} else {
			memcpy(s, f, fl);
			s[fl] = ' ';
			memcpy(s + fl + 1, l, ll + 1);
			u->common_name = s;
		}
	} else if (nonempty_str(fn)) {
		u->common_name = mbj_tstr(d, fn);
	} else if (nonempty_str(ln)) {
		u->common_name = mbj_tstr(d, ln);
	} else if (u->email) {
		u->common_name = mbj_dup_cstr(d, u->email);
	}
	u->is_superuser = mbj_bool(mbj_get(o, "is_superuser"), false);
	u->personal_collection_id = mbj_id0(mbj_get(o, "personal_collection_id"));
	return true;
}

/*
 * The export's `parameters`: every dashboard parameter with a non-null
 * default, as {"id","type","value"[,"target"]}, serialized compactly.
 */
static char *default_parameters(struct mbj_dec *d, struct json_object *dash)
{
	struct json_object *params = mbj_get(dash, "parameters");
	struct json_object *arr = mbj_new_array(d);
	char *res = NULL;
	if (!arr)
		return NULL;
	for (size_t i = 0; i < mbj_len(params); i++) {
		struct json_object *p = mbj_idx(params, i);
		struct json_object *def = mbj_get(p, "default");
		if (!mbj_is(p, json_type_object) || !def)
			continue;
		struct json_object *e = json_object_new_object();
		if (!e || json_object_array_add(arr, e) != 0) {
			json_object_put(e);
			d->oom = true;
			goto out;
		}
		struct json_object *target = mbj_get(p, "target");
		struct {
			const char *key;
			struct json_object *val;
		} kv[] = {{"id", mbj_get(p, "id")},
			  {"type", mbj_get(p, "type")},
			  {"value", def},
			  {"target", target}};
		for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
			if (k == 3 && !target)
				break;
			json_object_get(kv[k].val);
			if (json_object_object_add(e, kv[k].key, kv[k].val) != 0) {
				json_object_put(kv[k].val);
				d->oom = true;
				goto out;
			}
		}
	}
	res = mbj_to_text(d, arr);
out:
	json_object_put(arr);
	return res;
}

/* Dashboard fields shared by list entries and full dashboards. */
static bool dec_dashboard_base(struct mbj_dec *d, struct json_object *o, void *p)
{
	static const char *const ts[] = {"updated_at", "created_at", NULL};
	struct mb_dashboard *db = p;
	if (!mbj_object_id(o, &db->id))
		return false;
	db->name = mbj_str(d, mbj_get(o, "name"));
	db->description = mbj_str(d, mbj_get(o, "description"));
	db->collection_id = mbj_id0(mbj_get(o, "collection_id"));
	db->archived = mbj_bool(mbj_get(o, "archived"), false);
	db->updated_at = mbj_first_tstr(d, o, ts);
	db->default_parameters = default_parameters(d, o);
	return true;
}

/* A tab and its place in the server's order (the element first: sort_out). */
struct tab_sort {
	struct mb_dashboard_tab tab;
	size_t idx;
};

static int tab_cmp(const void *a, const void *b)
{
	const struct tab_sort *x = a, *y = b;
	if (x->tab.position != y->tab.position)
		return x->tab.position < y->tab.position ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A dashcard and its sort keys (the element first: sort_out). */
struct dc_sort {
	struct mb_dashcard dc;
	size_t tab_rank, idx;
	int64_t row, col;
};

static int dc_cmp(const void *a, const void *b)
{
	const struct dc_sort *x = a, *y = b;
	if (x->tab_rank != y->tab_rank)
		return x->tab_rank < y->tab_rank ? -1 : 1;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Sort k wrapped elements (each wrapper of wsz bytes begins with its
 * element of esz bytes) with cmp, and move the elements into a new array
 * (NULL when k is 0); when that fails, or with d->oom, drop each element
 * instead. Frees the wrappers.
 */
static void *sort_out(struct mbj_dec *d, void *wrapped, size_t k, size_t wsz,
		      int (*cmp)(const void *, const void *), size_t esz,
		      void (*drop)(void *el))
{
	char *w = wrapped, *v = NULL;
	if (k > 0 && !d->oom) {
		qsort(w, k, wsz, cmp);
		v = mbj_calloc(d, k, esz);
	}
	for (size_t i = 0; i < k; i++) {
		if (v)
			memcpy(v + i * esz, w + i * wsz, esz);
		else
			drop(w + i * wsz);
	}
	free(w);
	return v;
}

static void tab_drop(void *p)
{
	free(((struct mb_dashboard_tab *)p)->name);
}

static void dashcard_drop(void *p)
{
	mb_dashcard_free(p);
}

/* The array under key, else under its name before v0.48. */
static struct json_object *array_or_old(struct json_object *o, const char *key,
					const char *old)
{
	struct json_object *arr = mbj_get(o, key);
	return mbj_is(arr, json_type_array) ? arr : mbj_get(o, old);
}

static void dec_tabs(struct mbj_dec *d, struct json_object *o,
		     struct mb_dashboard *db)
{
	struct json_object *arr = array_or_old(o, "tabs", "ordered_tabs");
	size_t n = mbj_len(arr), k = 0;
	struct tab_sort *ts = n ? mbj_calloc(d, n, sizeof *ts) : NULL;
	if (!ts)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = mbj_idx(arr, i);
		int64_t id;
		if (!mbj_object_id(t, &id))
			continue;
		ts[k].tab.id = id;
		ts[k].tab.name = mbj_str(d, mbj_get(t, "name"));
		ts[k].tab.position = mbj_int(mbj_get(t, "position"), (int64_t)i);
		ts[k].idx = i;
		k++;
	}
	db->tabs = sort_out(d, ts, k, sizeof *ts, tab_cmp, sizeof *db->tabs,
			    tab_drop);
	db->n_tabs = db->tabs ? k : 0;
}

static size_t tab_rank(const struct mb_dashboard *db, int64_t tab_id)
{
	for (size_t i = 0; i < db->n_tabs; i++)
		if (db->tabs[i].id == tab_id)
			return i;
	return db->n_tabs;
}

static void dec_dashcard(struct mbj_dec *d, struct json_object *o,
			 struct mb_dashcard *dc)
{
	struct json_object *card = mbj_get(o, "card");
	if (mbj_has(o, "card_id"))
		dc->card_id = mbj_id0(mbj_get(o, "card_id"));
	else
		dc->card_id = mbj_id0(mbj_get(card, "id"));
	dc->tab_id = mbj_id0(mbj_get(o, "dashboard_tab_id"));
	if (mbj_is(card, json_type_object)) {
		dc->card_name = mbj_str(d, mbj_get(card, "name"));
		dc->card_description = mbj_str(d, mbj_get(card, "description"));
		dc->card_native = card_native(card, NULL);
		dc->card_archived = mbj_bool(mbj_get(card, "archived"), false);
		if (dc->card_name) {
			dc->card_model = card_model(card);
			dc->updated_at = mbj_first_tstr(d, card, ts_object);
		}
	}
	if (!dc->updated_at)
		dc->updated_at = mbj_first_tstr(d, o, ts_object);
	struct json_object *title =
		mbj_get(mbj_get(o, "visualization_settings"), "card.title");
	if (nonempty_str(title))
		dc->title = mbj_tstr(d, title);
}

static void dec_dashcards(struct mbj_dec *d, struct json_object *o,
			  struct mb_dashboard *db)
{
	struct json_object *arr = array_or_old(o, "dashcards", "ordered_cards");
	size_t n = mbj_len(arr), k = 0;
	struct dc_sort *ds = n ? mbj_calloc(d, n, sizeof *ds) : NULL;
	if (!ds)
		return;
	for (size_t i = 0; i < n && !d->oom; i++) {
		struct json_object *e = mbj_idx(arr, i);
		int64_t id;
		if (!mbj_object_id(e, &id))
			continue;
		ds[k].dc.id = id;
		dec_dashcard(d, e, &ds[k].dc);
		ds[k].dc.param_defs = mbj_dashcard_param_defs(
			d, mbj_get(o, "parameters"), e, ds[k].dc.card_id);
		ds[k].tab_rank = tab_rank(db, ds[k].dc.tab_id);
		ds[k].row = mbj_int(mbj_get(e, "row"), 0);
		ds[k].col = mbj_int(mbj_get(e, "col"), 0);
		ds[k].idx = i;
		k++;
	}
	db->dashcards = sort_out(d, ds, k, sizeof *ds, dc_cmp,
				 sizeof *db->dashcards, dashcard_drop);
	db->n_dashcards = db->dashcards ? k : 0;
}

enum mbfs_status mb_json_session_id(const char *buf, size_t len, char *out,
				    size_t outsz, struct mbfs_err *err)
{
	struct json_object *root;
	if (!out || outsz == 0)
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "session: no output buffer");
	out[0] = '\0';
	/* never echo this body: it may hold a (partial) session key */
	enum mbfs_status st = mbj_parse(buf, len, "session", false, &root, err);
	if (st != MBFS_OK)
		return st;
	size_t n;
	const char *id = mbj_sval(mbj_get(root, "id"), &n);
	if (!mbj_is(root, json_type_object) ||
	    (!id && mbj_error_object(root, NULL, 0))) {
		st = mbj_shape_error(root, "session", "a JSON object", err);
	} else if (!id || n == 0 || strlen(id) != n) {
		st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				  "session: the response has no session id");
	} else if (n >= outsz) {
		st = mbfs_err_set(err, MBFS_ERR_RANGE, 0,
				  "session: id of %zu bytes does not fit", n);
	} else {
		memcpy(out, id, n + 1);
	}
	json_object_put(root);
	return st;
}

static bool dec_properties(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_properties *pr = p;
	if (!mbj_get(o, "version") && mbj_error_object(o, NULL, 0))
		return false;
	pr->version_tag = mbj_tstr(d, mbj_get(mbj_get(o, "version"), "tag"));
	pr->site_name = mbj_str(d, mbj_get(o, "site-name"));
	pr->password_login_enabled =
		mbj_bool(mbj_get(o, "enable-password-login"), true);
	return true;
}

enum mbfs_status mb_json_properties(const char *buf, size_t len,
				    struct mb_properties *out,
				    struct mbfs_err *err)
{
	return mbj_decode_one(buf, len, "session properties", dec_properties,
			      properties_clear, out, sizeof *out, err);
}

enum mbfs_status mb_json_user(const char *buf, size_t len, struct mb_user *out,
			      struct mbfs_err *err)
{
	return mbj_decode_one(buf, len, "user", dec_user, user_clear, out,
			      sizeof *out, err);
}

static bool dec_string(struct mbj_dec *d, struct json_object *o, void *p)
{
	char **s = p;
	if (!o) {
		*s = mbj_dup_cstr(d, "");
		return true;
	}
	*s = mbj_str(d, o);
	return *s != NULL;
}

static void string_clear(void *p)
{
	char **s = p;
	free(*s);
	*s = NULL;
}

enum mbfs_status mb_json_string_list(const char *buf, size_t len,
				     struct mb_string_list *out,
				     struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = mbj_decode_many(buf, len, "string list",
					      sizeof *out->v, dec_string,
					      string_clear, &v, &out->n, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_table_list(const char *buf, size_t len,
				    struct mb_table_list *out,
				    struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = mbj_decode_many(buf, len, "table list",
					      sizeof *out->v, dec_table,
					      table_clear, &v, &out->n, err);
	out->v = v;
	return st;
}

static bool dec_dashboard(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_dashboard *db = p;
	if (!dec_dashboard_base(d, o, db))
		return false;
	dec_tabs(d, o, db);
	dec_dashcards(d, o, db);
	return true;
}

enum mbfs_status mb_json_dashboard(const char *buf, size_t len,
				   struct mb_dashboard *out,
				   struct mbfs_err *err)
{
	return mbj_decode_one(buf, len, "dashboard", dec_dashboard,
			      dashboard_clear, out, sizeof *out, err);
}

static const struct mbj_list_desc list_descs[] = {
	[MB_JSON_LIST_CARDS] = {"card list", sizeof(struct mb_card), dec_card,
				card_clear},
	[MB_JSON_LIST_COLLECTIONS] = {"collection list",
				      sizeof(struct mb_collection),
				      dec_collection, collection_clear},
	[MB_JSON_LIST_DASHBOARDS] = {"dashboard list",
				     sizeof(struct mb_dashboard),
				     dec_dashboard_base, dashboard_clear},
	[MB_JSON_LIST_DATABASES] = {"database list",
				    sizeof(struct mb_database), dec_database,
				    database_clear},
	[MB_JSON_LIST_USERS] = {"user list", sizeof(struct mb_user), dec_user,
				user_clear},
};

const struct mbj_list_desc *mbj_list_desc(enum mb_json_list_kind kind)
{
	if ((size_t)kind >= sizeof list_descs / sizeof list_descs[0])
		return NULL;
	return &list_descs[kind];
}
