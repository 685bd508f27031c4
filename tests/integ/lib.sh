#!/bin/bash
# tests/integ/lib.sh — harness for sluice's integration tests.
#
# Sourced by tests/integ/NNN-name.sh, which tests/run.sh runs as root with
# BUILD set (`sh FILE`, so every test starts with the bash re-exec line).
# A test builds its own three network namespaces, starts real servers in
# `srv`, sluiced in `gw`, real clients in `cli`, prints TAP and ends with
# done_testing.  Everything it started is torn down by an EXIT trap.
#
#   cli  10.1.0.2/24 fd00:1::2/64 ── gw 10.1.0.1 fd00:1::1 | 10.2.0.1 fd00:2::1
#        ── srv 10.2.0.2/24 fd00:2::2/64 (+ the addresses below)
#
# srv addresses (all on one veth, default route via gw):
#   10.2.0.2  fd00:2::2  nginx :80 :443 (www.example.test), ws :8080 wss :8443
#   10.2.0.3  fd00:2::3  nginx :80 :443 ("another host": other.example.test)
#   10.2.0.4  fd00:2::4  TCP servers started by tcp_server_start (echo on 443)
#   10.2.0.5             TCP servers (head echo on :80, see py/tcpserv.py)
#   10.2.0.6             Python's http.server, when a test starts it (pyhttp_start)
#   10.2.0.53            dnsmasq
#   10.2.0.98            rejected by nftables with ICMP host-unreachable
#   10.2.0.99 fd00:2::99 blackhole: nftables drops every packet (timeouts)
#   10.2.0.2:81          nothing listens (connection refused)
#
# DNS (dnsmasq, authoritative for .test only, no upstream, no /etc/hosts):
#   www.example.test -> 10.2.0.2 fd00:2::2     other.example.test -> 10.2.0.3
#   denied.example.test -> 10.2.0.3            echo.example.test -> 10.2.0.4
#   head.example.test -> 10.2.0.5              v6only.example.test -> fd00:2::2
#   fin.example.test -> 10.2.0.5
#   he.example.test -> 10.2.0.2 fd00:2::99 (IPv6 blackholed: happy eyeballs)
#   blackhole.example.test -> 10.2.0.99        unreach.example.test -> 10.2.0.98
#   intranet.corp.test -> 10.2.0.3 fd00:2::3 (a search domain's host: its
#     short name "intranet" does not exist, see gw_etc)
#   every other name under .test, and every name without a dot -> NXDOMAIN
#   *.slow.test -> forwarded to the blackhole: the query times out
#
# Useful variables after topo_up/servers_up: T (temp dir), CLI GW SRV
# (namespace names), CA (test CA certificate), BIG (20 MB file in nginx's
# root, served as /big.bin), BIG_SHA, PY (/usr/bin/python3), PYDIR, BUILD,
# FLOWLOG (sluiced's JSON flow log), SLUICED_PID, SLUICED_CONF.
# SL_KEEP=1 keeps the temp dir (its path is printed) for debugging.
#
# Functions (each documented where it is defined):
#   TAP          ok not_ok is isnt like unlike check diag setup_fail
#                done_testing (prints 1..N; also checks sluiced is alive and
#                that no sanitizer report is in its stderr)
#   namespaces   topo_up in_cli in_gw in_srv bg stop_pid wait_for wait_listen
#                gw_etc (a file of gw's own /etc: resolv.conf)
#   servers      servers_up (= topo_up certs_make dns_start nginx_start
#                ws_start + tcpserv echo/sink/headecho) tcp_server_start
#                pyhttp_start (a lenient origin: Python's http.server)
#   sluiced      sluiced_start CONFIG, transparent_start CONFIG [tproxy],
#                sluiced_reload CONFIG, sluiced_stop, sluiced_wait, sluiced_alive
#   flow log     flowlog_expect DESC SELECT CHECK..., flowlog_last,
#                flowlog_grep, flowlog_count, flowlog_valid
#   full disk    mount_ns_private "$@", tmpfs_mount DIR SIZE
#   clients      pcurl http_status sha256_of big_https tunnel_open
#                tunnel_cmd tp_curl; the Python clients in py/ (rawc, rawhttp,
#                tlshello, tunnel, wsclient, dnsq) run in cli with
#                "$PY" "$PYDIR/NAME.py"

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PYDIR="$TOP/tests/integ/py"
DATADIR="$TOP/tests/data/integ"
# The websockets module is Debian's (python3-websockets); a pyenv python
# earlier on PATH would not have it.
PY=/usr/bin/python3

CLI="slc$$"
GW="slg$$"
SRV="sls$$"
T=""
PIDS=""			# every background process this test started
SLUICED_PID=""
SLUICED_RC=""		# exit status once sluiced_stop/sluiced_wait reaped it
SLUICED_CONF=""
FLOWLOG=""
_TAP_N=0
_TAP_FAIL=0
_TOPO=0

# ---------------------------------------------------------------------
# TAP

