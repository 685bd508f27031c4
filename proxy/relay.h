/*
 * relay.h — the one relay: bytes pass both ways between a flow's two
 * halves until both directions have ended.
 *
 * Whatever the transports, the rules are the same: a side's FIN is passed
 * on (shutdown SHUT_WR) once everything it sent has been written to the
 * other side, and the flow ends when both directions have ended; when a
 * destination cannot take more, reading its source stops until it drains
 * (backpressure: a pipe's capacity for splice, relay-buffer bytes for
 * buffers); idle-timeout applies (sl_flow_sweep); `up` and `down` count
 * bytes written to the destination; the first side to end names the
 * termination code ("CR", "SR"), a socket error blames its side.
 *
 * Two engines carry that out:
 *   splice  both halves RAW: socket -> pipe -> socket with splice(2);
 *   copy    otherwise: both halves buffered (a RAW half is made BUF in
 *           place), evbuffer to evbuffer, no byte copied twice.
 */
#ifndef SL_RELAY_H
#define SL_RELAY_H

#include <stddef.h>

#include "../lib/attr.h"

struct sl_flow;

/*
 * Relay between flow->cli and flow->srv.  pre_up bytes (already read from
 * the client: early data, a peeked ClientHello) go to the server first,
 * pre_down to the client first; both are copied.  A half that already saw
 * its peer's FIN (eof set) is passed on as such.  Returns 0, or -1 after
 * closing the flow.
 */
int	sl_relay_start(struct sl_flow *flow, const char *pre_up, size_t nup,
	    const char *pre_down, size_t ndown) SL_NONNULL(1);

#endif /* SL_RELAY_H */
