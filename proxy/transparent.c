/*
 * transparent.c — flows nftables redirected (or TPROXYed) to sluiced.
 *
 *   accept -> original destination -> first bytes (ClientHello: SNI;
 *   STUN; opaque; nothing within peek-timeout) -> the pipeline: decide ->
 *   SNI check (does the name resolve to the original destination?) ->
 *   connect to the original destination -> splice, with the bytes read so
 *   far sent first.  Plain HTTP goes to the HTTP forwarder instead: each
 *   request is decided on its own (Host, URL), a spliced one forwarded
 *   untransformed.
 *
 * SNI spoofing: a client can put any name in its ClientHello and send it
 * to any address.  A deny rule that names it holds wherever it was sent; a
 * rule that grants something on that name only holds if the name really
 * resolves (with our resolver) to the address the client is going to; if
 * not, the most restrictive decision in play holds and the log says
 * sni_mismatch (host_mismatch for the Host of plain HTTP): pipeline.c.
 */
#include <errno.h>
#include <event2/event.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "classify.h"
#include "httpfwd.h"
#include "inspect.h"
#include "origdst.h"
#include "pipeline.h"
#include "req.h"
#include "setup.h"
#include "transparent.h"
#include "tunnel.h"
#include "worker.h"

/* Is dst one of our own listeners?  Connecting there would loop. */
static int
tp_is_loop(const struct sl_flow *flow)
{
	const struct sl_rt *rt = flow->rt;
	int ours = sl_rt_is_local(rt, &flow->dst_ip) ||
	    sl_ip_is_loopback(&flow->dst_ip);

	if (!ours)
		return 0;
	for (size_t i = 0; i < rt->nlports; i++)
		if (rt->lports[i] == flow->dst_port)
			return 1;
	return 0;
}

/*
 * Refuse in the flow's own language: a blocked HTTP request gets a
 * response; anything else a reset, as the server would have sent.
 */
static void
tp_refuse(struct sl_req *req, unsigned status, const char *reason,
    int blocked)
{
	struct sl_flow *flow = req->flow;

	if (blocked && flow->proto == SL_PROTO_HTTP) {
		flow_http_refuse(flow, status, reason, 1);
		return;
	}
	flow_tcp_refuse(flow, reason, blocked, 1);
}

/* The decision is final: the content conditions, before we connect. */
static int
tp_admit(struct sl_req *req)
{
	struct sl_flow *flow = req->flow;
	struct sl_classify c;

	memset(&c, 0, sizeof(c));
	c.proto = (enum sl_flow_proto)flow->proto;
	c.hello = flow->setup->hello;
	return sl_tunnel_apply(req, &c);
}

static void
tp_connected(struct sl_req *req, int fd)
{
	sl_half_set_raw(&req->flow->srv, fd);
	if (req->inspecting) {
		sl_inspect_start(req->flow);
		return;
	}
	sl_tunnel_splice(req->flow);
}

static const struct sl_req_ops tp_ops = {
	.refuse = tp_refuse,
	.admit = tp_admit,
	.connected = tp_connected,
	.verify_name = 1,
};

