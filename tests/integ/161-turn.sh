#!/bin/bash
# 161-turn: STUN and TURN with a real coturn through sluiced (issue 14,
# "TURN/STUN tests"), what 160-udp-forward does not cover.
#
# coturn's turnserver in srv listens on 10.2.0.2 and 10.2.0.3, UDP and TCP
# 3478, TLS and DTLS 5349 (a certificate from the test CA), and a second
# instance on TCP 443 of 10.2.0.2 and 10.2.0.4 (TURN over TCP or TLS:
# coturn tells them apart).
# gw's forward chain drops everything cli sends to be routed (an nft
# counter proves the rule works): only what sluiced takes reaches srv.
#   (a) turnutils_stunclient gets its mapped address through sluiced: the
#       address srv saw is the gateway's own; a flow.end (proto stun) after
#       udp-idle-timeout, term TR, is its session's expiry;
#   (b) turnutils_uclient allocates and relays data (two clients relaying
#       to each other) over UDP 3478 (a stun-only rule: TURN passes it),
#       DTLS on UDP 5349, TCP 3478, TLS 5349 and TLS 443 transparently,
#       and TURN-TCP, TLS 443, TCP 3478 and TLS 5349 through an explicit
#       CONNECT (socat in cli is the CONNECT client): every flow logged
#       spliced with its protocol (stun, tls, udp for DTLS);
#   (c) TURN-TCP in a CONNECT to 10.2.0.4:443, and transparent on it,
#       under an inspect rule (with a CA: inspecting is possible): not
#       TLS, passed untouched (logged splice, proto stun), the relay
#       works; TLS in the same CONNECT is inspected (the control);
#   a stun-only rule on udp/3478 drops not one datagram of coturn's
#   client (it binds channels up to 0x7fff, which RFC 5766 allowed);
#   (d) a denied TURN destination (10.2.0.3:3478, UDP and TCP): the
#       client gets nothing, coturn's address counted no packet (srv's
#       nft counter), the burst is one flow.blocked whose count is what
#       cli's counter saw leave;
#   (e) 10,000 malformed datagrams (random bytes, lying STUN lengths,
#       truncated headers, lengths not a multiple of 4, ChannelData whose
#       length lies) on one stun-only session: a Binding request before
#       and after them answered, none of them reaches coturn (srv's
#       counter moves by the 2 Binding requests), the 10,000 counted in
#       the daemon log's per-second line (a few lines, not 10,000); the
#       same to a denied destination: one or two flow.blocked whose counts
#       add up to 10,000, nothing at srv;
#   (f) truncated STUN-over-TCP frames to TCP 3478: the connection ends
#       cleanly, flow.end counts the bytes sent (passed untouched);
#   (g) udp-idle-timeout: the stunclient's and the junk's sessions end
#       with flow.end, term TR, after 8 s (the junk one forwarded 2
#       datagrams each way); udp-max-sessions (global, 3): 2 of 5
#       stunclients refused, the daemon log's count and the flow.blocked
#       (udp_no_session) counts agree.
# sluiced is alive throughout and forwards a Binding request at the end.
# All loops and waits are bounded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

for c in turnserver turnutils_uclient turnutils_stunclient; do
	command -v "$c" >/dev/null ||
	    setup_fail "coturn (turnserver, turnutils_uclient, turnutils_stunclient) is not installed (scripts/deps.sh test)"
done
command -v socat >/dev/null || setup_fail "socat is not installed (scripts/deps.sh test)"

topo_up
certs_make
dns_start

JUNK="$PYDIR/turnjunk.py"

# at_least N CMD...: CMD prints a number >= N.
at_least() {
	local n=$1
	shift
	[ "$("$@")" -ge "$n" ]
}

