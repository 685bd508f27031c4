/*
 * nft.c — `sluicectl nft`: the nftables ruleset that puts a transparent
 * sluiced in the path, generated from the configuration so the two never
 * disagree.
 *
 * TCP from the client side (nft-interfaces, nft-clients) to the
 * transparent-tcp-ports is redirected (or TPROXYed) to the transparent
 * listener.  Each family goes to one listener: one bound to an address of
 * that family, else a wildcard one, of the first listener's kind where
 * both kinds have one; a family served by the other kind only gets a chain
 * of that kind too.  sluiced's own upstream connections start on the
 * appliance, so they pass the output hook, never prerouting: they are not
 * redirected again; and their so-mark must not be the mark the TPROXY
 * policy routing delivers locally (refused).  Traffic addressed to the appliance itself is left alone too
 * (fib daddr type local), so the explicit proxy and ssh keep working.
 *
 * UDP from the same clients to the transparent-udp-ports (STUN/TURN) is
 * TPROXYed in either mode, to the same address and port number as TCP,
 * where sluiced's UDP forwarder binds a transparent socket (IP_TRANSPARENT,
 * IP_RECVORIGDSTADDR).  tproxy must see every datagram and a nat chain
 * sees only the first packet of each conntrack flow, so in redirect mode
 * UDP gets a filter chain (priority mangle, before any NAT) of its own.
 * TPROXY needs the policy routing printed at the end.  While nothing is
 * bound there the kernel's tproxy finds no socket and breaks off the rule
 * (nft_tproxy_eval_v4/v6 set NFT_BREAK): the datagrams are not marked and
 * are routed on as without sluice.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/alloc.h"
#include "sluicectl.h"

#define NFT_TPROXY_MARK	0x534c	/* "SL": policy-routes TPROXYed flows */

/* One nft-clients entry. */
struct nft_cidr {
	struct sl_ip	net;
	unsigned	plen;
};

/*
 * Parse the comma/blank separated CIDRs of list into *out (owned by the
 * caller, sl_free), their number in *n.  0, or -1 on a word that is not a
 * CIDR (said on stderr) or out of memory.
 */
static int
nft_cidrs_parse(const char *list, struct nft_cidr **out, size_t *n)
{
	char *copy = sl_strdup(list), *save = NULL, *w;
	size_t cap = strlen(list) / 2 + 1;	/* every CIDR takes 2 chars */

	*n = 0;
	*out = sl_calloc(cap, sizeof(**out));
	if (copy == NULL || *out == NULL) {
		sl_free(copy);
		sl_free(*out);
		*out = NULL;
		fprintf(stderr, "sluicectl nft: out of memory\n");
		return -1;
	}
	for (w = strtok_r(copy, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save)) {
		if (sl_cidr_parse(w, &(*out)[*n].net, &(*out)[*n].plen) == -1) {
			fprintf(stderr, "sluicectl nft: nft-clients: '%s' is not "
			    "a CIDR\n", w);
			sl_free(copy);
			sl_free(*out);
			*out = NULL;
			return -1;
		}
		(*n)++;
	}
	sl_free(copy);
	return 0;
}

/*
 * Is v[i] inside another entry of v (a shorter prefix, or an equal one
 * earlier)?  An interval set refuses overlapping elements ("conflicting
 * intervals specified"), so only the outermost of nested ones is printed;
 * the set still matches exactly the addresses of the list.
 */
static int
nft_cidr_covered(const struct nft_cidr *v, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++) {
		if (j == i || v[j].net.af != v[i].net.af ||
		    v[j].plen > v[i].plen)
			continue;
		if (v[j].plen == v[i].plen && j > i)
			continue;	/* a duplicate: the first one stays */
		if (sl_ip_in_prefix(&v[i].net, &v[j].net, v[j].plen))
			return 1;
	}
	return 0;
}

/* How many entries of family af nft_print_clients prints. */
static int
nft_cidr_count(const struct nft_cidr *v, size_t n, int af)
{
	int count = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].net.af == af && !nft_cidr_covered(v, n, i))
			count++;
	return count;
}

/*
 * The set clients_v4 or clients_v6 of the nft-clients of family af.  nft
 * rejects an empty "elements = { }", so a family without clients gets a set
 * without elements (and no rule refers to it).
 */
