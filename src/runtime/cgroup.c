/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.c: cgroup mode detection, path resolution, create and enter, dispatch to the v1/v2 ops, state */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/cgroup-internal.h"

static const struct {
        const char *v1;   /* NULL: no v1 controller */
        const char *v2;   /* NULL: nothing on v2; "": part of the v2 core, always there */
        const char *what; /* the config field, for messages */
} controllers[_CG_CONTROLLER_MAX] = {
        [CG_MEMORY] = {"memory", "memory", "memory"},
        [CG_CPU] = {"cpu", "cpu", "cpu"},
        [CG_CPUSET] = {"cpuset", "cpuset", "cpu.cpus/mems"},
        [CG_PIDS] = {"pids", "pids", "pids"},
        [CG_BLKIO] = {"blkio", "io", "blockIO"},
        [CG_HUGETLB] = {"hugetlb", "hugetlb", "hugepageLimits"},
        [CG_NET_CLS] = {"net_cls", NULL, "network.classID"},
        [CG_NET_PRIO] = {"net_prio", NULL, "network.priorities"},
        [CG_RDMA] = {"rdma", "rdma", "rdma"},
        [CG_DEVICES] = {"devices", "", "devices"},
        [CG_UNIFIED] = {NULL, "", "unified"},
        [CG_CPUACCT] = {"cpuacct", "", "cpu usage"},
        [CG_FREEZER] = {"freezer", "", "freezer"},
};

/* ---- the host's layout ---- */

const char *rt_cgroup_mode_name(RtCgroupMode m)
{
        switch (m) {
        case RT_CGROUP_V1:
                return "v1";
        case RT_CGROUP_V2:
                return "v2";
        case RT_CGROUP_HYBRID:
                return "hybrid";
        }
        return "unknown";
}

static int mode_from_name(const char *s)
{
        for (int m = RT_CGROUP_V1; m <= RT_CGROUP_HYBRID; m++)
                if (strcmp(s, rt_cgroup_mode_name(m)) == 0)
                        return m;
        return -EINVAL;
}

/* Undoes the octal escapes ("\040") mountinfo uses for blanks, in place. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *w++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 3;
                } else {
                        *w++ = *p;
                }
        }
        *w = 0;
}

char **rt_cgroup_words(const char *s, const char *separators)
{
        _cleanup_free_ char *copy = xstrdup(s);
        char **v = xnew0(char *, 1), *save = NULL;
        for (char *t = strtok_r(copy, separators, &save); t; t = strtok_r(NULL, separators, &save))
                strv_push(&v, t);
        return v;
}

/* A cgroup or cgroup2 line of mountinfo: fields 4 (root) and 5 (mount point), then after " - " type and options. */
typedef struct MountLine {
        char *root, *point, *fstype, *super;
} MountLine;

static bool parse_mount_line(char *line, MountLine *m)
{
        char *save = NULL, *f[5] = {0};
        int i = 0;
        char *t = strtok_r(line, " ", &save);

        for (; t && i < 5; t = strtok_r(NULL, " ", &save))
                f[i++] = t;
        while (t && strcmp(t, "-") != 0)
                t = strtok_r(NULL, " ", &save);
        if (i < 5 || !t)
                return false;
        m->root = f[3];
        m->point = f[4];
        m->fstype = strtok_r(NULL, " ", &save);
        (void)strtok_r(NULL, " ", &save); /* source */
        m->super = strtok_r(NULL, " \n", &save);
        if (!m->fstype || !m->super)
                return false;
        unescape_octal(m->root);
        unescape_octal(m->point);
        return true;
}

/* path (from /proc/self/cgroup) below a mount whose root is root. */
static char *path_below_root(const char *path, const char *root)
{
        size_t n = strlen(root);
        if (strcmp(root, "/") == 0 || strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != 0))
                return xstrdup(path);
        return xstrdup(path[n] ? path + n : "/");
}

static void host_add(CgHost *host, bool is_v2, const char *ctrls, const MountLine *m, const char *own)
{
        CgMount *cm = xappend(host->mounts, host->n_mounts);
        cm->is_v2 = is_v2;
        cm->controllers = is_v2 ? NULL : rt_cgroup_words(ctrls, ",");
        cm->mount = xstrdup(m->point);
        cm->own = path_below_root(own, m->root);
}

/* The v1 mount holding every controller of ctrls ("cpu,cpuacct" or "name=systemd"). */
static const MountLine *find_v1_mount(const MountLine *v1, size_t n, const char *ctrls)
{
        _cleanup_strv_ char **want = rt_cgroup_words(ctrls, ",");
        for (size_t i = 0; i < n; i++) {
                _cleanup_strv_ char **opts = rt_cgroup_words(v1[i].super, ",");
                bool is_all = want[0] != NULL;
                for (char **w = want; *w && is_all; w++)
                        is_all = strv_contains(opts, *w);
                if (is_all)
                        return &v1[i];
        }
        return NULL;
}

