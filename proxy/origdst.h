/*
 * origdst.h — where a transparent client meant to go.
 */
#ifndef SL_ORIGDST_H
#define SL_ORIGDST_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"

/*
 * The original destination of an accepted transparent connection: with
 * an nftables redirect, conntrack's pre-NAT destination (SO_ORIGINAL_DST,
 * IP6T_SO_ORIGINAL_DST, chosen by the family of the client's address peer);
 * with TPROXY (tproxy != 0), the socket's own local address.  Returns 0 or
 * -1 (errno set).
 */
int	sl_origdst(int fd, int tproxy, const struct sl_ip *peer,
	    struct sl_ip *ip, uint16_t *port) SL_NONNULL(3, 4, 5);

#endif /* SL_ORIGDST_H */
