#!/usr/bin/env bats
# The process: env, cwd, user, umask, capabilities, no_new_privs, rlimits, oom score, sysctls,
# exec and its flags, and fds passed with --preserve-fds.

load helpers
load lib

setup() { setup_bundle; }
teardown() { teardown_bundle; }

# status_field NAME: the value of NAME in $output's /proc/PID/status dump.
status_field() {
	echo "$output" | awk -v k="$1:" '$1 == k {print $2}'
}

@test "env and cwd are the process's" {
	update_config '.process.env = ["PATH=/bin:/sbin", "FOO=bar baz", "EMPTY="] | .process.cwd = "/tmp"'
	run_container sh -c 'echo "$FOO"; echo "[$EMPTY]"; echo "$PATH"; pwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bar baz" ]
	[ "${lines[1]}" = "[]" ]
	[ "${lines[2]}" = /bin:/sbin ]
	[ "${lines[3]}" = /tmp ]
}

@test "a relative cwd is refused naming process.cwd" {
	update_config '.process.cwd = "tmp"'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.cwd"
	assert_nothing_left "$ID"
}

@test "user: uid, gid and additionalGids as id shows them" {
	update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 1001]}'
	run_container sh -c 'id; cat /proc/self/status | grep -E "^(Uid|Gid|Groups):"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "uid=1000 gid=1001 groups=10,20,1001" ]
	[ "$(status_field Uid)" = 1000 ]
	[ "$(status_field Gid)" = 1001 ]
}

@test "user: no additionalGids means no supplementary groups" {
	update_config '.process.user = {"uid": 0, "gid": 0}'
	run_container sh -c 'grep ^Groups: /proc/self/status'
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "Groups:" ]
}

@test "umask applies to files the process makes" {
	update_config '.root.readonly = false | .process.user.umask = 23'
	run_container sh -c 'umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0027 ]
	[ "${lines[1]}" = 640 ]
	[ "${lines[2]}" = 750 ]
}

@test "capabilities: root gets exactly its bounding set as effective and permitted" {
	update_config '.process.user = {"uid": 0, "gid": 0} | .process.capabilities = {
		"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
		"effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
		"permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]}'
	run_container cat /proc/self/status
	[ "$status" -eq 0 ]
	want=$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_AUDIT_WRITE)
	[ "$want" = 0000000020000421 ]
	[ "$(status_field CapBnd)" = "$want" ]
	[ "$(status_field CapEff)" = "$want" ]
	[ "$(status_field CapPrm)" = "$want" ]
	[ "$(status_field CapInh)" = 0000000000000000 ]
	[ "$(status_field CapAmb)" = 0000000000000000 ]
}

@test "capabilities: a non-root user keeps the ambient set through exec, each set exact" {
	# execve(2) of a file without capabilities by a non-root user: permitted and effective become
	# the ambient set; inheritable and bounding stay as set.
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities = {
		"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SETFCAP"],
		"effective": ["CAP_KILL", "CAP_CHOWN"],
		"permitted": ["CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN"],
		"inheritable": ["CAP_KILL", "CAP_NET_RAW", "CAP_SETFCAP"],
		"ambient": ["CAP_KILL", "CAP_NET_RAW"]}'
	run_container cat /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(status_field CapBnd)" = "$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW CAP_SYS_ADMIN CAP_SETFCAP)" ]
	[ "$(status_field CapBnd)" = 0000000080202021 ]
	[ "$(status_field CapInh)" = "$(cap_mask CAP_KILL CAP_NET_RAW CAP_SETFCAP)" ]
	[ "$(status_field CapAmb)" = "$(cap_mask CAP_KILL CAP_NET_RAW)" ]
	[ "$(status_field CapPrm)" = 0000000000002020 ]
	[ "$(status_field CapEff)" = 0000000000002020 ]
}

@test "capabilities: the default set that spec writes" {
	run_container grep -E '^Cap(Bnd|Eff|Prm)' /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | awk '{print $2}' | sort -u)" = "$(cap_mask CAP_AUDIT_WRITE CAP_KILL CAP_NET_BIND_SERVICE)" ]
}

@test "capabilities: an unknown name is refused naming the set" {
	update_config '.process.capabilities.bounding += ["CAP_NOPE"]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.capabilities.bounding[3]: unknown capability 'CAP_NOPE'"
	assert_nothing_left "$ID"
}

@test "noNewPrivileges sets NoNewPrivs, and false leaves it clear" {
	update_config '.process.noNewPrivileges = true'
	run_container grep ^NoNewPrivs: /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "NoNewPrivs: 1" ]
	update_config '.process.noNewPrivileges = false'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "NoNewPrivs: 0" ]
}

