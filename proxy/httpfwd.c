/*
 * httpfwd.c — plain HTTP/1.1 forwarding on the flow's two halves.
 *
 * One client connection, a sequence of requests.  Each request is a
 * request object (req.h) carried through the setup pipeline on its own
 * (host, port, URL), its head rewritten for the origin (origin form,
 * hop-by-hop fields removed, Via), its body forwarded verbatim by its
 * framing, and the response head rewritten the same way and its body
 * forwarded verbatim.  Nothing is cached and no end-to-end header or body
 * byte is changed (the vistime updater requirement).
 *
 * Both halves are buffered: the client half is made so in place, the
 * server half is given each new server connection; the forwarder creates
 * no socket or bufferevent of its own.  The server connection is kept for
 * the next request to the same host:port and replaced otherwise; one that
 * sent a byte nobody asked for (past a response's end, or while idle) is
 * never reused, as those bytes would be taken for the next response.
 * Requests are handled one at a time: a pipelined request waits in the
 * client's input buffer (bounded by the read high-watermark) until the
 * previous response is complete.  After "101 Switching Protocols" the
 * flow becomes a tunnel: the one relay (relay.h) takes both halves over.
 *
 * Backpressure both ways, bodies and response heads alike (a server may
 * send 1xx heads without end): a side is not read while the other's
 * output holds relay-buffer bytes, and is read again below half of it.
 *
 * A client's FIN ends its requests, not its responses: every complete
 * request already received (pipelined ones too) is still answered and
 * flushed, then the connection is closed.  The halves count the bytes
 * written to each socket (half.h): bytes still queued at the close, or
 * when a server connection is dropped, are not counted, and a close that
 * loses some says why (client_reset...).
 *
 *   request side:  HEAD -> (CONNECTING) -> BODY -> DONE
 *   response side: IDLE -> HEAD -> BODY -> IDLE   (or the relay after 101)
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/http/http.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "httpfwd.h"
#include "pipeline.h"
#include "relay.h"
#include "req.h"
#include "setup.h"
#include "worker.h"

#define HF_SCAN_MAX	(16 * 1024)	/* bytes linearised per chunk scan */
#define HF_LINGER_MS	2000

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
	enum hf_req		 rq;
	enum hf_rsp		 rs;
	enum sl_http_method	 method;	/* of the current request */
	enum sl_http_body	 req_body, rsp_body;
	uint64_t		 req_left, rsp_left;
	struct sl_http_chunked	 req_ch, rsp_ch;
	char			*head;		/* the request head as received,
						   until it is sent */
	size_t			 head_len;
	char			*srv_host;	/* key of the open server conn */
	uint16_t		 srv_port;
	size_t			 req_parsed;	/* bytes the last MORE parse saw */
	size_t			 rsp_parsed;
	unsigned		 transparent:1;	/* origin-form, to flow->dst */
	unsigned		 fixed:1;	/* inspected: the one server
						   connection, never replaced */
	unsigned		 client_close:1; /* close after this response */
	unsigned		 srv_noreuse:1;	/* the server said close */
	unsigned		 upgrade:1;	/* websocket requested */
	unsigned		 closing:1;	/* flushing, then close */
	unsigned		 rsp_started:1;	/* response bytes sent to client */
	unsigned		 no_notify:1;	/* TLS: end without close_notify */
	unsigned		 lingering:1;	/* discarding input, then close */
	unsigned		 linger_after:1; /* linger once the output is out */
	unsigned		 log_pending:1;	/* a refusal, logged once the
						   output has been written */
	unsigned		 verbatim:1;	/* this exchange passes as is */
};

static const struct sl_req_ops hf_ops, hf_tp_ops;

static void	hf_next_request(struct sl_flow *flow);
static void	hf_pump_req_body(struct sl_flow *flow);
static void	hf_client_read(struct sl_half *cli);
static void	hf_client_write(struct sl_half *cli);
static void	hf_client_event(struct sl_half *cli, short what);
static void	hf_server_read(struct sl_half *srv);
static void	hf_server_write(struct sl_half *srv);
static void	hf_server_event(struct sl_half *srv, short what);

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

/*
 * An origin's response head has its own limits (response-header-max,
 * response-header-count-max: issue 12 item 9, a response with more
 * fields than a request may have got a 502); its status line is bounded
 * by the head's size alone.
 */
static struct sl_http_limits
hf_response_limits(const struct sl_flow *flow)
{
	const struct sl_settings *set = flow->rt->set;
	struct sl_http_limits lim = {
		.request_line_max = set->response_header_max,
		.header_max = set->response_header_max,
		.header_count_max = set->response_header_count_max,
	};

	return lim;
}

