/*
 * secret.c — owns the checks and the reading of secret files (ssh's
 * private-key rules). See secret.h.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A path for a message: control characters escaped, bounded. */
static const char *shown(const char *path, char *buf, size_t bufsz)
{
	mbfs_escape_text(path, buf, bufsz);
	return buf;
}

/* Open and check: MBFS_OK with the descriptor in *fd and its stat in
 * *st, or the refusal (err may be NULL). */
static enum mbfs_status open_secret(const char *path, const char *what,
				    struct stat *st, int *fd,
				    struct mbfs_err *err)
{
	char sp[400];
	shown(path, sp, sizeof sp);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "cannot read the %s file %s: %s", what, sp,
				    strerror(errno));
	unsigned me = (unsigned)geteuid();
	enum mbfs_status rc = MBFS_OK;
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
		rc = mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				  "the %s file %s is not a regular file: refused",
				  what, sp);
	} else if (st->st_uid != geteuid()) {
		rc = mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				  "the %s file %s is owned by uid %u, not by you (uid %u): refused; run chown %u %s",
				  what, sp, (unsigned)st->st_uid, me, me, sp);
	} else if (st->st_mode & 077) {
		rc = mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				  "the %s file %s is %s by group or others (mode %04o): refused; run chmod 600 %s",
				  what, sp,
				  (st->st_mode & 044)   ? "readable"
				  : (st->st_mode & 022) ? "writable"
							: "accessible",
				  (unsigned)(st->st_mode & 07777), sp);
	}
	if (rc != MBFS_OK) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

enum mbfs_status mbfs_secret_check(const char *path, const char *what,
				   struct mbfs_err *err)
{
	struct stat st;
	int fd;
	enum mbfs_status rc = open_secret(path, what, &st, &fd, err);
	if (rc == MBFS_OK)
		close(fd);
	return rc;
}

enum mbfs_status mbfs_secret_read(const char *path, const char *what,
				  struct stat *st_out, char **out,
				  struct mbfs_err *err)
{
	*out = NULL;
	struct stat st;
	int fd;
	enum mbfs_status rc = open_secret(path, what, &st, &fd, err);
	if (rc != MBFS_OK)
		return rc;
	char sp[400];
	shown(path, sp, sizeof sp);
	char buf[MBFS_SECRET_MAX + 2];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (st_out)
		*st_out = st;
	if (n < 0)
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "cannot read the %s file %s: %s", what, sp,
				    strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		rc = mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				  "the %s file %s is empty", what, sp);
	else if (strlen(buf) >= MBFS_SECRET_MAX)
		rc = mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				  "the %s file %s holds a line longer than %d bytes",
				  what, sp, MBFS_SECRET_MAX - 1);
	else if (!(*out = strdup(buf)))
		rc = mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	explicit_bzero(buf, sizeof buf);
	return rc;
}
