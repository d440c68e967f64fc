/*
 * mb_json.h — decoding of Metabase API bodies into mb_types.h structs.
 *
 * Implemented by json.c (parsing, error bodies, quoting), json_entities.c
 * (objects), json_stream.c (list bodies) and json_params.c (parameters,
 * public links): the only files in mbfs that include json-c. Every decoder
 * takes a body that is NOT necessarily NUL-terminated (buf,len), tolerates
 * both the old and the new shapes documented in metabase-api.md (bare arrays
 * vs {data,total} envelopes, `type` vs `dataset`, MBQL 4 vs MBQL 5,
 * `dashcards` vs `ordered_cards`, timestamps with or without offsets), and
 * ignores unknown keys. On failure it returns MBFS_ERR_PROTOCOL with a short
 * message in err (never echoing more than a bounded prefix of the body) and
 * leaves *out zeroed. On success the caller owns *out and frees it with the
 * matching *_free() from mb_types.h.
 *
 * Caps: bodies over MB_JSON_MAX_BODY are refused (MBFS_ERR_TOO_BIG).
 * Thread safety: all functions are reentrant; none blocks.
 */
#ifndef MBFS_MB_JSON_H
#define MBFS_MB_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "mb_types.h"
#include "status.h"

#define MB_JSON_MAX_BODY ((size_t)256 * 1024 * 1024)

/* POST /api/session → {"id": "..."}: copies the id into out (NUL-terminated). */
enum mbfs_status mb_json_session_id(const char *buf, size_t len, char *out,
				    size_t outsz, struct mbfs_err *err);

/* GET /api/session/properties */
enum mbfs_status mb_json_properties(const char *buf, size_t len,
				    struct mb_properties *out,
				    struct mbfs_err *err);

/* GET /api/user/current. (The lists of GET /api/user, /api/card,
 * /api/collection, /api/dashboard and /api/database are decoded as they
 * arrive: mb_json_stream below.) */
enum mbfs_status mb_json_user(const char *buf, size_t len, struct mb_user *out,
			      struct mbfs_err *err);

/* GET /api/database/:id/schemas → array of strings (null → ""). */
enum mbfs_status mb_json_string_list(const char *buf, size_t len,
				     struct mb_string_list *out,
				     struct mbfs_err *err);

/* GET /api/database/:id/schema/:schema (array of tables). */
enum mbfs_status mb_json_table_list(const char *buf, size_t len,
				    struct mb_table_list *out,
				    struct mbfs_err *err);

/* GET /api/dashboard/:id and /api/public/dashboard/:uuid (full object). */
enum mbfs_status mb_json_dashboard(const char *buf, size_t len,
				   struct mb_dashboard *out,
				   struct mbfs_err *err);

/*
 * Is this body a Metabase error object? True for a JSON object carrying any
 * of: "status":"failed", "error", "errors", "_status", "via", "cause",
 * "message" with "error_code". When true, writes the most useful message
 * (error, then errors.* values joined, then message, then cause) into msg
 * (truncated, NUL-terminated). Never true for a JSON array or a non-object.
 */
bool mb_json_error_message(const char *buf, size_t len, char *msg,
			   size_t msgsz);

/* An export's in-band failure (the mbfs_verify_inband_fn of both
 * Metabase clients): mb_json_error_message, and *denied when its
 * error_type is "missing-required-permissions" (a query the user may not
 * run: native SQL without native permission, reported in-band by older
 * servers). One parse. */
bool mb_json_inband_error(const char *buf, size_t len, char *msg,
			  size_t msgsz, bool *denied);

/*
 * The array of a list body, as text: a bare array is copied verbatim
 * (surrounding whitespace trimmed); a {"data":[...]} envelope gives its data
 * array re-serialized compactly. *out is a new NUL-terminated heap string
 * (caller frees), *count the number of elements. Not an array or an
 * envelope → MBFS_ERR_PROTOCOL.
 */
enum mbfs_status mb_json_list_array(const char *buf, size_t len, char **out,
				    size_t *outlen, size_t *count,
				    struct mbfs_err *err);

/*
 * Incremental decoding of a list body as it arrives, one element of the
 * top-level array at a time, so memory stays bounded by the largest
 * element plus the decoded structs (a {"data":[...]} envelope is collected
 * and decoded at the end). With keep_text, the body's bytes are kept too
 * (the list's array as text, see mb_json_list_array).
 *   feed: false once the body is malformed (stop feeding);
 *   finish: the decoded list into *out (a struct mb_card_list,
 *     mb_collection_list, mb_dashboard_list, mb_database_list or
 *     mb_user_list, matching kind; zeroed by the caller), the array text
 *     (heap, caller frees; NULL unless keep_text) and its element count.
 * Not thread-safe (one stream per transfer); never blocks.
 */
enum mb_json_list_kind {
	MB_JSON_LIST_CARDS,
	MB_JSON_LIST_COLLECTIONS,
	MB_JSON_LIST_DASHBOARDS,
	MB_JSON_LIST_DATABASES,
	MB_JSON_LIST_USERS,
};
struct mb_json_stream;
struct mb_json_stream *mb_json_stream_new(enum mb_json_list_kind kind,
					  bool keep_text);
bool mb_json_stream_feed(struct mb_json_stream *s, const char *buf,
			 size_t len);
enum mbfs_status mb_json_stream_finish(struct mb_json_stream *s, void *out,
				       char **text, size_t *text_len,
				       size_t *count, struct mbfs_err *err);
void mb_json_stream_free(struct mb_json_stream *s);

/* Quote s as a JSON string literal into a new heap string ("\"...\""). */
char *mb_json_quote(const char *s);

/* The version of the JSON library, for --version. */
const char *mb_json_version(void);

/* ---- parameters and public links (DESIGN.md §1) ---------------------- */

/* user.mb.parameters of a file whose normalized definitions (mb_card /
 * mb_dashcard param_defs) are defs: [{"slug","name","type","default"}]
 * (default null when there is none). Heap string; NULL when defs is
 * NULL or unreadable, or out of memory. */
char *mb_json_params_xattr(const char *defs);

/*
 * The export's `parameters` (a JSON array, heap, in *out) for a file
 * whose definitions are defs, read with the values args (by slug) — what
 * Metabase's UI sends:
 *  - a card: every parameter, {"id","type","value","target"}, given ones
 *    with their values and the others with their defaults (those
 *    without a default are left out);
 *  - a dashcard (dashcard = true): base (the dashboard's defaults, the
 *    array a plain dashcard export sends) with each given filter's entry
 *    replaced by {"id","type","value"} (added when base has none); the
 *    dashboard's parameter_mappings then target the card.
 * A value is a list of strings, except for date and temporal-unit types
 * given one value: that string (the UI's own form of a range, a month...).
 * MBFS_ERR_NOT_FOUND when a slug of args is not one of defs'.
 */
enum mbfs_status mb_json_param_request(const char *defs, const char *base,
				       const struct mb_param_args *args,
				       bool dashcard, char **out,
				       struct mbfs_err *err);

/* GET /api/card/public, GET /api/dashboard/public: [{id,name,public_uuid}]
 * (rows without a uuid are skipped). */
enum mbfs_status mb_json_public_list(const char *buf, size_t len,
				     struct mb_public_list *out,
				     struct mbfs_err *err);

#endif
