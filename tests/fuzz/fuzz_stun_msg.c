/*
 * fuzz_stun_msg.c — the STUN codec (sl_stun_msg_parse, the attribute
 * walk, the typed decoders, integrity and fingerprint, the encoder) and
 * sl_stun_chan_parse on arbitrary bytes.  Beyond memory safety it checks,
 * aborting if not:
 *
 *   - the verdict agrees with the header check: NOT_MINE exactly when
 *     sl_stun_peek says so, OK only for exactly 20 + length bytes, and no
 *     shorter prefix is OK; BAD comes with a reason;
 *   - every attribute the walk returns lies inside the message, in wire
 *     order, the integrity attributes among them and FINGERPRINT last;
 *     find returns the first of its type;
 *   - re-encoding what counts (the encoder recomputing integrity and
 *     fingerprint with a key of its own) parses to the same attributes,
 *     the same unknown types, and verifies;
 *   - an address that decodes re-encodes to one that decodes the same;
 *   - ChannelData that parses has a channel in range and its data inside.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "stun/stun.h"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAD4(n)		(((size_t)(n) + 3) & ~(size_t)3)

static const uint8_t fuzz_key[] = "fuzz key";

static int
is_integrity(uint16_t type)
{
	return type == SL_STUN_A_MESSAGE_INTEGRITY ||
	    type == SL_STUN_A_MESSAGE_INTEGRITY_SHA256;
}

/* Parse an exactly-sized copy of the first n bytes. */
static enum sl_parse_rc
parse_prefix(const uint8_t *data, size_t n)
{
	uint8_t *copy = malloc(n > 0 ? n : 1);
	struct sl_stun_msg m;
	enum sl_parse_rc rc;

	FZ_CHECK(copy != NULL);
	memcpy(copy, data, n);
	rc = sl_stun_msg_parse(copy, n, &m);
	free(copy);
	return rc;
}

/* The walk: bounds, order, and where the integrity attributes are. */
static void
check_walk(const struct sl_stun_msg *m)
{
	struct sl_stun_attr a, f;
	size_t pos = 0, last = 0, seen_mi = 0, seen_mi256 = 0, seen_fp = 0;

	while (sl_stun_attr_next(m, &pos, &a) == 0) {
		FZ_CHECK(a.off >= SL_STUN_HDR_LEN && a.off > last);
		FZ_CHECK(a.off + 4 + PAD4(a.len) <= m->len);
		FZ_CHECK(a.val == m->buf + a.off + 4);
		FZ_CHECK(pos == a.off + 4 + PAD4(a.len));
		FZ_CHECK(a.off < m->tail || a.off == m->mi_off ||
		    a.off == m->mi256_off || a.off == m->fp_off);
		FZ_CHECK(sl_stun_attr_find(m, a.type, &f) == 0);
		FZ_CHECK(f.off <= a.off);
		seen_mi |= a.off == m->mi_off;
		seen_mi256 |= a.off == m->mi256_off;
		seen_fp |= a.off == m->fp_off;
		last = a.off;
	}
	FZ_CHECK(m->mi_off == 0 || seen_mi);
	FZ_CHECK(m->mi256_off == 0 || seen_mi256);
	FZ_CHECK(m->fp_off == 0 || (seen_fp && m->fp_off + 8 == m->len));
	FZ_CHECK(m->mi_off == 0 || m->mi256_off == 0 ||
	    m->mi_off < m->mi256_off);
}

