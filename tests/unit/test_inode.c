/*
 * test_inode.c — unit tests of inode.c: the (kind, fmt, id) → number
 * layout (stable, distinct, decodable, negative and large ids), the hashed
 * ids of schemas, the format helpers and the ino → pointer hash map.
 */
#include "check.h"
#include "inode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const enum mbfs_kind all_kinds[] = {
	MBFS_K_ROOT, MBFS_K_CARDS_DIR, MBFS_K_DATABASES_DIR,
	MBFS_K_CONTROL_DIR, MBFS_K_DASHBOARDS_DIR, MBFS_K_METADATA_DIR,
	MBFS_K_COLLECTION, MBFS_K_DATABASE, MBFS_K_SCHEMA, MBFS_K_DASHBOARD,
	MBFS_K_DASHBOARD_TAB, MBFS_K_PERSONAL_DIR, MBFS_K_CARD_FILE,
	MBFS_K_TABLE_FILE, MBFS_K_DASHCARD_FILE, MBFS_K_SQL_FILE,
	MBFS_K_CONTROL_FILE, MBFS_K_METADATA_FILE,
};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static const enum mbfs_fmt all_fmts[] = {MBFS_FMT_NONE, MBFS_FMT_CSV,
					 MBFS_FMT_JSON, MBFS_FMT_XLSX,
					 MBFS_FMT_SQL};
#define N_FMTS (sizeof all_fmts / sizeof all_fmts[0])

static const int64_t some_ids[] = {
	0, 1, 2, 3, 7, 42, 1337, -1, -2, -1337, 65535, 65536,
	INT64_C(4294967295), INT64_C(4294967296), INT64_C(140737488355327),
	-INT64_C(140737488355328),
};
#define N_IDS (sizeof some_ids / sizeof some_ids[0])

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void test_numbers(void)
{
	/* root is 1 whatever fmt/id */
	CHECK_INT(mbfs_inode_number(MBFS_K_ROOT, MBFS_FMT_NONE, 0), 1);
	CHECK_INT(mbfs_inode_number(MBFS_K_ROOT, MBFS_FMT_CSV, 99), 1);
	CHECK_INT(mbfs_inode_kind(1), MBFS_K_ROOT);

	/* stable: the same inputs always give the same number */
	CHECK(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, 12) ==
	      mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, 12));
	/* a literal value pins the layout (kind << 56 | fmt << 48 | id) */
	CHECK(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, 12) ==
	      ((UINT64_C(32) << 56) | (UINT64_C(1) << 48) | 12));
	CHECK(mbfs_inode_number(MBFS_K_COLLECTION, MBFS_FMT_NONE, 0) ==
	      (UINT64_C(16) << 56));

	/* distinct and decodable over the whole cross product (minus root) */
	size_t cap = N_KINDS * N_FMTS * N_IDS, n = 0;
	uint64_t *all = calloc(cap, sizeof *all);
	CHECK(all != NULL);
	if (!all)
		return;
	for (size_t k = 0; k < N_KINDS; k++) {
		if (all_kinds[k] == MBFS_K_ROOT)
			continue;
		for (size_t f = 0; f < N_FMTS; f++) {
			for (size_t i = 0; i < N_IDS; i++) {
				uint64_t ino = mbfs_inode_number(all_kinds[k],
								 all_fmts[f],
								 some_ids[i]);
				bool ok = ino > 1 &&
					  mbfs_inode_kind(ino) == all_kinds[k] &&
					  mbfs_inode_fmt(ino) == all_fmts[f] &&
					  mbfs_inode_id(ino) == some_ids[i];
				if (!ok)
					fprintf(stderr,
						"decode kind %d fmt %d id %lld -> %#llx\n",
						all_kinds[k], all_fmts[f],
						(long long)some_ids[i],
						(unsigned long long)ino);
				CHECK(ok);
				all[n++] = ino;
			}
		}
	}
	qsort(all, n, sizeof *all, cmp_u64);
	size_t dups = 0;
	for (size_t i = 1; i < n; i++)
		if (all[i] == all[i - 1])
			dups++;
	CHECK_INT(dups, 0);
	free(all);

	/* negative ids (Metabase's -1337 style virtual ids) round trip */
	uint64_t neg = mbfs_inode_number(MBFS_K_COLLECTION, MBFS_FMT_NONE, -1337);
	CHECK_INT(mbfs_inode_id(neg), -1337);
	CHECK_INT(mbfs_inode_kind(neg), MBFS_K_COLLECTION);
	CHECK_INT(mbfs_inode_fmt(neg), MBFS_FMT_NONE);
	CHECK(neg != mbfs_inode_number(MBFS_K_COLLECTION, MBFS_FMT_NONE, 1337));
	/* the id bits do not leak into the kind/fmt bits */
	uint64_t negc = mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_XLSX, -1);
	CHECK_INT(mbfs_inode_kind(negc), MBFS_K_CARD_FILE);
	CHECK_INT(mbfs_inode_fmt(negc), MBFS_FMT_XLSX);
	CHECK_INT(mbfs_inode_id(negc), -1);

	/* the same id in different formats/kinds differs */
	CHECK(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, 5) !=
	      mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_JSON, 5));
	CHECK(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, 5) !=
	      mbfs_inode_number(MBFS_K_TABLE_FILE, MBFS_FMT_CSV, 5));
}

