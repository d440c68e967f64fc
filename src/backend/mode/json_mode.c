/*
 * json_mode.c — owns the decoding of Mode's HAL+JSON (mode_json.h) with
 * json-c, on the strict parser and typed helpers the Metabase decoders
 * use (json_internal.h: one JSON scanner for every backend). Ids may come
 * as numbers or decimal strings (mode-api.md §8).
 */
#include "mode_json.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* _links.<rel>.href as a copy, or NULL. */
static char *link_href(struct mbj_dec *d, struct json_object *o,
		       const char *rel)
{
	return mbj_tstr(d, mbj_get(mbj_get(mbj_get(o, "_links"), rel), "href"));
}

static int tri(struct json_object *v)
{
	return v ? (mbj_bool(v, false) ? 1 : 0) : -1;
}

static void decode_item(struct mbj_dec *d, struct json_object *o,
			struct mode_item *it)
{
	memset(it, 0, sizeof *it);
	it->token = mbj_tstr(d, mbj_get(o, "token"));
	it->name = mbj_tstr(d, mbj_get(o, "name"));
	it->description = mbj_tstr(d, mbj_get(o, "description"));
	it->updated_at = mbj_tstr(d, mbj_get(o, "updated_at"));
	it->id = mbj_int(mbj_get(o, "id"), 0);
	it->raw_query = mbj_tstr(d, mbj_get(o, "raw_query"));
	it->state = mbj_tstr(d, mbj_get(o, "state"));
	it->query_token = mbj_tstr(d, mbj_get(o, "query_token"));
	it->query_name = mbj_tstr(d, mbj_get(o, "query_name"));
	it->error_message = mbj_tstr(d, mbj_get(o, "error_message"));
	it->last_success_token =
		mbj_tstr(d, mbj_get(o, "last_successful_run_token"));
	it->last_success_href = link_href(d, o, "last_successful_run");
	it->adapter = mbj_tstr(d, mbj_get(o, "adapter"));
	it->host = mbj_tstr(d, mbj_get(o, "host"));
	it->database = mbj_tstr(d, mbj_get(o, "database"));
	it->web = link_href(d, o, "web");
	it->queryable = tri(mbj_get(o, "queryable"));
	it->asleep = tri(mbj_get(o, "asleep"));
}

void mode_item_free(struct mode_item *it)
{
	if (!it)
		return;
	char **s[] = {&it->token, &it->name, &it->description,
		      &it->updated_at, &it->raw_query, &it->state,
		      &it->query_token, &it->query_name, &it->error_message,
		      &it->last_success_token, &it->last_success_href,
		      &it->adapter, &it->host, &it->database, &it->web};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		free(*s[i]);
	memset(it, 0, sizeof *it);
}

void mode_page_free(struct mode_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		mode_item_free(&p->v[i]);
	free(p->v);
	free(p->next);
	free(p->json);
	memset(p, 0, sizeof *p);
}

static bool json_append(struct mode_page *p, const char *s, size_t n)
{
	size_t need = p->json_len + (p->json_len ? 1 : 0) + n + 1;
	char *j = realloc(p->json, need);
	if (!j)
		return false;
	if (p->json_len)
		j[p->json_len++] = ',';
	memcpy(j + p->json_len, s, n);
	p->json_len += n;
	j[p->json_len] = '\0';
	p->json = j;
	return true;
}

enum mbfs_status mode_json_page(const char *body, size_t len,
				const char *embedded, bool keep_json,
				struct mode_page *out, struct mbfs_err *err)
{
	struct json_object *root;
	enum mbfs_status st = mbj_parse(body, len, embedded, false, &root, err);
	if (st != MBFS_OK)
		return st;
	struct mbj_dec d = {0};
	if (!mbj_is(root, json_type_object)) {
		st = mbj_shape_error(root, embedded, "a HAL object", err);
		json_object_put(root);
		return st;
	}
	struct json_object *arr = mbj_get(mbj_get(root, "_embedded"), embedded);
	if (arr && !mbj_is(arr, json_type_array)) {
		json_object_put(root);
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "Mode's %s list is not an array", embedded);
	}
	size_t n = mbj_len(arr);
	if (out->n + n > MODE_ITEMS_MAX) {
		json_object_put(root);
		return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
				    "Mode's %s list has more than %d items",
				    embedded, MODE_ITEMS_MAX);
	}
	if (out->n + n > out->cap) {
		size_t cap = out->n + n;
		struct mode_item *v = realloc(out->v, cap * sizeof *v);
		if (!v) {
			json_object_put(root);
			return mbj_nomem(embedded, err);
		}
		out->v = v;
		out->cap = cap;
	}
	for (size_t i = 0; i < n && !d.oom; i++) {
		struct json_object *o = mbj_idx(arr, i);
		if (!mbj_is(o, json_type_object))
			continue; /* not a resource: skipped */
		decode_item(&d, o, &out->v[out->n++]);
		if (keep_json) {
			size_t tl;
			const char *t = json_object_to_json_string_length(
				o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE,
				&tl);
			if (t && out->json_len + tl >= MODE_JSON_TEXT_MAX) {
				json_object_put(root);
				return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
						    "Mode's %s list is over %u bytes",
						    embedded, MODE_JSON_TEXT_MAX);
			}
			if (!t || !json_append(out, t, tl))
				d.oom = true;
		}
	}
	free(out->next);
	out->next = link_href(&d, root, "next_page");
	json_object_put(root);
	return d.oom ? mbj_nomem(embedded, err) : MBFS_OK;
}

enum mbfs_status mode_json_object(const char *body, size_t len,
				  const char *what, struct mode_item *out,
				  struct mbfs_err *err)
{
	memset(out, 0, sizeof *out);
	struct json_object *root;
	enum mbfs_status st = mbj_parse(body, len, what, false, &root, err);
	if (st != MBFS_OK)
		return st;
	if (!mbj_is(root, json_type_object)) {
		st = mbj_shape_error(root, what, "a HAL object", err);
		json_object_put(root);
		return st;
	}
	struct mbj_dec d = {0};
	decode_item(&d, root, out);
	json_object_put(root);
	if (d.oom) {
		mode_item_free(out);
		return mbj_nomem(what, err);
	}
	return MBFS_OK;
}

bool mode_json_error(const char *body, size_t len, char *msg, size_t msgsz)
{
	struct json_object *root;
	struct mbfs_err e;
	if (!body || mbj_parse(body, len, "error", false, &root, &e) != MBFS_OK)
		return false;
	size_t n = 0;
	const char *m = mbj_sval(mbj_get(root, "message"), &n);
	if (!m || !mbj_is(root, json_type_object)) {
		json_object_put(root);
		return false;
	}
	snprintf(msg, msgsz, "%.*s", (int)(n < 400 ? n : 400), m);
	json_object_put(root);
	return true;
}
