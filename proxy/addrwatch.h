/*
 * addrwatch.h — the appliance's own addresses, as they are now.
 *
 * The guard rails refuse the appliance's own addresses (docs/policy.md),
 * and those come and go while sluiced runs: VRRP virtual addresses, DHCP,
 * SLAAC, an administrator's `ip addr add`.  struct sl_addrs is the current
 * set, shared by every worker and read whenever a flow is decided with an
 * address; the main thread replaces its contents when rtnetlink reports a
 * change (struct sl_addrwatch), and on reload.
 */
#ifndef SL_ADDRWATCH_H
#define SL_ADDRWATCH_H

#include "../lib/addr.h"
#include "../lib/attr.h"

struct event_base;
struct sl_addrs;
struct sl_addrwatch;

struct sl_addrs	*sl_addrs_ref(struct sl_addrs *a) SL_NONNULL(1);
void		 sl_addrs_unref(struct sl_addrs *a);
/*
 * Is ip one of the appliance's addresses now (loopback and IPv6
 * link-local left out: they have guard rails of their own)?  Any thread.
 * If the kernel has reported a change not yet read, reads the addresses
 * again first (a few syscalls, only then); otherwise one non-blocking
 * peek and a read lock for the scan.
 */
int		 sl_addrs_has(struct sl_addrs *a, const struct sl_ip *ip)
		    SL_NONNULL(1, 2);
/*
 * A set of the addresses as they are now that nothing updates (tests).
 * One reference; NULL if out of memory.
 */
struct sl_addrs	*sl_addrs_snapshot(void) SL_WUR;

/*
 * Subscribe to the kernel's address notifications (rtnetlink, IPv4 and
 * IPv6), then read the addresses: a change after the read is reported.
 * Call it before privileges are dropped; if the subscription fails the
 * set is only refreshed on reload (logged).  NULL if out of memory.
 */
struct sl_addrwatch *sl_addrwatch_new(void) SL_WUR;
/* The set it keeps current (borrowed: take a reference to keep it). */
struct sl_addrs	*sl_addrwatch_addrs(struct sl_addrwatch *w) SL_NONNULL(1);
/* Start reading notifications on base (the main thread's).  0 or -1. */
int		 sl_addrwatch_start(struct sl_addrwatch *w,
		    struct event_base *base) SL_NONNULL(1, 2);
/* Read every address again now (reload); logs what changed. */
void		 sl_addrwatch_refresh(struct sl_addrwatch *w) SL_NONNULL(1);
/* NULL-safe.  The set lives on while references to it remain. */
void		 sl_addrwatch_free(struct sl_addrwatch *w);

#endif /* SL_ADDRWATCH_H */
