/*
 * inode.c — owns the inode-number layout and the ino → node hash map.
 *
 * Layout of a number (64 bits):
 *   bits 56..63  kind  (enum mbfs_kind)
 *   bits 48..55  format (enum mbfs_fmt)
 *   bits  0..47  Metabase id, two's complement truncated to 48 bits
 * The root is 1. No real number is < 2^56, so nothing else can be 1.
 */
#include "inode.h"

#include <stdlib.h>
#include <string.h>

#define ID_BITS 48
#define ID_MASK ((UINT64_C(1) << ID_BITS) - 1)

const char *mbfs_fmt_name(enum mbfs_fmt f)
{
	switch (f) {
	case MBFS_FMT_CSV: return "csv";
	case MBFS_FMT_JSON: return "json";
	case MBFS_FMT_XLSX: return "xlsx";
	case MBFS_FMT_SQL: return "sql";
	default: return "";
	}
}

const char *mbfs_fmt_ext(enum mbfs_fmt f)
{
	switch (f) {
	case MBFS_FMT_CSV: return ".csv";
	case MBFS_FMT_JSON: return ".json";
	case MBFS_FMT_XLSX: return ".xlsx";
	case MBFS_FMT_SQL: return ".sql";
	default: return "";
	}
}

enum mbfs_fmt mbfs_fmt_parse(const char *name)
{
	static const enum mbfs_fmt all[] = {MBFS_FMT_CSV, MBFS_FMT_JSON,
					    MBFS_FMT_XLSX, MBFS_FMT_SQL};
	for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
		if (strcmp(name, mbfs_fmt_name(all[i])) == 0)
			return all[i];
	return MBFS_FMT_NONE;
}

bool mbfs_kind_is_dir(enum mbfs_kind k)
{
	return k < MBFS_K_CARD_FILE;
}

bool mbfs_kind_is_data(enum mbfs_kind k)
{
	return k == MBFS_K_CARD_FILE || k == MBFS_K_TABLE_FILE ||
	       k == MBFS_K_DASHCARD_FILE;
}

uint64_t mbfs_inode_number(enum mbfs_kind kind, enum mbfs_fmt fmt, int64_t id)
{
	if (kind == MBFS_K_ROOT)
		return 1;
	return ((uint64_t)kind << 56) | ((uint64_t)fmt << ID_BITS) |
	       ((uint64_t)id & ID_MASK);
}

enum mbfs_kind mbfs_inode_kind(uint64_t ino)
{
	if (ino == 1)
		return MBFS_K_ROOT;
	return (enum mbfs_kind)(ino >> 56);
}

enum mbfs_fmt mbfs_inode_fmt(uint64_t ino)
{
	return (enum mbfs_fmt)((ino >> ID_BITS) & 0xff);
}

int64_t mbfs_inode_id(uint64_t ino)
{
	uint64_t v = ino & ID_MASK;
	if (v & (UINT64_C(1) << (ID_BITS - 1)))
		v |= ~ID_MASK; /* sign-extend */
	return (int64_t)v;
}

int64_t mbfs_inode_hash_id(int64_t parent_id, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t p = (uint64_t)parent_id;
	for (int i = 0; i < 8; i++) {
		h ^= (p >> (i * 8)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	for (const unsigned char *s = (const unsigned char *)name; s && *s; s++) {
		h ^= *s;
		h *= 0x100000001b3ULL;
	}
	return (int64_t)(h & (ID_MASK >> 1));
}

/* ---- hash map ----------------------------------------------------------- */

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

void mbfs_inode_table_init(struct mbfs_inode_table *t)
{
	memset(t, 0, sizeof *t);
}

void mbfs_inode_table_destroy(struct mbfs_inode_table *t)
{
	free(t->keys);
	free(t->vals);
	memset(t, 0, sizeof *t);
}

void *mbfs_inode_table_get(const struct mbfs_inode_table *t, uint64_t ino)
{
	if (!t->cap || !ino)
		return NULL;
	for (size_t i = slot_of(ino, t->cap);; i = (i + 1) & (t->cap - 1)) {
		if (t->keys[i] == ino)
			return t->vals[i];
		if (t->keys[i] == 0)
			return NULL;
	}
}

static bool grow(struct mbfs_inode_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	uint64_t *nk = calloc(ncap, sizeof *nk);
	void **nv = calloc(ncap, sizeof *nv);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return false;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->keys[i])
			continue;
		size_t j = slot_of(t->keys[i], ncap);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = t->keys[i];
		nv[j] = t->vals[i];
	}
	free(t->keys);
	free(t->vals);
	t->keys = nk;
	t->vals = nv;
	t->cap = ncap;
	return true;
}

bool mbfs_inode_table_put(struct mbfs_inode_table *t, uint64_t ino, void *val)
{
	if (!ino)
		return false;
	if ((t->n + 1) * 4 >= t->cap * 3 && !grow(t))
		return false;
	size_t i = slot_of(ino, t->cap);
	while (t->keys[i] && t->keys[i] != ino)
		i = (i + 1) & (t->cap - 1);
	if (!t->keys[i])
		t->n++;
	t->keys[i] = ino;
	t->vals[i] = val;
	return true;
}

void mbfs_inode_table_each(const struct mbfs_inode_table *t,
			   void (*fn)(void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->keys[i])
			fn(t->vals[i], arg);
}
