# SPDX-License-Identifier: LGPL-2.1-or-later
# build-upstream.sh: sourced by run.sh; builds opencontainers/runtime-tools' validation programs and
# runtimetest, offline, into a cache directory laid out as they expect to be run from.

# build_upstream SRC OUT ROOTFS: builds SRC's validation/<name>/ programs into OUT/bin/<name>, and
# OUT/runtimetest and OUT/rootfs-<arch>.tar.gz, the two files the programs take from their current
# directory (validation/util: PrepareBundle untars the one, RuntimeInsideValidate copies the other
# into each bundle). Skips the build when SRC's Go files have not changed since the last one.
build_upstream() {
	local src=$1 out=$2 rootfs=$3 sum gopath dir name n=0 failed=()
	command -v go >/dev/null || die "go is not installed: apt-get install -y golang-go"
	sum=$(cd "$src" && find validation cmd/runtimetest -name '*.go' -print0 | sort -z | xargs -0 sha256sum |
		sha256sum | cut -d' ' -f1)
	[[ -f $out/stamp && $(cat "$out/stamp") == "$sum" ]] && return 0

	echo "conformance: building runtime-tools validation from $src into $out" >&2
	rm -rf "$out"
	mkdir -p "$out/bin"
	# No network: a checkout vendors its dependencies (module mode, -mod=vendor); without vendor/,
	# GOPATH mode finds them in Debian's golang-*-dev packages under /usr/share/gocode.
	local -a goenv=(GOPROXY=off GOFLAGS= GOCACHE="$out/gocache" CGO_ENABLED=0)
	if [[ -f $src/go.mod && -d $src/vendor ]]; then
		goenv+=(GO111MODULE=on GOFLAGS=-mod=vendor)
		dir=$src
	else
		gopath=$out/gopath
		dir=$gopath/src/github.com/opencontainers/runtime-tools
		mkdir -p "$(dirname "$dir")"
		ln -s "$(realpath "$src")" "$dir"
		goenv+=(GO111MODULE=off GOPATH="$gopath:/usr/share/gocode")
	fi
	# runtimetest runs inside the busybox rootfs: CGO_ENABLED=0 makes it static.
	(cd "$dir" && env "${goenv[@]}" go build -o "$out/runtimetest" ./cmd/runtimetest) ||
		die "cannot build runtimetest from $src"
	for d in "$src"/validation/*/; do
		name=$(basename "$d")
		# validation/util and the like are libraries, not programs.
		grep -qs '^package main' "$d/$name.go" || continue
		if (cd "$dir" && env "${goenv[@]}" go build -o "$out/bin/$name" "./validation/$name") 2>"$out/build-$name.log"; then
			n=$((n + 1))
		else
			failed+=("$name")
		fi
	done
	((${#failed[@]} == 0)) || echo "conformance: warning: could not build ${failed[*]} (see $out/build-*.log)" >&2
	((n > 0)) || die "no validation program built from $src"
	tar -C "$rootfs" -czf "$out/rootfs-$(go env GOARCH).tar.gz" .
	echo "$sum" >"$out/stamp"
}
