/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* autostart.c: hull autostart (at boot) and the hidden __restart that an instance's monitor runs */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "instance/instance.h"

/* Starts one instance marked for autostart unless it runs; *ret_is_started tells whether it did. */
static int autostart_one(InstContext *c, InstRecord *rec, bool *ret_is_started, Error **err)
{
        InstState state;
        int r;

        *ret_is_started = false;
        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state == INST_STATE_RUNNING || state == INST_STATE_PAUSED)
                return 0;
        r = inst_start_detached(c, rec, err);
        if (r < 0)
                return r;
        *ret_is_started = true;
        return 0;
}

/* hull autostart: every instance with --autostart or --restart always that is not running is started
 * (at boot, from a unit or an init script); each one started is printed; one that fails does not keep
 * the others from starting, and makes the exit status 1. */
int cli_autostart_main(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        InstRecord **recs = NULL;
        size_t n = 0;
        int ch, r, ret = 0;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (optind < argc)
                return cli_usage_error("autostart: unexpected argument '%s'", argv[optind]);
        if (cli_open(&c) != 0)
                return 1;
        /* What a crash or the reboot left behind (mounts, namespaces, rules) goes first. */
        inst_sweep_orphans(c);
        r = inst_db_instance_list(c->db, &recs, &n, &err);
        if (r < 0)
                return cli_fail(r, err);
        for (size_t i = 0; i < n; i++) {
                _cleanup_error_ Error *e = NULL;
                bool is_started;

                if (inst_is_autostart(recs[i])) {
                        r = autostart_one(c, recs[i], &is_started, &e);
                        if (r < 0) {
                                error_wrap(&e, r, "'%s'", recs[i]->name);
                                ret = cli_fail(r, e);
                        } else if (is_started) {
                                printf("%s\n", recs[i]->name);
                                fflush(stdout);
                        }
                }
                inst_record_free(recs[i]);
        }
        free(recs);
        return ret;
}

/* hull __restart ID: run by an instance's monitor once it exited (not in the usage text): its restart
 * policy decides. Waits the delay before a restart. */
int cli_policy_restart_main(int argc, char **argv)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        bool is_restarted;
        int r;

        if (argc != 2)
                return cli_usage_error("__restart: an instance id is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_restart_after_exit(c, argv[1], &is_restarted, &err);
        return r < 0 ? cli_fail(r, err) : 0;
}
