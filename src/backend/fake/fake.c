/*
 * fake.c — the fake backend (fake.h): catalog, answers by path, the bulk
 * lists rendered as the server's JSON, canned exports with a gate, and
 * the fault switches; everything under the fake's own lock.
 */
#include "fake.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mb_json.h"
#include "mb_list.h"

void fake_lock(struct fake_client *f)
{
	pthread_mutex_lock(&f->lock);
}

void fake_unlock(struct fake_client *f)
{
	pthread_mutex_unlock(&f->lock);
}

static char *fake_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum mbfs_status fake_fail(enum mbfs_status st, struct mbfs_err *err,
				  const char *what)
{
	return mbfs_err_set(err, st, st == MBFS_ERR_HTTP ? 500 : 0,
			    "fake %s failure", what);
}

static enum mbfs_status fake_not_here(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 404, "not in the fake");
}

/* Set (or replace) what `path` answers: json (not copied: keep it alive),
 * or the failure st when json is NULL. */
void fake_set(struct fake_client *f, const char *path,
	      const char *json, enum mbfs_status st)
{
	fake_lock(f);
	int i;
	for (i = 0; i < f->n_bodies; i++)
		if (strcmp(f->bodies[i].path, path) == 0)
			break;
	if (i == f->n_bodies && f->n_bodies < FAKE_MAX)
		f->n_bodies++;
	snprintf(f->bodies[i].path, sizeof f->bodies[i].path, "%s", path);
	f->bodies[i].json = json;
	f->bodies[i].status = st;
	fake_unlock(f);
}

int fake_calls(struct fake_client *f, const char *path)
{
	fake_lock(f);
	int n = 0;
	for (int i = 0; i < f->n_bodies; i++)
		if (strcmp(f->bodies[i].path, path) == 0)
			n = f->body_calls[i];
	fake_unlock(f);
	return n;
}

void fake_reset_calls(struct fake_client *f)
{
	fake_lock(f);
	memset(f->body_calls, 0, sizeof f->body_calls);
	fake_unlock(f);
}

/* "list:N", the path of an mb_list (a constant string). */
const char *fake_list_path(enum mb_list which)
{
	static const char *const paths[] = {"list:0", "list:1", "list:2",
					     "list:3", "list:4", "list:5",
					     "list:6", "list:7"};
	unsigned i = (unsigned)which;
	return i < sizeof paths / sizeof *paths ? paths[i] : "list:?";
}

/* Steps 1 and 2: false when the catalog answers; else *json is the text
 * to decode, or NULL with the failure in *st (and err). */
static bool fake_answer(struct fake_client *f, const char *path,
			const char **json, enum mbfs_status *st,
			struct mbfs_err *err)
{
	if (f->delay_ms) {
		struct timespec ts = {0, (long)f->delay_ms * 1000000L};
		nanosleep(&ts, NULL);
	}
	fake_lock(f);
	bool set = false;
	*json = NULL;
	*st = MBFS_ERR_NOT_FOUND;
	for (int i = 0; i < f->n_bodies; i++) {
		if (strcmp(f->bodies[i].path, path) != 0)
			continue;
		set = true;
		f->body_calls[i]++;
		*json = f->bodies[i].json;
		*st = *json ? MBFS_OK : f->bodies[i].status;
	}
	bool answered = set || f->answers_only;
	fake_unlock(f);
	if (answered && *st != MBFS_OK)
		mbfs_err_set(err, *st, *st == MBFS_ERR_DENIED ? 403 : 404,
			     "%s: fake failure", path);
	return answered;
}

/* Return what path answers (steps 1 and 2), decoded by decoder. */
#define FAKE_ANSWER(f, path, decoder, out)                                    \
	do {                                                                  \
		const char *j_;                                               \
		enum mbfs_status s_;                                          \
		if (fake_answer(f, path, &j_, &s_, err))                      \
			return j_ ? decoder(j_, strlen(j_), out, err) : s_;   \
	} while (0)

