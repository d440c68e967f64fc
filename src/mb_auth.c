/*
 * mb_auth.c — owns the credentials, the current session token, the
 * single-flight re-login, the memory of refused logins and the on-disk
 * session cache. See mb_auth.h.
 */
#include "mb_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mb_json.h"

#define TOKEN_MAX 512

struct mb_auth {
	pthread_mutex_t lock;       /* protects everything below */
	pthread_cond_t cond;        /* signalled when a login finishes */
	struct mb_http *http;
	enum mb_auth_kind kind;
	char *url;
	char *api_key;
	char *session;              /* current token (given or obtained) */
	char *username;
	char *password;
	char *password_file;
	struct timespec password_mtime;
	char *cache_dir;
	char *cache_path;           /* session cache file, or NULL */
	uint64_t gen;               /* bumped whenever the credential changes */
	bool logging_in;
	/* a refused login: not repeated until the password file changes */
	bool failed;
	struct mbfs_err failure;
	unsigned logins;
	struct timespec session_since; /* CLOCK_REALTIME of the login */
};

const char *mb_auth_kind_name(enum mb_auth_kind k)
{
	switch (k) {
	case MB_AUTH_API_KEY: return "api-key";
	case MB_AUTH_SESSION: return "session";
	case MB_AUTH_PASSWORD: return "password";
	default: return "none";
	}
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- session cache ----------------------------------------------------- */

static char *cache_path_for(const char *dir, const char *url, const char *user)
{
	if (!dir || !*dir || !user)
		return NULL;
	uint64_t h = fnv1a(url, 0xcbf29ce484222325ULL);
	h = fnv1a("\n", h);
	h = fnv1a(user, h);
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "%s/sessions/%016llx", dir,
			 (unsigned long long)h);
	if (n < 0 || (size_t)n >= sizeof buf)
		return NULL;
	return strdup(buf);
}

/* mkdir -p with mode 0700 for the last component and missing parents. */
static int mkdir_private(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	if ((st.st_mode & 077) && chmod(path, 0700) != 0)
		return -1;
	return 0;
}

/* Caller holds a->lock (or is the only user). */
static char *cache_load(const char *path)
{
	if (!path)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	char buf[TOKEN_MAX];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077) &&
	    st.st_uid == geteuid())
		n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? strdup(buf) : NULL;
}

static void cache_store(const char *path, const char *dir, const char *token)
{
	if (!path)
		return;
	char sub[4096], tmp[4200];
	snprintf(sub, sizeof sub, "%s/sessions", dir);
	if (mkdir_private(dir) != 0 || mkdir_private(sub) != 0) {
		mbfs_warn("session cache: cannot create %s: %s", sub,
			  strerror(errno));
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0) {
		mbfs_warn("session cache: cannot write: %s", strerror(errno));
		return;
	}
	size_t len = strlen(token);
	bool ok = write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	ok = fsync(fd) == 0 && ok;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		mbfs_warn("session cache: cannot write the session file");
	}
}

static void cache_drop(const char *path)
{
	if (path)
		unlink(path);
}

/* ---- password file ----------------------------------------------------- */

static char *read_secret_file(const char *path, struct timespec *mtime,
			      struct mbfs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mbfs_err_set(err, MBFS_ERR_AUTH, 0, "cannot read %s: %s", path,
			     strerror(errno));
		return NULL;
	}
	char buf[TOKEN_MAX];
	struct stat st;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (fstat(fd, &st) == 0 && mtime)
		*mtime = st.st_mtim;
	close(fd);
	if (n < 0) {
		mbfs_err_set(err, MBFS_ERR_AUTH, 0, "cannot read %s", path);
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		mbfs_err_set(err, MBFS_ERR_AUTH, 0, "%s is empty", path);
		return NULL;
	}
	return strdup(buf);
}

/* ---- construction ------------------------------------------------------ */

