/*
 * test_mb_json.c — decoding of Metabase bodies (json*.c, mb_json.h): the
 * recorded responses in $MBFS_SAMPLES, the fixtures in $MBFS_TEST_DATA/json
 * and hostile inputs (wrong types, nulls, truncation, mutation, deep
 * nesting, non-UTF-8 names, oversized bodies), plus error-body detection
 * and quoting. Lists (GET /api/card and the others meta_cache.c fetches) go
 * through the decoder production runs on them, mb_json_stream; a single
 * card or collection object is decoded as the one element of such a list.
 *
 * Bodies are handed to the decoders in buffers of exactly their length (no
 * NUL after them) so that AddressSanitizer catches any read past len.
 */
#include "check.h"
#include "mb_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

struct body {
	char *buf; /* exactly len bytes, not NUL-terminated */
	size_t len;
};

static struct body body_of(const char *s, size_t len)
{
	struct body b = {malloc(len ? len : 1), len};
	if (!b.buf) {
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(b.buf, s, len);
	return b;
}

static struct body body_str(const char *s)
{
	return body_of(s, strlen(s));
}

static void body_free(struct body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}

/* A directory from the environment, else relative to this source file. */
static void dir_from(const char *env, const char *rel, char *out, size_t outsz)
{
	const char *e = getenv(env);
	if (e && *e) {
		snprintf(out, outsz, "%s", e);
		return;
	}
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int n = slash ? (int)(slash - file) : 1;
	snprintf(out, outsz, "%.*s/%s", n, slash ? file : ".", rel);
}

static char data_dir[4096], samples_dir[4096];

static bool read_path(const char *path, struct body *b)
{
	FILE *f = fopen(path, "rb");
	b->buf = NULL;
	b->len = 0;
	if (!f)
		return false;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	*b = body_of(buf, len);
	free(buf);
	return true;
}

static struct body fixture(const char *name)
{
	char path[8192];
	struct body b;
	snprintf(path, sizeof path, "%s/json/%s", data_dir, name);
	if (!read_path(path, &b)) {
		fprintf(stderr, "missing fixture %s\n", path);
		check_fail_count++;
		return body_of("", 0);
	}
	return b;
}

/* Slice the JSON value that follows "key": in b (a top-level key of the
 * recorded e2e sample), by bracket matching; returns a new body. */
static struct body slice_value(const struct body *b, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof pat, "\"%s\"", key);
	size_t pl = strlen(pat);
	for (size_t i = 0; i + pl < b->len; i++) {
		if (memcmp(b->buf + i, pat, pl) != 0)
			continue;
		size_t p = i + pl;
		while (p < b->len && (b->buf[p] == ' ' || b->buf[p] == '\n' ||
				      b->buf[p] == ':' || b->buf[p] == '\t' ||
				      b->buf[p] == '\r'))
			p++;
		size_t start = p;
		int depth = 0;
		bool in_str = false;
		for (; p < b->len; p++) {
			char c = b->buf[p];
			if (in_str) {
				if (c == '\\')
					p++;
				else if (c == '"')
					in_str = false;
			} else if (c == '"') {
				in_str = true;
			} else if (c == '[' || c == '{') {
				depth++;
			} else if (c == ']' || c == '}') {
				if (--depth == 0)
					return body_of(b->buf + start,
						       p + 1 - start);
			}
		}
	}
	fprintf(stderr, "key %s not found in sample\n", key);
	check_fail_count++;
	return body_of("", 0);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

#define CHECK_NULL(p) CHECK((p) == NULL)

/* a (and b, unless NULL) as the elements of a list: "[a,b]" (a new body). */
static struct body list_of(const struct body *a, const struct body *b)
{
	size_t bl = b ? b->len + 1 : 0;
	struct body w = body_of("[", 1);
	w.buf = realloc(w.buf, a->len + bl + 2);
	if (!w.buf) {
		perror("realloc");
		exit(2);
	}
	memcpy(w.buf + 1, a->buf, a->len);
	if (b) {
		w.buf[a->len + 1] = ',';
		memcpy(w.buf + a->len + 2, b->buf, b->len);
	}
	w.buf[a->len + bl + 1] = ']';
	w.len = a->len + bl + 2;
	return w;
}

/* A list body decoded the way meta_cache.c decodes GET /api/card and the
 * other lists: mb_json_stream, fed the whole body. out (outsz bytes) is
 * zeroed first. */
static enum mbfs_status stream_list(enum mb_json_list_kind kind,
				    const char *buf, size_t len, void *out,
				    size_t outsz, struct mbfs_err *err)
{
	memset(out, 0, outsz);
	struct mb_json_stream *s = mb_json_stream_new(kind, false);
	if (!s) {
		perror("mb_json_stream_new");
		exit(2);
	}
	(void)mb_json_stream_feed(s, buf, len); /* finish reports a failure */
	enum mbfs_status st = mb_json_stream_finish(s, out, NULL, NULL, NULL, err);
	mb_json_stream_free(s);
	return st;
}

#define card_list(buf, len, out, err)                                         \
	stream_list(MB_JSON_LIST_CARDS, buf, len, out, sizeof *(out), err)
#define collection_list(buf, len, out, err)                                   \
	stream_list(MB_JSON_LIST_COLLECTIONS, buf, len, out, sizeof *(out), err)
#define database_list(buf, len, out, err)                                     \
	stream_list(MB_JSON_LIST_DATABASES, buf, len, out, sizeof *(out), err)
#define dashboard_list(buf, len, out, err)                                    \
	stream_list(MB_JSON_LIST_DASHBOARDS, buf, len, out, sizeof *(out), err)
#define user_list(buf, len, out, err)                                         \
	stream_list(MB_JSON_LIST_USERS, buf, len, out, sizeof *(out), err)

/* One card object, decoded as production decodes every card: as an
 * element of GET /api/card. MBFS_ERR_NOT_FOUND (out zeroed) when the list
 * skipped it. */
static enum mbfs_status card_elem(const char *buf, size_t len,
				  struct mb_card *out, struct mbfs_err *err)
{
	struct body b = body_of(buf, len), w = list_of(&b, NULL);
	struct mb_card_list cl;
	enum mbfs_status st = card_list(w.buf, w.len, &cl, err);
	body_free(&w);
	body_free(&b);
	memset(out, 0, sizeof *out);
	if (st == MBFS_OK && cl.n == 1) {
		*out = cl.v[0];
		free(cl.v);
		return MBFS_OK;
	}
	mb_card_list_free(&cl);
	return st != MBFS_OK ? st : mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
						  "card skipped");
}

/* ------------------------------------------------------------------ */
/* Recorded samples                                                     */

