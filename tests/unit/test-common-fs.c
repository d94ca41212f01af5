/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common-fs.c: file helpers, tree removal and the in-root path walk, in a temp directory */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"

/* The group's temp directory; each test works in a subdirectory named after it. */
typedef struct Tmp {
        char path[256];
        int fd;
} Tmp;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        /* Make a directory a test chmod'ed to 0 removable again (not needed as root, harmless). */
        if (flag == FTW_DP)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes a tree without following symlinks, independently of rm_rf_at() (which is under test). */
static void remove_tree(const char *path)
{
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int group_setup(void **state)
{
        Tmp *t = xnew0(Tmp, 1);

        char tmpl[] = "/tmp/hull-test-fs-XXXXXX";

        /* The real path: tests compare it with what /proc/self/fd links show. */
        char real[PATH_MAX];

        if (!mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof(t->path))
                return -1;
        memcpy(t->path, real, strlen(real) + 1);
        t->fd = open(t->path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (t->fd < 0)
                return -1;
        umask(022);
        *state = t;
        return 0;
}

static int group_teardown(void **state)
{
        Tmp *t = *state;

        close(t->fd);
        remove_tree(t->path);
        free(t);
        return 0;
}

/* Creates (emptied) subdirectory name of the group dir; returns its fd and, optionally, its path. */
static int subdir(Tmp *t, const char *name, char *ret_path)
{
        char p[PATH_MAX];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", t->path, name);
        remove_tree(p);
        assert_int_equal(mkdir(p, 0755), 0);
        fd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (ret_path)
                snprintf(ret_path, PATH_MAX, "%s", p);
        return fd;
}

static void put(int dfd, const char *path, const char *content)
{
        int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
}

/* The content of dfd/path (tests use small files) or NULL if it cannot be read. */
static char *get(int dfd, const char *path)
{
        char buf[4096];
        int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return NULL;
        buf[n] = 0;
        return xstrdup(buf);
}

static void assert_content(int dfd, const char *path, const char *want)
{
        _cleanup_free_ char *s = get(dfd, path);
        if (!s)
                fail_msg("cannot read '%s'", path);
        assert_string_equal(s, want);
}

/* mkdir -p of path below dfd, done here rather than with the mkdir_p() under test. */
static void mkdirs(int dfd, const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p; *s; s++) {
                if (*s != '/' || s == p)
                        continue;
                *s = 0;
                if (mkdirat(dfd, p[0] == '/' ? p + 1 : p, 0755) < 0 && errno != EEXIST)
                        fail_msg("mkdir '%s': %s", p, strerror(errno));
                *s = '/';
        }
        if (mkdirat(dfd, p[0] == '/' ? p + 1 : p, 0755) < 0 && errno != EEXIST)
                fail_msg("mkdir '%s': %s", p, strerror(errno));
}

static bool exists_at(int dfd, const char *path)
{
        struct stat st;
        return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static size_t count_entries(int dfd)
{
        int fd = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        DIR *d = fdopendir(fd);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

/* -------- reading -------- */

static void test_fd_read_all_file(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "read-file", NULL);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = xmalloc(300000);
        _cleanup_free_ char *got = NULL;
        size_t len = 0;

        /* Larger than any first buffer, with NULs inside: the length, not strlen, counts. */
        for (size_t i = 0; i < 300000; i++)
                data[i] = (char)(i * 7 % 251);
        fd = openat(dfd, "big", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, 300000), 300000);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

        assert_int_equal(fd_read_all(fd, &got, &len, NULL), 0);
        assert_int_equal(len, 300000);
        assert_memory_equal(got, data, 300000);
        assert_int_equal(got[len], 0);
}

static void test_fd_read_all_empty_and_no_len(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "read-empty", NULL);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *got = NULL;
        _cleanup_free_ char *got2 = NULL;
        size_t len = 99;

        put(dfd, "empty", "");
        put(dfd, "small", "abc");
        fd = openat(dfd, "empty", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fd_read_all(fd, &got, &len, NULL), 0);
        assert_int_equal(len, 0);
        assert_string_equal(got, "");
        close(fd);
        fd = openat(dfd, "small", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fd_read_all(fd, &got2, NULL, NULL), 0);
        assert_string_equal(got2, "abc");
}

