/*
 * json_client.h — an in-memory struct mb_client for unit tests: every
 * endpoint answers a JSON text the test sets (decoded with the real
 * mb_json decoders), or a status; calls are counted per endpoint; an
 * optional delay makes single flight observable. Header-only (static).
 */
#ifndef MBFS_JSON_CLIENT_H
#define MBFS_JSON_CLIENT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_client.h"
#include "mb_json.h"

#define FAKE_MAX 32

struct fake_body {
	char path[64];             /* "items:3", "dashboard:1", "list:0", "user" */
	const char *json;          /* NULL: answer `status` */
	enum mbfs_status status;
};

struct fake_client {
	struct mb_client base;     /* first */
	pthread_mutex_t lock;
	struct fake_body bodies[FAKE_MAX];
	int n;
	int calls[FAKE_MAX];       /* per body */
	unsigned delay_ms;
};

static struct fake_client *fake_of(struct mb_client *c)
{
	return (struct fake_client *)c;
}

/* Set (or replace) what `path` answers. */
static void fake_set(struct fake_client *f, const char *path, const char *json,
		     enum mbfs_status st)
{
	pthread_mutex_lock(&f->lock);
	int i;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->bodies[i].path, path) == 0)
			break;
	if (i == f->n && f->n < FAKE_MAX)
		f->n++;
	snprintf(f->bodies[i].path, sizeof f->bodies[i].path, "%s", path);
	f->bodies[i].json = json;
	f->bodies[i].status = st;
	pthread_mutex_unlock(&f->lock);
}

static int fake_calls(struct fake_client *f, const char *path)
{
	pthread_mutex_lock(&f->lock);
	int n = 0;
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->bodies[i].path, path) == 0)
			n = f->calls[i];
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void fake_reset_calls(struct fake_client *f)
{
	pthread_mutex_lock(&f->lock);
	memset(f->calls, 0, sizeof f->calls);
	pthread_mutex_unlock(&f->lock);
}

/* The answer for path: the JSON text, or a failure. */
static enum mbfs_status fake_answer(struct mb_client *c, const char *path,
				    const char **json, struct mbfs_err *err)
{
	struct fake_client *f = fake_of(c);
	if (f->delay_ms) {
		struct timespec ts = {0, (long)f->delay_ms * 1000000L};
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&f->lock);
	enum mbfs_status st = MBFS_ERR_NOT_FOUND;
	*json = NULL;
	for (int i = 0; i < f->n; i++) {
		if (strcmp(f->bodies[i].path, path) != 0)
			continue;
		f->calls[i]++;
		*json = f->bodies[i].json;
		st = *json ? MBFS_OK : f->bodies[i].status;
	}
	pthread_mutex_unlock(&f->lock);
	if (st != MBFS_OK)
		return mbfs_err_set(err, st, st == MBFS_ERR_DENIED ? 403 : 404,
				    "%s: fake failure", path);
	return MBFS_OK;
}

#define FAKE_DECODE(path, decoder, out)                                       \
	do {                                                                  \
		const char *j_;                                               \
		enum mbfs_status s_ = fake_answer(c, path, &j_, err);         \
		if (s_ != MBFS_OK)                                            \
			return s_;                                            \
		return decoder(j_, strlen(j_), out, err);                     \
	} while (0)

static enum mbfs_status fake_current_user(struct mb_client *c,
					  struct mb_user *out,
					  struct mbfs_err *err)
{
	FAKE_DECODE("user", mb_json_user, out);
}

static enum mbfs_status fake_items(struct mb_client *c, int64_t id,
				   struct mb_item_list *out,
				   struct mbfs_err *err)
{
	char p[64];
	snprintf(p, sizeof p, "items:%" PRId64, id);
	FAKE_DECODE(p, mb_json_items, out);
}

static enum mbfs_status fake_schemas(struct mb_client *c, int64_t db_id,
				     struct mb_string_list *out,
				     struct mbfs_err *err)
{
	char p[64];
	snprintf(p, sizeof p, "schemas:%" PRId64, db_id);
	FAKE_DECODE(p, mb_json_string_list, out);
}

static enum mbfs_status fake_tables(struct mb_client *c, int64_t db_id,
				    const char *schema,
				    struct mb_table_list *out,
				    struct mbfs_err *err)
{
	char p[64];
	snprintf(p, sizeof p, "tables:%" PRId64 ":%s", db_id, schema);
	FAKE_DECODE(p, mb_json_table_list, out);
}

static enum mbfs_status fake_dashboard(struct mb_client *c, int64_t id,
				       struct mb_dashboard *out,
				       struct mbfs_err *err)
{
	char p[64];
	snprintf(p, sizeof p, "dashboard:%" PRId64, id);
	FAKE_DECODE(p, mb_json_dashboard, out);
}

static enum mbfs_status fake_list_get(struct mb_client *c, enum mb_list which,
				      mb_sink_fn sink, void *sink_arg,
				      struct mbfs_err *err)
{
	char p[64];
	snprintf(p, sizeof p, "list:%d", (int)which);
	const char *j;
	enum mbfs_status st = fake_answer(c, p, &j, err);
	if (st != MBFS_OK)
		return st;
	/* byte by byte for the first 64 bytes, then the rest: the decoder
	 * must not care where the network cuts the body */
	size_t len = strlen(j), i = 0;
	for (; i < len && i < 64; i++)
		if (!sink(sink_arg, j + i, 1))
			return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0, "aborted");
	if (i < len && !sink(sink_arg, j + i, len - i))
		return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0, "aborted");
	return MBFS_OK;
}

static void fake_destroy(struct mb_client *c)
{
	struct fake_client *f = fake_of(c);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct mb_client_ops fake_ops = {
	.current_user = fake_current_user,
	.collection_items = fake_items,
	.schemas = fake_schemas,
	.tables = fake_tables,
	.dashboard = fake_dashboard,
	.list_get = fake_list_get,
	.destroy = fake_destroy,
};

static struct fake_client *fake_new(void)
{
	struct fake_client *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->base.ops = &fake_ops;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

/* "list:N" path of an mb_list. */
static const char *fake_list_path(enum mb_list which)
{
	static char buf[8][16];
	static int k;
	char *p = buf[k++ & 7];
	snprintf(p, 16, "list:%d", (int)which);
	return p;
}

#endif
