/*
 * fake.h — the fake backend: an in-memory struct mb_client, behind the same
 * ops struct as the Metabase client, that the core can be driven with
 * without a server or a kernel (the export engine, the namespace, the
 * metadata cache and the whole filesystem core: tests/unit/test_export.c,
 * test_tree.c, test_meta_cache.c, test_namespace.c, test_fs.c).
 *
 * A metadata op answers, in this order:
 *  1. what was set for the op's path with fake_set(): a JSON text, decoded
 *     by the real mb_json decoders (a list body goes to the sink byte by
 *     byte for 64 bytes, then the rest: the decoder must not care where the
 *     network cuts it), or a failure status; calls are counted per path
 *     (fake_calls). Paths: "user", "schemas:DB", "tables:DB:SCHEMA",
 *     "dashboard:ID", "list:N" (fake_list_path);
 *  2. a fake made by fake_new() answers nothing else: an unset path is a
 *     404 ("PATH: fake failure");
 *  3. otherwise the canned catalog (collection items, cards, databases,
 *     schemas, tables): the arrays below, which a test edits between calls
 *     (or under fake_lock). The bulk lists the namespace builds collection
 *     directories from are made from the catalog as the server would send
 *     them: GET /api/collection from the collection items (location from
 *     the chain of parents), GET /api/dashboard?f=all from the dashboard
 *     items, GET /api/card?f=all from the card, dataset and metric items
 *     merged by id with cards[] (cards[] gives the name, archived flag and
 *     updated_at when it has them; a cards[] entry no item places is in the
 *     root collection); databases from dbs[]. Each list's fetches are
 *     counted whichever step answered them (fake_list_calls,
 *     fake_bulk_calls).
 *
 * Fault switches: a failure status per path (fake_set with json NULL) or
 * per catalog list (fail_*); delay_ms before every answer of steps 1 and 2,
 * list_delay_us before every catalog list (single flight is observable);
 * export_run answers a canned body (fake_set_export) fed to the sink in
 * chunks of a chosen size, then a chosen final status and message (a body
 * cut by a failure, an in-band error, a 2xx with a wrong content type),
 * after export_delay_us; with `gated` set it waits at a gate until the test
 * hands out permits (fake_release), so exports can be held in flight and
 * counted (running, max_running, waiting, export_calls; fake_wait_for).
 *
 * Locking: `lock` protects every field; the ops take it themselves. A test
 * edits fields between calls when no other thread can call the fake, or
 * under fake_lock(). cond is broadcast whenever a counter changes.
 * Memory: texts given to fake_set/fake_set_export and the catalog's
 * strings are borrowed (keep them alive); answers handed to the core are
 * allocated as the mb_types destructors expect. Out of memory aborts (a
 * test backend). No call blocks except by the delays and the gate above.
 */
#ifndef MBFS_FAKE_H
#define MBFS_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mb_client.h"
#include "mb_types.h"
#include "status.h"

#define FAKE_MAX 64

struct fake_item {
	int64_t collection_id;     /* which collection lists it (0 = root) */
	enum mb_model model;
	int64_t id;
	const char *name;
	int64_t dashboard_id;
	bool archived;
	const char *updated_at;
	int64_t personal_owner_id; /* collections: 0 unless personal */
};

struct fake_card {
	int64_t id;
	const char *name;
	bool archived;
	const char *updated_at;
};

struct fake_db {
	int64_t id;
	const char *name;
};

struct fake_schema {
	int64_t db_id;
	const char *name;
};

struct fake_table {
	int64_t id;
	int64_t db_id;
	const char *schema;
	const char *name;
	bool active;
	bool hidden;
};

/* What one path answers (fake_set). */
struct fake_body {
	char path[64];
	const char *json;          /* NULL: answer `status` */
	enum mbfs_status status;
};

struct fake_client {
	struct mb_client base;     /* must be first */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool on_heap;              /* fake_new(): destroy frees it */

	/* answers by path (fake_set) */
	struct fake_body bodies[FAKE_MAX];
	int n_bodies;
	int body_calls[FAKE_MAX];
	bool answers_only;         /* fake_new(): an unset path is a 404 */
	unsigned delay_ms;

	/* catalog */
	struct fake_item items[FAKE_MAX];
	size_t n_items;
	struct fake_card cards[FAKE_MAX];
	size_t n_cards;
	struct fake_db dbs[FAKE_MAX];
	size_t n_dbs;
	struct fake_schema schemas[FAKE_MAX];
	size_t n_schemas;
	struct fake_table tables[FAKE_MAX];
	size_t n_tables;

	/* failure switches (MBFS_OK = answer normally) */
	enum mbfs_status fail_cards, fail_collections,
		fail_dashboards, fail_databases, fail_schemas, fail_tables;

	useconds_t list_delay_us;  /* a catalog list_get sleeps this long first */

	/* call counters: the lists the catalog answered (fake_list_calls
	 * adds those answered by path) */
	int n_cards_calls, n_collections_calls,
		n_dashboards_calls, n_databases_calls, n_schemas_calls,
		n_tables_calls;

	/* export behaviour */
	const char *body;
	size_t body_len;
	size_t chunk;              /* 0: the whole body in one sink call */
	const char *content_type;
	long http_status;
	enum mbfs_status export_status; /* returned after feeding the body */
	const char *export_msg;
	useconds_t export_delay_us;     /* sleep before answering */

	/* export gate */
	bool gated;
	int permits;
	int waiting;               /* exports blocked at the gate */

	/* export statistics */
	int export_calls;
	int running;
	int max_running;
	char last_format[16];
	int64_t last_id;
};


/* Lifetime: fake_init()/fake_fini() on the caller's own struct (a catalog
 * fake), or fake_new() on the heap (answers only what fake_set gives it),
 * released by the client's destroy op. */
void fake_init(struct fake_client *f);
void fake_fini(struct fake_client *f);
struct fake_client *fake_new(void);

void fake_lock(struct fake_client *f);
void fake_unlock(struct fake_client *f);

/* Set (or replace) what `path` answers: json (borrowed), or the failure st
 * when json is NULL. At most FAKE_MAX paths. */
void fake_set(struct fake_client *f, const char *path, const char *json,
	      enum mbfs_status st);
/* How often `path` was answered by step 1; fake_reset_calls zeroes them. */
int fake_calls(struct fake_client *f, const char *path);
void fake_reset_calls(struct fake_client *f);
/* "list:N", the path of an mb_list (a constant string). */
const char *fake_list_path(enum mb_list which);
/* How often list `which` was fetched: answered by path or by the
 * catalog. */
int fake_list_calls(struct fake_client *f, enum mb_list which);
/* How often each of the three lists collection directories are built
 * from (collections, dashboards, cards) was fetched, when that is the same
 * number for all three; else -1. */
int fake_bulk_calls(struct fake_client *f);

/* The canned export answer (body and strings borrowed). */
void fake_set_export(struct fake_client *f, const char *body, size_t len,
		     size_t chunk, const char *ctype, enum mbfs_status st,
		     const char *msg);
/* Let n gated exports through. */
void fake_release(struct fake_client *f, int n);
/* *field (a counter of f) read under the lock. */
int fake_get_int(struct fake_client *f, const int *field);
/* Wait (at most timeout_ms) until *field >= want; true on success. */
bool fake_wait_for(struct fake_client *f, const int *field, int want,
		   int timeout_ms);

#endif
