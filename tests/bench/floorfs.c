/*
 * floorfs.c — the benchmark's userspace-read floor (tests/bench/bench.py,
 * DESIGN.md §7): the smallest FUSE filesystem that serves one local file,
 * so that "first read of a file through FUSE" can be measured without any
 * network, cache or mbfs logic in the way.
 *
 *   floorfs FILE MOUNTPOINT [-o passthrough]   (always in the foreground)
 *
 * The mount shows FILE under its base name, read-only. Reads are answered
 * the way mbfs answers a spooled result: the reply is spliced from the
 * file descriptor (fuse_reply_data), the kernel may read ahead and cache,
 * every open drops the kernel's pages (keep_cache off), so each first read
 * after an open makes its READ round trips. With -o passthrough and
 * libfuse >= 3.17 (and CAP_SYS_ADMIN), opens hand the kernel a backing
 * file instead and reads never reach this process; built against an older
 * libfuse the option is refused.
 *
 * Not part of mbfs: a bench tool, built with the tests. One thread, no
 * locks (the session loop is single-threaded).
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INO 2

static int file_fd = -1;
static const char *file_name;
static struct stat file_st;
static int want_passthrough;

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = file_st.st_size;
		st->st_mtim = file_st.st_mtim;
	}
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
#ifdef FUSE_CAP_PASSTHROUGH
	if (want_passthrough && (conn->capable & FUSE_CAP_PASSTHROUGH)) {
		conn->want |= FUSE_CAP_PASSTHROUGH;
		/* the file may live on a stacked filesystem (overlayfs in a
		 * container): without this the kernel fails every read */
		conn->max_backing_stack_depth = FUSE_BACKING_STACKED_OVER;
	}
#endif
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != FUSE_ROOT_ID || strcmp(name, file_name) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	e.ino = FILE_INO;
	e.attr_timeout = 3600;
	e.entry_timeout = 3600;
	fill_attr(FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct stat st;
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 0;
#ifdef FUSE_CAP_PASSTHROUGH
	if (want_passthrough) {
		int id = fuse_passthrough_open(req, file_fd);
		if (id > 0) {
			fi->backing_id = id;
			fi->fh = (uint64_t)id; /* release gets fh, not backing_id */
			/* no keep_cache: the kernel refuses a passthrough
			 * open with any flag outside FOPEN_PASSTHROUGH_MASK
			 * (open fails with EIO) */
		}
	}
#endif
	fuse_reply_open(req, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
#ifdef FUSE_CAP_PASSTHROUGH
	if (fi->fh)
		fuse_passthrough_close(req, (int)fi->fh);
#else
	(void)fi;
#endif
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
	bv.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
	bv.buf[0].fd = file_fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.release = op_release,
	.read = op_read,
};

int main(int argc, char **argv)
{
	if (argc < 3 || (argc == 5 && strcmp(argv[4], "passthrough") != 0) ||
	    argc == 4 || argc > 5) {
		fprintf(stderr, "usage: floorfs FILE MOUNTPOINT [-o passthrough]\n");
		return 2;
	}
	want_passthrough = argc == 5;
#ifndef FUSE_CAP_PASSTHROUGH
	if (want_passthrough) {
		fprintf(stderr, "floorfs: -o passthrough needs libfuse >= 3.17 (built against 3.%d)\n",
			FUSE_MINOR_VERSION);
		return 3;
	}
#endif
	file_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (file_fd < 0 || fstat(file_fd, &file_st) != 0) {
		fprintf(stderr, "floorfs: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	file_name = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];

	char *fargv[] = {argv[0], "-o", "ro,fsname=floorfs,default_permissions", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se)
		return 1;
	int rc = 1;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, argv[2]) == 0) {
			rc = fuse_session_loop(se) == 0 ? 0 : 1;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc;
}
