/*
 * fuzz_mb_json.c — libFuzzer target: every whole-body decoder of mb_json.h
 * on the same body (dashboard, schemas, tables, user, properties,
 * session id, error messages, the list array), plus mb_caps_from_version
 * on the decoded version tag and mb_json_quote on the body as a C string.
 * (The lists of cards, collections, dashboards, databases and users are
 * decoded as they arrive: fuzz_mb_json_stream.c.)
 *
 * Invariants checked beyond "no crash, no leak, no UB":
 *  - a failed decode leaves *out zeroed and err.msg terminated;
 *  - every decoded string is NUL-terminated (strlen walks it under ASan);
 *  - a list array's text is a JSON array with the element count reported
 *    (mb_json_list_array, strict, takes it back unchanged);
 *  - mb_json_quote's result is a JSON value (as the element of an array);
 *  - error messages fit the caller's buffer, whatever its size.
 * The body is an exact-size heap copy, not NUL-terminated (the decoders'
 * contract).
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "mb_caps.h"
#include "mb_json.h"
#include "mb_types.h"

/* The element count of text, which must be a JSON array: parsed
 * strictly, it comes back unchanged (a bare array is copied verbatim). */
static size_t array_count(const char *text, size_t len)
{
	char *again;
	size_t alen, count;
	struct mbfs_err err;
	FUZZ_ASSERT(mb_json_list_array(text, len, &again, &alen, &count,
				       &err) == MBFS_OK);
	FUZZ_ASSERT(alen == len && memcmp(again, text, len) == 0);
	free(again);
	return count;
}

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

#define CHECK_FAIL(st, out, err)                                             \
	do {                                                                 \
		if ((st) != MBFS_OK) {                                       \
			FUZZ_ASSERT(fuzz_terminated((err).msg,               \
						    sizeof (err).msg));      \
			FUZZ_ASSERT(all_zero(&(out), sizeof(out)));          \
		}                                                            \
	} while (0)

static void dashboard(const char *b, size_t n)
{
	struct mb_dashboard d;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_dashboard(b, n, &d, &err);
	CHECK_FAIL(st, d, err);
	if (st == MBFS_OK) {
		FUZZ_ASSERT(d.default_parameters != NULL);
		(void)array_count(d.default_parameters,
				  strlen(d.default_parameters));
		for (size_t i = 0; i < d.n_tabs; i++)
			touch(d.tabs[i].name);
		for (size_t i = 1; i < d.n_tabs; i++)
			FUZZ_ASSERT(d.tabs[i - 1].position <= d.tabs[i].position);
		for (size_t i = 0; i < d.n_dashcards; i++)
			touch(d.dashcards[i].card_name),
				touch(d.dashcards[i].title),
				touch(d.dashcards[i].card_description),
				touch(d.dashcards[i].updated_at);
	}
	mb_dashboard_free(&d);
}

static void schemas(const char *b, size_t n)
{
	struct mb_string_list s;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_string_list(b, n, &s, &err);
	CHECK_FAIL(st, s, err);
	for (size_t i = 0; i < s.n; i++) {
		FUZZ_ASSERT(s.v[i] != NULL);
		touch(s.v[i]);
	}
	mb_string_list_free(&s);
}

static void tables(const char *b, size_t n)
{
	struct mb_table_list l;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_table_list(b, n, &l, &err);
	CHECK_FAIL(st, l, err);
	for (size_t i = 0; i < l.n; i++)
		touch(l.v[i].name), touch(l.v[i].display_name),
			touch(l.v[i].schema);
	mb_table_list_free(&l);
}

static void user(const char *b, size_t n)
{
	struct mb_user u;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_user(b, n, &u, &err);
	CHECK_FAIL(st, u, err);
	touch(u.email), touch(u.common_name);
	mb_user_free(&u);
}

static void properties(const char *b, size_t n)
{
	struct mb_properties p;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_properties(b, n, &p, &err);
	CHECK_FAIL(st, p, err);
	touch(p.site_name);
	struct mb_caps caps;
	mb_caps_from_version(p.version_tag, &caps);
	FUZZ_ASSERT(fuzz_terminated(caps.version, sizeof caps.version));
	char desc[1024];
	int dn = mb_caps_describe(&caps, desc, sizeof desc);
	FUZZ_ASSERT(dn >= 0);
	mb_properties_free(&p);
}

static void session(const char *b, size_t n)
{
	static const size_t sizes[] = {1, 2, 8, 65, 512};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char out[512];
		struct mbfs_err err;
		memset(out, 'x', sizeof out);
		enum mbfs_status st = mb_json_session_id(b, n, out, sizes[i], &err);
		FUZZ_ASSERT(fuzz_terminated(out, sizes[i]));
		if (st == MBFS_OK)
			FUZZ_ASSERT(out[0] != '\0');
		else
			FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
	}
}

static void errors(const char *b, size_t n)
{
	static const size_t sizes[] = {1, 2, 17, 81, 400};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char msg[400];
		memset(msg, 'x', sizeof msg);
		(void)mb_json_error_message(b, n, msg, sizes[i]);
		FUZZ_ASSERT(fuzz_terminated(msg, sizes[i]));
	}
	(void)mb_json_error_message(b, n, NULL, 0);
}

static void list_array(const char *b, size_t n)
{
	char *out;
	size_t outlen, count;
	struct mbfs_err err;
	enum mbfs_status st = mb_json_list_array(b, n, &out, &outlen, &count, &err);
	if (st != MBFS_OK) {
		FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
		FUZZ_ASSERT(out == NULL && outlen == 0 && count == 0);
		return;
	}
	FUZZ_ASSERT(out != NULL && out[outlen] == '\0');
	FUZZ_ASSERT(out[0] == '[');
	FUZZ_ASSERT(array_count(out, outlen) == count);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = fuzz_dup(data, size);

	dashboard(b, size);
	schemas(b, size);
	tables(b, size);
	user(b, size);
	properties(b, size);
	session(b, size);
	errors(b, size);
	list_array(b, size);
	free(b);

	/* the body as a C string: the version parser and the quoter */
	char *s = fuzz_cstr(data, size);
	struct mb_caps caps;
	mb_caps_from_version(s, &caps);
	char *q = mb_json_quote(s);
	FUZZ_ASSERT(q != NULL);
	size_t ql = strlen(q);
	char *arr = malloc(ql + 3);
	FUZZ_ASSERT(arr != NULL);
	arr[0] = '[';
	memcpy(arr + 1, q, ql);
	memcpy(arr + 1 + ql, "]", 2);
	FUZZ_ASSERT(array_count(arr, ql + 2) == 1);
	free(arr);
	free(q);
	free(s);
	return 0;
}
