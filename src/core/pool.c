/*
 * pool.c — owns the worker pool: a FIFO of work items and threads started
 * on demand, which leave again after IDLE_EXIT seconds without work. See
 * pool.h.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define IDLE_EXIT 10 /* seconds an idle thread waits before it leaves */

struct mbfs_pool {
	pthread_mutex_t lock;      /* protects everything below */
	pthread_cond_t cond;       /* work arrived, or stopping */
	pthread_cond_t gone;       /* a thread left */
	struct mbfs_pool_item *head, *tail;
	unsigned queued;           /* items in the queue */
	unsigned threads, idle, max_threads, peak;
	bool stopping;
	char name[16];
};

static void *pool_main(void *arg)
{
	struct mbfs_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		bool timed_out = false;
		while (!p->head && !p->stopping && !timed_out) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += IDLE_EXIT;
			p->idle++;
			timed_out = pthread_cond_timedwait(&p->cond, &p->lock,
							   &ts) == ETIMEDOUT;
			p->idle--;
		}
		struct mbfs_pool_item *it = p->head;
		if (!it)
			break; /* stopping, or idle for too long */
		p->head = it->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		/* fn may free an item embedded in its task */
		bool owned = it->owned;
		void *fn_arg = it->arg;
		it->fn(fn_arg);
		if (owned)
			free(it);
		pthread_mutex_lock(&p->lock);
	}
	p->threads--;
	pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct mbfs_pool *mbfs_pool_new(const char *name, unsigned max_threads)
{
	struct mbfs_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->gone, NULL);
	p->max_threads = max_threads ? max_threads : 1;
	strncpy(p->name, name, sizeof p->name - 1);
	return p;
}

bool mbfs_pool_submit(struct mbfs_pool *p, void (*fn)(void *), void *arg)
{
	struct mbfs_pool_item *it = malloc(sizeof *it);
	if (!it)
		return false;
	it->fn = fn;
	it->arg = arg;
	it->owned = true;
	mbfs_pool_submit_item(p, it);
	return true;
}

void mbfs_pool_submit_item(struct mbfs_pool *p, struct mbfs_pool_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	p->queued++;
	/* Every queued item needs a thread of its own: an idle thread that
	 * was signalled but has not taken its item yet is spoken for, so
	 * compare with the queue, not with "is anybody idle". */
	if (p->queued > p->idle && p->threads < p->max_threads) {
		pthread_attr_t attr;
		pthread_t tid;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&tid, &attr, pool_main, p) == 0) {
			p->threads++;
			if (p->threads > p->peak)
				p->peak = p->threads;
		} else if (p->threads == 0) {
			mbfs_warn("worker pool %s: cannot start a thread", p->name);
		}
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void mbfs_pool_counts(struct mbfs_pool *p, unsigned *threads, unsigned *idle,
		      unsigned *peak)
{
	pthread_mutex_lock(&p->lock);
	*threads = p->threads;
	*idle = p->idle;
	*peak = p->peak;
	pthread_mutex_unlock(&p->lock);
}

unsigned mbfs_pool_max(const struct mbfs_pool *p)
{
	return p->max_threads; /* immutable */
}

void mbfs_pool_free(struct mbfs_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	while (p->threads)
		pthread_cond_wait(&p->gone, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&p->gone);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
