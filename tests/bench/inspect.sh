# tests/bench/inspect.sh — the inspection benchmark of `make bench` (issue
# 13): sluiced inspecting against Squid with ssl-bump, mitmproxy and an
# nginx that terminates and re-originates TLS without minting.  Sourced by
# tests/bench/run.sh (group "inspect", after every other group, so the
# figures of the earlier issues are taken as before), which sets BUILD,
# tmp, base, PIN_PROXY, PIN_LOAD, CORE, PY, raw and the helpers of
# peers.sh (remember, stop_pid).  docs/bench.md, "Inspection", explains
# the method.
#
# Ports (127.0.0.1):
#   I_ORIGIN    the TLS origin: nginx, one certificate per name (chosen by
#               SNI), no session reuse, HTTP/1.1 and h2
#   I_REF       the nginx reference: static *.bench.test certificate,
#               proxy_pass https:// to the origin, verified, no reuse
#   I_SQUID     Squid, ssl-bump (peek at step 1, then bump all)
#   I_MITM      mitmdump (regular mode: CONNECT)
#   I_MITM_T    mitmdump --mode transparent (h2load, through a redirect)
#   I_SLUICE    sluiced explicit, every flow inspected
#   I_SLUICE_T  sluiced transparent, every flow inspected (h2load)

I_ORIGIN=$((base + 61)) I_REF=$((base + 62)) I_SQUID=$((base + 63))
I_MITM=$((base + 64)) I_MITM_T=$((base + 65))
I_SLUICE=$((base + 66)) I_SLUICE_T=$((base + 67))

I_RUNS=${BENCH_TLS_RUNS:-3}
I_HS=${BENCH_TLS_HS:-3000}
I_COLD=${BENCH_TLS_COLD:-1000}
I_BULK_MB=${BENCH_TLS_BULK_MB:-512}
I_H2=${BENCH_TLS_H2:-20000}
I_LIMIT=${BENCH_TLS_LIMIT:-8}
I_BUDGET=${BENCH_TLS_BUDGET:-480}
I_WARM=4			# names of the warm figure: n0000 ... n0003
I_CONC=4			# client threads
I_NOBODY=65534			# h2load runs as this uid (the redirect's match)
TL=$BUILD/tools/tls_load
ic=$tmp/icerts			# origin CA, per-name and reference certs
I_PEERS=${BENCH_TLS_PEERS:-sluice nginx-ref squid-bump mitmproxy}
I_FIGS=${BENCH_TLS_FIGS:-i_warm i_cold i_bulk}
I_NOTES=""

# i_note WORDS...: say it now, and in the report.
i_note() {
	echo "  $*"
	I_NOTES="$I_NOTES$*
"
}

# i_pid PEER
i_pid() {
	case $1 in
	sluice) echo "${I_SLUICED_PID:-}" ;;
	nginx-ref) echo "${I_REF_PID:-}" ;;
	squid-bump) echo "${I_SQUID_PID:-}" ;;
	mitmproxy) echo "${I_MITM_PID:-}" ;;
	mitmproxy-t) echo "${I_MITMT_PID:-}" ;;
	esac
}

# i_via PEER: how tls_load reaches the origin through PEER, and whose CA
# signs what the client sees.
i_via() {
	case $1 in
	sluice) echo "-x 127.0.0.1:$I_SLUICE -A $tmp/istate/ca.pem" ;;
	nginx-ref) echo "-A $ic/ca.pem" ;;
	squid-bump) echo "-x 127.0.0.1:$I_SQUID -A $tmp/isquid/ca.pem" ;;
	mitmproxy) echo "-x 127.0.0.1:$I_MITM -A" \
	    "$tmp/imitm/mitmproxy-ca-cert.pem" ;;
	esac
}

i_dest() {
	if [ "$1" = nginx-ref ]; then
		echo "127.0.0.1:$I_REF"
	else
		echo "127.0.0.1:$I_ORIGIN"
	fi
}

# i_probe PEER PID: one small inspected request through it, up to 10 s.
i_probe() {
	ip_i=0
	while [ $ip_i -lt 50 ]; do
		kill -0 "$2" 2>/dev/null || return 1
		# shellcheck disable=SC2046
		$TL hs $(i_via "$1") -d "$(i_dest "$1")" -n 1 -c 1 -T 3 \
		    >"$tmp/iprobe.out" 2>&1 && return 0
		sleep 0.2
		ip_i=$((ip_i + 1))
	done
	echo "bench: $1 passes no inspected request:" \
	    "$(sed -n 's/.*first_error":"\([^"]*\)".*/\1/p' "$tmp/iprobe.out")" >&2
	return 1
}

