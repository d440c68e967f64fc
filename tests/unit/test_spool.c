/*
 * test_spool.c — unit tests of spool.c: create/commit/open, generations
 * (never reused: not after a drop, an eviction or a reopen; an open fd
 * keeps its generation's bytes), the persistent index, arbitrary keys,
 * files vanishing behind the spool's back, LRU eviction to the cap with
 * pins, drop/drop_prefix, two spools sharing one directory at once, crash
 * leftovers and unsafe directories. Every test works in its own mkdtemp()
 * directory under /tmp, removed at the end.
 */
#include "check.h"
#include "testlib.h"
#include "pool.h"
#include "spool.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *URL = "http://metabase.test:3000";

/* ---- helpers ---------------------------------------------------------- */

static struct mbfs_spool *spool_open_at(const char *dir, uint64_t cap)
{
	struct mbfs_spool *sp = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_spool_new(dir, URL, cap, &sp, &err);
	if (st != MBFS_OK)
		fprintf(stderr, "mbfs_spool_new: %s\n", err.msg);
	CHECK_INT(st, MBFS_OK);
	if (!sp)
		exit(2);
	return sp;
}

/* Create, write and commit content under key; returns the commit status. */
static enum mbfs_status put(struct mbfs_spool *sp, const char *key,
			    const char *content, int64_t rows,
			    struct mbfs_spool_info *out)
{
	int fd = -1;
	char *tmp = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	enum mbfs_status st = mbfs_spool_create(sp, &fd, &tmp, &err);
	CHECK_INT(st, MBFS_OK);
	if (st != MBFS_OK)
		return st;
	size_t len = strlen(content);
	CHECK_INT(write(fd, content, len), (ssize_t)len);
	close(fd);
	struct mbfs_spool_info meta = {
		.size = len, .rows = rows, .fetched_at = 1700000000.25,
		.duration = 0.5, .truncated = false,
	};
	st = mbfs_spool_commit(sp, key, tmp, &meta, out, &err);
	if (st != MBFS_OK)
		mbfs_spool_discard(sp, tmp);
	free(tmp);
	return st;
}

/* Read the whole file behind fd (from offset 0) into a static buffer. */
static const char *slurp(int fd)
{
	static char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static const char *read_key(struct mbfs_spool *sp, const char *key)
{
	static char buf[4096];
	int fd = -1;
	struct mbfs_spool_info info;
	buf[0] = '\0';
	if (mbfs_spool_open(sp, key, &fd, &info, NULL) != MBFS_OK)
		return NULL;
	snprintf(buf, sizeof buf, "%s", slurp(fd));
	close(fd);
	mbfs_spool_unpin(sp, key, info.gen);
	return buf;
}

/* Number of regular files in <spool dir>/spool (results and temps). */
static int count_files(struct mbfs_spool *sp, const char *prefix)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/spool", mbfs_spool_dir(sp));
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0))
			n++;
	closedir(d);
	return n;
}

/* The file the index records for key (index format 2 of spool.c: the
 * file is spool/r-<gen in 16 hex digits>; the key is percent-escaped). */
