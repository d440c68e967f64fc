/*
 * queries_disk.c — owns the query store on disk: the index (its format,
 * loading, merging a change into it under the flock, the reservation of
 * numbers), the texts of revisions, and opening a store (safety checks,
 * loading, dropping what does not check out, sweeping crash leftovers).
 * Local file I/O only. See queries.h for the layout, queries_int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queries_int.h"
#include "store.h"
#include "util.h"

#define RESERVE_BLOCK 1024          /* numbers reserved per index write */
#define INDEX_MAX ((size_t)64 << 20) /* a larger index is not ours */
#define NAME_ESC_MAX (3 * 255)

struct recs {
	struct rec *v;
	size_t n, cap;
	uint64_t reserved;
	char epoch[17];
	bool have_header;
};

/* ---- the index on disk (q->lock and the flock held) ------------------------- */

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	memset(r, 0, sizeof *r);
}

static bool recs_add(struct recs *r, const struct rec *x)
{
	struct rec *v = mbfs_grow(r->v, &r->cap, r->n, sizeof *v, 16);
	if (!v)
		return false;
	r->v = v;
	r->v[r->n] = *x;
	r->v[r->n].name = strdup(x->name);
	if (!r->v[r->n].name)
		return false;
	r->n++;
	return true;
}

static void recs_del(struct recs *r, size_t i)
{
	free(r->v[i].name);
	r->v[i] = r->v[--r->n];
}

static int digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

static bool parse_num(const char **p, const char *end, uint64_t *out,
		      int base)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || digit(*s) < 0 || digit(*s) >= base)
		return false;
	for (; s < end && *s != ' '; s++) {
		int d = digit(*s);
		if (d < 0 || d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (s >= end || *s != ' ')
		return false;
	*out = v;
	*p = s + 1;
	return true;
}

static bool parse_line(const char *s, const char *end, struct rec *r)
{
	uint64_t db, mode, sec, nsec;
	memset(r, 0, sizeof *r);
	if (!parse_num(&s, end, &db, 10) || !parse_num(&s, end, &r->id, 10) ||
	    !parse_num(&s, end, &r->rev, 10) || !parse_num(&s, end, &mode, 8) ||
	    !parse_num(&s, end, &sec, 10) || !parse_num(&s, end, &nsec, 10) ||
	    !parse_num(&s, end, &r->size, 10))
		return false;
	if (db == 0 || db > INT64_MAX || r->id == 0 || r->rev == 0 ||
	    mode > 07777 || sec > INT64_MAX || nsec >= 1000000000)
		return false;
	r->db = (int64_t)db;
	r->mode = (unsigned)mode;
	r->sec = (int64_t)sec;
	r->nsec = (long)nsec;
	r->name = mbfs_store_unescape(s, (size_t)(end - s), NAME_ESC_MAX);
	return r->name != NULL;
}

/* Read the index into r (empty with no header when it does not exist).
 * Lines that do not parse are skipped (and logged). */
static enum mbfs_status disk_load(struct mbfs_queries *q, struct recs *r,
				  struct mbfs_err *err)
{
	memset(r, 0, sizeof *r);
	char *buf;
	size_t len;
	enum mbfs_status st = mbfs_store_read(q->dirfd, q->dir, "index",
					      INDEX_MAX, &buf, &len, err);
	if (st == MBFS_ERR_NOT_FOUND) {
		mbfs_err_clear(err);
		return MBFS_OK;
	}
	if (st != MBFS_OK)
		return st;
	char *line = buf, *eol = memchr(buf, '\n', len);
	uint64_t reserved = 0;
	char epoch[17] = "";
	if (eol && sscanf(line, "mbfs-queries 1 %16[0-9a-f] %" SCNu64, epoch,
			  &reserved) == 2 &&
	    strlen(epoch) == 16 && reserved > 0) {
		r->have_header = true;
		r->reserved = reserved;
		memcpy(r->epoch, epoch, sizeof r->epoch);
		line = eol + 1;
	} else {
		mbfs_warn("queries: %s/index has no valid header: starting a new one",
			  q->dir);
		line = buf + len;
	}
	while (line < buf + len) {
		eol = memchr(line, '\n', (size_t)(buf + len - line));
		char *end = eol ? eol : buf + len;
		struct rec x;
		if (end > line && parse_line(line, end, &x)) {
			bool ok = recs_add(r, &x);
			free(x.name);
			if (!ok) {
				free(buf);
				recs_free(r);
				return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
						    "out of memory");
			}
		} else if (end > line) {
			mbfs_warn("queries: skipping a malformed line of %s/index",
				  q->dir);
		}
		line = end + 1;
	}
	free(buf);
	return MBFS_OK;
}

