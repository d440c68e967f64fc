/*
 * mb_json.c — owns every contact between mbfs and json-c: decoding Metabase
 * API bodies into the plain structs of mb_types.h (and freeing them, plus
 * mb_model_name), recognizing Metabase error bodies, validating JSON exports
 * and quoting strings as JSON literals. See mb_json.h for the contract.
 *
 * Everything the server sends is hostile: keys may be missing, null or of
 * the wrong type, numbers may come as strings, array elements may not be
 * objects. Decoders never trust a type: every access goes through the j_*
 * helpers below, which check types (json-c asserts on wrong-type array
 * access) and fall back to a default. Elements of a list whose id is
 * unusable are skipped; a single object without a usable id is a protocol
 * error.
 *
 * Dashcards are returned sorted by (tab position, row, col), ties keeping
 * the server's order; dashcards whose tab is unknown come after every tab.
 */
#include "mb_json.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum nesting accepted by the tokener (json-c's default is 32, too
 * small for MBQL filters nested inside dashboards). */
#define MBJ_DEPTH 256
/* At most this many bytes of a body ever appear in an error message. */
#define MBJ_BODY_ECHO 64
/* At most this many bytes of a server's error text appear in err. */
#define MBJ_SERVER_ECHO 80
/* Largest piece handed to json_tokener_parse_ex (its length is an int). */
#define MBJ_CHUNK ((size_t)1 << 30)

/* Decoding context: records allocation failure so helpers stay simple. */
struct dec {
	bool oom;
};

/* ------------------------------------------------------------------ */
/* Small utilities                                                      */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *buf, size_t len, size_t p)
{
	while (p < len && is_ws(buf[p]))
		p++;
	return p;
}

/* Copy n bytes (stopping at an embedded NUL) into a new string. */
static char *dup_bytes(struct dec *d, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);
	if (nul)
		n = (size_t)(nul - s);
	char *r = malloc(n + 1);
	if (!r) {
		d->oom = true;
		return NULL;
	}
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static char *dup_cstr(struct dec *d, const char *s)
{
	return dup_bytes(d, s, strlen(s));
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence (used when truncating messages). */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t k = n;
	/* back off over continuation bytes, then over the lead byte if its
	 * sequence would be incomplete */
	size_t back = 0;
	while (k > 0 && back < 4 && ((unsigned char)s[k - 1] & 0xC0) == 0x80) {
		k--;
		back++;
	}
	if (k == 0)
		return n;
	unsigned char lead = (unsigned char)s[k - 1];
	size_t need;
	if (lead < 0x80)
		return n;
	else if ((lead & 0xE0) == 0xC0)
		need = 1;
	else if ((lead & 0xF0) == 0xE0)
		need = 2;
	else if ((lead & 0xF8) == 0xF0)
		need = 3;
	else
		return n; /* not UTF-8 anyway: keep the bytes */
	return back >= need ? n : k - 1;
}

/* Append s (n bytes) to msg[0..msgsz), keeping it NUL-terminated and cut at
 * a UTF-8 boundary. */
static void msg_append(char *msg, size_t msgsz, const char *s, size_t n)
{
	size_t cur = strlen(msg);
	if (cur + 1 >= msgsz)
		return;
	size_t room = msgsz - 1 - cur;
	const char *nul = memchr(s, '\0', n);
	if (nul)
		n = (size_t)(nul - s);
	if (n > room)
		n = utf8_cut(s, room);
	memcpy(msg + cur, s, n);
	msg[cur + n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Typed access to json-c values                                        */

static bool j_is(struct json_object *v, enum json_type t)
{
	return v && json_object_is_type(v, t);
}

/* Value of key in o; NULL when o is not an object, the key is absent, or
 * the value is JSON null. */
static struct json_object *j_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!j_is(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* Is key present in o (even with a null value)? */
static bool j_has(struct json_object *o, const char *key)
{
	return j_is(o, json_type_object) &&
	       json_object_object_get_ex(o, key, NULL);
}

static size_t j_len(struct json_object *a)
{
	return j_is(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct json_object *j_idx(struct json_object *a, size_t i)
{
	if (i >= j_len(a))
		return NULL;
	return json_object_array_get_idx(a, i);
}

static bool j_str_eq(struct json_object *v, const char *s)
{
	return j_is(v, json_type_string) &&
	       strcmp(json_object_get_string(v), s) == 0;
}

/* String contents (bytes, length) or NULL for non-strings. */
static const char *j_sval(struct json_object *v, size_t *n)
{
	if (!j_is(v, json_type_string))
		return NULL;
	int l = json_object_get_string_len(v);
	*n = l > 0 ? (size_t)l : 0;
	return json_object_get_string(v);
}

/* Copy of a string value; NULL for anything else. */
static char *j_tstr(struct dec *d, struct json_object *v)
{
	size_t n;
	const char *s = j_sval(v, &n);
	return s ? dup_bytes(d, s, n) : NULL;
}

/* Copy of a string value, or the text of a number; NULL otherwise. */
static char *j_str(struct dec *d, struct json_object *v)
{
	if (j_is(v, json_type_int) || j_is(v, json_type_double))
		return dup_cstr(d, json_object_get_string(v));
	return j_tstr(d, v);
}

/* Strict decimal string → int64 ("-12", "42"); false otherwise. */
static bool parse_decimal(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == n || n - i > 18)
		return false;
	int64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/* A JSON number as int64; false when absent, not integral or out of range. */
static bool j_num(struct json_object *v, int64_t *out)
{
	if (j_is(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		/* json-c clamps overflow to the int64 limits */
		if (x == INT64_MIN)
			return false;
		if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
			return false;
		*out = x;
		return true;
	}
	if (j_is(v, json_type_double)) {
		double x = json_object_get_double(v);
		if (!(x > -9.0e18 && x < 9.0e18))
			return false; /* also rejects NaN */
		int64_t i = (int64_t)x;
		if ((double)i != x)
			return false;
		*out = i;
		return true;
	}
	return false;
}

/*
 * An id: integers (or integral doubles, or decimal strings) as themselves,
 * "root" as 0. False for null, absent, other strings ("card__42", NanoIDs)
 * and other types.
 */
static bool j_id(struct json_object *v, int64_t *out)
{
	size_t n;
	const char *s = j_sval(v, &n);
	if (s) {
		if (n == 4 && memcmp(s, "root", 4) == 0) {
			*out = 0;
			return true;
		}
		return parse_decimal(s, n, out);
	}
	return j_num(v, out);
}

/* An id where "none" is 0. */
static int64_t j_id0(struct json_object *v)
{
	int64_t x;
	return j_id(v, &x) ? x : 0;
}

/* An integer (number or decimal string), else dflt. */
static int64_t j_int(struct json_object *v, int64_t dflt)
{
	int64_t x;
	size_t n;
	const char *s = j_sval(v, &n);
	if (s)
		return parse_decimal(s, n, &x) ? x : dflt;
	return j_num(v, &x) ? x : dflt;
}

/* A boolean; also accepts numbers and "true"/"false" strings. */
static bool j_bool(struct json_object *v, bool dflt)
{
	if (j_is(v, json_type_boolean))
		return json_object_get_boolean(v) != 0;
	if (j_is(v, json_type_int))
		return json_object_get_int64(v) != 0;
	if (j_str_eq(v, "true"))
		return true;
	if (j_str_eq(v, "false"))
		return false;
	return dflt;
}

/* First string value among keys of o (timestamps), copied; NULL if none. */
static char *j_first_tstr(struct dec *d, struct json_object *o,
			  const char *const *keys)
{
	for (; *keys; keys++) {
		struct json_object *v = j_get(o, *keys);
		if (j_is(v, json_type_string))
			return j_tstr(d, v);
	}
	return NULL;
}

/* The list inside a body: a bare array, or the "data" array of an envelope. */
static struct json_object *list_array(struct json_object *root)
{
	if (j_is(root, json_type_array))
		return root;
	struct json_object *data = j_get(root, "data");
	if (j_is(data, json_type_array))
		return data;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                         */

static void append_value_text(char *msg, size_t msgsz, struct json_object *v)
{
	size_t n;
	const char *s = j_sval(v, &n);
	if (!s) {
		s = json_object_to_json_string_ext(
			v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!s)
			return;
		n = strlen(s);
	}
	msg_append(msg, msgsz, s, n);
}

/* Join the values of "errors" (object, array or string) with "; ". */
static void append_errors(char *msg, size_t msgsz, struct json_object *errs)
{
	bool first = true;
	if (j_is(errs, json_type_object)) {
		struct json_object_iterator it = json_object_iter_begin(errs);
		struct json_object_iterator end = json_object_iter_end(errs);
		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			struct json_object *v = json_object_iter_peek_value(&it);
			if (!v)
				continue;
			if (!first)
				msg_append(msg, msgsz, "; ", 2);
			append_value_text(msg, msgsz, v);
			first = false;
		}
	} else if (j_is(errs, json_type_array)) {
		for (size_t i = 0; i < j_len(errs); i++) {
			struct json_object *v = j_idx(errs, i);
			if (!v)
				continue;
			if (!first)
				msg_append(msg, msgsz, "; ", 2);
			append_value_text(msg, msgsz, v);
			first = false;
		}
	} else if (errs) {
		append_value_text(msg, msgsz, errs);
	}
}

/* Is o a Metabase error object? If so and msg is given, fill msg. */
static bool error_object(struct json_object *o, char *msg, size_t msgsz)
{
	if (!j_is(o, json_type_object))
		return false;
	struct json_object *error = j_get(o, "error");
	struct json_object *errors = j_get(o, "errors");
	struct json_object *message = j_get(o, "message");
	struct json_object *cause = j_get(o, "cause");
	struct json_object *status = j_get(o, "_status");
	struct json_object *via = j_get(o, "via");
	bool is = j_str_eq(j_get(o, "status"), "failed") || error || errors ||
		  status || via || cause ||
		  (message && j_get(o, "error_code"));
	if (!is)
		return false;
	if (!msg || msgsz == 0)
		return true;
	msg[0] = '\0';
	if (error)
		append_value_text(msg, msgsz, error);
	if (!msg[0] && errors)
		append_errors(msg, msgsz, errors);
	if (!msg[0] && j_is(message, json_type_string))
		append_value_text(msg, msgsz, message);
	if (!msg[0] && j_is(cause, json_type_string))
		append_value_text(msg, msgsz, cause);
	if (!msg[0]) {
		struct json_object *v0 = j_idx(via, 0);
		struct json_object *t = j_get(v0, "message");
		if (!j_is(t, json_type_string))
			t = j_get(v0, "error");
		if (j_is(t, json_type_string))
			append_value_text(msg, msgsz, t);
	}
	if (!msg[0]) {
		int64_t st;
		char tmp[64];
		if (j_num(status, &st))
			snprintf(tmp, sizeof tmp, "server error (status %lld)",
				 (long long)st);
		else
			snprintf(tmp, sizeof tmp, "server error");
		msg_append(msg, msgsz, tmp, strlen(tmp));
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

/*
 * Parse exactly one JSON value from buf[0..len) (whitespace around it
 * allowed) into *out (which may be NULL for a JSON null). what names the
 * request in messages; echo allows a bounded prefix of the body in err.
 */
static enum mbfs_status parse_body(const char *buf, size_t len,
				   const char *what, bool echo,
				   struct json_object **out, struct mbfs_err *err)
{
	*out = NULL;
	if (len > MB_JSON_MAX_BODY)
		return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
				    "%s: body of %zu bytes exceeds the %zu-byte limit",
				    what, len, MB_JSON_MAX_BODY);
	if (!buf || skip_ws(buf, len, 0) == len)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: empty body where JSON was expected", what);

	struct json_tokener *tok = json_tokener_new_ex(MBJ_DEPTH);
	if (!tok)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "%s: out of memory",
				    what);
	/* strict: list bodies are kept verbatim for metadata/ files, which
	 * must be JSON (json-c alone accepts trailing commas, comments,
	 * single quotes, leading zeros) */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	struct json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* end of input: the terminating NUL completes bare numbers */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);

	const char *problem = NULL;
	if (jerr != json_tokener_success) {
		problem = json_tokener_error_desc(jerr);
	} else if (skip_ws(buf, len, end) != len) {
		problem = "trailing data after the JSON value";
	}
	if (!problem) {
		*out = obj;
		return MBFS_OK;
	}
	json_object_put(obj);
	if (!echo)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: invalid JSON (%s near byte %zu of %zu)",
				    what, problem, end, len);
	size_t p = skip_ws(buf, len, 0);
	size_t n = len - p < MBJ_BODY_ECHO ? len - p : MBJ_BODY_ECHO;
	n = utf8_cut(buf + p, n);
	return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
			    "%s: invalid JSON (%s near byte %zu of %zu); body starts: %.*s",
			    what, problem, end, len, (int)n, buf + p);
}

/* The body parsed but is not the shape asked for. */
static enum mbfs_status shape_error(struct json_object *root, const char *what,
				    const char *expected, struct mbfs_err *err)
{
	char smsg[MBJ_SERVER_ECHO + 1];
	if (error_object(root, smsg, sizeof smsg))
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: server answered with an error: %s",
				    what, smsg);
	return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
			    "%s: expected %s, got %s", what, expected,
			    root ? json_type_to_name(json_object_get_type(root))
				 : "null");
}

static enum mbfs_status nomem(const char *what, struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "%s: out of memory", what);
}

