/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bundle.c: the OCI config.json of an application container, from its image and `hull run` options */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <math.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "instance/bundle.h"
#include "instance/procfs-start.h"
#include "instance/seccomp-profile.h"
#include "runtime/spec.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* /etc/passwd and /etc/group come from the image: bigger ones are refused, not read into memory. */
#define USER_FILE_MAX (4u << 20)
/* What Docker enforces, below which a container is killed before its program starts. */
#define MEMORY_MIN (6 << 20)
#define CPU_PERIOD 100000
/* sethostname(2) takes at most 64 bytes. */
#define HOSTNAME_MAX 64
#define SHORT_ID_LEN 12

/* A piece of a larger string, not NUL-terminated. */
typedef struct Span {
        const char *p;
        size_t n;
} Span;

typedef struct PasswdEntry {
        Span name;
        uint32_t uid;
        uint32_t gid;
        Span home;
} PasswdEntry;

static bool span_eq(Span s, const char *str)
{
        return strlen(str) == s.n && memcmp(s.p, str, s.n) == 0;
}

/* A uid or gid: decimal digits only, 0..2^31-1 (what Docker and shadow-utils accept). */
static bool parse_id(Span s, uint32_t *ret)
{
        uint64_t v = 0;

        if (s.n == 0 || s.n > 10)
                return false;
        for (size_t i = 0; i < s.n; i++) {
                if (s.p[i] < '0' || s.p[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s.p[i] - '0');
        }
        if (v > INT32_MAX)
                return false;
        *ret = (uint32_t)v;
        return true;
}

static bool is_all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* The next line of text at *pos (without its '\n'); false at the end. */
static bool next_line(const char **pos, Span *ret)
{
        const char *p = *pos, *nl;

        if (!*p)
                return false;
        nl = strchr(p, '\n');
        *ret = (Span){ p, nl ? (size_t)(nl - p) : strlen(p) };
        *pos = nl ? nl + 1 : p + ret->n;
        return true;
}

/* Splits line at ':' into at most max fields (the last one stops at the next ':'); returns how many. */
static size_t split_fields(Span line, Span *fields, size_t max)
{
        const char *p = line.p, *end = line.p + line.n;
        size_t n = 0;

        while (n < max) {
                const char *colon = memchr(p, ':', (size_t)(end - p));
                const char *stop = colon ? colon : end;

                fields[n++] = (Span){ p, (size_t)(stop - p) };
                if (!colon)
                        break;
                p = colon + 1;
        }
        return n;
}

/* Lines that are no entry: empty, comments, and NIS "+"/"-" inclusions. */
static bool is_skipped_line(Span line)
{
        return line.n == 0 || line.p[0] == '#' || line.p[0] == '+' || line.p[0] == '-';
}

/* The first passwd entry named name, or with uid *uid when uid is non-NULL. Malformed lines are skipped. */
static bool passwd_find(const char *text, const char *name, const uint32_t *uid, PasswdEntry *ret)
{
        const char *pos = text;
        Span line, f[7] = { 0 };

        while (next_line(&pos, &line)) {
                PasswdEntry e = { 0 };
                size_t n;

                if (is_skipped_line(line))
                        continue;
                n = split_fields(line, f, ARRAY_SIZE(f));
                if (n < 4 || f[0].n == 0 || !parse_id(f[2], &e.uid) || !parse_id(f[3], &e.gid))
                        continue;
                if (!span_eq(f[0], name) && !(uid && e.uid == *uid))
                        continue;
                e.name = f[0];
                if (n >= 6)
                        e.home = f[5];
                *ret = e;
                return true;
        }
        return false;
}

/* The gid of the first group named name, or with gid *gid when gid is non-NULL. */
static bool group_find(const char *text, const char *name, const uint32_t *gid, uint32_t *ret)
{
        const char *pos = text;
        Span line, f[4];

        while (next_line(&pos, &line)) {
                uint32_t g;

                if (is_skipped_line(line))
                        continue;
                if (split_fields(line, f, ARRAY_SIZE(f)) < 3 || f[0].n == 0 || !parse_id(f[2], &g))
                        continue;
                if (span_eq(f[0], name) || (gid && g == *gid)) {
                        *ret = g;
                        return true;
                }
        }
        return false;
}

static bool members_contain(Span members, Span user)
{
        const char *p = members.p, *end = members.p + members.n;

        while (p <= end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *stop = comma ? comma : end;

                if ((size_t)(stop - p) == user.n && memcmp(p, user.p, user.n) == 0)
                        return true;
                p = stop + 1;
        }
        return false;
}

/* Every group listing user as a member, but the primary one, each gid once. */
static void group_memberships(const char *text, Span user, InstUser *u)
{
        const char *pos = text;
        Span line, f[4];

        while (next_line(&pos, &line)) {
                uint32_t g;
                bool is_known = false;

                if (is_skipped_line(line))
                        continue;
                if (split_fields(line, f, ARRAY_SIZE(f)) < 4 || f[0].n == 0 || !parse_id(f[2], &g))
                        continue;
                if (g == u->gid || !members_contain(f[3], user))
                        continue;
                for (size_t i = 0; i < u->n_additional_gids && !is_known; i++)
                        is_known = u->additional_gids[i] == g;
                if (!is_known)
                        *xappend(u->additional_gids, u->n_additional_gids) = g;
        }
}

void inst_user_done(InstUser *u)
{
        free(u->additional_gids);
        free(u->home);
        *u = (InstUser){ 0 };
}

/* The group part of --user: a name or gid from /etc/group, or any number. */
static int resolve_group(const char *option, const char *name, const char *group, uint32_t *ret, Error **err)
{
        uint32_t gid = 0;
        bool is_numeric = is_all_digits(name);

        if (is_numeric && !parse_id((Span){ name, strlen(name) }, &gid))
                return error_setf(err, EINVAL, "--user '%s': gid out of range (0-%d)", option, INT32_MAX);
        if (group && group_find(group, name, is_numeric ? &gid : NULL, ret))
                return 0;
        if (!is_numeric)
                return error_setf(err, EINVAL, "--user '%s': no such group in the image", option);
        *ret = gid;
        return 0;
}

int inst_user_resolve(const char *user, const char *passwd, const char *group, InstUser *ret, Error **err)
{
        _cleanup_free_ char *name = NULL;
        const char *option = user ? user : "", *colon = strchr(option, ':');
        const char *group_name = colon && colon[1] ? colon + 1 : NULL;
        InstUser u = { 0 };
        PasswdEntry e = { 0 };
        uint32_t uid = 0;
        bool is_numeric, is_found;
        int r;

        *ret = u;
        name = colon ? xstrndup(option, (size_t)(colon - option)) : xstrdup(option);
        if (!*name) { /* "" and ":group" mean root, as in Docker */
                free(name);
                name = xstrdup("0");
        }
        is_numeric = is_all_digits(name);
        if (is_numeric && !parse_id((Span){ name, strlen(name) }, &uid))
                return error_setf(err, EINVAL, "--user '%s': uid out of range (0-%d)", option, INT32_MAX);
        is_found = passwd && passwd_find(passwd, name, is_numeric ? &uid : NULL, &e);
        if (!is_found && !is_numeric)
                return error_setf(err, EINVAL, "--user '%s': no such user in the image", option);

        u.uid = is_found ? e.uid : uid;
        u.gid = is_found ? e.gid : 0;
        if (is_found && e.home.n > 0)
                u.home = xstrndup(e.home.p, e.home.n);
        if (group_name) {
                r = resolve_group(option, group_name, group, &u.gid, err);
                if (r < 0) {
                        inst_user_done(&u);
                        return r;
                }
        } else if (is_found && group) {
                /* Supplementary groups come only with a known user and no explicit group, as in Docker. */
                group_memberships(group, e.name, &u);
        }
        *ret = u;
        return 0;
}

/*
 * Reads path below root_fd, every symlink resolved inside it, into *ret (NULL when missing). Opened as
 * O_PATH first so that a fifo or device the image put there is never opened for reading.
 */
static int read_root_file(int root_fd, const char *path, char **ret, Error **err)
{
        _cleanup_close_ int pfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char fdp[FD_PATH_MAX];
        size_t len = 0, cap;
        struct stat st;

        *ret = NULL;
        pfd = open_in_root(root_fd, path, O_PATH, 0, 0);
        if (pfd == -ENOENT || pfd == -ENOTDIR)
                return 0;
        if (pfd < 0)
                return error_set(err, pfd, "open '%s' in the image", path);
        if (fstat(pfd, &st) < 0)
                return error_set(err, errno, "stat '%s' in the image", path);
        if (!S_ISREG(st.st_mode))
                return error_setf(err, EINVAL, "'%s' in the image is not a regular file", path);
        if (st.st_size > USER_FILE_MAX)
                return error_setf(err, EFBIG, "'%s' in the image is larger than %u bytes", path, USER_FILE_MAX);
        fd = open(fd_path(pfd, fdp), O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return error_set(err, errno, "open '%s' in the image", path);

        /* The size may change under us: read to the end, but never past the limit. */
        cap = (size_t)st.st_size + 4096;
        buf = xmalloc(cap);
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        cap = cap * 2 > USER_FILE_MAX + 2 ? USER_FILE_MAX + 2 : cap * 2;
                        buf = xrealloc(buf, cap);
                }
                n = read(fd, buf + len, cap - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, errno, "read '%s' in the image", path);
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > USER_FILE_MAX)
                        return error_setf(err, EFBIG, "'%s' in the image is larger than %u bytes", path,
                                          USER_FILE_MAX);
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int inst_user_resolve_in_root(const char *user, int rootfs_fd, InstUser *ret, Error **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        int r;

        *ret = (InstUser){ 0 };
        r = read_root_file(rootfs_fd, "/etc/passwd", &passwd, err);
        if (r < 0)
                return error_wrap(err, r, "--user '%s'", user ? user : "");
        r = read_root_file(rootfs_fd, "/etc/group", &group, err);
        if (r < 0)
                return error_wrap(err, r, "--user '%s'", user ? user : "");
        return inst_user_resolve(user, passwd, group, ret, err);
}

/* An image config of the wrong shape is corrupt content (EBADMSG), not a bad option. */
static int image_strv(const json_t *config, const char *key, char ***ret, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r = json_get_strv(config, key, "image config.config", ret, &e);

        return r < 0 ? error_setf(err, EBADMSG, "%s", error_message(e, r)) : r;
}

static int image_string(const json_t *config, const char *key, const char **ret, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r = json_get_string(config, key, "image config.config", ret, &e);

        return r < 0 ? error_setf(err, EBADMSG, "%s", error_message(e, r)) : r;
}

static void strv_extend(char ***v, char *const *add)
{
        for (size_t i = 0; add && add[i]; i++)
                strv_push(v, add[i]);
}

/* --entrypoint "" clears the image's, as in Docker. */
static bool is_empty_entrypoint(char *const *ep)
{
        return !ep[0] || (!ep[0][0] && !ep[1]);
}

/* process.args: Entrypoint + Cmd. An --entrypoint replaces the image's and drops its Cmd; CMD
 * arguments replace the Cmd. */
static int build_args(const json_t *config, const InstRunSpec *spec, json_t **ret, Error **err)
{
        _cleanup_strv_ char **image_ep = NULL, **image_cmd = NULL, **args = NULL;
        char *const *ep, *const *cmd;
        json_t *a;
        int r;

        r = image_strv(config, "Entrypoint", &image_ep, err);
        if (r < 0)
                return r;
        r = image_strv(config, "Cmd", &image_cmd, err);
        if (r < 0)
                return r;
        if (spec->entrypoint) {
                ep = is_empty_entrypoint(spec->entrypoint) ? NULL : spec->entrypoint;
                cmd = NULL;
        } else {
                ep = image_ep;
                cmd = image_cmd;
        }
        if (strv_length(spec->cmd) > 0)
                cmd = spec->cmd;
        strv_extend(&args, ep);
        strv_extend(&args, cmd);
        if (strv_length(args) == 0)
                return error_setf(err, EINVAL,
                                  "no command: the image has no Entrypoint or Cmd and none was given");
        if (!args[0][0])
                return error_setf(err, EINVAL, "no command: the program name is empty");

        a = json_array();
        for (size_t i = 0; args[i]; i++)
                json_array_append_new(a, json_string(args[i]));
        *ret = a;
        return 0;
}

static bool env_has(char *const *env, const char *key)
{
        return strv_env_get(env, key) != NULL;
}

/* Applies one -e option: "K=V" sets K; "K" copies K from our environment, or leaves it as it is. */
static int env_apply_option(char ***env, const char *opt, Error **err)
{
        const char *eq = strchr(opt, '=');
        _cleanup_free_ char *key = eq ? xstrndup(opt, (size_t)(eq - opt)) : xstrdup(opt);
        const char *value;

        if (!*key)
                return error_setf(err, EINVAL, "-e '%s': empty variable name", opt);
        if (eq) {
                strv_env_set(env, opt);
                return 0;
        }
        value = getenv(key);
        if (value) {
                _cleanup_free_ char *assignment = xasprintf("%s=%s", key, value);
                strv_env_set(env, assignment);
        }
        return 0;
}

/*
 * process.env, in Docker's order of precedence: the defaults (PATH, HOSTNAME, TERM with a terminal),
 * then the image's Env, then -e options; HOME last, from passwd, where nothing set it.
 */
static int build_env(const json_t *config, const InstRunSpec *spec, const char *hostname, const InstUser *u,
                     json_t **ret, Error **err)
{
        _cleanup_strv_ char **image_env = NULL, **env = NULL;
        _cleanup_free_ char *host_var = xasprintf("HOSTNAME=%s", hostname);
        json_t *a;
        int r;

        r = image_strv(config, "Env", &image_env, err);
        if (r < 0)
                return r;
        strv_push(&env, DEFAULT_PATH);
        strv_push(&env, host_var);
        if (spec->is_tty)
                strv_push(&env, "TERM=xterm");
        for (size_t i = 0; image_env && image_env[i]; i++) {
                /* A "K" without a value in an image means nothing; "=V" cannot be set. */
                if (!strchr(image_env[i], '=') || image_env[i][0] == '=') {
                        log_debug("image Env entry '%s' is not KEY=value, skipped", image_env[i]);
                        continue;
                }
                strv_env_set(&env, image_env[i]);
        }
        if (spec->is_system)
                /* systemd, OpenRC and others look here to know they run in a container. */
                strv_env_set(&env, "container=hull");
        for (size_t i = 0; spec->env && spec->env[i]; i++) {
                r = env_apply_option(&env, spec->env[i], err);
                if (r < 0)
                        return r;
        }
        if (!env_has(env, "HOME")) {
                _cleanup_free_ char *home =
                        xasprintf("HOME=%s", u->home ? u->home : u->uid == 0 ? "/root" : "/");
                strv_push(&env, home);
        }

        a = json_array();
        for (size_t i = 0; env[i]; i++)
                json_array_append_new(a, json_string(env[i]));
        *ret = a;
        return 0;
}

/* process.cwd: --workdir (absolute), else the image's WorkingDir (taken from / if relative), else "/". */
static int build_cwd(const json_t *config, const InstRunSpec *spec, char **ret, Error **err)
{
        const char *wd = NULL;
        int r;

        if (spec->workdir) {
                if (spec->workdir[0] != '/')
                        return error_setf(err, EINVAL, "--workdir '%s': not an absolute path", spec->workdir);
                *ret = xstrdup(spec->workdir);
                return 0;
        }
        r = image_string(config, "WorkingDir", &wd, err);
        if (r < 0)
                return r;
        if (!wd || !*wd)
                *ret = xstrdup("/");
        else
                *ret = xasprintf("%s%s", wd[0] == '/' ? "" : "/", wd);
        return 0;
}

/* Docker's default capability set. */
static const int default_caps[] = {
        CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,     CAP_FOWNER,     CAP_MKNOD,
        CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,     CAP_SETFCAP,    CAP_SETPCAP,
        CAP_NET_BIND_SERVICE,         CAP_SYS_CHROOT, CAP_KILL,       CAP_AUDIT_WRITE,
};

/* Every capability hull itself may hold (its bounding set): "all" can be no more than that, so a
 * privileged container starts where a capability is missing from the host's set (a sandbox's). */
static uint64_t all_caps(void)
{
        int last = rt_cap_last();
        uint64_t caps = 0;

        for (int cap = 0; cap <= last && cap < 64; cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0) /* 1, or -1 where it cannot be read */
                        caps |= 1ULL << cap;
        return caps;
}

/* Adds the capability named name ("sys_admin", "CAP_SYS_ADMIN", "ALL") to *mask or sets *is_all. */
static int cap_parse(const char *option, const char *name, uint64_t *mask, bool *is_all, Error **err)
{
        _cleanup_free_ char *norm = NULL;
        int cap;

        if (strcasecmp(name, "ALL") == 0) {
                *is_all = true;
                return 0;
        }
        /* libcap would also take numbers and lists: only a plain name is a capability here. */
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        return error_setf(err, EINVAL, "%s '%s': unknown capability", option, name);
        norm = xasprintf("%s%s", strncasecmp(name, "CAP_", 4) == 0 ? "" : "CAP_", name);
        for (char *p = norm; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        cap = rt_cap_from_name(norm);
        if (cap < 0 || cap >= 64)
                return error_setf(err, EINVAL, "%s '%s': unknown capability", option, name);
        *mask |= 1ULL << cap;
        return 0;
}

/*
 * The capability set, as Docker computes it: --privileged gives all; "ALL" added gives all but the
 * dropped ones; "ALL" dropped leaves only the added ones; else the default set minus drops plus adds
 * (so a capability both added and dropped is kept).
 */
static int build_caps(const InstRunSpec *spec, uint64_t *ret, Error **err)
{
        uint64_t base = 0, add = 0, drop = 0;
        bool is_add_all = false, is_drop_all = false;
        int r;

        for (size_t i = 0; spec->cap_add && spec->cap_add[i]; i++) {
                r = cap_parse("--cap-add", spec->cap_add[i], &add, &is_add_all, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; spec->cap_drop && spec->cap_drop[i]; i++) {
                r = cap_parse("--cap-drop", spec->cap_drop[i], &drop, &is_drop_all, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
                base |= 1ULL << default_caps[i];

        if (spec->is_privileged)
                *ret = all_caps();
        else if (is_add_all)
                *ret = all_caps() & ~drop;
        else if (is_drop_all)
                *ret = add;
        else
                *ret = (base & ~drop) | add;
        return 0;
}

static json_t *caps_array(uint64_t caps)
{
        json_t *a = json_array();

        for (int cap = 0; cap < 64; cap++)
                if (caps & (1ULL << cap))
                        json_array_append_new(a, json_string(rt_cap_name(cap)));
        return a;
}

static json_t *build_process(const InstRunSpec *spec, const InstUser *u, uint64_t caps, json_t *args,
                             json_t *env, const char *cwd)
{
        json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);

        if (u->n_additional_gids > 0) {
                json_t *gids = json_array();
                for (size_t i = 0; i < u->n_additional_gids; i++)
                        json_array_append_new(gids, json_integer(u->additional_gids[i]));
                json_object_set_new(user, "additionalGids", gids);
        }
        /* Inheritable and ambient stay empty: a non-root user's program starts without capabilities,
         * as in Docker; noNewPrivileges stays off so setuid programs (su, ping) keep working. */
        return json_pack("{s:b, s:o, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:b}", "terminal", spec->is_tty,
                         "user", user, "args", args, "env", env, "cwd", cwd, "capabilities", "bounding",
                         caps_array(caps), "effective", caps_array(caps), "permitted", caps_array(caps),
                         "noNewPrivileges", 0);
}

static json_t *mount_new(const char *dst, const char *type, const char *src, const char *options)
{
        json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dst, "type", type, "source", src);
        json_t *opts = json_array();
        _cleanup_free_ char *copy = xstrdup(options);
        char *save = NULL;

        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
                json_array_append_new(opts, json_string(o));
        json_object_set_new(m, "options", opts);
        return m;
}

/*
 * A system container's cgroup file system: its own cgroup2 subtree, read-write, so that an init such
 * as systemd can manage its services there (in the cgroup namespace a fresh cgroup2 mount shows the
 * container's cgroup as its root; on a hybrid host, its cgroup in the unified tree). A v1-only host
 * has no cgroup2 tree to give: its v1 hierarchies then, read-write.
 */
static json_t *system_cgroup_mount(const InstRunSpec *spec)
{
        if (spec->is_cgroup_v1)
                return mount_new("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,rw");
        return mount_new("/sys/fs/cgroup", "cgroup2", "cgroup2", "nosuid,noexec,nodev,relatime,rw");
}

/* The file systems every container gets. sysfs and cgroup are read-only unless privileged. A system
 * container gets its cgroup read-write, and tmpfs on /run and /run/lock as an init expects (systemd
 * needs them mounted for it when it may not mount them itself). */
static json_t *default_mounts(const InstRunSpec *spec)
{
        const char *ro = spec->is_privileged ? "rw" : "ro";
        _cleanup_free_ char *sys_opts = xasprintf("nosuid,noexec,nodev,%s", ro);
        _cleanup_free_ char *cg_opts = xasprintf("nosuid,noexec,nodev,relatime,%s", ro);
        json_t *m = json_array();

        json_array_append_new(m, mount_new("/proc", "proc", "proc", "nosuid,noexec,nodev"));
        json_array_append_new(m, mount_new("/dev", "tmpfs", "tmpfs",
                                           "nosuid,strictatime,mode=755,size=65536k"));
        json_array_append_new(m, mount_new("/dev/pts", "devpts", "devpts",
                                           "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
        json_array_append_new(m, mount_new("/dev/shm", "tmpfs", "shm",
                                           "nosuid,noexec,nodev,mode=1777,size=65536k"));
        json_array_append_new(m, mount_new("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
        json_array_append_new(m, mount_new("/sys", "sysfs", "sysfs", sys_opts));
        if (!spec->is_system) {
                json_array_append_new(m, mount_new("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts));
                return m;
        }
        json_array_append_new(m, system_cgroup_mount(spec));
        json_array_append_new(m, mount_new("/run", "tmpfs", "tmpfs", "nosuid,nodev,mode=755,size=65536k"));
        json_array_append_new(m, mount_new("/run/lock", "tmpfs", "tmpfs",
                                           "nosuid,nodev,noexec,mode=1777,size=5120k"));
        return m;
}

static bool is_root_path(const char *path)
{
        while (*path == '/')
                path++;
        return !*path;
}

/* Checks one bind and appends it: both paths absolute, not onto "/", the source existing if must_exist. */
static int add_bind(json_t *mounts, const char *option, const InstBind *b, bool must_exist, Error **err)
{
        const char *src = b->source ? b->source : "", *dst = b->destination ? b->destination : "";
        struct stat st;

        if (src[0] != '/')
                return error_setf(err, EINVAL, "%s '%s:%s': the source is not an absolute path", option,
                                  src, dst);
        if (dst[0] != '/')
                return error_setf(err, EINVAL, "%s '%s:%s': the destination is not an absolute path", option,
                                  src, dst);
        if (is_root_path(dst))
                return error_setf(err, EINVAL, "%s '%s:%s': cannot mount over '/'", option, src, dst);
        if (must_exist && stat(src, &st) < 0)
                return error_setf(err, EINVAL, "%s '%s:%s': source: %s", option, src, dst, strerror(errno));
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "bind",
                                                "source", src, "options",
                                                b->is_readonly ? json_pack("[ss]", "rbind", "ro")
                                                               : json_pack("[s]", "rbind")));
        return 0;
}

static int build_mounts(const InstRunSpec *spec, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *mounts = default_mounts(spec);
        int r;

        for (size_t i = 0; i < spec->n_binds; i++) {
                r = add_bind(mounts, "--volume", &spec->binds[i], true, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < spec->n_files; i++) {
                r = add_bind(mounts, "file", &spec->files[i], false, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; spec->procfs_dir && inst_procfs_files[i]; i++) {
                _cleanup_free_ char *src = xasprintf("%s/%s", spec->procfs_dir, inst_procfs_files[i]),
                                    *dst = xasprintf("/proc/%s", inst_procfs_files[i]);
                r = add_bind(mounts, "procfs", &(InstBind){ src, dst, true }, false, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(mounts);
        return 0;
}

static json_t *device_rule(bool is_allow, const char *type, int64_t major, int64_t minor, const char *access)
{
        json_t *d = json_pack("{s:b, s:s}", "allow", is_allow, "access", access);

        if (type)
                json_object_set_new(d, "type", json_string(type));
        if (major >= 0)
                json_object_set_new(d, "major", json_integer(major));
        if (minor >= 0)
                json_object_set_new(d, "minor", json_integer(minor));
        return d;
}

/* The device cgroup: deny all, then mknod of any node (useless without the rw rule for it, but
 * images' install scripts make nodes), and the devices /dev holds: null, zero, full, random,
 * urandom, tty, ptmx and the pts. */
static json_t *device_rules(bool is_privileged)
{
        static const struct {
                int64_t major, minor;
        } allowed[] = { { 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 }, { 5, 0 }, { 5, 2 }, { 136, -1 } };
        json_t *a = json_array();

        if (is_privileged) {
                json_array_append_new(a, device_rule(true, NULL, -1, -1, "rwm"));
                return a;
        }
        json_array_append_new(a, device_rule(false, NULL, -1, -1, "rwm"));
        json_array_append_new(a, device_rule(true, "c", -1, -1, "m"));
        json_array_append_new(a, device_rule(true, "b", -1, -1, "m"));
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
                json_array_append_new(a, device_rule(true, "c", allowed[i].major, allowed[i].minor, "rwm"));
        return a;
}

static int build_resources(const InstRunSpec *spec, json_t **ret, Error **err)
{
        json_t *res;

        if (spec->memory < 0 || (spec->memory > 0 && spec->memory < MEMORY_MIN))
                return error_setf(err, EINVAL, "--memory '%lld': neither 0 (unlimited) nor at least 6 MiB",
                                  (long long)spec->memory);
        if (!isfinite(spec->cpus) || spec->cpus < 0 || (spec->cpus > 0 && spec->cpus < 0.01) ||
            spec->cpus > 1e6)
                return error_setf(err, EINVAL, "--cpus '%g': not between 0.01 and 1000000", spec->cpus);

        res = json_pack("{s:o}", "devices", device_rules(spec->is_privileged));
        if (spec->memory > 0)
                json_object_set_new(res, "memory", json_pack("{s:I, s:I}", "limit", (json_int_t)spec->memory,
                                                             "swap", (json_int_t)spec->memory));
        if (spec->cpus > 0)
                json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota",
                                                          (json_int_t)(spec->cpus * CPU_PERIOD + 0.5), "period",
                                                          (json_int_t)CPU_PERIOD));
        if (spec->cpuset) {
                json_t *cpu = json_object_get(res, "cpu");
                if (!cpu)
                        json_object_set_new(res, "cpu", cpu = json_object());
                json_object_set_new(cpu, "cpus", json_string(spec->cpuset));
        }
        if (spec->pids_limit > 0)
                json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)spec->pids_limit));
        *ret = res;
        return 0;
}

static json_t *namespaces(bool is_host_network, const char *netns_path, bool is_userns)
{
        json_t *a = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc", "type",
                              "uts", "type", "mount", "type", "cgroup");

        if (is_userns)
                json_array_append_new(a, json_pack("{s:s}", "type", "user"));

        if (!is_host_network && netns_path)
                json_array_append_new(a, json_pack("{s:s, s:s}", "type", "network", "path", netns_path));
        else if (!is_host_network)
                json_array_append_new(a, json_pack("{s:s}", "type", "network"));
        return a;
}

static json_t *masked_paths(void)
{
        static const char *const paths[] = {
                "/proc/acpi",       "/proc/asound",  "/proc/interrupts",  "/proc/kcore",
                "/proc/keys",       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi",   "/sys/firmware",     "/sys/devices/virtual/powercap",
        };
        json_t *a = json_array();

        for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
                json_array_append_new(a, json_string(paths[i]));
        return a;
}

static int build_linux(const InstRunSpec *spec, uint64_t caps, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *lx = NULL;
        json_t *res = NULL;
        int r;

        r = build_resources(spec, &res, err);
        if (r < 0)
                return r;
        lx = json_pack("{s:o, s:o}", "namespaces",
                       namespaces(spec->is_host_network, spec->netns_path, spec->id_count > 0), "resources", res);
        if (spec->id_count > 0) {
                json_object_set_new(lx, "uidMappings",
                                    json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID",
                                              (json_int_t)spec->uid_base, "size", (json_int_t)spec->id_count));
                json_object_set_new(lx, "gidMappings",
                                    json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID",
                                              (json_int_t)spec->gid_base, "size", (json_int_t)spec->id_count));
        }
        if (spec->cgroups_path)
                json_object_set_new(lx, "cgroupsPath", json_string(spec->cgroups_path));
        /* A user namespace of its own does not own a network namespace made by hull's network
         * layer: it may not write that namespace's sysctls (the network layer may set them). */
        if (!spec->is_host_network && !(spec->id_count > 0 && spec->netns_path))
                /* In its own network namespace, as Docker: ping without CAP_NET_RAW, and low ports
                 * without CAP_NET_BIND_SERVICE, harm nobody. */
                json_object_set_new(lx, "sysctl",
                                    json_pack("{s:s, s:s}", "net.ipv4.ping_group_range", "0 2147483647",
                                              "net.ipv4.ip_unprivileged_port_start", "0"));
        if (!spec->is_privileged) {
                json_object_set_new(lx, "maskedPaths", masked_paths());
                json_object_set_new(lx, "readonlyPaths",
                                    json_pack("[sssss]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                              "/proc/sysrq-trigger"));
                json_object_set_new(lx, "seccomp", inst_seccomp_profile(caps));
        }
        *ret = TAKE_PTR(lx);
        return 0;
}

static int build_hostname(const InstRunSpec *spec, char **ret, Error **err)
{
        const char *h = spec->hostname;

        if (!h && spec->id)
                *ret = xstrndup(spec->id, SHORT_ID_LEN);
        else if (h)
                *ret = xstrdup(h);
        else
                return error_setf(err, EINVAL, "no hostname: neither a hostname nor an id was given");
        if (!**ret || strlen(*ret) > HOSTNAME_MAX) {
                int r = error_setf(err, EINVAL, "--hostname '%s': not 1 to %d characters", *ret, HOSTNAME_MAX);
                *ret = mfree(*ret);
                return r;
        }
        return 0;
}

/* The user the process runs as: --user, else the image's User, else root. */
static int resolve_user(const json_t *config, const InstRunSpec *spec, const char *rootfs, int rootfs_fd,
                        InstUser *ret, Error **err)
{
        _cleanup_close_ int own_fd = -EBADF;
        const char *user = spec->user;
        int r;

        if (!user) {
                r = image_string(config, "User", &user, err);
                if (r < 0)
                        return r;
        }
        if (rootfs_fd < 0) {
                own_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (own_fd < 0)
                        return error_set(err, errno, "open root filesystem '%s'", rootfs);
                rootfs_fd = own_fd;
        }
        return inst_user_resolve_in_root(user, rootfs_fd, ret, err);
}

int inst_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs, int rootfs_fd,
                       json_t **ret, Error **err)
{
        _cleanup_json_ json_t *args = NULL, *env = NULL, *mounts = NULL, *lx = NULL, *process = NULL;
        _cleanup_free_ char *cwd = NULL, *hostname = NULL;
        _cleanup_(inst_user_done) InstUser user = { 0 };
        json_t *config = NULL;
        uint64_t caps;
        int r;

        if (!rootfs)
                return error_setf(err, EINVAL, "no root filesystem given");
        if (image_config && !json_is_object(image_config))
                return error_setf(err, EBADMSG, "image config: expected an object");
        if (json_get_object(image_config, "config", "image config", &config, NULL) < 0)
                return error_setf(err, EBADMSG, "image config.config: expected an object");
        if ((r = build_hostname(spec, &hostname, err)) < 0 || (r = build_args(config, spec, &args, err)) < 0 ||
            (r = build_cwd(config, spec, &cwd, err)) < 0 || (r = build_caps(spec, &caps, err)) < 0 ||
            (r = build_mounts(spec, &mounts, err)) < 0 || (r = build_linux(spec, caps, &lx, err)) < 0 ||
            (r = resolve_user(config, spec, rootfs, rootfs_fd, &user, err)) < 0 ||
            (r = build_env(config, spec, hostname, &user, &env, err)) < 0)
                return r;

        process = build_process(spec, &user, caps, TAKE_PTR(args), TAKE_PTR(env), cwd);
        *ret = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.1.0", "process",
                         TAKE_PTR(process), "root", "path", rootfs, "readonly", spec->is_read_only, "hostname",
                         hostname, "mounts", TAKE_PTR(mounts), "linux", TAKE_PTR(lx));
        return 0;
}
