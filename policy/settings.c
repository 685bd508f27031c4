/*
 * settings.c — the `set NAME VALUE` table: types, defaults, range checks.
 *
 * Defaults are written as the text an admin would write and go through the
 * same parser, so the documented default and the effective one cannot
 * drift apart.  Durations are stored in milliseconds, sizes in bytes.
 */
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

enum st_type {
	ST_UINT = 0,		/* plain number; "auto" = 0 where allowed */
	ST_DUR,			/* 250ms 10s 5m 1h, bare = seconds -> ms */
	ST_SIZE,		/* 512 16k 1m, bare = bytes */
	ST_BOOL,		/* on | off */
	ST_STR,
	ST_LOGLEVEL,		/* err | warn | info | debug */
	ST_PREFER,		/* ipv6 | ipv4 */
	ST_FALLBACK,		/* splice | deny */
	ST_PORTS,		/* port set; min: the protocol it takes */
	ST_CIDRS,		/* CIDR list kept as text (nft-clients) */
	ST_IFACES,		/* interface names kept as text */
};

struct st_def {
	const char	*name;
	enum st_type	 type;
	size_t		 off;
	unsigned long	 min, max;
	const char	*def;
	unsigned	 auto_ok:1;	/* "auto" means 0 */
};

#define O(f)	offsetof(struct sl_settings, f)
#define K	1024UL
#define M	(1024UL * 1024UL)
#define SEC	1000UL
#define HOUR	(3600UL * 1000UL)
#define DAY	(24UL * HOUR)