/*
 * Decode every element of arr with fn into a new array of elsz-byte
 * structs. fn returns false to skip an element (it must leave the element
 * freeable by clear). On allocation failure d->oom is set and everything
 * allocated is released.
 */
typedef bool (*elem_fn)(struct dec *d, struct json_object *o, void *out);
typedef void (*clear_fn)(void *el);

static void *decode_list(struct dec *d, struct json_object *arr, size_t elsz,
			 elem_fn fn, clear_fn clear, size_t *n_out)
{
	size_t n = j_len(arr), k = 0;
	*n_out = 0;
	if (n == 0)
		return NULL;
	char *v = calloc(n, elsz);
	if (!v) {
		d->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n && !d->oom; i++) {
		void *el = v + k * elsz;
		if (fn(d, j_idx(arr, i), el))
			k++;
		else
			clear(el);
	}
	if (d->oom) {
		for (size_t i = 0; i <= k && i < n; i++)
			clear(v + i * elsz);
		free(v);
		return NULL;
	}
	if (k == 0) {
		free(v);
		return NULL;
	}
	*n_out = k;
	return v;
}

/* ------------------------------------------------------------------ */
/* Models                                                               */

const char *mb_model_name(enum mb_model m)
{
	switch (m) {
	case MB_MODEL_COLLECTION:
		return "collection";
	case MB_MODEL_DASHBOARD:
		return "dashboard";
	case MB_MODEL_CARD:
		return "card";
	case MB_MODEL_DATASET:
		return "dataset";
	case MB_MODEL_METRIC:
		return "metric";
	case MB_MODEL_TABLE:
		return "table";
	case MB_MODEL_DATABASE:
		return "database";
	case MB_MODEL_OTHER:
		return "other";
	case MB_MODEL_UNKNOWN:
	default:
		return "unknown";
	}
}

static enum mb_model model_from_string(struct json_object *v)
{
	static const struct {
		const char *name;
		enum mb_model m;
	} tab[] = {
		{"card", MB_MODEL_CARD},	   {"dataset", MB_MODEL_DATASET},
		{"model", MB_MODEL_DATASET},	   {"metric", MB_MODEL_METRIC},
		{"dashboard", MB_MODEL_DASHBOARD}, {"collection", MB_MODEL_COLLECTION},
		{"table", MB_MODEL_TABLE},	   {"database", MB_MODEL_DATABASE},
	};
	if (!j_is(v, json_type_string))
		return MB_MODEL_UNKNOWN;
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (j_str_eq(v, tab[i].name))
			return tab[i].m;
	return MB_MODEL_OTHER;
}

/* ------------------------------------------------------------------ */
/* Free functions                                                       */

static void item_clear(void *p)
{
	struct mb_item *it = p;
	free(it->name);
	free(it->description);
	free(it->updated_at);
	memset(it, 0, sizeof *it);
}

void mb_item_list_free(struct mb_item_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		item_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_card_free(struct mb_card *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->native_sql);
	free(c->updated_at);
	free(c->entity_id);
	free(c->param_defs);
	free(c->public_uuid);
	memset(c, 0, sizeof *c);
}

static void card_clear(void *p)
{
	mb_card_free(p);
}

void mb_card_list_free(struct mb_card_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		mb_card_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_collection_free(struct mb_collection *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->location);
	free(c->namespace_);
	free(c->type);
	free(c->updated_at);
	memset(c, 0, sizeof *c);
}

static void collection_clear(void *p)
{
	mb_collection_free(p);
}