@test "rlimits: RLIMIT_NOFILE soft and hard as ulimit shows them" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048},
		{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	run_container sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 512 ]
	[ "${lines[1]}" = 2048 ]
	[ "${lines[2]}" = 0 ]
}

@test "rlimits: a hard limit above the host's fails with one line naming process.rlimits" {
	host_hard=$(ulimit -Hn)
	[ "$host_hard" != unlimited ] || skip "the host's nofile hard limit is unlimited"
	# With CAP_SYS_RESOURCE it could be raised, and there is nothing to refuse.
	if (ulimit -Hn $((host_hard + 1)) 2>/dev/null); then
		skip "this host may raise rlimits (CAP_SYS_RESOURCE)"
	fi
	update_config --argjson h $((host_hard + 1000)) \
		'.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": $h}]'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.rlimits[0]"
	[[ "$stderr" == *"$((host_hard + 1000))"* ]]
	assert_nothing_left "$ID"
}

@test "rlimits: soft above hard is refused" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.rlimits[0]: soft limit 4096 is above the hard limit 1024"
	assert_nothing_left "$ID"
}

@test "oomScoreAdj is written (a value no lower than the current one)" {
	cur=$(cat /proc/self/oom_score_adj)
	want=$((cur + 123 > 1000 ? 1000 : cur + 123))
	update_config --argjson v "$want" '.process.oomScoreAdj = $v'
	run_container cat /proc/self/oom_score_adj
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

@test "oomScoreAdj below what this host allows fails naming the field" {
	cur=$(cat /proc/self/oom_score_adj)
	[ "$cur" -gt -1000 ] || skip "oom_score_adj is already the minimum"
	if (echo $((cur - 1)) >/proc/self/oom_score_adj) 2>/dev/null; then
		skip "this host may lower oom_score_adj (CAP_SYS_RESOURCE)"
	fi
	update_config --argjson v $((cur - 100)) '.process.oomScoreAdj = $v'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "process.oomScoreAdj"
	assert_nothing_left "$ID"
}

@test "sysctl: namespaced keys are set inside and the host's stay" {
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_shmmax=$(cat /proc/sys/kernel/shmmax)
	want_fwd=$((1 - host_fwd))
	update_config --arg f "$want_fwd" '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmax": "123456789",
		"kernel.domainname": "sysctl.test", "fs.mqueue.msg_max": "33"}'
	run_container cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/domainname \
		/proc/sys/fs/mqueue/msg_max
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$want_fwd" ]
	[ "${lines[1]}" = 123456789 ]
	[ "${lines[2]}" = sysctl.test ]
	[ "${lines[3]}" = 33 ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
	[ "$(cat /proc/sys/kernel/shmmax)" = "$host_shmmax" ]
}

@test "sysctl: a key of no namespace is refused and the host keeps its value" {
	before=$(cat /proc/sys/vm/swappiness)
	update_config --arg v $((before == 10 ? 11 : 10)) '.linux.sysctl = {"vm.swappiness": $v}'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.sysctl: 'vm.swappiness' is not namespaced: setting it would change the host"
	[ "$(cat /proc/sys/vm/swappiness)" = "$before" ]
	assert_nothing_left "$ID"
}

@test "sysctl: net.* in the host's network namespace is refused" {
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.namespaces |= map(select(.type != "network"))'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.sysctl: 'net.ipv4.ip_forward'"
	[[ "$stderr" == *"would change the host"* ]]
	# Joining the host's own namespace by path is the same thing.
	update_config --arg p "/proc/$$/ns/net" '.linux.namespaces += [{"type": "network", "path": $p}]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.sysctl: 'net.ipv4.ip_forward'"
	assert_nothing_left "$ID"
}

@test "sysctl: ipc keys need an ipc namespace" {
	update_config '.linux.sysctl = {"kernel.shmmax": "123456789"} | .linux.namespaces |= map(select(.type != "ipc"))'
	set_args true
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.sysctl: 'kernel.shmmax'"
	assert_nothing_left "$ID"
}

@test "exec: --env, --cwd and --user" {
	set_args sleep 100
	start_detached
	run hull exec --env FOO=from-exec --env BAR=2 --cwd /tmp "$ID" sh -c 'echo "$FOO $BAR"; pwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "from-exec 2" ]
	[ "${lines[1]}" = /tmp ]
	run hull exec --user 1000:1002 --additional-gids 7 "$ID" id
	[ "$status" -eq 0 ]
	[ "$output" = "uid=1000 gid=1002 groups=7" ]
}

@test "exec: returns the process's exit status, 128+N for a signal" {
	set_args sleep 100
	start_detached
	run hull exec "$ID" sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run hull exec "$ID" sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "exec: joins the container's namespaces" {
	update_config '.hostname = "exec-host"'
	set_args sleep 100
	start_detached
	pid=$(pid_of "$ID")
	run hull exec "$ID" sh -c 'hostname; for n in mnt pid net ipc uts; do readlink /proc/self/ns/$n; done'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = exec-host ]
	[ "${lines[1]}" = "$(readlink /proc/$pid/ns/mnt)" ]
	[ "${lines[2]}" = "$(readlink /proc/$pid/ns/pid)" ]
	[ "${lines[3]}" = "$(readlink /proc/$pid/ns/net)" ]
	[ "${lines[4]}" = "$(readlink /proc/$pid/ns/ipc)" ]
	[ "${lines[5]}" = "$(readlink /proc/$pid/ns/uts)" ]
}

@test "exec: --tty gives the process a terminal of the container's devpts" {
	set_args sleep 100
	start_detached
	run script -qec "$HULL oci --root $ROOT exec -t $ID sh -c 'tty; stty rows 24 cols 80; stty size'" /dev/null
	[ "$status" -eq 0 ]
	# script(1) turns the EOF of its stdin into a byte the pty may echo ("^@"): match within lines.
	out=$(echo "$output" | tr -d '\r')
	[[ "$out" == *"/dev/pts/0"$'\n'*"24 80"* ]]
	# Without -t: no terminal.
	run hull exec "$ID" tty
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a tty"* ]]
}

@test "exec: --process FILE gives the whole process" {
	set_args sleep 100
	start_detached
	cat >"$TEST_DIR/process.json" <<-'EOF'
	{"args": ["sh", "-c", "echo $A; id -u; id -g; pwd"], "env": ["A=from-file"], "cwd": "/tmp",
	 "user": {"uid": 5, "gid": 6}}
	EOF
	run hull exec --process "$TEST_DIR/process.json" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-file ]
	[ "${lines[1]}" = 5 ]
	[ "${lines[2]}" = 6 ]
	[ "${lines[3]}" = /tmp ]
}

