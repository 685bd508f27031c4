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
struct sl_http_msg;

/*
 * Take over a flow whose first request head (msg, parsed from
 * flow->setup->buf) is complete.  The flow is closed on failure.
 */
void	sl_httpfwd_start(struct sl_flow *flow, const struct sl_http_msg *msg)
	    SL_NONNULL(1, 2);
/* Has the flow become a WebSocket tunnel (idle-timeout applies)? */
int	sl_httpfwd_is_tunnel(const struct sl_flow *flow) SL_NONNULL(1);
/* Part of sl_flow_close: free bufferevents and state.  NULL-safe. */
void	sl_httpfwd_free(struct sl_flow *flow) SL_NONNULL(1);

#endif /* SL_HTTPFWD_H */
