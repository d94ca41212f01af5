#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pull.sh [HULL_BINARY]: pull and unpack of a multi-layer Debian image (debootstrap minbase packed
# into four gzip layers) from a local docker-registry on 127.0.0.1: `hull pull` against `podman
# pull` and `skopeo copy` + `umoci unpack`, interleaved, RUNS (3) runs each, every run into an empty
# store on a fresh ext4 file system of its own (a loop device), so no tool pays for the inodes the
# previous one freed (ext4 scans recently deleted inodes when allocating: on a busy root file
# system that alone doubles unpack times from run to run). Prints the median of each and the
# ratios hull/podman and hull/(skopeo+umoci).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
hull=$(realpath "${1:-$repo/build/src/cli/hull}")
runs=${RUNS:-3}
cache=${HULL_BENCH_CACHE:-/var/cache/hull-bench}

die() { echo "bench/pull.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $hull ]] || die "hull binary '$hull' is not executable (build it, or pass its path)"
for p in podman skopeo umoci docker-registry debootstrap python3; do
	command -v "$p" >/dev/null || missing="${missing:-} $p"
done
if [[ -n ${missing:-} ]]; then
	apt-get install -y -qq --no-install-recommends podman skopeo umoci docker-registry debootstrap python3 >/dev/null ||
		die "cannot install:$missing"
fi

# The image: debootstrap minbase once, cut into four layers (usr, var, etc+root files, the rest).
mkdir -p "$cache"
if [[ ! -d $cache/minbase ]]; then
	echo "making a Debian minbase with debootstrap (once, cached in $cache)" >&2
	debootstrap --variant=minbase bookworm "$cache/minbase.tmp" http://deb.debian.org/debian >/dev/null
	mv "$cache/minbase.tmp" "$cache/minbase"
fi
if [[ ! -f $cache/minbase-oci/index.json ]]; then
	rm -rf "$cache/split" "$cache/minbase-oci"
	mkdir -p "$cache/split/1" "$cache/split/2" "$cache/split/3" "$cache/split/4"
	cp -a "$cache/minbase/usr" "$cache/split/1/"
	cp -a "$cache/minbase/var" "$cache/split/2/"
	cp -a "$cache/minbase/etc" "$cache/split/3/"
	for e in "$cache"/minbase/*; do
		case ${e##*/} in usr | var | etc) ;; *) cp -a "$e" "$cache/split/4/" ;; esac
	done
	python3 "$repo/tests/integration/lib/mkimage.py" --out "$cache/minbase-oci" --tag 12 \
		--layer "$cache/split/1" --layer "$cache/split/2" --layer "$cache/split/3" --layer "$cache/split/4" \
		--cmd '["bash"]' >/dev/null
	rm -rf "$cache/split"
fi

tmp=$(mktemp -d /tmp/hull-bench-pull.XXXXXX)
reg_pid=
cleanup() {
	[[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null
	grep -F "$tmp" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/registry"
cat >"$tmp/registry/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $tmp/registry/data
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry/log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.05; done
ref=127.0.0.1:$port/debian:12
skopeo copy -q --dest-tls-verify=false "oci:$cache/minbase-oci:12" "docker://$ref"
size=$(du -sb "$cache/minbase-oci/blobs" | cut -f1)
echo "image: $ref, 4 gzip layers, $((size / 1000000)) MB of blobs"

# fresh_fs NAME: a new, empty ext4 file system mounted at $tmp/NAME (falls back to a plain
# directory where loop devices are not available).
fresh_fs() {
	mkdir -p "$tmp/$1"
	truncate -s 4G "$tmp/$1.img"
	if mkfs.ext4 -q "$tmp/$1.img" && mount -o loop "$tmp/$1.img" "$tmp/$1" 2>/dev/null; then
		return 0
	fi
	echo "bench/pull.sh: no loop device: measuring on $(df --output=source "$tmp" | tail -1)" >&2
}
drop_fs() {
	umount "$tmp/$1" 2>/dev/null || true
	rm -rf "${tmp:?}/$1" "$tmp/$1.img"
}

now() { date +%s.%N; }
declare -A times
for i in $(seq "$runs"); do
	fresh_fs hull
	sync
	t0=$(now)
	"$hull" --root "$tmp/hull/root" pull -q "$ref" >/dev/null
	times[hull]+="$(echo "$(now) - $t0" | bc) "
	drop_fs hull

	fresh_fs podman
	sync
	t0=$(now)
	podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" pull -q --tls-verify=false "$ref" >/dev/null
	times[podman]+="$(echo "$(now) - $t0" | bc) "
	podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" system reset -f >/dev/null 2>&1 || true
	drop_fs podman

	fresh_fs skopeo
	sync
	t0=$(now)
	skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$tmp/skopeo/oci:12"
	umoci unpack --image "$tmp/skopeo/oci:12" "$tmp/skopeo/bundle" >/dev/null
	times[skopeo+umoci]+="$(echo "$(now) - $t0" | bc) "
	drop_fs skopeo
done

median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for k in hull podman skopeo+umoci; do
	printf '%-14s median %6.2f s   (runs: %s)\n' "$k" "$(median "${times[$k]}")" "${times[$k]}"
done
h=$(median "${times[hull]}") p=$(median "${times[podman]}") s=$(median "${times[skopeo+umoci]}")
printf 'ratio hull/podman:       %.3f (target <= 0.5)\n' "$(echo "$h / $p" | bc -l)"
printf 'ratio hull/skopeo+umoci: %.3f\n' "$(echo "$h / $s" | bc -l)"
