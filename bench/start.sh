#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# start.sh [HULL_BINARY]: cold start-to-exit of /bin/true in a busybox bundle, `hull oci run` against
# crun and runc, interleaved, RUNS (50) measured runs each after WARMUP (3) warm-ups. Prints median,
# p10, p90 and peak RSS per runtime, then the ratios hull/runc and hull/crun (medians).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=${1:-./build/src/cli/hull}
runs=${RUNS:-50}
warmup=${WARMUP:-3}

die() { echo "bench/start.sh: $*" >&2; exit 1; }

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$runs'"
[[ $warmup =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, not '$warmup'"
[[ $(id -u) == 0 ]] || die "must run as root (containers need namespaces and cgroups)"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
hull=$(realpath "$hull")
for tool in crun runc; do
	command -v "$tool" >/dev/null || die "$tool is not installed: apt-get install -y $tool"
done
command -v cc >/dev/null || die "cc is not installed: apt-get install -y gcc"
command -v busybox >/dev/null || die "busybox is not installed: apt-get install -y busybox-static"

# crun 1.8 refuses hybrid cgroup hosts (v1 controllers plus a cgroup2 tree at /sys/fs/cgroup/unified)
# but runs when that tree is not mounted. So the whole measurement re-executes itself once in a
# private mount namespace and unmounts it there: the host keeps its mounts, and all three runtimes
# see the same, v1-only, cgroup layout.
if [[ -z ${HULL_BENCH_IN_NS:-} ]]; then
	command -v unshare >/dev/null || die "unshare is not installed: apt-get install -y util-linux"
	exec unshare --mount --propagation private env HULL_BENCH_IN_NS=1 "$BASH" "${BASH_SOURCE[0]}" "$hull"
fi
ns_note="measured in a private mount namespace"
if mountpoint -q /sys/fs/cgroup/unified; then
	umount /sys/fs/cgroup/unified || die "cannot unmount /sys/fs/cgroup/unified in the private namespace"
	ns_note+=" with /sys/fs/cgroup/unified unmounted (hybrid host: cgroup v1 controllers only,"
	ns_note+=" so crun runs); the same for all three runtimes"
else
	ns_note+=" (no hybrid cgroup2 tree to hide); the same for all three runtimes"
fi

tmp=$(mktemp -d /tmp/hull-bench.XXXXXX)
order=(hull crun runc)
# rt_argv RUNTIME: sets argv to the runtime's command up to its subcommand. Each runtime keeps its
# state in its own root under $tmp, so a container left by a failed run is found there and a crash
# never touches the host's /run/runc or /run/crun.
rt_argv() {
	case $1 in
	hull) argv=("$hull" oci --root "$tmp/root-hull") ;;
	*) argv=("$(command -v "$1")" --root "$tmp/root-$1") ;;
	esac
}

