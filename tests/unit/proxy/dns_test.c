/*
 * dns_test.c — the resolver (proxy/dns.c) against an in-process UDP DNS
 * responder on 127.0.0.1.
 *
 * The responder is a libevent event on the resolver's own base: it parses
 * the question by hand, answers A/AAAA from a canned table with the TTLs
 * the test chose, says NXDOMAIN or SERVFAIL for some names, never answers
 * others, and counts the queries per name and type.  The resolver is
 * configured through the configuration language (`resolver 127.0.0.1:PORT`)
 * so the test also proves that c-ares asks this responder and nothing
 * from /etc/resolv.conf: every answer carries addresses only the table
 * knows, and every query is counted.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "proxy/dns.h"
#include "tests/unit/t.h"

#define WAIT_MS		3000	/* longest any single wait may take */

enum rmode {
	R_ANSWER = 0,
	R_NXDOMAIN,
	R_SILENT,		/* never answers: the lookup must time out */
	R_SERVFAIL,
};

/* One name the responder knows. */
struct rname {
	const char	*name;
	enum rmode	 mode;
	const char	*a[4];		/* IPv4 answers, NULL-terminated */
	const char	*aaaa[4];	/* IPv6 answers */
	uint32_t	 ttl_a, ttl_aaaa;
	unsigned	 nq_a, nq_aaaa;	/* queries seen */
};

struct dt {
	struct event_base	*base;
	struct sl_config	*cfg;
	struct sl_dns		*dns;
	int			 fd;	/* the responder's socket */
	struct event		*ev;
	struct rname		*tab;	/* borrowed from the test */
	size_t			 ntab;
	unsigned		 nq_other; /* queries for names not in tab */
};

/* What a lookup callback saw. */
struct rec {
	int			 returned; /* sl_dns_lookup has returned */
	int			 early;	/* calls before it had */
	int			 calls;
	struct sl_dns_result	 res;
};

/* ------------------------------------------------------------------ */
/* the responder                                                        */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static struct rname *
resp_find(struct dt *t, const char *name)
{
	for (size_t i = 0; i < t->ntab; i++)
		if (strcmp(t->tab[i].name, name) == 0)
			return &t->tab[i];
	return NULL;
}

/* Append the answer records of one family; returns the new offset. */
static size_t
resp_records(uint8_t *out, size_t off, size_t cap, const char *const *addrs,
    int af, uint16_t qtype, uint32_t ttl, unsigned *nan)
{
	size_t alen = af == AF_INET ? 4 : 16;

	for (size_t i = 0; i < 4 && addrs[i] != NULL; i++) {
		struct sl_ip ip;

		if (sl_ip_parse(&ip, addrs[i]) == -1 || ip.af != af ||
		    off + 12 + alen > cap)
			break;
		out[off] = 0xc0;	/* name: pointer to the question */
		out[off + 1] = 12;
		put16(out + off + 2, qtype);
		put16(out + off + 4, 1);	/* class IN */
		out[off + 6] = (uint8_t)(ttl >> 24);
		out[off + 7] = (uint8_t)(ttl >> 16);
		out[off + 8] = (uint8_t)(ttl >> 8);
		out[off + 9] = (uint8_t)ttl;
		put16(out + off + 10, (unsigned)alen);
		memcpy(out + off + 12, ip.b, alen);
		off += 12 + alen;
		(*nan)++;
	}
	return off;
}

/*
 * Answer one query (RFC 1035 section 4.1): the header and question are
 * echoed, then answers for A (1) or AAAA (28).  Returns the response
 * length, or 0 to stay silent.
 */
static size_t
resp_answer(struct dt *t, const uint8_t *q, size_t n, uint8_t *out,
    size_t cap)
{
	char name[256];
	size_t off = 12, nlen = 0, qend;
	uint16_t qtype;
	struct rname *rn;
	unsigned nan = 0, rcode = 0;

	if (n < 12 || be16(q + 4) != 1 || (q[2] & 0x80) != 0)
		return 0;
	while (off < n && q[off] != 0) {
		size_t lab = q[off];

		if (lab > 63 || off + 1 + lab > n ||
		    nlen + lab + 2 > sizeof(name))
			return 0;
		if (nlen > 0)
			name[nlen++] = '.';
		for (size_t i = 0; i < lab; i++)
			name[nlen++] = (char)tolower(q[off + 1 + i]);
		off += 1 + lab;
	}
	name[nlen] = '\0';
	if (off + 5 > n || off + 5 > cap)
		return 0;
	qtype = be16(q + off + 1);
	qend = off + 5;
	if ((rn = resp_find(t, name)) == NULL) {
		t->nq_other++;
		rcode = 3;			/* NXDOMAIN */
	} else {
		if (qtype == 1)
			rn->nq_a++;
		else if (qtype == 28)
			rn->nq_aaaa++;
		if (rn->mode == R_SILENT)
			return 0;
		if (rn->mode == R_NXDOMAIN)
			rcode = 3;
		else if (rn->mode == R_SERVFAIL)
			rcode = 2;
	}
	memcpy(out, q, qend);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x01));	/* QR, keep RD */
	out[3] = (uint8_t)(0x80 | rcode);		/* RA, RCODE */
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, 0);		/* no EDNS echoed: plain DNS */
	off = qend;
	if (rn != NULL && rcode == 0 && qtype == 1)
		off = resp_records(out, off, cap, rn->a, AF_INET, 1,
		    rn->ttl_a, &nan);
	else if (rn != NULL && rcode == 0 && qtype == 28)
		off = resp_records(out, off, cap, rn->aaaa, AF_INET6, 28,
		    rn->ttl_aaaa, &nan);
	put16(out + 6, nan);
	return off;
}

