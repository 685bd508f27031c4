/*
 * tunnel.c — classify a tunnel's first client bytes and apply what they
 * say to the decision, then splice.
 *
 * The bytes read here are not lost: they are the relay's prefix, sent to
 * the server before any splice(2), so the server sees the client's bytes
 * untouched.
 */
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "classify.h"
#include "inspect.h"
#include "pipeline.h"
#include "relay.h"
#include "req.h"
#include "setup.h"
#include "tunnel.h"
#include "worker.h"

void
sl_tunnel_note(struct sl_flow *flow, const struct sl_classify *c)
{
	char name[256];
	const char *sni = c->hello.sni;

	flow->proto = (uint8_t)c->proto;
	if (c->proto != SL_PROTO_TLS || !c->hello.has_sni || flow->sni != NULL)
		return;
	/* An SNI that is no valid host name is logged as it is, escaped. */
	if (sl_name_normalise(sni, strlen(sni), name, sizeof(name)) == 0)
		sni = name;
	flow->sni = sl_strdup(sni);
}

int
sl_tunnel_bad_sni(struct sl_flow *flow, const struct sl_classify *c)
{
	char name[256];
	const char *sni = c->hello.sni;

	if (c->proto != SL_PROTO_TLS || !c->hello.has_sni ||
	    sl_name_normalise(sni, strlen(sni), name, sizeof(name)) == 0)
		return 0;
	/* No host is named so (RFC 6066 section 3): no decision by it, no
	 * certificate for it, and no spoofed name in anything we write. */
	sl_flow_log(flow, SL_LOG_INFO, "ClientHello names no host: SNI '%s'",
	    sni);
	flow_tcp_refuse(flow, "bad_sni", 0, 1);
	return -1;
}

int
sl_tunnel_apply(struct sl_req *req, const struct sl_classify *c)
{
	struct sl_flow *flow = req->flow;
	const struct sl_settings *set = flow->rt->set;
	unsigned mods = req->dec.mods;
	int inspect;

	sl_tunnel_note(flow, c);
	if (req->dec.action == SL_ACT_DENY) {
		flow_tcp_refuse(flow, req->mismatch != NULL ? req->mismatch :
		    sl_req_deny_reason(req), 1, 1);
		return -1;
	}
	if (c->proto == SL_PROTO_TLS && c->hello.has_ech &&
	    (mods & SL_MOD_DENY_ECH)) {
		flow_tcp_refuse(flow, "ech_refused", 1, 1);
		return -1;
	}
	if ((c->proto == SL_PROTO_OPAQUE || c->proto == SL_PROTO_NONE) &&
	    (mods & SL_MOD_DENY_OPAQUE)) {
		flow_tcp_refuse(flow, "opaque_refused", 1, 1);
		return -1;
	}
	/* A URL rule still undecided also needs inspection to be applied. */
	inspect = req->dec.action == SL_ACT_INSPECT ||
	    (req->dec.need & SL_FACT_URL);
	if (inspect && c->proto == SL_PROTO_TLS && sl_inspect_able(flow->rt)) {
		req->inspecting = 1;
	} else if (inspect && c->proto == SL_PROTO_TLS) {
		/*
		 * No appliance CA: nothing to inspect with.  Never silently:
		 * the start-up log and the checker say so, and the event says
		 * what happened.
		 */
		if (set->inspect_fallback == SL_FALLBACK_DENY) {
			flow_tcp_refuse(flow, "inspect_unavailable", 1, 1);
			return -1;
		}
		req->inspect_fallback = 1;
		req->reason = "inspect_unavailable";
	}
	if (req->mismatch != NULL && req->reason == NULL)
		req->reason = req->mismatch;
	return 0;
}

void
sl_tunnel_splice(struct sl_flow *flow)
{
	struct flow_setup *s = flow->setup;

	if (sl_relay_start(flow, s->buf, s->len, NULL, 0) == 0)
		flow_setup_free(flow);
}

/* ------------------------------------------------------------------ */
/* explicit CONNECT tunnels                                             */

