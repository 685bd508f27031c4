#!/usr/bin/python3
"""h2client.py — HTTP/2 test clients (python3-h2) through sluice.

  h2client.py [--proxy HOST:PORT] --cacert FILE --connect HOST:PORT
              [--sni NAME] MODE [ARGS]

The connection: CONNECT HOST:PORT through the explicit proxy (or straight
to HOST:PORT without --proxy), then TLS with ALPN "h2" only, verified
against FILE for NAME (default: HOST).

Modes (each bounded in count and time; prints one result line, exit 0 when
the run went as described, 1 otherwise):

  multi N PATH DENIED [now]
                        N concurrent GETs of PATH plus one of DENIED, on one
                        connection, once the server's SETTINGS are in (now:
                        at once, before they are); prints "statuses ..."
                        (e.g. "200x99 403x1", a reset as "reset:CODE").
  hdrs N SIZE           one GET with N fields of SIZE bytes; its status.
  stall PATH            GET PATH with a stream window of 0, never opened;
                        prints "goaway CODE" or "closed", and when.
  reset N               rapid reset (CVE-2023-44487): N times HEADERS then
                        RST_STREAM(CANCEL) at once; prints "goaway CODE" or
                        "no goaway", and how many streams were opened.
  contflood N           one HEADERS without END_HEADERS, then N
                        CONTINUATION frames (raw frames, no END_HEADERS);
                        prints "goaway CODE", "closed" or "no answer".
  ws N                  RFC 8441: CONNECT :protocol websocket to /, then N
                        text messages, each echo checked; prints "echoed N".
  authority NAME PATH   one GET with :authority NAME; prints its status.
  get PATH              one GET; prints "STATUS SHA256-OF-BODY".
  put PATH FILE         PUT FILE without content-length (an HTTP/1.1
                        origin gets it chunked), flow-controlled; prints
                        its status.
  trailers PATH         POST PATH with 1000 bytes and a request trailer
                        (x-req-trailer); prints "info=1XX,... status=S
                        body=... trailers=NAME:VALUE,..." (h2trailsrv.py
                        is the origin that answers with all of them).
"""

import argparse
import hashlib
import os
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

DEADLINE = 30.0


def open_conn(a):
    host, _, port = a.connect.rpartition(":")
    if a.proxy:
        ph, _, pp = a.proxy.rpartition(":")
        s = socket.create_connection((ph.strip("[]"), int(pp)), 10)
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
                   (a.connect, a.connect)).encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            c = s.recv(1)
            if not c:
                raise SystemExit("proxy closed during CONNECT")
            head += c
        if b" 200" not in head.split(b"\r\n")[0]:
            raise SystemExit("CONNECT refused: %r" % head.split(b"\r\n")[0])
    else:
        s = socket.create_connection((host.strip("[]"), int(port)), 10)
    ctx = ssl.create_default_context(cafile=a.cacert)
    ctx.set_alpn_protocols(["h2"])
    t = ctx.wrap_socket(s, server_hostname=a.sni or host)
    if t.selected_alpn_protocol() != "h2":
        raise SystemExit("ALPN: %r, not h2" % t.selected_alpn_protocol())
    t.settimeout(10)
    return t


def new_h2(t):
    c = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    t.sendall(c.data_to_send())
    return c


def pump(t, c):
    """One read: events, or None on EOF."""
    try:
        data = t.recv(65536)
    except (ConnectionResetError, ssl.SSLError):
        return None
    if not data:
        return None
    ev = c.receive_data(data)
    out = c.data_to_send()
    if out:
        try:
            t.sendall(out)
        except OSError:
            pass
    return ev


def req_headers(a, path, authority=None, method="GET"):
    host = a.connect.rpartition(":")[0]
    return [(":method", method), (":scheme", "https"),
            (":authority", authority or a.sni or host), (":path", path)]


def wait_settings(t, c):
    """Until the server's SETTINGS arrived (its stream limit known)."""
    end = time.time() + DEADLINE
    while time.time() < end and c.remote_settings.get(
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS) is None:
        if pump(t, c) is None:
            return False
    return True


def mode_multi(a, t, c):
    n, path, denied = int(a.args[0]), a.args[1], a.args[2]
    want = {}
    if a.args[3:] != ["now"]:
        wait_settings(t, c)
    for i in range(n + 1):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, req_headers(a, denied if i == n // 2 else path),
                       end_stream=True)
        want[sid] = None
    t.sendall(c.data_to_send())
    end = time.time() + DEADLINE
    while None in want.values() and time.time() < end:
        ev = pump(t, c)
        if ev is None:
            break
        for e in ev:
            if isinstance(e, h2.events.ResponseReceived):
                want[e.stream_id] = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.StreamReset) and \
                    want.get(e.stream_id) is None:
                want[e.stream_id] = "reset:" + e.error_code.name
            elif isinstance(e, h2.events.DataReceived):
                c.acknowledge_received_data(e.flow_controlled_length,
                                            e.stream_id)
        t.sendall(c.data_to_send())
    counts = {}
    for s in want.values():
        counts[s] = counts.get(s, 0) + 1
    print("statuses " + " ".join("%sx%d" % (k, counts[k])
                                 for k in sorted(counts, key=str)))
    return None not in want.values()


