/*
 * relay.c — the relay between a flow's two halves (relay.h).
 *
 * A direction is named by its source half: bytes read from `src` are
 * written to `src->peer`.  What both engines share is here once: how a
 * direction ends (relay_dir_end), how the flow ends (relay_check_done),
 * how a socket error ends it (relay_abort).
 *
 * Splice engine: each direction holds a pipe only while bytes are in it
 * (taken from and returned to the worker's pool), so an idle tunnel costs
 * two sockets and the flow struct.  In-flight data per direction is
 * bounded by the pipe: when the destination cannot take more, reading the
 * source stops until the destination's write event drains the pipe (as in
 * libevent's le-proxy).
 *
 * Copy engine: a source's input is moved (evbuffer_add_buffer: chains
 * change hands, no byte is copied) to the destination's output; above
 * relay-buffer bytes waiting there, reading the source stops, and the
 * destination's low watermark (half of it) resumes it.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "flow.h"
#include "half.h"
#include "relay.h"
#include "worker.h"

/*
 * Splice reads per callback before going back to the loop.  A read short
 * of the pipe does not mean the socket is drained (a bulk sender keeps
 * writing while we splice), so a large read is followed by another:
 * returning to epoll_wait after every 64 KiB costs a wakeup each.  A small
 * read (a message, a handshake flight) almost always drained the socket,
 * and trying again would cost an EAGAIN per message.  Bounded so that one
 * busy tunnel cannot starve the others on the worker.
 */
#define RELAY_BURST	16
#define RELAY_SMALL	16384

/* ------------------------------------------------------------------ */
/* what both engines share                                              */

/* Both directions ended: the flow ends normally. */
static int
relay_check_done(struct sl_flow *flow)
{
	/* A TLS half's last records (close_notify) may still wait under
	 * it: its write callback comes back here once they are out. */
	if (flow->cli.shut && flow->srv.shut && sl_half_drained(&flow->cli) &&
	    sl_half_drained(&flow->srv)) {
		sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'C', NULL);
		return -1;
	}
	return 0;
}

/* A socket error on half h (reading it or writing to it). */
static int
relay_abort(struct sl_half *h, int err, int writing)
{
	struct sl_flow *flow = h->flow;
	int client = !h->is_srv;

	sl_flow_log(flow, SL_LOG_DEBUG, "relay: %s %s: %s",
	    client ? "client" : "server", writing ? "write" : "read",
	    strerror(err));
	sl_flow_close(flow, client ? 'C' : 'S',
	    err == ECONNRESET ? (client ? "client_reset" : "server_reset") :
	    "io_error");
	return -1;
}

/*
 * src sent its FIN and all it sent has been written: pass the FIN on.
 * The first side to close names the end ("CR" / "SR", the state being
 * the one that FIN ended: relaying).  0, or -1 if the flow ended.
 */
static int
relay_dir_end(struct sl_half *src)
{
	struct sl_flow *flow = src->flow;
	struct sl_half *dst = src->peer;

	if (dst->shut)
		return relay_check_done(flow);
	if (flow->term[0] == '\0') {
		flow->term[0] = src->is_srv ? 'S' : 'C';
		flow->term[1] = 'R';
	}
	if (src->kind == SL_HALF_TLS && dst->kind == SL_HALF_TLS &&
	    !(SSL_get_shutdown(sl_half_ssl(src)) & SSL_RECEIVED_SHUTDOWN)) {
		/* src ended without close_notify: a truncation TLS cannot
		 * tell from the end.  No close_notify towards dst either,
		 * only the FIN, so its peer sees what going direct would
		 * show.  (dst is drained: copy_check.) */
		sl_half_fin(dst);
		sl_flow_set_state(flow, SL_FLOW_DRAINING);
	} else if (src->shut && dst->kind != SL_HALF_TLS) {
		/* The other direction ended already: close() follows and
		 * sends the FIN anyway; save the syscall.  (TLS ends with
		 * close_notify, which only a shutdown sends.) */
		dst->shut = 1;
	} else {
		sl_half_shutdown(dst);
		sl_flow_set_state(flow, SL_FLOW_DRAINING);
	}
	return relay_check_done(flow);
}

/* ------------------------------------------------------------------ */
/* splice engine                                                        */

static void
splice_pipe_release(struct sl_half *src)
{
	if (src->pipe[0] == -1)
		return;
	sl_pipe_pool_put(&src->flow->wk->pipes, src->pipe);
	src->inpipe = 0;
}

