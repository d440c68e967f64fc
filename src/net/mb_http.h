/*
 * mb_http.h — the HTTP transport: one I/O thread running a libcurl multi
 * handle for every transfer of a mount (exports and metadata alike), so
 * connections, DNS lookups and TLS sessions are reused.
 *
 * A caller fills a struct mb_http_req and either submits it (asynchronous:
 * on_done runs later on the I/O thread) or performs it (synchronous: the
 * calling thread waits). on_data and on_done always run on the I/O thread
 * and must not block; on_done is called exactly once per submitted request,
 * also when it was cancelled or the transport is shutting down.
 *
 * Memory: the caller owns the request struct and the strings it points to
 * until on_done has run (or mb_http_perform returned); the collected body
 * (resp) belongs to the request and is released by mb_http_req_cleanup().
 * Secrets travel only in headers[] and body; the transport never logs them
 * and never enables curl's verbose mode.
 *
 * Locking: an internal mutex protects the submission and cancel queues; no
 * lock is held while on_data/on_done run.
 */
#ifndef MBFS_MB_HTTP_H
#define MBFS_MB_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MB_HTTP_MAX_HEADERS 8

struct mb_http;

struct mb_http_config {
	const char *cafile;        /* extra CA bundle, or NULL */
	bool insecure;             /* skip TLS verification */
	double connect_timeout;    /* seconds */
	/* Abort a transfer when no byte (header or body) arrived for this
	 * many seconds once the request was sent: the wait for the first
	 * byte counts too. Seconds; <= 0 means 60. */
	long stall_timeout;
};

struct mb_http_req {
	/* ---- set by the caller ---- */
	const char *method;        /* "GET", "POST", "DELETE" */
	const char *url;           /* absolute URL */
	const char *headers[MB_HTTP_MAX_HEADERS]; /* "Name: value", NULL-terminated */
	const char *body;          /* request body (POST), may be NULL */
	size_t body_len;
	size_t max_resp;           /* cap on the collected body; 0 = 16 MiB */
	/* Streaming sink: when set, body bytes go here instead of resp (for
	 * 2xx answers only; error bodies are always collected, capped at
	 * 64 KiB). Return false to abort the transfer. I/O thread. */
	bool (*on_data)(void *arg, const char *buf, size_t len);
	void *data_arg;
	/* Completion, exactly once, on the I/O thread. */
	void (*on_done)(void *arg, struct mb_http_req *req);
	void *done_arg;
	/* Optional: abandon the transfer once *abort is true (polled at
	 * least once a second, even before the first byte). */
	const atomic_bool *abort;
	/* Follow up to 5 redirects (http/https only; a custom Authorization
	 * header is never sent to another host: libcurl's rule). */
	bool follow_redirects;
	/* Ask for gzip/deflate and hand on the decoded bytes. */
	bool decode_content;

	/* ---- results, valid in on_done ---- */
	long status;               /* HTTP status, 0 if no answer */
	int curl_code;             /* CURLcode, 0 = complete transfer */
	char content_type[128];
	/* The body's end was only the connection closing: no Content-Length,
	 * not chunked, not HTTP/2 (an HTTP/1.0 proxy); its completeness must
	 * be proven by its format (verify.h). */
	bool close_delimited;
	long retry_after;          /* seconds from Retry-After, -1 if absent */
	char *resp;                /* collected body (NUL-terminated), or NULL */
	size_t resp_len;
	uint64_t bytes;            /* body bytes received (streamed or collected) */
	bool bytes_streamed;       /* some body bytes went to on_data */
	bool too_big;              /* resp hit max_resp */
	bool aborted;              /* on_data said stop, or cancelled */
	/* no byte for stall_s seconds: the transport gave up. Status
	 * MBFS_ERR_NETWORK, message "no data from the server for N s". */
	bool stalled;
	long stall_s;
	double elapsed;            /* seconds, submit → done */
	char errbuf[256];          /* curl's message on transport failure */

	/* ---- private to mb_http.c ---- */
	void *priv_easy;
	struct mb_http_req *priv_next;
	bool priv_cancel;
};

/* Create the transport and start its I/O thread. */
enum mbfs_status mb_http_new(const struct mb_http_config *cfg,
			     struct mb_http **out, struct mbfs_err *err);

/* Stop the I/O thread; pending and later requests complete at once with
 * aborted = true. Idempotent; mb_http_free() implies it. */
void mb_http_stop(struct mb_http *h);

/* Stop (if needed) and free. */
void mb_http_free(struct mb_http *h);

/* Queue req; returns at once. Never blocks on the network. */
void mb_http_submit(struct mb_http *h, struct mb_http_req *req);

/* Submit and wait for completion (the caller's on_done, if any, is kept
 * and runs first). Returns the transport status: MBFS_OK when an HTTP
 * answer arrived completely, whatever its status code. Blocks. */
enum mbfs_status mb_http_perform(struct mb_http *h, struct mb_http_req *req,
				 struct mbfs_err *err);

/* Ask the I/O thread to abort req; its on_done still runs (aborted=true).
 * Safe to call at any time before on_done has run. */
void mb_http_cancel(struct mb_http *h, struct mb_http_req *req);

/* Map a finished request's transport outcome (not its HTTP status) to a
 * status: OK, NETWORK, TLS, TOO_BIG, INTERRUPTED. Fills err; a stalled
 * transfer is NETWORK with exactly "no data from the server for N s". */
enum mbfs_status mb_http_transport_status(const struct mb_http_req *req,
					  struct mbfs_err *err);

/* Did a finished request fail in a way a new attempt may cure: the
 * connection refused or reset, nothing received, a timeout, a body cut
 * short (transport outcome only: the caller decides about HTTP statuses
 * and about bytes its sink already took). */
bool mb_http_retryable(const struct mb_http_req *req);

/* The retry policy every client shares. Worth another try: no body byte
 * reached the caller, not aborted or stalled, and either the connection
 * failed in a retryable way (before or with 2xx headers) or the server
 * answered 429, 502, 503 or 504. Pure. */
bool mb_http_transient(const struct mb_http_req *req, enum mbfs_status st);
/* Seconds to wait before retry n (0-based): the server's Retry-After (at
 * most 120 s), else 0.5 s × 2^n scaled by 0.5 + jitter (jitter in [0, 1):
 * ±50 %), at most 30 s. Pure. */
double mb_http_retry_delay(const struct mb_http_req *req, int n,
			   double jitter);
/* Sleep seconds in 50 ms steps, returning early once *abort is true
 * (abort may be NULL). Blocks the calling thread. */
void mb_http_pause(const atomic_bool *abort, double seconds);

/* Free resp and reset the result fields so req can be submitted again. */
void mb_http_req_cleanup(struct mb_http_req *req);

/* Take one response header line (as curl hands it over: not terminated,
 * with its CRLF) into req's results: the status line resets them;
 * Content-Type, Retry-After, Content-Length and Transfer-Encoding are
 * read. Server input: pure and bounded; exposed for the fuzzer. */
void mb_http_parse_header(struct mb_http_req *req, const char *buf, size_t len);

/* Percent-encode s for a URL path segment or a form value (new string). */
char *mb_http_escape(const char *s);

/* Versions for --version. */
const char *mb_http_curl_version(void);

#endif
