/*
 * test_queries.c — unit tests of queries.c, the query store: which names
 * are allowed, create/write/read/truncate/rename/unlink, revisions (new on
 * every change, never reused: not after a reopen, not by a second store on
 * the same directory), the size caps, unlinked files kept while open,
 * persistence (what reaches the disk and when), names that are hostile
 * bytes, isolation between users, crash leftovers and a damaged index,
 * and unsafe directories. Every test works in its own mkdtemp() directory
 * under /tmp, removed at the end.
 */
#include "check.h"
#include "testlib.h"
#include "queries.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */

static struct mbfs_queries *open_store(const char *dir, int64_t user)
{
	struct mbfs_queries *q = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_queries_open(dir, user, &q, &err);
	if (st != MBFS_OK)
		fprintf(stderr, "mbfs_queries_open: %s\n", err.msg);
	CHECK_INT(st, MBFS_OK);
	if (!q)
		exit(2);
	return q;
}

static uint64_t create(struct mbfs_queries *q, int64_t db, const char *name,
		       struct mbfs_qstat *out)
{
	struct mbfs_qstat st, old;
	bool created = false;
	struct mbfs_err err;
	CHECK_INT(mbfs_queries_create(q, db, name, 0644, true, false, &st, &old,
				      &created, &err),
		  MBFS_OK);
	CHECK(created);
	if (out)
		*out = st;
	return st.id;
}

static void put(struct mbfs_queries *q, uint64_t id, const char *text)
{
	struct mbfs_err err;
	struct mbfs_qset set = {.set_size = true, .size = 0};
	struct mbfs_qstat a, b;
	CHECK_INT(mbfs_queries_setattr(q, id, &set, &a, &b, &err), MBFS_OK);
	CHECK_INT(mbfs_queries_write(q, id, text, strlen(text), 0, &b, &err),
		  MBFS_OK);
	CHECK_INT(mbfs_queries_sync(q, id, &err), MBFS_OK);
}

/* The text of SQL file id, or NULL. Heap. */
static char *text_of(struct mbfs_queries *q, uint64_t id)
{
	char *sql = NULL;
	struct mbfs_qstat st;
	struct mbfs_err err;
	if (mbfs_queries_text(q, id, &sql, &st, &err) != MBFS_OK)
		return NULL;
	return sql;
}

/* The file named name in db, or false. */
static bool find(struct mbfs_queries *q, int64_t db, const char *name,
		 struct mbfs_qstat *out)
{
	struct mbfs_qent *v = NULL;
	size_t n = 0;
	struct mbfs_err err;
	bool found = false;
	if (mbfs_queries_list(q, db, &v, &n, &err) != MBFS_OK)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			if (out)
				*out = v[i].st;
			found = true;
		}
	mbfs_queries_free_list(v, n);
	return found;
}

static size_t count(struct mbfs_queries *q, int64_t db)
{
	struct mbfs_qent *v = NULL;
	size_t n = 0;
	struct mbfs_err err;
	if (mbfs_queries_list(q, db, &v, &n, &err) != MBFS_OK)
		return 0;
	mbfs_queries_free_list(v, n);
	return n;
}

static char *store_path(const char *dir, int64_t user, const char *rest)
{
	char *p = malloc(4200);
	snprintf(p, 4200, "%s/queries/u%lld%s%s", dir, (long long)user,
		 rest ? "/" : "", rest ? rest : "");
	return p;
}

/* ---- names ------------------------------------------------------------ */

