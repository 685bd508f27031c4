/*
 * upstream.h — connect to a destination's addresses, RFC 8305 style.
 *
 * The first address is tried at once; if it has neither connected nor
 * failed within happy-eyeballs-delay, the next one is tried in parallel,
 * and so on; an attempt that fails starts the next at once.  The first to
 * connect wins and the others are closed.  The whole thing is bounded by
 * connect-timeout.
 */
#ifndef SL_UPSTREAM_H
#define SL_UPSTREAM_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"

struct event_base;
struct sl_upstream;

#define SL_UPSTREAM_MAX_ADDRS	16

enum sl_upstream_err {
	SL_UP_OK = 0,
	SL_UP_REFUSED,		/* every address refused (RST) */
	SL_UP_UNREACHABLE,	/* no route, host/net unreachable, ... */
	SL_UP_TIMEOUT,		/* connect-timeout passed */
	SL_UP_RESOURCE,		/* out of fds or memory */
};

/*
 * Done callback: fd is the connected, non-blocking socket (the callee
 * owns it) or -1 with err set.  addr is the address that won (borrowed).
 * The request is freed before the callback runs: the handle is stale
 * from then on and must not be cancelled.
 */
typedef void (*sl_upstream_cb)(void *arg, int fd, enum sl_upstream_err err,
	    const struct sl_ip *addr);

struct sl_upstream_params {
	unsigned	timeout_ms;
	unsigned	delay_ms;
	unsigned	so_mark;	/* 0 = none */
};

/* Start connecting; NULL (nothing started, cb never called) on OOM. */
struct sl_upstream *sl_upstream_connect(struct event_base *base,
	    const struct sl_ip *addrs, unsigned naddr, uint16_t port,
	    const struct sl_upstream_params *p, sl_upstream_cb cb, void *arg)
	    SL_NONNULL(1, 2, 5, 6) SL_WUR;

/* Abandon an attempt: closes its sockets; cb is not called.  NULL-safe. */
void	sl_upstream_cancel(struct sl_upstream *up);

const char *sl_upstream_err_str(enum sl_upstream_err err);

#endif /* SL_UPSTREAM_H */
