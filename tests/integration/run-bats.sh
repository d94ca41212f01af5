#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-bats.sh BATS_ARGS...: runs bats in a network namespace of its own, with only lo (up), so that
# the tests' registries, hull's default bridge and its nftables table never touch the host's
# network. The networking tests make a further namespace per test inside this one.
set -e
if [ "$(id -u)" != 0 ]; then
	exec bats "$@"
fi
exec unshare --net -- sh -c 'ip link set lo up && exec bats "$@"' sh "$@"
