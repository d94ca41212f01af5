#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh RUNTIME [RUNTIME...]: runs every OCI runtime validation program against each runtime, with a
# timeout per program, reads their TAP and prints one row per program, a totals line per runtime and,
# for two runtimes, the tests the second fails that the first passes. Exit status 0 once every
# runtime has been run: the numbers are the result, the caller compares them.
#
# The programs are this directory's cases/*.sh, plus upstream runtime-tools' validation/<name>
# programs when a runtime-tools source tree is at hand (RUNTIME_TOOLS_SRC, see README.md).
#
# Environment:
#   CONFORMANCE_TIMEOUT=SECONDS   per program (default 120); a program past it is killed and its
#                                 unreached tests count as failed
#   CONFORMANCE_ONLY="a b"        run only these programs
#   CONFORMANCE_HIDE_CGROUP2=1    run everything in a private mount namespace without the hybrid
#                                 host's /sys/fs/cgroup/unified (crun 1.8 refuses hybrid hosts)
#   RUNTIME_TOOLS_SRC=DIR         an opencontainers/runtime-tools checkout to build validation from
#   XDG_CACHE_HOME                the cache is $XDG_CACHE_HOME/hull-conformance, else
#                                 /var/cache/hull-conformance
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=${CONFORMANCE_TIMEOUT:-120}

die() { echo "conformance: $*" >&2; exit 2; }

