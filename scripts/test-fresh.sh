#!/bin/sh
# test-fresh.sh — `make test-fresh`: do the README's set-up commands work the
# first time on a fresh Debian 12 machine?  (Root only.)
#
# It makes a minimal Debian 12 root (mmdebstrap --variant=minbase, plus git,
# make and ca-certificates: what a new user has before cloning), clones the
# committed HEAD of this repository into it and, chrooted there as root:
#
#   1. make                   the first make: installs the build list and
#                             builds, from nothing
#   2. make run               starts (in a network namespace of its own):
#                             127.0.0.1:3128 listens within 60 s, and a
#                             request for http://localhost:8080/ gets the
#                             guard rail's 403; then it is stopped by PID
#   3. make test-unit         installs the test list, runs the unit tests
#                             and the fuzz corpora replays
#   4. make test-integ TESTS=000
#                             one integration test: the tools of the
#                             integration tests are installed (skipped, and
#                             said so, if network namespaces do not work in
#                             the chroot)
#   5. leftovers              the steps left no /tmp/sluice-* directory, no
#                             network namespace and no process behind
#
# The last line is PASS or FAIL; on failure the failing step's last lines
# are printed and the logs are kept (their path is printed).  Everything
# runs in a private mount namespace and a private PID namespace: when the
# run ends, however it ends, every mount and every process it made goes
# with them, and the root is deleted.
#
# Settings (environment):
#   FRESH_REF       the commit to test: any ref or commit of this repository
#                   (default HEAD; uncommitted changes are not tested)
#   FRESH_CACHE     cache directory (default /var/cache/sluice/test-fresh):
#                   the base root as a tarball, rebuilt when older than
#                   FRESH_MAX_AGE days (default 7) or when its inputs change
#                   (package list, apt sources and configuration); and the
#                   .deb files the last run downloaded (the packages are
#                   still installed by the project's own steps, from nothing)
#   FRESH_WORK      where the run's root is made (default /var/tmp)
#   FRESH_SOURCES   apt sources files for the root (default: the host's own,
#                   /etc/apt/sources.list and /etc/apt/sources.list.d/*.list
#                   and *.sources, those that name bookworm)
#   FRESH_APT_CONF  apt configuration files carried into the root (default:
#                   the host's /etc/apt/apt.conf and apt.conf.d/* files that
#                   set Acquire:: options, e.g. a proxy)
#   FRESH_MAKEFLAGS flags for every make in the root (default none, as a new
#                   user types it; e.g. -j2)
#   FRESH_INTEG     the integration tests of step 4 (default 000; "" skips it)
#   FRESH_PRE_INSTALL  packages installed in the root before step 1, as an
#                   admin's machine would have them (e.g. squid-openssl); the
#                   run fails if a step removed one
#   FRESH_TIMEOUT   seconds for all the steps in the root (default 2400)
#   FRESH_KEEP=1    keep the root and the logs, even on a pass
# shellcheck disable=SC2317  # functions run through --call
set -u

SUITE=bookworm
INCLUDE=git,make,ca-certificates

top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/scripts/test-fresh.sh"

say() { printf 'test-fresh: %s\n' "$*"; }
# die MESSAGE: fail (once the run's directory exists, the EXIT trap says
# FAIL and where the logs are).
die() {
	say "$*" >&2
	[ -n "${W:-}" ] || say FAIL
	exit 1
}

# ---------------------------------------------------------------------
# Inside: private mount and PID namespaces, /proc their own (see the end of
# this file): `sh test-fresh.sh --inner ROOT LOGS`.  A step runs as
# `sh test-fresh.sh --call FUNCTION ARGS...` under timeout(1).

# in_root CMD: run the shell command CMD as root in the root, in the clone,
# with a clean environment.
in_root() {
	chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    MAKEFLAGS="${FRESH_MAKEFLAGS:-}" \
	    sh -c "cd /src/sluice && $1"
}

# pre_install PKG...: as an admin's machine would have them.
pre_install() {
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	in_root "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $*"
	r=$?
	rm -f "$ROOT/usr/sbin/policy-rc.d"
	return "$r"
}

# still_installed PKG: PKG is still installed.
still_installed() {
	in_root "dpkg-query -W -f='\${db:Status-Abbrev} \${Package} \${Version}\\n' $1" |
	    tee /dev/stderr | grep -q '^.i'
}

