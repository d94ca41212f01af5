/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-resources.c: linux.resources validated into RtResources, and the device rules it implies */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/cgroup-internal.h"

/* ---- linux.resources ---- */

#define USE(res, c) ((res)->uses |= 1u << (c))

typedef struct IntField {
        const char *key;
        size_t offset; /* of the int64_t in RtResources */
        int64_t min, max;
        bool is_zero_unset; /* 0 means "not set", as runc reads it */
        CgController ctrl;  /* what a value set here is written to */
} IntField;

#define FIELD(k, member, lo, hi, z, c) {k, offsetof(RtResources, member), lo, hi, z, c}

static int parse_ints(const json_t *obj, const char *w, const IntField *f, size_t n, RtResources *res, Error **err)
{
        for (size_t i = 0; i < n; i++) {
                int64_t v;
                int r = json_get_int_range(obj, f[i].key, w, f[i].min, f[i].max, &v, err);
                if (r < 0)
                        return r;
                if (r == 0 || (v == 0 && f[i].is_zero_unset))
                        continue;
                *(int64_t *)(void *)((char *)res + f[i].offset) = v;
                USE(res, f[i].ctrl);
        }
        return 0;
}

static int get_required(const json_t *obj, const char *key, const char *w, int64_t min, int64_t max, int64_t *ret,
                        Error **err)
{
        int r = json_get_int_range(obj, key, w, min, max, ret, err);
        return r == 0 ? error_setf(err, EINVAL, "%s.%s: required", w, key) : r;
}

static int parse_memory(const json_t *mem, const char *w, RtResources *res, Error **err)
{
        static const IntField f[] = {
                FIELD("limit", memory.limit, -1, INT64_MAX, true, CG_MEMORY),
                FIELD("reservation", memory.reservation, -1, INT64_MAX, true, CG_MEMORY),
                FIELD("swap", memory.swap, -1, INT64_MAX, true, CG_MEMORY),
                FIELD("swappiness", memory.swappiness, -1, 100, false, CG_MEMORY),
        };
        int64_t ignored;
        bool b;
        int r;

        if (parse_ints(mem, w, f, ARRAY_SIZE(f), res, err) < 0)
                return -EINVAL;
        if (res->memory.swappiness == -1) /* what docker sends for "leave it" */
                res->memory.swappiness = CG_UNSET;
        /* Kernel memory limits are gone from modern kernels; runc accepts and ignores them too. */
        for (int i = 0; i < 2; i++) {
                const char *k = i ? "kernelTCP" : "kernel";
                r = json_get_int64(mem, k, w, &ignored, err);
                if (r < 0)
                        return r;
                if (r > 0)
                        log_debug("%s.%s is ignored: kernel memory accounting is not configurable", w, k);
        }
        r = json_get_bool(mem, "disableOOMKiller", w, &b, err);
        if (r > 0) {
                res->memory.disable_oom_killer = b;
                USE(res, CG_MEMORY);
        }
        if (r < 0 || json_get_bool(mem, "useHierarchy", w, &b, err) < 0 ||
            json_get_bool(mem, "checkBeforeUpdate", w, &res->memory.check_before_update, err) < 0)
                return -EINVAL;
        return 0;
}

static int parse_cpu_list(const json_t *cpu, const char *key, const char *w, RtResources *res, char **ret,
                          Error **err)
{
        const char *s = NULL;
        int r = json_get_string(cpu, key, w, &s, err);
        if (r <= 0 || !*s)
                return r;
        if (strspn(s, "0123456789,-") != strlen(s))
                return error_setf(err, EINVAL, "%s.%s: '%s' is not a list like '0-2,4'", w, key, s);
        *ret = xstrdup(s);
        USE(res, CG_CPUSET);
        return 0;
}

static int parse_cpu(const json_t *cpu, const char *w, RtResources *res, Error **err)
{
        static const IntField f[] = {
                FIELD("shares", cpu.shares, 0, INT64_MAX, true, CG_CPU),
                FIELD("quota", cpu.quota, -1, INT64_MAX, true, CG_CPU),
                FIELD("burst", cpu.burst, 0, INT64_MAX, false, CG_CPU),
                FIELD("period", cpu.period, 0, INT64_MAX, true, CG_CPU),
                FIELD("realtimeRuntime", cpu.rt_runtime, -1, INT64_MAX, false, CG_CPU),
                FIELD("realtimePeriod", cpu.rt_period, 0, INT64_MAX, true, CG_CPU),
                FIELD("idle", cpu.idle, 0, 1, false, CG_CPU),
        };
        if (parse_ints(cpu, w, f, ARRAY_SIZE(f), res, err) < 0 ||
            parse_cpu_list(cpu, "cpus", w, res, &res->cpu.cpus, err) < 0 ||
            parse_cpu_list(cpu, "mems", w, res, &res->cpu.mems, err) < 0)
                return -EINVAL;
        return 0;
}