# log_sum WORDS: the numbers before WORDS in the daemon log, summed.
log_sum() {
	sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" "$T/sluiced.err" |
	    awk '{ n += $1 } END { print n + 0 }'
}
not_stun() { log_sum 'not STUN on a stun-only rule'; }
not_stun_lines() { grep -c ' [1-9][0-9]* not STUN on a stun-only rule' "$T/sluiced.err"; }
max_full() { log_sum 'datagram(s) refused at udp-max-sessions (3)'; }

# counter NS NAME: the packets of nft counter NAME of table inet t161 in NS.
counter() {
	ip netns exec "$1" nft list counter inet t161 "$2" |
	    sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}

# blocked_sum SELECT: count summed over the flow.blocked events matching
# SELECT (flow log lines after $FLOWLOG_SINCE, if set); "EVENTS SUM".
blocked_sum() {
	flowlog_grep "event=flow.blocked $1" | "$PY" -c 'import json, sys
n = s = 0
for l in sys.stdin:
    n += 1
    s += json.loads(l).get("count", 0)
print(n, s)'
}

# uclient NAME ARGS...: turnutils_uclient in cli, two clients relaying to
# each other (-y), 10 messages each, no RTCP, in the background, output in
# $T/uc-NAME.log; its PID is added to UC_PIDS.
UC_PIDS=""
uclient() {
	local name=$1
	shift
	ip netns exec "$CLI" timeout 40 turnutils_uclient -u alice -w secret \
	    -y -c -n 10 -m 1 -l 120 "$@" >"$T/uc-$name.log" 2>&1 &
	UC_PIDS="$UC_PIDS $!"
}
uclient_wait() {
	local p
	for p in $UC_PIDS; do
		wait "$p"
	done
	UC_PIDS=""
}

# uc_msgs NAME: "SENT RECV" of a uclient run (its summary line).
uc_msgs() {
	sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\1 \2/p' \
	    "$T/uc-$1.log" | tail -n 1
}

# uc_check NAME DESC: the run relayed 20 messages and got back (through
# the other client's relay) at least 15 of them: coturn's uclient over
# TLS loses one or two it sends just before it stops reading, with no
# gateway on the way too.  Over UDP and plain TCP: every one.
uc_check() {
	local got s r min=20
	got=$(uc_msgs "$1")
	case "$1" in *tls*) min=15 ;; esac
	read -r s r <<<"${got:-0 0}"
	if [ "$s" = 20 ] && [ "$r" -ge "$min" ]; then
		ok "$2 (sent $s, received $r)"
	else
		not_ok "$2" "sent '$s' received '$r' (want 20 and >= $min)" \
		    "$(grep -v 'msz=\|: : $' "$T/uc-$1.log" | tail -n 15)"
	fi
}

# --- coturn --------------------------------------------------------------------
mkdir -p "$T/turn"
turn_start() {	# NAME ARGS...
	local name=$1
	shift
	bg "$SRV" "$name" turnserver -n --no-cli --log-file=stdout --simple-log \
	    --lt-cred-mech --user=alice:secret --realm=example.test \
	    --cert="$T/srv.crt" --pkey="$T/srv.key" \
	    --userdb="$T/turn/$name.db" --pidfile="$T/turn/$name.pid" "$@"
}
turn_start turn --listening-ip=10.2.0.2 --listening-ip=10.2.0.3 \
    --relay-ip=10.2.0.2 --listening-port=3478 --tls-listening-port=5349 \
    --alt-listening-port=3479 --alt-tls-listening-port=5350 \
    --min-port=49160 --max-port=49300
turn_start turn443 --listening-ip=10.2.0.2 --listening-ip=10.2.0.4 \
    --relay-ip=10.2.0.2 --alt-listening-port=444 --alt-tls-listening-port=4444 \
    --listening-port=443 --tls-listening-port=4443 --no-udp --no-dtls \
    --min-port=49301 --max-port=49400
