/*
 * tree_local.c — owns the listings of queries/<database>/ (DESIGN.md §1
 * "own questions"): built under the tree lock from the query store's
 * names whenever its version changed, never waiting on the network.
 */
#include <stdlib.h>
#include <string.h>

#include "queries.h"
#include "tree_int.h"
#include "util.h"

void mbfs_tree_set_queries(struct mbfs_tree *t, struct mbfs_queries *q)
{
	pthread_mutex_lock(&t->lock);
	t->queries = q;
	pthread_mutex_unlock(&t->lock);
}

char *mbfs_tree_query_base(const char *sql_name)
{
	if (mbfs_queries_classify(sql_name) != MBFS_QNAME_SQL)
		return NULL;
	return strndup(sql_name, strlen(sql_name) - 4);
}

/* One name of a local listing. Lock held. */
static bool local_add(struct mbfs_tree *t, struct mbfs_node *dir,
		      struct mbfs_dirent *ents, size_t *k, enum mbfs_kind kind,
		      enum mbfs_fmt fmt, uint64_t id, char *name)
{
	struct mbfs_node *n = name ? tree_node_get(t, kind, fmt, (int64_t)id) : NULL;
	if (!n) {
		free(name);
		return false;
	}
	n->db_id = dir->id;
	tree_node_add_parent(n, dir);
	ents[*k].name = name;
	ents[*k].node = n;
	(*k)++;
	return true;
}

static char *cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* queries/<db>/: the store's names, rebuilt when its version changed.
 * Local: never waits. Lock held. */
enum mbfs_status tree_local_listing(struct mbfs_tree *t,
				    struct mbfs_node *dir,
				    struct mbfs_err *err)
{
	uint64_t ver = t->queries ? mbfs_queries_version(t->queries) : 0;
	if (dir->listing_ok && dir->local_version == ver)
		return MBFS_OK;
	struct mbfs_qent *v = NULL;
	size_t n = 0;
	if (t->queries) {
		enum mbfs_status st = mbfs_queries_list(t->queries, dir->id, &v,
							&n, err);
		if (st != MBFS_OK)
			return st;
	}
	size_t per = 1 + (size_t)t->n_formats;
	struct mbfs_dirent *ents = calloc(n * per + 1, sizeof *ents);
	size_t k = 0;
	bool ok = ents != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		const struct mbfs_qstat *q = &v[i].st;
		if (q->temp) {
			ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_TEMP,
				       MBFS_FMT_NONE, q->id, strdup(v[i].name));
			continue;
		}
		ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_SQL, MBFS_FMT_SQL,
			       q->id, strdup(v[i].name));
		char *base = ok ? mbfs_tree_query_base(v[i].name) : NULL;
		ok = ok && base;
		for (int f = 0; ok && f < t->n_formats; f++)
			ok = local_add(t, dir, ents, &k, MBFS_K_QUERY_FILE,
				       t->formats[f], q->id,
				       cat2(base, mbfs_fmt_ext(t->formats[f])));
		free(base);
	}
	mbfs_queries_free_list(v, n);
	if (!ok) {
		tree_entries_free(ents, k);
		return tree_oom(err);
	}
	qsort(ents, k, sizeof *ents, tree_dirent_cmp);
	tree_set_entries(t, dir, ents, k, NULL);
	dir->listing_ok = true;
	dir->local_version = ver;
	dir->fetched_at = mbfs_mono_now();
	return MBFS_OK;
}

