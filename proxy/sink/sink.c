/*
 * sink.c — the sinks, their sources and their writer threads.
 *
 * A sink is a transport (file.c), a format and one writer thread.  A
 * source is a producer's handle: one ring per sink.  So each (producer,
 * sink) pair has its own SPSC ring (queue.c), and the data path takes no
 * lock: sl_event_put() encodes the event into every ring of its source;
 * each sink's thread drains its rings, formats and writes.  A ring that
 * is full drops for its sink only; the sink turns its own drop count into
 * a log.dropped event.  A sink whose output refuses a record counts what
 * it loses from then on, tries again once a second, and reports the loss
 * in a log.dropped event (with a reason) as its first line once its
 * output takes lines again.  docs/design/events.md has the picture.
 *
 * Ownership: the set owns its sinks and its sources; a source owns its
 * rings, which its sinks borrow.  Sources are freed only by
 * sl_sinks_close(), after every thread has stopped.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../../lib/alloc.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../policy/config.h"
#include "sink_int.h"

#define SINKS_MAX	8
#define SOURCES_MAX	300	/* workers (<= 256), main, spare */
#define SINK_IDLE_NS	(20 * 1000 * 1000)	/* writer poll when idle */
#define SINK_GRACE_S	5	/* for a sink that takes no more lines */
#define SINK_STOP_POLL_NS (10 * 1000 * 1000)
#define SINK_RETRY_MS	1000	/* a failing sink tries again this often */

struct sink {
	struct sl_sinkfile	 out;
	const struct sl_evfmt	*fmt;		/* borrowed */
	char			*line;		/* fmt->line_max; the thread's */
	struct sl_evring	*rings[SOURCES_MAX]; /* borrowed from sources */
	size_t			 nrings;	/* published with release */
	pthread_t		 thr;
	int			 started;	/* the thread exists */
	int			 joined;
	int			 running;	/* atomic: writer loop on */
	int			 reopen;	/* atomic: reopen requested */
	uint64_t		 alive_ms;	/* atomic: last seen unblocked */
	uint64_t		 reported;	/* ring drops reported (the thread's) */
	uint64_t		 reported_total; /* every loss reported so far */
	uint64_t		 lost_all;	/* atomic: lost to write failures */
	/* The output refused a record (the thread's): */
	int			 failing;
	int			 fail_errno;	/* why, the first time */
	struct timespec		 fail_since;	/* CLOCK_REALTIME */
	uint64_t		 fail_ms;	/* sl_mono_ms() then */
	uint64_t		 retry_ms;	/* the next attempt */
	uint64_t		 lost;		/* records lost since */
};

struct sl_evsrc {
	size_t			 n;
	struct sl_evring	*ring[SINKS_MAX]; /* owned; [i] for sink i */
};

struct sl_sinks {
	struct sink		*sink[SINKS_MAX];
	size_t			 n;
	struct sl_evsrc		*src[SOURCES_MAX];
	size_t			 nsrc;
	pthread_mutex_t		 lock;		/* only for adding sources */
};

/* ------------------------------------------------------------------ */
/* the writer                                                           */

static uint64_t
sink_dropped(const struct sink *sk)
{
	size_t nr = __atomic_load_n(&sk->nrings, __ATOMIC_ACQUIRE);
	uint64_t total = 0;

	for (size_t i = 0; i < nr; i++)
		total += sl_evring_dropped(sk->rings[i]);
	return total;
}

/* The reason a log.dropped event gives for a write error. */
static const char *
sink_fail_reason(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return "no_space";
	case EPIPE:
		return "closed";
	}
	return "write_error";
}

/*
 * The output refused a record (errno err): the sink is failing until a
 * line goes out again; the next attempt is in SINK_RETRY_MS.  Logged
 * when it starts, not for every record.
 */
static void
sink_fail(struct sink *sk, int err)
{
	sk->retry_ms = sl_mono_ms() + SINK_RETRY_MS;
	if (sk->failing)
		return;
	sk->failing = 1;
	sk->fail_errno = err;
	sk->fail_ms = sl_mono_ms();
	clock_gettime(CLOCK_REALTIME, &sk->fail_since);
	sl_log(SL_LOG_ERR, "flowlog: cannot write to %s: %s; counting the "
	    "events lost, trying again every %d s", sk->out.name,
	    strerror(err), SINK_RETRY_MS / 1000);
}

/* Count n records the sink could not write. */
static void
sink_lose(struct sink *sk, uint64_t n)
{
	sk->lost += n;
	__atomic_fetch_add(&sk->lost_all, n, __ATOMIC_RELAXED);
}

