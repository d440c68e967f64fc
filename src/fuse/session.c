/*
 * session.c — owns the FUSE session's life: the arguments libfuse sees,
 * the trial sessions that check them, the worker pool and the context
 * the shim gets, the notifier and the fs/tree hooks that reach the kernel,
 * the signal handlers and the SIGHUP thread, mount, the loop, and the
 * unwind. See session.h.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "fuse_ops.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "passthrough.h"
#include "pool.h"
#include "tree.h"

/* The thread bound (.mbfs/stats threads_max): the main thread, the I/O
 * thread, the notifier and the SIGHUP thread; libfuse's workers; the
 * worker pool; the export runners (max_exports). */
#define THREADS_FIXED 4u
#define FUSE_WORKERS_MAX 64u
#define POOL_MAX 256u

/* Options that mount(8), fstab and systemd use for themselves: accepted
 * and ignored, as sshfs does (mount.fuse3 already drops most of them). */
static bool mount_only_option(const char *arg)
{
	static const char *const names[] = {
		"_netdev", "auto", "noauto", "user", "nouser", "users", "owner",
		"group", "nofail", "defaults", "relatime", "norelatime",
		"strictatime", "nostrictatime", "lazytime", "nolazytime",
		"diratime", "nodiratime", "iversion", "noiversion", "loud",
		"silent"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(arg, names[i]) == 0)
			return true;
	return !*arg || strncmp(arg, "x-", 2) == 0 ||
	       strncmp(arg, "comment=", 8) == 0;
}

static void silent_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

bool mbfs_session_check_options(const struct mbfs_options *o)
{
	static const struct fuse_lowlevel_ops no_ops;
	bool ok = true;
	fuse_set_log_func(silent_log);
	for (int i = 0; i < o->n_fuse_passthrough && ok; i++) {
		const char *opt = o->fuse_passthrough[i];
		if (mount_only_option(opt))
			continue;
		char *argv[4] = {(char *)"mbfs", NULL, NULL, NULL};
		int argc = 2;
		if (opt[0] == '-') {
			argv[1] = (char *)opt;
		} else {
			argv[1] = (char *)"-o";
			argv[2] = (char *)opt;
			argc = 3;
		}
		struct fuse_args a = FUSE_ARGS_INIT(argc, argv);
		struct fuse_session *se =
			fuse_session_new(&a, &no_ops, sizeof no_ops, NULL);
		fuse_opt_free_args(&a);
		if (se) {
			fuse_session_destroy(se);
			continue;
		}
		ok = false;
		fuse_set_log_func(NULL);
		if (opt[0] == '-')
			fprintf(stderr, "mbfs: unknown option '%s'; usage: mbfs [URL] MOUNTPOINT [-o opt,...] [-f] [-d] [-s]; see mbfs --help for every option\n", opt);
		else
			fprintf(stderr, "mbfs: unknown option '-o %s'; see mbfs --help for every option (options are comma-separated; formats= uses ':')\n", opt);
	}
	fuse_set_log_func(NULL);
	return ok;
}

int mbfs_session_fuse_args(const struct mbfs_options *o, struct fuse_args *fa)
{
	*fa = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	char *opts = NULL;
	int rc = fuse_opt_add_arg(fa, "mbfs");
	for (int i = 0; i < o->n_fuse_passthrough && rc == 0; i++) {
		const char *p = o->fuse_passthrough[i];
		if (mount_only_option(p))
			continue;
		rc = p[0] == '-' ? fuse_opt_add_arg(fa, p)
				 : fuse_opt_add_opt_escaped(&opts, p);
	}
	if (rc == 0 && opts)
		rc = fuse_opt_insert_arg(fa, 1, "-o") == 0 &&
				     fuse_opt_insert_arg(fa, 2, opts) == 0
			     ? 0
			     : -1;
	free(opts);
	return rc == 0 ? 0 : -1;
}

const char *mbfs_session_fuse_version(void)
{
	return fuse_pkgversion();
}

/* ---- SIGHUP: drop every cache ------------------------------------------- */

static int hup_pipe[2] = {-1, -1};

static void on_sighup(int sig)
{
	(void)sig;
	int saved = errno;
	char c = 'h';
	if (write(hup_pipe[1], &c, 1) < 0) {
		/* nothing to do in a signal handler */
	}
	errno = saved;
}

/* The SIGHUP thread: cache drops requested by SIGHUP. */
static void *hup_thread(void *arg)
{
	struct mbfs_fs *fs = arg;
	char c;
	for (;;) {
		ssize_t n = read(hup_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == 'q')
			return NULL;
		mbfs_fs_invalidate_all(fs);
	}
}

/* The fs's inval_inode hook: the kernel drops ino's cached attributes
 * (offset -1: no page is touched, no lock is taken that a request holds). */
static void inval_inode_now(void *se, uint64_t ino)
{
	fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
}

/* ---- the session ---------------------------------------------------------- */

