/*
 * test_name.c — unit tests of name.c: escaping, UTF-8-safe truncation and
 * the per-directory collision rules (checked against a naive reference and
 * for independence from the input order).
 */
#include "check.h"
#include "name.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---------------------------------------------------------- */

/* Strict UTF-8 validation, written independently of name.c. */
static bool valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		uint32_t cp;
		size_t n, i;

		if (s[0] < 0x80) {
			s++;
			continue;
		} else if ((s[0] & 0xE0) == 0xC0) {
			n = 2;
			cp = s[0] & 0x1Fu;
		} else if ((s[0] & 0xF0) == 0xE0) {
			n = 3;
			cp = s[0] & 0x0Fu;
		} else if ((s[0] & 0xF8) == 0xF0) {
			n = 4;
			cp = s[0] & 0x07u;
		} else {
			return false;
		}
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3Fu);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += n;
	}
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

static char *repeat(const char *prefix, const char *unit, size_t times)
{
	size_t pl = strlen(prefix), ul = strlen(unit), i;
	char *s = malloc(pl + ul * times + 1);

	if (!s)
		abort();
	memcpy(s, prefix, pl);
	for (i = 0; i < times; i++)
		memcpy(s + pl + i * ul, unit, ul);
	s[pl + ul * times] = '\0';
	return s;
}