static int parse_pids(const json_t *pids, const char *w, RtResources *res, Error **err)
{
        int64_t v;
        if (get_required(pids, "limit", w, INT64_MIN + 1, INT64_MAX, &v, err) < 0)
                return -EINVAL;
        /* As runc: 0 leaves the limit alone, any negative value means no limit. */
        if (v != 0) {
                res->pids_limit = v < 0 ? -1 : v;
                USE(res, CG_PIDS);
        }
        return 0;
}

static int parse_access(const char *s, const char *w, unsigned *ret, Error **err)
{
        unsigned acc = 0;
        for (const char *p = s; *p; p++) {
                const char *bits = "mrw"; /* CG_ACC_MKNOD, _READ, _WRITE: 1, 2, 4 */
                unsigned bit = strchr(bits, *p) ? 1u << (strchr(bits, *p) - bits) : 0;
                if (!bit)
                        return error_setf(err, EINVAL, "%s.access: '%s' is not made of 'r', 'w', 'm'", w, s);
                acc |= bit;
        }
        if (!acc)
                return error_setf(err, EINVAL, "%s.access: must not be empty", w);
        *ret = acc;
        return 0;
}

static int parse_device_rule(const json_t *e, const char *w, CgDeviceRule *d, Error **err)
{
        const char *type = "a", *access = "rwm";
        int r = json_get_bool(e, "allow", w, &d->is_allow, err);

        if (r == 0)
                return error_setf(err, EINVAL, "%s.allow: required", w);
        d->major = d->minor = -1; /* null or absent: any */
        if (r < 0 || json_get_string(e, "type", w, &type, err) < 0 ||
            json_get_string(e, "access", w, &access, err) < 0 ||
            json_get_int_range(e, "major", w, -1, UINT32_MAX, &d->major, err) < 0 ||
            json_get_int_range(e, "minor", w, -1, UINT32_MAX, &d->minor, err) < 0)
                return -EINVAL;
        if (strlen(type) != 1 || !strchr("abc", type[0]))
                return error_setf(err, EINVAL, "%s.type: '%s' is not one of 'a', 'b', 'c'", w, type);
        d->type = type[0];
        return parse_access(access, w, &d->access, err);
}

static int parse_devices(const json_t *arr, const char *w, RtResources *res, Error **err)
{
        const json_t *e;
        size_t i;

        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *we = xasprintf("%s[%zu]", w, i);
                if (!json_is_object(e))
                        return error_setf(err, EINVAL, "%s: expected an object", we);
                if (parse_device_rule(e, we, xappend(res->devices, res->n_devices), err) < 0)
                        return -EINVAL;
                USE(res, CG_DEVICES); /* an empty list leaves the device rules as they are, like an absent one */
        }
        return 0;
}

static int parse_dev_rates(const json_t *blk, const char *key, const char *w, RtResources *res, CgThrottle t,
                           Error **err)
{
        json_t *arr = NULL;
        const json_t *e;
        size_t i;
        int r = json_get_array(blk, key, w, &arr, err);

        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *we = xasprintf("%s.%s[%zu]", w, key, i);
                CgDevRate *d = xappend(res->blkio.throttle[t], res->blkio.n_throttle[t]);
                if (get_required(e, "major", we, 0, UINT32_MAX, &d->major, err) < 0 ||
                    get_required(e, "minor", we, 0, UINT32_MAX, &d->minor, err) < 0 ||
                    get_required(e, "rate", we, 0, INT64_MAX, &d->rate, err) < 0)
                        return -EINVAL;
                USE(res, CG_BLKIO);
        }
        return 0;
}

