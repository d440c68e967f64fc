/*
 * fuzz_mb_json_stream.c — libFuzzer target: the streaming list decoder
 * (mb_json_stream_*) for every list kind.
 *
 * The body is fed three times per kind: whole (keep_text), in random-sized
 * pieces (keep_text; the cuts come from a PRNG seeded by the input, so a
 * saved crash replays), and in other pieces without keep_text. Beyond "no
 * crash, no leak, no UB", the result must not depend on where the body was
 * cut: same status, same element count, same decoded ids and names, same
 * kept text; the kept text is NUL-terminated at its length and is a JSON
 * array (metadata/ files serve it as is): mb_json_list_array, strict, takes
 * it back unchanged with the same element count.
 */
#include "fuzz_util.h"

#include <stdbool.h>

#include "mb_json.h"
#include "mb_types.h"

union list {
	struct mb_card_list cards;
	struct mb_collection_list collections;
	struct mb_dashboard_list dashboards;
	struct mb_database_list databases;
	struct mb_user_list users;
};

struct result {
	enum mbfs_status st;
	union list l;
	char *text;
	size_t text_len, count;
	bool fed_ok;
};

static void run(enum mb_json_list_kind kind, bool keep, const char *b,
		size_t n, struct fuzz_rng *rng, struct result *r)
{
	struct mb_json_stream *s = mb_json_stream_new(kind, keep);
	FUZZ_ASSERT(s != NULL);
	size_t off = 0;
	bool ok = true;
	while (ok && off < n) {
		size_t k = rng ? fuzz_piece(rng, n - off) : n - off;
		/* each piece in its own exact-size buffer: no read may
		 * reach into the next one */
		char *piece = fuzz_dup((const uint8_t *)b + off, k);
		ok = mb_json_stream_feed(s, piece, k);
		free(piece);
		off += k;
	}
	r->fed_ok = ok;
	memset(&r->l, 0, sizeof r->l);
	struct mbfs_err err;
	r->text = NULL;
	r->st = mb_json_stream_finish(s, &r->l, keep ? &r->text : NULL,
				      &r->text_len, &r->count, &err);
	if (r->st != MBFS_OK)
		FUZZ_ASSERT(fuzz_terminated(err.msg, sizeof err.msg));
	if (r->text)
		FUZZ_ASSERT(r->text[r->text_len] == '\0');
	mb_json_stream_free(s);
}

static int streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Same decoded elements (ids and the main strings). */
static void same_list(enum mb_json_list_kind kind, const union list *a,
		      const union list *b)
{
	switch (kind) {
	case MB_JSON_LIST_CARDS:
		FUZZ_ASSERT(a->cards.n == b->cards.n);
		for (size_t i = 0; i < a->cards.n; i++) {
			FUZZ_ASSERT(a->cards.v[i].id == b->cards.v[i].id);
			FUZZ_ASSERT(streq(a->cards.v[i].name, b->cards.v[i].name));
			FUZZ_ASSERT(streq(a->cards.v[i].native_sql,
					  b->cards.v[i].native_sql));
		}
		break;
	case MB_JSON_LIST_COLLECTIONS:
		FUZZ_ASSERT(a->collections.n == b->collections.n);
		for (size_t i = 0; i < a->collections.n; i++) {
			FUZZ_ASSERT(a->collections.v[i].id == b->collections.v[i].id);
			FUZZ_ASSERT(streq(a->collections.v[i].name,
					  b->collections.v[i].name));
			FUZZ_ASSERT(streq(a->collections.v[i].location,
					  b->collections.v[i].location));
		}
		break;
	case MB_JSON_LIST_DASHBOARDS:
		FUZZ_ASSERT(a->dashboards.n == b->dashboards.n);
		for (size_t i = 0; i < a->dashboards.n; i++) {
			FUZZ_ASSERT(a->dashboards.v[i].id == b->dashboards.v[i].id);
			FUZZ_ASSERT(streq(a->dashboards.v[i].name,
					  b->dashboards.v[i].name));
		}
		break;
	case MB_JSON_LIST_DATABASES:
		FUZZ_ASSERT(a->databases.n == b->databases.n);
		for (size_t i = 0; i < a->databases.n; i++) {
			FUZZ_ASSERT(a->databases.v[i].id == b->databases.v[i].id);
			FUZZ_ASSERT(streq(a->databases.v[i].name,
					  b->databases.v[i].name));
		}
		break;
	case MB_JSON_LIST_USERS:
		FUZZ_ASSERT(a->users.n == b->users.n);
		for (size_t i = 0; i < a->users.n; i++) {
			FUZZ_ASSERT(a->users.v[i].id == b->users.v[i].id);
			FUZZ_ASSERT(streq(a->users.v[i].email, b->users.v[i].email));
			FUZZ_ASSERT(streq(a->users.v[i].common_name,
					  b->users.v[i].common_name));
		}
		break;
	}
}

