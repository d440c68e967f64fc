/*
 * test_namespace.c — unit tests of the namespace (tree.c) against an in-memory
 * client: the root, collections with dashboards and .sql files, the fixed
 * Personal/ entry against a real collection of that name, personal
 * collections named after their owners, dashboards in both places with
 * distinct directory inodes and shared file inodes, tabs in tab order,
 * skipped text/unreadable/archived dashcards, the collision rule keyed by
 * dashcard id, dashcard export keys and parameters, cards/, metadata/ for
 * admins and users, shared fetches, and the gone hook on re-listing.
 * Collections come from the bulk lists (never GET /api/collection/:id/items).
 */
#include "check.h"
#include "fake.h"
#include "tree.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Collection directories are built from the three bulk lists (CARDS,
 * DASHBOARDS, COLLECTIONS), as the server sends them: the root holds Sales
 * (3), a collection named Personal (7), the card Orders (1), the
 * dashboard KPIs (2), a dashboard question (36) and an archived card (31);
 * Sales holds the cards Revenue (3, native) and Revenue (4, a model) and
 * the dashboard Sales overview (1). CARDS_WITH(name of card 4). */
#define CARDS_WITH(name4)                                                     \
	"[{\"id\": 3, \"name\": \"Revenue\", \"collection_id\": 3, \"type\": \"question\","   \
	"  \"query_type\": \"native\", \"updated_at\": \"2025-03-07T12:00:00Z\","             \
	"  \"dataset_query\": {\"type\": \"native\", \"native\": {\"query\": \"SELECT 1\"}}},"  \
	" {\"id\": 1, \"name\": \"Orders\", \"collection_id\": null, \"query_type\": \"query\"},"   \
	" {\"id\": 4, \"name\": \"" name4 "\", \"collection_id\": 3, \"type\": \"model\"},"      \
	" {\"id\": 31, \"name\": \"Old\", \"collection_id\": null, \"archived\": true},"         \
	" {\"id\": 36, \"name\": \"In a dashboard\", \"collection_id\": null, \"dashboard_id\": 2," \
	"  \"dataset_query\": {\"lib/type\": \"mbql/query\", \"stages\": [{\"lib/type\": \"mbql.stage/native\"," \
	"   \"native\": \"SELECT 36\"}]}}]"
static const char *CARDS = CARDS_WITH("Revenue");
static const char *CARDS_RENAMED = CARDS_WITH("Cost");
static const char *DASH1 =
	"{\"id\": 1, \"name\": \"Sales overview\", \"updated_at\": \"2025-04-01T00:00:00Z\","
	" \"parameters\": [{\"id\": \"p_cat\", \"type\": \"category\", \"default\": \"Gizmo\"}, {\"id\": \"p2\"}],"
	" \"ordered_tabs\": [],"
	" \"ordered_cards\": ["
	"  {\"id\": 10, \"card_id\": null, \"row\": 0, \"col\": 0, \"card\": {\"query_average_duration\": null},"
	"   \"visualization_settings\": {\"virtual_card\": {\"display\": \"text\"}, \"text\": \"hi\"}},"
	"  {\"id\": 12, \"card_id\": 3, \"row\": 2, \"col\": 0, \"card\": {\"id\": 3, \"name\": \"Revenue\"}},"
	"  {\"id\": 11, \"card_id\": 3, \"row\": 1, \"col\": 0, \"card\": {\"id\": 3, \"name\": \"Revenue\"}},"
	"  {\"id\": 13, \"card_id\": 19, \"row\": 3, \"col\": 0, \"card\": {\"id\": 19}},"
	"  {\"id\": 14, \"card_id\": 4, \"row\": 4, \"col\": 0, \"card\": {\"id\": 4, \"name\": \"Revenue\", \"dataset\": true},"
	"   \"visualization_settings\": {\"card.title\": \"A/B\"}},"
	"  {\"id\": 15, \"card_id\": 9, \"row\": 5, \"col\": 0, \"card\": {\"id\": 9, \"name\": \"Gone\", \"archived\": true}}]}";
