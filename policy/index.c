/*
 * index.c — deciding through the compiled index: look each known fact up
 * in its dimension, then find the smallest rule index present in every
 * dimension's (matching ∪ without-matcher) set with a leapfrog join.
 *
 * Unknown facts: the definite winner must not depend on any of them (it
 * comes from the rules free of those facts); an unknown fact F goes into
 * `need` when some rule before the winner passes every known dimension
 * and depends on F.  That is exactly the linear reference (ref.c).
 *
 * Everything lives on the stack: no allocation, no shared writes.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "index.h"

void
pfx_lookup(const struct pfx *x, pol_u128 key, struct ridv *out,
    unsigned *nout, unsigned cap)
{
	uint32_t lo = 0, hi = x->niv;
	int32_t node;

	/* The last interval starting at or before key (ivlo[0] == 0). */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (x->ivlo[mid] <= key)
			lo = mid;
		else
			hi = mid;
	}
	for (node = x->niv ? x->ivnode[lo] : -1; node >= 0 && *nout < cap;
	    node = x->nodes[node].cont)
		out[(*nout)++] = x->nodes[node].acc;
}

const struct ridv *
trie_lookup(const struct trie *t, const char *name, size_t len)
{
	uint32_t node = 0;
	size_t end = len;

	if (t->nnodes <= 1)
		return NULL;
	while (end > 0) {
		size_t start = end, l;
		uint64_t h;
		uint32_t j, child = 0;

		while (start > 0 && name[start - 1] != '.')
			start--;
		l = end - start;
		h = trie_hash(node, name + start, l);
		for (j = (uint32_t)h & t->mask; t->slots[j].node != 0;
		    j = (j + 1) & t->mask) {
			const struct trie_node *n = &t->nodes[t->slots[j].node];

			if (t->slots[j].hash == h && n->parent == node &&
			    n->len == l && memcmp(n->label, name + start, l)
			    == 0) {
				child = t->slots[j].node;
				break;
			}
		}
		if (child == 0)		/* a strict subdomain of node */
			return node ? &t->nodes[node].sub : NULL;
		node = child;
		end = start > 0 ? start - 1 : 0;
	}
	return &t->nodes[node].hit;
}

/* ---------------------------------------------------------------------
 * Leapfrog join
 */

#define LF_POOL		320	/* arrays: ip/src chains <= 130 each */
#define LF_DIMS		16

struct lf_arr {
	const uint32_t	*v;
	uint32_t	 n, pos;
};

struct lf_dim {
	uint16_t	 first, count;	/* arrays in the pool */
	uint8_t		 url;		/* also check url candidates */
};

struct lf {
	struct lf_arr	 a[LF_POOL];
	struct lf_dim	 d[LF_DIMS];
	unsigned	 na, nd;
	struct lf_arr	 urlcand;	/* rules whose url host matches */
	const struct sl_policy *pol;
	const struct pol_q *q;
};

/* First element >= x from the cursor on (galloping); RID_NONE if none. */
static uint32_t
arr_seek(struct lf_arr *a, uint32_t x)
{
	uint32_t p = a->pos, n = a->n, step = 1, hi;

	if (p >= n)
		return RID_NONE;
	if (a->v[p] >= x)
		return a->v[p];
	while (p + step < n && a->v[p + step] < x) {
		p += step;
		step <<= 1;
	}
	hi = p + step < n ? p + step : n;
	p++;
	while (p < hi) {
		uint32_t mid = p + (hi - p) / 2;

		if (a->v[mid] < x)
			p = mid + 1;
		else
			hi = mid;
	}
	a->pos = p;
	return p < n ? a->v[p] : RID_NONE;
}

static uint32_t
dim_seek(struct lf *L, const struct lf_dim *d, uint32_t x)
{
	uint32_t best = RID_NONE;

	for (unsigned i = 0; i < d->count; i++) {
		uint32_t y = arr_seek(&L->a[d->first + i], x);

		if (y < best)
			best = y;
	}
	if (d->url) {
		/* Rules whose url host matches still need their path
		 * checked; there are few of them per host. */
		const struct sl_facts *f = L->q->f;
		uint32_t c;

		while ((c = arr_seek(&L->urlcand, x)) < best) {
			const struct sl_rule *r = L->pol->rules[c];

			if (pol_match_url(&r->m[PK_URL], L->q->host,
			    L->q->hostlen, f->url_path))
				return c;
			L->urlcand.pos++;
		}
	}
	return best;
}

static void
lf_add(struct lf *L, const struct ridv *r)
{
	if (L->na < LF_POOL && r != NULL && r->n > 0) {
		L->a[L->na].v = r->v;
		L->a[L->na].n = r->n;
		L->a[L->na].pos = 0;
		L->na++;
		L->d[L->nd].count++;
	}
}

static void
lf_begin(struct lf *L)
{
	L->d[L->nd].first = (uint16_t)L->na;
	L->d[L->nd].count = 0;
	L->d[L->nd].url = 0;
}

static void
lf_end(struct lf *L)
{
	L->nd++;
}

/* Smallest rule index in every dimension, below limit; else RID_NONE. */
static uint32_t
lf_run(struct lf *L, uint32_t limit)
{
	uint32_t x = 0;
	unsigned agree = 0, i = 0;

	for (unsigned k = 0; k < L->na; k++)
		L->a[k].pos = 0;
	L->urlcand.pos = 0;
	for (;;) {
		uint32_t y = dim_seek(L, &L->d[i], x);

		if (y >= limit)
			return RID_NONE;
		if (y != x) {
			x = y;
			agree = 0;
		}
		if (++agree == L->nd)
			return x;
		i = (i + 1) % L->nd;
	}
}

