/*
 * stream.c — the client-facing nghttp2 server session: each stream a
 * request (req.h) through the one setup pipeline, its answer (the
 * origin's, or a refusal on that stream only), its event.
 *
 * A stream's headers are collected as they arrive; once complete it is
 * queued and started after nghttp2 returns (h2_int.h: no flow close
 * inside a callback).  Request bodies wait in the stream's `up` buffer
 * until the origin side takes them, response bodies in `down` until the
 * client session does; each side's window is opened (consume) only then.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../lib/alloc.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../policy/config.h"
#include "../flow.h"
#include "../pipeline.h"
#include "../req.h"
#include "../worker.h"
#include "../setup.h"
#include "h2_int.h"

static const struct sl_req_ops h2_ops;

/* ------------------------------------------------------------------ */
/* header lists                                                         */

int
h2_hdrs_add(struct h2_hdrs *h, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	nghttp2_nv *nv;
	char *n, *v;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;

		if ((nv = sl_realloc(h->nv, cap * sizeof(*nv))) == NULL)
			return -1;
		h->nv = nv;
		h->cap = cap;
	}
	if ((n = sl_strndup(name, nlen)) == NULL)
		return -1;
	if ((v = sl_strndup(value, vlen)) == NULL) {
		sl_free(n);
		return -1;
	}
	for (size_t i = 0; i < nlen; i++)	/* HTTP/2 names are lowercase */
		if (n[i] >= 'A' && n[i] <= 'Z')
			n[i] = (char)(n[i] - 'A' + 'a');
	h->nv[h->n++] = (nghttp2_nv){ (uint8_t *)n, (uint8_t *)v, nlen, vlen,
	    NGHTTP2_NV_FLAG_NONE };
	return 0;
}

void
h2_hdrs_clear(struct h2_hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		sl_free(h->nv[i].name);
		sl_free(h->nv[i].value);
	}
	sl_free(h->nv);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* streams                                                              */

static struct h2_stream *
h2_stream_new(struct sl_h2 *h2, int32_t id)
{
	struct h2_stream *st;

	if ((st = sl_calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->up = evbuffer_new()) == NULL ||
	    (st->down = evbuffer_new()) == NULL) {
		if (st->up != NULL)
			evbuffer_free(st->up);
		sl_free(st);
		return NULL;
	}
	st->h2 = h2;
	st->cid = id;
	st->last = sl_mono_ms();
	st->next = h2->streams;
	if (h2->streams != NULL)
		h2->streams->prev = st;
	h2->streams = st;
	h2->nstreams++;
	return st;
}

/*
 * The flow's event builders (flow.c) describe flow->req, the one request
 * a tunnel or an HTTP/1.1 connection has at a time; a stream's request
 * is made the current one for the call.  Its bytes are the stream's own
 * body bytes (sl_req_bytes subtracts the counts it started from).
 */
static void
h2_log_request(struct h2_stream *st)
{
	struct sl_flow *flow = st->h2->flow;
	struct sl_req *req = st->req, *own = flow->req;

	req->up0 = flow->srv.sent - SL_MIN(st->up_bytes, flow->srv.sent);
	req->down0 = flow->cli.sent - SL_MIN(st->down_bytes, flow->cli.sent);
	if (st->failed && req->reason == NULL)
		req->reason = st->h2->limit ? st->h2->limit : "stream_reset";
	flow->req = req;
	sl_flow_log_request(flow);
	flow->req = own;
}

