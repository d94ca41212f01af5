#!/usr/bin/env bats
# Namespaces: uts, pid, user (with id maps), network joined by path, another container's
# namespaces joined through /proc, ipc, cgroup and time.

load helpers
load lib

setup() {
	setup_bundle
	NETNS=""
	MQ_MOUNT=""
}

teardown() {
	[ -z "$NETNS" ] || ip netns del "$NETNS" 2>/dev/null || true
	if [ -n "$MQ_MOUNT" ]; then
		rm -f "$MQ_MOUNT"/q-"$ID"
		umount "$MQ_MOUNT" 2>/dev/null || true
	fi
	teardown_bundle
}

# ns_of PID TYPE: the namespace inode PID is in, as readlink prints it ("net:[4026531840]").
ns_of() {
	readlink "/proc/$1/ns/$2"
}

@test "uts: hostname and domainname are the container's own" {
	update_config '.hostname = "box-a" | .domainname = "example.test"'
	run_container sh -c 'hostname; cat /proc/sys/kernel/domainname'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = box-a ]
	[ "${lines[1]}" = example.test ]
	[ "$(hostname)" != box-a ]
	[ "$(cat /proc/sys/kernel/domainname)" != example.test ]
}

@test "uts: a hostname without a uts namespace is refused" {
	update_config '.hostname = "box-a" | .linux.namespaces |= map(select(.type != "uts"))'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "hostname: setting it needs a uts namespace"
	assert_nothing_left "$ID"
}

@test "pid: the process is pid 1 of a new pid namespace and sees only its own" {
	run_container sh -c 'echo $$; readlink /proc/self/ns/pid; ps -o pid= | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" != "$(ns_of self pid)" ]
	# sh and ps (and wc's pipe partner): nothing of the host.
	[ "${lines[2]}" -le 3 ]
}

@test "pid: without a pid namespace the process is not pid 1" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	run_container sh -c 'echo $$; readlink /proc/self/ns/pid'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -gt 1 ]
	[ "${lines[1]}" = "$(ns_of self pid)" ]
}

@test "user: id maps are written and files appear on the host with the mapped owner" {
	update_config '.root.readonly = false
		| .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.capabilities |= map_values(. + ["CAP_CHOWN"])'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	# The namespace's root must reach the rootfs: mktemp made the test dir 0700.
	chmod 755 "$TEST_DIR"
	run_container sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; touch /root/by-root; touch /root/by-1000; chown 1000:2000 /root/by-1000; readlink /proc/self/ns/user'
	[ "$status" -eq 0 ]
	[ "$(echo "${lines[0]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "$(echo "${lines[1]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 0 ]
	[ "${lines[4]}" != "$(ns_of self user)" ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/root/by-root")" = 100000:100000 ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/root/by-1000")" = 101000:102000 ]
}

@test "user: a host id outside the map shows as the overflow id" {
	update_config '.root.readonly = false
		| .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	# The namespace's root must reach the rootfs: mktemp made the test dir 0700.
	chmod 755 "$TEST_DIR"
	chown 0:0 "$BUNDLE/rootfs/etc/passwd"
	run_container stat -c %u:%g /etc/passwd /etc/group
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(cat /proc/sys/kernel/overflowuid):$(cat /proc/sys/kernel/overflowgid)" ]
	[ "${lines[1]}" = 0:0 ]
}

@test "user: a new user namespace without maps is refused" {
	update_config '.linux.namespaces += [{"type": "user"}]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.uidMappings"
	assert_nothing_left "$ID"
}

@test "network: joins a network namespace by path and sees its interfaces" {
	NETNS="hull-test-$$-$BATS_TEST_NUMBER"
	ip netns add "$NETNS"
	# A veth pair: this kernel has no dummy driver, and veth needs no module here.
	ip -n "$NETNS" link add hulltest0 type veth peer name hulltest1
	update_config --arg p "/var/run/netns/$NETNS" \
		'(.linux.namespaces[] | select(.type == "network")) |= (.path = $p)'
	run_container sh -c 'ip -o link | cut -d: -f2 | tr -d " " | sort | tr "\n" " "; echo; stat -L -c %i /proc/self/ns/net'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"hulltest0@hulltest1"* ]]
	[[ "${lines[0]}" == *"hulltest1@hulltest0"* ]]
	[ "${lines[1]}" = "$(stat -L -c %i "/var/run/netns/$NETNS")" ]
}

@test "network: a new network namespace has only lo" {
	run_container sh -c 'ip -o link | cut -d: -f2 | tr -d " "'
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
}

@test "network: a namespace path that does not exist fails clearly" {
	update_config '(.linux.namespaces[] | select(.type == "network")) |= (.path = "/var/run/netns/hull-no-such")'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "/var/run/netns/hull-no-such"
	assert_nothing_left "$ID"
}

