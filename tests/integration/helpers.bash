# SPDX-License-Identifier: LGPL-2.1-or-later
# helpers.bash: shared setup for the command-line tests. Each test gets its own runtime root and
# bundle; teardown deletes every container and checks nothing (cgroup, state) was left behind.

HULL=${HULL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/src/cli/hull}
HULL_SRC=${HULL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# One busybox rootfs per test run, copied into each bundle (cp -a is cheap next to making it).
rootfs_cache() {
	local cache=${BATS_RUN_TMPDIR:-/tmp}/busybox-rootfs
	if [ ! -x "$cache/bin/busybox" ]; then
		sh "$HULL_SRC/tests/lib/busybox-rootfs.sh" "$cache.tmp.$$" >/dev/null
		mv "$cache.tmp.$$" "$cache" 2>/dev/null || rm -rf "$cache.tmp.$$"
	fi
	echo "$cache"
}

setup_bundle() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	TEST_DIR=$(mktemp -d /tmp/hull-test.XXXXXX)
	ROOT="$TEST_DIR/root"
	BUNDLE="$TEST_DIR/bundle"
	mkdir -p "$BUNDLE"
	cp -a "$(rootfs_cache)" "$BUNDLE/rootfs"
	(cd "$BUNDLE" && "$HULL" oci spec)
	# Tests run without a terminal; each sets its own args.
	update_config '.process.terminal = false | .process.args = ["/bin/true"]'
	ID="t$$-$BATS_TEST_NUMBER"
}

teardown_bundle() {
	[ -n "${ROOT:-}" ] || return 0
	local id
	for id in $("$HULL" oci --root "$ROOT" list -q 2>/dev/null); do
		"$HULL" oci --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	# Nothing of a container may outlive its deletion: no cgroup in any hierarchy.
	local left
	left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "t$$-$BATS_TEST_NUMBER*" 2>/dev/null || true)
	rm -rf "$TEST_DIR"
	if [ -n "$left" ]; then
		echo "cgroups left behind: $left" >&2
		return 1
	fi
}

# update_config JQ_FILTER: edits the bundle's config.json.
update_config() {
	local tmp="$BUNDLE/config.json.tmp"
	jq "$@" "$BUNDLE/config.json" > "$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# set_args ARG...: the container's command line.
set_args() {
	local json
	json=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	update_config --argjson a "$json" '.process.args = $a'
}

hull() {
	"$HULL" oci --root "$ROOT" "$@"
}

# hull_run ARG...: `hull oci run` of the bundle with a fresh id; output in $output, status in $status.
hull_run() {
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$@" "$ID"
}

# status_of ID: the OCI status string.
status_of() {
	hull state "$1" | jq -r .status
}

# is_gone PID: the process has exited (a zombie not yet reaped by its new parent counts).
is_gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# wait_status ID STATUS: polls (bounded) until the container reaches STATUS.
wait_status() {
	local i
	for i in $(seq 100); do
		[ "$(status_of "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "container $1 is $(status_of "$1"), not $2" >&2
	return 1
}

# cgroup_dir CONTROLLER ID: where a container's v1 cgroup lives (the default "/hull/<id>").
cgroup_dir() {
	echo "/sys/fs/cgroup/$1/hull/$2"
}
