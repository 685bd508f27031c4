/*
 * h2_alpn_test.c — which protocol each side of an inspected session
 * speaks (proxy/h2/h2.h): the origin's choice passed on, an h2-only
 * client carried over HTTP/1.1, http/1.1 added towards the origin only
 * when the client lacks it.
 */
#include <string.h>

#include "../../../proxy/h2/h2.h"
#include "../t.h"

#define L(s)	((const unsigned char *)(s)), (sizeof(s) - 1)

static const unsigned char h2_h1[] = "\x02h2\x08http/1.1";
static const unsigned char h2_only[] = "\x02h2";
static const unsigned char h1_only[] = "\x08http/1.1";

static int
pick(const unsigned char *up, unsigned uplen, const unsigned char *in,
    unsigned inlen, char *out)
{
	const unsigned char *o = NULL;
	unsigned char n = 0;

	if (!sl_h2_alpn_select(up, uplen, in, inlen, &o, &n))
		return 0;
	memcpy(out, o, n);
	out[n] = '\0';
	return 1;
}

T_TEST(alpn_origin_choice_passed_on)
{
	char out[32];

	T_ASSERT(pick(L("h2"), h2_h1, sizeof(h2_h1) - 1, out));
	T_STREQ(out, "h2");
	T_ASSERT(pick(L("http/1.1"), h2_h1, sizeof(h2_h1) - 1, out));
	T_STREQ(out, "http/1.1");
}

T_TEST(alpn_h2_only_client_to_h1_origin_gets_h2)
{
	char out[32];

	T_ASSERT(pick(L("http/1.1"), h2_only, sizeof(h2_only) - 1, out));
	T_STREQ(out, "h2");
	/* An origin without ALPN speaks HTTP/1.1 too. */
	T_ASSERT(pick(NULL, 0, h2_only, sizeof(h2_only) - 1, out));
	T_STREQ(out, "h2");
}

T_TEST(alpn_client_with_h1_and_origin_without_alpn_gets_none)
{
	char out[32];

	T_EQ(pick(NULL, 0, h2_h1, sizeof(h2_h1) - 1, out), 0);
	T_EQ(pick(NULL, 0, h1_only, sizeof(h1_only) - 1, out), 0);
}

T_TEST(alpn_other_protocol_not_carried)
{
	static const unsigned char in[] = "\x02h2\x08spdy/3.1";
	char out[32];

	T_EQ(pick(L("spdy/3"), in, sizeof(in) - 1, out), 0);
}

T_TEST(alpn_malformed_list_never_read_past_its_end)
{
	static const unsigned char in[] = "\x02h2\x09http/1.1";
	char out[32];

	/* The last entry claims one byte more than there is. */
	T_ASSERT(pick(L("http/1.1"), in, sizeof(in) - 1, out));
	T_STREQ(out, "h2");
}

T_TEST(alpn_upstream_adds_h1_for_h2_only_client)
{
	unsigned char buf[64];

	memcpy(buf, h2_only, sizeof(h2_only) - 1);
	T_EQ(sl_h2_alpn_upstream(buf, sizeof(h2_only) - 1, sizeof(buf)),
	    sizeof(h2_h1) - 1);
	T_ASSERT(memcmp(buf, h2_h1, sizeof(h2_h1) - 1) == 0);
}

T_TEST(alpn_upstream_unchanged_otherwise)
{
	unsigned char buf[64];

	memcpy(buf, h2_h1, sizeof(h2_h1) - 1);
	T_EQ(sl_h2_alpn_upstream(buf, sizeof(h2_h1) - 1, sizeof(buf)),
	    sizeof(h2_h1) - 1);
	memcpy(buf, h1_only, sizeof(h1_only) - 1);
	T_EQ(sl_h2_alpn_upstream(buf, sizeof(h1_only) - 1, sizeof(buf)),
	    sizeof(h1_only) - 1);
	/* No room: the list stays as it was. */
	memcpy(buf, h2_only, sizeof(h2_only) - 1);
	T_EQ(sl_h2_alpn_upstream(buf, sizeof(h2_only) - 1, 5), 3);
}
