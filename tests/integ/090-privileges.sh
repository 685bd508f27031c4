#!/bin/bash
# 090-privileges: sluiced binds and opens its log as root, then drops to
# the configured user for good (issue #2).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
# As the harness starts it, but keeping the shipped default `user`.
_sluiced_opts() {
	printf '%s\n' -o user=nobody -o group=nogroup -o pid-file= \
	    -o "state-dir=$T/state" -o "log-dir=$T"
}
sluiced_start '
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'
uid=$(id -u nobody)
gid=$(getent group nogroup | cut -d: -f3)
status=/proc/$SLUICED_PID/status
is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$status")" "$uid $uid $uid $uid" \
    "every uid of sluiced is nobody's (real, effective, saved, fs)"
is "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$status")" "$gid $gid $gid $gid" \
    "every gid is nogroup's"
is "$(awk '/^Groups:/ { print $2 }' "$status")" "" "no supplementary groups are kept"
is "$(awk '/^CapEff:/ { print $2 }' "$status")" "0000000000000000" \
    "no effective capability is left"
# Every worker thread too, not only the main one.
bad=0
for t in /proc/$SLUICED_PID/task/*/status; do
	[ "$(awk '/^Uid:/ { print $3 }' "$t")" = "$uid" ] || bad=$((bad + 1))
done
is "$bad" "0" "every thread runs as nobody"

out=$(http_status "$T/hello" https://www.example.test/hello)
is "$out" "200" "the unprivileged daemon serves a CONNECT tunnel"
flowlog_expect "and still writes the flow log it opened as root" \
    "host=www.example.test event=flow.end" rule=lab-names action=splice

# Unprivileged, its splice pipes count against the kernel's per-user budget:
# sluiced read it before dropping root and keeps to it.
soft=$(cat /proc/sys/fs/pipe-user-pages-soft)
hard=$(cat /proc/sys/fs/pipe-user-pages-hard)
limit=$soft
[ "$hard" -ne 0 ] && { [ "$limit" -eq 0 ] || [ "$hard" -lt "$limit" ]; } &&
    limit=$hard
if [ "$limit" -ne 0 ]; then
	like "$(cat "$T/sluiced.err")" "pipe budget: $limit pages" \
	    "the pipe budget is the per-user limit read before the drop"
else
	unlike "$(cat "$T/sluiced.err")" "pipe budget:" \
	    "no pipe budget where the kernel sets no per-user limit"
fi
out=$(pcurl -o "$T/big.out" -w '%{http_code}' https://www.example.test/big.bin)
is "$out $(sha256_of "$T/big.out")" "200 $BIG_SHA" \
    "20 MB through a spliced tunnel of the unprivileged daemon, intact"

# An unknown user is refused at start, with the reason, before serving
# (once the first instance is gone: a second one is refused anyway).
sluiced_stop
is "$SLUICED_RC" "0" "the unprivileged daemon stops cleanly"
out=$(in_gw "$BUILD/sluiced" -f -c "$SLUICED_CONF" -o user=no-such-user-sl \
    -o pid-file= -o "state-dir=$T/state" -o "log-dir=$T" \
    -o workers=1 2>&1 </dev/null)
rc=$?
is "$rc" "1" "sluiced exits 1 when the user does not exist"
like "$out" "unknown user 'no-such-user-sl'" "and says which user"

sanitizer_check
done_testing
