/*
 * index.c — deciding through the compiled index: look each known fact up
 * once in its dimension, then, group by group (rules with the same keys),
 * find the first rule present in the matching array of every one of the
 * group's keys with a leapfrog join over those sparse arrays.
 *
 * Unknown facts: the definite winner comes from groups whose keys are all
 * known; an unknown fact F goes into `need` when a rule before the winner
 * depends on F and passes every known key of its group, and for a url
 * rule its host once the name is known (a host that cannot be the url's
 * rules it out).  That is exactly the linear reference (ref.c).
 *
 * Everything lives on the stack: no allocation, no shared writes.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "index.h"

/* Index of the last start <= key in k[0..n), n > 0 and k[0] == 0. */
#define PFX_SEARCH(k, top, ntop, n, key, out) do {			\
	uint32_t lo_ = 0, hi_ = (ntop), b_, e_;				\
	while (hi_ - lo_ > 1) {						\
		uint32_t mid_ = lo_ + (hi_ - lo_) / 2;			\
		if ((top)[mid_] <= (key))				\
			lo_ = mid_;					\
		else							\
			hi_ = mid_;					\
	}								\
	b_ = lo_ * PFX_BLOCK;						\
	e_ = b_ + PFX_BLOCK < (n) ? b_ + PFX_BLOCK : (n);		\
	while (e_ - b_ > 1) {						\
		uint32_t mid_ = b_ + (e_ - b_) / 2;			\
		if ((k)[mid_] <= (key))					\
			b_ = mid_;					\
		else							\
			e_ = mid_;					\
	}								\
	(out) = b_;							\
} while (0)

void
pfx_lookup(const struct pfx *x, pol_u128 key, struct ridv *out,
    unsigned *nout, unsigned cap)
{
	uint32_t i;
	int32_t node;

	if (x->niv == 0)
		return;
	if (x->kind == PFX_PORT) {
		node = x->direct[(uint32_t)(key >> 111)];
	} else if (x->kind == PFX_V4) {
		uint32_t k = (uint32_t)(key >> 96);

		PFX_SEARCH(x->k32, x->top32, x->ntop, x->niv, k, i);
		node = x->ivnode[i];
	} else {
		PFX_SEARCH(x->k128, x->top128, x->ntop, x->niv, key, i);
		node = x->ivnode[i];
	}
	for (; node >= 0 && *nout < cap; node = x->nodes[node].cont)
		out[(*nout)++] = x->nodes[node].acc;
}

static uint32_t
trie_find(const struct trie *t, const char *name, size_t len)
{
	uint64_t h = trie_hash(name, len);

	for (uint32_t j = (uint32_t)h & t->mask; t->slots[j].node != 0;
	    j = (j + 1) & t->mask) {
		const struct trie_node *n = &t->nodes[t->slots[j].node];

		if (t->slots[j].hash == h && n->len == len &&
		    memcmp(n->name, name, len) == 0)
			return t->slots[j].node;
	}
	return 0;
}

/*
 * The node of the name itself (*exact = 1: its hit arrays, exact values
 * and wildcards above it), or else of its longest listed suffix (*exact =
 * 0: its sub arrays, wildcards at or above that suffix); NULL if none.
 * Longest suffix first: a listed name is found with one probe.
 */
const struct trie_node *
trie_lookup(const struct trie *t, const char *name, size_t len, int *exact)
{
	size_t off = 0;
	uint32_t node;

	*exact = 0;
	if (t->nnodes <= 1)
		return NULL;
	if ((node = trie_find(t, name, len)) != 0) {
		*exact = 1;
		return &t->nodes[node];
	}
	for (;;) {
		const char *dot = memchr(name + off, '.', len - off);

		if (dot == NULL)
			return NULL;
		off = (size_t)(dot - name) + 1;
		if ((node = trie_find(t, name + off, len - off)) != 0)
			return &t->nodes[node];
	}
}

/* ---------------------------------------------------------------------
 * Per-group leapfrog join
 */

#define LF_POOL		320	/* arrays: ip/src chains <= 130 each */

struct lf_arr {
	const uint32_t	*v;
	uint32_t	 n, pos;
};

/* The arrays one key's lookup produced (several for a prefix chain). */
struct lf_key {
	uint16_t	 first, count;
};

struct lf {
	struct lf_arr	 a[LF_POOL];
	struct lf_key	 k[PK_NKEYS];
	unsigned	 na;
	unsigned	 known;		/* 1 << PK_* the facts know (url:
					   perhaps its host only) */
	unsigned	 looked;	/* 1 << PK_* looked up so far */
	const struct sl_policy *pol;
	const struct pol_q *q;
	/* The name's trie node, looked up once for domain and url. */
	const struct trie_node *name_node;
	int		 name_exact;
	int		 name_looked;
};

