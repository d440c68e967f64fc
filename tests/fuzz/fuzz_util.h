/*
 * fuzz_util.h — shared helpers of the libFuzzer targets in tests/fuzz/.
 *
 * FUZZ_ASSERT aborts with a message (libFuzzer then saves the input as a
 * crash); fuzz_rng gives a deterministic stream of numbers from the input
 * itself (so a saved crash replays exactly), used to cut bodies into
 * random-sized pieces; fuzz_cstr copies the input into a NUL-terminated
 * heap string (inner NULs end it early, as they would for a C caller).
 */
#ifndef MBFS_FUZZ_UTIL_H
#define MBFS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

struct fuzz_rng {
	uint64_t s;
};

/* Seeded with FNV-1a of the input and a salt. */
static inline void fuzz_rng_init(struct fuzz_rng *r, const uint8_t *data,
				 size_t size, uint64_t salt)
{
	uint64_t h = 1469598103934665603ULL ^ salt;
	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= 1099511628211ULL;
	}
	r->s = h ? h : 0x9e3779b97f4a7c15ULL;
}

/* xorshift64* */
static inline uint64_t fuzz_rng_next(struct fuzz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

/* A piece length in [1, max]: mostly small (1..8), sometimes anything. */
static inline size_t fuzz_piece(struct fuzz_rng *r, size_t max)
{
	if (max <= 1)
		return max;
	uint64_t x = fuzz_rng_next(r);
	size_t n = (x & 3) ? (size_t)(x >> 8) % 8 + 1 : (size_t)(x >> 8) % max + 1;
	return n < max ? n : max;
}

/* A NUL-terminated copy of data[0..size) (stops at an inner NUL). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An exact-size heap copy (no terminator): reads past the end are ASan
 * errors, as they would be on a body that fills its buffer. */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* Is s NUL-terminated within n bytes? */
static inline int fuzz_terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

#endif
