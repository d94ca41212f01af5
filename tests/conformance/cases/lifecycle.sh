#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lifecycle.sh: the spec's lifecycle in order: create, state "created", start runs the program,
# state "running", kill, state "stopped", delete, state fails.
source "$(dirname "$0")/../lib.sh"
plan 14

# The program leaves a marker only once it runs, and leaves on SIGTERM (as PID 1 it would otherwise
# ignore a signal it has no handler for).
b=$(new_bundle b sh -c 'trap "exit 0" TERM; echo $$ > /started; while :; do sleep 0.1; done')
id=$(new_id)

ctr_create "$b" "$id"
is "create exits 0" "$RC" 0
[[ $RC == 0 ]] || diag "$ERR"
is "state after create is created" "$(state_of "$id" status)" created
is "state reports the id" "$(state_of "$id" id)" "$id"
is "state reports the bundle's absolute path" "$(state_of "$id" bundle)" "$b"
pid=$(state_of "$id" pid)
if [[ $pid =~ ^[1-9][0-9]*$ ]] && kill -0 "$pid" 2>/dev/null; then
	pass "state pid of a created container is a live process"
else
	fail "state pid of a created container is a live process" "pid '$pid'"
fi
sleep 0.2
check_not_after "$RC" "the program does not run before start" test -e "$b/rootfs/started"

check "start exits 0" rt start "$id"
check "the program runs after start" wait_file "$b/rootfs/started"
is "the program is PID 1 of its pid namespace" "$(cat "$b/rootfs/started" 2>/dev/null)" 1
is "state after start is running" "$(state_of "$id" status)" running

check "kill TERM exits 0" rt kill "$id" TERM
check "state becomes stopped after the program exits" wait_status "$id" stopped

deleted=0
rt delete "$id" >/dev/null 2>&1 || deleted=$?
is "delete exits 0" "$deleted" 0
check_not_after "$deleted" "state of a deleted container fails" rt state "$id"
