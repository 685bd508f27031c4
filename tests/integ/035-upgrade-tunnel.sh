#!/bin/bash
# 035-upgrade-tunnel: the bufferevent copy path of an absolute-URI
# "Upgrade: websocket" request after 101 (issue #2: "a bufferevent copy
# path with the same semantics" as the splice relay), with raw bytes from
# py/upgclient.py in cli to py/upgsrv.py in srv: 16 MiB up and down and
# 20 MiB echoed, sha256 checked, with half-closes both ways; backpressure
# (a reader that stops: what sluiced holds, from the kernel's queues, and
# its VmRSS); idle timeout, active and half-closed, beside the same
# upgrade inside CONNECT (the splice relay); exact byte counts in flow.end.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
UP="$T/up.bin"
DOWN="$T/down.bin"
ECHO="$T/echo.bin"
head -c 16777216 /dev/urandom >"$UP" &&
head -c 16777216 /dev/urandom >"$DOWN" &&
head -c 20971520 /dev/urandom >"$ECHO" || setup_fail "random files"
bg "$SRV" upgsrv "$PY" "$PYDIR/upgsrv.py" --file "$DOWN" --go-dir "$T" \
    10.2.0.4:8090
wait_listen "$SRV" 10.2.0.4 8090 ||
    setup_fail "upgsrv.py did not start" "$(cat "$T/upgsrv.log")"
CONF='
set connect-ports 443,8090
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'
sluiced_start "$CONF"
URL=http://echo.example.test:8090

upgc() {
	in_cli timeout 120 "$PY" "$PYDIR/upgclient.py" --proxy 10.1.0.1:3128 "$@"
}

# srv_done MODE TAG: the server's "done" line for that connection.
srv_done() {
	wait_for 10 grep -q "^done $1 $2 " "$T/upgsrv.log"
	grep "^done $1 $2 " "$T/upgsrv.log" | tail -n 1
}

# field NAME TEXT: the value of NAME=VALUE in a space-separated line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# line PREFIX TEXT: what follows "PREFIX " on the first such line.
line() { printf '%s\n' "$2" | sed -n "s/^$1 //p" | head -n 1; }

size_of() { stat -c %s "$1"; }

UP_N=$(size_of "$UP") UP_SHA=$(sha256_of "$UP")
DOWN_N=$(size_of "$DOWN") DOWN_SHA=$(sha256_of "$DOWN")
ECHO_N=$(size_of "$ECHO") ECHO_SHA=$(sha256_of "$ECHO")

# --- upload: 16 MiB up, then the client's half-close ----------------------
# The server reads to EOF (so it only answers if the client's FIN was
# passed on) and then reports what it got; the client, its write side shut,
# must still receive that report.
out=$(upgc --send "$UP" $URL/sink/up)
port=$(line 'local port' "$out") h101=$(line head101 "$out")
rep="sink $UP_N $UP_SHA"
is "$(line received "$out")" \
    "$((${#rep} + 1)) $(printf '%s\n' "$rep" | sha256_of /dev/stdin)" \
    "upload: after its half-close the client still receives the server's report"
d=$(srv_done sink up)
is "$(field in "$d") $(field in_sha "$d") $(field end "$d")" "$UP_N $UP_SHA eof" \
    "upload: the server got the 16 MiB intact, then EOF (half-close passed on)"
flowlog_expect "upload: flow.end counts the bytes exactly, client ended first" \
    "cli=10.1.0.2:${port:-none}" event=flow.end method=GET \
    host=echo.example.test dst=10.2.0.4:8090 status=101 action=splice \
    "up=$(($(field head "$d") + UP_N))" "down=$((h101 + ${#rep} + 1))" term=CR
unlike "$(flowlog_last "cli=10.1.0.2:${port:-none}")" '"reason"' \
    "upload: a clean end has no reason"

# --- download: 16 MiB down, the server half-closes first ------------------
# Then the client sends a few bytes the other way: the direction still open
# must keep working after the other one ended.
out=$(upgc --after-eof after-your-fin $URL/source/down)
port=$(line 'local port' "$out") h101=$(line head101 "$out")
is "$(line received "$out")" "$DOWN_N $DOWN_SHA" \
    "download: 16 MiB intact, then EOF (the server's half-close passed on)"
