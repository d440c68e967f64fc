/*
 * content.c — owns where the bytes of a file with results come from: what
 * a data file exports and the key its result is cached under (one
 * function for every kind, queries/ included), running or joining that
 * export (materialize), the metadata/ lists, and what is known of a file
 * without fetching anything (peek). See fs_int.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "queries.h"
#include "util.h"

/* The result object of a query data file: the store's epoch and the SQL
 * file's revision name its text for good (queries.h). */
void fs_query_obj(const struct mbfs_fs *fs, const struct mbfs_qstat *qs,
		  enum mbfs_fmt fmt, char *obj, size_t objsz)
{
	snprintf(obj, objsz,
		 "query:%s:%" PRId64 ":%" PRIu64 ":r%" PRIu64 ":%s",
		 mbfs_queries_epoch(fs->env.queries), qs->db, qs->id, qs->rev,
		 mbfs_fmt_name(fmt));
}

/* The file a PARAM_FILE reads with parameters (its base), else n. */
const struct mbfs_node *fs_base_of(const struct mbfs_node *n)
{
	return n->kind == MBFS_K_PARAM_FILE && n->base ? n->base : n;
}

/*
 * A result key: the mount's scope (Metabase user and every option that
 * changes the bytes), the object with its 64-bit ids and format, and the
 * parameters the export sends ("|p=<JSON>"). Heap; NULL when out of
 * memory.
 */
char *fs_key_compose(const struct mbfs_fs *fs, const char *obj,
		     const char *params)
{
	size_t ls = strlen(fs->scope), lo = strlen(obj);
	size_t lp = params ? strlen(params) : 0;
	char *k = malloc(ls + lo + (params ? 3 + lp : 0) + 1);
	if (!k)
		return NULL;
	memcpy(k, fs->scope, ls);
	memcpy(k + ls, obj, lo);
	if (params) {
		memcpy(k + ls + lo, "|p=", 3);
		memcpy(k + ls + lo + 3, params, lp);
	}
	k[ls + lo + (params ? 3 + lp : 0)] = '\0';
	return k;
}

/*
 * What a data node exports: the object its results are keyed by (obj)
 * and the export request (*r, its strings borrowed from the node: valid
 * while the tree lock is held). A query data file's request is made from
 * the SQL file's text (in fs_req_key_of): here only its object. False when
 * n has no result (not a data file, or a query whose SQL file is gone).
 * Tree lock held.
 */
