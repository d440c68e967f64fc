/*
 * mb_http.c — owns the libcurl multi handle, the I/O thread that drives it,
 * and the queues of submitted and cancelled requests. See mb_http.h.
 */
#include "mb_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

#define DEFAULT_MAX_RESP ((size_t)16 * 1024 * 1024)
#define ERROR_BODY_MAX ((size_t)64 * 1024)

struct mb_http {
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock;          /* protects pending, stopping */
	struct mb_http_req *pending;   /* submitted, not yet added (FIFO) */
	struct mb_http_req **pending_tail;
	bool stopping;
	bool cancel_pending;           /* some request has priv_cancel set */
	/* requests currently inside the multi handle; I/O thread only */
	struct mb_http_req *active;
	char *cafile;
	bool insecure;
	long connect_timeout_ms;
	long stall_s;                  /* seconds without a byte */
};

/*
 * Receive buffer of a streamed body (an export, a list streamed into its
 * decoder): curl's largest (CURL_MAX_READ_SIZE of 7.88). It hands the sink
 * up to this much per call, so the spool file is written in large pieces,
 * which the page cache keeps in large folios: on the build machine (ext4,
 * kernel 6.18) a cold 100 MB export was received in 0.14 s instead of
 * 0.18 s and its first cat took 0.07 s instead of 0.15 s (medians of 12;
 * 256 KiB brought no such gain). It adds no latency: curl still passes on
 * whatever one recv() returned.
 */
#define MB_HTTP_STREAM_BUFFER 524288L

/* Per-transfer state kept in priv_easy's private pointer. */
struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	struct timespec start;
	size_t cap;
	bool streaming;            /* decided at the first body byte */
	bool status_known;
	/* stall detection (I/O thread only) */
	long stall_s;
	bool sent;                 /* the request went out: the clock runs */
	struct timespec last_rx;   /* last byte received, or the send */
	bool stalled;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *mb_http_curl_version(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_version_info(CURLVERSION_NOW)->version;
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A byte arrived: the stall clock starts again. */
static void touch_rx(struct xfer *x)
{
	clock_gettime(CLOCK_MONOTONIC, &x->last_rx);
	x->sent = true;
}

static bool collect(struct mb_http_req *req, size_t cap, const char *buf,
		    size_t len)
{
	if (req->resp_len + len > cap) {
		req->too_big = true;
		return false;
	}
	char *n = realloc(req->resp, req->resp_len + len + 1);
	if (!n)
		return false;
	memcpy(n + req->resp_len, buf, len);
	req->resp = n;
	req->resp_len += len;
	req->resp[req->resp_len] = '\0';
	return true;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct mb_http_req *req = ud;
	struct xfer *x = req->priv_easy;
	size_t len = size * nmemb;

	touch_rx(x);
	if (!x->status_known) {
		long code = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		req->status = code;
		x->status_known = true;
		x->streaming = req->on_data && code >= 200 && code < 300;
	}
	req->bytes += len;
	if (x->streaming) {
		req->bytes_streamed = true;
		if (!req->on_data(req->data_arg, ptr, len)) {
			req->aborted = true;
			return 0;
		}
		return len;
	}
	size_t cap = req->on_data ? ERROR_BODY_MAX : x->cap;
	if (!collect(req, cap, ptr, len))
		return 0;
	return len;
}

void mb_http_parse_header(struct mb_http_req *req, const char *buf, size_t len)
{
	/* A new status line (e.g. after "100 Continue") resets the headers. */
	if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		req->content_type[0] = '\0';
		req->retry_after = -1;
		/* HTTP/2 and later frame the end of the body themselves */
		req->close_delimited = !(len > 6 && buf[5] >= '2' && buf[5] <= '9');
		return;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1;
	const char *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t vl = (size_t)(end - v);
	if (nl == 12 && strncasecmp(buf, "Content-Type", 12) == 0) {
		if (vl >= sizeof req->content_type)
			vl = sizeof req->content_type - 1;
		memcpy(req->content_type, v, vl);
		req->content_type[vl] = '\0';
	} else if (nl == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		req->close_delimited = false;
	} else if (nl == 17 && strncasecmp(buf, "Transfer-Encoding", 17) == 0) {
		/* chunked is always the last coding when present */
		if (vl >= 7 && strncasecmp(end - 7, "chunked", 7) == 0)
			req->close_delimited = false;
	} else if (nl == 11 && strncasecmp(buf, "Retry-After", 11) == 0) {
		char tmp[32];
		if (vl >= sizeof tmp)
			vl = sizeof tmp - 1;
		memcpy(tmp, v, vl);
		tmp[vl] = '\0';
		char *e;
		long s = strtol(tmp, &e, 10);
		if (e != tmp && s >= 0)
			req->retry_after = s;
	}
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct mb_http_req *req = ud;
	size_t len = size * nitems;
	touch_rx(req->priv_easy);
	mb_http_parse_header(req, buf, len);
	return len;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	struct mb_http_req *req = ud;
	struct xfer *x = req->priv_easy;
	if (req->abort && atomic_load(req->abort)) {
		req->aborted = true;
		return 1;
	}
	/* The stall clock starts once the request is on its way (the
	 * connection, DNS and TLS are connect_timeout's business). */
	if (!x->sent) {
		curl_off_t pre = 0;
		if (curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T,
				      &pre) == CURLE_OK && pre > 0)
			touch_rx(x);
		return 0;
	}
	if (since(&x->last_rx) >= (double)x->stall_s) {
		x->stalled = true;
		return 1;
	}
	return 0;
}

