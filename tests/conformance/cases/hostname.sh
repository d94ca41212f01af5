#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hostname.sh: hostname and domainname in the container's uts namespace, the host's left alone.
source "$(dirname "$0")/../lib.sh"
plan 3

host_before=$(hostname)
b=$(new_bundle b sh -c 'echo "$(hostname) $(cat /proc/sys/kernel/domainname)"')
cfg "$b" '.hostname = "hull-test" | .domainname = "hull.example"'
ctr_run "$b" "$(new_id)"
is "hostname is set" "${OUT% *}" hull-test
is "domainname is set" "${OUT#* }" hull.example
is "the host's hostname is unchanged" "$(hostname)" "$host_before"
