/*
 * mb_api.c — owns the mapping from client ops to Metabase endpoints: URLs,
 * request encodings (form-urlencoded exports, which every version reads),
 * the 401 → re-login → one retry rule (what a failed answer means is
 * mb_answer.c's table), and the per-endpoint request counters, and the version-dependent request
 * spellings, which it reads from the capability table (mb_caps.h):
 * legacy-mbql=true (v0.57+ only). See mb_api.h and mb_client.h.
 */
#include "mb_api.h"

#include <inttypes.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cancel.h"
#include "log.h"
#include "mb_answer.h"
#include "mb_json.h"
#include "mb_list.h"

#define URL_MAX 2048
#define META_MAX_RESP ((size_t)128 * 1024 * 1024)
#define MAX_ROUTES 32

#define ROUTE_STATUSES 8

struct route_stat {
	const char *route;         /* static string */
	uint64_t count;
	uint64_t bytes;
	struct {
		long status;       /* HTTP status, 0 = no answer */
		uint64_t count;
	} by_status[ROUTE_STATUSES];  /* the first 7 statuses seen, then "other" (-1) */
};

struct api {
	struct mb_client base;     /* must be first */
	char *url;
	struct mb_http *http;
	struct mb_auth *auth;
	struct mb_caps caps;       /* set once before concurrent use */
	int retries;
	pthread_mutex_t lock;      /* protects routes, rng */
	uint64_t rng;
	struct route_stat routes[MAX_ROUTES];
	int n_routes;
};

static struct api *api_of(struct mb_client *c)
{
	return (struct api *)c;
}

static void count_route(struct api *a, const char *route, uint64_t bytes,
			long status)
{
	pthread_mutex_lock(&a->lock);
	int i;
	for (i = 0; i < a->n_routes; i++)
		if (strcmp(a->routes[i].route, route) == 0)
			break;
	if (i == a->n_routes && a->n_routes < MAX_ROUTES)
		a->routes[a->n_routes++].route = route;
	if (i < a->n_routes) {
		struct route_stat *r = &a->routes[i];
		r->count++;
		r->bytes += bytes;
		int k;
		for (k = 0; k < ROUTE_STATUSES - 1; k++)
			if (r->by_status[k].count == 0 ||
			    r->by_status[k].status == status)
				break;
		if (k == ROUTE_STATUSES - 1)
			status = -1; /* more distinct statuses than slots */
		r->by_status[k].status = status;
		r->by_status[k].count++;
	}
	pthread_mutex_unlock(&a->lock);
}

/* Did snprintf's result n fit a buffer of sz bytes? A URL is never cut. */
static bool fits(int n, size_t sz)
{
	return n >= 0 && (size_t)n < sz;
}

static enum mbfs_status url_too_long(struct mbfs_err *err, const char *what)
{
	return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
			    "%.200s: the request URL would be longer than %d bytes",
			    what, URL_MAX - 1);
}

static bool is_unauthenticated(const struct mb_http_req *req)
{
	return req->status == 401;
}

