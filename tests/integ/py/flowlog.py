#!/usr/bin/python3
"""flowlog.py — read and check sluiced's JSON flow log (schema v1).

  flowlog.py expect FILE SELECT CHECK...   wait up to 5 s (FLOWLOG_WAIT) for
                                           the last event matching SELECT,
                                           assert CHECKs
  flowlog.py last FILE [SELECT]            print the last matching event
  flowlog.py grep FILE [SELECT]            print every matching event
  flowlog.py count FILE [SELECT]           print how many events match
  flowlog.py validate FILE                 every line is a valid v1 event
  flowlog.py losses FILE                   print "EVENTS DROPPED TOTAL": the
                                           events other than log.dropped,
                                           the sum of log.dropped's dropped
                                           and the last dropped_total

FLOWLOG_SINCE=N in the environment ignores events on lines 1..N (take N
with `wc -l < FILE` before a request).  The per-request events of HTTP
connections (flow.request) are selected only by a SELECT that names them
(event=flow.request): every other SELECT looks at the flows' own events.  SELECT is one argument of
blank-separated conditions; a CHECK is one
condition.  Conditions: key=value (string compare; numbers as decimal,
null as "null"), key!=value, key~ERE (re.search), key>=N, key<=N,
key? (present and not empty/null).  A CHECK may join alternatives with
" || " (it passes if one does).
"""

import json
import os
import re
import sys
import time

EVENTS = {"flow.end", "flow.blocked", "flow.error", "flow.request"}
MODES = {"explicit", "transparent"}
PROTOS = {"tls", "http", "stun", "opaque", "none", "udp", "quic"}
DROP_REASONS = {"no_space", "closed", "write_error"}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# "10.1.0.2:5000" or "[fd00:1::2]:5000"
EP_RE = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]):\d{1,5}$")
COND_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(=|!=|~|>=|<=|\?)(.*)$")


