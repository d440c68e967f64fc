/*
 * name.c — owns the mapping from Metabase names to file names (DESIGN.md §1):
 * escaping ('/' → "／", controls → '_'), UTF-8-safe truncation to
 * MBFS_NAME_MAX, and the per-directory collision rules (sticky first, then
 * by (id, kind rank); losers get " [<id>]", then " [<id>-<rank>]", then are
 * dropped). See name.h.
 */
#include "name.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Length of the well-formed UTF-8 sequence starting at s (s NUL-terminated),
 * or 0 when the bytes there are not one (a lone continuation byte, an
 * overlong form, a surrogate, a code point past U+10FFFF, a cut sequence).
 * ASCII gives 1. Never reads past the terminating NUL, which is not a
 * continuation byte.
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* One unit for cutting: a valid UTF-8 character, or else a single byte. */
static size_t unit_len(const unsigned char *s)
{
	size_t n = utf8_seq_len(s);

	return n ? n : 1;
}

/* The longest prefix of s, at most max bytes, that ends on a unit boundary. */
static size_t cut_len(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	while (p[len]) {
		size_t u = unit_len(p + len);

		if (u > max - len)
			break;
		len += u;
	}
	return len;
}

size_t mbfs_name_escape(const char *raw, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)raw;
	size_t len = 0;

	if (!out || outsz == 0)
		return 0;
	if (!raw || !raw[0]) {
		if (outsz >= 2)
			out[len++] = '_';
		out[len] = '\0';
		return len;
	}
	while (*p) {
		size_t room = outsz - 1 - len;
		unsigned char c = *p;

		if (c == '/') {
			if (room < 3)
				break;
			out[len++] = (char)0xEF;
			out[len++] = (char)0xBC;
			out[len++] = (char)0x8F;
			p++;
		} else if ((c >= 0x01 && c <= 0x1F) || c == 0x7F) {
			if (room < 1)
				break;
			out[len++] = '_';
			p++;
		} else {
			size_t u = unit_len(p);

			if (room < u)
				break;
			memcpy(out + len, p, u);
			len += u;
			p += u;
		}
	}
	out[len] = '\0';
	return len;
}

size_t mbfs_name_build(const char *base, const char *suffix, const char *ext,
		       char out[MBFS_NAME_MAX + 1])
{
	size_t sl, el, bl, len = 0;

	if (!base)
		base = "";
	if (!suffix)
		suffix = "";
	if (!ext)
		ext = "";
	sl = strlen(suffix);
	el = strlen(ext);
	if (sl + el <= MBFS_NAME_MAX) {
		bl = cut_len(base, MBFS_NAME_MAX - sl - el);
		memcpy(out, base, bl);
		len = bl;
	} else {
		/* Pathological: suffix and extension alone overflow. */
		sl = cut_len(suffix, MBFS_NAME_MAX);
		el = cut_len(ext, MBFS_NAME_MAX - sl);
	}
	memcpy(out + len, suffix, sl);
	len += sl;
	memcpy(out + len, ext, el);
	len += el;
	out[len] = '\0';
	return len;
}

/* ---- the set of names taken in a directory ------------------------------- */

#define SET_PLAIN 1u    /* the plain name of an object earlier in the order */
#define SET_ASSIGNED 2u /* a name given out in this directory */

struct set_entry {
	struct mbfs_map_item item; /* keyed by the name (not owned) */
	unsigned flags;
};

/* A name is added at most twice per name of an object (its plain name and
 * the one it is given), so the entries come from one array sized up front
 * and the map is reserved for them: adding never allocates. */
struct name_set {
	struct mbfs_map map;
	struct set_entry *pool;
	size_t used, cap;
};

static unsigned set_flags(struct name_set *set, const char *s)
{
	struct mbfs_map_item *it = mbfs_map_get(&set->map, s);

	return it ? MBFS_MAP_ENTRY(it, struct set_entry, item)->flags : 0;
}

/* s must stay valid as long as the set is used. */
static void set_add(struct name_set *set, const char *s, unsigned flags)
{
	struct mbfs_map_item *it = mbfs_map_get(&set->map, s);

	if (!it) {
		struct set_entry *e = &set->pool[set->used];

		if (set->used == set->cap ||
		    !mbfs_map_put(&set->map, &e->item, s))
			return; /* cannot happen: sized up front */
		set->used++;
		it = &e->item;
	}
	MBFS_MAP_ENTRY(it, struct set_entry, item)->flags |= flags;
}

/* ---- assignment ----------------------------------------------------------- */

struct item {
	struct mbfs_name_obj *o;
	size_t n_exts; /* clamped to MBFS_NAME_MAX_EXTS */
	const char *plain[MBFS_NAME_MAX_EXTS];
};

static int cmp_raw(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Total order: sticky first, then (id, rank), then anything else that
 * differs, so that the outcome never depends on the input order. */
static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	const struct mbfs_name_obj *x = a->o, *y = b->o;
	size_t i;
	int c;

	if (x->sticky != y->sticky)
		return x->sticky ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->kind_rank != y->kind_rank)
		return x->kind_rank < y->kind_rank ? -1 : 1;
	c = cmp_raw(x->raw, y->raw);
	if (c)
		return c;
	if (a->n_exts != b->n_exts)
		return a->n_exts < b->n_exts ? -1 : 1;
	for (i = 0; i < a->n_exts; i++) {
		c = strcmp(a->plain[i], b->plain[i]);
		if (c)
			return c;
	}
	/* Identical objects: interchangeable, any fixed order will do. */
	return (x > y) - (x < y);
}

