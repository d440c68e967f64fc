/*
 * fuzz_options_env.h — what the option and URL fuzz targets share: a
 * hermetic environment and a parse that checks what "mount" promises.
 *
 * The environment is set once: HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME
 * point into a private temporary directory, MBFS_* are unset. stdout and
 * stderr (the FILE *s options.c prints its one-line errors and --help to)
 * go to /dev/null unless MBFS_FUZZ_VERBOSE is set; sanitizer reports and
 * libFuzzer's own output are written to file descriptor 2 directly and are
 * not affected.
 */
#ifndef MBFS_FUZZ_OPTIONS_ENV_H
#define MBFS_FUZZ_OPTIONS_ENV_H

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "fuzz_util.h"
#include "options.h"
#include "session.h"

static char fuzz_home[256];
static char fuzz_config_path[512];

static void fuzz_options_setup(void)
{
	static const char *const vars[] = {
		"MBFS_URL", "MBFS_USERNAME", "MBFS_API_KEY_FILE",
		"MBFS_PASSWORD_FILE", "MBFS_SESSION_FILE", "MBFS_LOG_LEVEL",
		"MBFS_API_KEY", "MBFS_PASSWORD", "MBFS_SESSION",
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_home, sizeof fuzz_home, "%s/mbfs-fuzz-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_home))
		abort();
	char cfg[400], dir[400];
	snprintf(cfg, sizeof cfg, "%s/config", fuzz_home);
	snprintf(dir, sizeof dir, "%s/config/mbfs", fuzz_home);
	mkdir(cfg, 0700);
	mkdir(dir, 0700);
	snprintf(fuzz_config_path, sizeof fuzz_config_path, "%s/config", dir);
	setenv("HOME", fuzz_home, 1);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	snprintf(cfg, sizeof cfg, "%s/cache", fuzz_home);
	setenv("XDG_CACHE_HOME", cfg, 1);
	if (!getenv("MBFS_FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			stdout = null;
			stderr = null;
		}
	}
}

static int fuzz_abs_or_null(const char *p)
{
	return !p || p[0] == '/';
}

/* Parse argv and check what a successful parse promises (options.h),
 * then build what session.c would give libfuse from it; frees everything
 * whatever the outcome. */
static enum mbfs_options_result fuzz_parse(int argc, char **argv)
{
	struct mbfs_options o;
	enum mbfs_options_result r = mbfs_options_parse(argc, argv, &o);
	if (r == MBFS_OPTIONS_RUN) {
		FUZZ_ASSERT(o.url && o.mountpoint && o.cache_dir);
		char why[2048];
		FUZZ_ASSERT(mbfs_options_url_check(o.url, why, sizeof why));
		size_t ul = strlen(o.url);
		FUZZ_ASSERT(ul > 0 && ul <= MBFS_URL_MAX && o.url[ul - 1] != '/');
		FUZZ_ASSERT(strchr(o.url, ',') == NULL);
		FUZZ_ASSERT(o.mountpoint[0] == '/' && o.cache_dir[0] == '/');
		FUZZ_ASSERT(fuzz_abs_or_null(o.api_key_file) &&
			    fuzz_abs_or_null(o.password_file) &&
			    fuzz_abs_or_null(o.session_file) &&
			    fuzz_abs_or_null(o.cafile));
		FUZZ_ASSERT(o.cache_max >= MBFS_CACHE_MAX_MIN);
		FUZZ_ASSERT(o.n_formats >= 1 && o.n_formats <= MBFS_MAX_FORMATS);
		FUZZ_ASSERT(o.max_exports >= 1 && o.max_exports <= 256);
		FUZZ_ASSERT(o.retries >= 0 && o.retries <= 20);
		FUZZ_ASSERT(o.umask <= 0777);
		FUZZ_ASSERT(o.meta_ttl >= 0 && o.meta_ttl <= MBFS_TTL_MAX &&
			    o.result_ttl >= 0 && o.result_ttl <= MBFS_TTL_MAX &&
			    o.error_ttl >= 0 && o.error_ttl <= MBFS_TTL_MAX);
		FUZZ_ASSERT(o.connect_timeout >= 0.1 && o.connect_timeout <= 3600);
		FUZZ_ASSERT(o.stall_timeout >= 1 && o.stall_timeout <= 86400);
		for (int i = 0; i < o.n_fuse_passthrough; i++)
			FUZZ_ASSERT(o.fuse_passthrough[i] != NULL);
		char small[16], big[8192];
		FUZZ_ASSERT(mbfs_options_describe(&o, small, sizeof small) >= 0);
		FUZZ_ASSERT(fuzz_terminated(small, sizeof small));
		FUZZ_ASSERT(mbfs_options_describe(&o, big, sizeof big) >= 0);
		(void)mbfs_options_has_format(&o, "xlsx");
		/* libfuse's arguments: the program, at most one -o list, and
		 * never the URL or the mount point from the parser */
		struct fuse_args fa;
		FUZZ_ASSERT(mbfs_session_fuse_args(&o, &fa) == 0);
		FUZZ_ASSERT(fa.argc >= 1 && strcmp(fa.argv[0], "mbfs") == 0);
		for (int i = 1; i < fa.argc; i++)
			FUZZ_ASSERT(fa.argv[i][0] == '-' ||
				    strcmp(fa.argv[i - 1], "-o") == 0);
		fuse_opt_free_args(&fa);
	}
	mbfs_options_free(&o);
	return r;
}

#endif