d=$(srv_done source down)
is "$(field out "$d") $(field in "$d") $(field in_sha "$d") $(field end "$d")" \
    "$DOWN_N 14 $(printf after-your-fin | sha256_of /dev/stdin) eof" \
    "download: after its half-close the server still receives the client's bytes, then EOF"
flowlog_expect "download: flow.end counts the bytes exactly, server ended first" \
    "cli=10.1.0.2:${port:-none}" event=flow.end status=101 \
    "up=$(($(field head "$d") + 14))" "down=$((h101 + DOWN_N))" term=SR

# --- both ways at once, with bytes buffered on both sides at the 101 ------
# The client sends 64 KiB behind its request head, before the 101; the
# server echoes them in the same write as its 101 head.  So when the tunnel
# starts, sluiced has bytes waiting in both input buffers.
out=$(upgc --send "$ECHO" --early 65536 $URL/echo/both)
port=$(line 'local port' "$out") h101=$(line head101 "$out")
is "$(line received "$out")" "$ECHO_N $ECHO_SHA" \
    "echo: 20 MiB up and the same 20 MiB back at once, intact (64 KiB sent before the 101)"
d=$(srv_done echo both)
is "$(field in "$d") $(field in_sha "$d") $(field out "$d") $(field end "$d")" \
    "$ECHO_N $ECHO_SHA $ECHO_N eof" "echo: the server got the 20 MiB intact, then EOF"
flowlog_expect "echo: flow.end counts the bytes exactly" \
    "cli=10.1.0.2:${port:-none}" event=flow.end status=101 \
    "up=$(($(field head "$d") + ECHO_N))" "down=$((h101 + ECHO_N))"

# --- backpressure ---------------------------------------------------------
# A reader that stops reading.  hf_tunnel_move() appends what it read to
# the other side's output and stops reading once that output holds
# relay-buffer bytes or more; libevent reads at most 16 KiB at a time
# (MAX_SINGLE_READ_DEFAULT), and the read callback always empties the
# input.  So per direction sluiced holds less than relay-buffer + 16 KiB;
# it starts reading again when the output drains to relay-buffer / 2 (the
# write low-watermark).  Everything else the sender managed to send sits
# in the kernel's socket queues, which `ss` shows: what the sender sent
# minus those queues is what sluiced holds.
RDMAX=16384

rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SLUICED_PID/status"; }

# kq NS FILTER: Recv-Q + Send-Q of the established TCP sockets matching it.
kq() {
	ip netns exec "$1" ss -Htn "$2" |
	    awk '$1 == "ESTAB" { n += $2 + $3 } END { print n + 0 }'
}

# kernel_queued CLIPORT: bytes in the socket queues along the tunnel of the
# client port CLIPORT (client, both sluiced sockets, server).
kernel_queued() {
	echo $(($(kq "$CLI" "( sport = :$1 )") +
	    $(kq "$GW" "( dport = :$1 or dport = :8090 )") +
	    $(kq "$SRV" "( sport = :8090 )")))
}

srv_sent() { grep "^sent $1 " "$T/upgsrv.log" | tail -n 1 | cut -d' ' -f3; }
cli_sent() { grep '^sent ' "$T/$1.log" | tail -n 1 | cut -d' ' -f2; }

# plateau CMD...: wait (bounded: 40 s) until CMD prints the same number
# twice one second apart; print it.
plateau() {
	local prev="" cur n=40
	while [ "$n" -gt 0 ]; do
		sleep 1
		cur=$("$@")
		if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then
			printf '%s\n' "$cur"
			return 0
		fi
		prev=$cur
		n=$((n - 1))
	done
	printf '%s\n' "$cur"
	return 1
}