# leftovers: nothing the steps made is left (they passed: their temporary
# directories must be gone), no network namespace, no process but this
# step's ancestry (this PID namespace's /proc shows the run's processes
# only).
leftovers() {
	bad=0
	for d in "$ROOT"/tmp/sluice-* "$ROOT"/run/netns/*; do
		[ -e "$d" ] || continue
		echo "left behind: ${d#"$ROOT"}"
		bad=1
	done
	keep=" 1 "
	p=$$
	while [ "$p" -gt 1 ]; do
		keep="$keep$p "
		p=$(awk '{ print $4 }' "/proc/$p/stat")
	done
	for f in /proc/[0-9]*/stat; do
		read -r pid comm state ppid rest 2>/dev/null <"$f" || continue
		case "$keep" in *" $pid "*) continue ;; esac
		[ "$ppid" = $$ ] && continue
		[ "$state" = Z ] && continue
		echo "left running: $pid $comm $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		bad=1
	done
	[ "$bad" -eq 0 ] && echo "nothing left behind"
	[ "$bad" -eq 0 ]
}

# step NAME SECONDS FUNCTION ARGS...: a step, its output in $LOGS/NAME.log,
# its result appended to $LOGS/results as it ends (NAME to $LOGS/failed if
# it failed; $LOGS/current names the step under way).
step() {
	s_name=$1 s_secs=$2
	shift 2
	say "step $s_name: $*  (log: $LOGS/$s_name.log)"
	echo "$s_name" >"$LOGS/current"
	s_t0=$(date +%s)
	timeout -k 10 "$s_secs" sh "$self" --call "$@" >"$LOGS/$s_name.log" 2>&1
	s_rc=$?
	s_t=$(($(date +%s) - s_t0))
	rm -f "$LOGS/current"
	if [ "$s_rc" -eq 0 ]; then
		echo "  PASS  $s_name (${s_t}s)" >>"$LOGS/results"
		return 0
	fi
	[ "$s_rc" -eq 124 ] &&
	    echo "(timed out after ${s_secs}s)" >>"$LOGS/$s_name.log"
	echo "  FAIL  $s_name (exit $s_rc, ${s_t}s)" >>"$LOGS/results"
	echo "$s_name" >>"$LOGS/failed"
	return 1
}

inner() {
	set -e
	# ip netns exec remounts / as a slave: / must be a mount point.
	mount --bind "$ROOT" "$ROOT"
	mount -t proc proc "$ROOT/proc"
	mount -t sysfs sysfs "$ROOT/sys"
	mount --rbind /dev "$ROOT/dev"
	mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
	set +e

	if [ -n "${FRESH_PRE_INSTALL:-}" ]; then
		# shellcheck disable=SC2086
		step 0-pre-install 900 pre_install $FRESH_PRE_INSTALL || return 1
	fi

	step 1-make 900 in_root make || return 1

	step 2-make-run 120 run_check || return 1

	step 3-make-test-unit 1500 in_root 'make test-unit' || return 1

	if [ -n "${FRESH_INTEG-000}" ]; then
		if in_root 'ip netns add slfresh && ip netns exec slfresh true &&
		    ip netns del slfresh' >"$LOGS/4-netns-probe.log" 2>&1; then
			step 4-make-test-integ 900 in_root \
			    "make test-integ TESTS='${FRESH_INTEG-000}'" || return 1
		else
			echo "  SKIP  4-make-test-integ: no network namespaces in the chroot ($(tail -n 1 "$LOGS/4-netns-probe.log"))" \
			    >>"$LOGS/results"
		fi
	fi

	step 5-leftovers 60 leftovers || return 1

	for p in ${FRESH_PRE_INSTALL:-}; do
		step "6-still-installed-$p" 60 still_installed "$p" || return 1
	done
	return 0
}

