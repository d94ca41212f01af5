#!/usr/bin/env bats
# Cgroups: limits written and enforced (memory with the OOM killer, pids, cpu), update of a running
# container, hugetlb on the unified tree, the device allow-list, removal on delete, and freezing.

load helpers
load lib

setup() { setup_bundle; }
teardown() { teardown_bundle; }

# cg CONTROLLER FILE: a file of the container's v1 cgroup.
cg() {
	cat "$(cgroup_dir "$1" "$ID")/$2"
}

# field FILE KEY: the value of KEY in a "key value" cgroup file.
field() {
	awk -v k="$2" '$1 == k {print $2}' "$1"
}

@test "memory limit and reservation are written" {
	update_config '.linux.resources.memory = {"limit": 67108864, "reservation": 33554432}'
	set_args sleep 100
	start_detached
	[ "$(cg memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cg memory memory.soft_limit_in_bytes)" = 33554432 ]
	# The container's process is in it.
	grep -qx "$(pid_of "$ID")" "$(cgroup_dir memory "$ID")/cgroup.procs"
}

@test "a container that allocates past its memory limit is OOM-killed" {
	update_config '.linux.resources.memory = {"limit": 67108864}'
	# Builds a 200 MB string in the shell (pid 1): far more than 64 MiB.
	set_args sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
	run "$HULL" oci --root "$ROOT" run --keep --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 137 ]
	[[ "$output" != *survived* ]]
	dir=$(cgroup_dir memory "$ID")
	[ "$(field "$dir/memory.oom_control" oom_kill)" -ge 1 ]
	[ "$(cat "$dir/memory.failcnt")" -gt 0 ]
	[ "$(cat "$dir/memory.max_usage_in_bytes")" -le 67108864 ]
	[ "$(status_of "$ID")" = stopped ]
}

@test "without a memory limit the same allocation survives" {
	set_args sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = survived ]
}

@test "pids limit bounds a fork loop" {
	update_config '.linux.resources.pids = {"limit": 10}'
	# Thirty sleepers cannot all start: fork fails once ten tasks exist.
	set_args sh -c 'i=0; while [ $i -lt 30 ]; do sleep 10 & i=$((i + 1)); done; echo all-forked'
	run "$HULL" oci --root "$ROOT" run --keep --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"can't fork"* ]]
	[[ "$output" != *all-forked* ]]
	[ "$(cg pids pids.max)" = 10 ]
	[ "$(field "$(cgroup_dir pids "$ID")/pids.events" max)" -ge 1 ]
}

@test "cpu shares, quota, period and cpuset are written" {
	update_config '.linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}'
	set_args sleep 100
	start_detached
	[ "$(cg cpu cpu.shares)" = 512 ]
	[ "$(cg cpu cpu.cfs_quota_us)" = 50000 ]
	[ "$(cg cpu cpu.cfs_period_us)" = 100000 ]
	[ "$(cg cpuset cpuset.cpus)" = 0 ]
	[ "$(cg cpuset cpuset.mems)" = 0 ]
	# The process may run on CPU 0 only.
	[ "$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/"$(pid_of "$ID")"/status)" = 0 ]
}

@test "a cpu quota throttles a busy loop" {
	update_config '.linux.resources.cpu = {"quota": 10000, "period": 100000}'
	set_args sh -c 'while :; do :; done'
	start_detached
	sleep 1
	[ "$(field "$(cgroup_dir cpu "$ID")/cpu.stat" nr_throttled)" -gt 0 ]
	# At 10% of one CPU, one second of wall time is far less than a second of CPU.
	usage=$(cg cpuacct cpuacct.usage)
	[ "$usage" -lt 500000000 ]
}

@test "update --memory and friends change a running container's files" {
	update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 50}'
	set_args sleep 100
	start_detached
	hull update --memory 128M --pids-limit 60 --cpu-share 256 --cpu-quota 20000 --cpu-period 100000 "$ID"
	[ "$(cg memory memory.limit_in_bytes)" = 134217728 ]
	[ "$(cg pids pids.max)" = 60 ]
	[ "$(cg cpu cpu.shares)" = 256 ]
	[ "$(cg cpu cpu.cfs_quota_us)" = 20000 ]
	[ "$(status_of "$ID")" = running ]
}

@test "update --resources FILE changes a running container's files" {
	set_args sleep 100
	start_detached
	cat >"$TEST_DIR/resources.json" <<-'EOF'
	{"memory": {"limit": 100663296}, "pids": {"limit": 33}, "cpu": {"shares": 768, "cpus": "0"}}
	EOF
	hull update --resources "$TEST_DIR/resources.json" "$ID"
	[ "$(cg memory memory.limit_in_bytes)" = 100663296 ]
	[ "$(cg pids pids.max)" = 33 ]
	[ "$(cg cpu cpu.shares)" = 768 ]
	[ "$(cg cpuset cpuset.cpus)" = 0 ]
	# And from stdin.
	echo '{"pids": {"limit": 44}}' | hull update --resources - "$ID"
	[ "$(cg pids pids.max)" = 44 ]
}

