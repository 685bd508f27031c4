#!/bin/bash
# 153-inspect-testssl: the client-facing TLS of an inspected flow is no
# weaker than the origin's own (issue 13).  One nginx in srv (10.2.0.7,
# tls.example.test, an EC P-256 leaf from the test CA valid 90 days with
# CRL and OCSP pointers, as a public origin's, and the address in its SAN
# so that testssl's hellos without SNI are inspected too) serves the same modern
# configuration — TLS 1.2 + 1.3, ECDHE with AEAD only, server order, no
# tickets — on :443 and :4443, and a TLS 1.2-only one on :8443 and :8444.
# sluiced inspects :443 and :8443 (transparent); :4443 and :8444 are
# routed past it (not in transparent-tcp-ports): the origin directly.
# testssl.sh (Debian's, offline: --nodns none, --ip, no phone-out,
# NXCONNECT on cli's loopback) scans protocols, cipher categories, forward
# secrecy, server defaults and preferences, and vulnerabilities
# (-p -s -f -S -P -U) of each pair, direct against inspected:
#
#   every finding of severity LOW or worse on the inspected side is on the
#   direct side too, with at least that severity (by id), and no check
#   that ran directly failed (WARN) only on the inspected side.
#
# LOW counts: testssl's LOW is where a downgrade shows first (CBC suites,
# TLS 1.0/1.1, no server order), and a modern origin has none of it.  Three
# ids are expected on the inspected side only, by design, and each is
# checked for its cause instead: cert_expirationStatus and cert_notAfter
# (minted leaves live at most 7 days + 1 h, tls/mint.c; checked on the
# leaf) and cert_revocation (a short-lived leaf carries no CRL/OCSP
# pointer; CA/B Forum BR 7.1.2.11 since SC-063 asks none).  The TLS 1.2
# pair is the one that examines sluice's TLS 1.2 side: towards an origin
# on TLS 1.3 sluice offers the client TLS 1.3 only.
#
# Then openssl s_client: TLS 1.0 and 1.1 refused on both inspected ports,
# NULL and CBC-SHA1 suites refused and ECDHE-ECDSA AES-GCM accepted on TLS
# 1.2; and py/cipherprobe.py (a hand-made TLS 1.2 hello: OpenSSL 3 cannot
# send them) for RC4, 3DES and EXPORT suites.  An nftables counter in cli
# proves testssl sent nothing but to 10.2.0.7 on the scanned ports.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

command -v testssl >/dev/null ||
    setup_fail "testssl (Debian's testssl.sh) is missing: sh scripts/deps.sh test"

DNS_EXTRA="--host-record=tls.example.test,10.2.0.7"
servers_up
setup_do "address 10.2.0.7" ip -n "$SRV" addr add 10.2.0.7/24 dev s0

# The origin's certificate: as a public origin's, but from the test CA.
{
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/tls.key" -out "$T/tls.csr" -subj "/CN=tls.example.test" &&
	printf '%s\n' \
	    "basicConstraints=CA:FALSE" \
	    "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=serverAuth" \
	    "subjectAltName=DNS:tls.example.test,IP:10.2.0.7" \
	    "crlDistributionPoints=URI:http://crl.example.test/ca.crl" \
	    "authorityInfoAccess=OCSP;URI:http://ocsp.example.test/" \
	    >"$T/tls.ext" &&
	openssl x509 -req -in "$T/tls.csr" -CA "$CA" -CAkey "$T/ca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 90 \
	    -extfile "$T/tls.ext" -out "$T/tls.crt"
} >"$T/tlscert.log" 2>&1 || setup_fail "origin certificate" "$(cat "$T/tlscert.log")"

# tls_server PORTS PROTOCOLS: one nginx server block.
tls_server() {
	local p
	echo "	server {"
	for p in $1; do
		echo "		listen 10.2.0.7:$p ssl;"
	done
	cat <<EOF
		server_name tls.example.test;
		ssl_certificate $T/tls.crt;
		ssl_certificate_key $T/tls.key;
		ssl_protocols $2;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
		ssl_prefer_server_ciphers on;
		ssl_ecdh_curve X25519:prime256v1:secp384r1;
		ssl_session_tickets off;
		root $T/ng/www;
	}
