/*
 * test_tree.c — unit tests of tree.c with a fake client (src/backend/fake/fake.h):
 * the fixed directories, collection listings (what is listed, names,
 * collisions, sticky names, inode numbers, node fields), the listing cache,
 * failed refreshes, single flight per directory, cards/, databases/<db>/
 * <schema>/ and the timestamp parser.
 *
 * Collection directories are built from the three bulk lists (GET
 * /api/collection, /api/dashboard?f=all, /api/card?f=all), which the fake
 * makes from its catalog; every directory shares them, so request counts
 * are counted per list (fake_bulk_calls).
 */
#include "check.h"
#include "fake.h"
#include "inode.h"
#include "log.h"
#include "options.h"
#include "tree.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static void opts_init(struct mbfs_options *o, int n_formats,
		      const char *const *formats)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < n_formats; i++)
		o->formats[i] = (char *)formats[i];
	o->n_formats = n_formats;
	o->meta_ttl = 60;
	o->result_ttl = 60;
	o->error_ttl = 10;
}

static struct mbfs_node *root_of(struct mbfs_tree *t)
{
	mbfs_tree_lock(t);
	struct mbfs_node *r = mbfs_tree_node(t, 1);
	mbfs_tree_unlock(t);
	return r;
}

/* Names of dir's listing joined by '|', "" on failure; status in *st. */
static const char *names_of(struct mbfs_tree *t, struct mbfs_node *dir,
			    enum mbfs_status *st_out)
{
	static char buf[4096];
	struct mbfs_dirent *v = NULL;
	size_t n = 0;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	buf[0] = '\0';
	enum mbfs_status st = mbfs_tree_list(t, dir, &v, &n, NULL, &err);
	if (st_out)
		*st_out = st;
	if (st != MBFS_OK)
		return buf;
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
				      i ? "|" : "", v[i].name);
	/* snapshots are sorted */
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(v[i - 1].name, v[i].name) < 0);
	mbfs_tree_free_snapshot(v, n);
	return buf;
}

static struct mbfs_node *find(struct mbfs_tree *t, struct mbfs_node *dir,
			      const char *name)
{
	struct mbfs_node *n = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (mbfs_tree_find(t, dir, name, &n, &err) != MBFS_OK)
		return NULL;
	return n;
}

static void invalidate(struct mbfs_tree *t, struct mbfs_node *dir)
{
	mbfs_tree_lock(t);
	mbfs_tree_invalidate_dir(t, dir);
	mbfs_tree_unlock(t);
}

static void add_item(struct fake_client *f, int64_t coll, enum mb_model m,
		     int64_t id, const char *name, int64_t dash, bool archived,
		     const char *updated_at)
{
	fake_lock(f);
	struct fake_item *it = &f->items[f->n_items++];
	it->collection_id = coll;
	it->model = m;
	it->id = id;
	it->name = name;
	it->dashboard_id = dash;
	it->archived = archived;
	it->updated_at = updated_at;
	fake_unlock(f);
}

/* Make the three bulk lists fail with st (MBFS_OK: answer again). */
static void fail_bulk(struct fake_client *f, enum mbfs_status st)
{
	fake_lock(f);
	f->fail_collections = f->fail_dashboards = f->fail_cards = st;
	fake_unlock(f);
}

static const char *const CSV_JSON[] = {"csv", "json"};

static void setup_catalog(struct fake_client *f)
{
	add_item(f, 0, MB_MODEL_CARD, 3, "Revenue", 0, false,
		 "2023-06-19T04:25:35.88483Z");
	add_item(f, 0, MB_MODEL_CARD, 7, "Revenue", 0, false, NULL);
	add_item(f, 0, MB_MODEL_CARD, 11, "a/b", 0, false, NULL);
	add_item(f, 0, MB_MODEL_COLLECTION, 20, "Sub", 0, false, NULL);
	add_item(f, 0, MB_MODEL_CARD, 12, "Old", 0, true, NULL);
	add_item(f, 0, MB_MODEL_CARD, 13, "InDash", 5, false, NULL);
	add_item(f, 0, MB_MODEL_OTHER, 14, "Weekly", 0, false, NULL);
	add_item(f, 0, MB_MODEL_DATASET, 15, "Model", 0, false, NULL);
	add_item(f, 0, MB_MODEL_METRIC, 16, "Metric", 0, false, NULL);
	add_item(f, 0, MB_MODEL_COLLECTION, 17, "Archived coll", 0, true, NULL);
	add_item(f, 20, MB_MODEL_CARD, 21, "Inner", 0, false, NULL);
	add_item(f, 20, MB_MODEL_COLLECTION, 22, "..", 0, false, NULL);
}

/* ---- tests ------------------------------------------------------------ */

