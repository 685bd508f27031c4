/*
 * sbuf.c — growable printf string.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "sbuf.h"

void
sl_sbuf_printf(struct sl_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = b->cap * 2 + (size_t)n + 64;
			char *ns = sl_realloc(b->s, ncap);

			if (ns == NULL) {
				b->oom = 1;
				return;
			}
			b->s = ns;
			b->cap = ncap;
		}
	}
}

void
sl_sbuf_free(struct sl_sbuf *b)
{
	if (b == NULL)
		return;
	sl_free(b->s);
	memset(b, 0, sizeof(*b));
}
