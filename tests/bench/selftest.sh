#!/bin/sh
# tests/bench/selftest.sh — checks that the benchmark tools measure what
# they claim: loadgen against echod directly (no proxy), and report.py on
# synthetic results.  TAP output, "N passed, N failed" at the end.
#
#   BUILD=build sh tests/bench/selftest.sh      (or: make bench BENCH=selftest)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
LG=$BUILD/tools/loadgen
ED=$BUILD/tools/echod
PY=/usr/bin/python3
HELLO=tests/bench/data/clienthello.hex
tmp=$(mktemp -d /tmp/sluice-benchtest.XXXXXX)
n=0
fails=0
pids=""

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && echo "# $2"
}
# check DESC CONDITION-COMMAND...: ok if the command succeeds.
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d" "result: $res"; fi
}
# jget FIELD: a field of the JSON object in $res.
jget() {
	echo "$res" | $PY -c 'import json,sys
print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))' "$1"
}

# Ports outside the ephemeral range, varied by PID, and skipping a block
# anything listens in (a server left over from an interrupted run would
# otherwise answer in place of ours and fail a check for no reason).  Out
# of the ephemeral range, or a client's TIME_WAIT on one of them makes a
# later bind fail: `make bench` runs this in its namespace, whose range
# starts at 10000.
eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
if [ "$eph_lo" -gt 26000 ]; then
	first=20000 span=6000
else
	first=1100 span=$(((eph_lo - 1100) / 20 * 20))
fi
base=$((first + $$ % (span / 20) * 20))
tries=0
while [ -n "$(ss -Hltn "sport >= :$base and sport <= :$((base + 9))")" ]; do
	tries=$((tries + 1))
	if [ $tries -ge 50 ]; then
		echo "selftest: no free block of 10 ports from $first" >&2
		exit 2
	fi
	base=$((first + (base - first + 20) % span))
done
E=$((base + 1)) S=$((base + 2)) K=$((base + 3)) E2=$((base + 4))
NONE=$((base + 9))

ulimit -n "$(ulimit -Hn)" 2>/dev/null
$ED -T 300 echo:$E source:$S sink:$K >"$tmp/echod.out" 2>&1 &
EP=$!
pids="$pids $EP"
# wait_ready FILE PID: until FILE says "ready" (5 s); 1 if PID died first.
wait_ready() {
	i=0
	until grep -qw ready "$1"; do
		if ! kill -0 "$2" 2>/dev/null || [ $i -gt 50 ]; then
			echo "# not ready: $(tail -n 2 "$1" | tr '\n' ' ')"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}
wait_ready "$tmp/echod.out" $EP || exit 2

# --- cps
res=$($LG cps -d 127.0.0.1:$E -n 2000 -c 16 -T 20)
rc=$?
check "cps_counts_every_echoed_connection" \
    test "$rc:$(jget done):$(jget failed)" = "0:2000:0"

res=$($LG cps -d 127.0.0.1:$E -n 500 -T 20 -H $HELLO)
check "cps_echoes_the_clienthello" \
    test "$(jget done):$(jget hello_bytes)" = "500:334"

res=$($LG cps -d 127.0.0.1:$NONE -n 5 -c 1 -T 5 2>/dev/null)
rc=$?
check "cps_refused_connections_count_as_failed" \
    test "$rc:$(jget done):$(jget failed)" = "1:0:5"

# An echo server is not a proxy: the echoed "CONNECT" is not a 200.
res=$($LG cps -x 127.0.0.1:$E -d 127.0.0.1:$E -n 3 -c 1 -T 5 2>/dev/null)
case $(jget first_error) in
*CONNECT*) ok "cps_rejects_a_non_200_proxy_answer" ;;
*) not_ok "cps_rejects_a_non_200_proxy_answer" "$res" ;;
esac

# --- bulk
res=$($LG bulk -d 127.0.0.1:$S -t 1 -b 64m -T 20 -p $EP)
check "bulk_down_moves_the_requested_bytes" \
    test "$(jget bytes):$(jget done)" = "$((64 << 20)):1"

