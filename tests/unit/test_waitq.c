/*
 * test_waitq.c — unit tests of waitq.c and the try scope of cancel.c:
 * waking by threshold with an outcome, a retry taking the outcome of the
 * object it waited for (once), cancellation (on_empty when the last live
 * waiter leaves), references, and the race between a wake and an
 * interrupt hammered from two threads: exactly one of them acts, every
 * time, and no reference is lost or dropped twice.
 */
#include "cancel.h"
#include "check.h"
#include "waitq.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct tw {
	struct mbfs_waiter w;
	atomic_int refs;
	atomic_int woken;
};

static void tw_get(struct mbfs_waiter *w)
{
	atomic_fetch_add(&((struct tw *)w)->refs, 1);
}

static void tw_put(struct mbfs_waiter *w)
{
	atomic_fetch_sub(&((struct tw *)w)->refs, 1);
}

static void tw_wake(struct mbfs_waiter *w)
{
	struct tw *t = (struct tw *)w;
	atomic_fetch_add(&t->woken, 1);
	tw_put(w); /* the retry is done at once here */
}

static void tw_init(struct tw *t)
{
	atomic_init(&t->w.state, MBFS_W_RUNNING);
	t->w.wake = tw_wake;
	t->w.get = tw_get;
	t->w.put = tw_put;
	atomic_init(&t->refs, 1);
	atomic_init(&t->woken, 0);
}

static int empties;
static void on_empty(void *owner)
{
	(void)owner;
	empties++;
}

static void test_threshold_and_outcome(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct mbfs_waitq q;
	int obj = 0;
	mbfs_waitq_init(&q, &lock, &obj, NULL, NULL);
	struct tw a, b;
	tw_init(&a);
	tw_init(&b);
	pthread_mutex_lock(&lock);
	CHECK(mbfs_waitq_add(&q, &a.w, 100));
	CHECK(mbfs_waitq_add(&q, &b.w, 200));
	CHECK_INT(atomic_load(&a.refs), 2);
	CHECK_INT(mbfs_waitq_live(&q), 2);
	mbfs_waitq_wake(&q, 150, MBFS_OK, NULL);  /* a's bytes are there */
	CHECK_INT(atomic_load(&a.woken), 1);
	CHECK_INT(atomic_load(&b.woken), 0);
	CHECK_INT(mbfs_waitq_live(&q), 1);
	struct mbfs_err e;
	mbfs_err_set(&e, MBFS_ERR_EXPORT, 500, "boom");
	mbfs_waitq_wake(&q, UINT64_MAX, MBFS_ERR_EXPORT, &e);
	CHECK_INT(atomic_load(&b.woken), 1);
	CHECK_INT(mbfs_waitq_len(&q), 0);
	pthread_mutex_unlock(&lock);
	/* b's retry takes the outcome, once; a retry asking about another
	 * object gets nothing */
	enum mbfs_status st = MBFS_OK;
	struct mbfs_err got;
	int other = 0;
	CHECK(!mbfs_waiter_take_outcome(&b.w, &other, &st, &got));
	CHECK(mbfs_waiter_take_outcome(&b.w, &obj, &st, &got));
	CHECK_INT(st, MBFS_ERR_EXPORT);
	CHECK_STR(got.msg, "boom");
	CHECK_INT(got.http_status, 500);
	CHECK(!mbfs_waiter_take_outcome(&b.w, &obj, &st, &got));
	CHECK_INT(atomic_load(&a.refs), 1);
	CHECK_INT(atomic_load(&b.refs), 1);
	mbfs_waitq_destroy(&q);
}

static void test_cancel_and_on_empty(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct mbfs_waitq q;
	int obj = 0;
	empties = 0;
	mbfs_waitq_init(&q, &lock, &obj, on_empty, NULL);
	struct tw a, b;
	tw_init(&a);
	tw_init(&b);
	pthread_mutex_lock(&lock);
	mbfs_waitq_add(&q, &a.w, 0);
	mbfs_waitq_add(&q, &b.w, 0);
	pthread_mutex_unlock(&lock);
	CHECK(mbfs_waiter_cancel(&a.w));
	CHECK(!mbfs_waiter_cancel(&a.w));  /* only once */
	CHECK_INT(empties, 0);             /* b still waits */
	CHECK(mbfs_waiter_cancel(&b.w));
	CHECK_INT(empties, 1);             /* the last one left */
	pthread_mutex_lock(&lock);
	mbfs_waitq_wake(&q, UINT64_MAX, MBFS_OK, NULL);
	pthread_mutex_unlock(&lock);
	/* cancelled waiters are not woken; the queue's references are put */
	CHECK_INT(atomic_load(&a.woken), 0);
	CHECK_INT(atomic_load(&b.woken), 0);
	CHECK_INT(atomic_load(&a.refs), 1);
	CHECK_INT(atomic_load(&b.refs), 1);
	/* a woken waiter cannot be cancelled */
	struct tw c;
	tw_init(&c);
	pthread_mutex_lock(&lock);
	mbfs_waitq_add(&q, &c.w, 0);
	mbfs_waitq_wake(&q, UINT64_MAX, MBFS_OK, NULL);
	pthread_mutex_unlock(&lock);
	CHECK(!mbfs_waiter_cancel(&c.w));
	CHECK_INT(atomic_load(&c.woken), 1);
	mbfs_waitq_destroy(&q);
}

