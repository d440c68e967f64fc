/*
 * cli_status.h — `mbfs status MOUNTPOINT [--watch] [--interval S]`: the
 * mount at a glance (server, user, auth state and session age; running
 * exports as progress lines with bytes, rows, elapsed time, rate and a bar
 * when the size is knowable; queued exports; the last errors; cache use),
 * read from MOUNTPOINT/.mbfs/. With --watch it redraws in place on a
 * terminal, or prints one block per update otherwise, until SIGINT.
 *
 * Blocking: reads files of the mount (which answer at once: .mbfs/ never
 * waits on the network). Returns the process exit status.
 */
#ifndef MBFS_CLI_STATUS_H
#define MBFS_CLI_STATUS_H

/* argv[0] is "status". */
int mbfs_cli_status(int argc, char **argv);

#endif