diag() {
	local l
	printf '%s\n' "$@" | while IFS= read -r l; do
		printf '# %s\n' "$l"
	done
}

ok() {
	_TAP_N=$((_TAP_N + 1))
	printf 'ok %d - %s\n' "$_TAP_N" "$1"
}

not_ok() {
	_TAP_N=$((_TAP_N + 1))
	_TAP_FAIL=$((_TAP_FAIL + 1))
	printf 'not ok %d - %s\n' "$_TAP_N" "$1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got:  '$1'" "want: '$2'"
	fi
}

# isnt GOT UNWANTED DESC
isnt() {
	if [ "$1" != "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got the unwanted value '$1'"
	fi
}

# like GOT ERE DESC
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok "$3"
	else
		not_ok "$3" "got:  '$(printf '%s' "$1" | head -c 600)'" \
		    "want: match of /$2/"
	fi
}

# unlike GOT ERE DESC
unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		not_ok "$3" "got:  '$(printf '%s' "$1" | head -c 600)'" \
		    "want: no match of /$2/"
	else
		ok "$3"
	fi
}

# check "CMD" DESC: ok when the shell command succeeds; its output is
# shown on failure.
check() {
	local out rc
	out=$(eval "$1" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$2"
	else
		not_ok "$2" "command failed ($rc): $1" "$(printf '%s' "$out" | tail -n 20)"
	fi
}

# A setup step that fails makes the rest meaningless: say why and stop.
# (tests/run.sh also shows the output printed right before this line.)
setup_fail() {
	printf 'not ok - setup: %s\n' "$1"
	shift
	[ $# -gt 0 ] && diag "$@"
	exit 1
}

# setup_do DESC CMD...: run a setup command (stdin passed on); if it fails,
# setup_fail DESC with the command, its exit status and its output (the
# cause: "mount --make-rslave / failed: Invalid argument", ...) as TAP
# diagnostics.  Its output is not shown when it succeeds.
setup_do() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	setup_fail "$desc" "command failed ($rc): $*" "$(printf '%s\n' "$out" | tail -n 20)"
}

done_testing() {
	if [ -n "$SLUICED_PID" ] && [ -z "$SLUICED_RC" ]; then
		if kill -0 "$SLUICED_PID" 2>/dev/null; then
			ok "sluiced still running at the end of the test"
		else
			wait "$SLUICED_PID" 2>/dev/null
			not_ok "sluiced still running at the end of the test" \
			    "it exited with status $?" \
			    "$(tail -n 20 "$T/sluiced.err" 2>/dev/null)"
		fi
	fi
	sanitizer_check
	printf '1..%d\n' "$_TAP_N"
	[ "$_TAP_FAIL" -eq 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------------
# Processes, namespaces, teardown

in_cli() { ip netns exec "$CLI" "$@"; }
in_gw() { ip netns exec "$GW" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }

# bg NS LOGNAME CMD...: start CMD in namespace NS in the background, with
# stdout and stderr in $T/LOGNAME.log; remember its PID in BG_PID and PIDS.
# `ip netns exec` execs the command, so the PID is the command's own.
bg() {
	local ns=$1 name=$2
	shift 2
	ip netns exec "$ns" "$@" >"$T/$name.log" 2>&1 &
	BG_PID=$!
	PIDS="$PIDS $BG_PID"
}

# stop_pid PID [SECONDS]: TERM, wait up to SECONDS (default 3), then KILL.
stop_pid() {
	local pid=$1 n=$(( ${2:-3} * 10 ))
	kill -TERM "$pid" 2>/dev/null || return 0
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

_teardown() {
	local pid ns rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$SLUICED_PID" ] && [ -z "$SLUICED_RC" ]; then
		stop_pid "$SLUICED_PID" 5
	fi
	for pid in $PIDS; do
		stop_pid "$pid" 3
	done
	if [ "$_TOPO" -eq 1 ]; then
		# Anything still inside our own namespaces was started by
		# this test (they were created by it, with unique names):
		# a stray child of a server we stopped above.
		for ns in "$CLI" "$GW" "$SRV"; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		done
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${SL_KEEP:-0}" = 1 ]; then
			echo "# kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

harness_init() {
	[ "$(id -u)" -eq 0 ] || setup_fail "needs root (network namespaces)"
	T=$(mktemp -d /tmp/sluice-integ.XXXXXX 2>&1) || setup_fail "mktemp" "$T"
	chmod 755 "$T"
	trap _teardown EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
	local n=$(( $1 * 20 ))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

_listening() {	# NS tcp|udp ADDR PORT
	local flag=-Hltn
	[ "$2" = udp ] && flag=-Hlun
	ip netns exec "$1" ss $flag "sport = :$4" | grep -qF -- " $3:$4 "
}

# wait_listen NS ADDR PORT [udp] [SECONDS]: bounded wait for a listener.
# ADDR as ss prints it: 10.2.0.2, [fd00:2::2], * or 0.0.0.0.
wait_listen() {
	wait_for "${5:-10}" _listening "$1" "${4:-tcp}" "$2" "$3"
}

# ---------------------------------------------------------------------
# Topology

# topo_up: the three namespaces, veth pairs, addresses, routes, forwarding,
# and the srv firewall for the blackhole and unreachable addresses.
topo_up() {
	local a
	[ -n "$T" ] || harness_init
	_TOPO=1
	for ns in "$CLI" "$GW" "$SRV"; do
		setup_do "ip netns add $ns" ip netns add "$ns"
		ip -n "$ns" link set lo up
		# No duplicate address detection on the links created below,
		# link-local addresses included: usable at once.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
	done
	# veth pairs created inside the namespaces: no name clash between
	# concurrent test runs, nothing in the root namespace.
	setup_do "veth cli-gw" \
	    ip -n "$GW" link add g0 type veth peer name c0 netns "$CLI"
	setup_do "veth gw-srv" \
	    ip -n "$GW" link add g1 type veth peer name s0 netns "$SRV"

	ip -n "$CLI" addr add 10.1.0.2/24 dev c0
	ip -n "$CLI" addr add fd00:1::2/64 dev c0 nodad
	ip -n "$GW" addr add 10.1.0.1/24 dev g0
	ip -n "$GW" addr add fd00:1::1/64 dev g0 nodad
	ip -n "$GW" addr add 10.2.0.1/24 dev g1
	ip -n "$GW" addr add fd00:2::1/64 dev g1 nodad
	for a in 2 3 4 5 53 98 99; do
		ip -n "$SRV" addr add "10.2.0.$a/24" dev s0
	done
	for a in 2 3 4 99; do
		ip -n "$SRV" addr add "fd00:2::$a/64" dev s0 nodad
	done
	ip -n "$CLI" link set c0 up
	ip -n "$GW" link set g0 up
	ip -n "$GW" link set g1 up
	ip -n "$SRV" link set s0 up
	ip -n "$CLI" route add default via 10.1.0.1
	ip -n "$CLI" -6 route add default via fd00:1::1
	ip -n "$SRV" route add default via 10.2.0.1
	ip -n "$SRV" -6 route add default via fd00:2::1
	in_gw sysctl -qw net.ipv4.ip_forward=1
	in_gw sysctl -qw net.ipv6.conf.all.forwarding=1

	setup_do "nft in srv" in_srv nft -f - <<'EOF'
table inet sltest {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 10.2.0.99 drop
		ip6 daddr fd00:2::99 drop
		ip daddr 10.2.0.98 reject with icmp type host-unreachable
	}
}
EOF
	wait_for 5 _refused "$CLI" 10.2.0.2 81 ||
	    setup_fail "cli cannot reach srv through gw"
	wait_for 5 _refused "$CLI" fd00:2::2 81 ||
	    setup_fail "cli cannot reach srv over IPv6 through gw"
}

# _refused NS ADDR PORT: a TCP connect from NS gets a RST (the path works
# and nothing listens), as opposed to a timeout or unreachable.
_refused() {
	ip netns exec "$1" timeout 0.1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1 |
	    grep -q 'Connection refused'
}

# ---------------------------------------------------------------------
# Test CA and certificates (openssl CLI)

# certs_make: $T/ca.crt (CA), $T/srv.crt + $T/srv.key for www/other/echo
# .example.test, *.example.test and the srv addresses.
certs_make() {
	local o="$T/certs.log"
	CA="$T/ca.crt"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$T/ca.key" -out "$CA" -days 2 \
		    -subj "/CN=sluice integration test CA $$" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout "$T/srv.key" -out "$T/srv.csr" \
		    -subj "/CN=www.example.test" &&
		printf '%s\n' \
		    "basicConstraints=CA:FALSE" \
		    "keyUsage=critical,digitalSignature" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=DNS:www.example.test,DNS:*.example.test,IP:10.2.0.2,IP:10.2.0.3,IP:10.2.0.4,IP:fd00:2::2,IP:fd00:2::3" \
		    >"$T/srv.ext" &&
		openssl x509 -req -in "$T/srv.csr" -CA "$CA" -CAkey "$T/ca.key" \
		    -set_serial "0x$(openssl rand -hex 8)" -days 2 \
		    -extfile "$T/srv.ext" -out "$T/srv.crt"
	} >"$o" 2>&1 || setup_fail "test CA and certificates" "$(cat "$o")"
}

# ---------------------------------------------------------------------
# Servers in srv

# nginx_start: HTTP :80 and HTTPS :443 on 10.2.0.2, 10.2.0.3, fd00:2::2,
# fd00:2::3; /big.bin (20 MB random, sha256 in BIG_SHA); /dav/ accepts PUT
# (also chunked) and serves the files back; /hello is a short text;
# keep-alive with a high keepalive_requests.
nginx_start() {
	local d="$T/nginx"
	[ -n "${CA:-}" ] || certs_make
	mkdir -p "$d/www/dav" "$d/tmp" || setup_fail "nginx dirs"
	BIG="$d/www/big.bin"
	head -c 20971520 /dev/urandom >"$BIG" || setup_fail "20 MB file"
	BIG_SHA=$(sha256sum "$BIG" | cut -d' ' -f1)
	printf 'hello from %s\n' "www.example.test" >"$d/www/hello"
	cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	# \$connection: nginx's serial number of the client connection, so a
	# test sees whether the proxy reused its upstream connection.
	log_format sl '\$connection \$connection_requests \$remote_addr "\$request" \$status \$body_bytes_sent';
	access_log $d/access.log sl;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	default_type application/octet-stream;
	keepalive_requests 100000;
	keepalive_timeout 120s;
	server {
		listen 10.2.0.2:80;
		listen 10.2.0.3:80;
		listen [fd00:2::2]:80;
		listen [fd00:2::3]:80;
		listen 10.2.0.2:443 ssl;
		listen 10.2.0.3:443 ssl;
		listen [fd00:2::2]:443 ssl;
		listen [fd00:2::3]:443 ssl;
		server_name _;
		ssl_certificate $T/srv.crt;
		ssl_certificate_key $T/srv.key;
		root $d/www;
		location /dav/ {
			dav_methods PUT DELETE;
			create_full_put_path on;
			client_max_body_size 100m;
		}
	}
}
EOF
	bg "$SRV" nginx nginx -c "$d/nginx.conf" -g 'daemon off;'
	wait_listen "$SRV" 10.2.0.2 443 &&
	wait_listen "$SRV" '[fd00:2::3]' 80 ||
	    setup_fail "nginx did not start" "$(cat "$T/nginx.log" "$d/error.log" 2>/dev/null)"
}

# dns_start: dnsmasq on 10.2.0.53:53, the names listed at the top.
dns_start() {
	bg "$SRV" dnsmasq dnsmasq -k --user=root --group=root \
	    --conf-file=/dev/null --pid-file= \
	    --listen-address=10.2.0.53 --bind-interfaces --port=53 \
	    --no-resolv --no-hosts --no-negcache --log-facility=- \
	    --local=/test/ --domain-needed \
	    --server=/slow.test/10.2.0.99 \
	    --host-record=www.example.test,10.2.0.2,fd00:2::2 \
	    --host-record=other.example.test,10.2.0.3,fd00:2::3 \
	    --host-record=denied.example.test,10.2.0.3 \
	    --host-record=echo.example.test,10.2.0.4 \
	    --host-record=head.example.test,10.2.0.5 \
	    --host-record=fin.example.test,10.2.0.5 \
	    --host-record=he.example.test,10.2.0.2,fd00:2::99 \
	    --host-record=v6only.example.test,fd00:2::2 \
	    --host-record=blackhole.example.test,10.2.0.99 \
	    --host-record=unreach.example.test,10.2.0.98 \
	    --host-record=intranet.corp.test,10.2.0.3,fd00:2::3 \
	    ${DNS_EXTRA:-}
	wait_listen "$SRV" 10.2.0.53 53 udp ||
	    setup_fail "dnsmasq did not start" "$(cat "$T/dnsmasq.log")"
}

# ws_start: WebSocket echo, ws on 10.2.0.2:8080 and wss on 10.2.0.2:8443.
ws_start() {
	[ -n "${CA:-}" ] || certs_make
	bg "$SRV" wsecho "$PY" "$PYDIR/wsecho.py" --ws 10.2.0.2:8080 \
	    --wss 10.2.0.2:8443 --cert "$T/srv.crt" --key "$T/srv.key"
	wait_listen "$SRV" 10.2.0.2 8443 ||
	    setup_fail "WebSocket echo did not start" "$(cat "$T/wsecho.log")"
}

# tcp_server_start NAME SPEC...: py/tcpserv.py with listeners like
# echo@10.2.0.4:443, sink@10.2.0.2:9000, banner@10.2.0.4:2525,
# headecho@10.2.0.5:80, echo@[fd00:2::4]:443 (see the script).  Waits for
# the first listener.
tcp_server_start() {
	local name=$1 first hp
	shift
	bg "$SRV" "$name" "$PY" "$PYDIR/tcpserv.py" "$@"
	first=${1#*@}
	hp=${first%:*}
	hp=${hp#[}
	hp=${hp%]}
	case "$hp" in *:*) hp="[$hp]" ;; esac
	wait_listen "$SRV" "$hp" "${first##*:}" ||
	    setup_fail "tcp server $name did not start" "$(cat "$T/$name.log")"
}

# servers_up: topology plus the standard set of servers.
servers_up() {
	topo_up
	certs_make
	dns_start
	nginx_start
	ws_start
	tcp_server_start tcpserv echo@10.2.0.4:443 echo@10.2.0.4:7000 \
	    'echo@[fd00:2::4]:7000' sink@10.2.0.2:9000 headecho@10.2.0.5:80
}

# ---------------------------------------------------------------------
# sluiced

# Lines every test configuration starts with, before the test's own text.
# A test may set SLUICED_HEADER to something else (transparent listeners).
SLUICED_HEADER_DEFAULT='listen explicit 10.1.0.1:3128
listen explicit [fd00:1::1]:3128
resolver 10.2.0.53'

# sluiced_write_conf FILE TEXT: header + log sink + TEXT.
sluiced_write_conf() {
	{
		printf '# written by %s\n' "$(basename "$0")"
		printf '%s\n' "${SLUICED_HEADER:-$SLUICED_HEADER_DEFAULT}"
		printf 'log json %s\n' "$FLOWLOG"
		printf '%s\n' "$2"
	} >"$1"
}

# SLUICED_OPTS: more "-o name=value" words for a test (they come last, so
# they override these).
_sluiced_opts() {
	printf '%s\n' -o user= -o pid-file= -o "state-dir=$T/state" \
	    -o "log-dir=$T" ${SLUICED_OPTS:-}
}

# sluiced_start CONFIGTEXT: write $T/sluice.conf, check it (-t), start
# `sluiced -f -c FILE` in gw, wait (bounded) until every explicit and
# transparent listener of the header accepts.
sluiced_start() {
	local out l ep addr port n=0
	[ -x "$BUILD/sluiced" ] || setup_fail "$BUILD/sluiced does not exist (build it first)"
	SLUICED_CONF="$T/sluice.conf"
	FLOWLOG="$T/flow.log"
	mkdir -p "$T/state"
	sluiced_write_conf "$SLUICED_CONF" "$1"
	# shellcheck disable=SC2046
	out=$(in_gw "$BUILD/sluiced" -t -c "$SLUICED_CONF" $(_sluiced_opts) 2>&1) ||
	    setup_fail "sluiced -t rejects the test configuration" "$out" \
	    "$(cat -n "$SLUICED_CONF")"
	SLUICED_RC=""
	# shellcheck disable=SC2046
	# Not through the in_gw function: a backgrounded function is a bash
	# subshell, and its PID would get our signals instead of sluiced.
	ip netns exec "$GW" "$BUILD/sluiced" -f -c "$SLUICED_CONF" \
	    $(_sluiced_opts) >"$T/sluiced.out" 2>>"$T/sluiced.err" &
	SLUICED_PID=$!
	while IFS= read -r l; do
		case "$l" in
		"listen "*) ;;
		*) continue ;;
		esac
		set -- $l
		ep=$3
		port=${ep##*:}
		addr=${ep%:*}
		[ "$addr" = '*' ] && addr='*'
		if ! wait_listen "$GW" "$addr" "$port" tcp 10; then
			kill -0 "$SLUICED_PID" 2>/dev/null ||
			    setup_fail "sluiced exited at start" \
			    "$(tail -n 30 "$T/sluiced.err")"
			setup_fail "sluiced does not listen on $ep after 10 s" \
			    "$(tail -n 30 "$T/sluiced.err")"
		fi
		n=$((n + 1))
	done <<EOF
${SLUICED_HEADER:-$SLUICED_HEADER_DEFAULT}
EOF
	[ "$n" -gt 0 ] || setup_fail "no listen line in the sluiced header"
}

# transparent_start CONFIGTEXT [tproxy|mixed]: sluiced with transparent
# listeners 10.1.0.1:3129 and [fd00:1::1]:3129 (tproxy: the same kind of
# listeners on port 3130; mixed: transparent 10.1.0.1:3129 and tproxy
# [fd00:1::1]:3130) and the explicit 10.1.0.1:3128, clients on gw's
# interface g0; then the nftables ruleset printed by `sluicectl nft` for
# that configuration, loaded in gw as is.  For tproxy and mixed, the
# policy-routing commands that sluicectl prints as comments are run in gw
# too.
transparent_start() {
	local out kind=transparent port=3129 cmd l4 l6
	if [ "${2:-}" = tproxy ]; then
		kind=tproxy
		port=3130
	fi
	l4="listen $kind 10.1.0.1:$port"
	l6="listen $kind [fd00:1::1]:$port"
	if [ "${2:-}" = mixed ]; then
		kind=tproxy	# there is policy routing to load
		l4="listen transparent 10.1.0.1:3129"
		l6="listen tproxy [fd00:1::1]:3130"
	fi
	SLUICED_HEADER="$l4
$l6
listen explicit 10.1.0.1:3128
resolver 10.2.0.53
set nft-interfaces g0"
	sluiced_start "$1"
	[ -x "$BUILD/sluicectl" ] || setup_fail "$BUILD/sluicectl does not exist"
	"$BUILD/sluicectl" nft -c "$SLUICED_CONF" >"$T/sluice.nft" 2>"$T/nft.err" ||
	    setup_fail "sluicectl nft failed" "$(cat "$T/nft.err")"
	out=$(in_gw nft -f "$T/sluice.nft" 2>&1) ||
	    setup_fail "nft -f rejects the output of sluicectl nft" "$out" \
	    "$(cat -n "$T/sluice.nft")"
	[ "$kind" = tproxy ] || return 0
	sed -n 's/^#   \(ip .*\)$/\1/p' "$T/sluice.nft" >"$T/tproxy.routing"
	[ -s "$T/tproxy.routing" ] ||
	    setup_fail "sluicectl nft printed no policy routing for tproxy" \
	    "$(cat -n "$T/sluice.nft")"
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086
		out=$(in_gw $cmd 2>&1) ||
		    setup_fail "policy routing from sluicectl nft: $cmd" "$out"
	done <"$T/tproxy.routing"
}

# udp_routing_start: in redirect mode transparent_start loads the ruleset
# but not the policy routing TPROXY needs for UDP (sluicectl prints it as
# comments): run it in gw as printed, then wait (bounded) for sluiced's
# UDP side of the transparent listener 10.1.0.1:3129.
udp_routing_start() {
	local cmd o
	sed -n 's/^#   \(ip .*\)$/\1/p' "$T/sluice.nft" >"$T/routing"
	[ -s "$T/routing" ] || setup_fail "sluicectl nft printed no policy routing" "$(cat -n "$T/sluice.nft")"
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086
		o=$(in_gw $cmd 2>&1) || setup_fail "policy routing from sluicectl nft: $cmd" "$o"
	done <"$T/routing"
	wait_listen "$GW" 10.1.0.1 3129 udp 5 ||
	    setup_fail "sluiced does not listen on udp 10.1.0.1:3129" "$(tail -n 20 "$T/sluiced.err")"
}

# sluiced_stop [SECONDS]: SIGTERM, wait (bounded), remember the status.
sluiced_stop() {
	[ -n "$SLUICED_PID" ] || return 0
	kill -TERM "$SLUICED_PID" 2>/dev/null
	sluiced_wait "${1:-10}"
}

# sluiced_wait SECONDS: wait for sluiced to exit by itself; sets
# SLUICED_RC (its status, or "timeout" after killing it).
sluiced_wait() {
	local n=$(( $1 * 20 ))
	while [ "$n" -gt 0 ] && kill -0 "$SLUICED_PID" 2>/dev/null; do
		sleep 0.05
		n=$((n - 1))
	done
	if kill -0 "$SLUICED_PID" 2>/dev/null; then
		kill -KILL "$SLUICED_PID" 2>/dev/null
		wait "$SLUICED_PID" 2>/dev/null
		SLUICED_RC=timeout
	else
		wait "$SLUICED_PID" 2>/dev/null
		SLUICED_RC=$?
	fi
}

# sluiced_reload CONFIGTEXT: rewrite the configuration file, SIGHUP.
sluiced_reload() {
	sluiced_write_conf "$SLUICED_CONF.new" "$1"
	mv "$SLUICED_CONF.new" "$SLUICED_CONF"
	kill -HUP "$SLUICED_PID"
}

sluiced_alive() { kill -0 "$SLUICED_PID" 2>/dev/null; }

# A sanitizer build reports to stderr; any report is a failure.
sanitizer_check() {
	local f="$T/sluiced.err"
	[ -n "$T" ] && [ -s "$f" ] || return 0
	if grep -Eq 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$f"; then
		not_ok "no sanitizer report from sluiced" \
		    "$(grep -E -A 25 'Sanitizer|runtime error:' "$f" | head -n 40)"
	fi
}

# ---------------------------------------------------------------------
# Flow log (JSON lines, schema v1; see docs/logs.md)

# flowlog_expect DESC SELECT CHECK...: wait (up to 5 s, or $FLOWLOG_WAIT)
# for the last event matching every key=value condition in SELECT (one
# word list), then assert each CHECK: key=value (string compare, numbers as decimal),
# key!=value, key~ERE, key>=N, key<=N, key? (present and not empty);
# 'A || B' passes if either does.
flowlog_expect() {
	local desc=$1 sel=$2 out
	shift 2
	if out=$("$PY" "$PYDIR/flowlog.py" expect "$FLOWLOG" "$sel" "$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "$out"
	fi
}

# flowlog_last SELECT: print the last event matching SELECT (or nothing).
flowlog_last() {
	"$PY" "$PYDIR/flowlog.py" last "$FLOWLOG" "${1:-}"
}

# flowlog_grep SELECT: print every event matching SELECT.
flowlog_grep() {
	"$PY" "$PYDIR/flowlog.py" grep "$FLOWLOG" "${1:-}"
}

# flowlog_count SELECT: number of events matching SELECT.
flowlog_count() {
	"$PY" "$PYDIR/flowlog.py" count "$FLOWLOG" "${1:-}"
}

# flowlog_valid: every line is a JSON object with the v1 schema.
flowlog_valid() {
	local out
	if out=$("$PY" "$PYDIR/flowlog.py" validate "$FLOWLOG" 2>&1); then
		ok "flow log: every line is valid schema-v1 JSON ($out)"
	else
		not_ok "flow log: every line is valid schema-v1 JSON" "$out"
	fi
}

# ---------------------------------------------------------------------
# Clients in cli

PROXY4="http://10.1.0.1:3128"
PROXY6="http://[fd00:1::1]:3128"

# pcurl ARGS...: curl in cli through the explicit proxy (IPv4 listener),
# bounded, silent, names resolved to the srv addresses for direct use.
pcurl() {
	in_cli curl -sS --max-time 30 --proxy "$PROXY4" --cacert "$CA" "$@"
}

# connect_status AUTHORITY: the status of the proxy's answer to CONNECT
# AUTHORITY (the connection is closed right after it).
connect_status() {
	in_cli "$PY" "$PYDIR/rawhttp.py" one --proxy 10.1.0.1:3128 \
	    "CONNECT $1 HTTP/1.1\\r\\nHost: $1\\r\\n\\r\\n" | awk 'NR == 1 { print $1 }'
}

# http_status OUTFILE ARGS...: pcurl, body to OUTFILE, print the status.
http_status() {
	local f=$1
	shift
	pcurl -o "$f" -w '%{http_code}' "$@" 2>/dev/null
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# big_https IP: from cli, GET https://www.example.test/big.bin at IP with no
# proxy (a transparent gateway on the way takes it), the body into
# $T/big.out; prints "HTTP-CODE LOCAL-PORT".
big_https() {
	in_cli curl -sS --max-time 30 --cacert "$CA" \
	    --resolve "www.example.test:443:$1" -o "$T/big.out" \
	    -w '%{http_code} %{local_port}' https://www.example.test/big.bin
}

# tunnel_open NAME AUTHORITY [PROXY]: a CONNECT tunnel held open by
# py/tunnel.py in cli, driven with tunnel_cmd; sets TUNNEL to its first
# line ("ready" or "fail CONNECT 403").  Do not call it in $(...): the
# FIFO must stay open in this shell.
tunnel_open() {
	local name=$1 fd
	mkfifo "$T/$name.in" || setup_fail "mkfifo"
	: >"$T/$name.out"
	ip netns exec "$CLI" "$PY" "$PYDIR/tunnel.py" --proxy "${3:-10.1.0.1:3128}" \
	    "$2" <"$T/$name.in" >"$T/$name.out" 2>&1 &
	PIDS="$PIDS $!"
	# Holding the FIFO open keeps the client's stdin from reaching EOF.
	exec {fd}>"$T/$name.in"
	eval "_TUN_FD_$name=$fd"
	TUNNEL=$(_tunnel_line "$name" 1)
}

# _tunnel_line NAME N: wait (10 s) for line N of the output, print it.
_tunnel_line() {
	local n=200
	while [ "$n" -gt 0 ] && [ "$(wc -l <"$T/$1.out")" -lt "$2" ]; do
		sleep 0.05
		n=$((n - 1))
	done
	sed -n "${2}p" "$T/$1.out"
}

# tunnel_cmd NAME COMMAND: send one command, print its result line.
tunnel_cmd() {
	local fd n
	eval "fd=\${_TUN_FD_$1}"
	n=$(($(wc -l <"$T/$1.out") + 1))
	printf '%s\n' "$2" >&"$fd"
	_tunnel_line "$1" "$n"
}

# ---------------------------------------------------------------------
# A lenient origin: Python's http.server

# pyhttp_start ADDR PORT DIR: Python's own http.server (python3 -m
# http.server, Debian 12: Python 3.11) in srv, serving DIR on ADDR:PORT,
# for tests that need an origin with its leniencies (it splits the request
# line on any whitespace, accepts tabs, leading and trailing blanks and
# odd version numbers; see tests/integ/121-lenient-request-lines.sh).  ADDR
# is added to srv's veth when it is not one of the addresses above (e.g.
# 10.2.0.6, the address kept for it; give it a name with DNS_EXTRA before
# servers_up).  Its access log, one line per request it answered
# ('ADDR - - [date] "REQUEST LINE" STATUS -'), is $T/pyhttp.log.
pyhttp_start() {
	local addr=$1 port=$2 dir=$3
	ip -n "$SRV" -4 addr show dev s0 | grep -qF " $addr/" ||
	    setup_do "address $addr in srv" ip -n "$SRV" addr add "$addr/24" dev s0
	bg "$SRV" pyhttp "$PY" -u -m http.server --bind "$addr" \
	    --directory "$dir" "$port"
	wait_listen "$SRV" "$addr" "$port" ||
	    setup_fail "python http.server did not start" "$(cat "$T/pyhttp.log")"
}

# ---------------------------------------------------------------------
# A small file system (a full disk)

# mount_ns_private "$@": run the rest of the test in a mount namespace of
# its own (call it right after sourcing lib.sh), so that what it mounts
# is seen by it and by what it starts (sluiced, via ip netns exec) and
# by nothing else, and disappears with it even if it is killed.
mount_ns_private() {
	[ -n "${SL_MNTNS:-}" ] && return 0
	SL_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
}

# tmpfs_mount DIR SIZE: a tmpfs of SIZE (16k, 1m) on DIR (made: under $T,
# so after topo_up); unmounted when the test ends, before its temp dir is
# removed.  Grow or shrink it with `mount -o remount,size=SIZE DIR`.
_TMPFS_DIRS=""
tmpfs_mount() {
	case "$1" in
	"$T"/?*) [ -n "$T" ] ;;
	*) false ;;
	esac || setup_fail "tmpfs_mount $1: not under the test's temp dir"
	mkdir -p "$1" || setup_fail "mkdir $1"
	setup_do "a tmpfs of $2 on $1" \
	    mount -t tmpfs -o "size=$2,mode=0755" sluice-test "$1"
	_TMPFS_DIRS="$1 $_TMPFS_DIRS"
	trap _tmpfs_teardown EXIT
}

# Unmount (lazily: sluiced may still hold a file there; SL_KEEP=1 keeps a
# copy of what it held in DIR.kept), then the usual teardown with the
# test's exit status.
_tmpfs_teardown() {
	local rc=$? d
	for d in $_TMPFS_DIRS; do
		[ "${SL_KEEP:-0}" = 1 ] && cp -a "$d" "$d.kept" 2>/dev/null
		umount -l "$d" 2>/dev/null
	done
	(exit "$rc")
	_teardown
}

# raw_get TARGET [ENDPOINT]: one GET with Host www.example.test and
# Connection: close, sent as is by py/rawhttp.py from cli to the explicit
# proxy 10.1.0.1:3128 (TARGET is then an absolute URI) or to ENDPOINT (a
# transparent gateway on the way); sets STATUS, PORT (the client port)
# and BODY.
raw_get() {
	local ep=${2:-10.1.0.1:3128}
	in_cli timeout 20 "$PY" "$PYDIR/rawhttp.py" one --proxy "$ep" \
	    --timeout 8 "GET $1 HTTP/1.1\\r\\nHost: www.example.test\\r\\nConnection: close\\r\\n\\r\\n" \
	    >"$T/resp" 2>&1
	read -r STATUS PORT <"$T/resp"
	BODY=$(sed '1,/^\r$/d' "$T/resp")
}

# ---------------------------------------------------------------------
# gw's own /etc

_GW_ETC_MADE=0		# 1: gw_etc created /etc/netns itself
_GW_ETC_NEXT=""		# the EXIT trap gw_etc found (run after its own)

# gw_etc FILE TEXT: /etc/FILE as every process started in gw from now on
# sees it (`ip netns exec` bind-mounts /etc/netns/$GW/FILE over /etc/FILE
# in the command's own mount namespace), e.g. `gw_etc resolv.conf 'search
# corp.test'` before sluiced_start.  /etc/netns/$GW goes at exit, and
# /etc/netns too if gw_etc created it and it is empty then.
gw_etc() {
	[ "$_TOPO" -eq 1 ] || setup_fail "gw_etc before topo_up"
	if [ ! -d /etc/netns ]; then
		_GW_ETC_MADE=1
	fi
	if [ -z "$_GW_ETC_NEXT" ]; then
		_GW_ETC_NEXT=$(trap -p EXIT | sed -n "s/^trap -- '\(.*\)' EXIT\$/\1/p")
		: "${_GW_ETC_NEXT:=_teardown}"
		trap '_gw_etc_cleanup; eval "$_GW_ETC_NEXT"' EXIT
	fi
	setup_do "mkdir /etc/netns/$GW" mkdir -p "/etc/netns/$GW"
	printf '%s\n' "$2" >"/etc/netns/$GW/$1" ||
	    setup_fail "cannot write /etc/netns/$GW/$1"
}

# Runs before the teardown, which reads the exit status: keep it.
_gw_etc_cleanup() {
	local rc=$?
	rm -rf "/etc/netns/${GW:?}"
	[ "$_GW_ETC_MADE" = 1 ] && rmdir /etc/netns 2>/dev/null
	return "$rc"
}

# tp_curl ARGS...: curl in cli without a proxy (a transparent gateway on
# the way takes the flow), bounded, the body discarded; sets CODE (the
# HTTP status, 000 without a response) and CPORT (the client port).
tp_curl() {
	local out
	out=$(in_cli curl -s --max-time 10 -o /dev/null \
	    -w '%{http_code} %{local_port}' "$@" 2>/dev/null)
	read -r CODE CPORT <<<"$out"
}

# flowlog_lacks DESC SELECT KEY...: the last event matching SELECT (give
# flowlog_expect the same SELECT first: this one does not wait) has none
# of the KEYs at all (e.g. no `reason`).
flowlog_lacks() {
	local desc=$1 sel=$2 ev
	shift 2
	ev=$(flowlog_last "$sel")
	if [ -z "$ev" ]; then
		not_ok "$desc" "no flow log event matches: $sel"
	elif printf '%s' "$ev" | "$PY" -c 'import json, sys
ev = json.load(sys.stdin)
sys.exit(1 if any(k in ev for k in sys.argv[1:]) else 0)' "$@"; then
		ok "$desc"
	else
		not_ok "$desc" "event: $ev" "want none of: $*"
	fi
}
