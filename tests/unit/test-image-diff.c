/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-diff.c: layers from a real overlay-style tree and from copies, read back with libarchive and tar */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "image/diff.h"

typedef struct Tmp {
        char path[64];
        int fd;
} Tmp;

static int setup(void **state)
{
        Tmp *t = xnew0(Tmp, 1);

        snprintf(t->path, sizeof(t->path), "/tmp/hull-diff-test.XXXXXX");
        if (!mkdtemp(t->path))
                return -1;
        t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->fd < 0)
                return -1;
        umask(022);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        Tmp *t = *state;

        close(t->fd);
        rm_rf_at(AT_FDCWD, t->path, NULL);
        free(t);
        return 0;
}

static void make_file(int dirfd, const char *path, const char *content, mode_t mode, uid_t uid, gid_t gid,
                      time_t mtime)
{
        struct timespec ts[2] = { { .tv_sec = mtime }, { .tv_sec = mtime, .tv_nsec = 123456789 } };
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        assert_int_equal(fchown(fd, uid, gid), 0);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(futimens(fd, ts), 0);
        close(fd);
}

static void set_mtime(int dirfd, const char *path, time_t mtime)
{
        struct timespec ts[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
        assert_int_equal(utimensat(dirfd, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void set_xattr(int dirfd, const char *path, const char *name, const void *value, size_t len)
{
        char p[FD_PATH_MAX];
        int fd = openat(dirfd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW);

        assert_true(fd >= 0);
        if (setxattr(fd_path(fd, p), name, value, len, 0) < 0)
                fail_msg("setxattr '%s' on '%s': %m", name, path);
        close(fd);
}

/* One line per entry: "name type mode uid:gid size mtime [-> symlink] [=> hardlink] [dev M:m] [xattr k=v]". */
static char *list_layer(const char *path)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *out = xstrdup("");

        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *types = "?", *xname;
                const void *xval;
                size_t xlen;
                char *n;

                switch (archive_entry_hardlink(e) ? AE_IFREG : archive_entry_filetype(e)) {
                case AE_IFREG: types = archive_entry_hardlink(e) ? "h" : "f"; break;
                case AE_IFDIR: types = "d"; break;
                case AE_IFLNK: types = "l"; break;
                case AE_IFCHR: types = "c"; break;
                case AE_IFBLK: types = "b"; break;
                case AE_IFIFO: types = "p"; break;
                }
                n = xasprintf("%s%s %s %04o %lld:%lld %lld %lld", out, archive_entry_pathname(e), types,
                              (unsigned)archive_entry_perm(e), (long long)archive_entry_uid(e),
                              (long long)archive_entry_gid(e), (long long)archive_entry_size(e),
                              (long long)archive_entry_mtime(e));
                free(out);
                out = n;
                if (archive_entry_symlink(e)) {
                        n = xasprintf("%s -> %s", out, archive_entry_symlink(e));
                        free(out);
                        out = n;
                }
                if (archive_entry_hardlink(e)) {
                        n = xasprintf("%s => %s", out, archive_entry_hardlink(e));
                        free(out);
                        out = n;
                }
                if (archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK) {
                        n = xasprintf("%s dev %u:%u", out, (unsigned)archive_entry_rdevmajor(e),
                                      (unsigned)archive_entry_rdevminor(e));
                        free(out);
                        out = n;
                }
                archive_entry_xattr_reset(e);
                while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
                        n = xasprintf("%s xattr %s=%zu", out, xname, xlen);
                        free(out);
                        out = n;
                }
                n = xasprintf("%s\n", out);
                free(out);
                out = n;
        }
        archive_read_free(a);
        return out;
}

/* The first line a shell command prints. */
static char *run(const char *fmt, ...) _printf_(1, 2);
static char *run(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        char line[512] = "";
        va_list ap;
        FILE *p;

        va_start(ap, fmt);
        cmd = xvasprintf(fmt, ap);
        va_end(ap);
        p = popen(cmd, "r");
        assert_non_null(p);
        if (!fgets(line, sizeof(line), p))
                line[0] = 0;
        if (pclose(p) != 0)
                fail_msg("'%s' failed", cmd);
        line[strcspn(line, " \n")] = 0;
        return xstrdup(line);
}

static int write_layer(int dirfd, const char *out, const ImgDiffOptions *o, ImgDiffResult *res, Error **err)
{
        _cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        return img_diff_write(dirfd, o, fd, res, err);
}

/* Checks the blob digest and diff_id against sha256sum of the file and of its decompressed bytes. */
static void check_digests(const char *file, const char *decompress, const ImgDiffResult *res)
{
        _cleanup_free_ char *blob = run("sha256sum %s", file);
        _cleanup_free_ char *tar = run("%s %s | sha256sum", decompress, file);
        _cleanup_free_ char *size = run("stat -c %%s %s", file);

        assert_string_equal(res->digest + strlen("sha256:"), blob);
        assert_string_equal(res->diff_id + strlen("sha256:"), tar);
        assert_int_equal(res->size, strtoll(size, NULL, 10));
}

/* An overlayfs upper dir, made by hand: every kind of entry, whiteouts and an opaque directory. */
static void make_upper(int tfd)
{
        /* VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE permitted and effective. */
        struct vfs_cap_data cap = {
                .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                .data = { { .permitted = 1u << CAP_NET_BIND_SERVICE } },
        };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int ufd, s;

        assert_int_equal(mkdirat(tfd, "upper", 0755), 0);
        ufd = openat(tfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(ufd >= 0);
        make_file(ufd, "a.txt", "hello", 0640, 1000, 2000, 1700000000);
        set_xattr(ufd, "a.txt", "user.note", "hi", 2);
        set_xattr(ufd, "a.txt", "trusted.other", "x", 1);
        set_xattr(ufd, "a.txt", "security.capability", &cap, sizeof(cap));
        assert_int_equal(linkat(ufd, "a.txt", ufd, "hard.txt", 0), 0);
        assert_int_equal(mkdirat(ufd, "dir", 0750), 0);
        make_file(ufd, "dir/b", "#!/bin/sh\n", 04755, 0, 0, 1700000001);
        assert_int_equal(symlinkat("../a.txt", ufd, "dir/link"), 0);
        set_mtime(ufd, "dir/link", 1700000002);
        assert_int_equal(mknodat(ufd, "dir/gone2", S_IFCHR | 0644, makedev(0, 0)), 0);
        set_mtime(ufd, "dir/gone2", 1700000003);
        set_xattr(ufd, "dir", "trusted.overlay.origin", "x", 1);
        set_mtime(ufd, "dir", 1700000004);
        assert_int_equal(mkfifoat(ufd, "fifo", 0600), 0);
        set_mtime(ufd, "fifo", 1700000005);
        assert_int_equal(mknodat(ufd, "gone", S_IFCHR | 0600, makedev(0, 0)), 0);
        set_mtime(ufd, "gone", 1700000006);
        assert_int_equal(mknodat(ufd, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(fchmodat(ufd, "null", 0666, 0), 0);
        set_mtime(ufd, "null", 1700000007);
        assert_int_equal(mkdirat(ufd, "opaque", 0755), 0);
        make_file(ufd, "opaque/kept", "k", 0644, 0, 0, 1700000008);
        set_xattr(ufd, "opaque", "trusted.overlay.opaque", "y", 1);
        set_mtime(ufd, "opaque", 1700000009);
        /* A socket cannot be in a tar: left out. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/sock", ufd);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(s);
        close(ufd);
}

static const char upper_listing[] =
        "a.txt f 0640 1000:2000 5 1700000000 xattr security.capability=20 xattr user.note=2\n"
        "dir/ d 0750 0:0 0 1700000004\n"
        "dir/b f 4755 0:0 10 1700000001\n"
        "dir/.wh.gone2 f 0644 0:0 0 1700000003\n"
        "dir/link l 0777 0:0 0 1700000002 -> ../a.txt\n"
        "fifo p 0600 0:0 0 1700000005\n"
        ".wh.gone f 0600 0:0 0 1700000006\n"
        "hard.txt h 0640 1000:2000 0 1700000000 => a.txt\n"
        "null c 0666 0:0 0 1700000007 dev 1:3\n"
        "opaque/ d 0755 0:0 0 1700000009\n"
        "opaque/.wh..wh..opq f 0755 0:0 0 1700000009\n"
        "opaque/kept f 0644 0:0 1 1700000008\n";

static void test_upper_dir(void **state)
{
        Tmp *t = *state;
        _cleanup_free_ char *out1 = xasprintf("%s/l1.tar.gz", t->path), *out2 = xasprintf("%s/l2.tar.gz", t->path);
        _cleanup_free_ char *listing = NULL, *tar_out = NULL;
        _cleanup_close_ int ufd = -EBADF;
        ImgDiffResult r1 = { 0 }, r2 = { 0 };
        Error *e = NULL;

        make_upper(t->fd);
        ufd = openat(t->fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(write_layer(ufd, out1, NULL, &r1, &e), 0);
        assert_string_equal(r1.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        listing = list_layer(out1);
        if (strcmp(listing, upper_listing) != 0)
                fail_msg("--- got\n%s--- expected\n%s", listing, upper_listing);
        check_digests(out1, "gzip -dc", &r1);
        /* gzip -t fails on trailing bytes after the stream; GNU tar reads it too. */
        free(run("gzip -t %s && echo ok", out1));
        tar_out = run("tar -tvzf %s | grep -c -e '.wh.gone$' -e 'hard.txt link to a.txt' -e 'opq$'", out1);
        assert_string_equal(tar_out, "3");

        /* The same tree, the same bytes. */
        assert_int_equal(write_layer(ufd, out2, NULL, &r2, &e), 0);
        assert_string_equal(r1.digest, r2.digest);
        assert_string_equal(r1.diff_id, r2.diff_id);
        img_diff_result_done(&r2);
        img_diff_result_done(&r1);
}

static void test_compressions_and_epoch(void **state)
{
        Tmp *t = *state;
        _cleanup_free_ char *zst = xasprintf("%s/l.tar.zst", t->path), *tar = xasprintf("%s/l.tar", t->path);
        _cleanup_free_ char *gz = xasprintf("%s/l.tar.gz", t->path), *listing = NULL;
        _cleanup_close_ int ufd = -EBADF;
        ImgDiffOptions o = { .compression = IMG_COMPRESSION_ZSTD };
        ImgDiffResult rz = { 0 }, rt = { 0 }, rg = { 0 };
        Error *e = NULL;

        make_upper(t->fd);
        ufd = openat(t->fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(write_layer(ufd, zst, &o, &rz, &e), 0);
        assert_string_equal(rz.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
        check_digests(zst, "zstd -qdc", &rz);

        o.compression = IMG_COMPRESSION_NONE;
        assert_int_equal(write_layer(ufd, tar, &o, &rt, &e), 0);
        assert_string_equal(rt.media_type, "application/vnd.oci.image.layer.v1.tar");
        assert_string_equal(rt.digest, rt.diff_id);
        assert_int_equal(rt.size, rt.tar_size);
        check_digests(tar, "cat", &rt);
        /* One tar whatever the compression. */
        assert_string_equal(rz.diff_id, rt.diff_id);
        assert_int_equal(rz.tar_size, rt.tar_size);

        /* SOURCE_DATE_EPOCH clamps later mtimes and keeps earlier ones. */
        o = (ImgDiffOptions){ .has_source_date_epoch = true, .source_date_epoch = 1700000005, .level = 9 };
        assert_int_equal(write_layer(ufd, gz, &o, &rg, &e), 0);
        listing = list_layer(gz);
        assert_non_null(strstr(listing, "\ndir/b f 4755 0:0 10 1700000001\n"));
        assert_non_null(strstr(listing, "\nnull c 0666 0:0 0 1700000005 dev 1:3\n"));
        assert_non_null(strstr(listing, "\nopaque/kept f 0644 0:0 1 1700000005\n"));
        assert_string_not_equal(rg.diff_id, rt.diff_id);
        img_diff_result_done(&rz);
        img_diff_result_done(&rt);
        img_diff_result_done(&rg);

        o = (ImgDiffOptions){ .compression = 7 };
        assert_int_equal(write_layer(ufd, gz, &o, &rg, &e), -EINVAL);
        assert_string_equal(e->msg, "unknown compression 7");
        error_free(e);
}

static void test_refused(void **state)
{
        Tmp *t = *state;
        _cleanup_free_ char *out = xasprintf("%s/l.tar.gz", t->path);
        _cleanup_close_ int dfd = -EBADF;
        ImgDiffResult r = { 0 };
        Error *e = NULL;
        int pipefd[2];

        assert_int_equal(mkdirat(t->fd, "bad", 0755), 0);
        assert_int_equal(mkdirat(t->fd, "bad/sub", 0755), 0);
        dfd = openat(t->fd, "bad", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        make_file(dfd, "sub/.wh.x", "", 0644, 0, 0, 1);
        assert_int_equal(write_layer(dfd, out, NULL, &r, &e), -EINVAL);
        assert_string_equal(e->msg, "'sub/.wh.x': a name starting with '.wh.' cannot be in a layer");
        e = error_free(e);

        /* A directory renamed under overlayfs redirect_dir holds only its changes: refused. */
        assert_int_equal(unlinkat(dfd, "sub/.wh.x", 0), 0);
        set_xattr(dfd, "sub", "trusted.overlay.redirect", "/old", 4);
        assert_int_equal(write_layer(dfd, out, NULL, &r, &e), -EOPNOTSUPP);
        assert_string_equal(e->msg, "'sub': has trusted.overlay.redirect: overlayfs redirect_dir and metacopy must be off");
        e = error_free(e);
        assert_int_equal(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);

        /* A reader that went away: EPIPE, reported, not a crash (SIGPIPE is ignored for this). */
        make_file(dfd, "f", "x", 0644, 0, 0, 1);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        close(pipefd[0]);
        signal(SIGPIPE, SIG_IGN);
        assert_int_equal(img_diff_write(dfd, NULL, pipefd[1], &r, &e), -EPIPE);
        assert_non_null(strstr(e->msg, "write the layer"));
        signal(SIGPIPE, SIG_DFL);
        close(pipefd[1]);
        error_free(e);
}

/* ---- COPY and ADD ---- */

static bool skip_logs(const char *path, void *userdata)
{
        size_t n = strlen(path);
        (*(int *)userdata)++;
        return n > 4 && strcmp(path + n - 4, ".log") == 0;
}

/* A tar archive with one entry per (name, type) pair, written with libarchive. */
static void make_archive(const char *path, const char *const *names, const char *filter)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        archive_write_set_format_pax_restricted(a);
        if (filter)
                archive_write_add_filter_by_name(a, filter);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; names[i]; i++) {
                archive_entry_clear(e);
                archive_entry_set_pathname(e, names[i]);
                archive_entry_set_mtime(e, 1600000000, 0);
                if (names[i][strlen(names[i]) - 1] == '/') {
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, 0700);
                        archive_entry_set_size(e, 0);
                        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                } else if (strncmp(names[i], "hl:", 3) == 0) {
                        archive_entry_set_pathname(e, names[i] + 3);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, "x/y.txt");
                        archive_entry_set_size(e, 0);
                        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                } else {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0600);
                        archive_entry_set_uid(e, 7);
                        archive_entry_set_size(e, 3);
                        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                        assert_int_equal(archive_write_data(a, "abc", 3), 3);
                }
        }
        archive_write_close(a);
        archive_write_free(a);
        archive_entry_free(e);
}

static void make_context(Tmp *t)
{
        static const char *const arch[] = { "./x/", "./x/y.txt", "hl:x/z.txt", "/abs.txt", NULL };
        _cleanup_free_ char *tgz = xasprintf("%s/ctx/arch.tar.gz", t->path);
        _cleanup_free_ char *plain = xasprintf("%s/ctx/plain.gz", t->path);
        int cfd;

        assert_int_equal(mkdirat(t->fd, "ctx", 0755), 0);
        cfd = openat(t->fd, "ctx", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        make_file(cfd, "a.txt", "aaa", 0644, 0, 0, 1500000000);
        assert_int_equal(mkdirat(cfd, "dir", 0750), 0);
        assert_int_equal(mkdirat(cfd, "dir/sub", 0755), 0);
        make_file(cfd, "dir/c.txt", "c", 0600, 5, 5, 1500000001);
        make_file(cfd, "dir/sub/d.txt", "d", 0644, 0, 0, 1500000002);
        make_file(cfd, "dir/build.log", "l", 0644, 0, 0, 1500000003);
        make_file(cfd, "dir/hl1", "h", 0644, 0, 0, 1500000004);
        assert_int_equal(linkat(cfd, "dir/hl1", cfd, "dir/hl2", 0), 0);
        assert_int_equal(symlinkat("c.txt", cfd, "dir/sym"), 0);
        set_mtime(cfd, "dir/sym", 1500000005);
        set_mtime(cfd, "dir/sub", 1500000006);
        set_mtime(cfd, "dir", 1500000007);
        assert_int_equal(symlinkat("a.txt", cfd, "link_to_a"), 0);
        assert_int_equal(symlinkat("../../etc/passwd", cfd, "link_out"), 0);
        make_archive(tgz, arch, "gzip");
        free(run("echo not a tar | gzip -n > %s && echo ok", plain));
        set_mtime(cfd, "plain.gz", 1500000008);
        close(cfd);
}

static const char copy_listing[] =
        "app/ d 0755 0:0 0 0\n"
        "app/a.txt f 0644 1000:1001 3 1500000000\n"
        "app/d/ d 0750 1000:1001 0 1500000007\n"
        "app/d/c.txt f 0600 1000:1001 1 1500000001\n"
        "app/d/hl1 f 0644 1000:1001 1 1500000004\n"
        "app/d/hl2 h 0644 1000:1001 0 1500000004 => app/d/hl1\n"
        "app/d/sub/ d 0755 1000:1001 0 1500000006\n"
        "app/d/sub/d.txt f 0644 1000:1001 1 1500000002\n"
        "app/d/sym l 0777 1000:1001 0 1500000005 -> c.txt\n"
        "single f 0644 1000:1001 3 1500000000\n"
        "opt/ d 0755 0:0 0 0\n"
        "opt/x/ d 0700 1000:1001 0 1600000000\n"
        "opt/x/y.txt f 0600 1000:1001 3 1600000000\n"
        "opt/x/z.txt h 0000 1000:1001 0 1600000000 => opt/x/y.txt\n"
        "opt/abs.txt f 0600 1000:1001 3 1600000000\n"
        "opt/plain.gz f 0644 1000:1001 30 1500000008\n"
        "srv/ d 0755 0:0 0 0\n"
        "srv/ctx/ d 0755 0:0 0 0\n"
        "srv/ctx/arch.tar.gz f 0644 1000:1001 ";

static void test_copy_paths(void **state)
{
        Tmp *t = *state;
        _cleanup_free_ char *out = xasprintf("%s/copy.tar.gz", t->path), *listing = NULL;
        _cleanup_close_ int cfd = -EBADF, ofd = -EBADF;
        int n_skip_calls = 0;
        const ImgDiffCopy copies[] = {
                { .src = "a.txt", .dest = "/app/", .is_dest_dir = true },
                { .src = "dir", .dest = "/app/d" },
                { .src = "link_to_a", .dest = "/single" },
                { .src = "arch.tar.gz", .dest = "/opt/", .is_dest_dir = true, .is_archive_unpacked = true },
                { .src = "plain.gz", .dest = "/opt", .is_dest_dir = true, .is_archive_unpacked = true },
                { .src = "arch.tar.gz", .dest = "/srv/ctx/", .is_dest_dir = true },
        };
        ImgDiffOptions o = { .has_owner = true, .uid = 1000, .gid = 1001, .is_skipped = skip_logs,
                             .userdata = &n_skip_calls };
        ImgDiffResult r = { 0 };
        Error *e = NULL;

        make_context(t);
        cfd = openat(t->fd, "ctx", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (img_diff_write_paths(cfd, copies, ARRAY_SIZE(copies), &o, ofd, &r, &e) < 0)
                fail_msg("%s", e->msg);
        listing = list_layer(out);
        if (strncmp(listing, copy_listing, strlen(copy_listing)) != 0)
                fail_msg("--- got\n%s--- expected\n%s...", listing, copy_listing);
        assert_true(n_skip_calls > 0);
        assert_null(strstr(listing, "build.log"));
        check_digests(out, "gzip -dc", &r);
        img_diff_result_done(&r);

        /* --chmod, and a source date epoch for the directories made. */
        {
                const ImgDiffCopy one = { .src = "dir/sub/d.txt", .dest = "/a/b/", .is_dest_dir = true };
                ImgDiffOptions m = { .has_mode = true, .mode = 0755, .has_source_date_epoch = true,
                                     .source_date_epoch = 1400000000, .compression = IMG_COMPRESSION_NONE };
                _cleanup_free_ char *l2 = NULL;
                assert_int_equal(ftruncate(ofd, 0), 0);
                assert_int_equal(lseek(ofd, 0, SEEK_SET), 0);
                assert_int_equal(img_diff_write_paths(cfd, &one, 1, &m, ofd, &r, &e), 0);
                l2 = list_layer(out);
                assert_string_equal(l2, "a/ d 0755 0:0 0 1400000000\n"
                                        "a/b/ d 0755 0:0 0 1400000000\n"
                                        "a/b/d.txt f 0755 0:0 1 1400000000\n");
                img_diff_result_done(&r);
        }
}

static void test_copy_refused(void **state)
{
        static const char *const evil[] = { "ok.txt", "../../evil", NULL };
        static const char *const wh[] = { "x/.wh.y", NULL };
        Tmp *t = *state;
        _cleanup_free_ char *evil_path = xasprintf("%s/ctx/evil.tar", t->path);
        _cleanup_free_ char *wh_path = xasprintf("%s/ctx/wh.tar.xz", t->path);
        _cleanup_close_ int cfd = -EBADF, ofd = -EBADF;
        ImgDiffCopy c = { .src = "evil.tar", .dest = "/x/", .is_dest_dir = true, .is_archive_unpacked = true };
        ImgDiffResult r = { 0 };
        Error *e = NULL;

        make_context(t);
        make_archive(evil_path, evil, NULL);
        make_archive(wh_path, wh, "xz");
        cfd = openat(t->fd, "ctx", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ofd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_int_equal(img_diff_write_paths(cfd, &c, 1, NULL, ofd, &r, &e), -EINVAL);
        assert_string_equal(e->msg, "ADD 'evil.tar': entry '../../evil' climbs out of the archive");
        e = error_free(e);

        c.src = "wh.tar.xz";
        assert_int_equal(img_diff_write_paths(cfd, &c, 1, NULL, ofd, &r, &e), -EINVAL);
        assert_string_equal(e->msg,
                            "ADD 'wh.tar.xz': entry 'x/.wh.y': a name starting with '.wh.' cannot be in a layer");
        e = error_free(e);

        c = (ImgDiffCopy){ .src = "../ctx/a.txt", .dest = "/x" };
        assert_int_equal(img_diff_write_paths(cfd, &c, 1, NULL, ofd, &r, &e), -EINVAL);
        assert_string_equal(e->msg, "'../ctx/a.txt': outside the source directory");
        e = error_free(e);

        c = (ImgDiffCopy){ .src = "a.txt", .dest = "relative" };
        assert_int_equal(img_diff_write_paths(cfd, &c, 1, NULL, ofd, &r, &e), -EINVAL);
        e = error_free(e);

        /* A symlink that leads out resolves as if the context were '/': /etc/passwd in it. */
        c = (ImgDiffCopy){ .src = "link_out", .dest = "/x" };
        assert_int_equal(img_diff_write_paths(cfd, &c, 1, NULL, ofd, &r, &e), -ENOENT);
        assert_string_equal(e->msg, "open 'link_out': No such file or directory");
        error_free(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_upper_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compressions_and_epoch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_paths, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_refused, setup, teardown),
        };

        /* Owners, devices, trusted.* xattrs and 0:0 character devices need root. */
        if (geteuid() != 0) {
                printf("1..0 # SKIP test-image-diff needs root (chown, mknod, trusted.* xattrs)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
