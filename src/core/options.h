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
 * Ownership: struct mbfs_options owns every string in it; free with
 * mbfs_options_free(). Parsed once at start-up in main's thread; read-only
 * afterwards, so any thread may read it without a lock.
 */
#ifndef MBFS_OPTIONS_H
#define MBFS_OPTIONS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MBFS_MAX_FORMATS 3
#define MBFS_MAX_PASSTHROUGH 32

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

	/* test-only: report size 0 for data files before open; with
	 * test_zero_size=always also after open (the kernel then reads nothing) */
	bool test_zero_size;
	bool test_zero_size_always;

	/* options passed on to libfuse (allow_other, fsname=, --x ...), as given */
	char *fuse_passthrough[MBFS_MAX_PASSTHROUGH];
	int n_fuse_passthrough;
};

enum mbfs_options_result {
	MBFS_OPTIONS_RUN,      /* mount */
	MBFS_OPTIONS_EXIT_OK,  /* --help / --version printed */
	MBFS_OPTIONS_ERROR,    /* message printed to stderr */
};

/*
 * Parse argv into opts. On MBFS_OPTIONS_RUN, *fuse_args holds what libfuse
 * should see (program name and the pass-through -o options such as
 * allow_other, fsname, default_permissions); the caller frees it with
 * fuse_opt_free_args().
 */
enum mbfs_options_result mbfs_options_parse(int argc, char **argv,
					    struct mbfs_options *opts,
					    struct fuse_args *fuse_args);

/*
 * Check, before anything is started, that libfuse accepts every pass-through
 * option (a trial session per option, libfuse's own message silenced).
 * Prints one line naming the first unknown option, with a hint; false then.
 */
bool mbfs_options_check_fuse(const struct mbfs_options *opts, const char *prog);

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
