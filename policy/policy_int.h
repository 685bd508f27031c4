/*
 * policy_int.h — internal declarations shared by the files of policy/.
 * Nothing outside policy/ includes this; the public API is policy.h, config.h and edit.h.
 *
 * Memory: everything a configuration owns (rules, lists, strings, compiled
 * indexes) lives in one arena per configuration, so a configuration is
 * freed in one sweep and a failed load leaves nothing behind.
 */
#ifndef SL_POLICY_INT_H
#define SL_POLICY_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/diag.h"
#include "config.h"
#include "edit.h"
#include "policy.h"

/* ---------------------------------------------------------------------
 * Arena (arena.c)
 */
struct pol_chunk;
struct pol_arena {
	struct pol_chunk *head;
	size_t		 used;		/* bytes handed out, for stats */
	size_t		 reserved;	/* bytes obtained from sl_alloc */
	unsigned	 failed:1;	/* an allocation failed */
};

void	*pa_alloc(struct pol_arena *a, size_t n);	/* 16-aligned, zeroed */
char	*pa_strdup(struct pol_arena *a, const char *s);
char	*pa_strndup(struct pol_arena *a, const char *s, size_t n);
void	 pa_free(struct pol_arena *a);
/*
 * Grow an arena vector *v of *cap elements of size sz to hold n + 1.
 * The old storage stays in the arena (bounded 2x waste).  0 or -1.
 */
int	 pa_grow(struct pol_arena *a, void *vp, size_t *cap, size_t n,
	    size_t sz);

/* ---------------------------------------------------------------------
 * String map in an arena (map.c); keys are borrowed.
 */
#define POL_HASH_INIT	0xcbf29ce484222325ULL
uint64_t pol_hash(const void *p, size_t n, uint64_t h);

struct pol_map_ent {
	const char	*key;
	uint64_t	 hash;
	void		*val;
};

struct pol_map {
	struct pol_arena *a;
	struct pol_map_ent *v;
	size_t		 n, cap;
};

void	*pol_map_get(const struct pol_map *m, const char *key);
int	 pol_map_put(struct pol_map *m, const char *key, void *val);

/* ---------------------------------------------------------------------
 * Values of matchers and lists
 */
enum pol_key {
	PK_DOMAIN = 0,
	PK_IP,
	PK_PORT,
	PK_URL,
	PK_SRC,
	PK_USER,
	PK_COUNTRY,
	PK_ASN,
	PK_NKEYS,
};

/* List types are a subset of keys. */
enum pol_ltype {
	PL_DOMAIN = 0,
	PL_IP,
	PL_PORT,
	PL_USER,
	PL_URL,
	PL_NTYPES,
};

struct pol_dom {
	const char	*name;		/* normalised, no "*." */
	uint16_t	 len;
	uint8_t		 wild;		/* 1: "*.name" = strict subdomains */
};

struct pol_cidr {
	struct sl_ip	 net;		/* host bits zero */
	uint8_t		 plen;
};

struct pol_port {
	uint8_t		 proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t	 lo, hi;
};

struct pol_url {
	struct pol_dom	 host;
	const char	*path;		/* prefix, starts with '/' */
	size_t		 pathlen;
};

union pol_val {
	struct pol_dom	 dom;
	struct pol_cidr	 cidr;
	struct pol_port	 port;
	struct pol_url	 url;
	const char	*str;		/* user; country (upper case) */
	uint32_t	 asn;
};

struct pol_vals {
	union pol_val	*v;
	struct sl_loc	*loc;		/* where each value was written */
	size_t		 n, cap;
};

struct pol_list {
	const char	*name;
	enum pol_ltype	 type;
	struct sl_loc	 loc;		/* first definition */
	unsigned	 seq;		/* statement order, for diagnostics */
	struct pol_vals	 vals;
	unsigned	 used:1;
	unsigned	 filtered:1;	/* read under `include ... level must`:
					   its users may have been dropped */
};

/* A reference `@name` inside a matcher, resolved after parsing. */
struct pol_ref {
	const char	*name;
	struct sl_loc	 loc;
	struct pol_list	*list;		/* NULL until resolved */
};

struct pol_match {
	struct pol_vals	 vals;
	struct pol_ref	*refs;
	size_t		 nrefs, capref;
	struct sl_loc	 loc;		/* first time the key was written */
};

/* Modifiers as written (superset of the public SL_MOD_*). */
#define RM_NOAUTH	0x0001
#define RM_LOG		0x0002
#define RM_SNI_CHECK	0x0004
#define RM_DENY_OPAQUE	0x0008
#define RM_DENY_ECH	0x0010
#define RM_STUN_ONLY	0x0020
#define RM_NO_SNI_CHECK	0x0100
#define RM_DISABLED	0x0200

