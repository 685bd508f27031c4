/*
 * httpfwd.c — plain HTTP/1.1 forwarding on bufferevents.
 *
 * One client connection, a sequence of requests.  Each request is decided
 * on its own (host, port, URL), its head rewritten for the origin (origin
 * form, hop-by-hop fields removed, Via), its body forwarded verbatim by
 * its framing, and the response head rewritten the same way and its body
 * forwarded verbatim.  Nothing is cached and no end-to-end header or body
 * byte is changed (the vistime updater requirement).
 *
 * The server connection is kept for the next request to the same
 * host:port and replaced otherwise; one that sent a byte nobody asked for
 * (past a response's end, or while idle) is never reused, as those bytes
 * would be taken for the next response.  Requests are handled one at a
 * time: a pipelined request waits in the client's input buffer (bounded by
 * the read high-watermark) until the previous response is complete.
 *
 * Backpressure both ways, bodies and response heads alike (a server may
 * send 1xx heads without end): a side is not read while the other's
 * output holds relay-buffer bytes, and is read again below half of it.
 *
 * A client's FIN ends its requests, not its responses: every complete
 * request already received (pipelined ones too) is still answered and
 * flushed, then the connection is closed.  flow->down counts the bytes
 * written to the client socket and flow->up those written to server
 * sockets; bytes still queued at the close, or when a server connection
 * is dropped, are not counted, and a close that loses some says why
 * (client_reset...).
 *
 *   request side:  HEAD -> (CONNECTING) -> BODY -> DONE
 *   response side: IDLE -> HEAD -> BODY -> IDLE   (or TUNNEL after 101)
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/urlpath.h"
#include "../policy/config.h"
#include "../lib/http/http.h"
#include "httpfwd.h"
#include "setup.h"
#include "worker.h"

#define HF_SCAN_MAX	(16 * 1024)	/* bytes linearised per chunk scan */

enum hf_req {
	RQ_HEAD = 0,
	RQ_CONNECTING,
	RQ_BODY,
	RQ_DONE,
};

enum hf_rsp {
	RS_IDLE = 0,
	RS_HEAD,
	RS_BODY,
};

struct sl_httpfwd {
	struct bufferevent	*cbev, *sbev;	/* own their fds */
	enum hf_req		 rq;
	enum hf_rsp		 rs;
	enum sl_http_method	 method;	/* of the current request */
	enum sl_http_body	 req_body, rsp_body;
	uint64_t		 req_left, rsp_left;
	struct sl_http_chunked	 req_ch, rsp_ch;
	char			*pending;	/* rewritten head awaiting connect */
	size_t			 pending_len;
	char			*srv_host;	/* key of the open server conn */
	uint16_t		 srv_port;
	char			*url_host;	/* current request, for policy */
	char			*url_path;
	unsigned		 requests;
	size_t			 req_parsed;	/* bytes the last MORE parse saw */
	size_t			 rsp_parsed;
	uint64_t		 down_q;	/* server bytes queued to client */
	uint64_t		 up_q;		/* client bytes queued to servers
						 * (less those a dropped server
						 * connection never sent) */
	size_t			 own_q;		/* our error text, at the tail */
	const char		*event;		/* logged once the output has
						   been written (or at close) */
	const char		*ev_reason;	/* a refusal's, kept for it */
	char			 ev_term[2];
	struct sl_ip		 odst;		/* transparent: original dst */
	uint16_t		 oport;
	unsigned		 transparent:1;	/* origin-form, to odst */
	unsigned		 client_close:1; /* close after this response */
	unsigned		 client_eof:1;
	unsigned		 server_eof:1;
	unsigned		 upgrade:1;	/* websocket requested */
	unsigned		 tunnel:1;	/* after 101 */
	unsigned		 closing:1;	/* flushing, then close */
	unsigned		 rsp_started:1;	/* response bytes sent to client */
	unsigned		 shut_c:1, shut_s:1; /* tunnel half-closes */
	unsigned		 lingering:1;	/* discarding input, then close */
	unsigned		 linger_after:1; /* linger once the output is out */
};

static void	hf_next_request(struct sl_flow *flow);
static void	hf_pump_req_body(struct sl_flow *flow);
static void	hf_server_read_cb(struct bufferevent *bev, void *arg);
static void	hf_server_write_cb(struct bufferevent *bev, void *arg);
static void	hf_server_event_cb(struct bufferevent *bev, short what,
		    void *arg);

static struct sl_http_limits
hf_limits(const struct sl_flow *flow)
{
	const struct sl_settings *set = flow->rt->set;
	struct sl_http_limits lim = {
		.request_line_max = set->request_line_max,
		.header_max = set->header_max,
		.header_count_max = set->header_count_max,
	};

	return lim;
}