for ep in "10.2.0.2 3478 udp" "10.2.0.2 5349 udp" "10.2.0.2 3478 tcp" \
    "10.2.0.2 5349 tcp" "10.2.0.3 3478 udp" "10.2.0.2 443 tcp" \
    "10.2.0.4 443 tcp"; do
	# shellcheck disable=SC2086
	set -- $ep
	wait_listen "$SRV" "$1" "$2" "$3" 10 ||
	    setup_fail "turnserver does not listen on $3 $1:$2" \
	    "$(tail -n 20 "$T/turn.log" "$T/turn443.log")"
done

# Counters in srv (what reached coturn's addresses) and cli (what left).
setup_do "nft counters in srv" in_srv nft -f - <<'EOF'
table inet t161 {
	counter denied_udp {}
	counter denied_tcp {}
	counter junk_denied {}
	counter turn_udp {}
	chain input {
		type filter hook input priority -5; policy accept;
		ip daddr 10.2.0.3 udp dport 3478 counter name denied_udp
		ip daddr 10.2.0.3 tcp dport 3478 counter name denied_tcp
		ip daddr 10.2.0.3 udp dport 5349 counter name junk_denied
		ip daddr 10.2.0.2 udp dport 3478 counter name turn_udp
	}
}
EOF
setup_do "nft counters in cli" in_cli nft -f - <<'EOF'
table inet t161 {
	counter denied_out {}
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 10.2.0.3 udp dport 3478 counter name denied_out
	}
}
EOF

# --- sluiced -------------------------------------------------------------------
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test 161 CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
# One worker: the session limits are per worker.
POLICY='
set workers 1
set transparent-udp-ports udp/3478,udp/5349
set transparent-tcp-ports 443,3478,5349
set udp-idle-timeout 8s
set udp-blocked-interval 3s
rule turn-denied deny ip 10.2.0.3 port udp/3478,udp/5349,3478
rule turn-udp splice stun-only ip 10.2.0.2 port udp/3478
rule turn-dtls splice ip 10.2.0.2 port udp/5349
rule turn-tcp splice ip 10.2.0.2 port 3478,5349
rule turn-443 splice ip 10.2.0.2 port 443
rule turn-443i inspect ip 10.2.0.4 port 443
default inspect
'
# A CA: inspecting is possible (and origins verified against the test CA).
# shellcheck disable=SC2034	# read by sluiced_start (lib.sh)
SLUICED_OPTS="-o ca-cert=$T/state/ca.pem -o ca-key=$T/state/ca.key -o upstream-ca-bundle=$CA"
transparent_start "$POLICY"
udp_routing_start

# Nothing from cli is routed on: what reaches srv went through sluiced.
setup_do "forward drop in gw" in_gw nft -f - <<'EOF'
table inet t161 {
	counter routed {}
	counter routed_udp {}
	counter routed_syn {}
	chain forward {
		type filter hook forward priority -10; policy accept;
		iifname "g0" meta l4proto udp counter name routed_udp
		iifname "g0" tcp flags & (syn | ack) == syn counter name routed_syn
		iifname "g0" counter name routed drop
	}
}
EOF
in_cli bash -c 'echo probe >/dev/udp/10.2.0.2/7777'
in_cli timeout 1 bash -c 'exec 3<>/dev/tcp/10.2.0.2/81' 2>/dev/null
wait_for 2 at_least 1 counter "$GW" routed_syn
is "$(counter "$GW" routed_udp) $(counter "$GW" routed_syn)" "1 1" \
    "control: a datagram to udp/7777 and a SYN to tcp/81 (ports sluice does not take) are routed, counted and dropped in gw's forward chain"

# --- (a) STUN binding through sluiced -----------------------------------------------
STUN_FROM=$(wc -l <"$FLOWLOG")
out=$(in_cli timeout 10 turnutils_stunclient 10.2.0.2 2>&1)
like "$out" 'UDP reflexive addr: 10\.2\.0\.1:[0-9]+' \
    "stunclient: a Binding response with the mapped address, which is the gateway's own (10.2.0.1): the request crossed sluiced"
