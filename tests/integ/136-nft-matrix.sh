#!/bin/bash
# 136-nft-matrix: `sluicectl nft` over a matrix of configurations, each one
# that sluiced accepts (`sluiced -t`) turned into a ruleset that nft accepts
# (`nft -c` in gw) and that names every client subnet, port and listener of
# the configuration, or says on stderr what it cannot serve.
#
# Regressions found by sweeping 272 configurations: nested or duplicate
# nft-clients (nft refused the set: "conflicting intervals specified"); an
# empty transparent-tcp-ports with UDP ports (refused though UDP had rules
# to make); a transparent listener for one family and a tproxy one for the
# other (the second family was silently left out); client subnets of a
# family no listener serves (no rule, no word) and the TPROXY policy
# routing printed without any tproxy rule; so-mark equal to the TPROXY mark
# 0x534c (sluiced's own connections routed back to itself); a listener on
# port 0 (a rule to port 0).  A few rulesets are loaded for real and listed
# back.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

topo_up
[ -x "$BUILD/sluicectl" ] || setup_fail "$BUILD/sluicectl does not exist"

# mx NAME CONFIGTEXT: sluiced -t must accept the configuration; then
# `sluicectl nft` (ruleset in $T/NAME.nft, stderr in $T/NAME.err, exit
# status in MX_RC) and, when it printed one, `nft -c` of it in gw.
mx() {
	local out
	printf '%s\ndefault deny\n' "$2" >"$T/$1.conf"
	out=$("$BUILD/sluiced" -t -c "$T/$1.conf" -o user= -o pid-file= \
	    -o "state-dir=$T" -o "log-dir=$T" 2>&1) ||
	    setup_fail "$1: sluiced -t refuses the configuration" "$out"
	"$BUILD/sluicectl" nft -c "$T/$1.conf" >"$T/$1.nft" 2>"$T/$1.err"
	MX_RC=$?
	[ "$MX_RC" -eq 0 ] || return 0
	check "in_gw nft -c -f '$T/$1.nft'" "$1: nft -c accepts the ruleset"
}

# rule NAME LINE DESC: the ruleset has LINE (without its indentation).
rule() {
	check "sed 's/^\t*//' '$T/$1.nft' | grep -qxF -- '$2'" "$1: $3"
}

# no_rule NAME REGEX DESC: no line of the ruleset matches REGEX.
no_rule() {
	check "! grep -qE -- '$2' '$T/$1.nft'" "$1: $3"
}

# rules NAME: the rule lines (those with a dport match), unindented.
rules() {
	sed -n 's/^\t*\(.* dport @.*\)$/\1/p' "$T/$1.nft"
}

# err_like NAME REGEX DESC: stderr of sluicectl nft matches REGEX.
err_like() {
	like "$(cat "$T/$1.err")" "$2" "$1: $3"
}

L46='listen transparent 10.1.0.1:3129
listen transparent [fd00:1::1]:3129'
TP='tproxy ip to 10.1.0.1:3129 meta mark set 0x534c accept'
TP6='tproxy ip6 to [fd00:1::1]:3129 meta mark set 0x534c accept'

# --- nft-clients: nested, duplicate, adjacent, all -------------------------
mx nest4 "$L46
set nft-clients 10.0.0.0/8,10.1.0.0/16"
rule nest4 'elements = { 10.0.0.0/8 }' "10.1.0.0/16 inside 10.0.0.0/8 is left out of the interval set"
rule nest4 'ip saddr @clients_v4 tcp dport @tcp_ports dnat ip to 10.1.0.1:3129' "the IPv4 rule stays"

mx nest6 "$L46
set nft-clients fd00::/8,fd00:1::/64,fd00:1::2/128"
rule nest6 'elements = { fd00::/8 }' "IPv6: only the outermost of three nested prefixes"

