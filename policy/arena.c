/*
 * arena.c — one bump allocator per configuration.
 *
 * A configuration is built once and freed once, and holds many small
 * objects (rule names, values, index arrays).  Allocating them from a few
 * large chunks makes loading fast, keeps them close in memory for the
 * decision path, and makes freeing a failed or released configuration one
 * loop.  Chunks come from sl_alloc so `make test-oom` reaches them.
 */
#include <stdint.h>
#include <string.h>

#include "../lib/alloc.h"
#include "policy_int.h"

#define PA_CHUNK	(64 * 1024)
#define PA_ALIGN	16

struct pol_chunk {
	struct pol_chunk *next;
	size_t		 size;		/* usable bytes after the header */
	size_t		 off;
	_Alignas(16) unsigned char data[];
};

void *
pa_alloc(struct pol_arena *a, size_t n)
{
	struct pol_chunk *c = a->head;
	void *p;

	n = (n + PA_ALIGN - 1) & ~(size_t)(PA_ALIGN - 1);
	if (n == 0)
		n = PA_ALIGN;
	if (c == NULL || c->size - c->off < n) {
		/* Big requests get a chunk of their own, in front only if
		 * the current chunk is nearly used up, so small allocations
		 * keep filling it. */
		size_t sz = n > PA_CHUNK / 4 ? n : PA_CHUNK;

		if (n > SIZE_MAX - sizeof(*c) - PA_ALIGN) {
			a->failed = 1;
			return NULL;
		}
		c = sl_alloc(sizeof(*c) + sz);
		if (c == NULL) {
			a->failed = 1;
			return NULL;
		}
		c->size = sz;
		c->off = 0;
		if (a->head != NULL && sz != PA_CHUNK &&
		    a->head->size - a->head->off >= 256) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->reserved += sizeof(*c) + sz;
	}
	p = c->data + c->off;
	c->off += n;
	a->used += n;
	memset(p, 0, n);
	return p;
}

char *
pa_strndup(struct pol_arena *a, const char *s, size_t n)
{
	char *p = pa_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
pa_strdup(struct pol_arena *a, const char *s)
{
	return pa_strndup(a, s, strlen(s));
}

int
pa_grow(struct pol_arena *a, void *vp, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *v, *nv;

	if (n < *cap)
		return 0;
	/* memcpy, not a void ** cast: *vp is some T *, and reading it
	 * through another pointer type would break strict aliasing. */
	memcpy(&v, vp, sizeof(v));
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / sz)
		return -1;
	if ((nv = pa_alloc(a, ncap * sz)) == NULL)
		return -1;
	if (v != NULL)
		memcpy(nv, v, *cap * sz);
	memcpy(vp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}

void
pa_free(struct pol_arena *a)
{
	struct pol_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		sl_free(c);
	}
	memset(a, 0, sizeof(*a));
}
