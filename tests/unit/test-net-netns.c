/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-net-netns.c: network namespaces pinned on files, made and removed in a private mount namespace */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net-helpers.h"

typedef struct Fixture {
        char dir[64]; /* a scratch directory for the pinned namespaces */
} Fixture;

/* Each test in a network namespace of its own (this thread enters it; teardown comes back). */
static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);

        snprintf(f->dir, sizeof(f->dir), "/tmp/test-net-netns.XXXXXX");
        if (!mkdtemp(f->dir) || net_test_enter_new_netns() < 0) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

/* Unmounts and removes whatever a test left in its directory, failed or not. */
static int teardown(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *cmd = NULL;
        int r = 0;

        for (int i = 0; i < 200; i++) {
                _cleanup_free_ char *path = xasprintf("%s/ns%d", f->dir, i);
                while (umount2(path, MNT_DETACH) == 0)
                        ;
                (void)unlink(path);
        }
        cmd = xasprintf("rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                r = -1;
        free(f);
        if (net_test_leave_netns() < 0)
                r = -1;
        return r;
}

static char *ns_path(Fixture *f, int i)
{
        return xasprintf("%s/ns%d", f->dir, i);
}

static ino_t inode_of(const char *path)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_ino;
}

/* The flags of lo in the namespace pinned at path: asked through a socket made inside it. */
static short lo_flags_in(const char *path)
{
        struct ifreq ifr = {.ifr_name = "lo"};
        int ns_fd, fd;

        ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(ns_fd >= 0);
        fd = net_test_socket_in(ns_fd, SOCK_DGRAM, 0);
        close(ns_fd);
        assert_true(fd >= 0);
        assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
        close(fd);
        return ifr.ifr_flags;
}

static void test_create_pins_a_new_namespace(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a = ns_path(f, 0), *b = ns_path(f, 1);
        _cleanup_error_ Error *e = NULL;
        ino_t own = inode_of("/proc/thread-self/ns/net");

        assert_int_equal(net_netns_create(a, &e), 0);
        assert_null(e);
        assert_true(net_netns_is_pinned(a));
        /* A namespace of its own, and the caller is still in the one it was in. */
        assert_true(inode_of(a) != own);
        assert_int_equal(inode_of("/proc/thread-self/ns/net"), own);
        assert_int_equal(net_netns_create(b, &e), 0);
        assert_true(inode_of(b) != inode_of(a));
        /* lo is up inside; a namespace straight from unshare() has it down. */
        assert_true(lo_flags_in(a) & IFF_UP);
        assert_true(lo_flags_in(b) & IFF_UP);
        assert_false(lo_flags_in("/proc/thread-self/ns/net") & IFF_UP);

        assert_int_equal(net_netns_remove(a, &e), 0);
        assert_int_equal(net_netns_remove(b, &e), 0);
}

static void test_create_exists(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a = ns_path(f, 0), *plain = ns_path(f, 1), *want = NULL, *content = NULL;
        _cleanup_error_ Error *e1 = NULL, *e2 = NULL;
        FILE *fp;

        assert_int_equal(net_netns_create(a, NULL), 0);
        assert_int_equal(net_netns_create(a, &e1), -EEXIST);
        want = xasprintf("create network namespace '%s': File exists", a);
        assert_string_equal(e1->msg, want);
        /* The first is untouched. */
        assert_true(net_netns_is_pinned(a));
        assert_true(lo_flags_in(a) & IFF_UP);

        /* An existing plain file is never mounted over, nor removed. */
        fp = fopen(plain, "we");
        assert_non_null(fp);
        fputs("keep", fp);
        fclose(fp);
        assert_int_equal(net_netns_create(plain, &e2), -EEXIST);
        assert_false(net_netns_is_pinned(plain));
        fp = fopen(plain, "re");
        assert_non_null(fp);
        content = xmalloc(8);
        assert_non_null(fgets(content, 8, fp));
        fclose(fp);
        assert_string_equal(content, "keep");
}

static void test_create_failure_leaves_nothing(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *missing_dir = xasprintf("%s/nodir/ns0", f->dir);
        _cleanup_free_ char *want = NULL, *ro = xasprintf("%s/ro", f->dir), *in_ro = NULL;
        _cleanup_error_ Error *e1 = NULL, *e2 = NULL;
        struct stat st;

        assert_int_equal(net_netns_create(missing_dir, &e1), -ENOENT);
        want = xasprintf("create network namespace '%s': No such file or directory", missing_dir);
        assert_string_equal(e1->msg, want);

        /* A read-only directory (a read-only bind mount: root ignores mode bits). */
        assert_int_equal(mkdir(ro, 0755), 0);
        assert_int_equal(mount(ro, ro, NULL, MS_BIND, NULL), 0);
        assert_int_equal(mount(NULL, ro, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), 0);
        in_ro = xasprintf("%s/ns0", ro);
        assert_int_equal(net_netns_create(in_ro, &e2), -EROFS);
        assert_int_equal(lstat(in_ro, &st), -1);
        assert_int_equal(umount2(ro, 0), 0);
        assert_int_equal(rmdir(ro), 0);
}

