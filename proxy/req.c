/*
 * req.c — request objects (req.h).
 */
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/urlpath.h"
#include "flow.h"
#include "req.h"

struct sl_req *
sl_req_new(struct sl_flow *flow, const struct sl_req_ops *ops)
{
	struct sl_req *req;

	if ((req = sl_calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->flow = flow;
	req->ops = ops;
	req->state = SL_FLOW_CLASSIFYING;
	req->dec.rule_index = UINT32_MAX;
	req->t0 = sl_mono_ms();
	req->up0 = flow->srv.sent;
	req->down0 = flow->cli.sent;
	return req;
}

void
sl_req_free(struct sl_req *req)
{
	if (req == NULL)
		return;
	sl_req_pending_cancel(req);
	sl_free(req->host);
	sl_free(req->url_host);
	sl_free(req->url_path);
	sl_free(req->log_path);
	sl_free(req->url_path_noparam);
	sl_free(req);
}

void
sl_req_set_state(struct sl_req *req, enum sl_flow_state st)
{
	struct sl_flow *flow = req->flow;

	/* A tunnel's one request is the flow: they move together.  A
	 * forwarder's requests (HTTP/1.1 in turn, HTTP/2 streams at once)
	 * move on their own. */
	if (flow->http == NULL && flow->h2 == NULL) {
		sl_flow_set_state(flow, st);
		req->state = st;
		return;
	}
	if (SL_BUG_ON(!sl_flow_state_allowed(req->state, st)))
		return;
	if (sl_debug_on(SL_CAT_FLOW))
		sl_debug(SL_CAT_FLOW, "flow=%llu request %c -> %c",
		    (unsigned long long)flow->id,
		    sl_flow_state_letter(req->state),
		    sl_flow_state_letter(st));
	req->state = st;
}

void
sl_req_pending_set(struct sl_req *req, void (*cancel)(void *), void *handle)
{
	/* One asynchronous step at a time: a second would be a lost one. */
	if (SL_BUG_ON(req->pending.handle != NULL))
		sl_req_pending_cancel(req);
	req->pending.cancel = cancel;
	req->pending.handle = handle;
}

void
sl_req_pending_done(struct sl_req *req)
{
	req->pending.cancel = NULL;
	req->pending.handle = NULL;
}

void
sl_req_pending_cancel(struct sl_req *req)
{
	if (req->pending.handle != NULL)
		req->pending.cancel(req->pending.handle);
	sl_req_pending_done(req);
}

void
sl_req_bytes(const struct sl_req *req, uint64_t *up, uint64_t *down)
{
	const struct sl_flow *flow = req->flow;

	/* Forwarded (written or queued): the request is over when its
	 * response is queued whole, not when the client has read it. */
	*up = flow->srv.sent > req->up0 ? flow->srv.sent - req->up0 : 0;
	*down = flow->cli.sent > req->down0 ? flow->cli.sent - req->down0 : 0;
}

int
sl_req_set_host(struct sl_req *req, const char *name)
{
	char *h = NULL;

	if (name != NULL && (h = sl_strdup(name)) == NULL)
		return -1;
	sl_free(req->host);
	req->host = h;
	return 0;
}

const char *
sl_req_deny_reason(const struct sl_req *req)
{
	/* Guard rails say which one; rules and the default are "policy". */
	if ((req->dec.flags & SL_DEC_GUARD) && req->dec.reason != NULL)
		return req->dec.reason;
	return "policy";
}

int
sl_req_authority(const char *h, size_t len, struct sl_ip *ip, char name[256])
{
	const char *colon = memrchr(h, ':', len);
	int lit;

	/* The port (if any) is left out; "[v6]" keeps its colons. */
	if (colon != NULL && (memchr(h, ']', len) == NULL || h[len - 1] !=
	    ']'))
		len = (size_t)(colon - h);
	lit = sl_ip_parse_host(ip, h, len);
	if (lit == 0 && sl_name_normalise(h, len, name, 256) == -1)
		return -1;
	return lit;
}

int
sl_req_set_path(struct sl_req *req, const char *p, size_t len)
{
	const char *q;

	/* Policy compares the path as origins route on it (decoded, slashes
	 * merged, dot segments removed: lib/urlpath.h), so "/%68ello" and
	 * "/x/../hello" are "/hello"; and also with ';' parameters removed,
	 * as Tomcat reads "/x/..;/hello".  The request is forwarded as sent.
	 * A path that has no single decoding ("%zz", "%00") is refused: no
	 * reading of it is safe for both allow and deny rules. */
	if ((req->url_path = sl_alloc(len + 2)) == NULL ||
	    (req->url_path_noparam = sl_alloc(len + 2)) == NULL)
		return -2;
	if (sl_urlpath_normalise(p, len, req->url_path, len + 2) == -1 ||
	    sl_urlpath_normalise_noparam(p, len, req->url_path_noparam,
	    len + 2) == -1)
		return -1;
	req->url_final = 1;
	/* Logged as sent, without the query (which may carry secrets). */
	q = memchr(p, '?', len);
	req->log_path = sl_strndup(p, q != NULL ? (size_t)(q - p) : len);
	return req->log_path == NULL ? -2 : 0;
}

int
sl_req_set_authority(struct sl_req *req, int lit, const struct sl_ip *ip,
    const char *name)
{
	char buf[SL_IP_STRLEN];

	req->host_literal = lit == 1;
	if (lit == 1) {
		req->dst_ip = *ip;
		req->url_host = sl_strdup(sl_ip_fmt(ip, buf, sizeof(buf)));
		return req->url_host == NULL ? -1 : 0;
	}
	if (sl_req_set_host(req, name) == -1)
		return -1;
	req->url_host = sl_strdup(name);
	return req->url_host == NULL ? -1 : 0;
}
