/*
 * rt.c — the runtime snapshot: a configuration plus what sluiced learns
 * about itself (its own addresses and listening ports, for the loop
 * guard), immutable and shared by every worker.
 */
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "worker.h"

static int
rt_collect_locals(struct sl_rt *rt)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) == -1) {
		sl_log(SL_LOG_WARN, "cannot list local addresses: the loop "
		    "guard only knows the listeners");
		return 0;
	}
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET ||
		    i->ifa_addr->sa_family == AF_INET6))
			n++;
	rt->locals = sl_calloc(n ? n : 1, sizeof(*rt->locals));
	if (rt->locals == NULL) {
		freeifaddrs(ifa);
		return -1;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct sl_ip ip;

		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		sl_ip_from_sa(&ip, NULL, i->ifa_addr);
		/* Loopback and link-local have guard rails of their own. */
		if (sl_ip_is_loopback(&ip) || (ip.af == AF_INET6 &&
		    ip.b[0] == 0xfe && (ip.b[1] & 0xc0) == 0x80))
			continue;
		rt->locals[rt->nlocals++] = ip;
	}
	freeifaddrs(ifa);
	return 0;
}

struct sl_rt *
sl_rt_new(struct sl_config *cfg)
{
	struct sl_rt *rt;
	const struct sl_listen *ls;
	size_t n;

	if ((rt = sl_calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->refs = 1;
	rt->cfg = sl_config_ref(cfg);
	rt->set = sl_config_settings(cfg);
	rt->pol = sl_config_policy(cfg);
	if (rt_collect_locals(rt) == -1)
		goto fail;
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
	sl_free(rt->locals);
	sl_free(rt->lports);
	sl_free(rt);
}

int
sl_rt_is_local(const struct sl_rt *rt, const struct sl_ip *ip)
{
	for (size_t i = 0; i < rt->nlocals; i++)
		if (sl_ip_equal(&rt->locals[i], ip))
			return 1;
	return 0;
}