struct index_out {
	const struct mbfs_queries *q;
	const struct recs *r;
	uint64_t reserved;
};

static bool write_recs(FILE *f, void *arg)
{
	const struct index_out *o = arg;
	fprintf(f, "mbfs-queries 1 %s %" PRIu64 "\n", o->q->epoch, o->reserved);
	for (size_t i = 0; i < o->r->n; i++) {
		const struct rec *x = &o->r->v[i];
		fprintf(f, "%" PRId64 " %" PRIu64 " %" PRIu64 " %o %" PRId64
			   " %ld %" PRIu64 " ",
			x->db, x->id, x->rev, x->mode, x->sec, x->nsec, x->size);
		mbfs_store_escape(f, x->name);
		fputc('\n', f);
	}
	return true;
}

/* Replace the index with r (temp file, fsync, rename, fsync dir). */
static enum mbfs_status disk_write(struct mbfs_queries *q, const struct recs *r,
				   uint64_t reserved, struct mbfs_err *err)
{
	struct index_out o = {.q = q, .r = r, .reserved = reserved};
	return mbfs_store_replace(q->dirfd, q->dir, "index", write_recs, &o,
				  err);
}

static void text_name(uint64_t rev, char out[24])
{
	snprintf(out, 24, "%016" PRIx64 ".sql", rev);
}

/* The directory of database db (created 0700, checked). */
static enum mbfs_status db_dir(struct mbfs_queries *q, int64_t db, int *fd,
			       struct mbfs_err *err)
{
	char name[24], path[4200];
	snprintf(name, sizeof name, "%" PRId64, db);
	snprintf(path, sizeof path, "%s/%s", q->dir, name);
	return mbfs_store_dir(q->dirfd, name, path, fd, err);
}

/* Write the text of revision rev of a file of db, durably. */
static enum mbfs_status text_write(struct mbfs_queries *q, int64_t db,
				   uint64_t rev, const char *data, size_t len,
				   struct mbfs_err *err)
{
	int dfd;
	enum mbfs_status st = db_dir(q, db, &dfd, err);
	if (st != MBFS_OK)
		return st;
	char tmp[64], final[24];
	snprintf(tmp, sizeof tmp, "tmp-%ld-%" PRIu64, (long)getpid(),
		 ++q->tmp_seq);
	text_name(rev, final);
	int fd = openat(dfd, tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		st = mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot create %s/%" PRId64 "/%s: %s",
				  q->dir, db, tmp, strerror(errno));
		close(dfd);
		return st;
	}
	size_t done = 0;
	int e = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && renameat(dfd, tmp, dfd, final) != 0)
		e = errno;
	if (e) {
		unlinkat(dfd, tmp, 0);
		st = mbfs_err_set(err, MBFS_ERR_IO, 0,
				  "cannot write a SQL file in %s/%" PRId64 ": %s",
				  q->dir, db, strerror(e));
	} else {
		fsync(dfd);
	}
	close(dfd);
	return st;
}

