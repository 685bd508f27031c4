/*
 * learn_guard.c — what the policy says about a learned destination: is it
 * denied by name, and where may a splice rule for it go.
 *
 * The contract (docs/policy.md): a deny is never turned into a splice.  A
 * learned rule is `splice domain NAME` (or `ip ADDR`); placed before a
 * deny rule that may apply to NAME it would take flows away from that
 * deny, placed after the inspect rule that decided NAME it would change
 * nothing.  So it goes after the last deny rule that may apply and
 * before the first inspect rule that may; if that inspect rule comes
 * first, there is no safe place and the admin decides.
 */
#include <string.h>

#include "learn.h"
#include "policy_int.h"

/* Does any value of matcher m (a url matcher) have a host matching name? */
static int
lg_url_host(const struct pol_match *m, const char *name, size_t len)
{
	struct pol_vit it = { .m = m };
	const union pol_val *v;

	while ((v = pol_vit_next(&it)) != NULL)
		if (pol_dom_match(&v->url.host, name, len))
			return 1;
	return 0;
}

/*
 * Could r apply to a flow towards name (ip: its address, af 0 for a host
 * name)?  *named: a matcher on the destination itself matched it.
 */
static int
lg_may_apply(const struct sl_rule *r, const char *name,
    const struct sl_ip *ip, int *named)
{
	size_t len = strlen(name);

	*named = 0;
	if (r->rmods & RM_DISABLED)
		return 0;
	if (r->keys & (1u << PK_DOMAIN)) {
		/* An address has no name: a domain rule never matches it. */
		if (ip->af != 0 || !pol_match_domain(r->m[PK_DOMAIN], name,
		    len))
			return 0;
		*named = 1;
	}
	if (r->keys & (1u << PK_URL)) {
		if (ip->af != 0 || !lg_url_host(r->m[PK_URL], name, len))
			return 0;
		*named = 1;
	}
	if ((r->keys & (1u << PK_IP)) && ip->af != 0) {
		if (!pol_match_cidr(r->m[PK_IP], ip))
			return 0;
		*named = 1;
	}
	/* A host name's address is not known here: an ip rule may apply. */
	return 1;
}

void
sl_learn_place(const struct sl_policy *pol, const char *name,
    struct sl_learn_place *out)
{
	const struct sl_rule *first_inspect = NULL;
	struct sl_ip ip;
	size_t n = sl_policy_nrules(pol);

	memset(out, 0, sizeof(*out));
	if (sl_ip_parse(&ip, name) == -1)
		ip.af = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sl_rule *r = sl_policy_rule(pol, i);
		int named;

		if (!lg_may_apply(r, name, &ip, &named))
			continue;
		if (r->action == SL_ACT_DENY) {
			if (named && out->deny == NULL)
				out->deny = r->name;
			if (first_inspect != NULL && out->conflict == NULL) {
				out->conflict = first_inspect->name;
				out->conflict_deny = r->name;
			}
		} else if (r->action == SL_ACT_INSPECT && first_inspect == NULL) {
			first_inspect = r;
		}
	}
	/* Every deny that may apply is before first_inspect, or a conflict
	 * was noted: before first_inspect (or at the end) is after them. */
	out->anchor = first_inspect != NULL ? first_inspect->name : NULL;
}
