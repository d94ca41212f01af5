/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* addr.c: IPv4 prefixes and published-port specs, parsed strictly and formatted canonically */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "addr.h"

/* The netmask of a prefix length, in host byte order (a shift by 32 would be undefined). */
static uint32_t mask_of(uint8_t len)
{
        return len == 0 ? 0 : UINT32_MAX << (32 - (len > 32 ? 32 : len));
}

/*
 * Parses the n bytes at s as a decimal number of at most max_digits digits into *ret. With
 * is_canonical a leading zero is refused ("08"), as it is in addresses: inet_aton(3) would read
 * "010" as octal 8, so the same text must not mean 10 here.
 */
static bool parse_decimal(const char *s, size_t n, size_t max_digits, bool is_canonical, uint32_t *ret)
{
        uint32_t v = 0;

        if (n == 0 || n > max_digits || (is_canonical && n > 1 && s[0] == '0'))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint32_t)(s[i] - '0');
        }
        *ret = v;
        return true;
}

/* Four dot-separated decimal parts of 0..255 making up all n bytes at s; *ret in host byte order. */
static bool parse_quad(const char *s, size_t n, uint32_t *ret)
{
        const char *end = s + n;
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                const char *dot = memchr(s, '.', (size_t)(end - s));
                const char *part_end = i < 3 ? dot : end;
                uint32_t part;

                if (!part_end || !parse_decimal(s, (size_t)(part_end - s), 3, true, &part) || part > 255)
                        return false;
                v = v << 8 | part;
                s = part_end + 1;
        }
        *ret = v;
        return true;
}

int net_addr_parse(const char *text, struct in_addr *ret, Error **err)
{
        uint32_t v;

        if (!text || !parse_quad(text, strlen(text), &v))
                return error_setf(err, EINVAL, "address '%s': not an IPv4 address", text ? text : "(null)");
        ret->s_addr = htonl(v);
        return 0;
}

int net_prefix_parse(const char *text, NetPrefix *ret, Error **err)
{
        const char *slash;
        uint32_t v, len;

        if (!text)
                return error_setf(err, EINVAL, "subnet '(null)': not an IPv4 address/prefix");
        slash = strchr(text, '/');
        if (!slash || !parse_quad(text, (size_t)(slash - text), &v) ||
            !parse_decimal(slash + 1, strlen(slash + 1), 2, true, &len))
                return error_setf(err, EINVAL, "subnet '%s': not an IPv4 address/prefix", text);
        if (len > 32)
                return error_setf(err, EINVAL, "subnet '%s': prefix length out of range 0-32", text);
        if (v & ~mask_of((uint8_t)len))
                return error_setf(err, EINVAL, "subnet '%s': host bits set", text);
        ret->addr.s_addr = htonl(v);
        ret->len = (uint8_t)len;
        return 0;
}

char *net_prefix_format(const NetPrefix *p, char buf[static NET_PREFIX_STRLEN])
{
        uint32_t v = ntohl(p->addr.s_addr);
        unsigned len = p->len > 32 ? 32 : p->len; /* also tells the compiler the text fits */

        snprintf(buf, NET_PREFIX_STRLEN, "%u.%u.%u.%u/%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
                 v & 0xff, len);
        return buf;
}

bool net_prefix_overlaps(const NetPrefix *a, const NetPrefix *b)
{
        /* Two prefixes overlap exactly when the shorter one contains the other's first address. */
        uint32_t mask = mask_of(a->len < b->len ? a->len : b->len);

        return ((ntohl(a->addr.s_addr) ^ ntohl(b->addr.s_addr)) & mask) == 0;
}

bool net_prefix_contains(const NetPrefix *p, struct in_addr addr)
{
        return ((ntohl(p->addr.s_addr) ^ ntohl(addr.s_addr)) & mask_of(p->len)) == 0;
}

uint32_t net_prefix_hosts(const NetPrefix *p)
{
        if (p->len >= 31)
                return 0;
        /* 2^32 - 2 for /0 still fits in 32 bits; the shift is done in 64. */
        return (uint32_t)((UINT64_C(1) << (32 - p->len)) - 2);
}

