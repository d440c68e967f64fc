/*
 * mode_api.c — owns the Mode client's plumbing (mode_int.h): the client
 * struct and its ops table, the Basic credential header, sending a request
 * with transient retries, following a list's pages on this server only,
 * the meaning of a failed answer (one table), the counters of .mbfs/stats
 * and the mount-time check.
 */
#include "mode_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

bool mode_token_ok(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (n >= 64)
			return false;
	}
	return n > 0;
}

bool mode_workspace_ok(const char *ws)
{
	size_t n = 0;
	for (; ws && ws[n]; n++) {
		char c = ws[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
		if (n >= 128)
			return false;
	}
	return n > 0 && strcmp(ws, ".") != 0 && strcmp(ws, "..") != 0;
}

/* ---- the credential ------------------------------------------------------ */

static char *basic_header(const char *user, const char *pass)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char pre[] = "Authorization: Basic ";
	size_t lu = strlen(user), lp = strlen(pass), n = lu + 1 + lp;
	unsigned char *raw = malloc(n);
	char *out = malloc(sizeof pre + (n + 2) / 3 * 4);
	if (!raw || !out) {
		free(raw);
		free(out);
		return NULL;
	}
	memcpy(raw, user, lu);
	raw[lu] = ':';
	memcpy(raw + lu + 1, pass, lp);
	memcpy(out, pre, sizeof pre - 1);
	char *o = out + sizeof pre - 1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	explicit_bzero(raw, n);
	free(raw);
	return out;
}

/* ---- answers ------------------------------------------------------------- */

/* The one table of what a non-2xx Mode answer means (mode-api.md §10). */
static enum mbfs_status failure(struct mode *m, const struct mb_http_req *req,
				const char *what, struct mbfs_err *err)
{
	char msg[420] = "";
	if (!mode_json_error(req->resp, req->resp_len, msg, sizeof msg) &&
	    req->resp && req->resp_len && !strchr(req->resp, '<'))
		snprintf(msg, sizeof msg, "%.300s", req->resp);
	int hs = (int)req->status;
	switch (req->status) {
	case 401:
		atomic_fetch_add(&m->auth_refused, 1);
		return mbfs_err_set(err, MBFS_ERR_AUTH, hs,
				    "%s: Mode refused the API token and secret (HTTP 401%s%s)",
				    what, *msg ? ": " : "", msg);
	case 403:
		return mbfs_err_set(err, MBFS_ERR_DENIED, hs, "%s: %s", what,
				    *msg ? msg : "forbidden (HTTP 403)");
	case 404:
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, hs, "%s: %s", what,
				    *msg ? msg : "not found (HTTP 404)");
	default:
		return mbfs_err_set(err, MBFS_ERR_HTTP, hs, "%s: HTTP %d%s%s", what,
				    hs, *msg ? ": " : "", msg);
	}
}

/* The URL of path: relative to the API root, or a link's href (a path on
 * this server, or an absolute URL of this server: never another host). */
static bool url_of(const struct mode *m, const char *path, char *out,
		   size_t outsz)
{
	int n;
	size_t lo = strlen(m->origin);
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
		if (strncmp(path, m->origin, lo) != 0 || path[lo] != '/')
			return false;
		n = snprintf(out, outsz, "%s", path);
	} else if (strncmp(path, "/api/", 5) == 0) {
		n = snprintf(out, outsz, "%s%s", m->origin, path);
	} else {
		n = snprintf(out, outsz, "%s%s", m->api, path);
	}
	return n > 0 && (size_t)n < outsz;
}

enum mbfs_status mode_send(struct mode *m, struct mb_http_req *req,
			   const char *method, const char *path,
			   const char *what, struct mbfs_err *err)
{
	char url[MODE_URL_MAX];
	if (!url_of(m, path, url, sizeof url))
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "%s: a link to another server or too long (not followed)",
				    what);
	uint64_t refused = atomic_load(&m->refused_ms);
	double since = mbfs_mono_now() - (double)refused / 1000.0;
	if (refused && since < m->refusal_ttl)
		return mbfs_err_set(err, MBFS_ERR_AUTH, 401,
				    "%s: Mode refused the API token and secret %.0f s ago (not asked again for %g s)",
				    what, since, m->refusal_ttl);
	req->method = method;
	req->url = url;
	req->headers[0] = m->auth;
	req->headers[1] = "Accept: application/hal+json";
	if (req->body)
		req->headers[2] = "Content-Type: application/json";
	for (int attempt = 0;; attempt++) {
		enum mbfs_status st = mb_http_perform(m->http, req, err);
		atomic_fetch_add(&m->requests, 1);
		atomic_fetch_add(&m->bytes, req->bytes);
		/* a POST is never resent: it would start a second run */
		if (mb_http_transient(req, st) && attempt < m->retries &&
		    strcmp(method, "POST") != 0) {
			double d = mb_http_retry_delay(req, attempt, 0.5);
			mbfs_info("%s: transient failure (%s), retry %d in %.2f s",
				  what, req->status ? "HTTP status" : "connection",
				  attempt + 1, d);
			mb_http_pause(req->abort, d);
			mb_http_req_cleanup(req);
			req->url = url;
			continue;
		}
		req->url = NULL; /* url is ours: nothing may keep it */
		if (st != MBFS_OK)
			return st;
		if (req->status == 401)
			atomic_store(&m->refused_ms,
				     (uint64_t)(mbfs_mono_now() * 1000.0) | 1u);
		else if (req->status < 400)
			atomic_store(&m->refused_ms, 0);
		if (req->status < 200 || req->status >= 300)
			return failure(m, req, what, err);
		return MBFS_OK;
	}
}