static void test_root(void)
{
	struct fake_client f;
	fake_init(&f);
	struct mbfs_options o;
	opts_init(&o, 2, CSV_JSON);
	struct mbfs_tree *t = mbfs_tree_new(&f.base, &o);
	CHECK(t != NULL);
	struct mbfs_node *root = root_of(t);
	CHECK(root != NULL);
	if (!root)
		return;
	CHECK_INT(root->ino, 1);
	CHECK_INT(root->kind, MBFS_K_ROOT);
	enum mbfs_status st;
	CHECK_STR(names_of(t, root, &st),
		  ".mbfs|cards|collections|dashboards|databases|metadata|public|queries");
	CHECK_INT(st, MBFS_OK);
	CHECK_INT(fake_bulk_calls(&f), 0);

	struct mbfs_node *coll = find(t, root, "collections");
	CHECK(coll != NULL);
	if (coll) {
		CHECK(coll->ino ==
		      mbfs_inode_number(MBFS_K_COLLECTION, MBFS_FMT_NONE, 0));
		CHECK_INT(coll->kind, MBFS_K_COLLECTION);
		CHECK_INT(coll->id, 0);
	}
	struct mbfs_node *cards = find(t, root, "cards");
	CHECK(cards && cards->kind == MBFS_K_CARDS_DIR);
	struct mbfs_node *dbs = find(t, root, "databases");
	CHECK(dbs && dbs->kind == MBFS_K_DATABASES_DIR);
	struct mbfs_node *ctl = find(t, root, ".mbfs");
	CHECK(ctl && ctl->kind == MBFS_K_CONTROL_DIR);
	CHECK(find(t, root, "nope") == NULL);
	struct mbfs_node *dummy = NULL;
	CHECK_INT(mbfs_tree_find(t, root, "nope", &dummy, NULL),
		  MBFS_ERR_NOT_FOUND);
	if (ctl) {
		CHECK_STR(names_of(t, ctl, &st), "errors|exports|metrics|stats|status");
		struct mbfs_node *s = find(t, ctl, "status");
		CHECK(s && s->kind == MBFS_K_CONTROL_FILE && s->fmt == MBFS_FMT_NONE);
		CHECK(s && s->ino == mbfs_inode_number(MBFS_K_CONTROL_FILE,
						       MBFS_FMT_NONE, s->id));
		struct mbfs_node *s2 = find(t, ctl, "stats");
		struct mbfs_node *s3 = find(t, ctl, "errors");
		CHECK(s && s2 && s3 && s->id != s2->id && s2->id != s3->id &&
		      s->id != s3->id);
		/* a file is not a directory */
		struct mbfs_dirent *v = NULL;
		size_t n = 0;
		struct mbfs_err err;
		if (s)
			CHECK_INT(mbfs_tree_list(t, s, &v, &n, NULL, &err),
				  MBFS_ERR_NOT_DIR);
	}
	/* the fixed directories never ask the server */
	CHECK_INT(fake_bulk_calls(&f), 0);
	CHECK_INT(f.n_databases_calls, 0);
	/* the root listing is always fresh */
	names_of(t, root, &st);
	CHECK_INT(st, MBFS_OK);
	mbfs_tree_lock(t);
	CHECK(mbfs_tree_node(t, mbfs_inode_number(MBFS_K_COLLECTION,
						  MBFS_FMT_NONE, 0)) == coll);
	CHECK(mbfs_tree_node(t, 12345) == NULL);
	mbfs_tree_unlock(t);
	mbfs_tree_free(t);
	fake_fini(&f);
}

static const char *FIRST =
	"Metric.csv|Metric.json|Model.csv|Model.json|Personal|"
	"Revenue [7].csv|Revenue [7].json|Revenue.csv|Revenue.json|Sub|"
	"a\xef\xbc\x8f" "b.csv|a\xef\xbc\x8f" "b.json";

static void check_file(struct mbfs_tree *t, struct mbfs_node *dir,
		       const char *name, enum mbfs_fmt fmt, int64_t id,
		       const char *raw)
{
	struct mbfs_node *n = find(t, dir, name);
	if (!n) {
		fprintf(stderr, "  %s not found\n", name);
		CHECK(false);
		return;
	}
	CHECK(n->ino == mbfs_inode_number(MBFS_K_CARD_FILE, fmt, id));
	CHECK_INT(n->kind, MBFS_K_CARD_FILE);
	CHECK_INT(n->fmt, fmt);
	CHECK_INT(n->id, id);
	if (raw)
		CHECK_STR(n->raw_name, raw);
}

/* A tree over f (csv and json); o is the caller's. */
static struct mbfs_tree *csv_json_tree(struct fake_client *f,
				       struct mbfs_options *o)
{
	opts_init(o, 2, CSV_JSON);
	return mbfs_tree_new(&f->base, o);
}

/* A tree over the fake's catalog (csv and json); f and o are the caller's. */
static struct mbfs_tree *catalog_tree(struct fake_client *f,
				      struct mbfs_options *o)
{
	fake_init(f);
	setup_catalog(f);
	return csv_json_tree(f, o);
}

