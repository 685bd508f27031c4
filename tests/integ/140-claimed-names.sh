#!/bin/bash
# 140-claimed-names: a name the client claims (a transparent SNI or Host,
# the SNI inside a CONNECT tunnel) never escapes a deny rule that names
# it, never buys a grant when it does not resolve to the destination, and
# an inspect it names still inspects; every failed check is logged
# sni_mismatch / host_mismatch (issue 12, item 1).  On the build before,
# the name was dropped and the flow decided by its address: the deny rule
# gave way.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

# cdn-bad.test and insp.test live at 10.2.0.4; cdn-ok.test at 10.2.0.2.
DNS_EXTRA="--host-record=cdn-bad.test,10.2.0.4 --host-record=insp.test,10.2.0.4
--host-record=cdn-ok.test,10.2.0.2 --log-queries"
servers_up
transparent_start '
set transparent-tcp-ports 80,443
set connect-ports 443
set peek-timeout 2s
set log-allowed on
set via on
rule cdn-bad deny domain cdn-bad.test
rule insp inspect domain insp.test
rule cdn-ok splice domain cdn-ok.test,*.example.test
rule lab splice ip 10.2.0.2,10.2.0.5
default deny
'

# hello ARGS...: tlshello.py in cli; RES its result, PORT its local port;
# only what this flow logs is looked at.
hello() {
	local out
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
	out=$(in_cli timeout 30 "$PY" "$PYDIR/tlshello.py" "$@" 2>&1)
	RES=${out% port=*}
	PORT=${out##* port=}
}

# get ADDR:PORT HOST PATH: a plain GET with that Host sent straight to
# ADDR:PORT (the gateway takes it); prints the answer.
get() {
	printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' \
	    "$3" "$2" >"$T/req"
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
	in_cli timeout 20 "$PY" "$PYDIR/rawc.py" --idle 2 "$1" <"$T/req" 2>&1
}

REFUSED='^(reset|closed|tls-fail (closed|timeout) in handshake|connect-403)$'

# --- a deny rule holds for its name, wherever the name is sent -----------
out=$(get 10.2.0.2:80 cdn-bad.test /cdn-bad-marker)
like "$(printf '%s' "$out" | head -n 1)" '^HTTP/1\.1 403 ' \
    "transparent: Host cdn-bad.test sent to 10.2.0.2 (not its address) is refused 403"
flowlog_expect "refused by the rule that names it" "dst=10.2.0.2:80" \
    event=flow.blocked mode=transparent proto=http host=cdn-bad.test \
    rule=cdn-bad action=deny
sleep 0.3
unlike "$(cat "$T/nginx/access.log")" 'cdn-bad-marker' \
    "the origin never saw the request"

hello --sni cdn-bad.test --cafile "$CA" --then tls 10.2.0.2:443
like "$RES" "$REFUSED" "transparent: SNI cdn-bad.test sent to 10.2.0.2 is not spliced ($RES)"
flowlog_expect "refused by the rule that names it" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent proto=tls sni=cdn-bad.test \
    rule=cdn-bad action=deny

hello --proxy 10.1.0.1:3128 --sni cdn-bad.test --cafile "$CA" --then tls 10.2.0.2:443
like "$RES" "$REFUSED" "explicit: CONNECT 10.2.0.2:443 (an address) with SNI cdn-bad.test is not spliced ($RES)"
flowlog_expect "refused by the rule that names the SNI" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=explicit method=CONNECT host=10.2.0.2 \
    sni=cdn-bad.test rule=cdn-bad action=deny

hello --proxy 10.1.0.1:3128 --sni cdn-bad.test --cafile "$CA" --then tls www.example.test:443
like "$RES" "$REFUSED" "explicit: CONNECT www.example.test (allowed) with SNI cdn-bad.test is not spliced ($RES)"
flowlog_expect "refused by the rule that names the SNI" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=explicit host=www.example.test \
    sni=cdn-bad.test rule=cdn-bad action=deny

# --- an inspect it names still inspects ------------------------------------
# The head echo server at 10.2.0.5 answers with the head it received:
# parsed and forwarded (inspected), the request carries our Via.
out=$(get 10.2.0.5:80 insp.test /insp-marker)
like "$out" 'Via: 1\.1 sluice' \
    "transparent: Host insp.test sent to 10.2.0.5 is inspected (parsed, Via added), not spliced by the address's rule"
flowlog_expect "logged as inspected, the failed check said" "dst=10.2.0.5:80" \
    mode=transparent host=insp.test rule=insp action=inspect \
    reason=host_mismatch

hello --sni insp.test --cafile "$CA" --then tls 10.2.0.2:443
flowlog_expect "TLS: decided by the inspect rule it names, not by the address" \
    "cli=10.1.0.2:$PORT" mode=transparent sni=insp.test rule=insp

# --- a grant is bought only where the name resolves ------------------------
out=$(get 10.2.0.2:80 cdn-ok.test /ok-marker)
like "$(printf '%s' "$out" | head -n 1)" '^HTTP/1\.1 (200|404) ' \
    "Host cdn-ok.test sent to its own address: forwarded"
flowlog_expect "spliced by its rule, no check failed" "dst=10.2.0.2:80" \
    host=cdn-ok.test rule=cdn-ok action=splice
unlike "$(flowlog_last "dst=10.2.0.2:80")" '"reason"' "and no reason: its name resolves there"
out=$(get 10.2.0.3:80 cdn-ok.test /ok-marker2)
like "$(printf '%s' "$out" | head -n 1)" '^HTTP/1\.1 403 ' \
    "Host cdn-ok.test sent to 10.2.0.3 (no rule there) is refused: the name buys nothing"
flowlog_expect "refused by the default, the failed check said" "dst=10.2.0.3:80" \
    event=flow.blocked host=cdn-ok.test rule=default action=deny \
    reason=host_mismatch

# --- a name that decides nothing is not looked up ---------------------------
# No rule names nowhere.test: with or without it, CONNECT 10.2.0.2 is the
# lab's splice.  Checking the name could only confirm that decision, so no
# DNS query is sent for it (as for a transparent flow decided by its
# address), and no check failed to be logged.
hello --proxy 10.1.0.1:3128 --sni unnamed.nowhere.test --then echo 10.2.0.2:443
flowlog_expect "a name no rule names: the address's decision, unchanged" \
    "cli=10.1.0.2:$PORT" event=flow.end mode=explicit host=10.2.0.2 \
    sni=unnamed.nowhere.test rule=lab action=splice
unlike "$(flowlog_last "cli=10.1.0.2:$PORT")" '"reason"' \
    "and no failed check is reported for it"
is "$(grep -c 'unnamed\.nowhere\.test' "$T/dnsmasq.log")" 0 \
    "no DNS query was sent for a name that decides nothing"
hello --proxy 10.1.0.1:3128 --sni cdn-ok.test --then echo 10.2.0.2:443
flowlog_expect "a name with a rule of its own is checked, and holds" \
    "cli=10.1.0.2:$PORT" event=flow.end sni=cdn-ok.test rule=cdn-ok \
    action=splice
check "grep -q 'query\[[A-Z]*\] cdn-ok\.test' '$T/dnsmasq.log'" \
    "while a name that grants something is looked up"

flowlog_valid
done_testing
