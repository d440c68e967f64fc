/*
 * notify.c — owns the notifier thread and its queue of kernel entry
 * invalidations (fuse_lowlevel_notify_inval_entry). See notify.h.
 */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define QUEUE_MAX 4096

struct item {
	struct item *next;
	uint64_t parent;
	size_t len;
	char name[];
};

struct mbfs_notify {
	struct fuse_session *se;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, *tail;
	size_t n;
	bool stop;
	unsigned long dropped;
};

static void *run(void *arg)
{
	struct mbfs_notify *nt = arg;
	pthread_mutex_lock(&nt->lock);
	for (;;) {
		while (!nt->head && !nt->stop)
			pthread_cond_wait(&nt->cond, &nt->lock);
		if (nt->stop)
			break;
		struct item *it = nt->head;
		nt->head = it->next;
		if (!nt->head)
			nt->tail = NULL;
		nt->n--;
		pthread_mutex_unlock(&nt->lock);
		int rc = fuse_lowlevel_notify_inval_entry(nt->se, it->parent,
							  it->name, it->len);
		/* ENOENT: the kernel had no such dentry; nothing to do */
		if (rc != 0 && rc != -ENOENT)
			mbfs_debug("invalidating entry %s: %s", it->name,
				   strerror(-rc));
		free(it);
		pthread_mutex_lock(&nt->lock);
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

struct mbfs_notify *mbfs_notify_new(struct fuse_session *se)
{
	struct mbfs_notify *nt = calloc(1, sizeof *nt);
	if (!nt)
		return NULL;
	nt->se = se;
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->cond, NULL);
	if (pthread_create(&nt->tid, NULL, run, nt) != 0) {
		pthread_cond_destroy(&nt->cond);
		pthread_mutex_destroy(&nt->lock);
		free(nt);
		return NULL;
	}
	return nt;
}

void mbfs_notify_free(struct mbfs_notify *nt)
{
	if (!nt)
		return;
	pthread_mutex_lock(&nt->lock);
	nt->stop = true;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
	pthread_join(nt->tid, NULL);
	for (struct item *it = nt->head, *next; it; it = next) {
		next = it->next;
		free(it);
	}
	pthread_cond_destroy(&nt->cond);
	pthread_mutex_destroy(&nt->lock);
	free(nt);
}

void mbfs_notify_entry(struct mbfs_notify *nt, uint64_t parent,
		       const char *name)
{
	size_t len = strlen(name);
	pthread_mutex_lock(&nt->lock);
	if (nt->stop || nt->n >= QUEUE_MAX) {
		nt->dropped++;
		pthread_mutex_unlock(&nt->lock);
		return;
	}
	pthread_mutex_unlock(&nt->lock);
	struct item *it = malloc(sizeof *it + len + 1);
	if (!it)
		return;
	it->next = NULL;
	it->parent = parent;
	it->len = len;
	memcpy(it->name, name, len + 1);
	pthread_mutex_lock(&nt->lock);
	if (nt->tail)
		nt->tail->next = it;
	else
		nt->head = it;
	nt->tail = it;
	nt->n++;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
}

void mbfs_notify_gone(void *arg, uint64_t parent, const char *name)
{
	mbfs_notify_entry(arg, parent, name);
}
