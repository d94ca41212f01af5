/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layer.c: unpacks OCI layers: libarchive parses, each entry is made by hand beneath the layer's root */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "layer.h"

/* Compressed input is read in blocks this large: fewer syscalls, and zlib/zstd work on long runs. */
#define READ_BLOCK (1024 * 1024)

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* Every lookup below the layer's root: never above it, never through a symlink or a magic link. */
#define RESOLVE_LAYER (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* A directory whose times are set once everything inside it has been made. */
typedef struct DirTime {
        char *path; /* below the root, "" for the root itself */
        struct timespec times[2];
} DirTime;

/* An entry's ownership, permission bits and times, checked. */
typedef struct Meta {
        uid_t uid;
        gid_t gid;
        mode_t mode; /* 07777 bits */
        struct timespec times[2]; /* atime, mtime for utimensat() */
} Meta;

typedef struct Unpack {
        int in_fd;
        char *in_buf;        /* READ_BLOCK bytes of input */
        uint64_t in_total;   /* bytes read from in_fd */
        int read_errno;      /* set when read(in_fd) failed */
        struct archive *raw; /* in_fd -> uncompressed bytes ("raw" format, gzip/zstd filters) */
        struct archive *tar; /* uncompressed bytes -> entries */
        bool is_raw_failed;  /* tar failed because raw did: raw has the message */
        Digest *digest;      /* over every uncompressed byte handed to tar, then the rest */
        int root_fd;         /* the temporary layer directory */
        char *parent_path;   /* the previous entry's directory and an fd of it: entries come grouped */
        int parent_fd;
        DirTime *dirs;
        size_t n_dirs;
        uint64_t size;
} Unpack;

