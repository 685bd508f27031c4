/*
 * relay_test.c — the spliced relay (proxy/relay.c) between real TCP
 * sockets on 127.0.0.1, driven through a private worker's loop.
 *
 * Each test builds a worker with no listeners, two connected pairs
 * (client <-> cfd, sfd <-> server), a flow relaying cfd <-> sfd, and then
 * plays client and server on the far ends with non-blocking sockets while
 * turning the worker's loop one non-blocking pass at a time.  Every loop
 * is bounded in turns and in time.  Termination codes and reasons are read
 * back from the flow log (docs/logs.md), written to a temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "proxy/flow.h"
#include "proxy/pipes.h"
#include "proxy/relay.h"
#include "proxy/req.h"
#include "proxy/sink/sink.h"
#include "proxy/worker.h"
#include "tests/common/fds.h"
#include "tests/unit/t.h"

#define MAX_TURNS	2000000		/* loop passes per phase, at most */
#define PHASE_MS	3000		/* and milliseconds */

struct rl {
	struct sl_worker	*wk;
	struct sl_sinks		*fl;	/* the flow log */
	struct sl_flow		*flow;	/* valid while rl_alive() */
	uint64_t		 id;
	int			 cli;	/* the test's client end */
	int			 srv;	/* the test's server end */
	int			 logfd;	/* the flow log file, already unlinked */
	char			*log;	/* its text, after rl_end() */
};

/* The pipe budget the next rl_begin() gives its worker (NULL: none). */
static struct sl_pipes *rl_budget;

/*
 * The transports the next rl_begin() gives the halves: both RAW (the
 * splice engine), the server half buffered, or both (the copy engine).
 */
enum rl_pair {
	RL_RAW_RAW = 0,
	RL_RAW_BUF,
	RL_BUF_BUF,
};
static enum rl_pair rl_pair;

/* ------------------------------------------------------------------ */
/* plumbing                                                             */

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * A connected TCP pair on 127.0.0.1: *c connected, *a accepted, both
 * non-blocking.  bufsz > 0 shrinks both sockets' buffers so that a side
 * that does not read stalls the other quickly.
 */
