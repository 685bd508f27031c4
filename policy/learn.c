/*
 * learn.c — the learn-mode table: destinations whose clients refused the
 * minted certificate, with counts and the distinct clients that did.
 *
 * One table for the whole daemon, behind one mutex.  Workers record into
 * it directly: rejections are handshake failures, rare next to the bytes
 * a worker moves, and the distinct-client threshold needs the global view
 * at the moment of recording (clients land on different workers through
 * SO_REUSEPORT) so that the "proposed" log line is written once, by the
 * worker that crossed it.  The lock covers memory only: the main thread
 * copies the table out (sl_learn_snapshot) and writes the file without it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/alloc.h"
#include "learn.h"

#define LT_BUCKETS	1024		/* power of two */

struct lt_ent {
	struct lt_ent	*next;		/* bucket chain */
	uint64_t	 gen;		/* table generation of the last change */
	unsigned	 synced:1;	/* written to or read from the file */
	struct sl_learn_entry e;
};

struct sl_learn {
	pthread_mutex_t	 mu;
	struct lt_ent	*b[LT_BUCKETS];
	size_t		 n;
	uint64_t	 gen;		/* bumped by every change */
	uint64_t	 saved_gen;	/* on disk up to this */
	uint64_t	 evicted, refused;
};

/* FNV-1a: names are short and the table is bounded. */
static size_t
lt_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (LT_BUCKETS - 1);
}

static struct lt_ent **
lt_slot(struct sl_learn *lt, const char *name)
{
	struct lt_ent **pp = &lt->b[lt_hash(name)];

	while (*pp != NULL && strcmp((*pp)->e.name, name) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct sl_learn *
sl_learn_new(void)
{
	struct sl_learn *lt = sl_calloc(1, sizeof(*lt));

	if (lt != NULL && pthread_mutex_init(&lt->mu, NULL) != 0) {
		sl_free(lt);
		return NULL;
	}
	return lt;
}

void
sl_learn_free(struct sl_learn *lt)
{
	if (lt == NULL)
		return;
	for (size_t i = 0; i < LT_BUCKETS; i++) {
		while (lt->b[i] != NULL) {
			struct lt_ent *x = lt->b[i];

			lt->b[i] = x->next;
			sl_free(x);
		}
	}
	pthread_mutex_destroy(&lt->mu);
	sl_free(lt);
}

int
sl_learn_name(const char *in, char *out)
{
	struct sl_ip ip;

	/* An address first: "10.0.0.1" is also a plausible DNS name. */
	if (sl_ip_parse(&ip, in) == 0)
		return sl_ip_fmt(&ip, out, 256) != NULL ? 0 : -1;
	return sl_name_normalise(in, strlen(in), out, 256);
}

int
sl_learn_proposed(const struct sl_learn_entry *e, unsigned min_clients)
{
	return e->nclients >= (min_clients ? min_clients : 1);
}

/* Printable ASCII, bounded: an alert text goes to files and terminals. */
static void
lt_alert_copy(char *dst, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i < SL_LEARN_ALERT_MAX - 1;
	    i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Add cli to the set; 1 if it was new. */
static int
lt_client_add(struct sl_learn_entry *e, const struct sl_ip *cli)
{
	for (unsigned i = 0; i < e->nclients; i++)
		if (sl_ip_equal(&e->clients[i], cli))
			return 0;
	/* Full: the threshold (<= a quarter of the set) is long passed. */
	if (e->nclients == SL_LEARN_CLIENTS_MAX)
		return 0;
	e->clients[e->nclients++] = *cli;
	return 1;
}

/* Seen less recently: last seen, then (same second) the older change. */
static int
lt_older(const struct lt_ent *a, const struct lt_ent *b)
{
	return a->e.last < b->e.last || (a->e.last == b->e.last &&
	    a->gen < b->gen);
}

/* Unlink and free the unproposed entry seen least recently; 0 or -1. */
static int
lt_evict(struct sl_learn *lt, unsigned min_clients)
{
	struct lt_ent **victim = NULL;

	for (size_t i = 0; i < LT_BUCKETS; i++)
		for (struct lt_ent **pp = &lt->b[i]; *pp != NULL;
		    pp = &(*pp)->next)
			if (!sl_learn_proposed(&(*pp)->e, min_clients) &&
			    (victim == NULL || lt_older(*pp, *victim)))
				victim = pp;
	if (victim == NULL)
		return -1;
	{
		struct lt_ent *x = *victim;

		*victim = x->next;
		sl_free(x);
	}
	lt->n--;
	lt->evicted++;
	return 0;
}

/* Called locked: the entry for a new name, making room; NULL + *rc. */
static struct lt_ent *
lt_insert(struct sl_learn *lt, const char *name,
    const struct sl_learn_limits *lim, enum sl_learn_rc *rc)
{
	struct lt_ent *x;

	/* A lowered learn-max converges: one eviction per new name. */
	while (lt->n >= (lim->max ? lim->max : 1)) {
		if (lt_evict(lt, lim->min_clients) == -1) {
			lt->refused++;
			*rc = SL_LEARN_FULL;
			return NULL;
		}
	}
	if ((x = sl_calloc(1, sizeof(*x))) == NULL) {
		*rc = SL_LEARN_NOMEM;
		return NULL;
	}
	memcpy(x->e.name, name, strlen(name) + 1);
	x->next = lt->b[lt_hash(name)];
	lt->b[lt_hash(name)] = x;
	lt->n++;
	return x;
}

enum sl_learn_rc
sl_learn_record(struct sl_learn *lt, const char *name,
    const struct sl_ip *cli, const char *alert, int64_t now,
    const struct sl_learn_limits *lim)
{
	enum sl_learn_rc rc = SL_LEARN_RECORDED;
	char norm[256];
	struct lt_ent *x;
	int was;

	if (sl_learn_name(name, norm) == -1)
		return SL_LEARN_BADNAME;
	pthread_mutex_lock(&lt->mu);
	x = *lt_slot(lt, norm);
	if (x == NULL) {
		if ((x = lt_insert(lt, norm, lim, &rc)) == NULL)
			goto out;
		x->e.first = now;
	}
	was = sl_learn_proposed(&x->e, lim->min_clients);
	x->e.count++;
	x->e.last = now;
	lt_alert_copy(x->e.alert, alert);
	lt_client_add(&x->e, cli);
	if (!was && sl_learn_proposed(&x->e, lim->min_clients))
		rc = SL_LEARN_PROPOSED;
	x->gen = ++lt->gen;
out:
	pthread_mutex_unlock(&lt->mu);
	return rc;
}

static int
lt_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sl_learn_entry *)a)->name,
	    ((const struct sl_learn_entry *)b)->name);
}

