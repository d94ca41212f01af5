/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-storage-tree.c: tree copies and streams keep owners, modes, xattrs, whiteouts, hard links and holes;
 * malformed streams are refused and leave nothing */
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
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "storage/tree.h"

#define MIB (INT64_C(1) << 20)

static char dir[64];

static char *path_in(const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

static void write_at(const char *path, off_t off, const char *data)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, data, strlen(data), off), (ssize_t)strlen(data));
        close(fd);
}

/* The tree every test copies: the kinds of entry an overlay's upper dir holds. */
static char *make_source(void)
{
        char *src = path_in("src");
        char p[256];

        assert_int_equal(mkdir(src, 0755), 0);
        snprintf(p, sizeof(p), "%s/sparse", src);
        write_at(p, 0, "head");
        write_at(p, 64 * MIB, "tail"); /* a 64 MiB hole between */
        snprintf(p, sizeof(p), "%s/owned", src);
        write_at(p, 0, "x");
        assert_int_equal(chown(p, 1234, 5678), 0);
        assert_int_equal(chmod(p, 04750), 0);
        snprintf(p, sizeof(p), "%s/sub", src);
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
        snprintf(p, sizeof(p), "%s/sub/a", src);
        write_at(p, 0, "linked");
        {
                char q[256];
                snprintf(q, sizeof(q), "%s/b", src);
                assert_int_equal(link(p, q), 0);
        }
        snprintf(p, sizeof(p), "%s/sub/gone", src);
        assert_int_equal(mknod(p, S_IFCHR | 0000, makedev(0, 0)), 0);
        snprintf(p, sizeof(p), "%s/fifo", src);
        assert_int_equal(mkfifo(p, 0640), 0);
        snprintf(p, sizeof(p), "%s/link", src);
        assert_int_equal(symlink("sub/a", p), 0);
        snprintf(p, sizeof(p), "%s/ro", src);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/ro/inside", src);
        write_at(p, 0, "in a read-only dir");
        snprintf(p, sizeof(p), "%s/ro", src);
        assert_int_equal(chmod(p, 0555), 0);
        return src;
}

static void check_copy(const char *dst)
{
        char p[256], q[256], buf[64];
        struct stat st, st2;
        ssize_t n;

        snprintf(p, sizeof(p), "%s/sparse", dst);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_size, 64 * MIB + 4);
        assert_true(st.st_blocks * 512 < 4 * MIB); /* the hole is a hole */
        snprintf(p, sizeof(p), "%s/owned", dst);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
        assert_int_equal(st.st_mode & 07777, 04750);
        snprintf(p, sizeof(p), "%s/sub", dst);
        n = getxattr(p, "trusted.overlay.opaque", buf, sizeof(buf));
        assert_int_equal(n, 1);
        assert_int_equal(buf[0], 'y');
        snprintf(p, sizeof(p), "%s/sub/a", dst);
        snprintf(q, sizeof(q), "%s/b", dst);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(stat(q, &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(st.st_nlink, 2);
        snprintf(p, sizeof(p), "%s/sub/gone", dst);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        snprintf(p, sizeof(p), "%s/fifo", dst);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0640);
        snprintf(p, sizeof(p), "%s/link", dst);
        n = readlink(p, buf, sizeof(buf) - 1);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "sub/a", 5);
        snprintf(p, sizeof(p), "%s/ro", dst);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0555);
        snprintf(p, sizeof(p), "%s/ro/inside", dst);
        {
                _cleanup_free_ char *text = NULL;
                assert_int_equal(read_file_at(AT_FDCWD, p, &text, NULL, NULL), 0);
                assert_string_equal(text, "in a read-only dir");
        }
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/var/tmp/hull-tree.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        rm_rf_at(AT_FDCWD, dir, NULL);
        return 0;
}

