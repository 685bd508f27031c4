#!/bin/bash
# 160-udp-forward: sluiced forwards the UDP that `sluicectl nft` TPROXYs to
# the transparent listener's endpoint (issue 14, "UDP forwarding").
#
# The ruleset sluicectl prints is loaded in gw as is; sluiced binds the
# UDP side of its transparent listeners.  A UDP echo server in srv
# (py/udpecho.py) is reached from cli through the gateway:
#   (a) splice, IPv4 and IPv6: datagrams both ways, the client sees the
#       replies come from the original destination, the server sees the
#       gateway's own address (the datagrams crossed sluiced, they were not
#       routed past it); a reply larger than its request is forwarded;
#   (b) a denied destination: nothing reaches the server, a burst of 100
#       datagrams is one flow.blocked with count 100;
#   (c) `default inspect` on a UDP destination: dropped and logged
#       udp_not_inspectable;
#   (d) flow.end after udp-idle-timeout with packets and bytes both ways;
#   (e) coturn's turnutils_uclient allocates and exchanges data with a
#       real turnserver through the gateway on udp/3478;
#   (f) QUIC on udp/443: an Initial whose SNI a splice rule names passes
#       (the server gets it and the echo comes back), one naming another
#       host is dropped and logged; a name that does not resolve to the
#       destination buys nothing (sni_mismatch);
#   (g) junk: 1000 datagrams of random bytes and lying STUN headers to a
#       denied and to a spliced destination, oversized ones dropped and
#       counted; sluiced keeps forwarding;
#   (i) `stun-only`: STUN and ChannelData pass, other datagrams from the
#       client are dropped (a first one: not_stun);
#   (h) udp-max-sessions-per-client: refused, logged, udp_no_session;
#   (j) the same forwarding through `listen tproxy`;
#   (k) a link-local destination refused by the guard rails;
#   (l) runs of equal-size datagrams back to back (a video frame's shape,
#       which sluiced sends as UDP GSO messages): every datagram arrives
#       whole, in order, and counted.
# sluiced runs as nobody: every thread keeps CAP_NET_RAW and
# CAP_NET_BIND_SERVICE and nothing else.  All loops and waits are bounded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

topo_up
dns_start
[ -x "$BUILD/tools/quicinit" ] || setup_fail "$BUILD/tools/quicinit does not exist (make test-bins)"

ECHO="$PYDIR/udpecho.py"

# ping DEST [ARGS]: py/udpecho.py ping from cli, its one line.
ping() {
	local dest=$1
	shift
	in_cli timeout 30 "$PY" "$ECHO" ping "$@" "$dest" 2>&1
}

# field LINE NAME: the value of NAME=... in LINE.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# turn_ends: flow.end events of TURN sessions (proto stun, rule turn)
# that carried at least 20 datagrams each way, after line $TURN_FROM of
# the flow log.
turn_ends() {
	"$PY" - "$FLOWLOG" "$TURN_FROM" <<'EOF'
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1])):
    if i < int(sys.argv[2]):
        continue
    e = json.loads(line)
    if (e.get("event") == "flow.end" and e.get("proto") == "stun" and
            e.get("rule") == "turn" and e.get("action") == "splice" and
            e.get("pkts_up", 0) >= 20 and e.get("pkts_down", 0) >= 20):
        n += 1
print(n)
EOF
}

# at_least N CMD...: CMD prints a number >= N (for wait_for, which runs
# its command again each time).
at_least() {
	local n=$1
	shift
	[ "$("$@")" -ge "$n" ]
}

reloads() { grep -c 'configuration reloaded' "$T/sluiced.err"; }
srv_lines() { grep -c " on=$1 " "$T/echo.log"; }

# reload_wait CONFIGTEXT: sluiced_reload, then wait (5 s) for the daemon
# log to say it is done.
reload_wait() {
	local n
	n=$(reloads)
	sluiced_reload "$1"
	wait_for 5 at_least $((n + 1)) reloads ||
	    setup_fail "reload" "$(tail -n 5 "$T/sluiced.err")"
}

