/*
 * udp_relay.c — the minimal batched UDP relay of the UDP forwarding
 * benchmark (issue 14): the floor a userspace forwarder can reach.
 *
 *   udp_relay -l ADDR:PORT -u ADDR:PORT [-T SECS]
 *
 * Datagrams to -l are forwarded to -u and the answers back.  Each client
 * (source address and port) gets two sockets, as a session of sluiced
 * does: one bound to -l too (SO_REUSEADDR) and connected to the client,
 * where the kernel then puts that client's datagrams (a connected socket
 * wins the lookup; socat's fork children do the same), and one connected
 * to -u.  So every client has a receive queue of its own, as in sluiced
 * and socat.  The listener sees only a client's first datagrams.  One
 * epoll loop, level-triggered, recvmmsg up to 64 datagrams a call (at
 * most 4 calls per wakeup and socket), one sendmmsg per batch (per run of
 * one client's datagrams on the listener).  No policy, no idle timeout,
 * no logging; at most 64 clients (the rest are dropped).
 * Socket buffers are the system's defaults, as sluiced's are: the floor
 * is the forwarding work, not a larger queue to absorb bursts in.
 * Runs until SIGTERM or -T seconds (default 600).
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "tests/tools/tools.h"

#define UR_BATCH	64
#define UR_CALLS	4		/* recvmmsg calls per wakeup and socket */
#define UR_CLIENTS	64
#define UR_BUFSZ	2048
#define UR_LISTENER	UINT32_MAX	/* epoll data of the listening socket */

/* epoll data: client index * 2, + 1 for its upstream socket. */
struct ur_client {
	struct sockaddr_storage	 addr;
	socklen_t		 len;
	int			 cfd;	/* bound to -l, connected to the client */
	int			 ufd;	/* connected to the upstream */
};

struct ur {
	int			 lfd, ep;
	struct sockaddr_storage	 lis, up;
	socklen_t		 lislen;
	socklen_t		 uplen;
	unsigned int		 n;
	struct ur_client	 cl[UR_CLIENTS];
	uint8_t			 bufs[UR_BATCH][UR_BUFSZ];
	struct sockaddr_storage	 from[UR_BATCH];
	struct iovec		 iov[UR_BATCH];
	struct mmsghdr		 m[UR_BATCH];
};

/* A UDP socket connected to to (bound to bind first, if not NULL). */
static int
ur_sock(struct ur *r, const struct sockaddr_storage *bind_to, socklen_t blen,
    const struct sockaddr_storage *to, socklen_t tlen, uint32_t tag)
{
	struct epoll_event ev;
	int fd, one = 1;

	fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	ev.events = EPOLLIN;
	ev.data.u32 = tag;
	if ((bind_to != NULL && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (const struct sockaddr *)bind_to,
	    blen) == -1)) ||
	    connect(fd, (const struct sockaddr *)to, tlen) == -1 ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The client's index, a new one for a new client, or -1 when full. */
static int
ur_client(struct ur *r, const struct sockaddr_storage *a, socklen_t len)
{
	struct ur_client *c;

	for (unsigned int i = 0; i < r->n; i++)
		if (r->cl[i].len == len && memcmp(&r->cl[i].addr, a, len) == 0)
			return (int)i;
	if (r->n == UR_CLIENTS)
		return -1;
	c = &r->cl[r->n];
	c->ufd = ur_sock(r, NULL, 0, &r->up, r->uplen, r->n * 2 + 1);
	if (c->ufd == -1)
		return -1;
	c->cfd = ur_sock(r, &r->lis, r->lislen, a, len, r->n * 2);
	if (c->cfd == -1) {
		close(c->ufd);
		return -1;
	}
	memcpy(&c->addr, a, len);
	c->len = len;
	return (int)r->n++;
}

