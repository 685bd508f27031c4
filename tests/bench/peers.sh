# tests/bench/peers.sh — the processes of `make bench`: echod, HAProxy,
# Squid, nginx and sluiced, with configurations written to $tmp.  Sourced by
# tests/bench/run.sh, which sets BUILD, tmp, the port variables, PIN_PROXY
# and PIN_LOAD.  Every process started here is remembered by PID in $pids
# and stopped by that PID only.
#
# Ports (all on 127.0.0.1, inside the benchmark's own network namespace):
#   E_ECHO E_SOURCE E_SINK        echod
#   H_ECHO H_SOURCE               HAProxy TCP forward (splice forced on)
#   H_SNI                         HAProxy req.ssl_sni + inspect-delay, to
#                                 the original destination (transparent)
#   Q_PORT                        Squid CONNECT
#   N_ECHO N_SOURCE               nginx stream + ssl_preread
#   S_EXPL S_TRANS                sluiced explicit and transparent
#   F_PORT F_TRANS                connect_floor, explicit and -t (references
#                                 for cps and t_cps)

pids=""

# remember PID: add it to the list cleanup kills.
remember() {
	pids="$pids $1"
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL; forget it.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	np=""
	for p in $pids; do
		[ "$p" = "$1" ] || np="$np $p"
	done
	pids=$np
}

stop_all() {
	for p in $pids; do
		stop_pid "$p"
	done
}

# probe ARGS...: one echoed connection through a path, quietly.
probe() {
	$BUILD/tools/loadgen cps -n 2 -c 1 -T 3 "$@" >/dev/null 2>&1
}

# wait_probe NAME PID TRIES ARGS...: until a probe passes or PID dies.
wait_probe() {
	wp_name=$1 wp_pid=$2 wp_tries=$3
	shift 3
	i=0
	while [ $i -lt "$wp_tries" ]; do
		kill -0 "$wp_pid" 2>/dev/null || return 1
		probe "$@" && return 0
		sleep 0.2
		i=$((i + 1))
	done
	echo "bench: $wp_name did not answer within $((wp_tries / 5)) s" >&2
	return 1
}

# ------------------------------------------------------------------
# echod: echo, source and sink, on the load generator's core.

start_echod() {
	$PIN_LOAD $BUILD/tools/echod -T 3600 echo:$E_ECHO source:$E_SOURCE \
	    sink:$E_SINK >"$tmp/echod.out" 2>&1 &
	ECHOD_PID=$!
	remember $ECHOD_PID
	i=0
	while ! grep -q 'echod ready' "$tmp/echod.out" 2>/dev/null; do
		kill -0 $ECHOD_PID 2>/dev/null && [ $i -lt 50 ] || {
			echo "bench: echod did not start:" >&2
			cat "$tmp/echod.out" >&2
			return 1
		}
		sleep 0.1
		i=$((i + 1))
	done
}

# ------------------------------------------------------------------
# HAProxy 2.6: TCP forwarding with splice forced on both ways, and
# SNI-routing frontends that wait for the ClientHello (issue #4).

write_haproxy() {
	cat >"$tmp/haproxy.cfg" <<EOF
global
	nbthread 1
	# 5,000 idle tunnels plus warm-up; fits a 20,000 fd limit
	# (HAProxy needs about 2 x maxconn + 2 x maxpipes fds).
	maxconn 7000
	maxpipes 1000
defaults
	mode tcp
	timeout connect 5s
	timeout client 1h
	timeout server 1h
	option splice-request
	option splice-response
backend echo
	server echo 127.0.0.1:$E_ECHO
backend source
	server source 127.0.0.1:$E_SOURCE
frontend fwd_echo
	bind 127.0.0.1:$H_ECHO
	default_backend echo
frontend fwd_source
	bind 127.0.0.1:$H_SOURCE
	default_backend source
# Transparent, as sluiced: the flows arrive through the nftables redirect
# and go to their original destination (server 0.0.0.0 without a port:
# the address and port SO_ORIGINAL_DST returns).
backend orig
	server orig 0.0.0.0
frontend sni
	bind 127.0.0.1:$H_SNI
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.ssl_hello_type 1 }
	use_backend orig if { req.ssl_sni -i bench.test }
EOF
}

start_haproxy() {
	write_haproxy
	$PIN_PROXY haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	remember $HAPROXY_PID
	wait_probe haproxy $HAPROXY_PID 50 -d 127.0.0.1:$H_ECHO || {
		tail -n 5 "$tmp/haproxy.log" >&2
		return 1
	}
}

