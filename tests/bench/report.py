#!/usr/bin/python3
"""report.py — turn the load generator's JSON lines into the bench report.

    report.py --raw RAW.jsonl --out DIR [--policy FILE] [--meta k=v]...
    report.py --line < ONE.json      (one-line summary of one measurement)

Each line of RAW.jsonl is one loadgen result labelled "FIGURE/PEER/RUN".
For every figure and peer the median over the runs is reported, with the
ratio of sluice's median to each peer's and a PASS/MISS per target of the
issues.  Writes DIR/results.json and DIR/results.md and prints the table.
Measurements that failed (any failed connection, no result) are left out
of the medians and listed.
"""
import argparse
import datetime
import json
import statistics
import sys

# "floor" is tests/bench/connect_floor.c: not a peer but the least a CONNECT
# proxy can do per tunnel, measured in the cps figure only.
PEERS = ["sluice", "haproxy", "squid", "nginx", "floor"]
# The inspection group (issue 13, tests/bench/inspect.sh): nginx-ref
# terminates and re-originates TLS without minting; squid-bump is Squid
# with ssl-bump.
I_PEERS = ["sluice", "nginx-ref", "squid-bump", "mitmproxy"]
# The UDP forwarding group (issue 14, tests/bench/udp.sh): relay is the
# minimal batched relay (tests/bench/udp_relay.c), kernel the gateway
# namespace's own forwarding (no process: no CPU figure).
U_PEERS = ["sluice", "socat", "relay", "kernel"]


def _div(a, b):
    return a / b if b else None


# figure -> list of (metric, label, unit, function of one record)
def _bulk_metrics():
    return [
        ("gbps", "throughput", "GB/s",
         lambda r: _div(r["bytes"], r["wall_us"] * 1e3)),
        ("bpc", "bytes per proxy CPU-second", "GB/CPU-s",
         lambda r: _div(r["bytes"], r["cpu_us"] * 1e3)),
        ("bpcore", "bytes per busy second of core 0", "GB/core-s",
         lambda r: _div(r["bytes"], r["core_busy_us"] * 1e3)),
    ]


def _cps_metrics(what):
    return [
        ("rate", what + " per second", "1/s",
         lambda r: _div(r["done"], r["wall_us"] / 1e6)),
        ("cpu1k", "proxy CPU per 1,000 " + what, "CPU-s",
         lambda r: _div(r["cpu_us"] / 1e6 * 1000, r["done"])),
        ("core1k", "core-0 busy time per 1,000 " + what, "core-s",
         lambda r: _div(r["core_busy_us"] / 1e6 * 1000, r["done"])),
    ]


FIGURES = [
    ("bulk1", "bulk, 1 tunnel", _bulk_metrics()),
    ("bulk8", "bulk, 8 tunnels", _bulk_metrics()),
    ("cps", "CONNECT/forwarded tunnels (64-byte echo)", _cps_metrics("tunnels")),
    ("idle", "idle tunnels", [
        ("anon", "userspace memory (RssAnon) per idle tunnel", "KiB",
         lambda r: _div(r["anon_kb_open"] - r["anon_kb_before"], r["tunnels"])),
        ("rss", "VmRSS per idle tunnel", "KiB",
         lambda r: _div(r["rss_kb_open"] - r["rss_kb_before"], r["tunnels"])),
        ("fds", "file descriptors per idle tunnel", "fds",
         lambda r: _div(r["fds_open"] - r["fds_before"], r["tunnels"])),
    ]),
    ("rtt", "64-byte round trip on an open tunnel", [
        ("p50", "p50 round trip", "us", lambda r: r["p50_ns"] / 1e3),
        ("p99", "p99 round trip", "us", lambda r: r["p99_ns"] / 1e3),
    ]),
    ("t_bulk1", "transparent: ClientHello peek then bulk, 1 tunnel",
     _bulk_metrics()),
    ("t_bulk8", "transparent: ClientHello peek then bulk, 8 tunnels",
     _bulk_metrics()),
    ("t_cps", "transparent: new flows with a ClientHello peek",
     _cps_metrics("flows")),
]

