#!/bin/bash
# 060-drain: SIGTERM drains (issue #2).  The listeners close at once (new
# connections are refused) while an established tunnel keeps working until
# its client closes it; sluiced then exits 0 without waiting for the
# deadline.  A tunnel still open at drain-timeout is closed by sluiced,
# which exits 0 then, and logs the flow with reason shutdown.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CONF='
set connect-ports 443,7000
set drain-timeout 4s
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'
ms_now() { echo $(($(date +%s%N) / 1000000)); }

servers_up
sluiced_start "$CONF"

# --- a tunnel closed by its client during the drain -------------------
tunnel_open t1 echo.example.test:7000
is "$TUNNEL" "ready" "tunnel open before SIGTERM"
is "$(tunnel_cmd t1 'echo 1000')" "ok echo 1000" "tunnel echoes before SIGTERM"
port=$(tunnel_cmd t1 port | awk '{ print $2 }')
kill -TERM "$SLUICED_PID"
t0=$(ms_now)
wait_for 3 _refused "$CLI" 10.1.0.1 3128
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe --timeout 2 10.1.0.1:3128)" "refused" \
    "new connections to the IPv4 listener are refused during the drain"
is "$(in_cli "$PY" "$PYDIR/rawc.py" --probe --timeout 2 '[fd00:1::1]:3128')" "refused" \
    "new connections to the IPv6 listener are refused during the drain"
is "$(tunnel_cmd t1 'echo 200000')" "ok echo 200000" "the established tunnel still works during the drain"
sleep 0.5
check "sluiced_alive" "sluiced waits for the open tunnel"
is "$(tunnel_cmd t1 'echo 100')" "ok echo 100" "the tunnel still works 0.5 s later"
is "$(tunnel_cmd t1 close)" "ok closed" "the client closes the tunnel; the half-close comes back as EOF"
t1=$(ms_now)
sluiced_wait 6
t2=$(ms_now)
is "$SLUICED_RC" "0" "sluiced exits 0 after the drain"
check "[ $((t2 - t1)) -lt 1500 ]" "it exits as soon as the last tunnel is gone ($((t2 - t1)) ms after the close, drain-timeout 4 s)"
flowlog_expect "flow.end for the drained tunnel" "cli=10.1.0.2:$port" \
    event=flow.end method=CONNECT host=echo.example.test 'up>=201100' 'down>=201100'
sanitizer_check

# --- a tunnel still open at drain-timeout --------------------------------
sluiced_start "$CONF"
tunnel_open t2 echo.example.test:7000
is "$TUNNEL" "ready" "second run: tunnel open"
is "$(tunnel_cmd t2 'echo 10')" "ok echo 10" "second run: tunnel echoes"
port=$(tunnel_cmd t2 port | awk '{ print $2 }')
t0=$(ms_now)
kill -TERM "$SLUICED_PID"
res=$(tunnel_cmd t2 'wait-eof 8')
t1=$(ms_now)
like "$res" '^eof after' "the tunnel left open is closed by sluiced ($res)"
check "[ $((t1 - t0)) -ge 3500 ] && [ $((t1 - t0)) -le 6500 ]" \
    "closed at drain-timeout (4 s): after $((t1 - t0)) ms"
sluiced_wait 4
is "$SLUICED_RC" "0" "sluiced exits 0 at drain-timeout"
flowlog_expect "the tunnel closed by the shutdown is logged" "cli=10.1.0.2:$port" \
    event=flow.end host=echo.example.test reason=shutdown 'term~^A'

# --- a log sink that takes no more lines must not hold the exit ----------
# A FIFO whose reader (ours, 4 KiB pipe) stopped reading: the writer
# thread blocks in write(); the daemon still exits, says why, within
# drain-timeout plus the log's 5 s grace.
mkfifo "$T/stuck.fifo"
bg "$GW" stuckreader "$PY" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
fcntl.fcntl(fd, 1031, 4096)    # F_SETPIPE_SZ: one page
print("ready", flush=True)
time.sleep(60)' "$T/stuck.fifo"
wait_for 5 grep -q ready "$T/stuckreader.log" || diag "the FIFO reader did not start"
sluiced_start "$CONF
log json $T/stuck.fifo"
for i in $(seq 40); do
	pcurl -o /dev/null https://nosuch$i.invalid/ 2>/dev/null
done
t0=$(ms_now)
kill -TERM "$SLUICED_PID"
sluiced_wait 15
t1=$(ms_now)
is "$SLUICED_RC" "0" "with a log sink that takes no more lines, sluiced still exits 0 on SIGTERM"
check "[ $((t1 - t0)) -le 10000 ]" "within drain-timeout and the log's grace ($((t1 - t0)) ms)"
like "$(cat "$T/sluiced.err")" "flowlog: a sink has taken no line for 5 s" "and says why lines were lost"

flowlog_valid
done_testing
