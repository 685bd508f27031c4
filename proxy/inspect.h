/*
 * inspect.h — TLS inspection: the handshake step of a flow whose decision
 * is `inspect` and whose client speaks TLS (docs/design/inspect.md).
 *
 *   the origin connected (TCP) -> TLS to it, with the SNI and ALPN the
 *   client asked for, its certificate verified for that name -> a leaf
 *   minted (or cached) for the name from the appliance CA -> TLS to the
 *   client with it, the ClientHello already read fed first -> HTTP/1.1:
 *   the forwarder, each request decided (URL rules apply); other bytes:
 *   the relay, inside the two sessions.
 *
 * Never less safe than going direct: an origin that fails verification
 * gets no client session with a leaf vouching for it (the client gets a
 * TLS alert, the log `upstream_cert_invalid` and why); towards the client
 * sluice is no weaker than the origin was towards sluice.
 */
#ifndef SL_INSPECT_H
#define SL_INSPECT_H

#include "../lib/attr.h"

struct sl_flow;
struct sl_rt;

struct ssl_ctx_st;

/* The client-facing context's ALPN step (once, when a snapshot is made). */
void	sl_inspect_ctx_init(struct ssl_ctx_st *cli_ctx) SL_NONNULL(1);

/* Can this snapshot inspect (an appliance CA is loaded)? */
int	sl_inspect_able(const struct sl_rt *rt) SL_NONNULL(1);

/*
 * Inspect the flow: its server half is a connected RAW socket, its setup
 * holds what the client sent so far (the ClientHello first) and the
 * parsed hello.  The flow relays, or is refused and closed, later.
 */
void	sl_inspect_start(struct sl_flow *flow) SL_NONNULL(1);

#endif /* SL_INSPECT_H */
