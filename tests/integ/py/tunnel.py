#!/usr/bin/python3
"""tunnel.py — a CONNECT tunnel to an echo server, driven line by line.

  tunnel.py --proxy HOST:PORT AUTHORITY  < commands  > results

Opens the tunnel, prints "ready" (or "fail CONNECT <status>" and exits),
then for each command line on stdin prints one result line:
  echo N        send N random bytes, expect them back: "ok echo N" / "fail ..."
  close         half-close, read until EOF: "ok closed" / "fail ..."
  wait-eof S    wait up to S seconds for the proxy to close the tunnel:
                "eof after MS ms" / "no eof" / "fail ..."
  port          "port N": the client port of the tunnel
Exits at EOF of stdin or after close / wait-eof.
"""

import os
import socket
import sys
import time

from proxyconnect import connect_status


def endpoint(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv_exact(s, n, timeout):
    s.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        b = s.recv(min(65536, n - len(buf)))
        if not b:
            raise ConnectionError("EOF after %d of %d bytes" % (len(buf), n))
        buf += b
    return buf


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "--proxy":
        print(__doc__, file=sys.stderr)
        return 2
    auth = sys.argv[3]
    s = socket.create_connection(endpoint(sys.argv[2]), 10)
    status = connect_status(s, auth)
    if status != "200":
        say("fail CONNECT %s" % status)
        return 1
    say("ready")
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "echo":
                n = int(cmd[1])
                data = os.urandom(n)
                s.sendall(data)
                back = recv_exact(s, n, 10)
                say("ok echo %d" % n if back == data else "fail echo differs")
            elif cmd[0] == "port":
                say("port %d" % s.getsockname()[1])
            elif cmd[0] == "close":
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                rest = s.recv(65536)
                say("ok closed" if rest == b"" else "fail %d bytes after close" % len(rest))
                return 0
            elif cmd[0] == "wait-eof":
                t0 = time.monotonic()
                s.settimeout(float(cmd[1]))
                try:
                    b = s.recv(65536)
                    ms = int((time.monotonic() - t0) * 1000)
                    say("eof after %d ms" % ms if b == b"" else "fail got %d bytes" % len(b))
                except socket.timeout:
                    say("no eof")
                except ConnectionResetError:
                    say("eof after %d ms (reset)" % int((time.monotonic() - t0) * 1000))
                return 0
            else:
                say("fail unknown command %r" % cmd[0])
        except (OSError, ValueError) as e:
            say("fail %s: %s" % (cmd[0], e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
