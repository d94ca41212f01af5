/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-v1.c: the cgroup v1 ops: one hierarchy per controller, its knobs named by the controller */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/cgroup-internal.h"

/*
 * A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and the kernel refuses tasks until both
 * are set: copy them from the parent at every level that is still empty, top down.
 */
static bool v1_wants_prepare(const CgHier *h)
{
        return strv_contains(h->controllers, "cpuset");
}

static int v1_prepare_level(int parent_fd, int fd, const char *name, Error **err)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *cur = NULL, *up = NULL;
                int r = read_file_at(fd, files[i], &cur, NULL, err);
                if (r < 0)
                        return r;
                if (strspn(cur, " \n") != strlen(cur))
                        continue;
                r = read_file_at(parent_fd, files[i], &up, NULL, err);
                if (r < 0)
                        return error_wrap(err, r, "parent of '%s'", name);
                r = write_file_at(fd, files[i], up, err);
                if (r < 0)
                        return error_wrap(err, r, "copy the parent's '%s'", files[i]);
        }
        return 0;
}

static int write_unless_unset(CgHier *h, const char *file, int64_t v, Error **err)
{
        return v == CG_UNSET ? 0 : rt_cgroup_write_int(h, file, v, err);
}

/* Memory and memory+swap must stay ordered (memsw >= memory) after each single write, as runc orders them. */
static int v1_memory_and_swap(CgHier *h, int64_t limit, int64_t swap, Error **err)
{
        bool is_swap_first = false;
        int r;

        if (limit != CG_UNSET && swap != CG_UNSET) {
                int64_t cur;
                r = rt_cgroup_read_int(h, "memory.limit_in_bytes", &cur, err);
                if (r < 0)
                        return r;
                is_swap_first = swap == -1 || cur < swap;
        }
        if (is_swap_first && (r = rt_cgroup_write_int(h, "memory.memsw.limit_in_bytes", swap, err)) < 0)
                return r;
        if ((r = write_unless_unset(h, "memory.limit_in_bytes", limit, err)) < 0)
                return r;
        if (!is_swap_first)
                return write_unless_unset(h, "memory.memsw.limit_in_bytes", swap, err);
        return 0;
}

static int check_usage(CgHier *h, const char *file, const RtResources *res, Error **err)
{
        int64_t usage;
        int r;

        if (!res->memory.check_before_update || res->memory.limit <= 0)
                return 0;
        r = rt_cgroup_read_int(h, file, &usage, err);
        if (r < 0)
                return r;
        if (usage >= res->memory.limit)
                return error_setf(err, EBUSY, "%s.memory.limit: %lld is below the current usage %lld", res->where,
                                  (long long)res->memory.limit, (long long)usage);
        return 0;
}

static int v1_memory(CgHier *h, const RtResources *res, Error **err)
{
        int64_t limit = res->memory.limit, swap = res->memory.swap;
        bool has_swap = rt_cgroup_has_file(h, "memory.memsw.limit_in_bytes");
        int r;

        if (limit == -1 && swap == CG_UNSET && has_swap)
                swap = -1; /* unlimited memory means unlimited swap too, or the old memsw limit would bind */
        if (swap != CG_UNSET && !has_swap) {
                if (swap != -1 && swap != limit)
                        return error_setf(err, EOPNOTSUPP, "%s.memory.swap: swap accounting is not enabled",
                                          res->where);
                log_debug("cgroup: no swap accounting, memory.swap %lld needs none", (long long)swap);
                swap = CG_UNSET;
        }
        if ((r = check_usage(h, "memory.usage_in_bytes", res, err)) < 0 ||
            (r = v1_memory_and_swap(h, limit, swap, err)) < 0 ||
            (r = write_unless_unset(h, "memory.soft_limit_in_bytes", res->memory.reservation, err)) < 0 ||
            (r = write_unless_unset(h, "memory.swappiness", res->memory.swappiness, err)) < 0)
                return r;
        if (res->memory.disable_oom_killer >= 0)
                return rt_cgroup_write(h, "memory.oom_control", res->memory.disable_oom_killer ? "1" : "0", err);
        return 0;
}

