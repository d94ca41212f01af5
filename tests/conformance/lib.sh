# SPDX-License-Identifier: LGPL-2.1-or-later
# lib.sh: what every conformance case sources: TAP output, throwaway bundles, and the runtime
# invoked the way runc is (global --root first, then the command).
#
# A case is a bash program that prints TAP on stdout. Environment (run.sh sets all three; a case also
# runs alone with only RUNTIME set):
#   RUNTIME             path of the runtime under test (runc, crun, hull-oci)
#   CONFORMANCE_ROOTFS  a busybox root filesystem, copied into each bundle
#   CONFORMANCE_WORK    an empty directory the case may fill; the runtime's --root is WORK/state
set -euo pipefail

: "${RUNTIME:?RUNTIME must name the runtime under test}"
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CASE_NAME=$(basename "$0" .sh)

if [[ -n ${CONFORMANCE_WORK:-} ]]; then
	WORK=$CONFORMANCE_WORK
	_own_work=
else
	WORK=$(mktemp -d "/tmp/hull-conformance-$CASE_NAME.XXXXXX")
	_own_work=1
fi
# Traversable by every uid: a container whose root is mapped to an unprivileged host uid must
# still reach its rootfs below WORK (mktemp makes 0700).
chmod 755 "$WORK"
STATE=$WORK/state
mkdir -p "$STATE"
if [[ -z ${CONFORMANCE_ROOTFS:-} ]]; then
	CONFORMANCE_ROOTFS=$WORK/rootfs.base
	sh "$LIB_DIR/../lib/busybox-rootfs.sh" "$CONFORMANCE_ROOTFS" >/dev/null
fi

# ---- TAP ----------------------------------------------------------------------------------------

# TAP goes to a copy of the original stdout: a TERM from run.sh's timeout may interrupt a shell
# function whose stdout is redirected for the moment (check's "$@" >file), and the "not ok" lines
# for the tests not reached must still get out.
exec {TAP_FD}>&1
_tap_plan=0
_tap_n=0
_helper_pids=()