static void test_remove(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a = ns_path(f, 0), *plain = ns_path(f, 1);
        _cleanup_error_ Error *e = NULL;
        struct stat st;
        int fd;

        assert_int_equal(net_netns_create(a, NULL), 0);
        assert_int_equal(net_netns_remove(a, &e), 0);
        assert_null(e);
        assert_false(net_netns_is_pinned(a));
        assert_int_equal(lstat(a, &st), -1);
        assert_int_equal(errno, ENOENT);
        /* Gone already: not an error. */
        assert_int_equal(net_netns_remove(a, &e), 0);
        /* A file made but never mounted (a crash between the two steps) goes too. */
        fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(net_netns_remove(plain, &e), 0);
        assert_int_equal(lstat(plain, &st), -1);
        assert_null(e);
}

/* The namespace lives on with no process in it: made by a child that exits, used after. */
static void test_alive_without_process(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a = ns_path(f, 0);
        NetLink *nl = NULL;
        int status, ns_fd;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                NetLink *child_nl = NULL;
                int fd;

                if (net_netns_create(a, NULL) < 0)
                        _exit(1);
                fd = open(a, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || net_link_open_in(fd, &child_nl, NULL) < 0 ||
                    net_bridge_create(child_nl, "keep0", 0, NULL) < 0)
                        _exit(2);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        assert_true(net_netns_is_pinned(a));
        ns_fd = open(a, O_RDONLY | O_CLOEXEC);
        assert_true(ns_fd >= 0);
        assert_int_equal(net_link_open_in(ns_fd, &nl, NULL), 0);
        close(ns_fd);
        assert_int_equal(net_link_exists(nl, "keep0"), 1);
        assert_int_equal(net_link_exists(nl, "lo"), 1);
        net_link_close(nl);
        assert_true(lo_flags_in(a) & IFF_UP);
        assert_int_equal(net_netns_remove(a, NULL), 0);
}

static void test_is_pinned_other_files(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *plain = ns_path(f, 0), *fifo = ns_path(f, 1), *uts = ns_path(f, 2);
        _cleanup_free_ char *missing = ns_path(f, 3);
        int fd;

        fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        assert_true(fd >= 0);
        close(fd);
        assert_false(net_netns_is_pinned(plain));
        assert_false(net_netns_is_pinned(f->dir));
        assert_false(net_netns_is_pinned(missing));
        /* Opening a FIFO for reading would wait for a writer. */
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_false(net_netns_is_pinned(fifo));
        /* A pinned namespace of another kind. */
        fd = open(uts, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(mount("/proc/self/ns/uts", uts, NULL, MS_BIND, NULL), 0);
        assert_false(net_netns_is_pinned(uts));
        assert_int_equal(net_netns_remove(uts, NULL), 0);
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(unlink(plain), 0);
}

static long now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* For the kernel's cost alone: a thread enters a new namespace and does nothing there. */
static int nothing(void *arg)
{
        return 0;
}

/*
 * Not a pass/fail check: the time net_netns_create() takes (median of 100), next to the kernel's own
 * cost for a new namespace (unshare in a fresh thread, median of 100), printed for the record.
 */
static void test_create_time(void **state)
{
        Fixture *f = *state;
        long full[100], bare[100];

        for (int i = 0; i < 100; i++) {
                _cleanup_free_ char *p = ns_path(f, i);
                long t0;
                int r;

                t0 = now_us();
                r = net_test_in_netns(-1, nothing, NULL);
                bare[i] = now_us() - t0;
                assert_int_equal(r, 0);

                t0 = now_us();
                assert_int_equal(net_netns_create(p, NULL), 0);
                full[i] = now_us() - t0;
        }
        for (int i = 0; i < 100; i++) {
                _cleanup_free_ char *p = ns_path(f, i);
                assert_int_equal(net_netns_remove(p, NULL), 0);
        }
        net_test_sort_times(full, 100);
        net_test_sort_times(bare, 100);
        fprintf(stderr,
                "# net_netns_create: median %ld us (p90 %ld us); thread + unshare alone: median %ld us\n",
                full[50], full[90], bare[50]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_pins_a_new_namespace, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_exists, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_failure_leaves_nothing, setup, teardown),
            cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
            cmocka_unit_test_setup_teardown(test_alive_without_process, setup, teardown),
            cmocka_unit_test_setup_teardown(test_is_pinned_other_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_time, setup, teardown),
            cmocka_unit_test(net_test_host_unchanged),
        };
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "skip: network and mount namespaces need root\n");
                return 77;
        }
        /* Every mount made here stays in a private mount namespace, gone with this process. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "skip: cannot make a private mount namespace: %s\n", strerror(errno));
                return 77;
        }
        r = net_test_init();
        if (r != 0)
                return r;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        net_test_fini();
        return r;
}
