/*
 * fuzz_spool_index.c — libFuzzer target: one record of the spool index
 * (spool.h mbfs_spool_parse_record), the input cut at every newline as
 * the loader does, each line in an exact-size buffer (no terminator: a
 * read past the record is an ASan error).
 *
 * Invariants: an accepted record has a generation > 0, no negative
 * duration, a key of 1..MBFS_SPOOL_KEY_MAX bytes without NUL; parsing the
 * same line twice gives the same result.
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		char *line = fuzz_dup(p, len);
		struct mbfs_spool_info a, b;
		double la = 0, lb = 0;
		char *ka = NULL, *kb = NULL;
		bool ra = mbfs_spool_parse_record(line, len, &a, &la, &ka);
		bool rb = mbfs_spool_parse_record(line, len, &b, &lb, &kb);
		FUZZ_ASSERT(ra == rb);
		if (ra) {
			FUZZ_ASSERT(a.gen > 0 && a.gen == b.gen && a.size == b.size);
			FUZZ_ASSERT(a.duration >= 0 && la >= 0);
			FUZZ_ASSERT(ka && kb && strcmp(ka, kb) == 0);
			size_t kl = strlen(ka);
			FUZZ_ASSERT(kl >= 1 && kl <= MBFS_SPOOL_KEY_MAX);
		}
		free(ka);
		free(kb);
		free(line);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