mx nestmix "$L46
set nft-clients 192.168.1.0/24,192.168.0.0/16,10.0.0.0/8,fd00:1::/64,172.16.0.0/12"
rule nestmix 'elements = { 192.168.0.0/16, 10.0.0.0/8, 172.16.0.0/12 }' "a narrower prefix before its wider one is left out; the others keep their order"
rule nestmix 'elements = { fd00:1::/64 }' "and the IPv6 subnet has its own set"

mx dup "$L46
set nft-clients 10.1.0.0/24,10.1.0.0/24,fd00:1::2,fd00:1::2/128"
rule dup 'elements = { 10.1.0.0/24 }' "a duplicate subnet is printed once"
rule dup 'elements = { fd00:1::2/128 }' "an address and the same /128: once"

mx adjacent "$L46
set nft-clients 10.1.0.0/24,10.1.1.0/24"
rule adjacent 'elements = { 10.1.0.0/24, 10.1.1.0/24 }' "adjacent subnets are both kept"

mx all "$L46
set nft-clients 10.1.0.0/16,0.0.0.0/0,::/0"
rule all 'elements = { 0.0.0.0/0 }' "0.0.0.0/0 covers the rest"
rule all 'elements = { ::/0 }' "::/0 for IPv6"

mx mapped "$L46
set nft-clients ::ffff:10.0.0.0/104"
rule mapped 'elements = { 10.0.0.0/8 }' "a v4-mapped prefix is the IPv4 subnet"
is "$(rules mapped | grep -c ip6)" 0 "mapped: and no IPv6 rule"

# --- ports ---------------------------------------------------------------
mx edges "listen transparent *:3129
set transparent-tcp-ports 65535,1,100-200
set transparent-udp-ports udp/1,udp/65535"
rule edges 'elements = { 1, 100-200, 65535 }' "ports 1 and 65535 and a range, in order"
rule edges 'elements = { 1, 65535 }' "UDP ports 1 and 65535"
rule edges 'meta nfproto ipv4 tcp dport @tcp_ports redirect to :3129' "*:3129: IPv4 redirected to the port"
rule edges 'meta nfproto ipv6 udp dport @udp_ports tproxy ip6 to :3129 meta mark set 0x534c accept' "*:3129: IPv6 UDP TPROXYed to the port"

mx overlap "$L46
set transparent-tcp-ports 80-90,85-95,443,443,96
set transparent-udp-ports udp/3478-3480,udp/3479-4000"
rule overlap 'elements = { 80-96, 443 }' "overlapping, adjacent and duplicate TCP ports merged"
rule overlap 'elements = { 3478-4000 }' "overlapping UDP ranges merged"

mx full "$L46
set transparent-tcp-ports 1-65535
set transparent-udp-ports udp/1-65535"
is "$(grep -c 'elements = { 1-65535 }' "$T/full.nft")" 2 "every port, TCP and UDP"

long=$(seq -s, 1000 3 1177)
mx long "$L46
set transparent-tcp-ports $long"
rule long "elements = { $(seq -s, 1000 3 1177 | sed 's/,/, /g') }" "60 ports, each one"

# --- UDP only, TCP only, neither -----------------------------------------
mx udponly 'listen tproxy *:3130
set transparent-tcp-ports ""'
is "$MX_RC" 0 "udponly: an empty transparent-tcp-ports with UDP ports is a ruleset"
no_rule udponly 'tcp|chain prerouting \{' "no TCP set, no TCP chain"
rule udponly 'meta nfproto ipv4 udp dport @udp_ports tproxy ip to :3130 meta mark set 0x534c accept' "UDP of IPv4 TPROXYed"
is "$(grep -c '^#   ip ' "$T/udponly.nft")" 4 "udponly: the policy routing is printed"

mx udponlyr "$L46
set transparent-tcp-ports \"\""
is "$(rules udponlyr)" "$(printf 'meta nfproto ipv4 udp dport @udp_ports %s\nmeta nfproto ipv6 udp dport @udp_ports %s' "$TP" "$TP6")" \
    "udponlyr: redirect listeners, UDP only: the two UDP rules"