/*
 * Push what is pending towards dst (its prefix, then the pipe of the
 * direction dst->peer -> dst).  1 when all is flushed, 0 when dst would
 * block (its write event armed, its source no longer read), -1 if the flow
 * is gone.
 */
static int
splice_flush(struct sl_half *dst)
{
	struct sl_half *src = dst->peer;

	while (dst->pre != NULL) {
		ssize_t n = send(dst->fd, dst->pre + dst->pre_off,
		    dst->pre_len - dst->pre_off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				goto block;
			return relay_abort(dst, errno, 1);
		}
		dst->pre_off += (uint32_t)n;
		dst->sent += (uint64_t)n;
		if (dst->pre_off == dst->pre_len) {
			sl_free(dst->pre);
			dst->pre = NULL;
		}
	}
	while (src->inpipe > 0) {
		ssize_t n = splice(src->pipe[0], NULL, dst->fd, NULL,
		    src->inpipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				goto block;
			return relay_abort(dst, errno, 1);
		}
		src->inpipe -= (uint32_t)n;
		dst->sent += (uint64_t)n;
	}
	splice_pipe_release(src);
	return 1;
block:
	event_del(&src->ev_rd);		/* backpressure: stop reading src */
	if (event_add(&dst->ev_wr, NULL) == -1) {
		sl_flow_close(dst->flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

/* src is readable: into its pipe, and on to its peer; a few times. */
static void
splice_read(struct sl_half *src)
{
	struct sl_flow *flow = src->flow;
	/* As much as the pipe holds: fewer splices per byte for bulk. */
	size_t want = flow->wk->pipes.size ? flow->wk->pipes.size : 65536;

	flow->last = sl_mono_ms();
	for (int i = 0; i < RELAY_BURST; i++) {
		ssize_t n;

		if (src->pipe[0] == -1 &&
		    sl_pipe_pool_get(&flow->wk->pipes, src->pipe) == -1) {
			sl_flow_close(flow, 'R', "no_pipe");
			return;
		}
		n = splice(src->fd, NULL, src->pipe[1], NULL, want,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == 0) {
			src->eof = 1;
			event_del(&src->ev_rd);
			splice_pipe_release(src);
			(void)relay_dir_end(src);
			return;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				splice_pipe_release(src);  /* idle: no pipe */
				return;
			}
			(void)relay_abort(src, errno, 0);
			return;
		}
		src->inpipe += (uint32_t)n;
		if (splice_flush(src->peer) <= 0)
			return;			/* blocked or gone */
		if ((size_t)n < RELAY_SMALL)
			return;			/* drained, most likely */
	}
}

/* dst can take more: flush, then read its source again (or end). */
static void
splice_writable(struct sl_half *dst)
{
	struct sl_half *src = dst->peer;

	dst->flow->last = sl_mono_ms();
	if (splice_flush(dst) <= 0)
		return;
	event_del(&dst->ev_wr);
	if (src->eof) {
		(void)relay_dir_end(src);
		return;
	}
	if (!event_pending(&src->ev_rd, EV_READ, NULL) &&
	    event_add(&src->ev_rd, NULL) == -1)
		sl_flow_close(dst->flow, 'R', "event_add");
}

/* Arm the direction src -> src->peer: flush a prefix first, else read. */
static int
splice_arm(struct sl_half *src)
{
	struct sl_half *dst = src->peer;
	int rc;

	if (dst->pre != NULL && (rc = splice_flush(dst)) <= 0)
		return rc == 0 ? 0 : -1;
	if (src->eof)
		return relay_dir_end(src);
	if (!event_pending(&src->ev_rd, EV_READ, NULL) &&
	    event_add(&src->ev_rd, NULL) == -1) {
		sl_flow_close(src->flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

static int
splice_prefix(struct sl_half *dst, const char *pre, size_t n)
{
	if (n == 0)
		return 0;
	if ((dst->pre = sl_alloc(n)) == NULL)
		return -1;
	memcpy(dst->pre, pre, n);
	dst->pre_len = (uint32_t)n;
	dst->pre_off = 0;
	return 0;
}

static int
splice_start(struct sl_flow *flow, const char *pre_up, size_t nup,
    const char *pre_down, size_t ndown)
{
	struct sl_half *hs[2] = { &flow->cli, &flow->srv };

	/* The read events stay registered as setup left them (half.h);
	 * the write events are armed only when a destination blocks. */
	for (int i = 0; i < 2; i++) {
		event_del(&hs[i]->ev_wr);
		hs[i]->on_read = splice_read;
		hs[i]->on_write = splice_writable;
	}
	if (splice_prefix(&flow->srv, pre_up, nup) == -1 ||
	    splice_prefix(&flow->cli, pre_down, ndown) == -1) {
		sl_flow_close(flow, 'R', "relay_init");
		return -1;
	}
	if (splice_arm(&flow->cli) == -1)
		return -1;
	return splice_arm(&flow->srv);
}

/* ------------------------------------------------------------------ */
/* copy engine                                                          */

/* The direction src -> dst may have ended, or may read again. */
static int
copy_check(struct sl_half *src)
{
	struct sl_half *dst = src->peer;
	size_t queued = evbuffer_get_length(sl_half_output(dst));

	if (src->eof) {
		if (!dst->shut && sl_half_drained(dst))
			return relay_dir_end(src);
		if (dst->shut)
			return relay_check_done(src->flow);
		return 0;
	}
	if (queued < src->flow->rt->set->relay_buffer)
		sl_half_read_on(src, 1);
	return 0;
}

/* Move what src has read to its peer.  0, or -1 if the flow is gone. */
static int
copy_move(struct sl_half *src)
{
	struct sl_flow *flow = src->flow;
	struct sl_half *dst = src->peer;

	flow->last = sl_mono_ms();
	if (sl_half_write_buffer(dst, sl_half_input(src)) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	/* Backpressure: stop reading until the destination drains. */
	if (evbuffer_get_length(sl_half_output(dst)) >=
	    flow->rt->set->relay_buffer)
		sl_half_read_on(src, 0);
	return 0;
}

static void
copy_read(struct sl_half *src)
{
	(void)copy_move(src);
}

/* dst's output went down to its low watermark: its source may go on. */
static void
copy_writable(struct sl_half *dst)
{
	dst->flow->last = sl_mono_ms();
	(void)copy_check(dst->peer);
}

static void
copy_event(struct sl_half *h, short what)
{
	if (what & BEV_EVENT_ERROR) {
		(void)relay_abort(h, EVUTIL_SOCKET_ERROR(),
		    (what & BEV_EVENT_WRITING) != 0);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	/* The peer's FIN: what it sent before is in the input already. */
	h->eof = 1;
	sl_half_read_on(h, 0);
	if (evbuffer_get_length(sl_half_input(h)) > 0 && copy_move(h) == -1)
		return;
	(void)copy_check(h);
}

static int
copy_prefix(struct sl_half *dst, const char *pre, size_t n)
{
	return n == 0 ? 0 : sl_half_write(dst, pre, n);
}

static int
copy_start(struct sl_flow *flow, const char *pre_up, size_t nup,
    const char *pre_down, size_t ndown)
{
	unsigned lowat = flow->rt->set->relay_buffer / 2;
	struct sl_half *hs[2] = { &flow->cli, &flow->srv };

	for (int i = 0; i < 2; i++) {
		if (sl_half_buffer(hs[i]) == -1) {
			sl_flow_close(flow, 'R', "oom");
			return -1;
		}
		sl_half_setcb(hs[i], copy_read, copy_writable, copy_event);
		/* The relay's timeout is idle-timeout, by the sweep. */
		bufferevent_set_timeouts(hs[i]->bev, NULL, NULL);
		bufferevent_setwatermark(hs[i]->bev, EV_WRITE, lowat, 0);
		bufferevent_setwatermark(hs[i]->bev, EV_READ, 0, 0);
		bufferevent_enable(hs[i]->bev, EV_WRITE);
	}
	if (copy_prefix(&flow->srv, pre_up, nup) == -1 ||
	    copy_prefix(&flow->cli, pre_down, ndown) == -1) {
		sl_flow_close(flow, 'R', "relay_init");
		return -1;
	}
	/* Bytes buffered before the relay began (after a "101") go first. */
	for (int i = 0; i < 2; i++) {
		if (evbuffer_get_length(sl_half_input(hs[i])) > 0 &&
		    copy_move(hs[i]) == -1)
			return -1;
	}
	/* Reading starts here, unless backpressure or a FIN says not. */
	if (copy_check(&flow->cli) == -1)
		return -1;
	return copy_check(&flow->srv);
}

/* ------------------------------------------------------------------ */

int
sl_relay_start(struct sl_flow *flow, const char *pre_up, size_t nup,
    const char *pre_down, size_t ndown)
{
	sl_flow_set_state(flow, SL_FLOW_RELAYING);
	flow->relaying = 1;
	flow->last = sl_mono_ms();
	if (flow->cli.kind == SL_HALF_RAW && flow->srv.kind == SL_HALF_RAW)
		return splice_start(flow, pre_up, nup, pre_down, ndown);
	return copy_start(flow, pre_up, nup, pre_down, ndown);
}
