/*
 * loadgen.c — the load generator of `make bench`.
 *
 *   loadgen bulk|cps|idle|rtt [-x PROXY] -d DEST[,DEST...] [options]
 *
 * A connection goes through an explicit proxy (-x ADDR:PORT: one
 * "CONNECT dest HTTP/1.1" each, destinations from -d in turn, "200" expected)
 * or, without -x, straight to a -d address (a TCP forwarder, or a port that
 * nftables redirects to a transparent proxy; -s binds the source address so
 * a redirect rule can single this traffic out).  The servers behind are
 * echod's (tests/tools/echod.c).
 *
 *   bulk  -t T tunnels at once, each moving -b BYTES: down from an echod
 *         "source" (default) or, with -u, up into an echod "sink".  All
 *         tunnels are opened first; the measured phase is the transfer.
 *   cps   a connection is: connect, CONNECT, send 64 bytes (or the -H
 *         ClientHello), read them back, close.  -c at a time until -n
 *         COUNT are done or -T seconds pass.
 *   idle  open -n N tunnels (-c at a time), check each with one 64-byte
 *         echo, measure, hold them -w seconds (SIGUSR1, SIGINT or the end
 *         of a piped stdin stop the hold early), close.
 *   rtt   -k K sequential 64-byte round trips on one tunnel: p50/p99/max.
 *
 * -H FILE sends a TLS ClientHello (hex text, '#' lines ignored) first: in
 * cps and rtt it is the echoed message, in bulk it precedes the request.
 * -p PID names the process under test: the utime+stime of it and its
 * descendants (/proc/PID/stat) is read around the measured phase; in idle
 * mode also VmRSS, RssAnon and open fds before, with all tunnels open and
 * after closing.  -C CORE also reads that core's busy time (/proc/stat),
 * which includes the network stack's softirq work there.  Every loop is bounded in count and time (-T, default
 * 10 s).  The result is one JSON object on stdout (-l LABEL is copied into
 * it); exit status 0 if nothing failed, 1 otherwise, 2 on usage errors.
 */
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/alloc.h"
#include "lib/jw.h"
#include "tests/tools/procstat.h"
#include "tests/tools/tools.h"

#define LG_MAXDEST	16
#define LG_MSG		64		/* echo message size */
#define LG_RBUF		1024		/* CONNECT response */
#define LG_HELLO_MAX	(64u << 10)
#define LG_OPEN_US	(5 * 1000000ull) /* per-connection setup bound */
#define LG_NEVENTS	256
#define LG_RTT_WARM	200		/* round trips not recorded */

enum lg_mode {
	LG_BULK = 0,
	LG_CPS,
	LG_IDLE,
	LG_RTT,
};

enum lg_state {
	S_FREE = 0,
	S_CONNECTING,
	S_REQ,			/* sending CONNECT */
	S_RESP,			/* reading the proxy's answer */
	S_PING,			/* sending the echo message */
	S_PONG,			/* reading it back */
	S_READY,		/* open; bulk and rtt continue from here */
	S_HOLD,			/* idle: open and verified */
	S_BULK_REQ,		/* sending hello + count (down) or hello (up) */
	S_BULK_DOWN,
	S_BULK_UP,
	S_BULK_ACK,		/* up: waiting for the sink's count */
	S_DONE,
};

/* What a step of the state machine waits for. */
enum lg_step {
	STEP_NEXT = 0,		/* state changed: run the next one now */
	STEP_IN,		/* wait until readable */
	STEP_OUT,		/* wait until writable */
	STEP_PARK,		/* nothing to wait for (ready, hold, done) */
	STEP_FAIL,
};

struct lg_dest {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 name[SL_ADDR_STRLEN];	/* CONNECT authority */
};

struct lg_conn {
	int		 fd;
	enum lg_state	 st;
	uint32_t	 events;	/* current epoll interest */
	uint64_t	 seq;		/* connection number */
	uint64_t	 t0;		/* opened at (µs) */
	size_t		 off;		/* progress of the current send/recv */
	uint64_t	 left;		/* bulk: bytes still to move */
	uint64_t	 got;		/* bulk: bytes moved */
	off_t		 foff;		/* bulk up: memfd position */
	size_t		 rlen;
	char		 rbuf[LG_RBUF];
};

struct lg_proc {
	uint64_t	 cpu_us;
	uint64_t	 core_us;	/* -C: busy time of that core */
	uint64_t	 rss_kb, anon_kb, fds;
};

struct lg {
	/* Options. */
	enum lg_mode	 mode;
	struct lg_dest	 proxy;
	int		 have_proxy;
	struct lg_dest	 dest[LG_MAXDEST];
	unsigned	 ndest;
	struct sockaddr_storage src;
	socklen_t	 srclen;
	uint8_t		*hello;
	size_t		 hellolen;
	unsigned	 tunnels;
	uint64_t	 bytes;
	int		 up;
	uint64_t	 count;
	unsigned	 conc;
	uint64_t	 limit_us;
	unsigned	 rtts;
	uint64_t	 hold_us;
	pid_t		 pid;
	int		 core;		/* -C: the proxy's core, or -1 */
	const char	*label;

