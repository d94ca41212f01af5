#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidfile.sh: create --pid-file writes the container process's host pid, as state reports it.
source "$(dirname "$0")/../lib.sh"
plan 3

b=$(new_bundle b sleep 30)
id=$(new_id)
ctr_create "$b" "$id" --pid-file "$WORK/ctr.pid"
check "create --pid-file writes the file" test -s "$WORK/ctr.pid"
same "the pid file holds state's pid" "$(tr -d '\n' <"$WORK/ctr.pid" 2>/dev/null)" "$(state_of "$id" pid)"

# Relative to the caller's directory, as runc resolves it (crun: relative to the bundle).
b2=$(new_bundle b2 sleep 30)
id2=$(new_id)
(cd "$WORK" && rt create --bundle "$b2" --pid-file rel.pid "$id2" >/dev/null 2>&1 </dev/null) || true
same "a relative --pid-file is relative to the current directory (as runc)" \
	"$(tr -d '\n' <"$WORK/rel.pid" 2>/dev/null)" "$(state_of "$id2" pid)"
