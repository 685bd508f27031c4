#!/usr/bin/python3
"""manyfields.py ADDR PORT — an HTTP/1.1 origin with large response heads,
for the response limits (issue 12 item 9).  Keep-alive; runs until killed.

  GET /fields/N   200 with exactly N header fields: Content-Length, then
                  X-F0001 .. X-F(N-1) ("v"), body "fields N\\n"
  GET /big/N      200 whose head is exactly N bytes (status line and final
                  CRLF included; one long X-Big field fills it), body "big\\n"
  anything else   404
"""
import socketserver
import sys


def fields(n):
    body = b"fields %d\n" % n
    head = [b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body)]
    head += [b"X-F%04d: v" % i for i in range(1, n)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def big(n):
    body = b"big\n"
    pre = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Big: " % len(body)
    fill = n - len(pre) - 4
    return pre + b"b" * max(fill, 1) + b"\r\n\r\n" + body


def answer(path):
    try:
        kind, _, num = path.strip(b"/").partition(b"/")
        n = int(num)
    except ValueError:
        kind, n = b"", 0
    if kind == b"fields" and 1 <= n <= 10000:
        return fields(n)
    if kind == b"big" and 64 <= n <= 4 << 20:
        return big(n)
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        buf = b""
        self.request.settimeout(30)
        while True:
            while b"\r\n\r\n" not in buf:
                try:
                    d = self.request.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            path = parts[1] if len(parts) == 3 else b""
            self.request.sendall(answer(path))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