/* A list body to the sink: byte by byte for the first 64 bytes, then the
 * rest. */
static enum mbfs_status fake_feed(const char *text, size_t len,
				  mb_sink_fn sink, void *sink_arg,
				  struct mbfs_err *err)
{
	size_t i = 0;
	bool ok = true;
	for (; ok && i < len && i < 64; i++)
		ok = sink(sink_arg, text + i, 1);
	if (ok && i < len)
		ok = sink(sink_arg, text + i, len - i);
	return ok ? MBFS_OK
		  : mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
				 "sink refused the bytes");
}

static enum mbfs_status fake_properties(struct mb_client *c,
					struct mb_properties *out,
					struct mbfs_err *err)
{
	(void)c;
	memset(out, 0, sizeof *out);
	out->version_tag = strdup("v0.50.26");
	out->site_name = strdup("fake");
	out->password_login_enabled = true;
	(void)err;
	return MBFS_OK;
}

static enum mbfs_status fake_current_user(struct mb_client *c,
					  struct mb_user *out,
					  struct mbfs_err *err)
{
	FAKE_ANSWER((struct fake_client *)c, "user", mb_json_user, out);
	memset(out, 0, sizeof *out);
	return fake_not_here(err);
}

static enum mbfs_status fake_schemas(struct mb_client *c, int64_t db_id,
				     struct mb_string_list *out,
				     struct mbfs_err *err)
{
	struct fake_client *f = (struct fake_client *)c;
	char path[64];
	snprintf(path, sizeof path, "schemas:%" PRId64, db_id);
	FAKE_ANSWER(f, path, mb_json_string_list, out);
	memset(out, 0, sizeof *out);
	fake_lock(f);
	f->n_schemas_calls++;
	if (f->fail_schemas != MBFS_OK) {
		enum mbfs_status st = f->fail_schemas;
		fake_unlock(f);
		return fake_fail(st, err, "schemas");
	}
	out->v = calloc(f->n_schemas ? f->n_schemas : 1, sizeof *out->v);
	for (size_t i = 0; out->v && i < f->n_schemas; i++)
		if (f->schemas[i].db_id == db_id)
			out->v[out->n++] = strdup(f->schemas[i].name);
	fake_unlock(f);
	return MBFS_OK;
}

static enum mbfs_status fake_tables(struct mb_client *c, int64_t db_id,
				    const char *schema,
				    struct mb_table_list *out,
				    struct mbfs_err *err)
{
	struct fake_client *f = (struct fake_client *)c;
	char path[64];
	snprintf(path, sizeof path, "tables:%" PRId64 ":%s", db_id, schema);
	FAKE_ANSWER(f, path, mb_json_table_list, out);
	memset(out, 0, sizeof *out);
	fake_lock(f);
	f->n_tables_calls++;
	if (f->fail_tables != MBFS_OK) {
		enum mbfs_status st = f->fail_tables;
		fake_unlock(f);
		return fake_fail(st, err, "tables");
	}
	out->v = calloc(f->n_tables ? f->n_tables : 1, sizeof *out->v);
	for (size_t i = 0; out->v && i < f->n_tables; i++) {
		const struct fake_table *s = &f->tables[i];
		if (s->db_id != db_id || strcmp(s->schema, schema ? schema : "") != 0)
			continue;
		struct mb_table *d = &out->v[out->n++];
		d->id = s->id;
		d->db_id = s->db_id;
		d->name = fake_dup(s->name);
		d->display_name = fake_dup(s->name);
		d->schema = fake_dup(s->schema);
		d->active = s->active;
		d->hidden = s->hidden;
	}
	fake_unlock(f);
	return MBFS_OK;
}

