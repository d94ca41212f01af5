#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd.bats: a Debian bookworm system container whose init is systemd (debootstrap --variant=minbase
# --include=systemd-sysv,dbus by tests/lib/bookworm-systemd.sh, cached as a tarball in /var/cache/hull-test
# so later runs reuse it), imported and launched: it reaches running (or degraded) within 20 s with
# journald active, manages its services in its delegated cgroup, and `hull stop` halts it cleanly.

bats_require_minimum_version 1.5.0
load instance-helpers
load lib

CACHE_DIR=/var/cache/hull-test
CACHE=$CACHE_DIR/bookworm-systemd.tar

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	# Made by tests/lib/bookworm-systemd.sh, which run-bats.sh runs outside the network namespace.
	[ -s "$CACHE" ] || return 0
	python3 "$HULL_SRC/tests/integration/lib/mkimage.py" --out "$BATS_FILE_TMPDIR/bookworm" --tag 12 \
		--layer-tar "$CACHE" --compress none >/dev/null
}

setup() {
	[ -s "$CACHE" ] || skip "no bookworm tarball: tests/lib/bookworm-systemd.sh could not debootstrap it"
	setup_root
	h image import "$BATS_FILE_TMPDIR/bookworm" bookworm:12 >/dev/null
}

teardown() {
	teardown_root
}

# system_state NAME: what `systemctl is-system-running` says inside (its exit status aside).
system_state() {
	h exec "$1" systemctl is-system-running 2>/dev/null || true
}

@test "systemd boots to running within 20 s with journald, and stop halts it cleanly" {
	h launch bookworm:12 deb --network none
	local id state="" i
	id=$(h inspect deb | jq -r 'if type == "array" then .[0].id else .id end')
	run h exec deb cat /proc/1/comm
	[ "$output" = systemd ]
	for i in $(seq 40); do
		state=$(system_state deb)
		case $state in
		running | degraded) break ;;
		esac
		sleep 0.5
	done
	echo "state: $state"
	[[ "$state" == running || "$state" == degraded ]]
	run h exec deb systemctl is-active systemd-journald
	[ "$output" = active ]
	# systemd runs in unified mode in the delegated subtree: its own slices show on the host
	run h exec deb stat -f -c %T /sys/fs/cgroup
	[ "$output" = cgroup2fs ]
	if [ -d /sys/fs/cgroup/unified ]; then
		[ -d "/sys/fs/cgroup/unified/hull/$id/init.scope" ]
	else
		[ -d "/sys/fs/cgroup/hull/$id/init.scope" ]
	fi
	run h exec deb hostname
	[ "$output" = deb ]
	# SIGRTMIN+3: systemd halts and exits by itself (status 0), long before the 10 s timeout
	local start=$SECONDS
	run h stop deb
	[ "$status" -eq 0 ]
	[ $((SECONDS - start)) -lt 9 ]
	[ "$(h ps -a --format json | jq -r '.[0].exit_code')" = 0 ]
	run h logs deb
	[[ "$output" == *"Exiting container."* ]]
	no_cgroup_of "$id"
	no_process_of "$id"
	! pgrep -f "hull-monitor $HROOT"
}
