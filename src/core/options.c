/*
 * options.c — owns the fuse_opt table, the environment lookups, the
 * defaults and the --help text; the config file is config.c's. See
 * options.h.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "status.h"

/* A path for a one-line message: control characters escaped, bounded. */
static const char *shown(const char *path, char *buf, size_t bufsz)
{
	mbfs_escape_text(path, buf, bufsz);
	return buf;
}

/* ---- command line ----------------------------------------------------- */

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
};

/* Raw string values as fuse_opt fills them; converted afterwards.
 * Every -o name can also be given in the config file (config_fill). */
struct raw_opts {
	char *api_key_file, *password_file, *session_file, *username;
	char *formats, *meta_ttl, *result_ttl, *error_ttl, *stat, *cache_dir,
		*cache_max, *cafile, *connect_timeout, *stall_timeout,
		*max_exports, *retries,
		*uid, *gid, *umask, *log_level;
	int format_rows, insecure, test_zero_size, test_zero_size_always, stream;
	int public_only;
	char *row_cap;
	int help, version, foreground, debug, single;
	char *positional[2];
	int n_positional;
	int too_many_positional;
	/* secrets given on the command line are refused, loudly */
	int secret_in_argv;
	/* options for libfuse, recorded to check them before mounting */
	char *pass[MBFS_MAX_PASSTHROUGH];
	int n_pass;
};

#define RAW(t, p) {t, offsetof(struct raw_opts, p), 0}
static const struct fuse_opt opt_table[] = {
	RAW("api_key_file=%s", api_key_file),
	RAW("password_file=%s", password_file),
	RAW("session_file=%s", session_file),
	RAW("username=%s", username),
	RAW("formats=%s", formats),
	{"format_rows", offsetof(struct raw_opts, format_rows), 1},
	{"format_rows=true", offsetof(struct raw_opts, format_rows), 1},
	{"format_rows=false", offsetof(struct raw_opts, format_rows), 0},
	RAW("meta_ttl=%s", meta_ttl),
	RAW("result_ttl=%s", result_ttl),
	RAW("error_ttl=%s", error_ttl),
	RAW("stat=%s", stat),
	RAW("cache_dir=%s", cache_dir),
	RAW("cache_max=%s", cache_max),
	RAW("cafile=%s", cafile),
	{"insecure", offsetof(struct raw_opts, insecure), 1},
	RAW("connect_timeout=%s", connect_timeout),
	RAW("stall_timeout=%s", stall_timeout),
	RAW("max_exports=%s", max_exports),
	RAW("retries=%s", retries),
	RAW("uid=%s", uid),
	RAW("gid=%s", gid),
	RAW("umask=%s", umask),
	RAW("log_level=%s", log_level),
	{"test_zero_size", offsetof(struct raw_opts, test_zero_size), 1},
	{"test_zero_size=always", offsetof(struct raw_opts, test_zero_size_always), 1},
	{"stream", offsetof(struct raw_opts, stream), 1},
	{"public", offsetof(struct raw_opts, public_only), 1},
	RAW("row_cap=%s", row_cap),
	{"password=", offsetof(struct raw_opts, secret_in_argv), 1},
	{"api_key=", offsetof(struct raw_opts, secret_in_argv), 1},
	{"session=", offsetof(struct raw_opts, secret_in_argv), 1},
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_END,
};

static bool config_true(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
		     strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
		     *v == '\0');
}

/* Options not given on the command line come from the config file. */
static void config_fill(struct raw_opts *r)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
#define S(f) {#f, offsetof(struct raw_opts, f)}
		/* (credentials files, username, formats, cafile and log_level
		 * go through pick(): the environment comes before the config) */
		S(meta_ttl), S(result_ttl), S(error_ttl), S(stat), S(cache_dir),
		S(cache_max), S(connect_timeout), S(stall_timeout),
		S(max_exports), S(retries),
		S(uid), S(gid), S(umask), S(row_cap),