static void obj_init(struct mbfs_name_obj *o, const char *raw, int64_t id,
		     int rank, bool sticky, const char *e0, const char *e1)
{
	memset(o, 0, sizeof(*o));
	o->raw = raw;
	o->id = id;
	o->kind_rank = rank;
	o->sticky = sticky;
	if (e0)
		o->exts[o->n_exts++] = e0;
	if (e1)
		o->exts[o->n_exts++] = e1;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void shuffle(struct mbfs_name_obj *objs, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rng() % i;
		struct mbfs_name_obj t = objs[i - 1];

		objs[i - 1] = objs[j];
		objs[j] = t;
	}
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* All names given out are distinct, valid-length, not "."/"..". */
static bool all_unique(const struct mbfs_name_obj *objs, size_t n)
{
	size_t total = 0, k = 0, i, e;
	const char **v;
	bool ok = true;

	for (i = 0; i < n; i++)
		if (!objs[i].dropped)
			total += objs[i].n_exts;
	v = malloc((total ? total : 1) * sizeof(*v));
	if (!v)
		abort();
	for (i = 0; i < n; i++) {
		if (objs[i].dropped)
			continue;
		for (e = 0; e < objs[i].n_exts; e++) {
			const char *s = objs[i].names[e];

			if (!s[0] || strcmp(s, ".") == 0 ||
			    strcmp(s, "..") == 0 || strlen(s) > MBFS_NAME_MAX)
				ok = false;
			v[k++] = s;
		}
	}
	qsort(v, k, sizeof(*v), cmp_str_ptr);
	for (i = 1; i < k; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			ok = false;
	free(v);
	return ok;
}

/* ---- escaping --------------------------------------------------------- */

static void test_escape(void)
{
	char out[MBFS_NAME_MAX + 1];
	char small[8];

	CHECK_INT(mbfs_name_escape("a/b", out, sizeof(out)), 5);
	CHECK_STR(out, "a\xEF\xBC\x8F" "b");
	CHECK_STR(out, "a／b");
	mbfs_name_escape("/", out, sizeof(out));
	CHECK_STR(out, "／");
	mbfs_name_escape("//x//", out, sizeof(out));
	CHECK_STR(out, "／／x／／");

	mbfs_name_escape("a\x01" "b\x1F" "c\x7F" "d\ne\tf\r", out, sizeof(out));
	CHECK_STR(out, "a_b_c_d_e_f_");
	mbfs_name_escape("\x1B[31mred", out, sizeof(out));
	CHECK_STR(out, "_[31mred");
	/* Space and printable ASCII kept, leading dots kept. */
	mbfs_name_escape(" .hidden ~!@#$%^&*()\\", out, sizeof(out));
	CHECK_STR(out, " .hidden ~!@#$%^&*()\\");
	mbfs_name_escape("..", out, sizeof(out));
	CHECK_STR(out, "..");

	/* Multibyte kept. */
	mbfs_name_escape("Café 日本 😀 ／", out, sizeof(out));
	CHECK_STR(out, "Café 日本 😀 ／");
	/* Invalid UTF-8 kept byte for byte. */
	CHECK_INT(mbfs_name_escape("\xFF\xFE" "a\xC3" "b\xE2\x82" "c\x80"
				   "\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80",
				   out, sizeof(out)), 18);
	CHECK_STR(out, "\xFF\xFE" "a\xC3" "b\xE2\x82" "c\x80"
		       "\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80");
	/* Invalid bytes still get '/' and controls escaped around them. */
	mbfs_name_escape("\xFF/\x01\xC3", out, sizeof(out));
	CHECK_STR(out, "\xFF\xEF\xBC\x8F_\xC3");

	/* Empty and NULL. */
	CHECK_INT(mbfs_name_escape("", out, sizeof(out)), 1);
	CHECK_STR(out, "_");
	CHECK_INT(mbfs_name_escape(NULL, out, sizeof(out)), 1);
	CHECK_STR(out, "_");

	/* Truncation at a character boundary. */
	CHECK_INT(mbfs_name_escape("ab日本", small, 5), 2); /* 日 needs 3, 2 left */
	CHECK_STR(small, "ab");
	CHECK_INT(mbfs_name_escape("ab日本", small, 6), 5);
	CHECK_STR(small, "ab日");
	CHECK_INT(mbfs_name_escape("a😀", small, 5), 1);
	CHECK_STR(small, "a");
	CHECK_INT(mbfs_name_escape("a😀", small, 6), 5);
	CHECK_STR(small, "a😀");
	CHECK_INT(mbfs_name_escape("ab/", small, 5), 2);
	CHECK_STR(small, "ab");
	CHECK_INT(mbfs_name_escape("abc\x01" "d", small, 5), 4);
	CHECK_STR(small, "abc_");
	/* Invalid bytes may be cut anywhere. */
	CHECK_INT(mbfs_name_escape("\xFF\xFF\xFF\xFF", small, 3), 2);
	CHECK_STR(small, "\xFF\xFF");
	CHECK_INT(mbfs_name_escape("a\xE2\x82", small, 3), 2);
	CHECK_STR(small, "a\xE2");
	/* Tiny buffers. */
	CHECK_INT(mbfs_name_escape("abc", small, 1), 0);
	CHECK_STR(small, "");
	CHECK_INT(mbfs_name_escape(NULL, small, 1), 0);
	CHECK_STR(small, "");
	small[0] = 'Z';
	CHECK_INT(mbfs_name_escape("abc", small, 0), 0);
	CHECK(small[0] == 'Z');
}

/* ---- truncation --------------------------------------------------------- */

/* Build prefix + unit*times with suffix/ext and check the result: valid,
 * within 255 bytes, ends with suffix+ext, and the base is the longest
 * prefix that fits (one more unit would overflow). */
static void check_cut(const char *prefix, const char *unit, size_t times,
		      const char *suffix, const char *ext)
{
	char out[MBFS_NAME_MAX + 1];
	char tail[64];
	char *base = repeat(prefix, unit, times);
	size_t len = mbfs_name_build(base, suffix, ext, out);
	size_t fixed = strlen(suffix) + strlen(ext);
	size_t ul = strlen(unit), pl = strlen(prefix);
	size_t bl;

	snprintf(tail, sizeof(tail), "%s%s", suffix, ext);
	CHECK_INT(len, strlen(out));
	CHECK(len <= MBFS_NAME_MAX);
	CHECK(valid_utf8(out));
	CHECK(ends_with(out, tail));
	bl = len - fixed;
	CHECK(memcmp(out, base, bl) == 0);
	CHECK(bl >= pl && (bl - pl) % ul == 0);
	if (strlen(base) + fixed > MBFS_NAME_MAX)
		CHECK(bl + ul + fixed > MBFS_NAME_MAX);
	else
		CHECK_INT(bl, strlen(base));
	free(base);
}

static void test_build(void)
{
	static const char *const units[] = {"a", "é", "日", "😀"};
	static const char *const exts[] = {"", ".csv", ".json", ".sql"};
	static const char *const suffixes[] = {"", " [7]", " [123456789-2]"};
	char out[MBFS_NAME_MAX + 1];
	char *base;
	size_t u, k, x, s;

	/* Exact examples. */
	CHECK_INT(mbfs_name_build("Revenue", "", ".csv", out), 11);
	CHECK_STR(out, "Revenue.csv");
	CHECK_INT(mbfs_name_build("Revenue", " [7]", ".json", out), 16);
	CHECK_STR(out, "Revenue [7].json");
	CHECK_INT(mbfs_name_build("Revenue", "", "", out), 7);
	CHECK_STR(out, "Revenue");

	/* 300 ASCII bytes + ".csv" → 251 + 4. */
	base = repeat("", "a", 300);
	CHECK_INT(mbfs_name_build(base, "", ".csv", out), 255);
	CHECK(ends_with(out, "a.csv"));
	free(base);

	/* 2-byte: budget 251 → 125 é (250 bytes), total 254. */
	base = repeat("", "é", 200);
	CHECK_INT(mbfs_name_build(base, "", ".csv", out), 254);
	CHECK(valid_utf8(out));
	free(base);
	/* 3-byte: budget 251 → 83 日 (249 bytes), total 253. */
	base = repeat("", "日", 100);
	CHECK_INT(mbfs_name_build(base, "", ".csv", out), 253);
	CHECK(valid_utf8(out));
	/* 3-byte with suffix: budget 255-4-5 = 246 → 82 日 exactly. */
	CHECK_INT(mbfs_name_build(base, " [7]", ".json", out), 255);
	CHECK(valid_utf8(out));
	CHECK(ends_with(out, "日 [7].json"));
	free(base);
	/* 4-byte: budget 251 → 62 😀 (248 bytes), total 252. */
	base = repeat("", "😀", 80);
	CHECK_INT(mbfs_name_build(base, "", ".csv", out), 252);
	CHECK(valid_utf8(out));
	free(base);

	/* Invalid bytes are cut at byte boundaries. */
	base = repeat("", "\xFF", 300);
	CHECK_INT(mbfs_name_build(base, "", ".csv", out), 255);
	free(base);

	/* Every alignment of every width at the boundary. */
	for (u = 0; u < 4; u++)
		for (k = 0; k < 4; k++)
			for (x = 0; x < 4; x++)
				for (s = 0; s < 3; s++) {
					char prefix[8];

					memset(prefix, 'x', k);
					prefix[k] = '\0';
					check_cut(prefix, units[u], 300,
						  suffixes[s], exts[x]);
					check_cut(prefix, units[u], 10,
						  suffixes[s], exts[x]);
				}

	/* Pathological: suffix + ext longer than 255 still yields ≤ 255. */
	base = repeat("", "é", 200);
	{
		char *ext = repeat(".", "日", 100);

		CHECK(mbfs_name_build("abc", "", ext, out) <= MBFS_NAME_MAX);
		CHECK(valid_utf8(out));
		CHECK(mbfs_name_build("abc", base, ext, out) <= MBFS_NAME_MAX);
		CHECK(valid_utf8(out));
		free(ext);
	}
	free(base);
}

/* A long raw name through assign: every name ≤ 255 bytes, valid, with ext. */
static void test_long_assign(void)
{
	struct mbfs_name_obj objs[3];
	char *raw2 = repeat("", "日/", 120);  /* "／" is 3 bytes too */
	char *raw4 = repeat("z", "😀", 100);
	size_t i, e;

	obj_init(&objs[0], raw2, 5, 2, false, ".csv", ".json");
	obj_init(&objs[1], raw2, 9, 2, false, ".csv", ".json");
	obj_init(&objs[2], raw4, 1, 0, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	for (i = 0; i < 3; i++)
		for (e = 0; e < objs[i].n_exts; e++) {
			CHECK(strlen(objs[i].names[e]) <= MBFS_NAME_MAX);
			CHECK(valid_utf8(objs[i].names[e]));
			CHECK(ends_with(objs[i].names[e], objs[i].exts[e]));
		}
	CHECK(!objs[0].disambiguated);
	CHECK(objs[1].disambiguated);
	CHECK(ends_with(objs[1].names[0], " [9].csv"));
	CHECK(ends_with(objs[1].names[1], " [9].json"));
	CHECK(all_unique(objs, 3));
	free(raw2);
	free(raw4);
}

/* ---- collisions --------------------------------------------------------- */

static void test_two_cards(void)
{
	struct mbfs_name_obj objs[2];

	obj_init(&objs[0], "Revenue", 7, 2, false, ".csv", ".json");
	obj_init(&objs[1], "Revenue", 3, 2, false, ".csv", ".json");
	CHECK_INT(mbfs_name_assign(objs, 2), 2);
	CHECK_STR(objs[1].names[0], "Revenue.csv");
	CHECK_STR(objs[1].names[1], "Revenue.json");
	CHECK(!objs[1].disambiguated);
	CHECK_STR(objs[0].names[0], "Revenue [7].csv");
	CHECK_STR(objs[0].names[1], "Revenue [7].json");
	CHECK(objs[0].disambiguated);
	CHECK(!objs[0].dropped && !objs[1].dropped);
}

static void test_dir_and_card(void)
{
	struct mbfs_name_obj objs[2];

	obj_init(&objs[0], "Revenue", 4, 2, false, ".csv", ".json");
	obj_init(&objs[1], "Revenue", 9, 0, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 2), 2);
	CHECK_STR(objs[0].names[0], "Revenue.csv");
	CHECK_STR(objs[0].names[1], "Revenue.json");
	CHECK_STR(objs[1].names[0], "Revenue");
	CHECK(!objs[0].disambiguated && !objs[1].disambiguated);
}

static void test_same_id_kinds(void)
{
	struct mbfs_name_obj objs[3];

	/* A table (3), a card (2) and a collection (0), all id 5 and "X"
	 * with the same extension "": the collection wins. */
	obj_init(&objs[0], "X", 5, 3, false, "", NULL);
	obj_init(&objs[1], "X", 5, 2, false, "", NULL);
	obj_init(&objs[2], "X", 5, 0, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[2].names[0], "X");
	CHECK(!objs[2].disambiguated);
	/* Card (rank 2) comes before the table: it takes "X [5]"; the table
	 * falls back to "X [5-3]". */
	CHECK_STR(objs[1].names[0], "X [5]");
	CHECK_STR(objs[0].names[0], "X [5-3]");
	CHECK(objs[0].disambiguated && objs[1].disambiguated);
}

static void test_dots(void)
{
	struct mbfs_name_obj objs[4];

	obj_init(&objs[0], ".", 1, 2, false, "", NULL);
	obj_init(&objs[1], "..", 2, 0, false, "", NULL);
	obj_init(&objs[2], ".", 3, 2, false, ".csv", NULL); /* ".csv" is fine */
	obj_init(&objs[3], "...", 4, 0, false, "", NULL);   /* fine too */
	CHECK_INT(mbfs_name_assign(objs, 4), 4);
	CHECK_STR(objs[0].names[0], ". [1]");
	CHECK(objs[0].disambiguated);
	CHECK_STR(objs[1].names[0], ".. [2]");
	CHECK(objs[1].disambiguated);
	CHECK_STR(objs[2].names[0], "..csv");
	CHECK(!objs[2].disambiguated);
	CHECK_STR(objs[3].names[0], "...");
	CHECK(!objs[3].disambiguated);
}

static void test_sticky(void)
{
	struct mbfs_name_obj objs[3];

	/* id 40 had "Revenue" in the previous listing; a new id 3 must not
	 * take it over. */
	obj_init(&objs[0], "Revenue", 3, 2, false, ".csv", ".json");
	obj_init(&objs[1], "Revenue", 40, 2, true, ".csv", ".json");
	obj_init(&objs[2], "Revenue", 2, 0, false, "", NULL); /* no collision */
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[1].names[0], "Revenue.csv");
	CHECK_STR(objs[1].names[1], "Revenue.json");
	CHECK(!objs[1].disambiguated);
	CHECK_STR(objs[0].names[0], "Revenue [3].csv");
	CHECK_STR(objs[0].names[1], "Revenue [3].json");
	CHECK(objs[0].disambiguated);
	CHECK_STR(objs[2].names[0], "Revenue");

	/* Two sticky objects (should not happen, but) use (id, rank) order. */
	obj_init(&objs[0], "A", 9, 2, true, ".csv", NULL);
	obj_init(&objs[1], "A", 8, 2, true, ".csv", NULL);
	obj_init(&objs[2], "A", 1, 2, false, ".csv", NULL);
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[1].names[0], "A.csv");
	CHECK_STR(objs[0].names[0], "A [9].csv");
	CHECK_STR(objs[2].names[0], "A [1].csv");
}

