/*
 * diff_test.c — randomized differential test: the compiled index
 * (sl_policy_decide) against the linear reference (sl_policy_trace walks
 * every rule in file order) on random policies and random staged facts.
 *
 * 10,000 rules, 100,000 queries: IPv4 and IPv6 with nested and
 * overlapping CIDRs, wildcards at several depths, port ranges on tcp and
 * udp, url prefixes (paths with one or two readings; hosts that are names
 * or addresses), users, GeoIP, lists, disabled rules, and facts that are
 * unknown, known-absent or present.
 * The seed is printed; set SL_DIFF_SEED to replay one, SL_DIFF_RULES /
 * SL_DIFF_QUERIES to scale.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "lib/sbuf.h"
#include "policy/config.h"
#include "tests/common/xorshift.h"
#include "tests/unit/t.h"

/* Pools: few base names, so values collide and nest. */
#define NBASE	60
#define NPORTS	10
static const unsigned ports[NPORTS] = {
	80, 443, 3478, 5349, 8080, 12000, 12001, 12002, 22, 53,
};
static const char *const countries[] = { "DE", "FR", "US", "JP", "BR" };

/* A name from the pool at depth 0..3 below base d<i>.test. */
static void
gen_name(struct rng *r, char *buf, size_t cap)
{
	unsigned base = rn(r, NBASE), depth = rn(r, 4);
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < depth; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%c%u.",
		    "abc"[i % 3], rn(r, 3));
	snprintf(buf + off, cap - off, "d%u.test", base);
}

/* An IPv4 or IPv6 CIDR in a small space so they overlap and nest. */
static void
gen_cidr(struct rng *r, char *buf, size_t cap, int host_only)
{
	if (rn(r, 3) != 0) {
		unsigned a = rn(r, 16), b = rn(r, 16), c = rn(r, 16);
		unsigned d = rn(r, 256);
		unsigned plen = host_only ? 32 : rn(r, 10) == 0 ?
		    8 + rn(r, 8) : 16 + rn(r, 17);
		uint32_t v = 10u << 24 | a << 16 | b << 8 | (c << 4 & 0xff);

		v |= d & 0xf;
		v = plen == 0 ? 0 : v & (uint32_t)(~0u << (32 - plen));
		snprintf(buf, cap, "%u.%u.%u.%u/%u", v >> 24, v >> 16 & 0xff,
		    v >> 8 & 0xff, v & 0xff, plen);
	} else {
		unsigned plen = host_only ? 128 : rn(r, 10) == 0 ?
		    32 + rn(r, 16) : 48 + rn(r, 81);
		uint16_t w[8] = { 0x2001, 0xdb8, (uint16_t)rn(r, 4),
		    (uint16_t)rn(r, 3), 0, 0, 0, (uint16_t)rn(r, 4) };

		for (unsigned i = 0; i < 8; i++) {
			unsigned keep = plen > i * 16 ? plen - i * 16 : 0;

			if (keep < 16)
				w[i] &= (uint16_t)(keep == 0 ? 0 :
				    0xffff << (16 - keep));
		}
		snprintf(buf, cap, "%x:%x:%x:%x:%x:%x:%x:%x/%u", w[0], w[1],
		    w[2], w[3], w[4], w[5], w[6], w[7], plen);
	}
}

static void
gen_port(struct rng *r, char *buf, size_t cap)
{
	const char *proto = rn(r, 4) == 0 ? "udp/" : rn(r, 2) ? "tcp/" : "";
	unsigned p = ports[rn(r, NPORTS)];

	if (rn(r, 4) == 0)
		snprintf(buf, cap, "%s%u-%u", proto, p, p + rn(r, 3000));
	else
		snprintf(buf, cap, "%s%u", proto, p);
}

