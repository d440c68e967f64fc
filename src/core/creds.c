/*
 * creds.c — owns the gathering of credentials before the daemon starts:
 * environment, secret files, the config file's secrets, the terminal
 * prompt (termios, signals restored), and the scrubbing of the secrets
 * from the environment. See creds.h.
 */
#include "creds.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "secret.h"
#include "status.h"

#define SECRET_MAX 4096

extern char **environ;

/* Read a one-line secret from a file (checked as ssh checks a private
 * key: secret.h); NULL with a message on failure. */
static char *read_secret(const char *path, const char *what)
{
	struct mbfs_err err;
	char *out = NULL;
	if (mbfs_secret_read(path, what, NULL, &out, &err) != MBFS_OK)
		fprintf(stderr, "mbfs: %s\n", err.msg);
	return out;
}

/* A secret from the config file; false (with a message) when the file
 * holds it but is readable by others. */
static bool secret_from_config(const char *key, const char *what, char **out)
{
	bool refused = false;
	const char *c = mbfs_config_get(key, &refused);
	if (refused) {
		fprintf(stderr,
			"mbfs: the config file %s holds a %s but is readable by group or others: refused; run chmod 600 %s\n",
			mbfs_config_path(), what,
			mbfs_config_path());
		return false;
	}
	if (c && *c)
		*out = strdup(c);
	return true;
}

/* First non-empty of: the environment, a file, the config file. */
static bool secret_from(const char *env, const char *file, const char *cfgkey,
			const char *what, char **out)
{
	*out = NULL;
	const char *e = getenv(env);
	if (e && *e) {
		*out = strdup(e);
		return true;
	}
	if (file) {
		*out = read_secret(file, what);
		return *out != NULL;
	}
	return secret_from_config(cfgkey, what, out);
}

static void wipe(char *s)
{
	if (s) {
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
		free(s);
	}
}

/* ---- the terminal prompt ------------------------------------------------ */

static struct termios prompt_saved;
static volatile sig_atomic_t prompt_echo_off;

/* Ctrl-C (or any fatal signal) while echo is off: restore the terminal,
 * then die of the same signal. */
static void prompt_on_signal(int sig)
{
	if (prompt_echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &prompt_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Ask on the terminal: the prompt goes to stderr, the answer is read from
 * stdin (a terminal), without echo when !echo. NULL on EOF or an empty
 * answer. The answer is read byte by byte (no stdio buffer keeps a copy). */
static char *prompt_line(const char *prompt, bool echo)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP};
	struct sigaction sa, old[sizeof sigs / sizeof sigs[0]];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = prompt_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (!echo && tcgetattr(STDIN_FILENO, &prompt_saved) == 0) {
		struct termios t = prompt_saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		t.c_lflag |= ICANON;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
			prompt_echo_off = 1;
	}
	if (!echo && !prompt_echo_off) {
		fprintf(stderr, "mbfs: cannot turn off echo on the terminal; not asking for the password\n");
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			sigaction(sigs[i], &old[i], NULL);
		return NULL;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	char buf[SECRET_MAX];
	size_t n = 0;
	bool got_eol = false;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c == '\n' || c == '\r') {
			got_eol = true;
			break;
		}
		if (n + 1 < sizeof buf)
			buf[n++] = c;
	}
	buf[n] = '\0';
	if (prompt_echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &prompt_saved);
		prompt_echo_off = 0;
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &old[i], NULL);
	char *out = (got_eol || n) && buf[0] ? strdup(buf) : NULL;
	memset(buf, 0, sizeof buf);
	return out;
}

/* ---- credentials ---------------------------------------------------------- */

void mbfs_creds_free(struct mbfs_creds *c)
{
	wipe(c->api_key);
	wipe(c->session);
	wipe(c->password);
	wipe(c->mode_token);
	wipe(c->mode_secret);
	free(c->username);
	memset(c, 0, sizeof *c);
}

/* Secret files named by options: every one is checked, also one that an
 * environment variable makes unnecessary (its mode is wrong all the
 * same). False, with one line on stderr, at the first refusal. */
struct secret_file {
	const char *path, *what;
};

