#!/bin/sh
# gen.sh — capture real ClientHellos from `openssl s_client` for the peek
# tests (tests/unit/tls/peek_test.c).  A one-shot listener on loopback
# saves the TLS records that carry the first ClientHello and closes; the
# client then fails its handshake, which is expected.
#
#   sh tests/data/tls/gen.sh        (from the repo top; needs openssl, python3)
#
# The hellos hold fresh random bytes each run; the tests only assert what
# the command lines below decide (SNI, ALPN, versions, sizes from the file).
set -eu
dir=$(cd "$(dirname "$0")" && pwd)

# capture FILE S_CLIENT_ARGS...: run s_client against a one-shot listener.
capture() {
	file=$1
	shift
	portfile=$(mktemp)
	python3 - "$dir/$file" "$portfile" <<'PY' &
import socket, sys
out, portfile = sys.argv[1], sys.argv[2]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.bind(("127.0.0.1", 0))
ls.listen(1)
ls.settimeout(20)
with open(portfile, "w") as f:
    f.write(str(ls.getsockname()[1]))
c, _ = ls.accept()
c.settimeout(20)
buf, hs, off, need = b"", b"", 0, None
# Read whole records until the handshake message (4-byte header + body) is in.
while need is None or len(hs) < need:
    while len(buf) - off < 5 or len(buf) - off < 5 + int.from_bytes(buf[off + 3:off + 5], "big"):
        d = c.recv(65536)
        if not d:
            sys.exit("gen.sh: client closed before its hello was complete")
        buf += d
    rlen = int.from_bytes(buf[off + 3:off + 5], "big")
    if buf[off] != 22:
        sys.exit("gen.sh: not a handshake record")
    hs += buf[off + 5:off + 5 + rlen]
    off += 5 + rlen
    if need is None and len(hs) >= 4:
        need = 4 + int.from_bytes(hs[1:4], "big")
with open(out, "wb") as f:
    f.write(buf[:off])
c.close()
PY
	pid=$!
	i=0
	while [ ! -s "$portfile" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	port=$(cat "$portfile")
	timeout 20 openssl s_client -connect "127.0.0.1:$port" "$@" \
	    </dev/null >/dev/null 2>&1 || true
	wait "$pid"
	rm -f "$portfile"
	echo "gen.sh: $file: $(wc -c <"$dir/$file") bytes"
}

capture openssl-tls13-sni-alpn.bin -tls1_3 -servername Peek.Example.TEST \
    -alpn h2,http/1.1
capture openssl-tls12-sni-alpn.bin -tls1_2 -servername www.example.test \
    -alpn h2,http/1.1
capture openssl-default-nosni.bin -noservername
