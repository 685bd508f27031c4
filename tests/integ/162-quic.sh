#!/bin/bash
# 162-quic: real QUIC through sluiced (issue 14): Debian's ngtcp2 examples,
# gtlsserver in srv on udp/443 of every address (a certificate of the test
# CA for *.example.test, a 2 MB file from a directory), gtlsclient in cli
# fetching https://NAME/blob.bin, NAME resolved by the test's dnsmasq
# (www and other.example.test have an AAAA too: gtlsclient takes IPv6, and
# IPv4 for denied.example.test, so both families are crossed).
# UDP 443 is TPROXYed to sluiced by the `sluicectl nft` ruleset and its
# policy routing; routed UDP 443 is dropped in gw's forward chain, so the
# only way through is sluiced's.
#   (a) splice by name: a `splice domain www.example.test port udp/443`
#       rule; the QUIC handshake completes, the 2 MB file arrives intact
#       (sha256), the server sees the gateway's address (not the client's),
#       flow.end has proto quic, the SNI, the rule and packets both ways;
#       nothing was routed past sluiced (the forward drop counted nothing);
#   (b) an inspected name (`inspect domain other.example.test`): every
#       Initial dropped and logged udp_not_inspectable with its SNI, the
#       server receives nothing, the client gives up (its --timeout);
#   (c) a ClientHello split over two Initial packets in two datagrams
#       (gtlsclient with an FFDHE8192 key share, a hello of about 1.3 KB;
#       the client's own log shows the second CRYPTO frame at its offset):
#       spliced, the handshake completes and the file arrives intact; a
#       denied name (`deny domain denied.example.test`; `splice ip
#       10.2.0.3` after it, peek-timeout 1s): both datagrams of the first
#       flight dropped, logged with the deny rule and the name; the
#       retransmitted halves, one PTO apart, each come alone and are
#       refused quic_hello_incomplete rather than spliced by address; no
#       handshake, the server never gets the request;
#   (d) the same split written by tools/quicinit -s (py/udpecho.py in srv
#       in place of gtlsserver): a Chrome-like hello (an X25519MLKEM768
#       share) split at 1100, and a small one split at 16 so the SNI is
#       only in the second datagram, each sent in order and reversed: the
#       first datagram is held, the second decides; spliced, the server
#       gets both (flow.end: 2 packets each way); denied, neither, one
#       flow.blocked with count 2, the deny rule and the name; halves
#       2.5 s apart (more than peek-timeout): each refused on its own,
#       quic_hello_incomplete, though q-addr splices 10.2.0.3 by address;
#   (e) a resumed session (--session-file, --tp-file): the second client's
#       first datagram is its Initial (a hello with pre_shared_key) and a
#       0-RTT packet with the request; the server gets the 0-RTT request,
#       the file arrives intact, flow.end has the SNI.
# Every wait is bounded; the clients that must fail give up after 4 s and
# run at the same time.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

topo_up
for b in gtlsclient gtlsserver; do
	command -v "$b" >/dev/null ||
	    setup_fail "$b is not installed (Debian's ngtcp2-client, ngtcp2-server)"
done
certs_make
dns_start

# The client resolves through the test's dnsmasq: a resolv.conf of its own,
# bind-mounted in a mount namespace of the client alone.
printf 'nameserver 10.2.0.53\n' >"$T/resolv.conf"

# qclient LOG ARGS...: gtlsclient in cli (bounded), its output in
# $T/LOG.log, its exit status returned.
qclient() {
	local log=$1
	shift
	# shellcheck disable=SC2016  # expanded by the inner sh
	in_cli unshare -m --propagation private sh -c \
	    'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$T/resolv.conf" \
	    timeout 20 gtlsclient --no-quic-dump --no-http-dump \
	    --exit-on-all-streams-close "$@" >"$T/$log.log" 2>&1
}