static void
nft_print_clients(FILE *fp, const struct nft_cidr *v, size_t n, int af)
{
	int first = 1;

	fprintf(fp, "\tset clients_v%c {\n\t\ttype %s; flags interval;\n",
	    af == AF_INET ? '4' : '6',
	    af == AF_INET ? "ipv4_addr" : "ipv6_addr");
	for (size_t i = 0; i < n; i++) {
		char buf[SL_IP_STRLEN];

		if (v[i].net.af != af || nft_cidr_covered(v, n, i))
			continue;
		fprintf(fp, "%s%s/%u", first ? "\t\telements = { " : ", ",
		    sl_ip_fmt(&v[i].net, buf, sizeof(buf)), v[i].plen);
		first = 0;
	}
	if (!first)
		fprintf(fp, " }\n");
	fprintf(fp, "\t}\n");
}

/* Print proto's ports in ps as "a, b-c"; with fp NULL only count them. */
static int
nft_print_ports(FILE *fp, const struct sl_portset *ps, uint8_t proto)
{
	uint8_t p;
	uint16_t lo, hi;
	int n = 0;

	for (size_t i = 0; sl_portset_range(ps, i, &p, &lo, &hi) == 0; i++) {
		if (p != proto)
			continue;
		if (fp != NULL && lo == hi)
			fprintf(fp, "%s%u", n ? ", " : "", lo);
		else if (fp != NULL)
			fprintf(fp, "%s%u-%u", n ? ", " : "", lo, hi);
		n++;
	}
	return n;
}

static void
nft_print_ifaces(FILE *fp, const char *list)
{
	char *copy = sl_strdup(list), *save = NULL, *w;
	int first = 1;

	if (copy == NULL)
		return;
	for (w = strtok_r(copy, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save)) {
		fprintf(fp, "%s\"%s\"", first ? "" : ", ", w);
		first = 0;
	}
	sl_free(copy);
}

/*
 * One family's rule sending proto (IPPROTO_TCP or IPPROTO_UDP) to the
 * @tcp_ports or @udp_ports set towards listener l: redirect (dnat), or
 * tproxy with the mark the policy routing looks for.  Returns 1, or 0 when
 * l serves the other family only (no rule).
 */
static int
nft_rule(FILE *fp, const struct sl_listen *l, int af, int have_clients,
    uint8_t proto, int tproxy)
{
	const char *fam = af == AF_INET ? "ip" : "ip6";
	const char *l4 = proto == IPPROTO_UDP ? "udp" : "tcp";
	struct sl_ip ip;
	uint16_t port;
	char a[SL_IP_STRLEN];
	int wildcard;

	sl_ip_from_sa(&ip, &port, (const struct sockaddr *)&l->addr);
	wildcard = ip.af == AF_INET6 && memcmp(ip.b, &in6addr_any, 16) == 0;
	if (ip.af == AF_INET && memcmp(ip.b, "\0\0\0\0", 4) == 0)
		wildcard = 1;
	if (!wildcard && ip.af != af)
		return 0;		/* this listener serves the other family */
	fprintf(fp, "\t\t");
	if (have_clients)
		fprintf(fp, "%s saddr @clients_v%c ", fam,
		    af == AF_INET ? '4' : '6');
	else
		fprintf(fp, "meta nfproto %s ", af == AF_INET ? "ipv4" : "ipv6");
	fprintf(fp, "%s dport @%s_ports ", l4, l4);
	if (tproxy) {
		if (wildcard)
			fprintf(fp, "tproxy %s to :%u", fam, port);
		else
			fprintf(fp, "tproxy %s to %s%s%s:%u", fam,
			    af == AF_INET6 ? "[" : "",
			    sl_ip_fmt(&ip, a, sizeof(a)),
			    af == AF_INET6 ? "]" : "", port);
		fprintf(fp, " meta mark set 0x%x accept\n", NFT_TPROXY_MARK);
		return 1;
	}
	if (wildcard)
		fprintf(fp, "redirect to :%u\n", port);
	else
		fprintf(fp, "dnat %s to %s%s%s:%u\n", fam,
		    af == AF_INET6 ? "[" : "", sl_ip_fmt(&ip, a, sizeof(a)),
		    af == AF_INET6 ? "]" : "", port);
	return 1;
}

