#!/usr/bin/env bats
# Mounts: the read-only root, masked and read-only paths, bind and tmpfs mounts with their
# options and propagation, the default devices and linux.devices, /dev links and pts, cgroups.

load helpers
load lib

setup() {
	setup_bundle
	HOST_MOUNTS=()
}

teardown() {
	local i
	# Undo host mounts innermost first, before the test dir is removed.
	for ((i = ${#HOST_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${HOST_MOUNTS[$i]}" 2>/dev/null || true
	done
	teardown_bundle
}

# host_mount ARG... TARGET: mount(8) on the host, undone in teardown.
host_mount() {
	mount "$@"
	HOST_MOUNTS+=("${!#}")
}

# add_mount JSON: appends one mount to config.json's mounts.
add_mount() {
	update_config --argjson m "$1" '.mounts += [$m]'
}

# mount_line PATH: the container's mountinfo line for mount point PATH (from $output).
mountinfo_of() {
	echo "$output" | awk -v p="$1" '$5 == p'
}

@test "root.readonly makes / read-only, and false leaves it writable" {
	run_container sh -c 'touch /probe || echo failed; grep " / " /proc/mounts'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Read-only file system"* ]]
	[ "${lines[1]}" = failed ]
	[[ "${lines[2]}" == *" / "*" ro,"* ]]
	[ ! -e "$BUNDLE/rootfs/probe" ]
	update_config '.root.readonly = false'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-rw"
	[ "$status" -eq 0 ]
	[ -e "$BUNDLE/rootfs/probe" ]
	[[ "$output" == *" / "*" rw,"* ]]
}

@test "maskedPaths hide a file (empty) and a directory (empty, read-only)" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	mkdir "$BUNDLE/rootfs/secrets"
	echo key >"$BUNDLE/rootfs/secrets/key"
	update_config '.root.readonly = false | .linux.maskedPaths += ["/etc/secret", "/secrets", "/no/such/path"]'
	run_container sh -c 'wc -c </etc/secret; ls -A /secrets | wc -l; touch /secrets/new; wc -c </proc/timer_list'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[[ "$output" == *"/secrets/new"*"Read-only file system"* ]]
	# A default mask (of the spec's list) too.
	[ "${lines[-1]}" = 0 ]
	# The host's files are untouched.
	[ "$(cat "$BUNDLE/rootfs/etc/secret")" = secret ]
	[ -e "$BUNDLE/rootfs/secrets/key" ]
}

@test "readonlyPaths are read-only while the rest stays writable" {
	mkdir "$BUNDLE/rootfs/frozen"
	update_config '.root.readonly = false | .linux.readonlyPaths += ["/frozen"]'
	run_container sh -c 'touch /frozen/x 2>&1; touch /tmp/x && echo tmp-ok; echo 1 >/proc/sys/kernel/ns_last_pid 2>&1'
	[[ "${lines[0]}" == *"/frozen/x"*"Read-only file system"* ]]
	[ "${lines[1]}" = tmp-ok ]
	# /proc/sys is in the default readonlyPaths.
	[[ "${lines[2]}" == *"Read-only file system"* ]]
}

@test "bind mounts: read-write, read-only, and a single file" {
	mkdir "$TEST_DIR/rw" "$TEST_DIR/ro"
	echo from-host >"$TEST_DIR/ro/file"
	echo single >"$TEST_DIR/one-file"
	add_mount "{\"destination\": \"/rw\", \"type\": \"bind\", \"source\": \"$TEST_DIR/rw\", \"options\": [\"bind\"]}"
	add_mount "{\"destination\": \"/ro\", \"type\": \"bind\", \"source\": \"$TEST_DIR/ro\", \"options\": [\"bind\", \"ro\"]}"
	add_mount "{\"destination\": \"/etc/one-file\", \"type\": \"bind\", \"source\": \"$TEST_DIR/one-file\", \"options\": [\"bind\", \"ro\"]}"
	run_container sh -c 'echo written >/rw/new; cat /ro/file; touch /ro/x 2>&1; cat /etc/one-file; [ -f /etc/one-file ] && echo is-file'
	[ "${lines[0]}" = from-host ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	[ "${lines[2]}" = single ]
	[ "${lines[3]}" = is-file ]
	[ "$(cat "$TEST_DIR/rw/new")" = written ]
	[ ! -e "$TEST_DIR/ro/x" ]
}

@test "bind mounts: rbind brings submounts along, bind does not" {
	mkdir -p "$TEST_DIR/tree/sub"
	host_mount -t tmpfs -o size=1m tmpfs "$TEST_DIR/tree/sub"
	echo in-submount >"$TEST_DIR/tree/sub/file"
	add_mount "{\"destination\": \"/r\", \"type\": \"bind\", \"source\": \"$TEST_DIR/tree\", \"options\": [\"rbind\"]}"
	add_mount "{\"destination\": \"/n\", \"type\": \"bind\", \"source\": \"$TEST_DIR/tree\", \"options\": [\"bind\"]}"
	run_container sh -c 'cat /r/sub/file; ls -A /n/sub | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = in-submount ]
	[ "${lines[1]}" = 0 ]
}

@test "a bind mount whose source is missing fails naming the mount" {
	add_mount "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"$TEST_DIR/missing\", \"options\": [\"bind\"]}"
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "$TEST_DIR/missing"
	[[ "$stderr" == *"mounts["* ]]
	assert_nothing_left "$ID"
}

@test "tmpfs with size and mode, and nosuid/noexec/nodev in effect" {
	add_mount '{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
		"options": ["size=4m", "mode=1770", "nosuid", "noexec", "nodev"]}'
	run_container sh -c 'stat -c %a /scratch; df -k /scratch | tail -1; grep " /scratch " /proc/mounts; cp /bin/busybox /scratch/bb; /scratch/bb true 2>&1; dd if=/dev/zero of=/scratch/big bs=1k count=4096 2>&1 | grep -o "No space left on device"'
	[ "${lines[0]}" = 1770 ]
	[ "$(echo "${lines[1]}" | awk '{print $2}')" = 4096 ]
	[[ "${lines[2]}" == *nosuid* && "${lines[2]}" == *nodev* && "${lines[2]}" == *noexec* ]]
	[[ "${lines[2]}" == *size=4096k* && "${lines[2]}" == *mode=1770* ]]
	# noexec: the copied binary does not run.
	[[ "${lines[3]}" == *"Permission denied"* ]]
	# size: 4 MiB more does not fit next to the copy.
	[[ "${lines[4]}" == *"No space left on device"* ]]
}

@test "the default mounts carry their options (mount output)" {
	run_container mount
	[ "$status" -eq 0 ]
	line=$(echo "$output" | grep ' on /dev/shm ')
	[[ "$line" == *nosuid* && "$line" == *nodev* && "$line" == *noexec* ]]
	line=$(echo "$output" | grep ' on /sys type sysfs ')
	[[ "$line" == *"(ro,"* && "$line" == *nosuid* ]]
	line=$(echo "$output" | grep ' on /dev/pts ')
	[[ "$line" == *newinstance* || "$line" == *ptmxmode=666* ]]
	line=$(echo "$output" | grep ' on /proc type proc ')
	[ -n "$line" ]
}

@test "propagation: shared and unbindable options show in mountinfo; private has no peer" {
	mkdir "$TEST_DIR/src"
	add_mount "{\"destination\": \"/s\", \"type\": \"bind\", \"source\": \"$TEST_DIR/src\", \"options\": [\"rbind\", \"rshared\"]}"
	add_mount "{\"destination\": \"/u\", \"type\": \"bind\", \"source\": \"$TEST_DIR/src\", \"options\": [\"bind\", \"unbindable\"]}"
	add_mount "{\"destination\": \"/p\", \"type\": \"bind\", \"source\": \"$TEST_DIR/src\", \"options\": [\"bind\", \"private\"]}"
	add_mount '{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["shared"]}'
	run_container cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[[ "$(mountinfo_of /s)" == *" shared:"* ]]
	[[ "$(mountinfo_of /t)" == *" shared:"* ]]
	[[ "$(mountinfo_of /u)" == *" unbindable "* ]]
	p=$(mountinfo_of /p)
	[ -n "$p" ]
	[[ "$p" != *shared:* && "$p" != *master:* ]]
}

@test "propagation: an rslave bind sees what the host mounts below it later; rprivate does not" {
	mkdir -p "$TEST_DIR/prop/sub"
	# The source must be shared on the host for anything to propagate.
	host_mount --bind "$TEST_DIR/prop" "$TEST_DIR/prop"
	mount --make-shared "$TEST_DIR/prop"
	add_mount "{\"destination\": \"/slave\", \"type\": \"bind\", \"source\": \"$TEST_DIR/prop\", \"options\": [\"rbind\", \"rslave\"]}"
	add_mount "{\"destination\": \"/private\", \"type\": \"bind\", \"source\": \"$TEST_DIR/prop\", \"options\": [\"rbind\", \"rprivate\"]}"
	set_args sleep 100
	start_detached
	host_mount -t tmpfs tmpfs "$TEST_DIR/prop/sub"
	echo late >"$TEST_DIR/prop/sub/file"
	run hull exec "$ID" cat /slave/sub/file
	[ "$status" -eq 0 ]
	[ "$output" = late ]
	run hull exec "$ID" ls -A /private/sub
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# And nothing the container mounts comes back to the host (the rootfs is slave).
	[ "$(grep -c "$BUNDLE/rootfs" /proc/self/mountinfo)" = 0 ]
}

@test "rootfsPropagation sets the propagation of /" {
	update_config '.linux.rootfsPropagation = "shared"'
	run_container cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[[ "$(mountinfo_of /)" == *" shared:"* ]]
	update_config '.linux.rootfsPropagation = "unbindable"'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-u"
	[ "$status" -eq 0 ]
	[[ "$(mountinfo_of /)" == *" unbindable "* ]]
	update_config '.linux.rootfsPropagation = "private"'
	run "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID-p"
	[ "$status" -eq 0 ]
	[[ "$(mountinfo_of /)" != *shared:* && "$(mountinfo_of /)" != *unbindable* ]]
}

@test "rootfsPropagation rejects an unknown value" {
	update_config '.linux.rootfsPropagation = "sideways"'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.rootfsPropagation: unknown propagation 'sideways'"
	assert_nothing_left "$ID"
}

@test "the default devices exist with their numbers and mode 0666" {
	run_container stat -c '%n %F %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null character special file 1:3 666" ]
	[ "${lines[1]}" = "/dev/zero character special file 1:5 666" ]
	[ "${lines[2]}" = "/dev/full character special file 1:7 666" ]
	[ "${lines[3]}" = "/dev/random character special file 1:8 666" ]
	[ "${lines[4]}" = "/dev/urandom character special file 1:9 666" ]
	[ "${lines[5]}" = "/dev/tty character special file 5:0 666" ]
}

@test "the default devices work: null swallows, zero gives zeros, full is full" {
	run_container sh -c 'echo x >/dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; echo x 2>&1 >/dev/full; head -c 8 /dev/urandom | wc -c'
	[ "${lines[0]}" = null-ok ]
	[ "$(echo ${lines[1]})" = "00 00 00 00" ]
	[[ "${lines[2]}" == *"No space left on device"* ]]
	[ "${lines[3]}" = 8 ]
}

@test "linux.devices: nodes with fileMode, uid and gid, a fifo, and an override of a default" {
	update_config '.linux.devices = [
		{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 1000, "gid": 1001},
		{"path": "/dev/sub/dir/myzero", "type": "c", "major": 1, "minor": 5},
		{"path": "/dev/myfifo", "type": "p", "fileMode": 420},
		{"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 432}]'
	run_container stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/sub/dir/myzero /dev/myfifo /dev/full
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/mynull character special file 1:3 600 1000:1001" ]
	[ "${lines[1]}" = "/dev/sub/dir/myzero character special file 1:5 666 0:0" ]
	[ "${lines[2]}" = "/dev/myfifo fifo 0:0 644 0:0" ]
	[ "${lines[3]}" = "/dev/full character special file 1:7 660 0:0" ]
}

@test "linux.devices: a bad type is refused naming the field" {
	update_config '.linux.devices = [{"path": "/dev/x", "type": "q", "major": 1, "minor": 3}]'
	run_split "$HULL" oci --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_one_error_line "linux.devices[0].type"
	assert_nothing_left "$ID"
}

@test "the /dev symlinks point where they should" {
	run_container sh -c 'for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "fd /proc/self/fd" ]
	[ "${lines[1]}" = "stdin /proc/self/fd/0" ]
	[ "${lines[2]}" = "stdout /proc/self/fd/1" ]
	[ "${lines[3]}" = "stderr /proc/self/fd/2" ]
	[ "${lines[4]}" = "ptmx pts/ptmx" ]
}

@test "/dev/pts is the container's own: opening /dev/ptmx makes pts 0" {
	run_container sh -c 'ls /dev/pts; exec 3<>/dev/ptmx; ls /dev/pts; stat -c %a /dev/pts/ptmx'
	[ "$status" -eq 0 ]
	# Before: only ptmx (a new instance, none of the host's terminals); after: pty 0 too.
	[ "${lines[0]}" = ptmx ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = ptmx ]
	[ "${lines[3]}" = 666 ]
}

@test "the cgroup mount shows the container's own cgroup" {
	update_config '.linux.resources.memory = {"limit": 123731968} | .linux.resources.pids = {"limit": 77}'
	run_container sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; ls /sys/fs/cgroup/memory | grep -c "^hull$"; touch /sys/fs/cgroup/memory/x 2>&1'
	[ "${lines[0]}" = 123731968 ]
	[ "${lines[1]}" = 77 ]
	# The container is the root of what it sees: no "hull" directory of the host's.
	[ "${lines[2]}" = 0 ]
	[[ "${lines[3]}" == *"Read-only file system"* ]]
}

@test "the cgroup mount shows the container's own cgroup without a cgroup namespace too" {
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))
		| .linux.resources.memory = {"limit": 123731968} | .linux.resources.pids = {"limit": 77}'
	run_container sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 123731968 ]
	[ "${lines[1]}" = 77 ]
}

