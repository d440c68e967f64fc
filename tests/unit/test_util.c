/* Unit tests for util.c: clocks, FNV-1a, dup0, the string map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

struct thing {
	char key[32];
	int value;
	struct mbfs_map_item item;
};

static void test_hash_and_dup(void)
{
	/* published FNV-1a 64 test vectors */
	CHECK(mbfs_fnv1a_str(MBFS_FNV1A_INIT, "") == MBFS_FNV1A_INIT);
	CHECK(mbfs_fnv1a_str(MBFS_FNV1A_INIT, "a") == UINT64_C(0xaf63dc4c8601ec8c));
	CHECK(mbfs_fnv1a_str(MBFS_FNV1A_INIT, "foobar") ==
	      UINT64_C(0x85944171f73967e8));
	/* pieces hash as the whole */
	uint64_t h = mbfs_fnv1a(MBFS_FNV1A_INIT, "foo", 3);
	CHECK(mbfs_fnv1a_str(h, "bar") == UINT64_C(0x85944171f73967e8));
	CHECK(mbfs_dup0(NULL) == NULL);
	char *d = mbfs_dup0("x y");
	CHECK_STR(d, "x y");
	free(d);
	double m1 = mbfs_mono_now(), m2 = mbfs_mono_now();
	CHECK(m2 >= m1 && m1 > 0);
	CHECK(mbfs_wall_now() > 1.5e9); /* after 2017 */
}

static void test_map(void)
{
	enum { N = 5000 };
	struct thing *v = calloc(N, sizeof *v);
	struct mbfs_map m;
	mbfs_map_init(&m);
	CHECK(mbfs_map_get(&m, "nothing") == NULL);
	for (int i = 0; i < N; i++) {
		snprintf(v[i].key, sizeof v[i].key, "key-%d", i);
		v[i].value = i;
		CHECK(mbfs_map_put(&m, &v[i].item, v[i].key));
	}
	CHECK_INT(mbfs_map_count(&m), N);
	CHECK(m.n_buckets >= N);
	int found = 0;
	for (int i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "key-%d", i);
		struct mbfs_map_item *it = mbfs_map_get(&m, k);
		if (it && MBFS_MAP_ENTRY(it, struct thing, item)->value == i)
			found++;
	}
	CHECK_INT(found, N);
	CHECK(mbfs_map_get(&m, "key-5000") == NULL);
	/* the walk sees each item once, and may remove the current one */
	struct mbfs_map_iter i;
	long sum = 0;
	int seen = 0;
	for (struct mbfs_map_item *it = mbfs_map_first(&m, &i); it;
	     it = mbfs_map_next(&i)) {
		struct thing *t = MBFS_MAP_ENTRY(it, struct thing, item);
		sum += t->value;
		seen++;
		if (t->value % 2)
			mbfs_map_del(&m, it);
	}
	CHECK_INT(seen, N);
	CHECK_INT(sum, (long)N * (N - 1) / 2);
	CHECK_INT(mbfs_map_count(&m), N / 2);
	CHECK(mbfs_map_get(&m, "key-3") == NULL);
	CHECK(mbfs_map_get(&m, "key-4") == &v[4].item);
	seen = 0;
	for (struct mbfs_map_item *it = mbfs_map_first(&m, &i); it;
	     it = mbfs_map_next(&i))
		seen++;
	CHECK_INT(seen, N / 2);
	mbfs_map_destroy(&m);
	CHECK_INT(mbfs_map_count(&m), 0);
	CHECK(mbfs_map_get(&m, "key-4") == NULL);
	/* reserve: no growth afterwards */
	CHECK(mbfs_map_reserve(&m, 1000));
	size_t nb = m.n_buckets;
	CHECK(nb >= 1000);
	for (int k = 0; k < 1000; k++)
		mbfs_map_put(&m, &v[k].item, v[k].key);
	CHECK_INT(m.n_buckets, nb);
	mbfs_map_destroy(&m);
	free(v);
}

int main(void)
{
	test_hash_and_dup();
	test_map();
	return check_done();
}