static char *dup_nonempty(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

enum mbfs_status mb_auth_new(const struct mb_auth_config *cfg,
			     struct mb_http *http, struct mb_auth **out,
			     struct mbfs_err *err)
{
	struct mb_auth *a = calloc(1, sizeof *a);
	if (!a)
		return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->http = http;
	a->url = strdup(cfg->url);
	a->api_key = dup_nonempty(cfg->api_key);
	a->session = dup_nonempty(cfg->session);
	a->username = dup_nonempty(cfg->username);
	a->password = dup_nonempty(cfg->password);
	a->password_file = dup_nonempty(cfg->password_file);
	a->gen = 1;

	if (!a->password && a->password_file) {
		a->password = read_secret_file(a->password_file,
					       &a->password_mtime, err);
		if (!a->password) {
			mb_auth_free(a);
			return MBFS_ERR_AUTH;
		}
	}
	mbfs_log_add_secret(a->api_key);
	mbfs_log_add_secret(a->session);
	mbfs_log_add_secret(a->password);

	if (a->api_key) {
		a->kind = MB_AUTH_API_KEY;
	} else if (a->session) {
		a->kind = MB_AUTH_SESSION;
	} else if (a->username && a->password) {
		a->kind = MB_AUTH_PASSWORD;
		a->cache_dir = dup_nonempty(cfg->cache_dir);
		a->cache_path = cache_path_for(cfg->cache_dir, a->url,
					       a->username);
		a->session = cache_load(a->cache_path);
		if (a->session) {
			mbfs_log_add_secret(a->session);
			mbfs_debug("reusing the cached session for %s",
				   a->username);
		}
	} else {
		mb_auth_free(a);
		if (cfg->username && !a->password)
			return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
					    "no password for %s: set MBFS_PASSWORD or -o password_file=",
					    cfg->username);
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "no credentials: set MBFS_API_KEY, MBFS_SESSION, or MBFS_USERNAME and MBFS_PASSWORD (see mbfs --help)");
	}
	*out = a;
	return MBFS_OK;
}

void mb_auth_free(struct mb_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a->url);
	free(a->api_key);
	free(a->session);
	free(a->username);
	free(a->password);
	free(a->password_file);
	free(a->cache_path);
	free(a->cache_dir);
	free(a);
}

enum mb_auth_kind mb_auth_kind(const struct mb_auth *a)
{
	return a->kind;
}

const char *mb_auth_username(const struct mb_auth *a)
{
	return a->username;
}

unsigned mb_auth_logins(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	unsigned n = a->logins;
	pthread_mutex_unlock(&m->lock);
	return n;
}

double mb_auth_session_age(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	double age = -1;
	if (a->kind == MB_AUTH_PASSWORD && a->session_since.tv_sec) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		age = (double)(now.tv_sec - a->session_since.tv_sec);
	}
	pthread_mutex_unlock(&m->lock);
	return age;
}

/* ---- login ------------------------------------------------------------- */

/* Perform POST /api/session. Called without the lock held; user and pass
 * are private copies. On success *token is a new heap string. */
static enum mbfs_status do_login(struct mb_http *http, const char *url,
				 const char *user, const char *pass,
				 char **token, struct mbfs_err *err)
{
	char *qu = mb_json_quote(user), *qp = mb_json_quote(pass);
	char *body = NULL, *full = NULL;
	enum mbfs_status st = MBFS_ERR_NOMEM;
	if (!qu || !qp)
		goto out;
	size_t bl = strlen(qu) + strlen(qp) + 40;
	body = malloc(bl);
	full = malloc(strlen(url) + 16);
	if (!body || !full)
		goto out;
	snprintf(body, bl, "{\"username\":%s,\"password\":%s}", qu, qp);
	sprintf(full, "%s/api/session", url);

	struct mb_http_req req = {0};
	req.method = "POST";
	req.url = full;
	req.headers[0] = "Content-Type: application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.max_resp = 64 * 1024;
	st = mb_http_perform(http, &req, err);
	if (st == MBFS_OK) {
		if (req.status == 200) {
			char id[TOKEN_MAX];
			st = mb_json_session_id(req.resp, req.resp_len, id,
						sizeof id, err);
			if (st == MBFS_OK)
				*token = strdup(id);
		} else {
			char msg[300] = "";
			if (!mb_json_error_message(req.resp, req.resp_len, msg,
						   sizeof msg))
				snprintf(msg, sizeof msg, "%.200s",
					 req.resp ? req.resp : "");
			if (strstr(msg, "Too many attempts"))
				st = mbfs_err_set(err, MBFS_ERR_THROTTLED,
						  (int)req.status,
						  "login for %s throttled by the server: %s",
						  user, msg);
			else if (req.status == 401 || req.status == 400)
				st = mbfs_err_set(err, MBFS_ERR_AUTH,
						  (int)req.status,
						  "login for %s refused: %s", user,
						  msg);
			else
				st = mbfs_err_set(err, MBFS_ERR_HTTP,
						  (int)req.status,
						  "login: HTTP %ld: %s",
						  req.status, msg);
		}
	}
	mb_http_req_cleanup(&req);
out:
	if (st == MBFS_ERR_NOMEM)
		mbfs_err_set(err, st, 0, "out of memory");
	if (body) {
		memset(body, 0, strlen(body));
		free(body);
	}
	free(full);
	free(qu);
	if (qp) {
		memset(qp, 0, strlen(qp));
		free(qp);
	}
	return st;
}

