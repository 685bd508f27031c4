#!/bin/bash
# 154-inspect-ca: the appliance CA's life (issue 13).  `sluicectl ca init`
# makes ca.key 0600, ca.pem and ca.der with the fingerprints openssl
# computes, and refuses to replace them without --force; `sluiced -t` and
# the start refuse a world-readable, mismatched or missing key with a
# message naming the file; a reload with a broken key keeps the running
# CA (new inspected sessions still get its leaves); without a CA,
# inspect decisions on TLS follow inspect-fallback, said at start.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
S="$T/state"
mkdir -p "$S"
CTL="$BUILD/sluicectl"

out=$("$CTL" ca init --dir "$S" --cn "sluice test CA one" 2>&1)
is "$?" 0 "sluicectl ca init"
is "$(stat -c %a "$S/ca.key")" 600 "ca.key is mode 0600"
is "$(stat -c %a "$S/ca.pem") $(stat -c %a "$S/ca.der")" "644 644" "ca.pem and ca.der are 0644 (for clients)"
fp=$(openssl x509 -in "$S/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
like "$out" "$fp" "ca init prints the SHA-256 fingerprint openssl computes"
is "$(openssl x509 -in "$S/ca.der" -inform der -noout -fingerprint -sha256 | sed 's/.*=//')" \
    "$fp" "ca.der is the same certificate"
like "$("$CTL" ca show --dir "$S" 2>&1)" "$fp" "ca show prints it too"
"$CTL" ca init --dir "$S" >"$T/again.out" 2>&1
is "$?" 1 "ca init refuses to replace an existing CA without --force"
is "$(openssl x509 -in "$S/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" \
    "$fp" "and leaves it as it was"

CONF="set upstream-ca-bundle $CA
default inspect"
FLOWLOG="$T/flow.log"
sluiced_write_conf "$T/t.conf" "$CONF"
t_check() {	# run sluiced -t; sets RC and OUT
	# shellcheck disable=SC2046
	OUT=$(in_gw "$BUILD/sluiced" -t -c "$T/t.conf" $(_sluiced_opts) 2>&1)
	RC=$?
}
t_check
is "$RC" 0 "sluiced -t with the CA: ok ($OUT)"

chmod 644 "$S/ca.key"
t_check
is "$RC" 1 "sluiced -t: a group/world-readable key is refused"
like "$OUT" "ca-key '$S/ca.key' is accessible by group or others \\(mode 0644\\)" \
    "the message names the file and the mode"
chmod 600 "$S/ca.key"

mkdir -p "$T/other"
"$CTL" ca init --dir "$T/other" >/dev/null 2>&1
cp "$S/ca.key" "$T/key.good"
cp "$T/other/ca.key" "$S/ca.key"
t_check
is "$RC" 1 "sluiced -t: a key of another CA is refused"
like "$OUT" "does not belong to ca-cert" "the message says it does not match"

rm -f "$S/ca.key"
t_check
is "$RC" 1 "sluiced -t: a missing key (certificate present) is refused"
like "$OUT" "cannot open ca-key '$S/ca.key'" "the message names the missing file"
cp "$T/key.good" "$S/ca.key"
chmod 600 "$S/ca.key"

# --- running: a reload with a broken key keeps the running CA ------------
sluiced_start "$CONF"
like "$(cat "$T/sluiced.err")" "inspection: CA .*sluice test CA one.*SHA-256 $fp" \
    "the start-up log names the CA and its fingerprint"
issuer() {
	in_cli timeout 10 openssl s_client -proxy 10.1.0.1:3128 \
	    -connect www.example.test:443 -servername www.example.test \
	    </dev/null 2>/dev/null | openssl x509 -noout -issuer 2>/dev/null
}
like "$(issuer)" "sluice test CA one" "inspected with the CA"
chmod 644 "$S/ca.key"
n0=$(grep -c 'reload failed' "$T/sluiced.err")
kill -HUP "$SLUICED_PID"
wait_for 10 test "$(grep -c 'reload failed' "$T/sluiced.err")" -gt "$n0"
like "$(tail -n 5 "$T/sluiced.err")" "accessible by group or others" \
    "the reload is refused, saying why"
check sluiced_alive "sluiced keeps running"
like "$(issuer)" "sluice test CA one" "new sessions still get leaves from the running CA"
chmod 600 "$S/ca.key"
sluiced_stop

# --- no CA: inspect-fallback, said at start ------------------------------
rm -f "$S/ca.key" "$S/ca.pem" "$S/ca.der"
: >"$T/sluiced.err"
sluiced_start "set log-allowed on
$CONF"
like "$(cat "$T/sluiced.err")" "inspection: no CA \\(none in state-dir\\): TLS flows decided inspect are spliced and logged \\(inspect-fallback\\)" \
    "without a CA, the start says what inspect decisions become"
like "$(issuer)" "sluice integration test CA" "the origin's own certificate: spliced"
flowlog_expect "logged inspect_unavailable" "event=flow.end sni=www.example.test" \
    action=splice reason=inspect_unavailable
done_testing