enum pol_level {
	PLV_NONE = 0,
	PLV_MUST = 1,
	PLV_SHOULD = 2,
};

struct sl_rule {
	const char	*name;
	enum sl_action	 action;
	unsigned	 rmods;		/* RM_* as written */
	unsigned	 mods;		/* effective SL_MOD_* */
	enum pol_level	 level;
	const char	*cite;
	struct sl_loc	 loc;		/* the `rule` keyword */
	unsigned	 last_line;	/* last physical line of the statement */
	unsigned	 seq;
	uint32_t	 index;		/* file order */
	unsigned	 keys;		/* 1 << PK_* present */
	unsigned	 facts;		/* SL_FACT_* the matchers depend on */
	unsigned	 decflags;	/* SL_DEC_BY_NAME | SL_DEC_PORT_EXPLICIT */
	/* Matchers of the keys in `keys`; NULL for the others (most rules
	 * have one or two of the eight). */
	struct pol_match *m[PK_NKEYS];
	/* CIDRs of the ip matcher inside a guarded range (see guard). */
	struct pol_cidr	*guard;
	size_t		 nguard;
	_Atomic uint64_t hits;
};

struct pol_default {
	enum sl_action	 action;
	unsigned	 mods;		/* SL_MOD_* */
	struct sl_loc	 loc;		/* line 0 when implicit */
	unsigned	 seq;
	int		 present;
};

struct pol_index;			/* compiled matchers (compile.c) */

struct sl_policy {
	struct sl_rule	**rules;	/* file order, incl. disabled */
	size_t		 nrules;
	struct pol_list	**lists;
	size_t		 nlists;
	struct pol_default def;
	struct pol_index *idx;		/* NULL: decide linearly */
	_Atomic uint64_t *def_hits;	/* decide() takes a const policy */
	struct pol_map	 byname;	/* rule name -> struct sl_rule */
	struct pol_map	 lists_byname;	/* list name -> struct pol_list */
	struct pol_arena *arena;	/* borrowed from the config */
};

/* ---------------------------------------------------------------------
 * Matching helpers (match.c): one value against one fact.
 */
int	pol_dom_match(const struct pol_dom *d, const char *name, size_t len);
int	pol_cidr_match(const struct pol_cidr *c, const struct sl_ip *ip);
int	pol_url_match(const struct pol_url *u, const char *host,
	    size_t hlen, const char *path);

/* Iterate a matcher's own values, then those of the lists it names. */
struct pol_vit {
	const struct pol_match *m;
	size_t		 i, r;
};
const union pol_val *pol_vit_next(struct pol_vit *it);

/* Does one matcher (all its values and lists) match this fact? */
int	pol_match_domain(const struct pol_match *m, const char *name,
	    size_t len);
int	pol_match_cidr(const struct pol_match *m, const struct sl_ip *ip);
int	pol_match_port(const struct pol_match *m, uint8_t proto,
	    uint16_t port);
int	pol_match_url(const struct pol_match *m, const char *host,
	    size_t hlen, const char *path);
/* Does the host part of any of m's url values match host? */
int	pol_match_url_host(const struct pol_match *m, const char *host,
	    size_t hlen);
int	pol_match_str(const struct pol_match *m, const char *s);
int	pol_match_asn(const struct pol_match *m, uint32_t asn);

/*
 * What the name step knows of the url's host while the url is not known
 * (pol_q_init; docs/policy.md, "A url rule's host is decided at the name
 * step").
 */
enum pol_ahead {
	PA_WAIT = 0,		/* nothing yet: url rules wait for the url */
	PA_NONE,		/* no url host can match: url rules are out */
	PA_NAME,		/* the url's host will be the name */
	PA_ADDR,		/* the destination address, as text */
};

/* Normalised view of the facts: name lowercased, one trailing dot cut. */
struct pol_q {
	const struct sl_facts *f;
	char		 name[256];
	size_t		 namelen;
	int		 has_name;
	char		 host[256];	/* the url's host (has_url) */
	size_t		 hostlen;
	int		 has_url;
	enum pol_ahead	 ahead;		/* url not yet known: see above */
};
void	pol_q_init(struct pol_q *q, const struct sl_facts *f);
/*
 * PA_NAME, PA_ADDR: the host the url will have, into buf (cap >=
 * SL_IP_STRLEN) for an address, which is formatted only when asked for.
 * Returns the host; *len gets its length.
 */
