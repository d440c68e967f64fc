/*
 * queries.c — owns the query store's files: which names a database
 * directory of queries/ holds, the bytes of SQL and editor temp files in
 * memory, revisions, and every read and change of them (each change made
 * durable through queries_disk.c, which owns the index and texts on disk).
 * See queries.h for the rules and the layout, queries_int.h.
 */
#include "queries.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "queries_int.h"
#include "util.h"

/* ---- names ------------------------------------------------------------------ */

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t l = strlen(suffix);
	return len >= l && memcmp(s + len - l, suffix, l) == 0;
}

static bool is_temp_name(const char *name, size_t len)
{
	/* vim's write test: 4913, and the next numbers it tries */
	bool digits = len > 0 && len <= 20;
	for (size_t i = 0; digits && i < len; i++)
		digits = name[i] >= '0' && name[i] <= '9';
	if (digits)
		return true;
	/* backups: NAME.sql~ (vim, nano -B, emacs) */
	if (len >= 2 && name[len - 1] == '~')
		return true;
	/* vim's swap files: .NAME.sql.swp, .swo ... .swa, .swx */
	if (len >= 4 && name[0] == '.' && name[len - 4] == '.' &&
	    name[len - 3] == 's' && name[len - 2] == 'w' &&
	    name[len - 1] >= 'a' && name[len - 1] <= 'z')
		return true;
	/* emacs's auto-save files */
	if (len >= 3 && name[0] == '#' && name[len - 1] == '#')
		return true;
	return false;
}

enum mbfs_qname mbfs_queries_classify(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 255 || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return MBFS_QNAME_BAD;
	if (len > 4 && ends_with(name, len, ".sql"))
		return len <= MBFS_QUERY_NAME_MAX ? MBFS_QNAME_SQL : MBFS_QNAME_BAD;
	return is_temp_name(name, len) ? MBFS_QNAME_TEMP : MBFS_QNAME_BAD;
}

enum mbfs_status mbfs_queries_check_name(const char *name,
					 enum mbfs_qname *kind,
					 struct mbfs_err *err)
{
	enum mbfs_qname k = mbfs_queries_classify(name);
	if (kind)
		*kind = k;
	if (k != MBFS_QNAME_BAD)
		return MBFS_OK;
	size_t len = name ? strlen(name) : 0;
	if (len > 4 && ends_with(name, len, ".sql") && len <= 255)
		return mbfs_err_set(err, MBFS_ERR_NAME_TOO_LONG, 0,
				    "a SQL file name may have at most %d bytes (NAME.xlsx must fit)",
				    MBFS_QUERY_NAME_MAX);
	return mbfs_err_set(err, MBFS_ERR_PERM, 0,
			    "only NAME.sql files (and editors' temporary files) can be created here");
}

/* ---- files in memory (q->lock held) ----------------------------------------- */

static struct qfile *by_id(struct mbfs_queries *q, uint64_t id)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->v[i]->id == id)
			return q->v[i];
	return NULL;
}

static struct qfile *by_name(struct mbfs_queries *q, int64_t db,
			     const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->v[i]->name && q->v[i]->db == db &&
		    strcmp(q->v[i]->name, name) == 0)
			return q->v[i];
	return NULL;
}

void queries_qfile_free(struct qfile *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->data);
	free(f);
}

bool queries_add_file(struct mbfs_queries *q, struct qfile *f)
{
	struct qfile **v = mbfs_grow(q->v, &q->cap, q->n, sizeof *v, 16);
	if (!v)
		return false;
	q->v = v;
	q->v[q->n++] = f;
	return true;
}

static void remove_file(struct mbfs_queries *q, struct qfile *f)
{
	for (size_t i = 0; i < q->n; i++) {
		if (q->v[i] == f) {
			q->v[i] = q->v[--q->n];
			break;
		}
	}
	queries_qfile_free(f);
}

