#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cgroup2.sh HULL: hull's cgroup v2 paths on a real pure-v2 hierarchy. This host is hybrid, so
# boot Debian's cloud kernel under QEMU (TCG) with cgroup v1 off and cgroup2 mounted with
# nsdelegate, as systemd mounts it, run tests/vm/cgroup2-checks.sh there, and print its
# CHECK lines as TAP. Skips, by name, where qemu or the kernel is missing.
set -euo pipefail
hull=$(readlink -f "${1:?usage: cgroup2.sh HULL_BINARY}")
src=$(cd "$(dirname "$0")/../.." && pwd)
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$kernel" ] || ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
	echo "1..1"
	echo "ok 1 cgroup v2 guest # SKIP needs qemu-system-x86, linux-image-cloud-amd64 and cpio"
	exit 0
fi
work=$(mktemp -d /tmp/hull-v2vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/initrd
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,run,newroot,b}

# The guest: busybox, hull and jq with the libraries they load, a container rootfs, bundles.
cp "$(command -v busybox)" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
cp "$hull" "$root/bin/hull"
cp "$(command -v jq)" "$root/bin/jq"
for f in $( (ldd "$hull"; ldd "$(command -v jq)") | awk '/=>/ {print $3} /^[ \t]*\/lib64\// {print $1}' | sort -u); do
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
done
sh "$src/tests/lib/busybox-rootfs.sh" "$root/rootfs" >/dev/null
(cd "$work" && "$hull" oci spec)
base=$(jq '.process.terminal = false | .root.path = "/rootfs" | .process.args = ["/bin/true"]' "$work/config.json")
bundle() { mkdir -p "$root/b/$1"; echo "$base" | jq "$2" >"$root/b/$1/config.json"; }
bundle main '.process.args = ["sleep", "1000"] | .linux.resources.memory = {"limit": 67108864}
	| .linux.resources.cpu = {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}
	| .linux.resources.pids = {"limit": 10}'
bundle oom '.process.args = ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr \"\\0\" a); echo survived"]
	| .linux.resources.memory = {"limit": 67108864}'
bundle pids '.process.args = ["sh", "-c", "i=0; while [ $i -lt 30 ]; do sleep 10 & i=$((i + 1)); done; echo all-forked"]
	| .linux.resources.pids = {"limit": 10}'
bundle dev '.process.args = ["sh", "-c", "head -c1 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; ls -l /dev/kmsg; cat /dev/kmsg | head -1"]
	| .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]'
bundle swap '.process.args = ["sleep", "1000"] | .linux.resources.memory = {"limit": 67108864, "swap": 134217728}'
bundle plain '.process.args = ["sleep", "1000"]'
cp "$src/tests/vm/cgroup2-checks.sh" "$root/checks"
# pivot_root cannot leave the initramfs, which the container tests need: copy into a tmpfs first.
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t tmpfs -o size=700m tmpfs /newroot
for d in bin usr lib lib64 etc rootfs b checks; do [ -e /$d ] && /bin/busybox cp -a /$d /newroot/; done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
/bin/busybox umount /proc
exec /bin/busybox switch_root /newroot /bin/sh /checks
INIT
chmod +x "$root/init" "$root/checks"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 panic=-1" \
	-nographic -no-reboot -monitor none -nic none </dev/null >"$work/console.log" 2>&1 || true
tr -d '\r' <"$work/console.log" >"$work/console.txt"

n=$(grep -c '^CHECK ' "$work/console.txt" || true)
if [ "$n" -eq 0 ] || ! grep -q '^DONE' "$work/console.txt"; then
	echo "1..1"
	echo "not ok 1 cgroup v2 guest: the checks did not run to the end"
	tail -n 30 "$work/console.txt" | sed 's/^/# /'
	exit 1
fi
grep '^INFO ' "$work/console.txt" | sed 's/^/# /'
echo "1..$n"
i=0 failed=0
while IFS= read -r line; do
	i=$((i + 1))
	name=${line#CHECK }
	case "$line" in
	*": PASS"*) echo "ok $i - cgroup2 ${name%%: PASS*}" ;;
	*) echo "not ok $i - cgroup2 $name"; failed=$((failed + 1)) ;;
	esac
done < <(grep '^CHECK ' "$work/console.txt")
[ "$failed" -eq 0 ]
