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

#endif /* SL_LISTEN_H */
