#!/bin/bash
# 000-harness: the test network itself, without sluice.  Every other
# integration test relies on these servers answering as described in
# lib.sh; when one of them is broken this test says which, directly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up

# DNS: authoritative answers, NXDOMAIN, and a query that times out.
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 www.example.test A)" \
    "NOERROR 10.2.0.2" "dns: www.example.test A"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 www.example.test AAAA)" \
    "NOERROR fd00:2::2" "dns: www.example.test AAAA"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 nosuch.example.test A)" \
    "NXDOMAIN" "dns: a name that does not exist is NXDOMAIN"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 q.slow.test A 1.5)" \
    "TIMEOUT" "dns: a name under slow.test gets no answer"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 www.example.org A)" \
    "REFUSED" "dns: no upstream for names outside .test"

# nginx over HTTP, HTTPS (certificate from the test CA), IPv6.
got=$(in_cli curl -sS --max-time 20 --cacert "$CA" \
    --resolve www.example.test:443:10.2.0.2 \
    https://www.example.test/big.bin | sha256sum | cut -d' ' -f1)
is "$got" "$BIG_SHA" "nginx: 20 MB over HTTPS, sha256 matches"
is "$(in_cli curl -sS -g --max-time 5 --cacert "$CA" 'https://[fd00:2::2]/hello')" \
    "hello from www.example.test" "nginx: HTTPS over IPv6 to an IP literal"
got=$(in_cli curl -sS --max-time 10 -w '%{num_connects}+' \
    -o /dev/null http://10.2.0.3/hello -o /dev/null http://10.2.0.3/hello \
    -o /dev/null http://10.2.0.3/hello)
is "$((${got}0))" "1" "nginx: keep-alive (three requests, one connection)"
head -c 300000 /dev/urandom >"$T/up.bin"
in_cli curl -sS --max-time 10 -H 'Transfer-Encoding: chunked' -T - \
    http://10.2.0.2/dav/harness.bin <"$T/up.bin" >/dev/null
is "$(in_cli curl -sS --max-time 10 http://10.2.0.2/dav/harness.bin | sha256sum | cut -d' ' -f1)" \
    "$(sha256_of "$T/up.bin")" "nginx: chunked PUT stored and served back"
like "$(in_cli openssl s_client -connect 10.2.0.2:443 -servername www.example.test \
    -CAfile "$CA" -verify_return_error </dev/null 2>&1)" \
    'Verify return code: 0 \(ok\)' "openssl s_client verifies the origin against the test CA"

# WebSocket echo, both flavours, directly.
like "$(in_cli "$PY" "$PYDIR/wsclient.py" ws://10.2.0.2:8080/echo)" \
    '^echoed 10 messages$' "ws echo server"
like "$(in_cli "$PY" "$PYDIR/wsclient.py" --cacert "$CA" wss://10.2.0.2:8443/echo)" \
    '^echoed 10 messages$' "wss echo server"

# Raw TCP servers and the addresses that fail on purpose.
is "$(printf 'ping\n' | in_cli timeout 5 "$PY" "$PYDIR/rawc.py" 10.2.0.4:7000)" \
    "ping" "tcp echo on 10.2.0.4:7000"
is "$(printf 'ping6\n' | in_cli timeout 5 "$PY" "$PYDIR/rawc.py" '[fd00:2::4]:7000')" \
    "ping6" "tcp echo on [fd00:2::4]:7000"
like "$(printf 'GET / HTTP/1.1\r\nHost: head.example.test\r\n\r\n' |
    in_cli timeout 5 "$PY" "$PYDIR/rawc.py" 10.2.0.5:80)" \
    '^HTTP/1.1 200 OK' "head echo server on 10.2.0.5:80"
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe 10.2.0.2:81)" "refused" \
    "10.2.0.2:81 refuses connections"
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe --timeout 1 10.2.0.99:443)" "timeout" \
    "10.2.0.99 (blackhole) times out"
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe --timeout 1 '[fd00:2::99]:443')" "timeout" \
    "fd00:2::99 (IPv6 blackhole) times out"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 he.example.test AAAA)" \
    "NOERROR fd00:2::99" "dns: he.example.test AAAA is the IPv6 blackhole"
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe 10.2.0.98:443)" "unreachable" \
    "10.2.0.98 is host-unreachable"

done_testing
