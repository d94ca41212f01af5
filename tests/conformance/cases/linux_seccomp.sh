#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_seccomp.sh: linux.seccomp filters: errno actions with and without errnoRet, a kill action,
# argument conditions, and the default action.
source "$(dirname "$0")/../lib.sh"
plan 5

# seccomp_run SECCOMP-JSON SCRIPT: sets OUT, ERR and RC.
seccomp_run() {
	local b
	b=$(new_bundle "b$BASHPID" sh -c "$2")
	cfg "$b" '.linux.seccomp = $s' --argjson s "$1"
	ctr_run "$b" "$(new_id)"
}

seccomp_run '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
	"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}' \
	'mkdir /tmp/x 2>&1; echo "rc=$?"; echo ok > /tmp/y && cat /tmp/y'
mapfile -t lines <<<"$OUT"
case ${lines[0]:-} in
*"Permission denied"*) pass "SCMP_ACT_ERRNO with errnoRet returns that errno (EACCES)" ;;
*) fail "SCMP_ACT_ERRNO with errnoRet returns that errno (EACCES)" "got '${lines[0]:-}' ($ERR)" ;;
esac
is "syscalls not listed take the default action (allow)" "${lines[2]:-}" ok

seccomp_run '{"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}' 'mkdir /tmp/x 2>&1'
case $OUT in
*"Operation not permitted"*) pass "SCMP_ACT_ERRNO without errnoRet returns EPERM" ;;
*) fail "SCMP_ACT_ERRNO without errnoRet returns EPERM" "got '$OUT' ($ERR)" ;;
esac

# Argument conditions: only personality(PER_LINUX32 = 8) is refused. busybox calls personality()
# through its linux32 and linux64 applets, with 8 and 0.
seccomp_run '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"],
	"action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}' \
	'linux32 true 2>/dev/null && echo allowed || echo refused; linux64 true && echo other-allowed'
mapfile -t lines <<<"$OUT"
is "a rule with an argument condition refuses the matching call" "${lines[0]:-}" refused
is "... and allows the call with other arguments" "${lines[-1]:-}" other-allowed
