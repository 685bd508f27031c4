#!/bin/bash
# 095-daemon: the daemon's own contract (issue #2): `-t` reports every
# configuration error as file:line:col and exits non-zero; running as an
# unprivileged user (090-privileges checks the drop itself): happy-eyeballs
# fallback, the client header timeout (408), the tunnel idle timeout, a
# listener's allow-from; then max-connections; each refusal with its flow
# log event.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ms_now() { echo $(($(date +%s%N) / 1000000)); }
# python3 -c "$CONNECT_CLOSE" HOST PORT: connect, print the local port, close.
CONNECT_CLOSE='import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
print(s.getsockname()[1])
s.close()'

servers_up

# --- sluiced -t -----------------------------------------------------------
FLOWLOG="$T/flow.log"
sluiced_write_conf "$T/good.conf" 'rule lab splice domain *.example.test
default deny'
out=$(in_gw "$BUILD/sluiced" -t -c "$T/good.conf" -o user= -o pid-file= 2>&1)
is "$?" "0" "sluiced -t accepts a good configuration"
printf '%s\n' 'listen explicit 10.1.0.1:3128' 'rule lab splcie domain *.example.test' \
    'set connect-timeout banana' 'default deny' >"$T/bad.conf"
out=$(in_gw "$BUILD/sluiced" -t -c "$T/bad.conf" -o user= -o pid-file= 2>&1)
isnt "$?" "0" "sluiced -t rejects a broken configuration"
like "$out" "^$T/bad\\.conf:2:[0-9]+: error: .*splcie" "-t reports the bad action as file:line:col"
like "$out" "^$T/bad\\.conf:3:[0-9]+: error: .*banana" "-t goes on and reports the bad setting too"