/*
 * The one place an event becomes bytes and is written.  0, or -1 when
 * the output refused it (then the sink is failing).
 */
static int
sink_emit(struct sink *sk, const struct sl_event *ev)
{
	size_t n = sk->fmt->fn(ev, sk->line, sk->fmt->line_max);
	int rc = 0;

	if (n > 0 && !SL_BUG_ON(n > sk->fmt->line_max) &&
	    sl_sinkfile_write(&sk->out, sk->line, n) == -1) {
		sink_fail(sk, errno);
		rc = -1;
	}
	__atomic_store_n(&sk->alive_ms, sl_mono_ms(), __ATOMIC_RELAXED);
	return rc;
}

/* A log.dropped event, now, for n more events lost. */
static void
sink_drop_event(const struct sink *sk, struct sl_event *ev, uint64_t n)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = SL_EV_LOG_DROPPED;
	clock_gettime(CLOCK_REALTIME, &ev->ts);
	ev->dropped = n;
	ev->dropped_total = sk->reported_total + n;
}

/*
 * Ring drops since the last report become an event in this sink's
 * output.  -1 when it could not be written: it stays due.
 */
static int
sink_report_drops(struct sink *sk)
{
	uint64_t total = sink_dropped(sk);
	struct sl_event ev;

	if (total == sk->reported)
		return 0;
	sink_drop_event(sk, &ev, total - sk->reported);
	if (sink_emit(sk, &ev) == -1)
		return -1;
	sl_log(SL_LOG_WARN, "flowlog: %llu event(s) dropped for %s (queue "
	    "full)", (unsigned long long)ev.dropped, sk->out.name);
	sk->reported = total;
	sk->reported_total += ev.dropped;
	return 0;
}

/*
 * A failing sink's attempt: its first line must be the report of what it
 * lost (or, if a queue report is what failed, that report), so writing
 * that report is the attempt.  It needs no new record, so a sink
 * recovers even while nothing happens.  0 when it went out.
 */
static int
sink_retry(struct sink *sk)
{
	struct sl_event ev;

	if (sk->lost == 0) {
		if (sink_report_drops(sk) == -1)
			return -1;
	} else {
		sink_drop_event(sk, &ev, sk->lost);
		ev.reason = sink_fail_reason(sk->fail_errno);
		ev.since = sk->fail_since;
		if (sink_emit(sk, &ev) == -1)
			return -1;
		sk->reported_total += sk->lost;
	}
	sl_log(SL_LOG_WARN, "flowlog: writing to %s again after %llu ms; %llu "
	    "event(s) lost (%s)", sk->out.name,
	    (unsigned long long)(sl_mono_ms() - sk->fail_ms),
	    (unsigned long long)sk->lost, sink_fail_reason(sk->fail_errno));
	sk->failing = 0;
	sk->lost = 0;
	return 0;
}

/*
 * Write what one ring holds; returns the events taken.  A record the
 * output refuses is lost; the rest wait for the next attempt.
 */
static size_t
sink_drain(struct sink *sk, struct sl_evring *r)
{
	const void *rec;
	size_t len, n = 0;

	while (!sk->failing && (rec = sl_evring_peek(r, &len)) != NULL) {
		struct sl_event ev;

		sl_event_decode(&ev, rec);	/* points into the ring */
		if (sink_emit(sk, &ev) == -1)
			sink_lose(sk, 1);
		sl_evring_pop(r);
		n++;
	}
	return n;
}

/* An attempt failed: what waited for it is lost. */
static void
sink_discard(struct sink *sk, size_t nr)
{
	const void *rec;
	size_t len;

	for (size_t i = 0; i < nr; i++) {
		while ((rec = sl_evring_peek(sk->rings[i], &len)) != NULL) {
			sl_evring_pop(sk->rings[i]);
			sink_lose(sk, 1);
		}
	}
}

/* The last pass, and the output still refuses lines: say what is lost. */
static void
sink_give_up(struct sink *sk, size_t nr)
{
	sink_discard(sk, nr);
	sl_log(SL_LOG_ERR, "flowlog: %s still refuses lines at exit: %llu "
	    "event(s) lost, not reported in it", sk->out.name,
	    (unsigned long long)(sk->lost + sink_dropped(sk) - sk->reported));
}

/*
 * One pass over every ring of the sink; returns the events written.  A
 * failing sink leaves its records in the rings (they absorb a second of
 * them) until its next attempt; if that fails, they are lost.  The last
 * pass makes its attempt at once.
 */