static void test_names(void)
{
	static const struct {
		const char *name;
		enum mbfs_qname want;
	} cases[] = {
		{"top.sql", MBFS_QNAME_SQL},
		{"Revenue by month.sql", MBFS_QNAME_SQL},
		{".hidden.sql", MBFS_QNAME_SQL},
		{"a.csv.sql", MBFS_QNAME_SQL},
		{".sql", MBFS_QNAME_BAD},          /* no NAME */
		{"top.SQL", MBFS_QNAME_BAD},
		{"top.csv", MBFS_QNAME_BAD},
		{"top.json", MBFS_QNAME_BAD},
		{"top", MBFS_QNAME_BAD},
		{"notes.txt", MBFS_QNAME_BAD},
		{".", MBFS_QNAME_BAD},
		{"..", MBFS_QNAME_BAD},
		{"", MBFS_QNAME_BAD},
		{"a/b.sql", MBFS_QNAME_BAD},
		{"4913", MBFS_QNAME_TEMP},         /* vim's write test */
		{"5036", MBFS_QNAME_TEMP},
		{"top.sql~", MBFS_QNAME_TEMP},     /* backups */
		{"~", MBFS_QNAME_BAD},
		{".top.sql.swp", MBFS_QNAME_TEMP}, /* vim's swap files */
		{".top.sql.swo", MBFS_QNAME_TEMP},
		{".top.sql.swx", MBFS_QNAME_TEMP},
		{".swp", MBFS_QNAME_TEMP},
		{"top.sql.swp", MBFS_QNAME_BAD},   /* swap files start with '.' */
		{".top.sql.swP", MBFS_QNAME_BAD},
		{"#top.sql#", MBFS_QNAME_TEMP},    /* emacs's auto-save */
		{"#", MBFS_QNAME_BAD},
		{"12a", MBFS_QNAME_BAD},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum mbfs_qname got = mbfs_queries_classify(cases[i].name);
		if (got != cases[i].want)
			fprintf(stderr, "name \"%s\"\n", cases[i].name);
		CHECK_INT(got, cases[i].want);
	}
	/* NAME.sql up to 254 bytes: NAME.xlsx must fit in 255 */
	char name[300];
	memset(name, 'x', sizeof name);
	strcpy(name + 250, ".sql");
	CHECK_INT(mbfs_queries_classify(name), MBFS_QNAME_SQL);
	strcpy(name + 251, ".sql");
	CHECK_INT(mbfs_queries_classify(name), MBFS_QNAME_BAD);
	struct mbfs_err err;
	CHECK_INT(mbfs_queries_check_name(name, NULL, &err), MBFS_ERR_NAME_TOO_LONG);
	CHECK_INT(mbfs_queries_check_name("x.txt", NULL, &err), MBFS_ERR_PERM);
	CHECK_INT(mbfs_queries_check_name("x.sql", NULL, &err), MBFS_OK);
}

/* ---- files ------------------------------------------------------------ */

