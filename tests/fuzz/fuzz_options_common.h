/*
 * fuzz_options_common.h — what the option and URL fuzz targets share.
 *
 * options.c keeps the config file in a static, loaded once per process,
 * and validates URLs in a static function. To reach both from a fuzzer
 * that runs millions of inputs in one process, the targets include
 * options.c itself (its object in mbfs_core_fuzz is then not linked: every
 * symbol it defines is already defined here) and reset the static config
 * between inputs. If options.c renames that static, fuzz_config_reset()
 * below is the one place to follow it.
 *
 * The environment is made hermetic once: HOME, XDG_CONFIG_HOME and
 * XDG_CACHE_HOME point into a private temporary directory, MBFS_* are
 * unset. stdout and stderr (the FILE *s options.c prints its one-line
 * errors and --help to) go to /dev/null unless MBFS_FUZZ_VERBOSE is set;
 * sanitizer reports and libFuzzer's own output are written to file
 * descriptor 2 directly and are not affected.
 */
#ifndef MBFS_FUZZ_OPTIONS_COMMON_H
#define MBFS_FUZZ_OPTIONS_COMMON_H

#include "../../src/options.c"

#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

static char fuzz_home[256];
static char fuzz_config_path[512];

static void fuzz_config_reset(void)
{
	for (int i = 0; i < config.n; i++) {
		free(config.keys[i]);
		free(config.vals[i]);
	}
	memset(&config, 0, sizeof config);
}

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

/* Write (or remove, when text is NULL) the config file with mode, and make
 * options.c read it again on its next lookup. */
static void fuzz_config_write(const char *text, size_t len, mode_t mode)
{
	fuzz_config_reset();
	unlink(fuzz_config_path);
	if (!text)
		return;
	int fd = open(fuzz_config_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	fchmod(fd, mode);
	close(fd);
}

/* Parse argv and check what a successful parse promises; frees all. */
static enum mbfs_options_result fuzz_parse(int argc, char **argv)
{
	struct mbfs_options o;
	struct fuse_args fa;
	enum mbfs_options_result r = mbfs_options_parse(argc, argv, &o, &fa);
	if (r == MBFS_OPTIONS_RUN) {
		FUZZ_ASSERT(o.url && o.mountpoint && o.cache_dir);
		size_t ul = strlen(o.url);
		FUZZ_ASSERT(ul > 0 && o.url[ul - 1] != '/');
		FUZZ_ASSERT(strncmp(o.url, "http://", 7) == 0 ||
			    strncmp(o.url, "https://", 8) == 0);
		FUZZ_ASSERT(!url_has_userinfo(o.url));
		for (const char *c = o.url; *c; c++)
			FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f);
		FUZZ_ASSERT(o.n_formats >= 1 && o.n_formats <= MBFS_MAX_FORMATS);
		FUZZ_ASSERT(o.max_exports >= 1 && o.max_exports <= 256);
		FUZZ_ASSERT(o.retries >= 0 && o.retries <= 20);
		FUZZ_ASSERT(o.umask <= 0777);
		FUZZ_ASSERT(o.meta_ttl >= 0 && o.result_ttl >= 0 &&
			    o.error_ttl >= 0 && o.connect_timeout >= 0);
		FUZZ_ASSERT(o.n_fuse_passthrough <= MBFS_MAX_PASSTHROUGH);
		char small[16], big[4096];
		FUZZ_ASSERT(mbfs_options_describe(&o, small, sizeof small) >= 0);
		FUZZ_ASSERT(fuzz_terminated(small, sizeof small));
		FUZZ_ASSERT(mbfs_options_describe(&o, big, sizeof big) >= 0);
		(void)mbfs_options_has_format(&o, "xlsx");
		fuse_opt_free_args(&fa);
	}
	mbfs_options_free(&o);
	return r;
}

#endif
