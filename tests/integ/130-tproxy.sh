#!/bin/bash
# 130-tproxy: the TPROXY alternative of the transparent gateway (issue #4):
# `listen tproxy`, the ruleset and the policy routing printed by
# `sluicectl nft`.  The original destination comes from the accepted
# socket itself; flows are classified, decided and logged as with redirect.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
transparent_start '
set transparent-tcp-ports 443,7000
set peek-timeout 2s
set log-allowed on
rule deny-denied deny domain denied.example.test
rule lab-tls splice domain www.example.test,echo.example.test port 443
rule lab-opaque splice ip 10.2.0.4 port 7000
default deny
' tproxy

like "$(cat "$T/sluice.nft")" 'tproxy ip to 10\.1\.0\.1:3130' "sluicectl nft prints a tproxy rule for the listener"

out=$(big_https 10.2.0.2)
read -r code port <<<"$out"
is "$code" "200" "HTTPS through the TPROXY gateway: 200"
is "$(sha256_of "$T/big.out")" "$BIG_SHA" "20 MB through TPROXY: sha256 matches"
flowlog_expect "the TPROXY flow is logged with its original destination" "cli=10.1.0.2:$port" \
    event=flow.end mode=transparent proto=tls sni=www.example.test \
    dst=10.2.0.2:443 rule=lab-tls action=splice 'down>=20971520'

out=$(in_cli timeout 20 "$PY" "$PYDIR/tlshello.py" --sni denied.example.test \
    --cafile "$CA" --then tls 10.2.0.3:443 2>&1)
port=${out##* port=}
unlike "$out" '^tls-ok' "a denied SNI through TPROXY gets no handshake (${out% port=*})"
flowlog_expect "the denied TPROXY flow is logged" "cli=10.1.0.2:$port" \
    event=flow.blocked sni=denied.example.test dst=10.2.0.3:443 rule=deny-denied

{ printf '\000\377OPAQUE'; head -c 1000000 /dev/urandom; } >"$T/opaque"
in_cli timeout 30 "$PY" "$PYDIR/rawc.py" 10.2.0.4:7000 <"$T/opaque" >"$T/opaque.back"
is "$(sha256_of "$T/opaque.back")" "$(sha256_of "$T/opaque")" "opaque bytes through TPROXY pass untouched"
flowlog_expect "the opaque TPROXY flow is logged" "dst=10.2.0.4:7000" \
    event=flow.end proto=opaque rule=lab-opaque up=1000008 down=1000008

flowlog_valid
done_testing
