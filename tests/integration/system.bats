#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# system.bats: system containers (`hull launch IMAGE NAME` without --vm) from a busybox image whose
# /sbin/init is busybox's init with an inittab: the init as PID 1, hostname = name, the console on a
# pty (`hull console`, Ctrl-a q), ttys, the delegated cgroup2 subtree, stop by the init's halt signal
# (its ::shutdown: action runs), start, restart, rm, and refusals of bad input. Each test has its own root.

bats_require_minimum_version 1.5.0
load instance-helpers
load lib

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	local init=$BATS_FILE_TMPDIR/initlayer
	mkdir -p "$init/sbin" "$init/etc"
	ln -s /bin/busybox "$init/sbin/init"
	# sysinit leaves a mark in the log and counts boots on disk; a shell on the console (respawned); a
	# long-lived process of its own; the shutdown action counts halts in a file that outlives the
	# container (in its upper dir).
	cat >"$init/etc/inittab" <<-'EOF'
	::sysinit:/bin/sh -c 'mkdir -p /var/log; echo booted >> /var/log/boots; echo sysinit-ran'
	::respawn:-/bin/sh
	::once:/bin/sleep 1000000
	::shutdown:/bin/sh -c 'echo halted >> /var/log/halts; echo shutdown-ran'
	EOF
	make_image "$BATS_FILE_TMPDIR/system" 1 --layer "$init" >/dev/null
	make_image "$BATS_FILE_TMPDIR/noinit" 1 --cmd '["sh"]' >/dev/null
}

setup() {
	setup_root
	h image import "$BATS_FILE_TMPDIR/system" sys:1 >/dev/null
}

teardown() {
	teardown_root
}

# id_of NAME: the instance's full id.
id_of() {
	h inspect "$1" | jq -r 'if type == "array" then .[0].id else .id end'
}

# wait_exec NAME CMD...: polls (bounded, ~10 s) until CMD succeeds in the instance.
wait_exec() {
	local name=$1 i
	shift
	for i in $(seq 100); do
		h exec "$name" "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "'$*' never succeeded in $name" >&2
	return 1
}

# wait_boots NAME N: polls until the instance has booted N times (its sysinit ran: a halt signal before
# the init has set its handlers would be lost, as PID 1 ignores signals it does not handle).
wait_boots() {
	wait_exec "$1" sh -c "[ \$(wc -l < /var/log/boots) -ge $2 ]"
}

# halts ID: how many times the instance's shutdown action ran, from its upper dir.
halts() {
	wc -l <"$HROOT/instances/$1/upper/var/log/halts" 2>/dev/null || echo 0
}

# unified_dir ID: the instance's cgroup in the host's cgroup2 tree (hybrid: /sys/fs/cgroup/unified).
unified_dir() {
	if [ -d /sys/fs/cgroup/unified ]; then
		echo "/sys/fs/cgroup/unified/hull/$1"
	else
		echo "/sys/fs/cgroup/hull/$1"
	fi
}

# assert_stopped_clean ID: a stopped instance keeps only its files: no process, cgroup, runtime
# state or run directory of it.
assert_stopped_clean() {
	no_cgroup_of "$1"
	no_process_of "$1"
	[ ! -e "$HROOT/run/oci/$1" ] || { echo "runtime state left" >&2; return 1; }
	[ ! -e "$HROOT/run/sys/${1:0:12}" ] || { echo "run directory left" >&2; return 1; }
	if pgrep -f "hull-monitor $HROOT" >/dev/null; then
		echo "monitor left" >&2
		return 1
	fi
}