static void test_create_write_read(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 1);
	struct mbfs_err err;
	uint64_t v0 = mbfs_queries_version(q);
	struct mbfs_qstat st;
	uint64_t id = create(q, 1, "top.sql", &st);
	CHECK(id != 0);
	CHECK(st.rev != 0);
	CHECK(!st.temp);
	CHECK_INT(st.size, 0);
	CHECK_INT(st.mode, 0644);
	CHECK(mbfs_queries_version(q) != v0);
	/* O_EXCL on an existing name; without it, the same file */
	struct mbfs_qstat st2, old;
	bool created = true;
	CHECK_INT(mbfs_queries_create(q, 1, "top.sql", 0644, true, false, &st2,
				      &old, &created, &err),
		  MBFS_ERR_EXISTS);
	CHECK_INT(mbfs_queries_create(q, 1, "top.sql", 0644, false, false, &st2,
				      &old, &created, &err),
		  MBFS_OK);
	CHECK(!created);
	CHECK_INT(st2.id, id);
	CHECK_INT(st2.rev, st.rev); /* no change, no new revision */
	/* names that are not allowed */
	CHECK_INT(mbfs_queries_create(q, 1, "top.csv", 0644, true, false, &st2,
				      &old, &created, &err),
		  MBFS_ERR_PERM);

	/* a write: a new revision, the bytes */
	uint64_t r0 = st.rev;
	CHECK_INT(mbfs_queries_write(q, id, "SELECT 1", 8, 0, &old, &err), MBFS_OK);
	CHECK_INT(old.rev, r0);
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK(st.rev > r0);
	CHECK_INT(st.size, 8);
	char *t = text_of(q, id);
	CHECK_STR(t, "SELECT 1");
	free(t);
	/* a write past the end leaves a hole of zero bytes; the text for the
	 * server stops at the first NUL */
	uint64_t r1 = st.rev;
	CHECK_INT(mbfs_queries_write(q, id, "X", 1, 10, &old, &err), MBFS_OK);
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK(st.rev > r1);
	CHECK_INT(st.size, 11);
	char buf[32];
	size_t n = 0;
	CHECK_INT(mbfs_queries_read(q, id, buf, sizeof buf, 0, &n, &err), MBFS_OK);
	CHECK_INT(n, 11);
	CHECK(memcmp(buf, "SELECT 1\0\0X", 11) == 0);
	CHECK_INT(mbfs_queries_read(q, id, buf, 4, 9, &n, &err), MBFS_OK);
	CHECK_INT(n, 2);
	CHECK_INT(mbfs_queries_read(q, id, buf, 4, 11, &n, &err), MBFS_OK);
	CHECK_INT(n, 0);
	t = text_of(q, id);
	CHECK_STR(t, "SELECT 1");
	free(t);
	/* truncate: a new revision even to the same size */
	uint64_t r2 = st.rev;
	struct mbfs_qset set = {.set_size = true, .size = 8};
	CHECK_INT(mbfs_queries_setattr(q, id, &set, &st, &old, &err), MBFS_OK);
	CHECK(st.rev > r2);
	CHECK_INT(st.size, 8);
	uint64_t r3 = st.rev;
	CHECK_INT(mbfs_queries_setattr(q, id, &set, &st, &old, &err), MBFS_OK);
	CHECK(st.rev > r3);
	/* mode and time do not change the text: same revision */
	uint64_t r4 = st.rev;
	struct mbfs_qset ms = {.set_mode = true, .mode = 0600, .set_mtime = true,
			       .mtime = {.tv_sec = 1700000000, .tv_nsec = 5}};
	CHECK_INT(mbfs_queries_setattr(q, id, &ms, &st, &old, &err), MBFS_OK);
	CHECK_INT(st.rev, r4);
	CHECK_INT(st.mode, 0600);
	CHECK_INT(st.mtime.tv_sec, 1700000000);
	/* an empty write changes nothing, not even past the end */
	CHECK_INT(mbfs_queries_write(q, id, "", 0, 100, &old, &err), MBFS_OK);
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK_INT(st.rev, r4);
	CHECK_INT(st.size, 8);
	/* the same write twice: two revisions (the text may have changed
	 * in between) */
	CHECK_INT(mbfs_queries_write(q, id, "SELECT 2", 8, 0, &old, &err), MBFS_OK);
	CHECK(mbfs_queries_stat(q, id, &st));
	uint64_t r5 = st.rev;
	CHECK_INT(mbfs_queries_write(q, id, "SELECT 2", 8, 0, &old, &err), MBFS_OK);
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK(st.rev > r5);

	/* a temp file: no revision, never a text for the server */
	uint64_t tid = create(q, 1, ".top.sql.swp", &st);
	CHECK(st.temp);
	CHECK_INT(st.rev, 0);
	CHECK_INT(mbfs_queries_write(q, tid, "b0VIM", 5, 0, &old, &err), MBFS_OK);
	CHECK(text_of(q, tid) == NULL);
	CHECK_INT(mbfs_queries_read(q, tid, buf, sizeof buf, 0, &n, &err), MBFS_OK);
	CHECK_INT(n, 5);
	/* databases are separate directories */
	CHECK_INT(count(q, 1), 2);
	CHECK_INT(count(q, 2), 0);
	create(q, 2, "top.sql", NULL);
	CHECK_INT(count(q, 2), 1);
	mbfs_queries_free(q);
	rm_rf(dir);
	free(dir);
}

