/*
 * util.c — owns the shared helpers of util.h: the clocks, FNV-1a, dup0
 * and the string-keyed hash map (separate chaining, power-of-two bucket
 * counts, doubling at load factor 1). See util.h for why it is not uthash.
 */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAP_MIN_BUCKETS 64

static double clock_seconds(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double mbfs_mono_now(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

double mbfs_wall_now(void)
{
	return clock_seconds(CLOCK_REALTIME);
}

uint64_t mbfs_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t mbfs_fnv1a_str(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

char *mbfs_dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

int mbfs_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void mbfs_putf(char *out, size_t outsz, size_t *o, const char *fmt, ...)
{
	if (*o >= outsz)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *o, outsz - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (size_t)n;
}

void *mbfs_grow(void *v, size_t *cap, size_t n, size_t elem, size_t min)
{
	if (n < *cap)
		return v;
	size_t nc = *cap ? *cap * 2 : min;
	if (nc < n + 1 || nc > SIZE_MAX / elem)
		return NULL;
	void *nv = realloc(v, nc * elem);
	if (nv)
		*cap = nc;
	return nv;
}

/* ---- the map ------------------------------------------------------------ */

void mbfs_map_init(struct mbfs_map *m)
{
	memset(m, 0, sizeof *m);
}

/* Move every item into nb buckets (nb a power of two). */
static bool map_rehash(struct mbfs_map *m, size_t nb)
{
	struct mbfs_map_item **b = calloc(nb, sizeof *b);
	if (!b)
		return false;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct mbfs_map_item *it = m->buckets[i];
		while (it) {
			struct mbfs_map_item *next = it->next;
			size_t k = (size_t)it->hash & (nb - 1);
			it->next = b[k];
			b[k] = it;
			it = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
	return true;
}

bool mbfs_map_reserve(struct mbfs_map *m, size_t n)
{
	size_t nb = m->n_buckets ? m->n_buckets : MAP_MIN_BUCKETS;
	while (nb < n && nb <= SIZE_MAX / 2 / sizeof *m->buckets)
		nb *= 2;
	return nb == m->n_buckets || map_rehash(m, nb);
}

void mbfs_map_destroy(struct mbfs_map *m)
{
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

size_t mbfs_map_count(const struct mbfs_map *m)
{
	return m->n;
}

struct mbfs_map_item *mbfs_map_get(const struct mbfs_map *m, const char *key)
{
	if (!m->n_buckets)
		return NULL;
	uint64_t h = mbfs_fnv1a_str(MBFS_FNV1A_INIT, key);
	for (struct mbfs_map_item *it = m->buckets[h & (m->n_buckets - 1)]; it;
	     it = it->next)
		if (it->hash == h && strcmp(it->key, key) == 0)
			return it;
	return NULL;
}

bool mbfs_map_put(struct mbfs_map *m, struct mbfs_map_item *it,
		  const char *key)
{
	if (!m->n_buckets && !mbfs_map_reserve(m, MAP_MIN_BUCKETS))
		return false;
	if (m->n + 1 > m->n_buckets && m->n_buckets <= SIZE_MAX / 2 / sizeof *m->buckets)
		map_rehash(m, m->n_buckets * 2); /* on failure: longer chains */
	it->key = key;
	it->hash = mbfs_fnv1a_str(MBFS_FNV1A_INIT, key);
	struct mbfs_map_item **b = &m->buckets[it->hash & (m->n_buckets - 1)];
	it->next = *b;
	*b = it;
	m->n++;
	return true;
}

void mbfs_map_del(struct mbfs_map *m, struct mbfs_map_item *it)
{
	for (struct mbfs_map_item **pp = &m->buckets[it->hash & (m->n_buckets - 1)];
	     *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			m->n--;
			return;
		}
	}
}

/* The first item at or after bucket i->bucket, with i->next set past it. */
static struct mbfs_map_item *iter_from(struct mbfs_map_iter *i)
{
	for (; i->bucket < i->m->n_buckets; i->bucket++) {
		struct mbfs_map_item *it = i->m->buckets[i->bucket];
		if (it) {
			i->next = it->next;
			i->bucket++;
			return it;
		}
	}
	i->next = NULL;
	return NULL;
}

struct mbfs_map_item *mbfs_map_first(const struct mbfs_map *m,
				     struct mbfs_map_iter *i)
{
	i->m = m;
	i->bucket = 0;
	i->next = NULL;
	return iter_from(i);
}

struct mbfs_map_item *mbfs_map_next(struct mbfs_map_iter *i)
{
	struct mbfs_map_item *it = i->next;
	if (it) {
		i->next = it->next;
		return it;
	}
	return iter_from(i);
}