static int
tcp_pair(int *c, int *a, int bufsz, struct sockaddr_storage *peer)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(sin);
	int l;

	*c = *a = -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if ((*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (bufsz > 0) {
		/* Accepted sockets inherit the listener's sizes. */
		(void)setsockopt(l, SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(l, SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(*c, SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
	}
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1 ||
	    connect(*c, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	len = sizeof(ss);
	if ((*a = accept4(l, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1 || set_nonblock(*c) == -1)
		goto fail;
	if (peer != NULL)
		*peer = ss;
	close(l);
	return 0;
fail:
	close(l);
	if (*c != -1)
		close(*c);
	if (*a != -1)
		close(*a);
	*c = *a = -1;
	return -1;
}

/* Deterministic bytes, so both ends can check what arrives. */
static void
fill_pattern(char *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (char)(x >> 24);
	}
}

/*
 * Start a worker relaying a fresh flow.  conf: extra configuration lines
 * (settings); bufsz: socket buffer size for both pairs (0: default).  The
 * relay itself is started by the test with the prefixes it wants.
 */
static int
rl_begin(struct rl *r, const char *conf, int bufsz)
{
	char text[2048], dir[64], path[128];
	struct sl_diags d;
	struct sl_config *cfg;
	struct sl_rt *rt;
	struct sockaddr_storage peer;
	const struct sl_sink *sinks;
	size_t nsinks;
	int cfd, sfd;

	memset(r, 0, sizeof(*r));
	r->cli = r->srv = r->logfd = -1;
	snprintf(dir, sizeof(dir), "/tmp/sluice-relay.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(text, sizeof(text),
	    "set user \"\"\n"
	    "set log-dir %s\n"
	    "log json flows.jsonl\n"
	    "set relay-buffer 65536\n"
	    "%s\n"
	    "default splice\n", dir, conf);
	sl_diags_init(&d);
	cfg = sl_config_load_buf("relay.conf", text, strlen(text), NULL, 0, &d);
	if (cfg == NULL) {
		sl_diags_print(&d, stdout);
		sl_diags_free(&d);
		return -1;
	}
	sl_diags_free(&d);
	rt = sl_rt_new(cfg);
	sl_config_unref(cfg);		/* rt holds its own reference */
	if (rt == NULL)
		return -1;
	sinks = sl_config_sinks(rt->cfg, &nsinks);
	r->fl = sl_sinks_open(sinks, nsinks);
	if (r->fl != NULL && sl_sinks_start(r->fl) == -1) {
		sl_sinks_close(r->fl);
		r->fl = NULL;
	}
	/* Keep the log open for reading and remove it from the file system
	 * now, so that a failing test leaves nothing behind in /tmp. */
	snprintf(path, sizeof(path), "%s/flows.jsonl", dir);
	r->logfd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	rmdir(dir);
	r->wk = r->fl ? sl_worker_new(0, 1, rt, r->fl, rl_budget, NULL, NULL, 0) : NULL;
	sl_rt_unref(rt);		/* the worker holds its own */
	if (r->wk == NULL || r->logfd == -1)
		return -1;
	if (tcp_pair(&r->cli, &cfd, bufsz, &peer) == -1)
		return -1;
	if (tcp_pair(&sfd, &r->srv, bufsz, NULL) == -1) {
		close(cfd);
		return -1;
	}
	if ((r->flow = sl_flow_new(r->wk, cfd, (struct sockaddr *)&peer,
	    SL_MODE_EXPLICIT)) == NULL) {
		close(sfd);
		return -1;
	}
	r->id = r->flow->id;
	sl_half_set_raw(&r->flow->srv, sfd);
	/* As if policy had spliced it: the flow then logs its end. */
	r->flow->req->dec.action = SL_ACT_SPLICE;
	r->flow->req->dec.rule_name = "relay-test";
	r->flow->req->decided = 1;
	if ((rl_pair != RL_RAW_RAW && sl_half_buffer(&r->flow->srv) == -1) ||
	    (rl_pair == RL_BUF_BUF && sl_half_buffer(&r->flow->cli) == -1))
		return -1;
	/* Through the setup steps, as the pipeline would (flow.c's state
	 * table allows nothing else), to where a relay starts. */
	for (int st = SL_FLOW_CLASSIFYING; st <= SL_FLOW_HANDSHAKING; st++)
		sl_flow_set_state(r->flow, (enum sl_flow_state)st);
	return 0;
}

/* Is the flow still in the worker's list? */
static int
rl_alive(const struct rl *r)
{
	for (const struct sl_flow *f = r->wk->flows; f != NULL; f = f->next)
		if (f->id == r->id)
			return 1;
	return 0;
}

/* One non-blocking pass of the worker's loop. */
static void
rl_turn(const struct rl *r)
{
	event_base_loop(r->wk->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Turn the loop for about ms milliseconds (bounded in turns too). */
static void
rl_spin(const struct rl *r, unsigned ms)
{
	uint64_t end = sl_mono_ms() + ms;

	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
		rl_turn(r);
		usleep(100);
	}
}

/* Tear down: worker (closes what is left), flow log; read the log. */
static void
rl_end(struct rl *r)
{
	size_t len = 0, cap = 1 << 16;
	ssize_t n;

	sl_worker_join_free(r->wk);
	sl_sinks_close(r->fl);	/* drains the queues first */
	r->wk = NULL;
	r->fl = NULL;
	if (r->cli != -1)
		close(r->cli);
	if (r->srv != -1)
		close(r->srv);
	r->cli = r->srv = -1;
	free(r->log);
	if ((r->log = malloc(cap)) != NULL) {
		while (len < cap - 1 && (n = pread(r->logfd, r->log + len,
		    cap - 1 - len, (off_t)len)) > 0)
			len += (size_t)n;
		r->log[len] = '\0';
	}
	close(r->logfd);
	r->logfd = -1;
}

static int
log_has(const struct rl *r, const char *needle)
{
	return r->log != NULL && strstr(r->log, needle) != NULL;
}

/* Send more of buf[*off..len); 0 if nothing could be sent, -1 on error. */
static ssize_t
io_send(int fd, const char *buf, size_t len, size_t *off)
{
	ssize_t n;

	if (*off == len)
		return 0;
	n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	*off += (size_t)n;
	return n;
}

/*
 * Receive into buf[*off..cap).  > 0 bytes, 0 nothing now, -1 EOF, -2
 * error (or more than cap bytes arrived).
 */
static ssize_t
io_recv(int fd, char *buf, size_t cap, size_t *off)
{
	char spill;
	ssize_t n;

	if (*off == cap)
		n = recv(fd, &spill, 1, 0);
	else
		n = recv(fd, buf + *off, cap - *off, 0);
	if (n == 0)
		return -1;
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -2;
	if (*off == cap)
		return -2;
	*off += (size_t)n;
	return n;
}

/*
 * Read until EOF into buf (cap bytes at most), turning the loop.
 * Returns bytes read, or -1 on error, overflow or timeout.
 */
static ssize_t
rl_read_to_eof(const struct rl *r, int fd, char *buf, size_t cap)
{
	uint64_t end = sl_mono_ms() + PHASE_MS;
	size_t off = 0;

	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
		ssize_t n;

		rl_turn(r);
		n = io_recv(fd, buf, cap, &off);
		if (n == -1)
			return (ssize_t)off;
		if (n == -2)
			return -1;
		if (n == 0)
			usleep(100);
	}
	return -1;
}

/* Read exactly want bytes into buf, turning the loop. 0 or -1. */
static int
rl_read_n(const struct rl *r, int fd, char *buf, size_t want)
{
	uint64_t end = sl_mono_ms() + PHASE_MS;
	size_t off = 0;

	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && off < want;
	    i++) {
		ssize_t n;

		rl_turn(r);
		n = io_recv(fd, buf, want, &off);
		if (n < 0)
			return -1;
		if (n == 0)
			usleep(100);
	}
	return off == want ? 0 : -1;
}

/* Turn the loop until the flow is gone. 0, or -1 on timeout. */
static int
rl_wait_gone(const struct rl *r)
{
	uint64_t end = sl_mono_ms() + PHASE_MS;

	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
		if (!rl_alive(r))
			return 0;
		rl_turn(r);
		usleep(100);
	}
	return rl_alive(r) ? -1 : 0;
}

/*
 * Move up and down both ways at once: the client sends up[] and reads
 * into gotdown[], the server sends down[] and reads into gotup[].  0 when
 * everything arrived, -1 on error or timeout.
 */
static int
rl_exchange(const struct rl *r, const char *up, char *gotup, size_t nup,
    const char *down, char *gotdown, size_t ndown)
{
	uint64_t end = sl_mono_ms() + 3 * PHASE_MS;
	size_t cs = 0, sr = 0, ss = 0, cr = 0;

	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
		ssize_t a, b, c, d;

		rl_turn(r);
		a = io_send(r->cli, up, nup, &cs);
		b = io_send(r->srv, down, ndown, &ss);
		c = io_recv(r->srv, gotup, nup, &sr);
		d = io_recv(r->cli, gotdown, ndown, &cr);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		if (sr == nup && cr == ndown)
			return 0;
		if (a + b + c + d == 0)
			usleep(50);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* bytes                                                                */

static void
transfer_both_ways(const char *conf, size_t n)
{
	char *up = malloc(n), *down = malloc(n);
	char *gotup = malloc(n), *gotdown = malloc(n);
	struct rl r;

	T_ASSERT(up != NULL && down != NULL && gotup != NULL &&
	    gotdown != NULL);
	fill_pattern(up, n, 0x1234);
	fill_pattern(down, n, 0xbeef);
	T_ASSERT(rl_begin(&r, conf, 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(r.flow->state, SL_FLOW_RELAYING);
	T_EQ(rl_exchange(&r, up, gotup, n, down, gotdown, n), 0);
	T_ASSERT(memcmp(up, gotup, n) == 0);
	T_ASSERT(memcmp(down, gotdown, n) == 0);
	T_EQ(sl_half_sent(&r.flow->srv), n);
	T_EQ(sl_half_sent(&r.flow->cli), n);
	rl_end(&r);
	/* The worker closed the flow still relaying: an admin end. */
	T_ASSERT(log_has(&r, "\"up\":") && log_has(&r, "\"term\":\"AR\""));
	free(r.log);
	free(up);
	free(down);
	free(gotup);
	free(gotdown);
}

T_TEST(relay_bytes_pass_untouched_both_ways)
{
	transfer_both_ways("", 4u << 20);
}

T_TEST(relay_bytes_pass_untouched_both_ways_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	transfer_both_ways("", 4u << 20);
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_bytes_pass_untouched_both_ways_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	transfer_both_ways("", 4u << 20);
	rl_pair = RL_RAW_RAW;
}

/* Pipes of one page: many partial moves per direction. */
T_TEST(relay_bytes_pass_untouched_with_small_pipes)
{
	transfer_both_ways("set pipe-size 4k", 1u << 20);
}

/* Pipes larger than the socket buffers: splice moves what there is. */
T_TEST(relay_bytes_pass_untouched_with_large_pipes)
{
	transfer_both_ways("set pipe-size 1m", 2u << 20);
}

/*
 * A budget too small to enlarge any pipe (64 pages: 16 + 240 > 48): the
 * relay asks for 1 MiB per splice, gets 64 KiB pipes, and every byte still
 * passes.  With the worker gone, every page is given back.
 */
T_TEST(relay_bytes_pass_untouched_when_the_budget_keeps_pipes_small)
{
	struct sl_pipes *pb = sl_pipes_new_limit(64);

	T_ASSERT(pb != NULL);
	rl_budget = pb;
	transfer_both_ways("set pipe-size 1m", 2u << 20);
	rl_budget = NULL;
	T_EQ(sl_pipes_held(pb), 0);
	sl_pipes_free(pb);
}

/*
 * Prefix bytes (what setup already read) reach each side before anything
 * spliced, exactly once, even when the prefix cannot be sent at once: the
 * client does not read until well after the relay has started.
 */
T_TEST(relay_prefix_bytes_arrive_first_and_once)
{
	const size_t npre = 512u << 10;
	const char pre_up[] = "CONNECT-PREFIX-UP;";
	const char early_up[] = "client-early;", late_up[] = "client-late";
	const char early_down[] = "server-early;", late_down[] = "server-late";
	char *pre_down = malloc(npre);
	size_t nwant = npre + strlen(early_down) + strlen(late_down);
	char *got = malloc(nwant);
	char up[128];
	size_t off = 0, nup = strlen(pre_up) + strlen(early_up) +
	    strlen(late_up);
	struct rl r;

	T_ASSERT(pre_down != NULL && got != NULL);
	fill_pattern(pre_down, npre, 77);
	T_ASSERT(rl_begin(&r, "", 16384) == 0);
	/* Bytes both peers sent before the relay started wait in cfd/sfd. */
	T_EQ(io_send(r.cli, early_up, strlen(early_up), &off),
	    (ssize_t)strlen(early_up));
	off = 0;
	T_EQ(io_send(r.srv, early_down, strlen(early_down), &off),
	    (ssize_t)strlen(early_down));
	T_EQ(sl_relay_start(r.flow, pre_up, strlen(pre_up), pre_down, npre), 0);
	rl_spin(&r, 50);
	/* The client has not read: the prefix is stuck, writing is armed. */
	T_ASSERT(rl_alive(&r));
	T_ASSERT(r.flow->cli.pre != NULL);
	T_ASSERT(event_pending(&r.flow->cli.ev_wr, EV_WRITE, NULL));
	T_ASSERT(!event_pending(&r.flow->srv.ev_rd, EV_READ, NULL));
	off = 0;
	T_EQ(io_send(r.cli, late_up, strlen(late_up), &off),
	    (ssize_t)strlen(late_up));
	off = 0;
	T_EQ(io_send(r.srv, late_down, strlen(late_down), &off),
	    (ssize_t)strlen(late_down));

	T_EQ(rl_read_n(&r, r.srv, up, nup), 0);
	T_ASSERT(memcmp(up, "CONNECT-PREFIX-UP;client-early;client-late",
	    nup) == 0);
	T_EQ(rl_read_n(&r, r.cli, got, nwant), 0);
	T_ASSERT(memcmp(got, pre_down, npre) == 0);
	T_ASSERT(memcmp(got + npre, "server-early;server-late",
	    nwant - npre) == 0);
	T_ASSERT(r.flow->cli.pre == NULL && r.flow->srv.pre == NULL);
	/* Nothing more: the prefixes were sent once. */
	rl_spin(&r, 20);
	T_EQ(recv(r.cli, got, 1, MSG_DONTWAIT), -1);
	T_EQ(recv(r.srv, got, 1, MSG_DONTWAIT), -1);
	/* The byte counts include the prefixes. */
	T_EQ(sl_half_sent(&r.flow->srv), nup);
	T_EQ(sl_half_sent(&r.flow->cli), nwant);
	rl_end(&r);
	free(r.log);
	free(pre_down);
	free(got);
}

/* ------------------------------------------------------------------ */
/* half-close                                                           */

static void
half_close_from_client(void)
{
	char buf[64];
	size_t off = 0;
	ssize_t n;
	struct rl r;

	T_ASSERT(rl_begin(&r, "", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(io_send(r.cli, "request", 7, &off), 7);
	T_EQ(shutdown(r.cli, SHUT_WR), 0);
	/* The server sees the request, then EOF. */
	n = rl_read_to_eof(&r, r.srv, buf, sizeof(buf));
	T_EQ(n, 7);
	T_ASSERT(memcmp(buf, "request", 7) == 0);
	T_ASSERT(rl_alive(&r));
	T_EQ(r.flow->state, SL_FLOW_DRAINING);
	T_ASSERT(r.flow->srv.shut && !r.flow->cli.shut);
	/* The other direction still works after the client's FIN. */
	off = 0;
	T_EQ(io_send(r.srv, "response", 8, &off), 8);
	T_EQ(rl_read_n(&r, r.cli, buf, 8), 0);
	T_ASSERT(memcmp(buf, "response", 8) == 0);
	off = 0;
	T_EQ(io_send(r.srv, "-more", 5, &off), 5);
	T_EQ(close(r.srv), 0);
	r.srv = -1;
	n = rl_read_to_eof(&r, r.cli, buf, sizeof(buf));
	T_EQ(n, 5);
	T_ASSERT(memcmp(buf, "-more", 5) == 0);
	T_EQ(rl_wait_gone(&r), 0);
	T_EQ(r.wk->nflows, 0);
	T_ASSERT(r.wk->flows == NULL);
	rl_end(&r);
	T_ASSERT(log_has(&r, "\"event\":\"flow.end\""));
	T_ASSERT(log_has(&r, "\"up\":7,\"down\":13"));
	/* The client ended it, while relaying; no reason: a normal end.
	 * (Regression: the state letter used to be D, the state the flow
	 * was in when the second FIN closed it, not the one the first ended.) */
	T_ASSERT(log_has(&r, "\"term\":\"CR\""));
	T_ASSERT(!log_has(&r, "\"reason\""));
	free(r.log);
}

T_TEST(relay_half_close_from_client_propagates)
{
	half_close_from_client();
}

T_TEST(relay_half_close_from_client_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	half_close_from_client();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_half_close_from_client_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	half_close_from_client();
	rl_pair = RL_RAW_RAW;
}

static void
half_close_from_server(void)
{
	char buf[64];
	size_t off = 0;
	ssize_t n;
	struct rl r;

	T_ASSERT(rl_begin(&r, "", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(io_send(r.srv, "banner", 6, &off), 6);
	T_EQ(shutdown(r.srv, SHUT_WR), 0);
	n = rl_read_to_eof(&r, r.cli, buf, sizeof(buf));
	T_EQ(n, 6);
	T_ASSERT(memcmp(buf, "banner", 6) == 0);
	T_ASSERT(rl_alive(&r));
	T_ASSERT(r.flow->cli.shut && !r.flow->srv.shut);
	off = 0;
	T_EQ(io_send(r.cli, "late-upload", 11, &off), 11);
	T_EQ(shutdown(r.cli, SHUT_WR), 0);
	n = rl_read_to_eof(&r, r.srv, buf, sizeof(buf));
	T_EQ(n, 11);
	T_ASSERT(memcmp(buf, "late-upload", 11) == 0);
	T_EQ(rl_wait_gone(&r), 0);
	T_EQ(r.wk->nflows, 0);
	rl_end(&r);
	T_ASSERT(log_has(&r, "\"up\":11,\"down\":6"));
	T_ASSERT(log_has(&r, "\"term\":\"SR\""));
	free(r.log);
}

T_TEST(relay_half_close_from_server_propagates)
{
	half_close_from_server();
}

T_TEST(relay_half_close_from_server_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	half_close_from_server();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_half_close_from_server_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	half_close_from_server();
	rl_pair = RL_RAW_RAW;
}

/* Bytes the relay holds from the client for the server, any engine. */
static size_t
rl_held_up(const struct rl *r)
{
	const struct sl_flow *f = r->flow;

	if (f->srv.kind == SL_HALF_RAW)
		return f->cli.inpipe;
	return evbuffer_get_length(sl_half_input(&f->cli)) +
	    sl_half_unsent(&f->srv);
}

/*
 * A FIN is passed on only after every byte before it: the client sends
 * more than the relay can hold and closes; the server, slow to start
 * reading, still gets all of it and then EOF.
 */
static void
half_close_waits(void)
{
	const size_t total = 1u << 20;
	char *data = malloc(total), *got = malloc(total + 1);
	size_t sent = 0;
	uint64_t end;
	ssize_t n;
	struct rl r;

	T_ASSERT(data != NULL && got != NULL);
	fill_pattern(data, total, 8);
	T_ASSERT(rl_begin(&r, "", 32768) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	end = sl_mono_ms() + PHASE_MS;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && sent < total;
	    i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		if (sent < total && i > 1000)
			break;		/* stuck: the server has to read */
	}
	T_ASSERT(sent > 0);
	/* Bytes are still held between client and server. */
	T_ASSERT(rl_held_up(&r) > 0 || sent < total);
	/* The server reads now; the client finishes and closes. */
	end = sl_mono_ms() + 3 * PHASE_MS;
	{
		size_t off = 0;
		int shut = 0;

		n = 0;
		for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
			rl_turn(&r);
			T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
			if (sent == total && !shut) {
				T_EQ(shutdown(r.cli, SHUT_WR), 0);
				shut = 1;
			}
			n = io_recv(r.srv, got, total + 1, &off);
			T_ASSERT(n >= -1);
			if (n == -1)
				break;
		}
		T_EQ(n, -1);
		T_EQ(off, total);
	}
	T_ASSERT(memcmp(data, got, total) == 0);
	T_ASSERT(rl_alive(&r));
	T_EQ(r.flow->state, SL_FLOW_DRAINING);
	rl_end(&r);
	free(r.log);
	free(data);
	free(got);
}

T_TEST(relay_half_close_waits_for_bytes_in_flight)
{
	half_close_waits();
}

T_TEST(relay_half_close_waits_for_bytes_in_flight_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	half_close_waits();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_half_close_waits_for_bytes_in_flight_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	half_close_waits();
	rl_pair = RL_RAW_RAW;
}

/* ------------------------------------------------------------------ */
/* backpressure and pipes                                               */

/* Bytes the relay holds for one direction (named by its source half),
 * checked against its pipe. */
static int
dir_held_ok(const struct sl_half *d, int *held)
{
	int cap, inq = 0;

	*held = 0;
	if (d->pipe[0] == -1)
		return d->inpipe == 0;
	if ((cap = fcntl(d->pipe[0], F_GETPIPE_SZ)) == -1 ||
	    ioctl(d->pipe[0], FIONREAD, &inq) == -1)
		return 0;
	*held = inq;
	return (uint32_t)inq == d->inpipe && inq <= cap;
}

T_TEST(relay_backpressure_stops_reading_client_until_server_reads)
{
	const size_t total = 4u << 20;
	char *data = malloc(total), *got = malloc(total);
	size_t sent = 0, rcvd = 0;
	uint64_t up_at_stall, end, quiet_since = 0;
	int stalled = 0, held, max_held = 0, inq = 0;
	struct rl r;

	T_ASSERT(data != NULL && got != NULL);
	fill_pattern(data, total, 4242);
	T_ASSERT(rl_begin(&r, "", 32768) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);

	/*
	 * The server does not read: send until everything is stuck, i.e.
	 * the relay has stopped reading the client although bytes wait in
	 * cfd, and nothing has moved for a while (kernel buffers full).
	 */
	end = sl_mono_ms() + PHASE_MS;
	up_at_stall = UINT64_MAX;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && !stalled;
	    i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		T_ASSERT(dir_held_ok(&r.flow->cli, &held));
		if (held > max_held)
			max_held = held;
		T_ASSERT(ioctl(r.flow->cli.fd, FIONREAD, &inq) == 0);
		if (event_pending(&r.flow->cli.ev_rd, EV_READ, NULL) || inq == 0 ||
		    sl_half_sent(&r.flow->srv) != up_at_stall) {
			up_at_stall = sl_half_sent(&r.flow->srv);
			quiet_since = sl_mono_ms();
		}
		T_ASSERT(!event_pending(&r.flow->cli.ev_rd, EV_READ, NULL) ||
		    !event_pending(&r.flow->srv.ev_wr, EV_WRITE, NULL));
		stalled = sl_mono_ms() - quiet_since >= 100;
		usleep(100);
	}
	T_ASSERT(stalled);
	T_ASSERT(sent < total);
	T_ASSERT(r.flow->cli.pipe[0] != -1);	/* held while bytes wait */
	T_ASSERT(max_held > 0);
	T_ASSERT(event_pending(&r.flow->srv.ev_wr, EV_WRITE, NULL));
	/* It stays stalled: no more bytes are taken from the client. */
	for (int i = 0; i < 200; i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		T_ASSERT(dir_held_ok(&r.flow->cli, &held));
		usleep(100);
	}
	T_EQ(sl_half_sent(&r.flow->srv), up_at_stall);
	T_ASSERT(!event_pending(&r.flow->cli.ev_rd, EV_READ, NULL));

	/* The server reads now: the rest flows and arrives intact. */
	end = sl_mono_ms() + 3 * PHASE_MS;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && rcvd < total;
	    i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		T_ASSERT(io_recv(r.srv, got, total, &rcvd) >= 0);
		T_ASSERT(dir_held_ok(&r.flow->cli, &held));
	}
	T_EQ(rcvd, total);
	T_ASSERT(memcmp(data, got, total) == 0);
	T_EQ(sl_half_sent(&r.flow->srv), total);
	/* Reading resumed, and with nothing in flight no pipe is held. */
	rl_spin(&r, 10);
	T_ASSERT(event_pending(&r.flow->cli.ev_rd, EV_READ, NULL));
	T_ASSERT(!event_pending(&r.flow->srv.ev_wr, EV_WRITE, NULL));
	T_EQ(r.flow->cli.pipe[0], -1);
	rl_end(&r);
	free(r.log);
	free(data);
	free(got);
}

T_TEST(relay_pipes_return_to_pool_when_idle)
{
	const size_t n = 256u << 10;
	char *data = malloc(n), *got = malloc(n);
	int fds_before = count_fds();
	unsigned pooled;
	struct rl r;

	T_ASSERT(data != NULL && got != NULL && fds_before > 0);
	fill_pattern(data, n, 99);
	T_ASSERT(rl_begin(&r, "", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	rl_spin(&r, 5);
	/* An idle tunnel holds no pipe. */
	T_EQ(r.flow->cli.pipe[0], -1);
	T_EQ(r.flow->srv.pipe[0], -1);
	T_EQ(rl_exchange(&r, data, got, n, data, got, 0), 0);
	T_ASSERT(memcmp(data, got, n) == 0);
	rl_spin(&r, 5);
	T_EQ(r.flow->cli.pipe[0], -1);
	T_EQ(r.flow->cli.pipe[1], -1);
	T_EQ(r.flow->cli.inpipe, 0);
	T_EQ(r.flow->srv.pipe[0], -1);
	/* The pipe went back to the pool rather than being closed... */
	pooled = r.wk->pipes.n;
	T_ASSERT(pooled >= 1 && pooled <= SL_PIPE_POOL);
	/* ...and the next burst reuses it instead of making another. */
	T_EQ(rl_exchange(&r, data, got, n, data, got, 0), 0);
	rl_spin(&r, 5);
	T_EQ(r.wk->pipes.n, pooled);
	rl_end(&r);
	/* Sockets, pipes, log file: nothing leaked. */
	T_EQ(count_fds(), fds_before);
	free(r.log);
	free(data);
	free(got);
}

/*
 * A read that fills the pipe exactly is followed by one that finds
 * nothing (EAGAIN): the pipe taken for it goes back to the pool.
 */
T_TEST(relay_pipe_released_when_read_ends_on_buffer_boundary)
{
	char data[4096], got[4096];
	struct rl r;

	fill_pattern(data, sizeof(data), 3);
	T_ASSERT(rl_begin(&r, "set pipe-size 4k", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	for (int round = 0; round < 3; round++) {
		T_EQ(rl_exchange(&r, data, got, sizeof(data), data, got, 0), 0);
		T_ASSERT(memcmp(data, got, sizeof(data)) == 0);
		rl_spin(&r, 5);
		T_EQ(r.flow->cli.pipe[0], -1);
		T_EQ(r.flow->cli.inpipe, 0);
	}
	T_EQ(sl_half_sent(&r.flow->srv), 3 * sizeof(data));
	rl_end(&r);
	free(r.log);
}

/* ------------------------------------------------------------------ */
/* resets and timeouts                                                  */

static int
send_rst(int fd)
{
	struct linger lg = { 1, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		return -1;
	return close(fd);
}

/*
 * One side resets: the flow ends, the other side's connection is closed
 * (not left hanging), the log names who reset, and no descriptor is left.
 */
static void
reset_closes_flow(int server)
{
	char buf[64];
	int fds_before = count_fds();
	struct rl r;
	int *gone, *other;

	T_ASSERT(rl_begin(&r, "", 0) == 0);
	gone = server ? &r.srv : &r.cli;
	other = server ? &r.cli : &r.srv;
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(rl_exchange(&r, "ping", buf, 4, "pong", buf + 4, 4), 0);
	T_EQ(send_rst(*gone), 0);
	*gone = -1;
	T_EQ(rl_wait_gone(&r), 0);
	T_EQ(rl_read_to_eof(&r, *other, buf, sizeof(buf)), 0);
	rl_end(&r);
	T_ASSERT(log_has(&r, server ? "\"reason\":\"server_reset\"" :
	    "\"reason\":\"client_reset\""));
	T_ASSERT(log_has(&r, server ? "\"term\":\"SR\"" :
	    "\"term\":\"CR\""));
	T_EQ(count_fds(), fds_before);
	free(r.log);
}

T_TEST(relay_server_reset_closes_flow)
{
	reset_closes_flow(1);
}

T_TEST(relay_client_reset_closes_flow)
{
	reset_closes_flow(0);
}

T_TEST(relay_server_reset_closes_flow_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	reset_closes_flow(1);
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_client_reset_closes_flow_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	reset_closes_flow(0);
	rl_pair = RL_RAW_RAW;
}

/*
 * A peer that resets while the relay holds bytes for it in a pipe: the
 * pipe cannot go back to the pool (it is not empty) and must be closed;
 * the flow ends with that peer's reset.
 */
static void
reset_with_bytes_in_flight(int client_resets)
{
	const size_t total = 2u << 20;
	char *data = malloc(total);
	size_t sent = 0;
	int fds_before = count_fds(), held = 0;
	uint64_t end;
	struct sl_half *d;
	int *writer, *victim;
	struct rl r;

	T_ASSERT(data != NULL);
	fill_pattern(data, total, 5);
	T_ASSERT(rl_begin(&r, "", 32768) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	/* The victim does not read: the other side's bytes pile up. */
	d = client_resets ? &r.flow->srv : &r.flow->cli;
	writer = client_resets ? &r.srv : &r.cli;
	victim = client_resets ? &r.cli : &r.srv;
	end = sl_mono_ms() + PHASE_MS;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end; i++) {
		rl_turn(&r);
		T_ASSERT(io_send(*writer, data, total, &sent) >= 0);
		T_ASSERT(dir_held_ok(d, &held));
		if (held > 0 && !event_pending(&d->ev_rd, EV_READ, NULL))
			break;
	}
	T_ASSERT(held > 0);
	T_EQ(send_rst(*victim), 0);
	*victim = -1;
	T_EQ(rl_wait_gone(&r), 0);
	T_EQ(r.wk->pipes.n, 0);		/* the dirty pipe was not pooled */
	rl_end(&r);
	if (client_resets) {
		T_ASSERT(log_has(&r, "\"reason\":\"client_reset\""));
		T_ASSERT(log_has(&r, "\"term\":\"CR\""));
	} else {
		T_ASSERT(log_has(&r, "\"reason\":\"server_reset\""));
		T_ASSERT(log_has(&r, "\"term\":\"SR\""));
	}
	T_EQ(count_fds(), fds_before);
	free(r.log);
	free(data);
}

T_TEST(relay_server_reset_with_bytes_in_flight_frees_pipe)
{
	reset_with_bytes_in_flight(0);
}

T_TEST(relay_client_reset_with_bytes_in_flight_frees_pipe)
{
	reset_with_bytes_in_flight(1);
}

static void
idle_timeout_idle(void)
{
	char buf[64];
	uint64_t end;
	struct rl r;

	T_ASSERT(rl_begin(&r, "set idle-timeout 150ms", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	/* A flow with traffic every few ms outlives the timeout. */
	end = sl_mono_ms() + 400;
	for (int i = 0; i < 1000 && sl_mono_ms() < end; i++) {
		T_EQ(rl_exchange(&r, "tick", buf, 4, "tock", buf + 4, 4), 0);
		sl_flow_sweep(r.wk, sl_mono_ms());
		T_ASSERT(rl_alive(&r));
		usleep(20000);
	}
	/* The sweep uses the time it is given: just short of idle stays. */
	sl_flow_sweep(r.wk, r.flow->last + 149);
	T_ASSERT(rl_alive(&r));
	/* Idle for the timeout: closed. */
	end = sl_mono_ms() + PHASE_MS;
	for (int i = 0; i < 10000 && sl_mono_ms() < end && rl_alive(&r);
	    i++) {
		rl_turn(&r);
		sl_flow_sweep(r.wk, sl_mono_ms());
		usleep(1000);
	}
	T_ASSERT(!rl_alive(&r));
	T_EQ(r.wk->nflows, 0);
	/* Both peers see their connection end. */
	T_EQ(rl_read_to_eof(&r, r.cli, buf, sizeof(buf)), 0);
	T_EQ(rl_read_to_eof(&r, r.srv, buf, sizeof(buf)), 0);
	rl_end(&r);
	T_ASSERT(log_has(&r, "\"reason\":\"idle_timeout\""));
	T_ASSERT(log_has(&r, "\"term\":\"TR\""));
	free(r.log);
}

/* A half-closed flow that then goes quiet is swept too. */
static void
idle_timeout_draining(void)
{
	char buf[8];
	struct rl r;

	T_ASSERT(rl_begin(&r, "set idle-timeout 100ms", 0) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(shutdown(r.cli, SHUT_WR), 0);
	T_EQ(rl_read_to_eof(&r, r.srv, buf, sizeof(buf)), 0);
	T_EQ(r.flow->state, SL_FLOW_DRAINING);
	sl_flow_sweep(r.wk, r.flow->last + 99);
	T_ASSERT(rl_alive(&r));
	sl_flow_sweep(r.wk, r.flow->last + 100);
	T_ASSERT(!rl_alive(&r));
	rl_end(&r);
	T_ASSERT(log_has(&r, "\"reason\":\"idle_timeout\""));
	T_ASSERT(log_has(&r, "\"term\":\"TD\""));
	free(r.log);
}

T_TEST(relay_idle_timeout_closes_idle_flow)
{
	idle_timeout_idle();
}

T_TEST(relay_idle_timeout_closes_idle_flow_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	idle_timeout_idle();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_idle_timeout_closes_idle_flow_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	idle_timeout_idle();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_idle_timeout_closes_draining_flow)
{
	idle_timeout_draining();
}

T_TEST(relay_idle_timeout_closes_draining_flow_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	idle_timeout_draining();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_idle_timeout_closes_draining_flow_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	idle_timeout_draining();
	rl_pair = RL_RAW_RAW;
}

/* ------------------------------------------------------------------ */
/* the copy engine (a buffered half on either side)                    */

/*
 * Backpressure with buffers: a server that does not read gets at most
 * relay-buffer bytes (plus one read) queued in the relay, reading the
 * client stops, and resumes once the server drains; every byte arrives.
 */
static void
copy_backpressure(void)
{
	const size_t total = 4u << 20, bound = 65536 + 16384;
	char *data = malloc(total), *got = malloc(total);
	size_t sent = 0, rcvd = 0, held, max_held = 0;
	uint64_t taken = UINT64_MAX, end, quiet_since = 0;
	int stalled = 0;
	struct rl r;

	T_ASSERT(data != NULL && got != NULL);
	fill_pattern(data, total, 999);
	T_ASSERT(rl_begin(&r, "", 32768) == 0);
	T_EQ(sl_relay_start(r.flow, NULL, 0, NULL, 0), 0);
	T_EQ(r.flow->cli.kind, SL_HALF_BUF);
	end = sl_mono_ms() + PHASE_MS;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && !stalled;
	    i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		held = rl_held_up(&r);
		T_ASSERT(held <= bound);
		if (held > max_held)
			max_held = held;
		if ((bufferevent_get_enabled(r.flow->cli.bev) & EV_READ) ||
		    r.flow->srv.sent != taken) {
			taken = r.flow->srv.sent;
			quiet_since = sl_mono_ms();
		}
		stalled = sl_mono_ms() - quiet_since >= 100;
		usleep(100);
	}
	T_ASSERT(stalled);
	T_ASSERT(sent < total);
	T_ASSERT(max_held >= 65536);	/* it buffered up to relay-buffer */
	/* It stays stalled: no more bytes are taken from the client. */
	for (int i = 0; i < 200; i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		usleep(100);
	}
	T_EQ(r.flow->srv.sent, taken);
	T_ASSERT(!(bufferevent_get_enabled(r.flow->cli.bev) & EV_READ));
	/* The server reads now: the rest flows and arrives intact. */
	end = sl_mono_ms() + 3 * PHASE_MS;
	for (int i = 0; i < MAX_TURNS && sl_mono_ms() < end && rcvd < total;
	    i++) {
		rl_turn(&r);
		T_ASSERT(io_send(r.cli, data, total, &sent) >= 0);
		T_ASSERT(io_recv(r.srv, got, total, &rcvd) >= 0);
		T_ASSERT(rl_held_up(&r) <= bound);
	}
	T_EQ(rcvd, total);
	T_ASSERT(memcmp(data, got, total) == 0);
	T_EQ(sl_half_sent(&r.flow->srv), total);
	rl_spin(&r, 10);
	T_ASSERT(bufferevent_get_enabled(r.flow->cli.bev) & EV_READ);
	rl_end(&r);
	free(r.log);
	free(data);
	free(got);
}

T_TEST(relay_copy_backpressure_stops_reading_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	copy_backpressure();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_copy_backpressure_stops_reading_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	copy_backpressure();
	rl_pair = RL_RAW_RAW;
}

/*
 * Prefixes and bytes already buffered on a half (what the HTTP forwarder
 * holds at a "101") go first, once; the counts include them.
 */
static void
copy_prefix_first(void)
{
	const char pre_up[] = "PREFIX-UP;", pre_down[] = "PREFIX-DOWN;";
	const char held[] = "held-in-buffer;";
	char up[64], down[64];
	size_t off = 0;
	struct rl r;

	T_ASSERT(rl_begin(&r, "", 0) == 0);
	/* Bytes the client half holds already, as if read while it was
	 * carried by another phase. */
	T_EQ(sl_half_buffer(&r.flow->cli), 0);
	T_EQ(sl_half_unread(&r.flow->cli, held, strlen(held)), 0);
	T_EQ(io_send(r.cli, "client-late", 11, &off), 11);
	off = 0;
	T_EQ(io_send(r.srv, "server-late", 11, &off), 11);
	T_EQ(sl_relay_start(r.flow, pre_up, strlen(pre_up), pre_down,
	    strlen(pre_down)), 0);
	T_EQ(rl_read_n(&r, r.srv, up, 36), 0);
	T_ASSERT(memcmp(up, "PREFIX-UP;held-in-buffer;client-late", 36) ==
	    0);
	T_EQ(rl_read_n(&r, r.cli, down, 23), 0);
	T_ASSERT(memcmp(down, "PREFIX-DOWN;server-late", 23) == 0);
	rl_spin(&r, 20);
	T_EQ(recv(r.cli, down, 1, MSG_DONTWAIT), -1);
	T_EQ(recv(r.srv, up, 1, MSG_DONTWAIT), -1);
	T_EQ(sl_half_sent(&r.flow->srv), 36);
	T_EQ(sl_half_sent(&r.flow->cli), 23);
	rl_end(&r);
	free(r.log);
}

T_TEST(relay_copy_prefix_and_buffered_bytes_go_first_raw_buffered)
{
	rl_pair = RL_RAW_BUF;
	copy_prefix_first();
	rl_pair = RL_RAW_RAW;
}

T_TEST(relay_copy_prefix_and_buffered_bytes_go_first_buffered_buffered)
{
	rl_pair = RL_BUF_BUF;
	copy_prefix_first();
	rl_pair = RL_RAW_RAW;
}
