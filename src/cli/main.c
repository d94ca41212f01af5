/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: the hull command line: verb table and the one error line */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "cli.h"
#include "common/log.h"
#include "instance/instance.h"

static const struct {
        const char *name;
        int (*main)(int argc, char **argv);
        const char *help;
} verbs[] = {
        { "run", cli_run_main, "run a command in a new container from an image" },
        { "create", cli_create_main, "create a container without starting it" },
        { "launch", cli_launch_main, "start a system VM from an image: its init runs (launch IMAGE NAME --vm)" },
        { "console", cli_console_main, "attach to a VM's or system container's console (Ctrl-a q detaches)" },
        { "snapshot", cli_snapshot_main, "snapshot commands: create, list, restore, delete" },
        { "copy", cli_copy_main, "copy a container to a new stopped one (--from-snapshot SNAP; published ports are not copied)" },
        { "migrate", cli_migrate_main, "move a VM (live) or a container to another hull (receive on the other side)" },
        { "receive", cli_receive_main, "accept a VM or a container that another hull migrates here" },
        { "info", cli_info_main, "show how this host runs containers and VMs" },
        { "start", cli_start_main, "start stopped containers" },
        { "stop", cli_stop_main, "stop containers (SIGTERM, then SIGKILL)" },
        { "restart", cli_restart_main, "stop and start containers" },
        { "kill", cli_kill_main, "send a signal to containers" },
        { "rm", cli_rm_main, "remove containers" },
        { "autostart", cli_autostart_main, "start every container marked --autostart or --restart always (at boot)" },
        { "exec", cli_exec_main, "run a command in a running container" },
        { "logs", cli_logs_main, "print a container's output" },
        { "ps", cli_ps_main, "list containers" },
        { "inspect", cli_inspect_main, "show a container's or an image's details" },
        { "stats", cli_stats_main, "show containers' cgroup figures" },
        { "pull", cli_pull_main, "fetch an image from a registry" },
        { "push", cli_push_main, "send an image to a registry" },
        { "images", cli_images_main, "list images" },
        { "rmi", cli_rmi_main, "remove images" },
        { "tag", cli_tag_main, "give an image another name" },
        { "image", cli_image_main, "image commands: ls, pull, push, rm, tag, inspect, import, export, prune" },
        { "build", cli_build_main, "build an image from a Containerfile" },
        { "login", cli_login_main, "store credentials for a registry" },
        { "logout", cli_logout_main, "remove stored credentials for a registry" },
        { "network", cli_network_main, "network commands: create, ls, rm, inspect" },
        { "oci", cli_oci_main, "the OCI runtime, command-line compatible with runc" },
};

/* The global options, given before the verb. */
static const char *opt_root, *opt_runroot;

static int open_context(bool has_db, InstContext **ret)
{
        _cleanup_error_ Error *err = NULL;
        const char *root = opt_root ? opt_root : getenv("HULL_ROOT") ? getenv("HULL_ROOT") : "/var/lib/hull";
        const char *runroot = opt_runroot ? opt_runroot : getenv("HULL_RUNROOT");
        int r;

        /* The default root keeps its run-time state where such state belongs. */
        if (!runroot && !opt_root && !getenv("HULL_ROOT"))
                runroot = "/run/hull";
        r = (has_db ? inst_context_open : inst_context_open_bare)(root, runroot, ret, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

int cli_open(InstContext **ret)
{
        return open_context(true, ret);
}

int cli_open_bare(InstContext **ret)
{
        return open_context(false, ret);
}

int cli_open_db(InstContext *c)
{
        _cleanup_error_ Error *err = NULL;
        int r = inst_context_open_db(c, &err);

        return r < 0 ? cli_fail(r, err) : 0;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
        if (c == ':')
                return cli_usage_error("%s: flag '%s' needs a value", cmd, argv[optind - 1]);
        return cli_usage_error("%s: unknown flag '%s'", cmd, argv[optind - 1]);
}

void cli_print_json(json_t *j)
{
        char *s = json_dumps(j, JSON_INDENT(2));
        puts(s);
        free(s);
}

int cli_fail(int r, Error *err)
{
        const char *msg = error_message(err, r);

        if (log_fd() != STDERR_FILENO) {
                /* containerd reads the error of a failed call from the --log file. */
                log_error("%s", msg);
        }
        fprintf(stderr, "hull: %s\n", msg);
        return 1;
}

int cli_usage_error(const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (log_fd() != STDERR_FILENO)
                log_error("%s", buf);
        fprintf(stderr, "hull: %s\n", buf);
        return 1;
}

int cli_dispatch(const char *group, const CliCommand *cmds, size_t n_cmds, int argc, char **argv)
{
        char names[512] = "";
        size_t len = 0;

        if (argc >= 2) {
                for (size_t i = 0; i < n_cmds; i++)
                        if (strcmp(argv[1], cmds[i].name) == 0)
                                return cmds[i].main(argc - 1, argv + 1);
                return cli_usage_error("%s: unknown subcommand '%s'", group, argv[1]);
        }
        for (size_t i = 0; i < n_cmds && len < sizeof(names); i++)
                if (!cmds[i].is_alias)
                        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
                                                cmds[i].name);
        return cli_usage_error("%s: a subcommand is required (%s)", group, names);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: hull [--root DIR] [--runroot DIR] [--debug] COMMAND [ARG...]\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
        fprintf(f, "  %-10s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
        const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

        /* hull-oci is the runtime under another name, for tools that want a runc-like binary. */
        if (strcmp(self, "hull-oci") == 0)
                return cli_oci_main(argc, argv);
        /* Global options, before the verb. */
        while (argc > 1 && argv[1][0] == '-') {
                if ((strcmp(argv[1], "--root") == 0 || strcmp(argv[1], "--runroot") == 0) && argc > 2) {
                        *(argv[1][2] == 'r' && argv[1][3] == 'o' ? &opt_root : &opt_runroot) = argv[2];
                        argc -= 2;
                        argv += 2;
                } else if (strncmp(argv[1], "--root=", 7) == 0 || strncmp(argv[1], "--runroot=", 10) == 0) {
                        bool is_root = argv[1][3] == 'o';
                        *(is_root ? &opt_root : &opt_runroot) = strchr(argv[1], '=') + 1;
                        argc--;
                        argv++;
                } else if (strcmp(argv[1], "--debug") == 0) {
                        log_setup(STDERR_FILENO, false, LOG_LEVEL_DEBUG);
                        argc--;
                        argv++;
                } else {
                        break;
                }
        }
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
            strcmp(argv[1], "-h") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 1 : 0;
        }
        if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
                printf("hull version 0.1.0\nspec: 1.1.0\n");
                return 0;
        }
        if (strcmp(argv[1], "__restart") == 0)
                return cli_policy_restart_main(argc - 1, argv + 1);
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].main(argc - 1, argv + 1);
        return cli_usage_error("unknown command '%s' (see 'hull --help')", argv[1]);
}
