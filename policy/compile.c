/*
 * compile.c — build the per-dimension indexes of a policy (index.h).
 *
 * Every enabled rule contributes its values (inline and from the lists it
 * names) to the index of their dimension; each index maps a fact to the
 * sorted array of rules (by gid, see index.h) whose matcher on that
 * dimension accepts it.  Temporary build state uses sl_alloc; results live
 * in the arena.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/alloc.h"
#include "index.h"

/* A growable array of rule indexes, appended in increasing order. */
struct tvec {
	uint32_t	*v;
	uint32_t	 n, cap;
};

static int
tvec_add(struct tvec *t, uint32_t rid)
{
	if (t->n > 0 && t->v[t->n - 1] == rid)
		return 0;	/* the same rule twice: keep it once */
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 4;
		uint32_t *nv = sl_realloc(t->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = rid;
	return 0;
}

static int
ridv_copy(struct pol_arena *a, const uint32_t *v, uint32_t n,
    struct ridv *out)
{
	uint32_t *c;

	out->v = NULL;
	out->n = n;
	if (n == 0)
		return 0;
	if ((c = pa_alloc(a, n * sizeof(*c))) == NULL)
		return -1;
	memcpy(c, v, n * sizeof(*c));
	out->v = c;
	return 0;
}

/* Sorted union of two sorted arrays, in the arena. */
static int
ridv_union(struct pol_arena *a, const struct ridv *x, const struct ridv *y,
    struct ridv *out)
{
	uint32_t i = 0, j = 0, n = 0, *v;

	if (y->n == 0) {
		*out = *x;
		return 0;
	}
	if (x->n == 0) {
		*out = *y;
		return 0;
	}
	if ((v = pa_alloc(a, (x->n + y->n) * sizeof(*v))) == NULL)
		return -1;
	while (i < x->n || j < y->n) {
		uint32_t p = i < x->n ? x->v[i] : RID_NONE;
		uint32_t q = j < y->n ? y->v[j] : RID_NONE;

		if (p <= q)
			i++;
		if (q <= p)
			j++;
		v[n++] = p < q ? p : q;
	}
	out->v = v;
	out->n = n;
	return 0;
}

/* ---------------------------------------------------------------------
 * Prefix index
 */

struct ent {
	pol_u128	 lo, hi;
	uint32_t	 rid;
};

struct entv {
	struct ent	*v;
	size_t		 n, cap;
};

static int
ent_add(struct entv *e, pol_u128 lo, pol_u128 hi, uint32_t rid)
{
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 64;
		struct ent *nv = sl_realloc(e->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		e->v = nv;
		e->cap = ncap;
	}
	e->v[e->n].lo = lo;
	e->v[e->n].hi = hi;
	e->v[e->n].rid = rid;
	e->n++;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;	/* wider first: parents */
	return x->rid < y->rid ? -1 : x->rid > y->rid;
}

/* Merge small ancestor arrays into a node's, up to this many rules. */
#define PFX_ACC_MAX	64

struct pfx_tmp {
	pol_u128	 lo, hi;
	int32_t		 parent;
};

/* The search structure over interval starts lo[0..m) (see index.h). */
static int
pfx_keys(struct pol_arena *a, struct pfx *x, const pol_u128 *lo, size_t m)
{
	x->ntop = (uint32_t)((m + PFX_BLOCK - 1) / PFX_BLOCK);
	if (x->kind == PFX_PORT) {
		/* 2 x 65536 keys: a table is one memory access. */
		uint32_t nkeys = 2u << 16;

		if ((x->direct = pa_alloc(a, nkeys * sizeof(int32_t))) == NULL)
			return -1;
		for (size_t i = 0; i < m; i++) {
			uint32_t from = (uint32_t)(lo[i] >> 111);
			uint32_t to = i + 1 < m ? (uint32_t)(lo[i + 1] >> 111) :
			    nkeys;

			for (uint32_t k = from; k < to && k < nkeys; k++)
				x->direct[k] = x->ivnode[i];
		}
		return 0;
	}
	if (x->kind == PFX_V4) {
		if ((x->k32 = pa_alloc(a, m * sizeof(uint32_t))) == NULL ||
		    (x->top32 = pa_alloc(a, x->ntop * sizeof(uint32_t)))
		    == NULL)
			return -1;
		for (size_t i = 0; i < m; i++)
			x->k32[i] = (uint32_t)(lo[i] >> 96);
		for (uint32_t t = 0; t < x->ntop; t++)
			x->top32[t] = x->k32[(size_t)t * PFX_BLOCK];
		return 0;
	}
	if ((x->k128 = pa_alloc(a, m * sizeof(pol_u128))) == NULL ||
	    (x->top128 = pa_alloc(a, x->ntop * sizeof(pol_u128))) == NULL)
		return -1;
	memcpy(x->k128, lo, m * sizeof(pol_u128));
	for (uint32_t t = 0; t < x->ntop; t++)
		x->top128[t] = x->k128[(size_t)t * PFX_BLOCK];
	return 0;
}

static int
pfx_flatten(struct pol_arena *a, struct pfx *x, const struct pfx_tmp *t,
    uint32_t n)
{
	int32_t *stack = sl_alloc((n + 1) * sizeof(*stack));
	pol_u128 *lo = sl_alloc((2 * (size_t)n + 1) * sizeof(*lo));
	int32_t *node = pa_alloc(a, (2 * (size_t)n + 1) * sizeof(*node));
	size_t sp = 0, m = 0;
	int rc;

	if (stack == NULL || lo == NULL || node == NULL) {
		sl_free(stack);
		sl_free(lo);
		return -1;
	}
	/* An interval starts where a prefix starts or one ends; a later
	 * start at the same key (a deeper prefix) replaces the earlier. */
#define EMIT(k, nd) do {						\
	if (m > 0 && lo[m - 1] == (k))					\
		node[m - 1] = (nd);					\
	else if (m == 0 || node[m - 1] != (nd)) {			\
		lo[m] = (k);						\
		node[m] = (nd);						\
		m++;							\
	}								\
	if (m > 1 && node[m - 1] == node[m - 2])			\
		m--;							\
} while (0)
	EMIT((pol_u128)0, -1);
	for (uint32_t i = 0; i < n; i++) {
		while (sp > 0 && t[stack[sp - 1]].hi < t[i].lo) {
			int32_t top = stack[--sp];

			if (t[top].hi != ~(pol_u128)0)
				EMIT(t[top].hi + 1, sp ? stack[sp - 1] : -1);
		}
		EMIT(t[i].lo, (int32_t)i);
		stack[sp++] = (int32_t)i;
	}
	while (sp > 0) {
		int32_t top = stack[--sp];

		if (t[top].hi != ~(pol_u128)0)
			EMIT(t[top].hi + 1, sp ? stack[sp - 1] : -1);
	}
#undef EMIT
	sl_free(stack);
	x->ivnode = node;
	x->niv = (uint32_t)m;
	rc = pfx_keys(a, x, lo, m);
	sl_free(lo);
	return rc;
}

