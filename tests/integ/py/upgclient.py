#!/usr/bin/python3
"""upgclient.py — raw bytes through a proxy's Upgrade tunnel.

  upgclient.py --proxy HOST:PORT [options] http://HOST:PORT/MODE/TAG

Sends "GET http://HOST:PORT/MODE/TAG HTTP/1.1" with "Upgrade: websocket"
to the proxy (an absolute-URI request, RFC 9112 section 3.2.2), reads the
response head; a status other than 101 prints "status N" and exits 3.
Then prints "local port N" and "head101 N" (bytes of the response head as
received, read byte by byte) and moves raw bytes (no WebSocket framing;
see upgsrv.py):

  --send FILE       send FILE, then half-close (SHUT_WR); "sent N" (bytes
                    the kernel accepted) after every send(2), then "shut"
  --early N         send the first N bytes of FILE in the same write as the
                    request head, before the 101 arrives
  --wait-file F     do not read until F exists (bounded: 120 s); prints
                    "waiting" when it starts to wait
  --rcvbuf N        SO_RCVBUF of the socket, set before connecting
  --after-eof TEXT  after the peer's EOF send TEXT, then close
  --ping N --interval S
                    send one byte N times, S seconds apart, each expected
                    back (an echo), print "pinged N"; then send nothing and
                    wait for the proxy to close: "closed after MS ms",
                    "reset after MS ms" or "timeout" (--timeout); N may
                    be 0
  --shut            with --ping: half-close (SHUT_WR) before that wait
  --connect         CONNECT HOST:PORT first, then the upgrade request in
                    origin form inside the tunnel (the splice relay, for
                    comparison)

Unless --ping, reading runs while sending, to the peer's EOF, then prints
"received N SHA256".  Exit 0 on a clean end, 1 on an error (printed).
"""

import argparse
import base64
import hashlib
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

CHUNK = 65536
LOCK = threading.Lock()


def say(line):
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def open_tunnel(a):
    host, port = endpoint(a.proxy)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if a.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.settimeout(a.timeout)
    s.connect((host, port))
    u = urlsplit(a.url)
    target = a.url
    if a.connect:
        do_connect(s, u.netloc)
        target = u.path or "/"
    key = base64.b64encode(os.urandom(16))
    head = (b"GET " + target.encode() + b" HTTP/1.1\r\n"
            b"Host: " + u.netloc.encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n")
    return s, head


def do_connect(s, authority):
    """CONNECT through the proxy; the upgrade then goes inside the tunnel."""
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
              % (authority.encode(), authority.encode()))
    head = read_response(s)
    status = head.split(b"\r\n", 1)[0].split(b" ")
    if len(status) < 2 or status[1] != b"200":
        raise RuntimeError("CONNECT answered %r" % head[:80])


def read_response(s):
    """The response head, read byte by byte: what follows stays in the
    socket (the kernel's receive queue), where a test can count it."""
    buf = b""
    while not buf.endswith(b"\r\n\r\n"):
        data = s.recv(1)
        if not data:
            raise RuntimeError("proxy closed before a response (got %r)"
                               % buf[:200])
        buf += data
        if len(buf) > 65536:
            raise RuntimeError("response head too long")
    return buf


def sender(s, f, state):
    """Send the rest of f; "sent N" (bytes the kernel accepted) after every
    send(2), then half-close."""
    try:
        n = state["sent"]
        while True:
            view = memoryview(f.read(CHUNK))
            if not view:
                break
            while view:
                k = s.send(view)
                n += k
                view = view[k:]
                say("sent %d" % n)
        s.shutdown(socket.SHUT_WR)
        say("shut")
    except OSError as e:
        state["err"] = "send: %s: %s" % (type(e).__name__, e)


def wait_file(path):
    say("waiting")
    deadline = time.monotonic() + 120
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not appear in 120 s" % path)
        time.sleep(0.05)


def ping(s, a):
    for i in range(a.ping):
        s.sendall(b"p")
        got = s.recv(1)
        if got != b"p":
            raise RuntimeError("ping %d: got %r back" % (i, got))
        if i + 1 < a.ping:
            time.sleep(a.interval)
    say("pinged %d" % a.ping)
    if a.shut:
        s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    try:
        data = s.recv(1)
        ms = int((time.monotonic() - t0) * 1000)
        say("closed after %d ms" % ms if not data else
            "data after %d ms" % ms)
    except socket.timeout:
        say("timeout")
    except ConnectionResetError:
        say("reset after %d ms" % int((time.monotonic() - t0) * 1000))


def run(a):
    s, head = open_tunnel(a)
    f = open(a.send, "rb") if a.send else None
    state = {"sent": 0, "err": None}
    first = head
    if f is not None and a.early:
        early = f.read(a.early)
        first += early
        state["sent"] = len(early)
    s.sendall(first)
    rhead = read_response(s)
    status = rhead.split(b"\r\n", 1)[0].split(b" ")
    say("local port %d" % s.getsockname()[1])
    if len(status) < 2 or status[1] != b"101":
        say("status %s" % (status[1].decode("latin-1")
                           if len(status) > 1 else "?"))
        return 3
    say("head101 %d" % len(rhead))
    if a.ping is not None:
        ping(s, a)
        s.close()
        return 0
    th = None
    if f is not None:
        th = threading.Thread(target=sender, args=(s, f, state),
                              daemon=True)
        th.start()
    if a.wait_file:
        wait_file(a.wait_file)
    n, sha = 0, hashlib.sha256()
    while True:
        data = s.recv(CHUNK)
        if not data:
            break
        n += len(data)
        sha.update(data)
    say("received %d %s" % (n, sha.hexdigest()))
    if th is not None:
        th.join(a.timeout)
        if th.is_alive():
            raise RuntimeError("sending did not finish")
        if state["err"]:
            raise RuntimeError(state["err"])
    if a.after_eof:
        s.sendall(a.after_eof.encode())
        s.shutdown(socket.SHUT_WR)
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--send")
    ap.add_argument("--early", type=int, default=0)
    ap.add_argument("--wait-file")
    ap.add_argument("--rcvbuf", type=int, default=0)
    ap.add_argument("--after-eof")
    ap.add_argument("--ping", type=int)
    ap.add_argument("--shut", action="store_true")
    ap.add_argument("--connect", action="store_true")
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("url")
    a = ap.parse_args()
    try:
        return run(a)
    except Exception as e:  # every failure is one line for the TAP diag
        say("FAIL %s: %s" % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
