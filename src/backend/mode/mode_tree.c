/*
 * mode_tree.c — owns what each directory of a Mode mount contains (the
 * `objects` op, DESIGN.md §10): the fixed directories, data sources (each
 * file the bytes of its GET, with its xattrs), collections (spaces),
 * their reports, the reports by token, a report's queries (data files and
 * .sql) and metadata/. Objects whose token mbfs cannot put in a path are
 * skipped with a warning. Blocks on the network.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "mb_http.h"
#include "mode_int.h"

static enum mbfs_status oom(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
}

/* A new object with key "<prefix><token>" (NULL: out of memory). */
static struct mbfs_object *add(struct mbfs_object_list *l,
			       enum mbfs_object_type type, const char *prefix,
			       const char *token)
{
	struct mbfs_object *o = mbfs_object_add(l);
	if (!o)
		return NULL;
	o->type = type;
	size_t n = strlen(prefix) + strlen(token) + 1;
	if (!(o->key = malloc(n))) {
		l->n--;
		return NULL;
	}
	snprintf(o->key, n, "%s%s", prefix, token);
	return o;
}

/* Copy name, description, updated_at and id of it into o. */
static bool describe(struct mbfs_object *o, const struct mode_item *it)
{
	o->id = it->id;
	o->name = mbfs_dup0(it->name ? it->name : it->token);
	o->description = mbfs_dup0(it->description);
	o->updated_at = mbfs_dup0(it->updated_at);
	return o->name && (!it->description || o->description) &&
	       (!it->updated_at || o->updated_at);
}

static bool usable(const struct mode_item *it, const char *what)
{
	if (mode_token_ok(it->token))
		return true;
	mbfs_warn("Mode %s %" PRId64 " has no usable token: not shown", what,
		  it->id);
	return false;
}

static enum mbfs_status root(struct mbfs_object_list *out,
			     struct mbfs_err *err)
{
	static const struct {
		const char *key, *name;
	} dirs[] = {{"D", "data_sources"},
		    {"C", "collections"},
		    {"R", "reports"},
		    {"M", "metadata"}};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		struct mbfs_object *o = add(out, MBFS_OBJ_DIR, dirs[i].key, "");
		if (!o)
			return oom(err);
		o->fixed = dirs[i].name;
	}
	return MBFS_OK;
}

static bool xa(char **x, const char *name, const char *v)
{
	return !v || mbfs_object_xattr_add(x, name, v);
}

static bool xa_bool(char **x, const char *name, int v)
{
	return v < 0 || mbfs_object_xattr_add(x, name, v ? "true" : "false");
}

/* A link as a whole URL: a path is on the server's origin. */
static bool xa_link(const struct mode *m, char **x, const char *name,
		    const char *href)
{
	if (!href)
		return true;
	if (href[0] != '/')
		return mbfs_object_xattr_add(x, name, href);
	size_t n = strlen(m->origin) + strlen(href) + 1;
	char *u = malloc(n);
	if (!u)
		return false;
	snprintf(u, n, "%s%s", m->origin, href);
	bool ok = mbfs_object_xattr_add(x, name, u);
	free(u);
	return ok;
}

/* data_sources/: one file per data source, its bytes those of GET
 * /data_sources/{token} (the list's items may be abbreviated). */
