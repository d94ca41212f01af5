/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel.c: finding the guest kernel and its release, and the newc initramfs of hull-agent and virtio modules */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/strv.h"
#include "vm/kernel.h"

/* The modules the agent needs: the virtio transport of the microvm machine (mmio: it has no PCI), the
 * disk, the network, the ports. Each costs boot time under TCG, so nothing more. */
static const char *const wanted_modules[] = {
        "virtio_mmio", "virtio_blk", "virtio_net", "virtio_console",
};

void vm_kernel_done(VmKernel *k)
{
        if (!k)
                return;
        k->path = mfree(k->path);
        k->release = mfree(k->release);
        k->modules_dir = mfree(k->modules_dir);
}

/* The release string of a bzImage: the setup header's kernel_version (at 0x20E) points, +0x200, at
 * "6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP ...". */
static int read_release(const char *path, char **ret, Error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint8_t hdr[0x210];
        char buf[256];
        ssize_t n;
        size_t off;

        if (fd < 0)
                return error_set(err, errno, "open kernel '%s'", path);
        n = pread(fd, hdr, sizeof(hdr), 0);
        if (n < 0)
                return error_set(err, errno, "read kernel '%s'", path);
        if ((size_t)n < sizeof(hdr) || memcmp(hdr + 0x202, "HdrS", 4) != 0)
                return error_setf(err, EINVAL, "kernel '%s': not a bzImage (no setup header)", path);
        off = (size_t)(hdr[0x20E] | hdr[0x20F] << 8);
        if (off == 0)
                return error_setf(err, EINVAL, "kernel '%s': the setup header has no version string", path);
        n = pread(fd, buf, sizeof(buf) - 1, (off_t)off + 0x200);
        if (n <= 0)
                return error_setf(err, EINVAL, "kernel '%s': version string out of the file", path);
        buf[n] = 0;
        buf[strcspn(buf, " ")] = 0;
        if (!buf[0])
                return error_setf(err, EINVAL, "kernel '%s': empty version string", path);
        *ret = xstrdup(buf);
        return 0;
}

/* The newest file matching pattern (version order), or NULL. */
static char *newest(const char *pattern)
{
        glob_t g;
        char *best = NULL;

        if (glob(pattern, 0, NULL, &g) != 0)
                return NULL;
        for (size_t i = 0; i < g.gl_pathc; i++)
                if (!best || strverscmp(g.gl_pathv[i], best) > 0)
                        best = g.gl_pathv[i];
        best = best ? xstrdup(best) : NULL;
        globfree(&g);
        return best;
}

int vm_kernel_find(const char *path, VmKernel *ret, Error **err)
{
        _cleanup_free_ char *p = NULL, *release = NULL, *mods = NULL;
        struct stat st;
        int r;

        if (path)
                p = xstrdup(path);
        else if (!(p = newest("/boot/vmlinuz-*-cloud-amd64")) && !(p = newest("/boot/vmlinuz-*")))
                return error_setf(err, ENOENT, "no kernel in /boot: install linux-image-cloud-amd64 or pass --kernel");
        r = read_release(p, &release, err);
        if (r < 0)
                return r;
        mods = xasprintf("/lib/modules/%s", release);
        if (stat(mods, &st) < 0 || !S_ISDIR(st.st_mode))
                mods = mfree(mods);
        ret->path = TAKE_PTR(p);
        ret->release = TAKE_PTR(release);
        ret->modules_dir = TAKE_PTR(mods);
        return 0;
}

/* One line of modules.dep: a module's path (relative to the modules dir) and what it needs. */
typedef struct ModDep {
        char *path;
        char **deps;
} ModDep;

typedef struct ModTable {
        ModDep *mods;
        size_t n;
        char **order; /* the load order being built: dependencies first, each once */
} ModTable;

static void mod_table_done(ModTable *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free(t->mods[i].path);
                strv_free(t->mods[i].deps);
        }
        free(t->mods);
        strv_free(t->order);
}

static void parse_modules_dep(char *text, ModTable *t)
{
        char *line, *save = NULL;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(line, ':'), *tok, *s2 = NULL;
                if (!colon)
                        continue;
                *colon = 0;
                ModDep *m = xappend(t->mods, t->n);
                m->path = xstrdup(line);
                for (tok = strtok_r(colon + 1, " \t", &s2); tok; tok = strtok_r(NULL, " \t", &s2))
                        strv_push(&m->deps, tok);
        }
}

/* "kernel/drivers/virtio/virtio_mmio.ko" is module "virtio_mmio" (modules.dep may say virtio-mmio too). */
static bool path_is_module(const char *path, const char *name)
{
        const char *base = strrchr(path, '/');
        size_t n = strlen(name);

        base = base ? base + 1 : path;
        for (size_t i = 0; i < n; i++) {
                char a = base[i] == '-' ? '_' : base[i], b = name[i] == '-' ? '_' : name[i];
                if (a != b)
                        return false;
        }
        return strncmp(base + n, ".ko", 3) == 0;
}

