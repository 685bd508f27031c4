/*
 * classify_test.c — first-bytes classification (proxy/classify.c): what a
 * tunnel or transparent flow is, from the bytes a client sent first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/classify.h"
#include "tests/unit/t.h"

static const struct sl_http_limits lim = { 8192, 32768, 100 };

static struct sl_classify
classify(const char *s, size_t len, int want_head)
{
	struct sl_classify c;
	/* An exact-size heap copy: ASan sees any read past len. */
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, s, len);
	sl_classify(copy, len, 32768, want_head, &lim, &c);
	free(copy);
	return c;
}

#define CL(lit, head)	classify((lit), sizeof(lit) - 1, (head))

T_TEST(classify_nothing_yet_is_more)
{
	struct sl_classify c;

	sl_classify(NULL, 0, 32768, 1, &lim, &c);
	T_EQ(c.rc, SL_PARSE_MORE);
}

T_TEST(classify_http_request_with_host)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: www.example.test:8080\r\n"
	    "Accept: */*\r\n\r\n";
	struct sl_classify c = CL(req, 1);

	T_EQ(c.rc, SL_PARSE_OK);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.head_len, sizeof(req) - 1);
	T_EQ(c.host.len, strlen("www.example.test:8080"));
	T_ASSERT(memcmp(req + c.host.off, "www.example.test:8080", c.host.len)
	    == 0);
}

T_TEST(classify_http_head_prefixes_wait_for_more)
{
	static const char req[] = "POST /upload HTTP/1.1\r\nHost: a.test\r\n\r\n";

	for (size_t n = 1; n < sizeof(req) - 1; n++) {
		struct sl_classify c = classify(req, n, 1);

		T_CHECK(c.rc == SL_PARSE_MORE, "prefix %zu: rc %d", n, c.rc);
		/* Every prefix, from "P" on, can only begin HTTP: a pause
		 * there must not make it opaque (transparent URL rules). */
		T_CHECK(c.proto == SL_PROTO_HTTP, "prefix %zu: proto %d", n,
		    c.proto);
	}
}

T_TEST(classify_http_line_is_enough_without_head)
{
	struct sl_classify c = CL("GET / HTTP/1.1\r\n", 0);

	T_EQ(c.rc, SL_PARSE_OK);
	T_EQ(c.proto, SL_PROTO_HTTP);
}

T_TEST(classify_text_protocols_are_opaque_not_bad_http)
{
	/*
	 * Upper-case first words, but no line nginx or http.server would act
	 * on as a request (each gets 400 or 501 there): pass as bytes.
	 */
	static const char *const lines[] = {
		"LOGIN alice secret\r\nQUIT\r\n",
		"EHLO client.example.test\r\n",
		"USER anonymous\r\n",
		"USER guest 0 * :Real Name\r\n",	/* IRC */
		"A001 CAPABILITY\r\n",
		"QUIT\r\n",
		"OPTIONS rtsp://cam.test/live RTSP/1.0\r\n",
		"INVITE sip:bob@b.test SIP/2.0\r\n",
		"NOTIFY /x\r\n",		/* HTTP/0.9 is GET only */
		"POST /x\r\n",
		"LOGIN alice HTTP/1.0 now\r\n",	/* "HTTP/" not last */
		"get key\r\n",			/* memcached */
		"get /x HTTP/1.1\r\n",		/* lower case: 400 or 501 */
		"*1\r\n$4\r\nPING\r\n",		/* redis */
	};

	for (size_t i = 0; i < SL_NELEM(lines); i++) {
		struct sl_classify c = classify(lines[i], strlen(lines[i]), 1);

		T_CHECK(c.rc == SL_PARSE_OK && c.proto == SL_PROTO_OPAQUE,
		    "'%s': rc %d proto %d", lines[i], c.rc, c.proto);
	}
}

T_TEST(classify_shapes_a_server_takes_for_a_request_are_http)
{
	/*
	 * Opaque bytes are decided on the address alone, past Host and URL
	 * rules: whatever an origin server would answer as a request must
	 * be HTTP here (a red team found each of these spliced).
	 */
	static const char lead[] = "\r\n\r\nGET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
	struct sl_classify c = CL(lead, 1);
	char *big;

	T_EQ(c.rc, SL_PARSE_OK);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.host.len, strlen("a.test"));
	c = CL("\r\n", 1);		/* only the empty line yet */
	T_EQ(c.rc, SL_PARSE_MORE);
	T_EQ(c.proto, SL_PROTO_HTTP);
	c = CL("GET /no-version\r\n", 1);	/* HTTP/0.9: refused as HTTP */
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
	/* A request line longer than the classifier looks: HTTP, too long. */
	big = malloc(10000);
	T_ASSERT(big != NULL);
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', 10000 - 5);
	c = classify(big, 10000, 1);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
	memcpy(big, "A001 ", 5);	/* not a method: opaque bytes */
	c = classify(big, 10000, 1);
	T_EQ(c.proto, SL_PROTO_OPAQUE);
	/* An unfinished line that fills the buffer: too large, not "more"
	 * (the reader would spin on a full buffer). */
	memcpy(big, "GET /", 5);
	sl_classify((uint8_t *)big, 100, 64, 1, &lim, &c);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
	T_STREQ(c.err, "too_large");
	free(big);
}

