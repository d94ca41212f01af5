/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network.c: hull network create|ls|rm|inspect */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/alloc.h"
#include "common/json.h"
#include "instance/instance.h"

static int network_create(int argc, char **argv)
{
        static const struct option longs[] = { { "subnet", required_argument, NULL, 's' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        const char *subnet = NULL;
        int ch, r;

        /* Flags before or after the name, as docker takes them. */
        for (optind = 1, opterr = 0; (ch = getopt_long(argc, argv, ":", longs, NULL)) != -1;) {
                switch (ch) {
                case 's': subnet = optarg; break;
                default: return cli_bad_option("network create", ch, argv);
                }
        }
        if (argc - optind != 1)
                return cli_usage_error("network create: one network name is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_network_create(c, argv[optind], subnet, &err);
        if (r < 0)
                return cli_fail(r, err);
        printf("%s\n", argv[optind]);
        return 0;
}

static int network_list(int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, 'f' },
                                               { "quiet", no_argument, NULL, 'q' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *nets = NULL;
        bool is_json = false, is_quiet = false;
        json_t *n;
        size_t i;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "q", longs) {
                switch (ch) {
                case 'f':
                        if (strcmp(optarg, "json") != 0)
                                return cli_usage_error("network ls: --format '%s': only 'json' is known", optarg);
                        is_json = true;
                        break;
                case 'q': is_quiet = true; break;
                default: return cli_bad_option("network ls", ch, argv);
                }
        }
        if (optind < argc)
                return cli_usage_error("network ls: unexpected argument '%s'", argv[optind]);
        if (cli_open(&c) != 0)
                return 1;
        inst_sweep_orphans(c);
        r = inst_network_list(c, &nets, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (is_json) {
                cli_print_json(nets);
                return 0;
        }
        if (!is_quiet)
                printf("%-20s  %-18s  %-8s  %s\n", "NAME", "SUBNET", "BRIDGE", "INSTANCES");
        json_array_foreach (nets, i, n) {
                const char *name = json_string_value(json_object_get(n, "name"));
                if (is_quiet) {
                        printf("%s\n", name);
                        continue;
                }
                printf("%-20s  %-18s  %-8s  %zu\n", name, json_string_value(json_object_get(n, "subnet")),
                       json_string_value(json_object_get(n, "bridge")),
                       json_array_size(json_object_get(n, "instances")));
        }
        return 0;
}

static int network_remove(int argc, char **argv)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int status = 0;

        if (argc < 2)
                return cli_usage_error("network rm: at least one network name is required");
        if (cli_open(&c) != 0)
                return 1;
        for (int i = 1; i < argc; i++) {
                _cleanup_error_ Error *err = NULL;
                int r = inst_network_remove(c, argv[i], &err);
                if (r < 0)
                        status = cli_fail(r, err);
                else
                        printf("%s\n", argv[i]);
        }
        return status;
}

static int network_inspect(int argc, char **argv)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *nets = NULL, *out = json_array();
        int status = 0, r;

        if (argc < 2)
                return cli_usage_error("network inspect: at least one network name is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_network_list(c, &nets, &err);
        if (r < 0)
                return cli_fail(r, err);
        for (int i = 1; i < argc; i++) {
                json_t *n, *found = NULL;
                size_t k;
                json_array_foreach (nets, k, n)
                        if (strcmp(json_string_value(json_object_get(n, "name")), argv[i]) == 0)
                                found = n;
                if (found) {
                        json_array_append(out, found);
                        continue;
                }
                error_setf(&err, ENOENT, "no such network '%s'", argv[i]);
                status = cli_fail(-ENOENT, err);
                err = error_free(err);
        }
        cli_print_json(out);
        return status;
}

int cli_network_main(int argc, char **argv)
{
        static const CliCommand subs[] = {
                { "create", network_create },
                { "ls", network_list },
                { "list", network_list, .is_alias = true },
                { "rm", network_remove },
                { "remove", network_remove, .is_alias = true },
                { "inspect", network_inspect },
        };

        return cli_dispatch("network", subs, ARRAY_SIZE(subs), argc, argv);
}
