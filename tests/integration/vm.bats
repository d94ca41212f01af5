#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm.bats: VMs from the same images as containers, under QEMU (TCG here, KVM where the host has a
# usable one): run and exec with their output and status, the lifecycle, the disk overlay, snapshots
# with memory state, live migration between two roots, networking, and refusals of bad input. Every
# test makes its own network namespace (ip netns add), runs hull inside it and sends traffic only there.

bats_require_minimum_version 1.5.0
load instance-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	make_image "$BATS_FILE_TMPDIR/busybox" 1 --cmd '["sh"]' >/dev/null
	make_image "$BATS_FILE_TMPDIR/nocmd" 1 >/dev/null
	# a system image: busybox's init as /sbin/init
	mkdir -p "$BATS_FILE_TMPDIR/initlayer/sbin"
	ln -s /bin/busybox "$BATS_FILE_TMPDIR/initlayer/sbin/init"
	make_image "$BATS_FILE_TMPDIR/system" 1 --layer "$BATS_FILE_TMPDIR/initlayer" >/dev/null
}

setup() {
	setup_root
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no guest kernel in /boot (linux-image-cloud-amd64)"
	NS=hullvm-$$-$BATS_TEST_NUMBER
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	h image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null
}

teardown() {
	local root=${HROOT:-}
	teardown_root
	[ -z "${HROOT2:-}" ] || { HROOT=$HROOT2 teardown_root || true; rm -rf "$HROOT2"; }
	# No QEMU of these roots may outlive the test, nor a tap in its namespace.
	if [ -n "$root" ] && pgrep -f "qemu-system.*$root" >/dev/null; then
		pkill -9 -f "qemu-system.*$root"
		echo "QEMU left behind" >&2
		ip netns del "$NS" 2>/dev/null || true
		return 1
	fi
	if [ -n "${NS:-}" ] && ip -n "$NS" -br link 2>/dev/null | grep -q '^th'; then
		ip -n "$NS" -br link >&2
		ip netns del "$NS"
		return 1
	fi
	[ -z "${NS:-}" ] || ip netns del "$NS" 2>/dev/null || true
}

h() {
	nsenter --net="/run/netns/$NS" "$HULL" --root "$HROOT" "$@"
}

h2() {
	nsenter --net="/run/netns/$NS" "$HULL" --root "$HROOT2" "$@"
}

# wait_log NAME PATTERN [SECONDS]: waits until NAME's log has a line matching PATTERN.
wait_log() {
	local i
	for i in $(seq 1 $((${3:-60} * 10))); do
		h logs "$1" 2>/dev/null | grep -q "$2" && return 0
		sleep 0.1
	done
	echo "no '$2' in the log of $1:" >&2
	h logs "$1" >&2
	return 1
}

# last_count NAME: the last number a counter VM printed.
last_count() {
	h logs "$1" | sed -n 's/^count //p' | tail -n 1
}

COUNTER='i=0; while true; do echo count $i; i=$((i+1)); sleep 0.2; done'

@test "vm: run gives the command's output and exit status, stdout and stderr apart" {
	run --separate-stderr h run --rm --vm bb:1 sh -c 'echo out; echo err >&2; uname -r; exit 3'
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = out ]
	[ "${lines[1]}" = "$(basename "$(ls /boot/vmlinuz-*cloud* | sort -V | tail -n1)" | sed 's/^vmlinuz-//')" ]
	[ "$stderr" = err ]
	# --rm: nothing of it is left
	[ -z "$(h ps -aq)" ]
	# The QEMU of a --rm VM is ended as soon as the exit status is in: all the output came before it.
	run h run --rm --vm bb:1 seq 1 50000
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 50000 ]
	[ "${lines[49999]}" = 50000 ]
}

@test "vm: the guest has its own kernel, memory and CPUs as asked" {
	run h run --rm --vm --memory 300M --cpus 2 bb:1 sh -c 'grep MemTotal /proc/meminfo; nproc; cat /proc/1/comm'
	[ "$status" -eq 0 ]
	kb=$(echo "${lines[0]}" | awk '{print $2}')
	[ "$kb" -gt 200000 ] && [ "$kb" -le 307200 ]
	[ "${lines[1]}" = 2 ]
	[ "${lines[2]}" = init ]
}