/* Bytes still waiting in bev's output buffer (0 without one). */
static uint64_t
hf_unsent(struct bufferevent *bev)
{
	return bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/*
 * flow->down and flow->up from what left the output buffers: the bytes
 * queued minus those still waiting there (our own error text, if any, is
 * behind the server's bytes to the client and not counted).  Idempotent;
 * before any event is logged.
 */
static void
hf_sync_counts(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	uint64_t left = hf_unsent(hf->cbev);

	left = left > hf->own_q ? left - hf->own_q : 0;
	flow->down = hf->down_q - SL_MIN(left, hf->down_q);
	flow->up = hf->up_q - SL_MIN(hf_unsent(hf->sbev), hf->up_q);
}

static void
hf_log_event(struct sl_flow *flow, const char *event)
{
	hf_sync_counts(flow);
	sl_flow_log_event(flow, event);
}

/*
 * Write the event that waited for the client's output to be written, so
 * that its down counts what was.  A refusal keeps its own reason and code
 * even if the client went away meanwhile: the event says what was
 * decided, down what arrived.
 */
static void
hf_log_deferred(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	const char *event = hf->event;

	if (event == NULL || flow->logged)
		return;
	hf->event = NULL;
	if (hf->ev_reason != NULL) {
		flow->reason = hf->ev_reason;
		flow->term[0] = hf->ev_term[0];
		if (hf->ev_term[1] != '\0')
			flow->term[1] = hf->ev_term[1];
	}
	hf_log_event(flow, event);
}

void
sl_httpfwd_free(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (hf == NULL)
		return;
	/* Part of sl_flow_close, before its flow.end: count what was
	 * written; an event still waiting for the output is written now. */
	hf_sync_counts(flow);
	hf_log_deferred(flow);
	if (hf->cbev != NULL)
		bufferevent_free(hf->cbev);
	if (hf->sbev != NULL)
		bufferevent_free(hf->sbev);
	sl_free(hf->pending);
	sl_free(hf->srv_host);
	sl_free(hf->url_host);
	sl_free(hf->url_path);
	sl_free(hf);
	flow->http = NULL;
}

static void
hf_drop_server(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (hf->sbev != NULL) {
		/* What it had not sent never will be. */
		hf->up_q -= SL_MIN(hf_unsent(hf->sbev), hf->up_q);
		bufferevent_free(hf->sbev);
		hf->sbev = NULL;
	}
	sl_free(hf->srv_host);
	hf->srv_host = NULL;
	hf->server_eof = 0;
}

/*
 * Client timeouts.  Reading (read_on): http-idle-timeout between two
 * reads while a head or a request body is awaited, as nginx's
 * client_body_timeout; libevent runs it only while reading is enabled, so
 * backpressure and waiting for a response do not count.  Writing, always:
 * idle-timeout without progress while output is queued, so a client that
 * stopped reading does not hold the flow for ever.
 */
static void
hf_client_timeouts(struct sl_flow *flow, int read_on)
{
	const struct sl_settings *set = flow->rt->set;
	struct timeval rd = { set->http_idle_timeout / 1000,
	    (set->http_idle_timeout % 1000) * 1000 };
	struct timeval wr = { set->idle_timeout / 1000,
	    (set->idle_timeout % 1000) * 1000 };

	bufferevent_set_timeouts(flow->http->cbev, read_on ? &rd : NULL, &wr);
}

/* ------------------------------------------------------------------ */
/* ending                                                               */

/* Close once the client's output has been written. */
static void
hf_close_after_flush(struct sl_flow *flow, char who, const char *reason)
{
	struct sl_httpfwd *hf = flow->http;

	hf->closing = 1;
	flow->term[0] = who;
	if (reason != NULL)
		flow->reason = reason;
	if (flow->setup->timer_set) {
		/* A head timer must not refuse again while we flush. */
		evtimer_del(&flow->setup->timer);
		flow->setup->timer_set = 0;
	}
	bufferevent_disable(hf->cbev, EV_READ);
	hf_client_timeouts(flow, 0);
	if (hf->sbev != NULL)
		bufferevent_disable(hf->sbev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(hf->cbev)) == 0)
		sl_flow_close(flow, who, NULL);
	/* else: hf_client_write_cb closes when drained */
}

static void
hf_linger_end(struct sl_flow *flow)
{
	sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'P', NULL);
}

/*
 * After an error response: shut down our side and discard what the
 * client still sends for a moment, so unread request bytes do not turn
 * our close into a RST that destroys the response in flight.
 */
static void
hf_linger(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	hf->lingering = 1;
	if (shutdown(bufferevent_getfd(hf->cbev), SHUT_WR) == -1) {
		hf_linger_end(flow);
		return;
	}
	evbuffer_drain(bufferevent_get_input(hf->cbev),
	    evbuffer_get_length(bufferevent_get_input(hf->cbev)));
	bufferevent_setwatermark(hf->cbev, EV_READ, 0, 0);
	bufferevent_enable(hf->cbev, EV_READ);
	if (flow->setup->timer_set)
		evtimer_del(&flow->setup->timer);
	flow_setup_timer(flow, 2000, hf_linger_end);
}

/*
 * Refuse the current request with an error response; the connection ends
 * after it, as its framing can no longer be trusted or policy said no.
 */
static void
hf_refuse(struct sl_flow *flow, unsigned status, const char *reason,
    int blocked)
{
	struct sl_httpfwd *hf = flow->http;
	char resp[1024], who;
	int n;

	if (hf->closing)
		return;			/* already ending: one answer, one event */
	if (hf->rsp_started) {
		/* Mid-response: the only honest signal left is closing. */
		flow->reason = reason;
		if (flow->term[0] == '\0')
			flow->term[0] = 'S';
		hf_log_event(flow, "flow.error");
		sl_flow_close(flow, flow->term[0], NULL);
		return;
	}
	who = flow_refuse_culprit(flow, status, blocked);
	flow->status = status;
	flow->reason = reason;
	flow->blocked = blocked ? 1 : 0;
	n = flow_http_error_text(flow, status, reason, blocked, resp,
	    sizeof(resp));
	/* Logged when the responses before this answer are out. */
	hf->event = blocked ? "flow.blocked" : "flow.error";
	hf->ev_reason = reason;
	memcpy(hf->ev_term, flow->term, sizeof(hf->ev_term));
	hf_drop_server(flow);
	if (n < 0 || bufferevent_write(hf->cbev, resp, (size_t)n) == -1) {
		sl_flow_close(flow, 'R', NULL);
		return;
	}
	hf->own_q = (size_t)n;	/* not the server's bytes: not in down */
	hf->linger_after = 1;
	hf_close_after_flush(flow, who, NULL);
}

