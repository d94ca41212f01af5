/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shift.c: moving the owners of a directory tree by an offset, in place or into a copy */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "shift.h"

#define OVERFLOW_ID 65534u
#define CAPS_XATTR "security.capability"
/* linux/capability.h: the header of a file capability xattr, and its two sizes. */
#define CAP_REVISION_MASK 0xFF000000u
#define CAP_REVISION_2 0x02000000u
#define CAP_REVISION_3 0x03000000u
#define CAP_FLAGS_EFFECTIVE 0x000001u
#define CAP_SIZE_2 20
#define CAP_SIZE_3 24

uint32_t stor_shift_id(uint32_t id, uint32_t from_base, uint32_t to_base, uint32_t count)
{
        if (id >= from_base && id - from_base < count)
                return to_base + (id - from_base);
        return to_base + (count > OVERFLOW_ID ? OVERFLOW_ID : count - 1);
}

/* One walk's state: the shift, and the inodes with several links seen so far (with the path the
 * copy gave the first, relative to the destination's root). */
typedef struct Walk {
        StorShift shift;
        int dst_root;
        struct {
                dev_t dev;
                ino_t ino;
                char *path;
        } *links;
        size_t n_links;
} Walk;

static const char *seen_link(const Walk *w, const struct stat *st)
{
        for (size_t i = 0; i < w->n_links; i++)
                if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
                        return w->links[i].path;
        return NULL;
}

static void remember_link(Walk *w, const struct stat *st, const char *path)
{
        typeof(*w->links) *l = xappend(w->links, w->n_links);

        l->dev = st->st_dev;
        l->ino = st->st_ino;
        l->path = xstrdup(path);
}

/* "/proc/self/fd/N/name": a path to an entry of an open directory for the *xattr() calls, which
 * have no *at() forms; "/proc/self/fd/N/." for the directory itself (the l*xattr() calls would act
 * on the /proc link without the "."). */
static char *entry_path(int dirfd, const char *name)
{
        return xasprintf("/proc/self/fd/%d/%s", dirfd, name ? name : ".");
}

/* Reads the file capability xattr of path into buf: its size, 0 when it has none. */
static int caps_read(const char *path, uint8_t buf[static CAP_SIZE_3], Error **err)
{
        ssize_t n = lgetxattr(path, CAPS_XATTR, buf, CAP_SIZE_3);

        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? 0 : error_set(err, errno, "read capabilities of '%s'", path);
        return (int)n;
}

/* Writes caps (as read by caps_read) back as version 3, with their root id shifted. */
static int caps_write_shifted(const Walk *w, const char *path, const uint8_t *caps, int size, Error **err)
{
        uint8_t v3[CAP_SIZE_3] = {};
        uint32_t magic, rootid = 0;

        memcpy(&magic, caps, 4);
        magic = le32toh(magic);
        if ((magic & CAP_REVISION_MASK) == CAP_REVISION_3 && size == CAP_SIZE_3) {
                memcpy(&rootid, caps + CAP_SIZE_2, 4);
                rootid = le32toh(rootid);
        } else if ((magic & CAP_REVISION_MASK) != CAP_REVISION_2 || size < CAP_SIZE_2) {
                return error_setf(err, EBADMSG, "'%s': capabilities of unknown revision 0x%08x", path, magic);
        }
        memcpy(v3, caps, CAP_SIZE_2);
        magic = htole32(CAP_REVISION_3 | (magic & CAP_FLAGS_EFFECTIVE));
        memcpy(v3, &magic, 4);
        rootid = htole32(stor_shift_id(rootid, w->shift.uid_from, w->shift.uid_to, w->shift.count));
        memcpy(v3 + CAP_SIZE_2, &rootid, 4);
        if (lsetxattr(path, CAPS_XATTR, v3, sizeof(v3), 0) < 0)
                return error_set(err, errno, "write capabilities of '%s'", path);
        return 0;
}

/*
 * Shifts the owner of dst (dirfd/name; name NULL: dirfd itself) from st, the stat of src_path
 * whose capabilities it takes. chown clears the setuid and setgid bits and file capabilities
 * (the kernel's killpriv), so both are put back after it.
 */