static void test_fd_read_all_pipe(void **state)
{
        int p[2];
        pid_t pid;
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        int status;

        /* A writer that sends in small pieces with pauses: short reads must be concatenated. */
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                for (int i = 0; i < 50; i++) {
                        char chunk[1000];
                        memset(chunk, 'a' + i % 26, sizeof(chunk));
                        if (write(p[1], chunk, sizeof(chunk)) != sizeof(chunk))
                                _exit(1);
                        if (i % 10 == 0)
                                usleep(1000);
                }
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(fd_read_all(p[0], &got, &len, NULL), 0);
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(status, 0);
        assert_int_equal(len, 50000);
        for (size_t i = 0; i < len; i++)
                if (got[i] != 'a' + (char)((i / 1000) % 26))
                        fail_msg("byte %zu is '%c'", i, got[i]);
}

static void test_fd_read_all_error(void **state)
{
        Tmp *t = *state;
        _cleanup_error_ Error *e = NULL;
        char *got = (char *)0x1;

        /* A directory cannot be read(): the error comes back as -errno with a message. */
        assert_int_equal(fd_read_all(t->fd, &got, NULL, &e), -EISDIR);
        assert_non_null(e);
        assert_int_equal(e->code, EISDIR);
        assert_ptr_equal(got, (char *)0x1);
}

static void test_read_file_at(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int dfd = subdir(t, "read-at", path);
        _cleanup_free_ char *got = NULL;
        _cleanup_free_ char *abs = NULL;
        _cleanup_free_ char *abspath = NULL;
        _cleanup_error_ Error *e = NULL;
        size_t len = 0;

        assert_int_equal(mkdirat(dfd, "sub", 0755), 0);
        put(dfd, "sub/f", "hello\n");
        assert_int_equal(read_file_at(dfd, "sub/f", &got, &len, NULL), 0);
        assert_string_equal(got, "hello\n");
        assert_int_equal(len, 6);

        /* An absolute path ignores dirfd, as openat() does. */
        abspath = xasprintf("%s/sub/f", path);
        assert_int_equal(read_file_at(AT_FDCWD, abspath, &abs, NULL, NULL), 0);
        assert_string_equal(abs, "hello\n");

        assert_int_equal(read_file_at(dfd, "sub/missing", &got, NULL, &e), -ENOENT);
        assert_non_null(strstr(e->msg, "sub/missing"));
}

/* -------- writing -------- */

static void test_write_file_at(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "write-at", NULL);
        _cleanup_error_ Error *e = NULL;

        put(dfd, "knob", "");
        assert_int_equal(write_file_at(dfd, "knob", "max 100000", NULL), 0);
        assert_content(dfd, "knob", "max 100000");

        /* It never creates: cgroup and proc knobs exist or the kernel lacks them. */
        assert_int_equal(write_file_at(dfd, "absent", "1", &e), -ENOENT);
        assert_non_null(strstr(e->msg, "absent"));
        assert_false(exists_at(dfd, "absent"));
}

static void test_write_file_at_truncates(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "write-at-trunc", NULL);

        /* The header promises O_TRUNC: a shorter value must not leave the tail of the old one. */
        put(dfd, "file", "hello world");
        assert_int_equal(write_file_at(dfd, "file", "ab", NULL), 0);
        assert_content(dfd, "file", "ab");
}

