/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ps.c: hull ps, inspect and stats */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance/images.h"
#include "instance/instance.h"

/* "2026-11-22T10:00:00Z" */
static char *rfc3339(int64_t t)
{
        struct tm tm;
        time_t tt = (time_t)t;
        char buf[32];

        gmtime_r(&tt, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

/* "3 minutes ago" */
static void ago(int64_t t, char *buf, size_t size)
{
        int64_t d = (int64_t)time(NULL) - t;

        if (d < 60)
                snprintf(buf, size, "%lld seconds ago", (long long)(d < 0 ? 0 : d));
        else if (d < 3600)
                snprintf(buf, size, "%lld minutes ago", (long long)(d / 60));
        else if (d < 86400)
                snprintf(buf, size, "%lld hours ago", (long long)(d / 3600));
        else
                snprintf(buf, size, "%lld days ago", (long long)(d / 86400));
}

/* The command line the instance runs, for listings. */
static char *command_of(const InstRecord *rec)
{
        _cleanup_json_ json_t *o = NULL;
        _cleanup_strv_ char **cmd = NULL, **ep = NULL;
        size_t len = 0;
        char *s = xstrdup("");

        if (json_parse(rec->options, strlen(rec->options), "options", &o, NULL) < 0)
                return s;
        json_get_strv(o, "entrypoint", "options", &ep, NULL);
        json_get_strv(o, "cmd", "options", &cmd, NULL);
        for (int k = 0; k < 2; k++)
                for (char **p = k ? cmd : ep; p && *p; p++) {
                        s = xrealloc(s, len + strlen(*p) + 2);
                        len += (size_t)sprintf(s + len, "%s%s", len ? " " : "", *p);
                }
        return s;
}

/* An instance's address on its network, or "". */
static const char *address_of(const json_t *network)
{
        const char *a = json_string_value(json_object_get(network, "address"));
        return a ? a : "";
}

/* Published ports as docker ps lists them: "0.0.0.0:8080->80/tcp, ...". */
static char *ports_text(const json_t *ports)
{
        char *s = NULL;
        size_t len = 0, i;
        json_t *p;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                abort();
        json_array_foreach (ports, i, p)
                fprintf(f, "%s%s", i ? ", " : "", json_string_value(json_object_get(p, "text")));
        fclose(f);
        return s;
}

int cli_ps_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "all", no_argument, NULL, 'a' }, { "format", required_argument, NULL, 'F' },
                { "quiet", no_argument, NULL, 'q' }, {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *out = json_array();
        InstRecord **recs = NULL;
        size_t n = 0;
        bool is_all = false, is_json = false, is_quiet = false;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "aq", longs) {
                switch (ch) {
                case 'a': is_all = true; break;
                case 'q': is_quiet = true; break;
                case 'F':
                        if (strcmp(optarg, "json") != 0)
                                return cli_usage_error("ps: --format '%s': only 'json' is known", optarg);
                        is_json = true;
                        break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (optind < argc)
                return cli_usage_error("ps: unexpected argument '%s'", argv[optind]);
        if (cli_open(&c) != 0)
                return 1;
        /* What a crashed command left (mounts, namespaces, rules) is tidied before it is listed. */
        inst_sweep_orphans(c);
        r = inst_db_instance_list(c->db, &recs, &n, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (!is_json && !is_quiet)
                printf("%-12s  %-24s  %-20s  %-16s  %-22s  %-24s  %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
                       "CREATED", "STATUS", "PORTS", "NAMES");
        for (size_t i = 0; i < n; i++) {
                InstRecord *rec = recs[i];
                InstState state;
                char when[48], status[64];

                r = inst_state(c, rec, &state, NULL, &err);
                if (r < 0) {
                        cli_fail(r, err);
                        err = error_free(err);
                        continue;
                }
                if (!is_all && state != INST_STATE_RUNNING && state != INST_STATE_PAUSED)
                        continue;
                _cleanup_json_ json_t *network = NULL, *ports = NULL;
                r = inst_net_describe(c, rec, &network, &ports, &err);
                if (r < 0) {
                        cli_fail(r, err);
                        err = error_free(err);
                        continue;
                }
                if (is_json) {
                        _cleanup_free_ char *created = rfc3339(rec->created);
                        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:o}", "id",
                                                             rec->id, "name", rec->name, "kind",
                                                             inst_kind_name(rec->kind), "image", rec->image_name,
                                                             "state", inst_state_name(state), "created", created,
                                                             "ip", address_of(network), "ports", ports, "exit_code",
                                                             state == INST_STATE_EXITED && rec->exit_code >= 0
                                                                     ? json_integer(rec->exit_code)
                                                                     : json_null()));
                        continue;
                }
                if (is_quiet) {
                        printf("%.12s\n", rec->id);
                        continue;
                }
                _cleanup_free_ char *cmd = command_of(rec);
                ago(rec->created, when, sizeof(when));
                if (state == INST_STATE_EXITED)
                        snprintf(status, sizeof(status), "Exited (%d)", rec->exit_code);
                else
                        snprintf(status, sizeof(status), "%s", inst_state_name(state));
                _cleanup_free_ char *port_text = ports_text(ports);
                printf("%.12s  %-24.24s  %-20.20s  %-16s  %-22s  %-24s  %s\n", rec->id, rec->image_name, cmd, when,
                       status, port_text, rec->name);
        }
        for (size_t i = 0; i < n; i++)
                inst_record_free(recs[i]);
        free(recs);
        if (is_json)
                cli_print_json(out);
        return 0;
}