static void test_hash_ids(void)
{
	int64_t a = mbfs_inode_hash_id(1, "public");
	CHECK(a > 0);
	CHECK(a < (INT64_C(1) << 47));
	CHECK(a == mbfs_inode_hash_id(1, "public")); /* stable */
	CHECK(a != mbfs_inode_hash_id(2, "public"));
	CHECK(a != mbfs_inode_hash_id(1, "PUBLIC"));
	CHECK(a != mbfs_inode_hash_id(1, "public2"));
	int64_t e = mbfs_inode_hash_id(1, "");
	CHECK(e >= 0 && e < (INT64_C(1) << 47));
	CHECK(e != a);

	/* many schemas: positive, decodable through an inode number, and
	 * (with 47 bits) practically collision free */
	enum { N = 5000 };
	uint64_t *v = calloc(N, sizeof *v);
	CHECK(v != NULL);
	if (!v)
		return;
	bool all_ok = true;
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "schema_%d", i);
		int64_t h = mbfs_inode_hash_id(i % 7 + 1, name);
		uint64_t ino = mbfs_inode_number(MBFS_K_SCHEMA, MBFS_FMT_NONE, h);
		if (h <= 0 || mbfs_inode_id(ino) != h ||
		    mbfs_inode_kind(ino) != MBFS_K_SCHEMA)
			all_ok = false;
		v[i] = (uint64_t)h;
	}
	CHECK(all_ok);
	qsort(v, N, sizeof *v, cmp_u64);
	size_t dups = 0;
	for (int i = 1; i < N; i++)
		if (v[i] == v[i - 1])
			dups++;
	CHECK_INT(dups, 0);
	free(v);
}

static void test_formats(void)
{
	CHECK_STR(mbfs_fmt_name(MBFS_FMT_CSV), "csv");
	CHECK_STR(mbfs_fmt_name(MBFS_FMT_JSON), "json");
	CHECK_STR(mbfs_fmt_name(MBFS_FMT_XLSX), "xlsx");
	CHECK_STR(mbfs_fmt_name(MBFS_FMT_SQL), "sql");
	CHECK_STR(mbfs_fmt_name(MBFS_FMT_NONE), "");
	CHECK_STR(mbfs_fmt_ext(MBFS_FMT_CSV), ".csv");
	CHECK_STR(mbfs_fmt_ext(MBFS_FMT_XLSX), ".xlsx");
	CHECK_STR(mbfs_fmt_ext(MBFS_FMT_NONE), "");
	CHECK_INT(mbfs_fmt_parse("csv"), MBFS_FMT_CSV);
	CHECK_INT(mbfs_fmt_parse("json"), MBFS_FMT_JSON);
	CHECK_INT(mbfs_fmt_parse("xlsx"), MBFS_FMT_XLSX);
	CHECK_INT(mbfs_fmt_parse("sql"), MBFS_FMT_SQL);
	CHECK_INT(mbfs_fmt_parse("CSV"), MBFS_FMT_NONE);
	CHECK_INT(mbfs_fmt_parse(""), MBFS_FMT_NONE);
	CHECK_INT(mbfs_fmt_parse(NULL), MBFS_FMT_NONE);
	CHECK(mbfs_kind_is_dir(MBFS_K_ROOT));
	CHECK(mbfs_kind_is_dir(MBFS_K_COLLECTION));
	CHECK(mbfs_kind_is_dir(MBFS_K_SCHEMA));
	CHECK(!mbfs_kind_is_dir(MBFS_K_CARD_FILE));
	CHECK(!mbfs_kind_is_dir(MBFS_K_CONTROL_FILE));
	CHECK(mbfs_kind_is_data(MBFS_K_CARD_FILE));
	CHECK(mbfs_kind_is_data(MBFS_K_TABLE_FILE));
	CHECK(mbfs_kind_is_data(MBFS_K_DASHCARD_FILE));
	CHECK(!mbfs_kind_is_data(MBFS_K_SQL_FILE));
	CHECK(!mbfs_kind_is_data(MBFS_K_CONTROL_FILE));
	CHECK(!mbfs_kind_is_data(MBFS_K_COLLECTION));
}