/* The decision is final: apply what the first bytes showed, splice. */
static void
tunnel_decided(struct sl_req *req)
{
	struct sl_flow *flow = req->flow;
	struct sl_classify c;

	memset(&c, 0, sizeof(c));
	c.proto = (enum sl_flow_proto)flow->proto;
	c.hello = flow->setup->hello;
	if (sl_tunnel_apply(req, &c) == -1)
		return;
	if (req->inspecting) {
		sl_inspect_start(flow);
		return;
	}
	sl_tunnel_splice(flow);
}

/*
 * The CONNECT authority is what sluice resolved and connected to; an SNI
 * that names another host (or any host, when the authority was an
 * address) is a name the client claims for that address: domain
 * fronting, or a denied site behind an allowed address.  It is decided
 * as such (pipeline.h: sl_pl_claim).  With no SNI there is nothing to
 * front.
 */
static void
tunnel_done(struct sl_flow *flow, struct sl_classify *c)
{
	struct sl_req *req = flow->req;

	sl_tunnel_note(flow, c);
	flow->setup->hello = c->hello;
	if (sl_tunnel_bad_sni(flow, c) == -1)
		return;
	if (flow->sni != NULL &&
	    (req->host == NULL || strcmp(flow->sni, req->host) != 0)) {
		/* While the name is checked: the client's further bytes join
		 * the prefix, the server is not read, no peek timer. */
		flow_setup_timer_stop(flow);
		sl_half_unwatch(&flow->srv);
		if (flow_setup_hold(flow) == -1)
			return;
		sl_pl_claim(req, flow->sni, tunnel_decided);
		return;
	}
	tunnel_decided(req);
}

/*
 * Returns 0 while more bytes are wanted, 1 once the flow moved on.  eof:
 * the client closed (or the buffer is full); timeout: peek-timeout passed
 * with bytes but no complete first message.
 */
static int
tunnel_try(struct sl_flow *flow, int eof, int timeout)
{
	struct flow_setup *s = flow->setup;
	struct sl_classify c;

	sl_classify((const uint8_t *)s->buf, s->len, flow->rt->set->peek_max,
	    0, NULL, &c);
	if (c.rc == SL_PARSE_MORE && !eof && !timeout)
		return 0;
	sl_classify_cut_short(&c, timeout);
	if (c.rc == SL_PARSE_BAD) {
		sl_flow_log(flow, SL_LOG_INFO, "malformed %s from client: %s",
		    c.proto == SL_PROTO_TLS ? "ClientHello" : "request",
		    c.err ? c.err : "?");
		flow->proto = (uint8_t)c.proto;
		flow_tcp_refuse(flow, c.proto == SL_PROTO_TLS ?
		    "bad_client_hello" : "bad_request", 0, 1);
		return 1;
	}
	if (c.rc == SL_PARSE_MORE) {	/* cut short: opaque bytes, no name */
		c.proto = SL_PROTO_OPAQUE;
		c.rc = SL_PARSE_OK;
	}
	tunnel_done(flow, &c);
	return 1;
}

static void
tunnel_read(struct sl_half *cli)
{
	int eof, full;

	if (flow_setup_read_classify(cli->flow, &eof, &full) == 0)
		(void)tunnel_try(cli->flow, eof || full, 0);
}

/* The server spoke first (SMTP, SSH...): nothing to classify. */
static void
tunnel_server_first(struct sl_half *srv)
{
	struct sl_classify c;

	memset(&c, 0, sizeof(c));
	c.proto = SL_PROTO_NONE;
	tunnel_done(srv->flow, &c);
}

static void
tunnel_timeout(struct sl_flow *flow)
{
	struct sl_classify c;

	if (flow->setup->len > 0) {	/* a first message cut short */
		(void)tunnel_try(flow, 0, 1);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.proto = SL_PROTO_NONE;
	tunnel_done(flow, &c);
}

void
sl_tunnel_handshake(struct sl_flow *flow)
{
	if (flow->setup->len > 0 && tunnel_try(flow, 0, 0) == 1)
		return;				/* relaying, or closed */
	if (sl_half_watch(&flow->cli, tunnel_read) == -1 ||
	    sl_half_watch(&flow->srv, tunnel_server_first) == -1)
		return;
	flow_setup_timer(flow, flow->rt->set->peek_timeout, tunnel_timeout);
}