/* Has the password file changed since the last refused login? Lock held. */
static bool password_file_changed(struct mb_auth *a)
{
	if (!a->password_file)
		return false;
	struct stat st;
	if (stat(a->password_file, &st) != 0)
		return false;
	if (st.st_mtim.tv_sec == a->password_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->password_mtime.tv_nsec)
		return false;
	struct mbfs_err e;
	char *pw = read_secret_file(a->password_file, &a->password_mtime, &e);
	if (!pw)
		return false;
	free(a->password);
	a->password = pw;
	mbfs_log_add_secret(pw);
	return true;
}

/* Log in as the single flight leader; lock held on entry and exit. */
static enum mbfs_status lead_login(struct mb_auth *a, struct mbfs_err *err)
{
	a->logging_in = true;
	char *user = strdup(a->username), *pass = strdup(a->password);
	pthread_mutex_unlock(&a->lock);

	char *token = NULL;
	enum mbfs_status st = MBFS_ERR_NOMEM;
	if (user && pass)
		st = do_login(a->http, a->url, user, pass, &token, err);
	if (pass) {
		memset(pass, 0, strlen(pass));
		free(pass);
	}
	free(user);

	pthread_mutex_lock(&a->lock);
	a->logging_in = false;
	if (st == MBFS_OK) {
		mbfs_log_add_secret(token);
		if (a->session)
			mbfs_log_remove_secret(a->session);
		free(a->session);
		a->session = token;
		a->gen++;
		a->logins++;
		a->failed = false;
		clock_gettime(CLOCK_REALTIME, &a->session_since);
		cache_store(a->cache_path, a->cache_dir, token);
		mbfs_info("logged in as %s", a->username);
	} else if (st == MBFS_ERR_AUTH || st == MBFS_ERR_THROTTLED) {
		/* Never repeat a refused login with the same credentials. */
		a->failed = true;
		a->failure = *err;
		a->failure.status = st;
		mbfs_error("%s; not retrying until the password changes or mbfs is remounted",
			   err->msg);
	}
	pthread_cond_broadcast(&a->cond);
	return st;
}

enum mbfs_status mb_auth_login(struct mb_auth *a, struct mbfs_err *err)
{
	pthread_mutex_lock(&a->lock);
	enum mbfs_status st = MBFS_OK;
	if (a->kind == MB_AUTH_PASSWORD && !a->session) {
		while (a->logging_in)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->failed && !password_file_changed(a)) {
			*err = a->failure;
			st = a->failure.status;
		} else if (!a->session) {
			st = lead_login(a, err);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum mbfs_status mb_auth_header(struct mb_auth *a, char *buf, size_t bufsz,
				uint64_t *gen, struct mbfs_err *err)
{
	pthread_mutex_lock(&a->lock);
	enum mbfs_status st = MBFS_OK;
	if (a->kind == MB_AUTH_API_KEY) {
		snprintf(buf, bufsz, "X-Api-Key: %s", a->api_key);
	} else if (a->session) {
		snprintf(buf, bufsz, "X-Metabase-Session: %s", a->session);
	} else if (a->failed) {
		*err = a->failure;
		st = a->failure.status;
	} else {
		/* password auth before the first login: send nothing; the
		 * 401 leads to mb_auth_refresh which logs in. */
		buf[0] = '\0';
	}
	*gen = a->gen;
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum mbfs_status mb_auth_refresh(struct mb_auth *a, uint64_t gen,
				 struct mbfs_err *err)
{
	pthread_mutex_lock(&a->lock);
	enum mbfs_status st;
	while (a->logging_in)
		pthread_cond_wait(&a->cond, &a->lock);
	if (a->gen != gen && !a->failed) {
		st = MBFS_OK; /* somebody else refreshed: retry with theirs */
	} else if (a->kind == MB_AUTH_API_KEY) {
		st = mbfs_err_set(err, MBFS_ERR_AUTH, 401,
				  "the API key was rejected (Unauthenticated): it is wrong or has been revoked");
	} else if (a->kind == MB_AUTH_SESSION) {
		st = mbfs_err_set(err, MBFS_ERR_AUTH, 401,
				  "the session token was rejected (Unauthenticated): it has expired or was logged out");
	} else if (a->failed && !password_file_changed(a)) {
		*err = a->failure;
		st = a->failure.status;
	} else {
		if (a->session && a->gen == gen) {
			/* the server forgot our session: drop it everywhere */
			cache_drop(a->cache_path);
			mbfs_log_remove_secret(a->session);
			free(a->session);
			a->session = NULL;
			mbfs_info("session expired on the server; logging in again");
		}
		st = lead_login(a, err);
	}
	pthread_mutex_unlock(&a->lock);
	return st;
}
