#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# system.sh [HULL_BINARY]: a busybox-init system container, hull against LXC 5.0 in the same run:
#   start:  `hull launch IMAGE NAME --network none` (create and start, returns once running) against
#           `lxc-start` + `lxc-wait -s RUNNING` of a container defined once beforehand;
#   attach: `hull exec NAME true` against `lxc-attach -- true`.
# Both run the same root filesystem (busybox-static, busybox's init, one inittab) with no network.
# Interleaved, RUNS (20) rounds after one warm-up, each tool's figures taken once the other's monitor
# has finished its cleanup; medians and the ratios hull/LXC (target <= 0.5).
# hull runs its default (unprivileged: a user namespace of its own) and --privileged, as LXC does
# as root without an idmap; the ratio uses --privileged, like for like. Then the idle memory a
# system container costs beyond its own processes: the proportional set size (PSS) of hull's
# processes that stay with it (hull-monitor, hull-procfs), target under 1 MiB.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=$(realpath "${1:-$repo/build/src/cli/hull}")
runs=${RUNS:-20}

die() { echo "bench/system.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
if ! command -v lxc-start >/dev/null || ! command -v busybox >/dev/null; then
	apt-get install -y -qq --no-install-recommends lxc busybox-static >/dev/null || die "cannot install lxc"
fi

tmp=$(mktemp -d /tmp/hull-bench-system.XXXXXX)
chmod 711 "$tmp" # passable, as /var/lib is: hull's containers have uid ranges of their own
# hull's layout on a standard host: state under --root on disk, runtime state under --runroot on a
# tmpfs (the default /run/hull; /run is a tmpfs on Debian, though not on every VM image).
H=("$hull" --root "$tmp/hull" --runroot "$tmp/run/hull")
L=(-P "$tmp/lxc")
cleanup() {
	lxc-stop -k -n bench "${L[@]}" >/dev/null 2>&1 || true
	"${H[@]}" rm -f $("${H[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	grep -F "$tmp" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/run"
mount -t tmpfs -o mode=0711 hull-bench "$tmp/run"

# One root filesystem: busybox, its init as /sbin/init, an inittab with one long-lived process.
sh "$repo/tests/lib/busybox-rootfs.sh" "$tmp/rootfs" >/dev/null
ln -sf /bin/busybox "$tmp/rootfs/sbin/init"
printf '::sysinit:/bin/hostname -F /etc/hostname\n::respawn:/bin/sleep 1000000\n' >"$tmp/rootfs/etc/inittab"
: >"$tmp/rootfs/etc/hostname"
python3 "$repo/tests/integration/lib/mkimage.py" --out "$tmp/oci" --tag 1 --layer "$tmp/rootfs" >/dev/null
"${H[@]}" image import "$tmp/oci" sys:1 >/dev/null

mkdir -p "$tmp/lxc/bench"
cat >"$tmp/lxc/bench/config" <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.uts.name = bench
lxc.rootfs.path = dir:$tmp/rootfs
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
lxc.init.cmd = /sbin/init
lxc.tty.max = 4
EOF

# Readings of bash's own clock, taken without a subshell or a `date` process (either would add its
# start-up to every figure, hull's and LXC's alike); us T0 T1: the microseconds between two.
us() { echo $(( ${2/./} - ${1/./} )); }
lxc_round() {
	local t0 t1
	t0=$EPOCHREALTIME; lxc-start -n bench "${L[@]}"; lxc-wait -n bench "${L[@]}" -s RUNNING; t1=$EPOCHREALTIME
	ls_+=($(us "$t0" "$t1"))
	t0=$EPOCHREALTIME; lxc-attach -n bench "${L[@]}" -- true; t1=$EPOCHREALTIME
	la+=($(us "$t0" "$t1"))
	lxc-stop -k -n bench "${L[@]}"
	settle
}
# Waits until what either tool left working after its stop is done: LXC's monitor goes on cleaning up
# for some 10 ms after lxc-stop returns, and would otherwise be timed as part of hull's next launch
# (hull-monitor is gone by the time rm returns, but is waited for all the same).
settle() {
	local i
	for i in $(seq 1000); do
		pgrep -f "lxc monitor\] $tmp/lxc|hull-monitor $tmp/hull" >/dev/null || return 0
		sleep 0.002
	done
	die "a monitor of the last round did not end"
}
# hull_round NAME [FLAGS...]: launch, exec, remove; the times go to the arrays named by prefix.
hull_round() {
	local t0 t1 t2 name=$1 p=$2
	shift 2
	t0=$EPOCHREALTIME; "${H[@]}" launch sys:1 "$name" --network none "$@" >/dev/null; t1=$EPOCHREALTIME
	"${H[@]}" exec "$name" true; t2=$EPOCHREALTIME
	eval "${p}s+=($(us "$t0" "$t1")) ${p}a+=($(us "$t1" "$t2"))"
	"${H[@]}" rm -f "$name" >/dev/null
	settle
}

ls_=() la=() hps=() hpa=() hus=() hua=()
lxc_round; hull_round warm hp --privileged; hull_round warm hu
ls_=() la=() hps=() hpa=() hus=() hua=()
for i in $(seq "$runs"); do
	lxc_round
	hull_round "p$i" hp --privileged
	hull_round "u$i" hu
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { printf '%7.2f' "$(echo "$1 / 1000" | bc -l)"; }
m_ls=$(median "${ls_[@]}") m_la=$(median "${la[@]}")
m_hps=$(median "${hps[@]}") m_hpa=$(median "${hpa[@]}")
m_hus=$(median "${hus[@]}") m_hua=$(median "${hua[@]}")
echo "median over $runs runs           start_ms  attach_ms"
echo "lxc-start+wait / lxc-attach     $(ms "$m_ls")    $(ms "$m_la")"
echo "hull launch --privileged / exec $(ms "$m_hps")    $(ms "$m_hpa")"
echo "hull launch (userns) / exec     $(ms "$m_hus")    $(ms "$m_hua")"
printf 'ratio hull/lxc start:  %.3f (target <= 0.5)\n' "$(echo "$m_hps / $m_ls" | bc -l)"
printf 'ratio hull/lxc attach: %.3f (target <= 0.5)\n' "$(echo "$m_hpa / $m_la" | bc -l)"

# Idle cost: the PSS of what hull keeps beside an idle system container.
# With a memory limit, so that hull-procfs (which serves the /proc view of a limited container) is
# counted too: the most hull keeps beside one.
"${H[@]}" launch sys:1 idle --network none --memory 256m >/dev/null
sleep 1
cost=0
mon=$(pgrep -f "hull-monitor $tmp/hull" | head -n1)
[[ -n $mon ]] || die "no hull-monitor for the idle container"
for pid in "$mon" $(pgrep -P "$mon" -x hull-procfs || true); do
	kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
	printf 'idle: %s (pid %s) PSS %s kB\n' "$(cat "/proc/$pid/comm")" "$pid" "$kb"
	cost=$((cost + kb))
done
printf 'idle memory beyond the container'"'"'s processes: %s kB (target < 1024)\n' "$cost"
