#!/bin/sh
# tests/fuzz/run.sh — build the fuzz targets with clang + libFuzzer and run
# each for a bounded time (`make fuzz`).
#
#   sh tests/fuzz/run.sh [tests/fuzz/fuzz_NAME.c ...]     (default: all)
#
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_JOBS     parallel fuzzing processes per target (default 1)
#   FUZZ_OUT      output directory (default build-fuzz)
#   CLANG         compiler (default clang; Debian 12: clang-14, with the
#                 libFuzzer runtime from libclang-rt-14-dev)
#
# A target fuzz_NAME starts from its seed corpus tests/fuzz/corpus/NAME and
# writes the inputs it finds to $FUZZ_OUT/new/NAME (a scratch directory:
# copy interesting ones into the seed corpus by hand), crashes to
# $FUZZ_OUT/crash/NAME/.  The last line is "N passed, N failed"; the exit
# status is non-zero if any target crashed or failed to build.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
OUT=${FUZZ_OUT:-build-fuzz}
CLANG=${CLANG:-clang}
PKGS="libevent_core libevent_pthreads libevent_openssl openssl libnghttp2
libcares libmaxminddb jansson"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: $CLANG not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
	exit 2
fi
# shellcheck disable=SC2086
pkg_cflags=$(pkg-config --cflags $PKGS 2>/dev/null)
# shellcheck disable=SC2086
pkg_libs=$(pkg-config --libs $PKGS 2>/dev/null)
CFLAGS="-std=c11 -D_GNU_SOURCE -pthread -g -O1 -fno-omit-frame-pointer
-fno-sanitize-recover=all -DSL_DEBUG -I. $pkg_cflags"

srcs="$*"
[ -z "$srcs" ] && srcs=$(ls tests/fuzz/fuzz_*.c)
mkdir -p "$OUT/obj" "$OUT/new" "$OUT/crash"

# The code under test, instrumented for coverage.  A file that does not
# build (work in progress elsewhere in the tree) is left out; a target that
# needs it then fails to link and is reported.
lib="$OUT/libsl_fuzz.a"
rm -f "$lib"
for c in lib/*.c lib/*/*.c policy/*.c tls/*.c stun/*.c; do
	[ -e "$c" ] || continue
	o="$OUT/obj/$(echo "$c" | tr / _).o"
	# shellcheck disable=SC2086
	if $CLANG $CFLAGS -fsanitize=fuzzer-no-link,address,undefined \
	    -c -o "$o" "$c" 2>"$o.err"; then
		ar rcs "$lib" "$o"
	else
		echo "fuzz: $c does not build with $CLANG (see $o.err)" >&2
	fi
done

passed=0
failed=0
for src in $srcs; do
	t=$(basename "$src" .c)
	name=${t#fuzz_}
	bin="$OUT/$t"
	corpus="tests/fuzz/corpus/$name"
	log="$OUT/$t.log"
	# shellcheck disable=SC2086
	if ! $CLANG $CFLAGS -fsanitize=fuzzer,address,undefined -o "$bin" \
	    "$src" "$lib" $pkg_libs -lcrypt >"$log" 2>&1; then
		echo "FAIL $t: does not build (see $log)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$OUT/new/$name" "$OUT/crash/$name" "$corpus"
	opts=""
	[ -e "tests/fuzz/$name.dict" ] && opts="-dict=tests/fuzz/$name.dict"
	[ "$JOBS" -gt 1 ] && opts="$opts -jobs=$JOBS -workers=$JOBS"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$OUT/crash/$name/" $opts \
	    "$OUT/new/$name" "$corpus" >>"$log" 2>&1
	rc=$?
	execs=$(grep -h 'stat::number_of_executed_units' "$log" fuzz-*.log \
	    2>/dev/null | awk '{s += $2} END {print s + 0}')
	kept=$(find "$OUT/new/$name" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -z "$(find "$OUT/crash/$name" -type f)" ]; then
		echo "PASS $t: ${SECONDS_EACH}s, $execs runs, $kept inputs in $OUT/new/$name"
		passed=$((passed + 1))
	else
		echo "FAIL $t: exit $rc, crashes in $OUT/crash/$name (see $log)"
		failed=$((failed + 1))
	fi
	rm -f fuzz-*.log
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
