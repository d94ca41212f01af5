#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# snapshot.bats: snapshots of containers (their upper dir, copied while a running one is frozen),
# restore of a stopped and of a running container, list and delete; hull copy (an independent
# instance, also from a snapshot); migration of a stopped and of a running container between two roots
# on 127.0.0.1, with the image sent to a receiver that lacks it; and refusals of bad input that leave
# everything as it was.

bats_require_minimum_version 1.5.0
load instance-helpers
load lib

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	make_image "$BATS_FILE_TMPDIR/busybox" 1 --cmd '["sh"]' >/dev/null
	make_system_image "$BATS_FILE_TMPDIR/system" >/dev/null
}

setup() {
	setup_root
	HROOT2=
	h image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null
}

teardown() {
	[ -z "${RECV_PID:-}" ] || { kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; }
	if [ -n "${HROOT2:-}" ]; then
		local root=$HROOT
		HROOT=$HROOT2
		for id in $(h ps -aq 2>/dev/null || true); do h rm -f "$id" >/dev/null 2>&1 || true; done
		for net in $(h network ls -q 2>/dev/null || true); do h network rm "$net" >/dev/null 2>&1 || true; done
		HROOT=$root
	fi
	teardown_root
}

h2() {
	"$HULL" --root "$HROOT2" "$@"
}

# A container that ends at once on SIGTERM and writes nothing itself.
idle() {
	h run -d --name "$1" "${@:2}" bb:1 sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null
}

# insp NAME [ROOT]: the inspect document of NAME.
insp() {
	"$HULL" --root "${2:-$HROOT}" inspect "$1" | jq '.[0]'
}

state_of() {
	insp "$@" | jq -r .state
}

id_of() {
	insp "$@" | jq -r .id
}

# start_receiver: hull receive on root 2 at a free port of 127.0.0.1; sets PORT and RECV_PID.
start_receiver() {
	PORT=$(free_port)
	h2 receive --listen "tcp://127.0.0.1:$PORT" >"$TEST_DIR/recv.out" 2>"$TEST_DIR/recv.err" &
	RECV_PID=$!
	local i
	for i in $(seq 100); do
		ss -ltn "sport = :$PORT" | grep -q LISTEN && return 0
		sleep 0.05
	done
	cat "$TEST_DIR/recv.err" >&2
	return 1
}

@test "snapshot: restore of a stopped container brings back what it had and drops what came after" {
	idle c1
	h exec c1 sh -c 'echo kept > /keep; echo one > /etc/motd'
	h stop c1 >/dev/null
	h snapshot create c1 s1
	h start c1 >/dev/null
	h exec c1 sh -c 'echo later > /later; rm /keep; echo two > /etc/motd; rm /bin/ls'
	h stop c1 >/dev/null
	run_split h snapshot restore c1 s1
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 0 ] # it was stopped: no note
	[ "$(state_of c1)" = exited ]
	h start c1 >/dev/null
	run h exec c1 cat /keep /etc/motd
	[ "$output" = "$(printf 'kept\none')" ]
	run h exec c1 ls /later
	[ "$status" -ne 0 ]
	h exec c1 ls /bin/ls # a deleted image file (a whiteout after) is back
}

@test "snapshot: restore of a running container stops it, restores and starts it again, with a note" {
	idle c1
	h exec c1 sh -c 'echo kept > /keep'
	h snapshot create c1 s1
	[ "$(state_of c1)" = running ]
	h exec c1 sh -c 'echo later > /later; rm /keep; rm -r /usr'
	run_split h snapshot restore c1 s1
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 1 ]
	[[ "$stderr" == *"'c1' was running: stopped, restored and started again"* ]]
	[ "$(state_of c1)" = running ]
	[ "$(h exec c1 cat /keep)" = kept ]
	run h exec c1 ls /later
	[ "$status" -ne 0 ]
	h exec c1 ls /usr/bin >/dev/null
}

