/*
 * meta_cache.c — owns the shared TTL cache of Metabase objects (lists,
 * the current user, dashboards): fetching them decoded through the
 * client's ops, reference-counted snapshots, single flight, failure
 * memory and invalidation. See meta_cache.h.
 */
#include "meta_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inode.h"
#include "cancel.h"
#include "log.h"
#include "pool.h"
#include "util.h"
#include "waitq.h"

struct job;

struct entry {
	enum mbfs_meta_kind kind;
	int64_t id;
	struct mbfs_meta_snap *snap;   /* the newest good snapshot, or NULL */
	double fresh_until;            /* monotonic */
	bool busy;                     /* a fetch is in flight */
	bool want_array;
	uint64_t inval_seq;            /* bumped by every invalidation */
	bool failed;                   /* the last fetch failed and no snap */
	struct mbfs_err error;
	double failed_until;           /* monotonic: fail fast until then */
	struct mbfs_waitq q;           /* requests waiting for the fetch */
	struct job *job;               /* the fetch job in flight, or NULL */
};

/* A fetch that requests wait for without a thread, on the worker pool. */
struct job {
	struct mbfs_pool_item item;
	struct mbfs_meta *m;
	struct entry *e;
	struct mbfs_cancel cancel;     /* fired when every waiter left */
};

struct mbfs_meta {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mb_client *client;
	double ttl, error_ttl;
	struct mbfs_ident_table entries;   /* (kind, id) → struct entry */
	uint64_t next_gen;
	struct mbfs_pool *pool;            /* fetch jobs (try scope), or NULL */
	bool stopping;                     /* unmounting: no new fetch jobs */
	/* told (lock held) of a refresh that failed while the previous copy
	 * is served, so that .mbfs/errors shows it */
	void (*on_error)(void *arg, const char *what, const struct mbfs_err *err);
	void *error_arg;
};

void mbfs_meta_set_error_hook(struct mbfs_meta *m,
			      void (*fn)(void *arg, const char *what,
					 const struct mbfs_err *err),
			      void *arg)
{
	pthread_mutex_lock(&m->lock);
	m->on_error = fn;
	m->error_arg = arg;
	pthread_mutex_unlock(&m->lock);
}

const char *mbfs_meta_endpoint(enum mbfs_meta_kind k)
{
	switch (k) {
	case MBFS_META_CARDS: return "api/card";
	case MBFS_META_COLLECTIONS: return "api/collection";
	case MBFS_META_DASHBOARDS: return "api/dashboard";
	case MBFS_META_DATABASES: return "api/database";
	case MBFS_META_USERS: return "api/user";
	case MBFS_META_CURRENT_USER: return "api/user/current";
	case MBFS_META_DASHBOARD: return "api/dashboard/:id";
	case MBFS_META_SNIPPETS: return "api/native-query-snippet";
	}
	return "";
}

static struct entry *entry_find(struct mbfs_meta *m, enum mbfs_meta_kind kind,
				int64_t id)
{
	return mbfs_ident_table_get(&m->entries, (uint64_t)kind, (uint64_t)id);
}

static bool is_list(enum mbfs_meta_kind k)
{
	return (k >= MBFS_META_CARDS && k <= MBFS_META_USERS) ||
	       k == MBFS_META_SNIPPETS;
}

static void snap_free(struct mbfs_meta_snap *s)
{
	if (!s)
		return;
	free(s->array);
	switch (s->kind) {
	case MBFS_META_CARDS: mb_card_list_free(&s->u.cards); break;
	case MBFS_META_COLLECTIONS: mb_collection_list_free(&s->u.collections); break;
	case MBFS_META_DASHBOARDS: mb_dashboard_list_free(&s->u.dashboards); break;
	case MBFS_META_DATABASES: mb_database_list_free(&s->u.databases); break;
	case MBFS_META_USERS: mb_user_list_free(&s->u.users); break;
	case MBFS_META_CURRENT_USER: mb_user_free(&s->u.user); break;
	case MBFS_META_DASHBOARD: mb_dashboard_free(&s->u.dashboard); break;
	case MBFS_META_SNIPPETS: break; /* text only */
	}
	free(s);
}

