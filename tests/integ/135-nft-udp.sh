#!/bin/bash
# 135-nft-udp: `sluicectl nft` TPROXYs UDP to the transparent-udp-ports
# (STUN/TURN) to the transparent listener's address and port (issue #4).
#
# First the text: the whole ruleset for two configurations, and the UDP
# part for others (no UDP ports, clients of one family, an IPv6-only
# listener; a bare port is refused), each accepted by `nft -c`.  Then the ruleset and
# the policy routing it prints are loaded in gw as they are, and
# py/tproxy_udp.py, bound with IP_TRANSPARENT and IP_RECVORIGDSTADDR on the
# transparent listener's endpoint, stands in for sluiced's own forwarder
# (off here: `set udp-forward off`; integ 160 tests the forwarder):
# datagrams from clients to the UDP ports reach it with their original
# destination (IPv4 and IPv6, redirect and tproxy mode);
# other ports, other clients and the server side are routed on untouched;
# and with nothing bound there tproxy diverts nothing (the kernel's
# nft_tproxy breaks off the rule when it finds no socket), so datagrams
# reach the server as without sluice.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

topo_up
[ -x "$BUILD/sluicectl" ] || setup_fail "$BUILD/sluicectl does not exist"

# nft_of NAME CONFIGTEXT: `sluicectl nft -c $T/NAME.conf`; the ruleset in
# $T/NAME.nft, stderr in $T/NAME.err, the exit status in NFT_RC.
nft_of() {
	printf '%s\ndefault deny\n' "$2" >"$T/$1.conf"
	"$BUILD/sluicectl" nft -c "$T/$1.conf" >"$T/$1.nft" 2>"$T/$1.err"
	NFT_RC=$?
}

# nft_loads NAME: nft in gw accepts $T/NAME.nft (-c: check, load nothing).
nft_loads() {
	check "in_gw nft -c -f '$T/$1.nft'" "$1: nft -c accepts the ruleset"
}

# same_text NAME GOT WANT: GOT and WANT (files) are equal, diff otherwise.
same_text() {
	check "diff -u '$3' '$2'" "$1"
}

# table_of FILE: the ruleset without its header (which names the file).
table_of() {
	sed -n '/^table inet sluice {$/,$p' "$1"
}

# chain_of FILE CHAIN: the lines of one chain of a ruleset.
chain_of() {
	sed -n "/^\tchain $2 {\$/,/^\t}\$/p" "$1"
}

# --- the text ------------------------------------------------------------
nft_of golden1 'listen transparent 10.1.0.1:3129
listen transparent [fd00:1::1]:3129
set nft-interfaces g0
set nft-clients 10.1.0.2/32,fd00:1::2/128'
is "$NFT_RC $(cat "$T/golden1.err")" "0 " "redirect, clients of both families: exit 0, nothing on stderr"
cat >"$T/golden1.want" <<'EOF'
table inet sluice {
	set clients_v4 {
		type ipv4_addr; flags interval;
		elements = { 10.1.0.2/32 }
	}
	set clients_v6 {
		type ipv6_addr; flags interval;
		elements = { fd00:1::2/128 }
	}
	set tcp_ports {
		type inet_service; flags interval;
		elements = { 80, 443, 12000-12002 }
	}
	set udp_ports {
		type inet_service; flags interval;
		elements = { 3478, 5349 }
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname != { "g0" } return
		# to the appliance itself: not redirected
		fib daddr type local return
		ip saddr @clients_v4 tcp dport @tcp_ports dnat ip to 10.1.0.1:3129
		ip6 saddr @clients_v6 tcp dport @tcp_ports dnat ip6 to [fd00:1::1]:3129
	}

	chain prerouting_udp {
		type filter hook prerouting priority mangle; policy accept;
		# STUN/TURN: TPROXY to the transparent listener's address and
		# port, protocol UDP, where sluiced forwards what policy
		# splices.  With nothing bound there (udp-forward off, sluiced
		# stopped) tproxy finds no socket, the rule does not match and
		# the datagrams are routed on as without sluice.
		iifname != { "g0" } return
		# to the appliance itself: not redirected
		fib daddr type local return
		ip saddr @clients_v4 udp dport @udp_ports tproxy ip to 10.1.0.1:3129 meta mark set 0x534c accept
		ip6 saddr @clients_v6 udp dport @udp_ports tproxy ip6 to [fd00:1::1]:3129 meta mark set 0x534c accept
	}
}

# TPROXY also needs policy routing (not nftables):
#   ip rule add fwmark 0x534c lookup 0x534c
#   ip route add local 0.0.0.0/0 dev lo table 0x534c
#   ip -6 rule add fwmark 0x534c lookup 0x534c
#   ip -6 route add local ::/0 dev lo table 0x534c
EOF
table_of "$T/golden1.nft" >"$T/golden1.got"
same_text "redirect: TCP as before, UDP in a filter chain of its own, policy routing" \
    "$T/golden1.got" "$T/golden1.want"
