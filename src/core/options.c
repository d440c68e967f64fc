/*
 * options.c — owns the option table (one row per option: its name, the
 * field of struct mbfs_options it fills, how its value is read, its
 * default and range, its environment variable, whether the config file
 * may set it, and its --help text), the argv reader, the reading of the
 * config file's keys through config.c, and the server URL rules. --help, the config file keys and the
 * defaults all come from the table: adding an option is one row (plus its
 * use). No libfuse here: the options meant for it are kept as strings and
 * fuse/session.c hands them over. See options.h.
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
#include "mode.h"
#include "log.h"
#include "status.h"

/* ---- the table ---------------------------------------------------------- */

enum opt_kind {
	K_FLAG,    /* bool, true when given ("name"; "name=true|false" too
		    * with F_BOOL_VALUE) */
	K_STRING,  /* char *, as given */
	K_PATH,    /* char *, made absolute (the daemon runs in /) */
	K_LEVEL,   /* char *, a log level (log.h) */
	K_FORMATS, /* formats[], n_formats: csv, json, xlsx, ':'-separated */
	K_CHOICE,  /* bool: arg's first word (false) or second word (true) */
	K_SECONDS, /* double, in [min, max] */
	K_UINT,    /* a whole number in [min, max]: int, long, int64, uid ... */
	K_SIZE,    /* uint64_t bytes: 500M, 2G ..., at least min */
	K_SECRET,  /* never on the command line: the environment, a file or
		    * the config file only (creds.c); no field */
	K_URL,     /* the server URL: first argument, environment or config */
};

enum opt_section {
	S_OPTIONS, /* --help's options list: [default] */
	S_CREDS,   /* --help's credentials list: [$ENV] */
	S_PROCESS, /* --help's list of switches (-f, -h ...) */
	S_HIDDEN,  /* not in --help */
};

#define F_CLI_ONLY 1u     /* not a config file key */
#define F_EMPTY_UNSET 2u  /* an empty value counts as not given */
#define F_OCTAL 4u        /* K_UINT in base 8 */
#define F_BOOL_VALUE 8u   /* K_FLAG also as name=true, name=false */

struct opt {
	const char *name;    /* -o name (or "-f"), and config file key */
	const char *alias;   /* another name: "--help", -o "debug" */
	enum opt_kind kind;
	size_t off, size;    /* the field in struct mbfs_options */
	const char *def;     /* default: parsed as if given; in --help */
	/* a default known at run time, written to buf (false: a message
	 * was printed, there is none) */
	bool (*dyn_def)(char *buf, size_t bufsz);
	const char *shown;   /* --help's [default] if not def ("off": flag) */
	double min, max;     /* range: K_SECONDS, K_UINT, K_SIZE */
	const char *env;     /* environment variable: after the command line,
			      * before the config file */
	unsigned flags;
	enum opt_section sec;
	const char *arg;     /* --help's value placeholder; K_CHOICE: the
			      * two words, '|'-separated */
	/* --help's text, '\n' between lines; "[]" marks where [default]
	 * (S_OPTIONS) or [$ENV] (S_CREDS) goes, else it ends the text */
	const char *help;
};

static bool default_uid(char *buf, size_t bufsz);
static bool default_gid(char *buf, size_t bufsz);
static bool default_cache_dir(char *buf, size_t bufsz);

#define FIELD(f)                                                               \
	.off = offsetof(struct mbfs_options, f),                               \
	.size = sizeof(((struct mbfs_options *)0)->f)
#define CRED(f, e, a, h)                                                       \
	.name = #f, FIELD(f), .env = e, .flags = F_EMPTY_UNSET,                \
	.sec = S_CREDS, .arg = a, .help = h

/* Values are read and checked in this order (the first bad one is
 * reported); --help lists each section in this order. */