static size_t
sink_pass(struct sink *sk, int last)
{
	size_t nr = __atomic_load_n(&sk->nrings, __ATOMIC_ACQUIRE), got = 0;

	if (__atomic_exchange_n(&sk->reopen, 0, __ATOMIC_ACQ_REL))
		sl_sinkfile_reopen(&sk->out);
	if (sk->failing && !last && sl_mono_ms() < sk->retry_ms)
		return 0;
	if (sk->failing && sink_retry(sk) == -1) {
		sink_discard(sk, nr);
	} else {
		for (size_t i = 0; i < nr; i++)
			got += sink_drain(sk, sk->rings[i]);
		if (!sk->failing)
			(void)sink_report_drops(sk);
	}
	if (sk->failing && last)
		sink_give_up(sk, nr);
	return got;
}

static void *
sink_main(void *arg)
{
	struct sink *sk = arg;

	/* Only a blocked write may be cancelled (file.c). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	for (;;) {
		int running = __atomic_load_n(&sk->running, __ATOMIC_ACQUIRE);

		__atomic_store_n(&sk->alive_ms, sl_mono_ms(), __ATOMIC_RELAXED);
		if (sink_pass(sk, !running) == 0 && running) {
			struct timespec ts = { 0, SINK_IDLE_NS };

			nanosleep(&ts, NULL);
		}
		if (!running)
			break;			/* drained after the stop flag */
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the set                                                              */

struct sl_sinks *
sl_sinks_new(void)
{
	struct sl_sinks *s;

	if ((s = sl_calloc(1, sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

int
sl_sinks_add(struct sl_sinks *s, const char *path, const struct sl_evfmt *fmt)
{
	struct sink *sk;

	if (s->n == SINKS_MAX) {
		sl_log(SL_LOG_ERR, "flowlog: at most %d sinks", SINKS_MAX);
		return -1;
	}
	/* A source has one ring per sink, made when the source is. */
	if (SL_BUG_ON(s->nsrc > 0))
		return -1;
	if ((sk = sl_calloc(1, sizeof(*sk))) == NULL)
		return -1;
	sk->fmt = fmt;
	if ((sk->line = sl_alloc(fmt->line_max)) == NULL ||
	    sl_sinkfile_open(&sk->out, path) == -1) {
		sl_free(sk->line);
		sl_free(sk);
		return -1;
	}
	s->sink[s->n++] = sk;
	return 0;
}

/* The format of a configured sink kind. */
static const struct sl_evfmt *
sink_conf_format(enum sl_sink_kind kind)
{
	switch (kind) {
	case SL_SINK_JSON:
		return &sl_evfmt_json1;
	}
	return NULL;
}

struct sl_sinks *
sl_sinks_open(const struct sl_sink *conf, size_t n)
{
	struct sl_sinks *s;

	if ((s = sl_sinks_new()) == NULL) {
		sl_log(SL_LOG_ERR, "flowlog: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_evfmt *fmt = sink_conf_format(conf[i].kind);

		if (SL_BUG_ON(fmt == NULL) ||
		    sl_sinks_add(s, conf[i].path, fmt) == -1) {
			sl_sinks_close(s);
			return NULL;
		}
	}
	return s;
}

int
sl_sinks_start(struct sl_sinks *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sink *sk = s->sink[i];

		sk->running = 1;
		sk->alive_ms = sl_mono_ms();
		if (pthread_create(&sk->thr, NULL, sink_main, sk) != 0) {
			sl_log(SL_LOG_ERR, "flowlog: cannot start the writer "
			    "thread of %s", sk->out.name);
			sk->running = 0;
			return -1;
		}
		sk->started = 1;
	}
	return 0;
}

void
sl_sinks_reopen(struct sl_sinks *s)
{
	for (size_t i = 0; i < s->n; i++)
		__atomic_store_n(&s->sink[i]->reopen, 1, __ATOMIC_RELEASE);
}

/* Has the sink's thread been blocked for the whole grace since t0? */
static int
sink_stuck(const struct sink *sk, uint64_t t0)
{
	uint64_t alive = __atomic_load_n(&sk->alive_ms, __ATOMIC_RELAXED);

	return sl_mono_ms() - SL_MAX(alive, t0) >= SINK_GRACE_S * 1000;
}

/*
 * Stop every writer: each drains its rings and ends.  One that stays
 * blocked in write() (a FIFO nobody reads) for SINK_GRACE_S is cancelled
 * there: an exit beats waiting for ever; what it still held is lost.
 */
static void
sinks_stop(struct sl_sinks *s)
{
	uint64_t t0 = sl_mono_ms();
	size_t left;

	for (size_t i = 0; i < s->n; i++)
		__atomic_store_n(&s->sink[i]->running, 0, __ATOMIC_RELEASE);
	do {
		left = 0;
		for (size_t i = 0; i < s->n; i++) {
			struct sink *sk = s->sink[i];

			if (!sk->started || sk->joined)
				continue;
			if (pthread_tryjoin_np(sk->thr, NULL) == 0) {
				sk->joined = 1;
			} else if (sink_stuck(sk, t0)) {
				sl_log(SL_LOG_ERR, "flowlog: a sink has taken no "
				    "line for %d s; exiting with the lines still "
				    "queued lost (%s)", SINK_GRACE_S,
				    sk->out.name);
				pthread_cancel(sk->thr);
				pthread_join(sk->thr, NULL);
				sk->joined = 1;
			} else {
				left++;
			}
		}
		if (left > 0) {
			struct timespec ts = { 0, SINK_STOP_POLL_NS };

			nanosleep(&ts, NULL);
		}
	} while (left > 0);
}

void
sl_sinks_close(struct sl_sinks *s)
{
	if (s == NULL)
		return;
	sinks_stop(s);
	for (size_t i = 0; i < s->n; i++) {
		struct sink *sk = s->sink[i];

		/* Never started (an early exit): what was queued still goes
		 * out, from this thread. */
		if (!sk->started)
			(void)sink_pass(sk, 1);
		sl_sinkfile_close(&sk->out);
		sl_free(sk->line);
		sl_free(sk);
	}
	for (size_t i = 0; i < s->nsrc; i++) {
		for (size_t j = 0; j < s->src[i]->n; j++)
			sl_evring_free(s->src[i]->ring[j]);
		sl_free(s->src[i]);
	}
	pthread_mutex_destroy(&s->lock);
	sl_free(s);
}

uint64_t
sl_sinks_dropped(const struct sl_sinks *s, size_t i)
{
	if (i >= s->n)
		return 0;
	return sink_dropped(s->sink[i]) +
	    __atomic_load_n(&s->sink[i]->lost_all, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* producers                                                            */

struct sl_evsrc *
sl_sinks_source(struct sl_sinks *s, size_t ring_bytes)
{
	struct sl_evsrc *src;

	if ((src = sl_calloc(1, sizeof(*src))) == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if ((src->ring[i] = sl_evring_new(ring_bytes)) == NULL)
			goto fail;
		src->n++;
	}
	pthread_mutex_lock(&s->lock);
	if (s->nsrc == SOURCES_MAX) {
		pthread_mutex_unlock(&s->lock);
		sl_log(SL_LOG_ERR, "flowlog: at most %d producers",
		    SOURCES_MAX);
		goto fail;
	}
	/* Each sink's thread may be running: publish the ring last. */
	for (size_t i = 0; i < s->n; i++) {
		struct sink *sk = s->sink[i];

		sk->rings[sk->nrings] = src->ring[i];
		__atomic_store_n(&sk->nrings, sk->nrings + 1,
		    __ATOMIC_RELEASE);
	}
	s->src[s->nsrc++] = src;
	pthread_mutex_unlock(&s->lock);
	return src;
fail:
	for (size_t i = 0; i < src->n; i++)
		sl_evring_free(src->ring[i]);
	sl_free(src);
	return NULL;
}

void
sl_event_put(struct sl_evsrc *src, const struct sl_event *ev)
{
	struct sl_event rec;
	size_t slen[SL_EV_NSTR], len;
	const void *first = NULL;

	if (src == NULL)
		return;
	rec = *ev;
	if (rec.ts.tv_sec == 0 && rec.ts.tv_nsec == 0)
		clock_gettime(CLOCK_REALTIME, &rec.ts);
	len = sl_event_encoded_len(&rec, slen);
	for (size_t i = 0; i < src->n; i++) {
		void *p = sl_evring_reserve(src->ring[i], len);

		if (p == NULL) {
			sl_evring_drop(src->ring[i]);	/* this sink only */
			continue;
		}
		/* Encode once; the other sinks get a copy of the bytes.  A
		 * committed record stays as it is until this thread writes
		 * that ring again, so reading it back is safe. */
		if (first != NULL)
			memcpy(p, first, len);
		else
			sl_event_encode(p, &rec, slen);
		sl_evring_commit(src->ring[i]);
		first = p;
	}
}
