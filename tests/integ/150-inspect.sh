#!/bin/bash
# 150-inspect: TLS inspection over HTTP/1.1 (issue 13).  The appliance CA
# from `sluicectl ca init`; origins verified against the test CA.  curl
# trusting the appliance CA gets inspected HTTPS (explicit and
# transparent, 20 MB intact), the certificate it sees is minted by the
# appliance CA while a spliced destination shows the origin's; url rules
# apply inside the session, a Host naming another host is decided for that
# host; a no-SNI hello to an address is inspected with the IP in the leaf;
# TLS that is not HTTP is relayed inside both sessions; a WebSocket
# (1,000 messages) passes; bad SNIs are refused with nothing minted; a
# client that does not trust the CA is logged client_rejected_mitm; the
# client side refuses TLS 1.1; a reload replaces the CA while an inspected
# session keeps working.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
# A TLS server that is not HTTP: lines come back reversed.
bg "$SRV" revtls openssl s_server -quiet -rev -accept 10.2.0.2:8449 \
    -cert "$T/srv.crt" -key "$T/srv.key"
wait_listen "$SRV" 10.2.0.2 8449 || setup_fail "openssl s_server -rev"

mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
transparent_start "
set transparent-tcp-ports 443,8449,8450
set connect-ports 443,8443
set peek-timeout 2s
set log-allowed on
set upstream-ca-bundle $CA
rule wl splice domain other.example.test
rule deny-secret deny url www.example.test/secret
rule deny-denied deny domain denied.example.test
default inspect
"
P="--proxy http://10.1.0.1:3128"

# icurl ARGS...: curl in cli trusting the appliance CA only; prints
# "CODE LOCAL-PORT".
icurl() {
	in_cli curl -sS --max-time 30 --cacert "$ACA" \
	    -w '%{http_code} %{local_port}' "$@" 2>"$T/curl.err"
}

# issuer ARGS...: the issuer and SAN of the certificate openssl s_client
# gets (ARGS: where and how), one line each.
issuer() {
	in_cli timeout 10 openssl s_client -showcerts "$@" </dev/null \
	    2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName \
	    2>/dev/null | tr -s ' ' | tr '\n' ' '
}

# --- explicit: inspected, then what the client sees ----------------------
read -r code port <<<"$(icurl $P -o "$T/hello.out" https://www.example.test/hello)"
is "$code $(cat "$T/hello.out")" "200 hello from www.example.test" \
    "explicit: curl trusting only the appliance CA gets the origin's page"
flowlog_expect "logged as an inspected request" \
    "cli=10.1.0.2:$port event=flow.request" mode=explicit method=GET \
    host=www.example.test path=/hello sni=www.example.test action=inspect \
    rule=default status=200 'dst~:443$'

read -r code port <<<"$(icurl $P -o "$T/big.out" https://www.example.test/big.bin)"
is "$code $(sha256_of "$T/big.out")" "200 $BIG_SHA" \
    "explicit: 20 MB through inspection, sha256 intact"
read -r code port <<<"$(icurl $P -H 'Connection: close' -o "$T/big.out" \
    https://www.example.test/big.bin)"
is "$code $(sha256_of "$T/big.out")" "200 $BIG_SHA" \
    "explicit: 20 MB, the origin closing after it: all of it arrives first"

# Connection: close: the response, then close_notify (a clean end, which
# Python's ssl tells from a bare FIN: SSLEOFError).
cat >"$T/close.py" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF    # Python sets it by default
s = socket.create_connection(("10.2.0.2", 443), timeout=20)
t = ctx.wrap_socket(s, server_hostname="www.example.test")
t.sendall(b"GET /hello HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n")
got = b""
try:
    while True:
        d = t.recv(65536)
        if not d:
            break
        got += d
    end = "close_notify"
except ssl.SSLEOFError:
    end = "bare FIN"
print(got.split(b"\r\n")[0].decode(), got.endswith(b"hello from www.example.test\n"), end)
PY
out=$(in_cli timeout 30 "$PY" "$T/close.py" "$ACA" 2>&1)
is "$out" "HTTP/1.1 200 OK True close_notify" \
    "Connection: close through inspection: the response, then close_notify"

out=$(issuer -proxy 10.1.0.1:3128 -connect www.example.test:443 \
    -servername www.example.test)
like "$out" 'issuer=CN ?= ?sluice test inspection CA' \
    "inspected: the certificate s_client sees is issued by the appliance CA"
like "$out" 'DNS:www.example.test, DNS:\*.example.test, IP Address:10.2.0.2' \
    "inspected: its names are the origin's SAN, copied ($out)"
out=$(issuer -proxy 10.1.0.1:3128 -connect other.example.test:443 \
    -servername other.example.test)
like "$out" 'issuer=CN ?= ?sluice integration test CA' \
    "spliced: s_client sees the origin's own certificate"

read -r code port <<<"$(icurl $P -o "$T/ip.out" https://10.2.0.2/hello)"
is "$code $(cat "$T/ip.out")" "200 hello from www.example.test" \
    "CONNECT to an address (no SNI): inspected, the leaf verified for the IP"