static uint64_t next_rand(struct api *a)
{
	pthread_mutex_lock(&a->lock);
	a->rng ^= a->rng << 13;
	a->rng ^= a->rng >> 7;
	a->rng ^= a->rng << 17;
	uint64_t r = a->rng;
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* Sleep before retry n (0-based), as mb_http_retry_delay says, with this
 * client's jitter. Wakes early on abort. */
static void backoff(struct api *a, const struct mb_http_req *req, int n)
{
	double jitter = (double)(next_rand(a) % 1000) / 1000.0; /* 0..1 */
	double d = mb_http_retry_delay(req, n, jitter);
	mbfs_info("%s: transient failure (%s), retry %d in %.2f s", req->url,
		  req->status ? "HTTP status" : "connection", n + 1, d);
	mb_http_pause(req->abort, d);
}

/*
 * Send one request with the current credential; on 401 refresh once and
 * resend. `req` is prepared by the caller except for the auth header, which
 * goes into the first free header slot. On MBFS_OK the caller inspects
 * req->status (always 2xx then) and req->resp; it must call
 * mb_http_req_cleanup(req) in every case.
 */
static enum mbfs_status send_authed(struct api *a, struct mb_http_req *req,
				    const char *route, const char *what,
				    struct mbfs_err *err)
{
	int slot = 0;
	while (slot < MB_HTTP_MAX_HEADERS - 1 && req->headers[slot])
		slot++;
	/* A listing or list fetch runs as a job with a cancel token, fired
	 * when every request waiting for it is interrupted: then the
	 * transfer is aborted. */
	struct mbfs_cancel *cx = mbfs_cancel_current();
	if (!req->abort && cx)
		req->abort = &cx->fired;
	if (!a->auth) /* -o public: only public/ exists, which never gets here */
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "%s: mounted with -o public: no credentials",
				    what);
	char auth_hdr[MB_AUTH_SECRET_MAX + 32];
	int transient = 0;
	for (int attempt = 0;; attempt++) {
		uint64_t gen = 0;
		/* password auth without a session: log in first (single
		 * flight; a remembered refusal comes back at once) */
		enum mbfs_status st = mb_auth_login(a->auth, err);
		if (st == MBFS_OK)
			st = mb_auth_header(a->auth, auth_hdr, sizeof auth_hdr,
					    &gen, err);
		if (st != MBFS_OK)
			return st;
		req->headers[slot] = auth_hdr[0] ? auth_hdr : NULL;
		st = mb_http_perform(a->http, req, err);
		req->headers[slot] = NULL;
		memset(auth_hdr, 0, sizeof auth_hdr);
		count_route(a, route, req->bytes, req->status);
		if (mb_http_transient(req, st) && transient < a->retries) {
			backoff(a, req, transient++);
			attempt--; /* a transient failure does not use up the 401 retry */
			continue;
		}
		if (st != MBFS_OK)
			return st;
		if (is_unauthenticated(req) && attempt == 0) {
			mbfs_debug("%s: 401, refreshing credentials", what);
			st = mb_auth_refresh(a->auth, gen, err);
			if (st != MBFS_OK)
				return st;
			continue;
		}
		if (req->status < 200 || req->status >= 300)
			return mb_answer_failure(req, MB_ANSWER_REQUEST, what, err);
		return MBFS_OK;
	}
}

/* Make req (zeroed) a GET of the JSON document at url. */
static void json_request(struct mb_http_req *req, const char *url)
{
	memset(req, 0, sizeof *req);
	req->method = "GET";
	req->url = url;
	req->headers[0] = "Accept: application/json";
	req->max_resp = META_MAX_RESP;
}

/* st, unless the 2xx answer is an HTML page instead of the JSON asked for. */
static enum mbfs_status not_html(const struct mb_http_req *req,
				 enum mbfs_status st, const char *what,
				 struct mbfs_err *err)
{
	if (st == MBFS_OK && strncasecmp(req->content_type, "text/html", 9) == 0)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, (int)req->status,
				    "%s: the server sent an HTML page, not JSON (a proxy or login page?)",
				    what);
	return st;
}

/* GET a JSON document into req->resp. */
static enum mbfs_status get_json(struct api *a, const char *path,
				 const char *route, struct mb_http_req *req,
				 struct mbfs_err *err)
{
	char url[URL_MAX];
	int n = snprintf(url, sizeof url, "%s%s", a->url, path);
	/* zeroed on every path: the caller cleans req up */
	json_request(req, url);
	if (!fits(n, sizeof url))
		return url_too_long(err, path);
	enum mbfs_status st = send_authed(a, req, route, path, err);
	req->url = NULL;
	return not_html(req, st, path, err);
}

#define DEFINE_GET(fn, type, decoder, route)                                   \
	static enum mbfs_status fn(struct api *a, const char *path,            \
				   type *out, struct mbfs_err *err)            \
	{                                                                      \
		struct mb_http_req req;                                        \
		enum mbfs_status st = get_json(a, path, route, &req, err);     \
		if (st == MBFS_OK)                                             \
			st = decoder(req.resp, req.resp_len, out, err);        \
		mb_http_req_cleanup(&req);                                     \
		return st;                                                     \
	}

/* ---- ops ---------------------------------------------------------------- */

