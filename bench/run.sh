#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh [HULL_BINARY]: `hull run --rm IMAGE true` against `podman run --rm IMAGE true`, both with
# --network none, on the same busybox image pulled from a local docker-registry; interleaved, RUNS
# (20) runs each after one warm-up. Prints medians and the ratio hull/podman, then the peak RSS
# of a detached container's monitor process.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=$(realpath "${1:-$repo/build/src/cli/hull}")
runs=${RUNS:-20}

die() { echo "bench/run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
for p in podman skopeo docker-registry busybox; do
	command -v "$p" >/dev/null || missing="${missing:-} $p"
done
if [[ -n ${missing:-} ]]; then
	apt-get install -y -qq --no-install-recommends podman skopeo docker-registry busybox-static >/dev/null ||
		die "cannot install:$missing"
fi

# podman's crun 1.8 refuses hybrid cgroup hosts (v1 controllers plus a cgroup2 tree at
# /sys/fs/cgroup/unified) but runs when that tree is not mounted: the whole measurement re-executes
# itself once in a private mount namespace and unmounts it there, the same for both tools.
if [[ -z ${HULL_BENCH_IN_NS:-} ]]; then
	exec unshare --mount --propagation private env HULL_BENCH_IN_NS=1 "$BASH" "${BASH_SOURCE[0]}" "$hull"
fi
if mountpoint -q /sys/fs/cgroup/unified; then
	umount /sys/fs/cgroup/unified || die "cannot unmount /sys/fs/cgroup/unified in the private namespace"
	echo "measured in a private mount namespace without /sys/fs/cgroup/unified (hybrid host), for both tools"
fi

tmp=$(mktemp -d /tmp/hull-bench-run.XXXXXX)
reg_pid=
cleanup() {
	"$hull" --root "$tmp/hull" rm -f $("$hull" --root "$tmp/hull" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" system reset -f >/dev/null 2>&1 || true
	[[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null
	grep -F "$tmp" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# A busybox image in a registry of our own, pulled by both tools.
sh "$repo/tests/lib/busybox-rootfs.sh" "$tmp/rootfs" >/dev/null
python3 "$repo/tests/integration/lib/mkimage.py" --out "$tmp/oci" --tag 1 --layer "$tmp/rootfs" --cmd '["sh"]' >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/registry"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$tmp/registry/data" "$port" >"$tmp/registry/config.yml"
docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry/log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.05; done
ref=127.0.0.1:$port/busybox:1
skopeo copy -q --dest-tls-verify=false "oci:$tmp/oci:1" "docker://$ref"

H=("$hull" --root "$tmp/hull")
P=(podman --root "$tmp/podman/root" --runroot "$tmp/podman/run")
"${H[@]}" pull -q "$ref" >/dev/null
"${P[@]}" pull -q --tls-verify=false "$ref" >/dev/null
# This sandbox cannot raise rlimits (no CAP_SYS_RESOURCE): podman needs them at the current hard limits.
P_RUN=(run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$ref" true)
"${H[@]}" run --rm --network none "$ref" true
"${P[@]}" "${P_RUN[@]}"

now() { date +%s%N; }
ht=() pt=()
for _ in $(seq "$runs"); do
	t0=$(now); "${H[@]}" run --rm --network none "$ref" true; ht+=($(( ($(now) - t0) / 1000 )))
	t0=$(now); "${P[@]}" "${P_RUN[@]}"; pt+=($(( ($(now) - t0) / 1000 )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hm=$(median "${ht[@]}") pm=$(median "${pt[@]}")
printf 'hull run --rm:   median %7.1f ms\n' "$(echo "$hm / 1000" | bc -l)"
printf 'podman run --rm: median %7.1f ms\n' "$(echo "$pm / 1000" | bc -l)"
printf 'ratio hull/podman: %.3f (target <= 0.15)\n' "$(echo "$hm / $pm" | bc -l)"

# The monitor of a detached container.
"${H[@]}" run -d --name idle --network none "$ref" sh -c 'while :; do echo tick; sleep 0.1; done' >/dev/null
sleep 1
mon=$(pgrep -f "hull-monitor $tmp/hull" | head -n1)
printf 'monitor peak RSS (VmHWM): %s kB (target < 1024)\n' "$(awk '/VmHWM/ {print $2}' "/proc/$mon/status")"