@test "snapshot: a running container is frozen while its snapshot is taken, then goes on" {
	# Two files replaced (rename) one after the other without pause: frozen, the copy sees a == b or
	# a == b + 1. Copied file by file while it ran, with 40 MB of other files to copy between them
	# (in readdir order), b would lag or lead a by many.
	h run -d --name w bb:1 sh -c 'trap "exit 0" TERM; for f in $(seq 20); do head -c 2000000 /dev/urandom > /big$f; done; i=0; while :; do i=$((i+1)); echo $i > /a.t; mv /a.t /a; echo $i > /b.t; mv /b.t /b; done' >/dev/null
	local k
	for k in $(seq 100); do h exec w test -f /b && break; sleep 0.1; done
	local id n a b
	id=$(id_of w)
	for n in 1 2 3; do
		h snapshot create w "s$n"
		a=$(cat "$HROOT/instances/$id/snapshots/s$n/upper/a")
		b=$(cat "$HROOT/instances/$id/snapshots/s$n/upper/b")
		echo "s$n: a=$a b=$b"
		[ $((a - b)) -ge 0 ] && [ $((a - b)) -le 1 ]
		[ "$(state_of w)" = running ] # thawed
	done
	# it goes on writing
	a=$(h exec w cat /a)
	sleep 0.3
	[ "$(h exec w cat /a)" -gt "$a" ]
	[ -f "$HROOT/instances/$id/snapshots/s1/config.json" ]
	[ -f "$HROOT/instances/$id/snapshots/s1/options.json" ]
}

@test "snapshot: list, delete, and refusals that change nothing" {
	idle c1
	h snapshot create c1 s1
	sleep 1
	h exec c1 sh -c 'head -c 100000 /dev/urandom > /big'
	h snapshot create c1 s2
	run h snapshot list c1 --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.[].name] | join(",")')" = s1,s2 ]
	[ "$(echo "$output" | jq -r '[.[].stateful] | unique | join(",")')" = false ]
	[ "$(echo "$output" | jq -r '.[1].size')" -ge 100000 ]
	[ "$(echo "$output" | jq -r '.[0].created')" -gt 0 ]
	run h snapshot ls c1
	[[ "${lines[0]}" == NAME*STATEFUL*SIZE*CREATED ]]
	[ "${#lines[@]}" -eq 3 ]

	# a name in use
	run_split h snapshot create c1 s1
	assert_one_error_line "'c1' has a snapshot 's1' already"
	# a missing snapshot: restore, delete
	h exec c1 sh -c 'echo mine > /mine'
	run_split h snapshot restore c1 nope
	assert_one_error_line "snapshot 'nope' of 'c1' does not exist"
	[ "$(h exec c1 cat /mine)" = mine ]
	[ "$(state_of c1)" = running ]
	run_split h snapshot delete c1 nope
	assert_one_error_line "snapshot 'nope' of 'c1' does not exist"

	h snapshot delete c1 s1
	run h snapshot list c1 --format json
	[ "$(echo "$output" | jq -r '[.[].name] | join(",")')" = s2 ]
	run_split h snapshot restore c1 s1
	assert_one_error_line "snapshot 's1' of 'c1' does not exist"
	[ "$(ls "$HROOT/instances/$(id_of c1)/snapshots")" = s2 ]
}