static enum mbfs_status fake_dashboard(struct mb_client *c, int64_t id,
				       struct mb_dashboard *out,
				       struct mbfs_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "dashboard:%" PRId64, id);
	FAKE_ANSWER((struct fake_client *)c, path, mb_json_dashboard, out);
	memset(out, 0, sizeof *out);
	return fake_not_here(err);
}

/* A growing heap string for a list's body. */
static void fake_cat(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *nb = realloc(*buf, *len + n + 1);
	if (!nb)
		abort();
	memcpy(nb + *len, s, n + 1);
	*buf = nb;
	*len += n;
}

static void fake_cat_str(char **buf, size_t *len, const char *s)
{
	char *q = mb_json_quote(s); /* "null" for NULL */
	if (!q)
		abort();
	fake_cat(buf, len, q);
	free(q);
}

static bool fake_is_card(enum mb_model m)
{
	return m == MB_MODEL_CARD || m == MB_MODEL_DATASET ||
	       m == MB_MODEL_METRIC;
}

/* `,"key":N`, or `,"key":null` for 0. */
static void fake_cat_id(char **buf, size_t *len, const char *key,
			int64_t id)
{
	char num[64];
	if (id)
		snprintf(num, sizeof num, ",\"%s\":%lld", key, (long long)id);
	else
		snprintf(num, sizeof num, ",\"%s\":null", key);
	fake_cat(buf, len, num);
}

/* An object's common head, left open: `{"id":N,"archived":B,"name":S,
 * "updated_at":S` (after a comma unless first). */
static void fake_cat_head(char **buf, size_t *len, bool first,
			  int64_t id, const char *name, bool archived,
			  const char *updated_at)
{
	char num[96];
	snprintf(num, sizeof num, "%s{\"id\":%lld,\"archived\":%s,\"name\":",
		 first ? "" : ",", (long long)id, archived ? "true" : "false");
	fake_cat(buf, len, num);
	fake_cat_str(buf, len, name);
	fake_cat(buf, len, ",\"updated_at\":");
	fake_cat_str(buf, len, updated_at);
}

/* The catalog item (model, id), or NULL. Lock held. */
static const struct fake_item *fake_find_item(const struct fake_client *f,
					      enum mb_model model,
					      int64_t id)
{
	for (size_t i = 0; i < f->n_items; i++)
		if (f->items[i].id == id &&
		    (f->items[i].model == model ||
		     (fake_is_card(model) && fake_is_card(f->items[i].model))))
			return &f->items[i];
	return NULL;
}

/* `,"location":"/a/b/"`: the chain of parents of an object in collection
 * `parent`, as far as the catalog knows it (a parent it does not hold
 * ends the chain: a collection the user cannot read). Lock held. */
static void fake_cat_location(const struct fake_client *f, char **buf,
			      size_t *len, int64_t parent)
{
	int64_t chain[FAKE_MAX];
	size_t n = 0;
	while (parent && n < FAKE_MAX) {
		chain[n++] = parent;
		const struct fake_item *p =
			fake_find_item(f, MB_MODEL_COLLECTION, parent);
		parent = p ? p->collection_id : 0;
	}
	fake_cat(buf, len, ",\"location\":\"/");
	char num[32];
	while (n--) {
		snprintf(num, sizeof num, "%lld/", (long long)chain[n]);
		fake_cat(buf, len, num);
	}
	fake_cat(buf, len, "\"");
}

/* GET /api/card?f=all: the card items merged with cards[] by id. Lock
 * held. */
