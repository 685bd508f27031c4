#!/bin/bash
# 155-inspect-h2: HTTP/2 on the inspected path (issue 13): h2 both ways
# (nginx with http2 on 10.2.0.5), an h2 client to an HTTP/1.1-only origin
# (the standard nginx), per-stream policy, limits, RFC 8441 WebSockets.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

DNS_EXTRA="--host-record=h2.example.test,10.2.0.5"
servers_up
# A second nginx, HTTP/2 over TLS, same content as the first.
H2D="$T/nginx-h2"
mkdir -p "$H2D/tmp" || setup_fail "nginx-h2 dirs"
cat >"$H2D/nginx.conf" <<NGX
user root;
worker_processes 1;
pid $H2D/nginx.pid;
error_log $H2D/error.log warn;
events { worker_connections 1024; }
http {
	access_log $H2D/access.log;
	client_body_temp_path $H2D/tmp/body;
	proxy_temp_path $H2D/tmp/proxy;
	fastcgi_temp_path $H2D/tmp/fastcgi;
	uwsgi_temp_path $H2D/tmp/uwsgi;
	scgi_temp_path $H2D/tmp/scgi;
	default_type application/octet-stream;
	keepalive_requests 100000;
	http2_max_concurrent_streams 128;
	server {
		listen 10.2.0.5:443 ssl http2;
		server_name _;
		ssl_certificate $T/srv.crt;
		ssl_certificate_key $T/srv.key;
		root $T/nginx/www;
		location /dav/ {
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 100m;
		}
	}
}
NGX
bg "$SRV" nginx-h2 nginx -c "$H2D/nginx.conf" -g 'daemon off;'
wait_listen "$SRV" 10.2.0.5 443 ||
    setup_fail "nginx-h2 did not start" "$(cat "$T/nginx-h2.log" "$H2D/error.log" 2>/dev/null)"
# An h2 origin that sends 103 Early Hints and trailers, and echoes the
# request's trailers (gRPC's status travels in trailers).
bg "$SRV" h2trail "$PY" "$PYDIR/h2trailsrv.py" --cert "$T/srv.crt" \
    --key "$T/srv.key" 10.2.0.5:8443
wait_listen "$SRV" 10.2.0.5 8443 ||
    setup_fail "h2trailsrv did not start" "$(cat "$T/h2trail.log")"
mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
# Transparent listeners and the explicit one (transparent_start), and
# small flood limits so the attacks below cross them quickly.
transparent_start "
set log-allowed on
set upstream-ca-bundle $CA
set h2-reset-max 100
set h2-flood-window 10s
set h2-max-continuations 8
set h2-header-list-max 8k
set h2-stall-timeout 3s
set connect-ports 443,8443
rule secret deny url h2.example.test/secret/
rule secret1 deny url www.example.test/secret/
default inspect
"
# h2py MODE ARGS...: tests/integ/py/h2client.py through the explicit proxy
# to h2.example.test:443 (H2PY_TO to change the target).
h2py() {
	in_cli timeout 60 "$PY" "$PYDIR/h2client.py" --proxy 10.1.0.1:3128 \
	    --cacert "$ACA" --connect "${H2PY_TO:-h2.example.test:443}" "$@" 2>&1
}
# rss: sluiced's resident memory, KiB.  rss_ok BEFORE AFTER MAX: grew by
# less than MAX KiB; ASan's quarantine holds freed memory back (256 MiB by
# default), so a sanitizer build is only held to that.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$SLUICED_PID/status"; }
rss_ok() {
	local max=$3
	ldd "$BUILD/sluiced" | grep -q libasan && max=262144
	[ $(($2 - $1)) -lt "$max" ]
}
# h2curl URL ARGS...: curl --http2 through the explicit proxy, trusting
# the appliance CA.
h2curl() {
	local u=$1
	shift
	in_cli curl -sS --max-time 60 --http2 --proxy "$PROXY4" --cacert "$ACA" \
	    "$@" "$u"
}

# --- h2 both ways
out=$(h2curl https://h2.example.test/big.bin -o "$T/h2big.out" \
    -w '%{http_version} %{http_code}' 2>&1)
