#!/bin/bash
# 152-inspect-learn: learn mode (issue 13, "Clients that refuse the minted
# certificate").  With learn-pinned on and learn-min-clients 3, curl
# clients that do not trust the appliance CA, from 1, then 2, then 3
# distinct addresses: the destination is proposed only after the third
# (and the daemon log says so once); a destination a deny rule names is
# never learned; a client that trusts the CA is not recorded; `sluicectl
# learn accept` writes a splice rule, SIGHUP, and the same client now gets
# the origin's own certificate; forget; learn-max 2 with 3 names keeps 2;
# learn off records nothing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

DNS_EXTRA='--host-record=pinned.example.test,10.2.0.2
--host-record=trusted.example.test,10.2.0.2
--host-record=a.example.test,10.2.0.2
--host-record=b.example.test,10.2.0.2
--host-record=c.example.test,10.2.0.2
--host-record=off.example.test,10.2.0.2'
DNS_EXTRA=$(echo $DNS_EXTRA)
servers_up
for a in 3 4 5; do
	setup_do "client address 10.1.0.$a" \
	    ip -n "$CLI" addr add "10.1.0.$a/24" dev c0
done

mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
conf() {	# conf LEARN-SETTINGS...
	printf '%s\n' "set upstream-ca-bundle $CA" "set log-allowed on" \
	    "set learn-save-interval 1s" "$@" \
	    "rule deny-www deny domain www.example.test src 10.1.0.9/32" \
	    "default inspect"
}
sluiced_start "$(conf 'set learn-pinned on' 'set learn-min-clients 3')"

# refuse FROM NAME: curl from address FROM, trusting the test CA (the
# origins') but not the appliance CA; prints curl's exit status.
refuse() {
	in_cli curl -sS --max-time 20 --interface "$1" --cacert "$CA" \
	    --proxy http://10.1.0.1:3128 -o /dev/null "https://$2/hello" \
	    2>>"$T/curl.err"
	echo $?
}
ctl() { "$BUILD/sluicectl" learn "$@" -c "$SLUICED_CONF" --state-dir "$T/state"; }
# clients NAME: the clients recorded for NAME in the saved list, "-" if
# it is not there.
clients() {
	ctl list --all --json 2>/dev/null | "$PY" -c '
import json, sys
for e in json.load(sys.stdin):
    if e["name"] == sys.argv[1]:
        print(e["clients"], e["status"]); break
else:
    print("-")' "$1"
}
# saved NAME WANT: wait (5 s) until the saved list says WANT for NAME.
saved() { wait_for 5 test "$(clients "$1")" = "$2"; }
reloads() { grep -c 'configuration reloaded' "$T/sluiced.err"; }

# --- 1, 2, 3 distinct clients -----------------------------------------------
is "$(refuse 10.1.0.2 pinned.example.test)" 60 "client 1 refuses the minted certificate (curl 60)"
saved pinned.example.test "1 learning"
is "$(clients pinned.example.test)" "1 learning" "recorded: 1 client, still learning"
is "$(ctl list | grep -c pinned)" 0 "learn list (proposed only): not yet"
is "$(refuse 10.1.0.2 pinned.example.test)" 60 "client 1 again"
is "$(refuse 10.1.0.3 pinned.example.test)" 60 "client 2"
saved pinned.example.test "2 learning"
is "$(clients pinned.example.test)" "2 learning" "the same client counts once: 2 distinct"
unlike "$(cat "$T/sluiced.err")" "learn: 'pinned.example.test' proposed" "no proposal log line yet"
is "$(refuse 10.1.0.4 pinned.example.test)" 60 "client 3"
saved pinned.example.test "3 proposed"
is "$(clients pinned.example.test)" "3 proposed" "proposed after the 3rd distinct client"
like "$(ctl list)" 'pinned\.example\.test +proposed +3/3 +4 ' "learn list shows it, count 4"
like "$(cat "$T/sluiced.err")" "learn: 'pinned.example.test' proposed for a splice rule" \
    "the daemon log says so"
is "$(refuse 10.1.0.5 pinned.example.test)" 60 "client 4"
wait_for 5 test "$(ctl list --all --json | grep -c '"count": 5')" -ge 1
is "$(grep -c "learn: 'pinned.example.test' proposed" "$T/sluiced.err")" 1 \
    "said once, not again for a 4th client"