static const struct opt opt_table[] = {
	/* credentials (the secrets themselves: the K_SECRET rows) */
	{CRED(api_key_file, "MBFS_API_KEY_FILE", "FILE",
	      "read the API key from FILE"), .kind = K_PATH},
	{CRED(password_file, "MBFS_PASSWORD_FILE", "FILE",
	      "read the password from FILE"), .kind = K_PATH},
	{CRED(session_file, "MBFS_SESSION_FILE", "FILE",
	      "read a session token from FILE"), .kind = K_PATH},
	{CRED(username, "MBFS_USERNAME", "EMAIL",
	      "user name for password login"), .kind = K_STRING},
	{CRED(mode_token_file, "MBFS_MODE_TOKEN_FILE", "FILE",
	      "Mode: read the API token from FILE"), .kind = K_PATH},
	{CRED(mode_secret_file, "MBFS_MODE_SECRET_FILE", "FILE",
	      "Mode: read the API secret from FILE"), .kind = K_PATH},
	/* options */
	{.name = "formats", .kind = K_FORMATS, FIELD(formats), .def = "csv:json",
	 .flags = F_EMPTY_UNSET, .arg = "LIST",
	 .help = "files per card/table, ':'-separated []\n(csv, json, xlsx)"},
	{.name = "format_rows", .kind = K_FLAG, FIELD(format_rows),
	 .shown = "off: raw", .flags = F_BOOL_VALUE,
	 .help = "ask Metabase for UI-formatted values"},
	{.name = "public", .kind = K_FLAG, FIELD(public_only),
	 .help = "public links only: no credentials are read or sent,\n"
		 "no login; only public/ and .mbfs/ exist"},
	{.name = "backend", .kind = K_CHOICE, FIELD(mode), .def = "metabase",
	 .arg = "metabase|mode",
	 .help = "what the URL serves: a Metabase instance, or Mode\n"
		 "(https://app.mode.com, with -o workspace=)"},
	{.name = "workspace", .kind = K_STRING, FIELD(workspace),
	 .shown = "none", .flags = F_EMPTY_UNSET, .arg = "NAME",
	 .help = "Mode: the workspace's username (backend=mode)"},
	{.name = "mode_run", .kind = K_CHOICE, FIELD(mode_run_new),
	 .def = "latest", .arg = "latest|new",
	 .help = "Mode: serve the latest successful run's results,\n"
		 "or start a new report run for every result"},
	{.name = "meta_ttl", .kind = K_SECONDS, FIELD(meta_ttl), .def = "60",
	 .max = MBFS_TTL_MAX, .arg = "SECONDS",
	 .help = "how long listings and attributes are cached"},
	{.name = "result_ttl", .kind = K_SECONDS, FIELD(result_ttl), .def = "60",
	 .max = MBFS_TTL_MAX, .arg = "SECONDS",
	 .help = "how long an export result stays fresh"},
	{.name = "error_ttl", .kind = K_SECONDS, FIELD(error_ttl), .def = "10",
	 .max = MBFS_TTL_MAX, .arg = "SECONDS",
	 .help = "how long a failed export is remembered []\n"
		 "(the three TTLs: 0 to 1e9)"},
	{.name = "stat", .kind = K_CHOICE, FIELD(stat_cached), .def = "export",
	 .arg = "export|cached",
	 .help = "whether stat of a data file runs its export"},
	{.name = "cache_dir", .kind = K_PATH, FIELD(cache_dir),
	 .dyn_def = default_cache_dir, .shown = "$XDG_CACHE_HOME/mbfs",
	 .arg = "DIR", .help = "spool and session cache"},
	{.name = "cache_max", .kind = K_SIZE, FIELD(cache_max), .def = "1G",
	 .min = (double)MBFS_CACHE_MAX_MIN, .arg = "SIZE",
	 .help = "spool size cap, e.g. 500M, 2G; at least 1M"},
	{.name = "max_exports", .kind = K_UINT, FIELD(max_exports), .def = "4",
	 .min = 1, .max = 256, .arg = "N",
	 .help = "concurrent exports per mount, 1-256"},
	{.name = "stream", .kind = K_FLAG, FIELD(stream),
	 .help = "open returns at once, reads wait for their bytes\n"
		 "(direct_io; size 0 until the export ends)"},
	{.name = "row_cap", .kind = K_UINT, FIELD(row_cap), .def = "1048575",
	 .max = 1099511627776.0 /* 2^40 */, .arg = "N",
	 .help = "the server's download row cap, for user.mb.truncated\n"
		 "(0: never flag)"},
	{.name = "retries", .kind = K_UINT, FIELD(retries), .def = "3",
	 .max = 20, .arg = "N", .help = "retries of transient failures, 0-20"},
	{.name = "connect_timeout", .kind = K_SECONDS, FIELD(connect_timeout),
	 .def = "10", .min = 0.1, .max = 3600, .arg = "SEC",
	 .help = "TCP/TLS connect timeout, 0.1-3600"},
	{.name = "stall_timeout", .kind = K_UINT, FIELD(stall_timeout),
	 .def = "60", .min = 1, .max = 86400, .arg = "SEC",
	 .help = "abort a transfer when no byte arrived for SEC\n"
		 "seconds, 1-86400: a read fails with EIO, \"no data\n"
		 "from the server for SEC s\""},
	{.name = "cafile", .kind = K_PATH, FIELD(cafile), .shown = "system CAs",
	 .flags = F_EMPTY_UNSET, .arg = "FILE",
	 .help = "extra CA bundle for TLS verification"},
	{.name = "insecure", .kind = K_FLAG, FIELD(insecure),
	 .shown = "off: verify", .help = "do not verify TLS certificates"},
	{.name = "uid", .kind = K_UINT, FIELD(uid), .dyn_def = default_uid,
	 .shown = "the mounting user", .max = 0xfffffffe, .arg = "N",
	 .help = "owner of every file"},
	{.name = "gid", .kind = K_UINT, FIELD(gid), .dyn_def = default_gid,
	 .shown = "the mounting user's group", .max = 0xfffffffe, .arg = "N",
	 .help = "group of every file"},
	{.name = "umask", .kind = K_UINT, FIELD(umask), .def = "022",
	 .max = 0777, .flags = F_OCTAL, .arg = "OCTAL",
	 .help = "permission bits to clear, as in sshfs"},
	{.name = "log_level", .kind = K_LEVEL, FIELD(log_level), .shown = "info",
	 .env = "MBFS_LOG_LEVEL", .flags = F_EMPTY_UNSET, .arg = "LEVEL",
	 .help = "error, warn, info or debug []; stderr with -f,\n"
		 "syslog (daemon facility) when daemonized"},
	/* switches */
	{.name = "-f", .kind = K_FLAG, FIELD(foreground), .flags = F_CLI_ONLY,
	 .sec = S_PROCESS, .help = "stay in the foreground, log to stderr"},
	{.name = "-d", .alias = "debug", .kind = K_FLAG, FIELD(debug),
	 .flags = F_CLI_ONLY, .sec = S_PROCESS,
	 .help = "FUSE debug output (implies -f and log_level=debug)"},
	{.name = "-s", .kind = K_FLAG, FIELD(singlethread), .flags = F_CLI_ONLY,
	 .sec = S_PROCESS, .help = "single-threaded"},
	{.name = "-h", .alias = "--help", .kind = K_FLAG, FIELD(show_help),
	 .flags = F_CLI_ONLY, .sec = S_PROCESS, .help = "this text"},
	{.name = "-V", .alias = "--version", .kind = K_FLAG, FIELD(show_version),
	 .flags = F_CLI_ONLY, .sec = S_PROCESS,
	 .help = "versions of mbfs, libfuse, libcurl and json-c"},
#ifdef MBFS_TEST_HOOKS
	/* test-only, in the mbfs-testhooks binary alone (CMakeLists.txt):
	 * size 0 for data files before open (=always: also after) */
	{.name = "test_zero_size", .kind = K_FLAG, FIELD(test_zero_size),
	 .flags = F_CLI_ONLY, .sec = S_HIDDEN},
	{.name = "test_zero_size=always", .kind = K_FLAG,
	 FIELD(test_zero_size_always), .flags = F_CLI_ONLY, .sec = S_HIDDEN},
#endif
	/* config file keys only: the secrets (creds.c reads them), the URL */
	{.name = "password", .kind = K_SECRET, .sec = S_HIDDEN},
	{.name = "api_key", .kind = K_SECRET, .sec = S_HIDDEN},
	{.name = "session", .kind = K_SECRET, .sec = S_HIDDEN},
	{.name = "mode_token", .kind = K_SECRET, .sec = S_HIDDEN},
	{.name = "mode_secret", .kind = K_SECRET, .sec = S_HIDDEN},
	{.name = "url", .kind = K_URL, FIELD(url), .env = "MBFS_URL",
	 .flags = F_EMPTY_UNSET, .sec = S_HIDDEN},
};