# log_sum WORDS: the numbers before WORDS in the daemon log's per-second
# UDP lines, summed (a burst may span two lines).
log_sum() {
	sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" "$T/sluiced.err" |
	    awk '{ n += $1 } END { print n + 0 }'
}
client_full() { log_sum 'at udp-max-sessions-per-client (2)'; }
truncated() { log_sum 'truncated (over 9216 bytes)'; }
not_stun() { log_sum 'not STUN on a stun-only rule'; }

# srv_got ADDR: lines of the echo server for datagrams on ADDR (ADDR:PORT).
srv_got() {
	grep -c " on=$1 " "$T/echo.log"
}

bg "$SRV" echo "$PY" "$ECHO" serve --max 120 --grow 7 \
    10.2.0.2:3478 '[fd00:2::2]:3478' 10.2.0.3:3478 10.2.0.4:7000 \
    10.2.0.2:443 10.2.0.3:443 10.2.0.2:5349
ECHO_PID=$BG_PID
wait_for 5 grep -qx ready "$T/echo.log" ||
    setup_fail "the UDP echo server did not start" "$(cat "$T/echo.log")"

# One worker: the session limits are per worker, and which worker a client
# port lands on is the kernel's hash.
POLICY='
set workers 1
set transparent-udp-ports udp/3478,udp/5349,udp/443,udp/7000
set udp-idle-timeout 2s
set udp-blocked-interval 1s
rule stun5349 splice stun-only ip 10.2.0.2 port udp/5349
rule turn splice ip 10.2.0.2,fd00:2::2 port udp/3478,udp/5349
rule denied deny ip 10.2.0.3 port udp/3478
rule quic-ok splice domain www.example.test port udp/443
rule quic-liar splice domain other.example.test port udp/443
default inspect
'
# As the unprivileged user it drops to: every session's socket towards
# the client needs IP_TRANSPARENT and, for QUIC, a bind to port 443, for
# which sluiced keeps CAP_NET_RAW and CAP_NET_BIND_SERVICE.
SLUICED_OPTS="-o user=nobody"
transparent_start "$POLICY"
udp_routing_start

