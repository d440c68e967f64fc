/*
 * test_options.c — unit tests of options.c and config.c: argv parsing
 * (positionals, URL normalisation, -o values and their validation,
 * defaults, refused secrets, pass-through of libfuse options, as
 * session.c hands them to libfuse), the environment and the config file
 * (private vs readable, precedence), --help from the option table.
 *
 * HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME point into a mkdtemp()
 * directory. config.c reads the config file once per process, so every
 * config scenario runs in a forked child, before the parent ever parses.
 */
#include "check.h"
#include "config.h"
#include "options.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <fuse_lowlevel.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *g_tmp; /* the test's private directory */

/* ---- helpers ---------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void clean_env(void)
{
	static const char *const vars[] = {
		"MBFS_URL", "MBFS_USERNAME", "MBFS_API_KEY_FILE",
		"MBFS_PASSWORD_FILE", "MBFS_SESSION_FILE", "MBFS_LOG_LEVEL",
		"MBFS_API_KEY", "MBFS_PASSWORD", "MBFS_SESSION",
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

/* Silence stderr around expected errors (keeps the test log readable). */
static int saved_stderr = -1;

static void quiet(bool on)
{
	fflush(stderr);
	if (on) {
		saved_stderr = dup(2);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 2);
			close(devnull);
		}
	} else if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* Parse a NULL-terminated list of arguments (argv[0] is added); when the
 * parse says "mount", *fa is what session.c gives libfuse from them. */
static enum mbfs_options_result parse(struct mbfs_options *o,
				      struct fuse_args *fa, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"mbfs";
	va_list ap;
	va_start(ap, fa);
	const char *a;
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	*fa = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	enum mbfs_options_result r = mbfs_options_parse(argc, argv, o);
	if (r == MBFS_OPTIONS_RUN && mbfs_session_fuse_args(o, fa) != 0) {
		fprintf(stderr, "mbfs_session_fuse_args failed\n");
		exit(2);
	}
	return r;
}

static void done(struct mbfs_options *o, struct fuse_args *fa)
{
	fuse_opt_free_args(fa);
	mbfs_options_free(o);
}

/* Expect a parse error (nothing to free afterwards). */
static bool parse_fails(const char *a, const char *b, const char *c,
			const char *d)
{
	struct mbfs_options o;
	struct fuse_args fa;
	quiet(true);
	enum mbfs_options_result r = parse(&o, &fa, a, b, c, d, NULL);
	quiet(false);
	if (r == MBFS_OPTIONS_RUN)
		done(&o, &fa);
	return r == MBFS_OPTIONS_ERROR;
}

/* Does libfuse's argument list mention s? */
static bool fuse_args_have(const struct fuse_args *fa, const char *s)
{
	for (int i = 0; i < fa->argc; i++)
		if (fa->argv[i] && strstr(fa->argv[i], s))
			return true;
	return false;
}

/* Is got[0..n) the NULL-terminated list want? */
static bool same_list(char *const *got, int n, const char *const *want)
{
	int i = 0;
	for (; i < n && want[i]; i++)
		if (!got[i] || strcmp(got[i], want[i]) != 0)
			break;
	if (i == n && !want[i])
		return true;
	fprintf(stderr, "  list differs at %d: \"%s\"\n", i,
		i < n && got[i] ? got[i] : "(end)");
	return false;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Make <g_tmp>/<name>/mbfs/config with text and mode; returns the dir to
 * use as XDG_CONFIG_HOME (static buffer). */
static const char *make_config(const char *name, const char *text, mode_t mode)
{
	static char dir[4096];
	char p[4200];
	snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/mbfs", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/mbfs/config", dir);
	write_file(p, text, mode);
	return dir;
}

static void in_child(const char *what, void (*fn)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		CHECK(false);
		return;
	}
	if (pid == 0) {
		fn();
		fflush(stderr);
		exit(check_fail_count ? 1 : 0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok)
		fprintf(stderr, "  (in the child testing %s)\n", what);
	CHECK(ok);
}

/* ---- config file scenarios (children) --------------------------------- */

static const char *CONFIG_TEXT =
	"# mbfs config\n"
	"; another comment\n"
	"\n"
	"url = http://from-config:3000/\n"
	"  username=alice  \n"
	"password = hunter2\n"
	"api_key = 'mb_secretkey'\n"
	"session = \"abc-def\"\n"
	"formats = xlsx:csv\n"
	"this line has no equals sign\n";

/* A readable config that holds secrets is refused whole (ssh's rule):
 * not even its URL is used. */
