/*
 * up.c — towards an origin that chose h2: an nghttp2 client session over
 * the verified origin TLS session, one origin stream per client stream.
 *
 * Request bodies are pulled from the stream's `up` buffer by a data
 * provider (deferred while it is empty), the client's window opened as
 * they go; response bodies land in `down`, the origin's window opened as
 * the client session takes them (stream.c).  The origin's own limits
 * (its SETTINGS_MAX_CONCURRENT_STREAMS) are nghttp2's to honour: requests
 * beyond them wait in its queue, bounded by h2-max-streams.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/alloc.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../policy/config.h"
#include "../flow.h"
#include "../req.h"
#include "../worker.h"
#include "h2_int.h"

/* Request pseudo-headers (5), the client's fields, via. */
#define UP_NV_EXTRA	6

static ssize_t
up_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
    void *ud)
{
	struct sl_h2 *h2 = ud;

	(void)s;
	(void)flags;
	return h2_write(h2, &h2->flow->srv, data, len);
}

static int
up_header_cb(nghttp2_session *s, const nghttp2_frame *frame,
    const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
    uint8_t flags, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s,
	    frame->hd.stream_id);

	(void)flags;
	(void)ud;
	if (st == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	/* A response head (interim ones first), or its trailers.  nghttp2
	 * files a final head after a 1xx as HCAT_HEADERS, like trailers:
	 * what it is follows from whether the final head came. */
	if (h2_hdrs_add(!st->up_final ? &st->rsh : &st->rst,
	    (const char *)name, nlen,
	    (const char *)value, vlen) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* The response head is complete: the client's stream gets it. */
static void
up_response(struct sl_h2 *h2, struct h2_stream *st, int end)
{
	struct h2_hdrs *h = &st->rsh;
	unsigned status = 0;
	size_t i = 0;

	if (h->n > 0 && h->nv[0].namelen == 7 &&
	    memcmp(h->nv[0].name, ":status", 7) == 0) {
		status = (unsigned)atoi((const char *)h->nv[0].value);
		i = 1;
	}
	if (status >= 100 && status < 200 && status != 101) {
		/* Interim (100 Continue, 103 Early Hints): passed on as it
		 * came; the final one follows.  (nghttp2 refuses 101 in h2.) */
		if (!st->cli_closed && nghttp2_submit_headers(h2->cs,
		    NGHTTP2_FLAG_NONE, st->cid, NULL, h->nv, h->n, NULL) < 0)
			h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		h2_hdrs_clear(h);
		return;
	}
	st->up_final = 1;
	if (h2->flow->rt->set->via && h2_hdrs_add(h, "via", 3, "2 sluice",
	    8) == -1) {
		h2_stream_refuse(st, 502, "oom", 0);
		return;
	}
	if (end)
		st->up_eof = 1;
	if (h2_stream_respond(st, status, h->nv + i, h->n - i, !end) == -1)
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	h2_hdrs_clear(h);
}

static int
up_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
	struct sl_h2 *h2 = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s,
	    frame->hd.stream_id);
	int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if (st == NULL)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && !st->up_final) {
		up_response(h2, st, end);
		return 0;
	}
	if ((frame->hd.type == NGHTTP2_DATA ||
	    frame->hd.type == NGHTTP2_HEADERS) && end) {
		st->up_eof = 1;
		h2_stream_down_ready(st);
	}
	return 0;
}

static int
up_data_chunk_cb(nghttp2_session *s, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	(void)ud;
	if (st == NULL || st->cli_closed) {
		(void)nghttp2_session_consume(s, id, len);	/* dropped */
		return 0;
	}
	if (evbuffer_add(st->down, data, len) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	h2_stream_down_ready(st);
	return 0;
}

static int
up_stream_close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)ud;
	if (st == NULL)
		return 0;
	st->uid = 0;
	if (st->up_eof && code == NGHTTP2_NO_ERROR)
		return 0;
	/* The origin reset it (or refused it: REFUSED_STREAM). */
	sl_log(SL_LOG_INFO, "flow=%llu h2 origin reset stream %d: %s",
	    (unsigned long long)st->h2->flow->id, id,
	    nghttp2_http2_strerror(code));
	if (!st->responded)
		h2_stream_refuse(st, 502, "origin_stream_reset", 0);
	else
		h2_stream_reset(st, code);
	return 0;
}