static const char *DASH2 =
	"{\"id\": 2, \"name\": \"KPIs\", \"parameters\": [],"
	" \"tabs\": [{\"id\": 6, \"name\": \"Alpha\", \"position\": 1}, {\"id\": 5, \"name\": \"Zeta\", \"position\": 0}],"
	" \"dashcards\": ["
	"  {\"id\": 21, \"card_id\": 36, \"dashboard_tab_id\": 6, \"card\": {\"id\": 36, \"name\": \"In a dashboard\"}},"
	"  {\"id\": 20, \"card_id\": 1, \"dashboard_tab_id\": 5, \"card\": {\"id\": 1, \"name\": \"Orders\"}}]}";
/* DASHBOARDS_WITH(collection of dashboard 1) */
#define DASHBOARDS_WITH(coll1)                                                \
	"[{\"id\": 1, \"name\": \"Sales overview\", \"collection_id\": " coll1 "},"      \
	" {\"id\": 2, \"name\": \"KPIs\", \"collection_id\": null},"                     \
	" {\"id\": 5, \"name\": \"Retired\", \"collection_id\": 3, \"archived\": true}]"
static const char *DASHBOARDS = DASHBOARDS_WITH("3");
/* the root collection, personal collections (one with a child, 11), the
 * Trash and a collection of another namespace (neither listed) */
static const char *COLLECTIONS =
	"[{\"id\": \"root\", \"name\": \"Our analytics\"},"
	" {\"id\": 1, \"name\": \"Bobby Tables's Personal Collection\", \"personal_owner_id\": 1, \"location\": \"/\"},"
	" {\"id\": 2, \"name\": \"Ada Analyst's Personal Collection\", \"personal_owner_id\": 2, \"location\": \"/\"},"
	" {\"id\": 9, \"name\": \"Nobody's Personal Collection\", \"personal_owner_id\": 99, \"location\": \"/\"},"
	" {\"id\": 11, \"name\": \"Scratch\", \"personal_owner_id\": null, \"location\": \"/1/\"},"
	" {\"id\": 3, \"name\": \"Sales\", \"location\": \"/\"},"
	" {\"id\": 7, \"name\": \"Personal\", \"location\": \"/\"},"
	" {\"id\": 12, \"name\": \"Trash\", \"type\": \"trash\", \"location\": \"/\"},"
	" {\"id\": 13, \"name\": \"Snippet folder\", \"namespace\": \"snippets\", \"location\": \"/\"}]";
static const char *ADMIN =
	"{\"id\": 1, \"email\": \"a@x\", \"first_name\": \"Bobby\", \"last_name\": \"Tables\", \"is_superuser\": true}";
static const char *USER =
	"{\"id\": 2, \"email\": \"u@x\", \"common_name\": \"Ada Analyst\", \"is_superuser\": false}";
static const char *USERS =
	"{\"data\": [{\"id\": 1, \"common_name\": \"Bobby Tables\"}, {\"id\": 2, \"common_name\": \"Ada Analyst\"}],"
	" \"total\": 2}";

static struct mbfs_options opts;

static void setup_options(void)
{
	memset(&opts, 0, sizeof opts);
	opts.url = (char *)"http://mb";
	opts.formats[0] = (char *)"csv";
	opts.formats[1] = (char *)"json";
	opts.n_formats = 2;
	opts.meta_ttl = 60;
	opts.result_ttl = 60;
	opts.error_ttl = 10;
}

static struct fake_client *server(const char *me)
{
	struct fake_client *f = fake_new();
	fake_set(f, "dashboard:1", DASH1, MBFS_OK);
	fake_set(f, "dashboard:2", DASH2, MBFS_OK);
	fake_set(f, "user", me, MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_CARDS), CARDS, MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS), COLLECTIONS, MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_DASHBOARDS), DASHBOARDS, MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_DATABASES), "{\"data\": [{\"id\": 1, \"name\": \"Sample\"}]}", MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_USERS), USERS, MBFS_OK);
	return f;
}

