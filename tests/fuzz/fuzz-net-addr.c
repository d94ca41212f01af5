/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-net-addr.c: libFuzzer target for net_prefix_parse() and net_port_parse(), their formats parsed back */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What net_port_format() prints, as net_port_parse() reads it: "IP:HOST->CTR/proto" to "IP:HOST:CTR/proto".
 */
static void port_format_to_spec(char *s)
{
        char *arrow = strstr(s, "->");

        if (!arrow)
                abort();
        arrow[0] = ':';
        memmove(arrow + 1, arrow + 2, strlen(arrow + 2) + 1);
}

static void check_prefix(const char *s)
{
        _cleanup_error_ Error *err = NULL;
        char buf[NET_PREFIX_STRLEN];
        NetPrefix p, again;
        struct in_addr a;
        uint32_t n;

        if (net_prefix_parse(s, &p, &err) < 0) {
                if (!err || err->code != EINVAL)
                        abort();
                return;
        }
        /* Accepted text is canonical: it formats back to itself and parses to the same prefix. */
        net_prefix_format(&p, buf);
        if (strcmp(buf, s) != 0 || net_prefix_parse(buf, &again, NULL) < 0 ||
            again.addr.s_addr != p.addr.s_addr || again.len != p.len)
                abort();
        if (!net_prefix_overlaps(&p, &again) || !net_prefix_contains(&p, p.addr))
                abort();
        /* The first and last host offsets map back to themselves; one past the last is refused. */
        n = net_prefix_hosts(&p);
        if (n > 0) {
                if (net_prefix_host(&p, 1, &a) < 0 || net_prefix_offset(&p, a, &n) < 0 || n != 1)
                        abort();
                n = net_prefix_hosts(&p);
                if (net_prefix_host(&p, n, &a) < 0 || !net_prefix_contains(&p, a))
                        abort();
        }
        if (net_prefix_host(&p, net_prefix_hosts(&p) + 1, &a) != -ERANGE)
                abort();
}

static void check_port(const char *s)
{
        _cleanup_error_ Error *err = NULL;
        char buf[NET_PORT_STRLEN];
        NetPortMap m, again;

        if (net_port_parse(s, &m, &err) < 0) {
                if (!err || err->code != EINVAL)
                        abort();
                return;
        }
        if (m.host_port == 0 || m.ctr_port == 0 || (m.proto != IPPROTO_TCP && m.proto != IPPROTO_UDP))
                abort();
        net_port_format(&m, buf);
        port_format_to_spec(buf);
        if (net_port_parse(buf, &again, NULL) < 0 || again.host_ip.s_addr != m.host_ip.s_addr ||
            again.host_port != m.host_port || again.ctr_port != m.ctr_port || again.proto != m.proto)
                abort();
        if (!net_port_conflicts(&m, &again))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Both come from a command line or a database: C strings, so the input stops at a NUL. */
        _cleanup_free_ char *s = xstrndup((const char *)data, size);

        check_prefix(s);
        check_port(s);
        return 0;
}
