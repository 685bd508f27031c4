/*
 * http.h — the HTTP/1 codec: strict message-head parsing, the chunked
 * transfer-coding tracker and head rewriting for a proxy (RFC 9110, RFC
 * 9112).  Pure: takes (buf, len), never touches a socket, allocates
 * nothing.  In lib/ so that both the proxy's forwarder and the TLS
 * inspection engine (tls/) call it without an arrow into proxy/.
 *
 * The parser is deliberately strict, because a proxy that is lenient where
 * the origin is strict (or the reverse) is how request smuggling happens:
 * both Content-Length and Transfer-Encoding, conflicting or empty
 * Content-Length, obs-fold, whitespace before the colon, bare CR or LF,
 * NUL, invalid token characters, bad chunk sizes and overflows are all
 * refused with a status code and a short static reason for the log.
 */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../attr.h"

enum sl_http_rc {
	SL_HTTP_OK = 0,		/* a complete, valid head */
	SL_HTTP_MORE,		/* valid so far; need more bytes */
	SL_HTTP_BAD,		/* invalid: see status and reason */
};

/*
 * A zero member selects its default (8192, 65536, 100).  header_count_max
 * is capped at SL_HTTP_MAX_HEADERS (the header-count-max and
 * response-header-count-max settings allow no more).  request_line_max
 * counts the line without its CRLF (for a response: the status line);
 * header_max counts the whole head, leading empty lines and the final
 * CRLF included.  The proxy parses requests with the header-* settings
 * and responses with the response-header-* ones (docs/policy.md).
 */
struct sl_http_limits {
	size_t		request_line_max;	/* longer -> 414 */
	size_t		header_max;		/* whole head longer -> 431 */
	unsigned	header_count_max;	/* more fields -> 431 */
};

/* A slice of the caller's buffer. */
struct sl_http_span {
	uint32_t	off;
	uint32_t	len;
};

struct sl_http_hdr {
	struct sl_http_span name;
	struct sl_http_span value;	/* OWS trimmed on both sides */
};

#define SL_HTTP_MAX_HEADERS	256	/* hard upper bound of the array */

enum sl_http_method {
	SL_HTTP_M_OTHER = 0,		/* any other valid token */
	SL_HTTP_M_GET,
	SL_HTTP_M_HEAD,
	SL_HTTP_M_POST,
	SL_HTTP_M_PUT,
	SL_HTTP_M_CONNECT,
	SL_HTTP_M_OPTIONS,
};

enum sl_http_form {
	SL_HTTP_FORM_ORIGIN = 0,	/* "/path?q" */
	SL_HTTP_FORM_ABSOLUTE,		/* "http://host[:port]/path?q" */
	SL_HTTP_FORM_AUTHORITY,		/* "host:port" (CONNECT only) */
	SL_HTTP_FORM_ASTERISK,		/* "*" (OPTIONS only) */
};

enum sl_http_body {
	SL_HTTP_BODY_NONE = 0,
	SL_HTTP_BODY_LENGTH,		/* content_length bytes */
	SL_HTTP_BODY_CHUNKED,
	SL_HTTP_BODY_EOF,		/* responses only: until close */
};

/* Message flags. */
#define SL_HTTP_F_CLOSE		0x0001	/* Connection: close (or 1.0) */
#define SL_HTTP_F_KEEPALIVE	0x0002	/* 1.0 with Connection: keep-alive */
#define SL_HTTP_F_UPGRADE_WS	0x0004	/* Upgrade: websocket + Connection */
#define SL_HTTP_F_EXPECT_100	0x0008	/* Expect: 100-continue */
#define SL_HTTP_F_HAS_TE	0x0010

struct sl_http_msg {
	size_t		head_len;	/* bytes of the head incl. final CRLF */
	unsigned	version;	/* 10 or 11 */
	unsigned	flags;		/* SL_HTTP_F_* */
	enum sl_http_body body;
	uint64_t	content_length;

	/* requests */
	enum sl_http_method method;
	struct sl_http_span method_s;
	struct sl_http_span target;	/* raw request-target */
	enum sl_http_form form;
	struct sl_http_span scheme;	/* absolute form: "http" (lowercased
					   copy not made; compare caseless) */
	struct sl_http_span host;	/* authority host, brackets kept for
					   IPv6; absolute/authority form */
	uint16_t	port;		/* explicit or the scheme's default */
	struct sl_http_span path;	/* absolute form: path + query ("/" if
					   empty); origin form: the target.
					   A span cannot invent the "/": an
					   empty path has len 0, and a query
					   without a path starts with '?' */
	struct sl_http_span host_hdr;	/* the Host field value, if present */

	/* responses */
	unsigned	status;		/* 100..599 */
	struct sl_http_span reason_s;

	unsigned	nhdr;
	struct sl_http_hdr hdr[SL_HTTP_MAX_HEADERS];

	/* on SL_HTTP_BAD: what to answer and a static reason for the log */
	unsigned	err_status;	/* 400, 414, 431, 501, 505 (502 resp.) */
	const char	*err_reason;	/* e.g. "cl_and_te", "obs_fold" */
};

