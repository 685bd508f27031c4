# tests/bench/udp.sh — the UDP forwarding benchmark of `make bench` (issue
# 14): sluiced forwarding TPROXYed UDP against socat, the minimal batched
# relay (tests/bench/udp_relay.c) and the kernel's own forwarding.  Sourced
# by tests/bench/run.sh (group "udp", last), which sets BUILD, tmp, base,
# PIN_PROXY, PIN_LOAD, CORE, PY, raw, where and the helpers of peers.sh
# (remember, stop_pid).  docs/bench.md, "UDP forwarding", explains the
# method.
#
# Three network namespaces of its own (root only), veth pairs:
#   cli 10.1.0.2 -- 10.1.0.1 gw 10.2.0.1 -- 10.2.0.2 srv
# srv: udp_load sink on 10.2.0.2:U_DST (and :U_KDST), counting, echoing pings.
# gw:  sluiced (TPROXY of udp/U_DST, `splice`), socat on 10.1.0.1:U_SOCAT,
#      udp_relay on 10.1.0.1:U_RELAY (both to 10.2.0.2:U_DST), and an
#      nftables forward accept + masquerade for udp/U_KDST (the kernel).
# cli: udp_load, aimed at 10.2.0.2:U_DST (sluice: TPROXY diverts it),
#      10.2.0.2:U_KDST (kernel), or the relay's own address.
# Forwarders run pinned to core 0 (PIN_PROXY), load and sink to core 1;
# the gateway's receive work is steered to core 0 (RPS, BENCH_UDP_RPS).

U_DST=$((base + 71)) U_KDST=$((base + 72)) U_SOCAT=$((base + 73))
U_RELAY=$((base + 74)) U_TPORT=$((base + 75))

U_RUNS=${BENCH_UDP_RUNS:-3}
U_STEP=${BENCH_UDP_STEP:-0.5}
U_STEPS=${BENCH_UDP_STEPS:-9}
U_PORTS=${BENCH_UDP_PORTS:-4}
U_PINGS=${BENCH_UDP_PINGS:-2000}
U_CPU_PPS=${BENCH_UDP_CPU_PPS:-50000}
U_BUDGET=${BENCH_UDP_BUDGET:-170}
U_PEERS=${BENCH_UDP_PEERS:-sluice socat relay kernel}
U_RPS=${BENCH_UDP_RPS:-1}
U_NOTES=""
UL=$BUILD/tools/udp_load
UR=$BUILD/tools/udp_relay
ud=$tmp/udp
UC=sluc$$ UG=slug$$ US=slus$$
U_TOPO=0

u_note() {
	echo "  $*"
	U_NOTES="$U_NOTES$*
"
}

u_in() {
	u_ns=$1
	shift
	ip netns exec "$u_ns" "$@"
}

u_topo_up() {
	for u_ns in "$UC" "$UG" "$US"; do
		ip netns add "$u_ns" || return 1
		U_TOPO=1
		ip -n "$u_ns" link set lo up
	done
	ip -n "$UG" link add g0 type veth peer name c0 netns "$UC" || return 1
	ip -n "$UG" link add g1 type veth peer name s0 netns "$US" || return 1
	ip -n "$UC" addr add 10.1.0.2/24 dev c0
	ip -n "$UG" addr add 10.1.0.1/24 dev g0
	ip -n "$UG" addr add 10.2.0.1/24 dev g1
	ip -n "$US" addr add 10.2.0.2/24 dev s0
	for u_l in "$UC c0" "$UG g0" "$UG g1" "$US s0"; do
		# shellcheck disable=SC2086
		set -- $u_l
		ip -n "$1" link set "$2" up
	done
	ip -n "$UC" route add default via 10.1.0.1
	ip -n "$US" route add default via 10.2.0.1
	u_in "$UG" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# The gateway's receive work on the forwarder's core, as a NIC's
	# interrupts would be: RPS steers what arrives on g0 and g1 to core
	# 0.  Without it a veth's receive runs on the sender's core, so the
	# kernel's own forwarding would run on the load's core, and the load
	# would pay for the forwarders' receive path.
	if [ "$U_RPS" = 1 ] && [ -n "$PIN_PROXY" ]; then
		for u_d in g0 g1; do
			u_in "$UG" sh -c "echo 1 \
			    >/sys/class/net/$u_d/queues/rx-0/rps_cpus" ||
			    return 1
		done
	fi
	# The kernel's figure: routed, accepted, masqueraded like a NAT
	# gateway (the forwarders' upstream also leaves from 10.2.0.1).  The
	# nat chain turns connection tracking on in gw for every peer alike
	# (sluicectl's ruleset has one too).
	u_in "$UG" nft -f - <<EOF
table ip sluice_udpbench {
	chain forward {
		type filter hook forward priority 0; policy accept;
		udp dport $U_KDST accept
		udp sport $U_KDST accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "g1" udp dport $U_KDST masquerade
	}
}
EOF
}

