/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* idmap.c: which instances get a uid/gid range of their own, and the pool the ranges come from */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "idmap.h"
#include "instance.h"
#include "storage/overlay.h"
#include "storage/shift.h"
#include "storage/tree.h"

bool inst_userns_wanted(const InstRunOptions *o)
{
        if (o->is_vm)
                return false;
        if (o->userns)
                return strcmp(o->userns, "auto") == 0;
        return o->is_system && !o->is_privileged;
}

/* A decimal number of a subid line; false unless all of s is one that fits in 32 bits. */
static bool parse_u32(const char *s, uint64_t *ret)
{
        char *end;
        uint64_t v;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > UINT32_MAX)
                return false;
        *ret = v;
        return true;
}

int inst_idmap_parse_subid(const char *text, const char *user, uint64_t *ret_start, uint64_t *ret_count,
                           Error **err)
{
        _cleanup_free_ char *copy = xstrdup(text);
        size_t ulen = strlen(user);
        char *save = NULL;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *start, *count;
                uint64_t s, n;

                line += strspn(line, " \t");
                if (!*line || *line == '#' || strncmp(line, user, ulen) != 0 || line[ulen] != ':')
                        continue;
                start = line + ulen + 1;
                count = strchr(start, ':');
                if (count)
                        *count++ = '\0';
                if (count)
                        count[strcspn(count, " \t\r")] = '\0';
                if (!count || !parse_u32(start, &s) || !parse_u32(count, &n))
                        return error_setf(err, EINVAL, "line for '%s': not NAME:START:COUNT", user);
                if (s + n > (uint64_t)UINT32_MAX + 1)
                        return error_setf(err, EINVAL, "line for '%s': %" PRIu64 ":%" PRIu64 " reaches past 2^32 ids",
                                          user, s, n);
                *ret_start = s;
                *ret_count = n;
                return 1;
        }
        return 0;
}

