/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-v2.c: the cgroup v2 ops: one unified tree, controllers enabled from the root down */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/cgroup-internal.h"

/*
 * A controller's files appear in a cgroup only once its parent lists it in cgroup.subtree_control, so each level
 * from the root down enables what it has. One write per controller: a single "+a +b" fails whole if one of them
 * is refused (EBUSY for a parent holding processes, as the caller's own cgroup may), and the rest still count.
 */
static bool v2_wants_prepare(const CgHier *h)
{
        return true;
}

static int v2_prepare_level(int parent_fd, int fd, const char *name, Error **err)
{
        _cleanup_free_ char *avail = NULL, *on = NULL;
        _cleanup_strv_ char **want = NULL, **have = NULL;
        int r;

        r = read_file_at(parent_fd, "cgroup.controllers", &avail, NULL, err);
        if (r >= 0)
                r = read_file_at(parent_fd, "cgroup.subtree_control", &on, NULL, err);
        if (r < 0)
                return error_wrap(err, r, "parent of '%s'", name);
        want = rt_cgroup_words(avail, " \n");
        have = rt_cgroup_words(on, " \n");
        for (char **c = want; *c; c++) {
                _cleanup_free_ char *plus = NULL;
                _cleanup_error_ Error *e = NULL;
                if (strv_contains(have, *c))
                        continue;
                plus = xasprintf("+%s", *c);
                if (write_file_at(parent_fd, "cgroup.subtree_control", plus, &e) < 0)
                        log_debug("cgroup: enable '%s' above '%s': %s, ignoring", *c, name, e->msg);
        }
        return 0;
}

static int write_unless_unset(CgHier *h, const char *file, int64_t v, Error **err)
{
        return v == CG_UNSET ? 0 : rt_cgroup_write_max(h, file, v, err);
}

/* OCI's swap is memory+swap (the v1 memsw); v2's memory.swap.max counts swap alone: convert as runc does. */
static int swap_v2(const RtResources *res, int64_t *ret, Error **err)
{
        int64_t limit = res->memory.limit, swap = res->memory.swap;

        if (limit == -1 && swap == CG_UNSET)
                *ret = -1;
        else if (swap == CG_UNSET || swap == -1)
                *ret = swap;
        else if (limit == CG_UNSET || limit == -1)
                return error_setf(err, EINVAL, "%s.memory.swap: a swap limit needs a memory limit", res->where);
        else if (swap < limit)
                return error_setf(err, EINVAL, "%s.memory.swap: %lld is below memory.limit %lld", res->where,
                                  (long long)swap, (long long)limit);
        else
                *ret = swap - limit;
        return 0;
}

static int v2_memory(CgHier *h, const RtResources *res, Error **err)
{
        int64_t swap = CG_UNSET, usage;
        int r = swap_v2(res, &swap, err);

        if (r < 0)
                return r;
        if (swap != CG_UNSET && !rt_cgroup_has_file(h, "memory.swap.max")) {
                if (swap != -1 && swap != 0)
                        return error_setf(err, EOPNOTSUPP, "%s.memory.swap: swap accounting is not enabled",
                                          res->where);
                swap = CG_UNSET;
        }
        if (res->memory.check_before_update && res->memory.limit > 0) {
                r = rt_cgroup_read_int(h, "memory.current", &usage, err);
                if (r < 0)
                        return r;
                if (usage >= res->memory.limit)
                        return error_setf(err, EBUSY, "%s.memory.limit: %lld is below the current usage %lld",
                                          res->where, (long long)res->memory.limit, (long long)usage);
        }
        if (res->memory.swappiness != CG_UNSET || res->memory.disable_oom_killer >= 0)
                log_debug("cgroup: memory.swappiness and disableOOMKiller do not exist on v2, ignored");
        if ((r = write_unless_unset(h, "memory.swap.max", swap, err)) < 0 ||
            (r = write_unless_unset(h, "memory.max", res->memory.limit, err)) < 0)
                return r;
        return write_unless_unset(h, "memory.low", res->memory.reservation, err);
}

/* quota and period share cpu.max ("max 100000"): a field the config leaves out keeps its current value. */
static int v2_cpu_max(CgHier *h, int64_t quota, int64_t period, Error **err)
{
        _cleanup_free_ char *cur = NULL, *quota_s = NULL, *line = NULL;
        char *space;
        int r;

        if (quota == CG_UNSET && period == CG_UNSET)
                return 0;
        r = rt_cgroup_read(h, "cpu.max", &cur, err);
        if (r < 0)
                return r;
        space = strchr(cur, ' ');
        if (!space)
                return error_setf(err, EBADMSG, "cpu.max: unexpected '%s'", cur);
        *space++ = 0;
        if (quota == CG_UNSET)
                quota_s = xstrdup(cur);
        else
                quota_s = quota < 0 ? xstrdup("max") : xasprintf("%lld", (long long)quota);
        line = period == CG_UNSET ? xasprintf("%s %s", quota_s, space)
                                  : xasprintf("%s %lld", quota_s, (long long)period);
        return rt_cgroup_write(h, "cpu.max", line, err);
}

