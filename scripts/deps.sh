#!/bin/sh
# deps.sh — the one list of the Debian 12 packages sluice needs, in two
# named lists:
#
#   build   to build and run sluiced           (make, make run)
#   test    to test, benchmark, fuzz and lint  (make test, make test-*,
#           make bench, make fuzz, make lint, make test-fresh)
#
#   sh scripts/deps.sh [--check] LIST...        (LIST: build test; default build)
#
# The Makefile calls it before it compiles anything, with the lists its goals
# need.  An entry "a|b" is satisfied by either package (flavours that
# conflict with each other); when none is installed the first is installed.
#
# Not root, or --check: name what is missing, print the apt-get command that
# installs it, exit 1.  Root: install only what is missing, saying what and
# why, with apt's own output, and without ever removing or replacing an
# installed package (apt-get install --no-remove).  Services are left as they
# were: nothing starts during the install (a policy-rc.d of ours, unless the
# machine has one), and the packaged daemons this run newly installs (nginx,
# haproxy, squid, coturn, ngtcp2-server's ngtcp2d) are disabled (the tests
# and benchmarks start their own instances with their own configuration); a
# service the machine had before is not touched.
set -eu

# build: compiler and make (build-essential), pkg-config, and the -dev
# package of every pkg-config module in the Makefile's PKGS, plus libcrypt
# (-lcrypt).
BUILD_PKGS="
build-essential pkg-config
libevent-dev libssl-dev libnghttp2-dev libc-ares-dev libmaxminddb-dev
libjansson-dev libcrypt-dev
"

# test:
#   iproute2 nftables procps   network namespaces, veths, ss, nft, sysctl
#   openssl curl python3 python3-websockets
#                              the test CA, and the clients (tests/integ/py)
#   nghttp2-client python3-h2  HTTP/2 clients: h2load, and the h2 test
#                              clients of tests/integ/py/h2client.py
#   nginx libnginx-mod-stream dnsmasq-base haproxy squid
#                              the servers of the integration tests, and the
#                              peers of `make bench` (HAProxy, Squid, nginx
#                              stream); any flavour of dnsmasq-base and of
#                              squid will do (the bench runs `squid -N`),
#                              but only squid-openssl can ssl-bump: a fresh
#                              machine gets it, one that has Debian's plain
#                              squid keeps it (nothing is replaced) and the
#                              inspection bench then says Squid-bump was
#                              not measured and why
#   mitmproxy nghttp2-client   peers and tools of the inspection bench
#                              (mitmdump; h2load)
#   testssl.sh                 the client-facing TLS check of integ 153
#   coturn                     a real TURN server and client (turnserver,
#                              turnutils_uclient, turnutils_stunclient) for
#                              the UDP forwarding and TURN tests, integ 160
#                              and 161
#   socat                      integ 161's CONNECT client in front of
#                              turnutils_uclient (which has no proxy
#                              support); the userspace UDP relay peer of
#                              the UDP forwarding bench (tests/bench/udp.sh)
#   ngtcp2-client ngtcp2-server
#                              a real QUIC client and server (gtlsclient,
#                              gtlsserver: ngtcp2's GnuTLS examples) for
#                              the QUIC test, integ 162
#   clang libclang-rt-14-dev   make fuzz (clang and the libFuzzer runtime)
#   cppcheck                   make lint
#   mmdebstrap                 make test-fresh (a fresh Debian 12 root)
TEST_PKGS="
iproute2 nftables procps
openssl curl python3 python3-websockets nghttp2-client python3-h2
nginx libnginx-mod-stream dnsmasq-base|dnsmasq-base-lua haproxy
squid-openssl|squid mitmproxy nghttp2-client
testssl.sh coturn socat ngtcp2-client ngtcp2-server
clang libclang-rt-14-dev cppcheck mmdebstrap
"

usage() {
	echo "usage: sh scripts/deps.sh [--check] [build] [test]" >&2
	exit 2
}

check_only=0
lists=""
for a in "$@"; do
	case "$a" in
	--check) check_only=1 ;;
	build | test) lists="$lists $a" ;;
	*) usage ;;
	esac
done
[ -n "$lists" ] || lists=build

# installed PKG: is PKG installed (unpacked and configured, held or not)?
installed() {
	case "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" in
	?i*) return 0 ;;
	esac
	return 1
}