/*
 * Write the refusal that waited for the client's output to be written, so
 * that its `down` counts what was.  A refusal keeps its own reason and
 * code even if the client went away meanwhile (they are the request's):
 * the event says what was decided, down what arrived.
 */
static void
hf_log_deferred(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (!hf->log_pending)
		return;
	hf->log_pending = 0;
	sl_flow_log_refusal(flow);
}

void
sl_httpfwd_free(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (hf == NULL)
		return;
	/* Part of sl_flow_close, after the halves are closed (their counts
	 * final) and before its flow.end: a refusal still waiting for the
	 * output is written now; a request cut short (or a WebSocket tunnel,
	 * the continuation of its upgrade request) gets its own event. */
	hf_log_deferred(flow);
	if (flow->req->state == SL_FLOW_RELAYING)
		sl_flow_log_request(flow);
	sl_free(hf->head);
	sl_free(hf->srv_host);
	sl_free(hf);
	flow->http = NULL;
}

static void
hf_drop_server(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	/* What it had not sent never will be: the half counts so. */
	sl_half_close(&flow->srv);
	sl_free(hf->srv_host);
	hf->srv_host = NULL;
	hf->srv_noreuse = 0;
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

	bufferevent_set_timeouts(flow->cli.bev, read_on ? &rd : NULL, &wr);
}

/* The current request is over (answered, or refused and answered). */
static void
hf_req_done(struct sl_flow *flow)
{
	struct sl_req *req = flow->req;
	uint64_t up, down;

	if (req->state != SL_FLOW_RELAYING)
		return;
	sl_req_set_state(req, SL_FLOW_CLOSED);
	sl_flow_log_request(flow);
	if (sl_debug_on(SL_CAT_HTTP)) {
		sl_req_bytes(req, &up, &down);
		sl_debug(SL_CAT_HTTP, "flow=%llu %s %s: %u, up %llu down %llu "
		    "in %llu ms", (unsigned long long)flow->id, req->method,
		    req->url_host, req->status, (unsigned long long)up,
		    (unsigned long long)down,
		    (unsigned long long)(sl_mono_ms() - req->t0));
	}
}

/* ------------------------------------------------------------------ */
/* ending                                                               */

/*
 * Is the client's side written out, ready to close?  A TLS client gets
 * close_notify first (the end is the end), unless the ending is a
 * failure or a body delimited by an origin's close that came without its
 * own close_notify: a truncation must stay one.
 */
static int
hf_client_done(struct sl_flow *flow)
{
	struct sl_half *cli = &flow->cli;

	if (!sl_half_drained(cli))
		return 0;
	if (cli->kind == SL_HALF_TLS && !cli->shut && !flow->failed &&
	    !flow->http->no_notify) {
		sl_half_shutdown(cli);
		return sl_half_drained(cli);
	}
	return 1;
}

/* Close once the client's output has been written. */
static void
hf_close_after_flush(struct sl_flow *flow, char who)
{
	struct sl_httpfwd *hf = flow->http;

	hf->closing = 1;
	flow->term[0] = who;
	/* A head timer must not refuse again while we flush. */
	flow_setup_timer_stop(flow);
	sl_half_read_on(&flow->cli, 0);
	hf_client_timeouts(flow, 0);
	sl_half_read_on(&flow->srv, 0);
	if (hf_client_done(flow))
		sl_flow_close(flow, who, NULL);
	/* else: hf_client_write closes when drained */
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
	struct evbuffer *in = sl_half_input(&flow->cli);

	hf->lingering = 1;
	/* FIN, or close_notify for TLS.  A client gone meanwhile ends the
	 * linger by its error event. */
	sl_half_shutdown(&flow->cli);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setwatermark(flow->cli.bev, EV_READ, 0, 0);
	sl_half_read_on(&flow->cli, 1);
	flow_setup_timer_stop(flow);
	flow_setup_timer(flow, HF_LINGER_MS, hf_linger_end);
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
		if (flow->term[0] == '\0')
			flow->term[0] = 'S';
		who = flow_refusal(flow, 0, reason, 0);
		sl_flow_log_refusal(flow);
		sl_flow_close(flow, who, NULL);
		return;
	}
	who = flow_refusal(flow, status, reason, blocked);
	n = flow_http_error_text(flow, status, reason, blocked, resp,
	    sizeof(resp));
	/* Logged when the responses before this answer are out. */
	hf->log_pending = 1;
	hf_drop_server(flow);
	if (n < 0 || sl_half_write_own(&flow->cli, resp, (size_t)n) == -1) {
		sl_flow_close(flow, 'R', NULL);
		return;
	}
	hf->linger_after = 1;
	hf_close_after_flush(flow, who);
}

