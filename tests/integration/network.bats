#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# network.bats: bridge networks, user networks and name resolution, isolation, published ports,
# leases under parallel starts, cleanup and repair. Every test makes its own network namespace
# (ip netns add), runs hull inside it, sends traffic only to addresses inside it, and deletes it.

bats_require_minimum_version 1.5.0
load instance-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v nft >/dev/null || skip "nft is not installed"
	make_image "$BATS_FILE_TMPDIR/busybox" 1 --cmd '["sh"]' >/dev/null
}

setup() {
	setup_root
	NS=hullnet-$$-$BATS_TEST_NUMBER
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	h image import "$BATS_FILE_TMPDIR/busybox" bb:1 >/dev/null
	BB=bb:1
}

teardown() {
	teardown_root
	ip netns del "$NS" 2>/dev/null || true
	[ -z "${NS2:-}" ] || ip netns del "$NS2" 2>/dev/null || true
}

# h ARG...: hull on this test's root, inside this test's network namespace.
h() {
	nsenter --net="/run/netns/$NS" "$HULL" --root "$HROOT" "$@"
}

# in_ns CMD...: a host tool inside the test's network namespace.
in_ns() {
	ip netns exec "$NS" "$@"
}

# no_veths: true once no host end of a container's veth is left. The kernel destroys an unpinned
# namespace, and its links, in the background, one batch after another: behind the namespaces of
# an earlier test's fifty containers, on a loaded machine, that may take seconds. Give it 30 s.
no_veths() {
	local i
	for i in $(seq 300); do
		ip -n "$NS" -o link show | grep -q ' vh' || return 0
		sleep 0.1
	done
	ip -n "$NS" -o link show >&2
	return 1
}

# A snapshot of the namespace's links (names only) and nftables ruleset.
net_state() {
	ip -n "$NS" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	echo ---
	in_ns nft list ruleset
}

@test "network none: only lo, and it is up" {
	run h run --rm --network none "$BB" sh -c 'ls /sys/class/net; ip -o link show lo'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -n 1)" = lo ]
	[ "$(echo "$output" | grep -c .)" -eq 2 ]
	[[ "$output" == *"UP"* ]]
}

@test "default bridge: hull0 on first use, eth0 with a leased address, a default route, hosts and resolv.conf" {
	! ip -n "$NS" link show hull0 2>/dev/null
	run h run --rm --hostname box "$BB" sh -c 'ip -o -4 addr show eth0; ip route; cat /etc/hosts; hostname'
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.77.0.2/16"* ]]
	[[ "$output" == *"default via 10.77.0.1 dev eth0"* ]]
	echo "$output" | grep -qE '^10\.77\.0\.2[[:space:]]+box '
	echo "$output" | grep -qE '^127\.0\.0\.1[[:space:]]+localhost'
	[ "$(echo "$output" | tail -n 1)" = box ]
	# 64 KiB frames on the bridge, 1500 on the way out.
	h run -d --name m1 "$BB" sleep 600 >/dev/null
	id=$(h inspect m1 | jq -r '.[0].id')
	nsenter --net="$HROOT/run/netns/$id" ip -o link show eth0 | grep -q 'mtu 65535'
	nsenter --net="$HROOT/run/netns/$id" ip route show default | grep -q 'mtu 1500'
	h rm -f m1 >/dev/null
	# The bridge stays, with the gateway address; the container's veth is gone.
	ip -n "$NS" -4 addr show hull0 | grep -q 'inet 10.77.0.1/16'
	no_veths
	# Masquerading for the subnet, in hull's own table.
	in_ns nft list table ip hull | grep -q 'ip saddr 10.77.0.0/16 oifname != "hull0" masquerade'
	# The address was released with the instance: the next one gets it again.
	run h run --rm "$BB" ip -o -4 addr show eth0
	[[ "$output" == *"inet 10.77.0.2/16"* ]]
}