flowlog_expect "logged inspected, by address" "cli=10.1.0.2:$port event=flow.request" \
    host=10.2.0.2 action=inspect status=200

# --- url rules and names inside the session -------------------------------
read -r code port <<<"$(icurl $P -o "$T/secret.out" https://www.example.test/secret)"
is "$code" 403 "a denied url inside an inspected session: 403"
like "$(cat "$T/secret.out")" "denied by rule 'deny-secret'" "the page names the rule"
flowlog_expect "flow.blocked names the rule" "cli=10.1.0.2:$port event=flow.blocked" \
    host=www.example.test path=/secret rule=deny-secret action=deny status=403
read -r code port <<<"$(icurl $P -o /dev/null -H 'Host: denied.example.test' \
    https://www.example.test/hello)"
is "$code" 403 "Host naming a denied host on www's session: 403 (domain fronting)"
flowlog_expect "decided for the inner name" "cli=10.1.0.2:$port event=flow.blocked" \
    host=denied.example.test rule=deny-denied sni=www.example.test

# --- transparent ----------------------------------------------------------
read -r code port <<<"$(icurl --resolve www.example.test:443:10.2.0.2 \
    -o "$T/big.out" https://www.example.test/big.bin)"
is "$code $(sha256_of "$T/big.out")" "200 $BIG_SHA" \
    "transparent: 20 MB through inspection, sha256 intact"
flowlog_expect "logged inspected" "cli=10.1.0.2:$port event=flow.request" \
    mode=transparent host=www.example.test path=/big.bin action=inspect \
    rule=default status=200 dst=10.2.0.2:443
out=$(issuer -connect 10.2.0.3:443 -noservername)
like "$out" 'issuer=CN ?= ?sluice test inspection CA' \
    "no SNI to a non-whitelisted address: inspected, not spliced"
like "$out" 'IP Address:10.2.0.3' "the leaf carries the address ($out)"
flowlog_expect "logged inspected, no sni" "dst=10.2.0.3:443 event=flow.end" \
    mode=transparent proto=tls action=inspect rule=default

# 2,000 lines; every one comes back reversed.  (Not ended by the
# client's FIN: s_server resets on it, which loses what is in flight
# going direct too.)
cat >"$T/rev.py" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
t = ctx.wrap_socket(socket.create_connection(("10.2.0.2", 8449), timeout=20),
                    server_hostname="www.example.test")
lines = ["line %05d " % i + "x" * 40 for i in range(2000)]
t.sendall(("\n".join(lines) + "\n").encode())
got = b""
try:
    while got.count(b"\n") < len(lines):
        d = t.recv(65536)
        if not d:
            break
        got += d
except (ssl.SSLError, OSError) as e:
    print("error", e)
back = got.decode().split("\n")
print("lines", sum(1 for i, l in enumerate(lines) if i < len(back) and back[i] == l[::-1]))
PY
out=$(in_cli timeout 30 "$PY" "$T/rev.py" "$ACA" 2>&1)
is "$out" "lines 2000" "TLS that is not HTTP: relayed inside both sessions, every line back"
flowlog_expect "logged inspected" "dst=10.2.0.2:8449 event=flow.end" \
    mode=transparent sni=www.example.test action=inspect 'up>=100000' 'down>=100000'

# A fast origin, a client that does not read for 2 s: sluiced holds about
# relay-buffer (64k) per direction, not what the origin sent (its records
# under a TLS filter half counted too); then all 32 MiB arrive, in order.
cat >"$T/flood.py" <<'PY'
import hashlib, socket, ssl, sys, threading
mode = sys.argv[1]
blk = bytes(range(256)) * 256          # 64 KiB
if mode == "server":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    ls = socket.create_server(("10.2.0.2", 8450))
    def serve(c):
        try:
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(100)
            for _ in range(512):
                t.sendall(blk)
        except OSError:
            pass
        c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
else:
    import os, time
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    t = ctx.wrap_socket(socket.create_connection(("10.2.0.2", 8450), timeout=30),
                        server_hostname="www.example.test")
    t.sendall(b"go\n")
    open(sys.argv[3], "w").close()
    time.sleep(2)
    h, n = hashlib.sha256(), 0
    try:
        while True:
            d = t.recv(1 << 20)
            if not d:
                break
            h.update(d); n += len(d)
    except (ssl.SSLError, OSError) as e:
        print("error", e)
    want = hashlib.sha256(blk * 512).hexdigest()
    print(n, "intact" if h.hexdigest() == want else "differs")
PY
bg "$SRV" flood "$PY" "$T/flood.py" server "$T/srv.crt" "$T/srv.key"
wait_listen "$SRV" 10.2.0.2 8450 || setup_fail "TLS flood server"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$SLUICED_PID/status"; }
r0=$(rss)
rm -f "$T/flood.go"
in_cli timeout 60 "$PY" "$T/flood.py" client "$ACA" "$T/flood.go" >"$T/flood.out" 2>&1 &
FPID=$!
wait_for 10 test -e "$T/flood.go"
sleep 1.5
growth=$(( $(rss) - r0 ))
wait "$FPID"
is "$(cat "$T/flood.out")" "33554432 intact" "32 MiB from a fast origin to a slow client, inspected, intact"
check "test $growth -lt 4096" \
    "sluiced held little of it meanwhile (VmRSS +$growth KiB < 4096)"

