/*
 * queue.c — a single-producer single-consumer ring of variable-length
 * records, the queue between one producer and one sink.
 *
 * A ring holds records [u32 length][bytes], padded to 4 bytes.  A record
 * never wraps: one that does not fit before the end leaves a skip marker
 * and starts over at offset 0.  The producer owns `head`, the consumer
 * owns `tail`; each publishes its own with a release store and reads the
 * other's with an acquire load, so no lock is taken.
 */
#include <string.h>

#include "../../lib/alloc.h"
#include "sink_int.h"

#define RING_SKIP	0xffffffffu	/* "wrap to the start" marker */
#define RING_LINE	64		/* cache line */

struct sl_evring {
	char		*buf;
	size_t		 cap;		/* power of two */
	/* producer */
	size_t		 head;		/* next write offset, published */
	size_t		 pend;		/* head after the reserved record */
	uint64_t	 dropped;	/* written by the producer only */
	/* The consumer's index on its own cache line: the two threads do
	 * not invalidate each other's line on every record. */
	char		 pad[RING_LINE];
	size_t		 tail;		/* next read offset, published */
};

static size_t
ring_need(size_t len)
{
	return (4 + len + 3) & ~(size_t)3;
}

struct sl_evring *
sl_evring_new(size_t bytes)
{
	struct sl_evring *r;
	size_t cap = SL_EVRING_MIN;

	while (cap < bytes)
		cap <<= 1;
	if ((r = sl_calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->buf = sl_alloc(cap)) == NULL) {
		sl_free(r);
		return NULL;
	}
	r->cap = cap;
	return r;
}

void
sl_evring_free(struct sl_evring *r)
{
	if (r == NULL)
		return;
	sl_free(r->buf);
	sl_free(r);
}

void *
sl_evring_reserve(struct sl_evring *r, size_t len)
{
	size_t need = ring_need(len), head = r->head;
	size_t off = head & (r->cap - 1), room = r->cap - off;
	size_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint32_t l32 = (uint32_t)len;

	if (need > r->cap / 2 ||
	    head - tail + need + (room < need ? room : 0) > r->cap)
		return NULL;
	if (room < need) {
		uint32_t skip = RING_SKIP;

		/* off is 4-aligned, so the marker always fits. */
		memcpy(r->buf + off, &skip, 4);
		head += room;
		off = 0;
	}
	memcpy(r->buf + off, &l32, 4);
	r->pend = head + need;
	return r->buf + off + 4;
}

void
sl_evring_commit(struct sl_evring *r)
{
	__atomic_store_n(&r->head, r->pend, __ATOMIC_RELEASE);
}

void
sl_evring_drop(struct sl_evring *r)
{
	__atomic_store_n(&r->dropped, r->dropped + 1, __ATOMIC_RELAXED);
}

uint64_t
sl_evring_dropped(const struct sl_evring *r)
{
	return __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
}

const void *
sl_evring_peek(struct sl_evring *r, size_t *len)
{
	size_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

	while (r->tail != head) {
		size_t off = r->tail & (r->cap - 1);
		uint32_t l32;

		memcpy(&l32, r->buf + off, 4);
		if (l32 != RING_SKIP) {
			*len = l32;
			return r->buf + off + 4;
		}
		__atomic_store_n(&r->tail, r->tail + (r->cap - off),
		    __ATOMIC_RELEASE);
	}
	return NULL;
}

void
sl_evring_pop(struct sl_evring *r)
{
	uint32_t l32;

	memcpy(&l32, r->buf + (r->tail & (r->cap - 1)), 4);
	/* Released record by record: a slow sink frees room as it goes. */
	__atomic_store_n(&r->tail, r->tail + ring_need(l32),
	    __ATOMIC_RELEASE);
}
