/*
 * match.c — one rule against the facts, the way the language defines it.
 *
 * This is the definition of matching: the linear reference decision
 * (ref.c), `sluicectl explain` and the differential test use it directly,
 * and the compiled index (compile.c) must agree with it.
 */
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

int
pol_dom_match(const struct pol_dom *d, const char *name, size_t len)
{
	size_t dl = d->len;

	if (!d->wild)
		return len == dl && memcmp(name, d->name, dl) == 0;
	/* "*.x.test": a strict subdomain at any depth, never x.test. */
	return len > dl + 1 && name[len - dl - 1] == '.' &&
	    memcmp(name + len - dl, d->name, dl) == 0;
}

int
pol_cidr_match(const struct pol_cidr *c, const struct sl_ip *ip)
{
	return sl_ip_in_prefix(ip, &c->net, c->plen);
}

int
pol_url_match(const struct pol_url *u, const char *host, size_t hlen,
    const char *path)
{
	if (!pol_dom_match(&u->host, host, hlen))
		return 0;
	if (path == NULL)
		path = "/";
	return strncmp(path, u->path, u->pathlen) == 0;
}

const union pol_val *
pol_vit_next(struct pol_vit *it)
{
	const struct pol_match *m = it->m;

	if (m == NULL)
		return NULL;
	if (it->r == 0 && it->i < m->vals.n)
		return &m->vals.v[it->i++];
	if (it->r == 0) {
		it->r = 1;
		it->i = 0;
	}
	while (it->r - 1 < m->nrefs) {
		const struct pol_list *l = m->refs[it->r - 1].list;

		if (l != NULL && it->i < l->vals.n)
			return &l->vals.v[it->i++];
		it->r++;
		it->i = 0;
	}
	return NULL;
}

/* Iterate a matcher's own values and those of the lists it names. */
#define FOR_VALS(m, val, body) do {					\
	for (size_t i_ = 0; i_ < (m)->vals.n; i_++) {			\
		const union pol_val *val = &(m)->vals.v[i_];		\
		body							\
	}								\
	for (size_t r_ = 0; r_ < (m)->nrefs; r_++) {			\
		const struct pol_list *l_ = (m)->refs[r_].list;		\
		if (l_ == NULL)						\
			continue;					\
		for (size_t i_ = 0; i_ < l_->vals.n; i_++) {		\
			const union pol_val *val = &l_->vals.v[i_];	\
			body						\
		}							\
	}								\
} while (0)

int
pol_match_domain(const struct pol_match *m, const char *name, size_t len)
{
	FOR_VALS(m, v, {
		if (pol_dom_match(&v->dom, name, len))
			return 1;
	});
	return 0;
}

int
pol_match_cidr(const struct pol_match *m, const struct sl_ip *ip)
{
	FOR_VALS(m, v, {
		if (pol_cidr_match(&v->cidr, ip))
			return 1;
	});
	return 0;
}

int
pol_match_port(const struct pol_match *m, uint8_t proto, uint16_t port)
{
	FOR_VALS(m, v, {
		if (v->port.proto == proto && v->port.lo <= port &&
		    port <= v->port.hi)
			return 1;
	});
	return 0;
}

int
pol_match_url(const struct pol_match *m, const char *host, size_t hlen,
    const char *path)
{
	FOR_VALS(m, v, {
		if (pol_url_match(&v->url, host, hlen, path))
			return 1;
	});
	return 0;
}

int
pol_match_url_host(const struct pol_match *m, const char *host, size_t hlen)
{
	FOR_VALS(m, v, {
		if (pol_dom_match(&v->url.host, host, hlen))
			return 1;
	});
	return 0;
}

/*
 * The url matcher of r against both readings of the path (policy.h): a
 * deny rule holds when either reading matches, so no way the origin may
 * read the path escapes it; a splice or inspect rule only when both do,
 * so none buys an allow for a path the origin reads another way.
 */
int
pol_rule_url_match(const struct sl_rule *r, const struct pol_q *q)
{
	const struct pol_match *m = r->m[PK_URL];
	const char *alt = q->f->url_path_noparam;
	int hit;

	if (!q->has_url)
		return 0;
	hit = pol_match_url(m, q->host, q->hostlen, q->f->url_path);
	if (alt == NULL)
		return hit;
	if (r->action == SL_ACT_DENY ? hit : !hit)
		return hit;		/* decided by the first reading */
	return pol_match_url(m, q->host, q->hostlen, alt);
}

int
pol_match_str(const struct pol_match *m, const char *s)
{
	FOR_VALS(m, v, {
		if (strcmp(v->str, s) == 0)
			return 1;
	});
	return 0;
}

int
pol_match_asn(const struct pol_match *m, uint32_t asn)
{
	FOR_VALS(m, v, {
		if (v->asn == asn)
			return 1;
	});
	return 0;
}