static bool data_object(const struct mbfs_fs *fs, const struct mbfs_node *n,
			char *obj, size_t objsz, struct mb_export_req *r)
{
	const char *fmt = mbfs_fmt_name(n->fmt);
	/* a file read with parameters: its base's object and request, with
	 * the parameters it sends */
	const struct mbfs_node *b = fs_base_of(n);
	memset(r, 0, sizeof *r);
	r->kind = MB_EXPORT_CARD;
	r->id = b->id;
	r->db_id = b->db_id;
	r->format = fmt;
	r->format_rows = fs->env.opts->format_rows;
	switch (b->kind) {
	case MBFS_K_PUBLIC_CARD_FILE:
		/* public links: no credential is sent (mb_api.c) */
		snprintf(obj, objsz, "public-card:%s:%s", b->uuid ? b->uuid : "",
			 fmt);
		r->kind = MB_EXPORT_PUBLIC_CARD;
		break;
	case MBFS_K_PUBLIC_DASHCARD_FILE:
		snprintf(obj, objsz,
			 "public-dashcard:%s:%" PRId64 ":%" PRId64 ":%s",
			 b->uuid ? b->uuid : "", b->id, b->card_id, fmt);
		r->kind = MB_EXPORT_PUBLIC_DASHCARD;
		r->parameters = n->params;
		break;
	case MBFS_K_CARD_FILE:
		snprintf(obj, objsz, "card:%" PRId64 ":%s", b->id, fmt);
		if (n->kind == MBFS_K_PARAM_FILE)
			r->parameters = n->params;
		break;
	case MBFS_K_TABLE_FILE:
		snprintf(obj, objsz, "table:%" PRId64 ":%s", b->id, fmt);
		r->kind = MB_EXPORT_TABLE;
		break;
	case MBFS_K_DASHCARD_FILE:
		/* POST /api/dashboard/:d/dashcard/:dc/card/:c/query/:fmt with
		 * the dashboard's filter defaults */
		snprintf(obj, objsz,
			 "dashcard:%" PRId64 ":%" PRId64 ":%" PRId64 ":%s",
			 b->dashboard_id, b->id, b->card_id, fmt);
		r->kind = MB_EXPORT_DASHCARD;
		r->parameters = n->params;
		break;
	case MBFS_K_OBJ_FILE:
		/* a backend described by objects: its key says it all */
		if (!b->key)
			return false;
		snprintf(obj, objsz, "obj:%s:%s", b->key, fmt);
		r->kind = MB_EXPORT_OBJECT;
		r->object = b->key;
		return true;
	case MBFS_K_QUERY_FILE: {
		struct mbfs_qstat qs;
		if (!fs->env.queries ||
		    !mbfs_queries_stat(fs->env.queries, (uint64_t)n->id, &qs) ||
		    qs.temp || !qs.linked)
			return false;
		fs_query_obj(fs, &qs, n->fmt, obj, objsz);
		r->kind = MB_EXPORT_NATIVE;
		r->db_id = qs.db;
		return true;
	}
	default:
		return false;
	}
	if (r->kind == MB_EXPORT_PUBLIC_CARD ||
	    r->kind == MB_EXPORT_PUBLIC_DASHCARD ||
	    r->kind == MB_EXPORT_DASHCARD) {
		r->id = b->card_id;
		r->dashboard_id = b->dashboard_id;
		r->dashcard_id = b->id;
	}
	if (r->kind == MB_EXPORT_PUBLIC_CARD ||
	    r->kind == MB_EXPORT_PUBLIC_DASHCARD)
		r->uuid = b->uuid;
	return true;
}

/* n's result key, built under the lock (dashcards can change). Heap;
 * NULL when n has none. */
char *fs_key_of(struct mbfs_fs *fs, const struct mbfs_node *n)
{
	char obj[160];
	struct mb_export_req r;
	mbfs_tree_lock(fs->env.tree);
	char *key = data_object(fs, n, obj, sizeof obj, &r)
			    ? fs_key_compose(fs, obj, r.parameters)
			    : NULL;
	mbfs_tree_unlock(fs->env.tree);
	return key;
}

void fs_req_key_free(struct fs_req_key *rk)
{
	free(rk->params);
	free(rk->uuid);
	free(rk->object);
	free(rk->sql);
	free(rk->key);
}

/* The export request of a data node and the key of its result, consistent
 * with each other (taken under one hold of the tree lock; for a query
 * data file, the SQL text and the revision it is keyed by are taken
 * together from the store). Free with fs_req_key_free, also on failure. */
enum mbfs_status fs_req_key_of(struct mbfs_fs *fs, const struct mbfs_node *n,
			       struct fs_req_key *rk, struct mbfs_err *err)
{
	char obj[160], path[880];
	bool ok = true;
	memset(rk, 0, sizeof *rk);
	if (n->kind == MBFS_K_QUERY_FILE) {
		/* POST /api/dataset/:fmt with the SQL file's text */
		struct mbfs_qstat qs;
		if (!fs->env.queries)
			return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					    "no query store");
		enum mbfs_status st = mbfs_queries_text(
			fs->env.queries, (uint64_t)n->id, &rk->sql, &qs, err);
		if (st != MBFS_OK)
			return st;
		fs_query_obj(fs, &qs, n->fmt, obj, sizeof obj);
		rk->req.kind = MB_EXPORT_NATIVE;
		rk->req.db_id = qs.db;
		rk->req.sql = rk->sql;
		rk->req.format = mbfs_fmt_name(n->fmt);
		rk->req.format_rows = fs->env.opts->format_rows;
		rk->key = fs_key_compose(fs, obj, NULL);
		mbfs_tree_lock(fs->env.tree);
	} else {
		mbfs_tree_lock(fs->env.tree);
		ok = data_object(fs, n, obj, sizeof obj, &rk->req);
		if (ok) {
			/* the node's strings may change once the lock is
			 * dropped: the request keeps copies */
			rk->params = mbfs_dup0(rk->req.parameters);
			rk->uuid = mbfs_dup0(rk->req.uuid);
			rk->object = mbfs_dup0(rk->req.object);
			ok = (!rk->req.parameters || rk->params) &&
			     (!rk->req.uuid || rk->uuid) &&
			     (!rk->req.object || rk->object);
			rk->req.parameters = rk->params;
			rk->req.uuid = rk->uuid;
			rk->req.object = rk->object;
			rk->key = fs_key_compose(fs, obj, rk->params);
		}
	}
	mbfs_tree_path(fs->env.tree, n, path, sizeof path);
	mbfs_tree_unlock(fs->env.tree);
	/* logs and .mbfs/ name the file and the object, not the mount's
	 * scope (nor the parameters: the path shows those) */
	snprintf(rk->label, sizeof rk->label, "%.800s (%.150s)", path,
		 ok ? obj : "");
	rk->req.label = rk->label;
	if (!ok || !rk->key) {
		fs_req_key_free(rk);
		memset(rk, 0, sizeof *rk);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	return MBFS_OK;
}