static void child_readable_config(void)
{
	setenv("XDG_CONFIG_HOME", make_config("cfg644", CONFIG_TEXT, 0644), 1);
	bool refused = false;
	CHECK(mbfs_config_get("password", &refused) == NULL);
	CHECK(refused);
	refused = false;
	CHECK(mbfs_config_get("url", &refused) == NULL);
	CHECK(refused);
	const char *why = mbfs_config_refusal();
	CHECK(why && strstr(why, "/cfg644/mbfs/config holds a password but is readable by group or others (mode 0644): refused whole; run chmod 600 "));
	CHECK(why && strstr(why, "run chmod 600 ") &&
	      strcmp(strstr(why, "run chmod 600 ") + 14,
		     mbfs_config_path()) == 0);
	struct mbfs_options o;
	struct fuse_args fa;
	quiet(true);
	CHECK_INT(parse(&o, &fa, "/mnt/mb", NULL), MBFS_OPTIONS_ERROR);
	/* also with everything on the command line: the file is wrong */
	CHECK_INT(parse(&o, &fa, "http://h", "/mnt/mb", NULL), MBFS_OPTIONS_ERROR);
	quiet(false);
	/* --help still works */
	fflush(stdout);
	int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	close(devnull);
	enum mbfs_options_result r = parse(&o, &fa, "--help", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK_INT(r, MBFS_OPTIONS_EXIT_OK);
	mbfs_options_free(&o);
}

/* A readable config without secrets is fine: URL, user name, formats. */
static void child_readable_config_without_secrets(void)
{
	setenv("XDG_CONFIG_HOME",
	       make_config("cfg644b",
			   "url = http://from-config:3000/\n"
			   "  username=alice  \n"
			   "formats = xlsx:csv\n"
			   "this line has no equals sign\n",
			   0644),
	       1);
	CHECK(mbfs_config_refusal() == NULL);
	bool refused = true;
	CHECK_STR(mbfs_config_get("username", &refused), "alice");
	CHECK(!refused);
	CHECK_STR(mbfs_config_get("url", NULL), "http://from-config:3000/");
	refused = true;
	CHECK(mbfs_config_get("cafile", &refused) == NULL);
	CHECK(!refused);
	CHECK(mbfs_config_get("this line has no equals sign", NULL) == NULL);

	/* the URL, user name and formats come from the config */
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "/mnt/mb", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "http://from-config:3000");
	CHECK_STR(o.mountpoint, "/mnt/mb");
	CHECK_STR(o.username, "alice");
	CHECK_INT(o.n_formats, 2);
	CHECK_STR(o.formats[0], "xlsx");
	CHECK_STR(o.formats[1], "csv");
	done(&o, &fa);

	/* precedence: environment over config, command line over both */
	setenv("MBFS_URL", "https://from-env/", 1);
	setenv("MBFS_USERNAME", "bob", 1);
	CHECK_INT(parse(&o, &fa, "/mnt/mb", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "https://from-env");
	CHECK_STR(o.username, "bob");
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://from-cli", "/mnt/mb", "-o",
			"username=carol,formats=json", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "http://from-cli");
	CHECK_STR(o.username, "carol");
	CHECK_INT(o.n_formats, 1);
	CHECK_STR(o.formats[0], "json");
	done(&o, &fa);
	unsetenv("MBFS_URL");
	unsetenv("MBFS_USERNAME");
}

static void child_private_config(void)
{
	setenv("XDG_CONFIG_HOME", make_config("cfg600", CONFIG_TEXT, 0600), 1);
	CHECK(mbfs_config_refusal() == NULL);
	bool refused = true;
	CHECK_STR(mbfs_config_get("password", &refused), "hunter2");
	CHECK(!refused);
	CHECK_STR(mbfs_config_get("api_key", &refused), "mb_secretkey");
	CHECK(!refused);
	CHECK_STR(mbfs_config_get("session", &refused), "abc-def");
	CHECK_STR(mbfs_config_get("username", NULL), "alice");
}

static void child_group_readable_config(void)
{
	setenv("XDG_CONFIG_HOME", make_config("cfg640", CONFIG_TEXT, 0640), 1);
	bool refused = false;
	CHECK(mbfs_config_get("password", &refused) == NULL);
	CHECK(refused);
	const char *why = mbfs_config_refusal();
	CHECK(why && strstr(why, "holds a password but is readable by group or others (mode 0640)"));
}

/* Writable by group or others: refused whole, secrets or not. */
static void child_writable_config(void)
{
	setenv("XDG_CONFIG_HOME",
	       make_config("cfg664", "url = http://evil.example\ninsecure\n", 0664), 1);
	const char *why = mbfs_config_refusal();
	CHECK(why && strstr(why, "/cfg664/mbfs/config is writable by group or others (mode 0664): refused whole; run chmod go-w /"));
	CHECK(mbfs_config_get("url", NULL) == NULL);
	struct mbfs_options o;
	struct fuse_args fa;
	quiet(true);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", NULL), MBFS_OPTIONS_ERROR);
	quiet(false);
}