out=$(in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy 10.1.0.1:3128 \
    --cacert "$ACA" --count 500 --size 200 wss://www.example.test:8443/echo 2>&1)
like "$out" 'echoed 1000 messages' "WSS through an inspected session: 1,000 messages echoed"
flowlog_expect "the upgrade logged inspected" "host=www.example.test dst=10.2.0.2:8443 event=flow.request" \
    action=inspect status=101

# --- client-facing protocol -----------------------------------------------
out=$(in_cli timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    -connect 10.2.0.2:443 -servername www.example.test </dev/null 2>&1)
unlike "$out" 'BEGIN CERTIFICATE|Cipher is [A-Z]' "TLS 1.1 towards sluice: refused"
out=$(in_cli timeout 10 openssl s_client -tls1_2 -cipher 'AES128-SHA' \
    -connect 10.2.0.2:443 -servername www.example.test </dev/null 2>&1)
unlike "$out" 'Cipher is AES128-SHA' "a non-ECDHE CBC cipher: refused"
like "$out" 'alert handshake failure' "with a handshake_failure alert, as an origin would send"
flowlog_expect "logged client_tls_refused (the client's weakness, not a pin)" \
    "reason=client_tls_refused" event=flow.end sni=www.example.test \
    detail='handshake failure'
read -r code port <<<"$(icurl --tls-max 1.2 --resolve www.example.test:443:10.2.0.2 \
    -o /dev/null https://www.example.test/hello)"
is "$code" 200 "a TLS 1.2-only client to an origin that has TLS 1.3: inspected, on TLS 1.2"

# --- bad SNIs: refused, nothing minted -----------------------------------
for sni in 'a b.example.test' 'a"b.example.test' 'a\\b.example.test' \
    '\x01a.example.test' 'a..example.test'; do
	n0=$(flowlog_count 'reason=bad_sni')
	out=$(in_cli timeout 10 "$PY" "$PYDIR/tlshello.py" --sni-bytes "$sni" \
	    --then tls --cafile "$ACA" 10.2.0.2:443 2>&1)
	unlike "$out" 'tls-ok' "SNI '$sni': no TLS session"
	wait_for 5 test "$(flowlog_count 'reason=bad_sni')" -gt "$n0"
	is "$(flowlog_count 'reason=bad_sni')" "$((n0 + 1))" "SNI '$sni': logged bad_sni"
done
unlike "$(cat "$T/sluiced.err")" 'cannot mint' "nothing minted for them"

# --- a client that does not trust the CA ----------------------------------
in_cli curl -sS --max-time 30 --cacert "$CA" $P -o /dev/null \
    https://www.example.test/hello 2>"$T/curl.err"
is "$?" 60 "curl without the appliance CA refuses the minted certificate (exit 60)"
flowlog_expect "logged client_rejected_mitm with the alert" \
    "reason=client_rejected_mitm" event=flow.end host=www.example.test \
    sni=www.example.test 'detail~unknown CA'

# --- reload: a new CA, an established session keeps working ---------------
cat >"$T/keep.py" <<'PY'
import http.client, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[1])
c = http.client.HTTPSConnection("10.1.0.1", 3128, context=ctx, timeout=20)
c.set_tunnel("www.example.test", 443)
for i in range(2):
    c.request("GET", "/hello")
    r = r = c.getresponse()
    print(r.status, r.read().decode().strip(), flush=True)
    if i == 0:
        open(sys.argv[2], "w").close()
        for _ in range(100):
            time.sleep(0.1)
            try:
                open(sys.argv[3]).close()
                break
            except OSError:
                pass
PY
rm -f "$T/k1" "$T/k2"
in_cli timeout 40 "$PY" "$T/keep.py" "$ACA" "$T/k1" "$T/k2" >"$T/keep.out" 2>&1 &
KPID=$!
wait_for 10 test -e "$T/k1"
cp "$ACA" "$T/ca-old.pem"
"$BUILD/sluicectl" ca init --force --dir "$T/state" --cn "sluice test inspection CA 2" \
    >"$T/ca2.out" 2>&1
is "$?" 0 "a new CA made with sluicectl ca init --force"
n0=$(grep -c 'reload' "$T/sluiced.err")
kill -HUP "$SLUICED_PID"
wait_for 10 test "$(grep -c 'reload' "$T/sluiced.err")" -gt "$n0"
out=$(issuer -proxy 10.1.0.1:3128 -connect www.example.test:443 \
    -servername www.example.test)
like "$out" 'issuer=CN ?= ?sluice test inspection CA 2' \
    "after the reload, new sessions get leaves from the new CA"
touch "$T/k2"
wait "$KPID"
is "$(cat "$T/keep.out" | tr '\n' '|')" \
    "200 hello from www.example.test|200 hello from www.example.test|" \
    "a session inspected before the reload carries its next request after it"

done_testing
