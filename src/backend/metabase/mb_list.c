/*
 * mb_list.c — the `list` op of the Metabase clients: a list endpoint's
 * body decoded as it arrives (mb_json_stream), or, for a list kept only as
 * text (snippets), read whole under a cap and checked to be an array.
 * Moved here from the meta cache, which now receives decoded lists.
 */
#include "mb_list.h"

#include <stdlib.h>
#include <string.h>

#include "mb_json.h"

/* A list kept only as text (metadata/snippets.json): at most this much. */
#define TEXT_LIST_MAX ((size_t)64 * 1024 * 1024)

static bool stream_feed(void *arg, const char *buf, size_t len)
{
	return mb_json_stream_feed(arg, buf, len);
}

static enum mbfs_status decode_stream(struct mb_client *c,
				      mb_list_body_fn body, enum mb_list which,
				      enum mb_json_list_kind jk, void *out,
				      char **array, size_t *array_len,
				      size_t *count, struct mbfs_err *err)
{
	struct mb_json_stream *js = mb_json_stream_new(jk, array != NULL);
	if (!js)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	enum mbfs_status st = body(c, which, stream_feed, js, err);
	struct mbfs_err jerr;
	mbfs_err_clear(&jerr);
	/* a malformed body aborts the transfer: report the decoder's reason */
	enum mbfs_status jst = mb_json_stream_finish(js, out, array, array_len,
						     count, &jerr);
	if (jst != MBFS_OK && (st == MBFS_OK || mbfs_status_abandoned(st))) {
		*err = jerr;
		st = jst;
	}
	mb_json_stream_free(js);
	return st;
}

struct text_buf {
	char *buf;
	size_t len, cap;
	bool too_big, oom;
};

static bool text_feed(void *arg, const char *buf, size_t len)
{
	struct text_buf *t = arg;
	if (t->len + len > TEXT_LIST_MAX) {
		t->too_big = true;
		return false;
	}
	if (t->len + len + 1 > t->cap) {
		size_t nc = t->cap ? t->cap : 4096;
		while (nc < t->len + len + 1)
			nc *= 2;
		char *nb = realloc(t->buf, nc);
		if (!nb) {
			t->oom = true;
			return false;
		}
		t->buf = nb;
		t->cap = nc;
	}
	memcpy(t->buf + t->len, buf, len);
	t->len += len;
	t->buf[t->len] = '\0';
	return true;
}

static enum mbfs_status decode_text(struct mb_client *c, mb_list_body_fn body,
				    enum mb_list which, char **array,
				    size_t *array_len, size_t *count,
				    struct mbfs_err *err)
{
	struct text_buf t = {0};
	enum mbfs_status st = body(c, which, text_feed, &t, err);
	if (t.too_big)
		st = mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
				  "the list is larger than %zu bytes",
				  TEXT_LIST_MAX);
	else if (t.oom)
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	if (st == MBFS_OK)
		st = mb_json_list_array(t.buf, t.len, array, array_len, count,
					err);
	free(t.buf);
	return st;
}

enum mbfs_status mb_list_decode(struct mb_client *c, mb_list_body_fn body,
				enum mb_list which, void *out, char **array,
				size_t *array_len, size_t *count,
				struct mbfs_err *err)
{
	static const struct {
		bool decoded;
		enum mb_json_list_kind json;
	} kinds[] = {
		[MB_LIST_CARDS] = {true, MB_JSON_LIST_CARDS},
		[MB_LIST_COLLECTIONS] = {true, MB_JSON_LIST_COLLECTIONS},
		[MB_LIST_DASHBOARDS] = {true, MB_JSON_LIST_DASHBOARDS},
		[MB_LIST_DATABASES] = {true, MB_JSON_LIST_DATABASES},
		[MB_LIST_USERS] = {true, MB_JSON_LIST_USERS},
		[MB_LIST_SNIPPETS] = {false, MB_JSON_LIST_CARDS},
	};
	if ((size_t)which >= sizeof kinds / sizeof kinds[0])
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "unknown list");
	if (!kinds[which].decoded) {
		if (!array)
			return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
					    "this list is kept as text only");
		return decode_text(c, body, which, array, array_len, count,
				   err);
	}
	return decode_stream(c, body, which, kinds[which].json, out, array,
			     array_len, count, err);
}
