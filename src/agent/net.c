/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* net.c: the guest's links, IPv4 address, MTU and default route, through the classic ioctls (libc only) */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

        memcpy(sa, &sin, sizeof(sin));
}

static int link_up(int sk, const char *ifname)
{
        struct ifreq ifr = { 0 };

        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
                return agent_fail(errno, "link '%s'", ifname);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
                return agent_fail(errno, "bring '%s' up", ifname);
        return 0;
}

int net_link_up(const char *ifname)
{
        int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int r;

        if (sk < 0)
                return agent_fail(errno, "socket");
        r = link_up(sk, ifname);
        close(sk);
        return r;
}

static int parse_prefix(const char *s, struct in_addr *ret_addr, struct in_addr *ret_mask)
{
        char buf[32];
        char *slash, *end;
        unsigned long len;

        snprintf(buf, sizeof(buf), "%s", s);
        slash = strchr(buf, '/');
        if (!slash)
                return agent_fail(EINVAL, "address '%s' has no prefix length", s);
        *slash = 0;
        errno = 0;
        len = strtoul(slash + 1, &end, 10);
        if (inet_pton(AF_INET, buf, ret_addr) != 1 || *end || end == slash + 1 || len > 32)
                return agent_fail(EINVAL, "address '%s'", s);
        ret_mask->s_addr = len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
        return 0;
}

static int set_address(int sk, const char *ifname, const char *addr)
{
        struct in_addr a, mask;
        struct ifreq ifr = { 0 };
        int r;

        r = parse_prefix(addr, &a, &mask);
        if (r < 0)
                return r;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        /* SIOCSIFADDR replaces the link's primary address when it has one. */
        set_sin(&ifr.ifr_addr, a);
        if (ioctl(sk, SIOCSIFADDR, &ifr) < 0)
                return agent_fail(errno, "set address '%s' on '%s'", addr, ifname);
        set_sin(&ifr.ifr_netmask, mask);
        if (ioctl(sk, SIOCSIFNETMASK, &ifr) < 0)
                return agent_fail(errno, "set netmask of '%s' on '%s'", addr, ifname);
        return 0;
}

static int set_default_route(int sk, const char *ifname, const char *gw)
{
        struct in_addr any = { 0 }, g;
        struct rtentry rt;
        char dev[IFNAMSIZ];

        /* Replacing: drop every default route first (ESRCH once none is left). */
        for (int i = 0; i < 16; i++) {
                memset(&rt, 0, sizeof(rt));
                set_sin(&rt.rt_dst, any);
                set_sin(&rt.rt_genmask, any);
                if (ioctl(sk, SIOCDELRT, &rt) < 0)
                        break;
        }
        if (!gw || !gw[0])
                return 0;
        if (inet_pton(AF_INET, gw, &g) != 1)
                return agent_fail(EINVAL, "gateway '%s'", gw);
        memset(&rt, 0, sizeof(rt));
        snprintf(dev, sizeof(dev), "%s", ifname);
        set_sin(&rt.rt_dst, any);
        set_sin(&rt.rt_genmask, any);
        set_sin(&rt.rt_gateway, g);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = dev;
        if (ioctl(sk, SIOCADDRT, &rt) < 0)
                return agent_fail(errno, "add default route via '%s'", gw);
        return 0;
}

int net_configure(const char *ifname, const char *addr, const char *gw, unsigned mtu)
{
        struct ifreq ifr = { 0 };
        int sk, r = 0;

        sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sk < 0)
                return agent_fail(errno, "socket");
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (mtu > 0) {
                ifr.ifr_mtu = (int)mtu;
                if (ioctl(sk, SIOCSIFMTU, &ifr) < 0)
                        r = agent_fail(errno, "set MTU %u on '%s'", mtu, ifname);
        }
        if (r >= 0 && addr && addr[0])
                r = set_address(sk, ifname, addr);
        if (r >= 0)
                r = link_up(sk, ifname);
        if (r >= 0 && ((gw && gw[0]) || (addr && addr[0])))
                r = set_default_route(sk, ifname, gw);
        close(sk);
        return r;
}