T_TEST(classify_http_with_bad_headers_is_bad_http)
{
	/* A real request line, then a smuggling attempt: refused as HTTP. */
	struct sl_classify c = CL("GET / HTTP/1.1\r\nHost: a.test\r\n"
	    "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 1);

	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
	T_ASSERT(c.err != NULL);
}

T_TEST(classify_binary_is_opaque)
{
	struct sl_classify c = CL("\xff\x00OPAQUE\x7f", 0);

	T_EQ(c.rc, SL_PARSE_OK);
	T_EQ(c.proto, SL_PROTO_OPAQUE);
	c = CL("SSH-2.0-OpenSSH_9.2\r\n", 1);
	T_EQ(c.proto, SL_PROTO_OPAQUE);
}

T_TEST(classify_stun_binding_request)
{
	/* RFC 5769 2.1 header: binding request, 88 bytes of attributes. */
	static const char hdr[] = "\x00\x01\x00\x58\x21\x12\xa4\x42"
	    "\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae";
	struct sl_classify c = CL(hdr, 0);

	T_EQ(c.rc, SL_PARSE_OK);
	T_EQ(c.proto, SL_PROTO_STUN);
	c = classify(hdr, 7, 0);
	T_EQ(c.rc, SL_PARSE_MORE);
}

T_TEST(classify_tls_record_start_waits_then_is_tls)
{
	/* A handshake record header promising more: TLS, need more. */
	struct sl_classify c = CL("\x16\x03\x01\x02\x00\x01", 0);

	T_EQ(c.proto, SL_PROTO_TLS);
	T_EQ(c.rc, SL_PARSE_MORE);
	/* ...until no more will come: then it is a hello cut short. */
	sl_classify_cut_short(&c, 1);
	T_EQ(c.rc, SL_PARSE_BAD);
	T_STREQ(c.err, "truncated_timeout");
	c = CL("\x16\x03\x01\x02\x00\x01", 0);
	sl_classify_cut_short(&c, 0);
	T_STREQ(c.err, "truncated_eof");
	c = CL("GET /x", 0);		/* only a hello is cut short */
	sl_classify_cut_short(&c, 1);
	T_EQ(c.rc, SL_PARSE_MORE);
}

T_TEST(classify_garbage_tls_is_bad_not_opaque)
{
	/* Looks like a handshake record, is not a ClientHello: refused, so a
	 * malformed hello cannot slip past an inspect rule as opaque. */
	struct sl_classify c = CL("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 0);

	T_EQ(c.proto, SL_PROTO_TLS);
	T_EQ(c.rc, SL_PARSE_BAD);
}

T_TEST(classify_oversized_http_head_is_bad)
{
	size_t n = 40000;
	char *big = malloc(n);
	struct sl_classify c;

	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', n - 19);
	sl_classify((uint8_t *)big, n, 32768, 1, &lim, &c);
	free(big);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
}

/* Refused as HTTP (400 by the strict parser), never opaque bytes. */
static void
check_bad_http(const char *s, size_t n)
{
	struct sl_classify c = classify(s, n, 1);

	T_CHECK(c.proto == SL_PROTO_HTTP && c.rc == SL_PARSE_BAD,
	    "'%.*s': rc %d proto %d", (int)n, s, c.rc, c.proto);
}

#define BAD_HTTP(lit)	check_bad_http((lit), sizeof(lit) - 1)

T_TEST(classify_blank_after_version_is_bad_http_issue_12)
{
	/* nginx and http.server serve it: it was spliced past URL rules. */
	static const char req[] = "GET /secret/ HTTP/1.1 \r\n"
	    "Host: www.example.test\r\n\r\n";
	struct sl_classify c = CL(req, 1);

	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
	T_STREQ(c.err, "bad_request_line");
	BAD_HTTP("GET /secret/ HTTP/1.1   \r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /secret/ HTTP/1.1\t\r\nHost: a.test\r\n\r\n");
}

T_TEST(classify_tabs_between_words_are_bad_http)
{
	BAD_HTTP("GET\t/secret/\tHTTP/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET\t/secret/\r\n");
}

T_TEST(classify_leading_blanks_are_bad_http)
{
	BAD_HTTP(" GET /secret/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("\tGET /secret/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("  GET /secret/\r\n");
}

T_TEST(classify_python_whitespace_separates_words)
{
	/* str.split() in http.server splits at each of these. */
	static const char seps[] = "\v\f\x1c\x1d\x1e\x1f\x85\xa0";
	char req[64];

	for (size_t i = 0; i < sizeof(seps) - 1; i++) {
		int n = snprintf(req, sizeof(req), "GET%c/s/%cHTTP/1.1\r\n\r\n",
		    seps[i], seps[i]);

		check_bad_http(req, (size_t)n);
		n = snprintf(req, sizeof(req), "GET /s/ HTTP/1.1%c\r\n\r\n",
		    seps[i]);
		check_bad_http(req, (size_t)n);
	}
}

T_TEST(classify_any_version_after_http_slash_is_http)
{
	/* nginx serves 1.10, http.server 01.1, +1.1 and 0.9; the rest are
	 * refused as HTTP all the same. */
	BAD_HTTP("GET /s/ HTTP/1.10\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/ HTTP/01.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/ HTTP/+1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/ HTTP/0.9\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/ HTTP/2.0\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/ HTTP/1.1x\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("PUT /s/ http/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("PUT /s/ HTTP/\r\nHost: a.test\r\n\r\n");
}

T_TEST(classify_more_words_before_the_version_are_http)
{
	/* nginx takes 0x85 and 0xa0 inside a target; a split there still
	 * ends in the version. */
	BAD_HTTP("GET /a\xa0" "b HTTP/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("PUT /a b HTTP/1.1\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET / HTTP\r\n");	/* a GET and a second word */
}

T_TEST(classify_cr_inside_the_line_is_a_blank)
{
	/* http.server strips CRs before the LF and splits at others. */
	BAD_HTTP("GET /s/ HTTP/1.1\r\r\nHost: a.test\r\n\r\n");
	BAD_HTTP("GET /s/\rHTTP/1.1\nHost: a.test\n\n");
	BAD_HTTP("\rGET /s/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
}

T_TEST(classify_bare_lf_request_is_bad_http)
{
	BAD_HTTP("GET /s/ HTTP/1.1\nHost: a.test\n\n");
	BAD_HTTP("GET /s/\n");
}

T_TEST(classify_nginx_method_chars_are_decided)
{
	/* Any [A-Z_-] word, any length, is a method to nginx (405 for a
	 * file; passed on by a proxy): the request is decided by its Host. */
	static const char *const reqs[] = {
		"GET_X /s/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"-X /s/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"VERSION-CONTROL-LONGER /s/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
	};

	for (size_t i = 0; i < SL_NELEM(reqs); i++) {
		struct sl_classify c = classify(reqs[i], strlen(reqs[i]), 1);

		T_CHECK(c.proto == SL_PROTO_HTTP && c.rc == SL_PARSE_OK &&
		    c.host.len == 6, "'%s': rc %d proto %d", reqs[i], c.rc,
		    c.proto);
	}
}

T_TEST(classify_lenient_line_not_ended_waits_as_http)
{
	static const char *const parts[] = {
		" ", "\t", " GET /s/ HTTP/1.1 ", "GET\t/s/", "ZZ_Z",
		"LOGIN alice",	/* may still end in " HTTP/1.0" */
	};

	for (size_t i = 0; i < SL_NELEM(parts); i++) {
		struct sl_classify c = classify(parts[i], strlen(parts[i]), 1);

		T_CHECK(c.proto == SL_PROTO_HTTP && c.rc == SL_PARSE_MORE,
		    "'%s': rc %d proto %d", parts[i], c.rc, c.proto);
	}
	/* A first word no server takes for a method: bytes at once. */
	T_EQ(CL(" a", 1).proto, SL_PROTO_OPAQUE);
	T_EQ(CL("A0", 1).proto, SL_PROTO_OPAQUE);
}

T_TEST(classify_blanks_past_the_line_window_are_http)
{
	/* http.server reads lines of 64 KiB: blanks this long may still
	 * lead to a request. */
	size_t n = 9000;
	char *big = malloc(n);
	struct sl_classify c;

	T_ASSERT(big != NULL);
	memset(big, ' ', n);
	c = classify(big, n, 1);
	free(big);
	T_EQ(c.proto, SL_PROTO_HTTP);
	T_EQ(c.rc, SL_PARSE_BAD);
}