@test "user networks: members reach each other by name; another network reaches neither name nor address" {
	h network create front --subnet 10.91.0.0/24 >/dev/null
	h network create back >/dev/null
	h run -d --name web --network front "$BB" sleep 600 >/dev/null
	h run -d --name client --network front "$BB" sleep 600 >/dev/null
	run h exec client ping -c 1 -W 2 web
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.91.0.2"* ]]
	run h exec web ping -c 1 -W 2 client
	[ "$status" -eq 0 ]
	# A member that joins later is in everyone's /etc/hosts at once.
	h run -d --name late --network front "$BB" sleep 600 >/dev/null
	run h exec web ping -c 1 -W 2 late
	[ "$status" -eq 0 ]
	h run -d --name outsider --network back "$BB" sleep 600 >/dev/null
	run h exec outsider ping -c 1 -W 1 web
	[ "$status" -ne 0 ]
	run h exec outsider ping -c 1 -W 1 10.91.0.2
	[ "$status" -ne 0 ]
	[[ "$output" == *"0 packets received"* ]]
	# The outsider itself is reachable on its own network's bridge, so the drop is the isolation.
	addr=$(h inspect outsider | jq -r '.[0].network.address')
	[[ "$addr" == 10.78.* ]]
	in_ns busybox ping -c 1 -W 2 "$addr" >/dev/null
	# A removed member leaves the others' /etc/hosts.
	h rm -f late >/dev/null
	run h exec web cat /etc/hosts
	[[ "$output" != *late* ]]
	[[ "$output" == *client* ]]
}

@test "network ls --format json: name, subnet, bridge, instances; rm refused while in use" {
	h network create n1 --subnet 10.92.0.0/24 >/dev/null
	h run -d --name a1 --network n1 "$BB" sleep 600 >/dev/null
	run h network ls --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "n1") | .subnet')" = 10.92.0.0/24 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "n1") | .bridge')" = hull1 ]
	[ "$(echo "$output" | jq -c '.[] | select(.name == "n1") | .instances')" = '["a1"]' ]
	run h network rm n1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "hull: network 'n1' is in use by 'a1'" ]]
	h rm -f a1 >/dev/null
	h network rm n1
	! ip -n "$NS" link show hull1 2>/dev/null
	[ "$(h network ls --format json | jq 'map(select(.name == "n1")) | length')" -eq 0 ]
}

@test "the default network's subnet is chosen by creating it first" {
	h network create bridge --subnet 10.95.0.0/24 >/dev/null
	run h run --rm "$BB" ip -o -4 addr show eth0
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.95.0.2/24"* ]]
	ip -n "$NS" -4 addr show hull0 | grep -q 'inet 10.95.0.1/24'
}

@test "network host and container:NAME" {
	run h run --rm --network host "$BB" ls /sys/class/net
	[ "$status" -eq 0 ]
	h run -d --name base "$BB" sleep 600 >/dev/null
	addr=$(h inspect base | jq -r '.[0].network.address')
	run h run --rm --network container:base "$BB" ip -o -4 addr show eth0
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet $addr/16"* ]]
	h stop -t 0 base >/dev/null
	run h run --rm --network container:base "$BB" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"'base' is not running"* ]]
}

@test "published port: busybox httpd reached from the host via 127.0.0.1 and its address, and from another namespace" {
	h run -d --name www -p 18080:80 -p 127.0.0.1:18081:80/tcp "$BB" \
		sh -c 'mkdir -p /www && echo served-by-hull >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].ports | map(.text) | join(",")')" = "0.0.0.0:18080->80/tcp,127.0.0.1:18081->80/tcp" ]
	run h ps
	[[ "$output" == *"0.0.0.0:18080->80/tcp, 127.0.0.1:18081->80/tcp"* ]]
	[ "$(h inspect www | jq -r '.[0].ports[0].host_port')" = 18080 ]
	local i
	for i in $(seq 50); do
		in_ns curl -s -m 2 http://127.0.0.1:18080/ >/dev/null && break
		sleep 0.1
	done
	[ "$(in_ns curl -s -m 2 http://127.0.0.1:18080/)" = served-by-hull ]
	[ "$(in_ns curl -s -m 2 http://127.0.0.1:18081/)" = served-by-hull ]
	[ "$(in_ns curl -s -m 2 http://10.77.0.1:18080/)" = served-by-hull ]
	# Another namespace, on a link of its own to the test's namespace.
	NS2=$NS-peer
	ip netns add "$NS2"
	ip -n "$NS" link add hp0 type veth peer name hp1 netns "$NS2"
	ip -n "$NS" addr add 10.201.0.1/24 dev hp0
	ip -n "$NS" link set hp0 up
	ip -n "$NS2" addr add 10.201.0.2/24 dev hp1
	ip -n "$NS2" link set hp1 up
	ip -n "$NS2" link set lo up
	[ "$(ip netns exec "$NS2" curl -s -m 2 http://10.201.0.1:18080/)" = served-by-hull ]
	# 127.0.0.1:18081 is published on loopback only: not from the other namespace.
	! ip netns exec "$NS2" curl -s -m 2 http://10.201.0.1:18081/
	# Another container on the bridge reaches it through the host's address too (hairpin).
	# (busybox-static's wget crashes on its service lookup: nc speaks HTTP by hand.)
	run h run --rm "$BB" sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 10.77.0.1 18080'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -n 1)" = served-by-hull ]
}