static const struct ridv *
map_lookup(const struct pol_map *m, const char *key)
{
	return key != NULL ? pol_map_get(m, key) : NULL;
}

/* One dimension per key the policy uses and the facts know. */
static void
lf_known(struct lf *L, const struct pol_index *x, const struct pol_q *q)
{
	const struct sl_facts *f = q->f;
	struct ridv chain[132];
	unsigned n;

	if (x->used_keys & (1u << PK_PORT)) {
		lf_begin(L);
		n = 0;
		if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP)
			pfx_lookup(&x->port, pol_port_key(f->proto, f->port),
			    chain, &n, 132);
		for (unsigned i = 0; i < n; i++)
			lf_add(L, &chain[i]);
		lf_add(L, &x->without[PK_PORT]);
		lf_end(L);
	}
	if (x->used_keys & (1u << PK_SRC)) {
		lf_begin(L);
		n = 0;
		if (f->src.af != 0)
			pfx_lookup(f->src.af == AF_INET ? &x->src4 : &x->src6,
			    pol_ip_key(&f->src), chain, &n, 132);
		for (unsigned i = 0; i < n; i++)
			lf_add(L, &chain[i]);
		lf_add(L, &x->without[PK_SRC]);
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_DOMAIN)) && (f->known & SL_FACT_NAME)) {
		lf_begin(L);
		if (q->has_name)
			lf_add(L, trie_lookup(&x->dom, q->name, q->namelen));
		lf_add(L, &x->without[PK_DOMAIN]);
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_IP)) && (f->known & SL_FACT_DST_IP)) {
		lf_begin(L);
		n = 0;
		if (f->dst.af != 0)
			pfx_lookup(f->dst.af == AF_INET ? &x->ip4 : &x->ip6,
			    pol_ip_key(&f->dst), chain, &n, 132);
		for (unsigned i = 0; i < n; i++)
			lf_add(L, &chain[i]);
		lf_add(L, &x->without[PK_IP]);
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_URL)) && (f->known & SL_FACT_URL)) {
		const struct ridv *c = q->has_url ?
		    trie_lookup(&x->urlhost, q->host, q->hostlen) : NULL;

		lf_begin(L);
		lf_add(L, &x->without[PK_URL]);
		L->d[L->nd].url = 1;
		L->urlcand.v = c ? c->v : NULL;
		L->urlcand.n = c ? c->n : 0;
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_USER)) && (f->known & SL_FACT_USER)) {
		lf_begin(L);
		lf_add(L, map_lookup(&x->users, f->user));
		lf_add(L, &x->without[PK_USER]);
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_COUNTRY)) && (f->known & SL_FACT_GEO)) {
		char cc[3] = "";

		/* Facts carry upper case; be lenient like the reference. */
		if (f->country != NULL && strlen(f->country) == 2) {
			cc[0] = (char)(f->country[0] & ~0x20);
			cc[1] = (char)(f->country[1] & ~0x20);
		}
		lf_begin(L);
		lf_add(L, map_lookup(&x->countries, cc[0] ? cc : NULL));
		lf_add(L, &x->without[PK_COUNTRY]);
		lf_end(L);
	}
	if ((x->used_keys & (1u << PK_ASN)) && (f->known & SL_FACT_GEO)) {
		char num[16];

		snprintf(num, sizeof(num), "%u", (unsigned)f->asn);
		lf_begin(L);
		lf_add(L, map_lookup(&x->asns, f->asn ? num : NULL));
		lf_add(L, &x->without[PK_ASN]);
		lf_end(L);
	}
}

uint32_t
pol_idx_first(const struct sl_policy *pol, const struct pol_q *q,
    unsigned *need)
{
	const struct pol_index *x = pol->idx;
	unsigned unknown = ~q->f->known & SL_FACT_ALL, base;
	uint32_t win;
	struct lf L;

	*need = 0;
	L.na = L.nd = 0;
	L.pol = pol;
	L.q = q;
	L.urlcand.v = NULL;
	L.urlcand.n = L.urlcand.pos = 0;
	lf_known(&L, x, q);
	if (L.nd == 0) {
		lf_begin(&L);
		lf_add(&L, &x->enabled);
		lf_end(&L);
	}
	base = L.nd;
	/* The winner depends on no unknown fact. */
	for (unsigned f = 0; f < POL_NFACTS; f++) {
		if ((unknown & (1u << f)) && x->fact_has[f].n > 0) {
			lf_begin(&L);
			lf_add(&L, &x->fact_free[f]);
			lf_end(&L);
		}
	}
	win = lf_run(&L, RID_NONE);
	/* An unknown fact is needed if an earlier rule that passes every
	 * known dimension depends on it. */
	for (unsigned f = 0; f < POL_NFACTS; f++) {
		if (!(unknown & (1u << f)) || x->fact_has[f].n == 0)
			continue;
		L.nd = base;
		lf_begin(&L);
		lf_add(&L, &x->fact_has[f]);
		lf_end(&L);
		if (lf_run(&L, win) != RID_NONE)
			*need |= 1u << f;
	}
	return win;
}
