/*
 * classify.c — first-bytes classification for tunnels and transparent
 * flows (DESIGN.md, "Classify").
 *
 * The first byte already separates the candidates: 0x16 can only start a
 * TLS handshake record, 0x00/0x01 a STUN message (the top two bits of a
 * STUN type are zero), a method letter ([A-Z_-]), a blank or a line end an
 * HTTP request line (the rule is below).  A candidate parser that says
 * NOT_MINE hands over to "opaque": those bytes pass untouched when policy
 * allows the destination.
 */
#include <string.h>

#include "../lib/attr.h"

#include "../stun/stun.h"
#include "classify.h"

/*
 * Which first lines are HTTP.  Opaque bytes are decided on the address
 * alone, past Host and URL rules, so every line an origin server would act
 * on as a request must be HTTP here; the strict parser then decides it, or
 * refuses it (400).  What lenient servers act on (read in nginx 1.22's
 * ngx_http_parse_request_line and Python 3.11's http.server parse_request,
 * probed in tests/integ/121-lenient-request-lines.sh, modelled in
 * tests/fuzz/fuzz_classify.c):
 *   - nginx skips any run of CR and LF, then takes a method of [A-Z_-],
 *     SP+, a target (bytes above SP but DEL; 0x85 and 0xa0 too), and then
 *     the line end (HTTP/0.9, GET only) or SP+ "HTTP/1." DIGIT+ SP*
 *     ("HTTP/1.10", "GET /x HTTP/1.1 "), the line ending in CR LF or a
 *     bare LF;
 *   - http.server splits the line (up to LF) at Latin-1 whitespace (SP HT
 *     VT FF CR 0x1c-0x1f 0x85 0xa0: leading, trailing and repeated blanks,
 *     tabs) and takes three words, the last "HTTP/" INT "." INT below 2.0
 *     ("HTTP/01.1", "HTTP/+1.1"), or two for an HTTP/0.9 GET.  It acts on a
 *     request only through a do_<METHOD> handler, named for a method of
 *     [A-Z_-]; any other first word gets 501.
 * The rule covers both, with margins where that keeps it short and catches
 * no text protocol.  After any run of CR and LF, the first line is split
 * into words at those blanks; it is HTTP when its first word is of [A-Z_-]
 * and either it has three words or more and the last begins with "HTTP/"
 * (in any case), or the first word is "GET" and a second follows
 * (HTTP/0.9, and "GET / HTTP" with it).  A line not ended yet, its first
 * word of [A-Z_-] so far, is MORE; one that has not ended within
 * CLASSIFY_LINE_MAX bytes is HTTP (http.server reads 64 KiB), as are more
 * than CLASSIFY_EMPTY_MAX empty lines (the parser refuses so many).  So
 * "LOGIN alice secret", "EHLO x", "USER y", "A001 CAPABILITY", "QUIT",
 * "get key", RTSP's "OPTIONS rtsp://h/x RTSP/1.0" and SIP's "INVITE
 * sip:b@h SIP/2.0" pass as opaque bytes: nginx and http.server refuse
 * each (400 or 501).
 */
#define CLASSIFY_LINE_MAX	8192
#define CLASSIFY_EMPTY_MAX	8	/* as the request parser allows */

/* Python's str.split() whitespace in Latin-1, but LF (it ends the line). */
static int
classify_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' ||
	    (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0;
}

/* What nginx takes for a method byte. */
static int
classify_method_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

/* The words of a line, as far as the rule needs them. */
struct classify_words {
	size_t		 n;		/* how many */
	const uint8_t	*last;		/* the last one */
	size_t		 last_len;
	int		 get;		/* the first is "GET" */
};

/* Split l[0..len) into words; -1 if the first is not of [A-Z_-]. */
static int
classify_split(const uint8_t *l, size_t len, struct classify_words *w)
{
	size_t i = 0, s;

	memset(w, 0, sizeof(*w));
	for (;;) {
		while (i < len && classify_blank(l[i]))
			i++;
		if (i == len)
			return 0;
		for (s = i; i < len && !classify_blank(l[i]); i++)
			if (w->n == 0 && !classify_method_char(l[i]))
				return -1;
		if (w->n++ == 0)
			w->get = i - s == 3 && memcmp(l + s, "GET", 3) == 0;
		w->last = l + s;
		w->last_len = i - s;
	}
}

/* Does the word begin with "HTTP/", in any letter case? */
static int
classify_http_version(const uint8_t *w, size_t n)
{
	static const char http[] = "HTTP/";

	if (n < sizeof(http) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(http) - 1; i++) {
		uint8_t c = w[i] >= 'a' && w[i] <= 'z' ? w[i] - 32 : w[i];

		if (c != (uint8_t)http[i])
			return 0;
	}
	return 1;
}

static enum sl_parse_rc
classify_http_start(const uint8_t *buf, size_t len)
{
	struct classify_words w;
	const uint8_t *eol;
	size_t n, skip = 0;

	/* Leading empty lines: CR LF, or a bare CR or LF the parser refuses. */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		if (++skip > 2 * CLASSIFY_EMPTY_MAX)
			return SL_PARSE_OK;	/* too many: the parser says so */
	buf += skip;
	len -= skip;
	n = SL_MIN(len, CLASSIFY_LINE_MAX);
	if ((eol = memchr(buf, '\n', n)) != NULL)
		n = (size_t)(eol - buf);
	if (classify_split(buf, n, &w) == -1)
		return SL_PARSE_NOT_MINE;
	if (eol == NULL)
		return len < CLASSIFY_LINE_MAX ? SL_PARSE_MORE : SL_PARSE_OK;
	if (w.get && w.n >= 2)
		return SL_PARSE_OK;
	if (w.n >= 3 && classify_http_version(w.last, w.last_len))
		return SL_PARSE_OK;
	return SL_PARSE_NOT_MINE;
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
	} else if (classify_method_char(buf[0]) || classify_blank(buf[0]) ||
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
