/*
 * tree.h — the namespace: which directories and files exist, their names,
 * and the cached listings behind them (DESIGN.md §1).
 *
 * A node is one inode: a fixed directory, a collection, a dashboard (two
 * directory nodes: in its collection and under dashboards/), a dashboard
 * tab, a database, a schema, a card/dashcard/table file in one format, a
 * native card's .sql file, a metadata/ or .mbfs/ file. Nodes are
 * created when a listing first shows them and live until unmount (they
 * are a bounded cache of the server's namespace; a node for an object
 * that disappeared simply stops being listed), so a node pointer stays
 * valid for the whole mount.
 *
 * Listings are fetched from the client on demand, cached for meta_ttl
 * seconds, single-flight per directory, and a failed refresh keeps the
 * last good listing. Objects several listings need (the card list, the
 * dashboards, the users ...) come from the shared meta cache
 * (meta_cache.h), owned by the tree. Names follow name.h; a name once given
 * is sticky. When a re-listing drops a name (renamed, moved, deleted on
 * the server), the "gone" hook is told, so that the kernel can be made to
 * forget that dentry (from another thread: the hook must not block).
 *
 * Locking: one tree mutex protects every node field that can change
 * (listings, metadata, parents). Functions marked "lock held"
 * expect the caller to hold it (mbfs_tree_lock); mbfs_tree_list and
 * mbfs_tree_find take the lock themselves and drop it while they wait on
 * the network (they BLOCK on a listing fetch).
 */
#ifndef MBFS_TREE_H
#define MBFS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "inode.h"
#include "mb_client.h"
#include "meta_cache.h"
#include "options.h"
#include "status.h"

struct mbfs_node;

struct mbfs_dirent {
	char *name;
	struct mbfs_node *node;
};

struct mbfs_listing_wait;

struct mbfs_node {
	uint64_t ino;
	enum mbfs_kind kind;
	enum mbfs_fmt fmt;
	int64_t id;                /* Metabase id; hashed for schemas; for
				      metadata/ files the enum mbfs_meta_kind
				      of the list they show */
	int64_t db_id;             /* tables and schemas: their database */
	char *schema;              /* schema dirs: the server's schema name */
	char *raw_name;            /* the server's name of the object */
	enum mb_model model;
	char *description;
	char *updated_at;          /* as the server sent it */
	time_t mtime;              /* parsed updated_at (UTC), 0 if unknown */
	char *sql;                 /* SQL files: the text */
	int64_t dashboard_id;      /* dashcards and tabs: their dashboard */
	int64_t card_id;           /* dashcards: the card they show */
	char *params;              /* dashcards: the dashboard's default
				      parameters, a JSON array */
	uint64_t content_gen;      /* SQL files: generation of the text (a
				      tree-wide counter; new text, new number) */
	/* Parameters and public links (DESIGN.md §1). */
	char *param_defs;          /* card and dashcard files: the parameters
				      a name may set (mb_types.h param_defs),
				      or NULL */
	char *uuid;                /* public/ nodes: the public link's uuid
				      (identity of PUBLIC_DASHBOARD: never
				      changes) */
	struct mbfs_node *base;    /* PARAM_FILE: the listed file it reads
				      with parameters (params = the export's
				      `parameters`) */
	char *key;                 /* OBJ_* nodes: the backend's key */
	char *xattrs;              /* OBJ_* nodes: the backend's extended
				      attributes, "name\tvalue\n" lines */
	char *lookup_name;         /* nodes reached by the lookup of a name no
				      listing shows: the first such name */
	struct mbfs_node **parents;/* directories whose listing showed it */
	size_t n_parents;
	/* directories */
	struct mbfs_dirent *entries;  /* sorted by name (strcmp) */
	size_t n_entries;
	size_t *order;             /* readdir order (indices into entries),
				      or NULL for name order */
	double fetched_at;         /* monotonic; 0 = never fetched */
	bool listing_ok;           /* a good listing exists */
	bool listing_busy;         /* a fetch is in flight */
	bool stale;                /* touch: refetch on next access */
	struct mbfs_listing_wait *wait; /* requests waiting for its listing
					   (tree.c; allocated on first wait) */
	uint64_t local_version;    /* queries/<db>/: the query store's
				      version the listing was built from */
	uint64_t list_gen;         /* the listing's identity: a tree-wide
				      number, new whenever its names,
				      nodes or order change (0: none yet) */
};

struct mbfs_tree;

struct mbfs_tree *mbfs_tree_new(struct mb_client *client,
				const struct mbfs_options *opts);
void mbfs_tree_free(struct mbfs_tree *t);

/* The shared object cache (owned by the tree; valid until tree_free). */
struct mbfs_meta *mbfs_tree_meta(struct mbfs_tree *t);

/*
 * Called (lock held, so it must only queue work) with a directory and a
 * name that a re-listing no longer shows, or now shows for another object.
 */
