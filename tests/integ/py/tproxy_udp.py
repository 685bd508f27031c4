#!/usr/bin/python3
"""tproxy_udp.py — UDP receiver (optionally a TPROXY one) and sender.

  tproxy_udp.py recv [--transparent] [--max S] ADDR:PORT...
  tproxy_udp.py send [--from ADDR] ADDR:PORT PAYLOAD

recv binds one UDP socket per endpoint (IPv6 ones as [ADDR]:PORT, v6only),
with IP_RECVORIGDSTADDR / IPV6_RECVORIGDSTADDR, prints "ready" once all are
bound, then one line per datagram:

  got from=SRC:PORT to=ORIGDST:PORT on=BOUND:PORT data=PAYLOAD

"to" is the datagram's original destination as the kernel reports it
(IP_ORIGDSTADDR): for a datagram diverted by nftables' tproxy it is the
address the client sent to, not the socket's own.  --transparent sets
IP_TRANSPARENT / IPV6_TRANSPARENT first (needs CAP_NET_ADMIN), so the socket
may receive what tproxy diverts to it: this is what sluiced's STUN/TURN
forwarder will do on the transparent listener's endpoint.  recv exits
after --max seconds (default 120) so a forgotten receiver cannot linger.

send sends one datagram and prints "port=N", its source port.
"""

import argparse
import select
import socket
import struct
import sys
import time

# <linux/in.h>, <linux/in6.h>; Python's socket module lacks most of them.
IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
IP_ORIGDSTADDR = IP_RECVORIGDSTADDR
IPV6_RECVORIGDSTADDR = 74
IPV6_ORIGDSTADDR = IPV6_RECVORIGDSTADDR
IPV6_TRANSPARENT = 75
SOL_IP = 0
SOL_IPV6 = 41


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def fmt(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def origdst(cmsgs):
    """The original destination from the ancillary data, or "-"."""
    for level, ctype, data in cmsgs:
        if level == SOL_IP and ctype == IP_ORIGDSTADDR:
            port, = struct.unpack_from("!H", data, 2)
            return fmt(socket.inet_ntop(socket.AF_INET, data[4:8]), port)
        if level == SOL_IPV6 and ctype == IPV6_ORIGDSTADDR:
            port, = struct.unpack_from("!H", data, 2)
            return fmt(socket.inet_ntop(socket.AF_INET6, data[8:24]), port)
    return "-"


def recv(args):
    socks = {}
    for ep in args.endpoints:
        host, port = endpoint(ep)
        if ":" in host:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if args.transparent:
                s.setsockopt(SOL_IPV6, IPV6_TRANSPARENT, 1)
            s.setsockopt(SOL_IPV6, IPV6_RECVORIGDSTADDR, 1)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if args.transparent:
                s.setsockopt(SOL_IP, IP_TRANSPARENT, 1)
            s.setsockopt(SOL_IP, IP_RECVORIGDSTADDR, 1)
        s.bind((host, port))
        socks[s] = fmt(host, port)

    def got(s, name):
        data, anc, _, src = s.recvmsg(2048, socket.CMSG_SPACE(64))
        print("got from=%s to=%s on=%s data=%s" % (
            fmt(src[0], src[1]), origdst(anc), name,
            data.decode("ascii", "replace")), flush=True)

    return serve_loop(socks, args.max, got)


def serve_loop(socks, seconds, handle):
    """Print "ready", then call handle(sock, name) for each readable socket
    of socks ({sock: name}) until seconds have passed; returns 0."""
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 0
        ready, _, _ = select.select(list(socks), [], [], left)
        for s in ready:
            handle(s, socks[s])


def send(args):
    host, port = endpoint(args.dest)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    s.sendto(args.payload.encode(), (host, port))
    print("port=%d" % s.getsockname()[1], flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--transparent", action="store_true")
    r.add_argument("--max", type=float, default=120)
    r.add_argument("endpoints", nargs="+")
    s = sub.add_parser("send")
    s.add_argument("--from", dest="src")
    s.add_argument("dest")
    s.add_argument("payload")
    args = ap.parse_args()
    return recv(args) if args.cmd == "recv" else send(args)


if __name__ == "__main__":
    sys.exit(main())
