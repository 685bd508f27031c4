#!/bin/bash
# 151-inspect-bad-upstream: never less safe than going direct (issue 13).
# Origins whose certificate a browser would refuse — expired, not yet
# valid, self-signed, for another name, from an untrusted CA, an RSA-1024
# key, a SHA-1 signature — and one that speaks only TLS 1.0: inspection
# refuses each, logged `upstream_cert_invalid` (or `upstream_tls_failed`)
# with the reason, explicit (a 502 page inside TLS, on a leaf that names
# the host alone) and transparent (a TLS alert); no byte of the origin's
# content reaches the client.  A good origin beside them is inspected.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

NAMES="expired future self wrongname untrusted weakkey sha1 oldtls good"
DNS_EXTRA=""
for n in $NAMES; do
	DNS_EXTRA="$DNS_EXTRA --host-record=$n.bad.test,10.2.0.5"
done
servers_up

MK="$BUILD/tools/mkcert"
[ -x "$MK" ] || setup_fail "$MK does not exist (make builds it)"
mk() {	# NAME ARGS...: $T/NAME.crt and .key
	local n=$1
	shift
	"$MK" --out "$T/$n.crt" --key-out "$T/$n.key" "$@" >>"$T/mkcert.log" 2>&1 ||
	    setup_fail "mkcert $n" "$(cat "$T/mkcert.log")"
}
TCA="--ca $CA --ca-key $T/ca.key"
mk expired $TCA --cn expired.bad.test --san DNS:expired.bad.test --from -30 --days 10
mk future $TCA --cn future.bad.test --san DNS:future.bad.test --from 10 --days 30
mk self --cn self.bad.test --san DNS:self.bad.test
mk wrongname $TCA --cn someone-else.test --san DNS:someone-else.test
mk otherca --cn "an untrusted CA" --ca-cert
mk untrusted --ca "$T/otherca.crt" --ca-key "$T/otherca.key" \
    --cn untrusted.bad.test --san DNS:untrusted.bad.test
mk weakkey $TCA --cn weakkey.bad.test --san DNS:weakkey.bad.test --key rsa1024
mk sha1 $TCA --cn sha1.bad.test --san DNS:sha1.bad.test --md sha1
mk oldtls $TCA --cn oldtls.bad.test --san DNS:oldtls.bad.test
mk good $TCA --cn good.bad.test --san DNS:good.bad.test

# One openssl s_server -WWW each, serving a marker file: if its text ever
# reaches a client, origin content went through.
mkdir -p "$T/www" && echo "origin-content-marker" >"$T/www/marker"
port=8441
declare -A PORT
for n in $NAMES; do
	PORT[$n]=$port
	extra=""
	[ "$n" = oldtls ] && extra="-tls1"
	bg "$SRV" "s_server-$n" bash -c "cd '$T/www' && exec openssl s_server \
	    -quiet -WWW -accept 10.2.0.5:$port -cert '$T/$n.crt' \
	    -key '$T/$n.key' -cipher DEFAULT:@SECLEVEL=0 $extra"
	port=$((port + 1))
done
for n in $NAMES; do
	wait_listen "$SRV" 10.2.0.5 "${PORT[$n]}" ||
	    setup_fail "s_server $n" "$(cat "$T/s_server-$n.log")"
done
# Each directly, with the openssl client at its most lenient: they serve.
out=$(in_cli curl -sS -k --ciphers DEFAULT:@SECLEVEL=0 --max-time 10 \
    https://10.2.0.5:${PORT[expired]}/marker 2>&1)
is "$out" "origin-content-marker" "the expired origin serves its marker to a client that ignores errors"

mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
ports=$(printf '%s,' "${PORT[@]}")
transparent_start "
set transparent-tcp-ports ${ports%,}
set connect-ports ${ports%,}
set log-allowed on
set upstream-ca-bundle $CA
default inspect
"

# name reason detail
TABLE="expired upstream_cert_invalid expired
future upstream_cert_invalid not_yet_valid
self upstream_cert_invalid self_signed
wrongname upstream_cert_invalid wrong_name
untrusted upstream_cert_invalid untrusted_chain
weakkey upstream_cert_invalid weak_key
sha1 upstream_cert_invalid weak_signature
oldtls upstream_tls_failed handshake_failed"

while read -r n reason detail; do
	url="https://$n.bad.test:${PORT[$n]}/marker"
	# explicit: the CONNECT is answered, then sluice's page inside TLS
	out=$(in_cli curl -sS --max-time 20 --proxy http://10.1.0.1:3128 \
	    --cacert "$ACA" -w ' code=%{http_code} port=%{local_port}' "$url" 2>&1)
	like "$out" "code=502 " "explicit $n: 502 from sluice inside TLS"
	like "$out" "sluice: 502 Bad Gateway \\($reason: $detail\\)" \
	    "explicit $n: the page says why ($reason: $detail)"
	unlike "$out" "origin-content-marker" "explicit $n: no origin content"
	p=${out##*port=}
	flowlog_expect "explicit $n: logged $reason $detail" \
	    "cli=10.1.0.2:$p" event=flow.error mode=explicit \
	    host=$n.bad.test reason=$reason detail=$detail action=inspect
	# the page's leaf names the host alone, from the appliance CA
	cert=$(in_cli timeout 10 openssl s_client -proxy 10.1.0.1:3128 \
	    -connect $n.bad.test:${PORT[$n]} -servername $n.bad.test \
	    </dev/null 2>/dev/null | openssl x509 -noout -issuer -enddate \
	    -ext subjectAltName 2>/dev/null | tr -s ' \n' '  ')
	like "$cert" "issuer=CN ?= ?sluice test inspection CA.*Alternative Name: DNS:$n.bad.test ?\$" \
	    "explicit $n: the page's certificate names only $n.bad.test ($cert)"
	# transparent: a TLS alert, nothing else
	out=$(in_cli curl -sS --max-time 20 --cacert "$ACA" \
	    --resolve "$n.bad.test:${PORT[$n]}:10.2.0.5" \
	    -w ' code=%{http_code} port=%{local_port}' "$url" 2>&1)
	like "$out" "code=000 " "transparent $n: no HTTP response"
	like "$out" "alert handshake failure|handshake failure" \
	    "transparent $n: the client got a TLS alert"
	unlike "$out" "origin-content-marker" "transparent $n: no origin content"
	p=${out##*port=}
	flowlog_expect "transparent $n: logged $reason $detail" \
	    "cli=10.1.0.2:$p" event=flow.error mode=transparent \
	    sni=$n.bad.test reason=$reason detail=$detail
done <<<"$TABLE"

out=$(in_cli curl -sS --max-time 20 --proxy http://10.1.0.1:3128 --cacert "$ACA" \
    "https://good.bad.test:${PORT[good]}/marker" 2>&1)
is "$out" "origin-content-marker" "the good origin beside them is inspected and served"
unlike "$(cat "$T/sluiced.err")" "cannot mint" "no mint failure along the way"
done_testing
