/*
 * test_export.c — unit tests of export.c with a fake client (src/backend/fake/fake.h):
 * validation of export bodies (valid CSV / JSON / XLSX, and every in-band
 * failure form of Metabase: error objects in place of or after the rows,
 * wrong content types, cut streams, HTML pages, broken zips, transport
 * failures), failure memory (error_ttl, invalidate), single flight, the
 * max_exports queue, result freshness and the download row cap.
 */
#include "check.h"
#include "testlib.h"
#include "export.h"
#include "fake.h"
#include "log.h"
#include "spool.h"

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- environment ------------------------------------------------------ */

struct env {
	char *dir;
	struct mbfs_spool *sp;
	struct fake_client fc;
	struct mbfs_export *ex;
};

static void env_up(struct env *e, double result_ttl, double error_ttl,
		   int max_exports, int64_t row_cap)
{
	memset(e, 0, sizeof *e);
	e->dir = make_tmpdir("export");
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (mbfs_spool_new(e->dir, "http://mb.test", 1 << 24, &e->sp, &err) !=
	    MBFS_OK) {
		fprintf(stderr, "spool: %s\n", err.msg);
		exit(2);
	}
	fake_init(&e->fc);
	struct mbfs_export_config cfg = {
		.result_ttl = result_ttl,
		.error_ttl = error_ttl,
		.max_exports = max_exports,
		.row_cap = row_cap,
	};
	if (mbfs_export_new(&e->fc.base, e->sp, &cfg, &e->ex, &err) != MBFS_OK) {
		fprintf(stderr, "export: %s\n", err.msg);
		exit(2);
	}
}

static void env_down(struct env *e)
{
	mbfs_export_free(e->ex);
	mbfs_spool_free(e->sp);
	fake_fini(&e->fc);
	rm_rf(e->dir);
	free(e->dir);
}

/* Files in the spool directory (results and temps). */
static int spool_files(struct env *e)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/spool", mbfs_spool_dir(e->sp));
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct mb_export_req req_for(int64_t id, const char *fmt)
{
	struct mb_export_req r;
	memset(&r, 0, sizeof r);
	r.kind = MB_EXPORT_CARD;
	r.id = id;
	r.format = fmt;
	return r;
}

static void key_for(char *key, size_t sz, int64_t id, const char *fmt)
{
	snprintf(key, sz, "card:%lld:%s", (long long)id, fmt);
}

static int calls(struct env *e)
{
	return fake_get_int(&e->fc, &e->fc.export_calls);
}

