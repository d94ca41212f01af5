/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-layer.c: layer unpacking from real tarballs made here: entries, whiteouts, escapes, races */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "image/layer.h"

typedef struct Fixture {
        char root[64];   /* /tmp/hull-layer-test.XXXXXX */
        char target[96]; /* root/target: a directory outside the layers that nothing may reach */
        int layers_fd;   /* root/layers */
} Fixture;

/* One tar entry to write; zero fields take defaults (regular file, 0644, root, mtime 1e9). */
typedef struct Entry {
        const char *path;
        unsigned type; /* AE_IFREG, AE_IFDIR, ... */
        unsigned mode;
        const char *data; /* content of a regular file */
        size_t len;       /* of data; strlen(data) when 0 */
        const char *link; /* symlink target, or hardlink target when is_hardlink */
        bool is_hardlink;
        unsigned uid, gid;
        time_t mtime;
        long mtime_nsec;
        unsigned rmajor, rminor;
        const char *xattr, *xattr2;
        const void *xvalue, *xvalue2;
        size_t xlen, xlen2;
} Entry;

typedef struct Buf {
        char *p;
        size_t len;
} Buf;

static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);
        char path[128];
        int fd;

        snprintf(f->root, sizeof(f->root), "/tmp/hull-layer-test.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        snprintf(path, sizeof(path), "%s/layers", f->root);
        snprintf(f->target, sizeof(f->target), "%s/target", f->root);
        if (mkdir(path, 0700) < 0 || mkdir(f->target, 0755) < 0)
                return -1;
        f->layers_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/secret", f->target);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (f->layers_fd < 0 || fd < 0 || write(fd, "secret", 6) != 6)
                return -1;
        close(fd);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char path[128];

        /* Mounts a failed test left behind (a passing one unmounts itself). */
        snprintf(path, sizeof(path), "%s/mnt", f->root);
        umount2(path, MNT_DETACH);
        snprintf(path, sizeof(path), "%s/small", f->root);
        umount2(path, MNT_DETACH);
        close(f->layers_fd);
        rm_rf_at(AT_FDCWD, f->root, NULL);
        free(f);
        return 0;
}

static la_ssize_t buf_write(struct archive *a, void *userdata, const void *data, size_t len)
{
        Buf *b = userdata;
        b->p = xrealloc(b->p, b->len + len);
        memcpy(b->p + b->len, data, len);
        b->len += len;
        return (la_ssize_t)len;
}

/* A pax tar of the entries, as libarchive writes it: names are written as given, ".." and all. */
static Buf make_tar(const Entry *entries, size_t n)
{
        struct archive *a = archive_write_new();
        Buf b = { 0 };

        assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
        assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
        assert_int_equal(archive_write_open(a, &b, NULL, buf_write, NULL), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                const Entry *x = &entries[i];
                struct archive_entry *e = archive_entry_new();
                unsigned type = x->type ? x->type : AE_IFREG;
                size_t len = x->data ? (x->len ? x->len : strlen(x->data)) : 0;

                archive_entry_set_pathname(e, x->path);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, x->mode ? x->mode : type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_uid(e, x->uid);
                archive_entry_set_gid(e, x->gid);
                archive_entry_set_mtime(e, x->mtime ? x->mtime : 1000000000, x->mtime_nsec);
                if (x->link && x->is_hardlink)
                        archive_entry_set_hardlink(e, x->link);
                else if (x->link)
                        archive_entry_set_symlink(e, x->link);
                if (type == AE_IFCHR || type == AE_IFBLK) {
                        archive_entry_set_rdevmajor(e, x->rmajor);
                        archive_entry_set_rdevminor(e, x->rminor);
                }
                if (x->xattr)
                        archive_entry_xattr_add_entry(e, x->xattr, x->xvalue, x->xlen);
                if (x->xattr2)
                        archive_entry_xattr_add_entry(e, x->xattr2, x->xvalue2, x->xlen2);
                archive_entry_set_size(e, (la_int64_t)len);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (len)
                        assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        return b;
}

/* The bytes compressed with filter ("gzip", "zstd"): libarchive's "raw" format writes only data. */
static Buf compress(const Buf *plain, const char *filter)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        Buf b = { 0 };

        assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
        assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
        assert_int_equal(archive_write_open(a, &b, NULL, buf_write, NULL), ARCHIVE_OK);
        archive_entry_set_pathname(e, "data");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)plain->len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, plain->p, plain->len), (la_ssize_t)plain->len);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        return b;
}

static char *sha256_of(const Buf *b)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update(d, b->p, b->len);
        return digest_finish(d);
}

typedef struct Feeder {
        int fd;
        const Buf *b;
} Feeder;

/* Writes the layer into a pipe, as a download would arrive; stops early if the reader gives up. */
static void *feed(void *arg)
{
        Feeder *fe = arg;
        size_t off = 0;

        while (off < fe->b->len) {
                ssize_t n = write(fe->fd, fe->b->p + off, fe->b->len - off);
                if (n <= 0)
                        break;
                off += (size_t)n;
        }
        close(fe->fd);
        return NULL;
}

static int unpack(Fixture *f, const char *name, const Buf *b, const char *expected, ImgLayerInfo *info, Error **e)
{
        int pipefd[2];
        pthread_t t;
        Feeder fe;
        int r;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        fe = (Feeder){ .fd = pipefd[1], .b = b };
        assert_int_equal(pthread_create(&t, NULL, feed, &fe), 0);
        r = img_layer_unpack(pipefd[0], f->layers_fd, name, expected, info, e);
        close(pipefd[0]); /* the feeder gets EPIPE (SIGPIPE is ignored) if it was not done */
        pthread_join(t, NULL);
        return r;
}