mx none "$L46
set transparent-tcp-ports \"\"
set transparent-udp-ports \"\""
isnt "$MX_RC" 0 "none: no port at all is refused"
err_like none 'transparent-tcp-ports and transparent-udp-ports are empty' "saying both are empty"

mx tcponly "$L46
set transparent-udp-ports \"\""
no_rule tcponly 'udp|fwmark' "tcponly: no UDP, no policy routing"

# --- listeners of both kinds ----------------------------------------------
mx mixed 'listen transparent 10.1.0.1:3129
listen tproxy [fd00:1::1]:3130'
is "$(rules mixed)" "$(printf '%s\n%s\n%s\n%s' \
    'meta nfproto ipv4 tcp dport @tcp_ports dnat ip to 10.1.0.1:3129' \
    'meta nfproto ipv6 tcp dport @tcp_ports tproxy ip6 to [fd00:1::1]:3130 meta mark set 0x534c accept' \
    "meta nfproto ipv4 udp dport @udp_ports $TP" \
    'meta nfproto ipv6 udp dport @udp_ports tproxy ip6 to [fd00:1::1]:3130 meta mark set 0x534c accept')" \
    "mixed: IPv4 redirected, IPv6 TPROXYed to the tproxy listener, UDP to each family's listener"
like "$(sed -n '/chain prerouting_tproxy {/,/}/p' "$T/mixed.nft" | tr '\n' ' ')" 'type filter hook prerouting priority mangle.*tcp dport @tcp_ports tproxy ip6' \
    "mixed: the IPv6 TCP rule is in a filter chain of its own"
is "$(cat "$T/mixed.err")" "" "mixed: nothing on stderr"

mx mixed2 'listen tproxy 10.1.0.1:3130
listen transparent [fd00:1::1]:3129'
rule mixed2 'meta nfproto ipv4 tcp dport @tcp_ports tproxy ip to 10.1.0.1:3130 meta mark set 0x534c accept' "mixed2: IPv4 TPROXYed"
like "$(sed -n '/chain prerouting_nat {/,/}/p' "$T/mixed2.nft" | tr '\n' ' ')" 'type nat hook prerouting priority dstnat.*dnat ip6 to \[fd00:1::1\]:3129' \
    "mixed2: IPv6 redirected, in a nat chain"

mx firstwins 'listen transparent *:3129
listen tproxy 10.1.0.1:3130'
no_rule firstwins '3130' "firstwins: where both kinds serve a family, the first listener's kind"
err_like firstwins 'firstwins\.conf:2: listen tproxy 10\.1\.0\.1:3130 gets no traffic from this ruleset' "and the unused listener is named"

mx second 'listen transparent 10.1.0.1:3129
listen transparent 10.1.0.9:3139'
no_rule second '3139' "second: one listener per family"
err_like second 'listen transparent 10\.1\.0\.9:3139 gets no traffic' "the other one is named"

mx v4wild 'listen transparent 0.0.0.0:3129
listen transparent [fd00:1::1]:3129'
rule v4wild 'meta nfproto ipv4 tcp dport @tcp_ports redirect to :3129' "0.0.0.0: IPv4 redirected to the port"
rule v4wild 'meta nfproto ipv6 tcp dport @tcp_ports dnat ip6 to [fd00:1::1]:3129' "and IPv6 to its own listener"

mx tpboth 'listen tproxy *:3130
set nft-clients 10.1.0.0/24,fd00:1::/64'
rule tpboth 'ip saddr @clients_v4 tcp dport @tcp_ports tproxy ip to :3130 meta mark set 0x534c accept' "tproxy *: IPv4 clients"
rule tpboth 'ip6 saddr @clients_v6 tcp dport @tcp_ports tproxy ip6 to :3130 meta mark set 0x534c accept' "tproxy *: IPv6 clients"