static void child_world_writable_config(void)
{
	setenv("XDG_CONFIG_HOME", make_config("cfg602", "url = http://evil\n", 0602), 1);
	const char *why = mbfs_config_refusal();
	CHECK(why && strstr(why, "is writable by group or others (mode 0602)"));
}

/* Owned by someone else (needs root to arrange). */
static void child_foreign_config(void)
{
	const char *dir = make_config("cfgforeign", "url = http://h\n", 0600);
	char p[4200];
	snprintf(p, sizeof p, "%s/mbfs/config", dir);
	if (geteuid() != 0 || chown(p, 65534, 65534) != 0) {
		fprintf(stderr, "  (skipped: a config owned by someone else needs root)\n");
		return;
	}
	setenv("XDG_CONFIG_HOME", dir, 1);
	const char *why = mbfs_config_refusal();
	char want[200];
	snprintf(want, sizeof want,
		 "is owned by uid 65534, not by you (uid %u): refused whole; run chown %u ",
		 (unsigned)geteuid(), (unsigned)geteuid());
	CHECK(why && strstr(why, want));
}

/* A directory (or a FIFO) where the file should be: refused, no hang. */
static void child_config_not_a_file(void)
{
	char dir[4200], p[4300];
	snprintf(dir, sizeof dir, "%s/cfgdir", g_tmp);
	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/mbfs", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/mbfs/config", dir);
	CHECK(mkfifo(p, 0600) == 0);
	setenv("XDG_CONFIG_HOME", dir, 1);
	const char *why = mbfs_config_refusal();
	CHECK(why && strstr(why, "is not a regular file: refused"));
}

/* Without HOME or XDG_CACHE_HOME the cache is in the user's home from
 * the password database: never a shared directory such as /tmp. */
static void child_no_home(void)
{
	unsetenv("HOME");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("XDG_CONFIG_HOME");
	struct mbfs_options o;
	struct fuse_args fa;
	struct passwd *pw = getpwuid(getuid());
	quiet(true);
	enum mbfs_options_result r = parse(&o, &fa, "http://h", "/m", NULL);
	quiet(false);
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/') {
		CHECK_INT(r, MBFS_OPTIONS_RUN);
		if (r != MBFS_OPTIONS_RUN)
			return;
		char want[4200];
		snprintf(want, sizeof want, "%s/.cache/mbfs", pw->pw_dir);
		CHECK_STR(o.cache_dir, want);
		done(&o, &fa);
	} else {
		CHECK_INT(r, MBFS_OPTIONS_ERROR);
	}
	/* a relative XDG_CACHE_HOME is ignored (the XDG rule) */
	setenv("HOME", g_tmp, 1);
	setenv("XDG_CACHE_HOME", "relative/cache", 1);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", NULL), MBFS_OPTIONS_RUN);
	char want[4200];
	snprintf(want, sizeof want, "%s/.cache/mbfs", g_tmp);
	CHECK_STR(o.cache_dir, want);
	done(&o, &fa);
}

static void child_home_fallback(void)
{
	/* without XDG_CONFIG_HOME: $HOME/.config/mbfs/config */
	char home[4096], p[4200];
	snprintf(home, sizeof home, "%s/home2", g_tmp);
	mkdir(home, 0700);
	snprintf(p, sizeof p, "%s/.config", home);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/.config/mbfs", home);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/.config/mbfs/config", home);
	write_file(p, "url=https://home-config\n", 0600);
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	CHECK_STR(mbfs_config_get("url", NULL), "https://home-config");
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "/mnt", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "https://home-config");
	done(&o, &fa);
}

/* The help text and options.h: the config file takes "the -o names" too
 * (sources: defaults < config < environment < command line). */
static void child_config_options(void)
{
	setenv("XDG_CONFIG_HOME",
	       make_config("cfgopts",
			   "url = http://h\n"
			   "meta_ttl = 5\n"
			   "result_ttl = 7\n"
			   "error_ttl = 3\n"
			   "cache_max = 10M\n"
			   "max_exports = 2\n"
			   "umask = 027\n",
			   0600),
	       1);
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "/mnt", NULL), MBFS_OPTIONS_RUN);
	CHECK(o.meta_ttl == 5);
	CHECK(o.result_ttl == 7);
	CHECK(o.error_ttl == 3);
	CHECK_INT(o.cache_max, 10 * 1024 * 1024);
	CHECK_INT(o.max_exports, 2);
	CHECK_INT(o.umask, 027);
	done(&o, &fa);
	/* ... and the command line still wins */
	CHECK_INT(parse(&o, &fa, "/mnt", "-o", "meta_ttl=9", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.meta_ttl == 9);
	done(&o, &fa);
}

