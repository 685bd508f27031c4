#!/bin/bash
# 026-url-normalise: a url rule matches the path as the origin routes on
# it (red team H5: "deny url www.example.test/hello" was passed by
# /%68ello, //hello, /./hello, /x/../hello and /%2fhello, which nginx
# serves as /hello).  Escapes are decoded, slashes merged and dot segments
# removed for matching only (decoded again while escapes are left, as an
# origin that decodes twice reads them, and '\' taken for '/', as IIS
# does): every such request is refused 403 naming the rule, explicit and
# transparent; paths that do not normalise to the prefix are forwarded
# byte for byte; a path with a malformed escape or %00 (or %2500) gets
# 400 bad_path; rule patterns are normalised the same way.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
# A page next to /hello that the rule must not catch.
printf 'hell from www.example.test\n' >"$T/nginx/www/hell" ||
    setup_fail "cannot write $T/nginx/www/hell"
transparent_start '
set transparent-tcp-ports 80
set log-allowed on
rule no-hello deny url www.example.test/hello
rule lab splice domain *.example.test
default deny
'

# req TARGET [ENDPOINT]: raw_get (lib.sh): sets STATUS, PORT and BODY.
req() { raw_get "$@"; }

U=http://www.example.test

# --- explicit: every bypass form is the rule's path ----------------------
for p in /hello /%68ello /%68%65llo //hello /./hello /x/../hello /%2fhello \
    /%2Fhello /x/%2e%2e/hello /x%2f..%2fhello '/.%2e/hello' /hello/ \
    '/hello?x=1' /hellox /%2568ello /%25252568ello /x%252F..%252Fhello \
    '/x\\..\\hello' /x%5C..%5Chello /x%255c..%255chello; do
	req "$U$p"
	is "$STATUS" "403" "explicit GET $p: 403"
	flowlog_expect "explicit $p: flow.blocked by no-hello" \
	    "cli=10.1.0.2:$PORT" event=flow.blocked mode=explicit \
	    host=www.example.test action=deny rule=no-hello reason=policy \
	    status=403
done

# --- explicit: paths that are not the prefix pass, as sent -----------------
for p in /hell /%68ell /hello/../hell '/hell?/hello' '/hell?x=/%68ello'; do
	req "$U$p"
	is "$STATUS" "200" "explicit GET $p: 200"
	like "$BODY" '^hell from' "explicit GET $p: the origin served /hell"
	flowlog_expect "explicit $p: flow.end by lab" "cli=10.1.0.2:$PORT" \
	    event=flow.end action=splice rule=lab status=200
done
req "$U/HELLO"
is "$STATUS" "404" "explicit GET /HELLO: forwarded (paths are case-sensitive), origin's 404"
# nginx logs the request line it received: nothing was rewritten.
sleep 0.3
like "$(cat "$T/nginx/access.log")" '"GET /%68ell HTTP/1\.1"' \
    "the origin received /%68ell as sent (not decoded)"
like "$(cat "$T/nginx/access.log")" '"GET /hello/\.\./hell HTTP/1\.1"' \
    "the origin received /hello/../hell as sent (dot segments kept)"
is "$(grep -cvE '"GET (/hell|/%68ell|/hello/\.\./hell|/hell\?[^ ]*|/HELLO) HTTP' \
    "$T/nginx/access.log")" "0" "the origin never saw a request the rule refused"

# --- malformed escapes and NUL: refused, not guessed ----------------------
for p in /%zz /hello%00 '/%00/hello' /hel% '/%u0068ello' /%2500hello; do
	req "$U$p"
	is "$STATUS" "400" "explicit GET $p: 400"
	flowlog_expect "explicit $p: flow.error bad_path" "cli=10.1.0.2:$PORT" \
	    event=flow.error reason=bad_path status=400
done

# --- transparent port 80: the same rule, the same normalisation -----------
for p in /x/../hello /%68ello //hello /%2568ello '/x\\..\\hello'; do
	req "$p" 10.2.0.2:80
	is "$STATUS" "403" "transparent GET $p: 403"
	flowlog_expect "transparent $p: flow.blocked by no-hello" \
	    "cli=10.1.0.2:$PORT" event=flow.blocked mode=transparent \
	    rule=no-hello action=deny status=403
done
req /./hell 10.2.0.2:80
is "$STATUS" "200" "transparent GET /./hell: 200"
like "$BODY" '^hell from' "transparent GET /./hell: the origin served /hell"

# --- rule patterns: normalised at load, explain agrees with the daemon -----
printf 'rule p deny url www.example.test/x/%%2e%%2e/%%68ello/./\ndefault splice\n' \
    >"$T/pat.conf"
out=$("$BUILD/sluicectl" explain -c "$T/pat.conf" --name www.example.test \
    --url www.example.test//hello/a 2>&1)
like "$out" 'rule: p ' "a pattern with escapes and dot segments is /hello/ (explain //hello/a)"
out=$("$BUILD/sluicectl" explain -c "$T/pat.conf" --name www.example.test \
    --url www.example.test/hello 2>&1)
unlike "$out" 'rule: p ' "the pattern /hello/ does not take /hello"
printf 'rule p deny url www.example.test/%%zz\n' >"$T/bad.conf"
out=$("$BUILD/sluicectl" check "$T/bad.conf" 2>&1)
like "$out" "bad.conf:1:[0-9]+: error: invalid escape in url" \
    "a pattern with a malformed escape is an error"

flowlog_valid
sanitizer_check
done_testing