#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static const struct opt *opt_find(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

bool mbfs_options_key_is_secret(const char *key)
{
	const struct opt *d = opt_find(key);
	return d && d->kind == K_SECRET;
}
/* Seconds in [min, max]; NaN and infinities are refused. */
static bool parse_seconds(const char *name, const char *s, double min,
			  double max, double *out)
{
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

/* Bytes, with an optional K, M, G or T (powers of 1024) and B or iB;
 * at least min. */
static bool parse_size(const char *name, const char *s, uint64_t min,
		       uint64_t *out)
{
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
	if (bytes < min) {
		fprintf(stderr,
			"mbfs: -o %s=%s: at least 1M (1 MiB) is needed to hold a result\n",
			name, s);
		return false;
	}
	*out = bytes;
	return true;
bad:
	fprintf(stderr, "mbfs: -o %s=%s: expected a size like 1G or 500M\n",
		name, s);
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
			mbfs_escape_text(t, st, sizeof st);
			fprintf(stderr,
				"mbfs: -o formats=...: unknown format '%s' (use csv, json, xlsx, separated by ':')\n",
				st);
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

static bool default_uid(char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%u", (unsigned)getuid());
	return true;
}

static bool default_gid(char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%u", (unsigned)getgid());
	return true;
}

/* $XDG_CACHE_HOME/mbfs, else <home>/.cache/mbfs; never a shared
 * directory such as /tmp. False (with a message) when there is none. */
static bool default_cache_dir(char *buf, size_t bufsz)
{
	if (mbfs_config_xdg_path("XDG_CACHE_HOME", ".cache", NULL, buf, bufsz))
		return true;
	fprintf(stderr,
		"mbfs: no cache directory: HOME and XDG_CACHE_HOME are unset (or too long) and the user has no home directory; give -o cache_dir=DIR\n");
	return false;
}

static void store_uint(void *field, size_t size, unsigned long long v)
{
	if (size == sizeof(uint32_t)) {
		uint32_t x = (uint32_t)v;
		memcpy(field, &x, sizeof x);
	} else {
		uint64_t x = v;
		memcpy(field, &x, sizeof x);
	}
}

/* Read value v of row d into its field; false with a message. */
static bool set_value(const struct opt *d, const char *v,
		      struct mbfs_options *o)
{
	void *field = (char *)o + d->off;
	char **str = field;
	unsigned long long n;
	switch (d->kind) {
	case K_STRING:
		return (*str = strdup(v)) != NULL;
	case K_PATH:
		return (*str = absolute(d->name, v)) != NULL;
	case K_LEVEL: {
		enum mbfs_log_level lvl;
		if (!mbfs_log_parse_level(v, &lvl)) {
			fprintf(stderr, "mbfs: -o %s=%s: expected error, warn, info or debug\n",
				d->name, v);
			return false;
		}
		return (*str = strdup(v)) != NULL;
	}
	case K_FORMATS:
		return parse_formats(v, o);
	case K_CHOICE: {
		size_t first = strcspn(d->arg, "|");
		if (strlen(v) == first && strncmp(v, d->arg, first) == 0) {
			*(bool *)field = false;
			return true;
		}
		if (strcmp(v, d->arg + first + 1) == 0) {
			*(bool *)field = true;
			return true;
		}
		fprintf(stderr, "mbfs: -o %s=%s: expected '%.*s' (default) or '%s'\n",
			d->name, v, (int)first, d->arg, d->arg + first + 1);
		return false;
	}
	case K_SECONDS:
		return parse_seconds(d->name, v, d->min, d->max, field);
	case K_UINT:
		if (!parse_uint(d->name, v, d->flags & F_OCTAL ? 8 : 10,
				(unsigned long long)d->min,
				(unsigned long long)d->max, &n))
			return false;
		store_uint(field, d->size, n);
		return true;
	case K_SIZE:
		return parse_size(d->name, v, (uint64_t)d->min, field);
	case K_FLAG:
	case K_SECRET:
	case K_URL:
		break;
	}
	return true;
}

/* Where a value comes from, first found: the command line (cli), the
 * environment, the config file. NULL when none gave one. */
static const char *value_source(const struct opt *d, const char *cli)
{
	if (cli && (*cli || !(d->flags & F_EMPTY_UNSET)))
		return cli;
	const char *v = d->env ? getenv(d->env) : NULL;
	if (v && *v)
		return v;
	v = d->flags & F_CLI_ONLY ? NULL : mbfs_config_get(d->name, NULL);
	return v && *v ? v : NULL;
}

static bool config_true(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
		     strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
		     *v == '\0');
}

/* ---- the command line --------------------------------------------------- */

/* What the command line said, before the other sources are looked at. */
struct cli {
	char *val[N_OPTS];         /* valued rows: the last value given */
	char *positional[2];
	int n_positional;
	bool too_many_positional;
	bool secret_in_argv;       /* refused, loudly */
};

static bool passthrough_add(struct mbfs_options *o, const char *arg)
{
	char **p = realloc(o->fuse_passthrough,
			   ((size_t)o->n_fuse_passthrough + 1) * sizeof *p);
	if (!p)
		return false;
	o->fuse_passthrough = p;
	return (p[o->n_fuse_passthrough++] = strdup(arg)) != NULL;
}

/* Does arg name row d? *val is then what follows "name=" (valued rows),
 * or "true" / "false" (flags). */
static bool opt_matches(const struct opt *d, const char *arg, const char **val)
{
	size_t nl = strlen(d->name);
	if (d->kind == K_URL)
		return false;
	if (d->kind == K_FLAG) {
		*val = "true";
		if (strcmp(arg, d->name) == 0 ||
		    (d->alias && strcmp(arg, d->alias) == 0))
			return true;
		*val = arg + nl + 1;
		return (d->flags & F_BOOL_VALUE) &&
		       strncmp(arg, d->name, nl) == 0 && arg[nl] == '=' &&
		       (strcmp(*val, "true") == 0 || strcmp(*val, "false") == 0);
	}
	*val = arg + nl + 1;
	return strncmp(arg, d->name, nl) == 0 && arg[nl] == '=';
}

/* One option: an element of an -o list, or an argument starting with '-'
 * (as libfuse's fuse_opt, both are matched against the same names). */
static bool take_option(struct cli *c, struct mbfs_options *o,
			const char *arg)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *d = &opt_table[i];
		const char *val;
		if (!opt_matches(d, arg, &val))
			continue;
		if (d->kind == K_SECRET) {
			c->secret_in_argv = true;
		} else if (d->kind == K_FLAG) {
			*(bool *)((char *)o + d->off) = strcmp(val, "true") == 0;
		} else {
			free(c->val[i]);
			if (!(c->val[i] = strdup(val)))
				return false;
		}
		return true;
	}
	return passthrough_add(o, arg); /* allow_other, fsname, ro, --x ... */
}