static int
ur_recv(struct ur *r, int fd)
{
	for (int i = 0; i < UR_BATCH; i++) {
		r->iov[i].iov_base = r->bufs[i];
		r->iov[i].iov_len = UR_BUFSZ;
		memset(&r->m[i].msg_hdr, 0, sizeof(r->m[i].msg_hdr));
		r->m[i].msg_hdr.msg_iov = &r->iov[i];
		r->m[i].msg_hdr.msg_iovlen = 1;
		r->m[i].msg_hdr.msg_name = &r->from[i];
		r->m[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
	}
	return recvmmsg(fd, r->m, UR_BATCH, MSG_DONTWAIT, NULL);
}

/* Client to server: runs of one client's datagrams, one sendmmsg each. */
static int
ur_up(struct ur *r)
{
	int n = ur_recv(r, r->lfd), i = 0;

	while (i < n) {
		int j = i + 1, c;

		while (j < n && r->m[j].msg_hdr.msg_namelen ==
		    r->m[i].msg_hdr.msg_namelen && memcmp(&r->from[j],
		    &r->from[i], r->m[i].msg_hdr.msg_namelen) == 0)
			j++;
		c = ur_client(r, &r->from[i], r->m[i].msg_hdr.msg_namelen);
		if (c >= 0) {
			for (int k = i; k < j; k++) {
				r->iov[k].iov_len = r->m[k].msg_len;
				r->m[k].msg_hdr.msg_name = NULL;
				r->m[k].msg_hdr.msg_namelen = 0;
			}
			(void)sendmmsg(r->cl[c].ufd, &r->m[i],
			    (unsigned int)(j - i), MSG_DONTWAIT);
		}
		i = j;
	}
	return n;
}

/* A client's socket (to its upstream) or upstream socket (to its client). */
static int
ur_pass(struct ur *r, uint32_t tag)
{
	const struct ur_client *c = &r->cl[tag / 2];
	int from = tag % 2 ? c->ufd : c->cfd, to = tag % 2 ? c->cfd : c->ufd;
	int n = ur_recv(r, from);

	for (int k = 0; k < n; k++) {
		r->iov[k].iov_len = r->m[k].msg_len;
		r->m[k].msg_hdr.msg_name = NULL;
		r->m[k].msg_hdr.msg_namelen = 0;
	}
	if (n > 0)
		(void)sendmmsg(to, r->m, (unsigned int)n, MSG_DONTWAIT);
	return n;
}

static int
ur_open(struct ur *r, const char *listen, const char *up)
{
	struct epoll_event ev;
	int one = 1;

	if (tools_endpoint(listen, &r->lis, &r->lislen) == -1 ||
	    tools_endpoint(up, &r->up, &r->uplen) == -1) {
		fprintf(stderr, "udp_relay: bad endpoint\n");
		return -1;
	}
	r->lfd = socket(r->lis.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (r->lfd == -1 || (r->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	(void)setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(r->lfd, (struct sockaddr *)&r->lis, r->lislen) == -1) {
		fprintf(stderr, "udp_relay: bind %s: %s\n", listen,
		    strerror(errno));
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = UR_LISTENER;
	return epoll_ctl(r->ep, EPOLL_CTL_ADD, r->lfd, &ev);
}

int
main(int argc, char **argv)
{
	static struct ur r;
	const char *listen = NULL, *up = NULL;
	struct epoll_event ev[2 * UR_CLIENTS + 1];
	double limit = 600;
	uint64_t deadline;
	int c;

	while ((c = getopt(argc, argv, "l:u:T:")) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'u': up = optarg; break;
		case 'T': limit = strtod(optarg, NULL); break;
		default: listen = NULL; break;
		}
	}
	if (listen == NULL || up == NULL || limit <= 0) {
		fprintf(stderr, "usage: udp_relay -l ADDR:PORT -u ADDR:PORT "
		    "[-T SECS]\n");
		return 2;
	}
	if (ur_open(&r, listen, up) == -1)
		return 2;
	deadline = tools_now_ns() + (uint64_t)(limit * 1e9);
	while (tools_now_ns() < deadline) {
		int ne = epoll_wait(r.ep, ev, 2 * UR_CLIENTS + 1, 500);

		for (int e = 0; e < ne; e++) {
			uint32_t who = ev[e].data.u32;

			for (int k = 0; k < UR_CALLS; k++) {
				int n = who == UR_LISTENER ? ur_up(&r) :
				    ur_pass(&r, who);

				if (n < UR_BATCH)
					break;
			}
		}
	}
	return 0;
}
