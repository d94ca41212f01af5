#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# procfs.bats: a system container's /proc/meminfo, cpuinfo, stat and uptime show its limits (served by
# hull-procfs over FUSE), nproc its --cpus; the host's files stay as they are, and nothing of the
# server (process, mount) outlives the container, a failed start included.

bats_require_minimum_version 1.5.0
load instance-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	make_system_image "$BATS_FILE_TMPDIR/sleeper" >/dev/null
}

setup() {
	setup_root
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	grep -qw fuse /proc/filesystems || modprobe fuse 2>/dev/null || true
	grep -qw fuse /proc/filesystems || skip "the kernel has no fuse filesystem"
	h image import "$BATS_FILE_TMPDIR/sleeper" sl:1 >/dev/null
}

teardown() {
	teardown_root
}

# meminfo_kb NAME KEY: KEY's figure (kB) in NAME's /proc/meminfo.
meminfo_kb() {
	h exec "$1" awk -v k="$2:" '$1 == k { print $2 }' /proc/meminfo
}

# procfs_left ID: prints what of ID's hull-procfs is left (its process, a fuse mount of the root, its directory).
procfs_left() {
	pgrep -a -f "^hull-procfs .*/$1( |\$)" || true
	grep -F "$HROOT" /proc/mounts | grep -w fuse || true
	ls -A "$HROOT/run/procfs" 2>/dev/null || true
}

# wait_no_procfs ID: polls (bounded, ~10 s) until nothing of ID's hull-procfs is left.
wait_no_procfs() {
	local i
	for i in $(seq 200); do
		[ -z "$(procfs_left "$1")" ] && return 0
		sleep 0.05
	done
	procfs_left "$1" >&2
	return 1
}

@test "launch --memory 64m: MemTotal is the limit, MemFree follows use, the host's meminfo is untouched" {
	local host_total id free1 free2 shmem
	host_total=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	id=$(h launch --memory 64m --network none sl:1 m1)
	[ "$(meminfo_kb m1 MemTotal)" = 65536 ]
	free1=$(meminfo_kb m1 MemFree)
	[ "$free1" -lt 65536 ]
	[ "$(meminfo_kb m1 MemAvailable)" -le 65536 ]
	[ "$(meminfo_kb m1 SwapTotal)" = 0 ]
	# 20 MiB in tmpfs: charged to the container as shared memory, so MemFree drops and Shmem grows
	h exec m1 dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null
	free2=$(meminfo_kb m1 MemFree)
	shmem=$(meminfo_kb m1 Shmem)
	echo "MemFree $free1 -> $free2 kB, Shmem $shmem kB" >&3
	[ "$free2" -lt $((free1 - 15000)) ]
	[ "$shmem" -ge 20000 ]
	# the whole file reads the same by read(2) and through splice (busybox cat uses sendfile)
	run h exec m1 sh -c 'cat /proc/meminfo | grep -c kB; dd if=/proc/meminfo bs=7 2>/dev/null | grep -c kB'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${lines[1]}" ] && [ "${lines[0]}" -gt 10 ]
	run h exec m1 cat /proc/uptime
	[[ "$output" =~ ^[0-9]+\.[0-9]{2}\ [0-9]+\.[0-9]{2}$ ]]
	# the files are read-only, even for root in the container
	run h exec m1 sh -c 'echo x > /proc/meminfo'
	[ "$status" -ne 0 ]
	# the host's own file is its own
	[ "$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)" = "$host_total" ]
	# hull-procfs is not in the container's cgroup; its memory, for the record
	local pid
	pid=$(pgrep -f "^hull-procfs .*/$id( |\$)")
	! grep -q "/hull/$id" "/proc/$pid/cgroup"
	grep -E 'VmRSS|RssAnon|RssFile' "/proc/$pid/status" | tr -s ' \t' ' ' | sed 's/^/# hull-procfs /' >&3
	# the host-side mount is gone once the container holds the files
	[ -z "$(grep -F "$HROOT" /proc/mounts | grep -w fuse)" ]
	h stop -t 1 m1 >/dev/null
	wait_no_procfs "$id"
}

