/*
 * classify_test.c — first-bytes classification (proxy/classify.c): what a
 * tunnel or transparent flow is, from the bytes a client sent first.
 */
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
	/* Upper-case first words, but no HTTP request line: pass as bytes. */
	static const char *const lines[] = {
		"LOGIN alice secret\r\nQUIT\r\n",
		"EHLO client.example.test\r\n",
		"USER anonymous\r\n",
		"A001 CAPABILITY\r\n",
		"GET / HTTP\r\n",
		"OPTIONS rtsp://cam.test/live RTSP/1.0\r\n",
		"NOTIFY /x\r\n",		/* not a common HTTP method */
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
	memcpy(big, "ABCD ", 5);	/* not a method: opaque bytes */
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
