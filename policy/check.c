/*
 * check.c — warnings about policies that load but probably do not do
 * what their author meant.  They know TLS semantics: a spliced TLS flow
 * is never decrypted, so nothing below the host name of it is ever seen.
 *
 *  - a url matcher on a splice rule (enforceable on plain HTTP only);
 *  - a url matcher on a host an earlier rule splices (never reached for
 *    TLS), and a splice rule after a url rule for the same host (those
 *    flows must be inspected to be decided, so they are not spliced);
 *  - shadowed rules: an earlier rule accepts every flow this one could
 *    (the cheap exact cases: domain, ip, src and port sets, no other keys);
 *  - duplicate values in a list or a matcher;
 *  - overlapping CIDRs in rules with different actions;
 *  - an inspect rule naming UDP ports (inspect cannot apply to UDP).
 * Whether an inspect decision can be carried out (an appliance CA is
 * there) is the daemon's to say, at start and reload (proxy/rt.c).
 * Mangled wildcards and suspicious names are reported by the parser.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/alloc.h"
#include "parse.h"

/* Work bound of the pairwise shadow analysis (rule-pair comparisons):
 * about a tenth of a second. */
#define SHADOW_BUDGET		(4u * 1000 * 1000)
/* At most this many warnings of one kind per rule. */
#define PER_RULE_MAX		3

/* A value as the admin would write it, for messages and duplicates. */
static const char *
val_fmt(enum pol_key k, const union pol_val *v, char *buf, size_t cap)
{
	char a[SL_IP_STRLEN];

	switch (k) {
	case PK_DOMAIN:
		snprintf(buf, cap, "%s%s", v->dom.wild ? "*." : "",
		    v->dom.name);
		break;
	case PK_IP:
	case PK_SRC:
		snprintf(buf, cap, "%s/%u", sl_ip_fmt(&v->cidr.net, a,
		    sizeof(a)), v->cidr.plen);
		break;
	case PK_PORT:
		if (v->port.lo == v->port.hi)
			snprintf(buf, cap, "%s/%u", v->port.proto ==
			    IPPROTO_UDP ? "udp" : "tcp", v->port.lo);
		else
			snprintf(buf, cap, "%s/%u-%u", v->port.proto ==
			    IPPROTO_UDP ? "udp" : "tcp", v->port.lo,
			    v->port.hi);
		break;
	case PK_URL:
		snprintf(buf, cap, "%s%s%.*s", v->url.host.wild ? "*." : "",
		    v->url.host.name, (int)v->url.pathlen, v->url.path);
		break;
	case PK_USER:
	case PK_COUNTRY:
		snprintf(buf, cap, "%s", v->str);
		break;
	case PK_ASN:
		snprintf(buf, cap, "%u", (unsigned)v->asn);
		break;
	case PK_NKEYS:
		buf[0] = '\0';
		break;
	}
	return buf;
}

/* ---------------------------------------------------------------------
 * Duplicate values
 */

/* Report a duplicate of value i (first seen at first). */
static void
dup_report(struct parser *p, const struct pol_vals *vv, size_t i,
    size_t first, const char *text, unsigned seq, const char *where)
{
	pdiag(p, SL_DIAG_WARNING, seq, &vv->loc[i], "duplicate value '%s' in %s "
	    "(first at line %u)", text, where, vv->loc[first].line);
}

/*
 * Duplicates among the values of one list or matcher.  Small sets are
 * compared pairwise; large ones (lists of thousands of CIDRs) through a
 * temporary hash table, so the check stays linear and keeps no memory.
 */
static void
dup_values(struct parser *p, enum pol_key k, const struct pol_vals *vv,
    unsigned seq, const char *where)
{
	char a[600], b[600];

	if (vv->n < 2)
		return;
	if (vv->n <= 16) {
		for (size_t i = 1; i < vv->n; i++) {
			val_fmt(k, &vv->v[i], a, sizeof(a));
			for (size_t j = 0; j < i; j++) {
				if (strcmp(a, val_fmt(k, &vv->v[j], b,
				    sizeof(b))) == 0) {
					dup_report(p, vv, i, j, a, seq, where);
					break;
				}
			}
		}
		return;
	}
	{
		size_t cap = 64;
		uint64_t *hv;
		size_t *idx;

		while (cap < vv->n * 2)
			cap *= 2;
		hv = sl_calloc(cap, sizeof(*hv));
		idx = sl_calloc(cap, sizeof(*idx));
		if (hv == NULL || idx == NULL) {
			sl_free(hv);
			sl_free(idx);
			p->oom = 1;
			return;
		}
		for (size_t i = 0; i < vv->n; i++) {
			uint64_t h;
			size_t j;

			val_fmt(k, &vv->v[i], a, sizeof(a));
			h = pol_hash(a, strlen(a), POL_HASH_INIT) | 1;
			for (j = (size_t)h & (cap - 1); hv[j] != 0;
			    j = (j + 1) & (cap - 1)) {
				if (hv[j] == h && strcmp(a, val_fmt(k,
				    &vv->v[idx[j]], b, sizeof(b))) == 0)
					break;
			}
			if (hv[j] != 0) {
				dup_report(p, vv, i, idx[j], a, seq, where);
				continue;
			}
			hv[j] = h;
			idx[j] = i;
		}
		sl_free(hv);
		sl_free(idx);
	}
}