/* First bytes classified (or none came): take the name, decide. */
static void
tp_classified(struct sl_flow *flow, const struct sl_classify *c)
{
	struct flow_setup *s = flow->setup;
	struct sl_req *req = flow->req;
	const char *name = NULL;
	char buf[256];
	size_t nlen = 0;

	flow_setup_timer_stop(flow);
	/* Bytes sent meanwhile join the prefix for the server. */
	if (flow_setup_hold(flow) == -1)
		return;
	sl_tunnel_note(flow, c);
	s->hello = c->hello;
	if (sl_tunnel_bad_sni(flow, c) == -1)
		return;
	/*
	 * Plain HTTP is a sequence of requests, each decided on its own by
	 * the authority the origin will use (its Host, checked like an SNI,
	 * and its URL): a connection whose first request is allowed must not
	 * carry a second one past a deny.  The forwarder reads them.
	 */
	if (c->proto == SL_PROTO_HTTP) {
		sl_httpfwd_start_transparent(flow);
		return;
	}
	if (c->proto == SL_PROTO_TLS && c->hello.has_sni) {
		name = c->hello.sni;
		nlen = strlen(name);
	}
	if (name != NULL && sl_name_normalise(name, nlen, buf, sizeof(buf)) == 0
	    && sl_req_set_host(req, buf) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	/* No URL can be seen here: a URL rule would need inspection. */
	req->url_final = 1;
	sl_pl_start(req);
}

/* An HTTP head still incomplete at client-header-timeout: 408. */
static void
tp_head_timeout(struct sl_flow *flow)
{
	flow->proto = SL_PROTO_HTTP;
	flow->term[0] = 'T';
	flow_http_refuse(flow, 408, "request_head_timeout", 0);
}

/*
 * The bytes so far can only begin an HTTP request, whose head decides
 * (Host, URL rules): a pause must not turn them into opaque bytes decided
 * on the address alone.  They get what the explicit proxy gives a head,
 * client-header-timeout from accept; a client that closes first gets 400.
 */
static void
tp_http_late(struct sl_flow *flow, int eof)
{
	uint64_t limit = flow->rt->set->client_header_timeout;
	uint64_t spent = sl_mono_ms() - flow->t0;

	if (eof) {
		flow->proto = SL_PROTO_HTTP;
		flow_http_refuse(flow, 400, "incomplete_request", 0);
		return;
	}
	if (spent >= limit) {
		tp_head_timeout(flow);
		return;
	}
	flow_setup_timer(flow, (unsigned)(limit - spent), tp_head_timeout);
}

/*
 * Classify what the client sent so far.  1 if more bytes are needed and
 * nothing was done; 0 if the flow moved on (or was closed).
 */
static int
tp_try(struct sl_flow *flow, int eof, int timeout)
{
	const struct sl_settings *set = flow->rt->set;
	struct flow_setup *s = flow->setup;
	struct sl_http_limits lim = {
		.request_line_max = set->request_line_max,
		.header_max = set->header_max,
		.header_count_max = set->header_count_max,
	};
	struct sl_classify c;

	sl_classify((const uint8_t *)s->buf, s->len, set->peek_max, 1, &lim,
	    &c);
	if (c.rc == SL_PARSE_MORE && !eof && !timeout)
		return 1;
	sl_classify_cut_short(&c, timeout);
	if (c.rc == SL_PARSE_MORE && c.proto == SL_PROTO_HTTP) {
		tp_http_late(flow, eof);
		return 0;
	}
	if (c.rc == SL_PARSE_BAD) {
		flow->proto = (uint8_t)c.proto;
		sl_flow_log(flow, SL_LOG_INFO, "malformed %s: %s",
		    c.proto == SL_PROTO_TLS ? "ClientHello" : "first bytes",
		    c.err ? c.err : "?");
		if (c.proto == SL_PROTO_HTTP) {
			flow_http_refuse(flow, 400, c.err ? c.err :
			    "bad_request", 0);
			return 0;
		}
		flow_tcp_refuse(flow, c.proto == SL_PROTO_TLS ?
		    "bad_client_hello" : "bad_request", 0, 1);
		return 0;
	}
	if (c.rc == SL_PARSE_MORE) {
		/* An incomplete STUN header: bytes, no name. */
		memset(&c, 0, sizeof(c));
		c.proto = s->len == 0 ? SL_PROTO_NONE : SL_PROTO_OPAQUE;
	}
	tp_classified(flow, &c);
	return 0;
}

static void
tp_read(struct sl_half *cli)
{
	int eof, full;

	if (flow_setup_read_classify(cli->flow, &eof, &full) == 0)
		(void)tp_try(cli->flow, eof, full);
}

/* Nothing (more) within peek-timeout: a server-speaks-first protocol. */
static void
tp_timeout(struct sl_flow *flow)
{
	(void)tp_try(flow, 0, 1);
}

void
sl_transparent_start(struct sl_flow *flow, int kind)
{
	char a[SL_ADDR_STRLEN];
	struct sl_req *req = flow->req;
	int eof, full;

	req->ops = &tp_ops;
	if (flow_setup_new(flow) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	if (sl_origdst(flow->cli.fd, kind == SL_LISTEN_TPROXY, &flow->cli_ip,
	    &flow->dst_ip, &flow->dst_port) == -1) {
		sl_flow_log(flow, SL_LOG_INFO, "no original destination: %s",
		    strerror(errno));
		flow_tcp_refuse(flow, "no_original_dst", 0, 1);
		return;
	}
	/* The client chose the address: the request goes there. */
	req->dst_ip = flow->dst_ip;
	req->dst_port = flow->dst_port;
	if (tp_is_loop(flow)) {
		sl_flow_log(flow, SL_LOG_INFO, "destination %s is sluiced "
		    "itself", sl_ipport_fmt(&flow->dst_ip, flow->dst_port, a,
		    sizeof(a)));
		flow_tcp_refuse(flow, "loop", 1, 1);
		return;
	}
	sl_flow_set_state(flow, SL_FLOW_CLASSIFYING);
	/*
	 * A client that speaks first (TLS, HTTP) has usually sent its first
	 * message by the time we accept: read it now.  When it is whole, the
	 * flow is decided without a trip through the loop and without the
	 * peek timer; when nothing is there yet, this costs one recv.
	 */
	switch (flow_setup_read_classify(flow, &eof, &full)) {
	case -2:
		return;
	case 0:
		if (tp_try(flow, eof, full) == 0)
			return;
		break;
	}
	if (sl_half_watch(&flow->cli, tp_read) == -1)
		return;
	flow_setup_timer(flow, flow->rt->set->peek_timeout, tp_timeout);
}
