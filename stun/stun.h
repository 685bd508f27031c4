/*
 * stun.h — STUN/TURN codec (RFC 8489, RFC 5389, RFC 8656), pure: it reads
 * and writes caller buffers, allocates nothing of its own and never
 * touches a socket.  docs/design/stun.md says what it checks and refuses.
 *
 *   msg.c        header check (sl_stun_peek), message parse, attribute walk
 *   attr.c       typed attribute decoders
 *   integrity.c  MESSAGE-INTEGRITY(-SHA256), FINGERPRINT, long-term keys
 *   enc.c        a small encoder (responses, tests)
 *   frame.c      TURN ChannelData and the STUN-over-TCP stream framer
 */
#ifndef SL_STUN_H
#define SL_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../lib/parse.h"

#define SL_STUN_MAGIC		0x2112a442u
#define SL_STUN_HDR_LEN		20
#define SL_STUN_TXID_LEN	12
/* Largest message: the header's 16-bit length (RFC 8489 section 5). */
#define SL_STUN_MSG_MAX		(SL_STUN_HDR_LEN + 0xffff - 3)
#define SL_STUN_KEY_MAX		32	/* SHA-256 long-term key */
#define SL_STUN_UNKNOWN_MAX	8	/* unknown attributes kept */

/* Classes (RFC 8489 section 5). */
enum sl_stun_class {
	SL_STUN_REQUEST = 0,
	SL_STUN_INDICATION,
	SL_STUN_SUCCESS,
	SL_STUN_ERROR,
};

/* Methods: Binding (RFC 8489), TURN (RFC 8656 section 17). */
#define SL_STUN_BINDING			0x001
#define SL_STUN_ALLOCATE		0x003
#define SL_STUN_REFRESH			0x004
#define SL_STUN_SEND			0x006
#define SL_STUN_DATA			0x007
#define SL_STUN_CREATE_PERMISSION	0x008
#define SL_STUN_CHANNEL_BIND		0x009

/*
 * Attribute types (IANA "STUN Attributes").  0x0000-0x7fff are
 * comprehension-required, 0x8000-0xffff comprehension-optional.
 */
#define SL_STUN_A_MAPPED_ADDRESS	0x0001
#define SL_STUN_A_USERNAME		0x0006
#define SL_STUN_A_MESSAGE_INTEGRITY	0x0008
#define SL_STUN_A_ERROR_CODE		0x0009
#define SL_STUN_A_UNKNOWN_ATTRIBUTES	0x000a
#define SL_STUN_A_CHANNEL_NUMBER	0x000c
#define SL_STUN_A_LIFETIME		0x000d
#define SL_STUN_A_XOR_PEER_ADDRESS	0x0012
#define SL_STUN_A_DATA			0x0013
#define SL_STUN_A_REALM			0x0014
#define SL_STUN_A_NONCE			0x0015
#define SL_STUN_A_XOR_RELAYED_ADDRESS	0x0016
#define SL_STUN_A_REQ_ADDRESS_FAMILY	0x0017
#define SL_STUN_A_EVEN_PORT		0x0018
#define SL_STUN_A_REQUESTED_TRANSPORT	0x0019
#define SL_STUN_A_DONT_FRAGMENT		0x001a
#define SL_STUN_A_MESSAGE_INTEGRITY_SHA256 0x001c
#define SL_STUN_A_PASSWORD_ALGORITHM	0x001d
#define SL_STUN_A_USERHASH		0x001e
#define SL_STUN_A_XOR_MAPPED_ADDRESS	0x0020
#define SL_STUN_A_RESERVATION_TOKEN	0x0022
#define SL_STUN_A_PRIORITY		0x0024
#define SL_STUN_A_USE_CANDIDATE		0x0025
#define SL_STUN_A_SOFTWARE		0x8022
#define SL_STUN_A_FINGERPRINT		0x8028

struct sl_stun_hdr {
	uint16_t	type;		/* method and class bits */
	uint16_t	length;		/* attribute bytes after the header */
	uint8_t		txid[12];
	const char	*err;		/* SL_PARSE_BAD: static reason */
};

/*
 * Recognise a STUN message header (RFC 8489 section 5): top two bits zero,
 * magic cookie, length a multiple of 4.  SL_PARSE_MORE under 20 bytes if
 * what is there is consistent, SL_PARSE_NOT_MINE if not STUN.  Only the
 * header is checked; attributes are the codec's job.
 */
enum sl_parse_rc sl_stun_peek(const uint8_t *buf, size_t len,
	    struct sl_stun_hdr *out) SL_NONNULL(1, 3);

