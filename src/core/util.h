/*
 * util.h — the small helpers every layer uses: the two clocks, FNV-1a
 * hashing, dup0, hex digits, appending to a bounded text buffer, growing
 * an array, and the one string-keyed hash map of mbfs.
 *
 * The map is ours, not uthash (uthash-dev): it is about a hundred lines;
 * uthash's macros end the process on an allocation failure (uthash_fatal)
 * where a filesystem must answer ENOMEM and go on, and would add a build
 * dependency for no gain. The map is intrusive: a struct that lives in a
 * map embeds a struct mbfs_map_item (its key is a string the struct owns),
 * so an entry is one allocation and its address never changes.
 *
 * Thread safety: the clocks and the hash are pure; a map has no lock of
 * its own (its owner's lock protects it). Nothing here blocks.
 * Memory: a map owns its bucket array only, never the items or the keys.
 */
#ifndef MBFS_UTIL_H
#define MBFS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds on CLOCK_MONOTONIC (intervals, timeouts). */
double mbfs_mono_now(void);
/* Seconds since the epoch on CLOCK_REALTIME (what people read). */
double mbfs_wall_now(void);

/* FNV-1a, 64 bits: start from MBFS_FNV1A_INIT (or a previous result, to
 * hash several pieces as one). */
#define MBFS_FNV1A_INIT UINT64_C(0xcbf29ce484222325)
uint64_t mbfs_fnv1a(uint64_t h, const void *data, size_t len);
uint64_t mbfs_fnv1a_str(uint64_t h, const char *s);

/* strdup that passes NULL through (NULL also when out of memory). */
char *mbfs_dup0(const char *s);

/* The value of a hexadecimal digit, or -1. */
int mbfs_hex_digit(char c);

/* Append printf output to out (outsz bytes) at *o, which then grows by
 * the length printed; once *o reaches outsz nothing more is written (the
 * text is cut there, still NUL-terminated). */
void mbfs_putf(char *out, size_t outsz, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Room for element n of a growing array v of elem-byte elements with
 * room for *cap: v itself, or v moved to twice the room (first min);
 * NULL when out of memory (v is then unchanged and still the caller's).
 *   T *nv = mbfs_grow(a->v, &a->cap, a->n, sizeof *nv, 16);
 *   if (!nv) return false; a->v = nv; */
void *mbfs_grow(void *v, size_t *cap, size_t n, size_t elem, size_t min);

/* ---- JSON structure, byte by byte --------------------------------------
 * The one scanner of JSON's structure that the streaming list decoder
 * (json_stream.c) and export verification (verify.c) both run: it knows
 * strings, their escapes and bracket nesting, nothing else (json-c parses
 * the values). Caller-owned state, no allocation, no lock. */

struct mbfs_jscan {
	int depth;                 /* open brackets outside strings */
	bool in_str, esc;          /* inside a string; after its backslash */
};

enum mbfs_jscan_ev {
	MBFS_JSCAN_NONE,           /* string content or a non-bracket byte */
	MBFS_JSCAN_OPEN,           /* '{' or '[' (depth already raised) */
	MBFS_JSCAN_CLOSE,          /* '}' or ']' (depth already lowered) */
};

static inline enum mbfs_jscan_ev mbfs_jscan_step(struct mbfs_jscan *s, char c)
{
	if (s->in_str) {
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == '"')
			s->in_str = false;
		return MBFS_JSCAN_NONE;
	}
	switch (c) {
	case '"':
		s->in_str = true;
		return MBFS_JSCAN_NONE;
	case '{':
	case '[':
		s->depth++;
		return MBFS_JSCAN_OPEN;
	case '}':
	case ']':
		s->depth--;
		return MBFS_JSCAN_CLOSE;
	default:
		return MBFS_JSCAN_NONE;
	}
}

/* ---- the string-keyed hash map ----------------------------------------- */

struct mbfs_map_item {
	struct mbfs_map_item *next;  /* chain (the map's) */
	const char *key;             /* owned by the embedding struct */
	uint64_t hash;
};

struct mbfs_map {
	struct mbfs_map_item **buckets;
	size_t n_buckets;            /* 0 or a power of two */
	size_t n;
};

/* The struct of type `type` whose member `member` is the item it. */
#define MBFS_MAP_ENTRY(it, type, member)                                    \
	((type *)(void *)((char *)(it) - offsetof(type, member)))

/* An empty map (allocates nothing yet). */
void mbfs_map_init(struct mbfs_map *m);
/* Room for n items without growing (optional). False: out of memory. */
bool mbfs_map_reserve(struct mbfs_map *m, size_t n);
/* Free the buckets (the items are the caller's); the map is then empty. */
void mbfs_map_destroy(struct mbfs_map *m);
size_t mbfs_map_count(const struct mbfs_map *m);
/* The item with this key, or NULL. */
struct mbfs_map_item *mbfs_map_get(const struct mbfs_map *m, const char *key);
/* Add it under key (which must not be in the map; it must live as long as
 * it is in the map). The map doubles when it holds as many items as
 * buckets. False only when the first bucket array cannot be allocated. */
bool mbfs_map_put(struct mbfs_map *m, struct mbfs_map_item *it,
		  const char *key);
/* Remove it (which must be in the map). */
void mbfs_map_del(struct mbfs_map *m, struct mbfs_map_item *it);

/* Every item, in bucket order; the item returned last may be removed
 * (not others, and nothing may be added) during the walk:
 *   struct mbfs_map_iter i;
 *   for (struct mbfs_map_item *it = mbfs_map_first(m, &i); it;
 *        it = mbfs_map_next(&i)) ... */
struct mbfs_map_iter {
	const struct mbfs_map *m;
	size_t bucket;
	struct mbfs_map_item *next;
};
struct mbfs_map_item *mbfs_map_first(const struct mbfs_map *m,
				     struct mbfs_map_iter *i);
struct mbfs_map_item *mbfs_map_next(struct mbfs_map_iter *i);

#endif
