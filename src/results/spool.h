/*
 * spool.h — the cache directory of export results (DESIGN.md §2 rule 7,
 * rule 3 "Generations" and "The cache directory").
 *
 * Layout, under the cache directory (created 0700; refused when it or any
 * directory below that mbfs uses is not owned by the user, is writable by
 * group or others, or is a symlink):
 *   <cache_dir>/<server-hash>/server   the server URL (a hash collision
 *                                      moves to "<hash>-1", "-2", ...)
 *   <cache_dir>/<server-hash>/lock     flock(2): serializes index changes
 *                                      between the mounts sharing the dir
 *   <cache_dir>/<server-hash>/index    the persistent index (atomic, durable)
 *   <cache_dir>/<server-hash>/spool/r-<gen>        a committed result
 *   <cache_dir>/<server-hash>/spool/tmp-<pid>-<n>  a result being written
 *                                      (flocked by its writer)
 *
 * Generations: every commit takes a generation number from a counter kept
 * in the index and advanced under the lock, so a number is never used
 * twice in a cache directory — not after a drop, an eviction, a remount,
 * or by another mount sharing the directory. A result file is named after
 * its generation, written once (as a private temp file) and renamed into
 * place complete: a name, once it exists, always holds the same bytes, and
 * the index can only name files inside the spool directory.
 *
 * Sharing: several mounts (same OS user) may use one directory at once.
 * The index on disk is the truth; each mount keeps a copy in memory,
 * refreshed when the file changed (checked at most every 100 ms, and at
 * once when a named file is missing) and rewritten under the lock with
 * every change merged into the current disk state. An open pins a result
 * against this mount's eviction only; a file another mount drops stays
 * readable through the descriptors already open on it.
 *
 * Crash consistency: a commit renames and rewrites the index while holding
 * the lock; the index is written to a temp file, fsynced, renamed and the
 * directory fsynced. At start-up (under the lock) entries whose file is
 * missing or of another size are dropped, and every file the index does
 * not name is removed (temp files only once their writer's lock is gone).
 * Result files themselves are not fsynced: a process crash (kill -9)
 * leaves them complete in the page cache; a power cut may lose them, and
 * the size check then drops them.
 *
 * Keys are arbitrary strings without NUL (at most MBFS_SPOOL_KEY_MAX
 * bytes), chosen by the caller; they are percent-escaped in the index.
 *
 * Thread safety: one internal mutex; every call may come from any thread.
 * Blocking: calls do local file I/O only (index rewrites with fsync).
 */
#ifndef MBFS_SPOOL_H
#define MBFS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MBFS_SPOOL_KEY_MAX 16384

struct mbfs_spool;

struct mbfs_spool_info {
	uint64_t size;
	int64_t rows;          /* -1 when unknown (xlsx) */
	double fetched_at;     /* wall clock, seconds since the epoch */
	double duration;       /* seconds the export took */
	uint64_t gen;          /* unique in the cache directory, never 0 */
	bool truncated;        /* hit the download row cap */
};

/* Open (creating) the spool for server_url under cache_dir (an absolute
 * path); loads the index and removes what a crash left. Refuses unsafe
 * directories with a message naming the directory. */
enum mbfs_status mbfs_spool_new(const char *cache_dir, const char *server_url,
				uint64_t cache_max, struct mbfs_spool **out,
				struct mbfs_err *err);
void mbfs_spool_free(struct mbfs_spool *sp);

/* The directory holding this server's data. */
const char *mbfs_spool_dir(const struct mbfs_spool *sp);

/* Index lookup (the in-memory copy, refreshed from disk when it changed). */
bool mbfs_spool_get(struct mbfs_spool *sp, const char *key,
		    struct mbfs_spool_info *out);

/* Start a new result: a private temp file open for writing (created
 * O_EXCL|O_NOFOLLOW, flocked). *tmp_path is heap. */
enum mbfs_status mbfs_spool_create(struct mbfs_spool *sp, int *fd,
				   char **tmp_path, struct mbfs_err *err);
/* Make a finished temp file the current result of key: a new generation;
 * the previous file of key is unlinked (open descriptors keep it); evicts
 * to the cap. Fills *out. */
enum mbfs_status mbfs_spool_commit(struct mbfs_spool *sp, const char *key,
				   const char *tmp_path,
				   const struct mbfs_spool_info *meta,
				   struct mbfs_spool_info *out,
				   struct mbfs_err *err);
/* Remove a temp file that will not be committed. */
void mbfs_spool_discard(struct mbfs_spool *sp, const char *tmp_path);

/* Open the current result of key read-only and pin it against eviction.
 * The descriptor reads exactly generation out->gen. NOT_FOUND when there
 * is none (or its file vanished and the disk index has no other). */
enum mbfs_status mbfs_spool_open(struct mbfs_spool *sp, const char *key, int *fd,
				 struct mbfs_spool_info *out,
				 struct mbfs_err *err);
/* Undo one pin taken by mbfs_spool_open for (key, gen). */
void mbfs_spool_unpin(struct mbfs_spool *sp, const char *key, uint64_t gen);

/* Remove the files of dropped results on pool (borrowed; set before
 * requests are served) instead of inline: unlinking a large file that the
 * page cache holds takes tens of milliseconds, which a touch or a commit
 * should not wait for (nor the lock). NULL again before the pool is freed
 * (removals already queued still run; mbfs_spool_free waits for them).
 * Until a removal ran, .mbfs/stats counts it in spool_removals_pending. */
struct mbfs_pool;
void mbfs_spool_set_pool(struct mbfs_spool *sp, struct mbfs_pool *pool);

/* Forget key's result (the file goes; open handles keep reading theirs). */
void mbfs_spool_drop(struct mbfs_spool *sp, const char *key);
/* Forget every result whose key starts with prefix ("" = all). */
void mbfs_spool_drop_prefix(struct mbfs_spool *sp, const char *prefix);

/* Parse one index record (without its newline; outside input: the index
 * is a file on disk). On success *key is a new heap string. Pure; exposed
 * for the fuzzer and the unit tests. */
bool mbfs_spool_parse_record(const char *line, size_t len,
			     struct mbfs_spool_info *info, double *last_use,
			     char **key);

/* Prometheus text of the cache gauges and the eviction counter. */
int mbfs_spool_describe_metrics(struct mbfs_spool *sp, char *out, size_t outsz);
/* "spool_results N\nspool_bytes B\nspool_cap C\nspool_removals_pending R\n"
 * for .mbfs/stats. */
int mbfs_spool_describe(struct mbfs_spool *sp, char *out, size_t outsz);

#endif
