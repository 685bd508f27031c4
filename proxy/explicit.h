/*
 * explicit.h — the explicit proxy listener's flows (CONNECT and
 * absolute-URI HTTP).
 */
#ifndef SL_EXPLICIT_H
#define SL_EXPLICIT_H

struct sl_flow;

/* A new flow on an explicit listener: read and act on its request. */
void	sl_explicit_start(struct sl_flow *flow);

#endif /* SL_EXPLICIT_H */
