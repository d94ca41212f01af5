#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kill.sh: signals by name and number reach the program; kill errors the spec requires.
source "$(dirname "$0")/../lib.sh"
plan 10

check_not "kill of an unknown id fails" rt kill "$(new_id)" KILL

# The program records the signal it gets, so a test sees delivery, not only the exit.
prog='trap "echo USR1 > /got; exit 0" USR1; trap "echo TERM > /got; exit 0" TERM; echo up > /up; while :; do sleep 0.1; done'
for sig in USR1 SIGTERM 15; do
	b=$(new_bundle "b$sig" sh -c "$prog")
	id=$(new_id)
	ctr_create "$b" "$id"
	rt start "$id" >/dev/null 2>&1 || true
	wait_file "$b/rootfs/up" || true
	check "kill $sig exits 0" rt kill "$id" "$sig"
	want=${sig#SIG}
	[[ $want == 15 ]] && want=TERM
	wait_file "$b/rootfs/got" || true
	is "the program receives $sig" "$(cat "$b/rootfs/got" 2>/dev/null)" "$want"
done

b=$(new_bundle created sleep 30)
id=$(new_id)
ctr_create "$b" "$id"
check "kill KILL of a created container exits 0" rt kill "$id" KILL
stopped=0
wait_status "$id" stopped || stopped=1
is "... and it becomes stopped" "$stopped" 0
check_not_after "$stopped" "kill of a stopped container fails" rt kill "$id" KILL
