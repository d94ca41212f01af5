#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-bats.sh BATS_ARGS...: runs bats in a network namespace of its own, with only lo (up), so that
# the tests' registries, hull's default bridge and its nftables table never touch the host's
# network. The networking tests make a further namespace per test inside this one.
set -e
if [ "$(id -u)" != 0 ]; then
	exec bats "$@"
fi
# What the tests need from Debian's mirror is fetched before the namespace cuts it off (once: cached).
here=$(dirname "$0")
sh "$here/../lib/bookworm-systemd.sh" || echo "run-bats.sh: no bookworm image; the systemd test will be skipped" >&2
exec unshare --net -- sh -c 'ip link set lo up && exec bats "$@"' sh "$@"
