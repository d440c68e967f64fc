/*
 * tree_unlisted.c — owns the names no listing shows (DESIGN.md §1): a data
 * file read with parameters ("<file>?<query>"), public/card/<uuid>.<fmt>
 * and public/dashboard/<uuid>, and the registry that gives identities which
 * are no Metabase integer (a uuid, a parameter set) their ids. See tree.h
 * (mbfs_tree_find_unlisted) and tree_int.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "params.h"
#include "tree_int.h"
#include "util.h"

/*
 * Identities that are not Metabase integers — a public link's uuid, a
 * parameter set — get ids from this registry: one sequential id per
 * distinct (space, string), never reused during the mount. Collision-free
 * by construction: the hash only picks a chain, strings are compared
 * whole. Lock held.
 */
#define STRID_MAX (1 << 18)    /* distinct strings per mount */

struct strid {
	struct mbfs_map_item item;  /* in t->sids[space], keyed by s */
	int64_t id;
	char s[];
};

void tree_strid_free_all(struct mbfs_tree *t)
{
	for (size_t k = 0; k < sizeof t->sids / sizeof t->sids[0]; k++) {
		struct mbfs_map_iter i;
		for (struct mbfs_map_item *it = mbfs_map_first(&t->sids[k], &i);
		     it; it = mbfs_map_next(&i))
			free(MBFS_MAP_ENTRY(it, struct strid, item));
		mbfs_map_destroy(&t->sids[k]);
	}
	t->sid_n = 0;
}

/* The id of (space, s), assigned on first sight; 0 when out of memory or
 * past STRID_MAX. */
int64_t tree_strid_get(struct mbfs_tree *t, enum strid_space space,
		       const char *s)
{
	struct mbfs_map *m = &t->sids[space];
	struct mbfs_map_item *it = mbfs_map_get(m, s);
	if (it)
		return MBFS_MAP_ENTRY(it, struct strid, item)->id;
	if (t->sid_n >= STRID_MAX)
		return 0;
	size_t l = strlen(s);
	struct strid *e = malloc(sizeof *e + l + 1);
	if (!e)
		return 0;
	memcpy(e->s, s, l + 1);
	if (!mbfs_map_put(m, &e->item, e->s)) {
		free(e);
		return 0;
	}
	e->id = ++t->sid_next;
	t->sid_n++;
	return e->id;
}

/* strid_get from a builder (no lock held). */
int64_t tree_strid_locked(struct mbfs_tree *t, enum strid_space space,
			  const char *s)
{
	pthread_mutex_lock(&t->lock);
	int64_t id = tree_strid_get(t, space, s);
	pthread_mutex_unlock(&t->lock);
	return id;
}

/* A public link's uuid as Metabase writes it: 8-4-4-4-12 lower-case hex
 * digits (the only form the newer servers accept; it is also safe in a
 * URL path). */
static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* Parameters on a file of dir: "<listed file>?<query>" (lock held). The
 * listed name may itself hold a '?': the first split whose left part is a
 * card or dashcard file of dir wins. */
static enum mbfs_status find_param_file(struct mbfs_tree *t,
					struct mbfs_node *dir, const char *name,
					struct mbfs_node **out,
					struct mbfs_err *err)
{
	enum mbfs_status st = tree_listing(t, dir, err);
	if (st != MBFS_OK)
		return st;
	struct mbfs_node *base = NULL;
	const char *q = NULL;
	for (const char *m = strchr(name, '?'); m && !base; m = strchr(m + 1, '?')) {
		size_t blen = (size_t)(m - name);
		char base_name[MBFS_NAME_MAX + 1];
		if (blen == 0 || blen > MBFS_NAME_MAX)
			continue;
		memcpy(base_name, name, blen);
		base_name[blen] = '\0';
		struct mbfs_dirent *hit = tree_entry_find(dir, base_name);
		if (hit && (hit->node->kind == MBFS_K_CARD_FILE ||
			    hit->node->kind == MBFS_K_DASHCARD_FILE ||
			    hit->node->kind == MBFS_K_PUBLIC_DASHCARD_FILE)) {
			base = hit->node;
			q = m + 1;
		}
	}
	if (!base)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "no card or dashcard file named like that");
	if (!base->param_defs || !t->client->ops->param_request)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "this file has no parameters");
	struct mb_param_args args;
	st = mbfs_params_parse(q, &args, err);
	if (st != MBFS_OK)
		return st == MBFS_ERR_INVALID ? MBFS_ERR_NOT_FOUND : st;
	char *req = NULL;
	st = t->client->ops->param_request(base->param_defs, base->params,
					   &args, base->kind != MBFS_K_CARD_FILE,
					   &req, err);
	mb_param_args_free(&args);
	if (st != MBFS_OK)
		return st;
	/* one node per (file, parameters sent): names that differ only in
	 * order or escaping are the same file */
	size_t kl = strlen(req) + 32;
	char *key = malloc(kl);
	if (!key) {
		free(req);
		return tree_oom(err);
	}
	snprintf(key, kl, "%" PRIu64 "|%s", base->ino, req);
	int64_t id = tree_strid_get(t, SID_PARAMS, key);
	free(key);
	struct mbfs_node *n = id ? tree_node_get(t, MBFS_K_PARAM_FILE, base->fmt, id)
				 : NULL;
	if (!n) {
		free(req);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
				    "out of memory (or more than %d parameter sets in this mount)",
				    STRID_MAX);
	}
	if (!n->base) {
		n->base = base;
		n->params = req;
		req = NULL;
		n->lookup_name = strdup(name);
		tree_node_add_parent(n, dir);
	}
	free(req);
	/* what the base file says of itself now */
	n->model = base->model;
	n->db_id = base->db_id;
	n->dashboard_id = base->dashboard_id;
	n->card_id = base->card_id;
	n->mtime = base->mtime;
	tree_set_str(&n->raw_name, base->raw_name);
	tree_set_str(&n->description, base->description);
	tree_set_str(&n->updated_at, base->updated_at);
	tree_set_str(&n->param_defs, base->param_defs);
	if (base->uuid)
		tree_set_str(&n->uuid, base->uuid);
	*out = n;
	return MBFS_OK;
}

