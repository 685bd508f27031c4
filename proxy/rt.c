/*
 * rt.c — the runtime snapshot: a configuration plus what sluiced learns
 * about itself (its listening ports, and the set of its own addresses
 * that addrwatch.c keeps current, for the loop guard), immutable and
 * shared by every worker.
 */
#include <string.h>

#include "../lib/alloc.h"
#include "../policy/config.h"
#include "addrwatch.h"
#include "worker.h"

/* addrs: a reference that becomes the snapshot's (dropped on failure). */
static struct sl_rt *
rt_new(struct sl_config *cfg, struct sl_addrs *addrs)
{
	struct sl_rt *rt;
	const struct sl_listen *ls;
	size_t n;

	if ((rt = sl_calloc(1, sizeof(*rt))) == NULL) {
		sl_addrs_unref(addrs);
		return NULL;
	}
	rt->refs = 1;
	rt->cfg = sl_config_ref(cfg);
	rt->set = sl_config_settings(cfg);
	rt->pol = sl_config_policy(cfg);
	rt->addrs = addrs;
	ls = sl_config_listeners(cfg, &n);
	if ((rt->lports = sl_calloc(n ? n : 1, sizeof(*rt->lports))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct sl_ip ip;

		sl_ip_from_sa(&ip, &rt->lports[i],
		    (const struct sockaddr *)&ls[i].addr);
	}
	rt->nlports = n;
	return rt;
fail:
	sl_rt_unref(rt);
	return NULL;
}

struct sl_rt *
sl_rt_new_tracked(struct sl_config *cfg, struct sl_addrs *addrs)
{
	return rt_new(cfg, sl_addrs_ref(addrs));
}

struct sl_rt *
sl_rt_new(struct sl_config *cfg)
{
	struct sl_addrs *now = sl_addrs_snapshot();

	return now != NULL ? rt_new(cfg, now) : NULL;
}

struct sl_rt *
sl_rt_ref(struct sl_rt *rt)
{
	__atomic_add_fetch(&rt->refs, 1, __ATOMIC_RELAXED);
	return rt;
}

void
sl_rt_unref(struct sl_rt *rt)
{
	if (rt == NULL || __atomic_sub_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL))
		return;
	sl_config_unref(rt->cfg);
	sl_addrs_unref(rt->addrs);
	sl_free(rt->lports);
	sl_free(rt);
}

int
sl_rt_is_local(const struct sl_rt *rt, const struct sl_ip *ip)
{
	/* The set as it is now, not as it was when rt was made. */
	return sl_addrs_has(rt->addrs, ip);
}
