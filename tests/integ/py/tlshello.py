#!/usr/bin/python3
"""tlshello.py — send a real TLS ClientHello in awkward shapes.

  tlshello.py [--sni NAME] [--shape SHAPE] [--cafile CA] [--then echo|tls]
              [--gap-ms N] [--proxy HOST:PORT] HOST:PORT

With --proxy, HOST:PORT is reached through a CONNECT tunnel of that
explicit proxy (a status other than 200 prints "connect-NNN").
--sni-bytes S (Python escapes) puts bytes no TLS library would send into
the SNI: the hello is made for a placeholder name of the same length whose
bytes are then replaced (for log-injection tests).

The ClientHello is made by Python's ssl module (OpenSSL) for --sni, then
sent as SHAPE:
  whole      as OpenSSL wrote it (one record, one write)
  bytewise   one byte per TCP segment (TCP_NODELAY, --gap-ms apart)
  records3   the handshake message split across three TLS records
  big        an unknown extension makes it ~20 KiB: two records
  huge       the same, ~40 KiB (beyond the default peek-max of 32 KiB)
  truncated  the first half of the record, then FIN
  stall      the first 10 bytes, a pause of --gap-ms, then the rest
  malformed  the extensions length made inconsistent with the message

--then echo  (the peer is an echo server) expect exactly the bytes sent
             back: prints "echo-ok BYTES"
--then tls   (the peer is a TLS server) finish the handshake with the
             same SSL object, verify the certificate against --cafile,
             send "GET /hello" and print "tls-ok <first line>"; only for
             whole, bytewise, stall and records3 (the others alter the bytes the
             client hashed, so a real handshake cannot finish).
Otherwise, or when that fails, prints what happened: reset, closed
(EOF before anything came back), timeout, short N, differs, or
tls-fail REASON.  Every line ends with " port=N" (the client port).
"""

import argparse
import socket
import ssl
import struct
import sys
import time

from proxyconnect import connect_status


