#!/bin/bash
# 015-pipeline: the one setup pipeline (docs/design/flow.md), seen through
# sluiced's own debug lines (-d policy,flow): a CONNECT is decided once,
# again only when a fact it needs arrives (the address for an IP rule) or
# a name the client claims arrives (a tunnel SNI that differs); every plain
# HTTP request of a kept-alive connection is decided on its own; the flow
# goes through the states of the table in order, every step taken.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
SLUICED_OPTS="-d policy,flow"
sluiced_start '
set connect-ports 443
set log-allowed on
rule far deny domain www.example.test ip 192.0.2.0/24
rule lab-names splice domain *.example.test
default deny
'

# hello ARGS...: tlshello.py in cli; RES its result, PORT its local port.
hello() {
	local out
	out=$(in_cli timeout 30 "$PY" "$PYDIR/tlshello.py" "$@" 2>&1)
	RES=${out% port=*}
	PORT=${out##* port=}
}

# flow_of PORT: the flow id of the client on that local port (flow log;
# call it once the flow's event is there: after a flowlog_expect).
flow_of() {
	flowlog_last "cli=10.1.0.2:$1" | "$PY" -c \
	    'import json, sys; print(json.loads(sys.stdin.read() or "{}").get("flow", ""))'
}

# decisions ID: how many policy evaluations flow ID cost.
decisions() {
	grep -c "flow=$1 decide " "$T/sluiced.err"
}

# states ID: the flow's state changes, in order, on one line.
states() {
	sed -n "s/.*flow=$1 \([a-z]*\) -> \([a-z]*\)\$/\2/p" "$T/sluiced.err" |
	    tr '\n' ' ' | sed 's/ $//'
}

# --- a CONNECT by name, decided by name: one evaluation ------------------
out=$(pcurl -o /dev/null -w '%{http_code} %{local_port}' \
    https://other.example.test/hello 2>&1)
read -r code port <<<"$out"
is "$code" "200" "CONNECT other.example.test: served"
flowlog_expect "logged by its rule" "cli=10.1.0.2:$port" event=flow.end \
    rule=lab-names method=CONNECT
id=$(flow_of "$port")
is "$(decisions "$id")" "1" "one policy evaluation for the CONNECT (name, then only the guard rails for its address)"
like "$(states "$id")" \
    '^classifying deciding authenticating resolving connecting handshaking relaying( draining)?$' \
    "the flow went through every step in order"

# --- a rule before it needs the address: decided again when it arrives --
# (www.example.test has two addresses: 10.2.0.2 and fd00:2::2.)
out=$(pcurl -o /dev/null -w '%{http_code} %{local_port}' \
    https://www.example.test/hello 2>&1)
read -r code port <<<"$out"
is "$code" "200" "CONNECT www.example.test: served by the later rule"
flowlog_expect "logged by lab-names" "cli=10.1.0.2:$port" rule=lab-names
id=$(flow_of "$port")
is "$(decisions "$id")" "3" "three evaluations: the name left an IP rule open, its first address closed it, its second address is decided too (it may fall in another rule)"

# --- a tunnel SNI that does not match the CONNECT name: a claimed name ---
hello --proxy 10.1.0.1:3128 --sni echo.example.test --cafile "$CA" \
    --then tls other.example.test:443
like "$RES" '^(reset|tls-fail (closed|timeout) in handshake)' \
    "CONNECT other.example.test with SNI echo.example.test is not spliced ($RES)"
flowlog_expect "the mismatch is logged" "cli=10.1.0.2:$PORT" \
    reason=sni_mismatch sni=echo.example.test
id=$(flow_of "$PORT")
is "$(decisions "$id")" "3" "three evaluations: the CONNECT name, the SNI the client claims, and no name (the SNI does not resolve there: the strictest holds)"
is "$(states "$id")" \
    "classifying deciding authenticating resolving connecting handshaking" \
    "refused in the handshake step, where the SNI arrived (no step back)"

# --- plain HTTP: each request of a kept-alive connection on its own -------
out=$(pcurl -o /dev/null -o /dev/null -o /dev/null \
    -w '%{http_code} %{local_port}\n' http://other.example.test/hello \
    http://other.example.test/hello http://other.example.test/hello 2>&1)
is "$(printf '%s\n' "$out" | awk '{ print $1 }' | tr '\n' ' ')" \
    "200 200 200 " "three requests on one connection: served"
port=$(printf '%s\n' "$out" | awk 'NR == 1 { print $2 }')
is "$(printf '%s\n' "$out" | awk '{ print $2 }' | sort -u | wc -l)" "1" \
    "one client connection"
flowlog_expect "the connection ends, its 3 requests counted" \
    "cli=10.1.0.2:$port" event=flow.end requests=3
id=$(flow_of "$port")
is "$(decisions "$id")" "3" "one evaluation per request"
is "$(states "$id")" "classifying relaying" \
    "the connection relays requests from its first head; its requests have their own states"
is "$(grep -c "flow=$id request . -> " "$T/sluiced.err")" "21" \
    "each request went through its 7 steps (deciding .. answered)"

flowlog_valid
done_testing
