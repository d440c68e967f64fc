/*
 * json_internal.h — what the JSON decoders (json.c, json_entities.c,
 * json_stream.c, json_params.c) share; no other file includes it. It
 * names json-c's struct json_object without including json-c: only the
 * json*.c files do. The public contract is mb_json.h.
 *
 * Ownership: strings returned by the mbj_* helpers are heap copies the
 * caller owns; json_object pointers are borrowed from the parsed root
 * unless a function says otherwise. All functions are reentrant and never
 * block.
 */
#ifndef MBFS_JSON_INTERNAL_H
#define MBFS_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_json.h"
#include "mb_types.h"
#include "status.h"

struct json_object;

/* Decoding context: records allocation failure so helpers stay simple. */
struct mbj_dec {
	bool oom;
};

/* Decode o into the element at out; false skips it (out must stay
 * freeable by the matching clear). */
typedef bool (*mbj_elem_fn)(struct mbj_dec *d, struct json_object *o, void *out);
typedef void (*mbj_clear_fn)(void *el);

/* How to decode the elements of one kind of list. */
struct mbj_list_desc {
	const char *what;          /* "card list": names it in messages */
	size_t elsz;
	mbj_elem_fn fn;
	mbj_clear_fn clear;
};

/* ---- json.c: text ----------------------------------------------------- */

bool mbj_is_ws(char c);
size_t mbj_skip_ws(const char *buf, size_t len, size_t p);
/* Copy of s (new string; NULL with d->oom on failure). */
char *mbj_dup_cstr(struct mbj_dec *d, const char *s);
/* calloc, and json-c's new array; NULL with d->oom on failure. */
void *mbj_calloc(struct mbj_dec *d, size_t n, size_t size);
struct json_object *mbj_new_array(struct mbj_dec *d);

/* ---- json.c: typed access (NULL and wrong types give the default) ------ */

/* Is v of json-c type t (an enum json_type)? */
bool mbj_is(struct json_object *v, int t);
/* Value of key in o; NULL when absent, null, or o is not an object. */
struct json_object *mbj_get(struct json_object *o, const char *key);
/* Is key present in o (even with a null value)? */
bool mbj_has(struct json_object *o, const char *key);
size_t mbj_len(struct json_object *a);
struct json_object *mbj_idx(struct json_object *a, size_t i);
bool mbj_str_eq(struct json_object *v, const char *s);
/* String contents (bytes, length) or NULL for non-strings. */
const char *mbj_sval(struct json_object *v, size_t *n);
/* Copy of a string value; NULL for anything else. */
char *mbj_tstr(struct mbj_dec *d, struct json_object *v);
/* Copy of a string value, or the text of a number; NULL otherwise. */
char *mbj_str(struct mbj_dec *d, struct json_object *v);
/* An id: integers, integral doubles, decimal strings; "root" is 0. */
bool mbj_id(struct json_object *v, int64_t *out);
/* Is o an object with a usable "id" (into *id)? Elements without one are
 * skipped, single objects without one refused. */
bool mbj_object_id(struct json_object *o, int64_t *id);
/* An id where "none" is 0. */
int64_t mbj_id0(struct json_object *v);
/* An integer (number or decimal string), else dflt. */
int64_t mbj_int(struct json_object *v, int64_t dflt);
/* A boolean; also numbers and "true"/"false" strings; else dflt. */
bool mbj_bool(struct json_object *v, bool dflt);
/* First string value among keys of o (NULL-terminated), copied. */
char *mbj_first_tstr(struct mbj_dec *d, struct json_object *o,
		     const char *const *keys);
/* The list inside a body: a bare array, or an envelope's "data" array. */
struct json_object *mbj_array_of(struct json_object *root);
/* Compact text of v (heap; NULL with d->oom on failure). */
char *mbj_to_text(struct mbj_dec *d, struct json_object *v);

/* ---- json.c: bodies --------------------------------------------------- */

/* Parse exactly one JSON value (strict, whitespace around it allowed)
 * from buf[0..len) into *out (the caller puts it); what names the body in
 * messages, echo allows a bounded prefix of it there. */
enum mbfs_status mbj_parse(const char *buf, size_t len, const char *what,
			   bool echo, struct json_object **out,
			   struct mbfs_err *err);
/* Is o a Metabase error object? If so and msg is given, fill msg. */
bool mbj_error_object(struct json_object *o, char *msg, size_t msgsz);
/* The body parsed but is not the shape asked for (the server's error
 * text when it is an error object). */
enum mbfs_status mbj_shape_error(struct json_object *root, const char *what,
				 const char *expected, struct mbfs_err *err);
enum mbfs_status mbj_nomem(const char *what, struct mbfs_err *err);
/* One object into out (outsz bytes, zeroed on failure) with fn. */
enum mbfs_status mbj_decode_one(const char *buf, size_t len, const char *what,
				mbj_elem_fn fn, mbj_clear_fn clear, void *out,
				size_t outsz, struct mbfs_err *err);
/* A list body (bare array or {data:[...]}) into a new array *v of *n
 * elsz-byte elements. */
enum mbfs_status mbj_decode_many(const char *buf, size_t len,
				 const char *what, size_t elsz,
				 mbj_elem_fn fn, mbj_clear_fn clear, void **v,
				 size_t *n, struct mbfs_err *err);

/* ---- json_entities.c ---------------------------------------------------- */

/* The element decoder of a list kind; NULL for an unknown kind. */
const struct mbj_list_desc *mbj_list_desc(enum mb_json_list_kind kind);

/* ---- json_params.c ------------------------------------------------------ */

/* The normalized parameter definitions of a card object, or of the
 * dashcard dc (of card card_id) given its dashboard's parameters; NULL
 * when there are none (or with d->oom). */
char *mbj_card_param_defs(struct mbj_dec *d, struct json_object *card);
char *mbj_dashcard_param_defs(struct mbj_dec *d, struct json_object *dash_params,
			      struct json_object *dc, int64_t card_id);

#endif
