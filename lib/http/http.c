/*
 * http.c — strict HTTP/1.1 message heads for the explicit proxy
 * (RFC 9110, RFC 9112): request and response parsing, framing, the
 * chunked body tracker and the rewrite towards the next hop.
 *
 * The head parser re-scans from the first byte on every call (heads are
 * small, and the caller keeps no parser state; sl_http_need_parse tells
 * it when a re-scan is worth it, so a trickled head stays linear).  It
 * walks the bytes in
 * order and stops at the first one that makes the head invalid, so a
 * prefix of any input is either SL_HTTP_MORE or fails with exactly the
 * error the whole input fails with; checks that need a whole line (the
 * request target, a field value) run when its CRLF has been seen, and
 * framing checks when the empty line has.  The limits are checked byte by
 * byte as well, which is what makes them hold on partial input.
 *
 * Strictness choices beyond the letter of the RFCs, each because a proxy
 * and an origin disagreeing on framing is request smuggling:
 *   - bare LF line endings are refused (RFC 9112 section 2.2 allows them);
 *   - a Content-Length list, even "5, 5", is refused (section 6.3 allows
 *     identical values);
 *   - empty Transfer-Encoding list elements and coding parameters are
 *     refused;
 *   - a response with both Transfer-Encoding and Content-Length is refused
 *     (502) instead of letting chunked win (section 6.3 item 3);
 *   - a CONNECT request with content is refused (RFC 9110 section 9.3.6
 *     gives it no meaning; a proxy would take it for tunnel data);
 *   - a fragment ('#') in the request target is refused;
 *   - at most 8 empty lines before a request line are skipped.
 * One leniency: a response status line without a reason phrase, and
 * without the SP before it, is accepted (common, and not framing).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../addr.h"
#include "http.h"
#include "http_int.h"

/* Defaults for a zero limit (see http.h). */
#define HTTP_LINE_MAX_DEF	8192
#define HTTP_HEAD_MAX_DEF	65536
#define HTTP_COUNT_MAX_DEF	100
#define HTTP_METHOD_MAX		32
/*
 * Leading empty lines skipped before a request line.  Bounded because each
 * is an LF, and a caller re-parses at every LF (sl_http_need_parse): an
 * unbounded run would make a trickled head quadratic again.
 */
#define HTTP_EMPTY_LINES_MAX	8

/* Octet classes and small helpers: http_int.h. */
const uint8_t sl_http_octet_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	2, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,	/* 0x20 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,	/* 0x30 */
	2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,	/* 0x40 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,	/* 0x50 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,	/* 0x60 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,	/* 0x70 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0x80 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0x90 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xa0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xb0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xc0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xd0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xe0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* 0xf0 */
};

static int
mem_caseeq(const char *a, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lit[i] == '\0' ||
		    lower((unsigned char)a[i]) != lower((unsigned char)lit[i]))
			return 0;
	}
	return lit[n] == '\0';
}

/* Case-insensitive equality of two n-byte strings. */
static int
mem_caseeq2(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int
sl_http_span_eq(const char *buf, struct sl_http_span s, const char *lit)
{
	return mem_caseeq(buf + s.off, s.len, lit);
}

static inline struct sl_http_span
span(size_t off, size_t len)
{
	struct sl_http_span s = { (uint32_t)off, (uint32_t)len };

	return s;
}

/*
 * Next element of a comma-separated list (RFC 9110 section 5.6.1) that
 * starts at *i of v[0..n): OWS-trimmed offset and length, possibly empty.
 * Returns 0 when the list is exhausted.
 */
static int
list_next(const char *v, size_t n, size_t *i, size_t *eo, size_t *el)
{
	size_t s = *i, e;

	if (s > n)
		return 0;
	for (e = s; e < n && v[e] != ','; e++)
		;
	*i = e + 1;
	while (s < e && is_ows((unsigned char)v[s]))
		s++;
	while (e > s && is_ows((unsigned char)v[e - 1]))
		e--;
	*eo = s;
	*el = e - s;
	return 1;
}

static int
all_tchar(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)p[i]))
			return 0;
	return n > 0;
}

/* ---- authority: host [":" port] (RFC 3986 section 3.2, RFC 9110 4.2) */

/* Strict reg-name: the characters DNS names and IPv4 literals use. */
static inline int
is_host_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' ||
	    c == '_' || c == '~';
}

/*
 * Split p[0..n) into host (span relative to base) and port (-1 when
 * absent).  Userinfo, unbracketed IPv6, malformed bracketed literals and
 * ports outside 1..65535 are refused.  Returns NULL or a reason.
 */
static const char *
authority_parse(const char *p, size_t n, size_t base,
    struct sl_http_span *host, int *port)
{
	struct sl_ip ip;
	size_t h, i, colons = 0;
	unsigned long v = 0;