static enum mbfs_status op_properties(struct mb_client *c,
				      struct mb_properties *out,
				      struct mbfs_err *err)
{
	struct api *a = api_of(c);
	char url[URL_MAX];
	struct mb_http_req req;
	if (!fits(snprintf(url, sizeof url, "%s/api/session/properties", a->url),
		  sizeof url))
		return url_too_long(err, "/api/session/properties");
	json_request(&req, url);
	enum mbfs_status st = mb_http_perform(a->http, &req, err);
	count_route(a, "GET /api/session/properties", req.bytes, req.status);
	if (st == MBFS_OK && req.status != 200)
		st = mb_answer_failure(&req, MB_ANSWER_REQUEST,
				       "/api/session/properties", err);
	if (st == MBFS_OK)
		st = mb_json_properties(req.resp, req.resp_len, out, err);
	if (st == MBFS_ERR_PROTOCOL)
		mbfs_err_set(err, MBFS_ERR_PROTOCOL, (int)req.status,
			     "%s does not look like a Metabase server (GET /api/session/properties gave no Metabase answer)",
			     a->url);
	mb_http_req_cleanup(&req);
	return st;
}

DEFINE_GET(get_user, struct mb_user, mb_json_user, "GET /api/user/current")
static enum mbfs_status op_current_user(struct mb_client *c,
					struct mb_user *out,
					struct mbfs_err *err)
{
	return get_user(api_of(c), "/api/user/current", out, err);
}

DEFINE_GET(get_schemas, struct mb_string_list, mb_json_string_list,
	   "GET /api/database/:id/schemas")
static enum mbfs_status op_schemas(struct mb_client *c, int64_t db_id,
				   struct mb_string_list *out,
				   struct mbfs_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "/api/database/%" PRId64 "/schemas", db_id);
	return get_schemas(api_of(c), path, out, err);
}

DEFINE_GET(get_tables, struct mb_table_list, mb_json_table_list,
	   "GET /api/database/:id/schema/:schema")
static enum mbfs_status op_tables(struct mb_client *c, int64_t db_id,
				  const char *schema, struct mb_table_list *out,
				  struct mbfs_err *err)
{
	char *esc = mb_http_escape(schema);
	if (!esc)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	char path[URL_MAX / 2];
	int n = snprintf(path, sizeof path, "/api/database/%" PRId64 "/schema/%s",
			 db_id, esc);
	free(esc);
	if (!fits(n, sizeof path))
		return url_too_long(err, "/api/database/:id/schema/:schema");
	enum mbfs_status st = get_tables(api_of(c), path, out, err);
	if (st == MBFS_ERR_NOT_FOUND) { /* Metabase: an empty schema is a 404 */
		memset(out, 0, sizeof *out);
		mbfs_err_clear(err);
		st = MBFS_OK;
	}
	return st;
}

DEFINE_GET(get_dashboard, struct mb_dashboard, mb_json_dashboard,
	   "GET /api/dashboard/:id")
static enum mbfs_status op_dashboard(struct mb_client *c, int64_t id,
				     struct mb_dashboard *out,
				     struct mbfs_err *err)
{
	struct api *a = api_of(c);
	char path[128];
	snprintf(path, sizeof path, "/api/dashboard/%" PRId64 "%s", id,
		 a->caps.mbql5 ? "?legacy-mbql=true" : "");
	return get_dashboard(a, path, out, err);
}

