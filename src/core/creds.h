/*
 * creds.h — gathering the credentials before the daemon starts: the
 * environment (MBFS_API_KEY, MBFS_SESSION, MBFS_PASSWORD), the secret
 * files named by options (checked as ssh checks a private key), the
 * config file's secret keys, and, when none was given and stdin is a
 * terminal, a prompt (the password without echo). Then the secrets are
 * scrubbed from the environment.
 *
 * Memory: struct mbfs_creds owns its strings; mbfs_creds_free() wipes the
 * secrets' bytes before freeing them. Whoever takes a secret from it
 * (mb_auth) keeps its own copy. Threads: main's thread, before any other
 * thread exists (the prompt changes the terminal and signal handlers).
 * Blocks on local files and on the terminal (the prompt waits for a line).
 */
#ifndef MBFS_CREDS_H
#define MBFS_CREDS_H

struct mbfs_options;

struct mbfs_creds {
	char *api_key;
	char *session;
	char *password;            /* NULL when password_file is used */
	char *username;            /* prompted for; else o->username is used */
	char *mode_token;          /* -o backend=mode: the API token ... */
	char *mode_secret;         /* ... and secret (HTTP Basic) */
};

/*
 * Sources, first found wins:
 *   API key:  MBFS_API_KEY, -o api_key_file=, api_key in the config file
 *   session:  MBFS_SESSION, -o session_file=, session in the config file
 *   password: MBFS_PASSWORD, -o password_file=, password in the config file
 *   Mode (-o backend=mode), both required, never prompted for:
 *     token:  MBFS_MODE_TOKEN, -o mode_token_file=, mode_token in the config
 *     secret: MBFS_MODE_SECRET, -o mode_secret_file=, mode_secret in the config
 * When none of the three was given and stdin is a terminal, ask for the
 * username (unless known) and the password, without echo. With -o public
 * nothing is read from anywhere (c stays empty). Every secret file named
 * is checked, also one an environment variable makes unnecessary.
 * 0 on success; 1 with one line on stderr. Free c in both cases.
 */
int mbfs_creds_gather(const struct mbfs_options *o, struct mbfs_creds *c);

/*
 * Remove the secret variables (MBFS_PASSWORD, MBFS_API_KEY, MBFS_SESSION,
 * MBFS_MODE_TOKEN, MBFS_MODE_SECRET)
 * from the environment, everywhere it can be seen: unsetenv() takes them
 * out of what children (fusermount3) inherit, but /proc/PID/environ shows
 * the original block on the stack, so the bytes of every "NAME=value"
 * string are overwritten in place as well. Call after mbfs_creds_gather.
 */
void mbfs_creds_scrub_environment(void);

/* Wipe and free the secrets; c is empty afterwards. */
void mbfs_creds_free(struct mbfs_creds *c);

#endif
