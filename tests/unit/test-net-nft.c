/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-net-nft.c: the hull nftables table rendered, applied in throwaway namespaces, and real traffic through
 * it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net-helpers.h"

/* The host's ruleset before the tests. */
static char *host_ruleset_before;

/* What a test made: closed by teardown, so that a failed assertion leaves nothing behind either. */
typedef struct Fixture {
        NetLink *nl; /* in the test's own namespace */
        int fds[64];
        size_t n_fds;
} Fixture;

static int track(Fixture *f, int fd)
{
        assert_true(fd >= 0);
        assert_true(f->n_fds < ARRAY_SIZE(f->fds));
        f->fds[f->n_fds++] = fd;
        return fd;
}

/* The output of an nft command run through libnftables in the caller's namespace, or NULL. */
static char *nft_out(const char *cmd)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        char *out = NULL;

        assert_non_null(ctx);
        assert_int_equal(nft_ctx_buffer_output(ctx), 0);
        assert_int_equal(nft_ctx_buffer_error(ctx), 0);
        if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
                out = xstrdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return out;
}

/* Each test runs in a namespace of its own: this thread enters a new one, and teardown goes back. */
static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);

        if (net_test_enter_new_netns() < 0 || net_link_open(&f->nl, NULL) < 0 ||
            net_link_set_up(f->nl, "lo", true, NULL) < 0) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        for (size_t i = 0; i < f->n_fds; i++)
                close(f->fds[i]);
        net_link_close(f->nl);
        free(f);
        if (net_test_leave_netns() < 0)
                return -1;
        return 0;
}

static struct in_addr in4(const char *text)
{
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, text, &a), 1);
        return a;
}

static NetPrefix prefix(const char *text)
{
        NetPrefix p;

        assert_int_equal(net_prefix_parse(text, &p, NULL), 0);
        return p;
}

static NetNftPort port(const char *spec, const char *ctr_ip, const char *bridge)
{
        NetNftPort p = {.ctr_ip = in4(ctr_ip), .bridge = bridge};

        assert_int_equal(net_port_parse(spec, &p.map, NULL), 0);
        return p;
}

static void apply(const NetNftRules *rules)
{
        _cleanup_free_ char *script = net_nft_render(rules);
        _cleanup_error_ Error *e = NULL;

        if (net_nft_apply(script, &e) < 0)
                fail_msg("%s\n%s", e->msg, script);
}

static void assert_has(const char *text, const char *needle)
{
        if (!strstr(text, needle))
                fail_msg("lacks '%s':\n%s", needle, text);
}

static const char golden[] = "table ip hull {}\n"
                             "delete table ip hull\n"
                             "table ip hull {\n"
                             "\tchain prerouting {\n"
                             "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                             "\t\tfib daddr type local jump ports\n"
                             "\t}\n"
                             "\tchain output {\n"
                             "\t\ttype nat hook output priority -100; policy accept;\n"
                             "\t\tfib daddr type local jump ports\n"
                             "\t}\n"
                             "\tchain ports {\n"
                             "\t\tip daddr 127.0.0.1 tcp dport 8080 dnat to 10.88.0.2:80\n"
                             "\t\tudp dport 53 dnat to 10.89.0.3:5353\n"
                             "\t}\n"
                             "\tchain postrouting {\n"
                             "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                             "\t\tip saddr 10.88.0.0/16 oifname != \"hull0\" masquerade\n"
                             "\t\tip saddr 10.89.0.0/24 oifname != \"hull1\" masquerade\n"
                             "\t\tct status dnat ip saddr 127.0.0.0/8 masquerade\n"
                             "\t\tct status dnat ip saddr 10.88.0.0/16 oifname \"hull0\" masquerade\n"
                             "\t\tct status dnat ip saddr 10.89.0.0/24 oifname \"hull1\" masquerade\n"
                             "\t}\n"
                             "\tchain forward {\n"
                             "\t\ttype filter hook forward priority filter; policy accept;\n"
                             "\t\tct status dnat accept\n"
                             "\t\tiifname \"hull0\" oifname \"hull1\" drop\n"
                             "\t\tiifname \"hull1\" oifname \"hull0\" drop\n"
                             "\t}\n"
                             "}\n";

