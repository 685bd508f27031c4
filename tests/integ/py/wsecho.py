#!/usr/bin/python3
"""wsecho.py — WebSocket echo server (python3-websockets 10.x, Debian).

  wsecho.py [--ws ADDR:PORT] [--wss ADDR:PORT --cert FILE --key FILE]

Every message (text or binary) is sent back unchanged, on any path.
"""

import argparse
import asyncio
import ssl

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


async def main(a):
    servers = []
    if a.ws:
        h, p = hostport(a.ws)
        servers.append(await websockets.serve(echo, h, p, max_size=1 << 24))
        print("ws on %s:%d" % (h, p), flush=True)
    if a.wss:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        h, p = hostport(a.wss)
        servers.append(await websockets.serve(echo, h, p, ssl=ctx,
                                              max_size=1 << 24))
        print("wss on %s:%d" % (h, p), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--ws")
    ap.add_argument("--wss")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    asyncio.run(main(ap.parse_args()))