/* Take f's name away: gone now, or when its last handle closes. */
static void unlink_file(struct mbfs_queries *q, struct qfile *f)
{
	free(f->name);
	f->name = NULL;
	if (!f->opens)
		remove_file(q, f);
}

static void stat_of(const struct qfile *f, struct mbfs_qstat *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof *st);
	st->id = f->id;
	st->db = f->db;
	st->temp = f->temp;
	st->linked = f->name != NULL;
	st->rev = f->temp ? 0 : f->rev;
	st->size = f->len;
	st->mode = f->mode;
	st->mtime = f->mtime;
}

static struct rec rec_of(const struct qfile *f)
{
	struct rec r = {.db = f->db, .id = f->id, .rev = f->rev,
			.size = f->len, .mode = (unsigned)(f->mode & 07777),
			.sec = (int64_t)f->mtime.tv_sec, .nsec = f->mtime.tv_nsec,
			.name = f->name};
	return r;
}

static uint64_t cap_of(bool temp)
{
	return temp ? MBFS_QUERY_TEMP_MAX : MBFS_QUERY_SQL_MAX;
}

static enum mbfs_status too_big(struct mbfs_err *err, bool temp)
{
	return mbfs_err_set(err, MBFS_ERR_TOO_BIG, 0,
			    temp ? "an editor's temporary file holds at most %" PRIu64 " bytes here"
				 : "a SQL file holds at most %" PRIu64 " bytes",
			    cap_of(temp));
}

/* Make f->data hold size bytes (new bytes zero). */
bool queries_resize(struct qfile *f, size_t size)
{
	if (size > f->cap) {
		size_t nc = f->cap ? f->cap : 256;
		while (nc < size)
			nc *= 2;
		char *d = realloc(f->data, nc);
		if (!d)
			return false;
		f->data = d;
		f->cap = nc;
	}
	if (size > f->len)
		memset(f->data + f->len, 0, size - f->len);
	f->len = size;
	return true;
}

