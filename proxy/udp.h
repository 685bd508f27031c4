/*
 * udp.h — UDP forwarding for TPROXYed datagrams (STUN/TURN on udp/3478,
 * udp/5349; QUIC on udp/443 decided by the SNI of its Initial).
 *
 * One struct sl_udp per worker: the TPROXY sockets it reads (one per
 * transparent listener, SO_REUSEPORT across workers), its session table
 * (udptab.h) and the aggregation of refused datagrams into one
 * flow.blocked per client, destination and interval.  Every call runs on
 * the worker's loop.  docs/design/udp.md.
 */
#ifndef SL_UDP_H
#define SL_UDP_H

#include <stdint.h>

#include "../lib/attr.h"

struct sl_udp;
struct sl_worker;
struct sl_wk_listener;

/* A worker's UDP state, or NULL (out of memory, logged). */
struct sl_udp	*sl_udp_new(struct sl_worker *wk) SL_NONNULL(1) SL_WUR;
/*
 * End every session (flow.end, term "A"), report what is aggregated, free.
 * Before the worker's DNS channel and loop go.  NULL-safe.
 */
void		 sl_udp_free(struct sl_udp *u);
/* Once a second: idle sessions end, aggregated refusals are reported. */
void		 sl_udp_sweep(struct sl_udp *u, uint64_t now) SL_NONNULL(1);

/* The read callback of a UDP listener (arg: its struct sl_wk_listener). */
void		 sl_udp_listen_cb(int fd, short what, void *arg);

#endif /* SL_UDP_H */
