#!/bin/bash
# 101-transparent-ipv6: the transparent gateway over IPv6, and the client
# subnets of `sluicectl nft` (issue #4).  Over IPv6 (IP6T_SO_ORIGINAL_DST):
# a whitelisted SNI is spliced after the peek, a denied SNI is reset and
# logged, opaque bytes on 443 pass under an inspect rule, and a
# whitelisted SNI sent to another address is not spliced (sni_mismatch).
# The ruleset is made with `set nft-clients` (one address per family):
# clients in the set are redirected, a client outside it (a second address
# in cli) goes straight to the server, unseen by sluiced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

DNS_EXTRA='--host-record=echo6.example.test,fd00:2::4
--host-record=denied6.example.test,fd00:2::3'
servers_up
tcp_server_start echo6 'echo@[fd00:2::4]:443'
# The clients outside nft-clients: same link, other addresses, used only
# when a client binds to them (10.1.0.3 is secondary; fd00:1::3 is
# deprecated, which IPv6 source address selection avoids, RFC 6724 rule 3).
ip -n "$CLI" addr add 10.1.0.3/24 dev c0 || setup_fail "cli 10.1.0.3"
ip -n "$CLI" addr add fd00:1::3/64 dev c0 nodad preferred_lft 0 ||
    setup_fail "cli fd00:1::3"
transparent_start '
set transparent-tcp-ports 443
set peek-timeout 2s
set log-allowed on
set nft-clients 10.1.0.2/32, fd00:1::2/128
rule deny-denied deny domain denied.example.test,denied6.example.test
rule lab-tls splice domain www.example.test,echo6.example.test port 443
rule lab-opaque6 inspect ip fd00:2::4 port 443
default deny
'

# tp ARGS...: py/tpclient.py (or, with TP=tlshello, py/tlshello.py) in
# cli; sets RES (the result) and PORT, and FLOWLOG_SINCE so that only
# what this flow logs is looked at (a reset frees the client port at once).
tp() {
	local out
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
	out=$(in_cli timeout 30 "$PY" "$PYDIR/${TP:-tpclient}.py" "$@" 2>&1)
	RES=${out% port=*}
	PORT=${out##* port=}
}

# --- the ruleset redirects the listed clients only -------------------------
out=$(in_gw nft list table inet sluice 2>&1)
like "$out" 'ip saddr @clients_v4 tcp dport @tcp_ports' "the loaded ruleset matches IPv4 clients by the nft-clients set"
like "$out" 'ip6 saddr @clients_v6 tcp dport @tcp_ports' "the loaded ruleset matches IPv6 clients by the nft-clients set"
like "$(in_gw nft list set inet sluice clients_v6 2>&1)" 'elements = \{ fd00:1::2 \}' \
    "the IPv6 client set holds fd00:1::2 only"

# --- IPv6: a whitelisted SNI is spliced after the peek ------------------------
tp --sni www.example.test --cafile "$CA" --then tls '[fd00:2::2]:443'
is "$RES" "tls-ok HTTP/1.1 200 OK" "IPv6: TLS to www.example.test at fd00:2::2 completes through sluiced"
flowlog_expect "IPv6: spliced by SNI, logged with the IPv6 original destination" \
    "cli=[fd00:1::2]:$PORT" event=flow.end mode=transparent proto=tls \
    sni=www.example.test 'dst=[fd00:2::2]:443' rule=lab-tls action=splice \
    'up>=200' 'down>=200'
for shape in whole bytewise; do
	TP=tlshello tp --sni echo6.example.test --shape "$shape" --then echo '[fd00:2::4]:443'
	n=${RES#echo-ok }
	like "$RES" '^echo-ok [0-9]+$' "IPv6: $shape ClientHello to the echo passes byte for byte ($RES)"
	flowlog_expect "IPv6: $shape ClientHello decided by its SNI (lab-tls, not the inspect rule of the address)" \
	    "cli=[fd00:1::2]:$PORT" event=flow.end proto=tls sni=echo6.example.test \
	    'dst=[fd00:2::4]:443' rule=lab-tls action=splice "up=$n" "down=$n"
done

# --- IPv6: a denied SNI -------------------------------------------------------
# nginx on fd00:2::3 would complete this handshake if the flow got there.
tp --sni denied6.example.test --cafile "$CA" --then tls '[fd00:2::3]:443'
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)$' "IPv6: a denied SNI gets no handshake ($RES)"
flowlog_expect "IPv6: flow.blocked names SNI, destination and rule" "cli=[fd00:1::2]:$PORT" \
    event=flow.blocked mode=transparent proto=tls sni=denied6.example.test \
    'dst=[fd00:2::3]:443' rule=deny-denied action=deny reason=policy

# --- IPv6: opaque bytes on 443 under an inspect rule ------------------------
{ printf '\000\377OPAQUE'; head -c 1048568 /dev/urandom; } >"$T/opaque"
in_cli timeout 30 "$PY" "$PYDIR/rawc.py" '[fd00:2::4]:443' <"$T/opaque" >"$T/opaque.back" 2>"$T/opaque.err"
is "$?" "0" "IPv6: 1 MB of opaque bytes to [fd00:2::4]:443 ends cleanly"
is "$(sha256_of "$T/opaque.back")" "$(sha256_of "$T/opaque")" \
    "IPv6: opaque bytes on 443 pass untouched both ways under the inspect rule"
flowlog_expect "IPv6: the opaque flow is spliced by the inspect rule and logged" \
    "dst=[fd00:2::4]:443 proto=opaque" event=flow.end mode=transparent \
    'cli~^\[fd00:1::2\]:' rule=lab-opaque6 action=splice up=1048576 down=1048576

# --- IPv6: SNI spoofing ---------------------------------------------------------
# www.example.test is fd00:2::2, not fd00:2::3; nginx there serves a
# certificate for *.example.test, so a splice would complete the handshake.
tp --sni www.example.test --cafile "$CA" --then tls '[fd00:2::3]:443'
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)$' \
    "IPv6: www.example.test's SNI sent to fd00:2::3 is not spliced ($RES)"