def _per_cpu(what, unit="1/CPU-s"):
    return [
        ("hpc", what + " per proxy CPU-second", unit,
         lambda r: _div(r["done"], r["cpu_us"] / 1e6)),
        ("rate", what + " per second", "1/s",
         lambda r: _div(r["done"], r["wall_us"] / 1e6)),
    ]


I_FIGURES = [
    ("i_warm", "inspected handshakes, warm cache (4 names)",
     _per_cpu("handshakes")),
    ("i_cold", "inspected handshakes, cold cache (a new name each)",
     _per_cpu("handshakes")),
    ("i_bulk", "inspected bulk, 1 connection", [
        ("mbpc", "bytes per proxy CPU-second", "MB/CPU-s",
         lambda r: _div(r["bytes"], r["cpu_us"])),
        ("mbps", "throughput", "MB/s",
         lambda r: _div(r["bytes"], r["wall_us"])),
    ]),
    ("i_h2", "inspected HTTP/2 requests (h2load)", _per_cpu("requests")),
]


def _cpum(r):
    """Forwarder CPU-seconds per million datagrams delivered."""
    return _div(r["cpu_us"], r["received"])


# udp_load search (loss-free rate), rate (fixed rate) and ping results.
U_FIGURES = [
    ("u100", "UDP, 100-byte datagrams, loss-free rate", [
        ("pps", "loss-free datagrams per second", "1/s",
         lambda r: r["lossfree_pps"]),
        ("mbps", "payload bytes per second", "MB/s",
         lambda r: _div(r["bytes"], r["wall_us"])),
        ("cpum", "forwarder CPU per million datagrams, at that rate",
         "CPU-s", _cpum),
    ]),
    ("u1200", "UDP, 1,200-byte datagrams, loss-free rate", [
        ("pps", "loss-free datagrams per second", "1/s",
         lambda r: r["lossfree_pps"]),
        ("mbps", "payload bytes per second", "MB/s",
         lambda r: _div(r["bytes"], r["wall_us"])),
        ("cpum", "forwarder CPU per million datagrams, at that rate",
         "CPU-s", _cpum),
    ]),
    ("ucpu", "UDP, 100-byte datagrams at one fixed rate for all", [
        ("cpum", "forwarder CPU per million datagrams", "CPU-s", _cpum),
        ("corem", "core-0 busy time per million datagrams", "core-s",
         lambda r: _div(r["core_busy_us"], r["received"])),
        ("loss", "lost", "%", lambda r: r["loss_ppm"] / 1e4),
    ]),
    ("urtt", "UDP, 100-byte round trip, one datagram in flight", [
        ("p50", "p50 round trip", "us", lambda r: r["p50_ns"] / 1e3),
        ("p99", "p99 round trip", "us", lambda r: r["p99_ns"] / 1e3),
    ]),
]

# (id, text, figure, metric, comparison, reference peer or None, limit)
TARGETS = [
    ("issue2.bulk1.haproxy", "spliced bytes/CPU-s >= 1.0x HAProxy (1 tunnel)",
     "bulk1", "bpc", ">=", "haproxy", 1.0),
    ("issue2.bulk1.squid", "spliced bytes/CPU-s >= 3x Squid (1 tunnel)",
     "bulk1", "bpc", ">=", "squid", 3.0),
    ("issue2.bulk8.haproxy", "spliced bytes/CPU-s >= 1.0x HAProxy (8 tunnels)",
     "bulk8", "bpc", ">=", "haproxy", 1.0),
    ("issue2.bulk8.squid", "spliced bytes/CPU-s >= 3x Squid (8 tunnels)",
     "bulk8", "bpc", ">=", "squid", 3.0),
    ("issue2.cps.haproxy", "CPU per 1,000 CONNECT tunnels <= 0.9x HAProxy",
     "cps", "cpu1k", "<=", "haproxy", 0.9),
    ("issue2.cps.squid", "CPU per 1,000 CONNECT tunnels <= 0.7x Squid",
     "cps", "cpu1k", "<=", "squid", 0.7),
    ("issue2.idle", "userspace memory per idle tunnel <= 2 KiB",
     "idle", "anon", "<=", None, 2.0),
    ("issue2.rtt", "p99 round trip <= 1.0x HAProxy",
     "rtt", "p99", "<=", "haproxy", 1.0),
    ("issue4.bulk1.haproxy",
     "peeked+spliced bytes/CPU-s >= 1.0x HAProxy (1 tunnel)",
     "t_bulk1", "bpc", ">=", "haproxy", 1.0),
    ("issue4.bulk8.haproxy",
     "peeked+spliced bytes/CPU-s >= 1.0x HAProxy (8 tunnels)",
     "t_bulk8", "bpc", ">=", "haproxy", 1.0),
    ("issue4.cps.haproxy", "CPU per 1,000 peeked flows <= 1.0x HAProxy",
     "t_cps", "cpu1k", "<=", "haproxy", 1.0),
    ("issue4.cps.nginx", "CPU per 1,000 peeked flows <= 1.0x nginx",
     "t_cps", "cpu1k", "<=", "nginx", 1.0),
]

