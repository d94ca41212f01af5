/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-storage-disk.c: ext4 base disks checked with e2fsck and debugfs, qcow2 overlays written with qemu-io,
 * sparse copies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "storage/disk.h"

#define MIB (INT64_C(1) << 20)

static char dir[64];
static bool is_root;

static char *path_in(const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

/* Runs argv (found in PATH) with stdout, and stderr when with_stderr, captured in *ret_out; returns its exit
 * status. */
static int run_capture(char *const *argv, bool with_stderr, char **ret_out)
{
        int p[2], status;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                if (with_stderr)
                        dup2(p[1], STDERR_FILENO);
                else
                        dup2(open("/dev/null", O_WRONLY | O_CLOEXEC), STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        assert_int_equal(fd_read_all(p[0], ret_out, NULL, NULL), 0);
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(char *const *argv, char **ret_out)
{
        return run_capture(argv, true, ret_out);
}

/* debugfs -R 'request' image, its output. */
__attribute__((noinline)) static char *debugfs(const char *image, const char *request)
{
        char *argv[] = { "debugfs", "-R", (char *)request, (char *)image, NULL };
        char *out = NULL;
        /* Its banner goes to stderr: only what the request printed is kept. */
        assert_int_equal(run_capture(argv, false, &out), 0);
        return out;
}

/* The inode number debugfs's stat printed. */
static long inode_of(const char *stat_out)
{
        const char *p = strstr(stat_out, "Inode:");
        assert_non_null(p);
        return strtol(p + strlen("Inode:"), NULL, 10);
}

static void assert_contains(const char *haystack, const char *needle)
{
        if (!strstr(haystack, needle))
                fail_msg("'%s' not in:\n%s", needle, haystack);
}

static char *file_digest(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_(digest_freep) Digest *d = digest_new();
        char buf[65536];
        ssize_t n;

        assert_true(fd >= 0);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                digest_update(d, buf, (size_t)n);
        assert_int_equal(n, 0);
        return digest_finish(d);
}

/* Only name is left in the directory of path: no temporary file stayed behind. */
static void assert_dir_holds_only(const char *subdir, const char *name)
{
        _cleanup_free_ char *p = path_in(subdir);
        DIR *d = opendir(p);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (!name || strcmp(de->d_name, name) != 0)
                        fail_msg("unexpected '%s' in '%s'", de->d_name, p);
                n++;
        }
        closedir(d);
        assert_int_equal(n, name ? 1 : 0);
}

static void make_tree(const char *src)
{
        _cleanup_free_ char *x = xasprintf("%s/x", src), *sub = xasprintf("%s/sub", src);
        _cleanup_free_ char *y = xasprintf("%s/sub/y", src), *hard = xasprintf("%s/hard", src);
        _cleanup_free_ char *lnk = xasprintf("%s/link", src), *fifo = xasprintf("%s/fifo", src);
        _cleanup_free_ char *null = xasprintf("%s/null", src);

        assert_int_equal(mkdir(src, 0755), 0);
        assert_int_equal(mkdir(sub, 0750), 0);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, x, "hello hull\n", 11, 0644, NULL), 0);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, y, "y", 1, 0600, NULL), 0);
        assert_int_equal(symlink("x", lnk), 0);
        assert_int_equal(link(x, hard), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(setxattr(x, "user.hull", "yes", 3, 0), 0);
        if (is_root) {
                assert_int_equal(chown(x, 1000, 1001), 0);
                assert_int_equal(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0);
        }
}

static void test_make_base(void **state)
{
        _cleanup_free_ char *src = path_in("tree"), *out_dir = path_in("base"), *img = path_in("base/root.img");
        _cleanup_free_ char *fsck = NULL, *x = NULL, *cat = NULL, *lnk = NULL, *fifo = NULL, *hard = NULL;
        _cleanup_free_ char *dev = NULL, *sub = NULL, *super = NULL;
        char *fsck_argv[] = { "e2fsck", "-fn", img, NULL };
        char *dumpe2fs_argv[] = { "dumpe2fs", "-h", img, NULL };
        Error *e = NULL;
        struct stat st;

        make_tree(src);
        assert_int_equal(mkdir(out_dir, 0755), 0);
        if (stor_disk_make_base(src, img, 64 * MIB, &e) < 0)
                fail_msg("make_base: %s", e->msg);
        assert_dir_holds_only("base", "root.img");

        /* Room to grow, whole MiB, sparse. */
        assert_int_equal(stat(img, &st), 0);
        assert_true(st.st_size >= 256 * MIB);
        assert_int_equal(st.st_size % MIB, 0);
        assert_true(st.st_blocks * 512 < st.st_size / 4);

        assert_int_equal(run(fsck_argv, &fsck), 0);
        assert_int_equal(run(dumpe2fs_argv, &super), 0);
        assert_contains(super, "Filesystem volume name:   hull-root");
        assert_contains(super, "Block size:               4096");

        x = debugfs(img, "stat /x");
        assert_contains(x, "Type: regular");
        assert_contains(x, "Links: 2");
        assert_contains(x, "user.hull (3) = \"yes\"");
        cat = debugfs(img, "cat /x");
        assert_string_equal(cat, "hello hull\n");
        hard = debugfs(img, "stat /hard");
        assert_int_equal(inode_of(hard), inode_of(x));
        lnk = debugfs(img, "stat /link");
        assert_contains(lnk, "Type: symlink");
        assert_contains(lnk, "Fast link dest: \"x\"");
        fifo = debugfs(img, "stat /fifo");
        assert_contains(fifo, "Type: FIFO");
        assert_contains(fifo, "Mode:  0600");
        sub = debugfs(img, "stat /sub");
        assert_contains(sub, "Type: directory");
        assert_contains(sub, "Mode:  0750");
        if (is_root) {
                assert_contains(x, "User:  1000   Group:  1001");
                dev = debugfs(img, "stat /null");
                assert_contains(dev, "Type: character special");
                assert_contains(dev, "Device major/minor number: 01:03");
        }
}

