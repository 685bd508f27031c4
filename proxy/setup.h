/*
 * setup.h — what a flow needs only until it relays: the bytes read from
 * the client so far, the phase timer, DNS and connect in flight, and the
 * steps shared by the explicit and transparent paths (decide, resolve,
 * connect, refuse).  Freed when relaying starts, so an idle tunnel does
 * not carry it.
 */
#ifndef SL_SETUP_H
#define SL_SETUP_H

#include <event2/event_struct.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"
#include "../tls/tls.h"
#include "dns.h"
#include "flow.h"

struct sl_upstream;

typedef void (*flow_resolved_fn)(struct sl_flow *flow,
	    const struct sl_dns_result *res);
typedef void (*flow_connected_fn)(struct sl_flow *flow, int fd,
	    const char *err, unsigned http_status);
typedef void (*flow_timeout_fn)(struct sl_flow *flow);

struct flow_setup {
	struct event		 timer;		/* the current phase's deadline */
	flow_timeout_fn		 on_timeout;
	char			*buf;		/* client bytes read so far */
	size_t			 len, cap;
	size_t			 head_len;	/* explicit: request head bytes */
	size_t			 parsed_len;	/* bytes the last MORE parse saw */
	struct sl_dns_req	*dns;		/* lookup in flight */
	flow_resolved_fn	 on_resolved;
	struct sl_upstream	*up;		/* connect in flight */
	flow_connected_fn	 on_connected;
	struct sl_dns_result	 res;		/* resolved addresses */
	struct sl_tls_hello	 hello;		/* when proto is TLS */
	const char		*url_host;	/* borrowed: current request */
	const char		*url_path;
	unsigned		 timer_set:1;
};

/* Allocate flow->setup (timer assigned, not armed).  0 or -1. */
int	flow_setup_new(struct sl_flow *flow) SL_NONNULL(1) SL_WUR;
/* Cancel DNS/connect, disarm, free.  NULL-safe; part of sl_flow_close. */
void	flow_setup_free(struct sl_flow *flow) SL_NONNULL(1);

/* Arm the phase timer (replaces any earlier deadline). */
void	flow_setup_timer(struct sl_flow *flow, unsigned ms, flow_timeout_fn fn)
	    SL_NONNULL(1, 3);

/*
 * Make room for and read what the client sent into setup->buf, up to
 * max bytes in all.  Returns bytes read (> 0), 0 on EOF, -1 on EAGAIN,
 * -2 on a socket error (errno set), -3 if the buffer is already full.
 */
ssize_t	flow_setup_read(struct sl_flow *flow, size_t max) SL_NONNULL(1);

/*
 * Read first bytes for classification (up to peek-max).  Returns 0 with
 * *eof / *full set when the caller should look at setup->buf, -1 when
 * there is nothing new (EAGAIN), or -2 when the flow was closed (socket
 * error).
 */
int	flow_setup_read_classify(struct sl_flow *flow, int *eof, int *full)
	    SL_NONNULL(1, 2, 3);

/*
 * While resolving and connecting: keep reading what the client sends
 * into setup->buf (it becomes the relay's prefix), up to peek-max past
 * the request head; a client that closes meanwhile ends the flow.
 * 0, or -1 if the flow was closed.
 */
int	flow_setup_hold(struct sl_flow *flow) SL_NONNULL(1);

/*
 * Fill the facts the flow already has (client, port, dst if known, name,
 * SNI-derived name) and decide into flow->dec.  known_extra: fact bits to
 * mark final in addition (e.g. SL_FACT_URL when no URL can ever be known).
 */
void	flow_decide(struct sl_flow *flow, unsigned known_extra)
	    SL_NONNULL(1);
/*
 * The same with the request URL known (plain HTTP): host + path, both
 * borrowed and kept in flow->setup until the request is connected.
 */
void	flow_decide_url(struct sl_flow *flow, const char *url_host,
	    const char *url_path) SL_NONNULL(1, 2, 3);

/*
 * Resolve flow->host.  Calls fn (maybe synchronously, from the cache)
 * unless the flow is closed first.  Returns -1 if the flow was closed.
 */
int	flow_resolve(struct sl_flow *flow, flow_resolved_fn fn)
	    SL_NONNULL(1, 2);

/*
 * Connect to the addresses that get the same decision as flow->dec (the
 * guard rails and policy apply to each address), happy-eyeballs style.
 * fn gets the connected fd (owned by the callee), or -1 with a reason and
 * the HTTP status an explicit client should see.
 */
int	flow_connect(struct sl_flow *flow, const struct sl_ip *addrs,
	    unsigned naddr, flow_connected_fn fn) SL_NONNULL(1, 2, 4);

/*
 * Explicit mode: answer with a complete HTTP error response, log the
 * event (flow.blocked for policy refusals, flow.error otherwise), then
 * close gracefully: shut down our side and discard what the client still
 * sends for a moment, so the response is not destroyed by a TCP reset.
 */
void	flow_http_refuse(struct sl_flow *flow, unsigned status,
	    const char *reason, int blocked) SL_NONNULL(1, 3);

/*
 * The text of such a response (status line to body) into resp; its
 * length, or -1 if it does not fit.
 */
int	flow_http_error_text(struct sl_flow *flow, unsigned status,
	    const char *reason, int blocked, char *resp, size_t cap)
	    SL_NONNULL(1, 3, 5);

/*
 * The first letter of a refused flow's termination code, set now (the
 * event is written before the close) unless the caller set it: P for a
 * block, else what status implies (0: no HTTP answer, the client's bytes
 * were at fault).  Returns it.
 */
char	flow_refuse_culprit(struct sl_flow *flow, unsigned status,
	    int blocked) SL_NONNULL(1);

/*
 * Transparent mode: log and close.  reset: send a TCP RST (SO_LINGER 0)
 * rather than a FIN, as a firewall would.
 */
void	flow_tcp_refuse(struct sl_flow *flow, const char *reason, int blocked,
	    int reset) SL_NONNULL(1, 2);

/* The reason logged for a deny decision: "policy" or the guard rail. */
const char *flow_deny_reason(const struct sl_flow *flow) SL_NONNULL(1);


#endif /* SL_SETUP_H */