I_TARGETS = [
    ("issue13.warm.ref", "handshakes/CPU-s, warm >= 1.0x nginx reference",
     "i_warm", "hpc", ">=", "nginx-ref", 1.0),
    ("issue13.warm.squid", "handshakes/CPU-s, warm >= 3x Squid-bump",
     "i_warm", "hpc", ">=", "squid-bump", 3.0),
    ("issue13.cold.squid", "handshakes/CPU-s, cold >= 5x Squid-bump",
     "i_cold", "hpc", ">=", "squid-bump", 5.0),
    ("issue13.bulk.ref", "inspected bytes/CPU-s >= 1.0x nginx reference",
     "i_bulk", "mbpc", ">=", "nginx-ref", 1.0),
    ("issue13.bulk.squid", "inspected bytes/CPU-s >= 1.5x Squid-bump",
     "i_bulk", "mbpc", ">=", "squid-bump", 1.5),
    ("issue13.h2.mitm", "HTTP/2 requests/CPU-s >= 10x mitmproxy",
     "i_h2", "hpc", ">=", "mitmproxy", 10.0),
]

U_TARGETS = [
    ("issue14.pps.socat", "UDP loss-free datagrams/s, 100 B >= 2x socat",
     "u100", "pps", ">=", "socat", 2.0),
    ("issue14.pps.relay",
     "UDP loss-free datagrams/s, 100 B >= 0.9x minimal relay",
     "u100", "pps", ">=", "relay", 0.9),
    ("issue14.cpu.relay",
     "UDP CPU per million datagrams <= 1.15x minimal relay",
     "ucpu", "cpum", "<=", "relay", 1.15),
]

# Issue #3, from `policy_bench --json FILE`:
# {"bench": "policy", "results": [{"rules": N, "load_ms": parse + compile,
#  "ns_per_decision": X, "rss_mib": M, "linear_ns": L}, ...]}
POLICY_TARGETS = [
    ("issue3.decide", "<= 1 us per decision at 100,000 rules (ns)",
     "ns_per_decision", 1000.0),
    ("issue3.compile", "<= 1 s parse+compile at 100,000 rules (ms)",
     "load_ms", 1000.0),
]


def metrics_of(fig):
    for f, _, ms in FIGURES + I_FIGURES + U_FIGURES:
        if f == fig:
            return ms
    return []


def record_error(r):
    """Why a measurement cannot be used, or None."""
    if r.get("failed", 0):
        return r.get("first_error", "failed connections")
    if "wall_us" not in r and "tunnels" not in r:
        return r.get("first_error", "no result")
    return None


def values(r, fig):
    out = {}
    for key, _, _, fn in metrics_of(fig):
        try:
            v = fn(r)
        except (KeyError, TypeError, ZeroDivisionError):
            v = None
        if v is not None:
            out[key] = v
    return out


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit in ("1/s",):
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


def one_line():
    try:
        r = json.loads(sys.stdin.read())
    except ValueError:
        print("no result")
        return
    fig = r.get("label", "?/?/?").split("/")[0]
    err = record_error(r)
    if err:
        print("FAILED: %s" % err)
        return
    v = values(r, fig)
    parts = []
    for key, _, unit, _ in metrics_of(fig):
        if key in v:
            parts.append("%s %s" % (fmt(v[key], unit), unit))
    extra = ""
    if r.get("unfinished"):
        extra = " (%d unfinished at the time limit)" % r["unfinished"]
    print(", ".join(parts) + extra)


