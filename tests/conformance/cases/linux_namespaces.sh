#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_namespaces.sh: each namespace listed is new, one not listed is the runtime's own, and a
# namespace with a path is joined.
source "$(dirname "$0")/../lib.sh"
plan 11

# ns_inside JQ-FILTER [JQ-ARGS...]: "type=inode" for each namespace of the program, one per line.
ns_inside() {
	local b
	b=$(new_bundle "b$BASHPID" sh -c 'for n in pid net ipc uts mnt cgroup; do echo "$n=$(readlink /proc/self/ns/$n)"; done')
	cfg "$b" "$@"
	ctr_run "$b" "$(new_id)"
	[[ $RC == 0 ]] || diag "run failed: $ERR"
}
inside_ns() { sed -n "s/^$1=//p" <<<"$OUT"; }
host_ns() { readlink "/proc/self/ns/$1"; }

ns_inside '.linux.namespaces = [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
	{"type": "mount"}, {"type": "cgroup"}]'
for n in pid:pid net:network ipc:ipc uts:uts mnt:mount cgroup:cgroup; do
	ns=${n%%:*}
	inner=$(inside_ns "$ns")
	if [[ -n $inner && $inner != "$(host_ns "$ns")" ]]; then
		pass "a ${n#*:} namespace is new"
	else
		fail "a ${n#*:} namespace is new" "inside '$inner', host '$(host_ns "$ns")'"
	fi
done

# Without network and uts entries the program shares the runtime's (here: the host's).
ns_inside 'del(.hostname) | .linux.namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}]'
is "without a network entry the host's network namespace is kept" "$(inside_ns net)" "$(host_ns net)"
is "without a uts entry the host's uts namespace is kept" "$(inside_ns uts)" "$(host_ns uts)"

# A path joins an existing namespace: the holders are host processes in fresh namespaces.
spawn unshare --net --uts --ipc sleep 60
holder=$SPAWNED
for _ in {1..40}; do [[ $(readlink /proc/$holder/ns/net) != "$(host_ns net)" ]] && break; sleep 0.05; done
ns_inside '.linux.namespaces = [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": $n},
	{"type": "uts", "path": $u}, {"type": "ipc", "path": $i}]' \
	--arg n "/proc/$holder/ns/net" --arg u "/proc/$holder/ns/uts" --arg i "/proc/$holder/ns/ipc"
is "a network namespace path is joined" "$(inside_ns net)" "$(readlink /proc/$holder/ns/net)"
is "a uts namespace path is joined" "$(inside_ns uts)" "$(readlink /proc/$holder/ns/uts)"
is "an ipc namespace path is joined" "$(inside_ns ipc)" "$(readlink /proc/$holder/ns/ipc)"
