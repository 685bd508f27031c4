#!/bin/bash
# 030-websocket: WebSocket through the explicit proxy (issue #2): ws:// as an
# absolute-URI upgrade (101, then a tunnel) and wss:// inside CONNECT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
sluiced_start '
set connect-ports 443,8443
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'

out=$(in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy 10.1.0.1:3128 \
    --count 10 --size 200000 ws://www.example.test:8080/echo 2>&1)
like "$out" '^echoed 20 messages$' "ws:// echo through the proxy (absolute-URI upgrade, 20 messages up to 200 kB)"
port=$(printf '%s\n' "$out" | sed -n 's/^local port //p')
flowlog_expect "flow.end for the ws:// flow" "cli=10.1.0.2:${port:-none}" \
    event=flow.end mode=explicit method=GET host=www.example.test \
    dst=10.2.0.2:8080 action=splice rule=lab-names status=101 \
    'up>=2000000' 'down>=2000000'

out=$(in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy 10.1.0.1:3128 \
    --cacert "$CA" --count 10 --size 200000 wss://www.example.test:8443/echo 2>&1)
like "$out" '^echoed 20 messages$' "wss:// echo through CONNECT (TLS to the origin, 20 messages)"
port=$(printf '%s\n' "$out" | sed -n 's/^local port //p')
flowlog_expect "flow.end for the wss:// tunnel" "cli=10.1.0.2:${port:-none}" \
    event=flow.end method=CONNECT host=www.example.test dst=10.2.0.2:8443 \
    action=splice rule=lab-names status=200 'up>=2000000' 'down>=2000000'

# The same through the IPv6 listener.
out=$(in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy '[fd00:1::1]:3128' \
    --count 2 --size 1000 ws://www.example.test:8080/v6 2>&1)
like "$out" '^echoed 4 messages$' "ws:// echo through the IPv6 listener"

# Several WebSocket connections at once, both kinds.
par=""
for i in 1 2 3 4; do
	in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy 10.1.0.1:3128 \
	    --count 5 --size 50000 ws://www.example.test:8080/p$i >"$T/ws$i.out" 2>&1 &
	par="$par $!"
	in_cli timeout 60 "$PY" "$PYDIR/wsclient.py" --proxy 10.1.0.1:3128 \
	    --cacert "$CA" --count 5 --size 50000 wss://www.example.test:8443/p$i \
	    >"$T/wss$i.out" 2>&1 &
	par="$par $!"
done
PIDS="$PIDS $par"
wait $par
is "$(cat "$T"/ws[1-4].out "$T"/wss[1-4].out | grep -c '^echoed 10 messages$')" "8" \
    "8 concurrent WebSocket connections (4 ws, 4 wss) all echo"

flowlog_valid
done_testing
