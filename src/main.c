/*
 * main.c — the process: `mbfs status` first; then options → the checks
 * that need no network (libfuse accepts the pass-through options, the
 * mount point is a directory) → credentials (environment, files, config
 * file, or a prompt on the terminal) → daemonize → mbfs_run() (run.c:
 * the mount's wiring, the session and the unwind). Every failure before
 * the mount prints one clear line and exits non-zero (never a half mount).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_status.h"
#include "creds.h"
#include "log.h"
#include "options.h"
#include "run.h"
#include "session.h"

/* Daemonize before any thread exists: the parent waits on a pipe for the
 * child's verdict, so mount-time errors still reach the terminal and the
 * exit status. Returns the write end for the child (-1 in foreground). */
static int daemonize_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("mbfs: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("mbfs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		char ok = 0;
		ssize_t n;
		do
			n = read(p[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && ok == 'y' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	/* The daemon logs to syslog from here on; the terminal gets only the
	 * one line of a mount-time failure (printed with fprintf). */
	mbfs_log_use_syslog(true);
	return p[1];
}

/* Once mounted (mbfs_run's callback; arg is the int holding the write
 * end): leave the terminal and tell the waiting parent. */
static void daemonize_finish(void *arg)
{
	int *fdp = arg;
	int fd = *fdp;
	if (fd < 0)
		return;
	if (chdir("/") != 0) {
		/* harmless */
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	char y = 'y';
	if (write(fd, &y, 1) != 1) {
		/* parent gone */
	}
	close(fd);
	*fdp = -1;
}

int main(int argc, char **argv)
{
	/* `mbfs status MOUNTPOINT`: reads a mount's .mbfs/, holds no secret */
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return mbfs_cli_status(argc - 1, argv + 1);
	/* No core file, no ptrace and no /proc/PID/mem for the owner's
	 * other processes: this process is about to hold secrets. Kept
	 * across fork (daemonize), dropped by execve (fusermount3). */
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0) {
		perror("mbfs: prctl(PR_SET_DUMPABLE)");
		return 1;
	}
	struct mbfs_options o;
	enum mbfs_options_result r = mbfs_options_parse(argc, argv, &o);
	if (r == MBFS_OPTIONS_EXIT_OK) {
		if (o.show_version)
			mbfs_run_print_versions(stdout);
		mbfs_options_free(&o);
		return 0;
	}
	if (r == MBFS_OPTIONS_ERROR)
		return 1;

	enum mbfs_log_level lvl = MBFS_LOG_INFO;
	if (o.log_level)
		mbfs_log_parse_level(o.log_level, &lvl);
	if (o.debug)
		lvl = MBFS_LOG_DEBUG;
	mbfs_log_set_level(lvl);

	if (!mbfs_session_check_options(&o)) {
		mbfs_options_free(&o);
		return 1;
	}
	/* /dev/fd/N: an already opened /dev/fuse (mount.fuse3 -o drop_privileges) */
	struct stat mst;
	if (strncmp(o.mountpoint, "/dev/fd/", 8) != 0 &&
	    (stat(o.mountpoint, &mst) != 0 || !S_ISDIR(mst.st_mode))) {
		fprintf(stderr, "mbfs: mount point %s is not a directory\n",
			o.mountpoint);
		mbfs_options_free(&o);
		return 1;
	}

	struct mbfs_creds creds;
	int gathered = mbfs_creds_gather(&o, &creds);
	mbfs_creds_scrub_environment(); /* the secrets are in creds now */
	if (gathered != 0) {
		mbfs_creds_free(&creds);
		mbfs_options_free(&o);
		return 1;
	}

	int notify_fd = o.foreground ? -1 : daemonize_start();
	int rc = mbfs_run(&o, &creds, daemonize_finish, &notify_fd);
	if (notify_fd >= 0)
		close(notify_fd); /* parent sees EOF: failure */
	mbfs_options_free(&o);
	return rc;
}
