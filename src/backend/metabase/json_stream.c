/*
 * json_stream.c — owns list bodies: the streaming decoder of the lists
 * (GET /api/card, /api/collection, /api/dashboard, /api/database,
 * /api/user), one top-level array element at a time, so memory stays
 * bounded by the largest element plus the decoded structs (an envelope is
 * collected and decoded whole), and the array of a list body as text
 * (metadata/ files). See mb_json.h.
 */
#include "json_internal.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum mbfs_status mb_json_list_array(const char *buf, size_t len, char **out,
				    size_t *outlen, size_t *count,
				    struct mbfs_err *err)
{
	struct json_object *root;
	*out = NULL;
	*outlen = 0;
	*count = 0;
	enum mbfs_status st = mbj_parse(buf, len, "list", true, &root, err);
	if (st != MBFS_OK)
		return st;
	struct json_object *arr = mbj_array_of(root);
	if (!arr) {
		st = mbj_shape_error(root, "list", "a JSON array", err);
	} else if (arr == root) {
		/* a bare array: the server's bytes, verbatim (trimmed) */
		size_t b = mbj_skip_ws(buf, len, 0), e = len;
		while (e > b && mbj_is_ws(buf[e - 1]))
			e--;
		*out = malloc(e - b + 1);
		if (!*out) {
			st = mbj_nomem("list", err);
		} else {
			memcpy(*out, buf + b, e - b);
			(*out)[e - b] = '\0';
			*outlen = e - b;
			*count = mbj_len(arr);
		}
	} else {
		size_t n = 0;
		const char *s = json_object_to_json_string_length(
			arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&n);
		*out = s ? malloc(n + 1) : NULL;
		if (!*out) {
			st = mbj_nomem("list", err);
		} else {
			memcpy(*out, s, n);
			(*out)[n] = '\0';
			*outlen = n;
			*count = mbj_len(arr);
		}
	}
	json_object_put(root);
	return st;
}

enum stream_state {
	ST_BEFORE,     /* nothing but whitespace yet */
	ST_ARRAY,      /* inside the top-level array */
	ST_AFTER,      /* after its closing bracket */
	ST_ENVELOPE,   /* a top-level object: collected, decoded at the end */
	ST_BAD,
};

struct mb_json_stream {
	const struct mbj_list_desc *desc;
	enum mb_json_list_kind kind;
	bool keep_text;
	enum stream_state state;
	struct mbfs_jscan js;      /* nesting (1: inside the top-level
				      array) and strings */
	bool after_comma;          /* the last separator was a comma */
	char *elem;                /* the element being scanned */
	size_t elem_len, elem_cap;
	char *v;                   /* decoded elements */
	size_t n, cap;
	size_t count;              /* elements seen */
	char *text;                /* every byte, when kept or an envelope */
	size_t text_len, text_cap;
	uint64_t total;
	struct mbj_dec d;
	struct mbfs_err err;       /* first failure */
};

static bool grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	char *nb = realloc(*buf, nc);
	if (!nb)
		return false;
	*buf = nb;
	*cap = nc;
	return true;
}

struct mb_json_stream *mb_json_stream_new(enum mb_json_list_kind kind,
					  bool keep_text)
{
	const struct mbj_list_desc *desc = mbj_list_desc(kind);
	if (!desc)
		return NULL;
	struct mb_json_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->desc = desc;
	s->kind = kind;
	s->keep_text = keep_text;
	return s;
}

void mb_json_stream_free(struct mb_json_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		s->desc->clear(s->v + i * s->desc->elsz);
	free(s->v);
	free(s->elem);
	free(s->text);
	free(s);
}

static bool stream_fail(struct mb_json_stream *s, enum mbfs_status st,
			const char *msg)
{
	if (s->state != ST_BAD)
		mbfs_err_set(&s->err, st, 0, "%s: %s", s->desc->what, msg);
	s->state = ST_BAD;
	return false;
}

/* One complete element of the top-level array: parse and decode it. */
static bool stream_element(struct mb_json_stream *s)
{
	struct json_object *o;
	struct mbfs_err e;
	s->count++;
	if (mbj_parse(s->elem, s->elem_len, s->desc->what, false, &o, &e) !=
	    MBFS_OK) {
		s->err = e;
		s->state = ST_BAD;
		return false;
	}
	size_t sz = s->desc->elsz;
	if (!grow(&s->v, &s->cap, (s->n + 1) * sz)) {
		json_object_put(o);
		return stream_fail(s, MBFS_ERR_NOMEM, "out of memory");
	}
	void *el = s->v + s->n * sz;
	memset(el, 0, sz);
	if (s->desc->fn(&s->d, o, el))
		s->n++;
	else
		s->desc->clear(el);
	json_object_put(o);
	s->elem_len = 0;
	if (s->d.oom)
		return stream_fail(s, MBFS_ERR_NOMEM, "out of memory");
	return true;
}

