/*
 * flow.c — flow objects: creation, the state table, the one teardown,
 * the flow's event, idle sweep.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/jw.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "flow.h"
#include "h2/h2.h"
#include "httpfwd.h"
#include "req.h"
#include "setup.h"
#include "worker.h"

static const char state_letters[] = {
	[SL_FLOW_ACCEPTED] = 'A',
	[SL_FLOW_CLASSIFYING] = 'H',	/* head, first bytes */
	[SL_FLOW_DECIDING] = 'P',
	[SL_FLOW_AUTHENTICATING] = 'U',
	[SL_FLOW_RESOLVING] = 'N',
	[SL_FLOW_CONNECTING] = 'C',
	/* A tunnel's first bytes, a TLS handshake: to the client it is the
	 * same phase as a head or first bytes, and logs have always said H. */
	[SL_FLOW_HANDSHAKING] = 'H',
	[SL_FLOW_RELAYING] = 'R',
	[SL_FLOW_DRAINING] = 'D',
	[SL_FLOW_CLOSED] = '-',
};

static const char *const state_names[] = {
	"accepted", "classifying", "deciding", "authenticating", "resolving",
	"connecting", "handshaking", "relaying", "draining", "closed",
};

#define S(st)	(1u << (st))

/*
 * The transitions allowed: forward only, every step taken (a step with
 * nothing to do passes straight on), and the one shortcut of a flow whose
 * requests are forwarded one by one (the HTTP forwarder): from its first
 * head straight to RELAYING, its requests going through the same steps on
 * their own (req.h).  A decision computed again when a fact arrives is made in the
 * step where it arrived, not by going back.  Any state may close.
 */
static const unsigned state_next[] = {
	[SL_FLOW_ACCEPTED] = S(SL_FLOW_CLASSIFYING),
	[SL_FLOW_CLASSIFYING] = S(SL_FLOW_DECIDING) | S(SL_FLOW_RELAYING),
	[SL_FLOW_DECIDING] = S(SL_FLOW_AUTHENTICATING),
	[SL_FLOW_AUTHENTICATING] = S(SL_FLOW_RESOLVING),
	[SL_FLOW_RESOLVING] = S(SL_FLOW_CONNECTING),
	[SL_FLOW_CONNECTING] = S(SL_FLOW_HANDSHAKING),
	[SL_FLOW_HANDSHAKING] = S(SL_FLOW_RELAYING),
	[SL_FLOW_RELAYING] = S(SL_FLOW_DRAINING),
	[SL_FLOW_DRAINING] = 0,
	[SL_FLOW_CLOSED] = 0,
};

/* What the first bytes were, as an event says it. */
static const enum sl_ev_proto ev_protos[] = {
	[SL_PROTO_UNKNOWN] = SL_EV_PROTO_UNSET,
	[SL_PROTO_TLS] = SL_EV_PROTO_TLS,
	[SL_PROTO_HTTP] = SL_EV_PROTO_HTTP,
	[SL_PROTO_STUN] = SL_EV_PROTO_STUN,
	[SL_PROTO_OPAQUE] = SL_EV_PROTO_OPAQUE,
	[SL_PROTO_NONE] = SL_EV_PROTO_NONE,
};

int
sl_flow_state_allowed(enum sl_flow_state from, enum sl_flow_state to)
{
	if (from == SL_FLOW_CLOSED)
		return 0;
	return from == to || to == SL_FLOW_CLOSED ||
	    (state_next[from] & S(to)) != 0;
}

char
sl_flow_state_letter(enum sl_flow_state st)
{
	return state_letters[st];
}

struct sl_flow *
sl_flow_new(struct sl_worker *wk, int fd, const struct sockaddr *peer,
    enum sl_flow_mode mode)
{
	struct sl_flow *flow;

	if ((flow = sl_calloc(1, sizeof(*flow))) == NULL) {
		close(fd);
		return NULL;
	}
	flow->wk = wk;
	sl_half_init_pair(flow, &flow->cli, &flow->srv);
	if ((flow->req = sl_req_new(flow, NULL)) == NULL) {
		sl_free(flow);
		close(fd);
		return NULL;
	}
	flow->rt = sl_rt_ref(wk->rt);
	/* Unique across workers without sharing a counter. */
	flow->id = ++wk->next_id * wk->nworkers + wk->id;
	flow->mode = (uint8_t)mode;
	flow->t0 = flow->last = sl_mono_ms();
	sl_ip_from_sa(&flow->cli_ip, &flow->cli_port, peer);
	sl_half_set_raw(&flow->cli, fd);

