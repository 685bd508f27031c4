/*
 * h2_int.h — inside HTTP/2 inspection: the connection (conn.c), its
 * streams and the client-facing session (stream.c), the two ways to the
 * origin (up.c: an HTTP/2 session; h1.c: HTTP/1.1 one request at a time).
 *
 * Ownership: the flow owns its struct sl_h2 (flow->h2); the connection
 * owns its sessions and its streams (a list); a stream owns its request
 * (sl_req), its headers and its two body buffers.  nghttp2 stream user
 * data is a borrowed pointer to the stream, cleared before it is freed.
 *
 * Re-entrancy: nothing called from inside an nghttp2 callback may close
 * the flow.  Callbacks record (a stream to start, a limit hit); the code
 * that called nghttp2 acts once it has returned (h2_after_io).  A step
 * that may close the flow (the pipeline: DNS, OOM) is guarded by `gone`.
 */
#ifndef SL_H2_INT_H
#define SL_H2_INT_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#include "../../lib/http/http.h"
#include "h2.h"

struct evbuffer;
struct sl_flow;
struct sl_half;
struct sl_req;

/*
 * Flow-control windows sluice advertises on both sessions.  They bound
 * what it ever buffers: a side may send a stream only its window, and
 * the window is opened again (consume) only as the other side takes the
 * bytes.  Per connection: at most H2_CONN_WINDOW each way.
 */
#define H2_STREAM_WINDOW	(256 * 1024)
#define H2_CONN_WINDOW		(1024 * 1024)

/* A header list, owned copies (name and value NUL-terminated). */
struct h2_hdrs {
	nghttp2_nv	*nv;
	size_t		 n, cap;
};

enum h2_up_kind {
	H2_UP_H2 = 0,		/* the origin speaks HTTP/2 (up.c) */
	H2_UP_H1,		/* HTTP/1.1, one request at a time (h1.c) */
};

struct h2_stream {
	struct h2_stream	*prev, *next;	/* the connection's list */
	struct h2_stream	*qnext;		/* start or HTTP/1.1 queue */
	struct sl_h2		*h2;		/* borrowed */
	int32_t			 cid;		/* client session stream id */
	int32_t			 uid;		/* HTTP/2 origin's (0: none) */
	struct sl_req		*req;
	char			*method, *scheme, *authority, *path,
				*protocol;	/* pseudo-headers */
	struct h2_hdrs		 rqh;		/* regular request headers */
	struct h2_hdrs		 rsh;		/* response headers (HTTP/1.1
						   origin, or refusal) */
	struct h2_hdrs		 rqt, rst;	/* request, response trailers
						   (h2 both ways only) */
	size_t			 hdr_bytes;	/* decoded, RFC 9113 6.5.2 */
	struct evbuffer		*up;		/* request body, not yet taken
						   by the origin side */
	struct evbuffer		*down;		/* response body, not yet taken
						   by the client session */
	uint64_t		 up_bytes, down_bytes; /* body bytes moved */
	uint64_t		 last;		/* mono ms of the last progress */
	unsigned		 cli_eof:1;	/* client's END_STREAM */
	unsigned		 up_eof:1;	/* the response's end */
	unsigned		 cli_closed:1;	/* client stream closed */
	unsigned		 queued:1;	/* waits for h2_after_io */
	unsigned		 started:1;	/* in the pipeline */
	unsigned		 sent:1;	/* given to the origin side */
	unsigned		 responded:1;	/* response HEADERS submitted */
	unsigned		 up_final:1;	/* the h2 origin's final
						   response head came */
	unsigned		 up_deferred:1;	/* origin-side provider waits */
	unsigned		 down_deferred:1; /* client-side provider waits */
	unsigned		 hdr_over:1;	/* header list over the limit */
	unsigned		 tunnel:1;	/* extended CONNECT, accepted */
	unsigned		 head:1;	/* HEAD: no response body */
	unsigned		 has_cl:1;	/* content-length in request */
	unsigned		 failed:1;	/* cut short (logged so) */
};