static void text_unlink(struct mbfs_queries *q, int64_t db, uint64_t rev)
{
	int dfd;
	struct mbfs_err e;
	if (db_dir(q, db, &dfd, &e) != MBFS_OK)
		return;
	char name[24];
	text_name(rev, name);
	if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
		mbfs_warn("queries: cannot remove %s/%" PRId64 "/%s: %s", q->dir,
			  db, name, strerror(errno));
	close(dfd);
}

/* The header values to write: never below what the disk or we have. */
static uint64_t max_reserved(const struct mbfs_queries *q, const struct recs *r)
{
	return r->reserved > q->reserved ? r->reserved : q->reserved;
}

/*
 * The one way the disk changes: under the flock, merge into the disk's
 * index an upsert of `up` (with its text; NULL: none) and/or the removal
 * of file remove_id (0: none). An upsert also removes another entry with
 * the same name in the same database (last writer wins). The text is
 * durable before the index names it; texts no entry names any more are
 * removed after. q->lock held.
 */
enum mbfs_status queries_persist(struct mbfs_queries *q, const struct rec *up,
				 const char *text, size_t len, uint64_t remove_id,
				 struct mbfs_err *err)
{
	struct recs r;
	mbfs_store_flock(q->lockfd, LOCK_EX);
	enum mbfs_status st = disk_load(q, &r, err);
	if (st != MBFS_OK) {
		mbfs_store_flock(q->lockfd, LOCK_UN);
		return st;
	}
	bool text_there = false;
	for (size_t i = 0; up && i < r.n; i++)
		if (r.v[i].id == up->id && r.v[i].rev == up->rev &&
		    r.v[i].db == up->db && r.v[i].size == up->size)
			text_there = true;
	if (up && !text_there)
		st = text_write(q, up->db, up->rev, text, len, err);
	struct recs gone = {0};
	for (size_t i = 0; st == MBFS_OK && i < r.n;) {
		const struct rec *x = &r.v[i];
		bool drop = (remove_id && x->id == remove_id) ||
			    (up && (x->id == up->id ||
				    (x->db == up->db && strcmp(x->name, up->name) == 0)));
		if (!drop) {
			i++;
			continue;
		}
		if (!up || x->db != up->db || x->rev != up->rev)
			recs_add(&gone, x); /* a lost entry only leaves a file the next open sweeps */
		recs_del(&r, i);
	}
	if (st == MBFS_OK && up && !recs_add(&r, up))
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	if (st == MBFS_OK)
		st = disk_write(q, &r, max_reserved(q, &r), err);
	if (st == MBFS_OK) {
		for (size_t i = 0; i < gone.n; i++)
			text_unlink(q, gone.v[i].db, gone.v[i].rev);
	} else if (up && !text_there) {
		text_unlink(q, up->db, up->rev);
	}
	mbfs_store_flock(q->lockfd, LOCK_UN);
	recs_free(&gone);
	recs_free(&r);
	return st;
}

/* Reserve the next block of numbers (q->lock held). */
static enum mbfs_status reserve(struct mbfs_queries *q, struct mbfs_err *err)
{
	struct recs r;
	mbfs_store_flock(q->lockfd, LOCK_EX);
	enum mbfs_status st = disk_load(q, &r, err);
	if (st == MBFS_OK) {
		uint64_t from = max_reserved(q, &r);
		if (from < q->next)
			from = q->next;
		st = disk_write(q, &r, from + RESERVE_BLOCK, err);
		if (st == MBFS_OK) {
			q->next = from;
			q->reserved = from + RESERVE_BLOCK;
		}
	}
	mbfs_store_flock(q->lockfd, LOCK_UN);
	recs_free(&r);
	return st;
}

/* A number never handed out before in this directory (q->lock held). */
enum mbfs_status queries_alloc_num(struct mbfs_queries *q, uint64_t *out,
				   struct mbfs_err *err)
{
	if (q->next >= q->reserved) {
		enum mbfs_status st = reserve(q, err);
		if (st != MBFS_OK)
			return st;
	}
	*out = q->next++;
	return MBFS_OK;
}

