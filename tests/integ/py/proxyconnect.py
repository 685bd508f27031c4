"""proxyconnect.py — the CONNECT exchange the test clients share."""


def connect_status(s, authority):
    """Send "CONNECT authority" on the connected socket s and read the
    answer's head one byte at a time, so that no byte of the tunnel after
    it is consumed.  Returns the status code as a string ("200", "403",
    ...), or "closed" if the proxy closed before a status line."""
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
               % (authority, authority)).encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c:
            break
        head += c
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) > 1 else "closed"