# ------------------------------------------------------------------
# The origin and the nginx reference (nginx http, one worker each).

i_nginx_common() {
	cat <<EOF
worker_processes 1;
worker_rlimit_nofile 8192;
pid $tmp/$1/nginx.pid;
error_log $tmp/$1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	ssl_protocols TLSv1.2 TLSv1.3;
	# No session reuse, on either side of a proxy.
	ssl_session_tickets off;
	ssl_session_cache off;
EOF
}

write_origin() {
	mkdir -p "$tmp/iorigin" "$tmp/iwww"
	truncate -s "${I_BULK_MB}M" "$tmp/iwww/bulk"
	{
		i_nginx_common iorigin
		cat <<EOF
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$I_ORIGIN ssl http2;
		# One certificate per name, picked by the SNI.
		ssl_certificate $ic/\$ssl_server_name.pem;
		ssl_certificate_key $ic/\$ssl_server_name.pem;
		root $tmp/iwww;
		location = /small { return 200 "hello from the origin\n"; }
		location = /bulk { default_type application/octet-stream; }
	}
}
EOF
	} >"$tmp/iorigin/nginx.conf"
}

write_ref() {
	mkdir -p "$tmp/iref"
	{
		i_nginx_common iref
		cat <<EOF
	server {
		listen 127.0.0.1:$I_REF ssl;
		# One static certificate for every name: never mints.
		ssl_certificate $ic/ref.pem;
		ssl_certificate_key $ic/ref.pem;
		location / {
			proxy_pass https://127.0.0.1:$I_ORIGIN;
			proxy_http_version 1.1;
			proxy_set_header Host \$host;
			proxy_ssl_server_name on;
			proxy_ssl_name \$ssl_server_name;
			proxy_ssl_verify on;
			proxy_ssl_verify_depth 2;
			proxy_ssl_trusted_certificate $ic/ca.pem;
			proxy_ssl_session_reuse off;
			proxy_max_temp_file_size 0;
		}
	}
}
EOF
	} >"$tmp/iref/nginx.conf"
}

# i_nginx NAME PIN: start nginx with $tmp/NAME/nginx.conf; prints the PID.
i_nginx() {
	$2 nginx -p "$tmp/$1" -c "$tmp/$1/nginx.conf" -g 'daemon off;' \
	    >"$tmp/$1.out" 2>&1 &
	echo $!
}

start_origin() {
	write_origin
	# shellcheck disable=SC2086
	I_ORIGIN_PID=$(i_nginx iorigin "$PIN_LOAD")
	remember "$I_ORIGIN_PID"
	sleep 0.5
	# Straight to the origin (its own CA): nothing in between.
	if $TL hs -d "127.0.0.1:$I_ORIGIN" -A "$ic/ca.pem" -n 1 -c 1 -T 5 \
	    >"$tmp/iprobe.out" 2>&1; then
		# The origin's first /bulk is slower (its file's pages are
		# new) and would be charged to whichever peer comes first:
		# one direct fetch before any is measured.
		$PIN_LOAD $TL bulk -t 1 -u /bulk -f 0 -d "127.0.0.1:$I_ORIGIN" \
		    -A "$ic/ca.pem" -c 1 -T 30 -l i_warmup \
		    >/dev/null 2>>"$tmp/tls_load.log"
		return 0
	fi
	echo "bench: the TLS origin does not answer: $(cat "$tmp/iprobe.out")" \
	    "$(tail -n 3 "$tmp/iorigin/error.log" 2>/dev/null)" >&2
	return 1
}

start_iref() {
	write_ref
	I_REF_PID=$(i_nginx iref "$PIN_PROXY")
	remember "$I_REF_PID"
	i_probe nginx-ref "$I_REF_PID" && return 0
	tail -n 3 "$tmp/iref/error.log" >&2
	stop_pid "$I_REF_PID"
	I_REF_PID=""
}

# ------------------------------------------------------------------
# Squid with ssl-bump: its own CA (EC P-256, like sluicectl's default;
# Squid signs its leaves with the CA's own key), security_file_certgen
# as the sslcrtd helper with its database, the in-memory certificate
# cache.  Debian's "squid" is built without OpenSSL: only squid-openssl
# can bump.

SQUID_CERTGEN=/usr/lib/squid/security_file_certgen

# squid_bump_why: empty if this Squid can bump, else why not.
squid_bump_why() {
	have squid || {
		echo "squid is not installed"
		return
	}
	squid -v 2>/dev/null | grep -q -- '--with-openssl' || {
		echo "this Squid is built without OpenSSL, so without ssl-bump" \
		    "(Debian's squid; squid-openssl has it)"
		return
	}
	[ -x $SQUID_CERTGEN ] || echo "$SQUID_CERTGEN is missing"
}