static void test_literal_suffix(void)
{
	struct mbfs_name_obj objs[4];

	/* Card 3 is literally named "Revenue [7]": it is earlier than card 7,
	 * so card 7 cannot use "Revenue [7]" and falls back to [7-2]. */
	obj_init(&objs[0], "Revenue", 7, 2, false, ".csv", ".json");
	obj_init(&objs[1], "Revenue [7]", 3, 2, false, ".csv", ".json");
	obj_init(&objs[2], "Revenue", 5, 2, false, ".csv", ".json");
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[1].names[0], "Revenue [7].csv");
	CHECK_STR(objs[1].names[1], "Revenue [7].json");
	CHECK(!objs[1].disambiguated);
	CHECK_STR(objs[2].names[0], "Revenue.csv");
	CHECK_STR(objs[0].names[0], "Revenue [7-2].csv");
	CHECK_STR(objs[0].names[1], "Revenue [7-2].json");
	CHECK(objs[0].disambiguated);
	CHECK(all_unique(objs, 3));

	/* Card 9 named "Revenue [7]" comes after card 7, which already took
	 * "Revenue [7]": the earlier object keeps priority. */
	obj_init(&objs[0], "Revenue", 7, 2, false, ".csv", ".json");
	obj_init(&objs[1], "Revenue [7]", 9, 2, false, ".csv", ".json");
	obj_init(&objs[2], "Revenue", 5, 2, false, ".csv", ".json");
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[2].names[0], "Revenue.csv");
	CHECK_STR(objs[0].names[0], "Revenue [7].csv");
	CHECK_STR(objs[1].names[0], "Revenue [7] [9].csv");
	CHECK_STR(objs[1].names[1], "Revenue [7] [9].json");
	CHECK(all_unique(objs, 3));

	/* Even [id-rank] taken: dropped. */
	obj_init(&objs[0], "R", 7, 2, false, "", NULL);
	obj_init(&objs[1], "R [7]", 1, 2, false, "", NULL);
	obj_init(&objs[2], "R [7-2]", 2, 2, false, "", NULL);
	obj_init(&objs[3], "R", 3, 2, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 4), 3);
	CHECK(objs[0].dropped);
	CHECK_STR(objs[0].names[0], "");
	CHECK(!objs[1].dropped && !objs[2].dropped && !objs[3].dropped);
	CHECK_STR(objs[3].names[0], "R");
	CHECK(all_unique(objs, 4));
}

