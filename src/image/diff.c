/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* diff.c: a directory of changes, or files to copy, written as a reproducible OCI layer */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <search.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "diff.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* A regular file with more than one link, by inode: later links become tar hard links to path. */
typedef struct Link {
        dev_t dev;
        ino_t ino;
        char *path;
} Link;

typedef struct Writer {
        struct archive *tar;  /* pax, written through tar_write() */
        struct archive *comp; /* raw format + the compression filter; NULL for none */
        Digest *tar_digest, *blob_digest;
        int64_t tar_size, blob_size;
        int out_fd;
        int io_error; /* a failed write(2) of out_fd, as -errno */
        bool is_discarding; /* closing after a failure: nothing more reaches out_fd */
        const ImgDiffOptions *o;
        bool is_copy; /* img_diff_write_paths: owner/mode overrides, no overlay markers */
        void *links;  /* tsearch tree of Link */
        void *dirs;   /* tsearch tree of the directory names written (write_paths) */
        struct archive_entry *entry;
} Writer;

static const ImgDiffOptions default_options = { .compression = IMG_COMPRESSION_GZIP };

void img_diff_result_done(ImgDiffResult *r)
{
        if (!r)
                return;
        r->digest = mfree(r->digest);
        r->diff_id = mfree(r->diff_id);
}

static la_ssize_t blob_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
        Writer *w = userdata;
        int r;

        if (w->is_discarding)
                return (la_ssize_t)len;
        digest_update(w->blob_digest, buf, len);
        w->blob_size += (int64_t)len;
        r = fd_write_all(w->out_fd, buf, len);
        if (r < 0) {
                w->io_error = r;
                archive_set_error(a, -r, "write the layer");
                return -1;
        }
        return (la_ssize_t)len;
}

/* The tar stream: digested for the diff_id, then compressed (or written as it is). */
static la_ssize_t tar_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
        Writer *w = userdata;
        la_ssize_t n;

        if (w->is_discarding)
                return (la_ssize_t)len;
        digest_update(w->tar_digest, buf, len);
        w->tar_size += (int64_t)len;
        if (!w->comp)
                return blob_write(a, userdata, buf, len);
        n = archive_write_data(w->comp, buf, len);
        if (n != (la_ssize_t)len) {
                archive_set_error(a, archive_errno(w->comp) ? archive_errno(w->comp) : EIO, "compress: %s",
                                  archive_error_string(w->comp) ? archive_error_string(w->comp) : "short write");
                return -1;
        }
        return (la_ssize_t)len;
}

/* The error of a failed libarchive call on a, as -errno with a message. */
static int archive_fail(Writer *w, struct archive *a, Error **err, const char *what)
{
        int code = w->io_error ? -w->io_error : archive_errno(a);
        const char *msg = archive_error_string(a);

        if (code <= 0)
                code = EIO;
        return error_setf(err, code, "%s: %s", what, msg ? msg : strerror(code));
}