/* ---- argv (parent, no config file) ------------------------------------ */

static void test_basic_and_defaults(void)
{
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "http://h/", "/mnt", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "http://h");
	CHECK_STR(o.mountpoint, "/mnt");
	CHECK(o.meta_ttl == 60);
	CHECK(o.result_ttl == 60);
	CHECK(o.error_ttl == 10);
	CHECK(o.connect_timeout == 10);
	CHECK_INT(o.cache_max, UINT64_C(1) << 30);
	CHECK_INT(o.max_exports, 4);
	CHECK_INT(o.retries, 3);
	CHECK_INT(o.umask, 0022);
	CHECK_INT(o.uid, getuid());
	CHECK_INT(o.gid, getgid());
	CHECK_INT(o.n_formats, 2);
	CHECK_STR(o.formats[0], "csv");
	CHECK_STR(o.formats[1], "json");
	CHECK(mbfs_options_has_format(&o, "csv"));
	CHECK(mbfs_options_has_format(&o, "json"));
	CHECK(!mbfs_options_has_format(&o, "xlsx"));
	CHECK(!o.format_rows);
	CHECK(!o.stat_cached);
	CHECK(!o.insecure);
	CHECK(!o.foreground && !o.debug && !o.singlethread);
	CHECK(!o.show_version);
	CHECK(o.username == NULL && o.api_key_file == NULL &&
	      o.password_file == NULL && o.session_file == NULL &&
	      o.cafile == NULL && o.log_level == NULL);
	char want_cache[4200];
	snprintf(want_cache, sizeof want_cache, "%s/cache/mbfs", g_tmp);
	CHECK_STR(o.cache_dir, want_cache);
	CHECK(fa.argc >= 1);
	CHECK_STR(fa.argv[0], "mbfs");
	CHECK(!fuse_args_have(&fa, "http://h"));
	CHECK(!fuse_args_have(&fa, "/mnt"));
	char d[1024];
	mbfs_options_describe(&o, d, sizeof d);
	CHECK(strstr(d, "formats=csv:json ") != NULL);
	CHECK(strstr(d, "meta_ttl=60 ") != NULL);
	CHECK(strstr(d, "umask=022") != NULL);
	CHECK(strstr(d, "cache_max=1073741824 ") != NULL);
	done(&o, &fa);

	/* several trailing slashes, https */
	CHECK_INT(parse(&o, &fa, "https://mb.example.com/base///", "/m", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "https://mb.example.com/base");
	done(&o, &fa);

	/* URL from the environment when only a mount point is given */
	setenv("MBFS_URL", "https://env.example/", 1);
	CHECK_INT(parse(&o, &fa, "/mnt/x", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "https://env.example");
	CHECK_STR(o.mountpoint, "/mnt/x");
	done(&o, &fa);
	/* ... the command line wins over it */
	CHECK_INT(parse(&o, &fa, "http://cli", "/mnt/x", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "http://cli");
	done(&o, &fa);
	unsetenv("MBFS_URL");
	CHECK(parse_fails("/mnt/x", NULL, NULL, NULL)); /* no URL anywhere */

	/* other environment sources */
	setenv("MBFS_USERNAME", "env-user", 1);
	setenv("MBFS_API_KEY_FILE", "/run/key", 1);
	setenv("MBFS_LOG_LEVEL", "debug", 1);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.username, "env-user");
	CHECK_STR(o.api_key_file, "/run/key");
	CHECK_STR(o.log_level, "debug");
	done(&o, &fa);
	setenv("MBFS_LOG_LEVEL", "chatty", 1);
	CHECK(parse_fails("http://h", "/m", NULL, NULL));
	clean_env();
}

static void test_formats(void)
{
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "formats=csv:json:xlsx",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.n_formats, 3);
	CHECK_STR(o.formats[0], "csv");
	CHECK_STR(o.formats[1], "json");
	CHECK_STR(o.formats[2], "xlsx");
	CHECK(mbfs_options_has_format(&o, "xlsx"));
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "formats=xlsx", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.n_formats, 1);
	CHECK_STR(o.formats[0], "xlsx");
	done(&o, &fa);
	/* duplicates collapse; '+' also separates */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"formats=json+csv:json:csv", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.n_formats, 2);
	CHECK_STR(o.formats[0], "json");
	CHECK_STR(o.formats[1], "csv");
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "formats=csv:pdf"));
	CHECK(parse_fails("http://h", "/m", "-o", "formats=CSV"));
	CHECK(parse_fails("http://h", "/m", "-o", "formats=:"));
	CHECK(parse_fails("http://h", "/m", "-o", "formats=sql"));
}