static int parse_blkio(const json_t *blk, const char *w, RtResources *res, Error **err)
{
        static const char *const throttles[_CG_THROTTLE_MAX] = {
                "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice"};
        static const IntField f[] = {
                FIELD("weight", blkio.weight, 0, 1000, true, CG_BLKIO),
                FIELD("leafWeight", blkio.leaf_weight, 0, 1000, true, CG_BLKIO),
        };
        json_t *arr = NULL;
        const json_t *e;
        size_t i;

        if (parse_ints(blk, w, f, ARRAY_SIZE(f), res, err) < 0 ||
            json_get_array(blk, "weightDevice", w, &arr, err) < 0)
                return -EINVAL;
        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *we = xasprintf("%s.weightDevice[%zu]", w, i);
                CgDevWeight *d = xappend(res->blkio.weight_devices, res->blkio.n_weight_devices);
                d->weight = d->leaf_weight = CG_UNSET;
                if (get_required(e, "major", we, 0, UINT32_MAX, &d->major, err) < 0 ||
                    get_required(e, "minor", we, 0, UINT32_MAX, &d->minor, err) < 0 ||
                    json_get_int_range(e, "weight", we, 1, 1000, &d->weight, err) < 0 ||
                    json_get_int_range(e, "leafWeight", we, 1, 1000, &d->leaf_weight, err) < 0)
                        return -EINVAL;
                USE(res, CG_BLKIO);
        }
        for (CgThrottle t = 0; t < _CG_THROTTLE_MAX; t++)
                if (parse_dev_rates(blk, throttles[t], w, res, t, err) < 0)
                        return -EINVAL;
        return 0;
}

static int parse_hugepages(const json_t *arr, const char *w, RtResources *res, Error **err)
{
        const json_t *e;
        size_t i;

        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *we = xasprintf("%s[%zu]", w, i);
                CgNamed *h = xappend(res->hugepages, res->n_hugepages);
                const char *size = NULL, *unit;
                if (json_get_string(e, "pageSize", we, &size, err) <= 0)
                        return error_setf(err, EINVAL, "%s.pageSize: a string is required", we);
                unit = size + strspn(size, "0123456789");
                if (unit == size || (strcmp(unit, "KB") != 0 && strcmp(unit, "MB") != 0 && strcmp(unit, "GB") != 0))
                        return error_setf(err, EINVAL, "%s.pageSize: '%s' is not a size like '2MB'", we, size);
                h->name = xstrdup(size);
                if (get_required(e, "limit", we, -1, INT64_MAX, &h->n1, err) < 0)
                        return -EINVAL;
                USE(res, CG_HUGETLB);
        }
        return 0;
}

static int parse_network(const json_t *net, const char *w, RtResources *res, Error **err)
{
        static const IntField f[] = {FIELD("classID", net_class_id, 0, UINT32_MAX, false, CG_NET_CLS)};
        json_t *arr = NULL;
        const json_t *e;
        size_t i;

        if (parse_ints(net, w, f, ARRAY_SIZE(f), res, err) < 0 ||
            json_get_array(net, "priorities", w, &arr, err) < 0)
                return -EINVAL;
        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *we = xasprintf("%s.priorities[%zu]", w, i);
                CgNamed *p = xappend(res->net_priorities, res->n_net_priorities);
                const char *name = NULL;
                if (json_get_string(e, "name", we, &name, err) <= 0 || !*name || strchr(name, ' '))
                        return error_setf(err, EINVAL, "%s.name: an interface name is required", we);
                p->name = xstrdup(name);
                if (get_required(e, "priority", we, 0, UINT32_MAX, &p->n1, err) < 0)
                        return -EINVAL;
                USE(res, CG_NET_PRIO);
        }
        return 0;
}

static int parse_rdma(const json_t *obj, const char *w, RtResources *res, Error **err)
{
        const char *dev;
        const json_t *e;

        json_object_foreach ((json_t *)obj, dev, e) {
                _cleanup_free_ char *we = xasprintf("%s.%s", w, dev);
                CgNamed *d = xappend(res->rdma, res->n_rdma);
                d->name = xstrdup(dev);
                d->n1 = d->n2 = CG_UNSET;
                if (!*dev || strpbrk(dev, " \n") || !json_is_object(e))
                        return error_setf(err, EINVAL, "%s: expected a device name and an object", we);
                if (json_get_int_range(e, "hcaHandles", we, 0, UINT32_MAX, &d->n1, err) < 0 ||
                    json_get_int_range(e, "hcaObjects", we, 0, UINT32_MAX, &d->n2, err) < 0)
                        return -EINVAL;
                USE(res, CG_RDMA);
        }
        return 0;
}

static int parse_unified(const json_t *obj, const char *w, RtResources *res, Error **err)
{
        const char *key;
        const json_t *v;

        json_object_foreach ((json_t *)obj, key, v) {
                CgNamed *u = xappend(res->unified, res->n_unified);
                if (!*key || key[0] == '.' || strchr(key, '/'))
                        return error_setf(err, EINVAL, "%s: '%s' is not a cgroup file name", w, key);
                if (!json_is_string(v))
                        return error_setf(err, EINVAL, "%s.%s: expected a string", w, key);
                u->name = xstrdup(key);
                u->value = xstrdup(json_string_value(v));
                USE(res, CG_UNIFIED);
        }
        return 0;
}

