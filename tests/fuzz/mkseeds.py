#!/usr/bin/env python3
"""mkseeds.py — write the synthesised seed inputs of the fuzz corpora.

    python3 tests/fuzz/mkseeds.py      (from the repo top)

tests/fuzz/corpus/tls_peek/ also holds the openssl s_client captures from
tests/data/tls/ (copied here) and inputs kept from fuzzing runs;
tests/fuzz/corpus/stun/ the RFC 5769 vectors;
tests/fuzz/corpus/stun_msg/ the same and TURN messages of each kind
(RFC 8656), with short-term, long-term and SHA-256 integrity,
attributes after MESSAGE-INTEGRITY, unknown attributes, ChannelData,
a crash-* regression (a property of the target, not of the codec) and
fuzz-* inputs kept from a 300 s run (libFuzzer -merge=1);
tests/fuzz/corpus/channeldata/ streams of STUN and ChannelData, whole,
cut short, or going wrong after a few frames, and fuzz-* inputs kept
from a 300 s run (-merge=1);
tests/fuzz/corpus/urlpath/ the paths of tests/unit/lib/urlpath_test.c;
tests/fuzz/corpus/classify/ the first bytes of flows: request lines
nginx or http.server accept and sluice's parser refuses (lenient-*),
text protocols that must stay opaque (text-*), requests, a ClientHello
and a STUN header; plus fuzz-* inputs kept from 480 s of fuzzing, the
smallest one per verdict among those a server model accepts;
tests/fuzz/corpus/quic/ inputs of fuzz_quic.c: in mode 0 (datagrams)
the RFC 9001 and RFC 9369 appendix A.2 client Initials (read from
tests/unit/tls/quic_test.c), shapes that are not QUIC v1/v2, and the
flights tests/unit/tls/quic_test.c protects (written by that test with
SL_QUIC_SEEDS=DIR: `make` it first); in modes 1 and 2 (frames the
target protects itself) CRYPTO, ACK and PING frames carrying a hello;
plus inputs kept from 450 s of fuzzing (libFuzzer -merge, SHA-1 names);
tests/fuzz/corpus/policy/ the shipped configuration and profiles (also
both in one file, issue 13) and one file per statement kind, plus url
rules meeting names (issue 13), crash-* regressions and fuzz-* inputs
kept from a 600 s run (61 files in all: the golden files of
tests/data/policy/ were seeds too, but inputs of that run cover more).
Names say what a seed is.
"""
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import zlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TLS = os.path.join(TOP, "tests/fuzz/corpus/tls_peek")
STUN = os.path.join(TOP, "tests/fuzz/corpus/stun")
STUN_MSG = os.path.join(TOP, "tests/fuzz/corpus/stun_msg")
CHANNELDATA = os.path.join(TOP, "tests/fuzz/corpus/channeldata")
URLPATH = os.path.join(TOP, "tests/fuzz/corpus/urlpath")
POLICY = os.path.join(TOP, "tests/fuzz/corpus/policy")
CLASSIFY = os.path.join(TOP, "tests/fuzz/corpus/classify")
QUIC = os.path.join(TOP, "tests/fuzz/corpus/quic")


def u8(v): return bytes([v])
def u16(v): return v.to_bytes(2, "big")
def u24(v): return v.to_bytes(3, "big")
def ext(t, data): return u16(t) + u16(len(data)) + data


def sni(name):
    entry = u8(0) + u16(len(name)) + name
    return ext(0, u16(len(entry)) + entry)


def alpn(*names):
    lst = b"".join(u8(len(n)) + n for n in names)
    return ext(16, u16(len(lst)) + lst)


def versions(*vs):
    return ext(43, u8(2 * len(vs)) + b"".join(u16(v) for v in vs))


def hello(exts, suites=(0x1301, 0x1302, 0xc02b), sid=32, with_exts=True):
    body = u16(0x0303) + bytes(range(32)) + u8(sid) + bytes(sid)
    body += u16(2 * len(suites)) + b"".join(u16(s) for s in suites)
    body += u8(1) + u8(0)
    if with_exts:
        e = b"".join(exts)
        body += u16(len(e)) + e
    return u8(1) + u24(len(body)) + body


