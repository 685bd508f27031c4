#!/bin/bash
# 100-transparent-tls: TLS through the transparent gateway (issue #4).  The
# client routes through gw, whose nftables rules come from `sluicectl nft`.
# A whitelisted SNI is spliced (the client sees the origin's certificate,
# 20 MB arrive intact, IPv4 and IPv6); a denied SNI is refused and logged;
# a whitelisted SNI sent to another address is not spliced (SNI spoofing);
# an inspect decision is never silently spliced; in explicit mode the SNI
# inside CONNECT must match the CONNECT authority.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
transparent_start '
set transparent-tcp-ports 443
set peek-timeout 2s
set log-allowed on
rule deny-denied deny domain denied.example.test
rule lab-inspect inspect domain other.example.test port 443
rule lab-tls splice domain www.example.test,echo.example.test port 443
default deny
'

# hello ARGS...: py/tlshello.py in cli; sets RES (result) and PORT.
hello() {
	# Refused flows free their client port at once (reset): look only at
	# what this request logs.
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
	local out
	out=$(in_cli timeout 30 "$PY" "$PYDIR/tlshello.py" "$@" 2>&1)
	RES=${out% port=*}
	PORT=${out##* port=}
}

# --- a whitelisted SNI is spliced ------------------------------------------
out=$(in_cli timeout 20 openssl s_client -connect 10.2.0.2:443 \
    -servername www.example.test -CAfile "$CA" -verify_return_error </dev/null 2>&1)
like "$out" 'Verify return code: 0 \(ok\)' "openssl s_client through the gateway verifies against the test CA"
like "$out" 'issuer=CN ?= ?sluice integration test CA' "openssl s_client sees the origin's own certificate"
flowlog_expect "flow.end for the s_client flow" "sni=www.example.test dst=10.2.0.2:443" \
    event=flow.end mode=transparent proto=tls action=splice rule=lab-tls

out=$(big_https 10.2.0.2)
read -r code port <<<"$out"
is "$code" "200" "curl HTTPS through the gateway: 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "20 MB through the transparent splice: sha256 matches"
flowlog_expect "flow.end for the 20 MB flow" "cli=10.1.0.2:$port" \
    event=flow.end mode=transparent sni=www.example.test dst=10.2.0.2:443 \
    proto=tls action=splice rule=lab-tls 'down>=20971520' 'down<=21100000'

out=$(in_cli curl -sS --max-time 30 --cacert "$CA" -g \
    --resolve 'www.example.test:443:[fd00:2::2]' -o "$T/v6.out" \
    -w '%{http_code} %{local_port}' https://www.example.test/hello)
read -r code port <<<"$out"
is "$code $(cat "$T/v6.out")" "200 hello from www.example.test" "curl HTTPS over IPv6 through the gateway"
flowlog_expect "the IPv6 flow went through sluiced (IP6T_SO_ORIGINAL_DST)" \
    "cli=[fd00:1::2]:$port" event=flow.end mode=transparent \
    sni=www.example.test 'dst=[fd00:2::2]:443' rule=lab-tls

hello --sni www.example.test --cafile "$CA" --then tls 10.2.0.2:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "TLS client to the whitelisted SNI at its own address: handshake and GET"

# --- a denied SNI -------------------------------------------------------------
hello --sni denied.example.test --cafile "$CA" --then tls 10.2.0.3:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)' "a denied SNI gets no handshake ($RES)"
flowlog_expect "flow.blocked names SNI, destination and rule" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent sni=denied.example.test dst=10.2.0.3:443 \
    rule=deny-denied action=deny reason=policy proto=tls
out=$(in_cli timeout 20 openssl s_client -connect 10.2.0.3:443 \
    -servername denied.example.test -CAfile "$CA" </dev/null 2>&1)
unlike "$out" 'BEGIN CERTIFICATE|issuer=' "openssl s_client to the denied SNI sees no certificate"

# --- SNI spoofing: a whitelisted SNI to another address -----------------
hello --sni www.example.test --cafile "$CA" --then tls 10.2.0.3:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)' \
    "www.example.test's SNI sent to 10.2.0.3 (not its address) is not spliced ($RES)"
flowlog_expect "the spoofed SNI is logged with sni_mismatch" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=transparent sni=www.example.test dst=10.2.0.3:443 \
    reason=sni_mismatch action=deny rule=default
# nginx at 10.2.0.2 serves *.example.test: a splice would complete this
# handshake.  sni_mismatch alone proves nothing (an allowed flow that a
# later rule splices carries it too): the event must be a refusal.
hello --sni echo.example.test --cafile "$CA" --then tls 10.2.0.2:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)' \
    "echo.example.test's SNI sent to www's address is not spliced ($RES)"
