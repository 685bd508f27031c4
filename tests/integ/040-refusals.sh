#!/bin/bash
# 040-refusals: every way the explicit proxy refuses, with its status and
# its flow log line (issue #2): denied destination 403 naming the rule,
# port not allowed 403, requests to the proxy itself 403, unreachable and
# refused upstream 502, connect timeout 504, NXDOMAIN 502, DNS timeout 504.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
sluiced_start '
set connect-ports 443,81,3128
set http-ports 80,81,3128,1025-65535
set connect-timeout 1s
set dns-timeout 500ms
set dns-tries 1
set log-allowed on
rule no-denied deny domain denied.example.test
rule lab-names splice domain *.example.test,*.slow.test
rule lab-v4 splice ip 10.2.0.0/24
default deny
'

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# send LINE [HOST]: one raw request (LINE is the request line) with a Host
# field; sets STATUS, PORT (client port), BODY (response body), MS.
send() {
	local t0 host=${2:-}
	[ -n "$host" ] || host=$(printf '%s' "$1" | awk '{ print $2 }' |
	    sed -e 's|^http://||' -e 's|/.*||')
	t0=$(ms_now)
	in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
	    "$1 HTTP/1.1\\r\\nHost: $host\\r\\n\\r\\n" >"$T/resp" 2>&1
	MS=$(($(ms_now) - t0))
	read -r STATUS PORT <"$T/resp"
	BODY=$(sed '1,/^\r$/d' "$T/resp")
}

# --- policy: denied destination, default, port ----------------------------
send "CONNECT denied.example.test:443"
is "$STATUS" "403" "CONNECT to a denied name: 403"
like "$BODY" 'no-denied' "the 403 body names the rule"
flowlog_expect "flow.blocked for the denied CONNECT" "cli=10.1.0.2:$PORT" \
    event=flow.blocked mode=explicit method=CONNECT host=denied.example.test \
    action=deny rule=no-denied reason=policy status=403 'ts?' 'flow?' term=PP

send "GET http://denied.example.test/x"
is "$STATUS" "403" "GET to a denied name: 403"
flowlog_expect "flow.blocked for the denied GET" "cli=10.1.0.2:$PORT" \
    event=flow.blocked method=GET host=denied.example.test action=deny \
    rule=no-denied reason=policy status=403 term=PP

send "CONNECT 10.9.9.9:443"
is "$STATUS" "403" "CONNECT to an address no rule allows: 403 (default deny)"
flowlog_expect "flow.blocked by the default" "cli=10.1.0.2:$PORT" \
    event=flow.blocked host=10.9.9.9 action=deny rule=default reason=policy \
    status=403

send "CONNECT www.example.test:22"
is "$STATUS" "403" "CONNECT to a port not in connect-ports: 403"
flowlog_expect "flow.blocked for the port" "cli=10.1.0.2:$PORT" \
    event=flow.blocked host=www.example.test status=403 action=deny \
    reason=port_not_allowed 'dst_port=22 || dst~:22$' term=PP

# --- no loops: the proxy's own listeners, loopback -----------------------
send "CONNECT 10.1.0.1:3128"
is "$STATUS" "403" "CONNECT to the proxy's own IPv4 listener: 403"
flowlog_expect "flow.blocked for the loop (IPv4)" "cli=10.1.0.2:$PORT" \
    event=flow.blocked status=403 rule=guard:local reason=local
send "CONNECT [fd00:1::1]:3128"
is "$STATUS" "403" "CONNECT to the proxy's own IPv6 listener: 403"
flowlog_expect "flow.blocked for the loop (IPv6)" "cli=10.1.0.2:$PORT" \
    event=flow.blocked status=403 rule=guard:local reason=local
send "GET http://10.1.0.1:3128/"
is "$STATUS" "403" "GET to the proxy's own listener: 403"
flowlog_expect "flow.blocked for the GET loop" "cli=10.1.0.2:$PORT" \
    event=flow.blocked method=GET status=403 rule=guard:local reason=local
send "CONNECT 127.0.0.1:443"
is "$STATUS" "403" "CONNECT to loopback: 403"
flowlog_expect "flow.blocked for loopback" "cli=10.1.0.2:$PORT" \
    event=flow.blocked status=403 rule=guard:loopback reason=loopback

# --- upstream failures ----------------------------------------------------
send "CONNECT unreach.example.test:443"
is "$STATUS" "502" "CONNECT to a host-unreachable address: 502"
flowlog_expect "flow.error for the unreachable upstream" "cli=10.1.0.2:$PORT" \
    event=flow.error host=unreach.example.test dst=10.2.0.98:443 status=502 \
    reason=unreachable term=SC

send "CONNECT www.example.test:81"
is "$STATUS" "502" "CONNECT to a port where nothing listens: 502"
flowlog_expect "flow.error for the refused connect" "cli=10.1.0.2:$PORT" \
    event=flow.error host=www.example.test status=502 reason=connect_refused
send "GET http://www.example.test:81/"
is "$STATUS" "502" "GET to a port where nothing listens: 502"
flowlog_expect "flow.error for the refused GET" "cli=10.1.0.2:$PORT" \
    event=flow.error method=GET status=502 reason=connect_refused term=SC

send "CONNECT blackhole.example.test:443"
is "$STATUS" "504" "CONNECT to a blackhole: 504"
check "[ $MS -ge 800 ] && [ $MS -le 5000 ]" "the 504 came after connect-timeout (1 s), took ${MS} ms"
flowlog_expect "flow.error for the connect timeout" "cli=10.1.0.2:$PORT" \
    event=flow.error host=blackhole.example.test dst=10.2.0.99:443 status=504 \
    reason=connect_timeout term=TC
send "GET http://blackhole.example.test/"
is "$STATUS" "504" "GET to a blackhole: 504"

# --- DNS failures ---------------------------------------------------------
send "CONNECT nosuch.example.test:443"
is "$STATUS" "502" "CONNECT to a name that does not exist: 502"
flowlog_expect "flow.error for NXDOMAIN" "cli=10.1.0.2:$PORT" \
    event=flow.error host=nosuch.example.test status=502 reason=dns_nxdomain term=SN
send "GET http://nosuch.example.test/"
is "$STATUS" "502" "GET to a name that does not exist: 502"

send "CONNECT q.slow.test:443"
is "$STATUS" "504" "CONNECT to a name whose DNS query times out: 504"
check "[ $MS -ge 400 ] && [ $MS -le 5000 ]" "the 504 came after dns-timeout (500 ms x 1), took ${MS} ms"
flowlog_expect "flow.error for the DNS timeout" "cli=10.1.0.2:$PORT" \
    event=flow.error host=q.slow.test status=504 reason=dns_timeout term=TN
send "GET http://r.slow.test/"
is "$STATUS" "504" "GET to a name whose DNS query times out: 504"

# --- and the proxy still serves -------------------------------------------
send "GET http://www.example.test/hello"
is "$STATUS $BODY" "200 hello from www.example.test" "a good request after all the refusals"

flowlog_valid
done_testing
