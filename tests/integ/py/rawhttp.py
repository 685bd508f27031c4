#!/usr/bin/python3
"""rawhttp.py — send raw HTTP request bytes to a proxy, report the answer.

  rawhttp.py one --proxy HOST:PORT [--timeout S] REQUEST
      REQUEST uses Python escapes (\\r \\n \\x00 ...) and {X*N} (X repeated
      N times).  Prints "STATUS LOCALPORT" on the first line (STATUS is the
      3-digit code, or closed / timeout / reset / garbage), then the
      response head and body as received (latin-1).

  rawhttp.py table --proxy HOST:PORT --good URL FILE
      FILE: lines "STATUS<TAB>NAME<TAB>REQUEST" ('#' comments).  For each
      row: a new connection sends REQUEST, the answer's status line is
      parsed and the connection must then be closed by the proxy (bytes
      after a rejected head cannot be trusted).  After every row a good
      request (GET URL) is made on one long-lived kept-alive connection
      opened before the first row, and on a new connection.  Prints one
      tab-separated line per row:
        NAME WANT GOT CLOSED(closed|open) GOOD(ok|why) LOCALPORT
"""

import argparse
import re
import socket
import sys
import time
from urllib.parse import urlsplit

MACRO = re.compile(r"\{([^{}*]+)\*(\d+)\}")


def expand(req):
    req = MACRO.sub(lambda m: m.group(1) * int(m.group(2)), req)
    return req.encode("latin-1").decode("unicode_escape").encode("latin-1")


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def read_response(s, deadline, connect=False):
    """(status, raw bytes): the head and a Content-Length body (or what
    arrives until close when there is no length; nothing after a 2xx to
    CONNECT, a 1xx, 204 or 304)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            return ("timeout" if not buf else "garbage"), buf
        except ConnectionResetError:
            return ("reset" if not buf else "garbage"), buf
        if not b:
            return ("closed" if not buf else "garbage"), buf
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})[ \r]", head + b"\r")
    if not m:
        return "garbage", buf
    status = m.group(1).decode()
    clen = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    if (connect and status[0] == "2") or status[0] == "1" or \
            status in ("204", "304"):
        return status, head + b"\r\n\r\n" + body
    want = clen if clen is not None else 1 << 20
    while len(body) < want:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not b:
            break
        body += b
    return status, head + b"\r\n\r\n" + body


def closed_after(s, secs):
    """True if the peer closes (EOF or RST) within secs, sending nothing
    more."""
    s.settimeout(secs)
    try:
        b = s.recv(1)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    return b == b""


def cmd_one(a):
    s = socket.create_connection(endpoint(a.proxy), a.timeout)
    port = s.getsockname()[1]
    req = expand(a.request)
    s.sendall(req)
    st, raw = read_response(s, time.monotonic() + a.timeout,
                            req.startswith(b"CONNECT "))
    s.close()
    sys.stdout.write("%s %d\n" % (st, port))
    sys.stdout.write(raw.decode("latin-1"))
    return 0


class Good:
    """The other client: a kept-alive connection making good requests."""

    def __init__(self, proxy, url):
        u = urlsplit(url)
        self.proxy = proxy
        self.req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                    % (url, u.netloc)).encode()
        self.sock = None
        self.reopened = 0

    def once(self, s):
        s.sendall(self.req)
        st, raw = read_response(s, time.monotonic() + 10)
        return st == "200", st

    def check(self):
        if self.sock is None:
            self.sock = socket.create_connection(endpoint(self.proxy), 5)
        try:
            ok, st = self.once(self.sock)
        except OSError as e:
            ok, st = False, str(e)
        if not ok:
            return "kept-alive connection: %s" % st
        with socket.create_connection(endpoint(self.proxy), 5) as s:
            ok, st = self.once(s)
        return "ok" if ok else "new connection: %s" % st


def cmd_table(a):
    rows = []
    with open(a.file, encoding="latin-1") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            want, name, req = line.split("\t", 2)
            rows.append((want, name, req))
    good = Good(a.proxy, a.good)
    first = good.check()
    if first != "ok":
        print("the good request fails before any bad one: %s" % first)
        return 1
    for want, name, req in rows:
        s = socket.create_connection(endpoint(a.proxy), 5)
        port = s.getsockname()[1]
        try:
            s.sendall(expand(req))
        except OSError:
            pass
        st, raw = read_response(s, time.monotonic() + 5)
        closed = "closed" if closed_after(s, 3) else "open"
        s.close()
        print("\t".join([name, want, st, closed, good.check(), str(port)]),
              flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("one")
    o.add_argument("--proxy", required=True)
    o.add_argument("--timeout", type=float, default=15)
    o.add_argument("request")
    t = sub.add_parser("table")
    t.add_argument("--proxy", required=True)
    t.add_argument("--good", required=True)
    t.add_argument("file")
    a = ap.parse_args()
    return cmd_one(a) if a.cmd == "one" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
