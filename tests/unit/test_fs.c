/*
 * test_fs.c — the filesystem core without a kernel: fs.c, content.c,
 * xattr.c, control.c and dirs.c over the real tree, export engine and
 * spool, with the in-memory client of fake.h in place of Metabase
 * and direct calls in place of libfuse (issue 12: "a test that drives the
 * whole core without a kernel"). What the kernel would do — look a name
 * up, stat it, open, read at offsets, release — is done here call by call,
 * and every byte read is compared with what the fake served.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "export.h"
#include "fake.h"
#include "fs.h"
#include "spool.h"
#include "testlib.h"
#include "tree.h"

static const char *const CSV_ONLY[] = {"csv"};

struct env {
	struct fake_client fc;
	struct mbfs_options o;
	char *dir;
	struct mbfs_spool *sp;
	struct mbfs_export *ex;
	struct mbfs_tree *tree;
	struct mbfs_fs *fs;
};

static void env_up(struct env *e)
{
	memset(e, 0, sizeof *e);
	e->dir = make_tmpdir("fs");
	fake_init(&e->fc);
	/* one card in the root collection (the fake's card list) */
	e->fc.items[0] = (struct fake_item){.collection_id = 0,
					    .model = MB_MODEL_CARD,
					    .id = 7,
					    .name = "Orders",
					    .updated_at = "2024-01-02T03:04:05Z"};
	e->fc.n_items = 1;
	e->o.formats[0] = (char *)CSV_ONLY[0];
	e->o.n_formats = 1;
	e->o.meta_ttl = 60;
	e->o.result_ttl = 60;
	e->o.error_ttl = 10;
	e->o.url = (char *)"http://mb.test";
	e->o.mountpoint = (char *)"/mnt/test";
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (mbfs_spool_new(e->dir, "http://mb.test", 1 << 24, &e->sp, &err) !=
	    MBFS_OK) {
		fprintf(stderr, "spool: %s\n", err.msg);
		exit(2);
	}
	struct mbfs_export_config cfg = {.result_ttl = 60, .error_ttl = 10,
					 .max_exports = 2,
					 .row_cap = 1048575};
	if (mbfs_export_new(&e->fc.base, e->sp, &cfg, &e->ex, &err) != MBFS_OK) {
		fprintf(stderr, "export: %s\n", err.msg);
		exit(2);
	}
	e->tree = mbfs_tree_new(&e->fc.base, &e->o);
	struct mbfs_fs_env fenv = {.opts = &e->o,
				   .client = &e->fc.base,
				   .tree = e->tree,
				   .export = e->ex,
				   .version_tag = "v0.50.0",
				   .user_email = "a@example.com",
				   .result_scope = "u1|"};
	e->fs = mbfs_fs_new(&fenv);
	if (!e->tree || !e->fs) {
		fprintf(stderr, "tree/fs: out of memory\n");
		exit(2);
	}
}

static void env_down(struct env *e)
{
	mbfs_tree_stop(e->tree);
	mbfs_export_shutdown(e->ex);
	mbfs_export_join(e->ex);
	mbfs_fs_free(e->fs);
	mbfs_tree_free(e->tree);
	mbfs_export_free(e->ex);
	mbfs_spool_free(e->sp);
	fake_fini(&e->fc);
	rm_rf(e->dir);
	free(e->dir);
}

/* parent/name → attributes (one lookup counted), status returned. */
static enum mbfs_status look(struct env *e, uint64_t parent, const char *name,
			     struct mbfs_attr *a)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	memset(a, 0, sizeof *a);
	return mbfs_fs_lookup(e->fs, parent, name, a, &err);
}

/* Everything handle f reads from offset 0, READ by READ of `step` bytes,
 * as the kernel would ask; heap, NUL-terminated, *len its length; the
 * status of the last READ in *st. */
static char *read_handle(struct env *e, struct mbfs_file *f, size_t step,
			 size_t *len, enum mbfs_status *st)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	char *out = NULL;
	size_t n = 0;
	for (;;) {
		struct mbfs_read r;
		*st = mbfs_fs_read(e->fs, f, n, step, &r, &err);
		if (*st != MBFS_OK)
			break;
		size_t got = 0;
		char *grown = realloc(out, n + step + 1);
		if (!grown)
			break;
		out = grown;
		if (r.fd >= 0) {
			ssize_t k = pread(r.fd, out + n, r.len, (off_t)r.off);
			got = k > 0 ? (size_t)k : 0;
		} else if (r.buf) {
			memcpy(out + n, r.buf, r.len);
			got = r.len;
			free(r.buf);
		}
		if (got == 0)
			break;
		n += got;
	}
	if (out)
		out[n] = '\0';
	*len = n;
	return out ? out : strdup("");
}

/* Open ino, read it whole (read_handle), release; NULL when open fails
 * (the status in *st). */