static void test_secrets_refused(void)
{
	CHECK(parse_fails("http://h", "/m", "-o", "password=x"));
	CHECK(parse_fails("http://h", "/m", "-o", "api_key=mb_xyz"));
	CHECK(parse_fails("http://h", "/m", "-o", "session=abc"));
	CHECK(parse_fails("http://h", "/m", "-o", "ro,password=hunter2,allow_other"));
	CHECK(parse_fails("http://h", "/m", "-opassword=x", NULL));
	/* the *_file forms are fine */
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"password_file=/p,api_key_file=/k,session_file=/s,username=u",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_STR(o.password_file, "/p");
	CHECK_STR(o.api_key_file, "/k");
	CHECK_STR(o.session_file, "/s");
	CHECK_STR(o.username, "u");
	CHECK(!fuse_args_have(&fa, "password"));
	done(&o, &fa);
}

static void test_values(void)
{
	struct mbfs_options o;
	struct fuse_args fa;
	/* NaN, infinity and sizes beyond 64 bits are refused */
	CHECK(parse_fails("http://h", "/m", "-o", "meta_ttl=nan"));
	CHECK(parse_fails("http://h", "/m", "-o", "result_ttl=inf"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=nan"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=1e30"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=1e17T"));
	static const struct {
		const char *arg;
		uint64_t want;
	} sizes[] = {
		{"cache_max=500M", UINT64_C(500) * 1024 * 1024},
		{"cache_max=500m", UINT64_C(500) * 1024 * 1024},
		{"cache_max=500MB", UINT64_C(500) * 1024 * 1024},
		{"cache_max=500MiB", UINT64_C(500) * 1024 * 1024},
		{"cache_max=2G", UINT64_C(2) << 30},
		{"cache_max=1.5G", UINT64_C(3) << 29},
		{"cache_max=1024k", UINT64_C(1) << 20},
		{"cache_max=1T", UINT64_C(1) << 40},
		{"cache_max=1048576", UINT64_C(1) << 20},
		{"cache_max=1M", UINT64_C(1) << 20},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		enum mbfs_options_result r =
			parse(&o, &fa, "http://h", "/m", "-o", sizes[i].arg, NULL);
		CHECK_INT(r, MBFS_OPTIONS_RUN);
		if (r != MBFS_OPTIONS_RUN)
			continue;
		if (o.cache_max != sizes[i].want)
			fprintf(stderr, "  %s\n", sizes[i].arg);
		CHECK_INT(o.cache_max, sizes[i].want);
		done(&o, &fa);
	}
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=abc"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=-1G"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=10X"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=10Gx"));
	/* below the documented minimum of 1 MiB */
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=0"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=100k"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=1048575"));
	CHECK(parse_fails("http://h", "/m", "-o", "cache_max=0.99M"));

	/* umask is octal */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "umask=027", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.umask, 027);
	char d[1024];
	mbfs_options_describe(&o, d, sizeof d);
	CHECK(strstr(d, "umask=027") != NULL);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "umask=0", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.umask, 0);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "umask=777", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.umask, 0777);
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "umask=8"));
	CHECK(parse_fails("http://h", "/m", "-o", "umask=1000"));
	CHECK(parse_fails("http://h", "/m", "-o", "umask=-2"));
	CHECK(parse_fails("http://h", "/m", "-o", "umask=rwx"));

	/* seconds */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"meta_ttl=0.5,result_ttl=0,error_ttl=3,connect_timeout=2.5",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.meta_ttl == 0.5);
	CHECK(o.result_ttl == 0);
	CHECK(o.error_ttl == 3);
	CHECK(o.connect_timeout == 2.5);
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "meta_ttl=abc"));
	CHECK(parse_fails("http://h", "/m", "-o", "result_ttl=-1"));
	CHECK(parse_fails("http://h", "/m", "-o", "error_ttl=5s"));
	CHECK(parse_fails("http://h", "/m", "-o", "meta_ttl=1e10"));
	CHECK(parse_fails("http://h", "/m", "-o", "connect_timeout=0"));
	CHECK(parse_fails("http://h", "/m", "-o", "connect_timeout=0.01"));
	CHECK(parse_fails("http://h", "/m", "-o", "connect_timeout=3601"));

	/* stall_timeout: whole seconds, 1 .. 86400, default 60 */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", NULL), MBFS_OPTIONS_RUN);
	CHECK_INT(o.stall_timeout, 60);
	mbfs_options_describe(&o, d, sizeof d);
	CHECK(strstr(d, " stall_timeout=60") != NULL);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "stall_timeout=2", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.stall_timeout, 2);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "stall_timeout=86400",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.stall_timeout, 86400);
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout=0"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout=86401"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout=1.5"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout=-1"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout=+5"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout= 5"));
	CHECK(parse_fails("http://h", "/m", "-o", "stall_timeout="));
	CHECK(parse_fails("http://h", "/m", "-o", "retries=-0"));
	CHECK(parse_fails("http://h", "/m", "-o", "uid=4294967295"));
	CHECK(parse_fails("http://h", "/m", "-o", "row_cap=1099511627777"));

	/* counts */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"max_exports=8,retries=0,uid=1234,gid=99", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_INT(o.max_exports, 8);
	CHECK_INT(o.retries, 0);
	CHECK_INT(o.uid, 1234);
	CHECK_INT(o.gid, 99);
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "max_exports=0"));
	CHECK(parse_fails("http://h", "/m", "-o", "max_exports=300"));
	CHECK(parse_fails("http://h", "/m", "-o", "max_exports=-1"));
	CHECK(parse_fails("http://h", "/m", "-o", "retries=21"));
	CHECK(parse_fails("http://h", "/m", "-o", "uid=abc"));

	/* switches */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"format_rows,insecure,stat=cached,cafile=/ca.pem,"
			"log_level=warn,cache_dir=/var/cache/x",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.format_rows);
	CHECK(o.insecure);
	CHECK(o.stat_cached);
	CHECK_STR(o.cafile, "/ca.pem");
	CHECK_STR(o.log_level, "warn");
	CHECK_STR(o.cache_dir, "/var/cache/x");
	mbfs_options_describe(&o, d, sizeof d);
	CHECK(strstr(d, "format_rows=true") != NULL);
	CHECK(strstr(d, "stat=cached") != NULL);
	CHECK(strstr(d, "insecure") != NULL);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"format_rows=false,stat=export", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(!o.format_rows);
	CHECK(!o.stat_cached);
	done(&o, &fa);
	CHECK(parse_fails("http://h", "/m", "-o", "stat=sometimes"));
	CHECK(parse_fails("http://h", "/m", "-o", "log_level=chatty"));

	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-f", "-s", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.foreground && o.singlethread && !o.debug);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "-d", "http://h", "/m", NULL), MBFS_OPTIONS_RUN);
	CHECK(o.debug && o.foreground);
	CHECK_STR(o.url, "http://h");
	done(&o, &fa);
}