flowlog_expect "IPv6: the spoofed SNI is refused by the default, logged sni_mismatch" \
    "cli=[fd00:1::2]:$PORT" event=flow.blocked mode=transparent proto=tls \
    sni=www.example.test 'dst=[fd00:2::3]:443' rule=default action=deny \
    reason=sni_mismatch

# --- clients outside nft-clients are not redirected ---------------------------
# The same denied SNIs from the second addresses reach nginx directly and
# complete the handshake; sluiced logs nothing for them.
tp --bind 10.1.0.3 --sni denied.example.test --cafile "$CA" --then tls 10.2.0.3:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "10.1.0.3 (outside nft-clients): a denied SNI reaches the server directly"
p3=$PORT
tp --bind fd00:1::3 --sni denied6.example.test --cafile "$CA" --then tls '[fd00:2::3]:443'
is "$RES" "tls-ok HTTP/1.1 200 OK" "fd00:1::3 (outside nft-clients): a denied SNI reaches the server directly"
p6=$PORT
tp --sni denied.example.test --cafile "$CA" --then tls 10.2.0.3:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)$' "10.1.0.2 (in nft-clients): the same SNI is refused ($RES)"
flowlog_expect "10.1.0.2 (in nft-clients): the refusal is logged" "cli=10.1.0.2:$PORT" \
    event=flow.blocked sni=denied.example.test dst=10.2.0.3:443 rule=deny-denied
sleep 0.3
FLOWLOG_SINCE=0
is "$(flowlog_count "cli=10.1.0.3:$p3")$(flowlog_count "cli=[fd00:1::3]:$p6")" "00" \
    "sluiced saw neither flow from outside nft-clients"
is "$(flowlog_count 'cli~^(10\.1\.0\.3|\[fd00:1::3\]):')" "0" \
    "no flow log event at all from the clients outside nft-clients"

flowlog_valid
done_testing
