/*
 * explicit.c — the explicit proxy: read the request head, then either
 * open a CONNECT tunnel or hand an absolute-URI request to the HTTP
 * forwarder.
 *
 * CONNECT, step by step:
 *   head -> decide on name/port (deny here costs no DNS) -> resolve ->
 *   decide again with the address if a rule needs it -> connect (happy
 *   eyeballs) -> "200" -> classify the tunnel's first client bytes (TLS:
 *   SNI must match the authority for domain rules; inspect fallback;
 *   opaque and STUN pass) -> splice.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "classify.h"
#include "explicit.h"
#include "../lib/http/http.h"
#include "httpfwd.h"
#include "setup.h"
#include "tunnel.h"
#include "worker.h"

static int	explicit_try(struct sl_flow *flow);
static void	explicit_read(struct sl_flow *flow);
static void	connect_resolved(struct sl_flow *flow,
		    const struct sl_dns_result *res);
static void	connect_connected(struct sl_flow *flow, int fd,
		    const char *err, unsigned status);

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
	if (sl_flow_watch_cli(flow, explicit_read) == -1)
		return;
	/* Slowloris: the whole head must arrive within this time. */
	flow_setup_timer(flow, set->client_header_timeout, head_timeout);
}

/* ------------------------------------------------------------------ */
/* CONNECT                                                              */

/* Apply the decision's refusals; 0 to go on, -1 if the flow is closed. */
static int
connect_check(struct sl_flow *flow)
{
	const struct sl_settings *set = flow->rt->set;

	if (flow->dec.action == SL_ACT_DENY) {
		flow_http_refuse(flow, 403, flow_deny_reason(flow), 1);
		return -1;
	}
	/*
	 * Like Squid's SSL_ports: CONNECT only to connect-ports, unless the
	 * rule that allowed the flow names its port explicitly (a vendor
	 * profile allowing TURN on 3478, say).
	 */
	if (!sl_portset_has(set->connect_ports, IPPROTO_TCP, flow->dst_port) &&
	    !(flow->dec.flags & SL_DEC_PORT_EXPLICIT)) {
		flow_http_refuse(flow, 403, "port_not_allowed", 1);
		return -1;
	}
	return 0;
}

/* The decision no longer waits on the address: connect or refuse. */
static void
connect_go(struct sl_flow *flow)
{
	struct flow_setup *s = flow->setup;

	if (connect_check(flow) == -1)
		return;
	if (flow->host == NULL) {
		(void)flow_connect(flow, &flow->dst_ip, 1, connect_connected);
		return;
	}
	(void)flow_connect(flow, s->res.addr, s->res.naddr, connect_connected);
}

static void
connect_resolved(struct sl_flow *flow, const struct sl_dns_result *res)
{
	switch (res->status) {
	case SL_DNS_OK:
		break;
	case SL_DNS_TIMEOUT:
		flow_http_refuse(flow, 504, "dns_timeout", 0);
		return;
	case SL_DNS_NXDOMAIN:
		flow_http_refuse(flow, 502, "dns_nxdomain", 0);
		return;
	default:
		flow_http_refuse(flow, 502, "dns_failure", 0);
		return;
	}
	/* Decide again with the address sluice itself resolved: an IP rule
	 * or a guard rail may apply to where the name really points. */
	flow->dst_ip = res->addr[0];
	flow_decide(flow, 0);
	connect_go(flow);
}

static void
connect_connected(struct sl_flow *flow, int fd, const char *err,
    unsigned status)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct flow_setup *s = flow->setup;

	if (fd == -1) {
		flow_http_refuse(flow, status, err, 0);
		return;
	}
	sl_flow_set_srv(flow, fd);
	flow->status = 200;
	/* A fresh socket's send buffer is empty: 39 bytes always fit. */
	if (send(flow->cfd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(ok) - 1) {
		sl_flow_close(flow, 'C', "client_gone");
		return;
	}
	/* Whatever followed the head is the tunnel's first bytes. */
	memmove(s->buf, s->buf + s->head_len, s->len - s->head_len);
	s->len -= s->head_len;
	s->head_len = 0;
	sl_tunnel_classify(flow);
}

static void
explicit_connect(struct sl_flow *flow, const char *buf,
    const struct sl_http_msg *msg)
{
	char name[256];
	int lit;

	flow->method = "CONNECT";
	flow->dst_port = msg->port;
	lit = sl_ip_parse_host(&flow->dst_ip, buf + msg->host.off,
	    msg->host.len);
	if (lit == -1 || (lit == 0 && sl_name_normalise(buf + msg->host.off,
	    msg->host.len, name, sizeof(name)) == -1)) {
		flow_http_refuse(flow, 400, "bad_authority", 0);
		return;
	}
	flow->host_literal = lit == 1;
	if (lit == 0 && (flow->host = sl_strdup(name)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	/* URL facts stay unknown: a URL rule first means "inspect". */
	flow_decide(flow, 0);
	if (flow->dec.need == 0 && flow->dec.action == SL_ACT_DENY) {
		(void)connect_check(flow);	/* refused by name: no DNS */
		return;
	}
	if (flow->host == NULL) {
		connect_go(flow);
		return;
	}
	(void)flow_resolve(flow, connect_resolved);
}

/* ------------------------------------------------------------------ */
/* the request head                                                     */

static void
explicit_dispatch(struct sl_flow *flow, const struct sl_http_msg *msg)
{
	struct flow_setup *s = flow->setup;

	evtimer_del(&s->timer);
	s->timer_set = 0;
	s->head_len = msg->head_len;
	switch (msg->form) {
	case SL_HTTP_FORM_AUTHORITY:
		/* Early tunnel bytes are kept while we resolve and connect. */
		if (flow_setup_hold(flow) == -1)
			return;
		explicit_connect(flow, s->buf, msg);
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
		explicit_dispatch(flow, &msg);
		return 0;
	case SL_HTTP_BAD:
		flow->method = NULL;
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
		flow->reason = "incomplete_request";
		sl_flow_log_event(flow, "flow.error");
		sl_flow_close(flow, 'C', NULL);
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
explicit_read(struct sl_flow *flow)
{
	(void)explicit_try(flow);
}