void mb_collection_list_free(struct mb_collection_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		mb_collection_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void database_clear(void *p)
{
	struct mb_database *db = p;
	free(db->name);
	free(db->description);
	free(db->engine);
	free(db->updated_at);
	memset(db, 0, sizeof *db);
}

void mb_database_list_free(struct mb_database_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		database_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_table_free(struct mb_table *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->display_name);
	free(t->schema);
	free(t->description);
	free(t->updated_at);
	memset(t, 0, sizeof *t);
}

static void table_clear(void *p)
{
	mb_table_free(p);
}

void mb_table_list_free(struct mb_table_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		mb_table_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_string_list_free(struct mb_string_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_user_free(struct mb_user *u)
{
	if (!u)
		return;
	free(u->email);
	free(u->common_name);
	memset(u, 0, sizeof *u);
}

static void user_clear(void *p)
{
	mb_user_free(p);
}

void mb_user_list_free(struct mb_user_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		mb_user_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void mb_properties_free(struct mb_properties *p)
{
	if (!p)
		return;
	free(p->version_tag);
	free(p->site_name);
	memset(p, 0, sizeof *p);
}

void mb_dashboard_free(struct mb_dashboard *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->description);
	free(d->updated_at);
	for (size_t i = 0; i < d->n_tabs && d->tabs; i++)
		free(d->tabs[i].name);
	free(d->tabs);
	for (size_t i = 0; i < d->n_dashcards && d->dashcards; i++) {
		free(d->dashcards[i].card_name);
		free(d->dashcards[i].title);
		free(d->dashcards[i].card_description);
		free(d->dashcards[i].updated_at);
		free(d->dashcards[i].param_defs);
	}
	free(d->dashcards);
	free(d->default_parameters);
	memset(d, 0, sizeof *d);
}

static void dashboard_clear(void *p)
{
	mb_dashboard_free(p);
}

void mb_dashboard_list_free(struct mb_dashboard_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		mb_dashboard_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------ */
/* Element decoders                                                     */

/* Parameters (defined in their section at the end of the file). */
static char *card_param_defs(struct dec *d, struct json_object *card);
static char *dashcard_param_defs(struct dec *d, struct json_object *dash_params,
				 struct json_object *dc, int64_t card_id);

static const char *const ts_item[] = {"updated_at", "last_edited_at", NULL};
static const char *const ts_object[] = {"updated_at", "created_at", NULL};

static bool dec_item(struct dec *d, struct json_object *o, void *p)
{
	struct mb_item *it = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &it->id))
		return false;
	it->model = model_from_string(j_get(o, "model"));
	it->name = j_str(d, j_get(o, "name"));
	it->description = j_str(d, j_get(o, "description"));
	struct json_object *ts = j_get(j_get(o, "last-edit-info"), "timestamp");
	if (j_is(ts, json_type_string))
		it->updated_at = j_tstr(d, ts);
	else
		it->updated_at = j_first_tstr(d, o, ts_item);
	if (!j_id(j_get(o, "dashboard_id"), &it->dashboard_id))
		it->dashboard_id = j_id0(j_get(j_get(o, "dashboard"), "id"));
	it->archived = j_bool(j_get(o, "archived"), false);
	return true;
}

/*
 * Native-ness and SQL text of a card object: query_type, then the legacy
 * dataset_query {type:"native", native:{query}}, then MBQL 5
 * dataset_query.stages[0] {"lib/type":"mbql.stage/native", native}.
 */
static bool card_native(struct json_object *card, struct json_object **sql)
{
	struct json_object *dq = j_get(card, "dataset_query");
	struct json_object *q = NULL;
	bool native = j_str_eq(j_get(card, "query_type"), "native");
	if (j_str_eq(j_get(dq, "type"), "native"))
		native = true;
	struct json_object *legacy = j_get(j_get(dq, "native"), "query");
	if (j_is(legacy, json_type_string))
		q = legacy;
	struct json_object *st0 = j_idx(j_get(dq, "stages"), 0);
	if (j_str_eq(j_get(st0, "lib/type"), "mbql.stage/native"))
		native = true;
	struct json_object *mbql5 = j_get(st0, "native");
	if (!q && j_is(mbql5, json_type_string))
		q = mbql5;
	if (q)
		native = true;
	if (sql)
		*sql = q;
	return native;
}

/* A card object's kind: `type` (v0.49+), else the boolean `dataset`. */
static enum mb_model card_model(struct json_object *o)
{
	struct json_object *type = j_get(o, "type");
	if (j_str_eq(type, "question"))
		return MB_MODEL_CARD;
	if (j_str_eq(type, "model"))
		return MB_MODEL_DATASET;
	if (j_str_eq(type, "metric"))
		return MB_MODEL_METRIC;
	return j_bool(j_get(o, "dataset"), false) ? MB_MODEL_DATASET
						  : MB_MODEL_CARD;
}

static bool dec_card(struct dec *d, struct json_object *o, void *p)
{
	struct mb_card *c = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &c->id))
		return false;
	c->name = j_str(d, j_get(o, "name"));
	c->description = j_str(d, j_get(o, "description"));
	c->model = card_model(o);
	c->collection_id = j_id0(j_get(o, "collection_id"));
	c->dashboard_id = j_id0(j_get(o, "dashboard_id"));
	c->database_id = j_id0(j_get(o, "database_id"));
	c->table_id = j_id0(j_get(o, "table_id"));
	c->archived = j_bool(j_get(o, "archived"), false);
	struct json_object *sql = NULL;
	c->native = card_native(o, &sql);
	c->native_sql = j_tstr(d, sql);
	c->updated_at = j_first_tstr(d, o, ts_object);
	c->entity_id = j_tstr(d, j_get(o, "entity_id"));
	c->param_defs = card_param_defs(d, o);
	c->public_uuid = j_tstr(d, j_get(o, "public_uuid"));
	return true;
}

static bool dec_collection(struct dec *d, struct json_object *o, void *p)
{
	struct mb_collection *c = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &c->id))
		return false;
	c->name = j_str(d, j_get(o, "name"));
	c->description = j_str(d, j_get(o, "description"));
	c->location = j_tstr(d, j_get(o, "location"));
	c->personal_owner_id = j_id0(j_get(o, "personal_owner_id"));
	c->archived = j_bool(j_get(o, "archived"), false);
	c->namespace_ = j_tstr(d, j_get(o, "namespace"));
	c->type = j_tstr(d, j_get(o, "type"));
	c->updated_at = j_first_tstr(d, o, ts_object);
	return true;
}

static bool dec_database(struct dec *d, struct json_object *o, void *p)
{
	struct mb_database *db = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &db->id))
		return false;
	db->name = j_str(d, j_get(o, "name"));
	db->description = j_str(d, j_get(o, "description"));
	db->engine = j_tstr(d, j_get(o, "engine"));
	db->updated_at = j_first_tstr(d, o, ts_object);
	db->native_write = j_str_eq(j_get(o, "native_permissions"), "write");
	return true;
}

static bool dec_table(struct dec *d, struct json_object *o, void *p)
{
	struct mb_table *t = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &t->id))
		return false;
	if (!j_id(j_get(o, "db_id"), &t->db_id))
		t->db_id = j_id0(j_get(j_get(o, "db"), "id"));
	t->name = j_str(d, j_get(o, "name"));
	t->display_name = j_str(d, j_get(o, "display_name"));
	t->schema = j_str(d, j_get(o, "schema"));
	if (!t->schema)
		t->schema = dup_cstr(d, "");
	t->description = j_str(d, j_get(o, "description"));
	t->updated_at = j_first_tstr(d, o, ts_object);
	t->active = j_bool(j_get(o, "active"), true);
	t->hidden = j_get(o, "visibility_type") != NULL;
	return true;
}

static bool nonempty_str(struct json_object *v)
{
	size_t n;
	const char *s = j_sval(v, &n);
	return s && n > 0 && s[0] != '\0';
}

static bool dec_user(struct dec *d, struct json_object *o, void *p)
{
	struct mb_user *u = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &u->id))
		return false;
	u->email = j_tstr(d, j_get(o, "email"));
	struct json_object *cn = j_get(o, "common_name");
	struct json_object *fn = j_get(o, "first_name");
	struct json_object *ln = j_get(o, "last_name");
	if (nonempty_str(cn)) {
		u->common_name = j_tstr(d, cn);
	} else if (nonempty_str(fn) && nonempty_str(ln)) {
		const char *f = json_object_get_string(fn);
		const char *l = json_object_get_string(ln);
		size_t fl = strlen(f), ll = strlen(l);
		char *s = malloc(fl + ll + 2);
		if (!s) {
			d->oom = true;
		} else {
			memcpy(s, f, fl);
			s[fl] = ' ';
			memcpy(s + fl + 1, l, ll + 1);
			u->common_name = s;
		}
	} else if (nonempty_str(fn)) {
		u->common_name = j_tstr(d, fn);
	} else if (nonempty_str(ln)) {
		u->common_name = j_tstr(d, ln);
	} else if (u->email) {
		u->common_name = dup_cstr(d, u->email);
	}
	u->is_superuser = j_bool(j_get(o, "is_superuser"), false);
	u->personal_collection_id = j_id0(j_get(o, "personal_collection_id"));
	return true;
}

/*
 * The export's `parameters`: every dashboard parameter with a non-null
 * default, as {"id","type","value"[,"target"]}, serialized compactly.
 */
