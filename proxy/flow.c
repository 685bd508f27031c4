/*
 * flow.c — flow objects: creation, state, the one teardown, the summary
 * event, idle sweep.
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
#include "../policy/config.h"
#include "../lib/log.h"
#include "flow.h"
#include "httpfwd.h"
#include "setup.h"
#include "worker.h"

static const char state_letters[] = {
	[SL_FLOW_ACCEPTED] = 'A',
	[SL_FLOW_CLASSIFYING] = 'H',	/* head / handshake peek */
	[SL_FLOW_DECIDING] = 'P',
	[SL_FLOW_AUTHENTICATING] = 'U',
	[SL_FLOW_RESOLVING] = 'N',
	[SL_FLOW_CONNECTING] = 'C',
	[SL_FLOW_HANDSHAKING] = 'K',
	[SL_FLOW_RELAYING] = 'R',
	[SL_FLOW_DRAINING] = 'D',
	[SL_FLOW_CLOSED] = '-',
};

static const char *const state_names[] = {
	"accepted", "classifying", "deciding", "authenticating", "resolving",
	"connecting", "handshaking", "relaying", "draining", "closed",
};

static const char *const proto_names[] = {
	NULL, "tls", "http", "stun", "opaque", "none",
};

static void
flow_noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
flow_cr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_flow *flow = arg;

	(void)fd;
	(void)what;
	flow->on_cr(flow);
}

static void
flow_sr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_flow *flow = arg;

	(void)fd;
	(void)what;
	flow->on_sr(flow);
}

