#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_masked_paths.sh: maskedPaths hide files and directories; a missing one is no error.
source "$(dirname "$0")/../lib.sh"
plan 4

b=$(new_bundle b sh -c '
	cat /secret-file; echo "|"
	ls /secret-dir | wc -l
	cat /proc/kcore 2>/dev/null | wc -c')
echo hidden >"$b/rootfs/secret-file"
mkdir "$b/rootfs/secret-dir" && touch "$b/rootfs/secret-dir/a" "$b/rootfs/secret-dir/b"
cfg "$b" '.linux.maskedPaths = ["/secret-file", "/secret-dir", "/proc/kcore", "/not/there"]'
ctr_run "$b" "$(new_id)"
is "run with maskedPaths (one missing) succeeds" "$RC" 0
mapfile -t lines <<<"$OUT"
is "a masked file reads empty" "${lines[0]:-}" "|"
is "a masked directory is empty" "$(echo ${lines[1]:-})" 0
is "a masked /proc file reads empty" "$(echo ${lines[2]:-})" 0