/* Method and class of a message type, and back (RFC 8489 section 5). */
static inline uint16_t
sl_stun_method(uint16_t type)
{
	return (uint16_t)((type & 0x000f) | (type & 0x00e0) >> 1 |
	    (type & 0x3e00) >> 2);
}

static inline enum sl_stun_class
sl_stun_class(uint16_t type)
{
	return (enum sl_stun_class)((type & 0x0100) >> 7 |
	    (type & 0x0010) >> 4);
}

static inline uint16_t
sl_stun_type(uint16_t method, enum sl_stun_class cls)
{
	return (uint16_t)((method & 0x000f) | (method & 0x0070) << 1 |
	    (method & 0x0f80) << 2 | ((unsigned)cls & 2) << 7 |
	    ((unsigned)cls & 1) << 4);
}

/* --- msg.c: one whole message --------------------------------------- */

/*
 * A parsed message.  Everything points into the caller's buffer, which
 * must outlive it.  Offsets are of an attribute's header from the start
 * of the message; 0 means absent (the STUN header sits there).
 */
struct sl_stun_msg {
	const uint8_t	*buf;		/* borrowed: the message */
	size_t		 len;		/* 20 + header length */
	uint16_t	 type;
	const uint8_t	*txid;		/* borrowed: 12 bytes inside buf */
	size_t		 mi_off;	/* MESSAGE-INTEGRITY */
	size_t		 mi256_off;	/* MESSAGE-INTEGRITY-SHA256 */
	size_t		 fp_off;	/* FINGERPRINT */
	size_t		 tail;		/* attributes from here on are ignored,
					 * but for the three above */
	/* Comprehension-required types this codec does not know, in order
	 * (RFC 8489 section 14: a request with any gets a 420). */
	uint16_t	 unknown[SL_STUN_UNKNOWN_MAX];
	unsigned	 n_unknown;	/* may exceed SL_STUN_UNKNOWN_MAX */
	const char	*err;		/* SL_PARSE_BAD: static reason */
};

/* One attribute as it is on the wire (value without its padding). */
struct sl_stun_attr {
	uint16_t	 type;
	uint16_t	 len;
	const uint8_t	*val;		/* borrowed: inside the message */
	size_t		 off;		/* of the attribute's header */
};

/*
 * Parse one whole message: a UDP datagram, or a frame sl_stun_frame_next
 * cut from a stream.  Checks the header (as sl_stun_peek), that buf is
 * exactly the length the header says, that every attribute and its
 * padding lies inside it, the lengths of MESSAGE-INTEGRITY (20),
 * MESSAGE-INTEGRITY-SHA256 (16 to 32, a multiple of 4) and FINGERPRINT
 * (4), and that FINGERPRINT is last (RFC 8489 sections 14.5-14.7).
 * Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT, and after MESSAGE-INTEGRITY-SHA256 other than
 * FINGERPRINT, are walked for bounds and then ignored.  Neither integrity
 * nor fingerprint values are checked here (sl_stun_msg_integrity,
 * sl_stun_msg_fingerprint).
 *
 * SL_PARSE_OK, SL_PARSE_NOT_MINE (not a STUN header), or SL_PARSE_BAD with
 * m->err; never SL_PARSE_MORE (a short buffer is BAD: it is a message).
 * A BAD message with a whole header keeps m->type and m->txid (for a 400
 * response); it has no attributes (sl_stun_attr_next finds none).
 */
enum sl_parse_rc sl_stun_msg_parse(const uint8_t *buf, size_t len,
	    struct sl_stun_msg *m) SL_NONNULL(1, 3) SL_WUR;

/*
 * The next attribute that counts (those sl_stun_msg_parse ignores are
 * skipped), in wire order.  *pos starts at 0 and is advanced.  Returns 0
 * with *a filled in, -1 at the end.
 */
int	sl_stun_attr_next(const struct sl_stun_msg *m, size_t *pos,
	    struct sl_stun_attr *a) SL_NONNULL(1, 2, 3);

/* The first attribute of a type that counts (RFC 8489 section 14: later
 * ones need not be processed).  0, or -1 when there is none. */
int	sl_stun_attr_find(const struct sl_stun_msg *m, uint16_t type,
	    struct sl_stun_attr *a) SL_NONNULL(1, 3);

/* --- attr.c: typed values, each 0 or -1 (malformed) ----------------- */

