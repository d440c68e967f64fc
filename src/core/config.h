/*
 * config.h — the config file, $XDG_CONFIG_HOME/mbfs/config (else
 * ~/.config/mbfs/config): `key = value` lines, '#' and ';' comments,
 * values optionally quoted. Read once, on the first call, then kept for
 * the life of the process; options.c takes option values from it and
 * creds.c the secrets (password, api_key, session: the option table's
 * secret rows, mbfs_options_key_is_secret).
 *
 * The XDG base directories are found here too (mbfs_config_xdg_path).
 *
 * Memory: every string returned is owned by this module and lives until
 * the process ends. Thread safety: none; called from main's thread during
 * start-up only. Nothing blocks (a FIFO in the file's place is refused).
 */
#ifndef MBFS_CONFIG_H
#define MBFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Value of a config file key (NULL if absent). Secret keys are only
 * returned when the file is private (mode & 077 == 0); *refused is set
 * when it is not, and for every key when the whole file is refused. */
const char *mbfs_config_get(const char *key, bool *refused);

/* Why the config file is refused whole (one line, without "mbfs: "), or
 * NULL when it is usable or absent. It is refused when it is not a regular
 * file owned by the user, when group or others may write it, and when it
 * holds a secret (password, api_key, session) and group or others may read
 * it; mbfs_options_parse() then fails with this line. */
const char *mbfs_config_refusal(void);

/* The config file's path (for messages; a placeholder when unknown). */
const char *mbfs_config_path(void);

/* $XDG_<x>_HOME/mbfs[/file] (when absolute, as the XDG spec wants), else
 * <home>/<fallback>/mbfs[/file], home being $HOME when absolute, else the
 * password database's entry: never a shared directory. False when there
 * is no base directory or the path does not fit in out. */
bool mbfs_config_xdg_path(const char *xdg_var, const char *fallback,
			  const char *file, char *out, size_t outsz);

#endif
