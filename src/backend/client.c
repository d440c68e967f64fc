/*
 * client.c — owns what every backend's client shares once a transfer is
 * over (mb_client.h): the export's answer as the engine sees it.
 */
#include "mb_client.h"

#include <stdio.h>

#include "mb_http.h"

enum mbfs_status mb_client_export_done(const struct mb_http_req *req,
				       enum mbfs_status st, const char *what,
				       struct mb_export_result *res,
				       struct mbfs_err *err)
{
	res->http_status = req->status;
	snprintf(res->content_type, sizeof res->content_type, "%s",
		 req->content_type);
	res->close_delimited = req->close_delimited;
	res->bytes = req->bytes;
	res->elapsed = req->elapsed;
	if (st == MBFS_ERR_NETWORK && req->status >= 200 && req->status < 300 &&
	    !req->stalled)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, (int)req->status,
				    "%s: the server cut the export after %llu bytes (%s)",
				    what, (unsigned long long)req->bytes,
				    req->errbuf[0] ? req->errbuf : "transfer incomplete");
	return st;
}