static const struct mb_user *find_user(const struct mb_user_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

static const struct mb_collection *find_coll(const struct mb_collection_list *l,
					     int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

static void test_samples(void)
{
	char path[8192];
	struct body e2e, dash, qp;
	struct mbfs_err err;

	snprintf(path, sizeof path, "%s/e2e-cypress_sample_instance_data.json",
		 samples_dir);
	/* vendored in tests/data/metabase-samples: missing is a failure */
	CHECK(read_path(path, &e2e));
	if (!e2e.buf)
		return;

	/* questions ≈ GET /api/card elements (v0.47-dev, `dataset` era) */
	struct body b = slice_value(&e2e, "questions");
	struct mb_card_list cl;
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_OK);
	CHECK_INT(cl.n, 3);
	if (cl.n == 3) {
		CHECK_INT(cl.v[0].id, 1);
		CHECK_STR(cl.v[0].name, "Orders");
		CHECK_NULL(cl.v[0].description);
		CHECK_INT(cl.v[0].model, MB_MODEL_CARD);
		CHECK_INT(cl.v[0].collection_id, 0);
		CHECK_INT(cl.v[0].dashboard_id, 0);
		CHECK_INT(cl.v[0].database_id, 1);
		CHECK_INT(cl.v[0].table_id, 2);
		CHECK(!cl.v[0].archived);
		CHECK(!cl.v[0].native);
		CHECK_NULL(cl.v[0].native_sql);
		CHECK_STR(cl.v[0].updated_at, "2023-06-19T04:25:35.88483-07:00");
		CHECK_STR(cl.v[0].entity_id, "tDtBHO8mFyZApt6GDbqhY");
		CHECK_STR(cl.v[1].name, "Orders, Count");
		CHECK_INT(cl.v[2].id, 3);
		CHECK_STR(cl.v[2].name, "Orders, Count, Grouped by Created At (year)");
	}
	mb_card_list_free(&cl);
	CHECK(all_zero(&cl, sizeof cl));
	body_free(&b);

	/* dashboards ≈ GET /api/dashboard elements */
	b = slice_value(&e2e, "dashboards");
	struct mb_dashboard_list dl;
	CHECK_INT(dashboard_list(b.buf, b.len, &dl, &err), MBFS_OK);
	CHECK_INT(dl.n, 1);
	if (dl.n == 1) {
		CHECK_INT(dl.v[0].id, 1);
		CHECK_STR(dl.v[0].name, "Orders in a dashboard");
		CHECK_INT(dl.v[0].collection_id, 0);
		CHECK(!dl.v[0].archived);
		CHECK_STR(dl.v[0].updated_at, "2023-06-19T04:25:35.912454");
		CHECK_STR(dl.v[0].default_parameters, "[]");
		CHECK_INT(dl.v[0].n_dashcards, 0);
		CHECK_INT(dl.v[0].n_tabs, 0);
	}
	mb_dashboard_list_free(&dl);
	body_free(&b);

	/* users ≈ GET /api/user data */
	b = slice_value(&e2e, "users");
	struct mb_user_list ul;
	CHECK_INT(user_list(b.buf, b.len, &ul, &err), MBFS_OK);
	CHECK_INT(ul.n, 8);
	const struct mb_user *u = find_user(&ul, 1);
	CHECK(u != NULL);
	if (u) {
		CHECK_STR(u->email, "admin@metabase.test");
		CHECK_STR(u->common_name, "Bobby Tables");
		CHECK(u->is_superuser);
		CHECK_INT(u->personal_collection_id, 1);
	}
	u = find_user(&ul, 4);
	CHECK(u != NULL);
	if (u) {
		CHECK_STR(u->common_name, "User 1");
		CHECK(!u->is_superuser);
		CHECK_INT(u->personal_collection_id, 2);
	}
	mb_user_list_free(&ul);
	body_free(&b);

	/* databases ≈ GET /api/database data (bare array here) */
	b = slice_value(&e2e, "databases");
	struct mb_database_list dbl;
	CHECK_INT(database_list(b.buf, b.len, &dbl, &err), MBFS_OK);
	CHECK_INT(dbl.n, 1);
	if (dbl.n == 1) {
		CHECK_INT(dbl.v[0].id, 1);
		CHECK_STR(dbl.v[0].name, "Sample Database");
		CHECK_STR(dbl.v[0].engine, "h2");
		CHECK_STR(dbl.v[0].updated_at, "2023-06-19T04:25:34.448303");
		CHECK(dbl.v[0].description &&
		      strncmp(dbl.v[0].description, "Some example data", 17) == 0);
	}
	mb_database_list_free(&dbl);
	body_free(&b);

	/* collections ≈ GET /api/collection (root first) */
	b = slice_value(&e2e, "collections");
	struct mb_collection_list col;
	CHECK_INT(collection_list(b.buf, b.len, &col, &err), MBFS_OK);
	CHECK_INT(col.n, 12);
	if (col.n == 12) {
		CHECK_INT(col.v[0].id, 0);
		CHECK_STR(col.v[0].name, "Our analytics");
		CHECK_NULL(col.v[0].location);
		CHECK_NULL(col.v[0].updated_at);
		CHECK_INT(col.v[0].personal_owner_id, 0);
	}
	const struct mb_collection *c = find_coll(&col, 11);
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->name, "Third collection");
		CHECK_STR(c->location, "/9/10/");
		CHECK_STR(c->description, "Collection Third collection");
		CHECK_INT(c->personal_owner_id, 0);
		CHECK_NULL(c->namespace_);
		CHECK_NULL(c->type);
		CHECK_STR(c->updated_at, "2023-06-19T04:25:35.790065-07:00");
	}
	c = find_coll(&col, 1);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(c->personal_owner_id, 1);
		CHECK_STR(c->name, "Bobby Tables's Personal Collection");
	}
	mb_collection_list_free(&col);
	body_free(&b);

	/* the whole sample is not an error body */
	char msg[128];
	CHECK(!mb_json_error_message(e2e.buf, e2e.len, msg, sizeof msg));
	body_free(&e2e);

	/* full old-style dashboard (≈v0.41, ordered_cards, no tabs) */
	snprintf(path, sizeof path, "%s/dashboard-get-v0.41-ordered_cards.json",
		 samples_dir);
	if (read_path(path, &dash)) {
		struct mb_dashboard d;
		CHECK_INT(mb_json_dashboard(dash.buf, dash.len, &d, &err), MBFS_OK);
		CHECK_INT(d.id, 8);
		CHECK_STR(d.name, "boolean");
		CHECK_NULL(d.description);
		CHECK_INT(d.collection_id, 0);
		CHECK_STR(d.updated_at, "2021-09-29T15:20:25.835");
		CHECK_INT(d.n_tabs, 0);
		CHECK_NULL(d.tabs);
		CHECK_INT(d.n_dashcards, 3);
		/* the one parameter has no default */
		CHECK_STR(d.default_parameters, "[]");
		if (d.n_dashcards == 3) {
			CHECK_INT(d.dashcards[0].id, 81);
			CHECK_INT(d.dashcards[0].card_id, 56);
			CHECK_STR(d.dashcards[0].card_name,
				  "BOOLEAN Sales, Count, Grouped by CouponUsed");
			CHECK(!d.dashcards[0].card_native);
			CHECK_INT(d.dashcards[0].tab_id, 0);
			CHECK_NULL(d.dashcards[0].title);
			CHECK_INT(d.dashcards[1].id, 86);
			CHECK_INT(d.dashcards[1].card_id, 59);
			CHECK_STR(d.dashcards[1].card_name, "postgre native q bool");
			CHECK(d.dashcards[1].card_native);
			CHECK_INT(d.dashcards[2].id, 87);
			CHECK_INT(d.dashcards[2].card_id, 62);
			CHECK_STR(d.dashcards[2].card_name, "nested native question");
			CHECK(!d.dashcards[2].card_native);
		}
		mb_dashboard_free(&d);
		CHECK(all_zero(&d, sizeof d));
		CHECK(!mb_json_error_message(dash.buf, dash.len, msg, sizeof msg));
		body_free(&dash);
	} else {
		printf("note: %s missing; skipped\n", path);
	}

	/* the data object of a QP result */
	snprintf(path, sizeof path, "%s/qp-result-data-object.json", samples_dir);
	if (read_path(path, &qp)) {
		CHECK(!mb_json_error_message(qp.buf, qp.len, msg, sizeof msg));
		body_free(&qp);
	} else {
		printf("note: %s missing; skipped\n", path);
	}
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                             */

static void test_cards(void)
{
	struct mbfs_err err;
	struct mb_card c;

	struct body b = fixture("card_v057_mbql5_native.json");
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_INT(c.id, 484);
	CHECK_STR(c.name, "Revenue by month");
	CHECK_STR(c.description, "Monthly revenue, native SQL");
	CHECK_INT(c.model, MB_MODEL_CARD);
	CHECK_INT(c.collection_id, 12);
	CHECK_INT(c.dashboard_id, 7);
	CHECK_INT(c.database_id, 1);
	CHECK_INT(c.table_id, 0);
	CHECK(!c.archived);
	CHECK(c.native);
	CHECK(c.native_sql &&
	      strncmp(c.native_sql, "SELECT date_trunc('month', created_at) AS m,\n", 45) == 0);
	CHECK(c.native_sql && strstr(c.native_sql, "{{category}}") != NULL);
	CHECK_STR(c.updated_at, "2026-01-15T17:40:12.908311Z");
	CHECK_STR(c.entity_id, "Qw3rTyUi0pAsDfGhJkL12");
	mb_card_free(&c);
	CHECK(all_zero(&c, sizeof c));
	body_free(&b);

	b = fixture("card_v046_mbql4_dataset.json");
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_INT(c.id, 4);
	CHECK_STR(c.name, "Orders model");
	CHECK_NULL(c.description);
	CHECK_INT(c.model, MB_MODEL_DATASET);
	CHECK_INT(c.collection_id, 0);
	CHECK_INT(c.dashboard_id, 0);
	CHECK(c.native);
	CHECK_STR(c.native_sql, "SELECT * FROM ORDERS WHERE TOTAL > 10");
	CHECK_STR(c.updated_at, "2023-06-19T04:25:36.10311-07:00");
	mb_card_free(&c);
	body_free(&b);

	b = fixture("card_v050_metric.json");
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_INT(c.model, MB_MODEL_METRIC);
	CHECK(c.archived);
	CHECK(!c.native);
	CHECK_NULL(c.native_sql);
	CHECK_INT(c.table_id, 2);
	CHECK_INT(c.dashboard_id, 0);
	mb_card_free(&c);
	body_free(&b);

	struct mb_card_list cl;
	b = fixture("cards_list_mixed.json");
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_OK);
	CHECK_INT(cl.n, 3);
	if (cl.n == 3) {
		CHECK_INT(cl.v[0].model, MB_MODEL_CARD);
		CHECK(!cl.v[0].native);
		CHECK_INT(cl.v[1].model, MB_MODEL_DATASET);
		CHECK_INT(cl.v[1].collection_id, 9);
		CHECK_INT(cl.v[2].id, 6);
		CHECK(cl.v[2].native);
		CHECK_STR(cl.v[2].native_sql, "SELECT 1");
		CHECK_INT(cl.v[2].dashboard_id, 3);
		CHECK_NULL(cl.v[2].updated_at);
	}
	mb_card_list_free(&cl);
	body_free(&b);
}

