/*
 * map.c — string -> pointer hash map in a configuration's arena (rule and
 * list names).  Open addressing, FNV-1a, grown at half load.
 */
#include <string.h>

#include "policy_int.h"

uint64_t
pol_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
map_grow(struct pol_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct pol_map_ent *nv = pa_alloc(m->a, ncap * sizeof(*nv));

	if (nv == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->v[i].key == NULL)
			continue;
		j = (size_t)m->v[i].hash & (ncap - 1);
		while (nv[j].key != NULL)
			j = (j + 1) & (ncap - 1);
		nv[j] = m->v[i];
	}
	m->v = nv;
	m->cap = ncap;
	return 0;
}

void *
pol_map_get(const struct pol_map *m, const char *key)
{
	uint64_t h;
	size_t j;

	if (m->cap == 0)
		return NULL;
	h = pol_hash(key, strlen(key), POL_HASH_INIT);
	for (j = (size_t)h & (m->cap - 1); m->v[j].key != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		if (m->v[j].hash == h && strcmp(m->v[j].key, key) == 0)
			return m->v[j].val;
	}
	return NULL;
}

int
pol_map_put(struct pol_map *m, const char *key, void *val)
{
	uint64_t h = pol_hash(key, strlen(key), POL_HASH_INIT);
	size_t j;

	if ((m->n + 1) * 2 > m->cap && map_grow(m) == -1)
		return -1;
	for (j = (size_t)h & (m->cap - 1); m->v[j].key != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		if (m->v[j].hash == h && strcmp(m->v[j].key, key) == 0) {
			m->v[j].val = val;
			return 0;
		}
	}
	m->v[j].key = key;
	m->v[j].hash = h;
	m->v[j].val = val;
	m->n++;
	return 0;
}
