/*
 * main.c — owns the process lifecycle: options → credentials → transport →
 * server probe and login → caches → FUSE session → mount → daemonize →
 * loop → unwind. Every mount-time failure prints one clear line and exits
 * non-zero before the mount exists (never a half mount).
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
#include <sys/stat.h>
#include <unistd.h>

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
#include "spool.h"
#include "tree.h"

#define SECRET_MAX 4096

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

/* Read a one-line secret from a file; NULL with a message on failure. */
static char *read_secret(const char *path, const char *what)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "mbfs: cannot read the %s file %s: %s\n", what,
			path, strerror(errno));
		return NULL;
	}
	char buf[SECRET_MAX];
	char *r = fgets(buf, sizeof buf, f) ? buf : NULL;
	fclose(f);
	if (!r || !buf[strcspn(buf, "\r\n")] ) {
		/* fallthrough to the emptiness check */
	}
	if (r)
		buf[strcspn(buf, "\r\n")] = '\0';
	if (!r || !buf[0]) {
		fprintf(stderr, "mbfs: the %s file %s is empty\n", what, path);
		return NULL;
	}
	return strdup(buf);
}

/* First non-empty of: the environment, a file, the config file. */
static bool secret_from(const char *env, const char *file, const char *cfgkey,
			const char *what, char **out)
{
	*out = NULL;
	const char *e = getenv(env);
	if (e && *e) {
		*out = strdup(e);
		return true;
	}
	if (file) {
		*out = read_secret(file, what);
		return *out != NULL;
	}
	bool refused = false;
	const char *c = mbfs_options_config(cfgkey, &refused);
	if (refused) {
		fprintf(stderr,
			"mbfs: the config file holds a %s but is readable by others; run chmod 600 on it\n",
			what);
		return false;
	}
	if (c && *c)
		*out = strdup(c);
	return true;
}

static void wipe(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
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
	mbfs_log_use_syslog(true);
	char y = 'y';
	if (write(fd, &y, 1) != 1) {
		/* parent gone */
	}
	close(fd);
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
	char caps_text[512];
};

static void state_free(struct mount_state *m)
{
	mbfs_fs_free(m->fs);
	mbfs_tree_free(m->tree);
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
static int connect_server(struct mbfs_options *o, struct mount_state *m)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	char *api_key = NULL, *session = NULL, *password = NULL;
	int rc = 1;

	if (!secret_from("MBFS_API_KEY", o->api_key_file, "api_key", "API key",
			 &api_key) ||
	    !secret_from("MBFS_SESSION", o->session_file, "session",
			 "session token", &session) ||
	    !secret_from("MBFS_PASSWORD", NULL, "password", "password",
			 &password))
		goto out;

	struct mb_http_config hc = {.cafile = o->cafile,
				    .insecure = o->insecure,
				    .connect_timeout = o->connect_timeout};
	if (mb_http_new(&hc, &m->http, &err) != MBFS_OK)
		goto fail;
	struct mb_auth_config ac = {.url = o->url,
				    .api_key = api_key,
				    .session = session,
				    .username = o->username,
				    .password = password,
				    .password_file = password ? NULL : o->password_file,
				    .cache_dir = o->cache_dir};
	if (mb_auth_new(&ac, m->http, &m->auth, &err) != MBFS_OK)
		goto fail;
	m->client = mb_api_new(o->url, m->http, m->auth, o->retries);
	if (!m->client) {
		mbfs_err_set(&err, MBFS_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	enum mbfs_status st = m->client->ops->properties(m->client, &m->props, &err);
	if (st != MBFS_OK) {
		if (st == MBFS_ERR_NETWORK || st == MBFS_ERR_TLS)
			fprintf(stderr, "mbfs: cannot reach %s: %s\n", o->url, err.msg);
		else
			fprintf(stderr, "mbfs: %s\n", err.msg);
		goto out;
	}
	mb_caps_from_version(m->props.version_tag, &m->caps);
	mb_caps_describe(&m->caps, m->caps_text, sizeof m->caps_text);
	if (mb_auth_kind(m->auth) == MB_AUTH_API_KEY && m->caps.major &&
	    !m->caps.api_keys) {
		fprintf(stderr,
			"mbfs: %s runs Metabase %s, which has no API keys (they arrived in v0.49); use a username and password\n",
			o->url, m->caps.version);
		goto out;
	}
	if (mb_auth_login(m->auth, &err) != MBFS_OK)
		goto fail;
	st = m->client->ops->current_user(m->client, &m->user, &err);
	if (st != MBFS_OK)
		goto fail;
	mbfs_info("connected to %s (Metabase %s) as %s using %s", o->url,
		  m->caps.version, m->user.email ? m->user.email : "?",
		  mb_auth_kind_name(mb_auth_kind(m->auth)));
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "mbfs: %s\n", err.msg);
out:
	wipe(api_key);
	wipe(session);
	wipe(password);
	return rc;
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
	struct mbfs_fs_env env = {.opts = o,
				  .client = m->client,
				  .auth = m->auth,
				  .tree = m->tree,
				  .export = m->export,
				  .version_tag = m->caps.version,
				  .user_email = m->user.email,
				  .caps_text = m->caps_text};
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
	struct mbfs_options o;
	struct fuse_args fargs;
	enum mbfs_options_result r = mbfs_options_parse(argc, argv, &o, &fargs);
	if (r == MBFS_OPTIONS_EXIT_OK) {
		if (o.show_version)
			print_versions();
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

	struct stat mst;
	if (stat(o.mountpoint, &mst) != 0 || !S_ISDIR(mst.st_mode)) {
		fprintf(stderr, "mbfs: mount point %s is not a directory\n",
			o.mountpoint);
		mbfs_options_free(&o);
		fuse_opt_free_args(&fargs);
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

	if (connect_server(&o, &m) != 0 || build_fs(&o, &m) != 0)
		goto out;

	if (o.debug && fuse_opt_add_arg(&fargs, "-odebug") != 0)
		goto out;
	char fsname[1024];
	snprintf(fsname, sizeof fsname, "-ofsname=%s,subtype=mbfs", o.url);
	if (fuse_opt_add_arg(&fargs, fsname) != 0)
		goto out;
	ctx.fs = m.fs;
	ctx.listing_pool = mbfs_park_new("listing", 32);
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
	if (notify)
		mbfs_tree_set_gone_hook(m.tree, mbfs_notify_gone, notify);
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
	fuse_session_unmount(se);
	mbfs_info("unmounted %s", o.mountpoint);
	rc = loop_rc == 0 ? 0 : 1;
	/* End every wait so parked requests reply while the session exists. */
	mbfs_export_shutdown(m.export);
	mb_http_stop(m.http);
	mbfs_park_free(ctx.export_pool);
	mbfs_park_free(ctx.listing_pool);
	ctx.export_pool = ctx.listing_pool = NULL;
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (hup_started) {
		signal(SIGHUP, SIG_IGN);
		char q = 'q';
		if (write(hup_pipe[1], &q, 1) == 1)
			pthread_join(hup_tid, NULL);
	}
	if (notify) {
		mbfs_tree_set_gone_hook(m.tree, NULL, NULL);
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
