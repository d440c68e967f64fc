/*
 * spool.c — owns the spool directory of one server: result files, the
 * persistent index, pins and LRU eviction to the size cap. See spool.h.
 *
 * Index file format (<dir>/index, rewritten atomically on every change):
 *   mbfs-spool 1
 *   <gen> <size> <rows> <fetched_at> <duration> <truncated> <file> <key>
 * Keys and file names never contain spaces or newlines (export.c builds
 * keys from ids and formats; parameterized keys are percent-encoded).
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define KEY_MAX 1024

struct entry {
	char *key;
	char *file;            /* name inside dir */
	struct mbfs_spool_info info;
	unsigned pins;
	uint64_t last_use;     /* LRU clock */
	struct entry *next;
};

struct mbfs_spool {
	pthread_mutex_t lock;  /* protects everything below */
	char *dir;             /* <cache_dir>/<server-hash> */
	char *spool_dir;       /* dir/spool */
	uint64_t cap;
	uint64_t total;
	uint64_t clock;
	uint64_t tmp_seq;
	struct entry *entries; /* small counts: a list is enough per bucket */
	struct entry **buckets;
	size_t n_buckets;
	size_t n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct entry **bucket(struct mbfs_spool *sp, const char *key)
{
	return &sp->buckets[hash_str(key) & (sp->n_buckets - 1)];
}

static struct entry *find(struct mbfs_spool *sp, const char *key)
{
	for (struct entry *e = *bucket(sp, key); e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void rehash(struct mbfs_spool *sp)
{
	size_t nb = sp->n_buckets * 2;
	struct entry **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < sp->n_buckets; i++) {
		struct entry *e = sp->buckets[i];
		while (e) {
			struct entry *next = e->next;
			size_t j = hash_str(e->key) & (nb - 1);
			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(sp->buckets);
	sp->buckets = b;
	sp->n_buckets = nb;
}

static struct entry *insert(struct mbfs_spool *sp, const char *key)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	if (sp->n + 1 > sp->n_buckets)
		rehash(sp);
	struct entry **b = bucket(sp, key);
	e->next = *b;
	*b = e;
	sp->n++;
	return e;
}

static void path_of(const struct mbfs_spool *sp, const char *file, char *out,
		    size_t outsz)
{
	snprintf(out, outsz, "%s/%s", sp->spool_dir, file);
}

/* Unlink e's file and remove e from the table. Lock held. */
static void remove_entry(struct mbfs_spool *sp, struct entry *e)
{
	if (e->file) {
		char p[4096];
		path_of(sp, e->file, p, sizeof p);
		unlink(p);
	}
	sp->total -= e->info.size;
	for (struct entry **pp = bucket(sp, e->key); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	sp->n--;
	free(e->key);
	free(e->file);
	free(e);
}

/* Rewrite the index atomically. Lock held. */
static void save_index(struct mbfs_spool *sp)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/index", sp->dir);
	snprintf(tmp, sizeof tmp, "%s/index.tmp", sp->dir);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		mbfs_warn("spool: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "mbfs-spool 1\n");
	for (size_t i = 0; i < sp->n_buckets; i++)
		for (struct entry *e = sp->buckets[i]; e; e = e->next)
			fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRId64 " %.3f %.3f %d %s %s\n",
				e->info.gen, e->info.size, e->info.rows,
				e->info.fetched_at, e->info.duration,
				e->info.truncated ? 1 : 0, e->file, e->key);
	bool ok = fflush(f) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		mbfs_warn("spool: cannot update the index");
	}
}

static void load_index(struct mbfs_spool *sp)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/index", sp->dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[KEY_MAX + 512];
	if (!fgets(line, sizeof line, f) || strcmp(line, "mbfs-spool 1\n") != 0) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		struct mbfs_spool_info info = {0};
		char file[256], key[KEY_MAX];
		int trunc = 0;
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %lf %lf %d %255s %1023s",
			   &info.gen, &info.size, &info.rows, &info.fetched_at,
			   &info.duration, &trunc, file, key) != 8)
			continue;
		info.truncated = trunc != 0;
		char p[4096];
		struct stat st;
		path_of(sp, file, p, sizeof p);
		if (stat(p, &st) != 0 || (uint64_t)st.st_size != info.size ||
		    find(sp, key))
			continue;
		struct entry *e = insert(sp, key);
		if (!e)
			break;
		e->file = strdup(file);
		e->info = info;
		e->last_use = ++sp->clock;
		sp->total += info.size;
	}
	fclose(f);
}

