/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-net-addr.c: IPv4 prefixes and port specs: parsing, formatting, overlaps, host offsets, conflicts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "common/error.h"
#include "net/addr.h"

static NetPrefix prefix(const char *text)
{
        NetPrefix p = {0};

        assert_int_equal(net_prefix_parse(text, &p, NULL), 0);
        return p;
}

static struct in_addr addr(const char *text)
{
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, text, &a), 1);
        return a;
}

static void test_prefix_round_trip(void **state)
{
        static const char *const good[] = {
            "0.0.0.0/0",   "10.0.0.0/8",  "10.88.0.0/16", "172.17.0.0/16",      "192.168.1.0/24",
            "10.1.2.4/30", "10.1.2.4/31", "10.1.2.3/32",  "255.255.255.255/32", "128.0.0.0/1",
        };
        char buf[NET_PREFIX_STRLEN];

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                NetPrefix p = prefix(good[i]);

                assert_ptr_equal(net_prefix_format(&p, buf), buf);
                assert_string_equal(buf, good[i]);
        }

        NetPrefix p = prefix("10.88.0.0/16");
        assert_int_equal(p.addr.s_addr, addr("10.88.0.0").s_addr);
        assert_int_equal(p.len, 16);
        /* The longest text fills the buffer exactly. */
        p = prefix("255.255.255.255/32");
        assert_int_equal(strlen(net_prefix_format(&p, buf)), NET_PREFIX_STRLEN - 1);
}

static void test_prefix_errors(void **state)
{
        static const char *const not_prefix[] = {
            "",
            "x",
            "10.0.0.0",
            "10.0.0.0/",
            "/8",
            "10.0.0/8",
            "10.0.0.0.0/8",
            "10.0.0.256/32",
            "10.0.0.-1/32",
            "010.0.0.0/8",
            "10.00.0.0/16",
            "10.0.0.0/08",
            "10.0.0.0/8 ",
            " 10.0.0.0/8",
            "10.0.0.0/8/8",
            "10..0.0/8",
            "10.0.0.0/x",
            "1e1.0.0.0/8",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "0x0a.0.0.0/8",
            "10.0.0.0/100",
            ".10.0.0/8",
            "10.0.0./8",
        };
        NetPrefix p = {.len = 99};

        for (size_t i = 0; i < ARRAY_SIZE(not_prefix); i++) {
                _cleanup_error_ Error *e = NULL;
                _cleanup_free_ char *want = NULL;

                assert_int_equal(net_prefix_parse(not_prefix[i], &p, &e), -EINVAL);
                assert_non_null(e);
                assert_int_equal(e->code, EINVAL);
                assert_true(asprintf(&want, "subnet '%s': not an IPv4 address/prefix", not_prefix[i]) > 0);
                assert_string_equal(e->msg, want);
        }
        assert_int_equal(p.len, 99); /* untouched on failure */

        _cleanup_error_ Error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;
        assert_int_equal(net_prefix_parse("10.0.0.1/24", &p, &e1), -EINVAL);
        assert_string_equal(e1->msg, "subnet '10.0.0.1/24': host bits set");
        assert_int_equal(net_prefix_parse("10.0.0.0/33", &p, &e2), -EINVAL);
        assert_string_equal(e2->msg, "subnet '10.0.0.0/33': prefix length out of range 0-32");
        assert_int_equal(net_prefix_parse("0.0.0.1/0", &p, &e3), -EINVAL);
        assert_string_equal(e3->msg, "subnet '0.0.0.1/0': host bits set");
        assert_int_equal(net_prefix_parse("10.1.2.5/31", &p, &e4), -EINVAL);
        assert_int_equal(net_prefix_parse(NULL, &p, &e5), -EINVAL);
        assert_int_equal(net_prefix_parse("x", &p, NULL), -EINVAL);
}