# plan N: announces N tests up front, so a case that dies early still accounts for every test it
# did not reach (as "not ok"), and two runtimes are compared on the same count.
plan() {
	_tap_plan=$1
	echo "1..$1" >&"$TAP_FD"
}
diag() { sed 's/^/# /' <<<"$*" >&"$TAP_FD"; }
pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1" >&"$TAP_FD"
}
fail() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $1" >&"$TAP_FD"
	[[ -z ${2:-} ]] || diag "$2"
}
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2:-}" >&"$TAP_FD"
}
# check DESC CMD...: ok when CMD exits 0.
check() {
	local desc=$1
	shift
	if "$@" >"$WORK/.check.out" 2>&1; then
		pass "$desc"
	else
		fail "$desc" "command failed: $* $(head -c 600 "$WORK/.check.out")"
	fi
}
# check_not DESC CMD...: ok when CMD exits non-zero (an error the spec requires).
check_not() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail "$desc" "command succeeded but must fail: $*"
	else
		pass "$desc"
	fi
}
# check_not_after PRE DESC CMD...: check_not, but only meaningful once what it builds on worked:
# PRE is that step's exit status, and a runtime that failed it fails this test too (an "X must fail"
# test must not pass because the runtime fails everything).
check_not_after() {
	local pre=$1 desc=$2
	shift 2
	if [[ $pre != 0 ]]; then
		fail "$desc" "not tested: the step before it failed"
		return
	fi
	check_not "$desc" "$@"
}
# json_check DESC FILE JQ-FILTER: ok when FILE holds JSON for which JQ-FILTER is true (jq -e alone
# passes an empty file).
json_check() {
	if [[ -s $2 ]] && jq -e "$3" "$2" >/dev/null 2>&1; then
		pass "$1"
	else
		fail "$1" "'$3' is not true of: $(head -c 300 "$2" 2>/dev/null)"
	fi
}
# same DESC GOT WANT: is, for a WANT the runtime reported: an empty WANT fails.
same() {
	if [[ -z $3 ]]; then
		fail "$1" "nothing to compare with (got '$2')"
		return
	fi
	is "$@"
}
# is DESC GOT WANT: ok when the strings are equal.
is() {
	if [[ $2 == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "got '$2', want '$3'"
	fi
}

# ---- the runtime ---------------------------------------------------------------------------------

rt() { "$RUNTIME" --root "$STATE" "$@"; }

# new_id: a container id unique in this case. It is called as $(new_id), a subshell, so a counter
# would not advance; the subshell's own pid differs on every call instead.
new_id() {
	echo "conf-$CASE_NAME-$$-$BASHPID"
}

# new_bundle NAME [ARG...]: a bundle WORK/NAME with a copy of the rootfs and config.base.json, the
# process args set to ARG... if given. Prints the bundle's absolute path.
new_bundle() {
	local b=$WORK/$1 args
	shift
	mkdir -p "$b"
	cp -a "$CONFORMANCE_ROOTFS" "$b/rootfs"
	cp "$LIB_DIR/config.base.json" "$b/config.json"
	if (($# > 0)); then
		# One raw string per argument: jq's own --args would take "-c" for one of its options.
		args=$(for a in "$@"; do printf '%s' "$a" | jq -Rs .; done | jq -cs .)
		cfg "$b" '.process.args = $a' --argjson a "$args"
	fi
	echo "$b"
}

# cfg BUNDLE JQ-FILTER [JQ-ARGS...]: edits BUNDLE/config.json in place.
cfg() {
	local b=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$b/config.json" >"$b/config.json.new"
	mv "$b/config.json.new" "$b/config.json"
}

# ctr_run BUNDLE ID: `run` in the foreground; sets OUT, ERR and RC, never fails.
ctr_run() {
	RC=0
	rt run --bundle "$1" "$2" >"$1/stdout" 2>"$1/stderr" </dev/null || RC=$?
	OUT=$(cat "$1/stdout")
	ERR=$(cat "$1/stderr")
}

# ctr_create BUNDLE ID [CREATE-FLAGS...]: `create`; the container keeps create's stdio, so they go to
# files (a pipe would stay open as long as the container lives). Sets ERR and RC, never fails.
ctr_create() {
	local b=$1 id=$2
	shift 2
	RC=0
	rt create --bundle "$b" "$@" "$id" >"$b/stdout" 2>"$b/stderr" </dev/null || RC=$?
	ERR=$(cat "$b/stderr")
}

# state_of ID FIELD: one field of `state ID` (jq path without the dot), empty if state fails.
state_of() {
	rt state "$1" 2>/dev/null | jq -r ".$2 // empty" 2>/dev/null || true
}

# wait_status ID STATUS [SECONDS]: polls `state` until STATUS (a test may poll: the spec gives the
# runtime no event to wait on).
wait_status() {
	local i
	for ((i = 0; i < ${3:-5} * 20; i++)); do
		[[ $(state_of "$1" status) == "$2" ]] && return 0
		sleep 0.05
	done
	return 1
}

# wait_file PATH [SECONDS]: polls until PATH exists and is not empty.
wait_file() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		[[ -s $1 ]] && return 0
		sleep 0.05
	done
	return 1
}

# proc_gone PID: true once PID has exited (a zombie counts: it no longer runs).
proc_gone() {
	local i st
	for ((i = 0; i < 40; i++)); do
		st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
		[[ -z $st || $st == Z ]] && return 0
		sleep 0.05
	done
	return 1
}

# spawn CMD...: a helper process on the host (e.g. a namespace holder), killed when the case ends.
spawn() {
	"$@" </dev/null >/dev/null 2>&1 &
	_helper_pids+=($!)
	SPAWNED=$!
}

# cgroup_file PID CONTROLLER V1FILE V2FILE: the host path of the control file of PID's cgroup, on
# whichever hierarchy holds CONTROLLER (cgroup v2 unified, or a v1 mount, as on hybrid hosts).
cgroup_file() {
	local pid=$1 ctrl=$2 path mnt
	# No pid, no path: the root cgroup's file would look like a real value.
	[[ $pid =~ ^[1-9][0-9]*$ && -r /proc/$pid/cgroup ]] || { echo /nonexistent; return; }
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup$path/$4"
		return
	fi
	path=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
		"/proc/$pid/cgroup")
	# The v1 mount of CONTROLLER: a cgroup line in mountinfo whose super options name it.
	mnt=$(awk -v c="$ctrl" '{
		for (i = 7; $i != "-"; i++) ;
		if ($(i + 1) != "cgroup") next
		n = split($(i + 3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) { print $5; exit }
	}' /proc/self/mountinfo)
	echo "$mnt$path/$3"
}

# unmount_under DIR: lazily unmounts whatever a runtime left mounted below DIR, deepest first, so
# that removing DIR cannot reach into a bind-mounted host directory.
unmount_under() {
	local m
	awk -v d="$1/" 'substr($5, 1, length(d)) == d { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# ---- the end ------------------------------------------------------------------------------------

_finish() {
	local status=$1 id
	set +e
	((_tap_n <= _tap_plan)) || echo "$CASE_NAME: plan says $_tap_plan tests but $_tap_n ran: fix its plan" >&2
	while ((_tap_n < _tap_plan)); do
		fail "not reached: $CASE_NAME stopped early (exit status $status)"
	done
	for id in "$STATE"/*/; do
		[[ -d $id ]] && rt delete -f "$(basename "$id")" >/dev/null 2>&1
	done
	# A case that made something outside WORK (a cgroup parent, say) defines case_cleanup.
	! declare -F case_cleanup >/dev/null || case_cleanup
	((${#_helper_pids[@]} == 0)) || kill "${_helper_pids[@]}" 2>/dev/null
	wait 2>/dev/null
	if [[ -n $_own_work ]]; then
		unmount_under "$WORK"
		rm -rf --one-file-system "$WORK"
	fi
	# Every test is accounted for in the TAP; the exit status tells the runner nothing more.
	exit 0
}
trap '_finish $?' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
