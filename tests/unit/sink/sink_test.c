/*
 * sink_test.c — the event log (proxy/sink/): schema v1 pinned byte for
 * byte, the record codec, the SPSC ring, and sinks with their own
 * threads, formats, drops, reopen and write failures.
 *
 * Sinks write to files in a temporary directory (removed at the end of
 * each test) or to FIFOs the test reads, or does not.  Every wait is
 * bounded in time, and a test that allocates after its sinks started
 * stops them before it fails: under `make test-oom` a failed allocation
 * leaves no thread behind.  A full disk is played without root: a file
 * size limit (RLIMIT_FSIZE) makes a write stop part way like ENOSPC does,
 * /dev/full refuses every write, a FIFO whose reader left gives EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/alloc.h"
#include "lib/clock.h"
#include "policy/config.h"
#include "proxy/sink/sink.h"
#include "proxy/sink/sink_int.h"
#include "tests/common/fds.h"
#include "tests/unit/sink/golden_cases.h"
#include "tests/unit/t.h"

#define GOLDEN		"tests/data/sink/json1.jsonl"
#define WAIT_MS		5000	/* for a sink thread to write */

/* ------------------------------------------------------------------ */
/* helpers                                                              */

struct tdir {
	char	path[64];
};

static int
tdir_make(struct tdir *d)
{
	signal(SIGPIPE, SIG_IGN);	/* a FIFO reader may go first */
	snprintf(d->path, sizeof(d->path), "/tmp/sluice-sink.XXXXXX");
	return mkdtemp(d->path) == NULL ? -1 : 0;
}

/* dir/name into buf. */
static const char *
tdir_file(const struct tdir *d, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", d->path, name);
	return buf;
}

/* Remove the directory and what the tests left in it. */
static void
tdir_rm(const struct tdir *d)
{
	static const char *const names[] = {
		"a.jsonl", "b.log", "a.jsonl.1", "fifo", "err", "bad",
		"c.out",
	};
	char p[128];

	for (size_t i = 0; i < SL_NELEM(names); i++)
		unlink(tdir_file(d, names[i], p, sizeof(p)));
	rmdir(d->path);
}

/* How many times needle occurs in txt (0 when NULL). */
static size_t
text_count(const char *txt, const char *needle)
{
	size_t n = 0;

	for (const char *p = txt; p != NULL && (p = strstr(p, needle)) != NULL;
	    p += strlen(needle))
		n++;
	return n;
}

/* How many times needle occurs in the file (0 when unreadable). */
static size_t
file_count(const char *path, const char *needle)
{
	char *txt = t_slurp(path, NULL);
	size_t n = text_count(txt, needle);

	free(txt);
	return n;
}

/* Wait until the file holds at least n lines; returns how many it does. */
static size_t
wait_lines(const char *path, size_t n)
{
	uint64_t end = sl_mono_ms() + WAIT_MS;
	size_t got;

	while ((got = file_count(path, "\n")) < n && sl_mono_ms() < end)
		usleep(2000);
	return got;
}

/* A flow.end event for flow id i. */
static void
ev_make(struct sl_event *ev, uint64_t i, const char *host)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = SL_EV_FLOW_END;
	ev->flow = i;
	ev->mode = SL_EV_MODE_EXPLICIT;
	ev->cli_ip.af = AF_INET;
	ev->cli_ip.b[0] = 10;
	ev->cli_port = 40000;
	ev->method = "CONNECT";
	ev->host = host;
	ev->dst_port = 443;
	ev->action = SL_EV_ACT_SPLICE;
	ev->rule = "all";
	ev->up = i;
	ev->term[0] = 'C';
	ev->term[1] = 'R';
}

/* A test-only format, to tell the sinks' outputs apart. */
static size_t
kv_format(const struct sl_event *ev, char *buf, size_t cap)
{
	int n;

	if (ev->kind == SL_EV_LOG_DROPPED)
		n = snprintf(buf, cap, "%s dropped=%llu total=%llu%s%s\n",
		    sl_event_kind_name(ev->kind),
		    (unsigned long long)ev->dropped,
		    (unsigned long long)ev->dropped_total,
		    ev->reason != NULL ? " reason=" : "",
		    ev->reason != NULL ? ev->reason : "");
	else
		n = snprintf(buf, cap, "%s flow=%llu host=%s\n",
		    sl_event_kind_name(ev->kind),
		    (unsigned long long)ev->flow,
		    ev->host != NULL ? ev->host : "-");
	return n < 0 ? 0 : SL_MIN((size_t)n, cap - 1);
}

static const struct sl_evfmt kv_fmt = { "test-kv", 256, kv_format };

/* The golden lines, split in place; NULL when unreadable. */
static char *
golden_lines(char **lines, size_t max, size_t *n)
{
	char *txt = t_slurp(GOLDEN, NULL), *p = txt;

	*n = 0;
	while (p != NULL && *p != '\0' && *n < max) {
		char *nl = strchr(p, '\n');

		lines[(*n)++] = p;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return txt;
}

/* Does line (up to and with its '\n') equal got (got_len bytes)? */
static int
line_is(const char *line, const char *got, size_t got_len)
{
	const char *nl = strchr(line, '\n');
	size_t len = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);

	return len == got_len && memcmp(line, got, len) == 0;
}

/* ------------------------------------------------------------------ */
/* schema v1, byte for byte                                             */

T_TEST(json1_golden_lines)
{
	char *lines[64], buf[4096];
	size_t n;
	char *txt = golden_lines(lines, SL_NELEM(lines), &n);

	golden_fill();
	T_CHECK(txt != NULL, "cannot read %s", GOLDEN);
	if (n != SL_NELEM(golden_cases)) {
		free(txt);
		T_CHECK(0, "%zu golden lines for %zu cases", n,
		    SL_NELEM(golden_cases));
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = sl_evfmt_json1.fn(&golden_cases[i].ev, buf,
		    sizeof(buf));

		if (!line_is(lines[i], buf, len)) {
			printf("# got:  %.*s", (int)len, buf);
			free(txt);
			T_CHECK(0, "case %s differs from line %zu of %s",
			    golden_cases[i].name, i + 1, GOLDEN);
		}
	}
	free(txt);
}

