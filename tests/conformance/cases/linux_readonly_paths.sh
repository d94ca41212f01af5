#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_readonly_paths.sh: readonlyPaths refuse writes; the rest of the rootfs stays writable.
source "$(dirname "$0")/../lib.sh"
plan 4

b=$(new_bundle b sh -c '
	touch /ro-dir/x 2>/dev/null && echo writable || echo refused
	echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo refused
	touch /rw-dir/x && echo writable || echo refused')
mkdir "$b/rootfs/ro-dir" "$b/rootfs/rw-dir"
cfg "$b" '.linux.readonlyPaths = ["/ro-dir", "/proc/sys", "/not/there"]'
ctr_run "$b" "$(new_id)"
is "run with readonlyPaths (one missing) succeeds" "$RC" 0
mapfile -t lines <<<"$OUT"
is "a read-only directory refuses writes" "${lines[0]:-}" refused
is "a read-only /proc/sys refuses writes" "${lines[1]:-}" refused
is "a directory not listed stays writable" "${lines[2]:-}" writable