static void
resp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dt *t = arg;

	(void)what;
	for (int i = 0; i < 16; i++) {
		uint8_t q[512], out[1024];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom((int)fd, q, sizeof(q), 0,
		    (struct sockaddr *)&from, &flen);
		size_t len;

		if (n == -1)
			return;
		if ((len = resp_answer(t, q, (size_t)n, out, sizeof(out))) > 0)
			(void)sendto((int)fd, out, len, 0,
			    (struct sockaddr *)&from, flen);
	}
}

/* ------------------------------------------------------------------ */
/* harness                                                              */

/*
 * Responder on 127.0.0.1:0, a configuration naming it as the only
 * resolver (plus the test's settings), and a resolver on a private base.
 */
static int
dt_begin(struct dt *t, const char *conf, struct rname *tab, size_t ntab)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char text[1024];
	struct sl_diags d;
	const struct sl_resolver *res;
	size_t nres;

	memset(t, 0, sizeof(*t));
	t->tab = tab;
	t->ntab = ntab;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd == -1 || bind(t->fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || getsockname(t->fd, (struct sockaddr *)&sin,
	    &len) == -1)
		return -1;
	snprintf(text, sizeof(text),
	    "set user \"\"\n"
	    "resolver 127.0.0.1:%u\n"
	    "set dns-timeout 200ms\n"
	    "set dns-tries 1\n"
	    "%s\n"
	    "default splice\n", ntohs(sin.sin_port), conf);
	sl_diags_init(&d);
	t->cfg = sl_config_load_buf("dns.conf", text, strlen(text), NULL, 0,
	    &d);
	if (t->cfg == NULL)
		sl_diags_print(&d, stdout);
	sl_diags_free(&d);
	if (t->cfg == NULL || (t->base = event_base_new()) == NULL)
		return -1;
	t->ev = event_new(t->base, t->fd, EV_READ | EV_PERSIST, resp_cb, t);
	if (t->ev == NULL || event_add(t->ev, NULL) == -1)
		return -1;
	res = sl_config_resolvers(t->cfg, &nres);
	if (nres != 1)
		return -1;
	t->dns = sl_dns_new(t->base, sl_config_settings(t->cfg), res, nres);
	return t->dns != NULL ? 0 : -1;
}