/* Lowercase, cut one trailing dot; 0 if absent, empty or too long. */
static size_t
q_norm(const char *in, char *out, size_t cap)
{
	size_t len;

	if (in == NULL)
		return 0;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		/* An empty label (".x", "a..b") is no host name: treat the
		 * fact as absent rather than let it match a wildcard. */
		if (c == '.' && (i == 0 || in[i - 1] == '.'))
			return 0;
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return len;
}

/*
 * While the url is not known, the host it will have, as the name step
 * knows it.  The proxy takes a plain HTTP request's url host from its
 * authority, which is also the flow's name, or its address when the
 * authority is one (then the flow has no name); an inspected request's
 * Host must be the SNI, or it is a name the client claims and decided as
 * the flow's name.  So the url's host is the name; for a flow without a
 * name, its address as text; and a name that is no host name (q_norm
 * refuses it) matches no url host, no more than it will in the url.
 */
static enum pol_ahead
q_url_ahead(const struct pol_q *q)
{
	const struct sl_facts *f = q->f;

	if ((f->known & SL_FACT_NAME) == 0)
		return PA_WAIT;
	if (q->has_name)
		return PA_NAME;
	if (f->name != NULL)
		return PA_NONE;
	if ((f->known & SL_FACT_DST_IP) == 0)
		return PA_WAIT;
	return f->dst.af != 0 ? PA_ADDR : PA_NONE;
}

void
pol_q_init(struct pol_q *q, const struct sl_facts *f)
{
	q->f = f;
	q->namelen = q_norm((f->known & SL_FACT_NAME) ? f->name : NULL,
	    q->name, sizeof(q->name));
	q->has_name = q->namelen > 0;
	q->hostlen = q_norm((f->known & SL_FACT_URL) ? f->url_host : NULL,
	    q->host, sizeof(q->host));
	q->has_url = q->hostlen > 0;
	/* The address is formatted only if a url rule asks (most flows
	 * meet none before their rule). */
	q->ahead = (f->known & SL_FACT_URL) ? PA_WAIT : q_url_ahead(q);
}

const char *
pol_q_url_ahead(const struct pol_q *q, char *buf, size_t cap, size_t *len)
{
	if (q->ahead == PA_NAME) {
		*len = q->namelen;
		return q->name;
	}
	sl_ip_fmt(&q->f->dst, buf, cap);
	*len = strlen(buf);
	return buf;
}

/*
 * A url matcher while the url is not known: 1 when none of its hosts can
 * be the url's (the rule is out), 0 when it waits for the url.
 */
static int
rule_url_out(const struct sl_rule *r, const struct pol_q *q)
{
	char buf[SL_IP_STRLEN];
	const char *host;
	size_t len;

	if (q->ahead == PA_WAIT)
		return 0;
	if (q->ahead == PA_NONE)
		return 1;
	host = pol_q_url_ahead(q, buf, sizeof(buf), &len);
	return !pol_match_url_host(r->m[PK_URL], host, len);
}

static int
rule_key_match(const struct sl_rule *r, enum pol_key k, const struct pol_q *q)
{
	const struct sl_facts *f = q->f;
	const struct pol_match *m = r->m[k];

	switch (k) {
	case PK_DOMAIN:
		return q->has_name && pol_match_domain(m, q->name, q->namelen);
	case PK_IP:
		return f->dst.af != 0 && pol_match_cidr(m, &f->dst);
	case PK_PORT:
		return pol_match_port(m, f->proto, f->port);
	case PK_URL:
		return pol_rule_url_match(r, q);
	case PK_SRC:
		return f->src.af != 0 && pol_match_cidr(m, &f->src);
	case PK_USER:
		return f->user != NULL && pol_match_str(m, f->user);
	case PK_COUNTRY:
		if (f->country == NULL)
			return 0;
		FOR_VALS(m, v, {
			if (strcasecmp(v->str, f->country) == 0)
				return 1;
		});
		return 0;
	case PK_ASN:
		return f->asn != 0 && pol_match_asn(m, f->asn);
	case PK_NKEYS:
		break;
	}
	return 0;
}

int
pol_rule_eval(const struct sl_rule *r, const struct pol_q *q, unsigned *need,
    enum pol_key *why)
{
	unsigned und = 0;

	if (why != NULL)
		*why = PK_NKEYS;
	if (r->rmods & RM_DISABLED)
		return 0;
	for (unsigned k = 0; k < PK_NKEYS; k++) {
		unsigned fact;

		if ((r->keys & (1u << k)) == 0)
			continue;
		fact = pol_key_fact((enum pol_key)k);
		if (fact != 0 && (q->f->known & fact) == 0) {
			/* The url's host part is decided at the name step:
			 * a host that cannot be the url's rules it out. */
			if (k == PK_URL && rule_url_out(r, q)) {
				if (why != NULL)
					*why = PK_URL;
				return 0;
			}
			und |= fact;
			continue;
		}
		/* A known fact that fails decides it, whatever is unknown. */
		if (!rule_key_match(r, (enum pol_key)k, q)) {
			if (why != NULL)
				*why = (enum pol_key)k;
			return 0;
		}
	}
	if (und != 0) {
		*need |= und;
		return -1;
	}
	return 1;
}