# run_check: `make run` starts, in a network namespace of its own (loopback
# only: the host's 127.0.0.1:3128 may be taken, and running needs no
# network); 127.0.0.1:3128 listens within 60 s; http://localhost:8080/ gets
# the guard rail's 403.  Then it is stopped: its process group, by PID.
run_check() {
	unshare --net sh -c 'ip link set lo up || exit 1
	    exec setsid sh "$0" --call in_root "exec make run"' "$self" \
	    >"$LOGS/2-make-run.out" 2>&1 &
	pid=$!
	ok=0
	n=0
	while [ "$n" -lt 600 ]; do
		kill -0 "$pid" 2>/dev/null || break
		if nsenter --net="/proc/$pid/ns/net" bash -c \
		    'exec 3<>/dev/tcp/127.0.0.1/3128' 2>/dev/null; then
			ok=1
			break
		fi
		sleep 0.1
		n=$((n + 1))
	done
	if [ "$ok" -eq 1 ]; then
		echo "ok: 127.0.0.1:3128 listens after $((n / 10)) s"
		ans=$(nsenter --net="/proc/$pid/ns/net" timeout 10 bash -c '
		    exec 3<>/dev/tcp/127.0.0.1/3128 || exit 1
		    printf "GET http://localhost:8080/ HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n" >&3
		    cat <&3' 2>&1)
		printf '%s\n' "--- the answer to GET http://localhost:8080/:" \
		    "$ans" "---"
		if printf '%s\n' "$ans" | head -n 1 | grep -q '^HTTP/1\.[01] 403' &&
		    printf '%s' "$ans" | grep -q "guard:loopback"; then
			echo "ok: 403 from the guard rail"
		else
			echo "not ok: no 403 naming rule guard:loopback"
			ok=0
		fi
	else
		echo "not ok: nothing listens on 127.0.0.1:3128 after 60 s"
	fi
	kill -TERM "-$pid" 2>/dev/null
	n=0
	while [ "$n" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -KILL "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "--- make run's output:"
	cat "$LOGS/2-make-run.out"
	[ "$ok" -eq 1 ]
}

case "${1:-}" in
--call)
	shift
	"$@"
	exit $?
	;;
--inner)
	inner
	exit $?
	;;
esac

# ---------------------------------------------------------------------
# Outside: the base root, the run's root and clone, then the inside.

[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mounts, namespaces)"
for t in mmdebstrap git tar unshare nsenter setsid chroot timeout flock ip; do
	command -v "$t" >/dev/null 2>&1 ||
	    die "$t not found (make test-fresh installs the test list)"
done

REF=${FRESH_REF:-HEAD}
sha=$(git -C "$top" rev-parse --verify -q "$REF^{commit}") ||
    die "FRESH_REF=$REF is not a commit of $top"
if [ "$REF" = HEAD ] && [ -n "$(git -C "$top" status --porcelain 2>/dev/null)" ]; then
	say "warning: $top has uncommitted changes: they are NOT tested (a clean clone of $sha is)"
fi

# The apt sources: the host's own (never a name written here).
if [ -n "${FRESH_SOURCES:-}" ]; then
	sources=$FRESH_SOURCES
else
	sources=""
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		grep -Eq "^[^#]*\\b$SUITE\\b" "$f" && sources="$sources $f"
	done
fi
[ -n "$sources" ] || die "no apt sources file of the host names $SUITE: set FRESH_SOURCES"
if [ -n "${FRESH_APT_CONF+set}" ]; then
	aptconf=$FRESH_APT_CONF
else
	aptconf=""
	for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
		[ -f "$f" ] || continue
		grep -Eq '^[[:space:]]*Acquire' "$f" && aptconf="$aptconf $f"
	done
fi

CACHE=${FRESH_CACHE:-/var/cache/sluice/test-fresh}
MAX_AGE=${FRESH_MAX_AGE:-7}
mkdir -p "$CACHE/debs" || die "cannot make $CACHE"
key=$(
	echo "$SUITE minbase $INCLUDE"
	mmdebstrap --version
	# shellcheck disable=SC2086
	cat $sources $aptconf
)
key=$(printf '%s' "$key" | sha256sum | cut -c1-12)
base="$CACHE/base-$SUITE-$key.tar"

T0=$(date +%s)
# One builder at a time; a concurrent run waits (bounded) and reuses it.
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "$CACHE/.lock is held for 15 min"
if [ -f "$base" ] && [ -n "$(find "$base" -mtime -"$MAX_AGE" 2>/dev/null)" ]; then
	say "base root: cached $base ($(date -r "$base" +%F))"
	cold=cached
else
	say "base root: building $base (mmdebstrap --variant=minbase --include=$INCLUDE $SUITE)"
	aptopts=""
	for f in $aptconf; do
		aptopts="$aptopts --aptopt=$f"
	done
	# shellcheck disable=SC2086
	if ! timeout -k 10 900 mmdebstrap --format=tar --variant=minbase \
	    --include="$INCLUDE" $aptopts "$SUITE" "$base.tmp" $sources \
	    >"$CACHE/mmdebstrap.log" 2>&1; then
		tail -n 20 "$CACHE/mmdebstrap.log" >&2
		rm -f "$base.tmp"
		die "mmdebstrap failed (log: $CACHE/mmdebstrap.log)"
	fi
	mv "$base.tmp" "$base"
	# Older base roots (other inputs) go.
	for f in "$CACHE"/base-*.tar; do
		[ "$f" = "$base" ] || rm -f "$f"
	done
	cold=built