# --- as nobody: happy eyeballs, timeouts, allow-from -------------------------
SLUICED_HEADER="$SLUICED_HEADER_DEFAULT
listen explicit 10.1.0.1:3131 allow-from 192.0.2.0/24"
SLUICED_OPTS="-o user=nobody"
sluiced_start '
set idle-timeout 1s
set client-header-timeout 1s
set connect-timeout 5s
set happy-eyeballs-delay 250ms
set connect-ports 443,7000
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'
unset SLUICED_OPTS
out=$(pcurl -o "$T/hello" -w '%{http_code}' https://www.example.test/hello)
is "$out $(cat "$T/hello")" "200 hello from www.example.test" "the unprivileged daemon serves"

t0=$(ms_now)
out=$(pcurl -o "$T/he" -w '%{http_code} %{local_port}' https://he.example.test/hello)
t1=$(ms_now)
read -r code port <<<"$out"
is "$code" "200" "a name whose IPv6 address is blackholed still connects (happy eyeballs)"
check "[ $((t1 - t0)) -lt 2500 ]" "the IPv4 fallback came after the delay, not the connect timeout ($((t1 - t0)) ms)"
flowlog_expect "the fallback address is logged" "cli=10.1.0.2:$port" \
    event=flow.end host=he.example.test dst=10.2.0.2:443

t0=$(ms_now)
out=$(in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 --timeout 8 \
    'GET http://www.example.test/ HTTP/1.1\r\nHost: www.exa')
t1=$(ms_now)
read -r status port <<<"$(printf '%s\n' "$out" | head -n 1)"
is "$status" "408" "a head that never completes gets 408"
check "[ $((t1 - t0)) -ge 800 ] && [ $((t1 - t0)) -le 4000 ]" "after client-header-timeout 1 s ($((t1 - t0)) ms)"
flowlog_expect "the head timeout is logged" "cli=10.1.0.2:$port" \
    event=flow.error status=408 reason=request_head_timeout term=TH

# Silent clients (log-silent is on by default): no decision, so no rule,
# no dst.  One that stays connected is held by the kernel until
# TCP_DEFER_ACCEPT's 10 s have passed (the next SYN-ACK retransmission's
# ACK then completes the accept), then client-header-timeout (1 s) applies.
out=$(in_cli "$PY" -c 'import socket, sys, time
s = socket.create_connection(("10.1.0.1", 3128), 5)
s.settimeout(40)
t0 = time.monotonic()
try:
    what = "closed" if s.recv(1) == b"" else "data"
except socket.timeout:
    what = "timeout"
except ConnectionError:
    what = "reset"
print(s.getsockname()[1], what, int((time.monotonic() - t0) * 1000))')
read -r port what ms <<<"$out"
is "$what" "closed" "a client that stays connected and silent is closed ($out)"
check "[ ${ms:-0} -ge 10000 ] && [ ${ms:-0} -le 35000 ]" \
    "after the kernel's deferral (10 s) and client-header-timeout (${ms:-?} ms)"
flowlog_expect "the waiting silent client is logged" "cli=10.1.0.2:$port" \
    event=flow.error reason=client_silent term=TH
port=$(in_cli "$PY" -c "$CONNECT_CLOSE" 10.1.0.1 3128)
flowlog_expect "a client that connects and closes is logged" \
    "cli=10.1.0.2:$port" event=flow.error reason=client_silent term=CH

tunnel_open idle echo.example.test:7000
is "$TUNNEL" "ready" "a tunnel opens"
is "$(tunnel_cmd idle 'echo 100')" "ok echo 100" "and echoes"
port=$(tunnel_cmd idle port | awk '{ print $2 }')
res=$(tunnel_cmd idle 'wait-eof 6')
like "$res" '^eof after' "the idle tunnel is closed by sluiced ($res)"
ms=$(printf '%s' "$res" | sed -n 's/^eof after \([0-9]*\) ms.*/\1/p')
check "[ ${ms:-0} -ge 700 ] && [ ${ms:-0} -le 3000 ]" "after idle-timeout 1 s (${ms:-?} ms)"
flowlog_expect "the idle close is logged" "cli=10.1.0.2:$port" \
    event=flow.end reason=idle_timeout term=TR 'up>=100'

out=$(in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3131 --timeout 5 \
    'CONNECT www.example.test:443 HTTP/1.1\r\nHost: www.example.test:443\r\n\r\n')
read -r status port <<<"$(printf '%s\n' "$out" | head -n 1)"
isnt "$status" "200" "a client outside the listener's allow-from is refused ($status)"
flowlog_expect "the refused client is logged" "cli=10.1.0.2:$port" \
    event=flow.blocked reason=client_not_allowed
sluiced_stop
is "$SLUICED_RC" "0" "the unprivileged daemon stops cleanly"

# --- max-connections (and log-silent off) -------------------------------------
sluiced_start '
set workers 1
set log-silent off
set max-connections 4
set connect-ports 443,7000
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'
silent=$(in_cli "$PY" -c "$CONNECT_CLOSE" 10.1.0.1 3128)
n=0
for t in m1 m2 m3 m4; do
	tunnel_open "$t" echo.example.test:7000
	[ "$TUNNEL" = ready ] && n=$((n + 1))
done
is "$n" "4" "max-connections 4: four tunnels open"
out=$(in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 --timeout 5 \
    'CONNECT echo.example.test:7000 HTTP/1.1\r\nHost: echo.example.test:7000\r\n\r\n')
read -r status port <<<"$(printf '%s\n' "$out" | head -n 1)"
like "$status" '^(503|closed|reset)$' "the fifth connection is refused ($status)"
flowlog_expect "the refusal is logged" "cli=10.1.0.2:$port" \
    event=flow.error reason=max_connections
# One worker writes in order: the later refusal is there, so an event for
# the silent client would be too.
is "$(flowlog_grep "cli=10.1.0.2:$silent")" "" "log-silent off: a client that connects and closes is not logged"
is "$(tunnel_cmd m1 'echo 1000')" "ok echo 1000" "the four tunnels still work"
is "$(tunnel_cmd m1 close)" "ok closed" "one of them closes"
sleep 0.3
tunnel_open m5 echo.example.test:7000
is "$TUNNEL" "ready" "a new tunnel opens once one is gone"
sluiced_stop

# --- daemon mode (no -f) -------------------------------------------------------
# The process started returns only once the daemon serves; the daemon
# writes its pid file, serves, writes the flow log (its writer thread must
# start after the fork, which keeps only the calling thread) and stops on
# SIGTERM.  A failure after the fork still reaches the caller.
sluiced_write_conf "$T/daemon.conf" '
set connect-ports 443,7000
set log-allowed on
rule lab-names splice domain *.example.test
default deny'
daemon_opts="-o user= -o state-dir=$T/state -o log-dir=$T"
# shellcheck disable=SC2086
in_gw "$BUILD/sluiced" -c "$T/daemon.conf" $daemon_opts \
    -o "pid-file=$T/daemon.pid" >"$T/daemon.out" 2>&1
is "$?" "0" "sluiced without -f returns 0 once the daemon serves"
dpid=$(cat "$T/daemon.pid" 2>/dev/null)
# Teardown stops it if a check below fails (it is ours: we started it).
SLUICED_PID=$dpid SLUICED_RC=""
check "[ -n '$dpid' ] && kill -0 '$dpid' 2>/dev/null" "the daemon runs under the PID in its pid file ($dpid)"
out=$(pcurl -o "$T/dhello" -w '%{http_code} %{local_port}' https://www.example.test/hello)
read -r code port <<<"$out"
is "$code $(cat "$T/dhello" 2>/dev/null)" "200 hello from www.example.test" "the daemon serves a CONNECT"
flowlog_expect "the daemon writes the flow event" "cli=10.1.0.2:$port" \
    event=flow.end host=www.example.test action=splice 'down>=20'
kill -TERM "$dpid" 2>/dev/null
n=0
while kill -0 "$dpid" 2>/dev/null && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "! kill -0 '$dpid' 2>/dev/null" "the daemon exits on SIGTERM"
SLUICED_PID=""

# shellcheck disable=SC2086
out=$(in_gw "$BUILD/sluiced" -c "$T/daemon.conf" $daemon_opts \
    -o "pid-file=$T/daemon2.pid" -o user=sl-no-such-user 2>&1)
rc=$?
is "$rc" "1" "a daemon that fails after the fork (unknown user) makes sluiced exit 1"
like "$out" "did not start" "and the caller is told so"
dpid=$(cat "$T/daemon2.pid" 2>/dev/null)
# Its pipe closes as it exits; init reaps it a moment later.
n=0
while [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "[ -n '$dpid' ] && ! kill -0 '$dpid' 2>/dev/null" "the failed daemon is gone"

flowlog_valid
done_testing
