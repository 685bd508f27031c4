#!/bin/bash
# 121-lenient-request-lines: request lines a lenient origin reads as HTTP
# are HTTP to the transparent gateway (issue 12, item 2).
#
# "GET /secret/ HTTP/1.1 " (a space after the version) is a request to
# nginx; tabs, leading blanks and odd versions are requests to Python's
# http.server.  sluice classified such lines as opaque bytes, decided on
# the address alone: they reached the origin past `deny url` and `deny
# domain` rules.  The table below is checked three ways:
#   1. each line sent straight to nginx (10.2.0.2) and http.server
#      (10.2.0.6), from srv: does the server take it as a request?  The
#      columns say, and so must the models of tests/fuzz/fuzz_classify.c
#      (its verdict mode), whose property is that the classifier never
#      calls such a line opaque;
#   2. lines either server acts on, through the gateway to a URL-denied
#      path on both and to a denied vhost: refused 400 (the strict parser)
#      or 403 (the rule), logged proto=http, never seen by the origin;
#   3. lines neither acts on (text protocols; a lower-case command, 501 at
#      http.server) still pass as opaque bytes, untouched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

DNS_EXTRA="--host-record=py.example.test,10.2.0.6"
servers_up
tcp_server_start text echo@10.2.0.4:12000
mkdir -p "$T/nginx/www/secret" "$T/py/secret" ||
    setup_fail "origin directories"
echo "nginx-secret-marker" >"$T/nginx/www/secret/index.html"
echo "py-secret-marker" >"$T/py/secret/index.html"
echo "py-hello-marker" >"$T/py/hello"
pyhttp_start 10.2.0.6 80 "$T/py"

# NAME|NGINX|PYTHON|BYTES: NGINX and PYTHON say whether the server takes
# the line as a request (nginx: ngx_http_parse_request_line returns OK;
# http.server: parse_request succeeds, whatever the command).  BYTES in
# Python escapes, {X*N} repeats X; PATH and HOST are the target's.  An
# HTTP/0.9 line is followed by an empty line: http.server reads headers
# even then.
CASES='trailing-sp|1|1|GET PATH HTTP/1.1 \r\nHost: HOST\r\n\r\n
trailing-sps|1|1|GET PATH HTTP/1.1   \r\nHost: HOST\r\n\r\n
trailing-tab|0|1|GET PATH HTTP/1.1\t\r\nHost: HOST\r\n\r\n
tabs|0|1|GET\tPATH\tHTTP/1.1\r\nHost: HOST\r\n\r\n
leading-sp|0|1| GET PATH HTTP/1.1\r\nHost: HOST\r\n\r\n
leading-tab|0|1|\tGET PATH HTTP/1.1\r\nHost: HOST\r\n\r\n
multi-sp|1|1|GET  PATH  HTTP/1.1\r\nHost: HOST\r\n\r\n
v1.10|1|1|GET PATH HTTP/1.10\r\nHost: HOST\r\n\r\n
v1.0999|1|1|GET PATH HTTP/1.0999\r\nHost: HOST\r\n\r\n
v01.1|0|1|GET PATH HTTP/01.1\r\nHost: HOST\r\n\r\n
v+1.1|0|1|GET PATH HTTP/+1.1\r\nHost: HOST\r\n\r\n
v0.9|0|1|GET PATH HTTP/0.9\r\nHost: HOST\r\n\r\n
bare-lf|1|1|GET PATH HTTP/1.1\nHost: HOST\n\n
cr-cr-lf|0|1|GET PATH HTTP/1.1\r\r\nHost: HOST\r\n\r\n
leading-cr|1|1|\rGET PATH HTTP/1.1\r\nHost: HOST\r\n\r\n
many-empty-lines|1|0|{\r\n*12}GET PATH HTTP/1.1\r\nHost: HOST\r\n\r\n
method-underscore|1|1|GET_X PATH HTTP/1.1\r\nHost: HOST\r\n\r\n
vt|0|1|GET\x0bPATH\x0bHTTP/1.1\r\nHost: HOST\r\n\r\n
ff-trailing|0|1|GET PATH HTTP/1.1\x0c\r\nHost: HOST\r\n\r\n
nbsp|0|1|GET\xa0PATH\xa0HTTP/1.1\r\nHost: HOST\r\n\r\n
nel|0|1|GET\x85PATH\x85HTTP/1.1\r\nHost: HOST\r\n\r\n
fs|0|1|GET\x1cPATH\x1cHTTP/1.1\r\nHost: HOST\r\n\r\n
http09|1|1|GET PATH\r\n\r\n
http09-sp|1|1|GET PATH   \r\n\r\n
http09-lf|1|1|GET PATH\n\n
http09-tab|0|1|GET\tPATH\r\n\r\n
absolute|1|1|GET http://HOSTPATH HTTP/1.1\r\nHost: HOST\r\n\r\n
text-ehlo|0|0|EHLO x\r\n
text-login|0|0|LOGIN alice secret\r\n
text-user|0|0|USER y\r\n
text-imap|0|0|A001 CAPABILITY\r\n
text-rtsp|0|0|OPTIONS rtsp://cam.test/live RTSP/1.0\r\n\r\n
text-sip|0|0|INVITE sip:bob@b.test SIP/2.0\r\n\r\n
text-notify|0|0|NOTIFY /x\r\n\r\n
text-memcached|0|0|get key\r\n
lower-case-method|0|1|get PATH HTTP/1.1\r\nHost: HOST\r\n\r\n'