/* Entries in the layers directory, and of those the temporaries. */
static int count_layers(const Fixture *f, int *ret_temps)
{
        _cleanup_close_ int fd = dup(f->layers_fd);
        DIR *d = fdopendir(fd);
        struct dirent *de;
        int n = 0, temps = 0;

        assert_non_null(d);
        fd = -EBADF;
        rewinddir(d);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                n++;
                if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        temps++;
        }
        closedir(d);
        if (ret_temps)
                *ret_temps = temps;
        return n;
}

static void assert_nothing_left(const Fixture *f)
{
        int temps;
        assert_int_equal(count_layers(f, &temps), 0);
        assert_int_equal(temps, 0);
}

static void assert_content(int dir_fd, const char *path, const char *expected)
{
        _cleanup_free_ char *s = NULL;
        Error *e = NULL;

        assert_int_equal(read_file_at(dir_fd, path, &s, NULL, &e), 0);
        assert_string_equal(s, expected);
}

static int open_layer(const Fixture *f, const char *name)
{
        int fd = openat(f->layers_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static bool exists_at(int dir_fd, const char *path)
{
        struct stat st;
        return fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void buf_done(Buf *b)
{
        free(b->p);
        *b = (Buf){ 0 };
}

/* Refuses the layer with the errno and message part given, and leaves nothing behind. */
static void assert_refused(Fixture *f, const Entry *entries, size_t n, int code, const char *msg_part)
{
        Buf tar = make_tar(entries, n);
        Error *e = NULL;

        assert_int_equal(unpack(f, "bad", &tar, NULL, NULL, &e), -code);
        assert_non_null(e);
        if (!strstr(e->msg, msg_part))
                fail_msg("error '%s' lacks '%s'", e->msg, msg_part);
        error_free(e);
        assert_nothing_left(f);
        buf_done(&tar);
}

/* The same entries, plain, gzip and zstd: the same tree and one diff_id, the plain tar's sha256. */
static void test_compressions(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *big = xmalloc(3 << 20), *diff_id = NULL;
        const char *names[] = { "plain", "gzip", "zstd" };
        Buf tar, packed[3];

        for (size_t i = 0; i < (3u << 20) - 1; i++)
                big[i] = (char)('a' + (i * 7 + i / 4096) % 26);
        big[(3 << 20) - 1] = 0;
        {
                const Entry entries[] = {
                        { .path = "./", .type = AE_IFDIR },
                        { .path = "./etc/", .type = AE_IFDIR },
                        { .path = "./etc/hostname", .data = "layer\n" },
                        { .path = "usr/share/big", .data = big },
                        /* pax keeps names as bytes: a decomposed "ü" stays decomposed */
                        { .path = "nfd-u\xcc\x88", .data = "nfd" },
                        { .path = "empty" },
                };
                tar = make_tar(entries, ARRAY_SIZE(entries));
        }
        diff_id = sha256_of(&tar);
        packed[0] = (Buf){ .p = xmalloc(tar.len), .len = tar.len };
        memcpy(packed[0].p, tar.p, tar.len);
        packed[1] = compress(&tar, "gzip");
        packed[2] = compress(&tar, "zstd");
        assert_true(packed[1].len < tar.len / 4 && packed[2].len < tar.len / 4);

        for (size_t i = 0; i < 3; i++) {
                ImgLayerInfo info = { 0 };
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *s = NULL;
                Error *e = NULL;
                size_t len;

                assert_int_equal(unpack(f, names[i], &packed[i], i == 2 ? diff_id : NULL, &info, &e), 0);
                assert_string_equal(info.diff_id, diff_id);
                assert_false(info.is_present);
                assert_int_equal(info.size, 6 + ((3 << 20) - 1) + 3);
                fd = open_layer(f, names[i]);
                assert_content(fd, "etc/hostname", "layer\n");
                assert_content(fd, "nfd-u\xcc\x88", "nfd");
                assert_content(fd, "empty", "");
                assert_int_equal(read_file_at(fd, "usr/share/big", &s, &len, &e), 0);
                assert_int_equal(len, (3 << 20) - 1);
                assert_memory_equal(s, big, len);
                img_layer_info_done(&info);
                buf_done(&packed[i]);
        }
        assert_int_equal(count_layers(f, NULL), 3);
        buf_done(&tar);
}

static void assert_owner_mode(int dir_fd, const char *path, unsigned uid, unsigned gid, mode_t mode)
{
        struct stat st;
        assert_int_equal(fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        assert_int_equal(st.st_mode & 07777, mode);
}

static void assert_link(int dir_fd, const char *path, const char *target)
{
        char buf[256];
        ssize_t n = readlinkat(dir_fd, path, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = 0;
        assert_string_equal(buf, target);
}

/* File types, owners, modes with setuid, times, xattrs incl. security.capability. */
static void test_metadata(void **state)
{
        Fixture *f = *state;
        /* struct vfs_cap_data, revision 2, effective: cap_net_bind_service (10) permitted */
        static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };
        const Entry entries[] = {
                { .path = "dir", .type = AE_IFDIR, .mode = 0750, .uid = 1234, .gid = 1235, .mtime = 1400000000,
                  .xattr = "user.dir", .xvalue = "d", .xlen = 1 },
                { .path = "dir/file", .data = "content", .mode = 0640, .mtime = 1500000000, .mtime_nsec = 123456789 },
                { .path = "dir/suid", .data = "#!/bin/sh\n", .mode = 04755, .uid = 1234, .gid = 1234 },
                { .path = "dir/sgid-sticky", .type = AE_IFDIR, .mode = 03775 },
                { .path = "dir/capped", .data = "ping", .mode = 0755, .uid = 1234, .gid = 1234,
                  .xattr = "security.capability", .xvalue = cap, .xlen = sizeof(cap),
                  .xattr2 = "user.note", .xvalue2 = "n\0b", .xlen2 = 3 },
                { .path = "dir/hard", .link = "dir/file", .is_hardlink = true },
                { .path = "abs", .type = AE_IFLNK, .link = "/etc/passwd", .uid = 1234, .gid = 1234 },
                { .path = "rel", .type = AE_IFLNK, .link = "dir/file" },
                { .path = "dangling", .type = AE_IFLNK, .link = "../../../nowhere/at/all" },
                { .path = "null", .type = AE_IFCHR, .mode = 0666, .rmajor = 1, .rminor = 3 },
                { .path = "loop0", .type = AE_IFBLK, .mode = 0660, .rmajor = 7, .rminor = 0, .gid = 6 },
                { .path = "fifo", .type = AE_IFIFO, .mode = 0620 },
                /* overlayfs' own xattrs are not taken from a layer */
                { .path = "redirected", .type = AE_IFDIR, .xattr = "trusted.overlay.redirect", .xvalue = "/x",
                  .xlen = 2 },
                { .path = "implicit/parent/file", .data = "x" },
        };
        Buf tar = make_tar(entries, ARRAY_SIZE(entries));
        _cleanup_close_ int fd = -EBADF;
        unsigned char value[64];
        Error *e = NULL;
        struct stat st, st2;

        assert_int_equal(unpack(f, "meta", &tar, NULL, NULL, &e), 0);
        fd = open_layer(f, "meta");

        assert_owner_mode(fd, "dir", 1234, 1235, 0750);
        assert_owner_mode(fd, "dir/file", 0, 0, 0640);
        assert_owner_mode(fd, "dir/suid", 1234, 1234, 04755);
        assert_owner_mode(fd, "dir/sgid-sticky", 0, 0, 03775);
        assert_owner_mode(fd, "dir/capped", 1234, 1234, 0755);
        assert_owner_mode(fd, "implicit", 0, 0, 0755);
        assert_owner_mode(fd, "implicit/parent", 0, 0, 0755);
        assert_content(fd, "dir/file", "content");

        /* Times: the directory's survive what was made inside it afterwards. */
        assert_int_equal(fstatat(fd, "dir/file", &st, 0), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1500000000);
        assert_int_equal(st.st_mtim.tv_nsec, 123456789);
        assert_int_equal(fstatat(fd, "dir", &st, 0), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1400000000);
        assert_int_equal(fstatat(fd, "abs", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1000000000);

        /* xattrs: kept through chown, binary values intact. */
        {
                char path[160];
                snprintf(path, sizeof(path), "%s/layers/meta/dir/capped", f->root);
                assert_int_equal(getxattr(path, "security.capability", value, sizeof(value)), sizeof(cap));
                assert_memory_equal(value, cap, sizeof(cap));
                assert_int_equal(getxattr(path, "user.note", value, sizeof(value)), 3);
                assert_memory_equal(value, "n\0b", 3);
                snprintf(path, sizeof(path), "%s/layers/meta/dir", f->root);
                assert_int_equal(getxattr(path, "user.dir", value, sizeof(value)), 1);
                snprintf(path, sizeof(path), "%s/layers/meta/redirected", f->root);
                assert_int_equal(getxattr(path, "trusted.overlay.redirect", value, sizeof(value)), -1);
                assert_int_equal(errno, ENODATA);
        }

        /* Hardlink: one inode. */
        assert_int_equal(fstatat(fd, "dir/file", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(fd, "dir/hard", &st2, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(st.st_nlink, 2);

        /* Symlinks are data: any target, never followed, owned as the tar says. */
        assert_link(fd, "abs", "/etc/passwd");
        assert_link(fd, "rel", "dir/file");
        assert_link(fd, "dangling", "../../../nowhere/at/all");
        assert_owner_mode(fd, "abs", 1234, 1234, 0777);

        /* Devices and fifos. */
        assert_int_equal(fstatat(fd, "null", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(major(st.st_rdev), 1);
        assert_int_equal(minor(st.st_rdev), 3);
        assert_int_equal(st.st_mode & 07777, 0666);
        assert_int_equal(fstatat(fd, "loop0", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISBLK(st.st_mode));
        assert_int_equal(major(st.st_rdev), 7);
        assert_int_equal(st.st_gid, 6);
        assert_int_equal(fstatat(fd, "fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0620);
        buf_done(&tar);
}

/* A later entry of the same path wins; a directory over a directory keeps what is inside. */
static void test_overrides(void **state)
{
        Fixture *f = *state;
        const Entry entries[] = {
                { .path = "a", .data = "first" },
                { .path = "a", .data = "second" },
                { .path = "b", .data = "file" },
                { .path = "b", .type = AE_IFDIR, .mode = 0711 },
                { .path = "c/child/deeper", .data = "x" },
                { .path = "c", .data = "file over a tree" },
                { .path = "d", .type = AE_IFDIR, .mode = 0700, .uid = 5 },
                { .path = "d/kept", .data = "kept" },
                { .path = "d", .type = AE_IFDIR, .mode = 0755, .uid = 6, .mtime = 1300000000 },
                { .path = "e", .type = AE_IFLNK, .link = "/etc" },
                { .path = "e", .data = "not a link" },
                { .path = "f", .data = "target" },
                { .path = "g", .link = "f", .is_hardlink = true },
                { .path = "g", .link = "f", .is_hardlink = true },
                { .path = "f", .link = "f", .is_hardlink = true },
                { .path = "solo", .data = "alone" },
                { .path = "solo", .link = "solo", .is_hardlink = true },
        };
        Buf tar = make_tar(entries, ARRAY_SIZE(entries));
        _cleanup_close_ int fd = -EBADF;
        Error *e = NULL;
        struct stat st;

        assert_int_equal(unpack(f, "over", &tar, NULL, NULL, &e), 0);
        fd = open_layer(f, "over");
        assert_content(fd, "a", "second");
        assert_int_equal(fstatat(fd, "b", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_content(fd, "c", "file over a tree");
        assert_content(fd, "d/kept", "kept");
        assert_owner_mode(fd, "d", 6, 0, 0755);
        assert_int_equal(fstatat(fd, "d", &st, 0), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1300000000);
        assert_content(fd, "e", "not a link");
        assert_content(fd, "g", "target");
        assert_int_equal(fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_nlink, 2);
        assert_content(fd, "solo", "alone");
        buf_done(&tar);
}

/* A ustar header block (octal fields, checksum), for what libarchive's writer will not make. */
static void ustar_header(char *h, const char *name, char type, size_t size, const char *link)
{
        unsigned sum = 0;

        memset(h, 0, 512);
        snprintf(h, 100, "%s", name);
        snprintf(h + 100, 8, "%07o", 0644);
        snprintf(h + 108, 8, "%07o", 0);
        snprintf(h + 116, 8, "%07o", 0);
        snprintf(h + 124, 12, "%011zo", size);
        snprintf(h + 136, 12, "%011o", 1000000000);
        h[156] = type;
        if (link)
                snprintf(h + 157, 100, "%s", link);
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += (unsigned char)h[i];
        snprintf(h + 148, 8, "%06o", sum);
}

/* pax lets a hardlink carry data: it becomes the (shared) content. */
static void test_hardlink_with_data(void **state)
{
        Fixture *f = *state;
        static const char record[] = "12 uid=1234\n";
        Buf tar = { .p = xnew0(char, 512 * 8), .len = 512 * 8 };
        _cleanup_close_ int fd = -EBADF;
        Error *e = NULL;

        ustar_header(tar.p, "f", '0', 3, NULL);
        memcpy(tar.p + 512, "old", 3);
        ustar_header(tar.p + 1024, "PaxHeaders/h", 'x', strlen(record), NULL);
        memcpy(tar.p + 1536, record, strlen(record));
        ustar_header(tar.p + 2048, "h", '1', 3, "f");
        memcpy(tar.p + 2560, "new", 3);
        assert_int_equal(unpack(f, "hd", &tar, NULL, NULL, &e), 0);
        fd = open_layer(f, "hd");
        assert_content(fd, "f", "new");
        assert_content(fd, "h", "new");
        buf_done(&tar);
}

/* Mounts an overlay of lower (colon-separated, top first) on mnt; false (and why) if this host can't. */
static bool try_overlay(const char *lower, const char *mnt)
{
        _cleanup_free_ char *opts = xasprintf("lowerdir=%s", lower);
        if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) == 0)
                return true;
        print_message("overlay mount not possible here (%s): merged view not checked\n", strerror(errno));
        return false;
}

/* OCI whiteouts become overlayfs ones; mounted as lowerdirs they hide what is below. */
static void test_whiteouts(void **state)
{
        Fixture *f = *state;
        const Entry lower[] = {
                { .path = "dir/gone", .data = "below" },
                { .path = "dir/stays", .data = "below" },
                { .path = "opq/old", .data = "below" },
        };
        const Entry upper[] = {
                { .path = "dir/", .type = AE_IFDIR },
                { .path = "dir/gone", .data = "replaced by the whiteout below" },
                { .path = "dir/.wh.gone", .uid = 7 },
                { .path = "opq/.wh..wh..opq" },
                { .path = "opq/new", .data = "above" },
                { .path = "missing/.wh..wh..opq" },
                { .path = ".wh..wh.plnk.123" },
        };
        Buf tar_lower = make_tar(lower, ARRAY_SIZE(lower)), tar_upper = make_tar(upper, ARRAY_SIZE(upper));
        _cleanup_close_ int fd = -EBADF;
        char path[160], value[8], mnt[128];
        Error *e = NULL;
        struct stat st;

        assert_int_equal(unpack(f, "lower", &tar_lower, NULL, NULL, &e), 0);
        assert_int_equal(unpack(f, "upper", &tar_upper, NULL, NULL, &e), 0);
        fd = open_layer(f, "upper");
        assert_int_equal(fstatat(fd, "dir/gone", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        assert_int_equal(st.st_uid, 7);
        assert_false(exists_at(fd, "dir/.wh.gone"));
        assert_false(exists_at(fd, "opq/.wh..wh..opq"));
        assert_false(exists_at(fd, ".wh..wh.plnk.123"));
        assert_false(exists_at(fd, "plnk.123"));
        snprintf(path, sizeof(path), "%s/layers/upper/opq", f->root);
        assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), 1);
        assert_int_equal(value[0], 'y');
        snprintf(path, sizeof(path), "%s/layers/upper/missing", f->root);
        assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), 1);
        assert_content(fd, "opq/new", "above");

        snprintf(mnt, sizeof(mnt), "%s/mnt", f->root);
        assert_int_equal(mkdir(mnt, 0755), 0);
        snprintf(path, sizeof(path), "%s/layers/upper:%s/layers/lower", f->root, f->root);
        if (try_overlay(path, mnt)) {
                _cleanup_close_ int m = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(m >= 0);
                assert_false(exists_at(m, "dir/gone"));
                assert_content(m, "dir/stays", "below");
                assert_false(exists_at(m, "opq/old"));
                assert_content(m, "opq/new", "above");
                close(TAKE_FD(m));
                assert_int_equal(umount2(mnt, MNT_DETACH), 0);
        }
        buf_done(&tar_lower);
        buf_done(&tar_upper);
}

static void test_diff_id(void **state)
{
        Fixture *f = *state;
        const Entry entries[] = { { .path = "file", .data = "data" } };
        Buf tar = make_tar(entries, ARRAY_SIZE(entries)), gz = compress(&tar, "gzip");
        _cleanup_free_ char *diff_id = sha256_of(&tar);
        const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        ImgLayerInfo info = { 0 };
        Error *e = NULL;

        /* A mismatch is refused and leaves nothing. */
        assert_int_equal(unpack(f, "l", &gz, wrong, NULL, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, diff_id));
        assert_non_null(strstr(e->msg, wrong));
        e = error_free(e);
        assert_nothing_left(f);
        assert_int_equal(unpack(f, "l", &gz, "sha256:nothex", NULL, &e), -EINVAL);
        e = error_free(e);
        assert_nothing_left(f);

        assert_int_equal(unpack(f, "l", &gz, diff_id, &info, &e), 0);
        assert_string_equal(info.diff_id, diff_id);
        img_layer_info_done(&info);

        /* The diff_id covers everything after the tar's end marker too (here 2 MiB of padding). */
        {
                Buf padded = { .p = xnew0(char, tar.len + (2 << 20)), .len = tar.len + (2 << 20) };
                _cleanup_free_ char *padded_id = NULL;
                Buf padded_gz;

                memcpy(padded.p, tar.p, tar.len);
                padded_id = sha256_of(&padded);
                padded_gz = compress(&padded, "zstd");
                assert_int_equal(unpack(f, "padded", &padded_gz, padded_id, &info, &e), 0);
                assert_string_equal(info.diff_id, padded_id);
                img_layer_info_done(&info);
                assert_int_equal(rm_rf_at(f->layers_fd, "padded", &e), 0);
                buf_done(&padded);
                buf_done(&padded_gz);
        }

        /* Present already: 0 at once, and the input is not read (fd -1 would fail any read). */
        assert_int_equal(img_layer_unpack(-1, f->layers_fd, "l", diff_id, &info, &e), 0);
        assert_true(info.is_present);
        assert_string_equal(info.diff_id, diff_id);
        img_layer_info_done(&info);
        assert_int_equal(count_layers(f, NULL), 1);

        /* Names that are not one plain component. */
        assert_int_equal(img_layer_unpack(-1, f->layers_fd, "../x", NULL, NULL, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_layer_unpack(-1, f->layers_fd, ".tmp-l-abcdef", NULL, NULL, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_layer_unpack(-1, f->layers_fd, "", NULL, NULL, &e), -EINVAL);
        error_free(e);
        buf_done(&tar);
        buf_done(&gz);
}

/* Names that would write outside the layer: refused, nothing written there or left here. */
static void test_escapes(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *abs_name = xasprintf("/hull-layer-test-abs-%d", getpid());
        char secret[128];
        struct stat st;

        snprintf(secret, sizeof(secret), "%s/secret", f->target);
        {
                const Entry entries[] = { { .path = "ok", .data = "x" }, { .path = "../escape", .data = "x" } };
                assert_refused(f, entries, 2, EPERM, "layer entry '../escape': path escapes the layer");
                assert_false(exists_at(f->layers_fd, "escape"));
        }
        {
                const Entry entries[] = { { .path = abs_name, .data = "x" } };
                assert_refused(f, entries, 1, EPERM, "path escapes the layer");
                assert_false(exists_at(AT_FDCWD, abs_name));
        }
        {
                const Entry entries[] = { { .path = "a/", .type = AE_IFDIR }, { .path = "a/../../x", .data = "x" } };
                assert_refused(f, entries, 2, EPERM, "layer entry 'a/../../x': path escapes the layer");
                assert_false(exists_at(f->layers_fd, "x"));
        }
        {
                const Entry entries[] = {
                        { .path = "evil", .type = AE_IFLNK, .link = f->target },
                        { .path = "evil/file", .data = "x" },
                };
                assert_refused(f, entries, 2, EPERM, "layer entry 'evil/file': parent 'evil' goes through a symlink");
                snprintf(secret, sizeof(secret), "%s/file", f->target);
                assert_false(exists_at(AT_FDCWD, secret));
        }
        {
                const Entry entries[] = {
                        { .path = "evil", .type = AE_IFLNK, .link = f->target },
                        { .path = "evil/sub/file", .data = "x" },
                };
                assert_refused(f, entries, 2, EPERM, "goes through a symlink");
                snprintf(secret, sizeof(secret), "%s/sub", f->target);
                assert_false(exists_at(AT_FDCWD, secret));
        }
        {
                /* Even a symlink that stays inside the layer is not walked through. */
                const Entry entries[] = {
                        { .path = "d/f", .data = "x" },
                        { .path = "inner", .type = AE_IFLNK, .link = "d" },
                        { .path = "inner/file", .data = "x" },
                };
                assert_refused(f, entries, 3, EPERM, "layer entry 'inner/file': parent 'inner' goes through a symlink");
        }
        {
                const Entry entries[] = {
                        { .path = "d/f", .data = "x" },
                        { .path = "inner", .type = AE_IFLNK, .link = "d" },
                        { .path = "h", .link = "inner/f", .is_hardlink = true },
                };
                assert_refused(f, entries, 3, EPERM, "hardlink target 'inner/f' goes through a symlink");
        }
        {
                const Entry entries[] = { { .path = "h", .link = "../../etc/passwd", .is_hardlink = true } };
                assert_refused(f, entries, 1, EPERM, "hardlink target '../../etc/passwd' escapes the layer");
        }
        {
                const Entry entries[] = { { .path = "h", .link = "/etc/passwd", .is_hardlink = true } };
                assert_refused(f, entries, 1, EPERM, "escapes the layer");
        }
        snprintf(secret, sizeof(secret), "%s/secret", f->target);
        {
                const Entry entries[] = {
                        { .path = "lnk", .type = AE_IFLNK, .link = f->target },
                        { .path = "h", .link = "lnk/secret", .is_hardlink = true },
                };
                assert_refused(f, entries, 2, EPERM, "hardlink target 'lnk/secret' goes through a symlink");
                assert_int_equal(stat(secret, &st), 0);
                assert_int_equal(st.st_nlink, 1);
        }
        {
                /* A hardlink to a symlink is the symlink's inode, never what it points to. */
                const Entry entries[] = {
                        { .path = "lnk", .type = AE_IFLNK, .link = secret },
                        { .path = "h", .link = "lnk", .is_hardlink = true },
                };
                Buf tar = make_tar(entries, 2);
                _cleanup_close_ int fd = -EBADF;
                Error *e = NULL;

                assert_int_equal(unpack(f, "hl", &tar, NULL, NULL, &e), 0);
                fd = open_layer(f, "hl");
                assert_link(fd, "h", secret);
                assert_int_equal(stat(secret, &st), 0);
                assert_int_equal(st.st_nlink, 1);
                assert_int_equal(rm_rf_at(f->layers_fd, "hl", &e), 0);
                buf_done(&tar);
        }
        {
                const Entry entries[] = {
                        { .path = "wd", .type = AE_IFLNK, .link = f->target },
                        { .path = "wd/.wh.secret" },
                };
                assert_refused(f, entries, 2, EPERM, "goes through a symlink");
                assert_int_equal(lstat(secret, &st), 0);
                assert_true(S_ISREG(st.st_mode));
        }
        {
                const Entry entries[] = {
                        { .path = "wd", .type = AE_IFLNK, .link = f->target },
                        { .path = "wd/.wh..wh..opq" },
                };
                char value[4];
                assert_refused(f, entries, 2, EPERM, "goes through a symlink");
                assert_int_equal(getxattr(f->target, "trusted.overlay.opaque", value, sizeof(value)), -1);
        }
        {
                const Entry entries[] = { { .path = "d/.wh.." } };
                assert_refused(f, entries, 1, EPERM, "escapes the layer");
        }
        {
                const Entry entries[] = { { .path = "./", .type = AE_IFLNK, .link = "/" } };
                assert_refused(f, entries, 1, EINVAL, "root can only be a directory");
        }
        {
                /* A later parent that is a file is not made into a directory. */
                const Entry entries[] = { { .path = "f", .data = "x" }, { .path = "f/g", .data = "x" } };
                assert_refused(f, entries, 2, ENOTDIR, "parent 'f' is not a directory");
        }
        assert_int_equal(lstat(f->target, &st), 0);
}

/* Corrupt streams: EBADMSG, nothing kept. */
static void test_corrupt(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *noise = xmalloc(1 << 20);
        Buf tar, gz, zst, cut;
        Error *e = NULL;
        uint32_t x = 1;

        for (size_t i = 0; i < (1 << 20) - 1; i++) {
                x = x * 1103515245 + 12345;
                noise[i] = (char)(1 + (x >> 16) % 255);
        }
        noise[(1 << 20) - 1] = 0;
        {
                const Entry entries[] = { { .path = "a", .data = "a" }, { .path = "noise", .data = noise } };
                tar = make_tar(entries, 2);
        }
        gz = compress(&tar, "gzip");
        zst = compress(&tar, "zstd");

        cut = (Buf){ .p = gz.p, .len = gz.len / 2 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        assert_string_equal(e->msg, "layer entry 'noise': truncated gzip input");
        e = error_free(e);
        assert_nothing_left(f);

        /* Cut within the gzip trailer: the tar is whole, the stream is not. */
        cut = (Buf){ .p = gz.p, .len = gz.len - 4 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        e = error_free(e);
        assert_nothing_left(f);

        cut = (Buf){ .p = zst.p, .len = zst.len / 2 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        e = error_free(e);
        assert_nothing_left(f);

        cut = (Buf){ .p = tar.p, .len = tar.len / 2 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        assert_string_equal(e->msg, "layer entry 'noise': truncated tar archive");
        e = error_free(e);
        assert_nothing_left(f);

        cut = (Buf){ .p = noise, .len = 100000 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        e = error_free(e);
        assert_nothing_left(f);

        cut = (Buf){ .p = noise, .len = 0 };
        assert_int_equal(unpack(f, "l", &cut, NULL, NULL, &e), -EBADMSG);
        assert_string_equal(e->msg, "layer: empty stream");
        error_free(e);
        assert_nothing_left(f);
        buf_done(&tar);
        buf_done(&gz);
        buf_done(&zst);
}

/* A write that finds the disk full is an error that says so, and leaves nothing. */
static void test_enospc(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *big = xmalloc(4 << 20);
        _cleanup_close_ int small_fd = -EBADF;
        char small[128];
        Buf tar;
        Error *e = NULL;
        int temps;

        memset(big, 'z', (4 << 20) - 1);
        big[(4 << 20) - 1] = 0;
        {
                const Entry entries[] = { { .path = "big", .data = big } };
                tar = make_tar(entries, 1);
        }
        snprintf(small, sizeof(small), "%s/small", f->root);
        assert_int_equal(mkdir(small, 0700), 0);
        if (mount("tmpfs", small, "tmpfs", 0, "size=1m") < 0) {
                buf_done(&tar);
                print_message("no tmpfs mount here (%s)\n", strerror(errno));
                skip();
        }
        small_fd = open(small, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(small_fd >= 0);
        {
                int pipefd[2];
                pthread_t t;
                Feeder fe;
                int r;

                assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
                fe = (Feeder){ .fd = pipefd[1], .b = &tar };
                assert_int_equal(pthread_create(&t, NULL, feed, &fe), 0);
                r = img_layer_unpack(pipefd[0], small_fd, "full", NULL, NULL, &e);
                close(pipefd[0]);
                pthread_join(t, NULL);
                assert_int_equal(r, -ENOSPC);
        }
        assert_non_null(strstr(e->msg, "layer entry 'big': write: No space left on device"));
        error_free(e);
        {
                DIR *d = fdopendir(dup(small_fd));
                struct dirent *de;
                temps = 0;
                while ((de = readdir(d)))
                        temps += de->d_name[0] != '.' || strncmp(de->d_name, ".tmp-", 5) == 0;
                closedir(d);
        }
        close(TAKE_FD(small_fd));
        assert_int_equal(umount2(small, MNT_DETACH), 0);
        assert_int_equal(temps, 0);
        buf_done(&tar);
}

typedef struct Job {
        Fixture *f;
        const char *name;
        const Buf *layer; /* fed through a pipe, or else: */
        int in_fd;        /* read as it is */
        int r;
        ImgLayerInfo info;
} Job;

static void *unpack_job(void *arg)
{
        Job *j = arg;
        int pipefd[2];
        pthread_t t;
        Feeder fe;

        if (!j->layer) {
                j->r = img_layer_unpack(j->in_fd, j->f->layers_fd, j->name, NULL, &j->info, NULL);
                return NULL;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                j->r = -errno;
                return NULL;
        }
        fe = (Feeder){ .fd = pipefd[1], .b = j->layer };
        pthread_create(&t, NULL, feed, &fe);
        j->r = img_layer_unpack(pipefd[0], j->f->layers_fd, j->name, NULL, &j->info, NULL);
        close(pipefd[0]);
        pthread_join(t, NULL);
        return NULL;
}

/* Threads unpacking different layers, and the same one, at the same time. */
static void test_concurrent(void **state)
{
        Fixture *f = *state;
        Entry *entries = xnew0(Entry, 402);
        char names[400][16];
        Buf tar, gz;
        int temps;

        for (int i = 0; i < 400; i++) {
                snprintf(names[i], sizeof(names[i]), "d%02d/f%03d", i % 20, i);
                entries[i] = (Entry){ .path = names[i], .data = names[i] };
        }
        entries[400] = (Entry){ .path = "d00", .type = AE_IFDIR, .mtime = 1200000000 };
        entries[401] = (Entry){ .path = "link", .link = "d00/f000", .is_hardlink = true };
        tar = make_tar(entries, 402);
        gz = compress(&tar, "gzip");

        for (int round = 0; round < 10; round++) {
                char same[16], other[16];
                Job jobs[3];
                pthread_t threads[3];

                snprintf(same, sizeof(same), "same%d", round);
                snprintf(other, sizeof(other), "other%d", round);
                jobs[0] = (Job){ .f = f, .name = same, .layer = &gz };
                jobs[1] = (Job){ .f = f, .name = same, .layer = &tar };
                jobs[2] = (Job){ .f = f, .name = other, .layer = &gz };
                for (int i = 0; i < 3; i++)
                        assert_int_equal(pthread_create(&threads[i], NULL, unpack_job, &jobs[i]), 0);
                for (int i = 0; i < 3; i++) {
                        pthread_join(threads[i], NULL);
                        assert_int_equal(jobs[i].r, 0);
                        img_layer_info_done(&jobs[i].info);
                }
        }
        assert_int_equal(count_layers(f, &temps), 20);
        assert_int_equal(temps, 0);
        {
                _cleanup_close_ int fd = open_layer(f, "same9");
                struct stat st;
                assert_content(fd, "d19/f399", "d19/f399");
                assert_int_equal(fstatat(fd, "d00", &st, 0), 0);
                assert_int_equal(st.st_mtim.tv_sec, 1200000000);
        }
        free(entries);
        buf_done(&tar);
        buf_done(&gz);
}

/* Writes into fd the first half of b, signals halfway_fd, waits on resume_fd, writes the rest. */
typedef struct PausedFeeder {
        int fd, halfway_fd, resume_fd;
        const Buf *b;
} PausedFeeder;

static void *feed_paused(void *arg)
{
        PausedFeeder *pf = arg;
        size_t half = pf->b->len / 2;
        Buf rest = { .p = pf->b->p + half, .len = pf->b->len - half };
        Feeder fe = { .fd = pf->fd, .b = &rest };
        char c = 0;

        for (size_t off = 0; off < half;) {
                ssize_t n = write(pf->fd, pf->b->p + off, half - off);
                if (n <= 0)
                        abort();
                off += (size_t)n;
        }
        if (write(pf->halfway_fd, &c, 1) != 1 || read(pf->resume_fd, &c, 1) != 1)
                abort();
        return feed(&fe);
}

/* Temporaries of dead unpackers are swept; a live unpacker's (locked) is not, whatever process. */
static void test_remove_stale(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *big = xmalloc(4 << 20);
        _cleanup_close_ int locked = -EBADF;
        int halfway[2], resume[2], pipefd[2], temps;
        pthread_t feeder, unpacker;
        Error *e = NULL;
        PausedFeeder pf;
        Job job;
        Buf tar;
        char c;

        /* Left by an unpacker that died, with content; a live one's; a finished layer. */
        assert_int_equal(mkdirat(f->layers_fd, ".tmp-dead-AAAAAA", 0700), 0);
        assert_int_equal(mkdirat(f->layers_fd, ".tmp-dead-AAAAAA/usr", 0755), 0);
        assert_int_equal(mkdirat(f->layers_fd, ".tmp-live-BBBBBB", 0700), 0);
        assert_int_equal(mkdirat(f->layers_fd, "done", 0755), 0);
        locked = openat(f->layers_fd, ".tmp-live-BBBBBB", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(flock(locked, LOCK_EX), 0);
        assert_int_equal(img_layer_remove_stale(f->layers_fd, &e), 1);
        assert_false(exists_at(f->layers_fd, ".tmp-dead-AAAAAA"));
        assert_true(exists_at(f->layers_fd, ".tmp-live-BBBBBB"));
        assert_true(exists_at(f->layers_fd, "done"));
        close(TAKE_FD(locked));
        assert_int_equal(img_layer_remove_stale(f->layers_fd, &e), 1);
        assert_int_equal(count_layers(f, NULL), 1);

        /* A real unpacker, paused halfway through its input while the sweep runs: a pipe holds
         * 64 KiB, so once 2 MiB are written the unpacker is well into the layer. */
        memset(big, 'b', (4 << 20) - 1);
        big[(4 << 20) - 1] = 0;
        {
                const Entry entries[] = { { .path = "a", .data = "a" }, { .path = "big", .data = big } };
                tar = make_tar(entries, 2);
        }
        assert_int_equal(pipe2(halfway, O_CLOEXEC), 0);
        assert_int_equal(pipe2(resume, O_CLOEXEC), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pf = (PausedFeeder){ .fd = pipefd[1], .halfway_fd = halfway[1], .resume_fd = resume[0], .b = &tar };
        job = (Job){ .f = f, .name = "paused", .in_fd = pipefd[0] };
        assert_int_equal(pthread_create(&feeder, NULL, feed_paused, &pf), 0);
        assert_int_equal(pthread_create(&unpacker, NULL, unpack_job, &job), 0);
        assert_int_equal(read(halfway[0], &c, 1), 1);
        assert_int_equal(count_layers(f, &temps), 2);
        assert_int_equal(temps, 1);
        assert_int_equal(img_layer_remove_stale(f->layers_fd, &e), 0);
        assert_int_equal(write(resume[1], &c, 1), 1);
        pthread_join(unpacker, NULL);
        pthread_join(feeder, NULL);
        assert_int_equal(job.r, 0);
        img_layer_info_done(&job.info);
        assert_int_equal(count_layers(f, &temps), 2);
        assert_int_equal(temps, 0);
        {
                _cleanup_close_ int fd = open_layer(f, "paused");
                assert_content(fd, "a", "a");
        }
        close(pipefd[0]);
        close(halfway[0]);
        close(halfway[1]);
        close(resume[0]);
        close(resume[1]);
        buf_done(&tar);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_compressions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hardlink_with_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_diff_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_stale, setup, teardown),
        };

        if (geteuid() != 0) {
                fprintf(stderr, "test-image-layer: needs root (owners, device nodes, trusted.* xattrs)\n");
                return 77;
        }
        signal(SIGPIPE, SIG_IGN);
        /* A UTF-8 process locale: pax names are then written as UTF-8 (as Go's archive/tar does), and
         * the unpacker must still keep their bytes (no NFC rewrite). */
        if (!setlocale(LC_ALL, "C.UTF-8")) {
                fprintf(stderr, "test-image-layer: no C.UTF-8 locale\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