static void fake_cat_cards(const struct fake_client *f, char **buf,
			   size_t *len)
{
	static const char *const types[] = {
		[MB_MODEL_CARD] = "question", [MB_MODEL_DATASET] = "model",
		[MB_MODEL_METRIC] = "metric"};
	bool first = true;
	for (size_t i = 0; i < f->n_items; i++) {
		const struct fake_item *it = &f->items[i];
		if (!fake_is_card(it->model))
			continue;
		const struct fake_card *c = NULL;
		for (size_t j = 0; !c && j < f->n_cards; j++)
			if (f->cards[j].id == it->id)
				c = &f->cards[j];
		fake_cat_head(buf, len, first, it->id,
			      c && c->name ? c->name : it->name,
			      it->archived || (c && c->archived),
			      c && c->updated_at ? c->updated_at : it->updated_at);
		first = false;
		fake_cat_id(buf, len, "collection_id", it->collection_id);
		fake_cat_id(buf, len, "dashboard_id", it->dashboard_id);
		fake_cat(buf, len, ",\"type\":");
		fake_cat_str(buf, len, types[it->model]);
		fake_cat(buf, len, "}");
	}
	for (size_t j = 0; j < f->n_cards; j++) {
		const struct fake_card *c = &f->cards[j];
		if (fake_find_item(f, MB_MODEL_CARD, c->id))
			continue;
		fake_cat_head(buf, len, first, c->id, c->name, c->archived,
			      c->updated_at);
		first = false;
		fake_cat(buf, len, ",\"collection_id\":null,\"type\":\"question\"}");
	}
}

/* GET /api/collection (with the root entry) or /api/dashboard?f=all: the
 * catalog items of that model. Lock held. */
static void fake_cat_model(const struct fake_client *f, char **buf,
			   size_t *len, enum mb_model model)
{
	bool first = model != MB_MODEL_COLLECTION;
	if (!first)
		fake_cat(buf, len, "{\"id\":\"root\",\"name\":\"Our analytics\"}");
	for (size_t i = 0; i < f->n_items; i++) {
		const struct fake_item *it = &f->items[i];
		if (it->model != model)
			continue;
		fake_cat_head(buf, len, first, it->id, it->name, it->archived,
			      it->updated_at);
		first = false;
		if (model == MB_MODEL_COLLECTION) {
			fake_cat_location(f, buf, len, it->collection_id);
			fake_cat_id(buf, len, "personal_owner_id",
				    it->personal_owner_id);
		} else {
			fake_cat_id(buf, len, "collection_id", it->collection_id);
		}
		fake_cat(buf, len, "}");
	}
}

/* The catalog's call counter, failure switch and name of list `which`;
 * false for a list that has none. */
static bool fake_list_slot(struct fake_client *f, enum mb_list which,
			   int **calls, enum mbfs_status **fail,
			   const char **what)
{
	switch (which) {
	case MB_LIST_CARDS:
		*calls = &f->n_cards_calls, *fail = &f->fail_cards;
		*what = "cards";
		return true;
	case MB_LIST_COLLECTIONS:
		*calls = &f->n_collections_calls, *fail = &f->fail_collections;
		*what = "collections";
		return true;
	case MB_LIST_DASHBOARDS:
		*calls = &f->n_dashboards_calls, *fail = &f->fail_dashboards;
		*what = "dashboards";
		return true;
	case MB_LIST_DATABASES:
		*calls = &f->n_databases_calls, *fail = &f->fail_databases;
		*what = "databases";
		return true;
	default:
		return false;
	}
}

/* The catalog's list `which` as JSON text onto *buf. Lock held. */
static void fake_cat_list(const struct fake_client *f,
			  enum mb_list which, char **buf, size_t *len)
{
	char num[64];
	switch (which) {
	case MB_LIST_CARDS:
		fake_cat(buf, len, "[");
		fake_cat_cards(f, buf, len);
		fake_cat(buf, len, "]");
		break;
	case MB_LIST_COLLECTIONS:
	case MB_LIST_DASHBOARDS:
		fake_cat(buf, len, "[");
		fake_cat_model(f, buf, len,
			       which == MB_LIST_COLLECTIONS ? MB_MODEL_COLLECTION
							    : MB_MODEL_DASHBOARD);
		fake_cat(buf, len, "]");
		break;
	case MB_LIST_DATABASES:
		fake_cat(buf, len, "{\"data\":[");
		for (size_t i = 0; i < f->n_dbs; i++) {
			snprintf(num, sizeof num, "%s{\"id\":%lld,\"engine\":\"h2\",\"name\":",
				 i ? "," : "", (long long)f->dbs[i].id);
			fake_cat(buf, len, num);
			fake_cat_str(buf, len, f->dbs[i].name);
			fake_cat(buf, len, "}");
		}
		fake_cat(buf, len, "]}");
		break;
	case MB_LIST_USERS:
		fake_cat(buf, len, "{\"data\":[]}");
		break;
	default:
		fake_cat(buf, len, "[]");
		break;
	}
}

