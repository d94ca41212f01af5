#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# setup.sh: installs the dependencies, builds hull, then shows its main job on a local image: builds
# a busybox image with `hull build` (no registry needed), runs a container from it in the
# foreground and one detached on the default network, reads the detached one's logs, and removes
# everything again.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

hull=$PWD/build/src/cli/hull
demo=$(mktemp -d /tmp/hull-demo.XXXXXX)
h() { "$hull" --root "$demo/state" "$@"; }
cleanup() {
	h rm -f demo-web >/dev/null 2>&1 || true
	# The default network (bridge hull0 and its nftables rules) goes with the demo's state.
	h network rm bridge >/dev/null 2>&1 || true
	rm -rf "$demo"
}
trap cleanup EXIT

mkdir "$demo/ctx"
cp "$(command -v busybox)" "$demo/ctx/busybox"
cat >"$demo/ctx/Containerfile" <<'CF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV GREETING=hello
CMD ["sh", "-c", "echo \"$GREETING from $(hostname), pid $$ in its own namespaces; $(uname -sr)\""]
CF
echo "== hull build -t demo:1"
h build -q -t demo:1 "$demo/ctx"
h images
echo "== hull run --rm demo:1"
h run --rm demo:1
echo "== hull run -d, logs, stop"
h run -d --name demo-web --memory 64m demo:1 sh -c 'echo serving; trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
sleep 0.3
h ps
echo "demo-web's address on the default network: $(h inspect demo-web | sed -n 's/.*"address": "\([0-9.]*\)".*/\1/p')"
h logs demo-web
h stop demo-web
h rm demo-web >/dev/null
echo "== hull run --rm --vm demo:1 (the same image in a VM, on its own kernel)"
h run --rm --vm demo:1
echo "== hull run -d --vm, exec, stop"
h run -d --vm --name demo-vm demo:1 sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null
h exec demo-vm sh -c 'echo "in the VM: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, address $(ip -4 -o addr show eth0 | awk "{print \$4}")"'
h stop demo-vm >/dev/null
h rm demo-vm >/dev/null