struct sl_h2 {
	struct sl_flow		*flow;		/* borrowed back pointer */
	nghttp2_session		*cs;		/* towards the client */
	nghttp2_session		*us;		/* towards an h2 origin */
	enum h2_up_kind		 up_kind;
	char			*name;		/* the verified name */
	struct h2_stream	*streams;	/* every live stream */
	unsigned		 nstreams;
	struct h2_stream	*startq, **startq_tail; /* to start */
	struct event		*tick;		/* 1 s: idle, stall */
	uint64_t		 last;		/* mono ms of the last frame */
	uint64_t		 win0;		/* mono ms: flood window start */
	unsigned		 resets, controls; /* in that window */
	const char		*limit;		/* a limit hit: the reason */
	int			*gone;		/* set to 1 by sl_h2_free */
	unsigned		 origin_gone:1;	/* no more requests there */
	unsigned		 goaway:1;	/* GOAWAY sent to the client */
	unsigned		 closing:1;	/* flushing, then close */
	unsigned		 lingering:1;	/* GOAWAY out, input discarded */
	unsigned		 in_io:1;	/* inside h2_after_io */
	unsigned		 said_max_streams:1; /* logged once */

	/* HTTP/1.1 origin (h1.c) */
	struct h2_stream	*h1q, **h1q_tail; /* waiting for the origin */
	struct h2_stream	*h1cur;		/* on the origin now */
	struct sl_http_chunked	 h1ch;		/* response chunked state */
	enum sl_http_body	 h1body;	/* response framing */
	uint64_t		 h1left;
	size_t			 h1parsed;	/* bytes the last MORE saw */
	char			 h1key[25];	/* Sec-WebSocket-Key sent */
	unsigned		 h1rs;		/* 0 head, 1 body, 2 tunnel */
	unsigned		 h1req_chunked:1; /* request body chunked */
	unsigned		 h1req_done:1;	/* request sent whole */
	unsigned		 h1close:1;	/* origin said close */
};

/* conn.c */
void	h2_after_io(struct sl_h2 *h2);
void	h2_limit(struct sl_h2 *h2, const char *reason, const char *fmt, ...)
	    SL_PRINTF(3, 4);
void	h2_origin_lost(struct sl_h2 *h2, const char *why);
size_t	h2_hiwat(const struct sl_h2 *h2);
/* A session's send callback: queue towards the half, or WOULDBLOCK past
 * relay-buffer bytes queued there. */
ssize_t	h2_write(struct sl_h2 *h2, struct sl_half *h, const uint8_t *data,
	    size_t len);
/* A data provider's step: up to len bytes of `from` into buf; EOF when
 * it is empty and eof; NGHTTP2_ERR_DEFERRED (and *deferred) when it is
 * empty and more will come. */
ssize_t	h2_provide(struct evbuffer *from, uint8_t *buf, size_t len, int eof,
	    uint32_t *flags, int *deferred);

/* stream.c */
int	h2_srv_session_new(struct sl_h2 *h2, const nghttp2_option *opt);
void	h2_stream_start(struct h2_stream *st);
void	h2_stream_free(struct h2_stream *st);
void	h2_stream_refuse(struct h2_stream *st, unsigned status,
	    const char *reason, int blocked);
int	h2_stream_respond(struct h2_stream *st, unsigned status,
	    const nghttp2_nv *nv, size_t n, int body);
void	h2_stream_down_ready(struct h2_stream *st);
ssize_t	h2_body_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf,
	    size_t len, uint32_t *flags, nghttp2_data_source *src, void *ud);
void	h2_stream_reset(struct h2_stream *st, uint32_t code);
void	h2_stream_done(struct h2_stream *st);
int	h2_hdrs_add(struct h2_hdrs *h, const char *name, size_t nlen,
	    const char *value, size_t vlen) SL_NONNULL(1, 2, 4);
void	h2_hdrs_clear(struct h2_hdrs *h) SL_NONNULL(1);

/* up.c */
int	h2_up_new(struct sl_h2 *h2);
void	h2_up_submit(struct h2_stream *st);
void	h2_up_ready(struct h2_stream *st);
void	h2_up_cancel(struct h2_stream *st);
void	h2_up_consumed(struct h2_stream *st, size_t n);

/* h1.c */
void	h1_submit(struct h2_stream *st);
void	h1_pump(struct sl_h2 *h2);
void	h1_read(struct sl_h2 *h2);
/* Is there room for what the origin sends (the stream's `down`)? */
int	h1_want_read(const struct sl_h2 *h2);
void	h1_cancel(struct h2_stream *st);
void	h1_origin_eof(struct sl_h2 *h2);

#endif /* SL_H2_INT_H */