res=$($LG bulk -d 127.0.0.1:$S -t 8 -b 8m -T 20 -H $HELLO)
check "bulk_down_after_clienthello_on_8_tunnels" \
    test "$(jget bytes):$(jget done)" = "$((64 << 20)):8"

res=$($LG bulk -d 127.0.0.1:$K -t 8 -b 8m -u -T 20)
check "bulk_up_is_confirmed_by_the_sink_count" \
    test "$(jget bytes):$(jget done):$(jget failed)" = "$((64 << 20)):8:0"

res=$($LG bulk -d 127.0.0.1:$S -t 2 -b 512m -T 20 -p $EP -C 0)
check "bulk_reads_the_cpu_time_of_the_process_under_test" \
    test "$(jget cpu_us)" -gt 0 -a "$(jget core_busy_us)" -ge 0

res=$($LG bulk -d 127.0.0.1:$S -t 1 -b 2g -T 0.3 2>/dev/null)
check "bulk_stops_at_the_time_limit" \
    test "$(jget unfinished)" = 1 -a "$(jget bytes)" -lt $((2 << 30)) \
    -a "$(jget wall_us)" -lt 2000000

# --- rtt: many round trips, because echod once left a message unflushed
# after 16 reads in a row and the client waited for it until its timeout.
res=$($LG rtt -d 127.0.0.1:$E -k 20000 -T 20)
p50=$(jget p50_ns) p99=$(jget p99_ns) max=$(jget max_ns)
check "rtt_completes_every_round_trip_with_ordered_percentiles" \
    test "$(jget round_trips)" = 20000 -a "$p50" -gt 0 -a "$p50" -le "$p99" \
    -a "$p99" -le "$max"

# --- idle: echod holds one descriptor and one echo buffer per tunnel.
res=$($LG idle -d 127.0.0.1:$E -n 300 -T 20 -p $EP 2>/dev/null)
fd_delta=$(($(jget fds_open) - $(jget fds_before)))
anon_delta=$(($(jget anon_kb_open) - $(jget anon_kb_before)))
check "idle_opens_and_verifies_every_tunnel" test "$(jget tunnels)" = 300
check "idle_counts_the_descriptors_of_the_process_under_test" \
    test "$fd_delta" = 300 -a "$(jget fds_closed)" = "$(jget fds_before)"
check "idle_sees_the_memory_of_the_process_under_test" \
    test "$anon_delta" -ge 1000

$LG idle -d 127.0.0.1:$E -n 50 -w 30 >"$tmp/hold.json" 2>"$tmp/hold.err" &
LP=$!
pids="$pids $LP"
wait_ready "$tmp/hold.err" $LP
t0=$(date +%s)
kill -USR1 $LP
wait $LP
res=$(cat "$tmp/hold.json")
check "idle_hold_ends_on_sigusr1" \
    test "$(jget tunnels)" = 50 -a $(($(date +%s) - t0)) -lt 5

# A second echod that goes away while the tunnels are held.
$ED -T 300 echo:$E2 >"$tmp/echod2.out" 2>&1 &
E2P=$!
pids="$pids $E2P"
wait_ready "$tmp/echod2.out" $E2P
$LG idle -d 127.0.0.1:$E2 -n 10 -w 3 >"$tmp/drop.json" 2>"$tmp/drop.err" &
LP=$!
wait_ready "$tmp/drop.err" $LP
kill $E2P
wait $LP
rc=$?
res=$(cat "$tmp/drop.json")
check "idle_notices_tunnels_closed_by_the_far_end" \
    test "$rc:$(jget dropped)" = "1:10"

