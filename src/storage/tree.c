/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree.c: copies of whole directory trees, locally or as a stream, with owners, xattrs, links and holes */
/*
 * One walk of the source serves both: each entry is either made at once in the destination (a copy)
 * or encoded on a stream, and the receiving side decodes the stream into the same calls that make
 * entries (Dst below). Directories get their owner, mode, xattrs and times once their contents are
 * in, so a read-only directory can be filled and its mtime stays.
 *
 * The stream: the magic "HULLTREE1\n", then records, each a type byte:
 *   'D' dir, 'F' regular file, 'S' symlink, 'N' device node or fifo: u16 name length, the name (empty
 *       for the root only, which comes first), then the metadata: u32 mode, uid, gid, u64 rdev,
 *       i64 atime s, u32 atime ns, i64 mtime s, u32 mtime ns, u32 xattr length and the xattrs
 *       (repeated u32 name length, name, u32 value length, value);
 *       'F' then u64 size and segments (u64 offset, u64 length, the bytes) until one of length 0;
 *       'S' then u32 target length and the target;
 *   'L' a hard link: u16 name length, name, u16 path length and the path (from the root) of the
 *       file it links to, sent before;
 *   'E' the end of the current directory; 'Z' the end of the stream.
 * Integers are little-endian.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "copy.h"
#include "tree.h"

#define MAGIC "HULLTREE1\n"
#define MAX_DEPTH 256
#define MAX_XATTRS_LEN (1 << 20)
#define MAX_NAME 255
#define MAX_LINK_PATH 4096
#define MAX_FILE_SIZE (INT64_C(1) << 50)
#define CHUNK (1 << 20)

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

typedef struct Meta {
        uint32_t mode, uid, gid;
        uint64_t rdev;
        struct timespec atime, mtime;
        char *xattrs; /* the stream's encoding */
        uint32_t xattrs_len;
} Meta;

static void meta_done(Meta *m)
{
        m->xattrs = mfree(m->xattrs);
        m->xattrs_len = 0;
}

/* "/proc/self/fd/DIRFD/NAME": the xattr calls have no *at() form. */
static char *at_path(int dirfd, const char *name)
{
        return *name ? xasprintf("/proc/self/fd/%d/%s", dirfd, name) : xasprintf("/proc/self/fd/%d", dirfd);
}

static void put(char **buf, size_t *len, const void *p, size_t n)
{
        if (n == 0)
                return; /* p may be NULL then */
        *buf = xrealloc(*buf, *len + n);
        memcpy(*buf + *len, p, n);
        *len += n;
}

static void put_u32(char **buf, size_t *len, uint32_t v)
{
        uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };
        put(buf, len, b, 4);
}

