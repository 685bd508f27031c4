#!/usr/bin/python3
"""turnjunk.py — malformed STUN/TURN for the TURN tests (integ 161).

  turnjunk.py udp [--count N] [--seed S] [--pace S] [--bind] ADDR:PORT
  turnjunk.py tcp [--timeout S] ADDR:PORT HEX

udp sends, from one socket: (with --bind) a STUN Binding request first,
waiting up to 2 s for a Binding success response; then --count (default
10000) malformed datagrams, a kind each in turn:

  0  random bytes (1-200), first byte 0x80-0xff: neither STUN (top two
     bits zero) nor ChannelData (0x40-0x7f)
  1  a STUN header (Binding request, magic cookie) whose length says more
     than the datagram carries
  2  a truncated STUN header (1-19 bytes)
  3  a STUN header with a length that is not a multiple of 4, body to match
  4  ChannelData (a channel 0x4000-0x7fff) whose length says more than it
     carries

--pace seconds apart every 16 (default 1 ms: no socket buffer on the way
overflows); then (with --bind) another Binding request on the same socket,
waiting 2 s.  It prints one line

  sent=N first=0|1 last=0|1 port=P

first/last: a Binding success response (0x0101, the request's transaction
id) came back for the first/last request.  Without --bind nothing is
awaited (first=0 last=0).

tcp connects, sends HEX (a truncated STUN-over-TCP frame), half-closes
and reads until the server closes (--timeout, default 5 s), then prints

  sent=N recv=M end=eof|reset|timeout port=P
"""

import argparse
import os
import random
import select
import socket
import struct
import sys
import time

COOKIE = 0x2112A442


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def bind_req():
    tid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, COOKIE) + tid, tid


def wait_resp(s, tid, timeout):
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 0
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return 0
        d = s.recv(65536)
        if len(d) >= 20 and d[0:2] == b"\x01\x01" and d[8:20] == tid:
            return 1


def malformed(rnd, i):
    kind = i % 5
    if kind == 0:
        n = rnd.randint(1, 200)
        return bytes([rnd.randint(0x80, 0xFF)]) + rnd.randbytes(n - 1)
    if kind == 1:
        body = rnd.randint(0, 10) * 4
        return (struct.pack("!HHI", 0x0001, body + 4 * rnd.randint(1, 50),
                            COOKIE) + rnd.randbytes(12) + bytes(body))
    if kind == 2:
        full = struct.pack("!HHI", 0x0001, 0, COOKIE) + rnd.randbytes(12)
        return full[:rnd.randint(1, 19)]
    if kind == 3:
        ln = rnd.randint(0, 20) * 4 + rnd.randint(1, 3)
        return (struct.pack("!HHI", 0x0001, ln, COOKIE) + rnd.randbytes(12) +
                bytes(ln))
    n = rnd.randint(0, 60)
    return (struct.pack("!HH", rnd.randint(0x4000, 0x7FFF),
                        n + rnd.randint(1, 40)) + bytes(n))


def udp(args):
    host, port = endpoint(args.dest)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.connect((host, port))
    first = last = 0
    if args.bind:
        req, tid = bind_req()
        s.send(req)
        first = wait_resp(s, tid, 2)
    rnd = random.Random(args.seed)
    sent = 0
    for i in range(args.count):
        try:
            s.send(malformed(rnd, i))
            sent += 1
        except OSError:
            pass	# an ICMP error queued by the network: not ours
        if i % 16 == 15:
            time.sleep(args.pace)
    if args.bind:
        time.sleep(0.2)
        req, tid = bind_req()
        s.send(req)
        last = wait_resp(s, tid, 2)
    print("sent=%d first=%d last=%d port=%d" % (sent, first, last,
                                                 s.getsockname()[1]))


def tcp(args):
    host, port = endpoint(args.dest)
    data = bytes.fromhex(args.hex)
    s = socket.create_connection((host, port), timeout=args.timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    recv, end = 0, "timeout"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            end = "reset"
            break
        if not d:
            end = "eof"
            break
        recv += len(d)
    print("sent=%d recv=%d end=%s port=%d" % (len(data), recv, end,
                                               s.getsockname()[1]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("udp")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--pace", type=float, default=0.001)
    p.add_argument("--bind", action="store_true")
    p.add_argument("dest")
    p = sub.add_parser("tcp")
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("dest")
    p.add_argument("hex")
    args = ap.parse_args()
    return udp(args) if args.cmd == "udp" else tcp(args)


if __name__ == "__main__":
    sys.exit(main())