static void test_addr_parse(void **state)
{
        static const char *const bad[] = {
            "",          "1.2.3",    "1.2.3.4.5", "1.2.3.256", "01.2.3.4",
            "1.2.3.4/8", "1.2.3.4 ", "a.b.c.d",   "1.2.3.",    "::1",
        };
        struct in_addr a = {0};

        assert_int_equal(net_addr_parse("0.0.0.0", &a, NULL), 0);
        assert_int_equal(a.s_addr, 0);
        assert_int_equal(net_addr_parse("192.0.2.10", &a, NULL), 0);
        assert_int_equal(a.s_addr, addr("192.0.2.10").s_addr);
        assert_int_equal(net_addr_parse("255.255.255.255", &a, NULL), 0);
        assert_int_equal(a.s_addr, 0xffffffff);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_error_ Error *e = NULL;
                _cleanup_free_ char *want = NULL;

                assert_int_equal(net_addr_parse(bad[i], &a, &e), -EINVAL);
                assert_true(asprintf(&want, "address '%s': not an IPv4 address", bad[i]) > 0);
                assert_string_equal(e->msg, want);
        }
}

static void test_overlaps_and_contains(void **state)
{
        static const struct {
                const char *a, *b;
                bool overlaps;
        } cases[] = {
            {"10.88.0.0/16", "10.88.3.0/24", true},  /* nested */
            {"10.88.0.0/24", "10.88.1.0/24", false}, /* adjacent */
            {"10.88.0.0/23", "10.88.1.0/24", true},  /* the second half of the first */
            {"10.88.0.0/24", "10.88.0.0/24", true},  /* equal */
            {"0.0.0.0/0", "192.168.0.0/16", true},   /* /0 holds everything */
            {"0.0.0.0/0", "0.0.0.0/0", true},        {"10.0.0.0/8", "11.0.0.0/8", false},
            {"10.1.2.3/32", "10.1.2.3/32", true},    {"10.1.2.3/32", "10.1.2.2/32", false},
            {"10.1.2.2/31", "10.1.2.3/32", true},    {"128.0.0.0/1", "127.255.255.255/32", false},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                NetPrefix a = prefix(cases[i].a), b = prefix(cases[i].b);

                if (net_prefix_overlaps(&a, &b) != cases[i].overlaps ||
                    net_prefix_overlaps(&b, &a) != cases[i].overlaps)
                        fail_msg("%s and %s: overlap should be %d", cases[i].a, cases[i].b,
                                 cases[i].overlaps);
        }

        NetPrefix p = prefix("10.88.0.0/16"), all = prefix("0.0.0.0/0"), one = prefix("10.1.2.3/32");
        assert_true(net_prefix_contains(&p, addr("10.88.0.0")));
        assert_true(net_prefix_contains(&p, addr("10.88.255.255")));
        assert_false(net_prefix_contains(&p, addr("10.89.0.0")));
        assert_false(net_prefix_contains(&p, addr("10.87.255.255")));
        assert_true(net_prefix_contains(&all, addr("255.255.255.255")));
        assert_true(net_prefix_contains(&one, addr("10.1.2.3")));
        assert_false(net_prefix_contains(&one, addr("10.1.2.4")));
}

static void assert_host(const char *subnet, uint32_t n, const char *want)
{
        NetPrefix p = prefix(subnet);
        struct in_addr a = {0};
        uint32_t back = 0;

        assert_int_equal(net_prefix_host(&p, n, &a), 0);
        assert_int_equal(a.s_addr, addr(want).s_addr);
        assert_int_equal(net_prefix_offset(&p, a, &back), 0);
        assert_int_equal(back, n);
}

static void assert_no_host(const char *subnet, uint32_t n)
{
        NetPrefix p = prefix(subnet);
        struct in_addr a = {.s_addr = 0x01020304};

        assert_int_equal(net_prefix_host(&p, n, &a), -ERANGE);
        assert_int_equal(a.s_addr, 0x01020304);
}