static void test_partial_collision(void)
{
	struct mbfs_name_obj objs[3];

	/* One colliding name is enough to rename ALL names of an object. */
	obj_init(&objs[0], "Q", 1, 2, false, ".csv", NULL);
	obj_init(&objs[1], "Q", 2, 2, false, ".csv", ".json");
	CHECK_INT(mbfs_name_assign(objs, 2), 2);
	CHECK_STR(objs[0].names[0], "Q.csv");
	CHECK_STR(objs[1].names[0], "Q [2].csv");
	CHECK_STR(objs[1].names[1], "Q [2].json");

	/* An escaped name colliding with a literal fullwidth slash. */
	obj_init(&objs[0], "a/b", 4, 0, false, "", NULL);
	obj_init(&objs[1], "a／b", 2, 0, false, "", NULL);
	obj_init(&objs[2], "a\x01", 3, 0, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 3), 3);
	CHECK_STR(objs[1].names[0], "a／b");
	CHECK_STR(objs[0].names[0], "a／b [4]");
	CHECK_STR(objs[2].names[0], "a_");

	/* NULL and "" are both "_". */
	obj_init(&objs[0], NULL, 4, 0, false, "", NULL);
	obj_init(&objs[1], "", 2, 0, false, "", NULL);
	CHECK_INT(mbfs_name_assign(objs, 2), 2);
	CHECK_STR(objs[1].names[0], "_");
	CHECK_STR(objs[0].names[0], "_ [4]");

	/* Zero objects. */
	CHECK_INT(mbfs_name_assign(NULL, 0), 0);
}

