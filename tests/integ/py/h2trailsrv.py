#!/usr/bin/python3
"""h2trailsrv.py — an HTTP/2 origin (python3-h2, TLS, ALPN h2) that
answers every request with what an inspecting proxy most often drops:

  103 Early Hints (link: </hint.css>; rel=preload), then 200 with the
  body "got N bytes", then trailers: grpc-status 0, and each request
  trailer echoed back as x-echo-NAME.

  h2trailsrv.py --cert FILE --key FILE HOST:PORT

Serves until killed; each connection in a thread, bounded by a 60 s
idle timeout.
"""

import argparse
import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.events


def serve(t):
    c = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=False, header_encoding="utf-8"))
    c.initiate_connection()
    t.sendall(c.data_to_send())
    body, trailers = {}, {}
    t.settimeout(60)
    while True:
        try:
            data = t.recv(65536)
        except (OSError, ssl.SSLError):
            return
        if not data:
            return
        for e in c.receive_data(data):
            sid = getattr(e, "stream_id", None)
            if isinstance(e, h2.events.RequestReceived):
                body[sid], trailers[sid] = 0, []
            elif isinstance(e, h2.events.DataReceived):
                body[sid] = body.get(sid, 0) + len(e.data)
                c.acknowledge_received_data(e.flow_controlled_length, sid)
            elif isinstance(e, h2.events.TrailersReceived):
                trailers[sid] = list(e.headers)
            elif isinstance(e, h2.events.StreamEnded):
                c.send_headers(sid, [(":status", "103"),
                                     ("link", "</hint.css>; rel=preload")])
                c.send_headers(sid, [(":status", "200"),
                                     ("content-type", "text/plain")])
                c.send_data(sid, b"got %d bytes" % body.get(sid, 0))
                c.send_headers(sid, [("grpc-status", "0")] +
                               [("x-echo-" + k, v)
                                for k, v in trailers.get(sid, [])],
                               end_stream=True)
        t.sendall(c.data_to_send())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("listen")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["h2"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(64)
    while True:
        s, _ = ls.accept()
        try:
            t = ctx.wrap_socket(s, server_side=True)
        except (OSError, ssl.SSLError):
            s.close()
            continue
        threading.Thread(target=serve, args=(t,), daemon=True).start()


if __name__ == "__main__":
    main()