typedef void (*mbfs_tree_gone_fn)(void *arg, uint64_t parent, const char *name);
void mbfs_tree_set_gone_hook(struct mbfs_tree *t, mbfs_tree_gone_fn fn,
			     void *arg);

void mbfs_tree_lock(struct mbfs_tree *t);
void mbfs_tree_unlock(struct mbfs_tree *t);

/* The node for ino, or NULL. Lock held. */
struct mbfs_node *mbfs_tree_node(struct mbfs_tree *t, uint64_t ino);

/*
 * Make sure dir's listing is fresh and return a snapshot: a heap array of
 * (name, node) with heap names, in readdir order (by name, except inside
 * dashboards: tabs in tab order, then dashcards in layout order); free
 * with mbfs_tree_free_snapshot. *gen (when not NULL): the snapshot's
 * list_gen — two snapshots with one gen hold the same names, nodes and
 * order. Blocks (WOULD_BLOCK inside a try scope).
 * Takes the lock itself (caller must NOT hold it).
 */
enum mbfs_status mbfs_tree_list(struct mbfs_tree *t, struct mbfs_node *dir,
				struct mbfs_dirent **out, size_t *n,
				uint64_t *gen, struct mbfs_err *err);
void mbfs_tree_free_snapshot(struct mbfs_dirent *v, size_t n);

/* Find name in dir (fetching the listing if needed). Blocks; takes the
 * lock itself. */
enum mbfs_status mbfs_tree_find(struct mbfs_tree *t, struct mbfs_node *dir,
				const char *name, struct mbfs_node **out,
				struct mbfs_err *err);

/*
 * A name no listing shows (DESIGN.md §1): "<listed card or dashcard
 * file>?<parameters>" in a directory of data files (PARAM_FILE node,
 * ENOENT for a slug the file does not have), "<uuid>.<fmt>" in
 * public/card/, "<uuid>" in public/dashboard/ (whose existence is checked
 * by listing it). NOT_FOUND for anything else. Blocks (listings); takes
 * the lock itself.
 */
enum mbfs_status mbfs_tree_find_unlisted(struct mbfs_tree *t,
					 struct mbfs_node *dir,
					 const char *name,
					 struct mbfs_node **out,
					 struct mbfs_err *err);

/* The path of n in the mount ("cards/27.csv", "collections/Sales/"),
 * through the first directory that listed it (or the name it was looked
 * up by); "?" for a part no longer known. Lock held. Never blocks. */
void mbfs_tree_path(struct mbfs_tree *t, const struct mbfs_node *n, char *out,
		    size_t outsz);

/* Called (lock held: it must only record) when a listing fails, with
 * what failed ("collections/Sales/ (listing)") and the error. */
typedef void (*mbfs_tree_error_fn)(void *arg, const char *what,
				   const struct mbfs_err *err);
void mbfs_tree_set_error_hook(struct mbfs_tree *t, mbfs_tree_error_fn fn,
			      void *arg);

/* Every (parent, name) under which a listing shows n, to fn. Lock held. */
void mbfs_tree_names_of(struct mbfs_tree *t, const struct mbfs_node *n,
			void (*fn)(void *arg, uint64_t parent, const char *name),
			void *arg);

/* touch DIR: refetch the listing, and the shared objects it is built
 * from, on next access. Lock held. */
void mbfs_tree_invalidate_dir(struct mbfs_tree *t, struct mbfs_node *dir);
/* touch of a .sql or metadata/ file: refetch the object it shows. Lock held. */
void mbfs_tree_invalidate_file(struct mbfs_tree *t, struct mbfs_node *n);

/* The worker pool that runs listing and list fetches a try scope asks
 * for (borrowed; set before requests are served). */
struct mbfs_pool;
void mbfs_tree_set_pool(struct mbfs_tree *t, struct mbfs_pool *pool);
/* Unmounting: no new fetch jobs; a try scope that would need one gets
 * MBFS_ERR_UNMOUNTING. Takes the locks. */
void mbfs_tree_stop(struct mbfs_tree *t);

/* SIGHUP: every listing and shared object. Takes the lock. */
void mbfs_tree_invalidate_all(struct mbfs_tree *t);

/*
 * queries/: the databases the user may query natively (the same names as
 * under databases/), and in each, the query store's files (queries.h):
 * NAME.sql, NAME.<fmt> for every format, editors' temp files. Those
 * listings are local: built under the lock from the store whenever its
 * version changed, never waiting on the network. Set once, before
 * requests are served (NULL: the database directories are empty).
 */
struct mbfs_queries;
void mbfs_tree_set_queries(struct mbfs_tree *t, struct mbfs_queries *q);
/* The base name NAME of a NAME.sql (heap; NULL if not a SQL file name). */
char *mbfs_tree_query_base(const char *sql_name);

/* Parse a Metabase timestamp ("2023-06-19T04:25:35.88483" with or without
 * offset / Z) to UTC seconds; 0 when unparsable. */
time_t mbfs_tree_parse_time(const char *s);

#endif
