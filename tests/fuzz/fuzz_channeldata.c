/*
 * fuzz_channeldata.c — sl_stun_frame_next over a STUN/TURN byte stream
 * (STUN messages and ChannelData back to back, as over TCP or TLS).  The
 * input is the stream; it is framed whole, then fed again in pieces cut
 * where a hash of the input says (and a byte at a time when short), as a
 * reader appending what arrives would.  Checks, aborting if not:
 *
 *   - the pieces give the same frames as the whole, and end the same way
 *     (the same bytes left over, or BAD at the same frame);
 *   - a frame is within the cap, a ChannelData frame parses as such on a
 *     stream, and a STUN frame is STUN with exactly its length (its
 *     attributes may still be BAD);
 *   - before a frame is complete, every prefix of it is MORE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "tests/common/stun_feed.h"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAME_CAP	2048
#define FRAMES_MAX	4096
#define CUTS_MAX	8

struct framing {
	size_t		 ends[FRAMES_MAX];
	struct stun_feed fd;
};

/* One frame, parsed as what the framer says it is. */
static void
check_frame(const uint8_t *p, const struct sl_stun_frame *f)
{
	uint8_t *copy = malloc(f->len);
	struct sl_stun_chan c;
	struct sl_stun_msg m;

	FZ_CHECK(copy != NULL && f->len > 0 && f->len <= FRAME_CAP);
	memcpy(copy, p, f->len);
	if (f->kind == SL_STUN_FRAME_CHANNEL) {
		FZ_CHECK(sl_stun_chan_parse(copy, f->len, SL_STUN_CHAN_STREAM, &c) ==
		    SL_PARSE_OK);
	} else {
		enum sl_parse_rc rc = sl_stun_msg_parse(copy, f->len, &m);

		FZ_CHECK(rc == SL_PARSE_OK || (rc == SL_PARSE_BAD &&
		    strcmp(m.err, "truncated") != 0 &&
		    strcmp(m.err, "trailing_data") != 0));
	}
	free(copy);
}

/* Frame data cut at cuts; every frame is checked. */
static void
frame_pieces(const uint8_t *data, size_t size, const size_t *cuts,
    size_t ncuts, struct framing *out)
{
	out->fd.ends = out->ends;
	out->fd.max = FRAMES_MAX;
	FZ_CHECK(stun_feed(data, size, cuts, ncuts, FRAME_CAP, check_frame,
	    &out->fd) == 0);
}

/* The same frames, and the same end: bytes left over or BAD. */
static void
same_framing(const struct framing *a, const struct framing *b)
{
	FZ_CHECK(a->fd.n == b->fd.n && a->fd.bad == b->fd.bad &&
	    a->fd.left == b->fd.left);
	FZ_CHECK(memcmp(a->ends, b->ends, a->fd.n * sizeof(size_t)) == 0);
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The first n bytes of p, through an exactly sized copy (ASan sees an
 * over-read) while the framer may still be reading the header. */
static enum sl_parse_rc
frame_prefix(const uint8_t *p, size_t n, struct sl_stun_frame *f)
{
	uint8_t *copy;
	enum sl_parse_rc rc;

	if (n > SL_STUN_HDR_LEN)
		return sl_stun_frame_next(p, n, FRAME_CAP, f);
	FZ_CHECK((copy = malloc(n > 0 ? n : 1)) != NULL);
	memcpy(copy, p, n);
	rc = sl_stun_frame_next(copy, n, FRAME_CAP, f);
	free(copy);
	return rc;
}

/* The whole stream's frames: every shorter prefix of each is MORE. */
static void
check_prefixes(const uint8_t *data, const struct framing *whole)
{
	struct sl_stun_frame f;
	size_t start = 0;

	for (size_t i = 0; i < whole->fd.n && i < 16; i++) {
		for (size_t k = 0; k < whole->ends[i] - start; k++)
			FZ_CHECK(frame_prefix(data + start, k, &f) ==
			    SL_PARSE_MORE);
		start = whole->ends[i];
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct framing whole, cut;
	struct sl_stun_frame f;
	size_t cuts[CUTS_MAX], ncuts;
	uint32_t h = fz_hash(data, size);

	if (sl_stun_frame_next(data, size, FRAME_CAP, &f) == SL_PARSE_BAD)
		FZ_CHECK(f.err != NULL);
	frame_pieces(data, size, NULL, 0, &whole);
	check_prefixes(data, &whole);
	/* Cuts from the hash: 1 to CUTS_MAX points, sorted. */
	ncuts = 1 + h % CUTS_MAX;
	for (size_t i = 0; i < ncuts; i++) {
		h = h * 1103515245u + 12345u;
		cuts[i] = size > 0 ? (h >> 8) % (size + 1) : 0;
	}
	qsort(cuts, ncuts, sizeof(*cuts), size_cmp);
	frame_pieces(data, size, cuts, ncuts, &cut);
	same_framing(&cut, &whole);
	if (size <= 512) {
		static size_t every[512];

		for (size_t i = 0; i < size; i++)
			every[i] = i;
		frame_pieces(data, size, every, size, &cut);
		same_framing(&cut, &whole);
	}
	return 0;
}
