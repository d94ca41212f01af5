#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_devices.sh: the default devices every container gets, the /dev links, and linux.devices.
source "$(dirname "$0")/../lib.sh"
plan 11

b=$(new_bundle b sh -c '
	for d in null zero full random urandom tty; do echo "$d $(stat -c "%F %t:%T" /dev/$d)"; done
	echo "fd $(readlink /dev/fd)"
	echo "stdin $(readlink /dev/stdin)"
	echo "ptmx $(test -c /dev/ptmx -o -L /dev/ptmx && echo yes)"
	echo "hull $(stat -c "%F %t:%T %a %u:%g" /dev/hull-test)"
	echo "sub $(stat -c "%F %t:%T" /dev/sub/dir/fuse)"')
cfg "$b" '.linux.devices = [
	{"path": "/dev/hull-test", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 1, "gid": 2},
	{"path": "/dev/sub/dir/fuse", "type": "c", "major": 10, "minor": 229}]
	| .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
ctr_run "$b" "$(new_id)"
[[ $RC == 0 ]] || diag "run failed: $ERR"
dev() { sed -n "s/^$1 //p" <<<"$OUT"; }
# Major and minor in hex, as stat %t:%T prints them.
is "/dev/null is char 1:3" "$(dev null)" "character special file 1:3"
is "/dev/zero is char 1:5" "$(dev zero)" "character special file 1:5"
is "/dev/full is char 1:7" "$(dev full)" "character special file 1:7"
is "/dev/random is char 1:8" "$(dev random)" "character special file 1:8"
is "/dev/urandom is char 1:9" "$(dev urandom)" "character special file 1:9"
is "/dev/tty is char 5:0" "$(dev tty)" "character special file 5:0"
is "/dev/fd links to /proc/self/fd" "$(dev fd)" /proc/self/fd
is "/dev/stdin links to /proc/self/fd/0" "$(dev stdin)" /proc/self/fd/0
is "/dev/ptmx exists" "$(dev ptmx)" yes
is "a configured device has its type, numbers, mode and owner" "$(dev hull)" "character special file 1:3 660 1:2"
is "a configured device's missing parent directories are made" "$(dev sub)" "character special file a:e5"