unlike "$out" 'reflexive addr: 10\.1\.0\.2:' "stunclient: coturn never saw the client's own address"
is "$(counter "$GW" routed_udp)" 1 "the forward chain saw no more datagrams: none was routed past sluiced"

# --- (d) a denied TURN destination ------------------------------------------------------
DENY_FROM=$(wc -l <"$FLOWLOG")
in_cli timeout 4 turnutils_uclient -u alice -w secret -y -c -n 5 -m 1 \
    10.2.0.3 >"$T/uc-denied.log" 2>&1 &
DENY_PID=$!

# --- (b) TURN over every transport, transparent and through CONNECT ---------------------
# CONNECT clients: socat in cli turns a local port into a CONNECT tunnel.
for p in 13478:3478 15349:5349 10443:443; do
	bg "$CLI" "socat-${p%%:*}" socat "TCP-LISTEN:${p%%:*},bind=10.1.0.2,reuseaddr,fork" \
	    "PROXY:10.1.0.1:10.2.0.2:${p#*:},proxyport=3128"
	wait_listen "$CLI" 10.1.0.2 "${p%%:*}" tcp 5 || setup_fail "socat on ${p%%:*}"
done
bg "$CLI" socat-20443 socat "TCP-LISTEN:20443,bind=10.1.0.2,reuseaddr,fork" \
    "PROXY:10.1.0.1:10.2.0.4:443,proxyport=3128"
wait_listen "$CLI" 10.1.0.2 20443 tcp 5 || setup_fail "socat on 20443"
TURN_FROM=$(wc -l <"$FLOWLOG")
uclient udp 10.2.0.2
uclient dtls -S 10.2.0.2
uclient tcp -t 10.2.0.2
uclient tls -t -S 10.2.0.2
uclient tls443 -t -S -p 443 10.2.0.2
uclient c443 -t -p 10443 10.1.0.2
uclient c443-tls -t -S -p 10443 10.1.0.2
uclient c3478 -t -p 13478 10.1.0.2
uclient c5349-tls -t -S -p 15349 10.1.0.2
# (c): under an inspect rule (10.2.0.4:443, the same coturn).
uclient i443 -t -p 20443 10.1.0.2
uclient i443-tp -t -p 443 10.2.0.4
uclient i443-tls -t -S -p 20443 10.1.0.2
uclient_wait
uc_check udp "TURN over UDP 3478 (a stun-only rule) through sluiced"
uc_check dtls "TURN over DTLS on UDP 5349"
uc_check tcp "TURN over TCP 3478, transparent"
uc_check tls "TURN over TLS 5349, transparent"
uc_check tls443 "TURN over TLS 443, transparent"
uc_check c443 "TURN over TCP in a CONNECT to 10.2.0.2:443"
uc_check c443-tls "TURN over TLS in a CONNECT to 10.2.0.2:443"
uc_check c3478 "TURN over TCP in a CONNECT to 10.2.0.2:3478"
uc_check c5349-tls "TURN over TLS in a CONNECT to 10.2.0.2:5349"
is "$(counter "$GW" routed_udp) $(counter "$GW" routed_syn)" "1 1" \
    "no datagram and no connection of theirs was routed past sluiced"
is "$(not_stun)" 0 "stun-only: not one datagram of the TURN clients was dropped as not STUN"

# Every flow spliced, with its protocol.
export FLOWLOG_SINCE=$TURN_FROM
for c in "transparent 10.2.0.2:3478 stun turn-tcp" \
    "transparent 10.2.0.2:5349 tls turn-tcp" \
    "transparent 10.2.0.2:443 tls turn-443" \
    "explicit 10.2.0.2:443 stun turn-443" \
    "explicit 10.2.0.2:443 tls turn-443" \
    "explicit 10.2.0.2:3478 stun turn-tcp" \
    "explicit 10.2.0.2:5349 tls turn-tcp"; do
	# shellcheck disable=SC2086
	set -- $c
	flowlog_expect "TCP: $1 $3 to $2 logged spliced by $4" \
	    "event=flow.end mode=$1 dst=$2 proto=$3 rule=$4" action=splice \
	    "up>=200" "down>=200"
