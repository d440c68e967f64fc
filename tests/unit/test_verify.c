/*
 * test_verify.c — unit tests of verify.c: complete bodies of each format
 * pass with their row counts; every in-band failure form of
 * metabase-api.md §6.3 is caught (an HTML page, a JSON error instead of
 * rows, a JSON error appended after the rows whatever whitespace follows,
 * a cut quoted field, an unclosed JSON array, trailing garbage, a zip
 * without its end record); a body ended only by the connection's close is
 * complete only when its format proves its end. Each body is also fed in
 * every split into two pieces, so the scanner's state crosses buffers.
 */
#include "check.h"
#include "mb_json.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Verdict on body (fed in two pieces split at `cut`). */
static enum mbfs_status judge_split(enum mbfs_fmt fmt, const char *ctype,
				    bool end_proven, const char *body, size_t len,
				    size_t cut, int64_t *rows, struct mbfs_err *err)
{
	struct mbfs_verify v;
	mbfs_verify_init(&v, fmt, mb_json_inband_error);
	mbfs_verify_feed(&v, body, cut);
	mbfs_verify_feed(&v, body + cut, len - cut);
	struct mbfs_verify_mem m = {body, len};
	mbfs_err_clear(err);
	return mbfs_verify_finish(&v, ctype, end_proven, mbfs_verify_read_mem,
				  &m, rows, err);
}

/* The verdict must not depend on how the body was split. */
static enum mbfs_status judge(enum mbfs_fmt fmt, const char *ctype,
			      bool end_proven, const char *body, size_t len,
			      int64_t *rows, struct mbfs_err *err)
{
	int64_t r0 = 0;
	enum mbfs_status st0 = judge_split(fmt, ctype, end_proven, body, len, 0,
					   &r0, err);
	for (size_t cut = 1; cut <= len; cut++) {
		int64_t r;
		struct mbfs_err e;
		enum mbfs_status st = judge_split(fmt, ctype, end_proven, body,
						  len, cut, &r, &e);
		if (st != st0 || (st == MBFS_OK && r != r0)) {
			fprintf(stderr, "  split at %zu changes the verdict\n", cut);
			CHECK(false);
			break;
		}
	}
	*rows = r0;
	return st0;
}

#define CSV "text/csv"
#define JSONCT "application/json"

static enum mbfs_status csv(bool proven, const char *body, int64_t *rows,
			    struct mbfs_err *err)
{
	return judge(MBFS_FMT_CSV, CSV, proven, body, strlen(body), rows, err);
}