def make_hello(sni, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    if cafile is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return obj, inc, out, out.read()


def records(data):
    """[(type, version, payload)] of a byte string of whole records."""
    out = []
    while data:
        t, v, n = struct.unpack("!BHH", data[:5])
        out.append((t, v, data[5:5 + n]))
        data = data[5 + n:]
    return out


def frame(t, v, payload, maxlen=16384):
    out = b""
    for i in range(0, len(payload), maxlen):
        part = payload[i:i + maxlen]
        out += struct.pack("!BHH", t, v, len(part)) + part
    return out


def add_extension(msg, ext_type, payload):
    """The ClientHello handshake message msg with one more extension
    appended (lengths fixed up).  A pre_shared_key extension would have to
    stay last; a fresh context never sends one."""
    body = msg[4:]
    off = 2 + 32
    off += 1 + body[off]                                  # session id
    off += 2 + struct.unpack("!H", body[off:off + 2])[0]  # cipher suites
    off += 1 + body[off]                                  # compression
    ext_len = struct.unpack("!H", body[off:off + 2])[0]
    ext = struct.pack("!HH", ext_type, len(payload)) + payload
    body = body[:off] + struct.pack("!H", ext_len + len(ext)) + \
        body[off + 2:] + ext
    return bytes([msg[0]]) + len(body).to_bytes(3, "big") + body


def break_extensions(msg):
    body = msg[4:]
    off = 2 + 32
    off += 1 + body[off]
    off += 2 + struct.unpack("!H", body[off:off + 2])[0]
    off += 1 + body[off]
    ext_len = struct.unpack("!H", body[off:off + 2])[0]
    body = body[:off] + struct.pack("!H", ext_len + 40) + body[off + 2:]
    return msg[:4] + body


def shaped(hello, shape):
    recs = records(hello)
    t, v = recs[0][0], recs[0][1]
    msg = b"".join(r[2] for r in recs)
    if shape in ("whole", "bytewise", "truncated", "stall"):
        return hello
    if shape == "records3":
        a, b = len(msg) // 3, 2 * len(msg) // 3
        return frame(t, v, msg[:a]) + frame(t, v, msg[a:b]) + \
            frame(t, v, msg[b:])
    if shape == "big":
        return frame(t, v, add_extension(msg, 0x7777, bytes(20000)))
    if shape == "huge":
        return frame(t, v, add_extension(msg, 0x7777, bytes(40000)))
    if shape == "malformed":
        return frame(t, v, break_extensions(msg))
    raise SystemExit("unknown shape %r" % shape)


def recv_some(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(65536)
    except socket.timeout:
        return None


def finish_tls(s, obj, inc, out):
    deadline = time.monotonic() + 10
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = out.read()
            if pending:
                s.sendall(pending)
            b = recv_some(s, max(0.01, deadline - time.monotonic()))
            if b is None:
                return "timeout in handshake"
            if not b:
                return "closed in handshake"
            inc.write(b)
    pending = out.read()
    if pending:
        s.sendall(pending)
    obj.write(b"GET /hello HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
              % obj.server_hostname.encode())
    s.sendall(out.read())
    # Read the whole response (Connection: close) so that the client ends
    # with a clean close, never a reset from unread data.
    resp = b""
    while True:
        try:
            d = obj.read(4096)
            if not d:
                break
            resp += d
            continue
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
        b = recv_some(s, max(0.01, deadline - time.monotonic()))
        if not b:
            break
        inc.write(b)
    if b"\r\n" not in resp:
        return "no response"
    return "ok " + resp.split(b"\r\n")[0].decode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sni")
    ap.add_argument("--shape", default="whole")
    ap.add_argument("--cafile")
    ap.add_argument("--then", choices=("echo", "tls"))
    ap.add_argument("--gap-ms", type=float, default=1.0)
    ap.add_argument("--proxy")
    ap.add_argument("--sni-bytes")
    ap.add_argument("target")
    a = ap.parse_args()
    host, _, port = a.target.rpartition(":")
    raw_sni = None
    if a.sni_bytes is not None:
        raw_sni = a.sni_bytes.encode("latin-1").decode(
            "unicode_escape").encode("latin-1")
        # A placeholder of the same length for the TLS library (labels of
        # at most 60 bytes, as IDNA wants), replaced in the hello after.
        n = max(len(raw_sni) - 5, 1)
        ph = ["." if i % 61 == 60 and i != n - 1 else "p" for i in range(n)]
        a.sni = "".join(ph) + ".test"
    obj, inc, out, hello = make_hello(a.sni, a.cafile)
    if raw_sni is not None:
        assert hello.count(a.sni.encode()) == 1
        hello = hello.replace(a.sni.encode(), raw_sni)
    data = shaped(hello, a.shape)
    if a.proxy:
        ph, _, pp = a.proxy.rpartition(":")
        s = socket.create_connection((ph.strip("[]"), int(pp)), 10)
    else:
        s = socket.create_connection((host.strip("[]"), int(port)), 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tag = " port=%d" % s.getsockname()[1]
    if a.proxy:
        st = connect_status(s, a.target)
        if st != "200":
            print("connect-%s%s" % (st, tag))
            return 0
    try:
        if a.shape == "bytewise":
            for i in range(len(data)):
                s.send(data[i:i + 1])
                time.sleep(a.gap_ms / 1000.0)
        elif a.shape == "truncated":
            s.sendall(data[:len(data) // 2])
            s.shutdown(socket.SHUT_WR)
        elif a.shape == "stall":
            s.sendall(data[:10])
            time.sleep(a.gap_ms / 1000.0)
            s.sendall(data[10:])
        else:
            s.sendall(data)
        if a.then == "tls":
            r = finish_tls(s, obj, inc, out)
            print(("tls-" + r if r.startswith("ok") else "tls-fail " + r) + tag)
            return 0
        got = b""
        while len(got) < len(data):
            b = recv_some(s, 5)
            if b is None:
                print(("timeout" if not got else "short %d" % len(got)) + tag)
                return 0
            if not b:
                print(("closed" if not got else "short %d" % len(got)) + tag)
                return 0
            got += b
        if a.then == "echo":
            print(("echo-ok %d" % len(got) if got == data else "differs") + tag)
        else:
            print("answered %d" % len(got) + tag)
    except ConnectionResetError:
        print("reset" + tag)
    except ssl.SSLError as e:
        print("tls-fail %s%s" % (e.reason, tag))
    except BrokenPipeError:
        print("reset" + tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
