/*
 * queries.h — the query store: the user's own SQL files in
 * queries/<database>/ and the editors' temporary files beside them
 * (DESIGN.md §1 "Your own questions").
 *
 * Names in a database directory (mbfs_queries_classify):
 *   NAME.sql      a SQL file: NAME not empty, the whole name at most 254
 *                 bytes (so that NAME.xlsx fits in 255). Persisted; read
 *                 through NAME.csv / NAME.json / NAME.xlsx.
 *   temp names    the editors' temporary files, kept in memory for the
 *                 life of the store, never persisted, never run:
 *                   .*.sw[a-z]   vim's swap files (.NAME.sql.swp, .swo, .swx)
 *                   *~           backups (vim's NAME.sql~, nano -B, emacs)
 *                   all digits   vim's write test (4913, 5036, ...)
 *                   #*#          emacs's auto-save files
 *   anything else refused (MBFS_ERR_PERM).
 * A SQL file holds at most MBFS_QUERY_SQL_MAX bytes, a temp file
 * MBFS_QUERY_TEMP_MAX (MBFS_ERR_TOO_BIG beyond); a directory holds at most
 * MBFS_QUERY_TEMPS_MAX temp files (MBFS_ERR_NO_SPACE).
 *
 * Revisions. Every change of a SQL file's text — a write, a truncate, a
 * rename onto its name, becoming a SQL file — gives it a new revision
 * number. Revisions and file ids come from one counter that never repeats
 * in the store's directory: not after a remount or a crash, and not
 * between mounts sharing it (numbers are reserved in blocks, under the
 * lock file, before they are used). Together with the store's epoch (a
 * random number chosen when the index is first created) a revision names
 * one text for good, so results keyed by it are never served for another.
 *
 * Layout, under <server dir>/queries/u<Metabase user id>/ (every
 * directory 0700 and refused unless ours and not group/other-writable,
 * like the spool's; files created O_EXCL|O_NOFOLLOW, 0600):
 *   lock            flock(2): serializes changes between mounts
 *   index           "mbfs-queries 1 <epoch> <reserved>" then one line per
 *                   SQL file: <db> <id> <rev> <mode> <mtime s> <mtime ns>
 *                   <size> <percent-escaped name>
 *   <db>/<rev>.sql  the text of one revision (rev as 16 hex digits):
 *                   written once (temp file, fsync, rename, fsync dir)
 * The index is replaced the same way (temp, fsync, rename, fsync dir),
 * after the text it names is durable; at open (under the lock) entries
 * whose text is missing or of another size are dropped and files no
 * entry names are removed. Names from the user never become paths.
 *
 * When changes reach the disk: create, rename, unlink and setattr at
 * once; writes when the file is flushed (close), fsynced or released
 * (mbfs_queries_sync). Sharing: a store reads the index when it opens;
 * each later change is merged into the disk's index by file id under the
 * lock (for one name, the last writer wins); another mount's changes are
 * seen at the next mount.
 *
 * Thread safety: one internal mutex; nothing but the query directory's
 * flock (another mount's writer) is taken while it is held. Blocking: local file I/O only (fsync); never the
 * network. Memory: lists and texts returned are the caller's.
 */
#ifndef MBFS_QUERIES_H
#define MBFS_QUERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "status.h"

#define MBFS_QUERY_SQL_MAX ((uint64_t)1 << 20)      /* 1 MiB */
#define MBFS_QUERY_TEMP_MAX ((uint64_t)4 << 20)     /* 4 MiB */
#define MBFS_QUERY_TEMPS_MAX 64
#define MBFS_QUERY_NAME_MAX 254                     /* NAME.sql, bytes */

enum mbfs_qname {
	MBFS_QNAME_BAD = 0,        /* not allowed (or NAME.sql too long) */
	MBFS_QNAME_SQL,
	MBFS_QNAME_TEMP,
};

/* What a name is in a database directory. Pure. */
enum mbfs_qname mbfs_queries_classify(const char *name);
/* The same, as a status: MBFS_OK, MBFS_ERR_PERM, or
 * MBFS_ERR_NAME_TOO_LONG for a NAME.sql beyond MBFS_QUERY_NAME_MAX. */
enum mbfs_status mbfs_queries_check_name(const char *name,
					 enum mbfs_qname *kind,
					 struct mbfs_err *err);

struct mbfs_queries;

/* Open (creating) the store of Metabase user user_id under server_dir
 * (mbfs_spool_dir()): checks the directories, loads the index and the
 * texts, removes what a crash left, reserves numbers. */
enum mbfs_status mbfs_queries_open(const char *server_dir, int64_t user_id,
				   struct mbfs_queries **out,
				   struct mbfs_err *err);
