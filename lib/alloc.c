/*
 * alloc.c — malloc wrappers with an allocation-failure hook for OOM tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/*
 * Test-only state.  Threads never arm it: the OOM tests are single-threaded
 * unit tests, so relaxed atomics are enough to keep TSan-style tools quiet.
 */
static unsigned long	alloc_count;
static unsigned long	alloc_fail_n;

static int
alloc_should_fail(void)
{
	unsigned long n;

	if (SL_LIKELY(__atomic_load_n(&alloc_fail_n, __ATOMIC_RELAXED) == 0))
		return 0;
	n = __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED);
	return n == __atomic_load_n(&alloc_fail_n, __ATOMIC_RELAXED);
}

unsigned long
sl_alloc_fail_at(unsigned long n)
{
	unsigned long was = __atomic_exchange_n(&alloc_count, 0,
	    __ATOMIC_RELAXED);

	__atomic_store_n(&alloc_fail_n, n, __ATOMIC_RELAXED);
	return was;
}

void *
sl_alloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *
sl_calloc(size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	if (alloc_should_fail())
		return NULL;
	return calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz);
}

void *
sl_realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

char *
sl_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = sl_alloc(len + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *
sl_strdup(const char *s)
{
	return sl_strndup(s, SIZE_MAX);
}

void
sl_free(void *p)
{
	free(p);
}
