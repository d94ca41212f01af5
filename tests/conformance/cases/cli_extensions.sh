#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cli_extensions.sh: the runc command line beyond the OCI spec that containerd and podman drive:
# run --detach, list, ps, exec, pause and resume, update, features, spec, --log with --log-format json.
source "$(dirname "$0")/../lib.sh"
plan 17

b=$(new_bundle b sleep 30)
id=$(new_id)
RC=0
rt run --detach --bundle "$b" "$id" >"$b/stdout" 2>"$b/stderr" </dev/null || RC=$?
is "run --detach returns with the container running" "$RC:$(state_of "$id" status)" 0:running
pid=$(state_of "$id" pid)

is "list -q names the container" "$(rt list -q 2>/dev/null)" "$id"
is "list --format json gives its id and status" \
	"$(rt list --format json 2>/dev/null | jq -r '.[0] | "\(.id) \(.status)"' 2>/dev/null)" "$id running"
rt ps --format json "$id" >"$WORK/ps.json" 2>/dev/null || true
json_check "ps --format json lists the container's pid" "$WORK/ps.json" "index(${pid:-0}) != null"

RC=0
out=$(rt exec "$id" sh -c 'echo from-exec; exit 42' 2>/dev/null) || RC=$?
is "exec runs a command inside, with its output" "$out" from-exec
is "exec exits with the command's status" "$out:$RC" from-exec:42
out=$(rt exec --env HULL_X=1 --cwd /tmp "$id" /bin/sh -c 'echo "$HULL_X $(pwd)"' 2>/dev/null) || true
is "exec --env and --cwd apply" "$out" "1 /tmp"
jq -n '{cwd: "/", args: ["sh", "-c", "echo from-process-json"], env: ["PATH=/bin:/usr/bin"], user: {uid: 0, gid: 0}}' \
	>"$WORK/process.json"
out=$(rt exec --process "$WORK/process.json" "$id" 2>/dev/null) || true
is "exec --process runs a process.json" "$out" from-process-json
rt exec --detach --pid-file "$WORK/exec.pid" "$id" sleep 20 >/dev/null 2>&1 </dev/null || true
xpid=$(cat "$WORK/exec.pid" 2>/dev/null || true)
if [[ -n $xpid && -r /proc/$xpid/ns/pid && $(readlink "/proc/$xpid/ns/pid") == "$(readlink "/proc/$pid/ns/pid")" ]]; then
	pass "exec --detach --pid-file leaves the process running inside"
else
	fail "exec --detach --pid-file leaves the process running inside" "pid file '$xpid'"
fi

check "pause exits 0" rt pause "$id"
is "state after pause is paused" "$(state_of "$id" status)" paused
check "resume exits 0" rt resume "$id"
is "state after resume is running" "$(state_of "$id" status)" running

rt update --pids-limit 33 "$id" >/dev/null 2>&1 || true
is "update --pids-limit changes the cgroup" "$(cat "$(cgroup_file "${pid:-0}" pids pids.max pids.max)" 2>/dev/null)" 33

rt features >"$WORK/features.json" 2>/dev/null || true
json_check "features prints JSON with the OCI versions it accepts" "$WORK/features.json" \
	'.ociVersionMin and .ociVersionMax'
mkdir -p "$WORK/spec"
(cd "$WORK/spec" && rt spec >/dev/null 2>&1) || true
json_check "spec writes a config.json with ociVersion and process args" "$WORK/spec/config.json" \
	'(.ociVersion | length > 0) and (.process.args | length > 0)'

# containerd reads a failed call's error from the last JSON line of --log.
"$RUNTIME" --root "$STATE" --log "$WORK/log.json" --log-format json state "$(new_id)" >/dev/null 2>&1 || true
tail -n 1 "$WORK/log.json" >"$WORK/log.last" 2>/dev/null || true
json_check "--log-format json logs a failure as a JSON line with level error and msg" "$WORK/log.last" \
	'.level == "error" and (.msg | length > 0)'