void
h2_stream_free(struct h2_stream *st)
{
	struct sl_h2 *h2 = st->h2;
	size_t n;

	if (st->queued) {	/* closed before it could start */
		struct h2_stream **pp = &h2->startq;

		while (*pp != st)
			pp = &(*pp)->qnext;
		if ((*pp = st->qnext) == NULL)
			h2->startq_tail = pp;
	}
	if (h2->h1cur == st)
		h2->h1cur = NULL;	/* read to nothing from now on */
	if (st->req != NULL) {
		if (st->req->state == SL_FLOW_RELAYING)
			sl_req_set_state(st->req, SL_FLOW_CLOSED);
		if (st->req->state == SL_FLOW_CLOSED || st->failed)
			h2_log_request(st);
		sl_req_free(st->req);	/* cancels a pending lookup */
	}
	if (h2->up_kind == H2_UP_H2)
		h2_up_cancel(st);
	/* Bytes never taken still count against the windows: give them
	 * back, so the connection does not shrink. */
	if ((n = evbuffer_get_length(st->up)) > 0)
		(void)nghttp2_session_consume_connection(h2->cs, n);
	if ((n = evbuffer_get_length(st->down)) > 0 && h2->us != NULL)
		(void)nghttp2_session_consume_connection(h2->us, n);
	if (!st->cli_closed)
		(void)nghttp2_session_set_stream_user_data(h2->cs, st->cid,
		    NULL);
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		h2->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	h2->nstreams--;
	evbuffer_free(st->up);
	evbuffer_free(st->down);
	h2_hdrs_clear(&st->rqh);
	h2_hdrs_clear(&st->rsh);
	h2_hdrs_clear(&st->rqt);
	h2_hdrs_clear(&st->rst);
	sl_free(st->method);
	sl_free(st->scheme);
	sl_free(st->authority);
	sl_free(st->path);
	sl_free(st->protocol);
	sl_free(st);
}

