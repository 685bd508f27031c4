/*
 * origdst.c — SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST / TPROXY.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* The kernel's option numbers (linux/netfilter_ipv4.h, ip6_tables.h);
 * those headers clash with glibc's netinet/in.h, so name them here. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST		80
#endif
#define SL_IP6T_SO_ORIGINAL_DST	80

#include "origdst.h"

int
sl_origdst(int fd, int tproxy, const struct sl_ip *peer, struct sl_ip *ip,
    uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (tproxy) {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			return -1;
	} else if (peer->af == AF_INET) {
		/* Also a v4 client on a [::] listener (peer was v4-mapped,
		 * canonicalised): conntrack has an IPv4 entry. */
		len = sizeof(struct sockaddr_in);
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) == -1)
			return -1;
	} else {
		len = sizeof(struct sockaddr_in6);
		if (getsockopt(fd, SOL_IPV6, SL_IP6T_SO_ORIGINAL_DST, &ss,
		    &len) == -1)
			return -1;
	}
	sl_ip_from_sa(ip, port, (struct sockaddr *)&ss);
	if (ip->af == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
}