def wait_goaway(t, c, secs):
    end = time.time() + secs
    while time.time() < end:
        ev = pump(t, c)
        if ev is None:
            return "closed"
        for e in ev:
            if isinstance(e, h2.events.ConnectionTerminated):
                return "goaway %s" % e.error_code.name
    return None


def mode_reset(a, t, c):
    n = int(a.args[0])
    opened, r = 0, None
    t.settimeout(0.001)
    for i in range(n):
        sid = c.get_next_available_stream_id()
        try:
            c.send_headers(sid, req_headers(a, "/hello"), end_stream=True)
            c.reset_stream(sid)
            t.sendall(c.data_to_send())
        except Exception:
            break
        opened += 1
        if i % 50 == 49:		# read what came back, without waiting
            try:
                ev = pump(t, c)
            except (socket.timeout, BlockingIOError, ssl.SSLWantReadError):
                ev = []
            if ev is None:
                break
            for e in ev:
                if isinstance(e, h2.events.ConnectionTerminated):
                    r = "goaway %s" % e.error_code.name
            if r is not None:
                break
    t.settimeout(5)
    r = r or wait_goaway(t, c, 10) or "no goaway"
    print("%s after %d streams" % (r, opened))
    return r.startswith("goaway ENHANCE_YOUR_CALM")


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def mode_contflood(a, t, c):
    n = int(a.args[0])
    # A valid start: HPACK literal fields, then CONTINUATIONs of more
    # literal fields, never END_HEADERS (the flood).
    enc = c.encoder
    block = enc.encode(req_headers(a, "/hello"))
    sid = c.get_next_available_stream_id()
    t.sendall(frame(1, 0x1, sid, block))    # HEADERS, END_STREAM only
    one = enc.encode([("x-flood", "a" * 100)])
    sent = 0
    try:
        for i in range(n):
            t.sendall(frame(9, 0, sid, one))
            sent += 1
    except OSError:
        pass
    t.settimeout(5)
    r = wait_goaway(t, c, 10) or "no answer"
    print("%s after %d CONTINUATION frames" % (r, sent))
    return r != "no answer"


def ws_frame(op, payload):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x80 | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_parse(buf):
    """One unmasked server frame from buf: (opcode, payload, rest) or None."""
    if len(buf) < 2:
        return None
    op, n, o = buf[0] & 0x0f, buf[1] & 0x7f, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, o = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, o = struct.unpack(">Q", buf[2:10])[0], 10
    if len(buf) < o + n:
        return None
    return op, buf[o:o + n], buf[o + n:]


def mode_ws(a, t, c):
    n = int(a.args[0])
    end = time.time() + DEADLINE
    # The server's SETTINGS must allow extended CONNECT first.
    while time.time() < end and \
            c.remote_settings.get(h2.settings.SettingCodes.
                                  ENABLE_CONNECT_PROTOCOL, 0) != 1:
        if pump(t, c) is None:
            print("closed before SETTINGS")
            return False
    sid = c.get_next_available_stream_id()
    hdrs = req_headers(a, a.args[1] if len(a.args) > 1 else "/",
                       method="CONNECT") + [(":protocol", "websocket"),
                                            ("sec-websocket-version", "13")]
    c.send_headers(sid, hdrs)
    t.sendall(c.data_to_send())
    status, buf, got = None, b"", 0
    while status is None and time.time() < end:
        ev = pump(t, c)
        if ev is None:
            break
        for e in ev:
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers)[":status"]
    if status != "200":
        print("status %s" % status)
        return False
    for i in range(n):
        msg = ("message %d %s" % (i, "x" * (i % 300))).encode()
        c.send_data(sid, ws_frame(1, msg))
        t.sendall(c.data_to_send())
        echo = None
        while echo is None and time.time() < end:
            r = ws_parse(buf)
            if r is not None:
                op, echo, buf = r
                break
            ev = pump(t, c)
            if ev is None:
                print("closed after %d" % got)
                return False
            for e in ev:
                if isinstance(e, h2.events.DataReceived):
                    buf += e.data
                    c.acknowledge_received_data(e.flow_controlled_length,
                                                sid)
            t.sendall(c.data_to_send())
        if echo != msg:
            print("bad echo at %d: %r" % (i, echo))
            return False
        got += 1
    c.send_data(sid, ws_frame(8, b"\x03\xe8"), end_stream=True)
    t.sendall(c.data_to_send())
    print("echoed %d" % got)
    return True


