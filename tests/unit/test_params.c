/*
 * test_params.c — unit tests of params.c: splitting "file?query" and
 * parsing the query (percent-decoding, repeated names, malformed names).
 */
#include "check.h"
#include "params.h"

#include <stdlib.h>
#include <string.h>

static void test_query(void)
{
	CHECK_STR(mbfs_params_query("27.csv?a=1"), "a=1");
	CHECK_STR(mbfs_params_query("a?b.csv?c=d"), "b.csv?c=d"); /* the first '?' */
	CHECK(mbfs_params_query("27.csv") == NULL);
	CHECK_STR(mbfs_params_query("27.csv?"), "");
}

static void test_parse(void)
{
	struct mb_param_args a;
	struct mbfs_err err;
	CHECK_INT(mbfs_params_parse("category=Gizmo&created_at=2024-01-01~2024-03-31&category=Ga%64get",
				    &a, &err), MBFS_OK);
	CHECK_INT(a.n, 2);
	if (a.n == 2) {
		CHECK_STR(a.v[0].slug, "category");
		CHECK_INT(a.v[0].n_values, 2);
		CHECK_STR(a.v[0].values[0], "Gizmo");
		CHECK_STR(a.v[0].values[1], "Gadget");
		CHECK_STR(a.v[1].slug, "created_at");
		CHECK_STR(a.v[1].values[0], "2024-01-01~2024-03-31");
	}
	mb_param_args_free(&a);
	/* escapes in names and values; '+' is kept; an empty value is a value */
	CHECK_INT(mbfs_params_parse("c%61t=A%26B%3Dc%2Fd+e&x=", &a, &err), MBFS_OK);
	CHECK_INT(a.n, 2);
	if (a.n == 2) {
		CHECK_STR(a.v[0].slug, "cat");
		CHECK_STR(a.v[0].values[0], "A&B=c/d+e");
		CHECK_STR(a.v[1].values[0], "");
	}
	mb_param_args_free(&a);
	/* UTF-8, escaped or not */
	CHECK_INT(mbfs_params_parse("city=%E6%9D%B1%E4%BA%AC&c=東京", &a, &err), MBFS_OK);
	if (a.n == 2)
		CHECK_STR(a.v[0].values[0], a.v[1].values[0]);
	mb_param_args_free(&a);
	/* malformed: refused (the lookup answers ENOENT) */
	static const char *const bad[] = {
		"", "a", "=x", "a=1&", "&a=1", "a=1&&b=2", "a=%", "a=%4", "a=%zz",
		"a=%00", "%00=1", "a%=1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&a, 0x5a, sizeof a);
		enum mbfs_status st = mbfs_params_parse(bad[i], &a, &err);
		if (st != MBFS_ERR_INVALID)
			fprintf(stderr, "  \"%s\" was accepted\n", bad[i]);
		CHECK_INT(st, MBFS_ERR_INVALID);
		CHECK(a.n == 0 && a.v == NULL);
	}
	/* a bounded number of pairs */
	char q[4096] = "";
	for (int i = 0; i <= MBFS_PARAMS_MAX; i++)
		strcat(q, i ? "&a=1" : "a=1");
	CHECK_INT(mbfs_params_parse(q, &a, &err), MBFS_ERR_INVALID);
	q[strlen(q) - 4] = '\0';
	CHECK_INT(mbfs_params_parse(q, &a, &err), MBFS_OK);
	CHECK_INT(a.n, 1);
	if (a.n == 1)
		CHECK_INT(a.v[0].n_values, MBFS_PARAMS_MAX);
	mb_param_args_free(&a);
	mb_param_args_free(NULL);
}

int main(void)
{
	test_query();
	test_parse();
	return check_done();
}
