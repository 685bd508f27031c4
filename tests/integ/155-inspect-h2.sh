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
mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
sluiced_start "
set log-allowed on
set upstream-ca-bundle $CA
rule secret deny url h2.example.test/secret/
rule secret1 deny url www.example.test/secret/
default inspect
"
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

# --- h2 client, HTTP/1.1-only origin: curl offers both, gets http/1.1
out=$(h2curl https://www.example.test/hello -w ' %{http_version}' 2>&1)
is "$out" "hello from www.example.test
 1.1" "curl --http2 (h2 and http/1.1 offered) to an h1 origin: HTTP/1.1, as the origin chose"
done_testing