/* Decode an address, encode it again, decode that: the same. */
static void
check_addr(const struct sl_stun_msg *m, const struct sl_stun_attr *a)
{
	struct sl_stun_enc e;
	struct sl_stun_msg r;
	struct sl_stun_attr ra;
	struct sl_ip ip, rip;
	uint16_t port, rport;
	uint8_t b[64];
	long n;

	if (sl_stun_attr_addr(m, a, &ip, &port) == -1) {
		FZ_CHECK(ip.af == 0);
		return;
	}
	FZ_CHECK(ip.af == AF_INET || ip.af == AF_INET6);
	/* These three have lengths of their own: not as addresses. */
	if (is_integrity(a->type) || a->type == SL_STUN_A_FINGERPRINT)
		return;
	sl_stun_enc_init(&e, b, sizeof(b), m->type, m->txid);
	sl_stun_enc_addr(&e, a->type, &ip, port);
	FZ_CHECK((n = sl_stun_enc_end(&e)) > 0);
	FZ_CHECK(sl_stun_msg_parse(b, (size_t)n, &r) == SL_PARSE_OK);
	FZ_CHECK(sl_stun_attr_find(&r, a->type, &ra) == 0);
	FZ_CHECK(sl_stun_attr_addr(&r, &ra, &rip, &rport) == 0);
	FZ_CHECK(sl_ip_equal(&ip, &rip) && port == rport);
}

/* Every decoder on every attribute: bounded results, no crash. */
static void
check_values(const struct sl_stun_msg *m)
{
	struct sl_stun_attr a;
	size_t pos = 0, n;
	const char *s;
	uint32_t u;
	uint16_t ch;
	uint8_t proto;
	unsigned code;

	while (sl_stun_attr_next(m, &pos, &a) == 0) {
		check_addr(m, &a);
		if (sl_stun_attr_text(&a, &s, &n) == 0)
			FZ_CHECK(s == (const char *)a.val && n == a.len);
		if (sl_stun_attr_u32(&a, &u) == 0)
			FZ_CHECK(a.len == 4);
		if (sl_stun_attr_channel(&a, &ch) == 0)
			FZ_CHECK(ch >= SL_STUN_CHAN_MIN &&
			    ch <= SL_STUN_CHAN_MAX);
		if (sl_stun_attr_transport(&a, &proto) == 0)
			FZ_CHECK(a.len == 4);
		if (sl_stun_attr_error(&a, &code, &s, &n) == 0)
			FZ_CHECK(code >= 300 && code <= 699 &&
			    s + n == (const char *)a.val + a.len);
	}
	(void)sl_stun_msg_integrity(m, SL_STUN_A_MESSAGE_INTEGRITY, fuzz_key,
	    sizeof(fuzz_key) - 1);
	(void)sl_stun_msg_integrity(m, SL_STUN_A_MESSAGE_INTEGRITY_SHA256,
	    fuzz_key, sizeof(fuzz_key) - 1);
	(void)sl_stun_msg_fingerprint(m);
}

/* Re-encode what counts; the copy parses to the same and verifies. */
static void
check_reencode(const struct sl_stun_msg *m)
{
	static uint8_t b[SL_STUN_MSG_MAX];
	struct sl_stun_enc e;
	struct sl_stun_msg r;
	struct sl_stun_attr a, ra;
	size_t pos = 0, rpos = 0;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), m->type, m->txid);
	while (sl_stun_attr_next(m, &pos, &a) == 0) {
		if (is_integrity(a.type))
			sl_stun_enc_integrity(&e, a.type, fuzz_key,
			    sizeof(fuzz_key) - 1);
		else if (a.type == SL_STUN_A_FINGERPRINT)
			sl_stun_enc_fingerprint(&e);
		else
			sl_stun_enc_attr(&e, a.type, a.val, a.len);
	}
	/* A truncated MESSAGE-INTEGRITY-SHA256 comes back whole (32). */
	if ((n = sl_stun_enc_end(&e)) == -1) {
		FZ_CHECK(m->mi256_off != 0 && m->len + 16 > SL_STUN_MSG_MAX);
		return;
	}
	FZ_CHECK(sl_stun_msg_parse(b, (size_t)n, &r) == SL_PARSE_OK);
	FZ_CHECK(r.type == m->type && memcmp(r.txid, m->txid, 12) == 0);
	FZ_CHECK(r.n_unknown == m->n_unknown);
	FZ_CHECK(memcmp(r.unknown, m->unknown, sizeof(r.unknown)) == 0);
	pos = 0;
	while (sl_stun_attr_next(m, &pos, &a) == 0) {
		FZ_CHECK(sl_stun_attr_next(&r, &rpos, &ra) == 0);
		FZ_CHECK(ra.type == a.type);
		if (is_integrity(a.type) || a.type == SL_STUN_A_FINGERPRINT)
			continue;
		FZ_CHECK(ra.len == a.len && memcmp(ra.val, a.val, a.len) == 0);
	}
	FZ_CHECK(sl_stun_attr_next(&r, &rpos, &ra) == -1);
	FZ_CHECK((r.mi_off != 0) == (m->mi_off != 0));
	FZ_CHECK((r.mi256_off != 0) == (m->mi256_off != 0));
	FZ_CHECK((r.fp_off != 0) == (m->fp_off != 0));
	FZ_CHECK(r.mi_off == 0 || sl_stun_msg_integrity(&r,
	    SL_STUN_A_MESSAGE_INTEGRITY, fuzz_key, sizeof(fuzz_key) - 1) ==
	    SL_STUN_CHECK_OK);
	FZ_CHECK(r.mi256_off == 0 || sl_stun_msg_integrity(&r,
	    SL_STUN_A_MESSAGE_INTEGRITY_SHA256, fuzz_key,
	    sizeof(fuzz_key) - 1) == SL_STUN_CHECK_OK);
	FZ_CHECK(r.fp_off == 0 ||
	    sl_stun_msg_fingerprint(&r) == SL_STUN_CHECK_OK);
}