/* Every list as the JSON the server would send (the namespace reads them
 * through the list op and the meta cache): cards, collections and dashboards
 * from the catalog (see the top), databases from dbs[]; the others empty.
 * A body set for the list's path (fake_set) wins. */
static enum mbfs_status fake_list_body(struct mb_client *c, enum mb_list which,
				       mb_sink_fn sink, void *sink_arg,
				       struct mbfs_err *err)
{
	struct fake_client *f = (struct fake_client *)c;
	const char *json;
	enum mbfs_status st;
	if (fake_answer(f, fake_list_path(which), &json, &st, err))
		return json ? fake_feed(json, strlen(json), sink, sink_arg, err)
			    : st;
	fake_lock(f);
	useconds_t delay = f->list_delay_us;
	fake_unlock(f);
	if (delay)
		usleep(delay);
	char *text = NULL;
	size_t tlen = 0;
	int *calls;
	enum mbfs_status *fail;
	const char *what = "list";
	fake_lock(f);
	st = MBFS_OK;
	if (fake_list_slot(f, which, &calls, &fail, &what)) {
		(*calls)++;
		st = *fail;
	}
	if (st == MBFS_OK)
		fake_cat_list(f, which, &text, &tlen);
	fake_unlock(f);
	if (st != MBFS_OK)
		return fake_fail(st, err, what);
	st = fake_feed(text, tlen, sink, sink_arg, err);
	free(text);
	return st;
}

static enum mbfs_status fake_list(struct mb_client *c, enum mb_list which,
				  void *out, char **array, size_t *array_len,
				  size_t *count, struct mbfs_err *err)
{
	return mb_list_decode(c, fake_list_body, which, out, array, array_len,
			      count, err);
}

/* How often list `which` was fetched: answered by path or by the
 * catalog. */
int fake_list_calls(struct fake_client *f, enum mb_list which)
{
	int n = fake_calls(f, fake_list_path(which));
	int *calls;
	enum mbfs_status *fail;
	const char *what;
	fake_lock(f);
	if (fake_list_slot(f, which, &calls, &fail, &what))
		n += *calls;
	fake_unlock(f);
	return n;
}

/* How often each of the three lists collection directories are built
 * from (collections, dashboards, cards) was fetched, when that is the
 * same number for all three; else -1. */
int fake_bulk_calls(struct fake_client *f)
{
	int a = fake_list_calls(f, MB_LIST_COLLECTIONS);
	int b = fake_list_calls(f, MB_LIST_DASHBOARDS);
	int k = fake_list_calls(f, MB_LIST_CARDS);
	return a == b && b == k ? a : -1;
}

static enum mbfs_status fake_export_run(struct mb_client *c,
					const struct mb_export_req *req,
					mb_sink_fn sink, void *sink_arg,
					struct mb_export_result *res,
					struct mbfs_err *err)
{
	struct fake_client *f = (struct fake_client *)c;
	fake_lock(f);
	f->export_calls++;
	f->running++;
	pthread_cond_broadcast(&f->cond);
	if (f->running > f->max_running)
		f->max_running = f->running;
	snprintf(f->last_format, sizeof f->last_format, "%s",
		 req->format ? req->format : "");
	f->last_id = req->id;
	if (f->gated) {
		f->waiting++;
		pthread_cond_broadcast(&f->cond);
		while (f->permits == 0)
			pthread_cond_wait(&f->cond, &f->lock);
		f->permits--;
		f->waiting--;
	}
	const char *body = f->body;
	size_t len = f->body_len;
	size_t chunk = f->chunk ? f->chunk : (len ? len : 1);
	enum mbfs_status st = f->export_status;
	const char *msg = f->export_msg;
	useconds_t delay = f->export_delay_us;
	memset(res, 0, sizeof *res);
	res->http_status = f->http_status ? f->http_status : 200;
	snprintf(res->content_type, sizeof res->content_type, "%s",
		 f->content_type ? f->content_type : "");
	fake_unlock(f);

