#!/bin/bash
# 025-http-abuse: the plain-HTTP forwarding path (absolute-URI requests and
# transparent origin-form HTTP) against a misbehaving origin
# (py/badorigin.py on 10.2.0.5:8001-8004) and stalling clients; the
# red-team findings of the HTTP forwarder:
#   - a 1xx flood to a client that does not read is held back like a body
#     (sluiced's memory stays bounded), and is delivered when it reads;
#   - bytes an origin sends past a response's end, in the same write or
#     later while idle, are never served as the next response: that
#     server connection is closed (daemon log) and not reused;
#   - a kept-alive connection's next head that never completes is a 408
#     with term TH (it struck while a head was read), not TR;
#   - a request body announced and not sent is a 408
#     request_body_timeout after http-idle-timeout without a byte (not a
#     504 after idle-timeout); a body that keeps coming slowly passes;
#   - an upstream 101 nobody asked for is answered 502 unexpected_101,
#     with nothing of it or what followed (issue 12);
#   - a client or server that stops reading is cut after idle-timeout,
#     and the event's down / up count the bytes written to its socket,
#     not those queued for it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
: >"$T/origin.log"
bg "$SRV" badorigin "$PY" "$PYDIR/badorigin.py" 10.2.0.5 "$T/origin.log" 6
wait_listen "$SRV" 10.2.0.5 8003 ||
    setup_fail "badorigin did not start" "$(cat "$T/badorigin.log")"
SETS='set log-allowed on
set client-header-timeout 1s
set transparent-tcp-ports 8002'
RULES='rule bad-origin inspect ip 10.2.0.5 port 8002
rule lab-v4 splice ip 10.2.0.0/24
rule lab-names splice domain *.example.test
default deny'
transparent_start "$SETS
set http-idle-timeout 2s
$RULES"

