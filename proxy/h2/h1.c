/*
 * h1.c — an h2 client's streams towards an origin that speaks HTTP/1.1:
 * one request at a time over the one verified origin session (no
 * pipelining), the others waiting in turn.
 *
 * Requests are written in HTTP/1.1 (origin form, Host from :authority,
 * cookies joined as RFC 9113 8.2.3 asks, a body without Content-Length
 * chunked); responses are parsed with the HTTP/1 codec of the explicit
 * proxy (lib/http) and their bodies decoded into the stream's `down`
 * buffer, which is not filled past relay-buffer: the origin is not read
 * while the client session has not taken it (backpressure).
 *
 * RFC 8441: an extended CONNECT with :protocol websocket becomes a GET
 * with Upgrade: websocket (a key of ours, its accept checked); after 101
 * the client's stream gets 200 and bytes relay both ways as DATA.  That
 * stream then has the origin session for itself.
 *
 * A stream the client cancels while its request is on the origin is read
 * to the end of its response (and dropped) when its request was sent
 * whole; otherwise the session is out of step and no longer used.
 */
#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../lib/alloc.h"
#include "../../lib/log.h"
#include "../../policy/config.h"
#include "../flow.h"
#include "../req.h"
#include "../worker.h"
#include "h2_int.h"

#define H1_HEAD	0	/* awaiting the response head */
#define H1_BODY	1
#define H1_TUNNEL 2	/* after 101: bytes both ways */

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Fields that are the connection's, not the message's (RFC 9110 7.6.1). */
static int
h1_hop_by_hop(const char *n, size_t len)
{
	static const char *const hop[] = { "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "upgrade", "te",
	    "trailer", "proxy-authenticate", "proxy-authorization" };

	for (size_t i = 0; i < SL_NELEM(hop); i++)
		if (strlen(hop[i]) == len && strncasecmp(n, hop[i], len) == 0)
			return 1;
	return 0;
}

void
h1_submit(struct h2_stream *st)
{
	struct sl_h2 *h2 = st->h2;

	*h2->h1q_tail = st;
	h2->h1q_tail = &st->qnext;
	/* h1_pump, from h2_after_io, puts it on the origin in turn. */
}

/* ------------------------------------------------------------------ */
/* requests                                                             */

/* Sec-WebSocket-Key: 16 random bytes, base64 (RFC 6455 4.1). */
static int
h1_ws_key(struct sl_h2 *h2)
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)h2->h1key, raw, sizeof(raw));
	return 0;
}

/* The request head, into out.  0, or -1 (no memory). */
static int
h1_head_text(struct sl_h2 *h2, struct h2_stream *st, struct evbuffer *out)
{
	int body = !(st->cli_eof && evbuffer_get_length(st->up) == 0);
	int rc = 0, cookie = 0;

	rc |= evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n",
	    st->tunnel ? "GET" : st->method, st->path ? st->path : "/",
	    st->authority) < 0;
	for (size_t i = 0; i < st->rqh.n; i++) {
		const nghttp2_nv *nv = &st->rqh.nv[i];
		const char *n = (const char *)nv->name;

		if (h1_hop_by_hop(n, nv->namelen) || (st->tunnel &&
		    (strcmp(n, "sec-websocket-key") == 0 ||
		    strcmp(n, "sec-websocket-version") == 0)))
			continue;
		if (strcmp(n, "cookie") == 0)
			continue;	/* below, as one field */
		rc |= evbuffer_add_printf(out, "%s: %s\r\n", n,
		    (const char *)nv->value) < 0;
	}
	for (size_t i = 0; i < st->rqh.n; i++)
		if (strcmp((const char *)st->rqh.nv[i].name, "cookie") == 0)
			rc |= evbuffer_add_printf(out, "%s%s", cookie++ ? "; " :
			    "Cookie: ", (const char *)st->rqh.nv[i].value) < 0;
	if (cookie)
		rc |= evbuffer_add(out, "\r\n", 2);
	h2->h1req_chunked = body && !st->has_cl && !st->tunnel;
	if (h2->h1req_chunked)
		rc |= evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n")
		    < 0;
	if (st->tunnel) {
		rc |= h1_ws_key(h2);
		rc |= evbuffer_add_printf(out, "Connection: Upgrade\r\n"
		    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Key: %s\r\n", h2->h1key) < 0;
	}
	if (h2->flow->rt->set->via)
		rc |= evbuffer_add_printf(out, "Via: 2 sluice\r\n") < 0;
	rc |= evbuffer_add(out, "\r\n", 2);
	return rc ? -1 : 0;
}

