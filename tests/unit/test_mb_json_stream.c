/*
 * test_mb_json_stream.c — unit tests of mb_json's streaming list decoder
 * (mb_json_stream_*): the same result wherever the body is cut, strings
 * holding brackets, commas and escaped quotes, elements without an id
 * skipped, envelopes, the kept text, and every malformed shape.
 */
#include "check.h"
#include "mb_json.h"

#include <stdlib.h>
#include <string.h>

static const char *CARDS =
	" [ {\"id\": 1, \"name\": \"a [b], {c}\", \"description\": \"say \\\"]\\\" \\\\\"},\n"
	"   {\"name\": \"no id\"},\n"
	"   {\"id\": \"7\", \"name\": \"x\", \"query_type\": \"native\","
	"    \"dataset_query\": {\"type\": \"native\", \"native\": {\"query\": \"SELECT ']'\"}}},\n"
	"   3,\n"
	"   {\"id\": 9, \"name\": \"\\u00e9\", \"result_metadata\": [[1, [2]], {\"k\": [\"]\"]}]} ]\n";

/* Feed body cut at `cut` (and byte by byte when cut == 0). */
static enum mbfs_status run(const char *body, size_t cut, bool keep,
			    struct mb_card_list *out, char **text, size_t *tlen,
			    size_t *count, struct mbfs_err *err)
{
	struct mb_json_stream *s = mb_json_stream_new(MB_JSON_LIST_CARDS, keep);
	size_t len = strlen(body);
	bool ok = true;
	if (cut == 0) {
		for (size_t i = 0; ok && i < len; i++)
			ok = mb_json_stream_feed(s, body + i, 1);
	} else {
		ok = mb_json_stream_feed(s, body, cut < len ? cut : len);
		if (ok && cut < len)
			ok = mb_json_stream_feed(s, body + cut, len - cut);
	}
	memset(out, 0, sizeof *out);
	enum mbfs_status st = mb_json_stream_finish(s, out, keep ? text : NULL,
						    tlen, count, err);
	mb_json_stream_free(s);
	(void)ok;
	return st;
}

static void test_cuts(void)
{
	size_t len = strlen(CARDS);
	for (size_t cut = 0; cut <= len; cut++) {
		struct mb_card_list l;
		char *text = NULL;
		size_t tlen = 0, count = 0;
		struct mbfs_err err;
		enum mbfs_status st = run(CARDS, cut, true, &l, &text, &tlen, &count, &err);
		CHECK_INT(st, MBFS_OK);
		CHECK_INT(l.n, 3);           /* no id, a number: skipped */
		CHECK_INT(count, 5);
		if (l.n == 3) {
			CHECK_STR(l.v[0].name, "a [b], {c}");
			CHECK_STR(l.v[0].description, "say \"]\" \\");
			CHECK_INT(l.v[1].id, 7);
			CHECK(l.v[1].native);
			CHECK_STR(l.v[1].native_sql, "SELECT ']'");
			CHECK_STR(l.v[2].name, "\xc3\xa9");
		}
		/* the kept text: the body, trimmed */
		CHECK(text && tlen == strlen(text) && text[0] == '[' &&
		      text[tlen - 1] == ']' && strncmp(text, CARDS + 1, tlen) == 0);
		free(text);
		mb_card_list_free(&l);
	}
}

