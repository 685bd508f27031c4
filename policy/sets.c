/*
 * sets.c — port sets and CIDR sets used by settings and listeners:
 * sorted, merged intervals, answered by binary search.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static int
ps_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

struct sl_portset *
pol_portset_build(struct pol_arena *a, const struct pol_port *v, size_t n)
{
	struct sl_portset *ps = pa_alloc(a, sizeof(*ps));
	size_t m = 0;

	if (ps == NULL)
		return NULL;
	if (n == 0)
		return ps;
	if ((ps->r = pa_alloc(a, n * sizeof(*ps->r))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ps->r[i][0] = (uint32_t)v[i].proto << 16 | v[i].lo;
		ps->r[i][1] = (uint32_t)v[i].proto << 16 | v[i].hi;
	}
	qsort(ps->r, n, sizeof(*ps->r), ps_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ps->r[i][0] <= ps->r[m][1] + 1) {
			if (ps->r[i][1] > ps->r[m][1])
				ps->r[m][1] = ps->r[i][1];
		} else {
			m++;
			ps->r[m][0] = ps->r[i][0];
			ps->r[m][1] = ps->r[i][1];
		}
	}
	ps->n = m + 1;
	return ps;
}

int
sl_portset_has(const struct sl_portset *ps, uint8_t proto, uint16_t port)
{
	uint32_t k = (uint32_t)proto << 16 | port;
	size_t lo = 0, hi;

	if (ps == NULL)
		return 0;
	hi = ps->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->r[mid][1] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ps->n && ps->r[lo][0] <= k;
}

static int
cs_cmp(const void *a, const void *b)
{
	const pol_u128 *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sort and merge n ranges in place; returns the merged count. */
static size_t
cs_merge(pol_u128 (*r)[2], size_t n)
{
	size_t m = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cs_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[m][1] != ~(pol_u128)0 && r[i][0] > r[m][1] + 1) {
			m++;
			r[m][0] = r[i][0];
			r[m][1] = r[i][1];
		} else if (r[i][1] > r[m][1]) {
			r[m][1] = r[i][1];
		}
	}
	return m + 1;
}

struct sl_cidrset *
pol_cidrset_build(struct pol_arena *a, const struct pol_cidr *v, size_t n)
{
	struct sl_cidrset *cs = pa_alloc(a, sizeof(*cs));
	size_t n4 = 0, n6 = 0;

	if (cs == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i].net.af == AF_INET)
			n4++;
		else
			n6++;
	}
	if ((n4 && (cs->r4 = pa_alloc(a, n4 * sizeof(*cs->r4))) == NULL) ||
	    (n6 && (cs->r6 = pa_alloc(a, n6 * sizeof(*cs->r6))) == NULL))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		pol_u128 (*r)[2] = v[i].net.af == AF_INET ?
		    &cs->r4[cs->n4++] : &cs->r6[cs->n6++];

		pol_cidr_range(&v[i], &(*r)[0], &(*r)[1]);
	}
	cs->n4 = cs_merge(cs->r4, cs->n4);
	cs->n6 = cs_merge(cs->r6, cs->n6);
	return cs;
}

int
sl_cidrset_has(const struct sl_cidrset *cs, const struct sl_ip *ip)
{
	pol_u128 (*r)[2], k;
	size_t lo = 0, hi;

	if (cs == NULL || (ip->af != AF_INET && ip->af != AF_INET6))
		return 0;
	r = ip->af == AF_INET ? cs->r4 : cs->r6;
	hi = ip->af == AF_INET ? cs->n4 : cs->n6;
	k = pol_ip_key(ip);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid][1] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < (ip->af == AF_INET ? cs->n4 : cs->n6) && r[lo][0] <= k;
}