def load(path, floors=None):
    data = {}       # (fig, peer) -> list of (run, values)
    errors = []
    if floors is None:
        floors = []
    with open(path) as fp:
        for line in fp:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                errors.append(("?", "?", "?", "unparsable line"))
                continue
            fig, peer, run = (r.get("label", "?/?/?").split("/") + ["?"] * 3)[:3]
            if r.get("mode") == "floor":
                floors.append(r)
                continue
            err = record_error(r)
            if err:
                errors.append((fig, peer, run, err))
                continue
            data.setdefault((fig, peer), []).append((run, values(r, fig)))
    return data, errors


def summarise(data):
    """fig -> metric -> peer -> {median, runs}"""
    out = {}
    for (fig, peer), rows in data.items():
        for key, _, _, _ in metrics_of(fig):
            vs = [v[key] for _, v in rows if key in v]
            if not vs:
                continue
            out.setdefault(fig, {}).setdefault(key, {})[peer] = {
                "median": statistics.median(vs),
                "runs": vs,
                "by_run": {run: v[key] for run, v in rows if key in v},
            }
    return out


def paired_ratios(m, ref):
    """sluice / ref for each run both measured (the runs interleave the
    peers, so run N of each was taken at nearly the same time)."""
    a = m.get("sluice", {}).get("by_run", {})
    b = m.get(ref, {}).get("by_run", {})
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]


def evaluate(summary, policy_rows):
    res = []
    for tid, text, fig, key, cmp, ref, limit in (TARGETS + I_TARGETS +
                                                 U_TARGETS):
        m = summary.get(fig, {}).get(key, {})
        s = m.get("sluice", {}).get("median")
        per_run = []
        if ref is None:
            value = s
            per_run = m.get("sluice", {}).get("runs", [])
        else:
            p = m.get(ref, {}).get("median")
            value = _div(s, p) if s is not None and p else None
            per_run = paired_ratios(m, ref)
        v = _verdict(tid, text, value, cmp, limit, ref is not None)
        if per_run:
            v["per_run"] = per_run
            v["runs_passing"] = sum(
                1 for x in per_run
                if (x >= limit if cmp == ">=" else x <= limit))
        res.append(v)
    big = [r for r in policy_rows if r.get("rules") == 100000]
    for tid, text, key, limit in POLICY_TARGETS:
        value = big[0].get(key) if big else None
        res.append(_verdict(tid, text, value, "<=", limit, False))
    return res


def _verdict(tid, text, value, cmp, limit, is_ratio):
    if value is None:
        status = "n/a"
    elif cmp == ">=":
        status = "PASS" if value >= limit else "MISS"
    else:
        status = "PASS" if value <= limit else "MISS"
    return {"id": tid, "target": text, "value": value, "limit": limit,
            "ratio": is_ratio, "status": status}


def _spread(t):
    """'runs 0.98-1.12, 3 of 5 pass': how much a verdict owes to noise."""
    pr = t.get("per_run")
    if not pr or len(pr) < 2:
        return ""
    f = "%.2f" if t["ratio"] else "%.3g"
    return "runs %s-%s, %d of %d pass" % (f % min(pr), f % max(pr),
                                          t["runs_passing"], len(pr))


def policy_results(text_path, json_path):
    """policy_bench's rows (from its --json file) and its printed table."""
    rows, text = [], ""
    if text_path:
        try:
            with open(text_path) as fp:
                text = fp.read()
        except OSError:
            pass
    if json_path:
        try:
            with open(json_path) as fp:
                rows = json.load(fp).get("results", [])
        except (OSError, ValueError, AttributeError):
            rows = []
    return rows, text


