#!/usr/bin/python3
"""udpecho.py — a UDP echo server and its clients for the UDP forwarding
tests (integ 160).

  udpecho.py serve [--max S] [--grow N] ADDR:PORT...
  udpecho.py ping [--count N] [--timeout S] [--file F] [--size N] ADDR:PORT
  udpecho.py burst [--count N] ADDR:PORT TAG
  udpecho.py junk [--count N] [--size N] ADDR:PORT
  udpecho.py seq [--timeout S] [--sport N] ADDR:PORT HEX...
  udpecho.py train [--frames N] [--full N] [--size N] [--tail N] [--grow N]
                   ADDR:PORT

serve binds one socket per endpoint (IPv6 as [ADDR]:PORT), prints "ready",
then for each datagram a line

  got from=SRC:PORT on=BOUND:PORT len=N data=FIRST-40-PRINTABLE-BYTES

and sends it back, --grow N bytes longer (a TURN-like reply larger than the
request).  It exits after --max seconds (default 60).

ping sends --count datagrams (default 5) from one socket, one at a time,
each waiting (--timeout, default 2 s) for its echo, and prints one line

  sent=N recv=M from=ADDR:PORT[,ADDR:PORT...] bytes_out=B bytes_in=C port=P

"from" lists every distinct source address of the replies (what the client
sees); port is the client's own source port.  --file sends that file's
bytes as the first datagram (a QUIC Initial), --size pads the others.

burst sends --count datagrams (default 100) tagged TAG-i without waiting,
from one socket, and prints "port=P".  junk sends --count (default 1000)
datagrams of random bytes and lengths, every tenth a STUN header with a
length longer than the datagram, or of --size bytes each, --pace
seconds apart (default 0.5 ms: no socket buffer on the way overflows), and
prints "port=P".  seq sends each HEX payload in turn from one socket (bound to --sport, so
that a test's consecutive clients are never one 5-tuple), waiting
(--timeout, default 1 s) for its echo, and prints "echoes=1,0,1 port=P".
train sends --frames (default 3) frames the way a video sender does, each
--full (default 20) datagrams of --size (default 1200) bytes and one of
--tail (default 300), back to back without waiting, then collects the
echoes (up to 3 s) and prints

  sent=N recv=M intact=K order=1 port=P

intact counts echoes with the length and contents of the datagram they
answer (--grow: the server's --grow bytes longer) (each carries its index and a checksum of itself), order=1 when they
came back in the order they were sent: a forwarder that batches runs of
equal sizes (UDP GSO) must hand on the same datagrams, not merged ones.
"""

import argparse
import hashlib
import random
import select
import socket
import sys
import time

from tproxy_udp import endpoint, fmt, serve_loop


