/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c: an instance's run options, kept as JSON in its record so that start can rebuild it */
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance.h"

void inst_run_options_done(InstRunOptions *o)
{
        free(o->name);
        strv_free(o->cmd);
        strv_free(o->entrypoint);
        strv_free(o->env);
        for (size_t i = 0; i < o->n_binds; i++) {
                free(o->binds[i].source);
                free(o->binds[i].destination);
        }
        free(o->binds);
        free(o->user);
        free(o->workdir);
        free(o->hostname);
        free(o->network);
        strv_free(o->ports);
        free(o->kernel);
        strv_free(o->cap_add);
        strv_free(o->cap_drop);
        free(o->stop_signal);
        free(o->restart);
        free(o->userns);
        *o = (InstRunOptions){};
}

static json_t *strv_json(char *const *v)
{
        json_t *a;

        if (!v)
                return json_null();
        a = json_array();
        for (; *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *str_json(const char *s)
{
        return s ? json_string(s) : json_null();
}

json_t *inst_run_options_to_json(const InstRunOptions *o)
{
        json_t *binds = json_array();

        for (size_t i = 0; i < o->n_binds; i++)
                json_array_append_new(binds, json_pack("{s:s, s:s, s:b}", "source", o->binds[i].source,
                                                       "destination", o->binds[i].destination, "readonly",
                                                       o->binds[i].is_readonly));
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:f, s:I, s:o, s:o, s:b, s:b, s:b, s:b, "
                         "s:b, s:b, s:i, s:o, s:o, s:b, s:b, s:o, s:o, s:o, s:b}",
                         "cmd", strv_json(o->cmd), "entrypoint", strv_json(o->entrypoint), "env",
                         strv_json(o->env), "binds", binds, "user", str_json(o->user), "workdir",
                         str_json(o->workdir), "hostname", str_json(o->hostname), "network",
                         str_json(o->network), "memory", (json_int_t)o->memory, "cpus", o->cpus, "pids_limit",
                         (json_int_t)o->pids_limit, "cap_add", strv_json(o->cap_add), "cap_drop",
                         strv_json(o->cap_drop), "read_only", o->is_read_only, "tty", o->is_tty, "interactive",
                         o->is_interactive, "detach", o->is_detached, "auto_remove", o->is_auto_remove,
                         "privileged", o->is_privileged, "stop_timeout", o->stop_timeout, "ports",
                         strv_json(o->ports), "kernel", str_json(o->kernel), "vm", o->is_vm, "system",
                         o->is_system, "stop_signal", str_json(o->stop_signal), "restart", str_json(o->restart),
                         "userns", str_json(o->userns), "autostart", o->is_autostart);
}

/* A string member copied, or left NULL. */
static int get_str(const json_t *j, const char *key, char **ret, Error **err)
{
        const char *s = NULL;
        int r = json_get_string(j, key, "options", &s, err);

        if (r > 0)
                *ret = xstrdup(s);
        return r;
}

int inst_run_options_from_json(const json_t *j, InstRunOptions *ret, Error **err)
{
        InstRunOptions o = { .stop_timeout = -1 };
        json_t *binds = NULL, *v;
        int64_t n;
        size_t i;
        int r = 0;

        if (json_get_strv(j, "cmd", "options", &o.cmd, err) < 0 ||
            json_get_strv(j, "entrypoint", "options", &o.entrypoint, err) < 0 ||
            json_get_strv(j, "env", "options", &o.env, err) < 0 ||
            json_get_strv(j, "cap_add", "options", &o.cap_add, err) < 0 ||
            json_get_strv(j, "cap_drop", "options", &o.cap_drop, err) < 0 ||
            json_get_strv(j, "ports", "options", &o.ports, err) < 0 || get_str(j, "user", &o.user, err) < 0 ||
            get_str(j, "workdir", &o.workdir, err) < 0 || get_str(j, "hostname", &o.hostname, err) < 0 ||
            get_str(j, "network", &o.network, err) < 0 || json_get_int64(j, "memory", "options", &o.memory, err) < 0 ||
            json_get_int64(j, "pids_limit", "options", &o.pids_limit, err) < 0 ||
            json_get_bool(j, "read_only", "options", &o.is_read_only, err) < 0 ||
            json_get_bool(j, "tty", "options", &o.is_tty, err) < 0 ||
            json_get_bool(j, "interactive", "options", &o.is_interactive, err) < 0 ||
            json_get_bool(j, "detach", "options", &o.is_detached, err) < 0 ||
            json_get_bool(j, "auto_remove", "options", &o.is_auto_remove, err) < 0 ||
            json_get_bool(j, "privileged", "options", &o.is_privileged, err) < 0 ||
            json_get_bool(j, "vm", "options", &o.is_vm, err) < 0 ||
            json_get_bool(j, "system", "options", &o.is_system, err) < 0 || get_str(j, "kernel", &o.kernel, err) < 0 ||
            get_str(j, "stop_signal", &o.stop_signal, err) < 0 || get_str(j, "restart", &o.restart, err) < 0 ||
            get_str(j, "userns", &o.userns, err) < 0 ||
            json_get_bool(j, "autostart", "options", &o.is_autostart, err) < 0 ||
            json_get_array(j, "binds", "options", &binds, err) < 0) {
                r = -EINVAL;
                goto fail;
        }
        v = json_object_get(j, "cpus");
        if (json_is_number(v))
                o.cpus = json_number_value(v);
        if (json_get_int64(j, "stop_timeout", "options", &n, err) > 0)
                o.stop_timeout = (int)n;
        json_array_foreach (binds, i, v) {
                InstBindSpec *b = xappend(o.binds, o.n_binds);
                const char *src = NULL, *dst = NULL;
                if (json_get_string(v, "source", "options.binds", &src, err) <= 0 ||
                    json_get_string(v, "destination", "options.binds", &dst, err) <= 0) {
                        r = error_setf(err, EINVAL, "options.binds: a bind needs a source and a destination");
                        goto fail;
                }
                b->source = xstrdup(src);
                b->destination = xstrdup(dst);
                json_get_bool(v, "readonly", "options.binds", &b->is_readonly, NULL);
        }
        *ret = o;
        return 0;
fail:
        inst_run_options_done(&o);
        return r;
}
