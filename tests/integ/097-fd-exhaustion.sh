#!/bin/bash
# 097-fd-exhaustion: out of file descriptors, sluiced pauses accepting
# instead of spinning, says so at most once a second, and serves again as
# soon as descriptors are free (issue #2: limits, clean refusal).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
SLUICED_CONF="$T/sluice.conf"
FLOWLOG="$T/flow.log"
sluiced_write_conf "$SLUICED_CONF" '
set workers 1
set client-header-timeout 30s
rule lab-names splice domain *.example.test
default deny
'
mkdir -p "$T/state"
# A hard limit of 48 descriptors (raise_nofile cannot go past it).
ip netns exec "$GW" prlimit --nofile=48:48 "$BUILD/sluiced" -f -c "$SLUICED_CONF" \
    -o user= -o pid-file= -o "state-dir=$T/state" -o "log-dir=$T" \
    >"$T/sluiced.out" 2>"$T/sluiced.err" &
SLUICED_PID=$!
wait_listen "$GW" 10.1.0.1 3128 || setup_fail "sluiced did not start" "$(cat "$T/sluiced.err")"

# 60 clients in the middle of a request head (silent ones would stay in the
# kernel: TCP_DEFER_ACCEPT): more than the descriptors sluiced has.
in_cli "$PY" - >"$T/hold.log" 2>&1 <<'PYEOF' &
import socket, time
socks = []
for i in range(60):
    s = socket.socket()
    s.settimeout(2)
    s.connect(("10.1.0.1", 3128))
    s.sendall(b"CONNECT www.exa")
    socks.append(s)
print("holding", len(socks), flush=True)
time.sleep(4)
for s in socks:
    s.close()
print("closed", flush=True)
time.sleep(1)
PYEOF
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for 10 grep -q holding "$T/hold.log"
sleep 2.5
cpu1=$(awk '{ print $14 + $15 }' "/proc/$SLUICED_PID/stat")
sleep 1
cpu2=$(awk '{ print $14 + $15 }' "/proc/$SLUICED_PID/stat")
check "[ $((cpu2 - cpu1)) -lt 20 ]" "out of descriptors, sluiced does not spin (CPU ticks in 1 s: $((cpu2 - cpu1)))"
n=$(grep -c 'pausing accepts' "$T/sluiced.err")
check "[ $n -ge 1 ] && [ $n -le 5 ]" "the exhaustion is logged, rate-limited ($n lines in ~4 s)"
like "$(grep -m1 'pausing accepts' "$T/sluiced.err")" 'Too many open files' "with the reason"
check "sluiced_alive" "sluiced keeps running"

wait_for 10 grep -q closed "$T/hold.log"
sleep 0.5
out=$(http_status "$T/hello" https://www.example.test/hello)
is "$out" "200" "descriptors free again: sluiced serves"
sluiced_stop 10
is "$SLUICED_RC" "0" "SIGTERM: exit 0"
sanitizer_check
done_testing
