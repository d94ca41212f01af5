#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# images.bats: pull and push against a real registry (Debian's docker-registry on 127.0.0.1), with
# skopeo as the reference client both ways; layer formats, whiteouts, malicious layers, removal.

load instance-helpers

setup_file() { setup_registry_file; }
teardown_file() { stop_registry; }
setup() { setup_root; }
teardown() { teardown_root; }

# store_state: what the store holds, to compare before and after a failed command.
store_state() {
	(cd "$HROOT" && find blobs layers -mindepth 1 -maxdepth 2 2>/dev/null | sort; h images -q) | md5sum
}

@test "pull: what skopeo pushed, verified and unpacked once; a second pull fetches no blob" {
	run h pull "$BUSYBOX"
	[ "$status" -eq 0 ]
	id=$output
	run h images --format json
	[ "$(echo "$output" | jq -r '.[0].id')" = "$id" ]
	[ "$(echo "$output" | jq -r '.[0].digest')" = "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$BUSYBOX")" ]
	[ -x "$HROOT/layers/$(h image inspect "$BUSYBOX" | jq -r '.[0].layers[0]' | cut -d: -f2)/bin/busybox" ]
	before=$(stat -c %Y "$HROOT"/blobs/sha256/* | sort | md5sum)
	sleep 1.1
	h pull "$BUSYBOX" >/dev/null
	[ "$(stat -c %Y "$HROOT"/blobs/sha256/* | sort | md5sum)" = "$before" ]
}

@test "push: skopeo copies what hull pushed, with the same digests" {
	h pull "$BUSYBOX" >/dev/null
	run h push "$BUSYBOX" "$REGISTRY/copy/busybox:2"
	[ "$status" -eq 0 ]
	pushed=$output
	[ "$pushed" = "$(h image inspect "$BUSYBOX" | jq -r '.[0].manifest_digest')" ]
	[ "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/copy/busybox:2" | sha256sum | cut -d' ' -f1)" = "${pushed#sha256:}" ]
	skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/copy/busybox:2" "oci:$TEST_DIR/copy:2"
	for d in $(h image inspect "$BUSYBOX" | jq -r '.[0].manifest.layers[].digest'); do
		[ -f "$TEST_DIR/copy/blobs/sha256/${d#sha256:}" ]
	done
}

@test "layers: zstd, uncompressed and Docker schema 2 images pull and run" {
	make_image "$TEST_DIR/z" 1 --compress zstd --cmd '["echo","zstd"]' >/dev/null
	push_image "$TEST_DIR/z:1" fmt/zstd:1
	make_image "$TEST_DIR/n" 1 --compress none --cmd '["echo","plain"]' >/dev/null
	push_image "$TEST_DIR/n:1" fmt/plain:1
	make_image "$TEST_DIR/d" 1 --cmd '["echo","docker"]' >/dev/null
	skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$TEST_DIR/d:1" "docker://$REGISTRY/fmt/docker:1"
	[ "$(h run --rm "$REGISTRY/fmt/zstd:1")" = zstd ]
	[ "$(h run --rm "$REGISTRY/fmt/plain:1")" = plain ]
	[ "$(h run --rm "$REGISTRY/fmt/docker:1")" = docker ]
	# One busybox layer, unpacked once, shared by the three images.
	[ "$(ls "$HROOT/layers" | grep -vc '^\.')" -eq 1 ]
}

@test "layers: whiteouts and opaque directories hide lower files in the container" {
	mkdir -p "$TEST_DIR/l1/dir" "$TEST_DIR/l2/dir"
	echo a >"$TEST_DIR/l1/a"
	echo x >"$TEST_DIR/l1/dir/x"
	: >"$TEST_DIR/l2/.wh.a"
	: >"$TEST_DIR/l2/dir/.wh..wh..opq"
	echo y >"$TEST_DIR/l2/dir/y"
	make_image "$TEST_DIR/wh" 1 --layer "$TEST_DIR/l1" --layer "$TEST_DIR/l2" >/dev/null
	push_image "$TEST_DIR/wh:1" wh:1
	run h run --rm "$REGISTRY/wh:1" sh -c 'ls /a 2>&1; ls /dir'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"No such file"* ]]
	[ "${lines[1]}" = y ]
}

# bad_layer NAME PYTHON: a one-layer image whose tar is written by PYTHON (given a tarfile t).
bad_layer() {
	python3 - "$TEST_DIR/$1.tar" <<-PY
	import io, sys, tarfile
	t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
	def add(name, data=b"x", **kw):
	    i = tarfile.TarInfo(name)
	    for k, v in kw.items(): setattr(i, k, v)
	    i.size = len(data) if i.type == tarfile.REGTYPE else 0
	    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
	$2
	t.close()
	PY
	python3 "$HULL_SRC/tests/integration/lib/mkimage.py" --out "$TEST_DIR/$1" --tag 1 --layer "$(rootfs_cache)" \
		--layer-tar "$TEST_DIR/$1.tar" >/dev/null
	push_image "$TEST_DIR/$1:1" "bad/$1:1"
}

@test "malicious layers are refused, nothing of them kept, nothing written outside" {
	target=$TEST_DIR/outside
	bad_layer dotdot "add('../../../../../..$target-dotdot')"
	bad_layer symlink "add('evil', type=tarfile.SYMTYPE, linkname='$TEST_DIR'); add('evil/outside-symlink')"
	bad_layer hardlink "add('hl', type=tarfile.LNKTYPE, linkname='../../../../../../etc/passwd')"
	bad_layer absolute "add('$target-abs')"
	h pull "$BUSYBOX" >/dev/null
	before=$(store_state)
	for name in dotdot symlink hardlink absolute; do
		run h pull "$REGISTRY/bad/$name:1"
		echo "$name: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "hull: "* ]]
		[ "$(store_state)" = "$before" ]
	done
	[ ! -e "$target-dotdot" ] && [ ! -e "$target-abs" ] && [ ! -e "$TEST_DIR/outside-symlink" ]
	[ -z "$(ls -A "$HROOT/layers" | grep -v '^\.empty$' | grep '^\.')" ]
}

@test "rmi: shared layers stay while used; in-use images refused; tags; prune" {
	h pull "$BUSYBOX" >/dev/null
	h tag "$BUSYBOX" "$REGISTRY/other:1"
	[ "$(h images --format json | jq length)" -eq 2 ]
	run h rmi "$REGISTRY/other:1"
	[ "$output" = "Untagged: $REGISTRY/other:1" ]
	h run -d --name user "$BUSYBOX" sleep 100 >/dev/null
	run h rmi "$BUSYBOX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"used by 1 instance"* ]]
	h rm -f user >/dev/null
	h rmi "$BUSYBOX"
	[ "$(h images --format json | jq length)" -eq 0 ]
	[ -z "$(ls -A "$HROOT/layers" | grep -v '^\.empty$')" ]
	run h image prune
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$HROOT/blobs/sha256")" ]
}

@test "bad input: registry down, unknown tag, digest mismatch: a clear error, the store as before" {
	h pull "$BUSYBOX" >/dev/null
	before=$(store_state)
	run h pull "127.0.0.1:$(free_port)/nothing:1"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(store_state)" = "$before" ]
	run h pull "$REGISTRY/busybox:nosuchtag"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not found"* || "$output" == *"unknown"* ]]
	run h pull "BAD//ref"
	[ "$status" -ne 0 ]
	# A layer blob altered in the registry's storage: its digest no longer matches.
	mkdir -p "$TEST_DIR/cl"
	echo corrupt-me >"$TEST_DIR/cl/file"
	make_image "$TEST_DIR/c" 1 --layer "$TEST_DIR/cl" >/dev/null
	push_image "$TEST_DIR/c:1" corrupt:1
	layer=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/corrupt:1" | jq -r '.layers[1].digest')
	blob=$(find "$BATS_FILE_TMPDIR/registry/data" -path "*/blobs/sha256/*/${layer#sha256:}/data")
	printf 'garbage' >"$blob"
	before=$(store_state)
	run h pull "$REGISTRY/corrupt:1"
	[ "$status" -ne 0 ]
	[ "$(store_state)" = "$before" ]
}

@test "full disk: a pull into a root on a 1 MiB file system fails clearly and leaves no half-made image" {
	mkdir -p "$TEST_DIR/small"
	mount -t tmpfs -o size=1m tmpfs "$TEST_DIR/small"
	run "$HULL" --root "$TEST_DIR/small/root" pull "$BUSYBOX"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"space"* ]]
	run "$HULL" --root "$TEST_DIR/small/root" images -q
	[ -z "$output" ]
	[ -z "$(ls -A "$TEST_DIR/small/root/layers" 2>/dev/null | grep -v '^\.empty$')" ]
	umount "$TEST_DIR/small"
}

@test "login: basic auth against a registry with htpasswd; credentials stored 0600" {
	command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
	local dir=$TEST_DIR/authreg
	mkdir -p "$dir"
	htpasswd -Bbn alice s3cret >"$dir/htpasswd"
	local saved_reg=$REGISTRY saved_pid=$REGISTRY_PID
	start_registry "$dir" "$(printf 'auth:\n  htpasswd:\n    realm: test\n    path: %s' "$dir/htpasswd")"
	local authreg=$REGISTRY authpid=$REGISTRY_PID
	REGISTRY=$saved_reg REGISTRY_PID=$saved_pid
	skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$BATS_FILE_TMPDIR/busybox:1" "docker://$authreg/private:1"
	run h pull "$authreg/private:1"
	[ "$status" -ne 0 ]
	run h login -u alice -p wrong "$authreg"
	[ "$status" -ne 0 ]
	h login -u alice -p s3cret "$authreg"
	[ "$(stat -c %a "$HROOT/auth.json")" = 600 ]
	run h pull "$authreg/private:1"
	[ "$status" -eq 0 ]
	h logout "$authreg"
	kill "$authpid"
	wait "$authpid" 2>/dev/null || true
}

@test "import: an OCI layout directory, and oci-archive and docker-archive tars as skopeo writes them" {
	make_image "$TEST_DIR/layout" 7 --cmd '["echo","from-layout"]' >/dev/null
	run h image import "$TEST_DIR/layout" local/layout:7
	[ "$status" -eq 0 ]
	[ "$(h run --rm local/layout:7)" = from-layout ]
	skopeo copy -q --src-tls-verify=false "docker://$BUSYBOX" "oci-archive:$TEST_DIR/bb-oci.tar:1"
	skopeo copy -q --src-tls-verify=false "docker://$BUSYBOX" "docker-archive:$TEST_DIR/bb-docker.tar:saved/busybox:2"
	run h image import "$TEST_DIR/bb-oci.tar" from/oci:1
	[ "$status" -eq 0 ]
	run h image import "$TEST_DIR/bb-docker.tar"
	[ "$status" -eq 0 ]
	# docker-archive keeps its own name (RepoTags).
	[ "$(h run --rm saved/busybox:2 echo ok)" = ok ]
	[ "$(h run --rm from/oci:1 echo ok)" = ok ]
	# All three carry the same busybox layer, whatever the archive: unpacked once.
	[ "$(ls "$HROOT/layers" | grep -vc '^\.')" -eq 1 ]
}

@test "export: oci-dir, oci-archive and docker-archive that skopeo reads, and that import back to the same image" {
	h pull "$BUSYBOX" >/dev/null
	id=$(h image inspect "$BUSYBOX" | jq -r '.[0].id')
	h image export --format oci-dir "$BUSYBOX" "$TEST_DIR/out-dir"
	h image export --format oci-archive "$BUSYBOX" "$TEST_DIR/out-oci.tar"
	h image export --format docker-archive "$BUSYBOX" "$TEST_DIR/out-docker.tar"
	[ "$(skopeo inspect --format '{{.Digest}}' "oci:$TEST_DIR/out-dir")" = "$(h image inspect "$BUSYBOX" | jq -r '.[0].manifest_digest')" ]
	skopeo inspect "oci-archive:$TEST_DIR/out-oci.tar" >/dev/null
	skopeo inspect "docker-archive:$TEST_DIR/out-docker.tar" >/dev/null
	for f in out-dir out-oci.tar out-docker.tar; do
		run "$HULL" --root "$TEST_DIR/r-$f" image import "$TEST_DIR/$f"
		echo "$f: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "$id" ]
		[ "$("$HULL" --root "$TEST_DIR/r-$f" run --rm "$id" echo ok)" = ok ]
		"$HULL" --root "$TEST_DIR/r-$f" rm -f $("$HULL" --root "$TEST_DIR/r-$f" ps -aq) >/dev/null 2>&1 || true
	done
}

@test "import: a corrupt or truncated archive fails clearly and leaves the store as it was" {
	h pull "$BUSYBOX" >/dev/null
	skopeo copy -q --src-tls-verify=false "docker://$BUSYBOX" "oci-archive:$TEST_DIR/bb.tar:1"
	head -c 300000 "$TEST_DIR/bb.tar" >"$TEST_DIR/cut.tar"
	before=$(store_state)
	run h image import "$TEST_DIR/cut.tar" cut:1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(store_state)" = "$before" ]
	echo garbage >"$TEST_DIR/garbage.tar"
	run h image import "$TEST_DIR/garbage.tar"
	[ "$status" -ne 0 ]
	[ "$(store_state)" = "$before" ]
	run h image import "$TEST_DIR/nothere.tar"
	[ "$status" -ne 0 ]
}

@test "crash: a pull killed half-way leaves a store the next pull completes; a removal killed half-way is swept" {
	# A big enough image that the pull is still under way when it is killed.
	mkdir -p "$TEST_DIR/big"
	head -c 30000000 /dev/urandom >"$TEST_DIR/big/blob"
	make_image "$TEST_DIR/bigimg" 1 --layer "$TEST_DIR/big" >/dev/null
	push_image "$TEST_DIR/bigimg:1" big:1
	"$HULL" --root "$HROOT" pull -q "$REGISTRY/big:1" >/dev/null 2>&1 &
	local pid=$!
	sleep 0.3
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	run h pull -q "$REGISTRY/big:1"
	[ "$status" -eq 0 ]
	[ "$(h run --rm "$REGISTRY/big:1" wc -c /blob | awk '{print $1}')" -eq 30000000 ]
	# An instance whose record went but whose files stayed (as a removal killed in between leaves it).
	id=$(h create --name half "$REGISTRY/big:1" true)
	sqlite3 "$HROOT/hull.db" "DELETE FROM instances WHERE id = '$id'"
	[ -d "$HROOT/instances/$id" ]
	h run --rm "$REGISTRY/big:1" true
	[ ! -d "$HROOT/instances/$id" ]
	! grep -q "$id" /proc/self/mountinfo
}

@test "pull: per-layer progress bars on a terminal, nothing when not a terminal" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	run script -qc "\"$HULL\" --root \"$HROOT\" pull \"$BUSYBOX\"" /dev/null </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"layer 1   ["*"MB"* ]]
	run h rmi "$BUSYBOX"
	run h pull "$BUSYBOX"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "store: the root is an OCI image layout that skopeo reads, its index.json naming every image" {
	h pull "$BUSYBOX" >/dev/null
	h tag "$BUSYBOX" local/also:2
	[ "$(jq -r '.manifests | length' "$HROOT/index.json")" -eq 2 ]
	# Names are stored canonical, as a reference normalises.
	skopeo copy -q "oci:$HROOT:docker.io/local/also:2" "oci:$TEST_DIR/copied:x"
	[ "$(skopeo inspect --format '{{.Digest}}' "oci:$TEST_DIR/copied:x")" = "$(h image inspect local/also:2 | jq -r '.[0].manifest_digest')" ]
	h rmi local/also:2 >/dev/null
	[ "$(jq -r '.manifests | length' "$HROOT/index.json")" -eq 1 ]
}
