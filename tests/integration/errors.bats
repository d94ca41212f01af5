#!/usr/bin/env bats
# Bad input: every refusal is exactly one line on stderr naming the field or argument, a non-zero
# exit, and nothing left behind (no state, cgroup, process or mount of the rootfs).

load helpers
load lib

setup() {
	setup_bundle
	set_args sleep 100
}

teardown() { teardown_bundle; }

# refuses PATTERN CMD...: CMD fails with one stderr line naming PATTERN and leaves nothing of $ID.
refuses() {
	local pattern=$1
	shift
	run_split "$@"
	assert_one_error_line "$pattern"
	[ -z "$output" ]
	assert_nothing_left "$ID"
}

# create_refuses PATTERN: `create` of the bundle is refused so.
create_refuses() {
	refuses "$1" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
}

@test "malformed JSON in config.json" {
	printf '{"ociVersion": "1.1.0", "process": {' >"$BUNDLE/config.json"
	create_refuses "config.json"
}

@test "a wrong type: process.user.uid as a string" {
	update_config '.process.user.uid = "0"'
	create_refuses "process.user.uid"
}

@test "a wrong type: process.args as a string" {
	update_config '.process.args = "sleep 100"'
	create_refuses "process.args"
}

@test "a wrong type: linux.namespaces as an object" {
	update_config '.linux.namespaces = {"type": "pid"}'
	create_refuses "linux.namespaces"
}

@test "an unknown namespace type" {
	update_config '.linux.namespaces += [{"type": "nope"}]'
	create_refuses "linux.namespaces[6].type: unknown namespace type 'nope'"
}

@test "a namespace given twice" {
	update_config '.linux.namespaces += [{"type": "pid"}]'
	create_refuses "linux.namespaces[6].type: namespace 'pid' given twice"
}

@test "a missing root.path" {
	update_config 'del(.root.path)'
	create_refuses "root.path: required"
}

@test "a missing rootfs directory" {
	rm -rf "$BUNDLE/rootfs"
	create_refuses "root.path '$BUNDLE/rootfs'"
	[[ "$stderr" == *"No such file or directory"* ]]
}

@test "a rootfs that is a file" {
	rm -rf "$BUNDLE/rootfs"
	touch "$BUNDLE/rootfs"
	create_refuses "root.path '$BUNDLE/rootfs': not a directory"
}

@test "a missing config.json" {
	rm "$BUNDLE/config.json"
	create_refuses "$BUNDLE/config.json"
}

@test "a missing process" {
	update_config 'del(.process)'
	create_refuses "process: required"
}

@test "process.args empty" {
	update_config '.process.args = []'
	create_refuses "process.args: required"
}

@test "a program that does not exist in the rootfs" {
	set_args /bin/no-such-program
	create_refuses "/bin/no-such-program"
}

@test "an unknown rlimit type" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]'
	create_refuses "process.rlimits[0].type: unknown rlimit 'RLIMIT_NOPE'"
}

@test "an out-of-range oomScoreAdj" {
	update_config '.process.oomScoreAdj = 5000'
	create_refuses "process.oomScoreAdj"
}

@test "a mount without a destination" {
	update_config '.mounts += [{"type": "tmpfs", "source": "tmpfs"}]'
	create_refuses "mounts["
	[[ "$stderr" == *destination* ]]
}

@test "an unsupported ociVersion" {
	update_config '.ociVersion = "2.0.0"'
	create_refuses "ociVersion: '2.0.0' is not supported"
}

@test "a missing ociVersion" {
	update_config 'del(.ociVersion)'
	create_refuses "ociVersion: required"
}

@test "a duplicate container id leaves the first container alone" {
	start_detached
	pid=$(pid_of "$ID")
	run_split "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "container '$ID' already exists"
	[ "$(status_of "$ID")" = running ]
	[ "$(pid_of "$ID")" = "$pid" ]
	[ -d "$(cgroup_dir memory "$ID")" ]
	[ "$(hull list -q)" = "$ID" ]
	hull delete -f "$ID"
	assert_nothing_left "$ID"
}

@test "an invalid id: a/b" {
	refuses "'a/b'" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" a/b
	[ ! -e "$ROOT/a" ]
	no_cgroup_of a
}

@test "an invalid id: .. and the empty id" {
	refuses "'..'" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" ..
	refuses "invalid container id ''" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" ""
}

@test "an unknown command" {
	refuses "unknown command 'frobnicate'" "$HULL" oci --root "$ROOT" frobnicate "$ID"
}

@test "an unknown flag" {
	refuses "create: unknown flag '--frob'" "$HULL" oci --root "$ROOT" create --frob --bundle "$BUNDLE" "$ID"
	refuses "unknown flag '--nope'" "$HULL" oci --root "$ROOT" --nope list
	refuses "delete: unknown flag '-x'" "$HULL" oci --root "$ROOT" delete -x "$ID"
}

@test "a missing flag value" {
	refuses "create: flag '--bundle' needs a value" "$HULL" oci --root "$ROOT" create --bundle
	refuses "flag '--root' needs a value" "$HULL" oci --root
}

@test "a bad flag value" {
	refuses "--preserve-fds 'many'" "$HULL" oci --root "$ROOT" create --preserve-fds many --bundle "$BUNDLE" "$ID"
	refuses "--format 'yaml'" "$HULL" oci --root "$ROOT" list --format yaml
}

@test "a missing container id, and an extra argument" {
	refuses "create: a container id is required" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE"
	refuses "create: unexpected argument 'extra'" "$HULL" oci --root "$ROOT" create --bundle "$BUNDLE" "$ID" extra
}

@test "operations on a container that does not exist" {
	for cmd in state start kill pause resume ps delete; do
		refuses "container '$ID' does not exist" "$HULL" oci --root "$ROOT" "$cmd" "$ID"
	done
	refuses "container '$ID' does not exist" "$HULL" oci --root "$ROOT" exec "$ID" true
	refuses "container '$ID' does not exist" "$HULL" oci --root "$ROOT" update --memory 1G "$ID"
}

@test "with --log and --log-format json the error also goes to the log as JSON" {
	update_config '.ociVersion = "2.0.0"'
	run_split "$HULL" oci --root "$ROOT" --log "$TEST_DIR/log.json" --log-format json create --bundle "$BUNDLE" "$ID"
	assert_one_error_line "ociVersion"
	[ "$(tail -n 1 "$TEST_DIR/log.json" | jq -r .level)" = error ]
	[[ "$(tail -n 1 "$TEST_DIR/log.json" | jq -r .msg)" == *"ociVersion: '2.0.0' is not supported"* ]]
	assert_nothing_left "$ID"
}