static void test_collections(void)
{
	struct mbfs_err err;
	struct mb_collection_list l;
	/* single objects (GET /api/collection/:id), as list elements */
	struct body root = fixture("collection_root.json");
	struct body trash = fixture("collection_trash_v050.json");
	struct body b = list_of(&root, &trash);
	CHECK_INT(collection_list(b.buf, b.len, &l, &err), MBFS_OK);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK(l.v[0].id == 0 && !l.v[0].archived);
		CHECK_STR(l.v[0].name, "Our analytics");
		CHECK(l.v[0].location == NULL && l.v[0].updated_at == NULL);
		CHECK_INT(l.v[1].id, 13);
		CHECK_STR(l.v[1].type, "trash");
		CHECK_STR(l.v[1].location, "/");
		CHECK_STR(l.v[1].updated_at, "2024-06-01T00:00:00Z");
	}
	mb_collection_list_free(&l);
	body_free(&b);
	body_free(&trash);
	body_free(&root);

	b = fixture("collections_list_new.json");
	CHECK_INT(collection_list(b.buf, b.len, &l, &err), MBFS_OK);
	CHECK_INT(l.n, 6);
	if (l.n == 6) {
		CHECK_INT(l.v[0].id, 0);
		CHECK_INT(l.v[1].id, 9);
		CHECK_STR(l.v[1].updated_at, "2025-06-01T12:00:00Z");
		CHECK_STR(l.v[1].description, "Team numbers");
		CHECK_STR(l.v[2].namespace_, "snippets");
		CHECK(l.v[3].archived);
		CHECK_STR(l.v[3].location, "/9/");
		CHECK_INT(l.v[4].personal_owner_id, 1);
		CHECK_STR(l.v[5].type, "instance-analytics");
		CHECK_STR(l.v[5].namespace_, "analytics");
	}
	mb_collection_list_free(&l);
	body_free(&b);
}

static void test_databases_tables(void)
{
	struct mbfs_err err;
	struct mb_database_list dl;
	struct body b = fixture("databases_envelope.json");
	CHECK_INT(database_list(b.buf, b.len, &dl, &err), MBFS_OK);
	CHECK_INT(dl.n, 3);
	if (dl.n == 3) {
		CHECK_STR(dl.v[0].name, "Sample Database");
		CHECK_STR(dl.v[0].engine, "h2");
		CHECK_STR(dl.v[1].name, "Warehouse / prod");
		CHECK_NULL(dl.v[1].description);
		CHECK_STR(dl.v[1].updated_at, "2024-01-10T08:00:00.5-05:00");
		CHECK_INT(dl.v[2].id, -1337);
		CHECK_NULL(dl.v[2].engine);
	}
	mb_database_list_free(&dl);
	body_free(&b);

	b = body_str("{\"data\":[],\"total\":0}");
	CHECK_INT(database_list(b.buf, b.len, &dl, &err), MBFS_OK);
	CHECK_INT(dl.n, 0);
	mb_database_list_free(&dl);
	body_free(&b);

	struct mb_string_list sl;
	b = fixture("schemas_with_null.json");
	CHECK_INT(mb_json_string_list(b.buf, b.len, &sl, &err), MBFS_OK);
	CHECK_INT(sl.n, 4);
	if (sl.n == 4) {
		CHECK_STR(sl.v[0], "");
		CHECK_STR(sl.v[1], "PUBLIC");
		CHECK_STR(sl.v[2], "");
		CHECK_STR(sl.v[3], "sales");
	}
	mb_string_list_free(&sl);
	CHECK(all_zero(&sl, sizeof sl));
	body_free(&b);

	b = body_str("[\"a\", 5, {\"x\":1}, [1], true, null, \"b\"]");
	CHECK_INT(mb_json_string_list(b.buf, b.len, &sl, &err), MBFS_OK);
	CHECK_INT(sl.n, 4);
	if (sl.n == 4) {
		CHECK_STR(sl.v[0], "a");
		CHECK_STR(sl.v[1], "5");
		CHECK_STR(sl.v[2], "");
		CHECK_STR(sl.v[3], "b");
	}
	mb_string_list_free(&sl);
	body_free(&b);

	struct mb_table_list tl;
	b = fixture("tables_schema.json");
	CHECK_INT(mb_json_table_list(b.buf, b.len, &tl, &err), MBFS_OK);
	CHECK_INT(tl.n, 3); /* the "card__42" virtual table is skipped */
	if (tl.n == 3) {
		CHECK_INT(tl.v[0].id, 2);
		CHECK_INT(tl.v[0].db_id, 1);
		CHECK_STR(tl.v[0].name, "ORDERS");
		CHECK_STR(tl.v[0].display_name, "Orders");
		CHECK_STR(tl.v[0].schema, "PUBLIC");
		CHECK_STR(tl.v[0].description, "Confirmed orders");
		CHECK_STR(tl.v[0].updated_at, "2023-06-19T04:25:31.563951");
		CHECK(tl.v[0].active);
		CHECK(!tl.v[0].hidden);
		CHECK_STR(tl.v[1].schema, "");
		CHECK(tl.v[1].hidden);
		CHECK_INT(tl.v[1].db_id, 2);
		CHECK(!tl.v[2].active);
	}
	mb_table_list_free(&tl);
	body_free(&b);

	/* a single table object (GET /api/table/:id shape) in a list */
	b = fixture("table_single.json");
	struct body w = list_of(&b, NULL);
	CHECK_INT(mb_json_table_list(w.buf, w.len, &tl, &err), MBFS_OK);
	CHECK_INT(tl.n, 1);
	if (tl.n == 1) {
		CHECK_INT(tl.v[0].id, 3);
		CHECK_INT(tl.v[0].db_id, 1);
		CHECK_STR(tl.v[0].name, "PEOPLE");
		CHECK(tl.v[0].hidden);
		CHECK(tl.v[0].active);
	}
	mb_table_list_free(&tl);
	body_free(&w);
	body_free(&b);

	/* no db_id: taken from the hydrated db; no schema key: "" */
	b = body_str("[{\"id\":9,\"db\":{\"id\":4},\"name\":\"T\"}]");
	CHECK_INT(mb_json_table_list(b.buf, b.len, &tl, &err), MBFS_OK);
	CHECK_INT(tl.n, 1);
	if (tl.n == 1) {
		CHECK_INT(tl.v[0].db_id, 4);
		CHECK_STR(tl.v[0].schema, "");
		CHECK(tl.v[0].active);
	}
	mb_table_list_free(&tl);
	body_free(&b);
}

static void test_users_props_session(void)
{
	struct mbfs_err err;
	struct mb_user u;
	struct body b = fixture("user_current.json");
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_OK);
	CHECK_INT(u.id, 1);
	CHECK_STR(u.email, "admin@metabase.test");
	CHECK_STR(u.common_name, "Bobby Tables");
	CHECK(u.is_superuser);
	CHECK_INT(u.personal_collection_id, 1);
	mb_user_free(&u);
	CHECK(all_zero(&u, sizeof u));
	body_free(&b);

	struct mb_user_list ul;
	b = fixture("users_envelope.json");
	CHECK_INT(user_list(b.buf, b.len, &ul, &err), MBFS_OK);
	CHECK_INT(ul.n, 4);
	if (ul.n == 4) {
		CHECK_STR(ul.v[0].common_name, "Robert Tableton");
		CHECK_STR(ul.v[1].common_name, "Grace Hopper");
		CHECK_INT(ul.v[1].personal_collection_id, 0);
		CHECK_STR(ul.v[2].common_name, "apikey-reporting@metabase.test");
		CHECK_STR(ul.v[3].common_name, "Prince");
		CHECK(ul.v[3].is_superuser);
		CHECK_INT(ul.v[3].personal_collection_id, 14);
	}
	mb_user_list_free(&ul);
	body_free(&b);

	struct mb_properties p;
	b = fixture("properties_v050.json");
	CHECK_INT(mb_json_properties(b.buf, b.len, &p, &err), MBFS_OK);
	CHECK_STR(p.version_tag, "v0.50.26");
	CHECK_STR(p.site_name, "Acme Analytics");
	CHECK(!p.password_login_enabled);
	mb_properties_free(&p);
	CHECK(all_zero(&p, sizeof p));
	body_free(&b);

	b = body_str("{\"version\":{\"hash\":\"x\"}}");
	CHECK_INT(mb_json_properties(b.buf, b.len, &p, &err), MBFS_OK);
	CHECK_NULL(p.version_tag);
	CHECK_NULL(p.site_name);
	CHECK(p.password_login_enabled);
	mb_properties_free(&p);
	body_free(&b);

	b = body_str("{\"version\":\"v0.50.1\",\"enable-password-login\":null}");
	CHECK_INT(mb_json_properties(b.buf, b.len, &p, &err), MBFS_OK);
	CHECK_NULL(p.version_tag);
	CHECK(p.password_login_enabled);
	mb_properties_free(&p);
	body_free(&b);

	/* an error object is not a properties map */
	b = body_str("{\"message\":\"boom\",\"error_code\":\"x\"}");
	CHECK_INT(mb_json_properties(b.buf, b.len, &p, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "boom") != NULL);
	CHECK(all_zero(&p, sizeof p));
	body_free(&b);

	char sid[64];
	b = fixture("session_ok.json");
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, sizeof sid, &err), MBFS_OK);
	CHECK_STR(sid, "6b0f6b52-5a87-4b55-9d1a-0b3c8b0d9a11");
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, 10, &err), MBFS_ERR_RANGE);
	CHECK_STR(sid, "");
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, 37, &err), MBFS_OK);
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, 36, &err), MBFS_ERR_RANGE);
	body_free(&b);

	b = fixture("error_login_password.json");
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, sizeof sid, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "did not match stored password") != NULL);
	body_free(&b);

	static const char *bad[] = {"{\"id\":123}", "{\"id\":null}", "{}",
				    "[\"id\"]", "{\"id\":\"\"}", "\"abc\"",
				    "{\"id\":\"a\\u0000b\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b = body_str(bad[i]);
		strcpy(sid, "junk");
		CHECK_INT(mb_json_session_id(b.buf, b.len, sid, sizeof sid, &err),
			  MBFS_ERR_PROTOCOL);
		CHECK_STR(sid, "");
		body_free(&b);
	}
	/* a truncated login answer is never echoed (it may hold the key) */
	b = body_str("{\"id\": \"SECRETSECRET-5a87-4b55");
	CHECK_INT(mb_json_session_id(b.buf, b.len, sid, sizeof sid, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "SECRET") == NULL);
	body_free(&b);
	CHECK_INT(mb_json_session_id("{}", 2, NULL, 0, &err), MBFS_ERR_INVALID);
}