/* ---- naive reference and randomized comparison -------------------------- */

#define REF_MAX 4096

struct ref_names {
	const char *v[REF_MAX];
	size_t n;
};

static bool ref_has(const struct ref_names *r, const char *s)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i], s) == 0)
			return true;
	return false;
}

static bool ref_free(const struct ref_names *a, const struct ref_names *b,
		     char names[][MBFS_NAME_MAX + 1], size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!names[i][0] || strcmp(names[i], ".") == 0 ||
		    strcmp(names[i], "..") == 0)
			return false;
		if (ref_has(a, names[i]) || (b && ref_has(b, names[i])))
			return false;
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				return false;
	}
	return true;
}

struct ref_out {
	char names[MBFS_NAME_MAX_EXTS][MBFS_NAME_MAX + 1];
	char plain[MBFS_NAME_MAX_EXTS][MBFS_NAME_MAX + 1];
	bool disambiguated, dropped;
};

static const struct mbfs_name_obj *ref_sort_base;

static int ref_cmp(const void *pa, const void *pb)
{
	const struct mbfs_name_obj *x = &ref_sort_base[*(const size_t *)pa];
	const struct mbfs_name_obj *y = &ref_sort_base[*(const size_t *)pb];

	if (x->sticky != y->sticky)
		return x->sticky ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->kind_rank > y->kind_rank) - (x->kind_rank < y->kind_rank);
}