const char *pol_q_url_ahead(const struct pol_q *q, char *buf, size_t cap,
	    size_t *len);

/* The url matcher of r against both readings of the path (match.c). */
int	pol_rule_url_match(const struct sl_rule *r, const struct pol_q *q);

/*
 * One rule against the facts: 1 matches, 0 does not, -1 undetermined
 * (then *need gets the unknown facts it depends on).  *why (may be NULL)
 * receives the first key that failed, PK_NKEYS if none.
 */
int	pol_rule_eval(const struct sl_rule *r, const struct pol_q *q,
	    unsigned *need, enum pol_key *why);

/* ---------------------------------------------------------------------
 * Deciding (ref.c, decide.c)
 */
/*
 * The linear reference: first definite match in file order, default
 * otherwise; *need as in struct sl_decision.  Returns the winning rule
 * index or UINT32_MAX for the default.  No guard rails, no counting.
 */
uint32_t pol_ref_first(const struct sl_policy *pol, const struct pol_q *q,
	    unsigned *need);
/* The same through the compiled index (compile.c). */
uint32_t pol_idx_first(const struct sl_policy *pol, const struct pol_q *q,
	    unsigned *need);
/* Fill a decision from the winner, applying guard rails.  No counting. */
void	pol_finish(const struct sl_policy *pol, const struct sl_facts *f,
	    uint32_t win, unsigned need, struct sl_decision *out);
/*
 * Name of the guarded range holding ip ("loopback", ...) or NULL;
 * *range gets that range.
 */
const char *pol_guard_range(const struct sl_ip *ip, struct pol_cidr *range);

/* ---------------------------------------------------------------------
 * Compiling (compile.c)
 */
int	pol_compile(struct sl_policy *pol, struct sl_diags *diags);
size_t	pol_index_bytes(const struct sl_policy *pol);

/* ---------------------------------------------------------------------
 * Small utilities (util.c)
 */
/* The candidate closest to word by edit distance, or NULL if none is. */
const char *pol_closest(const char *word, const char *const *cands,
	    size_t n);
/* "splice", "inspect", "deny" -> action; -1 if unknown. */
int	pol_action_parse(const char *s, enum sl_action *a);
/*
 * Parse a domain pattern: "example.test", "*.example.test", and the
 * mangled "..example.test" / "..*.example.test" (*mangled = 1).  Writes
 * the normalised name (no "*.") into out (cap >= 256).  Returns 0, or -1
 * with a message in err (cap errcap).
 */
int	pol_domain_parse(const char *s, size_t len, char *out, size_t cap,
	    int *wild, int *mangled, char *err, size_t errcap);
/* Port spec "443", "1-2", "tcp/3478", "udp/5349-5350".  0 or -1 + err. */
int	pol_port_parse(const char *s, struct pol_port *p, char *err,
	    size_t errcap);
/* CIDR with host-bits check.  0 or -1 + err. */
int	pol_cidr_parse(const char *s, struct pol_cidr *c, char *err,
	    size_t errcap);
const char *pol_key_name(enum pol_key k);
const char *pol_ltype_name(enum pol_ltype t);
unsigned pol_key_fact(enum pol_key k);	/* SL_FACT_* or 0 (always known) */
const char *pol_fact_name(unsigned fact);	/* "name", "ip", ... */
/* "name,ip" for a fact mask into buf; "" if none. */
const char *pol_facts_fmt(unsigned facts, char *buf, size_t cap);
/* Modifier names as written in the language. */
const char *pol_mods_fmt(unsigned mods, char *buf, size_t cap);

/* 128-bit keys for addresses and ports (left-aligned). */
typedef unsigned __int128 pol_u128;
pol_u128 pol_ip_key(const struct sl_ip *ip);
/* First and last key covered by a CIDR. */
void	pol_cidr_range(const struct pol_cidr *c, pol_u128 *lo, pol_u128 *hi);

/* ---------------------------------------------------------------------
 * Sets used by settings and listeners (sets.c)
 */
struct sl_portset {
	size_t		 n;
	uint32_t	(*r)[2];	/* merged [lo, hi] of proto << 16 | port */
};

struct sl_cidrset {
	size_t		 n4, n6;
	pol_u128	(*r4)[2];	/* merged [lo, hi] key ranges */
	pol_u128	(*r6)[2];
};

struct sl_portset *pol_portset_build(struct pol_arena *a,
	    const struct pol_port *v, size_t n);
struct sl_cidrset *pol_cidrset_build(struct pol_arena *a,
	    const struct pol_cidr *v, size_t n);

#endif /* SL_POLICY_INT_H */
