/*
 * dns.h — asynchronous name resolution on a worker's event loop (c-ares),
 * with a TTL-respecting cache and coalescing of concurrent lookups.
 *
 * One struct sl_dns per worker; every callback runs on that worker's loop.
 * The loop never blocks on DNS.
 */
#ifndef SL_DNS_H
#define SL_DNS_H

#include <stddef.h>

#include "../lib/addr.h"
#include "../lib/attr.h"

struct event_base;
struct sl_settings;
struct sl_resolver;

#define SL_DNS_MAX_ADDRS	16

enum sl_dns_status {
	SL_DNS_OK = 0,
	SL_DNS_NXDOMAIN,	/* name or address family does not exist */
	SL_DNS_TIMEOUT,		/* no answer within dns-timeout x dns-tries */
	SL_DNS_FAIL,		/* SERVFAIL, refused, malformed, no servers */
};

struct sl_dns_result {
	enum sl_dns_status status;
	unsigned	 naddr;
	struct sl_ip	 addr[SL_DNS_MAX_ADDRS];	/* connect order */
	unsigned	 cached:1;	/* answered from the cache */
};

struct sl_dns;
struct sl_dns_req;

/*
 * Lookup callback.  res is borrowed for the duration of the call.  The
 * request is finished (and freed) when the callback returns.
 */
typedef void (*sl_dns_cb)(void *arg, const struct sl_dns_result *res);

struct sl_dns *sl_dns_new(struct event_base *base,
	    const struct sl_settings *set, const struct sl_resolver *res,
	    size_t nres) SL_NONNULL(1, 2) SL_WUR;
/* Frees the channel; pending callbacks are NOT called (detach first). */
void	sl_dns_free(struct sl_dns *dns);

/* Apply new timeouts/servers from a reloaded configuration. */
int	sl_dns_reconfigure(struct sl_dns *dns, const struct sl_settings *set,
	    const struct sl_resolver *res, size_t nres) SL_NONNULL(1, 2);

/*
 * Look name up (A and AAAA), exactly that name: never with a search
 * domain appended or an alias put in its place.  If the answer is cached,
 * fills *res, returns NULL and sets *done = 1 without calling cb.
 * Otherwise returns a request handle and cb runs later on the loop (never
 * before this returns).  Returns NULL with *done = 0 only when out of
 * memory.
 */
struct sl_dns_req *sl_dns_lookup(struct sl_dns *dns, const char *name,
	    sl_dns_cb cb, void *arg, struct sl_dns_result *res, int *done)
	    SL_NONNULL(1, 2, 3, 5, 6);

/* Forget a pending request: its callback will not run.  NULL-safe. */
void	sl_dns_cancel(struct sl_dns_req *req);

const char *sl_dns_status_str(enum sl_dns_status st);

/* Is ip among the addresses of a successful answer?  (A claimed name's
 * check: does it resolve to where the flow goes.) */
int	sl_dns_has(const struct sl_dns_result *res, const struct sl_ip *ip)
	    SL_NONNULL(1, 2);

#endif /* SL_DNS_H */