# --- what a ruleset cannot serve -----------------------------------------
mx nov6 'listen transparent 10.1.0.1:3129
set nft-clients 10.1.0.0/24,fd00:1::/64'
err_like nov6 'nft-clients has IPv6 subnets but no transparent or tproxy listener serves IPv6' "IPv6 clients without an IPv6 listener are named"
is "$(rules nov6 | grep -c ip6)" 0 "nov6: and get no rule"

mx nov4tp 'listen tproxy [fd00:1::1]:3130
set nft-clients 10.1.0.0/24'
err_like nov4tp 'has IPv4 subnets but no transparent or tproxy listener serves IPv4' "IPv4 clients without an IPv4 listener are named"
is "$(rules nov4tp)" "" "nov4tp: no rule"
no_rule nov4tp 'fwmark' "nov4tp: no tproxy rule, no policy routing"

mx mark 'listen tproxy *:3130
set so-mark 21324'
isnt "$MX_RC" 0 "mark: so-mark 0x534c with TPROXY is refused"
err_like mark 'so-mark 0x534c is the mark the TPROXY policy routing looks for' "saying why"
is "$(cat "$T/mark.nft")" "" "mark: and no ruleset is printed"

mx markudp "$L46
set so-mark 21324"
isnt "$MX_RC" 0 "markudp: redirect, but UDP is TPROXYed: refused too"

mx marknat "$L46
set so-mark 21324
set transparent-udp-ports \"\""
is "$MX_RC" 0 "marknat: so-mark 0x534c without any TPROXY rule is fine"

mx markmax 'listen tproxy *:3130
set so-mark 4294967295'
is "$MX_RC" 0 "markmax: another so-mark with TPROXY is fine"

printf 'listen transparent 10.1.0.1:0\ndefault deny\n' >"$T/port0.conf"
like "$("$BUILD/sluiced" -t -c "$T/port0.conf" -o user= -o pid-file= \
    -o "state-dir=$T" -o "log-dir=$T" 2>&1)" \
    "port0\.conf:1:[0-9]+: error: invalid listen address '10\.1\.0\.1:0'" \
    "port0: sluiced -t refuses a listener on port 0, naming it"
like "$("$BUILD/sluicectl" nft -c "$T/port0.conf" 2>&1)" \
    "port0\.conf:1:[0-9]+: error: invalid listen address" \
    "port0: and so does sluicectl nft"

mx lo 'listen transparent 127.0.0.1:3129'
err_like lo 'listen transparent 127\.0\.0\.1:3129: the kernel drops what is redirected to a loopback address' "a loopback redirect target is warned about"

mx ifaces "$L46
set nft-interfaces x-y.z_1@2:3abcd,eth0.100,wg@x,1234,eth1,eth1"
is "$(grep -c 'iifname != { "x-y.z_1@2:3abcd", "eth0.100", "wg@x", "1234", "eth1", "eth1" } return' "$T/ifaces.nft")" 2 \
    "ifaces: odd but legal names, quoted, in both chains"

# --- loaded for real, listed back ---------------------------------------
for n in nestmix mixed udponly; do
	out=$(in_gw nft -f "$T/$n.nft" 2>&1)
	is "$?" 0 "$n: nft -f loads it" "$out"
	in_gw nft list table inet sluice >"$T/$n.listed" 2>&1
done
like "$(cat "$T/udponly.listed")" 'chain prerouting_udp' "the last one loaded replaced the others (delete table)"
unlike "$(cat "$T/udponly.listed")" 'prerouting_tproxy|clients_v4' "nothing of the earlier rulesets is left"
like "$(tr '\n' ' ' <"$T/nestmix.listed")" 'elements = \{ 10\.0\.0\.0/8, 172\.16\.0\.0/12,[[:space:]]+192\.168\.0\.0/16 \}' "nestmix as listed: the three outer subnets"
like "$(cat "$T/mixed.listed")" 'tcp dport @tcp_ports tproxy ip6 to \[fd00:1::1\]:3130 meta mark set 0x0000534c accept' "mixed as listed: the IPv6 tproxy rule"

done_testing
