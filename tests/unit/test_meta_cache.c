/*
 * test_meta_cache.c — unit tests of meta_cache.c against an in-memory
 * client: sharing, single flight, TTL and invalidation, snapshots that
 * outlive a refresh, failure memory, serving the previous copy, the
 * metadata/ array text (verbatim for bare arrays, the data array of an
 * envelope), bodies the client's list op refuses, and mb_json_list_array
 * itself.
 */
#include "check.h"
#include "fake.h"
#include "mb_json.h"
#include "meta_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *CARDS1 =
	"  [{\"id\": 5, \"name\": \"B\", \"query_type\": \"native\","
	" \"dataset_query\": {\"type\": \"native\", \"native\": {\"query\": \"SELECT 5\"}}},"
	" {\"id\": 2, \"name\": \"A\"}]\n";
static const char *CARDS2 = "[{\"id\": 2, \"name\": \"A2\"}]";
static const char *DBS =
	"{\"data\": [{\"id\": 1, \"name\": \"Sample\"}, {\"id\": 3, \"name\": \"X\"}], \"total\": 2}";

static void test_list_array(void)
{
	char *out = NULL;
	size_t len = 0, count = 0;
	struct mbfs_err err;
	CHECK_INT(mb_json_list_array(CARDS1, strlen(CARDS1), &out, &len, &count, &err), MBFS_OK);
	CHECK(out && out[0] == '[' && out[len - 1] == ']' && strlen(out) == len);
	CHECK_INT(count, 2);
	/* verbatim: the server's bytes without the surrounding whitespace */
	CHECK(out && strncmp(out, CARDS1 + 2, len) == 0);
	free(out);
	CHECK_INT(mb_json_list_array(DBS, strlen(DBS), &out, &len, &count, &err), MBFS_OK);
	CHECK_STR(out, "[{\"id\":1,\"name\":\"Sample\"},{\"id\":3,\"name\":\"X\"}]");
	CHECK_INT(count, 2);
	free(out);
	CHECK_INT(mb_json_list_array("{\"a\":1}", 7, &out, &len, &count, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(out == NULL);
	CHECK_INT(mb_json_list_array("[1,", 3, &out, &len, &count, &err),
		  MBFS_ERR_PROTOCOL);
}

static void test_sharing_ttl_invalidation(void)
{
	struct fake_client *f = fake_new();
	fake_set(f, fake_list_path(MB_LIST_CARDS), CARDS1, MBFS_OK);
	struct mbfs_meta *m = mbfs_meta_new(&f->base, 60, 10);
	const struct mbfs_meta_snap *a = NULL, *b = NULL;
	struct mbfs_err err;
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &a, &err), MBFS_OK);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &b, &err), MBFS_OK);
	CHECK(a == b);
	CHECK_INT(fake_calls(f, "list:0"), 1);
	/* sorted by id, SQL decoded, no array unless wanted */
	CHECK_INT(a->u.cards.n, 2);
	CHECK_INT(a->u.cards.v[0].id, 2);
	CHECK_STR(a->u.cards.v[1].native_sql, "SELECT 5");
	CHECK(a->array == NULL);
	/* wanting the array refetches once and keeps it from then on */
	const struct mbfs_meta_snap *c = NULL;
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, MBFS_META_WANT_ARRAY, &c, &err), MBFS_OK);
	CHECK_INT(fake_calls(f, "list:0"), 2);
	CHECK(c != a && c->array && c->count == 2 && c->gen > a->gen);
	/* the old snapshot is still readable while referenced */
	CHECK_STR(a->u.cards.v[0].name, "A");
	mbfs_meta_put(m, a);
	mbfs_meta_put(m, b);
	/* invalidate: next get refetches, and still keeps the array */
	fake_set(f, fake_list_path(MB_LIST_CARDS), CARDS2, MBFS_OK);
	mbfs_meta_invalidate(m, MBFS_META_CARDS, 0);
	const struct mbfs_meta_snap *d = NULL;
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &d, &err), MBFS_OK);
	CHECK_INT(fake_calls(f, "list:0"), 3);
	CHECK_STR(d->u.cards.v[0].name, "A2");
	CHECK_STR(d->array, CARDS2);
	CHECK_STR(c->u.cards.v[0].name, "A");
	mbfs_meta_put(m, c);
	/* peek never fetches */
	const struct mbfs_meta_snap *p = mbfs_meta_peek(m, MBFS_META_CARDS, 0);
	CHECK(p == d);
	mbfs_meta_put(m, p);
	CHECK(mbfs_meta_peek(m, MBFS_META_DATABASES, 0) == NULL);
	mbfs_meta_put(m, d);
	/* SIGHUP */
	mbfs_meta_invalidate_all(m);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &d, &err), MBFS_OK);
	CHECK_INT(fake_calls(f, "list:0"), 4);
	mbfs_meta_put(m, d);
	/* ttl 0: every get fetches */
	mbfs_meta_free(m);
	m = mbfs_meta_new(&f->base, 0, 10);
	fake_reset_calls(f);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &d, &err), MBFS_OK);
		mbfs_meta_put(m, d);
	}
	CHECK_INT(fake_calls(f, "list:0"), 3);
	mbfs_meta_free(m);
	f->base.ops->destroy(&f->base);
}