static void test_make_base_min_size(void **state)
{
        _cleanup_free_ char *src = path_in("small"), *img = path_in("big.img");
        _cleanup_free_ char *file = xasprintf("%s/f", src);
        Error *e = NULL;
        struct stat st;

        assert_int_equal(mkdir(src, 0755), 0);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, file, "f", 1, 0644, NULL), 0);
        if (stor_disk_make_base(src, img, 1024 * MIB + 1, &e) < 0)
                fail_msg("make_base: %s", e->msg);
        assert_int_equal(stat(img, &st), 0);
        assert_int_equal(st.st_size, 1025 * MIB);
        assert_int_equal(unlink(img), 0);
}

static void test_make_base_errors(void **state)
{
        _cleanup_free_ char *missing = path_in("no-such-tree"), *out_dir = path_in("err");
        _cleanup_free_ char *img = path_in("err/root.img"), *file = path_in("err/file");
        _cleanup_free_ char *fake_dir = path_in("fake"), *fake = path_in("fake/mkfs.ext4");
        _cleanup_free_ char *old_path = xstrdup(getenv("PATH")), *new_path = NULL;
        static const char fake_mkfs[] = "#!/bin/sh\necho 'mkfs.ext4: bad things happened' >&2\nexit 3\n";
        Error *e = NULL;

        assert_int_equal(mkdir(out_dir, 0755), 0);
        assert_int_equal(stor_disk_make_base(missing, img, 0, &e), -ENOENT);
        assert_contains(e->msg, "no-such-tree");
        e = error_free(e);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, file, "", 0, 0644, NULL), 0);
        assert_int_equal(stor_disk_make_base(file, img, 0, &e), -ENOTDIR);
        e = error_free(e);
        assert_int_equal(unlink(file), 0);

        /* A failing mkfs: its stderr is in the message, and nothing is left behind. */
        assert_int_equal(mkdir(fake_dir, 0755), 0);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, fake, fake_mkfs, strlen(fake_mkfs), 0755, NULL), 0);
        new_path = xasprintf("%s:%s", fake_dir, old_path);
        setenv("PATH", new_path, 1);
        assert_int_equal(stor_disk_make_base(dir, img, 0, &e), -EIO);
        setenv("PATH", old_path, 1);
        assert_contains(e->msg, "status 3");
        assert_contains(e->msg, "mkfs.ext4: bad things happened");
        e = error_free(e);
        assert_dir_holds_only("err", NULL);
}

static void write_pattern(const char *path, int64_t size, char c)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char buf[4096];

        assert_true(fd >= 0);
        memset(buf, c, sizeof(buf));
        for (int64_t off = 0; off < size; off += (int64_t)sizeof(buf))
                assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
}

static void test_overlay(void **state)
{
        _cleanup_free_ char *base = path_in("base.raw"), *ovl = path_in("ovl.qcow2"), *ovl_rel = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *info_out = NULL, *io_out = NULL, *rd_out = NULL;
        _cleanup_free_ char *back_out = NULL, *cwd = getcwd(NULL, 0);
        _cleanup_json_ json_t *info = NULL;
        char *info_argv[] = { "qemu-img", "info", "--output=json", ovl, NULL };
        char *write_argv[] = { "qemu-io", "-c", "write -P 0xab 0 1M", ovl, NULL };
        char *read_argv[] = { "qemu-io", "-c", "read -P 0xab 0 1M", ovl, NULL };
        char *back_argv[] = { "qemu-io", "-c", "read -P 0x5a 2M 1M", ovl, NULL };
        Error *e = NULL;

        write_pattern(base, 8 * MIB, 0x5a);
        before = file_digest(base);
        /* A relative base is made absolute in the overlay. */
        assert_int_equal(chdir(dir), 0);
        e = NULL;
        if (stor_disk_make_overlay("base.raw", "ovl.qcow2", &e) < 0)
                fail_msg("overlay: %s", e->msg);
        assert_int_equal(chdir(cwd), 0);

        assert_int_equal(run(info_argv, &info_out), 0);
        assert_int_equal(json_parse(info_out, strlen(info_out), "qemu-img info", &info, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(info, "format")), "qcow2");
        assert_string_equal(json_string_value(json_object_get(info, "backing-filename")), base);
        assert_string_equal(json_string_value(json_object_get(info, "backing-filename-format")), "raw");
        assert_int_equal(json_integer_value(json_object_get(info, "virtual-size")), 8 * MIB);

        assert_int_equal(run(write_argv, &io_out), 0);
        assert_contains(io_out, "wrote 1048576/1048576");
        assert_int_equal(run(read_argv, &rd_out), 0);
        assert_contains(rd_out, "read 1048576/1048576");
        assert_null(strstr(rd_out, "Pattern verification failed"));
        /* What was not written shows the base through. */
        assert_int_equal(run(back_argv, &back_out), 0);
        assert_null(strstr(back_out, "Pattern verification failed"));
        after = file_digest(base);
        assert_string_equal(before, after);

        /* No base, and a base qemu-img cannot use: its words are in the message. */
        ovl_rel = path_in("ovl2.qcow2");
        assert_int_equal(stor_disk_make_overlay("/nonexistent/base.raw", ovl_rel, &e), -ENOENT);
        e = error_free(e);
        assert_int_equal(stor_disk_make_overlay(dir, ovl_rel, &e), -EIO);
        assert_contains(e->msg, "qemu-img");
        fprintf(stderr, "# qemu-img on a directory: %s\n", e->msg);
        e = error_free(e);
        assert_int_equal(access(ovl_rel, F_OK), -1);
        assert_int_equal(unlink(ovl), 0);
        assert_int_equal(unlink(base), 0);
}