# --- udp_load: the sink counts what the sender sent (loopback loses
# nothing at this rate), pings come back, a relay in between passes all.
UL=$BUILD/tools/udp_load
if [ -x "$UL" ] && [ -x "$BUILD/tools/udp_relay" ]; then
	U1=$((base + 5)) U2=$((base + 6))
	$UL sink -b 127.0.0.1:$U1 -c "$tmp/ucount" -T 60 >"$tmp/usink.out" 2>&1 &
	USP=$!
	pids="$pids $USP"
	"$BUILD/tools/udp_relay" -l 127.0.0.1:$U2 -u 127.0.0.1:$U1 -T 60 &
	URP=$!
	pids="$pids $URP"
	wait_ready "$tmp/usink.out" $USP || exit 2
	res=$($UL rate -d 127.0.0.1:$U1 -c "$tmp/ucount" -s 200 -r 20000 \
	    -t 0.5 -P 3 -w 50 -T 20)
	check "udp_load_sink_counts_every_datagram_sent" \
	    test "$(jget sent)" -gt 9000 -a "$(jget sent)" = "$(jget received)" \
	    -a "$(jget bytes)" = "$(($(jget sent) * 200))"
	check "udp_load_paces_to_the_asked_rate" \
	    test "$(jget sent_pps)" -ge 19000 -a "$(jget sent_pps)" -le 20100
	res=$($UL ping -d 127.0.0.1:$U1 -k 200 -T 20)
	check "udp_load_ping_round_trips" \
	    test "$(jget "done"):$(jget lost)" = "200:0" -a "$(jget p50_ns)" -gt 0
	res=$($UL rate -d 127.0.0.1:$U2 -c "$tmp/ucount" -s 100 -r 10000 \
	    -t 0.5 -P 4 -w 100 -T 20 -p $URP)
	check "udp_relay_forwards_every_datagram" \
	    test "$(jget sent)" -gt 4000 -a "$(jget sent)" = "$(jget received)"
	res=$($UL ping -d 127.0.0.1:$U2 -k 100 -T 20)
	check "udp_relay_forwards_the_answers" test "$(jget "done")" = 100
	kill $USP $URP 2>/dev/null
else
	not_ok "udp_load and udp_relay are built (make bench builds them)"
fi

# --- report.py on synthetic results: medians, ratios, verdicts.
raw=$tmp/raw.jsonl
for r in 1 2 3; do
	# sluice: 1, 2, 3 GB per CPU-second; haproxy and squid 1.
	echo "{\"label\":\"bulk1/sluice/$r\",\"bytes\":${r}000000000,\"wall_us\":1000000,\"cpu_us\":1000000,\"core_busy_us\":1000000,\"done\":1,\"failed\":0}"
	echo "{\"label\":\"bulk1/haproxy/$r\",\"bytes\":1000000000,\"wall_us\":1000000,\"cpu_us\":1000000,\"core_busy_us\":1000000,\"done\":1,\"failed\":0}"
	echo "{\"label\":\"bulk1/squid/$r\",\"bytes\":1000000000,\"wall_us\":1000000,\"cpu_us\":1000000,\"core_busy_us\":1000000,\"done\":1,\"failed\":0}"
done >"$raw"
# A failed measurement that must not count (it would move the median).
echo '{"label":"bulk1/haproxy/4","bytes":9,"wall_us":1,"cpu_us":1,"done":0,"failed":1,"first_error":"x"}' >>"$raw"
# Idle: 1.5 KiB per tunnel for sluice.
echo '{"label":"idle/sluice/1","tunnels":1000,"anon_kb_before":100,"anon_kb_open":1600,"rss_kb_before":1,"rss_kb_open":2,"fds_before":1,"fds_open":2001,"failed":0}' >>"$raw"
# The CONNECT floor at 0.105 CPU-s per 1,000 against HAProxy's 0.100.
echo '{"label":"cps/haproxy/1","done":1000,"wall_us":100000,"cpu_us":100000,"core_busy_us":100000,"failed":0}' >>"$raw"
echo '{"label":"cps/floor/1","done":1000,"wall_us":100000,"cpu_us":105000,"core_busy_us":105000,"failed":0}' >>"$raw"
# The transparent floor at 0.090 against nginx's 0.100.
echo '{"label":"t_cps/nginx/1","done":1000,"wall_us":100000,"cpu_us":100000,"core_busy_us":100000,"failed":0}' >>"$raw"
echo '{"label":"t_cps/floor/1","done":1000,"wall_us":100000,"cpu_us":90000,"core_busy_us":90000,"failed":0}' >>"$raw"
# UDP (issue 14): loss-free 100 B sluice 150k, socat 100k, relay 160k
# (1.5x socat: MISS; 0.94x relay: PASS); CPU per million at the fixed
# rate 1.2 against the relay's 1.0 (MISS).
echo '{"label":"u100/sluice/1","mode":"search","lossfree_pps":150000,"sent":75000,"received":75000,"bytes":7500000,"wall_us":500000,"cpu_us":100000}' >>"$raw"
echo '{"label":"u100/socat/1","mode":"search","lossfree_pps":100000,"sent":50000,"received":50000,"bytes":5000000,"wall_us":500000,"cpu_us":100000}' >>"$raw"
echo '{"label":"u100/relay/1","mode":"search","lossfree_pps":160000,"sent":80000,"received":80000,"bytes":8000000,"wall_us":500000,"cpu_us":100000}' >>"$raw"
echo '{"label":"ucpu/sluice/1","mode":"rate","sent":50000,"received":50000,"loss_ppm":0,"wall_us":1000000,"cpu_us":60000}' >>"$raw"
echo '{"label":"ucpu/relay/1","mode":"rate","sent":50000,"received":50000,"loss_ppm":0,"wall_us":1000000,"cpu_us":50000}' >>"$raw"
$PY tests/bench/report.py --raw "$raw" --out "$tmp" --meta runs=3 \
    >"$tmp/report.txt" 2>&1
