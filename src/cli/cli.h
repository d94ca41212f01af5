/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli.h: verb groups of the hull command line and the one way they report failure */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include "common/error.h"

/* getopt_long over a command's own arguments (argv[0] is the command): stops at the first
 * operand, as runc's and docker's flag parsers do, so "exec ID sh -c x" keeps "-c" for the program. */
#define CLI_FOR_EACH_OPT(c, argc, argv, shorts, longs)                                                   \
        for (optind = 1, opterr = 0; ((c) = getopt_long((argc), (argv), "+:" shorts, (longs), NULL)) != -1;)

/* The same, options allowed after operands too (`hull migrate NAME --to URI`): for verbs whose operands
 * are names, never a command line of their own. */
#define CLI_FOR_EACH_OPT_ANYWHERE(c, argc, argv, shorts, longs)                                          \
        for (optind = 1, opterr = 0; ((c) = getopt_long((argc), (argv), ":" shorts, (longs), NULL)) != -1;)

/* The usage error for what getopt returned ('?' unknown, ':' missing value); returns 1. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Prints a JSON document, indented, to stdout. */
void cli_print_json(json_t *j);

/* Prints "hull: <message>" once (to the log as well when one is set) and returns the exit status 1. */
int cli_fail(int r, Error *err);
/* Prints a usage-type error ("create: unknown flag '--foo'") and returns 1. */
int cli_usage_error(const char *fmt, ...) _printf_(1, 2);

/* A subcommand of a verb group ("network create"); its main gets argv[0] = the subcommand. */
typedef struct CliCommand {
        const char *name;
        int (*main)(int argc, char **argv);
        bool is_alias; /* another name of the entry before it: left out of the usage error's list */
} CliCommand;

/* Runs the subcommand argv[1] of the verb group named group, found in cmds, and returns its exit
 * status. A missing or unknown one is a usage error ("image: a subcommand is required (ls, pull)",
 * the names of cmds but the aliases; "network: unknown subcommand 'x'"), returning 1. */
int cli_dispatch(const char *group, const CliCommand *cmds, size_t n_cmds, int argc, char **argv);

/* hull oci ...: the runc-compatible runtime; argv[0] is the verb group's own name. */
int cli_oci_main(int argc, char **argv);

typedef struct InstContext InstContext;

/* Opens hull's state (the global --root/--runroot, HULL_ROOT, default /var/lib/hull); on failure
 * prints the error and returns 1. */
int cli_open(InstContext **ret);
/* The context without its database (for a command that may not need it), and the database later. */
int cli_open_bare(InstContext **ret);
int cli_open_db(InstContext *c);

/* Verb groups: argv[0] is the verb. */
int cli_run_main(int argc, char **argv);
int cli_create_main(int argc, char **argv);
int cli_launch_main(int argc, char **argv);
int cli_console_main(int argc, char **argv);
int cli_snapshot_main(int argc, char **argv);
int cli_copy_main(int argc, char **argv);
int cli_migrate_main(int argc, char **argv);
int cli_receive_main(int argc, char **argv);
int cli_info_main(int argc, char **argv);
int cli_start_main(int argc, char **argv);
int cli_stop_main(int argc, char **argv);
int cli_restart_main(int argc, char **argv);
int cli_kill_main(int argc, char **argv);
int cli_rm_main(int argc, char **argv);
int cli_exec_main(int argc, char **argv);
int cli_logs_main(int argc, char **argv);
int cli_ps_main(int argc, char **argv);
int cli_inspect_main(int argc, char **argv);
int cli_stats_main(int argc, char **argv);
int cli_pull_main(int argc, char **argv);
int cli_push_main(int argc, char **argv);
int cli_images_main(int argc, char **argv);
int cli_rmi_main(int argc, char **argv);
int cli_tag_main(int argc, char **argv);
int cli_image_main(int argc, char **argv);
int cli_login_main(int argc, char **argv);
int cli_logout_main(int argc, char **argv);
int cli_build_main(int argc, char **argv);
int cli_network_main(int argc, char **argv);
int cli_autostart_main(int argc, char **argv);
/* hull __restart ID: what an instance's monitor runs after it exited; hidden from the usage text. */
int cli_policy_restart_main(int argc, char **argv);

typedef struct InstImage InstImage;

/* Pulls ref into the store (per-layer progress on a terminal unless is_quiet) and returns the
 * image; on failure prints the error and returns 1. */
int cli_pull_image(InstContext *c, const char *ref, bool is_quiet, InstImage **ret);