/* Remove temp files left by mounts that died ("tmp-<pid>-<n>" with a pid
 * that no longer exists; other live mounts of the same server keep theirs). */
static void remove_stale_temps(struct mbfs_spool *sp)
{
	DIR *d = opendir(sp->spool_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		if (sscanf(de->d_name, "tmp-%ld-", &pid) != 1)
			continue;
		if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0)
			continue;
		char p[4096];
		path_of(sp, de->d_name, p, sizeof p);
		unlink(p);
	}
	closedir(d);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

enum mbfs_status mbfs_spool_new(const char *cache_dir, const char *server_url,
				uint64_t cache_max, struct mbfs_spool **out,
				struct mbfs_err *err)
{
	struct mbfs_spool *sp = calloc(1, sizeof *sp);
	if (!sp)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	char buf[4096];
	snprintf(buf, sizeof buf, "%s/%016" PRIx64, cache_dir,
		 hash_str(server_url));
	sp->dir = strdup(buf);
	snprintf(buf, sizeof buf, "%s/spool", sp->dir);
	sp->spool_dir = strdup(buf);
	sp->cap = cache_max;
	sp->n_buckets = 64;
	sp->buckets = calloc(sp->n_buckets, sizeof *sp->buckets);
	pthread_mutex_init(&sp->lock, NULL);
	if (!sp->dir || !sp->spool_dir || !sp->buckets) {
		mbfs_spool_free(sp);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	if (mkdir_p(cache_dir, 0700) != 0 || mkdir_p(sp->spool_dir, 0700) != 0) {
		enum mbfs_status st = mbfs_err_set(err, MBFS_ERR_IO, 0,
						   "cannot create the cache directory %s: %s",
						   sp->spool_dir, strerror(errno));
		mbfs_spool_free(sp);
		return st;
	}
	chmod(sp->dir, 0700);
	load_index(sp);
	remove_stale_temps(sp);
	*out = sp;
	return MBFS_OK;
}

void mbfs_spool_free(struct mbfs_spool *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; sp->buckets && i < sp->n_buckets; i++) {
		struct entry *e = sp->buckets[i];
		while (e) {
			struct entry *next = e->next;
			free(e->key);
			free(e->file);
			free(e);
			e = next;
		}
	}
	free(sp->buckets);
	pthread_mutex_destroy(&sp->lock);
	free(sp->dir);
	free(sp->spool_dir);
	free(sp);
}

const char *mbfs_spool_dir(const struct mbfs_spool *sp)
{
	return sp->dir;
}

bool mbfs_spool_get(struct mbfs_spool *sp, const char *key,
		    struct mbfs_spool_info *out)
{
	pthread_mutex_lock(&sp->lock);
	struct entry *e = find(sp, key);
	if (e && out)
		*out = e->info;
	pthread_mutex_unlock(&sp->lock);
	return e != NULL;
}

enum mbfs_status mbfs_spool_create(struct mbfs_spool *sp, int *fd,
				   char **tmp_path, struct mbfs_err *err)
{
	char p[4096];
	pthread_mutex_lock(&sp->lock);
	uint64_t seq = ++sp->tmp_seq;
	pthread_mutex_unlock(&sp->lock);
	snprintf(p, sizeof p, "%s/tmp-%ld-%" PRIu64, sp->spool_dir,
		 (long)getpid(), seq);
	int f = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f < 0)
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "cannot create a spool file in %s: %s",
				    sp->spool_dir, strerror(errno));
	*fd = f;
	*tmp_path = strdup(p);
	return MBFS_OK;
}

void mbfs_spool_discard(struct mbfs_spool *sp, const char *tmp_path)
{
	(void)sp;
	if (tmp_path)
		unlink(tmp_path);
}

/* Evict unpinned LRU entries until total <= cap (keep `keep`). Lock held. */
static void evict(struct mbfs_spool *sp, const struct entry *keep)
{
	while (sp->total > sp->cap) {
		struct entry *victim = NULL;
		for (size_t i = 0; i < sp->n_buckets; i++)
			for (struct entry *e = sp->buckets[i]; e; e = e->next)
				if (e != keep && !e->pins &&
				    (!victim || e->last_use < victim->last_use))
					victim = e;
		if (!victim)
			break;
		mbfs_debug("spool: evicting %s (%" PRIu64 " bytes)", victim->key,
			   victim->info.size);
		remove_entry(sp, victim);
	}
}