static void test_envelope_and_dashboards(void)
{
	struct fake_client *f = fake_new();
	fake_set(f, fake_list_path(MB_LIST_DATABASES), DBS, MBFS_OK);
	fake_set(f, "dashboard:7",
		 "{\"id\": 7, \"name\": \"D\", \"parameters\": [{\"id\": \"p\", \"type\": \"category\", \"default\": \"x\"}],"
		 " \"dashcards\": [{\"id\": 1, \"card_id\": 3, \"card\": {\"id\": 3, \"name\": \"C\", \"type\": \"model\","
		 " \"updated_at\": \"2025-01-01T00:00:00Z\", \"archived\": true}}], \"tabs\": []}",
		 MBFS_OK);
	struct mbfs_meta *m = mbfs_meta_new(&f->base, 60, 10);
	const struct mbfs_meta_snap *s = NULL;
	struct mbfs_err err;
	CHECK_INT(mbfs_meta_get(m, MBFS_META_DATABASES, 0, MBFS_META_WANT_ARRAY, &s, &err), MBFS_OK);
	CHECK_INT(s->u.databases.n, 2);
	CHECK_STR(s->array, "[{\"id\":1,\"name\":\"Sample\"},{\"id\":3,\"name\":\"X\"}]");
	CHECK_INT(s->array_len, strlen(s->array));
	mbfs_meta_put(m, s);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_DASHBOARD, 7, 0, &s, &err), MBFS_OK);
	CHECK_STR(s->u.dashboard.name, "D");
	CHECK_INT(s->u.dashboard.n_dashcards, 1);
	CHECK_INT(s->u.dashboard.dashcards[0].card_model, MB_MODEL_DATASET);
	CHECK(s->u.dashboard.dashcards[0].card_archived);
	CHECK_STR(s->u.dashboard.dashcards[0].updated_at, "2025-01-01T00:00:00Z");
	CHECK(strstr(s->u.dashboard.default_parameters, "\"value\":\"x\"") != NULL);
	mbfs_meta_put(m, s);
	/* another id is another entry */
	CHECK_INT(mbfs_meta_get(m, MBFS_META_DASHBOARD, 8, 0, &s, &err), MBFS_ERR_NOT_FOUND);
	mbfs_meta_free(m);
	f->base.ops->destroy(&f->base);
}