static void count_each(void *val, void *arg)
{
	(void)val;
	(*(size_t *)arg)++;
}

static void sum_each(void *val, void *arg)
{
	*(uintptr_t *)arg += (uintptr_t)val;
}

static void test_table(void)
{
	struct mbfs_inode_table t;
	mbfs_inode_table_init(&t);
	CHECK(mbfs_inode_table_get(&t, 1) == NULL); /* empty table */
	CHECK(!mbfs_inode_table_put(&t, 0, &t));    /* 0 is reserved */
	CHECK(mbfs_inode_table_get(&t, 0) == NULL);

	int a, b;
	CHECK(mbfs_inode_table_put(&t, 1, &a));
	CHECK(mbfs_inode_table_get(&t, 1) == &a);
	CHECK(mbfs_inode_table_put(&t, 1, &b)); /* replace */
	CHECK(mbfs_inode_table_get(&t, 1) == &b);
	CHECK_INT(t.n, 1);
	mbfs_inode_table_destroy(&t);

	/* 100k entries with realistic numbers: grow, get, replace */
	enum { N = 100000 };
	mbfs_inode_table_init(&t);
	bool ok = true;
	for (uintptr_t i = 0; i < N; i++) {
		uint64_t ino = mbfs_inode_number(
			i % 2 ? MBFS_K_CARD_FILE : MBFS_K_TABLE_FILE,
			(enum mbfs_fmt)(i % 3 + 1), (int64_t)(i / 2) - 500);
		if (!mbfs_inode_table_put(&t, ino, (void *)(i + 1)))
			ok = false;
	}
	CHECK(ok);
	CHECK_INT(t.n, N);
	CHECK(t.cap >= N);
	CHECK((t.cap & (t.cap - 1)) == 0);
	ok = true;
	for (uintptr_t i = 0; i < N; i++) {
		uint64_t ino = mbfs_inode_number(
			i % 2 ? MBFS_K_CARD_FILE : MBFS_K_TABLE_FILE,
			(enum mbfs_fmt)(i % 3 + 1), (int64_t)(i / 2) - 500);
		if (mbfs_inode_table_get(&t, ino) != (void *)(i + 1))
			ok = false;
	}
	CHECK(ok);
	/* absent keys */
	CHECK(mbfs_inode_table_get(&t, mbfs_inode_number(MBFS_K_SQL_FILE,
							 MBFS_FMT_SQL, 1)) == NULL);
	CHECK(mbfs_inode_table_get(&t, 2) == NULL);
	/* replace every 10th, count stays */
	for (uintptr_t i = 0; i < N; i += 10) {
		uint64_t ino = mbfs_inode_number(
			i % 2 ? MBFS_K_CARD_FILE : MBFS_K_TABLE_FILE,
			(enum mbfs_fmt)(i % 3 + 1), (int64_t)(i / 2) - 500);
		mbfs_inode_table_put(&t, ino, (void *)(i + 7));
	}
	CHECK_INT(t.n, N);
	ok = true;
	uintptr_t want_sum = 0;
	for (uintptr_t i = 0; i < N; i++) {
		uint64_t ino = mbfs_inode_number(
			i % 2 ? MBFS_K_CARD_FILE : MBFS_K_TABLE_FILE,
			(enum mbfs_fmt)(i % 3 + 1), (int64_t)(i / 2) - 500);
		uintptr_t want = i % 10 ? i + 1 : i + 7;
		want_sum += want;
		if (mbfs_inode_table_get(&t, ino) != (void *)want)
			ok = false;
	}
	CHECK(ok);
	size_t cnt = 0;
	mbfs_inode_table_each(&t, count_each, &cnt);
	CHECK_INT(cnt, N);
	uintptr_t sum = 0;
	mbfs_inode_table_each(&t, sum_each, &sum);
	CHECK(sum == want_sum);
	mbfs_inode_table_destroy(&t);
	CHECK(t.cap == 0 && t.n == 0 && t.keys == NULL);

	/* sequential small keys (worst case for a weak hash) */
	mbfs_inode_table_init(&t);
	for (uintptr_t i = 1; i <= 20000; i++)
		mbfs_inode_table_put(&t, i, (void *)i);
	ok = true;
	for (uintptr_t i = 1; i <= 20000; i++)
		if (mbfs_inode_table_get(&t, i) != (void *)i)
			ok = false;
	CHECK(ok);
	mbfs_inode_table_destroy(&t);
}

