#!/bin/sh
# tests/bench/run.sh — `make bench`: sluiced against HAProxy, Squid and
# nginx, in the same run, on loopback, proxy under test pinned to core 0 and
# the load generator and servers to core 1.  docs/bench.md explains the
# method and how to read the output.
#
#   sh tests/bench/run.sh [GROUP...]
#
# GROUP: bulk cps rtt idle transparent policy inspect udp (default: all
# of them), or selftest (checks of the tools themselves, TAP).  Environment:
#   BUILD            build directory (build)
#   BENCH_RUNS       runs per figure; medians are reported (5)
#   BENCH_BULK_MB    MiB moved per bulk measurement, split over the tunnels (1024)
#   BENCH_CPS        tunnels per connection-rate measurement (10000)
#   BENCH_IDLE       idle tunnels (5000)
#   BENCH_RTT        round trips (10000)
#   BENCH_LIMIT      seconds one measurement may take (8)
#   BENCH_BUDGET     seconds for the whole run (540): a section that has used
#                    its share stops after its current run (every figure still
#                    gets one run); the inspection group has its own
#   BENCH_TLS_*      the inspection group's knobs (tests/bench/inspect.sh,
#                    docs/bench.md)
#   BENCH_UDP_*      the UDP forwarding group's knobs (tests/bench/udp.sh,
#                    docs/bench.md)
#
# As root it runs in a network namespace of its own (loopback only), so
# ports, TIME_WAIT sockets and the nftables redirect stay private.  Results:
# $BUILD/bench/results.json, results.md, raw.jsonl and the logs.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
export BUILD

# ------------------------------------------------------------------
# Outside: make a network namespace and run the benchmark inside it.

if [ "${1:-}" != "--inner" ]; then
	ns=slbench$$
	if [ "$(id -u)" -eq 0 ] && ip netns add $ns 2>/dev/null; then
		trap 'ip netns del $ns 2>/dev/null' EXIT
		trap 'exit 130' INT TERM
		ip -n $ns link set lo up
		# Private to the namespace: a wide port range and TIME_WAIT
		# reuse for the connection-rate runs.
		ip netns exec $ns sysctl -q -w \
		    net.ipv4.ip_local_port_range="10000 65000" \
		    net.ipv4.tcp_tw_reuse=1 >/dev/null
		ip netns exec $ns sh "$0" --inner netns "$@"
		exit $?
	fi
	echo "bench: no network namespace (needs root): running in this" \
	    "one; the transparent benchmark is skipped"
	exec sh "$0" --inner shared "$@"
fi
where=$2
shift 2

groups=${*:-bulk cps rtt idle transparent policy inspect udp}
want() {
	case " $groups " in *" $1 "*) return 0 ;; esac
	return 1
}

RUNS=${BENCH_RUNS:-5}
BULK_MB=${BENCH_BULK_MB:-1024}
CPS=${BENCH_CPS:-10000}
IDLE=${BENCH_IDLE:-5000}
RTT=${BENCH_RTT:-10000}
LIMIT=${BENCH_LIMIT:-8}
BUDGET=${BENCH_BUDGET:-540}
HELLO=$top/tests/bench/data/clienthello.hex
PY=/usr/bin/python3
out=$BUILD/bench
mkdir -p "$out"

for t in loadgen echod connect_floor tls_load; do
	if [ ! -x "$BUILD/tools/$t" ]; then
		echo "bench: $BUILD/tools/$t is missing (make bench builds it)"
		exit 1
	fi
done

if want selftest; then
	exec sh "$top/tests/bench/selftest.sh"
fi

# 5,000 tunnels are 10,000 descriptors in the proxy: take what we may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((2 * IDLE + 512)) ]; then
	echo "bench: open-file limit $NOFILE is too low for $IDLE idle" \
	    "tunnels; using $(((NOFILE - 512) / 2))"
	IDLE=$(((NOFILE - 512) / 2))
fi

if [ "$(nproc)" -ge 2 ]; then
	PIN_PROXY="taskset -c 0"
	PIN_LOAD="taskset -c 1"
	CORE="-C 0"
else
	echo "bench: fewer than 2 cores: nothing is pinned"
	PIN_PROXY="" PIN_LOAD="" CORE=""
fi

if [ "$where" = netns ]; then
	base=7100
else
	# Below the usual ephemeral range (32768-60999).
	base=$((20000 + $$ % 120 * 100))
