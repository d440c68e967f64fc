/*
 * tree_int.h — what the files of the tree share and nobody else sees:
 *   tree.c           the node table, listings (fetch, apply, freshness,
 *                    single flight), paths, hooks
 *   tree_build.c     one builder per kind of directory (no lock held; may
 *                    BLOCK on the network), the schema id registry
 *   tree_objects.c   the builder of a backend described by objects
 *                    (objects.h: Mode), for the root and its directories
 *   tree_local.c     queries/<db>/ listings from the query store
 *   tree_unlisted.c  names no listing shows (parameters, public links)
 *                    and the string-id registry
 *
 * Locks: the tree mutex (t->lock) protects every mutable node field, the
 * node table and the string-id registry; functions marked "lock held"
 * expect it. The schema registry has its own leaf lock (t->schema_lock).
 * Memory: nodes belong to the tree until mbfs_tree_free; protos and the
 * strings in them belong to the struct protos they are in.
 */
#ifndef MBFS_TREE_INT_H
#define MBFS_TREE_INT_H

#include <pthread.h>

#include "name.h"
#include "tree.h"
#include "util.h"

/* Spaces of the string-id registry (tree_unlisted.c). */
enum strid_space {
	SID_PUBLIC_CARD = 1,
	SID_PUBLIC_DASHBOARD,
	SID_PARAMS,
	SID_OBJECT,                   /* a backend's object keys (objects.h) */
};

/* One entry of the schema id registry (tree_build.c). */
struct schema_id {
	int64_t db_id;
	char *name;
	int64_t id;
};

struct mbfs_tree {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* a listing fetch finished */
	struct mb_client *client;
	const struct mbfs_options *opts;
	struct mbfs_meta *meta;
	struct mbfs_inode_table nodes;    /* ino → node */
	struct mbfs_ident_table idents;   /* (kind, fmt, id) → node */
	uint64_t next_big;                /* numbers for ids beyond 48 bits */
	uint64_t content_seq;             /* SQL text generations */
	uint64_t list_seq;                /* listing generations (list_gen) */
	/* (database, schema) → id; builders run without the tree lock, so
	 * the registry has a lock of its own (taken alone, never nested) */
	pthread_mutex_t schema_lock;
	struct schema_id *schema_ids;
	size_t n_schema_ids, cap_schema_ids;
	enum mbfs_fmt formats[MBFS_MAX_FORMATS];
	int n_formats;
	mbfs_tree_gone_fn gone;
	void *gone_arg;
	struct mbfs_queries *queries;     /* queries/<db>/ contents, or NULL */
	/* identities that are not Metabase integers (strid_get) */
	struct mbfs_map sids[5];          /* per enum strid_space: string → id */
	size_t sid_n;
	int64_t sid_next;
	mbfs_tree_error_fn on_error;
	void *error_arg;
	struct mbfs_pool *pool;           /* fetch jobs (try scope), or NULL */
	bool stopping;                    /* unmounting: no new fetch jobs */
};

/* One object a listing wants to show: a directory, or a file in n_fmts
 * formats (one node per format). */
struct proto {
	enum mbfs_kind kind;
	int64_t id;
	int64_t db_id;
	char *schema;
	char *raw_name;
	enum mb_model model;
	char *description;
	char *updated_at;
	char *sql;                    /* native cards: goes to the .sql node */
	int64_t dashboard_id;
	int64_t card_id;
	char *params;
	char *param_defs;
	char *uuid;
	char *key;                    /* OBJ_*: the backend's key */
	char *xattrs;                 /* OBJ_*: "name\tvalue\n" lines */
	int64_t name_id;              /* the collision suffix's number when
					 not id (OBJ_*: the server's id) */
	enum mbfs_fmt fmts[MBFS_NAME_MAX_EXTS];
	int n_fmts;                   /* 0: a directory */
	const char *fixed_name;       /* names that need no escaping/collisions */
	int rank;                     /* collection 0, dashboard 1, card 2, table 3 */
	bool name_only;               /* takes part in naming, is not listed
					 (queries/: so that names are those
					 of databases/) */
};

struct protos {
	struct proto *v;
	size_t n, cap;
	bool keep_order;              /* readdir in this order, not by name */
};

/* ---- tree.c -------------------------------------------------------------- */

enum mbfs_status tree_oom(struct mbfs_err *err);
/* A new zeroed proto at the end of p (NULL: out of memory). */
struct proto *tree_protos_add(struct protos *p);
/* The node of an identity, created on first sight. Lock held. */
struct mbfs_node *tree_node_get(struct mbfs_tree *t, enum mbfs_kind kind,
				enum mbfs_fmt fmt, int64_t id);