static void test_render_golden(void **state)
{
        NetNftNetwork nets[] = {{"hull1", prefix("10.89.0.0/24")}, {"hull0", prefix("10.88.0.0/16")}};
        NetNftNetwork nets_rev[] = {nets[1], nets[0]};
        NetNftPort ports[] = {port("53:5353/udp", "10.89.0.3", "hull1"),
                              port("127.0.0.1:8080:80", "10.88.0.2", "hull0")};
        NetNftPort ports_rev[] = {ports[1], ports[0]};
        NetNftRules rules = {nets, 2, ports, 2}, rules_rev = {nets_rev, 2, ports_rev, 2}, none = {0};
        char *text;

        text = net_nft_render(&rules);
        assert_string_equal(text, golden);
        free(text);
        /* The same rules in another order give the same text. */
        text = net_nft_render(&rules_rev);
        assert_string_equal(text, golden);
        free(text);
        text = net_nft_render(&none);
        assert_string_equal(text, "table ip hull {}\ndelete table ip hull\n");
        free(text);

        /* One network alone is isolated from nothing; a bridge with two subnets gets one drop rule. */
        NetNftNetwork one[] = {{"hull0", prefix("10.88.0.0/16")}};
        rules = (NetNftRules){one, 1, NULL, 0};
        text = net_nft_render(&rules);
        assert_null(strstr(text, "drop"));
        assert_has(text, "\tchain ports {\n\t}\n");
        free(text);
        NetNftNetwork three[] = {
            {"b", prefix("10.2.0.0/24")}, {"a", prefix("10.1.0.0/24")}, {"b", prefix("10.3.0.0/24")}};
        rules = (NetNftRules){three, 3, NULL, 0};
        text = net_nft_render(&rules);
        assert_has(text, "\t\tiifname \"a\" oifname \"b\" drop\n\t\tiifname \"b\" oifname \"a\" drop\n\t}");
        assert_has(text, "ip saddr 10.3.0.0/24 oifname != \"b\" masquerade");
        free(text);
        /* Three bridges: the others as a set. */
        NetNftNetwork four[] = {three[0], three[1], three[2], {"c", prefix("10.4.0.0/24")}};
        rules = (NetNftRules){four, 4, NULL, 0};
        text = net_nft_render(&rules);
        assert_has(text, "\t\tiifname \"a\" oifname { \"b\", \"c\" } drop\n"
                         "\t\tiifname \"b\" oifname { \"a\", \"c\" } drop\n"
                         "\t\tiifname \"c\" oifname { \"a\", \"b\" } drop\n\t}");
        free(text);
}

/* Rules whose script net_nft_apply() refuses with -EINVAL and want_msg, before libnftables is asked:
 * nothing is run. */
static void assert_apply_refused(const NetNftRules *rules, const char *want_msg)
{
        _cleanup_free_ char *text = net_nft_render(rules);
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(net_nft_apply(text, &e), -EINVAL);
        assert_string_equal(e->msg, want_msg);
}

static void test_render_invalid(void **state)
{
        static const char *const bad_names[] = {"a\"b", "br*", "", "0123456789abcdef", "a b", "x;y", "a\\b"};

        for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
                NetNftNetwork nets[] = {{bad_names[i], prefix("10.88.0.0/16")}};
                NetNftRules rules = {nets, 1, NULL, 0};
                _cleanup_free_ char *want = xasprintf(
                    "apply nftables rules: bridge name '%s' cannot be used in nftables rules", bad_names[i]);

                assert_apply_refused(&rules, want);
        }

        NetNftNetwork null_name[] = {{NULL, prefix("10.88.0.0/16")}};
        NetNftRules rules = {null_name, 1, NULL, 0};
        assert_apply_refused(&rules,
                             "apply nftables rules: bridge name '(null)' cannot be used in nftables rules");

        NetNftPort ports[] = {port("8080:80", "10.88.0.2", "hull0")};
        ports[0].map.proto = IPPROTO_SCTP;
        rules = (NetNftRules){NULL, 0, ports, 1};
        assert_apply_refused(&rules,
                             "apply nftables rules: published port 0: needs tcp or udp and ports 1-65535");
        ports[0] = port("8080:80", "10.88.0.2", "bad\"name");
        /* A published port's bridge too. */
        assert_apply_refused(&rules, "apply nftables rules: bridge name 'bad\"name' "
                                     "cannot be used in nftables rules");
        assert_int_equal(net_nft_apply(NULL, NULL), -EINVAL);
}