/* Is l a wildcard listener ("*:port" or 0.0.0.0)? */
static int
nft_wildcard(const struct sl_listen *l)
{
	struct sl_ip ip;
	static const uint8_t zero[16];

	sl_ip_from_sa(&ip, NULL, (const struct sockaddr *)&l->addr);
	return memcmp(ip.b, zero, ip.af == AF_INET ? 4 : 16) == 0;
}

/*
 * The listener of kind that serves af: one bound to an address of that
 * family, else a wildcard one that takes it ("*:port" both families,
 * 0.0.0.0 IPv4), else none.
 */
static const struct sl_listen *
nft_listener_for(const struct sl_listen *ls, size_t n,
    enum sl_listen_kind kind, int af)
{
	const struct sl_listen *any = NULL;

	for (size_t i = 0; i < n; i++) {
		struct sl_ip ip;

		if (ls[i].kind != kind)
			continue;
		sl_ip_from_sa(&ip, NULL, (const struct sockaddr *)&ls[i].addr);
		if (ip.af == AF_INET6 && nft_wildcard(&ls[i]) && any == NULL)
			any = &ls[i];
		else if (ip.af == af && !nft_wildcard(&ls[i]))
			return &ls[i];
		else if (ip.af == af && af == AF_INET && any == NULL)
			any = &ls[i];
	}
	return any;
}

/* What every chain of the table needs; all borrowed. */
struct nft_ctx {
	FILE				*fp;
	const struct sl_settings	*set;
	const struct sl_listen		*l[2];	/* IPv4, IPv6; or NULL */
	int				 served[2]; /* has a rule per family */
	int				 ntcp, nudp; /* port ranges per proto */
};

/*
 * One prerouting chain sending proto to the transparent listeners: a nat
 * chain for redirect, a filter chain at priority mangle for tproxy; only
 * from the client side, never what is addressed to the appliance itself.
 * TCP of a family goes to the chain of its listener's kind; UDP is always
 * TPROXYed.  note (or NULL) goes at its top.  Returns how many rules it
 * holds.
 */
static int
nft_chain(const struct nft_ctx *c, const char *name, uint8_t proto,
    int tproxy, const char *note)
{
	int clients = c->set->nft_clients[0] != '\0', n = 0;

	if (tproxy)
		fprintf(c->fp, "\tchain %s {\n\t\ttype filter hook "
		    "prerouting priority mangle; policy accept;\n", name);
	else
		fprintf(c->fp, "\tchain %s {\n\t\ttype nat hook "
		    "prerouting priority dstnat; policy accept;\n", name);
	if (note != NULL)
		fputs(note, c->fp);
	if (c->set->nft_interfaces[0] != '\0') {
		fprintf(c->fp, "\t\tiifname != { ");
		nft_print_ifaces(c->fp, c->set->nft_interfaces);
		fprintf(c->fp, " } return\n");
	}
	fprintf(c->fp, "\t\t# to the appliance itself: not redirected\n"
	    "\t\tfib daddr type local return\n");
	for (int i = 0; i < 2; i++) {
		if (!c->served[i] || (proto == IPPROTO_TCP &&
		    (c->l[i]->kind == SL_LISTEN_TPROXY) != tproxy))
			continue;
		n += nft_rule(c->fp, c->l[i], i == 0 ? AF_INET : AF_INET6,
		    clients, proto, tproxy);
	}
	fprintf(c->fp, "\t}\n");
	return n;
}

static void
nft_print_portset(FILE *fp, const char *name, const struct sl_portset *ps,
    uint8_t proto)
{
	fprintf(fp, "\tset %s {\n\t\ttype inet_service; flags "
	    "interval;\n\t\telements = { ", name);
	(void)nft_print_ports(fp, ps, proto);
	fprintf(fp, " }\n\t}\n");
}

static const char nft_udp_note[] =
    "\t\t# STUN/TURN: TPROXY to the transparent listener's address and\n"
    "\t\t# port, protocol UDP, where sluiced forwards what policy\n"
    "\t\t# splices.  With nothing bound there (udp-forward off, sluiced\n"
    "\t\t# stopped) tproxy finds no socket, the rule does not match and\n"
    "\t\t# the datagrams are routed on as without sluice.\n";

