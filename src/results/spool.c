/*
 * spool.c — owns the cache directory of one server: its safety checks,
 * result files, the generation counter, the persistent index shared by
 * every mount that uses the directory (flock-serialized, merged, atomic
 * and durable), crash recovery, pins and LRU eviction to the cap.
 * See spool.h for the layout and the guarantees.
 *
 * Index file format (<dir>/index):
 *   mbfs-spool 2 <next_gen>
 *   <gen> <size> <rows> <fetched_at> <duration> <truncated> <last_use> <key>
 * where <key> is percent-escaped (no spaces, newlines or '%' left) and the
 * result's file is spool/r-<gen as 16 hex digits>.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "store.h"
#include "util.h"

#define INDEX_MAX ((size_t)256 << 20)   /* a larger index is not ours */
#define REFRESH_EVERY 0.1               /* seconds between disk checks */
#define TMP_GRACE 60                    /* seconds a lockable temp file is spared */
#define HASH_DIRS 16                    /* <hash>, <hash>-1 ... on collisions */

struct entry {
	char *key;
	struct mbfs_spool_info info;
	double last_use;       /* wall clock of the last open or commit */
	unsigned pins;         /* this mount's open handles on info.gen */
	bool seen;             /* merge mark */
	struct mbfs_map_item item; /* in sp->entries, by key */
};

struct index_id {
	bool valid;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

struct mbfs_spool {
	pthread_mutex_t lock;  /* protects everything below */
	char *dir;             /* <cache_dir>/<hash>, for messages */
	int dirfd, spoolfd, lockfd;
	uint64_t cap;
	uint64_t total;
	uint64_t next_gen;     /* the next generation to hand out */
	uint64_t tmp_seq;
	struct mbfs_map entries; /* key → struct entry */
	struct index_id idx;   /* the index file our copy reflects */
	uint64_t evictions;    /* results this mount evicted to the cap */
	double checked_at;     /* monotonic time of the last disk check */
	/* Removing a dropped result's file (page-cache truncation: ~40 ms
	 * per 100 MB) runs on this pool, off the lock and off the path of
	 * the touch or commit that dropped it; NULL: inline. */
	struct mbfs_pool *pool;
	unsigned reaps_pending;  /* queued on the pool, not yet unlinked */
	pthread_cond_t reaped;   /* reaps_pending went down */
};

/* ---- the in-memory table -------------------------------------------------- */

static struct entry *entry_of(struct mbfs_map_item *it)
{
	return it ? MBFS_MAP_ENTRY(it, struct entry, item) : NULL;
}

static struct entry *find(struct mbfs_spool *sp, const char *key)
{
	return entry_of(mbfs_map_get(&sp->entries, key));
}

/* Every entry (the one returned last may be removed during the walk). */
static struct entry *first(struct mbfs_spool *sp, struct mbfs_map_iter *i)
{
	return entry_of(mbfs_map_first(&sp->entries, i));
}

static struct entry *next(struct mbfs_map_iter *i)
{
	return entry_of(mbfs_map_next(i));
}

static struct entry *insert(struct mbfs_spool *sp, const char *key)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	if (!mbfs_map_put(&sp->entries, &e->item, e->key)) {
		free(e->key);
		free(e);
		return NULL;
	}
	return e;
}

/* Remove e from the table (its file is the caller's business). */
static void forget(struct mbfs_spool *sp, struct entry *e)
{
	sp->total -= e->info.size;
	mbfs_map_del(&sp->entries, &e->item);
	free(e->key);
	free(e);
}

static void file_name(uint64_t gen, char out[24])
{
	snprintf(out, 24, "r-%016" PRIx64, gen);
}

static void unlink_result(struct mbfs_spool *sp, uint64_t gen)
{
	char name[24];
	file_name(gen, name);
	if (unlinkat(sp->spoolfd, name, 0) != 0 && errno != ENOENT)
		mbfs_warn("spool: cannot remove %s/spool/%s: %s", sp->dir, name,
			  strerror(errno));
}

struct reap {
	struct mbfs_pool_item item;
	struct mbfs_spool *sp;
	uint64_t gen;
};