def load(path):
    """Events of the file, as (lineno, dict-or-None, raw line)."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out
    for i, raw in enumerate(data.split(b"\n"), 1):
        if not raw:
            continue
        try:
            ev = json.loads(raw.decode("utf-8"))
            if not isinstance(ev, dict):
                ev = None
        except (ValueError, UnicodeDecodeError):
            ev = None
        out.append((i, ev, raw))
    return out


def show(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def parse_cond(c):
    m = COND_RE.match(c)
    if not m:
        raise SystemExit("bad condition %r" % c)
    return m.group(1), m.group(2), m.group(3)


def test(ev, cond):
    """(passed, explanation) for one condition on one event."""
    if " || " in cond:
        res = [test(ev, c) for c in cond.split(" || ")]
        return any(r[0] for r in res), " and ".join(r[1] for r in res)
    key, op, want = parse_cond(cond)
    present = key in ev
    got = ev.get(key)
    if op == "?":
        return (present and got not in (None, "")), "%s=%s" % (
            key, show(got) if present else "<absent>")
    if not present:
        return False, "%s is absent (wanted %s%s)" % (key, op, want)
    g = show(got)
    if op == "=":
        ok = g == want
    elif op == "!=":
        ok = g != want
    elif op == "~":
        ok = re.search(want, g) is not None
    else:
        try:
            n = float(got)
            ok = n >= float(want) if op == ">=" else n <= float(want)
        except (TypeError, ValueError):
            ok = False
    return ok, "%s is %r (wanted %s%s)" % (key, got, op, want)


def matches(ev, sel):
    return all(test(ev, c)[0] for c in sel)


def select(path, sel):
    # FLOWLOG_SINCE=N: only events on lines after N (what a request wrote,
    # not an older flow that happened to use the same client port).
    since = int(os.environ.get("FLOWLOG_SINCE", "0"))
    requests = "event=flow.request" in sel
    return [ev for n, ev, _ in load(path)
            if n > since and ev is not None and matches(ev, sel) and
            (requests or ev.get("event") != "flow.request")]


def cmd_expect(path, sel_s, checks):
    sel = sel_s.split()
    for c in sel + checks:
        for alt in c.split(" || "):
            parse_cond(alt)
    deadline = time.monotonic() + float(os.environ.get("FLOWLOG_WAIT", "5"))
    while True:
        evs = select(path, sel)
        if evs:
            break
        if time.monotonic() > deadline:
            print("no flow log event matches: %s" % sel_s)
            evs = [ev for _, ev, _ in load(path) if ev is not None]
            print("%d events in the log; the last ones:" % len(evs))
            for ev in evs[-4:]:
                print("  " + json.dumps(ev, sort_keys=True))
            return 1
        time.sleep(0.05)
    ev = evs[-1]
    bad = []
    for c in checks:
        ok, why = test(ev, c)
        if not ok:
            bad.append(why)
    if bad:
        print("event: " + json.dumps(ev, sort_keys=True))
        for b in bad:
            print("  " + b)
        return 1
    return 0


def check_event(ev):
    """Problems with one event against schema v1 (docs/logs.md); an empty
    list if none."""
    p = []
    if ev.get("v") != 1:
        p.append("v is %r, not 1" % ev.get("v"))
    if not isinstance(ev.get("ts"), str) or not TS_RE.match(ev["ts"]):
        p.append("ts %r is not RFC 3339 UTC with ms" % ev.get("ts"))
    if ev.get("event") == "log.dropped":
        for k in ("dropped", "dropped_total"):
            if not isinstance(ev.get(k), int) or isinstance(ev.get(k), bool):
                p.append("log.dropped without an integer %s" % k)
        # A write failure's report says why and since when (absent: the
        # queue was full).
        if "reason" in ev and ev["reason"] not in DROP_REASONS:
            p.append("log.dropped reason %r unknown" % ev["reason"])
        if "since" in ev and (not isinstance(ev["since"], str) or
                              not TS_RE.match(ev["since"])):
            p.append("since %r is not RFC 3339 UTC with ms" % ev["since"])
        if ("reason" in ev) != ("since" in ev):
            p.append("log.dropped with only one of reason and since")
        return p
    if ev.get("event") not in EVENTS:
        p.append("event %r unknown" % ev.get("event"))
    fl = ev.get("flow")
    if isinstance(fl, bool) or not isinstance(fl, int) or fl < 0:
        p.append("flow id %r is not a non-negative integer" % fl)
    if ev.get("mode") not in MODES:
        p.append("mode %r unknown" % ev.get("mode"))
    if not isinstance(ev.get("cli"), str) or not EP_RE.match(ev["cli"]):
        p.append("cli %r is not ip:port" % ev.get("cli"))
    if "dst" in ev and (not isinstance(ev["dst"], str) or
                        not EP_RE.match(ev["dst"])):
        p.append("dst %r is not ip:port" % ev["dst"])
    for k in ("up", "down", "ms", "status", "dst_port", "req", "requests",
              "pkts_up", "pkts_down", "count"):
        if k in ev and (isinstance(ev[k], bool) or
                        not isinstance(ev[k], int) or ev[k] < 0):
            p.append("%s %r is not a non-negative integer" % (k, ev[k]))
    if "status" in ev and not 100 <= ev["status"] <= 599:
        p.append("status %r is not an HTTP status" % ev["status"])
    if "dst_port" in ev and not 0 < ev["dst_port"] < 65536:
        p.append("dst_port %r out of range" % ev["dst_port"])
    if "term" in ev and (not isinstance(ev["term"], str) or
                         not re.match(r"^[CSPTRAI][AHPNCRD-]$", ev["term"])):
        p.append("term %r is not a documented two-letter code" % ev["term"])
    for k in ("method", "host", "sni", "action", "rule", "reason", "level",
              "path"):
        if k in ev and (not isinstance(ev[k], str) or ev[k] == ""):
            p.append("%s %r is not a non-empty string" % (k, ev[k]))
    if "action" in ev and ev["action"] not in ("splice", "inspect", "deny"):
        p.append("action %r unknown" % ev["action"])
    if "proto" in ev and ev["proto"] not in PROTOS:
        p.append("proto %r unknown" % ev["proto"])
    if "trunc" in ev and ev["trunc"] is not True:
        p.append("trunc %r present but not true" % ev["trunc"])
    if ev.get("event") == "flow.blocked" and ev.get("action") != "deny":
        p.append("flow.blocked with action %r" % ev.get("action"))
    if ev.get("event") in ("flow.blocked", "flow.error") and "reason" not in ev:
        p.append("%s without a reason" % ev.get("event"))
    if ev.get("event") == "flow.request" and (not ev.get("req") or
                                              "term" in ev):
        p.append("flow.request without its request number, or with a term")
    return p


def cmd_validate(path):
    evs = load(path)
    if not evs:
        print("the flow log %s is empty or missing" % path)
        return 1
    bad = 0
    for i, ev, raw in evs:
        if ev is None:
            print("line %d is not a JSON object: %r" % (i, raw[:200]))
            bad += 1
            continue
        for prob in check_event(ev):
            print("line %d: %s" % (i, prob))
            bad += 1
        if bad > 20:
            break
    if bad:
        return 1
    print("%d events" % len(evs))
    return 0


def cmd_losses(path):
    events = dropped = total = 0
    for _, ev, _ in load(path):
        if ev is None:
            continue
        if ev.get("event") == "log.dropped":
            dropped += ev.get("dropped", 0)
            total = ev.get("dropped_total", 0)
        else:
            events += 1
    print("%d %d %d" % (events, dropped, total))
    return 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, path = argv[1], argv[2]
    rest = argv[3:]
    if cmd == "expect":
        if not rest:
            print("expect needs SELECT", file=sys.stderr)
            return 2
        return cmd_expect(path, rest[0], rest[1:])
    if cmd == "validate":
        return cmd_validate(path)
    if cmd == "losses":
        return cmd_losses(path)
    sel = rest[0].split() if rest else []
    evs = select(path, sel)
    if cmd == "count":
        print(len(evs))
    elif cmd == "last":
        if evs:
            print(json.dumps(evs[-1], sort_keys=True))
    elif cmd == "grep":
        for ev in evs:
            print(json.dumps(ev, sort_keys=True))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
