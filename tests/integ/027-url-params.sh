#!/bin/bash
# 027-url-params: url rules and ';' path parameters (issue 12 item 9).
# "deny url www.example.test/secret" did not match /x/..;/secret,
# /;/secret or /.;/secret, which Tomcat-style origins read as /secret
# (they remove ";..." from every segment before they resolve dot
# segments).  A deny rule now holds when the path matches as nginx reads
# it or with its parameters removed; a splice or inspect url rule only
# when both readings match, so "/pub/..;/secret" no longer buys the
# splice rule for /pub/ that comes first.  Every such request is refused
# 403 by the deny rule, explicit and transparent; other paths are
# forwarded as sent, parameters and all; explain agrees.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
mkdir -p "$T/nginx/www/pub" && printf 'pub page\n' >"$T/nginx/www/pub/page" &&
    printf 'secret stuff\n' >"$T/nginx/www/secret" &&
    printf 'secre page\n' >"$T/nginx/www/secre" ||
    setup_fail "cannot write the pages under $T/nginx/www"
transparent_start '
set transparent-tcp-ports 80
set log-allowed on
rule pub splice url www.example.test/pub/
rule no-secret deny url www.example.test/secret
rule lab splice domain *.example.test
default deny
'

# req TARGET [ENDPOINT]: raw_get (lib.sh): sets STATUS, PORT and BODY.
req() { raw_get "$@"; }

U=http://www.example.test

# --- explicit: every reading that is /secret is refused --------------------
for p in /secret /x/..\;/secret /\;/secret /.\;/secret '/secret;jsessionid=1' \
    /x/..\;a=b/secret /a/\;/../secret '/x;v=1/..;/secret' /%3B/secret \
    /%3b/secret /x/..%3B/secret /%253B/secret '/secret%3Bjsessionid=1' \
    /pub/..\;/secret /pub/..\;/..\;/secret; do
	req "$U$p"
	is "$STATUS" "403" "explicit GET $p: 403"
	flowlog_expect "explicit $p: flow.blocked by no-secret" \
	    "cli=10.1.0.2:$PORT" event=flow.blocked mode=explicit \
	    host=www.example.test action=deny rule=no-secret reason=policy \
	    status=403
done

# --- explicit: other paths pass, as sent ------------------------------------
req "$U/pub/page"
is "$STATUS $BODY" "200 pub page" "explicit GET /pub/page: 200 by the splice url rule"
flowlog_expect "explicit /pub/page: flow.end by pub" "cli=10.1.0.2:$PORT" \
    event=flow.end action=splice rule=pub status=200
# Both readings are under /pub/: the splice rule applies, the origin gets
# the parameter (nginx has no such file).
req "$U/pub/page;jsessionid=1"
is "$STATUS" "404" "explicit GET /pub/page;jsessionid=1: forwarded (origin's 404)"
flowlog_expect "explicit /pub/page;jsessionid=1: flow.end by pub" \
    "cli=10.1.0.2:$PORT" event=flow.end action=splice rule=pub status=404
# Under /pub/ for nginx only: not the splice rule, the next that matches.
req "$U/pub/..;/secre"
is "$STATUS" "404" "explicit GET /pub/..;/secre: forwarded (origin's 404)"
flowlog_expect "explicit /pub/..;/secre: decided by lab, not pub" \
    "cli=10.1.0.2:$PORT" event=flow.end action=splice rule=lab status=404
for p in /secre /x/..\;/secre '/secre;x=/secret' '/secre?;/secret' \
    '/secre?a=/..;/secret'; do
	req "$U$p"
	like "$STATUS" '^(200|404)$' "explicit GET $p: forwarded ($STATUS)"
	flowlog_expect "explicit $p: flow.end by lab" "cli=10.1.0.2:$PORT" \
	    event=flow.end action=splice rule=lab
done
req "$U/secre"
is "$STATUS $BODY" "200 secre page" "explicit GET /secre: the origin served /secre"
sleep 0.3
like "$(cat "$T/nginx/access.log")" '"GET /x/\.\.;/secre HTTP/1\.1"' \
    "the origin received /x/..;/secre as sent"
like "$(cat "$T/nginx/access.log")" '"GET /pub/page;jsessionid=1 HTTP/1\.1"' \
    "the origin received /pub/page;jsessionid=1 as sent"
is "$(grep -cvE '"GET (/pub/page|/pub/page;jsessionid=1|/pub/\.\.;/secre|/secre|/x/\.\.;/secre|/secre;x=/secret|/secre\?[^ ]*) HTTP' \
    "$T/nginx/access.log")" "0" "the origin never saw a request the rule refused"

# --- transparent port 80: the same rules -----------------------------------
for p in /x/..\;/secret /\;/secret /.\;/secret '/secret;jsessionid=1' \
    /%3B/secret /pub/..\;/secret; do
	req "$p" 10.2.0.2:80
	is "$STATUS" "403" "transparent GET $p: 403"
	flowlog_expect "transparent $p: flow.blocked by no-secret" \
	    "cli=10.1.0.2:$PORT" event=flow.blocked mode=transparent \
	    rule=no-secret action=deny status=403
done
req /pub/page 10.2.0.2:80
is "$STATUS $BODY" "200 pub page" "transparent GET /pub/page: 200"
req '/pub/page;v=1' 10.2.0.2:80
is "$STATUS" "404" "transparent GET /pub/page;v=1: forwarded (origin's 404)"
flowlog_expect "transparent /pub/page;v=1: flow.end by pub" \
    "cli=10.1.0.2:$PORT" event=flow.end mode=transparent rule=pub status=404
sleep 0.3
is "$(grep -cvE '"GET (/pub/page|/pub/page;jsessionid=1|/pub/page;v=1|/pub/\.\.;/secre|/secre|/x/\.\.;/secre|/secre;x=/secret|/secre\?[^ ]*) HTTP' \
    "$T/nginx/access.log")" "0" "nor transparently"

# --- explain decides as the daemon does -------------------------------------
out=$("$BUILD/sluicectl" explain -c "$SLUICED_CONF" --name www.example.test \
    --url 'www.example.test/pub/..;/secret' 2>&1)
like "$out" 'rule: no-secret ' "explain /pub/..;/secret: no-secret"
like "$out" "pub at .*: url: 'www.example.test/pub/\.\.;/secret' and '/secret' \(';' parameters removed\) are not both listed" \
    "explain says why the splice url rule did not match"
out=$("$BUILD/sluicectl" explain -c "$SLUICED_CONF" --name www.example.test \
    --url 'www.example.test/pub/page;v=1' 2>&1)
like "$out" 'rule: pub ' "explain /pub/page;v=1: pub"

flowlog_valid
sanitizer_check
done_testing
