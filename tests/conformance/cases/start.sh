#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# start.sh: `start` errors: unknown id, a second start, start of a stopped container.
source "$(dirname "$0")/../lib.sh"
plan 5

check_not "start of an unknown id fails" rt start "$(new_id)"

b=$(new_bundle b sleep 30)
id=$(new_id)
ctr_create "$b" "$id"
started=0
rt start "$id" >/dev/null 2>&1 || started=$?
is "start of a created container exits 0" "$started" 0
check_not_after "$started" "a second start fails" rt start "$id"
is "... and the container keeps running" "$(state_of "$id" status)" running

s=$(new_bundle s true)
id2=$(new_id)
ctr_create "$s" "$id2"
rt start "$id2" >/dev/null 2>&1 || true
stopped=0
wait_status "$id2" stopped || stopped=1
check_not_after "$stopped" "start of a stopped container fails" rt start "$id2"