static int
pfx_build(struct pol_arena *a, struct entv *e, struct pfx *x,
    enum pfx_kind kind)
{
	struct pfx_tmp *t = NULL;
	int32_t *stack = NULL;
	uint32_t n = 0;
	size_t sp = 0;
	int rc = -1;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	if (e->n == 0)
		return pfx_flatten(a, x, NULL, 0);
	qsort(e->v, e->n, sizeof(*e->v), ent_cmp);
	for (size_t i = 0; i < e->n; i++)
		if (i == 0 || e->v[i].lo != e->v[i - 1].lo ||
		    e->v[i].hi != e->v[i - 1].hi)
			n++;
	t = sl_alloc(n * sizeof(*t));
	stack = sl_alloc(n * sizeof(*stack));
	x->nodes = pa_alloc(a, n * sizeof(*x->nodes));
	if (t == NULL || stack == NULL || x->nodes == NULL)
		goto out;
	x->nnodes = n;
	for (size_t i = 0, k = 0; i < e->n; k++) {
		size_t j = i, c = 0;
		uint32_t *own;
		struct ridv ov;
		int32_t par;

		while (j < e->n && e->v[j].lo == e->v[i].lo &&
		    e->v[j].hi == e->v[i].hi)
			j++;
		if ((own = pa_alloc(a, (j - i) * sizeof(*own))) == NULL)
			goto out;
		for (size_t q = i; q < j; q++)
			if (c == 0 || own[c - 1] != e->v[q].rid)
				own[c++] = e->v[q].rid;
		ov.v = own;
		ov.n = (uint32_t)c;
		/* Sorted by start, widest first: the enclosing prefix is on
		 * the stack once the ones that ended are popped. */
		while (sp > 0 && t[stack[sp - 1]].hi < e->v[i].lo)
			sp--;
		par = sp > 0 ? stack[sp - 1] : -1;
		t[k].lo = e->v[i].lo;
		t[k].hi = e->v[i].hi;
		t[k].parent = par;
		stack[sp++] = (int32_t)k;
		if (par >= 0 && ov.n + x->nodes[par].acc.n <= PFX_ACC_MAX) {
			if (ridv_union(a, &ov, &x->nodes[par].acc,
			    &x->nodes[k].acc) == -1)
				goto out;
			x->nodes[k].cont = x->nodes[par].cont;
		} else {
			x->nodes[k].acc = ov;
			x->nodes[k].cont = par;
		}
		i = j;
	}
	rc = pfx_flatten(a, x, t, n);
out:
	sl_free(t);
	sl_free(stack);
	return rc;
}

