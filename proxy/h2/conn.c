/*
 * conn.c — one HTTP/2 inspected connection: the sessions, the bytes
 * between them and the two TLS halves, the limits, the end (h2.h).
 *
 * After nghttp2's libevent example: what a half reads is fed to
 * nghttp2_session_mem_recv() and drained as far as consumed; then every
 * session sends what it can.  A send callback refuses (WOULDBLOCK) past
 * relay-buffer bytes queued towards a half, and a half whose own output
 * is that full is not read: a peer that does not read does not get to
 * send either.  Bodies are bounded by flow control (h2_int.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/alloc.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../policy/config.h"
#include "../flow.h"
#include "../req.h"
#include "../setup.h"
#include "../worker.h"
#include "h2_int.h"

#define H2_LINGER_MS	2000

static void	h2_cli_read(struct sl_half *cli);
static void	h2_cli_write(struct sl_half *cli);
static void	h2_cli_event(struct sl_half *cli, short what);
static void	h2_srv_read(struct sl_half *srv);
static void	h2_srv_write(struct sl_half *srv);
static void	h2_srv_event(struct sl_half *srv, short what);

size_t
h2_hiwat(const struct sl_h2 *h2)
{
	return h2->flow->rt->set->relay_buffer;
}

ssize_t
h2_write(struct sl_h2 *h2, struct sl_half *h, const uint8_t *data,
    size_t len)
{
	if (h->bev == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (sl_half_unsent(h) >= h2_hiwat(h2))
		return NGHTTP2_ERR_WOULDBLOCK;	/* h2_*_write comes back */
	if (sl_half_write(h, data, len) == -1)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return (ssize_t)len;
}

