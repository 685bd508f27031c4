#!/bin/bash
# 102-transparent-modifiers: the rule modifiers and settings of the
# transparent gateway at run time (issue #4).  deny-ech refuses a
# ClientHello offering Encrypted ClientHello (and only that); no-sni-check
# lets a whitelisted SNI through to another address (transparent) and a
# different SNI inside a CONNECT tunnel (explicit); inspect-fallback deny
# refuses a TLS flow under an inspect rule; STUN over TCP is classified
# `stun` and relayed per policy; a flow addressed to sluiced itself is
# refused as a loop.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
# head.example.test is 10.2.0.5; 3478 is TURN's port (STUN over TCP).
tcp_server_start echo2 echo@10.2.0.5:443 echo@10.2.0.4:3478 echo@10.2.0.5:3478
transparent_start '
set transparent-tcp-ports 443,3478
set peek-timeout 2s
set log-allowed on
set inspect-fallback deny
rule ech-blocked splice deny-ech domain echo.example.test port 443
rule ech-allowed splice domain head.example.test port 443
rule lab-inspect inspect domain other.example.test port 443
rule fronted splice no-sni-check domain www.example.test port 443
rule stun-tcp splice deny-opaque ip 10.2.0.4 port 3478
default deny
'

# tp ARGS...: py/tpclient.py in cli; sets RES (the result) and PORT, and
# FLOWLOG_SINCE so that only what this flow logs is looked at (a reset
# frees the client port at once).
tp() {
	local out
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
	out=$(in_cli timeout 30 "$PY" "$PYDIR/tpclient.py" "$@" 2>&1)
	RES=${out% port=*}
	PORT=${out##* port=}
}
REFUSED='^(reset|closed|tls-fail (closed|timeout) in handshake)$'

# no_reason SELECT DESC: the event has no reason at all (not even
# sni_mismatch, which an allowed flow may carry).
no_reason() {
	local ev
	ev=$(flowlog_last "$1")
	if [ -n "$ev" ] && ! printf '%s' "$ev" | grep -q '"reason"'; then
		ok "$2"
	else
		not_ok "$2" "event: ${ev:-<none>}"
	fi
}

# --- deny-ech ------------------------------------------------------------------
# The echo on 10.2.0.4:443 sends back whatever reaches it.
tp --sni echo.example.test --ech --then echo 10.2.0.4:443
like "$RES" "$REFUSED" "a ClientHello with ECH under a deny-ech rule is refused ($RES)"
flowlog_expect "the ECH refusal is logged ech_refused with SNI and rule" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent proto=tls sni=echo.example.test \
    dst=10.2.0.4:443 rule=ech-blocked action=deny reason=ech_refused
tp --sni echo.example.test --then echo 10.2.0.4:443
like "$RES" '^echo-ok [0-9]+$' "the same SNI without ECH under the deny-ech rule passes ($RES)"
flowlog_expect "the hello without ECH is spliced by the deny-ech rule" "cli=10.1.0.2:$PORT" \
    event=flow.end proto=tls sni=echo.example.test rule=ech-blocked action=splice
tp --sni head.example.test --ech --then echo 10.2.0.5:443
n=${RES#echo-ok }
like "$RES" '^echo-ok [0-9]+$' "a ClientHello with ECH under a rule without deny-ech passes byte for byte ($RES)"
flowlog_expect "the ECH hello without deny-ech is spliced, no reason" "cli=10.1.0.2:$PORT" \
    event=flow.end mode=transparent proto=tls sni=head.example.test \
    dst=10.2.0.5:443 rule=ech-allowed action=splice "up=$n" "down=$n"
no_reason "cli=10.1.0.2:$PORT" "the spliced ECH flow carries no reason"
tp --proxy 10.1.0.1:3128 --sni echo.example.test --ech --then echo echo.example.test:443
like "$RES" "$REFUSED" "explicit: ECH inside a CONNECT tunnel under deny-ech is refused ($RES)"
flowlog_expect "explicit: the ECH refusal is logged ech_refused" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=explicit method=CONNECT host=echo.example.test \
    sni=echo.example.test rule=ech-blocked action=deny reason=ech_refused

# --- no-sni-check --------------------------------------------------------------
# www.example.test is 10.2.0.2; nginx at 10.2.0.3 serves the same
# certificate.  The rule waives the check, so the flow is spliced there.
tp --sni www.example.test --cafile "$CA" --then tls 10.2.0.3:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "no-sni-check: www.example.test's SNI to 10.2.0.3 is spliced"
flowlog_expect "no-sni-check: spliced by the domain rule at the other address" "cli=10.1.0.2:$PORT" \
    event=flow.end mode=transparent proto=tls sni=www.example.test \
    dst=10.2.0.3:443 rule=fronted action=splice 'down>=200'
no_reason "cli=10.1.0.2:$PORT" "no-sni-check: no sni_mismatch (no reason) in the event"
tp --proxy 10.1.0.1:3128 --sni other.example.test --cafile "$CA" --then tls www.example.test:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "no-sni-check, explicit: CONNECT www.example.test with SNI other.example.test is spliced"
flowlog_expect "no-sni-check, explicit: spliced by the CONNECT name's rule" "cli=10.1.0.2:$PORT" \
    event=flow.end mode=explicit method=CONNECT host=www.example.test \
    sni=other.example.test rule=fronted action=splice 'down>=200'
no_reason "cli=10.1.0.2:$PORT" "no-sni-check, explicit: no sni_mismatch (no reason) in the event"

# --- inspect-fallback deny -----------------------------------------------------
# nginx at 10.2.0.3 would complete the handshake if the flow were spliced.
tp --sni other.example.test --cafile "$CA" --then tls 10.2.0.3:443
like "$RES" "$REFUSED" "inspect-fallback deny: TLS under an inspect rule is refused ($RES)"
flowlog_expect "inspect-fallback deny: flow.blocked inspect_unavailable" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent proto=tls sni=other.example.test \
    dst=10.2.0.3:443 rule=lab-inspect action=deny reason=inspect_unavailable
tp --proxy 10.1.0.1:3128 --sni other.example.test --cafile "$CA" --then tls other.example.test:443
like "$RES" "$REFUSED" "inspect-fallback deny, explicit: TLS in a CONNECT tunnel under an inspect rule is refused ($RES)"
flowlog_expect "inspect-fallback deny, explicit: flow.blocked inspect_unavailable" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=explicit host=other.example.test sni=other.example.test \
    rule=lab-inspect action=deny reason=inspect_unavailable

# --- STUN over TCP -------------------------------------------------------------
tp --stun --then echo 10.2.0.4:3478
n=${RES#echo-ok }
like "$RES" '^echo-ok [0-9]+$' "a STUN Binding request over TCP to 10.2.0.4:3478 is relayed both ways ($RES)"
flowlog_expect "the STUN flow is classified stun and spliced" "cli=10.1.0.2:$PORT" \
    event=flow.end mode=transparent proto=stun dst=10.2.0.4:3478 rule=stun-tcp \
    action=splice "up=$n" "down=$n"
# The same rule refuses opaque bytes: STUN passed because it was told apart.
tp --opaque --then echo 10.2.0.4:3478
like "$RES" "$REFUSED" "opaque bytes to the same STUN port are refused by deny-opaque ($RES)"
flowlog_expect "the opaque flow to the STUN port is logged opaque_refused" "cli=10.1.0.2:$PORT" \
    event=flow.blocked proto=opaque dst=10.2.0.4:3478 rule=stun-tcp action=deny \
    reason=opaque_refused
tp --stun --then echo 10.2.0.5:3478
like "$RES" "$REFUSED" "STUN to an address no rule allows is refused ($RES)"
flowlog_expect "the refused STUN flow is logged as stun" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent proto=stun dst=10.2.0.5:3478 rule=default \
    action=deny reason=policy

# --- loops: flows addressed to sluiced itself ----------------------------------
# The ruleset of `sluicectl nft` never redirects a flow to the gateway's
# own addresses (fib daddr type local return), so a loop comes in two ways:
# 1. A client connects straight to the transparent port (a port scan, a
#    client configured with it as a proxy).  Nothing rewrites the
#    destination, so SO_ORIGINAL_DST (conntrack's original tuple) is the
#    listener itself.
for ep in 10.1.0.1:3129 '[fd00:1::1]:3129'; do
	tp --opaque --then echo "$ep"
	like "$RES" "$REFUSED" "a flow straight to the transparent listener $ep is refused ($RES)"
	case "$ep" in \[*) cli="[fd00:1::2]" ;; *) cli=10.1.0.2 ;; esac
	flowlog_expect "the flow to $ep is logged as a loop" "cli=$cli:$PORT" \
	    event=flow.blocked mode=transparent "dst=$ep" action=deny reason=loop
done
# 2. An administrator's own rule, ahead of sluice's table, that "moves
#    the explicit-proxy users to the transparent port": the original
#    destination is then sluiced's explicit listener 10.1.0.1:3128.
#    Connecting there would make sluiced its own client.  The same rule
#    for a gateway port nothing of sluiced's listens on (8443) is no loop,
#    but the guard rail for the appliance's own addresses refuses it.
in_gw nft -f - <<'EOF' || setup_fail "nft: the administrator's redirect"
table ip admin {
	chain prerouting {
		type nat hook prerouting priority dstnat - 10; policy accept;
		iifname "g0" ip daddr 10.1.0.1 tcp dport { 3128, 8443 } redirect to :3129
	}
}
EOF
tp --opaque --then echo 10.1.0.1:3128
like "$RES" "$REFUSED" "redirected to the transparent port with sluiced's explicit listener as destination: refused ($RES)"
flowlog_expect "the redirected loop is logged with its original destination" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent dst=10.1.0.1:3128 action=deny reason=loop
tp --opaque --then echo 10.1.0.1:8443
like "$RES" "$REFUSED" "redirected with another gateway port as destination: refused ($RES)"
flowlog_expect "that one is refused by the guard rail, not as a loop" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent dst=10.1.0.1:8443 action=deny reason=local \
    rule=guard:local
in_gw nft delete table ip admin
tp --sni echo.example.test --then echo 10.2.0.4:443
like "$RES" '^echo-ok' "after the loops, a transparent flow still passes"

flowlog_valid
done_testing
