#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# userns.bats: containers whose root is an unprivileged uid on the host (--userns auto): a private
# uid/gid range per instance from the pool, the image's files seen through idmapped layers (or a
# shifted copy), what root in the container cannot do to the host, and running out of ranges.

bats_require_minimum_version 1.5.0
load instance-helpers
load lib

setup_file() {
	setup_registry_file
	# A system image: busybox's init as /sbin/init.
	make_system_image "$BATS_FILE_TMPDIR/system" --cmd '["/sbin/init"]' >/dev/null
	push_image "$BATS_FILE_TMPDIR/system:1" system:1
	SYSTEM=$REGISTRY/system:1
	export SYSTEM
}
teardown_file() { stop_registry; }
setup() {
	setup_root
	# The container's root resolves its root filesystem's path itself: every directory above the
	# hull root must be passable (mktemp makes 0700).
	chmod 711 "$TEST_DIR"
	command -v nsenter >/dev/null || skip "nsenter (util-linux) is not installed"
	# A pool of our own, well clear of /etc/subuid and of other roots' instances.
	printf 'hulltester:100000:65536\nroot:3000000:1000000\n' >"$TEST_DIR/subuid"
	export HULL_SUBUID=$TEST_DIR/subuid HULL_SUBGID=$TEST_DIR/subuid
	SLEEPER=""
}
teardown() {
	[ -z "$SLEEPER" ] || kill "$SLEEPER" 2>/dev/null || true
	teardown_root
}

# idmap NAME FIELD: a field of the instance's range, from inspect.
idmap() {
	h inspect "$1" | jq -r ".[0].idmap.$2"
}

# upper NAME: the instance's writable layer on the host.
upper() {
	echo "$HROOT/instances/$(h inspect "$1" | jq -r ".[0].id")/upper"
}

@test "userns: root inside is the range's first uid on the host; the image's files stay root's inside" {
	run h run -d --name a --userns auto "$BUSYBOX" sleep 1000
	[ "$status" -eq 0 ]
	base=$(idmap a uid_base)
	[ "$base" = 3000000 ]
	[ "$(idmap a gid_base)" = 3000000 ]
	[ "$(idmap a count)" = 65536 ]
	run h exec a sh -c 'id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo "${lines[2]}" | tr -s ' ')" = " 0 $base 65536" ]
	[ "$(echo "${lines[3]}" | tr -s ' ')" = " 0 $base 65536" ]
	# The image's root-owned files are root's inside, its other owners kept.
	run h exec a stat -c '%u:%g %a' /bin/busybox /etc/passwd /tmp /
	[ "$status" -eq 0 ]
	[ "${lines[0]%% *}" = 0:0 ]
	[ "${lines[1]%% *}" = 0:0 ]
	[ "${lines[2]}" = "0:0 1777" ]
	[ "${lines[3]%% *}" = 0:0 ]
	# A file written inside lands in the upper dir owned by the range on the host, as does a
	# copy-up of an image file; a chown inside moves within the range.
	run h exec a sh -c 'echo hi >/made && echo more >>/etc/passwd && touch /bychown && chown 1000:1000 /bychown'
	[ "$status" -eq 0 ]
	up=$(upper a)
	[ "$(stat -c %u:%g "$up/made")" = "$base:$base" ]
	[ "$(stat -c %u:%g "$up/etc/passwd")" = "$base:$base" ]
	[ "$(stat -c %u:%g "$up/bychown")" = "$((base + 1000)):$((base + 1000))" ]
	[ "$(stat -c %u:%g "$up")" = "$base:$base" ]
	# The shared layers are untouched.
	[ -z "$(find "$HROOT/layers" -uid "$base" -print -quit)" ]
	# /etc/hosts and friends are readable inside; ids outside the range show as nobody.
	run h exec a sh -c 'cat /etc/hostname >/dev/null && cat /etc/hosts >/dev/null && echo ok'
	[ "$output" = ok ]
	# -u nobody maps too.
	run h exec -u nobody a id -u
	[ "$output" = 65534 ]
}

@test "userns: foreground run, and two containers get different ranges" {
	run h run --rm --userns auto "$BUSYBOX" sh -c 'id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo "${lines[1]}" | tr -s ' ')" = " 0 3000000 65536" ]
	h create --name a --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	h create --name b --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	a=$(idmap a uid_base)
	b=$(idmap b uid_base)
	[ "$a" != "$b" ]
	# --rm freed its range: the lowest slot went to a.
	[ "$a" = 3000000 ]
	[ "$b" = 3065536 ]
	h start a
	run h exec a cat /proc/self/uid_map
	[ "$(echo "$output" | tr -s ' ')" = " 0 $a 65536" ]
	# Without --userns auto an application container has none.
	h create --name c "$BUSYBOX" true >/dev/null
	[ "$(idmap c uid_base)" = null ]
	h create --name d --userns host "$BUSYBOX" true >/dev/null
	[ "$(h inspect d | jq -r ".[0].idmap")" = null ]
}

@test "userns: root in the container cannot write a host root's file bound into it" {
	echo TOP-SECRET >"$TEST_DIR/secret"
	chmod 600 "$TEST_DIR/secret"
	run h run --rm --userns auto -v "$TEST_DIR/secret:/secret" "$BUSYBOX" sh -c 'cat /secret; echo x >>/secret; stat -c %u /secret'
	[ "$status" -eq 0 ]
	[[ "$output" != *TOP-SECRET* ]]
	[[ "$output" == *"ermission denied"* ]]
	# Host root's file shows as the overflow uid inside.
	[ "${lines[-1]}" = 65534 ]
	[ "$(cat "$TEST_DIR/secret")" = TOP-SECRET ]
}