static enum mbfs_status data_sources(struct mode *m,
				     struct mbfs_object_list *out,
				     struct mbfs_err *err)
{
	struct mode_page p = {0};
	enum mbfs_status st = mode_list(m, "/data_sources", "data_sources",
					false, &p, err);
	for (size_t i = 0; st == MBFS_OK && i < p.n; i++) {
		const struct mode_item *it = &p.v[i];
		if (!usable(it, "data source"))
			continue;
		char path[128];
		snprintf(path, sizeof path, "/data_sources/%s", it->token);
		struct mb_http_req req = {0};
		st = mode_send(m, &req, "GET", path, "GET /data_sources/{token}",
			       err);
		if (st == MBFS_ERR_NOT_FOUND || st == MBFS_ERR_DENIED) {
			/* gone (or hidden) since the list: not shown */
			mbfs_warn("data source %s: %s", it->token, err->msg);
			mb_http_req_cleanup(&req);
			st = MBFS_OK;
			continue;
		}
		struct mode_item full = {0};
		if (st == MBFS_OK)
			st = mode_json_object(req.resp, req.resp_len,
					      "data source", &full, err);
		if (st == MBFS_OK && memchr(req.resp, 0, req.resp_len))
			st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
					  "data source %s: a NUL byte in its JSON",
					  it->token);
		struct mbfs_object *o = st == MBFS_OK
			? add(out, MBFS_OBJ_TEXT, "ds:", it->token) : NULL;
		if (st == MBFS_OK && !o)
			st = oom(err);
		if (o) {
			o->ext = ".json";
			o->text = req.resp; /* the bytes as they came */
			req.resp = NULL;
			if (!describe(o, full.name ? &full : it) ||
			    !xa(&o->xattrs, "user.mode.token", it->token) ||
			    !xa(&o->xattrs, "user.mode.adapter", full.adapter) ||
			    !xa(&o->xattrs, "user.mode.host", full.host) ||
			    !xa(&o->xattrs, "user.mode.database", full.database) ||
			    !xa_bool(&o->xattrs, "user.mode.queryable",
				     full.queryable) ||
			    !xa_bool(&o->xattrs, "user.mode.asleep", full.asleep) ||
			    !xa_link(m, &o->xattrs, "user.mode.url", full.web))
				st = oom(err);
		}
		mode_item_free(&full);
		mb_http_req_cleanup(&req);
	}
	mode_page_free(&p);
	return st;
}

static enum mbfs_status spaces(struct mode *m, struct mbfs_object_list *out,
			       struct mbfs_err *err)
{
	struct mode_page p = {0};
	enum mbfs_status st = mode_list(m, "/spaces", "spaces", false, &p, err);
	for (size_t i = 0; st == MBFS_OK && i < p.n; i++) {
		if (!usable(&p.v[i], "collection"))
			continue;
		struct mbfs_object *o = add(out, MBFS_OBJ_DIR, "s:", p.v[i].token);
		if (!o || !describe(o, &p.v[i]) ||
		    !xa(&o->xattrs, "user.mode.token", p.v[i].token))
			st = oom(err);
	}
	mode_page_free(&p);
	return st;
}

static enum mbfs_status reports_of(struct mode *m, const char *space,
				   struct mode_page *p, bool keep_json,
				   struct mbfs_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "/spaces/%s/reports", space);
	return mode_list(m, path, "reports", keep_json, p, err);
}

static enum mbfs_status add_reports(const struct mode_page *p,
				    const char *prefix, bool by_token,
				    struct mbfs_object_list *out,
				    struct mbfs_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct mode_item *it = &p->v[i];
		if (!usable(it, "report"))
			continue;
		struct mbfs_object *o = add(out, MBFS_OBJ_DIR, prefix, it->token);
		if (!o || !describe(o, it) ||
		    !xa(&o->xattrs, "user.mode.token", it->token))
			return oom(err);
		if (by_token) { /* reports/<token>/ */
			free(o->name);
			if (!(o->name = strdup(it->token)))
				return oom(err);
		}
	}
	return MBFS_OK;
}

/* The reports of every collection in sp into out; a collection that is
 * gone or hidden since the list (404/403) is skipped. */
static enum mbfs_status reports_of_all(struct mode *m,
				       const struct mode_page *sp,
				       struct mode_page *out, bool keep_json,
				       struct mbfs_err *err)
{
	enum mbfs_status st = MBFS_OK;
	for (size_t i = 0; st == MBFS_OK && i < sp->n; i++) {
		if (!mode_token_ok(sp->v[i].token))
			continue;
		st = reports_of(m, sp->v[i].token, out, keep_json, err);
		if (st == MBFS_ERR_NOT_FOUND || st == MBFS_ERR_DENIED) {
			mbfs_warn("collection %s: %s", sp->v[i].token, err->msg);
			st = MBFS_OK;
		}
	}
	return st;
}

/* Every report of every collection the token sees (reports/). */
static enum mbfs_status all_reports(struct mode *m, struct mode_page *out,
				    struct mbfs_err *err)
{
	struct mode_page sp = {0};
	enum mbfs_status st = mode_list(m, "/spaces", "spaces", false, &sp, err);
	if (st == MBFS_OK)
		st = reports_of_all(m, &sp, out, false, err);
	mode_page_free(&sp);
	return st;
}