static void
check_chan(const uint8_t *data, size_t size)
{
	struct sl_stun_chan c;

	for (unsigned flags = 0; flags <= (SL_STUN_CHAN_STREAM |
	    SL_STUN_CHAN_RFC5766); flags++) {
		int stream = (flags & SL_STUN_CHAN_STREAM) != 0;
		enum sl_parse_rc rc = sl_stun_chan_parse(data, size, flags,
		    &c);

		FZ_CHECK(rc != SL_PARSE_MORE);
		FZ_CHECK((rc == SL_PARSE_BAD) == (c.err != NULL));
		if (rc != SL_PARSE_OK)
			continue;
		FZ_CHECK(c.channel >= SL_STUN_CHAN_MIN && c.channel <=
		    ((flags & SL_STUN_CHAN_RFC5766) ? 0x7fff :
		    SL_STUN_CHAN_MAX));
		FZ_CHECK(c.data == data + 4 && 4 + (size_t)c.len <= size);
		FZ_CHECK(size <= 4 + PAD4(c.len));
		FZ_CHECK(!stream || size == 4 + PAD4(c.len));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_stun_hdr h;
	struct sl_stun_msg m;
	enum sl_parse_rc rc = sl_stun_msg_parse(data, size, &m);

	check_chan(data, size);
	FZ_CHECK((rc == SL_PARSE_NOT_MINE) ==
	    (sl_stun_peek(data, size, &h) == SL_PARSE_NOT_MINE));
	FZ_CHECK(rc != SL_PARSE_MORE);
	FZ_CHECK((rc == SL_PARSE_BAD) == (m.err != NULL));
	if (rc != SL_PARSE_OK) {
		/* Nothing of a refused message can be walked or checked. */
		struct sl_stun_attr a;
		size_t pos = 0;

		FZ_CHECK(sl_stun_attr_next(&m, &pos, &a) == -1);
		FZ_CHECK(sl_stun_msg_fingerprint(&m) == SL_STUN_CHECK_ABSENT);
		FZ_CHECK(sl_stun_msg_integrity(&m,
		    SL_STUN_A_MESSAGE_INTEGRITY, fuzz_key, 1) ==
		    SL_STUN_CHECK_ABSENT);
		return 0;
	}
	FZ_CHECK(m.buf == data && m.len == size);
	FZ_CHECK(size == SL_STUN_HDR_LEN + (size_t)h.length);
	FZ_CHECK(parse_prefix(data, size - 1) != SL_PARSE_OK);
	check_walk(&m);
	check_values(&m);
	check_reencode(&m);
	return 0;
}
