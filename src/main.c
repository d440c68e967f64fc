/*
 * main.c — owns the process lifecycle: options → credentials (creds.c:
 * environment, files, config file, or a prompt on the terminal) →
 * daemonize → transport → server probe, capability table and login →
 * caches → FUSE session → mount → loop → unwind. Every mount-time failure prints one clear line and
 * exits non-zero before the mount exists (never a half mount).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <json-c/json_c_version.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_status.h"
#include "creds.h"
#include "export.h"
#include "fs.h"
#include "fuse_ops.h"
#include "log.h"
#include "mb_api.h"
#include "mb_auth.h"
#include "mb_caps.h"
#include "mb_http.h"
#include "notify.h"
#include "options.h"
#include "park.h"
#include "session.h"
#include "queries.h"
#include "spool.h"
#include "tree.h"

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

/* The notifier thread: cache drops requested by SIGHUP. */
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

static void print_versions(void)
{
	printf("mbfs %s\nlibfuse %s\nlibcurl %s\njson-c %s\n", MBFS_VERSION,
	       fuse_pkgversion(), mb_http_curl_version(), json_c_version());
}

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

static void daemonize_finish(int fd)
{
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
}

/* The fs's inval_inode hook: the kernel drops ino's cached attributes
 * (offset -1: no page is touched, no lock is taken that a request holds). */
static void inval_inode_now(void *se, uint64_t ino)
{
	fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
}

struct mount_state {
	struct mb_http *http;
	struct mb_auth *auth;
	struct mb_client *client;
	struct mbfs_spool *spool;
	struct mbfs_export *export;
	struct mbfs_tree *tree;
	struct mbfs_fs *fs;
	struct mb_properties props;
	struct mb_user user;
	struct mb_caps caps;
	char caps_text[1024];
	char scope[64];            /* result key prefix: user and options */
	struct mbfs_queries *queries; /* queries/<db>/ SQL files of this user */
};

static void state_free(struct mount_state *m)
{
	mbfs_fs_free(m->fs);
	mbfs_tree_free(m->tree);
	mbfs_queries_free(m->queries);
	mbfs_export_free(m->export);
	mbfs_spool_free(m->spool);
	if (m->client)
		m->client->ops->destroy(m->client);
	mb_http_free(m->http); /* before auth: no transfer may still run */
	mb_auth_free(m->auth);
	mb_properties_free(&m->props);
	mb_user_free(&m->user);
}

