/*
 * test_mb_answer.c — unit tests of mb_answer.c, the one table from a failed
 * Metabase answer to a status and a message: each row for requests and
 * logins, the server's words taken from a JSON error body or a plain body,
 * an HTML page named and not quoted, and the default texts.
 */
#include "check.h"
#include "mb_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum mbfs_status answer(long status, const char *ctype,
			       const char *body, enum mb_answer_of of,
			       const char *what, struct mbfs_err *err)
{
	struct mb_http_req req;
	memset(&req, 0, sizeof req);
	req.status = status;
	snprintf(req.content_type, sizeof req.content_type, "%s", ctype);
	/* a heap copy, NUL-terminated as the transport collects bodies */
	char *copy = NULL;
	if (body) {
		copy = strdup(body);
		req.resp = copy;
		req.resp_len = strlen(body);
	}
	enum mbfs_status st = mb_answer_failure(&req, of, what, err);
	free(copy);
	return st;
}

static void test_requests(void)
{
	static const struct {
		long status;
		const char *ctype, *body;
		enum mbfs_status st;
		const char *msg;
	} cases[] = {
		{404, "text/plain", "Not found.", MBFS_ERR_NOT_FOUND,
		 "/api/card/7: HTTP 404: Not found."},
		{404, "", NULL, MBFS_ERR_NOT_FOUND, "/api/card/7: HTTP 404: Not found."},
		{403, "text/plain", NULL, MBFS_ERR_DENIED,
		 "/api/card/7: HTTP 403: You don't have permissions to do that."},
		{401, "text/plain", "Unauthenticated", MBFS_ERR_AUTH,
		 "/api/card/7: HTTP 401: Unauthenticated"},
		{500, "application/json",
		 "{\"via\":[{\"message\":\"deep\"}],\"message\":\"boom\",\"error_code\":\"x\"}",
		 MBFS_ERR_HTTP, "/api/card/7: HTTP 500: boom"},
		{502, "text/html; charset=utf-8", "<html><body>Bad Gateway</body></html>",
		 MBFS_ERR_HTTP, "/api/card/7: HTTP 502: an HTML page"},
		{503, "", NULL, MBFS_ERR_HTTP, "/api/card/7: HTTP 503: (no message)"},
		/* a login's rows are not a request's */
		{400, "application/json", "{\"errors\":{\"password\":\"did not match stored password\"}}",
		 MBFS_ERR_HTTP, "/api/card/7: HTTP 400: did not match stored password"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mbfs_err err;
		CHECK_INT(answer(cases[i].status, cases[i].ctype, cases[i].body,
				 MB_ANSWER_REQUEST, "/api/card/7", &err),
			  cases[i].st);
		CHECK_STR(err.msg, cases[i].msg);
		CHECK_INT(err.http_status, cases[i].status);
	}
	/* a long plain body is cut at 300 bytes */
	char big[1000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct mbfs_err err;
	CHECK_INT(answer(500, "text/plain", big, MB_ANSWER_REQUEST, "/p", &err),
		  MBFS_ERR_HTTP);
	CHECK_INT(strlen(err.msg), strlen("/p: HTTP 500: ") + 300);
}

static void test_logins(void)
{
	static const struct {
		long status;
		const char *body;
		enum mbfs_status st;
		const char *msg;
	} cases[] = {
		{401, "{\"errors\":{\"password\":\"did not match stored password\"}}",
		 MBFS_ERR_AUTH, "login as ann refused by the server: did not match stored password"},
		{400, "{\"errors\":{\"username\":\"value must be a non-blank string.\"}}",
		 MBFS_ERR_AUTH, "login as ann refused by the server: value must be a non-blank string."},
		{400, NULL, MBFS_ERR_AUTH, "login as ann refused by the server: (no reason given)"},
		{401, "{\"errors\":{\"username\":\"Too many attempts! You must wait 42 seconds before trying again.\"}}",
		 MBFS_ERR_THROTTLED,
		 "login as ann throttled by the server: Too many attempts! You must wait 42 seconds before trying again."},
		{404, "Not found.", MBFS_ERR_HTTP, "login as ann: HTTP 404: Not found."},
		{500, NULL, MBFS_ERR_HTTP, "login as ann: HTTP 500: (no message)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mbfs_err err;
		CHECK_INT(answer(cases[i].status, "application/json", cases[i].body,
				 MB_ANSWER_LOGIN, "login as ann", &err),
			  cases[i].st);
		CHECK_STR(err.msg, cases[i].msg);
	}
}

int main(void)
{
	test_requests();
	test_logins();
	return check_done();
}