/* The listing of dir as "name name ..." in readdir order. */
static char *listing(struct mbfs_tree *t, struct mbfs_node *dir)
{
	struct mbfs_dirent *v = NULL;
	size_t n = 0;
	struct mbfs_err err;
	static char out[4096];
	out[0] = '\0';
	if (mbfs_tree_list(t, dir, &v, &n, NULL, &err) != MBFS_OK) {
		snprintf(out, sizeof out, "ERROR %s", err.msg);
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			strncat(out, "|", sizeof out - strlen(out) - 1);
		strncat(out, v[i].name, sizeof out - strlen(out) - 1);
	}
	mbfs_tree_free_snapshot(v, n);
	return out;
}

static struct mbfs_node *find(struct mbfs_tree *t, struct mbfs_node *dir,
			      const char *name)
{
	struct mbfs_node *n = NULL;
	struct mbfs_err err;
	if (!dir || mbfs_tree_find(t, dir, name, &n, &err) != MBFS_OK)
		return NULL;
	return n;
}

/* find() for a test that reads the node's fields: a missing name is a
 * failed check (and an empty node, not a crash). */
static struct mbfs_node *found(struct mbfs_tree *t, struct mbfs_node *dir,
			       const char *name)
{
	static struct mbfs_node none;
	struct mbfs_node *n = find(t, dir, name);
	if (!n) {
		fprintf(stderr, "  %s not found\n", name);
		CHECK(n != NULL);
		memset(&none, 0, sizeof none);
	}
	return n ? n : &none;
}

static struct mbfs_node *root_of(struct mbfs_tree *t)
{
	mbfs_tree_lock(t);
	struct mbfs_node *r = mbfs_tree_node(t, 1);
	mbfs_tree_unlock(t);
	return r;
}

struct gone_log {
	char names[16][64];
	uint64_t parents[16];
	int n;
};

static void on_gone(void *arg, uint64_t parent, const char *name)
{
	struct gone_log *g = arg;
	if (g->n < 16) {
		g->parents[g->n] = parent;
		snprintf(g->names[g->n++], 64, "%s", name);
	}
}