static NetNftRules small_rules(NetNftNetwork nets[2], NetNftPort ports[4])
{
        nets[0] = (NetNftNetwork){"hull0", prefix("10.88.0.0/16")};
        nets[1] = (NetNftNetwork){"hull1", prefix("10.89.0.0/24")};
        ports[0] = port("8080:80", "10.88.0.2", "hull0");
        ports[1] = port("127.0.0.1:8443:443", "10.88.0.3", "hull0");
        ports[2] = port("53:5353/udp", "10.89.0.2", "hull1");
        ports[3] = port("192.0.2.1:2222:22", "10.89.0.3", "hull1");
        return (NetNftRules){nets, 2, ports, 4};
}

static void test_apply_read_back(void **state)
{
        NetNftNetwork nets[2];
        NetNftPort ports[4];
        NetNftRules rules = small_rules(nets, ports), none = {0};
        _cleanup_free_ char *first = NULL, *second = NULL, *tables = NULL, *gone = NULL;

        apply(&rules);
        first = nft_out("list table ip hull");
        assert_non_null(first);
        assert_has(first, "type nat hook prerouting priority dstnat; policy accept;");
        assert_has(first, "fib daddr type local jump ports");
        assert_has(first, "tcp dport 8080 dnat to 10.88.0.2:80");
        assert_has(first, "ip daddr 127.0.0.1 tcp dport 8443 dnat to 10.88.0.3:443");
        assert_has(first, "udp dport 53 dnat to 10.89.0.2:5353");
        assert_has(first, "ip daddr 192.0.2.1 tcp dport 2222 dnat to 10.89.0.3:22");
        assert_has(first, "ip saddr 10.88.0.0/16 oifname != \"hull0\" masquerade");
        assert_has(first, "ct status dnat ip saddr 127.0.0.0/8 masquerade");
        assert_has(first, "ct status dnat ip saddr 10.89.0.0/24 oifname \"hull1\" masquerade");
        assert_has(first, "type filter hook forward priority filter; policy accept;");
        assert_has(first, "iifname \"hull0\" oifname \"hull1\" drop");

        /* Applying again replaces the table with the same one: no rule twice. */
        apply(&rules);
        second = nft_out("list table ip hull");
        assert_string_equal(second, first);

        /* Three networks: each drops to a set of the other two. */
        NetNftNetwork three[] = {nets[0], nets[1], {"hull2", prefix("10.90.0.0/24")}};
        NetNftRules rules3 = {three, 3, ports, 4};
        _cleanup_free_ char *third = NULL;
        apply(&rules3);
        third = nft_out("list table ip hull");
        assert_has(third, "iifname \"hull0\" oifname { \"hull1\", \"hull2\" } drop");
        assert_has(third, "iifname \"hull2\" oifname { \"hull0\", \"hull1\" } drop");

        /* The empty rules remove the table, and work again when there is none. */
        apply(&none);
        tables = nft_out("list tables");
        assert_non_null(tables);
        assert_null(strstr(tables, "hull"));
        assert_null(nft_out("list table ip hull"));
        apply(&none);
        gone = nft_out("list ruleset");
        assert_string_equal(gone, "");
}

