#!/usr/bin/python3
"""upgsrv.py — an origin that answers an Upgrade request with 101, then
speaks raw bytes (not WebSocket frames), for testing a proxy's tunnel.

  upgsrv.py [--file FILE] [--go-dir DIR] ADDR:PORT

Each connection sends one request head "GET /MODE/TAG HTTP/1.1" (or an
absolute URI to the same path) with
"Upgrade: websocket" and "Connection: Upgrade"; anything else gets 400.
The answer is "101 Switching Protocols" (with Sec-WebSocket-Accept), then
per MODE:

  echo    send back every byte received (bytes that came with the head in
          the same write as the 101 head); half-close (SHUT_WR) after the
          peer's EOF
  sink    read to EOF, then send "sink N SHA256\\n" and close
  source  send FILE, printing "sent TAG N" (N: bytes the kernel accepted)
          after every send(2), half-close, then read to the peer's EOF
  hold    send nothing; read to EOF, print "eof TAG", keep the connection
          (half-closed) until DIR/TAG exists (--go-dir, bounded: 120 s)
  stall   wait for DIR/TAG (bounded: 120 s), print "reading TAG", then
          like sink

Bytes the client sent behind its head (before the 101) count as payload.
At the end of each connection one line:

  done MODE TAG head=H in=N in_sha=SHA out=M end=eof|reset|error:WHY

H: bytes of the request head as received (through a proxy: the rewritten
head); N, SHA: payload bytes received and their sha256; M: payload bytes
sent (after the 101 head).  One thread per connection; runs until killed.
"""

import argparse
import base64
import hashlib
import os
import socket
import socketserver
import sys
import threading
import time

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"
CHUNK = 65536
LOCK = threading.Lock()


def say(line):
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_head(sock):
    """(head, rest) or (None, b"") if the peer closed first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(CHUNK)
        if not data:
            return None, b""
        buf += data
        if len(buf) > 65536:
            return None, b""
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def fields(head):
    out = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


class Conn:
    def __init__(self, sock, mode, tag, early):
        self.sock = sock
        self.early = early
        self.mode = mode
        self.tag = tag
        self.nin = 0
        self.sha = hashlib.sha256()
        self.nout = 0
        self.end = "eof"

    def take(self, data):
        self.nin += len(data)
        self.sha.update(data)

    def read_to_eof(self):
        try:
            while True:
                data = self.sock.recv(CHUNK)
                if not data:
                    return
                self.take(data)
        except ConnectionResetError:
            self.end = "reset"

    def send(self, data, progress=False):
        """sendall, counting what the kernel accepted send by send."""
        view = memoryview(data)
        while view:
            n = self.sock.send(view)
            self.nout += n
            view = view[n:]
            if progress:
                say("sent %s %d" % (self.tag, self.nout))


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(120)
        try:
            head, rest = read_head(sock)
        except OSError:
            return
        if head is None:
            return
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1].decode("latin-1") if len(parts) == 3 else ""
        _, mode, tag = (path.split("/", 2) + ["", "", ""])[:3]
        f = fields(head)
        if (parts[0] != b"GET" or f.get(b"upgrade", b"").lower() !=
                b"websocket" or mode not in MODES or not tag):
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        key = f.get(b"sec-websocket-key", b"")
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        resp = (b"HTTP/1.1 101 Switching Protocols\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        c = Conn(sock, mode, tag, rest)
        c.take(rest)
        try:
            MODES[mode](self.server, c, resp)
        except ConnectionResetError:
            c.end = "reset"
        except OSError as e:
            c.end = "error:%s" % type(e).__name__
        say("done %s %s head=%d in=%d in_sha=%s out=%d end=%s"
            % (mode, tag, len(head), c.nin, c.sha.hexdigest(), c.nout,
               c.end))


def m_echo(srv, c, resp):
    # Bytes the client sent before the 101 go back in the same write as
    # the 101 head: the proxy has both sides' bytes buffered when its
    # tunnel starts.
    c.sock.sendall(resp + c.early)
    c.nout += len(c.early)
    while True:
        try:
            data = c.sock.recv(CHUNK)
        except ConnectionResetError:
            c.end = "reset"
            return
        if not data:
            break
        c.take(data)
        c.send(data)
    c.sock.shutdown(socket.SHUT_WR)


def sink_report(c):
    c.read_to_eof()
    if c.end == "eof":
        c.send(b"sink %d %s\n" % (c.nin, c.sha.hexdigest().encode()))


def m_sink(srv, c, resp):
    c.sock.sendall(resp)
    sink_report(c)


def m_source(srv, c, resp):
    c.sock.sendall(resp)
    with open(srv.file, "rb") as f:
        while True:
            data = f.read(CHUNK)
            if not data:
                break
            c.send(data, progress=True)
    c.sock.shutdown(socket.SHUT_WR)
    c.read_to_eof()


def m_hold(srv, c, resp):
    c.sock.sendall(resp)
    c.read_to_eof()
    say("eof %s" % c.tag)
    wait_go(srv, c.tag)


def wait_go(srv, tag):
    go = os.path.join(srv.go_dir, tag)
    deadline = time.monotonic() + 120
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)


def m_stall(srv, c, resp):
    c.sock.sendall(resp)
    wait_go(srv, c.tag)
    say("reading %s" % c.tag)
    sink_report(c)


MODES = {"echo": m_echo, "sink": m_sink, "source": m_source,
         "hold": m_hold, "stall": m_stall}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, ep, file, go_dir):
        host, _, port = ep.rpartition(":")
        host = host.strip("[]")
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.file = file
        self.go_dir = go_dir
        super().__init__((host, int(port)), Handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file")
    ap.add_argument("--go-dir", default=".")
    ap.add_argument("listen")
    a = ap.parse_args()
    srv = Server(a.listen, a.file, a.go_dir)
    say("listening on %s" % a.listen)
    srv.serve_forever()


if __name__ == "__main__":
    main()