/* Everything that needs the network before mounting. */
static int connect_server(struct mbfs_options *o, const struct mbfs_creds *c,
			  struct mount_state *m)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);

	struct mb_http_config hc = {.cafile = o->cafile,
				    .insecure = o->insecure,
				    .connect_timeout = o->connect_timeout,
				    .stall_timeout = o->stall_timeout};
	if (o->insecure)
		mbfs_warn("TLS certificate verification is off (-o insecure)");
	if (mb_http_new(&hc, &m->http, &err) != MBFS_OK)
		goto fail;
	struct mb_auth_config ac = {.url = o->url,
				    .api_key = c->api_key,
				    .session = c->session,
				    .username = c->username ? c->username
							    : o->username,
				    .password = c->password,
				    .password_file = c->password ? NULL
								 : o->password_file,
				    .cache_dir = o->cache_dir};
	/* -o public: no credential at all (public links only) */
	if (!o->public_only &&
	    mb_auth_new(&ac, m->http, &m->auth, &err) != MBFS_OK)
		goto fail;
	m->client = mb_api_new(o->url, m->http, m->auth, o->retries);
	if (!m->client) {
		mbfs_err_set(&err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	enum mbfs_status st = m->client->ops->properties(m->client, &m->props, &err);
	if (st != MBFS_OK) {
		if (st == MBFS_ERR_TLS)
			fprintf(stderr,
				"mbfs: cannot reach %s: %s (the server's certificate is not trusted: give its CA with -o cafile=FILE, or skip verification with -o insecure)\n",
				o->url, err.msg);
		else if (st == MBFS_ERR_NETWORK)
			fprintf(stderr, "mbfs: cannot reach %s: %s\n", o->url, err.msg);
		else if (st != MBFS_ERR_PROTOCOL && err.http_status >= 400 &&
			 err.http_status < 500)
			fprintf(stderr,
				"mbfs: %s does not look like a Metabase server (GET /api/session/properties: %s)\n",
				o->url, err.msg);
		else
			fprintf(stderr, "mbfs: %s\n", err.msg);
		return 1;
	}
	mb_caps_from_version(m->props.version_tag, &m->caps);
	mb_caps_describe(&m->caps, m->caps_text, sizeof m->caps_text);
	mb_api_set_caps(m->client, &m->caps);
	mbfs_debug("server version %s", m->caps.version);
	if (o->public_only) {
		mbfs_info("connected to %s (Metabase %s): public links only, no credentials (-o public)",
			  o->url, m->caps.version);
		return 0;
	}
	if (mb_auth_kind(m->auth) == MB_AUTH_API_KEY && m->caps.major &&
	    !m->caps.api_keys) {
		if (!mb_auth_has_password(m->auth)) {
			fprintf(stderr,
				"mbfs: %s runs Metabase %s, which has no API keys (they arrived in v0.49); use a username and password\n",
				o->url, m->caps.version);
			return 1;
		}
		mb_auth_drop_api_key(m->auth);
	}
	st = mb_auth_login(m->auth, &err);
	if (st == MBFS_OK)
		st = m->client->ops->current_user(m->client, &m->user, &err);
	if (st == MBFS_ERR_THROTTLED) {
		fprintf(stderr,
			"mbfs: %s (mbfs did not retry: Metabase keeps refusing for about an hour after 10 failed logins, and every attempt extends that)\n",
			err.msg);
		return 1;
	}
	if (st == MBFS_ERR_AUTH && mb_auth_kind(m->auth) == MB_AUTH_PASSWORD) {
		fprintf(stderr,
			"mbfs: %s (mbfs did not retry: Metabase locks an account after 10 failed logins)\n",
			err.msg);
		return 1;
	}
	if (st != MBFS_OK)
		goto fail;
	mbfs_info("connected to %s (Metabase %s) as %s using %s", o->url,
		  m->caps.version, m->user.email ? m->user.email : "?",
		  mb_auth_kind_name(mb_auth_kind(m->auth)));
	return 0;
fail:
	fprintf(stderr, "mbfs: %s\n", err.msg);
	return 1;
}

static int build_fs(struct mbfs_options *o, struct mount_state *m)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	if (mbfs_spool_new(o->cache_dir, o->url, o->cache_max, &m->spool, &err) != MBFS_OK)
		goto fail;
	struct mbfs_export_config ec = {.result_ttl = o->result_ttl,
					.error_ttl = o->error_ttl,
					.max_exports = o->max_exports,
					.row_cap = o->row_cap};
	if (mbfs_export_new(m->client, m->spool, &ec, &m->export, &err) != MBFS_OK)
		goto fail;
	m->tree = mbfs_tree_new(m->client, o);
	if (!m->tree) {
		mbfs_err_set(&err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	/* queries/: this Metabase user's SQL files, beside the spool (not
	 * with -o public: no user, no queries/) */
	if (!o->public_only &&
	    mbfs_queries_open(mbfs_spool_dir(m->spool), m->user.id,
			      &m->queries, &err) != MBFS_OK)
		goto fail;
	mbfs_tree_set_queries(m->tree, m->queries);
	/* Everything that changes the bytes of a result besides the object:
	 * the Metabase user (permissions, sandboxing) and format_rows. */
	if (o->public_only) /* no user: public links only */
		snprintf(m->scope, sizeof m->scope, "pub|fr%d|",
			 o->format_rows ? 1 : 0);
	else
		snprintf(m->scope, sizeof m->scope, "u%lld|fr%d|",
			 (long long)m->user.id, o->format_rows ? 1 : 0);
	struct mbfs_fs_env env = {.opts = o,
				  .result_scope = m->scope,
				  .client = m->client,
				  .auth = m->auth,
				  .tree = m->tree,
				  .export = m->export,
				  .version_tag = m->caps.version,
				  .user_email = m->user.email,
				  .caps_text = m->caps_text,
				  .queries = m->queries};
	m->fs = mbfs_fs_new(&env);
	if (!m->fs) {
		mbfs_err_set(&err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "mbfs: %s\n", err.msg);
	return 1;
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
			print_versions();
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
	struct mount_state m;
	memset(&m, 0, sizeof m);
	int rc = 1;
	struct mbfs_fs_ctx ctx = {0};
	struct fuse_session *se = NULL;
	pthread_t hup_tid;
	bool hup_started = false;
	struct mbfs_notify *notify = NULL;
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);

	int connected = connect_server(&o, &creds, &m);
	mbfs_creds_free(&creds); /* mb_auth keeps its own copies */
	if (connected != 0 || build_fs(&o, &m) != 0)
		goto out;

	if (mbfs_session_fuse_args(&o, &fargs) != 0)
		goto out;
	if (o.debug && fuse_opt_add_arg(&fargs, "-odebug") != 0)
		goto out;
	/* the URL holds no ',' or '\\' (mbfs_options_url_check): it cannot
	 * add options of its own here */
	size_t fsn = strlen(o.url) + 32;
	char *fsname = malloc(fsn);
	if (!fsname)
		goto out;
	snprintf(fsname, fsn, "-ofsname=%s,subtype=mbfs", o.url);
	int added = fuse_opt_add_arg(&fargs, fsname);
	free(fsname);
	if (added != 0)
		goto out;
	ctx.fs = m.fs;
	/* a waiting listing holds a pool thread until its fetch ends (at
	 * most stall_timeout): enough of them that 40 stalled directories
	 * do not keep others from being listed */
	ctx.listing_pool = mbfs_park_new("listing", 256);
	ctx.export_pool = mbfs_park_new("export", 256);
	if (!ctx.listing_pool || !ctx.export_pool)
		goto out;
	se = fuse_session_new(&fargs, &mbfs_fuse_ops, sizeof mbfs_fuse_ops, &ctx);
	if (!se) {
		fprintf(stderr, "mbfs: bad FUSE options (see mbfs --help)\n");
		goto out;
	}
	ctx.se = se;
	/* names that a re-listing drops leave the kernel's dentry cache */
	notify = mbfs_notify_new(se);
	if (notify) {
		mbfs_tree_set_gone_hook(m.tree, mbfs_notify_gone, notify);
		mbfs_fs_set_inval_hook(m.fs, mbfs_notify_gone, notify);
	}
	mbfs_fs_set_metrics_hook(m.fs, mbfs_fuse_describe_metrics, &ctx);
	/* a query's data file whose SQL changed: its attributes go at once */
	mbfs_fs_set_inval_inode_hook(m.fs, inval_inode_now, se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (pipe2(hup_pipe, O_CLOEXEC) == 0 &&
	    pthread_create(&hup_tid, NULL, hup_thread, m.fs) == 0) {
		hup_started = true;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sighup;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGHUP, &sa, NULL);
	}
	if (fuse_session_mount(se, o.mountpoint) != 0) {
		fprintf(stderr, "mbfs: cannot mount on %s\n", o.mountpoint);
		goto out_signals;
	}
	mbfs_info("mounted %s on %s", o.url, o.mountpoint);
	if (m.auth)
		mb_auth_started(m.auth);
	daemonize_finish(notify_fd);
	notify_fd = -1;

	int loop_rc;
	if (o.singlethread) {
		loop_rc = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_max_threads(lc, 64);
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
	/* End every wait, let the parked requests reply and their threads
	 * leave, and stop the notifier — all while the session's channel is
	 * still open: unmounting closes the /dev/fuse descriptor, whose
	 * number the next socket() may reuse, and a late reply would then
	 * be written into that socket. */
	mbfs_export_shutdown(m.export);
	mb_http_stop(m.http);
	mbfs_park_free(ctx.export_pool);
	mbfs_park_free(ctx.listing_pool);
	ctx.export_pool = ctx.listing_pool = NULL;
	if (notify) {
		mbfs_tree_set_gone_hook(m.tree, NULL, NULL);
		mbfs_fs_set_inval_hook(m.fs, NULL, NULL);
		mbfs_notify_free(notify);
		notify = NULL;
	}
	fuse_session_unmount(se);
	mbfs_info("unmounted %s", o.mountpoint);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (hup_started) {
		signal(SIGHUP, SIG_IGN);
		char q = 'q';
		if (write(hup_pipe[1], &q, 1) == 1)
			pthread_join(hup_tid, NULL);
	}
	if (m.fs)
		mbfs_fs_set_inval_inode_hook(m.fs, NULL, NULL);
	if (notify) {
		mbfs_tree_set_gone_hook(m.tree, NULL, NULL);
		mbfs_fs_set_inval_hook(m.fs, NULL, NULL);
		mbfs_notify_free(notify);
	}
	if (se)
		fuse_session_destroy(se);
	mbfs_park_free(ctx.listing_pool);
	mbfs_park_free(ctx.export_pool);
	state_free(&m);
	if (notify_fd >= 0)
		close(notify_fd); /* parent sees EOF: failure */
	mbfs_options_free(&o);
	fuse_opt_free_args(&fargs);
	return rc;
}