static long long stat_value(struct env *e, const char *name)
{
	char buf[4096];
	mbfs_export_describe_stats(e->ex, buf, sizeof buf);
	const char *p = strstr(buf, name);
	if (!p)
		return -1;
	return atoll(p + strlen(name) + 1);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- a minimal zip (one stored entry) --------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static size_t put16(unsigned char *b, size_t o, unsigned v)
{
	b[o] = (unsigned char)(v & 0xff);
	b[o + 1] = (unsigned char)((v >> 8) & 0xff);
	return o + 2;
}

static size_t put32(unsigned char *b, size_t o, uint32_t v)
{
	o = put16(b, o, v & 0xffffu);
	return put16(b, o, (v >> 16) & 0xffffu);
}

/* Build "[Content_Types].xml"-like stored zip into b; returns its length.
 * with_end=false omits the end-of-central-directory record. */
static size_t build_zip_data(unsigned char *b, bool with_end,
			     const char *comment, const char *data, size_t dl)
{
	const char *name = "xl/workbook.xml";
	size_t nl = strlen(name);
	uint32_t crc = crc32_of((const unsigned char *)data, dl);
	size_t o = 0;
	/* local file header */
	o = put32(b, o, 0x04034b50u);
	o = put16(b, o, 10);
	o = put16(b, o, 0);
	o = put16(b, o, 0); /* stored */
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put32(b, o, crc);
	o = put32(b, o, (uint32_t)dl);
	o = put32(b, o, (uint32_t)dl);
	o = put16(b, o, (unsigned)nl);
	o = put16(b, o, 0);
	memcpy(b + o, name, nl);
	o += nl;
	memcpy(b + o, data, dl);
	o += dl;
	/* central directory */
	size_t cd = o;
	o = put32(b, o, 0x02014b50u);
	o = put16(b, o, 20);
	o = put16(b, o, 10);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put32(b, o, crc);
	o = put32(b, o, (uint32_t)dl);
	o = put32(b, o, (uint32_t)dl);
	o = put16(b, o, (unsigned)nl);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put32(b, o, 0);
	o = put32(b, o, 0); /* local header offset */
	memcpy(b + o, name, nl);
	o += nl;
	size_t cd_size = o - cd;
	if (!with_end)
		return o;
	size_t cl = comment ? strlen(comment) : 0;
	o = put32(b, o, 0x06054b50u);
	o = put16(b, o, 0);
	o = put16(b, o, 0);
	o = put16(b, o, 1);
	o = put16(b, o, 1);
	o = put32(b, o, (uint32_t)cd_size);
	o = put32(b, o, (uint32_t)cd);
	o = put16(b, o, (unsigned)cl);
	if (cl) {
		memcpy(b + o, comment, cl);
		o += cl;
	}
	return o;
}

static size_t build_zip(unsigned char *b, bool with_end, const char *comment)
{
	static const char data[] =
		"<workbook><sheet name=\"Query result\"/></workbook>";
	return build_zip_data(b, with_end, comment, data, sizeof data - 1);
}

/* ---- success cases ---------------------------------------------------- */

/*
 * Export body under (id, fmt) with each of several chunk sizes; expect a
 * committed result of the body's bytes and want_rows rows.
 */
static void expect_ok(struct env *e, int64_t id, const char *fmt,
		      const char *body, size_t len, const char *ctype,
		      int64_t want_rows, int line)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
	char key[64];
	key_for(key, sizeof key, id, fmt);
	struct mb_export_req req = req_for(id, fmt);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		mbfs_export_invalidate(e->ex, key);
		fake_set_export(&e->fc, body, len, chunks[c], ctype, MBFS_OK, NULL);
		int before = calls(e);
		struct mbfs_result_info info;
		struct mbfs_err err;
		mbfs_err_clear(&err);
		int fd = -1;
		enum mbfs_status st = mbfs_export_get(e->ex, key, &req, &fd, &info,
						      &err);
		if (st != MBFS_OK || info.spool.rows != want_rows)
			fprintf(stderr,
				"  (from line %d, chunk %zu: status %s rows %lld: %s)\n",
				line, chunks[c], mbfs_status_name(st),
				(long long)info.spool.rows, err.msg);
		CHECK_INT(st, MBFS_OK);
		CHECK_INT(calls(e), before + 1);
		CHECK_STR(e->fc.last_format, fmt);
		CHECK_INT(e->fc.last_id, id);
		if (st != MBFS_OK)
			continue;
		CHECK(info.have);
		CHECK(info.fresh);
		CHECK(!info.failed);
		CHECK(!info.spool.truncated);
		CHECK_INT(info.spool.size, len);
		CHECK_INT(info.spool.rows, want_rows);
		CHECK(info.spool.gen > 0); /* unique in the cache dir, not per key */
		CHECK(fd >= 0);
		char *got = malloc(len + 1);
		ssize_t n = pread(fd, got, len + 1, 0);
		CHECK_INT(n, (ssize_t)len);
		CHECK(n == (ssize_t)len && memcmp(got, body, len) == 0);
		free(got);
		close(fd);
		mbfs_export_release(e->ex, key, info.spool.gen);
		struct mbfs_spool_info si;
		CHECK(mbfs_spool_get(e->sp, key, &si));
		CHECK_INT(si.size, len);
	}
}

static void test_valid_bodies(void)
{
	struct env e;
	env_up(&e, 60, 60, 4, 1048575);

	/* CSV with quoted fields holding commas, doubled quotes, newlines */
	const char *csv =
		"id,name,note\n"
		"1,\"Smith, John\",\"say \"\"hi\"\"\"\n"
		"2,\"multi\nline\nfield\",plain\n"
		"3,\"\",\"a,\"\"b\"\",\nc\"\n"
		"4,x,\"{\"\"error\"\":\"\"not really\"\"}\"\n";
	expect_ok(&e, 1, "csv", csv, strlen(csv), "text/csv", 4, __LINE__);
	/* the same without the final newline */
	expect_ok(&e, 2, "csv", csv, strlen(csv) - 1,
		  "text/csv; charset=utf-8", 4, __LINE__);
	/* header only: 0 rows, with and without newline */
	expect_ok(&e, 3, "csv", "id,name\n", 8, "text/csv", 0, __LINE__);
	expect_ok(&e, 4, "csv", "id,name", 7, "text/csv", 0, __LINE__);
	/* CRLF line ends and a UTF-8 BOM */
	const char *crlf = "\xef\xbb\xbfid,name\r\n1,a\r\n2,b\r\n";
	expect_ok(&e, 5, "csv", crlf, strlen(crlf), "text/csv", 2, __LINE__);
	/* a content type Metabase never sends for CSV is tolerated when the
	 * bytes are CSV (old servers: application/octet-stream) */
	expect_ok(&e, 6, "csv", "a\n1\n", 4, "application/octet-stream", 1,
		  __LINE__);

	/* JSON arrays: rows = top-level objects, brackets in strings ignored */
	const char *json =
		"[{\"id\":1,\"name\":\"a]}[{\",\"tags\":[{\"x\":1},{\"y\":2}]},\n"
		" {\"id\":2,\"name\":\"quote \\\" and \\\\\",\"nested\":{\"a\":{\"b\":[]}}},\n"
		" {\"id\":3,\"name\":null}]\n";
	expect_ok(&e, 7, "json", json, strlen(json),
		  "application/json;charset=utf-8", 3, __LINE__);
	expect_ok(&e, 8, "json", "[]", 2, "application/json", 0, __LINE__);
	expect_ok(&e, 9, "json", "  [ ]  \n", 8, "application/json", 0, __LINE__);

	/* XLSX: a stored zip with an end record (and one with a comment) */
	unsigned char zip[1024];
	size_t zl = build_zip(zip, true, NULL);
	const char *xct =
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	expect_ok(&e, 10, "xlsx", (const char *)zip, zl, xct, -1, __LINE__);
	zl = build_zip(zip, true, "made by a test");
	expect_ok(&e, 11, "xlsx", (const char *)zip, zl, xct, -1, __LINE__);

	env_down(&e);
}

