/*
 * nft.c — `sluicectl nft`: the nftables ruleset that puts a transparent
 * sluiced in the path, generated from the configuration so the two never
 * disagree.
 *
 * TCP from the client side (nft-interfaces, nft-clients) to the
 * transparent-tcp-ports is redirected (or TPROXYed) to the transparent
 * listener.  sluiced's own upstream connections start on the appliance, so
 * they pass the output hook, never prerouting: they are not redirected
 * again.  Traffic addressed to the appliance itself is left alone too
 * (fib daddr type local), so the explicit proxy and ssh keep working.
 *
 * UDP from the same clients to the transparent-udp-ports (STUN/TURN) is
 * TPROXYed in either mode, to the same address and port number as TCP,
 * where the UDP forwarder is to bind a transparent socket (IP_TRANSPARENT,
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

/*
 * Print "a, b, c" of the comma/blank separated CIDRs of family af, checking
 * every word is valid; with fp NULL only check and count.
 */
static int
nft_print_cidrs(FILE *fp, const char *list, int af, int *count)
{
	char *copy = sl_strdup(list), *save = NULL, *w;
	int first = 1, rc = 0;

	*count = 0;
	if (copy == NULL)
		return -1;
	for (w = strtok_r(copy, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save)) {
		struct sl_ip net;
		unsigned plen;
		char buf[SL_IP_STRLEN];

		if (sl_cidr_parse(w, &net, &plen) == -1) {
			fprintf(stderr, "sluicectl nft: nft-clients: '%s' is not "
			    "a CIDR\n", w);
			rc = -1;
			break;
		}
		if (net.af != af)
			continue;
		if (fp != NULL)
			fprintf(fp, "%s%s/%u", first ? "" : ", ",
			    sl_ip_fmt(&net, buf, sizeof(buf)), plen);
		first = 0;
		(*count)++;
	}
	sl_free(copy);
	return rc;
}

/*
 * The set clients_v4 or clients_v6 of the nft-clients of family af.  nft
 * rejects an empty "elements = { }", so a family without clients gets a set
 * without elements (and no rule refers to it).
 */
static int
nft_print_clients(FILE *fp, const char *list, int af, int *count)
{
	if (nft_print_cidrs(NULL, list, af, count) == -1)
		return -1;
	fprintf(fp, "\tset clients_v%c {\n\t\ttype %s; flags interval;\n",
	    af == AF_INET ? '4' : '6',
	    af == AF_INET ? "ipv4_addr" : "ipv6_addr");
	if (*count > 0) {
		fprintf(fp, "\t\telements = { ");
		(void)nft_print_cidrs(fp, list, af, count);
		fprintf(fp, " }\n");
	}
	fprintf(fp, "\t}\n");
	return 0;
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
 * The listener of the first transparent listener's kind that serves af:
 * one bound to an address of that family, else a "*:port" one (which
 * takes both), else none (no rule for that family).
 */
static const struct sl_listen *
nft_listener_for(const struct sl_listen *ls, size_t n,
    const struct sl_listen *first, int af)
{
	const struct sl_listen *any = NULL;

	if (first == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct sl_ip ip;

		if (ls[i].kind != first->kind)
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
	const struct sl_listen		*t4, *t6; /* per family, or NULL */
	int				 n4, n6; /* nft-clients per family */
};

/*
 * One prerouting chain sending proto to the transparent listeners: a nat
 * chain for redirect, a filter chain at priority mangle for tproxy; only
 * from the client side, never what is addressed to the appliance itself.
 * note (or NULL) goes at its top.  Returns how many rules it holds.
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
	if (c->t4 != NULL && (!clients || c->n4 > 0))
		n += nft_rule(c->fp, c->t4, AF_INET, clients, proto, tproxy);
	if (c->t6 != NULL && (!clients || c->n6 > 0))
		n += nft_rule(c->fp, c->t6, AF_INET6, clients, proto, tproxy);
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
    "\t\t# port, protocol UDP.  Until sluiced forwards UDP nothing is\n"
    "\t\t# bound there: tproxy finds no socket, the rule does not match\n"
    "\t\t# and the datagrams are routed on as without sluice.\n";

static int
nft_emit(FILE *fp, const char *path, const struct sl_config *cfg)
{
	const struct sl_settings *set = sl_config_settings(cfg);
	const struct sl_listen *ls, *tl = NULL;
	struct nft_ctx c = { .fp = fp, .set = set };
	size_t nl;
	int tcp_tproxy, nudp, udp_rules = 0;

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
	c.t4 = nft_listener_for(ls, nl, tl, AF_INET);
	c.t6 = nft_listener_for(ls, nl, tl, AF_INET6);
	tcp_tproxy = tl->kind == SL_LISTEN_TPROXY;
	if (nft_print_ports(NULL, set->transparent_tcp_ports,
	    IPPROTO_TCP) == 0) {
		fprintf(stderr, "sluicectl nft: transparent-tcp-ports is "
		    "empty\n");
		return CTL_PROBLEM;
	}
	nudp = nft_print_ports(NULL, set->transparent_udp_ports, IPPROTO_UDP);
	fprintf(fp, "#!/usr/sbin/nft -f\n"
	    "# Generated by `sluicectl nft` from %s.\n"
	    "# Regenerate after changing the listeners or the nft-* and\n"
	    "# transparent-* settings; load with `nft -f FILE`.\n\n"
	    "table inet sluice\n"
	    "delete table inet sluice\n\n"
	    "table inet sluice {\n", path);
	if (set->nft_clients[0] != '\0' &&
	    (nft_print_clients(fp, set->nft_clients, AF_INET, &c.n4) == -1 ||
	    nft_print_clients(fp, set->nft_clients, AF_INET6, &c.n6) == -1))
		return CTL_PROBLEM;
	nft_print_portset(fp, "tcp_ports", set->transparent_tcp_ports,
	    IPPROTO_TCP);
	if (nudp > 0)
		nft_print_portset(fp, "udp_ports", set->transparent_udp_ports,
		    IPPROTO_UDP);
	fprintf(fp, "\n");
	(void)nft_chain(&c, "prerouting", IPPROTO_TCP, tcp_tproxy, NULL);
	if (nudp > 0) {
		fprintf(fp, "\n");
		udp_rules = nft_chain(&c, "prerouting_udp", IPPROTO_UDP, 1,
		    nft_udp_note);
	}
	fprintf(fp, "}\n");
	if (tcp_tproxy || udp_rules > 0)
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
