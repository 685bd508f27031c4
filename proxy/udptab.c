/*
 * udptab.c — the UDP session table (udptab.h).
 *
 * Chained hashing over a fixed power-of-two bucket array sized at start,
 * and a doubly linked list in order of last activity: touching is O(1)
 * and expiry visits only the entries that expire.  A second, smaller hash
 * counts entries per client address for the per-client limit; a count
 * that drops to zero is freed, so an address flood costs at most one
 * count per live entry.
 */
#include <string.h>

#include "../lib/alloc.h"
#include "udptab.h"

#define UDPTAB_BUCKETS_MAX	(1u << 20)

struct udptab_client {
	struct sl_ip		 ip;
	size_t			 n;
	struct udptab_client	*next;
};

/* A 64-bit mix (splitmix64's finaliser) over the key's words. */
static uint64_t
udptab_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t
udptab_hash_ip(uint64_t h, const struct sl_ip *ip)
{
	uint64_t a, b;

	memcpy(&a, ip->b, 8);
	memcpy(&b, ip->b + 8, 8);
	return udptab_mix(udptab_mix(udptab_mix(h, ip->af), a), b);
}

static uint64_t
udptab_hash(const struct sl_udptab *t, const struct sl_udp_key *k)
{
	uint64_t h = udptab_hash_ip(t->seed, &k->cli);

	h = udptab_hash_ip(h, &k->dst);
	return udptab_mix(h, (uint64_t)k->cport << 16 | k->dport);
}

static int
udptab_key_equal(const struct sl_udp_key *a, const struct sl_udp_key *b)
{
	return a->cport == b->cport && a->dport == b->dport &&
	    sl_ip_equal(&a->cli, &b->cli) && sl_ip_equal(&a->dst, &b->dst);
}

int
sl_udptab_init(struct sl_udptab *t, size_t expect, uint64_t seed)
{
	size_t n = 64;

	memset(t, 0, sizeof(*t));
	while (n < expect && n < UDPTAB_BUCKETS_MAX)
		n <<= 1;
	t->nbucket = n;
	t->seed = seed;
	t->bucket = sl_calloc(n, sizeof(*t->bucket));
	t->cbucket = sl_calloc(n, sizeof(*t->cbucket));
	if (t->bucket == NULL || t->cbucket == NULL) {
		sl_udptab_fini(t);
		return -1;
	}
	return 0;
}

void
sl_udptab_fini(struct sl_udptab *t)
{
	for (size_t i = 0; t->cbucket != NULL && i < t->nbucket; i++) {
		struct udptab_client *c, *next;

		for (c = t->cbucket[i]; c != NULL; c = next) {
			next = c->next;
			sl_free(c);
		}
	}
	sl_free(t->bucket);
	sl_free(t->cbucket);
	memset(t, 0, sizeof(*t));
}

struct sl_udptab_ent *
sl_udptab_find(const struct sl_udptab *t, const struct sl_udp_key *key)
{
	struct sl_udptab_ent *e;

	e = t->bucket[udptab_hash(t, key) & (t->nbucket - 1)];
	for (; e != NULL; e = e->hnext)
		if (udptab_key_equal(&e->key, key))
			return e;
	return NULL;
}

static struct udptab_client **
udptab_client_slot(const struct sl_udptab *t, const struct sl_ip *ip)
{
	struct udptab_client **pc;

	pc = &t->cbucket[udptab_hash_ip(t->seed, ip) & (t->nbucket - 1)];
	for (; *pc != NULL; pc = &(*pc)->next)
		if (sl_ip_equal(&(*pc)->ip, ip))
			break;
	return pc;
}

size_t
sl_udptab_client_count(const struct sl_udptab *t, const struct sl_ip *ip)
{
	struct udptab_client **pc = udptab_client_slot(t, ip);

	return *pc != NULL ? (*pc)->n : 0;
}

/* Link e as the newest. */
static void
udptab_link_newest(struct sl_udptab *t, struct sl_udptab_ent *e)
{
	e->newer = NULL;
	e->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
udptab_unlink_order(struct sl_udptab *t, struct sl_udptab_ent *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

enum sl_udptab_rc
sl_udptab_add(struct sl_udptab *t, struct sl_udptab_ent *e, uint64_t now,
    size_t max, size_t max_client)
{
	struct udptab_client **pc, *c;
	size_t b;

	if (t->n >= max)
		return SL_UDPTAB_FULL;
	pc = udptab_client_slot(t, &e->key.cli);
	if ((c = *pc) != NULL && c->n >= max_client)
		return SL_UDPTAB_CLIENT_FULL;
	if (c == NULL) {
		if ((c = sl_calloc(1, sizeof(*c))) == NULL)
			return SL_UDPTAB_NOMEM;
		c->ip = e->key.cli;
		*pc = c;	/* the end of its chain: order is free */
	}
	c->n++;
	e->client = c;
	b = udptab_hash(t, &e->key) & (t->nbucket - 1);
	e->hnext = t->bucket[b];
	t->bucket[b] = e;
	e->last = now;
	udptab_link_newest(t, e);
	t->n++;
	return SL_UDPTAB_OK;
}

void
sl_udptab_del(struct sl_udptab *t, struct sl_udptab_ent *e)
{
	struct sl_udptab_ent **pe;
	struct udptab_client **pc;

	pe = &t->bucket[udptab_hash(t, &e->key) & (t->nbucket - 1)];
	while (*pe != NULL && *pe != e)
		pe = &(*pe)->hnext;
	if (*pe == NULL)
		return;		/* not linked: nothing to undo */
	*pe = e->hnext;
	e->hnext = NULL;
	udptab_unlink_order(t, e);
	t->n--;
	if (--e->client->n == 0) {
		pc = udptab_client_slot(t, &e->client->ip);
		*pc = e->client->next;
		sl_free(e->client);
	}
	e->client = NULL;
}

void
sl_udptab_touch(struct sl_udptab *t, struct sl_udptab_ent *e, uint64_t now)
{
	e->last = now;
	if (t->newest == e)
		return;
	udptab_unlink_order(t, e);
	udptab_link_newest(t, e);
}

struct sl_udptab_ent *
sl_udptab_expired(const struct sl_udptab *t, uint64_t now, uint64_t idle_ms)
{
	struct sl_udptab_ent *e = t->oldest;

	if (e == NULL || now - e->last < idle_ms)
		return NULL;
	return e;
}
