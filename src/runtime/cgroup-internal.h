/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-internal.h: what cgroup.c, cgroup-v1.c, cgroup-v2.c and cgroup-bpf.c share: resources, hierarchies, ops */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include "runtime/cgroup.h"

/* An integer field the configuration left out (-1 is taken: it means "unlimited"). */
#define CG_UNSET INT64_MIN

/* What a limit is written to. Each has a v1 controller name and a v2 one (or is part of the v2 core). */
typedef enum CgController {
        CG_MEMORY,
        CG_CPU,
        CG_CPUSET,
        CG_PIDS,
        CG_BLKIO,
        CG_HUGETLB,
        CG_NET_CLS,
        CG_NET_PRIO,
        CG_RDMA,
        CG_DEVICES,
        CG_UNIFIED, /* linux.resources.unified: raw v2 files */
        CG_CPUACCT, /* not written, only read for stats */
        CG_FREEZER,
        _CG_CONTROLLER_MAX,
} CgController;

/* Device access bits: the values of BPF_DEVCG_ACC_* so the eBPF program uses them as they are. */
enum {
        CG_ACC_MKNOD = 1,
        CG_ACC_READ = 2,
        CG_ACC_WRITE = 4,
        CG_ACC_ALL = 7,
};

typedef struct CgDeviceRule {
        bool is_allow;
        char type;     /* 'a', 'c', 'b' */
        int64_t major; /* -1: any */
        int64_t minor; /* -1: any */
        unsigned access; /* CG_ACC_* */
} CgDeviceRule;

typedef struct CgDevWeight {
        int64_t major, minor;
        int64_t weight, leaf_weight; /* CG_UNSET when absent */
} CgDevWeight;

typedef struct CgDevRate {
        int64_t major, minor;
        int64_t rate;
} CgDevRate;

typedef enum CgThrottle {
        CG_THROTTLE_READ_BPS,
        CG_THROTTLE_WRITE_BPS,
        CG_THROTTLE_READ_IOPS,
        CG_THROTTLE_WRITE_IOPS,
        _CG_THROTTLE_MAX,
} CgThrottle;

typedef struct CgNamed {
        char *name;     /* hugepage size ("2MB"), interface, rdma device, unified file */
        char *value;    /* unified: the value */
        int64_t n1, n2; /* hugepage limit; ifpriomap priority; rdma hcaHandles, hcaObjects (CG_UNSET: absent) */
} CgNamed;

struct RtResources {
        char *where;   /* "linux.resources", for messages at apply time */
        unsigned uses; /* 1 << CgController for each controller a set field is written to */
        struct {
                int64_t limit, reservation, swap, swappiness;
                int disable_oom_killer; /* -1 absent, else 0/1 */
                bool check_before_update;
        } memory;
        struct {
                int64_t shares, quota, burst, period, rt_runtime, rt_period, idle;
                char *cpus, *mems;
        } cpu;
        int64_t pids_limit;
        struct {
                int64_t weight, leaf_weight;
                CgDevWeight *weight_devices;
                size_t n_weight_devices;
                CgDevRate *throttle[_CG_THROTTLE_MAX];
                size_t n_throttle[_CG_THROTTLE_MAX];
        } blkio;
        CgNamed *hugepages;
        size_t n_hugepages;
        int64_t net_class_id;
        CgNamed *net_priorities;
        size_t n_net_priorities;
        CgNamed *rdma;
        size_t n_rdma;
        CgNamed *unified;
        size_t n_unified;
        CgDeviceRule *devices;
        size_t n_devices;
};

typedef struct CgroupOps CgroupOps;

/* The container's cgroup in one hierarchy. */
typedef struct CgHier {
        const CgroupOps *ops;
        bool is_v2;
        char **controllers; /* v1: what the hierarchy holds ("cpu", "name=systemd"); v2: NULL (cgroup.controllers) */
        char *mount;        /* "/sys/fs/cgroup/memory" */
        char *path;         /* the cgroup below mount: "/hull/c1" */
        char *dir;          /* mount + path */
        int fd;             /* dir opened O_DIRECTORY, or -EBADF */
        char *created_top;  /* during create only: the highest directory this process made, for undo */
} CgHier;

struct RtCgroup {
        RtCgroupMode mode;
        CgHier *hiers;
        size_t n_hiers;
};

typedef int (*CgApplyFn)(CgHier *h, const RtResources *res, Error **err);