static void test_apply_failure_keeps_table(void **state)
{
        NetNftNetwork nets[2];
        NetNftPort ports[4];
        NetNftRules rules = small_rules(nets, ports);
        _cleanup_free_ char *before = NULL, *after_syntax = NULL, *after_kernel = NULL;
        _cleanup_error_ Error *e1 = NULL, *e2 = NULL, *e3 = NULL;

        apply(&rules);
        before = nft_out("list table ip hull");
        assert_non_null(before);

        /* A syntax error: caught before anything reaches the kernel. */
        assert_int_equal(
            net_nft_apply("table ip hull {}\ndelete table ip hull\ntable ip hull { chain x { foo bar } }\n",
                          &e1),
            -EINVAL);
        assert_non_null(strstr(e1->msg, "apply nftables rules: syntax error"));
        assert_null(strchr(e1->msg, '\n'));
        after_syntax = nft_out("list table ip hull");
        assert_string_equal(after_syntax, before);

        /* A kernel error after the delete in the same batch: the whole batch is undone. */
        assert_int_equal(net_nft_apply("delete table ip hull\ndelete table ip hull\n", &e2), -ENOENT);
        assert_string_equal(e2->msg,
                            "apply nftables rules: Could not process rule: No such file or directory");
        assert_int_equal(e2->code, ENOENT);
        after_kernel = nft_out("list table ip hull");
        assert_string_equal(after_kernel, before);

        /* A jump to a chain that does not exist, after a delete that would succeed. */
        assert_true(net_nft_apply("delete table ip hull\ntable ip hull { chain a { jump nowhere } }\n", &e3) <
                    0);
        free(after_kernel);
        after_kernel = nft_out("list table ip hull");
        assert_string_equal(after_kernel, before);
}

/* A bridge with address ip/24, up, in the test's namespace. */
static void make_bridge(Fixture *f, const char *name, const char *ip)
{
        struct in_addr a = in4(ip);

        assert_int_equal(net_bridge_create(f->nl, name, 0, NULL), 0);
        assert_int_equal(net_addr_add(f->nl, name, AF_INET, &a, 24, NULL), 0);
        assert_int_equal(net_link_set_up(f->nl, name, true, NULL), 0);
}

/*
 * A namespace with eth0 at ip/24, whose other end (host_if) is in the test's namespace, enslaved to
 * bridge (an instance: default route via gw), or given gw/24 itself when bridge is NULL (a machine
 * of the outside world, which has no route back to any hull subnet). Returns its fd.
 */
static int make_peer(Fixture *f, const char *bridge, const char *host_if, const char *ip, const char *gw)
{
        int ns_fd = track(f, net_test_new_netns());
        struct in_addr a = in4(ip), g = in4(gw);
        NetLink *nl = NULL;

        assert_int_equal(net_veth_create(f->nl, host_if, "eth0", ns_fd, 0, NULL), 0);
        if (bridge)
                assert_int_equal(net_link_set_master(f->nl, host_if, bridge, NULL), 0);
        else
                assert_int_equal(net_addr_add(f->nl, host_if, AF_INET, &g, 24, NULL), 0);
        assert_int_equal(net_link_set_up(f->nl, host_if, true, NULL), 0);
        assert_int_equal(net_link_open_in(ns_fd, &nl, NULL), 0);
        assert_int_equal(net_addr_add(nl, "eth0", AF_INET, &a, 24, NULL), 0);
        assert_int_equal(net_link_set_up(nl, "eth0", true, NULL), 0);
        assert_int_equal(net_link_set_up(nl, "lo", true, NULL), 0);
        if (bridge)
                assert_int_equal(net_route_add_default(nl, AF_INET, &g, "eth0", 0, NULL), 0);
        net_link_close(nl);
        return ns_fd;
}

static struct sockaddr_in sockaddr(const char *ip, int port)
{
        return (struct sockaddr_in){
            .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = in4(ip)};
}

/* Connects a TCP socket made in ns_fd (-1: the test's namespace) to ip:port within timeout_ms; *ret_fd
 * is the socket either way. */
static int tcp_connect(int ns_fd, const char *ip, int port, int timeout_ms, int *ret_fd)
{
        struct sockaddr_in sa = sockaddr(ip, port);
        int fd, e = 0;
        socklen_t len = sizeof(e);
        struct pollfd p;

        fd = ns_fd < 0 ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
                       : net_test_socket_in(ns_fd, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        *ret_fd = fd;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        p = (struct pollfd){.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, timeout_ms) == 0)
                return -ETIMEDOUT;
        assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len), 0);
        return -e;
}

static void wait_readable(int fd)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (poll(&p, 1, 5000) != 1)
                fail_msg("nothing to read on fd %d within 5 s", fd);
}

