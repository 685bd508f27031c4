/*
 * pipeline.c — decide, verify, authenticate, resolve, connect: the setup
 * steps every request shares (pipeline.h).
 */
#include <netinet/in.h>
#include <string.h>

#include "../lib/log.h"
#include "../policy/config.h"
#include "dns.h"
#include "flow.h"
#include "pipeline.h"
#include "req.h"
#include "setup.h"
#include "upstream.h"
#include "worker.h"

static void	pl_after_decision(struct sl_req *req);
static void	pl_connect(struct sl_req *req);
static void	pl_auth(struct sl_req *req);
static void	pl_resolve(struct sl_req *req);

/* The pending slot's cancel functions. */
static void
pl_cancel_dns(void *q)
{
	sl_dns_cancel(q);
}

static void
pl_cancel_connect(void *up)
{
	sl_upstream_cancel(up);
}

/*
 * Look name up into the setup's result: cb runs now (an answer cached)
 * or later, the lookup then being the request's pending step.
 */
static void
pl_lookup(struct sl_req *req, const char *name, sl_dns_cb cb)
{
	struct sl_dns_result *res = &req->flow->setup->res;
	struct sl_dns_req *q;
	int done;

	q = sl_dns_lookup(req->flow->wk->dns, name, cb, req, res, &done);
	if (done) {
		cb(req, res);
		return;
	}
	if (q == NULL) {
		sl_flow_close(req->flow, 'R', "dns_oom");
		return;
	}
	sl_req_pending_set(req, pl_cancel_dns, q);
}

/* ------------------------------------------------------------------ */
/* deciding                                                             */

/*
 * The facts the request has.  A name is final once we have it (CONNECT
 * authority, Host, SNI) or know there will be none; no user before
 * authentication exists and no GeoIP before the SIEM issue: both are
 * final-and-absent.
 */
static void
pl_facts(const struct sl_req *req, const struct sl_ip *dst,
    struct sl_facts *f)
{
	const struct sl_flow *flow = req->flow;

	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_TCP;
	f->port = req->dst_port;
	f->src = flow->cli_ip;
	f->known = SL_FACT_NAME | SL_FACT_USER | SL_FACT_GEO;
	f->name = req->host;
	if (req->url_final) {
		f->known |= SL_FACT_URL;
		f->url_host = req->url_host;
		f->url_path = req->url_path;
		f->url_path_noparam = req->url_path_noparam;
	}
	if (dst->af != 0) {
		f->dst = *dst;
		f->known |= SL_FACT_DST_IP;
		f->dst_local = sl_rt_is_local(flow->rt, dst);
	}
}

/* One policy evaluation, with `name` as the destination name (NULL:
 * none), into *out. */
static void
pl_decide_as(struct sl_req *req, const char *name, struct sl_decision *out)
{
	struct sl_facts f;

	pl_facts(req, &req->dst_ip, &f);
	f.name = name;
	sl_policy_decide(req->flow->rt->pol, &f, out);
	sl_debug(SL_CAT_POLICY, "flow=%llu decide name=%s -> %s rule=%s "
	    "need=%#x", (unsigned long long)req->flow->id,
	    name ? name : "-", sl_action_name(out->action), out->rule_name,
	    out->need);
}

/* The request's decision, with the facts as they are. */
static void
pl_eval(struct sl_req *req)
{
	pl_decide_as(req, req->host, &req->dec);
	if (req->dst_ip.af == 0)
		req->need0 = req->dec.need;
	req->decided = 1;
}

/*
 * How far a decision restricts the flow: refused, then inspected (or a
 * URL rule still to be decided, which needs parsing too), then spliced.
 */
static int
pl_rank(const struct sl_decision *d)
{
	if (d->action == SL_ACT_DENY)
		return 2;
	return d->action == SL_ACT_INSPECT || (d->need & SL_FACT_URL);
}

/*
 * The address arrived.  If the decision waited for it, decide again;
 * otherwise it holds for any address but the guard rails'.
 */
