/*
 * http_test.c — strict HTTP/1.1 heads: smuggling and malformed requests,
 * valid forms, truncation at every byte, chunked framing across every
 * split point, rewrites byte for byte, response framing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http/http.h"
#include "tests/unit/t.h"

#define S(lit)	lit, sizeof(lit) - 1

static const struct sl_http_limits lim = { 8192, 65536, 100 };

/*
 * Parse from a heap copy of exactly n bytes, so that ASan catches any
 * read past len.  Spans stay valid against the caller's string.
 */
static enum sl_http_rc
req(const char *s, size_t n, const struct sl_http_limits *l,
    struct sl_http_msg *m)
{
	char *b = malloc(n ? n : 1);
	enum sl_http_rc rc;

	memcpy(b, s, n);
	rc = sl_http_parse_request(b, n, l, m);
	free(b);
	return rc;
}

static enum sl_http_rc
resp(const char *s, size_t n, enum sl_http_method meth,
    struct sl_http_msg *m)
{
	char *b = malloc(n ? n : 1);
	enum sl_http_rc rc;

	memcpy(b, s, n);
	rc = sl_http_parse_response(b, n, &lim, meth, m);
	free(b);
	return rc;
}

static int
span_is(const char *buf, struct sl_http_span sp, const char *want)
{
	return sp.len == strlen(want) &&
	    memcmp(buf + sp.off, want, sp.len) == 0;
}

/* ---- malformed and smuggling requests ------------------------------- */

struct bad_case {
	const char	*head;
	size_t		 len;
	unsigned	 status;
	const char	*reason;
};

#define H(x)	"GET / HTTP/1.1\r\nHost: a.test\r\n" x "\r\n"
#define P(x)	"POST / HTTP/1.1\r\nHost: a.test\r\n" x "\r\n"
#define BAD(h, st, r)	{ h, sizeof(h) - 1, st, r }