flowlog_expect "still logged client_rejected_mitm" \
    "reason=client_rejected_mitm host=pinned.example.test" event=flow.end 'detail~unknown CA'

# --- guard rails ---------------------------------------------------------
for a in 2 3 4; do
	is "$(refuse 10.1.0.$a www.example.test)" 60 "www (a deny rule names it): client $a refuses"
done
flowlog_expect "www: client_rejected_mitm" "reason=client_rejected_mitm host=www.example.test" event=flow.end
code=$(in_cli curl -sS --max-time 20 --cacert "$ACA" --proxy http://10.1.0.1:3128 \
    -o /dev/null -w '%{http_code}' https://trusted.example.test/hello)
is "$code" 200 "a client trusting the appliance CA: inspected, 200"
is "$(refuse 10.1.0.2 a.example.test)" 60 "a.example.test: one refusal (a marker saved after the above)"
saved a.example.test "1 learning"
is "$(clients www.example.test)" "-" "www.example.test: never learned (rule deny-www names it, for another client)"
is "$(clients trusted.example.test)" "-" "the trusting client: nothing recorded"
out=$(ctl accept www.example.test 2>&1)
is "$?" 1 "accept of a name not in the list: exit 1"

# --- accept: a splice rule, SIGHUP, the origin's own certificate --------
out=$(ctl accept pinned.example.test 2>&1)
is "$?" 0 "learn accept pinned.example.test: exit 0 ($out)"
like "$(cat "$SLUICED_CONF")" 'rule learned-pinned\.example\.test splice domain pinned\.example\.test' \
    "the policy file has the splice rule"
like "$(grep -n . "$SLUICED_CONF" | grep -E 'learned-|deny-www|default' | tr '\n' ' ')" \
    'deny-www.*learned-pinned.*default' "after the deny rule, before the default"
is "$(clients pinned.example.test)" "-" "accepted: gone from the list"
n=$(reloads)
kill -HUP "$SLUICED_PID"
wait_for 5 test "$(reloads)" -gt "$n"
code=$(in_cli curl -sS --max-time 20 --interface 10.1.0.2 --cacert "$CA" \
    --proxy http://10.1.0.1:3128 -o /dev/null -w '%{http_code}' \
    https://pinned.example.test/hello 2>>"$T/curl.err")
is "$code" 200 "the same untrusting client now gets through (origin's certificate)"
flowlog_expect "spliced by the learned rule" "host=pinned.example.test event=flow.end" \
    action=splice rule=learned-pinned.example.test
sleep 1.5	# a save after the reload: the entry does not come back
is "$(clients pinned.example.test)" "-" "the live table dropped it too (not saved back)"

# --- forget ------------------------------------------------------------
out=$(ctl forget a.example.test 2>&1)
is "$?" 0 "learn forget a.example.test: exit 0"
is "$(clients a.example.test)" "-" "forgotten"
kill -HUP "$SLUICED_PID"
sleep 1.5
is "$(clients a.example.test)" "-" "and not saved back by the daemon"
"$BUILD/sluicectl" learn forget -c "$SLUICED_CONF" >/dev/null 2>&1
is "$?" 2 "forget without a name or --all: usage, exit 2"

# --- learn-max 2 with 3 names -----------------------------------------
ctl forget --all >/dev/null
n=$(reloads)
sluiced_reload "$(conf 'set learn-pinned on' 'set learn-max 2')"
wait_for 5 test "$(reloads)" -gt "$n"
for name in a b c; do
	is "$(refuse 10.1.0.2 $name.example.test)" 60 "$name.example.test refused"
	sleep 0.1
done
saved c.example.test "1 learning"
is "$(ctl list --all --json | grep -c '"name"')" 2 "learn-max 2: the table holds 2"
is "$(clients a.example.test)" "-" "the stalest unproposed entry (a) made room"

# --- learn off --------------------------------------------------------
n=$(reloads)
sluiced_reload "$(conf 'set learn-pinned off')"
wait_for 5 test "$(reloads)" -gt "$n"
for a in 2 3 4; do
	is "$(refuse 10.1.0.$a off.example.test)" 60 "learn off: client $a refuses"
done
sleep 1.5
is "$(clients off.example.test)" "-" "learn off: nothing recorded"

sluiced_stop
is "$SLUICED_RC" 0 "sluiced exits cleanly"
sanitizer_check
done_testing
