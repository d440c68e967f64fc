/*
 * park.c — owns the park pools: a FIFO of tasks and threads started on
 * demand, which leave again after IDLE_EXIT seconds without work. See
 * park.h.
 */
#include "park.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define IDLE_EXIT 10 /* seconds an idle thread waits before it leaves */

struct task {
	void (*fn)(void *);
	void *arg;
	struct task *next;
};

struct mbfs_park {
	pthread_mutex_t lock;      /* protects everything below */
	pthread_cond_t cond;       /* work arrived, or stopping */
	pthread_cond_t gone;       /* a thread left */
	struct task *head, *tail;
	unsigned queued;           /* tasks in the queue */
	unsigned threads, idle, max_threads, peak;
	bool stopping;
	char name[16];
};

static void *pool_main(void *arg)
{
	struct mbfs_park *p = arg;
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
		struct task *t = p->head;
		if (!t)
			break; /* stopping, or idle for too long */
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&p->lock);
	}
	p->threads--;
	pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct mbfs_park *mbfs_park_new(const char *name, unsigned max_threads)
{
	struct mbfs_park *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->gone, NULL);
	p->max_threads = max_threads ? max_threads : 1;
	strncpy(p->name, name, sizeof p->name - 1);
	return p;
}

void mbfs_park_submit(struct mbfs_park *p, void (*fn)(void *), void *arg)
{
	struct task *t = malloc(sizeof *t);
	if (!t) {
		fn(arg); /* out of memory: serve it here rather than lose it */
		return;
	}
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	p->queued++;
	/* Every queued task needs a thread of its own: an idle thread that
	 * was signalled but has not taken its task yet is spoken for, so
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
		} else {
			mbfs_warn("park pool %s: cannot start a thread", p->name);
		}
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void mbfs_park_counts(struct mbfs_park *p, unsigned *threads, unsigned *idle,
		      unsigned *peak)
{
	pthread_mutex_lock(&p->lock);
	*threads = p->threads;
	*idle = p->idle;
	*peak = p->peak;
	pthread_mutex_unlock(&p->lock);
}

void mbfs_park_free(struct mbfs_park *p)
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