static bool index_file_of(const char *spool_dir, const char *key, char *out,
			  size_t outsz)
{
	char p[4096], line[2048];
	snprintf(p, sizeof p, "%s/index", spool_dir);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	bool found = false;
	while (fgets(line, sizeof line, f)) {
		char k[1024];
		unsigned long long g, s;
		long long r;
		double fa, du, lu;
		int tr;
		if (sscanf(line, "%llu %llu %lld %lf %lf %d %lf %1023s", &g, &s,
			   &r, &fa, &du, &tr, &lu, k) == 8 &&
		    strcmp(k, key) == 0) {
			snprintf(out, outsz, "%s/spool/r-%016llx", spool_dir, g);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static uint64_t gen_of(struct mbfs_spool *sp, const char *key)
{
	struct mbfs_spool_info g;
	return mbfs_spool_get(sp, key, &g) ? g.gen : 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_commit_open(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	struct mbfs_spool_info info, got;

	CHECK(!mbfs_spool_get(sp, "card:1:csv", &got));
	int fd = -1;
	struct mbfs_err err;
	CHECK_INT(mbfs_spool_open(sp, "card:1:csv", &fd, &got, &err),
		  MBFS_ERR_NOT_FOUND);

	/* the server dir is private */
	struct stat st;
	CHECK(stat(mbfs_spool_dir(sp), &st) == 0 && (st.st_mode & 077) == 0);
	CHECK(strncmp(mbfs_spool_dir(sp), dir, strlen(dir)) == 0);

	CHECK_INT(put(sp, "card:1:csv", "a,b\n1,2\n3,4\n", 2, &info), MBFS_OK);
	CHECK_INT(info.gen, 1);
	CHECK_INT(info.size, 12);
	CHECK_INT(info.rows, 2);
	CHECK(!info.truncated);
	CHECK(info.fetched_at == 1700000000.25);
	CHECK(info.duration == 0.5);

	CHECK(mbfs_spool_get(sp, "card:1:csv", &got));
	CHECK_INT(got.gen, 1);
	CHECK_INT(got.size, 12);
	CHECK_INT(got.rows, 2);
	CHECK(mbfs_spool_get(sp, "card:1:csv", NULL));
	CHECK(!mbfs_spool_get(sp, "card:1:json", NULL));

	/* open: content readable, info filled, temp file gone */
	fd = -1;
	CHECK_INT(mbfs_spool_open(sp, "card:1:csv", &fd, &got, &err), MBFS_OK);
	CHECK(fd >= 0);
	CHECK_STR(slurp(fd), "a,b\n1,2\n3,4\n");
	CHECK_INT(got.gen, 1);
	CHECK_INT(got.size, 12);
	CHECK_INT(count_files(sp, "tmp-"), 0);
	CHECK_INT(count_files(sp, NULL), 1);

	/* second commit: a new generation; the gen-1 fd still reads the old bytes */
	CHECK_INT(put(sp, "card:1:csv", "a,b\n5,6\n", 1, &info), MBFS_OK);
	CHECK_INT(info.gen, 2);
	CHECK_INT(info.size, 8);
	CHECK_INT(info.rows, 1);
	CHECK_STR(slurp(fd), "a,b\n1,2\n3,4\n");
	close(fd);
	mbfs_spool_unpin(sp, "card:1:csv", 1); /* stale pin: ignored */
	CHECK_STR(read_key(sp, "card:1:csv"), "a,b\n5,6\n");
	CHECK(mbfs_spool_get(sp, "card:1:csv", &got));
	CHECK_INT(got.gen, 2);
	CHECK_INT(count_files(sp, NULL), 1); /* the gen-1 file is unlinked */

	/* a third commit through a commit with out == NULL */
	CHECK_INT(put(sp, "card:1:csv", "x\n", 0, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "card:1:csv", &got));
	CHECK_INT(got.gen, 3);

	/* an empty key, an over-long key and a path as temp name are
	 * refused; the temp can be discarded */
	int tfd;
	char *tmp = NULL;
	CHECK_INT(mbfs_spool_create(sp, &tfd, &tmp, &err), MBFS_OK);
	close(tfd);
	struct mbfs_spool_info meta = {.size = 0, .rows = 0};
	CHECK_INT(mbfs_spool_commit(sp, "", tmp, &meta, NULL, &err),
		  MBFS_ERR_INVALID);
	char *huge = malloc(MBFS_SPOOL_KEY_MAX + 2);
	memset(huge, 'k', MBFS_SPOOL_KEY_MAX + 1);
	huge[MBFS_SPOOL_KEY_MAX + 1] = '\0';
	CHECK_INT(mbfs_spool_commit(sp, huge, tmp, &meta, NULL, &err),
		  MBFS_ERR_INVALID);
	free(huge);
	CHECK_INT(mbfs_spool_commit(sp, "k", "../../etc/passwd", &meta, NULL, &err),
		  MBFS_ERR_INVALID);
	CHECK_INT(count_files(sp, "tmp-"), 1);
	mbfs_spool_discard(sp, tmp);
	CHECK_INT(count_files(sp, "tmp-"), 0);
	free(tmp);
	mbfs_spool_discard(sp, NULL); /* no-op */

	/* two temps get distinct paths */
	char *t1 = NULL, *t2 = NULL;
	int f1, f2;
	CHECK_INT(mbfs_spool_create(sp, &f1, &t1, &err), MBFS_OK);
	CHECK_INT(mbfs_spool_create(sp, &f2, &t2, &err), MBFS_OK);
	CHECK(t1 && t2 && strcmp(t1, t2) != 0);
	close(f1);
	close(f2);
	mbfs_spool_discard(sp, t1);
	mbfs_spool_discard(sp, t2);
	free(t1);
	free(t2);

	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

static void test_index_persists(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	struct mbfs_spool_info got;
	char sdir[4096];
	snprintf(sdir, sizeof sdir, "%s", mbfs_spool_dir(sp));

	CHECK_INT(put(sp, "card:1:csv", "a\n1\n", 1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:1:csv", "a\n1\n2\n", 2, NULL), MBFS_OK); /* gen 2 */
	CHECK_INT(put(sp, "table:9:json", "[{\"a\":1},{\"a\":2},{\"a\":3}]", 3,
		      NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:2:xlsx", "PK-not-really", -1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:3:csv", "gone\n", 0, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:4:csv", "resized\n", 0, NULL), MBFS_OK);
	mbfs_spool_free(sp);

	/* delete one file and change another's size behind the spool's back */
	char p3[4096], p4[4096];
	CHECK(index_file_of(sdir, "card:3:csv", p3, sizeof p3));
	CHECK(index_file_of(sdir, "card:4:csv", p4, sizeof p4));
	CHECK(unlink(p3) == 0);
	FILE *f = fopen(p4, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("more\n", f);
		fclose(f);
	}

	/* same cache_dir + url: remembered */
	sp = spool_open_at(dir, 1 << 20);
	CHECK_STR(mbfs_spool_dir(sp), sdir);
	CHECK(mbfs_spool_get(sp, "card:1:csv", &got));
	CHECK_INT(got.size, 6);
	CHECK_INT(got.rows, 2);
	CHECK_INT(got.gen, 2);
	CHECK(got.fetched_at > 1700000000.0 && got.fetched_at < 1700000001.0);
	CHECK(mbfs_spool_get(sp, "table:9:json", &got));
	CHECK_INT(got.size, 25);
	CHECK_INT(got.rows, 3);
	CHECK_INT(got.gen, 3);
	CHECK(mbfs_spool_get(sp, "card:2:xlsx", &got));
	CHECK_INT(got.rows, -1);
	CHECK_STR(read_key(sp, "table:9:json"), "[{\"a\":1},{\"a\":2},{\"a\":3}]");
	CHECK_STR(read_key(sp, "card:1:csv"), "a\n1\n2\n");
	/* the deleted and the resized ones are dropped */
	CHECK(!mbfs_spool_get(sp, "card:3:csv", NULL));
	CHECK(!mbfs_spool_get(sp, "card:4:csv", NULL));
	char d[256];
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 3\nspool_bytes 44\nspool_cap 1048576\nspool_removals_pending 0\n");

	/* a further commit continues the counter past every generation the
	 * directory ever handed out (6 commits so far), dropped ones included */
	struct mbfs_spool_info info;
	CHECK_INT(put(sp, "card:1:csv", "z\n", 0, &info), MBFS_OK);
	CHECK_INT(info.gen, 7);
	mbfs_spool_free(sp);

	/* another server under the same cache_dir: its own, empty, spool */
	struct mbfs_spool *other = NULL;
	CHECK_INT(mbfs_spool_new(dir, "https://other.test", 1 << 20, &other, NULL),
		  MBFS_OK);
	if (other) {
		CHECK(strcmp(mbfs_spool_dir(other), sdir) != 0);
		CHECK(!mbfs_spool_get(other, "card:1:csv", NULL));
		mbfs_spool_free(other);
	}

	/* a garbage index is ignored, not fatal */
	char ip[4200];
	snprintf(ip, sizeof ip, "%s/index", sdir);
	f = fopen(ip, "w");
	if (f) {
		fputs("not an index\n1 2 3\n", f);
		fclose(f);
	}
	sp = spool_open_at(dir, 1 << 20);
	CHECK(!mbfs_spool_get(sp, "card:1:csv", NULL));
	mbfs_spool_free(sp);

	rm_rf(dir);
	free(dir);
}

static void test_vanished_while_mounted(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	CHECK_INT(put(sp, "card:5:csv", "a\n", 0, NULL), MBFS_OK);
	char p[4096];
	CHECK(index_file_of(mbfs_spool_dir(sp), "card:5:csv", p, sizeof p));
	CHECK(unlink(p) == 0);
	int fd = -1;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_open(sp, "card:5:csv", &fd, NULL, &err),
		  MBFS_ERR_NOT_FOUND);
	CHECK_INT(err.status, MBFS_ERR_NOT_FOUND);
	CHECK(!mbfs_spool_get(sp, "card:5:csv", NULL)); /* forgotten */
	char d[256];
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 0\nspool_bytes 0\nspool_cap 1048576\nspool_removals_pending 0\n");
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

static const char *S40 = "0123456789012345678901234567890123456789";
static const char *S30 = "012345678901234567890123456789";

static void test_eviction(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 100);
	struct mbfs_spool_info a;
	int fd = -1;
	char d[256];

	/* A pinned, B unpinned: committing C evicts B, not A */
	CHECK_INT(put(sp, "A", S40, 1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "B", S40, 1, NULL), MBFS_OK);
	CHECK_INT(mbfs_spool_open(sp, "A", &fd, &a, NULL), MBFS_OK);
	CHECK_INT(put(sp, "C", S40, 1, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "A", NULL));
	CHECK(!mbfs_spool_get(sp, "B", NULL));
	CHECK(mbfs_spool_get(sp, "C", NULL));
	CHECK_INT(count_files(sp, NULL), 2); /* B's file is gone too */
	/* D: C is the only unpinned candidate */
	CHECK_INT(put(sp, "D", S40, 1, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "A", NULL));
	CHECK(!mbfs_spool_get(sp, "C", NULL));
	CHECK(mbfs_spool_get(sp, "D", NULL));
	CHECK_STR(slurp(fd), S40);
	close(fd);
	mbfs_spool_unpin(sp, "A", a.gen);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 2\nspool_bytes 80\nspool_cap 100\nspool_removals_pending 0\n");
	mbfs_spool_drop_prefix(sp, "");
	CHECK_INT(count_files(sp, NULL), 0);

	/* pure LRU: using B makes A the least recently used */
	CHECK_INT(put(sp, "A", S30, 1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "B", S30, 1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "C", S30, 1, NULL), MBFS_OK);
	CHECK_STR(read_key(sp, "B"), S30);
	CHECK_STR(read_key(sp, "A"), S30);
	CHECK_INT(put(sp, "D", S30, 1, NULL), MBFS_OK); /* evicts C (LRU) */
	CHECK(mbfs_spool_get(sp, "A", NULL));
	CHECK(mbfs_spool_get(sp, "B", NULL));
	CHECK(!mbfs_spool_get(sp, "C", NULL));
	CHECK(mbfs_spool_get(sp, "D", NULL));
	CHECK_INT(put(sp, "E", S30, 1, NULL), MBFS_OK); /* evicts B */
	CHECK(mbfs_spool_get(sp, "A", NULL));
	CHECK(!mbfs_spool_get(sp, "B", NULL));
	CHECK(mbfs_spool_get(sp, "D", NULL));
	CHECK(mbfs_spool_get(sp, "E", NULL));
	/* a result bigger than the cap is kept (it is the one just made) */
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(put(sp, "BIG", big, 1, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "BIG", NULL));
	CHECK(!mbfs_spool_get(sp, "A", NULL));
	CHECK(!mbfs_spool_get(sp, "D", NULL));
	CHECK(!mbfs_spool_get(sp, "E", NULL));
	mbfs_spool_drop_prefix(sp, "");

	/* over the cap only because of a pin: the unpin evicts */
	mbfs_spool_free(sp);
	sp = spool_open_at(dir, 50);
	CHECK_INT(put(sp, "A", S40, 1, NULL), MBFS_OK);
	CHECK_INT(mbfs_spool_open(sp, "A", &fd, &a, NULL), MBFS_OK);
	CHECK_INT(put(sp, "B", S40, 1, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "A", NULL));
	CHECK(mbfs_spool_get(sp, "B", NULL));
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 2\nspool_bytes 80\nspool_cap 50\nspool_removals_pending 0\n");
	mbfs_spool_unpin(sp, "A", a.gen);
	CHECK(!mbfs_spool_get(sp, "A", NULL));
	CHECK(mbfs_spool_get(sp, "B", NULL));
	CHECK_STR(slurp(fd), S40); /* the evicted file lives on in the fd */
	close(fd);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 1\nspool_bytes 40\nspool_cap 50\nspool_removals_pending 0\n");

	/* two pins need two unpins */
	int fd1 = -1, fd2 = -1;
	struct mbfs_spool_info b1, b2;
	CHECK_INT(mbfs_spool_open(sp, "B", &fd1, &b1, NULL), MBFS_OK);
	CHECK_INT(mbfs_spool_open(sp, "B", &fd2, &b2, NULL), MBFS_OK);
	CHECK_INT(put(sp, "C", S40, 1, NULL), MBFS_OK);
	mbfs_spool_unpin(sp, "B", b1.gen);
	CHECK(mbfs_spool_get(sp, "B", NULL)); /* still pinned once */
	mbfs_spool_unpin(sp, "B", b2.gen);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 1\nspool_bytes 40\nspool_cap 50\nspool_removals_pending 0\n");
	close(fd1);
	close(fd2);

	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

static void test_drop(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1000);
	char d[256];

	CHECK_INT(put(sp, "card:1:csv", "one\n", 0, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:2:csv", "two!\n", 0, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:3:csv", "three\n", 0, NULL), MBFS_OK);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 3\nspool_bytes 15\nspool_cap 1000\nspool_removals_pending 0\n");

	int fd = -1;
	struct mbfs_spool_info i1;
	CHECK_INT(mbfs_spool_open(sp, "card:1:csv", &fd, &i1, NULL), MBFS_OK);
	mbfs_spool_drop(sp, "card:1:csv");
	CHECK(!mbfs_spool_get(sp, "card:1:csv", NULL));
	CHECK_STR(slurp(fd), "one\n"); /* open handles keep reading */
	close(fd);
	mbfs_spool_unpin(sp, "card:1:csv", i1.gen); /* no entry: no-op */
	mbfs_spool_drop(sp, "card:1:csv");          /* twice: no-op */
	mbfs_spool_drop(sp, "never-seen");
	CHECK_INT(count_files(sp, NULL), 2);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 2\nspool_bytes 11\nspool_cap 1000\nspool_removals_pending 0\n");

	/* a dropped key never gets its old generation back */
	struct mbfs_spool_info info;
	CHECK_INT(put(sp, "card:1:csv", "uno\n", 0, &info), MBFS_OK);
	CHECK(info.gen > i1.gen);
	CHECK_INT(info.gen, 4);

	/* drop_prefix drops one scope only */
	CHECK_INT(put(sp, "u2|card:1:csv", "other user\n", 0, NULL), MBFS_OK);
	mbfs_spool_drop_prefix(sp, "u2|");
	CHECK(!mbfs_spool_get(sp, "u2|card:1:csv", NULL));
	CHECK(mbfs_spool_get(sp, "card:1:csv", NULL));

	mbfs_spool_drop_prefix(sp, "");
	CHECK(!mbfs_spool_get(sp, "card:1:csv", NULL));
	CHECK(!mbfs_spool_get(sp, "card:2:csv", NULL));
	CHECK(!mbfs_spool_get(sp, "card:3:csv", NULL));
	CHECK_INT(count_files(sp, NULL), 0);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 0\nspool_bytes 0\nspool_cap 1000\nspool_removals_pending 0\n");
	/* the drops are persisted */
	mbfs_spool_free(sp);
	sp = spool_open_at(dir, 1000);
	CHECK(!mbfs_spool_get(sp, "card:2:csv", NULL));

	/* describe into a small buffer: truncated, terminated */
	char small[8];
	int n = mbfs_spool_describe(sp, small, sizeof small);
	CHECK(n > 8);
	CHECK_INT(strlen(small), 7);

	/* many keys (rehash) */
	char key[32], body[32];
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof key, "card:%d:json", i);
		snprintf(body, sizeof body, "%d", i % 10);
		put(sp, key, body, 0, NULL);
	}
	bool all = true;
	for (int i = 0; i < 300; i++) {
		struct mbfs_spool_info g;
		snprintf(key, sizeof key, "card:%d:json", i);
		if (!mbfs_spool_get(sp, key, &g) || g.size != 1)
			all = false;
	}
	CHECK(all);
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 300\nspool_bytes 300\nspool_cap 1000\nspool_removals_pending 0\n");
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

/* With a pool, dropped results' files go off the caller's path: queued
 * (spool_removals_pending), still on disk until the pool runs them, gone
 * after; mbfs_spool_free waits for them; without a pool, inline again. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_job(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void test_removals_on_pool(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1000);
	struct mbfs_pool *pool = mbfs_pool_new("test", 1);
	CHECK(pool != NULL);
	if (!pool)
		return;
	gate_open = false;
	CHECK(mbfs_pool_submit(pool, gate_job, NULL)); /* holds the one thread */
	mbfs_spool_set_pool(sp, pool);
	char d[256];

	CHECK_INT(put(sp, "card:1:csv", "one\n", 0, NULL), MBFS_OK);
	CHECK_INT(put(sp, "card:1:csv", "uno\n", 0, NULL), MBFS_OK); /* replaces */
	CHECK_INT(put(sp, "card:2:csv", "two\n", 0, NULL), MBFS_OK);
	mbfs_spool_drop(sp, "card:2:csv");
	/* the index is already right; two files wait for the pool */
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 1\nspool_bytes 4\nspool_cap 1000\nspool_removals_pending 2\n");
	CHECK_INT(count_files(sp, "r-"), 3);
	CHECK_STR(read_key(sp, "card:1:csv"), "uno\n");

	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < 500; i++) {
		mbfs_spool_describe(sp, d, sizeof d);
		if (strstr(d, "spool_removals_pending 0\n"))
			break;
		usleep(2000);
	}
	CHECK_STR(d, "spool_results 1\nspool_bytes 4\nspool_cap 1000\nspool_removals_pending 0\n");
	CHECK_INT(count_files(sp, "r-"), 1);

	/* queued at free: mbfs_spool_free waits for it */
	gate_open = false;
	CHECK(mbfs_pool_submit(pool, gate_job, NULL));
	mbfs_spool_drop(sp, "card:1:csv");
	mbfs_spool_set_pool(sp, NULL);
	CHECK_INT(put(sp, "card:3:csv", "three\n", 0, NULL), MBFS_OK);
	mbfs_spool_drop(sp, "card:3:csv");           /* no pool: inline */
	CHECK_INT(count_files(sp, "r-"), 1);           /* card:1's, queued */
	char spooldir[4096];
	snprintf(spooldir, sizeof spooldir, "%s/spool", mbfs_spool_dir(sp));
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	mbfs_spool_free(sp);
	DIR *dd = opendir(spooldir);
	int left = 0;
	struct dirent *de;
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			left++;
	if (dd)
		closedir(dd);
	CHECK_INT(left, 0);
	mbfs_pool_free(pool);
	rm_rf(dir);
	free(dir);
}

/* A commit whose rename fails (the temp file is gone) must leave the
 * accounting intact: the result it would have replaced is kept, and the
 * byte total is right. */
static void test_commit_rename_failure(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1000);
	char d[256];

	CHECK_INT(put(sp, "A", S40, 1, NULL), MBFS_OK);
	CHECK_INT(put(sp, "B", "0123456789", 1, NULL), MBFS_OK);

	/* a new key whose temp vanished */
	const char *missing = "tmp-missing";
	struct mbfs_spool_info meta = {.size = 5, .rows = 1};
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_commit(sp, "N", missing, &meta, NULL, &err),
		  MBFS_ERR_IO);
	CHECK(!mbfs_spool_get(sp, "N", NULL));
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 2\nspool_bytes 50\nspool_cap 1000\nspool_removals_pending 0\n");

	/* an existing key whose new temp vanished */
	meta.size = 7;
	CHECK_INT(mbfs_spool_commit(sp, "A", missing, &meta, NULL, &err),
		  MBFS_ERR_IO);
	CHECK(mbfs_spool_get(sp, "B", NULL));
	CHECK(mbfs_spool_get(sp, "A", NULL));
	mbfs_spool_describe(sp, d, sizeof d);
	CHECK_STR(d, "spool_results 2\nspool_bytes 50\nspool_cap 1000\nspool_removals_pending 0\n");
	/* and the next commit must not evict B because of a bad total */
	CHECK_INT(put(sp, "C", "x", 0, NULL), MBFS_OK);
	CHECK(mbfs_spool_get(sp, "B", NULL));
	CHECK(mbfs_spool_get(sp, "C", NULL));

	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

static void test_bad_cache_dir(void)
{
	struct mbfs_spool *sp = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	/* a regular file where the cache dir should be */
	char *dir = make_tmpdir("spool");
	char file[4200];
	snprintf(file, sizeof file, "%s/file", dir);
	FILE *f = fopen(file, "w");
	if (f)
		fclose(f);
	CHECK_INT(mbfs_spool_new(file, URL, 100, &sp, &err), MBFS_ERR_IO);
	CHECK_INT(err.status, MBFS_ERR_IO);
	CHECK(err.msg[0] != '\0');
	rm_rf(dir);
	free(dir);
}


/* Keys are arbitrary: spaces, newlines, '%', UTF-8, 200 bytes of
 * parameters; they survive the index round trip unchanged. */
static void test_arbitrary_keys(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	char longkey[300];
	memset(longkey, 'p', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	const char *keys[] = {"u1|card:1:csv|fr=0", "with space",
			      "with\nnewline", "100%", "ümlaut|Gizmo & co",
			      "../../outside.txt", longkey};
	size_t nk = sizeof keys / sizeof keys[0];
	for (size_t i = 0; i < nk; i++) {
		char body[32];
		snprintf(body, sizeof body, "body %zu\n", i);
		CHECK_INT(put(sp, keys[i], body, 0, NULL), MBFS_OK);
	}
	mbfs_spool_free(sp);
	sp = spool_open_at(dir, 1 << 20);
	for (size_t i = 0; i < nk; i++) {
		char body[32];
		snprintf(body, sizeof body, "body %zu\n", i);
		const char *got = read_key(sp, keys[i]);
		CHECK(got != NULL);
		if (got)
			CHECK_STR(got, body);
	}
	/* nothing was written outside the spool directory */
	char outside[4200];
	snprintf(outside, sizeof outside, "%s/outside.txt", dir);
	CHECK(access(outside, F_OK) != 0);
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

/* An index whose records name generations beyond its own counter, a
 * record that names a path, and a line that is not a record: the counter
 * still moves past every generation seen, the bad lines are dropped. */
static void test_tampered_index(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	CHECK_INT(put(sp, "A", "a\n", 0, NULL), MBFS_OK);
	char sdir[4096], ip[4200], rp[4300];
	snprintf(sdir, sizeof sdir, "%s", mbfs_spool_dir(sp));
	mbfs_spool_free(sp);
	/* a result file for generation 41 and an index that claims
	 * next_gen 1 while naming it */
	snprintf(rp, sizeof rp, "%s/spool/r-%016x", sdir, 41);
	FILE *f = fopen(rp, "w");
	if (f) {
		fputs("forty-one\n", f);
		fclose(f);
	}
	snprintf(ip, sizeof ip, "%s/index", sdir);
	f = fopen(ip, "w");
	if (f) {
		fputs("mbfs-spool 2 1\n", f);
		fputs("41 10 0 1700000000.000 0.100 0 1700000000.000 B\n", f);
		fputs("42 10 0 1700000000.000 0.100 0 1700000000.000 ../../x\n", f);
		fputs("garbage\n", f);
		fclose(f);
	}
	sp = spool_open_at(dir, 1 << 20);
	CHECK_STR(read_key(sp, "B"), "forty-one\n");
	CHECK(!mbfs_spool_get(sp, "A", NULL)); /* not in the index any more */
	struct mbfs_spool_info info;
	CHECK_INT(put(sp, "C", "c\n", 0, &info), MBFS_OK);
	CHECK(info.gen > 42);
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

/* Two spools on one directory at once (two mounts sharing a cache dir):
 * neither loses the other's entries, generations never collide, a
 * replaced result is never served by the mount that did not replace it,
 * and open descriptors keep their generation. */
static void test_two_mounts(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *a = spool_open_at(dir, 1 << 20);
	struct mbfs_spool *b = spool_open_at(dir, 1 << 20);
	CHECK_STR(mbfs_spool_dir(a), mbfs_spool_dir(b));
	struct mbfs_spool_info ia, ib;

	CHECK_INT(put(a, "K", "from a, 1\n", 0, &ia), MBFS_OK);
	usleep(150 * 1000); /* past b's refresh interval */
	CHECK_STR(read_key(b, "K"), "from a, 1\n"); /* shared */

	/* b replaces K (same size!) while a holds gen ia open */
	int fa = -1;
	CHECK_INT(mbfs_spool_open(a, "K", &fa, &ia, NULL), MBFS_OK);
	CHECK_INT(put(b, "K", "from b, 2\n", 0, &ib), MBFS_OK);
	CHECK(ib.gen != ia.gen);
	CHECK_STR(slurp(fa), "from a, 1\n"); /* the open handle keeps its bytes */
	close(fa);
	mbfs_spool_unpin(a, "K", ia.gen);
	/* a's next open sees b's generation at once (its file is gone) */
	int f2 = -1;
	struct mbfs_spool_info i2;
	CHECK_INT(mbfs_spool_open(a, "K", &f2, &i2, NULL), MBFS_OK);
	CHECK_INT(i2.gen, ib.gen);
	CHECK_STR(slurp(f2), "from b, 2\n");
	close(f2);
	mbfs_spool_unpin(a, "K", i2.gen);

	/* interleaved commits of different keys: none is lost */
	for (int i = 0; i < 20; i++) {
		char k[16];
		snprintf(k, sizeof k, "a%d", i);
		CHECK_INT(put(a, k, "x\n", 0, NULL), MBFS_OK);
		snprintf(k, sizeof k, "b%d", i);
		CHECK_INT(put(b, k, "y\n", 0, NULL), MBFS_OK);
	}
	mbfs_spool_free(a);
	mbfs_spool_free(b);
	struct mbfs_spool *c = spool_open_at(dir, 1 << 20);
	bool all = true;
	uint64_t seen[40];
	int ns = 0;
	for (int i = 0; i < 20; i++) {
		char k[16];
		snprintf(k, sizeof k, "a%d", i);
		all = all && (seen[ns++] = gen_of(c, k)) != 0;
		snprintf(k, sizeof k, "b%d", i);
		all = all && (seen[ns++] = gen_of(c, k)) != 0;
	}
	CHECK(all);
	bool distinct = true;
	for (int i = 0; i < ns; i++)
		for (int j = i + 1; j < ns; j++)
			if (seen[i] == seen[j])
				distinct = false;
	CHECK(distinct);
	CHECK_STR(read_key(c, "K"), "from b, 2\n");
	CHECK_INT(count_files(c, NULL), 41); /* every file is indexed */

	/* a drop in one mount is seen by the other at its next open */
	struct mbfs_spool *d = spool_open_at(dir, 1 << 20);
	mbfs_spool_drop(c, "K");
	int fd = -1;
	CHECK_INT(mbfs_spool_open(d, "K", &fd, NULL, NULL), MBFS_ERR_NOT_FOUND);
	mbfs_spool_free(c);
	mbfs_spool_free(d);
	rm_rf(dir);
	free(dir);
}

/* What kill -9 can leave: a result renamed into place but never indexed,
 * a temp file of a dead writer, a temp file of a live writer (locked), a
 * half-written index.tmp and a stray file. The next start keeps exactly
 * what the index names and the live writer's temp. */
static void test_crash_leftovers(void)
{
	char *dir = make_tmpdir("spool");
	struct mbfs_spool *sp = spool_open_at(dir, 1 << 20);
	CHECK_INT(put(sp, "kept", "kept\n", 0, NULL), MBFS_OK);
	char sdir[4096], p[4300];
	snprintf(sdir, sizeof sdir, "%s", mbfs_spool_dir(sp));
	/* a live writer: its temp is flocked */
	int live = -1;
	char *live_tmp = NULL;
	CHECK_INT(mbfs_spool_create(sp, &live, &live_tmp, NULL), MBFS_OK);
	mbfs_spool_free(sp);

	const char *junk[] = {"r-00000000000000ff", "tmp-999999999-1", "stray",
			      "r-bad"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		snprintf(p, sizeof p, "%s/spool/%s", sdir, junk[i]);
		FILE *f = fopen(p, "w");
		if (f) {
			fputs("junk", f);
			fclose(f);
		}
	}
	snprintf(p, sizeof p, "%s/index.tmp", sdir);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs("mbfs-spool 2 9\n1 2 3", f);
		fclose(f);
	}
	sp = spool_open_at(dir, 1 << 20);
	CHECK_STR(read_key(sp, "kept"), "kept\n");
	CHECK_INT(count_files(sp, "r-"), 1);
	CHECK_INT(count_files(sp, "tmp-"), 1); /* the live writer's */
	CHECK_INT(count_files(sp, NULL), 2);
	CHECK(access(p, F_OK) != 0); /* index.tmp gone */
	/* the live writer can still commit */
	CHECK_INT(write(live, "late\n", 5), 5);
	struct mbfs_spool_info meta = {.size = 5}, out;
	CHECK_INT(mbfs_spool_commit(sp, "late", live_tmp, &meta, &out, NULL),
		  MBFS_OK);
	close(live);
	free(live_tmp);
	CHECK_STR(read_key(sp, "late"), "late\n");
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

/* Unsafe cache directories are refused with a message naming them. */
static void test_unsafe_dirs(void)
{
	struct mbfs_spool *sp = NULL;
	struct mbfs_err err;
	char *dir = make_tmpdir("spool");
	char p[4200], q[4200];

	/* relative */
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_new("relative/dir", URL, 100, &sp, &err),
		  MBFS_ERR_INVALID);

	/* writable by others */
	snprintf(p, sizeof p, "%s/open", dir);
	CHECK(mkdir(p, 0700) == 0 && chmod(p, 0777) == 0);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_new(p, URL, 100, &sp, &err), MBFS_ERR_IO);
	CHECK(strstr(err.msg, p) != NULL);
	CHECK(strstr(err.msg, "chmod 700") != NULL);

	/* group-writable server directory below a good one */
	snprintf(p, sizeof p, "%s/good", dir);
	sp = spool_open_at(p, 100);
	snprintf(q, sizeof q, "%s", mbfs_spool_dir(sp));
	mbfs_spool_free(sp);
	sp = NULL;
	CHECK(chmod(q, 0770) == 0);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_new(p, URL, 100, &sp, &err), MBFS_ERR_IO);
	CHECK(strstr(err.msg, q) != NULL);
	CHECK(chmod(q, 0700) == 0);

	/* the spool subdirectory replaced by a symlink to elsewhere */
	char sp_path[4300], elsewhere[4300];
	snprintf(sp_path, sizeof sp_path, "%s/spool", q);
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
	CHECK(mkdir(elsewhere, 0700) == 0);
	rm_rf(sp_path);
	CHECK(symlink(elsewhere, sp_path) == 0);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_new(p, URL, 100, &sp, &err), MBFS_ERR_IO);
	CHECK(strstr(err.msg, "symlink") != NULL);

	/* a symlink as the cache directory itself */
	snprintf(q, sizeof q, "%s/link", dir);
	CHECK(symlink(elsewhere, q) == 0);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_spool_new(q, URL, 100, &sp, &err), MBFS_ERR_IO);

	/* owned by someone else (needs root to arrange) */
	if (geteuid() == 0) {
		snprintf(q, sizeof q, "%s/theirs", dir);
		CHECK(mkdir(q, 0700) == 0 && chown(q, 65534, 65534) == 0);
		mbfs_err_clear(&err);
		CHECK_INT(mbfs_spool_new(q, URL, 100, &sp, &err), MBFS_ERR_IO);
		CHECK(strstr(err.msg, "not owned by you") != NULL);
	}
	/* a planted index.tmp symlink is not followed: the target survives */
	snprintf(p, sizeof p, "%s/good2", dir);
	sp = spool_open_at(p, 1 << 20);
	char target[4300], itmp[4300];
	snprintf(target, sizeof target, "%s/victim", dir);
	FILE *f = fopen(target, "w");
	if (f) {
		fputs("precious\n", f);
		fclose(f);
	}
	snprintf(itmp, sizeof itmp, "%s/index.tmp", mbfs_spool_dir(sp));
	CHECK(symlink(target, itmp) == 0);
	CHECK_INT(put(sp, "A", "a\n", 0, NULL), MBFS_OK);
	f = fopen(target, "r");
	char line[64] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	CHECK_STR(line, "precious\n");
	mbfs_spool_free(sp);
	rm_rf(dir);
	free(dir);
}

/* kill -9 of a writer at arbitrary moments, many times, with a small cap:
 * after each, a fresh start finds index and files in agreement (every
 * indexed result readable at its recorded size, no file left that the
 * index does not name) and the total within the cap. */
static void test_kill9(void)
{
	char *dir = make_tmpdir("spool");
	const uint64_t cap = 4000;
	int nonempty = 0;
	srand(7);
	for (int round = 0; round < 25; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct mbfs_spool *w = NULL;
			if (mbfs_spool_new(dir, URL, cap, &w, NULL) != MBFS_OK)
				_exit(3);
			char body[1100];
			for (unsigned i = 0;; i++) {
				char key[32];
				snprintf(key, sizeof key, "card:%u:csv", i % 9);
				size_t len = 100 + (i * 37) % 900;
				memset(body, 'a' + (int)(i % 26), len);
				body[len - 1] = '\n';
				body[len] = '\0';
				put(w, key, body, 0, NULL);
				if (i % 5 == 0)
					mbfs_spool_drop(w, "card:0:csv");
			}
		}
		usleep((useconds_t)(1000 + rand() % 20000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);

		struct mbfs_spool *sp = spool_open_at(dir, cap);
		char d[256];
		mbfs_spool_describe(sp, d, sizeof d);
		unsigned long long n = 0, bytes = 0;
		sscanf(d, "spool_results %llu\nspool_bytes %llu", &n, &bytes);
		CHECK(bytes <= cap);
		CHECK_INT(count_files(sp, NULL), (int)n);
		nonempty += n > 0;
		bool readable = true;
		for (int k = 0; k < 9; k++) {
			char key[32];
			struct mbfs_spool_info info;
			snprintf(key, sizeof key, "card:%d:csv", k);
			if (!mbfs_spool_get(sp, key, &info))
				continue;
			int fd = -1;
			if (mbfs_spool_open(sp, key, &fd, &info, NULL) != MBFS_OK) {
				readable = false;
				continue;
			}
			struct stat st;
			if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != info.size)
				readable = false;
			close(fd);
			mbfs_spool_unpin(sp, key, info.gen);
		}
		CHECK(readable);
		mbfs_spool_free(sp);
	}
	CHECK(nonempty > 20); /* the writer did get to commit */
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	test_commit_open();
	test_index_persists();
	test_vanished_while_mounted();
	test_eviction();
	test_drop();
	test_removals_on_pool();
	test_commit_rename_failure();
	test_bad_cache_dir();
	test_arbitrary_keys();
	test_tampered_index();
	test_two_mounts();
	test_crash_leftovers();
	test_unsafe_dirs();
	test_kill9();
	return check_done();
}