/* The queue changes nothing: encode, decode, format = format. */
T_TEST(json1_golden_lines_through_the_record_codec)
{
	static char rec[64 * 1024];
	char *lines[64], buf[4096];
	size_t n;
	char *txt = golden_lines(lines, SL_NELEM(lines), &n);

	golden_fill();
	T_CHECK(txt != NULL && n == SL_NELEM(golden_cases), "golden file");
	for (size_t i = 0; i < n; i++) {
		size_t slen[SL_EV_NSTR], len;
		struct sl_event ev;

		len = sl_event_encoded_len(&golden_cases[i].ev, slen);
		if (len > sizeof(rec)) {
			free(txt);
			T_CHECK(0, "case %s: record of %zu bytes",
			    golden_cases[i].name, len);
		}
		sl_event_encode(rec, &golden_cases[i].ev, slen);
		sl_event_decode(&ev, rec);
		len = sl_evfmt_json1.fn(&ev, buf, sizeof(buf));
		if (!line_is(lines[i], buf, len)) {
			free(txt);
			T_CHECK(0, "case %s changed through the codec",
			    golden_cases[i].name);
		}
	}
	free(txt);
}

T_TEST(json1_fits_a_small_buffer_as_one_valid_line)
{
	char buf[64];
	size_t len;

	golden_fill();
	len = sl_evfmt_json1.fn(&golden_cases[1].ev, buf, sizeof(buf));
	T_ASSERT(len < sizeof(buf));
	T_EQ(buf[len - 1], '\n');
	T_ASSERT(strstr(buf, ",\"trunc\":true}\n") != NULL);
}

/* ------------------------------------------------------------------ */
/* names and the record codec                                           */

T_TEST(names_round_trip)
{
	for (int k = 0; k < SL_EV_NKINDS; k++) {
		T_ASSERT(sl_event_kind_name((enum sl_event_kind)k) != NULL);
		T_EQ(sl_event_kind_parse(sl_event_kind_name(
		    (enum sl_event_kind)k)), k);
	}
	T_EQ(sl_event_kind_parse("flow.nope"), -1);
	T_ASSERT(sl_event_kind_name(SL_EV_NKINDS) == NULL);
	T_STREQ(sl_ev_proto_name(SL_EV_PROTO_NONE), "none");
	T_STREQ(sl_ev_action_name(SL_EV_ACT_INSPECT), "inspect");
	T_ASSERT(sl_ev_action_name(SL_EV_ACT_UNSET) == NULL);
	T_STREQ(sl_ev_mode_name(SL_EV_MODE_TRANSPARENT), "transparent");
	T_ASSERT(sl_ev_mode_name(SL_EV_MODE_UNSET) == NULL);
}

T_TEST(codec_keeps_null_and_empty_strings_apart)
{
	static char rec[1024];
	size_t slen[SL_EV_NSTR];
	struct sl_event ev, out;

	ev_make(&ev, 1, "");
	ev.sni = NULL;
	T_ASSERT(sl_event_encoded_len(&ev, slen) <= sizeof(rec));
	sl_event_encode(rec, &ev, slen);
	memset(&ev, 0x55, sizeof(ev));	/* the producer's memory is gone */
	sl_event_decode(&out, rec);
	T_STREQ(out.host, "");
	T_ASSERT(out.sni == NULL);
	T_STREQ(out.method, "CONNECT");
	T_EQ(out.flow, 1);
	T_STREQ(out.term, "CR");
}

T_TEST(codec_cuts_long_strings_at_a_character_boundary)
{
	static char rec[64 * 1024];
	size_t slen[SL_EV_NSTR];
	struct sl_event ev, out;

	golden_fill();
	ev_make(&ev, 1, g_long_host);
	ev.sni = g_long_sni;
	T_ASSERT(sl_event_encoded_len(&ev, slen) <= sizeof(rec));
	sl_event_encode(rec, &ev, slen);
	sl_event_decode(&out, rec);
	T_EQ(strlen(out.host), SL_EV_STR_MAX);
	/* 'x' then 2-byte characters: byte 4096 is inside one. */
	T_EQ(strlen(out.sni), SL_EV_STR_MAX - 1);
	T_EQ((unsigned char)out.sni[SL_EV_STR_MAX - 2], 0xa9);
}

/* ------------------------------------------------------------------ */
/* the ring                                                             */

/* Fill a record of len bytes from sequence number seq. */
static void
rec_fill(unsigned char *p, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 31 + i);
}

static int
rec_check(const unsigned char *p, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seq * 31 + i))
			return 0;
	return 1;
}

T_TEST(ring_wraps_around_in_order)
{
	struct sl_evring *r = sl_evring_new(1000);
	unsigned put = 0, got = 0;

	T_ASSERT(r != NULL);
	/* Odd sizes, half a ring in flight: more than 40 wraps. */
	while (got < 4000) {
		unsigned char *p;
		const unsigned char *q;
		size_t len = 1 + (put * 997) % 3001, qlen;

		while (put - got < 40 &&
		    (p = sl_evring_reserve(r, len)) != NULL) {
			rec_fill(p, len, put++);
			sl_evring_commit(r);
			len = 1 + (put * 997) % 3001;
		}
		for (int i = 0; i < 25 &&
		    (q = sl_evring_peek(r, &qlen)) != NULL; i++) {
			if (qlen != 1 + (got * 997) % 3001 ||
			    !rec_check(q, qlen, got)) {
				sl_evring_free(r);
				T_CHECK(0, "record %u damaged", got);
			}
			sl_evring_pop(r);
			got++;
		}
	}
	T_EQ(sl_evring_dropped(r), 0);
	sl_evring_free(r);
}

T_TEST(ring_full_refuses_and_counts_drops)
{
	struct sl_evring *r = sl_evring_new(0);
	size_t n = 0, qlen;

	T_ASSERT(r != NULL);
	while (sl_evring_reserve(r, 1000) != NULL) {
		sl_evring_commit(r);
		n++;
	}
	sl_evring_drop(r);
	sl_evring_drop(r);
	T_EQ(n, SL_EVRING_MIN / 1004);
	T_EQ(sl_evring_dropped(r), 2);
	/* One record out makes room for one, across the wrap. */
	T_ASSERT(sl_evring_peek(r, &qlen) != NULL);
	sl_evring_pop(r);
	T_ASSERT(sl_evring_reserve(r, 1000) != NULL);
	sl_evring_commit(r);
	while (sl_evring_peek(r, &qlen) != NULL)
		sl_evring_pop(r);
	/* Larger than half the ring: never fits, even empty. */
	T_ASSERT(sl_evring_reserve(r, SL_EVRING_MIN / 2) == NULL);
	sl_evring_free(r);
}

