/*
 * options.h — every mount option, its default and where it comes from.
 *
 * Sources, later ones winning: built-in defaults, the config file
 * ($XDG_CONFIG_HOME/mbfs/config, `key = value` lines: config.h), the environment
 * (MBFS_URL ...), the command line (`mbfs [URL] MOUNTPOINT -o ...`).
 * Secrets are never taken from argv: only from the environment, from files
 * named by options, or from the config file (which must then not be group-
 * or world-readable).
 *
 * Every option is one row of the table in options.c (name, field, kind,
 * default, range, environment variable, config key, --help text): --help,
 * the config file keys and the defaults all come from it. libfuse is not
 * seen here: the options meant for it are kept as strings
 * (fuse_passthrough) and fuse/session.c hands them over.
 *
 * Ownership: struct mbfs_options owns every string in it; free with
 * mbfs_options_free(). Parsed once at start-up in main's thread; read-only
 * afterwards, so any thread may read it without a lock. Nothing here
 * blocks (the config file is a local regular file, read once).
 */
#ifndef MBFS_OPTIONS_H
#define MBFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MBFS_MAX_FORMATS 3

/* Limits, documented in --help and mbfs(1). */
#define MBFS_URL_MAX 1024                     /* bytes of the server URL */
#define MBFS_CACHE_MAX_MIN ((uint64_t)1 << 20) /* smallest cache_max, 1 MiB */
#define MBFS_TTL_MAX 1e9                      /* seconds, for the *_ttl */

struct mbfs_options {
	char *url;                 /* server base URL, no trailing slash;
				    * checked by mbfs_options_url_check */
	char *mountpoint;          /* absolute */

	/* Every path below is absolute (a relative one is resolved against
	 * the current directory at parse time: the daemon runs in /). */
	/* credentials: files named on the command line or in the config */
	char *api_key_file;
	char *password_file;
	char *session_file;
	char *username;            /* not secret; from env/config/-o username= */

	/* namespace */
	char *formats[MBFS_MAX_FORMATS]; /* "csv", "json", "xlsx" */
	int n_formats;
	bool format_rows;
	/* -o public: no credentials are read or sent; only public/ (public
	 * links) and .mbfs/ exist, and no login is ever attempted */
	bool public_only;

	/* the backend (DESIGN.md §10): -o backend=mode mounts a Mode
	 * workspace (-o workspace=NAME) instead of a Metabase instance */
	bool mode;
	char *workspace;
	bool mode_run_new;         /* -o mode_run=new: a new run per result */
	char *mode_token_file;     /* secret files for Mode's credentials */
	char *mode_secret_file;

	/* freshness, seconds */
	double meta_ttl;
	double result_ttl;
	double error_ttl;
	bool stat_cached;          /* -o stat=cached: stat never materializes */
	bool stream;               /* -o stream: open at once, reads wait for bytes */
	int64_t row_cap;           /* the server's download row cap */

	/* cache */
	char *cache_dir;           /* $XDG_CACHE_HOME/mbfs by default, else
				    * ~/.cache/mbfs (HOME, else the passwd
				    * entry); never a shared directory */
	uint64_t cache_max;        /* bytes, >= MBFS_CACHE_MAX_MIN */

	/* transport */
	char *cafile;
	bool insecure;
	double connect_timeout;    /* seconds, 0.1 .. 3600 */
	long stall_timeout;        /* seconds without a byte, 1 .. 86400 */
	int max_exports;
	int retries;

	/* ownership and permissions */
	uid_t uid;
	gid_t gid;
	mode_t umask;

	/* process */
	bool foreground;
	bool debug;
	bool singlethread;
	char *log_level;

	bool show_version;         /* --version was asked for */
	bool show_help;            /* --help was asked for (and printed) */

	/* test-only, set only in the mbfs-testhooks binary (MBFS_TEST_HOOKS):
	 * report size 0 for data files before open; with
	 * test_zero_size=always also after open (the kernel then reads nothing) */
	bool test_zero_size;
	bool test_zero_size_always;

	/* the options that are not mbfs's, for libfuse, in the order given:
	 * an -o element as its text after the split at ',' and the '\\'
	 * escapes (allow_other, fsname=NAME, ro, _netdev ...), any other
	 * argument starting with '-' as given (--x). session.c drops the
	 * fstab/mount(8) ones (_netdev, noauto, x-* ...) and checks the rest. */
	char **fuse_passthrough;
	int n_fuse_passthrough;
};

enum mbfs_options_result {
	MBFS_OPTIONS_RUN,      /* mount */
	MBFS_OPTIONS_EXIT_OK,  /* --help / --version printed */
	MBFS_OPTIONS_ERROR,    /* message printed to stderr */
};

/*
 * Parse argv into opts (argv as libfuse's fuse_opt reads it: "-o a,b" and
 * "-oa,b" with '\\' escapes, "--" ends the options). On MBFS_OPTIONS_RUN
 * opts holds every value, checked and inside its range, and the options
 * meant for libfuse in opts->fuse_passthrough (checked by
 * mbfs_session_check_options). On MBFS_OPTIONS_ERROR one line was printed
 * to stderr and opts holds nothing; on MBFS_OPTIONS_EXIT_OK --help was
 * printed (show_help) or --version asked for (show_version). Free opts
 * with mbfs_options_free() whatever the result.
 */
enum mbfs_options_result mbfs_options_parse(int argc, char **argv,
					    struct mbfs_options *opts);

/* Is key one of the secrets (password, api_key, session: never accepted
 * on the command line; the config file must be private to hold one)? */
bool mbfs_options_key_is_secret(const char *key);

/* Check a server URL: http[s]://host[:port][/path], at most MBFS_URL_MAX
 * bytes, no user:password@, no query or fragment, and a path of URL
 * characters other than ',' (it would split -o fsname=URL into mount
 * options) and '\\'. On false, why (whysz) holds one line without
 * "mbfs: " (the URL escaped, except when it holds credentials). Pure. */
bool mbfs_options_url_check(const char *url, char *why, size_t whysz);

/* A server URL given in its API form ("https://host/api", ".../api/",
 * Airbyte's instance_api_url) names the same server as without: drop
 * trailing slashes, then one trailing "/api" and the slashes before it,
 * in place. "http://host/api" becomes "http://host". */
void mbfs_options_url_normalize(char *url);

/* Write the --help text to f. */
void mbfs_options_help(FILE *f, const char *prog);

/* Render the effective options (no secrets) for .mbfs/status. */
int mbfs_options_describe(const struct mbfs_options *opts, char *out,
			  size_t outsz);

bool mbfs_options_has_format(const struct mbfs_options *opts, const char *fmt);

void mbfs_options_free(struct mbfs_options *opts);

#endif