static void put_u64(char **buf, size_t *len, uint64_t v)
{
        put_u32(buf, len, (uint32_t)v);
        put_u32(buf, len, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const uint8_t *b)
{
        return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(const uint8_t *b)
{
        return get_u32(b) | (uint64_t)get_u32(b + 4) << 32;
}

/* The xattrs of dirfd/name (not followed), encoded. */
static int read_xattrs(int dirfd, const char *name, Meta *m, Error **err)
{
        _cleanup_free_ char *path = at_path(dirfd, name), *names = NULL, *out = NULL;
        size_t len = 0;
        ssize_t n;

        n = llistxattr(path, NULL, 0);
        if (n < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP))
                return 0;
        if (n < 0)
                return error_set(err, errno, "list xattrs of '%s'", name);
        names = xmalloc((size_t)n + 1);
        n = llistxattr(path, names, (size_t)n);
        if (n < 0)
                return error_set(err, errno, "list xattrs of '%s'", name);
        for (char *x = names; x < names + n; x += strlen(x) + 1) {
                _cleanup_free_ char *val = NULL;
                ssize_t vn = lgetxattr(path, x, NULL, 0);
                if (vn < 0 && errno == ENODATA)
                        continue;
                if (vn < 0)
                        return error_set(err, errno, "xattr '%s' of '%s'", x, name);
                val = xmalloc((size_t)vn + 1);
                vn = lgetxattr(path, x, val, (size_t)vn);
                if (vn < 0)
                        return error_set(err, errno, "xattr '%s' of '%s'", x, name);
                put_u32(&out, &len, (uint32_t)strlen(x));
                put(&out, &len, x, strlen(x));
                put_u32(&out, &len, (uint32_t)vn);
                put(&out, &len, val, (size_t)vn);
        }
        if (len > MAX_XATTRS_LEN)
                return error_setf(err, E2BIG, "xattrs of '%s': more than %d bytes", name, MAX_XATTRS_LEN);
        m->xattrs = TAKE_PTR(out);
        m->xattrs_len = (uint32_t)len;
        return 0;
}

/* Sets the encoded xattrs on dirfd/name; EBADMSG for a malformed encoding. */
static int apply_xattrs(int dirfd, const char *name, const Meta *m, Error **err)
{
        _cleanup_free_ char *path = NULL;
        const uint8_t *p = (const uint8_t *)m->xattrs, *end = p + m->xattrs_len;

        if (m->xattrs_len == 0)
                return 0;
        path = at_path(dirfd, name);
        while (p < end) {
                char key[XATTR_NAME_MAX + 1];
                uint32_t kn, vn;
                if (end - p < 4 || (kn = get_u32(p)) == 0 || kn > XATTR_NAME_MAX || (size_t)(end - p - 4) < kn + 4)
                        return error_setf(err, EBADMSG, "xattrs of '%s': malformed", name);
                memcpy(key, p + 4, kn);
                key[kn] = '\0';
                p += 4 + kn;
                vn = get_u32(p);
                p += 4;
                if (strlen(key) != kn || (size_t)(end - p) < vn)
                        return error_setf(err, EBADMSG, "xattrs of '%s': malformed", name);
                if (lsetxattr(path, key, p, vn, 0) < 0)
                        return error_set(err, errno, "set xattr '%s' on '%s'", key, name);
                p += vn;
        }
        return 0;
}

/* Owner, xattrs, mode and times, in the order that keeps each: chown clears set-id bits and file
 * capabilities, so it goes first. */
static int apply_meta(int dirfd, const char *name, const Meta *m, Error **err)
{
        struct timespec ts[2] = { m->atime, m->mtime };
        const char *n = *name ? name : ".";
        bool is_link = S_ISLNK(m->mode);

        int r;

        if (fchownat(dirfd, n, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "chown '%s'", n);
        r = apply_xattrs(dirfd, name, m, err);
        if (r < 0)
                return r;
        if (!is_link && fchmodat(dirfd, n, m->mode & 07777, 0) < 0)
                return error_set(err, errno, "chmod '%s'", n);
        if (utimensat(dirfd, n, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "set times of '%s'", n);
        return 0;
}

/* The destination being made: a stack of open directories, each with the metadata it gets at its end. */
typedef struct Dst {
        int fds[MAX_DEPTH + 1];
        Meta metas[MAX_DEPTH + 1];
        char *names[MAX_DEPTH + 1];
        int depth; /* -1: nothing made yet */
        bool is_untrusted;
} Dst;

static void dst_done(Dst *d)
{
        for (; d->depth >= 0; d->depth--) {
                safe_close(d->fds[d->depth]);
                meta_done(&d->metas[d->depth]);
                free(d->names[d->depth]);
        }
}

static int dst_cur(const Dst *d)
{
        return d->fds[d->depth];
}

/* The root (path, made) or a directory in the current one; takes over m. */
static int dst_dir_begin(Dst *d, const char *root, const char *name, Meta *m, Error **err)
{
        int parent = d->depth < 0 ? AT_FDCWD : dst_cur(d), fd;
        const char *n = d->depth < 0 ? root : name;

        if (d->depth >= MAX_DEPTH)
                return error_setf(err, EBADMSG, "'%s': directories nested deeper than %d", name, MAX_DEPTH);
        if (mkdirat(parent, n, 0700) < 0)
                return error_set(err, errno, "mkdir '%s'", n);
        fd = openat(parent, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", n);
        d->depth++;
        d->fds[d->depth] = fd;
        d->metas[d->depth] = *m;
        d->names[d->depth] = xstrdup(d->depth == 0 ? "" : name);
        *m = (Meta){};
        return 0;
}

/* The current directory is complete: its metadata, then back to its parent. */
static int dst_dir_end(Dst *d, Error **err)
{
        int r, fd = d->fds[d->depth];

        /* Its own entry, seen from the parent (the root through its own fd). */
        if (d->depth == 0)
                r = apply_meta(fd, "", &d->metas[0], err);
        else
                r = apply_meta(d->fds[d->depth - 1], d->names[d->depth], &d->metas[d->depth], err);
        safe_close(fd);
        meta_done(&d->metas[d->depth]);
        free(d->names[d->depth]);
        d->depth--;
        return r;
}

static int check_name(const char *name, Error **err)
{
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
                return error_setf(err, EBADMSG, "bad entry name '%s'", name);
        return 0;
}

/* A hard link named name to root/path, a file made before (resolved beneath the root, no symlinks). */
static int dst_link(Dst *d, const char *name, const char *path, Error **err)
{
        _cleanup_free_ char *dir = xstrdup(path);
        _cleanup_close_ int pfd = -EBADF;
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };

        if (slash)
                *slash = '\0';
        if (check_name(base, err) < 0)
                return error_wrap(err, -EBADMSG, "hard link '%s'", name);
        pfd = (int)syscall(SYS_openat2, d->fds[0], slash ? dir : ".", &how, sizeof(how));
        if (pfd < 0)
                return error_set(err, errno == EXDEV || errno == ELOOP ? EBADMSG : errno, "hard link '%s' to '%s'",
                                 name, path);
        if (linkat(pfd, base, dst_cur(d), name, 0) < 0)
                return error_set(err, errno == EPERM ? EBADMSG : errno, "hard link '%s' to '%s'", name, path);
        return 0;
}

static int dst_symlink(Dst *d, const char *name, const char *target, const Meta *m, Error **err)
{
        if (symlinkat(target, dst_cur(d), name) < 0)
                return error_set(err, errno, "symlink '%s'", name);
        return apply_meta(dst_cur(d), name, m, err);
}

static int dst_node(Dst *d, const char *name, const Meta *m, Error **err)
{
        bool is_whiteout = S_ISCHR(m->mode) && m->rdev == makedev(0, 0);

        /* From a stream, fifos and overlay whiteouts only: no device of the receiving host. */
        if (d->is_untrusted && !is_whiteout && !S_ISFIFO(m->mode))
                return error_setf(err, EBADMSG, "'%s': device nodes other than whiteouts are refused", name);
        if (!S_ISCHR(m->mode) && !S_ISBLK(m->mode) && !S_ISFIFO(m->mode))
                return error_setf(err, EBADMSG, "'%s': unknown file type", name);
        if (mknodat(dst_cur(d), name, (m->mode & S_IFMT) | 0600, (dev_t)m->rdev) < 0)
                return error_set(err, errno, "mknod '%s'", name);
        return apply_meta(dst_cur(d), name, m, err);
}

typedef struct CopyPair {
        int in, out;
} CopyPair;

static int copy_segment(void *u, off_t off, off_t end)
{
        CopyPair *p = u;
        return stor_copy_range(p->in, p->out, off, end);
}

/* A new file name in the current directory, open for writing. */
static int dst_create(Dst *d, const char *name, Error **err)
{
        int fd = openat(dst_cur(d), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        return fd < 0 ? error_set(err, errno, "create '%s'", name) : fd;
}

/* What walks the source: the destination (a copy) or the stream (a send), and the hard links met. */
typedef struct Link {
        dev_t dev;
        ino_t ino;
        char *path;
} Link;

typedef struct Walk {
        Dst dst;          /* a copy */
        int out_fd;       /* a send: >= 0 */
        char *buf;        /* a send: what is not written yet */
        size_t len;
        Link *links;
        size_t n_links;
        char path[MAX_LINK_PATH]; /* of the current directory, from the root */
} Walk;

static int flush(Walk *w, Error **err)
{
        if (w->len && fd_write_all(w->out_fd, w->buf, w->len) < 0)
                return error_set(err, errno, "send");
        w->len = 0;
        return 0;
}

static int maybe_flush(Walk *w, Error **err)
{
        return w->len >= CHUNK ? flush(w, err) : 0;
}

static void put_name(Walk *w, char type, const char *name)
{
        uint16_t n = (uint16_t)strlen(name);
        uint8_t b[2] = { n, n >> 8 };

        put(&w->buf, &w->len, &type, 1);
        put(&w->buf, &w->len, b, 2);
        put(&w->buf, &w->len, name, n);
}

static void put_meta(Walk *w, const Meta *m)
{
        put_u32(&w->buf, &w->len, m->mode);
        put_u32(&w->buf, &w->len, m->uid);
        put_u32(&w->buf, &w->len, m->gid);
        put_u64(&w->buf, &w->len, m->rdev);
        put_u64(&w->buf, &w->len, (uint64_t)m->atime.tv_sec);
        put_u32(&w->buf, &w->len, (uint32_t)m->atime.tv_nsec);
        put_u64(&w->buf, &w->len, (uint64_t)m->mtime.tv_sec);
        put_u32(&w->buf, &w->len, (uint32_t)m->mtime.tv_nsec);
        put_u32(&w->buf, &w->len, m->xattrs_len);
        put(&w->buf, &w->len, m->xattrs, m->xattrs_len);
}

typedef struct SendFile {
        Walk *w;
        int in;
        int error; /* a failed send (its error is set) */
        Error **err;
} SendFile;

static int send_file_segment(void *u, off_t off, off_t end)
{
        SendFile *s = u;
        Walk *w = s->w;

        put_u64(&w->buf, &w->len, (uint64_t)off);
        put_u64(&w->buf, &w->len, (uint64_t)(end - off));
        while (off < end) {
                size_t want = (size_t)(end - off) < CHUNK ? (size_t)(end - off) : CHUNK;
                ssize_t n;
                w->buf = xrealloc(w->buf, w->len + want);
                n = pread(s->in, w->buf + w->len, want, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -ENODATA;
                w->len += (size_t)n;
                off += n;
                s->error = maybe_flush(w, s->err);
                if (s->error < 0)
                        return s->error;
        }
        return 0;
}

static void meta_from_stat(Meta *m, const struct stat *st)
{
        m->mode = st->st_mode;
        m->uid = st->st_uid;
        m->gid = st->st_gid;
        m->rdev = st->st_rdev;
        m->atime = st->st_atim;
        m->mtime = st->st_mtim;
}

/* A regular file: reflinked or copied by segments, or sent by segments. */
static int walk_file(Walk *w, int dirfd, const char *name, Meta *m, off_t size, Error **err)
{
        _cleanup_close_ int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -EBADF;
        int r;

        if (in < 0)
                return error_set(err, errno, "open '%s'", name);
        if (w->out_fd >= 0) {
                SendFile s = { w, in, 0, err };
                put_name(w, 'F', name);
                put_meta(w, m);
                put_u64(&w->buf, &w->len, (uint64_t)size);
                r = stor_for_each_data_segment(in, size, send_file_segment, &s);
                if (s.error < 0)
                        return s.error;
                if (r < 0)
                        return error_set(err, r, "read '%s'", name);
                put_u64(&w->buf, &w->len, 0);
                put_u64(&w->buf, &w->len, 0);
                return maybe_flush(w, err);
        }
        out = dst_create(&w->dst, name, err);
        if (out < 0)
                return out;
        /* Sharing the extents (btrfs, XFS) is instant and takes no room. */
        if (ioctl(out, FICLONE, in) < 0) {
                CopyPair p = { in, out };
                r = stor_for_each_data_segment(in, size, copy_segment, &p);
                if (r >= 0 && ftruncate(out, size) < 0)
                        r = -errno;
                if (r < 0)
                        return error_set(err, r, "copy '%s'", name);
        }
        out = safe_close(out);
        return apply_meta(dst_cur(&w->dst), name, m, err);
}

/* The entry name of dirfd, already stat'ed as st. */
static int walk_entry(Walk *w, int dirfd, const char *name, const struct stat *st, Error **err);

static int walk_dir(Walk *w, int fd, Error **err)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3), r;

        if (dfd < 0)
                return error_set(err, errno, "dup");
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return error_set(err, errno, "read directory");
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_set(err, errno, "stat '%s'", de->d_name);
                r = walk_entry(w, fd, de->d_name, &st, err);
                if (r < 0)
                        return r;
        }
        if (errno)
                return error_set(err, errno, "read directory");
        return 0;
}

static int walk_entry(Walk *w, int dirfd, const char *name, const struct stat *st, Error **err)
{
        _cleanup_(meta_done) Meta m = {};
        size_t plen = strlen(w->path);
        int r;

        if (S_ISSOCK(st->st_mode))
                return 0; /* a socket is nothing without its process */
        if (plen + 1 + strlen(name) + 1 > sizeof(w->path))
                return error_setf(err, ENAMETOOLONG, "'%s/%s': path too long", w->path, name);
        meta_from_stat(&m, st);
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
                for (size_t i = 0; i < w->n_links; i++)
                        if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino) {
                                if (w->out_fd < 0)
                                        return dst_link(&w->dst, name, w->links[i].path, err);
                                put_name(w, 'L', name);
                                uint16_t n = (uint16_t)strlen(w->links[i].path);
                                uint8_t b[2] = { n, n >> 8 };
                                put(&w->buf, &w->len, b, 2);
                                put(&w->buf, &w->len, w->links[i].path, n);
                                return maybe_flush(w, err);
                        }
                w->links = xrealloc(w->links, (w->n_links + 1) * sizeof(Link));
                w->links[w->n_links++] =
                        (Link){ st->st_dev, st->st_ino, plen ? xasprintf("%s/%s", w->path, name) : xstrdup(name) };
        }
        r = read_xattrs(dirfd, name, &m, err);
        if (r < 0)
                return r;
        if (S_ISDIR(st->st_mode)) {
                _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", name);
                if (w->out_fd >= 0) {
                        put_name(w, 'D', name);
                        put_meta(w, &m);
                } else {
                        r = dst_dir_begin(&w->dst, NULL, name, &m, err);
                        if (r < 0)
                                return r;
                }
                snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "/" : "", name);
                r = walk_dir(w, fd, err);
                w->path[plen] = '\0';
                if (r < 0)
                        return r;
                if (w->out_fd >= 0) {
                        put(&w->buf, &w->len, "E", 1);
                        return maybe_flush(w, err);
                }
                return dst_dir_end(&w->dst, err);
        }
        if (S_ISREG(st->st_mode))
                return walk_file(w, dirfd, name, &m, st->st_size, err);
        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return error_set(err, errno, "readlink '%s'", name);
                target[n] = '\0';
                if (w->out_fd < 0)
                        return dst_symlink(&w->dst, name, target, &m, err);
                put_name(w, 'S', name);
                put_meta(w, &m);
                put_u32(&w->buf, &w->len, (uint32_t)n);
                put(&w->buf, &w->len, target, (size_t)n);
                return maybe_flush(w, err);
        }
        if (w->out_fd < 0)
                return dst_node(&w->dst, name, &m, err);
        put_name(w, 'N', name);
        put_meta(w, &m);
        return maybe_flush(w, err);
}

