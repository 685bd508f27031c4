/*
 * upstream.c — non-blocking connect with a happy-eyeballs fallback.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "upstream.h"

#define UP_MAX_INFLIGHT	4	/* parallel attempts at most */

/*
 * The events live inside the request (assigned, not allocated): a
 * connection costs one allocation here, not four.
 */
struct up_attempt {
	int		 fd;		/* -1 when idle */
	int		 armed;		/* ev is added */
	struct event	 ev;		/* EV_WRITE: connect finished */
	struct sl_upstream *up;
	unsigned	 idx;		/* address index */
};

struct sl_upstream {
	struct event_base	*base;		/* borrowed */
	struct sl_ip		 addrs[SL_UPSTREAM_MAX_ADDRS];
	unsigned		 naddr;
	unsigned		 next;		/* next address to try */
	uint16_t		 port;
	struct sl_upstream_params p;
	struct up_attempt	 att[UP_MAX_INFLIGHT];
	struct event		 delay_ev;	/* start the next attempt */
	struct event		 timeout_ev;	/* give up */
	sl_upstream_cb		 cb;
	void			*arg;
	enum sl_upstream_err	 last;		/* most telling failure so far */
};

static void	up_start_next(struct sl_upstream *up);

static void
att_close(struct up_attempt *a)
{
	if (a->armed) {
		event_del(&a->ev);
		a->armed = 0;
	}
	if (a->fd != -1) {
		close(a->fd);
		a->fd = -1;
	}
}

static void
up_free(struct sl_upstream *up)
{
	for (unsigned i = 0; i < UP_MAX_INFLIGHT; i++)
		att_close(&up->att[i]);
	event_del(&up->delay_ev);
	event_del(&up->timeout_ev);
	sl_free(up);
}

void
sl_upstream_cancel(struct sl_upstream *up)
{
	if (up != NULL)
		up_free(up);
}

static void
up_finish(struct sl_upstream *up, int fd, enum sl_upstream_err err,
    const struct sl_ip *addr)
{
	sl_upstream_cb cb = up->cb;
	void *arg = up->arg;
	struct sl_ip won;

	if (addr != NULL)
		won = *addr;
	up_free(up);
	cb(arg, fd, err, addr != NULL ? &won : NULL);
}

static int
up_inflight(const struct sl_upstream *up)
{
	int n = 0;

	for (unsigned i = 0; i < UP_MAX_INFLIGHT; i++)
		n += up->att[i].fd != -1;
	return n;
}

static enum sl_upstream_err
up_classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return SL_UP_REFUSED;
	case ETIMEDOUT:
		return SL_UP_TIMEOUT;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return SL_UP_RESOURCE;
	default:
		return SL_UP_UNREACHABLE;
	}
}

/* An attempt failed: record why, and move on or give up. */
static void
up_attempt_failed(struct sl_upstream *up, struct up_attempt *a, int err)
{
	char buf[SL_ADDR_STRLEN];

	sl_debug(SL_CAT_FLOW, "upstream: %s: %s",
	    sl_ipport_fmt(&up->addrs[a->idx], up->port, buf, sizeof(buf)),
	    strerror(err));
	att_close(a);
	/* Refused is the most telling answer; keep it over others. */
	if (up->last != SL_UP_REFUSED)
		up->last = up_classify(err);
	if (up->next < up->naddr) {
		up_start_next(up);
		return;
	}
	if (up_inflight(up) == 0)
		up_finish(up, -1, up->last, NULL);
}

static void
up_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_attempt *a = arg;
	struct sl_upstream *up = a->up;
	int err = 0;
	socklen_t len = sizeof(err);

	/*
	 * The attempt watches reading too: a failed connect (RST, ICMP
	 * error) raises EPOLLERR, which libevent reports as EV_READ|EV_WRITE,
	 * while a completed handshake is a plain EV_WRITE.  So SO_ERROR is
	 * only read when it can say something: one syscall less per
	 * connection.  (A server that spoke or closed at once also shows
	 * EV_READ; SO_ERROR is then 0: connected.)
	 */
	if (what != EV_WRITE &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		up_attempt_failed(up, a, err);
		return;
	}
	/* Won: hand the fd over, close the rest. */
	{
		int won = a->fd;
		struct sl_ip addr = up->addrs[a->idx];

		a->fd = -1;
		up_finish(up, won, SL_UP_OK, &addr);
	}
}