@test "update refuses bad input and a stopped container" {
	set_args sleep 100
	start_detached
	run_split hull update --memory lots "$ID"
	assert_one_error_line "--memory 'lots'"
	echo '{"memory": {"limit": "big"}}' >"$TEST_DIR/bad.json"
	run_split hull update --resources "$TEST_DIR/bad.json" "$ID"
	assert_one_error_line "memory.limit"
	hull kill "$ID" KILL
	wait_status "$ID" stopped
	run_split hull update --memory 128M "$ID"
	assert_one_error_line "stopped"
}

@test "hugepageLimits are written on the unified tree" {
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "no 2 MB huge pages on this host"
	[ -n "$(ls /sys/fs/cgroup/*/hugetlb.2MB.max /sys/fs/cgroup/*/*/hugetlb.2MB.max /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes 2>/dev/null)" ] ||
		skip "no hugetlb controller on this host"
	update_config '.linux.resources.hugepageLimits = [{"pageSize": "2MB", "limit": 4194304}]'
	set_args sleep 100
	start_detached
	if [ -e "/sys/fs/cgroup/unified/hull/$ID/hugetlb.2MB.max" ]; then
		[ "$(cat "/sys/fs/cgroup/unified/hull/$ID/hugetlb.2MB.max")" = 4194304 ]
	elif [ -e "/sys/fs/cgroup/hull/$ID/hugetlb.2MB.max" ]; then
		[ "$(cat "/sys/fs/cgroup/hull/$ID/hugetlb.2MB.max")" = 4194304 ]
	else
		[ "$(cg hugetlb hugetlb.2MB.limit_in_bytes)" = 4194304 ]
	fi
}

@test "an unknown hugepage size is refused with one line" {
	update_config '.linux.resources.hugepageLimits = [{"pageSize": "3MB", "limit": 4194304}]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.resources"
	[[ "$stderr" == *3MB* ]]
	assert_nothing_left "$ID"
}

@test "devices: a host node bound in opens only when resources.devices allows it" {
	[ -c /dev/net/tun ] || skip "no /dev/net/tun on this host"
	update_config '.mounts += [{"destination": "/dev/tun", "type": "bind", "source": "/dev/net/tun", "options": ["bind"]}]'
	run_container sh -c 'cat /dev/tun 2>&1'
	[[ "$output" == *"Operation not permitted"* ]]
	update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}]'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-2"
	# Opened: reading an unattached tun fd fails with EBADFD, not EPERM.
	[[ "$output" != *"Operation not permitted"* ]]
	[[ "$output" == *"bad state"* ]]
}

@test "the cgroup directories disappear after delete" {
	set_args sleep 100
	start_detached
	dirs=$(ls -d /sys/fs/cgroup/*/hull/"$ID")
	# Every v1 controller has one, and the unified tree too on a hybrid host.
	[ "$(echo "$dirs" | grep -c .)" -ge 5 ]
	for c in memory pids cpu freezer devices; do
		[[ "$dirs" == *"/$c/hull/$ID"* ]]
	done
	hull delete -f "$ID"
	[ -z "$(ls -d /sys/fs/cgroup/*/hull/"$ID" 2>/dev/null)" ]
}

@test "a custom cgroupsPath is used and removed" {
	update_config --arg p "/hull-test/$ID" '.linux.cgroupsPath = $p'
	set_args sleep 100
	start_detached
	[ -d "/sys/fs/cgroup/memory/hull-test/$ID" ]
	grep -qx "$(pid_of "$ID")" "/sys/fs/cgroup/memory/hull-test/$ID/cgroup.procs"
	hull delete -f "$ID"
	[ ! -e "/sys/fs/cgroup/memory/hull-test/$ID" ]
	rmdir /sys/fs/cgroup/*/hull-test 2>/dev/null || true
}

@test "pause freezes the container (a counter stops) and resume thaws it" {
	update_config '.root.readonly = false'
	# Each count is written aside and renamed in, so a read (even one of a
	# container frozen mid-write) sees a whole number, never an empty file.
	set_args sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.02; done'
	start_detached
	count="$BUNDLE/rootfs/tmp/count"
	wait_for_file "$count"
	hull pause "$ID"
	[ "$(status_of "$ID")" = paused ]
	grep -q FROZEN "$(cgroup_dir freezer "$ID")/freezer.state"
	a=$(cat "$count")
	sleep 0.5
	b=$(cat "$count")
	[ -n "$a" ] && [ "$a" = "$b" ]
	hull resume "$ID"
	[ "$(status_of "$ID")" = running ]
	sleep 0.5
	c=$(cat "$count")
	[ "$c" -gt "$b" ]
}
