/*
 * tree_objects.c — owns the listings of a backend that describes its tree
 * by objects (objects.h; Mode): the root and every OBJ_DIR are what the
 * client's `objects` op says, turned into protos. Keys become node ids
 * through the tree's string-id registry, so an object keeps its inode
 * number for the whole mount wherever it is listed. Runs without the tree
 * lock (the registry takes it) and BLOCKS on the network.
 */
#include <string.h>

#include "tree_int.h"

bool tree_by_objects(const struct mbfs_tree *t)
{
	return t->client && t->client->ops->objects != NULL;
}

static bool obj_has(unsigned formats, enum mbfs_fmt f)
{
	switch (f) {
	case MBFS_FMT_CSV: return (formats & MBFS_OBJ_CSV) != 0;
	case MBFS_FMT_JSON: return (formats & MBFS_OBJ_JSON) != 0;
	case MBFS_FMT_XLSX: return (formats & MBFS_OBJ_XLSX) != 0;
	default: return false;
	}
}

static enum mbfs_fmt ext_fmt(const char *ext)
{
	if (!ext || *ext != '.')
		return MBFS_FMT_NONE;
	return mbfs_fmt_parse(ext + 1);
}

/* Take o's strings over into r. */
static void take(struct proto *r, struct mbfs_object *o)
{
	r->key = o->key;
	r->raw_name = o->name;
	r->fixed_name = o->fixed;
	r->description = o->description;
	r->updated_at = o->updated_at;
	r->xattrs = o->xattrs;
	o->key = o->name = o->description = o->updated_at = o->xattrs = NULL;
}

static enum mbfs_status to_proto(struct mbfs_tree *t, struct mbfs_object *o,
				 struct protos *p, struct mbfs_err *err)
{
	if (!o->key || strlen(o->key) > MBFS_OBJECT_KEY_MAX)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				    "the backend gave an object a bad key");
	int64_t id = tree_strid_locked(t, SID_OBJECT, o->key);
	if (!id)
		return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
				    "too many objects in this mount");
	enum mbfs_fmt tf = MBFS_FMT_NONE;
	if (o->type == MBFS_OBJ_TEXT && (tf = ext_fmt(o->ext)) == MBFS_FMT_NONE)
		return MBFS_OK; /* an extension the core cannot name: skip */
	struct proto *r = tree_protos_add(p);
	if (!r)
		return tree_oom(err);
	r->id = id;
	r->name_id = o->id;
	switch (o->type) {
	case MBFS_OBJ_DIR:
		r->kind = MBFS_K_OBJ_DIR;
		r->rank = 0;
		break;
	case MBFS_OBJ_DATA:
		r->kind = MBFS_K_OBJ_FILE;
		r->rank = 2;
		for (int i = 0; i < t->n_formats; i++)
			if (obj_has(o->formats, t->formats[i]))
				r->fmts[r->n_fmts++] = t->formats[i];
		if (o->sql) {
			r->sql = o->sql;
			o->sql = NULL;
			r->fmts[r->n_fmts++] = MBFS_FMT_SQL;
		}
		if (!r->n_fmts) { /* nothing to show in the formats asked for */
			p->n--;
			return MBFS_OK;
		}
		break;
	case MBFS_OBJ_TEXT:
		r->kind = MBFS_K_OBJ_TEXT;
		r->rank = 2;
		r->sql = o->text;
		o->text = NULL;
		r->fmts[0] = tf;
		r->n_fmts = 1;
		break;
	}
	take(r, o);
	return MBFS_OK;
}

enum mbfs_status tree_build_objects(struct mbfs_tree *t, const char *key,
				    struct protos *p, struct mbfs_err *err)
{
	struct mbfs_object_list l = {0};
	enum mbfs_status st = t->client->ops->objects(t->client, key, &l, err);
	for (size_t i = 0; st == MBFS_OK && i < l.n; i++)
		st = to_proto(t, &l.v[i], p, err);
	mbfs_object_list_free(&l);
	if (st == MBFS_OK && !key) /* the root: .mbfs/ is the core's own */
		st = tree_build_fixed_dir(p, MBFS_K_CONTROL_DIR, ".mbfs")
			     ? MBFS_OK
			     : tree_oom(err);
	return st;
}