static int host_match(CgHost *host, char *proc_cgroup, const MountLine *v1, size_t n_v1, const MountLine *v2,
                      Error **err)
{
        char *save = NULL;
        for (char *l = strtok_r(proc_cgroup, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *ctrls = strchr(l, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
                const MountLine *m;
                if (!path)
                        return error_setf(err, EBADMSG, "/proc/self/cgroup: malformed line '%s'", l);
                *ctrls++ = 0;
                *path++ = 0;
                if (strcmp(l, "0") == 0 && !*ctrls) {
                        if (v2)
                                host_add(host, true, NULL, v2, path);
                        continue;
                }
                if (host->mode == RT_CGROUP_V2 || !*ctrls)
                        continue;
                m = find_v1_mount(v1, n_v1, ctrls);
                if (m)
                        host_add(host, false, ctrls, m, path);
                else
                        log_debug("cgroup: hierarchy '%s' is not mounted, skipped", ctrls);
        }
        if (host->n_mounts == 0)
                return error_setf(err, ENOMEDIUM, "no cgroup hierarchy of this process is mounted");
        return 0;
}

int rt_cgroup_host_parse(const char *mountinfo, const char *proc_cgroup, CgHost **ret, Error **err)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *host = xnew0(CgHost, 1);
        _cleanup_free_ char *mi = xstrdup(mountinfo), *pc = xstrdup(proc_cgroup);
        _cleanup_free_ MountLine *v1 = NULL;
        MountLine v2 = {0};
        size_t n_v1 = 0;
        bool has_v2 = false;
        char *save = NULL;
        int r;

        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                MountLine m;
                if (!parse_mount_line(l, &m))
                        continue;
                if (strcmp(m.fstype, "cgroup") == 0)
                        *xappend(v1, n_v1) = m;
                /* Prefer the canonical place when cgroup2 is mounted more than once. */
                else if (strcmp(m.fstype, "cgroup2") == 0 &&
                         (!has_v2 || strcmp(m.point, "/sys/fs/cgroup") == 0))
                        v2 = m, has_v2 = true;
        }
        if (has_v2 && (n_v1 == 0 || strcmp(v2.point, "/sys/fs/cgroup") == 0))
                host->mode = RT_CGROUP_V2;
        else if (n_v1 > 0)
                host->mode = has_v2 ? RT_CGROUP_HYBRID : RT_CGROUP_V1;
        else
                return error_setf(err, ENOMEDIUM, "no cgroup file system is mounted");

        r = host_match(host, pc, v1, n_v1, has_v2 ? &v2 : NULL, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(host);
        return 0;
}

int rt_cgroup_host_load(CgHost **ret, Error **err)
{
        _cleanup_free_ char *mi = NULL, *pc = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mi, NULL, err);
        if (r >= 0)
                r = read_file_at(AT_FDCWD, "/proc/self/cgroup", &pc, NULL, err);
        if (r >= 0)
                r = rt_cgroup_host_parse(mi, pc, ret, err);
        return r < 0 ? error_wrap(err, r, "detect cgroup layout") : 0;
}

CgHost *rt_cgroup_host_free(CgHost *host)
{
        if (!host)
                return NULL;
        for (size_t i = 0; i < host->n_mounts; i++) {
                strv_free(host->mounts[i].controllers);
                free(host->mounts[i].mount);
                free(host->mounts[i].own);
        }
        free(host->mounts);
        free(host);
        return NULL;
}

int rt_cgroup_mode(RtCgroupMode *ret, Error **err)
{
        static int cached = -1;

        if (cached < 0) {
                _cleanup_(rt_cgroup_host_freep) CgHost *host = NULL;
                int r = rt_cgroup_host_load(&host, err);
                if (r < 0)
                        return r;
                cached = (int)host->mode;
        }
        *ret = (RtCgroupMode)cached;
        return 0;
}

/* ---- the cgroup's path ---- */

