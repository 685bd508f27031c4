/*
 * flowlog.h — the flow log: one JSON object per line for every flow end
 * and every refusal (docs/logs.md), written to files or stdout.
 *
 * Workers never block on it: each producer (worker, main thread) has its
 * own single-producer ring; one writer thread drains the rings into the
 * sinks.  A full ring drops the line and counts it; the writer reports
 * drops as a "log.dropped" event, so loss is never silent.
 */
#ifndef SL_FLOWLOG_H
#define SL_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"

struct sl_sink;
struct sl_flowlog;
struct sl_logq;

/*
 * Open the sinks (paths as the configuration resolved them).  Files are
 * opened before privileges are dropped.  NULL on error (logged).  Lines
 * queue up until sl_flowlog_start().
 */
struct sl_flowlog *sl_flowlog_open(const struct sl_sink *sinks, size_t n)
	    SL_WUR;
/*
 * Start the writer thread: after any fork(), which keeps only the calling
 * thread (a daemon would otherwise queue lines nobody writes).  -1 on
 * error (logged).
 */
int	sl_flowlog_start(struct sl_flowlog *fl) SL_NONNULL(1) SL_WUR;
/* Drain every queue, stop the writer, close the sinks.  NULL-safe. */
void	sl_flowlog_close(struct sl_flowlog *fl);
/* Re-open file sinks (after log rotation); from the main thread. */
void	sl_flowlog_reopen(struct sl_flowlog *fl) SL_NONNULL(1);

/* A producer queue of `bytes` capacity; owned by fl, one per thread. */
struct sl_logq *sl_flowlog_queue(struct sl_flowlog *fl, size_t bytes)
	    SL_NONNULL(1) SL_WUR;

/* Queue one complete line (ending in '\n'); drops and counts when full. */
void	sl_logq_put(struct sl_logq *q, const char *line, size_t len)
	    SL_NONNULL(2);

#endif /* SL_FLOWLOG_H */
