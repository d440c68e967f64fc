/*
 * mb_auth.c — owns the credentials, the current session token, the
 * single-flight login, the memory of refused logins, the fallback from a
 * rejected key/token to password login, and the on-disk session cache.
 * See mb_auth.h.
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
#include "mb_answer.h"
#include "mb_json.h"
#include "secret.h"

/* A throttled login is tried again at most this often (Metabase counts
 * failures over a trailing hour, and every rejected try adds one). */
#define THROTTLE_RETRY_S 3600.0
#define CACHE_FILE_MAX 8192

/* Identity of the password file's content, to notice that it changed. */
struct file_id {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	struct timespec ctim;
};

struct mb_auth {
	pthread_mutex_t lock;       /* protects everything below */
	pthread_cond_t cond;        /* signalled when a login finishes */
	struct mb_http *http;
	enum mb_auth_kind kind;     /* the credential in use */
	char *url;
	char *api_key;
	char *session;              /* current token (given, cached or obtained) */
	const char *session_source; /* "given", "cache", "login" (static) */
	char *username;
	char *password;
	char *password_file;
	struct file_id password_id;
	char *cache_dir;
	char *cache_path;           /* session cache file, or NULL */
	uint64_t gen;               /* bumped whenever the credential changes */
	bool logging_in;
	bool started;               /* mounted: log refusals here */
	bool rejection_logged;      /* key/token rejection already logged */
	/* a refused login: not repeated until the password file changes */
	bool failed;
	struct mbfs_err failure;    /* the short message requests get */
	struct timespec failed_at;  /* CLOCK_MONOTONIC */
	time_t failed_wall;
	unsigned logins;
	unsigned relogins;          /* logins after the server rejected a session */
	unsigned failed_logins;
	time_t session_since;       /* wall clock of the login, 0 if unknown */
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

static void wipe_free(char *s)
{
	if (s) {
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
		free(s);
	}
}

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
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

/*
 * File format (text, 0600): the token, then the login time (seconds since
 * the epoch), the server URL and the username, one per line. The file name
 * is a hash of URL and username; the last two lines guard against a hash
 * collision. A file holding only a token (older mbfs) is accepted.
 */

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

/* mkdir -p: missing components are created 0700; existing parents are left
 * as they are. The last component must end up a directory of ours with
 * mode 0700 (it is chmod-ed if it is ours and looser). */
static int mkdir_private(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	if ((st.st_mode & 077) && chmod(path, 0700) != 0)
		return -1;
	return 0;
}

/* Read the cache file; NULL unless it is a private regular file of ours
 * for this URL and user. *since gets the login time (0 if unknown). */
static char *cache_load(const char *path, const char *url, const char *user,
			time_t *since)
{
	*since = 0;
	if (!path)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	char buf[CACHE_FILE_MAX];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077) &&
	    st.st_uid == geteuid())
		n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	char *token = mb_auth_parse_cache(buf, (size_t)n, url, user, since);
	memset(buf, 0, sizeof buf);
	return token;
}

char *mb_auth_parse_cache(char *buf, size_t len, const char *url,
			  const char *user, time_t *since)
{
	*since = 0;
	if (len >= CACHE_FILE_MAX || memchr(buf, '\0', len))
		return NULL;
	buf[len] = '\0';
	char *lines[4] = {NULL, NULL, NULL, NULL};
	char *save = NULL;
	int nl = 0;
	for (char *t = strtok_r(buf, "\n", &save); t && nl < 4;
	     t = strtok_r(NULL, "\n", &save))
		lines[nl++] = t;
	char *token = NULL;
	if (lines[0] && lines[0][0] && strlen(lines[0]) < MB_AUTH_SECRET_MAX &&
	    (!lines[2] || strcmp(lines[2], url) == 0) &&
	    (!lines[3] || strcmp(lines[3], user) == 0)) {
		token = strdup(lines[0]);
		if (lines[1])
			*since = (time_t)strtoll(lines[1], NULL, 10);
	}
	return token;
}

/* Write the cache file atomically: a private temporary file, fsync,
 * rename. Failures are logged (without the token) and otherwise ignored. */