/* The body of a list endpoint, undecoded (mb_list.c decodes it). */
static enum mbfs_status list_body(struct mb_client *c, enum mb_list which,
				  mb_sink_fn sink, void *sink_arg,
				  struct mbfs_err *err)
{
	static const struct {
		const char *path, *route;
	} lists[] = {
		[MB_LIST_CARDS] = {"/api/card?f=all", "GET /api/card"},
		[MB_LIST_COLLECTIONS] = {"/api/collection", "GET /api/collection"},
		[MB_LIST_DASHBOARDS] = {"/api/dashboard?f=all", "GET /api/dashboard"},
		[MB_LIST_DATABASES] = {"/api/database", "GET /api/database"},
		[MB_LIST_USERS] = {"/api/user", "GET /api/user"},
		[MB_LIST_SNIPPETS] = {"/api/native-query-snippet",
				      "GET /api/native-query-snippet"},
	};
	if ((size_t)which >= sizeof lists / sizeof lists[0])
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "unknown list");
	struct api *a = api_of(c);
	char url[URL_MAX];
	if (!fits(snprintf(url, sizeof url, "%s%s", a->url, lists[which].path),
		  sizeof url))
		return url_too_long(err, lists[which].path);
	struct mb_http_req req;
	json_request(&req, url);
	req.on_data = sink; /* a big card list is decoded as it arrives */
	req.data_arg = sink_arg;
	enum mbfs_status st = send_authed(a, &req, lists[which].route,
					  lists[which].path, err);
	st = not_html(&req, st, lists[which].path, err);
	mb_http_req_cleanup(&req);
	return st;
}

static enum mbfs_status op_list(struct mb_client *c, enum mb_list which,
			       void *out, char **array, size_t *array_len,
			       size_t *count, struct mbfs_err *err)
{
	return mb_list_decode(c, list_body, which, out, array, array_len,
			      count, err);
}

/* ---- exports ------------------------------------------------------------ */

/* Append "&key=<escaped value>" to a growing form body. */
static bool form_add(char **body, size_t *len, const char *key,
		     const char *value)
{
	char *esc = mb_http_escape(value);
	if (!esc)
		return false;
	size_t need = *len + strlen(key) + strlen(esc) + 3;
	char *n = realloc(*body, need);
	if (!n) {
		free(esc);
		return false;
	}
	*len += (size_t)sprintf(n + *len, "%s%s=%s", *len ? "&" : "", key, esc);
	*body = n;
	free(esc);
	return true;
}

static char *export_form(const struct mb_export_req *r, char *path,
			 size_t pathsz, const char **route)
{
	char *body = NULL;
	size_t len = 0;
	bool ok = true;
	char query[1024];
	switch (r->kind) {
	case MB_EXPORT_CARD:
		snprintf(path, pathsz, "/api/card/%" PRId64 "/query/%s", r->id,
			 r->format);
		*route = "POST /api/card/:id/query/:fmt";
		ok = form_add(&body, &len, "parameters",
			      r->parameters ? r->parameters : "[]");
		break;
	case MB_EXPORT_DASHCARD:
		snprintf(path, pathsz,
			 "/api/dashboard/%" PRId64 "/dashcard/%" PRId64
			 "/card/%" PRId64 "/query/%s",
			 r->dashboard_id, r->dashcard_id, r->id, r->format);
		*route = "POST /api/dashboard/:id/dashcard/:id/card/:id/query/:fmt";
		ok = form_add(&body, &len, "parameters",
			      r->parameters ? r->parameters : "[]");
		break;
	case MB_EXPORT_TABLE:
		snprintf(path, pathsz, "/api/dataset/%s", r->format);
		*route = "POST /api/dataset/:fmt";
		snprintf(query, sizeof query,
			 "{\"database\":%" PRId64 ",\"type\":\"query\","
			 "\"query\":{\"source-table\":%" PRId64 "}}",
			 r->db_id, r->id);
		ok = form_add(&body, &len, "query", query) &&
		     form_add(&body, &len, "visualization_settings", "{}");
		break;
	case MB_EXPORT_PUBLIC_CARD:
	case MB_EXPORT_PUBLIC_DASHCARD:
		break; /* public_export_run */
	case MB_EXPORT_OBJECT:
		break; /* not Metabase's: no path, refused below */
	case MB_EXPORT_NATIVE: {
		snprintf(path, pathsz, "/api/dataset/%s", r->format);
		*route = "POST /api/dataset/:fmt";
		char *sql = mb_json_quote(r->sql ? r->sql : "");
		char *q = sql ? malloc(strlen(sql) + 128) : NULL;
		if (q)
			sprintf(q,
				"{\"database\":%" PRId64 ",\"type\":\"native\","
				"\"native\":{\"query\":%s,\"template-tags\":{}}}",
				r->db_id, sql);
		ok = q && form_add(&body, &len, "query", q) &&
		     form_add(&body, &len, "visualization_settings", "{}");
		free(q);
		free(sql);
		break;
	}
	}
	if (ok)
		ok = form_add(&body, &len, "format_rows",
			      r->format_rows ? "true" : "false");
	if (!ok) {
		free(body);
		return NULL;
	}
	return body;
}