/* An -o list: elements split at ',', where "\," is a comma, "\\" a
 * backslash and "\NNN" an octal byte (libfuse's rules). */
static bool take_group(struct cli *c, struct mbfs_options *o,
		       const char *group)
{
	char *buf = malloc(strlen(group) + 1), *d = buf;
	if (!buf)
		return false;
	bool ok = true;
	for (const char *s = group; ok; s++) {
		if (*s == ',' || !*s) {
			*d = '\0';
			ok = take_option(c, o, buf);
			d = buf;
			if (!*s)
				break;
		} else if (s[0] == '\\' && s[1]) {
			s++;
			if (s[0] >= '0' && s[0] <= '3' && s[1] >= '0' &&
			    s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
				*d++ = (char)((s[0] - '0') * 64 +
					      (s[1] - '0') * 8 + (s[2] - '0'));
				s += 2;
			} else {
				*d++ = *s;
			}
		} else {
			*d++ = *s;
		}
	}
	free(buf);
	return ok;
}

/* argv as libfuse's fuse_opt reads it: "-o LIST", "-oLIST", "--" ends
 * the options, every other argument starting with '-' is an option. */
static bool read_argv(int argc, char **argv, struct cli *c,
		      struct mbfs_options *o)
{
	bool nonopt = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool ok = true;
		if (nonopt || a[0] != '-') {
			if (c->n_positional < 2)
				ok = (c->positional[c->n_positional++] =
					      strdup(a)) != NULL;
			else
				c->too_many_positional = true;
		} else if (a[1] == 'o') {
			if (!a[2] && i + 1 >= argc) {
				fprintf(stderr, "mbfs: missing argument after `-o'\n");
				return false;
			}
			ok = take_group(c, o, a[2] ? a + 2 : argv[++i]);
		} else if (strcmp(a, "--") == 0) {
			nonopt = true;
		} else {
			ok = take_option(c, o, a);
		}
		if (!ok) {
			fprintf(stderr, "mbfs: out of memory\n");
			return false;
		}
	}
	/* -d implies -f; test_zero_size=always implies test_zero_size */
	o->foreground |= o->debug;
	o->test_zero_size |= o->test_zero_size_always;
	return true;
}

