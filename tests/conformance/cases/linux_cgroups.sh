#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_cgroups.sh: linux.resources land in the container's cgroup (read from the host, on cgroup v1,
# v2 or hybrid), and cgroupsPath places it.
source "$(dirname "$0")/../lib.sh"
plan 9

parent=hull-conformance-$$
case_cleanup() {
	local d
	for d in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent"; do
		[[ ! -d $d ]] || rmdir "$d" 2>/dev/null || true
	done
}
v2=
[[ -f /sys/fs/cgroup/cgroup.controllers ]] && v2=1

b=$(new_bundle b sleep 30)
id=$(new_id)
cfg "$b" '.linux.cgroupsPath = $p | .linux.resources += {
	"memory": {"limit": 67108864, "reservation": 33554432},
	"pids": {"limit": 50},
	"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}' --arg p "/$parent/$id"
ctr_create "$b" "$id"
[[ $RC == 0 ]] || diag "create failed: $ERR"
pid=$(state_of "$id" pid)
pid=${pid:-0}

# value CONTROLLER V1FILE V2FILE: the host's view of one control file of the container's cgroup.
value() { cat "$(cgroup_file "$pid" "$1" "$2" "$3")" 2>/dev/null || echo "(unreadable)"; }

path=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ || $1 == "0" { print $3; exit }' "/proc/$pid/cgroup" 2>/dev/null || true)
is "cgroupsPath is the container's cgroup" "$path" "/$parent/$id"
is "memory.limit applies" "$(value memory memory.limit_in_bytes memory.max)" 67108864
is "memory.reservation applies" "$(value memory memory.soft_limit_in_bytes memory.low)" 33554432
is "pids.limit applies" "$(value pids pids.max pids.max)" 50
if [[ -n $v2 ]]; then
	# runc's and crun's conversion of shares (2..262144) to weight (1..10000).
	is "cpu.shares applies (as cpu.weight)" "$(value cpu - cpu.weight)" $((1 + ((512 - 2) * 9999) / 262142))
	is "cpu.quota and cpu.period apply" "$(value cpu - cpu.max)" "50000 100000"
	skip "cpu.period applies on its own" "cgroup v2 keeps it in cpu.max"
else
	is "cpu.shares applies" "$(value cpu cpu.shares -)" 512
	is "cpu.quota applies" "$(value cpu cpu.cfs_quota_us -)" 50000
	is "cpu.period applies" "$(value cpu cpu.cfs_period_us -)" 100000
fi
is "cpu.cpus applies (cpuset)" "$(value cpuset cpuset.cpus cpuset.cpus)" 0

# The program itself is limited, not only the runtime's bookkeeping: 60 sleeps exceed pids 50.
f=$(new_bundle fork sh -c 'for i in $(seq 60); do sleep 2 & done; wait; echo done')
cfg "$f" '.linux.resources.pids = {"limit": 20}'
ctr_run "$f" "$(new_id)"
case $ERR$OUT in
*"Resource temporarily unavailable"* | *"can't fork"*) pass "pids.limit stops the program's forks" ;;
*) fail "pids.limit stops the program's forks" "out '$OUT' err '$ERR'" ;;
esac