# stall DIR TAG: a stalled tunnel; DIR down: the client does not read from
# a server sending $DOWN; up: the server does not read from a client
# sending $UP.  Sets SENT (what the sender managed to send), QUEUED (in
# the kernel), HELD (in sluiced), GROWTH (VmRSS, KiB), ANON (RssAnon, KiB),
# PORT, then lets the reader go and checks every byte arrives.
stall() {
	local dir=$1 tag=$2 r0 a0 log out d
	r0=$(rss VmRSS) a0=$(rss RssAnon)
	if [ "$dir" = down ]; then
		bg "$CLI" "$tag" "$PY" "$PYDIR/upgclient.py" --proxy 10.1.0.1:3128 \
		    --rcvbuf 16384 --wait-file "$T/$tag" "$URL/source/$tag"
	else
		bg "$CLI" "$tag" "$PY" "$PYDIR/upgclient.py" --proxy 10.1.0.1:3128 \
		    --send "$UP" "$URL/stall/$tag"
	fi
	log="$T/$tag.log"
	wait_for 10 grep -q '^head101 ' "$log" ||
	    setup_fail "$tag: no 101" "$(cat "$log")"
	PORT=$(sed -n 's/^local port //p' "$log")
	if [ "$dir" = down ]; then
		SENT=$(plateau srv_sent "$tag")
	else
		SENT=$(plateau cli_sent "$tag")
	fi
	QUEUED=$(kernel_queued "$PORT")
	HELD=$((SENT - QUEUED))
	GROWTH=$(($(rss VmRSS) - r0)) ANON=$(($(rss RssAnon) - a0))
	diag "$tag: sender sent $SENT bytes, $QUEUED in kernel queues," \
	    "$HELD in sluiced; VmRSS +$GROWTH KiB, RssAnon +$ANON KiB"
	touch "$T/$tag"
	if [ "$dir" = down ]; then
		wait_for 60 grep -q '^received ' "$log"
		is "$(sed -n 's/^received //p' "$log")" "$DOWN_N $DOWN_SHA" \
		    "$tag: once the client reads again all 16 MiB arrive intact"
	else
		d=$(srv_done stall "$tag")
		is "$(field in "$d") $(field in_sha "$d") $(field end "$d")" \
		    "$UP_N $UP_SHA eof" \
		    "$tag: once the server reads again all 16 MiB arrive intact"
	fi
}

# rss_check TAG: VmRSS grew by less than 1 MiB (code bound: about twice
# relay-buffer + 16 KiB, libevent rounding each 16 KiB read up to a 32 KiB
# chain) and by less than half of what the sender managed to send.
# An ASan build keeps freed memory in its quarantine, so there the bound
# is 8 MiB: still half of what an unbounded copy would absorb.
rss_check() {
	if grep -q libasan "/proc/$SLUICED_PID/maps"; then
		check "[ $GROWTH -lt 8192 ]" \
		    "$1: VmRSS grew by $GROWTH KiB (< 8 MiB: ASan build, its quarantine counts)"
		return
	fi
	check "[ $GROWTH -lt 1024 ] && [ $((GROWTH * 1024 * 2)) -lt $SENT ]" \
	    "$1: VmRSS grew by $GROWTH KiB (< 1 MiB and < half the $SENT bytes sent)"
}

stall down stall-down
check "[ $SENT -lt $DOWN_N ]" \
    "stall-down: the server could not send its 16 MiB to a client that does not read (sent $SENT)"
check "[ $HELD -gt 0 ] && [ $HELD -lt $((65536 + RDMAX)) ]" \
    "stall-down: sluiced holds $HELD bytes, less than relay-buffer + one read (64 KiB + 16 KiB)"
rss_check stall-down
d=$(srv_done source stall-down)
flowlog_expect "stall-down: flow.end counts all 16 MiB" "cli=10.1.0.2:${PORT:-none}" \
    event=flow.end status=101 "up=$(field head "$d")" \
    "down=$(($(sed -n 's/^head101 //p' "$T/stall-down.log") + DOWN_N))" term=SR

stall up stall-up
check "[ $SENT -lt $UP_N ]" \
    "stall-up: the client could not send its 16 MiB to a server that does not read (sent $SENT)"
check "[ $HELD -gt 0 ] && [ $HELD -lt $((65536 + RDMAX)) ]" \
    "stall-up: sluiced holds $HELD bytes, less than relay-buffer + one read (64 KiB + 16 KiB)"
