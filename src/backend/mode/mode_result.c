/*
 * mode_result.c — owns how a Mode query file gets its bytes (export_run
 * for MB_EXPORT_OBJECT "q:<report>:<query>", mode-api.md §11): the run
 * (the report's latest successful one, or with run_new one new run per
 * materialization, polled with backoff until it ends), the query run of
 * that query in it (matched by query_token), and its content, streamed
 * decoded into the sink with redirects followed. A report with no
 * successful run, a query without a query run, a failed query run or a
 * failed/cancelled run is MBFS_ERR_EXPORT with Mode's words. The query
 * runs of a successful run are final, so they are remembered (a bounded
 * ring): a run's other files skip GET …/query_runs. Blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mode_int.h"

static bool succeeded(const char *state)
{
	return state && (strcmp(state, "succeeded") == 0 ||
			 strcmp(state, "completed") == 0);
}

static bool terminal(const char *state)
{
	return succeeded(state) ||
	       (state && (strcmp(state, "failed") == 0 ||
			  strcmp(state, "cancelled") == 0));
}

/* The last path segment of a link (a run's token), if usable. */
static char *last_segment(const char *href)
{
	const char *s = href ? strrchr(href, '/') : NULL;
	return s && mode_token_ok(s + 1) ? strdup(s + 1) : NULL;
}

/* The report's latest successful run. */
static enum mbfs_status latest_run(struct mode *m, const char *report,
				   char **run, struct mbfs_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "/reports/%s", report);
	struct mode_item it;
	enum mbfs_status st = mode_get(m, path, "GET /reports/{report}", &it, err);
	if (st != MBFS_OK)
		return st;
	if (mode_token_ok(it.last_success_token))
		*run = strdup(it.last_success_token);
	else
		*run = last_segment(it.last_success_href);
	mode_item_free(&it);
	if (!*run)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 0,
				    "the report has no successful run");
	return MBFS_OK;
}

static bool aborted(const struct mb_export_req *r)
{
	return r->abort && atomic_load(r->abort);
}

/* Sleep d seconds, waking early when the export is abandoned. */
static bool nap(const struct mb_export_req *r, double d)
{
	mb_http_pause(r->abort, d);
	return !aborted(r);
}

/* The failed query runs' messages of a run, "; "-joined into msg. */
static void run_errors(struct mode *m, const char *report, const char *run,
		       char *msg, size_t msgsz)
{
	char path[200];
	snprintf(path, sizeof path, "/reports/%s/runs/%s/query_runs", report, run);
	struct mode_page p = {0};
	struct mbfs_err e;
	msg[0] = '\0';
	if (mode_list(m, path, "query_runs", false, &p, &e) == MBFS_OK)
		for (size_t i = 0; i < p.n; i++) {
			if (!p.v[i].error_message)
				continue;
			size_t l = strlen(msg);
			snprintf(msg + l, msgsz - l, "%s%s: %s", l ? "; " : "",
				 p.v[i].query_name ? p.v[i].query_name : "query",
				 p.v[i].error_message);
		}
	mode_page_free(&p);
}

/* -o mode_run=new: start one run (exactly one POST), wait for its end. */
static enum mbfs_status new_run(struct mode *m, const struct mb_export_req *r,
				const char *report, char **run,
				struct mbfs_err *err)
{
	char path[200];
	snprintf(path, sizeof path, "/reports/%s/runs", report);
	struct mb_http_req req = {0};
	req.body = "{\"parameters\":{}}";
	req.body_len = strlen(req.body);
	req.abort = r->abort;
	/* exactly one POST (mode_send never resends one) */
	enum mbfs_status st = mode_send(m, &req, "POST", path,
					"POST /reports/{report}/runs", err);
	struct mode_item it = {0};
	if (st == MBFS_OK)
		st = mode_json_object(req.resp, req.resp_len, "report run", &it,
				      err);
	mb_http_req_cleanup(&req);
	if (st != MBFS_OK)
		return st;
	atomic_fetch_add(&m->runs_created, 1);
	if (!mode_token_ok(it.token)) {
		mode_item_free(&it);
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "Mode's new run has no usable token");
	}
	*run = strdup(it.token);
	char *state = it.state ? strdup(it.state) : NULL;
	mode_item_free(&it);
	snprintf(path, sizeof path, "/reports/%s/runs/%s", report, *run);
	double delay = 0.2;
	while (st == MBFS_OK && !terminal(state)) {
		if (!nap(r, delay)) {
			st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					  "interrupted while the run was going");
			break;
		}
		delay = delay * 2 < 2.0 ? delay * 2 : 2.0;
		atomic_fetch_add(&m->polls, 1);
		st = mode_get(m, path, "GET /reports/{report}/runs/{run}", &it,
			      err);
		if (st == MBFS_OK) {
			free(state);
			state = it.state ? strdup(it.state) : strdup("");
			mode_item_free(&it);
		}
	}
	if (st == MBFS_OK && !succeeded(state)) {
		char why[400];
		run_errors(m, report, *run, why, sizeof why);
		st = mbfs_err_set(err, MBFS_ERR_EXPORT, 0,
				  "the report run %s ended %s%s%s", *run, state,
				  *why ? ": " : "", why);
	}
	free(state);
	return st;
}

