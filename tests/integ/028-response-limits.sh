#!/bin/bash
# 028-response-limits: responses have their own limits (issue 12 item 9:
# "responses with more than 100 header fields get a 502: the request limit
# is applied to responses").  An origin's head may have up to
# response-header-count-max fields (256) and response-header-max bytes
# (64k) whatever the request limits say; past them it is a 502 whose
# reason (too_many_fields, head_too_large) is in the daemon log.  The
# request limits are unchanged (101 request fields: 431).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
bg "$SRV" manyfields "$PY" "$PYDIR/manyfields.py" 10.2.0.4 8081
wait_listen "$SRV" 10.2.0.4 8081 ||
    setup_fail "manyfields.py did not start" "$(cat "$T/manyfields.log")"
CONF='
set log-allowed on
rule lab splice domain *.example.test
default deny
'
sluiced_start "$CONF"
O=http://echo.example.test:8081

# get PATH: GET $O/PATH through the proxy; sets CODE, PORT and BODY; the
# response head is in $T/h.
get() {
	local out
	out=$(pcurl -D "$T/h" -o "$T/b" -w '%{http_code} %{local_port}' "$O$1" \
	    2>"$T/curl.err")
	read -r CODE PORT <<<"$out"
	BODY=$(cat "$T/b")
}

# --- more fields than a request may have: forwarded ------------------------
get /fields/150
is "$CODE $BODY" "200 fields 150" "a response with 150 header fields is forwarded (200)"
# The proxy adds Via and may add Connection; every origin field arrives.
is "$(grep -c '^X-F' "$T/h")" "149" "with every one of its fields"
flowlog_expect "150 fields: flow.end" "cli=10.1.0.2:$PORT" \
    event=flow.end rule=lab status=200
get /fields/256
is "$CODE $BODY" "200 fields 256" "256 fields (response-header-count-max) are forwarded"
is "$(grep -c '^X-F' "$T/h")" "255" "with every one of its fields"

# --- past the limit: 502, with the reason --------------------------------------
get /fields/257
is "$CODE" "502" "257 fields: 502"
flowlog_expect "257 fields: flow.error bad_response" "cli=10.1.0.2:$PORT" \
    event=flow.error reason=bad_response status=502
wait_for 5 grep -q 'bad response from echo.example.test: too_many_fields' \
    "$T/sluiced.err"
like "$(cat "$T/sluiced.err")" 'bad response from echo\.example\.test: too_many_fields' \
    "the daemon log says why: too_many_fields"

# --- the head's bytes: response-header-max, not header-max (32k) ---------------
get /big/40000
is "$CODE $BODY" "200 big" "a 40000-byte response head (over header-max 32k) is forwarded"
get /big/65536
is "$CODE $BODY" "200 big" "a head of exactly response-header-max (64k) is forwarded"
get /big/65537
is "$CODE" "502" "one byte more: 502"
wait_for 5 grep -q 'bad response from echo.example.test: head_too_large' \
    "$T/sluiced.err"
like "$(cat "$T/sluiced.err")" 'bad response from echo\.example\.test: head_too_large' \
    "the daemon log says why: head_too_large"

# --- the request limits are what they were ---------------------------------------
hdrs=""
for i in $(seq 1 100); do
	hdrs="$hdrs -H X-R$i:v"
done
# shellcheck disable=SC2086
out=$(pcurl -o /dev/null -w '%{http_code}' $hdrs "$O/fields/3")
is "$out" "431" "a request with 101 fields (Host and 100) still gets 431 (header-count-max 100)"

# --- the settings, after a reload ---------------------------------------------
sluiced_reload "
set response-header-count-max 120
set response-header-max 4k
$CONF"
wait_for 5 grep -q 'configuration reloaded' "$T/sluiced.err"
get /fields/120
is "$CODE $BODY" "200 fields 120" "response-header-count-max 120: 120 fields pass"
get /fields/121
is "$CODE" "502" "response-header-count-max 120: 121 fields get 502"
get /big/4096
is "$CODE $BODY" "200 big" "response-header-max 4k: a 4096-byte head passes"
get /big/4097
is "$CODE" "502" "response-header-max 4k: 4097 bytes get 502"
out=$("$BUILD/sluiced" -t -c "$SLUICED_CONF" -o user= -o pid-file= \
    -o response-header-count-max=257 2>&1)
like "$out" "'response-header-count-max' must be at most 256" \
    "-t: no more than the parser's 256 fields can be set"

flowlog_valid
sanitizer_check
done_testing