rss_check stall-up

# The same probe is able to see buffered bytes: with relay-buffer 8m the
# bound moves to 8 MiB, and so do sluiced's holdings and its VmRSS.
sluiced_stop
is "$SLUICED_RC" 0 "sluiced exits 0 on SIGTERM"
sluiced_start "set relay-buffer 8m$CONF"
stall down stall-8m
check "[ $HELD -ge 4194304 ] && [ $HELD -lt $((8388608 + RDMAX)) ]" \
    "relay-buffer 8m: sluiced holds $HELD bytes, between relay-buffer / 2 and relay-buffer + one read"
check "[ $GROWTH -ge 4096 ]" \
    "relay-buffer 8m: VmRSS grew by $GROWTH KiB (the probe sees bytes held in sluiced)"

# --- idle timeout, compared with the splice relay -------------------------
# Each case twice: as an absolute-URI upgrade (the copy path) and as the
# same upgrade request inside a CONNECT tunnel (the splice relay).
sluiced_stop
sluiced_start "set idle-timeout 2s$CONF"
idle_pids=""
for p in copy splice; do
	c=""
	[ "$p" = splice ] && c=--connect
	# Active for 2.5 s (longer than idle-timeout), then silent.
	bg "$CLI" "idle-$p" "$PY" "$PYDIR/upgclient.py" --proxy 10.1.0.1:3128 \
	    $c --ping 6 --interval 0.5 --timeout 15 $URL/echo/idle-$p
	idle_pids="$idle_pids $BG_PID"
	# Half-closed by the client (the server keeps its side open), then
	# silent.
	bg "$CLI" "hc-$p" "$PY" "$PYDIR/upgclient.py" --proxy 10.1.0.1:3128 \
	    $c --ping 0 --shut --timeout 15 $URL/hold/hc-$p
	idle_pids="$idle_pids $BG_PID"
done
for pid in $idle_pids; do
	wait "$pid"
done
for p in copy splice; do
	out=$(cat "$T/idle-$p.log")
	port=$(line 'local port' "$out")
	like "$out" '^pinged 6$' \
	    "idle $p: a tunnel with a byte every 0.5 s outlives idle-timeout (2 s)"
	ms=$(line closed "$out" | sed 's/^after \([0-9]*\) ms$/\1/')
	check "[ ${ms:-0} -ge 1500 ] && [ ${ms:-0} -le 6000 ]" \
	    "idle $p: closed by sluiced ${ms:-?} ms after the last byte (idle-timeout 2s, swept every second)"
	d=$(srv_done echo "idle-$p")
	is "$(field in "$d") $(field out "$d") $(field end "$d")" "6 6 eof" \
	    "idle $p: the server sees the close as EOF"
	flowlog_expect "idle $p: flow.end says idle_timeout, TR" \
	    "cli=10.1.0.2:${port:-none}" event=flow.end reason=idle_timeout \
	    term=TR
	[ "$p" = copy ] && flowlog_expect "idle copy: flow.end counts the bytes exactly" \
	    "cli=10.1.0.2:${port:-none}" "up=$(($(field head "$d") + 6))" \
	    "down=$(($(line head101 "$out") + 6))"

	out=$(cat "$T/hc-$p.log")
	port=$(line 'local port' "$out")
	check "grep -q '^eof hc-$p\$' '$T/upgsrv.log'" \
	    "half-closed $p: the client's FIN reached the server"
	ms=$(line closed "$out" | sed 's/^after \([0-9]*\) ms$/\1/')
	check "[ ${ms:-0} -ge 1500 ] && [ ${ms:-0} -le 6000 ]" \
	    "half-closed $p: closed by sluiced ${ms:-?} ms after the client's FIN"
	flowlog_expect "half-closed $p: flow.end says idle_timeout, TD (one direction had ended)" \
	    "cli=10.1.0.2:${port:-none}" event=flow.end reason=idle_timeout \
	    term=TD
	touch "$T/hc-$p"
done

flowlog_valid
done_testing
