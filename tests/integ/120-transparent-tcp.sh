#!/bin/bash
# 120-transparent-tcp: non-TLS traffic through the transparent gateway
# (issue #4).  Opaque bytes on 443 pass untouched both ways (10 MB,
# binary) even under an inspect rule, unless the rule says deny-opaque;
# the generic TCP ports 12000-12002 pass; plain HTTP on port 80 is
# forwarded by Host byte for byte, a denied Host is refused, and a Host
# that does not resolve to the original destination is not trusted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
tcp_server_start ports echo@10.2.0.4:12000 echo@10.2.0.4:12001 \
    echo@10.2.0.4:12002 echo@10.2.0.5:443
transparent_start '
set transparent-tcp-ports 80,443,12000-12002
set peek-timeout 2s
set via off
set log-allowed on
rule no-opaque splice deny-opaque ip 10.2.0.5 port 443
rule lab-opaque inspect ip 10.2.0.4 port 443
rule lab-ports splice ip 10.2.0.4 port 12000-12002
rule no-denied deny domain denied.example.test
rule lab-http splice domain *.example.test port 80
default deny
'

# rawc_to ADDR:PORT IN OUT [RAWC-OPTION...]: send IN, half-close, read
# everything into OUT.
rawc_to() {
	local ep=$1 in=$2 o=$3
	shift 3
	in_cli timeout 60 "$PY" "$PYDIR/rawc.py" "$@" "$ep" <"$in" >"$o" 2>"$o.err"
}

# --- opaque bytes on 443 under an inspect rule ---------------------------
# Starts with bytes neither TLS nor HTTP could begin with.
{ printf '\000\377OPAQUE'; head -c 10485752 /dev/urandom; } >"$T/opaque"
rawc_to 10.2.0.4:443 "$T/opaque" "$T/opaque.back"
is "$?" "0" "10 MB of opaque bytes to 10.2.0.4:443: the flow ends cleanly"
is "$(sha256_of "$T/opaque.back")" "$(sha256_of "$T/opaque")" \
    "10 MB of opaque bytes on 443 pass untouched both ways (inspect rule)"
flowlog_expect "the opaque flow is logged" "dst=10.2.0.4:443 proto=opaque" \
    event=flow.end mode=transparent rule=lab-opaque action=splice \
    up=10485760 down=10485760

printf '\000\377OPAQUE hello\r\n' >"$T/small"
rawc_to 10.2.0.5:443 "$T/small" "$T/small.back"
is "$(wc -c <"$T/small.back")" "0" "opaque bytes under a deny-opaque rule get nothing back"
flowlog_expect "deny-opaque refusal logged" "dst=10.2.0.5:443" \
    event=flow.blocked mode=transparent proto=opaque rule=no-opaque \
    action=deny reason=opaque_refused
in_cli timeout 20 "$PY" "$PYDIR/tlshello.py" --sni echo.example.test --then echo \
    10.2.0.5:443 >"$T/tls5" 2>&1
like "$(cat "$T/tls5")" '^echo-ok' "TLS to the same destination is not opaque: passes"

# --- generic TCP ports --------------------------------------------------
head -c 1000000 /dev/urandom >"$T/p.bin"
for p in 12000 12001 12002; do
	rawc_to "10.2.0.4:$p" "$T/p.bin" "$T/p.$p"
	is "$(sha256_of "$T/p.$p")" "$(sha256_of "$T/p.bin")" "port $p: 1 MB echoed unchanged"
	flowlog_expect "port $p flow logged" "dst=10.2.0.4:$p" event=flow.end \
	    mode=transparent rule=lab-ports action=splice up=1000000 down=1000000
done