static void
dt_end(struct dt *t)
{
	sl_dns_free(t->dns);
	if (t->ev != NULL)
		event_free(t->ev);
	if (t->fd != -1)
		close(t->fd);
	if (t->base != NULL)
		event_base_free(t->base);
	sl_config_unref(t->cfg);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

static void
rec_cb(void *arg, const struct sl_dns_result *res)
{
	struct rec *c = arg;

	if (!c->returned)
		c->early++;
	c->calls++;
	c->res = *res;
}

/* sl_dns_lookup, noting in c when it has returned. */
static struct sl_dns_req *
dt_lookup(struct dt *t, const char *name, struct rec *c, int *done)
{
	struct sl_dns_req *req;

	c->returned = 0;
	req = sl_dns_lookup(t->dns, name, rec_cb, c, &c->res, done);
	c->returned = 1;
	return req;
}

/* Turn the loop until c has been called `calls` times or ms pass. */
static int
dt_wait(struct dt *t, const struct rec *c, int calls, unsigned ms)
{
	uint64_t end = sl_mono_ms() + ms;

	for (int i = 0; i < 1000000 && sl_mono_ms() < end; i++) {
		if (c->calls >= calls)
			return 0;
		event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(200);
	}
	return c->calls >= calls ? 0 : -1;
}

/* Turn the loop for ms milliseconds. */
static void
dt_spin(struct dt *t, unsigned ms)
{
	uint64_t end = sl_mono_ms() + ms;

	for (int i = 0; i < 1000000 && sl_mono_ms() < end; i++) {
		event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(200);
	}
}

/* "a,b,c": the addresses of a result, in order. */
static const char *
res_str(const struct sl_dns_result *r, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->naddr && off < cap; i++) {
		char a[SL_IP_STRLEN];

		off += (size_t)snprintf(buf + off, cap - off, "%s%s",
		    i ? "," : "", sl_ip_fmt(&r->addr[i], a, sizeof(a)));
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* where DNS goes                                                       */

/* Is inode one of this process's sockets? */
static int
own_socket(unsigned long inode)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], link[64], want[64];
	int found = 0;

	if (d == NULL)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!found && (de = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/*
 * Check this process's UDP sockets (/proc/self/net/udp, udp6): each is
 * unconnected or connected to loopback.  Returns how many are connected
 * to loopback, or -1 if one is connected anywhere else.
 */
static int
udp_peers_loopback(void)
{
	static const char *const files[] = {
		"/proc/self/net/udp", "/proc/self/net/udp6",
	};
	int nloop = 0;

	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");
		char line[512];

		if (fp == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char local[64], rem[64];
			unsigned long inode;
			const char *host;
			int ok;

			if (sscanf(line, " %*s %63s %63s %*s %*s %*s %*s %*s "
			    "%*s %lu", local, rem, &inode) != 3 ||
			    strchr(rem, ':') == NULL || !own_socket(inode))
				continue;
			*strchr(rem, ':') = '\0';
			host = rem;
			/* Unconnected, 127.0.0.1, ::1, ::ffff:127.0.0.1 (the
			 * kernel prints 32-bit words in host order). */
			ok = strspn(host, "0") == strlen(host) ||
			    strcmp(host, "0100007F") == 0 ||
			    strcmp(host,
			    "00000000000000000000000001000000") == 0 ||
			    strcmp(host,
			    "0000000000000000FFFF00000100007F") == 0;
			if (!ok) {
				printf("# UDP socket connected to %s\n", host);
				fclose(fp);
				return -1;
			}
			if (strspn(host, "0") != strlen(host))
				nloop++;
		}
		fclose(fp);
	}
	return nloop;
}

/* ------------------------------------------------------------------ */
/* answers and order                                                    */

T_TEST(dns_answers_come_from_configured_resolver_ipv6_first)
{
	struct rname tab[] = {
		{ "www.example.test", R_ANSWER,
		    { "192.0.2.1", "192.0.2.2" },
		    { "2001:db8::1", "2001:db8::2" }, 300, 300 },
	};
	struct rec c = { 0 };
	char buf[256];
	int done = 1;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "www.example.test", &c, &done) != NULL);
	T_EQ(done, 0);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.early, 0);
	T_EQ(c.calls, 1);
	T_EQ(c.res.status, SL_DNS_OK);
	T_EQ(c.res.cached, 0);
	/* RFC 8305 section 4: families alternate, preferred first. */
	T_STREQ(res_str(&c.res, buf, sizeof(buf)),
	    "2001:db8::1,192.0.2.1,2001:db8::2,192.0.2.2");
	/* One A and one AAAA query, both to the responder. */
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[0].nq_aaaa, 1);
	T_EQ(t.nq_other, 0);
	dt_end(&t);
}

T_TEST(dns_prefer_ipv4_interleaves_ipv4_first)
{
	struct rname tab[] = {
		{ "v4.example.test", R_ANSWER,
		    { "198.51.100.1", "198.51.100.2", "198.51.100.3" },
		    { "2001:db8::a" }, 300, 300 },
	};
	struct rec c = { 0 };
	char buf[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-prefer ipv4", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "v4.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_OK);
	/* The family that runs out leaves the rest to the other, in order. */
	T_STREQ(res_str(&c.res, buf, sizeof(buf)),
	    "198.51.100.1,2001:db8::a,198.51.100.2,198.51.100.3");
	dt_end(&t);
}