/* Remember that dir lists n (for mbfs_tree_names_of). Lock held. */
void tree_node_add_parent(struct mbfs_node *n, struct mbfs_node *dir);
/* Replace *dst with a copy of src (NULL allowed) unless equal. */
void tree_set_str(char **dst, const char *src);
/* The entry called name in dir's listing, or NULL. Lock held. */
struct mbfs_dirent *tree_entry_find(const struct mbfs_node *dir,
				    const char *name);
/* The listing machinery tree_local.c shares (lock held where it
 * touches nodes). */
void tree_entries_free(struct mbfs_dirent *v, size_t n);
int tree_dirent_cmp(const void *a, const void *b);
/* dir's listing becomes ents (k, order or NULL; all taken over). */
void tree_set_entries(struct mbfs_tree *t, struct mbfs_node *dir,
		      struct mbfs_dirent *ents, size_t k, size_t *order);
/* queries/<db>/ from the query store (tree_local.c). Lock held. */
enum mbfs_status tree_local_listing(struct mbfs_tree *t,
				    struct mbfs_node *dir,
				    struct mbfs_err *err);
/* Make dir's listing fresh (tree.c ensure_listing). Lock held on entry
 * and exit, dropped while fetching: BLOCKS (WOULD_BLOCK in a try scope). */
enum mbfs_status tree_listing(struct mbfs_tree *t, struct mbfs_node *dir,
			      struct mbfs_err *err);

/* ---- tree_build.c: fill p with what dir should contain ------------------- */

/* A directory of the core's own (".mbfs"), id 0 (NULL: out of memory). */
struct proto *tree_build_fixed_dir(struct protos *p, enum mbfs_kind kind,
				   const char *name);
enum mbfs_status tree_build_root(struct mbfs_tree *t, struct protos *p,
				 struct mbfs_err *err);
enum mbfs_status tree_build_control(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err);
enum mbfs_status tree_build_collection(struct mbfs_tree *t, int64_t id,
				       struct protos *p, struct mbfs_err *err);
enum mbfs_status tree_build_personal(struct mbfs_tree *t, struct protos *p,
				     struct mbfs_err *err);
enum mbfs_status tree_build_cards(struct mbfs_tree *t, struct protos *p,
				  struct mbfs_err *err);
enum mbfs_status tree_build_dashboards(struct mbfs_tree *t, struct protos *p,
				       struct mbfs_err *err);
enum mbfs_status tree_build_dashboard(struct mbfs_tree *t,
				      const struct mbfs_node *dir,
				      struct protos *p, struct mbfs_err *err);
enum mbfs_status tree_build_databases(struct mbfs_tree *t, struct protos *p,
				      struct mbfs_err *err);
enum mbfs_status tree_build_database(struct mbfs_tree *t, int64_t db_id,
				     struct protos *p, struct mbfs_err *err);
enum mbfs_status tree_build_schema(struct mbfs_tree *t,
				   const struct mbfs_node *dir,
				   struct protos *p, struct mbfs_err *err);
enum mbfs_status tree_build_metadata(struct mbfs_tree *t, struct protos *p,
				     struct mbfs_err *err);
enum mbfs_status tree_build_queries(struct mbfs_tree *t, struct protos *p,
				    struct mbfs_err *err);
enum mbfs_status tree_build_public(struct mbfs_tree *t, struct protos *p,
				   struct mbfs_err *err);
enum mbfs_status tree_build_public_list(struct mbfs_tree *t,
					const struct mbfs_node *dir,
					struct protos *p, struct mbfs_err *err);
enum mbfs_status tree_build_public_dashboard(struct mbfs_tree *t,
					     const struct mbfs_node *dir,
					     struct protos *p,
					     struct mbfs_err *err);

/* ---- tree_objects.c: a backend described by objects (objects.h) -------- */

/* The root (key NULL) or an OBJ_DIR's contents, from the client's
 * `objects` op. No lock held; BLOCKS on the network. */
enum mbfs_status tree_build_objects(struct mbfs_tree *t, const char *key,
				    struct protos *p, struct mbfs_err *err);
/* True when the client describes its tree by objects. */
bool tree_by_objects(const struct mbfs_tree *t);

/* ---- tree_unlisted.c ----------------------------------------------------- */

/* The id of (space, s), assigned on first sight and never reused in the
 * mount; 0 when out of memory or past the registry's cap. Lock held. */
int64_t tree_strid_get(struct mbfs_tree *t, enum strid_space space,
		       const char *s);
/* The same from a builder (takes the lock). */
int64_t tree_strid_locked(struct mbfs_tree *t, enum strid_space space,
			  const char *s);
void tree_strid_free_all(struct mbfs_tree *t);

#endif