@test "userns: from the container's user namespace, uid 0 owns no host file and cannot signal a host process" {
	echo TOP-SECRET >"$TEST_DIR/secret"
	chmod 600 "$TEST_DIR/secret"
	h run -d --name a --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	pid=$(h inspect a | jq -r ".[0].pid")
	[ "$pid" -gt 0 ]
	sleep 1000 &
	SLEEPER=$!
	# Only the user namespace joined: the host's files and processes, seen as the container's root.
	run nsenter -U -t "$pid" -S 0 -G 0 sh -c "id -u; echo x >>'$TEST_DIR/secret'"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 0 ]
	[[ "$output" == *"ermission denied"* ]]
	run nsenter -U -t "$pid" -S 0 -G 0 kill -TERM "$SLEEPER"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermitted"* ]]
	kill -0 "$SLEEPER"
	run nsenter -U -t "$pid" -S 0 -G 0 chown 0 "$TEST_DIR/secret"
	[ "$status" -ne 0 ]
	[ "$(stat -c %u "$TEST_DIR/secret")" = 0 ]
	[ "$(cat "$TEST_DIR/secret")" = TOP-SECRET ]
}

@test "userns: the pool runs out: one error line, exit 125, nothing left; rm frees the range" {
	printf 'root:4000000:65536\n' >"$TEST_DIR/small"
	export HULL_SUBUID=$TEST_DIR/small HULL_SUBGID=$TEST_DIR/small
	h create --name a --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	[ "$(idmap a uid_base)" = 4000000 ]
	run_split h create --name b --userns auto "$BUSYBOX" sleep 1000
	[ "$status" -eq 125 ]
	assert_one_error_line "no free uid range: the 1 ranges of the pool are in use"
	[ "$(h ps -aq | wc -l)" -eq 1 ]
	[ "$(ls "$HROOT/instances" | wc -l)" -eq 1 ]
	run_split h run --rm --userns auto "$BUSYBOX" true
	[ "$status" -eq 125 ]
	assert_one_error_line "no free uid range"
	h rm a
	h create --name c --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	[ "$(idmap c uid_base)" = 4000000 ]
	# A pool smaller than a range is refused, saying so.
	printf 'root:4000000:1000\n' >"$TEST_DIR/small"
	run_split h create --name d --userns auto "$BUSYBOX" true
	[ "$status" -eq 125 ]
	assert_one_error_line "root has 1000 ids, fewer than the 65536 an instance needs"
}

@test "userns: forced fallback: a shifted copy of the layers gives the same owners inside" {
	HULL_IDMAP_SHIFT=1 h run -d --name a --userns auto "$BUSYBOX" sleep 1000 >/dev/null
	base=$(idmap a uid_base)
	id=$(h inspect a | jq -r ".[0].id")
	# The copy is the instance's own, owned by the range; the shared layers stay root's.
	[ -d "$HROOT/instances/$id/lower" ]
	[ -z "$(find "$HROOT/instances/$id/lower" -mindepth 2 -uid 0 -print -quit)" ]
	[ -n "$(find "$HROOT/instances/$id/lower" -mindepth 2 -uid "$base" -print -quit)" ]
	[ -z "$(find "$HROOT/layers" -uid "$base" -print -quit)" ]
	run h exec a sh -c 'id -u; stat -c %u:%g /bin/busybox /etc/passwd; echo hi >/made'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0:0 ]
	[ "${lines[2]}" = 0:0 ]
	[ "$(stat -c %u:%g "$(upper a)/made")" = "$base:$base" ]
	# A restart mounts the same copy again.
	h stop -t 1 a >/dev/null
	umount "$HROOT/instances/$id/rootfs"
	h start a
	run h exec a stat -c %u /etc/passwd
	[ "$output" = 0 ]
}

@test "userns: a system container gets a range by default; --userns host opts out" {
	run h launch "$SYSTEM" sys
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(h inspect sys | jq -r '.[0].kind')" = system ]
	[ "$(idmap sys uid_base)" = 3000000 ]
	# --privileged, the other opt-out: no range, and every capability hull itself may hold
	run h launch --privileged "$SYSTEM" sysp
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(h inspect sysp | jq -r '.[0].idmap')" = null ]
	run h exec sysp grep CapBnd /proc/self/status
	[ "$output" = "$(grep CapBnd /proc/self/status)" ]
	run h launch --userns host "$SYSTEM" sysh
	[ "$status" -eq 0 ]
	[ "$(h inspect sysh | jq -r '.[0].idmap')" = null ]
}

@test "userns: root of a container with its own range serves on a port below 1024" {
	run h launch "$SYSTEM" web
	[ "$status" -eq 0 ]
	# The network namespace hull made is not the container's user namespace's to set: hull set
	# ip_unprivileged_port_start (and ping_group_range) there, as Docker does in every container.
	[ "$(h exec web cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 0 ]
	run h exec web sh -c 'mkdir -p /tmp/www && httpd -p 80 -h /tmp/www && sleep 0.3 && netstat -ltn'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *":80 "*LISTEN* ]]
}
