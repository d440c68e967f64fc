/*
 * dirs.c — owns directory handles: the snapshot a handle lists
 * (opendir → releasedir), its entries with their attributes for READDIR
 * and READDIRPLUS, and the rule that says when the kernel's readdir cache
 * of a directory may be filled and kept (dir_cache_rule; docs/
 * architecture.md "The kernel's readdir cache"). See fs.h.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_int.h"
#include "tree.h"

/* A directory snapshot given to the kernel (opendir → releasedir). */
struct mbfs_dir {
	struct mbfs_dir *prev, *next;  /* fs->dirs (fs->lock) */
	uint64_t ino;
	struct mbfs_dirent *ents;
	size_t n;
	uint64_t gen;              /* the snapshot's list_gen */
	bool cached;               /* the kernel may fill its readdir cache
				      from this handle */
};

/* What the kernel's readdir cache of a directory may hold (fs->kdirs,
 * fs->lock). The kernel fills that cache from the handles opened with
 * cache_readdir, at the positions the daemon gives, whichever handle
 * reads first; it drops it when an opener is not told keep_cache. */
struct kdir {
	uint64_t gen;              /* the listing the cache was last reset
				      for (0: none) */
	bool dirty;                /* a handle of another listing may have
				      filled it since: reset at next open */
};

/*
 * Whether a new handle of d->ino may fill the kernel's readdir cache
 * (d->cached) and keep what it holds (*keep). The cache is kept only
 * when it was last reset for this very listing (list_gen) and no handle
 * of another listing can have filled it since: a handle fills it only
 * while open, so while one of another listing is open, this one neither
 * fills nor keeps, and the next opener resets. fs->lock held.
 */
static void dir_cache_rule(struct mbfs_fs *fs, struct mbfs_dir *d, bool *keep)
{
	*keep = false;
	d->cached = false;
	struct kdir *kd = mbfs_inode_table_get(&fs->kdirs, d->ino);
	if (!kd) {
		kd = calloc(1, sizeof *kd);
		if (!kd || !mbfs_inode_table_put(&fs->kdirs, d->ino, kd)) {
			free(kd);
			return; /* no cache: always correct */
		}
	}
	for (const struct mbfs_dir *o = fs->dirs; o; o = o->next)
		if (o->ino == d->ino && o->cached && o->gen != d->gen) {
			kd->dirty = true;
			return;
		}
	d->cached = d->gen != 0;
	*keep = d->cached && kd->gen == d->gen && !kd->dirty;
	if (!*keep) {
		kd->gen = d->gen;
		kd->dirty = false;
	}
}

enum mbfs_status mbfs_fs_opendir(struct mbfs_fs *fs, uint64_t ino,
				 struct mbfs_dir **out,
				 struct mbfs_open_info *oi,
				 struct mbfs_err *err)
{
	memset(oi, 0, sizeof *oi);
	struct mbfs_node *n = fs_node_of(fs, ino);
	if (!n)
		return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0, "stale inode");
	if (!mbfs_kind_is_dir(n->kind))
		return mbfs_err_set(err, MBFS_ERR_NOT_DIR, 0, "not a directory");
	struct mbfs_dir *d = calloc(1, sizeof *d);
	if (!d)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	d->ino = ino;
	enum mbfs_status st = mbfs_tree_list(fs->env.tree, n, &d->ents, &d->n,
					     &d->gen, err);
	if (st != MBFS_OK) {
		free(d);
		return st;
	}
	pthread_mutex_lock(&fs->lock);
	dir_cache_rule(fs, d, &oi->keep_cache);
	oi->cache_dir = d->cached;
	d->next = fs->dirs;
	if (fs->dirs)
		fs->dirs->prev = d;
	fs->dirs = d;
	pthread_mutex_unlock(&fs->lock);
	*out = d;
	return MBFS_OK;
}

size_t mbfs_dir_count(const struct mbfs_dir *d)
{
	return d->n + 2;
}

bool mbfs_dir_entry(struct mbfs_fs *fs, struct mbfs_dir *d, size_t i,
		    const char **name, struct mbfs_attr *attr, bool *is_dot)
{
	if (i >= d->n + 2)
		return false;
	if (i < 2) {
		*name = i == 0 ? "." : "..";
		*is_dot = true;
		memset(attr, 0, sizeof *attr);
		attr->ino = i == 0 ? d->ino : 1;
		attr->mode = S_IFDIR;
		return true;
	}
	*is_dot = false;
	struct mbfs_node *n = d->ents[i - 2].node;
	*name = d->ents[i - 2].name;
	struct mbfs_result_info info;
	memset(&info, 0, sizeof info);
	fs_peek_node(fs, n, &info);
	fs_entry_attr(fs, n, &info, false, attr);
	return true;
}

static void kdir_free(void *val, void *arg)
{
	(void)arg;
	free(val);
}

static void dir_free(struct mbfs_dir *d)
{
	mbfs_tree_free_snapshot(d->ents, d->n);
	free(d);
}

void mbfs_fs_releasedir(struct mbfs_fs *fs, struct mbfs_dir *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&fs->lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		fs->dirs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&fs->lock);
	dir_free(d);
}

void fs_dirs_teardown(struct mbfs_fs *fs)
{
	while (fs->dirs) {
		struct mbfs_dir *d = fs->dirs;
		fs->dirs = d->next;
		dir_free(d);
	}
	mbfs_inode_table_each(&fs->kdirs, kdir_free, NULL);
	mbfs_inode_table_destroy(&fs->kdirs);
}