static int writer_open_comp(Writer *w, Error **err)
{
        const ImgDiffOptions *o = w->o;
        struct archive_entry *e;
        char level[16];
        int r;

        if (o->compression == IMG_COMPRESSION_NONE)
                return 0;
        if (o->compression != IMG_COMPRESSION_GZIP && o->compression != IMG_COMPRESSION_ZSTD)
                return error_setf(err, EINVAL, "unknown compression %d", (int)o->compression);
        w->comp = archive_write_new();
        if (!w->comp)
                abort();
        if (o->compression == IMG_COMPRESSION_GZIP) {
                snprintf(level, sizeof(level), "%d", o->level ? o->level : IMG_DIFF_GZIP_LEVEL);
                r = archive_write_add_filter_gzip(w->comp);
                /* No time stamp in the gzip header: the same tar must give the same blob. */
                if (r == ARCHIVE_OK)
                        r = archive_write_set_filter_option(w->comp, "gzip", "timestamp", NULL);
                if (r == ARCHIVE_OK)
                        r = archive_write_set_filter_option(w->comp, "gzip", "compression-level", level);
        } else {
                snprintf(level, sizeof(level), "%d", o->level ? o->level : IMG_DIFF_ZSTD_LEVEL);
                r = archive_write_add_filter_zstd(w->comp);
                if (r == ARCHIVE_OK)
                        r = archive_write_set_filter_option(w->comp, "zstd", "compression-level", level);
        }
        /* The raw format passes one stream through; no padding of the compressed output. */
        if (r == ARCHIVE_OK)
                r = archive_write_set_format_raw(w->comp);
        if (r == ARCHIVE_OK)
                r = archive_write_set_bytes_per_block(w->comp, 65536);
        if (r == ARCHIVE_OK)
                r = archive_write_set_bytes_in_last_block(w->comp, 1);
        if (r == ARCHIVE_OK)
                r = archive_write_open2(w->comp, w, NULL, blob_write, NULL, NULL);
        if (r != ARCHIVE_OK)
                return archive_fail(w, w->comp, err, "set up compression");
        e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        r = archive_write_header(w->comp, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return archive_fail(w, w->comp, err, "set up compression");
        return 0;
}

static int writer_open(Writer *w, const ImgDiffOptions *o, int out_fd, bool is_copy, Error **err)
{
        int r;

        *w = (Writer){ .out_fd = out_fd, .o = o ? o : &default_options, .is_copy = is_copy };
        w->tar_digest = digest_new();
        w->blob_digest = digest_new();
        w->entry = archive_entry_new();
        r = writer_open_comp(w, err);
        if (r < 0)
                return r;
        w->tar = archive_write_new();
        if (!w->tar || !w->entry)
                abort();
        /* pax as Go and Docker write it: ustar headers, pax records only where ustar falls short. */
        r = archive_write_set_format_pax_restricted(w->tar);
        /* xattrs as SCHILY.xattr records only, which Go's archive/tar and GNU tar read; libarchive
         * would add LIBARCHIVE.xattr copies of each. */
        if (r == ARCHIVE_OK)
                r = archive_write_set_format_option(w->tar, "pax", "xattrheader", "SCHILY");
        if (r == ARCHIVE_OK)
                r = archive_write_set_bytes_per_block(w->tar, 65536);
        if (r == ARCHIVE_OK)
                r = archive_write_set_bytes_in_last_block(w->tar, 1);
        if (r == ARCHIVE_OK)
                r = archive_write_open2(w->tar, w, NULL, tar_write, NULL, NULL);
        if (r != ARCHIVE_OK)
                return archive_fail(w, w->tar, err, "set up the tar writer");
        return 0;
}

static void link_free(void *p)
{
        Link *l = p;
        free(l->path);
        free(l);
}

static void writer_done(Writer *w)
{
        /* After a failure the end markers still get written, to nowhere: libarchive releases a
         * filter's state (zlib's, zstd's) only when it is closed; archive_write_fail() would leak it. */
        w->is_discarding = true;
        archive_write_free(w->tar);
        archive_write_free(w->comp);
        archive_entry_free(w->entry);
        digest_free(w->tar_digest);
        digest_free(w->blob_digest);
        tdestroy(w->links, link_free);
        tdestroy(w->dirs, free);
        *w = (Writer){ 0 };
}

static int writer_finish(Writer *w, ImgDiffResult *ret, Error **err)
{
        static const char *const media_types[] = {
                [IMG_COMPRESSION_GZIP] = "application/vnd.oci.image.layer.v1.tar+gzip",
                [IMG_COMPRESSION_ZSTD] = "application/vnd.oci.image.layer.v1.tar+zstd",
                [IMG_COMPRESSION_NONE] = "application/vnd.oci.image.layer.v1.tar",
        };

        if (archive_write_close(w->tar) != ARCHIVE_OK)
                return archive_fail(w, w->tar, err, "finish the tar");
        if (w->comp && archive_write_close(w->comp) != ARCHIVE_OK)
                return archive_fail(w, w->comp, err, "finish compression");
        *ret = (ImgDiffResult){
                .diff_id = digest_finish(w->tar_digest),
                .digest = digest_finish(w->blob_digest),
                .size = w->blob_size,
                .tar_size = w->tar_size,
                .media_type = media_types[w->o->compression],
        };
        return 0;
}

static time_t clamp_mtime(const Writer *w, time_t t)
{
        if (w->o->has_source_date_epoch && t > w->o->source_date_epoch)
                return (time_t)w->o->source_date_epoch;
        return t;
}

/* Fills w->entry from st: whole seconds only, no user or group names, no atime/ctime. */
static void entry_from_stat(Writer *w, const char *name, const struct stat *st)
{
        struct archive_entry *e = w->entry;
        mode_t mode = st->st_mode;

        archive_entry_clear(e);
        archive_entry_set_pathname(e, name);
        if (w->is_copy && w->o->has_mode)
                mode = (mode & S_IFMT) | (w->o->mode & 07777);
        archive_entry_set_mode(e, mode);
        archive_entry_set_uid(e, w->is_copy && w->o->has_owner ? w->o->uid : st->st_uid);
        archive_entry_set_gid(e, w->is_copy && w->o->has_owner ? w->o->gid : st->st_gid);
        archive_entry_set_mtime(e, clamp_mtime(w, st->st_mtime), 0);
        archive_entry_set_size(e, S_ISREG(mode) ? st->st_size : 0);
        if (S_ISCHR(mode) || S_ISBLK(mode))
                archive_entry_set_rdev(e, st->st_rdev);
}

static bool xattr_is_kept(const char *name)
{
        if (strncmp(name, "user.", 5) == 0)
                return strncmp(name, "user.overlay.", 13) != 0;
        return strcmp(name, "security.capability") == 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the overlay xattrs of an upper dir entry say. */
typedef struct OverlayMarks {
        bool is_opaque;      /* *.overlay.opaque = "y": the directory hides the lower ones */
        const char *feature; /* a redirect or metacopy xattr: the entry is not a plain change */
} OverlayMarks;

/* overlayfs features whose upper dir is not a plain list of changes: a renamed directory
 * (redirect_dir) holds only what changed in it, a metacopy file no data. Neither is on by default. */
static const char *const overlay_features[] = { "trusted.overlay.redirect", "trusted.overlay.metacopy",
                                                "user.overlay.redirect", "user.overlay.metacopy" };

static void note_overlay(const char *path, const char *name, OverlayMarks *m)
{
        char v[2];

        for (size_t i = 0; i < ARRAY_SIZE(overlay_features); i++)
                if (strcmp(name, overlay_features[i]) == 0)
                        m->feature = overlay_features[i];
        if ((strcmp(name, "trusted.overlay.opaque") == 0 || strcmp(name, "user.overlay.opaque") == 0) &&
            getxattr(path, name, v, sizeof(v)) == 1 && v[0] == 'y')
                m->is_opaque = true;
}

/* Adds fd's kept xattrs to w->entry, sorted by name, and fills *marks (if given) from the overlay
 * ones. Through /proc/self/fd, so O_PATH fds work. */
static int add_xattrs(Writer *w, int fd, const char *name, OverlayMarks *marks, Error **err)
{
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ char *list = NULL, *value = NULL;
        char path[FD_PATH_MAX];
        ssize_t n;

        fd_path(fd, path);
        n = listxattr(path, NULL, 0);
        if (n < 0 && (errno == ENOTSUP || errno == ENODATA))
                return 0;
        if (n < 0)
                return error_set(err, errno, "list xattrs of '%s'", name);
        list = xmalloc((size_t)n + 1);
        n = listxattr(path, list, (size_t)n);
        if (n < 0)
                return error_set(err, errno, "list xattrs of '%s'", name);
        for (char *k = list; k < list + n; k += strlen(k) + 1) {
                if (marks)
                        note_overlay(path, k, marks);
                if (xattr_is_kept(k))
                        strv_push(&names, k);
        }
        if (!names)
                return 0;
        qsort(names, strv_length(names), sizeof(char *), cmp_str);
        for (size_t i = 0; names[i]; i++) {
                ssize_t len = getxattr(path, names[i], NULL, 0);
                if (len < 0)
                        return error_set(err, errno, "read xattr '%s' of '%s'", names[i], name);
                value = xrealloc(value, (size_t)len + 1);
                len = getxattr(path, names[i], value, (size_t)len);
                if (len < 0)
                        return error_set(err, errno, "read xattr '%s' of '%s'", names[i], name);
                archive_entry_xattr_add_entry(w->entry, names[i], value, (size_t)len);
        }
        return 0;
}

/* Writes w->entry, then size bytes of data_fd (if >= 0) as its content. */
static int put_entry(Writer *w, int data_fd, const char *name, Error **err)
{
        int64_t left = archive_entry_size(w->entry);
        char buf[65536];

        if (archive_write_header(w->tar, w->entry) < ARCHIVE_WARN)
                return archive_fail(w, w->tar, err, name);
        if (data_fd < 0)
                return 0;
        while (left > 0) {
                ssize_t n = read(data_fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, errno, "read '%s'", name);
                /* The header holds the size already: a file that shrank cannot be finished. */
                if (n == 0)
                        return error_setf(err, EIO, "'%s' shrank while it was being written", name);
                if (archive_write_data(w->tar, buf, (size_t)n) != n)
                        return archive_fail(w, w->tar, err, name);
                left -= n;
        }
        return 0;
}

static int cmp_link(const void *a, const void *b)
{
        const Link *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

/* For a regular file with other links: the name written first for its inode, or NULL (then it
 * is recorded under name). */
static const char *hardlink_target(Writer *w, const struct stat *st, const char *name)
{
        Link key = { .dev = st->st_dev, .ino = st->st_ino }, *l, **found;

        if (!S_ISREG(st->st_mode) || st->st_nlink < 2)
                return NULL;
        found = tfind(&key, &w->links, cmp_link);
        if (found)
                return (*found)->path;
        l = xnew0(Link, 1);
        *l = (Link){ .dev = st->st_dev, .ino = st->st_ino, .path = xstrdup(name) };
        if (!tsearch(l, &w->links, cmp_link))
                abort();
        return NULL;
}

/* Records a directory as written; false if it already was. */
static bool dir_mark(Writer *w, const char *name)
{
        char *copy = xstrdup(name), **found = tsearch(copy, &w->dirs, (int (*)(const void *, const void *))strcmp);

        if (!found)
                abort();
        if (*found != copy) {
                free(copy);
                return false;
        }
        return true;
}

static int walk(Writer *w, int dirfd, const char *prefix, const char *src_prefix, Error **err);

/* The entry dirfd/name (whose stat is st), written as layer entry path. */
static int put_one(Writer *w, int dirfd, const char *name, const struct stat *st, const char *path,
                   const char *src_path, Error **err)
{
        bool is_dir = S_ISDIR(st->st_mode), is_reg = S_ISREG(st->st_mode);
        OverlayMarks marks = { 0 };
        struct stat cur;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dname = NULL;
        const char *target;
        int r;

        if (strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return error_setf(err, EINVAL, "'%s': a name starting with '.wh.' cannot be in a layer", src_path);
        if (S_ISSOCK(st->st_mode)) {
                log_debug("layer: skipping socket '%s'", src_path);
                return 0;
        }
        /* overlayfs marks a deleted file with a 0:0 character device: an OCI whiteout. */
        if (!w->is_copy && S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) {
                _cleanup_free_ char *wh = NULL;
                const char *slash = strrchr(path, '/');
                wh = slash ? xasprintf("%.*s/" WHITEOUT_PREFIX "%s", (int)(slash - path), path, slash + 1)
                           : xasprintf(WHITEOUT_PREFIX "%s", path);
                entry_from_stat(w, wh, st);
                archive_entry_set_filetype(w->entry, AE_IFREG);
                archive_entry_set_size(w->entry, 0);
                return put_entry(w, -EBADF, wh, err);
        }
        /* O_NONBLOCK: should the file have become a fifo since it was listed, open() must not wait
         * for a writer; the type is checked again on what was opened. */
        fd = openat(dirfd, name,
                    (is_dir ? O_RDONLY | O_DIRECTORY : is_reg ? O_RDONLY | O_NOCTTY | O_NONBLOCK : O_PATH) |
                            O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", src_path);
        if (fstat(fd, &cur) < 0)
                return error_set(err, errno, "stat '%s'", src_path);
        if ((cur.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
                return error_setf(err, EBUSY, "'%s' changed while the layer was being written", src_path);
        st = &cur;
        dname = is_dir ? xasprintf("%s/", path) : xstrdup(path);
        entry_from_stat(w, dname, st);
        target = hardlink_target(w, st, path);
        if (target) {
                archive_entry_set_hardlink(w->entry, target);
                archive_entry_set_size(w->entry, 0);
                return put_entry(w, -EBADF, path, err);
        }
        if (S_ISLNK(st->st_mode)) {
                char link[4096];
                ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
                if (n < 0)
                        return error_set(err, errno, "read link '%s'", src_path);
                link[n] = 0;
                archive_entry_set_symlink(w->entry, link);
        } else {
                r = add_xattrs(w, fd, src_path, w->is_copy ? NULL : &marks, err);
                if (r < 0)
                        return r;
                if (marks.feature)
                        return error_setf(err, EOPNOTSUPP, "'%s': has %s: overlayfs redirect_dir and metacopy must be off",
                                          src_path, marks.feature);
        }
        if (is_dir && w->is_copy && !dir_mark(w, path))
                return walk(w, fd, path, src_path, err); /* written already by an earlier copy */
        r = put_entry(w, is_reg ? fd : -EBADF, dname, err);
        if (r < 0 || !is_dir)
                return r;
        if (marks.is_opaque) {
                _cleanup_free_ char *opq = xasprintf("%s/" WHITEOUT_OPAQUE, path);
                entry_from_stat(w, opq, st);
                archive_entry_set_filetype(w->entry, AE_IFREG);
                archive_entry_set_size(w->entry, 0);
                r = put_entry(w, -EBADF, opq, err);
                if (r < 0)
                        return r;
        }
        return walk(w, fd, path, src_path, err);
}

/* Writes the entries below dirfd, depth first, sorted by name; prefix is their layer path. */
static int walk(Writer *w, int dirfd, const char *prefix, const char *src_prefix, Error **err)
{
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", *src_prefix ? src_prefix : ".");
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return error_set(err, errno, "read '%s'", *src_prefix ? src_prefix : ".");
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        strv_push(&names, de->d_name);
        closedir(d);
        if (!names)
                return 0;
        qsort(names, strv_length(names), sizeof(char *), cmp_str);
        for (size_t i = 0; names[i] && r >= 0; i++) {
                _cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
                _cleanup_free_ char *src_path = *src_prefix ? xasprintf("%s/%s", src_prefix, names[i])
                                                            : xstrdup(names[i]);
                struct stat st;

                if (w->o->is_skipped && w->o->is_skipped(src_path, w->o->userdata))
                        continue;
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_set(err, errno, "stat '%s'", src_path);
                r = put_one(w, dirfd, names[i], &st, path, src_path, err);
        }
        return r;
}

int img_diff_write(int dirfd, const ImgDiffOptions *o, int out_fd, ImgDiffResult *ret, Error **err)
{
        Writer w;
        int r;

        r = writer_open(&w, o, out_fd, false, err);
        if (r >= 0)
                r = walk(&w, dirfd, "", "", err);
        if (r >= 0)
                r = writer_finish(&w, ret, err);
        writer_done(&w);
        return r;
}

/* ---- COPY and ADD ---- */

/* path without leading '/', "." and ".." components; false if it climbs above the start. */
static bool clean_path(const char *path, char **ret)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        size_t n = 0, len = 0;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        if (n == 0)
                                return false;
                        n--;
                        parts[n] = mfree(parts[n]);
                        continue;
                }
                strv_push(&parts, c);
                n++;
        }
        for (size_t i = 0; i < n; i++)
                len += strlen(parts[i]) + 1;
        *ret = xnew0(char, len + 1);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strcat(*ret, "/");
                strcat(*ret, parts[i]);
        }
        return true;
}

/* Writes the missing parent directories of path ("a/", "a/b/" for "a/b/c"): 0755, root. */
static int put_parents(Writer *w, const char *path, Error **err)
{
        for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
                _cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path)), *dname = NULL;
                struct stat st = { .st_mode = S_IFDIR | 0755 };
                int r;

                if (!dir_mark(w, dir))
                        continue;
                st.st_mtime = w->o->has_source_date_epoch ? (time_t)w->o->source_date_epoch : 0;
                dname = xasprintf("%s/", dir);
                entry_from_stat(w, dname, &st);
                /* Made here, not copied: --chown/--chmod do not apply. */
                archive_entry_set_uid(w->entry, 0);
                archive_entry_set_gid(w->entry, 0);
                archive_entry_set_perm(w->entry, 0755);
                r = put_entry(w, -EBADF, dname, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Sets the layer name of an archive entry's path (or hard link target) below dest. */
static int archive_name(const char *src, const char *dest, const char *name, char **ret, Error **err)
{
        _cleanup_free_ char *clean = NULL;
        const char *base;

        if (!clean_path(name, &clean))
                return error_setf(err, EINVAL, "ADD '%s': entry '%s' climbs out of the archive", src, name);
        base = strrchr(clean, '/');
        base = base ? base + 1 : clean;
        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return error_setf(err, EINVAL, "ADD '%s': entry '%s': a name starting with '.wh.' cannot be in a layer",
                                  src, name);
        *ret = !*clean ? NULL : *dest ? xasprintf("%s/%s", dest, clean) : xstrdup(clean);
        return 0;
}

/* One archive entry e, placed below dest, with its data. */
static int put_archive_entry(Writer *w, struct archive *a, struct archive_entry *e, const char *src,
                             const char *dest, Error **err)
{
        _cleanup_free_ char *path = NULL, *link = NULL, *dname = NULL;
        const char *hl = archive_entry_hardlink(e), *xname, *xval;
        mode_t mode = archive_entry_mode(e);
        struct stat st = {
                .st_mode = mode, .st_uid = (uid_t)archive_entry_uid(e), .st_gid = (gid_t)archive_entry_gid(e),
                .st_mtime = archive_entry_mtime(e), .st_size = archive_entry_size(e), .st_rdev = archive_entry_rdev(e),
        };
        size_t xlen;
        int r;

        r = archive_name(src, dest, archive_entry_pathname(e), &path, err);
        if (r >= 0 && hl)
                r = archive_name(src, dest, hl, &link, err);
        if (r < 0 || !path)
                return r;
        /* A hard link entry may carry no file type; other types (sockets) have no place in a layer. */
        if (link)
                st.st_mode = mode = S_IFREG | (mode & 07777);
        else if (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) &&
                 !S_ISFIFO(mode))
                return 0;
        r = put_parents(w, path, err);
        if (r < 0)
                return r;
        if (S_ISDIR(mode))
                dir_mark(w, path);
        dname = S_ISDIR(mode) ? xasprintf("%s/", path) : xstrdup(path);
        entry_from_stat(w, dname, &st);
        if (link) {
                archive_entry_set_hardlink(w->entry, link);
                archive_entry_set_size(w->entry, 0);
        } else if (S_ISLNK(mode)) {
                archive_entry_set_symlink(w->entry, archive_entry_symlink(e));
        }
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &xname, (const void **)&xval, &xlen) == ARCHIVE_OK)
                if (xattr_is_kept(xname))
                        archive_entry_xattr_add_entry(w->entry, xname, xval, xlen);
        if (archive_write_header(w->tar, w->entry) < ARCHIVE_WARN)
                return archive_fail(w, w->tar, err, dname);
        if (link || !S_ISREG(mode))
                return 0;
        for (;;) {
                char buf[65536];
                la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
                if (n < 0)
                        return error_setf(err, EINVAL, "ADD '%s': entry '%s': %s", src, dname, archive_error_string(a));
                if (n == 0)
                        return 0;
                if (archive_write_data(w->tar, buf, (size_t)n) != n)
                        return archive_fail(w, w->tar, err, dname);
        }
}