EOF
}
mkdir -p "$T/ng/www" "$T/ng/tmp"
echo "hello from tls.example.test" >"$T/ng/www/index.html"
{
	cat <<EOF
user root;
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/ng/tmp/body;
	proxy_temp_path $T/ng/tmp/proxy;
	fastcgi_temp_path $T/ng/tmp/fastcgi;
	uwsgi_temp_path $T/ng/tmp/uwsgi;
	scgi_temp_path $T/ng/tmp/scgi;
EOF
	tls_server "443 4443" "TLSv1.2 TLSv1.3"
	tls_server "8443 8444" "TLSv1.2"
	echo "}"
} >"$T/ng/nginx.conf"
bg "$SRV" ngtls nginx -c "$T/ng/nginx.conf" -g 'daemon off;'
wait_listen "$SRV" 10.2.0.7 8444 ||
    setup_fail "nginx on 10.2.0.7" "$(cat "$T/ngtls.log" "$T/ng/error.log" 2>/dev/null)"

mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
cat "$ACA" "$CA" >"$T/cas.pem"
transparent_start "
set transparent-tcp-ports 443,8443
set log-allowed on
set upstream-ca-bundle $CA
default inspect
"

# --- the two paths are what they claim ------------------------------------
# issuer PORT: the issuer of the leaf s_client gets from 10.2.0.7:PORT.
issuer() {
	in_cli timeout 10 openssl s_client -connect "10.2.0.7:$1" \
	    -servername tls.example.test </dev/null 2>/dev/null |
	    openssl x509 -noout -issuer 2>/dev/null
}
for p in 443 8443; do
	like "$(issuer $p)" 'sluice test inspection CA' ":$p is inspected (a minted leaf)"
done
for p in 4443 8444; do
	like "$(issuer $p)" 'sluice integration test CA' ":$p is the origin directly (its own leaf)"
done
# The leaf's life is what the expected cert_* findings come from.
in_cli timeout 10 openssl s_client -connect 10.2.0.7:443 \
    -servername tls.example.test </dev/null 2>/dev/null |
    openssl x509 -out "$T/minted.pem" 2>/dev/null
check "openssl x509 -in '$T/minted.pem' -noout -ext crlDistributionPoints,authorityInfoAccess 2>&1 | grep -qv URI" \
    "the minted leaf has no CRL/OCSP pointer (cert_revocation expected)"
check "! openssl x509 -in '$T/minted.pem' -noout -checkend $((7 * 86400 + 3600 + 60))" \
    "the minted leaf expires within 7 days + 1 h (cert_expirationStatus expected)"

# --- testssl, offline ------------------------------------------------------
# Every packet cli sends to anything but the scanned ports is counted:
# TCP and UDP must be none; the rest (the kernel's ICMPv6: MLD reports,
# router solicitations) is shown.
setup_do "nft counter in cli" in_cli nft -f - <<'EOF'
table inet sltestssl {
	counter other { }
	counter dns { }
	counter rest { }
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "lo" accept
		ip daddr 10.2.0.7 tcp dport { 443, 4443, 8443, 8444 } accept
		meta l4proto { tcp, udp } th dport 53 counter name dns
		meta l4proto { tcp, udp } counter name other
		counter name rest
	}
}
EOF
# testssl NAME PORT: scan 10.2.0.7:PORT as tls.example.test into
# $T/NAME.json; prints the seconds it took.
testssl_run() {
	local t0=$SECONDS
	# NXCONNECT: testssl probes its openssl with s_client -connect
	# "invalid." (a DNS query to the host's resolver); cli's loopback
	# instead.
	in_cli env NXCONNECT=127.0.0.1:0 timeout 240 testssl --quiet \
	    --warnings batch --color 0 --nodns none --ip 10.2.0.7 \
	    --add-ca "$T/cas.pem" --connect-timeout 10 --openssl-timeout 10 \
	    --jsonfile "$T/$1.json" --csvfile "$T/$1.csv" \
	    -p -s -f -S -P -U "tls.example.test:$2" >"$T/$1.txt" 2>&1
	echo $((SECONDS - t0))
}
# The four scans run at once (they mostly wait; one after the other they
# take about 40 s each).
t_all=$SECONDS
testssl_run direct13 4443 >"$T/t.direct13" &
p1=$!
testssl_run inspected13 443 >"$T/t.inspected13" &
p2=$!
testssl_run direct12 8444 >"$T/t.direct12" &
p3=$!
testssl_run inspected12 8443 >"$T/t.inspected12" &
p4=$!
wait $p1 $p2 $p3 $p4
diag "testssl: TLS 1.3 origin $(cat "$T/t.direct13")s direct, $(cat "$T/t.inspected13")s inspected;" \
    "TLS 1.2 origin $(cat "$T/t.direct12")s direct, $(cat "$T/t.inspected12")s inspected;" \
    "$((SECONDS - t_all))s in all"
