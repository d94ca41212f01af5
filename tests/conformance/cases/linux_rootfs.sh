#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_rootfs.sh: root.path is the container's /, root.readonly, and the rootfs the runtime
# prepares (proc mounted, the host's / out of reach).
source "$(dirname "$0")/../lib.sh"
plan 7

b=$(new_bundle b sh -c '
	cat /bundle-marker
	touch /x 2>/dev/null && echo writable || echo refused
	test -r /proc/self/status && echo proc
	ls / | grep -c "^hull-host-only$"')
echo in-bundle >"$b/rootfs/bundle-marker"
ctr_run "$b" "$(new_id)"
mapfile -t lines <<<"$OUT"
is "root.path is the container's /" "${lines[0]:-}" in-bundle
is "root.readonly false leaves / writable" "${lines[1]:-}" writable
is "/proc is mounted" "${lines[2]:-}" proc
is "the host's / is not visible" "${lines[3]:-}" 0

cfg "$b" '.root.readonly = true'
ctr_run "$b" "$(new_id)"
mapfile -t lines <<<"$OUT"
is "root.readonly true makes / read-only" "${lines[1]:-}" refused

# root.path may be absolute, outside the bundle.
abs=$(new_bundle abs cat /bundle-marker)
echo absolute >"$abs/rootfs/bundle-marker"
mv "$abs/rootfs" "$WORK/elsewhere"
cfg "$abs" '.root.path = $p' --arg p "$WORK/elsewhere"
ctr_run "$abs" "$(new_id)"
is "an absolute root.path outside the bundle works" "$OUT" absolute

# root.path "." makes the bundle itself the rootfs (runtime-tools' validation programs do this and
# read /config.json inside).
dot=$(new_bundle dot cat /config.json)
cp -a "$dot/rootfs/." "$dot/"
rm -rf "$dot/rootfs"
cfg "$dot" '.root.path = "."'
ctr_run "$dot" "$(new_id)"
is "root.path \".\" makes the bundle the rootfs" "$(jq -r .root.path <<<"$OUT" 2>/dev/null)" .
