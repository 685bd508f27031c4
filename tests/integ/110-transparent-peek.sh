#!/bin/bash
# 110-transparent-peek: classification of the first bytes in transparent
# mode (issue #4).  A ClientHello sent one byte per TCP segment, split
# across three TLS records, or larger than 16 KiB (up to peek-max) is
# classified exactly like the unsplit one and passes byte for byte; one
# beyond peek-max, a truncated and a malformed one are refused and logged,
# and the daemon keeps serving.  A client that sends nothing is decided on
# address and port after peek-timeout.  A hello already queued when
# sluiced accepts is decided from the read at accept.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
tcp_server_start banner banner@10.2.0.4:2525
transparent_start '
set transparent-tcp-ports 443,2525
set peek-timeout 2s
set peek-max 32k
set log-allowed on
rule deny-denied deny domain denied.example.test
rule lab-tls splice domain www.example.test,echo.example.test port 443
rule lab-banner splice ip 10.2.0.4 port 2525
default deny
'

# Client ports repeat across flows refused with a reset: look only at what
# the next request logs.
log_from_here() {
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG" 2>/dev/null || echo 0)
	export FLOWLOG_SINCE
}
# hello_result OUT: tlshello's "RESULT port=N" into RES and PORT.
hello_result() {
	RES=${1% port=*}
	PORT=${1##* port=}
}
hello() {
	log_from_here
	hello_result "$(in_cli timeout 30 "$PY" "$PYDIR/tlshello.py" "$@" 2>&1)"
}
ms_of() { printf '%s' "$1" | sed -n 's/^[a-z]* after \([0-9]*\) ms.*/\1/p'; }

# --- the same hello in every shape: same classification, same bytes ------
for shape in whole bytewise records3 big; do
	hello --sni echo.example.test --shape "$shape" --then echo 10.2.0.4:443
	n=${RES#echo-ok }
	like "$RES" '^echo-ok [0-9]+$' "$shape ClientHello to the TLS-whitelisted echo: passed byte for byte ($RES)"
	flowlog_expect "$shape ClientHello: classified as tls with its SNI, spliced, bytes counted" \
	    "cli=10.1.0.2:$PORT" event=flow.end mode=transparent proto=tls \
	    sni=echo.example.test dst=10.2.0.4:443 rule=lab-tls action=splice \
	    "up=$n" "down=$n"
done
check "[ ${n:-0} -gt 16384 ]" "the big ClientHello is larger than 16 KiB (${n:-?} bytes with its record headers)"

for shape in whole bytewise records3; do
	hello --sni denied.example.test --shape "$shape" --then echo 10.2.0.3:443
	unlike "$RES" '^echo-ok|^answered' "$shape ClientHello with a denied SNI is refused ($RES)"
	flowlog_expect "$shape ClientHello with a denied SNI: blocked by the same rule" \
	    "cli=10.1.0.2:$PORT" event=flow.blocked proto=tls sni=denied.example.test \
	    dst=10.2.0.3:443 rule=deny-denied
done

for shape in bytewise records3; do
	hello --sni www.example.test --cafile "$CA" --shape "$shape" --then tls 10.2.0.2:443
	is "$RES" "tls-ok HTTP/1.1 200 OK" "$shape ClientHello: the real TLS server completes the handshake through sluiced"
done

# --- refused: beyond peek-max, truncated, malformed ------------------------
for shape in huge truncated malformed; do
	hello --sni echo.example.test --shape "$shape" --then echo 10.2.0.4:443
	# The echo sends back whatever reaches it: any byte back ("short N",
	# "differs", "echo-ok") means part of the hello was relayed.
	like "$RES" '^(reset|closed)$' "$shape ClientHello is refused, not relayed ($RES)"
	flowlog_expect "$shape ClientHello: flow.error bad_client_hello" "cli=10.1.0.2:$PORT" \
	    event=flow.error mode=transparent dst=10.2.0.4:443 reason=bad_client_hello
	hello --sni echo.example.test --then echo 10.2.0.4:443
	like "$RES" '^echo-ok' "after the $shape one, a good ClientHello still passes"
done
# The echo server never saw the refused ones: only the good flows reached it.
sleep 0.3
is "$(FLOWLOG_SINCE=0 flowlog_count "sni=echo.example.test event=flow.end")" "7" \
    "seven echo flows ended normally (four shapes, three after the refusals)"

# --- a pause inside the hello longer than peek-timeout ---------------------
# Transparent: refused like a truncated hello.  In a CONNECT tunnel too: a
# pause must not buy a tunnel past the SNI check (here the SNI differs from
# the CONNECT authority; the tunnel used to be spliced as proto "none").
hello --sni www.example.test --cafile "$CA" --shape stall --gap-ms 300 --then tls 10.2.0.2:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "a hello paused shorter than peek-timeout completes"
hello --sni echo.example.test --shape stall --gap-ms 2600 --then echo 10.2.0.4:443
like "$RES" '^(reset|closed)$' "a hello paused past peek-timeout is refused, not relayed ($RES)"
flowlog_expect "the stalled hello: flow.error bad_client_hello" "cli=10.1.0.2:$PORT" \
    event=flow.error mode=transparent dst=10.2.0.4:443 reason=bad_client_hello
hello --proxy 10.1.0.1:3128 --sni www.example.test --cafile "$CA" --shape stall \
    --gap-ms 300 --then tls www.example.test:443
is "$RES" "tls-ok HTTP/1.1 200 OK" "CONNECT: a hello paused shorter than peek-timeout completes"
hello --proxy 10.1.0.1:3128 --sni other.example.test --cafile "$CA" --shape stall \
    --gap-ms 2600 --then tls www.example.test:443
unlike "$RES" '^tls-ok' "CONNECT: a hello for another name paused past peek-timeout gets no tunnel ($RES)"
flowlog_expect "the stalled hello in the tunnel: flow.error bad_client_hello" \
    "cli=10.1.0.2:$PORT" event=flow.error mode=explicit host=www.example.test \
    reason=bad_client_hello

# --- server speaks first: decided on address and port after peek-timeout --
out=$(in_cli timeout 10 "$PY" "$PYDIR/rawc.py" --silent --timeout 8 10.2.0.4:2525)
port=${out##* port=}
like "$out" '^data after [0-9]+ ms: 220 banner\.test ESMTP ready' "a silent client gets the server's banner (server-first protocol)"
ms=$(ms_of "$out")
check "[ ${ms:-0} -ge 1800 ] && [ ${ms:-0} -le 4500 ]" "the banner came after peek-timeout 2 s (${ms:-?} ms)"
flowlog_expect "the silent flow is decided by address and port" "cli=10.1.0.2:$port" \
    event=flow.end mode=transparent proto=none dst=10.2.0.4:2525 rule=lab-banner action=splice
out=$(in_cli timeout 10 "$PY" "$PYDIR/rawc.py" --silent --timeout 8 10.2.0.5:2525)
port=${out##* port=}
like "$out" '^(closed|reset) after [0-9]+ ms' "a silent client to an address no rule allows is closed"
ms=$(ms_of "$out")
check "[ ${ms:-0} -ge 1800 ] && [ ${ms:-0} -le 4500 ]" "closed after peek-timeout 2 s (${ms:-?} ms)"
flowlog_expect "the refused silent flow is logged" "cli=10.1.0.2:$port" \
    event=flow.blocked proto=none dst=10.2.0.5:2525 rule=default action=deny

# --- the hello already there when sluiced accepts --------------------------
# sluiced is stopped while the client connects and sends its hello (the
# kernel completes the handshake and queues the bytes): the read at accept
# finds the whole hello, and the flow is decided from it without waiting.
early_hello() {
	local c
	log_from_here
	kill -STOP "$SLUICED_PID"
	in_cli timeout 30 "$PY" "$PYDIR/tlshello.py" "$@" >"$T/early.out" 2>&1 &
	c=$!
	sleep 1
	kill -CONT "$SLUICED_PID"
	wait "$c"
	hello_result "$(cat "$T/early.out")"
}
early_hello --sni echo.example.test --then echo 10.2.0.4:443
n=${RES#echo-ok }
like "$RES" '^echo-ok [0-9]+$' "a hello queued before the accept passes byte for byte ($RES)"
flowlog_expect "the queued hello: classified as tls with its SNI and spliced" \
    "cli=10.1.0.2:$PORT" event=flow.end mode=transparent proto=tls \
    sni=echo.example.test dst=10.2.0.4:443 rule=lab-tls action=splice "up=$n" "down=$n"
early_hello --sni denied.example.test --then echo 10.2.0.3:443
unlike "$RES" '^echo-ok|^answered' "a queued hello with a denied SNI is refused ($RES)"
flowlog_expect "the queued denied hello: blocked by its rule" "cli=10.1.0.2:$PORT" \
    event=flow.blocked proto=tls sni=denied.example.test dst=10.2.0.3:443 rule=deny-denied

flowlog_valid
done_testing
