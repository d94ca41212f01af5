/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* oci.c: `hull oci` / `hull-oci`: the runtime's commands with runc's flags and exit statuses */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/process.h"
#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/container.h"
#include "runtime/spec.h"

typedef struct Globals {
        const char *root;
        const char *log;
        bool is_log_json;
        bool is_debug;
        bool is_systemd_cgroup;
} Globals;

typedef int (*CommandFn)(Globals *g, int argc, char **argv);


static int open_context(Globals *g, RtContext **ret)
{
        _cleanup_error_ Error *err = NULL;
        int r = rt_context_open(g->root, g->is_systemd_cgroup, ret, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int need_id(const char *cmd, int argc, char **argv, int extra_allowed)
{
        int n = argc - optind;
        if (n < 1)
                return cli_usage_error("%s: a container id is required", cmd);
        if (extra_allowed >= 0 && n > 1 + extra_allowed)
                return cli_usage_error("%s: unexpected argument '%s'", cmd, argv[optind + 1 + extra_allowed]);
        return 0;
}


static int parse_int_arg(const char *cmd, const char *flag, const char *v, int *ret)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 1 << 20)
                return cli_usage_error("%s: %s '%s': expected a number", cmd, flag, v);
        *ret = (int)n;
        return 0;
}

/* -------- spec -------- */

