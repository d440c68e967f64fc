/*
 * json.c — owns the shared ground of the JSON decoders (their callers
 * see only mb_json.h): parsing a body strictly and within caps,
 * typed access to json-c values that never trusts a type, recognizing
 * Metabase error bodies, the decode skeletons for one object and for a
 * list, and quoting strings as JSON literals. The decoders themselves
 * live in json_entities.c, json_stream.c and json_params.c; json*.c are
 * the only files of mbfs that include json-c (json_internal.h is their
 * shared header).
 *
 * Everything the server sends is hostile: keys may be missing, null or of
 * the wrong type, numbers may come as strings, array elements may not be
 * objects. Every access goes through the mbj_* helpers below, which check
 * types (json-c asserts on wrong-type array access) and fall back to a
 * default.
 */
#include "json_internal.h"

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

/* ------------------------------------------------------------------ */
/* Small utilities                                                      */

bool mbj_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t mbj_skip_ws(const char *buf, size_t len, size_t p)
{
	while (p < len && mbj_is_ws(buf[p]))
		p++;
	return p;
}

/* Copy n bytes (stopping at an embedded NUL) into a new string. */
static char *dup_bytes(struct mbj_dec *d, const char *s, size_t n)
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

char *mbj_dup_cstr(struct mbj_dec *d, const char *s)
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

bool mbj_is(struct json_object *v, int t)
{
	return v && json_object_is_type(v, (enum json_type)t);
}

/* Value of key in o; NULL when o is not an object, the key is absent, or
 * the value is JSON null. */