/* ------------------------------------------------------------------ */
/* client side                                                          */

static void	hf_tunnel_check(struct sl_flow *flow);

static void
hf_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;

	(void)bev;
	if (hf->closing && !hf->lingering &&
	    evbuffer_get_length(bufferevent_get_output(hf->cbev)) == 0) {
		hf_log_deferred(flow);
		if (hf->linger_after) {
			hf_linger(flow);
			return;
		}
		sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'C', NULL);
		return;
	}
	if (hf->tunnel) {
		hf_tunnel_check(flow);
		return;
	}
	/* Backpressure released: the server may be read again.  Nothing
	 * complete waits in its input: a read is processed to its end. */
	if (hf->sbev != NULL && !hf->server_eof && !hf->closing)
		bufferevent_enable(hf->sbev, EV_READ);
}

static void
hf_tunnel_move(struct sl_flow *flow, struct bufferevent *from,
    struct bufferevent *to, uint64_t *count)
{
	struct evbuffer *in = bufferevent_get_input(from);
	size_t n = evbuffer_get_length(in);

	*count += n;
	evbuffer_add_buffer(bufferevent_get_output(to), in);
	/* Backpressure: stop reading until the other side drains. */
	if (evbuffer_get_length(bufferevent_get_output(to)) >=
	    flow->rt->set->relay_buffer)
		bufferevent_disable(from, EV_READ);
}

/*
 * A side's EOF while tunnelling: the first one names the end ("CR" /
 * "SR", the state being the one that FIN ended), as in the splice relay.
 */
static void
hf_tunnel_eof(struct sl_flow *flow, char who)
{
	if (flow->term[0] == '\0') {
		flow->term[0] = who;
		flow->term[1] = 'R';
	}
	hf_tunnel_check(flow);
}

/*
 * Tunnel half-closes: a side's FIN is passed on (shutdown SHUT_WR) once
 * everything it sent has been written to the other side; the flow then
 * drains (SL_FLOW_DRAINING, as the splice relay: an idle timeout from here
 * is "TD") and ends when both FINs have been passed on.
 */
static void
hf_tunnel_check(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *cout = bufferevent_get_output(hf->cbev);
	struct evbuffer *sout = bufferevent_get_output(hf->sbev);

	if (hf->client_eof && !hf->shut_s && evbuffer_get_length(sout) == 0) {
		hf->shut_s = 1;
		(void)shutdown(bufferevent_getfd(hf->sbev), SHUT_WR);
	}
	if (hf->server_eof && !hf->shut_c && evbuffer_get_length(cout) == 0) {
		hf->shut_c = 1;
		(void)shutdown(bufferevent_getfd(hf->cbev), SHUT_WR);
	}
	if (hf->shut_c && hf->shut_s) {
		sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'C', NULL);
		return;
	}
	if ((hf->shut_c || hf->shut_s) && flow->state == SL_FLOW_RELAYING)
		sl_flow_set_state(flow, SL_FLOW_DRAINING);
	if (!hf->client_eof && evbuffer_get_length(sout) <
	    flow->rt->set->relay_buffer)
		bufferevent_enable(hf->cbev, EV_READ);
	if (!hf->server_eof && evbuffer_get_length(cout) <
	    flow->rt->set->relay_buffer)
		bufferevent_enable(hf->sbev, EV_READ);
}

static void
hf_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;

	(void)bev;
	flow->last = sl_mono_ms();
	if (hf->lingering) {
		evbuffer_drain(bufferevent_get_input(hf->cbev),
		    evbuffer_get_length(bufferevent_get_input(hf->cbev)));
		return;
	}
	if (hf->tunnel) {
		hf_tunnel_move(flow, hf->cbev, hf->sbev, &hf->up_q);
		return;
	}
	switch (hf->rq) {
	case RQ_HEAD:
		hf_next_request(flow);
		return;
	case RQ_BODY:
		hf_pump_req_body(flow);
		return;
	default:
		return;		/* pipelined bytes wait in the buffer */
	}
}

static void	hf_head_timeout(struct sl_flow *flow);

static void
hf_client_timeout(struct sl_flow *flow, short what)
{
	struct sl_httpfwd *hf = flow->http;

	if (what & BEV_EVENT_WRITING) {
		/* Nothing written for idle-timeout: the client stopped
		 * reading; what is still queued is lost, and logged so. */
		sl_flow_close(flow, 'T', "idle_timeout");
		return;
	}
	if (hf->rq == RQ_BODY) {
		/* Part of a body, then silence: do not wait for the server
		 * (it waits for the rest) until idle-timeout. */
		flow->term[0] = 'T';
		hf_refuse(flow, 408, "request_body_timeout", 0);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(hf->cbev)) > 0) {
		hf_head_timeout(flow);	/* part of a head, then silence */
		return;
	}
	/* Kept-alive and silent for http-idle-timeout: a normal end. */
	sl_flow_close(flow, 'T', NULL);
}

static void
hf_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;

	(void)bev;
	if (hf->lingering) {
		hf_linger_end(flow);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		hf_client_timeout(flow, what);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		sl_flow_close(flow, 'C', errno == ECONNRESET ? "client_reset" :
		    "client_error");
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	/* The client sends no more; what it did send is still answered. */
	hf->client_eof = 1;
	bufferevent_disable(hf->cbev, EV_READ);
	if (hf->tunnel) {
		hf_tunnel_eof(flow, 'C');
		return;
	}
	if (hf->closing)
		return;			/* ends once the output is out */
	if (hf->rq == RQ_BODY) {
		sl_flow_close(flow, 'C', "client_closed_in_body");
		return;
	}
	if (hf->rs == RS_IDLE && hf->rq == RQ_HEAD) {
		hf_next_request(flow);	/* pipelined requests, or the end */
		return;
	}
	/* A request is under way: hf_response_done goes on from there. */
}

