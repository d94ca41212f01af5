#!/usr/bin/env bats
# An unprivileged user runs a container: a user namespace mapping only its own uid, written
# without privileges, no cgroup, devices bound from the host.

load helpers

setup() {
	setup_bundle
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	chmod 755 "$TEST_DIR"
	mkdir -m 777 "$TEST_DIR/state"
	rm "$BUNDLE/config.json"
	chmod 777 "$BUNDLE"
	as_nobody "$HULL" oci spec --bundle "$BUNDLE" --rootless
	update_config '.process.terminal = false'
}
teardown() { teardown_bundle; }

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all -- "$@"
}

@test "rootless: an unprivileged user runs a container as root inside its own user namespace" {
	set_args sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; echo hi > /dev/shm/f && cat /dev/shm/f'
	run as_nobody "$HULL" oci --root "$TEST_DIR/state" run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo "${lines[1]}" | tr -s ' ')" = " 0 65534 1" ]
	[ "${lines[2]}" = deny ]
	[ "${lines[3]}" = hi ]
}

@test "rootless: the container cannot reach host root's files" {
	echo TOP-SECRET-CONTENT > "$TEST_DIR/secret"
	chmod 600 "$TEST_DIR/secret"
	update_config --arg s "$TEST_DIR/secret" '.mounts += [{"destination": "/secret", "type": "none", "source": $s, "options": ["bind", "ro"]}]'
	set_args sh -c 'cat /secret'
	run as_nobody "$HULL" oci --root "$TEST_DIR/state" run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" != *TOP-SECRET-CONTENT* ]]
	[[ "$output" == *"ermission denied"* ]]
}

@test "rootless: asking for limits without cgroup access fails with a clear line" {
	update_config '.linux.resources = {"pids": {"limit": 10}}'
	run as_nobody "$HULL" oci --root "$TEST_DIR/state" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "hull: cgroup: "*"ermission denied" ]]
	[ -z "$(ls "$TEST_DIR/state")" ]
}
