#!/usr/bin/python3
"""dnsq.py — one DNS query over UDP, for checking the test DNS server.

  dnsq.py SERVER NAME [A|AAAA] [TIMEOUT]

Prints "NOERROR addr..." / "NXDOMAIN" / "SERVFAIL" ... or "TIMEOUT";
exit 0 whenever an answer (of any rcode) or the timeout was observed.
"""

import os
import socket
import struct
import sys

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}


def query(server, name, qtype, timeout):
    qid = struct.unpack("!H", os.urandom(2))[0]
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 28 if qtype == "AAAA" else 1, 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(q, (server, 53))
    try:
        r, _ = s.recvfrom(4096)
    except socket.timeout:
        return "TIMEOUT"
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", r[:12])
    out = [RCODES.get(flags & 15, str(flags & 15))]
    off = 12
    for _ in range(qd):
        while r[off]:
            off += r[off] + 1
        off += 5
    for _ in range(an):
        if r[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while r[off]:
                off += r[off] + 1
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", r[off:off + 10])
        off += 10
        rd = r[off:off + rdlen]
        off += rdlen
        if rtype == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rd))
        elif rtype == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rd))
    return " ".join(out)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print(query(sys.argv[1], sys.argv[2],
                sys.argv[3] if len(sys.argv) > 3 else "A",
                float(sys.argv[4]) if len(sys.argv) > 4 else 2.0))