# ends LOG: "cli=ADDR:PORT dst=ADDR:PORT" of the first datagram the
# client sent, as the flow log writes them (the name may resolve to
# either family: gtlsclient takes getaddrinfo's first answer).
ends() {
	sed -n 's/^Sent packet: local=\[\([^]]*\)\]:\([0-9]*\) remote=\[\([^]]*\)\]:\([0-9]*\) .*/\1 \2 \3 \4/p' \
	    "$T/$1.log" | head -n 1 | awk '{
		c = $1 ":" $2; d = $3 ":" $4
		if ($1 ~ /:/) c = "[" $1 "]:" $2
		if ($3 ~ /:/) d = "[" $3 "]:" $4
		print "cli=" c " dst=" d }'
}

# srv_rx ADDR...: datagrams gtlsserver received on any of ADDR (it logs
# each one with its local and remote address).
srv_rx() {
	local a n=0
	for a in "$@"; do
		n=$((n + $(grep -c "^Received packet: local=\[$a\]:443 " "$T/qsrv.log")))
	done
	echo "$n"
}

# srv_from ADDR...: datagrams gtlsserver received from any of ADDR.
srv_from() {
	local a n=0
	for a in "$@"; do
		n=$((n + $(grep -c "^Received packet: .* remote=\[$a\]:" "$T/qsrv.log")))
	done
	echo "$n"
}

# What gtlsclient logs when the handshake completes, and when it gives up.
HS_DONE='QUIC handshake has completed'
GAVE_UP='ERR_IDLE_CLOSE'

# Every client's download directory exists: a file in one is what a
# client that got through writes.
mkdir -p "$T/htdocs" "$T/dl-a" "$T/dl-b" "$T/dl-c" "$T/dl-d" "$T/dl-e" \
    "$T/dl-e2"
head -c 2000000 /dev/urandom >"$T/htdocs/blob.bin" ||
    setup_fail "the 2 MB test file"
BLOB_SHA=$(sha256_of "$T/htdocs/blob.bin")
# One server on every address of srv, both families.
bg "$SRV" qsrv gtlsserver --no-quic-dump --no-http-dump --timeout=10s \
    -d "$T/htdocs" '*' 443 "$T/srv.key" "$T/srv.crt"
QSRV_PID=$BG_PID
wait_listen "$SRV" 0.0.0.0 443 udp 5 ||
    setup_fail "gtlsserver did not start on udp/443" "$(cat "$T/qsrv.log")"

# Routed UDP 443 is dropped: what reaches the servers crossed sluiced.
setup_do "forward drop in gw" in_gw nft -f - <<'EOF'
table inet t162 {
	chain forward {
		type filter hook forward priority 0; policy accept;
		udp dport 443 counter drop
		udp sport 443 counter drop
	}
}
EOF

POLICY='
set workers 1
set transparent-udp-ports udp/443
set udp-idle-timeout 2s
set udp-blocked-interval 1s
set peek-timeout 1s
rule q-ok splice domain www.example.test port udp/443
rule q-insp inspect domain other.example.test port udp/443
rule q-deny deny domain denied.example.test port udp/443
rule q-addr splice ip 10.2.0.3 port udp/443
default deny
'
transparent_start "$POLICY"
udp_routing_start

# The clients that must fail wait 4 s each: run them beside the others.
qclient b --timeout=4s --download "$T/dl-b" \
    other.example.test 443 https://other.example.test/blob.bin &
B_PID=$!
qclient cd --timeout=4s --download "$T/dl-d" \
    --groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519 \
    denied.example.test 443 https://denied.example.test/blob.bin &
CD_PID=$!

# --- (a) splice by name ------------------------------------------------
qclient a --download "$T/dl-a" www.example.test 443 \
    https://www.example.test/blob.bin
is "$?" 0 "splice: gtlsclient exits 0" "$(tail -n 5 "$T/a.log")"
like "$(grep -c "$HS_DONE" "$T/a.log")" '^[1-9]' \
    "splice: the QUIC handshake completes"
