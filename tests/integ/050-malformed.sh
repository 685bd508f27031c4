#!/bin/bash
# 050-malformed: a table of malformed and request-smuggling heads
# (tests/data/integ/malformed.tsv) sent raw to the explicit proxy (issue
# #2).  Each must get its exact 4xx/5xx status, the connection closed after
# it (nothing after a rejected head can be trusted), a flow log event with
# that status and a reason, while the daemon keeps serving another client:
# a good request on a long-lived kept-alive connection and one on a new
# connection after every bad one.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

TABLE="$DATADIR/malformed.tsv"
servers_up
sluiced_start '
set request-line-max 1k
set header-max 4k
set header-count-max 20
set log-allowed on
rule lab-names splice domain *.example.test
default deny
'

rows=$(grep -cv '^#' "$TABLE")
[ "$rows" -ge 30 ] || setup_fail "the table has only $rows rows"

in_cli "$PY" "$PYDIR/rawhttp.py" table --proxy 10.1.0.1:3128 \
    --good http://www.example.test/hello "$TABLE" >"$T/table.out" 2>&1
got_rows=$(grep -c "$(printf '\t')" "$T/table.out")
is "$got_rows" "$rows" "every row of the table was sent (the good client worked at the start)"
[ "$got_rows" -eq "$rows" ] || diag "$(tail -n 5 "$T/table.out")"

# The events were written while the table ran: after the first row, do
# not wait long for a missing one.
first=1
while IFS="$(printf '\t')" read -r -u 3 name want got closed good port; do
	[ -n "$port" ] || continue
	[ "$first" = 1 ] && export FLOWLOG_WAIT=5 || export FLOWLOG_WAIT=0.5
	first=0
	is "$got" "$want" "$name: answered $want"
	is "$closed" "closed" "$name: connection closed after the answer"
	is "$good" "ok" "$name: the daemon still serves another client"
	# Every row is the client's fault (501/505 included): term C.
	flowlog_expect "$name: flow log event with status $want, a reason, the client to blame" \
	    "cli=10.1.0.2:$port" "status=$want" 'event~^flow\.(blocked|error)$' \
	    mode=explicit 'reason?' 'term~^C'
done 3<"$T/table.out"
unset FLOWLOG_WAIT

flowlog_valid
done_testing