/* The rules of name.h, literally, in O(n²). (id, rank) must be unique. */
static void ref_assign(const struct mbfs_name_obj *objs, size_t n,
		       struct ref_out *out)
{
	static struct ref_names plain, assigned;
	size_t order[256];
	size_t i, k, e;

	plain.n = assigned.n = 0;
	for (i = 0; i < n; i++)
		order[i] = i;
	ref_sort_base = objs;
	qsort(order, n, sizeof(order[0]), ref_cmp);
	for (k = 0; k < n; k++) {
		const struct mbfs_name_obj *o = &objs[order[k]];
		struct ref_out *r = &out[order[k]];
		char base[MBFS_NAME_MAX + 1], sfx[64];
		int attempt;

		memset(r, 0, sizeof(*r));
		mbfs_name_escape(o->raw, base, sizeof(base));
		for (e = 0; e < o->n_exts; e++)
			mbfs_name_build(base, "", o->exts[e], r->plain[e]);
		if (ref_free(&plain, &assigned, r->plain, o->n_exts)) {
			memcpy(r->names, r->plain, sizeof(r->names));
			for (e = 0; e < o->n_exts; e++) {
				plain.v[plain.n++] = r->plain[e];
				assigned.v[assigned.n++] = r->plain[e];
			}
			continue;
		}
		for (e = 0; e < o->n_exts; e++)
			plain.v[plain.n++] = r->plain[e];
		r->dropped = true;
		for (attempt = 0; attempt < 2; attempt++) {
			if (attempt == 0)
				snprintf(sfx, sizeof(sfx), " [%lld]",
					 (long long)o->id);
			else
				snprintf(sfx, sizeof(sfx), " [%lld-%d]",
					 (long long)o->id, o->kind_rank);
			for (e = 0; e < o->n_exts; e++)
				mbfs_name_build(base, sfx, o->exts[e],
						r->names[e]);
			if (ref_free(&assigned, NULL, r->names, o->n_exts)) {
				for (e = 0; e < o->n_exts; e++)
					assigned.v[assigned.n++] = r->names[e];
				r->dropped = false;
				r->disambiguated = true;
				break;
			}
		}
		if (r->dropped)
			memset(r->names, 0, sizeof(r->names));
	}
}

