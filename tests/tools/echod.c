/*
 * echod.c — the servers behind the proxies in `make bench`.
 *
 *   echod [-a ADDR] [-T SECS] MODE:PORT...
 *
 *   echo    writes back what it reads (connection rate, idle tunnels,
 *           round trips)
 *   source  reads a request, then sends the bytes it asks for and
 *           half-closes; the request is an optional run of TLS records
 *           (a ClientHello, so that SNI-routing proxies can route the
 *           connection) followed by an 8-byte big-endian count N;
 *           N = 2^64-1 streams until the peer goes away.  A count must be
 *           below 2^56 (its first byte is never 0x16, a TLS record's)
 *   sink    discards what it reads; at end of stream it answers the count
 *           of bytes it read as 8 bytes big-endian, then closes
 *
 * One thread and epoll.  Payload goes out with sendfile(2) from a memfd and
 * is discarded with recv(MSG_TRUNC), so the server copies no payload bytes
 * and costs far less than the proxy being measured.  Prints "echod ready"
 * once every port listens; runs until SIGTERM, SIGINT or -T seconds
 * (default 3600).
 */
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/alloc.h"
#include "tests/tools/tools.h"

#define ECHOD_MAXLSN	32
#define ECHOD_ECHOBUF	4096
#define ECHOD_BACKLOG	4096
#define ECHOD_NEVENTS	256
#define ECHOD_FOREVER	UINT64_MAX

enum srv_mode {
	SRV_ECHO = 0,
	SRV_SOURCE,
	SRV_SINK,
};

enum srv_state {
	ST_ECHO = 0,		/* echo: read, write back */
	ST_HEAD,		/* source: reading records + count */
	ST_STREAM,		/* source: sending */
	ST_DRAIN,		/* source: sent all, waiting for EOF */
	ST_SINK,		/* sink: discarding */
};

/* What an epoll event points at: a listener or a connection. */
struct srv_obj {
	int		 fd;
	int		 is_lsn;
	enum srv_mode	 mode;
};

struct srv_conn {
	struct srv_obj	 o;		/* first: epoll data points here */
	enum srv_state	 st;
	uint32_t	 events;	/* current epoll interest */
	uint8_t		 hdr[8];	/* source: record header / count */
	size_t		 hdrlen;
	size_t		 skip;		/* source: record bytes to skip */
	uint64_t	 left;		/* source: bytes still to send */
	off_t		 off;		/* source: position in the memfd */
	uint64_t	 count;		/* sink: bytes read */
	size_t		 blen, boff;	/* echo: pending bytes in buf */
	char		 buf[];		/* echo only: ECHOD_ECHOBUF bytes */
};

struct srv {
	int		 ep;
	int		 memfd;
	int		 sigfd;
	struct srv_obj	 lsn[ECHOD_MAXLSN];
	size_t		 nlsn;
	uint64_t	 nconn;		/* open connections */
};

static void
srv_close(struct srv *s, struct srv_conn *c)
{
	close(c->o.fd);		/* also leaves the epoll set */
	sl_free(c);
	s->nconn--;
}

static int
srv_want(struct srv *s, struct srv_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 0;
	c->events = events;
	return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->o.fd, &ev);
}

/* Echo: flush what is pending; -1 when the connection is gone. */
static int
echo_flush(struct srv *s, struct srv_conn *c)
{
	ssize_t n;

	while (c->boff < c->blen) {
		n = write(c->o.fd, c->buf + c->boff, c->blen - c->boff);
		if (n == -1 && errno == EAGAIN)
			return srv_want(s, c, EPOLLOUT);
		if (n == -1) {
			srv_close(s, c);
			return -1;
		}
		c->boff += (size_t)n;
	}
	c->blen = c->boff = 0;
	return srv_want(s, c, EPOLLIN);
}

static void
echo_io(struct srv *s, struct srv_conn *c)
{
	ssize_t n;
	int i;

	/*
	 * Bounded so one busy peer cannot starve the others; every read is
	 * flushed before the next, so nothing is left behind when the loop
	 * ends (level-triggered EPOLLIN brings us back for more).
	 */
	for (i = 0; i < 16; i++) {
		n = read(c->o.fd, c->buf, ECHOD_ECHOBUF);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			srv_close(s, c);	/* EOF with nothing pending */
			return;
		}
		c->blen = (size_t)n;
		c->boff = 0;
		if (echo_flush(s, c) == -1 || c->blen > 0)
			return;			/* gone, or waiting for EPOLLOUT */
	}
}