cleanup() {
	local rt d argv
	for rt in "${order[@]}"; do
		# A container's state lives in ROOT/ID for all three, so the directory names the leftovers
		# even if the runtime's own `list` is broken.
		for d in "$tmp/root-$rt"/*/; do
			[[ -d $d ]] || continue
			rt_argv "$rt"
			"${argv[@]}" delete -f "$(basename "$d")" >/dev/null 2>&1 || true
		done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A tiny C timer: fork/exec in the measured process costs one fork, not a `date` per sample, and
# wait4 hands back the child's rusage. ru_maxrss there is the largest resident set of the waited
# process or of any descendant it reaped (the kernel keeps a max, not a sum), in KiB.
cat >"$tmp/timer.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* timer LOG CMD ARG...: runs CMD with stdout and stderr to LOG, prints "ns maxrss_kib status" */
int main(int argc, char **argv) {
	struct timespec t0, t1;
	struct rusage ru;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: timer LOG CMD [ARG...]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %ld %d\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec), ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
EOF
cc -O2 -o "$tmp/timer" "$tmp/timer.c" || die "cannot compile the timing helper"

# One bundle for all three: `runc spec` with no terminal and /bin/true as the process.
bundle=$tmp/bundle
mkdir -p "$bundle"
sh "$repo/tests/lib/busybox-rootfs.sh" "$bundle/rootfs"
(cd "$bundle" && runc spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t*\)"sh"$/\1"\/bin\/true"/' "$bundle/config.json"
if ! grep -q '"terminal": false' "$bundle/config.json" || ! grep -q '"/bin/true"' "$bundle/config.json"; then
	die "could not rewrite the config from 'runc spec' (terminal false, args /bin/true)"
fi
mkdir -p "$tmp/root-hull" "$tmp/root-crun" "$tmp/root-runc"

# run_one RUNTIME LABEL: one `run` with a fresh id; appends "ns rss" to $tmp/RUNTIME.samples
# unless LABEL is "warmup"; a failed run stops the benchmark with the runtime's output.
seq_no=0
run_one() {
	local rt=$1 label=$2 id ns rss rc log argv
	seq_no=$((seq_no + 1))
	id="bench-$rt-$seq_no"
	log=$tmp/$rt.log
	rt_argv "$rt"
	read -r ns rss rc < <("$tmp/timer" "$log" "${argv[@]}" run --bundle "$bundle" "$id") ||
		die "the timing helper failed on $rt"
	if [[ $rc != 0 ]]; then
		echo "bench/start.sh: $rt failed ($label run, container '$id', exit status $rc):" >&2
		sed 's/^/  /' "$log" >&2
		exit 1
	fi
	# `run` deletes the container when it exits; this catches a runtime that leaves one behind
	# (and keeps the next run from paying for it).
	if [[ -e $tmp/root-$rt/$id ]]; then
		"${argv[@]}" delete -f "$id" >/dev/null 2>&1 || true
	fi
	[[ $label == warmup ]] || echo "$ns $rss" >>"$tmp/$rt.samples"
}

echo "bench/start.sh: cold start-to-exit of /bin/true in a busybox bundle ('run', fresh id each time)"
echo "  $runs measured runs per runtime, interleaved hull, crun, runc, after $warmup warm-up rounds"
echo "  $ns_note"
echo "  hull: $hull oci; crun: $(command -v crun) ($(crun --version | head -1));" \
	"runc: $(command -v runc) ($(runc --version | head -1))"

for ((i = 0; i < warmup; i++)); do
	for rt in "${order[@]}"; do run_one "$rt" warmup; done
done
for ((i = 0; i < runs; i++)); do
	for rt in "${order[@]}"; do run_one "$rt" "$((i + 1))"; done
done

# stats FILE: "median p10 p90 peak_rss" — times in ms; median of an even count is the mean of the two
# middle samples; p10/p90 are nearest-rank; peak RSS is the max over runs.
stats() {
	sort -n "$1" | awk '
		{ t[NR] = $1 / 1e6; if ($2 > rss) rss = $2 }
		function rank(p,  k) { k = int(p * NR + 0.999999); if (k < 1) k = 1; return t[k] }
		END {
			med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%.2f %.2f %.2f %d\n", med, rank(0.10), rank(0.90), rss
		}'
}

declare -A median
echo
printf '%-6s %10s %8s %8s %14s\n' runtime median_ms p10_ms p90_ms peak_rss_kib
for rt in "${order[@]}"; do
	read -r med p10 p90 rss < <(stats "$tmp/$rt.samples")
	median[$rt]=$med
	printf '%-6s %10s %8s %8s %14s\n' "$rt" "$med" "$p10" "$p90" "$rss"
done
echo
echo "peak_rss_kib: max over runs of wait4's ru_maxrss for the runtime command: the largest resident"
echo "  set of that process or any descendant it reaped (a max, not a sum). For runc that includes"
echo "  'runc init', the re-executed runc that becomes the container; crun and hull fork the container."
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratio hull/runc: $(ratio "${median[hull]}" "${median[runc]}")"
echo "ratio hull/crun: $(ratio "${median[hull]}" "${median[crun]}")"
