#!/usr/bin/python3
"""tcpserv.py — raw TCP test servers for sluice's integration tests.

  tcpserv.py MODE@ADDR:PORT...      (IPv6: MODE@[fd00:2::4]:7000)

Modes:
  echo      send back every byte received; half-close when the client does
  sink      read and discard, never answer (an upstream that stays silent)
  stall     read nothing for 4 s (a server whose buffers fill), then read
            until EOF and print "stall: N bytes from PEERPORT"
  flood     send 8 MiB at once (bytes 0..255 repeated), then read and
            discard until EOF (more than a client that stops reading can
            take in)
  banner    server speaks first: "220 banner.test ESMTP ready\\r\\n" at once,
            then echo
  headecho  read one HTTP/1.x request head (and a Content-Length body),
            answer 200 whose body is the exact bytes received; the
            response header X-Head-Sha256 is the sha256 of those bytes;
            the response also carries hop-by-hop fields a proxy must drop
            (Keep-Alive, and X-Resp-Hop named in Connection); keep-alive.
            A path starting with /chunked gets the same body as a chunked
            response (three chunks, a chunk extension, a trailer field).

One process, one asyncio loop, every listener in it.  Runs until killed.
"""

import asyncio
import hashlib
import sys

BANNER = b"220 banner.test ESMTP ready\r\n"


async def pump_echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
        await writer.drain()


async def discard(reader):
    """Read and drop until EOF (or a reset); the number of bytes read."""
    n = 0
    try:
        while True:
            b = await reader.read(65536)
            if not b:
                break
            n += len(b)
    except ConnectionError:
        pass
    return n


def handler(body):
    """The connection handler that runs body(reader, writer) and then
    closes: a peer that went away ends the connection, not the server."""
    async def run(reader, writer):
        try:
            await body(reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
    return run


async def banner(reader, writer):
    writer.write(BANNER)
    await writer.drain()
    await pump_echo(reader, writer)


async def sink(reader, writer):
    await discard(reader)


FLOOD = 8 << 20


async def flood(reader, writer):
    writer.write(bytes(range(256)) * (FLOOD // 256))
    await writer.drain()
    await discard(reader)


async def stall(reader, writer):
    await asyncio.sleep(4)
    n = await discard(reader)
    print("stall: %d bytes from %d"
          % (n, writer.get_extra_info("peername")[1]), flush=True)


def chunked(body):
    """body as three chunks, one with an extension, and a trailer."""
    a, b = len(body) // 3, 2 * len(body) // 3
    out = b""
    for i, part in enumerate((body[:a], body[a:b], body[b:])):
        if part:
            ext = b";sl-ext=%d" % i if i == 1 else b""
            out += b"%x%s\r\n%s\r\n" % (len(part), ext, part)
    return out + b"0\r\nX-Trailer-Sha256: " + \
        hashlib.sha256(body).hexdigest().encode() + b"\r\n\r\n"


async def h_headecho(reader, writer):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            except asyncio.LimitOverrunError:
                break
            clen = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    clen = int(value.strip())
            body = await reader.readexactly(clen) if clen else b""
            got = head + body
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            hdr = (b"HTTP/1.1 200 OK\r\n"
                   b"Content-Type: application/octet-stream\r\n"
                   b"X-Head-Sha256: " + hashlib.sha256(got).hexdigest().encode()
                   + b"\r\nConnection: X-Resp-Hop\r\n"
                   b"X-Resp-Hop: must-not-reach-the-client\r\n"
                   b"Keep-Alive: timeout=60\r\n")
            if path.startswith(b"/chunked"):
                resp = (hdr + b"Transfer-Encoding: chunked\r\n"
                        b"Trailer: X-Trailer-Sha256\r\n\r\n" + chunked(got))
            else:
                resp = (hdr + b"Content-Length: " + str(len(got)).encode()
                        + b"\r\n\r\n" + got)
            writer.write(resp)
            await writer.drain()
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        writer.close()


HANDLERS = {"echo": handler(pump_echo), "sink": handler(sink),
            "banner": handler(banner), "headecho": h_headecho,
            "flood": handler(flood), "stall": handler(stall)}


def parse(spec):
    mode, _, ep = spec.partition("@")
    if mode not in HANDLERS or not ep:
        raise SystemExit("bad listener %r" % spec)
    host, _, port = ep.rpartition(":")
    return mode, host.strip("[]"), int(port)


async def main(specs):
    servers = []
    for s in specs:
        mode, host, port = parse(s)
        servers.append(await asyncio.start_server(
            HANDLERS[mode], host, port, reuse_address=True,
            limit=1 << 20))
        print("listening %s on %s:%d" % (mode, host, port), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1:]))
