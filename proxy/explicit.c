/*
 * explicit.c — the explicit proxy: read the request head, then either
 * carry a CONNECT through the pipeline or hand an absolute-URI request to
 * the HTTP forwarder.
 *
 * CONNECT, step by step (pipeline.h):
 *   head -> decide on name/port (deny here costs no DNS) -> resolve ->
 *   decide again with the address if a rule needs it -> connect (happy
 *   eyeballs) -> "200" -> handshake: classify the tunnel's first client
 *   bytes (TLS: SNI must match the authority for domain rules; inspect
 *   fallback; opaque and STUN pass) -> splice.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/http/http.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "explicit.h"
#include "httpfwd.h"
#include "pipeline.h"
#include "req.h"
#include "setup.h"
#include "tunnel.h"
#include "worker.h"

static int	explicit_try(struct sl_flow *flow);
static void	explicit_read(struct sl_half *cli);

static void
head_timeout(struct sl_flow *flow)
{
	if (flow->setup->len == 0) {
		/* Connected and said nothing: flow.error if log-silent. */
		sl_flow_close(flow, 'T', "client_silent");
		return;
	}
	flow->term[0] = 'T';
	flow_http_refuse(flow, 408, "request_head_timeout", 0);
}

void
sl_explicit_start(struct sl_flow *flow)
{
	const struct sl_settings *set = flow->rt->set;

	if (flow_setup_new(flow) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	sl_flow_set_state(flow, SL_FLOW_CLASSIFYING);
	/*
	 * With TCP_DEFER_ACCEPT the request is usually there already: a
	 * whole head is handled without a trip through the loop, and
	 * without arming the head timer only to delete it.
	 */
	if (explicit_try(flow) == 0)
		return;
	if (sl_half_watch(&flow->cli, explicit_read) == -1)
		return;
	/* Slowloris: the whole head must arrive within this time. */
	flow_setup_timer(flow, set->client_header_timeout, head_timeout);
}

/* ------------------------------------------------------------------ */
/* CONNECT                                                              */

static void
connect_refuse(struct sl_req *req, unsigned status, const char *reason,
    int blocked)
{
	flow_http_refuse(req->flow, status, reason, blocked);
}

/*
 * Like Squid's SSL_ports: CONNECT only to connect-ports, unless the rule
 * that allowed the flow names its port explicitly (a vendor profile
 * allowing TURN on 3478, say).
 */
static int
connect_admit(struct sl_req *req)
{
	if (!sl_portset_has(req->flow->rt->set->connect_ports, IPPROTO_TCP,
	    req->dst_port) && !(req->dec.flags & SL_DEC_PORT_EXPLICIT)) {
		flow_http_refuse(req->flow, 403, "port_not_allowed", 1);
		return -1;
	}
	return 0;
}

static void
connect_connected(struct sl_req *req, int fd)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct sl_flow *flow = req->flow;
	struct flow_setup *s = flow->setup;

	sl_half_set_raw(&flow->srv, fd);
	req->status = 200;
	/* A fresh socket's send buffer is empty: 39 bytes always fit. */
	if (send(flow->cli.fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(ok) - 1) {
		sl_flow_close(flow, 'C', "client_gone");
		return;
	}
	/* Whatever followed the head is the tunnel's first bytes. */
	memmove(s->buf, s->buf + s->head_len, s->len - s->head_len);
	s->len -= s->head_len;
	s->head_len = 0;
	sl_tunnel_handshake(flow);
}

static const struct sl_req_ops connect_ops = {
	.refuse = connect_refuse,
	.admit = connect_admit,
	.connected = connect_connected,
};

static void
explicit_connect(struct sl_flow *flow, const char *buf,
    const struct sl_http_msg *msg)
{
	struct sl_req *req = flow->req;
	char name[256];
	int lit;

	req->ops = &connect_ops;
	req->method = "CONNECT";
	req->dst_port = msg->port;
	lit = sl_ip_parse_host(&req->dst_ip, buf + msg->host.off,
	    msg->host.len);
	if (lit == -1 || (lit == 0 && sl_name_normalise(buf + msg->host.off,
	    msg->host.len, name, sizeof(name)) == -1)) {
		memset(&req->dst_ip, 0, sizeof(req->dst_ip));
		flow_http_refuse(flow, 400, "bad_authority", 0);
		return;
	}
	req->host_literal = lit == 1;
	if (lit == 0 && sl_req_set_host(req, name) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	/* URL facts stay unknown: a URL rule first means "inspect". */
	sl_pl_start(req);
}

/* ------------------------------------------------------------------ */
/* the request head                                                     */

static void
explicit_dispatch(struct sl_flow *flow, const char *buf,
    const struct sl_http_msg *msg)
{
	struct flow_setup *s = flow->setup;

	flow_setup_timer_stop(flow);
	s->head_len = msg->head_len;
	switch (msg->form) {
	case SL_HTTP_FORM_AUTHORITY:
		/* Early tunnel bytes are kept while we resolve and connect. */
		if (flow_setup_hold(flow) == -1)
			return;
		explicit_connect(flow, buf, msg);
		return;
	case SL_HTTP_FORM_ABSOLUTE:
		sl_httpfwd_start(flow);
		return;
	default:
		/* An origin-form request is for a server, not for a proxy. */
		flow_http_refuse(flow, 400, "not_a_proxy_request", 0);
		return;
	}
}

/*
 * Read and parse the request head.  1 if more bytes are needed and
 * nothing was done; 0 if the flow moved on (or was closed).
 */
static int
explicit_try(struct sl_flow *flow)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	const struct sl_settings *set = flow->rt->set;
	struct sl_http_limits lim = {
		.request_line_max = set->request_line_max,
		.header_max = set->header_max,
		.header_count_max = set->header_count_max,
	};
	struct flow_setup *s = flow->setup;
	ssize_t n;

	/* Read a little past header_max so an oversized head is seen. */
	n = flow_setup_read(flow, set->header_max + 1024);
	if (n == -1)
		return 1;
	if (n == -2) {
		sl_flow_close(flow, 'C', errno == ECONNRESET ? "client_reset" :
		    "client_error");
		return 0;
	}
	/* Only re-parse when the new bytes can change the answer: a head
	 * trickled in byte by byte must not cost quadratic time. */
	if (n > 0 && s->parsed_len > 0 &&
	    !sl_http_need_parse(s->buf, s->parsed_len, s->len, &lim))
		return 1;
	s->parsed_len = s->len;
	switch (sl_http_parse_request(s->buf, s->len, &lim, &msg)) {
	case SL_HTTP_OK:
		explicit_dispatch(flow, s->buf, &msg);
		return 0;
	case SL_HTTP_BAD:
		flow_http_refuse(flow, msg.err_status, msg.err_reason, 0);
		return 0;
	case SL_HTTP_MORE:
		break;
	}
	if (n == 0) {
		if (s->len == 0) {
			sl_flow_close(flow, 'C', "client_silent");
			return 0;
		}
		sl_flow_close(flow, 'C', "incomplete_request");
		return 0;
	}
	if (n == -3) {
		/* The parser enforces the limits; this is a bug guard. */
		flow_http_refuse(flow, 431, "head_too_large", 0);
		return 0;
	}
	return 1;
}

static void
explicit_read(struct sl_half *cli)
{
	(void)explicit_try(cli->flow);
}