/* ---- opening: load, check, sweep ------------------------------------------- */

/* Read the text of r (checked: a regular file of ours of r->size bytes). */
static bool load_text(struct mbfs_queries *q, const struct rec *r,
		      struct qfile *f)
{
	int dfd;
	struct mbfs_err e;
	if (r->size > MBFS_QUERY_SQL_MAX || db_dir(q, r->db, &dfd, &e) != MBFS_OK)
		return false;
	char name[24];
	text_name(r->rev, name);
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return false;
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		  st.st_uid == geteuid() && (uint64_t)st.st_size == r->size &&
		  queries_resize(f, (size_t)r->size);
	size_t done = 0;
	while (ok && done < r->size) {
		ssize_t n = read(fd, f->data + done, (size_t)r->size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ok = false;
		else
			done += (size_t)n;
	}
	close(fd);
	return ok;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Is `name` in database directory db the text of a kept entry? */
static bool named_text(const struct recs *r, int64_t db, const char *name)
{
	char want[24];
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].db != db)
			continue;
		text_name(r->v[i].rev, want);
		if (strcmp(want, name) == 0)
			return true;
	}
	return false;
}

/* Remove what no entry names from the database directories (crash
 * leftovers: temp texts, texts of dropped revisions). Flock held. */
static void sweep(struct mbfs_queries *q, const struct recs *r)
{
	int fd = openat(q->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!all_digits(de->d_name) || strlen(de->d_name) > 19)
			continue;
		int64_t db = strtoll(de->d_name, NULL, 10);
		int dfd;
		struct mbfs_err e;
		if (db <= 0 || db_dir(q, db, &dfd, &e) != MBFS_OK)
			continue;
		DIR *dd = fdopendir(dfd);
		if (!dd) {
			close(dfd);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(dd))) {
			if (strcmp(fe->d_name, ".") == 0 ||
			    strcmp(fe->d_name, "..") == 0 ||
			    named_text(r, db, fe->d_name))
				continue;
			struct stat st;
			if (fstatat(dirfd(dd), fe->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) != 0 ||
			    S_ISDIR(st.st_mode))
				continue;
			if (unlinkat(dirfd(dd), fe->d_name, 0) == 0)
				removed++;
		}
		closedir(dd);
	}
	closedir(d);
	if (removed)
		mbfs_info("queries: removed %u file(s) of %s no index entry named (left by a crash)",
			  removed, q->dir);
}

/* Turn the disk's entries into files; drop the ones that do not check
 * out (bad name, duplicate id, an older entry of a name, missing text).
 * Returns whether any was dropped. Flock held. */
static bool load_files(struct mbfs_queries *q, struct recs *r)
{
	bool *drop = calloc(r->n ? r->n : 1, sizeof *drop);
	if (!drop)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];
		if (mbfs_queries_classify(x->name) != MBFS_QNAME_SQL)
			drop[i] = true;
		for (size_t j = 0; !drop[i] && j < i; j++) {
			const struct rec *y = &r->v[j];
			if (drop[j])
				continue;
			if (y->id == x->id) {
				drop[i] = true;
			} else if (y->db == x->db && strcmp(y->name, x->name) == 0) {
				/* one name twice: the newer text wins */
				if (y->rev > x->rev)
					drop[i] = true;
				else
					drop[j] = true;
			}
		}
	}
	bool dropped = false;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct rec *x = &r->v[i];
		struct qfile *f = NULL;
		const char *why = drop[i] ? "a bad name or a duplicate" : NULL;
		if (!why && (!(f = calloc(1, sizeof *f)) || !load_text(q, x, f)))
			why = "its text is missing or of another size";
		if (!why) {
			f->id = x->id;
			f->db = x->db;
			f->rev = x->rev;
			f->mode = x->mode & 07777;
			f->mtime.tv_sec = (time_t)x->sec;
			f->mtime.tv_nsec = x->nsec;
			f->name = strdup(x->name);
			if (!f->name || !queries_add_file(q, f))
				why = "out of memory";
		}
		if (why) {
			mbfs_warn("queries: dropping entry %" PRIu64 " of %s/index: %s",
				  x->id, q->dir, why);
			queries_qfile_free(f);
			free(x->name);
			dropped = true;
			continue;
		}
		if (x->id >= q->next)
			q->next = x->id + 1;
		if (x->rev >= q->next)
			q->next = x->rev + 1;
		r->v[k++] = *x;
	}
	r->n = k;
	free(drop);
	return dropped;
}

