/*
 * udptab_test.c — the UDP session table (proxy/udptab.c): lookup by the
 * whole 5-tuple, the total and per-client limits, expiry in order of last
 * activity, and unlinking that gives a client's room back.
 */
#include <stdlib.h>

#include "proxy/udptab.h"
#include "tests/unit/t.h"

static struct sl_udp_key
key(const char *cli, uint16_t cport, const char *dst, uint16_t dport)
{
	struct sl_udp_key k;

	memset(&k, 0, sizeof(k));
	if (sl_ip_parse(&k.cli, cli) == -1 || sl_ip_parse(&k.dst, dst) == -1)
		abort();
	k.cport = cport;
	k.dport = dport;
	return k;
}

T_TEST(udptab_finds_by_whole_5tuple)
{
	struct sl_udptab t;
	struct sl_udptab_ent a = { 0 }, b = { 0 };
	struct sl_udp_key k;

	T_EQ(sl_udptab_init(&t, 16, 42), 0);
	a.key = key("10.1.0.2", 40000, "10.2.0.2", 3478);
	b.key = key("fd00:1::2", 40000, "fd00:2::2", 3478);
	T_EQ(sl_udptab_add(&t, &a, 1, 10, 10), SL_UDPTAB_OK);
	T_EQ(sl_udptab_add(&t, &b, 1, 10, 10), SL_UDPTAB_OK);
	k = a.key;
	T_ASSERT(sl_udptab_find(&t, &k) == &a);
	k = b.key;
	T_ASSERT(sl_udptab_find(&t, &k) == &b);
	k = key("10.1.0.2", 40001, "10.2.0.2", 3478);	/* other port */
	T_ASSERT(sl_udptab_find(&t, &k) == NULL);
	k = key("10.1.0.2", 40000, "10.2.0.3", 3478);	/* other dst */
	T_ASSERT(sl_udptab_find(&t, &k) == NULL);
	k = key("10.1.0.2", 40000, "10.2.0.2", 5349);	/* other dport */
	T_ASSERT(sl_udptab_find(&t, &k) == NULL);
	sl_udptab_del(&t, &a);
	k = a.key;
	T_ASSERT(sl_udptab_find(&t, &k) == NULL);
	sl_udptab_del(&t, &b);
	T_EQ(t.n, 0);
	sl_udptab_fini(&t);
}

T_TEST(udptab_total_limit_refuses_then_frees_room)
{
	struct sl_udptab t;
	struct sl_udptab_ent e[4];

	memset(e, 0, sizeof(e));
	T_EQ(sl_udptab_init(&t, 4, 7), 0);
	for (int i = 0; i < 4; i++)
		e[i].key = key("10.1.0.2", (uint16_t)(1000 + i), "10.2.0.2",
		    3478);
	for (int i = 0; i < 3; i++)
		T_EQ(sl_udptab_add(&t, &e[i], 1, 3, 100), SL_UDPTAB_OK);
	T_EQ(sl_udptab_add(&t, &e[3], 1, 3, 100), SL_UDPTAB_FULL);
	T_ASSERT(sl_udptab_find(&t, &e[3].key) == NULL);
	sl_udptab_del(&t, &e[1]);
	T_EQ(sl_udptab_add(&t, &e[3], 1, 3, 100), SL_UDPTAB_OK);
	for (int i = 0; i < 4; i++)
		if (i != 1)
			sl_udptab_del(&t, &e[i]);
	T_EQ(t.n, 0);
	sl_udptab_fini(&t);
}