static void lf_lookup(struct lf *L, unsigned k);

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

/* The smallest gid >= x that key k accepts; RID_NONE if none. */
static uint32_t
key_seek(struct lf *L, unsigned k, uint32_t x)
{
	const struct lf_key *lk = &L->k[k];

	for (;;) {
		uint32_t best = RID_NONE;
		const struct sl_rule *r;

		for (unsigned i = 0; i < lk->count; i++) {
			uint32_t y = arr_seek(&L->a[lk->first + i], x);

			if (y < best)
				best = y;
		}
		if (k != PK_URL || best == RID_NONE ||
		    !(L->q->f->known & SL_FACT_URL))
			return best;
		/* The url index matched the host; the path prefix is
		 * checked here, on the few rules for that host. */
		r = L->pol->rules[L->pol->idx->gid2rid[best]];
		if (pol_rule_url_match(r, L->q))
			return best;
		x = best + 1;
	}
}

/*
 * The first rule of group g that every known key of g accepts (all of
 * g's rules have the same keys).  RID_NONE if none.
 */
static uint32_t
group_first(struct lf *L, const struct pol_group *g)
{
	unsigned keys[PK_NKEYS], nk = 0, agree = 0, i = 0;
	uint32_t x = g->start;

	for (unsigned k = 0; k < PK_NKEYS; k++) {
		if (!(g->keys & L->known & (1u << k)))
			continue;
		/* Looked up on first use: a winner found early spares the
		 * lookups of keys only later groups have. */
		if (!(L->looked & (1u << k)))
			lf_lookup(L, k);
		keys[nk++] = k;
		for (unsigned j = 0; j < L->k[k].count; j++)
			L->a[L->k[k].first + j].pos = 0;
	}
	if (nk == 0)
		return x;
	for (;;) {
		uint32_t y = key_seek(L, keys[i], x);

		if (y >= g->end)
			return RID_NONE;
		if (y != x) {
			x = y;
			agree = 0;
		}
		if (++agree == nk)
			return x;
		i = (i + 1) % nk;
	}
}

static void
lf_add(struct lf *L, unsigned k, const struct ridv *r)
{
	if (L->na < LF_POOL && r != NULL && r->n > 0) {
		L->a[L->na].v = r->v;
		L->a[L->na].n = r->n;
		L->a[L->na].pos = 0;
		L->na++;
		L->k[k].count++;
	}
}

static void
lf_key(struct lf *L, unsigned k)
{
	L->k[k].first = (uint16_t)L->na;
	L->k[k].count = 0;
	L->looked |= 1u << k;
}

static void
lf_pfx(struct lf *L, unsigned k, const struct pfx *x, pol_u128 key)
{
	struct ridv chain[132];
	unsigned n = 0;

	lf_key(L, k);
	pfx_lookup(x, key, chain, &n, 132);
	for (unsigned i = 0; i < n; i++)
		lf_add(L, k, &chain[i]);
}

static const struct ridv *
map_lookup(const struct pol_map *m, const char *key)
{
	return key != NULL ? pol_map_get(m, key) : NULL;
}

/*
 * Which keys the facts know (port and src always).  The url key also
 * from the name step on, by its host alone (pol_q_init): a group with a
 * url rule whose host cannot be the url's then waits for no url.
 */
static unsigned
lf_known_keys(const struct pol_q *q)
{
	const struct sl_facts *f = q->f;
	unsigned k = 1u << PK_PORT | 1u << PK_SRC;

	if (f->known & SL_FACT_NAME)
		k |= 1u << PK_DOMAIN;
	if (f->known & SL_FACT_DST_IP)
		k |= 1u << PK_IP;
	if ((f->known & SL_FACT_URL) || q->ahead != PA_WAIT)
		k |= 1u << PK_URL;
	if (f->known & SL_FACT_USER)
		k |= 1u << PK_USER;
	if (f->known & SL_FACT_GEO)
		k |= 1u << PK_COUNTRY | 1u << PK_ASN;
	return k;
}

/* The flow's name in the name trie (once per decision); NULL if none. */
static const struct trie_node *
lf_name_node(struct lf *L, int *exact)
{
	if (!L->name_looked) {
		L->name_looked = 1;
		L->name_node = L->q->has_name ? trie_lookup(&L->pol->idx->names,
		    L->q->name, L->q->namelen, &L->name_exact) : NULL;
	}
	*exact = L->name_exact;
	return L->name_node;
}

/*
 * The url key: the rules whose url host matches the url's, or before the
 * url is known the one it will have (pol_q_url_ahead): mostly the name,
 * whose node serves the domain key too.  An address's text is looked up
 * only if some url host could be one.
 */
