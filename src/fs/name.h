/*
 * name.h — turning hostile Metabase names into file names (DESIGN.md §1).
 *
 * Pure functions: no allocation except where stated, no locks, no blocking.
 *
 * Rules:
 *  - '/' becomes "／" (U+FF0F); C0 controls 0x01–0x1F and DEL become '_';
 *    everything else is kept byte for byte (invalid UTF-8 included).
 *    An empty name becomes "_".
 *  - The base is cut at a UTF-8 character boundary so that
 *    base + suffix + extension fits in MBFS_NAME_MAX (255) bytes.
 *  - Collisions are decided per directory on the final names (extension
 *    included); "." and ".." count as taken. Objects are considered in the
 *    order: previously-named ("sticky") first, then by (key, kind rank); the
 *    first object whose plain names are all free keeps them, every other
 *    colliding object gets " [<id>]" after its base in ALL of its names.
 */
#ifndef MBFS_NAME_H
#define MBFS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBFS_NAME_MAX 255
#define MBFS_NAME_MAX_EXTS 8

/*
 * Escape raw (NUL-terminated, may be NULL → "_") into out (outsz bytes,
 * NUL-terminated, truncated at a UTF-8 boundary when too long).
 * Returns the length written.
 */
size_t mbfs_name_escape(const char *raw, char *out, size_t outsz);

/*
 * Build base + suffix + ext into out[MBFS_NAME_MAX + 1], cutting base at a
 * UTF-8 boundary so the whole fits in MBFS_NAME_MAX bytes. suffix and ext
 * may be "" (ext includes its dot: ".csv"). Returns the length.
 */
size_t mbfs_name_build(const char *base, const char *suffix, const char *ext,
		       char out[MBFS_NAME_MAX + 1]);

/* One object that wants names in a directory. */
struct mbfs_name_obj {
	/* in */
	const char *raw;            /* the server's name (may be NULL) */
	int64_t id;                 /* Metabase id (dashcards: dashcard id) */
	int kind_rank;              /* tie-break: collection 0, dashboard 1, card 2, table 3 */
	const char *exts[MBFS_NAME_MAX_EXTS]; /* "" for a directory, ".csv", ... */
	size_t n_exts;
	bool sticky;                /* had its plain names in the previous listing */
	/* out */
	char names[MBFS_NAME_MAX_EXTS][MBFS_NAME_MAX + 1];
	bool disambiguated;         /* got " [id]" */
	bool dropped;               /* could not be named at all (pathological) */
};

/*
 * Assign names to objs[0..n) per the rules above. Stable: the result does
 * not depend on the order of objs. If even the " [id]" names collide (a
 * server name that literally ends in " [7]"), " [<id>-<rank>]" is tried, and
 * failing that the object is marked dropped. Returns the number of objects
 * that got names. Allocates scratch memory internally; returns 0 and marks
 * everything dropped only if that allocation fails.
 */
size_t mbfs_name_assign(struct mbfs_name_obj *objs, size_t n);

#endif