	if (memchr(p, '@', n) != NULL)
		return "userinfo_in_uri";
	if (n > 0 && p[0] == '[') {
		const char *rb = memchr(p, ']', n);

		if (rb == NULL)
			return "bad_host";
		h = (size_t)(rb - p) + 1;
		if (sl_ip_parse_host(&ip, p, h) != 1)
			return "bad_host";
	} else {
		for (i = 0; i < n; i++)
			colons += p[i] == ':';
		if (colons > 1)
			return "ipv6_not_bracketed";
		for (h = 0; h < n && p[h] != ':'; h++)
			if (!is_host_char((unsigned char)p[h]))
				return "bad_host";
		if (h == 0)
			return "empty_host";
	}
	*host = span(base, h);
	*port = -1;
	if (h == n)
		return NULL;
	if (p[h] != ':')
		return "bad_host";
	if (h + 1 == n || n - h - 1 > 5)
		return "bad_port";
	for (i = h + 1; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return "bad_port";
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return "bad_port";
	*port = (int)v;
	return NULL;
}

/* ---- head parser ------------------------------------------------------ */

struct hp {
	const char		*buf;
	size_t			 len;
	size_t			 pos;
	size_t			 line_max;
	size_t			 head_max;
	unsigned		 count_max;
	int			 resp;		/* parsing a response */
	struct sl_http_msg	*msg;
	/* facts collected field by field, judged at the end of the head */
	unsigned		 ncl;
	unsigned		 nte;
	unsigned		 nhost;
	unsigned		 te_chunked:1;	/* chunked seen in TE */
	unsigned		 te_last_chunked:1;
	unsigned		 conn_close:1;
	unsigned		 conn_keepalive:1;
	unsigned		 conn_upgrade:1;
	unsigned		 upgrade_ws:1;
	unsigned		 expect_100:1;
};

/* Every error a response has is a bad gateway. */
static enum sl_http_rc
hp_bad(struct hp *h, unsigned status, const char *reason)
{
	h->msg->err_status = h->resp ? 502 : status;
	h->msg->err_reason = reason;
	return SL_HTTP_BAD;
}

/* Is byte `at` of the head available?  Past the head limit it is BAD. */
static enum sl_http_rc
hp_have(struct hp *h, size_t at)
{
	if (at >= h->head_max)
		return hp_bad(h, 431, "head_too_large");
	return at < h->len ? SL_HTTP_OK : SL_HTTP_MORE;
}

/* Where a run scan must stop: the end of the input or of the head limit. */
static inline size_t
hp_end(const struct hp *h)
{
	return SL_MIN(h->len, h->head_max);
}

/* At a CR: OK if an LF follows (CRLF), BAD for a bare CR. */
static enum sl_http_rc
hp_crlf(struct hp *h, size_t at)
{
	enum sl_http_rc rc = hp_have(h, at + 1);

	if (rc != SL_HTTP_OK)
		return rc;
	if (h->buf[at + 1] != '\n')
		return hp_bad(h, 400, "bare_cr");
	return SL_HTTP_OK;
}

/* Next start-line byte at h->pos, under both the line and head limits. */
static enum sl_http_rc
stl_get(struct hp *h, size_t ls, unsigned char *c)
{
	enum sl_http_rc rc = hp_have(h, h->pos);

	if (rc != SL_HTTP_OK)
		return rc;
	*c = (unsigned char)h->buf[h->pos];
	if (h->pos - ls >= h->line_max && *c != '\r')
		return hp_bad(h, 414, h->resp ? "status_line_too_long" :
		    "request_line_too_long");
	return SL_HTTP_OK;
}

/*
 * An unexpected start-line byte: a line ending too early, a bare CR or LF,
 * or else the caller's reason.
 */
static enum sl_http_rc
stl_unexpected(struct hp *h, unsigned char c, const char *reason)
{
	enum sl_http_rc rc;

	if (c == '\n')
		return hp_bad(h, 400, "bare_lf");
	if (c == '\r') {
		if ((rc = hp_crlf(h, h->pos)) != SL_HTTP_OK)
			return rc;
		return hp_bad(h, 400, h->resp ? "bad_status_line" :
		    "bad_request_line");
	}
	return hp_bad(h, 400, reason);
}

/* Expect byte `want` next on the start line. */
static enum sl_http_rc
stl_expect(struct hp *h, size_t ls, unsigned char want, const char *reason)
{
	enum sl_http_rc rc;
	unsigned char c;

	if ((rc = stl_get(h, ls, &c)) != SL_HTTP_OK)
		return rc;
	if (c != want)
		return stl_unexpected(h, c, reason);
	h->pos++;
	return SL_HTTP_OK;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3); only 1.0 and 1.1. */
static enum sl_http_rc
hp_version(struct hp *h, size_t ls)
{
	static const char name[] = "HTTP/";
	enum sl_http_rc rc;
	unsigned char c, d[2];
	size_t i;

	for (i = 0; i < sizeof(name) - 1; i++)
		if ((rc = stl_expect(h, ls, (unsigned char)name[i],
		    "bad_version")) != SL_HTTP_OK)
			return rc;
	for (i = 0; i < 2; i++) {
		if (i == 1 && (rc = stl_expect(h, ls, '.', "bad_version")) !=
		    SL_HTTP_OK)
			return rc;
		if ((rc = stl_get(h, ls, &c)) != SL_HTTP_OK)
			return rc;
		if (!is_digit(c))
			return stl_unexpected(h, c, "bad_version");
		d[i] = c;
		h->pos++;
	}
	if (d[0] != '1' || (d[1] != '0' && d[1] != '1'))
		return hp_bad(h, 505, "unsupported_version");
	h->msg->version = d[1] == '0' ? 10 : 11;
	return SL_HTTP_OK;
}

/* The CRLF that ends the start line. */
static enum sl_http_rc
stl_end(struct hp *h, size_t ls)
{
	enum sl_http_rc rc;
	unsigned char c;

	if ((rc = stl_get(h, ls, &c)) != SL_HTTP_OK)
		return rc;
	if (c != '\r')
		return stl_unexpected(h, c, h->resp ? "bad_status_line" :
		    "bad_request_line");
	if ((rc = hp_crlf(h, h->pos)) != SL_HTTP_OK)
		return rc;
	h->pos += 2;
	return SL_HTTP_OK;
}

static enum sl_http_method
method_of(const char *m, size_t n)
{
	static const struct {
		const char		*name;
		enum sl_http_method	 m;
	} tab[] = {
		{ "GET", SL_HTTP_M_GET }, { "HEAD", SL_HTTP_M_HEAD },
		{ "POST", SL_HTTP_M_POST }, { "PUT", SL_HTTP_M_PUT },
		{ "CONNECT", SL_HTTP_M_CONNECT },
		{ "OPTIONS", SL_HTTP_M_OPTIONS },
	};
	size_t i;

	/* Methods are case-sensitive (RFC 9110 section 9.1). */
	for (i = 0; i < SL_NELEM(tab); i++)
		if (strlen(tab[i].name) == n && memcmp(tab[i].name, m, n) == 0)
			return tab[i].m;
	return SL_HTTP_M_OTHER;
}

/* method SP request-target SP (RFC 9112 section 3). */
static enum sl_http_rc
req_method_target(struct hp *h, size_t ls)
{
	struct sl_http_msg *msg = h->msg;
	enum sl_http_rc rc;
	unsigned char c;
	size_t ts, end;

	for (;;) {
		if ((rc = stl_get(h, ls, &c)) != SL_HTTP_OK)
			return rc;
		if (c == ' ')
			break;
		if (!is_tchar(c))
			return stl_unexpected(h, c, "bad_method");
		if (h->pos - ls == HTTP_METHOD_MAX)
			return hp_bad(h, 400, "method_too_long");
		h->pos++;
	}
	if (h->pos == ls)
		return hp_bad(h, 400, "bad_request_line");
	msg->method_s = span(ls, h->pos - ls);
	msg->method = method_of(h->buf + ls, h->pos - ls);
	ts = ++h->pos;
	end = hp_end(h);
	if (end - ls > h->line_max)
		end = ls + h->line_max;
	for (;;) {
		/* the common bytes of a target, then the one that stops */
		while (h->pos < end && (unsigned char)h->buf[h->pos] > 0x20 &&
		    (unsigned char)h->buf[h->pos] < 0x7f &&
		    h->buf[h->pos] != '#')
			h->pos++;
		if ((rc = stl_get(h, ls, &c)) != SL_HTTP_OK)
			return rc;
		if (c == ' ')
			break;
		if (c == '#')
			return hp_bad(h, 400, "fragment_in_target");
		if (c < 0x21 || c > 0x7e)
			return stl_unexpected(h, c, "bad_target");
		h->pos++;
	}
	if (h->pos == ts)
		return hp_bad(h, 400, "bad_request_line");
	msg->target = span(ts, h->pos - ts);
	h->pos++;
	return SL_HTTP_OK;
}

/* CONNECT: authority-form with a port, nothing else (RFC 9110 9.3.6). */
static enum sl_http_rc
target_authority(struct hp *h, const char *t, size_t n)
{
	struct sl_http_msg *msg = h->msg;
	const char *why;
	int port;

	if (memchr(t, '/', n) != NULL || memchr(t, '?', n) != NULL ||
	    memchr(t, '*', n) != NULL)
		return hp_bad(h, 400, "connect_bad_target");
	why = authority_parse(t, n, msg->target.off, &msg->host, &port);
	if (why != NULL)
		return hp_bad(h, 400, why);
	if (port < 0)
		return hp_bad(h, 400, "connect_no_port");
	msg->port = (uint16_t)port;
	msg->form = SL_HTTP_FORM_AUTHORITY;
	return SL_HTTP_OK;
}

/* absolute-form: "http://" authority path-abempty ["?" query]. */
static enum sl_http_rc
target_absolute(struct hp *h, const char *t, size_t n)
{
	struct sl_http_msg *msg = h->msg;
	size_t off = msg->target.off, s, a;
	const char *why;
	int port;

	if (!is_alpha((unsigned char)t[0]))
		return hp_bad(h, 400, "bad_target");
	for (s = 1; s < n && t[s] != ':'; s++) {
		unsigned char c = (unsigned char)t[s];

		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			return hp_bad(h, 400, "bad_target");
	}
	if (s + 3 > n || t[s + 1] != '/' || t[s + 2] != '/')
		return hp_bad(h, 400, "bad_target");
	if (mem_caseeq(t, s, "https"))
		return hp_bad(h, 501, "https_scheme_not_supported");
	if (!mem_caseeq(t, s, "http"))
		return hp_bad(h, 501, "scheme_not_supported");
	msg->scheme = span(off, s);
	for (a = s + 3; a < n && t[a] != '/' && t[a] != '?'; a++)
		;
	if (a == s + 3)
		return hp_bad(h, 400, "empty_host");
	why = authority_parse(t + s + 3, a - s - 3, off + s + 3, &msg->host,
	    &port);
	if (why != NULL)
		return hp_bad(h, 400, why);
	msg->port = port < 0 ? 80 : (uint16_t)port;
	msg->path = span(off + a, n - a);
	msg->form = SL_HTTP_FORM_ABSOLUTE;
	return SL_HTTP_OK;
}

/* Request-target form per method (RFC 9112 section 3.2). */
static enum sl_http_rc
req_target(struct hp *h)
{
	struct sl_http_msg *msg = h->msg;
	const char *t = h->buf + msg->target.off;
	size_t n = msg->target.len;

	if (msg->method == SL_HTTP_M_CONNECT)
		return target_authority(h, t, n);
	if (n == 1 && t[0] == '*') {
		if (msg->method != SL_HTTP_M_OPTIONS)
			return hp_bad(h, 400, "asterisk_not_options");
		msg->form = SL_HTTP_FORM_ASTERISK;
		return SL_HTTP_OK;
	}
	if (t[0] == '/') {
		msg->form = SL_HTTP_FORM_ORIGIN;
		msg->path = msg->target;
		return SL_HTTP_OK;
	}
	return target_absolute(h, t, n);
}

/*
 * Leading empty lines (RFC 9112 section 2.2: at least one may be ignored;
 * up to HTTP_EMPTY_LINES_MAX are) and the request line.
 */
static enum sl_http_rc
req_line(struct hp *h)
{
	enum sl_http_rc rc;
	size_t ls;
	unsigned empty = 0;

	for (;;) {
		if ((rc = hp_have(h, h->pos)) != SL_HTTP_OK)
			return rc;
		if (h->buf[h->pos] == '\n')
			return hp_bad(h, 400, "bare_lf");
		if (h->buf[h->pos] != '\r')
			break;
		if ((rc = hp_crlf(h, h->pos)) != SL_HTTP_OK)
			return rc;
		if (++empty > HTTP_EMPTY_LINES_MAX)
			return hp_bad(h, 400, "too_many_empty_lines");
		h->pos += 2;
	}
	ls = h->pos;
	if ((rc = req_method_target(h, ls)) != SL_HTTP_OK ||
	    (rc = hp_version(h, ls)) != SL_HTTP_OK ||
	    (rc = stl_end(h, ls)) != SL_HTTP_OK)
		return rc;
	return req_target(h);
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (RFC 9112 section 4). */
static enum sl_http_rc
status_line(struct hp *h)
{
	struct sl_http_msg *msg = h->msg;
	enum sl_http_rc rc;
	unsigned char c;
	unsigned st = 0;
	size_t i, rs;

	if ((rc = hp_version(h, 0)) != SL_HTTP_OK ||
	    (rc = stl_expect(h, 0, ' ', "bad_status_line")) != SL_HTTP_OK)
		return rc;
	for (i = 0; i < 3; i++) {
		if ((rc = stl_get(h, 0, &c)) != SL_HTTP_OK)
			return rc;
		if (!is_digit(c))
			return stl_unexpected(h, c, "bad_status");
		st = st * 10 + (unsigned)(c - '0');
		h->pos++;
	}
	if (st < 100 || st > 599)
		return hp_bad(h, 502, "bad_status");
	msg->status = st;
	if ((rc = stl_get(h, 0, &c)) != SL_HTTP_OK)
		return rc;
	if (c != ' ' && c != '\r')
		return stl_unexpected(h, c, "bad_status");
	if (c == ' ')
		h->pos++;
	rs = h->pos;
	for (;;) {
		if ((rc = stl_get(h, 0, &c)) != SL_HTTP_OK)
			return rc;
		if (c == '\r')
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return stl_unexpected(h, c, "bad_reason");
		h->pos++;
	}
	msg->reason_s = span(rs, h->pos - rs);
	return stl_end(h, 0);
}

/* ---- field semantics ---------------------------------------------------- */

/* Fields the parser or the rewrite treats specially. */
enum fld {
	FLD_OTHER = 0,
	FLD_CL,
	FLD_TE,
	FLD_HOST,
	FLD_CONNECTION,
	FLD_UPGRADE,
	FLD_EXPECT,
	FLD_VIA,
	FLD_HOP,	/* any other hop-by-hop field (RFC 9110 7.6.1) */
};

/* Which special field a name is: dispatched on length, then compared. */
static enum fld
field_id(const char *buf, struct sl_http_span name)
{
	const char *n = buf + name.off;

#define IS(lit)	mem_caseeq2(n, lit, sizeof(lit) - 1)
	switch (name.len) {
	case 2:
		return IS("te") ? FLD_HOP : FLD_OTHER;
	case 3:
		return IS("via") ? FLD_VIA : FLD_OTHER;
	case 4:
		return IS("host") ? FLD_HOST : FLD_OTHER;
	case 6:
		return IS("expect") ? FLD_EXPECT : FLD_OTHER;
	case 7:
		if (IS("upgrade"))
			return FLD_UPGRADE;
		return IS("trailer") ? FLD_HOP : FLD_OTHER;
	case 10:
		if (IS("connection"))
			return FLD_CONNECTION;
		return IS("keep-alive") ? FLD_HOP : FLD_OTHER;
	case 14:
		return IS("content-length") ? FLD_CL : FLD_OTHER;
	case 16:
		return IS("proxy-connection") ? FLD_HOP : FLD_OTHER;
	case 17:
		return IS("transfer-encoding") ? FLD_TE : FLD_OTHER;
	case 18:
		return IS("proxy-authenticate") ? FLD_HOP : FLD_OTHER;
	case 19:
		return IS("proxy-authorization") ? FLD_HOP : FLD_OTHER;
	default:
		return FLD_OTHER;
	}
#undef IS
}

/* Content-Length = 1*DIGIT, at most 2^63 - 1 (RFC 9110 section 8.6). */
static const char *
cl_parse(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return "empty_cl";
	for (i = 0; i < n; i++) {
		unsigned d;

		if (p[i] == ',')
			return "cl_list";
		if (!is_digit((unsigned char)p[i]))
			return "bad_cl";
		d = (unsigned)(p[i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return "cl_overflow";
		v = v * 10 + d;
	}
	*out = v;
	return NULL;
}

/*
 * Transfer-Encoding (RFC 9112 section 6.1): known codings only, chunked
 * at most once; whether it is final is judged at the end of the head,
 * since the list may continue in a later field.
 */
static enum sl_http_rc
te_parse(struct hp *h, const char *v, size_t n)
{
	static const char *const known[] = {
		"gzip", "x-gzip", "deflate", "compress", "x-compress",
	};
	size_t i = 0, eo, el, k;

	if (h->msg->version == 10)
		return hp_bad(h, 400, "te_in_http10");
	h->msg->flags |= SL_HTTP_F_HAS_TE;
	while (list_next(v, n, &i, &eo, &el)) {
		const char *e = v + eo;

		if (!all_tchar(e, el))
			return hp_bad(h, 400, "bad_te");
		if (mem_caseeq(e, el, "chunked")) {
			if (h->te_chunked)
				return hp_bad(h, 400, "te_chunked_twice");
			h->te_chunked = 1;
			h->te_last_chunked = 1;
			continue;
		}
		for (k = 0; k < SL_NELEM(known); k++)
			if (mem_caseeq(e, el, known[k]))
				break;
		if (k == SL_NELEM(known))
			return hp_bad(h, 501, "unknown_te");
		h->te_last_chunked = 0;
	}
	return SL_HTTP_OK;
}

/* Connection options are tokens (RFC 9110 section 7.6.1). */
static enum sl_http_rc
conn_parse(struct hp *h, const char *v, size_t n)
{
	size_t i = 0, eo, el;

	while (list_next(v, n, &i, &eo, &el)) {
		if (el == 0)
			continue;
		if (!all_tchar(v + eo, el))
			return hp_bad(h, 400, "bad_connection");
		if (mem_caseeq(v + eo, el, "close"))
			h->conn_close = 1;
		else if (mem_caseeq(v + eo, el, "keep-alive"))
			h->conn_keepalive = 1;
		else if (mem_caseeq(v + eo, el, "upgrade"))
			h->conn_upgrade = 1;
	}
	return SL_HTTP_OK;
}

/* Upgrade: protocol-name ["/" protocol-version], a list. */
static void
upgrade_parse(struct hp *h, const char *v, size_t n)
{
	size_t i = 0, eo, el, nl;

	while (list_next(v, n, &i, &eo, &el)) {
		for (nl = 0; nl < el && v[eo + nl] != '/'; nl++)
			;
		if (mem_caseeq(v + eo, nl, "websocket"))
			h->upgrade_ws = 1;
	}
}

/* Judge one field as soon as its line is complete. */
static enum sl_http_rc
field_check(struct hp *h, const struct sl_http_hdr *f)
{
	struct sl_http_msg *msg = h->msg;
	const char *v = h->buf + f->value.off;
	size_t n = f->value.len;
	const char *why;
	int port;
	struct sl_http_span hs;

	switch (field_id(h->buf, f->name)) {
	case FLD_CL:
		if (++h->ncl > 1)
			return hp_bad(h, 400, "multiple_cl");
		if ((why = cl_parse(v, n, &msg->content_length)) != NULL)
			return hp_bad(h, 400, why);
		break;
	case FLD_TE:
		h->nte++;
		if (n == 0)
			return hp_bad(h, 400, "bad_te");
		return te_parse(h, v, n);
	case FLD_CONNECTION:
		return conn_parse(h, v, n);
	case FLD_UPGRADE:
		upgrade_parse(h, v, n);
		break;
	case FLD_EXPECT:
		if (mem_caseeq(v, n, "100-continue"))
			h->expect_100 = 1;
		break;
	case FLD_HOST:
		if (h->resp)
			break;
		if (++h->nhost > 1)
			return hp_bad(h, 400, "multiple_host");
		if (n > 0 && authority_parse(v, n, 0, &hs, &port) != NULL)
			return hp_bad(h, 400, "bad_host");
		msg->host_hdr = f->value;
		break;
	default:
		break;
	}
	return SL_HTTP_OK;
}

/* The byte that ended a field value is not allowed there. */
static enum sl_http_rc
value_bad(struct hp *h, unsigned char c)
{
	if (c == '\n')
		return hp_bad(h, 400, "bare_lf");
	if (c == 0)
		return hp_bad(h, 400, "nul_in_value");
	if (c == 0x7f)
		return hp_bad(h, 400, "del_in_value");
	return hp_bad(h, 400, "ctl_in_value");
}

/*
 * field-name ":" OWS field-value OWS CRLF (RFC 9112 section 5).  Runs of
 * ordinary bytes are scanned in tight loops; the byte that stops a run
 * decides (limit, MORE, separator or error), so the outcome is the same
 * as walking byte by byte.
 */
static enum sl_http_rc
field_line(struct hp *h, struct sl_http_hdr *f)
{
	const unsigned char *b = (const unsigned char *)h->buf;
	size_t end = hp_end(h), p = h->pos, ns = h->pos, vs, ve;
	enum sl_http_rc rc;
	unsigned char c;

	while (p < end && is_tchar(b[p]))
		p++;
	if ((rc = hp_have(h, p)) != SL_HTTP_OK)
		return rc;
	if ((c = b[p]) != ':') {
		if (is_ows(c))
			return hp_bad(h, 400, "space_before_colon");
		if (c == '\r' && (rc = hp_crlf(h, p)) != SL_HTTP_OK)
			return rc;
		if (c == '\n')
			return hp_bad(h, 400, "bare_lf");
		return hp_bad(h, 400, c == '\r' ? "no_colon" :
		    "bad_field_name");
	}
	if (p == ns)
		return hp_bad(h, 400, "empty_field_name");
	f->name = span(ns, p - ns);
	for (p++; p < end && is_ows(b[p]); p++)
		;
	vs = p;
	while (p < end && is_value_char(b[p]))
		p++;
	if ((rc = hp_have(h, p)) != SL_HTTP_OK)
		return rc;
	if (b[p] != '\r')
		return value_bad(h, b[p]);
	if ((rc = hp_crlf(h, p)) != SL_HTTP_OK)
		return rc;
	for (ve = p; ve > vs && is_ows(b[ve - 1]); ve--)
		;
	f->value = span(vs, ve - vs);
	h->pos = p + 2;
	return SL_HTTP_OK;
}

/* Field lines up to and including the empty line. */
static enum sl_http_rc
hp_fields(struct hp *h)
{
	struct sl_http_msg *msg = h->msg;
	enum sl_http_rc rc;
	unsigned char c;

	for (;;) {
		if ((rc = hp_have(h, h->pos)) != SL_HTTP_OK)
			return rc;
		c = (unsigned char)h->buf[h->pos];
		if (c == '\r') {
			if ((rc = hp_crlf(h, h->pos)) != SL_HTTP_OK)
				return rc;
			h->pos += 2;
			msg->head_len = h->pos;
			return SL_HTTP_OK;
		}
		if (c == '\n')
			return hp_bad(h, 400, "bare_lf");
		/* RFC 9112 sections 2.2 and 5.2: reject, never unfold. */
		if (is_ows(c))
			return hp_bad(h, 400, msg->nhdr == 0 ?
			    "ws_after_start_line" : "obs_fold");
		if (msg->nhdr == h->count_max)
			return hp_bad(h, 431, "too_many_fields");
		if ((rc = field_line(h, &msg->hdr[msg->nhdr])) != SL_HTTP_OK)
			return rc;
		if ((rc = field_check(h, &msg->hdr[msg->nhdr++])) !=
		    SL_HTTP_OK)
			return rc;
	}
}

static void
hp_init(struct hp *h, const char *buf, size_t len,
    const struct sl_http_limits *lim, struct sl_http_msg *msg, int resp)
{
	memset(h, 0, sizeof(*h));
	memset(msg, 0, offsetof(struct sl_http_msg, hdr));
	msg->err_status = 0;
	msg->err_reason = NULL;
	h->buf = buf;
	h->len = len;
	h->msg = msg;
	h->resp = resp;
	h->line_max = lim->request_line_max ? lim->request_line_max :
	    HTTP_LINE_MAX_DEF;
	h->head_max = lim->header_max ? lim->header_max : HTTP_HEAD_MAX_DEF;
	/* Spans are 32-bit offsets. */
	h->head_max = SL_MIN(h->head_max, (size_t)UINT32_MAX);
	h->count_max = lim->header_count_max ? lim->header_count_max :
	    HTTP_COUNT_MAX_DEF;
	h->count_max = SL_MIN(h->count_max, SL_HTTP_MAX_HEADERS);
}

/* Connection semantics shared by requests and responses. */
static void
hp_conn_flags(struct hp *h)
{
	struct sl_http_msg *msg = h->msg;

	if (h->conn_close)
		msg->flags |= SL_HTTP_F_CLOSE;
	else if (msg->version == 10 && h->conn_keepalive)
		msg->flags |= SL_HTTP_F_KEEPALIVE;
	else if (msg->version == 10)
		msg->flags |= SL_HTTP_F_CLOSE;
}

/* Framing and semantics of a complete request head (RFC 9112 6.1-6.3). */
static enum sl_http_rc
req_finish(struct hp *h)
{
	struct sl_http_msg *msg = h->msg;

	if (h->nte > 0 && h->ncl > 0)
		return hp_bad(h, 400, "cl_and_te");
	if (h->nte > 0 && !h->te_last_chunked)
		return hp_bad(h, 400, "te_not_chunked");
	if (msg->version == 11 && h->nhost == 0)
		return hp_bad(h, 400, "missing_host");
	if (h->nte > 0)
		msg->body = SL_HTTP_BODY_CHUNKED;
	else if (h->ncl > 0)
		msg->body = SL_HTTP_BODY_LENGTH;
	if (msg->method == SL_HTTP_M_CONNECT &&
	    (h->nte > 0 || msg->content_length > 0))
		return hp_bad(h, 400, "connect_with_body");
	if (msg->method == SL_HTTP_M_CONNECT)
		msg->body = SL_HTTP_BODY_NONE;
	hp_conn_flags(h);
	/* RFC 6455 section 4.1: a GET over HTTP/1.1; RFC 9110 7.8. */
	if (msg->version == 11 && msg->method == SL_HTTP_M_GET &&
	    h->conn_upgrade && h->upgrade_ws)
		msg->flags |= SL_HTTP_F_UPGRADE_WS;
	/* RFC 9110 section 10.1.1: ignored in an HTTP/1.0 request. */
	if (msg->version == 11 && h->expect_100)
		msg->flags |= SL_HTTP_F_EXPECT_100;
	return SL_HTTP_OK;
}

enum sl_http_rc
sl_http_parse_request(const char *buf, size_t len,
    const struct sl_http_limits *lim, struct sl_http_msg *msg)
{
	struct hp h;
	enum sl_http_rc rc;

	hp_init(&h, buf, len, lim, msg, 0);
	if ((rc = req_line(&h)) != SL_HTTP_OK ||
	    (rc = hp_fields(&h)) != SL_HTTP_OK)
		return rc;
	return req_finish(&h);
}

/* Response framing, RFC 9112 section 6.3 items 1-8. */
static enum sl_http_rc
resp_finish(struct hp *h, enum sl_http_method req_method)
{
	struct sl_http_msg *msg = h->msg;
	unsigned st = msg->status;

	/* Refused even where the body is absent: the server is confused. */
	if (h->nte > 0 && h->ncl > 0)
		return hp_bad(h, 502, "cl_and_te");
	hp_conn_flags(h);
	if (st == 101 && h->conn_upgrade && h->upgrade_ws)
		msg->flags |= SL_HTTP_F_UPGRADE_WS;
	if (req_method == SL_HTTP_M_HEAD || st < 200 || st == 204 ||
	    st == 304)
		msg->body = SL_HTTP_BODY_NONE;
	else if (req_method == SL_HTTP_M_CONNECT && st < 300)
		msg->body = SL_HTTP_BODY_NONE;
	else if (h->nte > 0 && h->te_last_chunked)
		msg->body = SL_HTTP_BODY_CHUNKED;
	else if (h->nte == 0 && h->ncl > 0)
		msg->body = SL_HTTP_BODY_LENGTH;
	else
		msg->body = SL_HTTP_BODY_EOF;
	if (msg->body == SL_HTTP_BODY_EOF) {
		/* The end of the body is the end of the connection. */
		msg->flags |= SL_HTTP_F_CLOSE;
		msg->flags &= ~(unsigned)SL_HTTP_F_KEEPALIVE;
	}
	if (msg->body != SL_HTTP_BODY_LENGTH)
		msg->content_length = 0;
	return SL_HTTP_OK;
}

enum sl_http_rc
sl_http_parse_response(const char *buf, size_t len,
    const struct sl_http_limits *lim, enum sl_http_method req_method,
    struct sl_http_msg *msg)
{
	struct hp h;
	enum sl_http_rc rc;

	hp_init(&h, buf, len, lim, msg, 1);
	if ((rc = status_line(&h)) != SL_HTTP_OK ||
	    (rc = hp_fields(&h)) != SL_HTTP_OK)
		return rc;
	return resp_finish(&h, req_method);
}

/*
 * The answer for buf[0..len) can differ from the one for buf[0..old_len)
 * only through a byte that completes a line (an LF), the first byte of a
 * new line (too many fields, obs-fold) or a limit being crossed.  Any
 * other byte can only turn MORE into BAD, and the next of those events
 * reports it: an error is seen at most one line late, a complete head
 * never late.
 */
int
sl_http_need_parse(const char *buf, size_t old_len, size_t len,
    const struct sl_http_limits *lim)
{
	size_t line_max = lim->request_line_max ? lim->request_line_max :
	    HTTP_LINE_MAX_DEF;
	size_t head_max = lim->header_max ? lim->header_max :
	    HTTP_HEAD_MAX_DEF;
	size_t ls = 0, t;

	if (len <= old_len)
		return 0;
	if (old_len == 0 || buf[old_len - 1] == '\n' ||
	    memchr(buf + old_len, '\n', len - old_len) != NULL)
		return 1;
	/* 431 shows once head_max bytes are in and the head is not done */
	if (old_len < head_max && len >= head_max)
		return 1;
	/* 414 shows with the first byte past the request line limit */
	while (ls + 1 < old_len && ls < 2 * HTTP_EMPTY_LINES_MAX &&
	    buf[ls] == '\r' && buf[ls + 1] == '\n')
		ls += 2;
	t = line_max > SIZE_MAX - ls - 1 ? SIZE_MAX : ls + line_max + 1;
	return old_len < t && len >= t;
}

/* ---- rewrite for the next hop (RFC 9110 section 7.6) ------------------ */

struct wr {
	char	*p;
	size_t	 cap;
	size_t	 len;
	int	 over;
};

static void
wr_put(struct wr *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
wr_str(struct wr *w, const char *s)
{
	wr_put(w, s, strlen(s));
}

/* Field line f exactly as received, CRLF included. */
static void
wr_field_line(struct wr *w, const char *buf, const struct sl_http_hdr *f)
{
	size_t e = (size_t)f->value.off + f->value.len;

	/* The parser saw this line end in CRLF; only OWS comes before. */
	while (buf[e] != '\n')
		e++;
	wr_put(w, buf + f->name.off, e + 1 - f->name.off);
}

/*
 * What forwarding does with each field: ids[i] is its field_id, drop[i]
 * whether it is hop-by-hop (RFC 9110 section 7.6.1): a fixed list plus
 * every field a Connection option names.  A WebSocket upgrade keeps
 * Upgrade (Connection is rewritten, not copied).  Framing and routing
 * fields stay even when Connection names them: dropping Content-Length
 * while forwarding the body would desync the next hop.
 */
static void
rw_plan(const char *buf, const struct sl_http_msg *msg, uint8_t *ids,
    uint8_t *drop)
{
	int ws = (msg->flags & SL_HTTP_F_UPGRADE_WS) != 0;
	unsigned i, j;
	size_t k, eo, el;

	for (i = 0; i < msg->nhdr; i++) {
		ids[i] = (uint8_t)field_id(buf, msg->hdr[i].name);
		drop[i] = ids[i] == FLD_CONNECTION || ids[i] == FLD_HOP ||
		    (ids[i] == FLD_UPGRADE && !ws);
	}
	for (i = 0; i < msg->nhdr; i++) {
		const char *v = buf + msg->hdr[i].value.off;
		size_t n = msg->hdr[i].value.len;

		if (ids[i] != FLD_CONNECTION)
			continue;
		k = 0;
		while (list_next(v, n, &k, &eo, &el)) {
			for (j = 0; el > 0 && j < msg->nhdr; j++) {
				const struct sl_http_span *nm =
				    &msg->hdr[j].name;

				if (drop[j] || ids[j] == FLD_CL ||
				    ids[j] == FLD_TE || ids[j] == FLD_HOST ||
				    (ws && ids[j] == FLD_UPGRADE) ||
				    nm->len != el)
					continue;
				if (mem_caseeq2(buf + nm->off, v + eo, el))
					drop[j] = 1;
			}
		}
	}
}

/*
 * The URI authority of an absolute-form target: host and the port as the
 * client wrote it, if it did.
 */
static void
wr_host(struct wr *w, const char *buf, const struct sl_http_msg *msg)
{
	size_t e = (size_t)msg->host.off + msg->host.len;
	size_t end = (size_t)msg->target.off + msg->target.len;

	if (e < end && buf[e] == ':')
		for (e++; e < end && is_digit((unsigned char)buf[e]); e++)
			;
	wr_str(w, "Host: ");
	wr_put(w, buf + msg->host.off, e - msg->host.off);
	wr_str(w, "\r\n");
}

/*
 * Every field in order: hop-by-hop ones dropped, a WebSocket upgrade's
 * Connection normalised to "Upgrade", Host replaced when host is set, and
 * "1.x sluice" appended to the last Via (or a Via added) when via is set.
 */
static void
wr_fields(struct wr *w, const char *buf, const struct sl_http_msg *msg,
    int via, int host)
{
	const char *vp = msg->version == 10 ? "1.0 sluice" : "1.1 sluice";
	int ws = (msg->flags & SL_HTTP_F_UPGRADE_WS) != 0, conn_done = 0;
	uint8_t ids[SL_HTTP_MAX_HEADERS], drop[SL_HTTP_MAX_HEADERS];
	int via_at = -1;
	unsigned i;

	rw_plan(buf, msg, ids, drop);
	for (i = 0; via && i < msg->nhdr; i++)
		if (ids[i] == FLD_VIA && !drop[i])
			via_at = (int)i;
	for (i = 0; i < msg->nhdr; i++) {
		const struct sl_http_hdr *f = &msg->hdr[i];

		if (ws && ids[i] == FLD_CONNECTION) {
			if (!conn_done)
				wr_str(w, "Connection: Upgrade\r\n");
			conn_done = 1;
		} else if (drop[i]) {
			continue;
		} else if (host && ids[i] == FLD_HOST) {
			wr_host(w, buf, msg);
		} else if ((int)i == via_at) {
			wr_put(w, buf + f->name.off, f->name.len);
			wr_str(w, ": ");
			wr_put(w, buf + f->value.off, f->value.len);
			wr_str(w, f->value.len > 0 ? ", " : "");
			wr_str(w, vp);
			wr_str(w, "\r\n");
		} else {
			wr_field_line(w, buf, f);
		}
	}
	if (via && via_at < 0) {
		wr_str(w, "Via: ");
		wr_str(w, vp);
		wr_str(w, "\r\n");
	}
}

ssize_t
sl_http_rewrite_request(const char *buf, const struct sl_http_msg *msg,
    int via, char *out, size_t cap)
{
	struct wr w = { out, cap, 0, 0 };
	int abs = msg->form == SL_HTTP_FORM_ABSOLUTE;
	const struct sl_http_span *t = abs ? &msg->path : &msg->target;
	unsigned i;

	wr_put(&w, buf + msg->method_s.off, msg->method_s.len);
	wr_str(&w, " ");
	/*
	 * RFC 9112 section 3.2.4: an empty path becomes "/", or "*" for
	 * OPTIONS.
	 */
	if (abs && t->len == 0)
		wr_str(&w, msg->method == SL_HTTP_M_OPTIONS ? "*" : "/");
	else if (abs && buf[t->off] == '?')
		wr_str(&w, "/");
	wr_put(&w, buf + t->off, t->len);
	wr_str(&w, msg->version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	/* A Host-less HTTP/1.0 request gets one, first (RFC 9110 7.2). */
	for (i = 0; abs && i < msg->nhdr; i++)
		if (field_id(buf, msg->hdr[i].name) == FLD_HOST)
			break;
	if (abs && i == msg->nhdr)
		wr_host(&w, buf, msg);
	wr_fields(&w, buf, msg, via, abs);
	wr_str(&w, "\r\n");
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t
sl_http_rewrite_response(const char *buf, const struct sl_http_msg *msg,
    int via, int close, char *out, size_t cap)
{
	struct wr w = { out, cap, 0, 0 };
	const char *nl = memchr(buf, '\n', msg->head_len);

	/* The status line as received (the parser saw it end in CRLF). */
	if (nl == NULL)
		return -1;
	wr_put(&w, buf, (size_t)(nl - buf) + 1);
	wr_fields(&w, buf, msg, via, 0);
	if (close && !(msg->flags & SL_HTTP_F_UPGRADE_WS))
		wr_str(&w, "Connection: close\r\n");
	wr_str(&w, "\r\n");
	return w.over ? -1 : (ssize_t)w.len;
}

/* ---- reason phrases (RFC 9110 section 15) ------------------------------ */

const char *
sl_http_reason(unsigned status)
{
	static const struct {
		unsigned	 code;
		const char	*text;
	} tab[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 417, "Expectation Failed" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < SL_NELEM(tab); i++)
		if (tab[i].code == status)
			return tab[i].text;
	return "";
}
