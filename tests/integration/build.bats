#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# build.bats: hull build from Containerfiles: RUN in hull containers, COPY, config instructions,
# whiteouts across steps, the step cache, multi-stage builds, and the result pushed to a registry.

load instance-helpers

setup_file() { setup_registry_file; }
teardown_file() { stop_registry; }
setup() {
	setup_root
	CTX=$TEST_DIR/ctx
	mkdir -p "$CTX"
}
teardown() { teardown_root; }

@test "build: RUN, COPY, ENV, ARG, WORKDIR, USER, ENTRYPOINT, CMD, LABEL, EXPOSE; a file removed later is gone" {
	echo hi >"$CTX/hello.txt"
	mkdir "$CTX/dir"
	echo a >"$CTX/dir/a"
	cat >"$CTX/Containerfile" <<-EOF
	FROM $BUSYBOX
	ARG GREETING=hello
	ENV APP=/app
	WORKDIR /app
	COPY hello.txt ./
	COPY --chown=1234:5678 dir /app/dir
	RUN echo \$GREETING > \$APP/greeting && mkdir /gone && echo x > /gone/file && echo y > /app/tmp
	RUN rm -rf /gone /app/tmp
	LABEL org.example.kind=test
	EXPOSE 8080
	USER nobody
	ENTRYPOINT ["/bin/sh", "-c"]
	CMD ["cat greeting; ls; stat -c %u:%g dir/a; ls /gone 2>&1; id -u; pwd; echo \$APP"]
	EOF
	run h build -t built:1 --build-arg GREETING=bonjour "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run h run --rm built:1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = bonjour ]
	[ "${lines[1]}" = dir ]
	[ "${lines[2]}" = greeting ]
	[ "${lines[3]}" = hello.txt ]
	[ "${lines[4]}" = 1234:5678 ]
	[[ "${lines[5]}" == *"No such file or directory"* ]]
	[ "${lines[6]}" = 65534 ]
	[ "${lines[7]}" = /app ]
	[ "${lines[8]}" = /app ]
	run h image inspect built:1
	[ "$(echo "$output" | jq -r '.[0].config.config.Labels["org.example.kind"]')" = test ]
	[ "$(echo "$output" | jq -r '.[0].config.config.ExposedPorts | keys[0]')" = 8080/tcp ]
	# busybox, WORKDIR's mkdir, two COPYs, two RUNs: one layer each.
	[ "$(echo "$output" | jq -r '.[0].layers | length')" -eq 6 ]
	# The removal is a whiteout in the last layer, not a missing file in the lower ones.
	[ -e "$HROOT/layers/$(echo "$output" | jq -r '.[0].layers[4]' | cut -d: -f2)/gone/file" ]
}

@test "build: an unchanged RUN is taken from the cache; --no-cache runs it again" {
	printf 'FROM %s\nRUN cat /proc/sys/kernel/random/uuid > /stamp\nCMD ["cat", "/stamp"]\n' "$BUSYBOX" >"$CTX/Containerfile"
	h build -q -t stamp:1 "$CTX" >/dev/null
	first=$(h run --rm stamp:1)
	run h build -t stamp:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"using cache"* ]]
	[ "$(h run --rm stamp:2)" = "$first" ]
	h build -q --no-cache -t stamp:3 "$CTX" >/dev/null
	[ "$(h run --rm stamp:3)" != "$first" ]
}

@test "build: FROM scratch, multi-stage COPY --from; the image pushes and skopeo reads it back" {
	cp "$(command -v busybox)" "$CTX/busybox"
	cat >"$CTX/Containerfile" <<-EOF
	FROM $BUSYBOX AS builder
	RUN echo made-in-builder > /artifact
	FROM scratch
	COPY busybox /bin/busybox
	COPY --from=builder /artifact /artifact
	ENTRYPOINT ["/bin/busybox"]
	CMD ["cat", "/artifact"]
	EOF
	h build -q -t "$REGISTRY/built/scratch:1" "$CTX" >/dev/null
	[ "$(h run --rm "$REGISTRY/built/scratch:1")" = made-in-builder ]
	digest=$(h push "$REGISTRY/built/scratch:1")
	[ "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/built/scratch:1" | sha256sum | cut -d' ' -f1)" = "${digest#sha256:}" ]
	# What was pushed runs from a fresh root.
	run "$HULL" --root "$TEST_DIR/other" run --rm "$REGISTRY/built/scratch:1"
	[ "$output" = made-in-builder ]
	"$HULL" --root "$TEST_DIR/other" rmi "$REGISTRY/built/scratch:1" >/dev/null
}

@test "build: a failing RUN, a missing COPY source, a bad instruction: one clear error, no image" {
	printf 'FROM %s\nRUN exit 3\n' "$BUSYBOX" >"$CTX/Containerfile"
	run h build -t fail:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"line 2"*"status 3"* ]]
	printf 'FROM %s\nCOPY nothere /x\n' "$BUSYBOX" >"$CTX/Containerfile"
	run h build -t fail:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *nothere* ]]
	printf 'FROM %s\nCOPY ../escape /x\n' "$BUSYBOX" >"$CTX/Containerfile"
	run h build -t fail:3 "$CTX"
	[ "$status" -ne 0 ]
	printf 'FROM %s\nFROBNICATE\n' "$BUSYBOX" >"$CTX/Containerfile"
	run h build -t fail:4 "$CTX"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"line 2"* ]]
	run h images --format json
	[ "$(echo "$output" | jq '[.[] | select(.name != null and (.name | test("fail")))] | length')" -eq 0 ]
	# No build container, mount or directory is left.
	[ -z "$(ls -A "$HROOT/build" 2>/dev/null)" ]
	[ -z "$(ls "$HROOT/run/oci" 2>/dev/null)" ]
}
