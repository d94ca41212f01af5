#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# restart.bats: --restart policies kept after a detached container exits (its monitor runs hull, which
# decides), stops by the user that are never followed by a restart, and `hull autostart`.

bats_require_minimum_version 1.5.0
load instance-helpers
load lib

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	make_image "$BATS_FILE_TMPDIR/busybox" 1 --cmd '["sh"]' >/dev/null
	# a system image: busybox's init as /sbin/init, with an inittab that keeps it busy and quiet (its Cmd
	# names the init too, for a launch that does not pick the init by itself)
	make_system_image "$BATS_FILE_TMPDIR/system" --cmd '["/sbin/init"]' >/dev/null
}

setup() {
	setup_root
	h image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null
}

teardown() {
	local root=${HROOT:-}
	teardown_root
	# No restart by policy of this root may outlive the test either.
	if [ -n "$root" ] && pgrep -f "hull --root $root .*__restart" >/dev/null; then
		pkill -9 -f "hull --root $root .*__restart"
		echo "a restart process was left behind" >&2
		return 1
	fi
}

# field NAME KEY: one member of the instance's inspect document.
field() {
	h inspect "$1" | jq -r ".[0].$2"
}

# wait_until CMD...: polls (bounded, ~30 s: the machine may be loaded) until CMD succeeds.
wait_until() {
	local i
	for i in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

field_is() {
	[ "$(field "$1" "$2")" = "$3" ]
}

# no_restart_pending: no `hull __restart` of this root runs (the policy has decided).
no_restart_pending() {
	! pgrep -f "hull --root $HROOT .*__restart" >/dev/null
}

# settled NAME: exited, its monitor and any restart by policy done.
settled() {
	field_is "$1" state exited && no_restart_pending
}

@test "restart: on-failure:2 restarts a failing container exactly twice, then it stays exited" {
	h run -d --name f --network none --restart on-failure:2 bb:1 sh -c 'echo ran; exit 3' >/dev/null
	wait_until field_is f restart_count 2
	wait_until settled f
	# Long enough for a third restart (its delay would be 400 ms) to have happened.
	sleep 2
	wait_until settled f
	[ "$(field f restart_count)" = 2 ]
	[ "$(field f exit_code)" = 3 ]
	run h logs f
	[ "$output" = "$(printf 'ran\nran\nran')" ]
	# A manual start counts again from 0.
	h start f >/dev/null
	wait_until field_is f restart_count 2
	wait_until settled f
	[ "$(field f exit_code)" = 3 ]
}

@test "restart: on-failure does not restart an exit 0" {
	h run -d --name ok --network none --restart on-failure bb:1 sh -c 'echo ran; exit 0' >/dev/null
	wait_until settled ok
	sleep 1
	wait_until settled ok
	[ "$(field ok restart_count)" = 0 ]
	[ "$(field ok exit_code)" = 0 ]
	run h logs ok
	[ "$output" = ran ]
}

@test "restart: always brings back a container whose init was killed from the host, with a new pid" {
	h run -d --name a --network none --restart always bb:1 sleep 1000 >/dev/null
	pid=$(field a pid)
	[ "$pid" -gt 0 ]
	kill -9 "$pid"
	wait_until field_is a restart_count 1
	wait_until field_is a state running
	new=$(field a pid)
	[ "$new" -gt 0 ]
	[ "$new" != "$pid" ]
	h exec a true
}

@test "restart: always does not restart after hull stop or hull kill" {
	h run -d --name s --network none --restart always bb:1 sleep 1000 >/dev/null
	# sleep as PID 1 ignores SIGTERM: stop ends it with SIGKILL after 1 s.
	h stop -t 1 s >/dev/null
	sleep 1
	wait_until settled s
	[ "$(field s restart_count)" = 0 ]
	[ "$(field s exit_code)" = 137 ]
	# A start clears the stop; hull kill (SIGKILL) is a stop by the user as well.
	h start s >/dev/null
	[ "$(field s state)" = running ]
	h kill s >/dev/null
	sleep 1
	wait_until settled s
	[ "$(field s restart_count)" = 0 ]
	# hull restart stops and starts it: running again, restarted by nobody else.
	h restart -t 1 s >/dev/null
	[ "$(field s state)" = running ]
	[ "$(field s restart_count)" = 0 ]
}

@test "restart: rm -f of a container that keeps restarting leaves nothing" {
	h run -d --name r --network none --restart always bb:1 sh -c 'exit 1' >/dev/null
	wait_until field_is r restart_count 2
	h rm -f r >/dev/null
	wait_until no_restart_pending
	# A pending restart must not bring anything back.
	sleep 1
	no_restart_pending
	[ -z "$(h ps -aq)" ]
	[ -z "$(ls "$HROOT/instances")" ]
	! grep -F "$HROOT" /proc/self/mountinfo
	! pgrep -f "hull-monitor $HROOT"
}

@test "restart: a restart that cannot start leaves it exited, and says why in hull.err" {
	mkdir "$TEST_DIR/src"
	h run -d --name b --network none --restart on-failure -v "$TEST_DIR/src:/mnt" bb:1 sh -c 'sleep 1; exit 1' >/dev/null
	# Its bind's source goes while it runs: the restart cannot mount it.
	rmdir "$TEST_DIR/src"
	wait_until field_is b restart_count 1
	wait_until settled b
	[ "$(field b exit_code)" = 1 ]
	id=$(field b id)
	grep -q "src" "$HROOT/instances/$id/hull.err"
	grep -q "No such file" "$HROOT/instances/$id/hull.err"
}

@test "restart: a policy is refused when it does not parse" {
	run_split h run -d --restart sometimes bb:1 true
	[ "$status" -eq 125 ]
	assert_one_error_line "--restart 'sometimes'"
	run_split h create --restart on-failure:x bb:1 true
	[ "$status" -eq 125 ]
	assert_one_error_line "--restart 'on-failure:x'"
	[ -z "$(h ps -aq)" ]
}

@test "autostart: starts the marked containers that are not running, leaves the others; one failure does not stop the rest" {
	h create --name auto --network none --autostart bb:1 sleep 1000 >/dev/null
	h create --name always --network none --restart always bb:1 sleep 1000 >/dev/null
	h create --name plain --network none bb:1 sleep 1000 >/dev/null
	h run -d --name stopped --network none --autostart bb:1 sleep 1000 >/dev/null
	h stop -t 0 stopped >/dev/null
	# One that cannot start: its bind's source is gone.
	mkdir "$TEST_DIR/gone"
	h create --name bad --network none --autostart -v "$TEST_DIR/gone:/mnt" bb:1 sleep 1000 >/dev/null
	rmdir "$TEST_DIR/gone"
	run -1 --separate-stderr h autostart
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "always auto stopped " ]
	[[ "$stderr" == *"'bad'"* ]]
	[ "$(field auto state)" = running ]
	[ "$(field always state)" = running ]
	[ "$(field stopped state)" = running ]
	[ "$(field plain state)" = created ]
	[ "$(field bad state)" = created ]
	# Those that run are left alone.
	h rm bad >/dev/null
	run -0 h autostart
	[ -z "$output" ]
	# Not in the help of hull: __restart.
	run -0 h --help
	[[ "$output" == *autostart* ]]
	[[ "$output" != *__restart* ]]
}

