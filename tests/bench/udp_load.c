/*
 * udp_load.c — the load of the UDP forwarding benchmark (issue 14).
 *
 *   udp_load sink -b ADDR:PORT [-b ...] -c FILE [-T SECS]
 *       receives with recvmmsg on up to 4 endpoints and counts datagrams
 *       and payload bytes into FILE (three uint64_t, mapped shared: the
 *       sender reads them, from another network namespace); a datagram
 *       whose first byte is 'P' is echoed to its source (ping mode).
 *   udp_load rate -d ADDR:PORT -c FILE -s SIZE -r PPS [options]
 *       one step: SIZE-byte datagrams at PPS (0: as fast as it can) for
 *       -t SECS, with sendmmsg, round robin over -P source ports (one
 *       connected socket each); then what the sink counted.
 *   udp_load search -d ADDR:PORT -c FILE -s SIZE [options]
 *       the loss-free rate: a step as fast as possible, then a bisection
 *       over offered rates, at most -n steps of -t SECS each; a step is
 *       loss-free when it lost at most -L percent (0.1); a step that lost
 *       less than 2% is run once more (a shared machine's noise) and the
 *       second decides.
 *       Reports the best loss-free step.
 *   udp_load ping -d ADDR:PORT -s SIZE -k COUNT
 *       one datagram in flight: COUNT round trips through the forwarder
 *       to the echoing sink, p50/p99 (a datagram not back in 200 ms is
 *       lost and counted).
 *
 * Options: -t step seconds (1), -P source ports (4, at most 64), -w
 * milliseconds to wait after one datagram per source port, before the
 * measurement (forwarders make their sessions; 300), -T wall limit of the
 * whole run in seconds (60), -p PID and -C CORE as loadgen (the
 * forwarder's CPU and core busy time, procstat.h), -l LABEL.  Each run is
 * bounded in steps, datagrams and time.  The result is one JSON object
 * on stdout; exit 0 if it measured something.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/jw.h"
#include "tests/tools/procstat.h"
#include "tests/tools/tools.h"

#define UL_BATCH	64		/* datagrams per sendmmsg/recvmmsg */
#define UL_MAXPORTS	64
#define UL_MAXBIND	4
#define UL_MAXSIZE	1472		/* one Ethernet frame */
#define UL_BUFSZ	2048
#define UL_SOCKBUF	(4 << 20)
#define UL_MAXSTEPS	20
#define UL_PING_WAIT	200		/* ms before a ping counts as lost */
#define UL_MAXPINGS	1000000

/* The sink's counters, in the file both sides map. */
struct ul_cnt {
	uint64_t	pkts;
	uint64_t	bytes;
	uint64_t	echoed;
};

struct ul {
	const char	*mode, *dest, *cntfile, *label;
	const char	*bind[UL_MAXBIND];
	unsigned int	 nbind;
	size_t		 size;
	double		 rate;		/* datagrams/s; 0: as fast as possible */
	double		 step_s;
	unsigned int	 ports, steps, wait_ms;
	double		 loss_pct;
	uint64_t	 count;
	uint64_t	 deadline;	/* ns, monotonic */
	pid_t		 pid;
	int		 core;
	int		 fds[UL_MAXPORTS];
	struct ul_cnt	*cnt;		/* mapped */
	uint8_t		 buf[UL_BUFSZ];
};

/* One step's result. */
struct ul_step {
	double		 offered;	/* asked for; 0: unpaced */
	uint64_t	 sent, recv, bytes, wall_ns, cpu_us, core_us;
	unsigned int	 errors;
};

