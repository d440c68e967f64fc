/*
 * fuzz_name.c — libFuzzer target: name escaping (mbfs_name_escape,
 * mbfs_name_build) and collision assignment (mbfs_name_assign).
 *
 * Input: records separated by NUL bytes; each record is a flags byte, an
 * id byte and the server's name (the rest, possibly empty). Flags: bit 0
 * sticky, bits 1-2 kind rank, bits 3-5 which extensions the object wants,
 * bit 6 name NULL. Objects with an (id, rank) already seen are skipped (a
 * directory never lists one object twice).
 *
 * Invariants: an escaped name is terminated, fits its buffer, holds no '/'
 * and no control character; every name given out is non-empty, at most
 * MBFS_NAME_MAX bytes, free of '/' and controls, not "." or "..", and
 * unique in the directory; the return value counts the named objects; the
 * outcome does not depend on the order of the objects.
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "name.h"

#define MAX_OBJS 48

static const char *const ext_sets[8][4] = {
	{""}, {".csv"}, {".csv", ".json"}, {".csv", ".json", ".xlsx"},
	{".sql"}, {".csv", ".json", ".xlsx", ".sql"}, {".json"}, {"", ".csv"},
};
static const size_t ext_counts[8] = {1, 1, 2, 3, 1, 4, 1, 2};

static void check_name(const char *s, size_t bufsz)
{
	FUZZ_ASSERT(fuzz_terminated(s, bufsz));
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_ASSERT(*p != '/' && *p >= 0x20 && *p != 0x7f);
}

static void check_escape(const char *raw)
{
	static const size_t sizes[] = {1, 2, 3, 4, 5, 17, 256, 1024};
	char out[1024];
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(out, 'x', sizeof out);
		size_t n = mbfs_name_escape(raw, out, sizes[i]);
		FUZZ_ASSERT(n < sizes[i]);
		FUZZ_ASSERT(strlen(out) == n);
		check_name(out, sizes[i]);
	}
	/* build with the suffixes and extensions assign uses */
	char esc[MBFS_NAME_MAX + 1], built[MBFS_NAME_MAX + 1];
	mbfs_name_escape(raw, esc, sizeof esc);
	size_t n = mbfs_name_build(esc, " [-9223372036854775807-3]", ".xlsx", built);
	FUZZ_ASSERT(n <= MBFS_NAME_MAX && strlen(built) == n);
	n = mbfs_name_build(esc, "", "", built);
	FUZZ_ASSERT(n <= MBFS_NAME_MAX && strlen(built) == n);
	/* pathological: the suffix alone overflows */
	n = mbfs_name_build("", raw ? raw : "", raw ? raw : "", built);
	FUZZ_ASSERT(n <= MBFS_NAME_MAX && strlen(built) == n);
}

struct parsed {
	struct mbfs_name_obj objs[MAX_OBJS];
	char *raws[MAX_OBJS];
	size_t n;
};

static void parse(const uint8_t *data, size_t size, struct parsed *p)
{
	size_t off = 0;
	p->n = 0;
	while (off < size && p->n < MAX_OBJS) {
		const uint8_t *end = memchr(data + off, 0, size - off);
		size_t len = end ? (size_t)(end - (data + off)) : size - off;
		const uint8_t *rec = data + off;
		off += len + 1;
		if (len < 2)
			continue;
		uint8_t flags = rec[0];
		int64_t id = (int8_t)rec[1];
		int rank = (flags >> 1) & 3;
		bool dup = false;
		for (size_t i = 0; i < p->n; i++)
			if (p->objs[i].id == id && p->objs[i].kind_rank == rank)
				dup = true;
		if (dup)
			continue;
		struct mbfs_name_obj *o = &p->objs[p->n];
		memset(o, 0, sizeof *o);
		p->raws[p->n] = (flags & 0x40) ? NULL : fuzz_cstr(rec + 2, len - 2);
		o->raw = p->raws[p->n];
		o->id = id;
		o->kind_rank = rank;
		o->sticky = flags & 1;
		unsigned set = (flags >> 3) & 7;
		o->n_exts = ext_counts[set];
		for (size_t e = 0; e < o->n_exts; e++)
			o->exts[e] = ext_sets[set][e];
		p->n++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *whole = fuzz_cstr(data, size);
	check_escape(whole);
	check_escape(NULL);
	free(whole);

	static struct parsed a, b;
	parse(data, size, &a);
	if (a.n == 0)
		return 0;
	for (size_t i = 0; i < a.n; i++)
		check_escape(a.objs[i].raw);

	/* the same objects in reverse order */
	b.n = a.n;
	for (size_t i = 0; i < a.n; i++) {
		b.objs[i] = a.objs[a.n - 1 - i];
		b.raws[i] = NULL;
	}
	size_t named = mbfs_name_assign(a.objs, a.n);
	size_t named_b = mbfs_name_assign(b.objs, b.n);
	FUZZ_ASSERT(named == named_b);

	size_t count = 0;
	for (size_t i = 0; i < a.n; i++) {
		const struct mbfs_name_obj *o = &a.objs[i];
		const struct mbfs_name_obj *r = &b.objs[a.n - 1 - i];
		FUZZ_ASSERT(o->dropped == r->dropped &&
			    o->disambiguated == r->disambiguated);
		if (o->dropped)
			continue;
		count++;
		for (size_t e = 0; e < o->n_exts; e++) {
			const char *s = o->names[e];
			FUZZ_ASSERT(strcmp(s, r->names[e]) == 0);
			check_name(s, sizeof o->names[e]);
			FUZZ_ASSERT(s[0] != '\0' && strlen(s) <= MBFS_NAME_MAX);
			FUZZ_ASSERT(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
			/* unique in the directory */
			for (size_t j = 0; j <= i; j++) {
				const struct mbfs_name_obj *q = &a.objs[j];
				if (q->dropped)
					continue;
				for (size_t f = 0; f < q->n_exts; f++) {
					if (j == i && f == e)
						continue;
					FUZZ_ASSERT(strcmp(s, q->names[f]) != 0);
				}
			}
		}
	}
	FUZZ_ASSERT(count == named);
	for (size_t i = 0; i < a.n; i++)
		free(a.raws[i]);
	return 0;
}
