#!/bin/bash
# 080-reload-storm: 100 reloads while tunnels stay open and new ones keep
# starting (issue #3).  No established tunnel is dropped, every new flow
# follows the policy in force when it starts, and each tenth reload (a
# broken file) leaves the running policy in place.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$BUILD/tools/loadgen" ] ||
    setup_fail "$BUILD/tools/loadgen is not built (make test builds it)"
servers_up

# policy allow|deny: the only difference is what happens to www.
policy() {
	local act=deny
	[ "$1" = allow ] && act=splice
	printf '%s\n' 'set connect-ports 443,7000' 'set log-allowed on' \
	    "rule www-$1 $act domain www.example.test" \
	    'rule echo-name splice domain echo.example.test' \
	    'rule echo-ip splice ip 10.2.0.4 port 7000' \
	    'default deny'
}
broken() {
	printf '%s\n' 'set connect-ports 443,7000' \
	    'rule www-allow splcie domain www.example.test' 'default deny'
}

# until_status AUTHORITY WANT: poll (bounded, 3 s) until the proxy answers
# WANT; a reload takes effect for new flows as soon as the workers have
# adopted it, which is asynchronous to the signal.
until_status() {
	local n=30 got
	while [ "$n" -gt 0 ]; do
		got=$(connect_status "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "$got"
	return 1
}

sluiced_start "$(policy deny)"
for t in t1 t2 t3; do
	tunnel_open "$t" echo.example.test:7000
	is "$TUNNEL" "ready" "tunnel $t open before the reloads"
done

# New tunnels keep starting during the whole storm (bounded: count, time).
bg "$CLI" churn "$BUILD/tools/loadgen" cps -x 10.1.0.1:3128 \
    -d 10.2.0.4:7000 -n 200000 -c 4 -T 25

want=deny
mismatch=0
failed_broken=0
start=$(date +%s)
for i in $(seq 1 100); do
	if [ $((i % 10)) -eq 0 ]; then
		# A broken file: refused, the running policy stays.
		sluiced_write_conf "$SLUICED_CONF.new" "$(broken)"
		mv "$SLUICED_CONF.new" "$SLUICED_CONF"
		kill -HUP "$SLUICED_PID"
		sleep 0.05
	else
		if [ "$want" = deny ]; then want=allow; else want=deny; fi
		sluiced_reload "$(policy $want)"
	fi
	exp=403
	[ "$want" = allow ] && exp=200
	if ! got=$(until_status www.example.test:443 "$exp"); then
		mismatch=$((mismatch + 1))
		diag "reload $i: www.example.test got '$got', want $exp"
		[ $((i % 10)) -eq 0 ] && failed_broken=$((failed_broken + 1))
	fi
	if [ $((i % 25)) -eq 0 ]; then
		is "$(tunnel_cmd t1 "echo $((i * 100))")" "ok echo $((i * 100))" \
		    "tunnel t1 works after reload $i"
	fi
done
diag "100 reloads in $(( $(date +%s) - start ))s"
is "$mismatch" "0" "after each of 100 reloads new flows follow the policy in force"
is "$failed_broken" "0" "each broken file left the running policy in force"
check "sluiced_alive" "sluiced survives 100 reloads"
is "$(grep -c 'reload failed' "$T/sluiced.err")" "10" \
    "the 10 broken files were refused, each with its reason logged"

for t in t1 t2 t3; do
	is "$(tunnel_cmd "$t" 'echo 65536')" "ok echo 65536" \
	    "tunnel $t, open through all reloads, still carries bytes"
done
for t in t1 t2 t3; do
	is "$(tunnel_cmd "$t" close)" "ok closed" "tunnel $t closes cleanly"
done

# The churn: every tunnel started during the storm got through.
wait_for 30 grep -q '"mode":"cps"' "$T/churn.log"
res=$(grep '"mode":"cps"' "$T/churn.log")
done_n=$(printf '%s' "$res" | sed -n 's/.*"done":\([0-9]*\).*/\1/p')
failed_n=$(printf '%s' "$res" | sed -n 's/.*"failed":\([0-9]*\).*/\1/p')
diag "churn during the storm: $res"
check "[ '${done_n:-0}' -gt 100 ]" "new tunnels kept starting during the storm (${done_n:-0})"
is "${failed_n:-x}" "0" "no tunnel started during the storm failed"

# Old tunnels end with the rule they started with: the pre-storm policy.
sluiced_stop 20
is "$SLUICED_RC" "0" "sluiced exits 0 after the storm"
flowlog_expect "a tunnel opened before the storm is logged with its first rule" \
    "host=echo.example.test event=flow.end" rule=echo-name action=splice \
    'up>=65536'
sanitizer_check
done_testing
