/*
 * index.h — the compiled policy: per-dimension indexes that return sorted
 * arrays of rule indexes, intersected by a leapfrog join (index.c) to
 * find the first matching rule without scanning the rules.  Built by
 * compile.c.  See docs/design/policy-engine.md.
 */
#ifndef SL_POLICY_INDEX_H
#define SL_POLICY_INDEX_H

#include "policy_int.h"

#define RID_NONE	UINT32_MAX

/* A sorted, duplicate-free array of rule indexes. */
struct ridv {
	const uint32_t	*v;
	uint32_t	 n;
};

/*
 * Prefix index over 128-bit keys (addresses, and ports as aligned blocks):
 * the prefixes form a laminar family (nested or disjoint), kept as a tree;
 * the key space is flattened into disjoint intervals each naming its
 * deepest prefix.  A lookup binary-searches the intervals, then walks up
 * the tree collecting rule arrays.  `acc` merges a node's rules with those
 * of its ancestors up to `cont` while that stays small, so most lookups
 * collect one array.
 */
struct pfx_node {
	struct ridv	 acc;	/* own rules and ancestors' up to cont */
	int32_t		 cont;	/* next ancestor to visit, or -1 */
};

struct pfx {
	struct pfx_node	*nodes;
	pol_u128	*ivlo;	/* interval starts, ascending; ivlo[0] = 0 */
	int32_t		*ivnode; /* deepest node of each interval, or -1 */
	uint32_t	 nnodes, niv;
};

/* Reversed-label suffix trie of names (domains, url hosts). */
struct trie_node {
	uint32_t	 parent;
	uint16_t	 len;
	const char	*label;
	struct ridv	 hit;	/* rules matching exactly this name */
	struct ridv	 sub;	/* rules matching its strict subdomains */
};

struct trie_slot {
	uint64_t	 hash;
	uint32_t	 node;	/* 0 = empty (node 0 is the root) */
};

struct trie {
	struct trie_node *nodes;
	uint32_t	 nnodes;
	struct trie_slot *slots;
	uint32_t	 mask;	/* slots - 1 */
};

#define POL_NFACTS	5	/* SL_FACT_NAME .. SL_FACT_GEO */

struct pol_index {
	uint32_t	 nrules;
	unsigned	 used_keys;	/* 1 << PK_* of keys some rule has */
	struct ridv	 enabled;
	struct ridv	 without[PK_NKEYS];	/* enabled rules lacking key */
	struct ridv	 fact_has[POL_NFACTS];	/* rules depending on fact */
	struct ridv	 fact_free[POL_NFACTS];	/* rules not depending on it */
	struct trie	 dom, urlhost;
	struct pfx	 ip4, ip6, src4, src6, port;
	struct pol_map	 users, countries, asns; /* -> struct ridv */
};

static inline uint64_t
trie_hash(uint32_t parent, const char *label, size_t len)
{
	return pol_hash(label, len, POL_HASH_INIT ^
	    ((uint64_t)parent * 0x9e3779b97f4a7c15ULL));
}

/* Lookups (index.c). */
void	pfx_lookup(const struct pfx *x, pol_u128 key, struct ridv *out,
	    unsigned *nout, unsigned cap);
const struct ridv *trie_lookup(const struct trie *t, const char *name,
	    size_t len);
pol_u128 pol_port_key(uint8_t proto, uint16_t port);

#endif /* SL_POLICY_INDEX_H */