@test "join: a second container shares the first one's namespaces by /proc/PID/ns path" {
	update_config '.hostname = "first"'
	set_args sleep 100
	start_detached
	pid=$(pid_of "$ID")
	# The second container: the same rootfs, the first one's uts, ipc, network and pid namespaces.
	B="$TEST_DIR/bundle-b"
	mkdir "$B"
	jq --arg root "$BUNDLE/rootfs" --arg p "/proc/$pid/ns" '
		.root.path = $root | del(.hostname)
		| .process.args = ["sh", "-c", "hostname; for n in uts ipc net pid; do readlink /proc/self/ns/$n; done; ps -o args"]
		| .linux.namespaces |= map(
			if .type == "uts" then .path = "\($p)/uts"
			elif .type == "ipc" then .path = "\($p)/ipc"
			elif .type == "network" then .path = "\($p)/net"
			elif .type == "pid" then .path = "\($p)/pid"
			else . end)' "$BUNDLE/config.json" >"$B/config.json"
	run "$HULL" oci --root "$ROOT" run --bundle "$B" "$ID-b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = first ]
	[ "${lines[1]}" = "$(ns_of "$pid" uts)" ]
	[ "${lines[2]}" = "$(ns_of "$pid" ipc)" ]
	[ "${lines[3]}" = "$(ns_of "$pid" net)" ]
	[ "${lines[4]}" = "$(ns_of "$pid" pid)" ]
	# In the first one's pid namespace, its sleep is visible.
	[[ "$output" == *"sleep 100"* ]]
}

@test "ipc: a new ipc namespace is not the host's; without one it is" {
	run_container readlink /proc/self/ns/ipc
	[ "$status" -eq 0 ]
	[ "$output" != "$(ns_of self ipc)" ]
	update_config '.linux.namespaces |= map(select(.type != "ipc"))'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	[ "$output" = "$(ns_of self ipc)" ]
}

@test "ipc: a message queue made inside is the container's own; without an ipc namespace it is the host's" {
	# The host's queues, seen through an mqueue mount of the host's ipc namespace.
	mkdir "$TEST_DIR/mq"
	mount -t mqueue mqueue "$TEST_DIR/mq"
	MQ_MOUNT="$TEST_DIR/mq"
	run_container sh -c "touch /dev/mqueue/q-$ID && ls /dev/mqueue"
	[ "$status" -eq 0 ]
	[ "$output" = "q-$ID" ]
	[ ! -e "$TEST_DIR/mq/q-$ID" ]
	update_config '.linux.namespaces |= map(select(.type != "ipc"))'
	set_args sh -c "touch /dev/mqueue/q-$ID"
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	[ -e "$TEST_DIR/mq/q-$ID" ]
}

@test "cgroup: with a cgroup namespace /proc/self/cgroup shows /" {
	run_container cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	# Every line is "N:controllers:/".
	[ -z "$(echo "$output" | grep -v ':/$')" ]
}

@test "cgroup: without a cgroup namespace /proc/self/cgroup shows the container's path" {
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
	run_container cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[[ "$output" == *":memory:/hull/$ID"* ]]
	[[ "$output" == *":pids:/hull/$ID"* ]]
}

@test "time: linux.timeOffsets shift the monotonic and boot clocks" {
	[ -e /proc/self/timens_offsets ] || skip "the kernel has no time namespaces"
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0},
			"boottime": {"secs": 172800, "nanosecs": 500}}'
	run_container sh -c 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
	host_uptime=$(cut -d. -f1 /proc/uptime)
	[ "$status" -eq 0 ]
	[ "$(echo "${lines[0]}" | tr -s ' ')" = "monotonic 86400 0" ]
	[ "$(echo "${lines[1]}" | tr -s ' ')" = "boottime 172800 500" ]
	# /proc/uptime follows CLOCK_BOOTTIME: shifted by two days.
	diff=$((lines[2] - host_uptime))
	[ "$diff" -ge 172790 ] && [ "$diff" -le 172810 ]
}

@test "time: timeOffsets without a time namespace are refused" {
	update_config '.linux.timeOffsets = {"monotonic": {"secs": 10}}'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.timeOffsets"
	assert_nothing_left "$ID"
}

@test "no mount namespace: mounts are made below the rootfs in ours, and removed with the container" {
	# The spec: a namespace not listed is inherited, mount namespaces included.
	update_config '.linux.namespaces |= map(select(.type != "mount"))'
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	rootfs=$(readlink -f "$BUNDLE/rootfs")
	[ "$(grep -c " $rootfs/proc " /proc/self/mountinfo)" -eq 1 ]
	# None outside the rootfs, and the host's / keeps its propagation.
	before=$(awk '$5 == "/" {print $7}' /proc/self/mountinfo | head -1)
	hull delete -f "$ID"
	! grep -q " $rootfs[/ ]" /proc/self/mountinfo
	[ "$(awk '$5 == "/" {print $7}' /proc/self/mountinfo | head -1)" = "$before" ]
}

@test "no mount namespace: a rootfs the caller mounted stays mounted after delete" {
	rootfs=$(readlink -f "$BUNDLE/rootfs")
	mount --bind "$rootfs" "$rootfs"
	update_config '.linux.namespaces |= map(select(.type != "mount"))'
	set_args sh -c 'cat /proc/self/mountinfo | wc -l'
	hull_run
	[ "$status" -eq 0 ]
	mounted=$(grep -c " $rootfs " /proc/self/mountinfo)
	umount "$rootfs"
	[ "$mounted" -eq 1 ]
	! grep -q " $rootfs/" /proc/self/mountinfo
}