/* Does a TCP rule of kind exist (tproxy: 1, redirect: 0)? */
static int
nft_tcp_uses(const struct nft_ctx *c, int tproxy)
{
	for (int i = 0; i < 2; i++)
		if (c->ntcp > 0 && c->served[i] &&
		    (c->l[i]->kind == SL_LISTEN_TPROXY) == tproxy)
			return 1;
	return 0;
}

/*
 * Pick each family's listener and say on stderr what the ruleset cannot
 * do: a listener no rule leads to, client subnets of a family no listener
 * serves, a redirect to a loopback address.  Returns -1 on what no ruleset
 * can serve (so-mark equal to the TPROXY mark; a listener on port 0 is
 * refused by the parser).
 */
static int
nft_plan(struct nft_ctx *c, const struct sl_listen *ls, size_t nl,
    enum sl_listen_kind first, const struct nft_cidr *cl, size_t ncl)
{
	static const char *const kinds[] = { "explicit", "transparent",
		"tproxy" };
	enum sl_listen_kind other = first == SL_LISTEN_TPROXY ?
	    SL_LISTEN_TRANSPARENT : SL_LISTEN_TPROXY;
	int clients = c->set->nft_clients[0] != '\0';
	char a[SL_ADDR_STRLEN];

	for (int i = 0; i < 2; i++) {
		int af = i == 0 ? AF_INET : AF_INET6;
		int subnets = clients && nft_cidr_count(cl, ncl, af) > 0;

		/* The first listener's kind wins where both serve af. */
		if ((c->l[i] = nft_listener_for(ls, nl, first, af)) == NULL)
			c->l[i] = nft_listener_for(ls, nl, other, af);
		c->served[i] = c->l[i] != NULL && (!clients || subnets);
		if (c->l[i] == NULL && subnets)
			fprintf(stderr, "sluicectl nft: warning: nft-clients "
			    "has IPv%c subnets but no transparent or tproxy "
			    "listener serves IPv%c: their traffic is not "
			    "redirected\n", i == 0 ? '4' : '6',
			    i == 0 ? '4' : '6');
	}
	for (size_t i = 0; i < nl; i++) {
		const struct sl_listen *l = &ls[i];
		struct sl_ip ip;

		if (l->kind == SL_LISTEN_EXPLICIT)
			continue;
		sl_sa_fmt((const struct sockaddr *)&l->addr, a, sizeof(a));
		sl_ip_from_sa(&ip, NULL, (const struct sockaddr *)&l->addr);
		if (l != c->l[0] && l != c->l[1])
			fprintf(stderr, "sluicectl nft: warning: %s:%u: listen "
			    "%s %s gets no traffic from this ruleset (each "
			    "family goes to one listener)\n", l->loc.file,
			    l->loc.line, kinds[l->kind], a);
		else if (l->kind == SL_LISTEN_TRANSPARENT &&
		    sl_ip_is_loopback(&ip))
			fprintf(stderr, "sluicectl nft: warning: %s:%u: listen "
			    "transparent %s: the kernel drops what is redirected "
			    "to a loopback address (IPv4 unless route_localnet "
			    "is on); bind it to an address of the appliance\n",
			    l->loc.file, l->loc.line, a);
	}
	/* TPROXY routes by the mark: sluiced's own connections carrying it
	 * would be delivered to the appliance itself. */
	if ((nft_tcp_uses(c, 1) || (c->nudp > 0 &&
	    (c->served[0] || c->served[1]))) &&
	    c->set->so_mark == NFT_TPROXY_MARK) {
		fprintf(stderr, "sluicectl nft: so-mark 0x%x is the mark the "
		    "TPROXY policy routing looks for: sluiced's own connections "
		    "would be routed back to the appliance; choose another "
		    "so-mark\n", NFT_TPROXY_MARK);
		return -1;
	}
	return 0;
}

