/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-net-netlink.c: links, addresses, routes, taps and sysctls in throwaway network namespaces, read back
 * with ip */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/netlink.h"
#include "net-helpers.h"

typedef struct Fixture {
        int ns_fd;    /* a fresh network namespace, alive while this fd is open */
        int ns2_fd;   /* a second one, for veth peers and moves */
        NetLink *nl;  /* a socket in ns_fd */
        NetLink *nl2; /* a socket in ns2_fd */
} Fixture;

/* The output of the shell command cmd run inside the namespace ns_fd (entered by nsenter, not by us). */
static char *sh_in(int ns_fd, const char *cmd)
{
        _cleanup_free_ char *full =
            xasprintf("nsenter --net=/proc/%d/fd/%d sh -c '%s' 2>&1", (int)getpid(), ns_fd, cmd);
        char *out = xmalloc(65536);
        size_t n;
        FILE *p;

        p = popen(full, "r");
        assert_non_null(p);
        n = fread(out, 1, 65535, p);
        out[n] = '\0';
        if (pclose(p) != 0)
                fail_msg("'%s' failed:\n%s", cmd, out);
        return out;
}

/* The output of `ip -o ARGS` run inside the namespace ns_fd (entered by nsenter, not by us). */
static char *ip_in(int ns_fd, const char *args)
{
        _cleanup_free_ char *cmd = xasprintf("ip -o %s", args);

        return sh_in(ns_fd, cmd);
}

static void assert_ip_has(int ns_fd, const char *args, const char *needle)
{
        _cleanup_free_ char *out = ip_in(ns_fd, args);

        if (!strstr(out, needle))
                fail_msg("'ip -o %s' lacks '%s':\n%s", args, needle, out);
}

static void assert_ip_lacks(int ns_fd, const char *args, const char *needle)
{
        _cleanup_free_ char *out = ip_in(ns_fd, args);

        if (strstr(out, needle))
                fail_msg("'ip -o %s' has '%s':\n%s", args, needle, out);
}

