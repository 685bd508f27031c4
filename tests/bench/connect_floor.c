/*
 * connect_floor.c — the least a CONNECT proxy, or a transparent proxy
 * that reads the client's first message before connecting, can do per
 * tunnel: a reference for `make bench` (a measuring instrument, not a
 * product).
 *
 *   connect_floor -l PORT [-t] [-T SECS]
 *
 * Listens on 127.0.0.1:PORT.  Per tunnel it makes only the syscalls no
 * CONNECT proxy can avoid: accept4 (TCP_DEFER_ACCEPT, so the request is
 * there), one recv, socket, TCP_NODELAY, connect, one edge-triggered
 * epoll_ctl ADD per socket and never a MOD or DEL, the 200, a splice pair
 * per message through one shared pipe, shutdown on EOF, two closes.  No
 * policy, no DNS (IPv4 literals only), no log, no timeouts, no limits, no
 * event library.  The benchmark's `cps` figure runs it beside sluiced:
 * what it costs is the kernel's share of a CONNECT tunnel, which no
 * implementation can go below, and the gap to it is sluiced's own cost.
 *
 * With -t it is the same for redirected flows, as `t_cps` measures them:
 * accept4, SO_ORIGINAL_DST, an ADD, one recv of the first message (a
 * ClientHello in the benchmark, not parsed: the parse is user-space work
 * that costs next to nothing), then connect to the original destination
 * and send that message there; half-close is propagated as above.
 *
 * Assumes the benchmark's traffic: the client sends nothing before the
 * 200 (or sends its first message in one segment, -t) and a message fits
 * the pipe in one go; anything else closes the tunnel.  Exits after SECS
 * seconds (default 3600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FL_EVENTS	128
#define FL_MSG		65536
#define FL_FIRST	2048		/* -t: the first message, at most */

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST	80		/* linux/netfilter_ipv4.h */
#endif

struct fl_tun;

/* One per socket: what epoll hands back. */
struct fl_end {
	struct fl_tun	*t;
	int		 srv;
};

struct fl_tun {
	int		 cfd, sfd;
	int		 connected, ceof, seof, dead;
	struct sockaddr_in dst;		/* -t: the original destination */
	char		*first;		/* -t: the client's first message */
	size_t		 nfirst;
	struct fl_end	 ce, se;
	struct fl_tun	*next_dead;
};

struct fl {
	int		 ep, lfd, pipe[2];
	int		 transparent;
	struct fl_tun	*dead;		/* freed after each batch */
};

static const char fl_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static void
fl_kill(struct fl *fl, struct fl_tun *t)
{
	if (t->dead)
		return;
	/* close() takes the sockets out of epoll: no DEL needed. */
	close(t->cfd);
	if (t->sfd != -1)
		close(t->sfd);
	t->dead = 1;
	t->next_dead = fl->dead;
	fl->dead = t;
}

/*
 * Move what src has to dst through the shared pipe; -1 on error.  A short
 * read took all there was, and with edge triggering any byte arriving
 * later raises a new event: no read to EAGAIN is needed.  EOF becomes
 * shutdown(dst) unless the other way has ended too (close() says it).
 */