is "$(sha256_of "$T/dl-a/blob.bin" 2>/dev/null)" "$BLOB_SHA" \
    "splice: the 2 MB file arrives intact (sha256)"
A_ENDS=$(ends a)
like "$(srv_from 10.2.0.1 fd00:2::1)" '^[1-9][0-9]' \
    "splice: the server got the datagrams from the gateway's address ($A_ENDS)"
is "$(srv_from 10.1.0.2 fd00:1::2)" 0 "splice: none from the client's own address"
FLOWLOG_WAIT=8 flowlog_expect "splice: flow.end with proto quic, the SNI, packets both ways" \
    "event=flow.end $A_ENDS" \
    action=splice rule=q-ok proto=quic sni=www.example.test \
    'pkts_up>=20' 'pkts_down>=1000' 'down>=2000000'

# --- (e) a resumed session with 0-RTT ---------------------------------
# The first connection saves its ticket and transport parameters; the
# second sends its request as 0-RTT, coalesced with its Initial.
qclient e --download "$T/dl-e" --session-file "$T/sess" --tp-file "$T/tp" \
    www.example.test 443 https://www.example.test/blob.bin
check "[ -s '$T/sess' ] && [ -s '$T/tp' ] && [ \"\$(sha256_of '$T/dl-e/blob.bin')\" = $BLOB_SHA ]" \
    "0-RTT: a first connection saves its session ticket" "$(tail -n 3 "$T/e.log")"
qclient e2 --download "$T/dl-e2" --session-file "$T/sess" --tp-file "$T/tp" \
    www.example.test 443 https://www.example.test/blob.bin
is "$?" 0 "0-RTT: the resumed client exits 0" "$(tail -n 3 "$T/e2.log")"
E2_ENDS=$(ends e2)
# Its first datagram: what it logged before its first "Sent packet".
like "$(sed '/^Sent packet:/q' "$T/e2.log" | grep -o 'type=[0-9A-Za-z]*' | sort -u | tr '\n' ' ')" \
    '^type=0RTT type=Initial $' \
    "0-RTT: the resumed client's first datagram is an Initial and a 0-RTT packet ($E2_ENDS)"
like "$(grep -c ' frm rx 0 0RTT STREAM(0x0b) id=0x0 fin=1 ' "$T/qsrv.log")" '^[1-9]' \
    "0-RTT: the server got the request as 0-RTT data"
is "$(sha256_of "$T/dl-e2/blob.bin" 2>/dev/null)" "$BLOB_SHA" \
    "0-RTT: the handshake completes and the file arrives intact"
FLOWLOG_WAIT=8 flowlog_expect "0-RTT: flow.end with the SNI of the resumed hello" \
    "event=flow.end $E2_ENDS" \
    action=splice rule=q-ok proto=quic sni=www.example.test 'down>=2000000'

wait "$B_PID"
B_RC=$?
wait "$CD_PID"
CD_RC=$?

# --- (b) an inspected name ---------------------------------------------
# gtlsclient exits 0 when it gives up: its log says so.
B_ENDS=$(ends b)
check "[ $B_RC -ne 124 ] && grep -q '$GAVE_UP' '$T/b.log'" \
    "inspect: the client gives up by itself after its 4 s ($B_ENDS)"
is "$(grep -c "$HS_DONE" "$T/b.log")" 0 "inspect: no handshake"
check "[ ! -e '$T/dl-b/blob.bin' ]" "inspect: no file"
like "$(grep -c '^Sent packet:' "$T/b.log")" '^([2-9]|[1-9][0-9])$' \
    "inspect: the client sent its Initial and retransmissions"
flowlog_expect "inspect: the Initials are dropped and logged udp_not_inspectable with the SNI" \
    "event=flow.blocked $B_ENDS" \
    action=deny rule=q-insp reason=udp_not_inspectable \
    proto=quic sni=other.example.test

# --- (c) a ClientHello over two Initial packets ------------------------
CD_ENDS=$(ends cd)
like "$(grep -m 1 'frm tx 1 Initial CRYPTO' "$T/cd.log")" 'offset=[1-9][0-9]* ' \
    "split: the client's hello continues in its second Initial (denied name, $CD_ENDS)"