static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);

        f->ns_fd = net_test_new_netns();
        f->ns2_fd = net_test_new_netns();
        if (f->ns_fd < 0 || f->ns2_fd < 0)
                return -1;
        if (net_link_open_in(f->ns_fd, &f->nl, NULL) < 0 || net_link_open_in(f->ns2_fd, &f->nl2, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

/* Closing the last fd of a namespace destroys it with every link still in it. */
static int teardown(void **state)
{
        Fixture *f = *state;

        net_link_close(f->nl);
        net_link_close(f->nl2);
        close(f->ns_fd);
        close(f->ns2_fd);
        free(f);
        return 0;
}

static ino_t own_netns_inode(void)
{
        struct stat st;

        assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
        return st.st_ino;
}

static void test_open_in_keeps_caller_ns(void **state)
{
        Fixture *f = *state;
        ino_t before = own_netns_inode();
        _cleanup_(error_freep) Error *e = NULL;
        NetLink *host = NULL, *other = NULL;

        assert_int_equal(net_link_open_in(f->ns_fd, &other, &e), 0);
        assert_int_equal(own_netns_inode(), before);
        assert_int_equal(net_link_open(&host, &e), 0);

        /* A bridge made through the namespace's socket is there and not in ours (read-only check). */
        assert_int_equal(net_bridge_create(other, "hullns0", 0, &e), 0);
        assert_int_equal(net_link_exists(f->nl, "hullns0"), 1);
        assert_int_equal(net_link_exists(host, "hullns0"), 0);
        assert_int_equal(net_link_exists(f->nl2, "hullns0"), 0);
        assert_int_equal(net_link_exists(host, "lo"), 1);

        assert_int_equal(net_link_open_in(-1, &other, &e), -EBADF);
        assert_non_null(e);
        net_link_close(other);
        net_link_close(host);
        assert_null(net_link_close(NULL));
}

static void test_bridge_create(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        int index = 0;

        assert_int_equal(net_bridge_create(f->nl, "hull0", 1400, &e), 0);
        assert_null(e);
        assert_int_equal(net_link_index(f->nl, "hull0", &index, &e), 0);
        assert_true(index > 1);
        assert_ip_has(f->ns_fd, "-d link show hull0", "mtu 1400");
        assert_ip_has(f->ns_fd, "-d link show hull0", "bridge");
        assert_ip_has(f->ns_fd, "link show hull0", "state DOWN");

        assert_int_equal(net_bridge_create(f->nl, "hull0", 0, &e), -EEXIST);
        assert_non_null(e);
        assert_string_equal(e->msg, "create bridge 'hull0': File exists");
        assert_int_equal(e->code, EEXIST);
}

static void test_veth_peer_in_other_ns(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;

        assert_int_equal(net_veth_create(f->nl, "vh0", "vp0", f->ns2_fd, 0, &e), 0);
        assert_int_equal(net_link_exists(f->nl, "vh0"), 1);
        assert_int_equal(net_link_exists(f->nl, "vp0"), 0);
        assert_int_equal(net_link_exists(f->nl2, "vp0"), 1);
        assert_int_equal(net_link_exists(f->nl2, "vh0"), 0);
        assert_ip_has(f->ns_fd, "-d link show vh0", "veth");
        assert_ip_has(f->ns2_fd, "-d link show vp0", "veth");

        /* Both ends in one namespace; then a taken name either side. */
        assert_int_equal(net_veth_create(f->nl, "va", "vb", -1, 0, &e), 0);
        assert_int_equal(net_link_exists(f->nl, "va"), 1);
        assert_int_equal(net_link_exists(f->nl, "vb"), 1);
        assert_int_equal(net_veth_create(f->nl, "va", "vc", -1, 0, &e), -EEXIST);
        assert_non_null(strstr(e->msg, "'va'"));
        e = error_free(e);
        assert_int_equal(net_veth_create(f->nl, "vd", "vp0", f->ns2_fd, 0, &e), -EEXIST);
        assert_int_equal(net_link_exists(f->nl, "vd"), 0);
}

static void test_master_up_rename(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        int index = 0, renamed_index = 0;

        assert_int_equal(net_bridge_create(f->nl, "br0", 0, &e), 0);
        assert_int_equal(net_veth_create(f->nl, "a0", "b0", -1, 0, &e), 0);
        assert_int_equal(net_link_set_master(f->nl, "a0", "br0", &e), 0);
        assert_ip_has(f->ns_fd, "link show a0", "master br0");

        assert_int_equal(net_link_set_up(f->nl, "br0", true, &e), 0);
        assert_int_equal(net_link_set_up(f->nl, "a0", true, &e), 0);
        assert_int_equal(net_link_set_up(f->nl, "b0", true, &e), 0);
        assert_ip_has(f->ns_fd, "link show a0", ",UP");
        assert_ip_has(f->ns_fd, "link show b0", "state UP");

        /* Kernels before 6.2 refuse to rename a link that is up; rename it down, as callers will. */
        assert_int_equal(net_link_set_up(f->nl, "a0", false, &e), 0);
        assert_ip_lacks(f->ns_fd, "link show a0", ",UP");
        assert_int_equal(net_link_index(f->nl, "a0", &index, &e), 0);
        assert_int_equal(net_link_rename(f->nl, "a0", "a1", &e), 0);
        assert_int_equal(net_link_exists(f->nl, "a0"), 0);
        assert_int_equal(net_link_index(f->nl, "a1", &renamed_index, &e), 0);
        assert_int_equal(renamed_index, index);
        assert_ip_has(f->ns_fd, "link show a1", "master br0");
        assert_int_equal(net_link_rename(f->nl, "a1", "br0", &e), -EEXIST);
        assert_string_equal(e->msg, "rename 'a1' to 'br0': File exists");
        e = error_free(e);

        /* No master detaches; a missing master is named in the error. */
        assert_int_equal(net_link_set_master(f->nl, "a1", NULL, &e), 0);
        assert_ip_lacks(f->ns_fd, "link show a1", "master");
        assert_int_equal(net_link_set_master(f->nl, "a1", "nobr", &e), -ENODEV);
        assert_string_equal(e->msg, "set master of 'a1': bridge 'nobr': No such device");
        e = error_free(e);
        assert_int_equal(net_link_set_up(f->nl, "nolink", true, &e), -ENODEV);
        assert_string_equal(e->msg, "set up 'nolink': No such device");
}

static void test_addresses(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        struct in_addr v4;
        struct in6_addr v6;

        assert_int_equal(net_bridge_create(f->nl, "br0", 0, &e), 0);
        assert_int_equal(inet_pton(AF_INET, "10.88.0.1", &v4), 1);
        assert_int_equal(inet_pton(AF_INET6, "fd00:88::1", &v6), 1);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET, &v4, 16, &e), 0);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET6, &v6, 64, &e), 0);
        assert_null(e);
        assert_ip_has(f->ns_fd, "addr show dev br0", "inet 10.88.0.1/16");
        assert_ip_has(f->ns_fd, "addr show dev br0", "inet6 fd00:88::1/64");

        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET, &v4, 16, &e), -EEXIST);
        assert_string_equal(e->msg, "add address '10.88.0.1/16' to 'br0': File exists");
        e = error_free(e);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET, &v4, 33, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET6, &v6, 129, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_UNIX, &v4, 8, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(net_addr_add(f->nl, "nolink", AF_INET, &v4, 24, &e), -ENODEV);
        assert_string_equal(e->msg, "add address '10.88.0.1/24' to 'nolink': No such device");
}

