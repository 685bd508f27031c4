/*
 * flowlog.c — per-producer SPSC rings drained by a writer thread.
 *
 * A ring holds records [u32 length][bytes], padded to 4 bytes, wrapping
 * with a skip marker.  The producer owns `head`, the writer owns `tail`;
 * each publishes with a release store and reads the other's with acquire,
 * so no lock is taken on the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/jw.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "flowlog.h"

#define FL_MAX_SINKS	8
#define FL_MAX_QUEUES	300	/* workers + main; workers <= 256 */
#define FL_SKIP		0xffffffffu	/* "wrap to start" marker */
#define FL_IDLE_NS	(20 * 1000 * 1000)	/* writer poll when idle */
#define FL_CLOSE_WAIT_S	5	/* for a sink that takes no more lines */

struct sl_logq {
	char		*buf;
	size_t		 cap;		/* power of two */
	size_t		 head;		/* producer: next write offset */
	size_t		 tail;		/* writer: next read offset */
	uint64_t	 dropped;	/* producer-owned counter */
};

struct fl_sink {
	char		*path;		/* NULL for stdout/stderr */
	int		 fd;
	int		 owned;		/* we opened it */
};

struct sl_flowlog {
	struct fl_sink	 sinks[FL_MAX_SINKS];
	size_t		 nsinks;
	struct sl_logq	*q[FL_MAX_QUEUES];
	size_t		 nq;		/* published with release */
	pthread_t	 thr;
	int		 running;	/* atomic: writer loop on */
	int		 started;	/* the writer thread exists */
	int		 reopen;	/* atomic: reopen requested */
	uint64_t	 reported;	/* drops already reported (writer) */
	pthread_mutex_t	 qlock;		/* only for adding queues */
};

static int
fl_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* Write it all; a sink error is logged once per burst, never fatal. */
static void
fl_write_all(struct fl_sink *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			sl_log(SL_LOG_ERR, "flowlog: write to %s: %s",
			    s->path ? s->path : "stdout", strerror(errno));
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Drain one queue into every sink; returns bytes drained. */
static size_t
fl_drain(struct sl_flowlog *fl, struct sl_logq *q)
{
	size_t tail = q->tail, drained = 0;
	size_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);

	while (tail != head) {
		size_t off = tail & (q->cap - 1);
		uint32_t len;

		memcpy(&len, q->buf + off, 4);
		if (len == FL_SKIP) {
			tail += q->cap - off;	/* to the start */
			continue;
		}
		for (size_t i = 0; i < fl->nsinks; i++)
			fl_write_all(&fl->sinks[i], q->buf + off + 4, len);
		tail += (4 + len + 3) & ~(size_t)3;
		drained += len;
	}
	__atomic_store_n(&q->tail, tail, __ATOMIC_RELEASE);
	return drained;
}

/* Lines dropped so far by every queue (producers count their own). */
static uint64_t
fl_dropped(const struct sl_flowlog *fl)
{
	uint64_t total = 0;
	size_t nq = __atomic_load_n(&fl->nq, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < nq; i++)
		total += __atomic_load_n(&fl->q[i]->dropped, __ATOMIC_RELAXED);
	return total;
}

static void
fl_report_drops(struct sl_flowlog *fl)
{
	uint64_t total = fl_dropped(fl);
	char buf[256], ts[32];
	struct sl_jw w;

	if (total == fl->reported)
		return;
	sl_jw_begin(&w, buf, sizeof(buf));
	sl_jw_u64(&w, "v", 1);
	sl_jw_str(&w, "ts", sl_rfc3339_now(ts, sizeof(ts)));
	sl_jw_str(&w, "event", "log.dropped");
	sl_jw_u64(&w, "dropped", total - fl->reported);
	sl_jw_u64(&w, "dropped_total", total);
	sl_jw_end(&w);
	for (size_t i = 0; i < fl->nsinks; i++)
		fl_write_all(&fl->sinks[i], buf, w.len);
	sl_log(SL_LOG_WARN, "flowlog: %llu event(s) dropped (queue full)",
	    (unsigned long long)(total - fl->reported));
	fl->reported = total;
}

static void
fl_do_reopen(struct sl_flowlog *fl)
{
	for (size_t i = 0; i < fl->nsinks; i++) {
		struct fl_sink *s = &fl->sinks[i];
		int fd;

		if (!s->owned)
			continue;
		if ((fd = fl_open_file(s->path)) == -1) {
			sl_log(SL_LOG_ERR, "flowlog: cannot reopen %s: %s",
			    s->path, strerror(errno));
			continue;		/* keep writing the old file */
		}
		close(s->fd);
		s->fd = fd;
	}
}