# cases HOST PATH [NAMES]: the CASES (only those NAMES, a blank-separated
# list, if given) as NAME=BYTES words for py/lenreq.py.
cases() {
	local name n p bytes
	while IFS='|' read -r name n p bytes; do
		[ -z "${3:-}" ] || [[ " $3 " == *" $name "* ]] || continue
		bytes=${bytes//HOST/$1}
		printf '%s=%s\n' "$name" "${bytes//PATH/$2}"
	done <<<"$CASES"
}

# lenreq NS ADDR:PORT HOST PATH [NAMES]: those cases to one server, one
# connection each; lines "NAME STATUS PORT MARK" (py/lenreq.py) in $T/out.
lenreq() {
	local ns=$1 ep=$2
	mapfile -t _c < <(cases "$3" "$4" "${5:-}")
	ip netns exec "$ns" "$PY" "$PYDIR/lenreq.py" --timeout 3 \
	    --marker marker "$ep" "${_c[@]}" >"$T/out" 2>&1
}

# took STATUS MARK: did the server take the line as a request?  Any status
# but 400, 414 and 505, or the page itself (HTTP/0.9 answers have no status
# line: without the page it is an error page).
took() {
	case "$1" in
	400|414|505) echo 0 ;;
	[0-9][0-9][0-9]) echo 1 ;;
	*) [ "$2" = marker ] && echo 1 || echo 0 ;;
	esac
}

# col NAME N: column N of the case NAME.
col() { awk -F'|' -v n="$1" -v c="$2" '$1 == n { print $c }' <<<"$CASES"; }

# --- 1. the servers themselves, and the models --------------------------
lenreq "$SRV" 10.2.0.2:80 www.example.test /secret/
cp "$T/out" "$T/direct.nginx"
lenreq "$SRV" 10.2.0.6:80 py.example.test /secret/
cp "$T/out" "$T/direct.py"
for srv in nginx py; do
	c=2
	[ $srv = py ] && c=3
	while read -r name st port mark; do
		is "$(took "$st" "$mark")" "$(col "$name" $c)" \
		    "$srv takes '$name' as a request: $(col "$name" $c) ($st $mark)"
	done <"$T/direct.$srv"
done

# The same bytes through the models (fuzz_classify's verdict mode).
mkdir -p "$T/cases"
mapfile -t _c < <(cases www.example.test /secret/)
"$PY" "$PYDIR/lenreq.py" --write "$T/cases" "${_c[@]}" ||
    setup_fail "cannot write the cases"
names=$(cut -d'|' -f1 <<<"$CASES")
# shellcheck disable=SC2046
FZ_CLASSIFY_VERDICT=1 "$BUILD/fuzz/fuzz_classify" \
    $(printf "$T/cases/%s " $names) 2>&1 | grep '^verdict' >"$T/verdicts"
while read -r name n p _ vn vp _ vproto _; do
	is "$vn $vp" "nginx=$n python_parse=$p" \
	    "the models agree with the servers on '$name' ($vproto)"
done < <(paste -d' ' <(cut -d'|' -f1-3 <<<"$CASES" | tr '|' ' ') "$T/verdicts")
is "$(wc -l <"$T/verdicts")" "$(wc -l <<<"$CASES")" "a verdict for every case"

