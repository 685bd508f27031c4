#!/bin/bash
# 141-http-per-request: every plain-HTTP request is decided on its own, by
# the authority the origin will use, and logged on its own (issue 12,
# items 3 and 7).  On the build before, a transparent connection spliced
# for its first request carried a second one past a deny rule, a request
# whose absolute URI named a denied host behind an allowed Host was
# served, and only a connection's last request was logged.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

# cdn-ok.test and cdn-bad.test share nginx's address; echo-ok.test is
# the head echo server (it answers with the exact head it received).
DNS_EXTRA="--host-record=cdn-ok.test,10.2.0.2 --host-record=cdn-bad.test,10.2.0.2
--host-record=echo-ok.test,10.2.0.5"
servers_up
transparent_start '
set transparent-tcp-ports 80
set log-allowed on
set via on
rule cdn-bad deny domain cdn-bad.test
rule cdn-ok splice domain cdn-ok.test,echo-ok.test,*.example.test
default deny
'

hc() { in_cli timeout 60 "$PY" "$PYDIR/hfclient.py" talk "$@"; }
port_of() { printf '%s' "$1" | sed -n 's/^port=\([0-9]*\) .*/\1/p'; }
access() { sleep 0.3; cat "$T/nginx/access.log"; }

# --- a kept-alive connection: the second request is decided too ------------
out=$(hc --proxy 10.2.0.2:80 \
    'send:GET /ok-1 HTTP/1.1\r\nHost: cdn-ok.test\r\n\r\n' read \
    'send:GET /bad-2 HTTP/1.1\r\nHost: cdn-bad.test\r\n\r\n' read)
port=$(port_of "$out")
like "$out" 'reads=404:[^,]*,403:' \
    "transparent keep-alive: Host cdn-ok.test served, then Host cdn-bad.test on the same connection refused 403 ($out)"
like "$(access)" '"GET /ok-1 HTTP/1\.1"' "the origin got the first request"
unlike "$(access)" 'bad-2' "the origin never saw the second"
flowlog_expect "the first request is logged on its own" \
    "cli=10.1.0.2:$port event=flow.request req=1" host=cdn-ok.test \
    path=/ok-1 rule=cdn-ok action=splice status=404 proto=http
flowlog_expect "the second is refused by the rule that names its Host" \
    "cli=10.1.0.2:$port" event=flow.blocked req=2 host=cdn-bad.test \
    path=/bad-2 rule=cdn-bad status=403

# --- the authority the origin will use: the absolute URI's --------------
out=$(hc --proxy 10.2.0.2:80 \
    'send:GET http://cdn-bad.test/abs-1 HTTP/1.1\r\nHost: cdn-ok.test\r\n\r\n' read)
like "$out" 'reads=400:' "an absolute URI naming cdn-bad.test behind Host cdn-ok.test is refused 400 ($out)"
flowlog_expect "logged host_uri_mismatch" "cli=10.1.0.2:$(port_of "$out")" \
    event=flow.error reason=host_uri_mismatch status=400
out=$(hc --proxy 10.2.0.2:80 \
    'send:GET http://cdn-bad.test/abs-2 HTTP/1.1\r\nHost: cdn-bad.test\r\n\r\n' read)
like "$out" 'reads=403:' "an absolute URI to cdn-bad.test is decided by it: 403 ($out)"
out=$(hc --proxy 10.2.0.2:80 \
    'send:GET http://cdn-ok.test/abs-3 HTTP/1.1\r\nHost: cdn-ok.test\r\n\r\n' read)
like "$out" 'reads=404:' "an absolute URI to cdn-ok.test with the same Host is forwarded ($out)"
like "$(access)" '"GET http://cdn-ok\.test/abs-3 HTTP/1\.1"' \
    "as sent (absolute form: a spliced request is not rewritten)"
unlike "$(access)" 'abs-1|abs-2' "the refused ones never reached the origin"

# --- a spliced request passes untransformed, both ways ---------------------
req='GET /plain HTTP/1.1\r\nHost: echo-ok.test\r\nConnection: keep-alive, X-Req-Hop\r\nX-Req-Hop: 1\r\nProxy-Connection: keep-alive\r\n\r\n'
sent=$(printf "$req" | sha256sum | cut -d' ' -f1)
printf "$req" >"$T/req"
out=$(in_cli timeout 20 "$PY" "$PYDIR/rawc.py" --idle 2 10.2.0.5:80 <"$T/req" 2>&1)
like "$out" "X-Head-Sha256: $sent" \
    "the origin received the spliced request byte for byte (no Via, nothing removed)"
like "$out" 'X-Resp-Hop' "the response came back as sent (its hop-by-hop fields kept)"
unlike "$out" 'Via: ' "no Via either way"

# --- every request gets its own record; the connection's end counts them --
out=$(in_cli curl -sS --max-time 20 --proxy "$PROXY4" \
    -o /dev/null -o /dev/null -w '%{http_code} %{local_port}\n' \
    'http://www.example.test/hello?exfil=s3cret' \
    http://other.example.test/hello 2>&1)
port=$(printf '%s\n' "$out" | awk 'NR == 1 { print $2 }')
is "$(printf '%s\n' "$out" | awk '{ print $1 }' | tr '\n' ' ')" "200 200 " \
    "explicit: two requests on one connection, both served"
flowlog_expect "the first request has its record" \
    "cli=10.1.0.2:$port event=flow.request req=1" mode=explicit method=GET \
    host=www.example.test path=/hello status=200 'down>=1' 'ms>=0'
flowlog_expect "the second too" "cli=10.1.0.2:$port event=flow.request req=2" \
    host=other.example.test path=/hello status=200
unlike "$(flowlog_grep "cli=10.1.0.2:$port event=flow.request")" 's3cret' \
    "the query is not logged (it may carry secrets)"
flowlog_expect "the connection's own end refers to them" "cli=10.1.0.2:$port" \
    event=flow.end requests=2

flowlog_valid
done_testing
