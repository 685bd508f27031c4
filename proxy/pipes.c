/*
 * pipes.c — splice pipes: per-worker pools and the process-wide budget
 * of pipe capacity (see pipes.h for why).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "pipes.h"

#define PIPES_DEF_PAGES	16		/* the kernel's default capacity */
#define PIPES_LOG_MS	60000		/* budget notice at most this often */

struct sl_pipes {
	uint64_t	 limit;		/* pages; 0 = none */
	uint64_t	 held;		/* pages of capacity held (atomic) */
	uint64_t	 logged;	/* mono ms of the last notice (atomic) */
	long		 page;
};

/* A number from a /proc/sys file, or 0 if it cannot be read. */
static uint64_t
pipes_sysctl(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

struct sl_pipes *
sl_pipes_new_limit(uint64_t pages)
{
	struct sl_pipes *pb;

	if ((pb = sl_calloc(1, sizeof(*pb))) == NULL)
		return NULL;
	if ((pb->page = sysconf(_SC_PAGESIZE)) <= 0)
		pb->page = 4096;
	pb->limit = pages;
	return pb;
}

/*
 * Does this process hold CAP_SYS_RESOURCE or CAP_SYS_ADMIN now?  Those
 * are what exempt a user from the kernel's pipe limit, whatever the uid:
 * root in a container may lack both.  capget(2) directly, not libcap.
 */
int
sl_pipes_exempt(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == -1)
		return 0;
	return (data[0].effective & (1u << CAP_SYS_RESOURCE)) != 0 ||
	    (data[0].effective & (1u << CAP_SYS_ADMIN)) != 0;
}

struct sl_pipes *
sl_pipes_new(int unprivileged)
{
	uint64_t limit = 0;

	if (unprivileged) {
		uint64_t soft = pipes_sysctl("/proc/sys/fs/pipe-user-pages-soft");
		uint64_t hard = pipes_sysctl("/proc/sys/fs/pipe-user-pages-hard");

		/* 0 means no limit for either. */
		limit = soft;
		if (hard != 0 && (limit == 0 || hard < limit))
			limit = hard;
	}
	return sl_pipes_new_limit(limit);
}

void
sl_pipes_free(struct sl_pipes *pb)
{
	sl_free(pb);
}

uint64_t
sl_pipes_limit(const struct sl_pipes *pb)
{
	return pb->limit;
}

uint64_t
sl_pipes_held(const struct sl_pipes *pb)
{
	return __atomic_load_n(&pb->held, __ATOMIC_RELAXED);
}

/* The pool's budget if it has a limit to keep: else NULL, no counting. */
static struct sl_pipes *
pipes_limited(const struct sl_pipe_pool *pp)
{
	return pp->budget != NULL && pp->budget->limit != 0 ? pp->budget :
	    NULL;
}

/* Capacity of a pipe in pages, as the kernel accounts it. */
static uint64_t
pipes_pages(const struct sl_pipes *pb, int fd)
{
	int sz = fcntl(fd, F_GETPIPE_SZ);

	return sz > 0 ? (uint64_t)sz / (uint64_t)pb->page : PIPES_DEF_PAGES;
}

static void
pipes_account(struct sl_pipes *pb, int64_t delta)
{
	__atomic_add_fetch(&pb->held, (uint64_t)delta, __ATOMIC_RELAXED);
}

