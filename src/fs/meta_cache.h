/*
 * meta_cache.h — a TTL cache of the Metabase objects that several
 * directories and the metadata/ files are built from: the card, collection,
 * dashboard, database and user lists, the current user, and each dashboard
 * with its tabs and dashcards (DESIGN.md §1, "metadata is cached with
 * -o meta_ttl").
 *
 * One entry per (kind, id). An entry holds an immutable, reference-counted
 * snapshot: a caller gets a reference, reads it without any lock, and puts
 * it back; a refresh swaps in a new snapshot and the old one is freed when
 * its last reader puts it. So cards/ and every collection listing share one
 * GET /api/card, and a dashboard's two directories and its tab directories
 * share one GET /api/dashboard/:id.
 *
 * Freshness: a snapshot is fresh for meta_ttl seconds after its fetch,
 * until mbfs_meta_invalidate (touch) or mbfs_meta_invalidate_all (SIGHUP).
 * Fetches are single flight per entry. A failed refresh keeps serving the
 * previous snapshot (and tries again after error_ttl); a failure with no
 * previous snapshot is remembered for error_ttl and returned at once.
 *
 * List kinds can also keep the list's JSON array as text (metadata/ files):
 * ask with MBFS_META_WANT_ARRAY; from then on every refresh of that entry
 * keeps it.
 *
 * Locking: one internal mutex, never held across a fetch. Held while a
 * fetch job is submitted to the pool and while waiters are woken (their
 * retries run on the pool, never inline). Lock order: tree → meta → pool
 * (tree.c calls in with its lock held for the non-blocking calls: peek,
 * put, invalidate, wake).
 * Blocking: mbfs_meta_get blocks on the network; everything else never does.
 */
#ifndef MBFS_META_CACHE_H
#define MBFS_META_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_client.h"
#include "mb_types.h"
#include "status.h"

enum mbfs_meta_kind {
	MBFS_META_CARDS = 1,       /* GET /api/card?f=all              list */
	MBFS_META_COLLECTIONS,     /* GET /api/collection              list */
	MBFS_META_DASHBOARDS,      /* GET /api/dashboard?f=all         list */
	MBFS_META_DATABASES,       /* GET /api/database (data)         list */
	MBFS_META_USERS,           /* GET /api/user (data; admins)     list */
	MBFS_META_CURRENT_USER,    /* GET /api/user/current */
	MBFS_META_DASHBOARD,       /* GET /api/dashboard/:id (id) */
	/* GET /api/native-query-snippet: list, kept as text only (no
	 * decoded form). An explicit value: it numbers metadata/snippets.json */
	MBFS_META_SNIPPETS = 16,
};

#define MBFS_META_WANT_ARRAY 1u

struct mbfs_meta_snap {
	enum mbfs_meta_kind kind;
	int64_t id;
	uint64_t gen;              /* > 0; grows with every successful fetch */
	double fetched_at;         /* wall clock (seconds since the epoch) */
	/* list kinds, when the array was wanted: the JSON array as text */
	char *array;
	size_t array_len;
	size_t count;              /* elements in that array */
	union {
		struct mb_card_list cards;        /* sorted by id */
		struct mb_collection_list collections;
		struct mb_dashboard_list dashboards;
		struct mb_database_list databases;
		struct mb_user_list users;
		struct mb_user user;
		struct mb_dashboard dashboard;
	} u;
	unsigned refs;             /* private to meta_cache.c */
};

struct mbfs_meta;
struct mbfs_pool;

/* client is borrowed; ttl and error_ttl in seconds. NULL on ENOMEM. */
struct mbfs_meta *mbfs_meta_new(struct mb_client *client, double ttl,
				double error_ttl);
void mbfs_meta_free(struct mbfs_meta *m);

/*
 * A fresh snapshot of (kind, id) (id is 0 except for DASHBOARD), fetching
 * it if needed. On MBFS_OK *out holds a reference: release it with
 * mbfs_meta_put. Blocks (interruptible through the cancel scope) — except
 * in a try scope (cancel.h), where it starts the fetch as a job on the
 * worker pool unless one is in flight, queues the request on it and
 * returns MBFS_ERR_WOULD_BLOCK; the fetch's end wakes it with the outcome,
 * and when every request waiting for the job is interrupted the transfer
 * is aborted.
 */
enum mbfs_status mbfs_meta_get(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			       int64_t id, unsigned flags,
			       const struct mbfs_meta_snap **out,
			       struct mbfs_err *err);

/* Start fetching (kind, id) on the worker pool unless it is fresh, being
 * fetched, or failed within error_ttl; nobody waits for it (a get that
 * follows joins the fetch). For lists a caller will want next: they
 * arrive side by side instead of one after another. Never blocks. */
void mbfs_meta_prefetch(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			int64_t id);

/* The current snapshot, fresh or not, without fetching (NULL if none).
 * A reference, as above. Never blocks. */
const struct mbfs_meta_snap *mbfs_meta_peek(struct mbfs_meta *m,
					    enum mbfs_meta_kind kind,
					    int64_t id);

void mbfs_meta_put(struct mbfs_meta *m, const struct mbfs_meta_snap *s);

/* Refetch (kind, id) on its next use (touch); forget its failure. */
void mbfs_meta_invalidate(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			  int64_t id);
/* The endpoint behind a kind, without the leading '/' ("api/card"):
 * messages, and user.mb.url of metadata/ files. Never NULL. */
const char *mbfs_meta_endpoint(enum mbfs_meta_kind k);

/* Told (with the cache's lock held: it must only record, taking at most
 * a leaf lock) when a refresh fails and the previous copy is served. */
void mbfs_meta_set_error_hook(struct mbfs_meta *m,
			      void (*fn)(void *arg, const char *what,
					 const struct mbfs_err *err),
			      void *arg);
/* Every entry (SIGHUP). */
void mbfs_meta_invalidate_all(struct mbfs_meta *m);
/* Wake every waiter so an interrupted one notices (any thread). */
void mbfs_meta_wake(struct mbfs_meta *m);
/* The pool fetch jobs run on (borrowed; without one, a try scope gets
 * MBFS_ERR_UNMOUNTING). */
void mbfs_meta_set_pool(struct mbfs_meta *m, struct mbfs_pool *pool);
/* Unmounting: start no new fetch jobs (those in flight end on their own). */
void mbfs_meta_stop(struct mbfs_meta *m);

#endif
