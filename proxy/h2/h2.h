/*
 * h2.h — HTTP/2 on the inspected path (docs/design/h2.md).
 *
 * An inspected TLS session whose client negotiated "h2" is carried by an
 * nghttp2 server session towards the client and, towards the origin,
 * either an nghttp2 client session (the origin chose "h2") or HTTP/1.1
 * requests one at a time over the one verified origin session.  Every
 * stream is a request of its own (req.h), decided by the setup pipeline
 * (pipeline.h) with the URL facts of HTTP/1.1; a refused stream gets its
 * answer and its event, the other streams go on.
 *
 * The ALPN helpers are pure (no socket, no allocation): inspect.c asks
 * them what to offer the origin and what to select for the client.
 */
#ifndef SL_H2_H
#define SL_H2_H

#include <stddef.h>

#include "../../lib/attr.h"

struct sl_flow;

/*
 * Take over an inspected flow whose client session negotiated h2 (both
 * handshakes done, both halves TLS).  name: what the origin's certificate
 * was verified for (the SNI), NULL for the destination address.  The
 * flow is closed on failure, later on its end.
 */
void	sl_h2_start(struct sl_flow *flow, const char *name) SL_NONNULL(1);

/* Part of sl_flow_close, after the halves: end the streams (each logged
 * as cut short), free the sessions.  NULL-safe (flow->h2). */
void	sl_h2_free(struct sl_flow *flow) SL_NONNULL(1);

/*
 * The ALPN list sent to the origin, from the client's (wire format, in
 * place): when the client offers h2 but not http/1.1, http/1.1 is added
 * at the end, as sluice can carry an h2 client's streams over HTTP/1.1.
 * Returns the new length (len when nothing is added, or cap is short).
 */
size_t	sl_h2_alpn_upstream(unsigned char *list, size_t len, size_t cap)
	    SL_NONNULL(1);

/*
 * ALPN towards the client, given what the origin selected (up, uplen; 0:
 * nothing) and the client's list (in, inlen): the origin's choice if the
 * client offered it; else h2 if the client offered h2 and not http/1.1
 * (its streams are then carried over HTTP/1.1); else nothing.  1 with
 * *out pointing into in, or 0.
 */
int	sl_h2_alpn_select(const unsigned char *up, unsigned uplen,
	    const unsigned char *in, unsigned inlen, const unsigned char **out,
	    unsigned char *outlen) SL_NONNULL(3, 5, 6);

/* Is this ALPN protocol (not NUL-terminated) "h2"? */
int	sl_h2_alpn_is_h2(const unsigned char *p, unsigned len);

#endif /* SL_H2_H */