is "$(in_cli nft list counter inet sltestssl other | grep -o 'packets [0-9]*')" \
    "packets 0" "testssl sent nothing but to the scanned ports"
is "$(in_cli nft list counter inet sltestssl dns | grep -o 'packets [0-9]*')" \
    "packets 0" "testssl made no DNS query"
diag "cli sent $(in_cli nft list counter inet sltestssl rest | grep -o 'packets [0-9]*') of neither TCP nor UDP"

cat >"$T/compare.py" <<'PY'
import json, sys
RANK = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
# Inspected-only by design, each checked on the leaf by the test.
EXPECTED = {"cert_expirationStatus", "cert_notAfter", "cert_revocation"}
# Ids a complete scan of these sections has.
NEEDED = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3",
          "cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
          "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_STRONG",
          "PFS", "cipher_order", "cert_chain_of_trust", "heartbleed", "CCS",
          "ROBOT", "secure_renego", "CRIME_TLS", "BREACH",
          "FREAK", "LOGJAM", "BEAST", "LUCKY13", "RC4", "scanTime"]

def load(path):
    with open(path) as f:
        rows = json.load(f)
    found = {}
    for r in rows:
        i, s = r["id"], r["severity"]
        if i in found and RANK.get(found[i][0], -1) >= RANK.get(s, -1):
            continue
        found[i] = (s, r["finding"])
    return found

cmd, direct, inspected = sys.argv[1], load(sys.argv[2]), load(sys.argv[3])
if cmd == "complete":
    miss = [i for i in NEEDED if i not in direct or i not in inspected]
    print(" ".join(miss))
elif cmd == "table":
    ids = sorted(i for i in set(direct) | set(inspected)
                 if RANK.get(direct.get(i, ("OK",))[0], 0) > 0 or
                 RANK.get(inspected.get(i, ("OK",))[0], 0) > 0 or
                 "WARN" in (direct.get(i, ("",))[0], inspected.get(i, ("",))[0]))
    for i in ids:
        print("%-24s direct %-8s inspected %-8s %s" % (
            i, direct.get(i, ("-",))[0], inspected.get(i, ("-",))[0],
            inspected.get(i, direct.get(i, ("", "")))[1][:60]))
elif cmd == "extra":
    out = []
    for i, (s, f) in sorted(inspected.items()):
        if s == "WARN":
            if direct.get(i, ("",))[0] != "WARN":
                out.append("%s WARN (a check that failed only here): %s" % (i, f))
            continue
        r = RANK.get(s, 0)
        if r == 0 or i in EXPECTED:
            continue
        dr = RANK.get(direct.get(i, ("OK",))[0], 0)
        if dr < r:
            out.append("%s %s (direct: %s): %s" % (
                i, s, direct.get(i, ("absent",))[0], f))
    print("\n".join(out))
elif cmd == "get":
    print(inspected.get(sys.argv[4], ("absent", ""))[1])
PY
# compare CMD PAIR [ID]
compare() {
	"$PY" "$T/compare.py" "$1" "$T/direct$2.json" "$T/inspected$2.json" ${3:+"$3"}
}
for v in 13 12; do
	[ -s "$T/direct$v.json" ] && [ -s "$T/inspected$v.json" ] ||
	    setup_fail "testssl wrote no JSON for the TLS ${v/1/1.} pair" \
	    "$(tail -n 20 "$T/direct$v.txt" "$T/inspected$v.txt")"
	is "$(compare complete "$v")" "" "TLS ${v/1/1.} origin: both scans are complete"
	diag "TLS ${v/1/1.} origin: findings LOW or worse, or WARN:" "$(compare table "$v")"
	is "$(compare extra "$v")" "" \
	    "TLS ${v/1/1.} origin: no finding on the inspected side the direct side does not have"