static void test_default_route(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        struct in_addr v4, gw4, far4;
        struct in6_addr v6, gw6;

        assert_int_equal(inet_pton(AF_INET, "10.88.0.1", &v4), 1);
        assert_int_equal(inet_pton(AF_INET, "10.88.0.254", &gw4), 1);
        assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &far4), 1);
        assert_int_equal(inet_pton(AF_INET6, "fd00:88::1", &v6), 1);
        assert_int_equal(inet_pton(AF_INET6, "fd00:88::fe", &gw6), 1);

        /* The gateway must be reachable: prefix routes come with addresses on an up link. */
        assert_int_equal(net_veth_create(f->nl, "eth0", "host0", f->ns2_fd, 0, &e), 0);
        assert_int_equal(net_link_set_up(f->nl, "eth0", true, &e), 0);
        assert_int_equal(net_addr_add(f->nl, "eth0", AF_INET, &v4, 24, &e), 0);
        assert_int_equal(net_addr_add(f->nl, "eth0", AF_INET6, &v6, 64, &e), 0);

        assert_int_equal(net_route_add_default(f->nl, AF_INET, &far4, "eth0", 0, &e), -ENETUNREACH);
        assert_string_equal(e->msg, "add default route via '192.0.2.1' dev 'eth0': Network is unreachable");
        e = error_free(e);

        assert_int_equal(net_route_add_default(f->nl, AF_INET, &gw4, "eth0", 0, &e), 0);
        assert_ip_has(f->ns_fd, "-4 route show default", "default via 10.88.0.254 dev eth0");
        assert_int_equal(net_route_add_default(f->nl, AF_INET, &gw4, "eth0", 0, &e), -EEXIST);
        e = error_free(e);

        /* Without a device the kernel finds the link that reaches the gateway. */
        assert_int_equal(net_route_add_default(f->nl, AF_INET6, &gw6, NULL, 0, &e), 0);
        assert_ip_has(f->ns_fd, "-6 route show default", "default via fd00:88::fe dev eth0");

        assert_int_equal(net_route_add_default(f->nl, AF_INET, &gw4, "nolink", 0, &e), -ENODEV);
        e = error_free(e);
        assert_int_equal(net_route_add_default(f->nl, AF_PACKET, &gw4, NULL, 0, &e), -EINVAL);
}

static void test_move_and_delete(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        int index = 0;

        assert_int_equal(net_veth_create(f->nl, "x0", "y0", -1, 0, &e), 0);
        assert_int_equal(net_link_set_netns(f->nl, "y0", f->ns2_fd, &e), 0);
        assert_int_equal(net_link_exists(f->nl, "y0"), 0);
        assert_int_equal(net_link_exists(f->nl2, "y0"), 1);
        assert_int_equal(net_link_set_netns(f->nl, "x0", -1, &e), -EBADF);
        e = error_free(e);

        /* Deleting one end of a veth takes its peer, wherever it is. */
        assert_int_equal(net_link_delete(f->nl, "x0", &e), 0);
        assert_int_equal(net_link_exists(f->nl, "x0"), 0);
        assert_int_equal(net_link_exists(f->nl2, "y0"), 0);

        assert_int_equal(net_link_delete(f->nl, "x0", &e), -ENODEV);
        assert_string_equal(e->msg, "delete link 'x0': No such device");
        e = error_free(e);
        assert_int_equal(net_link_index(f->nl, "x0", &index, &e), -ENODEV);
        assert_string_equal(e->msg, "look up link 'x0': No such device");
        e = error_free(e);

        assert_int_equal(net_bridge_create(f->nl, "br9", 0, &e), 0);
        assert_int_equal(net_link_delete(f->nl, "br9", &e), 0);
        assert_ip_lacks(f->ns_fd, "link show", "br9");
}