	/* Run. */
	int		 ep, memfd, sigfd;
	struct lg_conn	*conn;
	size_t		 nconn;
	struct lg_conn	 stdin_tag;	/* epoll marker for stdin */
	uint64_t	 deadline;
	uint64_t	 started, done, failed, unfinished, dropped, open;
	uint64_t	 busy;		/* connections in a busy state */
	size_t		 cursor;	/* where to look for a free slot */
	uint64_t	 moved;
	char		 why[160];	/* first failure */
};

static void
lg_fail_note(struct lg *lg, const struct lg_conn *c, const char *what)
{
	if (lg->why[0] == '\0')
		snprintf(lg->why, sizeof(lg->why), "conn %llu: %s%s%s",
		    (unsigned long long)c->seq, what, errno ? ": " : "",
		    errno ? strerror(errno) : "");
}

/* ------------------------------------------------------------------ */
/* The process under test (procstat.h). */

/* CPU (always) and memory (if mem) of the tree under lg->pid. */
static void
proc_sample(const struct lg *lg, struct lg_proc *p, int mem)
{
	pid_t tree[256], pp;
	uint64_t ticks, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n, i;

	memset(p, 0, sizeof(*p));
	p->core_us = proc_core_ticks(lg->core) * 1000000 /
	    (uint64_t)(hz > 0 ? hz : 100);
	if (lg->pid <= 0)
		return;
	n = proc_tree(lg->pid, tree, SL_NELEM(tree));
	for (i = 0; i < n; i++) {
		if (proc_stat(tree[i], &pp, &ticks) == 0)
			sum += ticks;
		if (!mem)
			continue;
		p->rss_kb += proc_status_kb(tree[i], "VmRSS");
		p->anon_kb += proc_status_kb(tree[i], "RssAnon");
		p->fds += proc_nfds(tree[i]);
	}
	p->cpu_us = sum * 1000000 / (uint64_t)(hz > 0 ? hz : 100);
}

/* ------------------------------------------------------------------ */
/* The connection state machine. */

static size_t
ping_len(const struct lg *lg)
{
	return lg->hello != NULL ? lg->hellolen : LG_MSG;
}

/*
 * A 64-byte text message numbered after seq.  Text, because binary bytes
 * that happen to begin like a TLS record (0x16 0x03) are rightly refused
 * as a malformed ClientHello by a proxy that peeks into tunnels.
 */
static void
msg_text(uint64_t seq, uint8_t *buf)
{
	char tmp[LG_MSG * 2];

	snprintf(tmp, sizeof(tmp), "loadgen %020llu "
	    "abcdefghijklmnopqrstuvwxyz0123456789", (unsigned long long)seq);
	memcpy(buf, tmp, LG_MSG);
}

/* The echo message of connection seq: the hello, or msg_text() in buf. */
static const uint8_t *
ping_bytes(const struct lg *lg, uint64_t seq, uint8_t *buf)
{
	if (lg->hello != NULL)
		return lg->hello;
	msg_text(seq, buf);
	return buf;
}

static int
conn_want(struct lg *lg, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 0;
	c->events = events;
	return epoll_ctl(lg->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Busy: setting up, or moving bulk bytes (not parked, not free). */
static int
st_busy(enum lg_state st)
{
	return st != S_FREE && st != S_READY && st != S_HOLD && st != S_DONE;
}

static void
conn_close(struct lg *lg, struct lg_conn *c)
{
	if (st_busy(c->st))
		lg->busy--;
	if (c->fd != -1) {
		close(c->fd);
		lg->open--;
	}
	c->fd = -1;
	c->st = S_FREE;
}

/* Send buf[c->off..len); STEP_NEXT when all is out. */
static enum lg_step
conn_send(struct lg *lg, struct lg_conn *c, const void *buf, size_t len)
{
	ssize_t n;

	while (c->off < len) {
		n = send(c->fd, (const char *)buf + c->off, len - c->off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN)
			return STEP_OUT;
		if (n == -1) {
			lg_fail_note(lg, c, "send");
			return STEP_FAIL;
		}
		c->off += (size_t)n;
	}
	c->off = 0;
	return STEP_NEXT;
}

static enum lg_step
step_connecting(struct lg *lg, struct lg_conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		errno = err;
		lg_fail_note(lg, c, "connect");
		return STEP_FAIL;
	}
	c->st = lg->have_proxy ? S_REQ : S_PING;
	if (lg->mode == LG_BULK || lg->mode == LG_RTT)
		c->st = lg->have_proxy ? S_REQ : S_READY;
	return STEP_NEXT;
}

static enum lg_step
step_req(struct lg *lg, struct lg_conn *c)
{
	const char *d = lg->dest[c->seq % lg->ndest].name;
	char req[2 * SL_ADDR_STRLEN + 64];
	enum lg_step rc;
	int n;

	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	    "\r\n", d, d);
	if ((rc = conn_send(lg, c, req, (size_t)n)) != STEP_NEXT)
		return rc;
	c->st = S_RESP;
	c->rlen = 0;
	return STEP_NEXT;
}