static void test_host_offsets(void **state)
{
        struct in_addr a;
        uint32_t n;

        assert_host("10.88.0.0/16", 1, "10.88.0.1");
        assert_host("10.88.0.0/16", 2, "10.88.0.2");
        assert_host("10.88.0.0/16", 256, "10.88.1.0");
        assert_host("10.88.0.0/16", 65534, "10.88.255.254");
        assert_no_host("10.88.0.0/16", 65535); /* the broadcast address */
        assert_no_host("10.88.0.0/16", 0);     /* the network address */

        /* /30: two hosts; /31 and /32 none for this use. */
        assert_host("10.1.2.4/30", 1, "10.1.2.5");
        assert_host("10.1.2.4/30", 2, "10.1.2.6");
        assert_no_host("10.1.2.4/30", 3);
        assert_no_host("10.1.2.4/31", 1);
        assert_no_host("10.1.2.4/31", 0);
        assert_no_host("10.1.2.3/32", 1);

        /* Large: /8 and /0, up to the last offset, and past it without wrapping. */
        assert_host("10.0.0.0/8", 16777214, "10.255.255.254");
        assert_no_host("10.0.0.0/8", 16777215);
        assert_no_host("10.0.0.0/8", UINT32_MAX);
        assert_host("0.0.0.0/0", 1, "0.0.0.1");
        assert_host("0.0.0.0/0", UINT32_MAX - 1, "255.255.255.254");
        assert_no_host("0.0.0.0/0", UINT32_MAX);

        NetPrefix p30 = prefix("10.1.2.4/30"), p31 = prefix("10.1.2.4/31"), p32 = prefix("10.1.2.3/32");
        NetPrefix p8 = prefix("10.0.0.0/8"), p0 = prefix("0.0.0.0/0"), p24 = prefix("10.88.0.0/24");
        assert_int_equal(net_prefix_hosts(&p30), 2);
        assert_int_equal(net_prefix_hosts(&p31), 0);
        assert_int_equal(net_prefix_hosts(&p32), 0);
        assert_int_equal(net_prefix_hosts(&p24), 254);
        assert_int_equal(net_prefix_hosts(&p8), 16777214);
        assert_int_equal(net_prefix_hosts(&p0), UINT32_MAX - 1);

        /* Offsets: the network and broadcast addresses and outsiders are not host offsets. */
        n = 77;
        assert_int_equal(net_prefix_offset(&p24, addr("10.88.0.0"), &n), -ERANGE);
        assert_int_equal(net_prefix_offset(&p24, addr("10.88.0.255"), &n), -ERANGE);
        assert_int_equal(net_prefix_offset(&p24, addr("10.88.1.1"), &n), -ERANGE);
        assert_int_equal(net_prefix_offset(&p31, addr("10.1.2.5"), &n), -ERANGE);
        assert_int_equal(net_prefix_offset(&p32, addr("10.1.2.3"), &n), -ERANGE);
        assert_int_equal(n, 77);
        assert_int_equal(net_prefix_offset(&p24, addr("10.88.0.254"), &n), 0);
        assert_int_equal(n, 254);
        a = addr("10.88.0.9");
        assert_int_equal(net_prefix_offset(&p8, a, &n), 0);
        assert_int_equal(n, (88u << 16) + 9);
}

static NetPortMap port(const char *text)
{
        _cleanup_error_ Error *e = NULL;
        NetPortMap m = {0};

        if (net_port_parse(text, &m, &e) < 0)
                fail_msg("port '%s': %s", text, e->msg);
        return m;
}

static void test_port_parse(void **state)
{
        static const struct {
                const char *text, *formatted;
        } good[] = {
            {"8080:80", "0.0.0.0:8080->80/tcp"},
            {"8080:80/tcp", "0.0.0.0:8080->80/tcp"},
            {"53:53/udp", "0.0.0.0:53->53/udp"},
            {"127.0.0.1:18080:80", "127.0.0.1:18080->80/tcp"},
            {"192.0.2.7:5353:53/udp", "192.0.2.7:5353->53/udp"},
            {"0.0.0.0:1:65535", "0.0.0.0:1->65535/tcp"},
            {"65535:1", "0.0.0.0:65535->1/tcp"},
            {"080:0080", "0.0.0.0:80->80/tcp"},
            {"0000000000080:80", "0.0.0.0:80->80/tcp"},
            {"255.255.255.255:65535:65535/udp", "255.255.255.255:65535->65535/udp"},
        };
        char buf[NET_PORT_STRLEN];

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                NetPortMap m = port(good[i].text);

                assert_ptr_equal(net_port_format(&m, buf), buf);
                assert_string_equal(buf, good[i].formatted);
        }

        NetPortMap m = port("127.0.0.1:18080:80/udp");
        assert_int_equal(m.host_ip.s_addr, addr("127.0.0.1").s_addr);
        assert_int_equal(m.host_port, 18080);
        assert_int_equal(m.ctr_port, 80);
        assert_int_equal(m.proto, IPPROTO_UDP);
        m = port("443:8443");
        assert_int_equal(m.host_ip.s_addr, htonl(INADDR_ANY));
        assert_int_equal(m.host_port, 443);
        assert_int_equal(m.ctr_port, 8443);
        assert_int_equal(m.proto, IPPROTO_TCP);
}