static struct xfer *xfer_start(struct mb_http *h, struct mb_http_req *req)
{
	struct xfer *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->easy = curl_easy_init();
	if (!x->easy) {
		free(x);
		return NULL;
	}
	CURL *e = x->easy;
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	x->cap = req->max_resp ? req->max_resp : DEFAULT_MAX_RESP;
	x->stall_s = h->stall_s;
	req->priv_easy = x;

	for (int i = 0; i < MB_HTTP_MAX_HEADERS && req->headers[i]; i++)
		x->hdrs = curl_slist_append(x->hdrs, req->headers[i]);
	/* No "Expect: 100-continue" round trip on POST. */
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mbfs/" MBFS_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (req->on_data)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, MB_HTTP_STREAM_BUFFER);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
			 req->follow_redirects ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING,
			 req->decode_content ? "" : NULL);
	curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
	/* The progress callback (about once a second, and with every
	 * chunk) polls req->abort and the stall clock; curl's own low-speed
	 * check is the backstop that also keeps the handle's timer running
	 * while nothing arrives. */
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, req);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->stall_s);
	if (h->cafile)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cafile);
	if (h->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return x;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	curl_slist_free_all(x->hdrs);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	free(x);
}

static void active_remove(struct mb_http *h, struct mb_http_req *req)
{
	for (struct mb_http_req **p = &h->active; *p; p = &(*p)->priv_next) {
		if (*p == req) {
			*p = req->priv_next;
			break;
		}
	}
	req->priv_next = NULL;
}

/* Finish req on the I/O thread: record results, free curl state, call back. */
static void finish(struct mb_http *h, struct mb_http_req *req, int code)
{
	struct xfer *x = req->priv_easy;
	if (x) {
		long status = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status)
			req->status = status;
		req->elapsed = since(&x->start);
		/* our clock, or curl's low-speed backstop once connected */
		req->stall_s = x->stall_s;
		req->stalled = (x->stalled && code == CURLE_ABORTED_BY_CALLBACK) ||
			       (code == CURLE_OPERATION_TIMEDOUT && x->sent);
		curl_multi_remove_handle(h->multi, x->easy);
		xfer_free(x);
		req->priv_easy = NULL;
	}
	req->curl_code = code;
	if (req->priv_cancel)
		req->aborted = true;
	if (req->on_done)
		req->on_done(req->done_arg, req);
}

static void add_pending(struct mb_http *h, struct mb_http_req *list)
{
	while (list) {
		struct mb_http_req *req = list;
		list = req->priv_next;
		req->priv_next = NULL;
		if (req->priv_cancel) {
			finish(h, req, CURLE_ABORTED_BY_CALLBACK);
			continue;
		}
		struct xfer *x = xfer_start(h, req);
		if (!x) {
			snprintf(req->errbuf, sizeof req->errbuf, "out of memory");
			finish(h, req, CURLE_OUT_OF_MEMORY);
			continue;
		}
		curl_multi_add_handle(h->multi, x->easy);
		req->priv_next = h->active;
		h->active = req;
	}
}