(($# > 0)) || die "usage: tests/conformance/run.sh RUNTIME [RUNTIME...]"
[[ $(id -u) == 0 ]] || die "must run as root (containers need namespaces, cgroups and mounts)"
for tool in jq timeout unshare busybox; do
	command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y jq coreutils util-linux busybox-static)"
done
runtimes=()
for r in "$@"; do
	p=$(command -v "$r" 2>/dev/null || true)
	[[ -n $p && -x $p ]] || die "runtime '$r' is not an executable"
	runtimes+=("$(realpath -s "$p")")
done

if [[ -n ${CONFORMANCE_HIDE_CGROUP2:-} && -z ${HULL_CONFORMANCE_IN_NS:-} ]]; then
	exec unshare --mount --propagation private env HULL_CONFORMANCE_IN_NS=1 \
		"$BASH" "${BASH_SOURCE[0]}" "${runtimes[@]}"
fi
if [[ -n ${HULL_CONFORMANCE_IN_NS:-} ]] && mountpoint -q /sys/fs/cgroup/unified; then
	umount /sys/fs/cgroup/unified || die "cannot unmount /sys/fs/cgroup/unified in the private namespace"
fi

cache=${XDG_CACHE_HOME:-/var/cache}/hull-conformance
mkdir -p "$cache"
tmp=$(mktemp -d /tmp/hull-conformance.XXXXXX)
chmod 755 "$tmp"

# unmount_under DIR: lazily unmounts whatever is left mounted below DIR, deepest first, so that
# removing DIR cannot reach into a bind-mounted host directory.
unmount_under() {
	awk -v d="$1/" 'substr($5, 1, length(d)) == d { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# Each case deletes its own containers; this catches those of a case killed by its timeout. Every
# case's runtime root is $tmp/<runtime no>/<program>/state, and a container's state is a directory
# named after its id there, for runc, crun and hull alike.
cleanup() {
	local st d i
	set +e
	for st in "$tmp"/*/*/state; do
		[[ -d $st ]] || continue
		i=$(basename "$(dirname "$(dirname "$st")")")
		for d in "$st"/*/; do
			[[ -d $d ]] && "${runtimes[$i]}" --root "$st" delete -f "$(basename "$d")" >/dev/null 2>&1
		done
	done
	unmount_under "$tmp"
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the programs -------------------------------------------------------------------------------

# The busybox root filesystem every case copies; rebuilt when busybox changes.
rootfs=$cache/rootfs
stamp=$(sha256sum "$(command -v busybox)" | cut -d' ' -f1)
if [[ ! -f $cache/rootfs.stamp || $(cat "$cache/rootfs.stamp") != "$stamp" ]]; then
	rm -rf "$rootfs"
	sh "$repo/tests/lib/busybox-rootfs.sh" "$rootfs"
	echo "$stamp" >"$cache/rootfs.stamp"
fi

# Programs skipped on purpose: "name reason" lines in skip.list.
declare -A skip_reason=()
while read -r name reason; do
	[[ -z $name || $name == \#* ]] || skip_reason[$name]=$reason
done <"$here/skip.list"

programs=()
declare -A prog_cmd=()
for c in "$here"/cases/*.sh; do
	name=$(basename "$c" .sh)
	programs+=("$name")
	prog_cmd[$name]=$c
done

# Upstream runtime-tools validation, when its source is here. Debian 12's
# golang-github-opencontainers-runtime-tools-dev ships only the library packages, not validation/
# nor cmd/runtimetest, so this needs a checkout; checkouts vendor their dependencies (tap-go is in
# no Debian package), so the build is offline.
upstream_src=${RUNTIME_TOOLS_SRC:-/usr/share/gocode/src/github.com/opencontainers/runtime-tools}
upstream_dir=
if [[ -d $upstream_src/validation && -d $upstream_src/cmd/runtimetest ]]; then
	upstream_dir=$cache/upstream
	# shellcheck source=tests/conformance/build-upstream.sh
	source "$here/build-upstream.sh"
	build_upstream "$upstream_src" "$upstream_dir" "$rootfs"
	for exe in "$upstream_dir"/bin/*; do
		name=upstream/$(basename "$exe")
		programs+=("$name")
		prog_cmd[$name]=$exe
	done
fi

if [[ -n ${CONFORMANCE_ONLY:-} ]]; then
	only=" $CONFORMANCE_ONLY "
	kept=()
	for p in "${programs[@]}"; do [[ $only != *" $p "* ]] || kept+=("$p"); done
	programs=("${kept[@]}")
	((${#programs[@]} > 0)) || die "CONFORMANCE_ONLY names no program"
fi

# ---- running and reading TAP --------------------------------------------------------------------

# tap_summary FILE STATUS: "passed failed skipped" from a program's TAP, and one "R num desc" line per
# test on fd 3 (R: P, F or S). "not ok ... # TODO" counts as skipped; tests the plan announced but the
# program never reported count as failed; a program that failed without reporting any test counts
# as one failure.
tap_summary() {
	awk -v status="$2" '
		/^1\.\.[0-9]+/ { split(substr($0, 4), a, /[^0-9]/); plan = a[1] + 0; next }
		/^(not )?ok( |$)/ {
			bad = /^not ok/
			line = $0
			sub(/^(not )?ok */, "", line)
			num = ""
			if (match(line, /^[0-9]+/)) { num = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1) }
			sub(/^ *-? */, "", line)
			r = bad ? "F" : "P"
			if (match(line, / *# *([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/)) {
				r = "S"
				line = substr(line, 1, RSTART - 1)
			}
			n++
			if (num == "") num = n
			count[r]++
			printf "%s\t%s\t%s\n", r, num, line > "/dev/fd/3"
			next
		}
		END {
			failed = count["F"] + (plan > n ? plan - n : 0)
			if (n == 0 && plan == 0 && status != 0) failed++
			printf "%d %d %d\n", count["P"], failed, count["S"]
		}' "$1"
}