/* The remembered query run of (run, query), as a new string, or NULL. */
static char *qr_recall(struct mode *m, const char *run, const char *query)
{
	char *qr = NULL;
	pthread_mutex_lock(&m->qr_lock);
	for (unsigned i = 0; i < MODE_QR_MEMORY && !qr; i++) {
		const struct mode_qr *e = &m->qrs[i];
		if (e->qr[0] && strcmp(e->run, run) == 0 &&
		    strcmp(e->query, query) == 0)
			qr = strdup(e->qr);
	}
	pthread_mutex_unlock(&m->qr_lock);
	if (qr)
		atomic_fetch_add(&m->qr_hits, 1);
	return qr;
}

/* Remember the succeeded query runs of run (a finished, successful report
 * run: its query runs are final), replacing the oldest. */
static void qr_remember(struct mode *m, const char *run,
			const struct mode_page *p)
{
	pthread_mutex_lock(&m->qr_lock);
	for (size_t i = 0; i < p->n; i++) {
		const struct mode_item *it = &p->v[i];
		if (!succeeded(it->state) || !mode_token_ok(it->token) ||
		    !mode_token_ok(it->query_token))
			continue;
		struct mode_qr *e = &m->qrs[m->qr_next++ % MODE_QR_MEMORY];
		snprintf(e->run, sizeof e->run, "%s", run);
		snprintf(e->query, sizeof e->query, "%s", it->query_token);
		snprintf(e->qr, sizeof e->qr, "%s", it->token);
	}
	pthread_mutex_unlock(&m->qr_lock);
}

/* The query run of query in run (a finished, successful report run): its
 * token (heap) if it succeeded. */
static enum mbfs_status query_run(struct mode *m, const char *report,
				  const char *run, const char *query,
				  char **qr, struct mbfs_err *err)
{
	*qr = qr_recall(m, run, query);
	if (*qr)
		return MBFS_OK;
	char path[200];
	snprintf(path, sizeof path, "/reports/%s/runs/%s/query_runs", report, run);
	struct mode_page p = {0};
	enum mbfs_status st = mode_list(m, path, "query_runs", false, &p, err);
	const struct mode_item *hit = NULL;
	for (size_t i = 0; st == MBFS_OK && i < p.n; i++)
		if (p.v[i].query_token && strcmp(p.v[i].query_token, query) == 0)
			hit = &p.v[i];
	if (st == MBFS_OK)
		qr_remember(m, run, &p);
	if (st == MBFS_OK && !hit)
		st = mbfs_err_set(err, MBFS_ERR_EXPORT, 0,
				  "the query has no result in run %s (added after the run?)",
				  run);
	else if (st == MBFS_OK && !succeeded(hit->state))
		st = mbfs_err_set(err, MBFS_ERR_EXPORT, 0,
				  "the query failed in run %s: %s", run,
				  hit->error_message ? hit->error_message
						     : hit->state ? hit->state
								  : "no state");
	else if (st == MBFS_OK && !mode_token_ok(hit->token))
		st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				  "the query run has no usable token");
	else if (st == MBFS_OK && !(*qr = strdup(hit->token)))
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	mode_page_free(&p);
	return st;
}

/* "q:<report>:<query>" into its two tokens. */
static bool parse_key(const char *key, char *report, char *query, size_t sz)
{
	const char *a = key && strncmp(key, "q:", 2) == 0 ? key + 2 : NULL;
	const char *b = a ? strchr(a, ':') : NULL;
	if (!b || (size_t)(b - a) >= sz || strlen(b + 1) >= sz)
		return false;
	snprintf(report, sz, "%.*s", (int)(b - a), a);
	snprintf(query, sz, "%s", b + 1);
	return mode_token_ok(report) && mode_token_ok(query);
}

enum mbfs_status mode_export_run(struct mb_client *c,
				 const struct mb_export_req *r,
				 mb_sink_fn sink, void *sink_arg,
				 struct mb_export_result *res,
				 struct mbfs_err *err)
{
	struct mode *m = mode_of(c);
	memset(res, 0, sizeof *res);
	char report[80], query[80];
	if (r->kind != MB_EXPORT_OBJECT || !parse_key(r->object, report, query,
						      sizeof report) ||
	    (strcmp(r->format, "csv") != 0 && strcmp(r->format, "json") != 0))
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "not a Mode query result");
	char *run = NULL, *qr = NULL;
	enum mbfs_status st = m->run_new ? new_run(m, r, report, &run, err)
					 : latest_run(m, report, &run, err);
	if (st == MBFS_OK)
		st = query_run(m, report, run, query, &qr, err);
	if (st == MBFS_OK) {
		char path[300];
		snprintf(path, sizeof path,
			 "/reports/%s/runs/%s/query_runs/%s/results/content.%s",
			 report, run, qr, r->format);
		struct mb_http_req req = {0};
		req.on_data = sink;
		req.data_arg = sink_arg;
		req.abort = r->abort;
		req.follow_redirects = true;
		req.decode_content = true;
		st = mode_send(m, &req, "GET", path, "GET …/results/content", err);
		st = mb_client_export_done(&req, st, "GET …/results/content",
					   res, err);
		mb_http_req_cleanup(&req);
	}
	free(run);
	free(qr);
	return st;
}
