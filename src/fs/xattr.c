/*
 * xattr.c — owns the extended attributes of the mount (user.mb.*): which
 * ones each kind of node has, their values (server text escaped, bounded),
 * and the Metabase URL rules of user.mb.url. Never blocks: results are
 * peeked, not fetched. See fs.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "queries.h"

#define XATTR_VALUE_MAX (64 * 1024)

#define XATTRS_MAX 24

struct xattrs {
	const char *names[XATTRS_MAX];
	char *values[XATTRS_MAX];
	char *owned[XATTRS_MAX];   /* names copied from a node (backend's) */
	int n;
};

static void xa_add(struct xattrs *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xa_add(struct xattrs *x, const char *name, const char *fmt, ...)
{
	if (x->n >= XATTRS_MAX)
		return;
	/* Values hold server text (names, descriptions, messages): the
	 * whole text, control characters escaped (status.h), never cut
	 * inside an escape or a UTF-8 character; at most XATTR_VALUE_MAX. */
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	char *text = mbfs_vformat(small, sizeof small, fmt, ap);
	va_end(ap);
	if (!text)
		return;
	size_t len = strlen(text);
	size_t cap = len * 6 + 1 < XATTR_VALUE_MAX ? len * 6 + 1 : XATTR_VALUE_MAX;
	char *val = malloc(cap);
	if (val) {
		mbfs_escape_text(text, val, cap);
		x->names[x->n] = name;
		x->values[x->n++] = val;
	}
	if (text != small)
		free(text);
}

static void xa_free(struct xattrs *x)
{
	for (int i = 0; i < x->n; i++) {
		free(x->values[i]);
		free(x->owned[i]);
	}
}

/* A backend's own attributes ("name\tvalue\n" lines, objects.h): names
 * outside user.* and malformed lines are skipped. */
static void add_backend_xattrs(struct xattrs *x, const char *lines)
{
	for (const char *p = lines; p && *p && x->n < XATTRS_MAX;) {
		const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
		if (!nl)
			break;
		if (tab && tab < nl && tab - p > 5 && strncmp(p, "user.", 5) == 0) {
			char *name = strndup(p, (size_t)(tab - p));
			char *val = strndup(tab + 1, (size_t)(nl - tab - 1));
			int before = x->n;
			if (name && val)
				xa_add(x, name, "%s", val);
			if (x->n > before)
				x->owned[before] = name;
			else
				free(name);
			free(val);
		}
		p = nl + 1;
	}
}

void fs_iso_time(double t, char *out, size_t outsz)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A card's kind as Metabase names it: in the URL of its page, and as
 * user.mb.model. */
static const char *card_word(enum mb_model m, bool page)
{
	if (m == MB_MODEL_DATASET)
		return page ? "model" : "dataset";
	if (m == MB_MODEL_METRIC)
		return "metric";
	return page ? "question" : "card";
}

static const char *model_of(const struct mbfs_node *n)
{
	switch (n->kind) {
	case MBFS_K_CARD_FILE:
	case MBFS_K_DASHCARD_FILE:
	case MBFS_K_SQL_FILE: return card_word(n->model, false);
	case MBFS_K_COLLECTION: return "collection";
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID: return "dashboard";
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID: return "tab";
	case MBFS_K_DATABASE: return "database";
	case MBFS_K_SCHEMA: return "schema";
	case MBFS_K_TABLE_FILE: return "table";
	case MBFS_K_METADATA_FILE: return "metadata";
	case MBFS_K_QUERY_DB: return "database";
	case MBFS_K_QUERY_SQL:
	case MBFS_K_QUERY_FILE: return "query";
	case MBFS_K_PARAM_FILE:
	case MBFS_K_PUBLIC_CARD_FILE:
	case MBFS_K_PUBLIC_DASHCARD_FILE: return card_word(n->model, false);
	case MBFS_K_PUBLIC_DASHBOARD: return "dashboard";
	default: return NULL;
	}
}

/* Percent-encode s (RFC 3986 unreserved characters kept) into out. */
static void url_escape(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			    *p == '_' || *p == '~';
		if (o + (keep ? 1 : 3) >= outsz)
			break;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* user.mb.url: the page of the object in Metabase (the API endpoint for
 * metadata/ files). Lock held. */
static void add_url(struct xattrs *x, const char *url, const struct mbfs_node *n)
{
	char esc[512];
	switch (n->kind) {
	case MBFS_K_ROOT:
		xa_add(x, "user.mb.url", "%s/", url);
		break;
	case MBFS_K_COLLECTION:
		if (n->id == 0)
			xa_add(x, "user.mb.url", "%s/collection/root", url);
		else
			xa_add(x, "user.mb.url", "%s/collection/%" PRId64, url, n->id);
		break;
	case MBFS_K_PERSONAL_DIR:
		xa_add(x, "user.mb.url", "%s/collection/users", url);
		break;
	case MBFS_K_CARDS_DIR:
		xa_add(x, "user.mb.url", "%s/search?type=card", url);
		break;
	case MBFS_K_DASHBOARDS_DIR:
		xa_add(x, "user.mb.url", "%s/search?type=dashboard", url);
		break;
	case MBFS_K_DATABASES_DIR:
		xa_add(x, "user.mb.url", "%s/browse/databases", url);
		break;
	case MBFS_K_CARD_FILE:
	case MBFS_K_SQL_FILE:
		xa_add(x, "user.mb.url", "%s/%s/%" PRId64, url,
		       card_word(n->model, true), n->id);
		break;
	case MBFS_K_DASHCARD_FILE:
		xa_add(x, "user.mb.url", "%s/%s/%" PRId64, url,
		       card_word(n->model, true), n->card_id);
		break;
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
		xa_add(x, "user.mb.url", "%s/dashboard/%" PRId64, url, n->id);
		break;
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID:
		xa_add(x, "user.mb.url", "%s/dashboard/%" PRId64 "?tab=%" PRId64,
		       url, n->dashboard_id, n->id);
		break;
	case MBFS_K_DATABASE:
	case MBFS_K_QUERY_DB:
		xa_add(x, "user.mb.url", "%s/browse/databases/%" PRId64, url, n->id);
		break;
	case MBFS_K_SCHEMA:
		url_escape(n->schema ? n->schema : "", esc, sizeof esc);
		xa_add(x, "user.mb.url", "%s/browse/databases/%" PRId64 "/schema/%s",
		       url, n->db_id, esc);
		break;
	case MBFS_K_TABLE_FILE:
		xa_add(x, "user.mb.url",
		       "%s/reference/databases/%" PRId64 "/tables/%" PRId64, url,
		       n->db_id, n->id);
		break;
	case MBFS_K_METADATA_FILE:
		xa_add(x, "user.mb.url", "%s/%s", url,
		       mbfs_meta_endpoint((enum mbfs_meta_kind)n->id));
		break;
	case MBFS_K_PUBLIC_CARD_FILE:
		xa_add(x, "user.mb.url", "%s/public/question/%s", url,
		       n->uuid ? n->uuid : "");
		break;
	case MBFS_K_PUBLIC_DASHBOARD:
	case MBFS_K_PUBLIC_DASHCARD_FILE:
		xa_add(x, "user.mb.url", "%s/public/dashboard/%s", url,
		       n->uuid ? n->uuid : "");
		break;
	default:
		break;
	}
}

/* Collect the xattrs of n. Takes the tree lock itself. */
static void collect_xattrs(struct mbfs_fs *fs, struct mbfs_node *n,
			   struct xattrs *x)
{
	memset(x, 0, sizeof *x);
	struct mbfs_result_info info;
	fs_peek_node(fs, n, &info);
	const char *url = fs->env.opts->url;
	mbfs_tree_lock(fs->env.tree);
	const char *model = model_of(n);
	/* a file read with parameters says what its base file says */
	const struct mbfs_node *b = fs_base_of(n);
	bool dashcard = b->kind == MBFS_K_DASHCARD_FILE ||
			b->kind == MBFS_K_PUBLIC_DASHCARD_FILE;
	if (n->kind == MBFS_K_COLLECTION && n->id == 0)
		xa_add(x, "user.mb.id", "root");
	else if (dashcard || b->kind == MBFS_K_PUBLIC_CARD_FILE) {
		if (b->card_id) /* public cards: known when listed */
			xa_add(x, "user.mb.id", "%" PRId64, b->card_id);
	} else if (b->kind == MBFS_K_PUBLIC_DASHBOARD) {
		if (b->dashboard_id)
			xa_add(x, "user.mb.id", "%" PRId64, b->dashboard_id);
	} else if (model && n->kind != MBFS_K_SCHEMA &&
		   n->kind != MBFS_K_METADATA_FILE &&
		   n->kind != MBFS_K_QUERY_SQL && n->kind != MBFS_K_QUERY_FILE)
		xa_add(x, "user.mb.id", "%" PRId64, b->id);
	if (model)
		xa_add(x, "user.mb.model", "%s", model);
	add_url(x, url, b);
	if (dashcard || n->kind == MBFS_K_DASHBOARD_TAB ||
	    n->kind == MBFS_K_DASHBOARD_TAB_BYID)
		xa_add(x, "user.mb.dashboard_id", "%" PRId64, b->dashboard_id);
	if (dashcard)
		xa_add(x, "user.mb.dashcard_id", "%" PRId64, b->id);
	if (n->uuid)
		xa_add(x, "user.mb.public_uuid", "%s", n->uuid);
	if (n->param_defs && fs->env.client->ops->params_xattr) {
		/* the names a file name may set (DESIGN §1) */
		char *pj = fs->env.client->ops->params_xattr(n->param_defs);
		if (pj)
			xa_add(x, "user.mb.parameters", "%s", pj);
		free(pj);
	}
	if (n->kind == MBFS_K_PARAM_FILE && n->params)
		xa_add(x, "user.mb.parameter_values", "%s", n->params);
	if (n->kind == MBFS_K_SCHEMA || n->kind == MBFS_K_TABLE_FILE)
		xa_add(x, "user.mb.database_id", "%" PRId64, n->db_id);
	if (n->kind == MBFS_K_QUERY_SQL || n->kind == MBFS_K_QUERY_FILE) {
		/* which database runs it, and which text of the SQL file
		 * (a new revision on every change) */
		struct mbfs_qstat qs;
		if (fs->env.queries &&
		    mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) &&
		    !qs.temp) {
			xa_add(x, "user.mb.database_id", "%" PRId64, qs.db);
			xa_add(x, "user.mb.revision", "%" PRIu64, qs.rev);
		}
	}
	if (n->xattrs)
		add_backend_xattrs(x, n->xattrs);
	if (n->description && *n->description)
		xa_add(x, "user.mb.description", "%s", n->description);
	if (n->mtime) {
		char ts[32];
		fs_iso_time((double)n->mtime, ts, sizeof ts);
		xa_add(x, "user.mb.updated_at", "%s", ts);
	}
	mbfs_tree_unlock(fs->env.tree);
	if (info.have) {
		char ts[32];
		if (info.spool.rows >= 0)
			xa_add(x, "user.mb.rows", "%" PRId64, info.spool.rows);
		fs_iso_time(info.spool.fetched_at, ts, sizeof ts);
		xa_add(x, "user.mb.exported_at", "%s", ts);
		if (fs_is_data(n)) {
			xa_add(x, "user.mb.duration_ms", "%.0f",
			       info.spool.duration * 1000.0);
			xa_add(x, "user.mb.truncated", "%d",
			       info.spool.truncated ? 1 : 0);
		}
	}
	if (info.failed)
		xa_add(x, "user.mb.error", "%s", info.error.msg);
}

enum mbfs_status mbfs_fs_getxattr(struct mbfs_fs *fs, uint64_t ino,
				  const char *name, char *buf, size_t size,
				  size_t *len, struct mbfs_err *err)
{
	/* ls -l asks every file for security.selinux and
	 * system.posix_acl_* (and the kernel sends each one here: nothing
	 * caches an xattr answer). The mount serves user.* only, so any
	 * other namespace is "not supported", at once and without the tree:
	 * coreutils' ls then stops asking for the rest of the mount's files
	 * (it remembers an unsupported device), where ENODATA made it ask
	 * every file again. Not ENOSYS: the kernel would then refuse every
	 * getxattr of the mount, user.* too. */
	if (strncmp(name, "user.", 5) != 0)
		return mbfs_err_set(err, MBFS_ERR_NOT_SUPPORTED, 0,
				    "only user.* attributes");
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	struct xattrs x;
	collect_xattrs(fs, n, &x);
	enum mbfs_status st = MBFS_ERR_NO_ATTR;
	for (int i = 0; i < x.n; i++) {
		if (strcmp(x.names[i], name) != 0)
			continue;
		size_t l = strlen(x.values[i]);
		*len = l;
		if (size == 0)
			st = MBFS_OK;
		else if (size < l)
			st = MBFS_ERR_RANGE;
		else {
			memcpy(buf, x.values[i], l);
			st = MBFS_OK;
		}
		break;
	}
	xa_free(&x);
	if (st == MBFS_ERR_NO_ATTR)
		mbfs_err_set(err, st, 0, "no such attribute");
	else if (st == MBFS_ERR_RANGE)
		mbfs_err_set(err, st, 0, "buffer too small");
	return st;
}

enum mbfs_status mbfs_fs_listxattr(struct mbfs_fs *fs, uint64_t ino,
				   char *buf, size_t size, size_t *len,
				   struct mbfs_err *err)
{
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	struct xattrs x;
	collect_xattrs(fs, n, &x);
	size_t need = 0;
	for (int i = 0; i < x.n; i++)
		need += strlen(x.names[i]) + 1;
	*len = need;
	enum mbfs_status st = MBFS_OK;
	if (size && size < need) {
		st = mbfs_err_set(err, MBFS_ERR_RANGE, 0, "buffer too small");
	} else if (size) {
		size_t o = 0;
		for (int i = 0; i < x.n; i++) {
			size_t l = strlen(x.names[i]) + 1;
			memcpy(buf + o, x.names[i], l);
			o += l;
		}
	}
	xa_free(&x);
	return st;
}
