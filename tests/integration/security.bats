#!/usr/bin/env bats
# Known container escapes, each attempted for real against hull; every one must stay closed.

load helpers

setup() { setup_bundle; }
teardown() {
	[ -n "${OUTSIDE:-}" ] && { umount -R "$OUTSIDE"/* 2>/dev/null || true; rm -rf "$OUTSIDE"; }
	teardown_bundle
}

# start_joined_pair: container a-$ID runs; b-$ID joins its pid namespace and stays "created",
# so B's process is still the runtime's binary, waiting on exec.fifo, and visible from A.
# Sets bpid_host.
start_joined_pair() {
	set_args sleep 1000
	hull run -d --bundle "$BUNDLE" a-$ID
	local apid
	apid=$(hull state a-$ID | jq .pid)
	update_config --arg ns "/proc/$apid/ns/pid" \
		'.linux.namespaces |= map(if .type == "pid" then .path = $ns else . end)'
	"$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" b-$ID >"$TEST_DIR/b.out" 2>&1
	bpid_host=$(hull state b-$ID | jq .pid)
}

# CVE-2019-5736: a process in the container opens /proc/PID/exe of a runtime process that is
# still the runtime's binary, keeps it, and writes through it once the runtime has exited.
@test "CVE-2019-5736: the runtime binary cannot be opened through /proc/PID/exe from a container" {
	cp "$HULL" "$TEST_DIR/hull-copy"
	HULL="$TEST_DIR/hull-copy"
	sum=$(sha256sum "$HULL" | cut -d' ' -f1)
	start_joined_pair
	[ "$(readlink /proc/$bpid_host/exe)" = "$HULL" ]
	# From A, find B's process by its command line and try every way in.
	run hull exec a-$ID sh -c '
		for p in /proc/[0-9]*; do
			grep -q "b-" $p/cmdline 2>/dev/null || continue
			echo "found $p"
			readlink $p/exe && echo "READLINK-OK"
			exec 5<$p/exe && echo "OPEN-OK"
			(echo pwned >$p/exe) 2>/dev/null && echo "WRITE-OK"
		done; true'
	echo "$output"
	[[ "$output" == *found* ]]
	[[ "$output" != *READLINK-OK* ]]
	[[ "$output" != *OPEN-OK* ]]
	[[ "$output" != *WRITE-OK* ]]
	hull delete -f b-$ID
	hull delete -f a-$ID
	[ "$(sha256sum "$HULL" | cut -d' ' -f1)" = "$sum" ]
}

@test "CVE-2019-5736: with CAP_SYS_PTRACE the container reaches only a sealed copy of the runtime" {
	cp "$HULL" "$TEST_DIR/hull-copy"
	HULL="$TEST_DIR/hull-copy"
	sum=$(sha256sum "$HULL" | cut -d' ' -f1)
	update_config '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])'
	start_joined_pair
	[[ "$(readlink /proc/$bpid_host/exe)" == "/memfd:hull"* ]]
	run hull exec a-$ID sh -c '
		for p in /proc/[0-9]*; do
			grep -q "b-" $p/cmdline 2>/dev/null || continue
			echo "found $p $(readlink $p/exe)"
			(echo pwned >>$p/exe) 2>/dev/null && echo "WRITE-OK"
			exec 5<>$p/exe 2>/dev/null && echo "OPEN-RW-OK"
		done; true'
	echo "$output"
	[[ "$output" == *"found"*"/memfd:hull"* ]]
	[[ "$output" != *WRITE-OK* ]]
	[[ "$output" != *OPEN-RW-OK* ]]
	hull delete -f b-$ID
	hull delete -f a-$ID
	[ "$(sha256sum "$HULL" | cut -d' ' -f1)" = "$sum" ]
}

# CVE-2024-21626: a runtime fd to a host directory leaks into the container, and process.cwd
# "/proc/self/fd/N" puts the container's process in the host's filesystem.
@test "CVE-2024-21626: process.cwd through /proc/self/fd/N never lands outside the container" {
	before=$(cd "$BUNDLE/rootfs" && find . | sort)
	for n in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		update_config --arg cwd "/proc/self/fd/$n" '.process.cwd = $cwd'
		set_args sh -c 'pwd; ls /proc/self/cwd/../../../../'
		hull_run
		# Refused before anything runs, with the field named: never a cwd on the host.
		[ "$status" -eq 1 ]
		[[ "$output" == "hull: process.cwd: resolve '/proc/self/fd/$n': "*"magic link" ]]
	done
	[ "$(cd "$BUNDLE/rootfs" && find . | sort)" = "$before" ]
	[ -z "$(hull list -q)" ]
}

@test "CVE-2024-21626: the container's process holds no fd of the runtime's" {
	set_args sh -c 'ls /proc/self/fd'
	exec 7</ 8</sys/fs/cgroup
	hull_run
	exec 7<&- 8<&-
	[ "$status" -eq 0 ]
	# ls itself opens one directory fd (3).
	[ "$(echo "$output" | tr '\n' ' ')" = "0 1 2 3 " ]
}

@test "CVE-2024-21626: exec holds no fd of the runtime's and --cwd cannot escape" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	exec 7</ 8</sys/fs/cgroup
	run hull exec "$ID" sh -c 'ls /proc/self/fd'
	[ "$(echo "$output" | tr '\n' ' ')" = "0 1 2 3 " ]
	for n in 3 4 5 6 7 8 9 10 11 12; do
		run hull exec --cwd "/proc/self/fd/$n" "$ID" sh -c 'ls /proc/self/cwd/../../../ 2>/dev/null'
		[ "$status" -eq 1 ]
		[[ "$output" == "hull: process.cwd '/proc/self/fd/$n': "* ]]
	done
	exec 7<&- 8<&-
}

# CVE-2021-30465: a mount target whose path has a symlink pointing out of the rootfs.
@test "CVE-2021-30465: a symlinked mount target stays inside the rootfs" {
	OUTSIDE=$(mktemp -d /tmp/hull-outside.XXXXXX)
	ln -s "$OUTSIDE" "$BUNDLE/rootfs/escape-abs"
	ln -s ../../../../../../../../../.."$OUTSIDE" "$BUNDLE/rootfs/escape-rel"
	update_config '.mounts += [
		{"destination": "/escape-abs/a", "type": "tmpfs", "source": "tmpfs"},
		{"destination": "/escape-rel/b", "type": "tmpfs", "source": "tmpfs"}]'
	set_args sh -c 'mount | grep -c "on /tmp/hull-outside"'
	hull_run
	[ "$status" -eq 0 ]
	# Inside, the symlinks resolved within the rootfs: both mounts exist there ...
	[ "$output" = 2 ]
	# ... and nothing was made or mounted in the real directory.
	[ -z "$(ls -A "$OUTSIDE")" ]
	! grep -q "$OUTSIDE" /proc/self/mountinfo
	[ -d "$BUNDLE/rootfs$OUTSIDE/a" ]
}

# CVE-2019-19921: /proc in the rootfs is a symlink, so that proc lands somewhere else and the
# container's /proc (where the runtime writes, e.g. attributes) is one the container controls.
@test "CVE-2019-19921: proc is never mounted over a symlink" {
	rmdir "$BUNDLE/rootfs/proc"
	mkdir "$BUNDLE/rootfs/fakeproc"
	ln -s fakeproc "$BUNDLE/rootfs/proc"
	hull_run
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"mounts[0]"*symlink* ]]
	[ -z "$(ls -A "$BUNDLE/rootfs/fakeproc")" ]
	[ -z "$(hull list -q)" ]
	! grep -q "$BUNDLE/rootfs" /proc/self/mountinfo
}

@test "sysfs is never mounted over a symlink either" {
	rmdir "$BUNDLE/rootfs/sys"
	ln -s tmp "$BUNDLE/rootfs/sys"
	hull_run
	[ "$status" -ne 0 ]
	[[ "$output" == *symlink* ]]
	! grep -q "$BUNDLE/rootfs" /proc/self/mountinfo
}
