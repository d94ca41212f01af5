#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# process.sh: the process object: args, env, cwd, user, groups, umask, rlimits, noNewPrivileges,
# oomScoreAdj, and `run` passing on the program's exit status and output streams.
source "$(dirname "$0")/../lib.sh"
plan 13

# inside JQ-FILTER SCRIPT: runs SCRIPT with sh in a fresh container whose config JQ-FILTER edits;
# sets OUT, ERR and RC.
inside() {
	local b
	b=$(new_bundle "b$BASHPID$RANDOM" sh -c "$2")
	cfg "$b" "$1"
	ctr_run "$b" "$(new_id)"
}

b=$(new_bundle args sh -c 'printf "%s|" "$@"' sh "a b" "" 'c$d')
ctr_run "$b" "$(new_id)"
is "args reach the program unchanged" "$OUT" 'a b||c$d|'

inside '.process.env += ["HULL_A=1", "HULL_B=x=y"]' 'echo "$HULL_A $HULL_B $PATH"'
is "env is the program's environment" "$OUT" "1 x=y /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

inside '.process.cwd = "/tmp"' 'pwd'
is "cwd is the working directory" "$OUT" /tmp

inside '.process.cwd = "/does/not/exist/yet"' 'pwd'
is "a cwd missing from the rootfs is created" "$OUT" /does/not/exist/yet

inside '.process.user = {"uid": 1000, "gid": 1001}' 'echo "$(id -u) $(id -g)"'
is "user uid and gid apply" "$OUT" "1000 1001"

inside '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [20, 30]}' \
	'awk "/^Groups:/ { \$1 = \"\"; print }" /proc/self/status'
is "additionalGids are the supplementary groups" "$(echo $OUT)" "20 30"

inside '.process.user.umask = 18' 'umask'
is "user.umask applies (18 = 0022)" "$OUT" 0022

inside '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1010}]' \
	'awk "/^Max open files/ { print \$4, \$5 }" /proc/self/limits'
is "rlimits apply (soft and hard)" "$OUT" "1000 1010"

inside '.process.noNewPrivileges = true' 'awk "/^NoNewPrivs:/ { print \$2 }" /proc/self/status'
is "noNewPrivileges sets no_new_privs" "$OUT" 1

inside '.process.oomScoreAdj = 123' 'cat /proc/self/oom_score_adj'
is "oomScoreAdj applies" "$OUT" 123

inside '.' 'exit 7'
is "run exits with the program's exit status" "$RC" 7

inside '.' 'echo to-out; echo to-err >&2'
is "the program's stdout is the runtime's stdout" "$OUT" to-out
is "the program's stderr is the runtime's stderr" "$ERR" to-err
