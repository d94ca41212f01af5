#!/usr/bin/env bats
# Hooks: every kind runs, in the lifecycle's order, with the state on stdin, its own args and env;
# a failing or hanging create-time hook fails create and leaves nothing; poststart only warns.

load helpers
load lib

setup() {
	setup_bundle
	HOOKS="$TEST_DIR/hooks"
	mkdir "$HOOKS"
	# Appends "NAME <state>" to $HOOKS/log. startContainer runs inside the container, so the
	# directory is bound there at the same path, and the script uses only sh builtins and cat
	# there. For poststart (on the host) it also records what the container process runs.
	cat >"$HOOKS/hook.sh" <<-'EOF'
	#!/bin/sh
	log="${0%/*}/log"
	state=$(cat)
	extra=
	if [ "$1" = poststart ]; then
		pid=$(echo "$state" | sed 's/.*"pid": *\([0-9]*\).*/\1/')
		extra=" exe=$(readlink /proc/$pid/exe)"
	fi
	echo "$1 $state$extra" >>"$log"
	EOF
	chmod +x "$HOOKS/hook.sh"
	update_config --arg d "$HOOKS" '.mounts += [{"destination": $d, "type": "bind", "source": $d, "options": ["bind"]}]'
}

teardown() { teardown_bundle; }

# add_hook KIND JSON: appends one hook of KIND.
add_hook() {
	update_config --arg k "$1" --argjson h "$2" '.hooks[$k] += [$h]'
}

# log_hook KIND: a hook that logs its name and state through hook.sh.
log_hook() {
	add_hook "$1" "{\"path\": \"$HOOKS/hook.sh\", \"args\": [\"hook.sh\", \"$1\"]}"
}

# hook_order: the hooks in the order they logged, with startContainer and poststart in a fixed
# order between themselves: whether the runtime waits for the exec between them is the business
# of the test "startContainer and the exec come before poststart", which makes the race certain.
hook_order() {
	cut -d' ' -f1 "$HOOKS/log" | tr '\n' ' ' | sed 's/poststart startContainer/startContainer poststart/'
}

# logged KIND: the state JSON the hook KIND received.
logged() {
	awk -v k="$1" '$1 == k {print $2}' "$HOOKS/log"
}

@test "every hook runs, in lifecycle order, with the state on stdin" {
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		log_hook "$k"
	done
	set_args sleep 100
	create_container
	pid=$(cat "$TEST_DIR/pid.$ID")
	[ "$(hook_order)" = "prestart createRuntime createContainer " ]
	hull start "$ID"
	# startContainer runs in the container; see it logged before the container is killed.
	for i in $(seq 100); do
		grep -q ^startContainer "$HOOKS/log" && break
		sleep 0.05
	done
	hull delete -f "$ID"
	[ "$(hook_order)" = "prestart createRuntime createContainer startContainer poststart poststop " ]
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		[ "$(logged "$k" | jq -r .id)" = "$ID" ]
		[ "$(logged "$k" | jq -r .ociVersion)" = 1.1.0 ]
		[ "$(logged "$k" | jq -r .bundle)" = "$BUNDLE" ]
	done
	for k in prestart createRuntime createContainer startContainer poststart; do
		[ "$(logged "$k" | jq .pid)" -eq "$pid" ]
	done
	for k in prestart createRuntime createContainer; do
		[ "$(logged "$k" | jq -r .status)" = creating ]
	done
	[ "$(logged poststart | jq -r .status)" = running ]
	[ "$(logged poststop | jq -r .status)" = stopped ]
}

@test "startContainer and the exec of the process come before poststart" {
	# The runtime-spec: startContainer runs before the user's process is executed, poststart
	# "after the user-specified process is executed but before the start operation returns".
	# A slow startContainer makes a runtime that does not wait for the exec run poststart early.
	add_hook startContainer "{\"path\": \"/bin/sh\",
		\"args\": [\"sh\", \"-c\", \"sleep 0.5; exec $HOOKS/hook.sh startContainer\"]}"
	log_hook poststart
	set_args sleep 100
	create_container
	hull start "$ID"
	cat "$HOOKS/log"
	[ "$(cut -d' ' -f1 "$HOOKS/log" | tr '\n' ' ')" = "startContainer poststart " ]
	line=$(grep ^poststart "$HOOKS/log")
	[[ "$line" == *" exe=/bin/busybox" || "$line" == *" exe=$BUNDLE/rootfs/bin/busybox" ]]
}

@test "run runs the hooks as create and start do" {
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		log_hook "$k"
	done
	set_args true
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(hook_order)" = "prestart createRuntime createContainer startContainer poststart poststop " ]
}

@test "a hook gets its args (argv[0] included) and only its env" {
	bb=$(command -v busybox)
	# busybox picks its applet by argv[0]: "sh" here proves args[0] is passed as argv[0]. The
	# environment is what the hook was executed with (/proc/$$/environ), not what sh adds.
	add_hook createRuntime "$(jq -n --arg bb "$bb" --arg log "$HOOKS/args" '{path: $bb,
		args: ["sh", "-c", "echo \"$0|$1\" >\"$LOG\"; tr \"\\0\" \" \" </proc/$$/environ >>\"$LOG\"; true", "zero", "one two"],
		env: ["FOO=bar", "LOG=\($log)"]}')"
	set_args true
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	cat "$HOOKS/args"
	[ "$(sed -n 1p "$HOOKS/args")" = "zero|one two" ]
	[ "$(sed -n 2p "$HOOKS/args")" = "FOO=bar LOG=$HOOKS/args " ]
}

@test "a failing createRuntime hook fails create with one line and leaves nothing" {
	add_hook createRuntime '{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}'
	log_hook createContainer
	set_args sleep 100
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "createRuntime hook #0 '/bin/sh': exited with status 3"
	assert_nothing_left "$ID"
	# Later hooks did not run.
	[ ! -e "$HOOKS/log" ]
}

@test "a failing prestart hook fails run the same way" {
	add_hook prestart '{"path": "/bin/false"}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "prestart hook #0 '/bin/false'"
	assert_nothing_left "$ID"
}

@test "a hook that outlives its timeout is killed and fails create" {
	add_hook createRuntime '{"path": "/bin/sleep", "args": ["sleep", "37"], "timeout": 1}'
	set_args sleep 100
	start=$(date +%s)
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	[ $(($(date +%s) - start)) -lt 10 ]
	assert_one_error_line "createRuntime hook #0 '/bin/sleep': timed out after 1 s"
	assert_nothing_left "$ID"
	[ -z "$(pgrep -fx 'sleep 37')" ]
}

@test "a hook path that does not exist fails create" {
	add_hook createContainer "{\"path\": \"$HOOKS/no-such-hook\"}"
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "createContainer hook #0"
	assert_nothing_left "$ID"
}

@test "a relative hook path is refused naming the field" {
	add_hook poststart '{"path": "bin/true"}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "hooks.poststart[0].path"
	assert_nothing_left "$ID"
}

@test "a failing poststart hook only warns: start succeeds and the container runs" {
	add_hook poststart '{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}'
	set_args sleep 100
	create_container
	run_split hull start "$ID"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"poststart hook #0"*"exited with status 4"* ]]
	[ "$(status_of "$ID")" = running ]
}

@test "a failing poststop hook only warns: delete succeeds" {
	add_hook poststop '{"path": "/bin/false"}'
	set_args sleep 100
	start_detached
	run_split hull delete -f "$ID"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"poststop hook #0"* ]]
	run hull state "$ID"
	[ "$status" -ne 0 ]
}