/* Run (or join) the export of a data node. Blocks. With fd, *key_out
 * receives the key (heap) the result was opened under. */
enum mbfs_status fs_materialize(struct mbfs_fs *fs, struct mbfs_node *n,
				int *fd, struct mbfs_result_info *info,
				char **key_out, struct mbfs_err *err)
{
	struct fs_req_key rk;
	enum mbfs_status st = fs_req_key_of(fs, n, &rk, err);
	if (st != MBFS_OK)
		return st;
	st = mbfs_export_get(fs->env.export, rk.key, &rk.req, fd, info, err);
	if (key_out && st == MBFS_OK) {
		*key_out = rk.key;
		rk.key = NULL;
	}
	fs_req_key_free(&rk);
	return st;
}

/* metadata/ files: a snapshot's state as result info. */
static void meta_info(const struct mbfs_meta_snap *s,
		      struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	if (!s || !s->array)
		return;
	info->have = info->fresh = true;
	info->spool.size = s->array_len;
	info->spool.rows = (int64_t)s->count;
	info->spool.fetched_at = s->fetched_at;
	info->spool.gen = s->gen;
}

/* Fetch a metadata/ file's list (fresh for meta_ttl); with buf, also a
 * heap copy of its bytes. Blocks. */
enum mbfs_status fs_meta_file(struct mbfs_fs *fs, const struct mbfs_node *n,
			      char **buf, struct mbfs_result_info *info,
			      struct mbfs_err *err)
{
	struct mbfs_meta *m = mbfs_tree_meta(fs->env.tree);
	const struct mbfs_meta_snap *s = NULL;
	memset(info, 0, sizeof *info);
	enum mbfs_status st = mbfs_meta_get(m, (enum mbfs_meta_kind)n->id, 0,
					    MBFS_META_WANT_ARRAY, &s, err);
	if (st != MBFS_OK)
		return st;
	meta_info(s, info);
	if (buf) {
		*buf = malloc(s->array_len + 1);
		if (*buf)
			memcpy(*buf, s->array, s->array_len + 1);
		else
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	mbfs_meta_put(m, s);
	return st;
}

/* What is known about a file's content without fetching anything. */
void fs_peek_node(struct mbfs_fs *fs, const struct mbfs_node *n,
		  struct mbfs_result_info *info)
{
	memset(info, 0, sizeof *info);
	if (fs_is_data(n)) {
		char *key = fs_key_of(fs, n);
		if (key)
			mbfs_export_peek(fs->env.export, key, info);
		free(key);
	} else if (n->kind == MBFS_K_METADATA_FILE) {
		struct mbfs_meta *m = mbfs_tree_meta(fs->env.tree);
		const struct mbfs_meta_snap *s =
			mbfs_meta_peek(m, (enum mbfs_meta_kind)n->id, 0);
		meta_info(s, info);
		mbfs_meta_put(m, s);
	}
}
