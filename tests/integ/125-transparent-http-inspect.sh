#!/bin/bash
# 125-transparent-http-inspect: plain HTTP redirected from a port outside
# http-ports (81) under an inspect rule is parsed and forwarded request by
# request to the original destination; URL rules apply per request; the
# explicit proxy's http-ports limit does not apply to transparent flows.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
tcp_server_start heads headecho@10.2.0.5:81
transparent_start '
set transparent-tcp-ports 81
set log-allowed on
set via off
set peek-timeout 1s
set client-header-timeout 3s
rule no-admin deny url head.example.test/admin/
rule web inspect domain head.example.test port 81
rule web-ip inspect ip 10.2.0.5 port 81
default deny
'
in_cli "$PY" - >"$T/out" 2>&1 <<'PYEOF'
import socket
s = socket.create_connection(("10.2.0.5", 81), timeout=10)
def ask(path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: head.example.test:81\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        more = s.recv(4096)
        if not more:
            raise EOFError("connection closed")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        more = s.recv(4096)
        if not more:
            raise EOFError("connection closed in the body")
        body += more
    print(head.split(b"\r\n")[0].decode(), body[:n].split(b"\r\n")[0].decode(),
          flush=True)
for p in (b"/one", b"/two", b"/admin/x"):
    try:
        ask(p)
    except Exception as e:
        print("error", e, flush=True)
        break
PYEOF
is "$(sed -n 1p "$T/out")" "HTTP/1.1 200 OK GET /one HTTP/1.1" "first request forwarded to the original destination"
is "$(sed -n 2p "$T/out")" "HTTP/1.1 200 OK GET /two HTTP/1.1" "second request on the same connection"
like "$(sed -n 3p "$T/out")" "^HTTP/1.1 403 " "a URL rule refuses the third request"
flowlog_expect "the URL refusal is logged" "host=head.example.test event=flow.blocked" \
    mode=transparent rule=no-admin action=deny status=403

# The same on the explicit proxy: a request refused after a served one on
# a kept-alive connection gets its 403 (regression: the connection used to
# be cut, as if the refusal came in the middle of a response).
out=$(in_cli curl -sS -x http://10.1.0.1:3128 -o /dev/null -w '%{http_code} %{num_connects}\n' \
    http://head.example.test:81/one -o /dev/null http://head.example.test:81/admin/y 2>&1)
is "$(printf '%s\n' "$out" | tr '\n' ' ')" "200 1 403 0 " \
    "explicit: served, then refused with 403 on the same connection"

# --- a pause inside the head longer than peek-timeout ----------------------
# Bytes that can only begin an HTTP request are not turned into opaque
# bytes by a pause (opaque bytes would be decided on the address alone,
# by web-ip, past the URL rule): the head decides, or it gets 408 at
# client-header-timeout, or 400 if the client closes first.
# paused PIECE...: send the pieces (Python escapes) 1.5 s apart to
# 10.2.0.5:81; print the status of the answer (closed, reset, timeout)
# and the client port.
paused() {
	in_cli "$PY" - "$@" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("10.2.0.5", 81), timeout=10)
port = s.getsockname()[1]
pieces = [p.encode("latin-1").decode("unicode_escape").encode("latin-1")
          for p in sys.argv[1:]]
status = "closed"
try:
    for i, p in enumerate(pieces):
        if i:
            time.sleep(1.5)
        if p == b"EOF":
            s.shutdown(socket.SHUT_WR)
        else:
            s.sendall(p)
    data = s.recv(4096)
    if data.startswith(b"HTTP/1.1 "):
        status = data[9:12].decode()
except socket.timeout:
    status = "timeout"
except ConnectionError:
    status = "reset"
print(status, port)
PYEOF
}
req='GET /admin/p HTTP/1.1\r\nHost: head.example.test:81\r\n\r\n'
read -r st port <<<"$(paused 'GET /admin/p HTTP/1.1\r\nHo' 'st: head.example.test:81\r\n\r\n')"
is "$st" "403" "a head paused past peek-timeout is still decided by its URL"
flowlog_expect "and logged by the URL rule" "cli=10.1.0.2:$port" \
    event=flow.blocked proto=http rule=no-admin status=403
read -r st port <<<"$(paused 'G' "${req#G}")"
is "$st" "403" "a pause after the first byte of the method changes nothing"
flowlog_expect "and logged by the URL rule too" "cli=10.1.0.2:$port" \
    event=flow.blocked proto=http rule=no-admin
read -r st port <<<"$(paused 'GET /one HTTP/1.1\r\n')"
is "$st" "408" "a head that never completes gets 408 at client-header-timeout"
flowlog_expect "the late head is logged" "cli=10.1.0.2:$port" \
    event=flow.error proto=http status=408 reason=request_head_timeout term=TH
read -r st port <<<"$(paused 'GET /one HTTP/1.1\r\n' EOF)"
is "$st" "400" "a client that closes in the middle of a head gets 400"
flowlog_expect "the cut head is logged" "cli=10.1.0.2:$port" \
    event=flow.error proto=http status=400 reason=incomplete_request

# --- shapes an origin takes for a request are HTTP, not opaque bytes -------
# (opaque bytes would go to web-ip on the address alone, past the URL rule)
read -r st port <<<"$(paused '\r\nGET /admin/p HTTP/1.1\r\nHost: head.example.test:81\r\n\r\n')"
is "$st" "403" "an empty line before the request line changes nothing"
flowlog_expect "and the URL rule decided" "cli=10.1.0.2:$port" \
    event=flow.blocked proto=http rule=no-admin
read -r st port <<<"$(paused 'GET /admin/p\r\n')"
is "$st" "400" "an HTTP/0.9 request is refused as HTTP, not spliced"
flowlog_expect "and logged as HTTP" "cli=10.1.0.2:$port" \
    event=flow.error proto=http status=400
long=$(printf 'a%.0s' $(seq 9000))
read -r st port <<<"$(paused "GET /admin/$long HTTP/1.1\r\nHost: head.example.test:81\r\n\r\n")"
like "$st" '^(400|414)$' "a request line longer than 8 KiB is refused as HTTP, not spliced ($st)"
flowlog_expect "and logged as HTTP" "cli=10.1.0.2:$port" \
    event=flow.error proto=http 'status~^(400|414)$'
sanitizer_check
done_testing
