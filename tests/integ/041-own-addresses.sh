#!/bin/bash
# 041-own-addresses: the appliance's own addresses are tracked as they
# change (issue 12 item 5).  A service of the gateway's own listens on
# [::]:9000 in gw.  Addresses added while sluiced runs (10.1.0.77,
# fd00:1::77, a tentative fd00:1::78, a burst of 200) are refused at once
# by guard:local (explicit GET and CONNECT, a request on a kept-alive
# connection opened before the change, requests sent the moment their
# address appears, a transparent flow an admin's rule sends there; a
# redirect to a listener's port is a loop), and an address
# removed (10.1.0.66, present at start) is no longer treated as the
# appliance's.  sluiced runs as nobody: the subscription outlives the
# privilege drop.  Before the fix the addresses were read at start and on
# reload only, and GET http://10.1.0.77:9000/ reached the service.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
# An address gw has when sluiced starts, and loses later.
ip -n "$GW" addr add 10.1.0.66/24 dev g0
# The appliance's own service, IPv4 and IPv6 on one socket.
mkdir -p "$T/own" && echo appliance-internal >"$T/own/secret"
bg "$GW" own "$PY" -m http.server --bind :: --directory "$T/own" 9000
wait_listen "$GW" '*' 9000 ||
    setup_fail "the gateway's own service did not start" "$(cat "$T/own.log")"

# shellcheck disable=SC2034  # read by sluiced_start in lib.sh
SLUICED_OPTS="-o user=nobody"
transparent_start '
set connect-timeout 1s
set log-allowed on
default splice
'

# send REQUEST-LINE HOST: one request through the explicit proxy; sets
# STATUS and PORT (the client's port).
send() {
	in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
	    "$1 HTTP/1.1\\r\\nHost: $2\\r\\n\\r\\n" >"$T/resp" 2>&1
	read -r STATUS PORT <"$T/resp"
}

# guarded DESC ADDR [HOSTPORT]: GET http://HOSTPORT/secret through the
# proxy is 403 guard:local.
guarded() {
	send "GET http://${3:-$2:9000}/secret" "${3:-$2:9000}"
	is "$STATUS" "403" "$1: GET of the service at $2 is refused 403"
	flowlog_expect "$1: flow.blocked guard:local" "cli=10.1.0.2:$PORT" \
	    event=flow.blocked method=GET rule=guard:local reason=local \
	    status=403
}

# secrets: requests the gateway's own service answered.
secrets() { grep -c 'GET /secret' "$T/own.log"; }

# logged WORD ADDR: sluiced says so in its log (through wait_for).
# shellcheck disable=SC2317  # called by name from check
logged() {
	grep -q "own address $1: $2 " "$T/sluiced.err"
}