static ModDep *find_by_path(ModTable *t, const char *path)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->mods[i].path, path) == 0)
                        return &t->mods[i];
        return NULL;
}

static int add_with_deps(ModTable *t, ModDep *m, int depth, Error **err)
{
        if (depth > 64)
                return error_setf(err, ELOOP, "modules.dep: dependency loop at '%s'", m->path);
        if (strv_contains(t->order, m->path))
                return 0;
        if (strlen(m->path) < 3 || strcmp(m->path + strlen(m->path) - 3, ".ko") != 0)
                return error_setf(err, EOPNOTSUPP, "module '%s' is compressed: the agent loads plain .ko files",
                                  m->path);
        for (size_t i = 0; m->deps && m->deps[i]; i++) {
                ModDep *d = find_by_path(t, m->deps[i]);
                if (!d)
                        return error_setf(err, ENOENT, "modules.dep: '%s' needs '%s', which has no entry", m->path,
                                          m->deps[i]);
                int r = add_with_deps(t, d, depth + 1, err);
                if (r < 0)
                        return r;
        }
        strv_push(&t->order, m->path);
        return 0;
}

static int resolve_modules(const char *dep_text, const char *builtin_text, ModTable *t, Error **err)
{
        _cleanup_free_ char *copy = xstrdup(dep_text);

        parse_modules_dep(copy, t);
        for (size_t w = 0; w < ARRAY_SIZE(wanted_modules); w++) {
                ModDep *m = NULL;
                for (size_t i = 0; i < t->n && !m; i++)
                        if (path_is_module(t->mods[i].path, wanted_modules[w]))
                                m = &t->mods[i];
                if (!m)
                        continue; /* built in (modules.builtin) or not in this kernel: nothing to load */
                if (builtin_text && strstr(builtin_text, m->path))
                        continue;
                int r = add_with_deps(t, m, 0, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* newc: "070701", 13 fields of 8 hex digits, the name with its NUL, padded to 4, the data, padded to 4. */
static int cpio_entry(FILE *f, const char *name, mode_t mode, unsigned rdev_major, unsigned rdev_minor,
                      const void *data, size_t len)
{
        static unsigned ino = 1;
        static const char zeros[4];
        size_t namesize = strlen(name) + 1;

        fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino++, (unsigned)mode, 0u, 0u,
                S_ISDIR(mode) ? 2u : 1u, 0u, len, 0u, 0u, rdev_major, rdev_minor, namesize, 0u);
        fwrite(name, 1, namesize, f);
        fwrite(zeros, 1, (4 - (110 + namesize) % 4) % 4, f);
        if (len > 0)
                fwrite(data, 1, len, f);
        fwrite(zeros, 1, (4 - len % 4) % 4, f);
        return ferror(f) ? -EIO : 0;
}

static int write_cpio(FILE *f, const char *agent_data, size_t agent_len, const VmKernel *k, char **order,
                      Error **err)
{
        static const char *const dirs[] = { ".", "dev", "proc", "sys", "newroot", "lib", "lib/modules" };
        _cleanup_free_ char *load = xstrdup("");
        int r = 0;

        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                r |= cpio_entry(f, dirs[i], S_IFDIR | 0755, 0, 0, NULL, 0);
        /* The kernel opens /dev/console for init's stdio before init runs: early failures get seen. */
        r |= cpio_entry(f, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
        r |= cpio_entry(f, "init", S_IFREG | 0755, 0, 0, agent_data, agent_len);
        for (size_t i = 0; order && order[i]; i++) {
                _cleanup_free_ char *src = xasprintf("%s/%s", k->modules_dir, order[i]), *data = NULL, *name = NULL;
                const char *base = strrchr(order[i], '/');
                size_t len;
                int q = read_file_at(AT_FDCWD, src, &data, &len, err);
                if (q < 0)
                        return error_wrap(err, q, "module '%s'", order[i]);
                name = xasprintf("lib/modules/%s", base ? base + 1 : order[i]);
                r |= cpio_entry(f, name, S_IFREG | 0644, 0, 0, data, len);
                char *l = xasprintf("%s/%s\n", load, name);
                free(load);
                load = l;
        }
        r |= cpio_entry(f, "lib/modules/hull.load", S_IFREG | 0644, 0, 0, load, strlen(load));
        r |= cpio_entry(f, "TRAILER!!!", 0, 0, 0, NULL, 0);
        if (r != 0 || fflush(f) != 0)
                return error_set(err, EIO, "write the initramfs");
        return 0;
}

/* "a1b2..." (16 hex digits) of SHA-256 over the agent and modules.dep: a new agent or kernel, a new name. */
/* The hex digits of the digest that name a cached initramfs. */
#define CACHE_KEY_LEN 16

static char *cache_key(const char *agent_data, size_t agent_len, const char *dep_text)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        _cleanup_free_ char *hex = NULL;

        digest_update(d, agent_data, agent_len);
        for (size_t i = 0; i < ARRAY_SIZE(wanted_modules); i++)
                digest_update(d, wanted_modules[i], strlen(wanted_modules[i]) + 1);
        if (dep_text)
                digest_update(d, dep_text, strlen(dep_text));
        hex = digest_finish(d);
        return xstrndup(hex + strlen("sha256:"), CACHE_KEY_LEN);
}

static int build(const VmKernel *k, const char *agent_data, size_t agent_len, const char *dep_text,
                 const char *path, Error **err)
{
        _cleanup_(mod_table_done) ModTable t = { 0 };
        _cleanup_free_ char *builtin = NULL, *builtin_path = NULL, *tmp = xasprintf("%s.XXXXXX", path);
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        if (dep_text) {
                builtin_path = xasprintf("%s/modules.builtin", k->modules_dir);
                (void)read_file_at(AT_FDCWD, builtin_path, &builtin, NULL, NULL);
                r = resolve_modules(dep_text, builtin, &t, err);
                if (r < 0)
                        return r;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "create '%s'", tmp);
        f = fdopen(fd, "w");
        if (!f) {
                r = error_set(err, errno, "fdopen");
                close(fd);
                unlink(tmp);
                return r;
        }
        r = write_cpio(f, agent_data, agent_len, k, t.order, err);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = error_set(err, errno, "chmod '%s'", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = error_set(err, errno, "rename to '%s'", path);
        if (r < 0)
                unlink(tmp);
        return r;
}

/* What identifies a file's version without reading it: device, inode, size and change time. */
static char *file_stamp(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return NULL;
        return xasprintf("%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                         (long long)st.st_size, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/*
 * The cache key costs a read and a hash of the agent (most of a megabyte) and of modules.dep. A stamp
 * file per kernel release keeps the last key with what identified its inputs then (stat of the agent and
 * of modules.dep, and the module list): while those match, the key is taken from it unread.
 */
static char *stamp_text(const char *agent, const char *dep_path)
{
        _cleanup_free_ char *a = file_stamp(agent), *d = dep_path ? file_stamp(dep_path) : xstrdup("-");
        char mods[256] = "";

        if (!a || !d)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(wanted_modules); i++) {
                size_t n = strlen(mods);
                snprintf(mods + n, sizeof(mods) - n, "%s%s", i ? "," : "", wanted_modules[i]);
        }
        return xasprintf("%s %s %s\n", a, d, mods);
}

static char *cpio_path(const char *cache_dir, const VmKernel *k, const char *key)
{
        return xasprintf("%s/initramfs-%s-%s.cpio", cache_dir, k->release, key);
}

static char *stamp_key(const char *stamp_path, const char *stamp)
{
        _cleanup_free_ char *text = NULL;
        size_t len, n = strlen(stamp);

        if (read_file_at(AT_FDCWD, stamp_path, &text, &len, NULL) < 0)
                return NULL;
        if (len != n + CACHE_KEY_LEN + 1 || strncmp(text, stamp, n) != 0 || text[len - 1] != '\n')
                return NULL;
        return xstrndup(text + n, CACHE_KEY_LEN);
}

int vm_initramfs_get(const VmKernel *k, const char *agent, const char *cache_dir, char **ret_path, Error **err)
{
        _cleanup_free_ char *agent_data = NULL, *dep_text = NULL, *dep_path = NULL, *key = NULL, *path = NULL,
                            *stamp_path = xasprintf("%s/initramfs-%s.stamp", cache_dir, k->release), *stamp = NULL;
        size_t agent_len;
        int r;

        if (k->modules_dir)
                dep_path = xasprintf("%s/modules.dep", k->modules_dir);
        stamp = stamp_text(agent, dep_path);
        key = stamp ? stamp_key(stamp_path, stamp) : NULL;
        if (key) {
                path = cpio_path(cache_dir, k, key);
                if (access(path, F_OK) == 0) {
                        *ret_path = TAKE_PTR(path);
                        return 0;
                }
                key = mfree(key);
                path = mfree(path);
        }
        r = read_file_at(AT_FDCWD, agent, &agent_data, &agent_len, err);
        if (r < 0)
                return error_wrap(err, r, "agent '%s'", agent);
        if (dep_path) {
                r = read_file_at(AT_FDCWD, dep_path, &dep_text, NULL, err);
                if (r < 0)
                        return error_wrap(err, r, "initramfs for '%s'", k->release);
        }
        key = cache_key(agent_data, agent_len, dep_text);
        path = cpio_path(cache_dir, k, key);
        if (access(path, F_OK) != 0) {
                r = mkdir_p(cache_dir, 0755, err);
                if (r < 0)
                        return error_wrap(err, r, "initramfs cache");
                r = build(k, agent_data, agent_len, dep_text, path, err);
                if (r < 0)
                        return error_wrap(err, r, "initramfs for '%s'", k->release);
        }
        if (stamp) {
                /* Only a shortcut: without it the next start hashes again. */
                _cleanup_free_ char *text = xasprintf("%s%s\n", stamp, key);
                (void)write_file_atomic_at(AT_FDCWD, stamp_path, text, strlen(text), 0644, NULL);
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}
