#!/bin/bash
# 020-explicit-http: absolute-URI HTTP/1.1 through the explicit proxy (issue
# #2): 50 requests on one kept-alive client connection (one flow, one
# upstream connection), bodies intact both ways with Content-Length and
# chunked framing, hop-by-hop fields removed, end-to-end fields untouched;
# the client's FIN after its requests (pipelined too) still gets every
# response, and `down` counts what reached the client.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
sluiced_start '
set log-allowed on
rule no-denied deny domain denied.example.test
rule lab-names splice domain *.example.test
rule lab-v4 splice ip 10.2.0.0/24
default deny
'

# --- 50 requests over one kept-alive client connection ------------------
args=()
for i in $(seq 1 50); do
	args+=(-o "$T/ka.$i" "http://www.example.test/hello?ka=$i")
done
pcurl -w '%{http_code} %{num_connects} %{local_port}\n' "${args[@]}" >"$T/ka.w"
is "$(awk '$1 == 200' "$T/ka.w" | wc -l)" "50" "50 kept-alive requests all answered 200"
is "$(awk '{ n += $2 } END { print n }' "$T/ka.w")" "1" \
    "curl opened one connection to the proxy for the 50 requests"
is "$(awk '{ print $3 }' "$T/ka.w" | sort -u | wc -l)" "1" "one client port for all 50"
n=0
for i in $(seq 1 50); do
	[ "$(cat "$T/ka.$i" 2>/dev/null)" = "hello from www.example.test" ] && n=$((n + 1))
done
is "$n" "50" "50 response bodies intact"
port=$(awk 'NR == 1 { print $3 }' "$T/ka.w")
flowlog_expect "the kept-alive connection is logged as one flow" \
    "cli=10.1.0.2:$port" event=flow.end mode=explicit method=GET \
    host=www.example.test 'dst~^(10\.2\.0\.2|\[fd00:2::2\]):80$' action=splice rule=lab-names
sleep 0.5
is "$(flowlog_count "cli=10.1.0.2:$port")" "1" "exactly one flow log event for that client connection"
# nginx numbers its client connections: one upstream connection served all.
is "$(grep -F '"GET /hello?ka=' "$T/nginx/access.log" | awk '{ print $1 }' | sort -u | wc -l)" \
    "1" "the proxy reused one upstream connection for the 50 requests"
is "$(grep -cF '"GET /hello?ka=' "$T/nginx/access.log")" "50" "nginx saw the 50 requests in origin form"