/* Bodies larger than any internal window: a 200 KB XLSX, a ~1 MB CSV
 * (valid, then with an error appended), a large JSON array. */
static void test_large_bodies(void)
{
	struct env e;
	env_up(&e, 60, 60, 4, 1048575);
	struct mbfs_result_info info;
	struct mbfs_err err;

	size_t dl = 200000;
	char *data = malloc(dl);
	for (size_t i = 0; i < dl; i++)
		data[i] = (char)('a' + i % 26);
	unsigned char *zip = malloc(dl + 512);
	size_t zl = build_zip_data(zip, true, NULL, data, dl);
	struct mb_export_req rx = req_for(1, "xlsx");
	fake_set_export(&e.fc, (const char *)zip, zl, 4096,
			"application/octet-stream", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:1:xlsx", &rx, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.size, zl);
	zl = build_zip_data(zip, false, NULL, data, dl);
	struct mb_export_req rx2 = req_for(2, "xlsx");
	fake_set_export(&e.fc, (const char *)zip, zl, 4096,
			"application/octet-stream", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:2:xlsx", &rx2, NULL, &info, &err),
		  MBFS_ERR_EXPORT);
	free(zip);
	free(data);

	enum { ROWS = 30000 };
	size_t cap = (size_t)ROWS * 48 + 256, o = 0;
	char *csv = malloc(cap);
	o += (size_t)snprintf(csv + o, cap - o, "id,name,note\n");
	for (int i = 1; i <= ROWS; i++)
		o += (size_t)snprintf(csv + o, cap - o,
				      i % 3 ? "%d,row %d,plain\n"
					    : "%d,\"row, %d\",\"two\nlines\"\n",
				      i, i);
	struct mb_export_req rc = req_for(3, "csv");
	fake_set_export(&e.fc, csv, o, 1000, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:3:csv", &rc, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, ROWS);
	CHECK_INT(info.spool.size, o);
	o += (size_t)snprintf(csv + o, cap - o,
			      "{\"status\":\"failed\",\"error\":\"late failure\"}");
	struct mb_export_req rc2 = req_for(4, "csv");
	fake_set_export(&e.fc, csv, o, 1000, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:4:csv", &rc2, NULL, &info, &err),
		  MBFS_ERR_EXPORT);
	CHECK(strstr(err.msg, "late failure") != NULL);
	CHECK(!mbfs_spool_get(e.sp, "card:4:csv", NULL));
	free(csv);

	cap = (size_t)ROWS * 32 + 64;
	char *json = malloc(cap);
	o = 0;
	json[o++] = '[';
	for (int i = 1; i <= ROWS; i++)
		o += (size_t)snprintf(json + o, cap - o, "%s{\"id\":%d,\"s\":\"}{\"}",
				      i > 1 ? "," : "", i);
	json[o++] = ']';
	struct mb_export_req rj = req_for(5, "json");
	fake_set_export(&e.fc, json, o, 777, "application/json", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:5:json", &rj, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, ROWS);
	struct mb_export_req rj2 = req_for(6, "json");
	fake_set_export(&e.fc, json, o - 1, 777, "application/json", MBFS_OK,
			NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:6:json", &rj2, NULL, &info, &err),
		  MBFS_ERR_EXPORT);
	free(json);
	env_down(&e);
}

/* ---- failure forms ---------------------------------------------------- */

struct fail_case {
	const char *what;
	const char *fmt;
	const char *body;
	size_t len;                /* 0: strlen(body) */
	const char *ctype;
	enum mbfs_status client_status;
	enum mbfs_status want;
	const char *msg_has;       /* substring of the error message, or NULL */
};

static void expect_fail(const struct fail_case *fc, size_t chunk)
{
	struct env e;
	env_up(&e, 60, 60, 4, 1048575);
	const int64_t id = 42;
	char key[64];
	key_for(key, sizeof key, id, fc->fmt);
	struct mb_export_req req = req_for(id, fc->fmt);
	size_t len = fc->len ? fc->len : (fc->body ? strlen(fc->body) : 0);
	fake_set_export(&e.fc, fc->body, len, chunk, fc->ctype,
			fc->client_status, "the connection was cut");

	struct mbfs_result_info info;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	int fd = -1;
	enum mbfs_status st = mbfs_export_get(e.ex, key, &req, &fd, &info, &err);
	if (st != fc->want)
		fprintf(stderr, "  case '%s' (chunk %zu): got %s: %s\n", fc->what,
			chunk, mbfs_status_name(st), err.msg);
	CHECK_INT(st, fc->want);
	CHECK_INT(err.status, fc->want);
	CHECK(err.msg[0] != '\0');
	if (fc->msg_has && !strstr(err.msg, fc->msg_has)) {
		fprintf(stderr, "  case '%s': message '%s' lacks '%s'\n",
			fc->what, err.msg, fc->msg_has);
		CHECK(false);
	}
	CHECK_INT(fd, -1);
	CHECK(info.failed);
	CHECK(!info.have);
	CHECK_INT(info.error.status, fc->want);
	CHECK_INT(calls(&e), 1);
	/* nothing committed, no temp left behind */
	CHECK(!mbfs_spool_get(e.sp, key, NULL));
	CHECK_INT(spool_files(&e), 0);
	char d[256];
	mbfs_spool_describe(e.sp, d, sizeof d);
	CHECK(strncmp(d, "spool_results 0\n", 16) == 0);

	/* remembered: within error_ttl, no new call */
	mbfs_err_clear(&err);
	st = mbfs_export_get(e.ex, key, &req, NULL, &info, &err);
	CHECK_INT(st, fc->want);
	CHECK_INT(err.status, fc->want);
	CHECK_INT(calls(&e), 1);
	mbfs_export_peek(e.ex, key, &info);
	CHECK(info.failed);
	CHECK(info.retry_blocked);
	CHECK(!info.have);
	CHECK_INT(info.error.status, fc->want);
	CHECK_INT(stat_value(&e, "exports_failed"), 1);
	char errs[8192];
	mbfs_export_describe_errors(e.ex, errs, sizeof errs);
	CHECK(strstr(errs, key) != NULL);
	CHECK(strchr(errs, '\n') == strrchr(errs, '\n')); /* one line */

	/* invalidate: the client is asked again */
	mbfs_export_invalidate(e.ex, key);
	mbfs_export_peek(e.ex, key, &info);
	CHECK(!info.failed);
	st = mbfs_export_get(e.ex, key, &req, NULL, &info, &err);
	CHECK_INT(st, fc->want);
	CHECK_INT(calls(&e), 2);
	CHECK_INT(spool_files(&e), 0);

	/* ... and a good answer then replaces the failure */
	mbfs_export_invalidate(e.ex, key);
	const char *good = strcmp(fc->fmt, "json") == 0 ? "[{\"a\":1}]" : "a\n1\n";
	unsigned char zip[1024];
	size_t gl = strlen(good);
	if (strcmp(fc->fmt, "xlsx") == 0) {
		gl = build_zip(zip, true, NULL);
		good = (const char *)zip;
	}
	fake_set_export(&e.fc, good, gl, 0,
			strcmp(fc->fmt, "json") == 0 ? "application/json"
			: strcmp(fc->fmt, "xlsx") == 0 ? "application/octet-stream"
						       : "text/csv",
			MBFS_OK, NULL);
	st = mbfs_export_get(e.ex, key, &req, NULL, &info, &err);
	CHECK_INT(st, MBFS_OK);
	CHECK_INT(calls(&e), 3);
	CHECK(info.have && !info.failed);
	env_down(&e);
}

static void test_failure_forms(void)
{
	static const char mb_error[] =
		"{\"status\":\"failed\",\"class\":\"class org.h2.jdbc.JdbcSQLSyntaxErrorException\","
		"\"error\":\"Table \\\"ORDERZ\\\" not found; SQL statement: SELECT 1\","
		"\"stacktrace\":[],\"json_query\":{\"database\":1},\"row_count\":0,"
		"\"via\":[{\"status\":\"failed\",\"error\":\"x\"}],\"data\":{\"rows\":[],\"cols\":[]}}";
	static const char csv_then_error[] =
		"id,name\n1,a\n2,\"b, c\"\n"
		"{\"status\":\"failed\",\"error\":\"Query cancelled, timeout\"}";
	static const char csv_then_error_nl[] =
		"id,name\n1,a\n2,b\n"
		"{\"error\":\"Query cancelled\",\"via\":[]}\n";
	static const char json_then_error[] =
		"[{\"id\":1},{\"id\":2}]{\"status\":\"failed\",\"error\":\"Out of memory\"}";
	static const char json_then_error_nl[] =
		"[{\"id\":1}]\n{\"error\":\"Out of memory\"}\n";
	static const char html[] =
		"<!DOCTYPE html><html><head><title>Metabase</title></head>"
		"<body>Sign in</body></html>";
	static const char malli[] =
		"{\"errors\":{\"format_rows\":\"nullable boolean\"},"
		"\"specific-errors\":{}}";
	unsigned char zip_noend[1024];
	size_t zne = build_zip(zip_noend, false, NULL);
	unsigned char zip_cut[1024];
	size_t zc = build_zip(zip_cut, true, NULL) - 5;

	const struct fail_case cases[] = {
		{"(a) error object as the whole CSV body", "csv", mb_error, 0,
		 "text/csv", MBFS_OK, MBFS_ERR_EXPORT, "ORDERZ"},
		{"(a') error object, JSON type, CSV asked", "csv", mb_error, 0,
		 "application/json", MBFS_OK, MBFS_ERR_EXPORT, "ORDERZ"},
		{"(a'') error object as the whole XLSX body", "xlsx", mb_error, 0,
		 "application/octet-stream", MBFS_OK, MBFS_ERR_EXPORT, "ORDERZ"},
		{"(a''') error object as a JSON export", "json", mb_error, 0,
		 "application/json", MBFS_OK, MBFS_ERR_EXPORT, "ORDERZ"},
		{"(a'''') validation errors object", "csv", malli, 0,
		 "text/csv", MBFS_OK, MBFS_ERR_EXPORT, NULL},
		{"(b) CSV rows + appended error", "csv", csv_then_error, 0,
		 "text/csv", MBFS_OK, MBFS_ERR_EXPORT, "Query cancelled"},
		{"(b') CSV rows + appended error + newline", "csv",
		 csv_then_error_nl, 0, "text/csv", MBFS_OK, MBFS_ERR_EXPORT,
		 "Query cancelled"},
		{"(c) JSON content type on a CSV request", "csv",
		 "[{\"id\":1}]", 0, "application/json", MBFS_OK,
		 MBFS_ERR_PROTOCOL, NULL},
		{"(d) CSV cut inside a quoted field", "csv",
		 "id,note\n1,\"complete\"\n2,\"cut in the mid, dle", 0,
		 "text/csv", MBFS_OK, MBFS_ERR_EXPORT, NULL},
		{"(d') CSV cut inside a quoted multi-line field", "csv",
		 "id,note\n1,\"line one\nline two", 0, "text/csv", MBFS_OK,
		 MBFS_ERR_EXPORT, NULL},
		{"(e) JSON array truncated", "json",
		 "[{\"id\":1},{\"id\":2,\"name\":\"x", 0, "application/json",
		 MBFS_OK, MBFS_ERR_EXPORT, NULL},
		{"(e') JSON array truncated between rows", "json",
		 "[{\"id\":1},", 0, "application/json", MBFS_OK,
		 MBFS_ERR_EXPORT, NULL},
		{"(e'') JSON export empty", "json", "", 0, "application/json",
		 MBFS_OK, MBFS_ERR_EXPORT, NULL},
		{"(f) JSON array + appended error", "json", json_then_error, 0,
		 "application/json", MBFS_OK, MBFS_ERR_EXPORT, "Out of memory"},
		{"(f') JSON array + newline + appended error", "json",
		 json_then_error_nl, 0, "application/json", MBFS_OK,
		 MBFS_ERR_EXPORT, "Out of memory"},
		{"(f'') JSON array + trailing garbage", "json", "[{\"a\":1}] xyz",
		 0, "application/json", MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(f''') JSON object that is not an error", "json",
		 "{\"data\":{\"rows\":[]}}", 0, "application/json", MBFS_OK,
		 MBFS_ERR_PROTOCOL, NULL},
		{"(g) HTML page", "csv", html, 0, "text/html; charset=utf-8",
		 MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(g') HTML page sent as CSV", "csv", html, 0, "text/csv",
		 MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(g'') HTML page for JSON", "json", html, 0, "text/html",
		 MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(g''') HTML page for XLSX", "xlsx", html, 0, "text/html",
		 MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(h) XLSX without end record", "xlsx", (const char *)zip_noend,
		 zne, "application/octet-stream", MBFS_OK, MBFS_ERR_EXPORT, NULL},
		{"(h') XLSX cut inside the end record", "xlsx",
		 (const char *)zip_cut, zc, "application/octet-stream", MBFS_OK,
		 MBFS_ERR_EXPORT, NULL},
		{"(h'') XLSX that is not a zip", "xlsx", "id,name\n1,a\n", 0,
		 "application/octet-stream", MBFS_OK, MBFS_ERR_PROTOCOL, NULL},
		{"(i) connection cut (client EXPORT)", "csv", "id,name\n1,a\n2,",
		 0, "text/csv", MBFS_ERR_EXPORT, MBFS_ERR_EXPORT, "cut"},
		{"(i') connection cut on JSON", "json", "[{\"a\":1}", 0,
		 "application/json", MBFS_ERR_EXPORT, MBFS_ERR_EXPORT, "cut"},
		{"(j) HTTP failure", "csv", NULL, 0, "text/plain", MBFS_ERR_HTTP,
		 MBFS_ERR_HTTP, NULL},
		{"(j') HTTP failure for XLSX", "xlsx", NULL, 0, "text/plain",
		 MBFS_ERR_HTTP, MBFS_ERR_HTTP, NULL},
		{"empty CSV", "csv", "", 0, "text/csv", MBFS_OK, MBFS_ERR_EXPORT,
		 NULL},
	};
	static const size_t chunks[] = {0, 1, 5};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
			expect_fail(&cases[i], chunks[c]);
}

/* A failing re-export keeps the previous good result in the spool. */
static void test_failure_keeps_old_result(void)
{
	struct env e;
	env_up(&e, 0, 60, 4, 1048575);
	struct mb_export_req req = req_for(5, "csv");
	struct mbfs_result_info info;
	struct mbfs_err err;
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:5:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.gen, 1);
	fake_set_export(&e.fc, "{\"error\":\"boom\"}", 16, 0, "text/csv",
			MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:5:csv", &req, NULL, &info, &err),
		  MBFS_ERR_EXPORT);
	CHECK(info.failed);
	CHECK(info.have); /* the old result is still there */
	struct mbfs_spool_info si;
	CHECK(mbfs_spool_get(e.sp, "card:5:csv", &si));
	CHECK_INT(si.gen, 1);
	CHECK_INT(si.size, 4);
	CHECK_INT(spool_files(&e), 1);
	CHECK_INT(calls(&e), 2);
	env_down(&e);
}

/* error_ttl elapses: the next get asks the server again by itself. */
static void test_error_ttl_expiry(void)
{
	struct env e;
	env_up(&e, 60, 0.3, 4, 1048575);
	struct mb_export_req req = req_for(6, "csv");
	struct mbfs_result_info info;
	struct mbfs_err err;
	fake_set_export(&e.fc, NULL, 0, 0, "text/plain", MBFS_ERR_HTTP, "boom");
	CHECK_INT(mbfs_export_get(e.ex, "card:6:csv", &req, NULL, &info, &err),
		  MBFS_ERR_HTTP);
	CHECK_INT(mbfs_export_get(e.ex, "card:6:csv", &req, NULL, &info, &err),
		  MBFS_ERR_HTTP);
	CHECK_INT(calls(&e), 1);
	sleep_ms(400);
	mbfs_export_peek(e.ex, "card:6:csv", &info);
	CHECK(info.failed);
	CHECK(!info.retry_blocked);
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:6:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 2);
	CHECK(!info.failed);
	env_down(&e);
}

/* ---- concurrency ------------------------------------------------------ */

struct getter {
	struct env *e;
	char key[64];
	struct mb_export_req req;
	enum mbfs_status st;
	struct mbfs_result_info info;
	struct mbfs_err err;
	char content[256];
	pthread_t th;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	int fd = -1;
	mbfs_err_clear(&g->err);
	g->st = mbfs_export_get(g->e->ex, g->key, &g->req, &fd, &g->info, &g->err);
	if (g->st == MBFS_OK) {
		ssize_t n = pread(fd, g->content, sizeof g->content - 1, 0);
		g->content[n > 0 ? n : 0] = '\0';
		close(fd);
		mbfs_export_release(g->e->ex, g->key, g->info.spool.gen);
	}
	return NULL;
}

/* Poll until the stat reaches want (at most 5 s). */
static bool wait_stat(struct env *e, const char *name, long long want)
{
	for (int i = 0; i < 5000; i++) {
		if (stat_value(e, name) >= want)
			return true;
		sleep_ms(1);
	}
	return false;
}

static void single_flight(bool fail)
{
	enum { N = 8 };
	struct env e;
	env_up(&e, 60, 60, 4, 1048575);
	static const char body[] = "id,v\n1,a\n2,b\n3,c\n";
	if (fail)
		fake_set_export(&e.fc, "{\"error\":\"shared failure\"}", 26, 0,
				"text/csv", MBFS_OK, NULL);
	else
		fake_set_export(&e.fc, body, strlen(body), 4, "text/csv",
				MBFS_OK, NULL);
	e.fc.gated = true;
	struct getter *g = calloc(N, sizeof *g);
	for (int i = 0; i < N; i++) {
		g[i].e = &e;
		snprintf(g[i].key, sizeof g[i].key, "card:77:csv");
		g[i].req = req_for(77, "csv");
		pthread_create(&g[i].th, NULL, getter_main, &g[i]);
	}
	/* the leader is in export_run, every other caller has joined it */
	CHECK(fake_wait_for(&e.fc, &e.fc.waiting, 1, 5000));
	CHECK(wait_stat(&e, "exports_joined", N - 1));
	CHECK_INT(stat_value(&e, "exports_running"), 1);
	CHECK_INT(stat_value(&e, "exports_started"), 1);
	char buf[4096];
	mbfs_export_describe_stats(e.ex, buf, sizeof buf);
	CHECK(strstr(buf, "running card:77:csv") != NULL);
	fake_release(&e.fc, 1000);
	for (int i = 0; i < N; i++)
		pthread_join(g[i].th, NULL);
	CHECK_INT(calls(&e), 1);
	for (int i = 0; i < N; i++) {
		if (fail) {
			CHECK_INT(g[i].st, MBFS_ERR_EXPORT);
			CHECK_INT(g[i].err.status, MBFS_ERR_EXPORT);
			CHECK(strstr(g[i].err.msg, "shared failure") != NULL);
			CHECK(g[i].info.failed);
		} else {
			CHECK_INT(g[i].st, MBFS_OK);
			CHECK_INT(g[i].info.spool.size, strlen(body));
			CHECK_INT(g[i].info.spool.rows, 3);
			CHECK_INT(g[i].info.spool.gen, 1);
			CHECK_STR(g[i].content, body);
		}
	}
	CHECK_INT(stat_value(&e, "exports_running"), 0);
	CHECK_INT(stat_value(&e, "exports_started"), 1);
	free(g);
	env_down(&e);
}

static void test_max_exports(void)
{
	enum { N = 4 };
	struct env e;
	env_up(&e, 60, 60, 2, 1048575);
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	e.fc.gated = true;
	struct getter g[N];
	memset(g, 0, sizeof g);
	for (int i = 0; i < N; i++) {
		g[i].e = &e;
		key_for(g[i].key, sizeof g[i].key, 100 + i, "csv");
		g[i].req = req_for(100 + i, "csv");
		pthread_create(&g[i].th, NULL, getter_main, &g[i]);
	}
	CHECK(fake_wait_for(&e.fc, &e.fc.waiting, 2, 5000));
	sleep_ms(50); /* give a wrongly admitted third export time to show */
	CHECK_INT(calls(&e), 2);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.running), 2);
	CHECK_INT(stat_value(&e, "exports_running"), 2);
	/* one finishes: exactly one more starts */
	fake_release(&e.fc, 1);
	CHECK(fake_wait_for(&e.fc, &e.fc.export_calls, 3, 5000));
	CHECK(fake_wait_for(&e.fc, &e.fc.waiting, 2, 5000));
	sleep_ms(50);
	CHECK_INT(calls(&e), 3);
	CHECK(fake_get_int(&e.fc, &e.fc.running) <= 2);
	fake_release(&e.fc, 1000);
	for (int i = 0; i < N; i++)
		pthread_join(g[i].th, NULL);
	CHECK_INT(calls(&e), N);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.max_running), 2);
	for (int i = 0; i < N; i++) {
		CHECK_INT(g[i].st, MBFS_OK);
		CHECK_STR(g[i].content, "a\n1\n");
	}

	/* max_exports 0 is treated as 1 */
	env_down(&e);
	env_up(&e, 60, 60, 0, 1048575);
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	e.fc.gated = true;
	memset(g, 0, sizeof g);
	for (int i = 0; i < 3; i++) {
		g[i].e = &e;
		key_for(g[i].key, sizeof g[i].key, 200 + i, "csv");
		g[i].req = req_for(200 + i, "csv");
		pthread_create(&g[i].th, NULL, getter_main, &g[i]);
	}
	CHECK(fake_wait_for(&e.fc, &e.fc.waiting, 1, 5000));
	sleep_ms(30);
	CHECK_INT(calls(&e), 1);
	fake_release(&e.fc, 1000);
	for (int i = 0; i < 3; i++)
		pthread_join(g[i].th, NULL);
	CHECK_INT(fake_get_int(&e.fc, &e.fc.max_running), 1);
	CHECK_INT(calls(&e), 3);
	env_down(&e);
}

