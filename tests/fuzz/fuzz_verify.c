/*
 * fuzz_verify.c — libFuzzer target: export body verification (verify.h).
 *
 * For every format (CSV, JSON, XLSX, and the formats verify.c does not
 * scan), the body is fed to mbfs_verify_feed twice: whole, and in
 * random-sized pieces (cuts from a PRNG seeded by the input, so crashes
 * replay). Then mbfs_verify_finish runs with every content type mbfs may
 * see, both values of end_proven, over mbfs_verify_read_mem, and once
 * more over a read function that fails.
 *
 * Invariants: the scanner's state does not depend on the cuts; the verdict
 * does not either; a failure's message is terminated; a CSV verdict of OK
 * has rows >= 0; JSON and XLSX verdicts of OK are only given to bodies that
 * start with '[' and "PK\3\4".
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "mb_json.h"
#include "verify.h"

static ssize_t read_fail(void *arg, char *buf, size_t len, uint64_t off)
{
	(void)arg;
	(void)buf;
	(void)len;
	(void)off;
	return -1;
}

static void same_state(const struct mbfs_verify *a, const struct mbfs_verify *b)
{
	FUZZ_ASSERT(a->fmt == b->fmt && a->off == b->off);
	FUZZ_ASSERT(a->seen_nonws == b->seen_nonws && a->first == b->first);
	FUZZ_ASSERT(a->quoted == b->quoted && a->records == b->records &&
		    a->line_start == b->line_start);
	FUZZ_ASSERT(a->js.depth == b->js.depth &&
		    a->js.in_str == b->js.in_str && a->js.esc == b->js.esc &&
		    a->closed == b->closed &&
		    a->closed_off == b->closed_off &&
		    a->trailing == b->trailing && a->objects == b->objects);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mbfs_fmt fmts[] = {MBFS_FMT_CSV, MBFS_FMT_JSON,
					     MBFS_FMT_XLSX, MBFS_FMT_NONE,
					     MBFS_FMT_SQL};
	static const char *const ctypes[] = {
		NULL,
		"",
		"text/csv",
		"text/csv; charset=utf-8",
		"application/json",
		"application/json;charset=utf-8",
		"APPLICATION/JSON",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/octet-stream",
		"text/html",
		"text/html; charset=utf-8",
		"text/plain",
	};
	char *body = fuzz_dup(data, size);
	struct mbfs_verify_mem mem = {body, size};

	for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
		struct mbfs_verify whole, cut;
		struct fuzz_rng rng;
		mbfs_verify_init(&whole, fmts[f], mb_json_inband_error);
		mbfs_verify_feed(&whole, body, size);
		mbfs_verify_init(&cut, fmts[f], mb_json_inband_error);
		fuzz_rng_init(&rng, data, size, f);
		for (size_t off = 0; off < size;) {
			size_t k = fuzz_piece(&rng, size - off);
			char *piece = fuzz_dup(data + off, k);
			mbfs_verify_feed(&cut, piece, k);
			free(piece);
			off += k;
		}
		mbfs_verify_feed(&cut, body, 0); /* an empty piece is allowed */
		same_state(&whole, &cut);

		for (size_t c = 0; c < sizeof ctypes / sizeof ctypes[0]; c++) {
			for (int proven = 0; proven < 2; proven++) {
				int64_t rows, rows2;
				struct mbfs_err err, err2;
				enum mbfs_status st = mbfs_verify_finish(
					&whole, ctypes[c], proven != 0,
					mbfs_verify_read_mem, &mem, &rows, &err);
				enum mbfs_status st2 = mbfs_verify_finish(
					&cut, ctypes[c], proven != 0,
					mbfs_verify_read_mem, &mem, &rows2, &err2);
				FUZZ_ASSERT(st == st2);
				if (st != MBFS_OK) {
					FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
					FUZZ_ASSERT(strcmp(err.msg, err2.msg) == 0);
				} else {
					FUZZ_ASSERT(rows == rows2);
					if (fmts[f] == MBFS_FMT_CSV)
						FUZZ_ASSERT(rows >= 0 && size > 0);
					if (fmts[f] == MBFS_FMT_XLSX)
						FUZZ_ASSERT(size >= 4 &&
							    memcmp(body, "PK\3\4", 4) == 0);
					if (fmts[f] == MBFS_FMT_JSON)
						FUZZ_ASSERT(whole.first == '[');
				}
				/* a reader that fails: a verdict, no crash */
				st = mbfs_verify_finish(&whole, ctypes[c],
							proven != 0, read_fail,
							NULL, &rows, &err);
				if (st != MBFS_OK)
					FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
			}
		}
	}
	free(body);
	return 0;
}