static void
pl_address_known(struct sl_req *req)
{
	struct sl_facts f;

	if (req->need0 & SL_FACT_DST_IP) {
		pl_eval(req);
		return;
	}
	pl_facts(req, &req->dst_ip, &f);
	sl_policy_guard(req->flow->rt->pol, &f, &req->dec);
}

/* Would addr get the decision the request has?  (A name may resolve
 * into ranges that other rules or a guard rail treat differently.) */
static int
pl_same_decision(struct sl_req *req, const struct sl_ip *addr)
{
	struct sl_decision d;
	struct sl_facts f;

	pl_facts(req, addr, &f);
	if (!(req->need0 & SL_FACT_DST_IP)) {
		d = req->dec;
		sl_policy_guard(req->flow->rt->pol, &f, &d);
		return !(d.flags & SL_DEC_GUARD);
	}
	sl_policy_decide(req->flow->rt->pol, &f, &d);
	if (sl_debug_on(SL_CAT_POLICY)) {
		char a[SL_IP_STRLEN];

		sl_debug(SL_CAT_POLICY, "flow=%llu decide address=%s -> %s "
		    "rule=%s", (unsigned long long)req->flow->id,
		    sl_ip_fmt(addr, a, sizeof(a)), sl_action_name(d.action),
		    d.rule_name);
	}
	return d.rule_index == req->dec.rule_index &&
	    d.action == req->dec.action && !(d.flags & SL_DEC_GUARD);
}

static void
pl_refuse_denied(struct sl_req *req)
{
	req->ops->refuse(req, 403, req->mismatch != NULL ? req->mismatch :
	    sl_req_deny_reason(req), 1);
}

void
sl_pl_start(struct sl_req *req)
{
	sl_req_set_state(req, SL_FLOW_DECIDING);
	pl_eval(req);
	pl_after_decision(req);
}

/* ------------------------------------------------------------------ */
/* names the client claims                                              */

/* The reason logged when a claimed name fails its check. */
static const char *
pl_mismatch_reason(const struct sl_req *req)
{
	return req->flow->proto == SL_PROTO_HTTP ? "host_mismatch" :
	    "sni_mismatch";
}

/*
 * A name the client claimed does not resolve to the address the flow
 * goes to: it can neither buy a grant nor let the flow escape what it
 * named.  Of the decisions in play — with no name, the request's own,
 * the claimed name's — the most restrictive holds; between equals, the
 * one that owes least to a name (no name first).  An exemption (noauth)
 * that came with a name is not granted.  The log says the check failed.
 */
/* Do two decisions treat the flow alike (same rule, action, modifiers
 * and facts still needed)? */
static int
pl_decisions_equal(const struct sl_decision *a, const struct sl_decision *b)
{
	return a->action == b->action && a->mods == b->mods &&
	    a->flags == b->flags && a->need == b->need &&
	    a->rule_index == b->rule_index && a->rule == b->rule;
}

static void
pl_name_failed(struct sl_req *req, const struct sl_decision *claimed,
    const char *name)
{
	struct sl_decision none, best;
	const struct sl_decision *in_play[2] = { &req->dec, claimed };
	int named = 0;

	sl_flow_log(req->flow, SL_LOG_INFO, "name '%s' does not resolve to the "
	    "destination: it grants nothing, and what it names still holds",
	    name);
	pl_decide_as(req, NULL, &none);
	best = none;
	for (size_t i = 0; i < 2; i++) {
		if (pl_rank(in_play[i]) > pl_rank(&best)) {
			best = *in_play[i];
			named = 1;
		}
	}
	if (named)
		best.mods &= ~(unsigned)SL_MOD_NOAUTH;
	req->dec = best;
	req->mismatch = pl_mismatch_reason(req);
	if (req->reason == NULL)
		req->reason = req->mismatch;
}

static void
pl_verified(void *arg, const struct sl_dns_result *res)
{
	struct sl_req *req = arg;

	sl_req_pending_done(req);
	if (!sl_dns_has(res, &req->dst_ip)) {
		struct sl_decision claimed = req->dec;

		pl_name_failed(req, &claimed, req->host);
	}
	pl_connect(req);
}