/* Server URLs: what is accepted, and the one line that refuses the rest. */
static bool url_refused(const char *url, const char *needle)
{
	char why[8192];
	bool ok = mbfs_options_url_check(url, why, sizeof why);
	if (ok || !strstr(why, needle) || strchr(why, '\n')) {
		fprintf(stderr, "  url %.80s: %s\n", url, ok ? "(accepted)" : why);
		return false;
	}
	return true;
}

static void test_urls(void)
{
	char why[8192];
	static const char *const good[] = {
		"http://h", "https://mb.example.com/", "http://h:3000/base/",
		"http://[::1]:8080", "https://h/a%2Cb/c", "http://h/~user/x-y_z.1",
		"http://h/a;b=c/$d/(e)/'f'/*g+h!&i:j@k",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		bool ok = mbfs_options_url_check(good[i], why, sizeof why);
		if (!ok)
			fprintf(stderr, "  %s: %s\n", good[i], why);
		CHECK(ok);
	}
	/* ',' would split -o fsname=URL,subtype=mbfs into mount options */
	CHECK(url_refused("http://h/x,allow_other", "',' is not accepted in it"));
	CHECK(url_refused("http://h/x,allow_other", "write it as %2C"));
	CHECK(url_refused("http://h/a\\,b", "'\\' is not accepted in it (percent-encode it as %5C)"));
	CHECK(url_refused("http://h/?x=1", "no query ('?') or fragment ('#')"));
	CHECK(url_refused("http://h/#top", "no query ('?') or fragment ('#')"));
	CHECK(url_refused("http://h/a b", "spaces, control characters"));
	/* control characters are shown escaped: the message stays one line */
	CHECK(url_refused("http://h/a\nb", "'http://h/a\\nb' is not a server URL"));
	CHECK(url_refused("http://h/a\x1b[31m", "'http://h/a\\x1b[31m'"));
	CHECK(url_refused("http://h/\xc3\xa9", "non-ASCII"));
	CHECK(url_refused("http://h/a%zz", "'%' is not accepted"));
	CHECK(url_refused("http://", "'http://' is not a server URL: expected http[s]://host[:port][/path]"));
	CHECK(url_refused("ftp://h", "expected http[s]://"));
	CHECK(url_refused("http://h:0", "expected http[s]://"));
	CHECK(url_refused("http://h:65536", "expected http[s]://"));
	CHECK(url_refused("http://u:hunter2@h/", "credentials in the URL are not accepted"));
	CHECK(mbfs_options_url_check("http://u:hunter2@h/", why, sizeof why) == false &&
	      strstr(why, "hunter2") == NULL);

	/* at most MBFS_URL_MAX (1024) bytes; the message does not echo it */
	char url[3000] = "http://h/";
	size_t l = strlen(url);
	memset(url + l, 'a', MBFS_URL_MAX - l);
	url[MBFS_URL_MAX] = '\0';
	CHECK(mbfs_options_url_check(url, why, sizeof why));
	url[MBFS_URL_MAX] = 'a';
	url[MBFS_URL_MAX + 1] = '\0';
	CHECK(url_refused(url, "the server URL is 1025 bytes long; at most 1024 are accepted"));
	memset(url + l, 'a', 2000);
	url[l + 2000] = '\0';
	CHECK(url_refused(url, "at most 1024 are accepted"));
	CHECK(strlen(why) < 200);
	CHECK(parse_fails(url, "/m", NULL, NULL));
	CHECK(parse_fails("http://h/x,allow_other", "/m", NULL, NULL));

	/* the URL never reaches libfuse's arguments from the parser */
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "https://h/a%2Cb/", "/m", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "https://h/a%2Cb");
	CHECK(!fuse_args_have(&fa, "allow_other"));
	done(&o, &fa);
}

