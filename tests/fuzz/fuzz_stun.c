/*
 * fuzz_stun.c — sl_stun_peek on arbitrary bytes: memory safety, and the
 * verdict rules of stun.h (OK means a 20-byte header with zero top bits,
 * the magic cookie and a 4-aligned length; a verdict on a prefix is the
 * verdict on the whole; MORE only under 20 bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_stun_hdr h, p;
	enum sl_parse_rc rc = sl_stun_peek(data, size, &h), prc;

	switch (rc) {
	case SL_PARSE_OK:
		CHECK(size >= SL_STUN_HDR_LEN);
		CHECK((h.type & 0xc000) == 0 && (h.length & 3) == 0);
		CHECK(data[4] == 0x21 && data[5] == 0x12 && data[6] == 0xa4 &&
		    data[7] == 0x42);
		CHECK(memcmp(h.txid, data + 8, 12) == 0);
		break;
	case SL_PARSE_MORE:
		CHECK(size < SL_STUN_HDR_LEN);
		break;
	case SL_PARSE_NOT_MINE:
		CHECK(size > 0);
		break;
	default:
		abort();	/* the header check never says BAD */
	}
	for (size_t k = 0; k < size && k <= SL_STUN_HDR_LEN; k++) {
		uint8_t *copy = malloc(k > 0 ? k : 1);

		CHECK(copy != NULL);
		memcpy(copy, data, k);
		prc = sl_stun_peek(copy, k, &p);
		free(copy);
		CHECK(prc == SL_PARSE_MORE || prc == rc);
	}
	return 0;
}