struct ring_thr {
	struct sl_evring	*r;
	unsigned		 n;
	unsigned		 bad;
};

static void *
ring_consumer(void *arg)
{
	struct ring_thr *t = arg;
	uint64_t end = sl_mono_ms() + 10 * WAIT_MS;

	for (unsigned seq = 0; seq < t->n && sl_mono_ms() < end;) {
		const unsigned char *q;
		size_t len;

		if ((q = sl_evring_peek(t->r, &len)) == NULL)
			continue;
		if (len != 4 + seq % 500 || !rec_check(q, len, seq))
			t->bad++;
		sl_evring_pop(t->r);
		seq++;
	}
	return NULL;
}

T_TEST(ring_between_two_threads_loses_and_damages_nothing)
{
	struct ring_thr t = { sl_evring_new(0), 200000, 0 };
	uint64_t end = sl_mono_ms() + 10 * WAIT_MS;
	pthread_t thr;

	T_ASSERT(t.r != NULL);
	if (pthread_create(&thr, NULL, ring_consumer, &t) != 0) {
		sl_evring_free(t.r);
		T_CHECK(0, "pthread_create");
	}
	for (unsigned seq = 0; seq < t.n && sl_mono_ms() < end;) {
		size_t len = 4 + seq % 500;
		unsigned char *p = sl_evring_reserve(t.r, len);

		if (p == NULL)
			continue;		/* full: the consumer catches up */
		rec_fill(p, len, seq++);
		sl_evring_commit(t.r);
	}
	pthread_join(thr, NULL);
	sl_evring_free(t.r);
	T_EQ(t.bad, 0);
}

/* ------------------------------------------------------------------ */
/* sinks                                                                */

/*
 * The usual set-up: a temporary directory, sink 0 writing the file a in
 * format fa, sink 1 (when fb is not NULL) the file b in format fb, and
 * one producer.  -1 when any step fails.
 */
struct fx {
	struct tdir	 d;
	char		 a[128], b[128];
	struct sl_sinks	*s;
	struct sl_evsrc	*src;
};

static int
fx_open(struct fx *f, const struct sl_evfmt *fa, const struct sl_evfmt *fb)
{
	f->s = NULL;
	if (tdir_make(&f->d) == -1)
		return -1;
	tdir_file(&f->d, "a.jsonl", f->a, sizeof(f->a));
	tdir_file(&f->d, "b.log", f->b, sizeof(f->b));
	if ((f->s = sl_sinks_new()) == NULL ||
	    sl_sinks_add(f->s, f->a, fa) == -1 ||
	    (fb != NULL && sl_sinks_add(f->s, f->b, fb) == -1))
		return -1;
	return (f->src = sl_sinks_source(f->s, 0)) == NULL ? -1 : 0;
}

/* Close the sinks, read what they wrote (NULL: nothing), remove it all. */
static void
fx_end(struct fx *f, char **ta, char **tb)
{
	sl_sinks_close(f->s);
	*ta = t_slurp(f->a, NULL);
	if (tb != NULL)
		*tb = t_slurp(f->b, NULL);
	tdir_rm(&f->d);
}

T_TEST(each_sink_formats_with_its_own_format)
{
	struct fx f;
	struct sl_event ev;
	char *ta, *tb;

	T_ASSERT(fx_open(&f, &sl_evfmt_json1, &kv_fmt) == 0);
	T_ASSERT(sl_sinks_start(f.s) == 0);
	ev_make(&ev, 41, "one.example.test");
	sl_event_put(f.src, &ev);
	ev_make(&ev, 42, NULL);
	ev.kind = SL_EV_FLOW_BLOCKED;
	sl_event_put(f.src, &ev);
	T_EQ(wait_lines(f.a, 2), 2);
	T_EQ(wait_lines(f.b, 2), 2);
	fx_end(&f, &ta, &tb);
	T_CHECK(ta != NULL && tb != NULL, "outputs");
	T_CHECK(strstr(ta, "{\"v\":1,\"ts\":\"") == ta &&
	    strstr(ta, "\"event\":\"flow.end\",\"flow\":41,\"mode\":"
	    "\"explicit\",\"cli\":\"10.0.0.0:40000\",\"method\":\"CONNECT\","
	    "\"host\":\"one.example.test\",\"dst_port\":443,\"action\":"
	    "\"splice\",\"rule\":\"all\",\"up\":41,\"down\":0,\"ms\":0,"
	    "\"term\":\"CR\"}\n{\"v\":1") != NULL, "json1: %s", ta);
	T_STREQ(tb, "flow.end flow=41 host=one.example.test\n"
	    "flow.blocked flow=42 host=-\n");
	free(ta);
	free(tb);
}

T_TEST(put_copies_the_strings_the_producer_frees_at_once)
{
	struct fx f;
	struct sl_event ev;
	char *host, *txt;

	T_ASSERT(fx_open(&f, &kv_fmt, NULL) == 0);
	/* Not started: the record must outlive the producer's memory. */
	T_ASSERT((host = strdup("gone.example.test")) != NULL);
	ev_make(&ev, 7, host);
	sl_event_put(f.src, &ev);
	memset(host, 'X', strlen(host));
	free(host);
	T_ASSERT(sl_sinks_start(f.s) == 0);
	T_EQ(wait_lines(f.a, 1), 1);
	fx_end(&f, &txt, NULL);
	T_STREQ(txt, "flow.end flow=7 host=gone.example.test\n");
	free(txt);
}