static int v2_cpu(CgHier *h, const RtResources *res, Error **err)
{
        int64_t shares = res->cpu.shares;
        int r;

        if ((res->cpu.rt_runtime != CG_UNSET && res->cpu.rt_runtime != 0) || res->cpu.rt_period != CG_UNSET)
                return error_setf(err, EOPNOTSUPP,
                                  "%s.cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2", res->where);
        if (shares != CG_UNSET) {
                /* crun's mapping of shares [2, 262144] onto weight [1, 10000] */
                shares = shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
                r = rt_cgroup_write_int(h, "cpu.weight", 1 + ((shares - 2) * 9999) / 262142, err);
                if (r < 0)
                        return r;
        }
        if ((r = v2_cpu_max(h, res->cpu.quota, res->cpu.period, err)) < 0 ||
            (r = write_unless_unset(h, "cpu.max.burst", res->cpu.burst, err)) < 0)
                return r;
        return write_unless_unset(h, "cpu.idle", res->cpu.idle, err);
}

static int v2_cpuset(CgHier *h, const RtResources *res, Error **err)
{
        int r = 0;
        if (res->cpu.cpus)
                r = rt_cgroup_write(h, "cpuset.cpus", res->cpu.cpus, err);
        if (r >= 0 && res->cpu.mems)
                r = rt_cgroup_write(h, "cpuset.mems", res->cpu.mems, err);
        return r;
}

/* io.bfq.weight takes the blkio weight as is; io.weight has [1, 10000]: converted as crun does. */
static int v2_io_weight(CgHier *h, const char *dev, int64_t weight, Error **err)
{
        bool is_bfq = rt_cgroup_has_file(h, "io.bfq.weight");
        int64_t w = is_bfq ? weight : 1 + (weight - 10) * 9999 / 990;
        _cleanup_free_ char *line = xasprintf("%s %lld", dev, (long long)w);
        return rt_cgroup_write(h, is_bfq ? "io.bfq.weight" : "io.weight", line, err);
}

static int v2_io(CgHier *h, const RtResources *res, Error **err)
{
        static const char *const keys[_CG_THROTTLE_MAX] = {"rbps", "wbps", "riops", "wiops"};
        int r;

        if (res->blkio.leaf_weight != CG_UNSET)
                log_debug("cgroup: blockIO.leafWeight does not exist on v2, ignored");
        if (res->blkio.weight != CG_UNSET && (r = v2_io_weight(h, "default", res->blkio.weight, err)) < 0)
                return r;
        for (size_t i = 0; i < res->blkio.n_weight_devices; i++) {
                const CgDevWeight *d = &res->blkio.weight_devices[i];
                _cleanup_free_ char *dev = xasprintf("%lld:%lld", (long long)d->major, (long long)d->minor);
                if (d->weight != CG_UNSET && (r = v2_io_weight(h, dev, d->weight, err)) < 0)
                        return r;
        }
        for (int t = 0; t < _CG_THROTTLE_MAX; t++)
                for (size_t i = 0; i < res->blkio.n_throttle[t]; i++) {
                        const CgDevRate *d = &res->blkio.throttle[t][i];
                        /* v1 drops a rule with rate 0; v2 says so with "max" */
                        _cleanup_free_ char *line =
                                d->rate == 0 ? xasprintf("%lld:%lld %s=max", (long long)d->major,
                                                         (long long)d->minor, keys[t])
                                             : xasprintf("%lld:%lld %s=%lld", (long long)d->major,
                                                         (long long)d->minor, keys[t], (long long)d->rate);
                        if ((r = rt_cgroup_write(h, "io.max", line, err)) < 0)
                                return r;
                }
        return 0;
}

static int v2_hugetlb(CgHier *h, const RtResources *res, Error **err)
{
        for (size_t i = 0; i < res->n_hugepages; i++) {
                _cleanup_free_ char *file = xasprintf("hugetlb.%s.max", res->hugepages[i].name);
                int r = rt_cgroup_write_max(h, file, res->hugepages[i].n1, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v2_devices(CgHier *h, const RtResources *res, Error **err)
{
        _cleanup_free_ CgDeviceRule *rules = NULL;
        size_t n;

        if (h->fd < 0)
                return error_setf(err, ENOENT, "cgroup '%s' does not exist", h->dir);
        rt_cgroup_device_rules(res, &rules, &n);
        return rt_cgroup_bpf_devices(h->fd, rules, n, err);
}

static int v2_unified(CgHier *h, const RtResources *res, Error **err)
{
        for (size_t i = 0; i < res->n_unified; i++) {
                int r = rt_cgroup_write(h, res->unified[i].name, res->unified[i].value, err);
                if (r < 0)
                        return error_wrap(err, r, "%s.unified", res->where);
        }
        return 0;
}

/* The value of key ("frozen", "populated") in the "key value" lines of cgroup.events read from fd. */
static int events_value(int fd, const char *key, int *ret, Error **err)
{
        char buf[256], *p;
        size_t n = strlen(key);
        ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);

        if (len < 0)
                return error_set(err, errno, "read 'cgroup.events'");
        buf[len] = 0;
        for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, key, n) == 0 && p[n] == ' ') {
                        *ret = atoi(p + n + 1);
                        return 0;
                }
        return error_setf(err, EBADMSG, "cgroup.events: no '%s'", key);
}