static char *read_all(struct env *e, uint64_t ino, size_t step, size_t *len,
		      enum mbfs_status *st)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	struct mbfs_file *f = NULL;
	struct mbfs_open_info oi;
	*st = mbfs_fs_open(e->fs, ino, O_RDONLY, &f, &oi, &err);
	if (*st != MBFS_OK)
		return NULL;
	if (oi.inval_attrs)
		mbfs_fs_open_done(e->fs, f);
	char *out = read_handle(e, f, step, len, st);
	mbfs_fs_release(e->fs, f);
	return out;
}

static char *xattr(struct env *e, uint64_t ino, const char *name)
{
	static char buf[4096];
	size_t len = 0;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (mbfs_fs_getxattr(e->fs, ino, name, buf, sizeof buf - 1, &len,
			     &err) != MBFS_OK)
		return NULL;
	buf[len] = '\0';
	return buf;
}

static const char BODY_A[] = "id,v\n1,aaaa\n2,aaaa\n";
static const char BODY_B[] = "id,v\n1,bbbb\n2,bbbb\n";   /* same size */

/* Listing, stat, read: the bytes the client served, once exported. */
static void test_lookup_stat_read(void)
{
	struct env e;
	env_up(&e);
	fake_set_export(&e.fc, BODY_A, strlen(BODY_A), 4, "text/csv", MBFS_OK,
			NULL);
	struct mbfs_attr coll, file, again;
	CHECK_INT(look(&e, 1, "collections", &coll), MBFS_OK);
	CHECK(S_ISDIR(coll.mode));

	/* the listing shows the card, and makes no export */
	struct mbfs_dir *d = NULL;
	struct mbfs_open_info oi;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_fs_opendir(e.fs, coll.ino, &d, &oi, &err), MBFS_OK);
	bool seen = false;
	const char *name;
	struct mbfs_attr a;
	bool dot;
	for (size_t i = 0; d && mbfs_dir_entry(e.fs, d, i, &name, &a, &dot); i++)
		if (!dot && strcmp(name, "Orders.csv") == 0)
			seen = true;
	CHECK(seen);
	if (d)
		mbfs_fs_releasedir(e.fs, d);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 0);
	/* built from one fetch of each bulk list (GET /api/collection,
	 * /api/dashboard, /api/card) */
	CHECK_INT(fake_bulk_calls(&e.fc), 1);

	/* a lookup materializes: the exact size */
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &file), MBFS_OK);
	CHECK(S_ISREG(file.mode));
	CHECK_INT(file.size, strlen(BODY_A));
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1);
	CHECK_INT(e.fc.last_id, 7);
	CHECK_STR(e.fc.last_format, "csv");
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_fs_getattr(e.fs, file.ino, NULL, &again, &err), MBFS_OK);
	CHECK_INT(again.size, strlen(BODY_A));

	/* reads of every size give the same bytes; no second export */
	size_t steps[] = {1, 3, 7, 4096};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		size_t len = 0;
		enum mbfs_status st;
		char *got = read_all(&e, file.ino, steps[i], &len, &st);
		CHECK(got != NULL);
		CHECK_INT(len, strlen(BODY_A));
		if (got)
			CHECK_STR(got, BODY_A);
		free(got);
	}
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1);
	char *rows = xattr(&e, file.ino, "user.mb.rows");
	CHECK(rows != NULL);
	if (rows)
		CHECK_STR(rows, "2");
	mbfs_fs_forget(e.fs, file.ino, 1);
	env_down(&e);
}

/* touch with the same size: a new generation with the new bytes, while a
 * handle opened before keeps reading the old ones. */
static void test_same_size_refresh_and_open_handle(void)
{
	struct env e;
	env_up(&e);
	fake_set_export(&e.fc, BODY_A, strlen(BODY_A), 0, "text/csv", MBFS_OK,
			NULL);
	struct mbfs_attr coll, file, t;
	CHECK_INT(look(&e, 1, "collections", &coll), MBFS_OK);
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &file), MBFS_OK);

	struct mbfs_err err;
	mbfs_err_clear(&err);
	struct mbfs_file *old = NULL;
	struct mbfs_open_info oi;
	CHECK_INT(mbfs_fs_open(e.fs, file.ino, O_RDONLY, &old, &oi, &err),
		  MBFS_OK);
	if (old && oi.inval_attrs)
		mbfs_fs_open_done(e.fs, old);

	fake_set_export(&e.fc, BODY_B, strlen(BODY_B), 0, "text/csv", MBFS_OK,
			NULL);
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_fs_touch(e.fs, file.ino, &t, &err), MBFS_OK);
	struct mbfs_attr now;
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &now), MBFS_OK);
	CHECK_INT(now.size, strlen(BODY_B));
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 2);
	/* the old generation is still open on file.ino: the new one is
	 * handed out under another kernel inode */
	CHECK(now.ino != file.ino);

	size_t len = 0;
	enum mbfs_status st;
	char *fresh = read_all(&e, now.ino, 5, &len, &st);
	CHECK(fresh != NULL);
	if (fresh)
		CHECK_STR(fresh, BODY_B);
	free(fresh);

	/* the old handle: the old bytes, at every offset */
	char *stale = old ? read_handle(&e, old, 6, &len, &st) : NULL;
	CHECK(stale != NULL);
	if (stale)
		CHECK_STR(stale, BODY_A);
	free(stale);
	if (old)
		mbfs_fs_release(e.fs, old);
	mbfs_fs_forget(e.fs, file.ino, 1);
	mbfs_fs_forget(e.fs, now.ino, 1);
	env_down(&e);
}