static int cmd_spec(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = { { "bundle", required_argument, NULL, 'b' },
                                                { "rootless", no_argument, NULL, 'R' }, {} };
        const char *bundle = ".";
        bool is_rootless = false;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *path = NULL, *s = NULL;
        _cleanup_error_ Error *err = NULL;
        int c, r;

        CLI_FOR_EACH_OPT (c, argc, argv, "b:", longs) {
                if (c == 'b')
                        bundle = optarg;
                else if (c == 'R')
                        is_rootless = true;
                else
                        return cli_bad_option("spec", c, argv);
        }
        path = xasprintf("%s/config.json", bundle);
        if (access(path, F_OK) == 0)
                return cli_usage_error("spec: '%s' exists; remove it first", path);
        j = rt_spec_default(is_rootless);
        s = json_dumps(j, JSON_INDENT(8));
        r = write_file_atomic_at(AT_FDCWD, path, s, strlen(s), 0644, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

/* -------- create / run -------- */

static int create_or_run(Globals *g, int argc, char **argv, bool is_run)
{
        static const struct option longs[] = {
                { "bundle", required_argument, NULL, 'b' },    { "console-socket", required_argument, NULL, 'C' },
                { "pid-file", required_argument, NULL, 'P' },  { "preserve-fds", required_argument, NULL, 'F' },
                { "no-pivot", no_argument, NULL, 'N' },        { "no-new-keyring", no_argument, NULL, 'K' },
                { "detach", no_argument, NULL, 'd' },          { "no-subreaper", no_argument, NULL, 'S' },
                { "keep", no_argument, NULL, 'k' },            {}
        };
        const char *cmd = is_run ? "run" : "create";
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        RtCreateOptions o = {};
        int c, r, status = 0;

        CLI_FOR_EACH_OPT (c, argc, argv, "b:d", longs) {
                switch (c) {
                case 'b':
                        o.bundle = optarg;
                        break;
                case 'C':
                        o.console_socket = optarg;
                        break;
                case 'P':
                        o.pid_file = optarg;
                        break;
                case 'F':
                        if (parse_int_arg(cmd, "--preserve-fds", optarg, &o.preserve_fds) != 0)
                                return 1;
                        break;
                case 'N':
                        o.no_pivot = true;
                        break;
                case 'K': /* a session keyring per container is not made; accepted for runc's callers */
                case 'S':
                        break;
                case 'd':
                        if (!is_run)
                                return cli_bad_option(cmd, '?', argv);
                        o.is_detached = true;
                        break;
                case 'k':
                        o.keep = true;
                        break;
                default:
                        return cli_bad_option(cmd, c, argv);
                }
        }
        if (need_id(cmd, argc, argv, 0) != 0)
                return 1;
        if (open_context(g, &ctx) != 0)
                return 1;
        if (!is_run) {
                o.is_detached = true;
                r = rt_container_create(ctx, argv[optind], &o, &err);
                return r < 0 ? cli_fail(r, err) : 0;
        }
        r = rt_container_run(ctx, argv[optind], &o, &status, &err);
        return r < 0 ? cli_fail(r, err) : status;
}

static int cmd_create(Globals *g, int argc, char **argv)
{
        return create_or_run(g, argc, argv, false);
}

static int cmd_run(Globals *g, int argc, char **argv)
{
        return create_or_run(g, argc, argv, true);
}

/* -------- commands on one container -------- */

static int simple_command(Globals *g, int argc, char **argv, int extra, RtContext **ret_ctx)
{
        static const struct option longs[] = { {} };
        int c;

        CLI_FOR_EACH_OPT (c, argc, argv, "", longs)
                return cli_bad_option(argv[0], c, argv);
        if (need_id(argv[0], argc, argv, extra) != 0)
                return 1;
        return open_context(g, ret_ctx);
}

static int cmd_start(Globals *g, int argc, char **argv)
{
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        int r;

        if (simple_command(g, argc, argv, 0, &ctx) != 0)
                return 1;
        r = rt_container_start(ctx, argv[optind], &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int cmd_state(Globals *g, int argc, char **argv)
{
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *j = NULL;
        int r;

        if (simple_command(g, argc, argv, 0, &ctx) != 0)
                return 1;
        r = rt_container_state(ctx, argv[optind], &j, &err);
        if (r < 0)
                return cli_fail(r, err);
        cli_print_json(j);
        return 0;
}

static int cmd_pause_resume(Globals *g, int argc, char **argv)
{
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        int r;

        if (simple_command(g, argc, argv, 0, &ctx) != 0)
                return 1;
        r = rt_container_pause(ctx, argv[optind], strcmp(argv[0], "pause") == 0, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int cmd_kill(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = { { "all", no_argument, NULL, 'a' }, {} };
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        bool is_all = false;
        int c, r, sig = SIGTERM;

        CLI_FOR_EACH_OPT (c, argc, argv, "a", longs) {
                if (c == 'a')
                        is_all = true;
                else
                        return cli_bad_option("kill", c, argv);
        }
        if (need_id("kill", argc, argv, 1) != 0)
                return 1;
        if (argc - optind == 2) {
                sig = signal_parse(argv[optind + 1]);
                if (sig < 0)
                        return cli_usage_error("kill: unknown signal '%s'", argv[optind + 1]);
        }
        if (open_context(g, &ctx) != 0)
                return 1;
        r = rt_container_kill(ctx, argv[optind], sig, is_all, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int cmd_delete(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = { { "force", no_argument, NULL, 'f' }, {} };
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        bool is_force = false;
        int c, status = 0;

        CLI_FOR_EACH_OPT (c, argc, argv, "f", longs) {
                if (c == 'f')
                        is_force = true;
                else
                        return cli_bad_option("delete", c, argv);
        }
        if (need_id("delete", argc, argv, -1) != 0)
                return 1;
        if (open_context(g, &ctx) != 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                _cleanup_error_ Error *err = NULL;
                int r = rt_container_delete(ctx, argv[i], is_force, &err);
                if (r < 0)
                        status = cli_fail(r, err);
        }
        return status;
}

static int cmd_list(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, 'f' },
                                                { "quiet", no_argument, NULL, 'q' }, {} };
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *list = NULL;
        const char *format = "table";
        bool is_quiet = false;
        json_t *e;
        size_t i;
        int c, r;

        CLI_FOR_EACH_OPT (c, argc, argv, "f:q", longs) {
                if (c == 'f')
                        format = optarg;
                else if (c == 'q')
                        is_quiet = true;
                else
                        return cli_bad_option("list", c, argv);
        }
        if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
                return cli_usage_error("list: --format '%s': expected table or json", format);
        if (optind < argc)
                return cli_usage_error("list: unexpected argument '%s'", argv[optind]);
        if (open_context(g, &ctx) != 0)
                return 1;
        r = rt_container_list(ctx, &list, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (strcmp(format, "json") == 0) {
                char *s = json_dumps(list, JSON_COMPACT);
                puts(s);
                free(s);
                return 0;
        }
        if (!is_quiet)
                printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
        json_array_foreach (list, i, e) {
                if (is_quiet) {
                        printf("%s\n", json_string_value(json_object_get(e, "id")));
                        continue;
                }
                printf("%-20s %-8lld %-10s %-40s %-32s %lld\n", json_string_value(json_object_get(e, "id")),
                       json_integer_value(json_object_get(e, "pid")), json_string_value(json_object_get(e, "status")),
                       json_string_value(json_object_get(e, "bundle")),
                       json_string_value(json_object_get(e, "created")),
                       json_integer_value(json_object_get(e, "owner")));
        }
        return 0;
}

static int cmd_ps(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, 'f' }, {} };
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        const char *format = "table";
        size_t n = 0;
        int c, r;

        CLI_FOR_EACH_OPT (c, argc, argv, "f:", longs) {
                if (c == 'f')
                        format = optarg;
                else
                        return cli_bad_option("ps", c, argv);
        }
        if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
                return cli_usage_error("ps: --format '%s': expected table or json", format);
        if (need_id("ps", argc, argv, -1) != 0 || open_context(g, &ctx) != 0)
                return 1;
        r = rt_container_pids(ctx, argv[optind], &pids, &n, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (strcmp(format, "json") == 0) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", pids[i]);
                printf("]\n");
                return 0;
        }
        /* The table is ps(1)'s own (default "-ef", or the arguments after the id), filtered to
         * the container's processes by the PID column. */
        {
                _cleanup_free_ char *cmdline = xstrdup("ps");
                int extra = argc - optind - 1;
                FILE *f;
                char line[4096];
                int pid_col = -1;

                if (extra == 0) {
                        free(cmdline);
                        cmdline = xstrdup("ps -ef");
                }
                for (int i = 0; i < extra; i++) {
                        char *s = xasprintf("%s '%s'", cmdline, argv[optind + 1 + i]);
                        free(cmdline);
                        cmdline = s;
                }
                fflush(stdout);
                f = popen(cmdline, "re");
                if (!f)
                        return cli_fail(-errno, NULL);
                while (fgets(line, sizeof(line), f)) {
                        char copy[4096], *tok, *save = NULL;
                        int col = 0;
                        if (pid_col < 0) {
                                snprintf(copy, sizeof(copy), "%s", line);
                                for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
                                        if (strcmp(tok, "PID") == 0)
                                                pid_col = col;
                                fputs(line, stdout);
                                if (pid_col < 0) {
                                        pclose(f);
                                        return cli_usage_error("ps: the ps output has no PID column");
                                }
                                continue;
                        }
                        snprintf(copy, sizeof(copy), "%s", line);
                        for (tok = strtok_r(copy, " \t\n", &save); tok && col < pid_col; tok = strtok_r(NULL, " \t\n", &save))
                                col++;
                        for (size_t i = 0; tok && i < n; i++)
                                if (atoi(tok) == pids[i])
                                        fputs(line, stdout);
                }
                pclose(f);
        }
        return 0;
}

/* -------- exec -------- */

static int cmd_exec(Globals *g, int argc, char **argv)
{
        static const struct option longs[] = {
                { "console-socket", required_argument, NULL, 'C' }, { "cwd", required_argument, NULL, 'w' },
                { "env", required_argument, NULL, 'e' },            { "tty", no_argument, NULL, 't' },
                { "user", required_argument, NULL, 'u' },           { "additional-gids", required_argument, NULL, 'g' },
                { "process", required_argument, NULL, 'p' },        { "detach", no_argument, NULL, 'd' },
                { "pid-file", required_argument, NULL, 'P' },       { "process-label", required_argument, NULL, 'L' },
                { "apparmor", required_argument, NULL, 'A' },       { "no-new-privs", no_argument, NULL, 'n' },
                { "cap", required_argument, NULL, 'c' },            { "preserve-fds", required_argument, NULL, 'F' },
                { "cgroup", required_argument, NULL, 'G' },         { "ignore-paused", no_argument, NULL, 'I' },
                {}
        };
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_strv_ char **env = NULL, **caps = NULL;
        _cleanup_json_ json_t *process = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        const char *process_file = NULL;
        RtExecOptions o = {};
        int c, r, status = 0;

        CLI_FOR_EACH_OPT (c, argc, argv, "e:tu:g:p:dc:", longs) {
                switch (c) {
                case 'C': o.console_socket = optarg; break;
                case 'w': o.cwd = optarg; break;
                case 'e': strv_push(&env, optarg); break;
                case 't': o.is_tty = true; break;
                case 'u': o.user = optarg; break;
                case 'g': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (!*optarg || *end)
                                return cli_usage_error("exec: --additional-gids '%s': expected a number", optarg);
                        *(gid_t *)xappend(gids, o.n_additional_gids) = (gid_t)v;
                        break;
                }
                case 'p': process_file = optarg; break;
                case 'd': o.is_detached = true; break;
                case 'P': o.pid_file = optarg; break;
                case 'L':
                case 'A':
                        return cli_usage_error("exec: %s: not supported on this host", argv[optind - 2]);
                case 'n': o.no_new_privs = true; break;
                case 'c': strv_push(&caps, optarg); break;
                case 'F':
                        if (parse_int_arg("exec", "--preserve-fds", optarg, &o.preserve_fds) != 0)
                                return 1;
                        break;
                case 'G':
                case 'I':
                        break;
                default:
                        return cli_bad_option("exec", c, argv);
                }
        }
        if (need_id("exec", argc, argv, -1) != 0)
                return 1;
        if (process_file) {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = read_file_at(AT_FDCWD, process_file, &buf, &len, &err);
                if (r >= 0)
                        r = json_parse(buf, len, process_file, &process, &err);
                if (r < 0)
                        return cli_fail(r, err);
                o.process = process;
        } else if (argc - optind < 2) {
                return cli_usage_error("exec: a command is required (or --process)");
        }
        o.args = argv + optind + 1;
        o.env = env;
        o.caps = caps;
        o.additional_gids = gids;
        if (open_context(g, &ctx) != 0)
                return 1;
        r = rt_container_exec(ctx, argv[optind], &o, &status, &err);
        return r < 0 ? cli_fail(r, err) : status;
}

/* -------- update -------- */

/* runc's update flags, each the path of a LinuxResources field and how to read it. */
static const struct {
        const char *flag;
        const char *section;
        const char *key;
        bool is_string;
} update_flags[] = {
        { "blkio-weight", "blockIO", "weight", false },    { "cpu-period", "cpu", "period", false },
        { "cpu-quota", "cpu", "quota", false },            { "cpu-rt-period", "cpu", "realtimePeriod", false },
        { "cpu-rt-runtime", "cpu", "realtimeRuntime", false }, { "cpu-share", "cpu", "shares", false },
        { "cpuset-cpus", "cpu", "cpus", true },            { "cpuset-mems", "cpu", "mems", true },
        { "memory", "memory", "limit", false },            { "memory-reservation", "memory", "reservation", false },
        { "memory-swap", "memory", "swap", false },        { "pids-limit", "pids", "limit", false },
        { "kernel-memory", "memory", "kernel", false },    { "kernel-memory-tcp", "memory", "kernelTCP", false },
};

/* "256M", "1g", "-1" as bytes or a plain number. */
static int parse_size(const char *s, long long *ret)
{
        char *end;
        long long n = strtoll(s, &end, 10);
        long long mult = 1;

        if (end == s)
                return -EINVAL;
        switch (*end) {
        case 'k': case 'K': mult = 1LL << 10; end++; break;
        case 'm': case 'M': mult = 1LL << 20; end++; break;
        case 'g': case 'G': mult = 1LL << 30; end++; break;
        case 't': case 'T': mult = 1LL << 40; end++; break;
        default: break;
        }
        if (*end == 'b' || *end == 'B')
                end++;
        if (*end)
                return -EINVAL;
        *ret = n * mult;
        return 0;
}

static int cmd_update(Globals *g, int argc, char **argv)
{
        struct option longs[ARRAY_SIZE(update_flags) + 4] = {};
        _cleanup_(rt_context_freep) RtContext *ctx = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *res = json_object();
        const char *resources = NULL;
        int c, r;

        for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++)
                longs[i] = (struct option){ update_flags[i].flag, required_argument, NULL, 1000 + (int)i };
        longs[ARRAY_SIZE(update_flags)] = (struct option){ "resources", required_argument, NULL, 'r' };
        longs[ARRAY_SIZE(update_flags) + 1] = (struct option){ "l3-cache-schema", required_argument, NULL, 'L' };
        longs[ARRAY_SIZE(update_flags) + 2] = (struct option){ "mem-bw-schema", required_argument, NULL, 'L' };

        CLI_FOR_EACH_OPT (c, argc, argv, "r:", longs) {
                if (c == 'r') {
                        resources = optarg;
                } else if (c == 'L') {
                        return cli_usage_error("update: Intel RDT is not supported on this host");
                } else if (c >= 1000 && c < 1000 + (int)ARRAY_SIZE(update_flags)) {
                        size_t i = (size_t)(c - 1000);
                        json_t *sec = json_object_get(res, update_flags[i].section);
                        long long v;
                        if (!sec) {
                                sec = json_object();
                                json_object_set_new(res, update_flags[i].section, sec);
                        }
                        if (update_flags[i].is_string) {
                                json_object_set_new(sec, update_flags[i].key, json_string(optarg));
                                continue;
                        }
                        if (parse_size(optarg, &v) < 0)
                                return cli_usage_error("update: --%s '%s': expected a number", update_flags[i].flag,
                                                       optarg);
                        json_object_set_new(sec, update_flags[i].key, json_integer(v));
                } else {
                        return cli_bad_option("update", c, argv);
                }
        }
        if (need_id("update", argc, argv, 0) != 0)
                return 1;
        if (resources) {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                json_decref(res);
                res = NULL;
                r = strcmp(resources, "-") == 0 ? fd_read_all(STDIN_FILENO, &buf, &len, &err)
                                                : read_file_at(AT_FDCWD, resources, &buf, &len, &err);
                if (r >= 0)
                        r = json_parse(buf, len, "--resources", &res, &err);
                if (r < 0)
                        return cli_fail(r, err);
        }
        if (open_context(g, &ctx) != 0)
                return 1;
        r = rt_container_update(ctx, argv[optind], res, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int cmd_features(Globals *g, int argc, char **argv)
{
        _cleanup_json_ json_t *j = NULL;
        if (argc > 1)
                return cli_usage_error("features: unexpected argument '%s'", argv[1]);
        j = rt_features();
        cli_print_json(j);
        return 0;
}

static const struct {
        const char *name;
        CommandFn fn;
        const char *help;
} commands[] = {
        { "create", cmd_create, "create a container from a bundle, ready to start" },
        { "start", cmd_start, "start a created container's process" },
        { "run", cmd_run, "create and start a container" },
        { "state", cmd_state, "print a container's OCI state" },
        { "kill", cmd_kill, "send a signal to a container's process (--all: every process)" },
        { "delete", cmd_delete, "delete a stopped container (--force: any)" },
        { "list", cmd_list, "list containers" },
        { "ps", cmd_ps, "list a container's processes" },
        { "exec", cmd_exec, "run a new process in a container" },
        { "pause", cmd_pause_resume, "freeze every process of a container" },
        { "resume", cmd_pause_resume, "thaw a paused container" },
        { "update", cmd_update, "change a container's resource limits" },
        { "features", cmd_features, "print what this runtime supports" },
        { "spec", cmd_spec, "write a default config.json" },
};

static void usage(FILE *f, const char *self)
{
        fprintf(f, "usage: %s [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND\n\n",
                self);
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int cli_oci_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "root", required_argument, NULL, 'r' },   { "log", required_argument, NULL, 'l' },
                { "log-format", required_argument, NULL, 'f' }, { "debug", no_argument, NULL, 'D' },
                { "systemd-cgroup", no_argument, NULL, 's' }, { "criu", required_argument, NULL, 'c' },
                { "rootless", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'v' },      {}
        };
        Globals g = { .root = getenv("HULL_RUNTIME_ROOT") ? getenv("HULL_RUNTIME_ROOT") : "/run/hull" };
        const char *log_format = "text";
        int c, log_file = -EBADF;

        for (optind = 1, opterr = 0; (c = getopt_long(argc, argv, "+:hv", longs, NULL)) != -1;) {
                switch (c) {
                case 'r': g.root = optarg; break;
                case 'l': g.log = optarg; break;
                case 'f': log_format = optarg; break;
                case 'D': g.is_debug = true; break;
                case 's': g.is_systemd_cgroup = true; break;
                case 'c': case 'R': break;
                case 'h': usage(stdout, argv[0]); return 0;
                case 'v': printf("hull version 0.1.0\nspec: 1.1.0\n"); return 0;
                default:
                        return cli_bad_option("oci", c, argv);
                }
        }
        if (strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0)
                return cli_usage_error("--log-format '%s': expected text or json", log_format);
        g.is_log_json = strcmp(log_format, "json") == 0;
        if (g.log) {
                log_file = open(g.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (log_file < 0)
                        return cli_usage_error("--log '%s': %s", g.log, strerror(errno));
        }
        log_setup(log_file >= 0 ? log_file : STDERR_FILENO, g.is_log_json,
                  g.is_debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
        if (optind >= argc) {
                usage(stderr, argv[0]);
                return 1;
        }
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        return commands[i].fn(&g, argc - optind, argv + optind);
        return cli_usage_error("unknown command '%s'", argv[optind]);
}