T_TEST(put_stamps_the_time_unless_given)
{
	struct fx f;
	struct sl_event ev;
	struct timespec now;
	char *txt, want[32];

	T_ASSERT(fx_open(&f, &sl_evfmt_json1, NULL) == 0);
	clock_gettime(CLOCK_REALTIME, &now);
	ev_make(&ev, 1, NULL);
	sl_event_put(f.src, &ev);		/* now */
	ev.ts.tv_sec = 1795281480;
	sl_event_put(f.src, &ev);		/* as given */
	fx_end(&f, &txt, NULL);			/* never started: writes */
	T_ASSERT(txt != NULL);
	/* The day of now (a test may straddle a second, even a minute). */
	sl_rfc3339_fmt(&now, want, sizeof(want));
	want[10] = '\0';
	T_CHECK(strncmp(txt + 13, want, 10) == 0, "%s vs %s", txt, want);
	T_ASSERT(strstr(txt, "\"ts\":\"2026-11-21T17:18:00.000Z\"") != NULL);
	free(txt);
}

/*
 * Two started JSON sinks and a producer: sink 0 writes into a FIFO whose
 * reader (rfd, one page of pipe) reads only when the test does, sink 1
 * into the file b.  -1 when any step fails.
 */
struct stuck {
	struct tdir	 d;
	char		 b[128];
	int		 rfd;
	struct sl_sinks	*s;
	struct sl_evsrc	*src;
};

static int
stuck_start(struct stuck *k)
{
	char fifo[128];

	k->rfd = -1;
	k->s = NULL;
	if (tdir_make(&k->d) == -1)
		return -1;
	tdir_file(&k->d, "fifo", fifo, sizeof(fifo));
	tdir_file(&k->d, "b.log", k->b, sizeof(k->b));
	if (mkfifo(fifo, 0600) == -1 ||
	    (k->rfd = open(fifo, O_RDONLY | O_NONBLOCK)) == -1)
		return -1;
	(void)fcntl(k->rfd, F_SETPIPE_SZ, 4096);
	if ((k->s = sl_sinks_new()) == NULL ||
	    sl_sinks_add(k->s, fifo, &sl_evfmt_json1) == -1 ||
	    sl_sinks_add(k->s, k->b, &sl_evfmt_json1) == -1 ||
	    (k->src = sl_sinks_source(k->s, 0)) == NULL)
		return -1;
	return sl_sinks_start(k->s);
}

/*
 * Sink 0 writes into a FIFO nobody reads: its thread blocks, its ring
 * fills, it drops.  The producer goes on at full speed and sink 1 gets
 * every event.  Once the FIFO is read, sink 0 writes what it kept and
 * reports its own drops; sink 1 reports none.
 */