ssize_t
h2_provide(struct evbuffer *from, uint8_t *buf, size_t len, int eof,
    uint32_t *flags, int *deferred)
{
	int n;

	if ((n = evbuffer_remove(from, buf, len)) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (evbuffer_get_length(from) == 0) {
		if (eof) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			return n;
		}
		if (n == 0) {
			*deferred = 1;	/* resumed when bytes arrive */
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return n;
}

/*
 * A limit was hit: say which, once, then GOAWAY ENHANCE_YOUR_CALM and
 * the end once it is out.  Safe inside nghttp2 callbacks (it only queues
 * the frame; h2_after_io closes).
 */
void
h2_limit(struct sl_h2 *h2, const char *reason, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (h2->limit != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h2->limit = reason;
	sl_log(SL_LOG_WARN, "flow=%llu h2 limit %s: %s: GOAWAY "
	    "ENHANCE_YOUR_CALM, connection closed",
	    (unsigned long long)h2->flow->id, reason, msg);
	(void)nghttp2_session_terminate_session(h2->cs,
	    NGHTTP2_ENHANCE_YOUR_CALM);
}

/* The origin cannot take more requests: streams on it end, the client
 * is told to go elsewhere for new ones (GOAWAY NO_ERROR). */
void
h2_origin_lost(struct sl_h2 *h2, const char *why)
{
	struct h2_stream *st, *next;

	if (h2->origin_gone)
		return;
	h2->origin_gone = 1;
	sl_half_read_on(&h2->flow->srv, 0);
	for (st = h2->streams; st != NULL; st = next) {
		next = st->next;
		if (!st->sent || st->up_eof)
			continue;
		if (!st->responded)
			h2_stream_refuse(st, 502, why, 0);
		else
			h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	}
	if (!h2->goaway) {
		h2->goaway = 1;
		(void)nghttp2_submit_goaway(h2->cs, NGHTTP2_FLAG_NONE,
		    nghttp2_session_get_last_proc_stream_id(h2->cs),
		    NGHTTP2_NO_ERROR, NULL, 0);
	}
}

/* Feed what the half read to the session.  0, or nghttp2's error. */
static int
h2_recv(nghttp2_session *s, struct sl_half *h)
{
	struct evbuffer *in = sl_half_input(h);
	struct evbuffer_iovec v;
	ssize_t rv;

	while (evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rv = nghttp2_session_mem_recv(s, v.iov_base, v.iov_len);
		if (rv < 0)
			return (int)rv;
		evbuffer_drain(in, (size_t)rv);
	}
	return 0;
}

/* What a fatal error of the client session is called in the log. */
static const char *
h2_fatal_reason(int rv)
{
	switch (rv) {
	case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
		return "h2_continuation_flood";
	case NGHTTP2_ERR_FLOODED:
		return "h2_flood";
	case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
		return "h2_bad_preface";
	case NGHTTP2_ERR_NOMEM:
		return "oom";
	default:
		return "h2_protocol_error";
	}
}

/* Send what every session has, in an order that lets window updates
 * caused by one session's sending go out on the other. */
static int
h2_flush(struct sl_h2 *h2)
{
	int rv;

	if (h2->us != NULL && !h2->origin_gone &&
	    (rv = nghttp2_session_send(h2->us)) != 0)
		h2_origin_lost(h2, "origin_h2_error");
	if (h2->up_kind == H2_UP_H1)
		h1_pump(h2);
	if ((rv = nghttp2_session_send(h2->cs)) != 0)
		return rv;
	if (h2->us != NULL && !h2->origin_gone &&
	    (rv = nghttp2_session_send(h2->us)) != 0)
		h2_origin_lost(h2, "origin_h2_error");
	return 0;
}

static void
h2_end(struct sl_flow *flow)
{
	struct sl_h2 *h2 = flow->h2;
	const char *why = h2->limit;

	if (why != NULL)
		flow->failed = 1;
	sl_flow_close(flow, why != NULL ? 'C' : flow->term[0] != '\0' ?
	    flow->term[0] : h2->origin_gone ? 'S' : 'C', why);
}

/*
 * The client session has nothing more to say or hear: the end, once
 * what it queued is written.  After a GOAWAY for a limit the client is
 * usually still sending (a flood): closing at once, with its bytes
 * unread, would send a RST that destroys the GOAWAY in flight.  Its
 * input is read and discarded for a moment instead, until it closes.
 */
static void
h2_maybe_end(struct sl_h2 *h2)
{
	struct sl_flow *flow = h2->flow;

	if (!h2->closing && (h2->limit != NULL ||
	    (!nghttp2_session_want_read(h2->cs) &&
	    !nghttp2_session_want_write(h2->cs))))
		h2->closing = 1;
	if (!h2->closing || h2->lingering)
		return;
	if (sl_half_unsent(&flow->cli) > 0) {
		sl_half_read_on(&flow->cli, 0);
		return;			/* h2_cli_write comes back */
	}
	if (h2->limit == NULL || flow->cli.eof) {
		h2_end(flow);
		return;
	}
	h2->lingering = 1;
	sl_half_read_on(&flow->cli, 1);	/* h2_cli_read discards */
	flow_setup_timer(flow, H2_LINGER_MS, h2_end);
}

/*
 * After reading or any step that submitted frames: start the streams
 * whose headers arrived, send, and see whether the connection is over.
 * Not re-entered: a nested call (a stream decided at once, inside the
 * loop) leaves the work to the outer one.
 */
void
h2_after_io(struct sl_h2 *h2)
{
	struct h2_stream *st;
	struct sl_flow *flow = h2->flow;
	int gone = 0, rv;

	if (h2->in_io)
		return;
	h2->in_io = 1;
	/* Cleared below, or set by sl_h2_free while h2 is still there. */
	// cppcheck-suppress autoVariables
	h2->gone = &gone;
	while (h2->limit == NULL && (st = h2->startq) != NULL) {
		if ((h2->startq = st->qnext) == NULL)
			h2->startq_tail = &h2->startq;
		st->qnext = NULL;
		st->queued = 0;
		h2_stream_start(st);
		if (gone)
			return;		/* the pipeline closed the flow */
	}
	rv = h2_flush(h2);
	h2->gone = NULL;
	h2->in_io = 0;
	if (rv != 0) {
		sl_flow_log(flow, SL_LOG_INFO, "h2: %s", nghttp2_strerror(rv));
		sl_flow_close(flow, 'R', "h2_send_failed");
		return;
	}
	/* A client that does not read its responses is not read either. */
	if (!h2->closing && flow->cli.bev != NULL)
		sl_half_read_on(&flow->cli, sl_half_unsent(&flow->cli) <
		    h2_hiwat(h2));
	if (!h2->origin_gone && flow->srv.bev != NULL)
		sl_half_read_on(&flow->srv, sl_half_unsent(&flow->srv) <
		    h2_hiwat(h2) && (h2->up_kind == H2_UP_H2 ||
		    h1_want_read(h2)));
	h2_maybe_end(h2);
}

/* ------------------------------------------------------------------ */
/* the halves                                                           */

static void
h2_cli_read(struct sl_half *cli)
{
	struct sl_flow *flow = cli->flow;
	struct sl_h2 *h2 = flow->h2;
	int rv;

	flow->last = h2->last = sl_mono_ms();
	if (h2->closing) {
		evbuffer_drain(sl_half_input(cli),
		    evbuffer_get_length(sl_half_input(cli)));
		return;
	}
	if ((rv = h2_recv(h2->cs, cli)) != 0) {
		const char *why = h2->limit ? h2->limit : h2_fatal_reason(rv);

		sl_log(SL_LOG_WARN, "flow=%llu h2 limit %s: client session "
		    "ended (%s)", (unsigned long long)flow->id, why,
		    nghttp2_strerror(rv));
		h2->limit = why;
		/* A protocol error (a CONTINUATION flood...) is told with a
		 * GOAWAY like the limits; a flood of our own acks or no
		 * memory leaves nothing to say. */
		if (rv == NGHTTP2_ERR_NOMEM || rv == NGHTTP2_ERR_FLOODED ||
		    rv == NGHTTP2_ERR_CALLBACK_FAILURE ||
		    nghttp2_session_terminate_session(h2->cs,
		    NGHTTP2_ENHANCE_YOUR_CALM) != 0) {
			flow->failed = 1;
			sl_flow_close(flow, rv == NGHTTP2_ERR_NOMEM ? 'R' : 'C',
			    why);
			return;
		}
	}
	h2_after_io(h2);
}

static void
h2_cli_write(struct sl_half *cli)
{
	h2_after_io(cli->flow->h2);
}

static void
h2_cli_event(struct sl_half *cli, short what)
{
	struct sl_flow *flow = cli->flow;

	if (what & BEV_EVENT_TIMEOUT) {
		/* Output queued and not taken for idle-timeout. */
		sl_flow_close(flow, 'T', "idle_timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (flow->h2->lingering) {
			h2_end(flow);
			return;
		}
		sl_flow_close(flow, 'C', errno == ECONNRESET ? "client_reset" :
		    "client_error");
		return;
	}
	cli->eof = 1;
	if (flow->h2->lingering) {
		h2_end(flow);
		return;
	}
	/* Nothing can reach a client that closed: streams still open are
	 * cut short (and logged so). */
	sl_flow_close(flow, 'C', flow->h2->nstreams > 0 ? "client_closed" :
	    NULL);
}

static void
h2_srv_read(struct sl_half *srv)
{
	struct sl_flow *flow = srv->flow;
	struct sl_h2 *h2 = flow->h2;
	int rv;

	flow->last = sl_mono_ms();
	if (h2->origin_gone) {
		evbuffer_drain(sl_half_input(srv),
		    evbuffer_get_length(sl_half_input(srv)));
		return;
	}
	if (h2->up_kind == H2_UP_H1)
		h1_read(h2);
	else if ((rv = h2_recv(h2->us, srv)) != 0) {
		sl_flow_log(flow, SL_LOG_INFO, "h2 origin session: %s",
		    nghttp2_strerror(rv));
		h2_origin_lost(h2, "bad_origin_h2");
	}
	h2_after_io(h2);
}

static void
h2_srv_write(struct sl_half *srv)
{
	h2_after_io(srv->flow->h2);
}

static void
h2_srv_event(struct sl_half *srv, short what)
{
	struct sl_h2 *h2 = srv->flow->h2;

	srv->eof = 1;
	sl_half_read_on(srv, 0);
	if (h2->up_kind == H2_UP_H1 && !(what & BEV_EVENT_ERROR))
		h1_origin_eof(h2);	/* a body until close may end so */
	h2_origin_lost(h2, (what & BEV_EVENT_ERROR) ? "server_reset" :
	    "server_closed");
	h2_after_io(h2);
}

/* ------------------------------------------------------------------ */
/* idle and stalled                                                     */

static void
h2_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_h2 *h2 = arg;
	struct sl_flow *flow = h2->flow;
	const struct sl_settings *set = flow->rt->set;
	uint64_t now = sl_mono_ms();
	struct h2_stream *st;

	(void)fd;
	(void)what;
	if (h2->nstreams == 0 && now - h2->last >= set->http_idle_timeout &&
	    !h2->goaway) {
		/* Kept open and silent: a normal end, said with GOAWAY. */
		h2->goaway = 1;
		(void)nghttp2_submit_goaway(h2->cs, NGHTTP2_FLAG_NONE,
		    nghttp2_session_get_last_proc_stream_id(h2->cs),
		    NGHTTP2_NO_ERROR, NULL, 0);
		flow->term[0] = 'T';
		h2->closing = 1;
	}
	/* A client that keeps its window shut holds the response (bounded
	 * by the windows) and the stream: not for ever. */
	for (st = h2->streams; st != NULL && h2->limit == NULL; st = st->next)
		if (st->responded && !st->cli_closed &&
		    evbuffer_get_length(st->down) > 0 &&
		    now - st->last >= set->h2_stall_timeout)
			h2_limit(h2, "h2_window_stalled", "stream %d: %zu "
			    "bytes wait for a window for %llu ms", st->cid,
			    evbuffer_get_length(st->down),
			    (unsigned long long)(now - st->last));
	h2_after_io(h2);
}

/* ------------------------------------------------------------------ */
/* start and end                                                        */

static int
h2_cs_new(struct sl_h2 *h2)
{
	const struct sl_settings *set = h2->flow->rt->set;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, set->h2_max_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
		    set->h2_header_list_max },
		{ NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 },
	};
	nghttp2_option *opt;
	int rv;

	if (nghttp2_option_new(&opt) != 0)
		return -1;
	/* Windows open as the other side takes the bytes (consume). */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_continuations(opt, set->h2_max_continuations);
	/* Streams reset or done leave nothing behind (no priority tree). */
	nghttp2_option_set_no_closed_streams(opt, 1);
	/* Our own count (stream.c) logs and says ENHANCE_YOUR_CALM first;
	 * nghttp2's token bucket stays as a backstop above it. */
	nghttp2_option_set_stream_reset_rate_limit(opt,
	    (uint64_t)set->h2_reset_max + 1000, 33);
	rv = h2_srv_session_new(h2, opt);
	nghttp2_option_del(opt);
	if (rv != 0)
		return -1;
	if (nghttp2_submit_settings(h2->cs, NGHTTP2_FLAG_NONE, iv,
	    SL_NELEM(iv)) != 0 || nghttp2_session_set_local_window_size(
	    h2->cs, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
		return -1;
	return 0;
}

/* Which way to the origin: the ALPN it chose. */
static enum h2_up_kind
h2_up_kind_of(struct sl_flow *flow)
{
	const unsigned char *p;
	unsigned len;

	SSL_get0_alpn_selected(sl_half_ssl(&flow->srv), &p, &len);
	return sl_h2_alpn_is_h2(p, len) ? H2_UP_H2 : H2_UP_H1;
}

void
sl_h2_start(struct sl_flow *flow, const char *name)
{
	const struct sl_settings *set = flow->rt->set;
	struct timeval wr = { set->idle_timeout / 1000,
	    (set->idle_timeout % 1000) * 1000 };
	struct timeval one = { 1, 0 };
	char addr[SL_IP_STRLEN];
	struct sl_h2 *h2;

	flow_setup_timer_stop(flow);
	if ((h2 = sl_calloc(1, sizeof(*h2))) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	flow->h2 = h2;
	h2->flow = flow;
	h2->startq_tail = &h2->startq;
	h2->h1q_tail = &h2->h1q;
	h2->last = sl_mono_ms();
	h2->up_kind = h2_up_kind_of(flow);
	/* Every stream goes where the tunnel went, as HTTP/1.1 does. */
	flow->dst_ip = flow->req->dst_ip;
	flow->dst_port = flow->req->dst_port;
	flow->forwarded = 1;
	sl_flow_set_state(flow, SL_FLOW_RELAYING);
	if (flow->req->decided)
		flow->req->state = SL_FLOW_CLOSED;
	if (name == NULL)
		name = sl_ip_fmt(&flow->dst_ip, addr, sizeof(addr));
	if ((h2->name = sl_strdup(name)) == NULL || h2_cs_new(h2) == -1 ||
	    (h2->up_kind == H2_UP_H2 && h2_up_new(h2) == -1) ||
	    (h2->tick = event_new(flow->wk->base, -1, EV_PERSIST, h2_tick_cb,
	    h2)) == NULL || event_add(h2->tick, &one) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	sl_flow_log(flow, SL_LOG_DEBUG, "h2 for '%s', origin %s", name,
	    h2->up_kind == H2_UP_H2 ? "h2" : "http/1.1");
	sl_half_setcb(&flow->cli, h2_cli_read, h2_cli_write, h2_cli_event);
	sl_half_setcb(&flow->srv, h2_srv_read, h2_srv_write, h2_srv_event);
	bufferevent_setwatermark(flow->cli.bev, EV_WRITE, h2_hiwat(h2) / 2, 0);
	bufferevent_setwatermark(flow->srv.bev, EV_WRITE, h2_hiwat(h2) / 2, 0);
	/* A backstop: what a half reads is taken at once (sessions) or as
	 * there is room (HTTP/1.1 bodies), never more than this. */
	bufferevent_setwatermark(flow->cli.bev, EV_READ, 0, h2_hiwat(h2));
	bufferevent_setwatermark(flow->srv.bev, EV_READ, 0, h2_hiwat(h2));
	bufferevent_set_timeouts(flow->cli.bev, NULL, &wr);
	bufferevent_set_timeouts(flow->srv.bev, NULL, &wr);
	bufferevent_enable(flow->cli.bev, EV_READ | EV_WRITE);
	bufferevent_enable(flow->srv.bev, EV_READ | EV_WRITE);
	/* Decrypted bytes (the preface) may be there already. */
	if (evbuffer_get_length(sl_half_input(&flow->cli)) > 0)
		h2_cli_read(&flow->cli);
	else
		h2_after_io(h2);	/* our SETTINGS, both ways */
}

void
sl_h2_free(struct sl_flow *flow)
{
	struct sl_h2 *h2 = flow->h2;

	if (h2 == NULL)
		return;
	if (h2->gone != NULL)
		*h2->gone = 1;
	/* The halves are closed: nothing calls back.  Streams still there
	 * were cut short; each gets its event. */
	while (h2->streams != NULL) {
		h2->streams->failed = 1;
		h2_stream_free(h2->streams);
	}
	if (h2->tick != NULL)
		event_free(h2->tick);
	nghttp2_session_del(h2->cs);
	nghttp2_session_del(h2->us);
	sl_free(h2->name);
	sl_free(h2);
	flow->h2 = NULL;
}