static const char *const pool[] = {
	"Revenue", "Revenue [3]", "Revenue [7]", "Revenue [7-2]", "Revenue.csv",
	".", "..", "", NULL, "a/b", "a／b", "x\x01", "x_", "x\x7F", "_",
	"Revenue [3] [4]", "Revenue [3-2]", "\xFF", ". [1]", "Revenue [5].json",
};

static const char *const ext_sets[][3] = {
	{"", NULL, NULL},
	{".csv", ".json", NULL},
	{".csv", NULL, NULL},
	{".json", NULL, NULL},
	{".sql", ".csv", ".json"},
};

static const struct mbfs_name_obj *find_key(const struct mbfs_name_obj *objs,
					    size_t n, int64_t id, int rank)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (objs[i].id == id && objs[i].kind_rank == rank)
			return &objs[i];
	return NULL;
}

static void test_random_vs_reference(void)
{
	static struct mbfs_name_obj objs[64], copy[64];
	static struct ref_out ref[64];
	const size_t npool = sizeof(pool) / sizeof(pool[0]);
	int round, mismatches = 0, order_diffs = 0;

	for (round = 0; round < 400; round++) {
		size_t n = 1 + rng() % 40, i, e, named = 0, got;
		bool used[16][4];
		int s;

		memset(used, 0, sizeof(used));
		for (i = 0; i < n; i++) {
			struct mbfs_name_obj *o = &objs[i];
			const char *const *es = ext_sets[rng() % 5];
			int64_t id;
			int rank;

			do {
				id = 1 + rng() % 16;
				rank = (int)(rng() % 4);
			} while (used[id - 1][rank]);
			used[id - 1][rank] = true;
			memset(o, 0, sizeof(*o));
			o->raw = pool[rng() % npool];
			o->id = id % 16 == 0 ? 10000000000LL : id;
			o->kind_rank = rank;
			o->sticky = rng() % 5 == 0;
			for (e = 0; e < 3 && es[e]; e++)
				o->exts[o->n_exts++] = es[e];
		}
		ref_assign(objs, n, ref);
		got = mbfs_name_assign(objs, n);
		for (i = 0; i < n; i++) {
			bool same = objs[i].dropped == ref[i].dropped &&
				    objs[i].disambiguated ==
					    ref[i].disambiguated;

			for (e = 0; e < objs[i].n_exts; e++)
				if (strcmp(objs[i].names[e],
					   ref[i].names[e]) != 0)
					same = false;
			if (!same)
				mismatches++;
			if (!objs[i].dropped)
				named++;
		}
		CHECK_INT(got, named);
		CHECK(all_unique(objs, n));

		/* Shuffled input gives each object the same names. */
		for (s = 0; s < 3; s++) {
			memcpy(copy, objs, n * sizeof(objs[0]));
			for (i = 0; i < n; i++)
				memset(copy[i].names, 'X',
				       sizeof(copy[i].names));
			shuffle(copy, n);
			CHECK_INT(mbfs_name_assign(copy, n), got);
			for (i = 0; i < n; i++) {
				const struct mbfs_name_obj *a = &copy[i];
				const struct mbfs_name_obj *b =
					find_key(objs, n, a->id, a->kind_rank);

				if (!b || a->dropped != b->dropped ||
				    a->disambiguated != b->disambiguated) {
					order_diffs++;
					continue;
				}
				for (e = 0; e < a->n_exts; e++)
					if (strcmp(a->names[e],
						   b->names[e]) != 0)
						order_diffs++;
			}
		}
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(order_diffs, 0);
}

/* ---- a big directory ----------------------------------------------------- */

static void test_big(void)
{
	const size_t n = 20000;
	struct mbfs_name_obj *objs = calloc(n, sizeof(*objs));
	struct mbfs_name_obj *copy = calloc(n, sizeof(*objs));
	char (*raws)[32] = calloc(n, sizeof(*raws));
	struct timespec t0, t1;
	size_t i, e, got, plain = 0, dis = 0, diffs = 0;
	double ms;

	if (!objs || !copy || !raws)
		abort();
	for (i = 0; i < n; i++) {
		/* ~500 distinct names, some of them literally "[id]"-suffixed. */
		unsigned r = rng() % 500;

		if (r < 20)
			snprintf(raws[i], sizeof(raws[i]), "Name %u [%u]",
				 r, 1 + rng() % 20000);
		else
			snprintf(raws[i], sizeof(raws[i]), "Name/%u", r);
		obj_init(&objs[i], raws[i], (int64_t)(i + 1),
			 (int)(rng() % 4), rng() % 10 == 0,
			 i % 3 ? ".csv" : "", i % 3 ? ".json" : NULL);
	}
	shuffle(objs, n);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = mbfs_name_assign(objs, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("assign: %zu objects in %.1f ms\n", n, ms);

	CHECK(all_unique(objs, n));
	for (i = 0; i < n; i++) {
		if (objs[i].dropped)
			continue;
		if (objs[i].disambiguated)
			dis++;
		else
			plain++;
		for (e = 0; e < objs[i].n_exts; e++) {
			CHECK(ends_with(objs[i].names[e], objs[i].exts[e]));
			CHECK(strncmp(objs[i].names[e], "Name", 4) == 0);
		}
	}
	CHECK_INT(got, n);
	CHECK_INT(plain + dis, n);
	CHECK(plain > 0 && dis > 0);

	/* Order independence at scale. */
	memcpy(copy, objs, n * sizeof(*objs));
	shuffle(copy, n);
	CHECK_INT(mbfs_name_assign(copy, n), got);
	/* ids are unique here: sort both by id and compare. */
	{
		struct mbfs_name_obj *byid_a = calloc(n, sizeof(*objs));
		struct mbfs_name_obj *byid_b = calloc(n, sizeof(*objs));

		if (!byid_a || !byid_b)
			abort();
		for (i = 0; i < n; i++) {
			byid_a[objs[i].id - 1] = objs[i];
			byid_b[copy[i].id - 1] = copy[i];
		}
		for (i = 0; i < n; i++) {
			if (byid_a[i].disambiguated != byid_b[i].disambiguated)
				diffs++;
			for (e = 0; e < byid_a[i].n_exts; e++)
				if (strcmp(byid_a[i].names[e],
					   byid_b[i].names[e]) != 0)
					diffs++;
		}
		free(byid_a);
		free(byid_b);
	}
	CHECK_INT(diffs, 0);

	free(objs);
	free(copy);
	free(raws);
}

int main(void)
{
	test_escape();
	test_build();
	test_long_assign();
	test_two_cards();
	test_dir_and_card();
	test_same_id_kinds();
	test_dots();
	test_sticky();
	test_literal_suffix();
	test_partial_collision();
	test_random_vs_reference();
	test_big();
	return check_done();
}