	if (delay)
		usleep(delay);
	enum mbfs_status out = MBFS_OK;
	for (size_t off = 0; body && off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (!sink(sink_arg, body + off, n)) {
			out = mbfs_err_set(err, MBFS_ERR_INTERRUPTED, 0,
					   "sink refused the bytes");
			break;
		}
		res->bytes += n;
	}
	if (out == MBFS_OK && st != MBFS_OK)
		out = mbfs_err_set(err, st, (int)res->http_status, "%s",
				   msg ? msg : "fake export failure");

	fake_lock(f);
	f->running--;
	pthread_cond_broadcast(&f->cond);
	fake_unlock(f);
	return out;
}

static int fake_describe_stats(struct mb_client *c, char *out, size_t outsz)
{
	(void)c;
	return snprintf(out, outsz, "fake 1\n");
}

static void fake_destroy(struct mb_client *c)
{
	struct fake_client *f = (struct fake_client *)c;
	if (f->on_heap) {
		fake_fini(f);
		free(f);
	}
}

static const struct mb_client_ops fake_ops = {
	.properties = fake_properties,
	.current_user = fake_current_user,
	.schemas = fake_schemas,
	.tables = fake_tables,
	.dashboard = fake_dashboard,
	.list = fake_list,
	.export_run = fake_export_run,
	.inband_error = mb_json_inband_error,
	.params_xattr = mb_json_params_xattr,
	.param_request = mb_json_param_request,
	.describe_stats = fake_describe_stats,
	.destroy = fake_destroy,
};

void fake_init(struct fake_client *f)
{
	memset(f, 0, sizeof *f);
	f->base.ops = &fake_ops;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->content_type = "text/csv";
	f->http_status = 200;
}

void fake_fini(struct fake_client *f)
{
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

/* A fake on the heap that answers only what fake_set() gives it. */
struct fake_client *fake_new(void)
{
	struct fake_client *f = malloc(sizeof *f);
	if (!f)
		abort();
	fake_init(f);
	f->on_heap = true;
	f->answers_only = true;
	return f;
}

/* Set the canned export answer (body is not copied: keep it alive). */
void fake_set_export(struct fake_client *f, const char *body, size_t len,
		     size_t chunk, const char *ctype, enum mbfs_status st,
		     const char *msg)
{
	fake_lock(f);
	f->body = body;
	f->body_len = len;
	f->chunk = chunk;
	f->content_type = ctype;
	f->export_status = st;
	f->export_msg = msg;
	fake_unlock(f);
}

/* Let n gated exports through. */
void fake_release(struct fake_client *f, int n)
{
	fake_lock(f);
	f->permits += n;
	pthread_cond_broadcast(&f->cond);
	fake_unlock(f);
}

int fake_get_int(struct fake_client *f, const int *field)
{
	fake_lock(f);
	int v = *field;
	fake_unlock(f);
	return v;
}

/* Wait (at most timeout_ms) until *field >= want; true on success. */
bool fake_wait_for(struct fake_client *f, const int *field, int want,
		   int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	fake_lock(f);
	bool ok = true;
	while (*field < want) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &until) != 0) {
			ok = *field >= want;
			break;
		}
	}
	fake_unlock(f);
	return ok;
}