static void
up_start_next(struct sl_upstream *up)
{
	struct sockaddr_storage ss;
	struct up_attempt *a = NULL;
	socklen_t sslen;
	unsigned idx;
	int fd, one = 1;

	if (up->next >= up->naddr)
		return;
	for (unsigned i = 0; i < UP_MAX_INFLIGHT; i++)
		if (up->att[i].fd == -1) {
			a = &up->att[i];
			break;
		}
	if (a == NULL) {
		/*
		 * Every slot waits on an address that has not answered for a
		 * few delays: give up the oldest (it counts as timed out) so
		 * that later addresses still get their turn.
		 */
		a = &up->att[0];
		for (unsigned i = 1; i < UP_MAX_INFLIGHT; i++)
			if (up->att[i].idx < a->idx)
				a = &up->att[i];
		att_close(a);
		if (up->last != SL_UP_REFUSED)
			up->last = SL_UP_TIMEOUT;
	}
	idx = up->next++;
	sslen = sl_ip_to_sa(&up->addrs[idx], up->port, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd == -1) {
		a->idx = idx;
		up_attempt_failed(up, a, errno);
		return;
	}
	a->fd = fd;
	a->idx = idx;
	a->up = up;
	/* Small relayed messages (64-byte echoes, TLS records) must not wait
	 * for Nagle; bulk is unaffected as splice fills segments anyway. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (up->p.so_mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK,
	    &up->p.so_mark, sizeof(up->p.so_mark)) == -1)
		sl_log(SL_LOG_WARN, "upstream: cannot set SO_MARK %u: %s",
		    up->p.so_mark, strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS) {
		up_attempt_failed(up, a, errno);
		return;
	}
	if (event_assign(&a->ev, up->base, fd, EV_WRITE | EV_READ,
	    up_write_cb, a) == -1 || event_add(&a->ev, NULL) == -1) {
		up_attempt_failed(up, a, ENOMEM);
		return;
	}
	a->armed = 1;
	/* Arm the fallback: the next address starts after the delay. */
	if (up->next < up->naddr) {
		struct timeval tv = { up->p.delay_ms / 1000,
		    (up->p.delay_ms % 1000) * 1000 };

		evtimer_add(&up->delay_ev, &tv);
	}
}

static void
up_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	up_start_next(arg);
}

static void
up_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	up_finish(arg, -1, SL_UP_TIMEOUT, NULL);
}

struct sl_upstream *
sl_upstream_connect(struct event_base *base, const struct sl_ip *addrs,
    unsigned naddr, uint16_t port, const struct sl_upstream_params *p,
    sl_upstream_cb cb, void *arg)
{
	struct sl_upstream *up;
	struct timeval tv;

	if (naddr == 0 || (up = sl_calloc(1, sizeof(*up))) == NULL)
		return NULL;
	for (unsigned i = 0; i < UP_MAX_INFLIGHT; i++)
		up->att[i].fd = -1;
	up->base = base;
	up->naddr = SL_MIN(naddr, SL_UPSTREAM_MAX_ADDRS);
	memcpy(up->addrs, addrs, up->naddr * sizeof(*addrs));
	up->port = port;
	up->p = *p;
	up->cb = cb;
	up->arg = arg;
	up->last = SL_UP_UNREACHABLE;
	evtimer_assign(&up->delay_ev, base, up_delay_cb, up);
	evtimer_assign(&up->timeout_ev, base, up_timeout_cb, up);
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	evtimer_add(&up->timeout_ev, &tv);
	/*
	 * The first attempt may fail synchronously for every address (no
	 * route): that would call cb before we return.  Start it from the
	 * loop instead so the caller always holds the handle first.
	 */
	event_active(&up->delay_ev, EV_TIMEOUT, 0);
	return up;
}

const char *
sl_upstream_err_str(enum sl_upstream_err err)
{
	switch (err) {
	case SL_UP_OK:
		return "ok";
	case SL_UP_REFUSED:
		return "connect_refused";
	case SL_UP_UNREACHABLE:
		return "unreachable";
	case SL_UP_TIMEOUT:
		return "connect_timeout";
	case SL_UP_RESOURCE:
		return "resource";
	}
	return "?";
}