/*
 * A TCP connection from ns_fd (-1: the test's namespace) to ip:port that must land on listener: the
 * server side says who it sees as the peer, and the client reads that back through the NAT.
 */
static void assert_tcp_reaches(Fixture *f, int ns_fd, const char *ip, int port, int listener,
                               const char *want_peer)
{
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        char seen[INET_ADDRSTRLEN], reply[64] = "";
        int client, server, r;
        ssize_t n;

        r = tcp_connect(ns_fd, ip, port, 5000, &client);
        track(f, client);
        if (r < 0)
                fail_msg("connect to %s:%d: %s", ip, port, strerror(-r));
        wait_readable(listener);
        server = track(f, accept4(listener, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC));
        inet_ntop(AF_INET, &peer.sin_addr, seen, sizeof(seen));
        assert_true(write(server, seen, strlen(seen)) == (ssize_t)strlen(seen));
        wait_readable(client);
        n = read(client, reply, sizeof(reply) - 1);
        assert_true(n > 0);
        reply[n] = '\0';
        if (strcmp(reply, want_peer) != 0)
                fail_msg("%s:%d: the server saw the connection come from %s, not %s", ip, port, reply,
                         want_peer);
}

/* A TCP connection from ns_fd to ip:port that must end in want within timeout_ms (said as want_text).
 * Closed at once, so that no retransmission arrives later, in another part of the test. */
static void assert_tcp_fails(int ns_fd, const char *ip, int port, int timeout_ms, int want,
                             const char *want_text)
{
        int fd, r = tcp_connect(ns_fd, ip, port, timeout_ms, &fd);

        close(fd);
        if (r != want)
                fail_msg("connect to %s:%d: want %s, got %s", ip, port, want_text,
                         r == 0 ? "connected" : strerror(-r));
}

static void assert_tcp_refused(Fixture *f, int ns_fd, const char *ip, int port)
{
        assert_tcp_fails(ns_fd, ip, port, 5000, -ECONNREFUSED, "refused");
}

/* A dropped SYN: no answer at all within a while (a refusal would come at once). */
static void assert_tcp_dropped(Fixture *f, int ns_fd, const char *ip, int port)
{
        assert_tcp_fails(ns_fd, ip, port, 400, -ETIMEDOUT, "no answer");
}