# ------------------------------------------------------------------
# Squid 5.7: CONNECT only, one worker, no cache, no access log.

# squid_common DIR NOFILE: what every Squid of the bench has (one worker,
# no cache, no access log), its logs in DIR.
squid_common() {
	cat <<EOF
workers 1
visible_hostname bench.test
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $1/cache.log
pid_filename none
coredump_dir $1
pinger_enable off
max_filedescriptors $2
shutdown_lifetime 1 seconds
EOF
}

write_squid() {
	mkdir -p "$tmp/squid"
	chown proxy:proxy "$tmp/squid" 2>/dev/null || chmod 777 "$tmp/squid"
	cat >"$tmp/squid.conf" <<EOF
http_port 127.0.0.1:$Q_PORT
$(squid_common "$tmp/squid" "$NOFILE")
acl bench_ports port 1-65535
acl CONNECT method CONNECT
http_access deny CONNECT !bench_ports
http_access allow localhost
http_access deny all
EOF
}

start_squid() {
	write_squid
	$PIN_PROXY squid -N -f "$tmp/squid.conf" >"$tmp/squid.out" 2>&1 &
	SQUID_PID=$!
	remember $SQUID_PID
	wait_probe squid $SQUID_PID 100 -x 127.0.0.1:$Q_PORT \
	    -d 127.0.0.1:$E_ECHO || {
		tail -n 5 "$tmp/squid/cache.log" "$tmp/squid.out" >&2
		return 1
	}
}

# ------------------------------------------------------------------
# nginx 1.22 stream with ssl_preread: routes by the ClientHello's SNI.

write_nginx() {
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 8000; }
stream {
	upstream echo { server 127.0.0.1:$E_ECHO; }
	upstream source { server 127.0.0.1:$E_SOURCE; }
	upstream refuse { server 127.0.0.1:1; }
	map \$ssl_preread_server_name \$to_echo {
		bench.test echo;
		default refuse;
	}
	map \$ssl_preread_server_name \$to_source {
		bench.test source;
		default refuse;
	}
	# Half-close propagated, as sluiced and HAProxy do (nginx's
	# default closes both sides on the client's FIN).
	proxy_half_close on;
	server {
		listen 127.0.0.1:$N_ECHO;
		ssl_preread on;
		preread_timeout 5s;
		proxy_pass \$to_echo;
	}
	server {
		listen 127.0.0.1:$N_SOURCE;
		ssl_preread on;
		preread_timeout 5s;
		proxy_pass \$to_source;
	}
}
EOF
}

start_nginx() {
	write_nginx
	$PIN_PROXY nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
	    -g 'daemon off;' >"$tmp/nginx.out" 2>&1 &
	NGINX_PID=$!
	remember $NGINX_PID
	wait_probe nginx $NGINX_PID 50 -d 127.0.0.1:$N_ECHO -H "$HELLO" || {
		tail -n 5 "$tmp/nginx/error.log" "$tmp/nginx.out" >&2
		return 1
	}
}

# ------------------------------------------------------------------
# connect_floor: the kernel's share of a CONNECT tunnel (see its source).

# start_floor explicit|transparent
start_floor() {
	if [ "$1" = explicit ]; then
		set -- -l $F_PORT -- -x 127.0.0.1:$F_PORT
	else
		set -- -t -l $F_TRANS -- -s 127.0.0.3 -H "$HELLO"
	fi
	fl_args=""
	while [ "$1" != -- ]; do
		fl_args="$fl_args $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	$PIN_PROXY $BUILD/tools/connect_floor $fl_args -T 3600 \
	    >"$tmp/floor.out" 2>&1 &
	FLOOR_PID=$!
	remember $FLOOR_PID
	wait_probe connect_floor $FLOOR_PID 50 "$@" -d 127.0.0.1:$E_ECHO || {
		tail -n 5 "$tmp/floor.out" >&2
		return 1
	}
}

# ------------------------------------------------------------------
# sluiced, one worker, no flow log.  Loopback destinations are refused by
# the guard rails unless a rule names them, so the rules name 127.0.0.1.
#   explicit:     the one rule the comparison needs (CONNECT to an IP
#                 literal), as HAProxy and Squid get no rules either.
#   transparent:  a rule that needs the SNI, so every flow is decided only
#                 after its ClientHello is peeked, as HAProxy's req.ssl_sni
#                 and nginx's ssl_preread do; no-sni-check: the name is not
#                 resolved (bench.test has no address).