/* The race: one thread wakes, another cancels, many rounds. */
static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbfs_waitq race_q;
static struct tw race_w;
static atomic_int round_go, round_done;
static atomic_int cancels_won;

static void *canceller(void *arg)
{
	int rounds = (int)(long)arg;
	for (int r = 1; r <= rounds; r++) {
		while (atomic_load(&round_go) < r)
			sched_yield();  /* valgrind runs one thread at a time */
		if (mbfs_waiter_cancel(&race_w.w))
			atomic_fetch_add(&cancels_won, 1);
		atomic_fetch_add(&round_done, 1);
	}
	return NULL;
}

static void test_wake_cancel_race(void)
{
	const int rounds = 20000;
	int obj = 0;
	mbfs_waitq_init(&race_q, &race_lock, &obj, NULL, NULL);
	tw_init(&race_w);
	pthread_t th;
	pthread_create(&th, NULL, canceller, (void *)(long)rounds);
	int woken_before = 0, both = 0;
	for (int r = 1; r <= rounds; r++) {
		atomic_store(&race_w.w.state, MBFS_W_RUNNING);
		pthread_mutex_lock(&race_lock);
		mbfs_waitq_add(&race_q, &race_w.w, 0);
		pthread_mutex_unlock(&race_lock);
		atomic_store(&round_go, r);
		pthread_mutex_lock(&race_lock);
		mbfs_waitq_wake(&race_q, UINT64_MAX, MBFS_OK, NULL);
		pthread_mutex_unlock(&race_lock);
		while (atomic_load(&round_done) < r)
			sched_yield();
		int woken = atomic_load(&race_w.woken);
		int won = woken - woken_before;
		woken_before = woken;
		if (won > 1)
			both++;
	}
	CHECK_INT(both, 0);
	pthread_join(th, NULL);
	/* exactly one of the waker and the canceller acted, every round */
	CHECK_INT(atomic_load(&race_w.woken) + atomic_load(&cancels_won), rounds);
	CHECK_INT(atomic_load(&race_w.refs), 1);  /* no reference lost or doubled */
	mbfs_waitq_destroy(&race_q);
}

/* The try scope queues the current waiter once and reports it. */
static void test_try_scope(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct mbfs_waitq q1, q2;
	int o1 = 1, o2 = 2;
	mbfs_waitq_init(&q1, &lock, &o1, NULL, NULL);
	mbfs_waitq_init(&q2, &lock, &o2, NULL, NULL);
	struct tw a;
	tw_init(&a);
	struct mbfs_err err;
	CHECK(mbfs_may_wait());
	mbfs_try_enter(&a.w);
	CHECK(!mbfs_may_wait());
	pthread_mutex_lock(&lock);
	CHECK_INT(mbfs_wait_on(&q1, 0, &err), MBFS_ERR_WOULD_BLOCK);
	CHECK_INT(mbfs_wait_on(&q2, 0, &err), MBFS_ERR_WOULD_BLOCK);
	CHECK_INT(mbfs_waitq_len(&q1), 1);
	CHECK_INT(mbfs_waitq_len(&q2), 0);  /* one queue per scope */
	pthread_mutex_unlock(&lock);
	CHECK(mbfs_try_leave());
	CHECK(mbfs_may_wait());
	/* the retry: the outcome of what it waited for */
	pthread_mutex_lock(&lock);
	mbfs_waitq_wake(&q1, UINT64_MAX, MBFS_OK, NULL);
	pthread_mutex_unlock(&lock);
	mbfs_try_enter(&a.w);
	enum mbfs_status st = MBFS_ERR_IO;
	CHECK(!mbfs_waited_for(&o2, &st, &err));
	CHECK(mbfs_waited_for(&o1, &st, &err));
	CHECK_INT(st, MBFS_OK);
	CHECK(!mbfs_try_leave());
	/* a try without a waiter only says WOULD_BLOCK */
	mbfs_try_enter(NULL);
	pthread_mutex_lock(&lock);
	CHECK_INT(mbfs_wait_on(&q2, 0, &err), MBFS_ERR_WOULD_BLOCK);
	CHECK_INT(mbfs_waitq_len(&q2), 0);
	pthread_mutex_unlock(&lock);
	CHECK(!mbfs_try_leave());
	mbfs_waitq_destroy(&q1);
	mbfs_waitq_destroy(&q2);
}

int main(void)
{
	test_threshold_and_outcome();
	test_cancel_and_on_empty();
	test_wake_cancel_race();
	test_try_scope();
	return check_done();
}