def one_status(a, t, c, hdrs):
    """Send one request; print its status (or how it was reset)."""
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, hdrs, end_stream=True)
    t.sendall(c.data_to_send())
    end = time.time() + DEADLINE
    while time.time() < end:
        ev = pump(t, c)
        if ev is None:
            break
        for e in ev:
            if isinstance(e, h2.events.ResponseReceived):
                print(dict(e.headers)[":status"])
                return True
            if isinstance(e, h2.events.StreamReset):
                print("reset %s" % e.error_code.name)
                return True
    print("no response")
    return False


def mode_authority(a, t, c):
    return one_status(a, t, c, req_headers(a, a.args[1], a.args[0]))


def read_stream(t, c, sid):
    """The stream's answer, until it ends (or DEADLINE): a dict with
    info (interim statuses), status, body, trailers and done."""
    r = {"info": [], "status": None, "body": b"", "trailers": [],
         "done": False}
    end = time.time() + DEADLINE
    while not r["done"] and time.time() < end:
        ev = pump(t, c)
        if ev is None:
            break
        for e in ev:
            if isinstance(e, h2.events.InformationalResponseReceived):
                r["info"].append(dict(e.headers)[":status"])
            elif isinstance(e, h2.events.ResponseReceived):
                r["status"] = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.DataReceived):
                r["body"] += e.data
                c.acknowledge_received_data(e.flow_controlled_length, sid)
            elif isinstance(e, h2.events.TrailersReceived):
                r["trailers"] = ["%s:%s" % (k, v) for k, v in e.headers]
            elif isinstance(e, h2.events.StreamEnded):
                r["done"] = True
        t.sendall(c.data_to_send())
    return r


def mode_get(a, t, c):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(a, a.args[0]), end_stream=True)
    t.sendall(c.data_to_send())
    r = read_stream(t, c, sid)
    print("%s %s" % (r["status"], hashlib.sha256(r["body"]).hexdigest()
                     if r["done"] else "incomplete"))
    return r["done"]


def mode_hdrs(a, t, c):
    n, size = int(a.args[0]), int(a.args[1])
    return one_status(a, t, c, req_headers(a, "/hello") +
                      [("x-f%d" % i, "v" * size) for i in range(n)])


def mode_stall(a, t, c):
    c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(a, a.args[0]), end_stream=True)
    t.sendall(c.data_to_send())
    t0 = time.time()
    r = wait_goaway(t, c, 25) or "nothing"
    print("%s after %d s" % (r, round(time.time() - t0)))
    return r != "nothing"


def mode_put(a, t, c):
    with open(a.args[1], "rb") as f:
        body = f.read()
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(a, a.args[0], method="PUT"))
    t.sendall(c.data_to_send())
    off, status = 0, None
    end = time.time() + DEADLINE
    while status is None and time.time() < end:
        n = min(c.local_flow_control_window(sid), c.max_outbound_frame_size,
                len(body) - off)
        if off < len(body) and n > 0:
            c.send_data(sid, body[off:off + n],
                        end_stream=off + n == len(body))
            off += n
            t.sendall(c.data_to_send())
            continue
        ev = pump(t, c)
        if ev is None:
            break
        for e in ev:
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers)[":status"]
        t.sendall(c.data_to_send())
    print("%s after %d bytes" % (status, off))
    return status is not None


def mode_trailers(a, t, c):
    """POST PATH with a body and request trailers; prints what came back:
    the interim statuses, the status, the body and the trailers."""
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(a, a.args[0], method="POST"))
    c.send_data(sid, b"x" * 1000)
    c.send_headers(sid, [("x-req-trailer", "rq-value")], end_stream=True)
    t.sendall(c.data_to_send())
    r = read_stream(t, c, sid)
    print("info=%s status=%s body=%r trailers=%s" % (
        ",".join(r["info"]) or "-", r["status"],
        r["body"].decode(errors="replace"),
        ",".join(sorted(r["trailers"])) or "-"))
    return r["done"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--proxy")
    p.add_argument("--cacert", required=True)
    p.add_argument("--connect", required=True)
    p.add_argument("--sni")
    p.add_argument("mode", choices=["multi", "reset", "contflood", "ws",
                                    "authority", "get", "hdrs", "stall", "put",
                                    "trailers"])
    p.add_argument("args", nargs="*")
    a = p.parse_args()
    t = open_conn(a)
    c = new_h2(t)
    ok = globals()["mode_" + a.mode](a, t, c)
    t.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