static void test_admin_tree(void)
{
	struct fake_client *f = server(ADMIN);
	struct mbfs_tree *t = mbfs_tree_new(&f->base, &opts);
	struct mbfs_node *root = root_of(t);
	CHECK_STR(listing(t, root), ".mbfs|cards|collections|dashboards|databases|metadata|public|queries");

	struct mbfs_node *colls = find(t, root, "collections");
	/* the fixed Personal/ keeps its name; dashboard questions and
	 * archived cards are not in the collection; no .sql for MBQL cards;
	 * personal collections (and their children), the Trash and other
	 * namespaces are not listed */
	CHECK_STR(listing(t, colls),
		  "KPIs|Orders.csv|Orders.json|Personal|Personal [7]|Sales");
	CHECK(found(t, colls, "Personal")->kind == MBFS_K_PERSONAL_DIR);
	CHECK(found(t, colls, "Personal [7]")->kind == MBFS_K_COLLECTION);

	struct mbfs_node *sales = find(t, colls, "Sales");
	CHECK_STR(listing(t, sales),
		  "Revenue [4].csv|Revenue [4].json|Revenue.csv|Revenue.json|Revenue.sql|Sales overview");
	struct mbfs_node *sql = found(t, sales, "Revenue.sql");
	CHECK(sql && sql->kind == MBFS_K_SQL_FILE && sql->id == 3);
	CHECK_STR(sql->sql, "SELECT 1");
	struct mbfs_node *csv = found(t, sales, "Revenue.csv");
	CHECK(csv && csv->sql == NULL);
	CHECK(csv->kind == MBFS_K_CARD_FILE && csv->id == 3 &&
	      csv->fmt == MBFS_FMT_CSV);
	/* the card's updated_at */
	CHECK_INT(csv->mtime, mbfs_tree_parse_time("2025-03-07T12:00:00Z"));
	CHECK_INT(found(t, sales, "Revenue [4].csv")->model, MB_MODEL_DATASET);

	/* a dashboard: layout order, text/unreadable/archived skipped, the
	 * same card twice keyed by dashcard id, title override escaped */
	struct mbfs_node *d1 = found(t, sales, "Sales overview");
	CHECK(d1 && d1->kind == MBFS_K_DASHBOARD);
	CHECK_STR(listing(t, d1),
		  "Revenue.csv|Revenue.json|Revenue [12].csv|Revenue [12].json|A／B.csv|A／B.json");
	struct mbfs_node *dc = found(t, d1, "Revenue [12].csv");
	CHECK(dc && dc->kind == MBFS_K_DASHCARD_FILE && dc->id == 12 &&
	      dc->card_id == 3 && dc->dashboard_id == 1);
	CHECK_STR(dc->params, "[{\"id\":\"p_cat\",\"type\":\"category\",\"value\":\"Gizmo\"}]");
	CHECK_INT(found(t, d1, "A／B.json")->model, MB_MODEL_DATASET);

	/* dashboards/: by id, archived ones absent; another directory inode,
	 * the same file inodes */
	struct mbfs_node *dashes = find(t, root, "dashboards");
	CHECK_STR(listing(t, dashes), "1|2");
	struct mbfs_node *b1 = find(t, dashes, "1");
	CHECK(b1 && b1->kind == MBFS_K_DASHBOARD_BYID && b1->ino != d1->ino);
	CHECK(find(t, b1, "Revenue [12].csv") == dc);
	CHECK_INT(fake_calls(f, "dashboard:1"), 1);     /* shared */

	/* tabs: tab order, not name order; dashcards go into their tab */
	struct mbfs_node *k = find(t, colls, "KPIs");
	CHECK_STR(listing(t, k), "Zeta|Alpha");
	struct mbfs_node *zeta = find(t, k, "Zeta");
	CHECK(zeta && zeta->kind == MBFS_K_DASHBOARD_TAB && zeta->id == 5 &&
	      zeta->dashboard_id == 2);
	CHECK_STR(listing(t, zeta), "Orders.csv|Orders.json");
	CHECK_STR(listing(t, find(t, k, "Alpha")),
		  "In a dashboard.csv|In a dashboard.json");
	struct mbfs_node *b2 = find(t, dashes, "2");
	struct mbfs_node *bzeta = find(t, b2, "Zeta");
	CHECK(bzeta && bzeta->kind == MBFS_K_DASHBOARD_TAB_BYID && bzeta->ino != zeta->ino);
	CHECK(find(t, bzeta, "Orders.csv") == find(t, zeta, "Orders.csv"));
	CHECK_INT(fake_calls(f, "dashboard:2"), 1);

	/* personal collections: owners' names; unknown owner: its own name */
	struct mbfs_node *pers = find(t, colls, "Personal");
	CHECK_STR(listing(t, pers),
		  "Ada Analyst|Bobby Tables|Nobody's Personal Collection");
	CHECK_INT(found(t, pers, "Ada Analyst")->id, 2);

	/* cards/: dashboard questions included, .sql for native ones (MBQL 5 too) */
	struct mbfs_node *cards = find(t, root, "cards");
	CHECK_STR(listing(t, cards),
		  "1.csv|1.json|3.csv|3.json|3.sql|36.csv|36.json|36.sql|4.csv|4.json");
	CHECK_STR(found(t, cards, "36.sql")->sql, "SELECT 36");
	CHECK(find(t, cards, "3.sql") == sql);           /* one inode per card file */
	CHECK_INT(fake_calls(f, "list:0"), 1);           /* one card list for all */
	/* every directory so far from one fetch of each bulk list */
	CHECK_INT(fake_bulk_calls(f), 1);

	/* metadata/ for an admin: six files, nothing fetched by the listing */
	struct mbfs_node *md = find(t, root, "metadata");
	CHECK_STR(listing(t, md),
		  "cards.json|collections.json|dashboards.json|databases.json|snippets.json|users.json");
	CHECK_INT(found(t, md, "snippets.json")->id, MBFS_META_SNIPPETS);
	CHECK_INT(found(t, md, "users.json")->id, MBFS_META_USERS);
	CHECK_INT(fake_calls(f, "list:3"), 0);
	mbfs_tree_free(t);
	f->base.ops->destroy(&f->base);
}