res=$(cat "$tmp/results.json" 2>/dev/null || echo '{}')
verdict() {
	echo "$res" | $PY -c 'import json,sys
r = json.loads(sys.stdin.read())
t = {x["id"]: x for x in r["targets"]}[sys.argv[1]]
print("%s %.2f" % (t["status"], t["value"] or 0))' "$1"
}
median() {
	echo "$res" | $PY -c 'import json,sys
r = json.loads(sys.stdin.read())
print("%.2f" % r["figures"][sys.argv[1]][sys.argv[2]][sys.argv[3]]["median"])' \
	    "$@"
}
check "report_takes_the_median_of_the_runs" \
    test "$(median bulk1 bpc sluice)" = "2.00"
check "report_leaves_failed_measurements_out" \
    test "$(median bulk1 bpc haproxy)" = "1.00" -a \
    "$(echo "$res" | $PY -c 'import json,sys
print(len(json.loads(sys.stdin.read())["left_out"]))')" = 1
check "report_ratio_target_pass" \
    test "$(verdict issue2.bulk1.haproxy)" = "PASS 2.00"
# 2x Squid where the target asks for 3x.
check "report_ratio_target_miss" \
    test "$(verdict issue2.bulk1.squid)" = "MISS 2.00"
check "report_absolute_target" \
    test "$(verdict issue2.idle)" = "PASS 1.50"
check "report_without_sluice_figures_says_na" \
    test "$(verdict issue2.cps.haproxy)" = "n/a 0.00"
# Paired per-run ratios: sluice 1, 2, 3 against HAProxy 1, 1, 1 (>= 1.0)
# and against Squid's 1, 1, 1 (>= 3: only run 3 passes).
check "report_shows_the_per_run_spread" grep -q \
    'runs 1.00-3.00, 1 of 3 pass' "$tmp/report.txt"
check "report_states_the_connect_floor" grep -q \
    'CONNECT floor (connect_floor) CPU per 1,000 tunnels = 1.05x HAProxy' \
    "$tmp/report.txt"
check "report_states_the_transparent_floor" grep -q \
    'transparent floor (connect_floor -t) CPU per 1,000 peeked flows = 0.90x nginx$' \
    "$tmp/report.txt"
check "report_writes_markdown" grep -q '| bulk, 1 tunnel | 3 |' "$tmp/results.md"
check "report_udp_ratio_to_socat" \
    test "$(verdict issue14.pps.socat)" = "MISS 1.50"
check "report_udp_ratio_to_relay" \
    test "$(verdict issue14.pps.relay)" = "PASS 0.94"
check "report_udp_cpu_per_million" \
    test "$(verdict issue14.cpu.relay)" = "MISS 1.20"
res=$(echo '{"label":"cps/x/1","failed":3,"first_error":"boom"}' |
    $PY tests/bench/report.py --line)
check "report_line_flags_failures" test "$res" = "FAILED: boom"

echo "1..$n"
echo "$((n - fails)) passed, $fails failed"
[ $fails -eq 0 ]
