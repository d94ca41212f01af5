/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* run.c: hull run, create, start, stop, restart, kill, rm, exec, logs */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/alloc.h"
#include "common/process.h"
#include "common/strv.h"
#include "instance/images.h"
#include "instance/instance.h"
#include "net/addr.h"
#include "runtime/spec.h"

/* "256M", "1g", "512k", "1073741824": bytes, docker's units (b, k, m, g; 1024-based). */
static int parse_size(const char *flag, const char *s, int64_t *ret)
{
        char *end;
        double v = strtod(s, &end);
        double mult = 1;

        if (end == s || v < 0)
                goto bad;
        switch (*end) {
        case 'b': case 'B': mult = 1; end++; break;
        case 'k': case 'K': mult = 1024; end++; break;
        case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
        case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
        case '\0': break;
        default: goto bad;
        }
        if (*end == 'b' || *end == 'B')
                end++;
        if (*end || v * mult > (double)INT64_MAX)
                goto bad;
        *ret = (int64_t)(v * mult);
        return 0;
bad:
        return cli_usage_error("%s '%s': expected a size such as 256m or 1g", flag, s);
}

/* -v SRC:DST[:ro|rw] */
static int parse_bind(const char *s, InstRunOptions *o)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(s);
        char *save = NULL;
        InstBindSpec *b;
        bool is_ro = false;

        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
                strv_push(&parts, t);
        size_t n = strv_length(parts);
        if (n == 3) {
                if (strcmp(parts[2], "ro") == 0)
                        is_ro = true;
                else if (strcmp(parts[2], "rw") != 0)
                        return cli_usage_error("-v '%s': unknown option '%s' (ro or rw)", s, parts[2]);
        }
        if (n < 2 || n > 3)
                return cli_usage_error("-v '%s': expected SRC:DST[:ro]", s);
        if (parts[0][0] != '/')
                return cli_usage_error("-v '%s': the source must be an absolute path (named volumes are not supported)", s);
        if (parts[1][0] != '/')
                return cli_usage_error("-v '%s': the destination must be an absolute path", s);
        if (access(parts[0], F_OK) < 0)
                return cli_usage_error("-v '%s': source '%s' does not exist", s, parts[0]);
        b = xappend(o->binds, o->n_binds);
        b->source = xstrdup(parts[0]);
        b->destination = xstrdup(parts[1]);
        b->is_readonly = is_ro;
        return 0;
}

/* Finds the image, pulling it when it is not here and the name is a reference. */
static int find_or_pull(InstContext *c, const char *image, InstImage **ret)
{
        _cleanup_error_ Error *err = NULL;
        int r = inst_image_find(c, image, ret, &err);

        if (r != -ENOENT)
                return r < 0 ? cli_fail(r, err) : 0;
        err = error_free(err);
        r = cli_pull_image(c, image, !isatty(STDERR_FILENO), ret);
        return r;
}

/* The status of a container that could not be run, as docker and podman give it: 127 when the
 * command was not found, 126 when it could not be executed, 125 for any other failure. */
static int run_failure_status(int r)
{
        return r == -ENOENT ? 127 : r == -EACCES || r == -ENOEXEC ? 126 : 125;
}

enum {
        OPT_RM = 0x100,
        OPT_NAME,
        OPT_CPUS,
        OPT_PIDS,
        OPT_READ_ONLY,
        OPT_CAP_ADD,
        OPT_CAP_DROP,
        OPT_NETWORK,
        OPT_ENTRYPOINT,
        OPT_PRIVILEGED,
        OPT_STOP_TIMEOUT,
        OPT_VM,
        OPT_KERNEL,
        OPT_STOP_SIGNAL,
        OPT_RESTART,
        OPT_AUTOSTART,
        OPT_USERNS,
};