/* ------------------------------------------------------------------ */
/* request bodies                                                       */

/* Forward body bytes from `from` to `to` by framing; 1 when complete. */
static int
hf_move_body(struct evbuffer *from, struct evbuffer *to,
    enum sl_http_body body, uint64_t *left, struct sl_http_chunked *ch,
    uint64_t *count)
{
	size_t avail = evbuffer_get_length(from);

	switch (body) {
	case SL_HTTP_BODY_NONE:
		return 1;
	case SL_HTTP_BODY_LENGTH: {
		size_t n = (uint64_t)avail < *left ? avail : (size_t)*left;

		evbuffer_remove_buffer(from, to, n);
		*left -= n;
		*count += n;
		return *left == 0;
	}
	case SL_HTTP_BODY_CHUNKED:
		while (avail > 0) {
			size_t scan = SL_MIN(avail, HF_SCAN_MAX);
			const char *p = (const char *)evbuffer_pullup(from,
			    (ssize_t)scan);
			int done = 0;
			ssize_t used;

			if (p == NULL)
				return -1;
			used = sl_http_chunked_feed(ch, p, scan, &done);
			if (used < 0)
				return -1;
			evbuffer_remove_buffer(from, to, (size_t)used);
			*count += (uint64_t)used;
			avail -= (size_t)used;
			if (done)
				return 1;
			if ((size_t)used < scan)
				return -1;	/* not done, yet stopped */
		}
		return 0;
	case SL_HTTP_BODY_EOF:
		*count += avail;
		evbuffer_add_buffer(to, from);
		return 0;
	}
	return -1;
}

static void
hf_pump_req_body(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *out = bufferevent_get_output(hf->sbev);
	int rc;

	rc = hf_move_body(bufferevent_get_input(hf->cbev), out, hf->req_body,
	    &hf->req_left, &hf->req_ch, &hf->up_q);
	if (rc == -1) {
		hf_refuse(flow, 400, "bad_chunked_body", 0);
		return;
	}
	if (rc == 1) {
		/* Pipelined bytes wait in the kernel until the response. */
		hf->rq = RQ_DONE;
		bufferevent_disable(hf->cbev, EV_READ);
		return;
	}
	if (hf->client_eof) {
		/* A pipelined request after the FIN: its body cannot end. */
		sl_flow_close(flow, 'C', "client_closed_in_body");
		return;
	}
	if (evbuffer_get_length(out) >= flow->rt->set->relay_buffer)
		bufferevent_disable(hf->cbev, EV_READ);
}

/* ------------------------------------------------------------------ */
/* starting a request                                                   */