/* A failed export: stat succeeds with size 0 and the reason in
 * user.mb.error; open fails with the remembered error (error_ttl: no
 * second export). */
static void test_failed_export(void)
{
	struct env e;
	env_up(&e);
	fake_set_export(&e.fc, NULL, 0, 0, "text/plain", MBFS_ERR_IO,
			"Query failed: table ORDERS is gone");
	struct mbfs_attr coll, file;
	CHECK_INT(look(&e, 1, "collections", &coll), MBFS_OK);
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &file), MBFS_OK);
	CHECK_INT(file.size, 0);
	char *why = xattr(&e, file.ino, "user.mb.error");
	CHECK(why != NULL && strstr(why, "table ORDERS is gone") != NULL);
	size_t len = 0;
	enum mbfs_status st;
	char *got = read_all(&e, file.ino, 4096, &len, &st);
	CHECK(got == NULL);
	CHECK_INT(st, MBFS_ERR_IO);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1);
	free(got);

	/* .mbfs/stats and .mbfs/errors say so, from memory */
	struct mbfs_attr ctl, stats, errors;
	CHECK_INT(look(&e, 1, ".mbfs", &ctl), MBFS_OK);
	CHECK_INT(look(&e, ctl.ino, "stats", &stats), MBFS_OK);
	CHECK_INT(look(&e, ctl.ino, "errors", &errors), MBFS_OK);
	char *s = read_all(&e, stats.ino, 4096, &len, &st);
	CHECK(s && strstr(s, "exports_failed 1") != NULL);
	CHECK(s && strstr(s, "result_reads 0") != NULL);
	free(s);
	char *er = read_all(&e, errors.ino, 4096, &len, &st);
	CHECK(er && strstr(er, "Orders.csv") != NULL);
	free(er);
	mbfs_fs_forget(e.fs, file.ino, 1);
	env_down(&e);
}

/* Every result-file READ is counted once; a read of .mbfs/ is not. */
static void test_result_reads_counted(void)
{
	struct env e;
	env_up(&e);
	fake_set_export(&e.fc, BODY_A, strlen(BODY_A), 0, "text/csv", MBFS_OK,
			NULL);
	struct mbfs_attr coll, file, ctl, stats;
	CHECK_INT(look(&e, 1, "collections", &coll), MBFS_OK);
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &file), MBFS_OK);
	size_t len = 0;
	enum mbfs_status st;
	char *got = read_all(&e, file.ino, 4, &len, &st);   /* 5 data READs, 1 EOF */
	free(got);
	CHECK_INT(look(&e, 1, ".mbfs", &ctl), MBFS_OK);
	CHECK_INT(look(&e, ctl.ino, "stats", &stats), MBFS_OK);
	char *s = read_all(&e, stats.ino, 1 << 16, &len, &st);
	char want[64];
	snprintf(want, sizeof want, "result_reads %zu\n",
		 (strlen(BODY_A) + 3) / 4 + 1);
	CHECK(s && strstr(s, want) != NULL);
	free(s);
	mbfs_fs_forget(e.fs, file.ino, 1);
	env_down(&e);
}

/* The mount is ending: an open that needs an export is answered
 * MBFS_ERR_UNMOUNTING — ENOTCONN, never EINTR (no signal was sent) — and
 * nothing is remembered as the card's failure. */
static void test_open_while_unmounting(void)
{
	struct env e;
	env_up(&e);
	fake_set_export(&e.fc, BODY_A, strlen(BODY_A), 0, "text/csv", MBFS_OK,
			NULL);
	struct mbfs_attr coll, file;
	CHECK_INT(look(&e, 1, "collections", &coll), MBFS_OK);
	CHECK_INT(look(&e, coll.ino, "Orders.csv", &file), MBFS_OK);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1); /* its size */
	struct mbfs_attr touched;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	CHECK_INT(mbfs_fs_touch(e.fs, file.ino, &touched, &err), MBFS_OK);
	mbfs_export_shutdown(e.ex);
	size_t len = 0;
	enum mbfs_status st;
	char *got = read_all(&e, file.ino, 4096, &len, &st);
	CHECK(got == NULL);
	CHECK_INT(st, MBFS_ERR_UNMOUNTING);
	CHECK_INT(mbfs_status_errno(st), ENOTCONN);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1);
	/* not remembered as the card's failure */
	CHECK(xattr(&e, file.ino, "user.mb.error") == NULL);
	free(got);
	mbfs_fs_forget(e.fs, file.ino, 1);
	env_down(&e);
}

int main(void)
{
	test_lookup_stat_read();
	test_same_size_refresh_and_open_handle();
	test_failed_export();
	test_result_reads_counted();
	test_open_while_unmounting();
	return check_done();
}