def table_rows(summary, figures=None, peers=None):
    """Rows: figure, metric label, unit, values per peer, ratios."""
    figures = FIGURES if figures is None else figures
    peers = PEERS if peers is None else peers
    rows = []
    for fig, title, ms in figures:
        if fig not in summary:
            continue
        for key, label, unit, _ in ms:
            m = summary[fig].get(key)
            if not m:
                continue
            s = m.get("sluice", {}).get("median")
            vals = [m.get(p, {}).get("median") for p in peers]
            ratios = []
            for p in peers[1:]:
                pv = m.get(p, {}).get("median")
                ratios.append(_div(s, pv) if s is not None and pv else None)
            nruns = max(len(x["runs"]) for x in m.values())
            rows.append((title, label, unit, vals, ratios, nruns))
    return rows


def floor_notes(summary):
    """What the floors (connect_floor) say about the CPU targets."""
    out = []

    def med(fig, peer):
        m = summary.get(fig, {}).get("cpu1k", {})
        return m.get(peer, {}).get("median")

    fl, hp, sl = med("cps", "floor"), med("cps", "haproxy"), med("cps", "sluice")
    if fl and hp:
        out.append("CONNECT floor (connect_floor) CPU per 1,000 tunnels = "
                   "%.2fx HAProxy's per 1,000 forwarded connections: no "
                   "CONNECT proxy goes below that here" % (fl / hp))
    if fl and sl:
        out.append("sluiced = %.2fx the CONNECT floor (its own cost on top "
                   "of the kernel's)" % (sl / fl))
    fl, sl = med("t_cps", "floor"), med("t_cps", "sluice")
    hp, ng = med("t_cps", "haproxy"), med("t_cps", "nginx")
    if fl and (hp or ng):
        out.append("transparent floor (connect_floor -t) CPU per 1,000 "
                   "peeked flows = " + ", ".join(
                       "%.2fx %s" % (fl / v, n)
                       for v, n in ((hp, "HAProxy"), (ng, "nginx")) if v))
    if fl and sl:
        out.append("sluiced = %.2fx the transparent floor" % (sl / fl))
    return out


def text_table(summary, figures, peers, width=10, lw=44):
    hdr = ("%-" + str(lw) + "s %-10s") % ("figure", "unit") + "".join(
        ("%" + str(width) + "s") % p for p in peers) + "".join(
        ("%" + str(width + 1) + "s") % ("x " + p) for p in peers[1:])
    lines = [hdr, "-" * len(hdr)]
    last = None
    for title, label, unit, vals, ratios, nruns in table_rows(
            summary, figures, peers):
        if title != last:
            lines.append("%s (%d run%s):" % (title, nruns,
                                             "" if nruns == 1 else "s"))
            last = title
        lines.append(("  %-" + str(lw - 2) + "s %-10s") % (
            label[:lw - 2], unit) + "".join(
            ("%" + str(width) + "s") % fmt(v, unit) for v in vals) + "".join(
            ("%" + str(width + 1) + "s") % (fmt(r) if r is not None else "-")
            for r in ratios))
    return lines


def inspect_notes(summary, floors, meta):
    """The inspection group's floors and what it could not measure."""
    out = []

    def med(fig, key, peer):
        return summary.get(fig, {}).get(key, {}).get(peer, {}).get("median")

    for f in floors:
        cs, ss = f.get("client_side_ns", 0), f.get("server_side_ns", 0)
        if not f.get("done") or not cs or not ss:
            continue
        hs = 1e9 / (cs + ss)
        text = ("floor, %s leaf: one client-side + one server-side TLS 1.3 "
                "handshake in memory (X25519) = %.0f + %.0f us CPU: %.0f "
                "inspected handshakes/CPU-s at most" % (
                    f.get("leaf_key", "?"), cs / 1e3, ss / 1e3, hs))
        if f.get("leaf_key") == "ec":
            w = med("i_warm", "hpc", "sluice")
            n = med("i_warm", "hpc", "nginx-ref")
            parts = ["%s warm %.2fx" % (p, v / hs)
                     for p, v in (("sluice", w), ("nginx-ref", n)) if v]
            if parts:
                text += " (" + ", ".join(parts) + " of it)"
        out.append(text)
        rb = f.get("record_bytes", 0)
        rn = f.get("decrypt_ns", 0) + f.get("encrypt_ns", 0)
        if f.get("leaf_key") == "ec" and rb and rn:
            mb = rb / (rn / 1e3)
            text = ("floor: one AES-128-GCM decryption + one encryption per "
                    "byte in 16 KiB records, no system call: %.0f MB/CPU-s"
                    % mb)
            parts = ["%s %.2fx" % (p, v / mb) for p, v in (
                ("sluice", med("i_bulk", "mbpc", "sluice")),
                ("nginx-ref", med("i_bulk", "mbpc", "nginx-ref"))) if v]
            if parts:
                text += " (" + ", ".join(parts) + " of it)"
            out.append(text)
    out += [n for n in meta.get("inspect_notes", "").split("\n") if n.strip()]
    return out