static void test_caps(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 1);
	struct mbfs_err err;
	struct mbfs_qstat st, old;
	uint64_t id = create(q, 1, "big.sql", NULL);
	char *buf = calloc(1, MBFS_QUERY_TEMP_MAX + 1);
	memset(buf, 'x', MBFS_QUERY_TEMP_MAX + 1);
	CHECK_INT(mbfs_queries_write(q, id, buf, MBFS_QUERY_SQL_MAX, 0, &old, &err),
		  MBFS_OK);
	CHECK(mbfs_queries_stat(q, id, &st));
	uint64_t rev = st.rev;
	CHECK_INT(mbfs_queries_write(q, id, "y", 1, MBFS_QUERY_SQL_MAX, &old, &err),
		  MBFS_ERR_TOO_BIG);
	struct mbfs_qset set = {.set_size = true, .size = MBFS_QUERY_SQL_MAX + 1};
	CHECK_INT(mbfs_queries_setattr(q, id, &set, &st, &old, &err),
		  MBFS_ERR_TOO_BIG);
	CHECK_INT(mbfs_queries_write(q, id, "y", 1, UINT64_MAX, &old, &err),
		  MBFS_ERR_TOO_BIG);
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK_INT(st.size, MBFS_QUERY_SQL_MAX);
	CHECK_INT(st.rev, rev); /* a refused change is no change */
	CHECK_INT(mbfs_queries_sync(q, id, &err), MBFS_OK);
	/* temp files: a larger cap, and a limited number */
	uint64_t tid = create(q, 1, "big.sql~", NULL);
	CHECK_INT(mbfs_queries_write(q, tid, buf, MBFS_QUERY_TEMP_MAX, 0, &old, &err),
		  MBFS_OK);
	CHECK_INT(mbfs_queries_write(q, tid, buf, 1, MBFS_QUERY_TEMP_MAX, &old, &err),
		  MBFS_ERR_TOO_BIG);
	/* ... and a temp file too big for a SQL file cannot become one */
	bool had;
	struct mbfs_qstat rep;
	CHECK_INT(mbfs_queries_rename(q, 1, "big.sql~", "big2.sql", 0, &old, &rep,
				      &had, &err),
		  MBFS_ERR_TOO_BIG);
	char name[32];
	for (int i = 1; i < MBFS_QUERY_TEMPS_MAX; i++) {
		snprintf(name, sizeof name, "%d", 1000 + i);
		create(q, 1, name, NULL);
	}
	bool created;
	CHECK_INT(mbfs_queries_create(q, 1, "9999", 0644, true, false, &st, &old,
				      &created, &err),
		  MBFS_ERR_NO_SPACE);
	/* another directory has its own count */
	create(q, 2, "9999", NULL);
	free(buf);
	mbfs_queries_free(q);
	rm_rf(dir);
	free(dir);
}

