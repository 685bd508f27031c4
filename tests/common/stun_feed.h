/*
 * stun_feed.h — a STUN/TURN stream delivered in pieces and framed the way
 * a reader would do it (append what arrived, take every whole frame off
 * the front with sl_stun_frame_next), so a test or a fuzz target can
 * compare the frames of the same bytes cut in different places.
 * Header-only, for tests/unit/stun/frame_test.c and
 * tests/fuzz/fuzz_channeldata.c.
 */
#ifndef SL_TEST_STUN_FEED_H
#define SL_TEST_STUN_FEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "stun/stun.h"

/* Called with each frame, at the front of the reader's buffer. */
typedef void (*stun_feed_fn)(const uint8_t *frame,
    const struct sl_stun_frame *f);

struct stun_feed {
	size_t		*ends;		/* caller's: frame ends in the stream */
	size_t		 max;		/* room in ends */
	size_t		 n;		/* frames taken */
	size_t		 left;		/* bytes no frame took */
	int		 bad;		/* stopped at a BAD frame */
};

/*
 * Feed data[0, size) cut at cuts[0, ncuts) (ascending) to a reader with a
 * frame cap; fn (may be NULL) sees each frame.  Stops at a BAD frame or
 * when ends is full.  0, or -1 if out of memory.
 */
static SL_UNUSED int
stun_feed(const uint8_t *data, size_t size, const size_t *cuts,
    size_t ncuts, size_t cap, stun_feed_fn fn, struct stun_feed *out)
{
	uint8_t *buf = malloc(size > 0 ? size : 1);
	size_t have = 0, base = 0, prev = 0;

	out->n = 0;
	out->bad = 0;
	if (buf == NULL)
		return -1;
	for (size_t c = 0; c <= ncuts && !out->bad; c++) {
		size_t to = c < ncuts ? cuts[c] : size;
		struct sl_stun_frame f;
		enum sl_parse_rc rc = SL_PARSE_MORE;

		memcpy(buf + have, data + prev, to - prev);
		have += to - prev;
		prev = to;
		while (out->n < out->max && (rc = sl_stun_frame_next(buf, have,
		    cap, &f)) == SL_PARSE_OK) {
			if (fn != NULL)
				fn(buf, &f);
			base += f.len;
			out->ends[out->n++] = base;
			memmove(buf, buf + f.len, have - f.len);
			have -= f.len;
		}
		out->bad = out->n < out->max && rc == SL_PARSE_BAD;
	}
	out->left = size - base;
	free(buf);
	return 0;
}

#endif /* SL_TEST_STUN_FEED_H */
