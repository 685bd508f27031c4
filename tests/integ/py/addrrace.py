#!/usr/bin/python3
"""addrrace.py — add an address and use it through the proxy at once.

  addrrace.py --proxy HOST:PORT --dev DEV --prefix A.B.C [--port P] N

Runs in the gateway's namespace (root).  N times: add A.B.C.i/32 to DEV
with an rtnetlink request of its own (RTM_NEWADDR, answered once the
kernel has the address), then at once send "GET http://A.B.C.i:P/secret"
on a connection to the proxy opened beforehand, read the status, remove
the address.  Nothing slower than the kernel's own notification stands
between the change and the request.  Prints the statuses counted, e.g.
"403=100" or "200=41 403=59".
"""

import argparse
import socket
import struct
import sys

from hfclient import Conn

RTM_NEWADDR, RTM_DELADDR = 20, 21
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFA_ADDRESS, IFA_LOCAL = 1, 2


class Rtnl:
    def __init__(self, dev):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.s.bind((0, 0))
        self.index = socket.if_nametoindex(dev)
        self.seq = 0

    def addr(self, op, ip):
        """RTM_NEWADDR / RTM_DELADDR ip/32 (rtnetlink(7)); waits for the ack."""
        flags = NLM_F_REQUEST | NLM_F_ACK
        if op == RTM_NEWADDR:
            flags |= NLM_F_CREATE | NLM_F_EXCL
        a = socket.inet_aton(ip)
        body = struct.pack("BBBBI", socket.AF_INET, 32, 0, 0, self.index)
        body += struct.pack("HH", 8, IFA_LOCAL) + a
        body += struct.pack("HH", 8, IFA_ADDRESS) + a
        self.seq += 1
        self.s.send(struct.pack("IHHII", 16 + len(body), op, flags,
                                self.seq, 0) + body)
        ack = self.s.recv(4096)
        err = struct.unpack("i", ack[16:20])[0]
        if err != 0:
            raise OSError(-err, "rtnetlink %s %s" % (op, ip))


def status(c, target):
    """One GET on hfclient's Conn c; its status, or how the read ended."""
    c.s.sendall(("GET http://%s/secret HTTP/1.1\r\nHost: %s\r\n\r\n"
                 % (target, target)).encode())
    return c.response().split("@")[0].split(":")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("n", type=int)
    a = ap.parse_args()
    nl = Rtnl(a.dev)
    seen = {}
    c = None
    for i in range(1, a.n + 1):
        ip = "%s.%d" % (a.prefix, i)
        if c is None:
            c = Conn(a.proxy, 0, 30)
        nl.addr(RTM_NEWADDR, ip)
        st = status(c, "%s:%d" % (ip, a.port))
        nl.addr(RTM_DELADDR, ip)
        seen[st] = seen.get(st, 0) + 1
        if st != "200":		# a refusal closes the connection
            c.s.close()
            c = None
    print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