done
# The UDP ones end after udp-idle-timeout: DTLS is not STUN (proto udp).
FLOWLOG_WAIT=10 flowlog_expect "UDP: TURN over udp/3478 logged spliced by turn-udp (stun), relayed both ways" \
    "event=flow.end mode=transparent dst=10.2.0.2:3478 rule=turn-udp" \
    action=splice proto=stun term=TR "pkts_up>=10" "pkts_down>=10"
FLOWLOG_WAIT=10 flowlog_expect "UDP: DTLS on udp/5349 logged spliced by turn-dtls (udp), relayed both ways" \
    "event=flow.end mode=transparent dst=10.2.0.2:5349 rule=turn-dtls" \
    action=splice proto=udp term=TR "pkts_up>=10" "pkts_down>=10"
unset FLOWLOG_SINCE
n=$(FLOWLOG_SINCE=$TURN_FROM flowlog_count 'event=flow.end mode=explicit' )
isnt "$n" 0 "CONNECT flows logged ($n)"
is "$(FLOWLOG_SINCE=$TURN_FROM flowlog_count 'action=inspect rule!=turn-443i')" 0 \
    "no TURN flow was inspected under splice rules"

# --- (d) the denied destination, checked -------------------------------------------------
wait "$DENY_PID"
rc=$?
is "$rc" 124 "denied: uclient to 10.2.0.3:3478 got nothing and was still waiting after 4 s"
unlike "$(cat "$T/uc-denied.log")" 'allocate response|tot_recv_msgs=[1-9]' \
    "denied: no allocation"
sent=$(counter "$CLI" denied_out)
FLOWLOG_SINCE=$DENY_FROM FLOWLOG_WAIT=6 flowlog_expect \
    "denied: one aggregated flow.blocked, count = the $sent datagrams cli sent" \
    "event=flow.blocked dst=10.2.0.3:3478" rule=turn-denied action=deny \
    reason=policy proto=stun mode=transparent "count=$sent"
is "$(FLOWLOG_SINCE=$DENY_FROM flowlog_count 'event=flow.blocked dst=10.2.0.3:3478')" 1 \
    "denied: exactly one flow.blocked for the burst"
isnt "$sent" 0 "denied: the client did send ($sent datagrams)"
is "$(counter "$SRV" denied_udp)" 0 "denied: coturn's address 10.2.0.3:3478 received no datagram"
# TCP to the same denied destination.
TCPD_FROM=$(wc -l <"$FLOWLOG")
in_cli timeout 4 turnutils_uclient -t -u alice -w secret -y -c -n 5 -m 1 \
    10.2.0.3 >"$T/uc-denied-tcp.log" 2>&1
unlike "$(cat "$T/uc-denied-tcp.log")" 'tot_recv_msgs=[1-9]' "denied TCP 3478: nothing relayed"
FLOWLOG_SINCE=$TCPD_FROM flowlog_expect "denied TCP 3478: flow.blocked by turn-denied" \
    "event=flow.blocked dst=10.2.0.3:3478 mode=transparent" rule=turn-denied action=deny
is "$(counter "$SRV" denied_tcp)" 0 "denied TCP 3478: no segment reached coturn's address"

# --- (c) TURN-TCP in CONNECT 443 under an inspect rule ---------------------------------
uc_check i443 "inspect rule: TURN over TCP in a CONNECT to 10.2.0.4:443 still relays"
uc_check i443-tp "inspect rule: TURN over TCP to 10.2.0.4:443 (transparent) still relays"
export FLOWLOG_SINCE=$TURN_FROM
flowlog_expect "inspect rule: TURN-TCP in CONNECT 443 is not TLS: passed untouched (splice, stun)" \
    "event=flow.end mode=explicit dst=10.2.0.4:443 proto=stun" action=splice rule=turn-443i \
    "up>=200" "down>=200"