static enum mbfs_status public_export_run(struct api *a,
					  const struct mb_export_req *r,
					  mb_sink_fn sink, void *sink_arg,
					  struct mb_export_result *res,
					  struct mbfs_err *err);
static enum mbfs_status export_send(struct api *a, const char *url,
				    char *body, bool public, const char *route,
				    const char *what, const struct mb_export_req *r,
				    mb_sink_fn sink, void *sink_arg,
				    struct mb_export_result *res,
				    struct mbfs_err *err);

static enum mbfs_status op_export_run(struct mb_client *c,
				      const struct mb_export_req *r,
				      mb_sink_fn sink, void *sink_arg,
				      struct mb_export_result *res,
				      struct mbfs_err *err)
{
	struct api *a = api_of(c);
	char path[512] = "", url[URL_MAX];
	const char *route = "POST export";
	memset(res, 0, sizeof *res);
	if (r->kind == MB_EXPORT_PUBLIC_CARD ||
	    r->kind == MB_EXPORT_PUBLIC_DASHCARD)
		return public_export_run(a, r, sink, sink_arg, res, err);
	char *body = export_form(r, path, sizeof path, &route);
	if (!body)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	if (!path[0] ||
	    !fits(snprintf(url, sizeof url, "%s%s", a->url, path), sizeof url)) {
		free(body);
		return url_too_long(err, route);
	}
	return export_send(a, url, body, false, route, path, r, sink, sink_arg,
			   res, err);
}

/* ---- public links (DESIGN.md §1 "Public links") --------------------------
 * Requests under /api/public/ never carry a credential: no session or API
 * key header, no Authorization, no cookie (the transport has no cookie
 * engine). They go through send_public, which has no auth step at all, so
 * no code path can add one; a 401 is an answer like any other. */

static enum mbfs_status send_public(struct api *a, struct mb_http_req *req,
				    const char *route, const char *what,
				    struct mbfs_err *err)
{
	struct mbfs_cancel *cx = mbfs_cancel_current();
	if (!req->abort && cx)
		req->abort = &cx->fired;
	for (int transient = 0;; transient++) {
		enum mbfs_status st = mb_http_perform(a->http, req, err);
		count_route(a, route, req->bytes, req->status);
		if (mb_http_transient(req, st) && transient < a->retries) {
			backoff(a, req, transient);
			continue;
		}
		if (st != MBFS_OK)
			return st;
		if (req->status < 200 || req->status >= 300)
			return mb_answer_failure(req, MB_ANSWER_REQUEST, what, err);
		return MBFS_OK;
	}
}

DEFINE_GET(get_public_list, struct mb_public_list, mb_json_public_list,
	   "GET /api/:model/public")
static enum mbfs_status op_public_list(struct mb_client *c,
				       enum mb_public_kind which,
				       struct mb_public_list *out,
				       struct mbfs_err *err)
{
	return get_public_list(api_of(c),
			       which == MB_PUBLIC_CARDS ? "/api/card/public"
							: "/api/dashboard/public",
			       out, err);
}

static enum mbfs_status op_public_dashboard(struct mb_client *c,
					    const char *uuid,
					    struct mb_dashboard *out,
					    struct mbfs_err *err)
{
	struct api *a = api_of(c);
	memset(out, 0, sizeof *out);
	char *esc = mb_http_escape(uuid);
	if (!esc)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	char url[URL_MAX];
	int n = snprintf(url, sizeof url, "%s/api/public/dashboard/%s", a->url,
			 esc);
	free(esc);
	if (!fits(n, sizeof url))
		return url_too_long(err, "/api/public/dashboard/:uuid");
	struct mb_http_req req;
	json_request(&req, url);
	enum mbfs_status st = send_public(a, &req, "GET /api/public/dashboard/:uuid",
					  "/api/public/dashboard/:uuid", err);
	st = not_html(&req, st, "/api/public/dashboard/:uuid", err);
	if (st == MBFS_OK)
		st = mb_json_dashboard(req.resp, req.resp_len, out, err);
	mb_http_req_cleanup(&req);
	return st;
}

