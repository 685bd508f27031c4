/*
 * msg_test.c — STUN header recognition (stun/msg.c) against the RFC 5769
 * test vectors in tests/data/stun/rfc5769-vectors.txt, read and decoded
 * here so the bytes come from the file and not from this test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "stun/stun.h"
#include "tests/unit/t.h"

#define VEC_FILE	"tests/data/stun/rfc5769-vectors.txt"
#define VEC_MAX		8

struct vec {
	char		name[64];
	uint8_t		b[256];
	size_t		n;
	unsigned	type;		/* expect.message-type */
	unsigned	length;		/* expect.header-length-field */
	uint8_t		txid[12];	/* expect.transaction-id */
	size_t		total;		/* length-total */
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "b7 e7 a7 01" or "b7e7a701": hex pairs, spaces allowed between. */
static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s != '\0' && *s != '\n' && *s != '#') {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (hexval(s[0]) < 0 || hexval(s[1]) < 0 || n == max)
			return SIZE_MAX;
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	return n;
}

/* Read every block of the vectors file; returns how many, -1 on error. */
static int
load_vectors(struct vec *v, size_t max)
{
	char *text = t_slurp(VEC_FILE, NULL), *line, *save = NULL;
	int n = -1;			/* index of the block being read */

	if (text == NULL)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "name: ", 6) == 0) {
			if ((size_t)++n == max)
				break;
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].name, sizeof(v[n].name), "%s", line + 6);
		} else if (n < 0) {
			continue;
		} else if (strncmp(line, "hex: ", 5) == 0) {
			v[n].n = unhex(line + 5, v[n].b, sizeof(v[n].b));
		} else if (strncmp(line, "expect.message-type: ", 21) == 0) {
			v[n].type = (unsigned)strtoul(line + 21, NULL, 16);
		} else if (strncmp(line, "expect.header-length-field: ",
		    28) == 0) {
			v[n].length = (unsigned)strtoul(line + 28, NULL, 16);
		} else if (strncmp(line, "expect.transaction-id: ", 23) == 0) {
			if (unhex(line + 23, v[n].txid, 12) != 12)
				v[n].n = SIZE_MAX;
		} else if (strncmp(line, "length-total: ", 14) == 0) {
			v[n].total = strtoul(line + 14, NULL, 10);
		}
	}
	free(text);
	for (int i = 0; i <= n && i < (int)max; i++)
		if (v[i].n == SIZE_MAX || v[i].n != v[i].total)
			return -1;
	return n + 1;
}

T_TEST(stun_rfc5769_vectors_are_read_from_the_file)
{
	struct vec v[VEC_MAX];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	T_EQ(v[0].n, 108);
	T_EQ(v[3].n, 116);
}

T_TEST(stun_rfc5769_headers_ok)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		T_CHECK(sl_stun_peek(v[i].b, v[i].n, &h) == SL_PARSE_OK,
		    "%s", v[i].name);
		T_EQ(h.type, v[i].type);
		T_EQ(h.length, v[i].length);
		T_EQ(h.length + SL_STUN_HDR_LEN, v[i].n);
		T_ASSERT(memcmp(h.txid, v[i].txid, 12) == 0);
		/* The header alone is enough. */
		T_EQ(sl_stun_peek(v[i].b, SL_STUN_HDR_LEN, &h), SL_PARSE_OK);
		T_EQ(h.type, v[i].type);
	}
}

T_TEST(stun_truncated_header_is_more)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < SL_STUN_HDR_LEN; k++) {
			uint8_t *copy = malloc(k > 0 ? k : 1);

			T_ASSERT(copy != NULL);
			memcpy(copy, v[i].b, k);
			T_CHECK(sl_stun_peek(copy, k, &h) == SL_PARSE_MORE,
			    "%s: %zu bytes", v[i].name, k);
			free(copy);
		}
	}
}

T_TEST(stun_bad_magic_is_not_mine_as_soon_as_seen)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (size_t i = 4; i < 8; i++) {
		uint8_t b[SL_STUN_HDR_LEN];

		memcpy(b, v[0].b, sizeof(b));
		b[i] ^= 0x01;
		T_EQ(sl_stun_peek(b, i, &h), SL_PARSE_MORE);
		for (size_t k = i + 1; k <= sizeof(b); k++)
			T_CHECK(sl_stun_peek(b, k, &h) == SL_PARSE_NOT_MINE,
			    "cookie byte %zu, %zu bytes", i, k);
	}
}

/* RFC 8489 5: attributes are padded, so the length is 4-aligned. */
T_TEST(stun_length_not_multiple_of_4_is_not_mine)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (unsigned low = 1; low < 4; low++) {
		uint8_t b[SL_STUN_HDR_LEN];

		memcpy(b, v[1].b, sizeof(b));
		b[3] = (uint8_t)((b[3] & ~3u) | low);
		T_EQ(sl_stun_peek(b, 3, &h), SL_PARSE_MORE);
		T_EQ(sl_stun_peek(b, 4, &h), SL_PARSE_NOT_MINE);
		T_EQ(sl_stun_peek(b, sizeof(b), &h), SL_PARSE_NOT_MINE);
	}
}

T_TEST(stun_top_bits_set_is_not_mine_from_first_byte)
{
	/* TURN ChannelData (RFC 8656 12.4) starts with 0b01. */
	static const uint8_t chan[] = { 0x40, 0x00, 0x00, 0x04 };
	struct sl_stun_hdr h;

	T_EQ(sl_stun_peek(chan, 1, &h), SL_PARSE_NOT_MINE);
	T_EQ(sl_stun_peek((const uint8_t *)"\x80", 1, &h), SL_PARSE_NOT_MINE);
}

T_TEST(stun_other_protocols_are_not_mine)
{
	static const struct {
		const char	*b;
		size_t		 n;
	} other[] = {
		{ "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 32 },
		{ "SSH-2.0-OpenSSH_9.2\r\n", 21 },
		{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11 },
		{ "\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03", 11 },
		{ "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20 },
	};
	struct sl_stun_hdr h;

	for (size_t i = 0; i < SL_NELEM(other); i++)
		T_CHECK(sl_stun_peek((const uint8_t *)other[i].b, other[i].n,
		    &h) == SL_PARSE_NOT_MINE, "case %zu", i);
}

T_TEST(stun_empty_message_header_only)
{
	/* A Binding request with no attributes is just a header. */
	static const uint8_t b[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4,
	    0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct sl_stun_hdr h;

	T_EQ(sl_stun_peek(b, sizeof(b), &h), SL_PARSE_OK);
	T_EQ(h.type, 0x0001);
	T_EQ(h.length, 0);
	T_EQ(h.txid[11], 12);
}
