/*
 * mb_client.h — a backend as the filesystem sees it: an ops struct, so
 * tests can swap the real HTTP client (mb_api.c) for a fake, and a second
 * backend (backend/mode/) can stand where Metabase stands. The Metabase
 * ops are Metabase-shaped; a backend that is not Metabase sets `objects`
 * instead (objects.h) and the core builds its tree from that alone.
 *
 * Every call returns an enum mbfs_status and fills err on failure with the
 * server's message (404 → NOT_FOUND, 403 → DENIED, refused credentials →
 * AUTH, ...). A 401 Unauthenticated is handled inside the client: one
 * re-login (single flight, see mb_auth.h) and one retry.
 *
 * Blocking: every call blocks the calling thread until the answer is
 * complete (the transfer itself runs on the transport's I/O thread).
 * Memory: decoded outputs belong to the caller (free with mb_types.h).
 * Thread safety: all ops may be called concurrently from any thread.
 */
#ifndef MBFS_MB_CLIENT_H
#define MBFS_MB_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_types.h"
#include "objects.h"
#include "status.h"

enum mb_export_kind {
	MB_EXPORT_CARD,        /* POST /api/card/:id/query/:fmt */
	MB_EXPORT_TABLE,       /* POST /api/dataset/:fmt with source-table */
	MB_EXPORT_DASHCARD,    /* POST /api/dashboard/:d/dashcard/:dc/card/:c/query/:fmt */
	MB_EXPORT_NATIVE,      /* POST /api/dataset/:fmt with native SQL */
	/* Public links: sent without any credential (DESIGN.md §1). */
	MB_EXPORT_PUBLIC_CARD, /* GET /api/public/card/:uuid/query/:fmt */
	/* POST /api/public/dashboard/:uuid/dashcard/:dc/card/:c/:fmt */
	MB_EXPORT_PUBLIC_DASHCARD,
	/* A backend described by objects (objects.h): `object` is the data
	 * file's key, `format` one of the formats it listed. */
	MB_EXPORT_OBJECT,
};

/* List endpoints whose bodies mbfs also shows as they are (metadata/). */
enum mb_list {
	MB_LIST_CARDS,         /* GET /api/card?f=all */
	MB_LIST_COLLECTIONS,   /* GET /api/collection */
	MB_LIST_DASHBOARDS,    /* GET /api/dashboard?f=all */
	MB_LIST_DATABASES,     /* GET /api/database */
	MB_LIST_USERS,         /* GET /api/user (admins only; 403 otherwise) */
	MB_LIST_SNIPPETS,      /* GET /api/native-query-snippet */
};

/* Admin lists of the objects shared by public link. */
enum mb_public_kind {
	MB_PUBLIC_CARDS,       /* GET /api/card/public */
	MB_PUBLIC_DASHBOARDS,  /* GET /api/dashboard/public */
};

struct mb_export_req {
	enum mb_export_kind kind;
	int64_t id;                /* card id (CARD, DASHCARD) or table id */
	int64_t db_id;             /* TABLE, NATIVE */
	int64_t dashboard_id;      /* DASHCARD */
	int64_t dashcard_id;       /* DASHCARD */
	const char *format;        /* "csv", "json", "xlsx" */
	const char *parameters;    /* JSON array text, or NULL for none */
	const char *sql;           /* NATIVE */
	const char *uuid;          /* PUBLIC_*: the public link's uuid */
	const char *object;        /* OBJECT: the backend's key */
	/* How logs, .mbfs/stats and .mbfs/errors name this result (not sent;
	 * NULL: the result key). */
	const char *label;
	bool format_rows;
	/* When set and true, the transfer is abandoned (checked at least once
	 * a second, also while waiting for the first byte). */
	const atomic_bool *abort;
};

/* What an export's HTTP answer looked like (filled even on failure). */
struct mb_export_result {
	long http_status;
	char content_type[128];
	bool close_delimited;      /* only the connection's close ended the
				      body (see mb_http.h): its format must
				      prove it complete */
	uint64_t bytes;            /* body bytes handed to the sink */
	double elapsed;            /* seconds */
};

/* Receives body bytes of a 2xx export answer, on the I/O thread, in order.
 * Return false to abort the transfer (→ MBFS_ERR_INTERRUPTED). */
typedef bool (*mb_sink_fn)(void *arg, const char *buf, size_t len);

struct mb_client;

