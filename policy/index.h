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

/* A sorted, duplicate-free array of rule ids (gids, see below). */
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

enum pfx_kind {
	PFX_V4 = 0,		/* 32-bit keys */
	PFX_V6,			/* 128-bit keys */
	PFX_PORT,		/* 17-bit keys: a direct table */
};

#define PFX_BLOCK	32	/* keys per block of the two-level search */

struct pfx {
	struct pfx_node	*nodes;
	int32_t		*ivnode; /* deepest node of each interval, or -1 */
	uint32_t	 nnodes, niv;
	enum pfx_kind	 kind;
	/* Interval starts, ascending, the first is 0.  Searched in two
	 * levels: top[] holds every PFX_BLOCK-th start and stays in cache,
	 * then one block of starts is searched. */
	uint32_t	*k32, *top32;
	pol_u128	*k128, *top128;
	uint32_t	 ntop;
	int32_t		*direct;	/* PFX_PORT: node of every key */
};

/*
 * Suffix trie of names (domains, url hosts): one node per name suffix
 * that some value ends with ("test", "b.test", "a.b.test").  Nodes are
 * found by hashing the whole suffix, so a lookup probes the longest
 * suffix first and usually ends after one probe.
 */
struct trie_node {
	uint32_t	 parent;	/* the suffix one label shorter */
	uint16_t	 len;
	const char	*name;		/* the suffix (borrowed), len bytes */
	struct ridv	 hit;	/* rules whose domain matches this name */
	struct ridv	 sub;	/* ... its strict subdomains */
	struct ridv	 uhit;	/* rules whose url host matches this name */
	struct ridv	 usub;	/* ... its strict subdomains */
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

/*
 * Rules are grouped by signature: the set of keys they have (tuple space
 * search).  Within a group a rule matches iff it is in the matching array
 * of every one of those keys, so only sparse arrays are intersected.  The
 * enabled rules are renumbered group by group ("gid"); index arrays hold
 * gids, so a group is a contiguous range of every array, and within a
 * group gid order is file order.
 */
struct pol_group {
	uint32_t	 start, end;	/* gid range */
	uint32_t	 minrid;	/* its first rule in file order */
	unsigned	 keys;		/* 1 << PK_* */
	unsigned	 facts;		/* SL_FACT_* the keys depend on */
};

struct pol_index {
	uint32_t	 nen;		/* enabled rules */
	uint32_t	*gid2rid;
	struct pol_group *groups;	/* by minrid */
	uint32_t	 ngroups;
	unsigned	 used_keys;	/* 1 << PK_* of keys some rule has */
	/* Domain values and url hosts: one lookup of the name for both
	 * (the url's host is mostly the name). */
	struct trie	 names;
	/* Some url host is digits and dots, so may be an address's text
	 * (a flow without a name: its url host is its address). */
	unsigned	 urlhost_addr:1;
	struct pfx	 ip4, ip6, src4, src6, port;
	struct pol_map	 users, countries, asns; /* -> struct ridv */
};

static inline uint64_t
trie_hash(const char *name, size_t len)
{
	return pol_hash(name, len, POL_HASH_INIT);
}

/* Lookups (index.c). */
void	pfx_lookup(const struct pfx *x, pol_u128 key, struct ridv *out,
	    unsigned *nout, unsigned cap);
const struct trie_node *trie_lookup(const struct trie *t, const char *name,
	    size_t len, int *exact);
pol_u128 pol_port_key(uint8_t proto, uint16_t port);

#endif /* SL_POLICY_INDEX_H */
