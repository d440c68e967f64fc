/*
 * inode.h — stable inode numbers, and the tables that map numbers and
 * identities to nodes.
 *
 * An inode number is derived from what an entry IS, never from when it was
 * seen: (kind, format, Metabase id) packed into 64 bits, so the same card
 * file has the same number in every directory it appears in, across
 * re-listings, renames on the server and remounts. Ids are 64-bit end to
 * end: an id that does not fit the packing (48 bits, two's complement) gets
 * a number allocated from a range no packed number can take
 * (MBFS_INO_BIG_BASE), so two objects never share a number — by
 * construction, not by probability. The tree finds nodes by identity
 * (mbfs_ident_table), never by decoding a number. Objects without an id
 * (schemas) use a hash of their identity; the tree resolves a hash
 * collision by probing, which is the only case where a number depends on
 * discovery order.
 *
 * The tables are plain hash maps; they do no locking: the owner holds its
 * own lock.
 */
#ifndef MBFS_INODE_H
#define MBFS_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an inode is. Values are part of the inode number: never renumber. */
enum mbfs_kind {
	MBFS_K_ROOT = 1,
	MBFS_K_CARDS_DIR = 2,        /* cards/ */
	MBFS_K_DATABASES_DIR = 3,    /* databases/ */
	MBFS_K_CONTROL_DIR = 4,      /* .mbfs/ */
	MBFS_K_DASHBOARDS_DIR = 5,   /* dashboards/ */
	MBFS_K_METADATA_DIR = 6,     /* metadata/ */
	MBFS_K_QUERIES_DIR = 7,      /* queries/ */
	MBFS_K_PUBLIC_DIR = 8,       /* public/ */
	MBFS_K_PUBLIC_CARDS_DIR = 9, /* public/card/ */
	MBFS_K_PUBLIC_DASHBOARDS_DIR = 10, /* public/dashboard/ */
	MBFS_K_COLLECTION = 16,      /* a collection directory; id 0 = collections/ */
	MBFS_K_DATABASE = 17,        /* databases/<db>/ */
	MBFS_K_SCHEMA = 18,          /* databases/<db>/<schema>/ (hashed id) */
	MBFS_K_DASHBOARD = 19,       /* a dashboard directory */
	MBFS_K_DASHBOARD_TAB = 20,   /* a tab directory inside a dashboard */
	MBFS_K_PERSONAL_DIR = 21,    /* collections/Personal/ */
	/* The copies under dashboards/<id>/ of a dashboard and its tabs: a
	 * directory must not have two inode numbers' worth of parents (the
	 * kernel allows one alias per directory; find and du rely on it),
	 * so they get kinds of their own. Files inside are shared. */
	MBFS_K_DASHBOARD_BYID = 22,  /* dashboards/<id>/ */
	MBFS_K_DASHBOARD_TAB_BYID = 23, /* dashboards/<id>/<tab>/ */
	MBFS_K_QUERY_DB = 24,        /* queries/<database>/ (id = database) */
	/* public/dashboard/<uuid>/ (id from the tree's uuid registry) */
	MBFS_K_PUBLIC_DASHBOARD = 25,
	/* A directory of a backend described by objects (objects.h; id from
	 * the tree's key registry, node->key the backend's key) */
	MBFS_K_OBJ_DIR = 26,
	MBFS_K_CARD_FILE = 32,       /* <card>.csv|json|xlsx */
	MBFS_K_TABLE_FILE = 33,      /* <table>.csv|json|xlsx */
	MBFS_K_DASHCARD_FILE = 34,   /* keyed by dashcard id */
	MBFS_K_SQL_FILE = 35,        /* <native card>.sql */
	/* queries/<database>/: id = the query store's file id (queries.h) */
	MBFS_K_QUERY_SQL = 36,       /* NAME.sql, written by the user */
	MBFS_K_QUERY_FILE = 37,      /* NAME.csv|json|xlsx: runs NAME.sql */
	MBFS_K_QUERY_TEMP = 38,      /* an editor's temporary file */
	/* public/card/<uuid>.csv|json|xlsx (id from the uuid registry) */
	MBFS_K_PUBLIC_CARD_FILE = 39,
	MBFS_K_PUBLIC_DASHCARD_FILE = 40, /* in public/dashboard/<uuid>/, by dashcard id */
	/* a card or dashcard file read with parameters in its name
	 * ("27.csv?category=Gizmo"; id from the parameter-set registry) */
	MBFS_K_PARAM_FILE = 41,
	/* objects.h: a data file (its read runs export_run with node->key)
	 * and a file whose bytes came with the listing (node->sql) */
	MBFS_K_OBJ_FILE = 42,
	MBFS_K_OBJ_TEXT = 43,
	MBFS_K_CONTROL_FILE = 48,    /* .mbfs/status, stats, errors (id = which) */
	MBFS_K_METADATA_FILE = 49,   /* metadata/cards.json ... (id = which) */
};