hc() { in_cli timeout 60 "$PY" "$PYDIR/hfclient.py" talk "$@"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLUICED_PID/status"; }
field() { printf '%s\n' "$2" | sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p"; }
get() { printf 'send:GET http://%s HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n' "$1" "${1%%/*}"; }

# --- a 1xx flood to a client that does not read -------------------------
# Before the fix every interim head was queued for the client: ~2 GB of
# RSS in 15 s.  Now the server is not read while relay-buffer (64k) bytes
# wait for the client.
r0=$(rss)
bg "$CLI" flood "$PY" "$PYDIR/hfclient.py" flood http://10.2.0.5:8001/ 5
flood_pid=$BG_PID
wait_for 10 grep -q '^holding' "$T/flood.log" || diag "the flood client did not start"
sleep 2
r1=$(rss)
sleep 2.5
r2=$(rss)
diag "sluiced VmRSS: ${r0} kB before, ${r1} kB at 2 s, ${r2} kB at 4.5 s of a 1xx flood nobody reads"
check "test $((r2 - r0)) -lt 65536" \
    "sluiced's memory stays bounded under a 1xx flood nobody reads (+$((r2 - r0)) kB < 64 MiB)"
check "test $((r2 - r1)) -lt 4096" \
    "and stops growing once the client's buffers are full (+$((r2 - r1)) kB in 2.5 s < 4 MiB)"
n=0
while kill -0 "$flood_pid" 2>/dev/null && [ "$n" -lt 900 ]; do
	sleep 0.1
	n=$((n + 1))
done
out=$(grep '^interim=' "$T/flood.log")
like "$out" '^interim=[1-9][0-9]* status=200 body=ok total=[0-9]+$' \
    "when the client reads, it gets the interim heads, then the final 200 ($out)"
port=$(sed -n 's/^holding port=//p' "$T/flood.log")
flowlog_expect "logged as an end, down = the bytes the client received" \
    "cli=10.1.0.2:$port" event=flow.end status=200 "down=$(field total "$out")" term=CR
diag "$(grep '^8001 sent' "$T/origin.log")"

# --- bytes past Content-Length are not the next response ----------------
# The origin answers "hello" and, in the same write, a second response
# nobody asked for ("SMUGGLED").  Each next request must get a fresh
# connection (whose first answer is "hello" again), never "SMUGGLED".
out=$(hc "$(get 10.2.0.5:8002/s0)" read sleep:0.3 "$(get 10.2.0.5:8002/s1)" read \
    sleep:0.3 "$(get 10.2.0.5:8002/s2)" read)
like "$out" 'reads=200:hello@[0-9]+,200:hello@[0-9]+,200:hello@[0-9]+ ' \
    "three requests after a response with extra bytes: each answered by its own response ($out)"
is "$(grep -cE '^8002 conn [0-9]+ req 1 /s[012]$' "$T/origin.log")" "3" \
    "each on a new server connection (the dirty one was not reused)"
port=$(field port "$out")
flowlog_expect "the connection is logged as one normal flow" "cli=10.1.0.2:$port" \
    event=flow.end status=200 term=CR
like "$(cat "$T/sluiced.err")" "server '10\\.2\\.0\\.5' port 8002 sent [0-9]+ bytes no request asked for" \
    "the daemon log says why the server connection was dropped"

out=$(hc "send:GET http://10.2.0.5:8002/p0 HTTP/1.1\\r\\nHost: 10.2.0.5:8002\\r\\n\\r\\nGET http://10.2.0.5:8002/p1 HTTP/1.1\\r\\nHost: 10.2.0.5:8002\\r\\n\\r\\n" \
    read read)
like "$out" 'reads=200:hello@[0-9]+,200:hello@[0-9]+ ' \
    "pipelined: the second request is not answered with the extra bytes ($out)"

# The extra response 300 ms after the first one, while the connection is
# idle: dropped then (logged), the next request opens a new connection.
out=$(hc "$(get 10.2.0.5:8003/l0)" read sleep:1 "$(get 10.2.0.5:8003/l1)" read)
like "$out" 'reads=200:hello@[0-9]+,200:hello@[0-9]+ ' \
    "a response sent while idle is not served to the next request ($out)"
is "$(grep -cE '^8003 conn [0-9]+ req 1 /l[01]$' "$T/origin.log")" "2" \
    "the next request went to a new server connection"
like "$(cat "$T/sluiced.err")" "server '10\\.2\\.0\\.5' port 8003 sent [0-9]+ bytes no request asked for" \
    "the daemon log says why that one was dropped"

# Transparent: origin-form requests redirected to 10.2.0.5:8002.
out=$(hc --proxy 10.2.0.5:8002 \
    'send:GET /t0 HTTP/1.1\r\nHost: 10.2.0.5:8002\r\n\r\n' read sleep:0.3 \
    'send:GET /t1 HTTP/1.1\r\nHost: 10.2.0.5:8002\r\n\r\n' read)
like "$out" 'reads=200:hello@[0-9]+,200:hello@[0-9]+ ' \
    "transparent HTTP: the extra bytes are not the next response either ($out)"
is "$(grep -cE '^8002 conn [0-9]+ req 1 /t[01]$' "$T/origin.log")" "2" \
    "transparent HTTP: a new server connection for the second request"
! grep -q '^800[123]: ' "$T/origin.log" || diag "$(grep '^800[123]: ' "$T/origin.log")"

# --- client stalls --------------------------------------------------------
# A kept-alive connection's second head, cut short: 408 after
# client-header-timeout (1s), logged TH like the first head's timeout.
out=$(hc "$(get www.example.test/hello)" read \
    'send:GET http://www.example.test/hello HTTP/1.1\r\nHo' read)
like "$out" 'reads=200:hello_from_www\.example\.test@[0-9]+,408:' \
    "a kept-alive connection's next head that never completes gets 408 ($out)"
flowlog_expect "logged as a head timeout, term TH (not TR)" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.error status=408 reason=request_head_timeout term=TH

# A body announced (Content-Length 10), 3 bytes sent, then silence: 408
# after http-idle-timeout (2s) without a byte, not a wait for the server.
out=$(hc --timeout 10 'send:POST http://head.example.test/up HTTP/1.1\r\nHost: head.example.test\r\nContent-Length: 10\r\n\r\nabc' read)
like "$out" 'reads=408:' "a request body that stops coming gets 408 ($out)"
ms=$(printf '%s\n' "$out" | sed -n 's/.*reads=408:[^@]*@\([0-9]*\).*/\1/p')
check "test ${ms:-0} -ge 1800 -a ${ms:-99999} -le 6000" \
    "after http-idle-timeout without a byte (2 s; it took ${ms:-?} ms)"
flowlog_expect "logged as request_body_timeout" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.error status=408 reason=request_body_timeout term=TR

# A body that keeps coming, a byte a second (each within 2s): served.
out=$(hc --timeout 15 'send:POST http://head.example.test/slow HTTP/1.1\r\nHost: head.example.test\r\nContent-Length: 4\r\n\r\n' \
    'trickle:1:abcd' read)
like "$out" 'reads=200:' "a body trickled a byte a second (under http-idle-timeout) is forwarded ($out)"

# The same with idle-timeout (the server side's wait) shorter than
# http-idle-timeout: still the client's stall, not the server's 504.
sluiced_reload "$SETS
set http-idle-timeout 10s
set idle-timeout 1s
$RULES"
wait_for 5 grep -q 'configuration reloaded' "$T/sluiced.err" ||
    diag "no reload in the daemon log"
sleep 0.5
out=$(hc --timeout 10 'send:POST http://head.example.test/up2 HTTP/1.1\r\nHost: head.example.test\r\nContent-Length: 10\r\n\r\nabc' read)
like "$out" 'reads=408:' "with idle-timeout 1s < http-idle-timeout: 408 too, not 504 ($out)"
flowlog_expect "logged as request_body_timeout" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.error status=408 reason=request_body_timeout term=TR

# A client that stops reading its response (idle-timeout 1s now): closed
# after idle-timeout without write progress, the loss logged, not held
# for ever and not a normal end.
out=$(hc --timeout 20 --rcvbuf 4096 "$(get www.example.test/big.bin)" sleep:4 drain)
total=$(field total "$out")
check "test ${total:-20971520} -lt 20971520" \
    "a client that stops reading does not get the rest later (${total:-?} of 20971520 bytes)"
flowlog_expect "it is closed and logged as idle_timeout" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.end reason=idle_timeout 'term~^T' "down<=${total:-0}"

# A server that stops reading a request body (idle-timeout 1s): the flow
# is cut, and `up` counts what was written to the server's socket, which
# it can still read after the close, not what the proxy queued for it.
tcp_server_start stall stall@10.2.0.4:7002
out=$(hc --timeout 20 'send:POST http://10.2.0.4:7002/up HTTP/1.1\r\nHost: 10.2.0.4:7002\r\nContent-Length: 24000000\r\n\r\n{X*24000000}' read)
wait_for 10 grep -q '^stall:' "$T/stall.log"
read -r _ got _ _ srvport <<<"$(grep '^stall:' "$T/stall.log" | tail -n 1)"
diag "hfclient: $out; server: ${got:-?} bytes"
check "test ${got:-0} -gt 0 -a ${got:-0} -lt 24000000" \
    "the stalled server got part of the body (${got:-?} bytes)"
flowlog_expect "it is cut, and up = the bytes the server got" "dst=10.2.0.4:7002" \
    event=flow.error "up=${got:-0}"

# An upstream "101" to a request that asked for no upgrade (issue 12): the
# client gets a 502 and nothing of the 101 or what followed it.
out=$(hc 'send:GET http://10.2.0.5:8004/x HTTP/1.1\r\nHost: 10.2.0.5:8004\r\n\r\n' read)
like "$out" 'reads=502:' "an unasked 101 is answered 502 ($out)"
unlike "$out" 'RAW-AFTER' "nothing the origin sent after its 101 reaches the client"
flowlog_expect "logged unexpected_101" "cli=10.1.0.2:$(field port "$out")" \
    event=flow.error reason=unexpected_101 status=502 'term~^S'

flowlog_valid
done_testing