static void reap_cancelled(struct mb_http *h)
{
	struct mb_http_req *req = h->active;
	while (req) {
		struct mb_http_req *next = req->priv_next;
		if (req->priv_cancel) {
			active_remove(h, req);
			finish(h, req, CURLE_ABORTED_BY_CALLBACK);
		}
		req = next;
	}
}

static void *io_thread(void *arg)
{
	struct mb_http *h = arg;
	for (;;) {
		pthread_mutex_lock(&h->lock);
		bool stop = h->stopping;
		struct mb_http_req *list = h->pending;
		h->pending = NULL;
		h->pending_tail = &h->pending;
		bool cancels = h->cancel_pending;
		h->cancel_pending = false;
		pthread_mutex_unlock(&h->lock);

		if (stop) {
			for (struct mb_http_req *r = list; r; r = r->priv_next)
				r->priv_cancel = true;
			add_pending(h, list);
			for (struct mb_http_req *r = h->active; r; r = r->priv_next)
				r->priv_cancel = true;
			reap_cancelled(h);
			return NULL;
		}
		add_pending(h, list);
		if (cancels)
			reap_cancelled(h);

		int running = 0;
		curl_multi_perform(h->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(h->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct mb_http_req *req = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&req);
			if (!req)
				continue;
			active_remove(h, req);
			finish(h, req, (int)msg->data.result);
		}
		curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
	}
}