static void *
fl_writer(void *arg)
{
	struct sl_flowlog *fl = arg;

	for (;;) {
		int running = __atomic_load_n(&fl->running, __ATOMIC_ACQUIRE);
		size_t nq = __atomic_load_n(&fl->nq, __ATOMIC_ACQUIRE), got = 0;

		if (__atomic_exchange_n(&fl->reopen, 0, __ATOMIC_ACQ_REL))
			fl_do_reopen(fl);
		for (size_t i = 0; i < nq; i++)
			got += fl_drain(fl, fl->q[i]);
		fl_report_drops(fl);
		if (!running)
			break;			/* drained after the stop flag */
		if (got == 0) {
			struct timespec ts = { 0, FL_IDLE_NS };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

struct sl_flowlog *
sl_flowlog_open(const struct sl_sink *sinks, size_t n)
{
	struct sl_flowlog *fl;

	if (n > FL_MAX_SINKS) {
		sl_log(SL_LOG_ERR, "flowlog: at most %d sinks", FL_MAX_SINKS);
		return NULL;
	}
	if ((fl = sl_calloc(1, sizeof(*fl))) == NULL)
		return NULL;
	pthread_mutex_init(&fl->qlock, NULL);
	for (size_t i = 0; i < n; i++) {
		struct fl_sink *s = &fl->sinks[fl->nsinks];
		const char *p = sinks[i].path;

		if (strcmp(p, "stdout") == 0 || strcmp(p, "stderr") == 0) {
			s->fd = strcmp(p, "stdout") == 0 ? STDOUT_FILENO :
			    STDERR_FILENO;
			fl->nsinks++;
			continue;
		}
		/* The configuration resolved it against log-dir already. */
		if ((s->path = sl_strdup(p)) == NULL)
			goto fail;
		if ((s->fd = fl_open_file(p)) == -1) {
			sl_log(SL_LOG_ERR, "flowlog: cannot open %s: %s", p,
			    strerror(errno));
			sl_free(s->path);
			s->path = NULL;
			goto fail;
		}
		s->owned = 1;
		fl->nsinks++;
	}
	return fl;
fail:
	for (size_t i = 0; i < fl->nsinks; i++) {
		if (fl->sinks[i].owned)
			close(fl->sinks[i].fd);
		sl_free(fl->sinks[i].path);
	}
	pthread_mutex_destroy(&fl->qlock);
	sl_free(fl);
	return NULL;
}

int
sl_flowlog_start(struct sl_flowlog *fl)
{
	fl->running = 1;
	if (pthread_create(&fl->thr, NULL, fl_writer, fl) != 0) {
		sl_log(SL_LOG_ERR, "flowlog: cannot start the writer thread");
		fl->running = 0;
		return -1;
	}
	fl->started = 1;
	return 0;
}

void
sl_flowlog_close(struct sl_flowlog *fl)
{
	if (fl == NULL)
		return;
	if (fl->started) {
		struct timespec dl;

		__atomic_store_n(&fl->running, 0, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += FL_CLOSE_WAIT_S;
		if (pthread_timedjoin_np(fl->thr, NULL, &dl) != 0) {
			/* A sink blocks the writer (a FIFO nobody reads): an
			 * exit beats waiting for ever.  write() is a
			 * cancellation point; what is still queued is lost. */
			sl_log(SL_LOG_ERR, "flowlog: a sink has taken no line "
			    "for %d s; exiting with the lines still queued "
			    "lost", FL_CLOSE_WAIT_S);
			pthread_cancel(fl->thr);
			pthread_join(fl->thr, NULL);
		}
	} else {
		/* Never started (an early exit): what was queued still
		 * goes out, from this thread. */
		for (size_t i = 0; i < fl->nq; i++)
			(void)fl_drain(fl, fl->q[i]);
		fl_report_drops(fl);
	}
	for (size_t i = 0; i < fl->nsinks; i++) {
		if (fl->sinks[i].owned)
			close(fl->sinks[i].fd);
		sl_free(fl->sinks[i].path);
	}
	for (size_t i = 0; i < fl->nq; i++) {
		sl_free(fl->q[i]->buf);
		sl_free(fl->q[i]);
	}
	pthread_mutex_destroy(&fl->qlock);
	sl_free(fl);
}

void
sl_flowlog_reopen(struct sl_flowlog *fl)
{
	__atomic_store_n(&fl->reopen, 1, __ATOMIC_RELEASE);
}

struct sl_logq *
sl_flowlog_queue(struct sl_flowlog *fl, size_t bytes)
{
	struct sl_logq *q;
	size_t cap = 4096;

	while (cap < bytes)
		cap <<= 1;
	if ((q = sl_calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->buf = sl_alloc(cap)) == NULL) {
		sl_free(q);
		return NULL;
	}
	q->cap = cap;
	pthread_mutex_lock(&fl->qlock);
	if (fl->nq == FL_MAX_QUEUES) {
		pthread_mutex_unlock(&fl->qlock);
		sl_free(q->buf);
		sl_free(q);
		return NULL;
	}
	fl->q[fl->nq] = q;
	__atomic_store_n(&fl->nq, fl->nq + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fl->qlock);
	return q;
}

void
sl_logq_put(struct sl_logq *q, const char *line, size_t len)
{
	size_t need, off, room, tail, head;
	uint32_t l32 = (uint32_t)len;

	if (q == NULL)
		return;
	head = q->head;			/* only this thread writes it */
	need = (4 + len + 3) & ~(size_t)3;
	off = head & (q->cap - 1);
	tail = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
	/* A record never wraps: if it does not fit before the end, mark the
	 * rest of the ring as skipped and start over at offset 0. */
	room = q->cap - off;
	if (need + 4 > q->cap / 2 ||
	    head - tail + need + (room < need ? room : 0) > q->cap) {
		__atomic_store_n(&q->dropped, q->dropped + 1, __ATOMIC_RELAXED);
		return;
	}
	if (room < need) {
		uint32_t skip = FL_SKIP;

		memcpy(q->buf + off, &skip, 4);
		head += room;
		off = 0;
	}
	memcpy(q->buf + off, &l32, 4);
	memcpy(q->buf + off + 4, line, len);
	__atomic_store_n(&q->head, head + need, __ATOMIC_RELEASE);
}
