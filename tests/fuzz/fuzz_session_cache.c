/*
 * fuzz_session_cache.c — libFuzzer target: the text of a session cache
 * file (mb_auth.h mb_auth_parse_cache), in a buffer of exactly size+1
 * bytes as the loader gives it, against a fixed server URL and user.
 *
 * Invariants: a token comes back only when the first line is it (non-empty,
 * shorter than MB_AUTH_SECRET_MAX, no newline) and the URL and user lines,
 * when present, match; parsing is deterministic.
 */
#include "fuzz_util.h"

#include <stdbool.h>
#include <time.h>

#include "mb_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char URL[] = "https://mb.example.com";
static const char USER[] = "ada@example.com";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8192)
		return 0;
	char *a = malloc(size + 1), *b = malloc(size + 1);
	if (!a || !b)
		abort();
	memcpy(a, data, size);
	memcpy(b, data, size);
	time_t sa = 0, sb = 0;
	char *ta = mb_auth_parse_cache(a, size, URL, USER, &sa);
	char *tb = mb_auth_parse_cache(b, size, URL, USER, &sb);
	FUZZ_ASSERT(!ta == !tb);
	if (ta) {
		FUZZ_ASSERT(strcmp(ta, tb) == 0 && sa == sb);
		FUZZ_ASSERT(ta[0] && strlen(ta) < MB_AUTH_SECRET_MAX);
		FUZZ_ASSERT(!strchr(ta, '\n'));
	}
	free(ta);
	free(tb);
	free(a);
	free(b);
	return 0;
}