/* File formats; part of the inode number too. */
enum mbfs_fmt {
	MBFS_FMT_NONE = 0,
	MBFS_FMT_CSV = 1,
	MBFS_FMT_JSON = 2,
	MBFS_FMT_XLSX = 3,
	MBFS_FMT_SQL = 4,
};

const char *mbfs_fmt_name(enum mbfs_fmt f);   /* "csv" ... ; "" for NONE */
const char *mbfs_fmt_ext(enum mbfs_fmt f);    /* ".csv" ... ; "" for NONE */
enum mbfs_fmt mbfs_fmt_parse(const char *name); /* NONE if unknown */

bool mbfs_kind_is_dir(enum mbfs_kind k);
bool mbfs_kind_is_data(enum mbfs_kind k);     /* a file whose read runs an export */
/* A file whose bytes the listing gave (node->sql): SQL_FILE, OBJ_TEXT */
bool mbfs_kind_is_text(enum mbfs_kind k);

/* Numbers the tree allocates for objects whose id does not fit 48 bits
 * (kinds are below 0xFE, so no packed number is in this range). */
#define MBFS_INO_BIG_BASE (UINT64_C(0xFE) << 56)
/* Numbers fs.c allocates for newer generations of a file (fs.h). */
#define MBFS_INO_ALIAS_BASE (UINT64_C(0xFF) << 56)

/* The packed number for (kind, fmt, id), or 0 when id does not fit in 48
 * bits (the caller allocates one). Root is always 1 (FUSE_ROOT_ID). */
uint64_t mbfs_inode_number(enum mbfs_kind kind, enum mbfs_fmt fmt, int64_t id);
/* Decode the parts of a packed number (id is sign-extended from 48 bits). */
enum mbfs_kind mbfs_inode_kind(uint64_t ino);
enum mbfs_fmt mbfs_inode_fmt(uint64_t ino);
int64_t mbfs_inode_id(uint64_t ino);

/* A 47-bit positive id for objects that have none (schemas): FNV-1a of the
 * parent id and the name. */
int64_t mbfs_inode_hash_id(int64_t parent_id, const char *name);

/* Open-addressing hash map ino → pointer. Not thread-safe. */
struct mbfs_inode_table {
	uint64_t *keys;            /* 0 = empty */
	void **vals;
	size_t cap;                /* power of two */
	size_t n;
};

void mbfs_inode_table_init(struct mbfs_inode_table *t);
void mbfs_inode_table_destroy(struct mbfs_inode_table *t);
void *mbfs_inode_table_get(const struct mbfs_inode_table *t, uint64_t ino);
/* Insert or replace; false on allocation failure. */
bool mbfs_inode_table_put(struct mbfs_inode_table *t, uint64_t ino, void *val);
/* Visit every value (order unspecified). */
void mbfs_inode_table_each(const struct mbfs_inode_table *t,
			   void (*fn)(void *val, void *arg), void *arg);
/* Remove ino (no-op when absent). */
void mbfs_inode_table_del(struct mbfs_inode_table *t, uint64_t ino);

/* Open-addressing hash map (a, b) → non-NULL pointer, for identities
 * ((kind << 8 | fmt), id). Not thread-safe. */
struct mbfs_ident_slot {
	uint64_t a, b;
	void *val;                 /* NULL = empty */
};
struct mbfs_ident_table {
	struct mbfs_ident_slot *slots;
	size_t cap;                /* power of two */
	size_t n;
};

void mbfs_ident_table_init(struct mbfs_ident_table *t);
void mbfs_ident_table_destroy(struct mbfs_ident_table *t);
void *mbfs_ident_table_get(const struct mbfs_ident_table *t, uint64_t a,
			   uint64_t b);
/* Insert or replace (val non-NULL); false on allocation failure. */
bool mbfs_ident_table_put(struct mbfs_ident_table *t, uint64_t a, uint64_t b,
			  void *val);
/* Visit every value (order unspecified). */
void mbfs_ident_table_each(const struct mbfs_ident_table *t,
			   void (*fn)(void *val, void *arg), void *arg);
/* The identity key of (kind, fmt). */
uint64_t mbfs_ident_kind(enum mbfs_kind kind, enum mbfs_fmt fmt);

#endif