enum mbfs_status mb_http_new(const struct mb_http_config *cfg,
			     struct mb_http **out, struct mbfs_err *err)
{
	pthread_once(&curl_once, curl_init_once);
	struct mb_http *h = calloc(1, sizeof *h);
	if (!h)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "curl_multi_init failed");
	}
	/* No per-host connection cap: concurrency is bounded by max_exports
	 * and the worker pool's fetch jobs, and a cap would make listings queue behind
	 * stalled exports. Keep up to 64 idle connections for reuse. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
	h->cafile = cfg->cafile ? strdup(cfg->cafile) : NULL;
	h->insecure = cfg->insecure;
	h->connect_timeout_ms = (long)(cfg->connect_timeout * 1000);
	if (h->connect_timeout_ms <= 0)
		h->connect_timeout_ms = 10000;
	h->stall_s = cfg->stall_timeout > 0 ? cfg->stall_timeout : 60;
	pthread_mutex_init(&h->lock, NULL);
	h->pending_tail = &h->pending;
	if (pthread_create(&h->thread, NULL, io_thread, h) != 0) {
		curl_multi_cleanup(h->multi);
		free(h->cafile);
		free(h);
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
				    "cannot start the I/O thread");
	}
	*out = h;
	return MBFS_OK;
}

void mb_http_stop(struct mb_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	bool was = h->stopping;
	h->stopping = true;
	pthread_mutex_unlock(&h->lock);
	if (was)
		return;
	curl_multi_wakeup(h->multi);
	pthread_join(h->thread, NULL);
}

void mb_http_free(struct mb_http *h)
{
	if (!h)
		return;
	mb_http_stop(h);
	curl_multi_cleanup(h->multi);
	pthread_mutex_destroy(&h->lock);
	free(h->cafile);
	free(h);
}

void mb_http_submit(struct mb_http *h, struct mb_http_req *req)
{
	mb_http_req_cleanup(req);
	req->status = 0;
	req->curl_code = 0;
	req->content_type[0] = '\0';
	req->close_delimited = false;
	req->retry_after = -1;
	req->bytes = 0;
	req->bytes_streamed = false;
	req->too_big = false;
	req->aborted = false;
	req->stalled = false;
	req->stall_s = 0;
	req->errbuf[0] = '\0';
	req->priv_cancel = false;
	req->priv_next = NULL;
	req->priv_easy = NULL;
	pthread_mutex_lock(&h->lock);
	bool stopping = h->stopping;
	if (!stopping) {
		*h->pending_tail = req;
		h->pending_tail = &req->priv_next;
	}
	pthread_mutex_unlock(&h->lock);
	if (stopping) {
		req->aborted = true;
		req->curl_code = CURLE_ABORTED_BY_CALLBACK;
		if (req->on_done)
			req->on_done(req->done_arg, req);
		return;
	}
	curl_multi_wakeup(h->multi);
}

void mb_http_cancel(struct mb_http *h, struct mb_http_req *req)
{
	pthread_mutex_lock(&h->lock);
	req->priv_cancel = true;
	h->cancel_pending = true;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	void (*user_done)(void *, struct mb_http_req *);
	void *user_arg;
};

static void sync_done(void *arg, struct mb_http_req *req)
{
	struct sync_wait *w = arg;
	if (w->user_done)
		w->user_done(w->user_arg, req);
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

enum mbfs_status mb_http_perform(struct mb_http *h, struct mb_http_req *req,
				 struct mbfs_err *err)
{
	struct sync_wait w = {.done = false,
			      .user_done = req->on_done,
			      .user_arg = req->done_arg};
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	req->on_done = sync_done;
	req->done_arg = &w;
	mb_http_submit(h, req);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	req->on_done = w.user_done;
	req->done_arg = w.user_arg;
	return mb_http_transport_status(req, err);
}

enum mbfs_status mb_http_transport_status(const struct mb_http_req *req,
					  struct mbfs_err *err)
{
	CURLcode c = (CURLcode)req->curl_code;
	const char *why = req->errbuf[0] ? req->errbuf : curl_easy_strerror(c);
	if (c == CURLE_OK)
		return MBFS_OK;
	if (req->too_big)
		return mbfs_err_set(err, MBFS_ERR_TOO_BIG, (int)req->status,
				    "response larger than the %s cap",
				    req->on_data ? "error-body" : "metadata");
	if (req->aborted)
		return mbfs_err_set(err, MBFS_ERR_INTERRUPTED, (int)req->status,
				    "transfer aborted");
	if (req->stalled)
		return mbfs_err_set(err, MBFS_ERR_NETWORK, (int)req->status,
				    "no data from the server for %ld s",
				    req->stall_s);
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return mbfs_err_set(err, MBFS_ERR_TLS, 0, "TLS: %s", why);
	default:
		return mbfs_err_set(err, MBFS_ERR_NETWORK, (int)req->status,
				    "%s", why);
	}
}

bool mb_http_retryable(const struct mb_http_req *req)
{
	CURLcode c = (CURLcode)req->curl_code;
	return c == CURLE_COULDNT_CONNECT || c == CURLE_RECV_ERROR ||
	       c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
	       c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE;
}

bool mb_http_transient(const struct mb_http_req *req, enum mbfs_status st)
{
	/* a server that stalled had its stall_timeout: trying again would
	 * multiply the wait (and re-run the query) */
	if (req->aborted || req->bytes_streamed || req->stalled)
		return false;
	/* refused, or reset before the first body byte (headers may have come) */
	if (st == MBFS_ERR_NETWORK &&
	    (req->status == 0 || (req->status >= 200 && req->status < 300)))
		return mb_http_retryable(req);
	if (st != MBFS_OK)
		return false;
	return req->status == 502 || req->status == 503 ||
	       req->status == 504 || req->status == 429;
}

double mb_http_retry_delay(const struct mb_http_req *req, int n,
			   double jitter)
{
	if (req->retry_after >= 0)
		return req->retry_after > 120 ? 120.0 : (double)req->retry_after;
	double d = 0.5 * (double)(1u << (n < 6 ? n : 6)) * (0.5 + jitter);
	return d > 30 ? 30.0 : d;
}

void mb_http_pause(const atomic_bool *abort, double seconds)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	for (double slept = 0; slept < seconds; slept += 0.05) {
		if (abort && atomic_load(abort))
			return;
		nanosleep(&step, NULL);
	}
}

void mb_http_req_cleanup(struct mb_http_req *req)
{
	free(req->resp);
	req->resp = NULL;
	req->resp_len = 0;
}

char *mb_http_escape(const char *s)
{
	pthread_once(&curl_once, curl_init_once);
	char *e = curl_easy_escape(NULL, s, 0);
	if (!e)
		return NULL;
	char *r = strdup(e);
	curl_free(e);
	return r;
}