struct mbfs_meta *mbfs_meta_new(struct mb_client *client, double ttl,
				double error_ttl)
{
	struct mbfs_meta *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->client = client;
	m->ttl = ttl;
	m->error_ttl = error_ttl;
	mbfs_ident_table_init(&m->entries);
	return m;
}

static void entry_free(void *val, void *arg)
{
	(void)arg;
	struct entry *e = val;
	mbfs_waitq_destroy(&e->q);
	if (e->snap && --e->snap->refs == 0)
		snap_free(e->snap);
	free(e);
}

void mbfs_meta_free(struct mbfs_meta *m)
{
	if (!m)
		return;
	mbfs_ident_table_each(&m->entries, entry_free, NULL);
	mbfs_ident_table_destroy(&m->entries);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The last request waiting for e's fetch job was interrupted: stop the
 * transfer. Lock held. */
static void all_left(void *owner)
{
	struct entry *e = owner;
	if (e->job)
		mbfs_cancel_fire(&e->job->cancel);
}

/* Lock held. NULL on ENOMEM. */
static struct entry *entry_get(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			       int64_t id)
{
	struct entry *e = entry_find(m, kind, id);
	if (e)
		return e;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->kind = kind;
	e->id = id;
	mbfs_waitq_init(&e->q, &m->lock, e, all_left, e);
	if (!mbfs_ident_table_put(&m->entries, (uint64_t)kind, (uint64_t)id, e)) {
		free(e);
		return NULL;
	}
	return e;
}

static int card_id_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct mb_card *)a)->id;
	int64_t y = ((const struct mb_card *)b)->id;
	return x < y ? -1 : x > y;
}

static const enum mb_list list_of[] = {
	[MBFS_META_CARDS] = MB_LIST_CARDS,
	[MBFS_META_COLLECTIONS] = MB_LIST_COLLECTIONS,
	[MBFS_META_DASHBOARDS] = MB_LIST_DASHBOARDS,
	[MBFS_META_DATABASES] = MB_LIST_DATABASES,
	[MBFS_META_USERS] = MB_LIST_USERS,
};

/* Fetch and decode (kind, id) into a new snapshot. No lock held. */
static enum mbfs_status fetch(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			      int64_t id, bool want_array,
			      struct mbfs_meta_snap **out, struct mbfs_err *err)
{
	struct mbfs_meta_snap *s = calloc(1, sizeof *s);
	if (!s)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	s->kind = kind;
	s->id = id;
	struct mb_client *c = m->client;
	enum mbfs_status st;
	if (kind == MBFS_META_SNIPPETS) {
		st = c->ops->list(c, MB_LIST_SNIPPETS, NULL, &s->array,
				  &s->array_len, &s->count, err);
	} else if (is_list(kind)) {
		st = c->ops->list(c, list_of[kind], &s->u,
				  want_array ? &s->array : NULL, &s->array_len,
				  &s->count, err);
		if (st == MBFS_OK && kind == MBFS_META_CARDS && s->u.cards.n)
			qsort(s->u.cards.v, s->u.cards.n,
			      sizeof *s->u.cards.v, card_id_cmp);
	} else if (kind == MBFS_META_CURRENT_USER) {
		st = c->ops->current_user(c, &s->u.user, err);
	} else {
		st = c->ops->dashboard(c, id, &s->u.dashboard, err);
	}
	if (st != MBFS_OK) {
		snap_free(s);
		return st;
	}
	s->fetched_at = mbfs_wall_now();
	s->refs = 1;
	*out = s;
	return MBFS_OK;
}

/* A fetch of e ended (lock held): keep what it brought, remember a
 * failure, and give every request waiting for it the outcome. OK when e
 * now has a usable snapshot; otherwise the error, in err. */