static void now_ts(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Persist f as it is now (SQL files with a name only). */
static enum mbfs_status persist_file(struct mbfs_queries *q, struct qfile *f,
				     struct mbfs_err *err)
{
	if (f->temp || !f->name)
		return MBFS_OK;
	struct rec r = rec_of(f);
	enum mbfs_status st = queries_persist(q, &r, f->data, f->len, 0, err);
	if (st == MBFS_OK)
		f->dirty = false;
	return st;
}

static unsigned temps_in(struct mbfs_queries *q, int64_t db)
{
	unsigned n = 0;
	for (size_t i = 0; i < q->n; i++)
		if (q->v[i]->name && q->v[i]->db == db && q->v[i]->temp)
			n++;
	return n;
}

const char *mbfs_queries_dir(const struct mbfs_queries *q)
{
	return q->dir;
}

const char *mbfs_queries_epoch(const struct mbfs_queries *q)
{
	return q->epoch;
}

void mbfs_queries_free(struct mbfs_queries *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		queries_qfile_free(q->v[i]);
	free(q->v);
	if (q->dirfd >= 0)
		close(q->dirfd);
	if (q->lockfd >= 0)
		close(q->lockfd);
	pthread_mutex_destroy(&q->lock);
	free(q->dir);
	free(q);
}

/* ---- reading ------------------------------------------------------------------ */

enum mbfs_status mbfs_queries_list(struct mbfs_queries *q, int64_t db,
				   struct mbfs_qent **out, size_t *n,
				   struct mbfs_err *err)
{
	pthread_mutex_lock(&q->lock);
	struct mbfs_qent *v = calloc(q->n ? q->n : 1, sizeof *v);
	size_t k = 0;
	enum mbfs_status st = MBFS_OK;
	for (size_t i = 0; v && i < q->n; i++) {
		const struct qfile *f = q->v[i];
		if (!f->name || f->db != db)
			continue;
		v[k].name = strdup(f->name);
		if (!v[k].name) {
			st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
			break;
		}
		stat_of(f, &v[k].st);
		k++;
	}
	if (!v)
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	pthread_mutex_unlock(&q->lock);
	if (st != MBFS_OK) {
		mbfs_queries_free_list(v, k);
		return st;
	}
	*out = v;
	*n = k;
	return MBFS_OK;
}

void mbfs_queries_free_list(struct mbfs_qent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

uint64_t mbfs_queries_version(struct mbfs_queries *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t v = q->version;
	pthread_mutex_unlock(&q->lock);
	return v;
}

bool mbfs_queries_stat(struct mbfs_queries *q, uint64_t id,
		       struct mbfs_qstat *out)
{
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (f)
		stat_of(f, out);
	pthread_mutex_unlock(&q->lock);
	return f != NULL;
}

static enum mbfs_status gone(struct mbfs_err *err)
{
	return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "the file is gone");
}

enum mbfs_status mbfs_queries_text(struct mbfs_queries *q, uint64_t id,
				   char **sql, struct mbfs_qstat *st,
				   struct mbfs_err *err)
{
	enum mbfs_status rc = MBFS_OK;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (!f || f->temp || !f->name) {
		rc = gone(err);
	} else {
		*sql = strndup(f->data ? f->data : "", f->len);
		if (!*sql)
			rc = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		stat_of(f, st);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

enum mbfs_status mbfs_queries_read(struct mbfs_queries *q, uint64_t id,
				   char *buf, size_t size, uint64_t off,
				   size_t *n, struct mbfs_err *err)
{
	enum mbfs_status rc = MBFS_OK;
	*n = 0;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (!f) {
		rc = gone(err);
	} else if (off < f->len) {
		size_t avail = f->len - (size_t)off;
		*n = avail < size ? avail : size;
		memcpy(buf, f->data + off, *n);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* ---- changing ------------------------------------------------------------------ */

enum mbfs_status mbfs_queries_create(struct mbfs_queries *q, int64_t db,
				     const char *name, mode_t mode, bool excl,
				     bool trunc, struct mbfs_qstat *out,
				     struct mbfs_qstat *old, bool *created,
				     struct mbfs_err *err)
{
	enum mbfs_qname kind;
	enum mbfs_status st = mbfs_queries_check_name(name, &kind, err);
	if (st != MBFS_OK)
		return st;
	*created = false;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_name(q, db, name);
	if (f) {
		stat_of(f, old);
		if (excl) {
			st = mbfs_err_set(err, MBFS_ERR_EXISTS, 0, "the file exists");
		} else if (trunc) {
			uint64_t id = f->id;
			pthread_mutex_unlock(&q->lock);
			struct mbfs_qset set = {.set_size = true, .size = 0};
			return mbfs_queries_setattr(q, id, &set, out, old, err);
		} else {
			stat_of(f, out);
		}
		pthread_mutex_unlock(&q->lock);
		return st;
	}
	bool temp = kind == MBFS_QNAME_TEMP;
	if (temp && temps_in(q, db) >= MBFS_QUERY_TEMPS_MAX) {
		st = mbfs_err_set(err, MBFS_ERR_NO_SPACE, 0,
				  "at most %d temporary files per directory",
				  MBFS_QUERY_TEMPS_MAX);
		goto out;
	}
	f = calloc(1, sizeof *f);
	if (!f || !(f->name = strdup(name))) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	f->db = db;
	f->temp = temp;
	f->mode = mode & 07777;
	now_ts(&f->mtime);
	st = queries_alloc_num(q, &f->id, err);
	if (st == MBFS_OK && !temp)
		st = queries_alloc_num(q, &f->rev, err);
	if (st == MBFS_OK)
		st = persist_file(q, f, err);
	if (st == MBFS_OK && !queries_add_file(q, f)) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		if (!temp) {
			struct mbfs_err e2;
			queries_persist(q, NULL, NULL, 0, f->id, &e2);
		}
	}
	if (st == MBFS_OK) {
		q->version++;
		stat_of(f, out);
		*created = true;
		f = NULL;
	}
out:
	queries_qfile_free(f);
	pthread_mutex_unlock(&q->lock);
	return st;
}

/* A SQL file's text changed: a new revision (q->lock held). */
static enum mbfs_status new_rev(struct mbfs_queries *q, struct qfile *f,
				struct mbfs_err *err)
{
	if (f->temp)
		return MBFS_OK;
	uint64_t rev;
	enum mbfs_status st = queries_alloc_num(q, &rev, err);
	if (st == MBFS_OK) {
		f->rev = rev;
		f->dirty = true;
	}
	return st;
}

/* Takes q's lock (held on return, also on failure) and finds file id,
 * its stat before the change in old; NULL with *st = NOT_FOUND when it is
 * gone. */
static struct qfile *lock_changing(struct mbfs_queries *q, uint64_t id,
				   struct mbfs_qstat *old,
				   enum mbfs_status *st, struct mbfs_err *err)
{
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	*st = f ? MBFS_OK : gone(err);
	if (f)
		stat_of(f, old);
	return f;
}

/* Before f's text changes to reach len bytes (exact: to be len bytes
 * long): the cap, then a new revision — first, so a failure leaves the
 * text as it was — then the room. Lock held. */
static enum mbfs_status prepare_change(struct mbfs_queries *q,
				       struct qfile *f, uint64_t len,
				       bool exact, struct mbfs_err *err)
{
	if (len > cap_of(f->temp))
		return too_big(err, f->temp);
	enum mbfs_status st = new_rev(q, f, err);
	if (st != MBFS_OK)
		return st;
	if ((exact || len > f->len) && !queries_resize(f, (size_t)len))
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	return MBFS_OK;
}

enum mbfs_status mbfs_queries_write(struct mbfs_queries *q, uint64_t id,
				    const char *buf, size_t size, uint64_t off,
				    struct mbfs_qstat *old,
				    struct mbfs_err *err)
{
	enum mbfs_status st;
	struct qfile *f = lock_changing(q, id, old, &st, err);
	if (!f || size == 0)
		goto out; /* size 0 writes nothing, extends nothing */
	uint64_t end = off + size;
	st = end < off ? too_big(err, f->temp)
		       : prepare_change(q, f, end, false, err);
	if (st != MBFS_OK)
		goto out;
	memcpy(f->data + off, buf, size);
	now_ts(&f->mtime);
out:
	pthread_mutex_unlock(&q->lock);
	return st;
}

enum mbfs_status mbfs_queries_setattr(struct mbfs_queries *q, uint64_t id,
				      const struct mbfs_qset *set,
				      struct mbfs_qstat *out,
				      struct mbfs_qstat *old,
				      struct mbfs_err *err)
{
	enum mbfs_status st;
	struct qfile *f = lock_changing(q, id, old, &st, err);
	if (!f)
		goto out;
	bool changed = false;
	if (set->set_size) {
		st = prepare_change(q, f, set->size, true, err);
		if (st != MBFS_OK)
			goto out;
		now_ts(&f->mtime);
		changed = true;
	}
	if (set->set_mode) {
		f->mode = set->mode & 07777;
		changed = true;
	}
	if (set->set_mtime) {
		f->mtime = set->mtime;
		changed = true;
	}
	/* the change is on disk when the call returns; a failure leaves
	 * it in memory, to be written again at the next sync */
	if (changed)
		st = persist_file(q, f, err);
	stat_of(f, out);
out:
	pthread_mutex_unlock(&q->lock);
	return st;
}

enum mbfs_status mbfs_queries_sync(struct mbfs_queries *q, uint64_t id,
				   struct mbfs_err *err)
{
	enum mbfs_status st = MBFS_OK;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (f && f->dirty)
		st = persist_file(q, f, err);
	pthread_mutex_unlock(&q->lock);
	return st;
}

enum mbfs_status mbfs_queries_unlink(struct mbfs_queries *q, int64_t db,
				     const char *name, struct mbfs_qstat *old,
				     struct mbfs_err *err)
{
	enum mbfs_status st = MBFS_OK;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_name(q, db, name);
	if (!f) {
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no such file");
		goto out;
	}
	stat_of(f, old);
	if (!f->temp)
		st = queries_persist(q, NULL, NULL, 0, f->id, err);
	if (st == MBFS_OK) {
		unlink_file(q, f);
		q->version++;
	}
out:
	pthread_mutex_unlock(&q->lock);
	return st;
}

enum mbfs_status mbfs_queries_rename(struct mbfs_queries *q, int64_t db,
				     const char *from, const char *to,
				     unsigned flags, struct mbfs_qstat *moved_old,
				     struct mbfs_qstat *replaced,
				     bool *had_replaced, struct mbfs_err *err)
{
	*had_replaced = false;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return mbfs_err_set(err, MBFS_ERR_NOT_SUPPORTED, 0,
				    "only plain renames and RENAME_NOREPLACE here");
	enum mbfs_qname kind;
	enum mbfs_status st = mbfs_queries_check_name(to, &kind, err);
	if (st != MBFS_OK)
		return st;
	bool temp = kind == MBFS_QNAME_TEMP;
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_name(q, db, from);
	struct qfile *t = by_name(q, db, to);
	if (!f) {
		st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "no such file");
		goto out;
	}
	stat_of(f, moved_old);
	if (f == t)
		goto out; /* the same file: nothing happens */
	if (t && (flags & RENAME_NOREPLACE)) {
		st = mbfs_err_set(err, MBFS_ERR_EXISTS, 0, "the target exists");
		goto out;
	}
	if (!temp && f->len > MBFS_QUERY_SQL_MAX) {
		st = too_big(err, false);
		goto out;
	}
	if (temp && f->temp == false && !t &&
	    temps_in(q, db) >= MBFS_QUERY_TEMPS_MAX) {
		st = mbfs_err_set(err, MBFS_ERR_NO_SPACE, 0,
				  "at most %d temporary files per directory",
				  MBFS_QUERY_TEMPS_MAX);
		goto out;
	}
	char *nm = strdup(to);
	if (!nm) {
		st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	uint64_t rev = f->rev;
	if (!temp && (st = queries_alloc_num(q, &rev, err)) != MBFS_OK) {
		free(nm);
		goto out;
	}
	/* the disk first: as a SQL file under its new name (which also
	 * drops the replaced file's entry), or no longer a SQL file */
	if (!temp) {
		struct qfile nf = *f;
		nf.name = nm;
		nf.rev = rev;
		nf.temp = false;
		struct rec r = rec_of(&nf);
		st = queries_persist(q, &r, f->data, f->len, 0, err);
	} else if (!f->temp) {
		st = queries_persist(q, NULL, NULL, 0, f->id, err);
	}
	if (st != MBFS_OK) {
		free(nm);
		goto out;
	}
	if (t) {
		*had_replaced = true;
		stat_of(t, replaced);
		unlink_file(q, t);
	}
	free(f->name);
	f->name = nm;
	f->rev = temp ? f->rev : rev;
	f->temp = temp;
	f->dirty = false;
	q->version++;
out:
	pthread_mutex_unlock(&q->lock);
	return st;
}

void mbfs_queries_ref(struct mbfs_queries *q, uint64_t id)
{
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (f)
		f->opens++;
	pthread_mutex_unlock(&q->lock);
}

void mbfs_queries_unref(struct mbfs_queries *q, uint64_t id)
{
	pthread_mutex_lock(&q->lock);
	struct qfile *f = by_id(q, id);
	if (f && f->opens && --f->opens == 0 && !f->name)
		remove_file(q, f);
	pthread_mutex_unlock(&q->lock);
}