/* Root's range in the file at $env, else at path, else the default. */
static int pool_from(const char *path, const char *env, const char *what, uint64_t *ret_start, uint64_t *ret_count,
                     Error **err)
{
        _cleanup_free_ char *text = NULL;
        const char *file = getenv(env) && *getenv(env) ? getenv(env) : path;
        int r;

        *ret_start = INST_IDMAP_POOL_START;
        *ret_count = INST_IDMAP_POOL_COUNT;
        r = read_file_at(AT_FDCWD, file, &text, NULL, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(err, -r, "%s pool '%s'", what, file);
        r = inst_idmap_parse_subid(text, "root", ret_start, ret_count, err);
                r = inst_idmap_parse_subid(text, "root", ret_start, ret_count, err);
        if (r < 0)
                return error_wrap(err, r, "%s pool '%s'", what, file);
        if (r > 0 && *ret_count < INST_IDMAP_SLOT)
                return error_setf(err, EINVAL, "%s pool '%s': root has %" PRIu64 " ids, fewer than the %u an instance needs",
                                  what, file, *ret_count, INST_IDMAP_SLOT);
        return 0;
}

int inst_idmap_pool(InstIdmapPool *ret, Error **err)
{
        int r = pool_from("/etc/subuid", "HULL_SUBUID", "uid", &ret->uid_start, &ret->uid_count, err);

        return r < 0 ? r : pool_from("/etc/subgid", "HULL_SUBGID", "gid", &ret->gid_start, &ret->gid_count, err);
}

/* The one-time shifted copy of layers into lower: made in lower.tmp and renamed, so a copy cut
 * short is never taken for a whole one. */
static int shift_copy_layers(const char *layers_dir, char *const *layers, const char *lower, const InstIdmap *map,
                             Error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp", lower);
        StorShift shift = { 0, map->uid_base, 0, map->gid_base, map->count };
        int r;

        r = rm_rf_at(AT_FDCWD, tmp, err);
        if (r >= 0)
                r = mkdir_p(tmp, 0700, err);
        for (size_t i = 0; layers && layers[i] && r >= 0; i++) {
                _cleanup_free_ char *src = xasprintf("%s/%s", layers_dir, layers[i]),
                                    *dst = xasprintf("%s/%s", tmp, layers[i]);
                _cleanup_close_ int dfd = -EBADF;

                r = stor_tree_copy(src, dst, err);
                if (r < 0)
                        return error_wrap(err, r, "copy of layer '%s'", layers[i]);
                dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        return error_set(err, errno, "open '%s'", dst);
                r = stor_shift_tree_ids(dfd, &shift, err);
                if (r < 0)
                        return error_wrap(err, r, "shifted copy of layer '%s'", layers[i]);
        }
        if (r >= 0 && rename(tmp, lower) < 0)
                r = error_set(err, errno, "rename '%s'", tmp);
        return r;
}

/*
 * The container's root, host uid map->uid_base, resolves the paths of its root filesystem and
 * bound files itself, inside its user namespace: $root and $root/instances become passable by all
 * (0711: nothing in them can be listed, and what they hold is root's alone, 0700 or 0600), and the
 * instance's own directory passable by that uid only (0100, owned by it; host root needs no bits).
 */
static int open_path_to(InstContext *c, const char *id, const InstIdmap *map, Error **err)
{
        _cleanup_free_ char *instances = xasprintf("%s/instances", c->root), *dir = inst_dir(c, id),
                            *up = realpath(c->root, NULL);
        struct stat st;

        /* Above $root hull changes nothing: say which directory bars the way, rather than let the
         * runtime fail on it from inside the user namespace. */
        for (char *slash = up ? strrchr(up, '/') : NULL; slash; slash = strrchr(up, '/')) {
                *slash = '\0';
                const char *p = *up ? up : "/";
                if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH))
                        return error_setf(err, EACCES,
                                          "'%s' is not passable by others (mode %04o), and a container with a uid "
                                          "range of its own finds its root below it: give it o+x, or use another "
                                          "--root",
                                          p, st.st_mode & 07777);
                if (!*up)
                        break;
        }

        if (chmod(c->root, 0711) < 0)
                return error_set(err, errno, "chmod '%s'", c->root);
        if (chmod(instances, 0711) < 0)
                return error_set(err, errno, "chmod '%s'", instances);
        if (chown(dir, map->uid_base, 0) < 0 || chmod(dir, 0100) < 0)
                return error_set(err, errno, "chown '%s'", dir);
        return 0;
}

int inst_idmap_rootfs_mount(InstContext *c, const char *id, char *const *layers, const InstIdmap *map, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, id, "rootfs"),
                            *upper = inst_path(c, id, "upper"), *work = inst_path(c, id, "work"),
                            *lower = inst_path(c, id, "lower"), *stage = inst_path(c, id, "idmapped"),
                            *layers_dir = xasprintf("%s/layers", c->root);
        StorIdmap sm = { map->uid_base, map->gid_base, map->count };
        const char *force = getenv(INST_IDMAP_SHIFT_ENV);
        _cleanup_error_ Error *e = NULL;
        int r;

        r = open_path_to(c, id, map, err);
        if (r < 0)
                return r;
        if (access(lower, F_OK) == 0)
                return stor_overlay_mount_idmapped(lower, layers, &sm, NULL, upper, work, rootfs, err);
        if (!force || strcmp(force, "1") != 0) {
                r = stor_overlay_mount_idmapped(layers_dir, layers, &sm, stage, upper, work, rootfs, &e);
                if (r != -EOPNOTSUPP) {
                        if (r < 0 && err)
                                *err = TAKE_PTR(e);
                        return r;
                }
                log_debug("%s: falling back to a shifted copy of the layers", error_message(e, r));
        }
        r = shift_copy_layers(layers_dir, layers, lower, map, err);
        if (r < 0)
                return r;
        return stor_overlay_mount_idmapped(lower, layers, &sm, NULL, upper, work, rootfs, err);
}