static enum mbfs_status fetch_done(struct mbfs_meta *m, struct entry *e,
				   uint64_t seq, bool want, enum mbfs_status fst,
				   struct mbfs_meta_snap *s, struct mbfs_err *ferr,
				   struct mbfs_err *err)
{
	enum mbfs_status st = MBFS_OK;
	double now = mbfs_mono_now();
	e->busy = false;
	pthread_cond_broadcast(&m->cond);
	if (fst == MBFS_OK) {
		s->gen = ++m->next_gen;
		if (e->snap && --e->snap->refs == 0)
			snap_free(e->snap);
		e->snap = s;
		e->failed = false;
		/* an invalidation during the fetch wins: refetch next time */
		e->fresh_until = seq == e->inval_seq ? now + m->ttl : 0;
	} else if (mbfs_status_abandoned(fst)) {
		/* our reader gave up, not the server: remember nothing */
		*err = *ferr;
		st = fst;
	} else {
		bool gone = fst == MBFS_ERR_NOT_FOUND || fst == MBFS_ERR_DENIED;
		if (gone && e->snap) {
			/* the server's answer is authoritative: forget the copy */
			if (--e->snap->refs == 0)
				snap_free(e->snap);
			e->snap = NULL;
		}
		if (e->snap && (!want || e->snap->array)) {
			mbfs_warn("refreshing GET /%s failed, serving the previous copy: %s",
				  mbfs_meta_endpoint(e->kind), ferr->msg);
			if (m->on_error) {
				char what[96];
				snprintf(what, sizeof what,
					 "GET /%s (refresh failed, previous copy served)",
					 mbfs_meta_endpoint(e->kind));
				m->on_error(m->error_arg, what, ferr);
			}
			e->fresh_until = now + m->error_ttl;
		} else {
			e->failed = true;
			e->error = *ferr;
			e->failed_until = now + m->error_ttl;
			*err = *ferr;
			st = fst;
		}
	}
	mbfs_waitq_wake(&e->q, UINT64_MAX, st, st == MBFS_OK ? NULL : err);
	return st;
}

/* Fetch e without the lock (held on entry and exit). */
static enum mbfs_status fetch_entry(struct mbfs_meta *m, struct entry *e,
				    struct mbfs_err *err)
{
	e->busy = true;
	uint64_t seq = e->inval_seq;
	bool want = e->want_array;
	pthread_mutex_unlock(&m->lock);
	struct mbfs_meta_snap *s = NULL;
	struct mbfs_err ferr;
	mbfs_err_clear(&ferr);
	enum mbfs_status fst = fetch(m, e->kind, e->id, want, &s, &ferr);
	pthread_mutex_lock(&m->lock);
	return fetch_done(m, e, seq, want, fst, s, &ferr, err);
}

static void job_run(void *arg)
{
	struct job *j = arg;
	struct mbfs_meta *m = j->m;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	mbfs_cancel_enter(&j->cancel);
	pthread_mutex_lock(&m->lock);
	fetch_entry(m, j->e, &err);
	j->e->job = NULL;
	pthread_mutex_unlock(&m->lock);
	mbfs_cancel_leave();
	free(j);
}

/* The snapshot a get would take (it has the array when one is wanted).
 * Lock held. */
static bool entry_usable(const struct entry *e)
{
	return e->snap && (!e->want_array || e->snap->array);
}

/* No snapshot, and the last fetch failed within error_ttl: a get answers
 * that failure. Lock held. */
static bool entry_failed_recently(const struct entry *e, double now)
{
	return !e->snap && e->failed && now < e->failed_until;
}

/* Whether a get now answers from e without a fetch (once no fetch is in
 * flight): a usable snapshot within meta_ttl, or a recent failure. Lock
 * held. */
static bool entry_settled(const struct entry *e, double now)
{
	return (entry_usable(e) && now < e->fresh_until) ||
	       entry_failed_recently(e, now);
}

/* Start e's fetch as a job on the worker pool (e is not busy). Lock
 * held. */
static enum mbfs_status start_job(struct mbfs_meta *m, struct entry *e,
				  struct mbfs_err *err)
{
	if (m->stopping || !m->pool)
		return mbfs_err_set(err, MBFS_ERR_UNMOUNTING, 0, "unmounting");
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	j->m = m;
	j->e = e;
	atomic_init(&j->cancel.fired, false);
	j->item.fn = job_run;
	j->item.arg = j;
	e->busy = true; /* before the lock is let go */
	e->job = j;
	mbfs_pool_submit_item(m->pool, &j->item);
	return MBFS_OK;
}

/* In a try scope: start e's fetch on the worker pool unless one is in
 * flight, and queue the request on it. Lock held. */
static enum mbfs_status wait_entry(struct mbfs_meta *m, struct entry *e,
				   struct mbfs_err *err)
{
	if (!e->busy) {
		enum mbfs_status st = start_job(m, e, err);
		if (st != MBFS_OK)
			return st;
	}
	return mbfs_wait_on(&e->q, 0, err);
}

