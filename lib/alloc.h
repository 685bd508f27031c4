/*
 * alloc.h — the one allocator every module uses.
 *
 * Going through sl_alloc() lets `make test-oom` fail the Nth allocation of a
 * unit test (SL_ALLOC_FAIL_AT) to prove that every constructor unwinds
 * cleanly.  In the daemon the failure hook is never armed.
 */
#ifndef SL_ALLOC_H
#define SL_ALLOC_H

#include <stddef.h>

#include "attr.h"

void	*sl_alloc(size_t n) SL_WUR;		/* uninitialised, like malloc */
void	*sl_calloc(size_t n, size_t sz) SL_WUR;	/* zeroed; checks n * sz */
void	*sl_realloc(void *p, size_t n) SL_WUR;
char	*sl_strdup(const char *s) SL_WUR SL_NONNULL(1);
char	*sl_strndup(const char *s, size_t n) SL_WUR SL_NONNULL(1);
void	 sl_free(void *p);			/* NULL is a no-op */

/*
 * Test hook: make the n-th allocation from now fail (0 disarms).  Returns
 * how many allocations have been made since the last call.
 */
unsigned long	sl_alloc_fail_at(unsigned long n);

#endif /* SL_ALLOC_H */