static void test_csv(void)
{
	int64_t rows;
	struct mbfs_err err;
	CHECK_INT(csv(true, "a,b\n1,2\n3,4\n", &rows, &err), MBFS_OK);
	CHECK_INT(rows, 2);
	/* no final newline: fine when the transport proved the end */
	CHECK_INT(csv(true, "a,b\n1,2\n3,4", &rows, &err), MBFS_OK);
	CHECK_INT(rows, 2);
	/* ... but not when only the connection's close ended it */
	CHECK_INT(csv(false, "a,b\n1,2\n3,4", &rows, &err), MBFS_ERR_EXPORT);
	CHECK(strstr(err.msg, "middle of a row") != NULL);
	CHECK_INT(csv(false, "a,b\n1,2\n3,4\n", &rows, &err), MBFS_OK);
	CHECK_INT(rows, 2);
	CHECK_INT(csv(false, "a,b\r\n1,2\r\n", &rows, &err), MBFS_OK);
	/* a quoted newline is not a record end */
	CHECK_INT(csv(true, "a,b\n\"x\ny\",2\n", &rows, &err), MBFS_OK);
	CHECK_INT(rows, 1);
	CHECK_INT(csv(false, "a,b\n\"x\n", &rows, &err), MBFS_ERR_EXPORT);
	CHECK_INT(csv(true, "a,b\n\"x\n", &rows, &err), MBFS_ERR_EXPORT);
	CHECK(strstr(err.msg, "quoted field") != NULL);
	/* empty */
	CHECK_INT(csv(true, "", &rows, &err), MBFS_ERR_EXPORT);
	/* era A: the whole body is an error object */
	CHECK_INT(csv(true, "{\"status\":\"failed\",\"error\":\"boom\"}", &rows, &err),
		  MBFS_ERR_EXPORT);
	CHECK(strstr(err.msg, "boom") != NULL);
	/* era A mid-stream: the error appended after the rows, followed by
	 * nothing, one newline, two newlines, CRLFs and spaces */
	const char *tails[] = {"", "\n", "\n\n", "\r\n\r\n", "  \n \n"};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "a,b\n1,2\n{\"status\":\"failed\",\"error\":\"cut %zu\"}%s",
			 i, tails[i]);
		CHECK_INT(csv(true, body, &rows, &err), MBFS_ERR_EXPORT);
		char want[16];
		snprintf(want, sizeof want, "cut %zu", i);
		CHECK(strstr(err.msg, want) != NULL);
		CHECK_INT(csv(false, body, &rows, &err), MBFS_ERR_EXPORT);
	}
	/* the appended error right after a row without its newline */
	CHECK_INT(csv(true, "a,b\n1,2{\"status\":\"failed\",\"error\":\"x\"}\n",
		      &rows, &err),
		  MBFS_OK); /* not on a line of its own: a (strange) field */
	/* a last row that merely looks like JSON but is no error */
	CHECK_INT(csv(true, "a\n{\"k\":1}\n", &rows, &err), MBFS_OK);
	CHECK_INT(rows, 1);
	/* an HTML page */
	CHECK_INT(csv(true, "<!DOCTYPE html><html></html>", &rows, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK_INT(judge(MBFS_FMT_CSV, "text/html; charset=utf-8", true, "a\n1\n", 4,
			&rows, &err),
		  MBFS_ERR_PROTOCOL);
	/* JSON content type on a CSV request (era B/C) */
	const char *e = "{\"via\":[],\"_status\":500,\"message\":\"server side\"}";
	CHECK_INT(judge(MBFS_FMT_CSV, JSONCT, true, e, strlen(e), &rows, &err),
		  MBFS_ERR_EXPORT);
	CHECK_INT(judge(MBFS_FMT_CSV, JSONCT, true, "[1]", 3, &rows, &err),
		  MBFS_ERR_PROTOCOL);
	/* a UTF-8 BOM before the header */
	CHECK_INT(csv(false, "\xef\xbb\xbf" "a\n1\n", &rows, &err), MBFS_OK);
}

static void test_json(void)
{
	int64_t rows;
	struct mbfs_err err;
	const char *ok = "[{\"a\":\"x]\"},{\"a\":\"\\\"}\"}]";
	for (int proven = 0; proven < 2; proven++) {
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, ok, strlen(ok), &rows,
				&err),
			  MBFS_OK);
		CHECK_INT(rows, 2);
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, "[]\n", 3, &rows, &err),
			  MBFS_OK);
		CHECK_INT(rows, 0);
		/* cut */
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, ok, strlen(ok) - 1,
				&rows, &err),
			  MBFS_ERR_EXPORT);
		/* an error appended after the array */
		const char *app = "[{\"a\":1}]{\"status\":\"failed\",\"error\":\"late\"}\n\n";
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, app, strlen(app), &rows,
				&err),
			  MBFS_ERR_EXPORT);
		CHECK(strstr(err.msg, "late") != NULL);
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, "[1] x", 5, &rows, &err),
			  MBFS_ERR_PROTOCOL);
		/* an error object instead of rows */
		const char *obj = "{\"status\":\"failed\",\"error\":\"early\"}";
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, obj, strlen(obj), &rows,
				&err),
			  MBFS_ERR_EXPORT);
		CHECK_INT(judge(MBFS_FMT_JSON, JSONCT, proven, "{\"a\":1}", 7, &rows,
				&err),
			  MBFS_ERR_PROTOCOL);
	}
}