T_TEST(udptab_per_client_limit_counts_addresses_not_ports)
{
	struct sl_udptab t;
	struct sl_udptab_ent a[3], other = { 0 };
	struct sl_ip ip;

	memset(a, 0, sizeof(a));
	T_EQ(sl_udptab_init(&t, 16, 9), 0);
	for (int i = 0; i < 3; i++)
		a[i].key = key("10.1.0.2", (uint16_t)(2000 + i), "10.2.0.2",
		    3478);
	other.key = key("10.1.0.3", 2000, "10.2.0.2", 3478);
	T_EQ(sl_udptab_add(&t, &a[0], 1, 100, 2), SL_UDPTAB_OK);
	T_EQ(sl_udptab_add(&t, &a[1], 1, 100, 2), SL_UDPTAB_OK);
	T_EQ(sl_udptab_add(&t, &a[2], 1, 100, 2), SL_UDPTAB_CLIENT_FULL);
	T_EQ(sl_udptab_add(&t, &other, 1, 100, 2), SL_UDPTAB_OK);
	T_EQ(sl_ip_parse(&ip, "10.1.0.2"), 0);
	T_EQ(sl_udptab_client_count(&t, &ip), 2);
	sl_udptab_del(&t, &a[0]);
	T_EQ(sl_udptab_client_count(&t, &ip), 1);
	T_EQ(sl_udptab_add(&t, &a[2], 1, 100, 2), SL_UDPTAB_OK);
	sl_udptab_del(&t, &a[1]);
	sl_udptab_del(&t, &a[2]);
	T_EQ(sl_udptab_client_count(&t, &ip), 0);
	sl_udptab_del(&t, &other);
	sl_udptab_fini(&t);
}

T_TEST(udptab_expires_least_recently_active_first)
{
	struct sl_udptab t;
	struct sl_udptab_ent e[3];
	struct sl_udptab_ent *x;

	memset(e, 0, sizeof(e));
	T_EQ(sl_udptab_init(&t, 16, 1), 0);
	for (int i = 0; i < 3; i++) {
		e[i].key = key("10.1.0.2", (uint16_t)(3000 + i), "10.2.0.2",
		    3478);
		T_EQ(sl_udptab_add(&t, &e[i], (uint64_t)(100 + i), 10, 10),
		    SL_UDPTAB_OK);
	}
	/* A refresh keeps the first alive: it is now the newest. */
	sl_udptab_touch(&t, &e[0], 150);
	T_ASSERT(sl_udptab_expired(&t, 160, 60) == NULL);
	x = sl_udptab_expired(&t, 161, 60);
	T_ASSERT(x == &e[1]);
	sl_udptab_del(&t, x);
	T_ASSERT(sl_udptab_expired(&t, 161, 60) == NULL);
	T_ASSERT(sl_udptab_expired(&t, 162, 60) == &e[2]);
	sl_udptab_del(&t, &e[2]);
	T_ASSERT(sl_udptab_expired(&t, 209, 60) == NULL);
	T_ASSERT(sl_udptab_expired(&t, 210, 60) == &e[0]);
	sl_udptab_del(&t, &e[0]);
	T_ASSERT(sl_udptab_expired(&t, 100000, 60) == NULL);
	sl_udptab_fini(&t);
}

T_TEST(udptab_many_entries_one_bucket_array)
{
	enum { N = 5000 };
	struct sl_udptab t;
	struct sl_udptab_ent *e = calloc(N, sizeof(*e));
	size_t found = 0;

	T_ASSERT(e != NULL);
	T_EQ(sl_udptab_init(&t, 64, 3), 0);	/* long chains on purpose */
	for (int i = 0; i < N; i++) {
		e[i].key = key("10.1.0.2", (uint16_t)(10000 + i), "10.2.0.2",
		    3478);
		T_EQ(sl_udptab_add(&t, &e[i], 1, N, N), SL_UDPTAB_OK);
	}
	for (int i = 0; i < N; i++)
		found += sl_udptab_find(&t, &e[i].key) == &e[i];
	T_EQ(found, N);
	for (int i = N - 1; i >= 0; i--)
		sl_udptab_del(&t, &e[i]);
	T_EQ(t.n, 0);
	T_ASSERT(t.oldest == NULL && t.newest == NULL);
	sl_udptab_fini(&t);
	free(e);
}
