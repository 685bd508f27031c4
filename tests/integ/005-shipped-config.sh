#!/bin/bash
# 005-shipped-config: the configuration `make run` starts with (issue #2),
# with exactly its overrides, relative paths included: it checks clean,
# serves on 127.0.0.1:3128 and [::1]:3128, and logs to ./run/flows.jsonl
# and to stdout.  Run inside a namespace so it never meets a real
# `make run` on the machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

topo_up
top=$(cd "$(dirname "$0")/../.." && pwd)
conf=$top/rootfs/overlay/etc/sluice/sluice.conf
# The overrides of the Makefile's run target, read from the Makefile.
ovr=$(sed -n '/^run:/,/^$/p' "$top/Makefile" | grep -o -- '-o [a-z-]*=[^ ]*' | tr '\n' ' ')
like "$ovr" 'log-dir=run' "the run target's overrides are found in the Makefile"

out=$("$BUILD/sluiced" -t -c "$conf" $ovr 2>&1)
is "$?" "0" "the shipped configuration checks clean"
mkdir -p "$T/wd/run"		# as the run target does
cd "$T/wd" || setup_fail "cd"
# shellcheck disable=SC2086
ip netns exec "$GW" "$BUILD/sluiced" -f -c "$conf" $ovr >"$T/run.out" 2>"$T/sluiced.err" &
SLUICED_PID=$!
wait_listen "$GW" 127.0.0.1 3128 || setup_fail "no listener on 127.0.0.1:3128" "$(cat "$T/sluiced.err")"
wait_listen "$GW" '[::1]' 3128 || setup_fail "no listener on [::1]:3128" "$(cat "$T/sluiced.err")"
ok "listening on 127.0.0.1:3128 and [::1]:3128"

out=$(in_gw curl -sS -x http://127.0.0.1:3128 http://localhost:8080/ 2>&1)
like "$out" "denied by rule 'guard:loopback'" "a request to loopback is refused by the guard rail"
out=$(in_gw curl -sS -g -x 'http://[::1]:3128' -o /dev/null -w '%{http_code}' http://nothing.invalid/ 2>&1)
is "$out" "502" "a name that does not resolve: 502 (over the IPv6 listener)"
FLOWLOG=$T/wd/run/flows.jsonl
wait_for 5 test -s "$FLOWLOG"
flowlog_expect "the refusal is in ./run/flows.jsonl" "host=localhost" \
    event=flow.blocked rule=guard:loopback reason=loopback status=403
# No resolver is reachable from the namespace: a failure, not NXDOMAIN.
flowlog_expect "so is the DNS failure" "host=nothing.invalid" \
    event=flow.error 'reason=dns_nxdomain || reason=dns_failure' status=502
wait_for 5 grep -q '"event":"flow.error"' "$T/run.out"
like "$(cat "$T/run.out")" '"event":"flow.blocked"' "events also go to stdout (the terminal)"
sluiced_stop 10
is "$SLUICED_RC" "0" "SIGTERM: exit 0"
sanitizer_check
done_testing