/* Source: send until done or the socket is full. */
static void
source_stream(struct srv *s, struct srv_conn *c)
{
	size_t want;
	ssize_t n;
	int i;

	for (i = 0; i < 64 && c->left > 0; i++) {
		if (c->off >= (off_t)TOOLS_MEMFD_SIZE)
			c->off = 0;
		want = TOOLS_MEMFD_SIZE - (size_t)c->off;
		if (want > TOOLS_CHUNK)
			want = TOOLS_CHUNK;
		if (c->left < want)
			want = (size_t)c->left;
		n = sendfile(c->o.fd, s->memfd, &c->off, want);
		if (n == -1 && errno == EAGAIN) {
			(void)srv_want(s, c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			srv_close(s, c);	/* peer gone (N = forever) */
			return;
		}
		if (c->left != ECHOD_FOREVER)
			c->left -= (uint64_t)n;
	}
	if (c->left > 0)
		return;		/* yielded to other connections; EPOLLOUT stays */
	/* All sent: half-close so the reader sees the end, wait for its. */
	(void)shutdown(c->o.fd, SHUT_WR);
	c->st = ST_DRAIN;
	(void)srv_want(s, c, EPOLLIN);
}

/*
 * Source: consume the request bytes.  Returns 1 when the count is complete
 * (bytes after it are ignored), 0 when more are needed.
 */
static int
source_head_bytes(struct srv_conn *c, const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if (c->skip > 0) {
			k = SL_MIN(c->skip, n - i);
			c->skip -= k;
			i += k;
			continue;
		}
		c->hdr[c->hdrlen++] = p[i++];
		if (c->hdr[0] == 0x16) {	/* a TLS record header */
			if (c->hdrlen == 5) {
				c->skip = (size_t)c->hdr[3] << 8 | c->hdr[4];
				c->hdrlen = 0;
			}
			continue;
		}
		if (c->hdrlen == 8) {
			c->left = tools_be64_get(c->hdr);
			return 1;
		}
	}
	return 0;
}

static void
source_head(struct srv *s, struct srv_conn *c)
{
	uint8_t tmp[2048];
	ssize_t n;

	for (;;) {
		n = read(c->o.fd, tmp, sizeof(tmp));
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			srv_close(s, c);
			return;
		}
		if (source_head_bytes(c, tmp, (size_t)n)) {
			c->st = ST_STREAM;
			(void)srv_want(s, c, EPOLLOUT);
			source_stream(s, c);
			return;
		}
	}
}

/*
 * Read and drop everything available; returns 0 at EOF, -1 on error, 1 if
 * the socket is drained for now (no copy: tools_discard).
 */
static int
discard(struct srv_conn *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		n = tools_discard(c->o.fd, TOOLS_CHUNK);
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		c->count += (uint64_t)n;
	}
	return 1;
}

static void
sink_io(struct srv *s, struct srv_conn *c)
{
	uint8_t ack[8];
	int rc = discard(c);

	if (rc == 1)
		return;
	if (rc == 0) {
		/* 8 bytes into an empty send buffer cannot block. */
		tools_be64_put(ack, c->count);
		if (write(c->o.fd, ack, sizeof(ack)) != (ssize_t)sizeof(ack))
			fprintf(stderr, "echod: sink: short ack write\n");
	}
	srv_close(s, c);
}

static void
conn_io(struct srv *s, struct srv_conn *c, uint32_t events)
{
	switch (c->st) {
	case ST_ECHO:
		if (c->blen > 0) {
			if (echo_flush(s, c) == -1 || c->blen > 0)
				return;
		}
		echo_io(s, c);
		break;
	case ST_HEAD:
		source_head(s, c);
		break;
	case ST_STREAM:
		if (events & (EPOLLERR | EPOLLHUP)) {
			srv_close(s, c);
			return;
		}
		source_stream(s, c);
		break;
	case ST_DRAIN:
		if (discard(c) != 1)
			srv_close(s, c);
		break;
	case ST_SINK:
		sink_io(s, c);
		break;
	}
}

