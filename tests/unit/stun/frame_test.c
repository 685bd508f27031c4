/*
 * frame_test.c — TURN ChannelData (RFC 8656 12.4, 12.5) and the framing of
 * STUN/TURN byte streams (stun/frame.c): a stream of RFC 5769 messages and
 * ChannelData cut at every point, and what must be refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "tests/common/stun_feed.h"
#include "tests/unit/stun/vec.h"
#include "tests/unit/t.h"

#define CAP	4096

T_TEST(stun_chan_udp_with_and_without_padding)
{
	static const uint8_t b[] = { 0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l',
	    'l', 'o', 0, 0, 0 };
	struct sl_stun_chan c;

	T_EQ(sl_stun_chan_parse(b, 9, 0, &c), SL_PARSE_OK);
	T_EQ(c.channel, 0x4001);
	T_EQ(c.len, 5);
	T_ASSERT(c.data == b + 4);
	T_EQ(sl_stun_chan_parse(b, 10, 0, &c), SL_PARSE_OK);
	T_EQ(sl_stun_chan_parse(b, 12, 0, &c), SL_PARSE_OK);
	T_EQ(c.len, 5);
	T_EQ(sl_stun_chan_parse(b, 8, 0, &c), SL_PARSE_BAD);
	T_STREQ(c.err, "truncated");
}

T_TEST(stun_chan_stream_needs_padding)
{
	static const uint8_t b[] = { 0x4f, 0xff, 0x00, 0x05, 'h', 'e', 'l',
	    'l', 'o', 0, 0, 0, 0 };
	struct sl_stun_chan c;

	T_EQ(sl_stun_chan_parse(b, 12, SL_STUN_CHAN_STREAM, &c), SL_PARSE_OK);
	T_EQ(c.channel, 0x4fff);
	for (size_t n = 4; n < 12; n++) {
		T_EQ(sl_stun_chan_parse(b, n, SL_STUN_CHAN_STREAM, &c), SL_PARSE_BAD);
		T_STREQ(c.err, "truncated");
	}
	T_EQ(sl_stun_chan_parse(b, 13, SL_STUN_CHAN_STREAM, &c), SL_PARSE_BAD);
	T_STREQ(c.err, "trailing_data");
	T_EQ(sl_stun_chan_parse(b, 13, 0, &c), SL_PARSE_BAD);
	T_STREQ(c.err, "trailing_data");
}

T_TEST(stun_chan_bad_channel_numbers)
{
	uint8_t b[8] = { 0, 0, 0x00, 0x04, 1, 2, 3, 4 };
	struct sl_stun_chan c;

	/* 0x5000-0x7fff: ChannelData's bits, reserved numbers. */
	for (unsigned ch = 0x5000; ch <= 0x7fff; ch += 0x0fff) {
		b[0] = (uint8_t)(ch >> 8);
		b[1] = (uint8_t)ch;
		T_EQ(sl_stun_chan_parse(b, sizeof(b), SL_STUN_CHAN_STREAM, &c), SL_PARSE_BAD);
		T_STREQ(c.err, "channel_reserved");
		/* RFC 5766's range, on request (coturn binds them). */
		T_EQ(sl_stun_chan_parse(b, sizeof(b), SL_STUN_CHAN_STREAM |
		    SL_STUN_CHAN_RFC5766, &c), SL_PARSE_OK);
		T_EQ(c.channel, ch);
	}
	/* Below 0x4000 or from 0x8000: not ChannelData at all. */
	for (unsigned ch = 0x0000; ch <= 0xffff; ch += 0x1000) {
		if (ch >= 0x4000 && ch < 0x8000)
			continue;
		b[0] = (uint8_t)(ch >> 8);
		b[1] = (uint8_t)ch;
		T_EQ(sl_stun_chan_parse(b, sizeof(b), SL_STUN_CHAN_STREAM, &c),
		    SL_PARSE_NOT_MINE);
	}
	b[0] = 0x40;
	T_EQ(sl_stun_chan_parse(b, 3, SL_STUN_CHAN_STREAM, &c), SL_PARSE_BAD);
	T_STREQ(c.err, "short_header");
	T_EQ(sl_stun_chan_parse(b, 0, SL_STUN_CHAN_STREAM, &c), SL_PARSE_BAD);
}

T_TEST(stun_chan_empty_data)
{
	static const uint8_t b[] = { 0x40, 0x00, 0x00, 0x00 };
	struct sl_stun_chan c;

	T_EQ(sl_stun_chan_parse(b, 4, SL_STUN_CHAN_STREAM, &c), SL_PARSE_OK);
	T_EQ(c.len, 0);
}

/* A stream: the four RFC 5769 messages with ChannelData between them. */
static size_t
make_stream(uint8_t *s, size_t cap, size_t *ends, size_t *nends)
{
	struct vec v[VEC_MAX];
	size_t n = 0, k = 0;
	int nv = load_vectors(v, VEC_MAX);

	for (int i = 0; i < nv; i++) {
		size_t dlen = (size_t)i * 3 + 1;	/* 1, 4, 7, 10 */

		if (n + v[i].n + 4 + dlen + 3 > cap)
			return 0;
		memcpy(s + n, v[i].b, v[i].n);
		n += v[i].n;
		ends[k++] = n;
		s[n] = 0x40;
		s[n + 1] = (uint8_t)i;
		s[n + 2] = 0;
		s[n + 3] = (uint8_t)dlen;
		memset(s + n + 4, 0xee, dlen);
		memset(s + n + 4 + dlen, 0, 3);
		n += 4 + ((dlen + 3) & ~(size_t)3);
		ends[k++] = n;
	}
	*nends = k;
	return nv == 4 ? n : 0;
}