/* ADD of a local archive: 1 when src was one and its entries are written below dest, 0 when it is
 * not a tar archive (nothing written). */
static int put_archive(Writer *w, int path_fd, const char *src, const char *dest, Error **err)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char p[FD_PATH_MAX];
        int fd, r;

        if (!a)
                abort();
        /* The compressions Docker recognises, through libarchive's own code only. */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_tar(a);
        fd = open(fd_path(path_fd, p), O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                archive_read_free(a);
                return error_set(err, errno, "ADD '%s': open", src);
        }
        r = archive_read_open_fd(a, fd, 65536);
        if (r == ARCHIVE_OK)
                r = archive_read_next_header(a, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                archive_read_free(a);
                close(fd);
                return 0;
        }
        r = 0;
        if (*dest) {
                _cleanup_free_ char *d = xasprintf("%s/", dest);
                r = put_parents(w, d, err);
        }
        while (r >= 0) {
                r = put_archive_entry(w, a, e, src, dest, err);
                if (r < 0)
                        break;
                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF) {
                        r = 1;
                        break;
                }
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        r = error_setf(err, EINVAL, "ADD '%s': %s", src, archive_error_string(a));
        }
        archive_read_free(a);
        close(fd);
        return r;
}

/* A file (or device, fifo) src copied to the layer path. */
static int put_copied_file(Writer *w, int path_fd, const struct stat *st, const char *path, const char *src,
                           Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        char p[FD_PATH_MAX];
        int r;

        r = put_parents(w, path, err);
        if (r < 0)
                return r;
        if (S_ISREG(st->st_mode)) {
                fd = open(fd_path(path_fd, p), O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", src);
        }
        entry_from_stat(w, path, st);
        r = add_xattrs(w, path_fd, src, NULL, err);
        if (r < 0)
                return r;
        return put_entry(w, fd, path, err);
}

/* A directory src: its contents below the layer path (itself written there unless already). */
static int put_copied_dir(Writer *w, int path_fd, const struct stat *st, const char *path, const char *src,
                          Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dname = NULL, *src_clean = NULL;
        char p[FD_PATH_MAX];
        int r;

        fd = open(fd_path(path_fd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", src);
        if (*path) {
                dname = xasprintf("%s/", path);
                r = put_parents(w, path, err);
                if (r < 0)
                        return r;
                if (dir_mark(w, path)) {
                        entry_from_stat(w, dname, st);
                        r = add_xattrs(w, fd, src, NULL, err);
                        if (r >= 0)
                                r = put_entry(w, -EBADF, dname, err);
                        if (r < 0)
                                return r;
                }
        }
        if (!clean_path(src, &src_clean))
                return error_setf(err, EINVAL, "'%s': outside the source directory", src);
        return walk(w, fd, path, src_clean, err);
}

static int put_copy(Writer *w, int src_dirfd, const ImgDiffCopy *c, Error **err)
{
        _cleanup_free_ char *dest = NULL, *src = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        const char *base;
        int r;

        if (!c->src || !c->dest || c->dest[0] != '/')
                return error_setf(err, EINVAL, "copy '%s' to '%s': expected a source and an absolute destination",
                                  c->src ? c->src : "", c->dest ? c->dest : "");
        if (!clean_path(c->src, &src))
                return error_setf(err, EINVAL, "'%s': outside the source directory", c->src);
        if (!clean_path(c->dest, &dest))
                abort(); /* an absolute path cannot climb above '/' */
        /* Resolved as if src_dirfd were '/': a symlink cannot lead out of it. */
        fd = open_in_root(src_dirfd, *src ? src : ".", O_PATH, 0, 0);
        if (fd < 0)
                return error_set(err, fd, "open '%s'", c->src);
        if (fstat(fd, &st) < 0)
                return error_set(err, errno, "stat '%s'", c->src);
        if (c->is_archive_unpacked && S_ISREG(st.st_mode)) {
                r = put_archive(w, fd, c->src, dest, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (S_ISDIR(st.st_mode))
                return put_copied_dir(w, fd, &st, dest, src, err);
        if (S_ISSOCK(st.st_mode))
                return error_setf(err, EINVAL, "'%s' is a socket", c->src);
        base = strrchr(src, '/');
        base = base ? base + 1 : src;
        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return error_setf(err, EINVAL, "'%s': a name starting with '.wh.' cannot be in a layer", c->src);
        if (c->is_dest_dir || !*dest)
                path = *dest ? xasprintf("%s/%s", dest, base) : xstrdup(base);
        else
                path = TAKE_PTR(dest);
        return put_copied_file(w, fd, &st, path, c->src, err);
}

int img_diff_write_paths(int src_dirfd, const ImgDiffCopy *copies, size_t n_copies, const ImgDiffOptions *o,
                         int out_fd, ImgDiffResult *ret, Error **err)
{
        Writer w;
        int r;

        r = writer_open(&w, o, out_fd, true, err);
        for (size_t i = 0; i < n_copies && r >= 0; i++)
                r = put_copy(&w, src_dirfd, &copies[i], err);
        if (r >= 0)
                r = writer_finish(&w, ret, err);
        writer_done(&w);
        return r;
}