flowlog_expect "the second spoof is refused by the default, logged sni_mismatch" \
    "cli=10.1.0.2:$PORT" event=flow.blocked mode=transparent proto=tls \
    sni=echo.example.test dst=10.2.0.2:443 rule=default action=deny \
    reason=sni_mismatch

# --- a hostile SNI cannot break the flow log -----------------------------
# Quotes, CR LF and a fake JSON object, a backslash, DEL, U+2028 in UTF-8
# and an invalid UTF-8 byte: the event must stay one valid JSON line with
# the SNI as one string value (compared lowercased, invalid bytes as U+FFFD).
evil='x\"\r\n{\"v\":1,\"event\":\"forged\"}\\\x7f\xe2\x80\xa8\xff.test'
hello --sni-bytes "$evil" --then echo 10.2.0.4:443
unlike "$RES" '^echo-ok' "a ClientHello with a hostile SNI is not spliced ($RES)"
want=$(printf '%s' "$evil" | "$PY" -c 'import sys
b = sys.stdin.read().encode("latin-1").decode("unicode_escape").encode("latin-1")
print(b.decode("utf-8", "replace").lower().encode("unicode_escape").decode())')
got=$("$PY" - "$FLOWLOG" "$PORT" <<'PYEOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    ev = json.loads(line)
    if ev.get("cli") == "10.1.0.2:" + sys.argv[2]:
        print(str(ev.get("sni")).encode("unicode_escape").decode())
PYEOF
)
is "$got" "$want" "the hostile SNI is logged as one escaped string value"
is "$(grep -c forged "$FLOWLOG")" "$(flowlog_count "cli=10.1.0.2:$PORT")" \
    "the forged object did not become an event of its own"

# The daemon's own log neither (issue 12): a CONNECT tunnel whose SNI
# carries CR LF and a fake log line is logged as one escaped line.
forge='www.example.test\r\n2026-01-01T00:00:00.000Z sluiced[1] err: forged-by-sni'
hello --proxy 10.1.0.1:3128 --sni-bytes "$forge" --cafile "$CA" \
    --then tls www.example.test:443
unlike "$RES" '^tls-ok' "a CONNECT tunnel with a hostile SNI is not spliced ($RES)"
wait_for 5 grep -q 'forged-by-sni' "$T/sluiced.err"
like "$(grep 'forged-by-sni' "$T/sluiced.err")" \
    "SNI 'www\.example\.test\\\\x0d\\\\x0a2026-01-01t00:00:00\.000z sluiced\[1\] err: forged-by-sni'" \
    "the daemon log quotes the hostile SNI escaped (lowercased, as SNIs are)"
is "$(grep -ci '^2026-01-01T00:00:00.000Z' "$T/sluiced.err")" "0" \
    "no forged line of its own in the daemon log"
is "$(grep -vcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z sluiced\[[0-9]+\] (err|warn|info|debug): ' "$T/sluiced.err")" \
    "0" "every daemon log line is one of sluiced's own"

# --- inspect is never a silent splice ----------------------------------------
hello --sni other.example.test --cafile "$CA" --then tls 10.2.0.3:443
out=$(flowlog_last "cli=10.1.0.2:$PORT")
if [ "$RES" = "tls-ok HTTP/1.1 200 OK" ]; then
	ok "inspect rule, no inspection engine: the flow went through (inspect-fallback splice)"
	flowlog_expect "the fallback splice says inspect_unavailable" "cli=10.1.0.2:$PORT" \
	    event=flow.end rule=lab-inspect action=splice reason=inspect_unavailable
else
	not_ok "inspect rule, no inspection engine: the flow went through (inspect-fallback splice)" \
	    "got: $RES" "log: $out"
fi

# --- explicit mode: the SNI inside CONNECT must match the authority -----------
hello --proxy 10.1.0.1:3128 --sni www.example.test --cafile "$CA" --then tls www.example.test:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "explicit CONNECT www.example.test with the same SNI: works"
hello --proxy 10.1.0.1:3128 --sni echo.example.test --cafile "$CA" --then tls www.example.test:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)' \
    "explicit CONNECT www.example.test with SNI echo.example.test is not spliced ($RES)"
flowlog_expect "the CONNECT/SNI mismatch is logged" "cli=10.1.0.2:$PORT" \
    mode=explicit method=CONNECT host=www.example.test sni=echo.example.test \
    reason=sni_mismatch 'event~^flow\.(blocked|end)$'

flowlog_valid
done_testing
