/*
 * run.c — owns the wiring of one mount: transport, authenticator, client,
 * capability table and login, spool, export engine, tree, query store and
 * fs, handed to the FUSE session; then the unwind in the reverse order.
 * Every mount-time failure prints one clear line and ends the run before
 * the mount exists (never a half mount). See run.h.
 */
#include "run.h"

#include <stdio.h>
#include <string.h>

#include "creds.h"
#include "export.h"
#include "fs.h"
#include "log.h"
#include "mb_api.h"
#include "mb_auth.h"
#include "mb_caps.h"
#include "mb_http.h"
#include "mb_json.h"
#include "mode.h"
#include "options.h"
#include "queries.h"
#include "session.h"
#include "spool.h"
#include "tree.h"
#include "util.h"

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

/* A Mode workspace (DESIGN.md §10): the client, and one request that
 * proves the credentials and the workspace before anything is mounted. */
static int connect_mode(const struct mbfs_options *o,
			const struct mbfs_creds *c, struct mount_state *m)
{
	struct mbfs_err err;
	mbfs_err_clear(&err);
	struct mode_config mc = {.url = o->url,
				 .workspace = o->workspace,
				 .token = c->mode_token,
				 .secret = c->mode_secret,
				 .run_new = o->mode_run_new,
				 .retries = o->retries,
				 .refusal_ttl = o->error_ttl};
	m->client = mode_client_new(&mc, m->http);
	if (!m->client) {
		fprintf(stderr, "mbfs: out of memory\n");
		return 1;
	}
	enum mbfs_status st = mode_client_check(m->client, &err);
	if (st == MBFS_ERR_AUTH)
		fprintf(stderr,
			"mbfs: Mode refused the API token and secret for workspace %s (mbfs did not retry: HTTP Basic has no session to renew)\n",
			o->workspace);
	else if (st == MBFS_ERR_NOT_FOUND)
		fprintf(stderr, "mbfs: %s has no Mode workspace %s: %s\n", o->url,
			o->workspace, err.msg);
	else if (st != MBFS_OK)
		fprintf(stderr, "mbfs: cannot reach Mode at %s: %s\n", o->url,
			err.msg);
	if (st != MBFS_OK)
		return 1;
	/* results are keyed by the workspace and the token (who sees what;
	 * hashed: no credential on disk) and the run policy */
	uint64_t who = mbfs_fnv1a_str(MBFS_FNV1A_INIT, o->workspace);
	who = mbfs_fnv1a(who, "", 1);
	who = mbfs_fnv1a_str(who, c->mode_token);
	snprintf(m->scope, sizeof m->scope, "mode:%016llx|run%d|",
		 (unsigned long long)who, o->mode_run_new ? 1 : 0);
	snprintf(m->caps_text, sizeof m->caps_text,
		 "backend: Mode, workspace %s, results of %s\n", o->workspace,
		 o->mode_run_new ? "a new run each" : "the latest successful run");
	mbfs_info("connected to Mode at %s, workspace %s", o->url, o->workspace);
	return 0;
}

/* Everything that needs the network before mounting. */
static int connect_server(const struct mbfs_options *o,
			  const struct mbfs_creds *c,
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
	if (o->mode)
		return connect_mode(o, c, m);
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

static int build_fs(const struct mbfs_options *o, struct mount_state *m)
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
	if (!o->public_only && !o->mode &&
	    mbfs_queries_open(mbfs_spool_dir(m->spool), m->user.id,
			      &m->queries, &err) != MBFS_OK)
		goto fail;
	mbfs_tree_set_queries(m->tree, m->queries);
	/* Everything that changes the bytes of a result besides the object:
	 * the Metabase user (permissions, sandboxing) and format_rows. */
	if (o->mode) /* connect_mode chose it */
		;
	else if (o->public_only) /* no user: public links only */
		snprintf(m->scope, sizeof m->scope, "pub|fr%d|",
			 o->format_rows ? 1 : 0);
	else
		snprintf(m->scope, sizeof m->scope, "u%lld|fr%d|",
			 (long long)m->user.id, o->format_rows ? 1 : 0);
	struct mbfs_fs_env env = {.opts = o,
				  .result_scope = m->scope,
				  .client = m->client,
				  .tree = m->tree,
				  .export = m->export,
				  .version_tag = o->mode ? "Mode" : m->caps.version,
				  .user_email = o->mode ? "the API token" : m->user.email,
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

/* The session's hooks: the mount exists (login sessions may be cached
 * from now on, main finishes daemonizing), and the loop ended (end every
 * wait: exports, then transfers, then the runners are joined). */
struct run_hooks {
	struct mount_state *m;
	void (*mounted)(void *arg);
	void *arg;
};

static void on_mounted(void *arg)
{
	struct run_hooks *h = arg;
	if (h->m->auth)
		mb_auth_started(h->m->auth);
	if (h->mounted)
		h->mounted(h->arg);
}

static void on_stopping(void *arg)
{
	struct run_hooks *h = arg;
	mbfs_export_shutdown(h->m->export);
	mb_http_stop(h->m->http);
	mbfs_export_join(h->m->export);
}

/* The worker pool also removes the files of dropped results. */
static void on_pool(void *arg, struct mbfs_pool *pool)
{
	struct run_hooks *h = arg;
	mbfs_spool_set_pool(h->m->spool, pool);
}

int mbfs_run(const struct mbfs_options *o, struct mbfs_creds *c,
	     void (*mounted)(void *arg), void *arg)
{
	struct mount_state m;
	memset(&m, 0, sizeof m);
	int rc = 1;
	int connected = connect_server(o, c, &m);
	mbfs_creds_free(c); /* mb_auth keeps its own copies */
	if (connected == 0 && build_fs(o, &m) == 0) {
		struct run_hooks rh = {.m = &m, .mounted = mounted, .arg = arg};
		struct mbfs_session_hooks sh = {.mounted = on_mounted,
						.stopping = on_stopping,
						.pool = on_pool,
						.arg = &rh};
		rc = mbfs_session_run(o, m.fs, m.tree, &sh);
	}
	state_free(&m);
	return rc;
}

void mbfs_run_print_versions(FILE *f)
{
	fprintf(f, "mbfs %s\nlibfuse %s\nlibcurl %s\njson-c %s\n", MBFS_VERSION,
		mbfs_session_fuse_version(), mb_http_curl_version(),
		mb_json_version());
}
