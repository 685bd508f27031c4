/*
 * sink_int.h — what the event log's files share (proxy/sink/): the record
 * codec (event.c), the SPSC ring (queue.c) and the file transport
 * (file.c).  Internal to proxy/sink/ and its unit tests; the module's API
 * is sink.h.
 */
#ifndef SL_SINK_INT_H
#define SL_SINK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/attr.h"
#include "sink.h"

/* ---- event.c: one event as one contiguous record ---- */

/* The string fields of struct sl_event, in the order they are encoded. */
#define SL_EV_NSTR	8

/*
 * Bytes the record of ev takes; fills slen with each string's length as
 * it will be queued (cut to SL_EV_STR_MAX, or SIZE_MAX for NULL).
 */
size_t	sl_event_encoded_len(const struct sl_event *ev,
	    size_t slen[SL_EV_NSTR]) SL_NONNULL(1, 2);
/* Write ev's record (len from sl_event_encoded_len) into dst. */
void	sl_event_encode(void *dst, const struct sl_event *ev,
	    const size_t slen[SL_EV_NSTR]) SL_NONNULL(1, 2, 3);
/*
 * Read a record back: ev's strings point into rec, so they live as long
 * as the record does (until its ring slot is released).
 */
void	sl_event_decode(struct sl_event *ev, const void *rec)
	    SL_NONNULL(1, 2);

/* ---- queue.c: a single-producer single-consumer ring of records ---- */

struct sl_evring;

#define SL_EVRING_MIN	(64 * 1024)	/* holds two of the largest records */

/* A ring of at least `bytes` (a power of two >= SL_EVRING_MIN). */
struct sl_evring *sl_evring_new(size_t bytes) SL_WUR;
void	sl_evring_free(struct sl_evring *r);
/*
 * Producer: room for a record of len bytes, or NULL when the ring is
 * full (the caller then counts a drop).  Nothing is visible to the
 * consumer before sl_evring_commit().
 */
void	*sl_evring_reserve(struct sl_evring *r, size_t len) SL_NONNULL(1);
void	sl_evring_commit(struct sl_evring *r) SL_NONNULL(1);
/* Producer: count one record dropped. */
void	sl_evring_drop(struct sl_evring *r) SL_NONNULL(1);
/* Any thread: records dropped so far. */
uint64_t sl_evring_dropped(const struct sl_evring *r) SL_NONNULL(1);
/* Consumer: the oldest record (*len bytes), or NULL when empty. */
const void *sl_evring_peek(struct sl_evring *r, size_t *len) SL_NONNULL(1, 2);
/* Consumer: release the record sl_evring_peek() returned. */
void	sl_evring_pop(struct sl_evring *r) SL_NONNULL(1);

/* ---- file.c: the file transport (a file, stdout or stderr) ---- */

struct sl_sinkfile {
	char		*path;		/* owned; NULL for stdout/stderr */
	const char	*name;		/* for messages: path or "stdout" */
	int		 fd;
	int		 owned;		/* we opened fd (and reopen it) */
	int		 cuttable;	/* owned and a regular file */
	int		 torn;		/* a record was left half written */
};

/* Open path ("stdout", "stderr" or a file to append to).  0 or -1. */
int	sl_sinkfile_open(struct sl_sinkfile *f, const char *path)
	    SL_NONNULL(1, 2) SL_WUR;
/*
 * Write one whole record; the calling thread may be cancelled while it
 * blocks here, and only here.  0: written.  -1 (errno says why, nothing
 * logged): not written, and nothing of it is left where the next record
 * would follow.  Bytes that went out before the error are cut off again
 * in a regular file we opened (the file is as it was); where they cannot
 * be (a pipe, a FIFO, stdout, a file that refuses ftruncate()), the next
 * write first ends their line, so the fragment stands on a line of its
 * own.
 */
int	sl_sinkfile_write(struct sl_sinkfile *f, const char *p, size_t n)
	    SL_NONNULL(1, 2) SL_WUR;
/* Open the path again (log rotation); on failure keep the old file. */
void	sl_sinkfile_reopen(struct sl_sinkfile *f) SL_NONNULL(1);
void	sl_sinkfile_close(struct sl_sinkfile *f) SL_NONNULL(1);

#endif /* SL_SINK_INT_H */