nft_loads golden1

nft_of golden2 'listen tproxy *:3130'
cat >"$T/golden2.want" <<'EOF'
	chain prerouting_udp {
		type filter hook prerouting priority mangle; policy accept;
		# STUN/TURN: TPROXY to the transparent listener's address and
		# port, protocol UDP, where sluiced forwards what policy
		# splices.  With nothing bound there (udp-forward off, sluiced
		# stopped) tproxy finds no socket, the rule does not match and
		# the datagrams are routed on as without sluice.
		# to the appliance itself: not redirected
		fib daddr type local return
		meta nfproto ipv4 udp dport @udp_ports tproxy ip to :3130 meta mark set 0x534c accept
		meta nfproto ipv6 udp dport @udp_ports tproxy ip6 to :3130 meta mark set 0x534c accept
	}
EOF
chain_of "$T/golden2.nft" prerouting_udp >"$T/golden2.got"
same_text "tproxy on *:3130, no clients: UDP of both families to :3130" \
    "$T/golden2.got" "$T/golden2.want"
is "$(grep -c '^#   ip ' "$T/golden2.nft")" 4 "tproxy: the policy routing is printed once"
nft_loads golden2

nft_of noudp 'listen transparent 10.1.0.1:3129
set transparent-udp-ports ""'
is "$NFT_RC" 0 "empty transparent-udp-ports: exit 0"
unlike "$(table_of "$T/noudp.nft")" 'udp|fwmark' "empty transparent-udp-ports, redirect: no udp_ports, no UDP chain, no policy routing"
like "$(chain_of "$T/noudp.nft" prerouting)" 'tcp dport @tcp_ports dnat ip to 10\.1\.0\.1:3129' "empty transparent-udp-ports: the TCP rule stays"
nft_loads noudp

nft_of noudptp 'listen tproxy 10.1.0.1:3130
set transparent-udp-ports ""'
unlike "$(table_of "$T/noudptp.nft")" 'udp' "empty transparent-udp-ports, tproxy: no UDP set or chain"
is "$(grep -c '^#   ip ' "$T/noudptp.nft")" 4 "empty transparent-udp-ports, tproxy: TCP still gets the policy routing"
nft_loads noudptp

nft_of v4clients 'listen transparent 10.1.0.1:3129
listen transparent [fd00:1::1]:3129
set nft-clients 10.1.0.0/24'
is "$(chain_of "$T/v4clients.nft" prerouting_udp | grep 'udp dport')" \
    "$(printf '\t\tip saddr @clients_v4 udp dport @udp_ports tproxy ip to 10.1.0.1:3129 meta mark set 0x534c accept')" \
    "IPv4 clients only: one UDP rule, IPv4"
# clients_v6 is empty here: nft rejects "elements = {  }".
unlike "$(cat "$T/v4clients.nft")" 'elements = \{ *\}' "IPv4 clients only: no empty elements block"
nft_loads v4clients

nft_of v6clients 'listen transparent 10.1.0.1:3129
listen transparent [fd00:1::1]:3129
set nft-clients fd00:1::/64'
is "$(chain_of "$T/v6clients.nft" prerouting_udp | grep 'udp dport')" \
    "$(printf '\t\tip6 saddr @clients_v6 udp dport @udp_ports tproxy ip6 to [fd00:1::1]:3129 meta mark set 0x534c accept')" \
    "IPv6 clients only: one UDP rule, IPv6"
nft_loads v6clients

nft_of v6only 'listen transparent [fd00:1::1]:3129
set transparent-udp-ports udp/3478-3480'
is "$(chain_of "$T/v6only.nft" prerouting_udp | grep 'udp dport')" \
    "$(printf '\t\tmeta nfproto ipv6 udp dport @udp_ports tproxy ip6 to [fd00:1::1]:3129 meta mark set 0x534c accept')" \
    "IPv6-only listener: the UDP rule is IPv6 only, to its address"
like "$(cat "$T/v6only.nft")" 'elements = \{ 3478-3480 \}' "a UDP port range is printed as a range"
nft_loads v6only

nft_of bare 'listen transparent 10.1.0.1:3129
set transparent-udp-ports 3478'
isnt "$NFT_RC" "0" "a bare port in transparent-udp-ports (TCP) is a configuration error"
like "$(cat "$T/bare.err")" "bare\\.conf:2:[0-9]+: error: '3478' is a TCP port; this setting takes UDP ports \\(write udp/PORT\\)" \
    "which says where and what to write"