static void new_epoch(char out[17])
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)getpid() << 16);
	}
	snprintf(out, 17, "%016" PRIx64, v);
}

enum mbfs_status mbfs_queries_open(const char *server_dir, int64_t user_id,
				   struct mbfs_queries **out,
				   struct mbfs_err *err)
{
	if (!server_dir || server_dir[0] != '/')
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "the query store needs an absolute directory");
	struct mbfs_queries *q = calloc(1, sizeof *q);
	if (!q)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	pthread_mutex_init(&q->lock, NULL);
	q->dirfd = q->lockfd = -1;
	int top = -1, qdir = -1;
	enum mbfs_status st;
	char path[4200], name[32];
	snprintf(name, sizeof name, "u%" PRId64, user_id);
	snprintf(path, sizeof path, "%s", server_dir);
	top = open(server_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0) {
		st = mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot open %s: %s",
				  server_dir, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/queries", server_dir);
	st = mbfs_store_dir(top, "queries", path, &qdir, err);
	if (st != MBFS_OK)
		goto fail;
	snprintf(path, sizeof path, "%s/queries/%s", server_dir, name);
	st = mbfs_store_dir(qdir, name, path, &q->dirfd, err);
	if (st != MBFS_OK)
		goto fail;
	q->dir = strdup(path);
	if (!q->dir) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	st = mbfs_store_lock_file(q->dirfd, q->dir, &q->lockfd, err);
	if (st != MBFS_OK)
		goto fail;
	struct recs r = {0};
	pthread_mutex_lock(&q->lock);
	mbfs_store_flock(q->lockfd, LOCK_EX);
	st = disk_load(q, &r, err);
	if (st == MBFS_OK) {
		if (r.have_header)
			memcpy(q->epoch, r.epoch, sizeof q->epoch);
		else
			new_epoch(q->epoch);
		q->next = r.reserved ? r.reserved : 1;
		/* every database directory the index uses must be safe:
		 * refuse to start rather than read through an unsafe one */
		for (size_t i = 0; st == MBFS_OK && i < r.n; i++) {
			int dfd;
			st = db_dir(q, r.v[i].db, &dfd, err);
			if (st == MBFS_OK)
				close(dfd);
		}
	}
	if (st == MBFS_OK) {
		load_files(q, &r);
		sweep(q, &r);
		uint64_t from = r.reserved > q->next ? r.reserved : q->next;
		q->next = from;
		q->reserved = from + RESERVE_BLOCK;
		st = disk_write(q, &r, q->reserved, err);
	}
	recs_free(&r);
	unlinkat(q->dirfd, "index.tmp", 0);
	mbfs_store_flock(q->lockfd, LOCK_UN);
	pthread_mutex_unlock(&q->lock);
	if (st != MBFS_OK)
		goto fail;
	mbfs_debug("queries: %zu SQL file(s) in %s", q->n, q->dir);
	close(qdir);
	close(top);
	*out = q;
	return MBFS_OK;
fail:
	if (qdir >= 0)
		close(qdir);
	if (top >= 0)
		close(top);
	mbfs_queries_free(q);
	return st;
}