static void test_invalid_names(void **state)
{
        static const char *const bad[] = {
            "", "0123456789abcdef", "a/b", "a b", "a\tb", "a\nb", ".", "..", "a:1",
        };
        Fixture *f = *state;
        int index = 0;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_(error_freep) Error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;
                _cleanup_(error_freep) Error *e6 = NULL, *e7 = NULL;
                struct in_addr v4 = {.s_addr = htonl(0x0a000001)};

                assert_int_equal(net_bridge_create(f->nl, bad[i], 0, &e1), -EINVAL);
                assert_non_null(strstr(e1->msg, "invalid interface name"));
                assert_int_equal(net_link_index(f->nl, bad[i], &index, &e2), -EINVAL);
                assert_int_equal(net_veth_create(f->nl, "ok0", bad[i], -1, 0, &e3), -EINVAL);
                assert_int_equal(net_link_rename(f->nl, "lo", bad[i], &e4), -EINVAL);
                assert_int_equal(net_link_delete(f->nl, bad[i], &e5), -EINVAL);
                assert_int_equal(net_addr_add(f->nl, bad[i], AF_INET, &v4, 8, &e6), -EINVAL);
                assert_int_equal(net_link_set_master(f->nl, "lo", bad[i], &e7), -EINVAL);
                assert_int_equal(net_link_exists(f->nl, bad[i]), -EINVAL);
        }
        assert_int_equal(net_link_exists(f->nl, NULL), -EINVAL);
        assert_int_equal(net_bridge_create(f->nl, NULL, 0, NULL), -EINVAL);
        assert_int_equal(net_link_exists(f->nl, "ok0"), 0);
        /* Fifteen bytes is the longest name the kernel takes. */
        assert_int_equal(net_bridge_create(f->nl, "0123456789abcde", 0, NULL), 0);
        assert_int_equal(net_link_exists(f->nl, "0123456789abcde"), 1);
}

/* A tap made through a socket of another namespace (nl is in ns_fd, the test in the host's). */
static void test_tap_create(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;

        assert_int_equal(net_bridge_create(f->nl, "br0", 0, &e), 0);
        assert_int_equal(net_tap_create(f->nl, "tap0", "br0", &e), 0);
        assert_null(e);
        assert_int_equal(net_link_exists(f->nl, "tap0"), 1);
        assert_int_equal(net_link_exists(f->nl2, "tap0"), 0);
        assert_ip_has(f->ns_fd, "link show tap0", "master br0");
        assert_ip_has(f->ns_fd, "link show tap0", ",UP");
        assert_ip_has(f->ns_fd, "-d link show tap0", "tun type tap pi off vnet_hdr on persist on");

        /* Taken names: a tap, and a link of another kind. Nothing is changed. */
        assert_int_equal(net_tap_create(f->nl, "tap0", "br0", &e), -EEXIST);
        assert_string_equal(e->msg, "create tap 'tap0': File exists");
        e = error_free(e);
        assert_int_equal(net_tap_create(f->nl, "br0", "br0", &e), -EEXIST);
        e = error_free(e);
        assert_ip_has(f->ns_fd, "-d link show br0", "bridge");

        /* A missing bridge: the tap made before the failure is deleted again. */
        assert_int_equal(net_tap_create(f->nl, "tap1", "nobr", &e), -ENODEV);
        assert_string_equal(e->msg, "create tap 'tap1': set master of 'tap1': bridge 'nobr': No such device");
        e = error_free(e);
        assert_int_equal(net_link_exists(f->nl, "tap1"), 0);

        assert_int_equal(net_tap_create(f->nl, "bad/name", "br0", &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(net_tap_create(f->nl, "tap2", "bad name", &e), -EINVAL);
        e = error_free(e);

        assert_int_equal(net_link_delete(f->nl, "tap0", &e), 0);
        assert_int_equal(net_link_exists(f->nl, "tap0"), 0);
}

/* In a thread that has entered the test's namespace: a socket of the thread's own namespace makes the tap. */
static int tap_same_ns(void *arg)
{
        NetLink *nl = NULL;
        int r;

        r = net_link_open(&nl, NULL);
        if (r >= 0)
                r = net_tap_create(nl, "tap9", "br9", NULL);
        net_link_close(nl);
        return r;
}

static void test_tap_create_same_ns(void **state)
{
        Fixture *f = *state;

        assert_int_equal(net_bridge_create(f->nl, "br9", 0, NULL), 0);
        assert_int_equal(net_test_in_netns(f->ns_fd, tap_same_ns, NULL), 0);
        assert_ip_has(f->ns_fd, "link show tap9", "master br9");
        assert_ip_has(f->ns_fd, "-d link show tap9", "tun type tap");
}

static const NetRoute *find_route(const NetRoute *routes, size_t n, const char *dst, uint8_t len)
{
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, dst, &a), 1);
        for (size_t i = 0; i < n; i++)
                if (routes[i].dst.s_addr == a.s_addr && routes[i].dst_len == len)
                        return &routes[i];
        return NULL;
}

