/*
 * setup.h — what a flow needs only until it relays: the bytes read from
 * the client so far, the phase timer, the addresses resolved, the
 * ClientHello; and the refusals both modes share.  Freed when relaying
 * starts, so an idle tunnel does not carry it (an HTTP-forwarded flow
 * keeps it: it goes on reading heads).
 */
#ifndef SL_SETUP_H
#define SL_SETUP_H

#include <event2/event_struct.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/attr.h"
#include "../tls/tls.h"
#include "dns.h"
#include "flow.h"

struct sl_req;

typedef void (*flow_timeout_fn)(struct sl_flow *flow);

struct flow_setup {
	struct event		 timer;		/* the current phase's deadline */
	flow_timeout_fn		 on_timeout;
	char			*buf;		/* client bytes read so far */
	size_t			 len, cap;
	size_t			 head_len;	/* explicit: request head bytes */
	size_t			 parsed_len;	/* bytes the last MORE parse saw */
	struct sl_dns_result	 res;		/* resolved addresses */
	struct sl_tls_hello	 hello;		/* when proto is TLS */
	/* sl_pl_claim: a claimed name's decision while it is checked */
	struct sl_decision	 claimed;
	const char		*claim_name;	/* borrowed (flow->sni) */
	void			(*claim_then)(struct sl_req *);
	unsigned		 timer_set:1;
};

/* Allocate flow->setup (timer assigned, not armed).  0 or -1. */
int	flow_setup_new(struct sl_flow *flow) SL_NONNULL(1) SL_WUR;
/* Disarm, free.  NULL-safe; part of sl_flow_close. */
void	flow_setup_free(struct sl_flow *flow) SL_NONNULL(1);

/* Arm the phase timer (replaces any earlier deadline); disarm it. */
void	flow_setup_timer(struct sl_flow *flow, unsigned ms, flow_timeout_fn fn)
	    SL_NONNULL(1, 3);
void	flow_setup_timer_stop(struct sl_flow *flow) SL_NONNULL(1);

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
 * Answer the flow's request with a complete HTTP error response, log the
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
 * Record a refusal on the flow's request: status, reason, who is to
 * blame (flow->term[0], unless the caller set it: P for a block, else
 * what status implies; 0: no HTTP answer, the client's bytes were at
 * fault) and the state it struck in.  Returns the culprit.
 */
char	flow_refusal(struct sl_flow *flow, unsigned status, const char *reason,
	    int blocked) SL_NONNULL(1, 3);

/*
 * Transparent mode: log and close.  reset: send a TCP RST (SO_LINGER 0)
 * rather than a FIN, as a firewall would.
 */
void	flow_tcp_refuse(struct sl_flow *flow, const char *reason, int blocked,
	    int reset) SL_NONNULL(1, 2);

#endif /* SL_SETUP_H */