/* Joins the components of in with single slashes, refusing "." and ".."; keeps a leading slash. */
static int clean_path(const char *in, char **ret, Error **err)
{
        _cleanup_strv_ char **parts = rt_cgroup_words(in, "/");
        _cleanup_free_ char *out = xstrdup(in[0] == '/' ? "/" : "");

        if (!parts[0])
                return error_setf(err, EINVAL, "cgroupsPath '%s': must name a cgroup below the root", in);
        for (char **p = parts; *p; p++) {
                char *n;
                if (strcmp(*p, ".") == 0 || strcmp(*p, "..") == 0)
                        return error_setf(err, EINVAL, "cgroupsPath '%s': '.' and '..' are not allowed", in);
                n = xasprintf("%s%s%s", out, p == parts ? "" : "/", *p);
                free(out);
                out = n;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" as systemd nests slices; "-.slice" is the root. */
static int expand_slice(const char *slice, char **ret, Error **err)
{
        size_t n = strlen(slice);
        _cleanup_free_ char *out = xstrdup("");

        if (n < 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
                return error_setf(err, EINVAL, "cgroupsPath: '%s' is not a systemd slice name", slice);
        if (strcmp(slice, "-.slice") != 0) {
                _cleanup_free_ char *name = xstrndup(slice, n - 6);
                if (name[0] == '-' || name[n - 7] == '-' || strstr(name, "--"))
                        return error_setf(err, EINVAL, "cgroupsPath: '%s' is not a valid slice name", slice);
                for (char *p = name;; p++) {
                        if (*p == '-' || *p == 0) {
                                char *s = xasprintf("%s/%.*s.slice", out, (int)(p - name), name);
                                free(out);
                                out = s;
                        }
                        if (*p == 0)
                                break;
                }
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int systemd_path(const char *spec, char **ret, Error **err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *slice_path = NULL;
        char *prefix = strchr(copy, ':'), *name = prefix ? strchr(prefix + 1, ':') : NULL;
        int r;

        if (!name || strchr(name + 1, ':'))
                return error_setf(err, EINVAL, "cgroupsPath '%s': expected 'slice:prefix:name' for systemd", spec);
        *prefix++ = 0;
        *name++ = 0;
        if (!*name || strchr(name, '/') || strchr(prefix, '/'))
                return error_setf(err, EINVAL, "cgroupsPath '%s': bad unit name", spec);
        r = expand_slice(*copy ? copy : "system.slice", &slice_path, err);
        if (r < 0)
                return r;
        if (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0)
                *ret = xasprintf("%s/%s", slice_path, name);
        else
                *ret = xasprintf("%s/%s%s%s.scope", slice_path, prefix, *prefix ? "-" : "", name);
        return 0;
}

int rt_cgroup_path_resolve(const char *cgroups_path, const char *id, bool is_systemd, char **ret, Error **err)
{
        _cleanup_free_ char *raw = NULL;
        int r;

        if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return error_setf(err, EINVAL, "container id '%s' cannot name a cgroup", id ? id : "");
        if (cgroups_path && *cgroups_path && is_systemd) {
                r = systemd_path(cgroups_path, &raw, err);
                if (r < 0)
                        return r;
        } else if (cgroups_path && *cgroups_path) {
                raw = xstrdup(cgroups_path);
        } else {
                raw = is_systemd ? xasprintf("/system.slice/hull-%s.scope", id) : xasprintf("/hull/%s", id);
        }
        return clean_path(raw, ret, err);
}

/* ---- files of one cgroup ---- */

int rt_cgroup_write(CgHier *h, const char *file, const char *value, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        log_debug("cgroup: %s/%s <- '%s'", h->dir, file, value);
        if (h->fd < 0)
                return error_setf(err, ENOENT, "cgroup '%s' does not exist", h->dir);
        fd = openat(h->fd, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
                return error_setf(err, EOPNOTSUPP, "'%s' does not exist: not supported by this kernel or controller",
                                  file);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", file);
        n = write(fd, value, len);
        if (n < 0)
                return error_set(err, errno, "write '%s' to '%s'", value, file);
        if ((size_t)n != len)
                return error_set(err, EIO, "short write of '%s' to '%s'", value, file);
        return 0;
}

int rt_cgroup_write_int(CgHier *h, const char *file, int64_t value, Error **err)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)value);
        return rt_cgroup_write(h, file, buf, err);
}

int rt_cgroup_write_max(CgHier *h, const char *file, int64_t value, Error **err)
{
        return value < 0 ? rt_cgroup_write(h, file, "max", err) : rt_cgroup_write_int(h, file, value, err);
}

int rt_cgroup_read(CgHier *h, const char *file, char **ret, Error **err)
{
        size_t len;
        int r;

        if (h->fd < 0)
                return error_setf(err, ENOENT, "cgroup '%s' does not exist", h->dir);
        r = read_file_at(h->fd, file, ret, &len, err);
        if (r < 0)
                return r;
        while (len > 0 && ((*ret)[len - 1] == '\n' || (*ret)[len - 1] == ' '))
                (*ret)[--len] = 0;
        return 0;
}

int rt_cgroup_read_int(CgHier *h, const char *file, int64_t *ret, Error **err)
{
        _cleanup_free_ char *s = NULL;
        char *end;
        int r = rt_cgroup_read(h, file, &s, err);

        if (r < 0)
                return r;
        if (strcmp(s, "max") == 0) {
                *ret = -1;
                return 0;
        }
        errno = 0;
        *ret = strtoll(s, &end, 10);
        if (errno || end == s || (*end && *end != '\n'))
                return error_setf(err, EBADMSG, "'%s': '%s' is not a number", file, s);
        return 0;
}

bool rt_cgroup_has_file(CgHier *h, const char *file)
{
        return h->fd >= 0 && faccessat(h->fd, file, F_OK, 0) == 0;
}

typedef struct PidList {
        pid_t *pids;
        size_t n;
} PidList;

/*
 * Visits the cgroup dir_fd/name and every cgroup below it, children first (so rmdir can remove leaves first),
 * calling visit(dir_fd, name, fd of name). A missing directory is skipped.
 */
typedef int (*VisitFn)(int dir_fd, const char *name, int fd, void *u, Error **err);

static int walk(int dir_fd, const char *name, VisitFn visit, void *u, Error **err)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : error_set(err, errno, "open '%s'", name);
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return error_set(err, r, "open '%s'", name);
        }
        while (r >= 0 && (de = readdir(d)))
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = walk(dirfd(d), de->d_name, visit, u, err);
        if (r >= 0)
                r = visit(dir_fd, name, dirfd(d), u, err);
        closedir(d);
        return r < 0 ? error_wrap(err, r, "'%s'", name) : 0;
}

static int visit_pids(int dir_fd, const char *name, int fd, void *u, Error **err)
{
        _cleanup_free_ char *procs = NULL;
        PidList *l = u;
        char *save = NULL;
        int r = read_file_at(fd, "cgroup.procs", &procs, NULL, err);

        if (r < 0)
                return r;
        for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                *xappend(l->pids, l->n) = (pid_t)atoi(t);
        return 0;
}

static int pids_in(CgHier *h, pid_t **ret, size_t *ret_n, Error **err)
{
        PidList l = {0};
        int r = walk(AT_FDCWD, h->dir, visit_pids, &l, err);

        if (r < 0) {
                free(l.pids);
                return r;
        }
        *ret = l.pids;
        *ret_n = l.n;
        return 0;
}

static int signal_all(CgHier *h, int sig, Error **err)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = pids_in(h, &pids, &n, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        return error_set(err, errno, "signal %d to pid %d", sig, pids[i]);
        return 0;
}

/* rmdir, with a short bounded retry on EBUSY: the kernel lets go of a cgroup a moment after its last task is
 * reaped, and v1 has no event to wait for. */
static int visit_rmdir(int dir_fd, const char *name, int fd, void *u, Error **err)
{
        /* The caller made sure no process is left (rt_cgroup_destroy's contract), so EBUSY is
         * only the kernel finishing an exit: retry a few times, without sleeping. */
        for (int attempt = 1;; attempt++) {
                if (unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || attempt >= 1000)
                        return error_set(err, errno, "remove '%s'", name);
                sched_yield();
        }
}

/* ---- which hierarchy holds a controller ---- */

static bool v2_has_controller(CgHier *h, const char *name)
{
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_ char **words = NULL;

        if (rt_cgroup_read(h, "cgroup.controllers", &s, NULL) < 0)
                return false;
        words = rt_cgroup_words(s, " \n");
        return strv_contains(words, name);
}

/* The hierarchy that holds c: a v1 one mounting it, else the unified one if it has it, else NULL. */
static CgHier *owner(RtCgroup *cg, CgController c)
{
        const char *v2 = controllers[c].v2;
        CgHier *unified = NULL;

        for (size_t i = 0; i < cg->n_hiers; i++) {
                CgHier *h = &cg->hiers[i];
                if (h->is_v2)
                        unified = h;
                else if (controllers[c].v1 && strv_contains(h->controllers, controllers[c].v1))
                        return h;
        }
        if (!unified || !v2)
                return NULL;
        return !*v2 || v2_has_controller(unified, v2) ? unified : NULL;
}

/* ---- create, enter ---- */

static void hier_done(CgHier *h)
{
        strv_free(h->controllers);
        free(h->mount);
        free(h->path);
        free(h->dir);
        free(h->created_top);
        closep(&h->fd);
}

static CgHier *hier_add(RtCgroup *cg, bool is_v2, char *const *ctrls, const char *mount, const char *path)
{
        CgHier *h = xappend(cg->hiers, cg->n_hiers);
        h->ops = is_v2 ? &rt_cgroup_v2_ops : &rt_cgroup_v1_ops;
        h->is_v2 = is_v2;
        h->controllers = is_v2 ? NULL : strv_copy(ctrls);
        h->mount = xstrdup(mount);
        h->path = xstrdup(path);
        h->dir = xasprintf("%s%s", strcmp(mount, "/") == 0 ? "" : mount, path);
        h->fd = -EBADF;
        return h;
}

/* Makes every missing directory down to h->dir, remembering the highest one made for undo. */
static int hier_mkdir(CgHier *h, bool *ret_existed, Error **err)
{
        _cleanup_free_ char *p = NULL;
        bool existed = false;

        /* The parents are there but for the first cgroup made under a path: try the leaf alone. */
        if (mkdir(h->dir, 0755) == 0) {
                h->created_top = xstrdup(h->dir);
                *ret_existed = false;
                return 0;
        }
        if (errno == EEXIST) {
                *ret_existed = true;
                return 0;
        }
        if (errno != ENOENT)
                return error_set(err, errno, "mkdir '%s'", h->dir);
        p = xstrdup(h->dir);
        for (char *s = p + strlen(h->dir) - strlen(h->path) + 1;; s++) {
                bool is_end = *s == 0;
                if (*s != '/' && !is_end)
                        continue;
                *s = 0;
                existed = mkdir(p, 0755) < 0;
                if (existed && errno != EEXIST)
                        return error_set(err, errno, "mkdir '%s'", p);
                if (!existed && !h->created_top)
                        h->created_top = xstrdup(p);
                if (is_end)
                        break;
                *s = '/';
        }
        *ret_existed = existed;
        return 0;
}

/* Lets each level from the mount down prepare itself (cpuset copies, subtree_control) in order. */
static int hier_prepare(CgHier *h, Error **err)
{
        _cleanup_strv_ char **parts = rt_cgroup_words(h->path, "/");
        _cleanup_close_ int parent = open(h->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (parent < 0)
                return error_set(err, errno, "open '%s'", h->mount);
        for (char **p = parts; *p; p++) {
                int fd = openat(parent, *p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                int r;
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", *p);
                r = h->ops->prepare_level(parent, fd, *p, err);
                close(parent);
                parent = fd;
                if (r < 0)
                        return error_wrap(err, r, "prepare '%s'", *p);
        }
        return 0;
}

static int hier_create(CgHier *h, Error **err)
{
        _cleanup_free_ char *procs = NULL;
        bool existed = false;
        int r = hier_mkdir(h, &existed, err);

        if (r < 0)
                return r;
        h->fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->fd < 0)
                return error_set(err, errno, "open '%s'", h->dir);
        if (existed) {
                r = rt_cgroup_read(h, "cgroup.procs", &procs, err);
                if (r < 0)
                        return r;
                if (*procs)
                        return error_setf(err, EBUSY, "cgroup '%s' already holds processes", h->dir);
        }
        return h->ops->wants_prepare(h) ? hier_prepare(h, err) : 0;
}

/* Removes what hier_create() made, from the leaf up to the highest directory it created. */
static void hier_undo(CgHier *h)
{
        _cleanup_free_ char *p = xstrdup(h->dir);

        if (!h->created_top)
                return;
        for (;;) {
                char *slash;
                if (rmdir(p) < 0 && errno != ENOENT)
                        log_warn("cgroup: remove '%s': %s, ignoring", p, strerror(errno));
                slash = strrchr(p, '/');
                if (strcmp(p, h->created_top) == 0 || !slash || slash == p)
                        break;
                *slash = 0;
        }
}

int rt_cgroup_create_on(const CgHost *host, const char *cgroups_path, const char *id, bool is_systemd,
                        RtCgroup **ret, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = xnew0(RtCgroup, 1);
        _cleanup_free_ char *path = NULL;
        int r = rt_cgroup_path_resolve(cgroups_path, id, is_systemd, &path, err);

        if (r < 0)
                return r;
        cg->mode = host->mode;
        for (size_t i = 0; i < host->n_mounts; i++) {
                const CgMount *m = &host->mounts[i];
                _cleanup_free_ char *full = NULL;
                if (path[0] != '/')
                        full = xasprintf("%s/%s", strcmp(m->own, "/") == 0 ? "" : m->own, path);
                CgHier *h = hier_add(cg, m->is_v2, m->controllers, m->mount, full ? full : path);
                r = hier_create(h, err);
                if (r < 0)
                        break;
        }
        for (size_t i = 0; i < cg->n_hiers; i++) {
                if (r < 0)
                        hier_undo(&cg->hiers[i]);
                free(cg->hiers[i].created_top);
                cg->hiers[i].created_top = NULL;
        }
        if (r < 0)
                return error_wrap(err, r, "create cgroup '%s'", cg->hiers[cg->n_hiers - 1].dir);
        *ret = TAKE_PTR(cg);
        return 0;
}

int rt_cgroup_create(const char *cgroups_path, const char *id, bool is_systemd, RtCgroup **ret, Error **err)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *host = NULL;
        int r = rt_cgroup_host_load(&host, err);
        if (r < 0)
                return r;
        return rt_cgroup_create_on(host, cgroups_path, id, is_systemd, ret, err);
}

int rt_cgroup_delegate(RtCgroup *cg, uid_t uid, gid_t gid, Error **err)
{
        static const char *const files[] = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control" };

        for (size_t i = 0; i < cg->n_hiers; i++) {
                CgHier *h = &cg->hiers[i];
                if (!h->is_v2 || h->fd < 0)
                        continue;
                if (fchown(h->fd, uid, gid) < 0)
                        return error_set(err, errno, "delegate cgroup '%s'", h->dir);
                for (size_t f = 0; f < ARRAY_SIZE(files); f++)
                        if (fchownat(h->fd, files[f], uid, gid, 0) < 0 && errno != ENOENT)
                                return error_set(err, errno, "delegate cgroup '%s': %s", h->dir, files[f]);
        }
        return 0;
}

int rt_cgroup_enter(RtCgroup *cg, pid_t pid, Error **err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%d", pid);
        for (size_t i = 0; i < cg->n_hiers; i++) {
                int r = rt_cgroup_write(&cg->hiers[i], "cgroup.procs", buf, err);
                if (r < 0)
                        return error_wrap(err, r, "move pid %d into cgroup '%s'", pid, cg->hiers[i].dir);
        }
        return 0;
}

int rt_cgroup_enter_self(RtCgroup *cg, bool is_v2_entered, Error **err)
{
        for (size_t i = 0; i < cg->n_hiers; i++) {
                CgHier *h = &cg->hiers[i];
                int r;

                if (h->is_v2 && is_v2_entered)
                        continue;
                /* "0" in v1's "tasks" moves the calling thread, which is the whole process as it has
                 * only one; the kernel then skips the global threadgroup lock, and with it the RCU
                 * grace period (~20 ms here) that moving another process through cgroup.procs costs. */
                r = rt_cgroup_write(h, h->is_v2 ? "cgroup.procs" : "tasks", "0", err);
                if (r < 0)
                        return error_wrap(err, r, "enter cgroup '%s'", h->dir);
        }
        return 0;
}

int rt_cgroup_clone_fd(RtCgroup *cg)
{
        /* The unified hierarchy, on v2 and on hybrid hosts alike: a clone3 child starts there. */
        for (size_t i = 0; i < cg->n_hiers; i++)
                if (cg->hiers[i].is_v2 && cg->hiers[i].fd >= 0)
                        return cg->hiers[i].fd;
        return -EOPNOTSUPP;
}

/* ---- limits ---- */

static int no_owner(RtCgroup *cg, const RtResources *res, CgController c, Error **err)
{
        const char *v1 = controllers[c].v1, *v2 = controllers[c].v2, *what = controllers[c].what;
        CgHier *unified = NULL;

        for (size_t i = 0; i < cg->n_hiers; i++)
                if (cg->hiers[i].is_v2)
                        unified = &cg->hiers[i];
        if (!v1)
                return error_setf(err, EOPNOTSUPP, "%s.%s: needs cgroup v2, and this host has only v1 hierarchies",
                                  res->where, what);
        if (unified && v2 && *v2)
                return error_setf(err, EOPNOTSUPP,
                                  "%s.%s: the '%s' controller is neither a mounted v1 hierarchy nor enabled in '%s'",
                                  res->where, what, v2, unified->dir);
        return error_setf(err, EOPNOTSUPP, "%s.%s: the '%s' controller is not available on this host (cgroup %s)",
                          res->where, what, v1, rt_cgroup_mode_name(cg->mode));
}

int rt_cgroup_apply(RtCgroup *cg, const RtResources *res, Error **err)
{
        for (CgController c = 0; c < _CG_CONTROLLER_MAX; c++) {
                CgHier *h;
                int r;
                if (!(res->uses & (1u << c)))
                        continue;
                h = owner(cg, c);
                if (!h || !h->ops->apply[c])
                        return no_owner(cg, res, c, err);
                r = h->ops->apply[c](h, res, err);
                if (r < 0)
                        return error_wrap(err, r, "cgroup '%s'", h->dir);
        }
        return 0;
}

int rt_cgroup_apply_pids(CgHier *h, const RtResources *res, Error **err)
{
        return rt_cgroup_write_max(h, "pids.max", res->pids_limit, err);
}

/* rdma.max is the same file on v1 and v2: "mlx5_1 hca_handle=2 hca_object=max". */
int rt_cgroup_apply_rdma(CgHier *h, const RtResources *res, Error **err)
{
        for (size_t i = 0; i < res->n_rdma; i++) {
                const CgNamed *d = &res->rdma[i];
                _cleanup_free_ char *line = NULL, *hh = NULL, *ho = NULL;
                int r;
                if (d->n1 == CG_UNSET && d->n2 == CG_UNSET)
                        continue;
                hh = d->n1 == CG_UNSET ? xstrdup("") : xasprintf(" hca_handle=%lld", (long long)d->n1);
                ho = d->n2 == CG_UNSET ? xstrdup("") : xasprintf(" hca_object=%lld", (long long)d->n2);
                line = xasprintf("%s%s%s", d->name, hh, ho);
                r = rt_cgroup_write(h, "rdma.max", line, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- freezing, processes ---- */

static CgHier *freezer_owner(RtCgroup *cg, Error **err)
{
        CgHier *h = owner(cg, CG_FREEZER);
        if (!h)
                error_setf(err, EOPNOTSUPP, "no freezer: the host has neither a v1 freezer nor cgroup v2");
        return h;
}

int rt_cgroup_freeze(RtCgroup *cg, bool is_frozen, Error **err)
{
        CgHier *h = freezer_owner(cg, err);
        int r;

        if (!h)
                return -EOPNOTSUPP;
        r = h->ops->freeze(h, is_frozen, err);
        return r < 0 ? error_wrap(err, r, "%s cgroup '%s'", is_frozen ? "freeze" : "thaw", h->dir) : 0;
}

int rt_cgroup_is_frozen(RtCgroup *cg, bool *ret, Error **err)
{
        CgHier *h = freezer_owner(cg, err);
        int r;

        if (!h)
                return -EOPNOTSUPP;
        r = h->ops->is_frozen(h, ret, err);
        return r < 0 ? error_wrap(err, r, "cgroup '%s'", h->dir) : 0;
}

/* Where to look for the processes: the freezer's hierarchy, which is the one freeze and kill act on. */
static CgHier *procs_owner(RtCgroup *cg)
{
        CgHier *h = owner(cg, CG_FREEZER);
        return h ? h : cg->n_hiers > 0 ? &cg->hiers[0] : NULL;
}

int rt_cgroup_pids(RtCgroup *cg, pid_t **ret, size_t *ret_n, Error **err)
{
        CgHier *h = procs_owner(cg);
        if (!h)
                return error_setf(err, ENOENT, "the cgroup has no hierarchy");
        return pids_in(h, ret, ret_n, err);
}

int rt_cgroup_kill(RtCgroup *cg, int sig, Error **err)
{
        CgHier *fz = owner(cg, CG_FREEZER), *h = procs_owner(cg);
        bool was_frozen = false, did_freeze = false;
        int r;

        if (!h)
                return error_setf(err, ENOENT, "the cgroup has no hierarchy");
        if (fz && sig == SIGKILL) {
                r = fz->ops->kill_all(fz, err);
                if (r != -EOPNOTSUPP)
                        return r < 0 ? error_wrap(err, r, "kill cgroup '%s'", fz->dir) : 0;
        }
        /* Freezing first keeps a forking process from escaping the walk over the pids, as runc does. */
        if (fz && fz->ops->is_frozen(fz, &was_frozen, NULL) >= 0 && !was_frozen)
                did_freeze = fz->ops->freeze(fz, true, NULL) >= 0;
        r = signal_all(h, sig, err);
        /* A v1 frozen task only dies once thawed, so SIGKILL thaws a paused container too. */
        if (did_freeze || (was_frozen && sig == SIGKILL)) {
                _cleanup_error_ Error *e = NULL;
                if (fz->ops->freeze(fz, false, &e) < 0)
                        log_warn("cgroup: thaw '%s': %s, ignoring", fz->dir, e->msg);
        }
        return r < 0 ? error_wrap(err, r, "signal cgroup '%s'", h->dir) : 0;
}

int rt_cgroup_destroy(RtCgroup *cg, Error **err)
{
        int ret = 0;

        for (size_t i = 0; i < cg->n_hiers; i++) {
                CgHier *h = &cg->hiers[i];
                _cleanup_free_ char *parent = xstrdup(h->dir);
                char *slash = strrchr(parent, '/');
                _cleanup_close_ int pfd = -EBADF;
                int r;
                *slash = 0;
                closep(&h->fd);
                h->fd = -EBADF;
                /* The usual case, a cgroup without children: one rmdir. */
                if (rmdir(h->dir) == 0 || errno == ENOENT)
                        continue;
                pfd = open(*parent ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0 && errno == ENOENT)
                        continue;
                if (pfd < 0)
                        r = error_set(err, errno, "open '%s'", parent);
                else
                        r = walk(pfd, slash + 1, visit_rmdir, NULL, err);
                if (r < 0 && ret == 0)
                        ret = error_wrap(err, r, "destroy cgroup '%s'", h->dir);
                closep(&h->fd);
                h->fd = -EBADF;
        }
        return ret;
}

int rt_cgroup_stats(RtCgroup *cg, json_t **ret, Error **err)
{
        static const CgController which[] = {CG_MEMORY, CG_CPUACCT, CG_PIDS};
        _cleanup_json_ json_t *out = json_object();

        for (size_t i = 0; i < ARRAY_SIZE(which); i++) {
                CgHier *h = owner(cg, which[i]);
                int r = h ? h->ops->stat(h, which[i], out, err) : 0;
                if (r < 0)
                        return error_wrap(err, r, "stats of cgroup '%s'", h->dir);
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- state ---- */

json_t *rt_cgroup_to_json(const RtCgroup *cg)
{
        json_t *hs = json_array();

        for (size_t i = 0; i < cg->n_hiers; i++) {
                const CgHier *h = &cg->hiers[i];
                json_t *o = json_pack("{s:s, s:s, s:s}", "type", h->is_v2 ? "v2" : "v1", "mount", h->mount, "path",
                                      h->path);
                if (!h->is_v2) {
                        json_t *c = json_array();
                        for (char **p = h->controllers; p && *p; p++)
                                json_array_append_new(c, json_string(*p));
                        json_object_set_new(o, "controllers", c);
                }
                json_array_append_new(hs, o);
        }
        return json_pack("{s:s, s:o}", "mode", rt_cgroup_mode_name(cg->mode), "hierarchies", hs);
}

/* One hierarchy of rt_cgroup_from_json(); its directory opened unless !is_open. */
static int hier_from_json(RtCgroup *cg, const json_t *o, const char *w, bool is_open, Error **err)
{
        _cleanup_strv_ char **ctrls = NULL;
        const char *type = NULL, *mount = NULL, *path = NULL;
        CgHier *h;

        if (json_get_string(o, "type", w, &type, err) <= 0 || json_get_string(o, "mount", w, &mount, err) <= 0 ||
            json_get_string(o, "path", w, &path, err) <= 0 || json_get_strv(o, "controllers", w, &ctrls, err) < 0)
                return error_setf(err, EINVAL, "%s: needs 'type', 'mount' and 'path' strings", w);
        if ((strcmp(type, "v1") != 0 && strcmp(type, "v2") != 0) || path[0] != '/' || mount[0] != '/')
                return error_setf(err, EINVAL, "%s: bad hierarchy '%s' '%s' '%s'", w, type, mount, path);
        h = hier_add(cg, strcmp(type, "v2") == 0, ctrls, mount, path);
        if (!is_open)
                return 0;
        h->fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->fd < 0 && errno != ENOENT)
                return error_set(err, errno, "open '%s'", h->dir);
        return 0;
}

static int cgroup_from_json(const json_t *j, bool is_open, RtCgroup **ret, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = xnew0(RtCgroup, 1);
        const char *mode = NULL;
        json_t *hs = NULL, *o;
        size_t i;
        int m;

        if (json_get_string(j, "mode", "cgroup", &mode, err) <= 0 ||
            json_get_array(j, "hierarchies", "cgroup", &hs, err) <= 0)
                return error_setf(err, EINVAL, "cgroup: needs 'mode' and 'hierarchies'");
        m = mode_from_name(mode);
        if (m < 0)
                return error_setf(err, EINVAL, "cgroup.mode: unknown '%s'", mode);
        cg->mode = (RtCgroupMode)m;
        json_array_foreach (hs, i, o) {
                _cleanup_free_ char *w = xasprintf("cgroup.hierarchies[%zu]", i);
                int r = hier_from_json(cg, o, w, is_open, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

int rt_cgroup_from_json(const json_t *j, RtCgroup **ret, Error **err)
{
        return cgroup_from_json(j, true, ret, err);
}

int rt_cgroup_json_is_frozen(const json_t *j, bool *ret, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        CgHier *h;
        int r;

        /* Only the freezer's directory: a v1 host has a dozen hierarchies. */
        r = cgroup_from_json(j, false, &cg, err);
        if (r < 0)
                return r;
        h = freezer_owner(cg, err);
        if (!h)
                return -EOPNOTSUPP;
        h->fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->fd < 0)
                return error_set(err, errno, "open '%s'", h->dir);
        return rt_cgroup_is_frozen(cg, ret, err);
}

RtCgroup *rt_cgroup_free(RtCgroup *cg)
{
        if (!cg)
                return NULL;
        for (size_t i = 0; i < cg->n_hiers; i++)
                hier_done(&cg->hiers[i]);
        free(cg->hiers);
        free(cg);
        return NULL;
}
