#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_uid_mappings.sh: a user namespace with uidMappings and gidMappings; root inside is an
# unprivileged uid outside.
source "$(dirname "$0")/../lib.sh"
plan 4

b=$(new_bundle b sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; sleep 2')
# The mapped root must own its rootfs to use it as root does.
chown -R 100000:100000 "$b/rootfs"
cfg "$b" '.linux.namespaces += [{"type": "user"}]
	| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
	| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
	| .mounts |= map(select(.type != "cgroup"))'
id=$(new_id)
ctr_create "$b" "$id"
[[ $RC == 0 ]] || diag "create failed: $ERR"
pid=$(state_of "$id" pid)
rt start "$id" >/dev/null 2>&1 || true
host_uid=$(awk '/^Uid:/ { print $2 }' "/proc/${pid:-0}/status" 2>/dev/null || true)
wait_status "$id" stopped 10 || true
mapfile -t lines <"$b/stdout"
is "uid_map is the configured mapping" "$(echo ${lines[0]:-})" "0 100000 65536"
is "gid_map is the configured mapping" "$(echo ${lines[1]:-})" "0 100000 65536"
is "the program is root inside" "${lines[2]:-}" 0
is "... and uid 100000 on the host" "$host_uid" 100000