/* Ids beyond 48 bits are not packed (the caller allocates a number), and
 * the identity table tells every 64-bit id apart: ids that agree in their
 * low 48 bits — which the packing would have aliased — stay distinct. */
static void test_big_ids(void)
{
	int64_t big = INT64_C(1) << 50;
	int64_t alias = big + (INT64_C(1) << 48);
	CHECK_INT(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, big), 0);
	CHECK_INT(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, INT64_MAX), 0);
	CHECK_INT(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV, INT64_MIN), 0);
	CHECK(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV,
				(INT64_C(1) << 47) - 1) != 0);
	CHECK_INT(mbfs_inode_number(MBFS_K_CARD_FILE, MBFS_FMT_CSV,
				    INT64_C(1) << 47), 0);
	/* no packed number reaches the allocated ranges */
	CHECK(mbfs_inode_number(MBFS_K_METADATA_FILE, MBFS_FMT_SQL,
				(INT64_C(1) << 47) - 1) < MBFS_INO_BIG_BASE);

	struct mbfs_ident_table t;
	mbfs_ident_table_init(&t);
	int vals[2000];
	uint64_t kc = mbfs_ident_kind(MBFS_K_CARD_FILE, MBFS_FMT_CSV);
	uint64_t kj = mbfs_ident_kind(MBFS_K_CARD_FILE, MBFS_FMT_JSON);
	CHECK(mbfs_ident_table_put(&t, kc, (uint64_t)big, &vals[0]));
	CHECK(mbfs_ident_table_put(&t, kc, (uint64_t)alias, &vals[1]));
	CHECK(mbfs_ident_table_put(&t, kj, (uint64_t)big, &vals[2]));
	CHECK(mbfs_ident_table_get(&t, kc, (uint64_t)big) == &vals[0]);
	CHECK(mbfs_ident_table_get(&t, kc, (uint64_t)alias) == &vals[1]);
	CHECK(mbfs_ident_table_get(&t, kj, (uint64_t)big) == &vals[2]);
	CHECK(mbfs_ident_table_get(&t, kj, (uint64_t)alias) == NULL);
	/* growth keeps everything */
	for (int i = 3; i < 2000; i++)
		CHECK(mbfs_ident_table_put(&t, kc, (uint64_t)i << 20, &vals[i]));
	bool all = true;
	for (int i = 3; i < 2000; i++)
		all = all && mbfs_ident_table_get(&t, kc, (uint64_t)i << 20) == &vals[i];
	CHECK(all);
	CHECK(mbfs_ident_table_get(&t, kc, (uint64_t)big) == &vals[0]);
	CHECK(!mbfs_ident_table_put(&t, kc, 1, NULL));
	mbfs_ident_table_destroy(&t);

	/* deleting from the inode table keeps the other keys reachable */
	struct mbfs_inode_table it;
	mbfs_inode_table_init(&it);
	for (uint64_t i = 1; i <= 500; i++)
		mbfs_inode_table_put(&it, i * 7919, &vals[i]);
	for (uint64_t i = 1; i <= 500; i += 2)
		mbfs_inode_table_del(&it, i * 7919);
	bool ok = true;
	for (uint64_t i = 1; i <= 500; i++) {
		void *v = mbfs_inode_table_get(&it, i * 7919);
		ok = ok && (i % 2 ? v == NULL : v == &vals[i]);
	}
	CHECK(ok);
	CHECK_INT(it.n, 250);
	mbfs_inode_table_destroy(&it);
}

int main(void)
{
	test_big_ids();
	test_numbers();
	test_hash_ids();
	test_formats();
	test_table();
	return check_done();
}
