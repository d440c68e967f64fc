/*
 * store.h — the file handling shared by the stores under the cache
 * directory (the result spool, spool.h; the query store, queries.h):
 * directories that must be ours, whole-file reads with a size cap, atomic
 * and durable replacement of an index, flock(2), and the percent escaping
 * of the strings an index line holds.
 *
 * Every path is relative to an open directory and never followed through
 * a symlink; `dir` only names that directory in messages.
 * Thread safety: no state; callers serialize with their own locks.
 * Blocking: local file I/O only (fsync); flock waits for another mount.
 * Memory: mbfs_store_read and mbfs_store_unescape return heap buffers the
 * caller frees.
 */
#ifndef MBFS_STORE_H
#define MBFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* Open (creating it 0700) the directory name under the open directory
 * parent (AT_FDCWD with an absolute name for a top), never through a
 * symlink, and refuse it unless it is ours and not writable by group or
 * others. path names it in messages. */
enum mbfs_status mbfs_store_dir(int parent, const char *name,
				const char *path, int *out,
				struct mbfs_err *err);

/* Open (creating it 0600) the lock file "lock" of dirfd: a regular file
 * of ours, never through a symlink. */
enum mbfs_status mbfs_store_lock_file(int dirfd, const char *dir, int *fd,
				      struct mbfs_err *err);

/* flock(2) that goes on after a signal. */
void mbfs_store_flock(int fd, int op);

/* Read the whole file name of dirfd, a regular file of ours of at most
 * max bytes, into a NUL-terminated heap buffer. NOT_FOUND when it does
 * not exist; IO (with a message) when it cannot be opened or is not such
 * a file; NOMEM. */
enum mbfs_status mbfs_store_read(int dirfd, const char *dir, const char *name,
				 size_t max, char **buf, size_t *len,
				 struct mbfs_err *err);

/* Replace the file name of dirfd with what write() puts into a stream:
 * written to "name.tmp" (created O_EXCL|O_NOFOLLOW, 0600; a dead writer's
 * is removed first), flushed, fsynced, renamed over name, and the
 * directory fsynced. write returns false to give up (nothing replaced). */
enum mbfs_status mbfs_store_replace(int dirfd, const char *dir,
				    const char *name,
				    bool (*write)(FILE *f, void *arg), void *arg,
				    struct mbfs_err *err);

/* Write s percent-escaped: every byte that is not printable ASCII, a
 * space or '%' becomes %XX (so a field holds no space or newline). */
void mbfs_store_escape(FILE *f, const char *s);
/* Decode [s, s+len) as written by mbfs_store_escape; NULL when empty,
 * longer than max_len bytes encoded, malformed, or holding a NUL. */
char *mbfs_store_unescape(const char *s, size_t len, size_t max_len);

#endif