static void cli_free(struct cli *c)
{
	for (size_t i = 0; i < N_OPTS; i++)
		free(c->val[i]);
	free(c->positional[0]);
	free(c->positional[1]);
}

/* Every row's value from its sources, or its default, into o. */
static bool resolve(const struct cli *c, struct mbfs_options *o)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *d = &opt_table[i];
		if (d->kind == K_SECRET || d->kind == K_URL)
			continue;
		if (d->kind == K_FLAG) {
			bool *on = (bool *)((char *)o + d->off);
			/* as before: a flag turned off on the command line
			 * is "not given" (the config file may turn it on) */
			if (!*on && !(d->flags & F_CLI_ONLY))
				*on = config_true(mbfs_config_get(d->name, NULL));
			continue;
		}
		char buf[4096];
		const char *v = value_source(d, c->val[i]);
		if (!v && d->dyn_def) {
			if (!d->dyn_def(buf, sizeof buf))
				return false;
			v = buf;
		}
		if (!v)
			v = d->def;
		if (v && !set_value(d, v, o))
			return false;
	}
	return true;
}

/* The options of one backend make sense together. */
static bool backend_check(const struct mbfs_options *o)
{
	if (!o->mode) {
		if (o->workspace || o->mode_run_new) {
			fprintf(stderr, "mbfs: -o %s is for Mode mounts: add -o backend=mode\n",
				o->workspace ? "workspace" : "mode_run");
			return false;
		}
		return true;
	}
	if (!o->workspace) {
		fprintf(stderr, "mbfs: a Mode mount needs its workspace: -o workspace=NAME (the workspace's username in app.mode.com/NAME)\n");
		return false;
	}
	if (!mode_workspace_ok(o->workspace)) {
		fprintf(stderr, "mbfs: -o workspace= takes a workspace username (letters, digits, '-', '_', '.'; at most 128)\n");
		return false;
	}
	if (o->public_only) {
		fprintf(stderr, "mbfs: -o public is for Metabase's public links; Mode mounts need a token and secret\n");
		return false;
	}
	return true;
}