static enum pol_key
ltype_key(enum pol_ltype t)
{
	static const enum pol_key map[PL_NTYPES] = {
		PK_DOMAIN, PK_IP, PK_PORT, PK_USER, PK_URL,
	};

	return map[t];
}

static void
check_duplicates(struct parser *p)
{
	for (size_t i = 0; i < p->pol->nlists; i++) {
		const struct pol_list *l = p->pol->lists[i];
		char where[POL_NAME_MAX + 16];

		snprintf(where, sizeof(where), "list '%s'", l->name);
		dup_values(p, ltype_key(l->type), &l->vals, l->seq, where);
	}
	for (size_t i = 0; i < p->pol->nrules; i++) {
		const struct sl_rule *r = p->pol->rules[i];
		char where[POL_NAME_MAX + 16];

		snprintf(where, sizeof(where), "rule '%s'", r->name);
		for (unsigned k = 0; k < PK_NKEYS; k++)
			if (r->keys & (1u << k))
				dup_values(p, (enum pol_key)k, &r->m[k]->vals,
				    r->seq, where);
	}
}

/* ---------------------------------------------------------------------
 * Coverage: does one set of values accept everything another does?
 */

/* Does domain pattern a accept every name pattern b accepts? */
static int
dom_covers(const struct pol_dom *a, const struct pol_dom *b)
{
	if (!a->wild)
		return !b->wild && a->len == b->len &&
		    memcmp(a->name, b->name, a->len) == 0;
	/* *.x covers y and *.y when y is x or below x; not x itself. */
	if (b->len == a->len)
		return b->wild && memcmp(a->name, b->name, a->len) == 0;
	return pol_dom_match(a, b->name, b->len);
}

static int
cidr_covers(const struct pol_cidr *a, const struct pol_cidr *b)
{
	return a->net.af == b->net.af && a->plen <= b->plen &&
	    sl_ip_in_prefix(&b->net, &a->net, a->plen);
}

static int
val_covers(enum pol_key k, const union pol_val *a, const union pol_val *b)
{
	switch (k) {
	case PK_DOMAIN:
		return dom_covers(&a->dom, &b->dom);
	case PK_IP:
	case PK_SRC:
		return cidr_covers(&a->cidr, &b->cidr);
	case PK_PORT:
		return a->port.proto == b->port.proto &&
		    a->port.lo <= b->port.lo && b->port.hi <= a->port.hi;
	default:
		return 0;
	}
}

/* Every value of matcher mb is covered by one value of ma. */
static int
match_covers(enum pol_key k, const struct pol_match *ma,
    const struct pol_match *mb)
{
	struct pol_vit ib = { mb, 0, 0 };
	const union pol_val *b;

	while ((b = pol_vit_next(&ib)) != NULL) {
		struct pol_vit ia = { ma, 0, 0 };
		const union pol_val *a;
		int ok = 0;

		while (!ok && (a = pol_vit_next(&ia)) != NULL)
			ok = val_covers(k, a, b);
		if (!ok)
			return 0;
	}
	return 1;
}

#define SHADOW_KEYS	(1u << PK_DOMAIN | 1u << PK_IP | 1u << PK_PORT | \
			 1u << PK_SRC)

/* Does rule a accept every flow rule b accepts (cheap exact cases)? */
static int
rule_covers(const struct sl_rule *a, const struct sl_rule *b)
{
	if ((a->keys & ~b->keys) != 0 || (a->keys & ~SHADOW_KEYS) != 0)
		return 0;
	for (unsigned k = 0; k < PK_NKEYS; k++)
		if ((a->keys & (1u << k)) &&
		    !match_covers((enum pol_key)k, a->m[k], b->m[k]))
			return 0;
	return 1;
}