static const struct mb_dashcard *find_dc(const struct mb_dashboard *d, int64_t id)
{
	for (size_t i = 0; i < d->n_dashcards; i++)
		if (d->dashcards[i].id == id)
			return &d->dashcards[i];
	return NULL;
}

static void test_dashboards(void)
{
	struct mbfs_err err;
	struct mb_dashboard d;
	struct body b = fixture("dashboard_v048_tabs.json");
	CHECK_INT(mb_json_dashboard(b.buf, b.len, &d, &err), MBFS_OK);
	CHECK_INT(d.id, 12);
	CHECK_STR(d.name, "Weekly KPIs");
	CHECK_STR(d.description, "The numbers we look at on Mondays");
	CHECK_INT(d.collection_id, 9);
	CHECK(!d.archived);
	CHECK_STR(d.updated_at, "2025-03-04T16:20:11.123-08:00");
	CHECK_INT(d.n_tabs, 2);
	if (d.n_tabs == 2) {
		CHECK_INT(d.tabs[0].id, 20);
		CHECK_STR(d.tabs[0].name, "Overview");
		CHECK_INT(d.tabs[0].position, 0);
		CHECK_INT(d.tabs[1].id, 21);
		CHECK_STR(d.tabs[1].name, "Details");
		CHECK_INT(d.tabs[1].position, 1);
	}
	CHECK_INT(d.n_dashcards, 5);
	if (d.n_dashcards == 5) {
		/* sorted by (tab position, row, col) */
		CHECK_INT(d.dashcards[0].id, 101);
		CHECK_INT(d.dashcards[1].id, 102);
		CHECK_INT(d.dashcards[2].id, 104);
		CHECK_INT(d.dashcards[3].id, 103);
		CHECK_INT(d.dashcards[4].id, 105);
	}
	const struct mb_dashcard *dc = find_dc(&d, 101); /* text card */
	CHECK(dc != NULL);
	if (dc) {
		CHECK_INT(dc->card_id, 0);
		CHECK_INT(dc->tab_id, 20);
		CHECK_NULL(dc->card_name);
		CHECK_NULL(dc->title);
		CHECK(!dc->card_native);
	}
	dc = find_dc(&d, 104); /* unreadable stub {"id":99} */
	CHECK(dc != NULL);
	if (dc) {
		CHECK_INT(dc->card_id, 99);
		CHECK_NULL(dc->card_name);
		CHECK_NULL(dc->card_description);
	}
	dc = find_dc(&d, 103); /* title override, MBQL 5 native */
	CHECK(dc != NULL);
	if (dc) {
		CHECK_INT(dc->card_id, 484);
		CHECK_INT(dc->tab_id, 21);
		CHECK_STR(dc->card_name, "Revenue by month");
		CHECK_STR(dc->title, "Revenue (by month)");
		CHECK_STR(dc->card_description, "Monthly revenue");
		CHECK(dc->card_native);
	}
	dc = find_dc(&d, 102); /* empty card.title is no override */
	CHECK(dc != NULL);
	if (dc) {
		CHECK_STR(dc->card_name, "Orders");
		CHECK_NULL(dc->title);
		CHECK_NULL(dc->card_description);
		CHECK(!dc->card_native);
	}
	dc = find_dc(&d, 105); /* heading with card: null */
	CHECK(dc != NULL);
	if (dc)
		CHECK_INT(dc->card_id, 0);
	CHECK_STR(d.default_parameters,
		  "[{\"id\":\"a1b2c3d4\",\"type\":\"string/=\",\"value\":[\"Gizmo\",\"Widget\"]},"
		  "{\"id\":\"e5f6a7b8\",\"type\":\"date/all-options\",\"value\":\"past30days\"},"
		  "{\"id\":\"0d1e2f3a\",\"type\":\"category\",\"value\":42.5,"
		  "\"target\":[\"dimension\",[\"field\",120,null]]}]");
	mb_dashboard_free(&d);
	CHECK(all_zero(&d, sizeof d));
	body_free(&b);

	b = fixture("dashboard_v047_ordered_tabs.json");
	CHECK_INT(mb_json_dashboard(b.buf, b.len, &d, &err), MBFS_OK);
	CHECK_INT(d.n_tabs, 2);
	if (d.n_tabs == 2) {
		CHECK_STR(d.tabs[0].name, "First");
		CHECK_STR(d.tabs[1].name, "Second");
	}
	CHECK_INT(d.n_dashcards, 2);
	if (d.n_dashcards == 2) {
		CHECK_INT(d.dashcards[0].id, 50);
		CHECK_INT(d.dashcards[0].tab_id, 7);
		CHECK(!d.dashcards[0].card_native);
		CHECK_INT(d.dashcards[1].id, 51);
		CHECK(d.dashcards[1].card_native);
		CHECK_STR(d.dashcards[1].card_name, "Latency p95");
	}
	CHECK_STR(d.default_parameters, "[]");
	CHECK_INT(d.collection_id, 0);
	mb_dashboard_free(&d);
	body_free(&b);

	/* archived dashboard before v0.50: a 404 error body */
	b = fixture("dashboard_archived_404.json");
	memset(&d, 0x5a, sizeof d);
	CHECK_INT(mb_json_dashboard(b.buf, b.len, &d, &err), MBFS_ERR_PROTOCOL);
	CHECK(all_zero(&d, sizeof d));
	CHECK(strstr(err.msg, "The object has been archived.") != NULL);
	body_free(&b);

	/* dashcards with tab ids that match no tab go last; missing card_id
	 * falls back to card.id; tabs without position keep server order */
	b = body_str("{\"id\":1,\"tabs\":[{\"id\":5,\"name\":\"B\"},{\"id\":6,\"name\":\"A\"},"
		     "{\"id\":\"x\"}, 7],"
		     "\"dashcards\":[{\"id\":1,\"dashboard_tab_id\":99},"
		     "{\"id\":2,\"dashboard_tab_id\":6,\"card\":{\"id\":8,\"name\":\"N\"}},"
		     "{\"id\":3,\"dashboard_tab_id\":5,\"row\":\"2\"},{\"id\":4,\"dashboard_tab_id\":5,\"row\":1},"
		     "{\"id\":null},\"junk\",null],\"parameters\":{\"not\":\"an array\"}}");
	CHECK_INT(mb_json_dashboard(b.buf, b.len, &d, &err), MBFS_OK);
	CHECK_INT(d.n_tabs, 2);
	if (d.n_tabs == 2) {
		CHECK_STR(d.tabs[0].name, "B");
		CHECK_STR(d.tabs[1].name, "A");
	}
	CHECK_INT(d.n_dashcards, 4);
	if (d.n_dashcards == 4) {
		CHECK_INT(d.dashcards[0].id, 4);
		CHECK_INT(d.dashcards[1].id, 3);
		CHECK_INT(d.dashcards[2].id, 2);
		CHECK_INT(d.dashcards[2].card_id, 8);
		CHECK_STR(d.dashcards[2].card_name, "N");
		CHECK_INT(d.dashcards[3].id, 1);
	}
	CHECK_STR(d.default_parameters, "[]");
	mb_dashboard_free(&d);
	body_free(&b);
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                         */

static void check_error_fixture(const char *name, const char *want)
{
	char msg[256];
	struct body b = fixture(name);
	memset(msg, 'x', sizeof msg);
	bool is = mb_json_error_message(b.buf, b.len, msg, sizeof msg);
	CHECK(is);
	if (is)
		CHECK_STR(msg, want);
	else
		fprintf(stderr, "  (fixture %s)\n", name);
	body_free(&b);
}

static void test_error_bodies(void)
{
	check_error_fixture("error_qp_failed.json",
			    "ERROR: column \"foo\" does not exist\n  Position: 8");
	check_error_fixture("error_login_password.json",
			    "did not match stored password");
	check_error_fixture("error_login_throttled.json",
			    "Too many attempts! You must wait 15 seconds before trying again.");
	check_error_fixture("error_malli_validation.json",
			    "value must be a non-blank string.");
	check_error_fixture("dashboard_archived_404.json",
			    "The object has been archived.");
	check_error_fixture("error_throwable_status.json", "Connection refused");
	check_error_fixture("error_paging_throwable.json",
			    "Error parsing paging parameters: For input string: \"abc\"");

	static const struct {
		const char *body;
		bool is;
		const char *msg;
	} cases[] = {
		{"{\"status\":\"ok\"}", false, NULL},
		{"{\"status\":\"completed\",\"error\":null,\"data\":{}}", false, NULL},
		{"{\"message\":\"hello\"}", false, NULL},
		{"[{\"error\":\"x\"}]", false, NULL},
		{"\"error\"", false, NULL},
		{"Not found.", false, NULL},
		{"Unauthenticated", false, NULL},
		{"", false, NULL},
		{"{\"error\":\"x\"", false, NULL},
		{"[1,2]\n{\"status\":\"failed\",\"error\":\"boom\"}", false, NULL},
		{"{\"status\":\"failed\"}", true, "server error"},
		{"{\"_status\":403}", true, "server error (status 403)"},
		{"{\"_status\":500,\"via\":[{\"message\":\"deep\"}]}", true, "deep"},
		{"{\"errors\":{\"a\":\"one\",\"b\":\"two\"}}", true, "one; two"},
		{"{\"errors\":{\"a\":[\"x\",1]}}", true, "[\"x\",1]"},
		{"{\"errors\":\"flat\"}", true, "flat"},
		{"{\"error\":{\"code\":1}}", true, "{\"code\":1}"},
		{"{\"error\":\"first\",\"message\":\"m\",\"error_code\":\"c\"}", true, "first"},
		{"{\"errors\":{\"_error\":\"Your account is disabled.\"}}", true,
		 "Your account is disabled."},
		{"  {\"cause\":\"c1\",\"message\":\"m1\"}  \n", true, "m1"},
		{"{\"cause\":\"only cause\"}", true, "only cause"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char msg[128];
		struct body b = body_str(cases[i].body);
		bool is = mb_json_error_message(b.buf, b.len, msg, sizeof msg);
		CHECK(is == cases[i].is);
		if (is != cases[i].is)
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].body);
		if (cases[i].msg && is)
			CHECK_STR(msg, cases[i].msg);
		if (!cases[i].is)
			CHECK_STR(msg, "");
		body_free(&b);
	}

	/* truncation: NUL-terminated, cut at a UTF-8 boundary */
	char small[8];
	struct body b = body_str("{\"error\":\"ab\xc3\xa9\xc3\xa9\xc3\xa9\"}");
	CHECK(mb_json_error_message(b.buf, b.len, small, sizeof small));
	CHECK_STR(small, "ab\xc3\xa9\xc3\xa9");
	CHECK(mb_json_error_message(b.buf, b.len, small, 4));
	CHECK_STR(small, "ab");
	CHECK(mb_json_error_message(b.buf, b.len, NULL, 0));
	CHECK(mb_json_error_message(b.buf, b.len, small, 1));
	CHECK_STR(small, "");
	body_free(&b);
	CHECK(!mb_json_error_message(NULL, 0, small, sizeof small));
	CHECK(!mb_json_error_message("{\"error\":\"x\"}", MB_JSON_MAX_BODY + 1,
				     small, sizeof small));

	/* list decoders given an error body report the server's words */
	struct mbfs_err err;
	struct mb_table_list tl;
	b = fixture("error_qp_failed.json");
	CHECK_INT(mb_json_table_list(b.buf, b.len, &tl, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "column") != NULL);
	CHECK(all_zero(&tl, sizeof tl));
	body_free(&b);
}