static void cache_store(const char *path, const char *dir, const char *url,
			const char *user, const char *token, time_t since)
{
	if (!path)
		return;
	char sub[4096], tmp[4200];
	int n = snprintf(sub, sizeof sub, "%s/sessions", dir);
	if (n < 0 || (size_t)n >= sizeof sub) {
		mbfs_warn("session cache: the path of %s/sessions is too long", dir);
		return;
	}
	if (mkdir_private(dir) != 0 || mkdir_private(sub) != 0) {
		mbfs_warn("session cache: cannot use %s: %s", sub,
			  strerror(errno));
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp,
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	if (fd < 0) {
		mbfs_warn("session cache: cannot write in %s: %s", sub,
			  strerror(errno));
		return;
	}
	char *body = malloc(strlen(token) + strlen(url) + strlen(user) + 64);
	bool ok = false;
	if (body) {
		int len = sprintf(body, "%s\n%lld\n%s\n%s\n", token,
				  (long long)since, url, user);
		ok = len > 0 && fchmod(fd, 0600) == 0 &&
		     write(fd, body, (size_t)len) == (ssize_t)len;
		memset(body, 0, (size_t)(len > 0 ? len : 0));
		free(body);
	}
	ok = fsync(fd) == 0 && ok;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		mbfs_warn("session cache: cannot write the session file in %s",
			  sub);
		return;
	}
	int dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

static void cache_drop(const char *path)
{
	if (path)
		unlink(path);
}

/* ---- password file ----------------------------------------------------- */

static void file_id_of(const struct stat *st, struct file_id *id)
{
	id->valid = true;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtim = st->st_mtim;
	id->ctim = st->st_ctim;
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
	return a->valid == b->valid && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	       a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec &&
	       a->ctim.tv_nsec == b->ctim.tv_nsec;
}

/* The first line of a secret file (secret.h), and its identity. */
static char *read_secret_file(const char *path, const char *what,
			      struct file_id *id, struct mbfs_err *err)
{
	struct stat st;
	char *r = NULL;
	if (mbfs_secret_read(path, what, &st, &r, err) == MBFS_OK && id)
		file_id_of(&st, id);
	return r;
}

/* Has the password file changed since it was last read? If so, take the
 * new password. Lock held. */
static bool password_file_changed(struct mb_auth *a)
{
	if (!a->password_file)
		return false;
	struct stat st;
	if (stat(a->password_file, &st) != 0)
		return false;
	struct file_id now;
	file_id_of(&st, &now);
	if (file_id_equal(&now, &a->password_id))
		return false;
	struct mbfs_err e;
	struct file_id id = {0};
	char *pw = read_secret_file(a->password_file, "password", &id, &e);
	if (!pw) {
		a->password_id = now; /* do not re-read until it changes again */
		mbfs_warn("%s", e.msg);
		return false;
	}
	a->password_id = id;
	if (a->password && strcmp(a->password, pw) == 0) {
		/* touched, same content: never repeat a refused password */
		wipe_free(pw);
		mbfs_info("the password file %s changed but holds the same password: not trying it again",
			  a->password_file);
		return false;
	}
	mbfs_log_add_secret(pw);
	if (a->password)
		mbfs_log_remove_secret(a->password);
	wipe_free(a->password);
	a->password = pw;
	mbfs_info("the password file %s changed: logging in again",
		  a->password_file);
	return true;
}

/* May a remembered refusal be tried again now? Lock held. */
static bool may_retry(struct mb_auth *a)
{
	if (password_file_changed(a))
		return true;
	if (a->failure.status == MBFS_ERR_THROTTLED &&
	    mono_now() - ((double)a->failed_at.tv_sec +
			  (double)a->failed_at.tv_nsec / 1e9) >=
		    THROTTLE_RETRY_S) {
		mbfs_info("an hour since the throttled login as %s: trying once more",
			  a->username);
		return true;
	}
	return false;
}

/* ---- construction ------------------------------------------------------ */

static char *dup_nonempty(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static bool too_long(const char *s)
{
	return s && strlen(s) >= MB_AUTH_SECRET_MAX;
}

enum mbfs_status mb_auth_new(const struct mb_auth_config *cfg,
			     struct mb_http *http, struct mb_auth **out,
			     struct mbfs_err *err)
{
	if (too_long(cfg->api_key) || too_long(cfg->session) ||
	    too_long(cfg->password))
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "a credential is longer than %d bytes",
				    MB_AUTH_SECRET_MAX - 1);
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

	if (!a->password && a->password_file && a->username) {
		a->password = read_secret_file(a->password_file, "password",
					       &a->password_id, err);
		if (!a->password) {
			mb_auth_free(a);
			return MBFS_ERR_AUTH;
		}
	}
	mbfs_log_add_secret(a->api_key);
	mbfs_log_add_secret(a->session);
	mbfs_log_add_secret(a->password);

	if (a->username && a->password) {
		a->cache_dir = dup_nonempty(cfg->cache_dir);
		a->cache_path = cache_path_for(cfg->cache_dir, a->url,
					       a->username);
	}
	if (a->api_key) {
		a->kind = MB_AUTH_API_KEY;
	} else if (a->session) {
		a->kind = MB_AUTH_SESSION;
		a->session_source = "given";
	} else if (a->username && a->password) {
		a->kind = MB_AUTH_PASSWORD;
		a->session = cache_load(a->cache_path, a->url, a->username,
					&a->session_since);
		if (a->session) {
			a->session_source = "cache";
			mbfs_log_add_secret(a->session);
			mbfs_debug("reusing the cached session of %s",
				   a->username);
		}
	} else {
		bool user = a->username != NULL;
		char who[256];
		snprintf(who, sizeof who, "%s", user ? a->username : "");
		mb_auth_free(a);
		if (user)
			return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
					    "no password for %s: set MBFS_PASSWORD, -o password_file=FILE or password in the config file (or run mbfs from a terminal to be asked)",
					    who);
		return mbfs_err_set(err, MBFS_ERR_AUTH, 0,
				    "no credentials: set MBFS_API_KEY, MBFS_SESSION, or MBFS_USERNAME and MBFS_PASSWORD, or use -o api_key_file=, -o session_file=, -o password_file= (see mbfs --help)");
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
	wipe_free(a->api_key);
	wipe_free(a->session);
	free(a->username);
	wipe_free(a->password);
	free(a->password_file);
	free(a->cache_path);
	free(a->cache_dir);
	free(a);
}

enum mb_auth_kind mb_auth_kind(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	enum mb_auth_kind k = a->kind;
	pthread_mutex_unlock(&m->lock);
	return k;
}

const char *mb_auth_username(const struct mb_auth *a)
{
	return a->username;
}

bool mb_auth_has_password(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	bool r = a->username && a->password;
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* Switch to password login (lock held). The current session, if any, is
 * forgotten; the cached one of this user is taken when use_cache. */
static void switch_to_password(struct mb_auth *a, bool use_cache)
{
	/* the given key/token stays registered for redaction */
	wipe_free(a->api_key);
	a->api_key = NULL;
	wipe_free(a->session);
	a->session = NULL;
	a->session_source = NULL;
	a->session_since = 0;
	a->kind = MB_AUTH_PASSWORD;
	a->gen++;
	if (use_cache) {
		a->session = cache_load(a->cache_path, a->url, a->username,
					&a->session_since);
		if (a->session) {
			a->session_source = "cache";
			mbfs_log_add_secret(a->session);
		}
	}
}

void mb_auth_drop_api_key(struct mb_auth *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->kind == MB_AUTH_API_KEY && a->username && a->password) {
		mbfs_warn("the server has no API keys (Metabase < v0.49): using password login as %s instead",
			  a->username);
		switch_to_password(a, true);
	}
	pthread_mutex_unlock(&a->lock);
}

void mb_auth_started(struct mb_auth *a)
{
	pthread_mutex_lock(&a->lock);
	a->started = true;
	pthread_mutex_unlock(&a->lock);
}

unsigned mb_auth_logins(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	unsigned n = a->logins;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static double session_age_locked(const struct mb_auth *a)
{
	if (a->kind != MB_AUTH_PASSWORD || !a->session || !a->session_since)
		return -1;
	time_t now = time(NULL);
	return now >= a->session_since ? (double)(now - a->session_since) : 0;
}

double mb_auth_session_age(const struct mb_auth *a)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	double age = session_age_locked(a);
	pthread_mutex_unlock(&m->lock);
	return age;
}

int mb_auth_describe_metrics(const struct mb_auth *a, char *out, size_t outsz)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	double age = session_age_locked(a);
	int n = snprintf(out, outsz,
			 "# HELP mbfs_logins_total Logins (POST /api/session) that succeeded.\n"
			 "# TYPE mbfs_logins_total counter\n"
			 "mbfs_logins_total %u\n"
			 "# HELP mbfs_relogins_total Logins after the server rejected the session (401).\n"
			 "# TYPE mbfs_relogins_total counter\n"
			 "mbfs_relogins_total %u\n"
			 "# HELP mbfs_failed_logins_total Logins the server refused or throttled.\n"
			 "# TYPE mbfs_failed_logins_total counter\n"
			 "mbfs_failed_logins_total %u\n"
			 "# HELP mbfs_auth_ok 1 while the credentials are accepted, 0 after a refusal.\n"
			 "# TYPE mbfs_auth_ok gauge\n"
			 "mbfs_auth_ok %d\n"
			 "# HELP mbfs_session_age_seconds Age of the session in use (-1: none).\n"
			 "# TYPE mbfs_session_age_seconds gauge\n"
			 "mbfs_session_age_seconds %.0f\n",
			 a->logins, a->relogins, a->failed_logins, a->failed ? 0 : 1,
			 age >= 0 ? age : -1.0);
	pthread_mutex_unlock(&m->lock);
	return n;
}