# --- a 20 MB response (Content-Length) ----------------------------------
out=$(pcurl -o "$T/big.out" -w '%{http_code} %{local_port}' http://www.example.test/big.bin)
read -r code port <<<"$out"
is "$code" "200" "GET 20 MB through the proxy answered 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "20 MB response body intact (sha256)"
flowlog_expect "flow.end for the 20 MB GET" "cli=10.1.0.2:$port" \
    event=flow.end method=GET host=www.example.test 'down>=20971520' 'down<=21000000'

# --- uploads: chunked and Content-Length, fetched back ----------------
head -c 5000000 /dev/urandom >"$T/up.bin"
up_sha=$(sha256_of "$T/up.bin")
code=$(in_cli curl -sS --max-time 30 --proxy "$PROXY4" -o /dev/null -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' -T - \
    http://www.example.test/dav/chunked.bin <"$T/up.bin")
like "$code" '^20[14]$' "chunked 5 MB PUT through the proxy accepted ($code)"
is "$(sha256_of "$T/nginx/www/dav/chunked.bin")" "$up_sha" "the origin stored the chunked upload intact"
pcurl -o "$T/back1.bin" http://www.example.test/dav/chunked.bin
is "$(sha256_of "$T/back1.bin")" "$up_sha" "the chunked upload fetched back through the proxy matches"
code=$(pcurl -o /dev/null -w '%{http_code}' -T "$T/up.bin" http://www.example.test/dav/cl.bin)
like "$code" '^20[14]$' "Content-Length 5 MB PUT through the proxy accepted ($code)"
pcurl -o "$T/back2.bin" http://www.example.test/dav/cl.bin
is "$(sha256_of "$T/back2.bin")" "$up_sha" "the Content-Length upload fetched back matches"

# --- hop-by-hop fields removed, end-to-end fields byte for byte ----------
req='GET http://head.example.test/echo?q=1&r=%2F HTTP/1.1\r\nHost: head.example.test\r\nX-End-To-End: Value  with  two  spaces \r\nConnection: keep-alive, X-Hop\r\nX-Hop: must-not-pass\r\nProxy-Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-Trail\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nX-Case: MiXeD cAsE\r\nAccept: */*\r\nCookie: a=1; b=2\r\n\r\n'
in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 "$req" >"$T/head.out"
read -r status port <"$T/head.out"
is "$status" "200" "request with hop-by-hop fields answered 200"
"$PY" - "$T/head.out" >"$T/head.check" 2>&1 <<'EOF'
import hashlib, sys
raw = open(sys.argv[1], "rb").read().split(b"\n", 1)[1]
head, _, body = raw.partition(b"\r\n\r\n")
fields = {}
for l in head.split(b"\r\n")[1:]:
    k, _, v = l.partition(b":")
    fields[k.strip().lower()] = v.strip()
up = body.split(b"\r\n")
print("line:", up[0].decode("latin-1"))
names = [l.split(b":")[0].lower() for l in up[1:] if l]
for h in (b"x-hop", b"proxy-connection", b"keep-alive", b"te",
          b"trailer", b"proxy-authorization"):
    if h in names:
        print("hop-by-hop field reached the origin:", h.decode())
# The proxy may send a Connection field of its own for its upstream
# connection, but not the client's.
for l in up[1:]:
    if l.lower().startswith(b"connection:") and b"x-hop" in l.lower():
        print("hop-by-hop field reached the origin:", l.decode("latin-1"))
e2e = [l for l in up[1:] if l and l.split(b":")[0].lower() not in
       (b"host", b"via", b"connection")]
print("e2e:", b"|".join(e2e).decode("latin-1"))
print("host:", b"|".join(l for l in up[1:] if l.lower().startswith(b"host:")).decode())
print("via:", b"|".join(l for l in up[1:] if l.lower().startswith(b"via:")).decode())
print("resp-sha-ok:", fields.get(b"x-head-sha256") == hashlib.sha256(body).hexdigest().encode())
for h in (b"x-resp-hop", b"keep-alive"):
    if h in fields:
        print("hop-by-hop response field reached the client:", h.decode())
EOF
hc=$(cat "$T/head.check")
like "$hc" '^line: GET /echo\?q=1&r=%2F HTTP/1\.1$' "the origin got the request line in origin form, query untouched"
unlike "$hc" 'hop-by-hop field reached the origin' "no hop-by-hop request field reached the origin"
like "$hc" '^e2e: X-End-To-End: Value  with  two  spaces \|X-Case: MiXeD cAsE\|Accept: \*/\*\|Cookie: a=1; b=2$' \
    "end-to-end request fields reached the origin byte for byte, in order, nothing added"
like "$hc" '^host: Host: head\.example\.test$' "Host is the URI authority, once"
like "$hc" '^via: Via: 1\.1 sluice$' "Via: 1.1 sluice added"
like "$hc" '^resp-sha-ok: True$' "end-to-end response field and body reached the client unchanged"
unlike "$hc" 'hop-by-hop response field reached the client' "hop-by-hop response fields removed"

# --- a request followed at once by the client's half-close ---------------
# The client sends a complete request and shuts down its sending side (as
# `nc -N` or a scripted client does); the answer must still come.  The
# name is not cached yet: the FIN arrives while sluiced resolves it.
printf 'GET http://fin.example.test/fin HTTP/1.1\r\nHost: fin.example.test\r\nConnection: close\r\n\r\n' >"$T/reqfin"
in_cli timeout 20 "$PY" "$PYDIR/rawc.py" 10.1.0.1:3128 <"$T/reqfin" >"$T/reqfin.back" 2>&1
like "$(head -n 1 "$T/reqfin.back")" '^HTTP/1\.1 200 ' "a request followed by the client's half-close is still answered"
like "$(cat "$T/reqfin.back")" '^GET /fin HTTP/1\.1' "the origin got that request"

# --- the client's FIN after its requests (red-team finding) --------------
# Without "Connection: close": every complete request received before the
# FIN is answered (pipelined ones too), the responses are written out,
# then the connection closes; `down` is what reached the client socket.
# Before the fix the close came at once: 0 bytes of /hello, a few KB of
# /big.bin lost, 4 of 5 pipelined responses, each logged as a normal end.
hc() { in_cli timeout 60 "$PY" "$PYDIR/hfclient.py" talk "$@"; }
field() { printf '%s\n' "$2" | sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p"; }
get() { printf 'GET http://www.example.test/%s HTTP/1.1\\r\\nHost: www.example.test\\r\\n\\r\\n' "$1"; }
hello='200:hello_from_www\.example\.test@[0-9]+'

out=$(hc "send:$(get 'hello?fin=1')" shut drain)
like "$out" "reads=$hello,closed@[0-9]+ total=[0-9]+ how=closed\$" \
    "GET, then the client's FIN: the response comes, then the close ($out)"
port=$(field port "$out")
one=$(field total "$out")	# the bytes of one /hello response
flowlog_expect "a normal end whose down is what the client received" "cli=10.1.0.2:$port" \
    event=flow.end status=200 "down=$one" term=CR
unlike "$(flowlog_last "cli=10.1.0.2:$port")" '"reason"' "with no reason"

out=$(hc --rcvbuf 8192 --timeout 50 "send:$(get big.bin)" shut drain)
like "$out" "reads=200:len=20971520:sha=$BIG_SHA@[0-9]+,closed@" \
    "20 MB GET, then the FIN, a slow reader: the whole body arrives intact"
flowlog_expect "and down counts all of it" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.end status=200 "down=$(field total "$out")" term=CR

out=$(hc "send:$(get 'hello?pf=1')$(get 'hello?pf=2')$(get 'hello?pf=3')$(get 'hello?pf=4')$(get 'hello?pf=5')" \
    shut drain)
like "$out" "reads=$hello,$hello,$hello,$hello,$hello,closed@" \
    "5 pipelined requests, then the FIN: 5 responses, then the close ($out)"
flowlog_expect "down is the 5 responses" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.end status=200 "down=$(field total "$out")" term=CR
is "$(grep -cF '"GET /hello?pf=' "$T/nginx/access.log")" "5" "nginx got the 5 requests"

out=$(hc "send:$(get 'hello?pp=1')$(get 'hello?pp=2')GET http://www.example.test/x HTTP/1.1\\r\\nHo" \
    shut drain)
like "$out" "reads=$hello,$hello,closed@" \
    "2 requests and part of a third, then the FIN: 2 responses, then the close"
flowlog_expect "logged as an incomplete request once the 2 are out" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.error reason=incomplete_request "down=$(field total "$out")" term=CR

# A refusal after a served pipelined request: its event is written once
# the response before it is out, and counts it.
out=$(hc "send:$(get 'hello?pd=1')GET http://denied.example.test/ HTTP/1.1\\r\\nHost: denied.example.test\\r\\n\\r\\n" \
    read read)
like "$out" "reads=$hello,403:" "a pipelined request refused after a served one gets its 403 ($out)"
flowlog_expect "the refusal's down is the response before it" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.blocked status=403 reason=policy "down=$one"

# The client resets after 1 MB of the 20: the lost bytes are not a normal
# end, and down is below the body's size.
out=$(hc --rcvbuf 8192 "send:$(get big.bin)" shut rst:1048576)
flowlog_expect "a client that resets in the middle of the flush is logged as such" \
    "cli=10.1.0.2:$(field port "$out")" 'reason~^client_(reset|error)$' \
    term=CR 'down>=1048576' 'down<=20971519'

# --- a chunked response (three chunks, an extension, a trailer) ---------
out=$(pcurl -D "$T/ch.h" -o "$T/ch.body" -w '%{http_code}' http://head.example.test/chunked/x)
is "$out" "200" "chunked response answered 200"
is "$(sha256_of "$T/ch.body")" \
    "$(tr -d '\r' <"$T/ch.h" | awk 'tolower($1) == "x-head-sha256:" { print $2 }')" \
    "chunked response body intact after de-chunking"
like "$(cat "$T/ch.h")" '[Tt]ransfer-[Ee]ncoding: chunked' "chunked framing forwarded as chunked"

flowlog_valid
done_testing