T_TEST(dns_prefer_ipv6_with_more_ipv6_keeps_family_order)
{
	struct rname tab[] = {
		{ "v6.example.test", R_ANSWER, { "203.0.113.9" },
		    { "2001:db8::3", "2001:db8::1", "2001:db8::2" }, 300, 300 },
	};
	struct rec c = { 0 };
	char buf[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-prefer ipv6", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "v6.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_STREQ(res_str(&c.res, buf, sizeof(buf)),
	    "2001:db8::3,203.0.113.9,2001:db8::1,2001:db8::2");
	dt_end(&t);
}

/* A name with only AAAA records (A: no data) resolves to those. */
T_TEST(dns_ipv6_only_name_resolves)
{
	struct rname tab[] = {
		{ "six.example.test", R_ANSWER, { NULL }, { "2001:db8::6" },
		    300, 300 },
	};
	struct rec c = { 0 };
	char buf[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-prefer ipv4", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "six.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_OK);
	T_STREQ(res_str(&c.res, buf, sizeof(buf)), "2001:db8::6");
	dt_end(&t);
}

/* ------------------------------------------------------------------ */
/* the cache                                                            */

T_TEST(dns_second_lookup_answered_from_cache_synchronously)
{
	struct rname tab[] = {
		{ "cache.example.test", R_ANSWER, { "192.0.2.10" },
		    { "2001:db8::10" }, 300, 300 },
	};
	struct rec c = { 0 }, c2 = { 0 };
	struct sl_dns_result res;
	char buf[256];
	int done = 0;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "cache.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	memset(&res, 0xa5, sizeof(res));
	T_ASSERT(sl_dns_lookup(t.dns, "cache.example.test", rec_cb, &c2, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(res.status, SL_DNS_OK);
	T_EQ(res.cached, 1);
	T_STREQ(res_str(&res, buf, sizeof(buf)), "2001:db8::10,192.0.2.10");
	/* No query went out and the callback is not called for it. */
	dt_spin(&t, 50);
	T_EQ(c2.calls, 0);
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[0].nq_aaaa, 1);
	dt_end(&t);
}

/*
 * The smallest record TTL counts (A: 1 s, AAAA: 30 s): within it the
 * answer is cached, after it a new query goes out.
 */
T_TEST(dns_ttl_expiry_sends_new_query)
{
	struct rname tab[] = {
		{ "ttl.example.test", R_ANSWER, { "192.0.2.20" },
		    { "2001:db8::20" }, 1, 30 },
	};
	struct rec c = { 0 };
	struct sl_dns_result res;
	uint64_t answered;
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-ttl-min 0s", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "ttl.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	answered = sl_mono_ms();
	dt_spin(&t, 700);
	T_ASSERT(sl_dns_lookup(t.dns, "ttl.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(tab[0].nq_a, 1);
	while (sl_mono_ms() < answered + 1100)
		dt_spin(&t, 20);
	T_ASSERT(dt_lookup(&t, "ttl.example.test", &c, &done) != NULL);
	T_EQ(done, 0);
	T_EQ(dt_wait(&t, &c, 2, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_OK);
	T_EQ(c.res.cached, 0);
	T_EQ(tab[0].nq_a, 2);
	T_EQ(tab[0].nq_aaaa, 2);
	T_EQ(c.early, 0);
	dt_end(&t);
}

/* A TTL of 0 is raised to dns-ttl-min; a long one cut to dns-ttl-max. */
T_TEST(dns_ttl_clamped_to_min_and_max)
{
	struct rname tab[] = {
		{ "zero.example.test", R_ANSWER, { "192.0.2.30" }, { NULL },
		    0, 0 },
		{ "long.example.test", R_ANSWER, { "192.0.2.31" }, { NULL },
		    86400, 0 },
	};
	struct rec c = { 0 }, d = { 0 };
	struct sl_dns_result res;
	uint64_t answered;
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-ttl-min 300ms\nset dns-ttl-max 600ms",
	    tab, 2) == 0);
	T_ASSERT(dt_lookup(&t, "zero.example.test", &c, &done) != NULL);
	T_ASSERT(dt_lookup(&t, "long.example.test", &d, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(dt_wait(&t, &d, 1, WAIT_MS), 0);
	answered = sl_mono_ms();
	dt_spin(&t, 150);
	/* TTL 0 would not be cached at all without the minimum. */
	T_ASSERT(sl_dns_lookup(t.dns, "zero.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	while (sl_mono_ms() < answered + 400)
		dt_spin(&t, 20);
	T_ASSERT(dt_lookup(&t, "zero.example.test", &c, &done) != NULL);
	T_ASSERT(sl_dns_lookup(t.dns, "long.example.test", rec_cb, &d, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	while (sl_mono_ms() < answered + 700)
		dt_spin(&t, 20);
	T_ASSERT(dt_lookup(&t, "long.example.test", &d, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 2, WAIT_MS), 0);
	T_EQ(dt_wait(&t, &d, 2, WAIT_MS), 0);
	T_EQ(tab[0].nq_a, 2);
	T_EQ(tab[1].nq_a, 2);
	dt_end(&t);
}

T_TEST(dns_nxdomain_reported_and_negatively_cached)
{
	struct rname tab[] = {
		{ "nx.example.test", R_NXDOMAIN, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c = { 0 };
	struct sl_dns_result res;
	uint64_t answered;
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-negative-ttl 400ms", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "nx.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	answered = sl_mono_ms();
	T_EQ(c.res.status, SL_DNS_NXDOMAIN);
	T_EQ(c.res.naddr, 0);
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[0].nq_aaaa, 1);
	/* Negatively cached: answered at once, no query. */
	T_ASSERT(sl_dns_lookup(t.dns, "nx.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(res.status, SL_DNS_NXDOMAIN);
	T_EQ(res.cached, 1);
	T_EQ(tab[0].nq_a, 1);
	/* For dns-negative-ttl only. */
	while (sl_mono_ms() < answered + 500)
		dt_spin(&t, 20);
	T_ASSERT(dt_lookup(&t, "nx.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 2, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_NXDOMAIN);
	T_EQ(tab[0].nq_a, 2);
	dt_end(&t);
}

/* No address records of either family (NODATA) counts as NXDOMAIN. */
T_TEST(dns_nodata_for_both_families_is_nxdomain)
{
	struct rname tab[] = {
		{ "empty.example.test", R_ANSWER, { NULL }, { NULL }, 60, 60 },
	};
	struct rec c = { 0 };
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "empty.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_NXDOMAIN);
	T_EQ(c.res.naddr, 0);
	dt_end(&t);
}

T_TEST(dns_timeout_reported_and_not_cached)
{
	struct rname tab[] = {
		{ "silent.example.test", R_SILENT, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c = { 0 };
	uint64_t t0, took;
	int done, seen = 0;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	t0 = sl_mono_ms();
	T_ASSERT(dt_lookup(&t, "silent.example.test", &c, &done) != NULL);
	/*
	 * While the configured resolver stays silent, c-ares must not turn
	 * to any other server (/etc/resolv.conf's): every UDP socket of
	 * ours is connected to loopback, and one is (c-ares' own).
	 */
	for (int i = 0; i < 100000 && c.calls == 0 &&
	    sl_mono_ms() < t0 + WAIT_MS; i++) {
		int n;

		event_base_loop(t.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		T_ASSERT((n = udp_peers_loopback()) >= 0);
		if (n > seen)
			seen = n;
		usleep(2000);
	}
	T_ASSERT(seen >= 1);
	T_EQ(c.calls, 1);
	took = sl_mono_ms() - t0;
	T_EQ(c.res.status, SL_DNS_TIMEOUT);
	T_EQ(c.early, 0);
	/* dns-timeout 200ms x dns-tries 1, give or take the loop. */
	T_CHECK(took >= 150 && took < 1500, "timed out after %llums",
	    (unsigned long long)took);
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[0].nq_aaaa, 1);
	/* Not cached: the next lookup asks again. */
	T_ASSERT(dt_lookup(&t, "silent.example.test", &c, &done) != NULL);
	T_EQ(done, 0);
	T_EQ(dt_wait(&t, &c, 2, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_TIMEOUT);
	T_EQ(tab[0].nq_a, 2);
	T_EQ(tab[0].nq_aaaa, 2);
	dt_end(&t);
}

T_TEST(dns_servfail_is_failure_and_not_cached)
{
	struct rname tab[] = {
		{ "broken.example.test", R_SERVFAIL, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c = { 0 };
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "broken.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_FAIL);
	T_ASSERT(dt_lookup(&t, "broken.example.test", &c, &done) != NULL);
	T_EQ(done, 0);
	T_EQ(dt_wait(&t, &c, 2, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_FAIL);
	T_EQ(tab[0].nq_a, 2);
	dt_end(&t);
}

/* Failed lookups leave nothing behind: they never push answers out. */
T_TEST(dns_failures_take_no_cache_slot)
{
	struct rname tab[] = {
		{ "keep.example.test", R_ANSWER, { "192.0.2.90" }, { NULL },
		    300, 300 },
		{ "fail.example.test", R_SERVFAIL, { NULL }, { NULL }, 0, 0 },
		{ "late.example.test", R_ANSWER, { "192.0.2.91" }, { NULL },
		    300, 300 },
	};
	struct rec c = { 0 };
	struct sl_dns_result res;
	int done, calls = 0;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-cache-size 2", tab, 3) == 0);
	T_ASSERT(dt_lookup(&t, "keep.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	T_ASSERT(dt_lookup(&t, "fail.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_FAIL);
	T_ASSERT(dt_lookup(&t, "late.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	/* Two slots, two answers: both still cached. */
	T_ASSERT(sl_dns_lookup(t.dns, "keep.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_ASSERT(sl_dns_lookup(t.dns, "late.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(tab[0].nq_a, 1);
	dt_end(&t);
}

/* ------------------------------------------------------------------ */
/* requests                                                             */

T_TEST(dns_concurrent_lookups_share_one_query)
{
	struct rname tab[] = {
		{ "shared.example.test", R_ANSWER, { "192.0.2.40" },
		    { "2001:db8::40" }, 300, 300 },
	};
	struct rec c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	char b1[256], b2[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "shared.example.test", &c1, &done) != NULL);
	T_ASSERT(dt_lookup(&t, "shared.example.test", &c2, &done) != NULL);
	T_EQ(done, 0);
	T_ASSERT(dt_lookup(&t, "shared.example.test", &c3, &done) != NULL);
	T_EQ(dt_wait(&t, &c1, 1, WAIT_MS), 0);
	T_EQ(dt_wait(&t, &c2, 1, WAIT_MS), 0);
	T_EQ(dt_wait(&t, &c3, 1, WAIT_MS), 0);
	dt_spin(&t, 30);
	T_EQ(c1.calls + c2.calls + c3.calls, 3);
	T_EQ(c1.early + c2.early + c3.early, 0);
	T_STREQ(res_str(&c1.res, b1, sizeof(b1)), "2001:db8::40,192.0.2.40");
	T_STREQ(res_str(&c2.res, b2, sizeof(b2)), b1);
	T_STREQ(res_str(&c3.res, b2, sizeof(b2)), b1);
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[0].nq_aaaa, 1);
	dt_end(&t);
}

T_TEST(dns_cancelled_request_callback_never_runs)
{
	struct rname tab[] = {
		{ "gone.example.test", R_ANSWER, { "192.0.2.50" }, { NULL },
		    300, 300 },
		{ "slow.example.test", R_SILENT, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c1 = { 0 }, c2 = { 0 }, c3 = { 0 }, c4 = { 0 };
	struct sl_dns_req *r1, *r3;
	struct sl_dns_result res;
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 2) == 0);
	/* Two waiters on one query; cancelling one leaves the other. */
	T_ASSERT((r1 = dt_lookup(&t, "gone.example.test", &c1, &done)) != NULL);
	T_ASSERT(dt_lookup(&t, "gone.example.test", &c2, &done) != NULL);
	sl_dns_cancel(r1);
	/* A request that will time out, cancelled too. */
	T_ASSERT((r3 = dt_lookup(&t, "slow.example.test", &c3, &done)) != NULL);
	sl_dns_cancel(r3);
	T_EQ(dt_wait(&t, &c2, 1, WAIT_MS), 0);
	T_EQ(c2.res.status, SL_DNS_OK);
	/* The timeout of "slow" comes and goes: a later lookup of the same
	 * name sees it, the cancelled one does not. */
	T_ASSERT(dt_lookup(&t, "slow.example.test", &c4, &done) != NULL);
	T_EQ(dt_wait(&t, &c4, 1, WAIT_MS), 0);
	dt_spin(&t, 50);
	T_EQ(c1.calls, 0);
	T_EQ(c3.calls, 0);
	/* The cancelled request's answer still fills the cache. */
	T_ASSERT(sl_dns_lookup(t.dns, "gone.example.test", rec_cb, &c1, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(tab[0].nq_a, 1);
	sl_dns_cancel(NULL);		/* NULL-safe */
	dt_end(&t);
}

/* Freeing the resolver with lookups in flight calls no callback. */
T_TEST(dns_free_with_pending_lookups_calls_nothing)
{
	struct rname tab[] = {
		{ "pending.example.test", R_SILENT, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c = { 0 };
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	T_ASSERT(dt_lookup(&t, "pending.example.test", &c, &done) != NULL);
	dt_spin(&t, 20);
	T_EQ(tab[0].nq_a, 1);
	sl_dns_free(t.dns);
	t.dns = NULL;
	T_EQ(c.calls, 0);
	dt_end(&t);
	T_EQ(c.calls, 0);
}

/* Least recently used entries go first once dns-cache-size is reached. */
T_TEST(dns_cache_evicts_least_recently_used_beyond_size)
{
	struct rname tab[] = {
		{ "a.example.test", R_ANSWER, { "192.0.2.61" }, { NULL },
		    300, 300 },
		{ "b.example.test", R_ANSWER, { "192.0.2.62" }, { NULL },
		    300, 300 },
		{ "c.example.test", R_ANSWER, { "192.0.2.63" }, { NULL },
		    300, 300 },
	};
	struct rec c = { 0 };
	struct sl_dns_result res;
	int done, calls = 0;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-cache-size 2", tab, 3) == 0);
	T_ASSERT(dt_lookup(&t, "a.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	T_ASSERT(dt_lookup(&t, "b.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	/* Touch a: b is now the least recently used. */
	T_ASSERT(sl_dns_lookup(t.dns, "a.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_ASSERT(dt_lookup(&t, "c.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	/* a and c are cached, b was evicted. */
	T_ASSERT(sl_dns_lookup(t.dns, "a.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_ASSERT(sl_dns_lookup(t.dns, "c.example.test", rec_cb, &c, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_ASSERT(dt_lookup(&t, "b.example.test", &c, &done) != NULL);
	T_EQ(done, 0);
	T_EQ(dt_wait(&t, &c, ++calls, WAIT_MS), 0);
	T_EQ(tab[0].nq_a, 1);
	T_EQ(tab[1].nq_a, 2);
	T_EQ(tab[2].nq_a, 1);
	dt_end(&t);
}

/*
 * c-ares answers some names from inside ares_getaddrinfo(): /etc/hosts,
 * .onion (RFC 7686).  The callback must still run only after
 * sl_dns_lookup has returned, and nothing is sent to the resolver for
 * them.  (IP literals never reach c-ares: they are their own answer.)
 */
T_TEST(dns_callback_never_runs_before_lookup_returns)
{
	/* Names c-ares answers inside ares_getaddrinfo() (/etc/hosts, the
	 * .onion refusal), and one the responder answers later. */
	static const char *const names[] = { "localhost", "hidden.onion" };
	struct rname tab[] = {
		{ "async.example.test", R_ANSWER, { "192.0.2.78" }, { NULL },
		    300, 300 },
	};
	struct rec c[3];
	char buf[256];
	int done;
	struct dt t;

	memset(c, 0, sizeof(c));
	T_ASSERT(dt_begin(&t, "", tab, 1) == 0);
	for (size_t i = 0; i < 2; i++) {
		T_ASSERT(dt_lookup(&t, names[i], &c[i], &done) != NULL);
		T_EQ(done, 0);
		T_EQ(c[i].calls, 0);
	}
	T_ASSERT(dt_lookup(&t, "async.example.test", &c[2], &done) != NULL);
	for (size_t i = 0; i < 3; i++)
		T_EQ(dt_wait(&t, &c[i], 1, WAIT_MS), 0);
	for (size_t i = 0; i < 3; i++) {
		T_EQ(c[i].early, 0);
		T_EQ(c[i].calls, 1);
	}
	T_EQ(c[0].res.status, SL_DNS_OK);
	T_ASSERT(c[0].res.naddr >= 1);
	T_EQ(c[1].res.status, SL_DNS_NXDOMAIN);
	T_STREQ(res_str(&c[2].res, buf, sizeof(buf)), "192.0.2.78");
	/* Only the real name reached the responder. */
	T_EQ(t.nq_other, 0);
	T_EQ(tab[0].nq_a, 1);
	/* Answers c-ares made up are cached like any other. */
	T_ASSERT(sl_dns_lookup(t.dns, "localhost", rec_cb, &c[0],
	    &c[0].res, &done) == NULL);
	T_EQ(done, 1);
	dt_end(&t);
}

/* An IP literal resolves to itself, at once and without a query. */
T_TEST(dns_ipv4_literal_resolves_to_itself)
{
	struct rec c = { 0 };
	char buf[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", NULL, 0) == 0);
	T_ASSERT(dt_lookup(&t, "192.0.2.77", &c, &done) == NULL);
	T_EQ(done, 1);
	T_EQ(c.calls, 0);
	T_EQ(c.res.status, SL_DNS_OK);
	T_STREQ(res_str(&c.res, buf, sizeof(buf)), "192.0.2.77");
	dt_spin(&t, 20);
	T_EQ(t.nq_other, 0);
	dt_end(&t);
}

T_TEST(dns_status_strings)
{
	T_STREQ(sl_dns_status_str(SL_DNS_OK), "ok");
	T_STREQ(sl_dns_status_str(SL_DNS_NXDOMAIN), "nxdomain");
	T_STREQ(sl_dns_status_str(SL_DNS_TIMEOUT), "timeout");
	T_STREQ(sl_dns_status_str(SL_DNS_FAIL), "servfail");
}

/* Regression: a callback that looks up another name while the cache is
 * full used to evict (and free) the entry being notified. */
struct dns_chain {
	struct dt	*t;
	struct rec	 next;
	int		 started;
};

static void
dns_chain_cb(void *arg, const struct sl_dns_result *res)
{
	struct dns_chain *ch = arg;
	int done;

	(void)res;
	ch->started++;
	(void)dt_lookup(ch->t, "second.example.test", &ch->next, &done);
}

T_TEST(dns_lookup_from_callback_with_full_cache)
{
	struct rname tab[] = {
		{ "first.example.test", R_ANSWER, { "192.0.2.1" }, { NULL },
		    300, 300 },
		{ "second.example.test", R_ANSWER, { "192.0.2.2" }, { NULL },
		    300, 300 },
	};
	struct dns_chain ch = { 0 };
	struct sl_dns_result res;
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-cache-size 1", tab, 2) == 0);
	ch.t = &t;
	T_ASSERT(sl_dns_lookup(t.dns, "first.example.test", dns_chain_cb, &ch,
	    &res, &done) != NULL);
	T_EQ(dt_wait(&t, &ch.next, 1, WAIT_MS), 0);
	T_EQ(ch.started, 1);
	T_EQ(ch.next.calls, 1);
	dt_end(&t);
}

/* Regression: an answer c-ares gives synchronously and that is not
 * cached, looked up twice before the loop turns, used to be put on the
 * deferred list twice (a cycle, then a use-after-free). */
T_TEST(dns_uncached_sync_answer_looked_up_twice)
{
	struct rec c1 = { 0 }, c2 = { 0 };
	int done;
	struct dt t;

	T_ASSERT(dt_begin(&t, "set dns-ttl-min 0s", NULL, 0) == 0);
	/* "localhost" comes from /etc/hosts, inside ares_getaddrinfo(). */
	T_ASSERT(dt_lookup(&t, "localhost", &c1, &done) != NULL);
	T_ASSERT(dt_lookup(&t, "localhost", &c2, &done) != NULL);
	T_EQ(dt_wait(&t, &c1, 1, 1000), 0);
	T_EQ(dt_wait(&t, &c2, 1, 1000), 0);
	dt_spin(&t, 20);
	T_EQ(c1.calls, 1);
	T_EQ(c2.calls, 1);
	dt_end(&t);
}

/* ------------------------------------------------------------------ */
/* the name decided is the name resolved                                */

/*
 * dt_begin with the environment c-ares reads when a channel is made:
 * LOCALDOMAIN (a search list, as `search` in /etc/resolv.conf) and
 * RES_OPTIONS.  Unset before the test goes on, so that a failing check
 * cannot leak them into later tests.
 */
static int
dt_begin_env(struct dt *t, struct rname *tab, size_t ntab,
    const char *localdomain, const char *res_options)
{
	int rc;

	setenv("LOCALDOMAIN", localdomain, 1);
	setenv("RES_OPTIONS", res_options, 1);
	rc = dt_begin(t, "", tab, ntab);
	unsetenv("LOCALDOMAIN");
	unsetenv("RES_OPTIONS");
	return rc;
}

/*
 * Issue 12 item 4: with a search list, c-ares 1.18's ares_getaddrinfo()
 * tries a single label as "label.<domain>" first (and, with ndots, a
 * dotted name too), whatever ARES_FLAG_NOSEARCH says.  The policy
 * decided on the name as given, so only that name may be asked for: a
 * short name that does not exist is NXDOMAIN, not the search domain's
 * host.
 */
T_TEST(dns_single_label_not_expanded_with_search_list)
{
	struct rname tab[] = {
		{ "intranet.corp.test", R_ANSWER, { "192.0.2.80" }, { NULL },
		    300, 300 },
		{ "db.internal.corp.test", R_ANSWER, { "192.0.2.81" }, { NULL },
		    300, 300 },
		{ "intranet", R_NXDOMAIN, { NULL }, { NULL }, 0, 0 },
		{ "db.internal", R_NXDOMAIN, { NULL }, { NULL }, 0, 0 },
	};
	struct rec c = { 0 }, d = { 0 };
	int done;
	struct dt t;

	T_ASSERT(dt_begin_env(&t, tab, 4, "corp.test", "ndots:3") == 0);
	T_ASSERT(dt_lookup(&t, "intranet", &c, &done) != NULL);
	T_ASSERT(dt_lookup(&t, "db.internal", &d, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(dt_wait(&t, &d, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_NXDOMAIN);
	T_EQ(d.res.status, SL_DNS_NXDOMAIN);
	/* The names as given, A and AAAA, and nothing else. */
	T_EQ(tab[2].nq_a, 1);
	T_EQ(tab[2].nq_aaaa, 1);
	T_EQ(tab[3].nq_a, 1);
	T_EQ(tab[3].nq_aaaa, 1);
	T_EQ(tab[0].nq_a + tab[0].nq_aaaa, 0);
	T_EQ(tab[1].nq_a + tab[1].nq_aaaa, 0);
	T_EQ(t.nq_other, 0);
	dt_end(&t);
}

/* HOSTALIASES (the resolver's alias file, read at each lookup) would
 * swap a single label for another name: not for us either. */
T_TEST(dns_single_label_not_replaced_by_host_alias)
{
	struct rname tab[] = {
		{ "intranet.corp.test", R_ANSWER, { "192.0.2.82" }, { NULL },
		    300, 300 },
		{ "intranet", R_NXDOMAIN, { NULL }, { NULL }, 0, 0 },
	};
	char path[] = "/tmp/sl-dns-aliases.XXXXXX";
	struct sl_dns_req *q;
	struct rec c = { 0 };
	int done, fd;
	struct dt t;

	T_ASSERT(dt_begin(&t, "", tab, 2) == 0);
	T_ASSERT((fd = mkstemp(path)) != -1);
	T_ASSERT(write(fd, "intranet intranet.corp.test\n", 28) == 28);
	close(fd);
	setenv("HOSTALIASES", path, 1);
	q = dt_lookup(&t, "intranet", &c, &done);
	unsetenv("HOSTALIASES");
	unlink(path);
	T_ASSERT(q != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_NXDOMAIN);
	T_EQ(tab[1].nq_a, 1);
	T_EQ(tab[0].nq_a + tab[0].nq_aaaa, 0);
	dt_end(&t);
}

/* A name that exists is answered as before, search list or not. */
T_TEST(dns_dotted_name_resolves_with_search_list_set)
{
	struct rname tab[] = {
		{ "www.example.test", R_ANSWER, { "192.0.2.83" }, { NULL },
		    300, 300 },
	};
	struct rec c = { 0 };
	char buf[256];
	int done;
	struct dt t;

	T_ASSERT(dt_begin_env(&t, tab, 1, "corp.test", "ndots:5") == 0);
	T_ASSERT(dt_lookup(&t, "www.example.test", &c, &done) != NULL);
	T_EQ(dt_wait(&t, &c, 1, WAIT_MS), 0);
	T_EQ(c.res.status, SL_DNS_OK);
	T_STREQ(res_str(&c.res, buf, sizeof(buf)), "192.0.2.83");
	T_EQ(tab[0].nq_a, 1);
	T_EQ(t.nq_other, 0);		/* no www.example.test.corp.test */
	dt_end(&t);
}

/* An IP literal is its own answer: no query leaves (c-ares 1.18 would
 * send A and AAAA queries for an IPv4 literal). */
T_TEST(dns_literal_answered_without_a_query)
{
	struct sl_dns_result res;
	struct rec c = { 0 };
	int done;
	struct dt t;
	char buf[SL_IP_STRLEN];

	T_ASSERT(dt_begin(&t, "", NULL, 0) == 0);
	T_ASSERT(dt_lookup(&t, "192.0.2.77", &c, &done) == NULL);
	T_EQ(done, 1);
	T_ASSERT(sl_dns_lookup(t.dns, "2001:db8::5", dns_chain_cb, NULL, &res,
	    &done) == NULL);
	T_EQ(done, 1);
	T_EQ(res.status, SL_DNS_OK);
	T_EQ(res.naddr, 1);
	T_STREQ(sl_ip_fmt(&res.addr[0], buf, sizeof(buf)), "2001:db8::5");
	dt_spin(&t, 20);
	T_EQ(t.nq_other, 0);		/* names not in the table: any query */
	dt_end(&t);
}