static void test_failures(void)
{
	struct fake_client *f = fake_new();
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS), NULL, MBFS_ERR_HTTP);
	struct mbfs_meta *m = mbfs_meta_new(&f->base, 0, 60);
	const struct mbfs_meta_snap *s = NULL;
	struct mbfs_err err;
	/* no copy yet: the failure is returned, and remembered for error_ttl */
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &s, &err), MBFS_ERR_HTTP);
	CHECK(s == NULL && strstr(err.msg, "fake failure"));
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &s, &err), MBFS_ERR_HTTP);
	CHECK_INT(fake_calls(f, "list:1"), 1);
	/* touch forgets the failure */
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS), "[{\"id\": \"root\", \"name\": \"R\"}]", MBFS_OK);
	mbfs_meta_invalidate(m, MBFS_META_COLLECTIONS, 0);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &s, &err), MBFS_OK);
	CHECK_INT(s->u.collections.n, 1);
	const struct mbfs_meta_snap *good = s;
	/* a failed refresh serves the previous copy (ttl 0: always refreshing) */
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS), NULL, MBFS_ERR_NETWORK);
	const struct mbfs_meta_snap *t = NULL;
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &t, &err), MBFS_OK);
	CHECK(t == good);
	mbfs_meta_put(m, t);
	/* ... for error_ttl: no new request meanwhile */
	int calls = fake_calls(f, "list:1");
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &t, &err), MBFS_OK);
	CHECK_INT(fake_calls(f, "list:1"), calls);
	mbfs_meta_put(m, t);
	/* 403/404 are authoritative: the copy is dropped */
	fake_set(f, fake_list_path(MB_LIST_COLLECTIONS), NULL, MBFS_ERR_DENIED);
	mbfs_meta_invalidate(m, MBFS_META_COLLECTIONS, 0);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_COLLECTIONS, 0, 0, &t, &err), MBFS_ERR_DENIED);
	CHECK(mbfs_meta_peek(m, MBFS_META_COLLECTIONS, 0) == NULL);
	/* the caller's reference is still good */
	CHECK_STR(good->u.collections.v[0].name, "R");
	mbfs_meta_put(m, good);
	mbfs_meta_free(m);
	f->base.ops->destroy(&f->base);
}

struct racer {
	struct mbfs_meta *m;
	enum mbfs_status st;
	const struct mbfs_meta_snap *s;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct mbfs_err err;
	r->st = mbfs_meta_get(r->m, MBFS_META_CARDS, 0, 0, &r->s, &err);
	return NULL;
}

static void test_single_flight(void)
{
	struct fake_client *f = fake_new();
	fake_set(f, fake_list_path(MB_LIST_CARDS), CARDS1, MBFS_OK);
	f->delay_ms = 100;
	struct mbfs_meta *m = mbfs_meta_new(&f->base, 60, 10);
	struct racer r[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		r[i].m = m;
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(fake_calls(f, "list:0"), 1);
	for (int i = 0; i < 8; i++) {
		CHECK_INT(r[i].st, MBFS_OK);
		CHECK(r[i].s == r[0].s);
		mbfs_meta_put(m, r[i].s);
	}
	mbfs_meta_free(m);
	f->base.ops->destroy(&f->base);
}

/* Lists come decoded from the client's list op (mb_list.c): a body that
 * is cut inside an element, or is no list at all, fails the fetch with
 * the decoder's reason (not a silently shorter list); snippets are kept
 * as text only, checked to be an array; an envelope's array is kept
 * next to its decoded rows. */
static void test_list_op_bodies(void)
{
	struct fake_client *f = fake_new();
	fake_set(f, fake_list_path(MB_LIST_CARDS),
		 "[{\"id\": 1, \"name\": \"A\"}, {\"id\": 2, \"na", MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_SNIPPETS), "{\"not\": \"a list\"}",
		 MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_DATABASES), DBS, MBFS_OK);
	fake_set(f, fake_list_path(MB_LIST_USERS), "[{\"id\": 7,", MBFS_OK);
	struct mbfs_meta *m = mbfs_meta_new(&f->base, 60, 10);
	const struct mbfs_meta_snap *s = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_CARDS, 0, 0, &s, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(s == NULL);
	CHECK(err.msg[0] != '\0');
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_USERS, 0, MBFS_META_WANT_ARRAY, &s,
				&err),
		  MBFS_ERR_PROTOCOL);
	CHECK(s == NULL);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_SNIPPETS, 0, MBFS_META_WANT_ARRAY,
				&s, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(s == NULL);
	CHECK_INT(mbfs_meta_get(m, MBFS_META_DATABASES, 0, MBFS_META_WANT_ARRAY,
				&s, &err),
		  MBFS_OK);
	if (s) {
		CHECK_INT(s->u.databases.n, 2);
		CHECK_INT(s->count, 2);
		CHECK_STR(s->array, "[{\"id\":1,\"name\":\"Sample\"},{\"id\":3,\"name\":\"X\"}]");
		mbfs_meta_put(m, s);
	}
	mbfs_meta_free(m);
	f->base.ops->destroy(&f->base);
}

int main(void)
{
	test_list_array();
	test_sharing_ttl_invalidation();
	test_envelope_and_dashboards();
	test_failures();
	test_single_flight();
	test_list_op_bodies();
	return check_done();
}