/* The positionals: [URL] MOUNTPOINT (the URL also from the environment
 * or the config file), checked and normalized. */
static bool resolve_positionals(const struct cli *c, struct mbfs_options *o)
{
	if (c->too_many_positional) {
		fprintf(stderr, "mbfs: too many arguments; usage: mbfs [URL] MOUNTPOINT [-o opt,...]\n");
		return false;
	}
	if (c->n_positional == 0) {
		fprintf(stderr, "mbfs: no mount point given; usage: mbfs [URL] MOUNTPOINT [-o opt,...]  (mbfs --help)\n");
		return false;
	}
	/* libfuse unmounts by this path after the daemon moved to / */
	o->mountpoint = absolute("mountpoint", c->positional[c->n_positional - 1]);
	if (!o->mountpoint)
		return false;
	const char *url = value_source(opt_find("url"), c->n_positional == 2
							     ? c->positional[0]
							     : NULL);
	if (!url || !(o->url = strdup(url))) {
		fprintf(stderr, "mbfs: no Metabase URL: give it as the first argument, in MBFS_URL, or as url= in the config file\n");
		return false;
	}
	char why[MBFS_URL_MAX * 4 + 512];
	if (!mbfs_options_url_check(o->url, why, sizeof why)) {
		fprintf(stderr, "mbfs: %s\n", why);
		return false;
	}
	mbfs_options_url_normalize(o->url);
	return true;
}

