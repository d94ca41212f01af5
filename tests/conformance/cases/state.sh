#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# state.sh: the state JSON: required fields, annotations, status of each phase, unknown ids.
source "$(dirname "$0")/../lib.sh"
plan 9

RC=0
rt state "$(new_id)" >"$WORK/unknown.out" 2>"$WORK/unknown.err" || RC=$?
check_not "state of an unknown id fails" test "$RC" = 0
check "... and says why on stderr" test -s "$WORK/unknown.err"

b=$(new_bundle b sleep 30)
cfg "$b" '.annotations = {"org.hull.test": "yes", "other": "x y"}'
id=$(new_id)
ctr_create "$b" "$id"
rt state "$id" >"$WORK/state.json" 2>/dev/null || true
json_check "state prints one JSON object" "$WORK/state.json" 'type == "object"'
json_check "ociVersion is a non-empty string" "$WORK/state.json" '.ociVersion | type == "string" and length > 0'
json_check "status is one of the spec's values" "$WORK/state.json" \
	'.status | IN("creating", "created", "running", "stopped")'
json_check "pid is a positive number while created" "$WORK/state.json" '.pid | type == "number" and . > 0'
is "annotations are those of config.json" \
	"$(jq -c '.annotations' "$WORK/state.json" 2>/dev/null)" '{"org.hull.test":"yes","other":"x y"}'

rt start "$id" >/dev/null 2>&1 || true
is "status is running after start" "$(state_of "$id" status)" running
rt kill "$id" KILL >/dev/null 2>&1 || true
check "status is stopped after the program is killed" wait_status "$id" stopped