enum mbfs_status mode_get(struct mode *m, const char *path, const char *what,
			  struct mode_item *out, struct mbfs_err *err)
{
	struct mb_http_req req = {0};
	enum mbfs_status st = mode_send(m, &req, "GET", path, what, err);
	if (st == MBFS_OK)
		st = mode_json_object(req.resp, req.resp_len, what, out, err);
	mb_http_req_cleanup(&req);
	return st;
}

#define MODE_PAGES_MAX 10000

enum mbfs_status mode_list(struct mode *m, const char *path,
			   const char *embedded, bool keep_json,
			   struct mode_page *out, struct mbfs_err *err)
{
	char *cur = strdup(path);
	enum mbfs_status st = cur ? MBFS_OK : mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
							   "out of memory");
	for (int page = 0; st == MBFS_OK; page++) {
		if (page >= MODE_PAGES_MAX) {
			st = mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
					  "%s: more than %d pages", path,
					  MODE_PAGES_MAX);
			break;
		}
		struct mb_http_req req = {0};
		st = mode_send(m, &req, "GET", cur, path, err);
		if (st == MBFS_OK)
			st = mode_json_page(req.resp, req.resp_len, embedded,
					    keep_json, out, err);
		mb_http_req_cleanup(&req);
		if (st != MBFS_OK || !out->next)
			break;
		if (strcmp(out->next, cur) == 0) { /* a page naming itself */
			st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
					  "%s: next_page points at the same page",
					  path);
			break;
		}
		free(cur);
		cur = out->next;
		out->next = NULL;
	}
	free(cur);
	return st;
}

/* ---- stats, lifecycle ---------------------------------------------------- */

static int op_describe_stats(struct mb_client *c, char *out, size_t outsz)
{
	struct mode *m = mode_of(c);
	int n = snprintf(out, outsz,
			 "mode_requests %" PRIu64 "\nmode_bytes %" PRIu64
			 "\nmode_runs_created %" PRIu64
			 "\nmode_run_polls %" PRIu64
			 "\nmode_auth_refused %" PRIu64
			 "\nmode_query_runs_remembered %" PRIu64 "\n",
			 (uint64_t)atomic_load(&m->requests),
			 (uint64_t)atomic_load(&m->bytes),
			 (uint64_t)atomic_load(&m->runs_created),
			 (uint64_t)atomic_load(&m->polls),
			 (uint64_t)atomic_load(&m->auth_refused),
			 (uint64_t)atomic_load(&m->qr_hits));
	if (n < 0)
		return 0;
	return (size_t)n < outsz ? n : (int)(outsz ? outsz - 1 : 0);
}

static int op_describe_metrics(struct mb_client *c, char *out, size_t outsz)
{
	struct mode *m = mode_of(c);
	int n = snprintf(out, outsz,
			 "# HELP mbfs_mode_requests_total Requests sent to Mode.\n"
			 "# TYPE mbfs_mode_requests_total counter\n"
			 "mbfs_mode_requests_total %" PRIu64 "\n"
			 "# HELP mbfs_mode_runs_created_total Report runs started (-o mode_run=new).\n"
			 "# TYPE mbfs_mode_runs_created_total counter\n"
			 "mbfs_mode_runs_created_total %" PRIu64 "\n",
			 (uint64_t)atomic_load(&m->requests),
			 (uint64_t)atomic_load(&m->runs_created));
	if (n < 0)
		return 0;
	return (size_t)n < outsz ? n : (int)(outsz ? outsz - 1 : 0);
}

static void op_destroy(struct mb_client *c)
{
	struct mode *m = mode_of(c);
	if (!m)
		return;
	if (m->auth)
		explicit_bzero(m->auth, strlen(m->auth));
	free(m->auth);
	free(m->api);
	free(m->origin);
	pthread_mutex_destroy(&m->qr_lock);
	free(m);
}

static const struct mb_client_ops mode_ops = {
	.export_run = mode_export_run,
	.objects = mode_objects,
	.describe_stats = op_describe_stats,
	.describe_metrics = op_describe_metrics,
	.destroy = op_destroy,
};

/* scheme://host[:port] of url (new string). */
static char *origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return NULL;
	const char *end = strchr(p + 3, '/');
	return end ? strndup(url, (size_t)(end - url)) : strdup(url);
}

struct mb_client *mode_client_new(const struct mode_config *cfg,
				  struct mb_http *http)
{
	if (!mode_workspace_ok(cfg->workspace) || !cfg->token || !cfg->secret)
		return NULL;
	struct mode *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->base.ops = &mode_ops;
	pthread_mutex_init(&m->qr_lock, NULL);
	m->http = http;
	m->run_new = cfg->run_new;
	m->retries = cfg->retries;
	m->refusal_ttl = cfg->refusal_ttl;
	size_t n = strlen(cfg->url) + strlen(cfg->workspace) + 8;
	m->api = malloc(n);
	if (m->api)
		snprintf(m->api, n, "%s/api/%s", cfg->url, cfg->workspace);
	m->origin = origin_of(cfg->url);
	m->auth = basic_header(cfg->token, cfg->secret);
	if (!m->api || !m->origin || !m->auth) {
		op_destroy(&m->base);
		return NULL;
	}
	return &m->base;
}

enum mbfs_status mode_client_check(struct mb_client *c, struct mbfs_err *err)
{
	struct mode *m = mode_of(c);
	struct mb_http_req req = {0};
	enum mbfs_status st = mode_send(m, &req, "GET", "/data_sources",
					"GET /api/{workspace}/data_sources", err);
	if (st == MBFS_OK) {
		struct mode_page p = {0};
		st = mode_json_page(req.resp, req.resp_len, "data_sources",
				    false, &p, err);
		mode_page_free(&p);
	}
	mb_http_req_cleanup(&req);
	return st;
}
