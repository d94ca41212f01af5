/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vm.c: hull console, snapshot, copy, migrate, receive and info */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance/copy.h"
#include "instance/instance.h"
#include "runtime/cgroup.h"
#include "vm/kernel.h"
#include "vm/qemu.h"

/* The instance named by argv[optind]. */
static int find(InstContext *c, const char *key, InstRecord **ret)
{
        _cleanup_error_ Error *err = NULL;
        int r = inst_db_instance_find(c->db, key, ret, &err);

        return r < 0 ? cli_fail(r, err) : 0;
}

int cli_console_main(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (argc - optind != 1)
                return cli_usage_error("console: one instance name is required");
        if (cli_open(&c) != 0 || find(c, argv[optind], &rec) != 0)
                return 1;
        r = inst_console(c, rec, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

static int snapshot_main(int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, 'f' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *verb = argv[0], *format = NULL;
        bool needs_snap;
        int ch, r;

        if (strcmp(verb, "ls") == 0)
                verb = "list";
        else if (strcmp(verb, "rm") == 0)
                verb = "delete";
        needs_snap = strcmp(verb, "list") != 0;

        CLI_FOR_EACH_OPT_ANYWHERE (ch, argc, argv, "", longs) {
                if (ch != 'f')
                        return cli_bad_option(argv[0], ch, argv);
                format = optarg;
        }
        if (argc - optind != (needs_snap ? 2 : 1))
                return cli_usage_error("snapshot %s: %s", verb,
                                       needs_snap ? "an instance and a snapshot name are required"
                                                  : "one instance name is required");
        if (cli_open(&c) != 0 || find(c, argv[optind], &rec) != 0)
                return 1;
        if (strcmp(verb, "create") == 0)
                r = inst_snapshot_create(c, rec, argv[optind + 1], &j, &err);
        else if (strcmp(verb, "restore") == 0)
                r = inst_snapshot_restore(c, rec, argv[optind + 1], &j, &err);
        else if (strcmp(verb, "delete") == 0)
                r = inst_snapshot_delete(c, rec, argv[optind + 1], &err);
        else
                r = inst_snapshot_list(c, rec, &j, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (json_is_true(json_object_get(j, "restarted")))
                fprintf(stderr, "hull: note: '%s' was running: stopped, restored and started again\n", rec->name);
        if (strcmp(verb, "list") == 0 && !(format && strcmp(format, "json") == 0)) {
                size_t i;
                json_t *s;
                printf("%-24s %-10s %-12s %s\n", "NAME", "STATEFUL", "SIZE", "CREATED");
                json_array_foreach (j, i, s) {
                        time_t t = (time_t)json_integer_value(json_object_get(s, "created"));
                        char when[32];
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
                        printf("%-24s %-10s %-12lld %s\n", json_string_value(json_object_get(s, "name")),
                               json_is_true(json_object_get(s, "stateful")) ? "yes" : "no",
                               (long long)json_integer_value(json_object_get(s, "size")), when);
                }
        } else if (j && (strcmp(verb, "list") == 0 || (format && strcmp(format, "json") == 0))) {
                cli_print_json(j);
        }
        return 0;
}

int cli_snapshot_main(int argc, char **argv)
{
        static const CliCommand cmds[] = {
                { "create", snapshot_main },
                { "list", snapshot_main },
                { "ls", snapshot_main, .is_alias = true },
                { "restore", snapshot_main },
                { "delete", snapshot_main },
                { "rm", snapshot_main, .is_alias = true },
        };
        return cli_dispatch("snapshot", cmds, ARRAY_SIZE(cmds), argc, argv);
}

int cli_copy_main(int argc, char **argv)
{
        static const struct option longs[] = { { "from-snapshot", required_argument, NULL, 's' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL, *copy = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_strv_ char **dropped = NULL;
        const char *snap = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT_ANYWHERE (ch, argc, argv, "", longs) {
                if (ch != 's')
                        return cli_bad_option(argv[0], ch, argv);
                snap = optarg;
        }
        if (argc - optind != 2)
                return cli_usage_error("copy: usage: hull copy NAME NEW [--from-snapshot SNAP]");
        if (cli_open(&c) != 0 || find(c, argv[optind], &rec) != 0)
                return 1;
        r = inst_copy(c, rec, argv[optind + 1], snap, &copy, &dropped, &err);
        if (r < 0)
                return cli_fail(r, err);
        for (size_t i = 0; dropped && dropped[i]; i++)
                fprintf(stderr, "hull: note: published port '%s' of '%s' is not copied: a host port has one owner\n",
                        dropped[i], rec->name);
        printf("%s\n", copy->id);
        return 0;
}

int cli_migrate_main(int argc, char **argv)
{
        static const struct option longs[] = { { "to", required_argument, NULL, 't' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *to = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT_ANYWHERE (ch, argc, argv, "", longs) {
                if (ch != 't')
                        return cli_bad_option(argv[0], ch, argv);
                to = optarg;
        }
        if (argc - optind != 1 || !to)
                return cli_usage_error("migrate: usage: hull migrate NAME --to tcp://HOST:PORT");
        if (cli_open(&c) != 0 || find(c, argv[optind], &rec) != 0)
                return 1;
        r = inst_migrate_send(c, rec, to, &j, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (rec->kind != INST_KIND_VM) {
                if (json_is_true(json_object_get(j, "was_running")))
                        fprintf(stderr, "hull: note: '%s' was running: stopped, moved and started on the target\n",
                                rec->name);
                printf("migrated '%s': total %lld ms, image sent: %lld bytes\n", rec->name,
                       (long long)json_integer_value(json_object_get(j, "total_ms")),
                       (long long)json_integer_value(json_object_get(j, "image_bytes")));
                return 0;
        }
        printf("migrated '%s': total %lld ms, downtime %lld ms, %lld bytes\n", argv[optind],
               (long long)json_integer_value(json_object_get(j, "total_ms")),
               (long long)json_integer_value(json_object_get(j, "downtime_ms")),
               (long long)json_integer_value(json_object_get(j, "transferred")));
        return 0;
}

int cli_receive_main(int argc, char **argv)
{
        static const struct option longs[] = { { "listen", required_argument, NULL, 'l' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ char *name = NULL;
        const char *uri = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs) {
                if (ch != 'l')
                        return cli_bad_option(argv[0], ch, argv);
                uri = optarg;
        }
        if (argc != optind || !uri)
                return cli_usage_error("receive: usage: hull receive --listen tcp://HOST:PORT");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_migrate_receive(c, uri, &name, &err);
        if (r < 0)
                return cli_fail(r, err);
        printf("%s\n", name);
        return 0;
}

int cli_info_main(int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, 'f' }, {} };
        _cleanup_(vm_kernel_done) VmKernel k = {};
        _cleanup_free_ char *reason = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *format = NULL;
        RtCgroupMode mode;
        VmAccel accel;
        int ch;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs) {
                if (ch != 'f')
                        return cli_bad_option(argv[0], ch, argv);
                format = optarg;
        }
        vm_accel_detect(&accel, &reason);
        j = json_pack("{s:s, s:{s:s, s:s, s:o}}", "cgroups",
                      rt_cgroup_mode(&mode, NULL) >= 0 ? rt_cgroup_mode_name(mode) : "unknown", "vm", "accelerator",
                      vm_accel_name(accel), "reason", reason, "kernel",
                      vm_kernel_find(NULL, &k, NULL) >= 0 ? json_string(k.path) : json_null());
        if (format && strcmp(format, "json") == 0) {
                cli_print_json(j);
                return 0;
        }
        printf("cgroups:        %s\n", json_string_value(json_object_get(j, "cgroups")));
        printf("VM accelerator: %s (%s)\n", vm_accel_name(accel), reason);
        printf("VM kernel:      %s\n", k.path ? k.path : "none found (install linux-image-cloud-amd64)");
        return 0;
}