/*
 * Only a name that granted something needs checking (a deny holds
 * whatever address the name was sent to), and only where the client
 * chose the address: there a name can be sent anywhere.  A rule with
 * no-sni-check waives the check.
 */
static int
pl_must_verify(const struct sl_req *req)
{
	const struct sl_flow *flow = req->flow;

	/* Inside an inspected session the SNI's name was verified by the
	 * origin's certificate: a Host equal to it needs no DNS. */
	if (flow->sni_verified && req->host != NULL &&
	    strcmp(req->host, flow->sni) == 0)
		return 0;
	return req->ops->verify_name && req->host != NULL &&
	    req->mismatch == NULL && req->dec.action != SL_ACT_DENY &&
	    (req->dec.flags & SL_DEC_BY_NAME) &&
	    (req->dec.mods & SL_MOD_SNI_CHECK);
}

static void
pl_claim_checked(void *arg, const struct sl_dns_result *res)
{
	struct sl_req *req = arg;
	struct flow_setup *s = req->flow->setup;

	sl_req_pending_done(req);
	if (sl_dns_has(res, &req->dst_ip))
		req->dec = s->claimed;	/* the name is the destination's */
	else
		pl_name_failed(req, &s->claimed, s->claim_name);
	s->claim_then(req);
}

void
sl_pl_claim(struct sl_req *req, const char *name, void (*then)(struct
    sl_req *))
{
	struct flow_setup *s = req->flow->setup;
	char buf[256];

	pl_decide_as(req, name, &s->claimed);
	/* A rule that names it holds, wherever the name was sent. */
	if (s->claimed.action == SL_ACT_DENY && s->claimed.need == 0 &&
	    (s->claimed.flags & SL_DEC_BY_NAME)) {
		req->dec = s->claimed;
		then(req);
		return;
	}
	/* The rule the request was decided by waives the check. */
	if ((req->dec.flags & SL_DEC_BY_NAME) &&
	    !(req->dec.mods & SL_MOD_SNI_CHECK)) {
		then(req);
		return;
	}
	/* A name that decides nothing is not looked up: no rule names it,
	 * and the request's decision is the one it gets, so the check could
	 * only confirm it (pl_name_failed would pick it too).  As for a
	 * transparent flow decided without its name (pl_must_verify); this
	 * spares a DNS query per inspected tunnel under a default. */
	if (!(s->claimed.flags & SL_DEC_BY_NAME) &&
	    pl_decisions_equal(&s->claimed, &req->dec)) {
		then(req);
		return;
	}
	s->claim_name = name;
	s->claim_then = then;
	/* A name that cannot be a host name resolves to nothing. */
	if (sl_name_normalise(name, strlen(name), buf, sizeof(buf)) == -1) {
		pl_name_failed(req, &s->claimed, name);
		then(req);
		return;
	}
	pl_lookup(req, name, pl_claim_checked);
}

static void
pl_verify(struct sl_req *req)
{
	pl_lookup(req, req->host, pl_verified);
}

/*
 * The carrier's own conditions, once, as soon as the decision is final:
 * a port a client may not ask for is refused before any DNS.  0 to go
 * on, -1 if the carrier refused the request or took it elsewhere.
 */
static int
pl_admit(struct sl_req *req)
{
	if (req->ops->admit == NULL || req->admitted)
		return 0;
	req->admitted = 1;
	return req->ops->admit(req);
}

static void
pl_after_decision(struct sl_req *req)
{
	if (req->dec.need == 0) {
		if (req->dec.action == SL_ACT_DENY) {
			pl_refuse_denied(req);	/* refused by name: no DNS */
			return;
		}
		/* Final, unless a name check may still withdraw its name. */
		if (!pl_must_verify(req) && pl_admit(req) == -1)
			return;
	}
	pl_auth(req);
}

/* ------------------------------------------------------------------ */
/* authenticating                                                       */

static void
pl_auth(struct sl_req *req)
{
	/* Proxy authentication comes with its own issue; the step is here
	 * so that it lands in the pipeline, not beside it. */
	sl_req_set_state(req, SL_FLOW_AUTHENTICATING);
	pl_resolve(req);
}

