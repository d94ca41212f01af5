/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* addr.h: IPv4 prefixes (subnets) and published-port specs: parsing, formatting, arithmetic */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Error Error;

/* An IPv4 prefix: addr is in network byte order with every host bit zero. */
typedef struct NetPrefix {
        struct in_addr addr;
        uint8_t len; /* 0..32 */
} NetPrefix;

/*
 * Parses "a.b.c.d/len" (dotted quad, four decimal parts of 0..255 without leading zeros, len 0..32).
 * -EINVAL with a message naming the text: "subnet '10.0.0.1/24': host bits set", "subnet 'x': not
 * an IPv4 address/prefix". Nothing else is accepted (no spaces, no missing /len).
 */
int net_prefix_parse(const char *text, NetPrefix *ret, Error **err);

/* "a.b.c.d/len" into buf (at least NET_PREFIX_STRLEN bytes); returns buf. */
#define NET_PREFIX_STRLEN 19
char *net_prefix_format(const NetPrefix *p, char buf[static NET_PREFIX_STRLEN]);

/* True when the two prefixes share any address. */
bool net_prefix_overlaps(const NetPrefix *a, const NetPrefix *b);

/* True when addr lies inside p. */
bool net_prefix_contains(const NetPrefix *p, struct in_addr addr);

/*
 * The address at host offset n of p (p's address plus n): 1 is the gateway hull gives a network's
 * bridge, 2.. are for instances. -ERANGE when n is 0 or not below the broadcast address (prefixes of
 * length 31 and 32 have no host offsets for this use).
 */
int net_prefix_host(const NetPrefix *p, uint32_t n, struct in_addr *ret);

/* The number of host offsets net_prefix_host() accepts: 2^(32-len) - 2, or 0 for len >= 31. */
uint32_t net_prefix_hosts(const NetPrefix *p);

/* The host offset of addr in p (the inverse of net_prefix_host()); -ERANGE when it is not one. */
int net_prefix_offset(const NetPrefix *p, struct in_addr addr, uint32_t *ret);

/* Parses a dotted-quad IPv4 address (same rules as in prefixes); -EINVAL with a message. */
int net_addr_parse(const char *text, struct in_addr *ret, Error **err);

/* A published port: traffic to host_ip:host_port/proto goes to the instance's ctr_port. */
typedef struct NetPortMap {
        struct in_addr host_ip; /* INADDR_ANY (0.0.0.0): every local address */
        uint16_t host_port;     /* 1..65535 */
        uint16_t ctr_port;      /* 1..65535 */
        uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP */
} NetPortMap;

/*
 * Parses a -p value: "[IP:]HOSTPORT:CTRPORT[/tcp|/udp]" (tcp by default). -EINVAL with a message
 * naming the value: "port '80': give HOSTPORT:CTRPORT", "port '0:80': host port out of range 1-65535",
 * "port '8080:80/sctp': protocol must be tcp or udp", "port '1.2.3:8080:80': invalid IP address".
 */
int net_port_parse(const char *text, NetPortMap *ret, Error **err);

/* "IP:HOSTPORT->CTRPORT/proto" (as docker ps shows them) into buf (at least NET_PORT_STRLEN); returns buf. */
#define NET_PORT_STRLEN 40
char *net_port_format(const NetPortMap *m, char buf[static NET_PORT_STRLEN]);

/* True when a and b cannot both be published: same proto and host port, and the same host_ip or
 * either of them INADDR_ANY. */
bool net_port_conflicts(const NetPortMap *a, const NetPortMap *b);