static enum lg_step
step_resp(struct lg *lg, struct lg_conn *c)
{
	char *end;
	ssize_t n;

	n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen, 0);
	if (n == -1 && errno == EAGAIN)
		return STEP_IN;
	if (n <= 0) {
		lg_fail_note(lg, c, n == 0 ? "proxy closed before 200" :
		    "recv answer");
		return STEP_FAIL;
	}
	c->rlen += (size_t)n;
	c->rbuf[c->rlen] = '\0';
	if ((end = strstr(c->rbuf, "\r\n\r\n")) == NULL) {
		if (c->rlen == sizeof(c->rbuf) - 1) {
			errno = 0;
			lg_fail_note(lg, c, "proxy answer too long");
			return STEP_FAIL;
		}
		return STEP_IN;
	}
	errno = 0;
	if (strncmp(c->rbuf, "HTTP/1.", 7) != 0 ||
	    strncmp(c->rbuf + 8, " 200", 4) != 0) {
		c->rbuf[strcspn(c->rbuf, "\r\n")] = '\0';
		lg_fail_note(lg, c, c->rbuf);
		return STEP_FAIL;
	}
	if (end + 4 != c->rbuf + c->rlen) {
		/* Nothing was sent through yet: nothing may come back. */
		lg_fail_note(lg, c, "bytes after the proxy's 200");
		return STEP_FAIL;
	}
	c->st = (lg->mode == LG_BULK || lg->mode == LG_RTT) ? S_READY :
	    S_PING;
	return STEP_NEXT;
}

static enum lg_step
step_ping(struct lg *lg, struct lg_conn *c)
{
	uint8_t buf[LG_MSG];
	enum lg_step rc;

	rc = conn_send(lg, c, ping_bytes(lg, c->seq, buf), ping_len(lg));
	if (rc != STEP_NEXT)
		return rc;
	c->st = S_PONG;
	return STEP_NEXT;
}

static enum lg_step
step_pong(struct lg *lg, struct lg_conn *c)
{
	uint8_t buf[LG_MSG];
	size_t len = ping_len(lg);
	ssize_t n;

	n = recv(c->fd, c->rbuf, SL_MIN(len - c->off, sizeof(c->rbuf)), 0);
	if (n == -1 && errno == EAGAIN)
		return STEP_IN;
	if (n <= 0) {
		lg_fail_note(lg, c, n == 0 ? "closed before the echo" :
		    "recv echo");
		return STEP_FAIL;
	}
	if (memcmp(c->rbuf, ping_bytes(lg, c->seq, buf) + c->off,
	    (size_t)n) != 0) {
		errno = 0;
		lg_fail_note(lg, c, "echo differs from what was sent");
		return STEP_FAIL;
	}
	if ((c->off += (size_t)n) < len)
		return STEP_IN;
	c->off = 0;
	if (lg->mode == LG_IDLE) {
		c->st = S_HOLD;
		return STEP_PARK;
	}
	c->st = S_DONE;
	return STEP_PARK;
}

static enum lg_step
step_bulk_req(struct lg *lg, struct lg_conn *c)
{
	uint8_t req[LG_HELLO_MAX + 8];
	size_t len = 0;
	enum lg_step rc;

	if (lg->hello != NULL) {
		memcpy(req, lg->hello, lg->hellolen);
		len = lg->hellolen;
	}
	if (!lg->up) {
		tools_be64_put(req + len, lg->bytes);
		len += 8;
	}
	if ((rc = conn_send(lg, c, req, len)) != STEP_NEXT)
		return rc;
	c->left = lg->bytes;
	c->got = 0;
	c->st = lg->up ? S_BULK_UP : S_BULK_DOWN;
	return STEP_NEXT;
}

static enum lg_step
step_bulk_down(struct lg *lg, struct lg_conn *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		n = tools_discard(c->fd, TOOLS_CHUNK);
		if (n == -1 && errno == EAGAIN)
			return STEP_IN;
		if (n == -1) {
			lg_fail_note(lg, c, "recv bulk");
			return STEP_FAIL;
		}
		if (n == 0) {
			errno = 0;
			if (c->got != lg->bytes) {
				lg_fail_note(lg, c, "bulk stream ended early");
				return STEP_FAIL;
			}
			c->st = S_DONE;
			return STEP_PARK;
		}
		c->got += (uint64_t)n;
		lg->moved += (uint64_t)n;
	}
	return STEP_IN;		/* yield to the other tunnels */
}

