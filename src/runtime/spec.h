/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec.h: the OCI runtime-spec config.json, parsed and validated into C structures */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"

typedef enum RtNsType {
        RT_NS_USER, /* first: the others are created or joined inside it */
        RT_NS_PID,
        RT_NS_NET,
        RT_NS_MOUNT,
        RT_NS_IPC,
        RT_NS_UTS,
        RT_NS_CGROUP,
        RT_NS_TIME,
        _RT_NS_MAX,
} RtNsType;

/* "pid" -> RT_NS_PID; -EINVAL for unknown names. */
int rt_ns_type_from_name(const char *name);
const char *rt_ns_type_name(RtNsType t);
/* CLONE_NEW* flag of t. */
unsigned long rt_ns_clone_flag(RtNsType t);
/* The /proc/PID/ns/ entry name of t ("mnt" for the mount namespace). */
const char *rt_ns_proc_name(RtNsType t);

typedef struct RtNamespace {
        bool is_set; /* listed in linux.namespaces */
        char *path;  /* join this one instead of creating */
} RtNamespace;

typedef struct RtIdMap {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
} RtIdMap;

typedef struct RtMount {
        char *destination;
        char *type;
        char *source;
        char **options;
        unsigned long flags;       /* MS_* set by options */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, maybe | MS_REC */
        uint64_t attr_set;         /* MOUNT_ATTR_* for mount_setattr (rro, idmap, ...) */
        uint64_t attr_clr;
        bool is_recursive_attr;    /* "rro", "rnosuid", ...: applied with AT_RECURSIVE */
        char *data;                /* options the filesystem itself parses, comma-joined */
        bool is_idmap;             /* "idmap", "ridmap" or mappings given: an idmapped bind mount */
        bool is_recursive_idmap;   /* "ridmap" */
        RtIdMap *uid_mappings;     /* the mount's own, or the container's user namespace's */
        size_t n_uid_mappings;
        RtIdMap *gid_mappings;
        size_t n_gid_mappings;
        int prepared_fd;           /* a detached mount the runtime made before clone, or -EBADF */
} RtMount;

typedef struct RtRlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft;
        uint64_t hard;
} RtRlimit;

typedef struct RtDevice {
        char *path;
        char type; /* 'c', 'b', 'u' (unbuffered char), 'p' (fifo) */
        int64_t major;
        int64_t minor;
        mode_t file_mode;
        uid_t uid;
        gid_t gid;
        bool has_file_mode;
        bool has_uid;
        bool has_gid;
} RtDevice;

typedef enum RtHookKind {
        RT_HOOK_PRESTART,
        RT_HOOK_CREATE_RUNTIME,
        RT_HOOK_CREATE_CONTAINER,
        RT_HOOK_START_CONTAINER,
        RT_HOOK_POSTSTART,
        RT_HOOK_POSTSTOP,
        _RT_HOOK_MAX,
} RtHookKind;

const char *rt_hook_kind_name(RtHookKind k);

typedef struct RtHook {
        char *path;
        char **args;
        char **env;
        int timeout; /* seconds, 0 for none */
} RtHook;

typedef enum RtCapSet {
        RT_CAP_BOUNDING,
        RT_CAP_EFFECTIVE,
        RT_CAP_INHERITABLE,
        RT_CAP_PERMITTED,
        RT_CAP_AMBIENT,
        _RT_CAP_SET_MAX,
} RtCapSet;

typedef struct RtProcess {
        bool terminal;
        unsigned console_height;
        unsigned console_width;
        char *cwd;
        char **env;
        char **args;
        uid_t uid;
        gid_t gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        mode_t umask;
        bool has_umask;
        bool has_caps;
        uint64_t caps[_RT_CAP_SET_MAX]; /* bit n = capability n */
        RtRlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile;
        char *selinux_label;
} RtProcess;

typedef struct RtSpec {
        json_t *json; /* the whole document, owned: modules parse their own sections from it */
        char *oci_version;
        char *root_path;
        bool root_readonly;
        char *hostname;
        char *domainname;
        RtProcess *process; /* NULL when config.json has none (allowed until start) */
        RtMount *mounts;
        size_t n_mounts;
        RtHook *hooks[_RT_HOOK_MAX];
        size_t n_hooks[_RT_HOOK_MAX];

        /* linux */
        RtNamespace ns[_RT_NS_MAX];
        RtIdMap *uid_mappings;
        size_t n_uid_mappings;
        RtIdMap *gid_mappings;
        size_t n_gid_mappings;
        RtDevice *devices;
        size_t n_devices;
        char *cgroups_path;
        json_t *resources; /* linux.resources, borrowed from json: parsed by cgroup.c */
        json_t *seccomp;   /* linux.seccomp, borrowed from json: parsed by seccomp.c */
        char **sysctl;     /* alternating key, value */
        char **masked_paths;
        char **readonly_paths;
        unsigned long rootfs_propagation; /* 0 when not given */
        char *mount_label;
        /* linux.timeOffsets */
        int64_t time_offset_secs[2];  /* [0] monotonic, [1] boottime */
        uint32_t time_offset_nsecs[2];
        bool has_time_offsets;
} RtSpec;

/* Parses and validates a config.json document. Errors name the field: "linux.namespaces[2].type: ...". */
int rt_spec_parse(const char *buf, size_t len, RtSpec **ret, Error **err);
/* The same from a document already parsed; takes the reference to doc, even on failure. */
int rt_spec_parse_json(json_t *doc, RtSpec **ret, Error **err);
/* Reads bundle_dir/config.json and parses it; *ret_raw (optional) gets the raw text. */
int rt_spec_load(const char *bundle_dir, RtSpec **ret, char **ret_raw, Error **err);
RtSpec *rt_spec_free(RtSpec *s);
DEFINE_CLEANUP_FUNC(RtSpec *, rt_spec_free)

/* Parses a process object (config.json's, or exec --process's); where names it in errors. */
int rt_process_parse(const json_t *obj, const char *where, RtProcess **ret, Error **err);
RtProcess *rt_process_free(RtProcess *p);
DEFINE_CLEANUP_FUNC(RtProcess *, rt_process_free)

/* Translates mount options into m's flags, propagation, attrs and data. */
int rt_mount_parse_options(RtMount *m, const char *where, Error **err);

/* Capability name ("CAP_SYS_ADMIN") to number, or -EINVAL. */
int rt_cap_from_name(const char *name);
const char *rt_cap_name(int cap);
/* The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int rt_cap_last(void);

/* The default config.json that `spec` writes (rootless selects runc's rootless variant). */
json_t *rt_spec_default(bool is_rootless);