/* ------------------------------------------------------------------ */
/* Hostile inputs                                                       */

/* Run every decoder on a body; every result must be OK or a clean error,
 * and failed outputs must be zeroed. */
static void run_all(const char *buf, size_t len)
{
	struct mbfs_err err;
	enum mbfs_status st;
	char sid[64];
	char msg[64];
#define RUN(call, var, freefn)                                               \
	do {                                                                 \
		st = call;                                                   \
		CHECK(st == MBFS_OK || st == MBFS_ERR_PROTOCOL);             \
		if (st != MBFS_OK)                                           \
			CHECK(all_zero(&var, sizeof var));                   \
		freefn(&var);                                                \
	} while (0)
	struct mb_properties p;
	RUN(mb_json_properties(buf, len, &p, &err), p, mb_properties_free);
	struct mb_user u;
	RUN(mb_json_user(buf, len, &u, &err), u, mb_user_free);
	struct mb_user_list ul;
	RUN(user_list(buf, len, &ul, &err), ul, mb_user_list_free);
	struct mb_collection_list cll;
	RUN(collection_list(buf, len, &cll, &err), cll,
	    mb_collection_list_free);
	struct mb_card_list cal;
	RUN(card_list(buf, len, &cal, &err), cal, mb_card_list_free);
	struct mb_database_list dbl;
	RUN(database_list(buf, len, &dbl, &err), dbl,
	    mb_database_list_free);
	struct mb_string_list sl;
	RUN(mb_json_string_list(buf, len, &sl, &err), sl, mb_string_list_free);
	struct mb_table_list tl;
	RUN(mb_json_table_list(buf, len, &tl, &err), tl, mb_table_list_free);
	struct mb_dashboard_list dl;
	RUN(dashboard_list(buf, len, &dl, &err), dl,
	    mb_dashboard_list_free);
	struct mb_dashboard d;
	st = mb_json_dashboard(buf, len, &d, &err);
	CHECK(st == MBFS_OK || st == MBFS_ERR_PROTOCOL);
	if (st == MBFS_OK)
		CHECK(d.default_parameters != NULL);
	else
		CHECK(all_zero(&d, sizeof d));
	mb_dashboard_free(&d);
	st = mb_json_session_id(buf, len, sid, sizeof sid, &err);
	CHECK(st == MBFS_OK || st == MBFS_ERR_PROTOCOL || st == MBFS_ERR_RANGE);
	(void)mb_json_error_message(buf, len, msg, sizeof msg);
	CHECK(strlen(msg) < sizeof msg);
#undef RUN
}

static const char *const all_fixtures[] = {
	"card_v046_mbql4_dataset.json", "card_v050_metric.json",
	"card_v057_mbql5_native.json",	"cards_list_mixed.json",
	"collection_root.json",		"collection_trash_v050.json",
	"collections_list_new.json",	"dashboard_archived_404.json",
	"dashboard_v047_ordered_tabs.json", "dashboard_v048_tabs.json",
	"databases_envelope.json",	"error_login_password.json",
	"error_login_throttled.json",	"error_malli_validation.json",
	"error_paging_throwable.json",	"error_qp_failed.json",
	"error_throwable_status.json",	"health_ok.json",
	"items_envelope_mixed.json",	"properties_v050.json",
	"schemas_with_null.json",	"session_ok.json",
	"table_single.json",		"tables_schema.json",
	"user_current.json",		"users_envelope.json",
};

static void test_fixtures_valid_and_truncated(void)
{
	struct mbfs_err err;
	for (size_t f = 0; f < sizeof all_fixtures / sizeof all_fixtures[0]; f++) {
		struct body b = fixture(all_fixtures[f]);
		run_all(b.buf, b.len);
		/* every proper prefix that is not just the value minus
		 * trailing whitespace must fail to decode */
		size_t last = b.len;
		while (last > 0 && (b.buf[last - 1] == '\n' || b.buf[last - 1] == ' '))
			last--;
		for (size_t cut = 0; cut < last; cut++) {
			struct body t = body_of(b.buf, cut);
			struct mb_user u;
			struct mb_dashboard d;
			struct mb_table_list tl;
			CHECK_INT(mb_json_user(t.buf, t.len, &u, &err),
				  MBFS_ERR_PROTOCOL);
			CHECK(all_zero(&u, sizeof u));
			CHECK_INT(mb_json_dashboard(t.buf, t.len, &d, &err),
				  MBFS_ERR_PROTOCOL);
			CHECK_INT(mb_json_table_list(t.buf, t.len, &tl, &err),
				  MBFS_ERR_PROTOCOL);
			CHECK(!mb_json_error_message(t.buf, t.len, NULL, 0));
			body_free(&t);
		}
		body_free(&b);
	}
}

static uint32_t rng_state = 12345u;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_mutations(void)
{
	static const char flips[] = "{}[]\":,0-9enul\\ \x01\xff";
	for (size_t f = 0; f < sizeof all_fixtures / sizeof all_fixtures[0]; f++) {
		struct body b = fixture(all_fixtures[f]);
		if (b.len == 0) {
			body_free(&b);
			continue;
		}
		for (int iter = 0; iter < 60; iter++) {
			struct body m = body_of(b.buf, b.len);
			int k = 1 + (int)(rng() % 4);
			for (int j = 0; j < k; j++) {
				size_t pos = rng() % m.len;
				m.buf[pos] = flips[rng() % (sizeof flips - 1)];
			}
			run_all(m.buf, m.len);
			body_free(&m);
		}
		body_free(&b);
	}
}

