/*
 * relay.c — the spliced relay: bytes move socket -> pipe -> socket with
 * splice(2) and never enter user space.
 *
 * Each direction holds a pipe only while bytes are in it (taken from and
 * returned to the worker's pool), so an idle tunnel costs two sockets and
 * the flow struct.  In-flight data per direction is bounded by the pipe:
 * when the destination cannot take more, reading the source stops until
 * the destination's write event drains the pipe (backpressure, as in
 * libevent's le-proxy).  A FIN is propagated as shutdown(SHUT_WR) once the
 * pipe is empty, so half-closed connections keep working; the flow ends
 * when both directions have ended.  Byte counters count what was written
 * to the destination: bytes still in a pipe when a flow is cut short never
 * reached anyone.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "flow.h"
#include "worker.h"

/*
 * Reads per callback before going back to the loop.  A read short of the
 * pipe does not mean the socket is drained (a bulk sender keeps writing
 * while we splice), so a large read is followed by another: returning to
 * epoll_wait after every 64 KiB costs a wakeup each.  A small read (a
 * message, a handshake flight) almost always drained the socket, and
 * trying again would cost an EAGAIN per message.  Bounded so that one
 * busy tunnel cannot starve the others on the worker.
 */
#define RELAY_BURST	16
#define RELAY_SMALL	16384

static int
dir_src(const struct sl_relay_dir *d)
{
	return d->up ? d->flow->cfd : d->flow->sfd;
}

static int
dir_dst(const struct sl_relay_dir *d)
{
	return d->up ? d->flow->sfd : d->flow->cfd;
}

static uint64_t *
dir_bytes(struct sl_relay_dir *d)
{
	return d->up ? &d->flow->up : &d->flow->down;
}

static void
dir_pipe_release(struct sl_relay_dir *d, int dirty)
{
	if (d->pipe[0] == -1)
		return;
	if (dirty)
		sl_pipe_pool_drop(&d->flow->wk->pipes, d->pipe);
	else
		sl_pipe_pool_put(&d->flow->wk->pipes, d->pipe);
	d->inpipe = 0;
}

/* Both directions finished: the flow ends normally. */
static int
relay_check_done(struct sl_flow *flow)
{
	if (flow->dup.shut && flow->ddown.shut) {
		sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'C', NULL);
		return -1;
	}
	return 0;
}

/* A socket error on either side: who is the side that failed. */
static int
relay_abort(struct sl_relay_dir *d, int err, int on_dst)
{
	struct sl_flow *flow = d->flow;
	int client = d->up ? !on_dst : on_dst;

	sl_flow_log(flow, SL_LOG_DEBUG, "relay: %s %s: %s",
	    client ? "client" : "server", on_dst ? "write" : "read",
	    strerror(err));
	sl_flow_close(flow, client ? 'C' : 'S',
	    err == ECONNRESET ? (client ? "client_reset" : "server_reset") :
	    "io_error");
	return -1;
}

/* src reached EOF and everything is flushed: propagate the FIN. */
static int
dir_shutdown(struct sl_relay_dir *d)
{
	struct sl_flow *flow = d->flow;

	event_del(d->rd);
	event_del(d->wr);
	if (!d->shut) {
		d->shut = 1;
		/* The first side to close names the end: "CR" / "SR", the
		 * state being the one that FIN ended (relaying). */
		if (flow->term[0] == '\0') {
			flow->term[0] = d->up ? 'C' : 'S';
			flow->term[1] = 'R';
		}
		/* The last direction to end is followed by close(), which
		 * sends the FIN anyway: save the syscall. */
		if (!(d->up ? flow->ddown.shut : flow->dup.shut) &&
		    shutdown(dir_dst(d), SHUT_WR) == -1 && errno != ENOTCONN)
			sl_flow_log(flow, SL_LOG_DEBUG, "relay: shutdown: %s",
			    strerror(errno));
		if (!flow->dup.shut || !flow->ddown.shut)
			sl_flow_set_state(flow, SL_FLOW_DRAINING);
	}
	return relay_check_done(flow);
}

/*
 * Push what is pending (prefix, then pipe) to dst.  Returns 1 when all is
 * flushed, 0 when dst would block (write event armed), -1 if flow is gone.
 */