u_topo_down() {
	[ "$U_TOPO" -eq 1 ] || return 0
	for u_ns in "$UC" "$UG" "$US"; do
		# What is left in our namespaces is ours (socat's children).
		for u_p in $(ip netns pids "$u_ns" 2>/dev/null); do
			kill -KILL "$u_p" 2>/dev/null
		done
		ip netns del "$u_ns" 2>/dev/null
	done
	U_TOPO=0
}

# u_pid PEER
u_pid() {
	case $1 in
	sluice) echo "${U_SLUICED_PID:-}" ;;
	socat) echo "${U_SOCAT_PID:-}" ;;
	relay) echo "${U_RELAY_PID:-}" ;;
	kernel) echo kernel ;;
	esac
}

# u_dest PEER: where the client aims.
u_dest() {
	case $1 in
	sluice) echo "10.2.0.2:$U_DST" ;;
	socat) echo "10.1.0.1:$U_SOCAT" ;;
	relay) echo "10.1.0.1:$U_RELAY" ;;
	kernel) echo "10.2.0.2:$U_KDST" ;;
	esac
}

# u_probe PEER: a few pings come back through it (up to ~6 s).
u_probe() {
	up_i=0
	while [ $up_i -lt 20 ]; do
		u_in "$UC" "$UL" ping -d "$(u_dest "$1")" -k 5 -T 2 \
		    >"$ud/probe.out" 2>&1 && return 0
		sleep 0.3
		up_i=$((up_i + 1))
	done
	return 1
}

u_write_sluiced() {
	cat >"$tmp/udp-sluiced.conf" <<EOF
# sluice UDP benchmark configuration (tests/bench/udp.sh)
listen transparent 10.1.0.1:$U_TPORT
set nft-interfaces g0
set workers 1
set log-level warn
set log-allowed off
set transparent-udp-ports udp/$U_DST
rule bench splice ip 10.2.0.2 port udp/$U_DST
default deny
EOF
}

# u_start_sluiced: sluiced in gw, then the ruleset `sluicectl nft` prints
# for its configuration and the policy routing it prints as comments.
u_start_sluiced() {
	u_write_sluiced
	if ! "$BUILD/sluicectl" nft -c "$tmp/udp-sluiced.conf" >"$ud/sluice.nft" \
	    2>"$ud/nft.err"; then
		u_note "sluice: sluicectl nft failed: $(head -n 1 "$ud/nft.err")"
		return 1
	fi
	# shellcheck disable=SC2086
	u_in "$UG" $PIN_PROXY "$BUILD/sluiced" -f -c "$tmp/udp-sluiced.conf" \
	    -o user= -o pid-file= -o state-dir="$ud" -o log-dir="$ud" \
	    >>"$tmp/udp-sluiced.log" 2>&1 &
	U_SLUICED_PID=$!
	remember $U_SLUICED_PID
	sleep 0.5
	if ! u_in "$UG" nft -f "$ud/sluice.nft" 2>"$ud/nft.err"; then
		u_note "sluice: nft -f rejects sluicectl's ruleset:" \
		    "$(head -n 1 "$ud/nft.err")"
		return 1
	fi
	sed -n 's/^#   \(ip .*\)$/\1/p' "$ud/sluice.nft" >"$ud/routing"
	while IFS= read -r u_cmd; do
		# shellcheck disable=SC2086
		u_in "$UG" $u_cmd 2>/dev/null
	done <"$ud/routing"
}