# missing_of LIST: the entries of LIST none of whose alternatives is
# installed, as the package to install (the first alternative).
missing_of() {
	for entry in $1; do
		first=${entry%%|*}
		rest=$entry
		found=0
		while [ -n "$rest" ]; do
			p=${rest%%|*}
			if installed "$p"; then
				found=1
				break
			fi
			case "$rest" in
			*"|"*) rest=${rest#*|} ;;
			*) rest="" ;;
			esac
		done
		[ "$found" -eq 1 ] || printf ' %s' "$first"
	done
}

missing=""
why=""
for l in $lists; do
	case $l in
	build)
		m=$(missing_of "$BUILD_PKGS")
		[ -n "$m" ] && why="$why
deps:   build list (to build and run sluiced):$m"
		;;
	test)
		m=$(missing_of "$TEST_PKGS")
		[ -n "$m" ] && why="$why
deps:   test list (tests, benchmarks, fuzzing, lint):$m"
		;;
	esac
	missing="$missing$m"
done

[ -z "$missing" ] && exit 0

if [ "$check_only" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$why" >&2
	echo "deps: install them as root with:" >&2
	echo "deps:   apt-get install --no-install-recommends --no-remove$missing" >&2
	echo "deps: (or run the same make command as root: it installs them)" >&2
	exit 1
fi

echo "deps: installing the missing Debian packages:$why" >&2

# No packaged service may start during our install: a policy-rc.d that
# refuses every action, ours only if the machine has none (an admin's own
# policy stays in charge), removed again whatever happens.
POLICY=/usr/sbin/policy-rc.d
our_policy=0
cleanup() {
	if [ "$our_policy" -eq 1 ]; then
		rm -f "$POLICY"
		our_policy=0
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
MARK="# sluice scripts/deps.sh: no service starts during its install"
if [ -e "$POLICY" ] && grep -qxF "$MARK" "$POLICY"; then
	# Left by a run of ours that was killed: ours to remove.
	echo "deps: removing at the end the $POLICY a killed run left" >&2
	our_policy=1
elif [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n%s\nexit 101\n' "$MARK" >"$POLICY"
	chmod 755 "$POLICY"
	our_policy=1
fi

before=$(mktemp /tmp/sluice-deps.XXXXXX)
dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
    awk '$1 ~ /^.i/ { print $2 }' | sort >"$before"

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update" >&2
apt-get update || echo "deps: apt-get update failed; trying the install anyway" >&2
echo "deps: apt-get install --no-install-recommends --no-remove$missing" >&2
rc=0
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends --no-remove $missing || rc=$?

# The packages this run installed (the missing ones and what they pulled in).
new=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
    awk '$1 ~ /^.i/ { print $2 }' | sort | comm -13 "$before" -)
rm -f "$before"
cleanup

# The packaged daemons the tests and benchmarks start themselves: when this
# run newly installed the package that ships one, it is disabled (and
# stopped, should an admin's own policy-rc.d have let it start).  Nothing
# else is touched: not the units of packages the machine already had, nor
# those of other new packages (cron, procps, ...).
DAEMONS="nginx|haproxy|squid|coturn|ngtcp2d"
for p in $new; do
	for f in $(dpkg-query -L "$p" 2>/dev/null | grep -E \
	    "^((/usr)?/lib/systemd/system/($DAEMONS)\.service|/etc/init\.d/($DAEMONS))\$"); do
		d=$(basename "$f" .service)
		if [ -d /run/systemd/system ]; then
			case "$f" in */systemd/*) ;; *) continue ;; esac
			echo "deps: $p is new here: systemctl disable --now $d" >&2
			systemctl disable --now "$d.service" || true
		else
			case "$f" in /etc/init.d/*) ;; *) continue ;; esac
			echo "deps: $p is new here: update-rc.d $d disable" >&2
			update-rc.d "$d" disable || true
		fi
	done
done

if [ "$rc" -ne 0 ]; then
	echo "deps: apt-get install failed (exit $rc); nothing was removed" >&2
	exit "$rc"
fi
still=$(for l in $lists; do
	case $l in
	build) missing_of "$BUILD_PKGS" ;;
	test) missing_of "$TEST_PKGS" ;;
	esac
done)
if [ -n "$still" ]; then
	echo "deps: still missing after the install:$still" >&2
	exit 1
fi
echo "deps: done" >&2
