#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# create.sh: `create` errors the spec requires, and that a failed create leaves no container behind.
source "$(dirname "$0")/../lib.sh"
plan 8

b=$(new_bundle b sleep 30)
id=$(new_id)
ctr_create "$b" "$id"
is "create exits 0" "$RC" 0
first=$RC
ctr_create "$b" "$id"
check_not_after "$first" "create with an id already in use fails" test "$RC" = 0
is "the existing container is unaffected" "$(state_of "$id" status)" created

# A bundle without config.json, and one whose config.json is not JSON: the spec says create MUST
# generate an error, and nothing must be left for `state` to find.
nocfg=$(new_bundle nocfg)
rm "$nocfg/config.json"
id2=$(new_id)
ctr_create "$nocfg" "$id2"
check_not "create from a bundle without config.json fails" test "$RC" = 0
check_not "... and leaves no container" rt state "$id2"

bad=$(new_bundle bad)
echo '{ "ociVersion": ' >"$bad/config.json"
id3=$(new_id)
ctr_create "$bad" "$id3"
check_not "create from an invalid config.json fails" test "$RC" = 0
check_not "... and leaves no container" rt state "$id3"

# Without --bundle the bundle is the current directory (runc's command line).
cwdb=$(new_bundle cwd sleep 30)
id4=$(new_id)
(cd "$cwdb" && rt create "$id4" >stdout 2>stderr </dev/null) || true
is "create without --bundle uses the current directory" "$(state_of "$id4" bundle)" "$cwdb"
