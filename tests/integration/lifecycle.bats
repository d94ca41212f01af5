#!/usr/bin/env bats
# Lifecycle: create/start/run/state/kill/delete/list/pause/resume/ps, with runc's statuses.

load helpers

setup() { setup_bundle; }
teardown() { teardown_bundle; }

@test "run returns the container's exit status" {
	set_args sh -c 'exit 7'
	hull_run
	[ "$status" -eq 7 ]
}

@test "run reports death by signal as 128+N" {
	# PID 1 ignores signals it has no handler for when they come from inside: kill from outside.
	set_args sleep 100
	"$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID" &
	runner=$!
	wait_status "$ID" running
	hull kill "$ID" KILL
	status=0
	wait "$runner" || status=$?
	[ "$status" -eq 137 ]
}

@test "run prints the process output and leaves no state" {
	set_args echo hello world
	hull_run
	[ "$status" -eq 0 ]
	[ "$output" = "hello world" ]
	run hull state "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "create, start, state, kill, delete walk through the exact statuses" {
	set_args sleep 100
	# Not under `run`: the waiting container holds our stdout, as runc's does.
	hull create --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID" >"$TEST_DIR/out"
	[ "$(status_of "$ID")" = created ]
	pid=$(cat "$TEST_DIR/pid")
	[ "$(hull state "$ID" | jq .pid)" -eq "$pid" ]
	[ "$(hull state "$ID" | jq -r .bundle)" = "$BUNDLE" ]
	[ "$(hull state "$ID" | jq -r .ociVersion)" = 1.1.0 ]
	# created: the process exists but has not run the program yet
	[ "$(readlink /proc/$pid/exe)" != "$BUNDLE/rootfs/bin/busybox" ]
	hull start "$ID"
	[ "$(status_of "$ID")" = running ]
	run hull start "$ID"
	[ "$status" -ne 0 ]
	hull pause "$ID"
	[ "$(status_of "$ID")" = paused ]
	grep -q FROZEN "$(cgroup_dir freezer "$ID")/freezer.state"
	hull resume "$ID"
	[ "$(status_of "$ID")" = running ]
	hull kill "$ID" KILL
	wait_status "$ID" stopped
	[ "$(hull state "$ID" | jq .pid)" -eq 0 ]
	hull delete "$ID"
	run hull state "$ID"
	[ "$status" -ne 0 ]
	[ ! -d "$(cgroup_dir memory "$ID")" ]
}

@test "delete refuses a running container without --force, and kills it with" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	run hull delete "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"running"* ]]
	[ "$(status_of "$ID")" = running ]
	pid=$(hull state "$ID" | jq .pid)
	hull delete -f "$ID"
	is_gone "$pid"
	[ ! -d "$(cgroup_dir pids "$ID")" ]
}

@test "delete of a created container kills its waiting process" {
	set_args sleep 100
	hull create --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID"
	pid=$(cat "$TEST_DIR/pid")
	hull delete "$ID"
	is_gone "$pid"
}

@test "kill sends the named signal, and --all reaches every process" {
	set_args sh -c 'trap "echo got-usr1 > /tmp/sig; exit 0" USR1; while :; do sleep 0.1; done'
	hull run -d --bundle "$BUNDLE" "$ID"
	hull exec "$ID" sh -c 'sleep 100 & sleep 0.1'
	hull kill "$ID" SIGUSR1
	wait_status "$ID" stopped
	run hull kill "$ID" KILL
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	hull delete "$ID"
}

@test "kill rejects an unknown signal" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	run hull kill "$ID" SIGNOPE
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown signal 'SIGNOPE'"* ]]
}

@test "list shows containers as table and json" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	run hull list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == ID* ]]
	[[ "$output" == *"$ID"*running* ]]
	[ "$(hull list --format json | jq -r '.[0].id')" = "$ID" ]
	[ "$(hull list -q)" = "$ID" ]
}

@test "ps lists the container's processes" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" "$ID"
	pid=$(hull state "$ID" | jq .pid)
	[ "$(hull ps --format json "$ID" | jq '.[0]')" -eq "$pid" ]
	run hull ps "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[[ "${lines[1]}" == *"sleep 100"* ]]
}

@test "run -d returns at once and the container keeps running" {
	set_args sleep 100
	hull run -d --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID"
	[ "$(status_of "$ID")" = running ]
	kill -0 "$(cat "$TEST_DIR/pid")"
}

@test "run forwards signals to the container" {
	set_args sh -c 'trap "exit 42" TERM; while :; do sleep 0.05; done'
	"$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID" &
	runner=$!
	wait_status "$ID" running
	sleep 0.2
	kill -TERM "$runner"
	status=0
	wait "$runner" || status=$?
	[ "$status" -eq 42 ]
}

@test "state of an unknown container fails with one clear line" {
	run hull state nosuch
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "hull: container 'nosuch' does not exist" ]
}

@test "delete --force of an unknown container succeeds, as runc's does" {
	run hull delete -f nosuch
	[ "$status" -eq 0 ]
}

@test "features describes the runtime" {
	run "$HULL" oci features
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
	echo "$output" | jq -e '.linux.namespaces | index("time")'
	echo "$output" | jq -e '.linux.seccomp.enabled'
	echo "$output" | jq -e '.hooks | index("createContainer")'
}

@test "hull-oci is the same runtime" {
	ln -s "$HULL" "$TEST_DIR/hull-oci"
	set_args echo via-link
	run "$TEST_DIR/hull-oci" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = via-link ]
}

@test "state says creating while create is under way, and delete waits for it" {
	update_config '.hooks.createRuntime = [{"path": "/bin/sleep", "args": ["sleep", "1"]}]'
	"$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID" >"$TEST_DIR/out" 2>&1 &
	creator=$!
	for i in $(seq 50); do [ "$(status_of "$ID" 2>/dev/null)" = creating ] && break; sleep 0.02; done
	[ "$(status_of "$ID")" = creating ]
	run hull delete "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"being created"* ]]
	wait "$creator"
	[ "$(status_of "$ID")" = created ]
}

@test "a create killed half-way reads as stopped and delete cleans it up" {
	update_config '.hooks.createRuntime = [{"path": "/bin/sleep", "args": ["sleep", "5"]}]'
	"$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID" >"$TEST_DIR/out" 2>&1 &
	creator=$!
	for i in $(seq 50); do [ "$(status_of "$ID" 2>/dev/null)" = creating ] && break; sleep 0.02; done
	kill -KILL "$creator"
	wait "$creator" || true
	[ "$(status_of "$ID")" = stopped ]
	hull delete "$ID"
	run hull state "$ID"
	[ "$status" -ne 0 ]
}
