#!/bin/bash
# 065-log-disk-full: a flow log on a full disk (issue 12 item 6).  The
# log-dir is a 16 KiB tmpfs; 121 denied requests fill it.  sluiced keeps
# answering 403; the sink writes no partial record (the one it could not
# finish is cut off again), counts what it loses and says so once in the
# daemon log, not once per event.  Given room again, the sink's first line
# is a log.dropped with the count and reason no_space, and the 60 requests
# that follow are all logged: every line is valid JSON, and the lines
# plus the counts account for every request.  A second sink, on another
# disk, gets every event and reports no loss.
# Before the fix: one daemon-log line per lost event, no count, and a
# half-written record ran into the next one.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
mount_ns_private "$@"

N1=121
N2=60
CONF='
log json flow.log
default deny
'
# flow.log is relative: it lands in log-dir, the tmpfs.  The harness's
# own sink ($T/flow.log) stays on the temp dir's disk.
topo_up
tmpfs_mount "$T/logfs" 16k
FULL="$T/logfs/flow.log"
SLUICED_OPTS="-o log-dir=$T/logfs"
sluiced_start "$CONF"

# deny N PREFIX: N plain-HTTP requests for PREFIX1.example.test...
# through the proxy; prints how many were answered 403.
deny() {
	local i n=0 code
	for i in $(seq "$1"); do
		code=$(in_cli curl -s -o /dev/null -w '%{http_code}' \
		    --max-time 10 --proxy "$PROXY4" "http://$2$i.example.test/")
		[ "$code" = 403 ] && n=$((n + 1))
	done
	echo "$n"
}

# losses FILE: "EVENTS DROPPED TOTAL" (py/flowlog.py losses).
losses() { "$PY" "$PYDIR/flowlog.py" losses "$1"; }

# --- fill the disk -------------------------------------------------------
is "$(deny "$N1" d)" "$N1" "all $N1 requests answered 403 while the log's disk fills"
sleep 1.5	# the sink's next attempt (once a second) fails too
read -r ev1 _ <<EOF
$(losses "$FULL")
EOF
check "[ $ev1 -gt 20 ] && [ $ev1 -lt $N1 ]" \
    "the 16 KiB tmpfs took $ev1 of the $N1 events"
check "[ \$(stat -c %s '$FULL') -le 16384 ]" "and is full"
FLOWLOG="$FULL" flowlog_valid
nfail=$(grep -c "flowlog: cannot write to $FULL: No space left on device" "$T/sluiced.err")
nline=$(grep -c "flowlog: .*$FULL" "$T/sluiced.err")
check "[ $nfail -ge 1 ] && [ $nline -le 4 ]" \
    "the daemon log says the sink fails, not once per event ($nfail, $nline lines)"
check "sluiced_alive" "sluiced still runs"

# --- room again ----------------------------------------------------------
setup_do "grow the tmpfs" mount -o remount,size=1m "$T/logfs"
FLOWLOG="$FULL" FLOWLOG_WAIT=5 flowlog_expect \
    "once it can, the sink reports its loss (log.dropped, no_space)" \
    'event=log.dropped reason=no_space' 'dropped>=1' 'since?' 'dropped_total>=1'
like "$(cat "$T/sluiced.err")" "flowlog: writing to $FULL again after [0-9]+ ms; [0-9]+ event\(s\) lost \(no_space\)" \
    "and the daemon log says it recovered"
is "$(deny "$N2" e)" "$N2" "all $N2 requests answered 403 after"
FLOWLOG="$FULL" flowlog_expect "the last request is logged on the tmpfs" \
    "host=e$N2.example.test" event=flow.blocked status=403

# --- what the log holds ----------------------------------------------------
FLOWLOG="$FULL" flowlog_valid
read -r ev dropped total <<EOF
$(losses "$FULL")
EOF
is "$((ev + dropped))" "$((N1 + N2))" \
    "events written ($ev) plus reported lost ($dropped) = the $((N1 + N2)) requests"
is "$total" "$dropped" "dropped_total is the sum of dropped"
n=$(FLOWLOG="$FULL" flowlog_count 'event=flow.blocked host~^e[0-9]+[.]')
is "$n" "$N2" "every request after the recovery is logged"
dup=$(FLOWLOG="$FULL" flowlog_grep 'event=flow.blocked' |
    "$PY" -c 'import json, sys; h = [json.loads(l)["host"] for l in sys.stdin]; print(len(h) - len(set(h)))')
is "$dup" "0" "no request is logged twice"
read -r ev dropped total <<EOF
$(losses "$FLOWLOG")
EOF
is "$ev $dropped" "$((N1 + N2)) 0" "the sink on the other disk got every event and lost none"
check "sluiced_alive" "sluiced kept serving"
sluiced_stop
is "$SLUICED_RC" "0" "sluiced exits 0"

done_testing