static void test_collections(void)
{
	struct fake_client f;
	struct mbfs_options o;
	struct mbfs_tree *t = catalog_tree(&f, &o);
	struct mbfs_node *root = root_of(t);
	struct mbfs_node *coll = find(t, root, "collections");
	CHECK(coll != NULL);
	if (!coll)
		return;
	enum mbfs_status st;
	CHECK_STR(names_of(t, coll, &st), FIRST);
	CHECK_INT(st, MBFS_OK);
	/* one request per bulk list */
	CHECK_INT(fake_bulk_calls(&f), 1);

	check_file(t, coll, "Revenue.csv", MBFS_FMT_CSV, 3, "Revenue");
	check_file(t, coll, "Revenue.json", MBFS_FMT_JSON, 3, "Revenue");
	check_file(t, coll, "Revenue [7].csv", MBFS_FMT_CSV, 7, "Revenue");
	check_file(t, coll, "Revenue [7].json", MBFS_FMT_JSON, 7, "Revenue");
	check_file(t, coll, "a\xef\xbc\x8f" "b.csv", MBFS_FMT_CSV, 11, "a/b");
	check_file(t, coll, "Model.json", MBFS_FMT_JSON, 15, "Model");
	check_file(t, coll, "Metric.csv", MBFS_FMT_CSV, 16, "Metric");
	struct mbfs_node *rev = find(t, coll, "Revenue.csv");
	if (rev) {
		CHECK_INT(rev->model, MB_MODEL_CARD);
		CHECK_INT(rev->mtime, 1687148735);
		CHECK_STR(rev->updated_at, "2023-06-19T04:25:35.88483Z");
	}
	struct mbfs_node *model = find(t, coll, "Model.csv");
	CHECK(model && model->model == MB_MODEL_DATASET);
	struct mbfs_node *metric = find(t, coll, "Metric.csv");
	CHECK(metric && metric->model == MB_MODEL_METRIC);
	struct mbfs_node *r7 = find(t, coll, "Revenue [7].csv");
	CHECK(r7 && r7->mtime == 0);
	struct mbfs_node *sub = find(t, coll, "Sub");
	CHECK(sub != NULL);
	if (sub) {
		CHECK(sub->ino ==
		      mbfs_inode_number(MBFS_K_COLLECTION, MBFS_FMT_NONE, 20));
		CHECK_INT(sub->kind, MBFS_K_COLLECTION);
		CHECK_INT(sub->id, 20);
		CHECK_STR(sub->raw_name, "Sub");
	}
	/* not listed: archived, dashboard questions, pulses */
	CHECK(find(t, coll, "Old.csv") == NULL);
	CHECK(find(t, coll, "InDash.csv") == NULL);
	CHECK(find(t, coll, "Weekly") == NULL);
	CHECK(find(t, coll, "Weekly.csv") == NULL);
	CHECK(find(t, coll, "Archived coll") == NULL);
	/* cached: none of the above asked the server again */
	CHECK_INT(fake_bulk_calls(&f), 1);
	names_of(t, coll, &st);
	CHECK_INT(fake_bulk_calls(&f), 1);

	/* a sub-collection: its own listing, from the same lists (within
	 * meta_ttl: no request); ".." is not a usable name */
	if (sub) {
		CHECK_STR(names_of(t, sub, &st), ".. [22]|Inner.csv|Inner.json");
		CHECK_INT(fake_bulk_calls(&f), 1);
		check_file(t, sub, "Inner.csv", MBFS_FMT_CSV, 21, "Inner");
		struct mbfs_node *dd = find(t, sub, ".. [22]");
		CHECK(dd && dd->kind == MBFS_K_COLLECTION && dd->id == 22);
	}

	/* a new "Revenue" with a lower id: the cached listing does not move */
	add_item(&f, 0, MB_MODEL_CARD, 1, "Revenue", 0, false, NULL);
	int before = fake_bulk_calls(&f);
	CHECK_STR(names_of(t, coll, &st), FIRST);
	CHECK_INT(fake_bulk_calls(&f), before);
	/* touch: the three lists fetched again, re-listed, and "Revenue.csv"
	 * stays on card 3 (sticky) */
	invalidate(t, coll);
	CHECK_STR(names_of(t, coll, &st),
		  "Metric.csv|Metric.json|Model.csv|Model.json|Personal|"
		  "Revenue [1].csv|Revenue [1].json|"
		  "Revenue [7].csv|Revenue [7].json|Revenue.csv|Revenue.json|Sub|"
		  "a\xef\xbc\x8f" "b.csv|a\xef\xbc\x8f" "b.json");
	CHECK_INT(fake_bulk_calls(&f), before + 1);
	check_file(t, coll, "Revenue.csv", MBFS_FMT_CSV, 3, "Revenue");
	check_file(t, coll, "Revenue.json", MBFS_FMT_JSON, 3, "Revenue");
	check_file(t, coll, "Revenue [1].csv", MBFS_FMT_CSV, 1, "Revenue");
	check_file(t, coll, "Revenue [7].json", MBFS_FMT_JSON, 7, "Revenue");
	/* the same node objects as before (inode numbers are identities) */
	CHECK(find(t, coll, "Revenue.csv") == rev);
	CHECK(find(t, coll, "Revenue [7].csv") == r7);

	/* a fresh mount (no previous names): the lowest id wins */
	struct mbfs_tree *t2 = mbfs_tree_new(&f.base, &o);
	struct mbfs_node *coll2 = find(t2, root_of(t2), "collections");
	CHECK(coll2 != NULL);
	if (coll2) {
		names_of(t2, coll2, &st);
		check_file(t2, coll2, "Revenue.csv", MBFS_FMT_CSV, 1, "Revenue");
		check_file(t2, coll2, "Revenue [3].csv", MBFS_FMT_CSV, 3,
			   "Revenue");
	}
	mbfs_tree_free(t2);

	/* card 3 renamed on the server: it loses "Revenue.csv" (its plain
	 * name changed), card 1 gets it, card 3 keeps its inode */
	fake_lock(&f);
	f.items[0].name = "Income";
	fake_unlock(&f);
	invalidate(t, coll);
	names_of(t, coll, &st);
	check_file(t, coll, "Income.csv", MBFS_FMT_CSV, 3, "Income");
	check_file(t, coll, "Revenue.csv", MBFS_FMT_CSV, 1, "Revenue");
	check_file(t, coll, "Revenue [7].csv", MBFS_FMT_CSV, 7, "Revenue");
	CHECK(find(t, coll, "Income.csv") == rev);

	/* a failing refresh (the server unreachable: every list fails) keeps
	 * the previous listing ... */
	const char *good = names_of(t, coll, &st);
	char saved[4096];
	snprintf(saved, sizeof saved, "%s", good);
	fail_bulk(&f, MBFS_ERR_NETWORK);
	before = fake_bulk_calls(&f);
	invalidate(t, coll);
	struct mbfs_dirent *v = NULL;
	size_t n = 0;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_tree_list(t, coll, &v, &n, NULL, &err), MBFS_OK);
	CHECK_INT(err.status, MBFS_OK);
	CHECK(n > 0);
	mbfs_tree_free_snapshot(v, n);
	CHECK_INT(fake_bulk_calls(&f), before + 1);
	CHECK_STR(names_of(t, coll, &st), saved);
	CHECK_INT(st, MBFS_OK);
	/* ... and does not hammer the server (retry after error_ttl) */
	CHECK_INT(fake_bulk_calls(&f), before + 1);
	CHECK(find(t, coll, "Income.csv") == rev);
	if (sub)
		names_of(t, sub, &st);
	CHECK_INT(fake_bulk_calls(&f), before + 1);
	/* the server is back: SIGHUP re-lists everything */
	fail_bulk(&f, MBFS_OK);
	fake_lock(&f);
	f.items[0].name = "Revenue";
	fake_unlock(&f);
	mbfs_tree_invalidate_all(t);
	names_of(t, coll, &st);
	CHECK_INT(fake_bulk_calls(&f), before + 2);
	check_file(t, coll, "Revenue.csv", MBFS_FMT_CSV, 1, "Revenue");
	check_file(t, coll, "Revenue [3].csv", MBFS_FMT_CSV, 3, "Revenue");

	mbfs_tree_free(t);

	/* the very first listing fails: the error comes back — whichever of
	 * the three lists fails, a listing needs all of them */
	enum mbfs_status *fails[] = {&f.fail_collections, &f.fail_dashboards,
				     &f.fail_cards};
	for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
		fake_lock(&f);
		*fails[i] = MBFS_ERR_DENIED;
		fake_unlock(&f);
		t = mbfs_tree_new(&f.base, &o);
		coll = find(t, root_of(t), "collections");
		CHECK(coll != NULL);
		if (coll) {
			mbfs_err_clear(&err);
			v = NULL;
			n = 0;
			CHECK_INT(mbfs_tree_list(t, coll, &v, &n, NULL, &err),
				  MBFS_ERR_DENIED);
			CHECK_INT(err.status, MBFS_ERR_DENIED);
			struct mbfs_node *x = NULL;
			CHECK_INT(mbfs_tree_find(t, coll, "Revenue.csv", &x, &err),
				  MBFS_ERR_DENIED);
			/* the server is back: the lists' failure is remembered
			 * for error_ttl (the meta cache, as for cards/), not
			 * asked again; a touch forgets it */
			fake_lock(&f);
			*fails[i] = MBFS_OK;
			fake_unlock(&f);
			int calls = fake_list_calls(&f, MB_LIST_COLLECTIONS);
			names_of(t, coll, &st);
			CHECK_INT(st, MBFS_ERR_DENIED);
			CHECK_INT(fake_list_calls(&f, MB_LIST_COLLECTIONS), calls);
			invalidate(t, coll);
			names_of(t, coll, &st);
			CHECK_INT(st, MBFS_OK);
			CHECK(find(t, coll, "Revenue.csv") != NULL);
		}
		mbfs_tree_free(t);
	}
	fake_fini(&f);
}