static void test_wrong_types(void)
{
	struct mbfs_err err;
	struct mb_card_list cl;
	struct body b = body_str(
		"[{\"id\":\"abc\"}, 5, null, \"x\", [], true,"
		" {\"id\":7,\"name\":123,\"description\":{\"a\":1},\"collection_id\":\"root\","
		"  \"type\":5,\"dataset\":\"true\",\"archived\":\"yes\",\"database_id\":\"1\","
		"  \"table_id\":\"card__3\",\"dataset_query\":\"SELECT\",\"query_type\":[\"native\"],"
		"  \"updated_at\":1700000000,\"entity_id\":false,\"dashboard_id\":{}},"
		" {\"id\":8.0,\"name\":1.5e3,\"dataset_query\":{\"type\":\"native\",\"native\":{\"query\":7}}},"
		" {\"id\":8.5}, {\"id\":1e300}, {\"id\":99999999999999999999},"
		" {\"id\":-99999999999999999999}, {\"id\":\"12\",\"dataset_query\":{\"stages\":\"no\"}},"
		" {\"id\":\"9999999999999999999999\"}, {\"id\":13,\"dataset_query\":{\"stages\":[null,1]}},"
		" {\"id\":14,\"dataset_query\":{\"stages\":[{\"lib/type\":\"mbql.stage/native\",\"native\":null}]}}]");
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_OK);
	CHECK_INT(cl.n, 5);
	if (cl.n == 5) {
		CHECK_INT(cl.v[0].id, 7);
		CHECK_STR(cl.v[0].name, "123");
		CHECK_NULL(cl.v[0].description);
		CHECK_INT(cl.v[0].collection_id, 0);
		CHECK_INT(cl.v[0].model, MB_MODEL_DATASET);
		CHECK(!cl.v[0].archived);
		CHECK_INT(cl.v[0].database_id, 1);
		CHECK_INT(cl.v[0].table_id, 0);
		CHECK(!cl.v[0].native);
		CHECK_NULL(cl.v[0].native_sql);
		CHECK_NULL(cl.v[0].updated_at);
		CHECK_NULL(cl.v[0].entity_id);
		CHECK_INT(cl.v[0].dashboard_id, 0);
		CHECK_INT(cl.v[1].id, 8);
		CHECK_STR(cl.v[1].name, "1.5e3");
		CHECK(cl.v[1].native);
		CHECK_NULL(cl.v[1].native_sql);
		CHECK_INT(cl.v[2].id, 12);
		CHECK_INT(cl.v[3].id, 13);
		CHECK(!cl.v[3].native);
		CHECK_INT(cl.v[4].id, 14);
		CHECK(cl.v[4].native);
		CHECK_NULL(cl.v[4].native_sql);
	}
	mb_card_list_free(&cl);
	body_free(&b);

	/* nulls everywhere */
	static const char *nulls =
		"{\"id\":1,\"name\":null,\"description\":null,\"type\":null,\"dataset\":null,"
		"\"collection_id\":null,\"dashboard_id\":null,\"database_id\":null,\"table_id\":null,"
		"\"archived\":null,\"query_type\":null,\"dataset_query\":null,\"updated_at\":null,"
		"\"entity_id\":null,\"location\":null,\"personal_owner_id\":null,\"namespace\":null,"
		"\"created_at\":null,\"engine\":null,\"db_id\":null,\"schema\":null,"
		"\"display_name\":null,\"active\":null,\"visibility_type\":null,\"email\":null,"
		"\"common_name\":null,\"first_name\":null,\"last_name\":null,\"is_superuser\":null,"
		"\"personal_collection_id\":null,\"parameters\":null,\"tabs\":null,\"dashcards\":null,"
		"\"ordered_cards\":null,\"version\":null,\"site-name\":null,"
		"\"enable-password-login\":null,\"model\":null,\"last-edit-info\":null}";
	b = body_str(nulls);
	struct mb_card c;
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_INT(c.model, MB_MODEL_CARD);
	CHECK_NULL(c.name);
	mb_card_free(&c);
	struct body w = list_of(&b, NULL);
	struct mb_collection_list col;
	CHECK_INT(collection_list(w.buf, w.len, &col, &err), MBFS_OK);
	CHECK(col.n == 1 && col.v[0].location == NULL);
	mb_collection_list_free(&col);
	struct mb_table_list tl;
	CHECK_INT(mb_json_table_list(w.buf, w.len, &tl, &err), MBFS_OK);
	CHECK(tl.n == 1);
	if (tl.n == 1) {
		CHECK_STR(tl.v[0].schema, "");
		CHECK(tl.v[0].active);
		CHECK(!tl.v[0].hidden);
	}
	mb_table_list_free(&tl);
	body_free(&w);
	struct mb_user u;
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_OK);
	CHECK_NULL(u.email);
	CHECK_NULL(u.common_name);
	mb_user_free(&u);
	struct mb_dashboard d;
	CHECK_INT(mb_json_dashboard(b.buf, b.len, &d, &err), MBFS_OK);
	CHECK_STR(d.default_parameters, "[]");
	CHECK_INT(d.n_dashcards, 0);
	mb_dashboard_free(&d);
	struct mb_properties p;
	CHECK_INT(mb_json_properties(b.buf, b.len, &p, &err), MBFS_OK);
	CHECK(p.password_login_enabled);
	mb_properties_free(&p);
	body_free(&b);
	run_all(nulls, strlen(nulls));

	/* whole-body wrong shapes */
	static const char *shapes[] = {"null", "true", "42", "\"str\"", "[]", "{}",
				       "[[[]]]", "{\"data\":{}}", "{\"data\":null}"};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		b = body_str(shapes[i]);
		run_all(b.buf, b.len);
		CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_ERR_PROTOCOL);
		body_free(&b);
	}
	b = body_str("{\"id\":1}");
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "expected") != NULL);
	body_free(&b);
}

static void test_bytes_and_limits(void)
{
	struct mbfs_err err;
	struct mb_card c;

	/* non-UTF-8 bytes, raw controls, '/' and dot names are copied as is */
	static const char raw[] =
		"{\"id\":1,\"name\":\"caf\xe9 \xff\xfe/../x\x01y\",\"description\":\"\\u00e9\\ud83d\\ude00\\/\"}";
	struct body b = body_str(raw);
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_STR(c.name, "caf\xe9 \xff\xfe/../x\x01y");
	CHECK_STR(c.description, "\xc3\xa9\xf0\x9f\x98\x80/");
	mb_card_free(&c);
	body_free(&b);

	/* an embedded \u0000 ends the C string */
	b = body_str("{\"id\":1,\"name\":\"a\\u0000b\"}");
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK_STR(c.name, "a");
	mb_card_free(&c);
	body_free(&b);

	/* whole bodies (a single object: GET /api/user/current) */
	struct mb_user u;
	/* a raw NUL byte in the body is not JSON */
	b = body_of("{\"id\":1}\0", 9);
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_ERR_PROTOCOL);
	body_free(&b);

	/* trailing garbage vs trailing whitespace */
	b = body_str("{\"id\":1} x");
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "trailing") != NULL);
	body_free(&b);
	b = body_str("\r\n {\"id\":1}\n\t \n");
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_OK);
	mb_user_free(&u);
	body_free(&b);
	b = body_str("[{\"id\":1}]\n{\"status\":\"failed\",\"error\":\"x\"}");
	struct mb_card_list cl;
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_ERR_PROTOCOL);
	CHECK(all_zero(&cl, sizeof cl));
	body_free(&b);

	/* empty / NULL / oversized bodies */
	CHECK_INT(mb_json_user(NULL, 0, &u, &err), MBFS_ERR_PROTOCOL);
	b = body_str("   \n");
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_ERR_PROTOCOL);
	body_free(&b);
	b = body_str("{\"id\":1}");
	CHECK_INT(mb_json_user(b.buf, MB_JSON_MAX_BODY + 1, &u, &err),
		  MBFS_ERR_TOO_BIG);
	CHECK(all_zero(&u, sizeof u));
	CHECK_INT(err.status, MBFS_ERR_TOO_BIG);
	struct mb_dashboard d;
	CHECK_INT(mb_json_dashboard(b.buf, SIZE_MAX, &d, &err), MBFS_ERR_TOO_BIG);
	body_free(&b);

	/* an HTML page: the message quotes at most a short prefix */
	size_t hl = 20000;
	char *html = malloc(hl);
	memset(html, 'A', hl);
	static const char head[] = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>";
	memcpy(html, head, sizeof head - 1);
	memcpy(html + 100, "SECRET-TAIL", 11);
	b = body_of(html, hl);
	free(html);
	CHECK_INT(mb_json_user(b.buf, b.len, &u, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "<!DOCTYPE html>") != NULL);
	CHECK(strstr(err.msg, "SECRET-TAIL") == NULL);
	CHECK(strlen(err.msg) < 200);
	body_free(&b);

	/* huge string value is copied whole */
	size_t big = 1 << 20;
	char *s = malloc(big + 32);
	int off = sprintf(s, "{\"id\":2,\"name\":\"");
	memset(s + off, 'n', big);
	memcpy(s + off + big, "\"}", 2);
	b = body_of(s, (size_t)off + big + 2);
	free(s);
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	CHECK(c.name && strlen(c.name) == big);
	mb_card_free(&c);
	body_free(&b);

	/* deeply nested garbage: refused, no crash, no stack overflow */
	size_t depth = 200000;
	char *deep = malloc(depth * 6 + 16);
	size_t p = 0;
	for (size_t i = 0; i < depth; i++)
		deep[p++] = '[';
	b = body_of(deep, p);
	run_all(b.buf, b.len);
	CHECK_INT(card_list(b.buf, b.len, &cl, &err), MBFS_ERR_PROTOCOL);
	body_free(&b);
	p = 0;
	for (size_t i = 0; i < depth; i++) {
		memcpy(deep + p, "{\"a\":", 5);
		p += 5;
	}
	b = body_of(deep, p);
	run_all(b.buf, b.len);
	body_free(&b);
	/* balanced but too deep */
	p = 0;
	for (size_t i = 0; i < 5000; i++)
		deep[p++] = '[';
	for (size_t i = 0; i < 5000; i++)
		deep[p++] = ']';
	b = body_of(deep, p);
	run_all(b.buf, b.len);
	body_free(&b);
	/* moderately deep MBQL inside a card is fine */
	p = (size_t)sprintf(deep, "{\"id\":3,\"dataset_query\":");
	for (size_t i = 0; i < 100; i++)
		deep[p++] = '[';
	for (size_t i = 0; i < 100; i++)
		deep[p++] = ']';
	deep[p++] = '}';
	b = body_of(deep, p);
	CHECK_INT(card_elem(b.buf, b.len, &c, &err), MBFS_OK);
	mb_card_free(&c);
	body_free(&b);
	free(deep);
}

