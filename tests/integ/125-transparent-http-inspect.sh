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
rule no-admin deny url head.example.test/admin/
rule web inspect domain head.example.test port 81
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
sanitizer_check
done_testing
