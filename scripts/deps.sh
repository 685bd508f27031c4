#!/bin/sh
# deps.sh — the one list of Debian 12 packages sluice needs to build, test,
# benchmark and run.  Run as root it installs whichever are missing; run as
# another user it only reports them.  `make`, `make run` and `make test` call it.
#
#   scripts/deps.sh [--check]
set -eu

PKGS="
build-essential pkg-config clang libclang-rt-14-dev cppcheck
libevent-dev libssl-dev libnghttp2-dev libc-ares-dev libmaxminddb-dev
libjansson-dev
ca-certificates openssl curl iproute2 nftables procps psmisc
nginx libnginx-mod-stream dnsmasq-base python3 python3-websockets
haproxy squid
"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ] || [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make' as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
# The packaged services must not run on their own: the tests and benchmarks
# start their own instances with their own configuration.
for s in nginx haproxy squid; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	fi
done