/* Send an export: a POST of the form body (owned, freed here) or, body
 * NULL, a GET; through send_public (no credential at all) or send_authed.
 * Its 2xx bytes go to sink; what names it in messages. */
static enum mbfs_status export_send(struct api *a, const char *url,
				    char *body, bool public, const char *route,
				    const char *what, const struct mb_export_req *r,
				    mb_sink_fn sink, void *sink_arg,
				    struct mb_export_result *res,
				    struct mbfs_err *err)
{
	struct mb_http_req req = {0};
	req.method = body ? "POST" : "GET";
	req.url = url;
	if (body) {
		req.headers[0] = "Content-Type: application/x-www-form-urlencoded";
		req.body = body;
		req.body_len = strlen(body);
	}
	req.on_data = sink;
	req.data_arg = sink_arg;
	req.abort = r->abort;
	enum mbfs_status st = public ? send_public(a, &req, route, what, err)
				     : send_authed(a, &req, route, what, err);
	st = mb_client_export_done(&req, st, what, res, err);
	mb_http_req_cleanup(&req);
	free(body);
	return st;
}

/* A public card (GET, options in the query string, which is where the
 * public route reads them) or a public dashcard (POST, form body with the
 * dashboard's defaults, v0.50+). */
static enum mbfs_status public_export_run(struct api *a,
					  const struct mb_export_req *r,
					  mb_sink_fn sink, void *sink_arg,
					  struct mb_export_result *res,
					  struct mbfs_err *err)
{
	bool card = r->kind == MB_EXPORT_PUBLIC_CARD;
	const char *route =
		card ? "GET /api/public/card/:uuid/query/:fmt"
		     : "POST /api/public/dashboard/:uuid/dashcard/:id/card/:id/:fmt";
	if (!card && !a->caps.public_dashcard_export)
		return mbfs_err_set(err, MBFS_ERR_HTTP, 0,
				    "Metabase %s has no download route for the cards of a public dashboard (POST /api/public/dashboard/:uuid/dashcard/:dashcard-id/card/:card-id/:export-format, newer versions); public/card/<uuid> files of shared cards work",
				    a->caps.version);
	char *uuid = mb_http_escape(r->uuid ? r->uuid : "");
	char *fmt = mb_http_escape(r->format ? r->format : "");
	char url[URL_MAX], path[512];
	char *body = NULL;
	size_t blen = 0;
	int n = -1;
	bool ok = uuid && fmt;
	if (ok && card)
		n = snprintf(path, sizeof path,
			     "/api/public/card/%s/query/%s?format_rows=%s", uuid,
			     fmt, r->format_rows ? "true" : "false");
	else if (ok)
		n = snprintf(path, sizeof path,
			     "/api/public/dashboard/%s/dashcard/%" PRId64
			     "/card/%" PRId64 "/%s",
			     uuid, r->dashcard_id, r->id, fmt);
	if (ok && !card)
		ok = form_add(&body, &blen, "parameters",
			      r->parameters ? r->parameters : "[]") &&
		     form_add(&body, &blen, "format_rows",
			      r->format_rows ? "true" : "false");
	free(uuid);
	free(fmt);
	if (!ok) {
		free(body);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	if (!fits(n, sizeof path) ||
	    !fits(snprintf(url, sizeof url, "%s%s", a->url, path), sizeof url)) {
		free(body);
		return url_too_long(err, route);
	}
	/* the message names the route, not the uuid (the link is the key) */
	return export_send(a, url, body, true, route, route, r, sink, sink_arg,
			   res, err);
}

static int op_describe_stats(struct mb_client *c, char *out, size_t outsz)
{
	struct api *a = api_of(c);
	size_t o = 0;
	if (outsz)
		out[0] = '\0'; /* also when no request was counted yet */
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->n_routes && o < outsz; i++) {
		int n = snprintf(out + o, outsz - o,
				 "request %-58s %8llu  %12llu bytes\n",
				 a->routes[i].route,
				 (unsigned long long)a->routes[i].count,
				 (unsigned long long)a->routes[i].bytes);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	pthread_mutex_unlock(&a->lock);
	if (o >= outsz)
		o = outsz ? outsz - 1 : 0;
	return (int)o;
}

static int op_describe_metrics(struct mb_client *c, char *out, size_t outsz)
{
	struct api *a = api_of(c);
	size_t o = 0;
	if (outsz)
		out[0] = '\0';
	int n = snprintf(out, outsz,
			 "# HELP mbfs_http_requests_total Requests sent to the server, by endpoint and HTTP status (0: no answer).\n"
			 "# TYPE mbfs_http_requests_total counter\n");
	if (n > 0)
		o = (size_t)n;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->n_routes && o < outsz; i++)
		for (int k = 0; k < ROUTE_STATUSES && o < outsz; k++) {
			if (!a->routes[i].by_status[k].count)
				continue;
			char st[24];
			long s = a->routes[i].by_status[k].status;
			if (s < 0)
				snprintf(st, sizeof st, "other");
			else
				snprintf(st, sizeof st, "%ld", s);
			n = snprintf(out + o, outsz - o,
				     "mbfs_http_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
				     a->routes[i].route, st,
				     (unsigned long long)a->routes[i].by_status[k].count);
			if (n > 0)
				o += (size_t)n;
		}
	n = o < outsz ? snprintf(out + o, outsz - o,
				 "# HELP mbfs_http_received_bytes_total Body bytes received, by endpoint.\n"
				 "# TYPE mbfs_http_received_bytes_total counter\n")
		      : 0;
	if (n > 0)
		o += (size_t)n;
	for (int i = 0; i < a->n_routes && o < outsz; i++) {
		n = snprintf(out + o, outsz - o,
			     "mbfs_http_received_bytes_total{endpoint=\"%s\"} %llu\n",
			     a->routes[i].route,
			     (unsigned long long)a->routes[i].bytes);
		if (n > 0)
			o += (size_t)n;
	}
	pthread_mutex_unlock(&a->lock);
	if (o < outsz && a->auth)
		o += (size_t)mb_auth_describe_metrics(a->auth, out + o,
						      outsz - o);
	if (o >= outsz)
		o = outsz ? outsz - 1 : 0;
	return (int)o;
}

