/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* net-helpers.c: what the net suites share: network namespaces entered by threads, the host's links */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/cleanup.h"
#include "net-helpers.h"

/* The host's namespace, to come back to after a test; its links before the tests. */
static int host_ns_fd = -EBADF;
static char *host_links_before;

/* The host's links as "index:name," each, to see afterwards that none was touched. */
static char *host_links(void)
{
        struct if_nameindex *ifs = if_nameindex();
        char *s = xstrdup("");

        assert_non_null(ifs);
        for (struct if_nameindex *i = ifs; i->if_index; i++) {
                char *n = xasprintf("%s%u:%s,", s, i->if_index, i->if_name);
                free(s);
                s = n;
        }
        if_freenameindex(ifs);
        return s;
}

int net_test_init(void)
{
        int fd;

        host_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (host_ns_fd < 0) {
                fprintf(stderr, "skip: cannot open /proc/self/ns/net: %s\n", strerror(errno));
                return 77;
        }
        fd = net_test_new_netns();
        if (fd < 0) {
                fprintf(stderr, "skip: cannot make a network namespace: %s\n", strerror(-fd));
                net_test_fini();
                return 77;
        }
        close(fd);
        host_links_before = host_links();
        return 0;
}

void net_test_fini(void)
{
        host_links_before = mfree(host_links_before);
        if (host_ns_fd >= 0)
                close(host_ns_fd);
        host_ns_fd = -EBADF;
}

int net_test_enter_new_netns(void)
{
        return unshare(CLONE_NEWNET) < 0 ? -errno : 0;
}

int net_test_leave_netns(void)
{
        return setns(host_ns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

typedef struct InNetns {
        int ns_fd;
        int (*fn)(void *arg);
        void *arg;
        int r;
} InNetns;

/* A namespace is a property of a thread: this one changes it, and its end takes the change away. */
static void *in_netns_thread(void *p)
{
        InNetns *j = p;
        int r = j->ns_fd < 0 ? unshare(CLONE_NEWNET) : setns(j->ns_fd, CLONE_NEWNET);

        j->r = r < 0 ? -errno : j->fn(j->arg);
        return NULL;
}

int net_test_in_netns(int ns_fd, int (*fn)(void *arg), void *arg)
{
        InNetns j = {.ns_fd = ns_fd, .fn = fn, .arg = arg, .r = -EBADF};
        pthread_t t;

        if (pthread_create(&t, NULL, in_netns_thread, &j) != 0 || pthread_join(t, NULL) != 0)
                return -EAGAIN;
        return j.r;
}

static int open_own_netns(void *arg)
{
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int net_test_new_netns(void)
{
        return net_test_in_netns(-1, open_own_netns, NULL);
}

typedef struct SocketJob {
        int type, port;
} SocketJob;

static int make_socket(void *arg)
{
        const SocketJob *j = arg;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)j->port)};
        int fd, one = 1, r;

        fd = socket(AF_INET, j->type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (j->port == 0)
                return fd;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            (j->type == SOCK_STREAM && listen(fd, 16) < 0)) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int net_test_socket_in(int ns_fd, int type, int port)
{
        SocketJob j = {.type = type, .port = port};

        /* A negative ns_fd would make a new namespace, and the socket would be its only tie to it. */
        if (ns_fd < 0)
                return -EBADF;
        return net_test_in_netns(ns_fd, make_socket, &j);
}

void net_test_assert_host_unchanged(void)
{
        _cleanup_free_ char *after = host_links();

        assert_non_null(host_links_before);
        assert_string_equal(after, host_links_before);
}

void net_test_host_unchanged(void **state)
{
        net_test_assert_host_unchanged();
}

static int cmp_long(const void *a, const void *b)
{
        long x = *(const long *)a, y = *(const long *)b;

        return x < y ? -1 : x > y;
}

void net_test_sort_times(long *v, size_t n)
{
        qsort(v, n, sizeof(*v), cmp_long);
}