/* Relative paths are made absolute at parse time (the daemon runs in /). */
static void test_paths(void)
{
	char cwd[4096], want[4300];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "http://h", "mnt", "-o",
			"cache_dir=./spool,cafile=ca.pem,password_file=pw,"
			"api_key_file=sub/key,session_file=/abs/s",
			NULL),
		  MBFS_OPTIONS_RUN);
	snprintf(want, sizeof want, "%s/mnt", cwd);
	CHECK_STR(o.mountpoint, want);
	snprintf(want, sizeof want, "%s/spool", cwd);
	CHECK_STR(o.cache_dir, want);
	snprintf(want, sizeof want, "%s/ca.pem", cwd);
	CHECK_STR(o.cafile, want);
	snprintf(want, sizeof want, "%s/pw", cwd);
	CHECK_STR(o.password_file, want);
	snprintf(want, sizeof want, "%s/sub/key", cwd);
	CHECK_STR(o.api_key_file, want);
	CHECK_STR(o.session_file, "/abs/s");
	done(&o, &fa);
	/* from the environment too */
	setenv("MBFS_PASSWORD_FILE", "envpw", 1);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", NULL), MBFS_OPTIONS_RUN);
	snprintf(want, sizeof want, "%s/envpw", cwd);
	CHECK_STR(o.password_file, want);
	done(&o, &fa);
	unsetenv("MBFS_PASSWORD_FILE");
	CHECK(parse_fails("http://h", "/m", "-o", "cache_dir="));
}

static void test_passthrough_and_errors(void)
{
	struct mbfs_options o;
	struct fuse_args fa;
	/* unknown -o options are libfuse's business, not an error here */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o",
			"allow_other,fsname=metabase,no_such_option=1,meta_ttl=5",
			NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(fuse_args_have(&fa, "allow_other"));
	CHECK(fuse_args_have(&fa, "fsname=metabase"));
	CHECK(fuse_args_have(&fa, "no_such_option=1"));
	CHECK(!fuse_args_have(&fa, "meta_ttl")); /* ours are consumed */
	CHECK(o.meta_ttl == 5);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "default_permissions",
			"-o", "ro", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(fuse_args_have(&fa, "default_permissions"));
	CHECK(fuse_args_have(&fa, "ro"));
	done(&o, &fa);

	/* the -o list as libfuse's fuse_opt reads it: "\\," is a comma and
	 * "\\NNN" an octal byte; what goes on to libfuse is escaped again,
	 * in one -o list before the other arguments; the fstab/mount(8)
	 * options are dropped; "--" ends the options */
	CHECK_INT(parse(&o, &fa, "--frob", "http://h", "-ofsname=a\\,b,_netdev",
			"-o", "x-systemd.automount,,noauto,sub\\164ype=t",
			"--", "/m", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK_STR(o.mountpoint, "/m");
	static const char *const pass[] = {
		"--frob", "fsname=a,b", "_netdev", "x-systemd.automount", "",
		"noauto", "subtype=t", NULL};
	static const char *const to_fuse[] = {
		"mbfs", "-o", "fsname=a\\,b,subtype=t", "--frob", NULL};
	CHECK(same_list(o.fuse_passthrough, o.n_fuse_passthrough, pass));
	CHECK(same_list(fa.argv, fa.argc, to_fuse));
	done(&o, &fa);
	/* our options are matched in an -o list and as arguments alike */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "-f,debug,meta_ttl=1",
			"-ometa_ttl=2", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.foreground && o.debug);
	CHECK(o.meta_ttl == 2); /* the last one given */
	CHECK_INT(fa.argc, 1);
	done(&o, &fa);

	/* a failed parse after pass-through options frees them (found by
	 * fuzz_options; the ASan and valgrind runs of this test see a leak) */
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "allow_other", "-o",
			NULL),
		  MBFS_OPTIONS_ERROR);
	done(&o, &fa);

	CHECK(parse_fails(NULL, NULL, NULL, NULL));          /* no mount point */
	CHECK(parse_fails("http://h", "/m", "/extra", NULL)); /* too many */
	CHECK(parse_fails("ftp://h", "/m", NULL, NULL));     /* not http(s) */
	CHECK(parse_fails("h.example.com", "/m", NULL, NULL));

	/* --version / --help: exit without mounting */
	CHECK_INT(parse(&o, &fa, "--version", NULL), MBFS_OPTIONS_EXIT_OK);
	CHECK(o.show_version);
	mbfs_options_free(&o);
	CHECK_INT(parse(&o, &fa, "-V", NULL), MBFS_OPTIONS_EXIT_OK);
	mbfs_options_free(&o);
	fflush(stdout);
	int saved = dup(1);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	close(devnull);
	enum mbfs_options_result r = parse(&o, &fa, "--help", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK_INT(r, MBFS_OPTIONS_EXIT_OK);
	mbfs_options_free(&o);

	/* the help text mentions the options and never asks for secrets in argv */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	mbfs_options_help(f, "mbfs");
	fclose(f);
	CHECK(text && strstr(text, "formats=") && strstr(text, "cache_max=") &&
	      strstr(text, "MBFS_URL"));
	CHECK(text && !strstr(text, "-o password="));
	free(text);
}