@test "launch without a limit: MemTotal is the host's, and no server runs beside it" {
	local host_total
	host_total=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	h launch --network none sl:1 m2 >/dev/null
	[ "$(meminfo_kb m2 MemTotal)" = "$host_total" ]
	# Nothing to correct: the kernel's own files, and no hull-procfs for this container.
	[ "$(h exec m2 awk '$2 ~ /^\/proc\// && $3 ~ /fuse/' /proc/mounts)" = "" ]
	mon=$(pgrep -f "hull-monitor $HROOT")
	[ -n "$mon" ]
	[ -z "$(pgrep -P "$mon" -x hull-procfs || true)" ]
}

@test "launch --cpus 1: nproc and /proc/cpuinfo show one CPU" {
	local host_cpus
	host_cpus=$(nproc)
	[ "$host_cpus" -ge 2 ] || skip "the host has one CPU"
	h launch --cpus 1 --network none sl:1 c1 >/dev/null
	[ "$(h exec c1 nproc)" = 1 ]
	[ "$(h exec c1 grep -c '^processor' /proc/cpuinfo)" = 1 ]
	[ "$(h exec c1 grep '^processor' /proc/cpuinfo)" = "$(printf 'processor\t: 0')" ]
	[ "$(h exec c1 grep -c '^cpu[0-9]' /proc/stat)" = 1 ]
	# --cpus 0.5 also pins one CPU; without --cpus every CPU shows
	h launch --cpus 0.5 --network none sl:1 c2 >/dev/null
	[ "$(h exec c2 nproc)" = 1 ]
	h launch --network none sl:1 c3 >/dev/null
	[ "$(h exec c3 nproc)" = "$host_cpus" ]
	[ "$(h exec c3 grep -c '^processor' /proc/cpuinfo)" = "$(grep -c '^processor' /proc/cpuinfo)" ]
}

@test "stop and rm leave no server and no mount, a reader holding a file open included" {
	local id
	id=$(h launch --memory 64m --network none sl:1 r1)
	[ -n "$(pgrep -f "^hull-procfs .*/$id( |\$)")" ]
	# a reader in the container keeps /proc/meminfo open while the container stops
	h exec -d r1 sh -c 'exec 3</proc/meminfo; read -r line <&3; sleep 1000'
	h stop -t 1 r1 >/dev/null
	wait_no_procfs "$id"
	! h ps -a | grep -w r1 | grep -qw running
	# and it starts again with a fresh server
	h start r1 >/dev/null
	[ "$(meminfo_kb r1 MemTotal)" = 65536 ]
	h rm -f r1 >/dev/null
	wait_no_procfs "$id"
}

@test "a start that fails once the filesystem is mounted leaves no mount and no server" {
	local out
	# a "server" that exits at once: the runtime's look-up of the files fails, the start with it
	run --separate-stderr env HULL_PROCFS=/bin/true "$HULL" --root "$HROOT" launch --memory 64m --network none sl:1 f1
	[ "$status" -ne 0 ]
	echo "$stderr"
	# one line, naming the file the runtime could not bind
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "hull: "*"/proc/meminfo"* ]]
	out=$(grep -F "$HROOT" /proc/mounts || true)
	[ -z "$(echo "$out" | grep -w fuse)" ]
	[ -z "$(ls -A "$HROOT/run/procfs" 2>/dev/null)" ]
	[ -z "$(pgrep -f "hull-monitor $HROOT" || true)" ]
	# no server to be found at all: a clear error, before anything is mounted
	run env HULL_PROCFS=/nonexistent/hull-procfs "$HULL" --root "$HROOT" launch --memory 64m --network none sl:1 f2
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent/hull-procfs"* ]]
	[ -z "$(grep -F "$HROOT" /proc/mounts | grep -w fuse || true)" ]
}