bool mb_json_stream_feed(struct mb_json_stream *s, const char *buf, size_t len)
{
	if (s->state == ST_BAD)
		return false;
	s->total += len;
	if (s->total > MB_JSON_MAX_BODY)
		return stream_fail(s, MBFS_ERR_TOO_BIG, "body exceeds the size limit");
	size_t i = 0, start = 0;
	if (s->state == ST_BEFORE) {
		i = mbj_skip_ws(buf, len, 0);
		if (i < len) {
			if (buf[i] == '[') {
				s->state = ST_ARRAY;
				s->js.depth = 1;
				start = i + 1; /* scan after the opening bracket */
			} else if (buf[i] == '{') {
				s->state = ST_ENVELOPE;
			} else {
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "expected a JSON array");
			}
		}
	}
	if ((s->keep_text || s->state == ST_ENVELOPE) && len) {
		if (!grow(&s->text, &s->text_cap, s->text_len + len + 1))
			return stream_fail(s, MBFS_ERR_NOMEM, "out of memory");
		memcpy(s->text + s->text_len, buf, len);
		s->text_len += len;
		s->text[s->text_len] = '\0';
	}
	if (s->state != ST_ARRAY && s->state != ST_AFTER)
		return true;
	for (i = start; i < len; i++) {
		char c = buf[i];
		if (s->state == ST_AFTER) {
			if (!mbj_is_ws(c))
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "trailing data after the array");
			continue;
		}
		if (s->js.depth == 1 && !s->js.in_str && (c == ',' || c == ']')) {
			bool blank = mbj_skip_ws(s->elem, s->elem_len, 0) == s->elem_len;
			if (!blank && !stream_element(s))
				return false;
			if (blank && (c == ',' || s->after_comma))
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "empty array element");
			s->after_comma = c == ',';
			s->elem_len = 0;
			if (c == ']') {
				s->js.depth = 0;
				s->state = ST_AFTER;
			}
			continue;
		}
		if (!grow(&s->elem, &s->elem_cap, s->elem_len + 1))
			return stream_fail(s, MBFS_ERR_NOMEM, "out of memory");
		s->elem[s->elem_len++] = c;
		if (mbfs_jscan_step(&s->js, c) == MBFS_JSCAN_CLOSE &&
		    s->js.depth < 1)
			return stream_fail(s, MBFS_ERR_PROTOCOL,
					   "unbalanced brackets");
	}
	return true;
}

/* Move the decoded elements into the caller's list struct. */
static void stream_hand_over(struct mb_json_stream *s, void *out)
{
	void *v = s->n ? s->v : NULL;
	if (!s->n)
		free(s->v);
#define HAND_OVER(type) (((type *)out)->v = v, ((type *)out)->n = s->n)
	switch (s->kind) {
	case MB_JSON_LIST_CARDS: HAND_OVER(struct mb_card_list); break;
	case MB_JSON_LIST_COLLECTIONS: HAND_OVER(struct mb_collection_list); break;
	case MB_JSON_LIST_DASHBOARDS: HAND_OVER(struct mb_dashboard_list); break;
	case MB_JSON_LIST_DATABASES: HAND_OVER(struct mb_database_list); break;
	case MB_JSON_LIST_USERS: HAND_OVER(struct mb_user_list); break;
	}
#undef HAND_OVER
	s->v = NULL;
	s->n = s->cap = 0;
}

/* A collected envelope (or an error object): decoded whole. */
static enum mbfs_status stream_envelope(struct mb_json_stream *s, void *out,
					struct mbfs_err *err)
{
	void *v;
	enum mbfs_status st = mbj_decode_many(s->text, s->text_len, s->desc->what,
					      s->desc->elsz, s->desc->fn,
					      s->desc->clear, &v, &s->n, err);
	free(s->v);
	s->v = v;
	stream_hand_over(s, out);
	return st;
}

enum mbfs_status mb_json_stream_finish(struct mb_json_stream *s, void *out,
				       char **text, size_t *text_len,
				       size_t *count, struct mbfs_err *err)
{
	if (text) {
		*text = NULL;
		*text_len = 0;
	}
	if (count)
		*count = 0;
	if (s->state == ST_BAD) {
		*err = s->err;
		return s->err.status;
	}
	if (s->state == ST_BEFORE)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: empty body where JSON was expected",
				    s->desc->what);
	if (s->state == ST_ARRAY)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: the body ends inside the array",
				    s->desc->what);
	if (s->state == ST_ENVELOPE) {
		enum mbfs_status st = stream_envelope(s, out, err);
		if (st == MBFS_OK && text) {
			size_t n = 0;
			st = mb_json_list_array(s->text, s->text_len, text,
						text_len, &n, err);
			if (count)
				*count = n;
		}
		return st;
	}
	stream_hand_over(s, out);
	if (count)
		*count = s->count;
	if (text && s->keep_text && s->text) {
		/* the server's bytes, trimmed */
		size_t b = mbj_skip_ws(s->text, s->text_len, 0), e = s->text_len;
		while (e > b && mbj_is_ws(s->text[e - 1]))
			e--;
		memmove(s->text, s->text + b, e - b);
		s->text[e - b] = '\0';
		*text = s->text;
		*text_len = e - b;
		s->text = NULL;
	}
	return MBFS_OK;
}