/* issue 11: the API form of a server URL names the same server; -o public */
static void test_api_url_and_public(void)
{
	static const char *const cases[][2] = {
		{"http://h/api", "http://h"},
		{"http://h/api/", "http://h"},
		{"http://h:3000/api//", "http://h:3000"},
		{"https://h/metabase/api/", "https://h/metabase"},
		{"https://h/metabase/", "https://h/metabase"},
		{"http://h/myapi", "http://h/myapi"},     /* not the segment "api" */
		{"http://h/api/x", "http://h/api/x"},     /* not the last segment */
		{"http://api", "http://api"},             /* a host named api */
		{"http://api/", "http://api"},
		{"http://h/api/api", "http://h/api"},     /* one /api only */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char u[128];
		snprintf(u, sizeof u, "%s", cases[i][0]);
		mbfs_options_url_normalize(u);
		CHECK_STR(u, cases[i][1]);
	}
	struct mbfs_options o;
	struct fuse_args fa;
	CHECK_INT(parse(&o, &fa, "http://h:3000/api/", "/m", NULL), MBFS_OPTIONS_RUN);
	CHECK_STR(o.url, "http://h:3000");
	CHECK(!o.public_only);
	done(&o, &fa);
	CHECK_INT(parse(&o, &fa, "http://h", "/m", "-o", "public", NULL),
		  MBFS_OPTIONS_RUN);
	CHECK(o.public_only);
	char d[2048];
	mbfs_options_describe(&o, d, sizeof d);
	CHECK(strstr(d, " public\n") != NULL);
	done(&o, &fa);
}

int main(void)
{
	char tmpl[] = "/tmp/mbfs-test-options-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 2;
	}
	g_tmp = tmpl;
	char p[4200];
	clean_env();
	setenv("HOME", g_tmp, 1);
	snprintf(p, sizeof p, "%s/cache", g_tmp);
	setenv("XDG_CACHE_HOME", p, 1);
	snprintf(p, sizeof p, "%s/no-config", g_tmp);
	setenv("XDG_CONFIG_HOME", p, 1);

	/* config scenarios first, each in a fresh process image */
	in_child("a 0644 config with secrets", child_readable_config);
	in_child("a 0644 config without secrets",
		 child_readable_config_without_secrets);
	in_child("a 0600 config", child_private_config);
	in_child("a 0640 config", child_group_readable_config);
	in_child("a 0664 config", child_writable_config);
	in_child("a 0602 config", child_world_writable_config);
	in_child("a config owned by another user", child_foreign_config);
	in_child("a FIFO as the config", child_config_not_a_file);
	in_child("no HOME", child_no_home);
	in_child("$HOME/.config fallback", child_home_fallback);
	in_child("-o names in the config file", child_config_options);

	test_basic_and_defaults();
	test_formats();
	test_secrets_refused();
	test_values();
	test_urls();
	test_api_url_and_public();
	test_paths();
	test_passthrough_and_errors();

	nftw(g_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