/* The node of a public link looked up by name in dir: a card file
 * (PUBLIC_CARD_FILE in format fmt) or a dashboard (PUBLIC_DASHBOARD), by
 * its uuid. NULL when out of memory. Lock held. */
static struct mbfs_node *public_node(struct mbfs_tree *t, struct mbfs_node *dir,
				     enum mbfs_kind kind, enum mbfs_fmt fmt,
				     const char *uuid, const char *name)
{
	bool card = kind == MBFS_K_PUBLIC_CARD_FILE;
	int64_t id = tree_strid_get(t, card ? SID_PUBLIC_CARD
					    : SID_PUBLIC_DASHBOARD, uuid);
	struct mbfs_node *n = id ? tree_node_get(t, kind, fmt, id) : NULL;
	if (!n || (!n->uuid && !(n->uuid = strdup(uuid))))
		return NULL;
	if (!n->raw_name)
		n->raw_name = strdup(uuid);
	n->model = card ? MB_MODEL_CARD : MB_MODEL_DASHBOARD;
	if (!n->lookup_name)
		n->lookup_name = strdup(name);
	tree_node_add_parent(n, dir);
	return n;
}

/* public/card/<uuid>.<fmt> (lock held). Whether the link exists shows
 * when the file is materialized (fs.c: ENOENT for a 404). */
static enum mbfs_status find_public_card(struct mbfs_tree *t,
					 struct mbfs_node *dir, const char *name,
					 struct mbfs_node **out,
					 struct mbfs_err *err)
{
	const char *dot = strrchr(name, '.');
	enum mbfs_fmt fmt = dot ? mbfs_fmt_parse(dot + 1) : MBFS_FMT_NONE;
	bool mounted = false;
	for (int i = 0; i < t->n_formats; i++)
		mounted = mounted || t->formats[i] == fmt;
	if (!dot || !mounted || !is_uuid(name, (size_t)(dot - name)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
				    "not <uuid>.<format>");
	char uuid[37];
	memcpy(uuid, name, 36);
	uuid[36] = '\0';
	*out = public_node(t, dir, MBFS_K_PUBLIC_CARD_FILE, fmt, uuid, name);
	return *out ? MBFS_OK : tree_oom(err);
}

/* public/dashboard/<uuid> (lock held): exists when its listing does. */
static enum mbfs_status find_public_dashboard(struct mbfs_tree *t,
					      struct mbfs_node *dir,
					      const char *name,
					      struct mbfs_node **out,
					      struct mbfs_err *err)
{
	if (!is_uuid(name, strlen(name)))
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "not a uuid");
	struct mbfs_node *n = public_node(t, dir, MBFS_K_PUBLIC_DASHBOARD,
					  MBFS_FMT_NONE, name, name);
	if (!n)
		return tree_oom(err);
	enum mbfs_status st = tree_listing(t, n, err);
	if (st != MBFS_OK)
		return st;
	*out = n;
	return MBFS_OK;
}

enum mbfs_status mbfs_tree_find_unlisted(struct mbfs_tree *t,
					 struct mbfs_node *dir,
					 const char *name,
					 struct mbfs_node **out,
					 struct mbfs_err *err)
{
	enum mbfs_status st;
	pthread_mutex_lock(&t->lock);
	switch (dir->kind) {
	case MBFS_K_PUBLIC_CARDS_DIR:
		st = find_public_card(t, dir, name, out, err);
		break;
	case MBFS_K_PUBLIC_DASHBOARDS_DIR:
		st = find_public_dashboard(t, dir, name, out, err);
		break;
	case MBFS_K_CARDS_DIR:
	case MBFS_K_COLLECTION:
	case MBFS_K_DASHBOARD:
	case MBFS_K_DASHBOARD_BYID:
	case MBFS_K_DASHBOARD_TAB:
	case MBFS_K_DASHBOARD_TAB_BYID:
	case MBFS_K_PUBLIC_DASHBOARD:
		if (mbfs_params_query(name)) {
			st = find_param_file(t, dir, name, out, err);
			break;
		}
		/* fall through */
	default:
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no such file");
		break;
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}