struct json_object *mbj_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!mbj_is(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* Is key present in o (even with a null value)? */
bool mbj_has(struct json_object *o, const char *key)
{
	return mbj_is(o, json_type_object) &&
	       json_object_object_get_ex(o, key, NULL);
}

size_t mbj_len(struct json_object *a)
{
	return mbj_is(a, json_type_array) ? json_object_array_length(a) : 0;
}

struct json_object *mbj_idx(struct json_object *a, size_t i)
{
	if (i >= mbj_len(a))
		return NULL;
	return json_object_array_get_idx(a, i);
}

bool mbj_str_eq(struct json_object *v, const char *s)
{
	return mbj_is(v, json_type_string) &&
	       strcmp(json_object_get_string(v), s) == 0;
}

/* String contents (bytes, length) or NULL for non-strings. */
const char *mbj_sval(struct json_object *v, size_t *n)
{
	if (!mbj_is(v, json_type_string))
		return NULL;
	int l = json_object_get_string_len(v);
	*n = l > 0 ? (size_t)l : 0;
	return json_object_get_string(v);
}

/* Copy of a string value; NULL for anything else. */
char *mbj_tstr(struct mbj_dec *d, struct json_object *v)
{
	size_t n;
	const char *s = mbj_sval(v, &n);
	return s ? dup_bytes(d, s, n) : NULL;
}

/* Copy of a string value, or the text of a number; NULL otherwise. */
char *mbj_str(struct mbj_dec *d, struct json_object *v)
{
	if (mbj_is(v, json_type_int) || mbj_is(v, json_type_double))
		return mbj_dup_cstr(d, json_object_get_string(v));
	return mbj_tstr(d, v);
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
static bool num_int(struct json_object *v, int64_t *out)
{
	if (mbj_is(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		/* json-c clamps overflow to the int64 limits */
		if (x == INT64_MIN)
			return false;
		if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
			return false;
		*out = x;
		return true;
	}
	if (mbj_is(v, json_type_double)) {
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
bool mbj_id(struct json_object *v, int64_t *out)
{
	size_t n;
	const char *s = mbj_sval(v, &n);
	if (s) {
		if (n == 4 && memcmp(s, "root", 4) == 0) {
			*out = 0;
			return true;
		}
		return parse_decimal(s, n, out);
	}
	return num_int(v, out);
}

bool mbj_object_id(struct json_object *o, int64_t *id)
{
	return mbj_is(o, json_type_object) && mbj_id(mbj_get(o, "id"), id);
}

/* An id where "none" is 0. */
int64_t mbj_id0(struct json_object *v)
{
	int64_t x;
	return mbj_id(v, &x) ? x : 0;
}

/* An integer (number or decimal string), else dflt. */
int64_t mbj_int(struct json_object *v, int64_t dflt)
{
	int64_t x;
	size_t n;
	const char *s = mbj_sval(v, &n);
	if (s)
		return parse_decimal(s, n, &x) ? x : dflt;
	return num_int(v, &x) ? x : dflt;
}

/* A boolean; also accepts numbers and "true"/"false" strings. */
bool mbj_bool(struct json_object *v, bool dflt)
{
	if (mbj_is(v, json_type_boolean))
		return json_object_get_boolean(v) != 0;
	if (mbj_is(v, json_type_int))
		return json_object_get_int64(v) != 0;
	if (mbj_str_eq(v, "true"))
		return true;
	if (mbj_str_eq(v, "false"))
		return false;
	return dflt;
}

/* First string value among keys of o (timestamps), copied; NULL if none. */
char *mbj_first_tstr(struct mbj_dec *d, struct json_object *o,
		     const char *const *keys)
{
	for (; *keys; keys++) {
		struct json_object *v = mbj_get(o, *keys);
		if (mbj_is(v, json_type_string))
			return mbj_tstr(d, v);
	}
	return NULL;
}

/* The list inside a body: a bare array, or the "data" array of an envelope. */
struct json_object *mbj_array_of(struct json_object *root)
{
	if (mbj_is(root, json_type_array))
		return root;
	struct json_object *data = mbj_get(root, "data");
	if (mbj_is(data, json_type_array))
		return data;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                         */

static void append_value_text(char *msg, size_t msgsz, struct json_object *v)
{
	size_t n;
	const char *s = mbj_sval(v, &n);
	if (!s) {
		s = json_object_to_json_string_ext(
			v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!s)
			return;
		n = strlen(s);
	}
	msg_append(msg, msgsz, s, n);
}

/* Append the text of v (unless NULL), after "; " unless it is the first. */
static void append_joined(char *msg, size_t msgsz, struct json_object *v,
			  bool *first)
{
	if (!v)
		return;
	if (!*first)
		msg_append(msg, msgsz, "; ", 2);
	append_value_text(msg, msgsz, v);
	*first = false;
}

/* Join the values of "errors" (object, array or string) with "; ". */
static void append_errors(char *msg, size_t msgsz, struct json_object *errs)
{
	bool first = true;
	if (mbj_is(errs, json_type_object)) {
		struct json_object_iterator it = json_object_iter_begin(errs);
		struct json_object_iterator end = json_object_iter_end(errs);
		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			append_joined(msg, msgsz,
				      json_object_iter_peek_value(&it), &first);
	} else if (mbj_is(errs, json_type_array)) {
		for (size_t i = 0; i < mbj_len(errs); i++)
			append_joined(msg, msgsz, mbj_idx(errs, i), &first);
	} else if (errs) {
		append_value_text(msg, msgsz, errs);
	}
}

/* Is o a Metabase error object? If so and msg is given, fill msg. */
bool mbj_error_object(struct json_object *o, char *msg, size_t msgsz)
{
	if (!mbj_is(o, json_type_object))
		return false;
	struct json_object *error = mbj_get(o, "error");
	struct json_object *errors = mbj_get(o, "errors");
	struct json_object *message = mbj_get(o, "message");
	struct json_object *cause = mbj_get(o, "cause");
	struct json_object *status = mbj_get(o, "_status");
	struct json_object *via = mbj_get(o, "via");
	bool is = mbj_str_eq(mbj_get(o, "status"), "failed") || error || errors ||
		  status || via || cause ||
		  (message && mbj_get(o, "error_code"));
	if (!is)
		return false;
	if (!msg || msgsz == 0)
		return true;
	msg[0] = '\0';
	if (error)
		append_value_text(msg, msgsz, error);
	if (!msg[0] && errors)
		append_errors(msg, msgsz, errors);
	if (!msg[0] && mbj_is(message, json_type_string))
		append_value_text(msg, msgsz, message);
	if (!msg[0] && mbj_is(cause, json_type_string))
		append_value_text(msg, msgsz, cause);
	if (!msg[0]) {
		struct json_object *v0 = mbj_idx(via, 0);
		struct json_object *t = mbj_get(v0, "message");
		if (!mbj_is(t, json_type_string))
			t = mbj_get(v0, "error");
		if (mbj_is(t, json_type_string))
			append_value_text(msg, msgsz, t);
	}
	if (!msg[0]) {
		int64_t st;
		char tmp[64];
		if (num_int(status, &st))
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
 * RFC 8259, nothing more: is buf[0..len) exactly one JSON value with
 * whitespace around it? NULL if so, else what is wrong, with *at the
 * byte offset. json-c's own JSON_TOKENER_STRICT cannot be the judge: it
 * lets a single-quoted first key through (0.16) and, in 0.18, refuses
 * every non-ASCII byte inside a string (json-c issues #875, #892 — what
 * Debian 13 ships), so bodies are checked here and json-c then parses
 * what passed with its default flags. Strings are not checked for UTF-8
 * validity, and raw control bytes in them are let through as json-c 0.16
 * let them (server text is escaped where it is shown).
 */
static const char *strict_scan(const char *buf, size_t len, size_t *at)
{
	char stack[MBJ_DEPTH];     /* '[' or '{' of each open container */
	size_t depth = 0, p = mbj_skip_ws(buf, len, 0);
	const char *bad = NULL;
	bool want_key = false;     /* in an object, after '{' or ',' */
	for (;;) {
		/* a value (or, after '{' / ',' in an object, a key) at p */
		if (p >= len) {
			bad = "end of input where a value was expected";
			break;
		}
		unsigned char c = (unsigned char)buf[p];
		if (want_key && c != '"') {
			bad = "an object key that is not a string";
			break;
		}
		if (c == '{' || c == '[') {
			if (depth == MBJ_DEPTH) {
				bad = "nesting too deep";
				break;
			}
			stack[depth++] = (char)c;
			p = mbj_skip_ws(buf, len, p + 1);
			if (p < len && buf[p] == (c == '{' ? '}' : ']')) {
				depth--;
				p++; /* empty container: a complete value */
			} else {
				want_key = c == '{';
				continue;
			}
		} else if (c == '"') {
			for (p++; p < len && buf[p] != '"'; p++) {
				/* raw control bytes are taken as json-c
				 * 0.16 took them (hostile names are copied
				 * as they are and escaped where shown); a NUL
				 * is not */
				unsigned char s = (unsigned char)buf[p];
				if (s == 0)
					break;
				if (s != '\\')
					continue;
				if (++p >= len)
					break;
				if (buf[p] == 'u') {
					size_t h = 0;
					while (h < 4 && p + 1 + h < len &&
					       strchr("0123456789abcdefABCDEF",
						      buf[p + 1 + h]) &&
					       buf[p + 1 + h])
						h++;
					if (h < 4)
						break;
					p += 4;
				} else if (!strchr("\"\\/bfnrt", buf[p]) || !buf[p]) {
					break;
				}
			}
			if (p >= len || buf[p] != '"') {
				bad = "an invalid string";
				break;
			}
			p++;
			if (want_key) { /* "key" : value */
				p = mbj_skip_ws(buf, len, p);
				if (p >= len || buf[p] != ':') {
					bad = "a key without ':'";
					break;
				}
				p = mbj_skip_ws(buf, len, p + 1);
				want_key = false;
				continue;
			}
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t q = p + (c == '-');
			if (q < len && buf[q] == '0')
				q++;
			else if (q < len && buf[q] >= '1' && buf[q] <= '9')
				while (q < len && buf[q] >= '0' && buf[q] <= '9')
					q++;
			else {
				bad = "an invalid number";
				break;
			}
			if (q < len && buf[q] == '.') {
				size_t d = ++q;
				while (q < len && buf[q] >= '0' && buf[q] <= '9')
					q++;
				if (q == d) {
					bad = "an invalid number";
					break;
				}
			}
			if (q < len && (buf[q] == 'e' || buf[q] == 'E')) {
				q++;
				if (q < len && (buf[q] == '+' || buf[q] == '-'))
					q++;
				size_t d = q;
				while (q < len && buf[q] >= '0' && buf[q] <= '9')
					q++;
				if (q == d) {
					bad = "an invalid number";
					break;
				}
			}
			p = q;
		} else {
			static const char *const lit[] = {"true", "false", "null"};
			size_t l = 0;
			for (size_t i = 0; i < 3 && !l; i++) {
				size_t n = strlen(lit[i]);
				if (len - p >= n && memcmp(buf + p, lit[i], n) == 0)
					l = n;
			}
			if (!l) {
				bad = "not a JSON value";
				break;
			}
			p += l;
		}
		/* a value ended at p: what may follow it */
		for (;;) {
			p = mbj_skip_ws(buf, len, p);
			if (!depth) {
				if (p != len)
					bad = "trailing data after the JSON value";
				*at = p;
				return bad;
			}
			char open = stack[depth - 1];
			if (p < len && buf[p] == ',') {
				p = mbj_skip_ws(buf, len, p + 1);
				want_key = open == '{';
				break;
			}
			if (p < len && buf[p] == (open == '{' ? '}' : ']')) {
				depth--;
				p++;
				continue;
			}
			bad = open == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
			*at = p;
			return bad;
		}
	}
	*at = p;
	return bad;
}

/*
 * Parse exactly one JSON value from buf[0..len) (whitespace around it
 * allowed) into *out (which may be NULL for a JSON null). what names the
 * request in messages; echo allows a bounded prefix of the body in err.
 */
enum mbfs_status mbj_parse(const char *buf, size_t len,
			   const char *what, bool echo,
			   struct json_object **out, struct mbfs_err *err)
{
	*out = NULL;
	if (len > MB_JSON_MAX_BODY)
		return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
				    "%s: body of %zu bytes exceeds the %zu-byte limit",
				    what, len, MB_JSON_MAX_BODY);
	if (!buf || mbj_skip_ws(buf, len, 0) == len)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: empty body where JSON was expected", what);

	/* strictly JSON: list bodies are kept verbatim for metadata/ files
	 * (json-c alone accepts trailing commas, comments, single quotes,
	 * leading zeros) */
	size_t end = 0;
	const char *problem = strict_scan(buf, len, &end);
	struct json_object *obj = NULL;
	if (!problem) {
		struct json_tokener *tok = json_tokener_new_ex(MBJ_DEPTH);
		if (!tok)
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
					    "%s: out of memory", what);
		json_tokener_set_flags(tok, JSON_TOKENER_ALLOW_TRAILING_CHARS);
		obj = json_tokener_parse_ex(tok, buf, (int)len);
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		end = json_tokener_get_parse_end(tok);
		if (jerr == json_tokener_continue) {
			/* end of input: the terminating NUL completes bare
			 * numbers */
			obj = json_tokener_parse_ex(tok, "", 1);
			jerr = json_tokener_get_error(tok);
			end = len;
		}
		json_tokener_free(tok);
		if (jerr != json_tokener_success)
			problem = json_tokener_error_desc(jerr);
		else if (mbj_skip_ws(buf, len, end) != len)
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
	size_t p = mbj_skip_ws(buf, len, 0);
	size_t n = len - p < MBJ_BODY_ECHO ? len - p : MBJ_BODY_ECHO;
	n = utf8_cut(buf + p, n);
	return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
			    "%s: invalid JSON (%s near byte %zu of %zu); body starts: %.*s",
			    what, problem, end, len, (int)n, buf + p);
}

/* The body parsed but is not the shape asked for. */
enum mbfs_status mbj_shape_error(struct json_object *root, const char *what,
				 const char *expected, struct mbfs_err *err)
{
	char smsg[MBJ_SERVER_ECHO + 1];
	if (mbj_error_object(root, smsg, sizeof smsg))
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: server answered with an error: %s",
				    what, smsg);
	return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
			    "%s: expected %s, got %s", what, expected,
			    root ? json_type_to_name(json_object_get_type(root))
				 : "null");
}

enum mbfs_status mbj_nomem(const char *what, struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "%s: out of memory", what);
}

/*
 * Decode every element of arr with fn into a new array of elsz-byte
 * structs. fn returns false to skip an element (it must leave the element
 * freeable by clear). On allocation failure d->oom is set and everything
 * allocated is released.
 */
static void *decode_list(struct mbj_dec *d, struct json_object *arr, size_t elsz,
			 mbj_elem_fn fn, mbj_clear_fn clear, size_t *n_out)
{
	size_t n = mbj_len(arr), k = 0;
	*n_out = 0;
	if (n == 0)
		return NULL;
	char *v = mbj_calloc(d, n, elsz);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n && !d->oom; i++) {
		void *el = v + k * elsz;
		if (fn(d, mbj_idx(arr, i), el))
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

/*
 * Shared skeleton of single-object decoders: parse, check the object,
 * decode with fn, map failures. out is zeroed on failure.
 */
enum mbfs_status mbj_decode_one(const char *buf, size_t len,
				const char *what, mbj_elem_fn fn,
				mbj_clear_fn clear, void *out, size_t outsz,
				struct mbfs_err *err)
{
	struct json_object *root;
	struct mbj_dec d = {false};
	memset(out, 0, outsz);
	enum mbfs_status st = mbj_parse(buf, len, what, true, &root, err);
	if (st != MBFS_OK)
		return st;
	if (!mbj_is(root, json_type_object)) {
		st = mbj_shape_error(root, what, "a JSON object", err);
	} else if (!fn(&d, root, out)) {
		clear(out);
		if (mbj_error_object(root, NULL, 0))
			st = mbj_shape_error(root, what, "a JSON object", err);
		else
			st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
					  "%s: object has no usable id", what);
	} else if (d.oom) {
		clear(out);
		st = mbj_nomem(what, err);
	}
	json_object_put(root);
	return st;
}

/*
 * Shared skeleton of list decoders (bare array or {data:[...]}); stores
 * the array and count through v/n.
 */
enum mbfs_status mbj_decode_many(const char *buf, size_t len,
				 const char *what, size_t elsz, mbj_elem_fn fn,
				 mbj_clear_fn clear, void **v, size_t *n,
				 struct mbfs_err *err)
{
	struct json_object *root;
	struct mbj_dec d = {false};
	*v = NULL;
	*n = 0;
	enum mbfs_status st = mbj_parse(buf, len, what, true, &root, err);
	if (st != MBFS_OK)
		return st;
	struct json_object *arr = mbj_array_of(root);
	if (!arr) {
		st = mbj_shape_error(root, what, "a JSON array", err);
	} else {
		*v = decode_list(&d, arr, elsz, fn, clear, n);
		if (d.oom)
			st = mbj_nomem(what, err);
	}
	json_object_put(root);
	return st;
}

/* ------------------------------------------------------------------ */
/* Error bodies, quoting, version                                      */

/* The parsed body when it may be an error body (a JSON object within the
 * cap; the caller puts it), else NULL. */
static struct json_object *error_root(const char *buf, size_t len)
{
	struct json_object *root;
	if (!buf || len == 0 || len > MB_JSON_MAX_BODY)
		return NULL;
	/* cheap pre-check: only objects can be error bodies */
	size_t p = mbj_skip_ws(buf, len, 0);
	if (p == len || buf[p] != '{' ||
	    mbj_parse(buf, len, "error", false, &root, NULL) != MBFS_OK)
		return NULL;
	return root;
}

bool mb_json_inband_error(const char *buf, size_t len, char *msg,
			  size_t msgsz, bool *denied)
{
	if (msg && msgsz > 0)
		msg[0] = '\0';
	*denied = false;
	struct json_object *root = error_root(buf, len);
	bool is = root && mbj_error_object(root, msg, msgsz);
	/* error types (queries/): a query the user may not run */
	if (is)
		*denied = mbj_str_eq(mbj_get(root, "error_type"),
				     "missing-required-permissions");
	json_object_put(root);
	return is;
}

bool mb_json_error_message(const char *buf, size_t len, char *msg,
			   size_t msgsz)
{
	bool denied;
	return mb_json_inband_error(buf, len, msg, msgsz, &denied);
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

const char *mb_json_version(void)
{
	return json_c_version();
}

void *mbj_calloc(struct mbj_dec *d, size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		d->oom = true;
	return p;
}

struct json_object *mbj_new_array(struct mbj_dec *d)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		d->oom = true;
	return a;
}

/* Compact text of v (heap; NULL with d->oom on failure). */
char *mbj_to_text(struct mbj_dec *d, struct json_object *v)
{
	const char *s = json_object_to_json_string_ext(
		v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		d->oom = true;
		return NULL;
	}
	return mbj_dup_cstr(d, s);
}