/* The listing's identity (list_gen): the same after a re-list that found
 * the same listing, new after a change that keeps the number of entries,
 * unchanged by a failed refresh, never reused. */
static uint64_t gen_of(struct mbfs_tree *t, struct mbfs_node *dir)
{
	struct mbfs_dirent *v = NULL;
	size_t n = 0;
	uint64_t gen = 0;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_tree_list(t, dir, &v, &n, &gen, &err), MBFS_OK);
	mbfs_tree_free_snapshot(v, n);
	return gen;
}

static void test_list_gen(void)
{
	struct fake_client f;
	struct mbfs_options o;
	struct mbfs_tree *t = catalog_tree(&f, &o);
	struct mbfs_node *coll = find(t, root_of(t), "collections");
	CHECK(coll != NULL);
	if (!coll) {
		mbfs_tree_free(t);
		fake_fini(&f);
		return;
	}
	uint64_t g1 = gen_of(t, coll);
	CHECK(g1 != 0);
	CHECK(gen_of(t, coll) == g1);         /* cached */
	invalidate(t, coll);
	CHECK(gen_of(t, coll) == g1);         /* re-listed, the same */
	CHECK_INT(fake_bulk_calls(&f), 2);
	/* a rename that keeps the count (and the length of the name) */
	fake_lock(&f);
	f.items[2].name = "a/c";
	fake_unlock(&f);
	invalidate(t, coll);
	uint64_t g2 = gen_of(t, coll);
	CHECK(g2 != g1 && g2 != 0);
	CHECK(find(t, coll, "a\xef\xbc\x8f" "c.csv") != NULL);
	/* a failed refresh keeps the listing and its identity (a rename the
	 * failed lists would have brought is not seen) */
	fail_bulk(&f, MBFS_ERR_NETWORK);
	fake_lock(&f);
	f.items[2].name = "a/d";
	fake_unlock(&f);
	invalidate(t, coll);
	CHECK(gen_of(t, coll) == g2);
	CHECK_INT(fake_bulk_calls(&f), 4);
	CHECK(find(t, coll, "a\xef\xbc\x8f" "c.csv") != NULL);
	fail_bulk(&f, MBFS_OK);
	fake_lock(&f);
	f.items[2].name = "a/b";              /* back to the first names ... */
	fake_unlock(&f);
	mbfs_tree_invalidate_all(t);
	uint64_t g3 = gen_of(t, coll);
	CHECK(g3 != g1 && g3 != g2);          /* ... under a new identity */
	mbfs_tree_free(t);
	fake_fini(&f);
}