/* Does one of the rule's matchers have no value at all (empty lists)? */
static int
rule_empty(const struct sl_rule *r, enum pol_key *which)
{
	for (unsigned k = 0; k < PK_NKEYS; k++) {
		struct pol_vit it = { r->m[k], 0, 0 };

		if ((r->keys & (1u << k)) && pol_vit_next(&it) == NULL) {
			*which = (enum pol_key)k;
			return 1;
		}
	}
	return 0;
}

static void
check_empty(struct parser *p, unsigned char *shadowed)
{
	for (size_t i = 0; i < p->pol->nrules; i++) {
		const struct sl_rule *r = p->pol->rules[i];
		enum pol_key k;

		if ((r->rmods & RM_DISABLED) || !rule_empty(r, &k))
			continue;
		pdiag(p, SL_DIAG_WARNING, r->seq, &r->m[k]->loc, "the %s matcher "
		    "of rule '%s' has no values (its lists are empty): the "
		    "rule matches nothing until they are filled",
		    pol_key_name(k), r->name);
		shadowed[i] = 1;
	}
}

/*
 * inspect cannot apply to UDP: sluiced drops such datagrams (reason
 * udp_not_inspectable) unless `set udp-inspect splice`.  A rule that
 * names UDP ports with inspect says something it cannot do.
 */
static void
check_udp_inspect(struct parser *p)
{
	char buf[64];

	for (size_t i = 0; i < p->pol->nrules; i++) {
		const struct sl_rule *r = p->pol->rules[i];
		struct pol_vit it;
		const union pol_val *v;

		if ((r->rmods & RM_DISABLED) || r->action != SL_ACT_INSPECT ||
		    !(r->keys & (1u << PK_PORT)))
			continue;
		it = (struct pol_vit){ r->m[PK_PORT], 0, 0 };
		while ((v = pol_vit_next(&it)) != NULL)
			if (v->port.proto == IPPROTO_UDP)
				break;
		if (v == NULL)
			continue;
		pdiag(p, SL_DIAG_WARNING, r->seq, &r->m[PK_PORT]->loc, "rule "
		    "'%s' inspects %s, but inspect cannot apply to UDP: such "
		    "datagrams are dropped (udp_not_inspectable) unless `set "
		    "udp-inspect splice`; write splice or deny", r->name,
		    val_fmt(PK_PORT, v, buf, sizeof(buf)));
	}
}

