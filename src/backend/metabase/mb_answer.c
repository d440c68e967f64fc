/*
 * mb_answer.c — owns the one table that turns a Metabase answer that is not
 * a success (HTTP status, body) into an enum mbfs_status and a message, for
 * requests and logins alike. See mb_answer.h.
 */
#include "mb_answer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mb_json.h"

/* One row: the first that matches decides. */
struct answer_rule {
	unsigned of;               /* enum mb_answer_of bits */
	long http;                 /* the HTTP status, 0: any */
	const char *says;          /* the message holds this, or NULL */
	enum mbfs_status st;
	const char *verb;          /* "WHAT VERB by the server: MSG", or NULL
				      for "WHAT: HTTP N: MSG" */
	const char *none;          /* MSG when the server gave none */
};

static const struct answer_rule rules[] = {
	/* Metabase throttles logins (10 failures an hour) with a 400 or 401 */
	{MB_ANSWER_LOGIN, 0, "Too many attempts", MBFS_ERR_THROTTLED,
	 "throttled", "(no reason given)"},
	{MB_ANSWER_LOGIN, 401, NULL, MBFS_ERR_AUTH, "refused",
	 "(no reason given)"},
	{MB_ANSWER_LOGIN, 400, NULL, MBFS_ERR_AUTH, "refused",
	 "(no reason given)"},
	{MB_ANSWER_REQUEST, 404, NULL, MBFS_ERR_NOT_FOUND, NULL, "Not found."},
	{MB_ANSWER_REQUEST, 403, NULL, MBFS_ERR_DENIED, NULL,
	 "You don't have permissions to do that."},
	{MB_ANSWER_REQUEST, 401, NULL, MBFS_ERR_AUTH, NULL, "Unauthenticated"},
	{MB_ANSWER_REQUEST | MB_ANSWER_LOGIN, 0, NULL, MBFS_ERR_HTTP, NULL,
	 "(no message)"},
};

/* The server's words: a JSON error's text, else the body unless HTML. */
static void server_message(const struct mb_http_req *req, char *msg,
			   size_t msgsz)
{
	if (mb_json_error_message(req->resp, req->resp_len, msg, msgsz))
		return;
	msg[0] = '\0';
	if (req->resp && strncasecmp(req->content_type, "text/html", 9) != 0)
		snprintf(msg, msgsz, "%.300s", req->resp);
	else if (req->resp)
		snprintf(msg, msgsz, "an HTML page");
}

enum mbfs_status mb_answer_failure(const struct mb_http_req *req,
				   enum mb_answer_of of, const char *what,
				   struct mbfs_err *err)
{
	char msg[400];
	server_message(req, msg, sizeof msg);
	const struct answer_rule *r = &rules[sizeof rules / sizeof rules[0] - 1];
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const struct answer_rule *c = &rules[i];
		if ((c->of & (unsigned)of) && (!c->http || c->http == req->status) &&
		    (!c->says || strstr(msg, c->says))) {
			r = c;
			break;
		}
	}
	int code = (int)req->status;
	const char *text = msg[0] ? msg : r->none;
	if (r->verb)
		return mbfs_err_set(err, r->st, code, "%s %s by the server: %s",
				    what, r->verb, text);
	return mbfs_err_set(err, r->st, code, "%s: HTTP %d: %s", what, code,
			    text);
}
