/*
 * tunnel.h — what happens between "the upstream is connected" (or "the
 * transparent flow is decided") and splicing: look at the client's first
 * bytes and let them refine the decision.
 */
#ifndef SL_TUNNEL_H
#define SL_TUNNEL_H

#include "../lib/attr.h"

struct sl_flow;
struct sl_req;
struct sl_classify;

/*
 * Explicit CONNECT, after "200" (the handshake step): classify the first
 * client bytes (those already read after the head, then more), unless the
 * server speaks first or nothing comes within peek-timeout; check the SNI
 * against the CONNECT authority; then splice.
 */
void	sl_tunnel_handshake(struct sl_flow *flow) SL_NONNULL(1);

/*
 * Record what classification found (proto, SNI) and apply the decision's
 * content conditions: deny, deny-ech, deny-opaque and the inspect
 * fallback.  Returns 0 to relay, -1 if the flow was refused and closed.
 */
int	sl_tunnel_apply(struct sl_req *req, const struct sl_classify *c)
	    SL_NONNULL(1, 2);

/*
 * A ClientHello whose SNI is no host name (control characters, quotes,
 * spaces, empty labels...) is refused: bad_sni, a reset.  0 to go on, -1
 * if the flow was refused and closed.
 */
int	sl_tunnel_bad_sni(struct sl_flow *flow, const struct sl_classify *c)
	    SL_NONNULL(1, 2);

/* Record the proto and SNI only (no policy). */
void	sl_tunnel_note(struct sl_flow *flow, const struct sl_classify *c)
	    SL_NONNULL(1, 2);

/* Relay with setup->buf as the client's prefix, then drop the setup. */
void	sl_tunnel_splice(struct sl_flow *flow) SL_NONNULL(1);

#endif /* SL_TUNNEL_H */