static void
gen_values(struct rng *r, struct sl_sbuf *b, unsigned key, unsigned nlists)
{
	unsigned n = 1 + rn(r, 3);
	char v[96];

	for (unsigned i = 0; i < n; i++) {
		sl_sbuf_printf(b, "%s", i ? "," : "");
		if (nlists && key <= 2 && rn(r, 25) == 0) {
			sl_sbuf_printf(b, "@l%u%u", key, rn(r, nlists));
			continue;
		}
		switch (key) {
		case 0:
			gen_name(r, v, sizeof(v));
			sl_sbuf_printf(b, "%s%s", rn(r, 3) == 0 ? "*." : "", v);
			break;
		case 1:
		case 4:
			gen_cidr(r, v, sizeof(v), 0);
			sl_sbuf_printf(b, "%s", v);
			break;
		case 2:
			gen_port(r, v, sizeof(v));
			sl_sbuf_printf(b, "%s", v);
			break;
		case 3:
			/* Sometimes an address as the host: the url host of
			 * a flow without a name (issue 13). */
			if (rn(r, 10) == 0) {
				sl_sbuf_printf(b, "10.9.9.%u/p%u/", rn(r, 4),
				    rn(r, 3));
				break;
			}
			gen_name(r, v, sizeof(v));
			sl_sbuf_printf(b, "%s%s/p%u/",
			    rn(r, 4) == 0 ? "*." : "", v, rn(r, 3));
			break;
		case 5:
			sl_sbuf_printf(b, "u%u", rn(r, 12));
			break;
		case 6:
			sl_sbuf_printf(b, "%s", countries[rn(r, 5)]);
			break;
		default:
			sl_sbuf_printf(b, "%u", 64496 + rn(r, 5));
			break;
		}
	}
}

static const char *const keys[] = {
	"domain", "ip", "port", "url", "src", "user", "country", "asn",
};

static char *
gen_policy(struct rng *r, unsigned nrules, size_t *len)
{
	struct sl_sbuf b = SL_SBUF_INIT;
	const unsigned nlists = 4;
	char v[96];

	/* Lists of domain (key 0), ip (key 1) and port (key 2) values. */
	for (unsigned k = 0; k < 3; k++) {
		for (unsigned l = 0; l < nlists; l++) {
			sl_sbuf_printf(&b, "list l%u%u %s ", k, l,
			    k == 0 ? "domain" : k == 1 ? "ip" : "port");
			gen_values(r, &b, k, 0);
			sl_sbuf_printf(&b, "\n");
		}
	}
	for (unsigned i = 0; i < nrules; i++) {
		unsigned nk, used = 0, roll = rn(r, 1000);

		sl_sbuf_printf(&b, "rule r%u %s", i,
		    (const char *[]){ "splice", "inspect", "deny" }[rn(r, 3)]);
		if (rn(r, 50) == 0)
			sl_sbuf_printf(&b, " disabled");
		if (rn(r, 5) == 0)
			sl_sbuf_printf(&b, " noauth");
		/* Mostly specific rules; a few broad ones (one common key)
		 * so that scans end, and rare catch-alls. */
		if (nrules < 100 && rn(r, 50) == 0) {
			sl_sbuf_printf(&b, "\n");
			continue;
		}
		if (roll < 8) {
			snprintf(v, sizeof(v), "%u", ports[rn(r, 3)]);
			sl_sbuf_printf(&b, " port %s%s\n",
			    rn(r, 4) ? "" : "udp/", v);
			continue;
		}
		nk = rn(r, 5) == 0 ? 1 : 2 + rn(r, 2);
		for (unsigned j = 0; j < nk; j++) {
			/* Weighted: domain, ip, port common; others rarer. */
			static const unsigned pick[] = { 0, 0, 0, 1, 1, 1, 2,
			    2, 2, 3, 4, 5, 6, 7 };
			unsigned k = pick[rn(r, sizeof(pick) / sizeof(pick[0]))];

			if (used & (1u << k) && rn(r, 2))
				continue;	/* sometimes repeat a key */
			used |= 1u << k;
			sl_sbuf_printf(&b, " %s ", keys[k]);
			gen_values(r, &b, k, nlists);
		}
		sl_sbuf_printf(&b, "\n");
	}
	sl_sbuf_printf(&b, "default %s\n", rn(r, 2) ? "deny" : "inspect");
	if (b.oom)
		abort();
	*len = b.len;
	return b.s;
}

struct query {
	struct sl_facts	 f;
	char		 name[128], host[128], path[32], path2[32], user[8];
};

static void
gen_ip(struct rng *r, struct sl_ip *ip)
{
	char v[96], *slash;

	/* Hosts near the pool's CIDRs, including their edges. */
	gen_cidr(r, v, sizeof(v), rn(r, 2));
	if ((slash = strchr(v, '/')) != NULL)
		*slash = '\0';
	sl_ip_parse(ip, v);
	if (rn(r, 4) == 0) {
		/* Step to a neighbour: just outside or inside an edge. */
		unsigned last = ip->af == AF_INET ? 3 : 15;

		if (rn(r, 2))
			ip->b[last] = (uint8_t)(ip->b[last] - 1);
		else
			ip->b[last] = (uint8_t)(ip->b[last] | 0xff);
	}
}

