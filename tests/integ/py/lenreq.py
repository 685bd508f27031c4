#!/usr/bin/python3
"""lenreq.py — send request lines a lenient origin may accept; report what
came back, one connection per case.

  lenreq.py [--timeout S] [--marker TEXT] HOST:PORT CASE...
  lenreq.py --write DIR CASE...

A CASE is NAME=BYTES, BYTES in Python escapes (\\r \\n \\t \\x0b ...) and
{X*N} (X repeated N times).  Each case gets a new connection: the bytes
are sent, then the answer is read until the peer closes, or, for an
HTTP/1.x response with Content-Length, until its body is complete (a
kept-alive origin), or until --timeout.  One line per case:

  NAME STATUS LOCALPORT MARK

STATUS: the 3-digit code of an "HTTP/x.y NNN" status line; "0.9" for bytes
without a status line (an HTTP/0.9 answer: the body alone); closed (no
byte), reset, timeout.  MARK: "marker" when TEXT is in the bytes received
(the protected page was served), "-" otherwise.

--write DIR: send nothing; write each case's bytes to DIR/NAME.
"""

import argparse
import re
import socket
import sys
import time

from rawhttp import endpoint, expand

STATUS = re.compile(rb"^HTTP/\d\.\d (\d{3})")


def body_done(buf):
    """True when buf holds a whole HTTP/1.x response with Content-Length."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep or not STATUS.match(head):
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            try:
                return len(body) >= int(v.strip())
            except ValueError:
                return False
    return False


def one(ep, req, timeout):
    """(status, local port, bytes received)."""
    s = socket.create_connection(ep, timeout)
    port = s.getsockname()[1]
    buf, why = b"", None
    deadline = time.monotonic() + timeout
    try:
        s.sendall(req)
        while not body_done(buf):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except socket.timeout:
        why = "timeout"
    except ConnectionResetError:
        why = "reset"
    except BrokenPipeError:
        why = "reset"
    finally:
        s.close()
    m = STATUS.match(buf)
    if m:
        return m.group(1).decode(), port, buf
    if buf:
        return "0.9", port, buf
    return why or "closed", port, buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--marker", default="")
    ap.add_argument("--write")
    ap.add_argument("args", nargs="+", metavar="HOST:PORT CASE")
    a = ap.parse_args()
    if a.write:
        for c in a.args:
            name, _, raw = c.partition("=")
            with open("%s/%s" % (a.write, name), "wb") as f:
                f.write(expand(raw))
        return 0
    ep = endpoint(a.args[0])
    for c in a.args[1:]:
        name, _, raw = c.partition("=")
        st, port, buf = one(ep, expand(raw), a.timeout)
        mark = "marker" if a.marker and a.marker.encode() in buf else "-"
        print(name, st, port, mark, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