@test "50 containers started at once get 50 distinct addresses" {
	local i pids=()
	for i in $(seq 50); do
		h run -d --name p$i "$BB" sleep 600 >/dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	run h ps --format json
	[ "$(echo "$output" | jq 'length')" -eq 50 ]
	[ "$(echo "$output" | jq -r '.[].ip' | sort -u | grep -c '^10\.77\.')" -eq 50 ]
	# Each really has its address on eth0.
	for i in 1 25 50; do
		addr=$(h inspect p$i | jq -r '.[0].network.address')
		h exec p$i ip -o -4 addr show eth0 | grep -q "inet $addr/"
	done
}

@test "nothing left behind: links, rules and leases after rm -f, and a crash's leftovers repaired" {
	h network create keep --subnet 10.93.0.0/24 >/dev/null
	h run --rm "$BB" true
	# That container's veth goes with its namespace, in the background: not part of the state.
	no_veths
	before=$(net_state)
	h run -d --name s1 --network keep -p 18090:80 "$BB" sleep 600 >/dev/null
	h run -d --name s2 -p 18091:80/udp "$BB" sleep 600 >/dev/null
	h run -d --name s3 --network none "$BB" sleep 600 >/dev/null
	[ "$(net_state)" != "$before" ]
	h rm -f s1 s2 s3 >/dev/null
	no_veths
	[ "$(net_state)" = "$before" ]
	[ "$(h network ls --format json | jq '[.[].instances[]] | length')" -eq 0 ]
	[ -z "$(ls "$HROOT/run/netns")" ]
	# Leftovers of a crashed start (a pinned namespace and a veth with no instance), and rules
	# that a crash kept from being applied: the next command repairs them.
	fake=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	touch "$HROOT/run/netns/$fake"
	nsenter --net="/run/netns/$NS" unshare --net="$HROOT/run/netns/$fake" true
	nsenter --net="/run/netns/$NS" ip link add vh0123456789ab type veth peer name eth0 netns "$HROOT/run/netns/$fake"
	in_ns nft delete table ip hull
	echo stale >"$HROOT/run/nft.rules"
	h ps >/dev/null
	no_veths
	[ "$(net_state)" = "$before" ]
	[ -z "$(ls "$HROOT/run/netns")" ]
}

@test "bad input: overlapping or invalid subnet, unknown network, a port published twice, invalid ports" {
	h network create one --subnet 10.94.0.0/16 >/dev/null
	before=$(net_state)
	run h network create two --subnet 10.94.3.0/24
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"overlaps network 'one'"* ]]
	run h network create two --subnet 10.0.0.1/24
	[ "$status" -ne 0 ]
	[[ "$output" == *"host bits"* ]]
	run h network create two --subnet 300.0.0.0/8
	[ "$status" -ne 0 ]
	run h network create two --subnet nonsense
	[ "$status" -ne 0 ]
	run h network create one
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
	[ "$(net_state)" = "$before" ]
	[ "$(h network ls --format json | jq length)" -eq 1 ]
	run h run --rm --network nosuch "$BB" true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no such network 'nosuch'"* ]]
	[ -z "$(h ps -aq)" ]
	h run -d --name p1 -p 18100:80 --network one "$BB" sleep 600 >/dev/null
	run h run -d --name p2 -p 18100:80 --network one "$BB" sleep 600
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"already published by 'p1'"* ]]
	[ "$(h ps -aq | wc -l)" -eq 1 ]
	for p in 0:80 80 70000:80 8080:80/sctp 1.2.3:8080:80; do
		run h run --rm -p "$p" "$BB" true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	run h run --rm --network none -p 18101:80 "$BB" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"needs a bridge network"* ]]
	[ "$(h ps -aq | wc -l)" -eq 1 ]
}