static void test_rename(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 1);
	struct mbfs_err err;
	struct mbfs_qstat st, moved, rep;
	bool had;
	uint64_t a = create(q, 1, "a.sql", NULL);
	uint64_t b = create(q, 1, "b.sql", NULL);
	put(q, a, "SELECT 'a'");
	put(q, b, "SELECT 'b'");
	CHECK(mbfs_queries_stat(q, a, &st));
	uint64_t ra = st.rev;
	/* NOREPLACE onto an existing name; EXCHANGE; a bad name */
	CHECK_INT(mbfs_queries_rename(q, 1, "a.sql", "b.sql", RENAME_NOREPLACE,
				      &moved, &rep, &had, &err),
		  MBFS_ERR_EXISTS);
	CHECK_INT(mbfs_queries_rename(q, 1, "a.sql", "b.sql", RENAME_EXCHANGE,
				      &moved, &rep, &had, &err),
		  MBFS_ERR_NOT_SUPPORTED);
	CHECK_INT(mbfs_queries_rename(q, 1, "a.sql", "a.txt", 0, &moved, &rep,
				      &had, &err),
		  MBFS_ERR_PERM);
	CHECK_INT(mbfs_queries_rename(q, 1, "nope.sql", "c.sql", 0, &moved, &rep,
				      &had, &err),
		  MBFS_ERR_NOT_FOUND);
	/* onto b: a keeps its id, gets a new revision; b is gone */
	CHECK_INT(mbfs_queries_rename(q, 1, "a.sql", "b.sql", 0, &moved, &rep,
				      &had, &err),
		  MBFS_OK);
	CHECK(had);
	CHECK_INT(rep.id, b);
	CHECK_INT(moved.rev, ra);
	CHECK(find(q, 1, "b.sql", &st));
	CHECK_INT(st.id, a);
	CHECK(st.rev > ra);
	CHECK(!find(q, 1, "a.sql", NULL));
	CHECK(!mbfs_queries_stat(q, b, NULL));
	char *t = text_of(q, a);
	CHECK_STR(t, "SELECT 'a'");
	free(t);
	/* to itself: nothing happens */
	uint64_t rb = st.rev;
	CHECK_INT(mbfs_queries_rename(q, 1, "b.sql", "b.sql", 0, &moved, &rep,
				      &had, &err),
		  MBFS_OK);
	CHECK(find(q, 1, "b.sql", &st));
	CHECK_INT(st.rev, rb);
	/* a SQL file becomes a temp file (vim's backup by rename) and back */
	CHECK_INT(mbfs_queries_rename(q, 1, "b.sql", "b.sql~", 0, &moved, &rep,
				      &had, &err),
		  MBFS_OK);
	CHECK(find(q, 1, "b.sql~", &st));
	CHECK(st.temp);
	CHECK(text_of(q, a) == NULL);
	CHECK_INT(mbfs_queries_rename(q, 1, "b.sql~", "c.sql", 0, &moved, &rep,
				      &had, &err),
		  MBFS_OK);
	CHECK(find(q, 1, "c.sql", &st));
	CHECK(!st.temp);
	CHECK(st.rev > rb);
	mbfs_queries_free(q);
	/* on disk: c.sql only */
	q = open_store(dir, 1);
	CHECK_INT(count(q, 1), 1);
	CHECK(find(q, 1, "c.sql", &st));
	t = text_of(q, st.id);
	CHECK_STR(t, "SELECT 'a'");
	free(t);
	mbfs_queries_free(q);
	rm_rf(dir);
	free(dir);
}

static void test_unlink_while_open(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 1);
	struct mbfs_err err;
	struct mbfs_qstat st, old;
	uint64_t id = create(q, 1, "x.sql", NULL);
	put(q, id, "SELECT 1");
	mbfs_queries_ref(q, id);
	CHECK_INT(mbfs_queries_unlink(q, 1, "x.sql", &old, &err), MBFS_OK);
	CHECK_INT(old.id, id);
	CHECK_INT(mbfs_queries_unlink(q, 1, "x.sql", &old, &err), MBFS_ERR_NOT_FOUND);
	CHECK(!find(q, 1, "x.sql", NULL));
	/* the open handle still reads and writes it */
	CHECK(mbfs_queries_stat(q, id, &st));
	CHECK(!st.linked);
	char buf[16];
	size_t n;
	CHECK_INT(mbfs_queries_read(q, id, buf, sizeof buf, 0, &n, &err), MBFS_OK);
	CHECK_INT(n, 8);
	CHECK_INT(mbfs_queries_write(q, id, "Z", 1, 0, &old, &err), MBFS_OK);
	CHECK_INT(mbfs_queries_sync(q, id, &err), MBFS_OK);
	CHECK(text_of(q, id) == NULL); /* no longer runs */
	/* a new file of the same name is another file */
	uint64_t id2 = create(q, 1, "x.sql", NULL);
	CHECK(id2 != id);
	mbfs_queries_unref(q, id);
	CHECK(!mbfs_queries_stat(q, id, NULL));
	mbfs_queries_free(q);
	/* the unlinked file never came back on disk */
	q = open_store(dir, 1);
	CHECK(find(q, 1, "x.sql", &st));
	CHECK_INT(st.id, id2);
	CHECK_INT(st.size, 0);
	mbfs_queries_free(q);
	rm_rf(dir);
	free(dir);
}