int cli_inspect_main(int argc, char **argv)
{
        static const struct option longs[] = { { "type", required_argument, NULL, 'T' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_json_ json_t *out = json_array();
        const char *type = NULL;
        int ch, ret = 0;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs) {
                if (ch != 'T')
                        return cli_bad_option(argv[0], ch, argv);
                type = optarg;
        }
        if (optind >= argc)
                return cli_usage_error("inspect: a container or image is required");
        if (cli_open(&c) != 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                _cleanup_(inst_image_freep) InstImage *img = NULL;
                _cleanup_error_ Error *err = NULL;
                json_t *j = NULL;
                int r = -ENOENT;

                if (!type || strcmp(type, "container") == 0) {
                        r = inst_db_instance_find(c->db, argv[i], &rec, NULL);
                        if (r >= 0)
                                r = inst_inspect(c, rec, &j, &err);
                }
                if (r == -ENOENT && (!type || strcmp(type, "image") == 0)) {
                        r = inst_image_find(c, argv[i], &img, NULL);
                        if (r >= 0)
                                r = inst_image_inspect(c, img, &j, &err);
                }
                if (r == -ENOENT && !err)
                        r = error_setf(&err, ENOENT, "no such %s '%s'", type ? type : "container or image", argv[i]);
                if (r < 0)
                        ret = cli_fail(r, err);
                else
                        json_array_append_new(out, j);
        }
        cli_print_json(out);
        return ret;
}

int cli_stats_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "format", required_argument, NULL, 'F' }, { "no-stream", no_argument, NULL, 'N' }, {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_json_ json_t *out = json_array();
        bool is_json = false;
        int ch, ret = 0;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs) {
                if (ch == 'F' && strcmp(optarg, "json") == 0)
                        is_json = true;
                else if (ch != 'N')
                        return cli_bad_option(argv[0], ch, argv);
        }
        if (optind >= argc)
                return cli_usage_error("stats: a container name or id is required");
        if (cli_open(&c) != 0)
                return 1;
        if (!is_json)
                printf("%-20s  %12s  %12s  %14s  %6s\n", "NAME", "MEM USAGE", "MEM LIMIT", "CPU SECONDS", "PIDS");
        for (int i = optind; i < argc; i++) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                _cleanup_error_ Error *err = NULL;
                json_t *j = NULL;
                int r = inst_db_instance_find(c->db, argv[i], &rec, &err);
                if (r >= 0)
                        r = inst_stats(c, rec, &j, &err);
                if (r < 0) {
                        ret = cli_fail(r, err);
                        continue;
                }
                if (!is_json) {
                        json_int_t mem = 0, lim = 0, cpu = 0, pids = 0;
                        json_unpack(j, "{s?I, s?I, s?I, s?I}", "memory_usage", &mem, "memory_limit", &lim,
                                    "cpu_usage_ns", &cpu, "pids", &pids);
                        char limit[32];
                        /* No limit reads as "max" (-1 here) on v2 and as a page-rounded INT64_MAX on v1. */
                        if (lim <= 0 || lim >= (json_int_t)1 << 62)
                                snprintf(limit, sizeof(limit), "unlimited");
                        else
                                snprintf(limit, sizeof(limit), "%.1fMi", (double)lim / 1048576.0);
                        printf("%-20s  %10.1fMi  %12s  %14.3f  %6lld\n", rec->name, (double)mem / 1048576.0, limit,
                               (double)cpu / 1e9, (long long)pids);
                }
                json_array_append_new(out, j);
        }
        if (is_json)
                cli_print_json(out);
        return ret;
}
