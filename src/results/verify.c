/*
 * verify.c — owns the verdict on export bodies: the streaming scanner
 * (CSV record ends and quote parity, JSON nesting) and the final checks
 * for every in-band failure form of metabase-api.md §6.3 (what an error
 * object is, the backend says). See verify.h.
 */
#include "verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TAIL_MAX ((size_t)256 * 1024)
#define ZIP_EOCD_MAX 65557 /* 22-byte record + a comment of up to 65535 */

static bool is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

void mbfs_verify_init(struct mbfs_verify *v, enum mbfs_fmt fmt,
		      mbfs_verify_inband_fn inband)
{
	memset(v, 0, sizeof *v);
	v->fmt = fmt;
	v->inband = inband;
}

/*
 * CSV records: a newline ends a record unless it is inside a quoted field.
 * Metabase quotes every field that holds a quote and doubles embedded
 * quotes, so the quote count's parity tells whether we are inside a
 * quoted field. memchr does the scanning (this runs over every byte of
 * every export).
 */
static void scan_csv(struct mbfs_verify *s, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		if (s->quoted) {
			const char *q = memchr(p, '"', (size_t)(end - p));
			if (!q)
				return;
			s->quoted = false;
			p = q + 1;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = memchr(p, '"', (size_t)((nl ? nl : end) - p));
		if (q) {
			s->quoted = true;
			p = q + 1;
			continue;
		}
		if (!nl)
			return;
		s->records++;
		s->line_start = s->off + (uint64_t)(nl - buf) + 1;
		p = nl + 1;
	}
}

static void scan_json(struct mbfs_verify *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (s->closed) {
			if (!is_ws(c))
				s->trailing = true;
			continue;
		}
		switch (mbfs_jscan_step(&s->js, c)) {
		case MBFS_JSCAN_OPEN:
			if (c == '{' && s->js.depth == 2 && s->first == '[')
				s->objects++;
			break;
		case MBFS_JSCAN_CLOSE:
			if (s->js.depth <= 0) {
				s->closed = true;
				s->closed_off = s->off + i + 1;
			}
			break;
		case MBFS_JSCAN_NONE:
			break;
		}
	}
}

/* CSV rows of recs records: the first is the header. */
static uint64_t csv_rows(uint64_t recs)
{
	return recs ? recs - 1 : 0;
}

uint64_t mbfs_verify_rows(const struct mbfs_verify *v)
{
	return v->fmt == MBFS_FMT_CSV ? csv_rows(v->records) : v->objects;
}

void mbfs_verify_feed(struct mbfs_verify *v, const char *buf, size_t len)
{
	if (!v->seen_nonws) {
		for (size_t i = 0; i < len; i++) {
			char c = buf[i];
			if (!is_ws(c) && c != '\xef' && c != '\xbb' && c != '\xbf') {
				v->seen_nonws = true;
				v->first = c;
				break;
			}
		}
	}
	if (v->fmt == MBFS_FMT_CSV)
		scan_csv(v, buf, len);
	else if (v->fmt == MBFS_FMT_JSON)
		scan_json(v, buf, len);
	v->off += len;
}

ssize_t mbfs_verify_read_mem(void *arg, char *buf, size_t len, uint64_t off)
{
	const struct mbfs_verify_mem *m = arg;
	if (off >= m->len)
		return 0;
	size_t n = m->len - (size_t)off < len ? m->len - (size_t)off : len;
	memcpy(buf, m->buf + off, n);
	return (ssize_t)n;
}

ssize_t mbfs_verify_read_fd(void *arg, char *buf, size_t len, uint64_t off)
{
	int fd = *(const int *)arg;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

struct body {
	mbfs_verify_read_fn rd;
	void *arg;
	uint64_t size;
	mbfs_verify_inband_fn inband; /* NULL: no in-band failure form */
};

/* [from, to) of the body (at most TAIL_MAX, its end kept) as a
 * NUL-terminated heap string; *from_out is where it starts. */
static char *read_range(const struct body *b, uint64_t from, uint64_t to,
			size_t *len, uint64_t *from_out)
{
	if (to > b->size)
		to = b->size;
	if (to < from)
		to = from;
	if (to - from > TAIL_MAX)
		from = to - TAIL_MAX;
	size_t n = (size_t)(to - from);
	char *buf = malloc(n + 1);
	if (!buf)
		return NULL;
	ssize_t r = b->rd(b->arg, buf, n, from);
	if (r < 0)
		r = 0;
	buf[r] = '\0';
	*len = (size_t)r;
	if (from_out)
		*from_out = from;
	return buf;
}

/* Is [from,to) a Metabase error object? Its status (MBFS_OK: it is
 * not), with its message in err. */
static enum mbfs_status inband_error(const struct body *b, uint64_t from,
				     uint64_t to, struct mbfs_err *err)
{
	if (!b->inband)
		return MBFS_OK;
	size_t len;
	char *buf = read_range(b, from, to, &len, NULL);
	if (!buf)
		return MBFS_OK;
	char msg[400];
	bool denied = false;
	bool is_err = b->inband(buf, len, msg, sizeof msg, &denied);
	free(buf);
	if (!is_err)
		return MBFS_OK;
	return mbfs_err_set(err, denied ? MBFS_ERR_DENIED : MBFS_ERR_EXPORT, 200,
			    "the export failed on the server: %s", msg);
}

/* Era A, mid-stream: the last non-blank line of a CSV body is a JSON error
 * object appended after the rows (whatever whitespace follows it). */
static bool csv_tail_error(const struct body *b, struct mbfs_err *err)
{
	if (!b->inband)
		return false;
	size_t len;
	uint64_t from;
	char *buf = read_range(b, 0, b->size, &len, &from);
	if (!buf)
		return false;
	size_t end = len;
	while (end > 0 && is_ws(buf[end - 1]))
		end--;
	size_t start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	while (start < end && is_ws(buf[start]))
		start++;
	bool found = false;
	if (start < end && buf[start] == '{' && buf[end - 1] == '}' &&
	    (start > 0 || from == 0)) {
		char msg[400];
		bool denied = false;
		if (b->inband(buf + start, end - start, msg, sizeof msg,
			      &denied)) {
			mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				     "the export failed on the server: %s", msg);
			found = true;
		}
	}
	free(buf);
	return found;
}

