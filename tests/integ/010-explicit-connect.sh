#!/bin/bash
# 010-explicit-connect: CONNECT tunnels through the explicit proxy (issue
# #2): names, IPv4 and [IPv6] literals, both listeners, a 20 MB HTTPS body
# intact, the origin's own certificate, half-close, the flow.end line, and
# byte counters that count what reached the other side.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
sluiced_start '
set connect-ports 443,7000
set log-allowed on
rule no-denied deny domain denied.example.test
rule lab-names splice domain *.example.test
rule lab-v4 splice ip 10.2.0.0/24
rule lab-v6 splice ip fd00:2::/64
default deny
'

# --- 20 MB over HTTPS through CONNECT, by name --------------------------
out=$(pcurl -o "$T/big.out" -w '%{http_code} %{http_connect} %{local_port}' \
    https://www.example.test/big.bin)
read -r code connect port <<<"$out"
is "$connect" "200" "CONNECT www.example.test:443 answered 200"
is "$code" "200" "HTTPS GET through the tunnel answered 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "20 MB body through the tunnel: sha256 matches"
flowlog_expect "flow.end logged for the 20 MB tunnel" "cli=10.1.0.2:$port" \
    event=flow.end mode=explicit method=CONNECT host=www.example.test \
    'dst~^(10\.2\.0\.2|\[fd00:2::2\]):443$' action=splice rule=lab-names status=200 \
    'down>=20971520' 'down<=21100000' 'up>=200' 'up<=20000' 'ms>=0' 'term~^[A-Z]{2}$'

# --- the client sees the origin's certificate (splice, no inspection) ---
out=$(in_cli timeout 20 openssl s_client -proxy 10.1.0.1:3128 \
    -connect www.example.test:443 -servername www.example.test \
    -CAfile "$CA" -verify_return_error </dev/null 2>&1)
like "$out" 'Verify return code: 0 \(ok\)' "openssl s_client through CONNECT verifies against the test CA"
like "$out" 'issuer=CN ?= ?sluice integration test CA' "openssl s_client sees the origin's issuer"

# --- IPv4 and IPv6 literals ----------------------------------------------
out=$(pcurl -o "$T/hello" -w '%{http_connect} %{local_port}' https://10.2.0.3/hello)
read -r connect port <<<"$out"
is "$connect $(cat "$T/hello")" "200 hello from www.example.test" "CONNECT 10.2.0.3:443 (IPv4 literal)"
flowlog_expect "flow.end for the IPv4 literal" "cli=10.1.0.2:$port" \
    event=flow.end method=CONNECT host=10.2.0.3 dst=10.2.0.3:443 rule=lab-v4
out=$(pcurl -g -o "$T/hello" -w '%{http_connect} %{local_port}' 'https://[fd00:2::2]/hello')
read -r connect port <<<"$out"
is "$connect $(cat "$T/hello")" "200 hello from www.example.test" "CONNECT [fd00:2::2]:443 (IPv6 literal)"
flowlog_expect "flow.end for the IPv6 literal" "cli=10.1.0.2:$port" \
    event=flow.end method=CONNECT 'host~^\[?fd00:2::2\]?$' \
    'dst=[fd00:2::2]:443' rule=lab-v6

# --- a name with only an AAAA record -------------------------------------
out=$(pcurl -o "$T/hello" -w '%{http_connect} %{local_port}' https://v6only.example.test/hello)
read -r connect port <<<"$out"
is "$connect $(cat "$T/hello")" "200 hello from www.example.test" "CONNECT to a name with only AAAA"
flowlog_expect "flow.end for the AAAA-only name" "cli=10.1.0.2:$port" \
    event=flow.end host=v6only.example.test 'dst=[fd00:2::2]:443'

# --- the IPv6 listener ---------------------------------------------------
out=$(in_cli curl -sS --max-time 20 -g --proxy "$PROXY6" --cacert "$CA" \
    -o "$T/hello" -w '%{http_connect} %{local_port}' https://www.example.test/hello)
read -r connect port <<<"$out"
is "$connect $(cat "$T/hello")" "200 hello from www.example.test" "CONNECT through the [fd00:1::1]:3128 listener"
flowlog_expect "flow.end for the client on the IPv6 listener" \
    "cli=[fd00:1::2]:$port" event=flow.end host=www.example.test

# --- opaque bytes both ways, with half-close ------------------------------
# The client sends 1 MiB and shuts down its sending side; the echo server
# sees EOF only if the proxy propagates it, answers the rest and closes.
head -c 1048576 /dev/urandom >"$T/blob"
in_cli timeout 30 "$PY" "$PYDIR/rawc.py" --proxy 10.1.0.1:3128 \
    --connect echo.example.test:7000 10.2.0.4:7000 <"$T/blob" >"$T/blob.back" 2>"$T/rawc.err"
is "$?" "0" "1 MiB echo through CONNECT ends cleanly after the client's half-close"
is "$(sha256_of "$T/blob.back")" "$(sha256_of "$T/blob")" "1 MiB echoed through the tunnel unchanged"
flowlog_expect "flow.end for the echo tunnel counts bytes both ways" \
    "host=echo.example.test" event=flow.end dst=10.2.0.4:7000 \
    'up>=1048576' 'up<=1049000' 'down>=1048576' 'down<=1049000'

# --- several tunnels at once ---------------------------------------------
par=""
for i in 1 2 3 4 5 6 7 8; do
	head -c 200000 /dev/urandom >"$T/par$i"
	in_cli timeout 30 "$PY" "$PYDIR/rawc.py" --proxy 10.1.0.1:3128 \
	    --connect 10.2.0.4:7000 10.2.0.4:7000 <"$T/par$i" >"$T/par$i.back" 2>/dev/null &
	par="$par $!"
done
PIDS="$PIDS $par"
wait $par
n=0
for i in 1 2 3 4 5 6 7 8; do
	cmp -s "$T/par$i" "$T/par$i.back" && n=$((n + 1))
done
is "$n" "8" "8 concurrent tunnels each echo their own 200 kB"

# --- byte counters count what reached the other side ----------------------
# The server sends 8 MiB at once; the client reads nothing, so the tunnel
# fills (its socket buffers, the proxy's pipe) and stalls until
# idle-timeout closes it.  The client then reads what was written to its
# socket before the close: `down` must be exactly that, not what the
# proxy read from the server (bytes left in the pipe never arrive).
tcp_server_start flood flood@10.2.0.4:7001
sluiced_reload '
set connect-ports 443,7000,7001
set log-allowed on
set idle-timeout 2s
rule lab-v4 splice ip 10.2.0.0/24
default deny
'
flood_allowed() { [ "$(connect_status 10.2.0.4:7001)" = 200 ]; }
wait_for 5 flood_allowed
in_cli timeout 30 "$PY" "$PYDIR/rawc.py" --proxy 10.1.0.1:3128 \
    --connect 10.2.0.4:7001 --read-after 5 10.2.0.4:7001 </dev/null \
    >"$T/flood.back" 2>"$T/rawc.err"
got=$(stat -c %s "$T/flood.back")
check "[ $got -gt 0 ] && [ $got -lt 8388608 ]" \
    "the stalled tunnel delivered part of the 8 MiB ($got bytes)"
flowlog_expect "flow.end of the stalled tunnel: down = the bytes the client got" \
    "dst=10.2.0.4:7001 reason=idle_timeout" event=flow.end "down=$got" 'up=0'

flowlog_valid
done_testing