# run_program RUNTIME_NO NAME: runs one program against one runtime; writes its TAP, exit status,
# summary and per-test results under $tmp/results/RUNTIME_NO/.
run_program() {
	local i=$1 name=$2 rt=${runtimes[$1]} key work out st=0 before
	key=${name//\//_}
	out=$tmp/results/$i/$key
	work=$tmp/$i/$key
	mkdir -p "$(dirname "$out")" "$work"
	chmod 755 "$tmp/$i" "$work"
	if [[ -n ${skip_reason[$name]:-} ]]; then
		echo "0 0 0" >"$out.sum"
		echo skip-listed >"$out.status"
		: >"$out.tests"
		return
	fi
	if [[ $name == upstream/* ]]; then
		# Upstream programs use the runtime's default root and expect rootfs-amd64.tar.gz and
		# runtimetest in the current directory; what they leave there is deleted by diffing `list`.
		before=$("$rt" list -q 2>/dev/null | sort || true)
		(cd "$upstream_dir" && RUNTIME=$rt timeout -k 5 "$timeout_s" "${prog_cmd[$name]}") \
			>"$out.tap" 2>"$out.err" </dev/null || st=$?
		comm -13 <(echo "$before") <("$rt" list -q 2>/dev/null | sort) | while read -r id; do
			[[ -z $id ]] || "$rt" delete -f "$id" >/dev/null 2>&1 || true
		done
	else
		RUNTIME=$rt CONFORMANCE_ROOTFS=$rootfs CONFORMANCE_WORK=$work \
			timeout -k 5 "$timeout_s" bash "${prog_cmd[$name]}" >"$out.tap" 2>"$out.err" </dev/null || st=$?
	fi
	case $st in
	0) echo ok ;;
	124 | 137) echo timeout ;;
	*) echo "exit $st" ;;
	esac >"$out.status"
	tap_summary "$out.tap" "$st" >"$out.sum" 3>"$out.tests"
}

label() { basename "$1"; }
started=$SECONDS
echo "conformance: ${#programs[@]} programs, timeout ${timeout_s}s each; runtimes: ${runtimes[*]}"
[[ -z ${HULL_CONFORMANCE_IN_NS:-} ]] ||
	echo "conformance: in a private mount namespace without /sys/fs/cgroup/unified (CONFORMANCE_HIDE_CGROUP2)"
[[ -n $upstream_dir ]] || echo "conformance: no runtime-tools source with validation/: running this suite's own cases only"
for i in "${!runtimes[@]}"; do
	t0=$SECONDS
	for p in "${programs[@]}"; do run_program "$i" "$p"; done
	echo "conformance: $(label "${runtimes[$i]}") took $((SECONDS - t0))s"
done

# ---- the report ---------------------------------------------------------------------------------

echo
printf '%-36s' program
for r in "${runtimes[@]}"; do printf ' %-18s' "$(label "$r")"; done
echo
for p in "${programs[@]}"; do
	key=${p//\//_}
	printf '%-36s' "$p"
	for i in "${!runtimes[@]}"; do
		read -r ps fl sk <"$tmp/results/$i/$key.sum"
		st=$(cat "$tmp/results/$i/$key.status")
		case $st in
		ok) cell="$ps/$fl/$sk" ;;
		skip-listed) cell="skip-listed" ;;
		timeout) cell="$ps/$fl/$sk timeout" ;;
		*) cell="$ps/$fl/$sk $st" ;;
		esac
		printf ' %-18s' "$cell"
	done
	echo
done
echo "(cells: passed/failed/skipped tests; 'timeout' or 'exit N' when the program did not end well;"
echo " skip-listed programs and why: tests/conformance/skip.list)"
echo
for i in "${!runtimes[@]}"; do
	cat "$tmp/results/$i"/*.sum | awk -v l="$(label "${runtimes[$i]}")" \
		'{ p += $1; f += $2; s += $3 } END { printf "%s: %d passed, %d failed, %d skipped\n", l, p, f, s }'
done

if ((${#runtimes[@]} == 2)); then
	echo
	echo "tests $(label "${runtimes[1]}") fails that $(label "${runtimes[0]}") passes:"
	n=0
	for p in "${programs[@]}"; do
		key=${p//\//_}
		# Both ran the same program, so a test is matched by its number; the description is the
		# first runtime's (the second's may be "not reached" when its program stopped early).
		while IFS=$'\t' read -r num desc; do
			echo "  $p: $num - $desc"
			n=$((n + 1))
		done < <(awk -F'\t' 'FILENAME == ARGV[1] { if ($1 == "P") passed[$2] = $3; next }
			$1 == "F" && ($2 in passed) { print $2 "\t" passed[$2] ($3 ~ /^not reached/ ? " (not reached)" : "") }' \
			"$tmp/results/0/$key.tests" "$tmp/results/1/$key.tests")
		# Tests an upstream program announced but never reported are not listed one by one.
		if [[ ! $(cat "$tmp/results/1/$key.status") =~ ^(ok|skip-listed)$ ]]; then
			echo "  $p: ($(cat "$tmp/results/1/$key.status") with $(label "${runtimes[1]}"))"
		fi
	done
	((n > 0)) || echo "  (none)"
fi
echo
echo "conformance: done in $((SECONDS - started))s"
