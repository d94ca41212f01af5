#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mounts.sh: the mounts array: tmpfs with options, bind and read-only bind mounts, missing
# destinations created, order kept (a later mount may sit inside an earlier one).
source "$(dirname "$0")/../lib.sh"
plan 7

hostdir=$WORK/hostdir
mkdir -p "$hostdir"
echo from-host >"$hostdir/file"

b=$(new_bundle b sh -c '
	awk "\$2 == \"/mnt/tmp\" { print \$3, \$4 }" /proc/mounts
	cat /mnt/bind/file
	echo written > /mnt/bind/new
	echo x > /mnt/ro/new 2>/dev/null && echo ro-writable || echo ro-refused
	awk "\$2 == \"/mnt/tmp/inner\" { print \$3 }" /proc/mounts
	test -d /deep/new/dir && echo created')
cfg "$b" '.mounts += [
	{"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m", "mode=700"]},
	{"destination": "/mnt/bind", "type": "bind", "source": $h, "options": ["rbind", "rw"]},
	{"destination": "/mnt/ro", "type": "bind", "source": $h, "options": ["rbind", "ro"]},
	{"destination": "/mnt/tmp/inner", "type": "tmpfs", "source": "tmpfs"},
	{"destination": "/deep/new/dir", "type": "tmpfs", "source": "tmpfs"}]' --arg h "$hostdir"
ctr_run "$b" "$(new_id)"
[[ $RC == 0 ]] || diag "run failed ($RC): $ERR"
mapfile -t lines <<<"$OUT"
is "a tmpfs mount is mounted" "${lines[0]%% *}" tmpfs
opts=${lines[0]#* }
if [[ ,$opts, == *,nosuid,* && ,$opts, == *,size=1024k,* && ,$opts, == *,mode=700,* ]]; then
	pass "its options apply"
else
	fail "its options apply" "options '$opts'"
fi
is "a bind mount shows the host directory" "${lines[1]:-}" from-host
check "a rw bind mount writes through to the host" grep -qx written "$hostdir/new"
is "a ro bind mount refuses writes" "${lines[2]:-}" ro-refused
is "mounts are made in order (a tmpfs inside an earlier tmpfs)" "${lines[3]:-}" tmpfs
is "a missing destination is created" "${lines[4]:-}" created