/* The route to dst/len is listed, out of dev ("" for none: a blackhole). */
static void assert_route(const NetRoute *routes, size_t n, const char *dst, uint8_t len, const char *dev)
{
        const NetRoute *r = find_route(routes, n, dst, len);

        if (!r)
                fail_msg("no route to %s/%u listed", dst, len);
        assert_string_equal(r->dev, dev);
}

static void test_route_list(void **state)
{
        Fixture *f = *state;
        _cleanup_(error_freep) Error *e = NULL;
        _cleanup_free_ NetRoute *routes = NULL;
        _cleanup_free_ char *out = NULL;
        struct in_addr a, gw;
        size_t n = 99;

        /* A fresh namespace: lo is down, the main table is empty. */
        assert_int_equal(net_route_list_v4(f->nl, &routes, &n, &e), 0);
        assert_int_equal(n, 0);
        routes = mfree(routes);

        assert_int_equal(inet_pton(AF_INET, "10.88.0.1", &a), 1);
        assert_int_equal(inet_pton(AF_INET, "10.88.0.254", &gw), 1);
        assert_int_equal(net_bridge_create(f->nl, "br0", 0, &e), 0);
        assert_int_equal(net_addr_add(f->nl, "br0", AF_INET, &a, 16, &e), 0);
        assert_int_equal(net_link_set_up(f->nl, "br0", true, &e), 0);
        assert_int_equal(net_route_add_default(f->nl, AF_INET, &gw, "br0", 0, &e), 0);
        /* Routes of other tables and kinds, made with ip(8): only the main table is listed. */
        out =
            sh_in(f->ns_fd, "ip route add 192.0.2.0/24 dev br0 table 100 && "
                            "ip route add blackhole 198.51.100.0/24 && ip route add 203.0.113.0/24 dev br0");

        assert_int_equal(net_route_list_v4(f->nl, &routes, &n, &e), 0);
        assert_null(e);
        assert_int_equal(n, 4);
        assert_route(routes, n, "10.88.0.0", 16, "br0");
        assert_route(routes, n, "0.0.0.0", 0, "br0");
        assert_route(routes, n, "203.0.113.0", 24, "br0");
        assert_route(routes, n, "198.51.100.0", 24, "");
        /* Not the table-100 route, nor the local table's (10.88.0.1/32, broadcasts). */
        assert_null(find_route(routes, n, "192.0.2.0", 24));
        assert_null(find_route(routes, n, "10.88.0.1", 32));

        /* The second namespace has none of them. */
        routes = mfree(routes);
        assert_int_equal(net_route_list_v4(f->nl2, &routes, &n, &e), 0);
        assert_int_equal(n, 0);
}

typedef struct SysctlJob {
        const char *key, *value;
        Error *e;
} SysctlJob;

static int sysctl_set(void *arg)
{
        SysctlJob *j = arg;

        return net_sysctl_set(j->key, j->value, &j->e);
}

/* net_sysctl_set() from a thread inside ns_fd: /proc/sys/net is the namespace of the thread that opens it. */
static int sysctl_in(int ns_fd, const char *key, const char *value, Error **e)
{
        SysctlJob j = {.key = key, .value = value};
        int r = net_test_in_netns(ns_fd, sysctl_set, &j);

        *e = j.e;
        return r;
}