/* --restart: no, on-failure, on-failure:N (N >= 0 retries), always. */
static int parse_restart(const char *s)
{
        const char *n = NULL;
        char *end;

        if (strcmp(s, "no") == 0 || strcmp(s, "always") == 0 || strcmp(s, "on-failure") == 0)
                return 0;
        if (strncmp(s, "on-failure:", 11) == 0)
                n = s + 11;
        if (n && *n && strtol(n, &end, 10) >= 0 && !*end)
                return 0;
        return cli_usage_error("--restart '%s': give no, on-failure[:N] or always", s), -1;
}

typedef enum RunMode {
        RUN_MODE_RUN,
        RUN_MODE_CREATE,
        RUN_MODE_LAUNCH, /* IMAGE NAME: the image's init, detached */
} RunMode;

/* run, create and launch: the options, the image, the instance; run and launch also start it. */
static int run_or_create(int argc, char **argv, RunMode mode)
{
        bool is_run = mode != RUN_MODE_CREATE;
        static const struct option longs[] = {
                { "detach", no_argument, NULL, 'd' },          { "rm", no_argument, NULL, OPT_RM },
                { "interactive", no_argument, NULL, 'i' },     { "tty", no_argument, NULL, 't' },
                { "name", required_argument, NULL, OPT_NAME }, { "env", required_argument, NULL, 'e' },
                { "volume", required_argument, NULL, 'v' },    { "memory", required_argument, NULL, 'm' },
                { "cpus", required_argument, NULL, OPT_CPUS }, { "pids-limit", required_argument, NULL, OPT_PIDS },
                { "user", required_argument, NULL, 'u' },      { "workdir", required_argument, NULL, 'w' },
                { "read-only", no_argument, NULL, OPT_READ_ONLY },
                { "cap-add", required_argument, NULL, OPT_CAP_ADD },
                { "cap-drop", required_argument, NULL, OPT_CAP_DROP },
                { "network", required_argument, NULL, OPT_NETWORK },
                { "net", required_argument, NULL, OPT_NETWORK },
                { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
                { "hostname", required_argument, NULL, 'h' },
                { "privileged", no_argument, NULL, OPT_PRIVILEGED },
                { "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
                { "publish", required_argument, NULL, 'p' },
                { "vm", no_argument, NULL, OPT_VM },
                { "kernel", required_argument, NULL, OPT_KERNEL },
                { "stop-signal", required_argument, NULL, OPT_STOP_SIGNAL },
                { "restart", required_argument, NULL, OPT_RESTART },
                { "autostart", no_argument, NULL, OPT_AUTOSTART },
                { "userns", required_argument, NULL, OPT_USERNS },
                {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_run_options_done) InstRunOptions o = { .stop_timeout = -1 };
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        const char *cmd = argv[0];
        int ch, r, status = 0;

        /* launch takes no command, so its options may follow IMAGE NAME; run's stop at IMAGE. */
        const char *shorts = mode == RUN_MODE_LAUNCH ? ":ditre:v:m:u:w:h:p:" : "+:ditre:v:m:u:w:h:p:";
        for (optind = 1, opterr = 0; (ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1;) {
                switch (ch) {
                case 'd': o.is_detached = true; break;
                case OPT_RM: o.is_auto_remove = true; break;
                case 'i': o.is_interactive = true; break;
                case 't': o.is_tty = true; break;
                case OPT_NAME: free(o.name); o.name = xstrdup(optarg); break;
                case 'e': strv_push(&o.env, optarg); break;
                case 'v':
                        if (parse_bind(optarg, &o) != 0)
                                return 125;
                        break;
                case 'm':
                        if (parse_size("--memory", optarg, &o.memory) != 0)
                                return 125;
                        if (o.memory > 0 && o.memory < 6 * 1024 * 1024)
                                return cli_usage_error("--memory '%s': the minimum is 6m", optarg), 125;
                        break;
                case OPT_CPUS: {
                        char *end;
                        o.cpus = strtod(optarg, &end);
                        if (end == optarg || *end || !(o.cpus > 0) || o.cpus > 4096 || isnan(o.cpus))
                                return cli_usage_error("--cpus '%s': expected a positive number", optarg), 125;
                        break;
                }
                case OPT_PIDS: {
                        char *end;
                        long long v = strtoll(optarg, &end, 10);
                        if (end == optarg || *end || v < -1)
                                return cli_usage_error("--pids-limit '%s': expected a number", optarg), 125;
                        o.pids_limit = v;
                        break;
                }
                case 'u': free(o.user); o.user = xstrdup(optarg); break;
                case 'w':
                        if (optarg[0] != '/')
                                return cli_usage_error("--workdir '%s': must be an absolute path", optarg), 125;
                        free(o.workdir);
                        o.workdir = xstrdup(optarg);
                        break;
                case OPT_READ_ONLY: o.is_read_only = true; break;
                case OPT_CAP_ADD: strv_push(&o.cap_add, optarg); break;
                case OPT_CAP_DROP: strv_push(&o.cap_drop, optarg); break;
                case OPT_NETWORK:
                        if (!optarg[0] || strcmp(optarg, "container:") == 0)
                                return cli_usage_error("--network '%s': give bridge, none, host, container:NAME "
                                                       "or a network's name",
                                                       optarg),
                                       125;
                        free(o.network);
                        o.network = xstrdup(optarg);
                        break;
                case OPT_ENTRYPOINT:
                        strv_free(o.entrypoint);
                        o.entrypoint = NULL;
                        strv_push(&o.entrypoint, optarg);
                        break;
                case 'h': free(o.hostname); o.hostname = xstrdup(optarg); break;
                case OPT_PRIVILEGED: o.is_privileged = true; break;
                case OPT_STOP_TIMEOUT: o.stop_timeout = atoi(optarg); break;
                case OPT_VM: o.is_vm = true; break;
                case OPT_STOP_SIGNAL:
                        if (signal_parse(optarg) < 0)
                                return cli_usage_error("--stop-signal '%s': unknown signal", optarg), 125;
                        free(o.stop_signal);
                        o.stop_signal = xstrdup(optarg);
                        break;
                case OPT_RESTART:
                        if (parse_restart(optarg) != 0)
                                return 125;
                        free(o.restart);
                        o.restart = xstrdup(optarg);
                        break;
                case OPT_AUTOSTART: o.is_autostart = true; break;
                case OPT_USERNS:
                        if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "host") != 0)
                                return cli_usage_error("--userns '%s': give auto or host", optarg), 125;
                        free(o.userns);
                        o.userns = xstrdup(optarg);
                        break;
                case OPT_KERNEL:
                        if (access(optarg, R_OK) < 0)
                                return cli_usage_error("--kernel '%s': %m", optarg), 125;
                        free(o.kernel);
                        o.kernel = realpath(optarg, NULL);
                        break;
                case 'p': {
                        NetPortMap m;
                        if (net_port_parse(optarg, &m, &err) < 0)
                                return cli_fail(-EINVAL, err), 125;
                        strv_push(&o.ports, optarg);
                        break;
                }
                default:
                        return cli_bad_option(cmd, ch, argv), 125;
                }
        }
        if (optind >= argc)
                return cli_usage_error("%s: an image is required", cmd), 125;
        if (o.kernel && !o.is_vm)
                return cli_usage_error("%s: --kernel is for --vm", cmd), 125;
        if (o.is_vm && o.is_tty)
                return cli_usage_error("%s --vm: -t is not supported; use `hull exec -it` or `hull console`", cmd),
                       125;
        if (o.is_auto_remove && o.restart && strcmp(o.restart, "no") != 0)
                return cli_usage_error("%s: --rm and --restart go against each other", cmd), 125;
        if (o.is_auto_remove && !is_run)
                return cli_usage_error("create: --rm is for run"), 125;
        if (!is_run)
                o.is_detached = true; /* a created container is started later, detached */
        if (mode == RUN_MODE_LAUNCH) {
                if (argc - optind != 2)
                        return cli_usage_error("launch: an image and a name are required"), 125;
                free(o.name);
                o.name = xstrdup(argv[optind + 1]);
                o.is_system = true;
                o.is_detached = true;
        } else {
                for (int i = optind + 1; i < argc; i++)
                        strv_push(&o.cmd, argv[i]);
        }
        if (cli_open(&c) != 0)
                return 125;
        if (find_or_pull(c, argv[optind], &img) != 0)
                return 125;
        r = inst_create(c, img, argv[optind], &o, &rec, &err);
        if (r < 0)
                return cli_fail(mode == RUN_MODE_LAUNCH ? error_wrap(&err, r, "launch") : r, err), 125;
        if (!is_run) {
                printf("%s\n", rec->id);
                return 0;
        }
        if (o.is_detached) {
                r = inst_start_detached(c, rec, &err);
                if (r < 0) {
                        if (o.is_auto_remove)
                                inst_remove(c, rec, true, NULL);
                        return cli_fail(mode == RUN_MODE_LAUNCH ? error_wrap(&err, r, "launch") : r, err), 125;
                }
                printf("%s\n", rec->id);
                return 0;
        }
        r = inst_run_foreground(c, rec, &status, &err);
        if (o.is_auto_remove) {
                _cleanup_error_ Error *e2 = NULL;
                int k = inst_remove(c, rec, true, &e2);
                if (k < 0 && r >= 0)
                        cli_fail(k, e2);
        }
        if (r < 0)
                return cli_fail(r, err), run_failure_status(r);
        return status;
}

int cli_run_main(int argc, char **argv)
{
        return run_or_create(argc, argv, RUN_MODE_RUN);
}

int cli_create_main(int argc, char **argv)
{
        return run_or_create(argc, argv, RUN_MODE_CREATE);
}

int cli_launch_main(int argc, char **argv)
{
        return run_or_create(argc, argv, RUN_MODE_LAUNCH);
}

/* The instances named by the operands, each given to fn; the first failure decides the status. */
static int for_each_instance(InstContext *c, int argc, char **argv,
                             int (*fn)(InstContext *c, InstRecord *rec, void *data, Error **err), void *data,
                             bool is_echo)
{
        int ret = 0;

        for (int i = optind; i < argc; i++) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                _cleanup_error_ Error *err = NULL;
                int r = inst_db_instance_find(c->db, argv[i], &rec, &err);
                if (r >= 0)
                        r = fn(c, rec, data, &err);
                if (r < 0)
                        ret = cli_fail(r, err);
                else if (is_echo)
                        printf("%s\n", argv[i]);
        }
        return ret;
}

static int need_operand(const char *cmd, int argc)
{
        if (optind >= argc)
                return cli_usage_error("%s: a container name or id is required", cmd);
        return 0;
}

static int do_start(InstContext *c, InstRecord *rec, void *data, Error **err)
{
        return inst_start_detached(c, rec, err);
}

int cli_start_main(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int ch;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (need_operand(argv[0], argc) || cli_open(&c))
                return 1;
        return for_each_instance(c, argc, argv, do_start, NULL, true);
}

static int do_stop(InstContext *c, InstRecord *rec, void *data, Error **err)
{
        return inst_stop(c, rec, *(int *)data, err);
}

static int do_restart(InstContext *c, InstRecord *rec, void *data, Error **err)
{
        int r = inst_stop(c, rec, *(int *)data, err);
        return r < 0 ? r : inst_start_detached(c, rec, err);
}

static int stop_or_restart(int argc, char **argv, bool is_restart)
{
        static const struct option longs[] = { { "time", required_argument, NULL, 't' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int ch, timeout = -1;

        CLI_FOR_EACH_OPT (ch, argc, argv, "t:", longs) {
                if (ch != 't')
                        return cli_bad_option(argv[0], ch, argv);
                char *end;
                long v = strtol(optarg, &end, 10);
                if (!*optarg || *end || v < 0 || v > INT_MAX / 1000)
                        return cli_usage_error("%s: --time '%s': expected seconds", argv[0], optarg);
                timeout = (int)v;
        }
        if (need_operand(argv[0], argc) || cli_open(&c))
                return 1;
        return for_each_instance(c, argc, argv, is_restart ? do_restart : do_stop, &timeout, true);
}

int cli_stop_main(int argc, char **argv)
{
        return stop_or_restart(argc, argv, false);
}

int cli_restart_main(int argc, char **argv)
{
        return stop_or_restart(argc, argv, true);
}

static int do_kill(InstContext *c, InstRecord *rec, void *data, Error **err)
{
        return inst_kill(c, rec, *(int *)data, err);
}

int cli_kill_main(int argc, char **argv)
{
        static const struct option longs[] = { { "signal", required_argument, NULL, 's' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int ch, sig = SIGKILL;

        CLI_FOR_EACH_OPT (ch, argc, argv, "s:", longs) {
                if (ch != 's')
                        return cli_bad_option(argv[0], ch, argv);
                sig = signal_parse(optarg);
                if (sig < 0)
                        return cli_usage_error("kill: unknown signal '%s'", optarg);
        }
        if (need_operand(argv[0], argc) || cli_open(&c))
                return 1;
        return for_each_instance(c, argc, argv, do_kill, &sig, true);
}

static int do_rm(InstContext *c, InstRecord *rec, void *data, Error **err)
{
        return inst_remove(c, rec, *(bool *)data, err);
}

int cli_rm_main(int argc, char **argv)
{
        static const struct option longs[] = { { "force", no_argument, NULL, 'f' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        bool is_force = false;
        int ch;

        CLI_FOR_EACH_OPT (ch, argc, argv, "f", longs) {
                if (ch != 'f')
                        return cli_bad_option(argv[0], ch, argv);
                is_force = true;
        }
        if (need_operand(argv[0], argc) || cli_open(&c))
                return 1;
        return for_each_instance(c, argc, argv, do_rm, &is_force, true);
}

int cli_exec_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
                { "detach", no_argument, NULL, 'd' },      { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },  { "workdir", required_argument, NULL, 'w' },
                {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_strv_ char **args = NULL, **env = NULL;
        InstExecOptions o = {};
        int ch, r, status = 0;

        CLI_FOR_EACH_OPT (ch, argc, argv, "itde:u:w:", longs) {
                switch (ch) {
                case 'i': break; /* stdin is always the caller's */
                case 't': o.is_tty = true; break;
                case 'd': o.is_detached = true; break;
                case 'e': strv_push(&env, optarg); break;
                case 'u': o.user = optarg; break;
                case 'w': o.workdir = optarg; break;
                default: return cli_bad_option(argv[0], ch, argv), 125;
                }
        }
        if (argc - optind < 2)
                return cli_usage_error("exec: a container and a command are required"), 125;
        for (int i = optind + 1; i < argc; i++)
                strv_push(&args, argv[i]);
        o.args = args;
        o.env = env;
        if (cli_open_bare(&c) != 0)
                return 125;
        /* A running container by its name needs no database. */
        r = inst_exec_running(c, argv[optind], &o, &status, &err);
        if (r != -ENOENT) {
                if (r < 0)
                        return cli_fail(r, err), run_failure_status(r);
                return status;
        }
        if (cli_open_db(c) != 0)
                return 125;
        r = inst_db_instance_find(c->db, argv[optind], &rec, &err);
        if (r < 0)
                return cli_fail(r, err), 125;
        r = inst_exec(c, rec, &o, &status, &err);
        if (r < 0)
                return cli_fail(r, err), run_failure_status(r);
        return status;
}

int cli_logs_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "follow", no_argument, NULL, 'f' }, { "timestamps", no_argument, NULL, 't' }, {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        bool is_follow = false, has_timestamps = false;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "ft", longs) {
                switch (ch) {
                case 'f': is_follow = true; break;
                case 't': has_timestamps = true; break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (argc - optind != 1)
                return cli_usage_error("logs: one container name or id is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_db_instance_find(c->db, argv[optind], &rec, &err);
        if (r >= 0)
                r = inst_logs(c, rec, is_follow, has_timestamps, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}
