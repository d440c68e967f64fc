/*
 * spool.h — the cache directory of export results.
 *
 * Results live as files under <cache_dir>/<server-hash>/spool/, one per
 * (result key, generation), with an index file that survives remounts (so a
 * listing can show remembered sizes). The total size is capped: after each
 * commit, the least recently used results that no open handle pins are
 * evicted until the total fits.
 *
 * Keys are short printable strings chosen by export.c ("card:12:csv").
 * A generation number increases with every commit of a key; an open
 * handle keeps the file of its generation (it holds the fd; a replaced
 * file is unlinked, and the kernel keeps it alive until close).
 *
 * Thread safety: one internal mutex; every call may come from any thread.
 * Blocking: calls do local file I/O (small index rewrites) only.
 */
#ifndef MBFS_SPOOL_H
#define MBFS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct mbfs_spool;

struct mbfs_spool_info {
	uint64_t size;
	int64_t rows;          /* -1 when unknown (xlsx) */
	double fetched_at;     /* wall clock, seconds since the epoch */
	double duration;       /* seconds the export took */
	uint64_t gen;
	bool truncated;        /* hit the download row cap */
};

/* Open (creating) the spool for server_url under cache_dir; loads the index. */
enum mbfs_status mbfs_spool_new(const char *cache_dir, const char *server_url,
				uint64_t cache_max, struct mbfs_spool **out,
				struct mbfs_err *err);
void mbfs_spool_free(struct mbfs_spool *sp);

/* The directory holding this server's data (for other caches). */
const char *mbfs_spool_dir(const struct mbfs_spool *sp);

/* Index lookup, no file access. */
bool mbfs_spool_get(struct mbfs_spool *sp, const char *key,
		    struct mbfs_spool_info *out);

/* Start a new result: a temp file open for writing. *tmp_path is heap. */
enum mbfs_status mbfs_spool_create(struct mbfs_spool *sp, int *fd,
				   char **tmp_path, struct mbfs_err *err);
/* Make a finished temp file the current result of key (new generation);
 * the old file is unlinked; evicts to the cap. Fills *out. */
enum mbfs_status mbfs_spool_commit(struct mbfs_spool *sp, const char *key,
				   const char *tmp_path,
				   const struct mbfs_spool_info *meta,
				   struct mbfs_spool_info *out,
				   struct mbfs_err *err);
/* Remove a temp file that will not be committed. */
void mbfs_spool_discard(struct mbfs_spool *sp, const char *tmp_path);

/* Open the current result of key read-only and pin it against eviction.
 * Returns NOT_FOUND when there is none (or its file vanished). */
enum mbfs_status mbfs_spool_open(struct mbfs_spool *sp, const char *key, int *fd,
				 struct mbfs_spool_info *out,
				 struct mbfs_err *err);
/* Undo one pin taken by mbfs_spool_open for (key, gen). */
void mbfs_spool_unpin(struct mbfs_spool *sp, const char *key, uint64_t gen);

/* Forget key's result (the file goes; open handles keep reading theirs). */
void mbfs_spool_drop(struct mbfs_spool *sp, const char *key);
void mbfs_spool_drop_all(struct mbfs_spool *sp);

/* "spool N results, B bytes of C cap" for .mbfs/stats. */
int mbfs_spool_describe(struct mbfs_spool *sp, char *out, size_t outsz);

#endif
