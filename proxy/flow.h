/*
 * flow.h — one client connection, from accept to close: two halves
 * (half.h), the request it carries (req.h), the setup state it needs until
 * it relays (setup.h).  docs/design/flow.md has the lifecycle, the state
 * table and who owns what.
 *
 * Ownership: the worker's flow list owns the flow.  The flow owns both
 * halves (their sockets), its current request, its setup state, its HTTP
 * forwarder and one reference to the runtime snapshot it was decided
 * with.  sl_flow_close() is the one teardown: it is called once, and its
 * caller returns right after.
 *
 * Memory: an idle spliced tunnel costs this struct (events inline in the
 * halves) and its request; setup state is freed when relaying starts and
 * pipes are held only while bytes are in flight.
 */
#ifndef SL_FLOW_H
#define SL_FLOW_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../policy/policy.h"
#include "half.h"

struct sl_worker;
struct sl_rt;
struct sl_req;
struct flow_setup;
struct sl_httpfwd;
struct sl_h2;

/*
 * The states a flow (and each of its requests, req.h) goes through, in
 * this order; flow_state_next in flow.c is the table of the transitions
 * allowed, and a transition it does not allow is a bug (SL_BUG_ON).
 */
enum sl_flow_state {
	SL_FLOW_ACCEPTED = 0,	/* fd accepted, original dst recovered */
	SL_FLOW_CLASSIFYING,	/* request head / first bytes */
	SL_FLOW_DECIDING,	/* policy match */
	SL_FLOW_AUTHENTICATING,	/* explicit mode: 407 / Basic */
	SL_FLOW_RESOLVING,	/* DNS lookup in flight */
	SL_FLOW_CONNECTING,	/* upstream connect in flight */
	SL_FLOW_HANDSHAKING,	/* tunnel's first bytes; inspect: TLS */
	SL_FLOW_RELAYING,
	SL_FLOW_DRAINING,	/* one side closed; flushing the other */
	SL_FLOW_CLOSED,
};

enum sl_flow_mode {
	SL_MODE_EXPLICIT = 0,
	SL_MODE_TRANSPARENT,
};

/* What the first client bytes turned out to be. */
enum sl_flow_proto {
	SL_PROTO_UNKNOWN = 0,	/* nothing seen (yet) */
	SL_PROTO_TLS,
	SL_PROTO_HTTP,
	SL_PROTO_STUN,
	SL_PROTO_OPAQUE,
	SL_PROTO_NONE,		/* client sent nothing before the timeout */
};

struct sl_flow {
	struct sl_flow		*prev, *next;	/* worker's flow list */
	struct sl_worker	*wk;		/* borrowed */
	struct sl_rt		*rt;		/* ref held for the flow's life */
	uint64_t		 id;
	enum sl_flow_state	 state;
	uint8_t			 mode;		/* enum sl_flow_mode */
	uint8_t			 proto;		/* enum sl_flow_proto */
	char			 term[3];	/* e.g. "SR" */
	struct sl_half		 cli;		/* accepted, client-facing */
	struct sl_half		 srv;		/* connected, server-facing */
	struct sl_ip		 cli_ip;
	struct sl_ip		 dst_ip;	/* transparent: original dst */
	uint16_t		 cli_port, dst_port;
	uint64_t		 t0;		/* mono ms at accept */
	uint64_t		 last;		/* mono ms of the last byte */
	char			*sni;		/* ClientHello SNI, or NULL */
	const char		*reason;	/* static: why it ended, when
						   the connection, not a
						   request, is the cause */
	struct sl_req		*req;		/* the current request */
	uint32_t		 nreq;		/* HTTP: requests it carried */
	struct flow_setup	*setup;		/* until relaying starts */
	struct sl_httpfwd	*http;		/* plain-HTTP forwarding */
	struct sl_h2		*h2;		/* HTTP/2 (inspected): streams
						   are requests of their own */
	unsigned		 relaying:1;	/* the relay runs (relay.h) */
	unsigned		 forwarded:1;	/* HTTP parsed per request */
	unsigned		 failed:1;	/* the connection itself failed
						   (flow.error at close) */
	unsigned		 sni_verified:1; /* inspected: the origin's
						   certificate holds for sni */
};

/* Accept-time constructor; takes ownership of fd (closed on failure). */
struct sl_flow *sl_flow_new(struct sl_worker *wk, int fd,
	    const struct sockaddr *peer, enum sl_flow_mode mode) SL_WUR;

/*
 * The one teardown.  who: 'C' client, 'S' server, 'P' policy,
 * 'T' timeout, 'R' resource, 'A' admin, 'I' internal bug.  reason is a
 * static string for the log (NULL keeps the one already set).  Writes the
 * flow's summary event unless its request's refusal was already logged.
 */
void	sl_flow_close(struct sl_flow *flow, char who, const char *reason)
	    SL_NONNULL(1);

/* Move to st; a transition the table does not allow is a bug. */
void	sl_flow_set_state(struct sl_flow *flow, enum sl_flow_state st)
	    SL_NONNULL(1);
/* Is from -> to in the table?  (For requests too, and for tests.) */
int	sl_flow_state_allowed(enum sl_flow_state from, enum sl_flow_state to);
/* The state's letter in termination codes (docs/logs.md). */
char	sl_flow_state_letter(enum sl_flow_state st);
/*
 * The letter of the state the flow is in now: its current request's while
 * a forwarder carries requests one by one, the flow's otherwise (and once
 * the relay runs).
 */
char	sl_flow_letter(const struct sl_flow *flow) SL_NONNULL(1);

/*
 * Write the flow's event now: flow.blocked or flow.error for a refused
 * request, as soon as its answer is out (flow.end and errors at close
 * are written by sl_flow_close).  The one place a flow event is built.
 */
void	sl_flow_log_refusal(struct sl_flow *flow) SL_NONNULL(1);
/*
 * An HTTP request of the flow is done (its response forwarded, or cut
 * short by the connection's end): its own flow.request event, with its
 * bytes and duration, when allowed flows are logged.
 */
void	sl_flow_log_request(struct sl_flow *flow) SL_NONNULL(1);

/* Debug/info line prefixed with flow=<id>. */
void	sl_flow_log(const struct sl_flow *flow, int lvl, const char *fmt, ...)
	    SL_PRINTF(3, 4);

/* Close every flow of a worker (shutdown).  */
void	sl_flow_close_all(struct sl_worker *wk, char who, const char *reason)
	    SL_NONNULL(1);

/* Idle sweep: close relaying flows idle for longer than idle-timeout. */
void	sl_flow_sweep(struct sl_worker *wk, uint64_t now) SL_NONNULL(1);

#endif /* SL_FLOW_H */
