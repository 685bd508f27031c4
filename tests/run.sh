#!/bin/sh
# tests/run.sh — run sluice's test suites and count TAP results.
#
#   sh tests/run.sh [--unit | --integ | --oom] [PATTERN...]
#
# Unit tests are the binaries in $BUILD/tests/<area>/; integration tests are
# tests/integ/NNN-name.sh (root: they build network namespaces).  Each prints
# TAP lines ("ok N - what" / "not ok N - what"); a suite that exits non-zero
# without a "not ok" line (a crash, a setup failure) counts as one failure.
# The last line is "N passed, N failed".  A failing suite is shown with its
# "not ok" and "#" lines and, when those do not say why (a setup step that
# failed, a crash), the output that preceded it.  The logs are in a
# /tmp/sluice-tests.* directory, removed when everything passed and kept
# (its path printed) otherwise.
set -u
BUILD=${BUILD:-build}
mode=all
case "${1:-}" in
--unit) mode=unit; shift ;;
--integ) mode=integ; shift ;;
--oom) mode=oom; shift ;;
esac
pats="$*"

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
out=$(mktemp -d /tmp/sluice-tests.XXXXXX) || exit 2
passed=0
failed=0
trap 'echo "interrupted: logs in $out"; exit 130' INT
trap 'echo "terminated: logs in $out"; exit 143' TERM

selected() {
	[ -z "$pats" ] && return 0
	for p in $pats; do
		case "$1" in *"$p"*) return 0 ;; esac
	done
	return 1
}

# cause LOG: the output that explains a failure its TAP lines do not: up to
# 15 lines (not TAP) printed right before a failed setup step (the failing
# command's stderr), or before the end of a suite that exited non-zero or
# ran no check (a crash, a sanitizer report).
cause() {
	awk '
	function show(   i, j) {
		if (n == 0)
			return
		print "    --- output before \"" $0 "\":"
		for (i = (n > 15 ? n - 15 : 0); i < n; i++) {
			j = i % 15
			print "    | " buf[j] (rep[j] > 1 ? "  (" rep[j] " times)" : "")
		}
	}
	/^not ok - setup: / || /^not ok - .* (exited [0-9]+ without a failing check|ran no check)$/ {
		show()
		n = 0
		next
	}
	/^(ok |not ok|#|1\.\.)/ { n = 0; next }
	n > 0 && $0 == buf[(n - 1) % 15] { rep[(n - 1) % 15]++; next }
	{ buf[n % 15] = $0; rep[n % 15] = 1; n++ }
	' "$1"
}

# run_suite NAME CMD...: run one suite, echo its TAP, update the counts.
run_suite() {
	name=$1
	shift
	log="$out/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited $rc without a failing check" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$rc" -eq 0 ] &&
	    grep -q '^1\.\.0$' "$log" && [ "$mode" = oom ]; then
		# OOM mode: every test of this binary is over the budget.
		echo "NONE $name (no test small enough to sweep)"
		return
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name ran no check" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p passed, $f failed, $((end - start))s)"
		grep -E '^(not ok|#)' "$log" | head -n 60 | sed 's/^/    /'
		cause "$log"
		echo "    (full log: $log)"
	else
		echo "PASS $name ($p checks, $((end - start))s)"
	fi
}

if [ "$mode" = all ] || [ "$mode" = unit ] || [ "$mode" = oom ]; then
	for t in $(find "$BUILD/tests" -type f -name '*_test' 2>/dev/null | sort); do
		selected "$t" || continue
		if [ "$mode" = oom ]; then
			# Pure modules only: socket and thread tests would
			# wait on peers that a failed allocation never made.
			case "$t" in */proxy/*) continue ;; esac
			run_suite "oom:${t#"$BUILD"/tests/}" env SL_OOM=1 \
			    ASAN_OPTIONS=detect_leaks=0 "$t"
		else
			run_suite "unit:${t#"$BUILD"/tests/}" "$t"
		fi
	done
fi

if [ "$mode" = all ] || [ "$mode" = unit ]; then
	# Fuzz targets replay their committed corpora (make fuzz explores).
	for t in $(find "$BUILD/fuzz" -type f -name 'fuzz_*' 2>/dev/null | sort); do
		selected "$t" || continue
		run_suite "fuzz-replay:$(basename "$t")" "$t"
	done
fi

if [ "$mode" = all ] || [ "$mode" = integ ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL integration: needs root (network namespaces)"
		failed=$((failed + 1))
	else
		for t in tests/integ/[0-9]*.sh; do
			[ -e "$t" ] || continue
			selected "$t" || continue
			run_suite "integ:$(basename "$t" .sh)" \
			    env BUILD="$BUILD" timeout -k 10 600 sh "$t"
		done
	fi
fi

echo "$passed passed, $failed failed"
if [ "$failed" -eq 0 ]; then
	rm -rf "$out"
	exit 0
fi
echo "logs kept in $out"
exit 1