done
for i in SSLv2 SSLv3 TLS1 TLS1_1 cipherlist_NULL cipherlist_aNULL \
    cipherlist_EXPORT cipherlist_LOW cipherlist_3DES_IDEA cipherlist_AVERAGE; do
	is "$(compare get 12 "$i")" "not offered" "testssl, inspected (TLS 1.2 origin): $i not offered"
done
is "$(compare get 12 SWEET32)" "not vulnerable" "testssl, inspected (TLS 1.2 origin): SWEET32 not vulnerable"
is "$(compare get 12 TLS1_2)" "offered" "testssl, inspected (TLS 1.2 origin): TLS 1.2 offered"
is "$(compare get 13 TLS1_3)" "offered with final" "testssl, inspected (TLS 1.3 origin): TLS 1.3 offered"
like "$(compare get 12 RC4)" '^(no RC4|not vulnerable)' "testssl, inspected: no RC4"
# testssl's TLS flows, not its bare TCP probes (no bytes: spliced, proto
# none), which may come last.
for p in 443 8443; do
	n_i=$(flowlog_count "dst=10.2.0.7:$p event=flow.end proto=tls action=inspect")
	n_s=$(flowlog_count "dst=10.2.0.7:$p event=flow.end proto=tls action=splice")
	check "test $n_i -gt 10 && test $n_s -eq 0" \
	    "testssl's TLS flows to :$p were inspected ($n_i inspected, $n_s spliced)"
done
unlike "$(cat "$T/sluiced.err")" 'cannot mint|no client session' "nothing failed to mint"

# --- openssl s_client and hand-made hellos ---------------------------------
# sc PORT ARGS...: s_client to 10.2.0.7:PORT; prints the cipher or "refused".
sc() {
	local port=$1 out
	shift
	out=$(in_cli timeout 10 openssl s_client -connect "10.2.0.7:$port" \
	    -servername tls.example.test -CAfile "$ACA" "$@" </dev/null 2>&1)
	printf '%s' "$out" | grep -Eo 'Cipher is [A-Z0-9_-]+' | grep -v '(NONE)' |
	    head -n 1 | sed 's/Cipher is //' | grep . || echo refused
}
for p in 443 8443; do
	is "$(sc $p -tls1 -cipher 'DEFAULT:@SECLEVEL=0')" refused "inspected :$p: TLS 1.0 refused"
	is "$(sc $p -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')" refused "inspected :$p: TLS 1.1 refused"
done
is "$(sc 8443 -tls1_2 -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256')" \
    ECDHE-ECDSA-AES128-GCM-SHA256 "inspected: TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 accepted"
is "$(sc 8443 -tls1_2 -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305')" \
    ECDHE-ECDSA-CHACHA20-POLY1305 "inspected: TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 accepted"
is "$(sc 8443 -tls1_2 -cipher 'ECDHE+SHA1:AES128-SHA:AES256-SHA:@SECLEVEL=0')" \
    refused "inspected: TLS 1.2 CBC-SHA1 suites refused"
is "$(sc 8443 -tls1_2 -cipher 'eNULL:@SECLEVEL=0')" refused "inspected: TLS 1.2 NULL suites refused"
# probe PORT SUITE...: a TLS 1.2 hello offering exactly these suites to
# 10.2.0.7:PORT: "accepted 0xNNNN", "alert N" or "closed".
probe() {
	local port=$1
	shift
	in_cli timeout 15 "$PY" "$PYDIR/cipherprobe.py" --sni tls.example.test \
	    "10.2.0.7:$port" "$@" 2>&1
}
for p in 8443 8444; do
	is "$(probe $p 0xc02b)" "accepted 0xc02b" \
	    ":$p, hand-made hello: ECDHE-ECDSA-AES128-GCM-SHA256 accepted (control)"
done
while read -r what suites; do
	out=$(probe 8443 $suites)
	like "$out" '^(alert|closed)' "inspected, hand-made hello: $what suites refused ($out)"
	diag "the origin directly: $what $(probe 8444 $suites)"
done <<'EOF'
RC4 0x0004 0x0005 0xc007 0xc011
3DES 0x000a 0x0016 0xc008 0xc012
EXPORT 0x0003 0x0006 0x0008 0x0014 0x0062 0x0064
NULL 0x0001 0x0002 0x003b 0xc006 0xc010
CBC-SHA1 0xc009 0xc00a 0xc013 0xc014 0x002f 0x0035
EOF

done_testing