static int
fl_pump(struct fl *fl, int src, int dst, int *eof, int other_eof)
{
	for (;;) {
		ssize_t n = splice(src, NULL, fl->pipe[1], NULL, FL_MSG,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

		if (n == 0) {
			*eof = 1;
			return other_eof ? 0 : shutdown(dst, SHUT_WR);
		}
		if (n == -1)
			return errno == EAGAIN ? 0 : -1;
		if (splice(fl->pipe[0], NULL, dst, NULL, (size_t)n,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE) != n)
			return -1;	/* the pipe would keep bytes: give up */
		if (n < FL_MSG)
			return 0;
	}
}

/* "CONNECT a.b.c.d:port HTTP/1.1\r\n..." -> address; -1 if not that. */
static int
fl_parse(char *req, struct sockaddr_in *sin)
{
	char *host = req + 8, *colon;
	long port;

	if (strncmp(req, "CONNECT ", 8) != 0 ||
	    (colon = strchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return port > 0 && port < 65536 &&
	    inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* Open the server side towards t->dst; -1 (tunnel killed) on failure. */
static int
fl_connect(struct fl *fl, struct fl_tun *t)
{
	static const int one = 1;
	struct epoll_event ev;

	t->sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (t->sfd == -1) {
		fl_kill(fl, t);
		return -1;
	}
	(void)setsockopt(t->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(t->sfd, (struct sockaddr *)&t->dst, sizeof(t->dst)) == -1 &&
	    errno != EINPROGRESS) {
		fl_kill(fl, t);
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = &t->se;
	(void)epoll_ctl(fl->ep, EPOLL_CTL_ADD, t->sfd, &ev);
	return 0;
}

static void
fl_accept(struct fl *fl)
{
	for (;;) {
		char req[2048];
		struct epoll_event ev;
		struct fl_tun *t;
		socklen_t len = sizeof(t->dst);
		ssize_t n = 0;
		int fd = accept4(fl->lfd, NULL, NULL, SOCK_NONBLOCK);

		if (fd == -1)
			return;
		if (!fl->transparent)
			n = recv(fd, req, sizeof(req) - 1, 0);
		if ((t = calloc(1, sizeof(*t))) == NULL) {
			close(fd);
			continue;
		}
		t->cfd = fd;
		t->sfd = -1;
		t->ce.t = t->se.t = t;
		t->se.srv = 1;
		if (fl->transparent ?
		    getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &t->dst, &len) :
		    (n <= 0 || (req[n] = '\0', fl_parse(req, &t->dst)))) {
			fl_kill(fl, t);
			continue;
		}
		ev.events = EPOLLIN | EPOLLET;
		ev.data.ptr = &t->ce;
		(void)epoll_ctl(fl->ep, EPOLL_CTL_ADD, fd, &ev);
		/* -t waits for the first message before connecting. */
		if (!fl->transparent)
			(void)fl_connect(fl, t);
	}
}

/* -t: the client's first message, then the server side. */
static void
fl_first(struct fl *fl, struct fl_tun *t)
{
	ssize_t n;

	if ((t->first = malloc(FL_FIRST)) == NULL ||
	    (n = recv(t->cfd, t->first, FL_FIRST, 0)) <= 0) {
		fl_kill(fl, t);
		return;
	}
	t->nfirst = (size_t)n;
	(void)fl_connect(fl, t);
}

static void
fl_event(struct fl *fl, struct fl_end *e, uint32_t what)
{
	struct fl_tun *t = e->t;

	if (t->dead)
		return;
	if (t->sfd == -1) {
		if (!e->srv)
			fl_first(fl, t);
		return;
	}
	if (!t->connected) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!e->srv || !(what & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		/* Edge-triggered OUT may come with an error: check once. */
		if ((what & (EPOLLERR | EPOLLHUP)) &&
		    (getsockopt(t->sfd, SOL_SOCKET, SO_ERROR, &err, &len) ==
		    -1 || err != 0)) {
			fl_kill(fl, t);
			return;
		}
		t->connected = 1;
		/* The client waits for the 200 before it sends anything. */
		if (t->first != NULL ?
		    send(t->sfd, t->first, t->nfirst, MSG_NOSIGNAL) !=
		    (ssize_t)t->nfirst :
		    send(t->cfd, fl_200, sizeof(fl_200) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)(sizeof(fl_200) - 1))
			fl_kill(fl, t);
		return;
	}
	if (!(what & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;			/* an OUT edge: nothing is pending */
	if (!e->srv && !t->ceof &&
	    fl_pump(fl, t->cfd, t->sfd, &t->ceof, t->seof) == -1)
		fl_kill(fl, t);
	else if (e->srv && !t->seof &&
	    fl_pump(fl, t->sfd, t->cfd, &t->seof, t->ceof) == -1)
		fl_kill(fl, t);
	else if (t->ceof && t->seof)
		fl_kill(fl, t);
}

static int
fl_listen(struct fl *fl, int port)
{
	static const int one = 1;
	/* Like sluiced: transparent listeners serve server-first protocols
	 * too, which a deferred accept would hold back. */
	int defer = fl->transparent ? 0 : 10;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fl->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1 || setsockopt(fl->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    setsockopt(fl->lfd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 ||
	    setsockopt(fl->lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
	    sizeof(defer)) == -1 ||
	    bind(fl->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fl->lfd, 1024) == -1 ||
	    (fl->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    pipe2(fl->pipe, O_NONBLOCK | O_CLOEXEC) == -1 ||
	    epoll_ctl(fl->ep, EPOLL_CTL_ADD, fl->lfd, &ev) == -1) {
		perror("connect_floor: listen");
		return -1;
	}
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: connect_floor -l PORT [-t] [-T SECS]\n"
	    "  the least a CONNECT proxy can do per tunnel, on 127.0.0.1:PORT"
	    "\n  (a reference for make bench; IPv4 literals only)\n"
	    "  -t  transparent: redirected flows (SO_ORIGINAL_DST), connect "
	    "after\n      the client's first message\n");
}

int
main(int argc, char **argv)
{
	struct fl fl = { .ep = -1 };
	struct epoll_event evs[FL_EVENTS];
	int port = 0, c;
	long secs = 3600;
	time_t end;

	while ((c = getopt(argc, argv, "hl:tT:")) != -1) {
		switch (c) {
		case 'l':
			port = atoi(optarg);
			break;
		case 't':
			fl.transparent = 1;
			break;
		case 'T':
			secs = atol(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || secs <= 0) {
		usage(stderr);
		return 2;
	}
	if (fl_listen(&fl, port) == -1)
		return 1;
	printf("connect_floor ready on 127.0.0.1:%d\n", port);
	fflush(stdout);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		int n = epoll_wait(fl.ep, evs, FL_EVENTS, 1000);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				fl_accept(&fl);
			else
				fl_event(&fl, evs[i].data.ptr, evs[i].events);
		}
		while (fl.dead != NULL) {
			struct fl_tun *t = fl.dead;

			fl.dead = t->next_dead;
			free(t->first);
			free(t);
		}
	}
	return 0;
}