static void test_shapes(void)
{
	struct mb_card_list l;
	struct mbfs_err err;
	size_t count, tlen;
	char *text;
	CHECK_INT(run("[]", 1, false, &l, &text, &tlen, &count, &err), MBFS_OK);
	CHECK_INT(l.n, 0);
	CHECK(l.v == NULL);
	CHECK_INT(run(" [ ]  ", 3, false, &l, &text, &tlen, &count, &err), MBFS_OK);
	/* malformed */
	static const char *const bad[] = {
		"", "   ", "[", "[{\"id\": 1}", "[{\"id\": 1},]", "[,]", "[{\"id\": 1}] x",
		"[{\"id\": 1}}]", "[{\"id\": 1]]", "[{\"id\": tru}]", "\"str\"", "42",
		"[\"unterminated]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (size_t cut = 0; cut <= strlen(bad[i]); cut += 2) {
			enum mbfs_status st = run(bad[i], cut, false, &l, &text,
						  &tlen, &count, &err);
			if (st == MBFS_OK)
				fprintf(stderr, "  accepted: %s (cut %zu)\n", bad[i], cut);
			CHECK(st != MBFS_OK);
			CHECK(err.msg[0] != '\0');
			mb_card_list_free(&l);
		}
	}
	/* an error object answered with 200: not a list */
	CHECK_INT(run("{\"errors\": {\"x\": \"boom\"}}", 5, false, &l, &text, &tlen,
		      &count, &err), MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "boom") != NULL);
}

static void test_envelope(void)
{
	const char *body = "{\"data\": [{\"id\": 1, \"name\": \"Sample\"}, {\"id\": 2, \"name\": \"W\"}],"
			   " \"total\": 2}";
	struct mb_json_stream *s = mb_json_stream_new(MB_JSON_LIST_DATABASES, true);
	for (size_t i = 0; body[i]; i++)
		CHECK(mb_json_stream_feed(s, body + i, 1));
	struct mb_database_list l = {0};
	char *text = NULL;
	size_t tlen = 0, count = 0;
	struct mbfs_err err;
	CHECK_INT(mb_json_stream_finish(s, &l, &text, &tlen, &count, &err), MBFS_OK);
	mb_json_stream_free(s);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.v[1].name, "W");
	CHECK_STR(text, "[{\"id\":1,\"name\":\"Sample\"},{\"id\":2,\"name\":\"W\"}]");
	CHECK_INT(count, 2);
	free(text);
	mb_database_list_free(&l);
	/* users as a bare array too */
	s = mb_json_stream_new(MB_JSON_LIST_USERS, false);
	const char *u = "[{\"id\": 2, \"first_name\": \"Ada\", \"last_name\": \"Analyst\"}]";
	CHECK(mb_json_stream_feed(s, u, strlen(u)));
	struct mb_user_list ul = {0};
	CHECK_INT(mb_json_stream_finish(s, &ul, NULL, NULL, NULL, &err), MBFS_OK);
	mb_json_stream_free(s);
	CHECK_INT(ul.n, 1);
	CHECK_STR(ul.v[0].common_name, "Ada Analyst");
	mb_user_list_free(&ul);
	/* a stream freed without finishing releases what it decoded */
	s = mb_json_stream_new(MB_JSON_LIST_DASHBOARDS, true);
	const char *d = "[{\"id\": 1, \"name\": \"D\", \"parameters\": [{\"id\": \"p\", \"default\": 1}]}, {\"id\": 2";
	CHECK(mb_json_stream_feed(s, d, strlen(d)));
	mb_json_stream_free(s);
	CHECK(mb_json_stream_new((enum mb_json_list_kind)99, false) == NULL);
}

/* The kept text is served as metadata/ files: an element json-c would
 * take leniently ({"id":1,}, 'x', a comment, 01) fails the list instead
 * of reaching them (found by tests/fuzz/fuzz_mb_json), and so does a
 * single-quoted first key, which json-c 0.16's strict mode took. */
static void test_strict(void)
{
	static const char *const bodies[] = {
		"[{\"id\":1,}]", "[{\"id\":1,'name':'x'}]", "[{\"id\":1}/*c*/]",
		"[{\"id\":01}]", "[{'id':1}]",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		for (size_t cut = 0; cut <= strlen(bodies[i]); cut++) {
			struct mb_card_list l;
			struct mbfs_err err;
			size_t count, tlen;
			char *text = NULL;
			CHECK_INT(run(bodies[i], cut, true, &l, &text, &tlen,
				      &count, &err),
				  MBFS_ERR_PROTOCOL);
			CHECK(text == NULL);
			mb_card_list_free(&l);
		}
	}
}

int main(void)
{
	test_cuts();
	test_shapes();
	test_envelope();
	test_strict();
	return check_done();
}