int
sl_learn_snapshot(struct sl_learn *lt, struct sl_learn_entry **out,
    size_t *n, uint64_t *gen)
{
	struct sl_learn_entry *v = NULL;
	size_t k = 0;

	pthread_mutex_lock(&lt->mu);
	if (lt->n > 0 && (v = sl_calloc(lt->n, sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&lt->mu);
		return -1;
	}
	for (size_t i = 0; i < LT_BUCKETS; i++)
		for (struct lt_ent *x = lt->b[i]; x != NULL; x = x->next)
			v[k++] = x->e;
	if (gen != NULL)
		*gen = lt->gen;
	pthread_mutex_unlock(&lt->mu);
	if (k > 1)
		qsort(v, k, sizeof(*v), lt_cmp);
	*out = v;
	*n = k;
	return 0;
}

long
sl_learn_find(const struct sl_learn_entry *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Called locked: drop synced entries the file lost (accepted, forgotten). */
static void
lt_drop_gone(struct sl_learn *lt, const struct sl_learn_entry *v, size_t n)
{
	for (size_t i = 0; i < LT_BUCKETS; i++) {
		struct lt_ent **pp = &lt->b[i];

		while (*pp != NULL) {
			struct lt_ent *x = *pp;

			if (x->synced && sl_learn_find(v, n, x->e.name) == -1) {
				*pp = x->next;
				sl_free(x);
				lt->n--;
				lt->gen++;
				continue;
			}
			pp = &x->next;
		}
	}
}

int
sl_learn_sync(struct sl_learn *lt, const struct sl_learn_entry *v, size_t n,
    int add)
{
	int rc = 0;

	pthread_mutex_lock(&lt->mu);
	lt_drop_gone(lt, v, n);
	for (size_t i = 0; i < n; i++) {
		struct lt_ent **pp = lt_slot(lt, v[i].name);
		struct lt_ent *x = *pp;

		if (x == NULL && !add)
			continue;	/* evicted here since the last save */
		if (x == NULL) {
			/* The file is the admin's: no bound applies to it. */
			if ((x = sl_calloc(1, sizeof(*x))) == NULL) {
				rc = -1;
				break;
			}
			x->e = v[i];
			*pp = x;
			lt->n++;
		} else {
			for (unsigned c = 0; c < v[i].nclients; c++)
				lt_client_add(&x->e, &v[i].clients[c]);
			if (v[i].first < x->e.first)
				x->e.first = v[i].first;
		}
		x->synced = 1;
	}
	pthread_mutex_unlock(&lt->mu);
	return rc;
}

void
sl_learn_saved(struct sl_learn *lt, uint64_t gen)
{
	pthread_mutex_lock(&lt->mu);
	for (size_t i = 0; i < LT_BUCKETS; i++)
		for (struct lt_ent *x = lt->b[i]; x != NULL; x = x->next)
			if (x->gen <= gen)
				x->synced = 1;
	if (gen > lt->saved_gen)
		lt->saved_gen = gen;
	pthread_mutex_unlock(&lt->mu);
}

int
sl_learn_dirty(struct sl_learn *lt)
{
	int d;

	pthread_mutex_lock(&lt->mu);
	d = lt->gen != lt->saved_gen;
	pthread_mutex_unlock(&lt->mu);
	return d;
}

void
sl_learn_stats(struct sl_learn *lt, struct sl_learn_stats *st)
{
	pthread_mutex_lock(&lt->mu);
	st->n = lt->n;
	st->evicted = lt->evicted;
	st->refused = lt->refused;
	pthread_mutex_unlock(&lt->mu);
}

int
sl_learn_forget(struct sl_learn *lt, const char *name)
{
	struct lt_ent **pp, *x;
	int rc = -1;

	pthread_mutex_lock(&lt->mu);
	pp = lt_slot(lt, name);
	if ((x = *pp) != NULL) {
		*pp = x->next;
		sl_free(x);
		lt->n--;
		lt->gen++;
		rc = 0;
	}
	pthread_mutex_unlock(&lt->mu);
	return rc;
}
