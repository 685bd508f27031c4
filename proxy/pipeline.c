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
	f->name = req->name_untrusted ? NULL : req->host;
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

/* One policy evaluation with the facts as they are. */
static void
pl_eval(struct sl_req *req)
{
	struct sl_facts f;

	pl_facts(req, &req->dst_ip, &f);
	sl_policy_decide(req->flow->rt->pol, &f, &req->dec);
	if (req->dst_ip.af == 0)
		req->need0 = req->dec.need;
	req->decided = 1;
	sl_debug(SL_CAT_POLICY, "flow=%llu decide name=%s -> %s rule=%s "
	    "need=%#x", (unsigned long long)req->flow->id,
	    f.name ? f.name : "-", sl_action_name(req->dec.action),
	    req->dec.rule_name, req->dec.need);
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
	req->ops->refuse(req, 403, req->sni_mismatch ? "sni_mismatch" :
	    sl_req_deny_reason(req), 1);
}

void
sl_pl_redecide(struct sl_req *req)
{
	pl_eval(req);
}

void
sl_pl_start(struct sl_req *req)
{
	sl_req_set_state(req, SL_FLOW_DECIDING);
	pl_eval(req);
	pl_after_decision(req);
}

/* ------------------------------------------------------------------ */
/* verifying a claimed name                                             */

static void
pl_verified(void *arg, const struct sl_dns_result *res)
{
	struct sl_req *req = arg;
	int found = 0;

	sl_req_pending_done(req);
	for (unsigned i = 0; res->status == SL_DNS_OK && i < res->naddr; i++)
		if (sl_ip_equal(&res->addr[i], &req->dst_ip))
			found = 1;
	if (!found) {
		sl_flow_log(req->flow, SL_LOG_INFO, "name '%s' does not resolve "
		    "to the original destination (%s): deciding without it",
		    req->host, sl_dns_status_str(res->status));
		req->sni_mismatch = 1;
		req->name_untrusted = 1;
		if (req->reason == NULL)
			req->reason = "sni_mismatch";
		pl_eval(req);		/* the name was withdrawn */
	}
	pl_connect(req);
}

/*
 * Only a name that decided needs checking, and only where the client
 * chose the address: there a name can be sent anywhere.
 */
static int
pl_must_verify(const struct sl_req *req)
{
	return req->ops->verify_name && req->host != NULL &&
	    !req->name_untrusted && (req->dec.flags & SL_DEC_BY_NAME) &&
	    (req->dec.mods & SL_MOD_SNI_CHECK);
}

static void
pl_verify(struct sl_req *req)
{
	struct sl_dns_result *res = &req->flow->setup->res;
	struct sl_dns_req *q;
	int done;

	q = sl_dns_lookup(req->flow->wk->dns, req->host, pl_verified, req,
	    res, &done);
	if (done) {
		pl_verified(req, res);
		return;
	}
	if (q == NULL) {
		sl_flow_close(req->flow, 'R', "dns_oom");
		return;
	}
	sl_req_pending_set(req, pl_cancel_dns, q);
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
	struct flow_setup *s = req->flow->setup;
	struct sl_dns_req *q;
	int done;

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
	q = sl_dns_lookup(req->flow->wk->dns, req->host, pl_resolved, req,
	    &s->res, &done);
	if (done) {
		pl_resolved(req, &s->res);
		return;
	}
	if (q == NULL) {
		sl_flow_close(req->flow, 'R', "dns_oom");
		return;
	}
	sl_req_pending_set(req, pl_cancel_dns, q);
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
	if (req->ops->reuse != NULL && req->ops->reuse(req)) {
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
