#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# containers.bats: hull run and the application-container commands, on images pulled from a real
# registry: options, default confinement, detached containers under their monitor, logs, stop.

bats_require_minimum_version 1.5.0
load instance-helpers

setup_file() { setup_registry_file; }
teardown_file() { stop_registry; }
setup() { setup_root; }
teardown() { teardown_root; }

@test "run: pulls a missing image, runs the command and returns its exit status" {
	run h run --rm "$BUSYBOX" sh -c 'echo hello; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = hello ]
	run h images --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].name')" = "$BUSYBOX" ]
	# --rm left no instance.
	[ -z "$(h ps -aq)" ]
}

@test "run: the image's Cmd and Env, stdin with -i" {
	h pull "$BUSYBOX" >/dev/null
	run sh -c "echo 'echo from-stdin \$HULL_TEST' | \"$HULL\" --root \"$HROOT\" run --rm -i \"$BUSYBOX\""
	[ "$status" -eq 0 ]
	[ "$output" = "from-stdin 1" ]
}

@test "run: -e, --workdir, --user, --hostname, --entrypoint" {
	run h run --rm -e FOO=bar -w /tmp -u nobody --hostname box "$BUSYBOX" sh -c 'echo $FOO $(pwd) $(id -u) $(hostname)'
	[ "$status" -eq 0 ]
	[ "$output" = "bar /tmp 65534 box" ]
	run h run --rm --entrypoint /bin/echo "$BUSYBOX" via entrypoint
	[ "$output" = "via entrypoint" ]
	run h run --rm -u nosuchuser "$BUSYBOX" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchuser"* ]]
	[ -z "$(h ps -aq)" ]
}

@test "run: -v binds, read-only and read-write; --read-only root" {
	mkdir -p "$TEST_DIR/share"
	echo data >"$TEST_DIR/share/f"
	run h run --rm -v "$TEST_DIR/share:/mnt:ro" "$BUSYBOX" sh -c 'cat /mnt/f; touch /mnt/g'
	[ "$status" -ne 0 ]
	[[ "$output" == data* ]]
	[ ! -e "$TEST_DIR/share/g" ]
	run h run --rm -v "$TEST_DIR/share:/mnt" "$BUSYBOX" touch /mnt/g
	[ "$status" -eq 0 ]
	[ -e "$TEST_DIR/share/g" ]
	run h run --rm --read-only "$BUSYBOX" touch /x
	[ "$status" -ne 0 ]
	run h run --rm -v relative:/mnt "$BUSYBOX" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"absolute"* ]]
}

@test "run: default confinement: Docker's capabilities, seccomp allowlist, masked /proc paths" {
	run h run --rm "$BUSYBOX" sh -c 'grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	[[ "$output" == *00000000a80425fb ]]
	run h run --rm "$BUSYBOX" unshare -U true
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	run h run --rm "$BUSYBOX" mount -t tmpfs x /tmp
	[ "$status" -ne 0 ]
	[[ "$output" == *"denied"* || "$output" == *"not permitted"* ]]
	# Masked paths read empty: the first of them this kernel has.
	local masked
	for masked in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
		[ -e "$masked" ] && break
	done
	run h run --rm "$BUSYBOX" sh -c "wc -c < $masked"
	[ "$output" = 0 ]
	run h run --rm --cap-add SYS_ADMIN "$BUSYBOX" sh -c 'mount -t tmpfs x /tmp && echo mounted'
	[ "$output" = mounted ]
	run h run --rm --cap-drop CHOWN "$BUSYBOX" chown 1:1 /tmp
	[ "$status" -ne 0 ]
	run h run --rm --cap-add NO_SUCH_CAP "$BUSYBOX" true
	[ "$status" -ne 0 ]
	[[ "$output" == *NO_SUCH_CAP* ]]
}

@test "run -d: monitor keeps logs by stream and the exit status; ps, stop, start, restart" {
	h pull "$BUSYBOX" >/dev/null
	run h run -d --name web "$BUSYBOX" sh -c 'echo out; echo err >&2; trap "exit 7" TERM; while :; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	[ "${#output}" -eq 64 ]
	run h ps --format json
	[ "$(echo "$output" | jq -r '.[0].name')" = web ]
	[ "$(echo "$output" | jq -r '.[0].state')" = running ]
	[ "$(echo "$output" | jq -r '.[0].kind')" = container ]
	sleep 0.3
	[ "$(h logs web 2>/dev/null)" = out ]
	[ "$(h logs web 2>&1 >/dev/null)" = err ]
	run h stop web
	[ "$status" -eq 0 ]
	run h ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].state')" = exited ]
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = 7 ]
	run h ps -q
	[ -z "$output" ]
	h start web
	[ "$(h ps --format json | jq -r '.[0].state')" = running ]
	h restart -t 5 web
	[ "$(h ps --format json | jq -r '.[0].state')" = running ]
	run h rm web
	[ "$status" -ne 0 ]
	[[ "$output" == *"running"* ]]
	h rm -f web
	[ -z "$(h ps -aq)" ]
}

@test "stop: SIGKILL after the timeout when SIGTERM is ignored" {
	h run -d --name stubborn "$BUSYBOX" sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
	local t0=$SECONDS
	h stop -t 1 stubborn
	[ $((SECONDS - t0)) -lt 5 ]
	[ "$(h ps -a --format json | jq -r '.[0].exit_code')" = 137 ]
}

