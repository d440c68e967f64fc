/*
 * test_pool.c — unit tests of pool.c: every queued task gets a thread of
 * its own up to the pool's maximum (tasks that wait must not queue behind
 * each other — the bug was an idle thread counted for several tasks
 * submitted at once), tasks beyond the maximum queue in FIFO order, idle
 * threads leave, and free runs what is queued.
 */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started, finished;
static bool release_all;
static int order[256], n_order;

static void blocking_task(void *arg)
{
	pthread_mutex_lock(&lock);
	order[n_order++] = (int)(long)arg;
	started++;
	pthread_cond_broadcast(&cond);
	while (!release_all)
		pthread_cond_wait(&cond, &lock);
	finished++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void quick_task(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	finished++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Wait until *counter reaches want or 2 s pass; true when reached. */
static bool wait_for(int *counter, int want)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&lock);
	while (*counter < want)
		if (pthread_cond_timedwait(&cond, &lock, &ts) != 0)
			break;
	bool ok = *counter >= want;
	pthread_mutex_unlock(&lock);
	return ok;
}

static void reset(void)
{
	pthread_mutex_lock(&lock);
	started = finished = n_order = 0;
	release_all = false;
	pthread_mutex_unlock(&lock);
}

static void test_each_task_gets_a_thread(void)
{
	reset();
	struct mbfs_pool *p = mbfs_pool_new("t", 40);
	/* one idle thread */
	mbfs_pool_submit(p, quick_task, NULL);
	CHECK(wait_for(&finished, 1));
	usleep(20 * 1000);
	unsigned threads, idle, peak;
	mbfs_pool_counts(p, &threads, &idle, &peak);
	CHECK_INT(threads, 1);
	/* 32 waiting tasks submitted at once: all run at the same time */
	reset();
	for (long i = 0; i < 32; i++)
		mbfs_pool_submit(p, blocking_task, (void *)i);
	CHECK(wait_for(&started, 32));
	/* beyond the maximum: FIFO */
	for (long i = 32; i < 48; i++)
		mbfs_pool_submit(p, blocking_task, (void *)i);
	CHECK(wait_for(&started, 40));
	mbfs_pool_counts(p, &threads, &idle, &peak);
	CHECK_INT(threads, 40);
	CHECK_INT(peak, 40);
	pthread_mutex_lock(&lock);
	CHECK_INT(started, 40); /* the other 8 wait for a thread */
	release_all = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	CHECK(wait_for(&finished, 48));
	bool fifo = true;
	for (int i = 40; i < 48; i++)
		fifo = fifo && order[i] >= 40;
	CHECK(fifo);
	mbfs_pool_free(p);
}

static void test_free_runs_the_queue(void)
{
	reset();
	struct mbfs_pool *p = mbfs_pool_new("t", 1);
	for (int i = 0; i < 5; i++)
		mbfs_pool_submit(p, quick_task, NULL);
	mbfs_pool_free(p);
	CHECK_INT(finished, 5);
}

int main(void)
{
	test_each_task_gets_a_thread();
	test_free_runs_the_queue();
	return check_done();
}
