/*
 * session.c — owns what libfuse is told: the arguments it sees and the
 * trial sessions that check them. See session.h.
 */
#include "session.h"

#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* Options that mount(8), fstab and systemd use for themselves: accepted
 * and ignored, as sshfs does (mount.fuse3 already drops most of them). */
static bool mount_only_option(const char *arg)
{
	static const char *const names[] = {
		"_netdev", "auto", "noauto", "user", "nouser", "users", "owner",
		"group", "nofail", "defaults", "relatime", "norelatime",
		"strictatime", "nostrictatime", "lazytime", "nolazytime",
		"diratime", "nodiratime", "iversion", "noiversion", "loud",
		"silent"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(arg, names[i]) == 0)
			return true;
	return !*arg || strncmp(arg, "x-", 2) == 0 ||
	       strncmp(arg, "comment=", 8) == 0;
}

static void silent_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

bool mbfs_session_check_options(const struct mbfs_options *o)
{
	static const struct fuse_lowlevel_ops no_ops;
	bool ok = true;
	fuse_set_log_func(silent_log);
	for (int i = 0; i < o->n_fuse_passthrough && ok; i++) {
		const char *opt = o->fuse_passthrough[i];
		if (mount_only_option(opt))
			continue;
		char *argv[4] = {(char *)"mbfs", NULL, NULL, NULL};
		int argc = 2;
		if (opt[0] == '-') {
			argv[1] = (char *)opt;
		} else {
			argv[1] = (char *)"-o";
			argv[2] = (char *)opt;
			argc = 3;
		}
		struct fuse_args a = FUSE_ARGS_INIT(argc, argv);
		struct fuse_session *se =
			fuse_session_new(&a, &no_ops, sizeof no_ops, NULL);
		fuse_opt_free_args(&a);
		if (se) {
			fuse_session_destroy(se);
			continue;
		}
		ok = false;
		fuse_set_log_func(NULL);
		if (opt[0] == '-')
			fprintf(stderr, "mbfs: unknown option '%s'; usage: mbfs [URL] MOUNTPOINT [-o opt,...] [-f] [-d] [-s]; see mbfs --help for every option\n", opt);
		else
			fprintf(stderr, "mbfs: unknown option '-o %s'; see mbfs --help for every option (options are comma-separated; formats= uses ':')\n", opt);
	}
	fuse_set_log_func(NULL);
	return ok;
}

int mbfs_session_fuse_args(const struct mbfs_options *o, struct fuse_args *fa)
{
	*fa = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	char *opts = NULL;
	int rc = fuse_opt_add_arg(fa, "mbfs");
	for (int i = 0; i < o->n_fuse_passthrough && rc == 0; i++) {
		const char *p = o->fuse_passthrough[i];
		if (mount_only_option(p))
			continue;
		rc = p[0] == '-' ? fuse_opt_add_arg(fa, p)
				 : fuse_opt_add_opt_escaped(&opts, p);
	}
	if (rc == 0 && opts)
		rc = fuse_opt_insert_arg(fa, 1, "-o") == 0 &&
				     fuse_opt_insert_arg(fa, 2, opts) == 0
			     ? 0
			     : -1;
	free(opts);
	return rc == 0 ? 0 : -1;
}

const char *mbfs_session_fuse_version(void)
{
	return fuse_pkgversion();
}