/* The stream of a request (a connection has at most h2-max-streams). */
static struct h2_stream *
h2_stream_of(const struct sl_req *req)
{
	struct h2_stream *st;

	for (st = req->flow->h2->streams; st != NULL; st = st->next)
		if (st->req == req)
			return st;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* answers                                                              */

/*
 * The data provider of both directions: the client session sends a
 * response body (from `down`, opening the origin's window as it goes),
 * the origin session a request body (from `up`, opening the client's).
 */
ssize_t
h2_body_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	int down = s == st->h2->cs, deferred = 0;
	struct h2_hdrs *tr;
	ssize_t n;

	(void)id;
	(void)ud;
	n = h2_provide(down ? st->down : st->up, buf, len, down ?
	    st->up_eof : st->cli_eof, flags, &deferred);
	if (down)
		st->down_deferred = deferred ? 1 : 0;
	else
		st->up_deferred = deferred ? 1 : 0;
	/* The body's end, and trailers came with it: they end the stream
	 * (gRPC's status travels there). */
	tr = down ? &st->rst : &st->rqt;
	if (n >= 0 && (*flags & NGHTTP2_DATA_FLAG_EOF) && tr->n > 0) {
		if (nghttp2_submit_trailer(s, id, tr->nv, tr->n) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		h2_hdrs_clear(tr);
	}
	if (n <= 0)
		return n;
	st->last = sl_mono_ms();
	if (!down) {
		st->up_bytes += (size_t)n;
		(void)nghttp2_session_consume(st->h2->cs, st->cid, (size_t)n);
	} else {
		st->down_bytes += (size_t)n;
		if (st->h2->up_kind == H2_UP_H2)
			h2_up_consumed(st, (size_t)n);
	}
	return n;
}

void
h2_stream_down_ready(struct h2_stream *st)
{
	if (!st->down_deferred || st->cli_closed)
		return;
	st->down_deferred = 0;
	(void)nghttp2_session_resume_data(st->h2->cs, st->cid);
}

int
h2_stream_respond(struct h2_stream *st, unsigned status,
    const nghttp2_nv *nv, size_t n, int body)
{
	nghttp2_data_provider prd = { .source.ptr = st,
	    .read_callback = h2_body_read_cb };
	char code[4];
	nghttp2_nv *all;
	int rv;

	if (st->cli_closed)
		return 0;
	if ((all = sl_calloc(n + 1, sizeof(*all))) == NULL)
		return -1;
	snprintf(code, sizeof(code), "%03u", status % 1000);
	all[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3,
	    NGHTTP2_NV_FLAG_NONE };
	if (n > 0)
		memcpy(all + 1, nv, n * sizeof(*nv));
	rv = nghttp2_submit_response(st->h2->cs, st->cid, all, n + 1,
	    body ? &prd : NULL);
	sl_free(all);
	if (rv != 0)
		return -1;
	st->responded = 1;
	if (st->req != NULL)
		st->req->status = status;
	return 0;
}

void
h2_stream_reset(struct h2_stream *st, uint32_t code)
{
	st->failed = 1;
	if (!st->cli_closed)
		(void)nghttp2_submit_rst_stream(st->h2->cs, NGHTTP2_FLAG_NONE,
		    st->cid, code);
}

/*
 * Refuse the stream: its own answer (the page HTTP/1.1 refusals carry)
 * and its event (flow.blocked naming the rule, or flow.error).  The
 * connection and its other streams go on.  Once the response has begun,
 * a reset is the only signal left.
 */
void
h2_stream_refuse(struct h2_stream *st, unsigned status, const char *reason,
    int blocked)
{
	struct sl_flow *flow = st->h2->flow;
	struct sl_req *req = st->req, *own = flow->req;
	char page[1024], term[3], len[24];
	const char *body;
	nghttp2_nv nv[3];
	int n;

	if (st->responded) {
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	/* The flow's refusal and page builders (setup.h) work on its
	 * current request and its termination code: lend them both. */
	memcpy(term, flow->term, sizeof(term));
	memset(flow->term, 0, sizeof(flow->term));
	flow->term[1] = sl_flow_state_letter(req->state);
	flow->req = req;
	(void)flow_refusal(flow, status, reason, blocked);
	n = flow_http_error_text(flow, status, reason, blocked, page,
	    sizeof(page));
	sl_flow_log_refusal(flow);
	flow->req = own;
	memcpy(flow->term, term, sizeof(term));
	sl_flow_log(flow, SL_LOG_DEBUG, "h2 stream %d refused: %u %s", st->cid,
	    status, reason);
	body = n > 0 ? strstr(page, "\r\n\r\n") : NULL;
	body = body != NULL ? body + 4 : "";
	snprintf(len, sizeof(len), "%zu", strlen(body));
	nv[0] = (nghttp2_nv){ (uint8_t *)"content-type",
	    (uint8_t *)"text/plain; charset=us-ascii", 12, 28, 0 };
	nv[1] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)len, 14,
	    strlen(len), 0 };
	nv[2] = (nghttp2_nv){ (uint8_t *)"cache-control",
	    (uint8_t *)"no-store", 13, 8, 0 };
	/* What the client still sends for it is dropped, window given back. */
	(void)nghttp2_session_consume_connection(st->h2->cs,
	    evbuffer_get_length(st->up));
	evbuffer_drain(st->up, evbuffer_get_length(st->up));
	evbuffer_drain(st->down, evbuffer_get_length(st->down));
	st->up_eof = 1;
	if (evbuffer_add(st->down, body, strlen(body)) == -1 ||
	    h2_stream_respond(st, status, nv, SL_NELEM(nv), 1) == -1)
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
}

/* ------------------------------------------------------------------ */
/* the pipeline's carrier operations                                    */

static void
h2_refuse_req(struct sl_req *req, unsigned status, const char *reason,
    int blocked)
{
	struct h2_stream *st = h2_stream_of(req);

	if (st == NULL)
		return;
	h2_stream_refuse(st, status, reason, blocked);
	h2_after_io(st->h2);
}

/* Inspected: the origin's session is the only way there (its
 * certificate was checked for the verified name). */