static void reap_run(void *arg)
{
	struct reap *r = arg;
	struct mbfs_spool *sp = r->sp;
	unlink_result(sp, r->gen);
	pthread_mutex_lock(&sp->lock);
	sp->reaps_pending--;
	pthread_cond_broadcast(&sp->reaped);
	pthread_mutex_unlock(&sp->lock);
	free(r);
}

/*
 * The file of generation gen is no longer in the index: remove it (lock
 * held). With a pool, later and off the lock; a crash before that leaves
 * an orphan, which the next start-up sweep removes (it is in no index).
 * Generations are never reused, so no new file can take its name.
 */
static void doom(struct mbfs_spool *sp, uint64_t gen)
{
	struct reap *r = sp->pool ? calloc(1, sizeof *r) : NULL;
	if (!r) {
		unlink_result(sp, gen);
		return;
	}
	r->item.fn = reap_run;
	r->item.arg = r;
	r->sp = sp;
	r->gen = gen;
	sp->reaps_pending++;
	mbfs_pool_submit_item(sp->pool, &r->item);
}

/* Remove e, and (soon) its file. */
static void remove_entry(struct mbfs_spool *sp, struct entry *e)
{
	doom(sp, e->info.gen);
	forget(sp, e);
}

/* ---- the index file ------------------------------------------------------------ */

