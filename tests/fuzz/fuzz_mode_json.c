/*
 * fuzz_mode_json.c — libFuzzer target: Mode's HAL decoders (mode_json.h)
 * on the same body: a list page under several embedded keys (with and
 * without the items' JSON text), a single resource, an error body.
 *
 * Invariants checked beyond "no crash, no leak, no UB":
 *  - every decoded string is NUL-terminated (strlen walks it under ASan);
 *  - a failed decode leaves err.msg terminated;
 *  - a page decoded twice appends: n doubles, and the items' text is the
 *    same objects again, ','-joined;
 *  - the items' text, wrapped as a page of its own, decodes strictly to
 *    the same number of items (what the metadata/ files serve is JSON);
 *  - an error message fits the caller's buffer, whatever its size.
 * The body is an exact-size heap copy, not NUL-terminated.
 */
#include "fuzz_util.h"

#include <stdio.h>

#include "mode_json.h"

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t touch_item(const struct mode_item *it)
{
	return touch(it->token) + touch(it->name) + touch(it->description) +
	       touch(it->updated_at) + touch(it->raw_query) +
	       touch(it->state) + touch(it->query_token) +
	       touch(it->query_name) + touch(it->error_message) +
	       touch(it->last_success_token) + touch(it->last_success_href) +
	       touch(it->adapter) + touch(it->host) + touch(it->database) +
	       touch(it->web);
}

static void page(const char *b, size_t n, const char *key)
{
	struct mode_page p = {0};
	struct mbfs_err err;
	enum mbfs_status st = mode_json_page(b, n, key, true, &p, &err);
	if (st != MBFS_OK) {
		FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
		mode_page_free(&p);
		return;
	}
	size_t n1 = p.n, len1 = p.json_len;
	for (size_t i = 0; i < p.n; i++)
		(void)touch_item(&p.v[i]);
	(void)touch(p.next);
	/* the items' text is JSON: as a page of its own, the same count */
	char *wrap = malloc(p.json_len + 64);
	FUZZ_ASSERT(wrap);
	int wl = sprintf(wrap, "{\"_embedded\":{\"x\":[%s]}}", p.json ? p.json : "");
	struct mode_page q = {0};
	FUZZ_ASSERT(mode_json_page(wrap, (size_t)wl, "x", false, &q, &err) == MBFS_OK);
	FUZZ_ASSERT(q.n == n1);
	mode_page_free(&q);
	free(wrap);
	/* a second page appends */
	st = mode_json_page(b, n, key, true, &p, &err);
	if (st == MBFS_OK) {
		FUZZ_ASSERT(p.n == 2 * n1);
		if (n1)
			FUZZ_ASSERT(p.json_len == 2 * len1 + 1);
	}
	mode_page_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	static const char *const keys[] = {"data_sources", "spaces", "reports",
					   "queries", "query_runs", "report_runs"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		page(b, size, keys[i]);
	struct mode_item it;
	struct mbfs_err err;
	if (mode_json_object(b, size, "resource", &it, &err) == MBFS_OK) {
		(void)touch_item(&it);
		mode_item_free(&it);
	} else {
		FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
	}
	static const size_t sizes[] = {1, 2, 7, 64, 420};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char msg[420];
		memset(msg, 'x', sizeof msg);
		if (mode_json_error(b, size, msg, sizes[i]))
			FUZZ_ASSERT(fuzz_terminated(msg, sizes[i]));
	}
	free(b);
	return 0;
}