static char *default_parameters(struct dec *d, struct json_object *dash)
{
	struct json_object *params = j_get(dash, "parameters");
	struct json_object *arr = json_object_new_array();
	char *res = NULL;
	if (!arr) {
		d->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < j_len(params); i++) {
		struct json_object *p = j_idx(params, i);
		struct json_object *def = j_get(p, "default");
		if (!j_is(p, json_type_object) || !def)
			continue;
		struct json_object *e = json_object_new_object();
		if (!e || json_object_array_add(arr, e) != 0) {
			json_object_put(e);
			d->oom = true;
			goto out;
		}
		struct json_object *target = j_get(p, "target");
		struct {
			const char *key;
			struct json_object *val;
		} kv[] = {{"id", j_get(p, "id")},
			  {"type", j_get(p, "type")},
			  {"value", def},
			  {"target", target}};
		for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
			if (k == 3 && !target)
				break;
			json_object_get(kv[k].val);
			if (json_object_object_add(e, kv[k].key, kv[k].val) != 0) {
				json_object_put(kv[k].val);
				d->oom = true;
				goto out;
			}
		}
	}
	const char *s = json_object_to_json_string_ext(
		arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		d->oom = true;
	else
		res = dup_cstr(d, s);
out:
	json_object_put(arr);
	return res;
}

/* Dashboard fields shared by list entries and full dashboards. */
static bool dec_dashboard_base(struct dec *d, struct json_object *o, void *p)
{
	static const char *const ts[] = {"updated_at", "created_at", NULL};
	struct mb_dashboard *db = p;
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &db->id))
		return false;
	db->name = j_str(d, j_get(o, "name"));
	db->description = j_str(d, j_get(o, "description"));
	db->collection_id = j_id0(j_get(o, "collection_id"));
	db->archived = j_bool(j_get(o, "archived"), false);
	db->updated_at = j_first_tstr(d, o, ts);
	db->default_parameters = default_parameters(d, o);
	return true;
}

struct tab_sort {
	struct mb_dashboard_tab tab;
	size_t idx;
};

static int tab_cmp(const void *a, const void *b)
{
	const struct tab_sort *x = a, *y = b;
	if (x->tab.position != y->tab.position)
		return x->tab.position < y->tab.position ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct dc_sort {
	struct mb_dashcard dc;
	size_t tab_rank, idx;
	int64_t row, col;
};

static int dc_cmp(const void *a, const void *b)
{
	const struct dc_sort *x = a, *y = b;
	if (x->tab_rank != y->tab_rank)
		return x->tab_rank < y->tab_rank ? -1 : 1;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void dec_tabs(struct dec *d, struct json_object *o,
		     struct mb_dashboard *db)
{
	struct json_object *arr = j_get(o, "tabs");
	if (!j_is(arr, json_type_array))
		arr = j_get(o, "ordered_tabs");
	size_t n = j_len(arr), k = 0;
	if (n == 0)
		return;
	struct tab_sort *ts = calloc(n, sizeof *ts);
	if (!ts) {
		d->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = j_idx(arr, i);
		int64_t id;
		if (!j_is(t, json_type_object) || !j_id(j_get(t, "id"), &id))
			continue;
		ts[k].tab.id = id;
		ts[k].tab.name = j_str(d, j_get(t, "name"));
		ts[k].tab.position = j_int(j_get(t, "position"), (int64_t)i);
		ts[k].idx = i;
		k++;
	}
	if (k == 0 || d->oom) {
		for (size_t i = 0; i < k; i++)
			free(ts[i].tab.name);
		free(ts);
		return;
	}
	qsort(ts, k, sizeof *ts, tab_cmp);
	struct mb_dashboard_tab *tabs = calloc(k, sizeof *tabs);
	if (!tabs) {
		for (size_t i = 0; i < k; i++)
			free(ts[i].tab.name);
		free(ts);
		d->oom = true;
		return;
	}
	for (size_t i = 0; i < k; i++)
		tabs[i] = ts[i].tab;
	free(ts);
	db->tabs = tabs;
	db->n_tabs = k;
}

static size_t tab_rank(const struct mb_dashboard *db, int64_t tab_id)
{
	for (size_t i = 0; i < db->n_tabs; i++)
		if (db->tabs[i].id == tab_id)
			return i;
	return db->n_tabs;
}

static void dec_dashcard(struct dec *d, struct json_object *o,
			 struct mb_dashcard *dc)
{
	struct json_object *card = j_get(o, "card");
	if (j_has(o, "card_id"))
		dc->card_id = j_id0(j_get(o, "card_id"));
	else
		dc->card_id = j_id0(j_get(card, "id"));
	dc->tab_id = j_id0(j_get(o, "dashboard_tab_id"));
	if (j_is(card, json_type_object)) {
		dc->card_name = j_str(d, j_get(card, "name"));
		dc->card_description = j_str(d, j_get(card, "description"));
		dc->card_native = card_native(card, NULL);
		dc->card_archived = j_bool(j_get(card, "archived"), false);
		if (dc->card_name) {
			dc->card_model = card_model(card);
			dc->updated_at = j_first_tstr(d, card, ts_object);
		}
	}
	if (!dc->updated_at)
		dc->updated_at = j_first_tstr(d, o, ts_object);
	struct json_object *title =
		j_get(j_get(o, "visualization_settings"), "card.title");
	if (nonempty_str(title))
		dc->title = j_tstr(d, title);
}

static void dec_dashcards(struct dec *d, struct json_object *o,
			  struct mb_dashboard *db)
{
	struct json_object *arr = j_get(o, "dashcards");
	if (!j_is(arr, json_type_array))
		arr = j_get(o, "ordered_cards");
	size_t n = j_len(arr), k = 0;
	if (n == 0)
		return;
	struct dc_sort *ds = calloc(n, sizeof *ds);
	if (!ds) {
		d->oom = true;
		return;
	}
	for (size_t i = 0; i < n && !d->oom; i++) {
		struct json_object *e = j_idx(arr, i);
		int64_t id;
		if (!j_is(e, json_type_object) || !j_id(j_get(e, "id"), &id))
			continue;
		ds[k].dc.id = id;
		dec_dashcard(d, e, &ds[k].dc);
		ds[k].dc.param_defs = dashcard_param_defs(
			d, j_get(o, "parameters"), e, ds[k].dc.card_id);
		ds[k].tab_rank = tab_rank(db, ds[k].dc.tab_id);
		ds[k].row = j_int(j_get(e, "row"), 0);
		ds[k].col = j_int(j_get(e, "col"), 0);
		ds[k].idx = i;
		k++;
	}
	struct mb_dashcard *v = NULL;
	if (k > 0 && !d->oom) {
		qsort(ds, k, sizeof *ds, dc_cmp);
		v = calloc(k, sizeof *v);
		if (!v)
			d->oom = true;
	}
	if (!v) {
		for (size_t i = 0; i < k; i++) {
			free(ds[i].dc.card_name);
			free(ds[i].dc.title);
			free(ds[i].dc.card_description);
			free(ds[i].dc.updated_at);
			free(ds[i].dc.param_defs);
		}
		free(ds);
		return;
	}
	for (size_t i = 0; i < k; i++)
		v[i] = ds[i].dc;
	free(ds);
	db->dashcards = v;
	db->n_dashcards = k;
}

/* ------------------------------------------------------------------ */
/* Public decoders                                                      */

/*
 * Shared skeleton of single-object decoders: parse, check the object,
 * decode with fn, map failures. out is zeroed on failure.
 */
static enum mbfs_status decode_one(const char *buf, size_t len,
				   const char *what, elem_fn fn,
				   clear_fn clear, void *out, size_t outsz,
				   struct mbfs_err *err)
{
	struct json_object *root;
	struct dec d = {false};
	memset(out, 0, outsz);
	enum mbfs_status st = parse_body(buf, len, what, true, &root, err);
	if (st != MBFS_OK)
		return st;
	if (!j_is(root, json_type_object)) {
		st = shape_error(root, what, "a JSON object", err);
	} else if (!fn(&d, root, out)) {
		clear(out);
		if (error_object(root, NULL, 0))
			st = shape_error(root, what, "a JSON object", err);
		else
			st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
					  "%s: object has no usable id", what);
	} else if (d.oom) {
		clear(out);
		st = nomem(what, err);
	}
	json_object_put(root);
	return st;
}

/*
 * Shared skeleton of list decoders (bare array or {data:[...]}); stores
 * the array and count through v/n and the envelope's total (or the count)
 * through total when given.
 */
static enum mbfs_status decode_many(const char *buf, size_t len,
				    const char *what, size_t elsz, elem_fn fn,
				    clear_fn clear, void **v, size_t *n,
				    int64_t *total, struct mbfs_err *err)
{
	struct json_object *root;
	struct dec d = {false};
	*v = NULL;
	*n = 0;
	if (total)
		*total = 0;
	enum mbfs_status st = parse_body(buf, len, what, true, &root, err);
	if (st != MBFS_OK)
		return st;
	struct json_object *arr = list_array(root);
	if (!arr) {
		st = shape_error(root, what, "a JSON array", err);
	} else {
		*v = decode_list(&d, arr, elsz, fn, clear, n);
		if (d.oom)
			st = nomem(what, err);
		else if (total)
			*total = arr == root ? (int64_t)*n
					     : j_int(j_get(root, "total"),
						     (int64_t)*n);
	}
	json_object_put(root);
	return st;
}

enum mbfs_status mb_json_session_id(const char *buf, size_t len, char *out,
				    size_t outsz, struct mbfs_err *err)
{
	struct json_object *root;
	if (!out || outsz == 0)
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "session: no output buffer");
	out[0] = '\0';
	/* never echo this body: it may hold a (partial) session key */
	enum mbfs_status st = parse_body(buf, len, "session", false, &root, err);
	if (st != MBFS_OK)
		return st;
	size_t n;
	const char *id = j_sval(j_get(root, "id"), &n);
	if (!j_is(root, json_type_object) ||
	    (!id && error_object(root, NULL, 0))) {
		st = shape_error(root, "session", "a JSON object", err);
	} else if (!id || n == 0 || strlen(id) != n) {
		st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				  "session: the response has no session id");
	} else if (n >= outsz) {
		st = mbfs_err_set(err, MBFS_ERR_RANGE, 0,
				  "session: id of %zu bytes does not fit", n);
	} else {
		memcpy(out, id, n + 1);
	}
	json_object_put(root);
	return st;
}