static enum lg_step
step_bulk_up(struct lg *lg, struct lg_conn *c)
{
	size_t want;
	ssize_t n;
	int i;

	for (i = 0; i < 64 && c->left > 0; i++) {
		if (c->foff >= (off_t)TOOLS_MEMFD_SIZE)
			c->foff = 0;
		want = SL_MIN(TOOLS_MEMFD_SIZE - (size_t)c->foff, TOOLS_CHUNK);
		want = (size_t)SL_MIN((uint64_t)want, c->left);
		n = sendfile(c->fd, lg->memfd, &c->foff, want);
		if (n == -1 && errno == EAGAIN)
			return STEP_OUT;
		if (n <= 0) {
			lg_fail_note(lg, c, "sendfile bulk");
			return STEP_FAIL;
		}
		c->left -= (uint64_t)n;
		c->got += (uint64_t)n;
	}
	if (c->left > 0)
		return STEP_OUT;
	(void)shutdown(c->fd, SHUT_WR);
	c->st = S_BULK_ACK;
	c->rlen = 0;
	return STEP_NEXT;
}

static enum lg_step
step_bulk_ack(struct lg *lg, struct lg_conn *c)
{
	uint64_t want = lg->bytes + lg->hellolen;
	ssize_t n;

	n = recv(c->fd, c->rbuf + c->rlen, 8 - c->rlen, 0);
	if (n == -1 && errno == EAGAIN)
		return STEP_IN;
	if (n <= 0) {
		lg_fail_note(lg, c, "no count from the sink");
		return STEP_FAIL;
	}
	if ((c->rlen += (size_t)n) < 8)
		return STEP_IN;
	errno = 0;
	if (tools_be64_get((uint8_t *)c->rbuf) != want) {
		lg_fail_note(lg, c, "sink counted a different size");
		return STEP_FAIL;
	}
	lg->moved += lg->bytes;
	c->st = S_DONE;
	return STEP_PARK;
}

static enum lg_step
conn_step(struct lg *lg, struct lg_conn *c)
{
	switch (c->st) {
	case S_CONNECTING:
		return step_connecting(lg, c);
	case S_REQ:
		return step_req(lg, c);
	case S_RESP:
		return step_resp(lg, c);
	case S_PING:
		return step_ping(lg, c);
	case S_PONG:
		return step_pong(lg, c);
	case S_BULK_REQ:
		return step_bulk_req(lg, c);
	case S_BULK_DOWN:
		return step_bulk_down(lg, c);
	case S_BULK_UP:
		return step_bulk_up(lg, c);
	case S_BULK_ACK:
		return step_bulk_ack(lg, c);
	default:
		return STEP_PARK;
	}
}

/* Run the machine until it must wait; account for the outcome. */
static void
conn_run(struct lg *lg, struct lg_conn *c)
{
	enum lg_step rc;

	while ((rc = conn_step(lg, c)) == STEP_NEXT)
		;
	switch (rc) {
	case STEP_IN:
		(void)conn_want(lg, c, EPOLLIN);
		break;
	case STEP_OUT:
		(void)conn_want(lg, c, EPOLLOUT);
		break;
	case STEP_PARK:
		lg->busy--;
		if (c->st == S_HOLD)
			lg->done++;	/* idle: open and verified */
		if (c->st == S_DONE) {
			lg->done++;
			if (lg->mode == LG_CPS || lg->mode == LG_BULK)
				conn_close(lg, c);
			break;
		}
		/* Parked: only errors and hang-ups are reported. */
		(void)conn_want(lg, c, EPOLLRDHUP);
		break;
	case STEP_FAIL:
	default:
		lg->failed++;
		conn_close(lg, c);
		break;
	}
}

static void
conn_event(struct lg *lg, struct lg_conn *c, uint32_t events)
{
	if (c->st == S_HOLD || c->st == S_READY) {
		/* The proxy closed a tunnel that should stay open. */
		lg->dropped++;
		errno = 0;
		lg_fail_note(lg, c, "tunnel closed while idle");
		conn_close(lg, c);
		return;
	}
	(void)events;
	conn_run(lg, c);
}

static int
conn_start(struct lg *lg, struct lg_conn *c)
{
	const struct lg_dest *to = lg->have_proxy ? &lg->proxy :
	    &lg->dest[lg->started % lg->ndest];
	struct epoll_event ev;
	int one = 1;

	memset(c, 0, offsetof(struct lg_conn, rbuf));
	c->seq = lg->started++;
	c->t0 = sl_mono_us();
	c->fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		lg_fail_note(lg, c, "socket");
		goto fail;
	}
	lg->open++;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lg->srclen > 0) {
		/* Let connect() pick the port so 4-tuples can be reused. */
		(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&lg->src, lg->srclen) == -1) {
			lg_fail_note(lg, c, "bind source");
			goto fail;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&to->ss, to->len) == -1 &&
	    errno != EINPROGRESS) {
		lg_fail_note(lg, c, "connect");
		goto fail;
	}
	c->st = S_CONNECTING;
	lg->busy++;
	c->events = EPOLLOUT;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		lg_fail_note(lg, c, "epoll_ctl");
		goto fail;
	}
	return 0;
