#!/usr/bin/python3
"""badorigin.py ADDR LOG [FLOOD_SECS] — misbehaving HTTP origins on ADDR,
one per port (after the red-team probe's evilsrv.py).  Every loop is
bounded in time and bytes; runs until killed.

  8001  1xx flood: after a request head, "HTTP/1.1 100 Continue" heads
        without pause for FLOOD_SECS (default 6) or 1 GiB, then a final
        "200" with the body "ok"; logs "8001 sent N bytes of 1xx".
  8002  more than Content-Length: the first request on a connection gets
        "Content-Length: 5" + "hello" and, in the same write, a second
        response the client never asked for (body "SMUGGLED"); later
        requests on that connection get the body "good".
  8003  the same second response, sent 300 ms after the first one (while
        the connection is idle between requests).
  8004  "101 Switching Protocols" to any request (none asks for an
        upgrade), then raw bytes "RAW-AFTER-101" and the close.

Each request is logged as "PORT conn C req N PATH" (C counts the port's
connections from 1, N the connection's requests), so a test sees whether
a connection was reused.
"""
import socket
import sys
import threading
import time

ADDR = sys.argv[1]
LOG = sys.argv[2]
FLOOD_SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 6.0
lock = threading.Lock()
conns = {}
SMUGGLED = (b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: 1\r\n\r\n"
            b"SMUGGLED")


def log(msg):
    with lock:
        with open(LOG, "a") as f:
            f.write(msg + "\n")


def read_head(c, buf):
    """(head, rest) or (None, buf) at EOF; 30 s at most per head."""
    c.settimeout(30)
    while b"\r\n\r\n" not in buf:
        try:
            d = c.recv(65536)
        except OSError:
            return None, buf
        if not d:
            return None, buf
        buf += d
    h, _, rest = buf.partition(b"\r\n\r\n")
    return h, rest


def requests(c, port):
    """Yield the request number of each head received on c, logged."""
    with lock:
        conns[port] = conns.get(port, 0) + 1
        cn = conns[port]
    buf, n = b"", 0
    while True:
        h, buf = read_head(c, buf)
        if h is None:
            return
        n += 1
        path = h.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        log("%d conn %d req %d %s" % (port, cn, n, path))
        yield n


def h8001(c):
    for _ in requests(c, 8001):
        head = b"HTTP/1.1 100 Continue\r\n\r\n"
        chunk = head * 2000
        t0, sent = time.monotonic(), 0
        c.settimeout(0.5)
        while time.monotonic() - t0 < FLOOD_SECS and sent < (1 << 30):
            try:
                sent += c.send(chunk[sent % len(head):])
            except socket.timeout:
                continue
            except OSError:
                log("8001 sent %d bytes of 1xx, then the proxy closed" % sent)
                return
        # Align on a head boundary, then the final response.
        rest = chunk[sent % len(head):len(head)] if sent % len(head) else b""
        log("8001 sent %d bytes of 1xx" % (sent + len(rest)))
        c.settimeout(30)
        try:
            c.sendall(rest + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            return


def h8002(c):
    for n in requests(c, 8002):
        if n == 1:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                      + SMUGGLED)
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")


def h8003(c):
    for n in requests(c, 8003):
        if n == 1:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            time.sleep(0.3)
            c.sendall(SMUGGLED)
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")


def h8004(c):
    for _ in requests(c, 8004):
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\n"
                  b"Connection: Upgrade\r\n\r\nRAW-AFTER-101")
        return


H = {8001: h8001, 8002: h8002, 8003: h8003, 8004: h8004}


def serve(port, fn):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ADDR, port))
    s.listen(64)
    while True:
        c, _ = s.accept()

        def run(c=c):
            try:
                fn(c)
            except Exception as e:  # noqa: BLE001 (logged for the test)
                log("%d: %r" % (port, e))
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


for p, f in H.items():
    threading.Thread(target=serve, args=(p, f), daemon=True).start()
while True:
    time.sleep(3600)