static void test_formats(void)
{
	struct fake_client f;
	fake_init(&f);
	add_item(&f, 0, MB_MODEL_CARD, 3, "Revenue", 0, false, NULL);
	add_item(&f, 0, MB_MODEL_COLLECTION, 4, "Revenue", 0, false, NULL);
	static const char *const three[] = {"xlsx", "csv", "json"};
	struct mbfs_options o;
	opts_init(&o, 3, three);
	struct mbfs_tree *t = mbfs_tree_new(&f.base, &o);
	struct mbfs_node *coll = find(t, root_of(t), "collections");
	enum mbfs_status st;
	if (coll) {
		/* a collection and a card of the same name do not collide */
		CHECK_STR(names_of(t, coll, &st),
			  "Personal|Revenue|Revenue.csv|Revenue.json|Revenue.xlsx");
		struct mbfs_node *x = find(t, coll, "Revenue.xlsx");
		CHECK(x && x->fmt == MBFS_FMT_XLSX && x->id == 3);
		CHECK(x && x->kind == MBFS_K_CARD_FILE);
		struct mbfs_node *d = find(t, coll, "Revenue");
		CHECK(d && d->kind == MBFS_K_COLLECTION && d->id == 4);
	}
	mbfs_tree_free(t);

	static const char *const one[] = {"csv"};
	opts_init(&o, 1, one);
	t = mbfs_tree_new(&f.base, &o);
	coll = find(t, root_of(t), "collections");
	if (coll)
		CHECK_STR(names_of(t, coll, &st), "Personal|Revenue|Revenue.csv");
	mbfs_tree_free(t);
	fake_fini(&f);
}

/* Which objects a collection directory shows, from the bulk lists: child
 * collections by their nearest readable ancestor (else the root), never
 * personal ones; dashboards and cards by collection, not archived, not
 * dashboard questions. */
