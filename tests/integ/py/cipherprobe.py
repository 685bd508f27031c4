#!/usr/bin/env python3
"""cipherprobe.py: offer a TLS 1.2 server exactly the cipher suites given,
with a ClientHello built by hand (OpenSSL 3 can no longer send RC4, 3DES or
EXPORT suites), and say what the server answered.

  cipherprobe.py [--sni NAME] HOST:PORT SUITE...      (SUITE: hex, 0xc02b)

Prints one line: "accepted 0xNNNN" (a ServerHello choosing that suite),
"alert N" (a fatal alert, N its description), or "closed" (no answer).
The hello carries SNI, supported_groups (x25519, P-256, P-384),
ec_point_formats, signature_algorithms and renegotiation_info, so that the
only thing a server can object to is the suites.
"""
import argparse, os, socket, struct, sys


def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def hello(sni, suites):
    exts = b""
    if sni:
        n = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(n)) + n
        exts += ext(0, struct.pack("!H", len(entry)) + entry)
    groups = struct.pack("!HHH", 0x001d, 0x0017, 0x0018)
    exts += ext(10, struct.pack("!H", len(groups)) + groups)
    exts += ext(11, b"\x01\x00")
    algs = struct.pack("!8H", 0x0403, 0x0503, 0x0804, 0x0805, 0x0401,
                       0x0501, 0x0203, 0x0201)
    exts += ext(13, struct.pack("!H", len(algs)) + algs)
    exts += ext(0xff01, b"\x00")
    cs = b"".join(struct.pack("!H", s) for s in suites)
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" +
            struct.pack("!H", len(cs)) + cs + b"\x01\x00" +
            struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sni", default="")
    ap.add_argument("target")
    ap.add_argument("suites", nargs="+")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(hello(a.sni, [int(x, 16) for x in a.suites]))
    buf = b""
    try:
        while len(buf) < 5 or len(buf) < 5 + struct.unpack("!H", buf[3:5])[0]:
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except OSError:
        pass
    if len(buf) >= 7 and buf[0] == 0x15:
        print("alert %d" % buf[6])
    elif len(buf) >= 5 + 4 + 2 + 32 + 1 and buf[0] == 0x16 and buf[5] == 2:
        sid_len = buf[5 + 4 + 2 + 32]
        off = 5 + 4 + 2 + 32 + 1 + sid_len
        print("accepted 0x%04x" % struct.unpack("!H", buf[off:off + 2])[0])
    else:
        print("closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