static int
dir_flush(struct sl_relay_dir *d)
{
	int dst = dir_dst(d);

	while (d->pre != NULL) {
		ssize_t n = send(dst, d->pre + d->pre_off,
		    d->pre_len - d->pre_off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				goto block;
			return relay_abort(d, errno, 1);
		}
		d->pre_off += (uint32_t)n;
		*dir_bytes(d) += (uint64_t)n;
		if (d->pre_off == d->pre_len) {
			sl_free(d->pre);
			d->pre = NULL;
		}
	}
	while (d->inpipe > 0) {
		ssize_t n = splice(d->pipe[0], NULL, dst, NULL, d->inpipe,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				goto block;
			return relay_abort(d, errno, 1);
		}
		d->inpipe -= (uint32_t)n;
		*dir_bytes(d) += (uint64_t)n;
	}
	dir_pipe_release(d, 0);
	return 1;
block:
	event_del(d->rd);		/* backpressure: stop reading src */
	if (event_add(d->wr, NULL) == -1) {
		sl_flow_close(d->flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

/* Read from src into the pipe and flush it; loop a few times. */
static void
relay_read(struct sl_relay_dir *d)
{
	struct sl_flow *flow = d->flow;
	/* As much as the pipe holds: fewer splices per byte for bulk. */
	size_t want = flow->wk->pipes.size ? flow->wk->pipes.size : 65536;
	int fd = dir_src(d);

	flow->last = sl_mono_ms();
	for (int i = 0; i < RELAY_BURST; i++) {
		ssize_t n;
		int rc;

		if (d->pipe[0] == -1 &&
		    sl_pipe_pool_get(&flow->wk->pipes, d->pipe) == -1) {
			sl_flow_close(flow, 'R', "no_pipe");
			return;
		}
		n = splice(fd, NULL, d->pipe[1], NULL, want,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == 0) {
			d->eof = 1;
			dir_pipe_release(d, 0);
			(void)dir_shutdown(d);
			return;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				dir_pipe_release(d, 0);	/* idle: no pipe */
				return;
			}
			(void)relay_abort(d, errno, 0);
			return;
		}
		d->inpipe += (uint32_t)n;
		if ((rc = dir_flush(d)) <= 0)
			return;			/* blocked or gone */
		if ((size_t)n < RELAY_SMALL)
			return;			/* drained, most likely */
	}
}

static void
relay_cli_read(struct sl_flow *flow)
{
	relay_read(&flow->dup);
}

static void
relay_srv_read(struct sl_flow *flow)
{
	relay_read(&flow->ddown);
}

/* dst can take more: flush, then resume reading src (or finish). */
static void
relay_wr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_relay_dir *d = arg;
	int rc;

	(void)fd;
	(void)what;
	d->flow->last = sl_mono_ms();
	if ((rc = dir_flush(d)) <= 0)
		return;
	event_del(d->wr);
	if (d->eof) {
		(void)dir_shutdown(d);
		return;
	}
	if (!event_pending(d->rd, EV_READ, NULL) && event_add(d->rd, NULL) == -1)
		sl_flow_close(d->flow, 'R', "event_add");
}

static int
dir_init(struct sl_flow *flow, struct sl_relay_dir *d, int up,
    const char *pre, size_t npre)
{
	struct event_base *base = flow->wk->base;
	struct event *rd = up ? &flow->ev_cr : &flow->ev_sr;
	struct event *wr = up ? &flow->ev_sw : &flow->ev_cw;

	d->flow = flow;
	d->up = up ? 1 : 0;
	d->rd = rd;
	d->wr = wr;
	d->pipe[0] = d->pipe[1] = -1;
	/* The read event is the flow's own (see flow.h); only the handler
	 * changes.  The write event is ours and armed only when blocked. */
	if (up)
		flow->on_cr = relay_cli_read;
	else
		flow->on_sr = relay_srv_read;
	if (event_assign(wr, base, dir_dst(d), EV_WRITE | EV_PERSIST,
	    relay_wr_cb, d) == -1)
		return -1;
	if (npre > 0) {
		if ((d->pre = sl_alloc(npre)) == NULL)
			return -1;
		memcpy(d->pre, pre, npre);
		d->pre_len = (uint32_t)npre;
	}
	return 0;
}

/* Arm a direction: flush its prefix first, else start reading. */
static int
dir_arm(struct sl_relay_dir *d)
{
	int rc;

	if (d->pre != NULL) {
		if ((rc = dir_flush(d)) <= 0)
			return rc == 0 ? 0 : -1;
	}
	if (!event_pending(d->rd, EV_READ, NULL) &&
	    event_add(d->rd, NULL) == -1) {
		sl_flow_close(d->flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

int
sl_relay_start(struct sl_flow *flow, const char *pre_up, size_t nup,
    const char *pre_down, size_t ndown)
{
	/* The read events stay as setup left them (flow.h); the write events
	 * are assigned afresh below and must not be pending. */
	event_del(&flow->ev_cw);
	event_del(&flow->ev_sw);
	if (dir_init(flow, &flow->dup, 1, pre_up, nup) == -1 ||
	    dir_init(flow, &flow->ddown, 0, pre_down, ndown) == -1) {
		sl_flow_close(flow, 'R', "relay_init");
		return -1;
	}
	sl_flow_set_state(flow, SL_FLOW_RELAYING);
	flow->last = sl_mono_ms();
	if (dir_arm(&flow->dup) == -1)
		return -1;
	return dir_arm(&flow->ddown);
}

void
sl_relay_release(struct sl_flow *flow)
{
	struct sl_relay_dir *dirs[2] = { &flow->dup, &flow->ddown };

	event_del(&flow->ev_cr);
	event_del(&flow->ev_cw);
	event_del(&flow->ev_sr);
	event_del(&flow->ev_sw);
	for (int i = 0; i < 2; i++) {
		struct sl_relay_dir *d = dirs[i];

		if (d->flow == NULL)
			continue;
		/* A pipe still holding bytes cannot go back to the pool. */
		dir_pipe_release(d, d->inpipe > 0);
		sl_free(d->pre);
		d->pre = NULL;
	}
}