static void test_bulk_placement(void)
{
	struct fake_client f;
	fake_init(&f);
	add_item(&f, 0, MB_MODEL_COLLECTION, 30, "Team", 0, false, NULL);
	/* 50 is not in the list (unreadable): 31 shows at the root */
	add_item(&f, 50, MB_MODEL_COLLECTION, 31, "Orphan", 0, false, NULL);
	add_item(&f, 31, MB_MODEL_COLLECTION, 32, "Deep", 0, false, NULL);
	add_item(&f, 0, MB_MODEL_COLLECTION, 40, "Ada's Personal Collection",
		 0, false, NULL);
	f.items[f.n_items - 1].personal_owner_id = 2;
	add_item(&f, 40, MB_MODEL_COLLECTION, 41, "In personal", 0, false, NULL);
	add_item(&f, 30, MB_MODEL_DASHBOARD, 60, "Board", 0, false, NULL);
	add_item(&f, 30, MB_MODEL_DASHBOARD, 61, "Old board", 0, true, NULL);
	add_item(&f, 30, MB_MODEL_CARD, 70, "In board", 60, false, NULL);
	add_item(&f, 30, MB_MODEL_CARD, 71, "Q", 0, false, NULL);
	add_item(&f, 41, MB_MODEL_METRIC, 72, "M", 0, false, NULL);
	struct mbfs_options o;
	struct mbfs_tree *t = csv_json_tree(&f, &o);
	struct mbfs_node *coll = find(t, root_of(t), "collections");
	CHECK(coll != NULL);
	if (coll) {
		enum mbfs_status st;
		CHECK_STR(names_of(t, coll, &st), "Orphan|Personal|Team");
		struct mbfs_node *team = find(t, coll, "Team");
		CHECK_STR(team ? names_of(t, team, &st) : "", "Board|Q.csv|Q.json");
		struct mbfs_node *board = team ? find(t, team, "Board") : NULL;
		CHECK(board && board->kind == MBFS_K_DASHBOARD && board->id == 60);
		struct mbfs_node *orphan = find(t, coll, "Orphan");
		CHECK_STR(orphan ? names_of(t, orphan, &st) : "", "Deep");
		/* four directories, one request per list */
		CHECK_INT(fake_bulk_calls(&f), 1);
		/* touch of one collection refetches the three lists */
		if (team) {
			invalidate(t, team);
			CHECK_STR(names_of(t, team, &st), "Board|Q.csv|Q.json");
			CHECK_INT(fake_bulk_calls(&f), 2);
		}
	}
	mbfs_tree_free(t);
	fake_fini(&f);
}

static void test_cards_dir(void)
{
	struct fake_client f;
	fake_init(&f);
	setup_catalog(&f);
	f.cards[0] = (struct fake_card){3, "Revenue", false, NULL};
	f.cards[1] = (struct fake_card){7, "Revenue", false, "2023-06-05"};
	f.cards[2] = (struct fake_card){12, "Old", true, NULL};
	f.cards[3] = (struct fake_card){100, "a/b", false, NULL};
	f.n_cards = 4;
	struct mbfs_options o;
	opts_init(&o, 2, CSV_JSON);
	struct mbfs_tree *t = mbfs_tree_new(&f.base, &o);
	struct mbfs_node *root = root_of(t);
	struct mbfs_node *cards = find(t, root, "cards");
	struct mbfs_node *coll = find(t, root, "collections");
	enum mbfs_status st;
	CHECK(cards && coll);
	if (!cards || !coll)
		return;
	/* one card list for cards/ and the collections: every card of the
	 * catalog but the archived one (12), dashboard questions (13) too */
	CHECK_STR(names_of(t, cards, &st),
		  "100.csv|100.json|11.csv|11.json|13.csv|13.json|"
		  "15.csv|15.json|16.csv|16.json|21.csv|21.json|"
		  "3.csv|3.json|7.csv|7.json");
	CHECK_INT(f.n_cards_calls, 1);
	struct mbfs_node *c3 = find(t, cards, "3.csv");
	CHECK(c3 && c3->ino == mbfs_inode_number(MBFS_K_CARD_FILE,
						 MBFS_FMT_CSV, 3));
	CHECK(c3 && c3->kind == MBFS_K_CARD_FILE && c3->id == 3);
	struct mbfs_node *c7 = find(t, cards, "7.json");
	CHECK(c7 && c7->ino == mbfs_inode_number(MBFS_K_CARD_FILE,
						 MBFS_FMT_JSON, 7));
	CHECK(c7 && c7->mtime == 1685923200);
	/* the same card in collections/ is the same inode */
	names_of(t, coll, &st);
	CHECK(find(t, coll, "Revenue.csv") == c3);
	CHECK(find(t, coll, "Revenue [7].json") == c7);
	/* card 100, in the root collection: the same name as card 11 */
	struct mbfs_node *c100 = find(t, cards, "100.csv");
	CHECK(c100 && find(t, coll, "a\xef\xbc\x8f" "b [100].csv") == c100);
	CHECK_INT(f.n_cards_calls, 1);

	/* 64-bit ids: two cards whose ids agree in their low 48 bits (the
	 * old packing made them one inode and one result) stay two */
	mbfs_tree_free(t);
	int64_t big = INT64_C(1) << 50, twin = big + (INT64_C(1) << 48);
	f.cards[0] = (struct fake_card){big, "Big", false, NULL};
	f.cards[1] = (struct fake_card){twin, "Twin", false, NULL};
	f.n_cards = 2;
	t = mbfs_tree_new(&f.base, &o);
	cards = find(t, root_of(t), "cards");
	char nb[32], nt[32];
	snprintf(nb, sizeof nb, "%lld.csv", (long long)big);
	snprintf(nt, sizeof nt, "%lld.csv", (long long)twin);
	struct mbfs_node *b = cards ? find(t, cards, nb) : NULL;
	struct mbfs_node *w = cards ? find(t, cards, nt) : NULL;
	CHECK(b && w && b != w);
	if (b && w) {
		CHECK(b->id == big && w->id == twin);
		CHECK(b->ino != w->ino);
		CHECK(b->ino >= MBFS_INO_BIG_BASE && b->ino < MBFS_INO_ALIAS_BASE);
		mbfs_tree_lock(t);
		CHECK(mbfs_tree_node(t, b->ino) == b);
		CHECK(mbfs_tree_node(t, w->ino) == w);
		mbfs_tree_unlock(t);
	}
	f.cards[0] = (struct fake_card){3, "Revenue", false, NULL};
	f.cards[1] = (struct fake_card){7, "Revenue", false, "2023-06-05"};
	f.n_cards = 4;

	/* a failing cards listing that was never good: the error */
	mbfs_tree_free(t);
	f.fail_cards = MBFS_ERR_HTTP;
	t = mbfs_tree_new(&f.base, &o);
	cards = find(t, root_of(t), "cards");
	if (cards) {
		names_of(t, cards, &st);
		CHECK_INT(st, MBFS_ERR_HTTP);
	}
	mbfs_tree_free(t);
	fake_fini(&f);
}

