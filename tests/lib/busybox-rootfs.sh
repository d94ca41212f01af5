#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# busybox-rootfs.sh DIR: makes a minimal root filesystem in DIR from Debian's busybox-static:
# /bin/busybox with a link for every applet it has, and the directories a container expects.
set -eu
dir=${1:?usage: busybox-rootfs.sh DIR}
bb=$(command -v busybox || echo /bin/busybox)
[ -x "$bb" ] || { echo "busybox-rootfs.sh: busybox-static is not installed" >&2; exit 1; }
mkdir -p "$dir/bin" "$dir/sbin" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" \
	"$dir/usr/bin" "$dir/usr/sbin" "$dir/var"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
	[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