/*
 * An address attribute (RFC 8489 sections 14.1, 14.2): XOR-MAPPED-,
 * XOR-PEER- and XOR-RELAYED-ADDRESS are XORed with the cookie and the
 * transaction id, any other type (MAPPED-ADDRESS, ALTERNATE-SERVER) is
 * read as it is.  Family 1 with 8 bytes or 2 with 20.  An IPv4-mapped
 * IPv6 address comes out as IPv4 (lib/addr.h: the one canonical form
 * policy sees).
 */
int	sl_stun_attr_addr(const struct sl_stun_msg *m,
	    const struct sl_stun_attr *a, struct sl_ip *ip, uint16_t *port)
	    SL_NONNULL(1, 2, 3, 4) SL_WUR;

/*
 * A text attribute, not NUL-terminated, not checked for UTF-8 (loggers
 * escape): USERNAME under 513 bytes (RFC 5389 15.3; RFC 8489 14.3 says
 * 509 to senders), REALM, NONCE, SOFTWARE at most 763 (RFC 8489 14.9,
 * 14.10, 14.14).  Other types: any length.
 */
int	sl_stun_attr_text(const struct sl_stun_attr *a, const char **s,
	    size_t *len) SL_NONNULL(1, 2, 3) SL_WUR;

/* A 4-byte number: LIFETIME (RFC 8656 18.2), PRIORITY. */
int	sl_stun_attr_u32(const struct sl_stun_attr *a, uint32_t *v)
	    SL_NONNULL(1, 2) SL_WUR;

/* CHANNEL-NUMBER (RFC 8656 18.1): 0x4000 to 0x4fff. */
int	sl_stun_attr_channel(const struct sl_stun_attr *a, uint16_t *ch)
	    SL_NONNULL(1, 2) SL_WUR;

/* REQUESTED-TRANSPORT (RFC 8656 18.7): the IP protocol number (17). */
int	sl_stun_attr_transport(const struct sl_stun_attr *a, uint8_t *proto)
	    SL_NONNULL(1, 2) SL_WUR;

/* ERROR-CODE (RFC 8489 14.8): code 300 to 699, reason up to 763 bytes. */
int	sl_stun_attr_error(const struct sl_stun_attr *a, unsigned *code,
	    const char **reason, size_t *len) SL_NONNULL(1, 2, 3, 4) SL_WUR;

/* --- integrity.c ----------------------------------------------------- */

enum sl_stun_check {
	SL_STUN_CHECK_OK = 0,
	SL_STUN_CHECK_ABSENT,	/* the message has no such attribute */
	SL_STUN_CHECK_FAIL,	/* wrong value (or OpenSSL failed) */
};

/*
 * Verify MESSAGE-INTEGRITY (type SL_STUN_A_MESSAGE_INTEGRITY, HMAC-SHA1)
 * or MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, maybe truncated) with key:
 * the short-term password, or a long-term key (sl_stun_key_long_term).
 * The HMAC covers the message up to the attribute, with the header's
 * length as if the attribute ended the message (RFC 8489 14.5, 14.6).
 */
enum sl_stun_check sl_stun_msg_integrity(const struct sl_stun_msg *m,
	    uint16_t type, const uint8_t *key, size_t keylen)
	    SL_NONNULL(1, 3);

/* Verify FINGERPRINT: CRC-32 of what precedes it XOR 0x5354554e (14.7). */
enum sl_stun_check sl_stun_msg_fingerprint(const struct sl_stun_msg *m)
	    SL_NONNULL(1);

/* PASSWORD-ALGORITHM values (RFC 8489 18.5). */
enum sl_stun_pwalg {
	SL_STUN_PWALG_MD5 = 1,
	SL_STUN_PWALG_SHA256 = 2,
};

/*
 * The long-term credential key (RFC 8489 9.2.2): MD5 or SHA-256 of
 * "username:realm:password".  The caller has already applied OpaqueString
 * (SASLprep) to realm and password.  key holds SL_STUN_KEY_MAX bytes;
 * returns the key's length (16 or 32), or -1.
 */
int	sl_stun_key_long_term(enum sl_stun_pwalg alg, const char *user,
	    size_t ulen, const char *realm, size_t rlen, const char *pass,
	    size_t plen, uint8_t *key) SL_NONNULL(2, 4, 6, 8) SL_WUR;

/* --- enc.c: write a message into a caller's buffer ------------------- */

/*
 * An encoder.  Each call appends an attribute and keeps the header's
 * length right; one that does not fit sets err and every later call does
 * nothing, so a caller checks once, at sl_stun_enc_end.
 */