static void test_databases(void)
{
	struct fake_client f;
	fake_init(&f);
	f.dbs[0] = (struct fake_db){1, "Sample Database"};
	f.dbs[1] = (struct fake_db){2, "Sample Database"};
	f.dbs[2] = (struct fake_db){3, "a/b"};
	f.n_dbs = 3;
	f.schemas[0] = (struct fake_schema){1, "PUBLIC"};
	f.schemas[1] = (struct fake_schema){1, "analytics"};
	f.schemas[2] = (struct fake_schema){3, "PUBLIC"};
	f.n_schemas = 3;
	f.tables[0] = (struct fake_table){5, 1, "PUBLIC", "ORDERS", true, false};
	f.tables[1] = (struct fake_table){6, 1, "PUBLIC", "PEOPLE", true, false};
	f.tables[2] = (struct fake_table){7, 1, "PUBLIC", "SECRET", true, true};
	f.tables[3] = (struct fake_table){8, 1, "PUBLIC", "GONE", false, false};
	f.tables[4] = (struct fake_table){9, 1, "analytics", "EVENTS", true, false};
	f.tables[5] = (struct fake_table){10, 3, "PUBLIC", "ORDERS", true, false};
	f.n_tables = 6;
	struct mbfs_options o;
	opts_init(&o, 2, CSV_JSON);
	struct mbfs_tree *t = mbfs_tree_new(&f.base, &o);
	struct mbfs_node *dbs = find(t, root_of(t), "databases");
	enum mbfs_status st;
	CHECK(dbs != NULL);
	if (!dbs)
		return;
	CHECK_STR(names_of(t, dbs, &st),
		  "Sample Database|Sample Database [2]|a\xef\xbc\x8f" "b");
	struct mbfs_node *db1 = find(t, dbs, "Sample Database");
	CHECK(db1 && db1->kind == MBFS_K_DATABASE && db1->id == 1);
	CHECK(db1 && db1->ino == mbfs_inode_number(MBFS_K_DATABASE,
						   MBFS_FMT_NONE, 1));
	struct mbfs_node *db2 = find(t, dbs, "Sample Database [2]");
	CHECK(db2 && db2->id == 2);
	if (!db1 || !db2)
		return;
	CHECK_STR(names_of(t, db1, &st), "PUBLIC|analytics");
	CHECK_STR(names_of(t, db2, &st), "");
	CHECK_INT(st, MBFS_OK);
	struct mbfs_node *pub = find(t, db1, "PUBLIC");
	CHECK(pub != NULL);
	if (!pub)
		return;
	CHECK_INT(pub->kind, MBFS_K_SCHEMA);
	CHECK_INT(pub->id, mbfs_inode_hash_id(1, "PUBLIC"));
	CHECK_INT(pub->db_id, 1);
	CHECK_STR(pub->schema, "PUBLIC");
	CHECK_STR(names_of(t, pub, &st),
		  "ORDERS.csv|ORDERS.json|PEOPLE.csv|PEOPLE.json");
	struct mbfs_node *orders = find(t, pub, "ORDERS.csv");
	CHECK(orders != NULL);
	if (orders) {
		CHECK(orders->ino ==
		      mbfs_inode_number(MBFS_K_TABLE_FILE, MBFS_FMT_CSV, 5));
		CHECK_INT(orders->kind, MBFS_K_TABLE_FILE);
		CHECK_INT(orders->db_id, 1);
		CHECK_INT(orders->id, 5);
		CHECK_STR(orders->raw_name, "ORDERS");
	}
	struct mbfs_node *pj = find(t, pub, "PEOPLE.json");
	CHECK(pj && pj->kind == MBFS_K_TABLE_FILE && pj->id == 6 &&
	      pj->fmt == MBFS_FMT_JSON);
	struct mbfs_node *an = find(t, db1, "analytics");
	if (an)
		CHECK_STR(names_of(t, an, &st), "EVENTS.csv|EVENTS.json");
	/* the same schema name in another database is another directory */
	struct mbfs_node *db3 = find(t, dbs, "a\xef\xbc\x8f" "b");
	if (db3) {
		struct mbfs_node *pub3 = find(t, db3, "PUBLIC");
		CHECK(pub3 && pub3 != pub);
		CHECK(pub3 && pub3->db_id == 3);
		if (pub3) {
			CHECK_STR(names_of(t, pub3, &st), "ORDERS.csv|ORDERS.json");
			struct mbfs_node *o3 = find(t, pub3, "ORDERS.csv");
			CHECK(o3 && o3->id == 10 && o3->db_id == 3);
		}
	}
	CHECK_INT(f.n_databases_calls, 1);
	CHECK_INT(f.n_schemas_calls, 2 + 1);
	mbfs_tree_free(t);
	fake_fini(&f);
}