check "[ $CD_RC -ne 124 ] && grep -q '$GAVE_UP' '$T/cd.log' && [ ! -e '$T/dl-d/blob.bin' ]" \
    "split, denied: the client gives up, no file"
flowlog_expect "split, denied: dropped, logged with the deny rule and the name" \
    "event=flow.blocked $CD_ENDS rule=q-deny" \
    action=deny proto=quic sni=denied.example.test 'count>=2'
# Unanswered, the client sends the halves again one PTO apart (1 s, 3 s):
# each comes alone, and q-addr would splice 10.2.0.3 by address.
flowlog_expect "split, denied: a half retransmitted alone is refused quic_hello_incomplete, not spliced by address" \
    "event=flow.blocked $CD_ENDS reason=quic_hello_incomplete" action=deny proto=quic
is "$(grep -c ':authority: denied.example.test' "$T/qsrv.log")" 0 \
    "split, denied: the server never got the denied name's request"
is "$(grep -c "$HS_DONE" "$T/cd.log")" 0 "split, denied: no handshake"
# (b) went over IPv6, where no rule splices 10.2.0.3 by address: not even
# the CONNECTION_CLOSE the client sends when it gives up gets through.
like "$B_ENDS" 'dst=\[fd00:2::3\]:443$' "inspect: the client took IPv6"
is "$(srv_rx fd00:2::3)" 0 "inspect: the server got nothing for other.example.test"

qclient c --download "$T/dl-c" \
    --groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519 \
    www.example.test 443 https://www.example.test/blob.bin
is "$?" 0 "split, spliced: gtlsclient exits 0" "$(tail -n 5 "$T/c.log")"
C_ENDS=$(ends c)
like "$(grep -m 1 'frm tx 1 Initial CRYPTO' "$T/c.log")" 'offset=[1-9][0-9]* ' \
    "split: the client's hello continues in its second Initial (spliced name, $C_ENDS)"
like "$(grep -c "$HS_DONE" "$T/c.log")" '^[1-9]' \
    "split, spliced: the QUIC handshake completes"
is "$(sha256_of "$T/dl-c/blob.bin" 2>/dev/null)" "$BLOB_SHA" \
    "split, spliced: the file arrives intact"
FLOWLOG_WAIT=8 flowlog_expect "split, spliced: flow.end with the SNI" \
    "event=flow.end $C_ENDS" \
    action=splice rule=q-ok proto=quic sni=www.example.test \
    'pkts_up>=20' 'down>=2000000'

# --- (d) the split written by tools/quicinit ---------------------------
# gtlsserver makes way for py/udpecho.py, which logs every datagram.
stop_pid "$QSRV_PID"
bg "$SRV" echo "$PY" "$PYDIR/udpecho.py" serve --max 30 10.2.0.2:443 10.2.0.3:443
wait_for 5 grep -qx ready "$T/echo.log" ||
    setup_fail "the UDP echo server did not start" "$(cat "$T/echo.log")"

# qinit NAME ARGS...: quicinit ARGS into $T/NAME.1 and $T/NAME.2 (its two
# datagrams) as hex, for udpecho.py seq.
qinit() {
	local name=$1 o
	shift
	o=$("$BUILD/tools/quicinit" "$@" 2>&1 >"$T/$name.bin") ||
	    setup_fail "quicinit $*" "$o"
	[ "$(wc -c <"$T/$name.bin")" -eq 2400 ] ||
	    setup_fail "quicinit $*: not two 1200-byte datagrams"
	head -c 1200 "$T/$name.bin" | od -An -v -tx1 | tr -d ' \n' >"$T/$name.1"
	tail -c 1200 "$T/$name.bin" | od -An -v -tx1 | tr -d ' \n' >"$T/$name.2"
}