	flow->next = wk->flows;
	if (wk->flows)
		wk->flows->prev = flow;
	wk->flows = flow;
	wk->nflows++;
	return flow;
}

void
sl_flow_set_state(struct sl_flow *flow, enum sl_flow_state st)
{
	/* A closed flow is freed; moving it again is a use after free. */
	if (SL_BUG_ON(!sl_flow_state_allowed(flow->state, st)))
		return;
	if (st != flow->state && sl_debug_on(SL_CAT_FLOW))
		sl_debug(SL_CAT_FLOW, "flow=%llu %s -> %s",
		    (unsigned long long)flow->id, state_names[flow->state],
		    state_names[st]);
	flow->state = st;
}

void
sl_flow_log(const struct sl_flow *flow, int lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!sl_log_enabled((enum sl_log_level)lvl, SL_CAT_FLOW))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_log((enum sl_log_level)lvl, "flow=%llu %s",
	    (unsigned long long)flow->id, msg);
}

char
sl_flow_letter(const struct sl_flow *flow)
{
	const struct sl_req *req = flow->req;

	if (flow->http != NULL && !flow->relaying &&
	    req->state != SL_FLOW_CLOSED)
		return state_letters[req->state];
	return state_letters[flow->state];
}

/* The action as logged: as applied, not as decided. */
static enum sl_ev_action
flow_action(const struct sl_flow *flow)
{
	const struct sl_req *req = flow->req;

	if (req->blocked)
		return SL_EV_ACT_DENY;	/* whatever the rule said, refused */
	if (!req->decided)
		return SL_EV_ACT_UNSET;
	if (req->inspect_fallback)
		return SL_EV_ACT_SPLICE;   /* reason: inspect_unavailable */
	switch (req->dec.action) {
	case SL_ACT_INSPECT:
		/* Inspecting means TLS terminated, or HTTP parsed: bytes that
		 * were neither (opaque, STUN, server-first) passed untouched,
		 * i.e. were spliced. */
		return flow->forwarded || req->inspecting ? SL_EV_ACT_INSPECT :
		    SL_EV_ACT_SPLICE;
	case SL_ACT_SPLICE:
		return SL_EV_ACT_SPLICE;
	case SL_ACT_DENY:
		return SL_EV_ACT_DENY;
	}
	return SL_EV_ACT_UNSET;
}

/*
 * The one place a flow's events are built: its current request (what was
 * asked, decided, answered) and the connection (who, how it ended).  A
 * request's own event (flow.request) counts its bytes and time; the
 * others the connection's, from accept.  A refused request's event
 * carries the refusal's reason and termination code, even if the
 * connection ended otherwise meanwhile.
 */
static void
flow_event(struct sl_flow *flow, enum sl_event_kind kind)
{
	const struct sl_req *req = flow->req;
	int request = kind == SL_EV_FLOW_REQUEST;
	const char *reason = req->refused || flow->reason == NULL ?
	    req->reason : flow->reason;
	const char *term = req->refused ? req->term : flow->term;
	char a[SL_IP_STRLEN];
	struct sl_event ev;

	memset(&ev, 0, sizeof(ev));	/* ts: stamped when it is queued */
	ev.kind = kind;
	ev.flow = flow->id;
	ev.mode = flow->mode == SL_MODE_EXPLICIT ? SL_EV_MODE_EXPLICIT :
	    SL_EV_MODE_TRANSPARENT;
	ev.cli_ip = flow->cli_ip;
	ev.cli_port = flow->cli_port;
	ev.method = req->method;
	if (req->host != NULL)
		ev.host = req->host;
	else if (req->host_literal)	/* what the client asked for */
		ev.host = sl_ip_fmt(&req->dst_ip, a, sizeof(a));
	ev.dst_ip = req->dst_ip;	/* unknown: af 0, then dst_port */
	ev.dst_port = req->dst_port;
	ev.sni = flow->sni;
	ev.proto = ev_protos[flow->proto];
	ev.action = flow_action(flow);
	if (req->decided) {
		ev.rule = req->dec.rule_name;
		if (req->dec.rule != NULL)
			ev.level = sl_rule_level(req->dec.rule);
	}
	ev.reason = reason;
	ev.detail = req->detail;
	ev.status = req->status;
	if (flow->forwarded) {		/* a connection of requests */
		ev.path = req->log_path;
		if (request || req->refused)
			ev.req = req->index;
		else
			ev.requests = flow->nreq;
	}
	if (request) {
		sl_req_bytes(req, &ev.up, &ev.down);
		ev.ms = sl_mono_ms() - req->t0;
	} else {
		ev.up = sl_half_sent(&flow->srv);
		ev.down = sl_half_sent(&flow->cli);
		ev.ms = sl_mono_ms() - flow->t0;
		memcpy(ev.term, term, sizeof(ev.term));
	}
	sl_worker_event(flow->wk, &ev);	/* copies the strings */
}