static void test_copy(void **state)
{
        _cleanup_free_ char *src = path_in("sparse.img"), *dst = path_in("copy.img"), *empty = path_in("empty.img");
        _cleanup_free_ char *empty_dst = path_in("empty-copy.img"), *d1 = NULL, *d2 = NULL;
        _cleanup_close_ int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        char buf[65536];
        Error *e = NULL;
        struct stat st;

        /* 1 MiB at 0, 1 MiB at 32 MiB, a hole to 64 MiB. */
        assert_true(fd >= 0);
        memset(buf, 'a', sizeof(buf));
        for (int i = 0; i < 16; i++)
                assert_int_equal(pwrite(fd, buf, sizeof(buf), i * (off_t)sizeof(buf)), sizeof(buf));
        memset(buf, 'b', sizeof(buf));
        for (int i = 0; i < 16; i++)
                assert_int_equal(pwrite(fd, buf, sizeof(buf), 32 * MIB + i * (off_t)sizeof(buf)), sizeof(buf));
        assert_int_equal(ftruncate(fd, 64 * MIB), 0);
        assert_int_equal(fchmod(fd, 0640), 0);

        if (stor_disk_copy(src, dst, &e) < 0)
                fail_msg("copy: %s", e->msg);
        d1 = file_digest(src);
        d2 = file_digest(dst);
        assert_string_equal(d1, d2);
        assert_int_equal(stat(dst, &st), 0);
        assert_int_equal(st.st_size, 64 * MIB);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_true(st.st_blocks * 512 <= 4 * MIB);

        /* All hole. */
        close(TAKE_FD(fd));
        fd = open(empty, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_int_equal(ftruncate(fd, 10 * MIB), 0);
        assert_int_equal(stor_disk_copy(empty, empty_dst, &e), 0);
        assert_int_equal(stat(empty_dst, &st), 0);
        assert_int_equal(st.st_size, 10 * MIB);
        assert_true(st.st_blocks * 512 <= 64 * 1024);

        assert_int_equal(stor_disk_copy("/nonexistent/disk", dst, &e), -ENOENT);
        e = error_free(e);
        assert_int_equal(stor_disk_copy(dir, empty_dst, &e), -EINVAL);
        error_free(e);
        unlink(src);
        unlink(dst);
        unlink(empty);
        unlink(empty_dst);
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/hull-disk-test.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf_at(AT_FDCWD, dir, NULL) < 0 ? -1 : 0;
}

/* Why this cannot run here, or NULL. */
static const char *tools_missing(void)
{
        static const char *const tools[] = { "mkfs.ext4", "e2fsck", "debugfs", "dumpe2fs", "qemu-img", "qemu-io" };
        for (size_t i = 0; i < ARRAY_SIZE(tools); i++) {
                _cleanup_free_ char *cmd = xasprintf("command -v %s >/dev/null", tools[i]);
                if (system(cmd) != 0)
                        return tools[i];
        }
        return NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_make_base),
                cmocka_unit_test(test_make_base_min_size),
                cmocka_unit_test(test_make_base_errors),
                cmocka_unit_test(test_overlay),
                cmocka_unit_test(test_copy),
        };
        const char *missing;

        /* debugfs and friends live in sbin. */
        if (getenv("PATH")) {
                _cleanup_free_ char *p = xasprintf("%s:/usr/sbin:/sbin", getenv("PATH"));
                setenv("PATH", p, 1);
        }
        missing = tools_missing();
        if (missing) {
                fprintf(stderr, "skip: no %s (e2fsprogs, qemu-utils)\n", missing);
                return 77;
        }
        is_root = geteuid() == 0;
        return cmocka_run_group_tests(tests, setup, teardown);
}