# A line-based protocol whose first line merely looks like words is not
# HTTP (no HTTP version): it must pass as opaque, not get a 400.
printf 'LOGIN alice secret\r\nQUIT\r\n' >"$T/text"
rawc_to 10.2.0.4:12000 "$T/text" "$T/text.back"
is "$(cat "$T/text.back")" "$(cat "$T/text")" "a text protocol (\"LOGIN alice secret\") on port 12000 passes untouched"
flowlog_expect "the text protocol flow is opaque and spliced" "dst=10.2.0.4:12000 up=26" \
    event=flow.end proto=opaque rule=lab-ports action=splice down=26

# --- plain HTTP on port 80, by Host ----------------------------------------
printf 'GET /exact?x=1&y=%%2F HTTP/1.1\r\nHost: head.example.test\r\nUser-Agent: sluice-test/1\r\nX-Odd:   spaced   value \r\nAccept: */*\r\n\r\n' >"$T/req1"
{
	printf 'POST /post HTTP/1.1\r\nHost: head.example.test\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n'
	head -c 100000 /dev/urandom
} >"$T/req2"
# The head echo keeps the connection alive: read until it goes quiet.
for r in req1 req2; do
	rawc_to 10.2.0.5:80 "$T/$r" "$T/$r.back" --idle 1
	sed '1,/^\r$/d' "$T/$r.back" >"$T/$r.body"
	like "$(head -n 1 "$T/$r.back")" '^HTTP/1\.1 200 ' "$r: port 80 through the gateway answered 200"
	is "$(sha256_of "$T/$r.body")" "$(sha256_of "$T/$r")" \
	    "$r: the origin received the request byte for byte"
done
flowlog_expect "port 80 flow logged with its Host" "dst=10.2.0.5:80 up>=100000" \
    event=flow.end mode=transparent proto=http host=head.example.test rule=lab-http
# A complete request followed at once by the client's half-close (FIN)
# must still be forwarded and answered; the name is not in sluiced's DNS
# cache yet, so the FIN arrives while the Host is being checked.
printf 'GET /fin HTTP/1.1\r\nHost: fin.example.test\r\nConnection: close\r\n\r\n' >"$T/reqfin"
rawc_to 10.2.0.5:80 "$T/reqfin" "$T/reqfin.back"
like "$(head -n 1 "$T/reqfin.back")" '^HTTP/1\.1 200 ' \
    "a request followed by the client's half-close is still answered"
flowlog_expect "the half-closed request flow is logged as a normal end" \
    "dst=10.2.0.5:80 host=fin.example.test" event=flow.end rule=lab-http 'up>=40' 'down>=40'
out=$(in_cli curl -sS --max-time 30 --resolve www.example.test:80:10.2.0.2 \
    -o "$T/big.out" -w '%{http_code}' http://www.example.test/big.bin)
is "$out" "200" "20 MB GET on port 80 through the gateway: 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "20 MB on port 80: sha256 matches"

printf 'GET /denied-marker HTTP/1.1\r\nHost: denied.example.test\r\n\r\n' >"$T/req3"
rawc_to 10.2.0.3:80 "$T/req3" "$T/req3.back" --idle 2
unlike "$(head -n 1 "$T/req3.back")" '^HTTP/1\.1 2' "a denied Host on port 80 is not forwarded"
flowlog_expect "the denied Host is logged" "dst=10.2.0.3:80 host=denied.example.test" \
    event=flow.blocked mode=transparent proto=http rule=no-denied action=deny
printf 'GET /spoof-marker HTTP/1.1\r\nHost: www.example.test\r\n\r\n' >"$T/req4"
rawc_to 10.2.0.3:80 "$T/req4" "$T/req4.back" --idle 2
unlike "$(head -n 1 "$T/req4.back")" '^HTTP/1\.1 2' \
    "Host www.example.test sent to 10.2.0.3 (not its address) is not forwarded"
flowlog_expect "the Host mismatch is logged" "dst=10.2.0.3:80 event=flow.blocked" \
    reason=host_mismatch
unlike "$(cat "$T/nginx/access.log")" 'denied-marker|spoof-marker' \
    "the origin never saw the refused requests"

flowlog_valid
done_testing