void mbfs_queries_free(struct mbfs_queries *q);

/* The store's directory (for messages and tests). */
const char *mbfs_queries_dir(const struct mbfs_queries *q);
/* The store's epoch, as 16 hex digits (part of result keys). */
const char *mbfs_queries_epoch(const struct mbfs_queries *q);

/* A file's state. */
struct mbfs_qstat {
	uint64_t id;               /* never 0 */
	int64_t db;
	bool temp;
	bool linked;               /* still has its name (false: unlinked,
				      kept while open) */
	uint64_t rev;              /* SQL files: the text's revision */
	uint64_t size;
	mode_t mode;               /* permission bits */
	struct timespec mtime;
};

/* One name of a database directory. */
struct mbfs_qent {
	char *name;
	struct mbfs_qstat st;
};

/* Snapshot of db's names (any order); free with mbfs_queries_free_list. */
enum mbfs_status mbfs_queries_list(struct mbfs_queries *q, int64_t db,
				   struct mbfs_qent **out, size_t *n,
				   struct mbfs_err *err);
void mbfs_queries_free_list(struct mbfs_qent *v, size_t n);
/* A number that changes whenever a name appears, goes or moves. */
uint64_t mbfs_queries_version(struct mbfs_queries *q);

/* The state of file id (also an unlinked one still open). */
bool mbfs_queries_stat(struct mbfs_queries *q, uint64_t id,
		       struct mbfs_qstat *out);
/* The text of SQL file id (heap, ends at the first NUL byte) with the
 * state it belongs to, taken together. NOT_FOUND when id is gone or a
 * temp file. */
enum mbfs_status mbfs_queries_text(struct mbfs_queries *q, uint64_t id,
				   char **sql, struct mbfs_qstat *st,
				   struct mbfs_err *err);
/* Copy up to size bytes at off into buf; *n = count (0 at the end). */
enum mbfs_status mbfs_queries_read(struct mbfs_queries *q, uint64_t id,
				   char *buf, size_t size, uint64_t off,
				   size_t *n, struct mbfs_err *err);

/*
 * Changes. Where given, *old receives the state before the change (the
 * caller drops the results of an old revision); *out the state after.
 */

/* Create name in db (mode: permission bits). An existing name is
 * EXISTS with excl, else that file (truncated to 0 with trunc); *created
 * says which. */
enum mbfs_status mbfs_queries_create(struct mbfs_queries *q, int64_t db,
				     const char *name, mode_t mode, bool excl,
				     bool trunc, struct mbfs_qstat *out,
				     struct mbfs_qstat *old, bool *created,
				     struct mbfs_err *err);
/* Write at off (a hole reads as zero bytes). TOO_BIG past the cap. */
enum mbfs_status mbfs_queries_write(struct mbfs_queries *q, uint64_t id,
				    const char *buf, size_t size, uint64_t off,
				    struct mbfs_qstat *old,
				    struct mbfs_err *err);

/* setattr: each part only when its flag is set. */
struct mbfs_qset {
	bool set_size, set_mode, set_mtime;
	uint64_t size;
	mode_t mode;
	struct timespec mtime;
};
enum mbfs_status mbfs_queries_setattr(struct mbfs_queries *q, uint64_t id,
				      const struct mbfs_qset *set,
				      struct mbfs_qstat *out,
				      struct mbfs_qstat *old,
				      struct mbfs_err *err);
/* Persist a SQL file whose text changed since it was last persisted. */
enum mbfs_status mbfs_queries_sync(struct mbfs_queries *q, uint64_t id,
				   struct mbfs_err *err);

enum mbfs_status mbfs_queries_unlink(struct mbfs_queries *q, int64_t db,
				     const char *name, struct mbfs_qstat *old,
				     struct mbfs_err *err);
/* Rename within db. flags: 0 or RENAME_NOREPLACE (RENAME_EXCHANGE:
 * NOT_SUPPORTED). *moved_old: the moved file before; *replaced (when
 * *had_replaced): the file the new name had. A file that becomes a SQL
 * file gets a new revision (and must fit MBFS_QUERY_SQL_MAX). */
enum mbfs_status mbfs_queries_rename(struct mbfs_queries *q, int64_t db,
				     const char *from, const char *to,
				     unsigned flags, struct mbfs_qstat *moved_old,
				     struct mbfs_qstat *replaced,
				     bool *had_replaced, struct mbfs_err *err);

/* Open handles: an unlinked file lives until its last handle goes. */
void mbfs_queries_ref(struct mbfs_queries *q, uint64_t id);
void mbfs_queries_unref(struct mbfs_queries *q, uint64_t id);

#endif
