/*
 * mb_answer.h — what a Metabase HTTP answer that is not a success means:
 * one table from (who asked, HTTP status, the server's message) to an
 * enum mbfs_status and the message a caller shows. Used by the client
 * (mb_api.c) and the login (mb_auth.c).
 *
 * Pure: no lock, never blocks, no allocation. Secrets: the message is
 * taken from the answer's body, never from the request.
 */
#ifndef MBFS_MB_ANSWER_H
#define MBFS_MB_ANSWER_H

#include "mb_http.h"
#include "status.h"

/* Who read the answer (a bit each: table rows may serve both). */
enum mb_answer_of {
	MB_ANSWER_REQUEST = 1,     /* an API request (with a credential or public) */
	MB_ANSWER_LOGIN = 2,       /* POST /api/session */
};

/*
 * The status and message of a finished answer whose HTTP status is not
 * 2xx. The server's message is the error text of a JSON error body, else
 * the body itself (at most 300 bytes) unless it is an HTML page ("an HTML
 * page"). `what` begins the message (the request's path, "login as USER").
 *   request 404 → MBFS_ERR_NOT_FOUND, 403 → DENIED, 401 → AUTH;
 *   login: "Too many attempts" → THROTTLED, 400 and 401 → AUTH
 *     ("WHAT refused by the server: MESSAGE");
 *   anything else → MBFS_ERR_HTTP ("WHAT: HTTP N: MESSAGE").
 * err->http_status is the answer's status.
 */
enum mbfs_status mb_answer_failure(const struct mb_http_req *req,
				   enum mb_answer_of of, const char *what,
				   struct mbfs_err *err);

#endif
