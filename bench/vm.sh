#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm.sh [HULL_BINARY]: `hull run --vm --rm --network none IMAGE true` against a hand-written QEMU
# command line that boots the same kernel and initramfs (hull-agent with hull.mode=poweroff: modules,
# root disk, then power-off) on a qcow2 overlay of the same base disk. After one warm-up each, ROUNDS
# (5) rounds of hull, QEMU, QEMU, hull: the medians of each side and their ratio, and the median of the
# rounds' ratios (a round's runs are close in time, so on a shared machine that one moves less). Like
# with like: the reference has the same machine, CPU, memory, kernel, initramfs, disk and a serial
# console, and no NIC, so hull runs with --network none (no NIC either); it has no agent ports and no
# QMP, which hull needs to run anything. Then, for a 512 MiB guest holding 200 MiB of random data in
# tmpfs: snapshot save and restore times, and the time and downtime QEMU reports for a live migration
# between two hull roots on 127.0.0.1 (BOOT_ONLY=1: not these). Everything runs in a network namespace
# of its own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=$(realpath "${1:-$repo/build/src/cli/hull}")
rounds=${ROUNDS:-5}

die() { echo "bench/vm.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed"

if [[ -z ${HULL_BENCH_IN_NS:-} ]]; then
	exec unshare --net env HULL_BENCH_IN_NS=1 "$BASH" "${BASH_SOURCE[0]}" "$hull"
fi
ip link set lo up

tmp=$(mktemp -d /tmp/hull-bench-vm.XXXXXX)
h() { "$hull" --root "$tmp/a" "$@"; }
h2() { "$hull" --root "$tmp/b" "$@"; }
cleanup() {
	for r in a b; do
		"$hull" --root "$tmp/$r" rm -f $("$hull" --root "$tmp/$r" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	done
	pkill -9 -f "qemu-system.*$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

sh "$repo/tests/lib/busybox-rootfs.sh" "$tmp/rootfs" >/dev/null
python3 "$repo/tests/integration/lib/mkimage.py" --out "$tmp/oci" --tag 1 --layer "$tmp/rootfs" --cmd '["sh"]' >/dev/null
h image import "$tmp/oci" bb:1 >/dev/null
h run --vm --rm --network none bb:1 true # warm-up: the base disk and the initramfs are made once

kernel=$(h info --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vm"]["kernel"])')
initrd=$(ls "$tmp"/a/vm/initramfs/*.cpio | head -n 1)
base=$(ls "$tmp"/a/vm/base/*.ext4 | head -n 1)
accel=$(h info --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vm"]["accelerator"])')
tsc=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
cpu=max
[[ $accel == kvm ]] && cpu=host

# The hand-written QEMU: the same machine, kernel, initramfs and a qcow2 overlay of the same base.
qemu_run() {
	qemu-img create -q -f qcow2 -F raw -b "$base" "$tmp/raw.qcow2"
	qemu-system-x86_64 -M microvm,x-option-roms=off,pcie=off,rtc=on -accel "$accel" -cpu "$cpu" -m 512 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t tsc_early_khz=$tsc hull.mode=poweroff" \
		-serial "file:$tmp/raw-console.log" \
		-drive "file=$tmp/raw.qcow2,if=none,id=disk0,format=qcow2,discard=unmap" -device virtio-blk-device,drive=disk0
	rm -f "$tmp/raw.qcow2"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

qemu_run # warm-up
for f in t-hull t-qemu c-hull c-qemu t-ratio c-ratio; do : >"$tmp/$f"; done
export tmp base accel cpu kernel initrd tsc
export -f qemu_run
# One timed run: wall time (bash's clock) and CPU time (user + system of the side and its children:
# hull, QEMU, qemu-img), in ms, appended to t-SIDE and c-SIDE.
timed() {
	local side=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f "%U %S" -o "$tmp/cpu" "$@"
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d\n", (b - a) * 1000 }' >>"$tmp/t-$side"
	awk '{ printf "%d\n", ($1 + $2) * 1000 }' "$tmp/cpu" >>"$tmp/c-$side"
}
# Rounds of hull, QEMU, QEMU, hull. On this host, of two 512 MiB QEMU runs in a row one is slower than
# the other by a tenth or more, whoever runs them, all of it system time with the same count of page
# faults (most likely the hypervisor taking back the memory the run before freed). A round gives each side one run of each kind, so neither gains
# from the alternation; its ratio is the sum of its two hull runs over the sum of its two QEMU runs.
for i in $(seq 1 "$rounds"); do
	timed hull "$hull" --root "$tmp/a" run --vm --rm --network none bb:1 true
	timed qemu bash -c qemu_run
	timed qemu bash -c qemu_run
	timed hull "$hull" --root "$tmp/a" run --vm --rm --network none bb:1 true
	for k in t c; do
		tail -n 2 "$tmp/$k-hull" | paste - <(tail -n 2 "$tmp/$k-qemu") |
			awk '{ h += $1; q += $2 } END { printf "%.3f\n", h / q }' >>"$tmp/$k-ratio"
	done
done
grep -q 'hull-agent' "$tmp/raw-console.log" && die "the hand-written boot failed: $(cat "$tmp/raw-console.log")"
runs=$((rounds * 2))
mh=$(median <"$tmp/t-hull")
mq=$(median <"$tmp/t-qemu")
echo "accelerator: $accel"
echo "hull run --vm --rm IMAGE true: median ${mh} ms over $runs runs ($(tr '\n' ' ' <"$tmp/t-hull"))"
echo "QEMU by hand, boot to power-off: median ${mq} ms over $runs runs ($(tr '\n' ' ' <"$tmp/t-qemu"))"
awk -v a="$mh" -v b="$mq" 'BEGIN { printf "ratio hull/QEMU of the medians: %.3f (target <= 1.15)\n", a / b }'
echo "ratio hull/QEMU, median of the $rounds rounds: $(median <"$tmp/t-ratio") ($(sort -g "$tmp/t-ratio" | tr '\n' ' '))"
echo "CPU time: hull median $(median <"$tmp/c-hull") ms ($(tr '\n' ' ' <"$tmp/c-hull")), QEMU by hand $(median <"$tmp/c-qemu") ms ($(tr '\n' ' ' <"$tmp/c-qemu"))"
echo "ratio of CPU times, median of the $rounds rounds: $(median <"$tmp/c-ratio") ($(sort -g "$tmp/c-ratio" | tr '\n' ' '))"
[[ -n ${BOOT_ONLY:-} ]] && exit 0

# Snapshots and migration of a 512 MiB guest with 200 MiB of random data in its memory.
h run -d --vm --memory 512M --name big bb:1 sh -c \
	'head -c 209715200 /dev/urandom > /dev/shm/fill; echo filled; i=0; while true; do echo count $i; i=$((i+1)); sleep 1; done' >/dev/null
for i in $(seq 1 600); do h logs big | grep -q filled && break; sleep 0.5; done
h logs big | grep -q filled || die "the guest did not fill its memory"
save=$(h snapshot create --format json big s1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["save_ms"])')
restore=$(h snapshot restore --format json big s1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["restore_ms"])')
size=$(h snapshot list --format json big | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["size"] // 1048576)')
echo "snapshot of a 512 MiB guest (200 MiB of it written): save ${save} ms, restore ${restore} ms, ${size} MiB on disk"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
h2 receive --listen "tcp://127.0.0.1:$port" >/dev/null &
sleep 0.5
h migrate big --to "tcp://127.0.0.1:$port"
wait
h2 logs big >/dev/null
