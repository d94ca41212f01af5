#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# process_capabilities.sh: each capability set of process.capabilities is the one the program gets.
source "$(dirname "$0")/../lib.sh"
plan 6

# caps JQ-FILTER: the program's Cap* lines of /proc/self/status as "Inh Prm Eff Bnd Amb" in hex.
caps() {
	local b
	b=$(new_bundle "b$BASHPID" sh -c 'awk "/^Cap/ { printf \"%s \", \$2 }" /proc/self/status')
	cfg "$b" "$1"
	ctr_run "$b" "$(new_id)"
	[[ $RC == 0 ]] || diag "run failed: $ERR"
	read -r inh prm eff bnd amb <<<"$OUT" || true
}

# CAP_CHOWN is bit 0 and CAP_KILL bit 5: 0x21.
caps '.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
	"effective": ["CAP_CHOWN", "CAP_KILL"], "inheritable": [], "ambient": []}'
is "bounding set is the configured one" "${bnd:-}" 0000000000000021
is "permitted set is the configured one" "${prm:-}" 0000000000000021
is "effective set is the configured one" "${eff:-}" 0000000000000021
is "inheritable set is empty" "${inh:-}" 0000000000000000

# A non-root user keeps a capability only through the ambient set (CAP_NET_BIND_SERVICE, bit 10).
caps '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE"],
	"permitted": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
	"inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
is "ambient set reaches a non-root program" "${amb:-}" 0000000000000400
is "... and so does its effective set" "${eff:-}" 0000000000000400