# seq2 DEST NAME FIRST SECOND: the datagrams FIRST then SECOND (1 or 2)
# of NAME from one socket, udpecho.py seq's line.  Each call from a port
# of its own below the ephemeral range (SPORT, counted by the caller):
# the kernel may hand the next client the port of the last one, whose
# session sluiced still forwards.
SPORT=20000
seq2() {
	in_cli timeout 10 "$PY" "$PYDIR/udpecho.py" seq --timeout "${WAIT:-0.5}" \
	    --sport "$SPORT" "$1" "$(cat "$T/$2.$3")" "$(cat "$T/$2.$4")" 2>&1
}

# echoed ADDR: datagrams of 1200 bytes the echo server got on ADDR:443.
echoed() {
	grep -c " on=$1:443 len=1200 " "$T/echo.log"
}

qinit chrome -p -s 1100 www.example.test
qinit late -s 16 www.example.test
qinit denied -s 16 denied.example.test
qinit grease -g -s 16 www.example.test
qinit grease-denied -g -s 16 denied.example.test
ports=""
for t in "chrome 1 2" "chrome 2 1" "late 1 2" "late 2 1" "grease 1 2"; do
	# shellcheck disable=SC2086
	set -- $t
	n=$(echoed 10.2.0.2)
	SPORT=$((SPORT + 1))
	out=$(seq2 10.2.0.2:443 "$1" "$2" "$3")
	like "$out" '^echoes=0,1 ' \
	    "quicinit $1 (datagram $2 then $3), spliced: held until the second, both echoed ($out)"
	is "$(($(echoed 10.2.0.2) - n))" 2 "quicinit $1 (datagram $2 then $3): the server got both"
	ports="$ports $1/$2$3=$(printf '%s\n' "$out" | sed -n 's/.* port=//p')"
done
for t in "denied 1 2" "denied 2 1" "grease-denied 1 2"; do
	# shellcheck disable=SC2086
	set -- $t
	SPORT=$((SPORT + 1))
	out=$(seq2 10.2.0.3:443 "$1" "$2" "$3")
	like "$out" '^echoes=0,0 ' \
	    "quicinit $1 (SNI in datagram 2; datagram $2 then $3): nothing comes back ($out)"
	port=$(printf '%s\n' "$out" | sed -n 's/.* port=//p')
	flowlog_expect "quicinit $1 (datagram $2 then $3): both dropped, logged with the rule and the name" \
	    "event=flow.blocked cli=10.1.0.2:$port" dst=10.2.0.3:443 action=deny \
	    rule=q-deny proto=quic sni=denied.example.test count=2 up=2400
done
# Halves more than peek-timeout (1 s, swept up to 1 s late) apart: each
# is refused on its own, neither spliced by q-addr.
SPORT=$((SPORT + 1))
out=$(WAIT=2.5 seq2 10.2.0.3:443 denied 1 2)
like "$out" '^echoes=0,0 ' \
    "quicinit denied, halves 2.5 s apart: nothing comes back ($out)"
port=$(printf '%s\n' "$out" | sed -n 's/.* port=//p')
flowlog_expect "quicinit denied, halves 2.5 s apart: refused quic_hello_incomplete" \
    "event=flow.blocked cli=10.1.0.2:$port" dst=10.2.0.3:443 action=deny \
    reason=quic_hello_incomplete proto=quic
is "$(echoed 10.2.0.3)" 0 "quicinit denied: the server got nothing"
for p in $ports; do
	FLOWLOG_WAIT=8 flowlog_expect "quicinit ${p%=*}: flow.end with the SNI, 2 packets each way" \
	    "event=flow.end cli=10.1.0.2:${p#*=}" dst=10.2.0.2:443 action=splice \
	    rule=q-ok proto=quic sni=www.example.test pkts_up=2 pkts_down=2
done

out=$(in_gw nft list table inet t162 2>&1)
unlike "$out" 'counter packets [1-9]' \
    "nothing was routed past sluiced (gw's forward drop counted nothing)"

flowlog_valid
done_testing