is "$(cat "$T/bare.nft")" "" "and no ruleset is printed"

# --- redirect mode, on the wire --------------------------------------------

# routing_run add|del: the policy-routing commands printed as comments in
# $T/sluice.nft, run in gw as printed (add) or undone (del).
routing_run() {
	local cmd out
	sed -n 's/^#   \(ip .*\)$/\1/p' "$T/sluice.nft" >"$T/routing"
	[ -s "$T/routing" ] ||
	    setup_fail "sluicectl nft printed no policy routing" "$(cat -n "$T/sluice.nft")"
	while IFS= read -r cmd; do
		[ "$1" = del ] && cmd=${cmd/ add / del }
		# shellcheck disable=SC2086
		out=$(in_gw $cmd 2>&1) ||
		    setup_fail "policy routing from sluicectl nft: $cmd" "$out"
	done <"$T/routing"
}

# udp_recv NS NAME ARGS...: py/tproxy_udp.py recv ARGS in NS, its lines in
# $T/NAME.log; waits (5 s) until it is bound; its PID in RECV_PID.
udp_recv() {
	local ns=$1 name=$2
	shift 2
	bg "$ns" "$name" "$PY" "$PYDIR/tproxy_udp.py" recv --max 300 "$@"
	RECV_PID=$BG_PID
	wait_for 5 grep -qx ready "$T/$name.log" ||
	    setup_fail "UDP receiver $name did not start" "$(cat "$T/$name.log")"
}

# udp_send NS DEST TAG [--from ADDR]: one datagram with payload TAG from
# NS; prints its source port.
udp_send() {
	local ns=$1 dest=$2 tag=$3 out
	shift 3
	out=$(ip netns exec "$ns" timeout 5 "$PY" "$PYDIR/tproxy_udp.py" send \
	    "$@" "$dest" "$tag" 2>&1)
	printf '%s' "${out#port=}"
}

# got NAME TAG: wait (5 s) for receiver NAME's line of datagram TAG, print it.
got() {
	wait_for 5 grep -q " data=$2\$" "$T/$1.log"
	grep " data=$2\$" "$T/$1.log" | head -n 1
}

# A second address on cli's side that is not in nft-clients, used only
# when bound explicitly: secondary (IPv4), deprecated (IPv6).
ip -n "$CLI" addr add 10.1.0.7/24 dev c0 || setup_fail "10.1.0.7 in cli"
ip -n "$CLI" addr add fd00:1::7/64 dev c0 nodad preferred_lft 0 ||
    setup_fail "fd00:1::7 in cli"

# udp-forward off: sluiced binds nothing for UDP, so the stand-in below
# can take the endpoint (integ 160 tests sluiced's own forwarding).
transparent_start '
set udp-forward off
set nft-clients 10.1.0.2/32,fd00:1::2/128
set transparent-tcp-ports 443
set transparent-udp-ports udp/3478,udp/5349
'
routing_run add
like "$(chain_of "$T/sluice.nft" prerouting_udp)" \
    'ip saddr @clients_v4 udp dport @udp_ports tproxy ip to 10\.1\.0\.1:3129 meta mark set 0x534c accept' \
    "the loaded ruleset TPROXYs UDP to the transparent listener's endpoint"

udp_recv "$SRV" srvudp 10.2.0.2:3478 10.2.0.2:5000 '[fd00:2::2]:3478' '[fd00:2::2]:5000'
udp_recv "$GW" gwudp --transparent 10.1.0.1:3129 '[fd00:1::1]:3129'
GW_RECV=$RECV_PID

tag=v4-3478-$$
p=$(udp_send "$CLI" 10.2.0.2:3478 "$tag")
is "$(got gwudp "$tag")" "got from=10.1.0.2:$p to=10.2.0.2:3478 on=10.1.0.1:3129 data=$tag" \
    "UDP 10.2.0.2:3478 from a client arrives at the endpoint with its original destination"
DIVERTED="$tag"

tag=v6-3478-$$
p=$(udp_send "$CLI" '[fd00:2::2]:3478' "$tag")
is "$(got gwudp "$tag")" "got from=[fd00:1::2]:$p to=[fd00:2::2]:3478 on=[fd00:1::1]:3129 data=$tag" \
    "UDP [fd00:2::2]:3478 from a client arrives at the IPv6 endpoint with its original destination"
DIVERTED="$DIVERTED $tag"

tag=v4-5349-$$
p=$(udp_send "$CLI" 10.2.0.2:5349 "$tag")
is "$(got gwudp "$tag")" "got from=10.1.0.2:$p to=10.2.0.2:5349 on=10.1.0.1:3129 data=$tag" \
    "UDP to 5349 (the second port of the set) is diverted too"