/* The period goes first; if the kernel refuses it against the old quota, the quota goes first (as runc). */
static int v1_cfs(CgHier *h, int64_t period, int64_t quota, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r = write_unless_unset(h, "cpu.cfs_period_us", period, &e);

        if (r == -EINVAL && quota != CG_UNSET) {
                r = rt_cgroup_write_int(h, "cpu.cfs_quota_us", quota, err);
                return r < 0 ? r : rt_cgroup_write_int(h, "cpu.cfs_period_us", period, err);
        }
        if (r < 0) {
                if (err && !*err)
                        *err = TAKE_PTR(e);
                return r;
        }
        return write_unless_unset(h, "cpu.cfs_quota_us", quota, err);
}

static int v1_cpu(CgHier *h, const RtResources *res, Error **err)
{
        int r;

        if ((r = write_unless_unset(h, "cpu.shares", res->cpu.shares, err)) < 0 ||
            (r = v1_cfs(h, res->cpu.period, res->cpu.quota, err)) < 0 ||
            (r = write_unless_unset(h, "cpu.cfs_burst_us", res->cpu.burst, err)) < 0 ||
            (r = write_unless_unset(h, "cpu.rt_period_us", res->cpu.rt_period, err)) < 0 ||
            (r = write_unless_unset(h, "cpu.rt_runtime_us", res->cpu.rt_runtime, err)) < 0)
                return r;
        return write_unless_unset(h, "cpu.idle", res->cpu.idle, err);
}

static int v1_cpuset(CgHier *h, const RtResources *res, Error **err)
{
        int r = 0;
        if (res->cpu.cpus)
                r = rt_cgroup_write(h, "cpuset.cpus", res->cpu.cpus, err);
        if (r >= 0 && res->cpu.mems)
                r = rt_cgroup_write(h, "cpuset.mems", res->cpu.mems, err);
        return r;
}

static int write_dev(CgHier *h, const char *file, int64_t major, int64_t minor, int64_t v, Error **err)
{
        _cleanup_free_ char *line = xasprintf("%lld:%lld %lld", (long long)major, (long long)minor, (long long)v);
        return rt_cgroup_write(h, file, line, err);
}