static void
gen_query(struct rng *r, struct query *q)
{
	struct sl_facts *f = &q->f;
	int foreign;

	memset(q, 0, sizeof(*q));
	f->known = 0;
	for (unsigned b = 1; b <= SL_FACT_GEO; b <<= 1)
		if (rn(r, 10) < 7)
			f->known |= b;
	f->proto = rn(r, 4) == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	/* Mostly the ports broad rules cover, so most scans end early;
	 * the rest reach deep rules and the default. */
	foreign = 0;
	if (rn(r, 10) < 8)
		f->port = (uint16_t)ports[rn(r, 3)];
	else if ((foreign = rn(r, 20) == 0) != 0)
		f->port = (uint16_t)(1 + rn(r, 65535));
	else
		f->port = (uint16_t)(rn(r, 2) == 0 ? 1 + rn(r, 65535) :
		    ports[rn(r, NPORTS)] + (rn(r, 5) == 0 ? rn(r, 3000) : 0));
	if (rn(r, 5) != 0)
		gen_ip(r, &f->src);
	if (rn(r, 6) != 0) {
		gen_name(r, q->name, sizeof(q->name));
		if (rn(r, 4) == 0) {	/* deeper than any rule */
			char tmp[160];

			snprintf(tmp, sizeof(tmp), "x%u.%.100s", rn(r, 2),
			    q->name);
			memcpy(q->name, tmp, sizeof(q->name) - 1);
			q->name[sizeof(q->name) - 1] = '\0';
		}
		f->name = q->name;
	}
	if (rn(r, 6) != 0)
		gen_ip(r, &f->dst);
	if (f->name == NULL && rn(r, 2)) {
		/* No name: its address is the url's host (issue 13). */
		char a[16];

		snprintf(a, sizeof(a), "10.9.9.%u", rn(r, 5));
		sl_ip_parse(&f->dst, a);
	}
	if (rn(r, 3) != 0) {
		gen_name(r, q->host, sizeof(q->host));
		snprintf(q->path, sizeof(q->path), "/p%u/%s", rn(r, 4),
		    rn(r, 2) ? "x" : "");
		f->url_host = q->host;
		f->url_path = q->path;
		/* Sometimes a second reading (';' parameters removed) that
		 * differs: deny rules take either, others need both. */
		if (rn(r, 3) == 0) {
			snprintf(q->path2, sizeof(q->path2), "/p%u/%s",
			    rn(r, 4), rn(r, 2) ? "x" : "");
			f->url_path_noparam = q->path2;
		}
	}
	if (rn(r, 2)) {
		snprintf(q->user, sizeof(q->user), "u%u", rn(r, 14));
		f->user = q->user;
	}
	if (rn(r, 2))
		f->country = countries[rn(r, 5)];
	if (rn(r, 2))
		f->asn = 64496 + rn(r, 6);
	if (foreign) {
		/* Values outside every pool: such flows reach deep rules
		 * (those without these keys) and the default. */
		snprintf(q->name, sizeof(q->name), "n%u.other.test",
		    rn(r, 100));
		snprintf(q->host, sizeof(q->host), "h%u.other.test",
		    rn(r, 100));
		sl_ip_parse(&f->dst, rn(r, 2) ? "198.51.100.7" : "2001:db9::7");
		sl_ip_parse(&f->src, "203.0.113.9");
		snprintf(q->user, sizeof(q->user), "zz");
	}
}

static void
print_query(const struct query *q)
{
	char a[SL_IP_STRLEN], b[SL_IP_STRLEN], c[SL_IP_STRLEN];

	printf("# known=0x%x proto=%u port=%u src=%s dst=%s name=%s "
	    "url=%s%s|%s user=%s country=%s asn=%u\n", q->f.known,
	    q->f.proto, q->f.port, sl_ip_fmt(&q->f.src, a, sizeof(a)),
	    sl_ip_fmt(&q->f.dst, b, sizeof(b)), q->f.name ? q->f.name : "-",
	    q->f.url_host ? q->f.url_host : "-",
	    q->f.url_path ? q->f.url_path : "",
	    q->f.url_path_noparam ? q->f.url_path_noparam : "-",
	    q->f.user ? q->f.user : "-",
	    q->f.country ? q->f.country : "-", (unsigned)q->f.asn);
	(void)c;
}