struct sl_stun_enc {
	uint8_t		*buf;		/* borrowed: the caller's buffer */
	size_t		 cap;
	size_t		 len;
	int		 err;
};

/* Start a message: the header alone.  txid is copied. */
void	sl_stun_enc_init(struct sl_stun_enc *e, uint8_t *buf, size_t cap,
	    uint16_t type, const uint8_t *txid) SL_NONNULL(1, 2, 5);
/* Any attribute; val copied and zero-padded.  val may be NULL if len 0. */
void	sl_stun_enc_attr(struct sl_stun_enc *e, uint16_t type, const void *val,
	    size_t len) SL_NONNULL(1);
/* An address attribute, XORed as sl_stun_attr_addr reads it. */
void	sl_stun_enc_addr(struct sl_stun_enc *e, uint16_t type,
	    const struct sl_ip *ip, uint16_t port) SL_NONNULL(1, 3);
/* ERROR-CODE 300..699 with a reason phrase. */
void	sl_stun_enc_error(struct sl_stun_enc *e, unsigned code,
	    const char *reason) SL_NONNULL(1, 3);
/* MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 (32 bytes) with key. */
void	sl_stun_enc_integrity(struct sl_stun_enc *e, uint16_t type,
	    const uint8_t *key, size_t keylen) SL_NONNULL(1, 3);
/* FINGERPRINT; nothing may follow it. */
void	sl_stun_enc_fingerprint(struct sl_stun_enc *e) SL_NONNULL(1);
/* The message's length, or -1 if something did not fit or failed. */
long	sl_stun_enc_end(const struct sl_stun_enc *e) SL_NONNULL(1) SL_WUR;

/* --- frame.c: TURN ChannelData and streams --------------------------- */

#define SL_STUN_CHAN_MIN	0x4000
#define SL_STUN_CHAN_MAX	0x4fff
#define SL_STUN_CHAN_HDR_LEN	4

struct sl_stun_chan {
	uint16_t	 channel;
	uint16_t	 len;		/* application data bytes */
	const uint8_t	*data;		/* borrowed: inside the buffer */
	const char	*err;		/* SL_PARSE_BAD: static reason */
};

/* sl_stun_chan_parse flags */
#define SL_STUN_CHAN_STREAM	0x1	/* over TCP/TLS: padding required */
#define SL_STUN_CHAN_RFC5766	0x2	/* channels up to 0x7fff too */

/*
 * Parse one whole ChannelData message (RFC 8656 section 12.4): channel
 * 0x4000-0x4fff, data of the stated length, padding to 4 bytes.  With
 * SL_STUN_CHAN_STREAM: over TCP/TLS the padding is there and buf holds
 * exactly the message (sl_stun_frame_next cut it); without (UDP) padding
 * may or may not follow, nothing else may (12.5).  With
 * SL_STUN_CHAN_RFC5766 the channels 0x5000-0x7fff are accepted as RFC
 * 5766 allowed (RFC 8656 reserves them; coturn 4.6 still binds them and
 * its client picks from the whole range).  SL_PARSE_OK, SL_PARSE_NOT_MINE
 * (first two bits not 01), or SL_PARSE_BAD with out->err.
 */
enum sl_parse_rc sl_stun_chan_parse(const uint8_t *buf, size_t len,
	    unsigned flags, struct sl_stun_chan *out) SL_NONNULL(1, 4) SL_WUR;

enum sl_stun_frame_kind {
	SL_STUN_FRAME_STUN = 0,
	SL_STUN_FRAME_CHANNEL,
};

struct sl_stun_frame {
	enum sl_stun_frame_kind	 kind;
	size_t			 len;	/* bytes of the frame, padding in */
	const char		*err;	/* SL_PARSE_BAD: static reason */
};

/*
 * The next frame of a STUN/TURN byte stream over TCP or TLS (RFC 8489
 * 6.2.2, RFC 8656 12.5): STUN messages and padded ChannelData back to
 * back, told apart by the first two bits.  SL_PARSE_OK with out->len
 * (the frame is buf[0, len), to be parsed by sl_stun_msg_parse or
 * sl_stun_chan_parse), SL_PARSE_MORE when buf holds only part of it, or
 * SL_PARSE_BAD with out->err: anything else at a frame boundary (the
 * stream cannot be resynchronised), a reserved channel number, or a frame
 * longer than cap, said as soon as its header is there.
 */
enum sl_parse_rc sl_stun_frame_next(const uint8_t *buf, size_t len,
	    size_t cap, struct sl_stun_frame *out) SL_NONNULL(1, 4) SL_WUR;

#endif /* SL_STUN_H */