def records(msg, frags=(), first=0x0301):
    out, off, i = b"", 0, 0
    while off < len(msg):
        k = frags[i] if i < len(frags) else len(msg) - off
        k = min(k, len(msg) - off)
        out += u8(22) + u16(first if i == 0 else 0x0303) + u16(k) + msg[off:off + k]
        off += k
        i += 1
    return out


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tls_seeds():
    basic = [sni(b"www.example.test"), ext(10, bytes.fromhex("0004001d0017")),
             alpn(b"h2", b"http/1.1"), versions(0x0304, 0x0303)]
    m = hello(basic)
    write(TLS, "synth-basic", records(m))
    write(TLS, "synth-three-records", records(m, (3, 60)))
    write(TLS, "synth-one-byte-records", records(m, [1] * len(m)))
    write(TLS, "synth-grease", records(hello(
        [ext(0x0a0a, b""), sni(b"Grease.Test"), alpn(b"\x2a\x2a", b"h2"),
         versions(0xfafa, 0x0304), ext(0x1a1a, b"\0")],
        suites=(0x3a3a, 0x1301))))
    write(TLS, "synth-ech", records(hello(
        [sni(b"public.example.test"),
         ext(0xfe0d, bytes.fromhex("0000010001070002aabb0003010203"))])))
    write(TLS, "synth-no-extensions", records(hello([], with_exts=False)))
    write(TLS, "synth-psk-last", records(hello(
        [sni(b"psk.test"), ext(41, b"\0\0\0\0")])))
    big = hello([sni(b"big.example.test"), ext(21, bytes(12000))])
    write(TLS, "synth-12k-padding", records(big, (9000,)))
    write(TLS, "synth-early-data-after", records(m) +
          bytes.fromhex("140303000101") + bytes.fromhex("1703030003") + b"xyz")
    write(TLS, "synth-sslv2", bytes.fromhex("802e0103010015000000100100800300800700c0"))
    write(TLS, "synth-many-extensions", records(hello(
        [ext(1000 + t, b"") for t in range(24)] + [sni(b"many.test")])))
    write(TLS, "synth-sni-255", records(hello([sni(b"a" * 255)]), (40, 100)))
    write(TLS, "synth-alpn-nul-overlong", records(hello(
        [ext(16, bytes.fromhex("002a") + b"\x03a\x00b" + b"\x21" + b"x" * 33 +
             b"\x03h/3")])))
    write(TLS, "other-http", b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    for f in sorted(os.listdir(os.path.join(TOP, "tests/data/tls"))):
        if f.endswith(".bin"):
            shutil.copy(os.path.join(TOP, "tests/data/tls", f), os.path.join(TLS, f))


def stun_seeds():
    for name, hexs in stun_vectors():
        write(STUN, name, bytes.fromhex(hexs))
    write(STUN, "binding-header-only", bytes.fromhex("000100002112a442") + bytes(range(12)))


def stun_attr(t, v):
    return u16(t) + u16(len(v)) + v + bytes(-len(v) % 4)


def stun_xaddr(txid, ip, port, xor=True):
    """An address attribute value; ip is 4 or 16 bytes."""
    mask = bytes.fromhex("2112a442") + txid
    if xor:
        port ^= 0x2112
        ip = bytes(a ^ b for a, b in zip(ip, mask))
    return u8(0) + u8(1 if len(ip) == 4 else 2) + u16(port) + ip


def stun_msg(mtype, txid, attrs, mi=None, mi256=None, fp=False):
    """A STUN message; MESSAGE-INTEGRITY(-SHA256) with the keys given and
    FINGERPRINT computed as RFC 8489 14.5-14.7 say."""
    body = b"".join(attrs)

    def head(extra):
        return u16(mtype) + u16(len(body) + extra) + bytes.fromhex("2112a442") + txid
    if mi is not None:
        mac = hmac.new(mi, head(24) + body, hashlib.sha1).digest()
        body += stun_attr(0x0008, mac)
    if mi256 is not None:
        mac = hmac.new(mi256, head(36) + body, hashlib.sha256).digest()
        body += stun_attr(0x001c, mac)
    if fp:
        crc = zlib.crc32(head(8) + body) ^ 0x5354554e
        body += stun_attr(0x8028, crc.to_bytes(4, "big"))
    return head(0) + body


def chan(ch, data, pad=True):
    return u16(ch) + u16(len(data)) + data + (bytes(-len(data) % 4) if pad else b"")


def stun_vectors():
    text = open(os.path.join(TOP, "tests/data/stun/rfc5769-vectors.txt")).read()
    return re.findall(r"^name: (\S+)\n(?:.*\n)*?hex: ([0-9a-f ]+)$", text, re.M)


# The codec's seeds: the RFC 5769 vectors and TURN messages of each kind
# (RFC 8656), with short-term, long-term and SHA-256 integrity.
def stun_msg_seeds():
    for name, hexs in stun_vectors():
        write(STUN_MSG, name, bytes.fromhex(hexs))
    tx = bytes(range(1, 13))
    short = b"VOkJxbRl1RmTxUk/WvJxBt"
    long_key = hashlib.md5(b"alice:example.org:secret").digest()
    cred = [stun_attr(0x0006, b"alice"), stun_attr(0x0014, b"example.org"),
            stun_attr(0x0015, b"obMatJos2AAABnonce")]
    v4, v6 = bytes([198, 51, 100, 7]), bytes.fromhex("20010db8000000000000000000000001")
    seeds = {
        "binding-request-mi-fp": stun_msg(0x0001, tx, [
            stun_attr(0x0006, b"evtj:h6vY"), stun_attr(0x0024, bytes.fromhex("6e0001ff"))],
            mi=short, fp=True),
        "allocate-request": stun_msg(0x0003, tx, [
            stun_attr(0x0019, b"\x11\0\0\0"), stun_attr(0x000d, u16(0) + u16(600)),
            stun_attr(0x001a, b""), stun_attr(0x8022, b"sluice seed")], fp=True),
        "allocate-401": stun_msg(0x0113, tx, [
            stun_attr(0x0009, b"\0\0\x04\x01Unauthorized"), cred[1], cred[2],
            stun_attr(0x001d, u16(1) + u16(0))], fp=True),
        "allocate-success-mi256": stun_msg(0x0103, tx, [
            stun_attr(0x0016, stun_xaddr(tx, v4, 49152)),
            stun_attr(0x0020, stun_xaddr(tx, v6, 50000)),
            stun_attr(0x000d, u16(0) + u16(600))], mi=long_key, mi256=long_key, fp=True),
        "channel-bind-long-term": stun_msg(0x0009, tx, cred + [
            stun_attr(0x000c, u16(0x4001) + u16(0)),
            stun_attr(0x0012, stun_xaddr(tx, v4, 3478))], mi=long_key, fp=True),
        "send-indication": stun_msg(0x0016, tx, [
            stun_attr(0x0012, stun_xaddr(tx, v6, 5004)), stun_attr(0x0013, b"media")]),
        "v4-mapped-peer": stun_msg(0x0016, tx, [
            stun_attr(0x0012, stun_xaddr(tx, bytes(10) + b"\xff\xff\x7f\0\0\1", 80))]),
        "mapped-address-plain": stun_msg(0x0101, tx, [
            stun_attr(0x0001, stun_xaddr(tx, v4, 32853, xor=False))]),
        "unknown-attributes": stun_msg(0x0003, tx, [
            stun_attr(0x0031, b"a"), stun_attr(0x8031, b"b"), stun_attr(0x7fff, b""),
            stun_attr(0x0002, b"c")]),
        "chan-udp-unpadded": chan(0x4001, b"hello", pad=False),
        "chan-padded": chan(0x4fff, b"hello"),
    }
    # ignored-after-mi: a SOFTWARE and an unknown type after MI, then MI-SHA256
    # and FINGERPRINT (computed over all of it, the ignored ones included).
    m = stun_msg(0x0001, tx, [stun_attr(0x0006, b"u")], mi=short)
    late = stun_attr(0x8022, b"late") + stun_attr(0x7777, b"x")
    seeds["ignored-after-mi"] = stun_msg(0x0001, tx, [m[20:], late],
                                         mi256=short, fp=True)
    for name, data in seeds.items():
        write(STUN_MSG, name, data)


# Streams for the framer: STUN and ChannelData back to back.
def channeldata_seeds():
    vecs = [bytes.fromhex(h) for _, h in stun_vectors()]
    stream = b""
    for i, v in enumerate(vecs):
        stream += v + chan(0x4000 + i, bytes([0xee]) * (3 * i + 1))
    seeds = {
        "stream-vectors-and-channels": stream,
        "stream-one-stun": vecs[1],
        "stream-channels": b"".join(chan(0x4001, bytes(range(n))) for n in range(9)),
        "stream-ends-mid-frame": stream[:-5],
        "stream-garbage-after-two": vecs[0] + chan(0x4abc, b"xy") + b"\x80garbage",
        "stream-reserved-channel": chan(0x4001, b"ok") + chan(0x5000, b"no"),
        "stream-too-large": chan(0x4001, b"ok") + u16(0x0001) + u16(0xfffc),
        "stream-empty-channel": chan(0x4000, b""),
    }
    for name, data in seeds.items():
        write(CHANNELDATA, name, data)


def urlpath_seeds():
    """Every path literal the unit test normalises, one file each."""
    text = open(os.path.join(TOP, "tests/unit/lib/urlpath_test.c")).read()
    lits = re.findall(r'(?:norm|noparam|sl_urlpath_normalise(?:_noparam)?'
                      r'|static const char s\[\] =)'
                      r'\(?\s*"((?:[^"\\]|\\.)*)"', text)
    seen = set()
    for i, lit in enumerate(lits):
        data = lit.encode().decode("unicode_escape").encode("latin-1")
        if data in seen:
            continue
        seen.add(data)
        write(URLPATH, "unit-%03d" % i, data)


# One file per statement kind and option of docs/policy.md.  Include and
# list file paths name no directory: the fuzz target resolves them in one
# that does not exist (and skips any path with a '/').
POLICY_SEEDS = {
    "stmt-set": b"set workers auto\nset user \"\"\nset connect-ports 443,8443\n"
                b"set drain-timeout 250ms\nset relay-buffer 16k\nset via off\n"
                b"set transparent-udp-ports udp/3478,udp/5349-5350\n"
                b"set dns-prefer ipv4\nset inspect-fallback deny\n"
                b"set header-max 1m\nset request-line-max 1m\n",
    "stmt-listen": b"listen explicit 127.0.0.1:3128\nlisten explicit [::1]:3128\n"
                   b"listen transparent *:3129 allow-from 10.0.0.0/8, @lan\n"
                   b"listen tproxy 10.0.0.1:3130\nlist lan ip 192.168.0.0/16\n",
    "stmt-resolver": b"resolver 192.0.2.53, 192.0.2.54:5353\n"
                     b"resolver 2001:db8::53,[2001:db8::54]:53\n",
    "stmt-log": b"set log-dir /var/log/sluice\nlog json flows.jsonl\n"
                b"log json stdout\nlog json /tmp/x.jsonl\n",
    "stmt-list": b"list a domain a.test, *.b.test\nlist a domain c.test\n"
                 b"list n ip 192.0.2.0/24, 2001:db8::/32\nlist p port 443, udp/3478\n"
                 b"list u user alice, \"bob smith\"\nlist w url a.test/x/\n"
                 b"list f domain file \"missing.list\"\n"
                 b"rule r splice domain @a ip @n port @p user @u url @w\n",
    "stmt-include": b"include \"missing.conf\" level must\n"
                    b"include \"*.conf\" level should\ninclude x.conf\n",
    "stmt-default": b"default splice noauth log deny-opaque deny-ech\n",
    "rule-matchers": b"rule d splice domain a.test,*.a.test\n"
                     b"rule i deny ip 192.0.2.0/24, 2001:db8::/32, ::ffff:198.51.100.7\n"
                     b"rule p splice port 80, 12000-12002, tcp/3478, udp/5349-5350\n"
                     b"rule u inspect url www.example.test/hello/ url https://x.test/a%2fb*\n"
                     b"rule s splice src 10.0.0.0/8\nrule us splice user alice, \"b c\"\n"
                     b"rule c deny country de, FR\nrule a deny asn 64496, AS64497\n"
                     b"rule lo splice ip 127.0.0.1 port 8080\ndefault inspect\n",
    "rule-options": b"rule a splice noauth log sni-check deny-opaque deny-ech "
                    b"domain a.test level must cite \"doc:1 text\"\n"
                    b"rule b inspect no-sni-check disabled domain b.test "
                    b"level should cite word\n"
                    b"rule c deny \\\n  domain c.test # a comment\n",
    "rule-staged": b"rule ipr splice ip 192.0.2.0/24\n"
                   b"rule dom inspect domain *.example.test\n"
                   b"rule web splice noauth url www.example.test/app/\n"
                   b"rule who deny user mallory\nrule geo deny country XX asn 64511\n"
                   b"default deny\n",
    # Issue 13: url rules whose host cannot be the name's drop out at the
    # name step; wildcard hosts, a url list, an address as the host, a
    # domain and a url matcher in one rule.
    "url-name-step": b"rule x deny url other.example/secret/\n"
                     b"rule wl splice noauth domain *.vistime.example\n"
                     b"rule lit deny url 192.0.2.7/admin/\n"
                     b"rule both deny domain b.test url b.test/p/, *.w.test/q/\n"
                     b"list ul url u.test/x/, ..m.test/y\n"
                     b"rule lu inspect url @ul\n"
                     b"rule ip splice ip 192.0.2.0/24\n"
                     b"default inspect\n",
    "lex-edge": b"\xef\xbb\xbfrule a splice domain a.test,b.test , c.test\r\n"
                b"rule \"q\" deny cite \"x \\\" \\\\ y\"\t# c\n  \n\\\n",
}


def policy_seeds():
    write(POLICY, "shipped-sluice.conf",
          open(os.path.join(TOP, "rootfs/overlay/etc/sluice/sluice.conf"), "rb").read())
    both = b""
    for f in ("flexperto.conf", "vistime.conf"):
        data = open(os.path.join(TOP, "policy/profiles", f), "rb").read()
        # The list file is not there when fuzzing: values instead.
        data = re.sub(rb'ip file "[^"]*"', b"ip 192.0.2.0/24", data)
        write(POLICY, "profile-" + f, data)
        both += data
    # Issue 13 as found: flexperto's path rules above vistime's domains.
    write(POLICY, "profile-flexperto-vistime.conf", both + b"default inspect\n")
    for name, data in POLICY_SEEDS.items():
        write(POLICY, name, data)


# First bytes of flows for fuzz_classify: what lenient servers take for a
# request line (tests/integ/121-lenient-request-lines.sh sends the same
# shapes to nginx and http.server), text protocols, and the other kinds.
HOST = b"Host: a.test\r\n\r\n"
CLASSIFY_SEEDS = {
    "http-plain": b"GET /x HTTP/1.1\r\n" + HOST,
    "http-absolute": b"GET http://a.test:8080/x?q HTTP/1.1\r\n" + HOST,
    "http-connect": b"CONNECT a.test:443 HTTP/1.1\r\n" + HOST,
    "http-empty-lines": b"\r\n\r\nGET /x HTTP/1.1\r\n" + HOST,
    "http-10-no-host": b"GET /x HTTP/1.0\r\n\r\n",
    "lenient-trailing-sp": b"GET /x HTTP/1.1 \r\n" + HOST,
    "lenient-trailing-tab": b"GET /x HTTP/1.1\t\r\n" + HOST,
    "lenient-tabs": b"GET\t/x\tHTTP/1.1\r\n" + HOST,
    "lenient-leading-sp": b" GET /x HTTP/1.1\r\n" + HOST,
    "lenient-multi-sp": b"GET  /x  HTTP/1.1\r\n" + HOST,
    "lenient-v1.10": b"GET /x HTTP/1.10\r\n" + HOST,
    "lenient-v1.0999": b"GET /x HTTP/1.0999\r\n" + HOST,
    "lenient-v01.1": b"GET /x HTTP/01.1\r\n" + HOST,
    "lenient-vplus": b"GET /x HTTP/+1.1_0\r\n" + HOST,
    "lenient-v2.-1": b"GET /x HTTP/2.-1\r\n" + HOST,
    "lenient-bare-lf": b"GET /x HTTP/1.1\nHost: a.test\n\n",
    "lenient-crcr": b"GET /x HTTP/1.1\r\r\n" + HOST,
    "lenient-lead-cr": b"\rGET /x HTTP/1.1\r\n" + HOST,
    "lenient-many-lf": b"\n" * 20 + b"GET /x HTTP/1.1\r\n" + HOST,
    "lenient-method-us": b"GET_X /x HTTP/1.1\r\n" + HOST,
    "lenient-09": b"GET /x\r\n",
    "lenient-09-sp": b"GET /x   \r\n",
    "lenient-09-abs": b"GET http://[::1]:80 \r\n",
    "lenient-vt-ff": b"GET\x0b/x\x0cHTTP/1.1\x1c\r\n" + HOST,
    "lenient-nbsp-nel": b"GET\xa0/x\x85HTTP/1.1\r\n" + HOST,
    "lenient-nbsp-in-target": b"GET /a\xa0b HTTP/1.1\r\n" + HOST,
    # Longer than the classifier's 8 KiB line window (http.server reads
    # 64 KiB), and large enough that libFuzzer tries inputs past it.
    "lenient-long-target": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST,
    "lenient-long-blanks": b" " * 9000 + b"GET /x HTTP/1.0\n\n",
    "text-login": b"LOGIN alice secret\r\nQUIT\r\n",
    "text-ehlo": b"EHLO client.a.test\r\n",
    "text-user": b"USER anonymous\r\n",
    "text-imap": b"A001 CAPABILITY\r\n",
    "text-rtsp": b"OPTIONS rtsp://cam.a.test/live RTSP/1.0\r\nCSeq: 1\r\n\r\n",
    "text-sip": b"INVITE sip:bob@a.test SIP/2.0\r\n",
    "text-notify": b"NOTIFY /x\r\n",
    "text-memcached": b"get key\r\n",
    "text-redis": b"*1\r\n$4\r\nPING\r\n",
    "text-ssh": b"SSH-2.0-OpenSSH_9.2\r\n",
    "stun-binding": bytes.fromhex("000100002112a442") + bytes(range(12)),
    "opaque-binary": b"\x00\xffOPAQUE\x7f",
}


def classify_seeds():
    for name, data in CLASSIFY_SEEDS.items():
        write(CLASSIFY, name, data)
    basic = [sni(b"www.example.test"), alpn(b"http/1.1")]
    write(CLASSIFY, "tls-hello", records(hello(basic)))


def qvar(v):
    for n, prefix in ((1, 0), (2, 0x4000), (4, 0x80000000)):
        if v < 1 << (8 * n - 2):
            return (v | prefix).to_bytes(n, "big")
    return (v | 0xc000000000000000).to_bytes(8, "big")


def crypto(off, data):
    return qvar(6) + qvar(off) + qvar(len(data)) + data


def quic_seeds():
    def frame(*dgrams, mode=0):
        return u8(mode) + b"".join(u16(len(d)) + d for d in dgrams)

    test = os.path.join(TOP, "tests/unit/tls/quic_test.c")
    text = open(test).read()
    for name in ("rfc9001_a2", "rfc9369_a2"):
        body = re.search(r"static const char %s\[\] =\n((?:\s*\"[0-9a-f]+\"\n?)+);"
                         % name, text).group(1)
        pkt = bytes.fromhex("".join(re.findall(r'"([0-9a-f]+)"', body)))
        write(QUIC, name, frame(pkt))
        # The same packet twice, and cut short.
        write(QUIC, name + "-twice", frame(pkt, pkt))
        write(QUIC, name + "-cut", frame(pkt[:600]))
    write(QUIC, "other-short-header", frame(bytes.fromhex("4001020304050607") + bytes(1192)))
    write(QUIC, "other-version-negotiation",
          frame(bytes.fromhex("80000000000801020304050607080000000001")))
    write(QUIC, "other-unknown-version",
          frame(bytes.fromhex("c0fafafafa0801020304050607080000") + bytes(1184)))
    write(QUIC, "other-empty", frame(b""))
    m = hello([sni(b"frames.example.test"), alpn(b"h3"), versions(0x0304),
               ext(57, bytes.fromhex("0104000f4240")), ext(21, bytes(900))], sid=0)
    write(QUIC, "frames-one-crypto", frame(crypto(0, m), mode=1))
    write(QUIC, "frames-split-reversed",
          frame(crypto(600, m[600:]), crypto(0, m[:600]), mode=1))
    write(QUIC, "frames-v2-split",
          frame(crypto(0, m[:700]), crypto(700, m[700:]), mode=2))
    write(QUIC, "frames-ack-ping-padding", frame(
        u8(1) + bytes.fromhex("02050a020101010102") + bytes.fromhex("0300000000010203")
        + crypto(0, m[:100]) + bytes(20) + crypto(100, m[100:]), mode=1))
    write(QUIC, "frames-overlap-equal",
          frame(crypto(0, m[:500]) + crypto(400, m[400:]), crypto(0, m), mode=1))
    write(QUIC, "frames-stream", frame(bytes.fromhex("08000568656c6c6f"), mode=1))
    binary = os.path.join(TOP, "build/tests/tls/quic_test")
    if os.path.exists(binary):
        subprocess.run([binary], cwd=TOP, check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, SL_QUIC_SEEDS=QUIC))
    else:
        print("mkseeds: no %s: the protected flights are not written" % binary)


tls_seeds()
quic_seeds()
stun_seeds()
stun_msg_seeds()
channeldata_seeds()
urlpath_seeds()
policy_seeds()
classify_seeds()