static void walk_done(Walk *w)
{
        dst_done(&w->dst);
        for (size_t i = 0; i < w->n_links; i++)
                free(w->links[i].path);
        free(w->links);
        free(w->buf);
}

/* Opens the root of the source tree and reads its metadata. */
static int open_root(const char *src, int *ret_fd, Meta *m, Error **err)
{
        _cleanup_close_ int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0)
                return error_set(err, errno, "open '%s'", src);
        meta_from_stat(m, &st);
        r = read_xattrs(fd, "", m, err);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int stor_tree_copy(const char *src, const char *dst, Error **err)
{
        _cleanup_(walk_done) Walk w = { .dst.depth = -1, .out_fd = -1 };
        _cleanup_(meta_done) Meta m = {};
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-copy", dst);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (access(dst, F_OK) == 0)
                return error_setf(err, EEXIST, "copy to '%s': it exists", dst);
        r = open_root(src, &fd, &m, err);
        if (r < 0)
                return r;
        rm_rf_at(AT_FDCWD, tmp, NULL);
        r = dst_dir_begin(&w.dst, tmp, NULL, &m, err);
        if (r >= 0)
                r = walk_dir(&w, fd, err);
        if (r >= 0)
                r = dst_dir_end(&w.dst, err);
        if (r >= 0 && rename(tmp, dst) < 0)
                r = error_set(err, errno, "rename '%s'", tmp);
        if (r < 0) {
                dst_done(&w.dst);
                rm_rf_at(AT_FDCWD, tmp, NULL);
                return error_wrap(err, r, "copy '%s'", src);
        }
        return 0;
}