static int shift_entry(const Walk *w, const char *src_path, int dirfd, const char *name, const struct stat *st,
                       Error **err)
{
        _cleanup_free_ char *path = entry_path(dirfd, name);
        uint8_t caps[CAP_SIZE_3];
        int n_caps = 0, r;

        if (S_ISREG(st->st_mode)) {
                n_caps = caps_read(src_path, caps, err);
                if (n_caps < 0)
                        return n_caps;
        }
        if (fchownat(dirfd, name ? name : "", stor_shift_id(st->st_uid, w->shift.uid_from, w->shift.uid_to, w->shift.count),
                     stor_shift_id(st->st_gid, w->shift.gid_from, w->shift.gid_to, w->shift.count),
                     AT_SYMLINK_NOFOLLOW | (name ? 0 : AT_EMPTY_PATH)) < 0)
                return error_set(err, errno, "chown '%s'", path);
        if (S_ISLNK(st->st_mode))
                return 0;
        if ((st->st_mode & (S_ISUID | S_ISGID)) && chmod(path, st->st_mode & 07777) < 0)
                return error_set(err, errno, "chmod '%s'", path);
        if (n_caps > 0) {
                r = caps_write_shifted(w, path, caps, n_caps, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Copies every extended attribute but the capabilities (shift_entry's) from src to dst. */
static int copy_xattrs(const char *src, const char *dst, Error **err)
{
        _cleanup_free_ char *names = NULL, *value = NULL;
        ssize_t n = llistxattr(src, NULL, 0);

        if (n <= 0)
                return 0;
        names = xmalloc((size_t)n);
        n = llistxattr(src, names, (size_t)n);
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
                const char *name = names + i;
                ssize_t len;

                if (strcmp(name, CAPS_XATTR) == 0)
                        continue;
                len = lgetxattr(src, name, NULL, 0);
                if (len < 0)
                        continue; /* gone, or of a namespace we may not read */
                value = mfree(value);
                value = xmalloc((size_t)len + 1);
                len = lgetxattr(src, name, value, (size_t)len);
                if (len < 0)
                        continue;
                if (lsetxattr(dst, name, value, (size_t)len, 0) < 0)
                        return error_set(err, errno, "copy attribute '%s' to '%s'", name, dst);
        }
        return 0;
}

static int copy_data(int src_dirfd, int dst_dirfd, const char *name, Error **err)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[65536];
        ssize_t n;

        in = openat(src_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return error_set(err, errno, "open '%s'", name);
        out = openat(dst_dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return error_set(err, errno, "create '%s'", name);
        /* copy_file_range shares blocks where the file system can (a reflink), else copies in the kernel. */
        while ((n = copy_file_range(in, NULL, out, NULL, SIZE_MAX >> 2, 0)) > 0)
                ;
        if (n == 0)
                return 0;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                return error_set(err, errno, "copy '%s'", name);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (fd_write_all(out, buf, (size_t)n) < 0)
                        return error_set(err, errno, "write '%s'", name);
        return n < 0 ? error_set(err, errno, "read '%s'", name) : 0;
}

/* Makes the copy of one entry that is not a directory (its data, link target or node), with its
 * mode and attributes; owner and times come after. 1 when it was a hard link to one copied already. */
static int copy_node(Walk *w, int src_dirfd, int dst_dirfd, const char *name, const char *rel, const struct stat *st,
                     Error **err)
{
        _cleanup_free_ char *src = entry_path(src_dirfd, name), *dst = entry_path(dst_dirfd, name);
        const char *first = st->st_nlink > 1 ? seen_link(w, st) : NULL;
        int r = 0;

        if (first) {
                if (linkat(w->dst_root, first, dst_dirfd, name, 0) < 0)
                        return error_set(err, errno, "link '%s'", rel);
                return 1;
        }
        if (S_ISREG(st->st_mode)) {
                r = copy_data(src_dirfd, dst_dirfd, name, err);
        } else if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(src_dirfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return error_set(err, errno, "readlink '%s'", rel);
                target[n] = '\0';
                if (symlinkat(target, dst_dirfd, name) < 0)
                        return error_set(err, errno, "symlink '%s'", rel);
                return 0;
        } else if (mknodat(dst_dirfd, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0) {
                return error_set(err, errno, "mknod '%s'", rel);
        }
        if (r >= 0 && fchmodat(dst_dirfd, name, st->st_mode & 07777, 0) < 0)
                r = error_set(err, errno, "chmod '%s'", rel);
        if (r >= 0)
                r = copy_xattrs(src, dst, err);
        if (r >= 0 && st->st_nlink > 1)
                remember_link(w, st, rel);
        return r;
}

static int walk_dir(Walk *w, int src_dirfd, int dst_dirfd, const char *rel, Error **err);

/* One entry of a directory: copied when dst_dirfd >= 0, then its owner shifted. */
static int walk_entry(Walk *w, int src_dirfd, int dst_dirfd, const char *name, const char *rel, Error **err)
{
        _cleanup_free_ char *src = entry_path(src_dirfd, name);
        struct stat st;
        bool is_copy = dst_dirfd >= 0;
        int at = is_copy ? dst_dirfd : src_dirfd, r;

        if (fstatat(src_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "stat '%s'", rel);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sub = -EBADF, dsub = -EBADF;
                struct stat sub_st;

                sub = openat(src_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return error_set(err, errno, "open '%s'", rel);
                if (fstat(sub, &sub_st) < 0 || sub_st.st_dev != st.st_dev)
                        return 0; /* a mount point: not ours to change */
                if (is_copy) {
                        if (mkdirat(dst_dirfd, name, 0700) < 0)
                                return error_set(err, errno, "mkdir '%s'", rel);
                        dsub = openat(dst_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dsub < 0)
                                return error_set(err, errno, "open '%s'", rel);
                }
                r = walk_dir(w, sub, dsub, rel, err);
                if (r < 0)
                        return r;
                /* The directory's own mode and attributes once its entries are in. */
                if (is_copy) {
                        _cleanup_free_ char *dst = entry_path(dsub, NULL);
                        if (fchmod(dsub, st.st_mode & 07777) < 0)
                                return error_set(err, errno, "chmod '%s'", rel);
                        r = copy_xattrs(src, dst, err);
                        if (r < 0)
                                return r;
                }
        } else if (is_copy) {
                r = copy_node(w, src_dirfd, dst_dirfd, name, rel, &st, err);
                if (r != 0)
                        return r < 0 ? r : 0; /* a link shares the owner of the first */
        } else if (st.st_nlink > 1) {
                if (seen_link(w, &st))
                        return 0; /* shifted once already */
                remember_link(w, &st, rel);
        }
        r = shift_entry(w, src, at, name, &st, err);
        if (r >= 0 && is_copy) {
                struct timespec ts[2] = { st.st_atim, st.st_mtim };
                if (utimensat(dst_dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        r = error_set(err, errno, "set times of '%s'", rel);
        }
        return r;
}

static int walk_dir(Walk *w, int src_dirfd, int dst_dirfd, const char *rel, Error **err)
{
        /* A new open file description: a dup would share (and move) the caller's offset. */
        int fd = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return error_set(err, errno, "read directory '%s'", rel);
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                sub = strcmp(rel, ".") == 0 ? xstrdup(de->d_name) : xasprintf("%s/%s", rel, de->d_name);
                r = walk_entry(w, src_dirfd, dst_dirfd, de->d_name, sub, err);
        }
        if (r >= 0 && errno)
                r = error_set(err, errno, "read directory '%s'", rel);
        closedir(d);
        return r;
}

static void walk_done(Walk *w)
{
        for (size_t i = 0; i < w->n_links; i++)
                free(w->links[i].path);
        free(w->links);
}

/* The tree's root: its entries, then itself (copied mode and attributes, shifted owner). */
static int walk_root(Walk *w, int src_dirfd, int dst_dirfd, Error **err)
{
        _cleanup_free_ char *src = entry_path(src_dirfd, NULL);
        struct stat st;
        int r;

        if (w->shift.count == 0)
                return error_setf(err, EINVAL, "shift of an empty range");
        if (fstat(src_dirfd, &st) < 0)
                return error_set(err, errno, "stat '%s'", src);
        r = walk_dir(w, src_dirfd, dst_dirfd, ".", err);
        if (r >= 0 && dst_dirfd >= 0) {
                _cleanup_free_ char *dst = entry_path(dst_dirfd, NULL);
                struct timespec ts[2] = { st.st_atim, st.st_mtim };
                if (fchmod(dst_dirfd, st.st_mode & 07777) < 0)
                        r = error_set(err, errno, "chmod '%s'", dst);
                if (r >= 0)
                        r = copy_xattrs(src, dst, err);
                if (r >= 0)
                        r = shift_entry(w, src, dst_dirfd, NULL, &st, err);
                if (r >= 0 && futimens(dst_dirfd, ts) < 0)
                        r = error_set(err, errno, "set times of '%s'", dst);
        } else if (r >= 0) {
                r = shift_entry(w, src, src_dirfd, NULL, &st, err);
        }
        walk_done(w);
        return r;
}

int stor_shift_tree(int dirfd, uint32_t from_base, uint32_t to_base, uint32_t count, Error **err)
{
        StorShift sh = { from_base, to_base, from_base, to_base, count };

        return stor_shift_tree_ids(dirfd, &sh, err);
}

int stor_shift_tree_ids(int dirfd, const StorShift *shift, Error **err)
{
        Walk w = { .shift = *shift, .dst_root = -EBADF };

        return walk_root(&w, dirfd, -EBADF, err);
}

int stor_shift_copy(int src_dirfd, int dst_dirfd, const StorShift *shift, Error **err)
{
        Walk w = { .shift = *shift, .dst_root = dst_dirfd };

        return walk_root(&w, src_dirfd, dst_dirfd, err);
}