/* The next waiting stream goes on the origin. */
static void
h1_next(struct sl_h2 *h2)
{
	struct h2_stream *st = h2->h1q;
	struct evbuffer *head;

	if ((h2->h1q = st->qnext) == NULL)
		h2->h1q_tail = &h2->h1q;
	st->qnext = NULL;
	h2->h1cur = st;
	h2->h1rs = H1_HEAD;
	h2->h1req_done = 0;
	h2->h1parsed = 0;
	if ((head = evbuffer_new()) == NULL || h1_head_text(h2, st, head) ==
	    -1 || sl_half_write_buffer(&h2->flow->srv, head) == -1) {
		if (head != NULL)
			evbuffer_free(head);
		h2->h1cur = NULL;
		h2_stream_refuse(st, 503, "oom", 0);
		h2_origin_lost(h2, "oom");
		return;
	}
	evbuffer_free(head);
}

/* Request body bytes (or tunnel bytes) to the origin, as it takes them. */
static void
h1_pump_body(struct sl_h2 *h2, struct h2_stream *st)
{
	struct sl_half *srv = &h2->flow->srv;
	size_t n;
	char size[24];

	while ((n = evbuffer_get_length(st->up)) > 0 &&
	    sl_half_unsent(srv) < h2_hiwat(h2)) {
		n = SL_MIN(n, h2_hiwat(h2));
		snprintf(size, sizeof(size), "%zx\r\n", n);
		if ((h2->h1req_chunked && sl_half_write(srv, size,
		    strlen(size)) == -1) || sl_half_move(srv, st->up, n) ==
		    -1 || (h2->h1req_chunked && sl_half_write(srv, "\r\n", 2) ==
		    -1)) {
			h2_origin_lost(h2, "oom");
			return;
		}
		st->up_bytes += n;
		(void)nghttp2_session_consume(h2->cs, st->cid, n);
	}
	if (st->cli_eof && evbuffer_get_length(st->up) == 0 &&
	    !h2->h1req_done && h2->h1rs != H1_TUNNEL) {
		h2->h1req_done = 1;
		if (h2->h1req_chunked && sl_half_write(srv, "0\r\n\r\n", 5) ==
		    -1)
			h2_origin_lost(h2, "oom");
	}
}

void
h1_pump(struct sl_h2 *h2)
{
	struct sl_flow *flow = h2->flow;

	if (h2->origin_gone || flow->srv.bev == NULL)
		return;
	if (h2->h1cur == NULL && h2->h1q != NULL)
		h1_next(h2);
	if (h2->h1cur == NULL || h2->origin_gone)
		return;
	h1_pump_body(h2, h2->h1cur);
	/* What waits in the origin's input, now that there may be room. */
	if (evbuffer_get_length(sl_half_input(&flow->srv)) > 0)
		h1_read(h2);
}

int
h1_want_read(const struct sl_h2 *h2)
{
	/* Idle: read at once (a close, or bytes nobody asked for). */
	return h2->h1cur == NULL || h2->h1cur->cli_closed ||
	    evbuffer_get_length(h2->h1cur->down) < h2_hiwat(h2);
}

/* ------------------------------------------------------------------ */
/* responses                                                            */

/* The response is complete: the stream's end, the next one's turn. */
static void
h1_done(struct sl_h2 *h2)
{
	struct h2_stream *st = h2->h1cur;

	h2->h1cur = NULL;
	h2->h1rs = H1_HEAD;
	st->up_eof = 1;
	if (!h2->h1req_done)
		h2->h1close = 1;	/* answered early: out of step */
	if (st->cli_closed)
		h2_stream_free(st);	/* cancelled: read to its end */
	else
		h2_stream_down_ready(st);
	if (h2->h1close)
		h2_origin_lost(h2, "server_closed");
}

/* Is the 101's Sec-WebSocket-Accept the one for our key? */
static int
h1_ws_accept_ok(struct sl_h2 *h2, const char *buf, const struct sl_http_msg *m)
{
	char in[64], want[32];
	unsigned char md[20];

	snprintf(in, sizeof(in), "%s%s", h2->h1key, ws_guid);
	if (EVP_Digest(in, strlen(in), md, NULL, EVP_sha1(), NULL) != 1)
		return 0;
	EVP_EncodeBlock((unsigned char *)want, md, sizeof(md));
	for (unsigned i = 0; i < m->nhdr; i++)
		if (sl_http_span_eq(buf, m->hdr[i].name,
		    "sec-websocket-accept") &&
		    sl_http_span_eq(buf, m->hdr[i].value, want))
			return 1;
	return 0;
}

