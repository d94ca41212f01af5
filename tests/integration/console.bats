#!/usr/bin/env bats
# Terminals: process.terminal with --console-socket (the pty master passed over SCM_RIGHTS),
# consoleSize, input through the master, exec -t, run -t in the foreground, and runc's misuse errors.

load helpers
load lib

setup() {
	setup_bundle
	SOCK="$TEST_DIR/console.sock"
	RECV_PID=""
}

teardown() {
	if [ -n "$RECV_PID" ]; then
		kill "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	teardown_bundle
}

# start_receiver [INPUT]: the console socket's listener, in the background; output in
# $TEST_DIR/tty.out, what was passed in $TEST_DIR/tty.out.fd.
start_receiver() {
	python3 "$LIB_DIR/recvtty.py" "$SOCK" "$TEST_DIR/tty.out" "$@" 3>&- &
	RECV_PID=$!
	wait_for_file "$SOCK"
}

# wait_receiver: waits (bounded by the receiver's own alarm) until the terminal closed.
wait_receiver() {
	local st=0
	wait "$RECV_PID" || st=$?
	RECV_PID=""
	echo "receiver: status $st, fd: $(cat "$TEST_DIR/tty.out.fd" 2>/dev/null), output: $(cat -v "$TEST_DIR/tty.out" 2>/dev/null)"
	return "$st"
}

@test "terminal: the pty master reaches the console socket; tty and consoleSize inside" {
	update_config '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
	set_args sh -c 'tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty'
	start_receiver
	create_container "$ID" --console-socket "$SOCK"
	hull start "$ID"
	wait_receiver
	[[ "$(cat "$TEST_DIR/tty.out.fd")" == "fd /dev/pts/ptmx" || "$(cat "$TEST_DIR/tty.out.fd")" == "fd /dev/ptmx" ]]
	out=$(tr -d '\r' <"$TEST_DIR/tty.out")
	[ "$(echo "$out" | sed -n 1p)" = /dev/pts/0 ]
	[ "$(echo "$out" | sed -n 2p)" = "30 100" ]
	[ "$(echo "$out" | sed -n 3p)" = all-tty ]
}

@test "terminal: input written to the master reaches the process" {
	update_config '.process.terminal = true'
	set_args sh -c 'read line; echo "got:$line"'
	start_receiver $'hello\n'
	create_container "$ID" --console-socket "$SOCK"
	hull start "$ID"
	wait_receiver
	grep -q 'got:hello' "$TEST_DIR/tty.out"
}

@test "terminal: the container is a session leader with the pty as controlling terminal" {
	update_config '.process.terminal = true'
	# /proc/1/stat fields 6 and 7: the session and the controlling tty (pts 0 is 136:0 = 34816).
	set_args sh -c 'set -- $(cat /proc/1/stat); echo "sid=$6 tty=$7"'
	start_receiver
	create_container "$ID" --console-socket "$SOCK"
	hull start "$ID"
	wait_receiver
	[ "$(tr -d '\r' <"$TEST_DIR/tty.out")" = "sid=1 tty=34816" ]
}

@test "terminal: run in the foreground relays a terminal (under script)" {
	update_config '.process.terminal = true | .process.consoleSize = {"height": 22, "width": 77}'
	set_args sh -c 'tty; echo relayed'
	run script -qec "$HULL oci --root $ROOT run --bundle $BUNDLE $ID" /dev/null
	[ "$status" -eq 0 ]
	out=$(echo "$output" | tr -d '\r')
	[[ "$out" == *"/dev/pts/0"*relayed* ]]
}

@test "terminal without --console-socket on create fails clearly and leaves nothing" {
	update_config '.process.terminal = true'
	set_args sleep 100
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.terminal is set but no --console-socket was given"
	assert_nothing_left "$ID"
	# run -d detaches the same way: the same error.
	run_split "$HULL" oci --root "$ROOT" run -d --bundle "$BUNDLE" "$ID"
	assert_one_error_line "--console-socket"
	assert_nothing_left "$ID"
}

@test "--console-socket without process.terminal fails clearly" {
	set_args sleep 100
	start_receiver
	run_split "$HULL" oci --root "$ROOT" create --console-socket "$SOCK" --bundle "$BUNDLE" "$ID"
	assert_one_error_line "--console-socket given but process.terminal is false"
	assert_nothing_left "$ID"
}

@test "a console socket nobody listens on fails naming --console-socket" {
	update_config '.process.terminal = true'
	set_args sleep 100
	run_split "$HULL" oci --root "$ROOT" create --console-socket "$TEST_DIR/nobody.sock" --bundle "$BUNDLE" "$ID"
	assert_one_error_line "--console-socket"
	[[ "$stderr" == *"$TEST_DIR/nobody.sock"* ]]
	assert_nothing_left "$ID"
}

@test "exec -t in the foreground (under script) gets a terminal" {
	set_args sleep 100
	start_detached
	run script -qec "$HULL oci --root $ROOT exec -t $ID sh -c 'tty; [ -t 0 ] && echo stdin-tty'" /dev/null
	[ "$status" -eq 0 ]
	out=$(echo "$output" | tr -d '\r')
	[[ "$out" == *"/dev/pts/"*stdin-tty* ]]
}

@test "exec -t -d with --console-socket passes the master" {
	set_args sleep 100
	start_detached
	start_receiver
	hull exec -t -d --console-socket "$SOCK" "$ID" sh -c 'tty; echo from-exec' >"$TEST_DIR/exec.out"
	wait_receiver
	out=$(tr -d '\r' <"$TEST_DIR/tty.out")
	[[ "$out" == *"/dev/pts/"*from-exec* ]]
}

@test "exec -d -t without --console-socket fails clearly" {
	set_args sleep 100
	start_detached
	run_split hull exec -d -t "$ID" true
	assert_one_error_line "console-socket"
	[ "$(status_of "$ID")" = running ]
}

@test "exec --console-socket without -t fails clearly, as runc's does" {
	set_args sleep 100
	start_detached
	start_receiver
	run_split hull exec -d --console-socket "$SOCK" "$ID" true
	assert_one_error_line "console-socket"
}