#undef S
	};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		char **dst = (char **)((char *)r + strs[i].off);
		const char *v = mbfs_config_get(strs[i].key, NULL);
		if (!*dst && v && *v)
			*dst = strdup(v);
	}
	static const struct {
		const char *key;
		size_t off;
	} flags[] = {
		{"format_rows", offsetof(struct raw_opts, format_rows)},
		{"insecure", offsetof(struct raw_opts, insecure)},
		{"stream", offsetof(struct raw_opts, stream)},
		{"public", offsetof(struct raw_opts, public_only)},
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		int *dst = (int *)((char *)r + flags[i].off);
		const char *v = mbfs_config_get(flags[i].key, NULL);
		if (!*dst && v && config_true(v))
			*dst = 1;
	}
}

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

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct raw_opts *r = data;
	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (r->n_positional < 2)
			r->positional[r->n_positional++] = strdup(arg);
		else
			r->too_many_positional = 1;
		return 0;
	case KEY_HELP:
		r->help = 1;
		return 0;
	case KEY_VERSION:
		r->version = 1;
		return 0;
	case KEY_FOREGROUND:
		r->foreground = 1;
		return 0;
	case KEY_DEBUG:
		r->debug = 1;
		r->foreground = 1;
		return 0;
	case KEY_SINGLE:
		r->single = 1;
		return 0;
	default:
		if (mount_only_option(arg))
			return 0;
		if (r->n_pass < MBFS_MAX_PASSTHROUGH)
			r->pass[r->n_pass++] = strdup(arg);
		return 1; /* pass through to libfuse (allow_other, fsname, ...) */
	}
}