def sock_for(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(fam, socket.SOCK_DGRAM)


def serve(args):
    socks = {}
    for ep in args.endpoints:
        host, port = endpoint(ep)
        s = sock_for(host)
        if ":" in host:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        socks[s] = fmt(host, port)

    def echo(s, name):
        data, src = s.recvfrom(65535)
        text = "".join(chr(c) if 33 <= c < 127 else "." for c in data[:40])
        print("got from=%s on=%s len=%d data=%s" % (
            fmt(src[0], src[1]), name, len(data), text), flush=True)
        s.sendto(data + b"+" * args.grow, src)

    return serve_loop(socks, args.max, echo)


def wait_echo(s, data, timeout, froms):
    """Wait up to timeout for the echo of data on s; the length of the
    reply that echoes it, or 0.  Every reply's source goes into froms."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 0
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return 0
        reply, src = s.recvfrom(65535)
        a = fmt(src[0], src[1])
        if a not in froms:
            froms.append(a)
        if reply.startswith(data):
            return len(reply)


def ping(args):
    host, port = endpoint(args.dest)
    s = sock_for(host)
    sent = recv = out = inn = 0
    froms = []
    first = open(args.file, "rb").read() if args.file else None
    for i in range(args.count):
        if i == 0 and first is not None:
            data = first
        else:
            data = ("ping-%d-" % i).encode().ljust(args.size, b"x")
        s.sendto(data, (host, port))
        sent += 1
        out += len(data)
        n = wait_echo(s, data, args.timeout, froms)
        recv += n > 0
        inn += n
    print("sent=%d recv=%d from=%s bytes_out=%d bytes_in=%d port=%d" % (
        sent, recv, ",".join(froms) or "-", out, inn, s.getsockname()[1]),
        flush=True)
    return 0


def burst(args):
    host, port = endpoint(args.dest)
    s = sock_for(host)
    for i in range(args.count):
        s.sendto(("%s-%d" % (args.tag, i)).encode(), (host, port))
    print("port=%d" % s.getsockname()[1], flush=True)
    return 0


def seq(args):
    """Each HEX payload in turn from one socket, each waiting for its echo;
    prints "echoes=1,0,1" (1: echoed)."""
    host, port = endpoint(args.dest)
    s = sock_for(host)
    if args.sport:
        s.bind(("::" if ":" in host else "0.0.0.0", args.sport))
    got = []
    for h in args.payloads:
        data = bytes.fromhex(h)
        s.sendto(data, (host, port))
        got.append("1" if wait_echo(s, data, args.timeout, []) else "0")
    print("echoes=%s port=%d" % (",".join(got), s.getsockname()[1]),
          flush=True)
    return 0


def train(args):
    host, port = endpoint(args.dest)
    s = sock_for(host)
    sizes = ([args.size] * args.full + [args.tail]) * args.frames
    sent = {}
    for i, n in enumerate(sizes):
        body = ("%06d:" % i).encode()
        body += bytes((i * 7 + j) & 0xff for j in range(n - len(body) - 32))
        data = body + hashlib.sha256(body).hexdigest()[:32].encode()
        sent[i] = data
        s.sendto(data, (host, port))
    got, intact, order, last = 0, 0, 1, -1
    deadline = time.monotonic() + 3
    while got < len(sizes) and time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline -
                                                 time.monotonic()))
        if not r:
            break
        data = s.recv(65536)
        got += 1
        try:
            i = int(data[:6])
        except ValueError:
            continue
        if sent.get(i, b"") + b"+" * args.grow == data:
            intact += 1
        order &= i > last
        last = i
    print("sent=%d recv=%d intact=%d order=%d port=%d" % (
        len(sizes), got, intact, order, s.getsockname()[1]), flush=True)
    return 0


def junk(args):
    """--count datagrams of random bytes and lengths (0 to 1500, every
    tenth one a STUN header with a lying length), or --size bytes each."""
    host, port = endpoint(args.dest)
    s = sock_for(host)
    rnd = random.Random(args.seed)
    for i in range(args.count):
        if args.size:
            data = bytes(rnd.getrandbits(8) for _ in range(16)) * (
                args.size // 16)
        elif i % 10 == 0:
            # STUN: type, length 0x4000 (more than there is), magic cookie
            data = b"\x00\x01\x40\x00\x21\x12\xa4\x42" + bytes(
                rnd.getrandbits(8) for _ in range(rnd.randrange(0, 40)))
        else:
            data = bytes(rnd.getrandbits(8)
                         for _ in range(rnd.randrange(0, 1500)))
        s.sendto(data, (host, port))
        if args.pace:
            time.sleep(args.pace)
    print("port=%d" % s.getsockname()[1], flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--max", type=float, default=60)
    p.add_argument("--grow", type=int, default=0)
    p.add_argument("endpoints", nargs="+")
    p = sub.add_parser("ping")
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--timeout", type=float, default=2)
    p.add_argument("--file")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("dest")
    p = sub.add_parser("burst")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("dest")
    p.add_argument("tag")
    p = sub.add_parser("seq")
    p.add_argument("--timeout", type=float, default=1)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("dest")
    p.add_argument("payloads", nargs="+")
    p = sub.add_parser("train")
    p.add_argument("--frames", type=int, default=3)
    p.add_argument("--full", type=int, default=20)
    p.add_argument("--size", type=int, default=1200)
    p.add_argument("--tail", type=int, default=300)
    p.add_argument("--grow", type=int, default=0)
    p.add_argument("dest")
    p = sub.add_parser("junk")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--pace", type=float, default=0.0005)
    p.add_argument("dest")
    args = ap.parse_args()
    return {"serve": serve, "ping": ping, "burst": burst,
            "junk": junk, "seq": seq, "train": train}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