fi
flock -u 9
exec 9>&-
T1=$(date +%s)

WORK=${FRESH_WORK:-/var/tmp}
W=$(mktemp -d "$WORK/sluice-fresh.XXXXXX") || die "mktemp in $WORK"
ROOT="$W/root"
LOGS="$W/logs"
mkdir -p "$ROOT" "$LOGS"
INNER_PID=""
summarized=""

# mounted_under DIR: does this mount namespace have a mount under DIR?
mounted_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { f = 1 } END { exit !f }' \
	    /proc/self/mountinfo
}

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$INNER_PID" ] && kill -0 "$INNER_PID" 2>/dev/null; then
		# timeout(1) around unshare: it kills the PID namespace's init,
		# and the kernel every process in it.
		kill -TERM "$INNER_PID" 2>/dev/null
		wait "$INNER_PID" 2>/dev/null
	fi
	# The root's mounts live in the inner mount namespace only; never
	# delete through a mount.
	if mounted_under "$ROOT"; then
		say "not deleting $W: something is mounted under $ROOT" >&2
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		say "kept $W"
	elif [ "$rc" -eq 0 ]; then
		rm -rf --one-file-system "$W"
	else
		rm -rf --one-file-system "$ROOT"
		[ -n "$summarized" ] || say "FAIL (logs kept in $LOGS)"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say "root: $ROOT"
tar -C "$ROOT" --numeric-owner -xpf "$base" || die "cannot extract $base"
# What an installed system has and a minbase tarball lacks or has stale.
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
[ -e "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
# The .deb files of the last run, as a local apt cache would have them.
cp -l "$CACHE"/debs/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null ||
    cp "$CACHE"/debs/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null

say "clone of $top at $sha${REF:+ ($REF)} into /src/sluice"
mkdir -p "$ROOT/src"
git clone -q --no-checkout "$top" "$ROOT/src/sluice" >"$LOGS/clone.log" 2>&1 &&
    { git -C "$ROOT/src/sluice" cat-file -e "$sha^{commit}" 2>/dev/null ||
      git -C "$ROOT/src/sluice" fetch -q origin "$sha"; } >>"$LOGS/clone.log" 2>&1 &&
    git -C "$ROOT/src/sluice" checkout -q --detach "$sha" >>"$LOGS/clone.log" 2>&1 ||
    { cat "$LOGS/clone.log" >&2; die "git clone failed"; }

TIMEOUT=${FRESH_TIMEOUT:-2400}
# timeout(1) -> unshare: new mount and PID namespaces (and their own
# /proc); unshare's child is the PID namespace's init, killed with unshare
# (--kill-child), and with it every process of the namespace.  unshare
# ignores SIGTERM while it waits: the timeout sends SIGKILL.
export ROOT LOGS
timeout -s KILL -k 5 "$TIMEOUT" unshare --mount --propagation private --pid \
    --fork --kill-child --mount-proc sh "$self" --inner &
INNER_PID=$!
wait "$INNER_PID"
rc=$?
INNER_PID=""
T2=$(date +%s)

# Keep the downloaded .deb files for the next run (only these: older
# versions go).
if ls "$ROOT"/var/cache/apt/archives/*.deb >/dev/null 2>&1; then
	rm -rf "$CACHE/debs.new"
	mkdir -p "$CACHE/debs.new"
	cp -l "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/debs.new/" 2>/dev/null ||
	    cp "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/debs.new/"
	rm -rf "$CACHE/debs"
	mv "$CACHE/debs.new" "$CACHE/debs"
fi

echo
say "summary ($sha, base root $cold in $((T1 - T0))s, steps $((T2 - T1))s):"
[ -f "$LOGS/results" ] && cat "$LOGS/results"
if [ -f "$LOGS/current" ]; then
	# Killed by the overall timeout (or a signal) in this step.
	echo "  FAIL  $(cat "$LOGS/current") (stopped: FRESH_TIMEOUT=${TIMEOUT}s)"
	cat "$LOGS/current" >>"$LOGS/failed"
fi
if [ "$rc" -ne 0 ]; then
	last=""
	[ -f "$LOGS/failed" ] && last=$(sed 's|.*|'"$LOGS"'/&.log|' "$LOGS/failed")
	for f in $last; do
		echo "--- last lines of $f:"
		tail -n 30 "$f"
	done
	summarized=1
	say "FAIL (logs kept in $LOGS)"
	exit 1
fi
say PASS
exit 0
