# SPDX-License-Identifier: LGPL-2.1-or-later
# instance-helpers.bash: shared setup for the image and container tests: a throwaway hull root per
# test, a real registry (Debian's docker-registry on 127.0.0.1) per file, test images made from the
# busybox rootfs and pushed to it with skopeo; teardown removes every instance and checks that no
# mount, cgroup or process of the test's root was left behind.

load helpers

# free_port: a TCP port nobody listens on at this moment.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_registry DIR [EXTRA_YAML]: starts docker-registry on 127.0.0.1:<free port> with its storage
# in DIR; sets REGISTRY=127.0.0.1:PORT and REGISTRY_PID.
start_registry() {
	local dir=$1 extra=${2:-} port
	command -v docker-registry >/dev/null || skip "docker-registry is not installed"
	command -v skopeo >/dev/null || skip "skopeo is not installed"
	port=$(free_port)
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<-YAML
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $dir/data
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	$extra
	YAML
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REGISTRY_PID=$!
	REGISTRY=127.0.0.1:$port
	local i
	for i in $(seq 100); do
		# Up: 200, or 401 when it asks for credentials.
		case $(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/") in
		200 | 401) return 0 ;;
		esac
		sleep 0.05
	done
	cat "$dir/registry.log" >&2
	return 1
}

stop_registry() {
	[ -n "${REGISTRY_PID:-}" ] || return 0
	kill "$REGISTRY_PID" 2>/dev/null || true
	wait "$REGISTRY_PID" 2>/dev/null || true
}

# push_image OCI_DIR:TAG REPO:TAG: copies an OCI layout into the file's registry with skopeo.
push_image() {
	skopeo copy -q --dest-tls-verify=false "oci:$1" "docker://$REGISTRY/$2" >/dev/null
}

# make_image DIR TAG [mkimage.py options]: an OCI layout of the busybox rootfs (and more layers).
make_image() {
	local dir=$1 tag=$2
	shift 2
	python3 "$HULL_SRC/tests/integration/lib/mkimage.py" --out "$dir" --tag "$tag" --layer "$(rootfs_cache)" "$@"
}

# make_system_image DIR [mkimage.py options]: the busybox rootfs with busybox's init as /sbin/init and an
# inittab whose one process stays: an image for a system container (tag 1).
make_system_image() {
	local dir=$1 layer=$BATS_FILE_TMPDIR/initlayer
	shift
	mkdir -p "$layer/sbin" "$layer/etc"
	ln -sf /bin/busybox "$layer/sbin/init"
	printf '::respawn:/bin/sleep 1000\n' >"$layer/etc/inittab"
	make_image "$dir" 1 --layer "$layer" "$@"
}

# Per file: a registry holding busybox:1 (Cmd ["sh"]) for every test of the file.
setup_registry_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_registry "$BATS_FILE_TMPDIR/registry"
	make_image "$BATS_FILE_TMPDIR/busybox" 1 --cmd '["sh"]' --env HULL_TEST=1 >/dev/null
	push_image "$BATS_FILE_TMPDIR/busybox:1" busybox:1
	BUSYBOX=$REGISTRY/busybox:1
	export REGISTRY REGISTRY_PID BUSYBOX
}

# h ARG...: hull on this test's root.
h() {
	"$HULL" --root "$HROOT" "$@"
}

setup_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	TEST_DIR=$(mktemp -d /tmp/hull-test.XXXXXX)
	# passable, as /var/lib is: a container in a user namespace resolves its root below it itself
	chmod 711 "$TEST_DIR"
	HROOT=$TEST_DIR/root
}

# teardown_root: removes every instance, then checks nothing of them is left.
teardown_root() {
	[ -n "${HROOT:-}" ] || return 0
	local ids id left=""
	ids=$(h ps -aq 2>/dev/null || true)
	for id in $ids; do
		h rm -f "$id" >/dev/null 2>&1 || true
	done
	# Its networks too, and those of any other root the test made below TEST_DIR: their bridges live in
	# the namespace the whole file shares.
	local net other
	for net in $(h network ls -q 2>/dev/null || true); do
		h network rm "$net" >/dev/null 2>&1 || true
	done
	for other in "$TEST_DIR"/*/hull.db "$TEST_DIR"/*/*/hull.db; do
		other=${other%/hull.db}
		[ -e "$other/hull.db" ] && [ "$other" != "$HROOT" ] || continue
		for id in $("$HULL" --root "$other" ps -aq 2>/dev/null || true); do
			"$HULL" --root "$other" rm -f "$id" >/dev/null 2>&1 || true
		done
		for net in $("$HULL" --root "$other" network ls -q 2>/dev/null || true); do
			"$HULL" --root "$other" network rm "$net" >/dev/null 2>&1 || true
		done
	done
	# No mount, cgroup or monitor of this root may outlive the test.
	left=$(grep -F "$TEST_DIR" /proc/self/mountinfo || true)
	if [ -n "$left" ]; then
		echo "mounts left behind: $left" >&2
		grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
	fi
	local cg
	for id in $ids; do
		cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*/hull/$id*" 2>/dev/null || true)
		left="$left$cg"
	done
	local procs
	procs=$(pgrep -f "hull-monitor $HROOT" || true)
	rm -rf "$TEST_DIR"
	if [ -n "$left$procs" ]; then
		echo "left behind: $left $procs" >&2
		return 1
	fi
}