/* The budget says no to a larger pipe: tell the admin, not too often. */
static void
pipes_notice(struct sl_pipes *pb, unsigned wid, unsigned size)
{
	uint64_t now = sl_mono_ms();
	uint64_t last = __atomic_load_n(&pb->logged, __ATOMIC_RELAXED);

	if (last != 0 && now - last < PIPES_LOG_MS)
		return;
	if (!__atomic_compare_exchange_n(&pb->logged, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;			/* another worker said it */
	sl_log(SL_LOG_WARN, "worker %u: pipe budget: %llu of %llu pages "
	    "(fs.pipe-user-pages-soft/-hard) held, no room to enlarge a new "
	    "pipe to %u bytes with a quarter kept free: it stays at 64 KiB; "
	    "raise the sysctl for more concurrent bulk tunnels "
	    "(docs/deploy.md)", wid, (unsigned long long)sl_pipes_held(pb),
	    (unsigned long long)pb->limit, size);
}

/*
 * Give a new pipe pp->size: always when that is smaller (pipe-size also
 * bounds the bytes in flight), when larger only if the budget allows.  A
 * check, then an add: workers racing here may each pass it and overshoot
 * by a pipe, which the quarter kept free absorbs.
 */
static void
pipes_resize(struct sl_pipe_pool *pp, int fd, uint64_t cur)
{
	struct sl_pipes *pb = pipes_limited(pp);
	uint64_t want;
	int got;

	/* 64 KiB is what pipe2() gave: nothing to ask. */
	if (pp->size == 0 || pp->size == 65536)
		return;
	if (pb != NULL) {
		want = (pp->size + (uint64_t)pb->page - 1) / (uint64_t)pb->page;
		if (want == cur)
			return;
		if (want > cur &&
		    sl_pipes_held(pb) + (want - cur) > pb->limit / 4 * 3) {
			pipes_notice(pb, pp->wid, pp->size);
			return;
		}
	}
	if ((got = fcntl(fd, F_SETPIPE_SZ, (int)pp->size)) == -1) {
		sl_debug(SL_CAT_FLOW, "worker %u: F_SETPIPE_SZ %u: %s (pipe "
		    "stays at its size)", pp->wid, pp->size, strerror(errno));
		return;
	}
	if (pb != NULL)
		pipes_account(pb, (int64_t)((uint64_t)got /
		    (uint64_t)pb->page) - (int64_t)cur);
}

void
sl_pipe_pool_init(struct sl_pipe_pool *pp, unsigned wid, unsigned size,
    struct sl_pipes *budget)
{
	pp->n = 0;
	pp->wid = wid;
	pp->size = size;
	pp->budget = budget;
}

int
sl_pipe_pool_get(struct sl_pipe_pool *pp, int p[2])
{
	struct sl_pipes *pb = pipes_limited(pp);
	uint64_t cur = PIPES_DEF_PAGES;

	if (pp->n > 0) {
		pp->n--;
		p[0] = pp->fds[pp->n][0];
		p[1] = pp->fds[pp->n][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1) {
		sl_log(SL_LOG_ERR, "worker %u: pipe: %s", pp->wid,
		    strerror(errno));
		return -1;
	}
	if (pb != NULL) {
		/* Near the limit the kernel may have given less: ask. */
		if (sl_pipes_held(pb) + PIPES_DEF_PAGES > pb->limit)
			cur = pipes_pages(pb, p[0]);
		pipes_account(pb, (int64_t)cur);
	}
	/* A larger pipe moves more per splice: fewer syscalls per byte. */
	pipes_resize(pp, p[0], cur);
	return 0;
}

void
sl_pipe_pool_drop(struct sl_pipe_pool *pp, int p[2])
{
	struct sl_pipes *pb = pipes_limited(pp);

	if (p[0] == -1)
		return;
	if (pb != NULL)
		pipes_account(pb, -(int64_t)pipes_pages(pb, p[0]));
	close(p[0]);
	close(p[1]);
	p[0] = p[1] = -1;
}

void
sl_pipe_pool_put(struct sl_pipe_pool *pp, int p[2])
{
	if (pp->n < SL_PIPE_POOL) {
		pp->fds[pp->n][0] = p[0];
		pp->fds[pp->n][1] = p[1];
		pp->n++;
		p[0] = p[1] = -1;
		return;
	}
	sl_pipe_pool_drop(pp, p);
}

void
sl_pipe_pool_clear(struct sl_pipe_pool *pp)
{
	while (pp->n > 0) {
		pp->n--;
		sl_pipe_pool_drop(pp, pp->fds[pp->n]);
	}
}