static int
nft_emit(FILE *fp, const char *path, const struct sl_config *cfg)
{
	const struct sl_settings *set = sl_config_settings(cfg);
	const struct sl_listen *ls, *tl = NULL;
	struct nft_ctx c = { .fp = fp, .set = set };
	struct nft_cidr *cl = NULL;
	size_t nl, ncl = 0;
	int tproxy_rules = 0;

	ls = sl_config_listeners(cfg, &nl);
	for (size_t i = 0; i < nl; i++)
		if (ls[i].kind == SL_LISTEN_TRANSPARENT ||
		    ls[i].kind == SL_LISTEN_TPROXY) {
			tl = &ls[i];
			break;
		}
	if (tl == NULL) {
		fprintf(stderr, "sluicectl nft: %s has no transparent or tproxy "
		    "listener: nothing to redirect\n", path);
		return CTL_PROBLEM;
	}
	c.ntcp = nft_print_ports(NULL, set->transparent_tcp_ports,
	    IPPROTO_TCP);
	c.nudp = nft_print_ports(NULL, set->transparent_udp_ports,
	    IPPROTO_UDP);
	if (c.ntcp == 0 && c.nudp == 0) {
		fprintf(stderr, "sluicectl nft: transparent-tcp-ports and "
		    "transparent-udp-ports are empty: nothing to redirect\n");
		return CTL_PROBLEM;
	}
	if (nft_cidrs_parse(set->nft_clients, &cl, &ncl) == -1)
		return CTL_PROBLEM;
	if (nft_plan(&c, ls, nl, tl->kind, cl, ncl) == -1) {
		sl_free(cl);
		return CTL_PROBLEM;
	}
	fprintf(fp, "#!/usr/sbin/nft -f\n"
	    "# Generated by `sluicectl nft` from %s.\n"
	    "# Regenerate after changing the listeners or the nft-* and\n"
	    "# transparent-* settings; load with `nft -f FILE`.\n\n"
	    "table inet sluice\n"
	    "delete table inet sluice\n\n"
	    "table inet sluice {\n", path);
	if (set->nft_clients[0] != '\0') {
		nft_print_clients(fp, cl, ncl, AF_INET);
		nft_print_clients(fp, cl, ncl, AF_INET6);
	}
	sl_free(cl);
	if (c.ntcp > 0)
		nft_print_portset(fp, "tcp_ports", set->transparent_tcp_ports,
		    IPPROTO_TCP);
	if (c.nudp > 0)
		nft_print_portset(fp, "udp_ports", set->transparent_udp_ports,
		    IPPROTO_UDP);
	/*
	 * TCP: the chain "prerouting" is of the first listener's kind; a
	 * family whose only listener is of the other kind gets a chain of
	 * that kind too (NAT and TPROXY cannot share a chain).
	 */
	if (c.ntcp > 0) {
		int tp = tl->kind == SL_LISTEN_TPROXY;

		fprintf(fp, "\n");
		tproxy_rules += tp * nft_chain(&c, "prerouting", IPPROTO_TCP,
		    tp, NULL);
		if (nft_tcp_uses(&c, !tp)) {
			fprintf(fp, "\n");
			tproxy_rules += !tp * nft_chain(&c, tp ?
			    "prerouting_nat" : "prerouting_tproxy",
			    IPPROTO_TCP, !tp, NULL);
		}
	}
	if (c.nudp > 0) {
		fprintf(fp, "\n");
		tproxy_rules += nft_chain(&c, "prerouting_udp", IPPROTO_UDP, 1,
		    nft_udp_note);
	}
	fprintf(fp, "}\n");
	if (tproxy_rules > 0)
		fprintf(fp, "\n# TPROXY also needs policy routing (not nftables):\n"
		    "#   ip rule add fwmark 0x%x lookup 0x%x\n"
		    "#   ip route add local 0.0.0.0/0 dev lo table 0x%x\n"
		    "#   ip -6 rule add fwmark 0x%x lookup 0x%x\n"
		    "#   ip -6 route add local ::/0 dev lo table 0x%x\n",
		    NFT_TPROXY_MARK, NFT_TPROXY_MARK, NFT_TPROXY_MARK,
		    NFT_TPROXY_MARK, NFT_TPROXY_MARK, NFT_TPROXY_MARK);
	return CTL_OK;
}

int
ctl_nft(int argc, char **argv)
{
	const char *path = "/etc/sluice/sluice.conf";
	struct sl_config *cfg;
	int ch, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			ctl_usage("nft", stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_usage("nft", stderr);
		return CTL_USAGE;
	}
	if ((cfg = ctl_load(path, 1)) == NULL)
		return CTL_PROBLEM;
	rc = nft_emit(stdout, path, cfg);
	sl_config_unref(cfg);
	return rc;
}