@test "launch runs the image's init as PID 1 with the name as hostname, kind system" {
	run h launch sys:1 s1 --network none
	[ "$status" -eq 0 ]
	run h exec s1 cat /proc/1/comm
	[ "$status" -eq 0 ]
	[ "$output" = init ]
	run h exec s1 hostname
	[ "$output" = s1 ]
	run h exec s1 sh -c 'echo $container'
	[ "$output" = hull ]
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].kind')" = system ]
	[ "$(echo "$output" | jq -r '.[0].state')" = running ]
	# the boot is in the log: what sysinit printed on the console
	wait_boots s1 1
	run h logs s1
	[[ "$output" == *sysinit-ran* ]]
	# its own namespaces: pid, uts, ipc, mount, cgroup, net
	local pid
	pid=$(pgrep -f "sleep 1000000" | while read -r p; do [ "$(readlink /proc/$p/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && echo "$p"; done | head -1)
	[ -n "$pid" ]
	local ns
	for ns in pid uts ipc mnt cgroup net; do
		[ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
	done
}

@test "/dev/console and /dev/tty1..4 are ptys; exec passes the exit status" {
	h launch sys:1 s1 --network none
	run h exec s1 sh -c 'for d in console tty1 tty2 tty3 tty4; do [ -c /dev/$d ] || exit 1; done; ls -lL /dev/console'
	[ "$status" -eq 0 ]
	[[ "$output" == *" 136, "* ]] # the pty major
	run h exec s1 sh -c 'echo on-tty2 > /dev/tty2 && exit 7'
	[ "$status" -eq 7 ]
}

@test "console relays both ways without a terminal and detaches with Ctrl-a q" {
	h launch sys:1 s1 --network none
	wait_boots s1 1
	run --separate-stderr timeout 20 sh -c "{ printf 'echo \$((6*7))-answer\n'; sleep 2; printf '\001q'; sleep 5; } | '$HULL' --root '$HROOT' console s1"
	[ "$status" -eq 0 ]
	[[ "$output" == *42-answer* ]]
	# the end of stdin ends it too, once the console is quiet
	run timeout 20 sh -c "printf 'echo piped-\$((2+3))\n' | '$HULL' --root '$HROOT' console s1"
	[ "$status" -eq 0 ]
	[[ "$output" == *piped-5* ]]
	# still running, console usable again
	run h exec s1 cat /proc/1/comm
	[ "$output" = init ]
}

@test "console on a terminal: raw, the banner, Ctrl-a q detaches" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	h launch sys:1 s1 --network none
	wait_boots s1 1
	run timeout 20 sh -c "{ printf 'echo tty-\$((1+1))\n'; sleep 2; printf '\001q'; sleep 5; } | script -qec \"'$HULL' --root '$HROOT' console s1\" /dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Ctrl-a q detaches"* ]]
	[[ "$output" == *tty-2* ]]
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = running ]
}

@test "console of an application container is refused in one line" {
	make_image "$TEST_DIR/app" 1 --cmd '["sleep","1000"]' >/dev/null
	h image import "$TEST_DIR/app" app:1 >/dev/null
	h run -d --name a1 --network none app:1 >/dev/null
	run_split h console a1
	assert_one_error_line "a console is for system containers and VMs"
}

@test "the container's cgroup2 subtree is delegated: mkdir inside shows on the host" {
	h launch sys:1 s1 --network none
	local id
	id=$(id_of s1)
	run h exec s1 sh -c 'grep " /sys/fs/cgroup " /proc/self/mounts'
	[[ "$output" == *"cgroup2 rw"* ]]
	run h exec s1 mkdir /sys/fs/cgroup/x
	[ "$status" -eq 0 ]
	[ -d "$(unified_dir "$id")/x" ]
	# a process can be moved into it from inside
	run h exec s1 sh -c 'echo $$ > /sys/fs/cgroup/x/cgroup.procs && cat /proc/self/cgroup'
	[ "$status" -eq 0 ]
	[[ "$output" == *"0::/x"* ]]
	h stop s1
	[ ! -e "$(unified_dir "$id")" ]
	assert_stopped_clean "$id"
}

@test "stop sends busybox init its poweroff signal: the shutdown action runs, nothing is left" {
	h launch sys:1 s1 --network none
	local id
	id=$(id_of s1)
	wait_boots s1 1
	run h stop s1
	[ "$status" -eq 0 ]
	# the init halted by itself (exit 0), well before the 10 s timeout would have killed it
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = 0 ]
	[ "$(halts "$id")" -eq 1 ]
	run h logs s1
	[[ "$output" == *shutdown-ran* ]]
	assert_stopped_clean "$id"
}

@test "start again, restart, rm: each boot is whole, rm leaves nothing" {
	h launch sys:1 s1 --network none
	local id
	id=$(id_of s1)
	wait_boots s1 1
	h stop s1
	[ "$(halts "$id")" -eq 1 ]
	run h start s1
	[ "$status" -eq 0 ]
	run h exec s1 cat /proc/1/comm
	[ "$output" = init ]
	wait_boots s1 2
	run h restart s1
	[ "$status" -eq 0 ]
	# the restart stopped it through its shutdown action and booted it again
	[ "$(halts "$id")" -eq 2 ]
	wait_boots s1 3
	run h exec s1 cat /proc/1/comm
	[ "$output" = init ]
	run h rm -f s1
	[ "$status" -eq 0 ]
	[ -z "$(h ps -aq)" ]
	[ ! -e "$HROOT/instances/$id" ]
	ROOT=$HROOT/run/oci BUNDLE=$HROOT/instances/$id assert_nothing_left "$id"
	assert_stopped_clean "$id"
}