/* One datagram to ip:port that must land on server, and the answer back to the sender. */
static void assert_udp_reaches(Fixture *f, const char *ip, int port, int server, const char *want_peer)
{
        struct sockaddr_in dst = sockaddr(ip, port), peer, from;
        socklen_t len = sizeof(peer), from_len = sizeof(from);
        int client = track(f, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        char buf[64], seen[INET_ADDRSTRLEN];
        ssize_t n;

        assert_int_equal(sendto(client, "ping", 4, 0, (struct sockaddr *)&dst, sizeof(dst)), 4);
        wait_readable(server);
        n = recvfrom(server, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
        assert_int_equal(n, 4);
        assert_memory_equal(buf, "ping", 4);
        assert_string_equal(inet_ntop(AF_INET, &peer.sin_addr, seen, sizeof(seen)), want_peer);
        assert_int_equal(sendto(server, "pong", 4, 0, (struct sockaddr *)&peer, len), 4);
        wait_readable(client);
        n = recvfrom(client, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
        assert_int_equal(n, 4);
        assert_memory_equal(buf, "pong", 4);
        /* The answer comes back from where it was sent: conntrack undid the DNAT. */
        assert_int_equal(from.sin_addr.s_addr, dst.sin_addr.s_addr);
        assert_int_equal(from.sin_port, dst.sin_port);
}

static void test_traffic_published_ports(void **state)
{
        Fixture *f = *state;
        NetNftNetwork nets[] = {{"hullt0", prefix("10.88.1.0/24")}};
        NetNftPort ports[] = {
            port("18080:80", "10.88.1.2", "hullt0"),
            port("18053:53/udp", "10.88.1.2", "hullt0"),
            port("192.0.2.1:18081:80", "10.88.1.2", "hullt0"),
        };
        NetNftRules rules = {nets, 1, ports, 3}, none = {0};
        int ctr, ctr2, world, listener, udp, world_listener;

        make_bridge(f, "hullt0", "10.88.1.1");
        ctr = make_peer(f, "hullt0", "vctr", "10.88.1.2", "10.88.1.1");
        ctr2 = make_peer(f, "hullt0", "vctr2", "10.88.1.3", "10.88.1.1");
        world = make_peer(f, NULL, "ext0", "192.0.2.2", "192.0.2.1");
        /* What the caller of net_nft_apply() sets: routing, and 127.0.0.1 allowed out of the bridge. */
        assert_int_equal(net_sysctl_set("ipv4/ip_forward", "1", NULL), 0);
        assert_int_equal(net_sysctl_set("ipv4/conf/hullt0/route_localnet", "1", NULL), 0);

        listener = track(f, net_test_socket_in(ctr, SOCK_STREAM, 80));
        udp = track(f, net_test_socket_in(ctr, SOCK_DGRAM, 53));
        world_listener = track(f, net_test_socket_in(world, SOCK_STREAM, 80));

        /* Without the table nothing listens on the host's 18080, and the world cannot answer the subnet. */
        assert_tcp_refused(f, -1, "127.0.0.1", 18080);
        assert_tcp_reaches(f, -1, "10.88.1.2", 80, listener, "10.88.1.1");
        assert_tcp_dropped(f, ctr, "192.0.2.2", 80);

        apply(&rules);
        /* By loopback: DNAT in output, then masquerade, or the instance would answer 127.0.0.1. */
        assert_tcp_reaches(f, -1, "127.0.0.1", 18080, listener, "10.88.1.1");
        /* By the bridge's address and by another local address. */
        assert_tcp_reaches(f, -1, "10.88.1.1", 18080, listener, "10.88.1.1");
        assert_tcp_reaches(f, -1, "192.0.2.1", 18080, listener, "192.0.2.1");
        /* From outside: prerouting DNAT; the instance sees the real client. */
        assert_tcp_reaches(f, world, "192.0.2.1", 18080, listener, "192.0.2.2");
        /* Published on 192.0.2.1 only. */
        assert_tcp_reaches(f, world, "192.0.2.1", 18081, listener, "192.0.2.2");
        assert_tcp_reaches(f, -1, "192.0.2.1", 18081, listener, "192.0.2.1");
        assert_tcp_refused(f, -1, "10.88.1.1", 18081);
        assert_tcp_refused(f, -1, "127.0.0.1", 18081);
        /* Hairpin: another instance of the bridge by the gateway's address; masqueraded. */
        assert_tcp_reaches(f, ctr2, "10.88.1.1", 18080, listener, "10.88.1.1");
        /* UDP by loopback. */
        assert_udp_reaches(f, "127.0.0.1", 18053, udp, "10.88.1.1");
        /* Out to the world: masqueraded behind the host's address there. */
        assert_tcp_reaches(f, ctr, "192.0.2.2", 80, world_listener, "192.0.2.1");

        apply(&none);
        assert_tcp_refused(f, -1, "127.0.0.1", 18080);
}

static void test_traffic_isolation(void **state)
{
        Fixture *f = *state;
        NetNftNetwork nets[] = {{"hulla", prefix("10.88.1.0/24")}, {"hullb", prefix("10.88.2.0/24")}};
        NetNftPort ports[] = {port("18080:80", "10.88.1.2", "hulla")};
        NetNftRules rules = {nets, 2, ports, 1};
        int a, a2, b, listener_a, listener_b;

        make_bridge(f, "hulla", "10.88.1.1");
        make_bridge(f, "hullb", "10.88.2.1");
        a = make_peer(f, "hulla", "va", "10.88.1.2", "10.88.1.1");
        a2 = make_peer(f, "hulla", "va2", "10.88.1.3", "10.88.1.1");
        b = make_peer(f, "hullb", "vb", "10.88.2.2", "10.88.2.1");
        assert_int_equal(net_sysctl_set("ipv4/ip_forward", "1", NULL), 0);
        listener_a = track(f, net_test_socket_in(a, SOCK_STREAM, 80));
        listener_b = track(f, net_test_socket_in(b, SOCK_STREAM, 80));

        /* Routed between the bridges while there is no table. */
        assert_tcp_reaches(f, b, "10.88.1.2", 80, listener_a, "10.88.2.2");

        apply(&rules);
        assert_tcp_dropped(f, b, "10.88.1.2", 80);
        assert_tcp_dropped(f, a, "10.88.2.2", 80);
        /* Within a bridge nothing is routed, nothing is touched. */
        assert_tcp_reaches(f, a2, "10.88.1.2", 80, listener_a, "10.88.1.3");
        /* A published port is open to the other network too, by its own gateway's address. */
        assert_tcp_reaches(f, b, "10.88.2.1", 18080, listener_a, "10.88.1.1");
        /* The host itself reaches both. */
        assert_tcp_reaches(f, -1, "10.88.2.2", 80, listener_b, "10.88.2.1");
}

static long apply_us(const char *script)
{
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(net_nft_apply(script, NULL), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        return (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
}

/*
 * Not a pass/fail check: net_nft_apply() of 2 networks and 4 ports (median of 20), for the record.
 * Once with 50 ms between the calls, as a host changes its networks, and once back to back: then
 * the kernel makes each transaction wait until the chains the previous one deleted are freed,
 * after an RCU grace period.
 */
static void test_apply_time(void **state)
{
        NetNftNetwork nets[2];
        NetNftPort ports[4];
        NetNftRules rules = small_rules(nets, ports);
        _cleanup_free_ char *script = net_nft_render(&rules);
        long spaced[20], back_to_back[20];

        for (int i = 0; i < 20; i++) {
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
                spaced[i] = apply_us(script);
        }
        for (int i = 0; i < 20; i++)
                back_to_back[i] = apply_us(script);
        net_test_sort_times(spaced, 20);
        net_test_sort_times(back_to_back, 20);
        fprintf(stderr,
                "# net_nft_apply (2 networks, 4 ports, %zu bytes): median %ld us (max %ld us); back to back: "
                "median %ld us\n",
                strlen(script), spaced[10], spaced[19], back_to_back[10]);
}

static void test_host_unchanged(void **state)
{
        _cleanup_free_ char *ruleset = nft_out("list ruleset");

        assert_non_null(ruleset);
        assert_string_equal(ruleset, host_ruleset_before);
        net_test_assert_host_unchanged();
}

/* Whether nf_tables works here: libnftables loads and a table can be made in a throwaway namespace. */
static const char *nft_unavailable(void)
{
        static char why[256];
        _cleanup_error_ Error *e = NULL;
        void *lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
        int r;

        if (!lib)
                return "libnftables.so.1 is not installed";
        dlclose(lib);
        if (net_test_enter_new_netns() < 0)
                return "cannot make a network namespace";
        r = net_nft_apply("table ip hull {}\ndelete table ip hull\n", &e);
        if (net_test_leave_netns() < 0)
                abort();
        if (r < 0) {
                snprintf(why, sizeof(why), "nf_tables does not work here: %s", e->msg);
                return why;
        }
        return NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render_golden),
            cmocka_unit_test(test_render_invalid),
            cmocka_unit_test_setup_teardown(test_apply_read_back, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_failure_keeps_table, setup, teardown),
            cmocka_unit_test_setup_teardown(test_traffic_published_ports, setup, teardown),
            cmocka_unit_test_setup_teardown(test_traffic_isolation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_time, setup, teardown),
            cmocka_unit_test(test_host_unchanged),
        };
        const char *why;
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "skip: network namespaces and nftables need root\n");
                return 77;
        }
        r = net_test_init();
        if (r != 0)
                return r;
        why = nft_unavailable();
        if (why) {
                fprintf(stderr, "skip: %s\n", why);
                net_test_fini();
                return 77;
        }
        host_ruleset_before = nft_out("list ruleset");
        if (!host_ruleset_before) {
                fprintf(stderr, "skip: cannot list the host's ruleset\n");
                net_test_fini();
                return 77;
        }
        r = cmocka_run_group_tests(tests, NULL, NULL);
        free(host_ruleset_before);
        net_test_fini();
        return r;
}