pol_u128
pol_port_key(uint8_t proto, uint16_t port)
{
	uint32_t k = (uint32_t)(proto == IPPROTO_UDP) << 16 | port;

	return (pol_u128)k << 111;
}

/* A port range as aligned power-of-two blocks: a laminar family. */
static int
port_blocks(struct entv *e, const struct pol_port *p, uint32_t rid)
{
	uint32_t base = (uint32_t)(p->proto == IPPROTO_UDP) << 16;
	uint32_t lo = base | p->lo, hi = base | p->hi;

	while (lo <= hi) {
		uint32_t size = 1;

		while ((lo & (size * 2 - 1)) == 0 && lo + size * 2 - 1 <= hi &&
		    size < (1u << 16))
			size *= 2;
		if (ent_add(e, (pol_u128)lo << 111,
		    (((pol_u128)(lo + size)) << 111) - 1, rid) == -1)
			return -1;
		lo += size;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Suffix trie: domain values and url hosts share one, so a name looked up
 * once serves both keys (index.h).
 */

/* A node's values while building, by kind. */
struct trie_vals {
	struct tvec	 exact, wild;		/* domain values */
	struct tvec	 uexact, uwild;		/* url hosts */
};

struct trie_tmp {
	struct trie	 t;
	uint32_t	 cap;		/* nodes allocated */
	struct trie_vals *vals;
};

static int
trie_rehash(struct trie_tmp *b, uint32_t nslots)
{
	struct trie_slot *ns = sl_calloc(nslots, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (uint32_t i = 0; b->t.slots != NULL && i <= b->t.mask; i++) {
		uint32_t j;

		if (b->t.slots[i].node == 0)
			continue;
		j = (uint32_t)b->t.slots[i].hash & (nslots - 1);
		while (ns[j].node != 0)
			j = (j + 1) & (nslots - 1);
		ns[j] = b->t.slots[i];
	}
	sl_free(b->t.slots);
	b->t.slots = ns;
	b->t.mask = nslots - 1;
	return 0;
}

static int
trie_init(struct trie_tmp *b)
{
	memset(b, 0, sizeof(*b));
	b->cap = 64;
	b->t.nodes = sl_calloc(b->cap, sizeof(*b->t.nodes));
	b->vals = sl_calloc(b->cap, sizeof(*b->vals));
	if (b->t.nodes == NULL || b->vals == NULL)
		return -1;
	b->t.nnodes = 1;		/* the root: the empty name */
	return trie_rehash(b, 128);
}

static void
trie_tmp_free(struct trie_tmp *b)
{
	for (uint32_t i = 0; i < b->t.nnodes && b->vals != NULL; i++) {
		sl_free(b->vals[i].exact.v);
		sl_free(b->vals[i].wild.v);
		sl_free(b->vals[i].uexact.v);
		sl_free(b->vals[i].uwild.v);
	}
	sl_free(b->vals);
	sl_free(b->t.nodes);
	sl_free(b->t.slots);
}

/* The node of suffix name[0..len), created (under parent) if missing;
 * 0 when out of memory. */
static uint32_t
trie_child(struct trie_tmp *b, uint32_t parent, const char *name,
    size_t len)
{
	uint64_t h = trie_hash(name, len);
	uint32_t j, id;

	for (j = (uint32_t)h & b->t.mask; b->t.slots[j].node != 0;
	    j = (j + 1) & b->t.mask) {
		const struct trie_node *n = &b->t.nodes[b->t.slots[j].node];

		if (b->t.slots[j].hash == h && n->len == len &&
		    memcmp(n->name, name, len) == 0)
			return b->t.slots[j].node;
	}
	if (b->t.nnodes == b->cap) {
		uint32_t ncap = b->cap * 2;
		struct trie_node *nn = sl_realloc(b->t.nodes,
		    ncap * sizeof(*nn));
		struct trie_vals *nv;

		if (nn == NULL)
			return 0;
		b->t.nodes = nn;
		if ((nv = sl_realloc(b->vals, ncap * sizeof(*nv))) == NULL)
			return 0;
		b->vals = nv;
		memset(b->vals + b->cap, 0, (ncap - b->cap) * sizeof(*nv));
		b->cap = ncap;
	}
	id = b->t.nnodes++;
	memset(&b->t.nodes[id], 0, sizeof(b->t.nodes[id]));
	b->t.nodes[id].parent = parent;
	b->t.nodes[id].name = name;	/* borrowed from the rule's value */
	b->t.nodes[id].len = (uint16_t)len;
	b->t.slots[j].hash = h;
	b->t.slots[j].node = id;
	if ((uint64_t)b->t.nnodes * 2 > (uint64_t)b->t.mask + 1 &&
	    trie_rehash(b, (b->t.mask + 1) * 2) == -1)
		return 0;
	return id;
}

/* A domain value (url 0) or a url host (url 1) of rule rid. */
static int
trie_add(struct trie_tmp *b, const struct pol_dom *d, int url, uint32_t rid)
{
	const char *name = d->name;
	size_t start = d->len;
	uint32_t node = 0;
	struct trie_vals *tv;

	/* Suffixes from the right: "a.b.test" -> test, b.test, a.b.test. */
	while (start > 0) {
		start--;
		while (start > 0 && name[start - 1] != '.')
			start--;
		if ((node = trie_child(b, node, name + start, d->len - start))
		    == 0)
			return -1;
		if (start > 0)
			start--;	/* the dot */
	}
	tv = &b->vals[node];
	if (url)
		return tvec_add(d->wild ? &tv->uwild : &tv->uexact, rid);
	return tvec_add(d->wild ? &tv->wild : &tv->exact, rid);
}

/*
 * hit = exact + up (the parent's sub); sub = wild + up.  Parents have
 * smaller ids, so their sub is done.
 */
static int
trie_arrays(struct pol_arena *a, const struct tvec *exact,
    const struct tvec *wild, const struct ridv *up, struct ridv *hit,
    struct ridv *sub)
{
	struct ridv own;

	if (ridv_copy(a, exact->v, exact->n, &own) == -1 ||
	    ridv_union(a, &own, up, hit) == -1 ||
	    ridv_copy(a, wild->v, wild->n, &own) == -1 ||
	    ridv_union(a, &own, up, sub) == -1)
		return -1;
	return 0;
}

/*
 * Per node, for domain values and for url hosts each: hit = its exact
 * rules + every strict ancestor's wildcards; sub = its own wildcards +
 * the same.
 */
static int
trie_finish(struct pol_arena *a, struct trie_tmp *b, struct trie *out)
{
	struct trie_node *nodes = pa_alloc(a, b->t.nnodes * sizeof(*nodes));
	struct trie_slot *slots = pa_alloc(a, ((size_t)b->t.mask + 1) *
	    sizeof(*slots));

	if (nodes == NULL || slots == NULL)
		return -1;
	memcpy(nodes, b->t.nodes, b->t.nnodes * sizeof(*nodes));
	memcpy(slots, b->t.slots, ((size_t)b->t.mask + 1) * sizeof(*slots));
	for (uint32_t i = 1; i < b->t.nnodes; i++) {
		struct trie_node *n = &nodes[i];
		const struct trie_vals *tv = &b->vals[i];

		if (trie_arrays(a, &tv->exact, &tv->wild, &nodes[n->parent].sub,
		    &n->hit, &n->sub) == -1 ||
		    trie_arrays(a, &tv->uexact, &tv->uwild,
		    &nodes[n->parent].usub, &n->uhit, &n->usub) == -1)
			return -1;
	}
	out->nodes = nodes;
	out->nnodes = b->t.nnodes;
	out->slots = slots;
	out->mask = b->t.mask;
	return 0;
}

/* ---------------------------------------------------------------------
 * Exact-value maps: user, country, asn
 */

static int
map_add(struct pol_arena *a, struct pol_map *m, const char *key,
    uint32_t rid)
{
	struct tvec *t = pol_map_get(m, key);

	if (t == NULL) {
		const char *k = pa_strdup(a, key);

		if (k == NULL || (t = pa_alloc(a, sizeof(*t))) == NULL ||
		    pol_map_put(m, k, t) == -1)
			return -1;
	}
	return tvec_add(t, rid);
}

/*
 * Turn each entry's struct tvec into a struct ridv in the arena.  All
 * arrays are copied before any entry changes, so on failure the map still
 * holds only tvecs for map_abort().
 */
static int
map_finish(struct pol_arena *a, struct pol_map *m)
{
	struct ridv *r;
	size_t k = 0;

	if (m->n == 0)
		return 0;
	if ((r = pa_alloc(a, m->n * sizeof(*r))) == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		const struct tvec *t = m->v[i].val;

		if (m->v[i].key != NULL &&
		    ridv_copy(a, t->v, t->n, &r[k++]) == -1)
			return -1;
	}
	k = 0;
	for (size_t i = 0; i < m->cap; i++) {
		struct tvec *t = m->v[i].val;

		if (m->v[i].key == NULL)
			continue;
		sl_free(t->v);
		m->v[i].val = &r[k++];
	}
	return 0;
}

static void
map_abort(struct pol_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		struct tvec *t = m->v[i].val;

		if (m->v[i].key != NULL && t != NULL)
			sl_free(t->v);
	}
}

/* ---------------------------------------------------------------------
 * Building
 */

struct build {
	struct pol_arena *a;
	struct pol_index *x;
	struct entv	 ip4, ip6, src4, src6, port;
	struct trie_tmp	 names;		/* domain values and url hosts */
	int		 maps_done;	/* maps already holding ridvs */
};

static int
add_cidrs(const struct pol_match *m, struct entv *v4, struct entv *v6,
    uint32_t gid)
{
	struct pol_vit it = { m, 0, 0 };
	const union pol_val *v;

	/* m may be NULL: the iterator then yields nothing. */
	while ((v = pol_vit_next(&it)) != NULL) {
		pol_u128 lo, hi;

		pol_cidr_range(&v->cidr, &lo, &hi);
		if (ent_add(v->cidr.net.af == AF_INET ? v4 : v6, lo, hi, gid)
		    == -1)
			return -1;
	}
	return 0;
}

/* Index one rule's values under its gid.  Called in gid order. */
static int
add_rule(struct build *b, const struct sl_rule *r, uint32_t gid)
{
	struct pol_vit it;
	const union pol_val *v;
	char num[16];

	b->x->used_keys |= r->keys;
	if (add_cidrs(r->m[PK_IP], &b->ip4, &b->ip6, gid) == -1 ||
	    add_cidrs(r->m[PK_SRC], &b->src4, &b->src6, gid) == -1)
		return -1;
	for (it = (struct pol_vit){ r->m[PK_PORT], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;)
		if (port_blocks(&b->port, &v->port, gid) == -1)
			return -1;
	for (it = (struct pol_vit){ r->m[PK_DOMAIN], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;)
		if (trie_add(&b->names, &v->dom, 0, gid) == -1)
			return -1;
	for (it = (struct pol_vit){ r->m[PK_URL], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;) {
		if (trie_add(&b->names, &v->url.host, 1, gid) == -1)
			return -1;
		/* Only such a host can be (the tail of) an address's text:
		 * "192.0.2.7", or "::ffff:192.0.2.7" under "*.0.2.7". */
		if (strspn(v->url.host.name, "0123456789.") ==
		    v->url.host.len)
			b->x->urlhost_addr = 1;
	}
	for (it = (struct pol_vit){ r->m[PK_USER], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;)
		if (map_add(b->a, &b->x->users, v->str, gid) == -1)
			return -1;
	for (it = (struct pol_vit){ r->m[PK_COUNTRY], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;)
		if (map_add(b->a, &b->x->countries, v->str, gid) == -1)
			return -1;
	for (it = (struct pol_vit){ r->m[PK_ASN], 0, 0 };
	    (v = pol_vit_next(&it)) != NULL;) {
		snprintf(num, sizeof(num), "%u", (unsigned)v->asn);
		if (map_add(b->a, &b->x->asns, num, gid) == -1)
			return -1;
	}
	return 0;
}

static void
build_free(struct build *b)
{
	sl_free(b->ip4.v);
	sl_free(b->ip6.v);
	sl_free(b->src4.v);
	sl_free(b->src6.v);
	sl_free(b->port.v);
	trie_tmp_free(&b->names);
}

static int
build_finish(struct build *b)
{
	struct pol_index *x = b->x;

	if (pfx_build(b->a, &b->ip4, &x->ip4, PFX_V4) == -1 ||
	    pfx_build(b->a, &b->ip6, &x->ip6, PFX_V6) == -1 ||
	    pfx_build(b->a, &b->src4, &x->src4, PFX_V4) == -1 ||
	    pfx_build(b->a, &b->src6, &x->src6, PFX_V6) == -1 ||
	    pfx_build(b->a, &b->port, &x->port, PFX_PORT) == -1 ||
	    trie_finish(b->a, &b->names, &x->names) == -1)
		return -1;
	if (map_finish(b->a, &x->users) == -1)
		return -1;
	b->maps_done = 1;
	if (map_finish(b->a, &x->countries) == -1)
		return -1;
	b->maps_done = 2;
	if (map_finish(b->a, &x->asns) == -1)
		return -1;
	b->maps_done = 3;
	return 0;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct pol_group *x = a, *y = b;

	return x->minrid < y->minrid ? -1 : x->minrid > y->minrid;
}

/*
 * Group the enabled rules by signature and number them group by group:
 * gid2rid[] lists the rules of group 0 in file order, then group 1...
 */
static int
make_groups(struct pol_arena *a, const struct sl_policy *pol,
    struct pol_index *x)
{
	uint32_t count[256] = { 0 }, next[256], slot[256];
	uint32_t ng = 0, gid = 0;

	for (size_t i = 0; i < pol->nrules; i++)
		if (!(pol->rules[i]->rmods & RM_DISABLED))
			count[pol->rules[i]->keys & 0xff]++;
	for (unsigned k = 0; k < 256; k++)
		ng += count[k] > 0;
	x->ngroups = ng;
	if (ng == 0)
		return 0;
	if ((x->groups = pa_alloc(a, ng * sizeof(*x->groups))) == NULL ||
	    (x->gid2rid = pa_alloc(a, (size_t)x->nen * sizeof(uint32_t)))
	    == NULL)
		return -1;
	ng = 0;
	for (unsigned k = 0; k < 256; k++) {
		if (count[k] == 0)
			continue;
		slot[k] = ng;
		next[k] = gid;
		x->groups[ng].start = gid;
		x->groups[ng].end = gid + count[k];
		x->groups[ng].keys = k;
		x->groups[ng].minrid = UINT32_MAX;
		for (unsigned j = 0; j < PK_NKEYS; j++)
			if (k & (1u << j))
				x->groups[ng].facts |=
				    pol_key_fact((enum pol_key)j);
		gid += count[k];
		ng++;
	}
	for (size_t i = 0; i < pol->nrules; i++) {
		const struct sl_rule *r = pol->rules[i];
		unsigned k = r->keys & 0xff;

		if (r->rmods & RM_DISABLED)
			continue;
		if (x->groups[slot[k]].minrid == UINT32_MAX)
			x->groups[slot[k]].minrid = (uint32_t)i;
		x->gid2rid[next[k]++] = (uint32_t)i;
	}
	/* Visit groups by their first rule: the search for a winner stops
	 * at the first group that starts after the best so far. */
	qsort(x->groups, ng, sizeof(*x->groups), group_cmp);
	return 0;
}

int
pol_compile(struct sl_policy *pol, struct sl_diags *diags)
{
	struct build b;
	int rc = -1;

	(void)diags;
	memset(&b, 0, sizeof(b));
	b.a = pol->arena;
	if ((b.x = pa_alloc(b.a, sizeof(*b.x))) == NULL)
		return -1;
	b.x->users.a = b.x->countries.a = b.x->asns.a = b.a;
	for (size_t i = 0; i < pol->nrules; i++)
		b.x->nen += !(pol->rules[i]->rmods & RM_DISABLED);
	if (make_groups(b.a, pol, b.x) == -1 ||
	    trie_init(&b.names) == -1)
		goto out;
	/* gid order, so every array is appended in increasing order. */
	for (uint32_t gid = 0; gid < b.x->nen; gid++)
		if (add_rule(&b, pol->rules[b.x->gid2rid[gid]], gid) == -1)
			goto out;
	if (build_finish(&b) == -1)
		goto out;
	pol->idx = b.x;
	rc = 0;
out:
	if (rc == -1) {
		if (b.maps_done < 1)
			map_abort(&b.x->users);
		if (b.maps_done < 2)
			map_abort(&b.x->countries);
		if (b.maps_done < 3)
			map_abort(&b.x->asns);
	}
	build_free(&b);
	return rc;
}
