/*
 * mode_json.h — decoding Mode's HAL+JSON answers (../shared/mode-api.md
 * §3–§10) into plain C: list pages (`_embedded.<key>` and
 * `_links.next_page`), single objects, error bodies. The only Mode file
 * that sees json-c is json_mode.c, which implements this.
 *
 * Server text is hostile: every string is a bounded heap copy and may hold
 * any bytes; callers escape before use. Memory: mode_item and mode_page
 * own their strings; free with mode_item_free / mode_page_free (zeroed
 * structs allowed). Pure and reentrant; nothing blocks.
 */
#ifndef MBFS_MODE_JSON_H
#define MBFS_MODE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Items per list the decoder accepts in total (all pages), and the
 * bytes of their kept JSON text. */
#define MODE_ITEMS_MAX 100000
#define MODE_JSON_TEXT_MAX (64u << 20)

/* The fields mbfs reads of any Mode resource (absent: NULL / 0 / -1). */
struct mode_item {
	char *token, *name, *description, *updated_at;
	int64_t id;
	char *raw_query;           /* queries: the SQL */
	char *state;               /* report runs and query runs */
	char *query_token;         /* query runs: whose result */
	char *query_name;          /* query runs */
	char *error_message;       /* query runs that failed */
	char *last_success_token;  /* reports: last_successful_run_token */
	char *last_success_href;   /* reports: _links.last_successful_run */
	/* data sources (xattrs user.mode.*) */
	char *adapter, *host, *database, *web;
	int queryable, asleep;     /* -1 when absent */
};

struct mode_page {
	struct mode_item *v;
	size_t n, cap;
	char *next;                /* _links.next_page.href of the last page
				      decoded, or NULL */
	/* the raw items, each as compact JSON, ',' between them (metadata/
	 * files), when asked for */
	char *json;
	size_t json_len;
};

/* Append the items of one list page (`_embedded.<embedded>`; a missing
 * _embedded or key is an empty page) to out; out->next becomes this
 * page's next_page href. keep_json: also append the items' text. */
enum mbfs_status mode_json_page(const char *body, size_t len,
				const char *embedded, bool keep_json,
				struct mode_page *out, struct mbfs_err *err);
/* One resource. */
enum mbfs_status mode_json_object(const char *body, size_t len,
				  const char *what, struct mode_item *out,
				  struct mbfs_err *err);
/* The message of an error body {"id":…, "message":…} into msg; false
 * when the body is not one. */
bool mode_json_error(const char *body, size_t len, char *msg, size_t msgsz);

void mode_item_free(struct mode_item *it);
void mode_page_free(struct mode_page *p);

#endif
