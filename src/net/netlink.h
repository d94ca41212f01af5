/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netlink.h: links, addresses and routes over an rtnetlink socket, one request and ack at a time */
#pragma once

#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include "common/cleanup.h"

typedef struct Error Error;

/*
 * An rtnetlink (NETLINK_ROUTE) socket, CLOEXEC, bound to the network namespace it was opened in for
 * its whole life. Every call sends one request with NLM_F_ACK and blocks until the kernel's answer;
 * a kernel error comes back as -errno with a message naming the link ("create bridge 'hull0': File
 * exists"). Interface names are checked first: 1..15 bytes, no '/', ':' or whitespace, not "." or
 * "..", else -EINVAL. Not thread-safe: one NetLink per thread.
 */
typedef struct NetLink NetLink;

/* Opens a socket in the caller's network namespace; *ret is owned by the caller (net_link_close()). */
int net_link_open(NetLink **ret, Error **err);

/*
 * Opens a socket in the network namespace netns_fd (an fd of /proc/PID/ns/net or a bind mount of
 * one). The socket is made by a short-lived thread that enters that namespace, so the caller's own
 * namespace is never changed. Blocks until the thread is joined.
 */
int net_link_open_in(int netns_fd, NetLink **ret, Error **err);

/* Closes the socket; accepts NULL and returns NULL. */
NetLink *net_link_close(NetLink *nl);
DEFINE_CLEANUP_FUNC(NetLink *, net_link_close)

/* The interface index of the link name in *ret_ifindex; -ENODEV when there is no such link. */
int net_link_index(NetLink *nl, const char *name, int *ret_ifindex, Error **err);

/* 1 when the link name exists, 0 when it does not, or -errno (no Error: a plain query). */
int net_link_exists(NetLink *nl, const char *name);

/* Creates a bridge, down; mtu 0 keeps the kernel's default. An existing link name gives -EEXIST. */
int net_bridge_create(NetLink *nl, const char *name, uint32_t mtu, Error **err);

/*
 * Creates a veth pair: host_name in nl's namespace and peer_name made directly in the namespace
 * peer_netns_fd (not owned), or in nl's namespace too when peer_netns_fd is -1. Both ends are down,
 * with MTU mtu (0: the kernel's default). -EEXIST when either name is taken in its namespace.
 */
int net_veth_create(NetLink *nl, const char *host_name, const char *peer_name, int peer_netns_fd, uint32_t mtu,
                    Error **err);

/* Enslaves link name to the bridge master (or detaches it when master is NULL). */
int net_link_set_master(NetLink *nl, const char *name, const char *master, Error **err);

/* Sets or clears IFF_UP on link name. */
int net_link_set_up(NetLink *nl, const char *name, bool is_up, Error **err);

/* Renames link name to new_name; kernels before 6.2 refuse (-EBUSY) while the link is up. */
int net_link_rename(NetLink *nl, const char *name, const char *new_name, Error **err);

/* Moves link name into the network namespace netns_fd (not owned). */
int net_link_set_netns(NetLink *nl, const char *name, int netns_fd, Error **err);

/* Deletes link name (a veth takes its peer along); -ENODEV when there is no such link. */
int net_link_delete(NetLink *nl, const char *name, Error **err);

/*
 * Adds address addr (a struct in_addr for AF_INET, struct in6_addr for AF_INET6) with prefixlen to
 * link name. -EEXIST when the link already has it; -EINVAL for another family or a prefix too long.
 */
int net_addr_add(NetLink *nl, const char *name, int family, const void *addr, uint8_t prefixlen, Error **err);

/*
 * Adds a default route (0.0.0.0/0 or ::/0, main table) via gateway (in_addr or in6_addr) out of
 * link dev, or out of whatever link reaches gateway when dev is NULL. The gateway must be reachable
 * (a prefix route on an up link), else the kernel answers -ENETUNREACH. mtu > 0 caps the route's
 * MTU below its link's.
 */
int net_route_add_default(NetLink *nl, int family, const void *gateway, const char *dev, uint32_t mtu,
                          Error **err);

/*
 * Creates a persistent tap device name (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) in nl's namespace,
 * enslaved to bridge master and up, for a VM: QEMU opens it with -netdev tap,ifname=name. It stays
 * until net_link_delete(). -EEXIST when the name is taken. On failure no device is left.
 */
int net_tap_create(NetLink *nl, const char *name, const char *master, Error **err);

/* A route of the main IPv4 table: its destination prefix and the link it leaves by ("" if none). */
typedef struct NetRoute {
        struct in_addr dst;
        uint8_t dst_len;
        char dev[16];
} NetRoute;

/* Every route of the main IPv4 table in nl's namespace (default routes included, dst_len 0), in
 * *ret (malloc'd array of *ret_n; NULL when there are none). dev is the route's RTA_OIF link, named
 * in nl's namespace: "" for a route without one (blackhole, unreachable, multipath). */
int net_route_list_v4(NetLink *nl, NetRoute **ret, size_t *ret_n, Error **err);

/*
 * Writes value to /proc/sys/net/<key> (key like "ipv4/ip_forward" or "ipv4/conf/hull0/route_localnet")
 * of the caller's network namespace; skips the write when the file already holds value.
 */
int net_sysctl_set(const char *key, const char *value, Error **err);
