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

#include "util.h"

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
	       k == MBFS_K_DASHCARD_FILE || k == MBFS_K_QUERY_FILE ||
	       k == MBFS_K_PUBLIC_CARD_FILE || k == MBFS_K_PUBLIC_DASHCARD_FILE ||
	       k == MBFS_K_PARAM_FILE || k == MBFS_K_OBJ_FILE;
}

bool mbfs_kind_is_text(enum mbfs_kind k)
{
	return k == MBFS_K_SQL_FILE || k == MBFS_K_OBJ_TEXT;
}

uint64_t mbfs_inode_number(enum mbfs_kind kind, enum mbfs_fmt fmt, int64_t id)
{
	if (kind == MBFS_K_ROOT)
		return 1;
	/* two's complement in 48 bits: -2^47 <= id < 2^47 */
	if (id < -(INT64_C(1) << (ID_BITS - 1)) || id >= (INT64_C(1) << (ID_BITS - 1)))
		return 0;
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
	/* the id's bytes, least significant first, then the name */
	uint64_t p = (uint64_t)parent_id;
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(p >> (i * 8));
	uint64_t h = mbfs_fnv1a(MBFS_FNV1A_INIT, b, sizeof b);
	h = mbfs_fnv1a_str(h, name);
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

void mbfs_inode_table_del(struct mbfs_inode_table *t, uint64_t ino)
{
	if (!t->cap || !ino)
		return;
	size_t i = slot_of(ino, t->cap);
	while (t->keys[i] && t->keys[i] != ino)
		i = (i + 1) & (t->cap - 1);
	if (!t->keys[i])
		return;
	t->keys[i] = 0;
	t->vals[i] = NULL;
	t->n--;
	/* re-place the rest of the cluster (linear probing) */
	for (size_t j = (i + 1) & (t->cap - 1); t->keys[j];
	     j = (j + 1) & (t->cap - 1)) {
		uint64_t k = t->keys[j];
		void *v = t->vals[j];
		t->keys[j] = 0;
		t->vals[j] = NULL;
		size_t s = slot_of(k, t->cap);
		while (t->keys[s])
			s = (s + 1) & (t->cap - 1);
		t->keys[s] = k;
		t->vals[s] = v;
	}
}

/* ---- identity map --------------------------------------------------------- */

uint64_t mbfs_ident_kind(enum mbfs_kind kind, enum mbfs_fmt fmt)
{
	return ((uint64_t)kind << 8) | (uint64_t)fmt;
}

static size_t ident_slot(uint64_t a, uint64_t b, size_t cap)
{
	return slot_of(a * 0x9e3779b97f4a7c15ULL ^ b, cap);
}

void mbfs_ident_table_init(struct mbfs_ident_table *t)
{
	memset(t, 0, sizeof *t);
}

void mbfs_ident_table_destroy(struct mbfs_ident_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}

void *mbfs_ident_table_get(const struct mbfs_ident_table *t, uint64_t a,
			   uint64_t b)
{
	if (!t->cap)
		return NULL;
	for (size_t i = ident_slot(a, b, t->cap);; i = (i + 1) & (t->cap - 1)) {
		const struct mbfs_ident_slot *s = &t->slots[i];
		if (!s->val)
			return NULL;
		if (s->a == a && s->b == b)
			return s->val;
	}
}

static bool ident_grow(struct mbfs_ident_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	struct mbfs_ident_slot *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		const struct mbfs_ident_slot *s = &t->slots[i];
		if (!s->val)
			continue;
		size_t j = ident_slot(s->a, s->b, ncap);
		while (ns[j].val)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return true;
}

bool mbfs_ident_table_put(struct mbfs_ident_table *t, uint64_t a, uint64_t b,
			  void *val)
{
	if (!val)
		return false;
	if ((t->n + 1) * 4 >= t->cap * 3 && !ident_grow(t))
		return false;
	size_t i = ident_slot(a, b, t->cap);
	while (t->slots[i].val && !(t->slots[i].a == a && t->slots[i].b == b))
		i = (i + 1) & (t->cap - 1);
	if (!t->slots[i].val)
		t->n++;
	t->slots[i].a = a;
	t->slots[i].b = b;
	t->slots[i].val = val;
	return true;
}

void mbfs_ident_table_each(const struct mbfs_ident_table *t,
			   void (*fn)(void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].val)
			fn(t->slots[i].val, arg);
}