static void index_identity(struct mbfs_spool *sp, struct index_id *id)
{
	struct stat st;
	memset(id, 0, sizeof *id);
	if (fstatat(sp->dirfd, "index", &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	id->valid = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime = st.st_mtim;
	id->size = st.st_size;
}

static bool same_identity(const struct index_id *a, const struct index_id *b)
{
	if (!a->valid || !b->valid)
		return a->valid == b->valid;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The index file (NULL when absent or not a safe regular file of ours). */
static char *read_index(struct mbfs_spool *sp, size_t *len)
{
	char *buf;
	struct mbfs_err e;
	enum mbfs_status st = mbfs_store_read(sp->dirfd, sp->dir, "index",
					      INDEX_MAX, &buf, len, &e);
	if (st != MBFS_OK && st != MBFS_ERR_NOT_FOUND)
		mbfs_warn("spool: ignoring the index: %s", e.msg);
	return st == MBFS_OK ? buf : NULL;
}

static bool parse_u64(const char **p, uint64_t *out)
{
	char *end;
	errno = 0;
	if (**p < '0' || **p > '9')
		return false;
	unsigned long long v = strtoull(*p, &end, 10);
	if (errno || *end != ' ')
		return false;
	*out = v;
	*p = end + 1;
	return true;
}

static bool parse_i64(const char **p, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(*p, &end, 10);
	if (errno || end == *p || *end != ' ')
		return false;
	*out = v;
	*p = end + 1;
	return true;
}

static bool parse_dbl(const char **p, double *out)
{
	char *end;
	double v = strtod(*p, &end);
	if (end == *p || *end != ' ' || !(v >= 0 && v < 1e12))
		return false;
	*out = v;
	*p = end + 1;
	return true;
}

bool mbfs_spool_parse_record(const char *line, size_t len,
			     struct mbfs_spool_info *info, double *last_use,
			     char **key)
{
	/* the number parsers need a terminated string: work on a copy */
	if (len > 3 * (size_t)MBFS_SPOOL_KEY_MAX + 256)
		return false;
	char *copy = malloc(len + 1);
	if (!copy)
		return false;
	memcpy(copy, line, len);
	copy[len] = '\0';
	const char *end = copy + len;
	const char *p = copy;
	uint64_t trunc = 0;
	memset(info, 0, sizeof *info);
	if (!parse_u64(&p, &info->gen) || info->gen == 0 ||
	    !parse_u64(&p, &info->size) || !parse_i64(&p, &info->rows) ||
	    !parse_dbl(&p, &info->fetched_at) ||
	    !parse_dbl(&p, &info->duration) || !parse_u64(&p, &trunc) ||
	    trunc > 1 || !parse_dbl(&p, last_use) || p >= end) {
		free(copy);
		return false;
	}
	info->truncated = trunc == 1;
	*key = mbfs_store_unescape(p, (size_t)(end - p),
				   3 * (size_t)MBFS_SPOOL_KEY_MAX);
	if (*key && strlen(*key) > MBFS_SPOOL_KEY_MAX) {
		free(*key);
		*key = NULL;
	}
	free(copy);
	return *key != NULL;
}

/*
 * Make the in-memory table the disk index (lock held; the flock too when
 * the caller writes afterwards). Pins and last use of unchanged entries
 * survive; entries the disk no longer has are forgotten (another mount
 * dropped or replaced them; their files are not ours to remove). With
 * check_files, records whose file is missing or of another size are left
 * out. Returns true when the table differs from the file (write it).
 */
static bool reload(struct mbfs_spool *sp, bool check_files)
{
	bool dirty = false;
	size_t len = 0;
	index_identity(sp, &sp->idx);
	char *buf = sp->idx.valid ? read_index(sp, &len) : NULL;
	struct mbfs_map_iter it;
	for (struct entry *e = first(sp, &it); e; e = next(&it))
		e->seen = false;
	const char *p = buf, *end = buf ? buf + len : NULL;
	const char *nl = p ? memchr(p, '\n', len) : NULL;
	uint64_t disk_next = 0;
	if (nl && sscanf(p, "mbfs-spool 2 %" SCNu64, &disk_next) == 1) {
		p = nl + 1;
	} else {
		if (buf && len)
			mbfs_info("spool: %s/index is of an older format: starting empty",
				  sp->dir);
		p = end;
		dirty = buf != NULL;
	}
	while (p && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct mbfs_spool_info info;
		double last_use = 0;
		char *key = NULL;
		if (!mbfs_spool_parse_record(p, (size_t)(le - p), &info,
					     &last_use, &key)) {
			mbfs_warn("spool: %s/index: a malformed record was dropped",
				  sp->dir);
			dirty = true;
		} else {
			bool ok = true;
			if (check_files) {
				char name[24];
				struct stat st;
				file_name(info.gen, name);
				ok = fstatat(sp->spoolfd, name, &st,
					     AT_SYMLINK_NOFOLLOW) == 0 &&
				     S_ISREG(st.st_mode) &&
				     (uint64_t)st.st_size == info.size;
				if (!ok) {
					mbfs_info("spool: the result file of %s is missing or incomplete: dropped",
						  key);
					dirty = true;
				}
			}
			struct entry *e = ok ? find(sp, key) : NULL;
			if (ok && e && e->seen) {
				dirty = true; /* a duplicate record: first wins */
			} else if (ok) {
				if (!e)
					e = insert(sp, key);
				if (e) {
					if (e->info.gen != info.gen)
						e->pins = 0;
					sp->total -= e->info.size;
					e->info = info;
					sp->total += info.size;
					if (last_use > e->last_use)
						e->last_use = last_use;
					e->seen = true;
				}
			}
			if (info.gen >= disk_next)
				disk_next = info.gen + 1;
		}
		free(key);
		p = nl ? nl + 1 : end;
	}
	free(buf);
	for (struct entry *e = first(sp, &it); e; e = next(&it))
		if (!e->seen)
			forget(sp, e);
	if (disk_next > sp->next_gen)
		sp->next_gen = disk_next;
	if (sp->next_gen == 0)
		sp->next_gen = 1;
	return dirty;
}

static bool write_records(FILE *f, void *arg)
{
	struct mbfs_spool *sp = arg;
	fprintf(f, "mbfs-spool 2 %" PRIu64 "\n", sp->next_gen);
	struct mbfs_map_iter it;
	for (struct entry *e = first(sp, &it); e; e = next(&it)) {
		fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRId64 " %.3f %.3f %d %.3f ",
			e->info.gen, e->info.size, e->info.rows,
			e->info.fetched_at, e->info.duration,
			e->info.truncated ? 1 : 0, e->last_use);
		mbfs_store_escape(f, e->key);
		fputc('\n', f);
	}
	return true;
}

/* Rewrite the index atomically and durably (lock and flock held). */
static bool write_index(struct mbfs_spool *sp)
{
	struct mbfs_err e;
	if (mbfs_store_replace(sp->dirfd, sp->dir, "index", write_records, sp,
			       &e) != MBFS_OK) {
		mbfs_warn("spool: %s", e.msg);
		return false;
	}
	index_identity(sp, &sp->idx);
	return true;
}

/* ---- the cross-mount lock ------------------------------------------------------ */

/* Take the directory's flock and bring the table up to the disk's state.
 * sp->lock held. */
static void begin(struct mbfs_spool *sp)
{
	mbfs_store_flock(sp->lockfd, LOCK_EX);
	struct index_id now;
	index_identity(sp, &now);
	if (!same_identity(&now, &sp->idx))
		reload(sp, false);
	sp->checked_at = mbfs_mono_now();
}

/* Write the index if dirty and release the flock. sp->lock held. */
static void end(struct mbfs_spool *sp, bool dirty)
{
	if (dirty)
		write_index(sp);
	mbfs_store_flock(sp->lockfd, LOCK_UN);
}

/* Without the flock: pick up another mount's changes when the index file
 * changed (it is replaced by rename, so any read is a whole index). Rate
 * limited. sp->lock held. */
static void refresh(struct mbfs_spool *sp, bool now)
{
	double t = mbfs_mono_now();
	if (!now && t - sp->checked_at < REFRESH_EVERY)
		return;
	sp->checked_at = t;
	struct index_id id;
	index_identity(sp, &id);
	if (!same_identity(&id, &sp->idx))
		reload(sp, false);
}

/* ---- eviction -------------------------------------------------------------------- */

/* Evict unpinned LRU entries until total <= cap (keep `keep`). Returns
 * whether anything went. sp->lock and the flock held. */
static bool evict(struct mbfs_spool *sp, const struct entry *keep)
{
	bool any = false;
	while (sp->total > sp->cap) {
		struct entry *victim = NULL;
		struct mbfs_map_iter it;
		for (struct entry *e = first(sp, &it); e; e = next(&it))
			if (e != keep && !e->pins &&
			    (!victim || e->last_use < victim->last_use))
				victim = e;
		if (!victim)
			break;
		mbfs_debug("spool: evicting %s (%" PRIu64 " bytes)", victim->key,
			   victim->info.size);
		remove_entry(sp, victim);
		sp->evictions++;
		any = true;
	}
	return any;
}

/* ---- directories ------------------------------------------------------------------ */

/* Create the missing parents of an absolute path (0700); existing ones
 * are left as they are (the user's home, /var/cache ...). */
static void make_parents(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return;
		*p = '/';
	}
}

/* Does dirfd's "server" file name url (creating it when absent)? */
static bool server_matches(int dirfd, const char *url)
{
	size_t ul = strlen(url);
	int fd = openat(dirfd, "server",
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write(fd, url, ul) == (ssize_t)ul;
		close(fd);
		return ok;
	}
	fd = openat(dirfd, "server", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	char *buf = malloc(ul + 2);
	ssize_t n = buf ? read(fd, buf, ul + 1) : -1;
	close(fd);
	bool ok = n == (ssize_t)ul && memcmp(buf, url, ul) == 0;
	free(buf);
	return ok;
}

/* Remove what a crash left (sp->lock and the flock held): files of the
 * spool directory that the index does not name, and temp files whose
 * writer is gone. Returns the number removed. */
static unsigned sweep(struct mbfs_spool *sp)
{
	int fd = dup(sp->spoolfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	unsigned removed = 0;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(sp->spoolfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		bool drop = true;
		uint64_t gen;
		char tail;
		long pid;
		if (sscanf(nm, "r-%16" SCNx64 "%c", &gen, &tail) == 1 &&
		    strlen(nm) == 18) {
			char name[24];
			file_name(gen, name);
			drop = strcmp(name, nm) != 0;
			struct mbfs_map_iter it;
			for (struct entry *e = drop ? NULL : first(sp, &it); e;
			     e = next(&it))
				if (e->info.gen == gen)
					goto keep;
			drop = true;
		} else if (sscanf(nm, "tmp-%ld-", &pid) == 1 && S_ISREG(st.st_mode)) {
			/* its writer holds a flock on it while writing */
			int tf = openat(sp->spoolfd, nm,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			bool locked = tf < 0 || flock(tf, LOCK_EX | LOCK_NB) != 0;
			if (tf >= 0)
				close(tf);
			bool alive = pid > 0 && kill((pid_t)pid, 0) == 0;
			drop = !locked && (!alive || now - st.st_mtime > TMP_GRACE);
		}
		if (drop) {
			if (unlinkat(sp->spoolfd, nm, 0) == 0)
				removed++;
		}
keep:;
	}
	closedir(d);
	return removed;
}

enum mbfs_status mbfs_spool_new(const char *cache_dir, const char *server_url,
				uint64_t cache_max, struct mbfs_spool **out,
				struct mbfs_err *err)
{
	if (!cache_dir || cache_dir[0] != '/')
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "the cache directory must be an absolute path");
	struct mbfs_spool *sp = calloc(1, sizeof *sp);
	if (!sp)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	sp->dirfd = sp->spoolfd = sp->lockfd = -1;
	sp->cap = cache_max;
	mbfs_map_init(&sp->entries);
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->reaped, NULL);
	enum mbfs_status st = MBFS_OK;
	int top = -1;
	if (!mbfs_map_reserve(&sp->entries, 64)) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	make_parents(cache_dir);
	st = mbfs_store_dir(AT_FDCWD, cache_dir, cache_dir, &top, err);
	if (st != MBFS_OK)
		goto fail;
	char buf[4200];
	for (int i = 0; i < HASH_DIRS && sp->dirfd < 0; i++) {
		char name[40];
		if (i == 0)
			snprintf(name, sizeof name, "%016" PRIx64, mbfs_fnv1a_str(MBFS_FNV1A_INIT, server_url));
		else
			snprintf(name, sizeof name, "%016" PRIx64 "-%d",
				 mbfs_fnv1a_str(MBFS_FNV1A_INIT, server_url), i);
		snprintf(buf, sizeof buf, "%s/%s", cache_dir, name);
		int fd;
		st = mbfs_store_dir(top, name, buf, &fd, err);
		if (st != MBFS_OK)
			goto fail;
		if (server_matches(fd, server_url)) {
			sp->dirfd = fd;
			sp->dir = strdup(buf);
		} else {
			close(fd);
		}
	}
	if (sp->dirfd < 0) {
		st = mbfs_err_set(err, MBFS_ERR_IO, 0,
				  "no usable directory for this server under %s",
				  cache_dir);
		goto fail;
	}
	snprintf(buf, sizeof buf, "%s/spool", sp->dir ? sp->dir : "");
	st = mbfs_store_dir(sp->dirfd, "spool", buf, &sp->spoolfd, err);
	if (st != MBFS_OK)
		goto fail;
	st = mbfs_store_lock_file(sp->dirfd, sp->dir, &sp->lockfd, err);
	if (st != MBFS_OK)
		goto fail;
	pthread_mutex_lock(&sp->lock);
	mbfs_store_flock(sp->lockfd, LOCK_EX);
	bool dirty = reload(sp, true);
	unsigned removed = sweep(sp);
	if (removed)
		mbfs_info("spool: removed %u file(s) no index entry named (left by a crash)",
			  removed);
	dirty = evict(sp, NULL) || dirty;
	if (unlinkat(sp->dirfd, "index.tmp", 0) == 0)
		dirty = true;
	end(sp, dirty);
	sp->checked_at = mbfs_mono_now();
	pthread_mutex_unlock(&sp->lock);
	close(top);
	*out = sp;
	return MBFS_OK;
fail:
	if (top >= 0)
		close(top);
	mbfs_spool_free(sp);
	return st;
}

void mbfs_spool_set_pool(struct mbfs_spool *sp, struct mbfs_pool *pool)
{
	pthread_mutex_lock(&sp->lock);
	sp->pool = pool;
	pthread_mutex_unlock(&sp->lock);
}

void mbfs_spool_free(struct mbfs_spool *sp)
{
	if (!sp)
		return;
	pthread_mutex_lock(&sp->lock);
	while (sp->reaps_pending)
		pthread_cond_wait(&sp->reaped, &sp->lock);
	pthread_mutex_unlock(&sp->lock);
	pthread_cond_destroy(&sp->reaped);
	struct mbfs_map_iter it;
	for (struct entry *e = first(sp, &it); e; e = next(&it)) {
		free(e->key);
		free(e);
	}
	mbfs_map_destroy(&sp->entries);
	pthread_mutex_destroy(&sp->lock);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	if (sp->spoolfd >= 0)
		close(sp->spoolfd);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	free(sp->dir);
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
	refresh(sp, false);
	struct entry *e = find(sp, key);
	if (e && out)
		*out = e->info;
	pthread_mutex_unlock(&sp->lock);
	return e != NULL;
}

enum mbfs_status mbfs_spool_create(struct mbfs_spool *sp, int *fd,
				   char **tmp_path, struct mbfs_err *err)
{
	char name[64];
	pthread_mutex_lock(&sp->lock);
	uint64_t seq = ++sp->tmp_seq;
	pthread_mutex_unlock(&sp->lock);
	snprintf(name, sizeof name, "tmp-%ld-%" PRIu64, (long)getpid(), seq);
	int f = openat(sp->spoolfd, name,
		       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "cannot create a spool file in %s/spool: %s",
				    sp->dir, strerror(errno));
	/* the sweep of another mount spares a temp file while this lock holds */
	mbfs_store_flock(f, LOCK_EX);
	*tmp_path = strdup(name);
	if (!*tmp_path) {
		unlinkat(sp->spoolfd, name, 0);
		close(f);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	*fd = f;
	return MBFS_OK;
}

void mbfs_spool_discard(struct mbfs_spool *sp, const char *tmp_path)
{
	if (tmp_path && strncmp(tmp_path, "tmp-", 4) == 0 && !strchr(tmp_path, '/'))
		unlinkat(sp->spoolfd, tmp_path, 0);
}

enum mbfs_status mbfs_spool_commit(struct mbfs_spool *sp, const char *key,
				   const char *tmp_path,
				   const struct mbfs_spool_info *meta,
				   struct mbfs_spool_info *out,
				   struct mbfs_err *err)
{
	if (!key[0] || strlen(key) > MBFS_SPOOL_KEY_MAX)
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "a result key of %zu bytes cannot be cached",
				    strlen(key));
	if (strncmp(tmp_path, "tmp-", 4) != 0 || strchr(tmp_path, '/'))
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0, "not a spool temp file");
	pthread_mutex_lock(&sp->lock);
	begin(sp);
	uint64_t gen = sp->next_gen++;
	char name[24];
	file_name(gen, name);
	/* Put the new file in place first: a failure leaves the old result
	 * (and the accounting) untouched. Another mount's orphan of the same
	 * name (it died before writing the index) is replaced. */
	if (renameat(sp->spoolfd, tmp_path, sp->spoolfd, name) != 0) {
		enum mbfs_status st = mbfs_err_set(err, MBFS_ERR_IO, 0,
						   "spool rename failed: %s",
						   strerror(errno));
		end(sp, true); /* the generation is spent: never reuse it */
		pthread_mutex_unlock(&sp->lock);
		return st;
	}
	struct entry *e = find(sp, key);
	if (e) {
		doom(sp, e->info.gen); /* open handles keep their generation */
		sp->total -= e->info.size;
	} else {
		e = insert(sp, key);
	}
	if (!e) {
		unlinkat(sp->spoolfd, name, 0);
		end(sp, true);
		pthread_mutex_unlock(&sp->lock);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	}
	e->pins = 0; /* older pins refer to the older generation */
	e->info = *meta;
	e->info.gen = gen;
	e->last_use = mbfs_wall_now();
	sp->total += e->info.size;
	evict(sp, e);
	end(sp, true);
	if (out)
		*out = e->info;
	pthread_mutex_unlock(&sp->lock);
	return MBFS_OK;
}

/* Open e's file and check it is the result the index describes. */
static int open_result(struct mbfs_spool *sp, const struct entry *e)
{
	char name[24];
	file_name(e->info.gen, name);
	int f = openat(sp->spoolfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return -1;
	struct stat st;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != e->info.size) {
		close(f);
		errno = ESTALE;
		return -1;
	}
	return f;
}

enum mbfs_status mbfs_spool_open(struct mbfs_spool *sp, const char *key, int *fd,
				 struct mbfs_spool_info *out,
				 struct mbfs_err *err)
{
	pthread_mutex_lock(&sp->lock);
	refresh(sp, false);
	struct entry *e = find(sp, key);
	int f = e ? open_result(sp, e) : -1;
	if (e && f < 0) {
		/* Replaced or dropped by another mount, or removed behind our
		 * back: ask the disk index (under the lock). */
		begin(sp);
		e = find(sp, key);
		f = e ? open_result(sp, e) : -1;
		bool dirty = false;
		if (e && f < 0) {
			mbfs_info("spool: the result file of %s vanished: dropped",
				  key);
			remove_entry(sp, e);
			e = NULL;
			dirty = true;
		}
		end(sp, dirty);
	}
	enum mbfs_status st = MBFS_OK;
	if (!e) {
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no cached result");
	} else {
		*fd = f;
		e->pins++;
		e->last_use = mbfs_wall_now();
		if (out)
			*out = e->info;
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
	if (sp->total > sp->cap) {
		begin(sp);
		end(sp, evict(sp, NULL));
	}
	pthread_mutex_unlock(&sp->lock);
}

void mbfs_spool_drop(struct mbfs_spool *sp, const char *key)
{
	pthread_mutex_lock(&sp->lock);
	begin(sp);
	struct entry *e = find(sp, key);
	if (e)
		remove_entry(sp, e);
	end(sp, e != NULL);
	pthread_mutex_unlock(&sp->lock);
}

void mbfs_spool_drop_prefix(struct mbfs_spool *sp, const char *prefix)
{
	size_t pl = strlen(prefix);
	bool any = false;
	pthread_mutex_lock(&sp->lock);
	begin(sp);
	struct mbfs_map_iter it;
	for (struct entry *e = first(sp, &it); e; e = next(&it)) {
		if (strncmp(e->key, prefix, pl) == 0) {
			remove_entry(sp, e);
			any = true;
		}
	}
	end(sp, any);
	pthread_mutex_unlock(&sp->lock);
}

int mbfs_spool_describe(struct mbfs_spool *sp, char *out, size_t outsz)
{
	pthread_mutex_lock(&sp->lock);
	refresh(sp, false);
	int n = snprintf(out, outsz,
			 "spool_results %zu\nspool_bytes %" PRIu64 "\nspool_cap %" PRIu64
			 "\nspool_removals_pending %u\n",
			 mbfs_map_count(&sp->entries), sp->total, sp->cap,
			 sp->reaps_pending);
	pthread_mutex_unlock(&sp->lock);
	return n;
}

int mbfs_spool_describe_metrics(struct mbfs_spool *sp, char *out, size_t outsz)
{
	pthread_mutex_lock(&sp->lock);
	refresh(sp, false);
	int n = snprintf(out, outsz,
			 "# HELP mbfs_spool_results Results in the cache directory (every mount sharing it).\n"
			 "# TYPE mbfs_spool_results gauge\n"
			 "mbfs_spool_results %zu\n"
			 "# HELP mbfs_spool_bytes Bytes of results in the cache directory.\n"
			 "# TYPE mbfs_spool_bytes gauge\n"
			 "mbfs_spool_bytes %" PRIu64 "\n"
			 "# HELP mbfs_spool_cap_bytes The cache size cap (cache_max).\n"
			 "# TYPE mbfs_spool_cap_bytes gauge\n"
			 "mbfs_spool_cap_bytes %" PRIu64 "\n"
			 "# HELP mbfs_cache_evictions_total Results this mount evicted to the cap.\n"
			 "# TYPE mbfs_cache_evictions_total counter\n"
			 "mbfs_cache_evictions_total %" PRIu64 "\n",
			 mbfs_map_count(&sp->entries), sp->total, sp->cap, sp->evictions);
	pthread_mutex_unlock(&sp->lock);
	return n;
}