# --- 2. through the gateway: refused or decided, never past a rule --------
transparent_start '
set transparent-tcp-ports 80,12000
set peek-timeout 2s
set client-header-timeout 3s
set log-allowed on
set via off
rule no-secret deny url www.example.test/secret
rule no-py-secret deny url py.example.test/secret
rule no-vhost deny domain denied.example.test
rule lab-http splice domain *.example.test port 80
rule lab-text splice ip 10.2.0.4 port 12000
default splice
'
# Good requests still pass, and the rules hold for strict ones.
out=$(in_cli curl -sS --max-time 10 -w ' %{http_code}' \
    --resolve www.example.test:80:10.2.0.2 http://www.example.test/hello 2>&1 |
    tr '\n' ' ')
like "$out" '^hello from www\.example\.test +200$' "a plain GET passes the gateway"
out=$(in_cli curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    --resolve www.example.test:80:10.2.0.2 http://www.example.test/secret/ 2>&1)
is "$out" "403" "a plain GET of the denied URL gets 403"
out=$(in_cli curl -sS --max-time 10 -w ' %{http_code}' \
    --resolve py.example.test:80:10.2.0.6 http://py.example.test/hello 2>&1 |
    tr '\n' ' ')
like "$out" '^py-hello-marker +200$' "a plain GET to http.server passes the gateway"

# The cases a server acts on: nginx takes them, or http.server with a
# command it has a handler for (not the lower-case one, see below).
lenient=$(awk -F'|' '$2 == 1 || ($3 == 1 && $1 !~ /^lower/) { print $1 }' \
    <<<"$CASES")

nlog0=$(wc -l <"$T/nginx/access.log")
plog0=$(wc -l <"$T/pyhttp.log")

# gateway ADDR HOST PATH RULE: those cases through the gateway; each
# refused (400) or decided by RULE (403).
gateway() {
	local name st port mark
	# Only this batch's events: client ports come round again, and an
	# older flow's event must not stand in for one not yet written.
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG")
	export FLOWLOG_SINCE
	lenreq "$CLI" "$1:80" "$2" "$3" "${lenient//$'\n'/ }"
	while read -r name st port mark; do
		like "$st $mark" '^(400|403) -$' \
		    "$2: '$name' through the gateway is refused ($st $mark)"
		if [ "$st" = 403 ]; then
			flowlog_expect "$2: '$name' is logged as HTTP decided by $4" \
			    "cli=10.1.0.2:$port" event=flow.blocked proto=http \
			    "rule=$4" status=403
		else
			flowlog_expect "$2: '$name' is logged as malformed HTTP" \
			    "cli=10.1.0.2:$port" event=flow.error proto=http \
			    status=400 'reason?'
		fi
	done <"$T/out"
}
gateway 10.2.0.2 www.example.test /secret/ no-secret
gateway 10.2.0.3 denied.example.test /hello no-vhost
gateway 10.2.0.6 py.example.test /secret/ no-py-secret
is "$(tail -n +$((nlog0 + 1)) "$T/nginx/access.log")" "" \
    "nginx saw none of them"
is "$(tail -n +$((plog0 + 1)) "$T/pyhttp.log")" "" \
    "http.server saw none of them"

# --- 3. what no server acts on still passes as opaque bytes ----------------
# A lower-case command is answered 501 by http.server: nothing served.
lenreq "$CLI" 10.2.0.6:80 py.example.test /secret/ lower-case-method
read -r _ st port mark <"$T/out"
is "$st $mark" "501 -" "http.server answers a lower-case command 501 through the gateway"
flowlog_expect "the lower-case command passed as opaque bytes" \
    "cli=10.1.0.2:$port" event=flow.end proto=opaque
# Text protocols, to the echo server on port 12000.
for name in $(grep -E '^text-' <<<"$names"); do
	FLOWLOG_SINCE=$(wc -l <"$FLOWLOG")
	export FLOWLOG_SINCE
	in_cli timeout 20 "$PY" "$PYDIR/rawc.py" 10.2.0.4:12000 \
	    <"$T/cases/$name" >"$T/text.out" 2>&1
	is "$(sha256_of "$T/text.out")" "$(sha256_of "$T/cases/$name")" \
	    "'$name' on port 12000 passes untouched"
	flowlog_expect "'$name' is opaque and spliced by lab-text" \
	    "dst=10.2.0.4:12000" event=flow.end proto=opaque rule=lab-text \
	    "up=$(wc -c <"$T/cases/$name")"
done
unset FLOWLOG_SINCE

flowlog_valid
done_testing