struct lister {
	struct mbfs_tree *t;
	struct mbfs_node *dir;
	enum mbfs_status st;
	size_t n;
	pthread_t th;
};

static void *lister_main(void *arg)
{
	struct lister *l = arg;
	struct mbfs_dirent *v = NULL;
	struct mbfs_err err;
	l->st = mbfs_tree_list(l->t, l->dir, &v, &l->n, NULL, &err);
	if (l->st == MBFS_OK)
		mbfs_tree_free_snapshot(v, l->n);
	return NULL;
}

/* N listers of dirs[i % n_dirs], all started before any ends; their
 * results in l. */
static void run_listers(struct mbfs_tree *t, struct mbfs_node *const *dirs,
			int n_dirs, struct lister *l, int n)
{
	for (int i = 0; i < n; i++) {
		l[i].t = t;
		l[i].dir = dirs[i % n_dirs];
		pthread_create(&l[i].th, NULL, lister_main, &l[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(l[i].th, NULL);
}

static void test_single_flight(void)
{
	enum { N = 6 };
	struct fake_client f;
	fake_init(&f);
	setup_catalog(&f);
	f.list_delay_us = 100000;
	struct mbfs_options o;
	opts_init(&o, 2, CSV_JSON);
	struct mbfs_tree *t = mbfs_tree_new(&f.base, &o);
	struct mbfs_node *coll = find(t, root_of(t), "collections");
	if (!coll)
		return;
	struct lister l[N];
	run_listers(t, &coll, 1, l, N);
	/* one fetch of each list */
	CHECK_INT(fake_bulk_calls(&f), 1);
	for (int i = 0; i < N; i++) {
		CHECK_INT(l[i].st, MBFS_OK);
		CHECK_INT(l[i].n, 12);   /* with collections/Personal */
	}
	/* two directories re-listed at once (after SIGHUP): they share one
	 * fetch of each list too */
	struct mbfs_node *two[2] = {coll, find(t, coll, "Sub")};
	CHECK(two[1] != NULL);
	if (two[1]) {
		mbfs_tree_invalidate_all(t);
		run_listers(t, two, 2, l, N);
		CHECK_INT(fake_bulk_calls(&f), 2);
		for (int i = 0; i < N; i++) {
			CHECK_INT(l[i].st, MBFS_OK);
			CHECK_INT(l[i].n, i % 2 ? 3 : 12);
		}
	}
	mbfs_tree_free(t);
	fake_fini(&f);
}

static void test_parse_time(void)
{
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35.88483"), 1687148735);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35.88483Z"), 1687148735);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35Z"), 1687148735);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19 04:25:35"), 1687148735);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35.88483-07:00"),
		  1687148735 + 7 * 3600);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35.123+05:30"),
		  1687148735 - 5 * 3600 - 30 * 60);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19T04:25:35+00:00"), 1687148735);
	CHECK_INT(mbfs_tree_parse_time("2023-06-05"), 1685923200);
	CHECK_INT(mbfs_tree_parse_time("2024-02-29T23:59:59.999999Z"), 1709251199);
	CHECK_INT(mbfs_tree_parse_time("garbage"), 0);
	CHECK_INT(mbfs_tree_parse_time(""), 0);
	CHECK_INT(mbfs_tree_parse_time(NULL), 0);
	CHECK_INT(mbfs_tree_parse_time("2023-06-19Tgarbage"), 0);
}

int main(void)
{
	mbfs_log_set_level(MBFS_LOG_ERROR);
	test_root();
	test_collections();
	test_list_gen();
	test_formats();
	test_bulk_placement();
	test_cards_dir();
	test_databases();
	test_single_flight();
	test_parse_time();
	return check_done();
}
