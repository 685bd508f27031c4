/*
 * exact.h — a copy of a parser's input in a heap block of exactly its
 * size, so that reading one byte past it is an ASan error (make test-san,
 * the fuzz targets) instead of a read of whatever followed in the
 * caller's buffer.
 */
#ifndef SL_TEST_EXACT_H
#define SL_TEST_EXACT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* n bytes of b in a block of their own (free() it); aborts on ENOMEM. */
static inline uint8_t *
exact_copy(const uint8_t *b, size_t n)
{
	uint8_t *copy = malloc(n > 0 ? n : 1);

	if (copy == NULL)
		abort();
	if (n > 0)
		memcpy(copy, b, n);
	return copy;
}

#endif /* SL_TEST_EXACT_H */
