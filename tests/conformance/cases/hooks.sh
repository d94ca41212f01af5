#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hooks.sh: each hook kind runs at its point of the lifecycle with the state on its stdin; a failing
# or timed-out hook fails create and leaves no container.
source "$(dirname "$0")/../lib.sh"
plan 12

# A hook that saves its stdin (the state JSON) to a file named after it. createContainer and
# startContainer run in the container's mount namespace, where WORK may not exist: they fall back to
# a file in the container's / (the bundle's rootfs).
hook() {
	jq -cn --arg f "$WORK/hook-$1.json" --arg g "/hook-$1.json" \
		'{path: "/bin/sh", args: ["sh", "-c", "cat > \"$0\" 2>/dev/null || cat > \"$1\"", $f, $g],
		env: ["HOOK_VAR=set"]}'
}
ran() { [[ -s $WORK/hook-$1.json ]] || [[ -s $b/rootfs/hook-$1.json ]]; }
hook_state() { cat "$WORK/hook-$1.json" 2>/dev/null || cat "$b/rootfs/hook-$1.json" 2>/dev/null; }

b=$(new_bundle b sh -c 'echo up > /up; sleep 1')
id=$(new_id)
cfg "$b" '.hooks = {"prestart": [$pre], "createRuntime": [$cr], "createContainer": [$cc],
	"startContainer": [$sc], "poststart": [$ps], "poststop": [$pst]}' \
	--argjson pre "$(hook prestart)" --argjson cr "$(hook createRuntime)" \
	--argjson cc "$(hook createContainer)" --argjson sc "$(hook startContainer)" \
	--argjson ps "$(hook poststart)" --argjson pst "$(hook poststop)"
ctr_create "$b" "$id"
[[ $RC == 0 ]] || diag "create failed: $ERR"
check "createRuntime hooks run at create" ran createRuntime
check "createContainer hooks run at create" ran createContainer
check "prestart hooks run at create" ran prestart
is "a hook's stdin is the state, with the container's id" "$(hook_state createRuntime | jq -r .id 2>/dev/null)" "$id"
same "... and its pid" "$(hook_state createRuntime | jq -r .pid 2>/dev/null)" "$(state_of "$id" pid)"
check_not_after "$RC" "startContainer hooks do not run before start" ran startContainer
rt start "$id" >/dev/null 2>&1 || true
wait_file "$b/rootfs/up" || true
check "startContainer hooks run at start" ran startContainer
check "poststart hooks run after start" ran poststart
stopped=0
wait_status "$id" stopped 5 || stopped=1
check_not_after "$stopped" "poststop hooks do not run before delete" ran poststop
rt delete "$id" >/dev/null 2>&1 || true
check "poststop hooks run at delete" ran poststop

f=$(new_bundle fail true)
idf=$(new_id)
cfg "$f" '.hooks = {"createRuntime": [{"path": "/bin/false", "args": ["false"]}]}'
ctr_create "$f" "$idf"
check_not "a failing createRuntime hook fails create" test "$RC" = 0
check_not "... and leaves no container" rt state "$idf"
