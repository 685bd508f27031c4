/*
 * decide.c — the decision API: first match, guard rails, hit counters,
 * rule accessors.
 */
#include <netinet/in.h>
#include <string.h>

#include "policy_int.h"

struct guard_range {
	uint8_t		 af;
	uint8_t		 plen;
	uint8_t		 b[16];
	const char	*name;
};

/*
 * Destinations no rule reaches unless it names them: the appliance
 * itself (loopback), link-local services such as cloud metadata at
 * 169.254.169.254, the unspecified address (which connects to the local
 * host), multicast and broadcast.
 */
static const struct guard_range guard_ranges[] = {
	{ AF_INET, 8, { 127 }, "loopback" },
	{ AF_INET, 16, { 169, 254 }, "link-local" },
	{ AF_INET, 8, { 0 }, "unspecified" },
	{ AF_INET, 4, { 224 }, "multicast" },
	{ AF_INET, 32, { 255, 255, 255, 255 }, "broadcast" },
	{ AF_INET6, 128, { [15] = 1 }, "loopback" },
	{ AF_INET6, 10, { 0xfe, 0x80 }, "link-local" },
	{ AF_INET6, 128, { 0 }, "unspecified" },
	{ AF_INET6, 8, { 0xff }, "multicast" },
};

const char *
pol_guard_range(const struct sl_ip *ip, struct pol_cidr *range)
{
	for (size_t i = 0; i < SL_NELEM(guard_ranges); i++) {
		const struct guard_range *g = &guard_ranges[i];
		struct pol_cidr c;

		if (g->af != ip->af)
			continue;
		memset(&c, 0, sizeof(c));
		c.net.af = g->af;
		memcpy(c.net.b, g->b, sizeof(g->b));
		c.plen = g->plen;
		if (pol_cidr_match(&c, ip)) {
			if (range != NULL)
				*range = c;
			return g->name;
		}
	}
	return NULL;
}

/* Does rule r name dst, as the guard rails require? */
static int
guard_named(const struct sl_rule *r, const struct sl_ip *dst,
    const struct pol_cidr *range, int local)
{
	unsigned full = dst->af == AF_INET ? 32 : 128;

	for (size_t i = 0; i < r->nguard; i++) {
		const struct pol_cidr *c = &r->guard[i];

		if (!pol_cidr_match(c, dst))
			continue;
		/* The appliance's own addresses only by exact address. */
		if (local) {
			if (c->plen == full)
				return 1;
			continue;
		}
		/* Inside the guarded range: 127.0.0.0/8 names loopback,
		 * 0.0.0.0/0 does not. */
		if (range != NULL && c->plen >= range->plen)
			return 1;
	}
	return 0;
}

/*
 * The guard rails on a decision for rule r (NULL: the default): refused
 * unless r names the address.  Nothing to do while the address is unknown.
 */
static void
pol_guard(const struct sl_rule *r, const struct sl_facts *f,
    struct sl_decision *out)
{
	const char *gname = NULL;
	struct pol_cidr range;
	int have_range = 0;

	if ((f->known & SL_FACT_DST_IP) && f->dst.af != 0) {
		gname = pol_guard_range(&f->dst, &range);
		have_range = gname != NULL;
	}
	if (f->dst_local)
		gname = "local";
	if (gname == NULL)
		return;
	if (r != NULL && (f->known & SL_FACT_DST_IP) && f->dst.af != 0 &&
	    guard_named(r, &f->dst, have_range ? &range : NULL, f->dst_local))
		return;
	out->action = SL_ACT_DENY;
	out->mods = 0;
	out->flags = SL_DEC_GUARD;
	out->rule = NULL;
	out->rule_index = UINT32_MAX;
	out->reason = gname;
	/* Static names: the decision may not allocate. */
	if (strcmp(gname, "loopback") == 0)
		out->rule_name = "guard:loopback";
	else if (strcmp(gname, "link-local") == 0)
		out->rule_name = "guard:link-local";
	else if (strcmp(gname, "unspecified") == 0)
		out->rule_name = "guard:unspecified";
	else if (strcmp(gname, "multicast") == 0)
		out->rule_name = "guard:multicast";
	else if (strcmp(gname, "broadcast") == 0)
		out->rule_name = "guard:broadcast";
	else
		out->rule_name = "guard:local";
}