@test "copy: an independent, stopped instance with its own id, address and upper dir" {
	idle c1
	h exec c1 sh -c 'echo orig > /file'
	run_split h copy c1 c2
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 0 ]
	[ "$(state_of c2)" = created ]
	[ "$(id_of c2)" != "$(id_of c1)" ]
	[ "$(insp c2 | jq -r .image_id)" = "$(insp c1 | jq -r .image_id)" ]
	[ "$(insp c2 | jq -c .options.cmd)" = "$(insp c1 | jq -c .options.cmd)" ]
	h start c2 >/dev/null
	[ "$(h exec c2 cat /file)" = orig ]
	# writes on either side stay there
	h exec c2 sh -c 'echo copy > /file; echo only-copy > /new'
	[ "$(h exec c1 cat /file)" = orig ]
	run h exec c1 ls /new
	[ "$status" -ne 0 ]
	h exec c1 sh -c 'echo only-orig > /o'
	run h exec c2 ls /o
	[ "$status" -ne 0 ]
	# a lease of its own
	local a1 a2
	a1=$(insp c1 | jq -r .network.address)
	a2=$(insp c2 | jq -r .network.address)
	[ -n "$a2" ] && [ "$a2" != null ] && [ "$a1" != "$a2" ]
	# removing one leaves the other
	h rm -f c1 >/dev/null
	[ "$(h exec c2 cat /new)" = only-copy ]
}

@test "copy --from-snapshot: the copy has the snapshot's files; published ports are dropped with a note" {
	local port
	port=$(free_port)
	idle c1 -p "127.0.0.1:$port:80"
	h exec c1 sh -c 'echo at-snap > /file'
	h snapshot create c1 s1
	h exec c1 sh -c 'echo after > /file'
	run_split h copy c1 c2 --from-snapshot s1
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 1 ]
	[[ "$stderr" == *"published port '127.0.0.1:$port:80' of 'c1' is not copied"* ]]
	[ "$(insp c2 | jq -r '.ports | length')" = 0 ]
	[ "$(insp c2 | jq -r '.options.ports')" = null ]
	h start c2 >/dev/null
	[ "$(h exec c2 cat /file)" = at-snap ]
	[ "$(h exec c1 cat /file)" = after ]
}

@test "copy: refusals leave no record and no directory" {
	idle c1
	idle c2
	local before
	before=$(ls "$HROOT/instances" | sort)
	run_split h copy c1 c2
	assert_one_error_line "the name 'c2' is in use"
	run_split h copy c1 c3 --from-snapshot nope
	assert_one_error_line "snapshot 'nope' of 'c1' does not exist"
	run_split h copy nothere c3
	assert_one_error_line "nothere"
	run_split h copy c1 'bad/name'
	assert_one_error_line "invalid name 'bad/name'"
	[ "$(ls "$HROOT/instances" | sort)" = "$before" ]
	[ "$(h ps -aq | wc -l)" -eq 2 ]
}

@test "migrate: a stopped container moves with its files; a receiver lacking the image gets it" {
	HROOT2=$TEST_DIR/root2
	idle c1
	h exec c1 sh -c 'echo moved > /file; rm /bin/ls'
	h stop c1 >/dev/null
	h2 images -q >/dev/null
	[ -z "$(h2 images -q)" ]
	start_receiver
	run_split h migrate c1 --to "tcp://127.0.0.1:$PORT"
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 0 ]
	wait "$RECV_PID"
	RECV_PID=
	[ "$(cat "$TEST_DIR/recv.out")" = c1 ]
	# gone here, there (stopped) with its image
	[ -z "$(h ps -aq)" ]
	[ "$(h2 images -q | wc -l)" -eq 1 ]
	[ "$(insp c1 "$HROOT2" | jq -r .image_id)" = "$(insp bb:1 | jq -r .id)" ]
	[ "$(state_of c1 "$HROOT2")" != running ]
	h2 start c1 >/dev/null
	[ "$(h2 exec c1 cat /file)" = moved ]
	run h2 exec c1 test -e /bin/ls
	[ "$status" -eq 1 ]
	[ -z "$(ls "$HROOT/instances")" ]
}