static void test_port_errors(void **state)
{
        static const struct {
                const char *text, *msg;
        } bad[] = {
            {"80", "give HOSTPORT:CTRPORT"},
            {"", "give HOSTPORT:CTRPORT"},
            {"80/tcp", "give HOSTPORT:CTRPORT"},
            {":80", "give HOSTPORT:CTRPORT"},
            {"80:", "give HOSTPORT:CTRPORT"},
            {"1.2.3.4::80", "give HOSTPORT:CTRPORT"},
            {"0:80", "host port out of range 1-65535"},
            {"80:0", "container port out of range 1-65535"},
            {"65536:80", "host port out of range 1-65535"},
            {"80:65536", "container port out of range 1-65535"},
            {"99999999999:80", "host port out of range 1-65535"},
            {"http:80", "host port 'http' is not a number"},
            {"80:8o", "container port '8o' is not a number"},
            {"-1:80", "host port '-1' is not a number"},
            {"+80:80", "host port '+80' is not a number"},
            {" 80:80", "host port ' 80' is not a number"},
            {"8080:80/sctp", "protocol must be tcp or udp"},
            {"8080:80/", "protocol must be tcp or udp"},
            {"8080:80/TCP", "protocol must be tcp or udp"},
            {"8080:80/tcp/udp", "protocol must be tcp or udp"},
            {"1.2.3:8080:80", "invalid IP address"},
            {"1.2.3:1:2", "invalid IP address"},
            {":8080:80", "invalid IP address"},
            {"localhost:8080:80", "invalid IP address"},
            {"1.2.3.4:5:6:7", "invalid IP address"},
            {"[::1]:8080:80", "invalid IP address"},
            {"1.2.3.04:8080:80", "invalid IP address"},
        };
        NetPortMap m = {.host_port = 7};

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_error_ Error *e = NULL;
                _cleanup_free_ char *want = NULL;

                assert_int_equal(net_port_parse(bad[i].text, &m, &e), -EINVAL);
                assert_true(asprintf(&want, "port '%s': %s", bad[i].text, bad[i].msg) > 0);
                if (strcmp(e->msg, want) != 0)
                        fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].text, e->msg, want);
        }
        assert_int_equal(m.host_port, 7);
        assert_int_equal(net_port_parse(NULL, &m, NULL), -EINVAL);
}

static void test_port_conflicts(void **state)
{
        static const struct {
                const char *a, *b;
                bool conflicts;
        } cases[] = {
            {"8080:80", "8080:81", true},      /* same host port, any address */
            {"8080:80", "8081:80", false},     /* container ports may repeat */
            {"8080:80", "8080:80/udp", false}, /* tcp and udp are apart */
            {"53:53/udp", "0.0.0.0:53:5353/udp", true},
            {"127.0.0.1:8080:80", "8080:80", true},            /* a specific one against any */
            {"127.0.0.1:8080:80", "127.0.0.1:8080:90", true},  /* the same address */
            {"127.0.0.1:8080:80", "192.0.2.1:8080:80", false}, /* two different addresses */
            {"127.0.0.1:8080:80/udp", "127.0.0.2:8080:80/udp", false},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                NetPortMap a = port(cases[i].a), b = port(cases[i].b);

                if (net_port_conflicts(&a, &b) != cases[i].conflicts ||
                    net_port_conflicts(&b, &a) != cases[i].conflicts)
                        fail_msg("%s and %s: conflict should be %d", cases[i].a, cases[i].b,
                                 cases[i].conflicts);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_prefix_round_trip), cmocka_unit_test(test_prefix_errors),
            cmocka_unit_test(test_addr_parse),        cmocka_unit_test(test_overlaps_and_contains),
            cmocka_unit_test(test_host_offsets),      cmocka_unit_test(test_port_parse),
            cmocka_unit_test(test_port_errors),       cmocka_unit_test(test_port_conflicts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
