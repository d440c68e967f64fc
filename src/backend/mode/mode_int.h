/*
 * mode_int.h — what the Mode backend's files share:
 *   mode_api.c     the client, Basic auth, requests, pages, errors, stats
 *   mode_tree.c    the `objects` op: the tree of DESIGN.md §10
 *   mode_result.c  export_run: which run, which query run, the content
 * Locks: qr_lock guards the query-run memory (a leaf: nothing is called
 * with it held); counters are atomic; everything else is set at
 * creation.
 */
#ifndef MBFS_MODE_INT_H
#define MBFS_MODE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mode.h"
#include "mode_json.h"

#define MODE_URL_MAX 2048
/* Query runs remembered (mode_result.c): at most this many. */
#define MODE_QR_MEMORY 256

struct mode {
	struct mb_client base;
	struct mb_http *http;
	char *api;                 /* <url>/api/<workspace> */
	char *origin;              /* scheme://host[:port] of url */
	char *auth;                /* "Authorization: Basic …" (secret) */
	bool run_new;
	int retries;
	double refusal_ttl;
	/* monotonic milliseconds of the last 401 (0: none since a success) */
	atomic_uint_fast64_t refused_ms;
	atomic_uint_fast64_t requests, bytes, runs_created, polls, auth_refused;
	/* The succeeded query runs of finished, successful report runs —
	 * which never change — so the other files of a run skip GET
	 * …/query_runs: (run, query) → query run, a ring (mode_result.c). */
	pthread_mutex_t qr_lock;
	struct mode_qr {
		char run[65], query[65], qr[65];
	} qrs[MODE_QR_MEMORY];
	unsigned qr_next;
	atomic_uint_fast64_t qr_hits;
};

static inline struct mode *mode_of(struct mb_client *c)
{
	return (struct mode *)c;
}

/* A token mbfs puts in paths and keys: [A-Za-z0-9_-], 1–64 bytes. */
bool mode_token_ok(const char *s);

/* GET or POST api + path (or an absolute URL of this server when path
 * starts with "http"), with the credential. On MBFS_OK the answer was
 * 2xx; the caller cleans req up in every case. req may carry a sink,
 * abort, redirect/decoding flags. Retries transient failures of a GET
 * (not after streamed bytes); a POST is sent exactly once. Blocks. */
enum mbfs_status mode_send(struct mode *m, struct mb_http_req *req,
			   const char *method, const char *path,
			   const char *what, struct mbfs_err *err);
/* Every page of a list (following _links.next_page on this server). */
enum mbfs_status mode_list(struct mode *m, const char *path,
			   const char *embedded, bool keep_json,
			   struct mode_page *out, struct mbfs_err *err);
/* One resource. */
enum mbfs_status mode_get(struct mode *m, const char *path, const char *what,
			  struct mode_item *out, struct mbfs_err *err);

/* mode_tree.c */
enum mbfs_status mode_objects(struct mb_client *c, const char *key,
			      struct mbfs_object_list *out,
			      struct mbfs_err *err);
/* mode_result.c */
enum mbfs_status mode_export_run(struct mb_client *c,
				 const struct mb_export_req *r,
				 mb_sink_fn sink, void *sink_arg,
				 struct mb_export_result *res,
				 struct mbfs_err *err);

#endif
