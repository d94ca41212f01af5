#!/usr/bin/env bats
# Seccomp: errno rules, a default-deny profile with an allow list, kill actions, argument
# conditions, bad profiles, and the notify listener.

load helpers
load lib

setup() {
	setup_bundle
	LISTENER_PID=""
}

teardown() {
	if [ -n "$LISTENER_PID" ]; then
		kill "$LISTENER_PID" 2>/dev/null || true
		wait "$LISTENER_PID" 2>/dev/null || true
	fi
	teardown_bundle
}

# set_seccomp JSON: linux.seccomp.
set_seccomp() {
	update_config --argjson s "$1" '.linux.seccomp = $s'
}

# What busybox sh and its applets need to start, run builtins, fork and exec.
ALLOW_BASE='["execve", "execveat", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
	"prlimit64", "mprotect", "mmap", "munmap", "readlink", "readlinkat", "getrandom", "uname", "getuid",
	"geteuid", "getgid", "getegid", "getpid", "getppid", "gettid", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigaltstack", "prctl", "fcntl", "ioctl", "dup", "dup2", "dup3", "write", "writev",
	"read", "readv", "close", "newfstatat", "fstat", "stat", "lstat", "statx", "openat", "open",
	"getdents64", "exit_group", "exit", "wait4", "clone", "clone3", "fork", "vfork", "getcwd", "lseek",
	"access", "faccessat", "faccessat2", "pipe", "pipe2", "clock_nanosleep", "nanosleep", "getpgrp",
	"setpgid", "futex", "sysinfo", "poll", "ppoll", "pselect6", "umask", "chdir", "kill", "tgkill"]'

@test "SCMP_ACT_ERRNO with errnoRet makes mkdir fail with that error" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}'
	run_container sh -c 'mkdir /dev/shm/d 2>&1; touch /dev/shm/f && echo touch-ok'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"No space left on device"* ]]
	[ "${lines[1]}" = touch-ok ]
}

@test "SCMP_ACT_ERRNO without errnoRet gives EPERM" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
	run_container sh -c 'mkdir /dev/shm/d 2>&1'
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "defaultAction SCMP_ACT_ERRNO with an allow list: sh runs, the rest fails" {
	set_seccomp "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 13,
		\"syscalls\": [{\"names\": $ALLOW_BASE, \"action\": \"SCMP_ACT_ALLOW\"}]}"
	run_container sh -c 'echo allowed; ls / >/dev/null && echo ls-ok; mkdir /dev/shm/d 2>&1; hostname x 2>&1; echo end'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = allowed ]
	[ "${lines[1]}" = ls-ok ]
	[[ "${lines[2]}" == *"Permission denied"* ]]
	[[ "${lines[3]}" == *"Permission denied"* ]]
	[ "${lines[4]}" = end ]
}

@test "SCMP_ACT_KILL_PROCESS kills the process with SIGSYS (status 159)" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	run_container mkdir /dev/shm/d
	[ "$status" -eq 159 ]
	# Inside a shell the child dies the same way and the shell sees it.
	set_args sh -c 'mkdir /dev/shm/d; echo "status $?"'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-3"
	[ "$status" -eq 0 ]
	[[ "$output" == *"status 159"* ]]
}

@test "SCMP_ACT_KILL (thread) kills a single-threaded process too" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]}'
	run_container mkdir /dev/shm/d
	[ "$status" -eq 159 ]
}

@test "an argument condition: chmod to 0700 is denied, other modes are not" {
	# busybox chmod calls chmod(2): the mode is argument 1.
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
		 "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]},
		{"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
		 "args": [{"index": 2, "value": 448, "op": "SCMP_CMP_EQ"}]}]}'
	run_container sh -c 'touch /dev/shm/f; chmod 755 /dev/shm/f && echo 755-ok; chmod 700 /dev/shm/f 2>&1; stat -c %a /dev/shm/f'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 755-ok ]
	[[ "${lines[1]}" == *"Operation not permitted"* ]]
	[ "${lines[2]}" = 755 ]
}

