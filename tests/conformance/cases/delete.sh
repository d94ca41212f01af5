#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# delete.sh: delete refuses a running container, --force kills it, and delete frees what create made.
source "$(dirname "$0")/../lib.sh"
plan 9

check_not "delete of an unknown id fails" rt delete "$(new_id)"

b=$(new_bundle b sleep 30)
id=$(new_id)
ctr_create "$b" "$id"
rt start "$id" >/dev/null 2>&1 || true
pid=$(state_of "$id" pid)
running=0
[[ $(state_of "$id" status) == running && -n $pid ]] || running=1
check_not_after "$running" "delete of a running container fails" rt delete "$id"
is "... and it keeps running" "$(state_of "$id" status)" running
forced=0
rt delete --force "$id" >/dev/null 2>&1 || forced=$?
is "delete --force of a running container exits 0" "$forced" 0
if [[ $running == 0 && $forced == 0 ]] && proc_gone "$pid"; then
	pass "... and its process is gone"
else
	fail "... and its process is gone" "pid '$pid', delete --force status $forced"
fi
check_not_after "$forced" "... and so is its state" rt state "$id"

# What delete must free: the container's cgroup (its pids controller is on every layout).
b2=$(new_bundle b2 true)
id2=$(new_id)
ctr_create "$b2" "$id2"
pid2=$(state_of "$id2" pid)
cg=
[[ -z $pid2 ]] || cg=$(dirname "$(cgroup_file "$pid2" pids pids.max pids.max)")
rt start "$id2" >/dev/null 2>&1 || true
wait_status "$id2" stopped || true
deleted=0
rt delete "$id2" >/dev/null 2>&1 || deleted=$?
is "delete of a stopped container exits 0" "$deleted" 0
check_not_after "$deleted" "... and its state is gone" rt state "$id2"
if [[ -n $cg && $cg != /sys/fs/cgroup && $cg != /sys/fs/cgroup/pids ]]; then
	check_not "... and its cgroup is removed" test -d "$cg"
else
	fail "... and its cgroup is removed" "no cgroup of its own found for pid '$pid2' ('$cg')"
fi