static bool dec_properties(struct dec *d, struct json_object *o, void *p)
{
	struct mb_properties *pr = p;
	if (!j_get(o, "version") && error_object(o, NULL, 0))
		return false;
	pr->version_tag = j_tstr(d, j_get(j_get(o, "version"), "tag"));
	pr->site_name = j_str(d, j_get(o, "site-name"));
	pr->password_login_enabled =
		j_bool(j_get(o, "enable-password-login"), true);
	return true;
}

static void properties_clear(void *p)
{
	mb_properties_free(p);
}

enum mbfs_status mb_json_properties(const char *buf, size_t len,
				    struct mb_properties *out,
				    struct mbfs_err *err)
{
	return decode_one(buf, len, "session properties", dec_properties,
			  properties_clear, out, sizeof *out, err);
}

enum mbfs_status mb_json_user(const char *buf, size_t len, struct mb_user *out,
			      struct mbfs_err *err)
{
	return decode_one(buf, len, "user", dec_user, user_clear, out,
			  sizeof *out, err);
}

enum mbfs_status mb_json_user_list(const char *buf, size_t len,
				   struct mb_user_list *out,
				   struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "user list", sizeof *out->v,
					  dec_user, user_clear, &v, &out->n,
					  NULL, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_items(const char *buf, size_t len,
			       struct mb_item_list *out, struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "collection items",
					  sizeof *out->v, dec_item, item_clear,
					  &v, &out->n, &out->total, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_collection_list(const char *buf, size_t len,
					 struct mb_collection_list *out,
					 struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "collection list",
					  sizeof *out->v, dec_collection,
					  collection_clear, &v, &out->n, NULL,
					  err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_collection(const char *buf, size_t len,
				    struct mb_collection *out,
				    struct mbfs_err *err)
{
	return decode_one(buf, len, "collection", dec_collection,
			  collection_clear, out, sizeof *out, err);
}

enum mbfs_status mb_json_card_list(const char *buf, size_t len,
				   struct mb_card_list *out,
				   struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "card list", sizeof *out->v,
					  dec_card, card_clear, &v, &out->n,
					  NULL, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_card(const char *buf, size_t len, struct mb_card *out,
			      struct mbfs_err *err)
{
	return decode_one(buf, len, "card", dec_card, card_clear, out,
			  sizeof *out, err);
}

enum mbfs_status mb_json_database_list(const char *buf, size_t len,
				       struct mb_database_list *out,
				       struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "database list",
					  sizeof *out->v, dec_database,
					  database_clear, &v, &out->n, NULL,
					  err);
	out->v = v;
	return st;
}

static bool dec_string(struct dec *d, struct json_object *o, void *p)
{
	char **s = p;
	if (!o) {
		*s = dup_cstr(d, "");
		return true;
	}
	*s = j_str(d, o);
	return *s != NULL;
}

static void string_clear(void *p)
{
	char **s = p;
	free(*s);
	*s = NULL;
}

enum mbfs_status mb_json_string_list(const char *buf, size_t len,
				     struct mb_string_list *out,
				     struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "string list",
					  sizeof *out->v, dec_string,
					  string_clear, &v, &out->n, NULL, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_table_list(const char *buf, size_t len,
				    struct mb_table_list *out,
				    struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "table list",
					  sizeof *out->v, dec_table,
					  table_clear, &v, &out->n, NULL, err);
	out->v = v;
	return st;
}

enum mbfs_status mb_json_table(const char *buf, size_t len, struct mb_table *out,
			       struct mbfs_err *err)
{
	return decode_one(buf, len, "table", dec_table, table_clear, out,
			  sizeof *out, err);
}

enum mbfs_status mb_json_dashboard_list(const char *buf, size_t len,
					struct mb_dashboard_list *out,
					struct mbfs_err *err)
{
	void *v;
	memset(out, 0, sizeof *out);
	enum mbfs_status st = decode_many(buf, len, "dashboard list",
					  sizeof *out->v, dec_dashboard_base,
					  dashboard_clear, &v, &out->n, NULL,
					  err);
	out->v = v;
	return st;
}

static bool dec_dashboard(struct dec *d, struct json_object *o, void *p)
{
	struct mb_dashboard *db = p;
	if (!dec_dashboard_base(d, o, db))
		return false;
	dec_tabs(d, o, db);
	dec_dashcards(d, o, db);
	return true;
}

enum mbfs_status mb_json_dashboard(const char *buf, size_t len,
				   struct mb_dashboard *out,
				   struct mbfs_err *err)
{
	return decode_one(buf, len, "dashboard", dec_dashboard,
			  dashboard_clear, out, sizeof *out, err);
}

/* ------------------------------------------------------------------ */
/* Error detection, validation, quoting                                 */

bool mb_json_error_message(const char *buf, size_t len, char *msg,
			   size_t msgsz)
{
	struct json_object *root;
	if (msg && msgsz > 0)
		msg[0] = '\0';
	if (!buf || len == 0 || len > MB_JSON_MAX_BODY)
		return false;
	/* cheap pre-check: only objects can be error bodies */
	size_t p = skip_ws(buf, len, 0);
	if (p == len || buf[p] != '{')
		return false;
	if (parse_body(buf, len, "error", false, &root, NULL) != MBFS_OK)
		return false;
	bool is = error_object(root, msg, msgsz);
	json_object_put(root);
	return is;
}

/*
 * Parse one JSON value starting at *pos with tok (strict, trailing
 * characters allowed), feeding at most MBJ_CHUNK bytes at a time. On
 * success *pos is just past the value and *type is its type (json_type_null
 * for null).
 */
static bool scan_value(struct json_tokener *tok, const char *buf, size_t len,
		       size_t *pos, enum json_type *type)
{
	size_t p = *pos;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr = json_tokener_continue;
	json_tokener_reset(tok);
	while (p < len) {
		size_t n = len - p < MBJ_CHUNK ? len - p : MBJ_CHUNK;
		obj = json_tokener_parse_ex(tok, buf + p, (int)n);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_continue) {
			p += json_tokener_get_parse_end(tok);
			break;
		}
		p += n;
	}
	if (jerr == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		p = len;
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return false;
	}
	*type = obj ? json_object_get_type(obj) : json_type_null;
	json_object_put(obj);
	*pos = p;
	return true;
}

/*
 * Walk a top-level array or object one member at a time, so that memory
 * stays bounded by the largest member rather than the whole document.
 */
static bool scan_container(struct json_tokener *tok, const char *buf,
			   size_t len, size_t *pos, size_t *count)
{
	size_t p = *pos;
	bool obj = buf[p] == '{';
	char close = obj ? '}' : ']';
	size_t n = 0;
	enum json_type t;
	p = skip_ws(buf, len, p + 1);
	if (p < len && buf[p] == close) {
		*pos = p + 1;
		*count = 0;
		return true;
	}
	for (;;) {
		if (obj) {
			if (p >= len || buf[p] != '"' ||
			    !scan_value(tok, buf, len, &p, &t) ||
			    t != json_type_string)
				return false;
			p = skip_ws(buf, len, p);
			if (p >= len || buf[p] != ':')
				return false;
			p = skip_ws(buf, len, p + 1);
		}
		if (p >= len || !scan_value(tok, buf, len, &p, &t))
			return false;
		n++;
		p = skip_ws(buf, len, p);
		if (p >= len)
			return false;
		if (buf[p] == close)
			break;
		if (buf[p] != ',')
			return false;
		p = skip_ws(buf, len, p + 1);
	}
	*pos = p + 1;
	*count = n;
	return true;
}

bool mb_json_validate(const char *buf, size_t len, size_t *n_top)
{
	if (n_top)
		*n_top = 0;
	if (!buf)
		return false;
	size_t p = skip_ws(buf, len, 0);
	if (p == len)
		return false;
	struct json_tokener *tok = json_tokener_new_ex(MBJ_DEPTH);
	if (!tok)
		return false;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	bool ok;
	size_t count = 0;
	enum json_type t;
	if (buf[p] == '[' || buf[p] == '{')
		ok = scan_container(tok, buf, len, &p, &count);
	else
		ok = scan_value(tok, buf, len, &p, &t);
	json_tokener_free(tok);
	if (!ok || skip_ws(buf, len, p) != len)
		return false;
	if (n_top && buf[skip_ws(buf, len, 0)] == '[')
		*n_top = count;
	return true;
}

enum mbfs_status mb_json_list_array(const char *buf, size_t len, char **out,
				    size_t *outlen, size_t *count,
				    struct mbfs_err *err)
{
	struct json_object *root;
	*out = NULL;
	*outlen = 0;
	*count = 0;
	enum mbfs_status st = parse_body(buf, len, "list", true, &root, err);
	if (st != MBFS_OK)
		return st;
	struct json_object *arr = list_array(root);
	if (!arr) {
		st = shape_error(root, "list", "a JSON array", err);
	} else if (arr == root) {
		/* a bare array: the server's bytes, verbatim (trimmed) */
		size_t b = skip_ws(buf, len, 0), e = len;
		while (e > b && is_ws(buf[e - 1]))
			e--;
		*out = malloc(e - b + 1);
		if (!*out) {
			st = nomem("list", err);
		} else {
			memcpy(*out, buf + b, e - b);
			(*out)[e - b] = '\0';
			*outlen = e - b;
			*count = j_len(arr);
		}
	} else {
		size_t n = 0;
		const char *s = json_object_to_json_string_length(
			arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&n);
		*out = s ? malloc(n + 1) : NULL;
		if (!*out) {
			st = nomem("list", err);
		} else {
			memcpy(*out, s, n);
			(*out)[n] = '\0';
			*outlen = n;
			*count = j_len(arr);
		}
	}
	json_object_put(root);
	return st;
}

char *mb_json_quote(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		char *r = malloc(5);
		if (r)
			memcpy(r, "null", 5);
		return r;
	}
	size_t n = 3;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' ||
		    *p == '\n' || *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n += 1;
	}
	char *r = malloc(n);
	if (!r)
		return NULL;
	char *o = r;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			*o++ = '\\';
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\b':
			*o++ = '\\';
			*o++ = 'b';
			break;
		case '\f':
			*o++ = '\\';
			*o++ = 'f';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		default:
			if (*p < 0x20) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[*p >> 4];
				o[5] = hex[*p & 0xF];
				o += 6;
			} else {
				*o++ = (char)*p;
			}
		}
	}
	*o++ = '"';
	*o = '\0';
	return r;
}