@test "the filter applies to exec'd processes too" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}'
	set_args sleep 100
	start_detached
	run hull exec "$ID" mkdir /dev/shm/d
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	grep -q '^Seccomp:.*2' "/proc/$(pid_of "$ID")/status"
}

@test "an unknown action fails create with one line naming the field" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_FROB"}]}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.seccomp.syscalls[0].action: unknown action 'SCMP_ACT_FROB'"
	assert_nothing_left "$ID"
}

@test "an unknown defaultAction, operator or architecture is refused naming the field" {
	set_seccomp '{"defaultAction": "SCMP_ACT_NOPE"}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.seccomp.defaultAction"
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
		"args": [{"index": 1, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}'
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "op: unknown operator 'SCMP_CMP_ABOUT'"
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}'
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.seccomp.architectures[0]"
	assert_nothing_left "$ID"
}

@test "errnoRet on an action that cannot carry it is refused" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.seccomp.syscalls[0].errnoRet"
	assert_nothing_left "$ID"
}

@test "notify: the listener receives the state and the seccomp fd" {
	sock="$TEST_DIR/listener.sock"
	python3 "$LIB_DIR/seccomp-listener.py" "$sock" "$TEST_DIR/notify" 3>&- &
	LISTENER_PID=$!
	wait_for_file "$sock"
	update_config --arg p "$sock" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $p,
		"listenerMetadata": "meta-1",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'
	set_args sh -c 'mkdir /dev/shm/n 2>&1; echo done'
	create_container
	pid=$(cat "$TEST_DIR/pid.$ID")
	st=0
	wait "$LISTENER_PID" || st=$?
	LISTENER_PID=""
	[ "$st" -eq 0 ]
	cat "$TEST_DIR/notify"
	[ "$(cat "$TEST_DIR/notify.fd")" = "fd anon_inode:seccomp notify" ]
	[ "$(jq -c .fds "$TEST_DIR/notify")" = '["seccompFd"]' ]
	[ "$(jq .pid "$TEST_DIR/notify")" -eq "$pid" ]
	[ "$(jq -r .metadata "$TEST_DIR/notify")" = meta-1 ]
	[ "$(jq -r .state.id "$TEST_DIR/notify")" = "$ID" ]
	[ "$(jq -r .ociVersion "$TEST_DIR/notify")" = 1.1.0 ]
	# The listener closed the fd without answering: notified syscalls now fail with ENOSYS.
	hull start "$ID"
	wait_status "$ID" stopped
	# The container's output went where create's stdout went.
	cat "$TEST_DIR/out.$ID"
	grep -q "Function not implemented" "$TEST_DIR/out.$ID"
	grep -qx done "$TEST_DIR/out.$ID"
}

@test "notify: a listener that is not there fails create" {
	update_config --arg p "$TEST_DIR/nobody.sock" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"listenerPath": $p, "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "$TEST_DIR/nobody.sock"
	assert_nothing_left "$ID"
}

@test "notify rules without a listenerPath are refused" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "listenerPath"
	assert_nothing_left "$ID"
}

@test "a profile that allows neither close_range nor getcwd still runs (no no_new_privs)" {
	# The runtime's own steps must come before a filter it loads early.
	update_config '.process.noNewPrivileges = false | .process.user.uid = 1000
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["close_range", "getcwd"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args sh -c 'echo ran as $(id -u)'
	hull_run
	[ "$status" -eq 0 ]
	[ "$output" = "ran as 1000" ]
}

@test "a capability error fails create itself, and leaves nothing" {
	update_config '.process.capabilities.bounding = ["CAP_KILL"] | .process.capabilities.effective = ["CAP_SYS_ADMIN"]'
	run hull create --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[ "$output" = "hull: process.capabilities: set capabilities: Operation not permitted" ]
	[ -z "$(hull list -q)" ]
	[ ! -d "$(cgroup_dir memory "$ID")" ]
}