static enum mbfs_status queries(struct mode *m, const char *report,
				struct mbfs_object_list *out,
				struct mbfs_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "/reports/%s/queries", report);
	struct mode_page p = {0};
	enum mbfs_status st = mode_list(m, path, "queries", false, &p, err);
	for (size_t i = 0; st == MBFS_OK && i < p.n; i++) {
		const struct mode_item *it = &p.v[i];
		if (!usable(it, "query"))
			continue;
		char prefix[80];
		snprintf(prefix, sizeof prefix, "q:%s:", report);
		struct mbfs_object *o = add(out, MBFS_OBJ_DATA, prefix, it->token);
		if (!o || !describe(o, it) ||
		    !xa(&o->xattrs, "user.mode.token", it->token) ||
		    !xa(&o->xattrs, "user.mode.report", report))
			st = oom(err);
		else {
			o->formats = MBFS_OBJ_CSV | MBFS_OBJ_JSON;
			if (it->raw_query && !(o->sql = strdup(it->raw_query)))
				st = oom(err);
		}
	}
	mode_page_free(&p);
	return st;
}

/* metadata/<name>.json: the items of a list, as a JSON array. */
static enum mbfs_status add_array(struct mbfs_object_list *out,
				  const char *name, const struct mode_page *p,
				  struct mbfs_err *err)
{
	struct mbfs_object *o = add(out, MBFS_OBJ_TEXT, "m:", name);
	if (!o)
		return oom(err);
	o->fixed = name;
	o->ext = ".json";
	size_t n = p->json_len + 4;
	if (!(o->text = malloc(n)))
		return oom(err);
	snprintf(o->text, n, "[%s]\n", p->json ? p->json : "");
	return MBFS_OK;
}

static enum mbfs_status metadata(struct mode *m, struct mbfs_object_list *out,
				 struct mbfs_err *err)
{
	struct mode_page ds = {0}, sp = {0}, rp = {0};
	enum mbfs_status st = mode_list(m, "/data_sources", "data_sources",
					true, &ds, err);
	if (st == MBFS_OK)
		st = mode_list(m, "/spaces", "spaces", true, &sp, err);
	if (st == MBFS_OK)
		st = reports_of_all(m, &sp, &rp, true, err);
	if (st == MBFS_OK)
		st = add_array(out, "data_sources", &ds, err);
	if (st == MBFS_OK)
		st = add_array(out, "collections", &sp, err);
	if (st == MBFS_OK)
		st = add_array(out, "reports", &rp, err);
	mode_page_free(&ds);
	mode_page_free(&sp);
	mode_page_free(&rp);
	return st;
}

enum mbfs_status mode_objects(struct mb_client *c, const char *key,
			      struct mbfs_object_list *out,
			      struct mbfs_err *err)
{
	struct mode *m = mode_of(c);
	enum mbfs_status st;
	if (!key)
		st = root(out, err);
	else if (strcmp(key, "D") == 0)
		st = data_sources(m, out, err);
	else if (strcmp(key, "C") == 0)
		st = spaces(m, out, err);
	else if (strcmp(key, "M") == 0)
		st = metadata(m, out, err);
	else if (strcmp(key, "R") == 0) {
		struct mode_page p = {0};
		st = all_reports(m, &p, err);
		if (st == MBFS_OK)
			st = add_reports(&p, "R:", true, out, err);
		mode_page_free(&p);
	} else if (strncmp(key, "s:", 2) == 0 && mode_token_ok(key + 2)) {
		struct mode_page p = {0};
		st = reports_of(m, key + 2, &p, false, err);
		if (st == MBFS_OK)
			st = add_reports(&p, "r:", false, out, err);
		mode_page_free(&p);
	} else if ((strncmp(key, "r:", 2) == 0 || strncmp(key, "R:", 2) == 0) &&
		   mode_token_ok(key + 2))
		st = queries(m, key + 2, out, err);
	else
		st = mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	if (st != MBFS_OK)
		mbfs_object_list_free(out);
	return st;
}