void
pol_finish(const struct sl_policy *pol, const struct sl_facts *f,
    uint32_t win, unsigned need, struct sl_decision *out)
{
	const struct sl_rule *r = win == UINT32_MAX ? NULL : pol->rules[win];

	memset(out, 0, sizeof(*out));
	out->need = need;
	if (r != NULL) {
		out->action = r->action;
		out->mods = r->mods;
		out->flags = r->decflags;
		out->rule = r;
		out->rule_name = r->name;
		out->rule_index = win;
	} else {
		out->action = pol->def.action;
		out->mods = pol->def.mods;
		out->flags = SL_DEC_DEFAULT;
		out->rule_name = "default";
		out->reason = "no rule matched";
		out->rule_index = UINT32_MAX;
	}
	pol_guard(r, f, out);
}

void
sl_policy_guard(const struct sl_policy *pol, const struct sl_facts *f,
    struct sl_decision *dec)
{
	(void)pol;	/* the rails are built in; the rule is dec's */
	if (dec->flags & SL_DEC_GUARD)
		return;
	pol_guard(dec->rule, f, dec);
}

void
sl_policy_decide(const struct sl_policy *pol, const struct sl_facts *f,
    struct sl_decision *out)
{
	struct pol_q q;
	unsigned need = 0;
	uint32_t win;

	pol_q_init(&q, f);
	win = pol->idx != NULL ? pol_idx_first(pol, &q, &need) :
	    pol_ref_first(pol, &q, &need);
	pol_finish(pol, f, win, need, out);
	if (out->need != 0 || (out->flags & SL_DEC_GUARD))
		return;
	/* Relaxed: counters are statistics, not synchronisation. */
	if (out->rule != NULL)
		atomic_fetch_add_explicit(&pol->rules[win]->hits, 1,
		    memory_order_relaxed);
	else
		atomic_fetch_add_explicit(pol->def_hits, 1,
		    memory_order_relaxed);
}

const char *
sl_rule_name(const struct sl_rule *r)
{
	return r->name;
}

const char *
sl_rule_cite(const struct sl_rule *r)
{
	return r->cite;
}

const char *
sl_rule_level(const struct sl_rule *r)
{
	return r->level == PLV_MUST ? "must" : r->level == PLV_SHOULD ?
	    "should" : NULL;
}

const struct sl_loc *
sl_rule_loc(const struct sl_rule *r)
{
	return &r->loc;
}

uint64_t
sl_rule_hits(const struct sl_rule *r)
{
	return atomic_load_explicit(&r->hits, memory_order_relaxed);
}

size_t
sl_policy_nrules(const struct sl_policy *pol)
{
	return pol->nrules;
}

const struct sl_rule *
sl_policy_rule(const struct sl_policy *pol, size_t i)
{
	return i < pol->nrules ? pol->rules[i] : NULL;
}

void
sl_policy_inherit_hits(struct sl_policy *newp, const struct sl_policy *oldp)
{
	for (size_t i = 0; i < newp->nrules; i++) {
		const struct sl_rule *o = pol_map_get(&oldp->byname,
		    newp->rules[i]->name);

		if (o != NULL)
			atomic_store_explicit(&newp->rules[i]->hits,
			    sl_rule_hits(o), memory_order_relaxed);
	}
	atomic_store_explicit(newp->def_hits, atomic_load_explicit(
	    oldp->def_hits, memory_order_relaxed), memory_order_relaxed);
}