static bool files_ok(const struct secret_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mbfs_err err;
		if (files[i].path &&
		    mbfs_secret_check(files[i].path, files[i].what, &err) !=
			    MBFS_OK) {
			fprintf(stderr, "mbfs: %s\n", err.msg);
			return false;
		}
	}
	return true;
}

/* A Mode mount: the API token and secret, both, from the same sources
 * as Metabase's secrets; no prompt (they are made in Mode's settings, not
 * typed). */
static int gather_mode(const struct mbfs_options *o, struct mbfs_creds *c)
{
	const struct secret_file files[] = {
		{o->mode_token_file, "Mode API token"},
		{o->mode_secret_file, "Mode API secret"}};
	if (!files_ok(files, sizeof files / sizeof files[0]))
		return 1;
	if (!secret_from("MBFS_MODE_TOKEN", o->mode_token_file, "mode_token",
			 "Mode API token", &c->mode_token) ||
	    !secret_from("MBFS_MODE_SECRET", o->mode_secret_file, "mode_secret",
			 "Mode API secret", &c->mode_secret))
		return 1;
	if (!c->mode_token || !c->mode_secret) {
		fprintf(stderr,
			"mbfs: a Mode mount needs an API token and secret: MBFS_MODE_TOKEN and MBFS_MODE_SECRET, -o mode_token_file= and -o mode_secret_file=, or mode_token and mode_secret in the config file\n");
		return 1;
	}
	return 0;
}

int mbfs_creds_gather(const struct mbfs_options *o, struct mbfs_creds *c)
{
	memset(c, 0, sizeof *c);
	/* -o public reads no credential from anywhere (and never prompts) */
	if (o->public_only)
		return 0;
	if (o->mode)
		return gather_mode(o, c);
	const struct secret_file files[] = {{o->api_key_file, "API key"},
					    {o->session_file, "session token"},
					    {o->password_file, "password"}};
	if (!files_ok(files, sizeof files / sizeof files[0]))
		return 1;
	if (!secret_from("MBFS_API_KEY", o->api_key_file, "api_key", "API key",
			 &c->api_key) ||
	    !secret_from("MBFS_SESSION", o->session_file, "session",
			 "session token", &c->session))
		return 1;
	const char *e = getenv("MBFS_PASSWORD");
	if (e && *e)
		c->password = strdup(e);
	else if (!o->password_file &&
		 !secret_from_config("password", "password", &c->password))
		return 1;
	bool have_password = c->password || o->password_file;
	const char *user = o->username;
	bool tty = isatty(STDIN_FILENO) != 0;
	if (!c->api_key && !c->session && !have_password && tty) {
		if (!user) {
			char q[1200];
			snprintf(q, sizeof q, "Metabase username (e-mail) for %s: ",
				 o->url);
			c->username = prompt_line(q, true);
			user = c->username;
			if (!user) {
				fprintf(stderr, "mbfs: no username given\n");
				return 1;
			}
		}
		char q[1400];
		snprintf(q, sizeof q, "Password for %s at %s: ", user, o->url);
		c->password = prompt_line(q, false);
		if (!c->password) {
			fprintf(stderr, "mbfs: no password given\n");
			return 1;
		}
		have_password = true;
	}
	if (have_password && !user && !c->api_key && !c->session) {
		fprintf(stderr,
			"mbfs: a password was given but no username: set MBFS_USERNAME, -o username=EMAIL or username in the config file\n");
		return 1;
	}
	return 0;
}

void mbfs_creds_scrub_environment(void)
{
	static const char *const names[] = {"MBFS_PASSWORD", "MBFS_API_KEY",
					    "MBFS_SESSION", "MBFS_MODE_TOKEN",
					    "MBFS_MODE_SECRET"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t nl = strlen(names[i]);
		char *found[16];
		size_t n = 0;
		for (char **e = environ; e && *e && n < 16; e++)
			if (strncmp(*e, names[i], nl) == 0 && (*e)[nl] == '=')
				found[n++] = *e;
		unsetenv(names[i]); /* every occurrence */
		for (size_t k = 0; k < n; k++)
			explicit_bzero(found[k], strlen(found[k]));
	}
}
