/*
 * pipes.h — splice pipes: each worker's pool of empty pipes, and the
 * process-wide budget of pipe capacity that keeps sluiced inside the
 * kernel's per-user limit.
 *
 * Why a budget: an unprivileged user's pipes may hold at most
 * fs.pipe-user-pages-soft pages of capacity in all (16384 by default).
 * Past it F_SETPIPE_SZ fails, and worse, every NEW pipe gets 2 pages
 * instead of 16, so a splice moves 8 KiB at a time.  Enlarging pipes
 * only while three quarters of the budget are free leaves the rest for
 * default-size pipes and keeps the cliff away.  Capacity is counted,
 * not contents: that is what the kernel counts.
 */
#ifndef SL_PIPES_H
#define SL_PIPES_H

#include <stdint.h>

#include "../lib/attr.h"

#define SL_PIPE_POOL	32		/* idle pipes kept per worker */

/* Process-wide: created by main before the workers, shared by them. */
struct sl_pipes;

/* One per worker (embedded in struct sl_worker); loop thread only. */
struct sl_pipe_pool {
	int		 fds[SL_PIPE_POOL][2];
	unsigned	 n;
	unsigned	 size;		/* capacity asked for new pipes */
	unsigned	 wid;		/* worker id, for log lines */
	struct sl_pipes	*budget;	/* borrowed; NULL = no limit */
};

/*
 * The budget for a process that will run as an unprivileged user when
 * unprivileged != 0 (read from /proc/sys/fs/pipe-user-pages-soft and
 * -hard now, before privileges are dropped); no limit otherwise.
 */
struct sl_pipes	*sl_pipes_new(int unprivileged) SL_WUR;
/* 1 if this process holds a capability that lifts the pipe limit. */
int		 sl_pipes_exempt(void);
/* A budget of this many pages (0 = none): for tests, and the above. */
struct sl_pipes	*sl_pipes_new_limit(uint64_t pages) SL_WUR;
void		 sl_pipes_free(struct sl_pipes *pb);
/* The limit in pages (0 = none) and the pages held now. */
uint64_t	 sl_pipes_limit(const struct sl_pipes *pb) SL_NONNULL(1);
uint64_t	 sl_pipes_held(const struct sl_pipes *pb) SL_NONNULL(1);

void	sl_pipe_pool_init(struct sl_pipe_pool *pp, unsigned wid,
	    unsigned size, struct sl_pipes *budget) SL_NONNULL(1);
/* 0 and two fds (from the pool, or a new pipe), or -1 (logged). */
int	sl_pipe_pool_get(struct sl_pipe_pool *pp, int p[2]) SL_NONNULL(1, 2);
/* Return an EMPTY pipe (closed when the pool is full). */
void	sl_pipe_pool_put(struct sl_pipe_pool *pp, int p[2]) SL_NONNULL(1, 2);
/* Close a pipe that may still hold bytes (an aborted flow). */
void	sl_pipe_pool_drop(struct sl_pipe_pool *pp, int p[2]) SL_NONNULL(1, 2);
/* Close every pooled pipe. */
void	sl_pipe_pool_clear(struct sl_pipe_pool *pp) SL_NONNULL(1);

#endif /* SL_PIPES_H */