static void test_copy_keeps_everything(void **state)
{
        _cleanup_free_ char *src = make_source(), *dst = path_in("dst");
        _cleanup_error_ Error *err = NULL;

        assert_int_equal(stor_tree_copy(src, dst, &err), 0);
        check_copy(dst);
        /* Only the copy: no temporary left beside it. */
        {
                _cleanup_free_ char *tmp = xasprintf("%s.tmp-copy", dst);
                assert_int_equal(access(tmp, F_OK), -1);
        }
        assert_true(stor_tree_size(dst) > 0);
        assert_true(stor_tree_size(dst) < 4 * MIB);
        /* Not over an existing one. */
        assert_int_equal(stor_tree_copy(src, dst, &err), -EEXIST);
}

/* Runs stor_tree_send of src in a child writing to a pipe; returns the read end. */
static int send_in_child(const char *src, pid_t *ret_pid)
{
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                _exit(stor_tree_send(src, p[1], NULL) < 0 ? 1 : 0);
        }
        close(p[1]);
        *ret_pid = pid;
        return p[0];
}

static void test_stream_keeps_everything_and_stops_at_its_end(void **state)
{
        _cleanup_free_ char *src = make_source(), *dst = path_in("recv");
        _cleanup_error_ Error *err = NULL;
        int fd, status;
        pid_t pid;
        char c;

        fd = send_in_child(src, &pid);
        assert_int_equal(stor_tree_receive(fd, dst, &err), 0);
        /* Exactly to its end: nothing more was read, nothing more is there. */
        assert_int_equal(read(fd, &c, 1), 0);
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        check_copy(dst);
}

/* Feeds bytes to stor_tree_receive through a pipe. */
static int receive_bytes(const void *data, size_t len, const char *dst, Error **err)
{
        int p[2], r;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_true(len < 65536);
        assert_int_equal(write(p[1], data, len), (ssize_t)len);
        close(p[1]);
        r = stor_tree_receive(p[0], dst, err);
        close(p[0]);
        return r;
}

/* A stream of a root, then one record (raw bytes), then the ends. */
static size_t stream_with(char *out, const void *record, size_t len)
{
        static const char root[] = "HULLTREE1\n"
                                   "D\0\0" /* root, no name */
                                   "\xed\x41\0\0" "\0\0\0\0" "\0\0\0\0" "\0\0\0\0\0\0\0\0"
                                   "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\0\0\0\0";
        size_t n = sizeof(root) - 1;

        memcpy(out, root, n);
        memcpy(out + n, record, len);
        memcpy(out + n + len, "EZ", 2);
        return n + len + 2;
}

static void test_stream_refuses_bad_input(void **state)
{
        static const struct {
                const char *what;
                const char *record;
                size_t len;
        } bad[] = {
                { "dot-dot name", "N\x02\0..", 5 },
                { "slash in name", "N\x03\0a/b", 6 },
                { "link escaping", "L\x01\0x\x04\0../y", 10 },
                { "unknown type", "Q", 1 },
                /* a block device 8:0, mode 060600 */
                { "block device", "N\x01\0d" "\x80\x61\0\0" "\0\0\0\0" "\0\0\0\0" "\0\x08\0\0\0\0\0\0"
                                  "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\0\0\0\0", 52 },
        };
        _cleanup_free_ char *dst = path_in("bad");
        char buf[512];

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_error_ Error *err = NULL;
                size_t n = stream_with(buf, bad[i].record, bad[i].len);
                print_message("%s\n", bad[i].what);
                assert_true(receive_bytes(buf, n, dst, &err) < 0);
                assert_non_null(err);
                assert_int_equal(access(dst, F_OK), -1); /* nothing left */
        }
        {
                _cleanup_error_ Error *err = NULL;
                /* cut short, and not a stream at all */
                size_t n = stream_with(buf, "", 0);
                assert_int_equal(receive_bytes(buf, n - 2, dst, &err), -EBADMSG);
                assert_int_equal(access(dst, F_OK), -1);
                err = error_free(err);
                assert_int_equal(receive_bytes("GARBAGE!!!", 10, dst, &err), -EBADMSG);
                err = error_free(err);
                /* the good one works */
                assert_int_equal(receive_bytes(buf, n, dst, &err), 0);
                assert_int_equal(access(dst, F_OK), 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_copy_keeps_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stream_keeps_everything_and_stops_at_its_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stream_refuses_bad_input, setup, teardown),
        };

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (owners, trusted xattrs, device nodes)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