fail:
	lg->failed++;
	conn_close(lg, c);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The event loop. */

/* Fail connections stuck in setup longer than LG_OPEN_US. */
static void
lg_reap(struct lg *lg, uint64_t now)
{
	struct lg_conn *c;
	size_t i;

	for (i = 0; i < lg->nconn; i++) {
		c = &lg->conn[i];
		if (c->st >= S_CONNECTING && c->st <= S_PONG &&
		    now - c->t0 > LG_OPEN_US) {
			errno = 0;
			lg_fail_note(lg, c, "setup timed out");
			lg->failed++;
			conn_close(lg, c);
		}
	}
}

/*
 * Open connections into free slots while the mode wants more: at most -c
 * busy at once, until -n are started.
 */
static void
lg_top_up(struct lg *lg, uint64_t now)
{
	size_t k, i;

	if (now >= lg->deadline)
		return;
	for (k = 0; k < lg->nconn; k++) {
		if (lg->started >= lg->count || lg->busy >= lg->conc)
			return;
		i = (lg->cursor + k) % lg->nconn;
		if (lg->conn[i].st != S_FREE)
			continue;
		(void)conn_start(lg, &lg->conn[i]);
		lg->cursor = i + 1;
	}
}

/* Wait for events up to ms; returns -1 if a signal or stdin stops us. */
static int
lg_poll(struct lg *lg, int ms)
{
	struct epoll_event evs[LG_NEVENTS];
	struct lg_conn *c;
	int i, n;

	n = epoll_wait(lg->ep, evs, LG_NEVENTS, ms);
	for (i = 0; i < n; i++) {
		if ((c = evs[i].data.ptr) == NULL || c == &lg->stdin_tag)
			return -1;
		conn_event(lg, c, evs[i].events);
	}
	return 0;
}

/*
 * Run until nothing is busy and (with topup) nothing is left to start, or
 * until the deadline.  Returns -1 if a signal ended it.
 */
static int
lg_loop(struct lg *lg, int topup)
{
	uint64_t now = sl_mono_us(), last_reap = now;

	for (;;) {
		if (topup)
			lg_top_up(lg, now);
		if (now >= lg->deadline)
			return 0;
		if (lg->busy == 0 && (!topup || lg->started >= lg->count))
			return 0;
		if (lg_poll(lg, 20) == -1)
			return -1;
		now = sl_mono_us();
		if (now - last_reap > 100000) {
			lg_reap(lg, now);
			last_reap = now;
		}
	}
}

/* Close and count what is still in flight at the end of a phase. */
static void
lg_close_all(struct lg *lg)
{
	size_t i;

	for (i = 0; i < lg->nconn; i++) {
		if (lg->conn[i].st == S_FREE)
			continue;
		if (st_busy(lg->conn[i].st))
			lg->unfinished++;
		conn_close(lg, &lg->conn[i]);
	}
}

/* Let the process under test finish its side (closes, frees). */
static void
lg_settle(unsigned ms)
{
	usleep(ms * 1000);
}

