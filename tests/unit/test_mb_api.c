/*
 * test_mb_api.c — unit tests of mb_api.c's request URLs: a URL that would
 * not fit is an error (MBFS_ERR_INVALID) before any request, never a
 * silently cut URL, and every op fails cleanly (a base URL of about 2,000
 * bytes used to reach an invalid free() in get_json, which returned before
 * zeroing the request that its caller then cleaned up). No network: the
 * host does not exist and nothing may be sent to it.
 */
#include "check.h"
#include "mb_api.h"

#include <stdlib.h>
#include <string.h>

static bool no_sink(void *arg, const char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return true;
}

static bool too_long(enum mbfs_status st, const struct mbfs_err *err)
{
	bool ok = st == MBFS_ERR_INVALID &&
		  strstr(err->msg, "the request URL would be longer than 2047 bytes");
	if (!ok)
		fprintf(stderr, "  status %s: %s\n", mbfs_status_name(st), err->msg);
	return ok;
}

static void test_long_urls(void)
{
	struct mb_http *h = NULL;
	struct mb_auth *auth = NULL;
	struct mbfs_err err;
	struct mb_http_config hc = {.connect_timeout = 1, .stall_timeout = 1};
	CHECK_INT(mb_http_new(&hc, &h, &err), MBFS_OK);
	char url[2100] = "http://mbfs-test.invalid/";
	size_t l = strlen(url);
	memset(url + l, 'p', 2040 - l);
	url[2040] = '\0';
	struct mb_auth_config ac = {.url = url, .api_key = "mb_unit_key"};
	CHECK_INT(mb_auth_new(&ac, h, &auth, &err), MBFS_OK);
	struct mb_client *c = mb_api_new(url, h, auth, 0);
	CHECK(c != NULL);
	if (!h || !auth || !c)
		return;

	struct mb_properties props;
	struct mb_user user;
	struct mb_string_list schemas;
	struct mb_table_list tables;
	struct mb_dashboard dash;
	struct mb_card_list cards;
	memset(&cards, 0, sizeof cards);
	memset(&props, 0, sizeof props);
	memset(&user, 0, sizeof user);
	memset(&schemas, 0, sizeof schemas);
	memset(&tables, 0, sizeof tables);
	memset(&dash, 0, sizeof dash);
	CHECK(too_long(c->ops->properties(c, &props, &err), &err));
	CHECK(too_long(c->ops->current_user(c, &user, &err), &err));
	CHECK(too_long(c->ops->schemas(c, 1, &schemas, &err), &err));
	CHECK(too_long(c->ops->tables(c, 1, "PUBLIC", &tables, &err), &err));
	CHECK(too_long(c->ops->dashboard(c, 2, &dash, &err), &err));
	CHECK(too_long(c->ops->list(c, MB_LIST_CARDS, &cards, NULL, NULL, NULL,
				   &err), &err));
	struct mb_export_req r = {.kind = MB_EXPORT_CARD, .id = 1, .format = "csv"};
	struct mb_export_result res;
	CHECK(too_long(c->ops->export_run(c, &r, no_sink, NULL, &res, &err), &err));
	/* nothing was sent */
	char stats[2048];
	c->ops->describe_stats(c, stats, sizeof stats);
	CHECK_STR(stats, "");
	c->ops->destroy(c);

	/* a short base URL and a schema name from the server of 2000 bytes:
	 * refused, not cut to a URL that names another schema */
	c = mb_api_new("http://mbfs-test.invalid", h, auth, 0);
	char schema[2001];
	memset(schema, 's', 2000);
	schema[2000] = '\0';
	enum mbfs_status st = c->ops->tables(c, 1, schema, &tables, &err);
	CHECK_INT(st, MBFS_ERR_INVALID);
	CHECK(strstr(err.msg, "/api/database/:id/schema/:schema: the request URL would be longer") != NULL);
	c->ops->destroy(c);

	mb_http_free(h);
	mb_auth_free(auth);
}

int main(void)
{
	test_long_urls();
	return check_done();
}
