/*
 * classify.c — first-bytes classification for tunnels and transparent
 * flows (DESIGN.md, "Classify").
 *
 * The first byte already separates the candidates: 0x16 can only start a
 * TLS handshake record, 0x00/0x01 a STUN message (the top two bits of a
 * STUN type are zero), an upper-case letter an HTTP method.  A candidate
 * parser that says NOT_MINE hands over to "opaque": those bytes pass
 * untouched when policy allows the destination.
 */
#include <string.h>

#include "../lib/attr.h"

#include "../stun/stun.h"
#include "classify.h"

/*
 * "GET / HTTP/1.1\r\n": a method of upper-case letters, SP, a target, SP
 * and "HTTP/" on the first line.  Text protocols on other ports also start
 * with an upper-case word ("LOGIN alice", "EHLO x", "USER y", RTSP's
 * "OPTIONS rtsp://h RTSP/1.0"): only a line that ends like an HTTP request
 * line makes the flow HTTP, so those pass as opaque bytes instead of being
 * refused as malformed HTTP.  Three shapes are HTTP all the same, because
 * an origin server would take them for a request and opaque bytes are
 * decided on the address alone, past Host and URL rules: the empty lines
 * a server skips before a request line (RFC 9112 section 2.2); a common
 * method with a target and no version (HTTP/0.9, which servers such as
 * nginx still answer); and a common method whose line runs past
 * CLASSIFY_LINE_MAX.  The full parser then judges them.
 */
#define CLASSIFY_LINE_MAX	8192
#define CLASSIFY_EMPTY_MAX	8	/* as the request parser allows */

static int
classify_common_method(const uint8_t *m, size_t n)
{
	static const char *const common[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "CONNECT",
		"OPTIONS", "TRACE",
	};

	for (size_t i = 0; i < SL_NELEM(common); i++)
		if (strlen(common[i]) == n && memcmp(common[i], m, n) == 0)
			return 1;
	return 0;
}

static enum sl_parse_rc
classify_http_start(const uint8_t *buf, size_t len)
{
	const uint8_t *eol, *sp1, *sp2 = NULL;
	size_t i, n, skip = 0;

	/* Leading empty lines: CR LF, or a bare LF the parser refuses. */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		if (++skip > 2 * CLASSIFY_EMPTY_MAX)
			return SL_PARSE_OK;	/* too many: the parser says so */
	buf += skip;
	len -= skip;
	if (len == 0)
		return SL_PARSE_MORE;
	for (i = 0; i < len && i < 16; i++) {
		if (buf[i] == ' ')
			break;
		if (!((buf[i] >= 'A' && buf[i] <= 'Z') || buf[i] == '-'))
			return SL_PARSE_NOT_MINE;
	}
	if (i == 0 || i == 16)
		return SL_PARSE_NOT_MINE;
	if (i == len)
		return SL_PARSE_MORE;
	n = SL_MIN(len, CLASSIFY_LINE_MAX);
	if ((eol = memchr(buf, '\n', n)) == NULL) {
		if (len < CLASSIFY_LINE_MAX)
			return SL_PARSE_MORE;
		return classify_common_method(buf, i) ? SL_PARSE_OK :
		    SL_PARSE_NOT_MINE;
	}
	sp1 = buf + i;
	for (const uint8_t *p = eol; p > sp1; p--)
		if (*p == ' ') {
			sp2 = p;
			break;
		}
	if (sp2 == NULL)	/* "GET /x": no version at all */
		return eol > sp1 + 1 && classify_common_method(buf, i) ?
		    SL_PARSE_OK : SL_PARSE_NOT_MINE;
	if (sp2 == sp1 || eol - sp2 < 9 || memcmp(sp2 + 1, "HTTP/", 5) != 0)
		return SL_PARSE_NOT_MINE;
	return SL_PARSE_OK;
}

static void
classify_http(const uint8_t *buf, size_t len, int want_head,
    const struct sl_http_limits *lim, struct sl_classify *out)
{
	struct sl_http_msg *msg;
	static __thread struct sl_http_msg tls_msg;	/* ~4 KiB: not on stack */
	enum sl_http_rc rc;

	out->proto = SL_PROTO_HTTP;
	if (!want_head) {
		out->rc = SL_PARSE_OK;
		return;
	}
	msg = &tls_msg;
	rc = sl_http_parse_request((const char *)buf, len, lim, msg);
	if (rc == SL_HTTP_MORE) {
		out->rc = SL_PARSE_MORE;
		return;
	}
	if (rc == SL_HTTP_BAD) {
		out->rc = SL_PARSE_BAD;
		out->err = msg->err_reason;
		return;
	}
	out->rc = SL_PARSE_OK;
	out->host = msg->host_hdr;
	out->head_len = msg->head_len;
}

void
sl_classify(const uint8_t *buf, size_t len, size_t cap, int want_http_head,
    const struct sl_http_limits *http_lim, struct sl_classify *out)
{
	enum sl_parse_rc rc;

	memset(out, 0, sizeof(*out));
	out->rc = SL_PARSE_MORE;
	if (len == 0)
		return;

	if (buf[0] == 0x16) {
		rc = sl_tls_peek_parse(buf, len, cap, &out->hello);
		if (rc != SL_PARSE_NOT_MINE) {
			out->proto = SL_PROTO_TLS;
			out->rc = rc;
			out->err = out->hello.err;
			return;
		}
	} else if (buf[0] <= 0x01) {
		struct sl_stun_hdr h;

		rc = sl_stun_peek(buf, len, &h);
		if (rc == SL_PARSE_OK || rc == SL_PARSE_MORE) {
			out->proto = SL_PROTO_STUN;
			out->rc = rc;
			return;
		}
	} else if ((buf[0] >= 'A' && buf[0] <= 'Z') || buf[0] == '\r' ||
	    buf[0] == '\n') {
		rc = classify_http_start(buf, len);
		if (rc == SL_PARSE_MORE) {
			/* Only a request line can still come of it; one that
			 * fills the buffer will not fit (nor make us spin). */
			out->proto = SL_PROTO_HTTP;
			if (len >= cap) {
				out->rc = SL_PARSE_BAD;
				out->err = "too_large";
			}
			return;
		}
		if (rc == SL_PARSE_OK) {
			classify_http(buf, len, want_http_head, http_lim, out);
			if (out->rc == SL_PARSE_MORE && len >= cap) {
				out->rc = SL_PARSE_BAD;
				out->err = "too_large";
			}
			return;
		}
	}
	out->proto = SL_PROTO_OPAQUE;
	out->rc = SL_PARSE_OK;
}

void
sl_classify_cut_short(struct sl_classify *c, int timeout)
{
	if (c->rc == SL_PARSE_MORE && c->proto == SL_PROTO_TLS) {
		c->rc = SL_PARSE_BAD;
		c->err = timeout ? "truncated_timeout" : "truncated_eof";
	}
}