int mb_auth_describe(const struct mb_auth *a, char *out, size_t outsz)
{
	struct mb_auth *m = (struct mb_auth *)a;
	pthread_mutex_lock(&m->lock);
	double age = session_age_locked(a);
	char agebuf[48] = "";
	if (age >= 0)
		snprintf(agebuf, sizeof agebuf, "session_age_s %.0f\n", age);
	char state[700];
	if (a->failed) {
		struct tm tm;
		char ts[32];
		gmtime_r(&a->failed_wall, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(state, sizeof state, "auth_state %s since %s: %s\n",
			 a->failure.status == MBFS_ERR_THROTTLED ? "throttled"
								 : "refused",
			 ts, a->failure.msg);
	} else {
		snprintf(state, sizeof state, "auth_state ok\n");
	}
	int n = snprintf(out, outsz,
			 "auth %s\n%s%s%s%s%s%s%slogins %u\n%s",
			 mb_auth_kind_name(a->kind),
			 a->kind == MB_AUTH_PASSWORD ? "auth_user " : "",
			 a->kind == MB_AUTH_PASSWORD ? a->username : "",
			 a->kind == MB_AUTH_PASSWORD ? "\n" : "",
			 a->session && a->session_source ? "session_source " : "",
			 a->session && a->session_source ? a->session_source : "",
			 a->session && a->session_source ? "\n" : "", agebuf,
			 a->logins, state);
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* ---- login ------------------------------------------------------------- */

/* Perform POST /api/session. Called without the lock held; user and pass
 * are private copies. On success *token is a new heap string. The error
 * message holds the server's reason and never the password. */
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
	req.headers[1] = "Accept: application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.max_resp = 64 * 1024;
	st = mb_http_perform(http, &req, err);
	if (st == MBFS_OK) {
		if (req.status == 200) {
			char id[MB_AUTH_SECRET_MAX];
			st = mb_json_session_id(req.resp, req.resp_len, id,
						sizeof id, err);
			if (st == MBFS_OK)
				*token = strdup(id);
			memset(id, 0, sizeof id);
			if (st == MBFS_OK && !*token)
				st = mbfs_err_set(err, MBFS_ERR_NOMEM, 0,
						  "out of memory");
		} else {
			char what[MB_AUTH_SECRET_MAX + 16];
			snprintf(what, sizeof what, "login as %s", user);
			st = mb_answer_failure(&req, MB_ANSWER_LOGIN, what, err);
		}
	} else if (st == MBFS_ERR_TLS) {
		/* keep the transport's message */
	}
	if (req.resp)
		memset(req.resp, 0, req.resp_len);
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
	wipe_free(qp);
	return st;
}

/* Log in as the single-flight leader; lock held on entry and exit (it is
 * dropped during the request). Requires kind == PASSWORD. */
static enum mbfs_status lead_login(struct mb_auth *a, struct mbfs_err *err)
{
	a->logging_in = true;
	char *user = strdup(a->username), *pass = strdup(a->password);
	pthread_mutex_unlock(&a->lock);

	char *token = NULL;
	enum mbfs_status st = MBFS_ERR_NOMEM;
	if (user && pass)
		st = do_login(a->http, a->url, user, pass, &token, err);
	else
		mbfs_err_set(err, st, 0, "out of memory");
	wipe_free(pass);

	pthread_mutex_lock(&a->lock);
	a->logging_in = false;
	if (st == MBFS_OK) {
		mbfs_log_add_secret(token);
		if (a->session)
			mbfs_log_remove_secret(a->session);
		wipe_free(a->session);
		a->session = token;
		a->session_source = "login";
		a->gen++;
		a->logins++;
		a->failed = false;
		a->session_since = time(NULL);
		cache_store(a->cache_path, a->cache_dir, a->url, a->username,
			    token, a->session_since);
		mbfs_info("logged in as %s", a->username);
	} else if (st == MBFS_ERR_AUTH || st == MBFS_ERR_THROTTLED) {
		/* Never repeat a refused login with the same credentials. */
		bool throttled = st == MBFS_ERR_THROTTLED;
		a->failed_logins++;
		a->failed = true;
		clock_gettime(CLOCK_MONOTONIC, &a->failed_at);
		a->failed_wall = time(NULL);
		mbfs_err_set(&a->failure, st, err->http_status,
			     throttled
				     ? "not logged in: the server throttles logins as %s (see the log); mbfs waits an hour before trying again"
				     : "not logged in: the server refused the password of %s (see the log); fix the password file or remount",
			     user ? user : "?");
		if (a->started) {
			if (throttled)
				mbfs_error("%s. mbfs will not retry for an hour (each try would extend the lock); until then, or until the password file changes or mbfs is remounted, reads fail with EACCES",
					   err->msg);
			else
				mbfs_error("%s. mbfs will not try this password again (Metabase locks an account after 10 failed logins): reads fail with EACCES until the password file changes or mbfs is remounted",
					   err->msg);
			*err = a->failure;
		}
	}
	free(user);
	pthread_cond_broadcast(&a->cond);
	return st;
}

/* Lock held. Password auth without a session: log in, unless a refusal is
 * remembered and nothing changed. */
static enum mbfs_status ensure_session(struct mb_auth *a, struct mbfs_err *err)
{
	while (a->logging_in)
		pthread_cond_wait(&a->cond, &a->lock);
	if (a->kind != MB_AUTH_PASSWORD || a->session)
		return MBFS_OK;
	if (a->failed && !may_retry(a)) {
		*err = a->failure;
		return a->failure.status;
	}
	return lead_login(a, err);
}

enum mbfs_status mb_auth_login(struct mb_auth *a, struct mbfs_err *err)
{
	pthread_mutex_lock(&a->lock);
	enum mbfs_status st = ensure_session(a, err);
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
		buf[0] = '\0';
	} else {
		buf[0] = '\0';
	}
	*gen = a->gen;
	pthread_mutex_unlock(&a->lock);
	return st;
}