/* ------------------------------------------------------------------ */
/* resolving                                                            */

static void
pl_resolved(void *arg, const struct sl_dns_result *res)
{
	struct sl_req *req = arg;
	struct flow_setup *s = req->flow->setup;

	sl_req_pending_done(req);
	if (res != &s->res)
		s->res = *res;	/* the lookup's is borrowed for the call */
	switch (res->status) {
	case SL_DNS_OK:
		break;
	case SL_DNS_TIMEOUT:
		req->ops->refuse(req, 504, "dns_timeout", 0);
		return;
	case SL_DNS_NXDOMAIN:
		req->ops->refuse(req, 502, "dns_nxdomain", 0);
		return;
	default:
		req->ops->refuse(req, 502, "dns_failure", 0);
		return;
	}
	req->dst_ip = res->addr[0];
	pl_address_known(req);
	pl_connect(req);
}

static void
pl_resolve(struct sl_req *req)
{
	sl_req_set_state(req, SL_FLOW_RESOLVING);
	if (req->dst_ip.af != 0) {
		/* The client chose the address: resolving checks its name. */
		if (pl_must_verify(req))
			pl_verify(req);
		else
			pl_connect(req);
		return;
	}
	if (req->host == NULL) {
		pl_connect(req);
		return;
	}
	pl_lookup(req, req->host, pl_resolved);
}

/* ------------------------------------------------------------------ */
/* connecting                                                           */

static void
pl_connected(void *arg, int fd, enum sl_upstream_err err,
    const struct sl_ip *addr)
{
	struct sl_req *req = arg;

	/* The attempt is freed before this runs (upstream.h): forget it. */
	sl_req_pending_done(req);
	if (fd == -1) {
		req->ops->refuse(req, err == SL_UP_TIMEOUT ? 504 : 502,
		    sl_upstream_err_str(err), 0);
		return;
	}
	req->dst_ip = *addr;
	sl_req_set_state(req, SL_FLOW_HANDSHAKING);
	req->ops->connected(req, fd);
}

static void
pl_connect(struct sl_req *req)
{
	struct sl_flow *flow = req->flow;
	const struct sl_settings *set = flow->rt->set;
	struct sl_upstream_params p = {
		.timeout_ms = set->connect_timeout,
		.delay_ms = set->happy_eyeballs_delay,
		.so_mark = set->so_mark,
	};
	const struct sl_dns_result *res = &flow->setup->res;
	struct sl_ip ok[SL_UPSTREAM_MAX_ADDRS];
	struct sl_upstream *up;
	unsigned nok = 0;
	int rc;

	/* A deny that waits for the URL is the carrier's to settle: it may
	 * be able to read URLs (admit), or not. */
	if (req->dec.action == SL_ACT_DENY && !(req->dec.need & SL_FACT_URL)) {
		pl_refuse_denied(req);
		return;
	}
	if (pl_admit(req) == -1)
		return;
	if (req->dec.action == SL_ACT_DENY) {
		pl_refuse_denied(req);
		return;
	}
	sl_req_set_state(req, SL_FLOW_CONNECTING);
	if (req->ops->reuse != NULL && (rc = req->ops->reuse(req)) != 0) {
		if (rc == -1)
			return;
		sl_req_set_state(req, SL_FLOW_HANDSHAKING);
		req->ops->connected(req, -1);
		return;
	}
	if (req->host == NULL || req->ops->verify_name) {
		ok[nok++] = req->dst_ip;	/* where the client sent it */
	} else {
		/* The decision was made with the first address; only
		 * addresses that get the same one are tried. */
		for (unsigned i = 0; i < res->naddr &&
		    nok < SL_UPSTREAM_MAX_ADDRS; i++)
			if (i == 0 || pl_same_decision(req, &res->addr[i]))
				ok[nok++] = res->addr[i];
	}
	up = sl_upstream_connect(flow->wk->base, ok, nok, req->dst_port, &p,
	    pl_connected, req);
	if (up == NULL) {
		sl_flow_close(flow, 'R', "connect_oom");
		return;
	}
	sl_req_pending_set(req, pl_cancel_connect, up);
}