static void test_user_tree(void)
{
	struct fake_client *f = server(USER);
	fake_set(f, fake_list_path(MB_LIST_USERS), NULL, MBFS_ERR_DENIED);
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS),
		 "[{\"id\": \"root\", \"name\": \"Our analytics\"},"
		 " {\"id\": 2, \"name\": \"Ada Analyst's Personal Collection\", \"personal_owner_id\": 2}]",
		 MBFS_OK);
	struct mbfs_tree *t = mbfs_tree_new(&f->base, &opts);
	struct mbfs_node *root = root_of(t);
	CHECK_STR(listing(t, find(t, root, "metadata")),
		  "cards.json|collections.json|dashboards.json|databases.json|snippets.json");
	CHECK_STR(listing(t, find(t, find(t, root, "collections"), "Personal")),
		  "Ada Analyst");
	CHECK_INT(fake_calls(f, "list:4"), 0);           /* never asks /api/user */
	mbfs_tree_free(t);
	f->base.ops->destroy(&f->base);
}

static void test_relisting(void)
{
	struct fake_client *f = server(ADMIN);
	struct mbfs_tree *t = mbfs_tree_new(&f->base, &opts);
	struct gone_log g = {0};
	mbfs_tree_set_gone_hook(t, on_gone, &g);
	struct mbfs_node *root = root_of(t);
	struct mbfs_node *sales = find(t, find(t, root, "collections"), "Sales");
	struct mbfs_node *card4 = find(t, sales, "Revenue [4].json");
	uint64_t ino4 = card4->ino;
	fake_reset_calls(f);
	/* within meta_ttl: no new request */
	listing(t, sales);
	listing(t, find(t, root, "collections"));
	CHECK_INT(fake_bulk_calls(f), 0);
	/* renamed on the server, then touch DIR */
	fake_set(f, fake_list_path(MB_LIST_CARDS), CARDS_RENAMED, MBFS_OK);
	mbfs_tree_lock(t);
	mbfs_tree_invalidate_dir(t, sales);
	mbfs_tree_unlock(t);
	CHECK_STR(listing(t, sales),
		  "Cost.csv|Cost.json|Revenue.csv|Revenue.json|Revenue.sql|Sales overview");
	CHECK_INT(fake_bulk_calls(f), 1);                /* touch refetches the three lists */
	CHECK(find(t, sales, "Cost.json") == card4 && card4->ino == ino4);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.names[0], "Revenue [4].csv");
	CHECK_STR(g.names[1], "Revenue [4].json");
	CHECK(g.parents[0] == sales->ino);
	/* SIGHUP: everything is fetched again, once */
	g.n = 0;
	mbfs_tree_invalidate_all(t);
	listing(t, sales);
	listing(t, find(t, root, "cards"));
	CHECK_INT(fake_bulk_calls(f), 2);
	CHECK_INT(g.n, 0);
	/* a dashboard moved out of its collection (to the root) */
	fake_set(f, fake_list_path(MB_LIST_DASHBOARDS), DASHBOARDS_WITH("null"), MBFS_OK);
	mbfs_tree_invalidate_all(t);
	listing(t, sales);
	bool saw = false;
	for (int i = 0; i < g.n; i++)
		saw |= strcmp(g.names[i], "Sales overview") == 0;
	CHECK(saw);
	CHECK_STR(listing(t, sales),
		  "Cost.csv|Cost.json|Revenue.csv|Revenue.json|Revenue.sql");
	mbfs_tree_free(t);
	f->base.ops->destroy(&f->base);
}