write_isquid() {
	mkdir -p "$tmp/isquid"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -days 30 -subj "/CN=squid bench bump CA" \
	    -keyout "$tmp/isquid/ca.key" -out "$tmp/isquid/ca.pem" \
	    >/dev/null 2>&1 || return 1
	rm -rf "$tmp/isquid/ssl_db"
	$SQUID_CERTGEN -c -s "$tmp/isquid/ssl_db" -M 16MB \
	    >"$tmp/isquid/certgen.out" 2>&1 || return 1
	chown -R proxy:proxy "$tmp/isquid" 2>/dev/null || chmod -R a+rwX "$tmp/isquid"
	cat >"$tmp/isquid.conf" <<EOF
http_port 127.0.0.1:$I_SQUID ssl-bump tls-cert=$tmp/isquid/ca.pem tls-key=$tmp/isquid/ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
sslcrtd_program $SQUID_CERTGEN -s $tmp/isquid/ssl_db -M 16MB
sslcrtd_children 8 startup=1 idle=1
tls_outgoing_options cafile=$ic/ca.pem min-version=1.2
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
$(squid_common "$tmp/isquid" 8192)
acl CONNECT method CONNECT
http_access allow localhost
http_access deny all
EOF
}

start_isquid() {
	write_isquid || {
		i_note "squid-bump: cannot make its CA or certificate database"
		return 0
	}
	$PIN_PROXY squid -N -f "$tmp/isquid.conf" >"$tmp/isquid.out" 2>&1 &
	I_SQUID_PID=$!
	remember "$I_SQUID_PID"
	i_probe squid-bump "$I_SQUID_PID" && return 0
	tail -n 3 "$tmp/isquid/cache.log" "$tmp/isquid.out" >&2
	stop_pid "$I_SQUID_PID"
	I_SQUID_PID=""
}

# ------------------------------------------------------------------
# mitmdump: its own CA (made at its first start in its confdir, RSA
# 2048, and its leaves use that key), the origin trusted, quiet, bodies
# over 1 MiB streamed (its default buffers whole bodies in memory).