void mbfs_meta_prefetch(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			int64_t id)
{
	pthread_mutex_lock(&m->lock);
	struct entry *e = entry_get(m, kind, id);
	if (e && !e->busy && !entry_settled(e, mbfs_mono_now())) {
		struct mbfs_err err;
		mbfs_err_clear(&err);
		/* not started (unmounting, no memory): the get that follows
		 * fetches or says why */
		(void)start_job(m, e, &err);
	}
	pthread_mutex_unlock(&m->lock);
}

enum mbfs_status mbfs_meta_get(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			       int64_t id, unsigned flags,
			       const struct mbfs_meta_snap **out,
			       struct mbfs_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&m->lock);
	struct entry *e = entry_get(m, kind, id);
	if (!e) {
		pthread_mutex_unlock(&m->lock);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	if ((flags & MBFS_META_WANT_ARRAY) && is_list(kind))
		e->want_array = true;
	enum mbfs_status st = MBFS_OK;
	/* the retry of a request that waited for e's fetch */
	struct mbfs_err werr;
	enum mbfs_status wst;
	bool waited = mbfs_waited_for(e, &wst, &werr);
	for (;;) {
		double now = mbfs_mono_now();
		bool usable = entry_usable(e);
		if (usable && now < e->fresh_until && !e->busy)
			break;
		if (waited) {
			/* take what the fetch we waited for brought, even when
			 * a zero TTL made it stale at once */
			waited = false;
			if (wst == MBFS_OK && usable)
				break;
			if (wst != MBFS_OK && wst != MBFS_ERR_INTERRUPTED) {
				*err = werr;
				st = wst;
				break;
			}
		}
		if (entry_failed_recently(e, now) && !e->busy) {
			*err = e->error;
			st = err->status;
			break;
		}
		if (!mbfs_may_wait()) {
			st = wait_entry(m, e, err);
			break;
		}
		if (mbfs_cancel_fired(mbfs_cancel_current())) {
			st = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					  "interrupted while waiting for a list");
			break;
		}
		if (e->busy) {
			pthread_cond_wait(&m->cond, &m->lock);
			continue;
		}
		st = fetch_entry(m, e, err);
		break;
	}
	if (st == MBFS_OK) {
		e->snap->refs++;
		*out = e->snap;
	}
	pthread_mutex_unlock(&m->lock);
	return st;
}

void mbfs_meta_set_pool(struct mbfs_meta *m, struct mbfs_pool *pool)
{
	pthread_mutex_lock(&m->lock);
	m->pool = pool;
	pthread_mutex_unlock(&m->lock);
}

void mbfs_meta_stop(struct mbfs_meta *m)
{
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_mutex_unlock(&m->lock);
}

const struct mbfs_meta_snap *mbfs_meta_peek(struct mbfs_meta *m,
					    enum mbfs_meta_kind kind,
					    int64_t id)
{
	pthread_mutex_lock(&m->lock);
	struct entry *e = entry_find(m, kind, id);
	struct mbfs_meta_snap *s = e ? e->snap : NULL;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&m->lock);
	return s;
}

void mbfs_meta_put(struct mbfs_meta *m, const struct mbfs_meta_snap *cs)
{
	if (!cs)
		return;
	struct mbfs_meta_snap *s = (struct mbfs_meta_snap *)cs;
	pthread_mutex_lock(&m->lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (last)
		snap_free(s);
}

static void invalidate_entry(struct entry *e)
{
	e->fresh_until = 0;
	e->inval_seq++;
	e->failed = false;
}

void mbfs_meta_invalidate(struct mbfs_meta *m, enum mbfs_meta_kind kind,
			  int64_t id)
{
	pthread_mutex_lock(&m->lock);
	struct entry *e = entry_find(m, kind, id);
	if (e)
		invalidate_entry(e);
	pthread_mutex_unlock(&m->lock);
}

static void invalidate_one(void *val, void *arg)
{
	(void)arg;
	invalidate_entry(val);
}

void mbfs_meta_wake(struct mbfs_meta *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void mbfs_meta_invalidate_all(struct mbfs_meta *m)
{
	pthread_mutex_lock(&m->lock);
	mbfs_ident_table_each(&m->entries, invalidate_one, NULL);
	pthread_mutex_unlock(&m->lock);
}