/* ---- freshness and row cap -------------------------------------------- */

static void test_freshness(void)
{
	struct env e;
	struct mbfs_result_info info;
	struct mbfs_err err;
	struct mb_export_req req = req_for(9, "csv");

	/* result_ttl = 0: every get re-exports */
	env_up(&e, 0, 60, 4, 1048575);
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	fake_set_export(&e.fc, "a\n1\n2\n", 6, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 2);
	CHECK_INT(info.spool.gen, 2);
	CHECK_INT(info.spool.size, 6);
	CHECK_INT(info.spool.rows, 2);
	CHECK_INT(spool_files(&e), 1);
	mbfs_export_peek(e.ex, "card:9:csv", &info);
	CHECK(info.have);
	CHECK(!info.fresh);
	env_down(&e);

	/* result_ttl = 60: the second get is a cache hit */
	env_up(&e, 60, 60, 4, 1048575);
	fake_set_export(&e.fc, "a\n1\n", 4, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	int fd = -1;
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, &fd, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 1);
	CHECK(info.fresh);
	CHECK_INT(info.spool.gen, 1);
	CHECK(fd >= 0);
	char b[16] = "";
	CHECK_INT(pread(fd, b, sizeof b - 1, 0), 4);
	CHECK_STR(b, "a\n1\n");
	close(fd);
	mbfs_export_release(e.ex, "card:9:csv", info.spool.gen);
	CHECK_INT(stat_value(&e, "cache_hits"), 1);
	mbfs_export_peek(e.ex, "card:9:csv", &info);
	CHECK(info.have && info.fresh && !info.failed);
	/* peek of an unknown key */
	mbfs_export_peek(e.ex, "card:12345:csv", &info);
	CHECK(!info.have && !info.fresh && !info.failed);
	/* invalidate forces a new export */
	mbfs_export_invalidate(e.ex, "card:9:csv");
	CHECK(!mbfs_spool_get(e.sp, "card:9:csv", NULL));
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 2);
	/* invalidate_all too */
	struct mb_export_req req2 = req_for(10, "csv");
	CHECK_INT(mbfs_export_get(e.ex, "card:10:csv", &req2, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 3);
	mbfs_export_invalidate_all(e.ex, "");
	CHECK(!mbfs_spool_get(e.sp, "card:9:csv", NULL));
	CHECK(!mbfs_spool_get(e.sp, "card:10:csv", NULL));
	CHECK_INT(mbfs_export_get(e.ex, "card:9:csv", &req, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(mbfs_export_get(e.ex, "card:10:csv", &req2, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(calls(&e), 5);
	env_down(&e);
}

static void test_row_cap(void)
{
	struct env e;
	struct mbfs_result_info info;
	struct mbfs_err err;
	env_up(&e, 60, 60, 4, 3);
	struct mb_export_req r1 = req_for(1, "csv");
	fake_set_export(&e.fc, "h\n1\n2\n3\n", 8, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:1:csv", &r1, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, 3);
	CHECK(info.spool.truncated);
	struct mb_export_req r2 = req_for(2, "csv");
	fake_set_export(&e.fc, "h\n1\n2\n", 6, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:2:csv", &r2, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, 2);
	CHECK(!info.spool.truncated);
	struct mb_export_req r3 = req_for(3, "json");
	fake_set_export(&e.fc, "[{},{},{}]", 10, 0, "application/json", MBFS_OK,
			NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:3:json", &r3, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, 3);
	CHECK(info.spool.truncated);
	/* the flag is persisted with the result */
	struct mbfs_spool_info si;
	CHECK(mbfs_spool_get(e.sp, "card:1:csv", &si));
	CHECK(si.truncated);
	env_down(&e);

	/* row_cap 0: no cap */
	env_up(&e, 60, 60, 4, 0);
	fake_set_export(&e.fc, "h\n", 2, 0, "text/csv", MBFS_OK, NULL);
	CHECK_INT(mbfs_export_get(e.ex, "card:1:csv", &r1, NULL, &info, &err),
		  MBFS_OK);
	CHECK_INT(info.spool.rows, 0);
	CHECK(!info.spool.truncated);
	env_down(&e);
}

/* ---- stream readers ---------------------------------------------------- */

struct sreader {
	struct env *e;
	const char *want;
	size_t want_len;
	size_t step;
	size_t got;
	bool same;
	enum mbfs_status st;
};

static void *sreader_main(void *arg)
{
	struct sreader *sr = arg;
	struct mb_export_req rq = req_for(9, "csv");
	struct mbfs_stream *s = NULL;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	sr->same = true;
	sr->st = mbfs_export_stream_open(sr->e->ex, "card:9:csv", &rq, &s, &err);
	if (sr->st != MBFS_OK)
		return NULL;
	char *buf = malloc(sr->step);
	for (;;) {
		size_t avail = 0;
		sr->st = mbfs_export_stream_wait(sr->e->ex, s, sr->got, sr->step,
						 &avail, &err);
		if (sr->st != MBFS_OK || avail == 0)
			break;
		sr->st = mbfs_export_stream_read(s, sr->got, buf, avail, &err);
		if (sr->st != MBFS_OK)
			break;
		if (sr->got + avail > sr->want_len ||
		    memcmp(buf, sr->want + sr->got, avail) != 0)
			sr->same = false;
		sr->got += avail;
	}
	free(buf);
	mbfs_export_stream_close(sr->e->ex, s);
	return NULL;
}

/* Three stream readers of one running export, reading 4 KiB, 100,003 and
 * 128 KiB at a time while the body arrives in 16 KiB pieces: bytes come
 * from the spool file and from the sink's hold buffer (held until 512
 * KiB), and each reader gets exactly the body, from one export. */
static void test_stream_readers(void)
{
	struct env e;
	env_up(&e, 60, 60, 2, 1048575);
	size_t cap = (size_t)3 << 20, o = 0;
	char *csv = malloc(cap);
	o += (size_t)snprintf(csv + o, cap - o, "id,name\n");
	for (int i = 1; o + 64 < cap; i++)
		o += (size_t)snprintf(csv + o, cap - o, "%d,row %d\n", i, i);
	fake_set_export(&e.fc, csv, o, 16384, "text/csv", MBFS_OK, NULL);
	fake_lock(&e.fc);
	e.fc.gated = true;
	fake_unlock(&e.fc);
	const size_t steps[] = {4096, 100003, 131072};
	struct sreader sr[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		sr[i] = (struct sreader){.e = &e, .want = csv, .want_len = o,
					 .step = steps[i]};
		pthread_create(&t[i], NULL, sreader_main, &sr[i]);
	}
	CHECK(fake_wait_for(&e.fc, &e.fc.waiting, 1, 5000));
	usleep(50 * 1000); /* the readers join the run and wait for bytes */
	fake_release(&e.fc, 1);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(sr[i].st, MBFS_OK);
		CHECK_INT(sr[i].got, o);
		CHECK(sr[i].same);
	}
	CHECK_INT(fake_get_int(&e.fc, &e.fc.export_calls), 1);
	free(csv);
	env_down(&e);
}

int main(void)
{
	mbfs_log_set_level(MBFS_LOG_ERROR); /* failures are expected here */
	test_valid_bodies();
	test_large_bodies();
	test_failure_forms();
	test_failure_keeps_old_result();
	test_error_ttl_expiry();
	single_flight(false);
	single_flight(true);
	test_max_exports();
	test_freshness();
	test_row_cap();
	test_stream_readers();
	return check_done();
}
