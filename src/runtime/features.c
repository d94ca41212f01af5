/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* features.c: the runtime-spec features document: what this runtime can honour */
#include "cgroup.h"
#include "container.h"
#include "seccomp.h"
#include "spec.h"

static const char *const mount_options[] = {
        "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime",
        "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
        "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
        "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec",
        "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "idmap", "ridmap",
        "rrw", "rshared", "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared",
        "silent", "slave", "strictatime", "suid", "symfollow", "sync", "unbindable",
};

json_t *rt_features(void)
{
        json_t *hooks = json_array(), *mounts = json_array(), *ns = json_array(), *caps = json_array();
        RtCgroupMode mode = RT_CGROUP_V2;
        bool has_mode = rt_cgroup_mode(&mode, NULL) == 0;

        for (int k = 0; k < _RT_HOOK_MAX; k++)
                json_array_append_new(hooks, json_string(rt_hook_kind_name(k)));
        for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++)
                json_array_append_new(mounts, json_string(mount_options[i]));
        for (int t = 0; t < _RT_NS_MAX; t++)
                json_array_append_new(ns, json_string(rt_ns_type_name(t)));
        for (int c = 0; c <= rt_cap_last(); c++)
                json_array_append_new(caps, json_string(rt_cap_name(c)));

        return json_pack("{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, "
                         "s:{s:b}, s:{s:{s:b}}}, s:{s:s, s:s}}",
                         "ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", hooks, "mountOptions", mounts,
                         "linux", "namespaces", ns, "capabilities", caps, "cgroup", "v1",
                         has_mode && mode != RT_CGROUP_V2, "v2", has_mode && mode != RT_CGROUP_V1, "systemd", 0,
                         "systemdUser", 0, "seccomp", rt_seccomp_features(), "apparmor", "enabled", 0, "selinux",
                         "enabled", 0, "intelRdt", "enabled", 0, "mountExtensions", "idmap", "enabled", 1,
                         "annotations", "org.opencontainers.runc.checkpoint.enabled", "false",
                         "io.github.hull.version", "0.1.0");
}
