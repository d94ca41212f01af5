/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nft.h: hull's one nftables table (NAT for networks, DNAT for published ports), replaced atomically */
#pragma once

#include <stddef.h>
#include "net/addr.h"

typedef struct Error Error;

/*
 * Everything hull wants from nftables lives in one table, "ip hull", in the caller's network
 * namespace. It is never edited rule by rule: the caller describes the whole wanted state, and
 * net_nft_apply() replaces the table with it in one nftables transaction, so the kernel has either
 * the old table or the new one, never a mix, and a crashed hull is repaired by applying again.
 */

/* A network: its bridge and subnet. Traffic from the subnet leaving by any other link is
 * masqueraded; traffic routed between two different hull bridges is dropped (networks are
 * isolated from each other); traffic within a bridge is not touched. */
typedef struct NetNftNetwork {
        const char *bridge;
        NetPrefix subnet;
} NetNftNetwork;

/* A published port: map.host_ip:map.host_port/map.proto, arriving from outside or made on the
 * host itself (including to 127.0.0.1, which needs route_localnet on bridge: the caller sets it),
 * is DNATed to ctr_ip:map.ctr_port, and masqueraded where the reply would otherwise bypass the host
 * (from 127.0.0.0/8, and hairpin traffic from the same bridge). */
typedef struct NetNftPort {
        NetPortMap map;
        struct in_addr ctr_ip;
        const char *bridge; /* the bridge ctr_ip is on */
} NetNftPort;

typedef struct NetNftRules {
        const NetNftNetwork *networks;
        size_t n_networks;
        const NetNftPort *ports;
        size_t n_ports;
} NetNftRules;

/*
 * The nft script (nft(8) syntax) that replaces table ip hull with rules, or, when rules has no
 * networks and no ports, removes it (so `nft list ruleset` shows nothing of hull). The same rules
 * give the same text, in whatever order they come, so a caller can tell whether what it applied
 * last is still what it wants. Bridge names must be 1..15 letters, digits, '-', '_' or '.' (nft
 * cannot quote a '"', and reads "br*" as a wildcard), ports 1..65535 of tcp or udp: other rules
 * give a script that net_nft_apply() refuses with -EINVAL saying why, without running anything.
 * Pure: no kernel, no library loaded. Returns malloc'd text.
 */
char *net_nft_render(const NetNftRules *rules);

/* Runs script (from net_nft_render()) through libnftables as one transaction. libnftables is loaded
 * on first use. -EINVAL/-errno with nftables' own message on failure; nothing is changed then. */
int net_nft_apply(const char *script, Error **err);