/* ------------------------------------------------------------------ */
/* Streaming list decoder                                               */

struct list_desc {
	const char *what;
	size_t elsz;
	elem_fn fn;
	clear_fn clear;
};

static const struct list_desc list_descs[] = {
	[MB_JSON_LIST_CARDS] = {"card list", sizeof(struct mb_card), dec_card,
				card_clear},
	[MB_JSON_LIST_COLLECTIONS] = {"collection list",
				      sizeof(struct mb_collection),
				      dec_collection, collection_clear},
	[MB_JSON_LIST_DASHBOARDS] = {"dashboard list",
				     sizeof(struct mb_dashboard),
				     dec_dashboard_base, dashboard_clear},
	[MB_JSON_LIST_DATABASES] = {"database list",
				    sizeof(struct mb_database), dec_database,
				    database_clear},
	[MB_JSON_LIST_USERS] = {"user list", sizeof(struct mb_user), dec_user,
				user_clear},
};

enum stream_state {
	ST_BEFORE,     /* nothing but whitespace yet */
	ST_ARRAY,      /* inside the top-level array */
	ST_AFTER,      /* after its closing bracket */
	ST_ENVELOPE,   /* a top-level object: collected, decoded at the end */
	ST_BAD,
};

struct mb_json_stream {
	const struct list_desc *desc;
	enum mb_json_list_kind kind;
	bool keep_text;
	enum stream_state state;
	int depth;                 /* nesting inside the top-level array */
	bool in_str, esc;
	bool after_comma;          /* the last separator was a comma */
	char *elem;                /* the element being scanned */
	size_t elem_len, elem_cap;
	char *v;                   /* decoded elements */
	size_t n, cap;
	size_t count;              /* elements seen */
	char *text;                /* every byte, when kept or an envelope */
	size_t text_len, text_cap;
	uint64_t total;
	struct dec d;
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
	if ((size_t)kind >= sizeof list_descs / sizeof list_descs[0])
		return NULL;
	struct mb_json_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->desc = &list_descs[kind];
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
	if (parse_body(s->elem, s->elem_len, s->desc->what, false, &o, &e) !=
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
		i = skip_ws(buf, len, 0);
		if (i < len) {
			if (buf[i] == '[') {
				s->state = ST_ARRAY;
				s->depth = 1;
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
			if (!is_ws(c))
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "trailing data after the array");
			continue;
		}
		if (s->depth == 1 && !s->in_str && (c == ',' || c == ']')) {
			bool blank = skip_ws(s->elem, s->elem_len, 0) == s->elem_len;
			if (!blank && !stream_element(s))
				return false;
			if (blank && (c == ',' || s->after_comma))
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "empty array element");
			s->after_comma = c == ',';
			s->elem_len = 0;
			if (c == ']') {
				s->depth = 0;
				s->state = ST_AFTER;
			}
			continue;
		}
		if (!grow(&s->elem, &s->elem_cap, s->elem_len + 1))
			return stream_fail(s, MBFS_ERR_NOMEM, "out of memory");
		s->elem[s->elem_len++] = c;
		if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"')
				s->in_str = false;
		} else if (c == '"') {
			s->in_str = true;
		} else if (c == '{' || c == '[') {
			s->depth++;
		} else if (c == '}' || c == ']') {
			if (--s->depth < 1)
				return stream_fail(s, MBFS_ERR_PROTOCOL,
						   "unbalanced brackets");
		}
	}
	return true;
}

/* Move the decoded elements into the caller's list struct. */
static void stream_hand_over(struct mb_json_stream *s, void *out)
{
	void *v = s->n ? s->v : NULL;
	if (!s->n)
		free(s->v);
	switch (s->kind) {
	case MB_JSON_LIST_CARDS:
		((struct mb_card_list *)out)->v = v;
		((struct mb_card_list *)out)->n = s->n;
		break;
	case MB_JSON_LIST_COLLECTIONS:
		((struct mb_collection_list *)out)->v = v;
		((struct mb_collection_list *)out)->n = s->n;
		break;
	case MB_JSON_LIST_DASHBOARDS:
		((struct mb_dashboard_list *)out)->v = v;
		((struct mb_dashboard_list *)out)->n = s->n;
		break;
	case MB_JSON_LIST_DATABASES:
		((struct mb_database_list *)out)->v = v;
		((struct mb_database_list *)out)->n = s->n;
		break;
	case MB_JSON_LIST_USERS:
		((struct mb_user_list *)out)->v = v;
		((struct mb_user_list *)out)->n = s->n;
		break;
	}
	s->v = NULL;
	s->n = s->cap = 0;
}

/* A collected envelope (or an error object): the whole-body decoders. */
static enum mbfs_status stream_envelope(struct mb_json_stream *s, void *out,
					struct mbfs_err *err)
{
	const char *b = s->text;
	size_t l = s->text_len;
	switch (s->kind) {
	case MB_JSON_LIST_CARDS: return mb_json_card_list(b, l, out, err);
	case MB_JSON_LIST_COLLECTIONS: return mb_json_collection_list(b, l, out, err);
	case MB_JSON_LIST_DASHBOARDS: return mb_json_dashboard_list(b, l, out, err);
	case MB_JSON_LIST_DATABASES: return mb_json_database_list(b, l, out, err);
	case MB_JSON_LIST_USERS: return mb_json_user_list(b, l, out, err);
	}
	return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "unknown list");
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
		size_t b = skip_ws(s->text, s->text_len, 0), e = s->text_len;
		while (e > b && is_ws(s->text[e - 1]))
			e--;
		memmove(s->text, s->text + b, e - b);
		s->text[e - b] = '\0';
		*text = s->text;
		*text_len = e - b;
		s->text = NULL;
	}
	return MBFS_OK;
}

