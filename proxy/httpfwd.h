/*
 * httpfwd.h — plain HTTP/1.1 forwarding: absolute-URI requests on the
 * explicit listener (and, in transparent mode, origin-form requests to the
 * original destination).  Persistent connections on both sides, bodies
 * (Content-Length, chunked, until-close) forwarded verbatim, one decision
 * per request, WebSocket upgrades turned into a tunnel after "101".
 */
#ifndef SL_HTTPFWD_H
#define SL_HTTPFWD_H

#include "../lib/attr.h"

struct sl_flow;

/*
 * Take over an explicit flow whose first request head, in
 * flow->setup->buf, is complete (it is parsed again from there): the
 * client half becomes buffered, each request goes through the pipeline
 * with its own request object.  The flow is closed on failure.
 */
void	sl_httpfwd_start(struct sl_flow *flow) SL_NONNULL(1);
/*
 * The same for a transparent flow: origin-form requests, decided by their
 * Host (checked against the original destination like an SNI) and URL,
 * always forwarded to the original destination (flow->dst_ip/dst_port).
 */
void	sl_httpfwd_start_transparent(struct sl_flow *flow) SL_NONNULL(1);
/*
 * The same inside an inspected TLS session (both halves TLS, handshakes
 * done): origin-form requests over the one server session, whose
 * certificate was verified for `name` (the SNI, or the address); a
 * request whose Host names another host is a name the client claims.
 */
void	sl_httpfwd_start_inspected(struct sl_flow *flow, const char *name)
	    SL_NONNULL(1, 2);
/*
 * An inspected session that can only carry sluice's own answer (the
 * origin failed verification; the client's TLS was given a page leaf):
 * the error response for the tunnel's request, logged as its refusal,
 * then close_notify and a short linger.  The server half is closed.
 */
void	sl_httpfwd_refuse_inspected(struct sl_flow *flow, unsigned status,
	    const char *reason) SL_NONNULL(1, 3);
/* Part of sl_flow_close, after the halves: write a refusal still waiting
 * for its response to go out, free the state.  NULL-safe. */
void	sl_httpfwd_free(struct sl_flow *flow) SL_NONNULL(1);

#endif /* SL_HTTPFWD_H */
