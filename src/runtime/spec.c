/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec.c: config.json parsed and validated into RtSpec; every error names the field it is about */
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "spec.h"

/* -------- names -------- */

static const struct {
        const char *name;
        const char *proc_name;
        unsigned long flag;
} ns_table[_RT_NS_MAX] = {
        [RT_NS_USER] = { "user", "user", CLONE_NEWUSER },
        [RT_NS_PID] = { "pid", "pid", CLONE_NEWPID },
        [RT_NS_NET] = { "network", "net", CLONE_NEWNET },
        [RT_NS_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
        [RT_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
        [RT_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
        [RT_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
        [RT_NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

int rt_ns_type_from_name(const char *name)
{
        for (int i = 0; i < _RT_NS_MAX; i++)
                if (strcmp(ns_table[i].name, name) == 0)
                        return i;
        return -EINVAL;
}

const char *rt_ns_type_name(RtNsType t)
{
        return ns_table[t].name;
}

unsigned long rt_ns_clone_flag(RtNsType t)
{
        return ns_table[t].flag;
}

const char *rt_ns_proc_name(RtNsType t)
{
        return ns_table[t].proc_name;
}

static const char *const hook_names[_RT_HOOK_MAX] = {
        [RT_HOOK_PRESTART] = "prestart",
        [RT_HOOK_CREATE_RUNTIME] = "createRuntime",
        [RT_HOOK_CREATE_CONTAINER] = "createContainer",
        [RT_HOOK_START_CONTAINER] = "startContainer",
        [RT_HOOK_POSTSTART] = "poststart",
        [RT_HOOK_POSTSTOP] = "poststop",
};

const char *rt_hook_kind_name(RtHookKind k)
{
        return hook_names[k];
}

static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int rt_cap_from_name(const char *name)
{
        cap_value_t v;
        /* libcap accepts "cap_chown" and bare numbers too; the spec wants "CAP_CHOWN". */
        if (strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &v) < 0)
                return -EINVAL;
        return (int)v;
}

const char *rt_cap_name(int cap)
{
        static char names[64][32];
        char *n;

        if (cap < 0 || cap >= 64)
                return "?";
        if (!names[cap][0]) {
                n = cap_to_name((cap_value_t)cap);
                snprintf(names[cap], sizeof(names[cap]), "%s", n ? n : "?");
                for (char *p = names[cap]; *p; p++)
                        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
                cap_free(n);
        }
        return names[cap];
}

int rt_cap_last(void)
{
        static int last = -1;
        char *buf = NULL;

        if (last >= 0)
                return last;
        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &buf, NULL, NULL) == 0)
                last = atoi(buf);
        else
                last = CAP_LAST_CAP;
        free(buf);
        return last;
}

/* -------- mounts -------- */

static const struct {
        const char *name;
        unsigned long set;
        unsigned long clear;
} mount_flag_table[] = {
        { "async", 0, MS_SYNCHRONOUS },    { "atime", 0, MS_NOATIME },
        { "bind", MS_BIND, 0 },            { "defaults", 0, 0 },
        { "dev", 0, MS_NODEV },            { "diratime", 0, MS_NODIRATIME },
        { "dirsync", MS_DIRSYNC, 0 },      { "exec", 0, MS_NOEXEC },
        { "iversion", MS_I_VERSION, 0 },   { "lazytime", MS_LAZYTIME, 0 },
        { "loud", 0, MS_SILENT },          { "mand", MS_MANDLOCK, 0 },
        { "noatime", MS_NOATIME, 0 },      { "nodev", MS_NODEV, 0 },
        { "nodiratime", MS_NODIRATIME, 0 }, { "noexec", MS_NOEXEC, 0 },
        { "noiversion", 0, MS_I_VERSION }, { "nolazytime", 0, MS_LAZYTIME },
        { "nomand", 0, MS_MANDLOCK },      { "norelatime", 0, MS_RELATIME },
        { "nostrictatime", 0, MS_STRICTATIME }, { "nosuid", MS_NOSUID, 0 },
        { "rbind", MS_BIND | MS_REC, 0 },  { "relatime", MS_RELATIME, 0 },
        { "remount", MS_REMOUNT, 0 },      { "ro", MS_RDONLY, 0 },
        { "rw", 0, MS_RDONLY },            { "silent", MS_SILENT, 0 },
        { "strictatime", MS_STRICTATIME, 0 }, { "suid", 0, MS_NOSUID },
        { "sync", MS_SYNCHRONOUS, 0 },
};

static const struct {
        const char *name;
        unsigned long flags;
} propagation_table[] = {
        { "private", MS_PRIVATE },         { "rprivate", MS_PRIVATE | MS_REC },
        { "shared", MS_SHARED },           { "rshared", MS_SHARED | MS_REC },
        { "slave", MS_SLAVE },             { "rslave", MS_SLAVE | MS_REC },
        { "unbindable", MS_UNBINDABLE },   { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* Options applied with mount_setattr(2); the "r" forms recursively. */
static const struct {
        const char *name;
        uint64_t set;
        uint64_t clear;
        bool is_recursive;
} mount_attr_table[] = {
        { "rro", MOUNT_ATTR_RDONLY, 0, true },
        { "rrw", 0, MOUNT_ATTR_RDONLY, true },
        { "rnosuid", MOUNT_ATTR_NOSUID, 0, true },
        { "rsuid", 0, MOUNT_ATTR_NOSUID, true },
        { "rnodev", MOUNT_ATTR_NODEV, 0, true },
        { "rdev", 0, MOUNT_ATTR_NODEV, true },
        { "rnoexec", MOUNT_ATTR_NOEXEC, 0, true },
        { "rexec", 0, MOUNT_ATTR_NOEXEC, true },
        { "rnodiratime", MOUNT_ATTR_NODIRATIME, 0, true },
        { "rdiratime", 0, MOUNT_ATTR_NODIRATIME, true },
        /* The access-time mode is one field (MOUNT_ATTR__ATIME): each of these sets all of it.
         * "atime" and "norelatime" mean updating always (strictatime); "nostrictatime" the
         * kernel's default, relatime. */
        { "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, true },
        { "rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, true },
        { "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, true },
        { "ratime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, true },
        { "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, true },
        { "rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, true },
        { "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, true },
        { "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, true },
        { "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, false },
        { "symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, false },
};

static bool parse_mount_flag(RtMount *m, const char *o)
{
        for (size_t i = 0; i < ARRAY_SIZE(mount_flag_table); i++) {
                if (strcmp(o, mount_flag_table[i].name) == 0) {
                        m->flags |= mount_flag_table[i].set;
                        m->flags &= ~mount_flag_table[i].clear;
                        return true;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(propagation_table); i++) {
                if (strcmp(o, propagation_table[i].name) == 0) {
                        m->propagation = propagation_table[i].flags;
                        return true;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(mount_attr_table); i++) {
                if (strcmp(o, mount_attr_table[i].name) == 0) {
                        uint64_t set = mount_attr_table[i].set, clear = mount_attr_table[i].clear;
                        if (clear == MOUNT_ATTR__ATIME) {
                                /* A whole-field value: replace the field, and clear it all first. */
                                m->attr_set = (m->attr_set & ~MOUNT_ATTR__ATIME) | set;
                                m->attr_clr |= MOUNT_ATTR__ATIME;
                        } else {
                                m->attr_set = (m->attr_set | set) & ~clear;
                                m->attr_clr = (m->attr_clr | clear) & ~set;
                        }
                        if (mount_attr_table[i].is_recursive)
                                m->is_recursive_attr = true;
                        return true;
                }
        }
        return false;
}

int rt_mount_parse_options(RtMount *m, const char *where, Error **err)
{
        _cleanup_free_ char *data = NULL;

        m->flags = 0;
        m->propagation = 0;
        m->is_idmap = m->is_recursive_idmap = false;
        m->attr_set = m->attr_clr = 0;
        m->is_recursive_attr = false;
        for (size_t i = 0; m->options && m->options[i]; i++) {
                const char *o = m->options[i];
                if (!*o)
                        continue;
                if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0) {
                        m->is_idmap = true;
                        m->is_recursive_idmap = o[0] == 'r';
                        continue;
                }
                if (parse_mount_flag(m, o))
                        continue;
                if (strchr(o, ','))
                        return error_setf(err, EINVAL, "%s.options[%zu]: '%s' holds a comma", where, i, o);
                /* Anything else is the filesystem's own option ("mode=755", "size=64k"). */
                if (data) {
                        char *d = xasprintf("%s,%s", data, o);
                        free(data);
                        data = d;
                } else {
                        data = xstrdup(o);
                }
        }
        free(m->data);
        m->data = TAKE_PTR(data);
        return 0;
}

static void mount_clear(RtMount *m)
{
        if (m->prepared_fd >= 0)
                close(m->prepared_fd);
        free(m->uid_mappings);
        free(m->gid_mappings);
        free(m->destination);
        free(m->type);
        free(m->source);
        strv_free(m->options);
        free(m->data);
}

static int parse_id_mappings(const json_t *obj, const char *where, const char *key, RtIdMap **ret, size_t *ret_n,
                             Error **err)
{
        json_t *arr, *e;
        size_t i;
        int r;

        r = json_get_array(obj, key, where, &arr, err);
        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                char w[128];
                int64_t c = -1, h = -1, n = -1;
                RtIdMap *m;

                snprintf(w, sizeof(w), "%s.%s[%zu]", where, key, i);
                if (json_get_int_range(e, "containerID", w, 0, UINT32_MAX, &c, err) < 0 ||
                    json_get_int_range(e, "hostID", w, 0, UINT32_MAX, &h, err) < 0 ||
                    json_get_int_range(e, "size", w, 1, UINT32_MAX, &n, err) < 0)
                        return -EINVAL;
                if (c < 0 || h < 0 || n < 0)
                        return error_setf(err, EINVAL, "%s: containerID, hostID and size are required", w);
                m = xappend(*ret, *ret_n);
                m->container_id = (uint32_t)c;
                m->host_id = (uint32_t)h;
                m->size = (uint32_t)n;
        }
        return 0;
}

static int parse_mounts(const json_t *root, RtSpec *s, Error **err)
{
        json_t *arr, *e;
        size_t i;
        int r;

        r = json_get_array(root, "mounts", "", &arr, err);
        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                char where[64];
                const char *dst = NULL, *type = NULL, *src = NULL;
                RtMount *m;

                snprintf(where, sizeof(where), "mounts[%zu]", i);
                if (!json_is_object(e))
                        return error_setf(err, EINVAL, "%s: expected an object", where);
                m = xappend(s->mounts, s->n_mounts);
                m->prepared_fd = -EBADF;
                if (json_get_string(e, "destination", where, &dst, err) < 0 ||
                    json_get_string(e, "type", where, &type, err) < 0 ||
                    json_get_string(e, "source", where, &src, err) < 0 ||
                    json_get_strv(e, "options", where, &m->options, err) < 0)
                        return -EINVAL;
                if (!dst || !*dst)
                        return error_setf(err, EINVAL, "%s.destination: required", where);
                if (dst[0] != '/')
                        return error_setf(err, EINVAL, "%s.destination: '%s' is not an absolute path", where, dst);
                m->destination = xstrdup(dst);
                m->type = type && *type ? xstrdup(type) : NULL;
                m->source = src ? xstrdup(src) : NULL;
                r = rt_mount_parse_options(m, where, err);
                if (r < 0)
                        return r;
                if (!m->type && !(m->flags & MS_BIND))
                        m->type = xstrdup("none");
                if ((m->flags & MS_BIND) && !m->source)
                        return error_setf(err, EINVAL, "%s.source: required for a bind mount", where);
                if (parse_id_mappings(e, where, "uidMappings", &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
                    parse_id_mappings(e, where, "gidMappings", &m->gid_mappings, &m->n_gid_mappings, err) < 0)
                        return -EINVAL;
                if (m->n_uid_mappings || m->n_gid_mappings)
                        m->is_idmap = true;
                if (m->is_idmap && !(m->flags & MS_BIND))
                        return error_setf(err, EINVAL, "%s: an idmapped mount must be a bind mount", where);
                if (m->is_idmap && (!m->n_uid_mappings) != (!m->n_gid_mappings))
                        return error_setf(err, EINVAL, "%s: uidMappings and gidMappings go together", where);
        }
        return 0;
}

/* -------- process -------- */

static int parse_caps(const json_t *obj, const char *where, RtProcess *p, Error **err)
{
        static const char *const set_names[_RT_CAP_SET_MAX] = {
                [RT_CAP_BOUNDING] = "bounding",       [RT_CAP_EFFECTIVE] = "effective",
                [RT_CAP_INHERITABLE] = "inheritable", [RT_CAP_PERMITTED] = "permitted",
                [RT_CAP_AMBIENT] = "ambient",
        };
        char w[128];
        int last = rt_cap_last();

        p->has_caps = true;
        snprintf(w, sizeof(w), "%s.capabilities", where);
        for (int set = 0; set < _RT_CAP_SET_MAX; set++) {
                json_t *arr, *e;
                size_t i;
                int r = json_get_array(obj, set_names[set], w, &arr, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                json_array_foreach (arr, i, e) {
                        const char *name = json_string_value(e);
                        int cap;
                        if (!name)
                                return error_setf(err, EINVAL, "%s.%s[%zu]: expected a string", w, set_names[set], i);
                        cap = rt_cap_from_name(name);
                        if (cap < 0)
                                return error_setf(err, EINVAL, "%s.%s[%zu]: unknown capability '%s'", w,
                                                  set_names[set], i, name);
                        /* A capability this kernel does not have cannot be granted: skip it, as runc does. */
                        if (cap > last)
                                continue;
                        p->caps[set] |= 1ULL << cap;
                }
        }
        return 0;
}

static int parse_rlimits(const json_t *obj, const char *where, RtProcess *p, Error **err)
{
        json_t *arr, *e;
        size_t i;
        int r;

        r = json_get_array(obj, "rlimits", where, &arr, err);
        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                char w[96];
                const char *type = NULL;
                RtRlimit *rl;
                size_t k;

                snprintf(w, sizeof(w), "%s.rlimits[%zu]", where, i);
                if (json_get_string(e, "type", w, &type, err) < 0)
                        return -EINVAL;
                if (!type)
                        return error_setf(err, EINVAL, "%s.type: required", w);
                for (k = 0; k < ARRAY_SIZE(rlimit_table); k++)
                        if (strcmp(type, rlimit_table[k].name) == 0)
                                break;
                if (k == ARRAY_SIZE(rlimit_table))
                        return error_setf(err, EINVAL, "%s.type: unknown rlimit '%s'", w, type);
                for (size_t j = 0; j < p->n_rlimits; j++)
                        if (p->rlimits[j].resource == rlimit_table[k].resource)
                                return error_setf(err, EINVAL, "%s.type: '%s' given twice", w, type);
                rl = xappend(p->rlimits, p->n_rlimits);
                rl->resource = rlimit_table[k].resource;
                if (json_get_uint64(e, "soft", w, &rl->soft, err) < 0 ||
                    json_get_uint64(e, "hard", w, &rl->hard, err) < 0)
                        return -EINVAL;
                if (rl->soft > rl->hard)
                        return error_setf(err, EINVAL, "%s: soft limit %llu is above the hard limit %llu", w,
                                          (unsigned long long)rl->soft, (unsigned long long)rl->hard);
        }
        return 0;
}

static int parse_user(const json_t *obj, const char *where, RtProcess *p, Error **err)
{
        char w[96];
        json_t *user, *arr, *e;
        int64_t v;
        size_t i;
        int r;

        snprintf(w, sizeof(w), "%s.user", where);
        r = json_get_object(obj, "user", where, &user, err);
        if (r <= 0)
                return r;
        r = json_get_int_range(user, "uid", w, 0, UINT32_MAX - 1, &v, err);
        if (r < 0)
                return r;
        if (r > 0)
                p->uid = (uid_t)v;
        r = json_get_int_range(user, "gid", w, 0, UINT32_MAX - 1, &v, err);
        if (r < 0)
                return r;
        if (r > 0)
                p->gid = (gid_t)v;
        r = json_get_int_range(user, "umask", w, 0, 0777, &v, err);
        if (r < 0)
                return r;
        if (r > 0) {
                p->umask = (mode_t)v;
                p->has_umask = true;
        }
        r = json_get_array(user, "additionalGids", w, &arr, err);
        if (r < 0)
                return r;
        if (r > 0) {
                json_array_foreach (arr, i, e) {
                        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                            json_integer_value(e) > (json_int_t)UINT32_MAX - 1)
                                return error_setf(err, EINVAL, "%s.additionalGids[%zu]: expected a gid", w, i);
                        *(gid_t *)xappend(p->additional_gids, p->n_additional_gids) = (gid_t)json_integer_value(e);
                }
        }
        return 0;
}

int rt_process_parse(const json_t *obj, const char *where, RtProcess **ret, Error **err)
{
        _cleanup_(rt_process_freep) RtProcess *p = xnew0(RtProcess, 1);
        const char *cwd = NULL, *s = NULL;
        json_t *o;
        int64_t v;
        int r;

        if (!json_is_object(obj))
                return error_setf(err, EINVAL, "%s: expected an object", where);
        if (json_get_bool(obj, "terminal", where, &p->terminal, err) < 0 ||
            json_get_strv(obj, "args", where, &p->args, err) < 0 ||
            json_get_strv(obj, "env", where, &p->env, err) < 0 ||
            json_get_string(obj, "cwd", where, &cwd, err) < 0 ||
            json_get_bool(obj, "noNewPrivileges", where, &p->no_new_privileges, err) < 0)
                return -EINVAL;
        if (!p->args || !p->args[0])
                return error_setf(err, EINVAL, "%s.args: required, and must name a program", where);
        if (!cwd)
                cwd = "/";
        if (cwd[0] != '/')
                return error_setf(err, EINVAL, "%s.cwd: '%s' is not an absolute path", where, cwd);
        p->cwd = xstrdup(cwd);
        for (size_t i = 0; p->env && p->env[i]; i++)
                if (!strchr(p->env[i], '='))
                        return error_setf(err, EINVAL, "%s.env[%zu]: '%s' is not KEY=value", where, i, p->env[i]);

        r = json_get_object(obj, "consoleSize", where, &o, err);
        if (r < 0)
                return r;
        if (r > 0) {
                char w[96];
                snprintf(w, sizeof(w), "%s.consoleSize", where);
                r = json_get_int_range(o, "height", w, 0, UINT16_MAX, &v, err);
                if (r < 0)
                        return r;
                p->console_height = r > 0 ? (unsigned)v : 0;
                r = json_get_int_range(o, "width", w, 0, UINT16_MAX, &v, err);
                if (r < 0)
                        return r;
                p->console_width = r > 0 ? (unsigned)v : 0;
        }
        r = parse_user(obj, where, p, err);
        if (r < 0)
                return r;
        r = json_get_object(obj, "capabilities", where, &o, err);
        if (r < 0)
                return r;
        if (r > 0 && parse_caps(o, where, p, err) < 0)
                return -EINVAL;
        r = parse_rlimits(obj, where, p, err);
        if (r < 0)
                return r;
        r = json_get_int_range(obj, "oomScoreAdj", where, -1000, 1000, &v, err);
        if (r < 0)
                return r;
        if (r > 0) {
                p->oom_score_adj = (int)v;
                p->has_oom_score_adj = true;
        }
        if (json_get_string(obj, "apparmorProfile", where, &s, err) < 0)
                return -EINVAL;
        p->apparmor_profile = s && *s ? xstrdup(s) : NULL;
        s = NULL;
        if (json_get_string(obj, "selinuxLabel", where, &s, err) < 0)
                return -EINVAL;
        p->selinux_label = s && *s ? xstrdup(s) : NULL;
        *ret = TAKE_PTR(p);
        return 0;
}

RtProcess *rt_process_free(RtProcess *p)
{
        if (!p)
                return NULL;
        free(p->cwd);
        strv_free(p->env);
        strv_free(p->args);
        free(p->additional_gids);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        free(p);
        return NULL;
}

/* -------- hooks -------- */

static int parse_hooks(const json_t *root, RtSpec *s, Error **err)
{
        json_t *hooks;
        int r;

        r = json_get_object(root, "hooks", "", &hooks, err);
        if (r <= 0)
                return r;
        for (int k = 0; k < _RT_HOOK_MAX; k++) {
                char w[64];
                json_t *arr, *e;
                size_t i;

                snprintf(w, sizeof(w), "hooks");
                r = json_get_array(hooks, hook_names[k], w, &arr, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                json_array_foreach (arr, i, e) {
                        const char *path = NULL;
                        int64_t timeout = 0;
                        RtHook *h;

                        snprintf(w, sizeof(w), "hooks.%s[%zu]", hook_names[k], i);
                        if (!json_is_object(e))
                                return error_setf(err, EINVAL, "%s: expected an object", w);
                        h = xappend(s->hooks[k], s->n_hooks[k]);
                        if (json_get_string(e, "path", w, &path, err) < 0 ||
                            json_get_strv(e, "args", w, &h->args, err) < 0 ||
                            json_get_strv(e, "env", w, &h->env, err) < 0 ||
                            json_get_int_range(e, "timeout", w, 1, INT32_MAX, &timeout, err) < 0)
                                return -EINVAL;
                        if (!path || path[0] != '/')
                                return error_setf(err, EINVAL, "%s.path: required, and must be absolute", w);
                        h->path = xstrdup(path);
                        h->timeout = (int)timeout;
                }
        }
        return 0;
}

/* -------- linux -------- */


static int parse_namespaces(const json_t *linux_obj, RtSpec *s, Error **err)
{
        json_t *arr, *e;
        size_t i;
        int r;

        r = json_get_array(linux_obj, "namespaces", "linux", &arr, err);
        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                char w[64];
                const char *type = NULL, *path = NULL;
                int t;

                snprintf(w, sizeof(w), "linux.namespaces[%zu]", i);
                if (json_get_string(e, "type", w, &type, err) < 0 || json_get_string(e, "path", w, &path, err) < 0)
                        return -EINVAL;
                if (!type)
                        return error_setf(err, EINVAL, "%s.type: required", w);
                t = rt_ns_type_from_name(type);
                if (t < 0)
                        return error_setf(err, EINVAL, "%s.type: unknown namespace type '%s'", w, type);
                if (s->ns[t].is_set)
                        return error_setf(err, EINVAL, "%s.type: namespace '%s' given twice", w, type);
                if (path && *path && path[0] != '/')
                        return error_setf(err, EINVAL, "%s.path: '%s' is not an absolute path", w, path);
                s->ns[t].is_set = true;
                s->ns[t].path = path && *path ? xstrdup(path) : NULL;
        }
        return 0;
}

static int parse_devices(const json_t *linux_obj, RtSpec *s, Error **err)
{
        json_t *arr, *e;
        size_t i;
        int r;

        r = json_get_array(linux_obj, "devices", "linux", &arr, err);
        if (r <= 0)
                return r;
        json_array_foreach (arr, i, e) {
                char w[64];
                const char *path = NULL, *type = NULL;
                int64_t v;
                RtDevice *d;

                snprintf(w, sizeof(w), "linux.devices[%zu]", i);
                d = xappend(s->devices, s->n_devices);
                if (json_get_string(e, "path", w, &path, err) < 0 || json_get_string(e, "type", w, &type, err) < 0)
                        return -EINVAL;
                if (!path || path[0] != '/')
                        return error_setf(err, EINVAL, "%s.path: required, and must be absolute", w);
                d->path = xstrdup(path);
                if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
                        return error_setf(err, EINVAL, "%s.type: must be one of c, b, u, p", w);
                d->type = type[0];
                d->major = d->minor = -1;
                if (json_get_int_range(e, "major", w, 0, UINT32_MAX, &d->major, err) < 0 ||
                    json_get_int_range(e, "minor", w, 0, UINT32_MAX, &d->minor, err) < 0)
                        return -EINVAL;
                if (d->type != 'p' && (d->major < 0 || d->minor < 0))
                        return error_setf(err, EINVAL, "%s: major and minor are required for type '%c'", w, d->type);
                r = json_get_int_range(e, "fileMode", w, 0, 07777, &v, err);
                if (r < 0)
                        return r;
                d->has_file_mode = r > 0;
                d->file_mode = r > 0 ? (mode_t)v : 0;
                r = json_get_int_range(e, "uid", w, 0, UINT32_MAX - 1, &v, err);
                if (r < 0)
                        return r;
                d->has_uid = r > 0;
                d->uid = r > 0 ? (uid_t)v : 0;
                r = json_get_int_range(e, "gid", w, 0, UINT32_MAX - 1, &v, err);
                if (r < 0)
                        return r;
                d->has_gid = r > 0;
                d->gid = r > 0 ? (gid_t)v : 0;
        }
        return 0;
}

static int parse_sysctl(const json_t *linux_obj, RtSpec *s, Error **err)
{
        json_t *o, *v;
        const char *key;
        int r;

        r = json_get_object(linux_obj, "sysctl", "linux", &o, err);
        if (r <= 0)
                return r;
        json_object_foreach (o, key, v) {
                if (!json_is_string(v))
                        return error_setf(err, EINVAL, "linux.sysctl.%s: expected a string", key);
                if (!*key || strstr(key, "..") || key[0] == '/' || key[0] == '.')
                        return error_setf(err, EINVAL, "linux.sysctl: invalid key '%s'", key);
                strv_push(&s->sysctl, key);
                strv_push(&s->sysctl, json_string_value(v));
        }
        return 0;
}

static int parse_time_offsets(const json_t *linux_obj, RtSpec *s, Error **err)
{
        static const char *const clocks[2] = { "monotonic", "boottime" };
        json_t *o, *c;
        int r;

        r = json_get_object(linux_obj, "timeOffsets", "linux", &o, err);
        if (r <= 0)
                return r;
        s->has_time_offsets = true;
        for (int i = 0; i < 2; i++) {
                char w[64];
                int64_t ns = 0;
                snprintf(w, sizeof(w), "linux.timeOffsets.%s", clocks[i]);
                r = json_get_object(o, clocks[i], "linux.timeOffsets", &c, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (json_get_int64(c, "secs", w, &s->time_offset_secs[i], err) < 0 ||
                    json_get_int_range(c, "nanosecs", w, 0, 999999999, &ns, err) < 0)
                        return -EINVAL;
                s->time_offset_nsecs[i] = (uint32_t)ns;
        }
        return 0;
}

static int parse_linux(const json_t *root, RtSpec *s, Error **err)
{
        json_t *lx, *o;
        const char *str = NULL;
        int r;

        r = json_get_object(root, "linux", "", &lx, err);
        if (r <= 0)
                return r;
        if (parse_namespaces(lx, s, err) < 0 ||
            parse_id_mappings(lx, "linux", "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0 ||
            parse_id_mappings(lx, "linux", "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0 ||
            parse_devices(lx, s, err) < 0 || parse_sysctl(lx, s, err) < 0 || parse_time_offsets(lx, s, err) < 0 ||
            json_get_strv(lx, "maskedPaths", "linux", &s->masked_paths, err) < 0 ||
            json_get_strv(lx, "readonlyPaths", "linux", &s->readonly_paths, err) < 0)
                return -EINVAL;
        if (json_get_string(lx, "cgroupsPath", "linux", &str, err) < 0)
                return -EINVAL;
        s->cgroups_path = str && *str ? xstrdup(str) : NULL;
        str = NULL;
        if (json_get_string(lx, "mountLabel", "linux", &str, err) < 0)
                return -EINVAL;
        s->mount_label = str && *str ? xstrdup(str) : NULL;
        str = NULL;
        if (json_get_string(lx, "rootfsPropagation", "linux", &str, err) < 0)
                return -EINVAL;
        if (str && *str) {
                size_t i;
                for (i = 0; i < ARRAY_SIZE(propagation_table); i++)
                        if (strcmp(str, propagation_table[i].name) == 0)
                                break;
                if (i == ARRAY_SIZE(propagation_table))
                        return error_setf(err, EINVAL, "linux.rootfsPropagation: unknown propagation '%s'", str);
                s->rootfs_propagation = propagation_table[i].flags;
        }
        if (json_get_object(lx, "resources", "linux", &s->resources, err) < 0 ||
            json_get_object(lx, "seccomp", "linux", &s->seccomp, err) < 0)
                return -EINVAL;
        r = json_get_object(lx, "intelRdt", "linux", &o, err);
        if (r < 0)
                return r;
        if (r > 0)
                return error_setf(err, EOPNOTSUPP, "linux.intelRdt: Intel RDT is not supported on this host");
        return 0;
}

/* An idmapped mount without mappings of its own takes the container's user namespace's. */
static int check_idmapped_mounts(RtSpec *s, Error **err)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                RtMount *m = &s->mounts[i];
                if (!m->is_idmap || m->n_uid_mappings)
                        continue;
                if (!s->n_uid_mappings || !s->n_gid_mappings)
                        return error_setf(err, EINVAL,
                                          "mounts[%zu].uidMappings: required for an idmapped mount when the "
                                          "container has no user namespace mappings", i);
                m->uid_mappings = xmalloc(s->n_uid_mappings * sizeof(RtIdMap));
                memcpy(m->uid_mappings, s->uid_mappings, s->n_uid_mappings * sizeof(RtIdMap));
                m->n_uid_mappings = s->n_uid_mappings;
                m->gid_mappings = xmalloc(s->n_gid_mappings * sizeof(RtIdMap));
                memcpy(m->gid_mappings, s->gid_mappings, s->n_gid_mappings * sizeof(RtIdMap));
                m->n_gid_mappings = s->n_gid_mappings;
        }
        return 0;
}

static int check_namespaces(RtSpec *s, Error **err)
{
        bool has_maps = s->n_uid_mappings > 0 || s->n_gid_mappings > 0;

        if (s->ns[RT_NS_USER].is_set && !s->ns[RT_NS_USER].path) {
                if (s->n_uid_mappings == 0 || s->n_gid_mappings == 0)
                        return error_setf(err, EINVAL,
                                          "linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
        } else if (has_maps) {
                /* Meaningless without a user namespace of our own; runc ignores them too. */
                log_warn("linux.uidMappings, linux.gidMappings: ignored, the container makes no user namespace");
                s->uid_mappings = mfree(s->uid_mappings);
                s->gid_mappings = mfree(s->gid_mappings);
                s->n_uid_mappings = s->n_gid_mappings = 0;
        }
        if (s->hostname && (!s->ns[RT_NS_UTS].is_set))
                return error_setf(err, EINVAL, "hostname: setting it needs a uts namespace");
        if (s->domainname && (!s->ns[RT_NS_UTS].is_set))
                return error_setf(err, EINVAL, "domainname: setting it needs a uts namespace");
        if (s->has_time_offsets && (!s->ns[RT_NS_TIME].is_set || s->ns[RT_NS_TIME].path))
                return error_setf(err, EINVAL, "linux.timeOffsets: needs a new time namespace");
        return 0;
}

/* Whether path names the network namespace we are in (the host's, when we are the runtime). */
static bool is_own_netns(const char *path)
{
        struct stat a, b;

        if (stat(path, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
                return false; /* cannot tell: joining it will fail or tell */
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * As runc: a sysctl is written only if it belongs to a namespace the container has apart from the
 * host; any other would change the host's kernel settings for everyone.
 */
static int check_sysctl(const RtSpec *s, Error **err)
{
        static const char *const ipc_keys[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                                "kernel.sem",    "kernel.shmall", "kernel.shmmax",
                                                "kernel.shmmni", "kernel.shm_rmid_forced" };
        const RtNamespace *net = &s->ns[RT_NS_NET];

        for (size_t i = 0; s->sysctl && s->sysctl[i]; i += 2) {
                const char *key = s->sysctl[i];
                RtNsType t = _RT_NS_MAX;

                for (size_t k = 0; k < ARRAY_SIZE(ipc_keys); k++)
                        if (strcmp(key, ipc_keys[k]) == 0)
                                t = RT_NS_IPC;
                if (strncmp(key, "fs.mqueue.", 10) == 0)
                        t = RT_NS_IPC;
                else if (strncmp(key, "net.", 4) == 0)
                        t = RT_NS_NET;
                else if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
                        t = RT_NS_UTS;
                if (t == _RT_NS_MAX)
                        return error_setf(err, EINVAL,
                                          "linux.sysctl: '%s' is not namespaced: setting it would change the host",
                                          key);
                if (!s->ns[t].is_set || (t == RT_NS_NET && net->path && is_own_netns(net->path)))
                        return error_setf(err, EINVAL,
                                          "linux.sysctl: '%s' is in the host's %s namespace: setting it would "
                                          "change the host",
                                          key, rt_ns_type_name(t));
        }
        return 0;
}

int rt_spec_parse(const char *buf, size_t len, RtSpec **ret, Error **err)
{
        json_t *doc = NULL;
        int r = json_parse(buf, len, "config.json", &doc, err);

        return r < 0 ? r : rt_spec_parse_json(doc, ret, err);
}

int rt_spec_parse_json(json_t *doc, RtSpec **ret, Error **err)
{
        _cleanup_(rt_spec_freep) RtSpec *s = xnew0(RtSpec, 1);
        const char *str = NULL;
        json_t *o = NULL;
        int r;

        s->json = doc;
        if (!json_is_object(s->json))
                return error_setf(err, EINVAL, "config.json: expected an object");
        if (json_get_string(s->json, "ociVersion", "", &str, err) < 0)
                return -EINVAL;
        if (!str)
                return error_setf(err, EINVAL, "ociVersion: required");
        if (strncmp(str, "1.", 2) != 0)
                return error_setf(err, EINVAL, "ociVersion: '%s' is not supported (1.x is)", str);
        s->oci_version = xstrdup(str);

        r = json_get_object(s->json, "root", "", &o, err);
        if (r < 0)
                return r;
        if (r == 0)
                o = NULL;
        str = NULL;
        if (json_get_string(o, "path", "root", &str, err) < 0 || json_get_bool(o, "readonly", "root", &s->root_readonly, err) < 0)
                return -EINVAL;
        if (!str || !*str)
                return error_setf(err, EINVAL, "root.path: required");
        s->root_path = xstrdup(str);

        str = NULL;
        if (json_get_string(s->json, "hostname", "", &str, err) < 0)
                return -EINVAL;
        s->hostname = str && *str ? xstrdup(str) : NULL;
        str = NULL;
        if (json_get_string(s->json, "domainname", "", &str, err) < 0)
                return -EINVAL;
        s->domainname = str && *str ? xstrdup(str) : NULL;

        r = json_get_object(s->json, "process", "", &o, err);
        if (r < 0)
                return r;
        if (r > 0 && (r = rt_process_parse(o, "process", &s->process, err)) < 0)
                return r;
        if ((r = parse_mounts(s->json, s, err)) < 0 || (r = parse_hooks(s->json, s, err)) < 0 ||
            (r = parse_linux(s->json, s, err)) < 0 || (r = check_namespaces(s, err)) < 0 || (r = check_idmapped_mounts(s, err)) < 0 ||
            (r = check_sysctl(s, err)) < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int rt_spec_load(const char *bundle_dir, RtSpec **ret, char **ret_raw, Error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, path, &buf, &len, err);
        if (r < 0)
                return r;
        r = rt_spec_parse(buf, len, ret, err);
        if (r < 0)
                return error_wrap(err, r, "%s", path);
        if (ret_raw)
                *ret_raw = TAKE_PTR(buf);
        return 0;
}

RtSpec *rt_spec_free(RtSpec *s)
{
        if (!s)
                return NULL;
        json_decref(s->json);
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        rt_process_free(s->process);
        for (size_t i = 0; i < s->n_mounts; i++)
                mount_clear(&s->mounts[i]);
        free(s->mounts);
        for (int k = 0; k < _RT_HOOK_MAX; k++) {
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        free(s->hooks[k][i].path);
                        strv_free(s->hooks[k][i].args);
                        strv_free(s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        for (int t = 0; t < _RT_NS_MAX; t++)
                free(s->ns[t].path);
        free(s->uid_mappings);
        free(s->gid_mappings);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        free(s->cgroups_path);
        strv_free(s->sysctl);
        strv_free(s->masked_paths);
        strv_free(s->readonly_paths);
        free(s->mount_label);
        free(s);
        return NULL;
}