static void
check_shadowed(struct parser *p, unsigned char *shadowed)
{
	struct sl_rule **rules = p->pol->rules;
	size_t n = p->pol->nrules, work = 0;

	for (size_t j = 1; j < n; j++) {
		const struct sl_rule *b = rules[j];

		if ((b->rmods & RM_DISABLED) || shadowed[j])
			continue;
		for (size_t i = 0; i < j; i++) {
			const struct sl_rule *a = rules[i];

			if (a->rmods & RM_DISABLED)
				continue;
			if (++work > SHADOW_BUDGET) {
				pdiag(p, SL_DIAG_NOTE, b->seq, &b->loc,
				    "shadowed-rule analysis stops here: too "
				    "many rules to compare pairwise");
				return;
			}
			if (!rule_covers(a, b))
				continue;
			pdiag(p, SL_DIAG_WARNING, b->seq, &b->loc, "rule '%s' "
			    "is shadowed by rule '%s' (line %u), which "
			    "matches every flow it could match; it never "
			    "applies", b->name, a->name, a->loc.line);
			shadowed[j] = 1;
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * url matchers and TLS
 */

/* Is rule a a splice rule that decides by domain (and port) alone? */
static int
splice_by_name(const struct sl_rule *a)
{
	return a->action == SL_ACT_SPLICE && !(a->rmods & RM_DISABLED) &&
	    (a->keys & (1u << PK_DOMAIN)) &&
	    (a->keys & ~(1u << PK_DOMAIN | 1u << PK_PORT)) == 0;
}

/*
 * Index of the splice-by-name rules by value: "=name" (exact) or "*name"
 * (wildcard) -> the rules with that value, in file order.  Finding the
 * rules that cover a host costs one lookup per label, not a scan.
 */
struct sidx {
	struct pol_map	 map;		/* key -> struct tvec32 */
};

struct tvec32 {
	uint32_t	*v;
	size_t		 n, cap;
};

static int
sidx_add(struct parser *p, struct sidx *x, const char *key, uint32_t rule)
{
	struct tvec32 *t = pol_map_get(&x->map, key);

	if (t == NULL) {
		const char *k = pa_strdup(p->a, key);

		if (k == NULL || (t = pa_alloc(p->a, sizeof(*t))) == NULL ||
		    pol_map_put(&x->map, k, t) == -1)
			return -1;
	}
	if (t->n > 0 && t->v[t->n - 1] == rule)
		return 0;
	if (pa_grow(p->a, &t->v, &t->cap, t->n, sizeof(*t->v)) == -1)
		return -1;
	t->v[t->n++] = rule;
	return 0;
}

static int
sidx_build(struct parser *p, struct sidx *x)
{
	char key[300];

	x->map.a = p->a;
	for (size_t i = 0; i < p->pol->nrules; i++) {
		const struct sl_rule *a = p->pol->rules[i];
		struct pol_vit it = { a->m[PK_DOMAIN], 0, 0 };
		const union pol_val *v;

		if (!splice_by_name(a))
			continue;
		while ((v = pol_vit_next(&it)) != NULL) {
			snprintf(key, sizeof(key), "%c%s", v->dom.wild ? '*' :
			    '=', v->dom.name);
			if (sidx_add(p, x, key, (uint32_t)i) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * The first splice-by-name rule covering host pattern h that comes
 * before rule `before` (first = 1), or after rule `after` (first = 0);
 * UINT32_MAX if none.  Covering: the same exact name, or a wildcard at
 * the name (for a wildcard h) or above it.
 */
static uint32_t
sidx_find(const struct sidx *x, const struct pol_dom *h, uint32_t pivot,
    int before)
{
	uint32_t best = UINT32_MAX;
	char key[300];
	const char *s = h->name;

	for (int pass = 0; s != NULL; pass++) {
		/* pass 0: the name itself (exact, or same wildcard);
		 * later: wildcards at each strict suffix. */
		const struct tvec32 *t;

		if (pass == 0)
			snprintf(key, sizeof(key), "%c%s", h->wild ? '*' :
			    '=', s);
		else
			snprintf(key, sizeof(key), "*%s", s);
		if ((t = pol_map_get(&x->map, key)) != NULL) {
			/* In file order: the first that qualifies is the
			 * earliest. */
			for (size_t i = 0; i < t->n; i++) {
				uint32_t r = t->v[i];

				if (before ? r < pivot : r > pivot) {
					if (r < best)
						best = r;
					break;
				}
			}
		}
		s = strchr(s, '.');
		if (s != NULL)
			s++;
	}
	return best;
}

/*
 * Is u's path (not its query) written with a ';' in an allowing rule?
 * Such a rule never matches: it must match the reading of the path with
 * ';' parameters removed as well (policy.h), which has none.
 */
static int
url_semicolon(const struct sl_rule *r, const struct pol_url *u)
{
	const char *q = memchr(u->path, '?', u->pathlen);
	size_t plen = q != NULL ? (size_t)(q - u->path) : u->pathlen;

	return r->action != SL_ACT_DENY && memchr(u->path, ';', plen) != NULL;
}

static void
check_urls(struct parser *p)
{
	struct sl_rule **rules = p->pol->rules;
	size_t n = p->pol->nrules;
	struct sidx x;

	memset(&x, 0, sizeof(x));
	if (sidx_build(p, &x) == -1) {
		p->oom = 1;
		return;
	}
	for (size_t j = 0; j < n; j++) {
		const struct sl_rule *b = rules[j];
		struct pol_vit it = { b->m[PK_URL], 0, 0 };
		const union pol_val *v;
		unsigned said = 0;

		if (!(b->keys & (1u << PK_URL)) || (b->rmods & RM_DISABLED))
			continue;
		if (b->action == SL_ACT_SPLICE)
			pdiag(p, SL_DIAG_WARNING, b->seq, &b->m[PK_URL]->loc,
			    "url matcher on splice rule '%s': a spliced TLS "
			    "flow is never decrypted, so its path is only "
			    "seen on plain HTTP (use inspect to enforce it "
			    "on HTTPS)", b->name);
		while ((v = pol_vit_next(&it)) != NULL && said < PER_RULE_MAX) {
			char buf[600];
			uint32_t i = sidx_find(&x, &v->url.host, (uint32_t)j, 1);

			if (url_semicolon(b, &v->url)) {
				pdiag(p, SL_DIAG_WARNING, b->seq,
				    &b->m[PK_URL]->loc, "url '%s' in %s rule "
				    "'%s' never matches: the path must also "
				    "match with its ';' parameters removed, "
				    "and that reading has no ';'",
				    val_fmt(PK_URL, v, buf, sizeof(buf)),
				    sl_action_name(b->action), b->name);
				said++;
			}
			if (i != UINT32_MAX) {
				pdiag(p, SL_DIAG_WARNING, b->seq,
				    &b->m[PK_URL]->loc, "url '%s' in rule '%s' "
				    "is never checked on HTTPS: rule '%s' "
				    "(line %u) splices that host first",
				    val_fmt(PK_URL, v, buf, sizeof(buf)),
				    b->name, rules[i]->name,
				    rules[i]->loc.line);
				said++;
				continue;
			}
			/* The other order: a later splice rule for the same
			 * host waits for the url, so those flows inspect. */
			i = sidx_find(&x, &v->url.host, (uint32_t)j, 0);
			if (i != UINT32_MAX) {
				const struct sl_rule *a = rules[i];

				pdiag(p, SL_DIAG_WARNING, a->seq, &a->loc,
				    "HTTPS flows to '%s%s' that rule '%s' "
				    "splices are inspected instead: url rule "
				    "'%s' (line %u) comes first and needs the "
				    "path to be decided", v->url.host.wild ?
				    "*." : "", v->url.host.name, a->name,
				    b->name, b->loc.line);
				said++;
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * Overlapping CIDRs with different actions
 */

struct cent {
	pol_u128	 lo, hi;
	uint8_t		 af;
	uint32_t	 rule;
	const union pol_val *v;
};

static int
cent_cmp(const void *x, const void *y)
{
	const struct cent *a = x, *b = y;

	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi > b->hi ? -1 : 1;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

static void
check_overlaps(struct parser *p, const unsigned char *shadowed)
{
	struct sl_rule **rules = p->pol->rules;
	size_t n = 0, cap = 0, sp = 0;
	struct cent *e = NULL;
	size_t *stack = NULL;
	unsigned *said = NULL;

	for (size_t i = 0; i < p->pol->nrules; i++) {
		struct pol_vit it = { rules[i]->m[PK_IP], 0, 0 };
		const union pol_val *v;

		if (rules[i]->rmods & RM_DISABLED)
			continue;
		while ((v = pol_vit_next(&it)) != NULL) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cent *ne = sl_realloc(e,
				    ncap * sizeof(*ne));

				if (ne == NULL)
					goto out;
				e = ne;
				cap = ncap;
			}
			pol_cidr_range(&v->cidr, &e[n].lo, &e[n].hi);
			e[n].af = v->cidr.net.af;
			e[n].rule = (uint32_t)i;
			e[n].v = v;
			n++;
		}
	}
	if (n < 2)
		goto out;
	qsort(e, n, sizeof(*e), cent_cmp);
	stack = sl_alloc(n * sizeof(*stack));
	said = sl_calloc(p->pol->nrules, sizeof(*said));
	if (stack == NULL || said == NULL)
		goto out;
	/* CIDRs nest or are disjoint: a stack holds the ones containing
	 * the current one. */
	for (size_t i = 0; i < n; i++) {
		while (sp > 0 && (e[stack[sp - 1]].af != e[i].af ||
		    e[stack[sp - 1]].hi < e[i].lo))
			sp--;
		for (size_t s = sp; s-- > 0;) {
			const struct cent *c = &e[stack[s]];
			const struct sl_rule *ra = rules[c->rule < e[i].rule ?
			    c->rule : e[i].rule];
			const struct sl_rule *rb = rules[c->rule < e[i].rule ?
			    e[i].rule : c->rule];
			const union pol_val *va = c->rule < e[i].rule ? c->v :
			    e[i].v;
			const union pol_val *vb = c->rule < e[i].rule ? e[i].v :
			    c->v;
			char x[64], y[64];

			/* A shadowed rule was reported already. */
			if (c->rule == e[i].rule || ra->action == rb->action ||
			    said[rb->index] >= PER_RULE_MAX ||
			    shadowed[rb->index])
				continue;
			said[rb->index]++;
			pdiag(p, SL_DIAG_WARNING, rb->seq, &rb->m[PK_IP]->loc,
			    "%s in rule '%s' (%s) overlaps %s in rule '%s' "
			    "(line %u, %s): for addresses in both, the "
			    "earlier rule decides", val_fmt(PK_IP, vb, y,
			    sizeof(y)), rb->name, sl_action_name(rb->action),
			    val_fmt(PK_IP, va, x, sizeof(x)), ra->name,
			    ra->loc.line, sl_action_name(ra->action));
		}
		stack[sp++] = i;
	}
out:
	sl_free(e);
	sl_free(stack);
	sl_free(said);
}

void
pol_check(struct parser *p)
{
	unsigned char *shadowed = sl_calloc(p->pol->nrules + 1, 1);

	if (shadowed == NULL) {
		p->oom = 1;
		return;
	}
	check_duplicates(p);
	check_urls(p);
	check_empty(p, shadowed);
	check_udp_inspect(p);
	check_shadowed(p, shadowed);
	check_overlaps(p, shadowed);
	sl_free(shadowed);
}
