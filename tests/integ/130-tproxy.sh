#!/bin/bash
# 130-tproxy: the TPROXY alternative to the redirect (issue #4).  The
# listener is IP_TRANSPARENT, the original destination is the accepted
# socket's own local address, the ruleset comes from `sluicectl nft` and
# the policy routing it prints is applied as printed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
SLUICED_HEADER='listen tproxy *:3130
listen explicit 10.1.0.1:3128
resolver 10.2.0.53
set nft-interfaces g0
set nft-clients 10.1.0.0/24,fd00:1::/64'
sluiced_start '
set transparent-tcp-ports 443,7000
set log-allowed on
rule no-denied deny domain denied.example.test
rule lab-tls splice domain *.example.test port 443
rule lab-echo splice ip 10.2.0.4,fd00:2::4 port 7000
default deny
'
"$BUILD/sluicectl" nft -c "$SLUICED_CONF" >"$T/sluice.nft" 2>"$T/nft.err" ||
    setup_fail "sluicectl nft failed" "$(cat "$T/nft.err")"
like "$(cat "$T/sluice.nft")" 'tproxy ip to :3130' "the ruleset TPROXYs IPv4 to the listener"
like "$(cat "$T/sluice.nft")" 'tproxy ip6 to :3130' "and IPv6"
out=$(in_gw nft -f "$T/sluice.nft" 2>&1) ||
    setup_fail "nft -f rejects the tproxy ruleset" "$out" "$(cat -n "$T/sluice.nft")"
# The policy routing the ruleset prints, as printed.
sed -n 's/^#   \(ip .*\)$/\1/p' "$T/sluice.nft" >"$T/routing"
is "$(wc -l <"$T/routing")" "4" "sluicectl nft prints the four policy-routing commands"
while read -r cmd; do
	# shellcheck disable=SC2086
	in_gw $cmd || setup_fail "policy routing: $cmd"
done <"$T/routing"

head -c 2000000 /dev/urandom >"$T/p.bin"
in_cli timeout 30 "$PY" "$PYDIR/rawc.py" 10.2.0.4:7000 <"$T/p.bin" >"$T/p.back" 2>"$T/p.err"
is "$(sha256_of "$T/p.back")" "$(sha256_of "$T/p.bin")" "IPv4 through TPROXY: 2 MB echoed unchanged"
flowlog_expect "the TPROXYed IPv4 flow is logged with its original destination" \
    "dst=10.2.0.4:7000 event=flow.end" mode=transparent rule=lab-echo \
    action=splice up=2000000 down=2000000

in_cli timeout 30 "$PY" "$PYDIR/rawc.py" '[fd00:2::4]:7000' <"$T/p.bin" >"$T/p6.back" 2>"$T/p6.err"
is "$(sha256_of "$T/p6.back")" "$(sha256_of "$T/p.bin")" "IPv6 through TPROXY: 2 MB echoed unchanged"
flowlog_expect "the TPROXYed IPv6 flow is logged" "dst=[fd00:2::4]:7000 event=flow.end" \
    mode=transparent rule=lab-echo action=splice

out=$(in_cli timeout 20 curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' \
    --resolve www.example.test:443:10.2.0.2 https://www.example.test/hello 2>&1)
is "$out" "200" "HTTPS to a whitelisted SNI through TPROXY"
flowlog_expect "spliced by SNI through TPROXY" "sni=www.example.test event=flow.end" \
    mode=transparent rule=lab-tls action=splice dst=10.2.0.2:443

out=$(in_cli timeout 20 curl -sS --cacert "$CA" -o /dev/null \
    --resolve denied.example.test:443:10.2.0.3 https://denied.example.test/ 2>&1)
like "$out" 'reset|SSL_ERROR_SYSCALL|Connection reset|error' "a denied SNI through TPROXY is cut off"
flowlog_expect "the denied SNI is logged" "sni=denied.example.test" \
    event=flow.blocked rule=no-denied action=deny

# A client connecting to sluiced's TPROXY port directly is not a flow
# to anywhere: it is a loop, refused.
out=$(in_cli timeout 5 "$PY" "$PYDIR/rawc.py" 10.1.0.1:3130 </dev/null 2>&1)
flowlog_expect "a direct connection to the TPROXY listener is refused as a loop" \
    "dst=10.1.0.1:3130" event=flow.blocked reason=loop

sanitizer_check
done_testing
