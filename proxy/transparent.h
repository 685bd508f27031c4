/*
 * transparent.h — flows redirected to sluiced by nftables (REDIRECT, with
 * the original destination from SO_ORIGINAL_DST) or TPROXYed to it
 * (IP_TRANSPARENT: the local address is the original destination).
 */
#ifndef SL_TRANSPARENT_H
#define SL_TRANSPARENT_H

struct sl_flow;

/* A new flow on a transparent listener of kind (enum sl_listen_kind). */
void	sl_transparent_start(struct sl_flow *flow, int kind);

#endif /* SL_TRANSPARENT_H */