static int
h2_reuse(struct sl_req *req)
{
	struct h2_stream *st = h2_stream_of(req);
	struct sl_flow *flow = req->flow;

	if (st != NULL && !flow->h2->origin_gone && flow->srv.bev != NULL)
		return 1;
	if (st != NULL)
		h2_refuse_req(req, 502, "server_closed", 0);
	return -1;
}

static void
h2_connected(struct sl_req *req, int fd)
{
	struct h2_stream *st = h2_stream_of(req);
	struct sl_h2 *h2 = req->flow->h2;

	(void)fd;			/* always -1: reused */
	if (st == NULL)
		return;
	sl_req_set_state(req, SL_FLOW_RELAYING);
	st->sent = 1;
	if (h2->up_kind == H2_UP_H2)
		h2_up_submit(st);
	else
		h1_submit(st);
	h2_after_io(h2);
}

/* As HTTP/1.1 inside inspection: the client chose the address (the
 * verified session), so a name that decided must hold for it. */
static const struct sl_req_ops h2_ops = {
	.refuse = h2_refuse_req,
	.reuse = h2_reuse,
	.connected = h2_connected,
	.verify_name = 1,
};

/* ------------------------------------------------------------------ */
/* starting a stream                                                    */

static const char *
h2_method_name(const char *m)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
	    "CONNECT", "OPTIONS" };

	for (size_t i = 0; i < SL_NELEM(names); i++)
		if (strcmp(m, names[i]) == 0)
			return names[i];
	return "OTHER";
}

/* The request's facts, as HTTP/1.1 records them.  0, or -1 after
 * refusing the stream or closing the flow. */
static int
h2_stream_facts(struct h2_stream *st)
{
	struct sl_flow *flow = st->h2->flow;
	struct sl_req *req = st->req;
	const char *path = st->path != NULL ? st->path : "/";
	char name[256];
	struct sl_ip ip;
	int lit;

	if (st->authority == NULL || (lit = sl_req_authority(st->authority,
	    strlen(st->authority), &ip, name)) == -1) {
		h2_stream_refuse(st, 400, "bad_host", 0);
		return -1;
	}
	switch (sl_req_set_path(req, path, strlen(path))) {
	case -2:
		sl_flow_close(flow, 'R', "oom");
		return -1;
	case -1:
		h2_stream_refuse(st, 400, "bad_path", 0);
		return -1;
	}
	if (sl_req_set_authority(req, lit, &ip, name) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	/* Every stream goes where the verified session goes. */
	req->dst_ip = flow->dst_ip;
	req->dst_port = flow->dst_port;
	return 0;
}

void
h2_stream_start(struct h2_stream *st)
{
	struct sl_flow *flow = st->h2->flow;
	struct sl_req *req;

	if ((req = sl_req_new(flow, &h2_ops)) == NULL) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	st->req = req;
	st->started = 1;
	req->index = ++flow->nreq;
	req->method = h2_method_name(st->method ? st->method : "");
	req->inspecting = 1;
	st->head = strcmp(req->method, "HEAD") == 0;
	if (st->hdr_over) {
		h2_stream_refuse(st, 431, "header_list_too_large", 0);
		return;
	}
	/* CONNECT is only the extended one (RFC 8441), for WebSockets. */
	if (strcmp(req->method, "CONNECT") == 0 && (st->protocol == NULL ||
	    strcasecmp(st->protocol, "websocket") != 0)) {
		h2_stream_refuse(st, 501, st->protocol == NULL ?
		    "h2_connect_unsupported" : "h2_protocol_unsupported", 0);
		return;
	}
	st->tunnel = st->protocol != NULL;
	if (h2_stream_facts(st) == -1)
		return;
	sl_pl_start(req);
}

/* ------------------------------------------------------------------ */
/* nghttp2 server callbacks                                             */

static ssize_t
h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
    void *ud)
{
	struct sl_h2 *h2 = ud;

	(void)s;
	(void)flags;
	return h2_write(h2, &h2->flow->cli, data, len);
}