/* ---- persistence ------------------------------------------------------ */

static void test_persistence(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 7);
	struct mbfs_err err;
	struct mbfs_qstat st, old;
	char epoch[17];
	snprintf(epoch, sizeof epoch, "%s", mbfs_queries_epoch(q));
	CHECK_INT(strlen(epoch), 16);
	/* a hostile name: spaces, %, a newline, UTF-8 */
	const char *odd = "Umsatz 100% \xc3\xbc\nzwei.sql";
	uint64_t a = create(q, 1, odd, NULL);
	put(q, a, "SELECT 'ü'");
	uint64_t b = create(q, 3, "b.sql", NULL);
	put(q, b, "SELECT 2");
	struct mbfs_qset ms = {.set_mode = true, .mode = 0640};
	CHECK_INT(mbfs_queries_setattr(q, b, &ms, &st, &old, &err), MBFS_OK);
	CHECK(mbfs_queries_stat(q, a, &st));
	uint64_t ra = st.rev;
	create(q, 1, "4913", NULL); /* temp: never persisted */
	/* a write that was not synced (flush) is not on disk */
	uint64_t c = create(q, 1, "c.sql", NULL);
	put(q, c, "SELECT 3");
	CHECK_INT(mbfs_queries_write(q, c, "SELECT 4", 8, 0, &old, &err), MBFS_OK);
	uint64_t max_rev = 0;
	CHECK(mbfs_queries_stat(q, c, &st));
	max_rev = st.rev;
	mbfs_queries_free(q);

	q = open_store(dir, 7);
	CHECK_STR(mbfs_queries_epoch(q), epoch);
	CHECK_INT(count(q, 1), 2);
	CHECK(find(q, 1, odd, &st));
	CHECK_INT(st.id, a);
	CHECK_INT(st.rev, ra); /* the same text, the same revision */
	char *t = text_of(q, a);
	CHECK_STR(t, "SELECT 'ü'");
	free(t);
	CHECK(find(q, 3, "b.sql", &st));
	CHECK_INT(st.mode, 0640);
	CHECK(!find(q, 1, "4913", NULL));
	CHECK(find(q, 1, "c.sql", &st));
	t = text_of(q, st.id);
	CHECK_STR(t, "SELECT 3");
	free(t);
	/* numbers after a reopen are new, even those handed out in memory
	 * only (the unsynced write) */
	CHECK_INT(mbfs_queries_write(q, st.id, "SELECT 5", 8, 0, &old, &err),
		  MBFS_OK);
	CHECK(mbfs_queries_stat(q, st.id, &st));
	CHECK(st.rev > max_rev);
	uint64_t d = create(q, 1, "d.sql", &st);
	CHECK(d > max_rev && st.rev > max_rev);
	mbfs_queries_free(q);

	/* on disk: 0700 directories, 0600 files, the index and one text per
	 * SQL file */
	char *p = store_path(dir, 7, NULL);
	struct stat sb;
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	free(p);
	p = store_path(dir, 7, "1");
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	free(p);
	p = store_path(dir, 7, "index");
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void test_users_are_separate(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q1 = open_store(dir, 1);
	struct mbfs_queries *q2 = open_store(dir, 2);
	uint64_t a = create(q1, 1, "mine.sql", NULL);
	put(q1, a, "SELECT 1");
	CHECK_INT(count(q2, 1), 0);
	create(q2, 1, "other.sql", NULL);
	mbfs_queries_free(q1);
	mbfs_queries_free(q2);
	q1 = open_store(dir, 1);
	q2 = open_store(dir, 2);
	CHECK(find(q1, 1, "mine.sql", NULL) && !find(q1, 1, "other.sql", NULL));
	CHECK(find(q2, 1, "other.sql", NULL) && !find(q2, 1, "mine.sql", NULL));
	mbfs_queries_free(q1);
	mbfs_queries_free(q2);
	rm_rf(dir);
	free(dir);
}