void
sl_flow_log_refusal(struct sl_flow *flow)
{
	const struct sl_req *req = flow->req;

	if (SL_BUG_ON(!req->refused))
		return;
	flow_event(flow, req->blocked ? SL_EV_FLOW_BLOCKED :
	    SL_EV_FLOW_ERROR);
}

/* Are allowed flows (requests) of this decision logged? */
static int
flow_log_allowed(const struct sl_flow *flow, const char *reason)
{
	return flow->rt->set->log_allowed ||
	    (flow->req->dec.mods & SL_MOD_LOG) || reason != NULL;
}

void
sl_flow_log_request(struct sl_flow *flow)
{
	const struct sl_req *req = flow->req;

	if (req->refused || !req->decided ||
	    !flow_log_allowed(flow, req->reason ? req->reason : flow->reason))
		return;
	flow_event(flow, SL_EV_FLOW_REQUEST);
}

/*
 * The event written at close, if any: a refused request's was written
 * with its answer.  An allowed flow's end is written while log-allowed is
 * on, for a rule with `log`, or when it ended abnormally (a reason).  A
 * flow that ended before any decision (a client that reset, went silent,
 * ran us out of memory) is an error; only silent clients can be left out
 * (log-silent off), because health checks and port scanners connect and
 * say nothing.
 */
static int
flow_close_event(const struct sl_flow *flow, enum sl_event_kind *kind)
{
	const struct sl_req *req = flow->req;
	const char *reason = flow->reason ? flow->reason : req->reason;

	if (req->refused)
		return 0;
	if (req->decided) {
		if (!flow_log_allowed(flow, reason))
			return 0;
		*kind = flow->failed ? SL_EV_FLOW_ERROR : SL_EV_FLOW_END;
		return 1;
	}
	if (reason == NULL || (strcmp(reason, "client_silent") == 0 &&
	    !flow->rt->set->log_silent))
		return 0;
	*kind = SL_EV_FLOW_ERROR;
	return 1;
}

void
sl_flow_close(struct sl_flow *flow, char who, const char *reason)
{
	struct sl_worker *wk = flow->wk;
	enum sl_event_kind kind;

	if (SL_BUG_ON(flow->state == SL_FLOW_CLOSED))
		return;
	/* A new culprit names the state it struck in; the same one (the
	 * end of a half-closed tunnel) keeps the state it first ended. */
	if (who != flow->term[0]) {
		flow->term[0] = who;
		flow->term[1] = sl_flow_letter(flow);
	} else if (flow->term[1] == '\0') {
		flow->term[1] = sl_flow_letter(flow);
	}
	if (reason != NULL)
		flow->reason = reason;
	sl_debug(SL_CAT_FLOW, "flow=%llu close %c%c %s",
	    (unsigned long long)flow->id, flow->term[0], flow->term[1],
	    flow->reason ? flow->reason : "-");
	/* Nothing may call back into the flow from here on. */
	sl_req_pending_cancel(flow->req);
	sl_half_close(&flow->cli);
	sl_half_close(&flow->srv);
	/* Counts are final now: a refusal still waiting for its answer to
	 * go out, then the flow's own event. */
	sl_httpfwd_free(flow);
	sl_h2_free(flow);
	flow_setup_free(flow);
	if (flow_close_event(flow, &kind))
		flow_event(flow, kind);
	flow->state = SL_FLOW_CLOSED;

	if (flow->prev)
		flow->prev->next = flow->next;
	else
		wk->flows = flow->next;
	if (flow->next)
		flow->next->prev = flow->prev;
	wk->nflows--;

	sl_rt_unref(flow->rt);
	sl_req_free(flow->req);
	sl_free(flow->sni);
	sl_free(flow);
}

void
sl_flow_close_all(struct sl_worker *wk, char who, const char *reason)
{
	while (wk->flows != NULL)
		sl_flow_close(wk->flows, who, reason);
}

void
sl_flow_sweep(struct sl_worker *wk, uint64_t now)
{
	struct sl_flow *flow, *next;

	for (flow = wk->flows; flow != NULL; flow = next) {
		uint64_t idle = flow->rt->set->idle_timeout;

		next = flow->next;
		/* Setup phases have their own timers, HTTP requests their
		 * bufferevent timeouts: only the relay is swept. */
		if (!flow->relaying)
			continue;
		if (idle != 0 && now - flow->last >= idle)
			sl_flow_close(flow, 'T', "idle_timeout");
	}
}