int stor_tree_send(const char *src, int fd, Error **err)
{
        _cleanup_(walk_done) Walk w = { .dst.depth = -1, .out_fd = fd };
        _cleanup_(meta_done) Meta m = {};
        _cleanup_close_ int root = -EBADF;
        int r;

        r = open_root(src, &root, &m, err);
        if (r < 0)
                return r;
        put(&w.buf, &w.len, MAGIC, strlen(MAGIC));
        put_name(&w, 'D', "");
        put_meta(&w, &m);
        r = walk_dir(&w, root, err);
        if (r >= 0) {
                put(&w.buf, &w.len, "EZ", 2);
                r = flush(&w, err);
        }
        return r < 0 ? error_wrap(err, r, "send '%s'", src) : 0;
}

/* Reads exactly n bytes: the stream's end is not read past. */
static int read_exact(int fd, void *buf, size_t n, Error **err)
{
        size_t done = 0;

        while (done < n) {
                ssize_t k = read(fd, (char *)buf + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return error_set(err, errno, "read");
                if (k == 0)
                        return error_setf(err, EBADMSG, "the stream ended early");
                done += (size_t)k;
        }
        return 0;
}

static int read_u16(int fd, uint32_t *ret, Error **err)
{
        uint8_t b[2];
        int r = read_exact(fd, b, 2, err);

        *ret = (uint32_t)b[0] | (uint32_t)b[1] << 8;
        return r;
}

static int read_u32(int fd, uint32_t *ret, Error **err)
{
        uint8_t b[4];
        int r = read_exact(fd, b, 4, err);

        *ret = get_u32(b);
        return r;
}

static int read_u64(int fd, uint64_t *ret, Error **err)
{
        uint8_t b[8];
        int r = read_exact(fd, b, 8, err);

        *ret = get_u64(b);
        return r;
}

/* A length-prefixed string of at most max bytes, with no NUL in it. */
static int read_str(int fd, bool is_u16, uint32_t max, char **ret, Error **err)
{
        _cleanup_free_ char *s = NULL;
        uint32_t n;
        int r = is_u16 ? read_u16(fd, &n, err) : read_u32(fd, &n, err);

        if (r < 0)
                return r;
        if (n > max)
                return error_setf(err, EBADMSG, "a name of %u bytes", n);
        s = xmalloc(n + 1);
        r = read_exact(fd, s, n, err);
        if (r < 0)
                return r;
        s[n] = '\0';
        if (strlen(s) != n)
                return error_setf(err, EBADMSG, "a name with a NUL byte");
        *ret = TAKE_PTR(s);
        return 0;
}

static int read_meta(int fd, Meta *m, Error **err)
{
        uint8_t b[48];
        int r = read_exact(fd, b, sizeof(b), err);

        if (r < 0)
                return r;
        m->mode = get_u32(b);
        m->uid = get_u32(b + 4);
        m->gid = get_u32(b + 8);
        m->rdev = get_u64(b + 12);
        m->atime.tv_sec = (time_t)get_u64(b + 20);
        m->atime.tv_nsec = get_u32(b + 28);
        m->mtime.tv_sec = (time_t)get_u64(b + 32);
        m->mtime.tv_nsec = get_u32(b + 40);
        m->xattrs_len = get_u32(b + 44);
        if (m->atime.tv_nsec >= 1000000000 || m->mtime.tv_nsec >= 1000000000)
                return error_setf(err, EBADMSG, "bad times");
        if (m->xattrs_len > MAX_XATTRS_LEN)
                return error_setf(err, EBADMSG, "xattrs of %u bytes", m->xattrs_len);
        m->xattrs = xmalloc(m->xattrs_len + 1);
        return read_exact(fd, m->xattrs, m->xattrs_len, err);
}

/* A regular file's size and segments into out. */
static int receive_data(int fd, int out, Error **err)
{
        _cleanup_free_ char *buf = xmalloc(CHUNK);
        uint64_t size, off, len, next = 0;
        int r = read_u64(fd, &size, err);

        if (r < 0)
                return r;
        if (size > (uint64_t)MAX_FILE_SIZE)
                return error_setf(err, EBADMSG, "a file of %llu bytes", (unsigned long long)size);
        for (;;) {
                r = read_u64(fd, &off, err);
                if (r >= 0)
                        r = read_u64(fd, &len, err);
                if (r < 0)
                        return r;
                if (len == 0)
                        break;
                if (off < next || off > size || len > size - off)
                        return error_setf(err, EBADMSG, "a segment out of place");
                next = off + len;
                while (len > 0) {
                        size_t want = len < CHUNK ? (size_t)len : CHUNK;
                        r = read_exact(fd, buf, want, err);
                        if (r < 0)
                                return r;
                        if (pwrite(out, buf, want, (off_t)off) != (ssize_t)want)
                                return error_set(err, errno ? errno : EIO, "write");
                        off += want;
                        len -= want;
                }
        }
        if (ftruncate(out, (off_t)size) < 0)
                return error_set(err, errno, "truncate");
        return 0;
}

/* One record into the destination; *ret_is_end set at the stream's end record. */
static int receive_record(int fd, Dst *d, const char *dst, bool *ret_is_end, Error **err)
{
        _cleanup_(meta_done) Meta m = {};
        _cleanup_free_ char *name = NULL, *extra = NULL;
        char type;
        int r = read_exact(fd, &type, 1, err);

        if (r < 0)
                return r;
        if (type == 'Z') {
                if (d->depth >= 0)
                        return error_setf(err, EBADMSG, "the stream ended inside a directory");
                *ret_is_end = true;
                return 0;
        }
        if (d->depth < 0 && type != 'D')
                return error_setf(err, EBADMSG, "the stream does not start with its root");
        if (type == 'E')
                return dst_dir_end(d, err);
        if (!strchr("DFSNL", type))
                return error_setf(err, EBADMSG, "unknown record type 0x%02x", (unsigned char)type);
        r = read_str(fd, true, MAX_NAME, &name, err);
        if (r < 0)
                return r;
        if (d->depth < 0 ? *name != '\0' : check_name(name, err) < 0)
                return error_setf(err, EBADMSG, "bad entry name '%s'", name);
        if (type == 'L') {
                r = read_str(fd, true, MAX_LINK_PATH, &extra, err);
                return r < 0 ? r : dst_link(d, name, extra, err);
        }
        r = read_meta(fd, &m, err);
        if (r < 0)
                return r;
        switch (type) {
        case 'D':
                if (!S_ISDIR(m.mode))
                        return error_setf(err, EBADMSG, "'%s': not a directory's mode", name);
                return dst_dir_begin(d, dst, name, &m, err);
        case 'F': {
                _cleanup_close_ int out = -EBADF;
                if (!S_ISREG(m.mode))
                        return error_setf(err, EBADMSG, "'%s': not a file's mode", name);
                out = dst_create(d, name, err);
                if (out < 0)
                        return out;
                r = receive_data(fd, out, err);
                if (r < 0)
                        return error_wrap(err, r, "'%s'", name);
                return apply_meta(dst_cur(d), name, &m, err);
        }
        case 'S':
                if (!S_ISLNK(m.mode))
                        return error_setf(err, EBADMSG, "'%s': not a symlink's mode", name);
                r = read_str(fd, false, PATH_MAX - 1, &extra, err);
                return r < 0 ? r : dst_symlink(d, name, extra, &m, err);
        default:
                return dst_node(d, name, &m, err);
        }
}

int stor_tree_receive(int fd, const char *dst, Error **err)
{
        _cleanup_(dst_done) Dst d = { .depth = -1, .is_untrusted = true };
        char magic[sizeof(MAGIC) - 1];
        bool is_end = false, is_made = false;
        int r;

        if (access(dst, F_OK) == 0)
                return error_setf(err, EEXIST, "receive into '%s': it exists", dst);
        r = read_exact(fd, magic, sizeof(magic), err);
        if (r >= 0 && memcmp(magic, MAGIC, sizeof(magic)) != 0)
                r = error_setf(err, EBADMSG, "not a hull tree stream");
        while (r >= 0 && !is_end) {
                r = receive_record(fd, &d, dst, &is_end, err);
                is_made = is_made || d.depth >= 0;
        }
        if (r < 0) {
                dst_done(&d);
                if (is_made)
                        rm_rf_at(AT_FDCWD, dst, NULL);
                return error_wrap(err, r, "receive '%s'", dst);
        }
        return 0;
}

/* Adds up the blocks below dirfd, each inode with several links once. */
static int64_t size_of(int dirfd, Link **links, size_t *n_links, int depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int64_t total = 0;

        if (depth > MAX_DEPTH || !(d = fdopendir(dirfd))) {
                close(dirfd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                bool is_seen = false;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                        for (size_t i = 0; i < *n_links && !is_seen; i++)
                                is_seen = (*links)[i].dev == st.st_dev && (*links)[i].ino == st.st_ino;
                        if (is_seen)
                                continue;
                        *links = xrealloc(*links, (*n_links + 1) * sizeof(Link));
                        (*links)[(*n_links)++] = (Link){ st.st_dev, st.st_ino, NULL };
                }
                total += (int64_t)st.st_blocks * 512;
                if (S_ISDIR(st.st_mode)) {
                        int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd >= 0)
                                total += size_of(fd, links, n_links, depth + 1);
                }
        }
        return total;
}

int64_t stor_tree_size(const char *path)
{
        _cleanup_free_ Link *links = NULL;
        size_t n_links = 0;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? 0 : size_of(fd, &links, &n_links, 0);
}
