/*
 * test_mb_http.c — unit tests of the transport's stall timeout (mb_http.c)
 * against a local server that misbehaves on purpose: silent after the
 * request (the wait for the first byte counts), silent after a few body
 * bytes, slow but steady (not a stall), and a refused connection (not a
 * stall). The failure reads exactly "no data from the server for N s".
 * mb_http_retryable: a refused connection is worth a retry, a complete
 * transfer is not.
 */
#include "check.h"
#include "mb_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { SILENT, SILENT_AFTER_BYTES, STEADY };

struct server {
	int lfd;
	int port;
	enum mode mode;
	pthread_t tid;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Wait until the client hangs up (or 20 s pass). */
static void hold(int fd)
{
	char buf[256];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	double end = now() + 20;
	while (now() < end) {
		if (poll(&p, 1, 100) > 0 && recv(fd, buf, sizeof buf, 0) <= 0)
			return;
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char req[4096];
	size_t got = 0;
	while (got < sizeof req - 1) { /* the request head */
		ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	switch (s->mode) {
	case SILENT:
		hold(fd);
		break;
	case SILENT_AFTER_BYTES:
		send_all(fd, head);
		send_all(fd, "a\r\nID,NAME\r\n\r\n5\r\n1,ab\n\r\n");
		hold(fd);
		break;
	case STEADY: /* a chunk every 0.4 s for 2.4 s: never 1 s of silence */
		send_all(fd, head);
		for (int i = 0; i < 6; i++) {
			usleep(400 * 1000);
			send_all(fd, "2\r\nx\n\r\n");
		}
		send_all(fd, "0\r\n\r\n");
		hold(fd);
		break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum mode mode)
{
	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(s->lfd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(s->lfd, 4) == 0);
	CHECK(getsockname(s->lfd, (struct sockaddr *)&a, &al) == 0);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->tid, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	pthread_join(s->tid, NULL);
	close(s->lfd);
}

static size_t body_bytes;
static bool count_body(void *arg, const char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	body_bytes += len;
	return true;
}

/* GET http://127.0.0.1:port/ with stall_timeout 1 s. */
static enum mbfs_status fetch(struct mb_http *h, int port, bool stream,
			      struct mb_http_req *req, struct mbfs_err *err,
			      double *took)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	memset(req, 0, sizeof *req);
	req->method = "GET";
	req->url = url;
	if (stream)
		req->on_data = count_body;
	body_bytes = 0;
	double t0 = now();
	enum mbfs_status st = mb_http_perform(h, req, err);
	*took = now() - t0;
	req->url = NULL;
	return st;
}

static void test_stalls(void)
{
	struct mb_http *h = NULL;
	struct mbfs_err err;
	struct mb_http_config cfg = {.connect_timeout = 5, .stall_timeout = 1};
	CHECK_INT(mb_http_new(&cfg, &h, &err), MBFS_OK);
	if (!h)
		return;
	struct mb_http_req req;
	double took;
	struct server s;

	/* accepted, then nothing at all: the wait for the first byte counts */
	server_start(&s, SILENT);
	CHECK_INT(fetch(h, s.port, false, &req, &err, &took), MBFS_ERR_NETWORK);
	CHECK_STR(err.msg, "no data from the server for 1 s");
	CHECK(req.stalled);
	CHECK(!req.aborted);
	CHECK(took >= 0.9 && took < 4);
	mb_http_req_cleanup(&req);
	server_stop(&s);

	/* headers and a few body bytes, then nothing */
	server_start(&s, SILENT_AFTER_BYTES);
	CHECK_INT(fetch(h, s.port, true, &req, &err, &took), MBFS_ERR_NETWORK);
	CHECK_STR(err.msg, "no data from the server for 1 s");
	CHECK_INT(err.http_status, 200);
	CHECK(req.stalled && req.bytes_streamed);
	CHECK_INT(body_bytes, 15);
	CHECK(took >= 0.9 && took < 4);
	mb_http_req_cleanup(&req);
	server_stop(&s);

	/* slow but steady: longer than the timeout in all, never silent */
	server_start(&s, STEADY);
	CHECK_INT(fetch(h, s.port, true, &req, &err, &took), MBFS_OK);
	CHECK(!req.stalled);
	CHECK_INT(req.status, 200);
	CHECK_INT(body_bytes, 12);
	CHECK(took >= 2.0);
	CHECK(!mb_http_retryable(&req)); /* complete */
	mb_http_req_cleanup(&req);
	server_stop(&s);

	/* refused: a network error, not a stall */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	int port = ntohs(a.sin_port);
	close(fd); /* bound, never listening: refused */
	CHECK_INT(fetch(h, port, false, &req, &err, &took), MBFS_ERR_NETWORK);
	CHECK(!req.stalled);
	CHECK(strstr(err.msg, "no data") == NULL);
	CHECK(mb_http_retryable(&req)); /* a refusal may pass: worth a retry */
	mb_http_req_cleanup(&req);

	mb_http_free(h);
}

int main(void)
{
	test_stalls();
	return check_done();
}