static void
lf_url(struct lf *L, unsigned k)
{
	const struct pol_q *q = L->q;
	const struct trie_node *n = NULL;
	char buf[SL_IP_STRLEN];
	const char *host;
	size_t len;
	int exact = 0;

	if (q->has_url && !(q->has_name && q->hostlen == q->namelen &&
	    memcmp(q->host, q->name, q->namelen) == 0))
		n = trie_lookup(&L->pol->idx->names, q->host, q->hostlen,
		    &exact);
	else if (q->has_url || q->ahead == PA_NAME)
		n = lf_name_node(L, &exact);
	else if (q->ahead == PA_ADDR && L->pol->idx->urlhost_addr) {
		host = pol_q_url_ahead(q, buf, sizeof(buf), &len);
		n = trie_lookup(&L->pol->idx->names, host, len, &exact);
	}
	if (n != NULL)
		lf_add(L, k, exact ? &n->uhit : &n->usub);
}

/*
 * Look a known key up in its index.  A key whose fact is known but
 * absent gets no arrays: nothing accepts it.
 */
static void
lf_lookup(struct lf *L, unsigned k)
{
	const struct pol_index *x = L->pol->idx;
	const struct pol_q *q = L->q;
	const struct sl_facts *f = q->f;
	char buf[16];

	switch (k) {
	case PK_PORT:
		if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP)
			lf_pfx(L, k, &x->port, pol_port_key(f->proto, f->port));
		else
			lf_key(L, k);
		return;
	case PK_SRC:
		if (f->src.af != 0)
			lf_pfx(L, k, f->src.af == AF_INET ? &x->src4 : &x->src6,
			    pol_ip_key(&f->src));
		else
			lf_key(L, k);
		return;
	case PK_IP:
		if (f->dst.af != 0)
			lf_pfx(L, k, f->dst.af == AF_INET ? &x->ip4 : &x->ip6,
			    pol_ip_key(&f->dst));
		else
			lf_key(L, k);
		return;
	case PK_DOMAIN: {
		const struct trie_node *n;
		int exact;

		lf_key(L, k);
		if ((n = lf_name_node(L, &exact)) != NULL)
			lf_add(L, k, exact ? &n->hit : &n->sub);
		return;
	}
	case PK_URL:
		lf_key(L, k);
		lf_url(L, k);
		return;
	case PK_USER:
		lf_key(L, k);
		lf_add(L, k, map_lookup(&x->users, f->user));
		return;
	case PK_COUNTRY:
		buf[0] = '\0';
		/* Facts carry upper case; be lenient like the reference. */
		if (f->country != NULL && strlen(f->country) == 2) {
			buf[0] = (char)(f->country[0] & ~0x20);
			buf[1] = (char)(f->country[1] & ~0x20);
			buf[2] = '\0';
		}
		lf_key(L, k);
		lf_add(L, k, map_lookup(&x->countries, buf[0] ? buf : NULL));
		return;
	case PK_ASN:
		snprintf(buf, sizeof(buf), "%u", (unsigned)f->asn);
		lf_key(L, k);
		lf_add(L, k, map_lookup(&x->asns, f->asn ? buf : NULL));
		return;
	}
}

uint32_t
pol_idx_first(const struct sl_policy *pol, const struct pol_q *q,
    unsigned *need)
{
	const struct pol_index *x = pol->idx;
	unsigned unknown = ~q->f->known & SL_FACT_ALL;
	uint32_t win = RID_NONE;
	struct lf L;

	*need = 0;
	L.na = 0;
	L.known = lf_known_keys(q);
	L.looked = 0;
	L.pol = pol;
	L.q = q;
	L.name_looked = 0;
	/* The winner: the first rule of a group whose keys are all known
	 * that passes them.  Groups are visited by their first rule. */
	for (uint32_t i = 0; i < x->ngroups; i++) {
		const struct pol_group *g = &x->groups[i];
		uint32_t gid;

		if (g->minrid >= win)
			break;
		if (g->facts & unknown)
			continue;
		if ((gid = group_first(&L, g)) != RID_NONE &&
		    x->gid2rid[gid] < win)
			win = x->gid2rid[gid];
	}
	/* An unknown fact is needed if a rule before the winner depends on
	 * it and passes every known key. */
	for (uint32_t i = 0; i < x->ngroups; i++) {
		const struct pol_group *g = &x->groups[i];
		uint32_t gid;

		if (g->minrid >= win)
			break;
		if ((g->facts & unknown) == 0 ||
		    (g->facts & unknown & ~*need) == 0)
			continue;
		if ((gid = group_first(&L, g)) != RID_NONE &&
		    x->gid2rid[gid] < win)
			*need |= g->facts & unknown;
	}
	return win;
}