static struct srv_conn *
conn_new(enum srv_mode mode, int fd)
{
	size_t extra = mode == SRV_ECHO ? ECHOD_ECHOBUF : 0;
	struct srv_conn *c;

	if ((c = sl_calloc(1, sizeof(*c) + extra)) == NULL)
		return NULL;
	c->o.fd = fd;
	c->o.mode = mode;
	c->st = mode == SRV_ECHO ? ST_ECHO :
	    mode == SRV_SOURCE ? ST_HEAD : ST_SINK;
	c->events = EPOLLIN;
	return c;
}

static void
srv_accept(struct srv *s, struct srv_obj *l)
{
	struct epoll_event ev;
	struct srv_conn *c;
	int fd, one = 1, i;

	for (i = 0; i < 256; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != ECONNABORTED)
				perror("echod: accept");
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((c = conn_new(l->mode, fd)) == NULL) {
			close(fd);
			continue;
		}
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			sl_free(c);
			continue;
		}
		s->nconn++;
	}
}

static int
srv_listen(struct srv *s, const char *addr, const char *spec)
{
	static const char *const names[] = { "echo", "source", "sink" };
	struct sockaddr_storage ss;
	struct epoll_event ev;
	struct srv_obj *l;
	const char *colon = strchr(spec, ':');
	char ep[SL_ADDR_STRLEN + 8];
	socklen_t len;
	size_t m;
	int one = 1;

	if (colon == NULL || s->nlsn == ECHOD_MAXLSN)
		return -1;
	for (m = 0; m < SL_NELEM(names); m++)
		if (strlen(names[m]) == (size_t)(colon - spec) &&
		    strncmp(spec, names[m], (size_t)(colon - spec)) == 0)
			break;
	if (m == SL_NELEM(names))
		return -1;
	snprintf(ep, sizeof(ep), strchr(addr, ':') ? "[%s]:%s" : "%s:%s",
	    addr, colon + 1);
	if (tools_endpoint(ep, &ss, &len) == -1)
		return -1;
	l = &s->lsn[s->nlsn];
	l->is_lsn = 1;
	l->mode = (enum srv_mode)m;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (l->fd == -1)
		return -1;
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(l->fd, ECHOD_BACKLOG) == -1) {
		fprintf(stderr, "echod: %s: %s\n", ep, strerror(errno));
		close(l->fd);
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = l;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, l->fd, &ev) == -1)
		return -1;
	s->nlsn++;
	return 0;
}

static int
srv_setup(struct srv *s)
{
	struct epoll_event ev;
	sigset_t set;

	tools_raise_nofile();
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((s->memfd = tools_payload_memfd()) == -1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Signals arrive as reads on a signalfd: no handler, no global. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (s->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sigfd, &ev);
}

static void
srv_run(struct srv *s, uint64_t deadline_us)
{
	struct epoll_event evs[ECHOD_NEVENTS];
	struct srv_obj *o;
	int i, n;

	while (sl_mono_us() < deadline_us) {
		n = epoll_wait(s->ep, evs, ECHOD_NEVENTS, 1000);
		if (n == -1 && errno != EINTR) {
			perror("echod: epoll_wait");
			return;
		}
		for (i = 0; i < n; i++) {
			if ((o = evs[i].data.ptr) == NULL)
				return;		/* SIGTERM or SIGINT */
			if (o->is_lsn)
				srv_accept(s, o);
			else
				conn_io(s, (struct srv_conn *)o,
				    evs[i].events);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: echod [-a ADDR] [-T SECS] "
	    "echo|source|sink:PORT...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct srv s;
	const char *addr = "127.0.0.1";
	unsigned long secs = 3600;
	int ch, i;

	while ((ch = getopt(argc, argv, "a:T:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'T':
			secs = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind == argc || secs == 0)
		usage();
	memset(&s, 0, sizeof(s));
	if (srv_setup(&s) == -1) {
		perror("echod: setup");
		return 1;
	}
	for (i = optind; i < argc; i++) {
		if (srv_listen(&s, addr, argv[i]) == -1) {
			fprintf(stderr, "echod: cannot listen on '%s'\n",
			    argv[i]);
			return 1;
		}
	}
	printf("echod ready\n");
	fflush(stdout);
	srv_run(&s, sl_mono_us() + (uint64_t)secs * 1000000);
	return 0;
}