static bool name_reserved(const char *s)
{
	return s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

/* True when names[0..n) are all distinct, not reserved, and none has any of
 * the flags in `against` in the set. */
static bool names_free(struct name_set *set, const char *const *names,
		       size_t n, unsigned against)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (name_reserved(names[i]))
			return false;
		if (set_flags(set, names[i]) & against)
			return false;
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				return false;
	}
	return true;
}

static void obj_clear(struct mbfs_name_obj *o)
{
	size_t e;

	for (e = 0; e < MBFS_NAME_MAX_EXTS; e++)
		o->names[e][0] = '\0';
}

static size_t obj_n_exts(const struct mbfs_name_obj *o)
{
	return o->n_exts < MBFS_NAME_MAX_EXTS ? o->n_exts : MBFS_NAME_MAX_EXTS;
}

/* Build o's names as escaped(raw) + suffix + ext into o->names. */
static void obj_build(struct mbfs_name_obj *o, size_t n_exts,
		      const char *suffix)
{
	char base[MBFS_NAME_MAX + 1];
	size_t e;

	/* Escaping into MBFS_NAME_MAX + 1 bytes cuts at a unit boundary, which
	 * mbfs_name_build would have cut at (or before) anyway. */
	mbfs_name_escape(o->raw, base, sizeof(base));
	for (e = 0; e < n_exts; e++)
		mbfs_name_build(base, suffix, o->exts[e], o->names[e]);
}

/* Try o's names with suffix; on success they are in o->names and taken. */
static bool try_suffix(struct name_set *set, struct mbfs_name_obj *o,
		       size_t n_exts, const char *suffix)
{
	const char *names[MBFS_NAME_MAX_EXTS] = {NULL};
	size_t e;

	obj_build(o, n_exts, suffix);
	for (e = 0; e < n_exts; e++)
		names[e] = o->names[e];
	if (!names_free(set, names, n_exts, SET_ASSIGNED))
		return false;
	for (e = 0; e < n_exts; e++)
		set_add(set, o->names[e], SET_ASSIGNED);
	return true;
}

size_t mbfs_name_assign(struct mbfs_name_obj *objs, size_t n)
{
	struct item *items = NULL;
	struct name_set set;
	char *arena = NULL, *ap;
	size_t total_names = 0, arena_len = 0, i, e, named = 0;

	if (!objs || n == 0)
		return 0;

	/* Plain names, built in place, then copied into one arena since
	 * disambiguation overwrites o->names but the plain names still block
	 * later objects. */
	for (i = 0; i < n; i++) {
		struct mbfs_name_obj *o = &objs[i];
		size_t ne = obj_n_exts(o);

		o->disambiguated = false;
		o->dropped = false;
		obj_clear(o);
		obj_build(o, ne, "");
		for (e = 0; e < ne; e++)
			arena_len += strlen(o->names[e]) + 1;
		total_names += ne;
	}

	/* At most two entries per name (plain + disambiguated). */
	memset(&set, 0, sizeof(set));
	mbfs_map_init(&set.map);
	if (n <= SIZE_MAX / sizeof(*items) &&
	    total_names <= SIZE_MAX / 2 / sizeof(*set.pool)) {
		set.cap = 2 * total_names;
		items = malloc(n * sizeof(*items));
		set.pool = calloc(set.cap ? set.cap : 1, sizeof(*set.pool));
		arena = malloc(arena_len ? arena_len : 1);
	}
	if (!items || !set.pool || !arena ||
	    !mbfs_map_reserve(&set.map, set.cap)) {
		free(items);
		free(set.pool);
		free(arena);
		mbfs_map_destroy(&set.map);
		for (i = 0; i < n; i++) {
			obj_clear(&objs[i]);
			objs[i].dropped = true;
		}
		return 0;
	}
	ap = arena;
	for (i = 0; i < n; i++) {
		struct item *it = &items[i];

		it->o = &objs[i];
		it->n_exts = obj_n_exts(it->o);
		for (e = 0; e < it->n_exts; e++) {
			size_t l = strlen(it->o->names[e]) + 1;

			memcpy(ap, it->o->names[e], l);
			it->plain[e] = ap;
			ap += l;
		}
	}

	qsort(items, n, sizeof(*items), cmp_item);

	for (i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct mbfs_name_obj *o = it->o;
		size_t ne = it->n_exts;
		char suffix[64];
		bool keep = names_free(&set, it->plain, ne,
				       SET_PLAIN | SET_ASSIGNED);

		for (e = 0; e < ne; e++)
			set_add(&set, it->plain[e],
				keep ? SET_PLAIN | SET_ASSIGNED : SET_PLAIN);
		if (keep) {
			/* o->names still holds the plain names. */
			named++;
			continue;
		}
		snprintf(suffix, sizeof(suffix), " [%" PRId64 "]", o->id);
		if (!try_suffix(&set, o, ne, suffix)) {
			snprintf(suffix, sizeof(suffix), " [%" PRId64 "-%d]",
				 o->id, o->kind_rank);
			if (!try_suffix(&set, o, ne, suffix)) {
				obj_clear(o);
				o->dropped = true;
				continue;
			}
		}
		o->disambiguated = true;
		named++;
	}

	free(items);
	free(set.pool);
	mbfs_map_destroy(&set.map);
	free(arena);
	return named;
}