static int
lg_slots(struct lg *lg, size_t n)
{
	size_t i;

	if ((lg->conn = sl_calloc(n, sizeof(*lg->conn))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		lg->conn[i].fd = -1;
	lg->nconn = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Modes.  Each fills the JSON writer with its figures. */

static void
jw_common(struct sl_jw *w, const struct lg *lg, const char *mode)
{
	if (lg->label != NULL)
		sl_jw_str(w, "label", lg->label);
	sl_jw_str(w, "mode", mode);
	sl_jw_str(w, "via", lg->have_proxy ? "connect" : "direct");
	sl_jw_str(w, "target", lg->have_proxy ? lg->proxy.name :
	    lg->dest[0].name);
	if (lg->hello != NULL)
		sl_jw_u64(w, "hello_bytes", lg->hellolen);
}

static void
jw_cpu(struct sl_jw *w, const struct lg *lg, const struct lg_proc *p0,
    const struct lg_proc *p1)
{
	if (lg->pid > 0)
		sl_jw_u64(w, "cpu_us", p1->cpu_us - p0->cpu_us);
	if (lg->core >= 0)
		sl_jw_u64(w, "core_busy_us", p1->core_us - p0->core_us);
}

static void
jw_counts(struct sl_jw *w, const struct lg *lg)
{
	sl_jw_u64(w, "done", lg->done);
	sl_jw_u64(w, "failed", lg->failed);
	sl_jw_u64(w, "unfinished", lg->unfinished);
	if (lg->why[0] != '\0')
		sl_jw_str(w, "first_error", lg->why);
}

/* Open every slot and wait until all are ready (bulk, rtt). */
static int
lg_open_all(struct lg *lg)
{
	lg->count = lg->nconn;
	lg->conc = (unsigned)lg->nconn;
	lg->deadline = sl_mono_us() + LG_OPEN_US;
	if (lg_loop(lg, 1) == -1 || lg->failed > 0)
		return -1;
	return 0;
}

static int
mode_bulk(struct lg *lg, struct sl_jw *w)
{
	struct lg_proc p0, p1;
	uint64_t t0, t1;
	size_t i;

	if (lg_slots(lg, lg->tunnels) == -1 || lg_open_all(lg) == -1) {
		jw_common(w, lg, "bulk");
		jw_counts(w, lg);
		return -1;
	}
	proc_sample(lg, &p0, 0);
	t0 = sl_mono_us();
	lg->deadline = t0 + lg->limit_us;
	for (i = 0; i < lg->nconn; i++) {
		lg->conn[i].st = S_BULK_REQ;
		lg->busy++;
		conn_run(lg, &lg->conn[i]);
	}
	(void)lg_loop(lg, 0);
	t1 = sl_mono_us();
	for (i = 0; lg->up && i < lg->nconn; i++)
		if (lg->conn[i].st == S_BULK_UP)
			lg->moved += lg->conn[i].got;	/* sent, cut short */
	lg_close_all(lg);
	lg_settle(100);
	proc_sample(lg, &p1, 0);
	jw_common(w, lg, "bulk");
	sl_jw_str(w, "dir", lg->up ? "up" : "down");
	sl_jw_u64(w, "tunnels", lg->tunnels);
	sl_jw_u64(w, "bytes_per_tunnel", lg->bytes);
	sl_jw_u64(w, "bytes", lg->moved);
	sl_jw_u64(w, "wall_us", t1 - t0);
	jw_cpu(w, lg, &p0, &p1);
	jw_counts(w, lg);
	return lg->failed + lg->unfinished > 0 ? -1 : 0;
}

static int
mode_cps(struct lg *lg, struct sl_jw *w)
{
	struct lg_proc p0, p1;
	uint64_t t0, t1;

	if (lg_slots(lg, lg->conc) == -1)
		return -1;
	proc_sample(lg, &p0, 0);
	t0 = sl_mono_us();
	lg->deadline = t0 + lg->limit_us;
	(void)lg_loop(lg, 1);
	t1 = sl_mono_us();
	lg_close_all(lg);
	lg_settle(100);
	proc_sample(lg, &p1, 0);
	jw_common(w, lg, "cps");
	sl_jw_u64(w, "concurrency", lg->conc);
	sl_jw_u64(w, "wall_us", t1 - t0);
	jw_cpu(w, lg, &p0, &p1);
	jw_counts(w, lg);
	return lg->failed > 0 ? -1 : 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Blocking: send len bytes, read them back, compare. */
static int
rtt_echo(int fd, const uint8_t *msg, size_t len)
{
	uint8_t back[LG_RBUF];
	size_t got = 0;
	ssize_t n;

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	while (got < len) {
		n = recv(fd, back, SL_MIN(len - got, sizeof(back)), 0);
		if (n <= 0 || memcmp(back, msg + got, (size_t)n) != 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The round-trip loop; fills ns[] and returns how many were recorded. */
static size_t
rtt_run(struct lg *lg, int fd, uint64_t *ns)
{
	uint8_t msg[LG_MSG];
	uint64_t t;
	size_t i, n = 0;

	for (i = 0; i < LG_RTT_WARM + (size_t)lg->rtts; i++) {
		if (sl_mono_us() >= lg->deadline)
			break;
		msg_text(i, msg);	/* the hello, if any, went first */
		t = tools_now_ns();
		if (rtt_echo(fd, msg, LG_MSG) == -1) {
			snprintf(lg->why, sizeof(lg->why),
			    "round trip %zu failed", i);
			lg->failed++;
			break;
		}
		if (i >= LG_RTT_WARM)
			ns[n++] = tools_now_ns() - t;
	}
	return n;
}

static int
mode_rtt(struct lg *lg, struct sl_jw *w)
{
	struct timeval tv = { .tv_sec = 2 };
	struct lg_proc p0, p1;
	uint64_t *ns, t0, t1;
	size_t n = 0;
	int fd;

	jw_common(w, lg, "rtt");
	if (lg_slots(lg, 1) == -1 || lg_open_all(lg) == -1 ||
	    (ns = sl_calloc(lg->rtts + 1, sizeof(*ns))) == NULL) {
		jw_counts(w, lg);
		return -1;
	}
	fd = lg->conn[0].fd;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	lg->deadline = sl_mono_us() + lg->limit_us;
	if (lg->hello != NULL && rtt_echo(fd, lg->hello, lg->hellolen) == -1) {
		snprintf(lg->why, sizeof(lg->why), "hello not echoed");
		lg->failed++;
	}
	proc_sample(lg, &p0, 0);
	t0 = sl_mono_us();
	if (lg->failed == 0)
		n = rtt_run(lg, fd, ns);
	t1 = sl_mono_us();
	proc_sample(lg, &p1, 0);
	qsort(ns, n, sizeof(*ns), cmp_u64);
	sl_jw_u64(w, "round_trips", n);
	sl_jw_u64(w, "wall_us", t1 - t0);
	jw_cpu(w, lg, &p0, &p1);
	if (n > 0) {
		sl_jw_u64(w, "p50_ns", ns[n / 2]);
		sl_jw_u64(w, "p99_ns", ns[SL_MIN(n - 1, n * 99 / 100)]);
		sl_jw_u64(w, "max_ns", ns[n - 1]);
	}
	lg_close_all(lg);
	sl_free(ns);
	lg->done = n;
	jw_counts(w, lg);
	return lg->failed > 0 || n == 0 ? -1 : 0;
}

static void
jw_mem(struct sl_jw *w, const char *when, const struct lg_proc *p)
{
	char k[32];

	snprintf(k, sizeof(k), "rss_kb_%s", when);
	sl_jw_u64(w, k, p->rss_kb);
	snprintf(k, sizeof(k), "anon_kb_%s", when);
	sl_jw_u64(w, k, p->anon_kb);
	snprintf(k, sizeof(k), "fds_%s", when);
	sl_jw_u64(w, k, p->fds);
}

/* Hold open tunnels until -w passes, a signal, or stdin ends. */
static void
idle_hold(struct lg *lg)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	uint64_t until = sl_mono_us() + lg->hold_us;
	struct stat st;

	if (lg->hold_us == 0)
		return;
	if (fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode))) {
		ev.data.ptr = &lg->stdin_tag;
		(void)epoll_ctl(lg->ep, EPOLL_CTL_ADD, 0, &ev);
	}
	while (sl_mono_us() < until)
		if (lg_poll(lg, 100) == -1)
			break;
}

static int
mode_idle(struct lg *lg, struct sl_jw *w)
{
	struct lg_proc p0, p1, p2;
	uint64_t t0, t1, opened;

	if (lg_slots(lg, lg->count) == -1)
		return -1;
	proc_sample(lg, &p0, 1);
	t0 = sl_mono_us();
	lg->deadline = t0 + lg->limit_us;
	(void)lg_loop(lg, 1);
	t1 = sl_mono_us();
	opened = lg->done;
	lg_settle(300);
	proc_sample(lg, &p1, 1);
	fprintf(stderr, "loadgen: ready: %llu tunnels open\n",
	    (unsigned long long)opened);
	idle_hold(lg);
	lg_close_all(lg);
	lg_settle(300);
	proc_sample(lg, &p2, 1);
	jw_common(w, lg, "idle");
	sl_jw_u64(w, "tunnels", opened);
	sl_jw_u64(w, "open_us", t1 - t0);
	if (lg->pid > 0) {
		jw_mem(w, "before", &p0);
		jw_mem(w, "open", &p1);
		jw_mem(w, "closed", &p2);
	}
	sl_jw_u64(w, "dropped", lg->dropped);
	jw_counts(w, lg);
	return opened == lg->count && lg->dropped == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Options. */

/* A ClientHello as hex text: '#' starts a comment line. */
static int
read_hello(struct lg *lg, const char *path)
{
	FILE *fp = fopen(path, "re");
	int ch, hi = -1, incomment = 0, v;

	if (fp == NULL || (lg->hello = sl_alloc(LG_HELLO_MAX)) == NULL)
		goto fail;
	while ((ch = fgetc(fp)) != EOF) {
		if (ch == '#')
			incomment = 1;
		if (ch == '\n')
			incomment = 0;
		if (incomment || isspace(ch))
			continue;
		if (!isxdigit(ch) || lg->hellolen == LG_HELLO_MAX)
			goto fail;
		v = isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
		if (hi == -1) {
			hi = v;
		} else {
			lg->hello[lg->hellolen++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	fclose(fp);
	return hi == -1 && lg->hellolen > 0 ? 0 : -1;
fail:
	if (fp != NULL)
		fclose(fp);
	return -1;
}

static int
parse_dest(struct lg_dest *d, const char *s)
{
	if (strlen(s) >= sizeof(d->name) ||
	    tools_endpoint(s, &d->ss, &d->len) == -1)
		return -1;
	snprintf(d->name, sizeof(d->name), "%s", s);
	return 0;
}

static int
parse_dests(struct lg *lg, const char *arg)
{
	char buf[1024], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (lg->ndest == LG_MAXDEST ||
		    parse_dest(&lg->dest[lg->ndest], tok) == -1)
			return -1;
		lg->ndest++;
	}
	return 0;
}

/* 512, 16k, 64m, 2g (powers of 1024). */
static uint64_t
parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': return v << 10;
	case 'm': case 'M': return v << 20;
	case 'g': case 'G': return v << 30;
	default: return v;
	}
}

static uint64_t
parse_secs(const char *s)
{
	return (uint64_t)(strtod(s, NULL) * 1e6);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: loadgen bulk|cps|idle|rtt [-x PROXY] -d DEST[,DEST...] [-s SRCIP]\n"
"         [-H HELLO.hex] [-t TUNNELS] [-b BYTES] [-u] [-n COUNT]\n"
"         [-c CONCURRENCY] [-T SECS] [-k ROUNDTRIPS] [-w HOLDSECS]\n"
"         [-p PID] [-C CORE] [-l LABEL]\n");
	exit(2);
}

static int
parse_mode(struct lg *lg, const char *s)
{
	static const char *const names[] = { "bulk", "cps", "idle", "rtt" };
	size_t i;

	for (i = 0; i < SL_NELEM(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			lg->mode = (enum lg_mode)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_src(struct lg *lg, const char *s)
{
	struct sl_ip ip;

	if (sl_ip_parse(&ip, s) == -1)
		return -1;
	lg->srclen = sl_ip_to_sa(&ip, 0, &lg->src);
	return 0;
}

static void
parse_opts(struct lg *lg, int argc, char **argv)
{
	int ch, bad = 0;

	if (argc < 2 || parse_mode(lg, argv[1]) == -1)
		usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "x:d:s:H:t:b:un:c:T:k:w:p:C:l:")) != -1) {
		switch (ch) {
		case 'x': bad |= parse_dest(&lg->proxy, optarg);
			lg->have_proxy = 1; break;
		case 'd': bad |= parse_dests(lg, optarg); break;
		case 's': bad |= parse_src(lg, optarg); break;
		case 'H': bad |= read_hello(lg, optarg); break;
		case 't': lg->tunnels = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b': lg->bytes = parse_size(optarg); break;
		case 'u': lg->up = 1; break;
		case 'n': lg->count = strtoull(optarg, NULL, 10); break;
		case 'c': lg->conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': lg->limit_us = parse_secs(optarg); break;
		case 'k': lg->rtts = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': lg->hold_us = parse_secs(optarg); break;
		case 'p': lg->pid = (pid_t)strtol(optarg, NULL, 10); break;
		case 'C': lg->core = atoi(optarg); break;
		case 'l': lg->label = optarg; break;
		default: usage();
		}
	}
	if (lg->conc == 0)
		lg->conc = lg->mode == LG_IDLE ? 256 : 32;
	if (bad || optind != argc || lg->ndest == 0 || lg->tunnels == 0 ||
	    lg->tunnels > 1024 || lg->count == 0 || lg->conc == 0 ||
	    lg->limit_us == 0 || lg->rtts == 0 || lg->bytes >= (1ull << 56)) {
		fprintf(stderr, "loadgen: bad or missing option\n");
		usage();
	}
}

static int
lg_setup(struct lg *lg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	rlim_t lim = tools_raise_nofile();
	sigset_t set;

	if (lg->mode == LG_IDLE && lim < lg->count + 64) {
		fprintf(stderr, "loadgen: RLIMIT_NOFILE %llu is too low for "
		    "%llu tunnels (ulimit -n)\n", (unsigned long long)lim,
		    (unsigned long long)lg->count);
		return -1;
	}
	if ((lg->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (lg->memfd = tools_payload_memfd()) == -1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Signals are read from a signalfd: no handler, no global. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (lg->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		return -1;
	ev.data.ptr = NULL;
	return epoll_ctl(lg->ep, EPOLL_CTL_ADD, lg->sigfd, &ev);
}

int
main(int argc, char **argv)
{
	char out[4096];
	struct sl_jw w;
	struct lg lg;
	int rc;

	memset(&lg, 0, sizeof(lg));
	lg.tunnels = 1;
	lg.bytes = 1ull << 30;
	lg.count = 10000;
	lg.rtts = 10000;
	lg.limit_us = 10 * 1000000ull;
	lg.core = -1;
	parse_opts(&lg, argc, argv);
	if (lg_setup(&lg) == -1) {
		perror("loadgen: setup");
		return 2;
	}
	sl_jw_begin(&w, out, sizeof(out));
	switch (lg.mode) {
	case LG_BULK: rc = mode_bulk(&lg, &w); break;
	case LG_CPS: rc = mode_cps(&lg, &w); break;
	case LG_IDLE: rc = mode_idle(&lg, &w); break;
	case LG_RTT: default: rc = mode_rtt(&lg, &w); break;
	}
	sl_jw_end(&w);
	fputs(out, stdout);
	fflush(stdout);
	if (lg.why[0] != '\0')
		fprintf(stderr, "loadgen: first error: %s\n", lg.why);
	sl_free(lg.conn);
	sl_free(lg.hello);
	return rc == 0 ? 0 : 1;
}