/* ---- error types (queries/) ------------------------------------------------- */

bool mb_json_error_is_permission(const char *buf, size_t len)
{
	struct json_object *root;
	if (!buf || len == 0 || len > MB_JSON_MAX_BODY)
		return false;
	size_t p = skip_ws(buf, len, 0);
	if (p == len || buf[p] != '{')
		return false;
	if (parse_body(buf, len, "error", false, &root, NULL) != MBFS_OK)
		return false;
	bool is = error_object(root, NULL, 0) &&
		  j_str_eq(j_get(root, "error_type"),
			   "missing-required-permissions");
	json_object_put(root);
	return is;
}

/* ------------------------------------------------------------------ */
/* Parameters and public links (DESIGN.md §1 "Card parameters",        */
/* "Public links")                                                      */

/* Add key → val to object o, taking a new reference on val (val NULL:
 * nothing added). False on allocation failure. */
static bool jo_ref(struct json_object *o, const char *key,
		   struct json_object *val)
{
	if (!val)
		return true;
	json_object_get(val);
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Add key → a new string (or JSON null when s is NULL). */
static bool jo_str(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = NULL;
	if (s && !(v = json_object_new_string(s)))
		return false;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Append a new reference to v to array a. */
static bool ja_ref(struct json_object *a, struct json_object *v)
{
	json_object_get(v);
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Compact text of v (heap; NULL with d->oom on failure). */
static char *to_text(struct dec *d, struct json_object *v)
{
	const char *s = json_object_to_json_string_ext(
		v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		d->oom = true;
		return NULL;
	}
	return dup_cstr(d, s);
}

/* A non-empty string without NUL bytes, or NULL. */
static const char *j_name(struct json_object *v)
{
	size_t n;
	const char *s = j_sval(v, &n);
	return s && n > 0 && strlen(s) == n ? s : NULL;
}

/* The parameter type Metabase's UI gives a template tag (a field filter
 * takes its widget type). */
static const char *tag_type(struct json_object *tag)
{
	struct json_object *t = j_get(tag, "type");
	if (j_str_eq(t, "dimension")) {
		const char *w = j_name(j_get(tag, "widget-type"));
		return w ? w : "category";
	}
	if (j_str_eq(t, "date"))
		return "date/single";
	if (j_str_eq(t, "number"))
		return "number/=";
	return "category";
}

/* The tag a target names: [kind, ["template-tag", NAME]] → NAME. */
static const char *target_tag(struct json_object *target)
{
	struct json_object *inner = j_idx(target, 1);
	if (!j_str_eq(j_idx(inner, 0), "template-tag"))
		return NULL;
	return j_name(j_idx(inner, 1));
}

/* A native card's template tags (MBQL 4 or 5), or NULL. */
static struct json_object *card_template_tags(struct json_object *card)
{
	struct json_object *dq = j_get(card, "dataset_query");
	struct json_object *tags = j_get(j_get(dq, "native"), "template-tags");
	if (j_is(tags, json_type_object))
		return tags;
	tags = j_get(j_idx(j_get(dq, "stages"), 0), "template-tags");
	return j_is(tags, json_type_object) ? tags : NULL;
}

/* Does a normalized entry of defs have this slug / target this tag? */
static bool defs_have(struct json_object *defs, const char *slug,
		      const char *tag)
{
	for (size_t i = 0; i < j_len(defs); i++) {
		struct json_object *e = j_idx(defs, i);
		if (slug && j_str_eq(j_get(e, "slug"), slug))
			return true;
		const char *t = target_tag(j_get(e, "target"));
		if (tag && t && strcmp(t, tag) == 0)
			return true;
	}
	return false;
}

/* Append one normalized definition. */
static bool def_add(struct json_object *defs, struct json_object *id,
		    const char *slug, struct json_object *name,
		    const char *type, struct json_object *dflt,
		    struct json_object *target)
{
	struct json_object *e = json_object_new_object();
	if (!e)
		return false;
	if (json_object_array_add(defs, e) != 0) {
		json_object_put(e);
		return false;
	}
	const char *nm = j_name(name);
	return (j_name(id) ? jo_ref(e, "id", id) : true) &&
	       jo_str(e, "slug", slug) && jo_str(e, "name", nm ? nm : slug) &&
	       jo_str(e, "type", type) && jo_ref(e, "default", dflt) &&
	       jo_ref(e, "target", target);
}

/* [kind, ["template-tag", name]] (NULL when out of memory). */
static struct json_object *tag_target(const char *kind, const char *name)
{
	struct json_object *t = json_object_new_array();
	struct json_object *r = json_object_new_array();
	struct json_object *k = json_object_new_string(kind);
	struct json_object *tt = json_object_new_string("template-tag");
	struct json_object *n = json_object_new_string(name);
	if (t && r && k && tt && n && json_object_array_add(r, tt) == 0) {
		tt = NULL;
		if (json_object_array_add(r, n) == 0) {
			n = NULL;
			if (json_object_array_add(t, k) == 0) {
				k = NULL;
				if (json_object_array_add(t, r) == 0)
					return t;
			}
		}
	}
	json_object_put(n);
	json_object_put(tt);
	json_object_put(k);
	json_object_put(r);
	json_object_put(t);
	return NULL;
}

/* defs as text, or NULL when empty. Takes defs. */
static char *defs_text(struct dec *d, struct json_object *defs, bool ok)
{
	char *res = NULL;
	if (!ok)
		d->oom = true;
	else if (json_object_array_length(defs) > 0)
		res = to_text(d, defs);
	json_object_put(defs);
	return res;
}

/*
 * A card's parameters: its `parameters` (slug, name, type, default —
 * falling back to the tag's default —, target), then every template tag
 * no parameter covers (cards saved before Metabase stored parameters for
 * tags), typed as the UI types them. Snippet and card-reference tags are
 * not parameters.
 */
static char *card_param_defs(struct dec *d, struct json_object *card)
{
	struct json_object *params = j_get(card, "parameters");
	struct json_object *tags = card_template_tags(card);
	if (j_len(params) == 0 && !tags)
		return NULL;
	struct json_object *defs = json_object_new_array();
	if (!defs) {
		d->oom = true;
		return NULL;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < j_len(params); i++) {
		struct json_object *p = j_idx(params, i);
		const char *slug = j_name(j_get(p, "slug"));
		if (!slug || defs_have(defs, slug, NULL))
			continue;
		struct json_object *target = j_get(p, "target");
		struct json_object *dflt = j_get(p, "default");
		const char *tn = target_tag(target);
		if (!dflt && tn)
			dflt = j_get(j_get(tags, tn), "default");
		const char *type = j_name(j_get(p, "type"));
		ok = def_add(defs, j_get(p, "id"), slug, j_get(p, "name"),
			     type ? type : "category", dflt, target);
	}
	if (tags) {
		struct json_object_iterator it = json_object_iter_begin(tags);
		struct json_object_iterator end = json_object_iter_end(tags);
		for (; ok && !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			struct json_object *tag = json_object_iter_peek_value(&it);
			const char *name = j_name(j_get(tag, "name"));
			if (!name)
				name = json_object_iter_peek_name(&it);
			if (!j_is(tag, json_type_object) || !name || !*name ||
			    j_str_eq(j_get(tag, "type"), "snippet") ||
			    j_str_eq(j_get(tag, "type"), "card") ||
			    defs_have(defs, name, name))
				continue;
			struct json_object *target = tag_target(
				j_str_eq(j_get(tag, "type"), "dimension") ? "dimension"
									  : "variable",
				name);
			ok = target &&
			     def_add(defs, j_get(tag, "id"), name,
				     j_get(tag, "display-name"), tag_type(tag),
				     j_get(tag, "default"), target);
			json_object_put(target);
		}
	}
	return defs_text(d, defs, ok);
}

/*
 * A dashcard's parameters: the dashboard filters its parameter_mappings
 * map to its own card (series cards have mappings of their own), with
 * the mapping's target; a filter mapped twice counts once.
 */
static char *dashcard_param_defs(struct dec *d, struct json_object *dash_params,
				 struct json_object *dc, int64_t card_id)
{
	struct json_object *maps = j_get(dc, "parameter_mappings");
	if (j_len(maps) == 0 || j_len(dash_params) == 0)
		return NULL;
	struct json_object *defs = json_object_new_array();
	if (!defs) {
		d->oom = true;
		return NULL;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < j_len(maps); i++) {
		struct json_object *m = j_idx(maps, i);
		const char *pid = j_name(j_get(m, "parameter_id"));
		int64_t mc;
		if (!pid || (card_id && j_id(j_get(m, "card_id"), &mc) &&
			     mc != card_id))
			continue;
		struct json_object *p = NULL;
		for (size_t k = 0; !p && k < j_len(dash_params); k++)
			if (j_str_eq(j_get(j_idx(dash_params, k), "id"), pid))
				p = j_idx(dash_params, k);
		const char *slug = j_name(j_get(p, "slug"));
		if (!slug || defs_have(defs, slug, NULL))
			continue;
		const char *type = j_name(j_get(p, "type"));
		ok = def_add(defs, j_get(p, "id"), slug, j_get(p, "name"),
			     type ? type : "category", j_get(p, "default"),
			     j_get(m, "target"));
	}
	return defs_text(d, defs, ok);
}

/* Parse normalized definitions (NULL: none) into an array (caller puts). */
static enum mbfs_status defs_parse(const char *defs, struct json_object **out,
				   struct mbfs_err *err)
{
	*out = NULL;
	if (!defs) {
		*out = json_object_new_array();
		return *out ? MBFS_OK : nomem("parameters", err);
	}
	enum mbfs_status st = parse_body(defs, strlen(defs), "parameters",
					 false, out, err);
	if (st == MBFS_OK && !j_is(*out, json_type_array)) {
		json_object_put(*out);
		*out = NULL;
		st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				  "parameters: not a JSON array");
	}
	return st;
}

char *mb_json_params_xattr(const char *defs)
{
	struct json_object *arr = NULL, *out = NULL;
	struct dec d = {false};
	char *res = NULL;
	if (!defs || defs_parse(defs, &arr, NULL) != MBFS_OK)
		return NULL;
	out = json_object_new_array();
	bool ok = out != NULL;
	for (size_t i = 0; ok && i < j_len(arr); i++) {
		struct json_object *e = j_idx(arr, i);
		struct json_object *x = json_object_new_object();
		ok = x && json_object_array_add(out, x) == 0;
		if (!ok) {
			json_object_put(x);
			break;
		}
		ok = jo_ref(x, "slug", j_get(e, "slug")) &&
		     jo_ref(x, "name", j_get(e, "name")) &&
		     jo_ref(x, "type", j_get(e, "type"));
		struct json_object *dflt = j_get(e, "default");
		if (ok)
			ok = dflt ? jo_ref(x, "default", dflt)
				  : jo_str(x, "default", NULL);
	}
	if (ok)
		res = to_text(&d, out);
	json_object_put(out);
	json_object_put(arr);
	return res;
}

/* Date-like types take one string (the UI's own form of a day, a range,
 * a month, a quarter, a relative date); everything else a list. */
static bool single_valued(const char *type)
{
	return type && (strncmp(type, "date", 4) == 0 ||
			strcmp(type, "temporal-unit") == 0);
}

/* The `value` the UI sends for these values of a parameter of type. */
static struct json_object *param_value(const char *type,
				       const struct mb_param_arg *a)
{
	if (single_valued(type) && a->n_values == 1)
		return json_object_new_string(a->values[0]);
	struct json_object *v = json_object_new_array();
	for (size_t i = 0; v && i < a->n_values; i++) {
		struct json_object *s = json_object_new_string(a->values[i]);
		if (!s || json_object_array_add(v, s) != 0) {
			json_object_put(s);
			json_object_put(v);
			return NULL;
		}
	}
	return v;
}

/* {"id"?, "type", "value"[, "target"]} for a definition and a value. */
static struct json_object *param_entry(struct json_object *def,
				       struct json_object *value,
				       struct json_object *target)
{
	struct json_object *e = json_object_new_object();
	if (!e)
		return NULL;
	struct json_object *id = j_get(def, "id");
	if ((id && !jo_ref(e, "id", id)) || !jo_ref(e, "type", j_get(def, "type")) ||
	    !jo_ref(e, "value", value) || !jo_ref(e, "target", target)) {
		json_object_put(e);
		return NULL;
	}
	return e;
}

static const struct mb_param_arg *arg_of(const struct mb_param_args *args,
					 struct json_object *def)
{
	for (size_t i = 0; args && i < args->n; i++)
		if (j_str_eq(j_get(def, "slug"), args->v[i].slug))
			return &args->v[i];
	return NULL;
}

/* Append the entry of a given definition (or of its default) to out. */
static bool add_entry(struct json_object *out, struct json_object *def,
		      const struct mb_param_arg *a, bool with_target)
{
	const char *type = j_name(j_get(def, "type"));
	struct json_object *value =
		a ? param_value(type, a) : j_get(def, "default");
	if (!value)
		return a == NULL; /* no default: nothing to send */
	if (!a)
		json_object_get(value);
	struct json_object *e = param_entry(
		def, value, with_target ? j_get(def, "target") : NULL);
	json_object_put(value);
	if (!e || json_object_array_add(out, e) != 0) {
		json_object_put(e);
		return false;
	}
	return true;
}

enum mbfs_status mb_json_param_request(const char *defs, const char *base,
				       const struct mb_param_args *args,
				       bool dashcard, char **out,
				       struct mbfs_err *err)
{
	*out = NULL;
	struct json_object *darr = NULL, *barr = NULL, *res = NULL;
	enum mbfs_status st = defs_parse(defs, &darr, err);
	if (st != MBFS_OK)
		return st;
	/* every name must be one of the file's parameters */
	for (size_t i = 0; args && i < args->n; i++) {
		bool known = false;
		for (size_t k = 0; !known && k < j_len(darr); k++)
			known = j_str_eq(j_get(j_idx(darr, k), "slug"),
					 args->v[i].slug);
		if (!known) {
			st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					  "no parameter \"%s\" (user.mb.parameters lists them)",
					  args->v[i].slug);
			goto out;
		}
	}
	res = json_object_new_array();
	bool ok = res != NULL;
	if (ok && dashcard) {
		/* the dashboard's defaults, with the given filters' values
		 * instead; the dashboard's mappings target the card */
		if (base && (st = defs_parse(base, &barr, err)) != MBFS_OK)
			goto out;
		bool *done = calloc(j_len(darr) + 1, sizeof *done);
		ok = done != NULL;
		for (size_t i = 0; ok && i < j_len(barr); i++) {
			struct json_object *b = j_idx(barr, i);
			size_t k = 0;
			struct json_object *def = NULL;
			for (; k < j_len(darr); k++) {
				struct json_object *c = j_idx(darr, k);
				if (j_name(j_get(c, "id")) &&
				    j_str_eq(j_get(b, "id"),
					     json_object_get_string(j_get(c, "id"))) &&
				    arg_of(args, c)) {
					def = c;
					break;
				}
			}
			if (def) {
				done[k] = true;
				ok = add_entry(res, def, arg_of(args, def), false);
			} else {
				ok = ja_ref(res, b);
			}
		}
		for (size_t k = 0; ok && k < j_len(darr); k++) {
			struct json_object *c = j_idx(darr, k);
			const struct mb_param_arg *a = arg_of(args, c);
			if (a && !done[k])
				ok = add_entry(res, c, a, false);
		}
		free(done);
	} else {
		/* a card: every parameter, given or at its default */
		for (size_t k = 0; ok && k < j_len(darr); k++) {
			struct json_object *c = j_idx(darr, k);
			ok = add_entry(res, c, arg_of(args, c), true);
		}
	}
	if (ok) {
		struct dec d = {false};
		*out = to_text(&d, res);
		ok = *out != NULL;
	}
	if (!ok)
		st = nomem("parameters", err);
out:
	json_object_put(res);
	json_object_put(barr);
	json_object_put(darr);
	return st;
}

/* One row of GET /api/card/public or /api/dashboard/public. */
static bool dec_public_item(struct dec *d, struct json_object *o, void *p)
{
	struct mb_public_item *it = p;
	const char *uuid = j_name(j_get(o, "public_uuid"));
	if (!j_is(o, json_type_object) || !j_id(j_get(o, "id"), &it->id) ||
	    !uuid)
		return false;
	it->name = j_str(d, j_get(o, "name"));
	it->uuid = dup_cstr(d, uuid);
	return true;
}

static void public_item_clear(void *p)
{
	struct mb_public_item *it = p;
	free(it->name);
	free(it->uuid);
	memset(it, 0, sizeof *it);
}

void mb_public_list_free(struct mb_public_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n && l->v; i++)
		public_item_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

enum mbfs_status mb_json_public_list(const char *buf, size_t len,
				     struct mb_public_list *out,
				     struct mbfs_err *err)
{
	void *v = NULL;
	enum mbfs_status st = decode_many(buf, len, "public link list",
					  sizeof *out->v, dec_public_item,
					  public_item_clear, &v, &out->n, NULL,
					  err);
	out->v = v;
	return st;
}

const char *mb_json_lib_version(void)
{
	return json_c_version();
}
