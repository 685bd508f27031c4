#!/usr/bin/python3
"""wsclient.py — WebSocket echo client through an HTTP proxy.

  wsclient.py [--proxy HOST:PORT] [--cacert FILE] [--count N] [--size N] URL

ws://  through the proxy: an absolute-URI upgrade request
       ("GET ws-URL-as-http://... HTTP/1.1" + Upgrade: websocket), the proxy
       answers 101 and tunnels.
wss:// through the proxy: CONNECT host:port, then TLS and the WebSocket
       handshake inside the tunnel.
Without --proxy: a direct connection (to check the servers themselves).

websockets 10.x has no proxy support: the socket is opened (and the CONNECT
done) here and handed to websockets.client.connect(sock=...).  Sends N text
and N binary messages (SIZE random bytes), checks every echo, prints
"echoed N messages" (and "local port N" of the connection to
the proxy) and exits 0; on any failure prints why and exits 1.
"""

import argparse
import asyncio
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

import websockets
from websockets.legacy.client import WebSocketClientProtocol


def absolute_uri_protocol(uri):
    """A client protocol whose request line carries the absolute URI, as a
    request to a forward proxy must (RFC 9112 section 3.2.2)."""
    u = urlsplit(uri)
    target = "http://%s%s" % (u.netloc, u.path or "/")
    if u.query:
        target += "?" + u.query

    class AbsoluteURIClient(WebSocketClientProtocol):
        def write_http_request(self, path, headers):
            super().write_http_request(target, headers)

    return AbsoluteURIClient


def proxy_socket(proxy, timeout):
    host, _, port = proxy.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout)


def do_connect(sock, authority):
    req = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)
    sock.sendall(req.encode())
    # Byte by byte: nothing after the head may be consumed here, it belongs
    # to the TLS handshake.
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = sock.recv(1)
        if not c:
            raise RuntimeError("proxy closed during CONNECT (got %r)" % head)
        head += c
        if len(head) > 65536:
            raise RuntimeError("CONNECT response head too long")
    status = head.split(b"\r\n", 1)[0]
    parts = status.split(b" ")
    if len(parts) < 2 or parts[1] != b"200":
        raise RuntimeError("CONNECT answered %r" % status.decode("latin-1"))


async def run(a):
    u = urlsplit(a.url)
    port = u.port or (443 if u.scheme == "wss" else 80)
    host = u.hostname
    kw = {"max_size": 1 << 24, "open_timeout": 10, "close_timeout": 5}
    ctx = None
    if u.scheme == "wss":
        ctx = ssl.create_default_context(cafile=a.cacert)
        kw["ssl"] = ctx
        kw["server_hostname"] = host
    loop = asyncio.get_running_loop()
    lport = None
    if a.proxy:
        sock = await loop.run_in_executor(None, proxy_socket, a.proxy, 10)
        if u.scheme == "wss":
            hp = "[%s]" % host if ":" in host else host
            await loop.run_in_executor(None, do_connect, sock,
                                       "%s:%d" % (hp, port))
        else:
            kw["create_protocol"] = absolute_uri_protocol(a.url)
        lport = sock.getsockname()[1]
        sock.settimeout(None)
        sock.setblocking(False)
        kw["sock"] = sock
    async with websockets.connect(a.url, **kw) as ws:
        for i in range(a.count):
            text = "hello %d through sluice" % i
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != text:
                raise RuntimeError("text echo %d differs: %r" % (i, got[:80]))
            blob = os.urandom(a.size)
            await ws.send(blob)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != blob:
                raise RuntimeError("binary echo %d differs (%d bytes back)"
                                   % (i, len(got)))
    print("echoed %d messages" % (2 * a.count))
    if lport is not None:
        print("local port %d" % lport)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy")
    ap.add_argument("--cacert")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--size", type=int, default=100000)
    ap.add_argument("url")
    a = ap.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(a), 60))
    except Exception as e:  # every failure is one line for the TAP diag
        print("FAIL %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
