/*
 * testlib.h — helpers the unit tests share (besides check.h): a private
 * temporary directory per test and its removal.
 */
#ifndef MBFS_TESTLIB_H
#define MBFS_TESTLIB_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static inline int testlib_rm_one(const char *path, const struct stat *st,
				 int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Remove dir and everything below it (symlinks are not followed). */
static inline void rm_rf(const char *dir)
{
	nftw(dir, testlib_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new private directory /tmp/mbfs-test-<tag>-XXXXXX (heap path); exits
 * the test (status 2) when it cannot be made. */
static inline char *make_tmpdir(const char *tag)
{
	char tmpl[256];
	snprintf(tmpl, sizeof tmpl, "/tmp/mbfs-test-%s-XXXXXX", tag);
	char *d = mkdtemp(tmpl);
	if (!d) {
		perror("mkdtemp");
		exit(2);
	}
	return strdup(d);
}

#endif
