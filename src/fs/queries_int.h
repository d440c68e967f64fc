/*
 * queries_int.h — what the two files of the query store share:
 *   queries.c       names, the files in memory, reading and changing them
 *   queries_disk.c  the index and texts on disk, number reservation,
 *                   opening a store
 * Locks: q->lock protects everything in struct mbfs_queries and its files
 * (a leaf lock); functions here expect it held. Changes on disk also take
 * the store directory's flock (q->lockfd), after q->lock.
 * Memory: a qfile belongs to q->v until removed; struct rec's name is
 * borrowed.
 */
#ifndef MBFS_QUERIES_INT_H
#define MBFS_QUERIES_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "queries.h"

/* One file: a SQL file (persisted) or an editor's temp file (memory). */
struct qfile {
	uint64_t id;
	int64_t db;
	char *name;                /* NULL once unlinked (kept while open) */
	bool temp;
	char *data;
	size_t len, cap;
	uint64_t rev;              /* SQL files: revision of data */
	bool dirty;                /* data changed since the last persist */
	mode_t mode;
	struct timespec mtime;
	unsigned opens;
};

/* One line of the index on disk. */
struct rec {
	int64_t db;
	uint64_t id, rev, size;
	unsigned mode;
	int64_t sec;
	long nsec;
	char *name;
};

struct mbfs_queries {
	pthread_mutex_t lock;      /* protects everything below */
	char *dir;                 /* <server dir>/queries/u<id> */
	int dirfd, lockfd;
	char epoch[17];
	uint64_t next, reserved;   /* numbers: [next, reserved) are ours */
	struct qfile **v;          /* linked files and open orphans */
	size_t n, cap;
	uint64_t version;
	uint64_t tmp_seq;
};

/* ---- queries.c (q->lock held) ----------------------------------------------- */

void queries_qfile_free(struct qfile *f);
/* Add f to q->v (false: out of memory). */
bool queries_add_file(struct mbfs_queries *q, struct qfile *f);
/* Make f->data hold size bytes (new bytes zero). */
bool queries_resize(struct qfile *f, size_t size);

/* ---- queries_disk.c (q->lock held) ------------------------------------------ */

/* Merge into the disk's index, under the flock, an upsert of up (with its
 * text; NULL: none) and/or the removal of file remove_id (0: none). */
enum mbfs_status queries_persist(struct mbfs_queries *q, const struct rec *up,
				 const char *text, size_t len,
				 uint64_t remove_id, struct mbfs_err *err);
/* A number never handed out before in this directory. */
enum mbfs_status queries_alloc_num(struct mbfs_queries *q, uint64_t *out,
				   struct mbfs_err *err);

#endif