# start_imitm regular|transparent PORT: prints nothing, sets the PID.
start_imitm() {
	mkdir -p "$tmp/imitm"
	$PIN_PROXY mitmdump -q --mode "$1" --listen-host 127.0.0.1 \
	    --listen-port "$2" --set confdir="$tmp/imitm" \
	    --set ssl_verify_upstream_trusted_ca="$ic/ca.pem" \
	    --set stream_large_bodies=1m >>"$tmp/imitm.log" 2>&1 &
	im_pid=$!
	remember $im_pid
	if [ "$1" = transparent ]; then
		I_MITMT_PID=$im_pid
		sleep 3
		kill -0 $im_pid 2>/dev/null && return 0
		return 1
	fi
	I_MITM_PID=$im_pid
	# Its CA file appears a moment after the start.
	i=0
	while [ ! -s "$tmp/imitm/mitmproxy-ca-cert.pem" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	i_probe mitmproxy $im_pid && return 0
	tail -n 3 "$tmp/imitm.log" >&2
	stop_pid $im_pid
	I_MITM_PID=""
}

# ------------------------------------------------------------------
# sluiced inspecting everything: the appliance CA from sluicectl, the
# origin trusted through upstream-ca-bundle, one worker, no flow log.
# The client CONNECTs to 127.0.0.1 and names the origin in its SNI
# (the rule decides on the address, so no name is resolved).

write_isluiced() {
	{
		echo "# sluice inspection benchmark (tests/bench/inspect.sh)"
		echo "set workers 1"
		echo "set log-level warn"
		echo "set log-allowed off"
		echo "set connect-ports 1-65535"
		echo "set upstream-ca-bundle $ic/ca.pem"
		echo "listen explicit 127.0.0.1:$I_SLUICE"
		echo "listen transparent 127.0.0.1:$I_SLUICE_T"
		echo "rule bench inspect ip 127.0.0.1 port 1-65535"
		echo "default deny"
	} >"$tmp/sluiced-inspect.conf"
}

start_isluiced() {
	mkdir -p "$tmp/istate"
	"$BUILD/sluicectl" ca init --dir "$tmp/istate" \
	    --cn "sluice bench inspection CA" >"$tmp/isluice-ca.out" 2>&1 || {
		i_note "sluice: sluicectl ca init failed: $(head -n 1 \
		    "$tmp/isluice-ca.out")"
		return 0
	}
	write_isluiced
	echo "--- inspect" >>"$tmp/sluiced.log"
	$PIN_PROXY "$BUILD/sluiced" -f -c "$tmp/sluiced-inspect.conf" \
	    $SLUICED_OPTS -o state-dir="$tmp/istate" -o log-dir="$tmp" \
	    >>"$tmp/sluiced.log" 2>&1 &
	I_SLUICED_PID=$!
	remember "$I_SLUICED_PID"
	i_probe sluice "$I_SLUICED_PID" && return 0
	i_note "sluice: not available for inspection ($(tail -n 1 \
	    "$tmp/sluiced.log"))"
	stop_pid "$I_SLUICED_PID"
	I_SLUICED_PID=""
}

# ------------------------------------------------------------------
# One measurement: tls_load's JSON line into $raw.

# i_measure FIG PEER RUN
i_measure() {
	pid=$(i_pid "$2")
	[ -n "$pid" ] || return 0
	case $1 in
	i_warm) m="hs -W $I_WARM -f 0 -w $((2 * I_WARM)) -n $I_HS" ;;
	i_cold) m="hs -f $((I_WARM + ($3 - 1) * I_COLD)) -n $I_COLD" ;;
	i_bulk) m="bulk -t 1 -u /bulk -f 0" ;;
	esac
	# A developer's profile of one figure: BENCH_TLS_PERF=DIR records
	# each measurement of each peer with perf into DIR/FIG-PEER-RUN.data.
	pp=""
	if [ -n "${BENCH_TLS_PERF:-}" ] && have perf; then
		mkdir -p "$BENCH_TLS_PERF"
		perf record -q -F ${BENCH_TLS_PERF_HZ:-499} ${BENCH_TLS_PERF_G---call-graph dwarf,8192} \
		    -p "$pid$(pgrep -d, -P "$pid" | sed 's/^./,&/')" \
		    -o "$BENCH_TLS_PERF/$1-$2-$3.data" >/dev/null 2>&1 &
		pp=$!
		sleep 0.5
	fi
	# shellcheck disable=SC2046,SC2086
	line=$(timeout -k 5 $((I_LIMIT + 60)) $PIN_LOAD $TL $m $(i_via "$2") \
	    -d "$(i_dest "$2")" -c $I_CONC -T $I_LIMIT -p "$pid" $CORE \
	    -l "$1/$2/$3" 2>>"$tmp/tls_load.log")
	if [ -n "$pp" ]; then
		kill -INT "$pp" 2>/dev/null
		wait "$pp" 2>/dev/null
	fi
	[ -n "$line" ] || line="{\"label\":\"$1/$2/$3\",\"failed\":1,\"first_error\":\"tls_load produced no result\"}"
	echo "$line" >>"$raw"
	printf '  run %s %-7s %-10s %s\n' "$3" "$1" "$2" \
	    "$(echo "$line" | $PY "$top/tests/bench/report.py" --line)"
}

# ------------------------------------------------------------------
# HTTP/2 (h2load, which speaks to no proxy): through an nftables redirect
# of h2load's connections (it runs as uid $I_NOBODY, the rule's match)
# to the origin's port onto a transparent inspecting proxy, which reads
# the original destination; the proxies' own connections (root) pass.

i_nft_on() {
	nft -f - <<EOF
table ip sluice_ibench {
	chain out {
		type nat hook output priority -100; policy accept;
		meta skuid $I_NOBODY ip daddr 127.0.0.1 tcp dport $I_ORIGIN redirect to :$1
	}
}
EOF
}

i_nft_off() {
	nft delete table ip sluice_ibench 2>/dev/null || true
}

# i_h2 PEER PID PORT RUN
i_h2() {
	i_nft_off
	i_nft_on "$3" 2>"$tmp/nft.out" || {
		i_note "h2 $1: nftables redirect failed: $(head -n 1 "$tmp/nft.out")"
		return 0
	}
	c0=$($TL cpu -p "$2" $CORE)
	t0=$(date +%s%N)
	timeout -k 5 $((I_LIMIT + 30)) $PIN_LOAD setpriv --reuid=$I_NOBODY \
	    --regid=$I_NOBODY --clear-groups h2load -n "$I_H2" -c $I_CONC \
	    -m 10 -T "$I_LIMIT" --connect-to="127.0.0.1:$I_ORIGIN" \
	    "https://n0000.bench.test:$I_ORIGIN/small" >"$tmp/h2load.out" 2>&1
	t1=$(date +%s%N)
	sleep 0.1
	c1=$($TL cpu -p "$2" $CORE)
	i_nft_off
	$PY - "$1" "$4" "$c0" "$c1" $(((t1 - t0) / 1000)) "$tmp/h2load.out" \
	    >>"$raw" <<'EOF'
import json, re, sys
peer, run, c0, c1, wall, path = sys.argv[1:7]
c0, c1 = json.loads(c0), json.loads(c1)
text = open(path).read()
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, "
              r"(\d+) succeeded, (\d+) failed, (\d+) errored", text)
