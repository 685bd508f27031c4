#!/bin/bash
# 045-dns-pending: the event loop keeps serving while DNS lookups are
# pending (issue #2: "the loop never blocks on DNS").  dnsmasq forwards
# *.slow.test to the blackhole, so lookups of stall.slow.test hang until
# sluiced's dns-timeout.  With one worker (one loop for every flow),
# several CONNECTs and a GET to that name wait; meanwhile an established
# tunnel, an IP-literal CONNECT, a CONNECT and a GET by a name that
# resolves, and a GET by IP literal are all served, and only then do the
# pending ones end: 504 and a flow.error with reason dns_timeout.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by dns_start in lib.sh
DNS_EXTRA=--log-queries		# dnsmasq shows the query it forwarded
servers_up
DNS_TIMEOUT_MS=5000
sluiced_start "
set workers 1
set dns-timeout ${DNS_TIMEOUT_MS}ms
set dns-tries 1
set connect-ports 443,7000
set log-allowed on
rule lab-names splice domain *.example.test,*.slow.test
rule lab-v4 splice ip 10.2.0.0/24
default deny
"

# A tunnel established before the lookups start.
tunnel_open t1 echo.example.test:7000
is "$TUNNEL" "ready" "a CONNECT tunnel to the echo server is up"

# --- the lookups that hang ------------------------------------------------
NPEND=4
pend_pids=""
for i in $(seq 1 "$NPEND"); do
	bg "$CLI" "pend$i" "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
	    --timeout 20 'CONNECT stall.slow.test:443 HTTP/1.1\r\nHost: stall.slow.test:443\r\n\r\n'
	pend_pids="$pend_pids $BG_PID"
done
i=$((NPEND + 1))
bg "$CLI" "pend$i" "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
    --timeout 20 'GET http://stall.slow.test/x HTTP/1.1\r\nHost: stall.slow.test\r\n\r\n'
pend_pids="$pend_pids $BG_PID"
NPEND=$i

# cli_conns N: at least N established connections from cli to the proxy.
cli_conns() {
	[ "$(in_gw ss -Htn state established '( sport = :3128 )' | grep -c .)" \
	    -ge "$1" ]
}
check "wait_for 3 cli_conns $((NPEND + 1))" \
    "sluiced accepted the $NPEND waiting clients (and the tunnel)"
check "wait_for 3 grep -q 'forwarded stall.slow.test to 10.2.0.99' '$T/dnsmasq.log'" \
    "their lookup reached dnsmasq, which forwarded it to the blackhole"
nq=$(grep -c 'query\[[A-Z]*\] stall.slow.test' "$T/dnsmasq.log")
check "[ $nq -ge 1 ] && [ $nq -le 2 ]" \
    "the $NPEND lookups share one query (A and AAAA: $nq queries at dnsmasq)"

# --- meanwhile, everything else is served ---------------------------------
# Each bounded by 3 s, less than dns-timeout: were the loop blocked on the
# lookup, none of this would happen before the 504s.
t0=$(date +%s%N)
is "$(tunnel_cmd t1 'echo 100000')" "ok echo 100000" \
    "the established tunnel moves 100 kB both ways"
out=$(printf 'through a literal\n' | in_cli "$PY" "$PYDIR/rawc.py" --timeout 3 \
    --proxy 10.1.0.1:3128 --connect 10.2.0.4:443 10.2.0.4:443 2>&1)
is "$out" "through a literal" "CONNECT to an IP literal: tunnel and echo"
out=$(in_cli curl -sS --max-time 3 --proxy "$PROXY4" http://10.2.0.2/hello 2>&1)
is "$out" "hello from www.example.test" "plain HTTP GET to an IP literal"
out=$(in_cli curl -sS --max-time 3 --proxy "$PROXY4" \
    http://www.example.test/hello 2>&1)
is "$out" "hello from www.example.test" \
    "plain HTTP GET by a name that resolves (the same c-ares channel)"
out=$(in_cli curl -sS --max-time 3 --proxy "$PROXY4" --cacert "$CA" \
    https://other.example.test/hello 2>&1)
is "$out" "hello from www.example.test" \
    "HTTPS through CONNECT by another name that resolves"

diag "served in $((($(date +%s%N) - t0) / 1000000)) ms"

# ...and all that while the lookups were still pending.
pending=0
for i in $(seq 1 "$NPEND"); do
	[ -s "$T/pend$i.log" ] || pending=$((pending + 1))
done
is "$pending" "$NPEND" "the $NPEND waiting clients have no answer yet"
is "$(flowlog_count reason=dns_timeout)" "0" "no dns_timeout event yet"

# --- then the pending ones end: 504 and flow.error -------------------------
for pid in $pend_pids; do
	wait "$pid"
done
for i in $(seq 1 "$NPEND"); do
	read -r st port <"$T/pend$i.log"
	if [ "$i" -lt "$NPEND" ]; then
		m=CONNECT
	else
		m=GET
	fi
	is "$st" "504" "waiting client $i ($m stall.slow.test): 504"
	flowlog_expect "waiting client $i: flow.error dns_timeout, after dns-timeout" \
	    "cli=10.1.0.2:${port:-none}" event=flow.error method=$m \
	    host=stall.slow.test status=504 reason=dns_timeout \
	    "ms>=$((DNS_TIMEOUT_MS - 1000))"
done

# The loop is still fine afterwards.
is "$(tunnel_cmd t1 'echo 1000')" "ok echo 1000" "the tunnel still echoes"
out=$(in_cli curl -sS --max-time 3 --proxy "$PROXY4" http://10.2.0.2/hello 2>&1)
is "$out" "hello from www.example.test" "a new request is served"

flowlog_valid
done_testing