flowlog_expect "inspect rule: TURN-TCP transparent on 443 passed untouched (splice, stun)" \
    "event=flow.end mode=transparent dst=10.2.0.4:443 proto=stun" action=splice rule=turn-443i \
    "up>=200" "down>=200"
flowlog_expect "control: TLS in the same CONNECT is inspected" \
    "event=flow.end mode=explicit dst=10.2.0.4:443 proto=tls" action=inspect rule=turn-443i
unset FLOWLOG_SINCE

# --- (e) 10,000 malformed datagrams ---------------------------------------------------
n0=$(counter "$SRV" turn_udp)
ns0=$(not_stun)
JS_FROM=$(wc -l <"$FLOWLOG")
out=$(in_cli timeout 30 "$PY" "$JUNK" udp --bind --count 10000 10.2.0.2:3478)
JS_PORT=${out##*port=}
is "$out" "sent=10000 first=1 last=1 port=${out##*port=}" \
    "junk (stun-only session): 10,000 malformed datagrams sent, a Binding request before and after them answered"
sleep 0.3
is "$(( $(counter "$SRV" turn_udp) - n0 ))" 2 \
    "junk: coturn's address got exactly the 2 Binding requests, none of the 10,000"
wait_for 4 at_least $((ns0 + 10000)) not_stun
is "$(( $(not_stun) - ns0 ))" 10000 "junk: the 10,000 drops counted in the daemon log (not_stun)"
l=$(not_stun_lines)
if [ "$l" -ge 1 ] && [ "$l" -le 8 ]; then
	ok "junk: logged in aggregate ($l per-second lines)"
else
	not_ok "junk: logged in aggregate" "$l lines"
fi
JD_FROM=$(wc -l <"$FLOWLOG")
out=$(in_cli timeout 30 "$PY" "$JUNK" udp --count 10000 --seed 7 10.2.0.3:5349)
like "$out" '^sent=10000 ' "junk (denied): 10,000 malformed datagrams sent to 10.2.0.3:5349"
jd_count() { FLOWLOG_SINCE=$JD_FROM blocked_sum dst=10.2.0.3:5349 | cut -d' ' -f2; }
wait_for 8 at_least 10000 jd_count
read -r ev cnt <<<"$(FLOWLOG_SINCE=$JD_FROM blocked_sum dst=10.2.0.3:5349)"
is "$cnt" 10000 "junk (denied): the flow.blocked counts add up to 10,000 ($ev events)"
if [ "$ev" -ge 1 ] && [ "$ev" -le 2 ]; then
	ok "junk (denied): aggregated ($ev flow.blocked events for 10,000 datagrams)"
else
	not_ok "junk (denied): aggregated" "$ev events"
fi
is "$(counter "$SRV" junk_denied)" 0 "junk (denied): nothing reached 10.2.0.3:5349"
check sluiced_alive "junk: sluiced alive"

# --- (f) truncated STUN-over-TCP frames ------------------------------------------------
# Shorter than a STUN header, the bytes are logged opaque (classify could
# not finish the header before the client's FIN); a whole header whose
# message is cut, stun.
i=0
for hex in 00 000100 0001000c2112a442 000100002112a4420102030405060708090a \
    000100642112a4420102030405060708090a0b0c00060004616c696365; do
	i=$((i + 1))
	proto=opaque
	[ "$i" = 5 ] && proto=stun
	out=$(in_cli timeout 10 "$PY" "$JUNK" tcp 10.2.0.2:3478 "$hex")
	len=$(( ${#hex} / 2 ))
	like "$out" "^sent=$len recv=0 end=(eof|reset) " \
	    "truncated STUN-over-TCP frame $i ($len bytes): the connection is closed, nothing comes back ($out)"
	p=${out##*port=}
	flowlog_expect "truncated frame $i: passed untouched (flow.end, up=$len, $proto)" \
	    "event=flow.end cli=10.1.0.2:$p" dst=10.2.0.2:3478 rule=turn-tcp \
	    action=splice "up=$len" down=0 "proto=$proto"
done
check sluiced_alive "truncated frames: sluiced alive"

# --- idle expiry --------------------------------------------------------------------
FLOWLOG_SINCE=$STUN_FROM flowlog_expect \
    "idle expiry: the stunclient session ended after udp-idle-timeout (8 s) with flow.end" \
    "event=flow.end dst=10.2.0.2:3478 rule=turn-udp pkts_down=1" \
    proto=stun action=splice mode=transparent term=TR "pkts_up>=1" "ms>=8000" "ms<=10500"
# The junk session is the last UDP one: when it has ended, none is left.
FLOWLOG_SINCE=$JS_FROM FLOWLOG_WAIT=12 flowlog_expect \
    "idle expiry: the junk session ends after udp-idle-timeout; it forwarded the 2 Binding requests only" \
    "event=flow.end cli=10.1.0.2:$JS_PORT" dst=10.2.0.2:3478 rule=turn-udp \
    proto=stun term=TR pkts_up=2 pkts_down=2 "ms>=8000"

# --- (g) udp-max-sessions --------------------------------------------------------------
reload_n=$(grep -c 'configuration reloaded' "$T/sluiced.err")
sluiced_reload "$POLICY
set udp-max-sessions 3"
wait_for 5 at_least $((reload_n + 1)) grep -c 'configuration reloaded' "$T/sluiced.err" ||
    setup_fail "reload" "$(tail -n 5 "$T/sluiced.err")"
MAX_FROM=$(wc -l <"$FLOWLOG")
: >"$T/stuns"
for i in 1 2 3 4 5; do
	in_cli timeout 2 turnutils_stunclient 10.2.0.2 >>"$T/stuns" 2>&1
done
is "$(grep -c 'UDP reflexive addr' "$T/stuns")" 3 \
    "udp-max-sessions 3: 3 of 5 stunclients get their mapped address, 2 time out"
wait_for 6 at_least 2 max_full
m=$(max_full)
max_blocked() { FLOWLOG_SINCE=$MAX_FROM blocked_sum 'dst=10.2.0.2:3478 reason=udp_no_session' | cut -d' ' -f2; }
wait_for 6 at_least "$m" max_blocked
read -r ev cnt <<<"$(FLOWLOG_SINCE=$MAX_FROM blocked_sum 'dst=10.2.0.2:3478 reason=udp_no_session')"
if [ "$m" -ge 2 ] && [ "$cnt" = "$m" ]; then
	ok "udp-max-sessions: $m datagrams refused at the limit in the daemon log, the same count in flow.blocked udp_no_session ($ev events)"
else
	not_ok "udp-max-sessions: refused, counted and logged" "daemon log: $m, flow.blocked: $ev events, count $cnt"
fi
FLOWLOG_SINCE=$MAX_FROM flowlog_expect "udp-max-sessions: the refusal is a flow.blocked udp_no_session" \
    "event=flow.blocked dst=10.2.0.2:3478 reason=udp_no_session" action=deny proto=stun rule=turn-udp

# The limit lifted: a last Binding request.
reload_n=$(grep -c 'configuration reloaded' "$T/sluiced.err")
sluiced_reload "$POLICY"
wait_for 5 at_least $((reload_n + 1)) grep -c 'configuration reloaded' "$T/sluiced.err" ||
    setup_fail "reload" "$(tail -n 5 "$T/sluiced.err")"
out=$(in_cli timeout 10 turnutils_stunclient 10.2.0.2 2>&1)
like "$out" 'UDP reflexive addr: 10\.2\.0\.1:' "after all this, sluiced still forwards a Binding request"

flowlog_valid
done_testing
