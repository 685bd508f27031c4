/*
 * fuzz_tls_peek.c — sl_tls_peek_parse on arbitrary bytes.  Beyond memory
 * safety (ASan) it checks what the proxy relies on, aborting if not:
 *
 *   - a verdict other than MORE on a prefix is the verdict on the whole
 *     (the proxy decides on a growing peek buffer);
 *   - MORE is never returned once cap bytes are there;
 *   - OK: consumed is within the buffer and the cap, bytes past it do not
 *     matter, one byte less is MORE; strings are bounded and lowercase;
 *   - BAD comes with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/tls.h"
#include "fz_hello.h"

#define FUZZ_CAP	(16 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/* Parse an exactly-sized copy of the first n bytes. */
static enum sl_parse_rc
parse_prefix(const uint8_t *data, size_t n, size_t cap,
    struct sl_tls_hello *h)
{
	uint8_t *copy = malloc(n > 0 ? n : 1);
	enum sl_parse_rc rc;

	CHECK(copy != NULL);
	memcpy(copy, data, n);
	rc = sl_tls_peek_parse(copy, n, cap, h);
	free(copy);
	return rc;
}

static void
check_hello(const struct sl_tls_hello *h, size_t size, size_t cap)
{
	fz_check_hello(h);
	CHECK(h->consumed > 0 && h->consumed <= size && h->consumed <= cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_tls_hello h, h2, p;
	enum sl_parse_rc rc, rc2, prc;
	const size_t cuts[] = { 1, 5, 9, size / 2, size > 0 ? size - 1 : 0 };

	rc = sl_tls_peek_parse(data, size, FUZZ_CAP, &h);
	switch (rc) {
	case SL_PARSE_OK:
		check_hello(&h, size, FUZZ_CAP);
		/* Only the records that carry the hello matter. */
		CHECK(parse_prefix(data, h.consumed, FUZZ_CAP, &p) ==
		    SL_PARSE_OK);
		CHECK(memcmp(&p, &h, sizeof(p)) == 0);
		CHECK(parse_prefix(data, h.consumed - 1, FUZZ_CAP, &p) ==
		    SL_PARSE_MORE);
		/* A cap of exactly consumed is enough, one less is not. */
		CHECK(parse_prefix(data, size, h.consumed, &p) == SL_PARSE_OK);
		CHECK(parse_prefix(data, size, h.consumed - 1, &p) ==
		    SL_PARSE_BAD);
		break;
	case SL_PARSE_MORE:
		CHECK(size < FUZZ_CAP);
		break;
	case SL_PARSE_BAD:
		CHECK(h.err != NULL && h.err[0] != '\0');
		break;
	case SL_PARSE_NOT_MINE:
		CHECK(size > 0);
		break;
	default:
		abort();
	}
	/*
	 * A proxy that stops at a smaller cap hears what it would have heard
	 * with more bytes in hand (caps from a record header up).
	 */
	if (size >= 5) {
		size_t cap = 5 + (size - 5) / 2;

		prc = parse_prefix(data, cap, cap, &p);
		rc2 = parse_prefix(data, size, cap, &h2);
		CHECK(prc == rc2 && p.err == h2.err);
		CHECK(prc != SL_PARSE_MORE);
		if (rc == SL_PARSE_OK && h.consumed <= cap)
			CHECK(rc2 == SL_PARSE_OK &&
			    memcmp(&h, &h2, sizeof(h)) == 0);
		if (rc2 == SL_PARSE_OK)
			CHECK(rc == SL_PARSE_OK && h.consumed <= cap);
	}
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= size)
			continue;
		prc = parse_prefix(data, cuts[i], FUZZ_CAP, &p);
		if (prc == SL_PARSE_MORE)
			continue;
		CHECK(prc == rc);
		CHECK(prc != SL_PARSE_BAD || strcmp(p.err, h.err) == 0);
	}
	return 0;
}