@test "migrate: a running container is stopped, moved and started on the target, with a note" {
	HROOT2=$TEST_DIR/root2
	h2 image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null # the receiver has the image
	idle c1
	h exec c1 sh -c 'echo moved > /file'
	start_receiver
	run_split h migrate c1 --to "tcp://127.0.0.1:$PORT"
	[ "$status" -eq 0 ]
	[ "$stderr_count" -eq 1 ]
	[[ "$stderr" == *"'c1' was running: stopped, moved and started on the target"* ]]
	[[ "$output" == *"image sent: 0 bytes"* ]]
	wait "$RECV_PID"
	RECV_PID=
	[ "$(state_of c1 "$HROOT2")" = running ]
	[ "$(h2 exec c1 cat /file)" = moved ]
	[ -z "$(h ps -aq)" ]
	[ "$(h2 images -q | wc -l)" -eq 1 ]
}

@test "migrate: failures leave the container where it was, running if it ran" {
	HROOT2=$TEST_DIR/root2
	idle c1
	h exec c1 sh -c 'echo here > /file'
	# nobody listening
	local port
	port=$(free_port)
	run_split h migrate c1 --to "tcp://127.0.0.1:$port"
	assert_one_error_line "migrate 'c1'"
	[ "$(state_of c1)" = running ]
	[ "$(h exec c1 cat /file)" = here ]
	# the name is in use on the target: refused there, nothing changes here
	h2 image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null
	h2 run -d --name c1 bb:1 sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null
	start_receiver
	run_split h migrate c1 --to "tcp://127.0.0.1:$PORT"
	assert_one_error_line "the name 'c1' is in use here"
	wait "$RECV_PID" || true
	RECV_PID=
	[ "$(state_of c1)" = running ]
	[ "$(h exec c1 cat /file)" = here ]
	[ "$(h2 ps -aq | wc -l)" -eq 1 ]
}

@test "launch: a system container keeps its kind through snapshot, restore, copy and migrate" {
	HROOT2=$TEST_DIR/root2
	h image import "$BATS_FILE_TMPDIR/system" sys:1 >/dev/null
	h launch sys:1 s1 >/dev/null
	[ "$(insp s1 | jq -r .kind)" = system ]
	h exec s1 sh -c 'echo sys > /f; chown 1000:1000 /f'
	h snapshot create s1 snap
	h exec s1 rm /f
	run_split h snapshot restore s1 snap
	[ "$status" -eq 0 ]
	[ "$(state_of s1)" = running ]
	[ "$(h exec s1 cat /f)" = sys ]
	h copy s1 s2 >/dev/null
	[ "$(insp s2 | jq -r .kind)" = system ]
	# Each has a uid range of its own: the copy's files moved to its range, seen the same inside.
	b1=$(insp s1 | jq -r .idmap.uid_base) b2=$(insp s2 | jq -r .idmap.uid_base)
	[ "$b1" != null ] && [ "$b2" != null ] && [ "$b1" != "$b2" ]
	[ "$(stat -c %u "$HROOT/instances/$(insp s1 | jq -r .id)/upper/f")" = $((b1 + 1000)) ]
	[ "$(stat -c %u "$HROOT/instances/$(insp s2 | jq -r .id)/upper/f")" = $((b2 + 1000)) ]
	h start s2
	[ "$(h exec s2 stat -c %u:%g /f)" = 1000:1000 ]
	[ "$(h exec s2 stat -c %u /etc/inittab)" = 0 ]
	# The receiver has an instance already, so s1 gets another range there and its files move.
	h2 image import "$BATS_FILE_TMPDIR/system" sys:1 >/dev/null
	h2 launch sys:1 other >/dev/null
	start_receiver
	h migrate s1 --to "tcp://127.0.0.1:$PORT" >/dev/null 2>&1
	wait "$RECV_PID"
	RECV_PID=
	[ "$(insp s1 "$HROOT2" | jq -r .kind)" = system ]
	[ "$(state_of s1 "$HROOT2")" = running ]
	[ "$(h2 exec s1 cat /f)" = sys ]
	[ "$(insp s1 "$HROOT2" | jq -r .idmap.uid_base)" != "$b1" ]
	[ "$(h2 exec s1 stat -c %u:%g /f)" = 1000:1000 ]
}