/* issue 11: names no listing shows — parameters on a dashcard of a tab
 * directory, public cards by uuid — and the paths .mbfs/errors gives */
static const char *DASH2P =
	"{\"id\": 2, \"name\": \"KPIs\","
	" \"parameters\": [{\"id\": \"f_x\", \"slug\": \"x\", \"name\": \"X\", \"type\": \"category\","
	"   \"default\": [\"a\"]}, {\"id\": \"f_y\", \"slug\": \"y\", \"type\": \"date/single\"}],"
	" \"tabs\": [{\"id\": 6, \"name\": \"Alpha\", \"position\": 1}, {\"id\": 5, \"name\": \"Zeta\", \"position\": 0}],"
	" \"dashcards\": ["
	"  {\"id\": 21, \"card_id\": 36, \"dashboard_tab_id\": 6, \"card\": {\"id\": 36, \"name\": \"In a dashboard\"}},"
	"  {\"id\": 20, \"card_id\": 1, \"dashboard_tab_id\": 5, \"card\": {\"id\": 1, \"name\": \"Orders\"},"
	"   \"parameter_mappings\": [{\"parameter_id\": \"f_x\", \"card_id\": 1,"
	"     \"target\": [\"dimension\", [\"field\", 7, null]]}]}]}";

static struct mbfs_node *unlisted(struct mbfs_tree *t, struct mbfs_node *dir,
				  const char *name, enum mbfs_status *st)
{
	struct mbfs_node *n = NULL;
	struct mbfs_err err;
	*st = dir ? mbfs_tree_find_unlisted(t, dir, name, &n, &err)
		  : MBFS_ERR_NOT_FOUND;
	return *st == MBFS_OK ? n : NULL;
}

static char *path_of(struct mbfs_tree *t, const struct mbfs_node *n)
{
	static char out[1024];
	out[0] = '\0';
	if (!n)
		return out;
	mbfs_tree_lock(t);
	mbfs_tree_path(t, n, out, sizeof out);
	mbfs_tree_unlock(t);
	return out;
}