static const struct st_def st_defs[] = {
	{ "workers", ST_UINT, O(workers), 0, 256, "auto", 1 },
	{ "user", ST_STR, O(user), 0, 0, "sluice", 0 },
	{ "group", ST_STR, O(group), 0, 0, "", 0 },
	{ "state-dir", ST_STR, O(state_dir), 0, 0, "/var/lib/sluice", 0 },
	{ "log-dir", ST_STR, O(log_dir), 0, 0, "/var/log/sluice", 0 },
	{ "pid-file", ST_STR, O(pid_file), 0, 0, "/run/sluiced.pid", 0 },
	{ "log-level", ST_LOGLEVEL, O(log_level), 0, 0, "info", 0 },
	{ "max-connections", ST_UINT, O(max_connections), 1, 1000000,
	    "20000", 0 },
	{ "drain-timeout", ST_DUR, O(drain_timeout), 1, DAY, "30s", 0 },
	{ "request-line-max", ST_SIZE, O(request_line_max), 256, M, "8k", 0 },
	{ "header-max", ST_SIZE, O(header_max), 1 * K, M, "32k", 0 },
	{ "header-count-max", ST_UINT, O(header_count_max), 1, 256, "100",
	    0 },
	/* An origin's head is not a client's: responses have their own,
	 * larger limits (issue 12 item 9).  256 is the parser's field
	 * array, SL_HTTP_MAX_HEADERS, as for header-count-max. */
	{ "response-header-max", ST_SIZE, O(response_header_max), 1 * K, M,
	    "64k", 0 },
	{ "response-header-count-max", ST_UINT, O(response_header_count_max),
	    1, 256, "256", 0 },
	{ "client-header-timeout", ST_DUR, O(client_header_timeout), 1, HOUR,
	    "10s", 0 },
	{ "http-idle-timeout", ST_DUR, O(http_idle_timeout), 1, DAY, "60s",
	    0 },
	{ "via", ST_BOOL, O(via), 0, 1, "on", 0 },
	{ "connect-ports", ST_PORTS, O(connect_ports), IPPROTO_TCP, 0, "443",
	    0 },
	{ "http-ports", ST_PORTS, O(http_ports), IPPROTO_TCP, 0,
	    "80,443,1025-65535", 0 },
	{ "connect-timeout", ST_DUR, O(connect_timeout), 1, HOUR, "10s", 0 },
	{ "happy-eyeballs-delay", ST_DUR, O(happy_eyeballs_delay), 10,
	    10 * SEC, "250ms", 0 },
	{ "idle-timeout", ST_DUR, O(idle_timeout), 1, 7 * DAY, "1h", 0 },
	{ "relay-buffer", ST_SIZE, O(relay_buffer), 4 * K, 64 * M, "64k", 0 },
	/* HTTP/2 on the inspected path (docs/design/h2.md "Limits"). */
	{ "h2-max-streams", ST_UINT, O(h2_max_streams), 1, 10000, "100", 0 },
	{ "h2-header-list-max", ST_SIZE, O(h2_header_list_max), 1 * K, M,
	    "32k", 0 },
	{ "h2-max-continuations", ST_UINT, O(h2_max_continuations), 0, 1000,
	    "8", 0 },
	{ "h2-reset-max", ST_UINT, O(h2_reset_max), 1, 1000000, "200", 0 },
	{ "h2-control-max", ST_UINT, O(h2_control_max), 1, 1000000, "1000",
	    0 },
	{ "h2-flood-window", ST_DUR, O(h2_flood_window), 100, HOUR, "10s",
	    0 },
	{ "h2-stall-timeout", ST_DUR, O(h2_stall_timeout), 1, DAY, "30s", 0 },
	{ "pipe-size", ST_SIZE, O(pipe_size), 4 * K, 16 * M, "1m", 0 },
	{ "so-mark", ST_UINT, O(so_mark), 0, UINT_MAX, "0", 0 },
	{ "dns-timeout", ST_DUR, O(dns_timeout), 1, 60 * SEC, "2s", 0 },
	{ "dns-tries", ST_UINT, O(dns_tries), 1, 10, "2", 0 },
	{ "dns-cache-size", ST_UINT, O(dns_cache_size), 0, 10000000, "4096",
	    0 },
	{ "dns-ttl-min", ST_DUR, O(dns_ttl_min), 0, DAY, "5s", 0 },
	{ "dns-ttl-max", ST_DUR, O(dns_ttl_max), 1, 7 * DAY, "1h", 0 },
	{ "dns-negative-ttl", ST_DUR, O(dns_negative_ttl), 0, DAY, "30s", 0 },
	{ "dns-prefer", ST_PREFER, O(dns_prefer_ipv6), 0, 0, "ipv6", 0 },
	{ "peek-timeout", ST_DUR, O(peek_timeout), 1, 60 * SEC, "3s", 0 },
	{ "peek-max", ST_SIZE, O(peek_max), 1 * K, M, "32k", 0 },
	{ "sni-check", ST_BOOL, O(sni_check), 0, 1, "on", 0 },
	{ "inspect-fallback", ST_FALLBACK, O(inspect_fallback), 0, 0,
	    "splice", 0 },
	{ "nft-clients", ST_CIDRS, O(nft_clients), 0, 0, "", 0 },
	{ "nft-interfaces", ST_IFACES, O(nft_interfaces), 0, 0, "", 0 },
	{ "transparent-tcp-ports", ST_PORTS, O(transparent_tcp_ports),
	    IPPROTO_TCP, 0, "80,443,12000-12002", 0 },
	{ "transparent-udp-ports", ST_PORTS, O(transparent_udp_ports),
	    IPPROTO_UDP, 0, "udp/3478,udp/5349", 0 },
	/* UDP forwarding (docs/design/udp.md): sessions per worker. */
	{ "udp-forward", ST_BOOL, O(udp_forward), 0, 1, "on", 0 },
	{ "udp-max-sessions", ST_UINT, O(udp_max_sessions), 1, 1000000,
	    "10000", 0 },
	{ "udp-max-sessions-per-client", ST_UINT,
	    O(udp_max_sessions_per_client), 1, 1000000, "256", 0 },
	{ "udp-idle-timeout", ST_DUR, O(udp_idle_timeout), 1 * SEC, DAY,
	    "60s", 0 },
	{ "udp-blocked-interval", ST_DUR, O(udp_blocked_interval), 100, HOUR,
	    "10s", 0 },
	{ "udp-inspect", ST_FALLBACK, O(udp_inspect), 0, 0, "deny", 0 },
	/* Relative TLS paths resolve against state-dir, where `sluicectl
	 * ca init` puts the CA (tls/tls.h: sl_tls_ca_load). */
	{ "ca-cert", ST_STR, O(ca_cert), 0, 0, "ca.pem", 0 },
	{ "ca-key", ST_STR, O(ca_key), 0, 0, "ca.key", 0 },
	{ "upstream-ca-bundle", ST_STR, O(upstream_ca_bundle), 0, 0, "", 0 },
	{ "cert-cache-size", ST_UINT, O(cert_cache_size), 0, 1000000, "10000",
	    0 },
	{ "verify-cache-size", ST_UINT, O(verify_cache_size), 0, 1000000,
	    "10000", 0 },
	{ "verify-cache-ttl", ST_DUR, O(verify_cache_ttl), 1 * SEC, HOUR,
	    "5m", 0 },
	/* Learn mode: off by default, an admin opts in.  The client set of
	 * an entry holds 4x the largest threshold (policy/learn.h). */
	{ "learn-pinned", ST_BOOL, O(learn_pinned), 0, 1, "off", 0 },
	{ "learn-min-clients", ST_UINT, O(learn_min_clients), 1, 16, "3",
	    0 },
	{ "learn-max", ST_UINT, O(learn_max), 1, 100000, "1000", 0 },
	{ "learn-file", ST_STR, O(learn_file), 0, 0, "learned.json", 0 },
	{ "learn-save-interval", ST_DUR, O(learn_save_interval), 1 * SEC,
	    DAY, "60s", 0 },
	{ "log-allowed", ST_BOOL, O(log_allowed), 0, 1, "on", 0 },
	{ "log-silent", ST_BOOL, O(log_silent), 0, 1, "on", 0 },
};