static void test_xlsx(void)
{
	int64_t rows;
	struct mbfs_err err;
	/* a minimal zip: a local header signature, then an end record */
	char z[64];
	memset(z, 0, sizeof z);
	memcpy(z, "PK\x03\x04", 4);
	memcpy(z + 64 - 22, "PK\x05\x06", 4);
	for (int proven = 0; proven < 2; proven++) {
		CHECK_INT(judge(MBFS_FMT_XLSX, "application/vnd.openxmlformats",
				proven, z, sizeof z, &rows, &err),
			  MBFS_OK);
		CHECK_INT(rows, -1);
		CHECK_INT(judge(MBFS_FMT_XLSX, "application/vnd.openxmlformats",
				proven, z, sizeof z - 1, &rows, &err),
			  MBFS_ERR_EXPORT);
		CHECK_INT(judge(MBFS_FMT_XLSX, "application/vnd.openxmlformats",
				proven, "not a zip", 9, &rows, &err),
			  MBFS_ERR_PROTOCOL);
	}
}

/* A query the user may not run (native SQL without native permission):
 * old servers say so in-band with error_type missing-required-permissions;
 * that is a denial (EACCES), like the 403 of newer ones, in every format.
 * Other in-band failures stay export failures. */
static void test_permission_inband(void)
{
	static const char *denied =
		"{\"status\":\"failed\",\"error\":\"You do not have permissions to run this query.\","
		"\"error_type\":\"missing-required-permissions\",\"row_count\":0}";
	static const char *sql_error =
		"{\"status\":\"failed\",\"error\":\"no such column: X\",\"error_type\":\"invalid-query\"}";
	int64_t rows;
	struct mbfs_err err;
	static const enum mbfs_fmt fmts[] = {MBFS_FMT_CSV, MBFS_FMT_JSON,
					     MBFS_FMT_XLSX};
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(judge(fmts[i], "", true, denied, strlen(denied), &rows,
				&err),
			  MBFS_ERR_DENIED);
		CHECK(strstr(err.msg, "You do not have permissions to run this query.") != NULL);
		CHECK_INT(judge(fmts[i], "", true, sql_error, strlen(sql_error),
				&rows, &err),
			  MBFS_ERR_EXPORT);
		CHECK(strstr(err.msg, "no such column: X") != NULL);
	}
}

/* A backend without an in-band failure form (Mode): the same bodies are
 * judged on their format alone — Metabase's error objects mean nothing
 * there. A CSV whose last line looks like one is a CSV row; a JSON object
 * where rows were asked for is still not rows (PROTOCOL, not EXPORT). */
static void test_no_inband_form(void)
{
	static const char *tail =
		"a,b\n1,2\n{\"error\":\"Query cancelled\"}\n";
	static const char *obj = "{\"error\":\"boom\"}";
	int64_t rows = -9;
	struct mbfs_err err;
	mbfs_err_clear(&err);
	struct mbfs_verify v;
	struct mbfs_verify_mem m = {tail, strlen(tail)};
	mbfs_verify_init(&v, MBFS_FMT_CSV, NULL);
	mbfs_verify_feed(&v, tail, strlen(tail));
	CHECK_INT(mbfs_verify_finish(&v, CSV, true, mbfs_verify_read_mem, &m,
				     &rows, &err),
		  MBFS_OK);
	CHECK_INT(rows, 2);
	/* and with Metabase's form, the same bytes are its failure */
	CHECK_INT(csv(true, tail, &rows, &err), MBFS_ERR_EXPORT);
	CHECK(strstr(err.msg, "Query cancelled") != NULL);

	struct mbfs_verify_mem mo = {obj, strlen(obj)};
	mbfs_verify_init(&v, MBFS_FMT_JSON, NULL);
	mbfs_verify_feed(&v, obj, strlen(obj));
	CHECK_INT(mbfs_verify_finish(&v, JSONCT, true, mbfs_verify_read_mem,
				     &mo, &rows, &err),
		  MBFS_ERR_PROTOCOL);
	mbfs_verify_init(&v, MBFS_FMT_CSV, NULL);
	mbfs_verify_feed(&v, obj, strlen(obj));
	CHECK_INT(mbfs_verify_finish(&v, JSONCT, true, mbfs_verify_read_mem,
				     &mo, &rows, &err),
		  MBFS_ERR_PROTOCOL);
	CHECK(strstr(err.msg, "the server sent JSON") != NULL);
}

int main(void)
{
	test_csv();
	test_json();
	test_xlsx();
	test_permission_inband();
	test_no_inband_form();
	return check_done();
}