int
h2_up_new(struct sl_h2 *h2)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
	};
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	int rv;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -1;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return -1;
	}
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_session_callbacks_set_send_callback(cbs, up_send_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, up_header_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
	    up_frame_recv_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
	    up_data_chunk_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	    up_stream_close_cb);
	rv = nghttp2_session_client_new2(&h2->us, cbs, h2, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv != 0)
		return -1;
	if (nghttp2_submit_settings(h2->us, NGHTTP2_FLAG_NONE, iv,
	    SL_NELEM(iv)) != 0 || nghttp2_session_set_local_window_size(
	    h2->us, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
		return -1;
	return 0;
}

static void
up_nv(nghttp2_nv *nv, const char *n, const char *v)
{
	*nv = (nghttp2_nv){ (uint8_t *)(uintptr_t)n, (uint8_t *)(uintptr_t)v,
	    strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE };
}

void
h2_up_submit(struct h2_stream *st)
{
	struct sl_h2 *h2 = st->h2;
	nghttp2_data_provider prd = { .source.ptr = st,
	    .read_callback = h2_body_read_cb };
	nghttp2_nv *nv;
	size_t n = 0;
	int32_t id;

	/* RFC 8441 needs the origin's consent (its SETTINGS). */
	if (st->tunnel && nghttp2_session_get_remote_settings(h2->us,
	    NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1) {
		h2_stream_refuse(st, 501, "origin_no_extended_connect", 0);
		return;
	}
	if ((nv = sl_calloc(st->rqh.n + UP_NV_EXTRA, sizeof(*nv))) == NULL) {
		h2_stream_refuse(st, 503, "oom", 0);
		return;
	}
	up_nv(&nv[n++], ":method", st->method);
	up_nv(&nv[n++], ":scheme", st->scheme ? st->scheme : "https");
	up_nv(&nv[n++], ":authority", st->authority);
	up_nv(&nv[n++], ":path", st->path ? st->path : "/");
	if (st->protocol != NULL)
		up_nv(&nv[n++], ":protocol", st->protocol);
	if (st->rqh.n > 0)
		memcpy(nv + n, st->rqh.nv, st->rqh.n * sizeof(*nv));
	n += st->rqh.n;
	if (h2->flow->rt->set->via)
		up_nv(&nv[n++], "via", "2 sluice");
	id = nghttp2_submit_request(h2->us, NULL, nv, n, st->cli_eof &&
	    evbuffer_get_length(st->up) == 0 && st->rqt.n == 0 ? NULL : &prd,
	    st);
	sl_free(nv);
	if (id < 0) {
		h2_stream_refuse(st, 502, "origin_refused_stream", 0);
		return;
	}
	st->uid = id;
}

void
h2_up_ready(struct h2_stream *st)
{
	if (!st->up_deferred || st->uid == 0)
		return;
	st->up_deferred = 0;
	(void)nghttp2_session_resume_data(st->h2->us, st->uid);
}

void
h2_up_cancel(struct h2_stream *st)
{
	if (st->uid == 0 || st->h2->us == NULL)
		return;
	/* Still open there: the origin would wait for the rest. */
	(void)nghttp2_session_set_stream_user_data(st->h2->us, st->uid, NULL);
	(void)nghttp2_submit_rst_stream(st->h2->us, NGHTTP2_FLAG_NONE,
	    st->uid, NGHTTP2_CANCEL);
	st->uid = 0;
}

void
h2_up_consumed(struct h2_stream *st, size_t n)
{
	/* A stream the origin closed still counts for the connection. */
	if (st->uid != 0)
		(void)nghttp2_session_consume(st->h2->us, st->uid, n);
	else
		(void)nghttp2_session_consume_connection(st->h2->us, n);
}