@test "exec, kill, inspect, stats; --memory --cpus --pids-limit reach the cgroup" {
	h run -d --name box --memory 64m --cpus 0.5 --pids-limit 50 "$BUSYBOX" sleep 1000 >/dev/null
	run h exec box cat /etc/hostname
	[ "$status" -eq 0 ]
	[ "$output" = "$(h inspect box | jq -r '.[0].id' | cut -c1-12)" ]
	run h exec box sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run h exec -u nobody box id -u
	[ "$output" = 65534 ]
	run h stats --format json box
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].memory_limit')" = 67108864 ]
	[ "$(echo "$output" | jq -r '.[0].pids')" -ge 1 ]
	bundle=$(h inspect box | jq -r '.[0].bundle')
	[ "$(jq -r '.linux.resources.cpu.quota' "$bundle/config.json")" = 50000 ]
	[ "$(jq -r '.linux.resources.pids.limit' "$bundle/config.json")" = 50 ]
	# sleep as PID 1 has no handler, so only SIGKILL ends it: kill's default.
	h kill box
	sleep 0.5
	[ "$(h inspect box | jq -r '.[0].state')" = exited ]
	[ "$(h inspect box | jq -r '.[0].exit_code')" = 137 ]
}

@test "exec by name reaches the running container of that name, never an earlier one" {
	h pull "$BUSYBOX" >/dev/null
	h run -d --name e1 -e GEN=one "$BUSYBOX" sleep 600 >/dev/null
	[ "$(h exec e1 sh -c 'echo $GEN')" = one ]
	# The name again, on another container: exec reaches the new one.
	[ -L "$HROOT/run/names/e1" ]
	h rm -f e1 >/dev/null
	[ ! -L "$HROOT/run/names/e1" ]
	h run -d --name e1 -e GEN=two "$BUSYBOX" sleep 600 >/dev/null
	[ "$(h exec e1 sh -c 'echo $GEN')" = two ]
	# Stopped: the error names the state, as for any instance that does not run.
	h stop -t 1 e1 >/dev/null
	run h exec e1 true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"'e1' is exited, not running"* ]]
	# A hint left pointing at a container that is gone is passed over, not followed.
	h start e1 >/dev/null
	[ "$(readlink "$HROOT/run/names/e1")" = "$(h inspect e1 | jq -r '.[0].id')" ]
	ln -sfn 0000000000000000000000000000000000000000000000000000000000000000 "$HROOT/run/names/e1"
	[ "$(h exec e1 sh -c 'echo $GEN')" = two ]
	h rm -f e1 >/dev/null
	run h exec e1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"e1"* ]]
}

@test "run --rm -d: removed once it exits; logs -f follows to the end" {
	h run -d --name follow "$BUSYBOX" sh -c 'for i in 1 2 3; do echo line$i; sleep 0.2; done' >/dev/null
	run h logs -f follow
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'line1\nline2\nline3')" ]
	h run -d --rm --name gone "$BUSYBOX" true >/dev/null
	for i in $(seq 50); do
		h inspect gone >/dev/null 2>&1 || break
		sleep 0.1
	done
	run h inspect gone
	[ "$status" -ne 0 ]
}

@test "monitor: peak RSS under 1 MiB" {
	# Sanitizer builds cannot link it statically, and their runtime alone is bigger than that.
	if ldd "$(dirname "$HULL")/hull-monitor" >/dev/null 2>&1; then
		skip "hull-monitor is dynamically linked in this build (sanitizers)"
	fi
	h run -d --name quiet "$BUSYBOX" sh -c 'while :; do echo tick; sleep 0.05; done' >/dev/null
	sleep 1
	pid=$(pgrep -f "hull-monitor $HROOT")
	[ -n "$pid" ]
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	echo "monitor VmHWM ${hwm} kB" >&3
	[ "$hwm" -lt 1024 ]
}

@test "bad input: unknown image, bad reference, bad sizes, a name in use: one clear line, nothing left" {
	run h run --rm "$REGISTRY/nosuch:1" true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "hull: "* ]]
	run h run --rm "Bad:Ref" true
	[ "$status" -ne 0 ]
	[[ "$output" == "hull: "* ]]
	# docker's statuses for a command that is missing or cannot be executed.
	run -127 h run --rm "$BUSYBOX" /nonexistent
	run -126 h run --rm "$BUSYBOX" /etc/passwd
	run h run --rm --memory lots "$BUSYBOX" true
	[ "$status" -ne 0 ]
	run h run --rm --network nosuchnet "$BUSYBOX" true
	[ "$status" -eq 125 ]
	[[ "$output" == "hull: no such network 'nosuchnet'" ]]
	h run -d --name taken "$BUSYBOX" sleep 100 >/dev/null
	run h run -d --name taken "$BUSYBOX" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"already in use"* ]]
	[ "$(h ps -aq | wc -l)" -eq 1 ]
	run h stop nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuch"* ]]
}

@test "run -it: the container gets a terminal; exec -t too" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	h pull "$BUSYBOX" >/dev/null
	run script -qc "\"$HULL\" --root \"$HROOT\" run --rm -it \"$BUSYBOX\" sh -c 'tty; echo \$TERM'" /dev/null </dev/null
	[ "$status" -eq 0 ]
	# script(1) with no input sends the terminal an end-of-file, which the container's terminal
	# echoes (^@) ahead of whichever line it comes before: match inside the lines.
	[[ "${lines[0]}" == */dev/pts/* ]]
	[[ "${lines[1]}" == *xterm* ]]
	h run -d --name term "$BUSYBOX" sleep 100 >/dev/null
	run script -qc "\"$HULL\" --root \"$HROOT\" exec -it term tty" /dev/null </dev/null
	[[ "${lines[0]}" == */dev/pts/* ]]
	# Without -t there is no terminal.
	run h exec term tty
	[ "$status" -ne 0 ]
}