/* The response's fields for the client: hop-by-hop ones left out. */
static int
h1_fields(struct sl_h2 *h2, struct h2_stream *st, const char *buf,
    const struct sl_http_msg *m)
{
	for (unsigned i = 0; i < m->nhdr; i++) {
		const struct sl_http_hdr *f = &m->hdr[i];

		if (h1_hop_by_hop(buf + f->name.off, f->name.len) ||
		    (st->tunnel && sl_http_span_eq(buf, f->name,
		    "sec-websocket-accept")))
			continue;
		if (h2_hdrs_add(&st->rsh, buf + f->name.off, f->name.len,
		    buf + f->value.off, f->value.len) == -1)
			return -1;
	}
	if (h2->flow->rt->set->via && h2_hdrs_add(&st->rsh, "via", 3,
	    "1.1 sluice", 10) == -1)
		return -1;
	return 0;
}

/* A response head: 1 handled, 0 more bytes needed, -1 the origin is
 * no longer usable. */
static int
h1_head(struct sl_h2 *h2, struct h2_stream *st)
{
	static __thread struct sl_http_msg msg;	/* ~4 KiB, not on stack */
	const struct sl_settings *set = h2->flow->rt->set;
	struct sl_http_limits lim = {
		.request_line_max = set->response_header_max,
		.header_max = set->response_header_max,
		.header_count_max = set->response_header_count_max,
	};
	struct evbuffer *in = sl_half_input(&h2->flow->srv);
	size_t len = SL_MIN(evbuffer_get_length(in), lim.header_max + 1024);
	const char *p = (const char *)evbuffer_pullup(in, (ssize_t)len);
	int end, rc;

	if (p == NULL)
		return 0;
	if (h2->h1parsed > 0 && len > h2->h1parsed &&
	    !sl_http_need_parse(p, h2->h1parsed, len, &lim))
		return 0;
	h2->h1parsed = len;
	switch (sl_http_parse_response(p, len, &lim, st->head ?
	    SL_HTTP_M_HEAD : SL_HTTP_M_GET, &msg)) {
	case SL_HTTP_MORE:
		return 0;
	case SL_HTTP_BAD:
		sl_flow_log(h2->flow, SL_LOG_INFO, "bad response from '%s': %s",
		    st->authority, msg.err_reason);
		h2_stream_refuse(st, 502, "bad_response", 0);
		h2->h1cur = NULL;
		h2_origin_lost(h2, "bad_response");
		return -1;
	case SL_HTTP_OK:
		break;
	}
	h2->h1parsed = 0;
	if (msg.status == 101 && !(st->tunnel && h1_ws_accept_ok(h2, p,
	    &msg))) {
		h2_stream_refuse(st, 502, st->tunnel ? "bad_websocket_accept" :
		    "unexpected_101", 0);
		h2->h1cur = NULL;
		h2_origin_lost(h2, "unexpected_101");
		return -1;
	}
	if (msg.status < 200 && msg.status != 101) {
		evbuffer_drain(in, msg.head_len);	/* interim */
		return 1;
	}
	h2_hdrs_clear(&st->rsh);
	rc = h1_fields(h2, st, p, &msg);
	h2->h1body = msg.body;
	h2->h1left = msg.content_length;
	sl_http_chunked_init(&h2->h1ch);
	if (msg.flags & SL_HTTP_F_CLOSE)
		h2->h1close = 1;
	evbuffer_drain(in, msg.head_len);
	if (msg.status == 101) {
		/* RFC 8441 section 5: the stream's 200 is the upgrade. */
		h2->h1rs = H1_TUNNEL;
		h2->h1req_done = 1;
		msg.status = 200;
		end = 0;
	} else {
		st->tunnel = 0;		/* refused: an ordinary answer */
		h2->h1rs = H1_BODY;
		end = msg.body == SL_HTTP_BODY_NONE;
	}
	if (rc == -1 || h2_stream_respond(st, msg.status, st->rsh.nv,
	    st->rsh.n, !end) == -1)
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	h2_hdrs_clear(&st->rsh);
	if (end)
		h1_done(h2);
	return 1;
}

/* Move up to n bytes of the origin's input to the stream (or drop them
 * for a cancelled stream). */
static void
h1_take(struct h2_stream *st, struct evbuffer *in, size_t n)
{
	if (st->cli_closed)
		evbuffer_drain(in, n);
	else
		evbuffer_remove_buffer(in, st->down, n);
}

