/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-default.c: the config.json that `spec` writes, close to runc's so tools that edit it agree */
#include <unistd.h>

#include "spec.h"

static json_t *masked_paths(void)
{
        return json_pack("[ssssssssss]", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                         "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                         "/sys/firmware", "/proc/scsi");
}

static json_t *readonly_paths(void)
{
        return json_pack("[ssssss]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
                         "/sys/fs/cgroup");
}

static json_t *default_caps(void)
{
        return json_pack("[sss]", "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
}

static json_t *default_mounts(bool is_rootless)
{
        json_t *m = json_array();

        json_array_append_new(m, json_pack("{s:s, s:s, s:s}", "destination", "/proc", "type", "proc", "source", "proc"));
        json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[ssss]}", "destination", "/dev", "type", "tmpfs",
                                           "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755",
                                           "size=65536k"));
        if (is_rootless)
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[ssss]}", "destination", "/dev/pts", "type",
                                                   "devpts", "source", "devpts", "options", "nosuid", "noexec",
                                                   "newinstance", "ptmxmode=0666"));
        else
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[ssssss]}", "destination", "/dev/pts", "type",
                                                   "devpts", "source", "devpts", "options", "nosuid", "noexec",
                                                   "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
        json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[ssss]}", "destination", "/dev/shm", "type", "tmpfs",
                                           "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777"));
        json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[sss]}", "destination", "/dev/mqueue", "type",
                                           "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev"));
        if (is_rootless) {
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[sssss]}", "destination", "/sys", "type", "none",
                                                   "source", "/sys", "options", "rbind", "nosuid", "noexec", "nodev",
                                                   "ro"));
        } else {
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[ssss]}", "destination", "/sys", "type", "sysfs",
                                                   "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro"));
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[sssss]}", "destination", "/sys/fs/cgroup",
                                                   "type", "cgroup", "source", "cgroup", "options", "nosuid", "noexec",
                                                   "nodev", "relatime", "ro"));
        }
        return m;
}

json_t *rt_spec_default(bool is_rootless)
{
        json_t *namespaces, *lx, *spec;

        namespaces = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "network", "type",
                               "ipc", "type", "uts", "type", "mount", "type", "cgroup");
        lx = json_pack("{s:o, s:o, s:o}", "namespaces", namespaces, "maskedPaths", masked_paths(), "readonlyPaths",
                       readonly_paths());
        if (is_rootless) {
                json_array_append_new(namespaces, json_pack("{s:s}", "type", "user"));
                json_object_set_new(lx, "uidMappings",
                                    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
                json_object_set_new(lx, "gidMappings",
                                    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
        } else {
                json_object_set_new(lx, "resources", json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
        }

        spec = json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[ss], s:s, s:{s:o, s:o, s:o}, s:[{s:s, s:i, s:i}], "
                         "s:b}, s:{s:s, s:b}, s:s, s:o, s:o}",
                         "ociVersion", "1.1.0",
                         "process", "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/",
                         "capabilities", "bounding", default_caps(), "effective", default_caps(), "permitted",
                         default_caps(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
                         "noNewPrivileges", 1,
                         "root", "path", "rootfs", "readonly", 1,
                         "hostname", "hull",
                         "mounts", default_mounts(is_rootless),
                         "linux", lx);
        return spec;
}
