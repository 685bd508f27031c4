#!/usr/bin/python3
"""hfclient.py — one scripted HTTP client connection through the proxy.

  hfclient.py talk [--proxy HOST:PORT] [--rcvbuf N] [--timeout S] STEP...
      Runs the steps in order on one connection, then prints one line:
        port=LOCALPORT reads=R1,R2,... total=BYTES how=HOW
      R: STATUS:BODY@MS for each response read (BODY as "len=N:sha=HEX"
      when longer than 40 bytes, spaces as "_"; MS since the connection),
      or timeout@MS / closed@MS / reset@MS.  BYTES: every byte received
      from the proxy; HOW: how the last read ended (ok, closed, reset,
      timeout, rst: we reset).
      Steps: send:REQ (REQ with Python escapes and {X*N}, as rawhttp.py);
      trickle:GAP:REQ (one byte per GAP seconds); sleep:S; read (one
      response, Content-Length or no body); shut (SHUT_WR); drain (read
      every response until the proxy closes); rst:N (read N bytes, then
      close with a TCP reset).

  hfclient.py flood [--proxy HOST:PORT] URL HOLD
      A GET, then no reading for HOLD seconds with a 4 KiB receive buffer
      (prints "holding port=N" at once), then reads 1xx heads until the
      final response: "interim=N status=S body=B total=BYTES".
"""

import argparse
import hashlib
import socket
import struct
import sys
import time

from rawhttp import endpoint, expand


class Conn:
    def __init__(self, proxy, rcvbuf, timeout):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(endpoint(proxy))
        self.t0 = time.monotonic()
        self.deadline = self.t0 + timeout
        self.buf = b""
        self.total = 0
        self.how = "ok"

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def more(self):
        """Read once into buf; False at the end (how says why)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.how = "timeout"
            return False
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            self.how = "timeout"
            return False
        except ConnectionResetError:
            self.how = "reset"
            return False
        if not d:
            self.how = "closed"
            return False
        self.total += len(d)
        self.buf += d
        return True

    def response(self):
        """One response: "STATUS:BODY@MS", or how it ended."""
        while b"\r\n\r\n" not in self.buf:
            if not self.more():
                return "%s@%d" % (self.how, self.ms())
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        st = head.split(b" ", 2)[1].decode("latin-1")
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if st.startswith("1") or st in ("204", "304"):
            n = 0
        while len(self.buf) < n:
            if not self.more():
                return "%s:cut=%d@%d" % (st, len(self.buf), self.ms())
        body, self.buf = self.buf[:n], self.buf[n:]
        if len(body) > 40:
            b = "len=%d:sha=%s" % (n, hashlib.sha256(body).hexdigest())
        else:
            b = body.decode("latin-1").strip().replace(" ", "_")
        return "%s:%s@%d" % (st, b, self.ms())


def talk(a):
    c = Conn(a.proxy, a.rcvbuf, a.timeout)
    port = c.s.getsockname()[1]
    reads = []
    for step in a.steps:
        op, _, arg = step.partition(":")
        if op == "send":
            c.s.sendall(expand(arg))
        elif op == "trickle":
            gap, _, req = arg.partition(":")
            for b in expand(req):
                c.s.sendall(bytes([b]))
                time.sleep(float(gap))
        elif op == "sleep":
            time.sleep(float(arg))
        elif op == "read":
            reads.append(c.response())
        elif op == "shut":
            c.s.shutdown(socket.SHUT_WR)
        elif op == "drain":
            while True:
                r = c.response()
                reads.append(r)
                if not r[0].isdigit() or ":cut=" in r:
                    break
        elif op == "rst":
            while c.total < int(arg) and c.more():
                pass
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            c.how = "rst"
            break
        else:
            print("unknown step %r" % step, file=sys.stderr)
            return 2
    c.s.close()
    print("port=%d reads=%s total=%d how=%s" % (port, ",".join(reads) or "-",
                                                c.total, c.how), flush=True)
    return 0


def flood(a):
    c = Conn(a.proxy, 4096, a.hold + 60)
    host = a.url.split("/")[2]
    c.s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                 % (a.url, host)).encode())
    print("holding port=%d" % c.s.getsockname()[1], flush=True)
    time.sleep(a.hold)
    # Count the 1xx heads in place (millions of them: no copy per head),
    # then read the final response as usual.
    interim, off = 0, 0
    while True:
        i = c.buf.find(b"\r\n\r\n", off)
        if i < 0:
            c.buf, off = c.buf[off:], 0
            if not c.more():
                break
            continue
        if c.buf[off + 9:off + 10] != b"1":
            break
        interim, off = interim + 1, i + 4
    c.buf = c.buf[off:]
    last = c.response()
    st, _, body = last.partition(":")
    print("interim=%d status=%s body=%s total=%d" % (
        interim, st, body.split("@")[0] or "-", c.total), flush=True)
    c.s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("talk")
    t.add_argument("--proxy", default="10.1.0.1:3128")
    t.add_argument("--rcvbuf", type=int, default=0)
    t.add_argument("--timeout", type=float, default=20)
    t.add_argument("steps", nargs="+")
    f = sub.add_parser("flood")
    f.add_argument("--proxy", default="10.1.0.1:3128")
    f.add_argument("url")
    f.add_argument("hold", type=float)
    a = ap.parse_args()
    return talk(a) if a.cmd == "talk" else flood(a)


if __name__ == "__main__":
    sys.exit(main())