@test "exec: --process with a bad field fails naming it" {
	set_args sleep 100
	start_detached
	echo '{"args": ["true"], "user": {"uid": "root"}}' >"$TEST_DIR/process.json"
	run_split hull exec --process "$TEST_DIR/process.json" "$ID"
	assert_one_error_line "process.user.uid"
}

@test "exec: -d with --pid-file leaves the process running in the container" {
	set_args sleep 100
	start_detached
	hull exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 77 >"$TEST_DIR/exec.out"
	epid=$(cat "$TEST_DIR/exec.pid")
	[ "$(cat /proc/$epid/cmdline | tr '\0' ' ')" = "sleep 77 " ]
	[ "$(readlink /proc/$epid/ns/pid)" = "$(readlink /proc/$(pid_of "$ID")/ns/pid)" ]
	# It is in the container's cgroup: ps lists it.
	[[ "$(hull ps --format json "$ID" | jq -c .)" == *"$epid"* ]]
}

@test "exec: a missing program fails with one line and the container keeps running" {
	set_args sleep 100
	start_detached
	run_split hull exec "$ID" no-such-program
	assert_one_error_line "no-such-program"
	[ "$(status_of "$ID")" = running ]
}

@test "exec into a stopped container fails clearly" {
	set_args true
	create_container
	hull start "$ID"
	wait_status "$ID" stopped
	run_split hull exec "$ID" true
	assert_one_error_line "container '$ID' is stopped, not running"
}

@test "--preserve-fds passes extra fds to the container, and only those" {
	echo passed-in >"$TEST_DIR/fd3"
	echo not-this >"$TEST_DIR/fd4"
	set_args sh -c 'cat /proc/self/fd/3; ls /proc/self/fd/4 2>&1 || echo no-fd-4'
	run "$HULL" oci --root "$ROOT" run --preserve-fds 1 --bundle "$BUNDLE" "$ID" 3<"$TEST_DIR/fd3" 4<"$TEST_DIR/fd4"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = passed-in ]
	[ "${lines[-1]}" = no-fd-4 ]
	# Without the flag, fd 3 stays outside.
	set_args sh -c 'cat /proc/self/fd/3 2>/dev/null || echo no-fd-3'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-2" 3<"$TEST_DIR/fd3"
	[ "$status" -eq 0 ]
	[ "$output" = no-fd-3 ]
}

@test "exec --preserve-fds passes an extra fd to the new process" {
	set_args sleep 100
	start_detached
	echo to-exec >"$TEST_DIR/fd3"
	run hull exec --preserve-fds 1 "$ID" cat /proc/self/fd/3 3<"$TEST_DIR/fd3"
	[ "$status" -eq 0 ]
	[ "$output" = to-exec ]
}