@test "restart: a system container (launch) whose init was killed comes back" {
	h image import "$BATS_FILE_TMPDIR/system" sys:1 >/dev/null
	h launch --network none --restart always sys:1 sys1 >/dev/null
	wait_until field_is sys1 state running
	[ "$(field sys1 kind)" = system ]
	pid=$(field sys1 pid)
	kill -9 "$pid"
	wait_until field_is sys1 restart_count 1
	wait_until field_is sys1 state running
	[ "$(field sys1 pid)" != "$pid" ]
	h rm -f sys1 >/dev/null
}

@test "restart: a VM (--vm) is restarted by its policy too, and not after hull stop" {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no guest kernel in /boot (linux-image-cloud-amd64)"
	h run -d --vm --name v --network none --restart on-failure:1 bb:1 sh -c 'echo ran; exit 3' >/dev/null
	wait_until field_is v restart_count 1
	wait_until settled v
	sleep 1
	wait_until settled v
	[ "$(field v restart_count)" = 1 ]
	# Should it fail: what the restart said.
	h inspect v | jq -c ".[0] | {state, exit_code, restart_count, started, finished}"
	cat "$HROOT"/instances/*/hull.err
	[ "$(field v exit_code)" = 3 ]
	run h logs v
	[ "$output" = "$(printf 'ran\nran')" ]
	h run -d --vm --name va --network none --restart always bb:1 sleep 1000 >/dev/null
	h stop -t 2 va >/dev/null
	wait_until settled va
	sleep 1
	wait_until settled va
	[ "$(field va restart_count)" = 0 ]
	h rm -f v va >/dev/null
	! pgrep -f "qemu-system.*$HROOT"
}
