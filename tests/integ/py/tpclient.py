#!/usr/bin/python3
"""tpclient.py — first bytes of a transparent flow, from a chosen address.

  tpclient.py [--bind ADDR] [--proxy HOST:PORT] [--cafile CA]
              (--sni NAME [--ech] | --stun | --opaque) --then echo|tls
              HOST:PORT

What it sends (one write):
  --sni NAME   a real ClientHello for NAME, made by Python's ssl module
  --ech        ... with an encrypted_client_hello extension (type 0xfe0d,
               draft-ietf-tls-esni section 5: outer form, HPKE suite
               HKDF-SHA256/AES-128-GCM, a 32-byte enc and a 144-byte
               payload, as a GREASE ECH of a browser) appended; only with
               --then echo (the bytes differ from what the client hashed)
  --stun       a STUN Binding request (RFC 8489: magic cookie, a random
               transaction id, SOFTWARE and FINGERPRINT attributes), as
               sent over TCP to a TURN server
  --opaque     bytes neither TLS, HTTP nor STUN could start with

--bind ADDR    the client's source address (for a client outside a subnet)
--proxy        reach HOST:PORT through a CONNECT tunnel of that explicit
               proxy ("connect-NNN" if it answers otherwise than 200)
--then echo    the peer echoes: "echo-ok N" if exactly the N bytes sent
               came back, else short N, differs, closed, reset, timeout
--then tls     the peer is a TLS server (only with --sni): finish the
               handshake, verify against --cafile, GET /hello and print
               "tls-ok <status line>", else "tls-fail REASON" or reset

Every line ends with " port=N" (the client port).
"""

import argparse
import binascii
import os
import socket
import ssl
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxyconnect import connect_status  # noqa: E402
from tlshello import (add_extension, finish_tls, frame, make_hello,  # noqa: E402
                      records, recv_some)

EXT_ECH = 0xfe0d
STUN_MAGIC = 0x2112A442


def ech_outer():
    """An ECHClientHello of type outer: suite, config id, enc, payload."""
    enc = os.urandom(32)
    payload = os.urandom(144)
    return struct.pack("!BHHB", 0, 0x0001, 0x0001, os.urandom(1)[0]) + \
        struct.pack("!H", len(enc)) + enc + \
        struct.pack("!H", len(payload)) + payload


def stun_binding():
    """A Binding request with SOFTWARE and FINGERPRINT (RFC 8489 14.7,
    14.10): the length counts the attributes, FINGERPRINT covers the
    message up to it, with the length already including it."""
    txid = os.urandom(12)
    soft = b"sluice-test"
    attrs = struct.pack("!HH", 0x8022, len(soft)) + soft + \
        bytes((4 - len(soft) % 4) % 4)
    length = len(attrs) + 8
    head = struct.pack("!HHI", 0x0001, length, STUN_MAGIC) + txid
    crc = binascii.crc32(head + attrs) ^ 0x5354554E
    return head + attrs + struct.pack("!HHI", 0x8028, 4, crc)


def tunnel(s, target):
    return connect_status(s, target)


def echo_result(s, data):
    got = b""
    while len(got) < len(data):
        b = recv_some(s, 5)
        if b is None:
            return "timeout" if not got else "short %d" % len(got)
        if not b:
            return "closed" if not got else "short %d" % len(got)
        got += b
    return "echo-ok %d" % len(got) if got == data else "differs"


def endpoint(ep):
    host, _, port = ep.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser()
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--sni")
    what.add_argument("--stun", action="store_true")
    what.add_argument("--opaque", action="store_true")
    ap.add_argument("--ech", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--bind")
    ap.add_argument("--proxy")
    ap.add_argument("--then", choices=("echo", "tls"), required=True)
    ap.add_argument("target")
    a = ap.parse_args()
    if a.then == "tls" and (a.sni is None or a.ech):
        ap.error("--then tls needs --sni and no --ech")
    obj = inc = out = None
    if a.sni is not None:
        obj, inc, out, data = make_hello(a.sni, a.cafile)
        if a.ech:
            recs = records(data)
            msg = b"".join(r[2] for r in recs)
            data = frame(recs[0][0], recs[0][1],
                         add_extension(msg, EXT_ECH, ech_outer()))
    elif a.stun:
        data = stun_binding()
    else:
        data = b"\x00\xffOPAQUE" + os.urandom(1000)
    host, port = endpoint(a.proxy or a.target)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    # Bound first: the port is known even if the connection is reset at
    # once (a refusal at accept can beat connect() returning).
    s.bind((a.bind or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tag = " port=%d" % s.getsockname()[1]
    try:
        s.connect((host, port))
        if a.proxy:
            st = tunnel(s, a.target)
            if st != "200":
                print("connect-%s%s" % (st, tag))
                return 0
        s.sendall(data)
        if a.then == "tls":
            r = finish_tls(s, obj, inc, out)
            res = "tls-" + r if r.startswith("ok") else "tls-fail " + r
        else:
            res = echo_result(s, data)
    except ConnectionResetError:
        res = "reset"
    except BrokenPipeError:
        res = "reset"
    except ssl.SSLError as e:
        res = "tls-fail %s" % e.reason
    print(res + tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