static bool has_zip_end(const struct body *b)
{
	if (b->size < 22)
		return false;
	size_t len;
	uint64_t from = b->size > ZIP_EOCD_MAX ? b->size - ZIP_EOCD_MAX : 0;
	char *buf = read_range(b, from, b->size, &len, NULL);
	if (!buf)
		return false;
	bool ok = false;
	for (size_t i = len >= 22 ? len - 22 + 1 : 0; i-- > 0;) {
		if (memcmp(buf + i, "PK\x05\x06", 4) == 0) {
			size_t comment = (size_t)(unsigned char)buf[i + 20] |
					 ((size_t)(unsigned char)buf[i + 21] << 8);
			ok = i + 22 + comment == len;
			break;
		}
	}
	free(buf);
	return ok;
}

static enum mbfs_status verify_csv(const struct mbfs_verify *s,
				   const struct body *b, bool end_proven,
				   int64_t *rows, struct mbfs_err *err)
{
	if (s->off == 0)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				    "the server sent an empty CSV (no header row)");
	if (csv_tail_error(b, err))
		return MBFS_ERR_EXPORT;
	if (s->quoted)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				    "the CSV ends inside a quoted field (cut short)");
	if (!end_proven && s->line_start != s->off)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				    "the CSV ends in the middle of a row and the connection's close ended it (cut short)");
	uint64_t recs = s->records + (s->line_start < s->off ? 1 : 0);
	*rows = (int64_t)csv_rows(recs);
	return MBFS_OK;
}

static enum mbfs_status verify_json(const struct mbfs_verify *s,
				    const struct body *b, int64_t *rows,
				    struct mbfs_err *err)
{
	if (s->first == '{') {
		enum mbfs_status st = inband_error(b, 0, s->off, err);
		if (st != MBFS_OK)
			return st;
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
				    "the JSON export is an object, not an array of rows");
	}
	if (s->first != '[' || !s->closed)
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				    "the JSON export is incomplete (cut short)");
	if (s->trailing) {
		enum mbfs_status st = inband_error(b, s->closed_off, s->off, err);
		if (st != MBFS_OK)
			return st;
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
				    "the JSON export has trailing garbage");
	}
	*rows = (int64_t)s->objects;
	return MBFS_OK;
}

static enum mbfs_status verify_xlsx(const struct body *b, struct mbfs_err *err)
{
	char head[4] = {0};
	if (b->rd(b->arg, head, 4, 0) != 4 || memcmp(head, "PK\x03\x04", 4) != 0)
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
				    "the XLSX export is not a zip file");
	if (!has_zip_end(b))
		return mbfs_err_set(err, MBFS_ERR_EXPORT, 200,
				    "the XLSX export is incomplete or corrupt (no zip end record)");
	return MBFS_OK;
}

enum mbfs_status mbfs_verify_finish(const struct mbfs_verify *v,
				    const char *content_type, bool end_proven,
				    mbfs_verify_read_fn rd, void *rd_arg,
				    int64_t *rows, struct mbfs_err *err)
{
	const struct body b = {rd, rd_arg, v->off, v->inband};
	const char *ctype = content_type ? content_type : "";
	*rows = -1;
	if (strncasecmp(ctype, "text/html", 9) == 0 || v->first == '<')
		return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
				    "the server answered with an HTML page instead of %s (a proxy or login page?)",
				    mbfs_fmt_name(v->fmt));
	bool json_ctype = strncasecmp(ctype, "application/json", 16) == 0;
	if (v->fmt != MBFS_FMT_JSON && (json_ctype || v->first == '{')) {
		enum mbfs_status st = inband_error(&b, 0, v->off, err);
		if (st != MBFS_OK)
			return st;
		if (json_ctype)
			return mbfs_err_set(err, MBFS_ERR_PROTOCOL, 200,
					    "asked for %s, the server sent JSON",
					    mbfs_fmt_name(v->fmt));
	}
	switch (v->fmt) {
	case MBFS_FMT_CSV:
		return verify_csv(v, &b, end_proven, rows, err);
	case MBFS_FMT_JSON:
		return verify_json(v, &b, rows, err);
	case MBFS_FMT_XLSX:
		return verify_xlsx(&b, err);
	default:
		return MBFS_OK;
	}
}