static int
h2_begin_headers_cb(nghttp2_session *s, const nghttp2_frame *frame,
    void *ud)
{
	struct sl_h2 *h2 = ud;
	struct h2_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((st = h2_stream_new(h2, frame->hd.stream_id)) == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (nghttp2_session_set_stream_user_data(s, frame->hd.stream_id,
	    st) != 0) {
		st->cli_closed = 1;
		h2_stream_free(st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

/* A pseudo-header's slot in the stream, or NULL. */
static char **
h2_pseudo(struct h2_stream *st, const uint8_t *name, size_t len)
{
	static const struct { const char *n; size_t off; } ps[] = {
		{ ":method", offsetof(struct h2_stream, method) },
		{ ":scheme", offsetof(struct h2_stream, scheme) },
		{ ":authority", offsetof(struct h2_stream, authority) },
		{ ":path", offsetof(struct h2_stream, path) },
		{ ":protocol", offsetof(struct h2_stream, protocol) },
	};

	for (size_t i = 0; i < SL_NELEM(ps); i++)
		if (strlen(ps[i].n) == len && memcmp(ps[i].n, name, len) == 0)
			return (char **)(void *)((char *)st + ps[i].off);
	return NULL;
}

static int
h2_header_cb(nghttp2_session *s, const nghttp2_frame *frame,
    const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
    uint8_t flags, void *ud)
{
	struct sl_h2 *h2 = ud;
	struct h2_stream *st;
	char **slot;

	(void)flags;
	if (frame->hd.type != NGHTTP2_HEADERS ||
	    (st = nghttp2_session_get_stream_user_data(s,
	    frame->hd.stream_id)) == NULL)
		return 0;
	/* RFC 9113 section 6.5.2: name, value and 32 per field. */
	st->hdr_bytes += nlen + vlen + 32;
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
		/* Trailers (nghttp2 refused pseudo-headers in them): towards
		 * an h2 origin they follow the body; an HTTP/1.1 origin gets
		 * the body without them (docs/design/h2.md). */
		if (h2->up_kind != H2_UP_H2 ||
		    st->hdr_bytes > h2->flow->rt->set->h2_header_list_max)
			return 0;
		return h2_hdrs_add(&st->rqt, (const char *)name, nlen,
		    (const char *)value, vlen) == -1 ?
		    NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
	}
	if (st->hdr_bytes > h2->flow->rt->set->h2_header_list_max) {
		if (!st->hdr_over)
			sl_log(SL_LOG_INFO, "flow=%llu h2 limit "
			    "header_list_too_large: stream %d over %u bytes",
			    (unsigned long long)h2->flow->id, st->cid,
			    h2->flow->rt->set->h2_header_list_max);
		st->hdr_over = 1;
		return 0;	/* decoded (HPACK state), not kept */
	}
	if ((slot = h2_pseudo(st, name, nlen)) != NULL) {
		sl_free(*slot);
		*slot = sl_strndup((const char *)value, vlen);
		return *slot == NULL ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
	}
	if (nlen == 4 && memcmp(name, "host", 4) == 0) {
		/* :authority wins (RFC 9113 8.3.1); else Host is it. */
		if (st->authority == NULL && (st->authority = sl_strndup(
		    (const char *)value, vlen)) == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	if (nlen == 14 && memcmp(name, "content-length", 14) == 0)
		st->has_cl = 1;
	if (h2_hdrs_add(&st->rqh, (const char *)name, nlen,
	    (const char *)value, vlen) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/*
 * Count what a flood is made of, within h2-flood-window: RST_STREAM from
 * the client (rapid reset, CVE-2023-44487) and PING/SETTINGS/PRIORITY.
 */
static void
h2_count(struct sl_h2 *h2, const nghttp2_frame *frame)
{
	const struct sl_settings *set = h2->flow->rt->set;
	uint64_t now = sl_mono_ms();

	if (now - h2->win0 >= set->h2_flood_window) {
		h2->win0 = now;
		h2->resets = h2->controls = 0;
	}
	switch (frame->hd.type) {
	case NGHTTP2_RST_STREAM:
		if (++h2->resets > set->h2_reset_max)
			h2_limit(h2, "h2_rapid_reset", "%u RST_STREAM from the "
			    "client in %u ms (h2-reset-max %u)", h2->resets,
			    set->h2_flood_window, set->h2_reset_max);
		return;
	case NGHTTP2_PING:
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PRIORITY:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK)
			return;
		if (++h2->controls > set->h2_control_max)
			h2_limit(h2, "h2_control_flood", "%u PING/SETTINGS/"
			    "PRIORITY frames in %u ms (h2-control-max %u)",
			    h2->controls, set->h2_flood_window,
			    set->h2_control_max);
		return;
	}
}

static int
h2_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
	struct sl_h2 *h2 = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s,
	    frame->hd.stream_id);

	h2_count(h2, frame);
	if (st == NULL)
		return 0;
	if (frame->hd.type != NGHTTP2_HEADERS &&
	    frame->hd.type != NGHTTP2_DATA)
		return 0;
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		st->cli_eof = 1;
		if (h2->up_kind == H2_UP_H2)
			h2_up_ready(st);
	}
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_REQUEST && !st->started &&
	    !st->queued) {
		/* Started once nghttp2 has returned (h2_after_io). */
		st->queued = 1;
		*h2->startq_tail = st;
		h2->startq_tail = &st->qnext;
	}
	return 0;
}

static int
h2_data_chunk_cb(nghttp2_session *s, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	(void)ud;
	if (st == NULL || (st->req != NULL && st->req->refused)) {
		(void)nghttp2_session_consume(s, id, len);	/* dropped */
		return 0;
	}
	if (evbuffer_add(st->up, data, len) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (st->h2->up_kind == H2_UP_H2)
		h2_up_ready(st);
	return 0;
}

static int
h2_stream_close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)ud;
	if (st == NULL)
		return 0;
	st->cli_closed = 1;
	if (code != NGHTTP2_NO_ERROR || !st->up_eof)
		st->failed = st->failed || !(st->req != NULL &&
		    st->req->refused);
	/* An HTTP/1.1 origin cannot drop a request in flight: its response
	 * is read to its end (and dropped) before the next one. */
	if (st->h2->up_kind == H2_UP_H1 && st->sent) {
		h1_cancel(st);
		return 0;
	}
	h2_stream_free(st);
	return 0;
}

/* What nghttp2 refused on its own: said once per connection. */
static int
h2_invalid_frame_cb(nghttp2_session *s, const nghttp2_frame *frame,
    int lib_error, void *ud)
{
	struct sl_h2 *h2 = ud;

	(void)s;
	if (lib_error != NGHTTP2_ERR_REFUSED_STREAM || h2->said_max_streams)
		return 0;
	h2->said_max_streams = 1;
	sl_log(SL_LOG_INFO, "flow=%llu h2 limit h2_max_streams: stream %d "
	    "refused (REFUSED_STREAM), %u open (h2-max-streams %u)",
	    (unsigned long long)h2->flow->id, frame->hd.stream_id,
	    h2->nstreams, h2->flow->rt->set->h2_max_streams);
	return 0;
}

int
h2_srv_session_new(struct sl_h2 *h2, const nghttp2_option *opt)
{
	nghttp2_session_callbacks *cbs;
	int rv;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -1;
	nghttp2_session_callbacks_set_send_callback(cbs, h2_send_cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
	    h2_begin_headers_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_header_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
	    h2_frame_recv_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
	    h2_data_chunk_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	    h2_stream_close_cb);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs,
	    h2_invalid_frame_cb);
	rv = nghttp2_session_server_new2(&h2->cs, cbs, h2, opt);
	nghttp2_session_callbacks_del(cbs);	/* the session copied them */
	return rv == 0 ? 0 : -1;
}
