#!/bin/bash
# 131-mixed-kinds: a gateway whose IPv4 clients are redirected (`listen
# transparent`) and whose IPv6 clients are TPROXYed (`listen tproxy`), one
# ruleset from `sluicectl nft` (136 checks its text; this sends traffic
# through it).  Before the fix the IPv6 family got no rule at all and its
# flows went past sluiced unseen.  Both families: TLS spliced by SNI,
# opaque bytes passed untouched, each flow logged with its original
# destination by the listener of its family.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

DNS_EXTRA='--host-record=echo6.example.test,fd00:2::4'
servers_up
tcp_server_start echo6 'echo@[fd00:2::4]:443'
transparent_start '
set transparent-tcp-ports 443,7000
set peek-timeout 2s
set log-allowed on
rule lab-tls splice domain www.example.test,echo6.example.test port 443
rule lab-opaque splice ip 10.2.0.4,fd00:2::4 port 7000
default deny
' mixed

like "$(cat "$T/sluice.nft")" 'dnat ip to 10\.1\.0\.1:3129' \
    "the ruleset redirects IPv4 to the transparent listener"
like "$(cat "$T/sluice.nft")" 'tproxy ip6 to \[fd00:1::1\]:3130' \
    "and TPROXYs IPv6 to the tproxy listener"

# --- IPv4, redirected ------------------------------------------------------
out=$(big_https 10.2.0.2)
read -r code port <<<"$out"
is "$code" "200" "IPv4 HTTPS through the redirect: 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "IPv4: 20 MB intact"
flowlog_expect "IPv4: spliced and logged with its original destination" \
    "cli=10.1.0.2:$port" event=flow.end mode=transparent proto=tls \
    sni=www.example.test dst=10.2.0.2:443 rule=lab-tls action=splice \
    'down>=20971520'

# --- IPv6, TPROXYed --------------------------------------------------------
out=$(in_cli timeout 20 "$PY" "$PYDIR/tlshello.py" --sni echo6.example.test \
    --then echo '[fd00:2::4]:443' 2>&1)
port=${out##* port=}
like "$out" '^echo-ok' "IPv6 TLS hello through TPROXY reaches the echo server (${out% port=*})"
flowlog_expect "IPv6: spliced and logged with its original destination" \
    "cli=[fd00:1::2]:$port" event=flow.end mode=transparent proto=tls \
    sni=echo6.example.test 'dst=[fd00:2::4]:443' rule=lab-tls action=splice

# --- opaque bytes, both families -------------------------------------------
{ printf '\000\377OPAQUE'; head -c 500000 /dev/urandom; } >"$T/opaque"
for ep in 10.2.0.4:7000 '[fd00:2::4]:7000'; do
	in_cli timeout 30 "$PY" "$PYDIR/rawc.py" "$ep" <"$T/opaque" >"$T/opaque.back"
	is "$(sha256_of "$T/opaque.back")" "$(sha256_of "$T/opaque")" \
	    "opaque bytes to $ep pass untouched"
	flowlog_expect "the opaque flow to $ep is logged" "dst=$ep" \
	    event=flow.end proto=opaque rule=lab-opaque up=500008 down=500008
done

flowlog_valid
sanitizer_check
done_testing