int mbfs_session_run(const struct mbfs_options *o, struct mbfs_fs *fs,
		     struct mbfs_tree *tree,
		     const struct mbfs_session_hooks *hooks)
{
	int rc = 1;
	struct fuse_args fargs;
	struct mbfs_fs_ctx ctx = {0};
	struct fuse_session *se = NULL;
	pthread_t hup_tid;
	bool hup_started = false;
	struct mbfs_notify *notify = NULL;

	if (mbfs_session_fuse_args(o, &fargs) != 0)
		goto out;
	if (o->debug && fuse_opt_add_arg(&fargs, "-odebug") != 0)
		goto out;
	/* the URL holds no ',' or '\\' (mbfs_options_url_check): it cannot
	 * add options of its own here */
	size_t fsn = strlen(o->url) + 32;
	char *fsname = malloc(fsn);
	if (!fsname)
		goto out;
	snprintf(fsname, fsn, "-ofsname=%s,subtype=mbfs", o->url);
	int added = fuse_opt_add_arg(&fargs, fsname);
	free(fsname);
	if (added != 0)
		goto out;
	ctx.fs = fs;
	/* The worker pool: one thread per listing or list fetch in flight
	 * (each at most stall_timeout; enough that 40 stalled directories
	 * do not keep others from being listed) and the short retries of
	 * requests whose wait ended. Requests wait without a thread. */
	ctx.pool = mbfs_pool_new("worker", POOL_MAX);
	if (!ctx.pool)
		goto out;
	ctx.threads_max = THREADS_FIXED + FUSE_WORKERS_MAX + POOL_MAX +
			  (unsigned)o->max_exports;
	mbfs_tree_set_pool(tree, ctx.pool);
	if (hooks->pool)
		hooks->pool(hooks->arg, ctx.pool);
	se = fuse_session_new(&fargs, &mbfs_fuse_ops, sizeof mbfs_fuse_ops, &ctx);
	if (!se) {
		fprintf(stderr, "mbfs: bad FUSE options (see mbfs --help)\n");
		goto out;
	}
	ctx.se = se;
	/* names that a re-listing drops leave the kernel's dentry cache */
	notify = mbfs_notify_new(se);
	if (notify) {
		mbfs_tree_set_gone_hook(tree, mbfs_notify_gone, notify);
		mbfs_fs_set_inval_hook(fs, mbfs_notify_gone, notify);
	}
	mbfs_fs_set_report_hook(fs, MBFS_REPORT_METRICS,
				mbfs_fuse_describe_metrics, &ctx);
	mbfs_fs_set_report_hook(fs, MBFS_REPORT_STATS, mbfs_fuse_describe_stats,
				&ctx);
	mbfs_fs_set_report_hook(fs, MBFS_REPORT_STATUS, mbfs_pt_describe_status,
				NULL);
	/* a query's data file whose SQL changed: its attributes go at once */
	mbfs_fs_set_inval_inode_hook(fs, inval_inode_now, se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (pipe2(hup_pipe, O_CLOEXEC) == 0 &&
	    pthread_create(&hup_tid, NULL, hup_thread, fs) == 0) {
		hup_started = true;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sighup;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGHUP, &sa, NULL);
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		fprintf(stderr, "mbfs: cannot mount on %s\n", o->mountpoint);
		goto out_signals;
	}
	mbfs_info("mounted %s on %s", o->url, o->mountpoint);
	if (hooks->mounted)
		hooks->mounted(hooks->arg);

	int loop_rc;
	if (o->singlethread) {
		loop_rc = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_max_threads(lc, FUSE_WORKERS_MAX);
		fuse_loop_cfg_set_idle_threads(lc, 16);
		loop_rc = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	/* A lazy unmount (fusermount3 -uz) ends the connection when its last
	 * user goes; the kernel then answers our reads with ENODEV (libfuse:
	 * a clean end) or, depending on timing, ECONNABORTED (libfuse: an
	 * error) — both are the end of a mount that was unmounted. */
	rc = loop_rc == 0 || loop_rc == -ECONNABORTED || loop_rc == ECONNABORTED
		     ? 0
		     : 1;
	/* End every wait and let the waiting requests reply, and stop the
	 * notifier — all while the session's channel is still open:
	 * unmounting closes the /dev/fuse descriptor, whose number the next
	 * socket() may reuse, and a late reply would then be written into
	 * that socket. Order: nothing starts a listing fetch any more; the
	 * caller's hook ends the exports and transfers and joins the
	 * runners (waking their waiters); the pool drains (fetch jobs end,
	 * retries answer). */
	mbfs_tree_stop(tree);
	if (hooks->stopping)
		hooks->stopping(hooks->arg);
	if (hooks->pool)
		hooks->pool(hooks->arg, NULL);
	mbfs_pool_free(ctx.pool);
	ctx.pool = NULL;
	if (notify) {
		mbfs_tree_set_gone_hook(tree, NULL, NULL);
		mbfs_fs_set_inval_hook(fs, NULL, NULL);
		mbfs_notify_free(notify);
		notify = NULL;
	}
	fuse_session_unmount(se);
	mbfs_info("unmounted %s", o->mountpoint);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (hup_started) {
		signal(SIGHUP, SIG_IGN);
		char q = 'q';
		if (write(hup_pipe[1], &q, 1) == 1)
			pthread_join(hup_tid, NULL);
	}
	mbfs_fs_set_inval_inode_hook(fs, NULL, NULL);
	if (notify) {
		mbfs_tree_set_gone_hook(tree, NULL, NULL);
		mbfs_fs_set_inval_hook(fs, NULL, NULL);
		mbfs_notify_free(notify);
	}
	if (se)
		fuse_session_destroy(se);
	if (ctx.pool && hooks->pool)
		hooks->pool(hooks->arg, NULL);
	mbfs_pool_free(ctx.pool);
	/* ctx ends with this call: no metrics or stats from the shim any more */
	for (int r = 0; r < MBFS_REPORT_COUNT; r++)
		mbfs_fs_set_report_hook(fs, (enum mbfs_fs_report)r, NULL, NULL);
	fuse_opt_free_args(&fargs);
	return rc;
}
