/*
 * listen.c — listening sockets.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../policy/config.h"
#include "listen.h"

#define LISTEN_BACKLOG	4096

/*
 * A socket of type (SOCK_STREAM, or SOCK_DGRAM for the UDP side of a
 * transparent listener) for l with the options that must precede bind():
 * SO_REUSEADDR, SO_REUSEPORT if reuseport, the IPv6 family setting and,
 * for TPROXY (UDP is always TPROXYed), IP_TRANSPARENT.  -1 with errno,
 * *what naming the step.
 */
static int
listen_socket(const struct sl_listen *l, int type, int reuseport,
    const char **what)
{
	int fd, one = 1, zero = 0, e;

	*what = "socket";
	fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP);
	if (fd == -1)
		return -1;
	*what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1))
		goto fail;
	/* "*:port" is [::] serving both families; "[::1]" only IPv6. */
	if (l->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&l->addr;
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    v6only ? &one : &zero, sizeof(int)) == -1)
			goto fail;
	}
	/*
	 * TPROXY: accept connections addressed to any destination.  An IPv6
	 * socket may also take IPv4 (v4-mapped) flows: it needs both.
	 */
	if (l->kind == SL_LISTEN_TPROXY || type == SOCK_DGRAM) {
		*what = "IP_TRANSPARENT (needs CAP_NET_ADMIN)";
		if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one,
		    sizeof(one)) == -1)
			goto fail;
		if (l->addr.ss_family == AF_INET6 && setsockopt(fd, SOL_IPV6,
		    IPV6_TRANSPARENT, &one, sizeof(one)) == -1)
			goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
sl_listen_open(const struct sl_listen *l)
{
	char name[SL_ADDR_STRLEN];
	int fd, one = 1;
	const char *what;

	sl_sa_fmt((const struct sockaddr *)&l->addr, name, sizeof(name));
	if ((fd = listen_socket(l, SOCK_STREAM, 1, &what)) == -1)
		goto fail;
	what = "setsockopt";
	/* Accepted sockets inherit it: one syscall per listener, not per
	 * flow.  Relayed small messages must not wait for Nagle. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		goto fail;
	/*
	 * HTTP clients always speak first: the kernel hands us the
	 * connection with its request already there, which saves a wakeup
	 * per flow.  Never on transparent listeners (server-first protocols).
	 */
	if (l->kind == SL_LISTEN_EXPLICIT) {
		int secs = 10;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
		    sizeof(secs));
	}
	what = "bind";
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		goto fail;
	what = "listen";
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	sl_log(SL_LOG_ERR, "listen %s: %s: %s", name, what, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Linux lets a SO_REUSEPORT socket of the same user join another's
 * listening address, so a second sluiced would take part of the first
 * one's connections.  A socket without SO_REUSEPORT cannot bind while any
 * socket listens on the address, a wildcard or dual-stack one included
 * (EADDRINUSE); SO_REUSEADDR keeps the connections of an instance that
 * just exited (TIME_WAIT) from counting.
 */
int
sl_listen_probe(const struct sl_listen *l)
{
	const char *what;
	int fd, rc = 0;

	if ((fd = listen_socket(l, SOCK_STREAM, 0, &what)) == -1)
		return -1;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		rc = errno == EADDRINUSE ? 1 : -1;
	close(fd);
	return rc;
}

/*
 * The UDP socket of a transparent listener: nftables TPROXYs the
 * transparent-udp-ports to the listener's address and port, protocol UDP
 * (`sluicectl nft`).  IP_TRANSPARENT to receive datagrams addressed
 * elsewhere, IP_RECVORIGDSTADDR for where they were going (an IPv6
 * socket also takes IPv4 ones: it asks for both), SO_REUSEPORT so that
 * every worker has one: the kernel picks one by the datagram's addresses,
 * so a client's datagrams reach the same worker.
 */
int
sl_listen_open_udp(const struct sl_listen *l)
{
	char name[SL_ADDR_STRLEN];
	int fd, one = 1;
	const char *what;

	sl_sa_fmt((const struct sockaddr *)&l->addr, name, sizeof(name));
	if ((fd = listen_socket(l, SOCK_DGRAM, 1, &what)) == -1)
		goto fail;
	what = "IPV6_RECVORIGDSTADDR";
	if (l->addr.ss_family == AF_INET6 && setsockopt(fd, SOL_IPV6,
	    IPV6_RECVORIGDSTADDR, &one, sizeof(one)) == -1)
		goto fail;
	what = "IP_RECVORIGDSTADDR";
	if (setsockopt(fd, SOL_IP, IP_RECVORIGDSTADDR, &one,
	    sizeof(one)) == -1)
		goto fail;
	what = "bind";
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		goto fail;
	return fd;
fail:
	sl_log(SL_LOG_ERR, "listen udp %s: %s: %s", name, what,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}