# --- at start -------------------------------------------------------------
guarded "start, 10.1.0.1" 10.1.0.1
guarded "start, fd00:1::1" fd00:1::1 '[fd00:1::1]:9000'
guarded "start, 10.1.0.66" 10.1.0.66
out=$(in_cli curl -sS --max-time 10 --proxy "$PROXY4" http://10.2.0.2/hello 2>&1)
is "$out" "hello from www.example.test" "a request elsewhere is served"

# A connection kept alive from before the change: a request now, one later.
bg "$CLI" keep "$PY" "$PYDIR/hfclient.py" talk --proxy 10.1.0.1:3128 \
    --timeout 30 \
    'send:GET http://10.2.0.2/hello?keep HTTP/1.1\r\nHost: 10.2.0.2\r\n\r\n' \
    read sleep:4 \
    'send:GET http://10.1.0.77:9000/secret HTTP/1.1\r\nHost: 10.1.0.77:9000\r\n\r\n' \
    read
keep_pid=$BG_PID
check "wait_for 5 grep -q 'hello?keep' '$T/nginx/access.log'" \
    "the kept-alive connection's first request was served"

# --- addresses added ------------------------------------------------------
ip -n "$GW" addr add 10.1.0.77/24 dev g0
ip -n "$GW" addr add fd00:1::77/64 dev g0 nodad
check "wait_for 3 logged added 10.1.0.77" "sluiced logs 'own address added: 10.1.0.77'"
check "wait_for 3 logged added fd00:1::77" "sluiced logs 'own address added: fd00:1::77'"
guarded "added, 10.1.0.77" 10.1.0.77
guarded "added, fd00:1::77" fd00:1::77 '[fd00:1::77]:9000'
send "CONNECT 10.1.0.77:443" "10.1.0.77:443"
is "$STATUS" "403" "added: CONNECT 10.1.0.77:443 is refused 403"
flowlog_expect "added: the CONNECT is flow.blocked guard:local" \
    "cli=10.1.0.2:$PORT" event=flow.blocked method=CONNECT \
    rule=guard:local reason=local

wait "$keep_pid"
read -r kport kreads _ <"$T/keep.log"
kport=${kport#port=}
like "$kreads" '^reads=200:hello_from_www.example.test@[0-9]+,403:' \
    "a connection kept alive from before: its request to 10.1.0.77 is refused 403"
flowlog_expect "the kept-alive connection's request: flow.blocked guard:local" \
    "cli=10.1.0.2:$kport host=10.1.0.77" event=flow.blocked rule=guard:local \
    reason=local

# --- no window: each request follows its address's arrival at once --------
# From gw itself, so that nothing slower than the kernel's notification
# stands between `ip addr add` and the request (run the main thread's
# event loop alone and about half of these get through).
out=$(in_gw "$PY" "$PYDIR/addrrace.py" --proxy 10.1.0.1:3128 --dev g0 \
    --prefix 10.1.3 100 2>&1)
is "$out" "403=100" \
    "100 requests sent the moment their address was added: all refused"

# --- transparent: an admin's rule sends cli's flows to the new address to
# sluiced's transparent port; the original destination is the new address.
in_gw nft -f - <<'EOF' || setup_fail "nft: the administrator's redirect"
table inet admin {
	chain prerouting {
		type nat hook prerouting priority dstnat - 10; policy accept;
		iifname "g0" ip daddr 10.1.0.77 tcp dport { 3128, 9000 } dnat ip to 10.1.0.1:3129
		iifname "g0" ip6 daddr fd00:1::77 tcp dport 9000 dnat ip6 to [fd00:1::1]:3129
	}
}
EOF
tp_curl http://10.1.0.77:9000/secret
is "$CODE" "403" "transparent HTTP to 10.1.0.77:9000: refused 403"
flowlog_expect "transparent: flow.blocked guard:local" \
    "cli=10.1.0.2:${CPORT:-none}" event=flow.blocked mode=transparent \
    dst=10.1.0.77:9000 rule=guard:local reason=local
tp_curl 'http://[fd00:1::77]:9000/secret'
is "$CODE" "403" "transparent HTTP to [fd00:1::77]:9000: refused 403"
flowlog_expect "transparent IPv6: flow.blocked guard:local" \
    "cli=[fd00:1::2]:${CPORT:-none}" event=flow.blocked mode=transparent \
    'dst=[fd00:1::77]:9000' rule=guard:local reason=local
out=$(in_cli timeout 30 "$PY" "$PYDIR/tpclient.py" --opaque --then echo \
    10.1.0.77:3128 2>&1)
port=${out##* port=}
like "${out% port=*}" '^(reset|closed)$' \
    "transparent flow to sluiced's listener port at 10.1.0.77: refused"
flowlog_expect "that one is a loop" "cli=10.1.0.2:$port" event=flow.blocked \
    mode=transparent dst=10.1.0.77:3128 reason=loop
in_gw nft delete table inet admin

# --- IPv6 duplicate address detection: a tentative address is ours ------
in_gw sysctl -qw net.ipv6.conf.g0.accept_dad=1
in_gw sysctl -qw net.ipv6.conf.g0.dad_transmits=5
ip -n "$GW" addr add fd00:1::78/64 dev g0
check "wait_for 3 logged added fd00:1::78" "sluiced logs the tentative fd00:1::78"
guarded "tentative, fd00:1::78" fd00:1::78 '[fd00:1::78]:9000'
like "$(ip -n "$GW" -6 addr show dev g0 to fd00:1::78/128)" 'tentative' \
    "fd00:1::78 was still tentative (duplicate address detection running)"

# --- a burst: 200 addresses at once, then gone ----------------------------
# Notifications come in order: once sluiced logs the marker added after
# the burst, it has read every address of the burst too.
for i in $(seq 1 200); do
	echo "addr add 10.3.$((i / 100)).$((i % 100 + 1))/32 dev g1"
done >"$T/burst.add"
sed 's/^addr add/addr del/' "$T/burst.add" >"$T/burst.del"
ip -n "$GW" -batch "$T/burst.add"
ip -n "$GW" addr add 10.1.0.88/24 dev g0
check "wait_for 3 logged added 10.1.0.88" "the marker after the burst is logged"
guarded "burst, 10.3.2.1" 10.3.2.1 10.3.2.1:9000
guarded "burst, 10.3.0.2" 10.3.0.2 10.3.0.2:9000

# --- addresses removed ----------------------------------------------------
ip -n "$GW" -batch "$T/burst.del"
ip -n "$GW" addr del 10.1.0.66/24 dev g0
ip -n "$GW" addr del 10.1.0.77/24 dev g0
ip -n "$GW" addr del 10.1.0.88/24 dev g0
check "wait_for 3 logged removed 10.1.0.66" "sluiced logs 'own address removed: 10.1.0.66'"
check "wait_for 3 logged removed 10.1.0.77" "sluiced logs 'own address removed: 10.1.0.77'"
check "wait_for 3 logged removed 10.1.0.88" "the marker's removal is logged"
# 10.3.2.1 has no route now: the connect fails at once, not the guard.
send "GET http://10.3.2.1:9000/secret" "10.3.2.1:9000"
is "$STATUS" "502" "removed: 10.3.2.1 (burst) is not refused as the appliance's"
flowlog_expect "removed: the burst's address, flow.error unreachable" \
    "cli=10.1.0.2:$PORT" event=flow.error action=splice rule=default \
    reason=unreachable
# Nobody has 10.1.0.66 now: the connection fails (ARP), and that is all.
send "GET http://10.1.0.66:9000/secret" "10.1.0.66:9000"
like "$STATUS" '^50[24]$' "removed: 10.1.0.66 is not refused as the appliance's ($STATUS)"
flowlog_expect "removed: flow.error, no guard" "cli=10.1.0.2:$PORT" \
    event=flow.error action=splice rule=default \
    'reason=connect_timeout || reason=unreachable'
guarded "still ours, 10.1.0.1" 10.1.0.1
guarded "still ours, fd00:1::77" fd00:1::77 '[fd00:1::77]:9000'

is "$(secrets)" "0" "the gateway's own service never saw a request"
flowlog_valid
done_testing
