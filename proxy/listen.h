/*
 * listen.h — listening sockets, opened by the main thread before it drops
 * privileges: one per listener per worker, with SO_REUSEPORT.
 */
#ifndef SL_LISTEN_H
#define SL_LISTEN_H

#include "../lib/attr.h"

struct sl_listen;

/* Open, bind and listen; -1 with the reason logged. */
int	sl_listen_open(const struct sl_listen *l) SL_NONNULL(1) SL_WUR;

/*
 * Does another socket listen on l's address?  Binds (and closes) a socket
 * like sl_listen_open()'s but without SO_REUSEPORT: 1 if the address is
 * in use (by another process: we bind nothing before this), 0 if free,
 * -1 if the probe could not tell (errno set; sl_listen_open() will then
 * report).  Logs nothing.
 */
int	sl_listen_probe(const struct sl_listen *l) SL_NONNULL(1) SL_WUR;

/*
 * Open and bind the UDP socket of a transparent or tproxy listener (its
 * address and port), for TPROXYed datagrams: -1 with the reason logged.
 */
int	sl_listen_open_udp(const struct sl_listen *l) SL_NONNULL(1) SL_WUR;

/* Kinds handed to a worker: a listener's kind, or it with this bit for
   its UDP socket (worker.h). */
#define SL_LISTEN_UDP_BIT	0x100

#endif /* SL_LISTEN_H */