/* The server connection is there: send the head, then the body. */
static void
hf_send_request(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (bufferevent_write(hf->sbev, hf->pending, hf->pending_len) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	hf->up_q += hf->pending_len;
	sl_free(hf->pending);
	hf->pending = NULL;
	hf->rq = RQ_BODY;
	hf->rs = RS_HEAD;
	hf->rsp_started = 0;
	sl_flow_set_state(flow, SL_FLOW_RELAYING);
	if (!hf->client_eof) {
		hf_client_timeouts(flow, 1);	/* the body's inactivity */
		bufferevent_enable(hf->cbev, EV_READ);
	}
	bufferevent_enable(hf->sbev, EV_READ);
	hf_pump_req_body(flow);
}

static void
hf_connected(struct sl_flow *flow, int fd, const char *err, unsigned status)
{
	struct sl_httpfwd *hf = flow->http;
	const struct sl_settings *set = flow->rt->set;
	struct timeval rto = { set->idle_timeout / 1000,
	    (set->idle_timeout % 1000) * 1000 };

	if (fd == -1) {
		hf_refuse(flow, status, err, 0);
		return;
	}
	hf->sbev = bufferevent_socket_new(flow->wk->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (hf->sbev == NULL) {
		evutil_closesocket(fd);
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	bufferevent_setcb(hf->sbev, hf_server_read_cb, hf_server_write_cb,
	    hf_server_event_cb, flow);
	bufferevent_setwatermark(hf->sbev, EV_WRITE,
	    set->relay_buffer / 2, 0);
	bufferevent_set_timeouts(hf->sbev, &rto, NULL);
	hf->srv_host = sl_strdup(hf->url_host);
	hf->srv_port = flow->dst_port;
	if (hf->srv_host == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	hf_send_request(flow);
}

/*
 * A server that sent bytes no request asked for (past a response's end,
 * or while idle) is broken or hostile: those bytes would be read as the
 * answer to the next request.  Drop the connection, say so.
 */
static void
hf_drop_unsolicited(struct sl_flow *flow, size_t n)
{
	struct sl_httpfwd *hf = flow->http;
	char count[32] = "";

	if (n > 0)			/* 0: seen in the kernel, not read */
		snprintf(count, sizeof(count), " %zu", n);
	sl_flow_log(flow, SL_LOG_INFO, "server '%s' port %u sent%s bytes no "
	    "request asked for: connection closed, not reused",
	    hf->srv_host ? hf->srv_host : "?", hf->srv_port, count);
	hf_drop_server(flow);
}

/*
 * May the kept-alive server connection carry the next request?  Not if it
 * closed, or has bytes waiting: in its input, or still in the kernel
 * (a read that libevent has not done yet).
 */
static int
hf_server_reusable(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	size_t n;
	ssize_t r;
	char c;

	if (hf->sbev == NULL || hf->server_eof)
		return 0;
	if ((n = evbuffer_get_length(bufferevent_get_input(hf->sbev))) > 0) {
		hf_drop_unsolicited(flow, n);
		return 0;
	}
	r = recv(bufferevent_getfd(hf->sbev), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	if (r > 0)
		hf_drop_unsolicited(flow, 0);
	return 0;			/* closed or reset meanwhile */
}

static void
hf_go(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	const struct sl_settings *set = flow->rt->set;

	if (flow->dec.action == SL_ACT_DENY) {
		hf_refuse(flow, 403, flow_deny_reason(flow), 1);
		return;
	}
	/* What an explicit client may ask for; a transparent flow's port
	 * was chosen by the redirect and the policy already. */
	if (!hf->transparent &&
	    !sl_portset_has(set->http_ports, IPPROTO_TCP, flow->dst_port) &&
	    !(flow->dec.flags & SL_DEC_PORT_EXPLICIT)) {
		hf_refuse(flow, 403, "port_not_allowed", 1);
		return;
	}
	/* Same origin as the open connection: reuse it, if it is clean. */
	if (hf->sbev != NULL && hf->srv_host != NULL &&
	    (hf->transparent || (strcmp(hf->srv_host, hf->url_host) == 0 &&
	    hf->srv_port == flow->dst_port)) && hf_server_reusable(flow)) {
		hf_send_request(flow);
		return;
	}
	hf_drop_server(flow);
	if (flow->host == NULL || hf->transparent) {
		(void)flow_connect(flow, &flow->dst_ip, 1, hf_connected);
		return;
	}
	(void)flow_connect(flow, flow->setup->res.addr, flow->setup->res.naddr,
	    hf_connected);
}

/* Transparent: does the Host resolve to where the client is going? */
static void
hf_host_checked(struct sl_flow *flow, const struct sl_dns_result *res)
{
	struct sl_httpfwd *hf = flow->http;
	int found = 0;

	for (unsigned i = 0; res->status == SL_DNS_OK && i < res->naddr; i++)
		if (sl_ip_equal(&res->addr[i], &hf->odst))
			found = 1;
	if (!found) {
		sl_flow_log(flow, SL_LOG_INFO, "Host '%s' does not resolve to "
		    "the original destination: deciding without it",
		    flow->host);
		flow->sni_mismatch = 1;
		flow->name_untrusted = 1;
		flow_decide_url(flow, hf->url_host, hf->url_path);
		flow->name_untrusted = 0;
		if (flow->reason == NULL)
			flow->reason = "sni_mismatch";
	}
	hf_go(flow);
}

static void
hf_resolved(struct sl_flow *flow, const struct sl_dns_result *res)
{
	struct sl_httpfwd *hf = flow->http;

	switch (res->status) {
	case SL_DNS_OK:
		break;
	case SL_DNS_TIMEOUT:
		hf_refuse(flow, 504, "dns_timeout", 0);
		return;
	case SL_DNS_NXDOMAIN:
		hf_refuse(flow, 502, "dns_nxdomain", 0);
		return;
	default:
		hf_refuse(flow, 502, "dns_failure", 0);
		return;
	}
	flow->dst_ip = res->addr[0];
	flow_decide_url(flow, hf->url_host, hf->url_path);
	hf_go(flow);
}

/* Record this request's destination on the flow.  0, or -1 (refused). */
static int
hf_target(struct sl_flow *flow, const char *buf, const struct sl_http_msg *m)
{
	struct sl_httpfwd *hf = flow->http;
	char name[256], ipbuf[SL_IP_STRLEN];
	struct sl_ip ip;
	struct sl_http_span host = m->host;
	char *path;
	int lit;

	if (hf->transparent) {
		/* Host names the site; the client chose the address. */
		const char *h = buf + m->host_hdr.off;
		const char *colon = memrchr(h, ':', m->host_hdr.len);

		host = m->host_hdr;
		if (colon != NULL && memchr(h, ']', m->host_hdr.len) == NULL)
			host.len = (uint32_t)(colon - h);
		else if (colon != NULL && h[m->host_hdr.len - 1] != ']')
			host.len = (uint32_t)(colon - h);
	}
	lit = sl_ip_parse_host(&ip, buf + host.off, host.len);
	if (lit == -1 || (lit == 0 && sl_name_normalise(buf + host.off,
	    host.len, name, sizeof(name)) == -1)) {
		hf_refuse(flow, 400, "bad_host", 0);
		return -1;
	}
	/* Policy compares the path as origins route on it (decoded, slashes
	 * merged, dot segments removed: lib/urlpath.h), so "/%68ello" and
	 * "/x/../hello" are "/hello"; the request is forwarded as sent.  A
	 * path that has no single decoding ("%zz", "%00") is refused: no
	 * reading of it is safe for both allow and deny rules. */
	if ((path = sl_alloc(m->path.len + 2)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	if (sl_urlpath_normalise(buf + m->path.off, m->path.len, path,
	    m->path.len + 2) == -1) {
		sl_free(path);
		hf_refuse(flow, 400, "bad_path", 0);
		return -1;
	}
	sl_free(flow->host);
	sl_free(hf->url_host);
	sl_free(hf->url_path);
	flow->host = NULL;
	memset(&flow->dst_ip, 0, sizeof(flow->dst_ip));
	flow->host_literal = lit == 1;
	if (lit == 1) {
		flow->dst_ip = ip;
		hf->url_host = sl_strdup(sl_ip_fmt(&ip, ipbuf, sizeof(ipbuf)));
	} else {
		flow->host = sl_strdup(name);
		hf->url_host = sl_strdup(name);
	}
	hf->url_path = path;	/* "http://a.test?q" is "/?q" */
	flow->dst_port = m->port;
	if (hf->transparent) {
		flow->dst_ip = hf->odst;
		flow->dst_port = hf->oport;
	}
	if (hf->url_host == NULL || hf->url_path == NULL ||
	    (lit == 0 && flow->host == NULL)) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	return 0;
}

static const char *
hf_method_name(enum sl_http_method m)
{
	static const char *const names[] = {
		[SL_HTTP_M_OTHER] = "OTHER", [SL_HTTP_M_GET] = "GET",
		[SL_HTTP_M_HEAD] = "HEAD", [SL_HTTP_M_POST] = "POST",
		[SL_HTTP_M_PUT] = "PUT", [SL_HTTP_M_CONNECT] = "CONNECT",
		[SL_HTTP_M_OPTIONS] = "OPTIONS",
	};

	return names[m];
}

/* A complete request head is at the front of the client's input. */
static void
hf_request(struct sl_flow *flow, const char *buf, const struct sl_http_msg *m)
{
	struct sl_httpfwd *hf = flow->http;
	size_t cap = m->head_len + 256;
	ssize_t n;

	if (hf->transparent ? (m->form != SL_HTTP_FORM_ORIGIN ||
	    m->host_hdr.len == 0) : m->form != SL_HTTP_FORM_ABSOLUTE) {
		hf_refuse(flow, 400, m->method == SL_HTTP_M_CONNECT ?
		    "connect_after_http" : hf->transparent ? "not_origin_form" :
		    "not_a_proxy_request", 0);
		return;
	}
	flow->method = hf_method_name(m->method);
	hf->method = m->method;
	hf->requests++;
	flow->status = 0;
	flow->reason = NULL;
	if (hf_target(flow, buf, m) == -1)
		return;
	if ((hf->pending = sl_alloc(cap)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	n = sl_http_rewrite_request(buf, m, flow->rt->set->via, hf->pending,
	    cap);
	if (n < 0) {
		hf_refuse(flow, 431, "head_too_large", 0);
		return;
	}
	hf->pending_len = (size_t)n;
	evbuffer_drain(bufferevent_get_input(hf->cbev), m->head_len);
	hf->req_body = m->body;
	hf->req_left = m->content_length;
	sl_http_chunked_init(&hf->req_ch);
	hf->upgrade = (m->flags & SL_HTTP_F_UPGRADE_WS) != 0;
	if (m->flags & SL_HTTP_F_CLOSE)
		hf->client_close = 1;
	hf->rq = RQ_CONNECTING;
	/* Nothing more from the client until this request is under way. */
	bufferevent_disable(hf->cbev, EV_READ);
	hf_client_timeouts(flow, 0);

	flow->sni_mismatch = 0;
	flow_decide_url(flow, hf->url_host, hf->url_path);
	if (hf->transparent) {
		if (flow->host != NULL && (flow->dec.flags & SL_DEC_BY_NAME) &&
		    (flow->dec.mods & SL_MOD_SNI_CHECK)) {
			(void)flow_resolve(flow, hf_host_checked);
			return;
		}
		hf_go(flow);
		return;
	}
	if (flow->host != NULL && (flow->dec.need & SL_FACT_DST_IP ||
	    flow->dec.action != SL_ACT_DENY)) {
		/* Resolve: to connect, and to decide if an IP rule needs it. */
		(void)flow_resolve(flow, hf_resolved);
		return;
	}
	hf_go(flow);
}

static void
hf_head_timeout(struct sl_flow *flow)
{
	/* "TH": a kept-alive flow is RELAYING, yet this struck while a
	 * head was read, as for the first head. */
	flow->term[0] = 'T';
	flow->term[1] = 'H';
	hf_refuse(flow, 408, "request_head_timeout", 0);
}

/*
 * The client sent its FIN and no complete request is left: the end, once
 * the responses are out.  Part of a head is logged as incomplete.
 */
static void
hf_eof_end(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (evbuffer_get_length(bufferevent_get_input(hf->cbev)) > 0) {
		flow->reason = "incomplete_request";
		hf->event = "flow.error";
	}
	hf_close_after_flush(flow, 'C', NULL);
}

/* Parse the next request head from the client's input, if complete. */
static void
hf_next_request(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *in = bufferevent_get_input(hf->cbev);
	struct sl_http_limits lim = hf_limits(flow);
	size_t len = evbuffer_get_length(in);
	const char *p;

	if (len == 0) {
		if (hf->client_eof)
			hf_eof_end(flow);
		return;
	}
	len = SL_MIN(len, lim.header_max + 1024);
	if ((p = (const char *)evbuffer_pullup(in, (ssize_t)len)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	/* Only re-parse when the new bytes can change the answer. */
	if (hf->req_parsed > 0 && len > hf->req_parsed &&
	    !sl_http_need_parse(p, hf->req_parsed, len, &lim))
		goto more;
	hf->req_parsed = len;
	switch (sl_http_parse_request(p, len, &lim, &msg)) {
	case SL_HTTP_MORE:
		goto more;
	case SL_HTTP_BAD:
		hf_refuse(flow, msg.err_status, msg.err_reason, 0);
		return;
	case SL_HTTP_OK:
		break;
	}
	if (flow->setup->timer_set) {
		evtimer_del(&flow->setup->timer);
		flow->setup->timer_set = 0;
	}
	hf->req_parsed = 0;
	hf_request(flow, p, &msg);
	return;
more:
	if (hf->client_eof) {
		hf_eof_end(flow);	/* the head can no longer complete */
		return;
	}
	/* Slowloris: the head must be complete within the limit. */
	if (!flow->setup->timer_set)
		flow_setup_timer(flow, flow->rt->set->client_header_timeout,
		    hf_head_timeout);
}

/* ------------------------------------------------------------------ */
/* server side                                                          */

/* The response is complete: next request, or the end. */
static void
hf_response_done(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	size_t extra;

	hf->rs = RS_IDLE;
	hf->rsp_started = 0;	/* the next refusal can be a proper response */
	if (hf->rq != RQ_DONE) {
		/* Answered before the request body was sent (413, 401...):
		 * the connection's framing is no longer in step. */
		hf->client_close = 1;
	}
	if (hf->sbev != NULL) {
		extra = evbuffer_get_length(bufferevent_get_input(hf->sbev));
		if (extra > 0)
			hf_drop_unsolicited(flow, extra);  /* never forwarded */
		else if (hf->rsp_body == SL_HTTP_BODY_EOF || hf->server_eof)
			hf_drop_server(flow);
		else	/* idle: a close or stray bytes are seen at once */
			bufferevent_enable(hf->sbev, EV_READ);
	}
	if (hf->client_close) {
		hf_close_after_flush(flow, hf->client_eof ? 'C' : 'S', NULL);
		return;
	}
	hf->rq = RQ_HEAD;
	if (!hf->client_eof) {
		hf_client_timeouts(flow, 1);
		bufferevent_enable(hf->cbev, EV_READ);
	}
	/* A pipelined request may wait; after the client's FIN, the end
	 * comes when none is left. */
	hf_next_request(flow);
}

static void
hf_start_tunnel(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	/* After "101 Switching Protocols" both sides speak WebSocket. */
	hf->tunnel = 1;
	hf->rs = RS_IDLE;
	hf->rq = RQ_DONE;
	bufferevent_set_timeouts(hf->cbev, NULL, NULL);
	bufferevent_set_timeouts(hf->sbev, NULL, NULL);
	if (!hf->client_eof)
		bufferevent_enable(hf->cbev, EV_READ);
	bufferevent_enable(hf->sbev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(hf->cbev)) > 0)
		hf_tunnel_move(flow, hf->cbev, hf->sbev, &hf->up_q);
	if (evbuffer_get_length(bufferevent_get_input(hf->sbev)) > 0)
		hf_tunnel_move(flow, hf->sbev, hf->cbev, &hf->down_q);
	if (hf->client_eof)
		hf_tunnel_eof(flow, 'C');	/* its FIN came before the 101 */
}

/* Parse and forward a response head; 1 if the body may follow now. */
static int
hf_response_head(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *in = bufferevent_get_input(hf->sbev);
	struct sl_http_limits lim = hf_limits(flow);
	size_t len = SL_MIN(evbuffer_get_length(in), lim.header_max + 1024);
	const char *p;
	char *out;
	ssize_t n;
	int close;

	if (len == 0)
		return 0;
	if ((p = (const char *)evbuffer_pullup(in, (ssize_t)len)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	if (hf->rsp_parsed > 0 && len > hf->rsp_parsed &&
	    !sl_http_need_parse(p, hf->rsp_parsed, len, &lim))
		return 0;
	hf->rsp_parsed = len;
	switch (sl_http_parse_response(p, len, &lim, hf->method, &msg)) {
	case SL_HTTP_MORE:
		return 0;
	case SL_HTTP_BAD:
		sl_flow_log(flow, SL_LOG_INFO, "bad response from %s: %s",
		    hf->url_host, msg.err_reason);
		hf_refuse(flow, 502, "bad_response", 0);
		return -1;
	case SL_HTTP_OK:
		break;
	}
	/* Announce our close: asked for, forced by the framing, or the
	 * client's FIN with no pipelined request left to answer. */
	close = hf->client_close || msg.body == SL_HTTP_BODY_EOF ||
	    (hf->client_eof &&
	    evbuffer_get_length(bufferevent_get_input(hf->cbev)) == 0);
	if ((out = sl_alloc(msg.head_len + 256)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	n = sl_http_rewrite_response(p, &msg, flow->rt->set->via,
	    close && msg.status >= 200, out, msg.head_len + 256);
	if (n < 0 || bufferevent_write(hf->cbev, out, (size_t)n) == -1) {
		sl_free(out);
		hf_refuse(flow, 502, "bad_response", 0);
		return -1;
	}
	sl_free(out);
	evbuffer_drain(in, msg.head_len);
	hf->rsp_parsed = 0;
	hf->down_q += (uint64_t)n;
	hf->rsp_started = 1;
	if (msg.status >= 200 || msg.status == 101)
		flow->status = msg.status;
	if (msg.status == 101) {
		if (!hf->upgrade) {
			/* An upgrade nobody asked for cannot be relayed. */
			sl_flow_close(flow, 'S', "unexpected_101");
			return -1;
		}
		hf_start_tunnel(flow);
		return -1;		/* no HTTP framing any more */
	}
	if (msg.status < 200) {
		hf->rsp_started = 0;	/* 1xx: the final response follows */
		return 1;
	}
	hf->rsp_body = msg.body;
	hf->rsp_left = msg.content_length;
	sl_http_chunked_init(&hf->rsp_ch);
	if (msg.flags & SL_HTTP_F_CLOSE)
		hf->client_close = hf->client_close || msg.body ==
		    SL_HTTP_BODY_EOF;
	if (msg.flags & SL_HTTP_F_CLOSE)
		hf->server_eof = 1;	/* do not reuse this connection */
	hf->rs = RS_BODY;
	return 1;
}

static void
hf_server_read_cb(struct bufferevent *bev, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *out = bufferevent_get_output(hf->cbev);
	int rc;

	(void)bev;
	flow->last = sl_mono_ms();
	if (hf->tunnel) {
		hf_tunnel_move(flow, hf->sbev, hf->cbev, &hf->down_q);
		return;
	}
	while (hf->rs == RS_HEAD) {
		if ((rc = hf_response_head(flow)) < 0)
			return;		/* the flow moved on */
		if (rc == 0)
			goto pressure;	/* need more */
	}
	if (hf->rs != RS_BODY) {
		/* Bytes with no request outstanding: the server is broken. */
		size_t n = evbuffer_get_length(bufferevent_get_input(hf->sbev));

		if (n > 0)
			hf_drop_unsolicited(flow, n);
		return;
	}
	rc = hf_move_body(bufferevent_get_input(hf->sbev), out, hf->rsp_body,
	    &hf->rsp_left, &hf->rsp_ch, &hf->down_q);
	if (rc == -1) {
		hf_refuse(flow, 502, "bad_response_body", 0);
		return;
	}
	if (rc == 1) {
		hf_response_done(flow);
		return;
	}
pressure:
	/* Interim heads (a server may send 1xx without end) and bodies
	 * alike: hf_client_write_cb reads again below half. */
	if (evbuffer_get_length(out) >= flow->rt->set->relay_buffer)
		bufferevent_disable(hf->sbev, EV_READ);
}

static void
hf_server_write_cb(struct bufferevent *bev, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;

	(void)bev;
	if (hf->tunnel) {
		hf_tunnel_check(flow);
		return;
	}
	/* Backpressure released: read the client again for its body. */
	if (hf->rq == RQ_BODY && !hf->client_eof)
		bufferevent_enable(hf->cbev, EV_READ);
}

static void
hf_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sl_flow *flow = arg;
	struct sl_httpfwd *hf = flow->http;
	int reset = (what & BEV_EVENT_ERROR) != 0;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		if (hf->rs == RS_IDLE && !hf->tunnel) {
			hf_drop_server(flow);	/* kept alive, unused */
			return;
		}
		if (hf->rq == RQ_BODY && !hf->rsp_started &&
		    evbuffer_get_length(bufferevent_get_output(hf->sbev)) ==
		    0) {
			/* Both wait for the rest of the body: the client's
			 * stall (idle-timeout shorter than http-idle-timeout). */
			flow->term[0] = 'T';
			hf_refuse(flow, 408, "request_body_timeout", 0);
			return;
		}
		hf_refuse(flow, 504, "response_timeout", 0);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	hf->server_eof = 1;
	if (hf->tunnel) {
		if (reset) {
			sl_flow_close(flow, 'S', "server_reset");
			return;
		}
		bufferevent_disable(hf->sbev, EV_READ);
		hf_tunnel_eof(flow, 'S');
		return;
	}
	switch (hf->rs) {
	case RS_IDLE:
		hf_drop_server(flow);	/* kept-alive connection went away */
		return;
	case RS_HEAD:
		hf_refuse(flow, 502, reset ? "server_reset" :
		    "server_closed_before_response", 0);
		return;
	case RS_BODY:
		if (hf->rsp_body == SL_HTTP_BODY_EOF && !reset) {
			hf->client_close = 1;
			hf_response_done(flow);
			return;
		}
		/* Truncated body: closing is the only way to say so.  The
		 * event waits for the flush, to count what was written. */
		flow->reason = reset ? "server_reset" : "server_truncated";
		hf->event = "flow.error";
		hf_close_after_flush(flow, 'S', NULL);
		return;
	}
}

/* ------------------------------------------------------------------ */

static void
hf_start(struct sl_flow *flow, int transparent)
{
	const struct sl_settings *set = flow->rt->set;
	struct flow_setup *s = flow->setup;
	struct sl_httpfwd *hf;

	if ((hf = sl_calloc(1, sizeof(*hf))) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	flow->http = hf;
	flow->http_forwarded = 1;
	hf->transparent = transparent ? 1 : 0;
	hf->odst = flow->dst_ip;
	hf->oport = flow->dst_port;
	sl_flow_unwatch_cli(flow);	/* the bufferevent reads from now on */
	hf->cbev = bufferevent_socket_new(flow->wk->base, flow->cfd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (hf->cbev == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	flow->cfd = -1;			/* the bufferevent owns it now */
	bufferevent_setcb(hf->cbev, hf_client_read_cb, hf_client_write_cb,
	    hf_client_event_cb, flow);
	/* Bound what a pipelining client can queue up while we work. */
	bufferevent_setwatermark(hf->cbev, EV_READ, 0,
	    set->header_max + set->relay_buffer);
	bufferevent_setwatermark(hf->cbev, EV_WRITE, set->relay_buffer / 2, 0);
	/*
	 * What was read with the head (body, pipelined requests) goes first.
	 * A bufferevent keeps the end of its input frozen against outside
	 * writers; we are the one legitimate exception.
	 */
	{
		struct evbuffer *in = bufferevent_get_input(hf->cbev);
		int rc;

		evbuffer_unfreeze(in, 0);
		rc = evbuffer_add(in, s->buf, s->len);
		evbuffer_freeze(in, 0);
		if (rc == -1) {
			sl_flow_close(flow, 'R', "oom");
			return;
		}
	}
	sl_free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
	hf->rq = RQ_HEAD;
	bufferevent_enable(hf->cbev, EV_READ);
	hf_next_request(flow);		/* the first head is complete */
}

void
sl_httpfwd_start(struct sl_flow *flow)
{
	hf_start(flow, 0);
}

void
sl_httpfwd_start_transparent(struct sl_flow *flow)
{
	hf_start(flow, 1);
}

int
sl_httpfwd_is_tunnel(const struct sl_flow *flow)
{
	return flow->http != NULL && flow->http->tunnel;
}