static int op_describe_auth(struct mb_client *c, char *out, size_t outsz)
{
	struct api *a = api_of(c);
	if (outsz)
		out[0] = '\0';
	return a->auth ? mb_auth_describe(a->auth, out, outsz) : 0;
}

static void op_destroy(struct mb_client *c)
{
	struct api *a = api_of(c);
	pthread_mutex_destroy(&a->lock);
	free(a->url);
	free(a);
}

static const struct mb_client_ops api_ops = {
	.properties = op_properties,
	.current_user = op_current_user,
	.schemas = op_schemas,
	.tables = op_tables,
	.dashboard = op_dashboard,
	.list = op_list,
	.export_run = op_export_run,
	.inband_error = mb_json_inband_error,
	.params_xattr = mb_json_params_xattr,
	.param_request = mb_json_param_request,
	.public_list = op_public_list,
	.public_dashboard = op_public_dashboard,
	.describe_stats = op_describe_stats,
	.describe_metrics = op_describe_metrics,
	.describe_auth = op_describe_auth,
	.destroy = op_destroy,
};

struct mb_client *mb_api_new(const char *url, struct mb_http *http,
			     struct mb_auth *auth, int retries)
{
	struct api *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->base.ops = &api_ops;
	a->url = strdup(url);
	a->http = http;
	a->auth = auth;
	mb_caps_from_version(NULL, &a->caps);
	a->retries = retries < 0 ? 0 : retries;
	a->rng = (uint64_t)time(NULL) * 2654435761u + (uint64_t)(uintptr_t)a;
	if (!a->rng)
		a->rng = 1;
	pthread_mutex_init(&a->lock, NULL);
	return &a->base;
}

void mb_api_set_caps(struct mb_client *c, const struct mb_caps *caps)
{
	api_of(c)->caps = *caps;
}