is "$out" "2 200" "curl --http2 to an h2 origin: HTTP/2, 200"
is "$(sha256_of "$T/h2big.out")" "$BIG_SHA" "20 MB body intact (sha256)"
flowlog_expect "the stream is a request event, inspected" \
    'event=flow.request host=h2.example.test path=/big.bin' \
    action=inspect status=200

# --- interim responses and trailers, both ways (h2 origin)
out=$(H2PY_TO=h2.example.test:8443 h2py trailers /grpc)
is "$out" "info=103 status=200 body='got 1000 bytes' trailers=grpc-status:0,x-echo-x-req-trailer:rq-value" \
    "103 Early Hints passed on, the request's trailers reach the origin and the response's come back"
flowlog_expect "logged as an inspected request" \
    'event=flow.request host=h2.example.test path=/grpc' action=inspect \
    status=200

# --- h2 client, HTTP/1.1-only origin: curl offers both, gets http/1.1
out=$(h2curl https://www.example.test/hello -w ' %{http_version}' 2>&1)
is "$out" "hello from www.example.test
 1.1" "curl --http2 (h2 and http/1.1 offered) to an h1 origin: HTTP/1.1, as the origin chose"

# --- transparent: the same through the gateway
out=$(in_cli curl -sS --max-time 60 --http2 --cacert "$ACA" \
    --resolve h2.example.test:443:10.2.0.5 -o "$T/tpbig.out" \
    -w '%{http_version} %{http_code}' https://h2.example.test/big.bin 2>&1)
is "$out" "2 200" "transparent: curl --http2 to an h2 origin"
is "$(sha256_of "$T/tpbig.out")" "$BIG_SHA" "transparent: 20 MB body intact"
flowlog_expect "transparent: the stream is a request event" \
    'event=flow.request mode=transparent host=h2.example.test path=/big.bin' \
    action=inspect status=200

# --- upload: a 20 MB request body through h2 both ways
out=$(h2curl https://h2.example.test/dav/up.bin -T "$BIG" \
    -w '%{http_version} %{http_code}' 2>&1)
is "$out" "2 201" "20 MB PUT through h2 both ways"
is "$(sha256_of "$T/nginx/www/dav/up.bin")" "$BIG_SHA" "the origin got it intact"

# --- 100 concurrent streams, one of them denied
out=$(h2py multi 99 /hello /secret/x)
is "$out" "statuses 200x99 403x1" "100 concurrent streams (h2-max-streams): 99 answered, the denied one 403"
flowlog_expect "the denied stream: flow.blocked naming the rule" \
    'event=flow.blocked path=/secret/x' rule=secret action=deny status=403
n=$(flowlog_count 'event=flow.request host=h2.example.test path=/hello')
[ "$n" -ge 99 ] && ok "a request event for each of the other streams ($n)" ||
    not_ok "a request event for each of the other streams" "$n"

# Beyond the limit: 101 streams sent before our SETTINGS could be read.
out=$(h2py multi 100 /hello /secret/x now)
is "$out" "statuses 200x99 403x1 reset:REFUSED_STREAMx1" "101 streams at once: the one past h2-max-streams refused (REFUSED_STREAM)"
like "$(cat "$T/sluiced.err")" "h2 limit h2_max_streams" "the refused stream is logged with its reason"

# --- h2load, short and bounded
out=$(in_cli timeout 60 h2load -n 2000 -c 4 -m 50 -t 1 \
    --connect-to=10.2.0.5:443 https://h2.example.test/hello 2>&1)
like "$out" "2000 succeeded, 0 failed" "h2load: 2000 requests, 4 connections, 50 streams each" 
like "$out" "Application protocol: h2" "h2load spoke h2 (transparent)"

# --- an h2-only client to the HTTP/1.1-only origin: carried over HTTP/1.1
out=$(H2PY_TO=www.example.test:443 h2py get /big.bin)
is "$out" "200 $BIG_SHA" "h2-only client to an h1 origin: 20 MB intact"
out=$(H2PY_TO=www.example.test:443 h2py put /dav/h1up.bin "$BIG")
is "$out" "201 after 20971520 bytes" "h2-only client PUTs 20 MB to the h1 origin (chunked there)"
is "$(sha256_of "$T/nginx/www/dav/h1up.bin")" "$BIG_SHA" "... intact at the origin"
out=$(in_cli timeout 60 h2load -n 400 -c 2 -m 20 -t 1 --npn-list=h2 \
    --connect-to=10.2.0.2:443 https://www.example.test/hello 2>&1)
like "$out" "400 succeeded, 0 failed" "h2load (h2 only) to the h1 origin: 400 streams carried over HTTP/1.1"
like "$out" "Application protocol: h2" "... spoken as h2 by the client (transparent)"
out=$(H2PY_TO=www.example.test:443 h2py multi 20 /hello /secret/y)
is "$out" "statuses 200x20 403x1" "h2 to h1: 20 streams in turn, the denied one 403"
flowlog_expect "h2 to h1: the denied stream is blocked by its rule" \
    'event=flow.blocked path=/secret/y' rule=secret1 status=403

# --- :authority is a claimed name, as Host is over HTTP/1.1
out=$(h2py authority www.example.test /secret/z)
is "$out" "403" ":authority naming another host is decided by its own rules"
flowlog_expect "the request is decided for the :authority" \
    'event=flow.blocked path=/secret/z' host=www.example.test rule=secret1

# --- RFC 8441: a WebSocket from an h2 client to the HTTP/1.1 echo origin
out=$(H2PY_TO=10.2.0.2:8443 h2py ws 200)
is "$out" "echoed 200" "RFC 8441 WebSocket over h2, bridged to an HTTP/1.1 upgrade"

# --- rapid reset (CVE-2023-44487) and CONTINUATION flood
rss0=$(rss)
for i in 1 2 3; do
	out=$(h2py reset 1000)
	like "$out" "goaway ENHANCE_YOUR_CALM" "rapid reset $i refused ($out)"
done
like "$(cat "$T/sluiced.err")" "h2 limit h2_rapid_reset" "rapid reset logged with its reason"
flowlog_expect "the connection's event says h2_rapid_reset" \
    'event=flow.error reason=h2_rapid_reset' action=inspect
for i in 1 2 3; do
	out=$(h2py contflood 2000)
	like "$out" "goaway ENHANCE_YOUR_CALM" "CONTINUATION flood $i refused ($out)"
done
like "$(cat "$T/sluiced.err")" "h2_continuation_flood" "CONTINUATION flood logged with its reason"
rss1=$(rss)

# --- header list size (h2-header-list-max 8k), at the limit and beyond
out=$(h2py hdrs 6 1000)
is "$out" "200" "6 KB of fields: under h2-header-list-max, answered"
out=$(h2py hdrs 12 1000)
is "$out" "431" "12 KB of fields: 431 on that stream"
flowlog_expect "logged header_list_too_large" \
    'event=flow.error reason=header_list_too_large' status=431

# --- a client that never opens its window (h2-stall-timeout 3s)
out=$(h2py stall /big.bin)
like "$out" "goaway ENHANCE_YOUR_CALM after [3-6] s" "zero window for ever: GOAWAY after h2-stall-timeout ($out)"
like "$(cat "$T/sluiced.err")" "h2 limit h2_window_stalled" "window stall logged with its reason"
# The same against the HTTP/1.1 origin: its 20 MB are not read into
# sluiced while the client takes nothing (backpressure, not buffering).
rss2=$(rss)
out=$(H2PY_TO=www.example.test:443 h2py stall /big.bin)
like "$out" "goaway ENHANCE_YOUR_CALM after [3-6] s" "zero window, h1 origin: GOAWAY after h2-stall-timeout"
rss3=$(rss)
rss_ok "$rss2" "$rss3" 8192 &&
    ok "the stalled 20 MB stayed at the origin: VmRSS $rss2 -> $rss3 KiB" ||
    not_ok "the stalled 20 MB stayed at the origin" "VmRSS $rss2 -> $rss3 KiB"
rss_ok "$rss0" "$rss1" 20480 &&
    ok "sluiced's memory after the floods: VmRSS $rss0 -> $rss1 KiB" ||
    not_ok "sluiced's memory bounded by the floods" "VmRSS $rss0 -> $rss1 KiB"
out=$(h2curl https://h2.example.test/hello -w ' %{http_version}' 2>&1)
is "$out" "hello from www.example.test
 2" "h2 still works after the floods"
flowlog_valid
done_testing
