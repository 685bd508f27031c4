#!/usr/bin/python3
"""rawc.py — raw TCP client: stdin to the peer, the peer to stdout.

  rawc.py [--timeout S] [--proxy HOST:PORT --connect AUTHORITY] HOST:PORT
  rawc.py --probe [--timeout S] HOST:PORT
  rawc.py --silent [--timeout S] HOST:PORT

Sends all of stdin (binary), half-closes (SHUT_WR), copies everything the
peer sends to stdout until it closes.  Sending and receiving run at the
same time, so a large payload to an echo server cannot deadlock.

--proxy/--connect: connect to the proxy instead and open a tunnel with
  CONNECT AUTHORITY first; a status other than 200 is printed to stderr
  ("CONNECT 403") and the exit status is 3.
--idle S: do not half-close; read until the peer closes or sends nothing
  for S seconds, then close (for servers that keep the connection alive).
--read-after S: read nothing for S seconds (a client that stops reading),
  then read as usual.
--probe: only connect; print connected | refused | timeout | unreachable |
  reset | error:<errno name>.
--silent: connect and send nothing (a server-speaks-first protocol); print
  "data after MS ms: FIRST-LINE", "closed after MS ms", "reset after MS ms"
  or "timeout", then " port=N".
Exit status: 0 on a clean end, 1 on a connection error (reset, timeout),
reported on stderr.
"""

import argparse
import errno
import socket
import sys
import threading
import time

from proxyconnect import connect_status


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def probe(ep, timeout):
    try:
        s = socket.create_connection(ep, timeout)
        s.close()
        return "connected"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        return "error:" + errno.errorcode.get(e.errno, str(e.errno))


def silent(s, timeout):
    tag = " port=%d" % s.getsockname()[1]
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        b = s.recv(4096)
    except socket.timeout:
        return "timeout" + tag
    except ConnectionResetError:
        return "reset after %d ms%s" % ((time.monotonic() - t0) * 1000, tag)
    ms = (time.monotonic() - t0) * 1000
    if not b:
        return "closed after %d ms%s" % (ms, tag)
    line = b.split(b"\r\n")[0].decode("latin-1")
    return "data after %d ms: %s%s" % (ms, line, tag)


def do_connect(s, authority):
    return connect_status(s, authority)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--idle", type=float)
    ap.add_argument("--read-after", type=float, default=0)
    ap.add_argument("--proxy")
    ap.add_argument("--connect")
    ap.add_argument("target")
    a = ap.parse_args()
    ep = endpoint(a.target)
    if a.probe:
        print(probe(ep, a.timeout))
        return 0
    s = socket.create_connection(endpoint(a.proxy) if a.proxy else ep,
                                 a.timeout)
    if a.silent:
        print(silent(s, a.timeout))
        return 0
    if a.proxy:
        st = do_connect(s, a.connect or a.target)
        if st != "200":
            print("CONNECT %s" % st, file=sys.stderr)
            return 3
    err = []

    def sender():
        try:
            while True:
                b = sys.stdin.buffer.read1(65536)
                if not b:
                    break
                s.sendall(b)
            if a.idle is None:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append("send: %s" % e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    out = sys.stdout.buffer
    if a.idle is not None:
        s.settimeout(a.idle)
    time.sleep(a.read_after)
    try:
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                if a.idle is None:
                    raise
                break
            if not b:
                break
            out.write(b)
    except OSError as e:
        err.append("recv: %s" % e)
    out.flush()
    t.join(a.timeout)
    if err:
        print("; ".join(err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