u_start() {
	case $1 in
	sluice)
		if [ ! -x "$BUILD/sluiced" ] || [ ! -x "$BUILD/sluicectl" ]; then
			u_note "sluice: $BUILD/sluiced or sluicectl not built"
			return 1
		fi
		u_start_sluiced || return 1
		;;
	socat)
		command -v socat >/dev/null 2>&1 || {
			u_note "socat: not installed (scripts/deps.sh test):" \
			    "its figures are skipped"
			return 1
		}
		# One child per client port (fork), 2 KiB reads, a child
		# idle for 30 s ends.
		# shellcheck disable=SC2086
		u_in "$UG" $PIN_PROXY socat -T 30 -b 2048 \
		    UDP4-LISTEN:$U_SOCAT,bind=10.1.0.1,reuseaddr,fork \
		    UDP4:10.2.0.2:$U_DST >"$tmp/udp-socat.log" 2>&1 &
		U_SOCAT_PID=$!
		remember $U_SOCAT_PID
		;;
	relay)
		# shellcheck disable=SC2086
		u_in "$UG" $PIN_PROXY "$UR" -l 10.1.0.1:$U_RELAY \
		    -u 10.2.0.2:$U_DST -T 900 >"$tmp/udp-relay.log" 2>&1 &
		U_RELAY_PID=$!
		remember $U_RELAY_PID
		;;
	kernel) ;;
	esac
	u_probe "$1" && return 0
	u_note "$1: no echo through it; its figures are skipped" \
	    "($(tail -n 1 "$ud/probe.out"))"
	return 1
}

# u_measure FIG PEER RUN
u_measure() {
	um_pid=$(u_pid "$2")
	um_cpu="$CORE"
	if [ "$um_pid" != kernel ]; then
		kill -0 "$um_pid" 2>/dev/null || {
			echo "  $1 $2: process $um_pid is gone"
			return 0
		}
		um_cpu="-p $um_pid $CORE"
	fi
	case $1 in
	u100) um_args="search -s 100 -t $U_STEP -n $U_STEPS -P $U_PORTS" ;;
	u1200) um_args="search -s 1200 -t $U_STEP -n $U_STEPS -P $U_PORTS" ;;
	ucpu) um_args="rate -s 100 -r $U_CPU_PPS -t 1 -P $U_PORTS" ;;
	urtt) um_args="ping -s 100 -k $U_PINGS" ;;
	esac
	# shellcheck disable=SC2086
	um_line=$(u_in "$UC" $PIN_LOAD timeout -k 5 60 "$UL" $um_args \
	    -d "$(u_dest "$2")" -c "$ud/count" -T 40 -l "$1/$2/$3" $um_cpu \
	    2>>"$tmp/udp_load.log")
	[ -n "$um_line" ] ||
	    um_line="{\"label\":\"$1/$2/$3\",\"failed\":1,\"first_error\":\"udp_load produced no result\"}"
	echo "$um_line" >>"$raw"
	printf '  run %s %-6s %-7s %s\n' "$3" "$1" "$2" \
	    "$(echo "$um_line" | $PY "$top/tests/bench/report.py" --line)"
}

udp_section() {
	if [ "$where" != netns ]; then
		u_note "skipped: needs root (network namespaces, nftables)"
		return 0
	fi
	for u_t in "$UL" "$UR"; do
		if [ ! -x "$u_t" ]; then
			u_note "skipped: $u_t is missing (make bench builds it)"
			return 0
		fi
	done
	mkdir -p "$ud"
	if ! u_topo_up 2>"$ud/topo.err"; then
		u_note "skipped: the namespaces could not be set up:" \
		    "$(head -n 1 "$ud/topo.err")"
		u_topo_down
		return 0
	fi
	# shellcheck disable=SC2086
	u_in "$US" $PIN_LOAD "$UL" sink -b 10.2.0.2:$U_DST -b 10.2.0.2:$U_KDST \
	    -c "$ud/count" -T 900 >"$tmp/udp-sink.log" 2>&1 &
	U_SINK_PID=$!
	remember $U_SINK_PID
	u_i=0
	while ! grep -q ready "$tmp/udp-sink.log" 2>/dev/null &&
	    [ $u_i -lt 50 ]; do
		sleep 0.1
		u_i=$((u_i + 1))
	done
	u_ok=""
	for u_p in $U_PEERS; do
		u_start "$u_p" && u_ok="$u_ok $u_p"
	done
	u_t0=$(date +%s)
	u_r=1
	while [ $u_r -le "$U_RUNS" ]; do
		if [ $u_r -gt 1 ] &&
		    [ $(($(date +%s) - u_t0)) -ge "$U_BUDGET" ]; then
			echo "  time budget reached: no run $u_r" \
			    "(BENCH_UDP_BUDGET)"
			break
		fi
		for u_f in u100 u1200 ucpu urtt; do
			for u_p in $u_ok; do
				u_measure $u_f "$u_p" $u_r
			done
		done
		u_r=$((u_r + 1))
	done
	for u_p in U_SLUICED_PID U_SOCAT_PID U_RELAY_PID U_SINK_PID; do
		eval "stop_pid \"\${$u_p:-}\""
		eval "$u_p=''"
	done
	u_topo_down
}