static int
flow_watch(struct sl_flow *flow, struct event *ev)
{
	if (event_pending(ev, EV_READ, NULL))
		return 0;
	if (event_add(ev, NULL) == -1) {
		sl_flow_close(flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

int
sl_flow_watch_cli(struct sl_flow *flow, sl_flow_fn fn)
{
	flow->on_cr = fn;
	return flow_watch(flow, &flow->ev_cr);
}

int
sl_flow_watch_srv(struct sl_flow *flow, sl_flow_fn fn)
{
	flow->on_sr = fn;
	return flow_watch(flow, &flow->ev_sr);
}

void
sl_flow_unwatch_cli(struct sl_flow *flow)
{
	event_del(&flow->ev_cr);
}

void
sl_flow_set_srv(struct sl_flow *flow, int fd)
{
	event_del(&flow->ev_sr);
	flow->sfd = fd;
	event_assign(&flow->ev_sr, flow->wk->base, fd, EV_READ | EV_PERSIST,
	    flow_sr_cb, flow);
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
	flow->rt = sl_rt_ref(wk->rt);
	/* Unique across workers without sharing a counter. */
	flow->id = ++wk->next_id * wk->nworkers + wk->id;
	flow->mode = (uint8_t)mode;
	flow->cfd = fd;
	flow->sfd = -1;
	flow->t0 = flow->last = sl_mono_ms();
	sl_ip_from_sa(&flow->cli_ip, &flow->cli_port, peer);
	flow->dec.rule_index = UINT32_MAX;
	flow->dup.pipe[0] = flow->dup.pipe[1] = -1;
	flow->ddown.pipe[0] = flow->ddown.pipe[1] = -1;
	/* Assigned now so event_del() is always safe. */
	event_assign(&flow->ev_cr, wk->base, fd, EV_READ | EV_PERSIST,
	    flow_cr_cb, flow);
	event_assign(&flow->ev_cw, wk->base, -1, 0, flow_noop_cb, flow);
	event_assign(&flow->ev_sr, wk->base, -1, 0, flow_noop_cb, flow);
	event_assign(&flow->ev_sw, wk->base, -1, 0, flow_noop_cb, flow);

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
	if (SL_BUG_ON(flow->state == SL_FLOW_CLOSED))
		return;
	if (sl_debug_on(SL_CAT_FLOW))
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

/* Action name as logged: as applied, not as decided. */
static const char *
flow_action_str(const struct sl_flow *flow)
{
	if (flow->blocked)
		return "deny";	/* whatever the rule said, it was refused */
	if (flow->dec.rule_name == NULL)
		return NULL;
	if (flow->inspect_fallback)
		return "splice";	/* reason says inspect_unavailable */
	/* Inspecting means parsing: bytes that were not (opaque, STUN,
	 * server-first) passed untouched, i.e. were spliced. */
	if (flow->dec.action == SL_ACT_INSPECT && !flow->http_forwarded)
		return "splice";
	return sl_action_name(flow->dec.action);
}

void
sl_flow_log_event(struct sl_flow *flow, const char *event)
{
	char line[4096], ts[32], a[SL_ADDR_STRLEN];
	struct sl_jw w;

	flow->logged = 1;
	sl_jw_begin(&w, line, sizeof(line));
	sl_jw_u64(&w, "v", 1);
	sl_jw_str(&w, "ts", sl_rfc3339_now(ts, sizeof(ts)));
	sl_jw_str(&w, "event", event);
	sl_jw_u64(&w, "flow", flow->id);
	sl_jw_str(&w, "mode",
	    flow->mode == SL_MODE_EXPLICIT ? "explicit" : "transparent");
	sl_jw_str(&w, "cli", sl_ipport_fmt(&flow->cli_ip, flow->cli_port, a,
	    sizeof(a)));
	sl_jw_str(&w, "method", flow->method);
	if (flow->host != NULL)
		sl_jw_str(&w, "host", flow->host);
	else if (flow->host_literal)	/* what the client asked for */
		sl_jw_str(&w, "host", sl_ip_fmt(&flow->dst_ip, a, sizeof(a)));
	if (flow->dst_ip.af != 0)
		sl_jw_str(&w, "dst", sl_ipport_fmt(&flow->dst_ip,
		    flow->dst_port, a, sizeof(a)));
	else if (flow->dst_port != 0)
		sl_jw_u64(&w, "dst_port", flow->dst_port);
	sl_jw_str(&w, "sni", flow->sni);
	sl_jw_str(&w, "proto", proto_names[flow->proto]);
	sl_jw_str(&w, "action", flow_action_str(flow));
	sl_jw_str(&w, "rule", flow->dec.rule_name);
	if (flow->dec.rule != NULL) {
		sl_jw_str(&w, "level", sl_rule_level(flow->dec.rule));
	}
	sl_jw_str(&w, "reason", flow->reason);
	if (flow->status != 0)
		sl_jw_u64(&w, "status", flow->status);
	sl_jw_u64(&w, "up", flow->up);
	sl_jw_u64(&w, "down", flow->down);
	sl_jw_u64(&w, "ms", sl_mono_ms() - flow->t0);
	/* Logged before the close (a refusal): the state it struck in. */
	if (flow->term[0] != '\0' && flow->term[1] == '\0')
		flow->term[1] = state_letters[flow->state];
	if (flow->term[0] != '\0')
		sl_jw_str(&w, "term", flow->term);
	sl_jw_end(&w);
	sl_worker_log(flow->wk, line, w.len);
}

/* Is a flow.end event wanted for this flow? */
static int
flow_wants_end_event(const struct sl_flow *flow)
{
	if (flow->logged)
		return 0;
	if (flow->dec.rule_name == NULL)
		return 0;		/* never got as far as a decision */
	return flow->rt->set->log_allowed || (flow->dec.mods & SL_MOD_LOG) ||
	    flow->reason != NULL;
}

/*
 * Ended before any decision: a client that reset or went silent, memory
 * running out while reading its first bytes.  Nothing ends unseen; only
 * silent clients can be left out (log-silent off), because health checks
 * and port scanners connect and say nothing.
 */
static int
flow_wants_error_event(const struct sl_flow *flow)
{
	if (flow->logged || flow->dec.rule_name != NULL ||
	    flow->reason == NULL)
		return 0;
	return strcmp(flow->reason, "client_silent") != 0 ||
	    flow->rt->set->log_silent;
}

void
sl_flow_close(struct sl_flow *flow, char who, const char *reason)
{
	struct sl_worker *wk = flow->wk;

	if (SL_BUG_ON(flow->state == SL_FLOW_CLOSED))
		return;
	/* A new culprit names the state it struck in; the same one (the
	 * end of a half-closed tunnel) keeps the state it first ended. */
	if (who != flow->term[0]) {
		flow->term[0] = who;
		flow->term[1] = state_letters[flow->state];
	} else if (flow->term[1] == '\0') {
		flow->term[1] = state_letters[flow->state];
	}
	if (reason != NULL)
		flow->reason = reason;
	sl_debug(SL_CAT_FLOW, "flow=%llu close %c%c %s",
	    (unsigned long long)flow->id, flow->term[0], flow->term[1],
	    flow->reason ? flow->reason : "-");
	sl_relay_release(flow);
	sl_httpfwd_free(flow);
	flow_setup_free(flow);
	if (flow->cfd != -1)
		close(flow->cfd);
	if (flow->sfd != -1)
		close(flow->sfd);
	flow->cfd = flow->sfd = -1;
	if (flow_wants_end_event(flow))
		sl_flow_log_event(flow, "flow.end");
	else if (flow_wants_error_event(flow))
		sl_flow_log_event(flow, "flow.error");
	flow->state = SL_FLOW_CLOSED;

	if (flow->prev)
		flow->prev->next = flow->next;
	else
		wk->flows = flow->next;
	if (flow->next)
		flow->next->prev = flow->prev;
	wk->nflows--;

	sl_rt_unref(flow->rt);
	sl_free(flow->host);
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
		/* Setup phases have their own timers; HTTP flows too. */
		if (flow->state != SL_FLOW_RELAYING &&
		    flow->state != SL_FLOW_DRAINING)
			continue;
		if (flow->http != NULL && !sl_httpfwd_is_tunnel(flow))
			continue;		/* bufferevent timeouts apply */
		if (idle != 0 && now - flow->last >= idle)
			sl_flow_close(flow, 'T', "idle_timeout");
	}
}