fi
E_ECHO=$((base + 1)) E_SOURCE=$((base + 2)) E_SINK=$((base + 3))
H_ECHO=$((base + 11)) H_SOURCE=$((base + 12))
H_SNI=$((base + 14))
Q_PORT=$((base + 21))
N_ECHO=$((base + 31)) N_SOURCE=$((base + 32))
S_EXPL=$((base + 41)) S_TRANS=$((base + 42))
F_PORT=$((base + 51)) F_TRANS=$((base + 52))

tmp=$(mktemp -d /tmp/sluice-bench.XXXXXX)
chmod 755 "$tmp"
. "$top/tests/bench/peers.sh"
. "$top/tests/bench/inspect.sh"
. "$top/tests/bench/udp.sh"

cleanup() {
	stop_all
	nft_off
	i_nft_off
	u_topo_down
	mkdir -p "$out/logs"
	rm -f "$out/logs/"*
	cp "$tmp"/*.log "$tmp"/*.out "$tmp"/*.conf "$tmp"/*.cfg \
	    "$out/logs/" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raw=$out/raw.jsonl
: >"$raw"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# The time budget is shared by the sections in proportion to their usual
# length (idle 1, explicit 3, transparent 2) and re-divided as they end.
weights_left=0
want idle && weights_left=$((weights_left + 1))
{ want bulk || want cps || want rtt; } && weights_left=$((weights_left + 3))
want transparent && weights_left=$((weights_left + 2))
sec_deadline=0

section_begin() {
	now=$(date +%s)
	left=$((BUDGET - (now - t_start)))
	[ $left -gt 0 ] || left=0
	sec_deadline=$((now + left * $1 / weights_left))
	weights_left=$((weights_left - $1))
}

# more_runs R: is there to be a run R?  The first always is.
more_runs() {
	[ "$1" -le "$RUNS" ] || return 1
	[ "$1" -eq 1 ] && return 0
	[ "$(date +%s)" -lt $sec_deadline ] && return 0
	echo "  time budget reached: no run $1 in this section (BENCH_BUDGET)"
	return 1
}

# ------------------------------------------------------------------
# Which peers are there?

have() {
	command -v "$1" >/dev/null 2>&1
}
have haproxy || echo "bench: haproxy not installed: its figures are skipped"
have squid || echo "bench: squid not installed: its figures are skipped"
have nginx || echo "bench: nginx not installed: its figures are skipped"
SLUICE_WHY=""
SLUICE_OK=0
if sluiced_check; then
	SLUICE_OK=1
fi

if want bulk || want cps || want rtt || want idle || want transparent; then
	start_echod || exit 1
fi

# ------------------------------------------------------------------
# One measurement.

# args_for FIG PEER: the loadgen arguments, or nothing if not applicable.
args_for() {
	af_fig=$1 af_peer=$2
	case $af_fig in
	bulk1 | t_bulk1) m="bulk -t 1 -b ${BULK_MB}m" d=SOURCE ;;
	bulk8 | t_bulk8) m="bulk -t 8 -b $((BULK_MB / 8))m" d=SOURCE ;;
	cps | t_cps) m="cps -n $CPS -c 32" d=ECHO ;;
	rtt) m="rtt -k $RTT" d=ECHO ;;
	idle) m="idle -n $IDLE -c 256" d=ECHO ;;
	warm) m="cps -n 200 -c 8" d=ECHO ;;
	esac
	eval e=\$E_$d
	case $af_fig:$af_peer in
	t_*:sluice) echo "$m -d 127.0.0.1:$e -s 127.0.0.2 -H $HELLO" ;;
	t_*:haproxy) echo "$m -d 127.0.0.1:$e -s 127.0.0.5 -H $HELLO" ;;
	t_*:nginx) echo "$m -d 127.0.0.1:$e -s 127.0.0.4 -H $HELLO" ;;
	t_cps:floor) echo "$m -d 127.0.0.1:$e -s 127.0.0.3 -H $HELLO" ;;
	t_*:*) ;;
	*:sluice) echo "$m -x 127.0.0.1:$S_EXPL -d 127.0.0.1:$e" ;;
	*:haproxy) eval p=\$H_$d; echo "$m -d 127.0.0.1:$p" ;;
	*:squid) echo "$m -x 127.0.0.1:$Q_PORT -d 127.0.0.1:$e" ;;
	cps:floor) echo "$m -x 127.0.0.1:$F_PORT -d 127.0.0.1:$e" ;;
	esac
}

pid_of() {
	case $1 in
	sluice) echo "${SLUICED_PID:-}" ;;
	haproxy) echo "${HAPROXY_PID:-}" ;;
	squid) echo "${SQUID_PID:-}" ;;
	nginx) echo "${NGINX_PID:-}" ;;
	floor) echo "${FLOOR_PID:-}" ;;
	esac
}

# measure FIG PEER RUN: run loadgen, keep its JSON line, print a summary.
measure() {
	args=$(args_for "$1" "$2")
	pid=$(pid_of "$2")
	[ -n "$args" ] && [ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || {
		echo "  $1 $2: process $pid is gone"
		return 0
	}
	# shellcheck disable=SC2086
	line=$(timeout -k 5 $((LIMIT + 90)) $PIN_LOAD $BUILD/tools/loadgen \
	    $args -T $LIMIT -p "$pid" $CORE -l "$1/$2/$3" 2>>"$tmp/loadgen.log")
	[ -n "$line" ] ||
	    line="{\"label\":\"$1/$2/$3\",\"failed\":1,\"first_error\":\"loadgen produced no result\"}"
	echo "$line" >>"$raw"
	printf '  run %s %-8s %-8s %s\n' "$3" "$1" "$2" \
	    "$(echo "$line" | $PY "$top/tests/bench/report.py" --line)"
}

peers_main="sluice haproxy squid"
# A reference, not a peer: tests/bench/connect_floor.c, the least a CONNECT
# proxy can do per tunnel (the kernel's share), for the cps figure only.
peers_ref=""
want cps && peers_ref=floor
peers_trans="sluice haproxy nginx"
peers_tref=floor

# start_peer NAME [explicit|transparent]
start_peer() {
	case $1 in
	sluice)
		[ $SLUICE_OK -eq 1 ] || return 0
		if [ "${2:-explicit}" = explicit ]; then
			start_sluiced explicit || SLUICE_OK=0
		elif ! start_sluiced transparent; then
			echo "  sluiced transparent mode not available:" \
			    "$SLUICE_WHY"
			SLUICE_WHY=""
		fi
		;;
	haproxy) have haproxy && start_haproxy ;;
	squid) have squid && start_squid ;;
	nginx) have nginx && start_nginx ;;
	floor) start_floor "${2:-explicit}" ;;
	esac
	true
}

stop_peer() {
	p=$(pid_of "$1")
	stop_pid "$p"
	case $1 in
	sluice) SLUICED_PID="" ;;
	haproxy) HAPROXY_PID="" ;;
	squid) SQUID_PID="" ;;
	nginx) NGINX_PID="" ;;
	floor) FLOOR_PID="" ;;
	esac
}

sluice_gone() {
	[ $SLUICE_OK -eq 1 ] && [ -n "${SLUICED_PID:-}" ] || return 0
	kill -0 "$SLUICED_PID" 2>/dev/null && return 1
	SLUICE_WHY="sluiced exited during the benchmark ($(tail -n 1 \
	    "$tmp/sluiced.log" 2>/dev/null))"
	SLUICE_OK=0
	return 0
}

# ------------------------------------------------------------------
# Idle tunnels: a fresh process per run (pools and malloc arenas that grew
# in an earlier run would hide the cost), a short warm-up, then 5,000.

if want idle; then
	echo "== idle tunnels: $IDLE per run, memory of the proxy process"
	section_begin 1
	r=1
	while more_runs $r; do
		for peer in $peers_main; do
			start_peer $peer
			pid=$(pid_of $peer)
			[ -n "$pid" ] || continue
			# shellcheck disable=SC2046
			$PIN_LOAD $BUILD/tools/loadgen $(args_for warm $peer) \
			    -T 10 >/dev/null 2>&1
			measure idle $peer $r
			stop_peer $peer
		done
		r=$((r + 1))
	done
fi

# ------------------------------------------------------------------
# Throughput, connection rate and round trips: one process per peer for
# all runs; the runs interleave the peers so that noise from other work
# on the machine falls on all of them alike.

if want bulk || want cps || want rtt; then
	echo "== explicit/forward: sluiced (CONNECT), HAProxy (TCP forward," \
	    "splice), Squid (CONNECT)"
	section_begin 3
	for peer in $peers_main $peers_ref; do
		start_peer $peer
	done
	r=1
	while more_runs $r; do
		for fig in bulk1 bulk8 cps rtt; do
			case $fig in bulk*) g=bulk ;; *) g=$fig ;; esac
			want $g || continue
			for peer in $peers_main $peers_ref; do
				[ $peer = sluice ] && sluice_gone && continue
				measure $fig $peer $r
			done
		done
		r=$((r + 1))
	done
	for peer in $peers_main $peers_ref; do
		stop_peer $peer
	done
fi

# ------------------------------------------------------------------
# Transparent (issue #4): ClientHello peeked, then spliced.  Every peer gets
# its flows through the nftables redirect, as a transparent gateway does,
# and routes on the SNI itself.

if want transparent; then
	echo "== transparent, every peer behind the nft redirect: sluiced" \
	    "(peek), HAProxy (req.ssl_sni), nginx (ssl_preread)"
	if [ "$where" != netns ]; then
		echo "  skipped: needs root (network namespace + nftables)"
	elif ! nft_on 2>"$tmp/nft.out"; then
		echo "  skipped: nftables redirect failed: $(head -n 1 \
		    "$tmp/nft.out")"
	else
		for peer in $peers_trans $peers_tref; do
			start_peer $peer transparent
		done
		section_begin 2
		r=1
		while more_runs $r; do
			for fig in t_bulk1 t_bulk8 t_cps; do
				for peer in $peers_trans $peers_tref; do
					[ $peer = sluice ] && sluice_gone &&
					    continue
					measure $fig $peer $r
				done
			done
			r=$((r + 1))
		done
		for peer in $peers_trans $peers_tref; do
			stop_peer $peer
		done
		nft_off
	fi
fi

# ------------------------------------------------------------------
# Policy engine (issue #3): its own tool, on the proxy's core.

: >"$out/policy.txt"
rm -f "$out/policy.json"
if want policy; then
	echo "== policy engine"
	if [ -x "$BUILD/tools/policy_bench" ]; then
		# It exits 1 when it misses a target; the report judges that.
		$PIN_PROXY timeout -k 5 300 "$BUILD/tools/policy_bench" \
		    --json "$out/policy.json" >"$out/policy.txt" 2>&1
		[ -s "$out/policy.json" ] ||
		    echo "policy_bench wrote no results" >>"$out/policy.txt"
		sed 's/^/  /' "$out/policy.txt"
	else
		echo "  skipped: $BUILD/tools/policy_bench is not built"
	fi
fi

# ------------------------------------------------------------------
# Inspection (issue 13): last, with its own time budget, so that the
# figures above are taken exactly as before.

if want inspect; then
	echo "== inspection: sluiced, the nginx reference (no minting)," \
	    "Squid ssl-bump, mitmproxy"
	inspect_section
fi

# ------------------------------------------------------------------
# UDP forwarding (issue 14): namespaces of its own, after the others.

if want udp; then
	echo "== UDP forwarding: sluiced (TPROXY, splice), socat, the minimal" \
	    "batched relay, the kernel (forward + masquerade)"
	udp_section
fi

# ------------------------------------------------------------------
# Report.

[ $SLUICE_OK -eq 1 ] || echo "bench: sluiced not available ($SLUICE_WHY):" \
    "sluice figures and targets are skipped"
echo
$PY "$top/tests/bench/report.py" --raw "$raw" --out "$out" \
    --policy "$out/policy.txt" --policy-json "$out/policy.json" \
    --meta started="$started" \
    --meta seconds=$(($(date +%s) - t_start)) \
    --meta runs="$RUNS" \
    --meta loadavg_start="$load_start" \
    --meta loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)" \
    --meta kernel="$(uname -r)" \
    --meta cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 |
	sed 's/^ //')" \
    --meta cores="$(nproc)" \
    --meta netns="$where" \
    --meta sluice_commit="$(git rev-parse --short HEAD 2>/dev/null)" \
    --meta sluiced_built="$(date -u -r "$BUILD/sluiced" +%Y-%m-%dT%H:%M:%SZ \
	2>/dev/null)" \
    --meta sluice_available="$SLUICE_OK" \
    --meta sluice_why="$SLUICE_WHY" \
    --meta haproxy="$(haproxy -v 2>/dev/null | head -n 1)" \
    --meta squid="$(squid -v 2>/dev/null | head -n 1)" \
    --meta nginx="$(nginx -v 2>&1 | head -n 1)" \
    --meta bulk_mb="$BULK_MB" --meta cps="$CPS" --meta idle="$IDLE" \
    --meta rtt="$RTT" \
    --meta mitmproxy="$(mitmdump --version 2>/dev/null | head -n 1)" \
    --meta inspect_notes="$I_NOTES" \
    --meta socat="$(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/socat \1/p')" \
    --meta udp_notes="$U_NOTES"