# write_sluiced explicit|transparent
write_sluiced() {
	{
		echo "# sluice benchmark configuration ($1; tests/bench/peers.sh)"
		echo "set workers 1"
		echo "set log-level warn"
		echo "set log-allowed off"
		echo "set connect-ports 1-65535"
		if [ "$1" = explicit ]; then
			echo "listen explicit 127.0.0.1:$S_EXPL"
			echo "rule bench splice ip 127.0.0.1 port 1-65535"
		else
			echo "listen transparent 127.0.0.1:$S_TRANS"
			echo "rule bench-sni splice no-sni-check domain bench.test" \
			    "ip 127.0.0.1 port 1-65535"
		fi
		echo "default deny"
	} >"$tmp/sluiced-$1.conf"
}

SLUICED_OPTS="-o user= -o pid-file="

# sluiced_check: is there a sluiced that accepts both configurations?
# Sets SLUICE_WHY when not.
sluiced_check() {
	if [ ! -x "$BUILD/sluiced" ]; then
		SLUICE_WHY="$BUILD/sluiced is not built"
		return 1
	fi
	for m in explicit transparent; do
		write_sluiced $m
		if ! "$BUILD/sluiced" -t -c "$tmp/sluiced-$m.conf" \
		    $SLUICED_OPTS -o state-dir="$tmp" -o log-dir="$tmp" \
		    >"$tmp/sluiced-t.out" 2>&1; then
			SLUICE_WHY="sluiced -t rejects the $m benchmark \
configuration: $(head -n 1 "$tmp/sluiced-t.out")"
			return 1
		fi
	done
}

# start_sluiced explicit|transparent: the transparent one is probed through
# the nftables redirect, which must be loaded first (nft_on).
start_sluiced() {
	write_sluiced $1
	echo "--- $1" >>"$tmp/sluiced.log"
	$PIN_PROXY "$BUILD/sluiced" -f -c "$tmp/sluiced-$1.conf" \
	    $SLUICED_OPTS -o state-dir="$tmp" -o log-dir="$tmp" \
	    >>"$tmp/sluiced.log" 2>&1 &
	SLUICED_PID=$!
	remember $SLUICED_PID
	if [ "$1" = explicit ]; then
		set -- -x 127.0.0.1:$S_EXPL -d 127.0.0.1:$E_ECHO
	else
		set -- -d 127.0.0.1:$E_ECHO -s 127.0.0.2 -H "$HELLO"
	fi
	wait_probe sluiced $SLUICED_PID 50 "$@" && return 0
	SLUICE_WHY="no echo through it ($(tail -n 1 "$tmp/sluiced.log"))"
	stop_pid $SLUICED_PID
	SLUICED_PID=""
	return 1
}

# ------------------------------------------------------------------
# nftables: every peer of the transparent benchmark is a transparent
# gateway and gets its flows the same way, through a redirect of the load
# generator's connections to the echod ports: from 127.0.0.2 onto sluiced's
# transparent listener, 127.0.0.3 onto connect_floor -t, 127.0.0.4 onto
# nginx (a listener per echod port: nginx cannot read the original
# destination) and 127.0.0.5 onto HAProxy (which reads it, as sluiced
# does).  The proxies' own upstream connections come from 127.0.0.1 and
# are not redirected.  A nat chain turns connection tracking on for the
# whole namespace, so every peer runs with it.

nft_on() {
	nft -f - <<EOF
table ip sluice_bench {
	chain out {
		type nat hook output priority -100; policy accept;
		ip saddr 127.0.0.2 ip daddr 127.0.0.1 tcp dport { $E_ECHO, $E_SOURCE } redirect to :$S_TRANS
		ip saddr 127.0.0.3 ip daddr 127.0.0.1 tcp dport $E_ECHO redirect to :$F_TRANS
		ip saddr 127.0.0.4 ip daddr 127.0.0.1 tcp dport $E_ECHO redirect to :$N_ECHO
		ip saddr 127.0.0.4 ip daddr 127.0.0.1 tcp dport $E_SOURCE redirect to :$N_SOURCE
		ip saddr 127.0.0.5 ip daddr 127.0.0.1 tcp dport { $E_ECHO, $E_SOURCE } redirect to :$H_SNI
	}
}
EOF
}

nft_off() {
	nft delete table ip sluice_bench 2>/dev/null || true
}