enum mbfs_options_result mbfs_options_parse(int argc, char **argv,
					    struct mbfs_options *o)
{
	struct cli c;
	memset(&c, 0, sizeof c);
	memset(o, 0, sizeof *o);
	enum mbfs_options_result res = MBFS_OPTIONS_ERROR;
	if (!read_argv(argc, argv, &c, o))
		goto out;
	if (o->show_help) {
		o->show_version = false; /* --help wins */
		mbfs_options_help(stdout, argv[0]);
		res = MBFS_OPTIONS_EXIT_OK;
		goto out;
	}
	if (o->show_version) {
		res = MBFS_OPTIONS_EXIT_OK; /* main prints the versions */
		goto out;
	}
	if (c.secret_in_argv) {
		fprintf(stderr,
			"mbfs: secrets are not accepted on the command line (they would show in ps): use MBFS_PASSWORD / MBFS_API_KEY / MBFS_SESSION / MBFS_MODE_TOKEN / MBFS_MODE_SECRET, -o password_file=, -o api_key_file=, -o session_file=, -o mode_token_file=, -o mode_secret_file= or the config file\n");
		goto out;
	}
	/* the config file is used whole or not at all */
	const char *refusal = mbfs_config_refusal();
	if (refusal) {
		fprintf(stderr, "mbfs: %s\n", refusal);
		goto out;
	}
	if (resolve_positionals(&c, o) && resolve(&c, o) && backend_check(o))
		res = MBFS_OPTIONS_RUN;
out:
	cli_free(&c);
	if (res == MBFS_OPTIONS_ERROR)
		mbfs_options_free(o);
	return res;
}

/* ---- --help --------------------------------------------------------------- */

/* The rows of one section: "  -o name=ARG   text [default]". */
static void help_rows(FILE *f, enum opt_section sec)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *d = &opt_table[i];
		if (d->sec != sec)
			continue;
		char left[64], dflt[64] = "";
		if (d->name[0] == '-')
			snprintf(left, sizeof left, "%s%s%s", d->name,
				 d->alias && d->alias[0] == '-' ? ", " : "",
				 d->alias && d->alias[0] == '-' ? d->alias : "");
		else
			snprintf(left, sizeof left, "-o %s%s%s", d->name,
				 d->arg ? "=" : "", d->arg ? d->arg : "");
		if (sec == S_CREDS)
			snprintf(dflt, sizeof dflt, "[$%s]", d->env);
		else if (sec == S_OPTIONS)
			snprintf(dflt, sizeof dflt, "[%s]",
				 d->shown ? d->shown : d->def ? d->def : "off");
		if (strlen(left) > 23) /* its own line, the text below */
			fprintf(f, "  %s\n%26s", left, "");
		else
			fprintf(f, "  %-23s ", left);
		const char *mark = strstr(d->help, "[]");
		for (const char *s = d->help; *s; s++) {
			if (s == mark) {
				fputs(dflt, f);
				s++;
			} else {
				fputc(*s, f);
				if (*s == '\n')
					fprintf(f, "%26s", "");
			}
		}
		fprintf(f, "%s%s\n", !mark && *dflt ? " " : "", mark ? "" : dflt);
	}
}

