/*
 * park.c — owns the park pools: a FIFO of tasks and threads started on
 * demand. See park.h.
 */
#include "park.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct task {
	void (*fn)(void *);
	void *arg;
	struct task *next;
};

struct mbfs_park {
	pthread_mutex_t lock;      /* protects everything below */
	pthread_cond_t cond;
	struct task *head, *tail;
	unsigned threads, idle, max_threads;
	bool stopping;
	char name[16];
	pthread_t *tids;
};

static void *pool_main(void *arg)
{
	struct mbfs_park *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->lock);
			p->idle--;
		}
		struct task *t = p->head;
		if (!t)
			break;
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct mbfs_park *mbfs_park_new(const char *name, unsigned max_threads)
{
	struct mbfs_park *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->tids = calloc(max_threads ? max_threads : 1, sizeof *p->tids);
	if (!p->tids) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
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
	if (p->idle == 0 && p->threads < p->max_threads) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if (pthread_create(&p->tids[p->threads], &attr, pool_main, p) == 0)
			p->threads++;
		else
			mbfs_warn("park pool %s: cannot start a thread", p->name);
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void mbfs_park_free(struct mbfs_park *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	unsigned n = p->threads;
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(p->tids[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->tids);
	free(p);
}