static int
ul_map(struct ul *u, int create)
{
	int fd;
	void *p;

	fd = open(u->cntfile, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
	    0644);
	if (fd == -1 || ftruncate(fd, sizeof(struct ul_cnt)) == -1) {
		fprintf(stderr, "udp_load: %s: %s\n", u->cntfile,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(struct ul_cnt), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	u->cnt = p;
	return 0;
}

static void
ul_sockbuf(int fd)
{
	int v = UL_SOCKBUF;

	/* FORCE past rmem_max/wmem_max as root, the plain one otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* ------------------------------------------------------------------ */
/* sink                                                                 */

/* Echo the 'P' datagrams of one received batch to their sources. */
static void
sink_echo(int fd, struct mmsghdr *m, int n, struct ul_cnt *c)
{
	struct mmsghdr out[UL_BATCH];
	int k = 0;

	for (int i = 0; i < n; i++) {
		const uint8_t *p = m[i].msg_hdr.msg_iov->iov_base;

		if (m[i].msg_len == 0 || p[0] != 'P')
			continue;
		out[k].msg_hdr = m[i].msg_hdr;
		out[k].msg_hdr.msg_iov->iov_len = m[i].msg_len;
		out[k].msg_len = 0;
		k++;
	}
	if (k > 0 && sendmmsg(fd, out, (unsigned int)k, MSG_DONTWAIT) > 0)
		__atomic_fetch_add(&c->echoed, (uint64_t)k, __ATOMIC_RELAXED);
}

static int
ul_sink(struct ul *u)
{
	static uint8_t bufs[UL_BATCH][UL_BUFSZ];
	struct sockaddr_storage from[UL_BATCH], ss;
	struct iovec iov[UL_BATCH];
	struct mmsghdr m[UL_BATCH];
	struct epoll_event ev[UL_MAXBIND];
	socklen_t len;
	int ep, one = 1;

	if (ul_map(u, 1) == -1 || (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 2;
	memset(u->cnt, 0, sizeof(*u->cnt));
	for (unsigned int i = 0; i < u->nbind; i++) {
		int fd;

		if (tools_endpoint(u->bind[i], &ss, &len) == -1) {
			fprintf(stderr, "udp_load: bad endpoint %s\n",
			    u->bind[i]);
			return 2;
		}
		fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			return 2;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		ul_sockbuf(fd);
		if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
			fprintf(stderr, "udp_load: bind %s: %s\n", u->bind[i],
			    strerror(errno));
			return 2;
		}
		ev[0].events = EPOLLIN;
		ev[0].data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev[0]) == -1)
			return 2;
	}
	printf("ready\n");
	fflush(stdout);
	while (tools_now_ns() < u->deadline) {
		int ne = epoll_wait(ep, ev, UL_MAXBIND, 500);

		for (int e = 0; e < ne; e++) {
			int fd = ev[e].data.fd, n;
			uint64_t b = 0;

			for (int i = 0; i < UL_BATCH; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = UL_BUFSZ;
				memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
				m[i].msg_hdr.msg_iov = &iov[i];
				m[i].msg_hdr.msg_iovlen = 1;
				m[i].msg_hdr.msg_name = &from[i];
				m[i].msg_hdr.msg_namelen = sizeof(from[i]);
			}
			n = recvmmsg(fd, m, UL_BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				continue;
			for (int i = 0; i < n; i++)
				b += m[i].msg_len;
			__atomic_fetch_add(&u->cnt->pkts, (uint64_t)n,
			    __ATOMIC_RELAXED);
			__atomic_fetch_add(&u->cnt->bytes, b, __ATOMIC_RELAXED);
			sink_echo(fd, m, n, u->cnt);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* sender                                                               */

static int
ul_open(struct ul *u)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (tools_endpoint(u->dest, &ss, &len) == -1) {
		fprintf(stderr, "udp_load: bad destination %s\n", u->dest);
		return -1;
	}
	for (unsigned int i = 0; i < u->ports; i++) {
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd == -1 || connect(fd, (struct sockaddr *)&ss, len) == -1) {
			fprintf(stderr, "udp_load: %s: %s\n", u->dest,
			    strerror(errno));
			return -1;
		}
		ul_sockbuf(fd);
		u->fds[i] = fd;
	}
	return 0;
}

static void
ul_sample(const struct ul *u, uint64_t *cpu, uint64_t *core)
{
	pid_t tree[256], pp;
	uint64_t ticks, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n = u->pid > 0 ? proc_tree(u->pid, tree, SL_NELEM(tree)) : 0;

	if (hz <= 0)
		hz = 100;
	for (size_t i = 0; i < n; i++)
		if (proc_stat(tree[i], &pp, &ticks) == 0)
			sum += ticks;
	*cpu = sum * 1000000 / (uint64_t)hz;
	*core = proc_core_ticks(u->core) * 1000000 / (uint64_t)hz;
}

static uint64_t
ul_recvd(const struct ul *u, uint64_t *bytes)
{
	if (bytes != NULL)
		*bytes = __atomic_load_n(&u->cnt->bytes, __ATOMIC_RELAXED);
	return __atomic_load_n(&u->cnt->pkts, __ATOMIC_RELAXED);
}

/* Until the sink's count stands still for 30 ms (at most 500 ms). */
static void
ul_drain(const struct ul *u)
{
	uint64_t last = ul_recvd(u, NULL), t0 = tools_now_ns();

	while (tools_now_ns() - t0 < 500000000ull) {
		uint64_t now;

		usleep(30 * 1000);
		if ((now = ul_recvd(u, NULL)) == last)
			return;
		last = now;
	}
}

/* Send for step_s seconds at rate (0: unpaced); the sink's count after. */
static void
ul_send(struct ul *u, double rate, struct ul_step *st)
{
	struct mmsghdr m[UL_BATCH];
	struct iovec iov = { u->buf, u->size };
	uint64_t t0, t, end, r0, b0, b1, c0, c1, k0, k1;
	unsigned int next = 0;

	memset(st, 0, sizeof(*st));
	st->offered = rate;
	memset(m, 0, sizeof(m));
	for (int i = 0; i < UL_BATCH; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	u->buf[0] = 'F';
	ul_drain(u);
	ul_sample(u, &c0, &k0);
	r0 = ul_recvd(u, &b0);
	t0 = tools_now_ns();
	end = t0 + (uint64_t)(u->step_s * 1e9);
	if (end > u->deadline)
		end = u->deadline;
	while ((t = tools_now_ns()) < end) {
		uint64_t due = UL_BATCH;
		int n;

		if (rate > 0) {
			due = (uint64_t)((double)(t - t0) * rate / 1e9) + 1;
			if (due <= st->sent) {
				/* Ahead: sleep until a few more are due. */
				double more = rate / 50000 + 1;
				struct timespec ts;
				uint64_t at = t0 + (uint64_t)(((double)st->sent
				    + more) * 1e9 / rate);

				ts.tv_sec = (time_t)(at / 1000000000);
				ts.tv_nsec = (long)(at % 1000000000);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
				    &ts, NULL);
				continue;
			}
			due -= st->sent;
			if (due > UL_BATCH)
				due = UL_BATCH;
		}
		n = sendmmsg(u->fds[next], m, (unsigned int)due, 0);
		if (n > 0)
			st->sent += (uint64_t)n;
		else
			st->errors++;	/* ECONNREFUSED of an earlier run */
		next = (next + 1) % u->ports;
	}
	st->wall_ns = tools_now_ns() - t0;
	ul_drain(u);
	st->recv = ul_recvd(u, &b1) - r0;
	st->bytes = b1 - b0;
	ul_sample(u, &c1, &k1);
	st->cpu_us = c1 - c0;
	st->core_us = k1 - k0;
}

/* One datagram from each source port, then a pause: sessions made. */
static void
ul_warm(struct ul *u)
{
	u->buf[0] = 'W';
	for (unsigned int i = 0; i < u->ports; i++)
		(void)send(u->fds[i], u->buf, u->size, 0);
	usleep(u->wait_ms * 1000);
}

static int
step_ok(const struct ul *u, const struct ul_step *st)
{
	if (st->sent == 0)
		return 0;
	if (st->recv >= st->sent)
		return 1;
	return (double)(st->sent - st->recv) * 100.0 <=
	    u->loss_pct * (double)st->sent;
}

static double
loss_pct(const struct ul_step *st)
{
	if (st->sent == 0 || st->recv >= st->sent)
		return 0;
	return (double)(st->sent - st->recv) * 100.0 / (double)st->sent;
}

static double
pps(const struct ul_step *st)
{
	return st->wall_ns ? (double)st->sent * 1e9 / (double)st->wall_ns : 0;
}

static void
jw_step(struct sl_jw *w, const struct ul *u, const struct ul_step *st)
{
	sl_jw_u64(w, "offered_pps", (uint64_t)st->offered);
	sl_jw_u64(w, "sent_pps", (uint64_t)pps(st));
	sl_jw_u64(w, "sent", st->sent);
	sl_jw_u64(w, "received", st->recv);
	sl_jw_u64(w, "loss_ppm", st->sent == 0 || st->recv >= st->sent ? 0 :
	    (st->sent - st->recv) * 1000000 / st->sent);
	sl_jw_u64(w, "bytes", st->bytes);
	sl_jw_u64(w, "wall_us", st->wall_ns / 1000);
	sl_jw_u64(w, "send_errors", st->errors);
	if (u->pid > 0)
		sl_jw_u64(w, "cpu_us", st->cpu_us);
	if (u->core >= 0)
		sl_jw_u64(w, "core_busy_us", st->core_us);
}

static void
ul_head(struct sl_jw *w, const struct ul *u)
{
	if (u->label != NULL)
		sl_jw_str(w, "label", u->label);
	sl_jw_str(w, "mode", u->mode);
	sl_jw_u64(w, "size", u->size);
	sl_jw_u64(w, "ports", u->ports);
	sl_jw_u64(w, "step_ms", (uint64_t)(u->step_s * 1000));
}

static int
ul_rate(struct ul *u)
{
	struct ul_step st;
	struct sl_jw w;
	char out[1024];

	ul_warm(u);
	ul_send(u, u->rate, &st);
	sl_jw_begin(&w, out, sizeof(out));
	ul_head(&w, u);
	jw_step(&w, u, &st);
	sl_jw_end(&w);
	fputs(out, stdout);
	return st.sent > 0 ? 0 : 1;
}

/*
 * The loss-free rate.  Step 1 unpaced: what the sender can offer (max).
 * If nothing was lost the load is the limit.  Then bisect in (0, max]
 * until the steps are spent or the interval is within 2% of its top.
 * What came through at max is no guide: a forwarder swamped by its
 * core's receive work (livelock) passes far less than it can when it is
 * offered a little less than it can take.
 */
static int
ul_search(struct ul *u)
{
	struct ul_step max, st, best;
	double lo = 0, hi, r;
	char out[4096], trace[1024];
	size_t tl = 0;
	unsigned int n = 1;
	struct sl_jw w;

	memset(&best, 0, sizeof(best));
	trace[0] = '\0';
	ul_warm(u);
	ul_send(u, 0, &max);
	hi = pps(&max);
	tl += (size_t)snprintf(trace + tl, sizeof(trace) - tl,
	    "max %.0f lost %.2f%%", hi, loss_pct(&max));
	if (step_ok(u, &max)) {
		best = max;
		lo = hi;
	}
	while (lo < hi && n < u->steps && tools_now_ns() < u->deadline &&
	    (hi - lo) > 0.02 * hi) {
		r = (lo + hi) / 2;
		ul_send(u, r, &st);
		n++;
		/* A near miss once more: on a shared machine one step can
		 * lose to another's burst of work, not to the forwarder. */
		if (!step_ok(u, &st) && loss_pct(&st) < 2 && n < u->steps) {
			if (tl < sizeof(trace) - 64)
				tl += (size_t)snprintf(trace + tl,
				    sizeof(trace) - tl, ", %.0f lost %.2f%% "
				    "(again)", r, loss_pct(&st));
			ul_send(u, r, &st);
			n++;
		}
		if (tl < sizeof(trace) - 64)
			tl += (size_t)snprintf(trace + tl, sizeof(trace) - tl,
			    ", %.0f lost %.2f%%", r, loss_pct(&st));
		if (step_ok(u, &st)) {
			lo = r;
			best = st;
		} else {
			hi = r;
		}
	}
	sl_jw_begin(&w, out, sizeof(out));
	ul_head(&w, u);
	sl_jw_u64(&w, "lossfree_pps", (uint64_t)pps(&best));
	sl_jw_u64(&w, "max_sent_pps", (uint64_t)pps(&max));
	sl_jw_u64(&w, "max_recv_pps", max.wall_ns ? max.recv * 1000000000ull /
	    max.wall_ns : 0);
	sl_jw_bool(&w, "load_limited", best.sent > 0 && best.offered == 0);
	sl_jw_u64(&w, "steps", n);
	sl_jw_str(&w, "trace", trace);
	if (best.sent == 0) {
		sl_jw_u64(&w, "failed", 1);
		sl_jw_str(&w, "first_error", "no loss-free step");
	} else {
		jw_step(&w, u, &best);
	}
	sl_jw_end(&w);
	fputs(out, stdout);
	return best.sent > 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* ping                                                                 */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One round trip: 0 and *rtt, or -1 (lost or timed out). */
static int
ping_one(struct ul *u, uint64_t seq, uint64_t *rtt)
{
	uint8_t in[UL_BUFSZ];
	struct pollfd pfd = { u->fds[0], POLLIN, 0 };
	uint64_t t0 = tools_now_ns();

	u->buf[0] = 'P';
	tools_be64_put(u->buf + 1, seq);
	if (send(u->fds[0], u->buf, u->size, 0) == -1)
		return -1;
	for (;;) {
		uint64_t el = tools_now_ns() - t0;
		ssize_t n;

		if (el >= UL_PING_WAIT * 1000000ull ||
		    poll(&pfd, 1, UL_PING_WAIT - (int)(el / 1000000)) <= 0)
			return -1;
		n = recv(u->fds[0], in, sizeof(in), MSG_DONTWAIT);
		if (n >= 9 && in[0] == 'P' && tools_be64_get(in + 1) == seq) {
			*rtt = tools_now_ns() - t0;
			return 0;
		}
		/* An earlier ping's late echo, or an ICMP error: again. */
	}
}

static int
ul_ping(struct ul *u)
{
	uint64_t *rtt, seq = 0, done = 0, lost = 0, t0;
	struct sl_jw w;
	char out[1024];

	if (u->size < 9)
		u->size = 9;
	if ((rtt = sl_calloc(u->count, sizeof(*rtt))) == NULL)
		return 2;
	/* A session and warm caches first: 20 round trips not counted. */
	for (int i = 0; i < 20; i++)
		(void)ping_one(u, ++seq, &rtt[0]);
	t0 = tools_now_ns();
	while (done + lost < u->count && tools_now_ns() < u->deadline) {
		if (ping_one(u, ++seq, &rtt[done]) == 0)
			done++;
		else
			lost++;
	}
	qsort(rtt, done, sizeof(*rtt), cmp_u64);
	sl_jw_begin(&w, out, sizeof(out));
	ul_head(&w, u);
	sl_jw_u64(&w, "done", done);
	sl_jw_u64(&w, "lost", lost);
	sl_jw_u64(&w, "wall_us", (tools_now_ns() - t0) / 1000);
	if (done > 0) {
		sl_jw_u64(&w, "p50_ns", rtt[done / 2]);
		sl_jw_u64(&w, "p99_ns", rtt[done * 99 / 100]);
		sl_jw_u64(&w, "max_ns", rtt[done - 1]);
	} else {
		sl_jw_u64(&w, "failed", 1);
		sl_jw_str(&w, "first_error", "no echo came back");
	}
	sl_jw_end(&w);
	fputs(out, stdout);
	sl_free(rtt);
	return done > 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: udp_load sink -b ADDR:PORT [-b ...] -c FILE "
	    "[-T SECS]\n"
	    "       udp_load rate|search|ping -d ADDR:PORT [-c FILE] [-s SIZE] "
	    "[-r PPS]\n"
	    "           [-t STEP_S] [-n STEPS] [-L LOSS_PCT] [-P PORTS] "
	    "[-k PINGS] [-w MS]\n"
	    "           [-T SECS] [-p PID] [-C CORE] [-l LABEL]\n");
	exit(2);
}

static void
ul_args(struct ul *u, int argc, char **argv)
{
	double limit = 60;
	int c;

	while ((c = getopt(argc, argv, "b:c:d:s:r:t:n:L:P:k:w:T:p:C:l:")) != -1) {
		switch (c) {
		case 'b':
			if (u->nbind == UL_MAXBIND)
				usage();
			u->bind[u->nbind++] = optarg;
			break;
		case 'c': u->cntfile = optarg; break;
		case 'd': u->dest = optarg; break;
		case 's': u->size = strtoul(optarg, NULL, 10); break;
		case 'r': u->rate = strtod(optarg, NULL); break;
		case 't': u->step_s = strtod(optarg, NULL); break;
		case 'n': u->steps = (unsigned int)atoi(optarg); break;
		case 'L': u->loss_pct = strtod(optarg, NULL); break;
		case 'P': u->ports = (unsigned int)atoi(optarg); break;
		case 'k': u->count = strtoull(optarg, NULL, 10); break;
		case 'w': u->wait_ms = (unsigned int)atoi(optarg); break;
		case 'T': limit = strtod(optarg, NULL); break;
		case 'p': u->pid = (pid_t)atoi(optarg); break;
		case 'C': u->core = atoi(optarg); break;
		case 'l': u->label = optarg; break;
		default: usage();
		}
	}
	if (u->size == 0 || u->size > UL_MAXSIZE || u->ports == 0 ||
	    u->ports > UL_MAXPORTS || u->steps == 0 || u->steps > UL_MAXSTEPS ||
	    u->step_s <= 0 || u->step_s > 60 || limit <= 0 ||
	    u->count == 0 || u->count > UL_MAXPINGS || u->rate < 0)
		usage();
	u->deadline = tools_now_ns() + (uint64_t)(limit * 1e9);
}

int
main(int argc, char **argv)
{
	static struct ul u;

	if (argc < 2)
		usage();
	u.mode = argv[1];
	u.size = 100;
	u.step_s = 1;
	u.steps = 9;
	u.ports = 4;
	u.wait_ms = 300;
	u.loss_pct = 0.1;
	u.count = 2000;
	u.core = -1;
	ul_args(&u, argc - 1, argv + 1);
	(void)prctl(PR_SET_TIMERSLACK, 1UL);	/* precise pacing sleeps */
	memset(u.buf, 'x', sizeof(u.buf));
	if (strcmp(u.mode, "sink") == 0) {
		if (u.nbind == 0 || u.cntfile == NULL)
			usage();
		return ul_sink(&u);
	}
	if (u.dest == NULL)
		usage();
	if (strcmp(u.mode, "ping") == 0)
		u.ports = 1;
	else if (u.cntfile == NULL || ul_map(&u, 0) == -1)
		usage();
	if (ul_open(&u) == -1)
		return 2;
	if (strcmp(u.mode, "rate") == 0)
		return ul_rate(&u);
	if (strcmp(u.mode, "search") == 0)
		return ul_search(&u);
	if (strcmp(u.mode, "ping") == 0)
		return ul_ping(&u);
	usage();
	return 2;
}