void mbfs_options_help(FILE *f, const char *prog)
{
	fprintf(f,
"usage: %s [URL] MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
"       %s status MOUNTPOINT [--watch] [--interval SECONDS]\n"
"\n"
"Mount a Metabase instance: collections, cards, dashboards and tables as files;\n"
"or, with -o backend=mode,workspace=NAME, a Mode workspace (https://app.mode.com):\n"
"data sources, collections, reports and their queries' results as files.\n"
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
"  MBFS_MODE_TOKEN         Mode: API token (HTTP Basic user), backend=mode\n"
"  MBFS_MODE_SECRET        Mode: API secret (HTTP Basic password)\n",
		prog, prog);
	help_rows(f, S_CREDS);
	fputs(
"  (none of these, stdin a terminal: mbfs asks, the password without echo)\n"
"  Preference: API key, then session token, then username + password.\n"
"  Secret files must be owned by you and not readable by group or others\n"
"  (chmod 600), else mbfs refuses to start; MBFS_API_KEY, MBFS_SESSION,\n"
"  MBFS_PASSWORD, MBFS_MODE_TOKEN and MBFS_MODE_SECRET are erased from the\n"
"  daemon's environment once read. Mode needs both its token and secret\n"
"  (never prompted for); a 401 is EACCES, asked again after error_ttl.\n"
"  Sessions from logins are cached in <cache_dir>/sessions/ (0700/0600) and\n"
"  reused by the next mount. A refused login is never repeated with the same\n"
"  password (EACCES until the password file changes or a remount).\n"
"\n"
"Environment and files:\n"
"  MBFS_URL                server URL when not given as an argument\n"
"  MBFS_LOG_LEVEL          log level when -o log_level= is not given\n"
"  XDG_CONFIG_HOME         config file $XDG_CONFIG_HOME/mbfs/config [~/.config]:\n"
"                          `key = value` lines: url, username, password, api_key,\n"
"                          session, mode_token, mode_secret and every -o name\n"
"                          below; refused whole\n"
"                          unless owned by you and not writable by group or\n"
"                          others, and (when it holds secrets) mode 0600\n"
"  XDG_CACHE_HOME          spool and session cache $XDG_CACHE_HOME/mbfs [~/.cache]\n"
"  Relative paths (cache_dir, cafile, *_file) are taken from the current\n"
"  directory at mount time.\n"
"\n"
"Options (default in brackets):\n", f);
	help_rows(f, S_OPTIONS);
	fputs(
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
"\n", f);
	help_rows(f, S_PROCESS);
	fputs(
"\n"
"fstab: URL MOUNTPOINT fuse.mbfs _netdev,noauto,api_key_file=/etc/mbfs/key 0 0\n"
"\n"
"status MOUNTPOINT       the mount at a glance: server, user, auth state,\n"
"                        running exports with progress, queued ones, the\n"
"                        last errors, cache use (read from .mbfs/)\n"
"  --watch               redraw every --interval SECONDS (1) until Ctrl-C\n"
"MOUNTPOINT/.mbfs/metrics holds the counters in the Prometheus text format.\n"
"See mbfs(1).\n", f);
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
			"connect_timeout=%g stall_timeout=%ld%s%s%s%s%s%s\n",
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
			o->public_only ? " public" : "",
			o->mode ? " backend=mode" : "",
			o->mode_run_new ? " mode_run=new" : "");
}

void mbfs_options_free(struct mbfs_options *o)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *d = &opt_table[i];
		if (d->kind == K_STRING || d->kind == K_PATH ||
		    d->kind == K_LEVEL || d->kind == K_URL)
			free(*(char **)((char *)o + d->off));
	}
	free(o->mountpoint);
	for (int i = 0; i < o->n_formats; i++)
		free(o->formats[i]);
	for (int i = 0; i < o->n_fuse_passthrough; i++)
		free(o->fuse_passthrough[i]);
	free(o->fuse_passthrough);
	memset(o, 0, sizeof *o);
}
