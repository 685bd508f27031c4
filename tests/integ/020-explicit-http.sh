#!/bin/bash
# 020-explicit-http: absolute-URI HTTP/1.1 through the explicit proxy (issue
# #2): 50 requests on one kept-alive client connection (one flow, one
# upstream connection), bodies intact both ways with Content-Length and
# chunked framing, hop-by-hop fields removed, end-to-end fields untouched.
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

# --- a chunked response (three chunks, an extension, a trailer) ---------
out=$(pcurl -D "$T/ch.h" -o "$T/ch.body" -w '%{http_code}' http://head.example.test/chunked/x)
is "$out" "200" "chunked response answered 200"
is "$(sha256_of "$T/ch.body")" \
    "$(tr -d '\r' <"$T/ch.h" | awk 'tolower($1) == "x-head-sha256:" { print $2 }')" \
    "chunked response body intact after de-chunking"
like "$(cat "$T/ch.h")" '[Tt]ransfer-[Ee]ncoding: chunked' "chunked framing forwarded as chunked"

flowlog_valid
done_testing
