/*
 * fz.h — what the fuzz targets share: a failed check is a crash libFuzzer
 * reports, and a hash that turns input bytes into choices.
 */
#ifndef SL_FZ_H
#define SL_FZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FZ_CHECK(c)	do { if (!(c)) abort(); } while (0)

/* FNV-1a: stable across runs, so a saved input replays the same way. */
static inline uint32_t
fz_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

#endif /* SL_FZ_H */