enum mbfs_status mbfs_spool_commit(struct mbfs_spool *sp, const char *key,
				   const char *tmp_path,
				   const struct mbfs_spool_info *meta,
				   struct mbfs_spool_info *out,
				   struct mbfs_err *err)
{
	if (strlen(key) >= KEY_MAX || strpbrk(key, " \n\t"))
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "bad spool key");
	pthread_mutex_lock(&sp->lock);
	struct entry *e = find(sp, key);
	uint64_t gen = e ? e->info.gen + 1 : 1;
	char file[64], path[4096];
	snprintf(file, sizeof file, "%016" PRIx64 "-%" PRIu64, hash_str(key), gen);
	path_of(sp, file, path, sizeof path);
	/* Put the new file in place first: a failure leaves the old result
	 * (and the accounting) untouched. */
	if (rename(tmp_path, path) != 0) {
		enum mbfs_status st = mbfs_err_set(err, MBFS_ERR_IO, 0,
						   "spool rename failed: %s",
						   strerror(errno));
		pthread_mutex_unlock(&sp->lock);
		return st;
	}
	char *fname = strdup(file);
	if (!e)
		e = insert(sp, key);
	if (!e || !fname) {
		free(fname);
		unlink(path);
		pthread_mutex_unlock(&sp->lock);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	if (e->file) {
		char old[4096];
		path_of(sp, e->file, old, sizeof old);
		unlink(old); /* open handles keep reading their generation */
		sp->total -= e->info.size;
		free(e->file);
	}
	e->file = fname;
	e->pins = 0; /* older pins refer to the older generation */
	e->info = *meta;
	e->info.gen = gen;
	e->last_use = ++sp->clock;
	sp->total += e->info.size;
	evict(sp, e);
	save_index(sp);
	if (out)
		*out = e->info;
	pthread_mutex_unlock(&sp->lock);
	return MBFS_OK;
}

enum mbfs_status mbfs_spool_open(struct mbfs_spool *sp, const char *key, int *fd,
				 struct mbfs_spool_info *out,
				 struct mbfs_err *err)
{
	pthread_mutex_lock(&sp->lock);
	struct entry *e = find(sp, key);
	enum mbfs_status st = MBFS_OK;
	if (!e) {
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no cached result");
	} else {
		char p[4096];
		path_of(sp, e->file, p, sizeof p);
		int f = open(p, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					  "cached result vanished: %s",
					  strerror(errno));
			remove_entry(sp, e);
			save_index(sp);
		} else {
			*fd = f;
			e->pins++;
			e->last_use = ++sp->clock;
			if (out)
				*out = e->info;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return st;
}

void mbfs_spool_unpin(struct mbfs_spool *sp, const char *key, uint64_t gen)
{
	pthread_mutex_lock(&sp->lock);
	struct entry *e = find(sp, key);
	if (e && e->info.gen == gen && e->pins)
		e->pins--;
	if (e && sp->total > sp->cap) {
		evict(sp, NULL);
		save_index(sp);
	}
	pthread_mutex_unlock(&sp->lock);
}

void mbfs_spool_drop(struct mbfs_spool *sp, const char *key)
{
	pthread_mutex_lock(&sp->lock);
	struct entry *e = find(sp, key);
	if (e) {
		remove_entry(sp, e);
		save_index(sp);
	}
	pthread_mutex_unlock(&sp->lock);
}

void mbfs_spool_drop_all(struct mbfs_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < sp->n_buckets; i++)
		while (sp->buckets[i])
			remove_entry(sp, sp->buckets[i]);
	save_index(sp);
	pthread_mutex_unlock(&sp->lock);
}

int mbfs_spool_describe(struct mbfs_spool *sp, char *out, size_t outsz)
{
	pthread_mutex_lock(&sp->lock);
	int n = snprintf(out, outsz,
			 "spool_results %zu\nspool_bytes %" PRIu64 "\nspool_cap %" PRIu64 "\n",
			 sp->n, sp->total, sp->cap);
	pthread_mutex_unlock(&sp->lock);
	return n;
}