struct mb_client_ops {
	enum mbfs_status (*properties)(struct mb_client *c,
				       struct mb_properties *out,
				       struct mbfs_err *err);
	enum mbfs_status (*current_user)(struct mb_client *c,
					 struct mb_user *out,
					 struct mbfs_err *err);
	enum mbfs_status (*schemas)(struct mb_client *c, int64_t db_id,
				    struct mb_string_list *out,
				    struct mbfs_err *err);
	/* An empty schema (404 from the server) is an empty list, not an error. */
	enum mbfs_status (*tables)(struct mb_client *c, int64_t db_id,
				   const char *schema, struct mb_table_list *out,
				   struct mbfs_err *err);
	enum mbfs_status (*dashboard)(struct mb_client *c, int64_t id,
				      struct mb_dashboard *out,
				      struct mbfs_err *err);
	/* A list endpoint's objects, decoded as the body arrives, into out
	 * (zeroed by the caller): the mb_types.h list of which — struct
	 * mb_card_list, mb_collection_list, mb_dashboard_list,
	 * mb_database_list or mb_user_list; MB_LIST_SNIPPETS has no decoded
	 * form (out unused). With array non-NULL (required for SNIPPETS)
	 * also the list's JSON array as text: *array (heap, caller frees),
	 * *array_len and *count, its element count. A body that is not such
	 * a list is MBFS_ERR_PROTOCOL. (mb_list.c implements it for both
	 * Metabase clients.) */
	enum mbfs_status (*list)(struct mb_client *c, enum mb_list which,
				 void *out, char **array, size_t *array_len,
				 size_t *count, struct mbfs_err *err);
	/* Run an export, streaming a 2xx body into sink. Returns MBFS_OK when
	 * the server answered 2xx and the transfer completed cleanly; the
	 * caller still validates the bytes (verify.h), with inband_error. */
	enum mbfs_status (*export_run)(struct mb_client *c,
				       const struct mb_export_req *req,
				       mb_sink_fn sink, void *sink_arg,
				       struct mb_export_result *res,
				       struct mbfs_err *err);
	/* Public links (may be NULL in test clients). public_list is an
	 * authenticated admin request (403 for others); public_dashboard
	 * (GET /api/public/dashboard/:uuid) carries no credential at all. */
	enum mbfs_status (*public_list)(struct mb_client *c,
					enum mb_public_kind which,
					struct mb_public_list *out,
					struct mbfs_err *err);
	enum mbfs_status (*public_dashboard)(struct mb_client *c,
					     const char *uuid,
					     struct mb_dashboard *out,
					     struct mbfs_err *err);
	/* A backend that describes its tree by objects (objects.h; Mode)
	 * sets this: what the root (key NULL) or the directory with key
	 * contains. Then the core asks for nothing Metabase-shaped: the ops
	 * above may be NULL, except export_run (MB_EXPORT_OBJECT requests),
	 * describe_stats and destroy. Blocks. */
	enum mbfs_status (*objects)(struct mb_client *c, const char *key,
				    struct mbfs_object_list *out,
				    struct mbfs_err *err);
	/* What an error object the server sends in a 2xx export body
	 * (instead of rows or after them) looks like (verify.h); NULL when
	 * the backend has no such form. Pure, never blocks. */
	bool (*inband_error)(const char *buf, size_t len, char *msg,
			     size_t msgsz, bool *denied);
	/* Parameters in file names (DESIGN.md §1; NULL when the backend has
	 * none). defs and base are what a listing put on the node (its
	 * normalized parameter definitions, the export's default
	 * `parameters`). params_xattr: user.mb.parameters (heap; NULL when
	 * defs is unreadable or out of memory). param_request: the export's
	 * `parameters` for the values args (heap, in *out; NOT_FOUND for a
	 * name defs does not have). Pure, never block. */
	char *(*params_xattr)(const char *defs);
	enum mbfs_status (*param_request)(const char *defs, const char *base,
					  const struct mb_param_args *args,
					  bool dashcard, char **out,
					  struct mbfs_err *err);
	/* Counters for .mbfs/stats, as text (no secrets). */
	int (*describe_stats)(struct mb_client *c, char *out, size_t outsz);
	/* The same in the Prometheus text format (may be NULL). */
	int (*describe_metrics)(struct mb_client *c, char *out, size_t outsz);
	/* "auth ...\n" lines for .mbfs/status: how this mount proves who it
	 * is, logins, session age (no secrets; may be NULL). */
	int (*describe_auth)(struct mb_client *c, char *out, size_t outsz);
	void (*destroy)(struct mb_client *c);
};

struct mb_client {
	const struct mb_client_ops *ops;
};

/* For export_run implementations (client.c): fill res from a finished
 * transfer and say what it means. A 2xx body the connection cut short is
 * MBFS_ERR_EXPORT ("WHAT: the server cut the export after N bytes"); a
 * stall keeps its own words (DESIGN §2 rule 8); anything else is st. */
struct mb_http_req;
enum mbfs_status mb_client_export_done(const struct mb_http_req *req,
				       enum mbfs_status st, const char *what,
				       struct mb_export_result *res,
				       struct mbfs_err *err);

#endif
