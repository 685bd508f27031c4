#!/bin/bash
# 070-reload: SIGHUP (issue #2).  A broken configuration file is refused
# with file:line:col diagnostics and the running policy stays in force; a
# good one changes the decisions for new flows while an established tunnel
# keeps the decision it started with.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
sluiced_start '
set connect-ports 443,7000
set log-allowed on
rule no-denied deny domain denied.example.test
rule lab-names splice domain *.example.test
default deny
'

tunnel_open t1 echo.example.test:7000
is "$TUNNEL" "ready" "tunnel open before any reload"
is "$(tunnel_cmd t1 'echo 1000')" "ok echo 1000" "tunnel echoes"
is "$(connect_status denied.example.test:443)" "403" "before reload: denied.example.test refused"
is "$(connect_status www.example.test:443)" "200" "before reload: www.example.test allowed"

# --- a broken file ------------------------------------------------------
errs_before=$(wc -l <"$T/sluiced.err")
sluiced_reload '
set connect-ports 443,7000
rule no-denied deny domain denied.example.test
rule lab-names splcie domain *.example.test
rule no-www deny domain www.example.test
default deny
'
# Wait for the diagnostic rather than sleeping blindly.
wait_for 5 grep -qE 'sluice\.conf:[0-9]+:[0-9]+: error' "$T/sluiced.err"
err=$(tail -n +"$((errs_before + 1))" "$T/sluiced.err")
like "$err" "$(printf '%s' "$SLUICED_CONF" | sed 's/[.]/\\./g'):[0-9]+:[0-9]+: error: .*splcie" \
    "the broken file is reported with file:line:col and the bad word"
check "sluiced_alive" "sluiced keeps running after a broken reload"
is "$(connect_status denied.example.test:443)" "403" "after the broken reload: the old policy still refuses denied.example.test"
is "$(connect_status www.example.test:443)" "200" "after the broken reload: the old policy still allows www.example.test"
is "$(tunnel_cmd t1 'echo 1000')" "ok echo 1000" "the tunnel survives the broken reload"

# --- a good file that changes the policy ----------------------------------
sluiced_reload '
set connect-ports 443,7000
set log-allowed on
rule no-www deny domain www.example.test
rule no-echo deny domain echo.example.test
rule lab-names splice domain *.example.test
default deny
'
# A function, so that wait_for asks again each time round.
www_refused() { [ "$(connect_status www.example.test:443)" = 403 ]; }
wait_for 5 www_refused
is "$(connect_status www.example.test:443)" "403" "after the good reload: www.example.test refused (new rule no-www)"
flowlog_expect "the new rule is in the log" "host=www.example.test event=flow.blocked" \
    rule=no-www status=403 reason=policy
is "$(connect_status denied.example.test:443)" "200" "after the good reload: denied.example.test allowed (rule removed)"
is "$(connect_status echo.example.test:7000)" "403" "after the good reload: a new tunnel to echo.example.test is refused"
is "$(tunnel_cmd t1 'echo 50000')" "ok echo 50000" "the tunnel opened before the reload keeps its decision and works"
port=$(tunnel_cmd t1 port | awk '{ print $2 }')
is "$(tunnel_cmd t1 close)" "ok closed" "the old tunnel closes cleanly"
flowlog_expect "the old tunnel is logged with the rule it started with" "cli=10.1.0.2:$port" \
    event=flow.end rule=lab-names action=splice 'up>=52000'
unlike "$(tail -n +"$((errs_before + 1))" "$T/sluiced.err" | grep -v splcie)" \
    'sluice\.conf:[0-9]+:[0-9]+: error' "no diagnostics for the good file"

flowlog_valid
done_testing