/* Two stores on one directory at once (two mounts as the same user):
 * their numbers never meet, and each one's changes are merged into the
 * index without losing the other's. */
static void test_two_stores_one_directory(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q1 = open_store(dir, 1);
	struct mbfs_queries *q2 = open_store(dir, 1);
	struct mbfs_qstat s1, s2;
	uint64_t a = create(q1, 1, "a.sql", &s1);
	uint64_t b = create(q2, 1, "b.sql", &s2);
	CHECK(a != b && s1.rev != s2.rev && a != s2.rev && b != s1.rev);
	put(q1, a, "SELECT 'a'");
	put(q2, b, "SELECT 'b'");
	CHECK(mbfs_queries_stat(q1, a, &s1));
	CHECK(mbfs_queries_stat(q2, b, &s2));
	CHECK(s1.rev != s2.rev);
	/* many numbers from both: all distinct */
	uint64_t seen[2 * 3000];
	size_t n = 0;
	struct mbfs_qstat old;
	struct mbfs_err err;
	for (int i = 0; i < 3000; i++) {
		CHECK_INT(mbfs_queries_write(q1, a, "x", 1, 0, &old, &err), MBFS_OK);
		CHECK(mbfs_queries_stat(q1, a, &s1));
		seen[n++] = s1.rev;
		CHECK_INT(mbfs_queries_write(q2, b, "y", 1, 0, &old, &err), MBFS_OK);
		CHECK(mbfs_queries_stat(q2, b, &s2));
		seen[n++] = s2.rev;
	}
	bool distinct = true;
	for (size_t i = 0; i < n && distinct; i++)
		for (size_t j = i + 1; j < n; j++)
			if (seen[i] == seen[j]) {
				distinct = false;
				break;
			}
	CHECK(distinct);
	CHECK_INT(mbfs_queries_sync(q1, a, &err), MBFS_OK);
	CHECK_INT(mbfs_queries_sync(q2, b, &err), MBFS_OK);
	mbfs_queries_free(q1);
	mbfs_queries_free(q2);
	struct mbfs_queries *q = open_store(dir, 1);
	CHECK_INT(count(q, 1), 2);
	CHECK(find(q, 1, "a.sql", &s1));
	char *t = text_of(q, s1.id);
	CHECK_STR(t, "xELECT 'a'");
	free(t);
	mbfs_queries_free(q);
	rm_rf(dir);
	free(dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* What a crash leaves, and a damaged index: stray files go, entries whose
 * text is missing or of another size are dropped, the rest loads. */
static void test_crash_leftovers(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = open_store(dir, 1);
	uint64_t a = create(q, 1, "a.sql", NULL);
	put(q, a, "SELECT 'a'");
	uint64_t b = create(q, 1, "b.sql", NULL);
	put(q, b, "SELECT 'b'");
	uint64_t c = create(q, 1, "c.sql", NULL);
	put(q, c, "SELECT 'c'");
	struct mbfs_qstat sb, sc;
	CHECK(mbfs_queries_stat(q, b, &sb));
	CHECK(mbfs_queries_stat(q, c, &sc));
	mbfs_queries_free(q);
	char name[64], *p;
	/* b's text vanished; c's text has another size */
	snprintf(name, sizeof name, "1/%016llx.sql", (unsigned long long)sb.rev);
	p = store_path(dir, 1, name);
	CHECK(unlink(p) == 0);
	free(p);
	snprintf(name, sizeof name, "1/%016llx.sql", (unsigned long long)sc.rev);
	p = store_path(dir, 1, name);
	write_file(p, "SELECT 'longer than before'");
	free(p);
	/* a temp text of a writer that died, a text no entry names, a stray
	 * index.tmp, and a line of garbage in the index */
	p = store_path(dir, 1, "1/tmp-99999-1");
	write_file(p, "half");
	free(p);
	p = store_path(dir, 1, "1/00000000000fffff.sql");
	write_file(p, "orphan");
	free(p);
	p = store_path(dir, 1, "index.tmp");
	write_file(p, "junk");
	free(p);
	p = store_path(dir, 1, "index");
	char *idx = read_file(p);
	size_t l = strlen(idx);
	char *more = malloc(l + 64);
	snprintf(more, l + 64, "%sgarbage line\n1 2 3\n", idx);
	write_file(p, more);
	free(more);
	free(idx);
	free(p);
	q = open_store(dir, 1);
	CHECK_INT(count(q, 1), 1);
	CHECK(find(q, 1, "a.sql", NULL));
	char *t = text_of(q, a);
	CHECK_STR(t, "SELECT 'a'");
	free(t);
	mbfs_queries_free(q);
	p = store_path(dir, 1, "1/tmp-99999-1");
	CHECK(access(p, F_OK) != 0);
	free(p);
	p = store_path(dir, 1, "1/00000000000fffff.sql");
	CHECK(access(p, F_OK) != 0);
	free(p);
	p = store_path(dir, 1, "index.tmp");
	CHECK(access(p, F_OK) != 0);
	free(p);
	p = store_path(dir, 1, "index");
	idx = read_file(p);
	CHECK(idx && !strstr(idx, "garbage") && strstr(idx, " a.sql\n"));
	free(idx);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void test_unsafe_directories(void)
{
	char *dir = make_tmpdir("queries");
	struct mbfs_queries *q = NULL;
	struct mbfs_err err;
	char path[4200];
	/* queries/ writable by others */
	snprintf(path, sizeof path, "%s/queries", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(chmod(path, 0777) == 0);
	CHECK_INT(mbfs_queries_open(dir, 1, &q, &err), MBFS_ERR_IO);
	CHECK(q == NULL);
	CHECK(strstr(err.msg, "writable by group or others") != NULL);
	CHECK(chmod(path, 0700) == 0);
	/* u1 a symlink to somewhere else */
	char other[4200], link[4200];
	snprintf(other, sizeof other, "%s/elsewhere", dir);
	CHECK(mkdir(other, 0700) == 0);
	snprintf(link, sizeof link, "%s/queries/u1", dir);
	CHECK(symlink(other, link) == 0);
	CHECK_INT(mbfs_queries_open(dir, 1, &q, &err), MBFS_ERR_IO);
	CHECK(strstr(err.msg, "symlink") != NULL);
	/* a database directory writable by group */
	q = open_store(dir, 2);
	create(q, 5, "x.sql", NULL);
	mbfs_queries_free(q);
	snprintf(path, sizeof path, "%s/queries/u2/5", dir);
	CHECK(chmod(path, 0770) == 0);
	q = NULL;
	/* refused at open, like the spool's directories */
	CHECK_INT(mbfs_queries_open(dir, 2, &q, &err), MBFS_ERR_IO);
	CHECK(q == NULL);
	CHECK(strstr(err.msg, "/queries/u2/5") != NULL);
	/* a database directory made unsafe while open: no file goes there */
	CHECK(chmod(path, 0700) == 0);
	q = open_store(dir, 2);
	CHECK_INT(count(q, 5), 1);
	CHECK(chmod(path, 0770) == 0);
	struct mbfs_qstat st, old;
	bool created;
	CHECK_INT(mbfs_queries_create(q, 5, "y.sql", 0644, true, false, &st, &old,
				      &created, &err),
		  MBFS_ERR_IO);
	CHECK_INT(count(q, 5), 1);
	mbfs_queries_free(q);
	/* a relative directory */
	CHECK_INT(mbfs_queries_open("relative", 1, &q, &err), MBFS_ERR_INVALID);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	test_names();
	test_create_write_read();
	test_caps();
	test_rename();
	test_unlink_while_open();
	test_persistence();
	test_users_are_separate();
	test_two_stores_one_directory();
	test_crash_leftovers();
	test_unsafe_directories();
	return check_done();
}