/*
 * The kernel signals a change of cgroup.events with POLLPRI, so this waits for "frozen want" without a sleep
 * loop. Reading the file first re-arms the notification, so no change between read and poll is lost.
 */
static int wait_frozen(CgHier *h, int want, int timeout_ms, Error **err)
{
        _cleanup_close_ int fd = openat(h->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        struct timespec start, now;

        if (fd < 0)
                return error_set(err, errno, "open 'cgroup.events'");
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLPRI};
                int v, left, r = events_value(fd, "frozen", &v, err);
                if (r < 0)
                        return r;
                if (v == want)
                        return 0;
                clock_gettime(CLOCK_MONOTONIC, &now);
                left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
                                          (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0)
                        return error_setf(err, ETIMEDOUT, "cgroup.events did not report 'frozen %d'", want);
                if (poll(&p, 1, left) < 0 && errno != EINTR)
                        return error_set(err, errno, "poll 'cgroup.events'");
        }
}

static int v2_freeze(CgHier *h, bool is_frozen, Error **err)
{
        int r = rt_cgroup_write(h, "cgroup.freeze", is_frozen ? "1" : "0", err);
        return r < 0 ? r : wait_frozen(h, is_frozen, 10000, err);
}

static int v2_is_frozen(CgHier *h, bool *ret, Error **err)
{
        _cleanup_close_ int fd = h->fd < 0 ? -EBADF : openat(h->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        int v, r;

        if (fd < 0)
                return error_set(err, h->fd < 0 ? ENOENT : errno, "open 'cgroup.events'");
        r = events_value(fd, "frozen", &v, err);
        if (r < 0)
                return r;
        *ret = v == 1;
        return 0;
}

/* cgroup.kill (Linux 5.14) kills the whole subtree at once, forks racing the kill included. */
static int v2_kill_all(CgHier *h, Error **err)
{
        if (!rt_cgroup_has_file(h, "cgroup.kill"))
                return -EOPNOTSUPP;
        return rt_cgroup_write(h, "cgroup.kill", "1", err);
}

static int put_int(CgHier *h, const char *file, const char *key, json_t *out, Error **err)
{
        int64_t v;
        int r = rt_cgroup_read_int(h, file, &v, err);
        if (r < 0)
                return r;
        json_object_set_new(out, key, json_integer(v));
        return 0;
}

static int put_cpu_usage(CgHier *h, json_t *out, Error **err)
{
        _cleanup_free_ char *stat = NULL;
        const char *p;
        int r = rt_cgroup_read(h, "cpu.stat", &stat, err);

        if (r < 0)
                return r;
        p = strstr(stat, "usage_usec ");
        if (!p || (p != stat && p[-1] != '\n'))
                return error_setf(err, EBADMSG, "cpu.stat: no 'usage_usec'");
        json_object_set_new(out, "cpu_usage_ns", json_integer(strtoll(p + 11, NULL, 10) * 1000));
        return 0;
}

static int v2_stat(CgHier *h, CgController c, json_t *out, Error **err)
{
        switch (c) {
        case CG_MEMORY: {
                int r = put_int(h, "memory.current", "memory_usage", out, err);
                return r < 0 ? r : put_int(h, "memory.max", "memory_limit", out, err);
        }
        case CG_CPUACCT:
                return put_cpu_usage(h, out, err);
        case CG_PIDS:
                return put_int(h, "pids.current", "pids", out, err);
        default:
                return 0;
        }
}

const CgroupOps rt_cgroup_v2_ops = {
        .name = "v2",
        .wants_prepare = v2_wants_prepare,
        .prepare_level = v2_prepare_level,
        .apply = {
                [CG_MEMORY] = v2_memory,
                [CG_CPU] = v2_cpu,
                [CG_CPUSET] = v2_cpuset,
                [CG_PIDS] = rt_cgroup_apply_pids,
                [CG_BLKIO] = v2_io,
                [CG_HUGETLB] = v2_hugetlb,
                [CG_RDMA] = rt_cgroup_apply_rdma,
                [CG_DEVICES] = v2_devices,
                [CG_UNIFIED] = v2_unified,
        },
        .freeze = v2_freeze,
        .is_frozen = v2_is_frozen,
        .kill_all = v2_kill_all,
        .stat = v2_stat,
};