static void test_unlisted_names(void)
{
	struct fake_client *f = server(ADMIN);
	fake_set(f, "dashboard:2", DASH2P, MBFS_OK);
	struct mbfs_tree *t = mbfs_tree_new(&f->base, &opts);
	struct mbfs_node *root = root_of(t);
	struct mbfs_node *b2 = find(t, find(t, root, "dashboards"), "2");
	struct mbfs_node *zeta = find(t, b2, "Zeta");
	struct mbfs_node *base = find(t, zeta, "Orders.csv");
	CHECK(base && base->param_defs != NULL);
	CHECK(found(t, find(t, b2, "Alpha"), "In a dashboard.csv")->param_defs == NULL);
	enum mbfs_status st;
	struct mbfs_node *p = unlisted(t, zeta, "Orders.csv?x=b&x=c", &st);
	CHECK_INT(st, MBFS_OK);
	CHECK(p && p->kind == MBFS_K_PARAM_FILE && p->base == base &&
	      p->fmt == MBFS_FMT_CSV && p->card_id == 1 && p->dashboard_id == 2);
	if (p)
		CHECK_STR(p->params, "[{\"id\":\"f_x\",\"type\":\"category\",\"value\":[\"b\",\"c\"]}]");
	CHECK_STR(path_of(t, p), "dashboards/2/Zeta/Orders.csv?x=b&x=c");
	/* the same file through its collection, or escaped: the same node */
	struct mbfs_node *kz = find(t, find(t, find(t, root, "collections"), "KPIs"), "Zeta");
	CHECK(unlisted(t, kz, "Orders.csv?x=%62&x=c", &st) == p);
	CHECK(unlisted(t, zeta, "Orders.json?x=b&x=c", &st) != p);       /* another format */
	CHECK(unlisted(t, zeta, "Orders.csv?x=c&x=b", &st) != p);        /* another order of values */
	/* f_y is the dashboard's, but not mapped to this card */
	CHECK(unlisted(t, zeta, "Orders.csv?y=2024-01-01", &st) == NULL);
	CHECK_INT(st, MBFS_ERR_NOT_FOUND);
	CHECK(unlisted(t, zeta, "Orders.csv?x", &st) == NULL);
	CHECK_INT(st, MBFS_ERR_NOT_FOUND);
	CHECK(unlisted(t, zeta, "Nope.csv?x=1", &st) == NULL);
	CHECK(unlisted(t, zeta, "Orders.csv", &st) == NULL);
	CHECK(unlisted(t, find(t, root, "databases"), "Orders.csv?x=1", &st) == NULL);
	/* paths: the first listing that showed a node */
	CHECK_STR(path_of(t, base), "dashboards/2/Zeta/Orders.csv");
	CHECK_STR(path_of(t, kz), "collections/KPIs/Zeta/");
	CHECK_STR(path_of(t, root), "");

	/* public/: card files by uuid in the mount's formats only */
	struct mbfs_node *pub = find(t, root, "public");
	struct mbfs_node *pc = find(t, pub, "card");
	CHECK(pc && pc->kind == MBFS_K_PUBLIC_CARDS_DIR);
	CHECK_STR(listing(t, pub), "card|dashboard");
	const char *u = "a96be2f3-8a63-5481-bb2a-425c5be66532";
	char name[64];
	snprintf(name, sizeof name, "%s.csv", u);
	struct mbfs_node *c1 = unlisted(t, pc, name, &st);
	CHECK(c1 && c1->kind == MBFS_K_PUBLIC_CARD_FILE && c1->fmt == MBFS_FMT_CSV);
	if (c1)
		CHECK_STR(c1->uuid, u);
	CHECK(unlisted(t, pc, name, &st) == c1);
	snprintf(name, sizeof name, "%s.json", u);
	struct mbfs_node *c2 = unlisted(t, pc, name, &st);
	CHECK(c2 && c2 != c1 && c2->id == c1->id && c2->ino != c1->ino);
	snprintf(name, sizeof name, "%s.xlsx", u);                  /* not mounted */
	CHECK(unlisted(t, pc, name, &st) == NULL);
	CHECK(unlisted(t, pc, "A96BE2F3-8A63-5481-BB2A-425C5BE66532.csv", &st) == NULL);
	CHECK(unlisted(t, pc, "a96be2f3-8a63-5481-bb2a-425c5be6653.csv", &st) == NULL);
	snprintf(name, sizeof name, "%s.csv", "00000000-0000-4000-8000-000000000000");
	struct mbfs_node *c3 = unlisted(t, pc, name, &st);
	CHECK(c3 && c3->id != c1->id);                               /* ids from a registry */
	CHECK_STR(path_of(t, c1), "public/card/a96be2f3-8a63-5481-bb2a-425c5be66532.csv");
	/* a client without public links: no public dashboard exists */
	CHECK(unlisted(t, find(t, pub, "dashboard"), u, &st) == NULL);
	CHECK_INT(st, MBFS_ERR_NOT_FOUND);
	mbfs_tree_free(t);
	f->base.ops->destroy(&f->base);
}

int main(void)
{
	setup_options();
	test_unlisted_names();
	test_admin_tree();
	test_user_tree();
	test_relisting();
	return check_done();
}
