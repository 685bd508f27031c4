/*
 * pipes_test.c — the splice pipe pool and the pipe budget (proxy/pipes.c):
 * pipes are enlarged only while the budget has room, every page is given
 * back when pipes close, and pooled pipes are reused without a syscall.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "proxy/pipes.h"
#include "tests/unit/t.h"

#define MIB	(1u << 20)

static int
pipe_size(int fd)
{
	return fcntl(fd, F_GETPIPE_SZ);
}

T_TEST(pipes_unlimited_budget_enlarges_every_pipe)
{
	struct sl_pipes *pb = sl_pipes_new_limit(0);
	struct sl_pipe_pool pp;
	int p[4][2];

	T_ASSERT(pb != NULL);
	sl_pipe_pool_init(&pp, 0, MIB, pb);
	for (int i = 0; i < 4; i++) {
		T_EQ(sl_pipe_pool_get(&pp, p[i]), 0);
		T_EQ(pipe_size(p[i][0]), MIB);
	}
	/* No limit, nothing to count (no F_GETPIPE_SZ on close either). */
	T_EQ(sl_pipes_held(pb), 0);
	for (int i = 0; i < 4; i++)
		sl_pipe_pool_drop(&pp, p[i]);
	T_EQ(p[0][0], -1);
	sl_pipes_free(pb);
}

/*
 * 1024 pages: large pipes only while held + growth <= 768.  A 1 MiB
 * pipe is 256 pages: 16 at creation, 240 more when enlarged.
 */
T_TEST(pipes_budget_stops_enlarging_at_three_quarters)
{
	struct sl_pipes *pb = sl_pipes_new_limit(1024);
	struct sl_pipe_pool pp;
	long page = sysconf(_SC_PAGESIZE);
	int p[5][2];

	T_ASSERT(pb != NULL);
	T_ASSERT(page == 4096);
	T_EQ(sl_pipes_limit(pb), 1024);
	sl_pipe_pool_init(&pp, 7, MIB, pb);
	for (int i = 0; i < 3; i++) {
		T_EQ(sl_pipe_pool_get(&pp, p[i]), 0);
		T_EQ(pipe_size(p[i][0]), MIB);
		T_EQ(sl_pipes_held(pb), 256 * (i + 1));
	}
	/* 768 held: the fourth and fifth stay at the default 64 KiB. */
	for (int i = 3; i < 5; i++) {
		T_EQ(sl_pipe_pool_get(&pp, p[i]), 0);
		T_EQ(pipe_size(p[i][0]), 65536);
	}
	T_EQ(sl_pipes_held(pb), 768 + 32);
	/* Closing a large pipe gives its 256 pages back, but a new one
	 * would need its own 16 + 240 more: 544 + 256 > 768. */
	sl_pipe_pool_drop(&pp, p[0]);
	T_EQ(sl_pipes_held(pb), 512 + 32);
	T_EQ(sl_pipe_pool_get(&pp, p[0]), 0);
	T_EQ(pipe_size(p[0][0]), 65536);
	T_EQ(sl_pipes_held(pb), 512 + 48);
	/* Two closed: 304 + 256 fits, the next pipe is large again. */
	sl_pipe_pool_drop(&pp, p[1]);
	sl_pipe_pool_drop(&pp, p[0]);
	T_EQ(sl_pipes_held(pb), 256 + 32);
	T_EQ(sl_pipe_pool_get(&pp, p[0]), 0);
	T_EQ(pipe_size(p[0][0]), MIB);
	T_EQ(sl_pipes_held(pb), 512 + 32);
	T_EQ(sl_pipe_pool_get(&pp, p[1]), 0);
	T_EQ(pipe_size(p[1][0]), 65536);
	for (int i = 0; i < 5; i++)
		sl_pipe_pool_drop(&pp, p[i]);
	T_EQ(sl_pipes_held(pb), 0);
	sl_pipes_free(pb);
}

T_TEST(pipes_pool_reuses_and_clear_returns_everything)
{
	struct sl_pipes *pb = sl_pipes_new_limit(100000);
	struct sl_pipe_pool pp;
	int p[SL_PIPE_POOL + 2][2], q[2], r0;

	T_ASSERT(pb != NULL);
	sl_pipe_pool_init(&pp, 0, 256 * 1024, pb);
	T_EQ(sl_pipe_pool_get(&pp, q), 0);
	r0 = q[0];
	sl_pipe_pool_put(&pp, q);
	T_EQ(q[0], -1);			/* the pool owns it now */
	T_EQ(sl_pipe_pool_get(&pp, q), 0);
	T_EQ(q[0], r0);			/* the same pipe, not a new one */
	T_EQ(pipe_size(q[0]), 256 * 1024);
	sl_pipe_pool_put(&pp, q);
	/* More than the pool keeps: the surplus is closed and uncounted. */
	for (int i = 0; i < SL_PIPE_POOL + 2; i++)
		T_EQ(sl_pipe_pool_get(&pp, p[i]), 0);
	T_EQ(sl_pipes_held(pb), (SL_PIPE_POOL + 2) * 64);
	for (int i = 0; i < SL_PIPE_POOL + 2; i++)
		sl_pipe_pool_put(&pp, p[i]);
	T_EQ(pp.n, SL_PIPE_POOL);
	T_EQ(sl_pipes_held(pb), SL_PIPE_POOL * 64);
	sl_pipe_pool_clear(&pp);
	T_EQ(pp.n, 0);
	T_EQ(sl_pipes_held(pb), 0);
	sl_pipes_free(pb);
}

/* The kernel's own figures are what an unprivileged daemon must keep to. */
T_TEST(pipes_budget_reads_the_sysctls)
{
	unsigned long long soft = 0, hard = 0, want;
	FILE *f;
	struct sl_pipes *pb;

	T_ASSERT((f = fopen("/proc/sys/fs/pipe-user-pages-soft", "r")) != NULL);
	T_EQ(fscanf(f, "%llu", &soft), 1);
	fclose(f);
	T_ASSERT((f = fopen("/proc/sys/fs/pipe-user-pages-hard", "r")) != NULL);
	T_EQ(fscanf(f, "%llu", &hard), 1);
	fclose(f);
	want = soft;
	if (hard != 0 && (want == 0 || hard < want))
		want = hard;
	T_ASSERT((pb = sl_pipes_new(1)) != NULL);
	T_EQ(sl_pipes_limit(pb), want);
	sl_pipes_free(pb);
	T_ASSERT((pb = sl_pipes_new(0)) != NULL);
	T_EQ(sl_pipes_limit(pb), 0);
	sl_pipes_free(pb);
}

/* The exemption follows the capabilities, not the uid. */
T_TEST(pipes_exemption_follows_capabilities)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	T_EQ(sl_pipes_exempt(),
	    (eff & (1ull << 24)) != 0 || (eff & (1ull << 21)) != 0);
}

/* A pipe-size below the default is honoured under a budget too (it also
 * bounds the bytes in flight), and counts as what it is. */
T_TEST(pipes_budget_still_shrinks_pipes)
{
	struct sl_pipes *pb = sl_pipes_new_limit(1024);
	struct sl_pipe_pool pp;
	int p[2];

	T_ASSERT(pb != NULL);
	sl_pipe_pool_init(&pp, 0, 4096, pb);
	T_EQ(sl_pipe_pool_get(&pp, p), 0);
	T_EQ(pipe_size(p[0]), 4096);
	T_EQ(sl_pipes_held(pb), 1);
	sl_pipe_pool_drop(&pp, p);
	T_EQ(sl_pipes_held(pb), 0);
	sl_pipes_free(pb);
}