/* Kernels without CFQ have only the BFQ files; the value range (10-1000) is the same. */
static int v1_blkio(CgHier *h, const RtResources *res, Error **err)
{
        static const char *const throttle[_CG_THROTTLE_MAX] = {
                "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
        bool is_bfq = !rt_cgroup_has_file(h, "blkio.weight") && rt_cgroup_has_file(h, "blkio.bfq.weight");
        const char *wfile = is_bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
        int r;

        if ((r = write_unless_unset(h, is_bfq ? "blkio.bfq.weight" : "blkio.weight", res->blkio.weight, err)) < 0 ||
            (r = write_unless_unset(h, "blkio.leaf_weight", res->blkio.leaf_weight, err)) < 0)
                return r;
        for (size_t i = 0; i < res->blkio.n_weight_devices; i++) {
                const CgDevWeight *d = &res->blkio.weight_devices[i];
                if (d->weight != CG_UNSET && (r = write_dev(h, wfile, d->major, d->minor, d->weight, err)) < 0)
                        return r;
                if (d->leaf_weight != CG_UNSET &&
                    (r = write_dev(h, "blkio.leaf_weight_device", d->major, d->minor, d->leaf_weight, err)) < 0)
                        return r;
        }
        for (int t = 0; t < _CG_THROTTLE_MAX; t++)
                for (size_t i = 0; i < res->blkio.n_throttle[t]; i++) {
                        const CgDevRate *d = &res->blkio.throttle[t][i];
                        if ((r = write_dev(h, throttle[t], d->major, d->minor, d->rate, err)) < 0)
                                return r;
                }
        return 0;
}

static int v1_hugetlb(CgHier *h, const RtResources *res, Error **err)
{
        for (size_t i = 0; i < res->n_hugepages; i++) {
                _cleanup_free_ char *file = xasprintf("hugetlb.%s.limit_in_bytes", res->hugepages[i].name);
                int r = rt_cgroup_write_int(h, file, res->hugepages[i].n1, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_net_cls(CgHier *h, const RtResources *res, Error **err)
{
        return rt_cgroup_write_int(h, "net_cls.classid", res->net_class_id, err);
}

static int v1_net_prio(CgHier *h, const RtResources *res, Error **err)
{
        for (size_t i = 0; i < res->n_net_priorities; i++) {
                const CgNamed *p = &res->net_priorities[i];
                _cleanup_free_ char *line = xasprintf("%s %lld", p->name, (long long)p->n1);
                int r = rt_cgroup_write(h, "net_prio.ifpriomap", line, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The rules go to devices.allow / devices.deny one by one, in order: the kernel keeps the list. */
static int v1_devices(CgHier *h, const RtResources *res, Error **err)
{
        _cleanup_free_ CgDeviceRule *rules = NULL;
        size_t n;

        rt_cgroup_device_rules(res, &rules, &n);
        for (size_t i = 0; i < n; i++) {
                char buf[64];
                int r = rt_cgroup_write(h, rules[i].is_allow ? "devices.allow" : "devices.deny",
                                        rt_cgroup_device_rule_string(&rules[i], buf), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * v1 reports FREEZING until every task has stopped and sends no notification when that happens, so this polls
 * with a short bounded backoff (about two seconds in all), writing FROZEN again each time as runc does.
 */
static int v1_freeze(CgHier *h, bool is_frozen, Error **err)
{
        const char *want = is_frozen ? "FROZEN" : "THAWED";
        _cleanup_free_ char *state = NULL;

        for (int i = 0; i < 200; i++) {
                struct timespec ts = {0, i < 10 ? 100000L : 10000000L};
                int r = rt_cgroup_write(h, "freezer.state", want, err);
                if (r >= 0)
                        r = rt_cgroup_read(h, "freezer.state", &state, err);
                if (r < 0)
                        return r;
                if (strcmp(state, want) == 0)
                        return 0;
                free(state);
                state = NULL;
                nanosleep(&ts, NULL);
        }
        if (is_frozen)
                (void)rt_cgroup_write(h, "freezer.state", "THAWED", NULL);
        return error_setf(err, ETIMEDOUT, "freezer.state did not become '%s'", want);
}

static int v1_is_frozen(CgHier *h, bool *ret, Error **err)
{
        _cleanup_free_ char *state = NULL;
        int r = rt_cgroup_read(h, "freezer.state", &state, err);
        if (r < 0)
                return r;
        *ret = strcmp(state, "FROZEN") == 0;
        return 0;
}

static int v1_kill_all(CgHier *h, Error **err)
{
        return -EOPNOTSUPP;
}

/* The kernel's "no limit" is the largest page multiple below 2^63; report it as -1 as v2's "max". */
static int put_int(CgHier *h, const char *file, const char *key, json_t *out, Error **err)
{
        int64_t v;
        int r = rt_cgroup_read_int(h, file, &v, err);
        if (r < 0)
                return r;
        json_object_set_new(out, key, json_integer(v >= (INT64_C(1) << 62) ? -1 : v));
        return 0;
}

static int v1_stat(CgHier *h, CgController c, json_t *out, Error **err)
{
        switch (c) {
        case CG_MEMORY: {
                int r = put_int(h, "memory.usage_in_bytes", "memory_usage", out, err);
                return r < 0 ? r : put_int(h, "memory.limit_in_bytes", "memory_limit", out, err);
        }
        case CG_CPUACCT:
                return put_int(h, "cpuacct.usage", "cpu_usage_ns", out, err);
        case CG_PIDS:
                return put_int(h, "pids.current", "pids", out, err);
        default:
                return 0;
        }
}

const CgroupOps rt_cgroup_v1_ops = {
        .name = "v1",
        .wants_prepare = v1_wants_prepare,
        .prepare_level = v1_prepare_level,
        .apply = {
                [CG_MEMORY] = v1_memory,
                [CG_CPU] = v1_cpu,
                [CG_CPUSET] = v1_cpuset,
                [CG_PIDS] = rt_cgroup_apply_pids,
                [CG_BLKIO] = v1_blkio,
                [CG_HUGETLB] = v1_hugetlb,
                [CG_NET_CLS] = v1_net_cls,
                [CG_NET_PRIO] = v1_net_prio,
                [CG_RDMA] = rt_cgroup_apply_rdma,
                [CG_DEVICES] = v1_devices,
        },
        .freeze = v1_freeze,
        .is_frozen = v1_is_frozen,
        .kill_all = v1_kill_all,
        .stat = v1_stat,
};