@test "--stop-signal replaces the init's; --stop-timeout bounds the wait, then SIGKILL" {
	# SIGHUP makes busybox init re-read its inittab and go on: only the kill ends it.
	h launch sys:1 s1 --network none --stop-signal HUP --stop-timeout 1
	local id
	id=$(id_of s1)
	wait_boots s1 1
	local start=$SECONDS
	run h stop s1
	[ "$status" -eq 0 ]
	[ $((SECONDS - start)) -lt 8 ]
	[ "$(h ps -a --format json | jq -r '.[0].exit_code')" = 137 ]
	[ "$(halts "$id")" -eq 0 ]
	assert_stopped_clean "$id"
}

@test "launch on the default network: an address like any instance" {
	h launch sys:1 s1
	# the lease hull recorded (the default network's subnet is 10.77.0.0/16 unless the namespace has
	# that in use already) is what the container's eth0 has
	addr=$(h inspect s1 | jq -r '.[0].network | "\(.address)/\(.prefix_len)"')
	[[ "$addr" == 10.* ]]
	run h exec s1 ip -4 addr show eth0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet $addr "* ]]
}

@test "a name in use: one error line, the first instance unharmed" {
	h launch sys:1 s1 --network none
	run_split h launch sys:1 s1 --network none
	[ "$status" -eq 125 ]
	assert_one_error_line "'s1' is already in use"
	[ "$(h ps -aq | wc -l)" -eq 1 ]
	run h exec s1 cat /proc/1/comm
	[ "$output" = init ]
}

@test "an image with no init: one error line, exit 125, nothing left" {
	h image import "$BATS_FILE_TMPDIR/noinit" noinit:1 >/dev/null
	run_split h launch noinit:1 n1 --network none
	[ "$status" -eq 125 ]
	assert_one_error_line "launch: image 'noinit:1' has no init (/sbin/init)"
	[ -z "$(h ps -aq)" ]
	[ -z "$(ls -A "$HROOT/instances")" ]
	! grep -F "$TEST_DIR" /proc/self/mountinfo
	[ -z "$(ls -A "$HROOT/run/sys" 2>/dev/null)" ]
}

# The runtime's part, on a plain OCI bundle: a container with its own user and cgroup namespaces and a
# read-write cgroup2 mount owns its cgroup (its root's host uid does), so it can make cgroups below it;
# with the mount read-only it is not given it.
@test "runtime: a user namespace's root owns its cgroup when it mounts cgroup2 read-write" {
	local b=$TEST_DIR/bundle cg mode
	mkdir -p "$b"
	chmod 755 "$TEST_DIR" # the container's root, uid 100000 here, walks to its rootfs
	cp -a "$(rootfs_cache)" "$b/rootfs"
	chown -R 100000:100000 "$b/rootfs"
	(cd "$b" && "$HULL" oci spec)
	cg=$(unified_dir "deleg-$$")
	for mode in rw ro; do
		jq --arg m "$mode" --arg cg "$cg" '
			.process.terminal = false |
			.process.args = ["sh", "-c", "mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && grep ^0:: /proc/self/cgroup"] |
			.root.readonly = false |
			.linux.namespaces = ([.linux.namespaces[] | select(.type != "user" and .type != "cgroup")] + [{"type": "user"}, {"type": "cgroup"}]) |
			.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
			.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
			.linux.readonlyPaths -= ["/sys/fs/cgroup"] |
			.mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup")] + [{"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup2", "options": ["nosuid", "noexec", "nodev", $m]}]
		' "$b/config.json" >"$b/config.$mode.json"
		cp "$b/config.$mode.json" "$b/config.json"
		run "$HULL" oci --root "$TEST_DIR/oci" run --bundle "$b" "deleg-$$"
		echo "$mode: $status $output"
		if [ "$mode" = rw ]; then
			[ "$status" -eq 0 ]
			[ "$output" = "0::/sub" ]
		else
			[ "$status" -ne 0 ]
			[[ "$output" == *"Read-only file system"* ]]
		fi
		[ ! -e "$cg" ]
	done
}