/* ------------------------------------------------------------------ */
/* Quoting, model names, free functions                                 */

static void check_roundtrip(const char *s)
{
	struct mbfs_err err;
	char *q = mb_json_quote(s);
	CHECK(q != NULL);
	if (!q)
		return;
	size_t ql = strlen(q);
	char *body = malloc(ql + 16);
	size_t bl = (size_t)sprintf(body, "{\"id\":%s}", q);
	char out[256];
	CHECK_INT(mb_json_session_id(body, bl, out, sizeof out, &err), MBFS_OK);
	CHECK_STR(out, s);
	free(body);
	free(q);
}

static void test_quote(void)
{
	char *q = mb_json_quote("plain");
	CHECK_STR(q, "\"plain\"");
	free(q);
	q = mb_json_quote("");
	CHECK_STR(q, "\"\"");
	free(q);
	q = mb_json_quote("a\"b\\c/d\n\r\t\b\f\x01\x1f\x7f");
	CHECK_STR(q, "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
	free(q);
	q = mb_json_quote("caf\xc3\xa9 \xe2\x82\xac");
	CHECK_STR(q, "\"caf\xc3\xa9 \xe2\x82\xac\"");
	free(q);
	q = mb_json_quote(NULL);
	CHECK_STR(q, "null");
	free(q);
	check_roundtrip("SELECT * FROM \"orders\" WHERE note = 'a\\b'\n\t-- done");
	check_roundtrip("x\x01\x02\x1e y");
	check_roundtrip("caf\xc3\xa9");
}

static void test_models_and_free(void)
{
	CHECK_STR(mb_model_name(MB_MODEL_CARD), "card");
	CHECK_STR(mb_model_name(MB_MODEL_DATASET), "dataset");
	CHECK_STR(mb_model_name(MB_MODEL_METRIC), "metric");
	CHECK_STR(mb_model_name(MB_MODEL_DASHBOARD), "dashboard");
	CHECK_STR(mb_model_name(MB_MODEL_COLLECTION), "collection");
	CHECK_STR(mb_model_name(MB_MODEL_TABLE), "table");
	CHECK_STR(mb_model_name(MB_MODEL_DATABASE), "database");
	CHECK(mb_model_name(MB_MODEL_OTHER) != NULL);
	CHECK(mb_model_name(MB_MODEL_UNKNOWN) != NULL);
	CHECK(mb_model_name((enum mb_model)1234) != NULL);

	mb_card_free(NULL);
	mb_card_list_free(NULL);
	mb_collection_free(NULL);
	mb_collection_list_free(NULL);
	mb_database_list_free(NULL);
	mb_table_free(NULL);
	mb_table_list_free(NULL);
	mb_string_list_free(NULL);
	mb_user_free(NULL);
	mb_user_list_free(NULL);
	mb_properties_free(NULL);
	mb_dashboard_free(NULL);
	mb_dashboard_list_free(NULL);

	struct mb_card b = {0};
	struct mb_card_list c = {0};
	struct mb_collection d = {0};
	struct mb_collection_list e = {0};
	struct mb_database_list f = {0};
	struct mb_table g = {0};
	struct mb_table_list h = {0};
	struct mb_string_list i = {0};
	struct mb_user j = {0};
	struct mb_user_list k = {0};
	struct mb_properties l = {0};
	struct mb_dashboard m = {0};
	struct mb_dashboard_list n = {0};
	mb_card_free(&b);
	mb_card_list_free(&c);
	mb_collection_free(&d);
	mb_collection_list_free(&e);
	mb_database_list_free(&f);
	mb_table_free(&g);
	mb_table_list_free(&h);
	mb_string_list_free(&i);
	mb_user_free(&j);
	mb_user_list_free(&k);
	mb_properties_free(&l);
	mb_dashboard_free(&m);
	mb_dashboard_list_free(&n);
	/* double free of a decoded struct is harmless (it was zeroed) */
	struct mbfs_err err;
	struct body bd = fixture("dashboard_v048_tabs.json");
	CHECK_INT(mb_json_dashboard(bd.buf, bd.len, &m, &err), MBFS_OK);
	mb_dashboard_free(&m);
	mb_dashboard_free(&m);
	body_free(&bd);
	CHECK(1);
}

/*
 * Found by tests/fuzz/fuzz_mb_json: json-c's default (lenient) parser took
 * ["", "PUBLIC", ] and mb_json_list_array handed those bytes on verbatim
 * as "the array as text" (what metadata/ files serve): not JSON. Bodies
 * are now parsed strictly; every form json-c tolerates beyond JSON is a
 * protocol error, and whatever a list decoder accepts, the array text is
 * JSON.
 */
static void test_strict_json(void)
{
	static const char *const lenient[] = {
		"[\"\", \"PUBLIC\", ]\n", /* the fuzzer's input */
		"[1,]", "[{\"id\":1,}]", "['a']", "[01]", "/*c*/[1]",
		"[1]//x", "[tRue]", "[nan]", "{\"data\":[{\"id\":1}],}",
		/* what json-c 0.16's strict mode still let through */
		"[{'id':1}]", "[{id:1}]",
		/* numbers, literals, escapes, structure */
		"[-]", "[1.]", "[1e]", "[.5]", "[+1]", "[0x1]", "[truex]",
		"[\"\\x\"]", "[\"\\u12\"]", "[1 2]", "[", "[1", "{\"a\"}",
		"{\"a\":}", "[,1]", "[1,,2]", "{\"a\":1,,}",
	};
	for (size_t i = 0; i < sizeof lenient / sizeof lenient[0]; i++) {
		struct body b = body_str(lenient[i]);
		struct mbfs_err err;
		char *out = (char *)"x";
		size_t outlen = 1, count = 1;
		CHECK_INT(mb_json_list_array(b.buf, b.len, &out, &outlen,
					     &count, &err),
			  MBFS_ERR_PROTOCOL);
		CHECK(out == NULL && outlen == 0 && count == 0);
		struct mb_card_list cl;
		CHECK_INT(card_list(b.buf, b.len, &cl, &err),
			  MBFS_ERR_PROTOCOL);
		CHECK(strncmp(err.msg, "card list: ", 11) == 0);
		CHECK(all_zero(&cl, sizeof cl));
		body_free(&b);
	}
	/* JSON itself still passes: non-ASCII text (which json-c 0.18's
	 * strict mode refused: Debian 13), every number form, escapes */
	static const char *const good[] = {
		"[\"caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac\"]",
		"[0, -0, 1.5, -2e10, 3E+2, 4e-1, 10]",
		"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]",
		"[{}, [], {\"a\": [true, false, null]}]",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct body g = body_str(good[i]);
		struct mbfs_err e;
		char *o;
		size_t ol, oc;
		CHECK_INT(mb_json_list_array(g.buf, g.len, &o, &ol, &oc, &e),
			  MBFS_OK);
		free(o);
		body_free(&g);
	}
	/* JSON itself still passes, verbatim */
	struct body b = body_str(" [\"\", \"PUBLIC\"]\n");
	struct mbfs_err err;
	char *out;
	size_t outlen, count;
	CHECK_INT(mb_json_list_array(b.buf, b.len, &out, &outlen, &count, &err),
		  MBFS_OK);
	CHECK_STR(out, "[\"\", \"PUBLIC\"]");
	CHECK_INT(count, 2);
	free(out);
	body_free(&b);
}

/* issue 11: parameters (definitions, user.mb.parameters, the request)
 * and the public link lists */
static void test_parameters(void)
{
	struct mbfs_err err;
	struct mb_card c;
	/* a native card: one stored parameter (no default: the tag's),
	 * one tag without a parameter (saved before Metabase stored them),
	 * a snippet tag (not a parameter), MBQL 4 */
	const char *card =
		"{\"id\": 38, \"name\": \"x\", \"query_type\": \"native\","
		" \"public_uuid\": \"a96be2f3-8a63-5481-bb2a-425c5be66532\","
		" \"parameters\": [{\"id\": \"p1\", \"slug\": \"category\", \"name\": \"Category\","
		"   \"type\": \"category\", \"target\": [\"variable\", [\"template-tag\", \"category\"]]},"
		"  {\"id\": \"p2\", \"slug\": \"category\", \"type\": \"category\"},"
		"  {\"id\": \"p3\", \"name\": \"no slug\"}],"
		" \"dataset_query\": {\"type\": \"native\", \"database\": 1, \"native\": {"
		"   \"query\": \"SELECT 1\", \"template-tags\": {"
		"    \"category\": {\"id\": \"t1\", \"name\": \"category\", \"type\": \"text\", \"default\": \"Widget\"},"
		"    \"created_at\": {\"id\": \"t2\", \"name\": \"created_at\", \"display-name\": \"Created\","
		"       \"type\": \"dimension\", \"widget-type\": \"date/range\"},"
		"    \"n\": {\"id\": \"t3\", \"name\": \"n\", \"type\": \"number\", \"default\": \"3\"},"
		"    \"snip\": {\"id\": \"t4\", \"name\": \"snip\", \"type\": \"snippet\"}}}}}";
	CHECK_INT(card_elem(card, strlen(card), &c, &err), MBFS_OK);
	CHECK_STR(c.public_uuid, "a96be2f3-8a63-5481-bb2a-425c5be66532");
	CHECK_STR(c.param_defs,
		  "[{\"id\":\"p1\",\"slug\":\"category\",\"name\":\"Category\",\"type\":\"category\","
		  "\"default\":\"Widget\",\"target\":[\"variable\",[\"template-tag\",\"category\"]]},"
		  "{\"id\":\"t2\",\"slug\":\"created_at\",\"name\":\"Created\",\"type\":\"date/range\","
		  "\"target\":[\"dimension\",[\"template-tag\",\"created_at\"]]},"
		  "{\"id\":\"t3\",\"slug\":\"n\",\"name\":\"n\",\"type\":\"number/=\",\"default\":\"3\","
		  "\"target\":[\"variable\",[\"template-tag\",\"n\"]]}]");
	char *x = mb_json_params_xattr(c.param_defs);
	CHECK_STR(x, "[{\"slug\":\"category\",\"name\":\"Category\",\"type\":\"category\",\"default\":\"Widget\"},"
		     "{\"slug\":\"created_at\",\"name\":\"Created\",\"type\":\"date/range\",\"default\":null},"
		     "{\"slug\":\"n\",\"name\":\"n\",\"type\":\"number/=\",\"default\":\"3\"}]");
	free(x);
	CHECK(mb_json_params_xattr(NULL) == NULL);
	CHECK(mb_json_params_xattr("not json") == NULL);

	/* the request: given values, the others at their defaults (created_at
	 * has none: left out); a date type takes one string */
	char *v1[] = {"Gizmo", "Gadget"}, *v2[] = {"2024-01-01~2024-03-31"};
	struct mb_param_arg av[] = {{"created_at", v2, 1}, {"category", v1, 2}};
	struct mb_param_args args = {av, 2};
	char *req = NULL;
	CHECK_INT(mb_json_param_request(c.param_defs, NULL, &args, false, &req, &err), MBFS_OK);
	CHECK_STR(req,
		  "[{\"id\":\"p1\",\"type\":\"category\",\"value\":[\"Gizmo\",\"Gadget\"],"
		  "\"target\":[\"variable\",[\"template-tag\",\"category\"]]},"
		  "{\"id\":\"t2\",\"type\":\"date/range\",\"value\":\"2024-01-01~2024-03-31\","
		  "\"target\":[\"dimension\",[\"template-tag\",\"created_at\"]]},"
		  "{\"id\":\"t3\",\"type\":\"number/=\",\"value\":\"3\","
		  "\"target\":[\"variable\",[\"template-tag\",\"n\"]]}]");
	free(req);
	/* two dates: a list */
	char *v3[] = {"2024-01-01", "2024-02-01"};
	struct mb_param_arg a3 = {"created_at", v3, 2};
	struct mb_param_args args3 = {&a3, 1};
	CHECK_INT(mb_json_param_request(c.param_defs, NULL, &args3, false, &req, &err), MBFS_OK);
	CHECK(req && strstr(req, "\"value\":[\"2024-01-01\",\"2024-02-01\"]"));
	free(req);
	/* an unknown slug */
	struct mb_param_arg a4 = {"nope", v2, 1};
	struct mb_param_args args4 = {&a4, 1};
	req = (char *)"untouched";
	CHECK_INT(mb_json_param_request(c.param_defs, NULL, &args4, false, &req, &err),
		  MBFS_ERR_NOT_FOUND);
	CHECK(req == NULL && strstr(err.msg, "nope"));
	CHECK_INT(mb_json_param_request(NULL, NULL, &args4, false, &req, &err),
		  MBFS_ERR_NOT_FOUND);
	mb_card_free(&c);

	/* a card with neither parameters nor tags has none */
	const char *plain = "{\"id\": 1, \"parameters\": [], \"dataset_query\": {\"type\": \"query\"}}";
	CHECK_INT(card_elem(plain, strlen(plain), &c, &err), MBFS_OK);
	CHECK(c.param_defs == NULL && c.public_uuid == NULL);
	mb_card_free(&c);

	/* dashcards: the filters mapped to the dashcard's own card */
	const char *dash =
		"{\"id\": 6, \"name\": \"d\","
		" \"parameters\": [{\"id\": \"f_category\", \"slug\": \"category\", \"name\": \"Category\","
		"    \"type\": \"string/=\", \"default\": [\"Widget\"]},"
		"  {\"id\": \"f_price\", \"slug\": \"max_price\", \"name\": \"Max price\", \"type\": \"number/=\"},"
		"  {\"id\": \"f_created\", \"slug\": \"created_at\", \"name\": \"Created\","
		"    \"type\": \"date/all-options\", \"default\": \"2024-01-01~2024-12-31\"}],"
		" \"dashcards\": [{\"id\": 18, \"card_id\": 38, \"card\": {\"id\": 38, \"name\": \"c\"},"
		"   \"parameter_mappings\": ["
		"    {\"parameter_id\": \"f_category\", \"card_id\": 38, \"target\": [\"variable\", [\"template-tag\", \"category\"]]},"
		"    {\"parameter_id\": \"f_created\", \"card_id\": 38, \"target\": [\"dimension\", [\"template-tag\", \"created_at\"]]},"
		"    {\"parameter_id\": \"f_category\", \"card_id\": 38, \"target\": [\"variable\", [\"template-tag\", \"category\"]]},"
		"    {\"parameter_id\": \"f_price\", \"card_id\": 99, \"target\": [\"variable\", [\"template-tag\", \"x\"]]},"
		"    {\"parameter_id\": \"unknown\", \"card_id\": 38, \"target\": []}]},"
		"  {\"id\": 21, \"card_id\": null, \"card\": {}}]}";
	struct mb_dashboard d;
	CHECK_INT(mb_json_dashboard(dash, strlen(dash), &d, &err), MBFS_OK);
	CHECK_INT(d.n_dashcards, 2);
	if (d.n_dashcards == 2) {
		const struct mb_dashcard *dc = d.dashcards[0].id == 18 ? &d.dashcards[0]
								    : &d.dashcards[1];
		const struct mb_dashcard *text = dc == &d.dashcards[0] ? &d.dashcards[1]
								      : &d.dashcards[0];
		CHECK(text->param_defs == NULL);
		x = mb_json_params_xattr(dc->param_defs);
		CHECK_STR(x, "[{\"slug\":\"category\",\"name\":\"Category\",\"type\":\"string/=\",\"default\":[\"Widget\"]},"
			     "{\"slug\":\"created_at\",\"name\":\"Created\",\"type\":\"date/all-options\","
			     "\"default\":\"2024-01-01~2024-12-31\"}]");
		free(x);
		/* the dashboard's defaults, the given filter replaced */
		char *g[] = {"Gizmo"};
		struct mb_param_arg ga = {"category", g, 1};
		struct mb_param_args gargs = {&ga, 1};
		CHECK_INT(mb_json_param_request(dc->param_defs, d.default_parameters, &gargs,
						true, &req, &err), MBFS_OK);
		CHECK_STR(req, "[{\"id\":\"f_category\",\"type\":\"string/=\",\"value\":[\"Gizmo\"]},"
			       "{\"id\":\"f_created\",\"type\":\"date/all-options\",\"value\":\"2024-01-01~2024-12-31\"}]");
		free(req);
		/* a filter the dashboard maps elsewhere: unknown here */
		struct mb_param_arg pa = {"max_price", g, 1};
		struct mb_param_args pargs = {&pa, 1};
		CHECK_INT(mb_json_param_request(dc->param_defs, d.default_parameters, &pargs,
						true, &req, &err), MBFS_ERR_NOT_FOUND);
		/* a given filter without a default is added */
		char *dd[] = {"2023-05"};
		struct mb_param_arg ca = {"created_at", dd, 1};
		struct mb_param_args cargs = {&ca, 1};
		CHECK_INT(mb_json_param_request(dc->param_defs, "[]", &cargs, true, &req, &err),
			  MBFS_OK);
		CHECK_STR(req, "[{\"id\":\"f_created\",\"type\":\"date/all-options\",\"value\":\"2023-05\"}]");
		free(req);
	}
	mb_dashboard_free(&d);

	/* the admin lists of public links */
	const char *pub = "[{\"name\": \"a\", \"id\": 38, \"public_uuid\": \"u-1\"},"
			  " {\"name\": \"b\", \"id\": 39, \"public_uuid\": null},"
			  " {\"name\": \"c\", \"id\": 40, \"public_uuid\": \"u-3\", \"card_schema\": 23}]";
	struct mb_public_list pl;
	CHECK_INT(mb_json_public_list(pub, strlen(pub), &pl, &err), MBFS_OK);
	CHECK_INT(pl.n, 2);
	if (pl.n == 2) {
		CHECK_INT(pl.v[0].id, 38);
		CHECK_STR(pl.v[0].uuid, "u-1");
		CHECK_STR(pl.v[1].name, "c");
	}
	mb_public_list_free(&pl);
	CHECK_INT(mb_json_public_list("{}", 2, &pl, &err), MBFS_ERR_PROTOCOL);
}

int main(void)
{
	dir_from("MBFS_TEST_DATA", "../data", data_dir, sizeof data_dir);
	dir_from("MBFS_SAMPLES", "../data/metabase-samples", samples_dir,
		 sizeof samples_dir);
	test_samples();
	test_cards();
	test_collections();
	test_databases_tables();
	test_users_props_session();
	test_dashboards();
	test_error_bodies();
	test_wrong_types();
	test_bytes_and_limits();
	test_quote();
	test_models_and_free();
	test_fixtures_valid_and_truncated();
	test_mutations();
	test_strict_json();
	test_parameters();
	return check_done();
}