static void unpack_done(Unpack *u)
{
        if (u->tar)
                archive_read_free(u->tar);
        if (u->raw)
                archive_read_free(u->raw);
        digest_free(u->digest);
        free(u->in_buf);
        free(u->parent_path);
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        if (u->root_fd >= 0)
                close(u->root_fd);
        for (size_t i = 0; i < u->n_dirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
}

/* openat2() beneath dir_fd (see RESOLVE_LAYER); returns the fd or -errno. */
static int openat_beneath(int dir_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .resolve = RESOLVE_LAYER,
        };
        int fd;

        /* EAGAIN: a rename elsewhere on the system raced the lookup; the kernel asks for a retry. */
        do
                fd = (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd < 0 ? -errno : fd;
}

/*
 * Normalises an entry name into *ret: "./" prefixes, "." components and repeated slashes go, ""
 * is the root. -EPERM for an absolute name or a ".." component: nothing may name a place outside.
 */
static int clean_path(const char *name, char **ret)
{
        _cleanup_free_ char *out = xmalloc(strlen(name) + 1);
        size_t n = 0;

        if (name[0] == '/')
                return -EPERM;
        for (const char *p = name; *p;) {
                size_t len = strcspn(p, "/");

                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return -EPERM;
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (n > 0)
                                out[n++] = '/';
                        memcpy(out + n, p, len);
                        n += len;
                }
                p += len;
                p += strspn(p, "/");
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

/* Brings a timespec from a tar header into what utimensat() accepts (pax allows "-1.5"). */
static struct timespec normal_time(time_t sec, long nsec)
{
        if (nsec < 0 || nsec >= 1000000000L) {
                sec += nsec / 1000000000L;
                nsec %= 1000000000L;
                if (nsec < 0) {
                        sec--;
                        nsec += 1000000000L;
                }
        }
        return (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
}

static int entry_meta(struct archive_entry *e, Meta *m, Error **err)
{
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

        /* (uid_t)-1 means "unchanged" to chown(2), so it is no owner either. */
        if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
                return error_setf(err, EINVAL, "owner %lld:%lld out of range", (long long)uid,
                                  (long long)gid);
        m->uid = (uid_t)uid;
        m->gid = (gid_t)gid;
        m->mode = archive_entry_perm(e) & 07777;
        if (archive_entry_mtime_is_set(e))
                m->times[1] = normal_time(archive_entry_mtime(e), archive_entry_mtime_nsec(e));
        else
                m->times[1] = (struct timespec){ .tv_nsec = UTIME_OMIT };
        if (archive_entry_atime_is_set(e))
                m->times[0] = normal_time(archive_entry_atime(e), archive_entry_atime_nsec(e));
        else
                m->times[0] = m->times[1];
        return 0;
}

/* ---- the two-stage stream: input -> (gzip|zstd|none) -> digest -> tar ---- */

static la_ssize_t read_input(struct archive *a, void *userdata, const void **buf)
{
        Unpack *u = userdata;
        ssize_t n;

        do
                n = read(u->in_fd, u->in_buf, READ_BLOCK);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                u->read_errno = errno;
                archive_set_error(a, errno, "read");
                return -1;
        }
        u->in_total += (uint64_t)n;
        *buf = u->in_buf;
        return n;
}

/* The tar reader's input: the decompressor's output blocks, hashed on the way (no copy). */
static la_ssize_t read_uncompressed(struct archive *a, void *userdata, const void **buf)
{
        Unpack *u = userdata;
        size_t len = 0;
        la_int64_t offset;
        int r;

        do
                r = archive_read_data_block(u->raw, buf, &len, &offset);
        while ((r == ARCHIVE_OK || r == ARCHIVE_WARN) && len == 0);
        if (r == ARCHIVE_EOF)
                return 0;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                u->is_raw_failed = true;
                archive_set_error(a, EBADMSG, "decompression failed");
                return -1;
        }
        digest_update(u->digest, *buf, len);
        return (la_ssize_t)len;
}

/* The error of a failed libarchive call: the input's read error, else a corrupt stream (EBADMSG). */
static int stream_error(Unpack *u, Error **err)
{
        const char *msg;

        if (u->read_errno)
                return error_set(err, u->read_errno, "read");
        if (u->in_total == 0)
                return error_setf(err, EBADMSG, "empty stream");
        msg = archive_error_string(u->is_raw_failed ? u->raw : u->tar);
        if (!msg || !*msg)
                return error_setf(err, EBADMSG, "corrupt stream");
        /* libarchive capitalises ("Truncated tar archive"); our fragments are lowercase, acronyms aside. */
        if (msg[0] >= 'A' && msg[0] <= 'Z' && msg[1] >= 'a' && msg[1] <= 'z')
                return error_setf(err, EBADMSG, "%c%s", msg[0] - 'A' + 'a', msg + 1);
        return error_setf(err, EBADMSG, "%s", msg);
}

static int stream_open(Unpack *u, Error **err)
{
        struct archive_entry *raw_entry;
        int r;

        u->raw = archive_read_new();
        u->tar = archive_read_new();
        if (!u->raw || !u->tar)
                abort(); /* only allocation fails here */
        /* ARCHIVE_WARN would mean "through an external program": no forking from a library. */
        if (archive_read_support_filter_gzip(u->raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(u->raw) != ARCHIVE_OK ||
            archive_read_support_format_raw(u->raw) != ARCHIVE_OK ||
            archive_read_support_format_tar(u->tar) != ARCHIVE_OK)
                return error_setf(err, EOPNOTSUPP, "libarchive lacks built-in gzip, zstd or tar");
        if (archive_read_open(u->raw, u, NULL, read_input, NULL) != ARCHIVE_OK)
                return stream_error(u, err);
        r = archive_read_next_header(u->raw, &raw_entry);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return stream_error(u, err);
        if (archive_read_open(u->tar, u, NULL, read_uncompressed, NULL) != ARCHIVE_OK)
                return stream_error(u, err);
        return 0;
}

/* Hashes what follows the tar's end marker: the diff_id covers every uncompressed byte. */
static int stream_drain(Unpack *u, Error **err)
{
        const void *buf;
        la_ssize_t n;

        while ((n = read_uncompressed(u->tar, u, &buf)) > 0)
                ;
        return n < 0 ? stream_error(u, err) : 0;
}

/* ---- making entries ---- */

/* Removes whatever is at parent_fd/base, a whole tree for a directory; nothing there is fine. */
static int remove_existing(int parent_fd, const char *base, Error **err)
{
        if (unlinkat(parent_fd, base, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR)
                return error_set(err, errno, "remove the existing '%s'", base);
        return rm_rf_at(parent_fd, base, err);
}

static int parent_error(int r, const char *dir, Error **err)
{
        if (r == -ELOOP || r == -EXDEV)
                return error_setf(err, EPERM, "parent '%s' goes through a symlink", dir);
        if (r == -ENOTDIR)
                return error_setf(err, ENOTDIR, "parent '%s' is not a directory", dir);
        return error_set(err, r, "open parent '%s'", dir);
}

/* Opens dir below the root one component at a time, making the missing ones (0755, root-owned). */
static int make_parents(Unpack *u, const char *dir, Error **err)
{
        _cleanup_close_ int fd = fcntl(u->root_fd, F_DUPFD_CLOEXEC, 3);
        _cleanup_free_ char *todo = xstrdup(dir);
        char *rest = todo, *comp;

        if (fd < 0)
                return error_set(err, errno, "dup");
        while ((comp = strsep(&rest, "/"))) {
                bool is_made = false;
                int next = openat_beneath(fd, comp, O_RDONLY | O_DIRECTORY);

                if (next == -ENOENT) {
                        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                                return error_set(err, errno, "make parent '%s'", dir);
                        is_made = true;
                        next = openat_beneath(fd, comp, O_RDONLY | O_DIRECTORY);
                }
                if (next < 0)
                        return parent_error(next, dir, err);
                close(fd);
                fd = next;
                /* mkdirat() honours the umask, which is not ours to change in a library. */
                if (is_made && fchmod(fd, 0755) < 0)
                        return error_set(err, errno, "chmod parent '%s'", dir);
        }
        return TAKE_FD(fd);
}

/* Sets *ret_fd to the directory dir below the root (borrowed: valid until the next call). */
static int open_parent(Unpack *u, const char *dir, int *ret_fd, Error **err)
{
        int fd;

        if (!*dir) {
                *ret_fd = u->root_fd;
                return 0;
        }
        /* The cache stays right: a path is only ever removed while its own parent is the cached one. */
        if (u->parent_path && strcmp(u->parent_path, dir) == 0) {
                *ret_fd = u->parent_fd;
                return 0;
        }
        fd = openat_beneath(u->root_fd, dir, O_RDONLY | O_DIRECTORY);
        if (fd == -ENOENT)
                fd = make_parents(u, dir, err);
        else if (fd < 0)
                return parent_error(fd, dir, err);
        if (fd < 0)
                return fd;
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        free(u->parent_path);
        u->parent_path = xstrdup(dir);
        u->parent_fd = *ret_fd = fd;
        return 0;
}

/*
 * Sets the entry's xattrs on fd, or, when path is given (symlinks and device nodes, which cannot be
 * opened for this), on the node a /proc/self/fd path of an O_PATH fd names.
 */
static int set_xattrs(struct archive_entry *e, int fd, const char *path, Error **err)
{
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                int r;

                if (!name || !*name)
                        return error_setf(err, EINVAL, "xattr without a name");
                /* overlayfs reads its own xattrs in lower layers (opaque, redirect, metacopy): only
                 * the whiteout translation below may set them. */
                if (strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0) {
                        log_debug("layer: xattr '%s' skipped, it would steer overlayfs", name);
                        continue;
                }
                r = path ? setxattr(path, name, value, size, 0) : fsetxattr(fd, name, value, size, 0);
                /* The kernel allows user.* only on regular files and directories. */
                if (r < 0 && path && errno == EPERM && strncmp(name, "user.", 5) == 0) {
                        log_debug("layer: xattr '%s' on a special file: %s, ignoring", name, strerror(EPERM));
                        continue;
                }
                if (r < 0)
                        return error_set(err, errno, "set xattr '%s'", name);
        }
        return 0;
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown drops security.capability). */
static int set_attrs_fd(int fd, struct archive_entry *e, const Meta *m, Error **err)
{
        if (fchown(fd, m->uid, m->gid) < 0)
                return error_set(err, errno, "chown to %u:%u", m->uid, m->gid);
        if (fchmod(fd, m->mode) < 0)
                return error_set(err, errno, "chmod to %04o", m->mode);
        return set_xattrs(e, fd, NULL, err);
}

/* The same for a symlink or device node at parent_fd/base, plus its times. */
static int set_attrs_at(int parent_fd, const char *base, bool is_symlink, struct archive_entry *e,
                        const Meta *m, Error **err)
{
        if (fchownat(parent_fd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "chown to %u:%u", m->uid, m->gid);
        /* Following is safe here: base was just made by us, as a node, in our private directory. */
        if (!is_symlink && fchmodat(parent_fd, base, m->mode, 0) < 0)
                return error_set(err, errno, "chmod to %04o", m->mode);
        if (archive_entry_xattr_count(e) > 0) {
                _cleanup_close_ int fd = openat(parent_fd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                char path[FD_PATH_MAX];
                int r;

                if (fd < 0)
                        return error_set(err, errno, "open");
                r = set_xattrs(e, fd, fd_path(fd, path), err);
                if (r < 0)
                        return r;
        }
        if (utimensat(parent_fd, base, m->times, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "set times");
        return 0;
}

static int pwrite_all(int fd, const char *p, size_t len, off_t offset)
{
        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
                offset += n;
        }
        return 0;
}

/* Writes the entry's data (sparse maps give offsets; the holes stay holes). */
static int write_content(Unpack *u, int fd, struct archive_entry *e, Error **err)
{
        la_int64_t end = 0;

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;
                int r = archive_read_data_block(u->tar, &buf, &len, &offset);

                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return stream_error(u, err);
                if (len == 0)
                        continue;
                if (offset < 0 || offset > INT64_MAX - (la_int64_t)len)
                        return error_setf(err, EBADMSG, "data at offset %lld out of range",
                                          (long long)offset);
                r = pwrite_all(fd, buf, len, offset);
                if (r < 0)
                        return error_set(err, r, "write");
                if (offset + (la_int64_t)len > end)
                        end = offset + (la_int64_t)len;
        }
        /* A sparse file may end in a hole. */
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
            ftruncate(fd, archive_entry_size(e)) < 0)
                return error_set(err, errno, "extend to %lld bytes", (long long)archive_entry_size(e));
        return 0;
}

static int unpack_file(Unpack *u, struct archive_entry *e, const Meta *m, int parent_fd, const char *base,
                       Error **err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        _cleanup_close_ int fd = openat(parent_fd, base, flags, 0600);
        int r;

        if (fd < 0 && errno == EEXIST) {
                r = remove_existing(parent_fd, base, err);
                if (r < 0)
                        return r;
                fd = openat(parent_fd, base, flags, 0600);
        }
        if (fd < 0)
                return error_set(err, errno, "create");
        r = write_content(u, fd, e, err);
        if (r < 0)
                return r;
        /* After the content: a write drops setuid and security.capability. */
        r = set_attrs_fd(fd, e, m, err);
        if (r < 0)
                return r;
        if (futimens(fd, m->times) < 0)
                return error_set(err, errno, "set times");
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
                u->size += (uint64_t)archive_entry_size(e);
        return 0;
}

static void dir_time_add(Unpack *u, const char *path, const Meta *m)
{
        DirTime *d = xappend(u->dirs, u->n_dirs);

        d->path = xstrdup(path);
        d->times[0] = m->times[0];
        d->times[1] = m->times[1];
}

/* A directory over an existing one keeps its contents (and xattrs) and takes the new metadata. */
static int unpack_dir(Unpack *u, struct archive_entry *e, const Meta *m, int parent_fd, const char *base,
                      const char *path, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!*base) {
                r = set_attrs_fd(u->root_fd, e, m, err);
                if (r < 0)
                        return r;
                dir_time_add(u, "", m);
                return 0;
        }
        if (mkdirat(parent_fd, base, 0700) < 0) {
                struct stat st;

                if (errno != EEXIST)
                        return error_set(err, errno, "mkdir");
                if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_set(err, errno, "stat");
                if (!S_ISDIR(st.st_mode)) {
                        r = remove_existing(parent_fd, base, err);
                        if (r < 0)
                                return r;
                        if (mkdirat(parent_fd, base, 0700) < 0)
                                return error_set(err, errno, "mkdir");
                }
        }
        fd = openat(parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open");
        r = set_attrs_fd(fd, e, m, err);
        if (r < 0)
                return r;
        /* Its mtime last: every entry made inside it changes it. */
        dir_time_add(u, path, m);
        return 0;
}

static int unpack_symlink(struct archive_entry *e, const Meta *m, int parent_fd, const char *base,
                          Error **err)
{
        /* Any target is allowed: a symlink is data here and is never followed while unpacking. */
        const char *target = archive_entry_symlink(e);
        int r;

        if (!target || !*target)
                return error_setf(err, EINVAL, "symlink without a target");
        if (symlinkat(target, parent_fd, base) < 0) {
                if (errno != EEXIST)
                        return error_set(err, errno, "symlink");
                r = remove_existing(parent_fd, base, err);
                if (r < 0)
                        return r;
                if (symlinkat(target, parent_fd, base) < 0)
                        return error_set(err, errno, "symlink");
        }
        return set_attrs_at(parent_fd, base, true, e, m, err);
}

/* A character or block device or a fifo (type is S_IFCHR, S_IFBLK or S_IFIFO). */
static int make_node(int parent_fd, const char *base, mode_t type, dev_t rdev, Error **err)
{
        int r;

        if (mknodat(parent_fd, base, type | 0600, rdev) == 0)
                return 0;
        if (errno != EEXIST)
                return error_set(err, errno, "mknod");
        r = remove_existing(parent_fd, base, err);
        if (r < 0)
                return r;
        if (mknodat(parent_fd, base, type | 0600, rdev) < 0)
                return error_set(err, errno, "mknod");
        return 0;
}

static int unpack_node(struct archive_entry *e, const Meta *m, int parent_fd, const char *base, Error **err)
{
        mode_t type = archive_entry_filetype(e);
        dev_t rdev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        mode_t node_type = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
        int r = make_node(parent_fd, base, node_type, rdev, err);

        if (r < 0)
                return r;
        return set_attrs_at(parent_fd, base, false, e, m, err);
}

/*
 * A hardlink to an entry made before, resolved beneath the root without following any symlink. Its
 * metadata is the target's; pax allows a hardlink to carry data, which then replaces the content.
 */
static int unpack_hardlink(Unpack *u, struct archive_entry *e, int parent_fd, const char *base, Error **err)
{
        const char *raw_target = archive_entry_hardlink(e);
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int target_fd = -EBADF;
        char proc_path[FD_PATH_MAX];
        struct stat st, existing;
        int r;

        if (clean_path(raw_target, &target) < 0 || !*target)
                return error_setf(err, EPERM, "hardlink target '%s' escapes the layer", raw_target);
        target_fd = openat_beneath(u->root_fd, target, O_PATH | O_NOFOLLOW);
        if (target_fd == -ELOOP || target_fd == -EXDEV)
                return error_setf(err, EPERM, "hardlink target '%s' goes through a symlink", raw_target);
        if (target_fd < 0)
                return error_set(err, target_fd, "hardlink target '%s'", raw_target);
        if (fstat(target_fd, &st) < 0)
                return error_set(err, errno, "stat hardlink target '%s'", raw_target);
        if (S_ISDIR(st.st_mode))
                return error_setf(err, EPERM, "hardlink target '%s' is a directory", raw_target);
        /* A link to itself (or a repeated link) is already there; removing it first would lose it. */
        if (fstatat(parent_fd, base, &existing, AT_SYMLINK_NOFOLLOW) == 0 && existing.st_dev == st.st_dev &&
            existing.st_ino == st.st_ino)
                return 0;
        r = remove_existing(parent_fd, base, err);
        if (r < 0)
                return r;
        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc form does not. */
        if (linkat(target_fd, "", parent_fd, base, AT_EMPTY_PATH) < 0 &&
            (errno != ENOENT ||
             linkat(AT_FDCWD, fd_path(target_fd, proc_path), parent_fd, base, AT_SYMLINK_FOLLOW) < 0))
                return error_set(err, errno, "hardlink to '%s'", raw_target);
        if (S_ISREG(st.st_mode) && archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
                _cleanup_close_ int fd = openat(parent_fd, base, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return error_set(err, errno, "open");
                return write_content(u, fd, e, err);
        }
        return 0;
}

/* ".wh.NAME" hides NAME of the layers below: overlayfs spells that as a 0:0 character device. */
static int unpack_whiteout(const Meta *m, int parent_fd, const char *base, Error **err)
{
        const char *hidden = base + strlen(WHITEOUT_PREFIX);
        int r;

        if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
                /* The directory hides everything below it in lower layers, but keeps its own content. */
                if (fsetxattr(parent_fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                        return error_set(err, errno, "set xattr '%s'", OVERLAY_OPAQUE_XATTR);
                return 0;
        }
        if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0) {
                log_debug("layer: whiteout metadata '%s' ignored", base);
                return 0;
        }
        if (!*hidden || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
                return error_setf(err, EPERM, "whiteout of '%s' escapes the layer", hidden);
        r = make_node(parent_fd, hidden, S_IFCHR, makedev(0, 0), err);
        if (r < 0)
                return r;
        if (fchmodat(parent_fd, hidden, 0, 0) < 0 ||
            fchownat(parent_fd, hidden, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "whiteout '%s'", hidden);
        return 0;
}

/* Makes one entry whose name is already clean; errors are wrapped by the caller with its name. */
static int unpack_clean_entry(Unpack *u, struct archive_entry *e, const char *path, Error **err)
{
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
        mode_t type = archive_entry_filetype(e);
        int parent_fd = -EBADF, r;
        Meta m;

        r = entry_meta(e, &m, err);
        if (r < 0)
                return r;
        if (!*path) {
                if (type != AE_IFDIR || archive_entry_hardlink(e))
                        return error_setf(err, EINVAL, "the layer's root can only be a directory");
                return unpack_dir(u, e, &m, u->root_fd, "", "", err);
        }
        dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
        r = open_parent(u, dir, &parent_fd, err);
        if (r < 0)
                return r;
        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return unpack_whiteout(&m, parent_fd, base, err);
        if (archive_entry_hardlink(e))
                return unpack_hardlink(u, e, parent_fd, base, err);
        switch (type) {
        case AE_IFREG:
                return unpack_file(u, e, &m, parent_fd, base, err);
        case AE_IFDIR:
                return unpack_dir(u, e, &m, parent_fd, base, path, err);
        case AE_IFLNK:
                return unpack_symlink(e, &m, parent_fd, base, err);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return unpack_node(e, &m, parent_fd, base, err);
        default:
                return error_setf(err, EINVAL, "unsupported file type 0%o", (unsigned)type);
        }
}

static int unpack_entry(Unpack *u, struct archive_entry *e, Error **err)
{
        const char *name = archive_entry_pathname(e);
        _cleanup_free_ char *path = NULL;

        if (!name)
                return error_setf(err, EINVAL, "layer entry without a name");
        if (clean_path(name, &path) < 0)
                return error_setf(err, EPERM, "layer entry '%s': path escapes the layer", name);
        return error_wrap(err, unpack_clean_entry(u, e, path, err), "layer entry '%s'", name);
}

/* Sets the directories' times, now that nothing more is made inside them. */
static int apply_dir_times(Unpack *u, Error **err)
{
        /* In entry order: a directory listed twice takes its last times. */
        for (size_t i = 0; i < u->n_dirs; i++) {
                DirTime *d = &u->dirs[i];
                _cleanup_close_ int fd = -EBADF;

                if (!*d->path) {
                        if (futimens(u->root_fd, d->times) < 0)
                                return error_set(err, errno, "layer root: set times");
                        continue;
                }
                fd = openat_beneath(u->root_fd, d->path, O_RDONLY | O_DIRECTORY);
                /* Replaced by a later entry (a file, a symlink) or removed by a whiteout. */
                if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
                        continue;
                if (fd < 0)
                        return error_set(err, fd, "layer directory '%s'", d->path);
                if (futimens(fd, d->times) < 0)
                        return error_set(err, errno, "layer directory '%s': set times", d->path);
        }
        return 0;
}

/* Unpacks everything from u->in_fd into u->root_fd and checks the diff_id; *ret_diff_id gets it. */
static int unpack_all(Unpack *u, const char *expected_diff_id, char **ret_diff_id, Error **err)
{
        _cleanup_free_ char *diff_id = NULL;
        int r;

        r = stream_open(u, err);
        if (r < 0)
                return error_wrap(err, r, "layer");
        for (;;) {
                struct archive_entry *e;

                r = archive_read_next_header(u->tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                /* ARCHIVE_WARN: e.g. a pax name that is not valid in the locale, kept as raw bytes. */
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return error_wrap(err, stream_error(u, err), "layer");
                if (r == ARCHIVE_WARN)
                        log_debug("layer: %s", archive_error_string(u->tar));
                r = unpack_entry(u, e, err);
                if (r < 0)
                        return r;
        }
        r = stream_drain(u, err);
        if (r < 0)
                return error_wrap(err, r, "layer");
        diff_id = digest_finish(u->digest);
        if (expected_diff_id && strcmp(diff_id, expected_diff_id) != 0)
                return error_setf(err, EBADMSG, "layer: diff_id %s, expected %s", diff_id, expected_diff_id);
        r = apply_dir_times(u, err);
        if (r < 0)
                return r;
        *ret_diff_id = TAKE_PTR(diff_id);
        return 0;
}

#define TEMP_PREFIX ".tmp-"

/* Opens and locks layers_dirfd/tmp; -ESTALE if a stale-temporary sweep removed it before the lock. */
static int lock_temp_dir(int layers_dirfd, const char *tmp, Error **err)
{
        _cleanup_close_ int fd = openat(layers_dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st, now;

        if (fd < 0 && errno == ENOENT)
                return -ESTALE;
        if (fd < 0)
                return error_set(err, errno, "open layer directory '%s'", tmp);
        /* Held until the directory is renamed or removed: img_layer_remove_stale() leaves it alone. */
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return error_set(err, errno, "lock layer directory '%s'", tmp);
        /* Between mkdirat() and flock() a sweep may have taken the lock first and removed it. */
        if (fstat(fd, &st) < 0)
                return error_set(err, errno, "stat layer directory '%s'", tmp);
        if (fstatat(layers_dirfd, tmp, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_ino != st.st_ino ||
            now.st_dev != st.st_dev)
                return -ESTALE;
        /* Made 0700 so that nothing is visible before the lock; the layer's root defaults to 0755. */
        if (fchmod(fd, 0755) < 0)
                return error_set(err, errno, "chmod layer directory '%s'", tmp);
        return TAKE_FD(fd);
}

/* Makes layers_dirfd/.tmp-<name>-XXXXXX, locked; *ret gets its name, *ret_fd an fd of it. */
static int make_temp_dir(int layers_dirfd, const char *name, char **ret, int *ret_fd, Error **err)
{
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

        for (int attempt = 0; attempt < 100; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                unsigned char rnd[6];
                char suffix[sizeof(rnd) + 1];
                int fd;

                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return error_set(err, errno, "getrandom");
                for (size_t i = 0; i < sizeof(rnd); i++)
                        suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
                suffix[sizeof(rnd)] = 0;
                tmp = xasprintf(TEMP_PREFIX "%s-%s", name, suffix);
                if (mkdirat(layers_dirfd, tmp, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return error_set(err, errno, "make layer directory '%s'", tmp);
                }
                fd = lock_temp_dir(layers_dirfd, tmp, err);
                if (fd == -ESTALE)
                        continue;
                if (fd < 0) {
                        unlinkat(layers_dirfd, tmp, AT_REMOVEDIR);
                        return fd;
                }
                *ret = TAKE_PTR(tmp);
                *ret_fd = fd;
                return 0;
        }
        return error_setf(err, EEXIST, "make layer directory for '%s': no free temporary name", name);
}

static void remove_temp_dir(int layers_dirfd, const char *tmp)
{
        _cleanup_error_ Error *e = NULL;

        if (rm_rf_at(layers_dirfd, tmp, &e) < 0)
                log_warn("remove '%s': %s, ignoring", tmp, error_message(e, -EIO));
}

/* One path component, not starting with '.': those names are the temporaries'. */
static bool layer_name_is_valid(const char *name)
{
        return name && name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) <= NAME_MAX - 16;
}

/* Unpacks into a fresh temporary directory and renames it to name; nothing is left on failure. */
static int unpack_new(int fd, int layers_dirfd, const char *name, const char *expected_diff_id,
                      ImgLayerInfo *ret, Error **err)
{
        _cleanup_free_ char *tmp = NULL, *diff_id = NULL;
        Unpack u = { .in_fd = fd, .root_fd = -EBADF, .parent_fd = -EBADF };
        int r;

        r = make_temp_dir(layers_dirfd, name, &tmp, &u.root_fd, err);
        if (r < 0)
                return r;
        u.in_buf = xmalloc(READ_BLOCK);
        u.digest = digest_new();
        r = unpack_all(&u, expected_diff_id, &diff_id, err);
        if (r < 0)
                goto fail;
        /* Once renamed, the directory is complete even after a crash: its content reaches the disk
         * first. One syncfs() costs far less than an fsync() per file. */
        if (syncfs(u.root_fd) < 0) {
                r = error_set(err, errno, "sync layer directory '%s'", tmp);
                goto fail;
        }
        if (renameat2(layers_dirfd, tmp, layers_dirfd, name, RENAME_NOREPLACE) < 0) {
                /* EEXIST: a concurrent unpacker of the same layer was first; its copy is as good. */
                if (errno != EEXIST) {
                        r = error_set(err, errno, "rename layer directory to '%s'", name);
                        goto fail;
                }
                log_debug("layer '%s': unpacked concurrently, dropping this copy", name);
                remove_temp_dir(layers_dirfd, tmp);
        }
        if (ret)
                *ret = (ImgLayerInfo){ .diff_id = TAKE_PTR(diff_id), .size = u.size };
        unpack_done(&u);
        return 0;
fail:
        /* Removed while still locked, so that a sweep does not race this removal. */
        remove_temp_dir(layers_dirfd, tmp);
        unpack_done(&u);
        return r;
}

int img_layer_unpack(int fd, int layers_dirfd, const char *name, const char *expected_diff_id,
                     ImgLayerInfo *ret, Error **err)
{
        locale_t c_locale, saved = (locale_t)0;
        struct stat st;
        int r;

        if (!layer_name_is_valid(name))
                return error_setf(err, EINVAL, "layer name '%s': not one path component, or starts with '.'",
                                  name ? name : "");
        if (expected_diff_id) {
                r = digest_check(expected_diff_id, err);
                if (r < 0)
                        return r;
        }
        if (fstatat(layers_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (ret)
                        *ret = (ImgLayerInfo){ .diff_id = expected_diff_id ? xstrdup(expected_diff_id) : NULL,
                                               .is_present = true };
                return 0;
        }
        if (errno != ENOENT)
                return error_set(err, errno, "layer '%s'", name);
        /* In a UTF-8 locale libarchive rewrites pax names into NFC; in "C" it keeps their bytes. The
         * locale is switched for this thread only. */
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (c_locale)
                saved = uselocale(c_locale);
        r = unpack_new(fd, layers_dirfd, name, expected_diff_id, ret, err);
        if (c_locale) {
                uselocale(saved);
                freelocale(c_locale);
        }
        return r;
}

void img_layer_info_done(ImgLayerInfo *i)
{
        if (!i)
                return;
        free(i->diff_id);
        *i = (ImgLayerInfo){};
}

int img_layer_remove_stale(int layers_dirfd, Error **err)
{
        _cleanup_close_ int fd = openat(layers_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;
        int n = 0, r = 0;

        if (fd < 0)
                return error_set(err, errno, "open layers directory");
        d = fdopendir(fd);
        if (!d)
                return error_set(err, errno, "open layers directory");
        fd = -EBADF; /* owned by d now */
        while ((de = readdir(d))) {
                _cleanup_close_ int tmp_fd = -EBADF;

                if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
                        continue;
                tmp_fd = openat(layers_dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                /* Gone already, or locked: an unpacker is at work in it. */
                if (tmp_fd < 0 || flock(tmp_fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                r = rm_rf_at(layers_dirfd, de->d_name, err);
                if (r < 0)
                        break;
                n++;
        }
        closedir(d);
        return r < 0 ? r : n;
}