/* One per hierarchy type. Every op is set; what a type cannot do returns -EOPNOTSUPP. */
struct CgroupOps {
        const char *name;
        /* Whether h's levels need prepare_level at all (it costs two opens and a lookup a level). */
        bool (*wants_prepare)(const CgHier *h);
        /* Called for each level from below the mount down to the new cgroup, parent first: make it usable. */
        int (*prepare_level)(int parent_fd, int fd, const char *name, Error **err);
        /* Writes the limits res sets for one controller; NULL where the type has no such controller. */
        CgApplyFn apply[_CG_CONTROLLER_MAX];
        int (*freeze)(CgHier *h, bool is_frozen, Error **err);
        int (*is_frozen)(CgHier *h, bool *ret, Error **err);
        /* SIGKILLs every process in one step (v2 cgroup.kill); -EOPNOTSUPP without setting err otherwise. */
        int (*kill_all)(CgHier *h, Error **err);
        /* Adds the figures of controller c to out ("memory_usage", ...). */
        int (*stat)(CgHier *h, CgController c, json_t *out, Error **err);
};

extern const CgroupOps rt_cgroup_v1_ops;
extern const CgroupOps rt_cgroup_v2_ops;

/* A cgroup hierarchy as the host mounts it, with the caller's own place in it. */
typedef struct CgMount {
        bool is_v2;
        char **controllers; /* v1 only */
        char *mount;
        char *own; /* the caller's cgroup below mount, from /proc/self/cgroup: "/" or "/process_api/x" */
} CgMount;

typedef struct CgHost {
        RtCgroupMode mode;
        CgMount *mounts;
        size_t n_mounts;
} CgHost;

/* Builds the host's layout from the text of /proc/self/mountinfo and /proc/self/cgroup. */
int rt_cgroup_host_parse(const char *mountinfo, const char *proc_cgroup, CgHost **ret, Error **err);
/* The same from the running system. */
int rt_cgroup_host_load(CgHost **ret, Error **err);
CgHost *rt_cgroup_host_free(CgHost *host);
DEFINE_CLEANUP_FUNC(CgHost *, rt_cgroup_host_free)

/*
 * linux.cgroupsPath (or the default for id) as one path shared by every hierarchy: absolute ("/hull/c1") or
 * relative to the caller's own cgroup ("ctr/c1"), cleaned; systemd "slice:prefix:name" expanded.
 */
int rt_cgroup_path_resolve(const char *cgroups_path, const char *id, bool is_systemd, char **ret, Error **err);

/* rt_cgroup_create() on a given layout (the tests use it to drive the v2 code on a hybrid host's unified tree). */
int rt_cgroup_create_on(const CgHost *host, const char *cgroups_path, const char *id, bool is_systemd,
                        RtCgroup **ret, Error **err);

/* File access in h's cgroup. A missing file is EOPNOTSUPP naming it; kernel refusals name file and value. */
int rt_cgroup_write(CgHier *h, const char *file, const char *value, Error **err);
int rt_cgroup_write_int(CgHier *h, const char *file, int64_t value, Error **err);
/* Writes "max" for -1, else the number (v2 style). */
int rt_cgroup_write_max(CgHier *h, const char *file, int64_t value, Error **err);
/* Reads a file, trailing newline removed. */
int rt_cgroup_read(CgHier *h, const char *file, char **ret, Error **err);
/* Reads a number; "max" gives -1. */
int rt_cgroup_read_int(CgHier *h, const char *file, int64_t *ret, Error **err);
bool rt_cgroup_has_file(CgHier *h, const char *file);

/* The device rules to enforce: the config's, then the defaults every container gets when they start from deny. */
void rt_cgroup_device_rules(const RtResources *res, CgDeviceRule **ret, size_t *ret_n);
/* "c 1:3 rwm" as v1 devices.allow takes it, in buf. */
const char *rt_cgroup_device_rule_string(const CgDeviceRule *rule, char buf[static 64]);

/*
 * Loads an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program evaluating rules in order (the last match wins; no match
 * allows, as a fresh v1 device cgroup does) and attaches it to cgroup_fd with BPF_F_ALLOW_MULTI, then detaches
 * the programs attached there before, so `update` replaces rather than stacks.
 */
int rt_cgroup_bpf_devices(int cgroup_fd, const CgDeviceRule *rules, size_t n_rules, Error **err);
/* How many device programs are attached to cgroup_fd itself (for tests), or -errno. */
int rt_cgroup_bpf_count(int cgroup_fd);

/* The words of s split at any of separators, as a strv (never NULL). */
char **rt_cgroup_words(const char *s, const char *separators);
/* Writers the two types share: pids.max and rdma.max read the same on v1 and v2. */
int rt_cgroup_apply_pids(CgHier *h, const RtResources *res, Error **err);
int rt_cgroup_apply_rdma(CgHier *h, const RtResources *res, Error **err);
