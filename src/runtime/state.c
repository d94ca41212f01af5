/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.c: a container's record under the runtime root, and the status derived from it */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/process.h"
#include "state.h"

static const char *const status_names[] = {
        [RT_STATUS_CREATING] = "creating", [RT_STATUS_CREATED] = "created", [RT_STATUS_RUNNING] = "running",
        [RT_STATUS_PAUSED] = "paused",     [RT_STATUS_STOPPED] = "stopped",
};

const char *rt_status_name(RtStatus s)
{
        return status_names[s];
}

int rt_id_check(const char *id, Error **err)
{
        size_t n = strlen(id);
        if (n == 0 || n > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return error_setf(err, EINVAL, "invalid container id '%s'", id);
        for (const char *p = id; *p; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("_+-.", *p)))
                        return error_setf(err, EINVAL, "invalid container id '%s': only letters, digits and _+-. are allowed",
                                          id);
        }
        return 0;
}

int rt_root_open(const char *root, int *ret_fd, Error **err)
{
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                int r = mkdir_p(root, 0700, err);
                if (r < 0)
                        return error_wrap(err, r, "runtime root");
                fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return error_set(err, errno, "open runtime root '%s'", root);
        *ret_fd = fd;
        return 0;
}

char *rt_now_rfc3339(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

int rt_state_load(int root_fd, const char *id, RtState **ret, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *s = NULL;
        json_t *o;
        size_t len;
        int64_t v;
        int r;

        r = rt_id_check(id, err);
        if (r < 0)
                return r;
        st = xnew0(RtState, 1);
        st->dir_fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (st->dir_fd < 0) {
                if (errno == ENOENT)
                        return error_setf(err, ENOENT, "container '%s' does not exist", id);
                return error_set(err, errno, "open state of '%s'", id);
        }
        r = read_file_at(st->dir_fd, "state.json", &buf, &len, NULL);
        if (r == -ENOENT)
                return error_setf(err, ENOENT, "container '%s' does not exist", id);
        if (r < 0)
                return error_set(err, r, "read state of '%s'", id);
        r = json_parse(buf, len, "state.json", &j, err);
        if (r < 0)
                return r;
        st->id = xstrdup(id);
        if (json_get_string(j, "bundle", "", &s, err) < 0)
                return -EBADMSG;
        st->bundle = xstrdup(s ? s : "");
        s = NULL;
        if (json_get_string(j, "rootfs", "", &s, err) < 0)
                return -EBADMSG;
        st->rootfs = xstrdup(s ? s : "");
        s = NULL;
        if (json_get_string(j, "created", "", &s, err) < 0)
                return -EBADMSG;
        st->created = xstrdup(s ? s : "");
        if (json_get_int64(j, "pid", "", &v, err) > 0)
                st->pid = (pid_t)v;
        if (json_get_int64(j, "pid_start_time", "", &v, err) > 0)
                st->pid_start_time = (uint64_t)v;
        if (json_get_int64(j, "owner", "", &v, err) > 0)
                st->owner = (uid_t)v;
        if (json_get_int64(j, "creator_pid", "", &v, err) > 0)
                st->creator_pid = (pid_t)v;
        if (json_get_int64(j, "creator_start_time", "", &v, err) > 0)
                st->creator_start_time = (uint64_t)v;
        st->hook_kinds = UINT32_MAX;
        if (json_get_int64(j, "hooks", "", &v, err) > 0)
                st->hook_kinds = (uint32_t)v;
        json_get_bool(j, "systemd_cgroup", "", &st->is_systemd_cgroup, NULL);
        if (json_get_object(j, "annotations", "", &o, NULL) > 0)
                st->annotations = json_incref(o);
        if (json_get_object(j, "cgroup", "", &o, NULL) > 0)
                st->cgroup = json_incref(o);
        *ret = TAKE_PTR(st);
        return 0;
}

int rt_state_save(const RtState *st, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *s = NULL;

        j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:i, s:b}", "id", st->id, "bundle", st->bundle, "rootfs",
                      st->rootfs, "pid", (int)st->pid, "pid_start_time", (json_int_t)st->pid_start_time, "created",
                      st->created, "owner", (int)st->owner, "systemd_cgroup", st->is_systemd_cgroup);
        if (st->creator_pid > 0) {
                json_object_set_new(j, "creator_pid", json_integer(st->creator_pid));
                json_object_set_new(j, "creator_start_time", json_integer((json_int_t)st->creator_start_time));
        }
        json_object_set_new(j, "hooks", json_integer(st->hook_kinds));
        if (st->annotations)
                json_object_set(j, "annotations", st->annotations);
        if (st->cgroup)
                json_object_set(j, "cgroup", st->cgroup);
        s = json_dump_compact(j);
        return write_file_atomic_at(st->dir_fd, "state.json", s, strlen(s), 0600, err);
}

RtState *rt_state_free(RtState *st)
{
        if (!st)
                return NULL;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        json_decref(st->annotations);
        json_decref(st->cgroup);
        if (st->dir_fd >= 0)
                close(st->dir_fd);
        free(st);
        return NULL;
}

RtStatus rt_state_status(RtState *st)
{
        bool is_frozen = false;

        if (st->pid <= 0)
                return process_is_alive(st->creator_pid, st->creator_start_time) ? RT_STATUS_CREATING
                                                                                   : RT_STATUS_STOPPED;
        if (!process_is_alive(st->pid, st->pid_start_time))
                return RT_STATUS_STOPPED;
        if (faccessat(st->dir_fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return RT_STATUS_CREATED;
        if (st->cgroup && rt_cgroup_json_is_frozen(st->cgroup, &is_frozen, NULL) == 0 && is_frozen)
                return RT_STATUS_PAUSED;
        return RT_STATUS_RUNNING;
}

json_t *rt_state_oci_json(const RtState *st, RtStatus status)
{
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "ociVersion", "1.1.0", "id", st->id, "status",
                              rt_status_name(status), "bundle", st->bundle, "rootfs", st->rootfs, "created",
                              st->created, "owner", (int)st->owner);
        /* The spec wants pid only while the process exists. */
        if (status != RT_STATUS_STOPPED)
                json_object_set_new(j, "pid", json_integer(st->pid));
        else
                json_object_set_new(j, "pid", json_integer(0));
        json_object_set_new(j, "annotations", st->annotations ? json_incref(st->annotations) : json_object());
        return j;
}