/*
 * Parse a request head.  On SL_HTTP_OK, msg describes the head in
 * buf[0..msg->head_len).  The limits apply even while SL_HTTP_MORE: a
 * request line or head that already exceeds them is SL_HTTP_BAD at once.
 * Semantic checks done here: Host present exactly once for HTTP/1.1 and
 * consistent form per method (CONNECT needs authority-form with a port
 * 1..65535), no userinfo in URIs, framing per RFC 9112 section 6.
 */
enum sl_http_rc sl_http_parse_request(const char *buf, size_t len,
	    const struct sl_http_limits *lim, struct sl_http_msg *msg)
	    SL_NONNULL(1, 3, 4);

/*
 * Parse a response head to a request with method req_method.  Framing per
 * RFC 9112 section 6.3: HEAD, 1xx, 204 and 304 have no body; a 2xx to
 * CONNECT neither; chunked; Content-Length; otherwise until close.
 * Errors get err_status 502.  Transfer-Encoding together with
 * Content-Length is refused (502) rather than letting chunked win, and a
 * body delimited by close also sets SL_HTTP_F_CLOSE.
 */
enum sl_http_rc sl_http_parse_response(const char *buf, size_t len,
	    const struct sl_http_limits *lim, enum sl_http_method req_method,
	    struct sl_http_msg *msg) SL_NONNULL(1, 3, 5);

/*
 * Whether a head that was SL_HTTP_MORE at old_len bytes is worth parsing
 * again now that len bytes are buffered (1 or 0).  Re-parsing from the
 * first byte on every read makes a head trickled in one byte at a time
 * quadratic (about 1.7 s of CPU for a 64 KiB head); parsing only when this
 * says so keeps it linear.  A complete head is found at exactly the same
 * byte; an error may be reported up to one line later (it is still
 * reported before the head could complete), limits are reported as they
 * are crossed.  For requests and responses alike.
 */
int	sl_http_need_parse(const char *buf, size_t old_len, size_t len,
	    const struct sl_http_limits *lim) SL_NONNULL(1, 4);

/*
 * Chunked transfer-coding tracker.  The proxy forwards chunked bodies
 * verbatim; this only finds where the body ends and validates framing
 * (hex size without overflow, CRLF after data, trailer fields).
 */
struct sl_http_chunked {
	int		state;
	uint64_t	left;		/* bytes left in the current chunk */
	unsigned	line_len;	/* bytes in the current size/trailer line */
	unsigned	size_digits;
};

void	sl_http_chunked_init(struct sl_http_chunked *c) SL_NONNULL(1);
/*
 * Consume up to len bytes of body.  Returns how many bytes belong to the
 * body (forward exactly those), sets *done when the last chunk and its
 * trailers have ended, or returns -1 on a framing error (the connection
 * cannot be trusted any more and must be closed).
 */
ssize_t	sl_http_chunked_feed(struct sl_http_chunked *c, const char *buf,
	    size_t len, int *done) SL_NONNULL(1, 2, 4);
/*
 * Bytes of chunk data that come next (the tracker is inside a chunk's
 * data), 0 while framing (a size line, a CRLF, trailers) comes next.  A
 * decoder (HTTP/2 towards the client) feeds those as data, and framing
 * bytes one at a time until data comes again.
 */
uint64_t sl_http_chunked_data_next(const struct sl_http_chunked *c)
	    SL_NONNULL(1);

/*
 * Rewrite a parsed request for the origin server (RFC 9112 section 3.2.2,
 * RFC 9110 section 7.6): origin-form request line with the client's HTTP
 * version, Host replaced by the URI authority, hop-by-hop fields removed
 * (Connection and every field it lists, Proxy-Connection, Keep-Alive, TE,
 * Trailer, Upgrade, Proxy-Authorization, Proxy-Authenticate), except that
 * a WebSocket upgrade keeps "Connection: Upgrade" and "Upgrade".  Every
 * other field is copied byte for byte, in order.  Adds "Via: 1.1 sluice"
 * when via is set (appending to an existing Via).  Returns the length
 * written, or -1 if out is too small.
 *
 * Details: Content-Length, Transfer-Encoding and Host are never dropped
 * because Connection names them (that would desync the framing).  Via is
 * appended to the last Via field (", 1.1 sluice") or added at the end; its
 * version is the one of the message received ("1.0 sluice" for 1.0), as
 * RFC 9110 section 7.6.3 asks.  A request without a path becomes "/" (or
 * "*" for OPTIONS, RFC 9112 section 3.2.4); an absolute-form request that
 * had no Host gets one as its first field.
 */
ssize_t	sl_http_rewrite_request(const char *buf, const struct sl_http_msg *msg,
	    int via, char *out, size_t cap) SL_NONNULL(1, 2, 4);

/*
 * Rewrite a response head for the client: same hop-by-hop removal (a 101
 * to a WebSocket upgrade keeps Connection/Upgrade), Via when set, and
 * "Connection: close" added when close is set.  Returns length or -1.
 */
ssize_t	sl_http_rewrite_response(const char *buf, const struct sl_http_msg *msg,
	    int via, int close, char *out, size_t cap) SL_NONNULL(1, 2, 5);

/* Reason phrase for a status code ("Forbidden"), "" if unknown. */
const char *sl_http_reason(unsigned status);

/* Case-insensitive compare of a span with a NUL-terminated string. */
int	sl_http_span_eq(const char *buf, struct sl_http_span s, const char *lit)
	    SL_NONNULL(1, 3);

#endif /* SL_HTTP_H */
