#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bookworm-systemd.sh [TARBALL]: makes, once, the root filesystem tarball of a Debian bookworm whose init
# is systemd (debootstrap --variant=minbase --include=systemd-sysv,dbus, from the mirror apt uses),
# for the systemd system container test. Default TARBALL: /var/cache/hull-test/bookworm-systemd.tar.
# Run outside the tests' network namespace (run-bats.sh does), since it needs the mirror. A failure
# leaves no tarball, and the test then skips by name.
set -eu
tar_path=${1:-/var/cache/hull-test/bookworm-systemd.tar}
[ -s "$tar_path" ] && exit 0
command -v debootstrap >/dev/null || { echo "bookworm-systemd.sh: debootstrap is not installed" >&2; exit 1; }
dir=$(dirname "$tar_path")
mkdir -p "$dir"
work=$(mktemp -d "$dir/bookworm.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The mirror of apt's own sources, else Debian's default.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
if ! debootstrap --variant=minbase --include=systemd-sysv,dbus bookworm "$work/rootfs" "$mirror" \
	>"$work/log" 2>&1; then
	tail -5 "$work/log" >&2
	echo "bookworm-systemd.sh: debootstrap of bookworm from $mirror failed" >&2
	exit 1
fi
tar --numeric-owner -C "$work/rootfs" -cf "$tar_path.tmp.$$" .
mv "$tar_path.tmp.$$" "$tar_path"