/* Response body bytes: 1 when the body is complete, 0 otherwise. */
static int
h1_body(struct sl_h2 *h2, struct h2_stream *st)
{
	struct evbuffer *in = sl_half_input(&h2->flow->srv);
	size_t room, avail, n;
	struct evbuffer_iovec v;
	uint64_t d;
	int done = 0;

	for (;;) {
		avail = evbuffer_get_length(in);
		room = st->cli_closed ? avail : h2_hiwat(h2) -
		    SL_MIN(h2_hiwat(h2), evbuffer_get_length(st->down));
		if (avail == 0 || room == 0)
			return 0;
		switch (h2->h1body) {
		case SL_HTTP_BODY_NONE:
			return 1;
		case SL_HTTP_BODY_EOF:
			h1_take(st, in, SL_MIN(avail, room));
			break;
		case SL_HTTP_BODY_LENGTH:
			n = (size_t)SL_MIN((uint64_t)SL_MIN(avail, room),
			    h2->h1left);
			h1_take(st, in, n);
			if ((h2->h1left -= n) == 0)
				return 1;
			break;
		case SL_HTTP_BODY_CHUNKED:
			/* Data goes to the stream; framing is fed byte by
			 * byte (it is a few bytes per chunk). */
			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				return 0;
			d = sl_http_chunked_data_next(&h2->h1ch);
			n = d > 0 ? (size_t)SL_MIN((uint64_t)SL_MIN(v.iov_len,
			    room), d) : 1;
			if (sl_http_chunked_feed(&h2->h1ch, v.iov_base, n,
			    &done) != (ssize_t)n) {
				h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
				h2_origin_lost(h2, "bad_response_body");
				return -1;
			}
			if (d > 0)
				h1_take(st, in, n);
			else
				evbuffer_drain(in, n);
			if (done)
				return 1;
			break;
		}
	}
}

void
h1_read(struct sl_h2 *h2)
{
	struct evbuffer *in = sl_half_input(&h2->flow->srv);
	struct h2_stream *st;
	int rc;

	while (!h2->origin_gone && evbuffer_get_length(in) > 0) {
		if ((st = h2->h1cur) == NULL) {
			sl_flow_log(h2->flow, SL_LOG_INFO, "server '%s' sent %zu "
			    "bytes no request asked for: not used any more",
			    h2->name, evbuffer_get_length(in));
			evbuffer_drain(in, evbuffer_get_length(in));
			h2_origin_lost(h2, "unsolicited_bytes");
			return;
		}
		if (h2->h1rs == H1_HEAD) {
			if ((rc = h1_head(h2, st)) <= 0)
				return;
			continue;
		}
		if (h2->h1rs == H1_TUNNEL) {
			size_t room = h2_hiwat(h2) - SL_MIN(h2_hiwat(h2),
			    evbuffer_get_length(st->down));

			if (room == 0)
				return;
			h1_take(st, in, SL_MIN(room, evbuffer_get_length(in)));
			h2_stream_down_ready(st);
			continue;
		}
		rc = h1_body(h2, st);
		if (rc == -1)
			return;
		if (rc == 1) {
			h1_done(h2);
			continue;
		}
		h2_stream_down_ready(st);
		return;
	}
}

void
h1_origin_eof(struct sl_h2 *h2)
{
	struct h2_stream *st = h2->h1cur;

	if (st == NULL)
		return;
	h1_read(h2);		/* what arrived with the FIN */
	if ((st = h2->h1cur) == NULL)
		return;
	/* A body until close, or a tunnel, ends so; anything else was cut
	 * short (h2_origin_lost answers it). */
	if ((h2->h1rs == H1_BODY && h2->h1body == SL_HTTP_BODY_EOF) ||
	    h2->h1rs == H1_TUNNEL) {
		h2->h1req_done = 1;
		h1_done(h2);
	}
}

void
h1_cancel(struct h2_stream *st)
{
	struct sl_h2 *h2 = st->h2;
	struct h2_stream **pp;

	for (pp = &h2->h1q; *pp != NULL; pp = &(*pp)->qnext) {
		if (*pp != st)
			continue;
		if ((*pp = st->qnext) == NULL)
			h2->h1q_tail = pp;
		h2_stream_free(st);
		return;
	}
	if (st != h2->h1cur) {
		h2_stream_free(st);	/* its response was complete */
		return;
	}
	if (h2->h1req_done && h2->h1rs != H1_TUNNEL && !h2->origin_gone)
		return;		/* read to its end by h1_read, then freed */
	/* Half a request (or a tunnel) on the origin: nothing can follow. */
	h2_stream_free(st);	/* h1cur too */
	h2_origin_lost(h2, "stream_cancelled");
}
