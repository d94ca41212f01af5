#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# deps.sh: installs what hull needs to build and test from Debian 12's packages. Idempotent:
# packages already present are not fetched again, and apt's lists are refreshed only when stale.
set -eu
[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (apt-get)" >&2; exit 1; }

packages="meson ninja-build gcc pkg-config libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libssl-dev
libarchive-dev libzstd-dev libcurl4-openssl-dev libsqlite3-dev libmnl-dev libnftables-dev nftables iperf3
busybox-static bats jq python3 iproute2 procps util-linux crun runc
qemu-system-x86 qemu-utils e2fsprogs linux-image-cloud-amd64 cpio musl-tools
docker-registry skopeo apache2-utils zstd sqlite3 curl debootstrap"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists unless they are less than a day old.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
	apt-get update -qq
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
