/*
 * frame.c — TURN ChannelData (RFC 8656 section 12.4, 12.5) and the framing
 * of STUN over TCP and TLS (RFC 8489 6.2.2, RFC 8656 12.5).
 *
 * On a stream STUN messages and ChannelData follow each other with no
 * length prefix of their own; the first two bits of a frame say which
 * (RFC 7983): 00 STUN, 01 ChannelData.  Both carry their length in bytes
 * 2-3, so four bytes are enough to know where the frame ends:
 *
 *   STUN         type(2) length(2) cookie(4) txid(12) attributes(length)
 *   ChannelData  channel(2) length(2) data(length) pad to 4 (on streams)
 *
 * Anything else at a frame boundary means the stream is out of step, and
 * there is no way back into it: BAD.  Channels 0x5000-0x7fff are reserved
 * (RFC 8656 12): BAD too.  Reasons (err): short_header truncated
 * trailing_data channel_reserved not_stun too_large.
 */
#include <string.h>

#include "stun_int.h"

enum sl_parse_rc
sl_stun_chan_parse(const uint8_t *buf, size_t len, unsigned flags,
    struct sl_stun_chan *out)
{
	int stream = (flags & SL_STUN_CHAN_STREAM) != 0;
	size_t full;

	memset(out, 0, sizeof(*out));
	if (len >= 1 && (buf[0] & 0xc0) != 0x40)
		return SL_PARSE_NOT_MINE;
	if (len < SL_STUN_CHAN_HDR_LEN)
		return stun_bad(&out->err, "short_header");
	out->channel = stun_be16(buf);
	out->len = stun_be16(buf + 2);
	if (out->channel > SL_STUN_CHAN_MAX &&
	    !(flags & SL_STUN_CHAN_RFC5766))
		return stun_bad(&out->err, "channel_reserved");
	/* Over UDP the padding may be left out (12.5); on a stream not. */
	full = SL_STUN_CHAN_HDR_LEN + STUN_PAD4(out->len);
	if (len < (stream ? full : SL_STUN_CHAN_HDR_LEN + (size_t)out->len))
		return stun_bad(&out->err, "truncated");
	if (len > full)
		return stun_bad(&out->err, "trailing_data");
	out->data = buf + SL_STUN_CHAN_HDR_LEN;
	return SL_PARSE_OK;
}

enum sl_parse_rc
sl_stun_frame_next(const uint8_t *buf, size_t len, size_t cap,
    struct sl_stun_frame *out)
{
	struct sl_stun_hdr h;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return SL_PARSE_MORE;
	if ((buf[0] & 0xc0) == 0x00) {
		/* The header check, on what there is of it. */
		if (sl_stun_peek(buf, len, &h) == SL_PARSE_NOT_MINE)
			return stun_bad(&out->err, "not_stun");
		out->kind = SL_STUN_FRAME_STUN;
	} else if ((buf[0] & 0xc0) == 0x40) {
		if (len >= 2 && stun_be16(buf) > SL_STUN_CHAN_MAX)
			return stun_bad(&out->err, "channel_reserved");
		out->kind = SL_STUN_FRAME_CHANNEL;
	} else {
		return stun_bad(&out->err, "not_stun");
	}
	if (len < 4)
		return SL_PARSE_MORE;
	if (out->kind == SL_STUN_FRAME_STUN)
		out->len = SL_STUN_HDR_LEN + (size_t)stun_be16(buf + 2);
	else
		out->len = SL_STUN_CHAN_HDR_LEN + STUN_PAD4(stun_be16(buf + 2));
	if (out->len > cap)
		return stun_bad(&out->err, "too_large");
	return len >= out->len ? SL_PARSE_OK : SL_PARSE_MORE;
}
