#!/bin/bash
# 046-dns-exact-name: the name decided is the name resolved (issue 12 item
# 4).  gw's resolv.conf says `search corp.test`; dnsmasq knows
# intranet.corp.test (10.2.0.3, nginx) and says NXDOMAIN for the short
# name "intranet".  A rule admits the short name, as an allow-all default
# would, and `deny domain *.corp.test` refuses the long one.  The policy
# decided on "intranet", so sluiced must ask for "intranet" and nothing
# else: 502 dns_nxdomain for GET http://intranet/, CONNECT intranet:443 and
# http://intranet./, no query for intranet.corp.test at dnsmasq, nothing at
# nginx; the long name is refused 403 by the rule.  Transparent flows with
# SNI or Host "intranet" sent to 10.2.0.3 have their name checked with the
# same lookup: it fails (sni_mismatch, host_mismatch) and the default
# refuses them.
# Before the fix c-ares asked for intranet.corp.test and all of these
# reached nginx.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by dns_start in lib.sh
DNS_EXTRA=--log-queries		# which names sluiced asked for
servers_up
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 intranet A)" "NXDOMAIN" \
    "dns: the short name 'intranet' does not exist"
is "$(in_cli "$PY" "$PYDIR/dnsq.py" 10.2.0.53 intranet.corp.test A)" \
    "NOERROR 10.2.0.3" "dns: intranet.corp.test is 10.2.0.3"
gw_etc resolv.conf 'search corp.test
nameserver 10.2.0.53'
check "in_gw grep -q 'search corp.test' /etc/resolv.conf" \
    "processes in gw see the search list"
# The search list works for the system resolver in gw (what c-ares used
# to follow): the short name finds the corp.test host.
like "$(in_gw getent ahostsv4 intranet 2>&1)" '^10\.2\.0\.3 ' \
    "getent in gw resolves 'intranet' through the search list"
CORP0=$(grep -c 'query\[[A-Z]*\] intranet\.corp\.test' "$T/dnsmasq.log")

transparent_start '
set log-allowed on
rule corp deny domain *.corp.test
rule short splice domain intranet
rule lab splice domain *.example.test
default deny
'

# send REQUEST-LINE HOST: one request through the explicit proxy; sets
# STATUS and PORT (the client's port).
send() {
	in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
	    "$1 HTTP/1.1\\r\\nHost: $2\\r\\n\\r\\n" >"$T/resp" 2>&1
	read -r STATUS PORT <"$T/resp"
}

# Queries for the long name at dnsmasq since getent's.
corp_queries() {
	echo $(($(grep -c 'query\[[A-Z]*\] intranet\.corp\.test' \
	    "$T/dnsmasq.log") - CORP0))
}
probes() {
	grep -c 'intranet-probe' "$T/nginx/access.log"
}

# --- explicit proxy: the short name -------------------------------------
send "GET http://intranet/intranet-probe" "intranet"
is "$STATUS" "502" "GET http://intranet/: 502, the short name does not exist"
flowlog_expect "GET http://intranet/: flow.error dns_nxdomain" \
    "cli=10.1.0.2:$PORT" event=flow.error method=GET host=intranet \
    status=502 reason=dns_nxdomain rule=short

send "CONNECT intranet:443" "intranet:443"
is "$STATUS" "502" "CONNECT intranet:443: 502"
flowlog_expect "CONNECT intranet:443: flow.error dns_nxdomain" \
    "cli=10.1.0.2:$PORT" event=flow.error method=CONNECT host=intranet \
    status=502 reason=dns_nxdomain

send "GET http://intranet./intranet-probe" "intranet."
is "$STATUS" "502" "GET http://intranet./ (absolute form): 502"
flowlog_expect "GET http://intranet./: flow.error dns_nxdomain" \
    "cli=10.1.0.2:$PORT" event=flow.error method=GET host=intranet \
    status=502 reason=dns_nxdomain

send "CONNECT intranet.:443" "intranet.:443"
is "$STATUS" "502" "CONNECT intranet.:443: 502"

check "grep -q 'query\[A\] intranet from 10.2.0.1$' '$T/dnsmasq.log'" \
    "sluiced asked dnsmasq for 'intranet' itself"
is "$(corp_queries)" "0" "no query for intranet.corp.test reached dnsmasq"
is "$(probes)" "0" "nothing reached nginx on the corp.test host"

# --- the long name is the rule's ------------------------------------------
send "GET http://intranet.corp.test/intranet-probe" "intranet.corp.test"
is "$STATUS" "403" "GET http://intranet.corp.test/: 403 by the rule"
flowlog_expect "the long name: flow.blocked rule=corp" "cli=10.1.0.2:$PORT" \
    event=flow.blocked host=intranet.corp.test rule=corp reason=policy \
    status=403
send "CONNECT intranet.corp.test:443" "intranet.corp.test:443"
is "$STATUS" "403" "CONNECT intranet.corp.test:443: 403 by the rule"

# --- transparent: the name check asks for the same name -------------------
tp_curl -k --resolve intranet:443:10.2.0.3 https://intranet/intranet-probe
is "$CODE" "000" "transparent TLS, SNI 'intranet' to 10.2.0.3: refused (reset)"
flowlog_expect "transparent TLS: flow.blocked sni_mismatch, by the default" \
    "cli=10.1.0.2:${CPORT:-none}" event=flow.blocked mode=transparent \
    sni=intranet reason=sni_mismatch rule=default

tp_curl --resolve intranet:80:10.2.0.3 http://intranet/intranet-probe
is "$CODE" "403" "transparent HTTP, Host 'intranet' to 10.2.0.3: 403"
flowlog_expect "transparent HTTP: flow.blocked host_mismatch" \
    "cli=10.1.0.2:${CPORT:-none}" event=flow.blocked mode=transparent \
    host=intranet reason=host_mismatch status=403

is "$(corp_queries)" "0" "still no query for intranet.corp.test"
is "$(probes)" "0" "still nothing at nginx"

# --- names that exist are served as before --------------------------------
out=$(in_cli curl -sS --max-time 10 --proxy "$PROXY4" \
    http://www.example.test/hello 2>&1)
is "$out" "hello from www.example.test" "a name that exists: served"

flowlog_valid
done_testing