int net_prefix_host(const NetPrefix *p, uint32_t n, struct in_addr *ret)
{
        if (n == 0 || n > net_prefix_hosts(p))
                return -ERANGE;
        ret->s_addr = htonl((ntohl(p->addr.s_addr) & mask_of(p->len)) + n);
        return 0;
}

int net_prefix_offset(const NetPrefix *p, struct in_addr addr, uint32_t *ret)
{
        uint32_t n;

        if (!net_prefix_contains(p, addr))
                return -ERANGE;
        n = ntohl(addr.s_addr) & ~mask_of(p->len);
        if (n == 0 || n > net_prefix_hosts(p))
                return -ERANGE;
        *ret = n;
        return 0;
}

/* A port number of 1..65535 from the n bytes at s, or -EINVAL with a message naming what it is. */
static int parse_port(const char *text, const char *what, const char *s, size_t n, uint16_t *ret, Error **err)
{
        uint32_t v = 0;

        if (n == 0)
                return error_setf(err, EINVAL, "port '%s': give HOSTPORT:CTRPORT", text);
        if (strspn(s, "0123456789") < n)
                return error_setf(err, EINVAL, "port '%s': %s port '%.*s' is not a number", text, what,
                                  (int)n, s);
        /* Leading zeros are harmless in a port ("080" is 80 everywhere); past them, six digits are too many.
         */
        while (n > 1 && *s == '0')
                s++, n--;
        if (n > 5 || !parse_decimal(s, n, 5, false, &v) || v == 0 || v > UINT16_MAX)
                return error_setf(err, EINVAL, "port '%s': %s port out of range 1-65535", text, what);
        *ret = (uint16_t)v;
        return 0;
}

int net_port_parse(const char *text, NetPortMap *ret, Error **err)
{
        NetPortMap m = {.proto = IPPROTO_TCP};
        const char *end, *slash, *ctr_colon, *host_colon, *host_start;
        uint32_t ip;
        int r;

        if (!text)
                return error_setf(err, EINVAL, "port '(null)': give HOSTPORT:CTRPORT");
        end = text + strlen(text);
        slash = strchr(text, '/');
        if (slash) {
                if (strcmp(slash + 1, "tcp") == 0)
                        m.proto = IPPROTO_TCP;
                else if (strcmp(slash + 1, "udp") == 0)
                        m.proto = IPPROTO_UDP;
                else
                        return error_setf(err, EINVAL, "port '%s': protocol must be tcp or udp", text);
                end = slash;
        }
        /* Split from the right: CTRPORT after the last ':', HOSTPORT before it, and any IP before that. */
        ctr_colon = memrchr(text, ':', (size_t)(end - text));
        if (!ctr_colon)
                return error_setf(err, EINVAL, "port '%s': give HOSTPORT:CTRPORT", text);
        host_colon = memrchr(text, ':', (size_t)(ctr_colon - text));
        if (host_colon) {
                if (!parse_quad(text, (size_t)(host_colon - text), &ip))
                        return error_setf(err, EINVAL, "port '%s': invalid IP address", text);
                m.host_ip.s_addr = htonl(ip);
        }
        host_start = host_colon ? host_colon + 1 : text;
        r = parse_port(text, "host", host_start, (size_t)(ctr_colon - host_start), &m.host_port, err);
        if (r < 0)
                return r;
        r = parse_port(text, "container", ctr_colon + 1, (size_t)(end - ctr_colon - 1), &m.ctr_port, err);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

char *net_port_format(const NetPortMap *m, char buf[static NET_PORT_STRLEN])
{
        uint32_t v = ntohl(m->host_ip.s_addr);

        snprintf(buf, NET_PORT_STRLEN, "%u.%u.%u.%u:%u->%u/%s", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
                 v & 0xff, (unsigned)m->host_port, (unsigned)m->ctr_port,
                 m->proto == IPPROTO_UDP ? "udp" : "tcp");
        return buf;
}

bool net_port_conflicts(const NetPortMap *a, const NetPortMap *b)
{
        if (a->proto != b->proto || a->host_port != b->host_port)
                return false;
        return a->host_ip.s_addr == b->host_ip.s_addr || a->host_ip.s_addr == htonl(INADDR_ANY) ||
               b->host_ip.s_addr == htonl(INADDR_ANY);
}
