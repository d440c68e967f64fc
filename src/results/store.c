/*
 * store.c — owns the file handling every store under the cache directory
 * shares: safe directories, capped whole-file reads, atomic durable index
 * replacement, flock, and the percent escaping of index fields. See
 * store.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Is the open directory fd safe: ours, not writable by group or others? */
static enum mbfs_status check_dir(int fd, const char *path, struct mbfs_err *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot stat %s: %s",
				    path, strerror(errno));
	if (st.st_uid != geteuid())
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "the cache directory %s is not owned by you (uid %u): refused; use another -o cache_dir or remove it",
				    path, (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "the cache directory %s is writable by group or others: refused; run chmod 700 %s",
				    path, path);
	return MBFS_OK;
}

enum mbfs_status mbfs_store_dir(int parent, const char *name,
				const char *path, int *out,
				struct mbfs_err *err)
{
	if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "cannot create the cache directory %s: %s",
				    path, strerror(errno));
	int fd = openat(parent, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    errno == ELOOP || errno == ENOTDIR
					    ? "the cache directory %s is a symlink or not a directory: refused"
					    : "cannot open the cache directory %s",
				    path);
	enum mbfs_status st = check_dir(fd, path, err);
	if (st != MBFS_OK) {
		close(fd);
		return st;
	}
	*out = fd;
	return MBFS_OK;
}

enum mbfs_status mbfs_store_lock_file(int dirfd, const char *dir, int *fd,
				      struct mbfs_err *err)
{
	int f = openat(dirfd, "lock",
		       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0 && errno == EEXIST)
		f = openat(dirfd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		if (f >= 0)
			close(f);
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "cannot use the lock file %s/lock (a symlink or not yours?)",
				    dir);
	}
	*fd = f;
	return MBFS_OK;
}

void mbfs_store_flock(int fd, int op)
{
	while (flock(fd, op) != 0 && errno == EINTR)
		;
}

enum mbfs_status mbfs_store_read(int dirfd, const char *dir, const char *name,
				 size_t max, char **buf, size_t *len,
				 struct mbfs_err *err)
{
	*buf = NULL;
	*len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					    "%s/%s does not exist", dir, name);
		return mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot open %s/%s: %s",
				    dir, name, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (size_t)st.st_size > max) {
		close(fd);
		return mbfs_err_set(err, MBFS_ERR_IO, 0,
				    "%s/%s is not a regular file of ours within %zu bytes: refused",
				    dir, name, max);
	}
	size_t cap = (size_t)st.st_size, n = 0;
	char *b = malloc(cap + 1);
	while (b && n < cap) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!b)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	b[n] = '\0';
	*buf = b;
	*len = n;
	return MBFS_OK;
}

enum mbfs_status mbfs_store_replace(int dirfd, const char *dir,
				    const char *name,
				    bool (*write)(FILE *f, void *arg), void *arg,
				    struct mbfs_err *err)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	unlinkat(dirfd, tmp, 0); /* a dead writer's */
	int fd = openat(dirfd, tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot write %s/%s: %s",
				    dir, tmp, strerror(e));
	}
	bool ok = write(f, arg);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	int e = errno;
	ok = fclose(f) == 0 && ok;
	if (!ok || renameat(dirfd, tmp, dirfd, name) != 0) {
		if (ok)
			e = errno;
		unlinkat(dirfd, tmp, 0);
		return mbfs_err_set(err, MBFS_ERR_IO, 0, "cannot update %s/%s: %s",
				    dir, name, strerror(e));
	}
	fsync(dirfd);
	return MBFS_OK;
}

/* ---- percent escaping ------------------------------------------------------- */

static bool plain_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}

void mbfs_store_escape(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (plain_byte(*p)) {
			fputc(*p, f);
		} else {
			fputc('%', f);
			fputc(hex[*p >> 4], f);
			fputc(hex[*p & 15], f);
		}
	}
}

char *mbfs_store_unescape(const char *s, size_t len, size_t max_len)
{
	if (len == 0 || len > max_len)
		return NULL;
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			if (!plain_byte((unsigned char)s[i]))
				goto bad;
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			goto bad;
		int h = mbfs_hex_digit(s[i + 1]), l = mbfs_hex_digit(s[i + 2]);
		if (h < 0 || l < 0 || (h == 0 && l == 0))
			goto bad;
		out[o++] = (char)(h * 16 + l);
		i += 2;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}
