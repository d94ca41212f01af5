/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* namespaces.c: opening, joining and creating the container's namespaces */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "common/fs.h"
#include "linux.h"

int rt_ns_open_paths(const RtSpec *s, int fds[_RT_NS_MAX], Error **err)
{
        for (int t = 0; t < _RT_NS_MAX; t++)
                fds[t] = -EBADF;
        for (int t = 0; t < _RT_NS_MAX; t++) {
                if (!s->ns[t].is_set || !s->ns[t].path)
                        continue;
                fds[t] = open(s->ns[t].path, O_RDONLY | O_CLOEXEC);
                if (fds[t] < 0) {
                        int r = -errno;
                        rt_ns_close(fds);
                        return error_set(err, r, "linux.namespaces: open %s namespace '%s'", rt_ns_type_name(t),
                                         s->ns[t].path);
                }
        }
        return 0;
}

int rt_ns_join(int fds[_RT_NS_MAX], Error **err)
{
        /* Order: user first (it owns the others), then the rest, mount last. */
        static const RtNsType order[] = { RT_NS_USER, RT_NS_PID, RT_NS_NET, RT_NS_IPC, RT_NS_UTS,
                                          RT_NS_CGROUP, RT_NS_TIME, RT_NS_MOUNT };
        bool is_joined[_RT_NS_MAX] = {};

        /* A namespace the user namespace does not own (a network namespace made on the host) can
         * only be joined with the privileges held outside it: join what we may before it, and the
         * rest (a rootless caller's) after it. */
        for (size_t i = 1; fds[RT_NS_USER] >= 0 && i < sizeof(order) / sizeof(order[0]); i++) {
                RtNsType t = order[i];
                if (fds[t] >= 0 && setns(fds[t], (int)rt_ns_clone_flag(t)) == 0)
                        is_joined[t] = true;
        }
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                RtNsType t = order[i];
                if (fds[t] < 0 || is_joined[t])
                        continue;
                if (setns(fds[t], (int)rt_ns_clone_flag(t)) < 0)
                        return error_set(err, errno, "join %s namespace", rt_ns_type_name(t));
        }
        return 0;
}

void rt_ns_close(int fds[_RT_NS_MAX])
{
        for (int t = 0; t < _RT_NS_MAX; t++) {
                if (fds[t] >= 0)
                        close(fds[t]);
                fds[t] = -EBADF;
        }
}

unsigned long rt_ns_new_flags(const RtSpec *s)
{
        unsigned long flags = 0;
        for (int t = 0; t < _RT_NS_MAX; t++)
                if (s->ns[t].is_set && !s->ns[t].path)
                        flags |= rt_ns_clone_flag(t);
        return flags;
}

int rt_ns_write_time_offsets(const RtSpec *s, Error **err)
{
        char buf[128];
        int r;

        if (!s->has_time_offsets)
                return 0;
        snprintf(buf, sizeof(buf), "monotonic %lld %u\nboottime %lld %u\n", (long long)s->time_offset_secs[0],
                 s->time_offset_nsecs[0], (long long)s->time_offset_secs[1], s->time_offset_nsecs[1]);
        r = write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, err);
        return r < 0 ? error_wrap(err, r, "linux.timeOffsets") : 0;
}