static int parse_sections(const json_t *json, RtResources *res, Error **err)
{
        static const struct {
                const char *key;
                bool is_array;
                int (*parse)(const json_t *o, const char *w, RtResources *res, Error **err);
        } sections[] = {
                {"memory", false, parse_memory},   {"cpu", false, parse_cpu},
                {"pids", false, parse_pids},       {"blockIO", false, parse_blkio},
                {"hugepageLimits", true, parse_hugepages}, {"network", false, parse_network},
                {"rdma", false, parse_rdma},       {"unified", false, parse_unified},
                {"devices", true, parse_devices},
        };

        for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
                _cleanup_free_ char *w = NULL;
                json_t *o = NULL;
                int r = sections[i].is_array ? json_get_array(json, sections[i].key, res->where, &o, err)
                                             : json_get_object(json, sections[i].key, res->where, &o, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                w = xasprintf("%s.%s", res->where, sections[i].key);
                if (sections[i].parse(o, w, res, err) < 0)
                        return -EINVAL;
        }
        return 0;
}

int rt_resources_parse(const json_t *json, const char *where, RtResources **ret, Error **err)
{
        _cleanup_(rt_resources_freep) RtResources *res = xnew0(RtResources, 1);
        int64_t *ints[] = {&res->memory.limit, &res->memory.reservation, &res->memory.swap,
                           &res->memory.swappiness, &res->cpu.shares, &res->cpu.quota, &res->cpu.burst,
                           &res->cpu.period, &res->cpu.rt_runtime, &res->cpu.rt_period, &res->cpu.idle,
                           &res->pids_limit, &res->blkio.weight, &res->blkio.leaf_weight, &res->net_class_id};

        for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
                *ints[i] = CG_UNSET;
        res->memory.disable_oom_killer = -1;
        res->where = xstrdup(where ? where : "linux.resources");
        if (json && !json_is_object(json))
                return error_setf(err, EINVAL, "%s: expected an object", res->where);
        if (json && parse_sections(json, res, err) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(res);
        return 0;
}

static void named_free(CgNamed *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].value);
        }
        free(v);
}

RtResources *rt_resources_free(RtResources *r)
{
        if (!r)
                return NULL;
        free(r->where);
        free(r->cpu.cpus);
        free(r->cpu.mems);
        free(r->blkio.weight_devices);
        for (int t = 0; t < _CG_THROTTLE_MAX; t++)
                free(r->blkio.throttle[t]);
        named_free(r->hugepages, r->n_hugepages);
        named_free(r->net_priorities, r->n_net_priorities);
        named_free(r->rdma, r->n_rdma);
        named_free(r->unified, r->n_unified);
        free(r->devices);
        free(r);
        return NULL;
}

void rt_cgroup_device_rules(const RtResources *res, CgDeviceRule **ret, size_t *ret_n)
{
        /* What every container may use, as runc allows them: null, zero, full, random, urandom, tty, ptmx, pts. */
        static const CgDeviceRule defaults[] = {
                {true, 'c', 1, 3, CG_ACC_ALL}, {true, 'c', 1, 5, CG_ACC_ALL}, {true, 'c', 1, 7, CG_ACC_ALL},
                {true, 'c', 1, 8, CG_ACC_ALL}, {true, 'c', 1, 9, CG_ACC_ALL}, {true, 'c', 5, 0, CG_ACC_ALL},
                {true, 'c', 5, 2, CG_ACC_ALL}, {true, 'c', 136, -1, CG_ACC_ALL},
        };
        bool is_deny_first = res->n_devices > 0 && !res->devices[0].is_allow && res->devices[0].type == 'a';
        size_t n = res->n_devices + (is_deny_first ? ARRAY_SIZE(defaults) : 0);

        *ret = xnew0(CgDeviceRule, n ? n : 1);
        memcpy(*ret, res->devices, res->n_devices * sizeof(CgDeviceRule));
        if (is_deny_first)
                memcpy(*ret + res->n_devices, defaults, sizeof(defaults));
        *ret_n = n;
}

const char *rt_cgroup_device_rule_string(const CgDeviceRule *d, char buf[static 64])
{
        char major[24] = "*", minor[24] = "*";

        if (d->major >= 0)
                snprintf(major, sizeof(major), "%lld", (long long)d->major);
        if (d->minor >= 0)
                snprintf(minor, sizeof(minor), "%lld", (long long)d->minor);
        snprintf(buf, 64, "%c %s:%s %s%s%s", d->type, major, minor, d->access & CG_ACC_READ ? "r" : "",
                 d->access & CG_ACC_WRITE ? "w" : "", d->access & CG_ACC_MKNOD ? "m" : "");
        return buf;
}

