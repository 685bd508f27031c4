/*
 * flow.h — one client connection, from accept to close.
 *
 *   ACCEPTED -> CLASSIFYING -> DECIDING -> RESOLVING -> CONNECTING
 *            -> RELAYING -> DRAINING -> CLOSED
 *
 * (explicit mode reads the request head while CLASSIFYING; an HTTP flow
 * loops through DECIDING..RELAYING once per request.)  docs/design/flow.md
 * has the whole lifecycle.
 *
 * Ownership: the worker's flow list owns the flow.  The flow owns both
 * sockets, its setup state, its relay pipes and one reference to the
 * runtime snapshot it was decided with.  sl_flow_close() is the one
 * teardown: it is called once, and its caller returns right after.
 *
 * Memory: an idle spliced tunnel costs this struct (events inline) and
 * nothing else: setup state is freed when relaying starts and pipes are
 * held only while bytes are in flight.
 */
#ifndef SL_FLOW_H
#define SL_FLOW_H

#include <event2/event_struct.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../policy/policy.h"

struct sl_worker;
struct sl_rt;
struct flow_setup;
struct sl_httpfwd;

enum sl_flow_state {
	SL_FLOW_ACCEPTED = 0,	/* fd accepted, original dst recovered */
	SL_FLOW_CLASSIFYING,	/* request head / first bytes */
	SL_FLOW_DECIDING,	/* policy match */
	SL_FLOW_AUTHENTICATING,	/* explicit mode: 407 / Basic */
	SL_FLOW_RESOLVING,	/* DNS lookup in flight */
	SL_FLOW_CONNECTING,	/* upstream connect in flight */
	SL_FLOW_HANDSHAKING,	/* inspect: TLS on both halves */
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

/* One direction of a spliced relay: src fd -> pipe -> dst fd. */
struct sl_relay_dir {
	struct sl_flow	*flow;		/* back pointer */
	struct event	*rd;		/* src readable (inside the flow) */
	struct event	*wr;		/* dst writable (inside the flow) */
	int		 pipe[2];	/* -1 when not held */
	uint32_t	 inpipe;	/* bytes in the pipe */
	char		*pre;		/* bytes to send before any splice */
	uint32_t	 pre_len, pre_off;
	unsigned	 eof:1;		/* src sent FIN */
	unsigned	 shut:1;	/* dst shut down for writing */
	unsigned	 up:1;		/* client -> server */
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
	int			 cfd, sfd;	/* -1 when none */
	struct sl_ip		 cli_ip, dst_ip;
	uint16_t		 cli_port, dst_port;
	uint64_t		 t0;		/* mono ms at accept */
	uint64_t		 last;		/* mono ms of the last byte */
	char			*host;		/* requested name, or NULL */
	char			*sni;		/* ClientHello SNI, or NULL */
	const char		*method;	/* static: "CONNECT", "GET"... */
	struct sl_decision	 dec;		/* borrowed strings from rt */
	const char		*reason;	/* static, for the log */
	unsigned		 status;	/* HTTP status we answered */
	uint64_t		 up, down;	/* bytes client->srv, srv->client */
	struct flow_setup	*setup;		/* until relaying starts */
	struct sl_httpfwd	*http;		/* plain-HTTP forwarding */
	unsigned		 logged:1;	/* summary event written */
	unsigned		 blocked:1;	/* refused by policy */
	unsigned		 inspect_fallback:1; /* inspect -> splice */
	unsigned		 sni_mismatch:1;
	unsigned		 name_untrusted:1; /* decide as if no name */
	unsigned		 host_literal:1; /* asked for dst_ip by literal */
	unsigned		 http_forwarded:1; /* parsed per request */
	/*
	 * One read event per socket for the flow's whole life: phases change
	 * the handler, not the registration, so a tunnel costs one epoll ADD
	 * and one DEL per socket instead of one pair per phase.
	 */
	struct event		 ev_cr, ev_cw, ev_sr, ev_sw;
	void			(*on_cr)(struct sl_flow *);	/* cfd readable */
	void			(*on_sr)(struct sl_flow *);	/* sfd readable */
	struct sl_relay_dir	 dup, ddown;
};

/* Accept-time constructor; takes ownership of fd (closed on failure). */
struct sl_flow *sl_flow_new(struct sl_worker *wk, int fd,
	    const struct sockaddr *peer, enum sl_flow_mode mode) SL_WUR;

/*
 * The one teardown.  who: 'C' client, 'S' server, 'P' policy,
 * 'T' timeout, 'R' resource, 'A' admin, 'I' internal bug.  reason is a
 * static string for the log (NULL keeps flow->reason).
 */
void	sl_flow_close(struct sl_flow *flow, char who, const char *reason)
	    SL_NONNULL(1);

void	sl_flow_set_state(struct sl_flow *flow, enum sl_flow_state st)
	    SL_NONNULL(1);

/*
 * Write a flow-log event now (flow.blocked or flow.error at refusal
 * time; flow.end is written by sl_flow_close).  Marks the flow logged.
 */
void	sl_flow_log_event(struct sl_flow *flow, const char *event)
	    SL_NONNULL(1, 2);

/* Debug/info line prefixed with flow=<id>. */
void	sl_flow_log(const struct sl_flow *flow, int lvl, const char *fmt, ...)
	    SL_PRINTF(3, 4);

typedef void (*sl_flow_fn)(struct sl_flow *);

/*
 * Read readiness of the client (server) socket calls fn from now on; the
 * event is added if it is not already.  0, or -1 after closing the flow.
 */
int	sl_flow_watch_cli(struct sl_flow *flow, sl_flow_fn fn) SL_NONNULL(1, 2);
int	sl_flow_watch_srv(struct sl_flow *flow, sl_flow_fn fn) SL_NONNULL(1, 2);
/* Stop watching (the handler stays).  Idempotent. */
void	sl_flow_unwatch_cli(struct sl_flow *flow) SL_NONNULL(1);
/* The upstream socket is connected: the flow owns fd from now on. */
void	sl_flow_set_srv(struct sl_flow *flow, int fd) SL_NONNULL(1);

/* Close every flow of a worker (shutdown).  */
void	sl_flow_close_all(struct sl_worker *wk, char who, const char *reason)
	    SL_NONNULL(1);

/* Idle sweep: close relaying flows idle for longer than idle-timeout. */
void	sl_flow_sweep(struct sl_worker *wk, uint64_t now) SL_NONNULL(1);

/* ---- relay.c: the spliced relay ---- */

/*
 * Start relaying between flow->cfd and flow->sfd with splice(2).  pre_up
 * bytes (already read from the client: early data, a peeked ClientHello)
 * are sent to the server first; pre_down to the client first.  Copies the
 * prefixes.  Returns 0, or -1 after closing the flow.
 */
int	sl_relay_start(struct sl_flow *flow, const char *pre_up, size_t nup,
	    const char *pre_down, size_t ndown) SL_NONNULL(1) SL_WUR;
/* Release relay resources (events, pipes); part of sl_flow_close. */
void	sl_relay_release(struct sl_flow *flow) SL_NONNULL(1);

#endif /* SL_FLOW_H */