T_TEST(blocked_sink_stalls_neither_the_producer_nor_the_other_sink)
{
	enum { BATCH = 100, NB = 50, N = BATCH * NB };
	struct stuck k;
	char buf[65536];
	struct sl_event ev;
	uint64_t worst = 0, dropped0, end;
	size_t len = 0, flows = 0, reported = 0;
	char *txt;

	T_ASSERT(stuck_start(&k) == 0);
	for (uint64_t i = 0; i < N; i += BATCH) {
		uint64_t t0 = sl_mono_us();

		for (uint64_t j = i; j < i + BATCH; j++) {
			ev_make(&ev, j, "blocked.example.test");
			sl_event_put(k.src, &ev);
		}
		worst = SL_MAX(worst, sl_mono_us() - t0);
		/* Sink 1 keeps up: pace the producer to its poll. */
		T_EQ(wait_lines(k.b, i + BATCH), i + BATCH);
	}
	T_CHECK(worst < 200000, "%d puts took %llu us", BATCH,
	    (unsigned long long)worst);
	T_EQ(sl_sinks_dropped(k.s, 1), 0);
	dropped0 = sl_sinks_dropped(k.s, 0);
	T_CHECK(dropped0 > N / 2, "sink 0 dropped %llu",
	    (unsigned long long)dropped0);
	/* Read the FIFO until sink 0 accounted for every event. */
	end = sl_mono_ms() + 2 * WAIT_MS;
	while (flows + reported < N && sl_mono_ms() < end) {
		ssize_t n = read(k.rfd, buf + len, sizeof(buf) - 1 - len);
		char *nl;

		if (n <= 0) {
			usleep(1000);
			continue;
		}
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			char *p;

			*nl = '\0';
			if (strstr(buf, "\"event\":\"flow.end\"") != NULL)
				flows++;
			else if ((p = strstr(buf, "\"dropped\":")) != NULL)
				reported += strtoull(p + 10, NULL, 10);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
	sl_sinks_close(k.s);
	close(k.rfd);
	txt = t_slurp(k.b, NULL);
	tdir_rm(&k.d);
	T_EQ(flows + reported, N);
	T_EQ(reported, dropped0);
	T_ASSERT(txt != NULL);
	T_ASSERT(strstr(txt, "log.dropped") == NULL);
	free(txt);
}

/* Never started, so nothing drains: each sink drops and says so. */
T_TEST(full_rings_drop_per_sink_and_report_in_each_output)
{
	struct fx f;
	struct sl_evsrc *src2;
	struct sl_event ev;
	uint64_t put = 0;
	char *ta, *tb;

	T_ASSERT(fx_open(&f, &sl_evfmt_json1, &kv_fmt) == 0);
	/* A second producer that stays under its rings' size. */
	T_ASSERT((src2 = sl_sinks_source(f.s, 0)) != NULL);
	while (sl_sinks_dropped(f.s, 0) < 10) {
		ev_make(&ev, put++, "x.example.test");
		sl_event_put(f.src, &ev);
	}
	ev_make(&ev, 1000000, "other.example.test");
	sl_event_put(src2, &ev);
	T_EQ(sl_sinks_dropped(f.s, 0), 10);
	T_EQ(sl_sinks_dropped(f.s, 1), 10);
	fx_end(&f, &ta, &tb);
	T_CHECK(ta != NULL && tb != NULL, "outputs");
	T_ASSERT(strstr(ta, "\"event\":\"log.dropped\",\"dropped\":10,"
	    "\"dropped_total\":10}\n") != NULL);
	T_ASSERT(strstr(tb, "log.dropped dropped=10 total=10\n") != NULL);
	T_ASSERT(strstr(tb, "flow=1000000 ") != NULL);
	free(ta);
	free(tb);
}

T_TEST(reopen_after_rename_writes_a_new_file)
{
	struct fx f;
	struct sl_event ev;
	char a1[128], *t0, *t1;
	uint64_t end;

	T_ASSERT(fx_open(&f, &kv_fmt, NULL) == 0);
	tdir_file(&f.d, "a.jsonl.1", a1, sizeof(a1));
	T_ASSERT(sl_sinks_start(f.s) == 0);
	ev_make(&ev, 1, "before");
	sl_event_put(f.src, &ev);
	T_EQ(wait_lines(f.a, 1), 1);
	T_ASSERT(rename(f.a, a1) == 0);
	sl_sinks_reopen(f.s);
	end = sl_mono_ms() + WAIT_MS;
	while (access(f.a, F_OK) != 0 && sl_mono_ms() < end)
		usleep(2000);
	ev_make(&ev, 2, "after");
	sl_event_put(f.src, &ev);
	T_EQ(wait_lines(f.a, 1), 1);
	t0 = t_slurp(a1, NULL);
	fx_end(&f, &t1, NULL);
	T_STREQ(t0, "flow.end flow=1 host=before\n");
	T_STREQ(t1, "flow.end flow=2 host=after\n");
	free(t0);
	free(t1);
}

T_TEST(sources_added_while_running_are_drained)
{
	struct fx f;
	struct sl_evsrc *more[4];
	struct sl_event ev;
	size_t n;
	char *txt;

	T_ASSERT(fx_open(&f, &kv_fmt, NULL) == 0);
	T_ASSERT(sl_sinks_start(f.s) == 0);
	for (n = 0; n < SL_NELEM(more); n++)
		if ((more[n] = sl_sinks_source(f.s, 0)) == NULL)
			break;
	if (n < SL_NELEM(more)) {
		fx_end(&f, &txt, NULL);		/* stop the thread first */
		free(txt);
		T_CHECK(0, "source %zu: out of memory", n);
	}
	for (size_t i = 0; i < SL_NELEM(more); i++) {
		ev_make(&ev, i, "many.example.test");
		sl_event_put(more[i], &ev);
	}
	sl_event_put(NULL, &ev);		/* no flow log: a no-op */
	n = wait_lines(f.a, SL_NELEM(more));
	fx_end(&f, &txt, NULL);
	free(txt);
	T_EQ(n, SL_NELEM(more));
}

T_TEST(stdout_and_stderr_are_sinks_and_stay_open)
{
	struct sl_sinks *s;
	int fds = count_fds();

	T_ASSERT((s = sl_sinks_new()) != NULL);
	T_ASSERT(sl_sinks_add(s, "stderr", &kv_fmt) == 0);
	T_ASSERT(sl_sinks_add(s, "stdout", &kv_fmt) == 0);
	T_ASSERT(sl_sinks_source(s, 0) != NULL);
	T_ASSERT(sl_sinks_start(s) == 0);
	sl_sinks_close(s);
	T_EQ(count_fds(), fds);
	T_ASSERT(fcntl(STDERR_FILENO, F_GETFD) != -1);
	T_ASSERT(fcntl(STDOUT_FILENO, F_GETFD) != -1);
}

/* Two configured sinks and a producer, or NULL. */
static struct sl_sinks *
open_two(const struct tdir *d)
{
	char a[128], b[128];
	struct sl_sink conf[2] = {
		{ SL_SINK_JSON, a }, { SL_SINK_JSON, b },
	};
	struct sl_sinks *s;

	tdir_file(d, "a.jsonl", a, sizeof(a));
	tdir_file(d, "b.log", b, sizeof(b));
	s = sl_sinks_open(conf, SL_NELEM(conf));
	if (s != NULL && sl_sinks_source(s, 0) == NULL) {
		sl_sinks_close(s);
		return NULL;
	}
	return s;
}

T_TEST(open_fails_cleanly_for_a_bad_path_or_no_memory)
{
	struct tdir d;
	char bad[128];
	struct sl_sink conf = { SL_SINK_JSON, bad };
	struct sl_sinks *s;
	int fds = count_fds();

	T_ASSERT(tdir_make(&d) == 0);
	tdir_file(&d, "bad/x.jsonl", bad, sizeof(bad));
	T_ASSERT(sl_sinks_open(&conf, 1) == NULL);
	if (getenv("SL_OOM") != NULL) {
		/* make test-oom fails each allocation of this for us. */
		sl_sinks_close(open_two(&d));
		tdir_rm(&d);
		return;
	}
	for (unsigned long n = 1;; n++) {
		sl_alloc_fail_at(n);
		s = open_two(&d);
		if (sl_alloc_fail_at(0) < n) {
			T_ASSERT(s != NULL);	/* no failure was reached */
			sl_sinks_close(s);
			break;
		}
		T_CHECK(s == NULL, "allocation %lu failed, yet it opened", n);
		T_CHECK(count_fds() == fds, "allocation %lu failed: fd leak", n);
	}
	tdir_rm(&d);
	T_EQ(count_fds(), fds);
}

/*
 * A sink blocked in write() for 5 s is given up at close (060-drain
 * checks the daemon's exit; this, the message and the other sink).
 */
T_TEST(close_abandons_a_sink_that_takes_no_line_for_5_s)
{
	struct stuck k;
	char err[128], *msg;
	struct sl_event ev;
	uint64_t t0, dt;
	int efd, saved;
	size_t nb;

	T_ASSERT(stuck_start(&k) == 0);
	tdir_file(&k.d, "err", err, sizeof(err));
	for (uint64_t i = 0; i < 100; i++) {
		ev_make(&ev, i, "stuck.example.test");
		sl_event_put(k.src, &ev);
	}
	nb = wait_lines(k.b, 100);
	T_ASSERT((efd = open(err, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	saved = dup(STDERR_FILENO);
	dup2(efd, STDERR_FILENO);
	t0 = sl_mono_ms();
	sl_sinks_close(k.s);
	dt = sl_mono_ms() - t0;
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);
	close(k.rfd);
	msg = t_slurp(err, NULL);
	tdir_rm(&k.d);
	T_EQ(nb, 100);
	T_CHECK(dt >= 4900 && dt < 8000, "close took %llu ms",
	    (unsigned long long)dt);
	T_CHECK(msg != NULL && strstr(msg, "flowlog: a sink has taken no line "
	    "for 5 s; exiting with the lines still queued lost") != NULL,
	    "daemon log: %s", msg ? msg : "(none)");
	free(msg);
}

/* ------------------------------------------------------------------ */
/* write failures (issue 12 item 6)                                     */

#define FSIZE_LIMIT	1000	/* "the disk": bytes a file may grow to */
#define FULL_HOST	"full.example.test"

/* Let files grow to `bytes` only (RLIM_INFINITY: as far as allowed). */
static void
fsize_limit(rlim_t bytes)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);	/* past it: EFBIG, not a signal */
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0) {
		rl.rlim_cur = SL_MIN(bytes, rl.rlim_max);
		(void)setrlimit(RLIMIT_FSIZE, &rl);
	}
}