/* Seconds in [min, max]; NaN and infinities are refused. */
static bool parse_seconds(const char *name, const char *s, double min,
			  double max, double *out)
{
	if (!s)
		return true;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* !(v >= min) also refuses NaN */
	if (errno || end == s || *end || !(v >= min) || !(v <= max)) {
		fprintf(stderr,
			"mbfs: -o %s=%s: expected a number of seconds from %g to %g\n",
			name, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* An unsigned integer in [min, max], in base 10 (8 for umask). */
static bool parse_uint(const char *name, const char *s, int base,
		       unsigned long long min, unsigned long long max,
		       unsigned long long *out)
{
	if (!s)
		return true;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || end == s || *end || v < min || v > max ||
	    !isdigit((unsigned char)s[0])) {
		if (base == 8)
			fprintf(stderr,
				"mbfs: -o %s=%s: expected an octal number from %llo to %llo\n",
				name, s, min, max);
		else
			fprintf(stderr,
				"mbfs: -o %s=%s: expected a whole number from %llu to %llu\n",
				name, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
	if (!s)
		return true;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 1e18) /* refuses NaN, inf */
		goto bad;
	double mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1024.0; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		goto bad;
	if (v * mult >= 18446744073709551615.0) /* would not fit in 64 bits */
		goto bad;
	uint64_t bytes = (uint64_t)(v * mult);
	if (bytes < MBFS_CACHE_MAX_MIN) {
		fprintf(stderr,
			"mbfs: -o cache_max=%s: at least 1M (1 MiB) is needed to hold a result\n",
			s);
		return false;
	}
	*out = bytes;
	return true;
bad:
	fprintf(stderr, "mbfs: -o cache_max=%s: expected a size like 1G or 500M\n", s);
	return false;
}

static bool parse_formats(const char *s, struct mbfs_options *o)
{
	o->n_formats = 0;
	char *copy = strdup(s), *save = NULL;
	bool ok = true;
	for (char *t = strtok_r(copy, ":+", &save); t;
	     t = strtok_r(NULL, ":+", &save)) {
		if (strcmp(t, "csv") && strcmp(t, "json") && strcmp(t, "xlsx")) {
			char st[64];
			fprintf(stderr,
				"mbfs: -o formats=...: unknown format '%s' (use csv, json, xlsx, separated by ':')\n",
				shown(t, st, sizeof st));
			ok = false;
			break;
		}
		if (mbfs_options_has_format(o, t))
			continue;
		o->formats[o->n_formats++] = strdup(t);
	}
	free(copy);
	if (ok && o->n_formats == 0) {
		fprintf(stderr, "mbfs: -o formats= needs at least one format\n");
		ok = false;
	}
	return ok;
}

bool mbfs_options_has_format(const struct mbfs_options *opts, const char *fmt)
{
	for (int i = 0; i < opts->n_formats; i++)
		if (strcmp(opts->formats[i], fmt) == 0)
			return true;
	return false;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* $XDG_CACHE_HOME/mbfs, else <home>/.cache/mbfs; never a shared
 * directory such as /tmp. NULL (with a message) when there is none. */
static char *default_cache_dir(void)
{
	char buf[4096];
	if (mbfs_config_xdg_path("XDG_CACHE_HOME", ".cache", NULL, buf, sizeof buf))
		return strdup(buf);
	fprintf(stderr,
		"mbfs: no cache directory: HOME and XDG_CACHE_HOME are unset (or too long) and the user has no home directory; give -o cache_dir=DIR\n");
	return NULL;
}

/*
 * An absolute form of a path option (the daemon runs in /, so a relative
 * path would change meaning): relative paths are taken from the current
 * directory now. NULL (with a message) when the path is empty or the
 * current directory is unknown.
 */
static char *absolute(const char *name, const char *p)
{
	if (!p)
		return NULL;
	if (!*p) {
		fprintf(stderr, "mbfs: -o %s= needs a path\n", name);
		return NULL;
	}
	if (p[0] == '/')
		return strdup(p);
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd)) {
		fprintf(stderr,
			"mbfs: -o %s=%s is relative and the current directory is unknown (%s): give an absolute path\n",
			name, p, strerror(errno));
		return NULL;
	}
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	size_t n = strlen(cwd) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
			 strcmp(p, ".") ? p : "");
	return r;
}

static void free_raw(struct raw_opts *r)
{
	char **strs[] = {&r->api_key_file, &r->password_file, &r->session_file,
			 &r->username, &r->formats, &r->meta_ttl,
			 &r->result_ttl, &r->error_ttl, &r->stat, &r->cache_dir,
			 &r->cache_max, &r->cafile, &r->connect_timeout,
			 &r->stall_timeout, &r->max_exports, &r->retries,
			 &r->uid, &r->gid, &r->umask, &r->log_level, &r->row_cap,
			 &r->positional[0], &r->positional[1]};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	/* pass-through options not handed over to the result (a failed
	 * fuse_opt_parse returns before they are) */
	for (int i = 0; i < r->n_pass; i++)
		free(r->pass[i]);
	r->n_pass = 0;
}

/* First non-empty of: command line, environment, config file. */
static char *pick(const char *cli, const char *env, const char *cfg_key)
{
	if (cli && *cli)
		return strdup(cli);
	const char *e = env ? getenv(env) : NULL;
	if (e && *e)
		return strdup(e);
	const char *c = cfg_key ? mbfs_config_get(cfg_key, NULL) : NULL;
	return dup_or_null(c && *c ? c : NULL);
}

/* A path option (command line, environment, config), made absolute.
 * False (with a message) when it cannot be. */
static bool pick_path(const char *name, const char *cli, const char *env,
		      const char *cfg_key, char **out)
{
	char *v = pick(cli, env, cfg_key);
	*out = NULL;
	if (!v)
		return true;
	*out = absolute(name, v);
	free(v);
	return *out != NULL;
}

/* Does the URL carry credentials ("https://user:secret@host/")? */
static bool url_has_userinfo(const char *u)
{
	const char *host = strstr(u, "://");
	if (!host)
		return false;
	host += 3;
	size_t len = strcspn(host, "/?#");
	const char *at = memchr(host, '@', len);
	return at != NULL;
}

/* Characters a base URL's path may hold: RFC 3986 unreserved, '%' (as
 * %XX), and the sub-delimiters and ':' '@' '/', except ',' (libfuse
 * splits -o fsname=URL at it: allow_other could be injected) and the
 * query and fragment starters ('?' '#': the API paths are appended). */
static bool path_char_ok(char c)
{
	return isalnum((unsigned char)c) || strchr("-._~!$&'()*+;=:@/", c);
}

bool mbfs_options_url_check(const char *u, char *why, size_t whysz)
{
	static const char *const form =
		"expected http[s]://host[:port][/path], without user:password@";
	size_t len = strlen(u);
	if (len > MBFS_URL_MAX) {
		snprintf(why, whysz,
			 "the server URL is %zu bytes long; at most %d are accepted",
			 len, MBFS_URL_MAX);
		return false;
	}
	char su[MBFS_URL_MAX * 4 + 1];
	shown(u, su, sizeof su);
	if (url_has_userinfo(u)) {
		/* never echo it: it holds a secret */
		snprintf(why, whysz,
			 "credentials in the URL are not accepted (they would show in ps and in logs); use MBFS_USERNAME and MBFS_PASSWORD, -o password_file=, or the config file");
		return false;
	}
	const char *p;
	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		goto bad;
	size_t auth = strcspn(p, "/?#");
	size_t host = 0;
	if (auth && p[0] == '[') {
		const char *close = memchr(p, ']', auth);
		if (!close || close == p + 1)
			goto bad;
		for (const char *c = p + 1; c < close; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				goto bad;
		host = (size_t)(close - p) + 1;
	} else {
		while (host < auth && (isalnum((unsigned char)p[host]) ||
				       p[host] == '.' || p[host] == '-' ||
				       p[host] == '_'))
			host++;
		if (host == 0)
			goto bad;
	}
	if (host < auth) {
		if (p[host] != ':' || host + 1 == auth || auth - host - 1 > 5)
			goto bad;
		unsigned long port = 0;
		for (size_t i = host + 1; i < auth; i++) {
			if (!isdigit((unsigned char)p[i]))
				goto bad;
			port = port * 10 + (unsigned long)(p[i] - '0');
		}
		if (port == 0 || port > 65535)
			goto bad;
	}
	for (const char *c = p + auth; *c; c++) {
		if (*c == '%' && isxdigit((unsigned char)c[1]) &&
		    isxdigit((unsigned char)c[2])) {
			c += 2;
			continue;
		}
		if (path_char_ok(*c))
			continue;
		if (*c == ',') {
			snprintf(why, whysz,
				 "'%s' is not a server URL: ',' is not accepted in it (mbfs passes the URL to FUSE as fsname=, where ',' separates mount options); write it as %%2C",
				 su);
		} else if (*c == '?' || *c == '#') {
			snprintf(why, whysz,
				 "'%s' is not a server URL: a base URL has no query ('?') or fragment ('#')",
				 su);
		} else if ((unsigned char)*c > ' ' && (unsigned char)*c < 0x7f) {
			snprintf(why, whysz,
				 "'%s' is not a server URL: '%c' is not accepted in it (percent-encode it as %%%02X)",
				 su, *c, (unsigned)(unsigned char)*c);
		} else {
			snprintf(why, whysz,
				 "'%s' is not a server URL: spaces, control characters and non-ASCII bytes are not accepted in it (percent-encode them)",
				 su);
		}
		return false;
	}
	return true;
bad:
	snprintf(why, whysz, "'%s' is not a server URL: %s", su, form);
	return false;
}

void mbfs_options_url_normalize(char *u)
{
	size_t ul = strlen(u);
	while (ul > 0 && u[ul - 1] == '/')
		u[--ul] = '\0';
	/* "/api" as the whole last path segment (not "host/myapi", and
	 * not the host of "http://api") */
	const char *path = strstr(u, "://");
	size_t path_at = path ? (size_t)(path - u) + 3 : 0;
	path_at += strcspn(u + path_at, "/");
	if (ul >= path_at + 4 && strcmp(u + ul - 4, "/api") == 0) {
		ul -= 4;
		u[ul] = '\0';
		while (ul > path_at && u[ul - 1] == '/')
			u[--ul] = '\0';
	}
}

enum mbfs_options_result mbfs_options_parse(int argc, char **argv,
					    struct mbfs_options *o,
					    struct fuse_args *fa)
{
	struct raw_opts r;
	memset(&r, 0, sizeof r);
	memset(o, 0, sizeof *o);
	*fa = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	enum mbfs_options_result res = MBFS_OPTIONS_ERROR;

	if (fuse_opt_parse(fa, &r, opt_table, opt_proc) == -1)
		goto out;
	for (int i = 0; i < r.n_pass; i++)
		o->fuse_passthrough[i] = r.pass[i];
	o->n_fuse_passthrough = r.n_pass;
	r.n_pass = 0;
	if (r.help) {
		mbfs_options_help(stdout, argv[0]);
		res = MBFS_OPTIONS_EXIT_OK;
		goto out;
	}
	if (r.version) {
		res = MBFS_OPTIONS_EXIT_OK; /* main prints the versions */
		o->show_version = true;
		goto out;
	}
	if (r.secret_in_argv) {
		fprintf(stderr,
			"mbfs: secrets are not accepted on the command line (they would show in ps): use MBFS_PASSWORD / MBFS_API_KEY / MBFS_SESSION, -o password_file=, -o api_key_file=, -o session_file= or the config file\n");
		goto out;
	}
	/* the config file is used whole or not at all */
	const char *refusal = mbfs_config_refusal();
	if (refusal) {
		fprintf(stderr, "mbfs: %s\n", refusal);
		goto out;
	}
	config_fill(&r);
	if (r.too_many_positional) {
		fprintf(stderr, "mbfs: too many arguments; usage: mbfs [URL] MOUNTPOINT [-o opt,...]\n");
		goto out;
	}

	/* positionals: [URL] MOUNTPOINT */
	const char *cli_url = NULL, *mnt;
	if (r.n_positional == 2) {
		cli_url = r.positional[0];
		mnt = r.positional[1];
	} else if (r.n_positional == 1) {
		mnt = r.positional[0];
	} else {
		fprintf(stderr, "mbfs: no mount point given; usage: mbfs [URL] MOUNTPOINT [-o opt,...]  (mbfs --help)\n");
		goto out;
	}
	/* libfuse unmounts by this path after the daemon moved to / */
	o->mountpoint = absolute("mountpoint", mnt);
	if (!o->mountpoint)
		goto out;
	o->url = pick(cli_url, "MBFS_URL", "url");
	if (!o->url) {
		fprintf(stderr, "mbfs: no Metabase URL: give it as the first argument, in MBFS_URL, or as url= in the config file\n");
		goto out;
	}
	char why[MBFS_URL_MAX * 4 + 512];
	if (!mbfs_options_url_check(o->url, why, sizeof why)) {
		fprintf(stderr, "mbfs: %s\n", why);
		goto out;
	}
	mbfs_options_url_normalize(o->url);

	if (!pick_path("api_key_file", r.api_key_file, "MBFS_API_KEY_FILE",
		       "api_key_file", &o->api_key_file) ||
	    !pick_path("password_file", r.password_file, "MBFS_PASSWORD_FILE",
		       "password_file", &o->password_file) ||
	    !pick_path("session_file", r.session_file, "MBFS_SESSION_FILE",
		       "session_file", &o->session_file) ||
	    !pick_path("cafile", r.cafile, NULL, "cafile", &o->cafile))
		goto out;
	o->username = pick(r.username, "MBFS_USERNAME", "username");

	char *fmts = pick(r.formats, NULL, "formats");
	bool ok = parse_formats(fmts ? fmts : "csv:json", o);
	free(fmts);
	if (!ok)
		goto out;
	o->format_rows = r.format_rows != 0;
	o->public_only = r.public_only != 0;

	o->meta_ttl = 60;
	o->result_ttl = 60;
	o->error_ttl = 10;
	o->connect_timeout = 10;
	o->stall_timeout = 60;
	o->cache_max = (uint64_t)1 << 30;
	o->max_exports = 4;
	o->retries = 3;
	o->uid = getuid();
	o->gid = getgid();
	o->umask = 0022;

	unsigned long long v;
	if (!parse_seconds("meta_ttl", r.meta_ttl, 0, MBFS_TTL_MAX, &o->meta_ttl) ||
	    !parse_seconds("result_ttl", r.result_ttl, 0, MBFS_TTL_MAX,
			   &o->result_ttl) ||
	    !parse_seconds("error_ttl", r.error_ttl, 0, MBFS_TTL_MAX,
			   &o->error_ttl) ||
	    !parse_seconds("connect_timeout", r.connect_timeout, 0.1, 3600,
			   &o->connect_timeout) ||
	    !parse_size(r.cache_max, &o->cache_max))
		goto out;
	v = (unsigned long long)o->stall_timeout;
	if (!parse_uint("stall_timeout", r.stall_timeout, 10, 1, 86400, &v))
		goto out;
	o->stall_timeout = (long)v;
	v = (unsigned long long)o->max_exports;
	if (!parse_uint("max_exports", r.max_exports, 10, 1, 256, &v))
		goto out;
	o->max_exports = (int)v;
	v = 1048575;
	if (!parse_uint("row_cap", r.row_cap, 10, 0, 1ULL << 40, &v))
		goto out;
	o->row_cap = (int64_t)v;
	o->stream = r.stream != 0;
	v = (unsigned long long)o->retries;
	if (!parse_uint("retries", r.retries, 10, 0, 20, &v))
		goto out;
	o->retries = (int)v;
	v = o->uid;
	if (!parse_uint("uid", r.uid, 10, 0, 0xfffffffeULL, &v))
		goto out;
	o->uid = (uid_t)v;
	v = o->gid;
	if (!parse_uint("gid", r.gid, 10, 0, 0xfffffffeULL, &v))
		goto out;
	o->gid = (gid_t)v;
	v = o->umask;
	if (!parse_uint("umask", r.umask, 8, 0, 0777, &v))
		goto out;
	o->umask = (mode_t)v;

	if (r.stat && strcmp(r.stat, "cached") == 0)
		o->stat_cached = true;
	else if (r.stat && strcmp(r.stat, "export") != 0) {
		fprintf(stderr, "mbfs: -o stat=%s: expected 'export' (default) or 'cached'\n", r.stat);
		goto out;
	}
	o->cache_dir = r.cache_dir ? absolute("cache_dir", r.cache_dir)
				   : default_cache_dir();
	if (!o->cache_dir)
		goto out;
	o->insecure = r.insecure != 0;
	o->test_zero_size = r.test_zero_size || r.test_zero_size_always;
	o->test_zero_size_always = r.test_zero_size_always != 0;
	o->foreground = r.foreground != 0;
	o->debug = r.debug != 0;
	o->singlethread = r.single != 0;
	o->log_level = pick(r.log_level, "MBFS_LOG_LEVEL", "log_level");
	if (o->log_level) {
		enum mbfs_log_level lvl;
		if (!mbfs_log_parse_level(o->log_level, &lvl)) {
			fprintf(stderr, "mbfs: -o log_level=%s: expected error, warn, info or debug\n", o->log_level);
			goto out;
		}
	}
	res = MBFS_OPTIONS_RUN;
out:
	free_raw(&r);
	if (res != MBFS_OPTIONS_RUN) {
		fuse_opt_free_args(fa);
		if (res == MBFS_OPTIONS_ERROR)
			mbfs_options_free(o);
	}
	return res;
}

void mbfs_options_help(FILE *f, const char *prog)
{
	fprintf(f,
"usage: %s [URL] MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
"       %s status MOUNTPOINT [--watch] [--interval SECONDS]\n"
"\n"
"Mount a Metabase instance: collections, cards, dashboards and tables as files.\n"
"Daemonizes once mounted; unmount with fusermount3 -u MOUNTPOINT.\n"
"URL: http[s]://host[:port][/path], at most 1024 bytes, no user:password@,\n"
"no query or fragment; ',' and other characters outside URL syntax are refused\n"
"(percent-encode them: ',' would split the fsname= mount option). A trailing\n"
"/api or /api/ (an API URL) names the same server.\n"
"\n"
"Credentials (never on the command line), first found wins:\n"
"  MBFS_API_KEY            API key (X-Api-Key), Metabase v0.49+\n"
"  MBFS_SESSION            an existing session token (X-Metabase-Session)\n"
"  MBFS_USERNAME           user name (e-mail) for password login\n"
"  MBFS_PASSWORD           password for password login\n"
"  -o api_key_file=FILE    read the API key from FILE [$MBFS_API_KEY_FILE]\n"
"  -o password_file=FILE   read the password from FILE [$MBFS_PASSWORD_FILE]\n"
"  -o session_file=FILE    read a session token from FILE [$MBFS_SESSION_FILE]\n"
"  -o username=EMAIL       user name for password login [$MBFS_USERNAME]\n"
"  (none of these, stdin a terminal: mbfs asks, the password without echo)\n"
"  Preference: API key, then session token, then username + password.\n"
"  Secret files must be owned by you and not readable by group or others\n"
"  (chmod 600), else mbfs refuses to start; MBFS_API_KEY, MBFS_SESSION and\n"
"  MBFS_PASSWORD are erased from the daemon's environment once read.\n"
"  Sessions from logins are cached in <cache_dir>/sessions/ (0700/0600) and\n"
"  reused by the next mount. A refused login is never repeated with the same\n"
"  password (EACCES until the password file changes or a remount).\n"
"\n"
"Environment and files:\n"
"  MBFS_URL                server URL when not given as an argument\n"
"  MBFS_LOG_LEVEL          log level when -o log_level= is not given\n"
"  XDG_CONFIG_HOME         config file $XDG_CONFIG_HOME/mbfs/config [~/.config]:\n"
"                          `key = value` lines: url, username, password, api_key,\n"
"                          session and every -o name below; refused whole\n"
"                          unless owned by you and not writable by group or\n"
"                          others, and (when it holds secrets) mode 0600\n"
"  XDG_CACHE_HOME          spool and session cache $XDG_CACHE_HOME/mbfs [~/.cache]\n"
"  Relative paths (cache_dir, cafile, *_file) are taken from the current\n"
"  directory at mount time.\n"
"\n"
"Options (default in brackets):\n"
"  -o formats=LIST         files per card/table, ':'-separated [csv:json]\n"
"                          (csv, json, xlsx)\n"
"  -o format_rows          ask Metabase for UI-formatted values [off: raw]\n"
"  -o public               public links only: no credentials are read or sent,\n"
"                          no login; only public/ and .mbfs/ exist [off]\n"
"  -o meta_ttl=SECONDS     how long listings and attributes are cached [60]\n"
"  -o result_ttl=SECONDS   how long an export result stays fresh [60]\n"
"  -o error_ttl=SECONDS    how long a failed export is remembered [10]\n"
"                          (the three TTLs: 0 to 1e9)\n"
"  -o stat=export|cached   whether stat of a data file runs its export [export]\n"
"  -o cache_dir=DIR        spool and session cache [$XDG_CACHE_HOME/mbfs]\n"
"  -o cache_max=SIZE       spool size cap, e.g. 500M, 2G; at least 1M [1G]\n"
"  -o max_exports=N        concurrent exports per mount, 1-256 [4]\n"
"  -o stream               open returns at once, reads wait for their bytes\n"
"                          (direct_io; size 0 until the export ends) [off]\n"
"  -o row_cap=N            the server's download row cap, for user.mb.truncated\n"
"                          (0: never flag) [1048575]\n"
"  -o retries=N            retries of transient failures, 0-20 [3]\n"
"  -o connect_timeout=SEC  TCP/TLS connect timeout, 0.1-3600 [10]\n"
"  -o stall_timeout=SEC    abort a transfer when no byte arrived for SEC\n"
"                          seconds, 1-86400: a read fails with EIO, \"no data\n"
"                          from the server for SEC s\" [60]\n"
"  -o cafile=FILE          extra CA bundle for TLS verification [system CAs]\n"
"  -o insecure             do not verify TLS certificates [off: verify]\n"
"  -o uid=N                owner of every file [the mounting user]\n"
"  -o gid=N                group of every file [the mounting user's group]\n"
"  -o umask=OCTAL          permission bits to clear, as in sshfs [022]\n"
"  -o log_level=LEVEL      error, warn, info or debug [info]; stderr with -f,\n"
"                          syslog (daemon facility) when daemonized\n"
"\n"
"FUSE options, passed to libfuse [off unless given]:\n"
"  -o allow_other          let other users in (non-root: user_allow_other in\n"
"                          /etc/fuse.conf)\n"
"  -o default_permissions  let the kernel check uid/gid/umask permissions\n"
"  -o allow_root, -o auto_unmount, -o fsname=NAME, -o subtype=NAME,\n"
"  -o max_read=N, -o ro, -o noatime ...   see mount.fuse3(8)\n"
"  fstab/mount options _netdev, noauto, auto, user, users, nofail, defaults,\n"
"  x-*, comment= and the atime options relatime, lazytime ... are accepted\n"
"  and ignored.\n"
"\n"
"  -f                      stay in the foreground, log to stderr\n"
"  -d                      FUSE debug output (implies -f and log_level=debug)\n"
"  -s                      single-threaded\n"
"  -h, --help              this text\n"
"  -V, --version           versions of mbfs, libfuse, libcurl and json-c\n"
"\n"
"fstab: URL MOUNTPOINT fuse.mbfs _netdev,noauto,api_key_file=/etc/mbfs/key 0 0\n"
"\n"
"status MOUNTPOINT       the mount at a glance: server, user, auth state,\n"
"                        running exports with progress, queued ones, the\n"
"                        last errors, cache use (read from .mbfs/)\n"
"  --watch               redraw every --interval SECONDS (1) until Ctrl-C\n"
"MOUNTPOINT/.mbfs/metrics holds the counters in the Prometheus text format.\n"
"See mbfs(1).\n",
		prog, prog);
}

int mbfs_options_describe(const struct mbfs_options *o, char *out,
			  size_t outsz)
{
	char fm[32] = "";
	for (int i = 0; i < o->n_formats; i++) {
		if (i)
			strncat(fm, ":", sizeof fm - strlen(fm) - 1);
		strncat(fm, o->formats[i], sizeof fm - strlen(fm) - 1);
	}
	return snprintf(out, outsz,
			"formats=%s format_rows=%s meta_ttl=%g result_ttl=%g "
			"error_ttl=%g stat=%s cache_dir=%s cache_max=%llu "
			"max_exports=%d retries=%d row_cap=%lld uid=%u gid=%u umask=%03o "
			"connect_timeout=%g stall_timeout=%ld%s%s%s%s\n",
			fm, o->format_rows ? "true" : "false", o->meta_ttl,
			o->result_ttl, o->error_ttl,
			o->stat_cached ? "cached" : "export", o->cache_dir,
			(unsigned long long)o->cache_max, o->max_exports,
			o->retries, (long long)o->row_cap, (unsigned)o->uid,
			(unsigned)o->gid, (unsigned)o->umask,
			o->connect_timeout, o->stall_timeout,
			o->stream ? " stream" : "",
			o->insecure ? " insecure" : "",
			o->cafile ? " cafile" : "",
			o->public_only ? " public" : "");
}

void mbfs_options_free(struct mbfs_options *o)
{
	free(o->url);
	free(o->mountpoint);
	free(o->api_key_file);
	free(o->password_file);
	free(o->session_file);
	free(o->username);
	for (int i = 0; i < o->n_formats; i++)
		free(o->formats[i]);
	free(o->cache_dir);
	free(o->cafile);
	free(o->log_level);
	for (int i = 0; i < o->n_fuse_passthrough; i++)
		free(o->fuse_passthrough[i]);
	memset(o, 0, sizeof *o);
}

static void silent_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

bool mbfs_options_check_fuse(const struct mbfs_options *o, const char *prog)
{
	static const struct fuse_lowlevel_ops no_ops;
	bool ok = true;
	fuse_set_log_func(silent_log);
	for (int i = 0; i < o->n_fuse_passthrough && ok; i++) {
		const char *opt = o->fuse_passthrough[i];
		char *argv[4] = {(char *)prog, NULL, NULL, NULL};
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