static unsigned
env_u(const char *name, unsigned def)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? (unsigned)strtoul(s, NULL, 0) : def;
}

T_TEST(diff_index_matches_linear_reference)
{
	const char *seed_s = getenv("SL_DIFF_SEED");
	uint64_t seed = seed_s ? strtoull(seed_s, NULL, 0) :
	    (uint64_t)time(NULL) ^ 0x5eed;
	unsigned nrules = env_u("SL_DIFF_RULES", 10000);
	unsigned nq = env_u("SL_DIFF_QUERIES", 100000);
	struct rng r = { seed * 0x9e3779b97f4a7c15ULL + 1 };
	struct sl_diags d;
	struct sl_config *cfg;
	const struct sl_policy *pol;
	unsigned bad = 0, tentative = 0, defaults = 0, deep = 0;
	size_t len;
	char *text;

	printf("# seed %" PRIu64 " (SL_DIFF_SEED=%" PRIu64 " to replay), "
	    "%u rules, %u queries\n", seed, seed, nrules, nq);
	text = gen_policy(&r, nrules, &len);
	sl_diags_init(&d);
	cfg = sl_config_load_buf("random.conf", text, len, NULL, 0, &d);
	if (cfg == NULL)
		sl_diags_print(&d, stdout);
	T_ASSERT(cfg != NULL);
	pol = sl_config_policy(cfg);
	T_EQ(sl_policy_nrules(pol), nrules);
	for (unsigned i = 0; i < nq && bad < 5; i++) {
		struct sl_decision a, b;
		struct query q;
		size_t total;

		gen_query(&r, &q);
		sl_policy_decide(pol, &q.f, &a);
		sl_policy_trace(pol, &q.f, &b, NULL, 0, &total);
		tentative += a.need != 0;
		defaults += (a.flags & SL_DEC_DEFAULT) != 0;
		deep += a.rule_index != UINT32_MAX && a.rule_index > nrules / 10;
		if (a.rule_index != b.rule_index || a.action != b.action ||
		    a.need != b.need || a.mods != b.mods ||
		    a.flags != b.flags || strcmp(a.rule_name, b.rule_name)) {
			bad++;
			printf("# query %u: index %s (%u need 0x%x), reference "
			    "%s (%u need 0x%x)\n", i, a.rule_name,
			    a.rule_index, a.need, b.rule_name, b.rule_index,
			    b.need);
			print_query(&q);
		}
	}
	printf("# %u tentative, %u default, %u decided past the first "
	    "tenth of the rules\n",
	    tentative, defaults, deep);
	/* The data must exercise the interesting cases, or the test
	 * proves little. */
	T_ASSERT(nq < 10000 || (tentative > nq / 20 && defaults > nq / 1000 &&
	    deep > nq / 2000));
	T_EQ(bad, 0);
	sl_config_unref(cfg);
	sl_diags_free(&d);
	free(text);
}

T_TEST(diff_small_policies_many_seeds)
{
	/* Many small policies: edge cases of tiny indexes (one rule, all
	 * disabled, no matchers at all). */
	uint64_t seed0 = env_u("SL_DIFF_SEED", 12345);

	for (unsigned s = 0; s < 300; s++) {
		struct rng r = { (seed0 + s) * 0x9e3779b97f4a7c15ULL + 1 };
		unsigned n = 1 + rn(&r, 12);
		struct sl_diags d;
		struct sl_config *cfg;
		size_t len;
		char *text = gen_policy(&r, n, &len);

		sl_diags_init(&d);
		cfg = sl_config_load_buf("small.conf", text, len, NULL, 0, &d);
		T_ASSERT(cfg != NULL);
		for (unsigned i = 0; i < 300; i++) {
			struct sl_decision a, b;
			struct query q;
			size_t total;

			gen_query(&r, &q);
			sl_policy_decide(sl_config_policy(cfg), &q.f, &a);
			sl_policy_trace(sl_config_policy(cfg), &q.f, &b, NULL,
			    0, &total);
			if (a.rule_index != b.rule_index || a.need != b.need) {
				printf("# policy %u:\n%s", s, text);
				print_query(&q);
			}
			T_EQ(a.rule_index, b.rule_index);
			T_EQ(a.need, b.need);
		}
		sl_config_unref(cfg);
		sl_diags_free(&d);
		free(text);
	}
}