/* A given API key or session token got 401 (lock held). */
static enum mbfs_status given_rejected(struct mb_auth *a, struct mbfs_err *err)
{
	bool key = a->kind == MB_AUTH_API_KEY;
	const char *what = key ? "the API key" : "the session token";
	const char *why = key ? "it is wrong or has been revoked"
			      : "it has expired or was logged out";
	if (a->username && a->password) {
		mbfs_warn("%s was rejected by the server (401 Unauthenticated): %s; falling back to password login as %s",
			  what, why, a->username);
		switch_to_password(a, false);
		return lead_login(a, err);
	}
	if (a->started && !a->rejection_logged) {
		a->rejection_logged = true;
		mbfs_error("%s was rejected by %s (401 Unauthenticated): %s; requests fail with EACCES until mbfs is remounted with a valid one",
			   what, a->url, why);
	}
	return mbfs_err_set(err, MBFS_ERR_AUTH, 401,
			    "%s was rejected by %s (401 Unauthenticated): %s",
			    what, a->url, why);
}

enum mbfs_status mb_auth_refresh(struct mb_auth *a, uint64_t gen,
				 struct mbfs_err *err)
{
	pthread_mutex_lock(&a->lock);
	enum mbfs_status st;
	while (a->logging_in)
		pthread_cond_wait(&a->cond, &a->lock);
	if (a->gen != gen) {
		st = MBFS_OK; /* somebody else refreshed: retry with theirs */
	} else if (a->kind == MB_AUTH_API_KEY || a->kind == MB_AUTH_SESSION) {
		st = given_rejected(a, err);
	} else {
		if (a->session) {
			/* the server forgot our session: drop it everywhere */
			bool cached = a->session_source &&
				      strcmp(a->session_source, "cache") == 0;
			cache_drop(a->cache_path);
			mbfs_log_remove_secret(a->session);
			wipe_free(a->session);
			a->session = NULL;
			a->session_source = NULL;
			a->session_since = 0;
			mbfs_info(cached ? "the cached session was rejected by the server; logging in again"
					 : "session expired on the server; logging in again");
			a->relogins++;
		}
		st = ensure_session(a, err);
	}
	pthread_mutex_unlock(&a->lock);
	return st;
}
