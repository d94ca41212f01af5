#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# setup.sh: installs the dependencies, builds hull, and runs a demo container from a busybox
# bundle through hull's OCI runtime.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$(mktemp -d /tmp/hull-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
sh tests/lib/busybox-rootfs.sh "$demo/rootfs"
hull=$PWD/build/src/cli/hull
(cd "$demo" && "$hull" oci spec)
jq '.process.terminal = false | .process.args = ["sh", "-c", "echo \"hello from $(hostname), pid $$ in its own namespace\"; uname -sr"]' \
	"$demo/config.json" > "$demo/config.json.new" && mv "$demo/config.json.new" "$demo/config.json"
"$hull" oci --root "$demo/state" run --bundle "$demo" demo