DIVERTED="$DIVERTED $tag"

tag=v4-5000-$$
p=$(udp_send "$CLI" 10.2.0.2:5000 "$tag")
is "$(got srvudp "$tag")" "got from=10.1.0.2:$p to=10.2.0.2:5000 on=10.2.0.2:5000 data=$tag" \
    "UDP to a port outside the set reaches the server untouched"
tag6=v6-5000-$$
p=$(udp_send "$CLI" '[fd00:2::2]:5000' "$tag6")
is "$(got srvudp "$tag6")" "got from=[fd00:1::2]:$p to=[fd00:2::2]:5000 on=[fd00:2::2]:5000 data=$tag6" \
    "IPv6 UDP to a port outside the set reaches the server untouched"
is "$(grep -c -e "data=$tag\$" -e "data=$tag6\$" "$T/gwudp.log")" 0 "nothing outside the set reached the endpoint"

tag=v4-other-client-$$
p=$(udp_send "$CLI" 10.2.0.2:3478 "$tag" --from 10.1.0.7)
is "$(got srvudp "$tag")" "got from=10.1.0.7:$p to=10.2.0.2:3478 on=10.2.0.2:3478 data=$tag" \
    "UDP 3478 from an address outside nft-clients is not diverted"
tag=v6-other-client-$$
p=$(udp_send "$CLI" '[fd00:2::2]:3478' "$tag" --from fd00:1::7)
is "$(got srvudp "$tag")" "got from=[fd00:1::7]:$p to=[fd00:2::2]:3478 on=[fd00:2::2]:3478 data=$tag" \
    "IPv6 UDP 3478 from an address outside nft-clients is not diverted"

# Nothing bound on the endpoint, as until sluiced forwards UDP: the rule
# still matches the address, port and client, but tproxy finds no socket.
stop_pid "$GW_RECV"
tag=v4-unbound-$$
p=$(udp_send "$CLI" 10.2.0.2:3478 "$tag")
is "$(got srvudp "$tag")" "got from=10.1.0.2:$p to=10.2.0.2:3478 on=10.2.0.2:3478 data=$tag" \
    "nothing bound on the endpoint: UDP 3478 is routed on to the server as without sluice"
tag=v6-unbound-$$
p=$(udp_send "$CLI" '[fd00:2::2]:3478' "$tag")
is "$(got srvudp "$tag")" "got from=[fd00:1::2]:$p to=[fd00:2::2]:3478 on=[fd00:2::2]:3478 data=$tag" \
    "nothing bound on the endpoint: IPv6 UDP 3478 is routed on to the server"

# --- tproxy mode -----------------------------------------------------------
sluiced_stop
routing_run del
transparent_start '
set udp-forward off
set transparent-tcp-ports 443
' tproxy
like "$(chain_of "$T/sluice.nft" prerouting_udp)" \
    'meta nfproto ipv6 udp dport @udp_ports tproxy ip6 to \[fd00:1::1\]:3130 meta mark set 0x534c accept' \
    "tproxy mode: UDP goes to the tproxy listener's endpoint"
udp_recv "$GW" gwudp2 --transparent 10.1.0.1:3130 '[fd00:1::1]:3130'
udp_recv "$CLI" cliudp 10.1.0.2:3478

tag=tp-v4-$$
p=$(udp_send "$CLI" 10.2.0.2:3478 "$tag")
is "$(got gwudp2 "$tag")" "got from=10.1.0.2:$p to=10.2.0.2:3478 on=10.1.0.1:3130 data=$tag" \
    "tproxy mode: UDP 3478 arrives at the endpoint with its original destination"
DIVERTED="$DIVERTED $tag"
tag=tp-v6-$$
p=$(udp_send "$CLI" '[fd00:2::2]:3478' "$tag")
is "$(got gwudp2 "$tag")" "got from=[fd00:1::2]:$p to=[fd00:2::2]:3478 on=[fd00:1::1]:3130 data=$tag" \
    "tproxy mode: IPv6 UDP 3478 arrives at the endpoint with its original destination"
DIVERTED="$DIVERTED $tag"

# No nft-clients here: only the interface keeps the server side out.
tag=tp-from-srv-$$
p=$(udp_send "$SRV" 10.1.0.2:3478 "$tag" --from 10.2.0.2)
is "$(got cliudp "$tag")" "got from=10.2.0.2:$p to=10.1.0.2:3478 on=10.1.0.2:3478 data=$tag" \
    "UDP 3478 arriving on another interface than nft-interfaces is not diverted"

n=0
for tag in $DIVERTED; do
	grep -q " data=$tag\$" "$T/srvudp.log" && n=$((n + 1))
done
is "$n" 0 "no diverted datagram also reached the server"

done_testing
