/*
 * objects.h — the neutral half of the backend seam: how a backend that is
 * not Metabase describes its tree to the core (DESIGN.md §5, §10).
 *
 * Such a backend names every directory and file by an opaque key of its
 * own ("r:1c9e6a0b55d2"). Its `objects` op (mb_client.h) returns what the
 * root, or the directory with a given key, contains: directories, data
 * files (their reads run the backend's export_run with that key, as
 * MB_EXPORT_OBJECT) and text files (their bytes come with the listing: a
 * query's SQL, an object exactly as its API returned it). The core names
 * them (DESIGN.md §1: escaping, collisions with " [<id>]", stickiness),
 * caches the listings, and applies every rule of §2 to the data files; it
 * never learns what a key means.
 *
 * Memory: a struct mbfs_object_list owns its objects and their strings
 * (heap copies; names are hostile server text); free with
 * mbfs_object_list_free (NULL and zeroed lists allowed). Pure data: no
 * locks, nothing blocks.
 */
#ifndef MBFS_OBJECTS_H
#define MBFS_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what one listing may hold (a backend past them fails the
 * listing with MBFS_ERR_TOO_BIG rather than grow without bound). */
#define MBFS_OBJECTS_MAX 100000
#define MBFS_OBJECT_TEXT_MAX (16u << 20)
/* Longest key (bytes): keys are part of result keys ("obj:KEY:csv") */
#define MBFS_OBJECT_KEY_MAX 120

enum mbfs_object_type {
	MBFS_OBJ_DIR = 1,          /* a directory: key lists it */
	MBFS_OBJ_DATA,             /* a result, one file per format */
	MBFS_OBJ_TEXT,             /* a file whose bytes are `text` */
};

/* Formats of a data object (bits). */
#define MBFS_OBJ_CSV 1u
#define MBFS_OBJ_JSON 2u
#define MBFS_OBJ_XLSX 4u

struct mbfs_object {
	enum mbfs_object_type type;
	char *key;                 /* the backend's identity; never NULL; two
				      objects with one key are one node */
	char *name;                /* the server's name (raw: the core
				      escapes it), or NULL for `fixed` */
	const char *fixed;         /* a name of the backend's own ("reports"):
				      static text, no escaping, no collision */
	int64_t id;                /* the number in a collision suffix
				      " [<id>]"; 0: the key's */
	unsigned formats;          /* DATA: MBFS_OBJ_* the backend can serve */
	char *sql;                 /* DATA: the query's SQL, shown as NAME.sql
				      beside the data files (NULL: none) */
	char *text;                /* TEXT: the file's bytes (NUL-free) */
	const char *ext;           /* TEXT: the extension (".json") */
	char *description;
	char *updated_at;          /* ISO-8601 as the server sent it */
	/* Extended attributes, "name\tvalue\n" lines (names start with
	 * "user."; values without tab or newline), or NULL. */
	char *xattrs;
};

struct mbfs_object_list {
	struct mbfs_object *v;
	size_t n, cap;
};

/* A new zeroed object at the end of l (NULL: out of memory or past
 * MBFS_OBJECTS_MAX). */
struct mbfs_object *mbfs_object_add(struct mbfs_object_list *l);
void mbfs_object_list_free(struct mbfs_object_list *l);

/* Append "name\tvalue\n" to *xattrs (value's tabs and newlines become
 * spaces). False when out of memory. */
bool mbfs_object_xattr_add(char **xattrs, const char *name, const char *value);

#endif