static void test_write_atomic_new(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "atomic-new", NULL);
        static const char data[] = "state\0with a NUL";
        struct stat st;
        char buf[64];
        int fd;

        assert_int_equal(write_file_atomic_at(dfd, "state.json", data, sizeof(data), 0600, NULL), 0);
        assert_int_equal(fstatat(dfd, "state.json", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, sizeof(data));
        fd = openat(dfd, "state.json", O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(data));
        close(fd);
        assert_memory_equal(buf, data, sizeof(data));
        /* No temporary file is left behind. */
        assert_int_equal(count_entries(dfd), 1);

        assert_int_equal(write_file_atomic_at(dfd, "pid", "123", 3, 0640, NULL), 0);
        assert_int_equal(fstatat(dfd, "pid", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_content(dfd, "pid", "123");
        assert_int_equal(count_entries(dfd), 2);
}

static void test_write_atomic_replaces(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "atomic-replace", NULL);
        _cleanup_close_ int old = -EBADF;
        struct stat st, st_old;
        char buf[64];
        ssize_t n;

        put(dfd, "f", "old content that is long");
        assert_int_equal(fchmodat(dfd, "f", 0644, 0), 0);
        old = openat(dfd, "f", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fstat(old, &st_old), 0);

        assert_int_equal(write_file_atomic_at(dfd, "f", "new", 3, 0600, NULL), 0);
        assert_content(dfd, "f", "new");
        assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        /* A new inode: a reader holding the old file still sees all of the old content. */
        assert_true(st.st_ino != st_old.st_ino);
        n = pread(old, buf, sizeof(buf) - 1, 0);
        assert_true(n >= 0);
        buf[n] = 0;
        assert_string_equal(buf, "old content that is long");
        assert_int_equal(count_entries(dfd), 1);
}

static void test_write_atomic_replaces_symlink_not_target(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int dfd = subdir(t, "atomic-symlink", path);
        _cleanup_free_ char *target = xasprintf("%s/target", path);
        struct stat st;

        put(dfd, "target", "precious");
        assert_int_equal(symlinkat(target, dfd, "link"), 0);
        assert_int_equal(write_file_atomic_at(dfd, "link", "new", 3, 0644, NULL), 0);
        assert_content(dfd, "target", "precious");
        assert_int_equal(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_content(dfd, "link", "new");
}

static void test_write_atomic_rename_fails(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "atomic-fail", NULL);
        _cleanup_error_ Error *e = NULL;
        struct stat st;
        int r;

        /* A non-empty directory in the way: rename(2) fails, the old one stays, nothing is left over. */
        assert_int_equal(mkdirat(dfd, "f", 0755), 0);
        put(dfd, "f/inside", "keep");
        r = write_file_atomic_at(dfd, "f", "new", 3, 0644, &e);
        assert_true(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST);
        assert_non_null(e);
        assert_non_null(strstr(e->msg, "'f'"));
        assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_content(dfd, "f/inside", "keep");
        assert_int_equal(count_entries(dfd), 1);

        e = error_free(e);
        /* A missing parent directory fails at create time. */
        assert_int_equal(write_file_atomic_at(dfd, "nodir/f", "x", 1, 0644, &e), -ENOENT);
        assert_non_null(e);
        assert_int_equal(count_entries(dfd), 1);
}

/* -------- mkdir_p -------- */

static void test_mkdir_p(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int dfd = subdir(t, "mkdir-p", path);
        _cleanup_free_ char *deep = xasprintf("%s/a/b/c/d", path);
        _cleanup_free_ char *messy = xasprintf("%s//x///y/", path);
        struct stat st;

        assert_int_equal(mkdir_p(deep, 0750, NULL), 0);
        assert_int_equal(fstatat(dfd, "a/b/c/d", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(fstatat(dfd, "a", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        /* Existing is fine. */
        assert_int_equal(mkdir_p(deep, 0750, NULL), 0);
        assert_int_equal(mkdir_p(path, 0750, NULL), 0);

        assert_int_equal(mkdir_p(messy, 0755, NULL), 0);
        assert_int_equal(fstatat(dfd, "x/y", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
}

static void test_mkdir_p_relative(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "mkdir-p-rel", NULL);
        int cwd = open(".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct stat st;
        int r;

        assert_true(cwd >= 0);
        assert_int_equal(fchdir(dfd), 0);
        r = mkdir_p("r1/r2", 0755, NULL);
        assert_int_equal(fchdir(cwd), 0);
        close(cwd);
        assert_int_equal(r, 0);
        assert_int_equal(fstatat(dfd, "r1/r2", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
}

static void test_mkdir_p_file_in_the_way(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int dfd = subdir(t, "mkdir-p-file", path);
        _cleanup_free_ char *under = xasprintf("%s/file/sub", path);
        _cleanup_free_ char *itself = xasprintf("%s/file", path);
        _cleanup_error_ Error *e = NULL;
        _cleanup_error_ Error *e2 = NULL;
        int r;

        put(dfd, "file", "x");
        assert_int_equal(mkdir_p(under, 0755, &e), -ENOTDIR);
        assert_non_null(e);
        /* The path itself being a file is no directory either: "mkdir -p" fails there too. */
        r = mkdir_p(itself, 0755, &e2);
        if (r >= 0)
                fail_msg("mkdir_p on an existing regular file returned %d", r);
        assert_true(r == -EEXIST || r == -ENOTDIR);
        assert_non_null(e2);
}

/* -------- rm_rf_at -------- */

static void test_rm_rf_tree(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "rm-tree", NULL);
        char name[64];

        assert_int_equal(mkdirat(dfd, "t", 0755), 0);
        assert_int_equal(mkdirat(dfd, "t/a", 0755), 0);
        assert_int_equal(mkdirat(dfd, "t/a/b", 0755), 0);
        assert_int_equal(mkdirat(dfd, "t/a/empty", 0755), 0);
        put(dfd, "t/f", "1");
        put(dfd, "t/a/f", "2");
        put(dfd, "t/a/b/f", "3");
        assert_int_equal(mkfifoat(dfd, "t/a/fifo", 0600), 0);
        assert_int_equal(symlinkat("b/f", dfd, "t/a/rel-link"), 0);
        assert_int_equal(symlinkat("/nonexistent/dangling", dfd, "t/a/b/dangling"), 0);
        /* A directory without permissions (root gets in anyway; others would fail honestly). */
        assert_int_equal(mkdirat(dfd, "t/a/locked", 0755), 0);
        put(dfd, "t/a/locked/f", "4");
        assert_int_equal(fchmodat(dfd, "t/a/locked", geteuid() == 0 ? 0 : 0755, 0), 0);
        /* Many entries, so readdir() is called more than once while entries disappear. */
        assert_int_equal(mkdirat(dfd, "t/many", 0755), 0);
        for (int i = 0; i < 500; i++) {
                snprintf(name, sizeof(name), "t/many/file-with-a-long-name-%04d", i);
                put(dfd, name, "");
        }
        put(dfd, "sibling", "stays");

        assert_int_equal(rm_rf_at(dfd, "t", NULL), 0);
        assert_false(exists_at(dfd, "t"));
        assert_content(dfd, "sibling", "stays");
        assert_int_equal(count_entries(dfd), 1);
}

static void test_rm_rf_deep(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "rm-deep", NULL);
        _cleanup_close_ int cur = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

        for (int i = 0; i < 100; i++) {
                int next;
                assert_int_equal(mkdirat(cur, "d", 0755), 0);
                next = openat(cur, "d", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                assert_true(next >= 0);
                close(cur);
                cur = next;
        }
        put(cur, "leaf", "x");
        assert_int_equal(rm_rf_at(dfd, "d", NULL), 0);
        assert_int_equal(count_entries(dfd), 0);
}

static void test_rm_rf_symlinks_not_followed(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int dfd = subdir(t, "rm-symlinks", path);
        _cleanup_free_ char *outside = xasprintf("%s/outside", path);
        _cleanup_free_ char *outside_file = xasprintf("%s/outside/file", path);

        /* A directory outside the tree with content, reached by absolute and relative symlinks. */
        assert_int_equal(mkdirat(dfd, "outside", 0755), 0);
        assert_int_equal(mkdirat(dfd, "outside/sub", 0755), 0);
        put(dfd, "outside/file", "precious");
        put(dfd, "outside/sub/file", "precious too");

        assert_int_equal(mkdirat(dfd, "tree", 0755), 0);
        assert_int_equal(mkdirat(dfd, "tree/in", 0755), 0);
        assert_int_equal(symlinkat(outside, dfd, "tree/abs-dir"), 0);
        assert_int_equal(symlinkat("../../outside", dfd, "tree/in/rel-dir"), 0);
        assert_int_equal(symlinkat(outside_file, dfd, "tree/in/abs-file"), 0);
        assert_int_equal(symlinkat("../outside/sub", dfd, "tree/sub-link"), 0);

        assert_int_equal(rm_rf_at(dfd, "tree", NULL), 0);
        assert_false(exists_at(dfd, "tree"));
        assert_content(dfd, "outside/file", "precious");
        assert_content(dfd, "outside/sub/file", "precious too");

        /* A symlink named as the top itself is removed as a link. */
        assert_int_equal(symlinkat(outside, dfd, "top-link"), 0);
        assert_int_equal(rm_rf_at(dfd, "top-link", NULL), 0);
        assert_false(exists_at(dfd, "top-link"));
        assert_content(dfd, "outside/file", "precious");
        assert_content(dfd, "outside/sub/file", "precious too");
}

static void test_rm_rf_missing_and_file(void **state)
{
        Tmp *t = *state;
        _cleanup_close_ int dfd = subdir(t, "rm-misc", NULL);
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(rm_rf_at(dfd, "missing", &e), 0);
        assert_null(e);
        put(dfd, "file", "x");
        assert_int_equal(rm_rf_at(dfd, "file", NULL), 0);
        assert_false(exists_at(dfd, "file"));
        /* Only a missing entry is "already gone": a real failure on the way surfaces. */
        put(dfd, "notdir", "x");
        assert_int_equal(rm_rf_at(dfd, "notdir/child", &e), -ENOTDIR);
        assert_non_null(e);
}

/* -------- open_in_root -------- */

/* A fake root with etc/marker, plus symlinks that try to leave it. */
static int make_root(Tmp *t, const char *name, char *ret_path)
{
        int root = subdir(t, name, ret_path);

        assert_int_equal(mkdirat(root, "etc", 0755), 0);
        put(root, "etc/marker", "inside");
        assert_int_equal(mkdirat(root, "a", 0755), 0);
        assert_int_equal(mkdirat(root, "a/b", 0755), 0);
        assert_int_equal(symlinkat("../../etc", root, "a/b/up"), 0);
        assert_int_equal(symlinkat("../../../../../../../../../../etc", root, "a/far-up"), 0);
        assert_int_equal(symlinkat("/etc", root, "abs"), 0);
        assert_int_equal(symlinkat("/etc/passwd", root, "passwd-link"), 0);
        return root;
}

static int openat2_works(void)
{
        int fd = open_in_root(AT_FDCWD, "/", O_PATH, 0, 0);
        if (fd == -ENOSYS)
                return 0;
        if (fd >= 0)
                close(fd);
        return 1;
}

static char *read_fd(int fd)
{
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        assert_true(n >= 0);
        buf[n] = 0;
        return xstrdup(buf);
}

static void test_open_in_root_relative_escape(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int root = -EBADF;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_close_ int fd2 = -EBADF;
        _cleanup_close_ int real = -EBADF;
        _cleanup_free_ char *s = NULL;
        _cleanup_free_ char *s2 = NULL;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        root = make_root(t, "root-rel", path);
        real = openat(root, "etc", O_PATH | O_DIRECTORY | O_CLOEXEC);

        fd = open_in_root(root, "a/b/up/marker", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        s = read_fd(fd);
        assert_string_equal(s, "inside");

        /* ".." past the root stays at the root, as it does at "/". */
        fd2 = open_in_root(root, "a/far-up/marker", O_RDONLY, 0, 0);
        assert_true(fd2 >= 0);
        s2 = read_fd(fd2);
        assert_string_equal(s2, "inside");
        close(fd2);
        fd2 = open_in_root(root, "a/b/up", O_PATH | O_DIRECTORY, 0, 0);
        assert_true(fd2 >= 0);
        assert_true(fd_same_inode(fd2, real));
        close(fd2);
        fd2 = open_in_root(root, "../../../../etc/marker", O_RDONLY, 0, 0);
        assert_true(fd2 >= 0);
        close(fd2);
        /* The real /etc/passwd is never reached. */
        assert_int_equal(open_in_root(root, "a/b/up/passwd", O_RDONLY, 0, 0), -ENOENT);
        assert_int_equal(open_in_root(root, "a/far-up/passwd", O_RDONLY, 0, 0), -ENOENT);
        assert_int_equal(open_in_root(root, "../../../../../etc/passwd", O_RDONLY, 0, 0), -ENOENT);
}

static void test_open_in_root_absolute_symlink(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int root = -EBADF;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_close_ int dir = -EBADF;
        _cleanup_close_ int real = -EBADF;
        _cleanup_close_ int host_etc = -EBADF;
        _cleanup_free_ char *s = NULL;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        root = make_root(t, "root-abs", path);
        real = openat(root, "etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        host_etc = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);

        fd = open_in_root(root, "abs/marker", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        s = read_fd(fd);
        assert_string_equal(s, "inside");
        dir = open_in_root(root, "abs", O_PATH | O_DIRECTORY, 0, 0);
        assert_true(dir >= 0);
        assert_true(fd_same_inode(dir, real));
        assert_false(fd_same_inode(dir, host_etc));

        assert_int_equal(open_in_root(root, "abs/passwd", O_RDONLY, 0, 0), -ENOENT);
        assert_int_equal(open_in_root(root, "passwd-link", O_RDONLY, 0, 0), -ENOENT);
        /* A leading "/" on the path itself also means the root. */
        close(fd);
        fd = open_in_root(root, "/abs/marker", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        assert_int_equal(open_in_root(root, "/etc/passwd", O_RDONLY, 0, 0), -ENOENT);
        close(dir);
        /* "" and "/" name the root itself. */
        dir = open_in_root(root, "", O_PATH | O_DIRECTORY, 0, 0);
        assert_true(dir >= 0);
        assert_true(fd_same_inode(dir, root));
        close(dir);
        dir = open_in_root(root, "///", O_PATH | O_DIRECTORY, 0, 0);
        assert_true(dir >= 0);
        assert_true(fd_same_inode(dir, root));
}

static void test_open_in_root_create_and_flags(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX], outside_path[PATH_MAX];
        _cleanup_close_ int root = -EBADF;
        _cleanup_close_ int outside = -EBADF;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int flags;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        root = make_root(t, "root-create", path);
        outside = subdir(t, "root-create-outside", outside_path);
        assert_int_equal(symlinkat(outside_path, root, "out"), 0);
        /* What "out" means inside the root. */
        mkdirs(root, outside_path);

        fd = open_in_root(root, "out/new", O_WRONLY | O_CREAT | O_EXCL, 0600, 0);
        assert_true(fd >= 0);
        assert_false(exists_at(outside, "new"));
        {
                _cleanup_free_ char *in = xasprintf("%s/new", outside_path + 1);
                assert_int_equal(fstatat(root, in, &st, 0), 0);
                assert_int_equal(st.st_mode & 07777, 0600);
        }
        /* O_CLOEXEC always. */
        flags = fcntl(fd, F_GETFD);
        assert_true(flags & FD_CLOEXEC);

        /* RESOLVE_NO_SYMLINKS as extra_resolve refuses any symlink on the way. */
        assert_int_equal(open_in_root(root, "abs/marker", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), -ELOOP);
        close(fd);
        fd = open_in_root(root, "etc/marker", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
        assert_true(fd >= 0);
}

/* -------- mkpath_in_root -------- */

static void test_mkpath_in_root_creates(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int root = subdir(t, "mkpath", path);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_close_ int check = -EBADF;
        struct stat st;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        fd = mkpath_in_root(root, "/a/b/c", false, NULL);
        assert_true(fd >= 0);
        assert_int_equal(fstatat(root, "a/b/c", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        check = openat(root, "a/b/c", O_PATH | O_CLOEXEC);
        assert_true(fd_same_inode(fd, check));
        assert_true(fcntl(fd, F_GETFL) & O_PATH);
        close(fd);
        close(check);

        fd = mkpath_in_root(root, "x//y/file", true, NULL);
        assert_true(fd >= 0);
        assert_int_equal(fstatat(root, "x/y/file", &st, 0), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 0);
        assert_int_equal(fstatat(root, "x/y", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        check = openat(root, "x/y/file", O_PATH | O_CLOEXEC);
        assert_true(fd_same_inode(fd, check));
        close(fd);

        /* Existing paths are fine, files keep their content, a trailing slash is harmless. */
        put(root, "x/y/file", "content");
        fd = mkpath_in_root(root, "x/y/file", true, NULL);
        assert_true(fd >= 0);
        assert_content(root, "x/y/file", "content");
        close(fd);
        fd = mkpath_in_root(root, "a/b/c/", false, NULL);
        assert_true(fd >= 0);
        close(fd);
        fd = mkpath_in_root(root, "a/b/", false, NULL);
        assert_true(fd >= 0);
        check = openat(root, "a/b", O_PATH | O_CLOEXEC);
        assert_true(fd_same_inode(fd, check));
}

static void test_mkpath_in_root_file_in_the_way(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX];
        _cleanup_close_ int root = subdir(t, "mkpath-file", path);
        _cleanup_error_ Error *e = NULL;
        int r;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        put(root, "f", "x");
        r = mkpath_in_root(root, "f/sub", false, &e);
        assert_int_equal(r, -ENOTDIR);
        assert_non_null(e);
}

/* True if fd's path (from /proc/self/fd) lies below dir. */
static bool fd_is_below(int fd, const char *dir)
{
        char buf[FD_PATH_MAX], target[PATH_MAX];
        ssize_t n = readlink(fd_path(fd, buf), target, sizeof(target) - 1);
        size_t len = strlen(dir);

        if (n < 0)
                return false;
        target[n] = 0;
        return strncmp(target, dir, len) == 0 && target[len] == '/';
}

static void test_mkpath_in_root_symlinked_parent(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX], outside_path[PATH_MAX];
        _cleanup_close_ int root = -EBADF;
        _cleanup_close_ int outside = -EBADF;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *inner = NULL;
        _cleanup_free_ char *rel = NULL;
        struct stat st;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        root = subdir(t, "mkpath-link", path);
        outside = subdir(t, "mkpath-link-outside", outside_path);
        /* The same path exists inside the root, so the links resolve there. */
        mkdirs(root, outside_path);
        inner = xasprintf("%s%s", path, outside_path);
        assert_int_equal(symlinkat(outside_path, root, "abs"), 0);
        rel = xasprintf("../../../../../../../../../..%s", outside_path);
        assert_int_equal(mkdirat(root, "d", 0755), 0);
        assert_int_equal(symlinkat(rel, root, "d/rel"), 0);

        fd = mkpath_in_root(root, "abs/sub/file", true, NULL);
        assert_true(fd >= 0);
        assert_true(fd_is_below(fd, path));
        assert_false(exists_at(outside, "sub"));
        assert_int_equal(fstatat(AT_FDCWD, inner, &st, 0), 0);
        {
                _cleanup_free_ char *f = xasprintf("%s/sub/file", inner);
                assert_int_equal(stat(f, &st), 0);
                assert_true(S_ISREG(st.st_mode));
        }
        close(fd);

        fd = mkpath_in_root(root, "d/rel/dir2/dir3", false, NULL);
        assert_true(fd >= 0);
        assert_true(fd_is_below(fd, path));
        assert_false(exists_at(outside, "dir2"));
        {
                _cleanup_free_ char *f = xasprintf("%s/dir2/dir3", inner);
                assert_int_equal(stat(f, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        assert_int_equal(count_entries(outside), 0);
}

static void test_mkpath_in_root_dangling_link(void **state)
{
        Tmp *t = *state;
        char path[PATH_MAX], outside_path[PATH_MAX];
        _cleanup_close_ int root = -EBADF;
        _cleanup_close_ int outside = -EBADF;
        _cleanup_error_ Error *e = NULL;
        int fd;

        if (!openat2_works()) {
                print_message("skipped: openat2(2) is not available\n");
                skip();
        }
        /* The link's target exists only outside the root: whatever happens, nothing is made there. */
        root = subdir(t, "mkpath-dangling", path);
        outside = subdir(t, "mkpath-dangling-outside", outside_path);
        assert_int_equal(symlinkat(outside_path, root, "abs"), 0);
        assert_int_equal(symlinkat("../../../../../../..//etc/hull-mkpath-test", root, "etcish"), 0);

        fd = mkpath_in_root(root, "abs/sub/file", true, &e);
        if (fd >= 0) {
                assert_true(fd_is_below(fd, path));
                close(fd);
        } else {
                assert_non_null(e);
        }
        assert_int_equal(count_entries(outside), 0);

        e = error_free(e);
        fd = mkpath_in_root(root, "etcish/sub", false, &e);
        if (fd >= 0) {
                assert_true(fd_is_below(fd, path));
                close(fd);
        }
        if (access("/etc/hull-mkpath-test", F_OK) == 0) {
                remove_tree("/etc/hull-mkpath-test");
                fail_msg("mkpath_in_root created /etc/hull-mkpath-test on the host");
        }
}

/* -------- close_fds_except -------- */

static bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

/*
 * In a child (so the test runner's fds survive): puts fds on 50..55 and 1000, calls
 * close_fds_except(from, keep) and exits with a bitmask of which of them are still open
 * (bits 0-5: 50..55, bit 6: 1000, bit 7: stderr).
 */
static int fds_left_after(int from, const int *keep, size_t n_keep)
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int mask = 0;
                if (null < 0)
                        _exit(255);
                for (int fd = 50; fd <= 55; fd++)
                        if (dup2(null, fd) < 0)
                                _exit(255);
                if (dup2(null, 1000) < 0)
                        _exit(255);
                close(null);
                if (close_fds_except(from, keep, n_keep) < 0)
                        _exit(254);
                for (int fd = 50; fd <= 55; fd++)
                        if (fd_is_open(fd))
                                mask |= 1 << (fd - 50);
                if (fd_is_open(1000))
                        mask |= 1 << 6;
                if (fd_is_open(STDERR_FILENO))
                        mask |= 1 << 7;
                _exit(mask);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_close_fds_except(void **state)
{
        const int keep[] = { 54, 51, -1, 51, 7 };
        const int keep_ends[] = { 55, 50 };
        const int keep_high[] = { 1000 };

        /* Kept in any order, duplicated, negative or below `from`: only 51 and 54 survive. */
        assert_int_equal(fds_left_after(50, keep, ARRAY_SIZE(keep)), (1 << 1) | (1 << 4) | (1 << 7));
        assert_int_equal(fds_left_after(50, NULL, 0), 1 << 7);
        assert_int_equal(fds_left_after(50, keep_ends, ARRAY_SIZE(keep_ends)), (1 << 0) | (1 << 5) | (1 << 7));
        assert_int_equal(fds_left_after(52, keep_high, ARRAY_SIZE(keep_high)), 0x3 | (1 << 6) | (1 << 7));
        /* from = 3 closes everything but stdio. */
        assert_int_equal(fds_left_after(3, NULL, 0), 1 << 7);
}

/* lock_file: made when missing, held until its fd closes; another open of the file cannot take it. */
static void test_lock_file(void **state)
{
        char dir[] = "/tmp/test-lock-file.XXXXXX";
        _cleanup_free_ char *path = NULL;
        Error *e = NULL;
        int fd, other;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/x.lock", dir);
        fd = lock_file(path, &e);
        assert_true(fd >= 0);
        other = open(path, O_RDWR | O_CLOEXEC);
        assert_true(other >= 0);
        assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
        close(fd);
        assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
        close(other);
        free(path);
        path = xasprintf("%s/no/such/dir.lock", dir);
        assert_int_equal(lock_file(path, &e), -ENOENT);
        assert_non_null(strstr(e->msg, "no/such/dir.lock"));
        error_free(e);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fd_read_all_file),
                cmocka_unit_test(test_fd_read_all_empty_and_no_len),
                cmocka_unit_test(test_fd_read_all_pipe),
                cmocka_unit_test(test_fd_read_all_error),
                cmocka_unit_test(test_read_file_at),
                cmocka_unit_test(test_write_file_at),
                cmocka_unit_test(test_write_file_at_truncates),
                cmocka_unit_test(test_write_atomic_new),
                cmocka_unit_test(test_write_atomic_replaces),
                cmocka_unit_test(test_write_atomic_replaces_symlink_not_target),
                cmocka_unit_test(test_write_atomic_rename_fails),
                cmocka_unit_test(test_mkdir_p),
                cmocka_unit_test(test_mkdir_p_relative),
                cmocka_unit_test(test_mkdir_p_file_in_the_way),
                cmocka_unit_test(test_rm_rf_tree),
                cmocka_unit_test(test_rm_rf_deep),
                cmocka_unit_test(test_rm_rf_symlinks_not_followed),
                cmocka_unit_test(test_rm_rf_missing_and_file),
                cmocka_unit_test(test_open_in_root_relative_escape),
                cmocka_unit_test(test_open_in_root_absolute_symlink),
                cmocka_unit_test(test_open_in_root_create_and_flags),
                cmocka_unit_test(test_mkpath_in_root_creates),
                cmocka_unit_test(test_mkpath_in_root_file_in_the_way),
                cmocka_unit_test(test_mkpath_in_root_symlinked_parent),
                cmocka_unit_test(test_mkpath_in_root_dangling_link),
                cmocka_unit_test(test_close_fds_except),
                cmocka_unit_test(test_lock_file),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