def udp_notes(summary, meta):
    """The UDP group's references and what it could not measure."""
    out = []
    m = summary.get("u100", {}).get("pps", {})
    k = m.get("kernel", {}).get("median")
    for p in ("sluice", "relay", "socat"):
        v = m.get(p, {}).get("median")
        if k and v:
            out.append("%s forwards %.2fx the kernel's loss-free rate "
                       "(100 B)" % (p, v / k))
    if k:
        out.append("kernel: forwarded in softirq (no process: its cost is "
                   "in core-0 busy time only)")
    out += [n for n in meta.get("udp_notes", "").split("\n") if n.strip()]
    return out


def render_text(summary, targets, errors, meta, floors=()):
    lines = text_table(summary, FIGURES, PEERS)
    if any(f in summary for f, _, _ in I_FIGURES):
        lines.append("")
        lines.append("inspection (issue 13):")
        lines += text_table(summary, I_FIGURES, I_PEERS, 12, 52)
        lines += ["  " + n for n in inspect_notes(summary, floors, meta)]
    if (any(f in summary for f, _, _ in U_FIGURES) or
            meta.get("udp_notes", "").strip()):
        lines.append("")
        lines.append("UDP forwarding (issue 14):")
        lines += text_table(summary, U_FIGURES, U_PEERS, 10, 52)
        lines += ["  " + n for n in udp_notes(summary, meta)]
    lines.append("")
    lines.append("medians over the runs; 'x peer' = sluice / peer")
    lines.append("")
    lines.append("targets:")
    for t in targets:
        v = "-" if t["value"] is None else (
            "%.2fx" % t["value"] if t["ratio"] else fmt(t["value"]))
        lines.append("  %-5s %-58s %-7s %s" % (t["status"], t["target"], v,
                                             _spread(t)))
    notes = floor_notes(summary)
    if notes:
        lines.append("")
        lines.append("reference:")
        lines += ["  " + n for n in notes]
    if errors:
        lines.append("")
        lines.append("measurements left out:")
        for fig, peer, run, err in errors:
            lines.append("  %s %s run %s: %s" % (fig, peer, run, err))
    return "\n".join(lines)