bad=0
for t in /proc/$SLUICED_PID/task/*/status; do
	[ "$(awk '/^Uid:/ { print $3 }' "$t") $(awk '/^CapEff:/ { print $2 }' "$t")" = \
	    "$(id -u nobody) 0000000000002400" ] || bad=$((bad + 1))
done
is "$bad" 0 "every thread of sluiced runs as nobody with CAP_NET_RAW and CAP_NET_BIND_SERVICE (0x2400) as its only capabilities"
like "$(cat "$T/sluiced.err")" 'running as nobody .*with CAP_NET_RAW and CAP_NET_BIND_SERVICE only' \
    "the daemon log says what it kept for UDP forwarding"

# --- (a) splice, IPv4 -------------------------------------------------------
out=$(ping 10.2.0.2:3478 --count 5 --size 100)
is "$(field "$out" sent) $(field "$out" recv)" "5 5" \
    "splice (IPv4): 5 datagrams to 10.2.0.2:3478 through the gateway, 5 echoes back ($out)"
is "$(field "$out" from)" "10.2.0.2:3478" \
    "the echoes come from the original destination 10.2.0.2:3478"
is "$(field "$out" bytes_in)" "$(( $(field "$out" bytes_out) + 5 * 7 ))" \
    "each echo is 7 bytes longer than its request, and forwarded whole"
P4=$(field "$out" port)
is "$(grep ' on=10.2.0.2:3478 ' "$T/echo.log" | grep -c ' from=10.2.0.1:')" 5 \
    "the server got the 5 datagrams from the gateway's own address (they crossed sluiced)"
is "$(grep -c " from=10.1.0.2:$P4 " "$T/echo.log")" 0 \
    "and none with the client's address (nothing routed past sluiced)"

# --- (a) splice, IPv6 -------------------------------------------------------
out=$(ping '[fd00:2::2]:3478' --count 5 --size 60)
is "$(field "$out" sent) $(field "$out" recv)" "5 5" \
    "splice (IPv6): 5 datagrams to [fd00:2::2]:3478, 5 echoes back ($out)"
is "$(field "$out" from)" "[fd00:2::2]:3478" \
    "the IPv6 echoes come from the original destination [fd00:2::2]:3478"
P6=$(field "$out" port)
is "$(grep ' on=\[fd00:2::2\]:3478 ' "$T/echo.log" | grep -c ' from=\[fd00:2::1\]:')" 5 \
    "the IPv6 server got them from the gateway's own address"

# --- (b) a denied destination, a burst of 100 --------------------------------
out=$(in_cli timeout 10 "$PY" "$ECHO" burst --count 100 10.2.0.3:3478 denied)
PB=${out#port=}
FLOWLOG_WAIT=6 flowlog_expect "deny: one aggregated flow.blocked for the burst" \
    "event=flow.blocked dst=10.2.0.3:3478" \
    rule=denied action=deny reason=policy proto=udp count=100 mode=transparent \
    "cli=10.1.0.2:$PB"
is "$(flowlog_count 'event=flow.blocked dst=10.2.0.3:3478')" 1 \
    "deny: exactly one flow.blocked for 100 datagrams"
sleep 0.5
is "$(srv_got 10.2.0.3:3478)" 0 "deny: nothing reached the server"

# --- (c) default inspect on UDP ------------------------------------------------
out=$(ping 10.2.0.4:7000 --count 3 --timeout 0.5)
is "$(field "$out" recv)" 0 "default inspect: no echo for 10.2.0.4:7000 ($out)"
flowlog_expect "default inspect: dropped and logged udp_not_inspectable" \
    "event=flow.blocked dst=10.2.0.4:7000" \
    rule=default action=deny reason=udp_not_inspectable proto=udp count=3
is "$(srv_got 10.2.0.4:7000)" 0 "default inspect: nothing reached the server"

# --- (k) a guarded destination (CVE-2020-26262: no relaying into the
# appliance's neighbourhood): link-local is refused before any rule.
out=$(in_cli timeout 10 "$PY" "$ECHO" burst --count 3 169.254.7.7:3478 guard)
FLOWLOG_WAIT=6 flowlog_expect "guard rail: UDP to a link-local address is refused" \
    "event=flow.blocked dst=169.254.7.7:3478" action=deny reason=link-local count=3 "rule~^guard:"

# --- (d) flow.end after the idle timeout ----------------------------------------
FLOWLOG_WAIT=8 flowlog_expect "flow.end (IPv4) after udp-idle-timeout, packets and bytes both ways" \
    "event=flow.end cli=10.1.0.2:$P4" \
    dst=10.2.0.2:3478 rule=turn action=splice proto=udp mode=transparent \
    pkts_up=5 pkts_down=5 up=500 down=535 term=TR "ms>=2000"
FLOWLOG_WAIT=8 flowlog_expect "flow.end (IPv6) with its counts" \
    "event=flow.end cli=[fd00:1::2]:$P6" \
    "dst=[fd00:2::2]:3478" rule=turn pkts_up=5 pkts_down=5 up=300 down=335

# --- (l) runs of equal sizes, sent back to back ------------------------------------
# What a video sender does: frames of full datagrams and a shorter last one.
# sluiced sends such runs as one UDP_SEGMENT message each way (GSO): the
# other side must still get the same datagrams, whole and in order, and
# the session must count each one.
out=$(in_cli timeout 10 "$PY" "$ECHO" train --grow 7 10.2.0.2:3478)
is "$(field "$out" sent) $(field "$out" recv) $(field "$out" intact) $(field "$out" order)" \
    "63 63 63 1" "runs of 1200-byte datagrams: every echo came back whole and in order ($out)"
PT=$(field "$out" port)
out=$(in_cli timeout 10 "$PY" "$ECHO" train --grow 7 --frames 2 --full 60 \
    --size 100 --tail 40 '[fd00:2::2]:3478')
is "$(field "$out" sent) $(field "$out" recv) $(field "$out" intact) $(field "$out" order)" \
    "122 122 122 1" "runs of 100-byte datagrams over IPv6: whole and in order ($out)"
is "$(grep ' on=10.2.0.2:3478 ' "$T/echo.log" | grep -c ' len=1200 ')" 60 \
    "the server got 60 datagrams of 1200 bytes, none merged"
FLOWLOG_WAIT=8 flowlog_expect "the run's session counts each datagram both ways" \
    "event=flow.end cli=10.1.0.2:$PT" pkts_up=63 pkts_down=63 up=72900 down=73341

# --- (f) QUIC on udp/443 decided by the SNI of the Initial ------------------------
"$BUILD/tools/quicinit" www.example.test >"$T/q-ok.bin" ||
    setup_fail "quicinit www.example.test"
"$BUILD/tools/quicinit" ads.example.test >"$T/q-no.bin" ||
    setup_fail "quicinit ads.example.test"
"$BUILD/tools/quicinit" other.example.test >"$T/q-liar.bin" ||
    setup_fail "quicinit other.example.test"
out=$(ping 10.2.0.2:443 --count 2 --file "$T/q-ok.bin")
is "$(field "$out" recv)" 2 "QUIC: an Initial naming a spliced host passes, and what follows ($out)"
is "$(grep ' on=10.2.0.2:443 ' "$T/echo.log" | grep -c 'len=1200 ')" 1 \
    "QUIC: the server got the 1200-byte Initial itself"
QP=$(field "$out" port)
out=$(ping 10.2.0.2:443 --count 2 --timeout 0.5 --file "$T/q-no.bin")
is "$(field "$out" recv)" 0 "QUIC: an Initial naming another host gets nothing ($out)"
flowlog_expect "QUIC: the refused Initial is logged with its name" \
    "event=flow.blocked dst=10.2.0.2:443 sni=ads.example.test" \
    rule=default reason=udp_not_inspectable proto=quic count=1
out=$(ping 10.2.0.2:443 --count 1 --timeout 0.5 --file "$T/q-liar.bin")
is "$(field "$out" recv)" 0 "QUIC: a name that does not resolve to the destination buys nothing ($out)"
flowlog_expect "QUIC: logged sni_mismatch" \
    "event=flow.blocked dst=10.2.0.2:443 reason=sni_mismatch" proto=quic sni=other.example.test
# Two refused names from one client to one destination within the
# interval: one flow.blocked for each name, not one for both.
"$BUILD/tools/quicinit" tracker.example.test >"$T/q-tr.bin" ||
    setup_fail "quicinit tracker.example.test"
FLOWLOG_SINCE=$(wc -l <"$FLOWLOG")
export FLOWLOG_SINCE
ping 10.2.0.2:443 --count 1 --timeout 0.1 --file "$T/q-no.bin" >/dev/null
ping 10.2.0.2:443 --count 1 --timeout 0.1 --file "$T/q-tr.bin" >/dev/null
flowlog_expect "QUIC: a second name refused in the same interval is its own event" \
    "event=flow.blocked dst=10.2.0.2:443 sni=tracker.example.test" \
    reason=udp_not_inspectable count=1
flowlog_expect "QUIC: and the first name keeps its own" \
    "event=flow.blocked dst=10.2.0.2:443 sni=ads.example.test" count=1
FLOWLOG_SINCE=0
is "$(grep ' on=10.2.0.2:443 ' "$T/echo.log" | grep -c 'len=1200 ')" 1 \
    "QUIC: neither refused Initial reached the server"
FLOWLOG_WAIT=8 flowlog_expect "QUIC: flow.end names the SNI" \
    "event=flow.end cli=10.1.0.2:$QP" \
    rule=quic-ok proto=quic sni=www.example.test pkts_up=2 pkts_down=2

# --- (g) bad input: random bytes, lying STUN headers, oversized datagrams -----
out=$(in_cli timeout 20 "$PY" "$ECHO" junk --count 1000 10.2.0.3:3478)
PJ=${out#port=}
FLOWLOG_WAIT=6 flowlog_expect "junk: 1000 datagrams to a denied destination are one flow.blocked" \
    "event=flow.blocked cli=10.1.0.2:$PJ" dst=10.2.0.3:3478 count=1000 rule=denied
n0=$(grep -c ' on=10.2.0.2:3478 ' "$T/echo.log")
in_cli timeout 20 "$PY" "$ECHO" junk --count 1000 --seed 7 10.2.0.2:3478 >/dev/null
wait_for 5 at_least $((n0 + 1000)) srv_lines 10.2.0.2:3478
is "$(( $(grep -c ' on=10.2.0.2:3478 ' "$T/echo.log") - n0 ))" 1000 \
    "junk: 1000 datagrams of random bytes to a spliced destination are forwarded as they are (UDP is not parsed)"
in_cli timeout 20 "$PY" "$ECHO" junk --count 5 --size 12000 10.2.0.2:3478 >/dev/null
wait_for 5 at_least 5 truncated
is "$(truncated)" 5 "oversized datagrams: dropped, counted in the daemon log"
is "$(grep ' on=10.2.0.2:3478 ' "$T/echo.log" | grep -c 'len=12000 ')" 0 \
    "oversized datagrams: none forwarded cut short"
out=$(ping 10.2.0.2:3478 --count 3)
is "$(field "$out" recv)" 3 "after the junk sluiced still forwards ($out)"

# --- (i) stun-only: STUN first, then STUN or ChannelData ----------------------
# A Binding request (RFC 8489: type 0x0001, no attributes, the cookie, a
# transaction id), a text datagram, ChannelData on channel 0x4000, a STUN
# header whose length lies, another Binding request.
BIND=000100002112a442000102030405060708090a0b
BIND2=000100002112a442aabbccddeeff001122334455
out=$(in_cli timeout 20 "$PY" "$ECHO" seq 10.2.0.2:5349 \
    "$BIND" 70696e67 4000000461626364 000100402112a442000102030405060708090a0b "$BIND2")
is "${out%% *}" "echoes=1,0,1,0,1" \
    "stun-only: STUN and ChannelData pass, a text datagram and a lying STUN header are dropped ($out)"
n=$(grep -c ' on=10.2.0.2:5349 ' "$T/echo.log")
is "$n" 3 "stun-only: the server got exactly the 3 well-formed datagrams"
out=$(in_cli timeout 20 "$PY" "$ECHO" seq --timeout 0.5 10.2.0.2:5349 70696e67 "$BIND")
# A refusal leaves no state: the STUN message after it starts a session.
is "${out%% *}" "echoes=0,1" \
    "stun-only: a first datagram that is not STUN is refused; a Binding request after it starts the session"
FLOWLOG_WAIT=6 flowlog_expect "stun-only: refused with reason not_stun" \
    "event=flow.blocked dst=10.2.0.2:5349" rule=stun5349 reason=not_stun count=1
is "$(grep -c ' on=10.2.0.2:5349 ' "$T/echo.log")" 4 "stun-only: of those two only the Binding request reached the server"
# The text and the lying header in the session, and the refused first one.
wait_for 5 at_least 3 not_stun
is "$(not_stun)" 3 "stun-only: the 3 drops are counted in the daemon log"

# --- (h) the per-client session limit ----------------------------------------
reload_wait "$POLICY
set udp-max-sessions-per-client 2"
# Sessions from before have ended (idle 2 s); 4 new client ports now.
sleep 4
for i in 1 2 3 4; do
	ping 10.2.0.2:3478 --count 1 --timeout 0.3 >/dev/null
done
# What counts is sluiced's own account, once a second in the daemon log.
wait_for 5 at_least 2 client_full
is "$(client_full)" 2 \
    "per-client limit: the 3rd and 4th session of one client refused, logged with the setting"
FLOWLOG_WAIT=6 flowlog_expect "per-client limit: a refused session is a flow.blocked udp_no_session" \
    "event=flow.blocked dst=10.2.0.2:3478" reason=udp_no_session proto=udp

# --- (e) coturn through the gateway on udp/3478 ------------------------------------
if ! command -v turnserver >/dev/null || ! command -v turnutils_uclient >/dev/null; then
	not_ok "coturn's turnserver and turnutils_uclient are installed (scripts/deps.sh test)"
else
	# TURN clients pause between allocating and sending: a 2 s idle
	# timeout would end their sessions meanwhile (a new session is a new
	# source port at the server, and the allocation is lost).
	stop_pid "$ECHO_PID"
	reload_wait "$(sed 's/udp-idle-timeout 2s/udp-idle-timeout 8s/' <<<"$POLICY")"
	bg "$SRV" turn turnserver -n --listening-ip=10.2.0.2 --relay-ip=10.2.0.2 \
	    --listening-port=3478 --no-tls --no-dtls --no-tcp --no-cli \
	    --lt-cred-mech --user=alice:secret --realm=example.test \
	    --min-port=49160 --max-port=49200 --log-file=stdout \
	    --simple-log --pidfile="$T/turn.pid" --allow-loopback-peers
	TURN_PID=$BG_PID
	wait_listen "$SRV" 10.2.0.2 3478 udp 10 ||
	    setup_fail "turnserver did not start" "$(tail -n 20 "$T/turn.log")"
	TURN_FROM=$(wc -l <"$FLOWLOG")
	out=$(in_cli timeout 60 turnutils_uclient -u alice -w secret -y -n 20 \
	    -m 2 -l 120 10.2.0.2 2>&1)
	printf '%s\n' "$out" >"$T/uclient.log"
	like "$out" 'Total lost packets 0 \(0\.0+%\)' \
	    "TURN: turnutils_uclient allocates and relays through sluiced, nothing lost"
	is "$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\1 \2/p' <<<"$out")" "80 80" \
	    "TURN: the 4 clients sent 80 messages through their relays and received all 80" \
	    "$(tail -n 20 <<<"$out")"
	# The 4 allocations' sessions end after the 8 s idle timeout.
	wait_for 15 at_least 4 turn_ends
	is "$(turn_ends)" 4 \
	    "TURN: 4 flow.end events, proto stun, rule turn, each with >= 20 datagrams both ways"
	stop_pid "$TURN_PID"
	stop_pid "$ECHO_PID"
fi

# --- (j) the same through `listen tproxy` ---------------------------------------
bg "$SRV" echo2 "$PY" "$ECHO" serve --max 60 10.2.0.2:3478 '[fd00:2::2]:3478'
wait_for 5 grep -qx ready "$T/echo2.log" ||
    setup_fail "the second UDP echo server did not start" "$(cat "$T/echo2.log")"
sluiced_stop
while IFS= read -r cmd; do
	# shellcheck disable=SC2086
	in_gw ${cmd/ add / del } 2>/dev/null
done <"$T/routing"
transparent_start "$POLICY" tproxy
wait_listen "$GW" '[fd00:1::1]' 3130 udp 5 ||
    setup_fail "sluiced does not listen on udp [fd00:1::1]:3130" "$(tail -n 20 "$T/sluiced.err")"
out=$(ping 10.2.0.2:3478 --count 3)
is "$(field "$out" recv) $(field "$out" from)" "3 10.2.0.2:3478" \
    "tproxy listener: IPv4 splice, echoes from the original destination ($out)"
out=$(ping '[fd00:2::2]:3478' --count 3)
is "$(field "$out" recv) $(field "$out" from)" "3 [fd00:2::2]:3478" \
    "tproxy listener: IPv6 splice, echoes from the original destination ($out)"
is "$(grep -c ' from=10.2.0.1:' "$T/echo2.log") $(grep -c ' from=\[fd00:2::1\]:' "$T/echo2.log")" "3 3" \
    "tproxy listener: the server saw the gateway's addresses"

flowlog_valid
done_testing
