#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# net.sh [HULL_BINARY]: what networking costs. In a network namespace of its own (ip netns add):
#   1. start time: `hull run --rm IMAGE true` on the default bridge against --network none,
#      interleaved, RUNS (20) runs each after a warm-up; the difference of the medians is the
#      overhead of the veth, address and route (target under 5 ms);
#   2. TCP throughput (iperf3 from Debian, SECONDS (5) s, 3 runs, median) from a container to the
#      host end of its bridge, against iperf3 over the namespace's loopback; ratio printed (target
#      at least 0.8).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=$(realpath "${1:-$repo/build/src/cli/hull}")
runs=${RUNS:-20}
secs=${SECONDS_PER_RUN:-5}

die() { echo "bench/net.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
for p in iperf3 busybox nft; do
	command -v "$p" >/dev/null || missing="${missing:-} $p"
done
if [[ -n ${missing:-} ]]; then
	apt-get install -y -qq --no-install-recommends iperf3 busybox-static nftables >/dev/null ||
		die "cannot install:$missing"
fi

tmp=$(mktemp -d /tmp/hull-bench-net.XXXXXX)
ns=hullbench-$$
srv=
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null
	H rm -f $(H ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	grep -F "$tmp" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$tmp"
}
H() { nsenter --net="/run/netns/$ns" "$hull" --root "$tmp/hull" "$@"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

# The image: busybox, plus iperf3 and the libraries it loads, at the paths the host has them.
sh "$repo/tests/lib/busybox-rootfs.sh" "$tmp/rootfs" >/dev/null
iperf=$(command -v iperf3)
for f in "$iperf" $(ldd "$iperf" | grep -o '/[^ ]*'); do
	mkdir -p "$tmp/rootfs$(dirname "$f")"
	cp -L "$f" "$tmp/rootfs$f"
done
python3 "$repo/tests/integration/lib/mkimage.py" --out "$tmp/oci" --tag 1 --layer "$tmp/rootfs" --cmd '["sh"]' >/dev/null

H image import "$tmp/oci" bench/net:1 >/dev/null
img=bench/net:1
H run --rm --network none "$img" true
H run --rm "$img" true

now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bt=() nt=()
for _ in $(seq "$runs"); do
	t0=$(now); H run --rm "$img" true; bt+=($(( ($(now) - t0) / 1000 )))
	t0=$(now); H run --rm --network none "$img" true; nt+=($(( ($(now) - t0) / 1000 )))
done
bm=$(median "${bt[@]}") nm=$(median "${nt[@]}")
printf 'run --rm, --network none: median %7.2f ms\n' "$(echo "$nm / 1000" | bc -l)"
printf 'run --rm, default bridge: median %7.2f ms\n' "$(echo "$bm / 1000" | bc -l)"
printf 'networking start overhead: %.2f ms (target < 5)\n' "$(echo "($bm - $nm) / 1000" | bc -l)"

# Throughput. The server runs in the bench's namespace (the host side of the bridge).
ip netns exec "$ns" iperf3 -s -B 0.0.0.0 -p 5201 >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' 2>/dev/null && break; sleep 0.1; done
gw=$(H network ls --format json | python3 -c 'import json,sys; print([n["gateway"] for n in json.load(sys.stdin) if n["name"]=="bridge"][0])')
bps() { python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'; }
lo=() br=()
for _ in 1 2 3; do
	lo+=($(ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5201 -t "$secs" -J | bps))
	br+=($(H run --rm "$img" iperf3 -c "$gw" -p 5201 -t "$secs" -J | bps))
done
lm=$(median "${lo[@]}") bmt=$(median "${br[@]}")
printf 'iperf3 over loopback:           %6.2f Gbit/s (runs: %s)\n' "$(echo "$lm / 1000000000" | bc -l)" "${lo[*]}"
printf 'iperf3 container -> host bridge: %6.2f Gbit/s (runs: %s)\n' "$(echo "$bmt / 1000000000" | bc -l)" "${br[*]}"
printf 'throughput ratio bridge/loopback: %.3f (target >= 0.8)\n' "$(echo "$bmt / $lm" | bc -l)"
