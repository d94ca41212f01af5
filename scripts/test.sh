#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test.sh: the whole test suite. Installs dependencies, builds, runs the unit tests (cmocka), the
# command-line tests (bats, as root) and the cgroup v2 checks in a QEMU guest, then builds again
# with AddressSanitizer and UndefinedBehaviorSanitizer and runs the unit and command-line tests
# again. Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
sh scripts/deps.sh || exit 1

passed=0 failed=0 skipped=0
logdir=$(mktemp -d /tmp/hull-tests.XXXXXX)

# count_tap FILE: adds a TAP stream's results to the totals.
count_tap() {
	local ok notok skip
	ok=$(grep -cE '^ok [0-9]+' "$1" || true)
	skip=$(grep -cE '^ok [0-9]+ .*# [Ss][Kk][Ii][Pp]' "$1" || true)
	notok=$(grep -cE '^not ok [0-9]+' "$1" || true)
	passed=$((passed + ok - skip)) failed=$((failed + notok)) skipped=$((skipped + skip))
	# Each failure, with the lines bats prints under it (where, and what failed), so a CI log
	# that shows only this output still says why.
	awk '/^not ok/ {n = 12; print "FAILED: " $0; next} n > 0 && /^#/ {print "    " $0; n--; next} {n = 0}' "$1"
}

# run_build NAME MESON_ARGS...: builds into build-NAME and runs every suite against it.
run_build() {
	local name=$1 dir=$src/build-$1
	shift
	echo "== $name build"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >"$logdir/$name-setup.log" 2>&1 || { cat "$logdir/$name-setup.log"; failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir" >"$logdir/$name-build.log" 2>&1; then
		tail -40 "$logdir/$name-build.log"
		failed=$((failed + 1))
		return
	fi
	echo "== $name: unit tests"
	# cmocka prints one TAP line per test case with CMOCKA_MESSAGE_OUTPUT=tap.
	local t
	for t in "$dir"/tests/unit/test-*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=tap "$t" >"$logdir/$name-$(basename "$t").tap" 2>&1
		local rc=$?
		if [ $rc -eq 77 ]; then
			echo "ok 1 $(basename "$t") # SKIP $(tail -n 1 "$logdir/$name-$(basename "$t").tap")" \
				>"$logdir/$name-$(basename "$t").tap"
		elif [ $rc -ne 0 ] && ! grep -q '^not ok' "$logdir/$name-$(basename "$t").tap"; then
			echo "not ok 1 $(basename "$t") exited with $rc" >>"$logdir/$name-$(basename "$t").tap"
		fi
		count_tap "$logdir/$name-$(basename "$t").tap"
	done
	echo "== $name: command-line tests"
	if [ "$(id -u)" != 0 ]; then
		echo "ok 1 command-line tests # SKIP they need root" >"$logdir/$name-bats.tap"
	else
		HULL=$dir/src/cli/hull HULL_SRC=$src timeout 1800 sh "$src/tests/integration/run-bats.sh" --tap "$src/tests/integration" \
			>"$logdir/$name-bats.tap" 2>&1
	fi
	count_tap "$logdir/$name-bats.tap"
	if [ "$name" = release ] && [ "$(id -u)" = 0 ]; then
		# This host's cgroups are hybrid: the pure-v2 paths are checked in a QEMU guest.
		echo "== $name: cgroup v2 guest"
		timeout 900 bash "$src/tests/vm/cgroup2.sh" "$dir/src/cli/hull" >"$logdir/$name-vm.tap" 2>&1
		count_tap "$logdir/$name-vm.tap"
	fi
}

run_build release
# Sanitizers: any report aborts the process, which the suites then see as a failure.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_build sanitize -Db_sanitize=address,undefined -Dbuildtype=debug
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
