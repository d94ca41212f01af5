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

/* One walk's state: the shift, and the inodes with several links shifted so far. */
typedef struct Walk {
        StorShift shift;
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
static int walk_dir(Walk *w, int dirfd, const char *rel, Error **err);

/* One entry of a directory: its owner shifted (a directory's after its entries'). */
static int walk_entry(Walk *w, int dirfd, const char *name, const char *rel, Error **err)
{
        _cleanup_free_ char *path = entry_path(dirfd, name);
        struct stat st;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "stat '%s'", rel);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sub = -EBADF;
                struct stat sub_st;

                sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return error_set(err, errno, "open '%s'", rel);
                if (fstat(sub, &sub_st) < 0 || sub_st.st_dev != st.st_dev)
                        return 0; /* a mount point: not ours to change */
                r = walk_dir(w, sub, rel, err);
                if (r < 0)
                        return r;
        } else if (st.st_nlink > 1) {
                if (seen_link(w, &st))
                        return 0; /* shifted once already */
                remember_link(w, &st, rel);
        }
        return shift_entry(w, path, dirfd, name, &st, err);
}

static int walk_dir(Walk *w, int dirfd, const char *rel, Error **err)
{
        /* A new open file description: a dup would share (and move) the caller's offset. */
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
                r = walk_entry(w, dirfd, de->d_name, sub, err);
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

int stor_shift_tree(int dirfd, uint32_t from_base, uint32_t to_base, uint32_t count, Error **err)
{
        StorShift sh = { from_base, to_base, from_base, to_base, count };

        return stor_shift_tree_ids(dirfd, &sh, err);
}

/* The tree's entries, then its root. */
int stor_shift_tree_ids(int dirfd, const StorShift *shift, Error **err)
{
        _cleanup_free_ char *path = entry_path(dirfd, NULL);
        Walk w = { .shift = *shift };
        struct stat st;
        int r;

        if (shift->count == 0)
                return error_setf(err, EINVAL, "shift of an empty range");
        if (fstat(dirfd, &st) < 0)
                return error_set(err, errno, "stat '%s'", path);
        r = walk_dir(&w, dirfd, ".", err);
        if (r >= 0)
                r = shift_entry(&w, path, dirfd, NULL, &st, err);
        walk_done(&w);
        return r;
}
