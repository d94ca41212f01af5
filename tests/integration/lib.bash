# SPDX-License-Identifier: LGPL-2.1-or-later
# lib.bash: helpers the feature suites share on top of helpers.bash (which each suite loads first).

bats_require_minimum_version 1.5.0

LIB_DIR=${LIB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib}

# run_container ARG...: sets the container's args and runs it in the foreground; output and status
# as with bats' `run`, stderr merged.
run_container() {
	set_args "$@"
	hull_run
	# Shown only when the test fails.
	echo "container status $status, output: $output"
}

# start_detached [ID]: `run -d` of the bundle. Never under bats' `run`: the container process
# holds the caller's stdout until it execs.
start_detached() {
	"$HULL" oci --root "$ROOT" run -d --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid.${1:-$ID}" "${1:-$ID}" \
		>"$TEST_DIR/out.${1:-$ID}"
}

# create_container [ID] [FLAG...]: `create` of the bundle, stdout to a file for the same reason.
create_container() {
	local id=${1:-$ID}
	shift || true
	"$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid.$id" "$@" "$id" \
		>"$TEST_DIR/out.$id"
}

# pid_of ID: the container's init pid on the host.
pid_of() {
	hull state "$1" | jq .pid
}

# run_split CMD...: like bats' `run`, but stderr apart: $status, $output (stdout), $stderr and
# $stderr_count (the number of lines on stderr).
run_split() {
	run --separate-stderr "$@"
	stderr_count=${#stderr_lines[@]}
	echo "status $status, stdout: $output, stderr: $stderr"
}

# assert_one_error_line PATTERN: the last run_split failed with exactly one "hull: " line on
# stderr that contains PATTERN (a fixed string).
assert_one_error_line() {
	if [ "$status" -eq 0 ]; then
		echo "expected a failure; stdout: $output; stderr: $stderr" >&2
		return 1
	fi
	if [ "$stderr_count" -ne 1 ]; then
		echo "expected one line on stderr, got $stderr_count: $stderr" >&2
		return 1
	fi
	if [[ "$stderr" != "hull: "* || "$stderr" != *"$1"* ]]; then
		echo "stderr '$stderr' does not name '$1'" >&2
		return 1
	fi
}

# no_process_of ID: no process runs whose command line names the container (the runtime's own
# setup processes carry the id; so does a sleep tagged with it).
no_process_of() {
	local pids
	pids=$(pgrep -f -- "(^| )$1( |\$)" || true)
	if [ -n "$pids" ]; then
		echo "processes of $1 still run:" >&2
		ps -o pid,args -p "$(echo $pids | tr ' ' ,)" >&2 || true
		return 1
	fi
}

# no_cgroup_of ID: no hierarchy (v1 controllers and the unified tree) has a cgroup for the id.
no_cgroup_of() {
	local d
	for d in /sys/fs/cgroup/*/hull/"$1"; do
		if [ -e "$d" ]; then
			echo "cgroup left: $d" >&2
			return 1
		fi
	done
}

# assert_nothing_left ID: after a failed create or run, nothing of the container exists: no state,
# no cgroup, no process, no mount of the bundle's rootfs.
assert_nothing_left() {
	local listed
	listed=$(hull list -q)
	if [ -n "$listed" ]; then
		echo "containers left: $listed" >&2
		return 1
	fi
	[ ! -e "$ROOT/$1" ] || { echo "state dir left: $ROOT/$1" >&2; return 1; }
	no_cgroup_of "$1"
	no_process_of "$1"
	if grep -F -- "$BUNDLE/rootfs" /proc/self/mountinfo; then
		echo "rootfs still mounted" >&2
		return 1
	fi
}

# wait_for_file PATH: polls (bounded, ~5 s) until PATH exists.
wait_for_file() {
	local i
	for i in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "$1 did not appear" >&2
	return 1
}

# wait_gone PID: polls (bounded, ~5 s) until the process has exited.
wait_gone() {
	local i
	for i in $(seq 100); do
		is_gone "$1" && return 0
		sleep 0.05
	done
	echo "process $1 is still there" >&2
	return 1
}

# cap_mask NAME...: the hex capability mask (as /proc/PID/status prints it) of the named caps.
cap_mask() {
	local m=0 n
	for n in "$@"; do
		m=$((m | (1 << $(cap_number "$n"))))
	done
	printf '%016x\n' "$m"
}

cap_number() {
	case $1 in
	CAP_CHOWN) echo 0 ;; CAP_DAC_OVERRIDE) echo 1 ;; CAP_DAC_READ_SEARCH) echo 2 ;; CAP_FOWNER) echo 3 ;;
	CAP_FSETID) echo 4 ;; CAP_KILL) echo 5 ;; CAP_SETGID) echo 6 ;; CAP_SETUID) echo 7 ;;
	CAP_SETPCAP) echo 8 ;; CAP_NET_BIND_SERVICE) echo 10 ;; CAP_NET_RAW) echo 13 ;;
	CAP_SYS_CHROOT) echo 18 ;; CAP_SYS_ADMIN) echo 21 ;; CAP_MKNOD) echo 27 ;; CAP_AUDIT_WRITE) echo 29 ;;
	CAP_SETFCAP) echo 31 ;;
	*) echo "cap_number: unknown $1" >&2; return 1 ;;
	esac
}