static const struct bad_case bad_requests[] = {
	/* framing: RFC 9112 section 6 */
	BAD(P("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400,
	    "cl_and_te"),
	BAD(P("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), 400,
	    "cl_and_te"),
	BAD(P("Content-Length: 5\r\nContent-Length: 5\r\n"), 400,
	    "multiple_cl"),
	BAD(P("Content-Length: 1\r\ncontent-length: 2\r\n"), 400,
	    "multiple_cl"),
	BAD(P("Content-Length: 5, 5\r\n"), 400, "cl_list"),
	BAD(P("Content-Length: 5,5\r\n"), 400, "cl_list"),
	BAD(P("Content-Length: \r\n"), 400, "empty_cl"),
	BAD(P("Content-Length: abc\r\n"), 400, "bad_cl"),
	BAD(P("Content-Length: +5\r\n"), 400, "bad_cl"),
	BAD(P("Content-Length: -1\r\n"), 400, "bad_cl"),
	BAD(P("Content-Length: 0x10\r\n"), 400, "bad_cl"),
	BAD(P("Content-Length: 5 5\r\n"), 400, "bad_cl"),
	BAD(P("Content-Length: 9223372036854775808\r\n"), 400,
	    "cl_overflow"),
	BAD(P("Content-Length: 184467440737095516160\r\n"), 400,
	    "cl_overflow"),
	BAD(P("Transfer-Encoding: gzip\r\n"), 400, "te_not_chunked"),
	BAD(P("Transfer-Encoding: chunked, gzip\r\n"), 400,
	    "te_not_chunked"),
	BAD(P("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
	    400, "te_not_chunked"),
	BAD(P("Transfer-Encoding: foo\r\n"), 501, "unknown_te"),
	BAD(P("Transfer-Encoding: identity\r\n"), 501, "unknown_te"),
	BAD(P("Transfer-Encoding: xchunked\r\n"), 501, "unknown_te"),
	BAD(P("Transfer-Encoding: chunked, chunked\r\n"), 400,
	    "te_chunked_twice"),
	BAD(P("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
	    400, "te_chunked_twice"),
	BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	    "te_in_http10"),
	BAD(P("Transfer-Encoding: chunked;q=1\r\n"), 400, "bad_te"),
	BAD(P("Transfer-Encoding: \"chunked\"\r\n"), 400, "bad_te"),
	BAD(P("Transfer-Encoding: \r\n"), 400, "bad_te"),
	BAD(P("Transfer-Encoding: gzip, , chunked\r\n"), 400, "bad_te"),
	BAD(P("Transfer-Encoding: chunked\x0b\r\n"), 400, "ctl_in_value"),
	BAD("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n"
	    "Content-Length: 5\r\n\r\n", 400, "connect_with_body"),
	BAD("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "connect_with_body"),
	/* field syntax: RFC 9112 section 5 */
	BAD(H("X-A: b\r\n c\r\n"), 400, "obs_fold"),
	BAD(H("X-A: b\r\n\tc\r\n"), 400, "obs_fold"),
	BAD("GET / HTTP/1.1\r\n Host: a.test\r\n\r\n", 400,
	    "ws_after_start_line"),
	BAD("GET / HTTP/1.1\r\nHost : a.test\r\n\r\n", 400,
	    "space_before_colon"),
	BAD(P("Content-Length\t: 5\r\n"), 400, "space_before_colon"),
	BAD(P("Transfer-Encoding : chunked\r\n"), 400, "space_before_colon"),
	BAD(H("X-A: a\rb\r\n"), 400, "bare_cr"),
	BAD(H("X-A: a\r\r\n"), 400, "bare_cr"),
	BAD("GET / HTTP/1.1\r\nHost: a.test\r\n\rX", 400, "bare_cr"),
	BAD("GET /\r HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bare_cr"),
	BAD("\rGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bare_cr"),
	BAD("GET / HTTP/1.1\nHost: a.test\n\n", 400, "bare_lf"),
	BAD("GET / HTTP/1.1\r\nHost: a.test\n\r\n", 400, "bare_lf"),
	BAD("GET / HTTP/1.1\r\nHost: a.test\r\n\n", 400, "bare_lf"),
	BAD("\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bare_lf"),
	BAD("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n"
	    "Host: a.test\r\n\r\n", 400, "too_many_empty_lines"),
	BAD(H("X-A: a\0b\r\n"), 400, "nul_in_value"),
	BAD(H("X-A: a\x01\r\n"), 400, "ctl_in_value"),
	BAD(H("X-A: a\x1b[31m\r\n"), 400, "ctl_in_value"),
	BAD(H("X-A: a\x7f\r\n"), 400, "del_in_value"),
	BAD(H("X@A: b\r\n"), 400, "bad_field_name"),
	BAD(H("X\xc3\xa9: b\r\n"), 400, "bad_field_name"),
	BAD(H("X\0A: b\r\n"), 400, "bad_field_name"),
	BAD(H(": b\r\n"), 400, "empty_field_name"),
	BAD(H("X-A\r\n"), 400, "no_colon"),
	BAD(H("Connection: close x\r\n"), 400, "bad_connection"),
	/* request line: RFC 9112 section 3 */
	BAD("GE(T / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("GET\t/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("G\x80T / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n\r\n", 400,
	    "method_too_long"),
	BAD(" GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET /  HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / HTTP/1.1 \r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET /\r\n\r\n", 400, "bad_request_line"),
	BAD("GET / HTTP/1.10\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET / HTTP/2.0\r\nHost: a.test\r\n\r\n", 505,
	    "unsupported_version"),
	BAD("GET / HTTP/1.2\r\nHost: a.test\r\n\r\n", 505,
	    "unsupported_version"),
	BAD("GET / HTTP/0.9\r\n\r\n", 505, "unsupported_version"),
	BAD("GET / http/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / HTTP/1.x\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / HTTP/11\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / FOO\r\n\r\n", 400, "bad_version"),
	BAD("GET /a\x01z HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_target"),
	BAD("GET /\xc3\xa9 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_target"),
	BAD("GET /a\x7f HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_target"),
	BAD("GET /a\tb HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_target"),
	BAD("GET /\0 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_target"),
	BAD("GET /#frag HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "fragment_in_target"),
	BAD("GET * HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "asterisk_not_options"),
	BAD("GET a.test:80 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_target"),
	BAD("GET 1http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_target"),
	/* Host: RFC 9112 section 3.2 */
	BAD("GET / HTTP/1.1\r\n\r\n", 400, "missing_host"),
	BAD("GET http://a.test/ HTTP/1.1\r\n\r\n", 400, "missing_host"),
	BAD("GET / HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n", 400,
	    "multiple_host"),
	BAD("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: a.test/x\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: u@a.test\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: a.test:0\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: a.test:\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "bad_host"),
	BAD("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", 400, "bad_host"),
	/* absolute-form: RFC 9110 section 4.2 */
	BAD("GET http://user@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "userinfo_in_uri"),
	BAD("GET http://u:p@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "userinfo_in_uri"),
	BAD("GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 501,
	    "https_scheme_not_supported"),
	BAD("GET ftp://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 501,
	    "scheme_not_supported"),
	BAD("GET http:a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_target"),
	BAD("GET http:/// HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "empty_host"),
	BAD("GET http://a.test:99999/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("GET http://a.test:65536/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("GET http://a.test:/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("GET http://a.test:8o/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("GET http://::1/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "ipv6_not_bracketed"),
	BAD("GET http://a_b!.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_host"),
	/* CONNECT: RFC 9110 section 9.3.6 */
	BAD("CONNECT a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "connect_no_port"),
	BAD("CONNECT a.test:0 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("CONNECT a.test:65536 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("CONNECT a.test:https HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_port"),
	BAD("CONNECT a.test:443/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "connect_bad_target"),
	BAD("CONNECT / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "connect_bad_target"),
	BAD("CONNECT http://a.test:443/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
	    400, "connect_bad_target"),
	BAD("CONNECT ::1:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "ipv6_not_bracketed"),
	BAD("CONNECT [zz::1]:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_host"),
	BAD("CONNECT [::1]x:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_host"),
	BAD("CONNECT :443 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "empty_host"),
	BAD("CONNECT u@a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "userinfo_in_uri"),
};

/* Each prefix must be MORE or fail exactly like the whole head. */
static int
prefixes_agree(const struct bad_case *bc)
{
	static struct sl_http_msg m;
	size_t k;

	for (k = 0; k < bc->len; k++) {
		enum sl_http_rc rc = req(bc->head, k, &lim, &m);

		if (rc == SL_HTTP_MORE)
			continue;
		if (rc != SL_HTTP_BAD || m.err_status != bc->status ||
		    strcmp(m.err_reason, bc->reason) != 0)
			return 0;
	}
	return 1;
}

/* Each case fails with its status and reason, and so do its prefixes. */
static void
check_bad_cases(const struct bad_case *tab, size_t n)
{
	static struct sl_http_msg m;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct bad_case *bc = &tab[i];
		enum sl_http_rc rc = req(bc->head, bc->len, &lim, &m);

		if (rc != SL_HTTP_BAD || m.err_status != bc->status ||
		    m.err_reason == NULL ||
		    strcmp(m.err_reason, bc->reason) != 0)
			t_fail(__FILE__, __LINE__, "case %zu (%s): rc %d "
			    "status %u reason %s, want %u %s", i, bc->reason,
			    rc, m.err_status,
			    m.err_reason ? m.err_reason : "-", bc->status,
			    bc->reason);
		else if (!prefixes_agree(bc))
			t_fail(__FILE__, __LINE__, "case %zu (%s): a prefix "
			    "fails differently", i, bc->reason);
	}
}

T_TEST(request_rejects_malformed_and_smuggling_heads)
{
	T_ASSERT(SL_NELEM(bad_requests) >= 40);
	check_bad_cases(bad_requests, SL_NELEM(bad_requests));
}

/*
 * Request lines nginx 1.22 or Python 3.11's http.server serve (see
 * tests/integ/121-lenient-request-lines.sh): the parser stays strict and
 * refuses each (a transparent flow is then refused 400, never passed as
 * opaque bytes; proxy/classify.c).
 */
static const struct bad_case lenient_lines[] = {
	BAD("GET / HTTP/1.1   \r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET / HTTP/1.1\t\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET / HTTP/1.1\r\r\nHost: a.test\r\n\r\n", 400, "bare_cr"),
	BAD("GET\t/\tHTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("GET\v/\vHTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("GET\xa0/\xa0HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_method"),
	BAD("GET / HTTP/1.1\f\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("\tGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bad_method"),
	BAD("GET  /  HTTP/1.1\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET / HTTP/01.1\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / HTTP/+1.1\r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("GET / HTTP/1.01\r\nHost: a.test\r\n\r\n", 400,
	    "bad_request_line"),
	BAD("GET /\r\nHost: a.test\r\n\r\n", 400, "bad_request_line"),
	BAD("GET /   \r\nHost: a.test\r\n\r\n", 400, "bad_version"),
	BAD("\r\rGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, "bare_cr"),
};

T_TEST(request_line_refuses_what_lenient_servers_accept)
{
	check_bad_cases(lenient_lines, SL_NELEM(lenient_lines));
}

T_TEST(request_line_over_limit_is_414_before_its_end)
{
	struct sl_http_limits l = { 64, 4096, 10 };
	static struct sl_http_msg m;
	char buf[256];
	size_t n;

	/* exactly 64 bytes of request line is fine */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	memcpy(buf + 64 - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 23);
	n = 64 + 2 + 9 + 2;
	T_EQ(req(buf, n, &l, &m), SL_HTTP_OK);
	T_EQ(m.target.len, 64 - 4 - 9);
	/* one more target byte: 414 already with 65 bytes and no CRLF */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	T_EQ(req(buf, 64, &l, &m), SL_HTTP_MORE);
	T_EQ(req(buf, 65, &l, &m), SL_HTTP_BAD);
	T_EQ(m.err_status, 414);
	T_STREQ(m.err_reason, "request_line_too_long");
}

T_TEST(head_over_limit_is_431_on_partial_input)
{
	struct sl_http_limits l = { 1024, 64, 10 };
	static struct sl_http_msg m;
	const char ok[] = "GET / HTTP/1.1\r\nHost: a.test\r\nX: 0123456789"
	    "01234567890123456\r\n\r\n";
	const char big[] = "GET / HTTP/1.1\r\nHost: a.test\r\nX: 0123456789"
	    "0123456789012345678901234567890123456789";

	T_EQ(sizeof(ok) - 1, 64);
	T_EQ(req(S(ok), &l, &m), SL_HTTP_OK);
	T_EQ(m.head_len, 64);
	/* 64 bytes and no end yet: the head cannot fit any more */
	T_EQ(req(big, 63, &l, &m), SL_HTTP_MORE);
	T_EQ(req(big, 64, &l, &m), SL_HTTP_BAD);
	T_EQ(req(S(big), &l, &m), SL_HTTP_BAD);
	T_EQ(m.err_status, 431);
	T_STREQ(m.err_reason, "head_too_large");
}

T_TEST(too_many_fields_is_431_before_the_end)
{
	struct sl_http_limits l = { 1024, 4096, 3 };
	static struct sl_http_msg m;
	const char three[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n"
	    "\r\n";
	const char four[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC";

	T_EQ(req(S(three), &l, &m), SL_HTTP_OK);
	T_EQ(m.nhdr, 3);
	T_EQ(req(S(four), &l, &m), SL_HTTP_BAD);
	T_EQ(m.err_status, 431);
	T_STREQ(m.err_reason, "too_many_fields");
}

T_TEST(field_count_never_exceeds_the_array)
{
	struct sl_http_limits l = { 1024, 1 << 20, 100000 };
	static struct sl_http_msg m;
	static char buf[300 * 6 + 64];
	size_t n = 0, i;

	n += (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 300; i++)
		n += (size_t)sprintf(buf + n, "A: 1\r\n");
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	T_EQ(req(buf, n, &l, &m), SL_HTTP_BAD);
	T_EQ(m.err_status, 431);
	T_EQ(m.nhdr, SL_HTTP_MAX_HEADERS);
}

T_TEST(zero_limits_mean_defaults)
{
	struct sl_http_limits l = { 0, 0, 0 };
	static struct sl_http_msg m;

	T_EQ(req(S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &l, &m),
	    SL_HTTP_OK);
}

/* ---- valid requests -------------------------------------------------- */

T_TEST(connect_name_ipv4_ipv6)
{
	static struct sl_http_msg m;
	const char *s;

	s = "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_CONNECT);
	T_EQ(m.form, SL_HTTP_FORM_AUTHORITY);
	T_ASSERT(span_is(s, m.host, "a.test"));
	T_EQ(m.port, 443);
	T_EQ(m.body, SL_HTTP_BODY_NONE);
	T_EQ(m.head_len, strlen(s));
	T_ASSERT(span_is(s, m.host_hdr, "a.test:443"));

	s = "CONNECT 192.0.2.1:8443 HTTP/1.1\r\nHost: 192.0.2.1:8443\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_ASSERT(span_is(s, m.host, "192.0.2.1"));
	T_EQ(m.port, 8443);

	s = "CONNECT [2001:db8::1]:65535 HTTP/1.1\r\n"
	    "Host: [2001:db8::1]:65535\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_ASSERT(span_is(s, m.host, "[2001:db8::1]"));
	T_EQ(m.port, 65535);

	/* Content-Length: 0 on CONNECT is harmless and some clients send it */
	s = "CONNECT a.test:1 HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.port, 1);
	T_EQ(m.body, SL_HTTP_BODY_NONE);
}

T_TEST(absolute_form_with_and_without_port_and_query)
{
	static struct sl_http_msg m;
	const char *s;

	s = "GET http://a.test/x/y?q=1&r HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_GET);
	T_EQ(m.form, SL_HTTP_FORM_ABSOLUTE);
	T_ASSERT(span_is(s, m.scheme, "http"));
	T_ASSERT(span_is(s, m.host, "a.test"));
	T_EQ(m.port, 80);
	T_ASSERT(span_is(s, m.path, "/x/y?q=1&r"));
	T_ASSERT(span_is(s, m.target, "http://a.test/x/y?q=1&r"));

	s = "POST HTTP://[2001:db8::2]:8080/ HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 3\r\n\r\nabc";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_POST);
	T_ASSERT(span_is(s, m.scheme, "HTTP"));
	T_ASSERT(span_is(s, m.host, "[2001:db8::2]"));
	T_EQ(m.port, 8080);
	T_ASSERT(span_is(s, m.path, "/"));
	T_EQ(m.head_len, strlen(s) - 3);
	T_EQ(m.body, SL_HTTP_BODY_LENGTH);
	T_EQ(m.content_length, 3);

	s = "GET http://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.path.len, 0);
	s = "GET http://a.test:81?x HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.port, 81);
	T_ASSERT(span_is(s, m.path, "?x"));
}

T_TEST(origin_form_asterisk_and_other_methods)
{
	static struct sl_http_msg m;
	const char *s;

	s = "\r\n\r\nHEAD /p?q HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_HEAD);
	T_EQ(m.form, SL_HTTP_FORM_ORIGIN);
	T_ASSERT(span_is(s, m.path, "/p?q"));
	T_ASSERT(span_is(s, m.method_s, "HEAD"));
	T_EQ(m.head_len, strlen(s));

	s = "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_OPTIONS);
	T_EQ(m.form, SL_HTTP_FORM_ASTERISK);

	s = "PROPFIND /d HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_OTHER);
	T_ASSERT(span_is(s, m.method_s, "PROPFIND"));

	/* methods are case-sensitive */
	s = "get / HTTP/1.1\r\nHost: a.test\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_OTHER);
	T_EQ(m.version, 11);

	s = "PUT / HTTP/1.0\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.method, SL_HTTP_M_PUT);
	T_EQ(m.version, 10);
	T_EQ(m.nhdr, 0);
}

T_TEST(field_values_trimmed_and_obs_text_allowed)
{
	static struct sl_http_msg m;
	const char *s = "GET / HTTP/1.1\r\nHost:a.test\r\nX-A: \t a b \t\r\n"
	    "X-B:\r\nX-C: caf\xc3\xa9\r\nContent-Length:\t007\r\n\r\n";

	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.nhdr, 5);
	T_ASSERT(span_is(s, m.hdr[0].value, "a.test"));
	T_ASSERT(span_is(s, m.hdr[1].name, "X-A"));
	T_ASSERT(span_is(s, m.hdr[1].value, "a b"));
	T_EQ(m.hdr[2].value.len, 0);
	T_ASSERT(span_is(s, m.hdr[3].value, "caf\xc3\xa9"));
	T_EQ(m.content_length, 7);
	T_ASSERT(sl_http_span_eq(s, m.hdr[4].name, "CONTENT-length"));
	T_ASSERT(!sl_http_span_eq(s, m.hdr[4].name, "content-lengt"));
	T_ASSERT(!sl_http_span_eq(s, m.hdr[4].name, "content-lengthx"));
}

/* RFC 9110 section 5.6.2, written out independently of the parser. */
static int
rfc_tchar(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    (int)c) != NULL);
}

T_TEST(field_octets_accepted_exactly_per_rfc)
{
	static struct sl_http_msg m;
	char name[] = "GET / HTTP/1.1\r\nHost: a\r\nX?Y: v\r\n\r\n";
	char value[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a?b\r\n\r\n";
	char *pn = strchr(name, '?'), *pv = strchr(value, '?');
	unsigned c;

	for (c = 0; c < 256; c++) {
		/* "X:Y: v" is the field X with the value "Y: v" */
		int name_ok = rfc_tchar(c) || c == ':';
		/* field-vchar / SP / HTAB; CR and LF end the line instead */
		int value_ok = c == '\t' || c == ' ' ||
		    (c >= 0x21 && c <= 0x7e) || c >= 0x80;

		*pn = (char)c;
		*pv = (char)c;
		T_CHECK((req(name, sizeof(name) - 1, &lim, &m) ==
		    SL_HTTP_OK) == name_ok, "name octet %#x", c);
		T_CHECK((req(value, sizeof(value) - 1, &lim, &m) ==
		    SL_HTTP_OK) == value_ok, "value octet %#x", c);
	}
}

struct flag_case {
	const char	*head;
	unsigned	 flags;
};

static const struct flag_case flag_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
	{ "GET / HTTP/1.0\r\n\r\n", SL_HTTP_F_CLOSE },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    SL_HTTP_F_KEEPALIVE },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	    SL_HTTP_F_CLOSE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    SL_HTTP_F_CLOSE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: ,CLOSE,\r\n\r\n",
	    SL_HTTP_F_CLOSE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 0 },
	{ "GET /c HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n", SL_HTTP_F_UPGRADE_WS },
	{ "GET /c HTTP/1.1\r\nHost: a\r\nUpgrade: h2c, WebSocket/13\r\n"
	    "Connection: upgrade\r\n\r\n", SL_HTTP_F_UPGRADE_WS },
	{ "GET /c HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", 0 },
	{ "GET /c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	    "Upgrade: h2c\r\n\r\n", 0 },
	{ "POST /c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\nContent-Length: 0\r\n\r\n", 0 },
	{ "GET /c HTTP/1.0\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n", SL_HTTP_F_CLOSE },
	{ "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 1\r\n\r\n", SL_HTTP_F_EXPECT_100 },
	{ "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n"
	    "Content-Length: 1\r\n\r\n", SL_HTTP_F_CLOSE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	    SL_HTTP_F_HAS_TE },
};

T_TEST(connection_upgrade_and_expect_flags)
{
	static struct sl_http_msg m;
	size_t i;

	for (i = 0; i < SL_NELEM(flag_cases); i++) {
		const char *s = flag_cases[i].head;
		enum sl_http_rc rc = req(s, strlen(s), &lim, &m);

		if (rc != SL_HTTP_OK || m.flags != flag_cases[i].flags)
			t_fail(__FILE__, __LINE__, "flag case %zu: rc %d "
			    "flags %#x, want %#x", i, rc, m.flags,
			    flag_cases[i].flags);
	}
}

T_TEST(request_framing_chunked_and_length)
{
	static struct sl_http_msg m;
	const char *s;

	s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked"
	    "\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_CHUNKED);
	T_ASSERT(m.flags & SL_HTTP_F_HAS_TE);
	s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_CHUNKED);
	s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "9223372036854775807\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_LENGTH);
	T_ASSERT(m.content_length == (uint64_t)INT64_MAX);
	s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_LENGTH);
	T_EQ(m.content_length, 0);
	s = "POST / HTTP/1.1\r\nHost: a\r\n\r\n";
	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_NONE);
}

static const char *const valid_heads[] = {
	"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n",
	"CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n",
	"CONNECT 192.0.2.7:5349 HTTP/1.0\r\n\r\n",
	"GET http://a.test:8080/p?q HTTP/1.1\r\nHost: a.test\r\n"
	    "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n"
	    "Expect: 100-continue\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"GET / HTTP/1.0\r\nX-Empty:\r\nX-Ws: \t \r\n\r\n",
};

T_TEST(valid_heads_truncated_anywhere_are_more)
{
	static struct sl_http_msg m;
	size_t i, k, n;

	for (i = 0; i < SL_NELEM(valid_heads); i++) {
		n = strlen(valid_heads[i]);
		T_EQ(req(valid_heads[i], n, &lim, &m), SL_HTTP_OK);
		T_EQ(m.head_len, n);
		for (k = 0; k < n; k++) {
			enum sl_http_rc rc = req(valid_heads[i], k, &lim, &m);

			T_CHECK(rc == SL_HTTP_MORE, "head %zu cut at %zu: "
			    "rc %d (%s)", i, k, rc,
			    rc == SL_HTTP_BAD ? m.err_reason : "ok");
		}
	}
}

/* ---- chunked --------------------------------------------------------- */

static ssize_t
feed_all(const char *s, size_t n, int *done)
{
	struct sl_http_chunked c;

	sl_http_chunked_init(&c);
	return sl_http_chunked_feed(&c, s, n, done);
}

/* Feed s in pieces cut at a and b; the total consumed and the state. */
static ssize_t
feed_split3(const char *s, size_t n, size_t a, size_t b, int *done)
{
	struct sl_http_chunked c;
	size_t cut[4] = { 0, a, b, n }, i, total = 0;
	ssize_t r;

	sl_http_chunked_init(&c);
	*done = 0;
	for (i = 0; i < 3 && !*done; i++) {
		char *p = malloc(cut[i + 1] - cut[i] + 1);

		memcpy(p, s + cut[i], cut[i + 1] - cut[i]);
		r = sl_http_chunked_feed(&c, p, cut[i + 1] - cut[i], done);
		free(p);
		if (r < 0)
			return -1;
		total += (size_t)r;
		if (!*done && (size_t)r != cut[i + 1] - cut[i])
			return -2;	/* must take everything until done */
	}
	return (ssize_t)total;
}

T_TEST(chunked_simple_body_ends_exactly)
{
	const char body[] = "5\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	    "0\r\n\r\nGET /next";
	int done;

	T_EQ(feed_all(S(body), &done), sizeof(body) - 1 - 9);
	T_EQ(done, 1);
	T_EQ(feed_all(body, 10, &done), 10);
	T_EQ(done, 0);
}

T_TEST(chunked_extensions_and_trailers)
{
	const char body[] = "5;a=b ; c = \"x \\\"y\\\" z\";d\r\nhello\r\n"
	    "0;last\r\nX-Sum: abc\r\nX-Empty:\r\n\r\nrest";
	int done;

	T_EQ(feed_all(S(body), &done), sizeof(body) - 1 - 4);
	T_EQ(done, 1);
}

T_TEST(chunked_after_done_consumes_nothing)
{
	struct sl_http_chunked c;
	int done;

	sl_http_chunked_init(&c);
	T_EQ(sl_http_chunked_feed(&c, S("0\r\n\r\n"), &done), 5);
	T_EQ(done, 1);
	T_EQ(sl_http_chunked_feed(&c, S("0\r\n\r\n"), &done), 0);
	T_EQ(done, 1);
}

T_TEST(chunked_every_split_point_agrees)
{
	const char body[] = "3;n=\"q\"\r\nabc\r\n10\r\n0123456789abcdef\r\n"
	    "0\r\nT: v\r\n\r\nXYZ";
	size_t n = sizeof(body) - 1, a, b;
	int done, d1;
	ssize_t whole = feed_all(body, n, &done);

	T_EQ(whole, n - 3);
	T_EQ(done, 1);
	for (a = 0; a <= n; a++) {
		for (b = a; b <= n; b++) {
			ssize_t r = feed_split3(body, n, a, b, &d1);

			T_CHECK(r == whole && d1 == 1, "split %zu/%zu: "
			    "%zd done %d", a, b, r, d1);
		}
	}
}

T_TEST(chunked_byte_by_byte_agrees)
{
	const char body[] = "1;x=y\r\nA\r\n2\r\nBC\r\n0\r\nK: v\r\n\r\n!";
	struct sl_http_chunked c;
	size_t i, total = 0;
	int done = 0;

	sl_http_chunked_init(&c);
	for (i = 0; i < sizeof(body) - 1 && !done; i++) {
		ssize_t r = sl_http_chunked_feed(&c, body + i, 1, &done);

		T_ASSERT(r == 0 || r == 1);
		total += (size_t)r;
	}
	T_EQ(done, 1);
	T_EQ(total, sizeof(body) - 2);
}

T_TEST(chunked_sixteen_hex_digits_ok_seventeen_rejected)
{
	int done;

	T_EQ(feed_all(S("ffffffffffffffff\r\nab"), &done), 20);
	T_EQ(done, 0);
	T_EQ(feed_all(S("0000000000000000f\r\n"), &done), -1);
	T_EQ(feed_all(S("10000000000000000\r\n"), &done), -1);
}

static const char *const bad_chunks[] = {
	"\r\n",				/* empty size */
	";a\r\n",			/* extension without size */
	"g\r\n",			/* not hex */
	"0x5\r\n",
	"-1\r\n",
	"+1\r\n",
	" 5\r\n",			/* leading whitespace */
	"1 2\r\nab\r\n",		/* whitespace inside */
	"5 \r\nhello\r\n",		/* whitespace not followed by ';' */
	"5\nhello\r\n",			/* bare LF */
	"5\rhello\r\n",			/* bare CR */
	"5\r\nhelloX\r\n",		/* data longer than the size */
	"5\r\nhello\n0\r\n\r\n",
	"5\r\nhello\r\r\n",
	"5;\r\nhello\r\n",		/* empty extension name */
	"5;a=\r\nhello\r\n",		/* empty extension value */
	"5;a=\"b\r\nhello\r\n",		/* open quoted-string */
	"5;a=\"b\"c\r\nhello\r\n",
	"5;a b\r\nhello\r\n",
	"5;a=b c\r\nhello\r\n",
	"5;a=\"\x01\"\r\nhello\r\n",
	"5;@\r\nhello\r\n",
	"0\r\nX: a\r\n b\r\n\r\n",	/* obs-fold in trailers */
	"0\r\nX : a\r\n\r\n",		/* space before colon */
	"0\r\n: a\r\n\r\n",		/* empty name */
	"0\r\nX\r\n\r\n",		/* no colon */
	"0\r\nX: a\rb\r\n\r\n",		/* bare CR */
	"0\r\nX: a\x7f\r\n\r\n",	/* DEL */
	"0\r\nX: a\n\r\n",		/* bare LF */
	"0\r\n\n",
	"0\r\n\rX",
};

T_TEST(chunked_framing_errors)
{
	size_t i;
	int done;

	for (i = 0; i < SL_NELEM(bad_chunks); i++)
		if (feed_all(bad_chunks[i], strlen(bad_chunks[i]), &done) != -1)
			t_fail(__FILE__, __LINE__, "bad chunk %zu accepted",
			    i);
	/* a NUL in a trailer value (sizeof: strlen would stop there) */
	T_EQ(feed_all(S("0\r\nX: a\0\r\n\r\n"), &done), -1);
	T_EQ(feed_all(S("5\0\r\nhello\r\n"), &done), -1);
}

T_TEST(chunked_error_is_sticky)
{
	struct sl_http_chunked c;
	int done;

	sl_http_chunked_init(&c);
	T_EQ(sl_http_chunked_feed(&c, S("z"), &done), -1);
	T_EQ(sl_http_chunked_feed(&c, S("0\r\n\r\n"), &done), -1);
	T_EQ(done, 0);
}

T_TEST(chunked_line_length_is_bounded)
{
	static char buf[5000];
	size_t k, n;
	int done;

	/* a size line of 4096 bytes with its CRLF is fine, 4097 is not */
	for (k = 4092; k <= 4093; k++) {
		buf[0] = '1';
		buf[1] = ';';
		memset(buf + 2, 'a', k);
		memcpy(buf + 2 + k, "\r\nX\r\n0\r\n\r\n", 10);
		n = 2 + k + 10;
		if (k == 4092) {
			T_EQ(feed_all(buf, n, &done), n);
			T_EQ(done, 1);
		} else {
			T_EQ(feed_all(buf, n, &done), -1);
		}
	}
}

T_TEST(chunked_trailer_section_is_bounded)
{
	static char buf[20000];
	size_t n = 0;
	int done;

	n += (size_t)sprintf(buf, "0\r\n");
	while (n < 17000)
		n += (size_t)sprintf(buf + n, "X-Trailer: 0123456789\r\n");
	n += (size_t)sprintf(buf + n, "\r\n");
	T_EQ(feed_all(buf, n, &done), -1);
}

/* ---- rewrite --------------------------------------------------------- */

static ssize_t
rewrite_req(const char *s, int via, char *out, size_t cap)
{
	static struct sl_http_msg m;

	if (req(s, strlen(s), &lim, &m) != SL_HTTP_OK)
		return -2;
	return sl_http_rewrite_request(s, &m, via, out, cap);
}

#define T_REWRITE(in, via, want) do {					\
	char out_[2048];						\
	ssize_t n_ = rewrite_req((in), (via), out_, sizeof(out_));	\
	T_CHECK(n_ >= 0, "rewrite failed: %zd", n_);			\
	out_[n_] = '\0';						\
	T_STREQ(out_, (want));						\
} while (0)

T_TEST(rewrite_drops_hop_by_hop_and_replaces_host)
{
	T_REWRITE("GET http://a.test:8080/p?q HTTP/1.1\r\n"
	    "Host: wrong.test\r\n"
	    "User-Agent: x\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "Connection: keep-alive, X-Custom\r\n"
	    "X-Custom: 1\r\n"
	    "Keep-Alive: 300\r\n"
	    "TE: trailers\r\n"
	    "Trailer: X-Sum\r\n"
	    "Upgrade: h2c\r\n"
	    "Proxy-Authorization: Basic eDp5\r\n"
	    "Accept:  */*  \r\n"
	    "x-custom: 2\r\n"
	    "\r\n", 1,
	    "GET /p?q HTTP/1.1\r\n"
	    "Host: a.test:8080\r\n"
	    "User-Agent: x\r\n"
	    "Accept:  */*  \r\n"
	    "Via: 1.1 sluice\r\n"
	    "\r\n");
}

T_TEST(rewrite_http10_without_host_gets_one_first)
{
	T_REWRITE("GET http://a.test HTTP/1.0\r\nAccept: x\r\n\r\n", 1,
	    "GET / HTTP/1.0\r\nHost: a.test\r\nAccept: x\r\n"
	    "Via: 1.0 sluice\r\n\r\n");
	T_REWRITE("GET http://a.test?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n", 0,
	    "GET /?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
	T_REWRITE("OPTIONS http://a.test:81 HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	    "OPTIONS * HTTP/1.1\r\nHost: a.test:81\r\n\r\n");
}

T_TEST(rewrite_appends_to_the_last_via)
{
	T_REWRITE("GET http://a.test/ HTTP/1.1\r\nVia: 1.0 fred\r\n"
	    "Host: a.test\r\nvia:  1.1 p.test (x)  \r\nX: y\r\n\r\n", 1,
	    "GET / HTTP/1.1\r\nVia: 1.0 fred\r\nHost: a.test\r\n"
	    "via: 1.1 p.test (x), 1.1 sluice\r\nX: y\r\n\r\n");
	T_REWRITE("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVia:\r\n"
	    "\r\n", 1,
	    "GET / HTTP/1.1\r\nHost: a.test\r\nVia: 1.1 sluice\r\n\r\n");
}

T_TEST(rewrite_keeps_websocket_upgrade)
{
	T_REWRITE("GET http://a.test/chat HTTP/1.1\r\nHost: a.test\r\n"
	    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 0,
	    "GET /chat HTTP/1.1\r\nHost: a.test\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n");
}

T_TEST(rewrite_never_drops_framing_named_in_connection)
{
	T_REWRITE("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\n"
	    "Connection: Content-Length, Host, Transfer-Encoding\r\n"
	    "Content-Length: 3\r\n\r\n", 0,
	    "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\n");
	T_REWRITE("POST /u HTTP/1.1\r\nHost: o.test\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n"
	    "\r\n", 0,
	    "POST /u HTTP/1.1\r\nHost: o.test\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
}

T_TEST(rewrite_fails_cleanly_when_out_is_small)
{
	static struct sl_http_msg m;
	const char *s = "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n"
	    "Via: 1.0 a\r\nA: b\r\n\r\n";
	char out[256];
	ssize_t full;
	size_t cap;

	T_EQ(req(s, strlen(s), &lim, &m), SL_HTTP_OK);
	full = sl_http_rewrite_request(s, &m, 1, out, sizeof(out));
	T_ASSERT(full > 0);
	for (cap = 0; cap < (size_t)full; cap++) {
		char *o = malloc(cap + 1);

		T_EQ(sl_http_rewrite_request(s, &m, 1, o, cap), -1);
		free(o);
	}
	T_EQ(sl_http_rewrite_request(s, &m, 1, out, (size_t)full), full);
}

T_TEST(rewrite_response_close_via_and_websocket)
{
	static struct sl_http_msg m;
	char out[1024];
	ssize_t n;
	const char *s = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\n"
	    "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n"
	    "Proxy-Authenticate: Basic\r\nServer: o\r\n\r\nhi";

	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	n = sl_http_rewrite_response(s, &m, 1, 1, out, sizeof(out));
	T_ASSERT(n > 0);
	out[n] = '\0';
	T_STREQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: o\r\n"
	    "Via: 1.1 sluice\r\nConnection: close\r\n\r\n");

	s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9k=\r\n"
	    "\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_ASSERT(m.flags & SL_HTTP_F_UPGRADE_WS);
	n = sl_http_rewrite_response(s, &m, 0, 1, out, sizeof(out));
	T_ASSERT(n > 0);
	out[n] = '\0';
	T_STREQ(out, s);

	s = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	n = sl_http_rewrite_response(s, &m, 1, 0, out, sizeof(out));
	T_ASSERT(n > 0);
	out[n] = '\0';
	T_STREQ(out, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n"
	    "Via: 1.0 sluice\r\n\r\n");
}

/* ---- responses ------------------------------------------------------- */

struct resp_case {
	enum sl_http_method	 meth;
	const char		*head;
	enum sl_http_rc		 rc;
	enum sl_http_body	 body;
	uint64_t		 cl;
	const char		*reason;	/* on BAD */
};

static const struct resp_case resp_cases[] = {
	{ SL_HTTP_M_HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_HEAD, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 100 Continue\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 204 No Content\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n"
	    "\r\n", SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_CONNECT, "HTTP/1.1 200 Connection established\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_NONE, 0, NULL },
	{ SL_HTTP_M_CONNECT, "HTTP/1.1 407 Auth\r\nContent-Length: 5\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_LENGTH, 5, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_LENGTH, 42, NULL },
	{ SL_HTTP_M_POST, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", SL_HTTP_OK, SL_HTTP_BODY_CHUNKED, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_EOF, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_EOF, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.0 200\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_EOF, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	    SL_HTTP_OK, SL_HTTP_BODY_LENGTH, 0, NULL },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", SL_HTTP_BAD, 0, 0,
	    "cl_and_te" },
	{ SL_HTTP_M_GET, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", SL_HTTP_BAD, 0, 0, "te_in_http10" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\n", SL_HTTP_BAD, 0, 0, "multiple_cl" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "cl_list" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "obs_fold" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	    SL_HTTP_BAD, 0, 0, "bare_lf" },
	{ SL_HTTP_M_GET, "HTTP/1.1 2000 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status" },
	{ SL_HTTP_M_GET, "HTTP/1.1 099 Low\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status" },
	{ SL_HTTP_M_GET, "HTTP/1.1 600 High\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status" },
	{ SL_HTTP_M_GET, "HTTP/1.1 20 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status" },
	{ SL_HTTP_M_GET, "HTTP/2 200 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_version" },
	{ SL_HTTP_M_GET, "HTTP/1.2 200 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "unsupported_version" },
	{ SL_HTTP_M_GET, "HTTP/1.1  200 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 O\x01K\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_reason" },
	{ SL_HTTP_M_GET, "\r\nHTTP/1.1 200 OK\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "bad_status_line" },
	{ SL_HTTP_M_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n",
	    SL_HTTP_BAD, 0, 0, "unknown_te" },
};

T_TEST(response_framing_table)
{
	static struct sl_http_msg m;
	size_t i, k, n;

	for (i = 0; i < SL_NELEM(resp_cases); i++) {
		const struct resp_case *rc = &resp_cases[i];
		enum sl_http_rc got;

		n = strlen(rc->head);
		got = resp(rc->head, n, rc->meth, &m);
		if (got != rc->rc ||
		    (got == SL_HTTP_OK && (m.body != rc->body ||
		    m.content_length != rc->cl || m.head_len != n)) ||
		    (got == SL_HTTP_BAD && (m.err_status != 502 ||
		    strcmp(m.err_reason, rc->reason) != 0))) {
			t_fail(__FILE__, __LINE__, "response case %zu: rc %d "
			    "body %d cl %llu err %u %s", i, got, m.body,
			    (unsigned long long)m.content_length,
			    m.err_status, m.err_reason ? m.err_reason : "-");
			continue;
		}
		for (k = 0; k < n; k++) {
			got = resp(rc->head, k, rc->meth, &m);
			if (got != SL_HTTP_MORE && !(got == SL_HTTP_BAD &&
			    rc->rc == SL_HTTP_BAD &&
			    strcmp(m.err_reason, rc->reason) == 0)) {
				t_fail(__FILE__, __LINE__, "response case %zu "
				    "cut at %zu: rc %d", i, k, got);
				break;
			}
		}
	}
}

T_TEST(response_status_reason_and_connection_flags)
{
	static struct sl_http_msg m;
	const char *s;

	s = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.status, 404);
	T_EQ(m.version, 11);
	T_ASSERT(span_is(s, m.reason_s, "Not Found"));
	T_EQ(m.flags, 0);

	s = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 0\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.flags, SL_HTTP_F_KEEPALIVE);

	s = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.flags, SL_HTTP_F_CLOSE);

	/* a body delimited by close means the connection ends */
	s = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.body, SL_HTTP_BODY_EOF);
	T_EQ(m.flags, SL_HTTP_F_CLOSE);

	/* 101 without websocket, or 200 with it, is not an upgrade */
	s = "HTTP/1.1 101 Switching\r\nConnection: upgrade\r\n"
	    "Upgrade: h2c\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.flags, 0);
	s = "HTTP/1.1 200 OK\r\nConnection: upgrade\r\n"
	    "Upgrade: websocket\r\nContent-Length: 0\r\n\r\n";
	T_EQ(resp(s, strlen(s), SL_HTTP_M_GET, &m), SL_HTTP_OK);
	T_EQ(m.flags, 0);
}

T_TEST(response_limits_are_502)
{
	struct sl_http_limits l = { 16, 4096, 2 };
	static struct sl_http_msg m;
	const char *s = "HTTP/1.1 200 Very long reason\r\n\r\n";

	T_EQ(sl_http_parse_response(s, strlen(s), &l, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.err_status, 502);
	T_STREQ(m.err_reason, "status_line_too_long");
	s = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	T_EQ(sl_http_parse_response(s, strlen(s), &l, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.err_status, 502);
	T_STREQ(m.err_reason, "too_many_fields");
}

/* "HTTP/1.1 200 OK" with n fields "X-Nnnn: v" and an empty body. */
static size_t
resp_fields(char *buf, size_t cap, unsigned n)
{
	size_t w = (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\n");

	for (unsigned i = 1; i < n && w < cap; i++)
		w += (size_t)snprintf(buf + w, cap - w, "X-F%04u: v\r\n", i);
	w += (size_t)snprintf(buf + w, cap - w, "\r\n");
	return w;
}

/* Issue 12 item 9: the proxy gave responses the request limits (100
 * fields), so an origin's 150 fields were a 502.  The proxy now passes
 * response-header-max and response-header-count-max (64k, 256). */
T_TEST(response_has_its_own_field_limit)
{
	const struct sl_http_limits rl = { 65536, 65536, 256 };
	const struct sl_http_limits over = { 65536, 65536, 1000 };
	static struct sl_http_msg m;
	static char buf[300 * 16 + 64];
	size_t n = resp_fields(buf, sizeof(buf), 150);

	T_EQ(sl_http_parse_response(buf, n, &lim, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.err_status, 502);
	T_STREQ(m.err_reason, "too_many_fields");
	T_EQ(sl_http_parse_response(buf, n, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_OK);
	T_EQ(m.nhdr, 150);
	T_EQ(m.body, SL_HTTP_BODY_LENGTH);
	n = resp_fields(buf, sizeof(buf), 256);
	T_EQ(sl_http_parse_response(buf, n, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_OK);
	T_EQ(m.nhdr, 256);
	n = resp_fields(buf, sizeof(buf), 257);
	T_EQ(sl_http_parse_response(buf, n, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.err_status, 502);
	T_STREQ(m.err_reason, "too_many_fields");
	/* A limit above the array is the array. */
	T_EQ(sl_http_parse_response(buf, n, &over, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.nhdr, SL_HTTP_MAX_HEADERS);
}

T_TEST(response_status_line_bounded_by_the_head_limit)
{
	const struct sl_http_limits rl = { 16384, 16384, 256 };
	static char buf[16384 + 64];
	static struct sl_http_msg m;
	size_t n;

	/* A reason phrase longer than request-line-max's default (8k). */
	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 ");
	memset(buf + n, 'r', 9000);
	n += 9000;
	memcpy(buf + n, "\r\nContent-Length: 0\r\n\r\n", 23);
	n += 23;
	T_EQ(sl_http_parse_response(buf, n, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_OK);
	T_EQ(m.reason_s.len, 9000);
	/* A head of exactly the limit passes, one byte more is refused. */
	memset(buf + 13, 'r', 16380 - 13);
	memcpy(buf + 16380, "\r\n\r\n", 4);
	T_EQ(sl_http_parse_response(buf, 16384, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_OK);
	memset(buf + 13, 'r', 16381 - 13);
	memcpy(buf + 16381, "\r\n\r\n", 4);
	T_EQ(sl_http_parse_response(buf, 16385, &rl, SL_HTTP_M_GET, &m),
	    SL_HTTP_BAD);
	T_EQ(m.err_status, 502);
	T_STREQ(m.err_reason, "head_too_large");
}

T_TEST(reason_phrases_for_every_code_the_proxy_uses)
{
	static const unsigned codes[] = { 100, 101, 200, 204, 301, 302, 304,
	    400, 403, 404, 405, 407, 408, 411, 413, 414, 417, 431, 500, 501,
	    502, 503, 504, 505 };
	size_t i;

	for (i = 0; i < SL_NELEM(codes); i++)
		T_CHECK(sl_http_reason(codes[i])[0] != '\0', "no reason for "
		    "%u", codes[i]);
	T_STREQ(sl_http_reason(403), "Forbidden");
	T_STREQ(sl_http_reason(407), "Proxy Authentication Required");
	T_STREQ(sl_http_reason(431), "Request Header Fields Too Large");
	T_STREQ(sl_http_reason(299), "");
}

/* ---- parsing only when sl_http_need_parse says so ------------------- */

struct feed_result {
	enum sl_http_rc	 rc;
	size_t		 at;		/* bytes buffered when rc was seen */
	unsigned	 status;
	const char	*reason;
	unsigned	 parses;
};

/*
 * Feed s one byte at a time like a proxy reading a slow client: parse on
 * every byte (lazy 0) or only when sl_http_need_parse says so (lazy 1).
 */
static void
feed_bytes(const char *s, size_t n, const struct sl_http_limits *l,
    int meth, int lazy, struct feed_result *fr)
{
	static struct sl_http_msg m;
	size_t k, last = 0;

	memset(fr, 0, sizeof(*fr));
	fr->rc = SL_HTTP_MORE;
	for (k = 1; k <= n && fr->rc == SL_HTTP_MORE; k++) {
		if (lazy && !sl_http_need_parse(s, last, k, l))
			continue;
		last = k;
		fr->parses++;
		fr->rc = meth < 0 ? req(s, k, l, &m) :
		    (enum sl_http_rc)sl_http_parse_response(s, k, l,
		    (enum sl_http_method)meth, &m);
		fr->at = k;
	}
	if (fr->rc == SL_HTTP_BAD) {
		fr->status = m.err_status;
		fr->reason = m.err_reason;
	}
}

/*
 * Lazy parsing gives the same verdict: OK and limits at the same byte,
 * other errors by the next LF.
 */
static int
lazy_agrees(const char *s, size_t n, const struct sl_http_limits *l, int meth)
{
	struct feed_result e, z;
	const char *lf;

	feed_bytes(s, n, l, meth, 0, &e);
	feed_bytes(s, n, l, meth, 1, &z);
	lf = e.rc == SL_HTTP_BAD ? memchr(s + e.at - 1, '\n', n - (e.at - 1)) :
	    NULL;
	/* an error with no LF after it yet is still pending, not missed */
	if (e.rc == SL_HTTP_BAD && z.rc == SL_HTTP_MORE && lf == NULL &&
	    e.status != 414 && e.status != 431)
		return 1;
	if (e.rc != z.rc)
		return 0;
	if (e.rc == SL_HTTP_OK)
		return e.at == z.at;
	if (e.rc == SL_HTTP_MORE)
		return 1;
	if (e.status != z.status || strcmp(e.reason, z.reason) != 0)
		return 0;
	if (e.status == 414 || e.status == 431)
		return e.at == z.at;
	return z.at >= e.at && z.at <= (lf ? (size_t)(lf - s) + 1 : n);
}

T_TEST(need_parse_gives_the_same_verdicts)
{
	struct sl_http_limits small = { 24, 96, 3 };
	size_t i;

	for (i = 0; i < SL_NELEM(bad_requests); i++) {
		const struct bad_case *bc = &bad_requests[i];

		T_CHECK(lazy_agrees(bc->head, bc->len, &lim, -1),
		    "bad case %zu (%s)", i, bc->reason);
		T_CHECK(lazy_agrees(bc->head, bc->len, &small, -1),
		    "bad case %zu (%s), small limits", i, bc->reason);
	}
	for (i = 0; i < SL_NELEM(valid_heads); i++) {
		size_t n = strlen(valid_heads[i]);

		T_CHECK(lazy_agrees(valid_heads[i], n, &lim, -1),
		    "valid head %zu", i);
		T_CHECK(lazy_agrees(valid_heads[i], n, &small, -1),
		    "valid head %zu, small limits", i);
	}
	for (i = 0; i < SL_NELEM(resp_cases); i++) {
		const char *h = resp_cases[i].head;

		T_CHECK(lazy_agrees(h, strlen(h), &lim, resp_cases[i].meth),
		    "response %zu", i);
		T_CHECK(lazy_agrees(h, strlen(h), &small,
		    resp_cases[i].meth), "response %zu, small limits", i);
	}
}

T_TEST(need_parse_keeps_a_trickled_head_linear)
{
	struct sl_http_limits l = { 8192, 65536, 100 };
	struct feed_result z;
	static char buf[65536 + 64];
	size_t n;

	/* one long value: the only parses are at line ends and the limit */
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'a', sizeof(buf) - n);
	feed_bytes(buf, sizeof(buf), &l, -1, 1, &z);
	T_EQ(z.rc, SL_HTTP_BAD);
	T_EQ(z.status, 431);
	T_EQ(z.at, 65536);
	/*
	 * First byte, two line ends, the bytes after them, the request line
	 * limit crossed (its line is long done, but the helper does not know)
	 * and the head limit: 7 parses instead of 65536.
	 */
	T_EQ(z.parses, 7);
	/* a request line trickled past its limit */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	feed_bytes(buf, sizeof(buf), &l, -1, 1, &z);
	T_EQ(z.status, 414);
	T_EQ(z.at, 8193);
	T_EQ(z.parses, 2);
}

/* The decoder of the h2 translation (proxy/h2/h1.c): data bytes come
 * when the tracker says, framing bytes otherwise, in any split. */
T_TEST(chunked_data_next_decodes_a_body)
{
	static const char body[] = "5\r\nhello\r\n3;x=1\r\n wo\r\n0\r\nT: v\r\n\r\n";
	struct sl_http_chunked c;
	char out[32];
	size_t i = 0, o = 0, n;
	uint64_t d;
	int done = 0;

	sl_http_chunked_init(&c);
	T_EQ(sl_http_chunked_data_next(&c), 0);
	while (!done && i < sizeof(body) - 1) {
		d = sl_http_chunked_data_next(&c);
		n = d > 0 ? (size_t)SL_MIN(d, 2) : 1;	/* data in twos */
		T_EQ(sl_http_chunked_feed(&c, body + i, n, &done), n);
		if (d > 0) {
			memcpy(out + o, body + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	T_ASSERT(done);
	T_EQ(i, sizeof(body) - 1);
	T_STREQ(out, "hello wo");
}