def render_md(summary, targets, errors, meta, policy_text, floors=()):
    md = ["# sluice benchmark results", ""]
    md.append("- date: %s, %s s, up to %s runs per figure (medians)" % (
        meta.get("started", "?"), meta.get("seconds", "?"),
        meta.get("runs", "?")))
    md.append("- machine: %s, %s cores, kernel %s; load average %s at the "
              "start, %s at the end" % (
                  meta.get("cpu", "?"), meta.get("cores", "?"),
                  meta.get("kernel", "?"), meta.get("loadavg_start", "?"),
                  meta.get("loadavg_end", "?")))
    md.append("- peers: %s; %s; %s" % (meta.get("haproxy", "-"),
                                       meta.get("squid", "-"),
                                       meta.get("nginx", "-")))
    md.append("- sluice: HEAD %s, sluiced built %s" % (
        meta.get("sluice_commit", "?"), meta.get("sluiced_built", "?")))
    if meta.get("sluice_available") != "1":
        md.append("- sluiced not available: %s" % meta.get("sluice_why", ""))
    md.append("")
    md.append("| figure | runs | metric | unit | " + " | ".join(PEERS) +
              " | " + " | ".join("sluice/" + p for p in PEERS[1:]) + " |")
    md.append("|" + "---|" * (4 + len(PEERS) + len(PEERS) - 1))
    for title, label, unit, vals, ratios, nruns in table_rows(summary):
        md.append("| %s | %d | %s | %s | " % (title, nruns, label, unit) +
                  " | ".join(fmt(v, unit) for v in vals) + " | " +
                  " | ".join(fmt(r) if r is not None else "-"
                             for r in ratios) + " |")
    if any(f in summary for f, _, _ in I_FIGURES):
        md += ["", "Inspection (issue 13):", "",
               "| figure | runs | metric | unit | " + " | ".join(I_PEERS) +
               " | " + " | ".join("sluice/" + p for p in I_PEERS[1:]) + " |",
               "|" + "---|" * (4 + 2 * len(I_PEERS) - 1)]
        for title, label, unit, vals, ratios, nruns in table_rows(
                summary, I_FIGURES, I_PEERS):
            md.append("| %s | %d | %s | %s | " % (title, nruns, label, unit) +
                      " | ".join(fmt(v, unit) for v in vals) + " | " +
                      " | ".join(fmt(r) if r is not None else "-"
                                 for r in ratios) + " |")
        md.append("")
        md += ["- " + n for n in inspect_notes(summary, floors, meta)]
    if (any(f in summary for f, _, _ in U_FIGURES) or
            meta.get("udp_notes", "").strip()):
        md += ["", "UDP forwarding (issue 14):", "",
               "| figure | runs | metric | unit | " + " | ".join(U_PEERS) +
               " | " + " | ".join("sluice/" + p for p in U_PEERS[1:]) + " |",
               "|" + "---|" * (4 + 2 * len(U_PEERS) - 1)]
        for title, label, unit, vals, ratios, nruns in table_rows(
                summary, U_FIGURES, U_PEERS):
            md.append("| %s | %d | %s | %s | " % (title, nruns, label, unit) +
                      " | ".join(fmt(v, unit) for v in vals) + " | " +
                      " | ".join(fmt(r) if r is not None else "-"
                                 for r in ratios) + " |")
        md.append("")
        md += ["- " + n for n in udp_notes(summary, meta)]
    md.append("")
    md.append("| target | value | status | per run |")
    md.append("|---|---|---|---|")
    for t in targets:
        v = "-" if t["value"] is None else (
            "%.2fx" % t["value"] if t["ratio"] else fmt(t["value"]))
        md.append("| %s | %s | %s | %s |" % (t["target"], v, t["status"],
                                             _spread(t) or "-"))
    notes = floor_notes(summary)
    if notes:
        md.append("")
        md += ["- " + n for n in notes]
    if errors:
        md.append("")
        md.append("Measurements left out: " + "; ".join(
            "%s %s run %s: %s" % e for e in errors))
    if policy_text.strip():
        md += ["", "Policy engine (policy_bench):", "", "```",
               policy_text.rstrip(), "```"]
    return "\n".join(md) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--line", action="store_true")
    ap.add_argument("--raw")
    ap.add_argument("--out")
    ap.add_argument("--policy")
    ap.add_argument("--policy-json")
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()
    if a.line:
        one_line()
        return 0
    meta = dict(m.split("=", 1) for m in a.meta if "=" in m)
    meta.setdefault("report_written",
                    datetime.datetime.now(datetime.timezone.utc).isoformat())
    floors = []
    data, errors = load(a.raw, floors)
    summary = summarise(data)
    prow, ptext = policy_results(a.policy, a.policy_json)
    targets = evaluate(summary, prow)
    text = render_text(summary, targets, errors, meta, floors)
    print(text)
    with open(a.out + "/results.json", "w") as fp:
        json.dump({"meta": meta, "figures": summary, "targets": targets,
                   "left_out": [dict(zip(("figure", "peer", "run", "why"), e))
                                for e in errors],
                   "policy": prow, "floors": floors}, fp, indent=1,
                  sort_keys=True)
    with open(a.out + "/results.md", "w") as fp:
        fp.write(render_md(summary, targets, errors, meta, ptext, floors))
    print("\nwritten: %s/results.json, %s/results.md, raw: %s" % (
        a.out, a.out, a.raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
