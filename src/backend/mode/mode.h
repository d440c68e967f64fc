/*
 * mode.h — the Mode backend (DESIGN.md §10, ../shared/mode-api.md): a
 * struct mb_client that describes a Mode workspace by objects
 * (objects.h) and serves a query's result as an MB_EXPORT_OBJECT export.
 *
 * The tree it describes:
 *   data_sources/<name>.json   GET /data_sources/{token}, byte for byte
 *   collections/<space>/<report>/<query>.csv|.json|.sql
 *   reports/<report token>/…   the same report directories by token
 *   metadata/{data_sources,collections,reports}.json
 * Keys: "D" "C" "R" "M" (the fixed directories), "s:<space>",
 * "r:<report>" (in a collection), "R:<report>" (under reports/: a second
 * directory node, the kernel allows one parent per directory),
 * "q:<report>:<query>" (a query: its data files and .sql), "ds:<token>".
 *
 * A result is the latest successful run's (or, with run_new, a new run's)
 * query run content, fetched decoded, redirects followed.
 *
 * Credentials: HTTP Basic with the API token and secret on every
 * request; there is no session, so a 401 is MBFS_ERR_AUTH at once, never
 * a retry. The Authorization header is kept in memory only and wiped on
 * destroy; it never reaches a log or a message.
 *
 * Threads: every op may run on any thread; counters are atomic. Blocking:
 * every op blocks on the network (mb_http_perform); a run_new export
 * polls the run with backoff, abandoning it when req->abort fires.
 */
#ifndef MBFS_MODE_H
#define MBFS_MODE_H

#include <stdbool.h>

#include "mb_client.h"
#include "mb_http.h"
#include "status.h"

struct mode_config {
	const char *url;           /* https://app.mode.com, no trailing slash */
	const char *workspace;     /* the workspace's username */
	const char *token;         /* API token (Basic user name) */
	const char *secret;        /* API secret (Basic password) */
	bool run_new;              /* -o mode_run=new */
	int retries;               /* transient failures (5xx, 429, reset) */
	/* After a 401, answer MBFS_ERR_AUTH without asking for this many
	 * seconds (the mount's error_ttl): a revoked token costs one request
	 * per refusal_ttl, never a loop. */
	double refusal_ttl;
};

/* The client (NULL when out of memory or a bad workspace name). Copies
 * what it needs of cfg; borrows http. */
struct mb_client *mode_client_new(const struct mode_config *cfg,
				  struct mb_http *http);

/* The mount-time check: the credentials and the workspace answer
 * (GET /api/{workspace}/data_sources). AUTH for refused credentials,
 * NOT_FOUND for an unknown workspace. Blocks. */
enum mbfs_status mode_client_check(struct mb_client *c, struct mbfs_err *err);

/* A workspace name mbfs accepts (letters, digits, '-', '_', '.'). */
bool mode_workspace_ok(const char *ws);

#endif