static void free_list(enum mb_json_list_kind kind, union list *l)
{
	switch (kind) {
	case MB_JSON_LIST_CARDS: mb_card_list_free(&l->cards); break;
	case MB_JSON_LIST_COLLECTIONS: mb_collection_list_free(&l->collections); break;
	case MB_JSON_LIST_DASHBOARDS: mb_dashboard_list_free(&l->dashboards); break;
	case MB_JSON_LIST_DATABASES: mb_database_list_free(&l->databases); break;
	case MB_JSON_LIST_USERS: mb_user_list_free(&l->users); break;
	}
}

/* The kept text is a JSON array of count elements: mb_json_list_array
 * (strict) takes it back unchanged. The array adds a level to its
 * elements' nesting, so an element at the nesting limit passes alone but
 * not inside it: only that failure is allowed. */
static void check_text(const char *text, size_t len, size_t count)
{
	char *again;
	size_t alen, n;
	struct mbfs_err err;
	if (mb_json_list_array(text, len, &again, &alen, &n, &err) != MBFS_OK) {
		FUZZ_ASSERT(strstr(err.msg, "nesting too deep") != NULL);
		return;
	}
	FUZZ_ASSERT(alen == len && memcmp(again, text, len) == 0 && n == count);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mb_json_list_kind kinds[] = {
		MB_JSON_LIST_CARDS, MB_JSON_LIST_COLLECTIONS,
		MB_JSON_LIST_DASHBOARDS, MB_JSON_LIST_DATABASES,
		MB_JSON_LIST_USERS,
	};
	const char *b = (const char *)data;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		struct fuzz_rng rng;
		struct result whole, pieces, nokeep;
		run(kinds[k], true, b, size, NULL, &whole);
		fuzz_rng_init(&rng, data, size, k);
		run(kinds[k], true, b, size, &rng, &pieces);
		fuzz_rng_init(&rng, data, size, k + 100);
		run(kinds[k], false, b, size, &rng, &nokeep);

		FUZZ_ASSERT(whole.st == pieces.st && whole.st == nokeep.st);
		if (whole.st == MBFS_OK) {
			/* (without keep_text an envelope reports no count:
			 * only the kept-text runs compare it) */
			FUZZ_ASSERT(whole.count == pieces.count);
			same_list(kinds[k], &whole.l, &pieces.l);
			same_list(kinds[k], &whole.l, &nokeep.l);
			FUZZ_ASSERT(whole.text_len == pieces.text_len);
			FUZZ_ASSERT((whole.text == NULL) == (pieces.text == NULL));
			if (whole.text) {
				FUZZ_ASSERT(memcmp(whole.text, pieces.text,
						   whole.text_len) == 0);
				FUZZ_ASSERT(whole.text[0] == '[');
				check_text(whole.text, whole.text_len,
					   whole.count);
			}
		}
		free(whole.text);
		free(pieces.text);
		free(nokeep.text);
		free_list(kinds[k], &whole.l);
		free_list(kinds[k], &pieces.l);
		free_list(kinds[k], &nokeep.l);
	}
	return 0;
}