/* The pipeline's refusals: the same answer. */
static void
hf_refuse_req(struct sl_req *req, unsigned status, const char *reason,
    int blocked)
{
	hf_refuse(req->flow, status, reason, blocked);
}

/* ------------------------------------------------------------------ */
/* client side                                                          */

static void
hf_client_write(struct sl_half *cli)
{
	struct sl_flow *flow = cli->flow;
	struct sl_httpfwd *hf = flow->http;

	if (hf->closing && !hf->lingering && hf_client_done(flow)) {
		hf_log_deferred(flow);
		if (hf->linger_after) {
			hf_linger(flow);
			return;
		}
		sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'C', NULL);
		return;
	}
	/* Backpressure released: the server may be read again.  Nothing
	 * complete waits in its input: a read is processed to its end. */
	if (flow->srv.bev != NULL && !flow->srv.eof && !hf->closing)
		sl_half_read_on(&flow->srv, 1);
}

static void
hf_client_read(struct sl_half *cli)
{
	struct sl_flow *flow = cli->flow;
	struct sl_httpfwd *hf = flow->http;

	flow->last = sl_mono_ms();
	if (hf->lingering) {
		evbuffer_drain(sl_half_input(cli),
		    evbuffer_get_length(sl_half_input(cli)));
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
	if (evbuffer_get_length(sl_half_input(&flow->cli)) > 0) {
		hf_head_timeout(flow);	/* part of a head, then silence */
		return;
	}
	/* Kept-alive and silent for http-idle-timeout: a normal end. */
	sl_flow_close(flow, 'T', NULL);
}

static void
hf_client_event(struct sl_half *cli, short what)
{
	struct sl_flow *flow = cli->flow;
	struct sl_httpfwd *hf = flow->http;

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
	cli->eof = 1;
	sl_half_read_on(cli, 0);
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

/*
 * Forward body bytes from `from`'s input to `to` by framing; 1 when
 * complete, 0 for more, -1 on a framing error.
 */
static int
hf_move_body(struct sl_half *from, struct sl_half *to,
    enum sl_http_body body, uint64_t *left, struct sl_http_chunked *ch)
{
	struct evbuffer *in = sl_half_input(from);
	size_t avail = evbuffer_get_length(in);

	switch (body) {
	case SL_HTTP_BODY_NONE:
		return 1;
	case SL_HTTP_BODY_LENGTH: {
		size_t n = (uint64_t)avail < *left ? avail : (size_t)*left;

		if (sl_half_move(to, in, n) == -1)
			return -1;
		*left -= n;
		return *left == 0;
	}
	case SL_HTTP_BODY_CHUNKED:
		while (avail > 0) {
			size_t scan = SL_MIN(avail, HF_SCAN_MAX);
			const char *p = (const char *)evbuffer_pullup(in,
			    (ssize_t)scan);
			int done = 0;
			ssize_t used;

			if (p == NULL)
				return -1;
			used = sl_http_chunked_feed(ch, p, scan, &done);
			if (used < 0 || sl_half_move(to, in, (size_t)used) ==
			    -1)
				return -1;
			avail -= (size_t)used;
			if (done)
				return 1;
			if ((size_t)used < scan)
				return -1;	/* not done, yet stopped */
		}
		return 0;
	case SL_HTTP_BODY_EOF:
		return sl_half_write_buffer(to, in) == -1 ? -1 : 0;
	}
	return -1;
}

static void
hf_pump_req_body(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;
	int rc;

	rc = hf_move_body(&flow->cli, &flow->srv, hf->req_body,
	    &hf->req_left, &hf->req_ch);
	if (rc == -1) {
		hf_refuse(flow, 400, "bad_chunked_body", 0);
		return;
	}
	if (rc == 1) {
		/* Pipelined bytes wait in the kernel until the response. */
		hf->rq = RQ_DONE;
		sl_half_read_on(&flow->cli, 0);
		return;
	}
	if (flow->cli.eof) {
		/* A pipelined request after the FIN: its body cannot end. */
		sl_flow_close(flow, 'C', "client_closed_in_body");
		return;
	}
	if (evbuffer_get_length(sl_half_output(&flow->srv)) >=
	    flow->rt->set->relay_buffer)
		sl_half_read_on(&flow->cli, 0);
}

/* ------------------------------------------------------------------ */
/* starting a request                                                   */

/*
 * The head the server gets.  A transparent request decided `splice`
 * passes untransformed, as received: the client speaks to the origin, and
 * so does sluice (no Via, nothing removed; the response comes back as
 * sent too).  Others are rewritten for the origin (origin form, hop-by-hop
 * and Proxy-* fields removed) with Via if so configured: an explicit
 * client speaks to a proxy, and a proxy must say so (RFC 9110 section
 * 7.6.3).  0, or -1 after refusing or closing.
 */
static int
hf_write_request_head(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	struct sl_httpfwd *hf = flow->http;
	struct sl_http_limits lim = hf_limits(flow);
	size_t cap = hf->head_len + 256;
	char *out;
	ssize_t n;

	hf->verbatim = hf->transparent &&
	    flow->req->dec.action == SL_ACT_SPLICE;
	if (hf->verbatim)
		return sl_half_write(&flow->srv, hf->head, hf->head_len) == -1 ?
		    (sl_flow_close(flow, 'R', "oom"), -1) : 0;
	/* The same bytes parsed the same way: OK, as before. */
	if (sl_http_parse_request(hf->head, hf->head_len, &lim, &msg) !=
	    SL_HTTP_OK || SL_BUG_ON(msg.head_len != hf->head_len)) {
		sl_flow_close(flow, 'I', "reparse");
		return -1;
	}
	if ((out = sl_alloc(cap)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	n = sl_http_rewrite_request(hf->head, &msg, flow->rt->set->via, out,
	    cap);
	if (n < 0) {
		sl_free(out);
		hf_refuse(flow, 431, "head_too_large", 0);
		return -1;
	}
	if (sl_half_write(&flow->srv, out, (size_t)n) == -1) {
		sl_free(out);
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	sl_free(out);
	return 0;
}

/* The server connection is there: send the head, then the body. */
static void
hf_send_request(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	if (hf_write_request_head(flow) == -1)
		return;
	sl_free(hf->head);
	hf->head = NULL;
	hf->rq = RQ_BODY;
	hf->rs = RS_HEAD;
	hf->rsp_started = 0;
	sl_req_set_state(flow->req, SL_FLOW_RELAYING);
	if (!flow->cli.eof) {
		hf_client_timeouts(flow, 1);	/* the body's inactivity */
		sl_half_read_on(&flow->cli, 1);
	}
	sl_half_read_on(&flow->srv, 1);
	hf_pump_req_body(flow);
}

static void
hf_connected(struct sl_req *req, int fd)
{
	struct sl_flow *flow = req->flow;
	struct sl_httpfwd *hf = flow->http;
	const struct sl_settings *set = flow->rt->set;
	struct timeval rto = { set->idle_timeout / 1000,
	    (set->idle_timeout % 1000) * 1000 };

	if (fd == -1) {			/* the kept-alive connection */
		hf_send_request(flow);
		return;
	}
	if (sl_half_set_buffered(&flow->srv, fd) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	sl_half_setcb(&flow->srv, hf_server_read, hf_server_write,
	    hf_server_event);
	bufferevent_setwatermark(flow->srv.bev, EV_WRITE,
	    set->relay_buffer / 2, 0);
	bufferevent_set_timeouts(flow->srv.bev, &rto, NULL);
	bufferevent_enable(flow->srv.bev, EV_WRITE);
	hf->srv_host = sl_strdup(req->url_host);
	hf->srv_port = req->dst_port;
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

	if (flow->srv.bev == NULL || flow->srv.eof || hf->srv_noreuse)
		return 0;
	if ((n = evbuffer_get_length(sl_half_input(&flow->srv))) > 0) {
		hf_drop_unsolicited(flow, n);
		return 0;
	}
	if (flow->srv.kind == SL_HALF_TLS)
		return 1;	/* records (tickets) are no unsolicited bytes */
	r = recv(flow->srv.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	if (r > 0)
		hf_drop_unsolicited(flow, 0);
	return 0;			/* closed or reset meanwhile */
}

/*
 * The pipeline's reuse step: the same origin as the open connection, if
 * it is clean, carries the request; otherwise it goes.
 */
static int
hf_reuse(struct sl_req *req)
{
	struct sl_flow *flow = req->flow;
	struct sl_httpfwd *hf = flow->http;

	if (hf->fixed) {
		/* Inspected: the origin's TLS session is the only way there
		 * (its certificate was checked for this name). */
		if (flow->srv.bev != NULL && !flow->srv.eof &&
		    evbuffer_get_length(sl_half_input(&flow->srv)) == 0)
			return 1;
		hf_refuse(flow, 502, "server_closed", 0);
		return -1;
	}
	if (flow->srv.bev != NULL && hf->srv_host != NULL &&
	    (hf->transparent || (strcmp(hf->srv_host, req->url_host) == 0 &&
	    hf->srv_port == req->dst_port)) && hf_server_reusable(flow))
		return 1;
	hf_drop_server(flow);
	return 0;
}

/* What an explicit client may ask for; a transparent flow's port was
 * chosen by the redirect and the policy already. */
static int
hf_admit(struct sl_req *req)
{
	if (!sl_portset_has(req->flow->rt->set->http_ports, IPPROTO_TCP,
	    req->dst_port) && !(req->dec.flags & SL_DEC_PORT_EXPLICIT)) {
		hf_refuse(req->flow, 403, "port_not_allowed", 1);
		return -1;
	}
	return 0;
}

static const struct sl_req_ops hf_ops = {
	.refuse = hf_refuse_req,
	.admit = hf_admit,
	.reuse = hf_reuse,
	.connected = hf_connected,
};

/* Transparent: the client chose the address; the Host must resolve to
 * it for a rule that decided by name (sni-check). */
static const struct sl_req_ops hf_tp_ops = {
	.refuse = hf_refuse_req,
	.reuse = hf_reuse,
	.connected = hf_connected,
	.verify_name = 1,
};

/* A host as policy sees it: 1 an address (ip), 0 a name (name), -1 bad. */
static int
hf_host_parse(const char *buf, struct sl_http_span h, struct sl_ip *ip,
    char name[256])
{
	return sl_req_authority(buf + h.off, h.len, ip, name);
}

/*
 * The authority the origin will act on: the absolute URI's, when there is
 * one (RFC 9112 section 3.2.2: the origin ignores Host then), else Host.
 * A transparent client that names one host in the URI and another in Host
 * is refused: an origin that routes by Host would take the other.
 * 0, or -1 (refused).
 */
static int
hf_authority(struct sl_flow *flow, const char *buf,
    const struct sl_http_msg *m, struct sl_ip *ip, char name[256])
{
	struct sl_ip hip;
	char hname[256];
	int lit, hlit;

	if (m->form != SL_HTTP_FORM_ABSOLUTE)
		lit = hf_host_parse(buf, m->host_hdr, ip, name);
	else
		lit = hf_host_parse(buf, m->host, ip, name);
	if (lit == -1) {
		hf_refuse(flow, 400, "bad_host", 0);
		return -1;
	}
	if (flow->http->transparent && m->form == SL_HTTP_FORM_ABSOLUTE) {
		hlit = hf_host_parse(buf, m->host_hdr, &hip, hname);
		if (hlit != lit || (lit == 1 ? !sl_ip_equal(&hip, ip) :
		    strcmp(hname, name) != 0)) {
			hf_refuse(flow, 400, "host_uri_mismatch", 0);
			return -1;
		}
	}
	return lit;
}

/* Record this request's destination and URL.  0, or -1 (refused). */
static int
hf_target(struct sl_flow *flow, struct sl_req *req, const char *buf,
    const struct sl_http_msg *m)
{
	struct sl_httpfwd *hf = flow->http;
	char name[256];
	struct sl_ip ip;
	int lit;

	if ((lit = hf_authority(flow, buf, m, &ip, name)) == -1)
		return -1;
	switch (sl_req_set_path(req, buf + m->path.off, m->path.len)) {
	case -2:
		sl_flow_close(flow, 'R', "oom");
		return -1;
	case -1:
		hf_refuse(flow, 400, "bad_path", 0);
		return -1;
	}
	if (sl_req_set_authority(req, lit, &ip, name) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	req->dst_port = m->port;
	if (hf->transparent) {
		req->dst_ip = flow->dst_ip;
		req->dst_port = flow->dst_port;
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

/*
 * The next request becomes the flow's current one (the previous one is
 * over; the first reuses the request the flow was accepted with, when it
 * has not been decided yet).  NULL after closing the flow.
 */
static struct sl_req *
hf_req_next(struct sl_flow *flow)
{
	struct sl_req *req = flow->req;

	if (req->state == SL_FLOW_CLASSIFYING && !req->decided) {
		req->ops = flow->http->transparent ? &hf_tp_ops : &hf_ops;
		req->index = ++flow->nreq;
		return req;
	}
	if ((req = sl_req_new(flow, flow->http->transparent ? &hf_tp_ops :
	    &hf_ops)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return NULL;
	}
	sl_req_free(flow->req);
	flow->req = req;
	req->index = ++flow->nreq;
	return req;
}

/* A complete request head is at the front of the client's input. */
static void
hf_request(struct sl_flow *flow, const char *buf, const struct sl_http_msg *m)
{
	struct sl_httpfwd *hf = flow->http;
	struct sl_req *req;

	/* A transparent client speaks to the origin (origin form, or the
	 * absolute form an origin must accept too); an explicit one to a
	 * proxy (absolute form). */
	if (hf->transparent ? (m->form != SL_HTTP_FORM_ORIGIN &&
	    m->form != SL_HTTP_FORM_ABSOLUTE) || m->host_hdr.len == 0 :
	    m->form != SL_HTTP_FORM_ABSOLUTE) {
		hf_refuse(flow, 400, m->method == SL_HTTP_M_CONNECT ?
		    "connect_after_http" : hf->transparent ? "not_origin_form" :
		    "not_a_proxy_request", 0);
		return;
	}
	if ((req = hf_req_next(flow)) == NULL)
		return;
	req->method = hf_method_name(m->method);
	hf->method = m->method;
	if (hf_target(flow, req, buf, m) == -1)
		return;
	/* Rewritten (or not) once decided: hf_write_request_head. */
	if ((hf->head = sl_alloc(m->head_len)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	memcpy(hf->head, buf, m->head_len);
	hf->head_len = m->head_len;
	evbuffer_drain(sl_half_input(&flow->cli), m->head_len);
	hf->req_body = m->body;
	hf->req_left = m->content_length;
	sl_http_chunked_init(&hf->req_ch);
	hf->upgrade = (m->flags & SL_HTTP_F_UPGRADE_WS) != 0;
	if (m->flags & SL_HTTP_F_CLOSE)
		hf->client_close = 1;
	hf->rq = RQ_CONNECTING;
	/* Nothing more from the client until this request is under way. */
	sl_half_read_on(&flow->cli, 0);
	hf_client_timeouts(flow, 0);
	sl_pl_start(req);
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
	if (evbuffer_get_length(sl_half_input(&flow->cli)) > 0) {
		flow->reason = "incomplete_request";
		flow->failed = 1;
	}
	hf_close_after_flush(flow, 'C');
}

/* Parse the next request head from the client's input, if complete. */
static void
hf_next_request(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *in = sl_half_input(&flow->cli);
	struct sl_http_limits lim = hf_limits(flow);
	size_t len = evbuffer_get_length(in);
	const char *p;

	if (len == 0) {
		if (flow->cli.eof)
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
	flow_setup_timer_stop(flow);
	hf->req_parsed = 0;
	hf_request(flow, p, &msg);
	return;
more:
	if (flow->cli.eof) {
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
	hf_req_done(flow);
	if (flow->srv.bev != NULL) {
		extra = evbuffer_get_length(sl_half_input(&flow->srv));
		if (extra > 0)
			hf_drop_unsolicited(flow, extra);  /* never forwarded */
		else if (hf->rsp_body == SL_HTTP_BODY_EOF || flow->srv.eof ||
		    hf->srv_noreuse) {
			if (hf->fixed)
				hf->client_close = 1;	/* no other way there */
			else
				hf_drop_server(flow);
		}
		else	/* idle: a close or stray bytes are seen at once */
			sl_half_read_on(&flow->srv, 1);
	}
	if (hf->client_close) {
		hf_close_after_flush(flow, flow->cli.eof ? 'C' : 'S');
		return;
	}
	hf->rq = RQ_HEAD;
	if (!flow->cli.eof) {
		hf_client_timeouts(flow, 1);
		sl_half_read_on(&flow->cli, 1);
	}
	/* A pipelined request may wait; after the client's FIN, the end
	 * comes when none is left. */
	hf_next_request(flow);
}

/* After "101 Switching Protocols" both sides speak WebSocket: the relay
 * takes the halves over, with what each has buffered and a FIN the
 * client may have sent before the 101. */
static void
hf_start_tunnel(struct sl_flow *flow)
{
	struct sl_httpfwd *hf = flow->http;

	hf->rs = RS_IDLE;
	hf->rq = RQ_DONE;
	(void)sl_relay_start(flow, NULL, 0, NULL, 0);
}

/* Parse and forward a response head; 1 if the body may follow now. */
static int
hf_response_head(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	struct sl_httpfwd *hf = flow->http;
	struct evbuffer *in = sl_half_input(&flow->srv);
	struct sl_http_limits lim = hf_response_limits(flow);
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
		    flow->req->url_host, msg.err_reason);
		hf_refuse(flow, 502, "bad_response", 0);
		return -1;
	case SL_HTTP_OK:
		break;
	}
	if (msg.status == 101 && !hf->upgrade) {
		/* An upgrade nobody asked for cannot be relayed: what follows
		 * is no HTTP the client expects.  Nothing of it was sent. */
		sl_flow_log(flow, SL_LOG_INFO, "server '%s' switched protocols "
		    "unasked", flow->req->url_host);
		hf_refuse(flow, 502, "unexpected_101", 0);
		return -1;
	}
	/* Announce our close: asked for, forced by the framing, or the
	 * client's FIN with no pipelined request left to answer. */
	close = hf->client_close || msg.body == SL_HTTP_BODY_EOF ||
	    (flow->cli.eof &&
	    evbuffer_get_length(sl_half_input(&flow->cli)) == 0);
	if (hf->verbatim) {
		/* The exchange passes as is: the client hears the origin. */
		if (sl_half_write(&flow->cli, p, msg.head_len) == -1) {
			sl_flow_close(flow, 'R', "oom");
			return -1;
		}
	} else {
		if ((out = sl_alloc(msg.head_len + 256)) == NULL) {
			sl_flow_close(flow, 'R', "oom");
			return -1;
		}
		n = sl_http_rewrite_response(p, &msg, flow->rt->set->via,
		    close && msg.status >= 200, out, msg.head_len + 256);
		if (n < 0 || sl_half_write(&flow->cli, out, (size_t)n) == -1) {
			sl_free(out);
			hf_refuse(flow, 502, "bad_response", 0);
			return -1;
		}
		sl_free(out);
	}
	evbuffer_drain(in, msg.head_len);
	hf->rsp_parsed = 0;
	hf->rsp_started = 1;
	if (msg.status >= 200 || msg.status == 101)
		flow->req->status = msg.status;
	if (msg.status == 101) {
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
	if (msg.flags & SL_HTTP_F_CLOSE) {
		hf->client_close = hf->client_close || msg.body ==
		    SL_HTTP_BODY_EOF;
		hf->srv_noreuse = 1;	/* do not reuse this connection */
	}
	hf->rs = RS_BODY;
	return 1;
}

static void
hf_server_read(struct sl_half *srv)
{
	struct sl_flow *flow = srv->flow;
	struct sl_httpfwd *hf = flow->http;
	int rc;

	flow->last = sl_mono_ms();
	while (hf->rs == RS_HEAD) {
		if ((rc = hf_response_head(flow)) < 0)
			return;		/* the flow moved on */
		if (rc == 0)
			goto pressure;	/* need more */
	}
	if (hf->rs != RS_BODY) {
		/* Bytes with no request outstanding: the server is broken. */
		size_t n = evbuffer_get_length(sl_half_input(srv));

		if (n > 0)
			hf_drop_unsolicited(flow, n);
		return;
	}
	rc = hf_move_body(srv, &flow->cli, hf->rsp_body, &hf->rsp_left,
	    &hf->rsp_ch);
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
	 * alike: hf_client_write reads again below half. */
	if (evbuffer_get_length(sl_half_output(&flow->cli)) >=
	    flow->rt->set->relay_buffer)
		sl_half_read_on(srv, 0);
}

static void
hf_server_write(struct sl_half *srv)
{
	struct sl_flow *flow = srv->flow;
	struct sl_httpfwd *hf = flow->http;

	/* Backpressure released: read the client again for its body. */
	if (hf->rq == RQ_BODY && !flow->cli.eof)
		sl_half_read_on(&flow->cli, 1);
}

static void
hf_server_event(struct sl_half *srv, short what)
{
	struct sl_flow *flow = srv->flow;
	struct sl_httpfwd *hf = flow->http;
	int reset = (what & BEV_EVENT_ERROR) != 0;

	if (what & BEV_EVENT_TIMEOUT) {
		if (hf->rs == RS_IDLE && hf->fixed) {
			/* The only server connection idled out: so does the
			 * client's, once its output is out. */
			if (!hf->closing)
				hf_close_after_flush(flow, 'T');
			return;
		}
		if (hf->rs == RS_IDLE) {
			hf_drop_server(flow);	/* kept alive, unused */
			return;
		}
		if (hf->rq == RQ_BODY && !hf->rsp_started &&
		    sl_half_drained(srv)) {
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
	srv->eof = 1;
	switch (hf->rs) {
	case RS_IDLE:
		if (hf->fixed) {
			/* The origin ended its session: the client's ends
			 * too, once what it was sent is out. */
			sl_half_read_on(srv, 0);
			if (!hf->closing)
				hf_close_after_flush(flow, 'S');
			return;
		}
		hf_drop_server(flow);	/* kept-alive connection went away */
		return;
	case RS_HEAD:
		hf_refuse(flow, 502, reset ? "server_reset" :
		    "server_closed_before_response", 0);
		return;
	case RS_BODY:
		if (hf->rsp_body == SL_HTTP_BODY_EOF && !reset) {
			hf->client_close = 1;
			hf->no_notify = srv->kind == SL_HALF_TLS &&
			    !(SSL_get_shutdown(sl_half_ssl(srv)) &
			    SSL_RECEIVED_SHUTDOWN);
			hf_response_done(flow);
			return;
		}
		/* Truncated body: closing is the only way to say so.  The
		 * event waits for the flush, to count what was written. */
		flow->reason = reset ? "server_reset" : "server_truncated";
		flow->failed = 1;
		hf_close_after_flush(flow, 'S');
		return;
	}
}

/* ------------------------------------------------------------------ */

/* The forwarder takes the flow over: its state, the client's handlers. */
static struct sl_httpfwd *
hf_new(struct sl_flow *flow, int transparent)
{
	const struct sl_settings *set = flow->rt->set;
	struct sl_httpfwd *hf;

	if ((hf = sl_calloc(1, sizeof(*hf))) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return NULL;
	}
	flow->http = hf;
	flow->forwarded = 1;
	hf->transparent = transparent ? 1 : 0;
	hf->rq = RQ_HEAD;
	/* The connection relays requests from now on; each has its own
	 * state (req.h).  A tunnel's decision (inspected) is over. */
	sl_flow_set_state(flow, SL_FLOW_RELAYING);
	if (flow->req->decided)
		flow->req->state = SL_FLOW_CLOSED;
	/* The client half reads by buffer from now on, on the same fd. */
	sl_half_unwatch(&flow->cli);
	if (sl_half_buffer(&flow->cli) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return NULL;
	}
	sl_half_setcb(&flow->cli, hf_client_read, hf_client_write,
	    hf_client_event);
	bufferevent_enable(flow->cli.bev, EV_WRITE);
	/* Bound what a pipelining client can queue up while we work. */
	bufferevent_setwatermark(flow->cli.bev, EV_READ, 0,
	    set->header_max + set->relay_buffer);
	bufferevent_setwatermark(flow->cli.bev, EV_WRITE,
	    set->relay_buffer / 2, 0);
	return hf;
}

static void
hf_start(struct sl_flow *flow, int transparent)
{
	struct flow_setup *s = flow->setup;

	if (hf_new(flow, transparent) == NULL)
		return;
	/* What was read with the head (body, pipelined requests) goes
	 * first. */
	if (sl_half_unread(&flow->cli, s->buf, s->len) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	sl_free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
	sl_half_read_on(&flow->cli, 1);
	hf_next_request(flow);		/* the first head is complete */
}

void
sl_httpfwd_refuse_inspected(struct sl_flow *flow, unsigned status,
    const char *reason)
{
	struct sl_httpfwd *hf;

	if ((hf = hf_new(flow, 1)) == NULL)
		return;
	/* The refusal is the tunnel's: its request, its event. */
	hf_refuse(flow, status, reason, 0);
}

void
sl_httpfwd_start_inspected(struct sl_flow *flow, const char *name)
{
	const struct sl_settings *set = flow->rt->set;
	struct timeval rto = { set->idle_timeout / 1000,
	    (set->idle_timeout % 1000) * 1000 };
	struct sl_httpfwd *hf;

	/* Every request goes where the tunnel went (an explicit flow's
	 * CONNECT authority, resolved and connected). */
	flow->dst_ip = flow->req->dst_ip;
	flow->dst_port = flow->req->dst_port;
	if ((hf = hf_new(flow, 1)) == NULL)
		return;
	hf->fixed = 1;
	if ((hf->srv_host = sl_strdup(name)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	hf->srv_port = flow->dst_port;
	sl_half_setcb(&flow->srv, hf_server_read, hf_server_write,
	    hf_server_event);
	bufferevent_setwatermark(flow->srv.bev, EV_WRITE,
	    set->relay_buffer / 2, 0);
	bufferevent_set_timeouts(flow->srv.bev, &rto, NULL);
	bufferevent_enable(flow->srv.bev, EV_WRITE);
	/* A server that speaks while idle is seen at once. */
	sl_half_read_on(&flow->srv, 1);
	hf_client_timeouts(flow, 1);
	sl_half_read_on(&flow->cli, 1);
	hf_next_request(flow);	/* decrypted bytes may be there already */
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