static void assert_sysctl(int ns_fd, const char *key, const char *want)
{
        _cleanup_free_ char *cmd = xasprintf("cat /proc/sys/net/%s", key);
        _cleanup_free_ char *out = sh_in(ns_fd, cmd);
        _cleanup_free_ char *want_line = xasprintf("%s\n", want);

        assert_string_equal(out, want_line);
}

static void test_sysctl_set(void **state)
{
        static const char *const bad_keys[] = {"",
                                               "/ipv4/ip_forward",
                                               "ipv4//ip_forward",
                                               "../kernel/hostname",
                                               "ipv4/../../kernel/hostname",
                                               "ipv4/.",
                                               "ipv4/ip_forward/"};
        Fixture *f = *state;
        Error *e = NULL;
        _cleanup_free_ char *cc = NULL;

        assert_int_equal(net_bridge_create(f->nl, "br0", 0, NULL), 0);
        /* A new namespace starts from the host's IPv4 settings (net.core.devconf_inherit_init_net
         * 0): both start from off, whatever the host has. */
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/ip_forward", "0", &e), 0);
        assert_int_equal(sysctl_in(f->ns2_fd, "ipv4/ip_forward", "0", &e), 0);
        assert_sysctl(f->ns_fd, "ipv4/ip_forward", "0");
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/ip_forward", "1", &e), 0);
        assert_null(e);
        assert_sysctl(f->ns_fd, "ipv4/ip_forward", "1");
        assert_sysctl(f->ns2_fd, "ipv4/ip_forward", "0");
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/conf/br0/route_localnet", "1", &e), 0);
        assert_sysctl(f->ns_fd, "ipv4/conf/br0/route_localnet", "1");
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/ip_forward", "0", &e), 0);
        assert_sysctl(f->ns_fd, "ipv4/ip_forward", "0");

        /* A read-only sysctl holding the value already: read, and not written. Another value: refused. */
        cc = sh_in(f->ns_fd, "cat /proc/sys/net/ipv4/tcp_available_congestion_control");
        cc[strcspn(cc, "\n")] = '\0';
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/tcp_available_congestion_control", cc, &e), 0);
        assert_null(e);
        assert_true(sysctl_in(f->ns_fd, "ipv4/tcp_available_congestion_control", "reno", &e) < 0);
        assert_non_null(e);
        e = error_free(e);

        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/conf/nolink/route_localnet", "1", &e), -ENOENT);
        assert_string_equal(
            e->msg, "set sysctl 'net/ipv4/conf/nolink/route_localnet' to '1': No such file or directory");
        e = error_free(e);
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/ip_forward", "x", &e), -EINVAL);
        e = error_free(e);
        for (size_t i = 0; i < ARRAY_SIZE(bad_keys); i++) {
                assert_int_equal(sysctl_in(f->ns_fd, bad_keys[i], "1", &e), -EINVAL);
                assert_non_null(strstr(e->msg, "invalid key"));
                e = error_free(e);
        }
        assert_int_equal(sysctl_in(f->ns_fd, "ipv4/ip_forward", NULL, &e), -EINVAL);
        e = error_free(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_in_keeps_caller_ns, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bridge_create, setup, teardown),
            cmocka_unit_test_setup_teardown(test_veth_peer_in_other_ns, setup, teardown),
            cmocka_unit_test_setup_teardown(test_master_up_rename, setup, teardown),
            cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
            cmocka_unit_test_setup_teardown(test_default_route, setup, teardown),
            cmocka_unit_test_setup_teardown(test_move_and_delete, setup, teardown),
            cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tap_create, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tap_create_same_ns, setup, teardown),
            cmocka_unit_test_setup_teardown(test_route_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sysctl_set, setup, teardown),
            cmocka_unit_test(net_test_host_unchanged),
        };
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "skip: network namespaces need root\n");
                return 77;
        }
        if (system("command -v ip >/dev/null && command -v nsenter >/dev/null") != 0) {
                fprintf(stderr, "skip: the checks read back with ip(8) and nsenter(1)\n");
                return 77;
        }
        r = net_test_init();
        if (r != 0)
                return r;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        net_test_fini();
        return r;
}