@test "idmapped bind mount: the mount's own mappings show on-disk owners as mapped" {
	mkdir -p "$TEST_DIR/idsrc"
	echo data > "$TEST_DIR/idsrc/file"
	chown 0:0 "$TEST_DIR/idsrc/file"
	update_config --arg src "$TEST_DIR/idsrc" '.mounts += [{"destination": "/idm", "type": "none",
		"source": $src, "options": ["bind", "idmap"],
		"uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}],
		"gidMappings": [{"containerID": 0, "hostID": 4321, "size": 1}]}]'
	set_args sh -c 'stat -c %u:%g /idm/file; cat /idm/file'
	hull_run
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1234:4321" ]
	[ "${lines[1]}" = data ]
	# Only the mount is mapped: the directory itself is unchanged on the host.
	[ "$(stat -c %u:%g "$TEST_DIR/idsrc/file")" = "0:0" ]
	! grep -q "$TEST_DIR/idsrc" /proc/self/mountinfo
}

@test "idmapped bind mount: 'idmap' alone takes the container's user namespace mappings" {
	mkdir -p "$TEST_DIR/idsrc"
	echo data > "$TEST_DIR/idsrc/file"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	chmod 755 "$TEST_DIR" "$BUNDLE"
	update_config --arg src "$TEST_DIR/idsrc" '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .mounts |= map(select(.type != "cgroup" and .type != "sysfs"))
		| .mounts += [{"destination": "/idm", "type": "none", "source": $src, "options": ["rbind", "ridmap"]},
		              {"destination": "/plain", "type": "none", "source": $src, "options": ["rbind"]}]'
	set_args sh -c 'stat -c %u:%g /idm/file; stat -c %u:%g /plain/file'
	hull_run
	echo "$output"
	[ "$status" -eq 0 ]
	# On disk the file is root's: through the idmapped mount that is the container's root,
	# through a plain bind it is no one the user namespace knows.
	[ "${lines[0]}" = "0:0" ]
	[ "${lines[1]}" = "65534:65534" ]
}

@test "idmapped mount errors name the field" {
	update_config '.mounts += [{"destination": "/idm", "type": "none", "source": "/tmp", "options": ["bind", "idmap"]}]'
	hull_run
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"mounts["*"].uidMappings: required"* ]]
	[ -z "$(hull list -q)" ]
}
