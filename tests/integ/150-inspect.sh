#!/bin/bash
# 150-inspect: TLS inspection (issue 13), HTTP/1.1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

servers_up
mkdir -p "$T/state"
"$BUILD/sluicectl" ca init --dir "$T/state" --cn "sluice test inspection CA" \
    >"$T/ca.out" 2>&1 || setup_fail "sluicectl ca init" "$(cat "$T/ca.out")"
ACA="$T/state/ca.pem"
sluiced_start "
set log-allowed on
set upstream-ca-bundle $CA
rule wl splice domain echo.example.test
default inspect
"
out=$(in_cli curl -sS --max-time 30 --proxy http://10.1.0.1:3128 --cacert "$ACA" \
    -o "$T/hello.out" -w '%{http_code}' https://www.example.test/hello 2>&1)
is "$out $(cat "$T/hello.out" 2>/dev/null)" "200 hello from www.example.test" "curl through inspection"
done_testing
