/*
 * xorshift.h — a small seeded PRNG (xorshift64*) for generated test data
 * and benchmarks: reproducible from a printed seed, no libc state.
 */
#ifndef SL_TEST_XORSHIFT_H
#define SL_TEST_XORSHIFT_H

#include <stdint.h>

struct rng {
	uint64_t s;	/* never 0 */
};

static inline uint64_t
rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform enough in [0, n) for test data (n > 0). */
static inline unsigned
rn(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

#endif /* SL_TEST_XORSHIFT_H */
