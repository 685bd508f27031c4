#!/bin/bash
# 096-instance-lock: one sluiced per state directory, per pid file and per
# listener (issue 12 item 9: "a second sluiced with another configuration
# binds the same listeners without error (SO_REUSEPORT) and takes part of
# the traffic (3 of 10 requests got its answers)").  A second instance
# with another configuration and the same listeners exits 1 saying who
# holds what: the state directory's lock (naming the first one's pid),
# or, with another state-dir, the listener another process listens on
# (also a wildcard over a specific address); every request is then
# answered by the first.  The lock survives the daemon's fork and names
# the daemon's pid; the pid file is locked too; a stale lock file does
# not stop the next start; `-t` takes no lock.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
FIRST='
set log-allowed on
rule lab splice domain *.example.test
default deny
'
sluiced_start "$FIRST"
first=$SLUICED_PID
# other_conf FILE TEXT: another configuration, with its own flow log.
other_conf() {
	local fl=$FLOWLOG
	FLOWLOG="$T/flow2.log"
	sluiced_write_conf "$1" "$2"
	FLOWLOG=$fl
}
# The other configuration refuses everything: its answers would be 403.
other_conf "$T/other.conf" 'default deny'

# second NAME OPTS...: start `sluiced -f -c other.conf` in gw with the
# test's usual overrides and OPTS after them; wait (bounded) for it to
# exit.  Sets RC (its status, or "running") and OUT (its stderr).  One
# that still runs (the old behaviour) is left running for the requests
# below; teardown stops it.
second() {
	local name=$1
	shift
	bg "$GW" "$name" "$BUILD/sluiced" -f -c "$T/other.conf" -o user= \
	    -o pid-file= -o "state-dir=$T/state" -o "log-dir=$T" "$@"
	if wait_for 5 _gone "$BG_PID"; then
		wait "$BG_PID" 2>/dev/null
		RC=$?
	else
		RC=running
	fi
	OUT=$(cat "$T/$name.log")
}
_gone() { ! kill -0 "$1" 2>/dev/null; }

# answers N: N requests on new connections, each through the explicit
# listener; prints how many got the first instance's 200.
answers() {
	local i n=0 code
	for i in $(seq 1 "$1"); do
		code=$(http_status /dev/null "http://www.example.test/hello?$i")
		[ "$code" = 200 ] && n=$((n + 1))
	done
	echo "$n"
}

# --- the same state-dir: its lock names the first instance --------------------
second same
is "$RC" "1" "a second sluiced with the same state-dir exits 1"
like "$OUT" "another sluiced \\(pid $first\\) holds the state directory lock $T/state/sluiced\\.lock: not starting" \
    "and says which instance holds which lock ($first)"
is "$(answers 10)" "10" "all 10 requests are answered by the first instance"
is "$(cat "$T/state/sluiced.lock")" "$first" "the lock file holds the first instance's pid"

# --- another state-dir, the same listeners: the listener probe --------------------
second other -o "state-dir=$T/state2"
is "$RC" "1" "a second sluiced with another state-dir and the same listeners exits 1"
like "$OUT" "listen 10\\.1\\.0\\.1:3128: another process listens on this address .*SO_REUSEPORT.*: not starting" \
    "and names the listener in use"
is "$(in_gw ss -Hltnp 'sport = :3128' | grep -o 'pid=[0-9]*' | sort -u)" \
    "pid=$first" "only the first instance listens on :3128"
is "$(answers 10)" "10" "all 10 requests are still answered by the first instance"

# A wildcard listener over the first one's specific addresses.
SLUICED_HEADER='listen explicit *:3128
resolver 10.2.0.53'
other_conf "$T/other.conf" 'default deny'
unset SLUICED_HEADER
second wild -o "state-dir=$T/state3"
is "$RC" "1" "a second sluiced on *:3128 exits 1"
like "$OUT" "listen \\[::\\]:3128: another process listens on this address" \
    "and names [::]:3128"

# -t checks a file; it takes no lock and binds nothing.
out=$(in_gw "$BUILD/sluiced" -t -c "$T/other.conf" -o user= -o pid-file= \
    -o "state-dir=$T/state" 2>&1)
is "$?" "0" "sluiced -t still checks a file while an instance runs"
check "sluiced_alive" "the first instance is unharmed"
sluiced_stop
is "$SLUICED_RC" "0" "the first instance stops cleanly"

# --- daemon mode: the lock survives the fork and names the daemon -----------------
sluiced_write_conf "$T/daemon.conf" "$FIRST"
in_gw "$BUILD/sluiced" -c "$T/daemon.conf" -o user= -o "state-dir=$T/state" \
    -o "log-dir=$T" -o "pid-file=$T/daemon.pid" >"$T/daemon.out" 2>&1
is "$?" "0" "a daemon starts with the same state-dir (the stale lock file is no lock)"
dpid=$(cat "$T/daemon.pid" 2>/dev/null)
SLUICED_PID=$dpid SLUICED_RC=""
check "[ -n '$dpid' ] && kill -0 '$dpid' 2>/dev/null" "the daemon runs under the pid in its pid file ($dpid)"
is "$(cat "$T/state/sluiced.lock")" "$dpid" "the lock file names the daemon, not the process that forked it"
second afterfork
is "$RC" "1" "a second sluiced is refused while the daemon runs"
like "$OUT" "another sluiced \\(pid $dpid\\) holds the state directory lock" \
    "naming the daemon's pid: the lock was kept across the fork"
is "$(answers 5)" "5" "the daemon answers every request"

# Another state-dir and other listeners, but the daemon's pid file.
SLUICED_HEADER='listen explicit 10.1.0.1:3140
resolver 10.2.0.53'
other_conf "$T/pidfile.conf" 'default deny'
unset SLUICED_HEADER
out=$(in_gw "$BUILD/sluiced" -c "$T/pidfile.conf" -o user= \
    -o "state-dir=$T/state4" -o "log-dir=$T" -o "pid-file=$T/daemon.pid" 2>&1)
is "$?" "1" "a second daemon with the same pid file exits 1"
pidfile_out=$out
like "$out" "sluiced: another sluiced \\(pid $dpid\\) holds the pid file $T/daemon\\.pid: not starting" \
    "and says so on its caller's terminal"
is "$(cat "$T/daemon.pid")" "$dpid" "the pid file still names the running daemon"
check "! in_gw ss -Hltn 'sport = :3140' | grep -q ." "the refused daemon bound nothing"

kill -TERM "$dpid" 2>/dev/null
wait_for 10 _gone "$dpid"
check "! kill -0 '$dpid' 2>/dev/null" "the daemon exits on SIGTERM"
SLUICED_PID=""

# --- a fresh start after all that --------------------------------------------------
sluiced_start "$FIRST"
is "$(answers 2)" "2" "a new instance starts and serves once the others are gone"

# The refused instances exit through the normal teardown: a sanitizer
# build would report a leak there.
out=$(cat "$T/same.log" "$T/other.log" "$T/wild.log" "$T/afterfork.log")
unlike "$out$pidfile_out" 'ERROR: [A-Za-z]+Sanitizer|runtime error:' \
    "no sanitizer report from the refused instances"

flowlog_valid
sanitizer_check
done_testing