/* Point fd (stdout, stderr) at path, truncated; the old fd, or -1. */
static int
fd_to(int fd, const char *path)
{
	int nfd, saved;

	fflush(NULL);
	if ((nfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if ((saved = dup(fd)) != -1 && dup2(nfd, fd) == -1) {
		close(saved);
		saved = -1;
	}
	close(nfd);
	return saved;
}

/* Undo fd_to(). */
static void
fd_back(int fd, int saved)
{
	if (saved == -1)
		return;
	fflush(NULL);
	dup2(saved, fd);
	close(saved);
}

/*
 * Write five records of 300 bytes with files limited to 1000 bytes until
 * the fifth: through a sink file opened on a file of a temporary
 * directory, or through "stdout" pointing at it.  rc and err: each
 * write's result and errno; *txt (malloc'd) and *len: the file then.
 */
static int
cut_run(int via_stdout, int rc[5], int err[5], char **txt, size_t *len)
{
	struct tdir d;
	struct sl_sinkfile f;
	char path[128], rec[300];
	int saved = -1, ret = -1;

	*txt = NULL;
	if (tdir_make(&d) == -1)
		return -1;
	tdir_file(&d, via_stdout ? "c.out" : "a.jsonl", path, sizeof(path));
	if (via_stdout && (saved = fd_to(STDOUT_FILENO, path)) == -1)
		goto out;
	if (sl_sinkfile_open(&f, via_stdout ? "stdout" : path) == -1)
		goto out;
	memset(rec, 'r', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	fsize_limit(FSIZE_LIMIT);
	for (int i = 0; i < 5; i++) {
		if (i == 4)
			fsize_limit(RLIM_INFINITY);
		rc[i] = sl_sinkfile_write(&f, rec, sizeof(rec));
		err[i] = rc[i] == -1 ? errno : 0;
	}
	sl_sinkfile_close(&f);
	ret = 0;
out:
	fd_back(STDOUT_FILENO, saved);
	*txt = t_slurp(path, len);
	tdir_rm(&d);
	return ret;
}

/*
 * Three records fit, the fourth stops at byte 1000 (then EFBIG, as
 * ENOSPC would): it is cut off, and the fifth follows the third.
 */
T_TEST(file_write_cut_short_leaves_the_file_as_it_was)
{
	int rc[5], err[5], ran;
	size_t len = 0;
	char *txt;

	ran = cut_run(0, rc, err, &txt, &len);
	free(txt);
	T_ASSERT(ran == 0);
	T_ASSERT(rc[0] == 0 && rc[1] == 0 && rc[2] == 0);
	T_EQ(rc[3], -1);
	T_EQ(err[3], EFBIG);
	T_EQ(rc[4], 0);
	T_EQ(len, 4 * 300);		/* four whole records */
}

/*
 * stdout cannot be cut (the file is not ours: another writer may share
 * it): the fragment stays, and the next write ends its line first.
 */
T_TEST(stdout_write_cut_short_leaves_a_fragment_on_its_own_line)
{
	int rc[5], err[5], ran, ok;
	size_t len = 0;
	char *txt;

	ran = cut_run(1, rc, err, &txt, &len);
	/* 3 records, 100 bytes of the fourth, "\n", the fifth. */
	ok = txt != NULL && len == 1000 + 1 + 300 && txt[899] == '\n' &&
	    txt[999] == 'r' && txt[1000] == '\n' && txt[1001] == 'r' &&
	    txt[1300] == '\n';
	free(txt);
	T_ASSERT(ran == 0);
	T_EQ(rc[3], -1);
	T_EQ(err[3], EFBIG);
	T_EQ(rc[4], 0);
	T_CHECK(ok, "stdout holds %zu bytes, not 3 lines, a fragment of 100 "
	    "on its own line and 1 line", len);
}

/* A sink, its producer, and the files a test reads after it. */
struct full {
	struct tdir	 d;
	char		 out[128];	/* what the sink wrote */
	char		 err[128];	/* the daemon log */
	struct sl_sinks	*s;
	struct sl_evsrc	*src;
	size_t		 lines1;	/* lines once the disk was full */
	uint64_t	 lost1;		/* events lost then */
	char		*txt, *log;	/* read at the end (malloc'd) */
};

/* Wait until cond(u) holds (bounded); returns it. */
static int
full_wait(struct full *u, int (*cond)(struct full *))
{
	uint64_t end = sl_mono_ms() + 2 * WAIT_MS;

	while (!cond(u) && sl_mono_ms() < end)
		usleep(2000);
	return cond(u);
}

enum { FULL_N1 = 60, FULL_N2 = 10 };

/* Every event of the first batch written or counted lost. */
static int
full_accounted(struct full *u)
{
	return file_count(u->out, "\n") + sl_sinks_dropped(u->s, 0) >=
	    FULL_N1;
}

/* The last event of the second batch written. */
static int
full_last_written(struct full *u)
{
	char want[64];

	snprintf(want, sizeof(want), "flow=%d host=" FULL_HOST "\n",
	    FULL_N1 + FULL_N2 - 1);
	return file_count(u->out, want) == 1;
}

static void
full_put(struct full *u, int from, int to)
{
	struct sl_event ev;

	for (int i = from; i < to; i++) {
		ev_make(&ev, (uint64_t)i, FULL_HOST);
		sl_event_put(u->src, &ev);
	}
}

/*
 * A started kv sink writing to u->out (or to stdout pointing at it)
 * fills the file limit with FULL_N1 events, gets its room back, then
 * takes FULL_N2 more.  The sink is closed at the end; u->txt and u->log
 * hold what it and the daemon log wrote.  -1 if a step failed.
 */
static int
full_run(struct full *u, int via_stdout)
{
	int serr, sout = -1, rc = -1;

	u->s = NULL;
	u->txt = u->log = NULL;
	if ((serr = fd_to(STDERR_FILENO, u->err)) == -1)
		return -1;
	if (via_stdout && (sout = fd_to(STDOUT_FILENO, u->out)) == -1)
		goto out;
	if ((u->s = sl_sinks_new()) == NULL ||
	    sl_sinks_add(u->s, via_stdout ? "stdout" : u->out, &kv_fmt) == -1 ||
	    (u->src = sl_sinks_source(u->s, 0)) == NULL)
		goto out;
	fsize_limit(FSIZE_LIMIT);
	if (sl_sinks_start(u->s) == -1)
		goto out;
	full_put(u, 0, FULL_N1);
	/* The first record refused is lost at once, those after it wait
	 * for the attempt a second later, which fails too. */
	if (!full_wait(u, full_accounted))
		goto out;
	u->lines1 = file_count(u->out, "\n");
	u->lost1 = sl_sinks_dropped(u->s, 0);
	fsize_limit(RLIM_INFINITY);
	full_put(u, FULL_N1, FULL_N1 + FULL_N2);
	if (full_wait(u, full_last_written))
		rc = 0;
out:
	sl_sinks_close(u->s);
	fsize_limit(RLIM_INFINITY);
	fd_back(STDOUT_FILENO, sout);
	fd_back(STDERR_FILENO, serr);
	u->txt = t_slurp(u->out, NULL);
	u->log = t_slurp(u->err, NULL);
	return rc;
}

/* The kv line of flow id (without its newline). */
static const char *
full_line(char *buf, size_t cap, unsigned long long id)
{
	snprintf(buf, cap, "flow.end flow=%llu host=" FULL_HOST, id);
	return buf;
}

/*
 * What a sink that filled its disk wrote: only whole kv lines, but for
 * one fragment of the first record lost when `torn` (a line of its own),
 * the flows in order, one loss report (reason no_space) as the first line
 * after the gap, and lines plus loss = every event.  NULL if so, else
 * what is wrong (in why).
 */
static const char *
full_check(const char *txt, int torn, char *why, size_t cap)
{
	unsigned long long seen = 0, next = 0, lost = 0, a, b;
	int reports = 0, frags = 0;

	for (const char *p = txt, *nl; p != NULL && *p != '\0'; p = nl + 1) {
		char line[128], want[128];
		size_t len;

		if ((nl = strchr(p, '\n')) == NULL)
			return snprintf(why, cap, "no newline at the end"), why;
		len = (size_t)(nl - p);
		snprintf(line, sizeof(line), "%.*s", (int)SL_MIN(len, 127), p);
		full_line(want, sizeof(want), next);
		if (sscanf(line, "flow.end flow=%llu", &a) == 1 && a >= next &&
		    strcmp(line, full_line(want, sizeof(want), a)) == 0) {
			seen++;
			next = a + 1;
		} else if (reports == 0 && sscanf(line, "log.dropped "
		    "dropped=%llu total=%llu", &a, &b) == 2 && a == b &&
		    strstr(line, " reason=no_space") != NULL) {
			reports++;
			lost = a;
		} else if (torn && frags == 0 && reports == 0 && len > 0 &&
		    len < strlen(want) && strncmp(want, p, len) == 0) {
			frags++;
		} else {
			return snprintf(why, cap, "unexpected line '%s'", line),
			    why;
		}
	}
	if (reports != 1 || frags != (torn ? 1 : 0))
		return snprintf(why, cap, "%d loss reports, %d fragments",
		    reports, frags), why;
	if (seen + lost != FULL_N1 + FULL_N2)
		return snprintf(why, cap, "%llu lines and %llu lost for %d "
		    "events", seen, lost, FULL_N1 + FULL_N2), why;
	return NULL;
}

/* The daemon log says it once as the sink fails, once as it recovers. */
static int
full_logged_once(const char *log, const char *err)
{
	return strstr(log != NULL ? log : "", err) != NULL &&
	    text_count(log, "flowlog: cannot write to ") == 1 &&
	    text_count(log, " again after ") == 1;
}

static void
full_free(struct full *u)
{
	free(u->txt);
	free(u->log);
	tdir_rm(&u->d);
}

/*
 * Run full_run() (through stdout or a file of our own) and judge it: NULL
 * when all is as full_check() and the daemon log say it should be, else
 * what is wrong (in why, or a constant); what was written is printed.
 */
static const char *
full_case(int via_stdout, char *why, size_t cap)
{
	struct full u;
	const char *bad;

	if (tdir_make(&u.d) == -1)
		return "mkdtemp";
	tdir_file(&u.d, via_stdout ? "c.out" : "a.jsonl", u.out,
	    sizeof(u.out));
	tdir_file(&u.d, "err", u.err, sizeof(u.err));
	bad = full_run(&u, via_stdout) == -1 ? "a step failed" :
	    full_check(u.txt, via_stdout, why, cap);
	if (bad == NULL && !full_logged_once(u.log, "File too large"))
		bad = "the daemon log does not say it once each way";
	if (bad == NULL && (u.lines1 < 20 || u.lost1 + u.lines1 != FULL_N1))
		bad = "the limit did not fill as expected";
	if (bad != NULL)
		printf("# sink wrote:\n%s# daemon log:\n%s", u.txt ? u.txt : "",
		    u.log ? u.log : "");
	full_free(&u);
	return bad;
}

/*
 * A sink on a full disk (the file limit) writes no partial record: the
 * one it could not finish is cut off.  It counts what it loses, says so
 * once in the daemon log, and once there is room its first line is a
 * log.dropped with the count and reason no_space; lines and loss account
 * for every event.
 */
T_TEST(full_disk_sink_cuts_the_partial_record_and_reports_its_loss)
{
	char why[256];
	const char *bad = full_case(0, why, sizeof(why));

	T_CHECK(bad == NULL, "%s", bad);
}

/* The same through stdout, which cannot be cut: a fragment line stays. */
T_TEST(full_disk_stdout_sink_ends_the_fragment_line_and_reports_its_loss)
{
	char why[256];
	const char *bad = full_case(1, why, sizeof(why));

	T_CHECK(bad == NULL, "%s", bad);
}

/* Sink 0 has lost n events (bounded wait); returns what it lost. */
static uint64_t
wait_lost(const struct sl_sinks *s, uint64_t n)
{
	uint64_t end = sl_mono_ms() + 2 * WAIT_MS;

	while (sl_sinks_dropped(s, 0) < n && sl_mono_ms() < end)
		usleep(2000);
	return sl_sinks_dropped(s, 0);
}

/*
 * /dev/full refuses every write (ENOSPC): the sink loses every event and
 * counts it, the other sink gets every event, the daemon log says so
 * once however many attempts fail, and at exit how many events were lost
 * without a report.
 */
T_TEST(sink_on_dev_full_counts_every_event_and_says_so_once)
{
	struct full u;
	uint64_t lost1 = 0;
	size_t nb = 0;
	int serr;

	T_ASSERT(tdir_make(&u.d) == 0);
	tdir_file(&u.d, "b.log", u.out, sizeof(u.out));
	tdir_file(&u.d, "err", u.err, sizeof(u.err));
	if ((serr = fd_to(STDERR_FILENO, u.err)) == -1) {
		tdir_rm(&u.d);
		T_CHECK(0, "cannot redirect stderr");
	}
	if ((u.s = sl_sinks_new()) != NULL &&
	    sl_sinks_add(u.s, "/dev/full", &kv_fmt) == 0 &&
	    sl_sinks_add(u.s, u.out, &kv_fmt) == 0 &&
	    (u.src = sl_sinks_source(u.s, 0)) != NULL &&
	    sl_sinks_start(u.s) == 0) {
		full_put(&u, 0, 50);
		/* Lost at once or at the attempt a second later. */
		lost1 = wait_lost(u.s, 50);
		full_put(&u, 50, 100);
		nb = wait_lines(u.out, 100);
	}
	sl_sinks_close(u.s);		/* the last 50 are lost here */
	fd_back(STDERR_FILENO, serr);
	u.txt = NULL;
	u.log = t_slurp(u.err, NULL);
	if (lost1 != 50 || nb != 100 ||
	    text_count(u.log, "flowlog: cannot write to /dev/full: No space "
	    "left on device") != 1 ||
	    text_count(u.log, "flowlog: /dev/full still refuses lines at "
	    "exit: 100 event(s) lost") != 1 ||
	    text_count(u.log, "again after") != 0) {
		printf("# lost %llu, %zu lines in b; daemon log:\n%s",
		    (unsigned long long)lost1, nb, u.log ? u.log : "");
		full_free(&u);
		T_CHECK(0, "sink on /dev/full");
	}
	full_free(&u);
}

/*
 * The next line from a FIFO read without blocking (bounded wait): into
 * line, "" if none came.  acc keeps what was read past it.
 */
static const char *
fifo_line(int fd, char *acc, size_t *alen, char *line, size_t cap)
{
	uint64_t end = sl_mono_ms() + 2 * WAIT_MS;
	char *nl;

	line[0] = '\0';
	acc[*alen] = '\0';
	while ((nl = strchr(acc, '\n')) == NULL && sl_mono_ms() < end) {
		ssize_t n = read(fd, acc + *alen, 4095 - *alen);

		if (n <= 0) {
			usleep(2000);
			continue;
		}
		*alen += (size_t)n;
		acc[*alen] = '\0';
	}
	if (nl == NULL)
		return line;
	*nl = '\0';
	snprintf(line, cap, "%s", acc);
	*alen -= (size_t)(nl + 1 - acc);
	memmove(acc, nl + 1, *alen + 1);
	return line;
}

/*
 * A FIFO whose reader left (EPIPE): what is put meanwhile is lost and
 * counted; the next reader's first line is the log.dropped saying how
 * many (reason closed), then the events that follow.
 */
T_TEST(fifo_reader_gone_and_back_gets_the_loss_report_first)
{
	struct full u;
	char acc[4096], l0[128] = "", l1[128] = "", l2[128] = "";
	size_t alen = 0;
	uint64_t lost = 0;
	int rfd, serr = -1, ok;

	T_ASSERT(tdir_make(&u.d) == 0);
	tdir_file(&u.d, "fifo", u.out, sizeof(u.out));
	tdir_file(&u.d, "err", u.err, sizeof(u.err));
	u.s = NULL;
	if (mkfifo(u.out, 0600) == -1 ||
	    (rfd = open(u.out, O_RDONLY | O_NONBLOCK)) == -1) {
		tdir_rm(&u.d);
		T_CHECK(0, "fifo");
	}
	if ((serr = fd_to(STDERR_FILENO, u.err)) != -1 &&
	    (u.s = sl_sinks_new()) != NULL &&
	    sl_sinks_add(u.s, u.out, &kv_fmt) == 0 &&
	    (u.src = sl_sinks_source(u.s, 0)) != NULL &&
	    sl_sinks_start(u.s) == 0) {
		full_put(&u, 0, 1);
		fifo_line(rfd, acc, &alen, l0, sizeof(l0));
		close(rfd);			/* the reader leaves */
		full_put(&u, 1, 21);
		lost = wait_lost(u.s, 20);
		rfd = open(u.out, O_RDONLY | O_NONBLOCK);	/* and a new one */
		alen = 0;
		fifo_line(rfd, acc, &alen, l1, sizeof(l1));
		full_put(&u, 21, 22);
		fifo_line(rfd, acc, &alen, l2, sizeof(l2));
	}
	sl_sinks_close(u.s);
	close(rfd);
	fd_back(STDERR_FILENO, serr);
	u.txt = NULL;
	u.log = t_slurp(u.err, NULL);
	ok = lost == 20 &&
	    strcmp(l0, "flow.end flow=0 host=" FULL_HOST) == 0 &&
	    strcmp(l1, "log.dropped dropped=20 total=20 reason=closed") == 0 &&
	    strcmp(l2, "flow.end flow=21 host=" FULL_HOST) == 0 &&
	    text_count(u.log, ": Broken pipe; counting the events lost") == 1 &&
	    text_count(u.log, " again after ") == 1;
	if (!ok)
		printf("# lost %llu; read '%s' '%s' '%s'; daemon log:\n%s",
		    (unsigned long long)lost, l0, l1, l2, u.log ? u.log : "");
	full_free(&u);
	T_CHECK(ok, "a FIFO whose reader left and came back");
}
