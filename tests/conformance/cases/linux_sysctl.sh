#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# linux_sysctl.sh: linux.sysctl sets namespaced kernel parameters inside, not on the host.
source "$(dirname "$0")/../lib.sh"
plan 3

host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
want_fwd=$((1 - host_fwd))
b=$(new_bundle b sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax')
cfg "$b" '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.msgmax": "4096"}' --arg f "$want_fwd"
ctr_run "$b" "$(new_id)"
[[ $RC == 0 ]] || diag "run failed: $ERR"
mapfile -t lines <<<"$OUT"
is "a net sysctl applies in the network namespace" "${lines[0]:-}" "$want_fwd"
is "an ipc sysctl applies in the ipc namespace" "${lines[1]:-}" 4096
is "the host's value is unchanged" "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd"
