/*
 * config.c — owns the config file reader (read once, kept in a static)
 * and the XDG base directory lookup. See config.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "status.h"

#define CONFIG_MAX_KEYS 32
#define CONFIG_MAX_BYTES 65536

static struct {
	char path[4096];
	char *keys[CONFIG_MAX_KEYS];
	char *vals[CONFIG_MAX_KEYS];
	int n;
	bool private_;
	bool loaded;
	/* why the whole file is refused (one line, without "mbfs: "), or "" */
	char refusal[9000];
} config;

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* A path for a one-line message: control characters escaped, bounded. */
static const char *shown(const char *path, char *buf, size_t bufsz)
{
	mbfs_escape_text(path, buf, bufsz);
	return buf;
}

/*
 * The home directory: $HOME when it is an absolute path, else the
 * password database's entry for the real user (a boot-time mount may run
 * without HOME). NULL when neither is known. Never a shared directory.
 */
static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return home;
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

bool mbfs_config_xdg_path(const char *xdg_var, const char *fallback,
		     const char *file, char *out, size_t outsz)
{
	const char *xdg = getenv(xdg_var);
	int n;
	if (xdg && xdg[0] == '/') {
		n = snprintf(out, outsz, "%s/mbfs%s%s", xdg, file ? "/" : "",
			     file ? file : "");
	} else {
		const char *home = home_dir();
		if (!home)
			return false;
		n = snprintf(out, outsz, "%s/%s/mbfs%s%s", home, fallback,
			     file ? "/" : "", file ? file : "");
	}
	return n > 0 && (size_t)n < outsz;
}

/*
 * ssh's rules: the file must be a regular file owned by the user and not
 * writable by group or others (anyone who can change it can send the
 * credentials to their own URL with TLS checks off); when it holds a
 * secret, not readable by them either. Anything else refuses the whole
 * file, with one line naming it and the command that fixes it.
 */
static void config_load(void)
{
	char path[4096], sp[4200];
	config.loaded = true;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (!mbfs_config_xdg_path("XDG_CONFIG_HOME", ".config", "config", path,
		      sizeof path)) {
		if ((xdg && xdg[0] == '/') || home_dir()) /* it did not fit */
			snprintf(config.refusal, sizeof config.refusal,
				 "the config file's path ($XDG_CONFIG_HOME or $HOME) is longer than %zu bytes",
				 sizeof path - 1);
		return;
	}
	snprintf(config.path, sizeof config.path, "%s", path);
	shown(path, sp, sizeof sp);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			snprintf(config.refusal, sizeof config.refusal,
				 "cannot read the config file %s: %s", sp,
				 strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(config.refusal, sizeof config.refusal,
			 "the config file %s is not a regular file: refused", sp);
		close(fd);
		return;
	}
	unsigned me = (unsigned)geteuid();
	if (st.st_uid != geteuid()) {
		snprintf(config.refusal, sizeof config.refusal,
			 "the config file %s is owned by uid %u, not by you (uid %u): refused whole; run chown %u %s",
			 sp, (unsigned)st.st_uid, me, me, sp);
		close(fd);
		return;
	}
	if (st.st_mode & 022) {
		snprintf(config.refusal, sizeof config.refusal,
			 "the config file %s is writable by group or others (mode %04o): refused whole; run chmod go-w %s",
			 sp, (unsigned)(st.st_mode & 07777), sp);
		close(fd);
		return;
	}
	config.private_ = (st.st_mode & 077) == 0;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	char line[4096];
	size_t total = 0;
	while (fgets(line, sizeof line, f) && config.n < CONFIG_MAX_KEYS) {
		total += strlen(line);
		if (total > CONFIG_MAX_BYTES)
			break;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		size_t vl = strlen(v);
		if (vl >= 2 && ((v[0] == '"' && v[vl - 1] == '"') ||
				(v[0] == '\'' && v[vl - 1] == '\''))) {
			v[vl - 1] = '\0';
			v++;
		}
		if (mbfs_options_key_is_secret(k) && !config.private_ &&
		    !config.refusal[0])
			snprintf(config.refusal, sizeof config.refusal,
				 "the config file %s holds %s but is readable by group or others (mode %04o): refused whole; run chmod 600 %s",
				 sp,
				 strcmp(k, "api_key") == 0   ? "an API key"
				 : strcmp(k, "session") == 0 ? "a session token"
							     : "a password",
				 (unsigned)(st.st_mode & 07777), sp);
		config.keys[config.n] = strdup(k);
		config.vals[config.n] = strdup(v);
		config.n++;
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
}

const char *mbfs_config_get(const char *key, bool *refused)
{
	if (!config.loaded)
		config_load();
	if (refused)
		*refused = false;
	if (config.refusal[0]) {
		if (refused)
			*refused = true;
		return NULL;
	}
	for (int i = 0; i < config.n; i++) {
		if (strcmp(config.keys[i], key) != 0)
			continue;
		if (mbfs_options_key_is_secret(key) && !config.private_) {
			if (refused)
				*refused = true;
			return NULL;
		}
		return config.vals[i];
	}
	return NULL;
}

const char *mbfs_config_refusal(void)
{
	if (!config.loaded)
		config_load();
	return config.refusal[0] ? config.refusal : NULL;
}

const char *mbfs_config_path(void)
{
	if (!config.loaded)
		config_load();
	return config.path[0] ? config.path : "$XDG_CONFIG_HOME/mbfs/config";
}
