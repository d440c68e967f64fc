/*
 * passthrough.c — owns kernel FUSE passthrough: the decision at INIT
 * (libfuse >= 3.17, the kernel's FUSE_CAP_PASSTHROUGH, CAP_SYS_ADMIN),
 * the backing id of each kernel inode open with it (opened by its first
 * handle, closed after its last), and the status and stats lines that
 * say so. See passthrough.h.
 */
#include "passthrough.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "log.h"
#include "util.h"

/* A kernel inode with handles that went through mbfs_pt_open. */
struct backing {
	int id;                    /* the kernel's backing id; 0: none (the
				      inode's handles read through mbfs) */
	unsigned count;            /* its handles */
};

#define PENDING_MAX 64

static struct {
	pthread_mutex_t lock;
	bool on;                   /* decided at INIT; off for good after a
				      refusal */
	char why[160];             /* the status line's reason */
	struct mbfs_inode_table inodes; /* node id → struct backing */
	int pending[PENDING_MAX];  /* ids whose close needs a request */
	unsigned n_pending;
	uint64_t opens;            /* handles given a backing file */
} pt = {.lock = PTHREAD_MUTEX_INITIALIZER,
	.why = "not initialized"};

#ifdef FUSE_CAP_PASSTHROUGH
/* Does this process have CAP_SYS_ADMIN (bit 21 of CapEff)? The kernel
 * opens backing files only for such a daemon. */
static bool have_sys_admin(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found && (eff >> 21) & 1;
}
#endif

void mbfs_pt_init(struct fuse_conn_info *conn)
{
	pthread_mutex_lock(&pt.lock);
	mbfs_inode_table_init(&pt.inodes);
	pt.on = false;
#ifdef FUSE_CAP_PASSTHROUGH
	if (!(conn->capable & FUSE_CAP_PASSTHROUGH)) {
		snprintf(pt.why, sizeof pt.why,
			 "the kernel does not offer it (CONFIG_FUSE_PASSTHROUGH, Linux >= 6.9)");
	} else if (!have_sys_admin()) {
		snprintf(pt.why, sizeof pt.why,
			 "the daemon lacks CAP_SYS_ADMIN: a user mount reads through mbfs");
	} else {
		conn->want |= FUSE_CAP_PASSTHROUGH;
		/* Passthrough and the writeback cache exclude each other
		 * (we never ask for the latter; say so). */
		conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
		/* The spool may live on a stacked filesystem (overlayfs in
		 * a container): allow one level below us; nothing can then
		 * be stacked over an mbfs mount. */
		conn->max_backing_stack_depth = FUSE_BACKING_STACKED_OVER;
		pt.on = true;
		snprintf(pt.why, sizeof pt.why,
			 "spooled results are read by the kernel from their spool files");
	}
#else
	(void)conn;
	snprintf(pt.why, sizeof pt.why,
		 "built with libfuse %d.%d; kernel passthrough needs libfuse >= 3.17",
		 FUSE_MAJOR_VERSION, FUSE_MINOR_VERSION);
#endif
	mbfs_debug("passthrough %s (%s)", pt.on ? "on" : "off", pt.why);
	pthread_mutex_unlock(&pt.lock);
}

#ifdef FUSE_CAP_PASSTHROUGH
/* Close the ids whose release had no request. pt.lock held. */
static void close_pending(fuse_req_t req)
{
	while (req && pt.n_pending)
		fuse_passthrough_close(req, pt.pending[--pt.n_pending]);
}

/* Close backing id id now (req) or with the next request. pt.lock held. */
static void close_id(fuse_req_t req, int id)
{
	if (req)
		fuse_passthrough_close(req, id);
	else if (pt.n_pending < PENDING_MAX)
		pt.pending[pt.n_pending++] = id;
	else
		mbfs_warn("passthrough: a backing file stays open until unmount");
}
#endif

void mbfs_pt_open(fuse_req_t req, uint64_t ino, int fd,
		  struct fuse_file_info *fi)
{
#ifdef FUSE_CAP_PASSTHROUGH
	pthread_mutex_lock(&pt.lock);
	close_pending(req);
	struct backing *b = mbfs_inode_table_get(&pt.inodes, ino);
	if (!b && pt.on) {
		/* the inode's first handle: every later one follows it (the
		 * kernel wants all of an inode's opens passthrough, or none) */
		b = calloc(1, sizeof *b);
		if (b && !mbfs_inode_table_put(&pt.inodes, ino, b)) {
			free(b);
			b = NULL;
		}
		if (b) {
			b->id = fuse_passthrough_open(req, fd);
			if (b->id <= 0) {
				int e = errno;
				b->id = 0;
				pt.on = false;
				snprintf(pt.why, sizeof pt.why,
					 "the kernel refused a backing file (%s)", strerror(e));
				mbfs_debug("passthrough off: %s", pt.why);
			}
		}
	}
	if (b) {
		b->count++;
		if (b->id > 0) {
			fi->backing_id = b->id;
			fi->keep_cache = 0; /* our pages are not used */
			pt.opens++;
		}
	}
	pthread_mutex_unlock(&pt.lock);
#else
	(void)req;
	(void)ino;
	(void)fd;
	(void)fi;
#endif
}

void mbfs_pt_release(fuse_req_t req, uint64_t ino)
{
#ifdef FUSE_CAP_PASSTHROUGH
	pthread_mutex_lock(&pt.lock);
	close_pending(req);
	struct backing *b = mbfs_inode_table_get(&pt.inodes, ino);
	if (b && b->count && --b->count == 0) {
		if (b->id > 0)
			close_id(req, b->id);
		mbfs_inode_table_del(&pt.inodes, ino);
		free(b);
	}
	pthread_mutex_unlock(&pt.lock);
#else
	(void)req;
	(void)ino;
#endif
}

int mbfs_pt_describe_status(void *arg, char *out, size_t outsz)
{
	(void)arg;
	size_t o = 0;
	pthread_mutex_lock(&pt.lock);
	mbfs_putf(out, outsz, &o, "passthrough %s (%s)\n",
		  pt.on ? "on" : "off", pt.why);
	pthread_mutex_unlock(&pt.lock);
	return (int)(o < outsz ? o : outsz - 1);
}

int mbfs_pt_describe_stats(char *out, size_t outsz)
{
	size_t o = 0;
	pthread_mutex_lock(&pt.lock);
	mbfs_putf(out, outsz, &o, "passthrough_opens %" PRIu64 "\n"
		  "backing_inodes %zu\n", pt.opens, pt.inodes.n);
	pthread_mutex_unlock(&pt.lock);
	return (int)(o < outsz ? o : outsz - 1);
}