@test "vm: detached, exec, ps, logs, stop, start, rm" {
	h run -d --vm --name v1 bb:1 sh -c "$COUNTER"
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].kind')" = vm ]
	[ "$(echo "$output" | jq -r '.[0].state')" = running ]
	run h exec v1 sh -c 'echo in-guest; exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = in-guest ]
	run -127 h exec v1 nosuchcommand
	[ "$status" -eq 127 ]
	run h exec -e FOO=bar -w /tmp v1 sh -c 'echo $FOO $(pwd)'
	[ "$output" = "bar /tmp" ]
	wait_log v1 'count 3'
	h stop -t 5 v1
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = 143 ]
	! pgrep -f "qemu-system.*$HROOT"
	h start v1
	run h exec v1 true
	[ "$status" -eq 0 ]
	h kill v1
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	h rm v1
	[ -z "$(ls "$HROOT/instances")" ]
}

@test "vm: exec -it gets a terminal in the guest" {
	h run -d --vm --name v1 bb:1 sleep 600
	run script -qec "$HULL --root $HROOT exec -it v1 sh -c 'tty; exit 4'" /dev/null < /dev/null
	# script runs hull in the host namespace: the exec only talks to the guest's sockets.
	[ "$status" -eq 4 ]
	[[ "$output" == */dev/pts/* ]]
}

@test "vm: launch boots the image's init as a system VM; exec, console log, stop" {
	h image import "$BATS_FILE_TMPDIR/system" sys:1 >/dev/null
	h launch --vm sys:1 sys1
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].kind')" = vm ]
	run h exec sys1 cat /proc/1/comm
	[ "$output" = init ]
	# Its output is its console's: in its log as a container's, and still behind `hull console`.
	h exec sys1 sh -c 'echo console-line-1 > /dev/console'
	wait_log sys1 console-line-1
	! h logs sys1 | grep -q $'\r'
	run script -qec "$HULL --root $HROOT console sys1" /dev/null < <(sleep 2; printf '\r'; sleep 3; printf 'echo via-con''sole-$((6*7))\r'; sleep 4; printf '\001q')
	[[ "$output" == *via-console-42* ]]
	wait_log sys1 via-console-42
	h stop -t 5 sys1
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	! pgrep -f "qemu-system.*$HROOT"
	h rm sys1
}

@test "vm: a VM's writes never reach the image's base disk" {
	h run --rm --vm bb:1 true
	base=$(ls "$HROOT"/vm/base/*.ext4)
	sum=$(sha256sum "$base")
	h run --vm --name w1 bb:1 sh -c 'echo written > /etc/w1; sync'
	[ "$(sha256sum "$base")" = "$sum" ]
	run h run --rm --vm bb:1 cat /etc/w1
	[ "$status" -ne 0 ]
	# ten VMs of one image share that one base disk
	[ "$(ls "$HROOT"/vm/base/*.ext4 | wc -l)" -eq 1 ]
	h rm w1
}

@test "vm: snapshot and restore: the guest goes on from where it was" {
	h run -d --vm --name c1 bb:1 sh -c "$COUNTER"
	wait_log c1 'count 5'
	h snapshot create c1 s1
	run h snapshot list --format json c1
	[ "$(echo "$output" | jq -r '.[0].name')" = s1 ]
	[ "$(echo "$output" | jq -r '.[0].stateful')" = true ]
	at=$(last_count c1)
	wait_log c1 "count $((at + 15))"
	h snapshot restore c1 s1
	# The counter goes on from the snapshot's moment: it prints at+1.. again, never 0.
	after=$(h logs c1 | wc -l)
	sleep 2
	new=$(h logs c1 | tail -n +$((after + 1)) | sed -n 's/^count //p')
	[ -n "$new" ]
	first=$(echo "$new" | head -n 1)
	[ "$first" -gt 0 ]
	[ "$first" -le $((at + 3)) ]
	run h snapshot restore c1 nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"snapshot 'nosuch' of 'c1' does not exist"* ]]
	h snapshot delete c1 s1
	run h snapshot list --format json c1
	[ "$output" = "[]" ]
}

@test "vm: a restore whose state does not load leaves the VM running on its own state" {
	h run -d --vm --name c1 bb:1 sh -c "$COUNTER"
	wait_log c1 'count 3'
	h snapshot create c1 s1
	# A copy of the snapshot with its state file cut short.
	snaps=$(echo "$HROOT"/instances/*/snapshots)
	cp -a "$snaps/s1" "$snaps/bad"
	jq '.name = "bad"' "$snaps/s1/meta.json" >"$snaps/bad/meta.json"
	truncate -s 1M "$snaps/bad/state"
	wait_log c1 "count 20"
	at=$(last_count c1)
	run h snapshot restore c1 bad
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	# QEMU's own reason, from its log
	[[ "$output" == "hull: restore 'bad' of 'c1': QEMU ended: load of migration failed"* ]]
	# Still running, on its own state: the counter goes on past where it was, never back.
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = running ]
	wait_log c1 "count $((at + 5))"
	after=$(h logs c1 | sed -n 's/^count //p')
	[ "$(echo "$after" | sort -n | uniq -d)" = "" ]
	run h exec c1 echo alive
	[ "$output" = alive ]
	# The good snapshot still restores afterwards.
	h snapshot restore c1 s1
	run h exec c1 echo alive
	[ "$output" = alive ]
	[ ! -e "$(echo "$HROOT"/instances/*/rollback.state)" ]
	[ ! -e "$(echo "$HROOT"/instances/*/disk.qcow2.rollback)" ]
	# A stopped VM stays stopped, with its disk.
	h stop -t 5 c1
	sum=$(sha256sum <"$(echo "$HROOT"/instances/*/disk.qcow2)")
	run h snapshot restore c1 bad
	[ "$status" -ne 0 ]
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	[ "$(sha256sum <"$(echo "$HROOT"/instances/*/disk.qcow2)")" = "$sum" ]
	! pgrep -f "qemu-system.*$HROOT"
	h rm c1
}

@test "vm: exec -d runs detached in the guest; ports are added while all are busy" {
	h run -d --vm --name v1 bb:1 sleep 600
	run h exec -d v1 sh -c 'echo lost; sleep 1; echo ran > /tmp/d; sleep 600'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run -127 h exec -d v1 nosuchcommand
	[ "$status" -eq 127 ]
	# The detached process holds no port: with it running, sessions still come.
	for i in $(seq 1 50); do h exec v1 cat /tmp/d 2>/dev/null | grep -q ran && break; sleep 0.2; done
	run h exec v1 cat /tmp/d
	[ "$output" = ran ]
	# Three sessions at once on a VM booted with its supervisor's port only: ports are hot-plugged.
	h exec v1 sleep 6 & p1=$!
	h exec v1 sleep 6 & p2=$!
	h exec v1 sleep 6 & p3=$!
	sleep 2
	run h exec v1 sh -c 'ls /sys/class/virtio-ports | wc -l'
	[ "$output" -ge 4 ]
	wait $p1 $p2 $p3
	h rm -f v1
}

@test "vm: live migration between two roots keeps the guest running" {
	HROOT2=$TEST_DIR/root2
	h run -d --vm --name m1 bb:1 sh -c "$COUNTER"
	wait_log m1 'count 3'
	port=$(free_port)
	h2 receive --listen "tcp://127.0.0.1:$port" >"$TEST_DIR/recv.out" 2>"$TEST_DIR/recv.err" &
	recv=$!
	for i in $(seq 100); do
		ip netns exec "$NS" ss -ltn "sport = :$port" | grep -q LISTEN && break
		sleep 0.05
	done
	run h migrate m1 --to "tcp://127.0.0.1:$port"
	echo "$output"
	# the receiver ends with the migration (a sender that never connected leaves it listening)
	[ "$status" -eq 0 ] || pkill -f "receive --listen tcp://127.0.0.1:$port" || true
	wait "$recv" || { cat "$TEST_DIR/recv.err"; false; }
	[ "$status" -eq 0 ]
	[[ "$output" == *downtime* ]]
	[ "$(cat "$TEST_DIR/recv.out")" = m1 ]
	# Gone here, running there, its counter going on rather than starting again.
	[ -z "$(h ps -aq)" ]
	sleep 1
	n1=$(h2 logs m1 | sed -n 's/^count //p' | head -n 1)
	[ "$n1" -gt 3 ]
	sleep 1
	n2=$(h2 logs m1 | sed -n 's/^count //p' | tail -n 1)
	[ "$n2" -gt "$n1" ]
	run h2 exec m1 echo there
	[ "$output" = there ]
	h2 rm -f m1
}

@test "vm: a migration target that is not there: an error, and the VM goes on" {
	h run -d --vm --name m1 bb:1 sleep 600
	run h migrate m1 --to "tcp://127.0.0.1:$(free_port)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"connect to"* ]]
	run h exec m1 echo still-here
	[ "$output" = still-here ]
}

@test "vm: reachable on its hull network; published ports; leases from the same pool" {
	h run -d --vm --name web -p 127.0.0.1:18080:80 bb:1 sh -c 'mkdir -p /www; echo hello-vm > /www/index.html; httpd -f -p 80 -h /www'
	ip=$(h inspect web | jq -r '.[0].network.address')
	[ -n "$ip" ] && [ "$ip" != null ]
	run h exec web sh -c "ip -4 addr show eth0 | grep -c $ip"
	[ "$output" = 1 ]
	ip netns exec "$NS" busybox ping -c 1 -W 5 "$ip"
	for i in $(seq 1 50); do
		out=$(ip netns exec "$NS" sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | busybox nc 127.0.0.1 18080' 2>/dev/null || true)
		[[ "$out" == *hello-vm* ]] && break
		sleep 0.2
	done
	[[ "$out" == *hello-vm* ]]
	# a container on the same network reaches the VM by its address
	run h run --rm bb:1 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc $ip 80"
	[[ "$output" == *hello-vm* ]]
}

@test "vm: bad input is refused with one clear line and leaves nothing" {
	h image import "$BATS_FILE_TMPDIR/nocmd" nocmd:1 >/dev/null
	run h run --rm --vm nocmd:1
	[ "$status" -eq 125 ]
	[[ "$output" == *"no command"* ]]
	run h run --rm --vm -v /tmp:/mnt bb:1 true
	[ "$status" -eq 125 ]
	[[ "$output" == *"cannot share host directories"* ]]
	run h run --rm --vm --network host bb:1 true
	[ "$status" -eq 125 ]
	[[ "$output" == *"network stack of its own"* ]]
	echo notakernel >"$TEST_DIR/k"
	run h run --rm --vm --kernel "$TEST_DIR/k" bb:1 true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run h run --rm --vm --kernel /nonexistent bb:1 true
	[ "$status" -eq 125 ]
	run env PATH=/nonexistent /usr/bin/nsenter --net="/run/netns/$NS" "$HULL" --root "$HROOT" run --rm --vm --network none bb:1 true
	[ "$status" -eq 125 ]
	[[ "$output" == *qemu* ]]
	[ -z "$(h ps -aq)" ]
	[ -z "$(ls "$HROOT/instances")" ]
}

@test "vm: info says which accelerator runs VMs, and why" {
	run h info --format json
	[ "$status" -eq 0 ]
	accel=$(echo "$output" | jq -r .vm.accelerator)
	[ "$accel" = tcg ] || [ "$accel" = kvm ]
	[ -n "$(echo "$output" | jq -r .vm.reason)" ]
	if [ -e /sys/module/kvm_pvm ]; then
		[ "$accel" = tcg ]
		[[ "$(echo "$output" | jq -r .vm.reason)" == *PVM* ]]
	fi
}

@test "vm: run under KVM" {
	[ "$(h info --format json | jq -r .vm.accelerator)" = kvm ] || skip "this host has no usable KVM"
	run h run --rm --vm bb:1 sh -c 'echo kvm-ok'
	[ "$output" = kvm-ok ]
}