r = {"label": "i_h2/%s/%s" % (peer, run), "mode": "h2load",
     "wall_us": int(wall), "cpu_us": c1["cpu_us"] - c0["cpu_us"],
     "core_busy_us": c1["core_busy_us"] - c0["core_busy_us"]}
if m:
    r["done"] = int(m.group(4))
    r["failed"] = int(m.group(5)) + int(m.group(6))
    r["unfinished"] = int(m.group(1)) - int(m.group(3))
else:
    r["failed"] = 1
if r["failed"] or not m or not r["done"]:
    r["first_error"] = (text.strip().splitlines() or ["no output"])[-1][:160]
print(json.dumps(r))
EOF
	printf '  run %s %-7s %-10s %s\n' "$4" i_h2 "$1" \
	    "$(tail -n 1 "$raw" | $PY "$top/tests/bench/report.py" --line)"
}

# ------------------------------------------------------------------

inspect_section() {
	i_start=$(date +%s)
	for t in nginx openssl; do
		have $t || {
			i_note "skipped: $t is not installed"
			return 0
		}
	done
	mkdir -p "$ic"
	$TL certs -o "$ic" -n $((I_WARM + I_RUNS * I_COLD)) || return 0
	start_origin || return 0

	# The floor: two handshakes and the records, no network.
	for k in ec rsa; do
		$PIN_PROXY $TL floor -n 500 -k $k -b 256 -l "i_floor/$k/1" \
		    >>"$raw" 2>>"$tmp/tls_load.log"
	done

	start_iref
	why=$(squid_bump_why)
	if [ -n "$why" ]; then
		i_note "squid-bump: not measured: $why"
	else
		start_isquid
	fi
	if have mitmdump; then
		start_imitm regular $I_MITM
	else
		i_note "mitmproxy: not measured: mitmdump is not installed"
	fi
	if [ $SLUICE_OK -eq 1 ]; then
		start_isluiced
	fi

	r=1
	while [ $r -le "$I_RUNS" ]; do
		if [ $r -gt 1 ] &&
		    [ $(($(date +%s) - i_start)) -ge "$I_BUDGET" ]; then
			echo "  time budget reached: no run $r (BENCH_TLS_BUDGET)"
			break
		fi
		for fig in $I_FIGS; do
			for peer in $I_PEERS; do
				i_measure $fig $peer $r
			done
		done
		r=$((r + 1))
	done

	# HTTP/2 requests per CPU-second: mitmproxy transparent, and
	# sluiced if it offers h2 to a client whose origin speaks it.
	alpn=""
	if [ -n "${I_SLUICED_PID:-}" ]; then
		# shellcheck disable=SC2046
		alpn=$($TL alpn $(i_via sluice) -d "127.0.0.1:$I_ORIGIN" \
		    -a h2,http/1.1 2>>"$tmp/tls_load.log")
	fi
	direct=$($TL alpn -d "127.0.0.1:$I_ORIGIN" -A "$ic/ca.pem" \
	    -a h2,http/1.1 2>>"$tmp/tls_load.log")
	for peer in $I_PEERS; do
		[ "$peer" = sluice ] || stop_pid "$(i_pid $peer)"
	done
	I_REF_PID="" I_SQUID_PID="" I_MITM_PID=""
	if [ "$where" != netns ]; then
		i_note "h2: not measured: needs root (network namespace + nftables)"
	elif ! have h2load; then
		i_note "h2: not measured: h2load is not installed (nghttp2-client)"
	else
		if have mitmdump && start_imitm transparent $I_MITM_T; then
			i_h2 mitmproxy "$I_MITMT_PID" $I_MITM_T 1
			stop_pid "$I_MITMT_PID"
		fi
		if [ -z "${I_SLUICED_PID:-}" ]; then
			:
		elif [ "$alpn" = h2 ]; then
			i_h2 sluice "$I_SLUICED_PID" $I_SLUICE_T 1
		else
			i_note "sluice h2: not measured: HTTP/2 inspection not" \
			    "in this build (sluiced negotiated '$alpn' where" \
			    "the origin alone negotiates '$direct')"
		fi
	fi
	stop_pid "${I_SLUICED_PID:-}"
	I_SLUICED_PID=""
	stop_pid "$I_ORIGIN_PID"
}
