/*
 * passthrough.h — kernel FUSE passthrough for spooled results: whether
 * this mount uses it (decided at INIT) and the backing files of the
 * kernel inodes open with it. Built against libfuse >= 3.17
 * (FUSE_CAP_PASSTHROUGH), run with CAP_SYS_ADMIN and granted by the
 * kernel, the open of a spooled generation hands the kernel that
 * generation's spool file as the handle's backing file: its reads and
 * mmaps go straight to the spool file and never reach mbfs. Otherwise
 * (libfuse 3.14, a user mount, a kernel that refuses) nothing changes:
 * reads come to mbfs as before. Only src/fuse/ includes this.
 *
 * One backing id per kernel inode: the kernel refuses two different
 * backing files on one inode at once, and fs.c binds a kernel inode to
 * one generation while it has open handles, so every handle open on it
 * reads the same spool file. The id is opened by the inode's first
 * handle and closed when its last handle is released.
 *
 * Threads: any FUSE worker; a mutex inside. Never blocks but on it.
 */
#ifndef MBFS_PASSTHROUGH_H
#define MBFS_PASSTHROUGH_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* INIT: ask for passthrough when libfuse, the kernel and our
 * capabilities allow it (else remember why not). */
void mbfs_pt_init(struct fuse_conn_info *conn);

/* An open of kernel inode ino whose bytes are the spool file fd (fs.h
 * mbfs_file_backing_fd) is about to be answered: with passthrough, set
 * fi->backing_id (and clear keep_cache). Every such open must be matched
 * by mbfs_pt_release (also when the reply fails). */
void mbfs_pt_open(fuse_req_t req, uint64_t ino, int fd,
		  struct fuse_file_info *fi);

/* A handle that went through mbfs_pt_open is released (req may be NULL
 * when the open's reply failed: a backing id then closes with the next
 * request that has one). */
void mbfs_pt_release(fuse_req_t req, uint64_t ino);

/* .mbfs/status lines ("passthrough on|off (why)") and .mbfs/stats lines
 * (passthrough_opens, backing_inodes). arg unused. */
int mbfs_pt_describe_status(void *arg, char *out, size_t outsz);
int mbfs_pt_describe_stats(char *out, size_t outsz);

#endif