/* The frame ends of s[0, n) fed cut at cuts; -1 on BAD or bytes left. */
static int
feed(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts,
    size_t *out, size_t max)
{
	struct stun_feed fd = { .ends = out, .max = max };

	if (stun_feed(s, n, cuts, ncuts, CAP, NULL, &fd) == -1 || fd.bad ||
	    fd.left != 0)
		return -1;
	return (int)fd.n;
}

T_TEST(stun_frame_stream_whole)
{
	uint8_t s[1024];
	size_t ends[16], got[16], nends, n = make_stream(s, sizeof(s), ends,
	    &nends);
	struct sl_stun_frame f;

	T_ASSERT(n > 0);
	T_EQ(nends, 8);
	T_EQ(feed(s, n, NULL, 0, got, 16), 8);
	for (size_t i = 0; i < nends; i++)
		T_EQ(got[i], ends[i]);
	T_EQ(sl_stun_frame_next(s, n, CAP, &f), SL_PARSE_OK);
	T_EQ(f.kind, SL_STUN_FRAME_STUN);
	T_EQ(sl_stun_frame_next(s + ends[0], n - ends[0], CAP, &f),
	    SL_PARSE_OK);
	T_EQ(f.kind, SL_STUN_FRAME_CHANNEL);
	T_EQ(f.len, 8);			/* 4 + 1 byte padded to 4 */
}

/* Every single cut, then every pair of cuts: the same frames. */
T_TEST(stun_frame_stream_split_at_every_point)
{
	uint8_t s[1024];
	size_t ends[16], got[16], nends, n = make_stream(s, sizeof(s), ends,
	    &nends);

	T_ASSERT(n > 0);
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			size_t cuts[2] = { a, b };

			T_CHECK(feed(s, n, cuts, 2, got, 16) == (int)nends,
			    "cut at %zu and %zu", a, b);
			T_CHECK(memcmp(got, ends, nends * sizeof(*ends)) == 0,
			    "cut at %zu and %zu", a, b);
		}
	}
}

T_TEST(stun_frame_stream_one_byte_at_a_time)
{
	uint8_t s[1024];
	size_t ends[16], got[16], cuts[1024], nends,
	    n = make_stream(s, sizeof(s), ends, &nends);

	T_ASSERT(n > 0);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i;
	T_EQ(feed(s, n, cuts, n, got, 16), (int)nends);
	T_ASSERT(memcmp(got, ends, nends * sizeof(*ends)) == 0);
}

/* Any prefix of a frame is MORE; the whole frame is OK. */
T_TEST(stun_frame_every_prefix_is_more)
{
	uint8_t s[1024];
	size_t ends[16], nends, n = make_stream(s, sizeof(s), ends, &nends);
	struct sl_stun_frame f;
	size_t start = 0;

	T_ASSERT(n > 0);
	for (size_t i = 0; i < nends; i++) {
		for (size_t k = 0; k < ends[i] - start; k++) {
			uint8_t *c = vec_copy(s + start, k);

			T_ASSERT(c != NULL);
			T_CHECK(sl_stun_frame_next(c, k, CAP, &f) ==
			    SL_PARSE_MORE, "frame %zu, %zu bytes", i, k);
			free(c);
		}
		T_EQ(sl_stun_frame_next(s + start, ends[i] - start, CAP, &f),
		    SL_PARSE_OK);
		T_EQ(f.len, ends[i] - start);
		start = ends[i];
	}
}

T_TEST(stun_frame_out_of_step_is_bad)
{
	static const struct {
		const char	*b;
		size_t		 n;
		const char	*err;
	} c[] = {
		{ "\x80", 1, "not_stun" },
		{ "\xc0\x00\x00\x00", 4, "not_stun" },
		{ "\x16\x03\x01\x02\x00\x01", 6, "not_stun" },	/* TLS */
		/* 'G' is 01000111: ChannelData 0x4745 of 0x5420 bytes. */
		{ "GET / HTTP/1.1\r\n", 16, "too_large" },
		{ "\x50\x00", 2, "channel_reserved" },
		{ "\x7f\xff\x00\x04", 4, "channel_reserved" },
		{ "\x00\x01\x00\x01", 4, "not_stun" },	/* length % 4 */
		{ "\x00\x01\x00\x00\x21\x12\xa4\x43", 8, "not_stun" },
		{ "\x00\x01\xff\xfc", 4, "too_large" },
		{ "\x40\x00\x10\x00", 4, "too_large" },
	};
	struct sl_stun_frame f;

	for (size_t i = 0; i < SL_NELEM(c); i++) {
		T_CHECK(sl_stun_frame_next((const uint8_t *)c[i].b, c[i].n,
		    CAP, &f) == SL_PARSE_BAD, "case %zu", i);
		T_STREQ(f.err, c[i].err);
	}
}

/* The cap is on the whole frame, padding in; at the cap is fine. */
T_TEST(stun_frame_cap_is_inclusive)
{
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x08 };
	static const uint8_t chan[] = { 0x40, 0x00, 0x00, 0x05 };
	struct sl_stun_frame f;

	T_EQ(sl_stun_frame_next(stun, 4, 28, &f), SL_PARSE_MORE);
	T_EQ(f.len, 28);
	T_EQ(sl_stun_frame_next(stun, 4, 27, &f), SL_PARSE_BAD);
	T_EQ(sl_stun_frame_next(chan, 4, 12, &f), SL_PARSE_MORE);
	T_EQ(sl_stun_frame_next(chan, 4, 11, &f), SL_PARSE_BAD);
	T_EQ(sl_stun_frame_next(chan, 0, 11, &f), SL_PARSE_MORE);
}