_Static_assert(SL_NELEM(st_defs) <= POL_SETTINGS_MAX,
    "more settings than the parser has slots for (POL_SETTINGS_MAX)");

size_t
pol_setting_count(void)
{
	return SL_NELEM(st_defs);
}

const char *
pol_setting_name(size_t i)
{
	return i < SL_NELEM(st_defs) ? st_defs[i].name : NULL;
}

int
pol_setting_find(const char *name)
{
	for (size_t i = 0; i < SL_NELEM(st_defs); i++)
		if (strcmp(st_defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
pol_setting_suggest(const char *name)
{
	const char *names[SL_NELEM(st_defs)];

	for (size_t i = 0; i < SL_NELEM(st_defs); i++)
		names[i] = st_defs[i].name;
	return pol_closest(name, names, SL_NELEM(st_defs));
}

const char *
pol_setting_default(size_t i)
{
	return i < SL_NELEM(st_defs) ? st_defs[i].def : NULL;
}

/* Digits then an optional unit from units[]; 0 or -1. */
static int
st_number(const char *s, unsigned long long *num, const char **unit)
{
	unsigned long long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*num = v;
	*unit = p;
	return 0;
}

static int
st_dur(const char *s, unsigned long long *ms)
{
	unsigned long long v, mul;
	const char *u;

	if (st_number(s, &v, &u) == -1)
		return -1;
	if (strcmp(u, "") == 0 || strcmp(u, "s") == 0)
		mul = 1000;
	else if (strcmp(u, "ms") == 0)
		mul = 1;
	else if (strcmp(u, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(u, "h") == 0)
		mul = 3600 * 1000;
	else
		return -1;
	if (v > ULLONG_MAX / mul)
		return -1;
	*ms = v * mul;
	return 0;
}

static int
st_size(const char *s, unsigned long long *bytes)
{
	unsigned long long v, mul;
	const char *u;

	if (st_number(s, &v, &u) == -1)
		return -1;
	if (strcmp(u, "") == 0)
		mul = 1;
	else if (strcasecmp(u, "k") == 0)
		mul = 1024;
	else if (strcasecmp(u, "m") == 0)
		mul = 1024 * 1024;
	else if (strcasecmp(u, "g") == 0)
		mul = 1024 * 1024 * 1024;
	else
		return -1;
	if (v > ULLONG_MAX / mul)
		return -1;
	*bytes = v * mul;
	return 0;
}

/* Human form of a limit for messages: "1h", "64k", "256". */
static void
st_fmt_limit(enum st_type t, unsigned long v, char *buf, size_t cap)
{
	if (t == ST_DUR) {
		if (v % HOUR == 0 && v)
			snprintf(buf, cap, "%luh", v / HOUR);
		else if (v % 60000 == 0 && v)
			snprintf(buf, cap, "%lum", v / 60000);
		else if (v % 1000 == 0 && v)
			snprintf(buf, cap, "%lus", v / 1000);
		else
			snprintf(buf, cap, "%lums", v);
	} else if (t == ST_SIZE) {
		if (v % M == 0 && v)
			snprintf(buf, cap, "%lum", v / M);
		else if (v % K == 0 && v)
			snprintf(buf, cap, "%luk", v / K);
		else
			snprintf(buf, cap, "%lu", v);
	} else {
		snprintf(buf, cap, "%lu", v);
	}
}

static int
st_ports(struct pol_arena *a, const char *s, uint8_t proto,
    struct sl_portset **out, char *err, size_t errcap)
{
	struct pol_port v[256];
	size_t n = 0;
	char tok[64];

	while (*s != '\0') {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (len == 0 || len >= sizeof(tok)) {
			snprintf(err, errcap, "invalid port list (expected "
			    "e.g. 443,8443 or 80,1025-65535)");
			return -1;
		}
		if (n == SL_NELEM(v)) {
			snprintf(err, errcap, "more than 256 port ranges");
			return -1;
		}
		memcpy(tok, s, len);
		tok[len] = '\0';
		if (pol_port_parse(tok, &v[n], err, errcap) == -1)
			return -1;
		/* Each port setting is about one protocol: an entry of the
		 * other would silently match nothing. */
		if (v[n].proto != proto) {
			snprintf(err, errcap, "'%s' is a %s port; this setting "
			    "takes %s ports (%s)", tok,
			    v[n].proto == IPPROTO_UDP ? "UDP" : "TCP",
			    proto == IPPROTO_UDP ? "UDP" : "TCP",
			    proto == IPPROTO_UDP ? "write udp/PORT" :
			    "a bare port is TCP");
			return -1;
		}
		n++;
		s += len + (c ? 1 : 0);
		if (c != NULL && *s == '\0') {
			snprintf(err, errcap, "port list ends with ','");
			return -1;
		}
	}
	if ((*out = pol_portset_build(a, v, n)) == NULL) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	return 0;
}

static int
st_cidrs(const char *s, char *err, size_t errcap)
{
	char tok[SL_IP_STRLEN + 8];
	struct pol_cidr c;

	while (*s != '\0') {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len == 0 || len >= sizeof(tok)) {
			snprintf(err, errcap, "invalid CIDR list (expected "
			    "e.g. 10.0.0.0/8,192.168.0.0/16)");
			return -1;
		}
		memcpy(tok, s, len);
		tok[len] = '\0';
		if (pol_cidr_parse(tok, &c, err, errcap) == -1)
			return -1;
		s += len + (e ? 1 : 0);
	}
	return 0;
}

static int
st_ifaces(const char *s, char *err, size_t errcap)
{
	size_t len = 0;

	if (*s == '\0')
		return 0;
	for (const char *p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			/* IFNAMSIZ is 16 with the NUL. */
			if (len == 0 || len > 15) {
				snprintf(err, errcap, "invalid interface list "
				    "(expected names of 1..15 characters "
				    "separated by ',')");
				return -1;
			}
			len = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (!isalnum((unsigned char)*p) && strchr("._-@:", *p) == NULL) {
			snprintf(err, errcap, "invalid character '%c' in "
			    "interface list", *p);
			return -1;
		}
		len++;
	}
	return 0;
}

static int
st_word(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return (int)i;
	return -1;
}

static int
st_range(const struct st_def *d, unsigned long long v, char *err,
    size_t errcap)
{
	char lim[32];

	if (v < d->min) {
		st_fmt_limit(d->type, d->min, lim, sizeof(lim));
		snprintf(err, errcap, "'%s' must be at least %s%s", d->name,
		    lim, d->type == ST_DUR && d->min == 1 ? " (a timeout of "
		    "0 is not allowed)" : "");
		return -1;
	}
	if (v > d->max) {
		st_fmt_limit(d->type, d->max, lim, sizeof(lim));
		snprintf(err, errcap, "'%s' must be at most %s", d->name, lim);
		return -1;
	}
	return 0;
}

int
pol_setting_apply(struct pol_arena *a, struct sl_settings *s, size_t i,
    const char *val, char *err, size_t errcap)
{
	static const char *const levels[] = { "err", "warn", "info",
		"debug" };
	static const char *const prefer[] = { "ipv4", "ipv6" };
	static const char *const fallback[] = { "splice", "deny" };
	static const char *const onoff[] = { "off", "on" };
	const struct st_def *d = &st_defs[i];
	char *base = (char *)s + d->off;
	unsigned long long v = 0;
	int w;

	switch (d->type) {
	case ST_UINT:
		if (d->auto_ok && strcmp(val, "auto") == 0) {
			v = 0;
		} else {
			const char *u;

			if (st_number(val, &v, &u) == -1 || *u != '\0') {
				snprintf(err, errcap, "invalid number '%s' for "
				    "'%s'%s", val, d->name, d->auto_ok ?
				    " (expected a number or auto)" : "");
				return -1;
			}
		}
		if (st_range(d, v, err, errcap) == -1)
			return -1;
		*(unsigned *)(void *)base = (unsigned)v;
		return 0;
	case ST_DUR:
		if (st_dur(val, &v) == -1) {
			snprintf(err, errcap, "invalid duration '%s' for '%s' "
			    "(expected e.g. 250ms, 10s, 5m, 1h)", val, d->name);
			return -1;
		}
		if (st_range(d, v, err, errcap) == -1)
			return -1;
		*(unsigned *)(void *)base = (unsigned)v;
		return 0;
	case ST_SIZE:
		if (st_size(val, &v) == -1) {
			snprintf(err, errcap, "invalid size '%s' for '%s' "
			    "(expected e.g. 512, 16k, 1m)", val, d->name);
			return -1;
		}
		if (st_range(d, v, err, errcap) == -1)
			return -1;
		*(unsigned *)(void *)base = (unsigned)v;
		return 0;
	case ST_BOOL:
		if ((w = st_word(val, onoff, 2)) == -1) {
			snprintf(err, errcap, "invalid value '%s' for '%s' "
			    "(expected on or off)", val, d->name);
			return -1;
		}
		*(int *)(void *)base = w;
		return 0;
	case ST_PREFER:
		if ((w = st_word(val, prefer, 2)) == -1) {
			snprintf(err, errcap, "invalid value '%s' for '%s' "
			    "(expected ipv6 or ipv4)", val, d->name);
			return -1;
		}
		*(int *)(void *)base = w;
		return 0;
	case ST_FALLBACK:
		if ((w = st_word(val, fallback, 2)) == -1) {
			snprintf(err, errcap, "invalid value '%s' for '%s' "
			    "(expected splice or deny)", val, d->name);
			return -1;
		}
		*(enum sl_fallback *)(void *)base = w == 0 ?
		    SL_FALLBACK_SPLICE : SL_FALLBACK_DENY;
		return 0;
	case ST_LOGLEVEL:
		if (st_word(val, levels, 4) == -1) {
			snprintf(err, errcap, "invalid value '%s' for '%s' "
			    "(expected err, warn, info or debug)", val,
			    d->name);
			return -1;
		}
		break;
	case ST_PORTS:
		if (st_ports(a, val, (uint8_t)d->min,
		    (struct sl_portset **)(void *)base, err, errcap) == -1) {
			size_t l = strlen(err);

			snprintf(err + l, errcap - l, " in '%s'", d->name);
			return -1;
		}
		return 0;
	case ST_CIDRS:
		if (st_cidrs(val, err, errcap) == -1)
			return -1;
		break;
	case ST_IFACES:
		if (st_ifaces(val, err, errcap) == -1)
			return -1;
		break;
	case ST_STR:
		break;
	}
	/* String-valued: keep the text. */
	{
		char *copy = pa_strdup(a, val);

		if (copy == NULL) {
			snprintf(err, errcap, "out of memory");
			return -1;
		}
		*(char **)(void *)base = copy;
	}
	return 0;
}

int
pol_settings_defaults(struct pol_arena *a, struct sl_settings *s)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < SL_NELEM(st_defs); i++)
		if (pol_setting_apply(a, s, i, st_defs[i].def, err,
		    sizeof(err)) == -1)
			return -1;
	return 0;
}

int
pol_settings_cross(const struct sl_settings *s, int which[2], char *err,
    size_t errcap)
{
	if (s->header_max < s->request_line_max) {
		which[0] = pol_setting_find("header-max");
		which[1] = pol_setting_find("request-line-max");
		snprintf(err, errcap, "'header-max' (%u) must be at least "
		    "'request-line-max' (%u)", s->header_max,
		    s->request_line_max);
		return -1;
	}
	if (s->dns_ttl_min > s->dns_ttl_max) {
		which[0] = pol_setting_find("dns-ttl-max");
		which[1] = pol_setting_find("dns-ttl-min");
		snprintf(err, errcap, "'dns-ttl-max' (%ums) must be at least "
		    "'dns-ttl-min' (%ums)", s->dns_ttl_max, s->dns_ttl_min);
		return -1;
	}
	return 0;
}
